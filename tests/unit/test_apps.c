// SPDX-License-Identifier: MIT
/*
 * App metrics: one tick's lines aggregated per series (counters scaled by their sample rate,
 * gauge deltas, log2 histograms, sets), folded into cumulative series named for the sender's
 * agent, the bounds on series and label values, and the families on the /metrics page.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apps.h"
#include "buf.h"
#include "catalog.h"
#include "metrics.h"
#include "snapshot.h"

static const struct apps_agent agents[] = {{"alpha", 3}, {"beta", 5}};

/* Adds every line of text from a sender of slot to b; returns how many did not parse. */
static int feed(struct apps_batch *b, const struct apps_params *p, __u32 slot, const char *text)
{
	struct statsd_metric m;
	const char *line;
	size_t pos = 0, len;
	int bad = 0;

	while (statsd__next_line(text, strlen(text), &pos, &line, &len)) {
		if (statsd__parse_line(line, len, &m, NULL)) {
			bad++;
			continue;
		}
		assert_int_equal(apps__batch_add(b, p, slot, &m), 0);
	}
	return bad;
}

/* The sample of family `name` with agent `agent` (and first tag tag0 when not NULL) in v. */
static const struct app_sample *sample(const struct app_view *v, const char *name,
				       const char *agent, const char *tag0)
{
	const struct catalog_family *f = catalog__find(name);
	int i;

	if (!f)
		return NULL;
	for (i = 0; i < v->n; i++) {
		const struct app_sample *x = &v->samples[i];

		if (x->fam == f && !strcmp(x->values[0], agent) &&
		    (!tag0 || !strcmp(x->values[1], tag0)))
			return x;
	}
	return NULL;
}

static void test_aggregate(void **state)
{
	struct apps_batch *b = apps__batch_new();
	struct apps_params p;
	const struct app_sample *x;
	struct app_view *v;
	struct apps *a;

	(void)state;
	apps__params_default(&p);
	a = apps__new(&p);
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(feed(b, &p, 3,
			      "t1_req:2|c\nt1_req:1|c|@0.25\n"
			      "quality:0.5|g\nquality:+0.25|g\n"
			      "t1_lat:250|ms\nt1_lat:1000|ms|@0.5\n"
			      "t1_users:ann|s\nt1_users:bob|s\nt1_users:ann|s\n"),
			 0);
	assert_int_equal(feed(b, &p, 5, "quality:0.9|g\nt1_req:10|c\nnot a line\n"), 1);
	apps__merge(a, b, agents, 2, 100);
	v = apps__view(a);
	assert_non_null(v);
	x = sample(v, "swarmwatch_agent_app_t1_req_total", "alpha", NULL);
	assert_non_null(x);
	assert_true(x->value == 6); /* 2 + 1 / 0.25 */
	x = sample(v, "swarmwatch_agent_app_t1_req_total", "beta", NULL);
	assert_true(x && x->value == 10);
	x = sample(v, "swarmwatch_agent_app_quality", "alpha", NULL);
	assert_true(x && x->value == 0.75);
	x = sample(v, "swarmwatch_agent_app_quality", "beta", NULL);
	assert_true(x && x->value == 0.9);
	/* 0.25 s in le 0.25 (2^-2), 1 s twice (rate 0.5) in le 1 (2^0); in seconds. */
	x = sample(v, "swarmwatch_agent_app_t1_lat_seconds", "alpha", NULL);
	assert_non_null(x);
	assert_int_equal(x->count, 3);
	assert_true(x->sum == 2.25);
	assert_int_equal(x->buckets[-2 - APPS_LE_LO], 1);
	assert_int_equal(x->buckets[0 - APPS_LE_LO], 2);
	x = sample(v, "swarmwatch_agent_app_t1_users", "alpha", NULL);
	assert_true(x && x->value == 2);
	apps__view_free(v);

	/* Next tick: counters and histograms accumulate, deltas move the gauge, sets restart. */
	apps__batch_reset(b);
	feed(b, &p, 3, "t1_req:4|c\nquality:-0.5|g\nt1_lat:0.001|ms\n");
	apps__merge(a, b, agents, 2, 101);
	v = apps__view(a);
	assert_true(sample(v, "swarmwatch_agent_app_t1_req_total", "alpha", NULL)->value == 10);
	assert_true(sample(v, "swarmwatch_agent_app_quality", "alpha", NULL)->value == 0.25);
	assert_true(sample(v, "swarmwatch_agent_app_t1_users", "alpha", NULL)->value == 0);
	x = sample(v, "swarmwatch_agent_app_t1_lat_seconds", "alpha", NULL);
	assert_int_equal(x->count, 4);
	assert_int_equal(x->buckets[0], 1); /* 1 us is below the first bound */
	apps__view_free(v);
	apps__batch_free(b);
	apps__free(a);
}

