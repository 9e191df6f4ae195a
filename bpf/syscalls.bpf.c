// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Syscalls of tracked tasks: count by class, errors by errno, latency
 * histogram; and user page faults. Everything is counted at syscall exit.
 *
 * Every syscall and every error is counted. Latency is timed for a sample:
 * two clock reads were most of what a tracked syscall cost. On each CPU a
 * tracked syscall is timed, then the next skip - 1 ones are not, skip drawn
 * at random with mean N = 2^shift (sw_lat_skip()), and the timed one counts N times
 * in the histogram and its sum (a Horvitz-Thompson weight: by Wald's
 * identity the weights sum to the syscalls covered, so the histogram's
 * count estimates every syscall without bias). N follows the CPU's rate of
 * tracked syscalls: at each daemon tick (lat_epoch) it is set so that about
 * lat_samples_per_epoch are timed in the next, and within a tick it doubles
 * whenever two timed syscalls come closer than half of lat_sample_gap_ns.
 * N = 1 at low rates: every syscall is timed.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "agent.bpf.h"
#include "sample.h"

/* Set by the daemon before load. */
const volatile __u8 syscall_class[SW_SYSCALL_MAX] = {};
const volatile __u8 errno_ignored[SW_ERRNO_SLOTS] = {};

/* Latency sampling, set by the daemon before load; 0 samples: time every syscall. */
const volatile __u32 lat_samples_per_epoch = 0; /* timed syscalls per CPU per tick */
const volatile __u64 lat_sample_gap_ns = 0; /* tick / lat_samples_per_epoch */

/* Written by the daemon while the programs run (.bss, memory-mapped). */
__u32 lat_epoch = 0; /* bumped each tick */
__u8 hot_gen = 0; /* bumped each time the syscall hooks are attached again (duty cycle) */
__u64 hot_since_ns = 0; /* ... and when, in bpf_ktime_get_ns() time (sched.bpf.c) */

/*
 * The hooks' out-of-line part (tail calls): sw_sys_enter_rest and sw_sys_exit_rest, filled
 * in by the daemon after load (user/kernel.c). See sw_sys_enter_btf.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} sys_enter_rest SEC(".maps"), sys_exit_rest SEC(".maps");

#define ERESTARTSYS 512
#define ERESTART_RESTARTBLOCK 516

/* A new tick: N from the tracked syscalls this CPU saw in the last one. */
static __always_inline void lat_new_epoch(struct sw_cpu *c)
{
	__u32 shift = sw_lat_shift(c->seen, lat_samples_per_epoch);

	if (shift < c->skip_shift) {
		/* The rate fell: do not wait out a skip drawn for the storm. */
		__s32 skip = sw_lat_skip(shift, bpf_get_prandom_u32());

		if (skip < c->skip)
			c->skip = skip;
		c->skip_shift = shift;
	}
	c->shift = shift;
	c->seen = 0;
	c->epoch = lat_epoch;
}

/* Whether this tracked syscall is timed; sets the weight of its latency in sys. */
static __always_inline bool lat_sample(struct sw_sys *sys)
{
	struct sw_cpu *c;

	sys->lat_shift = 0;
	if (!lat_samples_per_epoch)
		return true;
	c = sw_oncpu();
	if (!c)
		return true;
	if (c->epoch != lat_epoch)
		lat_new_epoch(c);
	c->seen++;
	if (--c->skip > 0)
		return false;
	sys->lat_shift = c->skip_shift;
	c->skip_shift = c->shift;
	c->skip = sw_lat_skip(c->shift, bpf_get_prandom_u32());
	return true;
}

/* A timed syscall ended at now: timed ones coming too close together double N. */
static __always_inline void lat_adapt(__u64 now)
{
	struct sw_cpu *c = sw_oncpu();

	if (!c)
		return;
	c->timed++;
	if (!lat_samples_per_epoch)
		return;
	if (now - c->last_ns < lat_sample_gap_ns / 2 && c->shift < SW_LAT_MAX_SHIFT)
		c->shift++;
	c->last_ns = now;
}

/* Notes in sys which syscall (id >= 0) the task entered, and in which attachment of the hooks. */
static __always_inline void stamp_entry(struct sw_sys *sys, long id)
{
	sys->nr = id < SW_SYSCALL_MAX ? (__u16)id : SW_SYSCALL_MAX;
	sys->gen = hot_gen;
}

