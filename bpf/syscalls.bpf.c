// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Syscalls of tracked tasks: count by class, errors by errno, latency
 * histogram; and user page faults. Everything is counted at syscall exit so
 * that a class total always equals its histogram count.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "agent.bpf.h"

/* Set by the daemon before load. */
const volatile __u8 syscall_class[SW_SYSCALL_MAX] = {};
const volatile __u8 errno_ignored[SW_ERRNO_SLOTS] = {};

#define ERESTARTSYS 512
#define ERESTART_RESTARTBLOCK 516

static __always_inline int on_sys_enter(long id)
{
	struct sw_sys *sys = sw_current_sys();

	if (!sys || id < 0)
		return 0;
	sys->enter_ns = bpf_ktime_get_ns();
	sys->nr = (__u32)id;
	return 0;
}

static __always_inline void count_exit(struct sw_sys *sys, __u64 t0, long ret)
{
	struct sw_agent_stats *s = sw_stats(sys->slot);
	__u32 nr = sys->nr, cls = SW_CLASS_OTHER;
	long err;

	if (!s)
		return;
	if (nr < SW_SYSCALL_MAX)
		cls = syscall_class[nr];
	if (cls >= SW_CLASS_MAX)
		cls = SW_CLASS_OTHER;
	s->syscalls[cls] += 1;
	sw_hist_add(s->syscall_lat, &s->syscall_lat_sum_ns, bpf_ktime_get_ns() - t0);
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

static __always_inline int on_sys_exit(long ret)
{
	struct sw_sys *sys = sw_current_sys_paced();
	__u64 t0;

	if (!sys)
		return 0;
	t0 = sys->enter_ns;
	if (!t0)
		return 0;
	sys->enter_ns = 0;
	count_exit(sys, t0, ret);
	return 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(sw_sys_enter_btf, struct pt_regs *regs, long id)
{
	return on_sys_enter(id);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(sw_sys_exit_btf, struct pt_regs *regs, long ret)
{
	return on_sys_exit(ret);
}

SEC("raw_tp/sys_enter")
int sw_sys_enter_raw(__u64 *ctx)
{
	return on_sys_enter((long)ctx[1]);
}

SEC("raw_tp/sys_exit")
int sw_sys_exit_raw(__u64 *ctx)
{
	return on_sys_exit((long)ctx[1]);
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
