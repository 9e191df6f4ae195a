// SPDX-License-Identifier: MIT
/* HTTP helpers and the errno label selection: pure parts of the serving path. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "collector.h"
#include "http.h"

static void test_split_listen(void **state)
{
	char host[64], port[8];

	(void)state;
	assert_int_equal(http__split_listen("0.0.0.0:7979", host, 64, port, 8), 0);
	assert_string_equal(host, "0.0.0.0");
	assert_string_equal(port, "7979");
	assert_int_equal(http__split_listen("[::1]:80", host, 64, port, 8), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(http__split_listen(":9000", host, 64, port, 8), 0);
	assert_string_equal(host, "");
	assert_int_equal(http__split_listen("localhost:1", host, 64, port, 8), 0);
	assert_int_equal(http__split_listen("nocolon", host, 64, port, 8), -EINVAL);
	assert_int_equal(http__split_listen("a:", host, 64, port, 8), -EINVAL);
	assert_int_equal(http__split_listen("a:0", host, 64, port, 8), -EINVAL);
	assert_int_equal(http__split_listen("a:65536", host, 64, port, 8), -EINVAL);
	assert_int_equal(http__split_listen("a:8x", host, 64, port, 8), -EINVAL);
	assert_int_equal(http__split_listen("[::1]80", host, 64, port, 8), -EINVAL);
	assert_int_equal(http__split_listen("a:123456789", host, 64, port, 8), -EINVAL);
}

static void test_accepts_gzip(void **state)
{
	(void)state;
	assert_true(http__accepts_gzip("gzip"));
	assert_true(http__accepts_gzip("deflate, gzip"));
	assert_true(http__accepts_gzip("gzip;q=0.5, identity"));
	assert_true(http__accepts_gzip("GZIP"));
	assert_false(http__accepts_gzip(NULL));
	assert_false(http__accepts_gzip(""));
	assert_false(http__accepts_gzip("identity"));
	assert_false(http__accepts_gzip("gzip;q=0"));
	assert_false(http__accepts_gzip("gzip;q=0.000, br"));
	assert_false(http__accepts_gzip("xgzip"));
	assert_false(http__accepts_gzip("gzipx"));
}

static void test_pick_errnos_sticky(void **state)
{
	__u64 errors[SW_ERRNO_SLOTS] = {0};
	__u8 shown[SW_ERRNO_SLOTS] = {0};

	(void)state;
	errors[ENOENT] = 5;
	errors[EACCES] = 9;
	errors[EBADF] = 1;
	collector__pick_errnos(errors, shown, 2);
	assert_true(shown[EACCES] && shown[ENOENT]);
	assert_false(shown[EBADF]);
	/* A later burst of EBADF does not displace what is shown: "other" never shrinks. */
	errors[EBADF] = 1000;
	collector__pick_errnos(errors, shown, 2);
	assert_false(shown[EBADF]);
	assert_true(shown[EACCES] && shown[ENOENT]);
	/* With room, it is added; zero counts are never shown; slot 0 never. */
	errors[0] = 77;
	collector__pick_errnos(errors, shown, 5);
	assert_true(shown[EBADF]);
	assert_false(shown[0]);
	assert_false(shown[EPERM]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_listen),
		cmocka_unit_test(test_accepts_gzip),
		cmocka_unit_test(test_pick_errnos_sticky),
	};

	return cmocka_run_group_tests_name("http", tests, NULL, NULL);
}
