// SPDX-License-Identifier: MIT
/*
 * Cost accounting with a fake clock: prices applied to counter increases, counter resets, the
 * UTC day's rollover, the 80 % and 95 % thresholds once per day (across a restore too), the
 * end-of-day forecast and its interval, recommendations; then the stage: snapshot sums, the
 * emergency command's arguments, and the command run once per day.
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
#include <unistd.h>

#include <jansson.h>

#include "apps.h"
#include "catalog.h"
#include "cost.h"
#include "costing.h"
#include "llm.h"
#include "snapshot.h"

#define DAY 86400.0
#define T0 (20000 * DAY + 12 * 3600.0) /* a noon, UTC */
#define NEAR(a, b) (fabs((a) - (b)) <= 1e-9 * (fabs(b) + 1))

static void assert_near(double a, double b)
{
	if (!NEAR(a, b))
		fail_msg("%.12g is not %.12g", a, b);
}

static struct cost_params params(void)
{
	struct cost_params p;

	cost__params_default(&p);
	p.base.cpu_second_usd = 0.5;
	p.base.gb_sent_usd = 0.09;
	p.base.gb_received_usd = 0.01;
	p.base.nprices = 2;
	snprintf(p.base.prices[0].upstream, COST_NAME_LEN, "llm-api");
	p.base.prices[0].request_usd = 0.002;
	snprintf(p.base.prices[1].upstream, COST_NAME_LEN, "*.example.com:443");
	p.base.prices[1].request_usd = 0.01;
	return p;
}

/* One agent's figures. */
static struct cost_input input(const char *agent, uint64_t cpu_ns, uint64_t sent, uint64_t recv,
			       double app, const struct cost_requests *r, int nr)
{
	struct cost_input in = {.agent = agent,
				.cpu_ns = cpu_ns,
				.sent_bytes = sent,
				.received_bytes = recv,
				.app_usd = app,
				.requests = r,
				.nrequests = nr};
	return in;
}

static const struct cost_agent_view *agent_of(const struct cost_view *v, const char *name)
{
	int i;

	for (i = 0; i < v->n; i++)
		if (!strcmp(v->agents[i].agent, name))
			return &v->agents[i];
	return NULL;
}

/* Each kind priced from the increase since the last tick; the first tick is the baseline. */
static void test_arithmetic(void **state)
{
	struct cost_params p = params();
	struct cost *c = cost__new(&p);
	struct cost_requests r[2] = {{"llm-api", 100, 90}, {"api.example.com:443", 5, 5}};
	struct cost_event ev[4];
	struct cost_input in;
	struct cost_view *v;
	const struct cost_agent_view *a;

	(void)state;
	assert_non_null(c);
	/* Days of history in the kernel's counters: not today's spend. App costs: from zero. */
	in = input("coder", 3600e9, 5e9, 5e9, 0.25, r, 2);
	assert_int_equal(cost__update(c, T0, &in, 1, ev, 4), 0);
	r[0].requests = 110, r[0].successes = 98; /* 10 requests, 8 answered well */
	r[1].requests = 7, r[1].successes = 6; /* a pattern's price */
	in = input("coder", 3602e9, 6e9, 7e9, 1.25, r, 2);
	assert_int_equal(cost__update(c, T0 + 1, &in, 1, ev, 4), 0);
	v = cost__view(c, T0 + 1);
	assert_non_null(v);
	a = agent_of(v, "coder");
	assert_non_null(a);
	assert_near(a->today[COST_CPU], 2 * 0.5);
	assert_near(a->today[COST_SENT], 1 * 0.09);
	assert_near(a->today[COST_RECEIVED], 2 * 0.01);
	assert_near(a->today[COST_REQUESTS], 10 * 0.002 + 2 * 0.01);
	assert_near(a->today[COST_APP], 1.25);
	assert_near(a->spent, 1 + 0.09 + 0.02 + 0.04 + 1.25);
	assert_near(a->usage, a->spent / 10);
	assert_true(a->requests == 12 && a->successes == 9);
	assert_near(a->per_success, a->spent / 9);
	assert_int_equal(a->nupstreams, 2);
	cost__view_free(v);
	/* An app report that is not a finite amount adds nothing, and the state still saves. */
	in = input("coder", 3602e9, 6e9, 7e9, INFINITY, r, 2);
	assert_int_equal(cost__update(c, T0 + 2, &in, 1, ev, 4), 0);
	v = cost__view(c, T0 + 2);
	assert_near(agent_of(v, "coder")->today[COST_APP], 1.25);
	cost__view_free(v);
	cost__free(c);
}

