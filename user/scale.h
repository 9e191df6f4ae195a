/* SPDX-License-Identifier: MIT */
/*
 * scale: scaling decisions for pools of agent instances, with the discipline of Kubernetes'
 * HorizontalPodAutoscaler (kubernetes/website, tasks/run-application/horizontal-pod-autoscale.md)
 * and the cooldowns of AWS Application Auto Scaling.
 *
 * A pool is an agent: its current replicas are the agent's live instances. Each pool has rules:
 * a condition in alert.h's compound language (alert__parse_cond()) and an action:
 *   "up N", "down N"        change by N instances
 *   "up P%", "down P%"      change by P percent of the current count, at least one instance
 *   "to N"                  set N instances
 *   "track T"               target tracking on the condition's first figure v:
 *                           ceil(current * v / T), nothing when |v / T - 1| <= tolerance (0.1)
 * Each tick every enabled rule whose condition holds proposes a count, clamped to
 * [min_replicas, max_replicas]; the proposal of the highest priority that changes the count
 * wins, the largest among equal priorities (HPA: the highest of several metrics). No proposal
 * keeps the current count (raised to min_replicas or lowered to max_replicas when outside).
 *
 * Stabilisation as the HPA's behaviour: the recommendation of each tick is kept for the longer
 * window; scaling up goes to the lowest recommendation of the last up_window (default 0 s: the
 * tick's own), scaling down to the highest of the last down_window (default 300 s), so a pool
 * shrinks only when every tick of five minutes asked for fewer instances; a pool watched for less
 * than a whole down_window is not scaled down at all.
 *
 * Cooldown (AWS target tracking): an event starts its rule's cooldown; until it ends the pool
 * does not scale down, and scales up again only to more than it last asked for (the capacity
 * just asked for counts); a scale-up ends a scale-down's cooldown at once.
 *
 * Pure: the clock is the caller's now_ms (Unix ms, non-decreasing), values come through an
 * alert_lookup_fn. Not thread-safe.
 */
#ifndef SW_SCALE_H
#define SW_SCALE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alert.h"
#include "breaker.h"
#include "weights.h"

#define SCALE_POOLS_MAX 32
#define SCALE_RULES_MAX 16
#define SCALE_NAME_MAX 64
#define SCALE_ARGS_MAX 8
#define SCALE_REASON_MAX 256
/* Instances of a pool given a weight in the configuration. */
#define SCALE_WEIGHTS_MAX 32
#define SCALE_INSTANCE_MAX 32 /* an instance name and its NUL (SW_NAME_LEN) */
/* Recommendations kept per pool for the stabilisation windows. */
#define SCALE_RECS_MAX 1024

enum scale_action {
	SCALE_BY, /* amount: signed instances */
	SCALE_BY_PERCENT, /* amount: signed percent */
	SCALE_TO, /* amount: instances */
	SCALE_TRACK, /* amount: target value of the first figure */
};

enum scale_direction { SCALE_NONE, SCALE_UP, SCALE_DOWN };

extern const char *const scale_direction_names[3]; /* "none", "up", "down" */

struct scale_rule {
	char name[SCALE_NAME_MAX]; /* [A-Za-z0-9_.-]+ */
	char expr_text[ALERT_TEXT_MAX];
	char action_text[32]; /* as written: "up 1", "down 25%", "to 4", "track 0.6" */
	struct alert_cond cond; /* from expr_text, by scale__new() */
	enum scale_action action; /* from action_text */
	double amount;
	int64_t cooldown_ms; /* default 60 s */
	int priority; /* higher first, default 0 */
	bool disabled;
};

struct scale_pool {
	char name[SCALE_NAME_MAX]; /* the agent's name */
	uint32_t min_replicas; /* default 1 */
	uint32_t max_replicas; /* default 10, >= min_replicas */
	int64_t up_window_ms; /* default 0 */
	int64_t down_window_ms; /* default 300 s */
	double tolerance; /* target tracking, default 0.1 */
	int64_t cooldown_ms; /* of rules that set none, default 60 s */
	char webhook[512]; /* http(s):// URL for the scaling webhook; "" none */
	char secret[128]; /* HMAC key of the webhook's signature; "" unsigned */
	char command[SCALE_ARGS_MAX][256]; /* argv run without a shell; {pool} {desired}
					      {current} {rule} are replaced */
	uint32_t ncommand;
	int64_t command_timeout_ms; /* default 10 s */
	struct scale_rule rules[SCALE_RULES_MAX];
	uint32_t nrules;
	struct breaker_params breaker; /* each instance's circuit breaker */
	enum weights_algorithm routing; /* default WEIGHTS_QUALITY */
	struct {
		char instance[SCALE_INSTANCE_MAX];
		double weight; /* >= 0 */
	} weights[SCALE_WEIGHTS_MAX]; /* routing "weighted": by instance name */
	uint32_t nweights;
};

struct scale_params {
	struct scale_pool pools[SCALE_POOLS_MAX];
	uint32_t npools;
};

/* One scaling event or, for scale__evaluate(), one rule's verdict. */
struct scale_event {
	char pool[SCALE_NAME_MAX];
	enum scale_direction direction;
	uint32_t current; /* live instances */
	uint32_t desired;
	char rule[SCALE_NAME_MAX]; /* the rule that drove it, or "min_replicas"/"max_replicas" */
	char metric[ALERT_NAME_MAX]; /* the rule's first figure */
	double value; /* its value, NAN when absent */
	char reason[SCALE_REASON_MAX];
	int64_t time_ms;
	int64_t cooldown_until_ms;
	char key[80]; /* idempotency key: "scale-<pool>-<time_ms>-<desired>" */
	bool holds; /* scale__evaluate(): the rule's condition holds */
};

