// SPDX-License-Identifier: MIT
/*
 * Alert rules: the condition parser and its errors, for/keep_firing_for, grouping timers,
 * the hourly limit, cooldown, inhibition, silences, acknowledgement, push routes, payload
 * schema and the saved state across a restart. Time is driven by the test, one tick a second.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "alert.h"

#define T0 1764529200000LL /* 2025-11-30T19:00:00Z */
#define S 1000LL

/* What the lookup answers: one value per (function, name, agent); NAN = absent. */
struct world {
	double error_ratio[4];
	double p95[4];
	double score[4];
	double conf;
	int calls;
};

static const char *agents[] = {"coder", "planner", "tester", "other"};

static int idx(const char *agent)
{
	int i;

	for (i = 0; i < 4; i++)
		if (!strcmp(agents[i], agent))
			return i;
	return -1;
}

static int lookup(void *ctx, const struct alert_query *q, const char *agent,
		  struct alert_value *out)
{
	struct world *w = ctx;
	int i = idx(agent);
	double v = NAN;

	w->calls++;
	if (i < 0)
		return -ENOENT;
	if (!strcmp(q->name, "error_ratio") && q->fn == ALERT_FN_VALUE)
		v = w->error_ratio[i];
	else if (!strcmp(q->name, "request_duration") && q->fn == ALERT_FN_QUANTILE)
		v = w->p95[i];
	else if (q->fn == ALERT_FN_ANOMALY) {
		v = w->score[i];
		out->confidence = w->conf;
		snprintf(out->cause, sizeof(out->cause), "request latency rose first");
	}
	if (isnan(v))
		return -ENOENT;
	out->value = v;
	return 0;
}

/* A parameter set with one rule "Err" (error_ratio > 5% for 2s) and one grouped route. */
static void params(struct alert_params *p)
{
	alert__params_default(p);
	p->nrules = 0;
	memset(&p->rules[0], 0, sizeof(p->rules[0]));
	snprintf(p->rules[0].name, sizeof(p->rules[0].name), "Err");
	snprintf(p->rules[0].expr_text, sizeof(p->rules[0].expr_text), "error_ratio > 5%%");
	p->rules[0].severity = ALERT_WARNING;
	p->rules[0].for_ms = 2 * S;
	p->rules[0].keep_firing_for_ms = 0;
	snprintf(p->rules[0].annotations[0].name, 32, "summary");
	snprintf(p->rules[0].annotations[0].value, ALERT_TEXT_MAX,
		 "{{agent}}: {{value}} > {{threshold}} ({{cause}})");
	p->rules[0].nannotations = 1;
	p->nrules = 1;
	alert__route_default(&p->routes[0], "hook");
	p->routes[0].group_interval_ms = 10 * S;
	p->routes[0].repeat_interval_ms = 60 * S;
	p->nroutes = 1;
	p->cooldown_ms = 0;
	p->max_per_hour = 10;
}

static struct alert_engine *engine(const struct alert_params *p)
{
	char err[256];
	struct alert_engine *e = alert__new(p, err, sizeof(err));

	if (!e)
		fail_msg("%s", err);
	return e;
}

/* Runs one tick; returns the notifications' count and keeps the last body in *body. */
static size_t tick(struct alert_engine *e, int64_t t, struct world *w, json_t **body)
{
	const struct alert_out *o;
	size_t n = 0;

	assert_int_equal(alert__eval(e, t, agents, 3, lookup, w, &o, &n), 0);
	if (body) {
		*body = NULL;
		if (n)
			*body = json_loads(o[n - 1].body, 0, NULL);
	}
	return n;
}

static const char *st(json_t *b)
{
	return json_string_value(json_object_get(b, "status"));
}

static json_t *alert0(json_t *b)
{
	return json_array_get(json_object_get(b, "alerts"), 0);
}

/* ---- parser ---- */

static void expect_error(const char *text, const char *msg)
{
	struct alert_expr x;
	char err[256];

	assert_int_equal(alert__parse_expr(text, &x, err, sizeof(err)), -EINVAL);
	if (!strstr(err, msg))
		fail_msg("\"%s\": got \"%s\", want \"%s\"", text, err, msg);
}

