/* SPDX-License-Identifier: MIT */
#ifndef SW_COLLECTOR_H
#define SW_COLLECTOR_H

#include <linux/types.h>
#include <stdbool.h>

#include "config.h"
#include "identity.h"
#include "kernel.h"
#include "tls.h"

/* One agent's cumulative state at a tick. */
struct agent_snap {
	char name[SW_NAME_LEN];
	__u32 slot;
	__u32 instances;
	__u64 user_starts; /* starts the daemon classified */
	__u64 rss_bytes; /* resident memory of its processes at this tick (if rss_up) */
	struct sw_agent_stats s;
	__u8 errno_shown[SW_ERRNO_SLOTS]; /* 1: exported under its own name */
};

/*
 * What the collector publishes each tick. Immutable once published and
 * reference-counted, so HTTP threads render it while the next tick runs.
 */
struct anomaly_view;

/* Requests of one agent to or from one upstream, in one role, with one status. */
struct request_series {
	int agent; /* index into snapshot agents */
	char upstream[48]; /* configured name, "ip:port", or "other" */
	__u8 role; /* enum sw_role */
	__u8 status; /* enum sw_status, 1..5 for the HTTP class */
	__u64 count;
	__u64 lat[SW_LAT_SLOTS];
	__u64 lat_sum_ns;
};

struct snapshot {
	int refs;
	double time; /* unix time the tick read the counters */
	__u64 ticks;
	double tick_seconds; /* how long the tick took */
	int nagents;
	struct agent_snap *agents;
	struct request_series *requests; /* sorted by agent, upstream, role, status */
	int nrequests;
	__u64 counters[SW_CNT_MAX];
	bool up[COLLECTOR_MAX];
	bool rss_up; /* the task iterator ran: agents' rss_bytes are set */
	struct prog_stat progs[KERNEL_MAX_PROGS];
	int nprogs;
	struct map_stat maps[KERNEL_MAX_MAPS];
	int nmaps;
	bool tls_configured; /* some agent has TLS capture on in the configuration */
	bool tls_up; /* ... and its hooks run */
	struct tls_stats tls;
	struct anomaly_view *anomalies; /* scores and episodes of the tick; NULL if unavailable */
};

struct collector;

struct collector *collector__new(const struct config *c, struct kernel *k, struct identity *id);
void collector__free(struct collector *col);

/* Where TLS capture figures come from (NULL: off). */
void collector__set_tls(struct collector *col, const struct tls *t);

/* Reads the kernel's maps and publishes a new snapshot; 0 or -errno. */
int collector__tick(struct collector *col);

/* The latest snapshot with a reference taken, or NULL before the first tick. */
struct snapshot *collector__acquire(struct collector *col);
void collector__release(struct collector *col, struct snapshot *s);

/*
 * Picks which errnos of an agent get their own label: the ones already
 * shown stay (so "other" never decreases), and new ones are added, largest
 * count first, until `top` are shown. Pure; exposed for tests.
 */
void collector__pick_errnos(const __u64 *errors, __u8 *shown, int top);

#endif