/* A view of one pool for the API and the exposition. */
struct scale_pool_info {
	const char *pool;
	uint32_t current;
	uint32_t desired; /* the stabilised recommendation this tick */
	uint32_t min_replicas, max_replicas;
	int64_t cooldown_until_ms; /* 0: none */
	bool seen; /* the agent exists in the last tick */
	const char *blocked; /* why the recommendation was not acted on, "" if it was or none */
};

struct scale_engine;

/*
 * scale__rules_default - the shipped rule set into out (cap entries), documented in the README:
 * latency, errors rising, queue backlog, load (target tracking), forecast load, low load with
 * good quality (down) and open breakers (failover). Returns how many.
 */
uint32_t scale__rules_default(struct scale_rule *out, uint32_t cap);

/* scale__pool_default - pool name with the defaults above and the default rules. */
void scale__pool_default(struct scale_pool *p, const char *name);

/*
 * scale__parse_action - "up 2", "down 10%", "to 4", "track 0.6" into r->action and r->amount.
 * Returns 0, or -EINVAL with "1:COLUMN: what is wrong" in err.
 */
int scale__parse_action(const char *text, struct scale_rule *r, char *err, size_t errlen);

/*
 * scale__new - an engine for p (copied); parses every rule's condition and action. Returns
 * it, or NULL with errno EINVAL ("pool \"x\" rule \"y\": 1:7: ..." in err) or ENOMEM.
 */
struct scale_engine *scale__new(const struct scale_params *p, char *err, size_t errlen);

void scale__free(struct scale_engine *e);

/*
 * scale__tick - decides every pool at now_ms. current(ctx, pool) gives a pool's live
 * instances, or -1 when the agent is not seen (the pool is then left alone). Events to act on
 * go to *out (*nout entries, owned by e, valid until the next call). Returns 0 or -ENOMEM.
 */
int scale__tick(struct scale_engine *e, int64_t now_ms,
		long (*current)(void *ctx, const char *pool), alert_lookup_fn lookup, void *ctx,
		const struct scale_event **out, size_t *nout);

/*
 * scale__evaluate - what each rule of pool would propose now, without acting or keeping
 * anything (dry run): one event per rule into out (cap), direction SCALE_NONE when its
 * condition does not hold or it changes nothing, with the reason. Returns how many, or -ENOENT
 * for an unknown pool.
 */
int scale__evaluate(struct scale_engine *e, const char *pool, long current, alert_lookup_fn lookup,
		    void *ctx, struct scale_event *out, size_t cap);

/*
 * scale__restore - resumes pool's cooldown after a restart from its last decision ev (from the
 * history): until ev->cooldown_until_ms the pool is not scaled down and not up to ev->desired
 * or less again. Returns 0, or -ENOENT for an unknown pool.
 */
int scale__restore(struct scale_engine *e, const struct scale_event *ev);

/*
 * scale__save - pool's decision state into buf (len bytes) as a blob (blob.h): the
 * recommendations of its stabilisation windows, when it was first seen, its cooldown, last
 * direction and count asked for, and a budget cap, stamped with now_ms. Returns the blob's
 * length, -ENOSPC when len is below scale__state_size(), or -ENOENT for an unknown pool.
 */
size_t scale__state_size(void);
long scale__save(const struct scale_engine *e, const char *pool, int64_t now_ms, void *buf,
		 size_t len);

/*
 * scale__load - resumes a pool from a blob of scale__save() at now_ms (a restart). The
 * cooldown, last decision and budget cap come back as saved, and so do the recommendations, so
 * that a scale-down still takes the highest of its window, those made before the restart
 * included. The time the daemon was down was not watched: when it is longer than a tenth of
 * the pool's down_window, the pool waits a whole window again before it scales down, as a
 * pool first seen. Returns 0, -ENOENT when the blob's pool is not configured, or
 * -EBADMSG / -EPROTO for a blob that is not one (nothing changes).
 */
int scale__load(struct scale_engine *e, const void *buf, size_t len, int64_t now_ms);

/* scale__foreach - calls fn for each configured pool; stops when fn returns != 0. */
void scale__foreach(struct scale_engine *e, int (*fn)(void *ctx, const struct scale_pool_info *p),
		    void *ctx);

/*
 * scale__cap - holds pool at its min_replicas until until_ms (Unix ms): the next tick asks for
 * min_replicas at once, past the stabilisation window and any cooldown (rule
 * "budget_emergency"), once, and no rule scales the pool up before until_ms. Used when the
 * pool's agent spends its daily budget (costing.h). Returns 0, or -ENOENT for a pool that is
 * not configured.
 */
int scale__cap(struct scale_engine *e, const char *pool, int64_t until_ms);

/* scale__pool - the configured pool named name, or NULL. */
const struct scale_pool *scale__pool(const struct scale_engine *e, const char *name);

/*
 * scale__desired - HPA arithmetic for target tracking: ceil(current * value / target), or
 * current when |value / target - 1| <= tolerance; from 0 instances, ceil(value / target).
 * Not clamped. target must be > 0.
 */
uint32_t scale__desired(uint32_t current, double value, double target, double tolerance);

#endif
