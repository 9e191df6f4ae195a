// SPDX-License-Identifier: MIT
/* JSON documents of the API: the one error document, and RFC 3339 times. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api.h"
#include "api_pools.h"
#include "cost.h"
#include "incident.h"
#include "scaling.h"
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

/* Silences: what cannot be kept whole is refused, never cut; the list is always valid JSON. */
static void test_parse_silence_refuses_what_it_cannot_keep(void **state)
{
	const int64_t now = 1796067986000LL; /* 2026-11-30T19:46:26Z */
	struct alert_silence sil;
	char body[1024], err[256], v64[65], e32[65], c128[129], *doc;
	json_t *root, *o;
	int i;

	(void)state;
	memset(v64, 'a', 64);
	v64[64] = 0;
	for (i = 0; i < 32; i++)
		memcpy(e32 + 2 * i, "\xc3\xa9", 2); /* U+00E9, 64 bytes */
	e32[64] = 0;
	memset(c128, 'c', 128);
	c128[128] = 0;
	assert_int_equal(api__parse_silence("{\"matchers\": {\"agent\": \"coder\"}, "
					    "\"duration\": \"1h\", \"comment\": \"deploy\"}",
					    now, &sil, err, sizeof(err)),
			 0);
	assert_int_equal(sil.ends_ms, now + 3600000);
	assert_string_equal(sil.comment, "deploy");
	/* A value of 63 bytes fits; with ! in front too. */
	snprintf(body, sizeof(body),
		 "{\"matchers\": {\"agent\": \"!%.63s\"}, \"duration\": \"1h\"}", v64);
	assert_int_equal(api__parse_silence(body, now, &sil, err, sizeof(err)), 0);
	assert_true(sil.m[0].negate);
	assert_int_equal(strlen(sil.m[0].value), 63);
	/* 64 bytes of value: was silently cut to 63 (another value) or mid-character. */
	snprintf(body, sizeof(body), "{\"matchers\": {\"agent\": \"%s\"}, \"duration\": \"1h\"}",
		 v64);
	assert_int_equal(api__parse_silence(body, now, &sil, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "under 64 bytes"));
	snprintf(body, sizeof(body), "{\"matchers\": {\"agent\": \"%s\"}, \"duration\": \"1h\"}",
		 e32);
	assert_int_equal(api__parse_silence(body, now, &sil, err, sizeof(err)), -EINVAL);
	/* A comment over 127 bytes: was cut, mid-character with UTF-8, and then lost. */
	snprintf(body, sizeof(body),
		 "{\"matchers\": {\"agent\": \"x\"}, \"duration\": \"1h\", \"comment\": \"%s\"}",
		 c128);
	assert_int_equal(api__parse_silence(body, now, &sil, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "comment"));
	/* Label names only; strings only; one of duration and endsAt. */
	assert_int_equal(api__parse_silence("{\"matchers\": {\"\": \"x\"}, \"duration\": \"1h\"}",
					    now, &sil, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(
		api__parse_silence("{\"matchers\": {\"a b\": \"x\"}, \"duration\": \"1h\"}", now,
				   &sil, err, sizeof(err)),
		-EINVAL);
	assert_int_equal(api__parse_silence("{\"matchers\": {\"agent\": \"x\"}, \"duration\": 5}",
					    now, &sil, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(
		api__parse_silence("{\"matchers\": {\"agent\": \"x\"}, \"duration\": \"1h\", "
				   "\"comment\": 5}",
				   now, &sil, err, sizeof(err)),
		-EINVAL);
	assert_int_equal(
		api__parse_silence("{\"matchers\": {\"agent\": \"x\"}, \"duration\": \"1h\", "
				   "\"endsAt\": \"2027-01-01T00:00:00Z\"}",
				   now, &sil, err, sizeof(err)),
		-EINVAL);
	/* An end RFC 3339 cannot write (year 95068242), and a fraction without digits. */
	snprintf(body, sizeof(body), "{\"matchers\": {\"agent\": \"x\"}, \"duration\": \"");
	for (i = 0; i < 150; i++)
		strcat(body, "1e12s");
	strcat(body, "\"}");
	assert_int_equal(api__parse_silence(body, now, &sil, err, sizeof(err)), -EINVAL);
	assert_int_equal(api__parse_silence("{\"matchers\": {\"agent\": \"x\"}, "
					    "\"endsAt\": \"2027-01-01T00:00:00.Z\"}",
					    now, &sil, err, sizeof(err)),
			 -EINVAL);
	/* Not JSON: the parser's reason and place. */
	assert_int_equal(api__parse_silence("{\"matchers\": [", now, &sil, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "not JSON"));
	/* A silence restored from older state with a cut character still lists as JSON. */
	memset(&sil, 0, sizeof(sil));
	sil.id = 7;
	sil.nm = 1;
	snprintf(sil.m[0].name, sizeof(sil.m[0].name), "agent");
	memcpy(sil.m[0].value, "ab\xc3", 4);
	memcpy(sil.comment, "d\xc3", 3);
	sil.ends_ms = now;
	doc = api__silences(&sil, 1);
	assert_non_null(doc);
	root = json_loads(doc, 0, NULL);
	assert_non_null(root);
	o = json_array_get(json_object_get(root, "silences"), 0);
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(o, "matchers"), "agent")),
		"ab\xef\xbf\xbd");
	assert_string_equal(json_string_value(json_object_get(o, "comment")), "d\xef\xbf\xbd");
	json_decref(root);
	free(doc);
}

/* The pools' documents: decisions with their times, absent values as null. */
static void test_pools_json(void **state)
{
	struct scale_event ev[2];
	struct scale_view_pool p;
	struct scale_view v;
	json_t *d, *x;
	char *doc;

	(void)state;
	memset(ev, 0, sizeof(ev));
	memset(&p, 0, sizeof(p));
	memset(&v, 0, sizeof(v));
	snprintf(ev[0].pool, sizeof(ev[0].pool), "coder");
	ev[0].direction = SCALE_UP;
	ev[0].current = 2;
	ev[0].desired = 3;
	snprintf(ev[0].rule, sizeof(ev[0].rule), "busy");
	snprintf(ev[0].metric, sizeof(ev[0].metric), "requests");
	ev[0].value = 5.5;
	ev[0].time_ms = 1764529200250LL;
	ev[0].cooldown_until_ms = 1764529260250LL;
	snprintf(ev[0].key, sizeof(ev[0].key), "scale-coder-1764529200250-3");
	ev[1] = ev[0];
	ev[1].direction = SCALE_DOWN;
	ev[1].value = NAN;
	doc = api__pool_history("coder", ev, 2);
	assert_non_null(doc);
	d = json_loads(doc, 0, NULL);
	assert_non_null(d);
	assert_string_equal(json_string_value(json_object_get(d, "pool")), "coder");
	x = json_array_get(json_object_get(d, "decisions"), 0);
	assert_string_equal(json_string_value(json_object_get(x, "time")),
			    "2025-11-30T19:00:00.250Z");
	assert_string_equal(json_string_value(json_object_get(x, "direction")), "up");
	assert_int_equal(json_integer_value(json_object_get(x, "desired_replicas")), 3);
	assert_true(json_real_value(json_object_get(x, "value")) == 5.5);
	assert_string_equal(json_string_value(json_object_get(x, "cooldown_until")),
			    "2025-11-30T19:01:00.250Z");
	x = json_array_get(json_object_get(d, "decisions"), 1);
	assert_true(json_is_null(json_object_get(x, "value")));
	assert_string_equal(json_string_value(json_object_get(x, "direction")), "down");
	json_decref(d);
	free(doc);

	snprintf(p.pool, sizeof(p.pool), "coder");
	p.seen = true;
	p.current = 2;
	p.desired = 3;
	p.min_replicas = 1;
	p.max_replicas = 8;
	v.time = 1764529200.0;
	v.npools = 1;
	v.pools = &p;
	doc = api__pools(&v, NULL);
	assert_non_null(doc);
	d = json_loads(doc, 0, NULL);
	x = json_array_get(json_object_get(d, "pools"), 0);
	assert_int_equal(json_integer_value(json_object_get(x, "current_replicas")), 2);
	assert_int_equal(json_integer_value(json_object_get(x, "max_replicas")), 8);
	assert_true(json_is_null(json_object_get(x, "cooldown_until")));
	assert_true(json_is_null(json_object_get(x, "blocked")));
	assert_true(json_is_null(json_object_get(x, "last_decision")));
	assert_null(json_object_get(x, "instances"));
	json_decref(d);
	free(doc);

	/* With the breakers: each instance's state and weight, in the pool and at /weights. */
	{
		struct scale_view_instance in[2] = {0};
		struct breaker_view_pool bp = {
			.seen = true, .routing = "quality", .open_breakers = 1};
		struct breaker_view b = {.time = 1764529200.0,
					 .ninstances = 2,
					 .instances = in,
					 .npools = 1,
					 .pools = &bp};

		snprintf(bp.pool, sizeof(bp.pool), "coder");
		snprintf(in[0].pool, sizeof(in[0].pool), "coder");
		snprintf(in[0].instance, sizeof(in[0].instance), "coder-0");
		in[0].pid = 100;
		in[0].state = BREAKER_OPEN;
		in[0].since = 1764529190.0;
		in[0].retry_at = 1764529220.0;
		in[0].success_ratio = 0.25;
		in[0].latency_s = NAN;
		in[0].quality = NAN;
		in[1] = in[0];
		snprintf(in[1].instance, sizeof(in[1].instance), "coder-1");
		in[1].pid = 101;
		in[1].state = BREAKER_CLOSED;
		in[1].retry_at = 0;
		in[1].weight = 1;
		in[1].latency_s = 0.5;
		in[1].quality = 0.75;
		doc = api__pools(&v, &b);
		d = json_loads(doc, 0, NULL);
		x = json_array_get(json_object_get(d, "pools"), 0);
		assert_int_equal(json_integer_value(json_object_get(x, "open_breakers")), 1);
		x = json_array_get(json_object_get(x, "instances"), 0);
		assert_string_equal(json_string_value(json_object_get(x, "breaker")), "open");
		json_decref(d);
		free(doc);
		doc = api__pool_weights(&b, "coder");
		assert_non_null(doc);
		d = json_loads(doc, 0, NULL);
		assert_string_equal(json_string_value(json_object_get(d, "routing")), "quality");
		x = json_array_get(json_object_get(d, "instances"), 0);
		assert_string_equal(json_string_value(json_object_get(x, "instance")), "coder-0");
		assert_true(json_real_value(json_object_get(x, "weight")) == 0);
		assert_string_equal(json_string_value(json_object_get(x, "retry_at")),
				    "2025-11-30T19:00:20.000Z");
		assert_true(json_is_null(json_object_get(x, "latency_seconds")));
		assert_true(json_is_null(json_object_get(x, "quality")));
		x = json_array_get(json_object_get(d, "instances"), 1);
		assert_string_equal(json_string_value(json_object_get(x, "breaker")), "closed");
		assert_true(json_real_value(json_object_get(x, "weight")) == 1);
		assert_true(json_is_null(json_object_get(x, "retry_at")));
		assert_true(json_real_value(json_object_get(x, "quality")) == 0.75);
		json_decref(d);
		free(doc);
		assert_null(api__pool_weights(&b, "nope"));
		assert_int_equal(errno, ENOENT);
	}

	ev[0].holds = true;
	ev[1].holds = false;
	doc = api__pool_evaluate(ev, 2);
	d = json_loads(doc, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(d, "status")), "success");
	assert_true(json_is_true(
		json_object_get(json_array_get(json_object_get(d, "verdicts"), 0), "holds")));
	assert_true(json_is_false(
		json_object_get(json_array_get(json_object_get(d, "verdicts"), 1), "holds")));
	json_decref(d);
	free(doc);
}

