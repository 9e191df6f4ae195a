// SPDX-License-Identifier: MIT
/* Sampling uncertainty of ratios and quantiles of a few requests (evidence.h). */
#include <errno.h>
#include <math.h>

#include "evidence.h"

/* log P(X = j): C(n, j) B(j + a, n - j + b) / B(a, b) */
static double log_pmf(long j, long n, double a, double b)
{
	return lgamma(n + 1.0) - lgamma(j + 1.0) - lgamma(n - j + 1.0) + lgamma(j + a) +
	       lgamma(n - j + b) - lgamma(n + a + b) + lgamma(a + b) - lgamma(a) - lgamma(b);
}

/*
 * Whether the terms left, from term on, cannot move sum: for a, b >= 1 the ratio r of
 * consecutive terms only falls further from the mode on (the beta-binomial is log-concave),
 * so once r < 1 what is left is below the geometric series term / (1 - r). A sum over n
 * terms then stops after a few dozen past the mode instead of running to the end (a window
 * of 100,000 requests took 0.55 ms a call).
 */
static bool negligible(double term, double r, double sum, double a, double b)
{
	return a >= 1 && b >= 1 && r < 1 && term / (1 - r) < sum * 1e-17;
}

double evidence__betabinom_tail(long k, long n, double a, double b)
{
	double term, r, sum = 0.0;
	long j;

	if (!(a > 0) || !(b > 0) || !isfinite(a) || !isfinite(b) || n < 0 || k > n)
		return -EINVAL;
	if (k <= 0)
		return 1.0;
	/*
	 * Summed from the side of k away from the mean, so that the first term is the largest:
	 * the probability of a count far from the mean of many trials is below the smallest
	 * double, and a sum that started there would be 0 instead of about 1.
	 */
	if (k - 1 < n * (a / (a + b))) {
		/* 1 - P(X <= k - 1), from k - 1 down: P(X = j - 1) / P(X = j) */
		term = exp(log_pmf(k - 1, n, a, b));
		for (j = k - 1; j >= 0; j--) {
			sum += term;
			if (!j)
				break;
			r = (double)j / (n - j + 1) * (n - j + b) / (j - 1 + a);
			term *= r;
			if (negligible(term, r, sum, a, b))
				break;
		}
		return fmin(1.0, fmax(0.0, 1.0 - sum));
	}
	term = exp(log_pmf(k, n, a, b));
	for (j = k; j <= n; j++) {
		sum += term;
		r = (double)(n - j) / (j + 1) * (j + a) / (n - j - 1 + b);
		term *= r;
		if (negligible(term, r, sum, a, b))
			break;
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