/* A counter that goes down counts from zero (maps recreated); an override has its own prices. */
static void test_reset_and_override(void **state)
{
	struct cost_params p = params();
	struct cost_event ev[4];
	struct cost_input in[2];
	struct cost_view *v;
	struct cost *c;

	(void)state;
	p.noverrides = 1;
	snprintf(p.overrides[0].agent, SW_NAME_LEN, "test-*");
	p.overrides[0].m = p.base;
	p.overrides[0].m.cpu_second_usd = 2;
	p.overrides[0].m.daily_budget_usd = 100;
	c = cost__new(&p);
	assert_non_null(c);
	in[0] = input("coder", 10e9, 0, 0, 0, NULL, 0);
	in[1] = input("test-a", 10e9, 0, 0, 0, NULL, 0);
	assert_int_equal(cost__update(c, T0, in, 2, ev, 4), 0);
	in[0] = input("coder", 3e9, 0, 0, 0, NULL, 0); /* reset: 3 s since */
	in[1] = input("test-a", 11e9, 0, 0, 0, NULL, 0);
	assert_int_equal(cost__update(c, T0 + 1, in, 2, ev, 4), 0);
	v = cost__view(c, T0 + 1);
	assert_near(agent_of(v, "coder")->today[COST_CPU], 3 * 0.5);
	assert_near(agent_of(v, "test-a")->today[COST_CPU], 1 * 2);
	assert_near(agent_of(v, "test-a")->budget, 100);
	cost__view_free(v);
	cost__free(c);
}

/* 80 % once, 95 % once, each day again; a jump over both gives both in one tick. */
static void test_thresholds_once_per_day(void **state)
{
	struct cost_params p = params();
	struct cost *c = cost__new(&p);
	struct cost_event ev[4];
	struct cost_input in;
	double t = T0;
	int n, warnings = 0, emergencies = 0;
	uint64_t cpu = 0;

	(void)state;
	in = input("coder", 0, 0, 0, 0, NULL, 0);
	assert_int_equal(cost__update(c, t, &in, 1, ev, 4), 0);
	/* 1 USD a tick (2 CPU-seconds): 7 ticks is 70 %, 8 is 80 %, 10 is 100 %, then more. */
	for (int i = 1; i <= 14; i++) {
		cpu += 2000000000ULL;
		in = input("coder", cpu, 0, 0, 0, NULL, 0);
		n = cost__update(c, t + i, &in, 1, ev, 4);
		assert_true(n >= 0 && n <= 1);
		if (n && ev[0].type == COST_WARNING) {
			assert_int_equal(i, 8);
			assert_near(ev[0].spent, 8);
			assert_near(ev[0].budget, 10);
			assert_string_equal(ev[0].agent, "coder");
			warnings++;
		}
		if (n && ev[0].type == COST_EMERGENCY) {
			assert_int_equal(i, 10); /* 9.5 is not reached before the 10th USD */
			emergencies++;
		}
	}
	assert_int_equal(warnings, 1);
	assert_int_equal(emergencies, 1);
	/* The next UTC day: spend from zero; 12 USD in one tick crosses both at once. */
	t = (floor(T0 / DAY) + 1) * DAY + 5;
	cpu += 24000000000ULL;
	in = input("coder", cpu, 0, 0, 0, NULL, 0);
	n = cost__update(c, t, &in, 1, ev, 4);
	assert_int_equal(n, 2);
	assert_int_equal(ev[0].type, COST_WARNING);
	assert_int_equal(ev[1].type, COST_EMERGENCY);
	assert_true(ev[1].day == ev[0].day && ev[0].day == (int64_t)floor(T0 / DAY) + 1);
	cost__free(c);
}

/* Midnight: today's spend and counts start again, the total goes on. */
static void test_day_rollover(void **state)
{
	struct cost_params p = params();
	struct cost *c = cost__new(&p);
	double midnight = (floor(T0 / DAY) + 1) * DAY;
	struct cost_requests r = {"llm-api", 0, 0};
	struct cost_event ev[4];
	struct cost_input in;
	struct cost_view *v;
	const struct cost_agent_view *a;

	(void)state;
	in = input("coder", 0, 0, 0, 0, &r, 1);
	cost__update(c, midnight - 30, &in, 1, ev, 4);
	r.requests = r.successes = 50;
	in = input("coder", 4e9, 0, 0, 0, &r, 1); /* 2 USD + 0.1 USD before midnight */
	cost__update(c, midnight - 1, &in, 1, ev, 4);
	v = cost__view(c, midnight - 1);
	assert_near(agent_of(v, "coder")->spent, 2.1);
	cost__view_free(v);
	r.requests = r.successes = 60;
	in = input("coder", 6e9, 0, 0, 0, &r, 1); /* 1 USD + 0.02 USD after */
	cost__update(c, midnight + 1, &in, 1, ev, 4);
	v = cost__view(c, midnight + 1);
	a = agent_of(v, "coder");
	assert_non_null(a);
	assert_int_equal(v->day, (int64_t)(midnight / DAY));
	assert_near(a->spent, 1.02);
	assert_true(a->requests == 10 && a->successes == 10);
	assert_near(a->total[COST_CPU], 3);
	assert_near(a->total[COST_REQUESTS], 0.12);
	assert_false(a->warned);
	/* Yesterday is among the previous days. */
	assert_int_equal(a->npast, 1);
	assert_true(a->past[0].day == (int64_t)(midnight / DAY) - 1);
	assert_near(a->past[0].usd, 2.1);
	cost__view_free(v);
	/* The clock steps back across midnight: the new day is kept, its spend goes on. */
	in = input("coder", 8e9, 0, 0, 0, &r, 1);
	cost__update(c, midnight - 5, &in, 1, ev, 4);
	v = cost__view(c, midnight + 2);
	assert_near(agent_of(v, "coder")->spent, 2.02);
	cost__view_free(v);
	/* Yesterday's agents are not today's: an agent not seen since midnight is not listed. */
	in = input("planner", 0, 0, 0, 0, NULL, 0);
	cost__update(c, midnight - 10, &in, 1, ev, 4);
	v = cost__view(c, midnight + 2);
	assert_null(agent_of(v, "planner"));
	cost__view_free(v);
	cost__free(c);
}