static void test_parse_examples(void **s)
{
	struct alert_expr x;
	char err[256];

	(void)s;
	assert_int_equal(alert__parse_expr("p95(request_duration{upstream=\"llm-api\"}) > 5s", &x,
					   err, sizeof(err)),
			 0);
	assert_int_equal(x.q.fn, ALERT_FN_QUANTILE);
	assert_true(fabs(x.q.q - 0.95) < 1e-12);
	assert_string_equal(x.q.name, "request_duration");
	assert_int_equal(x.q.nm, 1);
	assert_string_equal(x.q.m[0].name, "upstream");
	assert_string_equal(x.q.m[0].value, "llm-api");
	assert_int_equal(x.cmp, ALERT_GT);
	assert_true(x.threshold == 5 && x.unit == ALERT_UNIT_SECONDS);

	assert_int_equal(alert__parse_expr("error_ratio > 0.05", &x, err, sizeof(err)), 0);
	assert_true(x.q.fn == ALERT_FN_VALUE && x.threshold == 0.05);
	assert_int_equal(alert__parse_expr("error_ratio>5%", &x, err, sizeof(err)), 0);
	assert_true(fabs(x.threshold - 0.05) < 1e-12 && x.unit == ALERT_UNIT_PERCENT);

	assert_int_equal(alert__parse_expr("run_queue_delay p99 > 50ms", &x, err, sizeof(err)), 0);
	assert_true(x.q.fn == ALERT_FN_QUANTILE && fabs(x.q.q - 0.99) < 1e-12);
	assert_true(fabs(x.threshold - 0.05) < 1e-12);

	assert_int_equal(alert__parse_expr("rate(oom_kills) > 0", &x, err, sizeof(err)), 0);
	assert_true(x.q.fn == ALERT_FN_RATE && x.threshold == 0);

	assert_int_equal(alert__parse_expr("anomaly(*)", &x, err, sizeof(err)), 0);
	assert_true(x.q.fn == ALERT_FN_ANOMALY && x.implicit);
	assert_int_equal(alert__parse_expr(" absent( instances ) ", &x, err, sizeof(err)), 0);
	assert_true(x.absent && x.q.fn == ALERT_FN_VALUE);
	assert_int_equal(alert__parse_expr("rate(requests{status=\"429\", role!=\"server\",}) >= "
					   "5",
					   &x, err, sizeof(err)),
			 0);
	assert_true(x.q.nm == 2 && x.q.m[1].negate && x.cmp == ALERT_GE);
	assert_int_equal(alert__parse_expr("p999(x) <= 1.5e-3", &x, err, sizeof(err)), 0);
	assert_true(fabs(x.q.q - 0.999) < 1e-12 && x.cmp == ALERT_LE);
	assert_int_equal(alert__parse_expr("resident_memory > 512MiB", &x, err, sizeof(err)), 0);
	assert_true(x.threshold == 512.0 * 1048576);
}

static void test_parse_errors(void **s)
{
	(void)s;
	expect_error("", "1:1: expected a name or a function, found the end");
	expect_error("error_ratio", "1:12: expected a comparison (>, >=, <, <=, ==, !=) and a "
				    "threshold");
	expect_error("error_ratio >", "1:14: expected a number, found the end");
	expect_error("error_ratio > 5 parsecs", "1:17: unexpected \"parsecs\" after the condition");
	expect_error("error_ratio > 5ps", "1:16: unknown unit \"ps\"");
	expect_error("error_ratio\n  >> 1", "2:4: expected a number, found \">\"");
	expect_error("p95(request_duration", "1:21: expected ) to close the function");
	expect_error("median(x) > 1", "1:1: unknown function \"median\"");
	expect_error("x{a=\"b\" > 1", "1:9: expected , or } in the label matchers");
	expect_error("x{a=b} > 1", "1:5: expected a quoted label value, found \"b\"");
	expect_error("x{a=\"b} > 1", "1:5: unterminated label value");
	expect_error("x{a~\"b\"} > 1", "1:4: expected = or != after the label name");
	expect_error("rate(*) > 1", "1:6: name: \"*\" is only for anomaly() and event()");
	expect_error("x p42x > 1", "1:3: expected a quantile such as p99");
	expect_error("x > 0x10", "1:5: expected a decimal number");
	expect_error("absent(x", "1:9: expected ) to close absent()");
	expect_error("x{a=\"1\",b=\"2\",c=\"3\",d=\"4\",e=\"5\"} > 1",
		     "more than 4 label matchers");
}

