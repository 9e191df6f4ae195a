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
#ifdef SW_DEFINE_MAPS
const volatile __u8 exit_has_group_dead = 1;
#else
extern const volatile __u8 exit_has_group_dead;
#endif

static __always_inline int sw_group_dead(struct task_struct *t, __u64 arg)
{
	if (exit_has_group_dead)
		return (int)(arg & 1);
	return BPF_CORE_READ(t, pid) == BPF_CORE_READ(t, tgid);
}

/*
 * Linux 6.2 (f1a7941243c1, "mm: convert mm's rss stats into percpu_counter")
 * made mm->rss_stat an array of percpu_counter; before, it was a struct of
 * atomic_long_t counters.
 */
struct mm_rss_stat___pre62 {
	atomic_long_t count[4];
} __attribute__((preserve_access_index));

struct mm_struct___pre62 {
	struct mm_rss_stat___pre62 rss_stat;
} __attribute__((preserve_access_index));

static __always_inline __u64 sw_positive(__s64 v)
{
	return v > 0 ? v : 0;
}

/*
 * Resident pages of mm: file, anonymous and shared memory, not swap; what
 * /proc/PID/status adds up as VmRSS. A percpu_counter's count is the global
 * value less what CPUs have not folded in yet, and may dip below zero:
 * each counter is clamped at 0, as get_mm_counter() does. On a kernel with
 * neither layout the second read cannot be relocated, and the program that
 * calls this does not load.
 */
static __always_inline __u64 sw_mm_rss_pages(struct mm_struct *mm)
{
	struct mm_struct___pre62 *old = (void *)mm;

	if (bpf_core_field_exists(mm->rss_stat))
		return sw_positive(BPF_CORE_READ(mm, rss_stat[MM_FILEPAGES].count)) +
		       sw_positive(BPF_CORE_READ(mm, rss_stat[MM_ANONPAGES].count)) +
		       sw_positive(BPF_CORE_READ(mm, rss_stat[MM_SHMEMPAGES].count));
	return sw_positive(BPF_CORE_READ(old, rss_stat.count[MM_FILEPAGES].counter)) +
	       sw_positive(BPF_CORE_READ(old, rss_stat.count[MM_ANONPAGES].counter)) +
	       sw_positive(BPF_CORE_READ(old, rss_stat.count[MM_SHMEMPAGES].counter));
}

#endif /* SWARMWATCH_COMPAT_BPF_H */