struct saved {
	char agent[SW_NAME_LEN];
	char text[65536];
	size_t len;
	int n;
};

static int save_fn(void *ctx, const char *agent, const char *text, size_t len)
{
	struct saved *s = ctx;

	assert_true(len < sizeof(s->text));
	snprintf(s->agent, sizeof(s->agent), "%s", agent);
	memcpy(s->text, text, len);
	s->len = len;
	s->n++;
	return 0;
}

static long restore_fn(void *ctx, const char *agent, void *buf, size_t cap)
{
	struct saved *s = ctx;

	if (strcmp(agent, s->agent))
		return -ENOENT;
	assert_true(s->len <= cap);
	memcpy(buf, s->text, s->len);
	return (long)s->len;
}

/* A restart the same day: the day's spend, the thresholds crossed and the counters go on. */
static void test_save_restore(void **state)
{
	struct cost_params p = params();
	struct cost *c = cost__new(&p), *c2;
	struct cost_requests r = {"llm-api", 100, 100};
	static struct saved s;
	struct cost_event ev[4];
	struct cost_input in;
	struct cost_view *v;

	(void)state;
	in = input("coder", 0, 0, 0, 0, &r, 1);
	cost__update(c, T0, &in, 1, ev, 4);
	in = input("coder", 17e9, 0, 0, 0, &r, 1); /* 8.5 USD: warned */
	assert_int_equal(cost__update(c, T0 + 1, &in, 1, ev, 4), 1);
	assert_int_equal(cost__save(c, false, 0, save_fn, &s), 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(cost__save(c, false, 0, save_fn, &s), 0);
	assert_int_equal(s.n, 1); /* unchanged since: not saved again */
	cost__free(c);

	c2 = cost__new(&p);
	cost__set_restore(c2, restore_fn, &s);
	/* The kernel's counters went on while swarmwatch was down: that spend is counted. */
	r.requests = 150, r.successes = 140;
	in = input("coder", 18e9, 0, 0, 0, &r, 1);
	assert_int_equal(cost__update(c2, T0 + 60, &in, 1, ev, 4), 0); /* no second warning */
	v = cost__view(c2, T0 + 60);
	assert_near(agent_of(v, "coder")->spent, 9 + 50 * 0.002);
	assert_near(agent_of(v, "coder")->today[COST_REQUESTS], 50 * 0.002);
	assert_true(agent_of(v, "coder")->requests == 50 && agent_of(v, "coder")->successes == 40);
	assert_true(agent_of(v, "coder")->warned);
	cost__view_free(v);
	in = input("coder", 20e9, 0, 0, 0, &r, 1);
	assert_int_equal(cost__update(c2, T0 + 61, &in, 1, ev, 4), 1);
	assert_int_equal(ev[0].type, COST_EMERGENCY);
	/* What is not a saved state changes nothing. */
	assert_int_equal(cost__restore(c2, "coder", "{\"version\": 1}", 14), -EINVAL);
	assert_int_equal(cost__restore(c2, "coder", "not json", 8), -EINVAL);
	v = cost__view(c2, T0 + 61);
	assert_near(agent_of(v, "coder")->spent, 10.1);
	cost__view_free(v);
	cost__free(c2);
}

/* One agent's LLM figures: the wire's since start, the app's LLM and other costs. */
static struct cost_input llm_input(double wire, double app_llm, double app)
{
	struct cost_input in = input("coder", 0, 0, 0, app, NULL, 0);

	in.llm_usd = wire;
	in.app_llm_usd = app_llm;
	return in;
}

/*
 * Which LLM spend counts, each source (cost.h): the same ticks for every model. The agent
 * reports no LLM cost of its own at first, then does from the third tick.
 */
static void test_llm_sources(void **state)
{
	static const struct {
		enum cost_llm_source src;
		double llm[3]; /* today[COST_LLM] after ticks 2, 3, 4 */
	} want[] = {
		{COST_LLM_AUTO, {2.0, 2.9, 3.2}}, /* the wire's, then the app's once it reports */
		{COST_LLM_WIRE, {2.0, 3.0, 4.0}},
		{COST_LLM_APP, {0.0, 0.9, 1.2}},
		{COST_LLM_BOTH, {2.0, 3.9, 5.2}},
	};
	static const double wire[4] = {0, 2.0, 3.0, 4.0}, app_llm[4] = {0, 0, 0.9, 1.2},
			    app[4] = {0, 0.1, 0.1, 0.7};
	struct cost_event ev[4];
	struct cost_view *v;
	size_t i;
	int k;

	(void)state;
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		struct cost_params p;
		struct cost *c;

		cost__params_default(&p);
		p.base.llm = want[i].src;
		c = cost__new(&p);
		assert_non_null(c);
		for (k = 0; k < 4; k++) {
			struct cost_input in = llm_input(wire[k], app_llm[k], app[k]);

			assert_int_equal(cost__update(c, T0 + k, &in, 1, ev, 4), 0);
			v = cost__view(c, T0 + k);
			if (k) {
				assert_non_null(agent_of(v, "coder"));
				assert_near(agent_of(v, "coder")->today[COST_LLM],
					    want[i].llm[k - 1]);
				/* Other app costs are "app", whatever the LLM source. */
				assert_near(agent_of(v, "coder")->today[COST_APP], app[k]);
				assert_near(agent_of(v, "coder")->spent,
					    want[i].llm[k - 1] + app[k]);
			}
			cost__view_free(v);
		}
		cost__free(c);
	}
	/* With app costs off, the app's LLM report is not counted either: the wire's is. */
	{
		struct cost_params p;
		struct cost *c;
		struct cost_input in;

		cost__params_default(&p);
		p.base.app_costs = false;
		c = cost__new(&p);
		for (k = 0; k < 4; k++) {
			in = llm_input(wire[k], app_llm[k], app[k]);
			cost__update(c, T0 + k, &in, 1, ev, 4);
		}
		v = cost__view(c, T0 + 3);
		assert_near(agent_of(v, "coder")->today[COST_LLM], 4.0);
		assert_near(agent_of(v, "coder")->today[COST_APP], 0);
		cost__view_free(v);
		cost__free(c);
	}
	assert_string_equal(cost_kind_names[COST_LLM], "llm");
}

