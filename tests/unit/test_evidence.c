// SPDX-License-Identifier: MIT
/*
 * Sampling uncertainty of request ratios and quantiles: the beta-binomial tail against closed
 * forms and as an exceedance test, and order statistics read from a log2 histogram.
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

/*
 * Exceedance of a baseline's median: with m = 15 baseline requests, 14 of 15 new ones above
 * its 8th is rare (under 1 %), 10 of 15 is not; one of 20 above the maximum of 200 is common.
 */
static void test_exceedance(void **state)
{
	(void)state;
	assert_true(evidence__betabinom_tail(14, 15, 15 - 8 + 1, 8) < 0.01);
	assert_true(evidence__betabinom_tail(10, 15, 15 - 8 + 1, 8) > 0.05);
	assert_true(evidence__betabinom_tail(1, 20, 1, 200) > 0.05);
	assert_true(evidence__betabinom_tail(20, 20, 1, 200) < 1e-9);
}

/*
 * Counts far below the mean of many trials: the tail is about 1. The probability of the count
 * itself is below the smallest double there (1 of 2,000 around a median: 2000 / 2^2000; 1 of
 * 100,000 against a 1 % baseline: about e^-998), which must not make the tail 0, the "rare
 * event" answer that a faster window or fewer failures would then give.
 */
/* P(X >= k) summed over every term in long double, as the reference. */
static double tail_reference(long k, long n, double a, double b)
{
	long double lp =
		lgammal(n + 1.0L) - lgammal(a) - lgammal(b) + lgammal(a + b) - lgammal(n + a + b);
	long double sum = 0;
	long j;

	for (j = k; j <= n; j++)
		sum += expl(lp - lgammal(j + 1.0L) - lgammal(n - j + 1.0L) + lgammal(j + a) +
			    lgammal(n - j + b));
	return (double)sum;
}

/*
 * The sum stops early once the terms left cannot move it (a, b >= 1): over random windows of
 * up to 20,000 requests and baselines on both sides of 1, the tail agrees with every term
 * summed to within 1e-9 (1e-12 away from 0 and 1).
 */
static void test_betabinom_tail_stops_early(void **state)
{
	unsigned int seed = 11;
	int i;

	(void)state;
	for (i = 0; i < 400; i++) {
		long n = 1 + rand_r(&seed) % 20000, k = rand_r(&seed) % (n + 1);
		double a = 0.3 + (rand_r(&seed) % 4000) / 10.0,
		       b = 0.3 + (rand_r(&seed) % 40000) / 10.0;
		double got = evidence__betabinom_tail(k, n, a, b),
		       want = tail_reference(k, n, a, b);

		if (fabs(got - want) > 1e-9)
			fail_msg("k %ld n %ld a %g b %g: %.17g, every term gives %.17g", k, n, a, b,
				 got, want);
	}
}

static void test_betabinom_tail_far_below_the_mean(void **state)
{
	(void)state;
	assert_true(evidence__betabinom_tail(1, 2000, 1000, 1000) > 0.999);
	assert_true(evidence__betabinom_tail(3, 5000, 2500, 2501) > 0.999);
	assert_true(evidence__betabinom_tail(1, 100000, 1e4, 99e4) > 0.999);
	/* Three standard deviations below the mean of 1,000 (sd about 33). */
	assert_true(evidence__betabinom_tail(900, 100000, 1e4, 99e4) > 0.99);
	/* ... and above it, a rare event still. */
	assert_true(evidence__betabinom_tail(1200, 100000, 1e4, 99e4) < 1e-6);
	/* Exact where both ways of summing meet: the binomial limit of P(X >= 5 of 10 | 0.5). */
	assert_float_equal(evidence__betabinom_tail(5, 10, 1e7, 1e7), 638.0 / 1024, 1e-5);
	assert_float_equal(evidence__betabinom_tail(6, 10, 1e7, 1e7), 386.0 / 1024, 1e-5);
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
	assert_float_equal(evidence__log2_above(h, 8, 0.5), 5.0, 1e-12);
	assert_float_equal(evidence__log2_above(h, 8, 6.0), 3.0, 1e-12); /* half of (4, 8] */
	assert_float_equal(evidence__log2_above(h, 8, 8.0), 1.0, 1e-12);
	assert_float_equal(evidence__log2_above(h, 8, 32.0), 0.0, 1e-12);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_betabinom_tail),
		cmocka_unit_test(test_betabinom_tail_far_below_the_mean),
		cmocka_unit_test(test_betabinom_tail_stops_early),
		cmocka_unit_test(test_exceedance),
		cmocka_unit_test(test_log2_rank_value),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
