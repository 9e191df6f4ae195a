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
 * The share full capture would cost, smoothed over ticks: prev moves a third of the way to
 * cur, and at most quadruples in a tick, so that one short window that caught a burst does
 * not shrink the next windows much (their estimates would be noisier still); a storm that
 * starts is bounded within two or three ticks. It follows cur at once when cur is at or below budget: a storm
 * that ends gives full capture back at the next tick. prev 0: no history, cur as is.
 */
double overhead__smooth(double prev, double cur, double budget);

/*
 * Unbiased totals of counters sampled for a fraction of the time. For each of n cumulative
 * counters raw[i], the growth since last[i] is divided by ratio (the fraction seen, > 0; any
 * other value counts as 1) and added to acc[i]; out[i] is acc[i] rounded down, so out never decreases while raw grows.
 * A counter that went down (its slot was reset) starts again from raw. last[] and acc[] are
 * the caller's state, zero-initialised; first says they are not set yet (acc = raw).
 */
void overhead__extrapolate(const __u64 *raw, __u64 *last, double *acc, __u64 *out, int n,
			   double ratio, bool first);

#endif
