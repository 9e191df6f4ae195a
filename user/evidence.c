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

/* log P(Binomial(n, q) = j) */
static double binom_lpmf(long n, double q, long j)
{
	return lgamma(n + 1.0) - lgamma(j + 1.0) - lgamma(n - j + 1.0) + j * log(q) +
	       (n - j) * log1p(-q);
}

/*
 * P(Binomial(n, q) = i) summed from i = j away from the mode (dir -1: down to 0, +1: up to
 * n), where every term is smaller than the one before: stops once a term no longer counts
 * (under 1e-17 of the sum) or underflows.
 */
static double binom_tail(long n, double q, long j, int dir)
{
	double term = exp(binom_lpmf(n, q, j)), sum = 0.0;
	long i = j;

	while (term > 0 && term >= 1e-17 * sum) {
		sum += term;
		if ((dir < 0 && i == 0) || (dir > 0 && i == n))
			break;
		if (dir < 0)
			term *= (double)i / (n - i + 1) * (1 - q) / q;
		else
			term *= (double)(n - i) / (i + 1) * q / (1 - q);
		i += dir;
	}
	return fmin(sum, 1.0);
}

/* P(Binomial(n, q) <= j), always summed over the tail away from the mode. */
static double binom_cdf(long n, double q, long j)
{
	long mode = (long)floor((n + 1) * q);

	if (j < 0)
		return 0.0;
	if (j >= n)
		return 1.0;
	return j < mode ? binom_tail(n, q, j, -1) : 1.0 - binom_tail(n, q, j + 1, +1);
}

long evidence__quantile_rank(double nd, double q, double alpha, bool upper)
{
	long n, a, b, mid;

	if (!(q > 0 && q < 1) || !(alpha > 0 && alpha < 0.5) || !isfinite(nd) || nd < 0)
		return -EINVAL;
	n = (long)floor(nd);
	if (!upper) {
		/* r - 1 is the last j with F(j) <= alpha: bisect for the first j with F(j) > alpha
		 * over [0, n] (F(n) = 1). */
		a = 0;
		b = n;
		while (a < b) {
			mid = a + (b - a) / 2;
			if (binom_cdf(n, q, mid) > alpha)
				b = mid;
			else
				a = mid + 1;
		}
		return a;
	}
	/* s - 1 is the first j with F(j) >= 1 - alpha, over [0, n]; s = n + 1: none below n. */
	a = 0;
	b = n;
	while (a < b) {
		mid = a + (b - a) / 2;
		if (binom_cdf(n, q, mid) >= 1 - alpha)
			b = mid;
		else
			a = mid + 1;
	}
	return a + 1;
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
