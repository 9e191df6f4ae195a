/* SPDX-License-Identifier: MIT */
/*
 * api_pools: the JSON documents of /api/v1/pools, rendered at the leaf like api.h. Every
 * function returns a malloc'd NUL-terminated document, or NULL on out of memory.
 */
#ifndef SW_API_POOLS_H
#define SW_API_POOLS_H

#include "scale.h"

struct scale_view;

/*
 * api__pools - GET /api/v1/pools: {"time", "pools": [{"pool", "seen", "current_replicas",
 * "desired_replicas", "min_replicas", "max_replicas", "cooldown_until" (RFC 3339 or null),
 * "blocked" (why the recommendation waits, or null), "last_decision" (a decision or null)}]}.
 */
char *api__pools(const struct scale_view *v);

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
