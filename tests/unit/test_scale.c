// SPDX-License-Identifier: MIT
/*
 * Scaling: the compound condition language (and/or, trend(), forecast(), with confidence) and
 * its line:column errors, actions, HPA arithmetic and tolerance, clamps, priorities,
 * stabilisation windows and cooldowns. Time is driven by the test.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scale.h"

#define T0 1764529200000LL /* 2025-11-30T19:00:00Z */
#define S 1000LL

/* What the lookup answers, by figure name; NAN = absent. */
struct world {
	double load, quality, queue, fc_mean, fc_sd, breakers;
	long current; /* -1: the agent is not seen */
};

static int lookup(void *ctx, const struct alert_query *q, const char *agent,
		  struct alert_value *out)
{
	struct world *w = ctx;
	double v = NAN;

	(void)agent;
	if (q->fn == ALERT_FN_FORECAST && !strcmp(q->name, "load")) {
		v = w->fc_mean;
		out->sd = w->fc_sd;
	} else if (q->fn != ALERT_FN_VALUE) {
		return -ENOENT;
	} else if (!strcmp(q->name, "load")) {
		v = w->load;
	} else if (!strcmp(q->name, "quality")) {
		v = w->quality;
	} else if (!strcmp(q->name, "queue_length")) {
		v = w->queue;
	} else if (!strcmp(q->name, "open_breakers")) {
		v = w->breakers;
	}
	if (isnan(v))
		return -ENOENT;
	out->value = v;
	return 0;
}

static long current(void *ctx, const char *pool)
{
	(void)pool;
	return ((struct world *)ctx)->current;
}

static void world_init(struct world *w)
{
	w->load = NAN;
	w->quality = NAN;
	w->queue = NAN;
	w->fc_mean = NAN;
	w->fc_sd = 0;
	w->breakers = 0;
	w->current = 2;
}

/* A pool "p" with the given rules (name, expr, action, priority), cooldown 60 s. */
static struct scale_engine *engine(uint32_t min, uint32_t max, int n, const char *const *rules)
{
	struct scale_params *p = calloc(1, sizeof(*p));
	struct scale_engine *e;
	char err[256] = "";
	int i;

	assert_non_null(p);
	scale__pool_default(&p->pools[0], "p");
	p->npools = 1;
	p->pools[0].min_replicas = min;
	p->pools[0].max_replicas = max;
	p->pools[0].nrules = (uint32_t)n;
	for (i = 0; i < n; i++) {
		struct scale_rule *r = &p->pools[0].rules[i];

		memset(r, 0, sizeof(*r));
		snprintf(r->name, sizeof(r->name), "%s", rules[4 * i]);
		snprintf(r->expr_text, sizeof(r->expr_text), "%s", rules[4 * i + 1]);
		snprintf(r->action_text, sizeof(r->action_text), "%s", rules[4 * i + 2]);
		r->priority = atoi(rules[4 * i + 3]);
		r->cooldown_ms = 60 * S;
	}
	e = scale__new(p, err, sizeof(err));
	if (!e)
		fail_msg("scale__new: %s", err);
	free(p);
	return e;
}

/* One tick: the single event's desired count, or 0 when there was none. */
static uint32_t tick(struct scale_engine *e, int64_t now, struct world *w,
		     const struct scale_event **ev)
{
	const struct scale_event *out;
	size_t n = 9;

	assert_int_equal(scale__tick(e, now, current, lookup, w, &out, &n), 0);
	assert_true(n <= 1);
	if (ev)
		*ev = n ? &out[0] : NULL;
	return n ? out[0].desired : 0;
}

static void expect_error(const char *text, const char *where, const char *what)
{
	struct alert_cond c;
	char err[256];

	assert_int_equal(alert__parse_cond(text, &c, err, sizeof(err)), -EINVAL);
	if (strncmp(err, where, strlen(where)) || !strstr(err, what))
		fail_msg("\"%s\": got \"%s\", want \"%s ... %s\"", text, err, where, what);
}