/*
 * The LLM spend across a restart: today's is kept with the rest of the state, the wire's and
 * the app's counters start again from zero in the new process and count from there, and an
 * agent that reported its own LLM cost goes on being counted from its reports. A state saved
 * before the llm kind existed is read as no LLM spend.
 */
static void test_llm_restart(void **state)
{
	struct cost_params p;
	struct cost *c, *c2;
	static struct saved s;
	struct cost_event ev[4];
	struct cost_input in;
	struct cost_view *v;
	json_t *o;
	char *text;

	(void)state;
	cost__params_default(&p);
	c = cost__new(&p);
	in = llm_input(0, 0, 0);
	cost__update(c, T0, &in, 1, ev, 4);
	in = llm_input(1.5, 0, 0);
	cost__update(c, T0 + 1, &in, 1, ev, 4);
	assert_int_equal(cost__save(c, true, 0, save_fn, &s), 0);
	cost__free(c);

	c2 = cost__new(&p);
	cost__set_restore(c2, restore_fn, &s);
	in = llm_input(0.25, 0, 0); /* the new process's wire spend so far */
	cost__update(c2, T0 + 60, &in, 1, ev, 4);
	v = cost__view(c2, T0 + 60);
	assert_near(agent_of(v, "coder")->today[COST_LLM], 1.75);
	assert_near(agent_of(v, "coder")->total[COST_LLM], 1.75);
	cost__view_free(v);
	/* Now the app reports its LLM cost: from then on that counts, not the wire. */
	in = llm_input(1.25, 0.5, 0);
	cost__update(c2, T0 + 61, &in, 1, ev, 4);
	assert_int_equal(cost__save(c2, true, 0, save_fn, &s), 0);
	assert_non_null(strstr(s.text, "\"llm_app\":true"));
	cost__free(c2);
	c2 = cost__new(&p);
	cost__set_restore(c2, restore_fn, &s);
	in = llm_input(3.0, 0, 0); /* restarted: the app has not reported again yet */
	cost__update(c2, T0 + 120, &in, 1, ev, 4);
	v = cost__view(c2, T0 + 120);
	assert_near(agent_of(v, "coder")->today[COST_LLM], 1.75 + 0.5);
	cost__view_free(v);
	cost__free(c2);

	/* A state of before: no "llm" in today and total, no "llm_app". */
	o = json_loadb(s.text, s.len, 0, NULL);
	assert_non_null(o);
	json_object_del(json_object_get(o, "today"), "llm");
	json_object_del(json_object_get(o, "total"), "llm");
	json_object_del(o, "llm_app");
	json_object_set_new(json_object_get(o, "today"), "app", json_real(0.5));
	json_object_set_new(json_object_get(o, "total"), "app", json_real(0.5));
	text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	c2 = cost__new(&p);
	assert_int_equal(cost__restore(c2, "coder", text, strlen(text)), 0);
	v = cost__view(c2, T0 + 120);
	assert_non_null(agent_of(v, "coder"));
	assert_near(agent_of(v, "coder")->today[COST_LLM], 0);
	assert_near(agent_of(v, "coder")->spent, 0.5);
	cost__view_free(v);
	free(text);
	cost__free(c2);
}

