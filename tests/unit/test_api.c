// SPDX-License-Identifier: MIT
/* JSON documents of the API: the one error document, and RFC 3339 times. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api.h"
#include "snapshot.h"

static void test_error_document(void **state)
{
	char *text;

	(void)state;
	text = api__error(404, "not found: /api/v1/nope (see / for the endpoints)");
	assert_non_null(text);
	assert_string_equal(text, "{\"status\":\"error\",\"code\":404,\"error\":\"not found: "
				  "/api/v1/nope (see / for the endpoints)\"}");
	free(text);
	/* Quotes, backslashes and control characters are escaped, not passed through. */
	text = api__error(400, "bad \"x\"\\\n");
	assert_non_null(text);
	assert_string_equal(text, "{\"status\":\"error\",\"code\":400,\"error\":\"bad "
				  "\\\"x\\\"\\\\\\n\"}");
	free(text);
}

static void test_rfc3339_milliseconds(void **state)
{
	char buf[40];

	(void)state;
	api__rfc3339(1700000000.9999, buf, sizeof(buf));
	assert_string_equal(buf, "2023-11-14T22:13:20.999Z");
}

/* A snapshot at time t of one agent "a" with client series to "up": ok, 5xx and 429 counts. */
static struct snapshot *requests_snapshot(double t, __u64 ok, __u64 s5, __u64 s429, __u64 cpu_ns)
{
	struct snapshot *s = snapshot__new();
	struct request_series *r;

	assert_non_null(s);
	s->time = t;
	s->nagents = 1;
	s->agents = calloc(1, sizeof(*s->agents));
	strcpy(s->agents[0].name, "a<b>");
	s->agents[0].instances = 1;
	s->agents[0].s.cpu_ns = cpu_ns;
	s->nrequests = 3;
	s->requests = r = calloc(3, sizeof(*r));
	strcpy(r[0].upstream, "up"), r[0].role = SW_ROLE_CLIENT, r[0].status = 2;
	r[0].count = ok, r[0].lat[20] = ok; /* ~1 ms */
	strcpy(r[1].upstream, "up"), r[1].role = SW_ROLE_CLIENT, r[1].status = 5;
	r[1].count = s5, r[1].lat[20] = s5;
	strcpy(r[2].upstream, "up"), r[2].role = SW_ROLE_CLIENT, r[2].status = SW_STATUS_429;
	r[2].count = s429, r[2].lat[30] = s429; /* ~1 s */
	return s;
}

static void test_overview_rates_and_ratios(void **state)
{
	struct snapshot *prev = requests_snapshot(100, 10, 0, 0, 0);
	struct snapshot *cur = requests_snapshot(102, 10 + 140, 40, 20, 1000000000);
	json_t *doc, *a, *u;
	char *text;
	double p95;

	(void)state;
	text = api__overview(prev, cur);
	assert_non_null(text);
	doc = json_loads(text, 0, NULL);
	assert_non_null(doc);
	assert_float_equal(json_real_value(json_object_get(doc, "interval_seconds")), 2, 1e-9);
	a = json_array_get(json_object_get(doc, "agents"), 0);
	assert_string_equal(json_string_value(json_object_get(a, "agent")), "a<b>");
	/* 200 requests in 2 s, 40 of them 5xx, 20 of them 429. */
	assert_float_equal(json_real_value(json_object_get(a, "requests_per_second")), 100, 1e-9);
	assert_float_equal(json_real_value(json_object_get(a, "error_ratio")), 0.2, 1e-9);
	assert_float_equal(json_real_value(json_object_get(a, "ratio_429")), 0.1, 1e-9);
	assert_float_equal(json_real_value(json_object_get(a, "cpu_cores")), 0.5, 1e-9);
	/* The slowest 10 % are in the 2^30 ns slot: p95 falls in it, between 2^29 and 2^30 ns. */
	p95 = json_real_value(json_object_get(a, "p95_seconds"));
	assert_true(p95 > 0.536 && p95 <= 1.074);
	u = json_array_get(json_object_get(a, "upstreams"), 0);
	assert_string_equal(json_string_value(json_object_get(u, "upstream")), "up");
	assert_string_equal(json_string_value(json_object_get(u, "role")), "client");
	assert_int_equal(json_array_size(json_object_get(a, "upstreams")), 1);
	json_decref(doc);
	free(text);
	snapshot__put(prev);
	snapshot__put(cur);
}

static void test_overview_first_tick_and_reset(void **state)
{
	struct snapshot *prev = requests_snapshot(100, 500, 0, 0, 0);
	struct snapshot *cur = requests_snapshot(101, 10, 0, 0, 0);
	json_t *doc, *a;
	char *text;

	(void)state;
	/* No previous tick: no interval, every rate is null. */
	text = api__overview(NULL, cur);
	doc = json_loads(text, 0, NULL);
	assert_non_null(doc);
	assert_true(json_is_null(json_object_get(doc, "interval_seconds")));
	a = json_array_get(json_object_get(doc, "agents"), 0);
	assert_true(json_is_null(json_object_get(a, "requests_per_second")));
	assert_true(json_is_null(json_object_get(a, "cpu_cores")));
	json_decref(doc);
	free(text);
	/* A counter that went back is not a negative rate. */
	text = api__overview(prev, cur);
	doc = json_loads(text, 0, NULL);
	assert_non_null(doc);
	a = json_array_get(json_object_get(doc, "agents"), 0);
	assert_true(json_is_null(json_object_get(a, "requests_per_second")));
	assert_true(json_is_null(json_object_get(a, "p95_seconds")));
	json_decref(doc);
	free(text);
	snapshot__put(prev);
	snapshot__put(cur);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_error_document),
		cmocka_unit_test(test_rfc3339_milliseconds),
		cmocka_unit_test(test_overview_rates_and_ratios),
		cmocka_unit_test(test_overview_first_tick_and_reset),
	};

	return cmocka_run_group_tests_name("api", tests, NULL, NULL);
}