static void test_parse_cond(void **state)
{
	struct alert_cond c;
	struct alert_expr x;
	char err[256];

	(void)state;
	assert_int_equal(alert__parse_cond("error_ratio > 0.10 and trend(error_ratio, 5m) > 0", &c,
					   err, sizeof(err)),
			 0);
	assert_int_equal(c.n, 2);
	assert_false(c.or_next[0]);
	assert_int_equal(c.term[1].q.fn, ALERT_FN_TREND);
	assert_int_equal(c.term[1].q.window_ms, 300 * S);
	assert_string_equal(c.term[1].q.name, "error_ratio");

	assert_int_equal(alert__parse_cond("forecast(load, 10m) > 0.8 with confidence > 0.7", &c,
					   err, sizeof(err)),
			 0);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.term[0].q.fn, ALERT_FN_FORECAST);
	assert_int_equal(c.term[0].q.window_ms, 600 * S);
	assert_true(c.term[0].with_confidence);
	assert_true(fabs(c.term[0].min_confidence - 0.7) < 1e-12);

	assert_int_equal(alert__parse_cond("p95(request_duration) > 5s or queue_length > 100\n"
					   "  and p95(queue_wait) > 30s",
					   &c, err, sizeof(err)),
			 0);
	assert_int_equal(c.n, 3);
	assert_true(c.or_next[0]);
	assert_false(c.or_next[1]);
	assert_true(fabs(c.term[2].threshold - 30) < 1e-12);
	assert_int_equal(alert__parse_cond("trend(rate(requests{role=\"client\"}), 5m) > 0 and "
					   "forecast(p95(request_duration), 10m) > 5s",
					   &c, err, sizeof(err)),
			 0);
	assert_int_equal(c.term[0].q.fn, ALERT_FN_TREND);
	assert_int_equal(c.term[0].q.inner, ALERT_FN_RATE);
	assert_string_equal(c.term[0].q.name, "requests");
	assert_int_equal(c.term[0].q.nm, 1);
	assert_int_equal(c.term[1].q.fn, ALERT_FN_FORECAST);
	assert_int_equal(c.term[1].q.inner, ALERT_FN_QUANTILE);
	assert_true(fabs(c.term[1].q.inner_q - 0.95) < 1e-12);
	assert_int_equal(alert__parse_cond("open_breakers >= 2", &c, err, sizeof(err)), 0);
	assert_int_equal(c.term[0].cmp, ALERT_GE);

	/* Errors name their place. */
	expect_error("load > 0.8 an quality > 1", "1:12:", "expected \"and\", \"or\"");
	expect_error("load > 0.8 and", "1:15:", "expected a name");
	expect_error("trend(load) > 0", "1:11:", "expected , and a duration");
	expect_error("trend(load, 0s) > 0", "1:13:", "from 1s to 1d");
	expect_error("forecast(load, 10m) > 0.8 with confidence > 2", "1:45:", "from 0 to 1");
	expect_error("forecast(load, 10m) > 0.8 with trust > 0.5", "1:32:", "\"confidence\"");
	expect_error("load > 0.8 and\n  nosuch(load) > 1", "2:3:", "unknown function");
	expect_error("load", "1:5:", "expected a comparison");
	expect_error("trend(anomaly(x), 5m) > 0", "1:7:", "not anomaly()");
	expect_error("forecast(rate(x, 5m) > 0", "1:16:", "expected ) to close");
	expect_error("a > 1 and b > 1 and c > 1 and d > 1 and e > 1 and f > 1 and g > 1 and h > 1 "
		     "and i > 1",
		     "1:", "more than 8");
	/* Alert rules keep their own language: no trend() there. */
	assert_int_equal(alert__parse_expr("trend(load, 5m) > 0", &x, err, sizeof(err)), -EINVAL);
	assert_int_equal(alert__parse_expr("load > 0.8 and load > 0.9", &x, err, sizeof(err)),
			 -EINVAL);
}

