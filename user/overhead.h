/* SPDX-License-Identifier: MIT */
/*
 * overhead: what swarmwatch's BPF programs cost the host, and how it keeps that cost under
 * overhead_budget. Pure arithmetic, no BPF and no I/O: tick.c feeds it the events the kernel
 * counted and applies what it decides.
 *
 * The cost is estimated from events the daemon counts itself (syscalls seen by the hooks, the
 * ones timed, context switches from /proc/stat) times a cost per event, rather than from the
 * kernel's bpf_stats switch, which adds about 45 ns to every program run and does not see the
 * tracepoint's own cost, most of what a hooked syscall pays. Above the budget, the hot hooks
 * (syscalls, sched) are attached for a fraction of each tick (duty cycle) and their counters
 * are extrapolated from the windows seen.
 */
#ifndef SW_OVERHEAD_H
#define SW_OVERHEAD_H

#include <linux/types.h>
#include <stdbool.h>

/* Timed syscalls per second and CPU that latency sampling aims at (N = 1 below this rate). */
#define OVERHEAD_TIMED_PER_S 1000
/* The smallest attached fraction: some of every tick is always seen, so the end of a storm is. */
#define OVERHEAD_MIN_DUTY 0.02

/*
 * Cost per event in ns of CPU, measured on the project's machine type (bench/RESULTS.md,
 * "Syscall overhead"): a hooked syscall pays the syscall tracepoint path and two nearly empty
 * programs (the floor, +123..+148 ns); a timed one two clock reads more (about 60 ns each); a
 * context switch the sched_switch program and tracepoint (165-210 ns), with its wakeup.
 */
struct overhead_costs {
	double syscall_ns;
	double timed_ns;
	double switch_ns;
};

#define OVERHEAD_COSTS_DEFAULT                                       \
	{                                                            \
		.syscall_ns = 150, .timed_ns = 120, .switch_ns = 200 \
	}

/* Events of one tick, seen while the hot hooks were attached. */
struct overhead_tick {
	double seconds; /* length of the tick */
	double attached; /* fraction of it the hot hooks were attached, (0, 1] */
	__u64 syscalls; /* syscalls of every task that went through the hooks */
	__u64 timed; /* ... of which timed (two clock reads) */
	__u64 switches; /* context switches while attached (host total times `attached`) */
	int ncpus;
};

/*
 * Timed syscalls per CPU per tick of interval_ns that latency sampling aims at:
 * OVERHEAD_TIMED_PER_S scaled to the tick, at least 1.
 */
__u32 overhead__samples_per_tick(__u64 interval_ns);

/*
 * Share of host CPU (0 = none, 1 = every CPU busy) that the events of t cost at the rates in
 * c. 0 when t is empty or its length or CPU count is not positive.
 */
double overhead__share(const struct overhead_costs *c, const struct overhead_tick *t);

/*
 * Fraction of the next tick to keep the hot hooks attached, in [OVERHEAD_MIN_DUTY, 1]: 1 when
 * full capture (share / attached) fits in budget, else budget over the full-capture share, so
 * that what is paid comes to the budget. budget <= 0 turns the budget off (always 1).
 */
double overhead__duty(double share, double attached, double budget);

/*
 * The share to aim the next tick at while the budget binds: budget less the overspend still
 * owed. *debt (share x seconds, caller's state, 0 at start) gains (paid - budget) * seconds
 * for the tick that ends, paid being the share it cost, and loses a tenth of itself each
 * tick; the next tick aims half of it lower: target = budget - debt / (2 * interval_s),
 * within [budget / 4, 2 * budget]. An integral term: whatever biases what a window's share
 * says of full capture (noise in short windows makes budget / estimate too large on average;
 * a storm that grows), the cost paid over a run of ticks comes to within a few percent of
 * the budget. Not binding (full capture fits, or the budget is off): *debt is cleared and
 * the budget returned.
 */
double overhead__target(double *debt, double paid, double budget, double seconds, double interval_s,
			bool binding);

/*
 * The share full capture would cost, smoothed over ticks. A tick seen whole (attached >= 1)
 * measured the full cost itself: cur as is, so a storm that starts is bounded from the next
 * tick. From a part of a tick, prev moves a third of the way to cur and at most quadruples,
 * so that one short window that caught a burst does not shrink the next windows much (their
 * estimates would be noisier still). It follows cur at once when cur is at or below budget:
 * a storm that ends gives full capture back at the next tick. prev 0: no history, cur as is.
 */
double overhead__smooth(double prev, double cur, double budget, double attached);

/*
 * Counters seen for a fraction of the time, as exact seen + estimated unseen. For each of n
 * cumulative counters raw[i] (the kernel's, exact for what the hooks saw), the growth d since
 * last[i] is the seen part of the window that ends now; d * (1 / ratio - 1) is added to
 * unseen[i], ratio being the fraction of the window the hooks were attached ((0, 1]; any
 * other value counts as 1: nothing unseen). out[i] = raw[i] + floor(unseen[i]). Neither term
 * ever decreases while raw does not, so out is monotonic by construction whatever the ratio
 * does from one window to the next, and across detach and reattach; the estimate is unbiased
 * when the windows fall at random in time (the Horvitz-Thompson estimator with inclusion
 * probability ratio). A raw that went down (its kernel slot was zeroed) adds nothing and is
 * followed from there; the caller zeroes last and unseen when it reuses a slot. first: last
 * is not set yet (what raw holds was counted before this process): nothing is extrapolated.
 */