/* The forecast's arithmetic, both ways: weighted minutes, and the day's average at first. */
static void test_forecast(void **state)
{
	double point, lo, hi, mu;

	(void)state;
	/* Noon, 1 USD spent, 0.01 USD a minute with sd 0.01: 720 minutes left. */
	cost__forecast(1, 43200, 0.01, 0.0001, 10, 3600, 1.96, &point, &lo, &hi, &mu);
	assert_near(point, 1 + 720 * 0.01);
	assert_near(hi - point, 1.96 * sqrt(720) * 0.01);
	assert_near(point - lo, 1.96 * sqrt(720) * 0.01);
	assert_near(mu, 0.01);
	/* Two minutes closed: the day's average, 1 USD over 600 s, with sd = mean. */
	cost__forecast(1, 43200, 5, 0, 2, 600, 1.96, &point, &lo, &hi, &mu);
	assert_near(mu, 0.1);
	assert_near(point, 1 + 72);
	assert_near(hi, point + 1.96 * sqrt(720) * 0.1);
	/* The lower end is never below what is spent; at the day's end nothing is left. */
	cost__forecast(1, 43200, 0.0001, 1, 10, 600, 1.96, &point, &lo, &hi, &mu);
	assert_near(lo, 1);
	cost__forecast(3, 86400, 0.5, 0.1, 10, 600, 1.96, &point, &lo, &hi, &mu);
	assert_near(point, 3);
	assert_near(hi, 3);
}

/* Minutes close into the weighted moments: a steady spend forecasts itself. */
static void test_forecast_steady(void **state)
{
	struct cost_params p = params();
	struct cost *c = cost__new(&p);
	struct cost_event ev[4];
	struct cost_input in;
	struct cost_view *v;
	const struct cost_agent_view *a;
	double t0 = floor(T0 / DAY) * DAY + 6 * 3600; /* 06:00 */
	int i;

	(void)state;
	/* 0.001 CPU-second a second at 0.5 USD: 0.03 USD a minute, for 20 minutes. */
	for (i = 0; i <= 1200; i++) {
		in = input("coder", (uint64_t)i * 1000000, 0, 0, 0, NULL, 0);
		cost__update(c, t0 + i, &in, 1, ev, 4);
	}
	v = cost__view(c, t0 + 1200);
	a = agent_of(v, "coder");
	assert_near(a->spent, 0.6);
	/* The first minute holds 59 s of spend (the first tick is the baseline): within 1 %. */
	assert_true(fabs(a->rate_usd_per_hour - 1.8) < 0.018);
	/* 1060 minutes left at 0.03 USD a minute; steady minutes: a narrow interval around it. */
	assert_true(fabs(a->forecast - (0.6 + 1060 * 0.03)) < 0.01 * 32.4);
	assert_true(a->lower <= a->forecast && a->forecast <= a->upper);
	assert_true(a->upper - a->lower < 0.05 * a->forecast);
	/* The budget (10 USD) is reached at that rate. */
	assert_true(fabs(a->exhaust_time - (t0 + 1200 + 9.4 / (a->rate_usd_per_hour / 3600))) < 1);
	cost__view_free(v);
	cost__free(c);
}

/* Scale down first the agent with the highest forecast share; the upstream costliest per success. */
static void test_recommendations(void **state)
{
	struct cost_params p = params();
	struct cost *c = cost__new(&p);
	struct cost_requests ra = {"llm-api", 0, 0}, rb = {"api.example.com:443", 0, 0};
	struct cost_event ev[4];
	struct cost_input in[3];
	struct cost_view *v;

	(void)state;
	in[0] = input("big", 0, 0, 0, 0, &ra, 1);
	in[1] = input("small", 0, 0, 0, 0, &rb, 1);
	in[2] = input("idle", 0, 0, 0, 0, NULL, 0);
	cost__update(c, T0, in, 3, ev, 8);
	ra.requests = 1000, ra.successes = 900; /* 2 USD, 0.0022 per success */
	rb.requests = 10, rb.successes = 2; /* 0.1 USD, 0.05 per success */
	in[0] = input("big", 2e9, 0, 0, 0, &ra, 1);
	in[1] = input("small", 0, 0, 0, 0, &rb, 1);
	in[2] = input("idle", 0, 0, 0, 0, NULL, 0);
	cost__update(c, T0 + 60, in, 3, ev, 8);
	v = cost__view(c, T0 + 60);
	assert_int_equal(v->nscale_down, 2); /* idle spent nothing */
	assert_string_equal(v->scale_down[0].agent, "big");
	assert_string_equal(v->scale_down[1].agent, "small");
	assert_true(v->scale_down[0].value > v->scale_down[1].value);
	assert_non_null(strstr(v->scale_down[0].reason, "per successful request"));
	assert_int_equal(v->nupstreams, 2);
	assert_string_equal(v->upstreams[0].upstream, "api.example.com:443");
	assert_near(v->upstreams[0].value, 0.1 / 2);
	assert_near(v->upstreams[1].value, 2.0 / 900);
	cost__view_free(v);
	cost__free(c);
}