static __always_inline int on_sys_enter(struct pt_regs *regs, long id)
{
	struct sw_sys *sys;

	if (sw_storage_less(bpf_get_current_task_btf()))
		SW_EXIT_NOW();
	sys = sw_current_sys_at(regs);
	if (!sys || id < 0)
		return 0;
	stamp_entry(sys, id);
	sys->enter_ns = lat_sample(sys) ? bpf_ktime_get_ns() : SW_ENTER_UNTIMED;
	return 0;
}

/* The class (SW_CLASS_*) of syscall nr, as the daemon filled in syscall_class. */
static __always_inline __u32 syscall_cls(__u32 nr)
{
	__u32 cls = nr < SW_SYSCALL_MAX ? syscall_class[nr] : SW_CLASS_OTHER;

	return cls < SW_CLASS_MAX ? cls : SW_CLASS_OTHER;
}

/* Counts an untimed syscall of class cls that succeeded in record rec (sw_record_flush()). */
static __always_inline void record_pend(struct sw_cpu *rec, __u32 cls)
{
	rec->pend[cls] += 1;
	rec->npend += 1;
}

/*
 * Counts a tracked syscall that entered at t0 and returned ret. rec: the CPU record that
 * holds sys, NULL when sys is in task storage. An untimed one that succeeded is counted in
 * the record (sw_record_flush()); any other goes to the agent's counters with what the
 * record holds.
 */
static __always_inline void count_exit(struct sw_sys *sys, struct sw_cpu *rec, __u64 t0, long ret)
{
	__u32 cls = syscall_cls(sys->nr);
	struct sw_agent_stats *s;
	long err;

	if (rec && t0 == SW_ENTER_UNTIMED && (ret >= 0 || ret < -4095)) {
		record_pend(rec, cls);
		return;
	}
	s = sw_stats(sys->slot);
	if (!s)
		return;
	if (rec)
		sw_record_flush(rec, s);
	s->syscalls[cls] += 1;
	if (t0 != SW_ENTER_UNTIMED) {
		__u64 now = bpf_ktime_get_ns();

		sw_hist_add_n(s->syscall_lat, &s->syscall_lat_sum_ns, now - t0,
			      1ULL << (sys->lat_shift & 31));
		lat_adapt(now);
	}
	if (ret >= 0 || ret < -4095)
		return;
	err = -ret;
	/* Kernel-internal restart codes reach userspace as EINTR or not at all. */
	if (err >= ERESTARTSYS && err <= ERESTART_RESTARTBLOCK)
		err = 4;
	if (err >= SW_ERRNO_SLOTS)
		err = 0;
	if (!errno_ignored[err])
		s->syscall_errors[err] += 1;
}

static __always_inline int on_sys_exit(struct pt_regs *regs, long ret, bool typed)
{
	struct sw_cpu *rec;
	struct sw_sys *sys = sw_current_sys_exit(regs, typed, &rec);
	__u64 t0;

	if (!sys)
		return 0;
	t0 = sys->enter_ns;
	if (!t0)
		return 0;
	sys->enter_ns = 0;
	/* Entered before the hooks were last detached: its exit belongs to no window. */
	if (sys->gen != hot_gen)
		return 0;
	count_exit(sys, rec, t0, ret);
	return 0;
}

/*
 * This CPU's record when the hooks keep it (sw_current_sys_at()), it describes the running
 * task, whose user register frame is at regs, and that task is tracked; else NULL.
 */
static __always_inline struct sw_cpu *current_tracked(struct pt_regs *regs)
{
	struct sw_cpu *c = sw_oncpu();

	return use_oncpu && !hot_off && c && sw_record_is(c, regs) && c->tracked ? c : NULL;
}

/*
 * The common case of a syscall entry, when it is one: a tracked task whose CPU record is
 * current, and a syscall that latency sampling lets pass untimed (lat_sample() would not time
 * it). Stamps it in the record as on_sys_enter() would and says true; false, having changed
 * nothing, for anything else.
 */