static void test_cond_eval(void **state)
{
	struct alert_cond c;
	struct world w;
	char err[256];

	(void)state;
	world_init(&w);
	/* "and" binds first: false and true or true = true. */
	assert_int_equal(alert__parse_cond("load > 0.8 and quality > 0.5 or queue_length > 10", &c,
					   err, sizeof(err)),
			 0);
	w.load = 0.5;
	w.quality = 0.9;
	w.queue = 20;
	assert_true(alert__cond_eval(&c, lookup, &w, "p", NULL, NULL, NULL));
	w.queue = 5;
	assert_false(alert__cond_eval(&c, lookup, &w, "p", NULL, NULL, NULL));
	w.load = 0.9;
	assert_true(alert__cond_eval(&c, lookup, &w, "p", NULL, NULL, NULL));
	/* An absent figure makes its comparison false. */
	w.quality = NAN;
	assert_false(alert__cond_eval(&c, lookup, &w, "p", NULL, NULL, NULL));
}

static void test_forecast_confidence(void **state)
{
	struct alert_expr x;
	struct alert_value v = {.confidence = 1};
	char err[256];
	double conf;

	(void)state;
	{
		struct alert_cond c;

		assert_int_equal(
			alert__parse_cond("forecast(load, 10m) > 0.8 with confidence > 0.7", &c,
					  err, sizeof(err)),
			0);
		x = c.term[0];
	}
	/* Mean 1.0, sd 0.1: P(X > 0.8) = Phi(2) = 0.977. */
	v.value = 1.0;
	v.sd = 0.1;
	assert_true(alert__expr_holds(&x, &v, true, &conf));
	assert_true(fabs(conf - 0.97725) < 1e-4);
	/* Mean 0.85, sd 0.2: P = Phi(0.25) = 0.599, not above 0.7 although the mean is. */
	v.value = 0.85;
	v.sd = 0.2;
	assert_false(alert__expr_holds(&x, &v, true, &conf));
	assert_true(fabs(conf - 0.59871) < 1e-4);
	/* Mean below the threshold never holds. */
	v.value = 0.7;
	v.sd = 0.01;
	assert_false(alert__expr_holds(&x, &v, true, NULL));
	assert_false(alert__expr_holds(&x, &v, false, NULL));
}

static void test_hpa_arithmetic(void **state)
{
	(void)state;
	/* ceil(current * value / target). */
	assert_int_equal(scale__desired(3, 0.9, 0.6, 0.1), 5); /* ratio 1.5: 4.5 -> 5 */
	assert_int_equal(scale__desired(3, 0.3, 0.6, 0.1), 2); /* ratio 0.5: 1.5 -> 2 */
	assert_int_equal(scale__desired(4, 0.6, 0.6, 0.1), 4);
	/* Within 10 %: no change, both ways; just outside: a change. */
	assert_int_equal(scale__desired(3, 0.65, 0.6, 0.1), 3); /* 1.083 */
	assert_int_equal(scale__desired(3, 0.55, 0.6, 0.1), 3); /* 0.917 */
	assert_int_equal(scale__desired(3, 0.67, 0.6, 0.1), 4); /* 1.117: 3.35 -> 4 */
	assert_int_equal(scale__desired(10, 0.53, 0.6, 0.1), 9); /* 0.883: 8.83 -> 9 */
	assert_int_equal(scale__desired(3, 0.67, 0.6, 0.2), 3); /* a wider tolerance */
	/* From no instances: ceil(value / target). */
	assert_int_equal(scale__desired(0, 1.3, 0.6, 0.1), 3);
	/* Garbage in: no change. */
	assert_int_equal(scale__desired(3, NAN, 0.6, 0.1), 3);
	assert_int_equal(scale__desired(3, 0.9, 0, 0.1), 3);
}

