// SPDX-License-Identifier: MIT
/*
 * Incidents: one agent's signals in the order they departed with the earliest as the likely
 * cause, the window that joins and resolves, recommendations per kind, links between agents
 * that share an upstream, the cause handed to alerts, and the saved state across a restart.
 * Time is driven by the test (a fake clock in unix seconds, one tick a second).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "incident.h"

#define T0 1764529200.0 /* 2025-11-30T19:00:00Z */

static struct incident_tracker *tracker(double window)
{
	struct incident_params p;
	struct incident_tracker *x;

	incident__params_default(&p);
	assert_true(p.window_s == 60);
	p.window_s = window;
	x = incident__new(&p);
	assert_non_null(x);
	return x;
}

static struct incident_obs anom(const char *agent, const char *sig, enum incident_kind k,
				double since)
{
	return (struct incident_obs){agent, sig, INCIDENT_ANOMALY, k, since, "2 vs 1", false};
}

static struct incident_obs fired(const char *agent, const char *rule, enum incident_kind k,
				 double since)
{
	return (struct incident_obs){agent, rule, INCIDENT_ALERT, k, since, "0.7 vs threshold 0.05",
				     false};
}

/* The view's open incident of agent; fails the test when there is none. */
static const struct incident *open_of(struct incident_view *v, const char *agent)
{
	const struct incident *in = incident__view_open(v, agent);

	assert_non_null(in);
	return in;
}

static void test_order_and_cause(void **state)
{
	struct incident_tracker *x = tracker(60);
	struct incident_obs o[3];
	struct incident_view *v;
	const struct incident *in;

	(void)state;
	/* memory growth is seen first, though it departed after resident memory */
	o[0] = anom("coder", "resident_memory_growth", INCIDENT_MEMORY, T0 + 5);
	assert_true(incident__update(x, T0 + 6, o, 1, NULL, 0));
	o[1] = anom("coder", "resident_memory", INCIDENT_MEMORY, T0 + 3);
	assert_true(incident__update(x, T0 + 7, o, 2, NULL, 0));
	/* the same signals again change nothing a reader sees */
	assert_false(incident__update(x, T0 + 8, o, 2, NULL, 0));
	v = incident__view(x, T0 + 8);
	in = open_of(v, "coder");
	assert_int_equal(v->n, 1);
	assert_int_equal(in->id, 1);
	assert_int_equal(in->nsignals, 2);
	assert_string_equal(in->signals[0].name, "resident_memory");
	assert_string_equal(in->signals[1].name, "resident_memory_growth");
	assert_true(in->start == T0 + 3);
	assert_string_equal(in->cause, "resident_memory departed first (2 vs 1)");
	assert_string_equal(in->recommendation, "check the memory limit, and for a leak");
	incident__view_free(v);

	/* a crash-loop alert that was active before both becomes the likely cause */
	o[2] = fired("coder", "AgentCrashLoop", INCIDENT_CRASH, T0 + 1);
	assert_true(incident__update(x, T0 + 9, o, 3, NULL, 0));
	v = incident__view(x, T0 + 9);
	in = open_of(v, "coder");
	assert_int_equal(in->nsignals, 3);
	assert_string_equal(in->signals[0].name, "AgentCrashLoop");
	assert_int_equal(in->signals[0].source, INCIDENT_ALERT);
	assert_string_equal(in->signals[1].name, "resident_memory");
	assert_string_equal(in->cause, "AgentCrashLoop fired first (0.7 vs threshold 0.05)");
	assert_string_equal(in->recommendation, "crash loop: look at the exit codes");
	assert_true(in->start == T0 + 1);
	incident__view_free(v);

	/* another agent's signal is its own incident */
	o[0] = anom("planner", "cpu", INCIDENT_LOAD, T0 + 9);
	assert_true(incident__update(x, T0 + 10, o, 1, NULL, 0));
	v = incident__view(x, T0 + 10);
	assert_int_equal(v->count[INCIDENT_OPEN], 2);
	in = open_of(v, "planner");
	assert_int_equal(in->id, 2);
	assert_int_equal(in->nsignals, 1);
	assert_string_equal(in->recommendation, "scale up: the agent needs more instances or CPU");
	assert_int_equal(open_of(v, "coder")->nsignals, 3);
	incident__view_free(v);
	incident__free(x);
}