/* GET /api/v1/cost: figures as given, null for no success yet and for a budget not reached. */
static void test_cost_document(void **state)
{
	struct cost_upstream_view up = {
		.upstream = "llm-api", .requests = 10, .successes = 8, .usd = 0.02};
	struct cost_agent_view a[2] = {
		{.agent = "coder",
		 .spent = 8.5,
		 .budget = 10,
		 .usage = 0.85,
		 .forecast = 12,
		 .lower = 11,
		 .upper = 13,
		 .rate_usd_per_hour = 0.5,
		 .exhaust_time = 1764518400,
		 .requests = 10,
		 .successes = 8,
		 .per_success = 8.5 / 8,
		 .warned = true,
		 .nupstreams = 1,
		 .upstreams = &up},
		{.agent = "idle", .budget = 10, .per_success = NAN},
	};
	struct cost_view v = {.time = 1764504000,
			      .day = 20422,
			      .warning_ratio = 0.8,
			      .emergency_ratio = 0.95,
			      .n = 2,
			      .agents = a,
			      .nscale_down = 1};
	json_t *root, *x;
	char *text;

	(void)state;
	a[0].today[COST_APP] = 8.5;
	a[0].today[COST_LLM] = 0.25;
	a[0].total[COST_LLM] = 1.5;
	a[0].npast = 1;
	a[0].past[0] = (struct cost_day){20421, 9.75};
	snprintf(v.scale_down[0].agent, sizeof(v.scale_down[0].agent), "coder");
	v.scale_down[0].value = 1.2;
	text = api__cost(&v);
	assert_non_null(text);
	root = json_loads(text, 0, NULL);
	assert_non_null(root);
	assert_string_equal(json_string_value(json_object_get(root, "day")), "2025-11-30");
	x = json_array_get(json_object_get(root, "agents"), 0);
	assert_string_equal(json_string_value(json_object_get(x, "agent")), "coder");
	assert_string_equal(json_string_value(json_object_get(x, "threshold")), "warning");
	assert_true(json_real_value(json_object_get(json_object_get(x, "today_usd"), "app")) ==
		    8.5);
	assert_true(json_real_value(json_object_get(json_object_get(x, "today_usd"), "llm")) ==
		    0.25);
	assert_true(json_real_value(json_object_get(json_object_get(x, "total_usd"), "llm")) ==
		    1.5);
	assert_true(json_real_value(json_object_get(json_object_get(x, "forecast"), "upper_usd")) ==
		    13);
	assert_true(json_is_string(json_object_get(x, "budget_exhausted_at")));
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(json_object_get(x, "previous_days"), 0), "day")),
			    "2025-11-29");
	assert_true(
		json_real_value(json_object_get(json_array_get(json_object_get(x, "upstreams"), 0),
						"cost_per_success_usd")) == 0.02 / 8);
	x = json_array_get(json_object_get(root, "agents"), 1);
	assert_true(json_is_null(json_object_get(x, "cost_per_success_usd")));
	assert_true(json_is_null(json_object_get(x, "budget_exhausted_at")));
	assert_string_equal(json_string_value(json_object_get(x, "threshold")), "none");
	x = json_object_get(json_object_get(root, "recommendations"), "scale_down_first");
	assert_int_equal(json_array_size(x), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(x, 0), "agent")),
			    "coder");
	json_decref(root);
	free(text);
}