static void test_parse_action(void **state)
{
	struct scale_rule r;
	char err[128];

	(void)state;
	assert_int_equal(scale__parse_action("up 2", &r, err, sizeof(err)), 0);
	assert_int_equal(r.action, SCALE_BY);
	assert_true(r.amount == 2);
	assert_int_equal(scale__parse_action("down 25%", &r, err, sizeof(err)), 0);
	assert_int_equal(r.action, SCALE_BY_PERCENT);
	assert_true(r.amount == -25);
	assert_int_equal(scale__parse_action("to 4", &r, err, sizeof(err)), 0);
	assert_int_equal(r.action, SCALE_TO);
	assert_int_equal(scale__parse_action("track 0.6", &r, err, sizeof(err)), 0);
	assert_int_equal(r.action, SCALE_TRACK);
	assert_true(r.amount == 0.6);
	assert_int_equal(scale__parse_action("grow 2", &r, err, sizeof(err)), -EINVAL);
	assert_string_equal(err,
			    "1:1: expected up N, down N, up P%, down P%, to N or track TARGET");
	assert_int_equal(scale__parse_action("up x", &r, err, sizeof(err)), -EINVAL);
	assert_true(!strncmp(err, "1:4:", 4));
	assert_int_equal(scale__parse_action("up 1.5", &r, err, sizeof(err)), -EINVAL);
	assert_true(!strncmp(err, "1:4:", 4) && strstr(err, "whole number"));
	assert_int_equal(scale__parse_action("to 0", &r, err, sizeof(err)), -EINVAL);
	assert_int_equal(scale__parse_action("up 2 now", &r, err, sizeof(err)), -EINVAL);
	assert_true(!strncmp(err, "1:6:", 4));
}

static const char *const track_rules[] = {"cpu", "load > 0.7", "track 0.6", "0"};

static void test_up_now_and_clamp(void **state)
{
	struct scale_engine *e = engine(1, 4, 1, track_rules);
	const struct scale_event *ev;
	struct world w;

	(void)state;
	world_init(&w);
	w.current = 3;
	w.load = 0.9; /* ceil(3 * 0.9 / 0.6) = 5, clamped to 4 */
	assert_int_equal(tick(e, T0, &w, &ev), 4);
	assert_int_equal(ev->direction, SCALE_UP);
	assert_int_equal(ev->current, 3);
	assert_string_equal(ev->rule, "cpu");
	assert_string_equal(ev->metric, "load");
	assert_true(ev->value == 0.9);
	assert_non_null(strstr(ev->reason, "clamped to 4"));
	assert_int_equal(ev->cooldown_until_ms, T0 + 60 * S);
	assert_string_equal(ev->key, "scale-p-1764529200000-4");
	scale__free(e);
}

static void test_cooldown(void **state)
{
	struct scale_engine *e = engine(1, 10, 1, track_rules);
	struct world w;

	(void)state;
	world_init(&w);
	w.current = 2;
	w.load = 0.9; /* 2 -> 3 */
	assert_int_equal(tick(e, T0, &w, NULL), 3);
	/* The instance is not there yet: asking again for 3 waits out the cooldown. */
	assert_int_equal(tick(e, T0 + 15 * S, &w, NULL), 0);
	/* A larger need goes through the cooldown: ceil(2 * 1.5 / 0.6) = 5. */
	w.load = 1.5;
	assert_int_equal(tick(e, T0 + 30 * S, &w, NULL), 5);
	/* After the cooldown, the same need is asked again. */
	w.current = 2;
	assert_int_equal(tick(e, T0 + 45 * S, &w, NULL), 0);
	assert_int_equal(tick(e, T0 + 91 * S, &w, NULL), 5);
	scale__free(e);
}

static const char *const down_rules[] = {"idle", "load < 0.3", "down 1", "0",
					 "hot",	 "load > 0.9", "up 1",	 "0"};

