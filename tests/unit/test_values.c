// SPDX-License-Identifier: MIT
/*
 * The figures rules read, over hand-made snapshots: ratios with their likely cause, rates,
 * quantiles, load, events, label matchers, the window, and the names check-config accepts.
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
#include <unistd.h>

#include "catalog.h"
#include "snapshot.h"
#include "values.h"

/* One agent "coder" at time t with requests to "llm": ok answered 2xx, bad answered 5xx. */
static struct snapshot *snap(double t, __u64 ok, __u64 bad, __u64 cpu_ns, __u64 ooms,
			     __u64 err_exits, __u64 slot20)
{
	struct snapshot *s = snapshot__new();

	assert_non_null(s);
	s->time = t;
	s->nagents = 1;
	s->agents = calloc(1, sizeof(*s->agents));
	snprintf(s->agents[0].name, sizeof(s->agents[0].name), "coder");
	s->agents[0].instances = 2;
	s->agents[0].s.cpu_ns = cpu_ns;
	s->agents[0].s.oom_kills = ooms;
	s->agents[0].s.process_exits[SW_EXIT_ERROR] = err_exits;
	s->nrequests = 2;
	s->requests = calloc(2, sizeof(*s->requests));
	snprintf(s->requests[0].upstream, sizeof(s->requests[0].upstream), "llm");
	s->requests[0].role = SW_ROLE_CLIENT;
	s->requests[0].status = 2;
	s->requests[0].count = ok;
	s->requests[0].lat[20] = slot20; /* (2^19, 2^20] ns: 0.52 to 1.05 ms */
	s->requests[1] = s->requests[0];
	s->requests[1].status = 5;
	s->requests[1].count = bad;
	s->requests[1].lat[20] = 0;
	return s;
}

static struct values *two(struct snapshot *a, struct snapshot *b)
{
	struct values_params p;
	struct values *v;

	values__params_default(&p, 1);
	v = values__new(&p);
	assert_non_null(v);
	values__push(v, a);
	values__push(v, b);
	snapshot__put(a);
	snapshot__put(b);
	return v;
}

static int ask(struct values *v, const char *expr, struct alert_value *out)
{
	struct alert_expr x;
	char err[256];

	assert_int_equal(alert__parse_expr(expr, &x, err, sizeof(err)), 0);
	memset(out, 0, sizeof(*out));
	return values__lookup(v, &x.q, "coder", out);
}

static void test_ratios_and_cause(void **s)
{
	struct values *v = two(snap(100, 100, 0, 0, 0, 0, 0), snap(110, 190, 10, 0, 0, 0, 0));
	struct alert_value out;

	(void)s;
	assert_int_equal(ask(v, "error_ratio > 0", &out), 0);
	assert_true(fabs(out.value - 0.1) < 1e-12); /* 10 of 100 in the window */
	assert_non_null(strstr(out.cause, "failed requests to llm (10 of 100"));
	assert_int_equal(ask(v, "success_ratio > 0", &out), 0);
	assert_true(fabs(out.value - 0.9) < 1e-12);
	assert_int_equal(ask(v, "rate(requests{status=\"5xx\"}) > 0", &out), 0);
	assert_true(fabs(out.value - 1.0) < 1e-12);
	assert_int_equal(ask(v, "rate(requests{status!=\"5xx\"}) > 0", &out), 0);
	assert_true(fabs(out.value - 9.0) < 1e-12);
	assert_int_equal(ask(v, "rate(requests{upstream=\"nowhere\"}) > 0", &out), -ENOENT);
	values__free(v);

	/* Under min_requests (5) in the window: no ratio. */
	v = two(snap(100, 10, 0, 0, 0, 0, 0), snap(110, 12, 2, 0, 0, 0, 0));
	assert_int_equal(ask(v, "error_ratio > 0", &out), -ENOENT);
	values__free(v);
}

static void test_rates_load_events(void **s)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	struct values *v =
		two(snap(100, 0, 0, 0, 1, 0, 0), snap(110, 0, 0, (__u64)(5e9 * ncpu), 3, 4, 0));
	struct alert_value out;

	(void)s;
	assert_int_equal(ask(v, "rate(oom_kills) > 0", &out), 0);
	assert_true(fabs(out.value - 0.2) < 1e-12);
	assert_int_equal(ask(v, "oom_kills > 0", &out), 0);
	assert_true(out.value == 3); /* bare counter: its latest value */
	assert_int_equal(ask(v, "load > 0", &out), 0);
	assert_true(fabs(out.value - 0.5) < 1e-9); /* half of every CPU */
	assert_int_equal(ask(v, "instances > 0", &out), 0);
	assert_true(out.value == 2);
	assert_int_equal(ask(v, "deriv(instances) > 0", &out), 0);
	assert_true(out.value == 0);
	assert_int_equal(ask(v, "event(oom_kill)", &out), 0);
	assert_true(out.value == 1);
	assert_int_equal(ask(v, "event(crash_loop)", &out), 0);
	assert_true(out.value == 1); /* 4 error exits in the window, 3 needed */
	assert_non_null(strstr(out.cause, "4 exits by error or signal"));
	assert_int_equal(ask(v, "anomaly(*)", &out), -ENOENT); /* the tick was not scored */
	values__free(v);

	/* The same exits with every instance gone: a teardown, not a crash loop. */
	{
		struct snapshot *a = snap(100, 0, 0, 0, 0, 0, 0), *b = snap(110, 0, 0, 0, 0, 4, 0);

		b->agents[0].instances = 0;
		v = two(a, b);
		assert_int_equal(ask(v, "event(crash_loop)", &out), 0);
		assert_true(out.value == 0);
		values__free(v);
	}
}

