/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Helpers every program uses: task lookup, per-agent counters, drop counts. */
#ifndef SWARMWATCH_AGENT_BPF_H
#define SWARMWATCH_AGENT_BPF_H

#include "swarmwatch.h"
#include "log2.h"
#include "maps.bpf.h"

/*
 * SW_SYSCALL_NR: number of the syscall that a task's saved user registers belong to.
 * SW_USER_MIX: a mix of the callee-saved registers of a task's user frame, where a loop keeps
 * its state (a counter, a pointer): it tells one syscall of a task from the next, for
 * sw_census(). (The arm64 variant has not been built: the tree has no arm64 vmlinux.h.)
 */
#if defined(__TARGET_ARCH_x86)
#define SW_SYSCALL_NR(regs) ((regs)->orig_ax)
#define SW_USER_MIX(r) ((r)->bx ^ (r)->bp ^ (r)->r12 ^ (r)->r13 ^ (r)->r14 ^ (r)->r15)
#elif defined(__TARGET_ARCH_arm64)
#define SW_SYSCALL_NR(regs) ((regs)->syscallno)
#define SW_USER_MIX(r)                                                                   \
	((r)->regs[19] ^ (r)->regs[20] ^ (r)->regs[21] ^ (r)->regs[22] ^ (r)->regs[23] ^ \
	 (r)->regs[24])
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
/* Bumped by the daemon each time it tags running tasks from userspace: records are stale. */
__u32 tag_gen = 0;
#else
extern const volatile __u8 use_oncpu;
extern __u8 hot_off;
extern __u32 tag_gen;
#endif

/*
 * This CPU's record in `oncpu`; NULL only if the array is shorter than the CPU's number.
 * Every tracked syscall touches it first thing, and the census 1 untracked exit in 4. A small
 * plain array is allocated with kmalloc() (kernel/bpf/arraymap.c, array_map_alloc();
 * bpf_map_area_alloc() below 32 KiB), in the kernel's direct map and its 2 MiB pages, where a
 * per-CPU array's values lie in a vmalloc'ed per-CPU chunk mapped in 4 KiB pages, each a page
 * walk of its own on a host whose TLB is emptied at every syscall (PTI without PCID): about
 * 2 ns less per untracked syscall (bench/RESULTS.md, "Short hooks, and the CPU record in the
 * direct map"). Both lookups are inlined by the verifier, bpf_get_smp_processor_id() too
 * (x86-64, kernel/bpf/verifier.c).
 */
static __always_inline struct sw_cpu *sw_oncpu(void)
{
	__u32 cpu = bpf_get_smp_processor_id();

	return bpf_map_lookup_elem(&oncpu, &cpu);
}

static __always_inline void sw_count(__u32 counter);

static __always_inline struct sw_agent_stats *sw_stats(__u32 slot)
{
	return bpf_map_lookup_elem(&agent_stats, &slot);
}

/*
 * Adds record c's pending syscall counts (struct sw_cpu `pend`) to the counters of its agent
 * s (sw_stats(c->sys.slot), NULL: looked up here). Counting an untimed syscall in the record
 * rather than in the agent's counters leaves a tracked syscall one page fewer to touch (on a
 * PTI guest each costs about 30 ns, bench/RESULTS.md); the counts move to the agent's
 * counters before the record changes task or slot, and at every timed or failed syscall,
 * which latency sampling keeps at several per tick on a CPU that makes syscalls.
 */
static __always_inline void sw_record_flush(struct sw_cpu *c, struct sw_agent_stats *s)
{
	int i;

	if (!c->npend)
		return;
	if (!s)
		s = sw_stats(c->sys.slot);
	if (s)
		for (i = 0; i < SW_CLASS_MAX; i++)
			s->syscalls[i] += c->pend[i];
	for (i = 0; i < SW_CLASS_MAX; i++)
		c->pend[i] = 0;
	c->npend = 0;
}

/*
 * Stamps record c as describing task t (see sw_record_at()); tracked: t has task storage.
 * The counts pending for the task it described go to that task's agent first.
 */
