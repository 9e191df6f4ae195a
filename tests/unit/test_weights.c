// SPDX-License-Identifier: MIT
/* Routing weights: each algorithm, open breakers at 0, the sum of 1, edge cases. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <math.h>

#include "weights.h"

#define EPS 1e-9

static struct weights_in inst(void)
{
	return (struct weights_in){.configured = NAN,
				   .connections = 0,
				   .success_ratio = NAN,
				   .latency_s = NAN,
				   .quality = NAN};
}

static void test_names(void **state)
{
	enum weights_algorithm a;
	int i;

	(void)state;
	for (i = 0; i < WEIGHTS_ALGORITHMS; i++) {
		assert_int_equal(weights__algorithm(weights_algorithm_names[i], &a), 0);
		assert_int_equal(a, i);
	}
	assert_int_equal(weights__algorithm("random", &a), -EINVAL);
	assert_int_equal(weights__compute(WEIGHTS_ALGORITHMS, NULL, 0, NULL), -EINVAL);
}

static void test_round_robin(void **state)
{
	struct weights_in in[4] = {inst(), inst(), inst(), inst()};
	double w[4];

	(void)state;
	in[1].connections = 50; /* ignored */
	assert_int_equal(weights__compute(WEIGHTS_ROUND_ROBIN, in, 4, w), 0);
	assert_float_equal(w[0], 0.25, EPS);
	assert_float_equal(w[3], 0.25, EPS);
	in[2].open = true;
	assert_int_equal(weights__compute(WEIGHTS_ROUND_ROBIN, in, 4, w), 0);
	assert_float_equal(w[2], 0, EPS);
	assert_float_equal(w[0], 1.0 / 3, EPS);
	assert_float_equal(w[0] + w[1] + w[3], 1, EPS);
}

static void test_weighted(void **state)
{
	struct weights_in in[3] = {inst(), inst(), inst()};
	double w[3];

	(void)state;
	in[0].configured = 3;
	in[1].configured = 1;
	/* in[2]: none configured, counts as 1 */
	assert_int_equal(weights__compute(WEIGHTS_WEIGHTED, in, 3, w), 0);
	assert_float_equal(w[0], 0.6, EPS);
	assert_float_equal(w[1], 0.2, EPS);
	assert_float_equal(w[2], 0.2, EPS);
	in[0].open = true;
	assert_int_equal(weights__compute(WEIGHTS_WEIGHTED, in, 3, w), 0);
	assert_float_equal(w[0], 0, EPS);
	assert_float_equal(w[1], 0.5, EPS);
	/* All configured at 0: all 0, nothing divided by 0. */
	in[0].open = false;
	in[0].configured = in[1].configured = in[2].configured = 0;
	assert_int_equal(weights__compute(WEIGHTS_WEIGHTED, in, 3, w), 0);
	assert_float_equal(w[0] + w[1] + w[2], 0, EPS);
}

static void test_least_connections(void **state)
{
	struct weights_in in[3] = {inst(), inst(), inst()};
	double w[3];

	(void)state;
	in[0].connections = 0; /* 1 */
	in[1].connections = 1; /* 1/2 */
	in[2].connections = 3; /* 1/4 */
	assert_int_equal(weights__compute(WEIGHTS_LEAST_CONNECTIONS, in, 3, w), 0);
	assert_float_equal(w[0], 1 / 1.75, EPS);
	assert_float_equal(w[1], 0.5 / 1.75, EPS);
	assert_float_equal(w[2], 0.25 / 1.75, EPS);
	assert_true(w[0] > w[1] && w[1] > w[2]);
	in[0].open = true;
	assert_int_equal(weights__compute(WEIGHTS_LEAST_CONNECTIONS, in, 3, w), 0);
	assert_float_equal(w[0], 0, EPS);
	assert_float_equal(w[1], 2.0 / 3, EPS);
}

