// SPDX-License-Identifier: MIT
/* Log2 bucket mapping shared with the BPF programs. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <linux/types.h>

#include "log2.h"
#include "swarmwatch.h"

static void test_floor(void **state)
{
	int i;

	(void)state;
	assert_int_equal(sw_log2_floor(0), 0);
	assert_int_equal(sw_log2_floor(1), 0);
	for (i = 1; i < 64; i++) {
		__u64 p = 1ULL << i;

		assert_int_equal(sw_log2_floor(p), i);
		assert_int_equal(sw_log2_floor(p - 1), i - 1);
		assert_int_equal(sw_log2_floor(p + (p >> 1)), i);
	}
	assert_int_equal(sw_log2_floor(~0ULL), 63);
}

/* Bucket i holds (2^(i-1), 2^i]: exactly Prometheus' le = 2^i. */
static void test_bucket_edges(void **state)
{
	int i;

	(void)state;
	assert_int_equal(sw_log2_bucket(0, 64), 0);
	assert_int_equal(sw_log2_bucket(1, 64), 0);
	assert_int_equal(sw_log2_bucket(2, 64), 1);
	assert_int_equal(sw_log2_bucket(3, 64), 2);
	for (i = 1; i < 63; i++) {
		__u64 p = 1ULL << i;

		assert_int_equal(sw_log2_bucket(p, 64), i); /* on the edge: le = 2^i */
		assert_int_equal(sw_log2_bucket(p + 1, 64), i + 1);
	}
	/* 268 lands in le=512, not le=256. */
	assert_int_equal(sw_log2_bucket(268, 64), 9);
}

static void test_bucket_clamp(void **state)
{
	(void)state;
	assert_int_equal(sw_log2_bucket(1ULL << 38, SW_LAT_SLOTS), 38);
	assert_int_equal(sw_log2_bucket((1ULL << 38) + 1, SW_LAT_SLOTS), SW_LAT_SLOTS - 1);
	assert_int_equal(sw_log2_bucket(~0ULL, SW_LAT_SLOTS), SW_LAT_SLOTS - 1);
}

/* Exhaustive agreement with a naive definition for small values. */
static void test_bucket_naive(void **state)
{
	__u64 v;

	(void)state;
	for (v = 2; v < 100000; v++) {
		__u32 i = 0;

		while ((1ULL << i) < v)
			i++;
		assert_int_equal(sw_log2_bucket(v, 64), i);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_floor),
		cmocka_unit_test(test_bucket_edges),
		cmocka_unit_test(test_bucket_clamp),
		cmocka_unit_test(test_bucket_naive),
	};

	return cmocka_run_group_tests_name("log2", tests, NULL, NULL);
}
