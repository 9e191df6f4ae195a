// SPDX-License-Identifier: MIT
/*
 * Circuit breaker: every transition, the error-ratio threshold both ways, the minimum number of
 * requests, consecutive failures, the open wait and its doubling up to the cap, half-open
 * probes, and the sliding window. Time is driven by the test.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "breaker.h"

#define T0 1764529200000LL
#define S 1000LL

static struct breaker_params params(void)
{
	struct breaker_params p;

	breaker__params_default(&p);
	return p;
}

/* Feeds one batch and expects exactly `want` changes, the last to `to`. */
static void feed(struct breaker *b, const struct breaker_params *p, int64_t t, uint32_t ok,
		 uint32_t failed, int want, enum breaker_state to)
{
	struct breaker_change c[2];
	int n = breaker__update(b, p, t, ok, failed, c);

	assert_int_equal(n, want);
	if (n) {
		assert_int_equal(c[n - 1].to, to);
		assert_int_equal(c[n - 1].time_ms, t);
		assert_true(c[n - 1].reason[0]);
	}
	assert_int_equal(b->state, to);
}

static void test_defaults_and_check(void **state)
{
	struct breaker_params p = params();
	char err[128];

	(void)state;
	assert_int_equal(breaker__check(&p, err, sizeof(err)), 0);
	assert_true(p.open_wait_ms == 30 * S && p.open_wait_max_ms == 300 * S);
	p.error_ratio = 0;
	assert_int_equal(breaker__check(&p, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "error_ratio"));
	p = params();
	p.error_ratio = 1.5;
	assert_int_equal(breaker__check(&p, err, sizeof(err)), -EINVAL);
	p = params();
	p.min_requests = 0;
	assert_int_equal(breaker__check(&p, err, sizeof(err)), -EINVAL);
	p = params();
	p.open_wait_max_ms = p.open_wait_ms - 1;
	assert_int_equal(breaker__check(&p, err, sizeof(err)), -EINVAL);
	p = params();
	p.half_open_successes = 0;
	assert_int_equal(breaker__check(&p, err, sizeof(err)), -EINVAL);
	p = params();
	p.window_ms = 5;
	assert_int_equal(breaker__check(&p, err, sizeof(err)), -EINVAL);
}

/* At the error ratio it opens; just below it stays closed. */
static void test_error_ratio_threshold(void **state)
{
	struct breaker_params p = params();
	struct breaker b;

	(void)state;
	p.consecutive_failures = 0;
	breaker__init(&b, T0);
	feed(&b, &p, T0 + S, 6, 4, 0, BREAKER_CLOSED); /* 0.4 < 0.5 */
	feed(&b, &p, T0 + 2 * S, 1, 1, 0, BREAKER_CLOSED); /* 5 / 12 */
	feed(&b, &p, T0 + 3 * S, 0, 1, 0, BREAKER_CLOSED); /* 6 / 13 */
	feed(&b, &p, T0 + 4 * S, 0, 1, 1, BREAKER_OPEN); /* 7 / 14 = 0.5 */
	assert_int_equal(b.until_ms, T0 + 4 * S + p.open_wait_ms);
}

/* Below min_requests no ratio opens it, not even every request failing. */
static void test_min_requests(void **state)
{
	struct breaker_params p = params();
	struct breaker b;

	(void)state;
	p.consecutive_failures = 0;
	breaker__init(&b, T0);
	feed(&b, &p, T0 + S, 0, 9, 0, BREAKER_CLOSED);
	feed(&b, &p, T0 + 2 * S, 0, 1, 1, BREAKER_OPEN); /* the 10th request */
}

/* Consecutive failures open it at the threshold; a success ends the run. */
static void test_consecutive_failures(void **state)
{
	struct breaker_params p = params();
	struct breaker b;

	(void)state;
	p.min_requests = 1000; /* the ratio never counts */
	breaker__init(&b, T0);
	feed(&b, &p, T0 + S, 0, 4, 0, BREAKER_CLOSED);
	feed(&b, &p, T0 + 2 * S, 1, 3, 0, BREAKER_CLOSED); /* a success in the batch */
	assert_int_equal(b.consecutive, 0);
	feed(&b, &p, T0 + 3 * S, 0, 4, 0, BREAKER_CLOSED);
	feed(&b, &p, T0 + 4 * S, 0, 1, 1, BREAKER_OPEN);
	/* Off when 0. */
	p.consecutive_failures = 0;
	breaker__init(&b, T0);
	feed(&b, &p, T0 + S, 0, 100, 0, BREAKER_CLOSED);
}

