/* SPDX-License-Identifier: MIT */
#ifndef SW_METRICS_H
#define SW_METRICS_H

#include "buf.h"
#include "snapshot.h"

/* Exported histogram ranges: buckets le = 2^lo .. 2^hi nanoseconds. */
#define METRICS_SYSCALL_LE_LO 8 /* 256 ns */
#define METRICS_SYSCALL_LE_HI 34 /* ~17 s */
#define METRICS_RUNQ_LE_LO 10 /* ~1 us */
#define METRICS_RUNQ_LE_HI 34
#define METRICS_CONNECT_LE_LO 12 /* ~4 us */
#define METRICS_CONNECT_LE_HI 35 /* ~34 s */
#define METRICS_REQUEST_LE_LO 14 /* ~16 us */
#define METRICS_REQUEST_LE_HI 37 /* ~137 s: LLM calls can be long */

/* Renders snapshot s (and this process's own metrics) in text format 0.0.4. */
void metrics__render(struct buf *b, const struct snapshot *s);

#endif