/* With no price for it, an agent is shown once it has cost something (an app report). */
static void test_shown(void **state)
{
	struct cost_params p;
	struct cost_event ev[4];
	struct cost_input in;
	struct cost_view *v;
	struct cost *c;

	(void)state;
	cost__params_default(&p);
	c = cost__new(&p);
	in = input("quiet", 0, 0, 0, 0, NULL, 0);
	cost__update(c, T0, &in, 1, ev, 4);
	in = input("quiet", 9e9, 9e9, 9e9, 0, NULL, 0);
	cost__update(c, T0 + 1, &in, 1, ev, 4);
	v = cost__view(c, T0 + 1);
	assert_int_equal(v->n, 0);
	cost__view_free(v);
	in = input("quiet", 9e9, 9e9, 9e9, 0.01, NULL, 0);
	cost__update(c, T0 + 2, &in, 1, ev, 4);
	v = cost__view(c, T0 + 2);
	assert_int_equal(v->n, 1);
	assert_near(v->agents[0].spent, 0.01);
	cost__view_free(v);
	cost__free(c);
}

/* Beyond COST_AGENTS_MAX agents, the one seen longest ago gives its place; the rest stay. */
static void test_many_agents(void **state)
{
	struct cost_params p = params();
	struct cost *c = cost__new(&p);
	static char names[COST_AGENTS_MAX + 1][SW_NAME_LEN];
	struct cost_event ev[4];
	struct cost_input in;
	struct cost_view *v;
	int i, round;

	(void)state;
	for (i = 0; i <= COST_AGENTS_MAX; i++)
		snprintf(names[i], SW_NAME_LEN, "agent%d", i);
	/* The last one takes agent0's place; then the others spend 1 USD each, found again. */
	for (round = 0; round < 2; round++)
		for (i = round; i <= COST_AGENTS_MAX; i++) {
			in = input(names[i], (uint64_t)round * 2000000000ULL, 0, 0, 0, NULL, 0);
			assert_int_equal(cost__update(c, T0 + round * 10000 + i, &in, 1, ev, 4), 0);
		}
	v = cost__view(c, T0 + 20000);
	assert_int_equal(v->n, COST_AGENTS_MAX);
	assert_null(agent_of(v, "agent0"));
	assert_near(agent_of(v, "agent1")->spent, 1);
	assert_near(agent_of(v, names[COST_AGENTS_MAX])->spent, 1);
	cost__view_free(v);
	cost__free(c);
}

static void test_bad_params(void **state)
{
	struct cost_params p = params();

	(void)state;
	p.base.daily_budget_usd = 0;
	assert_null(cost__new(&p));
	assert_int_equal(errno, EINVAL);
	p = params();
	p.emergency_ratio = p.warning_ratio;
	assert_null(cost__new(&p));
	p = params();
	p.base.prices[0].request_usd = NAN;
	assert_null(cost__new(&p));
}

static void test_expand(void **state)
{
	struct cost_event e = {.type = COST_EMERGENCY, .day = 20422, .spent = 9.5, .budget = 10};
	char out[64];

	(void)state;
	snprintf(e.agent, sizeof(e.agent), "coder");
	assert_int_equal(costing__expand("--pool={agent}", &e, out, sizeof(out)), 0);
	assert_string_equal(out, "--pool=coder");
	assert_int_equal(costing__expand("{day}:{spent_usd}/{budget_usd}{x}", &e, out, sizeof(out)),
			 0);
	assert_string_equal(out, "2025-11-30:9.500000/10.000000{x}");
	assert_int_equal(costing__expand("{agent}{agent}", &e, out, 10), -ENOSPC);
	assert_int_equal(costing__expand("0123456789", &e, out, 10), -ENOSPC);
}

static const struct catalog_family app_cost = {.name = "swarmwatch_agent_app_cost_usd_total",
					       .type = CATALOG_COUNTER};
static const struct catalog_family app_other = {.name = "swarmwatch_agent_app_tokens_total",
						.type = CATALOG_COUNTER};
static const struct catalog_family app_llm = {.name = "swarmwatch_agent_app_llm_cost_usd_total",
					      .type = CATALOG_COUNTER};
static const char *const kind_labels[] = {"agent", "kind"};
static const struct catalog_family app_tagged = {.name = "swarmwatch_agent_app_cost_usd_total",
						 .type = CATALOG_COUNTER,
						 .labels = kind_labels,
						 .nlabels = 2};

