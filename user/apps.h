/* SPDX-License-Identifier: MIT */
/*
 * apps: the metrics agents report themselves (StatsD lines, statsd.h), kept per agent as the
 * catalogue's dynamic families swarmwatch_agent_app_<name>. Pure: no I/O, no threads.
 *
 * Two halves. A batch (struct apps_batch) gathers one tick's lines as they arrive, keyed by the
 * sender's agent slot, family and label values: counters summed (scaled by 1/rate), gauges set
 * or moved by deltas, timers, histograms and distributions counted into log2 buckets, set
 * members counted once. At the tick, apps__merge() folds a batch into the cumulative series,
 * names each slot's agent from the tick's snapshot, and applies the bounds; apps__view() copies
 * the series into an immutable view the snapshot carries.
 *
 * Families, from a line "name:value|type" (name sanitised to [a-zA-Z0-9_:]):
 *   c        swarmwatch_agent_app_<name>_total     counter ("_total" not doubled)
 *   g, s     swarmwatch_agent_app_<name>           gauge (s: distinct members in the last tick)
 *   ms       swarmwatch_agent_app_<name>_seconds   histogram, milliseconds converted to seconds
 *                                                  (a trailing "_ms" is dropped from the name)
 *   h, d     swarmwatch_agent_app_<name>           histogram, values as sent
 * Histogram buckets are powers of two, le = 2^-16 .. 2^31, in the unit of the values.
 */
#ifndef SW_APPS_H
#define SW_APPS_H

#include <linux/types.h>
#include <stdbool.h>
#include <stdint.h>

#include "statsd.h"
#include "swarmwatch.h"

#define APPS_TAGS_MAX 4 /* allowed tag keys, each a label of every app family */
#define APPS_VALUE_LEN 64 /* bytes of a label value, NUL included */
#define APPS_FAMILY_LEN 176 /* bytes of a family name, NUL included */
#define APPS_LE_LO (-16) /* log2 of the first bucket bound */
#define APPS_NLE 48 /* finite bucket bounds: 2^-16 .. 2^31 */
#define APPS_NB (APPS_NLE + 1) /* buckets with +Inf */
#define APPS_BATCH_MAX 16384 /* distinct series one batch holds; lines beyond are dropped */
#define APPS_SERIES_MAX 65536 /* app series in all, whatever the agents (trusted agent tags) */

/* What apps__merge() drops, and why: swarmwatch_statsd_dropped_total{reason}. */
enum apps_drop {
	APPS_DROP_SERIES_LIMIT, /* the agent has max_series app series, or all have APPS_SERIES_MAX */
	APPS_DROP_LABEL_LIMIT, /* a label of the family already has max_values values */
	APPS_DROP_TYPE_CONFLICT, /* the family exists with another type */
	APPS_DROP_FAMILIES_FULL, /* no room for another app family */
	APPS_DROP_BATCH_FULL, /* the tick's batch held APPS_BATCH_MAX series */
	APPS_DROP_OVERSIZED, /* a datagram longer than STATSD_DATAGRAM_MAX (counted by ingest.c) */
	APPS_DROP_MAX,
};

const char *apps__drop_name(int reason);

/* How the agent of a datagram's sender was found: swarmwatch_statsd_attribution_total{source}. */
enum apps_by {
	APPS_BY_KERNEL, /* UDP: the source port in the kernel's `udp_owners` map */
	APPS_BY_PROC, /* UDP: the port's socket in /proc/net/udp, its holder in /proc/PID/fd */
	APPS_BY_CREDENTIALS, /* Unix socket: the sender's pid from SCM_CREDENTIALS */
	APPS_BY_NONE, /* the sender belongs to no agent, or was not found */
	APPS_BY_MAX,
};

const char *apps__by_name(int by);

struct apps_params {
	const char *tags[APPS_TAGS_MAX]; /* tag keys kept as labels (valid label names) */
	int ntags;
	bool trust_agent_tag; /* an "agent" tag names the agent; else it is ignored */
	__u32 max_series; /* app series per agent, default 64 */
	__u32 max_values; /* values per label of one family and agent, default 16 */
	double retention_s; /* series of an agent no longer exported are kept this long */
};

void apps__params_default(struct apps_params *p);

/* The finite bucket bounds of every app histogram, APPS_NLE of them. */
extern const double apps_le[APPS_NLE];

/* --- one tick's lines --- */

struct apps_batch;

struct apps_batch *apps__batch_new(void);
void apps__batch_free(struct apps_batch *b);

/* Empties b for the next tick, keeping its memory. */
void apps__batch_reset(struct apps_batch *b);

/*
 * apps__batch_add - adds parsed line m from a sender of agent slot (SW_SLOT_NONE: the sender
 * belongs to no agent). Tags not in p->tags are ignored, and so is an "agent" tag unless
 * p->trust_agent_tag. Returns 0, or -ENOSPC when b is full (counted as batch_full).
 */
int apps__batch_add(struct apps_batch *b, const struct apps_params *p, __u32 slot,
		    const struct statsd_metric *m);

/* Lines added to b from senders of no agent (not named by a trusted agent tag either). */
__u64 apps__batch_unattributed(const struct apps_batch *b);

/* --- the cumulative series --- */

struct apps;

/* NULL with errno EINVAL (max_series or max_values 0, too many tags) or ENOMEM. */
struct apps *apps__new(const struct apps_params *p);
void apps__free(struct apps *a);

/* An agent the tick exports: its name and kernel slot. */
struct apps_agent {
	const char *name;
	__u32 slot;
};

/*
 * apps__merge - folds batch b (may be NULL) into the series at time now (seconds), agents[0..n)
 * naming slots. Lines of a slot none of agents has land under no agent (agent="") and count as
 * unattributed. Series of agents missing from agents for retention_s are forgotten; set gauges
 * not sent this tick read 0. Drops are counted by reason (apps__drops()).
 */
void apps__merge(struct apps *a, const struct apps_batch *b, const struct apps_agent *agents, int n,
		 double now);

/* Cumulative drops by enum apps_drop, and lines from senders of no agent. */
const __u64 *apps__drops(const struct apps *a);
__u64 apps__unattributed(const struct apps *a);

/* One series in a view. */
struct app_sample {
	int family; /* catalogue app family index (catalog__app_index()) */
	const void *fam; /* its struct catalog_family */
	const char *values[1 + APPS_TAGS_MAX]; /* agent ("" for none), then the tags' values */
	double value; /* counters and gauges */
	__u64 buckets[APPS_NB]; /* histograms: per bucket, the last +Inf */
	double sum;
	__u64 count;
};

/* What the tick publishes of app metrics: the series and the listener's counters. */
struct app_view {
	struct app_sample *samples; /* sorted by family */
	int n;
	__u64 datagrams[2]; /* received: [0] UDP, [1] Unix socket */
	__u64 malformed; /* lines that did not parse */
	__u64 unattributed; /* lines from senders of no agent */
	__u64 dropped[APPS_DROP_MAX];
	__u64 by[APPS_BY_MAX]; /* datagrams by how their sender's agent was found */
	char strings[]; /* label values the samples point to */
};

/* An immutable copy of the series for a snapshot; NULL on out of memory. */
struct app_view *apps__view(const struct apps *a);
void apps__view_free(struct app_view *v);

#endif