static void test_quantile(void **s)
{
	struct values *v = two(snap(100, 0, 0, 0, 0, 0, 50), snap(110, 0, 0, 0, 0, 0, 150));
	struct alert_value out;

	(void)s;
	assert_int_equal(ask(v, "p95(request_duration) > 0", &out), 0);
	/* Every observation in the window is in (2^19, 2^20] ns. */
	assert_true(out.value > 524288e-9 && out.value <= 1048576e-9);
	assert_int_equal(ask(v, "request_duration p50 > 0", &out), 0);
	assert_int_equal(ask(v, "p95(request_duration{role=\"server\"}) > 0", &out), -ENOENT);
	values__free(v);
}

/* The window's start is the newest snapshot at least window_s old. */
static void test_window(void **s)
{
	struct values_params p;
	struct alert_value out;
	struct values *v;
	int i;

	(void)s;
	values__params_default(&p, 1);
	p.window_s = 10;
	v = values__new(&p);
	for (i = 0; i <= 30; i++) {
		struct snapshot *x = snap(100 + i, 0, 0, 0, (__u64)i * i, 0, 0);

		values__push(v, x);
		snapshot__put(x);
	}
	/* ooms = t^2 at t = 0..30: (900 - 400) / 10 over [20, 30]. */
	assert_int_equal(ask(v, "rate(oom_kills) > 0", &out), 0);
	assert_true(fabs(out.value - 50) < 1e-9);
	values__free(v);
}

static void test_check(void **s)
{
	struct alert_expr x;
	char err[256];

	(void)s;
	alert__parse_expr("p95(request_duration{upstream=\"a\"}) > 1s", &x, err, sizeof(err));
	assert_int_equal(values__check(&x.q, err, sizeof(err)), 0);
	alert__parse_expr("request_duraton p95 > 1s", &x, err, sizeof(err));
	assert_int_equal(values__check(&x.q, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "no figure named \"request_duraton\""));
	alert__parse_expr("p95(oom_kills) > 1", &x, err, sizeof(err));
	assert_int_equal(values__check(&x.q, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "quantiles are for histograms"));
	alert__parse_expr("rate(request_duration) > 1", &x, err, sizeof(err));
	assert_int_equal(values__check(&x.q, err, sizeof(err)), -EINVAL);
	alert__parse_expr("rate(requests{colour=\"red\"}) > 1", &x, err, sizeof(err));
	assert_int_equal(values__check(&x.q, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "has no label \"colour\""));
	alert__parse_expr("rate(error_ratio) > 1", &x, err, sizeof(err));
	assert_int_equal(values__check(&x.q, err, sizeof(err)), -EINVAL);
	alert__parse_expr("anomaly(request_latency_p99)", &x, err, sizeof(err));
	assert_int_equal(values__check(&x.q, err, sizeof(err)), 0);
	alert__parse_expr("anomaly(bogus)", &x, err, sizeof(err));
	assert_int_equal(values__check(&x.q, err, sizeof(err)), -ENOENT);
	alert__parse_expr("event(meltdown)", &x, err, sizeof(err));
	assert_int_equal(values__check(&x.q, err, sizeof(err)), -ENOENT);
	alert__parse_expr("swarmwatch_agent_instances > 1", &x, err, sizeof(err));
	assert_int_equal(values__check(&x.q, err, sizeof(err)), 0);
}

/* App metrics (StatsD) are named bare too: quality means swarmwatch_agent_app_quality. */
static void test_app_names(void **s)
{
	static const char *const labels[] = {"agent"};
	struct alert_expr x;
	char err[256];

	(void)s;
	alert__parse_expr("quality < 0.5", &x, err, sizeof(err));
	assert_int_equal(values__check(&x.q, err, sizeof(err)), -ENOENT);
	assert_true(catalog__app_family("swarmwatch_agent_app_quality", CATALOG_GAUGE, labels, 1) >=
		    0);
	assert_true(catalog__app_family("swarmwatch_agent_app_cost_usd_total", CATALOG_COUNTER,
					labels, 1) >= 0);
	assert_true(catalog__app_family("swarmwatch_agent_app_queue_wait_seconds",
					CATALOG_HISTOGRAM, labels, 1) >= 0);
	assert_int_equal(values__check(&x.q, err, sizeof(err)), 0);
	alert__parse_expr("rate(cost_usd) > 1", &x, err, sizeof(err));
	assert_int_equal(values__check(&x.q, err, sizeof(err)), 0);
	alert__parse_expr("p95(queue_wait_seconds) > 1s", &x, err, sizeof(err));
	assert_int_equal(values__check(&x.q, err, sizeof(err)), 0);
	alert__parse_expr("p95(queue_wait) > 1s", &x, err, sizeof(err));
	assert_int_equal(values__check(&x.q, err, sizeof(err)), 0);
	alert__parse_expr("qualty < 0.5", &x, err, sizeof(err));
	assert_int_equal(values__check(&x.q, err, sizeof(err)), -ENOENT);
}

/* Every default rule names something that exists. */
static void test_default_rules_resolve(void **s)
{
	struct alert_rule r[ALERT_RULES_MAX];
	uint32_t n = alert__rules_default(r, ALERT_RULES_MAX), i;
	struct alert_expr x;
	char err[256];

	(void)s;
	for (i = 0; i < n; i++) {
		assert_int_equal(alert__parse_expr(r[i].expr_text, &x, err, sizeof(err)), 0);
		if (values__check(&x.q, err, sizeof(err)))
			fail_msg("%s: %s", r[i].name, err);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ratios_and_cause),
		cmocka_unit_test(test_rates_load_events),
		cmocka_unit_test(test_quantile),
		cmocka_unit_test(test_window),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_default_rules_resolve),
		cmocka_unit_test(test_app_names),
	};

	return cmocka_run_group_tests_name("values", tests, NULL, NULL);
}
