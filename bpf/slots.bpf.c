// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Which slots tasks still carry: a task iterator the daemon runs only while
 * it is about to reclaim the slot of a retired agent. It visits every task,
 * threads included, and counts per slot those whose `tasks` entry holds it,
 * in `slot_tasks`, which the daemon zeroes before each run. (Sockets need
 * no count: a reclaimed slot's generation tells its old sockets apart.)
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "agent.bpf.h"

SEC("iter/task")
int sw_task_slots(struct bpf_iter__task *ctx)
{
	struct task_struct *t = ctx->task;
	struct sw_task *st;
	__u64 *n;
	__u32 slot;

	if (!t)
		return 0;
	st = sw_task_of(t);
	if (!st)
		return 0;
	slot = st->sys.slot;
	n = bpf_map_lookup_elem(&slot_tasks, &slot);
	if (n)
		*n += 1;
	return 0;
}
