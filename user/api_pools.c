// SPDX-License-Identifier: MIT
/* api_pools: JSON of the pools, their decisions and dry runs. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "api.h"
#include "api_pools.h"
#include "scaling.h"

static json_t *time_or_null(double t)
{
	char buf[40];

	if (!(t > 0))
		return json_null();
	api__rfc3339(t, buf, sizeof(buf));
	return json_string(buf);
}

static json_t *num_or_null(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

static json_t *decision_json(const struct scale_event *e)
{
	return json_pack("{s:o, s:s, s:I, s:I, s:s, s:s, s:o, s:s, s:o, s:s}", "time",
			 time_or_null(e->time_ms / 1e3), "direction",
			 scale_direction_names[e->direction], "current_replicas",
			 (json_int_t)e->current, "desired_replicas", (json_int_t)e->desired, "rule",
			 e->rule, "metric", e->metric, "value", num_or_null(e->value), "reason",
			 e->reason, "cooldown_until", time_or_null(e->cooldown_until_ms / 1e3),
			 "idempotency_key", e->key);
}

static char *dump(json_t *root)
{
	char *text = root ? json_dumps(root, JSON_COMPACT | JSON_REAL_PRECISION(6)) : NULL;

	json_decref(root);
	return text;
}

static json_t *instance_json(const struct scale_view_instance *x)
{
	return json_pack("{s:s, s:I, s:s, s:o, s:o, s:o, s:I, s:I, s:o, s:o, s:o, s:I}", "instance",
			 x->instance, "pid", (json_int_t)x->pid, "breaker",
			 breaker_state_names[x->state], "breaker_since", time_or_null(x->since),
			 "retry_at", time_or_null(x->retry_at), "weight", json_real(x->weight),
			 "requests", (json_int_t)x->requests, "failures", (json_int_t)x->failures,
			 "success_ratio", num_or_null(x->success_ratio), "latency_seconds",
			 num_or_null(x->latency_s), "quality", num_or_null(x->quality),
			 "connections", (json_int_t)x->connections);
}

/* The breakers of pool: "routing", "open_breakers" and "instances" into o. -1 when absent. */
static int add_breakers(json_t *o, const struct breaker_view *b, const char *pool)
{
	json_t *arr;
	int i;

	for (i = 0; b && i < b->npools; i++)
		if (!strcmp(b->pools[i].pool, pool))
			break;
	if (!b || i == b->npools)
		return -1;
	arr = json_array();
	if (!arr || json_object_set_new(o, "routing", json_string(b->pools[i].routing)) ||
	    json_object_set_new(o, "open_breakers", json_integer(b->pools[i].open_breakers)) ||
	    json_object_set_new(o, "instances", arr))
		return -1;
	for (i = 0; i < b->ninstances; i++)
		if (!strcmp(b->instances[i].pool, pool) &&
		    json_array_append_new(arr, instance_json(&b->instances[i])))
			return -1;
	return 0;
}

char *api__pool_weights(const struct breaker_view *b, const char *pool)
{
	json_t *o = json_pack("{s:o, s:s}", "time", time_or_null(b->time), "pool", pool);
	int i;

	for (i = 0; i < b->npools; i++)
		if (!strcmp(b->pools[i].pool, pool))
			break;
	if (i == b->npools) {
		json_decref(o);
		errno = ENOENT;
		return NULL;
	}
	if (!o || add_breakers(o, b, pool)) {
		json_decref(o);
		errno = ENOMEM;
		return NULL;
	}
	return dump(o);
}

char *api__pools(const struct scale_view *v, const struct breaker_view *b)
{
	json_t *arr = json_array();
	int i;

	if (!arr)
		return NULL;
	for (i = 0; i < v->npools; i++) {
		const struct scale_view_pool *p = &v->pools[i];
		json_t *o = json_pack(
			"{s:s, s:b, s:I, s:I, s:I, s:I, s:o, s:o, s:o}", "pool", p->pool, "seen",
			p->seen, "current_replicas", (json_int_t)p->current, "desired_replicas",
			(json_int_t)p->desired, "min_replicas", (json_int_t)p->min_replicas,
			"max_replicas", (json_int_t)p->max_replicas, "cooldown_until",
			time_or_null(p->cooldown_until), "blocked",
			p->blocked[0] ? json_string(p->blocked) : json_null(), "last_decision",
			p->have_last ? decision_json(&p->last) : json_null());

		if (o && b)
			add_breakers(o, b, p->pool);
		if (json_array_append_new(arr, o)) {
			json_decref(arr);
			return NULL;
		}
	}
	return dump(json_pack("{s:o, s:o}", "time", time_or_null(v->time), "pools", arr));
}

char *api__pool_history(const char *pool, const struct scale_event *ev, long n)
{
	json_t *arr = json_array();
	long i;

	if (!arr)
		return NULL;
	for (i = 0; i < n; i++)
		if (json_array_append_new(arr, decision_json(&ev[i]))) {
			json_decref(arr);
			return NULL;
		}
	return dump(json_pack("{s:s, s:o}", "pool", pool, "decisions", arr));
}

char *api__pool_evaluate(const struct scale_event *ev, long n)
{
	json_t *arr = json_array();
	long i;

	if (!arr)
		return NULL;
	for (i = 0; i < n; i++) {
		const struct scale_event *e = &ev[i];
		json_t *o = json_pack("{s:s, s:s, s:b, s:I, s:I, s:s, s:s, s:o, s:s}", "pool",
				      e->pool, "rule", e->rule, "holds", e->holds,
				      "current_replicas", (json_int_t)e->current,
				      "desired_replicas", (json_int_t)e->desired, "direction",
				      scale_direction_names[e->direction], "metric", e->metric,
				      "value", num_or_null(e->value), "reason", e->reason);

		if (json_array_append_new(arr, o)) {
			json_decref(arr);
			return NULL;
		}
	}
	return dump(json_pack("{s:s, s:o}", "status", "success", "verdicts", arr));
}
