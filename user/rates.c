// SPDX-License-Identifier: MIT
/* Deltas, rates, ratios and quantiles of cumulative counters and histograms. */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "rates.h"

int rates__delta(__u64 cur, __u64 prev, __u64 *d)
{
	if (cur < prev)
		return -ERANGE;
	*d = cur - prev;
	return 0;
}

int rates__delta_sum(const __u64 *cur, const __u64 *prev, int n, __u64 *d)
{
	__u64 c = 0, p = 0;
	int i;

	for (i = 0; i < n; i++) {
		c += cur[i];
		p += prev[i];
	}
	return rates__delta(c, p, d);
}

int rates__delta_hist(const __u64 *cur, const __u64 *prev, int n, __u64 *out)
{
	int i;

	for (i = 0; i < n; i++)
		if (rates__delta(cur[i], prev[i], &out[i]))
			return -ERANGE;
	return 0;
}

int rates__rate(__u64 cur, __u64 prev, double dt, double *out)
{
	__u64 d;

	if (!(dt > 0))
		return -EINVAL;
	if (rates__delta(cur, prev, &d))
		return -ERANGE;
	*out = d / dt;
	return 0;
}

int rates__ratio(__u64 part, __u64 whole, __u64 min_whole, double *out)
{
	if (!whole || whole < min_whole)
		return -ENODATA;
	*out = part > whole ? 1.0 : (double)part / whole;
	return 0;
}

int rates__quantile_log2(const __u64 *hist, int nslots, double q, __u64 min_count, double *out)
{
	double rank, lo, hi;
	__u64 total = 0, acc = 0;
	int i;

	if (!(q > 0.0 && q < 1.0))
		return -EINVAL;
	for (i = 0; i < nslots; i++)
		total += hist[i];
	if (!total || total < min_count)
		return -ENODATA;
	rank = q * total;
	for (i = 0; i < nslots; i++) {
		if (hist[i] && acc + hist[i] >= rank)
			break;
		acc += hist[i];
	}
	if (i == nslots) /* defensive: rank <= total always stops the loop */
		i = nslots - 1;
	lo = i ? ldexp(1.0, i - 1) : 0.0;
	hi = ldexp(1.0, i);
	*out = lo + (hi - lo) * (rank - acc) / (hist[i] ? hist[i] : 1);
	return 0;
}

int rates__quantile(const double *le, int nle, const __u64 *buckets, double q, double *out)
{
	__u64 total = 0, acc = 0;
	double rank, lo;
	int i;

	if (!(q > 0.0 && q < 1.0) || nle < 1)
		return -EINVAL;
	for (i = 0; i <= nle; i++)
		total += buckets[i];
	if (!total)
		return -ENODATA;
	rank = q * total;
	for (i = 0; i < nle; i++) {
		if (buckets[i] && acc + buckets[i] >= rank)
			break;
		acc += buckets[i];
	}
	if (i == nle) {
		*out = le[nle - 1];
		return 0;
	}
	lo = i ? le[i - 1] : 0.0;
	*out = lo + (le[i] - lo) * (rank - acc) / buckets[i];
	return 0;
}

__u64 rates__fold_log2(const __u64 *slots, int nslots, int lo, int nle, __u64 *buckets)
{
	__u64 count = 0;
	int i, j;

	memset(buckets, 0, (nle + 1) * sizeof(*buckets));
	for (i = 0; i < nslots; i++) {
		j = i - lo;
		j = j < 0 ? 0 : j > nle ? nle : j;
		buckets[j] += slots[i];
		count += slots[i];
	}
	return count;
}