/* GET /api/v1/incidents and /{id}: the schema the README documents, and a 404's errno. */
static void test_incidents(void **state)
{
	const double t0 = 1764529200.0;
	struct incident_params p = {.window_s = 60};
	struct incident_tracker *x = incident__new(&p);
	const struct incident_upstream ups[] = {{"coder", "llm-api", 10}};
	const struct incident_obs o[] = {
		{"coder", "request_latency_p99", INCIDENT_ANOMALY, INCIDENT_LATENCY, t0,
		 "8.2 vs 1.1", false},
		{"coder", "AgentLatencyHigh", INCIDENT_ALERT, INCIDENT_LATENCY, t0 + 3, "", false},
	};
	struct incident_view *v;
	json_t *d, *in, *sig;
	char *text;

	(void)state;
	assert_non_null(x);
	incident__update(x, t0 + 4, o, 2, ups, 1);
	v = incident__view(x, t0 + 4);
	text = api__incidents(v, 0);
	assert_non_null(text);
	d = json_loads(text, 0, NULL);
	assert_non_null(d);
	assert_string_equal(json_string_value(json_object_get(d, "time")),
			    "2025-11-30T19:00:04.000Z");
	in = json_array_get(json_object_get(d, "incidents"), 0);
	assert_int_equal(json_integer_value(json_object_get(in, "id")), 1);
	assert_string_equal(json_string_value(json_object_get(in, "agent")), "coder");
	assert_string_equal(json_string_value(json_object_get(in, "state")), "open");
	assert_true(json_is_null(json_object_get(in, "endsAt")));
	assert_true(json_is_null(json_object_get(in, "link")));
	assert_string_equal(json_string_value(json_object_get(in, "cause")),
			    "request_latency_p99 departed first (8.2 vs 1.1)");
	assert_string_equal(json_string_value(json_object_get(in, "recommendation")),
			    "check upstream llm-api: its latency rose");
	assert_int_equal(json_array_size(json_object_get(in, "signals")), 2);
	sig = json_array_get(json_object_get(in, "signals"), 1);
	assert_string_equal(json_string_value(json_object_get(sig, "source")), "alert");
	assert_string_equal(json_string_value(json_object_get(sig, "kind")), "latency");
	assert_true(json_is_null(json_object_get(sig, "detail")));
	json_decref(d);
	free(text);

	text = api__incidents(v, 1);
	assert_non_null(text);
	assert_non_null(strstr(text, "\"incident\":{\"id\":1,"));
	free(text);
	errno = 0;
	assert_null(api__incidents(v, 2));
	assert_int_equal(errno, ENOENT);
	incident__view_free(v);
	incident__free(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_error_document),
		cmocka_unit_test(test_rfc3339_milliseconds),
		cmocka_unit_test(test_overview_rates_and_ratios),
		cmocka_unit_test(test_overview_first_tick_and_reset),
		cmocka_unit_test(test_parse_silence_refuses_what_it_cannot_keep),
		cmocka_unit_test(test_pools_json),
		cmocka_unit_test(test_cost_document),
		cmocka_unit_test(test_incidents),
	};

	return cmocka_run_group_tests_name("api", tests, NULL, NULL);
}
