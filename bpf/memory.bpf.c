// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Resident memory per agent: a task iterator the daemon runs once per tick.
 * For each tracked process (its thread-group leader, so that threads sharing
 * an mm count once) it adds the mm's resident pages to the agent's slot in
 * `agent_rss`, which the daemon zeroes before each run. Nothing runs between
 * ticks, and no hook is added to the page-fault path.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "agent.bpf.h"
#include "compat.bpf.h"

/* Set by the daemon before load: sysconf(_SC_PAGESIZE). */
const volatile __u64 page_size = 4096;

SEC("iter/task")
int sw_task_rss(struct bpf_iter__task *ctx)
{
	struct task_struct *t = ctx->task;
	struct mm_struct *mm;
	struct sw_task *st;
	__u64 *sum;
	__u32 slot;

	if (!t || t->pid != t->tgid)
		return 0;
	st = sw_task_of(t);
	if (!st)
		return 0;
	mm = t->mm;
	if (!mm)
		return 0; /* exiting, or a zombie */
	slot = st->sys.slot;
	sum = bpf_map_lookup_elem(&agent_rss, &slot);
	if (sum)
		*sum += sw_mm_rss_pages(mm) * page_size;
	return 0;
}