/* Senders of no agent, slots the tick does not export, and a trusted agent tag. */
static void test_attribution(void **state)
{
	struct apps_batch *b = apps__batch_new();
	struct apps_params p;
	struct app_view *v;
	struct apps *a;

	(void)state;
	apps__params_default(&p);
	a = apps__new(&p);
	feed(b, &p, SW_SLOT_NONE, "t2_x:1|c\nt2_x:1|c|#agent:beta\n");
	feed(b, &p, 9, "t2_x:5|c\n");
	feed(b, &p, 3, "t2_x:7|c|#agent:beta\n"); /* untrusted: alpha's own */
	apps__merge(a, b, agents, 2, 100);
	v = apps__view(a);
	assert_true(sample(v, "swarmwatch_agent_app_t2_x_total", "", NULL)->value == 7);
	assert_true(sample(v, "swarmwatch_agent_app_t2_x_total", "alpha", NULL)->value == 7);
	assert_null(sample(v, "swarmwatch_agent_app_t2_x_total", "beta", NULL));
	assert_int_equal(apps__unattributed(a), 3);
	assert_int_equal(v->unattributed, 3);
	apps__view_free(v);
	apps__free(a);

	p.trust_agent_tag = true;
	a = apps__new(&p);
	apps__batch_reset(b);
	feed(b, &p, 3, "t2_x:7|c|#agent:beta\n");
	feed(b, &p, SW_SLOT_NONE, "t2_x:1|c|#agent:beta\n");
	apps__merge(a, b, agents, 2, 100);
	v = apps__view(a);
	assert_true(sample(v, "swarmwatch_agent_app_t2_x_total", "beta", NULL)->value == 8);
	assert_null(sample(v, "swarmwatch_agent_app_t2_x_total", "alpha", NULL));
	assert_int_equal(apps__unattributed(a), 0);
	apps__view_free(v);
	apps__free(a);
	apps__batch_free(b);
}

/* At most max_series per agent and max_values per label; the rest dropped and counted. */
static void test_bounds(void **state)
{
	struct apps_batch *b = apps__batch_new();
	struct apps_params p;
	struct app_view *v;
	struct apps *a;
	char line[64];
	int i;

	(void)state;
	apps__params_default(&p);
	p.tags[0] = "model";
	p.ntags = 1;
	p.max_series = 4;
	p.max_values = 2;
	a = apps__new(&p);
	for (i = 0; i < 6; i++) {
		snprintf(line, sizeof(line), "t3_n%d:1|g\n", i);
		feed(b, &p, 3, line);
	}
	feed(b, &p, 5, "t3_m:1|c|#model:a\nt3_m:1|c|#model:b\nt3_m:1|c|#model:c\n");
	feed(b, &p, 5, "t3_m:1|c|#model:a,other:x\n");
	apps__merge(a, b, agents, 2, 100);
	v = apps__view(a);
	assert_int_equal(v->dropped[APPS_DROP_SERIES_LIMIT], 2);
	assert_int_equal(v->dropped[APPS_DROP_LABEL_LIMIT], 1);
	assert_true(sample(v, "swarmwatch_agent_app_t3_m_total", "beta", "a")->value == 2);
	assert_non_null(sample(v, "swarmwatch_agent_app_t3_m_total", "beta", "b"));
	assert_null(sample(v, "swarmwatch_agent_app_t3_m_total", "beta", "c"));
	apps__view_free(v);

	/* A name taken with another type is a conflict, not a second family. */
	apps__batch_reset(b);
	feed(b, &p, 5, "t3_m_total:1|g\n");
	apps__merge(a, b, agents, 2, 101);
	assert_int_equal(apps__drops(a)[APPS_DROP_TYPE_CONFLICT], 1);

	/* Series of an agent no longer exported go after retention_s. */
	apps__merge(a, NULL, agents, 1, 101 + p.retention_s + 1);
	v = apps__view(a);
	assert_null(sample(v, "swarmwatch_agent_app_t3_m_total", "beta", "a"));
	assert_non_null(sample(v, "swarmwatch_agent_app_t3_n0", "alpha", NULL));
	apps__view_free(v);
	apps__free(a);
	apps__batch_free(b);

	p.max_series = 0;
	assert_null(apps__new(&p));
	assert_int_equal(errno, EINVAL);
}

