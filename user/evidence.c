// SPDX-License-Identifier: MIT
/* Sampling uncertainty of ratios and quantiles of a few requests (evidence.h). */
#include <errno.h>
#include <math.h>

#include "evidence.h"

/* Largest n summed exactly; above, the normal approximation is within 1e-3 of it in the tails. */
#define EXACT_MAX 400

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

/* P(Binomial(n, q) <= j), by the normal approximation with continuity correction. */
static double cdf_normal(long n, double q, long j)
{
	double sd = sqrt(n * q * (1 - q));

	return 0.5 * erfc(-((j + 0.5) - n * q) / (sd * M_SQRT2));
}

long evidence__quantile_rank(double nd, double q, double alpha, bool upper)
{
	double lq, lp, logc = 0.0, cdf = 0.0;
	long n, j, a, b, mid;

	if (!(q > 0 && q < 1) || !(alpha > 0 && alpha < 0.5) || !isfinite(nd) || nd < 0)
		return -EINVAL;
	n = (long)floor(nd);
	if (n > EXACT_MAX) {
		/* F(j) is increasing in j: bisect for the first j with F(j) > alpha (lower) or
		 * F(j) >= 1 - alpha (upper), over [0, n]. */
		a = 0;
		b = n;
		while (a < b) {
			mid = a + (b - a) / 2;
			if (upper ? cdf_normal(n, q, mid) >= 1 - alpha
				  : cdf_normal(n, q, mid) > alpha)
				b = mid;
			else
				a = mid + 1;
		}
		/* lower: r - 1 = a - 1 is the last j with F(j) <= alpha; upper: s - 1 = a */
		if (upper)
			return cdf_normal(n, q, a) >= 1 - alpha && a < n ? a + 1 : n + 1;
		return a;
	}
	lq = log(q);
	lp = log1p(-q);
	for (j = 0; j < n; j++) {
		cdf += exp(logc + j * lq + (n - j) * lp);
		/* lower: F(j) <= alpha means r = j + 1 still bounds; upper: s - 1 = j suffices */
		if (!upper && cdf > alpha)
			return j;
		if (upper && cdf >= 1 - alpha)
			return j + 1;
		logc += log((double)(n - j)) - log((double)(j + 1));
	}
	return upper ? n + 1 : n;
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
