/* SPDX-License-Identifier: MIT */
/*
 * scaling: the scaler stage of the tick. Each tick it keeps the snapshot in the window the
 * rules read (values.h, plus the pool figures below), lets scale.h decide every configured
 * pool, and for each scaling event: queues the scaling webhook in a durable outbox (notify.h,
 * channel "json", <store dir>/scaling/notify.db), runs the pool's command without a shell
 * under its timeout, and records the decision in <store dir>/scaling.db (SQLite; in memory
 * when there is no store directory). The same database keeps each pool's decision state
 * (scale__save()) and each forecast's model, every 10 s and in the transaction of each
 * decision, and gives them back at start (scale__load(), forecast_track__restore()). It
 * attaches a view of the pools to the snapshot for /metrics and /api/v1/pools.
 *
 * Figures a pool rule reads, besides every figure of values.h (the pool is the agent):
 *   load           CPU seconds per second per live instance (1 = one core busy per instance),
 *                  or the app-reported gauge "load" when the agents send one
 *   instances      live instances (current replicas)
 *   open_breakers  instances of the pool whose circuit breaker is open
 *   trend(x, W)    least-squares slope per second of x over the last W
 *   forecast(x, H) a damped Holt forecast of x H ahead (forecast.h, struct forecast_track),
 *                  from x averaged over steps of H / 12 (at least a tick), with its error
 *                  deviation so that `with confidence > c` is the probability that the
 *                  comparison holds; x is learned from alerts.window after the pool first
 *                  had a value of it (a windowed figure is whole then), and forecast after
 *                  5 steps
 *
 * Each live instance of a pool (snapshot.h's instances) has a circuit breaker (breaker.h) fed
 * by what its processes' requests did since the last tick, and a routing weight (weights.h) by
 * the pool's algorithm. A change of breaker state is logged, counted, and queued as a webhook
 * (schema swarmwatch.breaker/v1) through the pool's outbox.
 *
 * Threads: scaling__tick() runs on the tick's thread; scaling__history() and
 * scaling__evaluate() may be called from others (the HTTP server's); they exclude each other.
 */
#ifndef SW_SCALING_H
#define SW_SCALING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scale.h"

struct config;
struct snapshot;
struct scaling;

/* One pool as published. */
struct scale_view_pool {
	char pool[SCALE_NAME_MAX];
	bool seen;
	uint32_t current, desired, min_replicas, max_replicas;
	double cooldown_until; /* unix seconds, 0: none */
	char blocked[64];
	bool have_last;
	struct scale_event last; /* the last event, when have_last */
};

/* One live instance of a pool: its breaker and routing weight. */
struct scale_view_instance {
	char pool[SCALE_NAME_MAX];
	char instance[SCALE_INSTANCE_MAX]; /* SWARMWATCH_INSTANCE of its root, else the pid */
	int32_t pid; /* its root process */
	enum breaker_state state;
	double since; /* unix seconds it entered state */
	double retry_at; /* open: unix seconds it turns half-open; else 0 */
	double weight; /* routing share, [0, 1]; the pool's sum to 1 unless all are 0 */
	double requests, failures; /* since the daemon saw it */
	double success_ratio, latency_s; /* smoothed per tick (weights.h's inputs); NAN: none */
	double quality; /* app-reported quality used by routing "quality"; NAN: none */
	uint32_t connections; /* live TCP connections */
};

/* Breaker transitions since start by pool and the state entered. */
struct scale_view_transition {
	char pool[SCALE_NAME_MAX];
	const char *to; /* breaker_state_names */
	double n;
};

/* The pools' breakers and routing weights at a tick, attached as snapshot->breakers. */
struct breaker_view {
	double time;
	int ninstances;
	struct scale_view_instance *instances; /* by pool (configuration order), then pid */
	int ntransitions;
	struct scale_view_transition *transitions;
	int npools;
	struct breaker_view_pool {
		char pool[SCALE_NAME_MAX];
		bool seen; /* the agent exists this tick */
		const char *routing; /* weights_algorithm_names */
		uint32_t open_breakers; /* instances whose breaker is open */
	} * pools; /* configuration order */
};

/* Scaling events since start by pool, direction and rule. */
struct scale_view_count {
	char pool[SCALE_NAME_MAX];
	const char *direction;
	char rule[SCALE_NAME_MAX];
	double n;
};

struct scale_view {
	double time;
	int npools;
	struct scale_view_pool *pools;
	int ncounts;
	struct scale_view_count *counts;
	bool outbox; /* some pool has a webhook: the figures below mean something */
	double webhooks[3]; /* delivery attempts: sent, retried, rejected (notify_result) */
	const char *webhook_result[3]; /* their names, "sent", "retried", "rejected" */
	double queue_length; /* webhooks not yet delivered */
};

/*
 * scaling__new - the stage for c's pools (c must outlive it). Returns NULL with errno set and a
 * one-line reason in err: EINVAL for a rule that does not parse or names no figure, EIO when
 * the history cannot be opened, ENOMEM.
 */
struct scaling *scaling__new(const struct config *c, double interval_s, char *err, size_t errlen);

/*
 * scaling__cap - holds pool at its min_replicas until until_ms (Unix ms), as scale__cap()
 * says; the decision goes out at the next tick through the pool's webhook and command like
 * any other. Returns 0, or -ENOENT when pool is not configured.
 */
int scaling__cap(struct scaling *sc, const char *pool, int64_t until_ms);

void scaling__free(struct scaling *s);

/*
 * scaling__breakers - feeds each live instance's breaker with what it did since the last call,
 * computes the pools' routing weights, queues a webhook per change of breaker state, and
 * attaches the result as s->breakers. Runs before the stages that read figures (alert rules
 * see open_breakers this tick) and before scaling__tick(). 0 or -errno (-ENOMEM: no view).
 */
int scaling__breakers(struct scaling *sc, struct snapshot *s);

/* scaling__breaker_view_free - frees a view; NULL is ignored. */
void scaling__breaker_view_free(struct breaker_view *v);

/* scaling__tick - decides and acts on s (not yet published); attaches s->scale. 0 or -errno. */
int scaling__tick(struct scaling *sc, struct snapshot *s);

/*
 * scaling__history - pool's decisions, newest first, at most limit, into a malloc'd array
 * (*out, freed by the caller). Returns how many, or -ENOENT for an unknown pool, -EIO.
 */
long scaling__history(struct scaling *sc, const char *pool, long limit, struct scale_event **out);

/*
 * scaling__evaluate - dry run of the pools of configuration c (a file being checked) against
 * the current figures: every rule's verdict, into a malloc'd array. Returns how many, or -errno
 * with a reason in err (-EINVAL: c's rules do not parse).
 */
long scaling__evaluate(struct scaling *sc, const struct config *c, struct scale_event **out,
		       char *err, size_t errlen);

/* scaling__view_free - frees a view; NULL is ignored. */
void scaling__view_free(struct scale_view *v);

/*
 * scaling__check - validates c's pool rules: each figure resolves (values__check(), with the
 * pool figures above). A name that resolves to nothing now may be an app metric agents send
 * later: it is allowed, and the first such is described in warn (warnlen bytes, may be NULL;
 * "" when none). Returns 0, or -EINVAL with "pools.NAME.rules: \"rule\": why" in err.
 */
int scaling__check(const struct config *c, char *err, size_t errlen, char *warn, size_t warnlen);

#endif
