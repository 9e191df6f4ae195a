/* SPDX-License-Identifier: MIT */
/*
 * rates: what two readings of a cumulative counter or histogram say about the interval between
 * them: deltas, rates, ratios and quantiles. Pure functions, no state and no I/O, shared by the
 * detectors, the store, alerts and scaling, so that a rate means the same thing everywhere.
 *
 * Histograms come in two shapes: the kernel's log2 slots (slot i counts values in
 * (2^(i-1), 2^i], slot 0 values <= 1, in the histogram's unit, include/log2.h), and the
 * catalogue's buckets (nle finite upper bounds `le` plus +Inf, non-cumulative counts).
 */
#ifndef SW_RATES_H
#define SW_RATES_H

#include <linux/types.h>

/* cur - prev of a cumulative counter into *d; -ERANGE when it went backwards (a reset). */
int rates__delta(__u64 cur, __u64 prev, __u64 *d);

/* The same for the sum of n counters (the classes of a family, say). */
int rates__delta_sum(const __u64 *cur, const __u64 *prev, int n, __u64 *d);

/* Per-bucket deltas of a histogram of n buckets into out; -ERANGE when any went backwards. */
int rates__delta_hist(const __u64 *cur, const __u64 *prev, int n, __u64 *out);

/*
 * Per-second rate of a counter over dt seconds: (cur - prev) / dt. -EINVAL when dt is not
 * positive, -ERANGE on a reset.
 */
int rates__rate(__u64 cur, __u64 prev, double dt, double *out);

/*
 * rates__ratio - part / whole of two deltas, clamped to [0, 1] (per-CPU counters read apart
 * can put a part ahead of its whole by a few). -ENODATA when whole is below min_whole or 0.
 */
int rates__ratio(__u64 part, __u64 whole, __u64 min_whole, double *out);

/*
 * rates__quantile_log2 - quantile q in (0, 1) of a log2 histogram, interpolated linearly within
 * the slot, in the histogram's unit. Returns 0, -ENODATA when it holds fewer than min_count
 * values (or none), -EINVAL for q out of range.
 */
int rates__quantile_log2(const __u64 *hist, int nslots, double q, __u64 min_count, double *out);

/*
 * rates__quantile - quantile q in (0, 1) of catalogue buckets: linear interpolation within the
 * bucket that holds rank q * count, from 0 for the first bucket, as Prometheus'
 * histogram_quantile() does; a rank in the +Inf bucket gives le[nle - 1]. Returns 0, -ENODATA
 * when empty, -EINVAL for q out of range or nle < 1.
 */
int rates__quantile(const double *le, int nle, const __u64 *buckets, double q, double *out);

/*
 * rates__fold_log2 - folds nslots log2 slots into nle + 1 catalogue buckets whose bounds are
 * le[j] = 2^(lo + j) units: bucket 0 takes slots 0..lo, bucket j slot lo + j, bucket nle
 * every slot above lo + nle - 1. Returns the number of values.
 */
__u64 rates__fold_log2(const __u64 *slots, int nslots, int lo, int nle, __u64 *buckets);

#endif
