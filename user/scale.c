// SPDX-License-Identifier: MIT
/* scale: HPA-style decisions per pool: rules, clamps, priorities, stabilisation, cooldowns. */
#include <ctype.h>
#include <stddef.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blob.h"
#include "scale.h"

const char *const scale_direction_names[3] = {"none", "up", "down"};

/* One tick's recommendation, kept for the stabilisation windows. */
struct rec {
	int64_t t_ms;
	uint32_t n;
	int rule; /* index of the rule that proposed it, -1: none, -2: min clamp, -3: max clamp */
	double value;
};

struct pool_state {
	struct rec recs[SCALE_RECS_MAX]; /* ring, oldest at head */
	uint32_t head, nrecs;
	uint32_t current;
	uint32_t desired;
	bool seen;
	int64_t since_ms; /* first tick the pool was seen, -1 before */
	enum scale_direction last_dir;
	uint32_t last_desired;
	int64_t cooldown_until_ms;
	int64_t capped_until_ms; /* scale__cap(): held at min_replicas until then */
	bool cap_asked; /* the cap's scale-down was sent */
	const char *blocked;
};

struct scale_engine {
	struct scale_params p;
	struct pool_state st[SCALE_POOLS_MAX];
	struct scale_event out[SCALE_POOLS_MAX];
};

uint32_t scale__desired(uint32_t current, double value, double target, double tolerance)
{
	double ratio, d;

	if (!(target > 0) || !isfinite(value) || value < 0)
		return current;
	if (!current) {
		d = ceil(value / target);
		return d > 1e6 ? 1000000 : (uint32_t)d;
	}
	ratio = value / target;
	if (fabs(ratio - 1) <= tolerance)
		return current;
	d = ceil(current * ratio);
	return d > 1e6 ? 1000000 : (uint32_t)d;
}

static void rule(struct scale_rule *r, const char *name, const char *expr, const char *action,
		 int priority)
{
	char err[128];

	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "%s", name);
	snprintf(r->expr_text, sizeof(r->expr_text), "%s", expr);
	snprintf(r->action_text, sizeof(r->action_text), "%s", action);
	r->cooldown_ms = 60000;
	r->priority = priority;
	scale__parse_action(action, r, err, sizeof(err));
	alert__parse_cond(expr, &r->cond, err, sizeof(err));
}

uint32_t scale__rules_default(struct scale_rule *out, uint32_t cap)
{
	static const struct {
		const char *name, *expr, *action;
		int priority;
	} d[] = {
		{"failover", "open_breakers >= 2", "up 2", 100},
		{"latency_high", "p95(request_duration{role=\"client\"}) > 5s", "up 1", 50},
		{"errors_rising", "error_ratio > 0.10 and trend(error_ratio, 5m) > 0", "up 1", 50},
		{"queue_backlog", "queue_length > 100 and p95(queue_wait) > 30s", "up 50%", 50},
		{"load_high", "load > 0.8", "track 0.7", 40},
		{"load_forecast", "forecast(load, 10m) > 0.8 with confidence > 0.7", "up 1", 30},
		{"load_low", "load < 0.3 and quality > 0.8", "down 1", 10},
	};
	uint32_t i;

	for (i = 0; i < cap && i < sizeof(d) / sizeof(d[0]); i++)
		rule(&out[i], d[i].name, d[i].expr, d[i].action, d[i].priority);
	return i;
}

void scale__pool_default(struct scale_pool *p, const char *name)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->min_replicas = 1;
	p->max_replicas = 10;
	p->up_window_ms = 0;
	p->down_window_ms = 300000;
	p->tolerance = 0.1;
	p->cooldown_ms = 60000;
	p->command_timeout_ms = 10000;
	p->nrules = scale__rules_default(p->rules, SCALE_RULES_MAX);
	breaker__params_default(&p->breaker);
	p->routing = WEIGHTS_QUALITY;
}

