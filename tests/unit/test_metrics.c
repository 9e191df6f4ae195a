// SPDX-License-Identifier: MIT
/*
 * The /metrics exposition of a synthetic snapshot: the names of the metric contract, and
 * counters that are not drops kept out of swarmwatch_events_dropped_total.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "catalog.h"
#include "llm.h"
#include "snapshot.h"
#include "metrics.h"

/* A snapshot of one agent "alpha" with a few counters set; rendered into b. */
static void render_one_agent(struct buf *b)
{
	static struct agent_snap a;
	struct snapshot s = {0};

	memset(&a, 0, sizeof(a));
	snprintf(a.name, sizeof(a.name), "alpha");
	a.slot = 1;
	a.instances = 2;
	a.rss_bytes = 4096 * 25;
	a.s.runq_lat[12] = 7;
	a.s.runq_lat_sum_ns = 7 * 4096;
	s.time = 1800000000.0;
	s.agents = &a;
	s.nagents = 1;
	s.rss_up = true;
	s.counters[SW_CNT_RINGBUF_FULL] = 3;
	s.counters[SW_CNT_ONCPU_REPAIRED] = 5;
	buf__init(b);
	metrics__render(b, &s);
	assert_false(b->failed);
	assert_non_null(b->data);
}

static void test_resident_memory_name(void **state)
{
	struct buf b;

	(void)state;
	render_one_agent(&b);
	assert_non_null(strstr(b.data, "# TYPE swarmwatch_agent_resident_memory_bytes gauge\n"));
	assert_non_null(strstr(
		b.data, "\nswarmwatch_agent_resident_memory_bytes{agent=\"alpha\"} 102400\n"));
	assert_null(strstr(b.data, "memory_resident"));
	buf__free(&b);
}

static void test_run_queue_name(void **state)
{
	struct buf b;

	(void)state;
	render_one_agent(&b);
	assert_non_null(
		strstr(b.data, "# TYPE swarmwatch_agent_run_queue_delay_seconds histogram\n"));
	assert_non_null(strstr(
		b.data, "\nswarmwatch_agent_run_queue_delay_seconds_count{agent=\"alpha\"} 7\n"));
	assert_null(strstr(b.data, "runqueue"));
	buf__free(&b);
}

/* A repaired CPU record loses nothing: its own counter, not a drop reason. */
static void test_repairs_are_not_drops(void **state)
{
	struct buf b;

	(void)state;
	render_one_agent(&b);
	assert_non_null(strstr(b.data, "# TYPE swarmwatch_cpu_record_repairs_total counter\n"));
	assert_non_null(strstr(b.data, "\nswarmwatch_cpu_record_repairs_total 5\n"));
	assert_non_null(
		strstr(b.data, "\nswarmwatch_events_dropped_total{reason=\"ringbuf_full\"} 3\n"));
	assert_null(strstr(b.data, "cpu_record_repaired"));
	buf__free(&b);
}

/* The page is the catalogue: every family exported for the snapshot, each with HELP and TYPE. */
static void test_page_follows_catalog(void **state)
{
	const struct catalog_family *f;
	char line[256];
	struct buf b;
	int i, families = 0, expected = 0;
	const char *p;

	(void)state;
	render_one_agent(&b);
	for (i = 0; (f = catalog__family(i)); i++) {
		bool exported = strcmp(f->name, "swarmwatch_tls_probed_processes") &&
				strcmp(f->name, "swarmwatch_tls_attach_failures_total") &&
				!strstr(f->name, "anomal") && !strstr(f->name, "forecast") &&
				strncmp(f->name, "swarmwatch_store_", 17) && /* no store here */
				strncmp(f->name, "swarmwatch_alerts", 17) &&
				strcmp(f->name, "swarmwatch_incidents") && /* no incident view */
				!strstr(f->name, "notification") && !strstr(f->name, "statsd") &&
				!strstr(f->name, "_app_") && strncmp(f->name, "gen_ai_", 7) &&
				!strstr(f->name, "_llm_") && /* no pools here */
				strncmp(f->name, "swarmwatch_pool_", 16) &&
				!strstr(f->name, "breaker") && /* no breakers here */
				strcmp(f->name, "swarmwatch_instance_routing_weight") &&
				/* no cost stage here */
				!strstr(f->name, "cost") &&
				strncmp(f->name, "swarmwatch_agent_budget", 23);

		snprintf(line, sizeof(line), "# TYPE %s %s\n", f->name,
			 catalog__type_name(f->type));
		expected += exported;
		if (exported)
			assert_non_null(strstr(b.data, line));
		else
			assert_null(strstr(b.data, line));
	}
	for (p = b.data; (p = strstr(p, "# TYPE ")); p++)
		families++;
	assert_int_equal(families, expected);
	buf__free(&b);
}

