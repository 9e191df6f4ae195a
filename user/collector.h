/* SPDX-License-Identifier: MIT */
/*
 * collector: samples the kernel into a snapshot. It reads the agents' cumulative counters, the
 * request series and the BPF programs' and maps' statistics once a tick, names and folds them
 * (which agents are exported, which errnos and upstreams get their own label), and knows
 * nothing of what the later stages of the tick do with them.
 */
#ifndef SW_COLLECTOR_H
#define SW_COLLECTOR_H

#include <linux/types.h>

#include "config.h"
#include "snapshot.h"

struct collector;
struct identity;
struct kernel;

/* A collector for c's agents, reading k; NULL with errno set on failure. */
struct collector *collector__new(const struct config *c, struct kernel *k,
				 const struct identity *id);
void collector__free(struct collector *col);

/*
 * collector__sample - fills the kernel's part of s (a fresh snapshot__new()): its time, agents,
 * request series, in-kernel counters, collectors up, and BPF program and map statistics. Events
 * must have been drained and identity kept first (tick.c does so). Returns 0, or -errno when
 * the agents' counters cannot be read or memory runs out (s is then left for the caller to
 * put).
 */
int collector__sample(struct collector *col, struct snapshot *s);

/*
 * Per slot [0, max_agents]: whether its agent was retired at the last
 * collector__sample() (no live instance, counters still for
 * agent_retention), so that its slot may be reclaimed. Never slot 0.
 */
const bool *collector__idle(const struct collector *col);

/* Forgets what the collector kept of slots (names, labels, activity): they were reclaimed. */
void collector__forget(struct collector *col, const __u32 *slots, int n);

/*
 * Picks which errnos of an agent get their own label: the ones already
 * shown stay (so "other" never decreases), and new ones are added, largest
 * count first, until `top` are shown. Pure; exposed for tests.
 */
void collector__pick_errnos(const __u64 *errors, __u8 *shown, int top);

#endif
