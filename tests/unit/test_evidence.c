// SPDX-License-Identifier: MIT
/*
 * Sampling uncertainty of request ratios and quantiles: the beta-binomial tail against closed
 * forms, order-statistic ranks against binomial sums done by hand, and the bounds read from
 * a log2 histogram.
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

#include "evidence.h"

static void test_betabinom_tail(void **state)
{
	long k;

	(void)state;
	/* Beta(1, 1): every count of 20 equally likely, P(X >= k) = (21 - k) / 21. */
	for (k = 0; k <= 20; k++)
		assert_float_equal(evidence__betabinom_tail(k, 20, 1, 1), (21.0 - k) / 21, 1e-9);
	/* Beta(1, b): P(X >= 1 of n) = 1 - b / (n + b), so one failure in 20 against a clean
	 * baseline of 1,200 requests is no 1-in-1000 event. */
	assert_float_equal(evidence__betabinom_tail(1, 20, 1, 1300), 20.0 / 1320, 1e-9);
	assert_true(evidence__betabinom_tail(1, 20, 1, 1300) > 0.001);
	/* Half of 20 failing against a 1 % prior is. */
	assert_true(evidence__betabinom_tail(10, 20, 1, 99) < 1e-6);
	/* A large b approaches the binomial: P(X >= 2 of 10 | p = 0.1) = 0.2639. */
	assert_float_equal(evidence__betabinom_tail(2, 10, 1e5, 9e5), 0.2639, 1e-3);
	assert_true(evidence__betabinom_tail(3, 2, 1, 1) < 0);
	assert_true(evidence__betabinom_tail(1, 2, 0, 1) < 0);
	assert_true(evidence__betabinom_tail(1, 2, 1, NAN) < 0);
}

static void test_quantile_rank(void **state)
{
	(void)state;
	/* The minimum of 10 is below the median with probability 1 - 0.5^10 = 0.99902: a bound
	 * at 1 in 1000; of 9 (0.998) it is not. */
	assert_int_equal(evidence__quantile_rank(10, 0.5, 0.001, false), 1);
	assert_int_equal(evidence__quantile_rank(9, 0.5, 0.001, false), 0);
	/* 20 samples, median at 1 %: P(Bin(20, .5) <= 4) = 0.0059, <= 5 is 0.0207. */
	assert_int_equal(evidence__quantile_rank(20, 0.5, 0.01, false), 5);
	assert_int_equal(evidence__quantile_rank(20, 0.5, 0.01, true), 16);
	/* 99th percentile of 20: three or more of them above it has probability 0.001. One or
	 * two slow calls never lift the bound. */
	assert_true(evidence__quantile_rank(20, 0.99, 0.001, false) <= 18);
	assert_true(evidence__quantile_rank(20, 0.99, 0.001, false) >= 17);
	/* No upper bound for a 99th percentile before 0.99^n <= alpha: 459 samples at 1 %. */
	assert_int_equal(evidence__quantile_rank(458, 0.99, 0.01, true), 459);
	assert_true(evidence__quantile_rank(459, 0.99, 0.01, true) <= 459);
	/* Large n: a median at 1 % lies within 2.33 standard deviations (sqrt(n) / 2) of n / 2. */
	assert_true(labs(evidence__quantile_rank(10000, 0.5, 0.01, false) - (5000 - 116)) <= 2);
	assert_true(labs(evidence__quantile_rank(10000, 0.5, 0.01, true) - (5000 + 117)) <= 2);
	/* Monotone in n. */
	assert_true(evidence__quantile_rank(401, 0.99, 0.001, false) >=
		    evidence__quantile_rank(400, 0.99, 0.001, false));
	assert_int_equal(evidence__quantile_rank(10, 1.0, 0.01, false), -EINVAL);
	assert_int_equal(evidence__quantile_rank(10, 0.5, 0.6, false), -EINVAL);
	assert_int_equal(evidence__quantile_rank(-1, 0.5, 0.01, false), -EINVAL);
}

static void test_log2_rank_value(void **state)
{
	double h[8] = {0}, v;

	(void)state;
	h[3] = 4; /* (4, 8] */
	h[5] = 1; /* (16, 32] */
	assert_int_equal(evidence__log2_rank_value(h, 8, 1, false, &v), 0);
	assert_float_equal(v, 4.0, 1e-12);
	assert_int_equal(evidence__log2_rank_value(h, 8, 1, true, &v), 0);
	assert_float_equal(v, 5.0, 1e-12);
	assert_int_equal(evidence__log2_rank_value(h, 8, 4, true, &v), 0);
	assert_float_equal(v, 8.0, 1e-12);
	assert_int_equal(evidence__log2_rank_value(h, 8, 5, false, &v), 0);
	assert_float_equal(v, 16.0, 1e-12);
	assert_int_equal(evidence__log2_rank_value(h, 8, 5, true, &v), 0);
	assert_float_equal(v, 32.0, 1e-12);
	assert_int_equal(evidence__log2_rank_value(h, 8, 6, false, &v), -ENODATA);
	assert_int_equal(evidence__log2_rank_value(h, 8, 0, false, &v), -ENODATA);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_betabinom_tail),
		cmocka_unit_test(test_quantile_rank),
		cmocka_unit_test(test_log2_rank_value),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
