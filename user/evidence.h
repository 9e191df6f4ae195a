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
 * are not. Summed exactly, from k up, by the ratio of consecutive terms. Returns the
 * probability in [0, 1], 1 for k <= 0, or -EINVAL for a, b not positive or non-finite, n or
 * k negative, or k > n.
 */
double evidence__betabinom_tail(long k, long n, double a, double b);

/*
 * evidence__quantile_rank - rank (1-based) of the order statistic that bounds the q-quantile
 * of a distribution with confidence 1 - alpha, from n independent samples, without assuming
 * its shape: the r-th smallest of n is at or below the q-quantile with probability
 * P(Binomial(n, q) >= r) (H. A. David and H. N. Nagaraja, "Order Statistics", 3rd ed., Wiley
 * 2003, section 7.1). upper false: the largest r with that probability >= 1 - alpha (a lower
 * bound); 0 when even the smallest sample is not one (too few samples). upper true: the
 * smallest s with P(Binomial(n, q) <= s - 1) >= 1 - alpha (an upper bound); n + 1 when even
 * the largest is not one. The binomial is summed exactly, over the tail away from its mode,
 * in O(sqrt(n) log n) terms. n is rounded down. Returns the
 * rank, or -EINVAL for q outside (0, 1), alpha outside (0, 0.5) or n negative or non-finite.
 */
long evidence__quantile_rank(double n, double q, double alpha, bool upper);

/*
 * evidence__log2_rank_value - value of the r-th smallest (1-based, 1 <= r <= total) of the
 * values counted in a log2 histogram (slot i holds (2^(i-1), 2^i], slot 0 values <= 1, in the
 * histogram's unit, as rates.h), interpolated linearly within its slot; counts may be
 * fractional. upper false reads the bottom of the rank's share of the slot, upper true its
 * top, so a lower bound is never above, and an upper bound never below, the value it bounds.
 * Returns 0 or -ENODATA when r is outside 1 .. the histogram's total.
 */
int evidence__log2_rank_value(const double *hist, int nslots, double r, bool upper, double *out);

#endif