int scale__parse_action(const char *text, struct scale_rule *r, char *err, size_t errlen)
{
	static const struct {
		const char *w;
		enum scale_action a;
		int sign;
	} verbs[] = {
		{"up", SCALE_BY, 1},
		{"down", SCALE_BY, -1},
		{"to", SCALE_TO, 1},
		{"track", SCALE_TRACK, 1},
	};
	const char *p = text, *num;
	char *end;
	double v;
	size_t i, n;

	while (*p == ' ')
		p++;
	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		n = strlen(verbs[i].w);
		if (!strncmp(p, verbs[i].w, n) && (p[n] == ' ' || p[n] == '\t'))
			break;
	}
	if (i == sizeof(verbs) / sizeof(verbs[0])) {
		snprintf(err, errlen,
			 "1:%d: expected up N, down N, up P%%, down P%%, to N or track TARGET",
			 (int)(p - text) + 1);
		return -EINVAL;
	}
	p += n;
	while (*p == ' ' || *p == '\t')
		p++;
	num = p;
	if (!isdigit((unsigned char)*p) && *p != '.') {
		snprintf(err, errlen, "1:%d: expected a number after \"%s\"", (int)(p - text) + 1,
			 verbs[i].w);
		return -EINVAL;
	}
	v = strtod(p, &end);
	p = end;
	r->action = verbs[i].a;
	if (*p == '%' && verbs[i].a == SCALE_BY) {
		r->action = SCALE_BY_PERCENT;
		p++;
	}
	while (*p == ' ')
		p++;
	if (*p) {
		snprintf(err, errlen, "1:%d: unexpected \"%.20s\" after the action",
			 (int)(p - text) + 1, p);
		return -EINVAL;
	}
	if (!isfinite(v) || v <= 0 || v > 1e6 ||
	    (r->action != SCALE_TRACK && r->action != SCALE_BY_PERCENT && v != floor(v)) ||
	    (r->action == SCALE_BY_PERCENT && v > 1000)) {
		snprintf(err, errlen, "1:%d: %s needs %s", (int)(num - text) + 1, verbs[i].w,
			 r->action == SCALE_TRACK	 ? "a target above 0"
			 : r->action == SCALE_BY_PERCENT ? "a percentage from 0 to 1000"
							 : "a whole number of instances above 0");
		return -EINVAL;
	}
	r->amount = verbs[i].sign * v;
	return 0;
}

struct scale_engine *scale__new(const struct scale_params *p, char *err, size_t errlen)
{
	struct scale_engine *e;
	char why[256];
	uint32_t i, j;

	if (p->npools > SCALE_POOLS_MAX) {
		snprintf(err, errlen, "more than %d pools", SCALE_POOLS_MAX);
		errno = EINVAL;
		return NULL;
	}
	e = calloc(1, sizeof(*e));
	if (!e) {
		errno = ENOMEM;
		return NULL;
	}
	e->p = *p;
	for (i = 0; i < SCALE_POOLS_MAX; i++)
		e->st[i].since_ms = -1;
	for (i = 0; i < e->p.npools; i++) {
		struct scale_pool *pl = &e->p.pools[i];

		if (pl->min_replicas > pl->max_replicas || pl->nrules > SCALE_RULES_MAX) {
			snprintf(err, errlen, "pool \"%s\": min_replicas %u above max_replicas %u",
				 pl->name, pl->min_replicas, pl->max_replicas);
			goto fail;
		}
		for (j = 0; j < pl->nrules; j++) {
			struct scale_rule *r = &pl->rules[j];
			int rc = alert__parse_cond(r->expr_text, &r->cond, why, sizeof(why));

			if (rc == -ENOMEM) {
				free(e);
				errno = ENOMEM;
				return NULL;
			}
			if (rc) {
				snprintf(err, errlen, "pool \"%s\" rule \"%s\": %s", pl->name,
					 r->name, why);
				goto fail;
			}
			if (scale__parse_action(r->action_text, r, why, sizeof(why))) {
				snprintf(err, errlen, "pool \"%s\" rule \"%s\": action: %s",
					 pl->name, r->name, why);
				goto fail;
			}
		}
	}
	return e;
fail:
	free(e);
	errno = EINVAL;
	return NULL;
}

void scale__free(struct scale_engine *e)
{
	free(e);
}

const struct scale_pool *scale__pool(const struct scale_engine *e, const char *name)
{
	uint32_t i;

	for (i = 0; i < e->p.npools; i++)
		if (!strcmp(e->p.pools[i].name, name))
			return &e->p.pools[i];
	return NULL;
}

static uint32_t clamp(const struct scale_pool *p, double n)
{
	if (n < p->min_replicas)
		return p->min_replicas;
	if (n > p->max_replicas)
		return p->max_replicas;
	return (uint32_t)n;
}

static void fmt_num(double v, char *buf, size_t len)
{
	if (!isfinite(v))
		snprintf(buf, len, "absent");
	else
		snprintf(buf, len, "%.4g", v);
}

/*
 * What rule r proposes for a pool of current instances: its clamped count into *n, the
 * condition's first figure into *value, a reason. Returns whether the condition holds.
 */