static void test_duration(void **s)
{
	int64_t ms;

	(void)s;
	assert_int_equal(alert__parse_duration("90s", &ms), 0);
	assert_int_equal(ms, 90000);
	assert_int_equal(alert__parse_duration("1h30m", &ms), 0);
	assert_int_equal(ms, 5400000);
	assert_int_equal(alert__parse_duration("250ms", &ms), 0);
	assert_int_equal(ms, 250);
	assert_int_equal(alert__parse_duration("0", &ms), 0);
	assert_int_equal(ms, 0);
	assert_int_equal(alert__parse_duration("5", &ms), -EINVAL);
	assert_int_equal(alert__parse_duration("-5s", &ms), -EINVAL);
	assert_int_equal(alert__parse_duration("5x", &ms), -EINVAL);
	assert_int_equal(alert__parse_duration("", &ms), -EINVAL);
	/* Parts add up to the bound of one part, 1e15 ms, and no further (10^4 x 1e15 ms). */
	{
		static char many[5 * 10000 + 1];
		int i;

		for (i = 0; i < 10000; i++)
			memcpy(many + 5 * i, "1e12s", 5);
		assert_int_equal(alert__parse_duration(many, &ms), -EINVAL);
		assert_int_equal(alert__parse_duration("1e12s1e12s", &ms), -EINVAL);
		assert_int_equal(alert__parse_duration("1e12s", &ms), 0);
		assert_int_equal(ms, 1000000000000000LL);
	}
	assert_int_equal(alert__severity_parse("EMERGENCY"), ALERT_EMERGENCY);
	assert_int_equal(alert__severity_parse("fatal"), -EINVAL);
}

static void test_templates_and_config_errors(void **s)
{
	struct alert_params p;
	char err[256];

	(void)s;
	assert_int_equal(alert__template_check("{{ agent }} at {{value}}", err, sizeof(err)), 0);
	assert_int_equal(alert__template_check("{{agnt}}", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "unknown template variable {{agnt}}"));
	assert_int_equal(alert__template_check("x {{agent", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "unclosed {{ at column 3"));

	params(&p);
	snprintf(p.rules[0].expr_text, sizeof(p.rules[0].expr_text), "error_ratio >");
	assert_null(alert__new(&p, err, sizeof(err)));
	assert_string_equal(err, "alerts: rule \"Err\": 1:14: expected a number, found the end");
	params(&p);
	p.rules[1] = p.rules[0];
	p.nrules = 2;
	assert_null(alert__new(&p, err, sizeof(err)));
	assert_non_null(strstr(err, "two rules are named \"Err\""));
}

static void test_default_rules(void **s)
{
	struct alert_params p;
	struct alert_engine *e;
	uint32_t i;

	(void)s;
	alert__params_default(&p);
	assert_true(p.nrules >= 10);
	e = engine(&p);
	for (i = 0; i < p.nrules; i++) {
		assert_true(p.rules[i].nannotations >= 1);
		assert_string_equal(p.rules[i].annotations[0].name, "summary");
	}
	alert__free(e);
}

