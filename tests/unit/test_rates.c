// SPDX-License-Identifier: MIT
/*
 * Deltas, rates, ratios and quantiles of cumulative counters and histograms: resets are refused,
 * quantiles interpolate within their bucket, log2 slots fold into the catalogue's buckets.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <math.h>
#include <string.h>

#include "rates.h"
#include "swarmwatch.h"

static void test_deltas(void **state)
{
	__u64 cur[3] = {5, 10, 20}, prev[3] = {1, 10, 30}, d, out[3];
	double r;

	(void)state;
	assert_int_equal(rates__delta(7, 3, &d), 0);
	assert_true(d == 4);
	assert_int_equal(rates__delta(3, 7, &d), -ERANGE);
	assert_int_equal(rates__delta_sum(cur, prev, 2, &d), 0);
	assert_true(d == 4);
	assert_int_equal(rates__delta_sum(cur, prev, 3, &d), -ERANGE); /* 35 < 41 */
	assert_int_equal(rates__delta_hist(cur, prev, 2, out), 0);
	assert_true(out[0] == 4 && out[1] == 0);
	assert_int_equal(rates__delta_hist(cur, prev, 3, out), -ERANGE);
	assert_int_equal(rates__rate(300, 100, 2.0, &r), 0);
	assert_true(r == 100.0);
	assert_int_equal(rates__rate(300, 100, 0.0, &r), -EINVAL);
	assert_int_equal(rates__rate(100, 300, 1.0, &r), -ERANGE);
}

static void test_ratio(void **state)
{
	double r;

	(void)state;
	assert_int_equal(rates__ratio(1, 4, 1, &r), 0);
	assert_true(r == 0.25);
	assert_int_equal(rates__ratio(9, 4, 1, &r), 0); /* read apart: clamped */
	assert_true(r == 1.0);
	assert_int_equal(rates__ratio(0, 0, 0, &r), -ENODATA);
	assert_int_equal(rates__ratio(1, 9, 10, &r), -ENODATA);
	assert_int_equal(rates__ratio(1, 10, 10, &r), 0);
	assert_true(r == 0.1);
}

static void test_quantile_log2(void **state)
{
	__u64 h[SW_LAT_SLOTS] = {0};
	double q;

	(void)state;
	h[10] = 100; /* all in (512, 1024] */
	assert_int_equal(rates__quantile_log2(h, SW_LAT_SLOTS, 0.5, 1, &q), 0);
	assert_true(q == 768.0);
	assert_int_equal(rates__quantile_log2(h, SW_LAT_SLOTS, 0.99, 1, &q), 0);
	assert_true(fabs(q - (512 + 0.99 * 512)) < 1e-9);
	memset(h, 0, sizeof(h));
	h[3] = 50; /* (4, 8] */
	h[4] = 50; /* (8, 16] */
	assert_int_equal(rates__quantile_log2(h, SW_LAT_SLOTS, 0.5, 1, &q), 0);
	assert_true(q == 8.0);
	assert_int_equal(rates__quantile_log2(h, SW_LAT_SLOTS, 0.75, 1, &q), 0);
	assert_true(q == 12.0);
	assert_int_equal(rates__quantile_log2(h, SW_LAT_SLOTS, 0.25, 1, &q), 0);
	assert_true(q == 6.0);
	memset(h, 0, sizeof(h));
	h[0] = 4; /* [0, 1] */
	assert_int_equal(rates__quantile_log2(h, SW_LAT_SLOTS, 0.5, 1, &q), 0);
	assert_true(q == 0.5);
	/* Too few samples, an empty histogram, q out of range. */
	assert_int_equal(rates__quantile_log2(h, SW_LAT_SLOTS, 0.5, 5, &q), -ENODATA);
	memset(h, 0, sizeof(h));
	assert_int_equal(rates__quantile_log2(h, SW_LAT_SLOTS, 0.5, 0, &q), -ENODATA);
	h[5] = 1;
	assert_int_equal(rates__quantile_log2(h, SW_LAT_SLOTS, 0.0, 0, &q), -EINVAL);
	assert_int_equal(rates__quantile_log2(h, SW_LAT_SLOTS, 1.0, 0, &q), -EINVAL);
}

static void test_quantile_buckets(void **state)
{
	static const double le[] = {0.1, 0.2, 0.4};
	__u64 b[4] = {0};
	double q;

	(void)state;
	b[1] = 10; /* all in (0.1, 0.2] */
	assert_int_equal(rates__quantile(le, 3, b, 0.5, &q), 0);
	assert_true(fabs(q - 0.15) < 1e-12);
	b[0] = 10; /* half in [0, 0.1] */
	assert_int_equal(rates__quantile(le, 3, b, 0.25, &q), 0);
	assert_true(fabs(q - 0.05) < 1e-12);
	assert_int_equal(rates__quantile(le, 3, b, 0.75, &q), 0);
	assert_true(fabs(q - 0.15) < 1e-12);
	memset(b, 0, sizeof(b));
	b[3] = 1; /* only +Inf: the highest finite bound */
	assert_int_equal(rates__quantile(le, 3, b, 0.5, &q), 0);
	assert_true(q == 0.4);
	memset(b, 0, sizeof(b));
	assert_int_equal(rates__quantile(le, 3, b, 0.5, &q), -ENODATA);
	assert_int_equal(rates__quantile(le, 3, b, 1.0, &q), -EINVAL);
	assert_int_equal(rates__quantile(le, 0, b, 0.5, &q), -EINVAL);
}

static void test_fold_log2(void **state)
{
	__u64 slots[SW_LAT_SLOTS] = {0}, b[28];
	int nle = 34 - 8 + 1;

	(void)state;
	slots[0] = 3; /* <= 1 ns: below the first bucket, folded into it */
	slots[8] = 2;
	slots[9] = 5;
	slots[34] = 1; /* the last finite bucket */
	slots[35] = 4; /* above it: +Inf */
	slots[SW_LAT_SLOTS - 1] = 11;
	assert_true(rates__fold_log2(slots, SW_LAT_SLOTS, 8, nle, b) == 26);
	assert_true(b[0] == 5);
	assert_true(b[1] == 5);
	assert_true(b[nle - 1] == 1);
	assert_true(b[nle] == 15);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_deltas),	      cmocka_unit_test(test_ratio),
		cmocka_unit_test(test_quantile_log2), cmocka_unit_test(test_quantile_buckets),
		cmocka_unit_test(test_fold_log2),
	};

	return cmocka_run_group_tests_name("rates", tests, NULL, NULL);
}
