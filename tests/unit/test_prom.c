// SPDX-License-Identifier: MIT
/* Exposition writer: escaping, value syntax, histogram invariants. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prom.h"
#include "rates.h"
#include "swarmwatch.h"

static void test_escape_label(void **state)
{
	struct buf b;

	(void)state;
	buf__init(&b);
	prom__escape_label(&b, "a\\b\"c\nd");
	assert_string_equal(b.data, "a\\\\b\\\"c\\nd");
	buf__reset(&b);
	prom__escape_label(&b, "plain-name_1");
	assert_string_equal(b.data, "plain-name_1");
	buf__reset(&b);
	prom__escape_label(&b, "");
	assert_true(b.data == NULL || b.data[0] == 0);
	buf__free(&b);
}

static void test_sample_line(void **state)
{
	struct prom_label l[2] = {{"agent", "we\"ird"}, {"class", "file"}};
	struct buf b;

	(void)state;
	buf__init(&b);
	prom__sample_u64(&b, "swarmwatch_x_total", l, 2, 18446744073709551615ULL);
	assert_string_equal(b.data, "swarmwatch_x_total{agent=\"we\\\"ird\",class=\"file\"} "
				    "18446744073709551615\n");
	buf__reset(&b);
	prom__sample(&b, "m", NULL, 0, 0.1);
	assert_string_equal(b.data, "m 0.1\n");
	buf__free(&b);
}

static void test_values(void **state)
{
	struct buf b;

	(void)state;
	buf__init(&b);
	prom__value(&b, NAN);
	buf__putc(&b, ' ');
	prom__value(&b, INFINITY);
	buf__putc(&b, ' ');
	prom__value(&b, -INFINITY);
	buf__putc(&b, ' ');
	prom__value(&b, 2.56e-07);
	buf__putc(&b, ' ');
	prom__value(&b, 1.0 / 3);
	assert_string_equal(b.data, "NaN +Inf -Inf 2.56e-07 0.33333333333333331");
	buf__free(&b);
}

static void test_help_escape(void **state)
{
	struct buf b;

	(void)state;
	buf__init(&b);
	prom__family(&b, "m", "counter", "line\\one\ntwo \"quoted\"");
	assert_string_equal(b.data, "# HELP m line\\\\one\\ntwo \"quoted\"\n# TYPE m counter\n");
	buf__free(&b);
}

/* Parses the value after the last space of the line that starts with `prefix`. */
static double line_value(const char *text, const char *prefix)
{
	const char *p = strstr(text, prefix);
	const char *eol;

	assert_non_null(p);
	eol = strchr(p, '\n');
	while (eol > p && eol[-1] != ' ')
		eol--;
	return strtod(eol, NULL);
}

/* A histogram of log2 ns slots with bounds 2^8 .. 2^34 ns, as the catalogue writes them. */
static void log2_histogram(struct buf *b, const char *name, const struct prom_label *l, int n,
			   const __u64 *slots, double sum)
{
	double le[34 - 8 + 1];
	__u64 buckets[34 - 8 + 2];
	int i;

	for (i = 0; i <= 34 - 8; i++)
		le[i] = ldexp(1e-9, 8 + i);
	rates__fold_log2(slots, SW_LAT_SLOTS, 8, 34 - 8 + 1, buckets);
	prom__histogram(b, name, l, n, le, 34 - 8 + 1, buckets, sum);
}

static void test_histogram_invariants(void **state)
{
	__u64 slots[SW_LAT_SLOTS] = {0};
	struct prom_label l = {"agent", "a"};
	unsigned long long prev = 0, v;
	const char *p;
	struct buf b;
	int buckets = 0;

	(void)state;
	slots[0] = 3; /* <= 1 ns: below the first exported bucket */
	slots[9] = 5;
	slots[20] = 7;
	slots[SW_LAT_SLOTS - 1] = 11; /* overflow: only in +Inf */
	buf__init(&b);
	log2_histogram(&b, "h_seconds", &l, 1, slots, 42.5);
	for (p = b.data; (p = strstr(p, "h_seconds_bucket{")); p++) {
		const char *eol = strchr(p, '\n');

		while (eol[-1] != ' ')
			eol--;
		v = strtoull(eol, NULL, 10);
		assert_true(v >= prev); /* cumulative */
		prev = v;
		buckets++;
	}
	assert_int_equal(buckets, 34 - 8 + 1 + 1);
	/* le="2.56e-07" (2^8 ns) already holds slot 0. */
	assert_non_null(strstr(b.data, "h_seconds_bucket{agent=\"a\",le=\"2.56e-07\"} 3\n"));
	assert_non_null(strstr(b.data, "h_seconds_bucket{agent=\"a\",le=\"5.12e-07\"} 8\n"));
	assert_non_null(strstr(b.data, "h_seconds_bucket{agent=\"a\",le=\"+Inf\"} 26\n"));
	assert_true(line_value(b.data, "h_seconds_count{") == 26);
	assert_true(line_value(b.data, "h_seconds_bucket{agent=\"a\",le=\"+Inf\"}") ==
		    line_value(b.data, "h_seconds_count{"));
	assert_true(fabs(line_value(b.data, "h_seconds_sum{") - 42.5) < 1e-12);
	buf__free(&b);
}

static void test_histogram_empty(void **state)
{
	__u64 slots[SW_LAT_SLOTS] = {0};
	struct buf b;

	(void)state;
	buf__init(&b);
	log2_histogram(&b, "h", NULL, 0, slots, 0);
	assert_non_null(strstr(b.data, "h_bucket{le=\"+Inf\"} 0\n"));
	assert_non_null(strstr(b.data, "h_count 0\n"));
	assert_non_null(strstr(b.data, "h_sum 0\n"));
	buf__free(&b);
}

static void test_buf_growth(void **state)
{
	struct buf b;
	int i;

	(void)state;
	buf__init(&b);
	for (i = 0; i < 10000; i++)
		buf__printf(&b, "%05d", i);
	assert_int_equal(b.len, 50000);
	assert_false(b.failed);
	assert_memory_equal(b.data + 49995, "09999", 5);
	buf__free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape_label),
		cmocka_unit_test(test_sample_line),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_help_escape),
		cmocka_unit_test(test_histogram_invariants),
		cmocka_unit_test(test_histogram_empty),
		cmocka_unit_test(test_buf_growth),
	};

	return cmocka_run_group_tests_name("prom", tests, NULL, NULL);
}
