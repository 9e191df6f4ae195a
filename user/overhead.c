// SPDX-License-Identifier: MIT
/* Cost of the BPF programs, the duty cycle that bounds it, and extrapolation (overhead.h). */
#include <math.h>
#include <stdlib.h>

#include "overhead.h"

__u32 overhead__samples_per_tick(__u64 interval_ns)
{
	__u64 n = interval_ns * OVERHEAD_TIMED_PER_S / 1000000000ULL;

	return n ? (n > 0xffffffffULL ? 0xffffffffu : (__u32)n) : 1;
}

double overhead__share(const struct overhead_costs *c, const struct overhead_tick *t)
{
	double ns;

	if (t->seconds <= 0 || t->ncpus <= 0)
		return 0;
	ns = t->syscalls * c->syscall_ns + t->timed * c->timed_ns + t->switches * c->switch_ns;
	return ns / (t->seconds * 1e9 * t->ncpus);
}

double overhead__duty(double share, double attached, double budget)
{
	double full, d;

	if (budget <= 0 || attached <= 0 || share <= 0)
		return 1;
	full = share / attached;
	if (full <= budget)
		return 1;
	d = budget / full;
	return d < OVERHEAD_MIN_DUTY ? OVERHEAD_MIN_DUTY : d;
}

double overhead__target(double *debt, double paid, double budget, double seconds, double interval_s,
			bool binding)
{
	double t;

	if (!binding || budget <= 0 || interval_s <= 0) {
		*debt = 0;
		return budget;
	}
	*debt = *debt * 0.9 + (paid - budget) * seconds;
	t = budget - *debt / (2 * interval_s);
	return t < budget / 4 ? budget / 4 : t > 2 * budget ? 2 * budget : t;
}

double overhead__smooth(double prev, double cur, double budget, double attached)
{
	if (prev <= 0 || cur <= budget || attached >= 1)
		return cur;
	if (cur > 4 * prev)
		return 4 * prev;
	return prev + (cur - prev) / 3;
}

void overhead__extrapolate(const __u64 *raw, __u64 *last, double *unseen, __u64 *out, int n,
			   double ratio, bool first)
{
	double k = ratio > 0 && ratio < 1 ? 1 / ratio - 1 : 0;
	int i;

	for (i = 0; i < n; i++) {
		if (!first && raw[i] > last[i])
			unseen[i] += (raw[i] - last[i]) * k;
		last[i] = raw[i];
		out[i] = raw[i] + (__u64)unseen[i];
	}
}

/* To 1/256ths: what the kernel keeps of adj (struct sw_unseen), so a restart sees the same. */
static double q8(double x)
{
	return llround(x * 256) / 256.0;
}

bool overhead__calibrate(const __u64 *raw, __u64 *last, double *adj, __u64 *out, int nb,
			 __u64 total, bool first)
{
	double d_count = 0, have = 0, owed, s, cum = 0, done = 0;
	bool changed = false;
	int i;

	for (i = 0; i <= nb; i++) {
		if (first || raw[i] < last[i])
			last[i] = raw[i];
		if (i < nb) {
			d_count += raw[i] - last[i];
			have += last[i] + adj[i];
		}
	}
	owed = (double)total - have;
	if (owed > 0 && (d_count > 0 || have > 0)) {
		/* This window's sample, or failing that the histogram so far, gives the shape. */
		s = owed / (d_count > 0 ? d_count : have);
		for (i = 0; i <= nb; i++) {
			double d = d_count > 0 ? raw[i] - last[i] : last[i] + adj[i];
			double step = d_count > 0 ? d * (s - 1) : d * s;

			if (step != 0) {
				adj[i] = q8(adj[i] + step);
				changed = true;
			}
		}
	} else {
		/* Nothing owed: the window's growth is not passed on. */
		for (i = 0; i <= nb; i++) {
			if (raw[i] == last[i])
				continue;
			adj[i] -= raw[i] - last[i];
			changed = true;
		}
	}
	for (i = 0; i <= nb; i++)
		last[i] = raw[i];
	/* Rounded on the cumulative buckets: each bound's count never decreases. */
	for (i = 0; i < nb; i++) {
		__u64 c;

		cum += raw[i] + adj[i];
		c = cum > 0 ? (__u64)llround(cum) : 0;
		out[i] = c > done ? c - done : 0;
		done += out[i];
	}
	out[nb] = raw[nb] + adj[nb] > 0 ? (__u64)llround(raw[nb] + adj[nb]) : 0;
	return changed;
}

