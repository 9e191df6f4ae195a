/* SPDX-License-Identifier: MIT */
/*
 * tick: the one owner of a tick. tick__run() calls the stages in order, one line each: drain
 * the kernel's events and keep identity, sample the kernel into a snapshot, append it to the
 * store, score it with the detectors, evaluate the alert rules, and publish it for the HTTP
 * threads. The cost stage runs after the app metrics and before the store and the alerts.
 */
#ifndef SW_TICK_H
#define SW_TICK_H

#include "config.h"
#include "snapshot.h"

struct alerting;
struct identity;
struct kernel;
struct store;
struct tick;
struct tls;

/*
 * A tick over kernel k, identity id and TLS capture tls (NULL: off), configured by c, appending
 * to the series store (NULL: none); all five must outlive it. NULL with errno set on failure.
 */
struct tick *tick__new(const struct config *c, struct kernel *k, struct identity *id,
		       struct tls *tls, struct store *store);
void tick__free(struct tick *t);

/*
 * tick__run - runs one tick and publishes its snapshot. Returns 0, or -errno when the kernel's
 * counters could not be sampled or memory ran out (nothing is published then; the previous
 * snapshot stays). A stage after sampling that fails publishes without its view.
 */
int tick__run(struct tick *t);

struct apps_params;
struct ingest;

/*
 * The bounds and tags of app metrics (statsd.* in the configuration), for the StatsD listener;
 * NULL when StatsD is off. Valid until tick__free().
 */
const struct apps_params *tick__app_params(const struct tick *t);

/*
 * tick__attach_statsd - from now on each tick takes the lines listener g gathered (started with
 * tick__app_params()) and publishes them as app metrics (apps.h); g must outlive the tick.
 * 0, or -EINVAL when StatsD is off in the configuration.
 */
int tick__attach_statsd(struct tick *t, struct ingest *g);
/*
 * When, in CLOCK_MONOTONIC ns, the overhead budget's duty cycle next attaches or detaches the
 * hot hooks in this tick; 0 when nothing is due before the next tick. The main loop calls
 * tick__duty() then.
 */
__u64 tick__duty_at(const struct tick *t);

/* Attaches or detaches the hot hooks if that is due at now (CLOCK_MONOTONIC ns). */
void tick__duty(struct tick *t, __u64 now);

/* Where the published snapshots are; valid until tick__free(). */
struct snapshot_slot *tick__slot(struct tick *t);

struct scaling;

/* The scaler stage, for the pools' history and dry runs; NULL when no pool is configured. */
struct scaling *tick__scaling(struct tick *t);

/* The alert stage, for acknowledgements; NULL when alerts are off. */
struct alerting *tick__alerting(struct tick *t);

struct costing;

/* The cost stage, for its emergency hook (costing.h); NULL when cost.enabled is false. */
struct costing *tick__costing(struct tick *t);

#endif