static bool propose(const struct scale_pool *p, const struct scale_rule *r, uint32_t current,
		    alert_lookup_fn lookup, void *ctx, uint32_t *n, double *value, char *reason,
		    size_t len)
{
	struct alert_value vals[ALERT_TERMS_MAX];
	bool have[ALERT_TERMS_MAX], holds;
	char v[32], t[32];
	double d = current, step;
	int w;

	holds = alert__cond_eval(&r->cond, lookup, ctx, p->name, vals, have, NULL);
	*value = have[0] ? vals[0].value : NAN;
	fmt_num(*value, v, sizeof(v));
	if (!holds) {
		snprintf(reason, len, "%.60s: condition false (%.60s = %s)", r->name,
			 r->cond.term[0].q.name, v);
		*n = current;
		return false;
	}
	switch (r->action) {
	case SCALE_BY:
		d = current + r->amount;
		break;
	case SCALE_BY_PERCENT:
		step = ceil(current * fabs(r->amount) / 100);
		if (step < 1)
			step = 1;
		d = current + (r->amount < 0 ? -step : step);
		break;
	case SCALE_TO:
		d = r->amount;
		break;
	case SCALE_TRACK:
		d = have[0] ? scale__desired(current, *value, r->amount, p->tolerance) : current;
		break;
	}
	if (d < 0)
		d = 0;
	*n = clamp(p, d);
	fmt_num(r->amount, t, sizeof(t));
	/* Long names make the reason shorter, not wrong: the return value says by how much. */
	if (r->action == SCALE_TRACK)
		w = snprintf(reason, len,
			     "%.60s: %.60s = %s, target %s: ceil(%u x %s / %s) = %.0f%s", r->name,
			     r->cond.term[0].q.name, v, t, current, v, t, d,
			     d == current ? " (within the tolerance)" : "");
	else
		w = snprintf(reason, len, "%.60s: %.100s (%.40s = %s): %s", r->name, r->expr_text,
			     r->cond.term[0].q.name, v, r->action_text);
	if (w < 0)
		reason[0] = 0;
	if (*n != (uint32_t)d)
		snprintf(reason + strlen(reason), len - strlen(reason), ", clamped to %u", *n);
	return true;
}

/* The winning proposal of a tick: highest priority that changes the count, largest on ties. */
static struct rec recommend(const struct scale_pool *p, uint32_t current, int64_t now_ms,
			    alert_lookup_fn lookup, void *ctx, char *reason, size_t len)
{
	struct rec best = {now_ms, current, -1, NAN};
	int best_prio = 0;
	char why[SCALE_REASON_MAX];
	uint32_t i, n;
	double v;

	reason[0] = 0;
	for (i = 0; i < p->nrules; i++) {
		const struct scale_rule *r = &p->rules[i];

		if (r->disabled || !propose(p, r, current, lookup, ctx, &n, &v, why, sizeof(why)) ||
		    n == current)
			continue;
		if (best.rule < 0 || r->priority > best_prio ||
		    (r->priority == best_prio && n > best.n)) {
			best.n = n;
			best.rule = (int)i;
			best.value = v;
			best_prio = r->priority;
			snprintf(reason, len, "%s", why);
		}
	}
	if (best.rule < 0 && current < p->min_replicas) {
		best.n = p->min_replicas;
		best.rule = -2;
		snprintf(reason, len, "%u instances, below min_replicas %u", current,
			 p->min_replicas);
	} else if (best.rule < 0 && current > p->max_replicas) {
		best.n = p->max_replicas;
		best.rule = -3;
		snprintf(reason, len, "%u instances, above max_replicas %u", current,
			 p->max_replicas);
	}
	return best;
}

static void remember(struct pool_state *s, const struct rec *r, int64_t keep_ms)
{
	while (s->nrecs &&
	       (s->nrecs == SCALE_RECS_MAX || s->recs[s->head].t_ms < r->t_ms - keep_ms)) {
		s->head = (s->head + 1) % SCALE_RECS_MAX;
		s->nrecs--;
	}
	s->recs[(s->head + s->nrecs) % SCALE_RECS_MAX] = *r;
	s->nrecs++;
}

/* Lowest recommendation within window_ms of now (up), or highest (down): HPA's behaviour. */
static const struct rec *stabilised(const struct pool_state *s, int64_t now_ms, int64_t window_ms,
				    bool lowest)
{
	const struct rec *best = NULL;
	uint32_t i;

	for (i = 0; i < s->nrecs; i++) {
		const struct rec *r = &s->recs[(s->head + i) % SCALE_RECS_MAX];

		if (r->t_ms < now_ms - window_ms)
			continue;
		if (!best || (lowest ? r->n < best->n : r->n > best->n))
			best = r;
	}
	return best;
}