static __always_inline void sw_record_stamp(struct sw_cpu *c, struct task_struct *t, bool tracked)
{
	sw_record_flush(c, NULL);
	c->tid = t->pid;
	c->regs = (__u64)bpf_task_pt_regs(t);
	c->tag_gen = tag_gen;
	c->tracked = tracked;
}

/*
 * This CPU's record, rebuilt to describe the running task t from its task
 * storage; counted when t is tracked. See sw_record_at().
 */
static __always_inline struct sw_cpu *sw_record_rebuild(struct sw_cpu *c, struct task_struct *t)
{
	struct sw_task *st = sw_task_of(t);

	sw_record_stamp(c, t, st != NULL);
	if (st) {
		c->sys = st->sys;
		sw_count(SW_CNT_ONCPU_REPAIRED);
	}
	return c;
}

/*
 * This CPU's record, made to describe the running task, whose user
 * register frame (task_pt_regs(), one per live task) is at regs: the
 * syscall tracepoints pass it, so the check costs no helper call.
 * sched_switch rewrites the record at every switch it sees, before the
 * incoming task runs, and stamps it with that task's thread id and frame.
 * Not every switch is seen: on the project's 6.18 kernel, switches away
 * from the threads of PID 1 (a nice -10 service) reached neither this
 * program nor ftrace's own sched_switch event, and the next task ran under
 * the record of the one before. So a hook that finds another task's stamp
 * rebuilds the record. The daemon bumps `tag_gen` when it tags running
 * tasks from userspace, which makes every record stale at once, so those
 * tasks are counted from their next syscall. NULL only if the per-CPU
 * lookup fails.
 */
/* Whether record c describes the task whose user register frame is at regs (see sw_record_at()). */
static __always_inline bool sw_record_is(const struct sw_cpu *c, struct pt_regs *regs)
{
	return c->regs == (__u64)regs && c->tag_gen == tag_gen;
}

static __always_inline struct sw_cpu *sw_record_at(struct pt_regs *regs)
{
	struct sw_cpu *c = sw_oncpu();

	if (!c || sw_record_is(c, regs))
		return c;
	return sw_record_rebuild(c, bpf_get_current_task_btf());
}

/* sw_record_at() for hooks without the register frame: checked by thread id. */
static __always_inline struct sw_cpu *sw_record(void)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct sw_cpu *c = sw_oncpu();

	if (!c || (c->tid == (__u32)t->pid && c->tag_gen == tag_gen))
		return c;
	return sw_record_rebuild(c, t);
}

/*
 * Whether the running task t has no task storage at all, as most tasks on a host do: then it
 * is not tracked, and a syscall hook is done with it without touching a map. The per-CPU
 * record is one more page of memory a syscall reads, and on the project's VM (a PTI guest,
 * where a syscall leaves the TLB cold) reading it cost 27-56 ns a syscall where the empty
 * floor programs cost none, and reading t->bpf_storage, in the task_struct the syscall path
 * has just used, 2-9 ns (bench/RESULTS.md, "The untracked path touches no map").
 */
static __always_inline bool sw_storage_less(struct task_struct *t)
{
	return !t->bpf_storage;
}

/*
 * Ends the program here, returning 0. The x86 JIT emits a program's epilogue at its first
 * exit instruction in program order and makes every later one a jump back to it
 * (arch/x86/net/bpf_jit_comp.c, do_jit(), BPF_EXIT), and clang puts a function's one return
 * at its end: a hook that leaves early ran its first bytes and its last, which lie a page
 * apart in a program over 2 KiB. On the project's VM (page-table isolation without PCID, so
 * every syscall starts with an empty TLB) each code page a syscall runs costs an instruction
 * TLB walk, about 12 ns (bench/RESULTS.md, "The early exit"). Used on the path of the
 * storage-less tasks, first in the hook, so that their syscalls run the hooks' first bytes
 * only. Never in a BPF subprogram, where exit returns to the caller.
 */
#define SW_EXIT_NOW()                                    \
	do {                                             \
		asm volatile("r0 = 0\n\texit" ::: "r0"); \
		__builtin_unreachable();                 \
	} while (0)

