// SPDX-License-Identifier: MIT
/*
 * The StatsD / DogStatsD line parser: every type, gauge deltas, sample rates, tags, several lines
 * per datagram, and the lines it must refuse.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "statsd.h"

static int parse(const char *line, struct statsd_metric *m, const char **why)
{
	return statsd__parse_line(line, strlen(line), m, why);
}

static void assert_name(const struct statsd_metric *m, const char *name)
{
	assert_int_equal(m->nlen, strlen(name));
	assert_memory_equal(m->name, name, m->nlen);
}

static void test_types(void **state)
{
	static const struct {
		const char *line;
		enum statsd_type type;
		double value;
	} cases[] = {
		{"hits:3|c", STATSD_COUNTER, 3},       {"temp:-2.5|g", STATSD_GAUGE, -2.5},
		{"lat:12.5|ms", STATSD_TIMER, 12.5},   {"size:1e3|h", STATSD_HISTOGRAM, 1000},
		{"tok:42|d", STATSD_DISTRIBUTION, 42}, {"quality:0.75|g", STATSD_GAUGE, 0.75},
	};
	struct statsd_metric m;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(parse(cases[i].line, &m, NULL), 0);
		assert_int_equal(m.type, cases[i].type);
		assert_true(m.value == cases[i].value);
		assert_true(m.rate == 1);
		assert_int_equal(m.ntags, 0);
	}
	assert_int_equal(parse("users:alice|s", &m, NULL), 0);
	assert_int_equal(m.type, STATSD_SET);
	assert_int_equal(m.rawlen, 5);
	assert_memory_equal(m.raw, "alice", 5);
	assert_name(&m, "users");
	assert_string_equal(statsd__type_name(STATSD_TIMER), "ms");
}

/* A leading sign makes a gauge a delta; other types keep their sign as a value. */
static void test_gauge_deltas(void **state)
{
	struct statsd_metric m;

	(void)state;
	assert_int_equal(parse("q:+4|g", &m, NULL), 0);
	assert_true(m.delta && m.value == 4);
	assert_int_equal(parse("q:-1.5|g", &m, NULL), 0);
	assert_true(m.delta && m.value == -1.5);
	assert_int_equal(parse("q:7|g", &m, NULL), 0);
	assert_false(m.delta);
	assert_int_equal(parse("c:-2|c", &m, NULL), 0);
	assert_false(m.delta);
	assert_true(m.value == -2);
}

static void test_sample_rate(void **state)
{
	struct statsd_metric m;
	const char *why = NULL;

	(void)state;
	assert_int_equal(parse("hits:1|c|@0.1", &m, NULL), 0);
	assert_true(m.rate == 0.1);
	assert_int_equal(parse("lat:3|ms|@1", &m, NULL), 0);
	assert_true(m.rate == 1);
	assert_int_equal(parse("hits:1|c|@0", &m, &why), -EINVAL);
	assert_non_null(strstr(why, "sample rate"));
	assert_int_equal(parse("hits:1|c|@1.5", &m, NULL), -EINVAL);
	assert_int_equal(parse("hits:1|c|@", &m, NULL), -EINVAL);
	assert_int_equal(parse("hits:1|c|@x", &m, NULL), -EINVAL);
}

static void test_tags(void **state)
{
	struct statsd_metric m;

	(void)state;
	assert_int_equal(parse("req:1|c|@0.5|#model:gpt-4,agent:planner,canary", &m, NULL), 0);
	assert_true(m.rate == 0.5);
	assert_int_equal(m.ntags, 3);
	assert_int_equal(m.tags[0].klen, 5);
	assert_memory_equal(m.tags[0].key, "model", 5);
	assert_int_equal(m.tags[0].vlen, 5);
	assert_memory_equal(m.tags[0].value, "gpt-4", 5);
	assert_memory_equal(m.tags[1].value, "planner", 7);
	assert_int_equal(m.tags[2].klen, 6); /* a bare tag has an empty value */
	assert_int_equal(m.tags[2].vlen, 0);
	/* Tags before the rate, a value with a colon, DogStatsD's container and timestamp fields. */
	assert_int_equal(parse("req:1|c|#url:http://x|@0.25|c:abc|T1700000000", &m, NULL), 0);
	assert_true(m.rate == 0.25);
	assert_int_equal(m.ntags, 1);
	assert_int_equal(m.tags[0].vlen, 8);
	assert_memory_equal(m.tags[0].value, "http://x", 8);
	/* More tags than kept: the first STATSD_TAGS_MAX, the line still parses. */
	assert_int_equal(parse("x:1|c|#a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q,r,s,t", &m, NULL), 0);
	assert_int_equal(m.ntags, STATSD_TAGS_MAX);
}

