/* SPDX-License-Identifier: MIT */
/*
 * api_pools: the JSON documents of /api/v1/pools, rendered at the leaf like api.h. Every
 * function returns a malloc'd NUL-terminated document, or NULL on out of memory.
 */
#ifndef SW_API_POOLS_H
#define SW_API_POOLS_H

#include "scale.h"

struct scale_view;
struct breaker_view;

/*
 * api__pools - GET /api/v1/pools: {"time", "pools": [{"pool", "seen", "current_replicas",
 * "desired_replicas", "min_replicas", "max_replicas", "cooldown_until" (RFC 3339 or null),
 * "blocked" (why the recommendation waits, or null), "last_decision" (a decision or null),
 * "routing", "open_breakers", "instances": [an instance as in api__pool_weights()]}]}. b (the
 * breakers, may be NULL) adds the last three.
 */
char *api__pools(const struct scale_view *v, const struct breaker_view *b);

/*
 * api__pool_weights - GET /api/v1/pools/{pool}/weights: {"time", "pool", "routing",
 * "open_breakers", "instances": [{"instance", "pid", "breaker" ("closed", "open",
 * "half_open"), "breaker_since", "retry_at" (RFC 3339 or null), "weight" (share, the pool's
 * sum to 1 unless all are 0), "requests", "failures", "success_ratio", "latency_seconds"
 * (null until a request is seen), "quality" (app-reported, or null), "connections"}]}. NULL with errno ENOENT when pool is not
 * configured, ENOMEM.
 */
char *api__pool_weights(const struct breaker_view *b, const char *pool);

/*
 * api__pool_history - GET /api/v1/pools/{pool}/history: {"pool", "decisions": [{"time",
 * "direction", "current_replicas", "desired_replicas", "rule", "metric", "value", "reason",
 * "cooldown_until", "idempotency_key"}]}, newest first.
 */
char *api__pool_history(const char *pool, const struct scale_event *ev, long n);

/*
 * api__pool_evaluate - POST /api/v1/pools/evaluate (dry run): {"status": "success",
 * "verdicts": [{"pool", "rule", "holds", "current_replicas", "desired_replicas", "direction",
 * "metric", "value", "reason"}]}.
 */
char *api__pool_evaluate(const struct scale_event *ev, long n);

#endif