static const char *rule_name(const struct scale_pool *p, int rule)
{
	if (rule >= 0)
		return p->rules[rule].name;
	return rule == -2   ? "min_replicas"
	       : rule == -3 ? "max_replicas"
	       : rule == -4 ? "budget_emergency"
			    : "stabilisation";
}

static void event(struct scale_event *ev, const struct scale_pool *p, const struct rec *r,
		  uint32_t current, uint32_t desired, int64_t now_ms, const char *reason)
{
	memset(ev, 0, sizeof(*ev));
	snprintf(ev->pool, sizeof(ev->pool), "%s", p->name);
	ev->direction = desired > current ? SCALE_UP : desired < current ? SCALE_DOWN : SCALE_NONE;
	ev->current = current;
	ev->desired = desired;
	snprintf(ev->rule, sizeof(ev->rule), "%s", rule_name(p, r->rule));
	if (r->rule >= 0)
		snprintf(ev->metric, sizeof(ev->metric), "%s",
			 p->rules[r->rule].cond.term[0].q.name);
	else
		snprintf(ev->metric, sizeof(ev->metric), "instances");
	ev->value = r->rule >= 0 ? r->value : current;
	snprintf(ev->reason, sizeof(ev->reason), "%s", reason);
	ev->time_ms = now_ms;
	ev->holds = true;
	snprintf(ev->key, sizeof(ev->key), "scale-%.40s-%" PRId64 "-%u", p->name, now_ms, desired);
}

/*
 * A pool under scale__cap(): taken to min_replicas at once (no window, no cooldown: the
 * budget is spent), asked once, and kept from growing until the cap ends.
 */
static bool capped(const struct scale_pool *p, struct pool_state *s, int64_t now_ms,
		   uint32_t current, struct scale_event *ev)
{
	struct rec r = {now_ms, p->min_replicas, -4, NAN};
	char reason[SCALE_REASON_MAX];

	s->current = current;
	s->desired = current > p->min_replicas ? p->min_replicas : current;
	s->blocked = "budget emergency: held at min_replicas until the cap ends";
	if (current <= p->min_replicas || s->cap_asked)
		return false;
	snprintf(reason, sizeof(reason),
		 "budget emergency: the day's budget is spent; %u instances to min_replicas %u, "
		 "no scale-up until %" PRId64 " (Unix ms)",
		 current, p->min_replicas, s->capped_until_ms);
	event(ev, p, &r, current, p->min_replicas, now_ms, reason);
	snprintf(ev->metric, sizeof(ev->metric), "budget_usage_ratio");
	ev->value = NAN;
	ev->cooldown_until_ms = s->capped_until_ms;
	s->cooldown_until_ms = s->capped_until_ms;
	s->last_dir = ev->direction;
	s->last_desired = p->min_replicas;
	s->cap_asked = true;
	return true;
}

int scale__cap(struct scale_engine *e, const char *pool, int64_t until_ms)
{
	uint32_t i;

	for (i = 0; i < e->p.npools; i++)
		if (!strcmp(e->p.pools[i].name, pool)) {
			if (until_ms > e->st[i].capped_until_ms)
				e->st[i].cap_asked = false;
			e->st[i].capped_until_ms = until_ms;
			return 0;
		}
	return -ENOENT;
}

