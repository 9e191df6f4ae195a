/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Histogram bucket mapping shared by the BPF programs and the daemon. Pure
 * integer math with no builtins: clang 14 cannot lower __builtin_clzll for
 * the BPF target.
 */
#ifndef SWARMWATCH_LOG2_H
#define SWARMWATCH_LOG2_H

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

/* floor(log2(v)) for v > 0; 0 for v == 0. */
static __always_inline __u32 sw_log2_floor(__u64 v)
{
	__u32 r = 0, s;

	s = (v > 0xffffffffULL) << 5;
	v >>= s;
	r |= s;
	s = (v > 0xffffULL) << 4;
	v >>= s;
	r |= s;
	s = (v > 0xffULL) << 3;
	v >>= s;
	r |= s;
	s = (v > 0xfULL) << 2;
	v >>= s;
	r |= s;
	s = (v > 0x3ULL) << 1;
	v >>= s;
	r |= s;
	r |= (__u32)(v >> 1);
	return r;
}

/*
 * Bucket of value v: the smallest i with v <= 2^i, so bucket i is exactly the
 * Prometheus bucket le = 2^i. The last bucket, nslots - 1, is the overflow:
 * it holds every v > 2^(nslots - 2) and is exported only in le="+Inf".
 */
static __always_inline __u32 sw_log2_bucket(__u64 v, __u32 nslots)
{
	__u32 i;

	if (v <= 1)
		return 0;
	i = sw_log2_floor(v - 1) + 1;
	return i < nslots ? i : nslots - 1;
}

#endif /* SWARMWATCH_LOG2_H */