/* A snapshot of two agents with requests in every role and status, and app counters. */
static struct snapshot *snap(double t, uint64_t cpu_ns)
{
	struct snapshot *s = snapshot__new();
	struct app_view *av;
	int i;

	assert_non_null(s);
	s->time = t;
	s->nagents = 2;
	s->agents = calloc(2, sizeof(*s->agents));
	snprintf(s->agents[0].name, SW_NAME_LEN, "tcost-a");
	snprintf(s->agents[1].name, SW_NAME_LEN, "tcost-b");
	s->agents[0].s.cpu_ns = cpu_ns;
	s->agents[0].s.net_sent_bytes = 100;
	s->nrequests = 5;
	s->requests = calloc(5, sizeof(*s->requests));
	for (i = 0; i < 5; i++) {
		s->requests[i].agent = i < 4 ? 0 : 1;
		snprintf(s->requests[i].upstream, sizeof(s->requests[i].upstream), "llm-api");
		s->requests[i].role = i == 3 ? SW_ROLE_SERVER : SW_ROLE_CLIENT;
		s->requests[i].count = 10 * (i + 1);
	}
	s->requests[0].status = 2;
	s->requests[1].status = 5;
	s->requests[2].status = 3;
	s->requests[3].status = 2; /* server: not the agent's spend */
	s->requests[4].status = SW_STATUS_429;
	av = calloc(1, sizeof(*av) + 8);
	av->samples = calloc(3, sizeof(*av->samples));
	av->n = 3;
	av->strings[0] = 0;
	av->samples[0].fam = &app_cost;
	av->samples[0].values[0] = "tcost-a";
	av->samples[0].value = 0.5;
	av->samples[1].fam = &app_cost;
	av->samples[1].values[0] = "tcost-a";
	av->samples[1].value = 0.25; /* another tag value: summed */
	av->samples[2].fam = &app_other;
	av->samples[2].values[0] = "tcost-a";
	av->samples[2].value = 1000;
	s->apps = av;
	s->apps_free = NULL;
	return s;
}

static void free_snap(struct snapshot *s)
{
	free(s->apps->samples);
	free(s->apps);
	s->apps = NULL;
	snapshot__put(s);
}

static void test_inputs(void **state)
{
	struct snapshot *s = snap(T0, 5);
	struct cost_requests *reqs;
	struct cost_input *in;

	(void)state;
	assert_int_equal(costing__inputs(s, &in, &reqs), 2);
	assert_string_equal(in[0].agent, "tcost-a");
	assert_true(in[0].cpu_ns == 5 && in[0].sent_bytes == 100);
	assert_near(in[0].app_usd, 0.75);
	assert_int_equal(in[0].nrequests, 1);
	assert_string_equal(in[0].requests[0].upstream, "llm-api");
	assert_true(in[0].requests[0].requests == 10 + 20 + 30);
	assert_true(in[0].requests[0].successes == 10 + 30);
	assert_int_equal(in[1].nrequests, 1);
	assert_true(in[1].requests[0].requests == 50 && in[1].requests[0].successes == 0);
	assert_near(in[1].app_usd, 0);
	free(in);
	free(reqs);
	free_snap(s);
}

/*
 * The LLM inputs: the wire's spend since start from the LLM view, the app's LLM costs (by name
 * or kind=llm tag) apart from its other costs.
 */
static void test_inputs_llm(void **state)
{
	struct snapshot *s = snap(T0, 5);
	struct app_sample smp[4] = {0};
	struct llm_view lv = {0};
	double total[2] = {1.5, -1};
	struct cost_requests *reqs;
	struct cost_input *in;
	struct app_view *keep = s->apps;
	struct app_view *av = calloc(1, sizeof(*av) + 8);

	(void)state;
	assert_non_null(av);
	smp[0].fam = &app_cost;
	smp[0].values[0] = "tcost-a";
	smp[0].value = 0.5;
	smp[1].fam = &app_llm;
	smp[1].values[0] = "tcost-a";
	smp[1].value = 0.3;
	smp[2].fam = &app_tagged;
	smp[2].values[0] = "tcost-a";
	smp[2].values[1] = "llm";
	smp[2].value = 0.2;
	smp[3].fam = &app_tagged;
	smp[3].values[0] = "tcost-b";
	smp[3].values[1] = "tools";
	smp[3].value = 0.125;
	av->samples = smp;
	av->n = 4;
	s->apps = av;
	lv.spend_total = total;
	s->llm = &lv;
	assert_int_equal(costing__inputs(s, &in, &reqs), 2);
	assert_near(in[0].app_usd, 0.5);
	assert_near(in[0].app_llm_usd, 0.5);
	assert_near(in[0].llm_usd, 1.5);
	assert_near(in[1].app_usd, 0.125);
	assert_near(in[1].app_llm_usd, 0);
	assert_true(isnan(in[1].llm_usd)); /* never cost on the wire */
	free(in);
	free(reqs);
	s->llm = NULL;
	s->apps = keep;
	free(av);
	free_snap(s);
}

