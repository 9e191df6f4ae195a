/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Helpers every program uses: task lookup, per-agent counters, drop counts. */
#ifndef SWARMWATCH_AGENT_BPF_H
#define SWARMWATCH_AGENT_BPF_H

#include "swarmwatch.h"
#include "log2.h"
#include "maps.bpf.h"

/* Number of the syscall that a task's saved user registers belong to. */
#if defined(__TARGET_ARCH_x86)
#define SW_SYSCALL_NR(regs) ((regs)->orig_ax)
#elif defined(__TARGET_ARCH_arm64)
#define SW_SYSCALL_NR(regs) ((regs)->syscallno)
#else
#error "swarmwatch: name this architecture's syscall-number register"
#endif

/*
 * Agent state of task t, or NULL when t is not tracked. Most tasks on a
 * host have no BPF local storage at all: a plain load of t->bpf_storage
 * turns them away before any helper call, which keeps the untracked path
 * close to an empty program. Others pay one task-storage lookup.
 */
static __always_inline struct sw_task *sw_task_of(struct task_struct *t)
{
	if (!t->bpf_storage)
		return NULL;
	return bpf_task_storage_get(&tasks, t, 0, 0);
}

/*
 * Set by the daemon when sched_switch keeps `oncpu` current (the sched
 * collector runs); otherwise the syscall hooks fall back to task storage.
 */
#ifdef SW_DEFINE_MAPS
const volatile __u8 use_oncpu = 0;
/* Set by the daemon while the overhead budget has sched_switch detached: records are stale. */
__u8 hot_off = 0;
#else
extern const volatile __u8 use_oncpu;
extern __u8 hot_off;
#endif

static __always_inline struct sw_cpu *sw_oncpu(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&oncpu, &zero);
}

/*
 * Syscall state of the current task, or NULL when it is not tracked. With
 * `oncpu` this is one per-CPU array read, for tracked and untracked tasks
 * alike: sched_switch rewrites the record at every switch, before the
 * incoming task runs, so the record always describes the current task and
 * needs no identity check. (A running task that the daemon tags from
 * userspace keeps its old record until its next switch: a few syscalls go
 * uncounted, or to the agent it had before.)
 */
static __always_inline struct sw_sys *sw_current_sys(void)
{
	struct sw_task *st;

	if (use_oncpu && !hot_off) {
		struct sw_cpu *c = sw_oncpu();

		if (!c || !c->tid)
			return NULL;
		return &c->sys;
	}
	st = sw_task_of(bpf_get_current_task_btf());
	return st ? &st->sys : NULL;
}

static __always_inline void sw_count(__u32 counter);

/*
 * A tracked task is, rarely, seen running with no CPU record (a few times
 * in 10,000 switches on the project's kernel; the cause is not known).
 * Task storage has the last word: rebuild the record from it, and count it.
 */
static __always_inline struct sw_sys *sw_repair_record(struct sw_cpu *c)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct sw_task *st = sw_task_of(t);

	if (!st)
		return NULL;
	if (!c)
		return &st->sys;
	c->sys = st->sys;
	c->tid = t->pid;
	sw_count(SW_CNT_ONCPU_REPAIRED);
	return &c->sys;
}

/* sw_current_sys() for hooks off the syscall hot path (connects, sends, receives). */
static __always_inline struct sw_sys *sw_current_sys_checked(void)
{
	struct sw_sys *sys = sw_current_sys();

	if (sys || !use_oncpu || hot_off)
		return sys;
	return sw_repair_record(sw_oncpu());
}

/*
 * sw_current_sys() for syscall exit: an untracked-looking task is checked
 * against task storage once every 64 exits on the CPU, so a missing record
 * costs at most a few dozen syscalls and the common path stays one read.
 */
static __always_inline struct sw_sys *sw_current_sys_paced(void)
{
	struct sw_cpu *c;

	if (!use_oncpu)
		return sw_current_sys();
	c = sw_oncpu();
	if (!c)
		return NULL;
	if (c->tid)
		return &c->sys;
	if (++c->untracked & 63)
		return NULL;
	return sw_repair_record(c);
}

static __always_inline struct sw_agent_stats *sw_stats(__u32 slot)
{
	return bpf_map_lookup_elem(&agent_stats, &slot);
}

/* Whether socket ss still belongs to the agent of its slot (not reclaimed since). */
static __always_inline bool sw_sock_current(const struct sw_sock *ss)
{
	__u32 slot = ss->slot;
	__u32 *gen = bpf_map_lookup_elem(&slot_gen, &slot);

	return gen && *gen == ss->gen;
}

/* Counters of the agent that owns socket ss; NULL once its slot was reclaimed. */
static __always_inline struct sw_agent_stats *sw_sock_stats(const struct sw_sock *ss)
{
	return sw_sock_current(ss) ? sw_stats(ss->slot) : NULL;
}

/* Gives socket ss to agent slot, with the slot's current generation. */
static __always_inline void sw_sock_own(struct sw_sock *ss, __u32 slot)
{
	__u32 *gen = bpf_map_lookup_elem(&slot_gen, &slot);

	ss->slot = slot;
	ss->gen = gen ? *gen : 0;
	ss->tgid = bpf_get_current_pid_tgid() >> 32;
}

/* The `proc_requests` entry of ss's process, created when missing; NULL when full. */
static __always_inline struct sw_proc_stats *sw_proc_stats_of(struct sw_sock *ss)
{
	struct sw_proc_key key = {.slot = ss->slot, .tgid = ss->tgid};
	struct sw_proc_stats *p;

	if (!ss->tgid)
		return NULL;
	p = bpf_map_lookup_elem(&proc_requests, &key);
	if (p)
		return p;
	{
		struct sw_proc_stats zero = {};

		if (bpf_map_update_elem(&proc_requests, &key, &zero, BPF_NOEXIST) &&
		    !bpf_map_lookup_elem(&proc_requests, &key)) {
			sw_count(SW_CNT_PROCESSES_FULL);
			return NULL;
		}
	}
	return bpf_map_lookup_elem(&proc_requests, &key);
}

static __always_inline void sw_count(__u32 counter)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &counter);

	if (v)
		*v += 1;
}

static __always_inline void sw_hist_add(__u64 *hist, __u64 *sum, __u64 ns)
{
	__u32 b = sw_log2_bucket(ns, SW_LAT_SLOTS);

	if (b < SW_LAT_SLOTS) /* always true; keeps the verifier's bound */
		hist[b] += 1;
	*sum += ns;
}

/* sw_hist_add() of a sampled value that stands for n values. */
static __always_inline void sw_hist_add_n(__u64 *hist, __u64 *sum, __u64 ns, __u64 n)
{
	__u32 b = sw_log2_bucket(ns, SW_LAT_SLOTS);

	if (b < SW_LAT_SLOTS) /* always true; keeps the verifier's bound */
		hist[b] += n;
	*sum += ns * n;
}

#endif /* SWARMWATCH_AGENT_BPF_H */