/*
 * Syscall state of the current task, or NULL when it is not tracked. A task
 * without task storage is turned away first (sw_storage_less()). With
 * `oncpu` this is one per-CPU array read and a check of the record's stamp,
 * for tracked and untracked tasks alike; without it (the sched collector
 * is off, or the overhead budget has sched_switch detached), one
 * task-storage lookup. regs: the task's user register frame when the hook
 * has it (syscall tracepoints), else NULL.
 */
static __always_inline struct sw_sys *sw_current_sys_at(struct pt_regs *regs)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct sw_task *st;

	if (sw_storage_less(t))
		return NULL;
	if (use_oncpu && !hot_off) {
		struct sw_cpu *c = regs ? sw_record_at(regs) : sw_record();

		return c && c->tracked ? &c->sys : NULL;
	}
	st = bpf_task_storage_get(&tasks, t, 0, 0);
	return st ? &st->sys : NULL;
}

static __always_inline struct sw_sys *sw_current_sys(void)
{
	return sw_current_sys_at(NULL);
}

/*
 * Counts a syscall exit of storage-less task t in this CPU's `untracked` (the daemon prices
 * the hooks' cost by every syscall that went through them, user/tick.c) without touching the
 * record on most syscalls: 1 in 2^SW_CENSUS_SHIFT is counted, as 2^SW_CENSUS_SHIFT (a
 * Horvitz-Thompson weight). Which one is decided by a multiplicative hash (Knuth, TAOCP
 * vol. 3, 6.4) of what is at hand in memory the syscall has already used: t's CPU time so
 * far, se.sum_exec_runtime in its task_struct, which the scheduler advances at each tick and
 * switch (kernel/sched/fair.c, update_curr()); and mix, SW_USER_MIX() of the syscall's user
 * frame (0 where the hook cannot read it), which tells the syscalls within one slice apart.
 * The count is unbiased as far as the hash behaves as random over its inputs; where the
 * registers do not change, the choice is per scheduler slice, coarser (a 4.5 s getppid loop
 * was 9 % off in one run of six with the CPU time alone) and, on a CPU whose tick stops
 * (nohz_full), all or nothing for up to a second. An input of 0 (a new task's first
 * syscalls, whose CPU time is 0 and whose registers exec cleared) would always get the same
 * answer: it draws at random instead. Counted while the CPU records are kept (the sched
 * collector runs), through a detach too, as the duty cycle counts the hooks attached until
 * the syscall hooks are gone (overhead__cycle_detached()).
 */
static __always_inline void sw_census(struct task_struct *t, __u64 mix)
{
	__u64 x = (t->se.sum_exec_runtime >> 10) ^ mix;
	struct sw_cpu *c;

	if (!x)
		x = bpf_get_prandom_u32() | 1ULL << 32;
	if ((x * 0x9E3779B97F4A7C15ULL) >> (64 - SW_CENSUS_SHIFT) || !use_oncpu)
		return;
	c = sw_oncpu();
	if (c)
		c->untracked += 1u << SW_CENSUS_SHIFT;
}

/*
 * sw_current_sys() for syscall exit, which also counts the exits of
 * untracked tasks per CPU (`untracked`: the daemon prices the hooks' cost
 * with it, see user/tick.c): exactly for those with task storage, by
 * sw_census() for the storage-less ones, whose syscalls end the program
 * there (SW_EXIT_NOW(): the first exit of the sys_exit hook, which inlines
 * this). typed: regs is a typed pointer the
 * hook may read (tp_btf), so the census mixes in SW_USER_MIX(regs); a
 * constant, so that the raw_tp variant has no such read, and only the
 * census path does it. *rec: the CPU record when the state returned is its
 * `sys` (its pending counts are the task's), else NULL.
 */
static __always_inline struct sw_sys *sw_current_sys_exit(struct pt_regs *regs, bool typed,
							  struct sw_cpu **rec)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct sw_cpu *c;

	*rec = NULL;
	if (sw_storage_less(t)) {
		sw_census(t, typed ? SW_USER_MIX(regs) : 0);
		SW_EXIT_NOW();
	}
	if (!use_oncpu || hot_off)
		return sw_current_sys_at(regs);
	c = sw_record_at(regs);
	if (!c)
		return NULL;
	if (c->tracked) {
		*rec = c;
		return &c->sys;
	}
	c->untracked++;
	return NULL;
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