/* The stage: the emergency command runs once for the day, however long the agent goes on. */
static void test_emergency_command_once(void **state)
{
	char dir[] = "/tmp/test_cost.XXXXXX", file[128], line[128], err[256];
	struct cost_params p;
	struct costing *g;
	struct snapshot *s;
	int i, lines = 0;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(file, sizeof(file), "%s/ran", dir);
	cost__params_default(&p);
	p.base.cpu_second_usd = 1;
	p.base.daily_budget_usd = 1;
	p.base.app_costs = false;
	p.emergency.argc = 3;
	snprintf(p.emergency.argv[0], COST_ARG_LEN, "/bin/sh");
	snprintf(p.emergency.argv[1], COST_ARG_LEN, "-c");
	snprintf(p.emergency.argv[2], COST_ARG_LEN, "echo {agent} {budget_usd} >> %s", file);
	g = costing__new(&p, NULL, NULL, err, sizeof(err));
	assert_non_null(g);
	/* 0.3 USD a tick: 80 % at the 3rd, 95 % at the 4th, then on past the budget. */
	for (i = 0; i < 8; i++) {
		s = snap(T0 + i, (uint64_t)i * 300000000ULL);
		assert_int_equal(costing__tick(g, s), 0);
		assert_non_null(s->cost);
		if (i == 7) {
			const struct cost_agent_view *a = agent_of(s->cost, "tcost-a");

			assert_true(a->emergency && a->usage > 2);
		}
		free_snap(s);
	}
	for (i = 0; i < 50 && access(file, F_OK); i++)
		usleep(100000);
	usleep(200000);
	s = snap(T0 + 9, 9 * 300000000ULL);
	assert_int_equal(costing__tick(g, s), 0); /* reaps the command */
	assert_int_equal(s->cost->actions[0][0], 1);
	assert_int_equal(s->cost->actions[0][1], 0);
	free_snap(s);
	costing__free(g);
	f = fopen(file, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		assert_string_equal(line, "tcost-a 1.000000\n");
		lines++;
	}
	fclose(f);
	assert_int_equal(lines, 1);
	unlink(file);
	rmdir(dir);
	/* A receiver without an outbox is refused. */
	snprintf(p.emergency.receiver, sizeof(p.emergency.receiver), "ops");
	assert_null(costing__new(&p, NULL, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "no outbox"));
}

/* A command past its timeout is stopped (its process group) and counted as timed out. */
static void test_emergency_command_timeout(void **state)
{
	struct cost_params p;
	struct costing *g;
	struct snapshot *s;
	char err[256];
	int i;

	(void)state;
	cost__params_default(&p);
	p.base.cpu_second_usd = 1;
	p.base.daily_budget_usd = 1;
	p.emergency.argc = 2;
	p.emergency.timeout_ms = 200;
	snprintf(p.emergency.argv[0], COST_ARG_LEN, "/bin/sleep");
	snprintf(p.emergency.argv[1], COST_ARG_LEN, "30");
	g = costing__new(&p, NULL, NULL, err, sizeof(err));
	assert_non_null(g);
	s = snap(T0, 0);
	assert_int_equal(costing__tick(g, s), 0);
	free_snap(s);
	s = snap(T0 + 1, 2000000000ULL); /* 2 USD of 1: the emergency, the command starts */
	assert_int_equal(costing__tick(g, s), 0);
	free_snap(s);
	for (i = 0; i < 50; i++) {
		usleep(100000);
		s = snap(T0 + 2 + i, 2000000000ULL);
		assert_int_equal(costing__tick(g, s), 0);
		if (s->cost->actions[0][2]) {
			free_snap(s);
			break;
		}
		free_snap(s);
	}
	assert_true(i < 50);
	s = snap(T0 + 60, 2000000000ULL);
	assert_int_equal(costing__tick(g, s), 0);
	assert_int_equal(s->cost->actions[0][0], 0);
	assert_int_equal(s->cost->actions[0][1], 0);
	assert_int_equal(s->cost->actions[0][2], 1);
	free_snap(s);
	costing__free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_arithmetic),
		cmocka_unit_test(test_reset_and_override),
		cmocka_unit_test(test_thresholds_once_per_day),
		cmocka_unit_test(test_day_rollover),
		cmocka_unit_test(test_save_restore),
		cmocka_unit_test(test_forecast),
		cmocka_unit_test(test_forecast_steady),
		cmocka_unit_test(test_recommendations),
		cmocka_unit_test(test_shown),
		cmocka_unit_test(test_many_agents),
		cmocka_unit_test(test_bad_params),
		cmocka_unit_test(test_expand),
		cmocka_unit_test(test_inputs),
		cmocka_unit_test(test_inputs_llm),
		cmocka_unit_test(test_llm_sources),
		cmocka_unit_test(test_llm_restart),
		cmocka_unit_test(test_emergency_command_once),
		cmocka_unit_test(test_emergency_command_timeout),
	};

	return cmocka_run_group_tests_name("cost", tests, NULL, NULL);
}
