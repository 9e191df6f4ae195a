/* SPDX-License-Identifier: MIT */
/*
 * evidence: how much a ratio or a quantile read from n requests can say. A share of failures
 * or a 99th percentile of a few dozen requests moves a lot by chance (one failure in 20 is
 * 5 %, one slow call in 20 is the 99th percentile); these give the interval such an estimate
 * carries, so that a departure counts only when the baseline lies outside it.
 *
 * Pure functions, no state and no I/O. Counts are doubles: a baseline's counts decay with
 * time and are fractional.
 */
#ifndef SW_EVIDENCE_H
#define SW_EVIDENCE_H

#include <stdbool.h>

/*
 * evidence__betabinom_tail - P(X >= k) for X, the count of n new trials, when their rate is
 * known only as Beta(a, b) (the posterior of a baseline: its k0 successes of n0 plus a
 * prior): the beta-binomial predictive distribution (e.g. A. Gelman et al., "Bayesian Data
 * Analysis", 3rd ed., CRC 2013, section 2.4). It carries the sampling error of both the
 * baseline and the window, and stays exact at k = 0 or 1 where normal and Wilson intervals
 * are not. Summed exactly by the ratio of consecutive terms, from k up when k is above the
 * mean, else as 1 - P(X <= k - 1) from k - 1 down (a sum started from a term too small for a
 * double, far below the mean of many trials, would be 0 instead of about 1); for a, b >= 1 it
 * stops once the terms left are below 1e-17 of the sum, so a window of many requests costs
 * about as much as a few. Returns the
 * probability in [0, 1], 1 for k <= 0, or -EINVAL for a, b not positive or non-finite, n or
 * k negative, or k > n.
 */
double evidence__betabinom_tail(long k, long n, double a, double b);

/*
 * Exceedance: among m samples of a baseline, the j-th smallest X_(j) has a coverage
 * F(X_(j)) distributed Beta(j, m - j + 1) whatever the distribution (H. A. David and
 * H. N. Nagaraja, "Order Statistics", 3rd ed., Wiley 2003, section 2.5), so the count of n new
 * samples of the same distribution above X_(j) is beta-binomial(n, m - j + 1, j): its tail,
 * evidence__betabinom_tail(k, n, m - j + 1, j), says whether k of them above the baseline's
 * empirical quantile is more than chance, with the baseline's own sampling error included.
 */

/*
 * evidence__log2_rank_value - value of the r-th smallest (1-based, 1 <= r <= total) of the
 * values counted in a log2 histogram (slot i holds (2^(i-1), 2^i], slot 0 values <= 1, in the
 * histogram's unit, as rates.h), interpolated linearly within its slot; counts may be
 * fractional. upper false reads the bottom of the rank's share of the slot, upper true its
 * top, so a lower bound is never above, and an upper bound never below, the value it bounds.
 * Returns 0 or -ENODATA when r is outside 1 .. the histogram's total.
 */
int evidence__log2_rank_value(const double *hist, int nslots, double r, bool upper, double *out);

/*
 * evidence__log2_above - how many of the values counted in a log2 histogram (as above) lie
 * above x, those of the slot that holds x taken as spread evenly over it. Returns the count,
 * 0 to the histogram's total.
 */
double evidence__log2_above(const double *hist, int nslots, double x);

#endif
