// SPDX-License-Identifier: MIT
/* Sampling uncertainty of ratios and quantiles of a few requests (evidence.h). */
#include <errno.h>
#include <math.h>

#include "evidence.h"

double evidence__betabinom_tail(long k, long n, double a, double b)
{
	double term, sum = 0.0;
	long j;

	if (!(a > 0) || !(b > 0) || !isfinite(a) || !isfinite(b) || n < 0 || k > n)
		return -EINVAL;
	if (k <= 0)
		return 1.0;
	/* P(X = j) = C(n, j) B(j + a, n - j + b) / B(a, b) */
	term = exp(lgamma(n + 1.0) - lgamma(k + 1.0) - lgamma(n - k + 1.0) + lgamma(k + a) +
		   lgamma(n - k + b) - lgamma(n + a + b) + lgamma(a + b) - lgamma(a) - lgamma(b));
	for (j = k; j <= n; j++) {
		sum += term;
		term *= (double)(n - j) / (j + 1) * (j + a) / (n - j - 1 + b);
	}
	return fmin(1.0, sum);
}

int evidence__log2_rank_value(const double *hist, int nslots, double r, bool upper, double *out)
{
	double acc = 0.0, total = 0.0, lo, hi, frac;
	int i;

	for (i = 0; i < nslots; i++)
		total += hist[i];
	if (!(r >= 1) || r > total * (1 + 1e-12))
		return -ENODATA;
	for (i = 0; i < nslots; i++) {
		if (hist[i] > 0 && acc + hist[i] >= r - 1e-9)
			break;
		acc += hist[i];
	}
	if (i == nslots)
		i = nslots - 1;
	lo = i ? ldexp(1.0, i - 1) : 0.0;
	hi = ldexp(1.0, i);
	/* The rank's share of the slot is ((r - 1 - acc) / c, (r - acc) / c]. */
	frac = ((upper ? r : r - 1) - acc) / hist[i];
	*out = lo + (hi - lo) * fmin(1.0, fmax(0.0, frac));
	return 0;
}

double evidence__log2_above(const double *hist, int nslots, double x)
{
	double above = 0.0, lo, hi;
	int i;

	for (i = 0; i < nslots; i++) {
		lo = i ? ldexp(1.0, i - 1) : 0.0;
		hi = ldexp(1.0, i);
		if (lo >= x)
			above += hist[i];
		else if (hi > x)
			above += hist[i] * (hi - x) / (hi - lo);
	}
	return above;
}