static void test_fingerprint(void **s)
{
	struct alert_kv a[2] = {{"alertname", "X"}, {"agent", "coder"}};
	struct alert_kv b[2] = {{"agent", "coder"}, {"alertname", "X"}};
	char fa[17], fb[17];

	(void)s;
	alert__fingerprint(a, 0, fa);
	assert_string_equal(fa, "cbf29ce484222325"); /* FNV-1a 64 offset basis */
	alert__fingerprint(a, 2, fa);
	alert__fingerprint(b, 2, fb);
	assert_string_equal(fa, fb); /* order of labels does not matter */
	b[0].value[0] = 'C';
	alert__fingerprint(b, 2, fb);
	assert_string_not_equal(fa, fb);
}

/* ---- lifecycle ---- */

/* for 2s: pending for two ticks, fires at the third; keep_firing_for 3s holds it after. */
static void test_for_and_keep_firing(void **s)
{
	struct world w = {.error_ratio = {0.2, 0, 0}};
	struct alert_params p;
	struct alert_stats stt;
	struct alert_engine *e;
	json_t *b;
	int64_t t = T0;

	(void)s;
	params(&p);
	p.rules[0].keep_firing_for_ms = 3 * S;
	e = engine(&p);
	assert_int_equal(tick(e, t, &w, NULL), 0);
	alert__stats(e, &stt);
	assert_int_equal(stt.alerts[ALERT_PENDING][ALERT_WARNING], 1);
	assert_int_equal(tick(e, t += S, &w, NULL), 0);
	assert_int_equal(tick(e, t += S, &w, &b), 1); /* 2 s after it became true */
	assert_string_equal(st(b), "firing");
	assert_string_equal(json_string_value(json_object_get(alert0(b), "startsAt")),
			    "2025-11-30T19:00:00.000Z");
	assert_string_equal(json_string_value(json_object_get(alert0(b), "endsAt")),
			    "0001-01-01T00:00:00Z");
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(alert0(b), "annotations"), "summary")),
			    "coder: 20% > 5% (unknown)");
	json_decref(b);
	w.error_ratio[0] = 0;
	assert_int_equal(tick(e, t += S, &w, NULL), 0); /* held by keep_firing_for */
	assert_int_equal(tick(e, t += S, &w, NULL), 0);
	alert__stats(e, &stt);
	assert_int_equal(stt.alerts[ALERT_FIRING][ALERT_WARNING], 1);
	/* 3 s after it was last true: resolved, told at the group's next flush (10 s). */
	assert_int_equal(tick(e, t += S, &w, NULL), 0);
	alert__stats(e, &stt);
	assert_int_equal(stt.alerts[ALERT_RESOLVED][ALERT_WARNING], 1);
	while (t < T0 + 11 * S)
		assert_int_equal(tick(e, t += S, &w, NULL), 0);
	assert_int_equal(tick(e, t += S, &w, &b), 1);
	assert_string_equal(st(b), "resolved");
	assert_string_equal(json_string_value(json_object_get(alert0(b), "endsAt")),
			    "2025-11-30T19:00:05.000Z");
	json_decref(b);
	alert__stats(e, &stt);
	assert_int_equal(stt.alerts[ALERT_RESOLVED][ALERT_WARNING], 0); /* forgotten */
	alert__free(e);
}

/* A condition that goes away during `for` is never told. */
static void test_pending_never_fires(void **s)
{
	struct world w = {.error_ratio = {0.2, 0, 0}};
	struct alert_params p;
	struct alert_engine *e;
	int i;

	(void)s;
	params(&p);
	e = engine(&p);
	for (i = 0; i < 50; i++) {
		w.error_ratio[0] = i % 2 ? 0 : 0.2; /* flaps every second, `for` is 2 s */
		assert_int_equal(tick(e, T0 + i * S, &w, NULL), 0);
	}
	alert__free(e);
}

/*
 * Grouping by alertname only: two agents fire 3 s apart; group_wait 5 s gathers both into the
 * first notification; a third joins and waits for group_interval; unchanged, the group is
 * repeated after repeat_interval, and an acknowledged group is not.
 */