static void test_quality(void **state)
{
	struct weights_in in[4] = {inst(), inst(), inst(), inst()};
	double w[4];

	(void)state;
	in[0].success_ratio = 1;
	in[0].latency_s = 0.1; /* 10 */
	in[1].success_ratio = 0.5;
	in[1].latency_s = 0.1; /* 5 */
	in[2].success_ratio = 1;
	in[2].latency_s = 0.2;
	in[2].quality = 0.5; /* 5 * 0.5 = 2.5 */
	/* in[3]: no request yet: the mean of the others, 17.5 / 3 */
	assert_int_equal(weights__compute(WEIGHTS_QUALITY, in, 4, w), 0);
	{
		double m = 17.5 / 3, sum = 17.5 + m;

		assert_float_equal(w[0], 10 / sum, EPS);
		assert_float_equal(w[1], 5 / sum, EPS);
		assert_float_equal(w[2], 2.5 / sum, EPS);
		assert_float_equal(w[3], m / sum, EPS);
	}
	/* An open breaker: 0, and its score leaves the mean. */
	in[0].open = true;
	assert_int_equal(weights__compute(WEIGHTS_QUALITY, in, 4, w), 0);
	assert_float_equal(w[0], 0, EPS);
	assert_float_equal(w[1], 5 / 11.25, EPS);
	assert_float_equal(w[3], 3.75 / 11.25, EPS);
	/* The latency floor of 1 ms keeps a 0 latency finite. */
	in[0].open = false;
	in[0].latency_s = 0;
	assert_int_equal(weights__compute(WEIGHTS_QUALITY, in, 4, w), 0);
	{
		double m = (1000 + 5 + 2.5) / 3;

		assert_float_equal(w[0], 1000 / (1007.5 + m), EPS);
	}
	/* Nobody scored: equal shares. */
	struct weights_in none[2] = {inst(), inst()};

	assert_int_equal(weights__compute(WEIGHTS_QUALITY, none, 2, w), 0);
	assert_float_equal(w[0], 0.5, EPS);
	assert_float_equal(w[1], 0.5, EPS);
}

/*
 * Instances that may take traffic all scored 0 (every app quality gauge at 0, or every request
 * failed before a breaker opened): they share the traffic equally, the open ones still get 0;
 * the weights do not all go to 0 while some breaker is closed.
 */
static void test_quality_all_zero(void **state)
{
	struct weights_in in[3] = {inst(), inst(), inst()};
	double w[3];

	(void)state;
	in[0].success_ratio = in[1].success_ratio = in[2].success_ratio = 1;
	in[0].latency_s = in[1].latency_s = in[2].latency_s = 0.1;
	in[0].quality = in[1].quality = in[2].quality = 0;
	assert_int_equal(weights__compute(WEIGHTS_QUALITY, in, 3, w), 0);
	assert_float_equal(w[0], 1.0 / 3, EPS);
	assert_float_equal(w[1], 1.0 / 3, EPS);
	assert_float_equal(w[2], 1.0 / 3, EPS);
	in[1].open = true;
	in[0].quality = in[2].quality = NAN;
	in[0].success_ratio = in[2].success_ratio = 0;
	assert_int_equal(weights__compute(WEIGHTS_QUALITY, in, 3, w), 0);
	assert_float_equal(w[0], 0.5, EPS);
	assert_float_equal(w[1], 0, EPS);
	assert_float_equal(w[2], 0.5, EPS);
}

/* Every breaker open: every weight 0. */
static void test_all_open(void **state)
{
	struct weights_in in[2] = {inst(), inst()};
	double w[2];
	int a;

	(void)state;
	in[0].open = in[1].open = true;
	in[0].success_ratio = in[1].success_ratio = 1;
	in[0].latency_s = in[1].latency_s = 1;
	for (a = 0; a < WEIGHTS_ALGORITHMS; a++) {
		assert_int_equal(weights__compute((enum weights_algorithm)a, in, 2, w), 0);
		assert_float_equal(w[0], 0, EPS);
		assert_float_equal(w[1], 0, EPS);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),	 cmocka_unit_test(test_round_robin),
		cmocka_unit_test(test_weighted), cmocka_unit_test(test_least_connections),
		cmocka_unit_test(test_quality),	 cmocka_unit_test(test_quality_all_zero),
		cmocka_unit_test(test_all_open),
	};

	return cmocka_run_group_tests_name("weights", tests, NULL, NULL);
}