static void test_stabilisation(void **state)
{
	struct scale_engine *e = engine(1, 10, 2, down_rules);
	const struct scale_event *ev;
	struct world w;
	int64_t t;

	(void)state;
	world_init(&w);
	w.current = 4;
	w.load = 0.5; /* neither rule */
	for (t = 0; t <= 300 * S; t += 15 * S)
		assert_int_equal(tick(e, T0 + t, &w, NULL), 0);
	/* Idle from 315 s on: the window still holds 4s until 615 s. */
	w.load = 0.1;
	for (t = 315 * S; t < 615 * S; t += 15 * S)
		assert_int_equal(tick(e, T0 + t, &w, NULL), 0);
	assert_int_equal(tick(e, T0 + 615 * S, &w, &ev), 3);
	assert_int_equal(ev->direction, SCALE_DOWN);
	assert_string_equal(ev->rule, "idle");
	/* One busy tick inside the next window holds the next step down back. */
	w.current = 3;
	w.load = 0.5;
	assert_int_equal(tick(e, T0 + 630 * S, &w, NULL), 0);
	w.load = 0.1;
	for (t = 645 * S; t < 930 * S; t += 15 * S)
		assert_int_equal(tick(e, T0 + t, &w, NULL), 0);
	/* At 945 s the busy tick of 630 s has left the window. */
	assert_int_equal(tick(e, T0 + 945 * S, &w, NULL), 2);
	/* Scaling up is not stabilised (0 s): at once, even in the down cooldown. */
	w.current = 2;
	w.load = 0.95;
	assert_int_equal(tick(e, T0 + 950 * S, &w, &ev), 3);
	assert_int_equal(ev->direction, SCALE_UP);
	scale__free(e);
}

/* A spent budget: straight to min_replicas, once, and no growth until the cap ends. */
static void test_budget_cap(void **state)
{
	struct scale_engine *e = engine(1, 10, 2, down_rules);
	const struct scale_event *ev;
	struct world w;

	(void)state;
	world_init(&w);
	w.current = 4;
	w.load = 0.95; /* "hot" wants 5 */
	assert_int_equal(tick(e, T0, &w, &ev), 5);
	w.current = 5;
	assert_int_equal(scale__cap(e, "nosuch", T0 + 600 * S), -ENOENT);
	assert_int_equal(scale__cap(e, "p", T0 + 600 * S), 0);
	/* Within the up cooldown and before any down window was watched: at once. */
	assert_int_equal(tick(e, T0 + 10 * S, &w, &ev), 1);
	assert_int_equal(ev->direction, SCALE_DOWN);
	assert_string_equal(ev->rule, "budget_emergency");
	assert_string_equal(ev->metric, "budget_usage_ratio");
	assert_int_equal(ev->cooldown_until_ms, T0 + 600 * S);
	assert_non_null(strstr(ev->reason, "budget"));
	/* Asked once: not again while the instances go, and never up while the load is high. */
	assert_int_equal(tick(e, T0 + 20 * S, &w, NULL), 0);
	w.current = 1;
	assert_int_equal(tick(e, T0 + 30 * S, &w, NULL), 0);
	assert_int_equal(tick(e, T0 + 590 * S, &w, NULL), 0);
	/* The cap over (the next day): the rules act again. */
	assert_int_equal(tick(e, T0 + 600 * S, &w, &ev), 2);
	assert_string_equal(ev->rule, "hot");
	scale__free(e);
}

static void test_no_down_before_window(void **state)
{
	struct scale_engine *e = engine(1, 10, 2, down_rules);
	struct world w;
	int64_t t;

	(void)state;
	world_init(&w);
	w.current = 4;
	w.load = 0.1;
	/* Just started: the last 300 s are unknown, so no step down before they are watched. */
	for (t = 0; t < 300 * S; t += 10 * S)
		assert_int_equal(tick(e, T0 + t, &w, NULL), 0);
	assert_int_equal(tick(e, T0 + 300 * S, &w, NULL), 3);
	/* And the down cooldown holds the next step. */
	w.current = 3;
	assert_int_equal(tick(e, T0 + 330 * S, &w, NULL), 0);
	scale__free(e);
}

