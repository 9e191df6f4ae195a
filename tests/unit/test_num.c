// SPDX-License-Identifier: MIT
/* Bounded integer parsing: every boundary both ways, and saturation past any length. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <limits.h>

#include "num.h"

static void test_whole_string(void **state)
{
	long long v = -7;

	(void)state;
	assert_int_equal(num__parse("0", NULL, 0, 10, &v), 0);
	assert_true(v == 0);
	assert_int_equal(num__parse("10", NULL, 0, 10, &v), 0);
	assert_true(v == 10);
	assert_int_equal(num__parse("007979", NULL, 1, 65535, &v), 0);
	assert_true(v == 7979);
	v = -7;
	assert_int_equal(num__parse("", NULL, 0, 10, &v), -EINVAL);
	assert_int_equal(num__parse("x", NULL, 0, 10, &v), -EINVAL);
	assert_int_equal(num__parse("1x", NULL, 0, 10, &v), -EINVAL);
	assert_int_equal(num__parse(" 1", NULL, 0, 10, &v), -EINVAL);
	assert_int_equal(num__parse("+1", NULL, 0, 10, &v), -EINVAL);
	assert_int_equal(num__parse("0x1", NULL, 0, 10, &v), -EINVAL);
	assert_int_equal(num__parse("-1", NULL, 0, 10, &v), -EINVAL); /* no sign when lo >= 0 */
	assert_true(v == -7); /* untouched on -EINVAL */
}

static void test_range(void **state)
{
	long long v;

	(void)state;
	assert_int_equal(num__parse("11", NULL, 0, 10, &v), -ERANGE);
	assert_true(v == 10);
	assert_int_equal(num__parse("0", NULL, 1, 65535, &v), -ERANGE);
	assert_true(v == 1);
	assert_int_equal(num__parse("65536", NULL, 1, 65535, &v), -ERANGE);
	assert_true(v == 65535);
	assert_int_equal(num__parse("-5", NULL, -4, 4, &v), -ERANGE);
	assert_true(v == -4);
	assert_int_equal(num__parse("-4", NULL, -4, 4, &v), 0);
	assert_true(v == -4);
	assert_int_equal(num__parse("-0", NULL, -4, 4, &v), 0);
	assert_true(v == 0);
	assert_int_equal(num__parse("3", NULL, -10, -5, &v), -ERANGE);
	assert_true(v == -5);
}

static void test_saturation(void **state)
{
	long long v;

	(void)state;
	/* The extremes of long long are exact... */
	assert_int_equal(num__parse("9223372036854775807", NULL, LLONG_MIN, LLONG_MAX, &v), 0);
	assert_true(v == LLONG_MAX);
	assert_int_equal(num__parse("-9223372036854775808", NULL, LLONG_MIN, LLONG_MAX, &v), 0);
	assert_true(v == LLONG_MIN);
	/* ... and one past them, or any number of digits more, clamps instead of wrapping. */
	assert_int_equal(num__parse("9223372036854775808", NULL, LLONG_MIN, LLONG_MAX, &v),
			 -ERANGE);
	assert_true(v == LLONG_MAX);
	assert_int_equal(num__parse("-9223372036854775809", NULL, LLONG_MIN, LLONG_MAX, &v),
			 -ERANGE);
	assert_true(v == LLONG_MIN);
	assert_int_equal(num__parse("18446744073709551616", NULL, 0, 1000, &v), -ERANGE);
	assert_true(v == 1000);
	assert_int_equal(num__parse("4294967296", NULL, 0, 1000, &v), -ERANGE);
	assert_true(v == 1000);
	assert_int_equal(num__parse("99999999999999999999999999999999999999999999", NULL, 0,
				    INT_MAX, &v),
			 -ERANGE);
	assert_true(v == INT_MAX);
}

static void test_end(void **state)
{
	const char *s = "12,345}", *end;
	long long v;

	(void)state;
	assert_int_equal(num__parse(s, &end, 0, 100, &v), 0);
	assert_true(v == 12 && end == s + 2);
	assert_int_equal(num__parse(end + 1, &end, 0, 100, &v), -ERANGE);
	assert_true(v == 100 && *end == '}'); /* past every digit, even out of range */
	assert_int_equal(num__parse(end, &end, 0, 100, &v), -EINVAL);
	assert_true(*end == '}');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_whole_string),
		cmocka_unit_test(test_range),
		cmocka_unit_test(test_saturation),
		cmocka_unit_test(test_end),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