/* A signal that fell (less work) is listed in its order but is not named as the cause. */
static void test_fell_is_not_the_cause(void **state)
{
	struct incident_tracker *x = tracker(60);
	const struct incident_upstream ups[] = {{"coder", "llm-api", 9}};
	struct incident_obs o[2] = {
		anom("coder", "syscall_rate", INCIDENT_LOAD, T0),
		anom("coder", "request_latency_p50", INCIDENT_LATENCY, T0 + 2),
	};
	struct incident_view *v;
	const struct incident *in;
	char cause[160] = "";

	(void)state;
	o[0].fell = true;
	o[0].detail = "0 vs 12";
	incident__update(x, T0 + 1, o, 1, ups, 1);
	v = incident__view(x, T0 + 1);
	in = open_of(v, "coder");
	/* alone, it is the cause; less work is no reason to scale up */
	assert_string_equal(in->cause, "syscall_rate fell first (0 vs 12)");
	assert_string_equal(in->recommendation, "");
	incident__view_free(v);
	incident__update(x, T0 + 3, o, 2, ups, 1);
	v = incident__view(x, T0 + 3);
	in = open_of(v, "coder");
	assert_string_equal(in->signals[0].name, "syscall_rate");
	assert_true(in->signals[0].fell);
	assert_string_equal(in->cause, "request_latency_p50 departed first (2 vs 1)");
	assert_string_equal(in->recommendation, "check upstream llm-api: its latency rose");
	incident__alert_cause(v, "AgentLatencyHigh", "coder", cause, sizeof(cause));
	assert_string_equal(cause, "request_latency_p50 departed first (2 vs 1); check upstream "
				   "llm-api: its latency rose");
	incident__view_free(v);
	incident__free(x);
}

static void test_equal_times_and_overflow(void **state)
{
	struct incident_tracker *x = tracker(60);
	struct incident_obs o[INCIDENT_SIGNALS_MAX + 2];
	char names[INCIDENT_SIGNALS_MAX + 2][16];
	struct incident_view *v;
	const struct incident *in;
	int i;

	(void)state;
	for (i = 0; i < INCIDENT_SIGNALS_MAX + 2; i++) {
		snprintf(names[i], sizeof(names[i]), "s%02d", i);
		/* all depart at once but the last, which departed before them all */
		o[i] = anom("tester", names[i], INCIDENT_OTHER,
			    i == INCIDENT_SIGNALS_MAX + 1 ? T0 - 1 : T0);
	}
	incident__update(x, T0 + 1, o, INCIDENT_SIGNALS_MAX + 2, NULL, 0);
	v = incident__view(x, T0 + 1);
	in = open_of(v, "tester");
	assert_int_equal(in->nsignals, INCIDENT_SIGNALS_MAX);
	assert_int_equal(in->more, 2);
	assert_string_equal(in->signals[0].name, "s13"); /* the earliest, though seen last */
	assert_string_equal(in->signals[1].name, "s00"); /* equal times keep arrival order */
	assert_string_equal(in->signals[2].name, "s01");
	assert_string_equal(in->recommendation, ""); /* no kind: nothing follows */
	incident__view_free(v);
	/* seen again, the ones left out are not counted again */
	incident__update(x, T0 + 2, o, INCIDENT_SIGNALS_MAX + 2, NULL, 0);
	v = incident__view(x, T0 + 2);
	assert_int_equal(open_of(v, "tester")->more, 2);
	incident__view_free(v);
	incident__free(x);
}