static void test_priority(void **state)
{
	static const char *const rules[] = {
		"big",	    "queue_length > 100", "up 3",   "10",
		"failover", "open_breakers >= 2", "to 6",   "100",
		"more",	    "queue_length > 50",  "up 50%", "10",
	};
	struct scale_engine *e = engine(1, 20, 3, rules);
	const struct scale_event *ev;
	struct world w;

	(void)state;
	world_init(&w);
	w.current = 4;
	w.queue = 200;
	/* Equal priority: the larger count wins (4 + 3 = 7 over 4 + 2 = 6). */
	assert_int_equal(tick(e, T0, &w, &ev), 7);
	assert_string_equal(ev->rule, "big");
	scale__free(e);

	e = engine(1, 20, 3, rules);
	/* A higher priority wins even with a smaller count. */
	w.breakers = 2;
	assert_int_equal(tick(e, T0, &w, &ev), 6);
	assert_string_equal(ev->rule, "failover");
	scale__free(e);

	e = engine(1, 20, 3, rules);
	/* A higher-priority rule that changes nothing leaves the choice to the others. */
	w.current = 6;
	assert_int_equal(tick(e, T0, &w, &ev), 9);
	assert_string_equal(ev->rule, "big");
	scale__free(e);
}

static void test_min_max_and_unseen(void **state)
{
	struct scale_engine *e = engine(2, 5, 1, track_rules);
	const struct scale_event *ev;
	struct world w;

	(void)state;
	world_init(&w);
	/* Not seen: left alone. */
	w.current = -1;
	assert_int_equal(tick(e, T0, &w, NULL), 0);
	/* Below min_replicas with no rule holding: raised to it. */
	w.current = 1;
	assert_int_equal(tick(e, T0 + S, &w, &ev), 2);
	assert_string_equal(ev->rule, "min_replicas");
	scale__free(e);
	e = engine(2, 5, 1, track_rules);
	/* Above max_replicas: lowered once the down window was watched. */
	w.current = 8;
	assert_int_equal(tick(e, T0, &w, NULL), 0);
	assert_int_equal(tick(e, T0 + 300 * S, &w, &ev), 5);
	assert_string_equal(ev->rule, "max_replicas");
	scale__free(e);
}

static void test_percent_and_evaluate(void **state)
{
	static const char *const rules[] = {
		"backlog",   "queue_length > 100",
		"up 50%",    "0",
		"calm",	     "load < 0.3 and quality > 0.8",
		"down 10%",  "0",
		"cpu",	     "load > 0.7",
		"track 0.6", "0",
	};
	struct scale_engine *e = engine(1, 20, 3, rules);
	struct scale_event out[4];
	struct world w;
	int n;

	(void)state;
	world_init(&w);
	w.current = 5;
	w.queue = 150;
	w.load = 0.2;
	w.quality = 0.9;
	n = scale__evaluate(e, "p", 5, lookup, &w, out, 4);
	assert_int_equal(n, 3);
	assert_true(out[0].holds);
	assert_int_equal(out[0].desired, 8); /* 5 + ceil(2.5) */
	assert_true(out[1].holds);
	assert_int_equal(out[1].desired, 4); /* at least one instance */
	assert_false(out[2].holds);
	assert_int_equal(out[2].desired, 5);
	assert_non_null(strstr(out[2].reason, "condition false"));
	assert_int_equal(scale__evaluate(e, "nosuch", 5, lookup, &w, out, 4), -ENOENT);
	/* A dry run keeps nothing: the next tick decides as if it had not happened. */
	assert_int_equal(tick(e, T0, &w, NULL), 8);
	scale__free(e);
}

/* After a restart, the last decision's cooldown still holds. */
static void test_restore(void **state)
{
	struct scale_engine *e = engine(1, 10, 1, track_rules);
	struct scale_event ev = {.pool = "p", .direction = SCALE_UP, .current = 2, .desired = 3};
	struct world w;

	(void)state;
	world_init(&w);
	ev.cooldown_until_ms = T0 + 30 * S;
	assert_int_equal(scale__restore(e, &ev), 0);
	w.current = 2;
	w.load = 0.9; /* asks for 3 again: already asked for */
	assert_int_equal(tick(e, T0, &w, NULL), 0);
	assert_int_equal(tick(e, T0 + 31 * S, &w, NULL), 3);
	snprintf(ev.pool, sizeof(ev.pool), "nosuch");
	assert_int_equal(scale__restore(e, &ev), -ENOENT);
	scale__free(e);
}

