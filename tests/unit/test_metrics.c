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
				!strstr(f->name, "notification") && !strstr(f->name, "statsd") &&
				!strstr(f->name, "_app_");

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resident_memory_name),
		cmocka_unit_test(test_run_queue_name),
		cmocka_unit_test(test_repairs_are_not_drops),
		cmocka_unit_test(test_page_follows_catalog),
	};

	return cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
}