static void test_group_timers_and_ack(void **s)
{
	struct world w = {.error_ratio = {0.2, 0, 0}};
	struct alert_params p;
	struct alert_engine *e;
	json_t *b;
	int64_t t = T0, first = 0;
	int sent = 0;

	(void)s;
	params(&p);
	p.rules[0].for_ms = 0;
	p.routes[0].ngroup_by = 1;
	snprintf(p.routes[0].group_by[0], 32, "alertname");
	p.routes[0].group_wait_ms = 5 * S;
	e = engine(&p);
	for (; t < T0 + 5 * S; t += S) {
		if (t == T0 + 3 * S)
			w.error_ratio[1] = 0.3;
		assert_int_equal(tick(e, t, &w, NULL), 0);
	}
	assert_int_equal(tick(e, t, &w, &b), 1);
	assert_int_equal(json_array_size(json_object_get(b, "alerts")), 2);
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(b, "groupLabels"), "alertname")),
		"Err");
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(b, "commonLabels"), "severity")),
		"warning");
	assert_null(json_object_get(json_object_get(b, "commonLabels"), "agent"));
	assert_string_equal(json_string_value(json_object_get(b, "version")), "4");
	assert_string_equal(json_string_value(json_object_get(b, "groupKey")),
			    "{}:{alertname=\"Err\"}");
	json_decref(b);
	first = t;
	w.error_ratio[2] = 0.4;
	for (t += S; t < first + 10 * S; t += S)
		assert_int_equal(tick(e, t, &w, NULL), 0);
	assert_int_equal(tick(e, t, &w, &b), 1); /* group_interval after the first */
	assert_int_equal(json_array_size(json_object_get(b, "alerts")), 3);
	json_decref(b);
	/* Unchanged: the next is the repeat, 60 s after the last notification. */
	for (t += S; t < first + 10 * S + 60 * S; t += S)
		assert_int_equal(tick(e, t, &w, NULL), 0);
	assert_int_equal(tick(e, t, &w, &b), 1);
	json_decref(b);
	/* Acknowledged alerts are not repeated. */
	{
		struct alert_kv kv[3] = {
			{"agent", "coder"}, {"alertname", "Err"}, {"severity", "warning"}};
		char id[17];
		int k;

		for (k = 0; k < 3; k++) {
			snprintf(kv[0].value, sizeof(kv[0].value), "%s", agents[k]);
			alert__fingerprint(kv, 3, id);
			assert_int_equal(alert__ack(e, id), 0);
		}
		assert_int_equal(alert__ack(e, "0000000000000000"), -ENOENT);
	}
	for (t += S; t < first + 10 * S + 200 * S; t += S)
		sent += (int)tick(e, t, &w, NULL);
	assert_int_equal(sent, 0);
	alert__free(e);
}

static int count_cb(void *ctx, const struct alert_info *a)
{
	(void)a;
	(*(int *)ctx)++;
	return 0;
}

/* A flapping alert with no `for` and no cooldown is told at most max_per_hour times an hour. */
static void test_rate_limit(void **s)
{
	struct world w = {.error_ratio = {0.2, 0, 0}};
	struct alert_params p;
	struct alert_stats stt;
	struct alert_engine *e;
	int64_t t;
	int sent = 0, n = 0;

	(void)s;
	params(&p);
	p.rules[0].for_ms = 0;
	p.routes[0].group_interval_ms = S;
	p.max_per_hour = 4;
	e = engine(&p);
	for (t = T0; t < T0 + 3600 * S; t += S) {
		w.error_ratio[0] = (t / S) % 4 < 2 ? 0.2 : 0; /* 2 s on, 2 s off */
		sent += (int)tick(e, t, &w, NULL);
	}
	assert_int_equal(sent, 4);
	alert__stats(e, &stt);
	assert_true(stt.rate_limited > 0);
	alert__foreach(e, count_cb, &n);
	assert_true(n <= 1);
	alert__free(e);
}