static void test_window(void **state)
{
	struct incident_tracker *x = tracker(30);
	struct incident_obs a = anom("coder", "request_latency_p99", INCIDENT_LATENCY, T0);
	struct incident_obs b = anom("coder", "cpu", INCIDENT_LOAD, T0 + 30);
	struct incident_obs c = anom("coder", "cpu", INCIDENT_LOAD, T0 + 100);
	struct incident_view *v;
	const struct incident *in;
	double t;

	(void)state;
	for (t = T0 + 1; t <= T0 + 10; t++)
		incident__update(x, t, &a, 1, NULL, 0);
	/* silent for 29 s: still open; b departs a window after a, so it joins */
	assert_false(incident__update(x, T0 + 39, NULL, 0, NULL, 0));
	assert_true(incident__update(x, T0 + 40, &b, 1, NULL, 0));
	v = incident__view(x, T0 + 40);
	in = open_of(v, "coder");
	assert_int_equal(v->n, 1);
	assert_int_equal(in->nsignals, 2);
	assert_string_equal(in->signals[0].name, "request_latency_p99");
	assert_string_equal(in->signals[1].name, "cpu");
	incident__view_free(v);

	/* nothing for a whole window after the last signal: resolved, ending at that signal */
	assert_false(incident__update(x, T0 + 69, NULL, 0, NULL, 0));
	assert_true(incident__update(x, T0 + 70, NULL, 0, NULL, 0));
	v = incident__view(x, T0 + 70);
	assert_null(incident__view_open(v, "coder"));
	assert_int_equal(v->count[INCIDENT_RESOLVED], 1);
	assert_int_equal(v->items[0].state, INCIDENT_RESOLVED);
	assert_true(v->items[0].end == T0 + 40);
	assert_true(v->items[0].start == T0);
	incident__view_free(v);

	/* a signal after that is a new incident */
	assert_true(incident__update(x, T0 + 101, &c, 1, NULL, 0));
	v = incident__view(x, T0 + 101);
	in = open_of(v, "coder");
	assert_int_equal(in->id, 2);
	assert_int_equal(in->nsignals, 1);
	assert_string_equal(in->signals[0].name, "cpu");
	assert_int_equal(v->n, 2);
	assert_int_equal(v->items[1].id, 1); /* open first, then resolved */
	assert_null(incident__view_get(v, 3));
	assert_non_null(incident__view_get(v, 1));
	incident__view_free(v);
	incident__free(x);
}

/* A departure a window after the incident's last one is a new incident, even while the old
 * incident's signals are still active; those stay with the old one. */
static void test_second_fault(void **state)
{
	struct incident_tracker *x = tracker(20);
	struct incident_obs o[] = {
		anom("reviewer", "request_latency_p50", INCIDENT_LATENCY, T0),
		anom("reviewer", "request_429_ratio", INCIDENT_THROTTLED, T0 + 15),
		anom("reviewer", "crash_loop", INCIDENT_CRASH, T0 + 80),
		anom("reviewer", "request_latency_p99", INCIDENT_LATENCY, T0 + 50),
	};
	struct incident_view *v;
	const struct incident *in;
	double t;

	(void)state;
	for (t = T0 + 1; t < T0 + 50; t++)
		incident__update(x, t, o, t < T0 + 16 ? 1 : 2, NULL, 0);
	/* of a kind it has: joins, though 35 s after the last departure */
	incident__update(x, T0 + 50, &o[3], 1, NULL, 0);
	for (t = T0 + 51; t < T0 + 81; t++)
		incident__update(x, t, o, 2, NULL, 0);
	/* a crash loop a window after the latest departure: a new incident */
	assert_true(incident__update(x, T0 + 81, o, 3, NULL, 0));
	for (t = T0 + 82; t < T0 + 90; t++)
		assert_false(incident__update(x, t, o, 3, NULL, 0));
	v = incident__view(x, T0 + 90);
	assert_int_equal(v->n, 2);
	in = open_of(v, "reviewer");
	assert_int_equal(in->id, 2);
	assert_int_equal(in->nsignals, 1);
	assert_string_equal(in->cause, "crash_loop departed first (2 vs 1)");
	assert_string_equal(in->recommendation, "crash loop: look at the exit codes");
	in = incident__view_get(v, 1);
	assert_int_equal(in->state, INCIDENT_RESOLVED);
	assert_true(in->end == T0 + 81);
	assert_int_equal(in->nsignals, 3);
	assert_string_equal(in->signals[2].name, "request_latency_p99");
	assert_string_equal(in->cause, "request_latency_p50 departed first (2 vs 1)");
	incident__view_free(v);
	incident__free(x);
}