/* Failures older than the window no longer count. */
static void test_window_slides(void **state)
{
	struct breaker_params p = params();
	struct breaker b;
	uint32_t ok, failed;

	(void)state;
	p.consecutive_failures = 0;
	breaker__init(&b, T0);
	feed(&b, &p, T0, 0, 9, 0, BREAKER_CLOSED);
	breaker__window(&b, &p, T0 + 29 * S, &ok, &failed);
	assert_int_equal(failed, 9);
	breaker__window(&b, &p, T0 + 31 * S, &ok, &failed);
	assert_int_equal(failed, 0);
	feed(&b, &p, T0 + 31 * S, 6, 4, 0, BREAKER_CLOSED); /* 4 / 10: only the new ones */
	breaker__window(&b, &p, T0 + 31 * S, &ok, &failed);
	assert_int_equal(ok, 6);
	assert_int_equal(failed, 4);
	feed(&b, &p, T0 + 32 * S, 0, 0, 0, BREAKER_CLOSED); /* nothing: nothing changes */
	feed(&b, &p, T0 + 33 * S, 0, 2, 1, BREAKER_OPEN); /* 6 / 12 */
}

/* Open waits, then turns half-open even without traffic; outcomes while open are ignored. */
static void test_open_wait(void **state)
{
	struct breaker_params p = params();
	struct breaker b;

	(void)state;
	breaker__init(&b, T0);
	feed(&b, &p, T0, 0, 5, 1, BREAKER_OPEN);
	feed(&b, &p, T0 + 29 * S, 100, 100, 0, BREAKER_OPEN);
	feed(&b, &p, T0 + 30 * S - 1, 0, 0, 0, BREAKER_OPEN);
	feed(&b, &p, T0 + 30 * S, 0, 0, 1, BREAKER_HALF_OPEN);
}

/* Half-open closes after N successes and reopens on a failure. */
static void test_half_open_probes(void **state)
{
	struct breaker_params p = params();
	struct breaker_change c[2];
	struct breaker b;

	(void)state;
	breaker__init(&b, T0);
	feed(&b, &p, T0, 0, 5, 1, BREAKER_OPEN);
	feed(&b, &p, T0 + 30 * S, 0, 0, 1, BREAKER_HALF_OPEN);
	feed(&b, &p, T0 + 31 * S, 2, 0, 0, BREAKER_HALF_OPEN);
	feed(&b, &p, T0 + 32 * S, 1, 0, 1, BREAKER_CLOSED);
	/* Closed again with an empty window and the first wait. */
	feed(&b, &p, T0 + 33 * S, 0, 5, 1, BREAKER_OPEN);
	assert_int_equal(b.wait_ms, p.open_wait_ms);
	/*
	 * The wait ends with a batch made while it was open (a failure in it): half-open, and
	 * nothing of that batch counts as a probe. The next batch's failure reopens it.
	 */
	assert_int_equal(breaker__update(&b, &p, T0 + 63 * S, 3, 1, c), 1);
	assert_int_equal(c[0].from, BREAKER_OPEN);
	assert_int_equal(c[0].to, BREAKER_HALF_OPEN);
	assert_int_equal(b.state, BREAKER_HALF_OPEN);
	assert_int_equal(b.probes, 0);
	feed(&b, &p, T0 + 64 * S, 2, 1, 1, BREAKER_OPEN);
	assert_int_equal(b.wait_ms, 2 * p.open_wait_ms);
}

/* Each reopening from half-open doubles the wait, up to the cap; closing resets it. */
static void test_wait_doubles_to_cap(void **state)
{
	struct breaker_params p = params();
	int64_t t = T0, want[] = {30, 60, 120, 240, 300, 300};
	struct breaker b;
	size_t i;

	(void)state;
	breaker__init(&b, t);
	feed(&b, &p, t, 0, 5, 1, BREAKER_OPEN);
	assert_int_equal(b.wait_ms, want[0] * S);
	for (i = 1; i < sizeof(want) / sizeof(want[0]); i++) {
		t = b.until_ms;
		feed(&b, &p, t, 0, 0, 1, BREAKER_HALF_OPEN);
		feed(&b, &p, t + 1, 0, 1, 1, BREAKER_OPEN);
		assert_int_equal(b.wait_ms, want[i] * S);
		assert_int_equal(b.until_ms, t + 1 + want[i] * S);
	}
	t = b.until_ms;
	feed(&b, &p, t, 3, 0, 1, BREAKER_HALF_OPEN);
	feed(&b, &p, t + 1, 3, 0, 1, BREAKER_CLOSED);
	feed(&b, &p, t + 2, 0, 5, 1, BREAKER_OPEN);
	assert_int_equal(b.wait_ms, 30 * S);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_and_check),
		cmocka_unit_test(test_error_ratio_threshold),
		cmocka_unit_test(test_min_requests),
		cmocka_unit_test(test_consecutive_failures),
		cmocka_unit_test(test_window_slides),
		cmocka_unit_test(test_open_wait),
		cmocka_unit_test(test_half_open_probes),
		cmocka_unit_test(test_wait_doubles_to_cap),
	};

	return cmocka_run_group_tests_name("breaker", tests, NULL, NULL);
}
