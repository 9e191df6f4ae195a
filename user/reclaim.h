/* SPDX-License-Identifier: MIT */
#ifndef SW_RECLAIM_H
#define SW_RECLAIM_H

#include <linux/types.h>
#include <stdbool.h>

struct kernel;
struct identity;

/*
 * Reclaiming the kernel slots of retired agents, so that hosts that name
 * agents per run (container-<id>) do not run out of slots after max_agents
 * runs. A slot goes through two ticks:
 *
 *   1. its agent is idle (retired by agent_retention, no live instance) and
 *      no task carries it: its name stops resolving to it, so no new
 *      process can get it, and its generation is bumped, so that sockets
 *      the agent left behind credit no one any more;
 *   2. one tick later (every BPF program that read the name or the
 *      generation before has long finished), if still no task carries it,
 *      its counters and series are zeroed and it goes on the kernel's free
 *      list.
 *
 * If a task carries it at step 2 (a process that got the name in the
 * instant before step 1), the name resolves to it again and it stays. A
 * slot is never reused while a task carries it, and what its old sockets
 * do after step 1 is credited to no agent.
 */
struct reclaim;

/* State for slots [0, nslots); NULL and errno on failure. */
struct reclaim *reclaim__new(__u32 nslots);
void reclaim__free(struct reclaim *r);

/*
 * One step, once per tick, at monotonic time now (ns). idle[slot] says the
 * agent of slot is retired with no live instance. Runs the kernel's task
 * iterator only when some slot is idle or in step 2, and re-checks an idle
 * slot that a task still carried at most every 10 s.
 * Writes the slots freed this tick to freed[] (room for nslots) so that
 * the caller forgets its own state of them, and returns how many, or
 * -ENOTSUP when the kernel cannot count the tasks of a slot (nothing is
 * reclaimed).
 */
int reclaim__tick(struct reclaim *r, struct kernel *k, struct identity *id, const bool *idle,
		  __u64 now, __u32 *freed);

/* Slots freed since start. */
__u64 reclaim__count(const struct reclaim *r);

#endif