static void test_link_by_upstream(void **state)
{
	struct incident_tracker *x = tracker(60);
	const struct incident_upstream ups[] = {
		{"coder", "llm-api", 900},  {"coder", "search", 1000}, {"planner", "llm-api", 300},
		{"tester", "llm-api", 50},  {"tester", "search", 20},  {"indexer", "search", 10},
		{"memhog", "llm-api", 500}, {"solo", "vector-db", 40},
	};
	struct incident_obs o[] = {
		anom("planner", "request_latency_p99", INCIDENT_LATENCY, T0 + 2),
		anom("coder", "request_latency_p50", INCIDENT_LATENCY, T0 + 1),
		fired("tester", "AgentLatencyHigh", INCIDENT_LATENCY, T0 + 3),
		anom("memhog", "resident_memory", INCIDENT_MEMORY, T0),
		anom("solo", "request_latency_p99", INCIDENT_LATENCY, T0),
	};
	struct incident_view *v;
	const struct incident *in, *c;
	uint32_t i;

	(void)state;
	incident__update(x, T0 + 5, o, 5, ups, sizeof(ups) / sizeof(ups[0]));
	v = incident__view(x, T0 + 5);
	c = open_of(v, "coder");
	/* llm-api is shared by the three with an upstream signal; search by two only */
	assert_string_equal(c->link, "llm-api latency rose for 3 agents");
	assert_string_equal(c->upstream, "llm-api");
	assert_string_equal(c->recommendation,
			    "check upstream llm-api: llm-api latency rose for 3 agents");
	assert_int_equal(c->nlinked, 2);
	for (i = 0; i < 2; i++) {
		in = incident__view_get(v, c->linked[i]);
		assert_non_null(in);
		assert_true(!strcmp(in->agent, "planner") || !strcmp(in->agent, "tester"));
		assert_string_equal(in->link, c->link);
		assert_int_equal(in->nlinked, 2);
	}
	/* memory is not an upstream signal; solo shares nothing */
	in = open_of(v, "memhog");
	assert_string_equal(in->link, "");
	assert_int_equal(in->nlinked, 0);
	in = open_of(v, "solo");
	assert_string_equal(in->link, "");
	assert_string_equal(in->upstream, "vector-db");
	assert_string_equal(in->recommendation, "check upstream vector-db: its latency rose");
	incident__view_free(v);

	/* planner recovers and resolves: the link counts the two left */
	incident__update(x, T0 + 70, &o[1], 2, ups, sizeof(ups) / sizeof(ups[0]));
	v = incident__view(x, T0 + 70);
	assert_null(incident__view_open(v, "planner"));
	assert_string_equal(open_of(v, "coder")->link, "llm-api latency rose for 2 agents");
	assert_int_equal(open_of(v, "tester")->nlinked, 1);
	incident__view_free(v);
	incident__free(x);
}