/* After a resolve, the same alert does not start again during the cooldown. */
static void test_cooldown(void **s)
{
	struct world w = {.error_ratio = {0.2, 0, 0}};
	struct alert_params p;
	struct alert_engine *e;
	int64_t t;
	int sent = 0;

	(void)s;
	params(&p);
	p.rules[0].for_ms = 0;
	p.routes[0].group_interval_ms = S;
	p.cooldown_ms = 30 * S;
	e = engine(&p);
	sent += (int)tick(e, T0, &w, NULL); /* firing */
	w.error_ratio[0] = 0;
	sent += (int)tick(e, T0 + S, &w, NULL); /* resolved */
	w.error_ratio[0] = 0.2;
	for (t = T0 + 2 * S; t < T0 + 31 * S; t += S)
		sent += (int)tick(e, t, &w, NULL);
	assert_int_equal(sent, 2);
	sent += (int)tick(e, T0 + 31 * S, &w, NULL); /* 30 s after the resolve: fires again */
	assert_int_equal(sent, 3);
	alert__free(e);
}

/* An EMERGENCY on coder mutes coder's WARNING, not planner's. */
static void test_inhibition(void **s)
{
	struct world w = {.error_ratio = {0.2, 0.2, 0}, .p95 = {20, NAN, NAN}};
	struct alert_params p;
	struct alert_engine *e;
	const struct alert_out *o;
	size_t n, i;
	int warn_coder = 0, warn_planner = 0, emerg = 0;

	(void)s;
	params(&p);
	p.rules[0].for_ms = 0;
	p.rules[1] = p.rules[0];
	snprintf(p.rules[1].name, sizeof(p.rules[1].name), "Slow");
	snprintf(p.rules[1].expr_text, sizeof(p.rules[1].expr_text), "p95(request_duration) > 10s");
	p.rules[1].severity = ALERT_EMERGENCY;
	p.nrules = 2;
	e = engine(&p);
	assert_int_equal(alert__eval(e, T0, agents, 3, lookup, &w, &o, &n), 0);
	for (i = 0; i < n; i++) {
		json_t *b = json_loads(o[i].body, 0, NULL),
		       *l = json_object_get(alert0(b), "labels");
		const char *an = json_string_value(json_object_get(l, "alertname"));
		const char *ag = json_string_value(json_object_get(l, "agent"));

		if (!strcmp(an, "Slow"))
			emerg++;
		else if (!strcmp(ag, "coder"))
			warn_coder++;
		else
			warn_planner++;
		json_decref(b);
	}
	assert_int_equal(emerg, 1);
	assert_int_equal(warn_coder, 0);
	assert_int_equal(warn_planner, 1);
	/* The emergency ends: coder's warning is told. */
	w.p95[0] = 1;
	assert_int_equal(alert__eval(e, T0 + 10 * S, agents, 3, lookup, &w, &o, &n), 0);
	assert_int_equal(n, 2); /* Slow resolved, Err coder firing */
	alert__free(e);
}

static void test_silence(void **s)
{
	struct world w = {.error_ratio = {0.2, 0, 0}};
	struct alert_silence sil = {.nm = 1, .m = {{"agent", "coder", false}}};
	struct alert_silence list[4];
	struct alert_params p;
	struct alert_engine *e;
	json_t *b;
	int64_t t, id;
	int sent = 0;

	(void)s;
	params(&p);
	p.rules[0].for_ms = 0;
	e = engine(&p);
	sil.ends_ms = T0;
	assert_int_equal(alert__silence_add(e, &sil, T0), -EINVAL); /* already over */
	sil.ends_ms = T0 + 20 * S;
	id = alert__silence_add(e, &sil, T0);
	assert_true(id > 0);
	assert_int_equal(alert__silences(e, list, 4), 1);
	for (t = T0; t < T0 + 20 * S; t += S)
		sent += (int)tick(e, t, &w, NULL);
	assert_int_equal(sent, 0);
	assert_int_equal(tick(e, t, &w, &b), 1); /* expired: told */
	assert_string_equal(st(b), "firing");
	json_decref(b);
	assert_int_equal(alert__silences(e, list, 4), 0);
	assert_int_equal(alert__silence_expire(e, (uint64_t)id), -ENOENT);
	alert__free(e);
}

/*
 * A restart: the firing alert comes back from the saved state and is not told again as new;
 * its resolve carries the first start time.
 */