static __always_inline bool enter_common(struct pt_regs *regs, long id)
{
	struct sw_cpu *c = current_tracked(regs);

	if (!(c && id >= 0 && lat_samples_per_epoch && c->epoch == lat_epoch && c->skip > 1))
		return false;
	c->seen++;
	c->skip--;
	stamp_entry(&c->sys, id);
	c->sys.lat_shift = 0;
	c->sys.enter_ns = SW_ENTER_UNTIMED;
	return true;
}

/*
 * The common case of a syscall exit, when it is one: the untimed syscall of a tracked task
 * whose CPU record is current, entered while the hooks were on, that succeeded. Counts it in
 * the record as count_exit() would and says true; false, having changed nothing, otherwise.
 */
static __always_inline bool exit_common(struct pt_regs *regs, long ret)
{
	struct sw_cpu *c = current_tracked(regs);

	if (!(c && c->sys.enter_ns == SW_ENTER_UNTIMED && c->sys.gen == hot_gen &&
	      (ret >= 0 || ret < -4095)))
		return false;
	c->sys.enter_ns = 0;
	record_pend(c, syscall_cls(c->sys.nr));
	return true;
}

/*
 * sys_enter and sys_exit hold the common cases only: a task without task storage leaves at
 * once (SW_EXIT_NOW()), and enter_common() / exit_common() handle a tracked task's untimed
 * syscall. Everything else is a tail call to the whole of on_sys_enter() / on_sys_exit() in
 * sw_sys_enter_rest / sw_sys_exit_rest, which the kernel loads after both hooks: so the code
 * a common syscall runs is the first bytes of two short programs laid out one after the
 * other, which on the project's VM is one code page more often than not, and each code page
 * a syscall runs costs a TLB walk there (bench/RESULTS.md, "Short hooks"). Should the tail
 * call fail (the daemon fills the maps before it attaches the hooks, so it does not), the
 * syscall is left uncounted, never counted wrong: its exit finds no entry.
 */
SEC("tp_btf/sys_enter")
int BPF_PROG(sw_sys_enter_btf, struct pt_regs *regs, long id)
{
	if (sw_storage_less(bpf_get_current_task_btf()))
		SW_EXIT_NOW();
	if (enter_common(regs, id))
		return 0;
	bpf_tail_call(ctx, &sys_enter_rest, 0);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(sw_sys_exit_btf, struct pt_regs *regs, long ret)
{
	struct task_struct *t = bpf_get_current_task_btf();

	if (sw_storage_less(t)) {
		sw_census(t, SW_USER_MIX(regs));
		SW_EXIT_NOW();
	}
	if (exit_common(regs, ret))
		return 0;
	bpf_tail_call(ctx, &sys_exit_rest, 0);
	return 0;
}

/*
 * The hooks' out-of-line part, defined here, after sw_sys_exit_btf and in its section, so
 * that libbpf loads it after both hooks and the kernel places its code after theirs. The
 * daemon attaches sw_sys_enter_rest to sys_enter before load (a tail call needs a program of
 * the caller's tracepoint); neither is attached itself. sw_sys_exit_rest never sees a task
 * without task storage, so its census does not run twice.
 */
SEC("tp_btf/sys_exit")
int BPF_PROG(sw_sys_enter_rest, struct pt_regs *regs, long id)
{
	return on_sys_enter(regs, id);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(sw_sys_exit_rest, struct pt_regs *regs, long ret)
{
	return on_sys_exit(regs, ret, true);
}

SEC("raw_tp/sys_enter")
int sw_sys_enter_raw(__u64 *ctx)
{
	return on_sys_enter((struct pt_regs *)ctx[0], (long)ctx[1]);
}

SEC("raw_tp/sys_exit")
int sw_sys_exit_raw(__u64 *ctx)
{
	/* The frame is not a typed pointer here: the census chooses by slice alone. */
	return on_sys_exit((struct pt_regs *)ctx[0], (long)ctx[1], false);
}

static __always_inline int on_fault(void)
{
	struct sw_sys *sys = sw_current_sys();
	struct sw_agent_stats *s;

	if (!sys)
		return 0;
	s = sw_stats(sys->slot);
	if (s)
		s->page_faults += 1;
	return 0;
}

SEC("tp_btf/page_fault_user")
int BPF_PROG(sw_fault_btf)
{
	return on_fault();
}

SEC("raw_tp/page_fault_user")
int sw_fault_raw(void *ctx)
{
	return on_fault();
}