/*
 * LLM calls under the OpenTelemetry GenAI names: histograms with their advised buckets, tokens
 * by type, cost by type, usage_missing, headroom; nothing for a token type never reported.
 */
static void test_llm_families(void **state)
{
	static struct agent_snap a;
	static struct llm_series x;
	static struct llm_headroom h;
	double spend = 1.25;
	struct llm_view v = {
		.series = &x, .nseries = 1, .room = &h, .nroom = 1, .spend_today = &spend};
	struct snapshot s = {0};
	struct buf b;

	(void)state;
	memset(&a, 0, sizeof(a));
	snprintf(a.name, sizeof(a.name), "coder");
	s.agents = &a;
	s.nagents = 1;
	s.llm = &v;
	v.truncated[LLM_TR_USAGE_LOST] = 2;
	memset(&x, 0, sizeof(x));
	snprintf(x.provider, sizeof(x.provider), "openai");
	snprintf(x.model, sizeof(x.model), "gpt-4o");
	x.operation = "chat";
	x.requests[LLM_ST_2XX] = 3;
	x.requests[LLM_ST_429] = 1;
	x.usage_missing = 1;
	x.dur[llm__duration_bucket(0.5)] = 3;
	x.dur_sum = 1.5;
	x.tok[LLM_TOKEN_INPUT][llm__token_bucket(1000)] = 2;
	x.tok_sum[LLM_TOKEN_INPUT] = 2000;
	x.cost[LLM_TOKEN_INPUT] = 0.005;
	memset(&h, 0, sizeof(h));
	snprintf(h.provider, sizeof(h.provider), "openai");
	snprintf(h.server, sizeof(h.server), "api.openai.com:443");
	h.rate[LLM_RATE_TOKENS] = 149000;
	h.have = 1u << LLM_RATE_TOKENS;
	buf__init(&b);
	metrics__render(&b, &s);
	assert_false(b.failed);
#define L "agent=\"coder\",gen_ai_provider_name=\"openai\",gen_ai_request_model=\"gpt-4o\""
	assert_non_null(
		strstr(b.data, "# TYPE gen_ai_client_operation_duration_seconds histogram\n"));
	assert_non_null(strstr(b.data, "\ngen_ai_client_operation_duration_seconds_bucket{" L
				       ",gen_ai_operation_name=\"chat\",le=\"0.64\"} 3\n"));
	assert_non_null(strstr(b.data, "\ngen_ai_client_operation_duration_seconds_bucket{" L
				       ",gen_ai_operation_name=\"chat\",le=\"0.32\"} 0\n"));
	assert_non_null(strstr(
		b.data, "\ngen_ai_client_token_usage_sum{" L
			",gen_ai_operation_name=\"chat\",gen_ai_token_type=\"input\"} 2000\n"));
	assert_non_null(strstr(b.data,
			       "\ngen_ai_client_token_usage_bucket{" L
			       ",gen_ai_operation_name=\"chat\",gen_ai_token_type=\"input\","
			       "le=\"1024\"} 2\n"));
	assert_null(strstr(b.data, "gen_ai_token_type=\"output\"")); /* never reported */
	assert_null(strstr(b.data, "gen_ai_client_operation_time_to_first_chunk_seconds_count"));
	assert_non_null(strstr(b.data, "\nswarmwatch_agent_llm_requests_total{" L
				       ",gen_ai_operation_name=\"chat\",status=\"429\"} 1\n"));
	assert_non_null(strstr(b.data, "\nswarmwatch_agent_llm_usage_missing_total{" L
				       ",gen_ai_operation_name=\"chat\"} 1\n"));
	assert_non_null(strstr(b.data, "\nswarmwatch_agent_llm_cost_usd_total{" L
				       ",gen_ai_token_type=\"input\"} 0.005\n"));
	assert_non_null(strstr(b.data,
			       "\nswarmwatch_agent_llm_ratelimit_remaining{agent=\"coder\","
			       "gen_ai_provider_name=\"openai\",server_address=\"api.openai."
			       "com:443\",kind=\"tokens\"} 149000\n"));
	assert_null(strstr(b.data, "kind=\"requests\""));
	assert_non_null(
		strstr(b.data, "\nswarmwatch_agent_llm_spend_today_usd{agent=\"coder\"} 1.25\n"));
	assert_non_null(
		strstr(b.data, "\nswarmwatch_llm_truncated_total{reason=\"usage_lost\"} 2\n"));
#undef L
	buf__free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resident_memory_name),
		cmocka_unit_test(test_run_queue_name),
		cmocka_unit_test(test_repairs_are_not_drops),
		cmocka_unit_test(test_page_follows_catalog),
		cmocka_unit_test(test_llm_families),
	};

	return cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
}