static bool decide(struct scale_engine *e, uint32_t i, int64_t now_ms, uint32_t current,
		   alert_lookup_fn lookup, void *ctx, struct scale_event *ev)
{
	const struct scale_pool *p = &e->p.pools[i];
	struct pool_state *s = &e->st[i];
	const struct rec *up, *down, *by;
	char reason[SCALE_REASON_MAX], why[SCALE_REASON_MAX];
	int64_t keep = p->down_window_ms > p->up_window_ms ? p->down_window_ms : p->up_window_ms;
	struct rec now = recommend(p, current, now_ms, lookup, ctx, reason, sizeof(reason));
	uint32_t desired = current;
	int64_t cooldown;

	if (now_ms < s->capped_until_ms)
		return capped(p, s, now_ms, current, ev);
	remember(s, &now, keep);
	s->current = current;
	s->blocked = "";
	up = stabilised(s, now_ms, p->up_window_ms, true);
	down = stabilised(s, now_ms, p->down_window_ms, false);
	by = NULL;
	if (up && up->n > current) {
		desired = up->n;
		by = up;
	} else if (down && down->n < current && now_ms - s->since_ms >= p->down_window_ms) {
		/* Until the window has been watched in full, what it held is unknown: no down. */
		desired = down->n;
		by = down;
	}
	s->desired = desired;
	if (!by)
		return false;
	if (now_ms < s->cooldown_until_ms) {
		if (desired < current) {
			s->blocked = "cooldown";
			s->desired = current;
			return false;
		}
		if (s->last_dir == SCALE_UP && desired <= s->last_desired) {
			s->blocked = "cooldown: already asked for as many";
			return false;
		}
	}
	if (by != &s->recs[(s->head + s->nrecs - 1) % SCALE_RECS_MAX]) {
		/* A decision stabilised over the window: say so. */
		snprintf(why, sizeof(why), "%s (the %s recommendation of the last %" PRId64 " s)",
			 reason[0] && by->rule == now.rule ? reason : rule_name(p, by->rule),
			 desired > current ? "lowest" : "highest",
			 (desired > current ? p->up_window_ms : p->down_window_ms) / 1000);
		snprintf(reason, sizeof(reason), "%s", why);
	}
	event(ev, p, by, current, desired, now_ms, reason);
	cooldown = by->rule >= 0 ? p->rules[by->rule].cooldown_ms : 60000;
	s->cooldown_until_ms = now_ms + cooldown;
	ev->cooldown_until_ms = s->cooldown_until_ms;
	s->last_dir = ev->direction;
	s->last_desired = desired;
	return true;
}

int scale__tick(struct scale_engine *e, int64_t now_ms,
		long (*current)(void *ctx, const char *pool), alert_lookup_fn lookup, void *ctx,
		const struct scale_event **out, size_t *nout)
{
	uint32_t i;
	size_t n = 0;

	for (i = 0; i < e->p.npools; i++) {
		long c = current(ctx, e->p.pools[i].name);

		e->st[i].seen = c >= 0;
		if (c >= 0 && e->st[i].since_ms < 0)
			e->st[i].since_ms = now_ms;
		if (c < 0) {
			e->st[i].current = 0;
			e->st[i].desired = 0;
			continue;
		}
		if (decide(e, i, now_ms, (uint32_t)c, lookup, ctx, &e->out[n]))
			n++;
	}
	*out = e->out;
	*nout = n;
	return 0;
}

int scale__evaluate(struct scale_engine *e, const char *pool, long current, alert_lookup_fn lookup,
		    void *ctx, struct scale_event *out, size_t cap)
{
	const struct scale_pool *p = scale__pool(e, pool);
	uint32_t i, n, cur = current < 0 ? 0 : (uint32_t)current;
	size_t k = 0;

	if (!p)
		return -ENOENT;
	for (i = 0; i < p->nrules && k < cap; i++) {
		const struct scale_rule *r = &p->rules[i];
		struct rec rc = {0, 0, (int)i, NAN};
		char why[SCALE_REASON_MAX];
		bool holds;

		if (r->disabled)
			continue;
		holds = propose(p, r, cur, lookup, ctx, &n, &rc.value, why, sizeof(why));
		rc.n = holds ? n : cur;
		event(&out[k], p, &rc, cur, rc.n, 0, why);
		out[k].value = rc.value;
		out[k].holds = holds;
		k++;
	}
	return (int)k;
}

int scale__restore(struct scale_engine *e, const struct scale_event *ev)
{
	uint32_t i;

	for (i = 0; i < e->p.npools; i++) {
		if (strcmp(e->p.pools[i].name, ev->pool))
			continue;
		e->st[i].cooldown_until_ms = ev->cooldown_until_ms;
		e->st[i].last_dir = ev->direction;
		e->st[i].last_desired = ev->desired;
		return 0;
	}
	return -ENOENT;
}

#define SAVED_MAGIC 0x43535753u /* "SWSC" */
#define SAVED_VERSION 1u

/* A pool's saved state: the header, then nrecs recommendations, oldest first. */
struct saved {
	char pool[SCALE_NAME_MAX];
	int64_t saved_ms;
	int64_t since_ms;
	int64_t cooldown_until_ms;
	int64_t capped_until_ms;
	uint32_t last_dir;
	uint32_t last_desired;
	uint32_t cap_asked;
	uint32_t nrecs;
	struct rec recs[SCALE_RECS_MAX];
};

