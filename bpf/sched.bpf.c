// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Scheduler view of tracked tasks: on-CPU time, run-queue delay (wakeup or
 * preemption to switch-in), voluntary and involuntary context switches.
 * These hooks need typed task pointers, so they are tp_btf only.
 *
 * CPU time is the growth of the kernel's own se.sum_exec_runtime between
 * switch-outs, not a sum of timed intervals: a missed event then delays a
 * sample instead of losing it, and the total matches what the kernel
 * reports in /proc.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "agent.bpf.h"

#define TASK_RUNNING 0

/* When the hooks were last attached (syscalls.bpf.c): older wakeups were not all seen. */
extern __u64 hot_since_ns;

static __always_inline int on_wakeup(struct task_struct *p)
{
	struct sw_task *st = sw_task_of(p);

	if (st)
		st->wake_ns = bpf_ktime_get_ns();
	return 0;
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(sw_wakeup, struct task_struct *p)
{
	return on_wakeup(p);
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(sw_wakeup_new, struct task_struct *p)
{
	return on_wakeup(p);
}

SEC("tp_btf/sched_switch")
int BPF_PROG(sw_switch, bool preempt, struct task_struct *prev, struct task_struct *next,
	     unsigned int prev_state)
{
	struct sw_cpu *c = sw_oncpu();
	struct sw_agent_stats *s;
	struct sw_task *st;
	__u64 now = 0;

	st = sw_task_of(prev);
	if (st) {
		/* Its syscall in progress waits in task storage while it is off the CPU. */
		if (c && c->tid == prev->pid && c->tracked) {
			st->sys.enter_ns = c->sys.enter_ns;
			st->sys.nr = c->sys.nr;
			st->sys.lat_shift = c->sys.lat_shift;
			st->sys.gen = c->sys.gen;
		}
		__u64 ran = prev->se.sum_exec_runtime; /* typed pointer: a plain load */

		now = bpf_ktime_get_ns();
		s = sw_stats(st->sys.slot);
		if (s) {
			if (ran > st->cpu_seen_ns)
				s->cpu_ns += ran - st->cpu_seen_ns;
			if (prev_state == TASK_RUNNING) {
				s->ctx_involuntary += 1;
				st->wake_ns = now; /* still runnable: waits in the queue */
			} else {
				s->ctx_voluntary += 1;
			}
		}
		st->cpu_seen_ns = ran;
	}
	st = sw_task_of(next);
	if (c)
		sw_record_stamp(c, next, st != NULL);
	if (!st)
		return 0;
	if (c)
		c->sys = st->sys;
	if (!now)
		now = bpf_ktime_get_ns();
	if (st->wake_ns) {
		s = st->wake_ns >= hot_since_ns ? sw_stats(st->sys.slot) : NULL;
		if (s)
			sw_hist_add(s->runq_lat, &s->runq_lat_sum_ns, now - st->wake_ns);
		st->wake_ns = 0;
	}
	return 0;
}
