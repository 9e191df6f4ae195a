// SPDX-License-Identifier: MIT
/*
 * Unit tests of the event verdicts (crash loop, OOM kill, restarts) on synthetic tick streams.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "events.h"

static struct events_delta none;

/* A crash loop is called at the tick of the third failed exit, with the count and the split. */
static void test_crash_loop_at_third_exit(void **state)
{
	struct events_delta err = {.exits_error = 1}, sig = {.exits_signal = 1};
	struct events_params p;
	struct events_state s;
	struct events_verdict v;
	char text[160];
	double t;

	(void)state;
	events__params_default(&p);
	assert_int_equal(events__init(&s, &p), 0);
	/* Exit 1 at t=10, a SIGSEGV at t=40: not yet a loop. */
	for (t = 0; t < 70; t++) {
		assert_int_equal(events__update(&s, t,
						t == 10	  ? &err
						: t == 40 ? &sig
							  : &none,
						&v),
				 0);
		assert_false(v.anomaly);
	}
	assert_int_equal(v.hit[EVENTS_CRASH_LOOP].count, 2);
	assert_int_equal(events__update(&s, 70, &err, &v), 0);
	assert_true(v.anomaly);
	assert_true(v.hit[EVENTS_CRASH_LOOP].active);
	assert_true(v.hit[EVENTS_CRASH_LOOP].raised);
	assert_int_equal(v.hit[EVENTS_CRASH_LOOP].count, 3);
	assert_int_equal(v.exits_error, 2);
	assert_int_equal(v.exits_signal, 1);
	assert_true(v.hit[EVENTS_CRASH_LOOP].first_ts == 10.0);
	assert_false(v.hit[EVENTS_OOM_KILL].active);
	events__explain(&v, text, sizeof(text));
	assert_string_equal(text, "crash loop: 3 error/signal exits in 300 s (2 error, 1 signal)");
	/* Still held at the next tick, but not raised again. */
	assert_int_equal(events__update(&s, 71, &none, &v), 0);
	assert_true(v.hit[EVENTS_CRASH_LOOP].active);
	assert_false(v.hit[EVENTS_CRASH_LOOP].raised);
}

/* Exits spread wider than the window never make a loop, and a loop clears once they age out. */
static void test_crash_loop_needs_the_window(void **state)
{
	struct events_delta err = {.exits_error = 1}, burst = {.exits_error = 3};
	struct events_params p;
	struct events_state s;
	struct events_verdict v;
	double t;

	(void)state;
	events__params_default(&p);
	assert_int_equal(events__init(&s, &p), 0);
	/* One failed exit every 200 s: at most 2 in any 300 s. */
	for (t = 0; t < 3000; t++) {
		assert_int_equal(events__update(&s, t, (long)t % 200 == 0 ? &err : &none, &v), 0);
		assert_false(v.hit[EVENTS_CRASH_LOOP].active);
	}
	assert_int_equal(events__update(&s, 3000, &burst, &v), 0);
	assert_true(v.hit[EVENTS_CRASH_LOOP].active);
	assert_int_equal(events__update(&s, 3000 + 299, &none, &v), 0);
	assert_true(v.hit[EVENTS_CRASH_LOOP].active);
	assert_int_equal(events__update(&s, 3000 + 301, &none, &v), 0);
	assert_false(v.anomaly);
	assert_int_equal(v.hit[EVENTS_CRASH_LOOP].count, 0);
}

/* One OOM kill is a verdict at once, on the very first tick of an agent. */
static void test_oom_kill_first_tick(void **state)
{
	struct events_delta oom = {.oom_kills = 1, .exits_signal = 1};
	struct events_params p;
	struct events_state s;
	struct events_verdict v;
	char text[160];

	(void)state;
	events__params_default(&p);
	assert_int_equal(events__init(&s, &p), 0);
	assert_int_equal(events__update(&s, 5.0, &oom, &v), 0);
	assert_true(v.anomaly);
	assert_true(v.hit[EVENTS_OOM_KILL].raised);
	assert_int_equal(v.hit[EVENTS_OOM_KILL].count, 1);
	assert_false(v.hit[EVENTS_CRASH_LOOP].active);
	events__explain(&v, text, sizeof(text));
	assert_string_equal(text, "1 OOM kill in 300 s");
}

/* Restarts: 5 starts in the window, counted across ticks; explanation names both rules. */
static void test_restarts_and_combined_text(void **state)
{
	struct events_delta start = {.starts = 1, .exits_error = 1};
	struct events_params p;
	struct events_state s;
	struct events_verdict v;
	char text[160];
	int i;

	(void)state;
	events__params_default(&p);
	assert_int_equal(events__init(&s, &p), 0);
	for (i = 0; i < 4; i++) {
		assert_int_equal(events__update(&s, i * 30.0, &start, &v), 0);
		assert_false(v.hit[EVENTS_RESTARTS].active);
	}
	assert_int_equal(events__update(&s, 120.0, &start, &v), 0);
	assert_true(v.hit[EVENTS_RESTARTS].raised);
	assert_int_equal(v.hit[EVENTS_RESTARTS].count, 5);
	events__explain(&v, text, sizeof(text));
	assert_string_equal(text, "crash loop: 5 error/signal exits in 300 s (5 error, 0 signal); "
				  "5 process starts in 300 s");
	/* A short buffer is cut, and the full length is still returned. */
	assert_int_equal(events__explain(&v, text, 8), (int)strlen("crash loop: 5 error/signal "
								   "exits in 300 s (5 error, 0 "
								   "signal); 5 process starts "
								   "in 300 s"));
	assert_string_equal(text, "crash l");
}

/* More event ticks than slots inside the window: nothing is lost. */
static void test_full_ring_keeps_counts(void **state)
{
	struct events_delta err = {.exits_error = 1};
	struct events_params p;
	struct events_state s;
	struct events_verdict v;
	int i;

	(void)state;
	events__params_default(&p);
	p.crash_exits = 100;
	assert_int_equal(events__init(&s, &p), 0);
	for (i = 0; i < 100; i++)
		assert_int_equal(events__update(&s, i, &err, &v), 0);
	assert_int_equal(v.hit[EVENTS_CRASH_LOOP].count, 100);
	assert_true(v.hit[EVENTS_CRASH_LOOP].raised);
}

static void test_bad_input(void **state)
{
	struct events_params p;
	struct events_state s;
	struct events_verdict v;

	(void)state;
	events__params_default(&p);
	p.window_s = 0;
	assert_int_equal(events__init(&s, &p), -EINVAL);
	events__params_default(&p);
	p.crash_exits = 0;
	assert_int_equal(events__init(&s, &p), -EINVAL);
	events__params_default(&p);
	assert_int_equal(events__init(&s, &p), 0);
	assert_int_equal(events__update(&s, NAN, &none, &v), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crash_loop_at_third_exit),
		cmocka_unit_test(test_crash_loop_needs_the_window),
		cmocka_unit_test(test_oom_kill_first_tick),
		cmocka_unit_test(test_restarts_and_combined_text),
		cmocka_unit_test(test_full_ring_keeps_counts),
		cmocka_unit_test(test_bad_input),
	};

	return cmocka_run_group_tests_name("events", tests, NULL, NULL);
}
