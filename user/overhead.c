// SPDX-License-Identifier: MIT
/* Cost of the BPF programs, the duty cycle that bounds it, and extrapolation (overhead.h). */
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

double overhead__smooth(double prev, double cur, double budget)
{
	if (prev <= 0 || cur <= budget)
		return cur;
	if (cur > 4 * prev)
		return 4 * prev;
	return prev + (cur - prev) / 3;
}

void overhead__extrapolate(const __u64 *raw, __u64 *last, double *acc, __u64 *out, int n,
			   double ratio, bool first)
{
	int i;

	if (!(ratio > 0))
		ratio = 1;
	for (i = 0; i < n; i++) {
		if (first || raw[i] < last[i])
			acc[i] = raw[i];
		else
			acc[i] += (raw[i] - last[i]) / ratio;
		last[i] = raw[i];
		out[i] = (__u64)acc[i];
	}
}