size_t scale__state_size(void)
{
	return blob__size(sizeof(struct saved));
}

long scale__save(const struct scale_engine *e, const char *pool, int64_t now_ms, void *buf,
		 size_t len)
{
	const struct pool_state *s;
	struct saved *v;
	uint32_t i, k;
	long n;

	for (i = 0; i < e->p.npools; i++)
		if (!strcmp(e->p.pools[i].name, pool))
			break;
	if (i == e->p.npools)
		return -ENOENT;
	s = &e->st[i];
	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	snprintf(v->pool, sizeof(v->pool), "%s", pool);
	v->saved_ms = now_ms;
	v->since_ms = s->since_ms;
	v->cooldown_until_ms = s->cooldown_until_ms;
	v->capped_until_ms = s->capped_until_ms;
	v->last_dir = s->last_dir;
	v->last_desired = s->last_desired;
	v->cap_asked = s->cap_asked;
	v->nrecs = s->nrecs;
	for (k = 0; k < s->nrecs; k++)
		v->recs[k] = s->recs[(s->head + k) % SCALE_RECS_MAX];
	/* Only the recommendations kept are written: the blob's size says how many. */
	n = blob__save(buf, len, SAVED_MAGIC, SAVED_VERSION, v,
		       offsetof(struct saved, recs) + s->nrecs * sizeof(struct rec));
	free(v);
	return n;
}

int scale__load(struct scale_engine *e, const void *buf, size_t len, int64_t now_ms)
{
	size_t head = offsetof(struct saved, recs), size;
	const struct scale_pool *p;
	const unsigned char *b;
	struct pool_state *s;
	struct saved *v;
	uint32_t i, k;
	int err;

	if (len < blob__size(head) || len > blob__size(sizeof(*v)))
		return -EBADMSG;
	size = len - blob__size(0);
	err = blob__open(buf, len, SAVED_MAGIC, SAVED_VERSION, size, (const void **)&b);
	if (err)
		return err;
	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	memcpy(v, b, size);
	err = -EBADMSG;
	if (memchr(v->pool, 0, sizeof(v->pool)) == NULL || v->nrecs > SCALE_RECS_MAX ||
	    size != head + v->nrecs * sizeof(struct rec) || v->last_dir > SCALE_DOWN)
		goto out;
	for (k = 0; k < v->nrecs; k++)
		if (v->recs[k].rule < -5 || v->recs[k].rule >= SCALE_RULES_MAX ||
		    (k && v->recs[k].t_ms < v->recs[k - 1].t_ms))
			goto out;
	err = -ENOENT;
	for (i = 0; i < e->p.npools; i++)
		if (!strcmp(e->p.pools[i].name, v->pool))
			break;
	if (i == e->p.npools)
		goto out;
	p = &e->p.pools[i];
	s = &e->st[i];
	for (k = 0; k < v->nrecs; k++)
		if (v->recs[k].rule >= (int)p->nrules)
			v->recs[k].rule = -5; /* a rule no longer configured: "stabilisation" */
	s->head = 0;
	s->nrecs = v->nrecs;
	memcpy(s->recs, v->recs, v->nrecs * sizeof(struct rec));
	s->cooldown_until_ms = v->cooldown_until_ms;
	s->capped_until_ms = v->capped_until_ms;
	s->cap_asked = v->cap_asked;
	s->last_dir = (enum scale_direction)v->last_dir;
	s->last_desired = v->last_desired;
	/* Down for longer than a tenth of the window: what it would have recommended is unknown. */
	if (v->since_ms >= 0 && now_ms - v->saved_ms <= p->down_window_ms / 10)
		s->since_ms = v->since_ms;
	else
		s->since_ms = -1; /* set at the next tick that sees the pool */
	err = 0;
out:
	free(v);
	return err;
}

void scale__foreach(struct scale_engine *e, int (*fn)(void *ctx, const struct scale_pool_info *p),
		    void *ctx)
{
	uint32_t i;

	for (i = 0; i < e->p.npools; i++) {
		const struct scale_pool *p = &e->p.pools[i];
		const struct pool_state *s = &e->st[i];
		struct scale_pool_info info = {
			.pool = p->name,
			.current = s->current,
			.desired = s->seen ? s->desired : 0,
			.min_replicas = p->min_replicas,
			.max_replicas = p->max_replicas,
			.cooldown_until_ms = s->cooldown_until_ms,
			.seen = s->seen,
			.blocked = s->blocked ? s->blocked : "",
		};

		if (fn(ctx, &info))
			return;
	}
}