static void test_failures_link_and_no_upstream(void **state)
{
	struct incident_tracker *x = tracker(60);
	const struct incident_upstream ups[] = {{"a", "llm-api", 5}, {"b", "llm-api", 5}};
	struct incident_obs o[] = {
		anom("a", "request_failure_ratio", INCIDENT_FAILURES, T0),
		anom("b", "request_429_ratio", INCIDENT_THROTTLED, T0 + 1),
		anom("c", "request_failure_ratio", INCIDENT_FAILURES, T0),
		anom("a", "cpu", INCIDENT_LOAD, T0 - 1),
	};
	struct incident_view *v;

	(void)state;
	incident__update(x, T0 + 2, o, 4, ups, 2);
	v = incident__view(x, T0 + 2);
	/* the word comes from the group's earliest incident */
	assert_string_equal(open_of(v, "a")->link, "llm-api failures rose for 2 agents");
	assert_string_equal(open_of(v, "b")->link, "llm-api failures rose for 2 agents");
	/* a's CPU came first, but agents failing together on one upstream is the advice */
	assert_string_equal(open_of(v, "a")->cause, "cpu departed first (2 vs 1)");
	assert_string_equal(open_of(v, "a")->recommendation,
			    "check upstream llm-api: llm-api failures rose for 2 agents");
	assert_string_equal(open_of(v, "c")->recommendation,
			    "check the agent's upstreams: failures rose");
	incident__view_free(v);
	incident__free(x);
}

static void test_alert_cause(void **state)
{
	struct incident_tracker *x = tracker(60);
	struct incident_obs o[] = {
		anom("coder", "request_failure_ratio", INCIDENT_FAILURES, T0),
		fired("coder", "AgentErrorRatioHigh", INCIDENT_FAILURES, T0 + 2),
		fired("planner", "AgentErrorRatioHigh", INCIDENT_FAILURES, T0 + 1),
	};
	const struct incident_upstream ups[] = {{"coder", "llm-api", 5}};
	struct incident_view *v;
	char cause[160];

	(void)state;
	incident__update(x, T0 + 3, o, 3, ups, 1);
	v = incident__view(x, T0 + 3);
	/* an alert of coder: the anomaly came first and is the cause */
	snprintf(cause, sizeof(cause), "52 failed requests to llm-api");
	incident__alert_cause(v, "AgentErrorRatioHigh", "coder", cause, sizeof(cause));
	assert_string_equal(cause, "request_failure_ratio departed first (2 vs 1); check upstream "
				   "llm-api: its failures rose");
	/* planner's alert is its incident's first signal: its own words stay */
	snprintf(cause, sizeof(cause), "9 failed requests to tools");
	incident__alert_cause(v, "AgentErrorRatioHigh", "planner", cause, sizeof(cause));
	assert_string_equal(
		cause, "9 failed requests to tools; check the agent's upstreams: failures rose");
	/* no incident, or no view: unchanged; a short buffer drops the recommendation */
	snprintf(cause, sizeof(cause), "own");
	incident__alert_cause(v, "AgentErrorRatioHigh", "tester", cause, sizeof(cause));
	incident__alert_cause(NULL, "AgentErrorRatioHigh", "coder", cause, sizeof(cause));
	assert_string_equal(cause, "own");
	incident__alert_cause(v, "AgentErrorRatioHigh", "coder", cause, 48);
	assert_string_equal(cause, "request_failure_ratio departed first (2 vs 1)");
	incident__view_free(v);
	incident__free(x);
}