static int until_of(void *ctx, const struct scale_pool_info *p)
{
	*(int64_t *)ctx = p->cooldown_until_ms;
	return 1;
}

/* The cooldown of e's first pool. */
static int64_t cooldown_of(struct scale_engine *e)
{
	int64_t until = -1;

	scale__foreach(e, until_of, &until);
	return until;
}

/* e's pool "p" saved at now into a new engine of the same rules, loaded at later. */
static struct scale_engine *reload(struct scale_engine *e, int nrules, const char *const *rules,
				   int64_t now, int64_t later)
{
	size_t cap = scale__state_size();
	unsigned char *buf = malloc(cap);
	struct scale_engine *e2 = engine(1, 10, nrules, rules);
	long n;

	assert_non_null(buf);
	n = scale__save(e, "p", now, buf, cap);
	assert_true(n > 0 && (size_t)n <= cap);
	assert_int_equal(scale__load(e2, buf, (size_t)n, later), 0);
	free(buf);
	return e2;
}

/*
 * Saved and loaded (a restart), a pool goes on as if it had not stopped: the windows keep the
 * recommendations made before, the cooldown and the budget cap hold. After a long stop the
 * down window is watched again in full.
 */
static void test_save_load(void **state)
{
	struct scale_engine *e = engine(1, 10, 2, down_rules), *e2, *e3;
	size_t cap = scale__state_size();
	unsigned char *buf = malloc(cap);
	const struct scale_event *ev;
	struct world w;
	int64_t t;
	long n;

	(void)state;
	assert_non_null(buf);
	world_init(&w);
	w.current = 4;
	w.load = 0.5;
	for (t = 0; t <= 300 * S; t += 15 * S)
		assert_int_equal(tick(e, T0 + t, &w, NULL), 0);
	w.load = 0.1;
	for (t = 315 * S; t <= 450 * S; t += 15 * S)
		assert_int_equal(tick(e, T0 + t, &w, NULL), 0);
	/* Stopped at 450 s, back 5 s later: the 4s of 300 s and before still hold until 600 s. */
	e2 = reload(e, 2, down_rules, T0 + 450 * S, T0 + 455 * S);
	for (t = 455 * S; t <= 600 * S; t += 15 * S)
		assert_int_equal(tick(e2, T0 + t, &w, NULL), 0);
	assert_int_equal(tick(e2, T0 + 605 * S, &w, &ev), 3);
	assert_string_equal(ev->rule, "idle");
	/* Back after 100 s (more than a tenth of the window): a whole window from then. */
	e3 = reload(e, 2, down_rules, T0 + 450 * S, T0 + 550 * S);
	for (t = 550 * S; t < 850 * S; t += 15 * S)
		assert_int_equal(tick(e3, T0 + t, &w, NULL), 0);
	assert_int_equal(tick(e3, T0 + 850 * S, &w, NULL), 3);
	/* The cooldown of e2's decision comes back with the next restart. */
	scale__free(e3);
	e3 = reload(e2, 2, down_rules, T0 + 605 * S, T0 + 610 * S);
	assert_int_equal(cooldown_of(e3), T0 + 665 * S);
	assert_int_equal(cooldown_of(e2), T0 + 665 * S);
	scale__free(e3);
	scale__free(e2);
	scale__free(e);

	/* A budget cap asked for before the restart is not asked again, nor lifted. */
	e = engine(1, 10, 2, down_rules);
	w.current = 5;
	w.load = 0.95;
	assert_int_equal(scale__cap(e, "p", T0 + 600 * S), 0);
	assert_int_equal(tick(e, T0, &w, &ev), 1);
	e2 = reload(e, 2, down_rules, T0, T0 + 3 * S);
	assert_int_equal(tick(e2, T0 + 5 * S, &w, NULL), 0);
	w.current = 1;
	assert_int_equal(tick(e2, T0 + 590 * S, &w, NULL), 0);
	assert_int_equal(tick(e2, T0 + 600 * S, &w, NULL), 2);
	scale__free(e2);
	scale__free(e);

	/* An up cooldown: the count asked for is not asked again until it ends. */
	e = engine(1, 10, 1, track_rules);
	w.current = 2;
	w.load = 0.9;
	assert_int_equal(tick(e, T0, &w, NULL), 3);
	e2 = reload(e, 1, track_rules, T0, T0 + 2 * S);
	assert_int_equal(tick(e2, T0 + 15 * S, &w, NULL), 0);
	assert_int_equal(tick(e2, T0 + 61 * S, &w, NULL), 3);
	scale__free(e2);

	/* Blobs that are not one, and a pool not configured. */
	n = scale__save(e, "p", T0, buf, cap);
	assert_true(n > 0);
	assert_int_equal(scale__save(e, "nosuch", T0, buf, cap), -ENOENT);
	assert_int_equal(scale__save(e, "p", T0, buf, 8), -ENOSPC);
	e2 = engine(1, 10, 1, track_rules);
	assert_int_equal(scale__load(e2, buf, (size_t)n - 1, T0), -EBADMSG);
	assert_int_equal(scale__load(e2, buf, 3, T0), -EBADMSG);
	buf[n / 2] ^= 1;
	assert_int_not_equal(scale__load(e2, buf, (size_t)n, T0), 0);
	buf[n / 2] ^= 1;
	scale__free(e2);
	{
		struct scale_params *p = calloc(1, sizeof(*p));
		char err[128];

		assert_non_null(p);
		scale__pool_default(&p->pools[0], "q");
		p->npools = 1;
		e2 = scale__new(p, err, sizeof(err));
		assert_non_null(e2);
		assert_int_equal(scale__load(e2, buf, (size_t)n, T0), -ENOENT);
		scale__free(e2);
		free(p);
	}
	scale__free(e);
	free(buf);
}