/* Names sanitised, suffixes by type, the families rules look for registered from the start. */
static void test_families(void **state)
{
	struct apps_batch *b = apps__batch_new();
	const struct catalog_family *f;
	struct apps_params p;
	struct app_view *v;
	struct apps *a;

	(void)state;
	apps__params_default(&p);
	a = apps__new(&p);
	f = catalog__find("swarmwatch_agent_app_cost_usd_total");
	assert_true(f && f->type == CATALOG_COUNTER && !strcmp(f->labels[0], "agent"));
	f = catalog__find("swarmwatch_agent_app_queue_wait_seconds");
	assert_true(f && f->type == CATALOG_HISTOGRAM && f->nle == APPS_NLE);
	assert_non_null(catalog__find("swarmwatch_agent_app_quality"));
	assert_non_null(catalog__find("swarmwatch_agent_app_queue_length"));
	feed(b, &p, 3, "t4.llm-calls:1|c\nt4_done_total:1|c\nt4_wait_ms:2000|ms\nt4.size:3|d\n");
	apps__merge(a, b, agents, 2, 100);
	v = apps__view(a);
	assert_non_null(sample(v, "swarmwatch_agent_app_t4_llm_calls_total", "alpha", NULL));
	assert_non_null(sample(v, "swarmwatch_agent_app_t4_done_total", "alpha", NULL));
	assert_true(sample(v, "swarmwatch_agent_app_t4_wait_seconds", "alpha", NULL)->sum == 2);
	assert_true(sample(v, "swarmwatch_agent_app_t4_size", "alpha", NULL)->sum == 3);
	apps__view_free(v);
	apps__free(a);
	apps__batch_free(b);
}

static int count_samples(void *ctx, const struct catalog_sample *x)
{
	(void)x;
	(*(int *)ctx)++;
	return 0;
}

/* The page and catalog__for_each (what the store records) show the app families. */
static void test_page(void **state)
{
	struct apps_batch *b = apps__batch_new();
	struct snapshot s = {0};
	struct apps_params p;
	struct apps *a;
	struct buf out;
	int n = 0;

	(void)state;
	apps__params_default(&p);
	a = apps__new(&p);
	feed(b, &p, 3, "t5_q:0.5|g\nt5_w:0.3|h\n");
	feed(b, &p, SW_SLOT_NONE, "t5_q:2|g\n");
	apps__merge(a, b, agents, 2, 100);
	s.apps = apps__view(a);
	buf__init(&out);
	metrics__render(&out, &s);
	assert_false(out.failed);
	assert_non_null(strstr(out.data, "# TYPE swarmwatch_agent_app_t5_q gauge\n"));
	assert_non_null(strstr(out.data, "\nswarmwatch_agent_app_t5_q{agent=\"alpha\"} 0.5\n"));
	assert_non_null(strstr(out.data, "\nswarmwatch_agent_app_t5_q 2\n")); /* no agent */
	assert_non_null(strstr(out.data, "\nswarmwatch_agent_app_t5_w_bucket{agent=\"alpha\","
					 "le=\"0.5\"} 1\n"));
	assert_non_null(strstr(out.data, "\nswarmwatch_statsd_unattributed_lines_total 1\n"));
	/* A registered family without samples this tick is not on the page. */
	assert_null(strstr(out.data, "swarmwatch_agent_app_cost_usd_total"));
	catalog__for_each(&s, count_samples, &n);
	assert_true(n > 3);
	buf__free(&out);
	apps__view_free(s.apps);
	apps__free(a);
	apps__batch_free(b);
}

static void test_registry(void **state)
{
	static const char *const l[] = {"agent"};
	int i;

	(void)state;
	i = catalog__app_family("swarmwatch_agent_app_t6", CATALOG_GAUGE, l, 1);
	assert_true(i >= 0);
	assert_int_equal(catalog__app_family("swarmwatch_agent_app_t6", CATALOG_GAUGE, l, 1), i);
	assert_int_equal(catalog__app_family("swarmwatch_agent_app_t6", CATALOG_COUNTER, l, 1),
			 -EEXIST);
	assert_int_equal(catalog__app_family("swarmwatch_agent_instances", CATALOG_GAUGE, l, 1),
			 -EEXIST);
	assert_int_equal(catalog__app_family("swarmwatch_agent_app_t7", CATALOG_GAUGE, l, 0),
			 -EINVAL);
	assert_ptr_equal(catalog__app(i), catalog__find("swarmwatch_agent_app_t6"));
	assert_ptr_equal(catalog__family(catalog__nfamilies() - 1), catalog__app(i));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_aggregate), cmocka_unit_test(test_attribution),
		cmocka_unit_test(test_bounds),	  cmocka_unit_test(test_families),
		cmocka_unit_test(test_page),	  cmocka_unit_test(test_registry),
	};

	return cmocka_run_group_tests_name("apps", tests, NULL, NULL);
}