static void test_garbage(void **state)
{
	static const char *const bad[] = {
		"",	     "nocolon",	    ":1|c",	  "x:1",       "x:|c",	  "x:1|",
		"x:1|q",     "x:1|cc",	    "x:abc|c",	  "x:1.2.3|g", "x:inf|g", "x:nan|g",
		"x:0x10|c",  "x:-3|ms",	    "x:-1|h",	  "x:1e999|g", "x:1 |c",  "x: 1|c",
		"x:1|c|@-1", "x:1|c|@0.5x", "x:1|c|@nan",
	};
	struct statsd_metric m;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *why = NULL;

		assert_int_equal(parse(bad[i], &m, &why), -EINVAL);
		assert_non_null(why);
	}
}

static void test_long_name(void **state)
{
	char line[STATSD_NAME_MAX + 16];
	struct statsd_metric m;

	(void)state;
	memset(line, 'a', STATSD_NAME_MAX);
	strcpy(line + STATSD_NAME_MAX, ":1|c");
	assert_int_equal(parse(line, &m, NULL), 0);
	memset(line, 'a', STATSD_NAME_MAX + 1);
	strcpy(line + STATSD_NAME_MAX + 1, ":1|c");
	assert_int_equal(parse(line, &m, NULL), -EINVAL);
}

/* Several lines per datagram; empty lines and CRLF endings are skipped. */
static void test_lines(void **state)
{
	const char dgram[] = "a:1|c\n\nb:2|g\r\nc:3|ms\n";
	const char *line;
	size_t pos = 0, len;
	int n = 0;

	(void)state;
	while (statsd__next_line(dgram, sizeof(dgram) - 1, &pos, &line, &len)) {
		struct statsd_metric m;

		assert_int_equal(statsd__parse_line(line, len, &m, NULL), 0);
		assert_true(m.value == n + 1);
		n++;
	}
	assert_int_equal(n, 3);
	pos = 0;
	assert_false(statsd__next_line("\n\n", 2, &pos, &line, &len));
	/* A line is never read past the datagram's end, NUL or not. */
	pos = 0;
	assert_true(statsd__next_line("x:1|c", 3, &pos, &line, &len));
	assert_int_equal(len, 3);
}

static void test_sanitize(void **state)
{
	char out[16];

	(void)state;
	assert_int_equal(statsd__sanitize("llm.latency-ms", 14, out, sizeof(out)), 14);
	assert_string_equal(out, "llm_latency_ms");
	assert_int_equal(statsd__sanitize("a:b_9\xc3\xa9", 7, out, sizeof(out)), 7);
	assert_string_equal(out, "a:b_9__");
	assert_int_equal(statsd__sanitize("abcdefghijklmnopqrst", 20, out, 8), 7);
	assert_string_equal(out, "abcdefg");
	assert_int_equal(statsd__label_value("gpt-4\n\"x\"", 9, out, sizeof(out)), 9);
	assert_string_equal(out, "gpt-4_\"x\"");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_types),	    cmocka_unit_test(test_gauge_deltas),
		cmocka_unit_test(test_sample_rate), cmocka_unit_test(test_tags),
		cmocka_unit_test(test_garbage),	    cmocka_unit_test(test_long_name),
		cmocka_unit_test(test_lines),	    cmocka_unit_test(test_sanitize),
	};

	return cmocka_run_group_tests_name("statsd", tests, NULL, NULL);
}