static void test_defaults_parse(void **state)
{
	struct scale_rule r[SCALE_RULES_MAX];
	struct scale_params *p = calloc(1, sizeof(*p));
	struct scale_engine *e;
	char err[256] = "";
	uint32_t n, i;

	(void)state;
	n = scale__rules_default(r, SCALE_RULES_MAX);
	assert_int_equal(n, 7);
	for (i = 0; i < n; i++)
		assert_true(r[i].cond.n >= 1);
	scale__pool_default(&p->pools[0], "coder");
	p->npools = 1;
	e = scale__new(p, err, sizeof(err));
	if (!e)
		fail_msg("%s", err);
	scale__free(e);
	/* A bad rule is named with its place. */
	snprintf(p->pools[0].rules[0].expr_text, sizeof(p->pools[0].rules[0].expr_text), "load >");
	assert_null(scale__new(p, err, sizeof(err)));
	assert_string_equal(err, "pool \"coder\" rule \"failover\": 1:7: expected a number, "
				 "found the end");
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_cond),
		cmocka_unit_test(test_cond_eval),
		cmocka_unit_test(test_forecast_confidence),
		cmocka_unit_test(test_hpa_arithmetic),
		cmocka_unit_test(test_parse_action),
		cmocka_unit_test(test_up_now_and_clamp),
		cmocka_unit_test(test_cooldown),
		cmocka_unit_test(test_stabilisation),
		cmocka_unit_test(test_budget_cap),
		cmocka_unit_test(test_no_down_before_window),
		cmocka_unit_test(test_priority),
		cmocka_unit_test(test_min_max_and_unseen),
		cmocka_unit_test(test_percent_and_evaluate),
		cmocka_unit_test(test_restore),
		cmocka_unit_test(test_save_load),
		cmocka_unit_test(test_defaults_parse),
	};

	return cmocka_run_group_tests_name("scale", tests, NULL, NULL);
}