void overhead__cycle_init(struct overhead_cycle *c, __u64 interval_ns, unsigned int seed, __u64 now)
{
	*c = (struct overhead_cycle){
		.interval_ns = interval_ns,
		.tick_ns = now,
		.attached_since = now,
		.seed = seed,
	};
}

static void cycle_detach(struct overhead_cycle *c, __u64 now)
{
	c->attached_ns += now - c->attached_since;
	c->attached_since = 0;
	c->detached_at = now;
}

double overhead__cycle_end(struct overhead_cycle *c, __u64 now)
{
	double r;

	if (c->attached_since) {
		c->attached_ns += now - c->attached_since;
		c->attached_since = now;
	}
	if (now <= c->tick_ns)
		return 1;
	if (!c->attached_ns)
		return 0;
	r = (double)c->attached_ns / (now - c->tick_ns);
	c->tick_ns = now;
	c->attached_ns = 0;
	return r < 1 ? r : 1;
}

/*
 * Uniform in [0, 1), 53 random bits: rand_r() gives 31, and a modulo of it is biased toward
 * small values (by 2 to 1 below 147 ms of a 1 s tick), which biases the extrapolation of
 * whatever happens early in a tick.
 */
static double uniform(unsigned int *seed)
{
	__u64 hi = (__u64)rand_r(seed) & 0x7fffffff, lo = (__u64)rand_r(seed) & 0x3fffff;

	return (double)((hi << 22) | lo) / 9007199254740992.0; /* 2^53 */
}

int overhead__cycle_plan(struct overhead_cycle *c, __u64 now, double duty)
{
	__u64 len, u, end = now + c->interval_ns;
	bool attach_now;

	c->nwin = c->iwin = 0;
	if (!(duty < 1)) {
		if (c->attached_since)
			return 0;
		if (!c->attached_ns) /* full capture from here on: the tick starts now */
			c->tick_ns = now;
		c->attached_since = now;
		return 1;
	}
	len = (__u64)(duty * c->interval_ns);
	if (!len)
		len = 1;
	u = (__u64)(uniform(&c->seed) * c->interval_ns);
	if (u + len > c->interval_ns) { /* wraps: the end of the window is the tick's start */
		c->win[c->nwin][0] = now;
		c->win[c->nwin++][1] = now + (u + len - c->interval_ns);
	}
	c->win[c->nwin][0] = now + u;
	c->win[c->nwin++][1] = u + len > c->interval_ns ? end : now + u + len;
	attach_now = c->win[0][0] == now;
	if (attach_now == !!c->attached_since)
		return 0;
	if (attach_now) {
		c->attached_since = now;
		return 1;
	}
	cycle_detach(c, now);
	return -1;
}

void overhead__cycle_attached(struct overhead_cycle *c, __u64 t)
{
	if (!c->attached_since || t <= c->attached_since)
		return;
	if (c->tick_ns == c->attached_since && !c->attached_ns) /* full capture from here on */
		c->tick_ns = t;
	c->attached_since = t;
}

void overhead__cycle_detached(struct overhead_cycle *c, __u64 t)
{
	if (c->attached_since || !c->detached_at || t <= c->detached_at)
		return;
	/* The tick may have ended since: only its own part counts in it. */
	if (c->detached_at < c->tick_ns)
		c->detached_at = c->tick_ns;
	if (t > c->detached_at)
		c->attached_ns += t - c->detached_at;
	c->detached_at = 0; /* once per detach */
}

__u64 overhead__cycle_due(const struct overhead_cycle *c)
{
	if (c->iwin >= c->nwin)
		return 0;
	return c->win[c->iwin][c->attached_since ? 1 : 0];
}

int overhead__cycle_step(struct overhead_cycle *c, __u64 now)
{
	if (c->iwin >= c->nwin)
		return 0;
	if (c->attached_since && now >= c->win[c->iwin][1]) {
		cycle_detach(c, now);
		c->iwin++;
		return -1;
	}
	if (!c->attached_since && now >= c->win[c->iwin][0]) {
		if (now >= c->win[c->iwin][1]) { /* woke after the whole window: skip it */
			c->iwin++;
			return 0;
		}
		c->attached_since = now;
		return 1;
	}
	return 0;
}