static void test_save_restore(void **s)
{
	struct world w = {.error_ratio = {0.2, 0, 0}};
	struct alert_params p;
	struct alert_engine *e, *e2;
	char *saved, fp[17];
	json_t *b;
	size_t len;
	int64_t t;

	(void)s;
	params(&p);
	p.rules[0].for_ms = 0;
	e = engine(&p);
	assert_int_equal(tick(e, T0, &w, &b), 1);
	snprintf(fp, sizeof(fp), "%s",
		 json_string_value(json_object_get(alert0(b), "fingerprint")));
	json_decref(b);
	saved = alert__save(e, &len);
	assert_non_null(saved);
	alert__free(e);

	e2 = engine(&p);
	assert_int_equal(alert__restore(e2, "{\"version\":9}", 13), -EINVAL);
	assert_int_equal(alert__restore(e2, saved, len), 0);
	free(saved);
	for (t = T0 + 5 * S; t < T0 + 30 * S; t += S)
		assert_int_equal(tick(e2, t, &w, NULL), 0);
	w.error_ratio[0] = 0;
	assert_int_equal(tick(e2, t, &w, &b), 1);
	assert_string_equal(st(b), "resolved");
	assert_string_equal(json_string_value(json_object_get(alert0(b), "fingerprint")), fp);
	assert_string_equal(json_string_value(json_object_get(alert0(b), "startsAt")),
			    "2025-11-30T19:00:00.000Z");
	json_decref(b);
	alert__free(e2);
}

/* Push routes: each firing alert every resend period with endsAt ahead, the resolve once. */
static void test_push(void **s)
{
	struct world w = {.error_ratio = {0.2, 0, 0}};
	struct alert_params p;
	struct alert_engine *e;
	const struct alert_out *o;
	json_t *b;
	size_t n;
	int64_t t;
	int pushes = 0;
	char key0[80];

	(void)s;
	params(&p);
	p.rules[0].for_ms = 0;
	p.routes[0].push = true;
	p.resend_ms = 10 * S;
	e = engine(&p);
	assert_int_equal(alert__eval(e, T0, agents, 3, lookup, &w, &o, &n), 0);
	assert_int_equal(n, 1);
	snprintf(key0, sizeof(key0), "%s", o[0].key);
	b = json_loads(o[0].body, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(alert0(b), "endsAt")),
			    "2025-11-30T19:00:40.000Z"); /* now + 4 resend periods */
	json_decref(b);
	for (t = T0 + S; t <= T0 + 30 * S; t += S)
		pushes += (int)tick(e, t, &w, NULL);
	assert_int_equal(pushes, 3); /* at 10, 20 and 30 s */
	w.error_ratio[0] = 0;
	assert_int_equal(alert__eval(e, t, agents, 3, lookup, &w, &o, &n), 0);
	assert_int_equal(n, 1);
	assert_string_not_equal(o[0].key, key0);
	b = json_loads(o[0].body, 0, NULL);
	assert_string_equal(st(b), "resolved");
	json_decref(b);
	assert_int_equal(tick(e, t + S, &w, NULL), 0);
	alert__free(e);
}

/* anomaly(*): score and confidence both needed; the cause reaches the annotation. */
static void test_anomaly_rule(void **s)
{
	struct world w = {.error_ratio = {0, 0, 0}, .score = {0.95, 0.5, 0.99}, .conf = 0.2};
	struct alert_params p;
	struct alert_engine *e;
	json_t *b;

	(void)s;
	params(&p);
	snprintf(p.rules[0].expr_text, sizeof(p.rules[0].expr_text), "anomaly(*)");
	p.rules[0].for_ms = 0;
	p.rules[0].min_score = 0.9;
	p.rules[0].min_confidence = 0.5;
	e = engine(&p);
	assert_int_equal(tick(e, T0, &w, NULL), 0); /* confident enough? no */
	w.conf = 0.8;
	assert_int_equal(tick(e, T0 + S, &w, &b), 2); /* coder and tester, not planner */
	assert_non_null(strstr(json_string_value(json_object_get(
				       json_object_get(alert0(b), "annotations"), "summary")),
			       "request latency rose first"));
	json_decref(b);
	alert__free(e);
}