static void test_save_restore(void **state)
{
	struct incident_tracker *x = tracker(60), *y = tracker(60);
	const struct incident_upstream ups[] = {{"a", "llm-api", 5}, {"b", "llm-api", 5}};
	struct incident_obs o[] = {
		anom("a", "request_latency_p99", INCIDENT_LATENCY, T0),
		anom("b", "request_latency_p50", INCIDENT_LATENCY, T0 + 1),
		anom("old", "cpu", INCIDENT_LOAD, T0 - 200),
	};
	struct incident_view *v, *w;
	char *text, *again;
	size_t len, len2;
	uint32_t i;

	(void)state;
	o[2].fell = true;
	incident__update(x, T0 - 199, &o[2], 1, NULL, 0);
	incident__update(x, T0 + 2, o, 2, ups, 2); /* "old" resolves here */
	text = incident__save(x, &len);
	assert_non_null(text);
	assert_int_equal(strlen(text), len);

	/* not a state: refused, nothing changed */
	assert_int_equal(incident__restore(y, "{\"version\": 2}", 14, T0), -EINVAL);
	assert_int_equal(incident__restore(y, text, len - 1, T0), -EINVAL);
	v = incident__view(y, T0);
	assert_int_equal(v->n, 0);
	incident__view_free(v);

	/* restarted 50 s later: the open incidents are still open, with all they had */
	assert_int_equal(incident__restore(y, text, len, T0 + 52), 0);
	v = incident__view(x, T0 + 2);
	w = incident__view(y, T0 + 52);
	assert_int_equal(w->n, 3);
	assert_int_equal(w->count[INCIDENT_OPEN], 2);
	for (i = 0; i < v->n; i++)
		assert_memory_equal(&v->items[i], &w->items[i], sizeof(v->items[i]));
	assert_string_equal(open_of(w, "a")->link, "llm-api latency rose for 2 agents");
	incident__view_free(v);
	incident__view_free(w);
	again = incident__save(y, &len2);
	assert_string_equal(again, text);
	free(again);

	/* a window from the restart, not from the last signal, before they resolve */
	assert_false(incident__update(y, T0 + 111, NULL, 0, ups, 2));
	assert_non_null(incident__view_open(w = incident__view(y, T0 + 111), "a"));
	incident__view_free(w);
	/* b's signal comes back: b stays open, a resolves ending at its last signal */
	assert_true(incident__update(y, T0 + 112, &o[1], 1, ups, 2));
	w = incident__view(y, T0 + 112);
	assert_null(incident__view_open(w, "a"));
	assert_true(incident__view_get(w, 2)->end == T0 + 2);
	assert_int_equal(open_of(w, "b")->id, 3);
	assert_string_equal(open_of(w, "b")->link, "");
	incident__view_free(w);
	/* ids go on after the saved ones */
	o[0].since = T0 + 120;
	incident__update(y, T0 + 120, o, 1, ups, 2);
	w = incident__view(y, T0 + 120);
	assert_int_equal(open_of(w, "a")->id, 4);
	incident__view_free(w);
	free(text);
	incident__free(x);
	incident__free(y);
}

static void test_keep_bound_and_bad_params(void **state)
{
	struct incident_params p = {.window_s = 0};
	struct incident_tracker *x;
	struct incident_view *v;
	char agent[16];
	struct incident_obs o = anom(agent, "cpu", INCIDENT_LOAD, T0);
	int i;

	(void)state;
	assert_null(incident__new(&p));
	assert_int_equal(errno, EINVAL);
	x = tracker(1);
	/* more incidents than are kept: the oldest resolved give their place */
	for (i = 0; i < INCIDENT_KEEP + 10; i++) {
		snprintf(agent, sizeof(agent), "a%d", i);
		o.since = T0 + 2 * i;
		incident__update(x, T0 + 2 * i, &o, 1, NULL, 0);
	}
	v = incident__view(x, T0 + 2 * i);
	assert_int_equal(v->n, INCIDENT_KEEP);
	assert_null(incident__view_get(v, 10));
	assert_non_null(incident__view_get(v, 11));
	assert_non_null(incident__view_get(v, INCIDENT_KEEP + 10));
	incident__view_free(v);
	/* nameless observations are ignored */
	o.agent = "";
	assert_false(incident__update(x, T0 + 2 * (i - 1) + 0.5, &o, 1, NULL, 0));
	incident__free(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_and_cause),
		cmocka_unit_test(test_fell_is_not_the_cause),
		cmocka_unit_test(test_equal_times_and_overflow),
		cmocka_unit_test(test_window),
		cmocka_unit_test(test_second_fault),
		cmocka_unit_test(test_link_by_upstream),
		cmocka_unit_test(test_failures_link_and_no_upstream),
		cmocka_unit_test(test_alert_cause),
		cmocka_unit_test(test_save_restore),
		cmocka_unit_test(test_keep_bound_and_bad_params),
	};

	return cmocka_run_group_tests_name("incident", tests, NULL, NULL);
}
