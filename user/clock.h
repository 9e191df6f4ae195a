/* SPDX-License-Identifier: MIT */
/* The daemon's one clock read: nanoseconds on a POSIX clock. */
#ifndef SW_CLOCK_H
#define SW_CLOCK_H

#include <linux/types.h>
#include <time.h>

/* Nanoseconds on clock clk (CLOCK_MONOTONIC for intervals, CLOCK_REALTIME for Unix time). */
static inline __u64 clock__ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* Monotonic nanoseconds, for intervals and deadlines. */
static inline __u64 clock__mono_ns(void)
{
	return clock__ns(CLOCK_MONOTONIC);
}

#endif