static int lookup_one(void *ctx, const struct alert_query *q, const char *agent,
		      struct alert_value *out)
{
	(void)ctx;
	(void)q;
	(void)agent;
	out->value = 1;
	return 0;
}

/* A label that is not UTF-8 is kept (with '?' for the bad bytes), not dropped. */
static void test_labels_not_utf8(void **s)
{
	const char *bad[] = {"bad\xe6name"};
	const struct alert_out *o;
	struct alert_params p;
	struct alert_engine *e;
	size_t n;
	json_t *b;

	(void)s;
	params(&p);
	p.rules[0].for_ms = 0;
	e = engine(&p);
	assert_int_equal(alert__eval(e, T0, bad, 1, lookup_one, NULL, &o, &n), 0);
	assert_int_equal(n, 1);
	b = json_loads(o[0].body, 0, NULL);
	assert_non_null(b);
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(alert0(b), "labels"), "agent")),
		"bad?name");
	json_decref(b);
	alert__free(e);
}

/* The cause hook: each firing alert's cause as the hook (the agent's incident) gives it. */
static void incident_cause(void *ctx, const char *rule, const char *agent, char *cause, size_t cap)
{
	int *calls = ctx;
	char own[ALERT_CAUSE_MAX];

	(*calls)++;
	snprintf(own, sizeof(own), "%s", cause);
	if (!strcmp(agent, "coder"))
		snprintf(cause, cap, "%s of %s, after \"%s\"", rule, agent, own);
}

static int cause_of(void *ctx, const struct alert_info *a)
{
	char(*causes)[ALERT_CAUSE_MAX] = ctx;
	int i = idx(a->agent);

	if (i >= 0)
		snprintf(causes[i], ALERT_CAUSE_MAX, "%s", a->cause);
	return 0;
}

static void test_cause_hook(void **s)
{
	char causes[4][ALERT_CAUSE_MAX] = {"", "", "", ""};
	struct world w = {.error_ratio = {0.5, 0.5, 0.0, NAN}};
	struct alert_params p;
	struct alert_engine *e;
	int calls = 0, t;
	size_t n = 0;

	(void)s;
	params(&p);
	e = engine(&p);
	alert__set_cause_fn(e, incident_cause, &calls);
	for (t = 0; t <= 2; t++)
		n = tick(e, T0 + t * S, &w, NULL);
	assert_int_equal(n, 2); /* coder's and planner's firing notifications */
	/* coder and planner hold, tester does not: the hook sees the two, changes coder's */
	assert_int_equal(calls, 6);
	alert__foreach(e, cause_of, causes);
	assert_string_equal(causes[0], "Err of coder, after \"\"");
	assert_string_equal(causes[1], "");
	alert__set_cause_fn(e, NULL, NULL);
	tick(e, T0 + 3 * S, &w, NULL);
	assert_int_equal(calls, 6);
	alert__foreach(e, cause_of, causes);
	assert_string_equal(causes[0], ""); /* its own again */
	alert__free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_examples),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_duration),
		cmocka_unit_test(test_templates_and_config_errors),
		cmocka_unit_test(test_default_rules),
		cmocka_unit_test(test_fingerprint),
		cmocka_unit_test(test_for_and_keep_firing),
		cmocka_unit_test(test_pending_never_fires),
		cmocka_unit_test(test_group_timers_and_ack),
		cmocka_unit_test(test_rate_limit),
		cmocka_unit_test(test_cooldown),
		cmocka_unit_test(test_inhibition),
		cmocka_unit_test(test_silence),
		cmocka_unit_test(test_save_restore),
		cmocka_unit_test(test_push),
		cmocka_unit_test(test_anomaly_rule),
		cmocka_unit_test(test_labels_not_utf8),
		cmocka_unit_test(test_cause_hook),
	};

	return cmocka_run_group_tests_name("alert", tests, NULL, NULL);
}