void overhead__extrapolate(const __u64 *raw, __u64 *last, double *unseen, __u64 *out, int n,
			   double ratio, bool first);

/*
 * A sampled histogram calibrated to an exact count (a ratio estimator). raw holds nb
 * cumulative bucket counts and then their cumulative sum (nb + 1 words), as the kernel keeps
 * them: only some of the events were timed (latency sampling, the duty cycle), each weighted
 * by what it stands for, so raw's count only estimates total, the exact cumulative count of
 * events (its unseen part included). The growth d of raw since last is this window's sample;
 * the growth the calibrated histogram owes, total minus its count so far, is spread over the
 * buckets and the sum in proportion to d (its share of each bucket, and its mean), by
 * moving adj (one double per word, the calibrated value minus raw). A window with nothing
 * timed spreads what it owes in proportion to the calibrated histogram so far, and one with
 * nothing timed yet, ever, owes it to the next. Owing less than nothing (the weights ran
 * ahead of the count) adds nothing until the count catches up. So out[i] = raw[i] + adj[i]
 * rounded, cumulated over the buckets, never decreases, and the buckets' count equals total
 * once anything was timed: an agent's histogram `_count` is its exact syscall count.
 * A raw word that went down (its kernel slot was zeroed) restarts from there; the caller
 * zeroes last and adj when it reuses a slot. first: last is not set yet (raw was counted
 * before this process): the window is empty. adj is kept in 1/256ths (the resolution of
 * struct sw_unseen, so that a restart continues exactly). Returns whether adj changed.
 */
bool overhead__calibrate(const __u64 *raw, __u64 *last, double *adj, __u64 *out, int nb,
			 __u64 total, bool first);

/*
 * The duty cycle of the hot hooks on a monotonic clock in ns. Pure: the functions say when
 * to attach or detach, and the caller does it (kernel__hot_attach()) and tells the time.
 */
struct overhead_cycle {
	__u64 interval_ns; /* the tick */
	__u64 tick_ns; /* start of the time the next overhead__cycle_end() measures */
	__u64 attached_since; /* when the hooks were last attached; 0 while detached */
	__u64 attached_ns; /* time attached since tick_ns, before attached_since */
	__u64 detached_at; /* when a detach was recorded, until overhead__cycle_detached() */
	__u64 win[2][2]; /* this tick's window, [start, end) in one or two pieces */
	int nwin, iwin; /* pieces, and the one under way */
	unsigned int seed; /* where windows fall in their tick */
};

/* Starts the cycle at now, attached (the hooks are attached at load), ticks of interval_ns. */
void overhead__cycle_init(struct overhead_cycle *c, __u64 interval_ns, unsigned int seed,
			  __u64 now);

/*
 * Ends the measured time at now: returns the fraction of it the hooks were attached, in
 * [0, 1]. 0 when they were not attached at all (the daemon woke too late for the window):
 * then the time is not closed, and the next call measures both ticks together, so that
 * what they saw stands for the whole of them.
 */
double overhead__cycle_end(struct overhead_cycle *c, __u64 now);

/*
 * Plans the tick that starts at now for duty in (0, 1]: full capture at 1, else a window of
 * duty * interval starting at a uniformly random instant of the tick, wrapped around to the
 * tick's start when it would run past its end (then in two pieces). Every instant of the tick
 * is so seen with probability duty, and the part of the tick seen is duty: nothing periodic
 * (the daemon's own tick first of all) falls in or out of every window and biases the
 * extrapolation. Returns the change to make now: 1 attach, -1 detach, 0 none.
 */
int overhead__cycle_plan(struct overhead_cycle *c, __u64 now, double duty);

/*
 * The hooks the last change attached were all attached by t, after the change was recorded:
 * they are counted as attached from t (attaching can wait on the kernel for tens of ms on a
 * loaded host; what they saw meanwhile is then counted as seen, not extrapolated).
 */
void overhead__cycle_attached(struct overhead_cycle *c, __u64 t);

/*
 * The hooks the last change detached were all gone only by t, after the change was recorded:
 * they are counted as attached until t. Detaching one hook after another takes its time too,
 * and what the hooks saw meanwhile was counted; left out of the time attached, it was
 * extrapolated as if seen in less time (a tracked process's count read 5-8 % high in a storm
 * on a VM where syscalls cost 1.2 us).
 */
void overhead__cycle_detached(struct overhead_cycle *c, __u64 t);

/* When overhead__cycle_step() has something to do next, monotonic ns; 0: nothing. */
__u64 overhead__cycle_due(const struct overhead_cycle *c);

/*
 * At now (at or after the due time): 1 attach, -1 detach, 0 nothing; records the change as
 * made at now. A late attach shortens the window (its end stays), and the time attached,
 * measured, says so; a window whose end has passed too is skipped.
 */
int overhead__cycle_step(struct overhead_cycle *c, __u64 now);

#endif
