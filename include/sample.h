/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Latency sampling of tracked syscalls, shared by the BPF programs (syscalls.bpf.c) and the
 * daemon's tests: how many syscalls lie from one timed syscall to the next, and N from a
 * CPU's rate. Pure integer math.
 */
#ifndef SWARMWATCH_SAMPLE_H
#define SWARMWATCH_SAMPLE_H

#include "log2.h"

/* Latency sampling times at least 1 syscall in 2^SW_LAT_MAX_SHIFT per CPU. */
#define SW_LAT_MAX_SHIFT 20

/*
 * Syscalls from one timed syscall to the next (>= 1), for N = 2^shift and a random 32-bit
 * rnd: uniform in [N/2, 3N/2], mean exactly N, so a timed syscall's latency counts N times
 * without bias (Wald's identity: the weights sum to the syscalls covered). N = 1 times every
 * syscall. Random, so that a periodic workload cannot hide from it; no wider, so that the
 * estimate over k timed syscalls stays within about 1 / (3.5 sqrt(k)) of the count.
 */
static __always_inline __u32 sw_lat_skip(__u32 shift, __u32 rnd)
{
	__u32 n = 1u << (shift & 31);

	if (n == 1)
		return 1;
	return n / 2 + rnd % (n + 1);
}

/*
 * log2 of N for a CPU that saw `seen` tracked syscalls in the last tick, aiming at per_tick
 * timed ones: the smallest shift with seen / 2^shift <= per_tick, at most SW_LAT_MAX_SHIFT;
 * 0 (every syscall timed) at low rates or when per_tick is 0.
 */
static __always_inline __u32 sw_lat_shift(__u32 seen, __u32 per_tick)
{
	__u32 want, shift;

	if (!per_tick)
		return 0;
	want = seen / per_tick;
	if (want <= 1)
		return 0;
	shift = sw_log2_floor(want - 1) + 1;
	return shift < SW_LAT_MAX_SHIFT ? shift : SW_LAT_MAX_SHIFT;
}

#endif /* SWARMWATCH_SAMPLE_H */
