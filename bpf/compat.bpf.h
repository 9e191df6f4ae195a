/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Every difference between kernels that the BPF programs handle, in one place.
 * The daemon reads the running kernel's BTF and sets these before load.
 */
#ifndef SWARMWATCH_COMPAT_BPF_H
#define SWARMWATCH_COMPAT_BPF_H

/*
 * Newer kernels pass `bool group_dead` to sched_process_exit (6.18 does);
 * older ones do not, and the argument slot is then meaningless. Without it,
 * fall back to the thread-group leader test, which misses a leader that
 * exits before its other threads.
 */
const volatile __u8 exit_has_group_dead = 1;

static __always_inline int sw_group_dead(struct task_struct *t, __u64 arg)
{
	if (exit_has_group_dead)
		return (int)(arg & 1);
	return BPF_CORE_READ(t, pid) == BPF_CORE_READ(t, tgid);
}

#endif /* SWARMWATCH_COMPAT_BPF_H */
