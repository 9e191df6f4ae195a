// SPDX-License-Identifier: MIT
/*
 * Per-agent anomaly scoring on synthetic snapshots with a fake clock: a 10x step of one agent's
 * syscall rate opens one episode that lists syscall_rate and nothing else, latency signals from
 * histogram deltas, state freed with the agent, the JSON document and the /metrics families.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "anomaly.h"
#include "api.h"
#include "buf.h"
#include "detect.h"
#include "snapshot.h"
#include "metrics.h"

#define T0 1800000000.0 /* fake clock: unix time of the first tick */
#define WARMUP 30
#define HOLD 60.0

/* A deterministic generator, so every run sees the same series. */
static __u64 rng = 88172645463325252ULL;

static double uniform(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (rng >> 11) * (1.0 / 9007199254740992.0);
}

/* Factor 1 +- spread, uniform. */
static double jitter(double spread)
{
	return 1.0 + spread * (2.0 * uniform() - 1.0);
}

/* A synthetic agent: cumulative counters advanced by one tick at `rate` syscalls/s. */
static void advance(struct agent_snap *a, double rate, double dt)
{
	static const struct {
		int slot;
		double share;
	} lat[] = {{9, 0.2}, {10, 0.4}, {11, 0.3}, {12, 0.08}, {16, 0.02}};
	__u64 n = (__u64)(rate * dt * jitter(0.05)), k;
	size_t i;

	a->s.syscalls[0] += n / 2;
	a->s.syscalls[1] += n - n / 2;
	a->s.syscall_errors[2] += (__u64)(0.01 * n * jitter(0.1));
	a->s.cpu_ns += (__u64)(0.2e9 * dt * jitter(0.05));
	for (i = 0; i < sizeof(lat) / sizeof(lat[0]); i++) {
		k = (__u64)(n * lat[i].share * jitter(0.1));
		a->s.syscall_lat[lat[i].slot] += k;
		a->s.syscall_lat_sum_ns += k << lat[i].slot;
	}
	a->s.runq_lat[12] += (__u64)(300 * jitter(0.1));
	a->s.runq_lat[14] += (__u64)(30 * jitter(0.1));
	a->s.runq_lat[17] += (__u64)(3 * jitter(0.3));
}

static void agent_init(struct agent_snap *a, const char *name, __u32 slot)
{
	memset(a, 0, sizeof(*a));
	snprintf(a->name, sizeof(a->name), "%s", name);
	a->slot = slot;
	a->instances = 1;
}

static struct anomaly *tracker_warmup(__u32 warmup)
{
	struct anomaly_params p;
	struct anomaly *an;

	anomaly__params_default(&p, 1.0);
	p.warmup = warmup;
	p.hold_s = HOLD;
	an = anomaly__new(&p);
	assert_non_null(an);
	return an;
}

static struct anomaly *tracker(void)
{
	return tracker_warmup(WARMUP);
}

/* Runs one tick over agents[0..n) at time t; the snapshot keeps its view. */
static void tick(struct anomaly *an, struct snapshot *s, struct agent_snap *agents, int n, double t)
{
	free(s->anomalies);
	memset(s, 0, sizeof(*s));
	s->time = t;
	s->agents = agents;
	s->nagents = n;
	assert_int_equal(anomaly__update(an, s), 0);
	assert_non_null(s->anomalies);
}

static const struct anomaly_agent *view_agent(const struct anomaly_view *v, const char *name)
{
	int i;

	for (i = 0; i < v->nagents; i++)
		if (!strcmp(v->agents[i].name, name))
			return &v->agents[i];
	return NULL;
}

/*
 * Three agents steady for 200 ticks, then alpha's syscall rate steps up 10x. Returns with the
 * tracker after `after` ticks of the new level; *first_hit is the tick alpha's syscall_rate
 * score first reached the threshold (-1 if never). Fails if anything else crossed it.
 */
static void run_step(struct anomaly *an, struct snapshot *s, struct agent_snap *agents, int after,
		     int *first_hit)
{
	static const char *const names[] = {"alpha", "beta", "gamma"};
	int i, j, k, steady = 200;
	double rate;

	rng = 88172645463325252ULL;
	for (i = 0; i < 3; i++)
		agent_init(&agents[i], names[i], i + 1);
	*first_hit = -1;
	for (k = 0; k < steady + after; k++) {
		for (i = 0; i < 3; i++) {
			rate = 1000.0 * (i + 1);
			if (i == 0 && k >= steady)
				rate *= 10;
			advance(&agents[i], rate, 1.0);
		}
		tick(an, s, agents, 3, T0 + k);
		for (i = 0; i < 3; i++) {
			const struct anomaly_agent *a = view_agent(s->anomalies, names[i]);

			assert_non_null(a);
			for (j = 0; j < ANOMALY_NSIGNALS; j++) {
				if (a->score[j] < s->anomalies->threshold)
					continue;
				if (i == 0 && j == ANOMALY_SYSCALL_RATE && k >= steady) {
					if (*first_hit < 0)
						*first_hit = k;
					continue;
				}
				fail_msg("tick %d: %s %s scored %.3f", k, names[i],
					 anomaly__signal_name(j), a->score[j]);
			}
		}
	}
}

static void test_step_opens_one_episode(void **state)
{
	struct anomaly *an = tracker();
	struct agent_snap agents[3];
	struct snapshot s = {0};
	const struct anomaly_agent *a;
	const struct anomaly_view *v;
	int hit, j;

	(void)state;
	run_step(an, &s, agents, 10, &hit);
	assert_true(hit >= 200 && hit <= 203);
	v = s.anomalies;
	a = view_agent(v, "alpha");
	assert_true(a->anomalous);
	assert_int_equal(a->episodes, 1);
	assert_true(a->score[ANOMALY_SYSCALL_RATE] >= v->threshold);
	assert_true(a->confidence[ANOMALY_SYSCALL_RATE] > 0.5);
	assert_true((a->scored & (1u << ANOMALY_SYSCALL_RATE)) &&
		    (a->scored & (1u << ANOMALY_RUNQ_P99)));
	for (j = 0; j < ANOMALY_NSIGNALS; j++)
		assert_true(a->score[j] >= 0.0 && a->score[j] <= 1.0);
	assert_false(view_agent(v, "beta")->anomalous);
	assert_int_equal(view_agent(v, "gamma")->episodes, 0);

	assert_int_equal(v->ncurrent, 1);
	assert_string_equal(v->current[0].agent, "alpha");
	assert_int_equal(v->current[0].signals, 1u << ANOMALY_SYSCALL_RATE);
	assert_true(v->current[0].start == T0 + hit);
	assert_true(v->current[0].end == 0);
	assert_true(v->current[0].peak >= v->threshold && v->current[0].peak <= 1.0);
	assert_true(v->current[0].score[ANOMALY_SYSCALL_RATE] == v->current[0].peak);
	assert_int_equal(v->nrecent, 1);
	free(s.anomalies);
	anomaly__free(an);
}

/*
 * Requests an agent makes: steady at 20 per tick with about 2 % failures and
 * latencies around 100 ms, then alpha's upstream starts failing half of
 * them. The episode names request_failure_ratio; the request latency
 * signals are scored all along.
 */
static void test_request_failures_step(void **state)
{
	struct anomaly *an = tracker_warmup(150); /* a ratio of small counts needs more history */
	struct agent_snap agents[2];
	struct snapshot s = {0};
	const struct anomaly_agent *a;
	int i, k, steady = 400, hit = -1;

	(void)state;
	rng = 88172645463325252ULL;
	agent_init(&agents[0], "alpha", 1);
	agent_init(&agents[1], "beta", 2);
	for (k = 0; k < steady + 10; k++) {
		for (i = 0; i < 2; i++) {
			struct agent_snap *ag = &agents[i];
			__u64 n = (__u64)(20 * jitter(0.2));
			double share = i == 0 && k >= steady ? 0.5 : 0.02 * jitter(0.5);

			advance(ag, 1000, 1.0);
			ag->s.client_requests += n;
			ag->s.client_failures += (__u64)(n * share + (uniform() < 0.3));
			ag->s.client_req_lat[26] += n / 4;
			ag->s.client_req_lat[27] += n - n / 4;
		}
		tick(an, &s, agents, 2, T0 + k);
		a = view_agent(s.anomalies, "alpha");
		if (hit < 0 && a->score[ANOMALY_REQUEST_FAILURES] >= s.anomalies->threshold)
			hit = k;
		if (view_agent(s.anomalies, "beta")->score[ANOMALY_REQUEST_FAILURES] >=
		    s.anomalies->threshold)
			print_message(
				"beta k=%d value %g score %g\n", k,
				view_agent(s.anomalies, "beta")->value[ANOMALY_REQUEST_FAILURES],
				view_agent(s.anomalies, "beta")->score[ANOMALY_REQUEST_FAILURES]);
		assert_true(view_agent(s.anomalies, "beta")->score[ANOMALY_REQUEST_FAILURES] <
			    s.anomalies->threshold);
	}
	assert_true(hit >= steady && hit <= steady + 3);
	a = view_agent(s.anomalies, "alpha");
	assert_true(a->anomalous);
	assert_true(a->scored & (1u << ANOMALY_REQUEST_P50));
	assert_true(a->scored & (1u << ANOMALY_REQUEST_P99));
	assert_true(s.anomalies->ncurrent >= 1);
	assert_true(s.anomalies->current[0].signals & (1u << ANOMALY_REQUEST_FAILURES));
	free(s.anomalies);
	anomaly__free(an);
}

/*
 * A step that goes away again: the signal settles back, and the episode closes hold seconds
 * after its last detection.
 */
static void test_episode_closes_after_hold(void **state)
{
	struct anomaly *an = tracker();
	struct agent_snap agents[3];
	struct snapshot s = {0};
	const struct anomaly_view *v;
	int hit, i, k;

	(void)state;
	run_step(an, &s, agents, 10, &hit);
	assert_true(hit >= 200);
	assert_int_equal(s.anomalies->ncurrent, 1);
	for (k = 0; k < 100; k++) {
		for (i = 0; i < 3; i++)
			advance(&agents[i], 1000.0 * (i + 1), 1.0);
		tick(an, &s, agents, 3, T0 + 210 + k);
	}
	v = s.anomalies;
	assert_int_equal(v->ncurrent, 0);
	assert_false(view_agent(v, "alpha")->anomalous);
	assert_int_equal(view_agent(v, "alpha")->episodes, 1);
	assert_true(view_agent(v, "alpha")->score[ANOMALY_SYSCALL_RATE] < v->threshold);
	assert_int_equal(v->nrecent, 1);
	assert_string_equal(v->recent[0].agent, "alpha");
	assert_true(v->recent[0].end > T0 + 210 + HOLD);
	free(s.anomalies);
	anomaly__free(an);
}

static void test_latency_signal_from_delta(void **state)
{
	struct anomaly *an = tracker();
	struct snapshot s = {0};
	struct agent_snap a;
	const struct anomaly_agent *v;

	(void)state;
	agent_init(&a, "lat", 1);
	a.s.syscall_lat[20] = 1000000; /* history before the first tick: not in any sample */
	a.s.syscalls[0] = 1000000;
	tick(an, &s, &a, 1, T0);
	a.s.syscall_lat[10] += 100;
	a.s.syscalls[0] += 100;
	tick(an, &s, &a, 1, T0 + 2);
	v = view_agent(s.anomalies, "lat");
	/* 100 syscalls in (512, 1024] ns: the 99th percentile interpolates inside that slot. */
	assert_true(v->value[ANOMALY_SYSCALL_P99] > 512e-9 &&
		    v->value[ANOMALY_SYSCALL_P99] <= 1024e-9);
	assert_true(fabs(v->value[ANOMALY_SYSCALL_RATE] - 50.0) < 1e-12);
	assert_true(v->scored & (1u << ANOMALY_SYSCALL_P99));
	/* No CPU or run-queue samples moved: the error ratio is 0, the run queue unscored. */
	assert_true(v->value[ANOMALY_ERROR_RATIO] == 0.0);
	assert_false(v->scored & (1u << ANOMALY_RUNQ_P99));
	/* A tick without syscalls skips the ratio and the quantiles. */
	tick(an, &s, &a, 1, T0 + 3);
	v = view_agent(s.anomalies, "lat");
	assert_true(v->value[ANOMALY_SYSCALL_RATE] == 0.0);
	assert_true(v->value[ANOMALY_SYSCALL_P99] > 512e-9 &&
		    v->value[ANOMALY_SYSCALL_P99] <= 1024e-9);
	free(s.anomalies);
	anomaly__free(an);
}

static void test_state_freed_with_agent(void **state)
{
	struct anomaly *an = tracker();
	struct agent_snap agents[3];
	struct snapshot s = {0};
	size_t full, fewer;
	int hit;

	(void)state;
	assert_int_equal(anomaly__agents(an), 0);
	run_step(an, &s, agents, 5, &hit);
	assert_int_equal(anomaly__agents(an), 3);
	full = anomaly__state_bytes(an);
	/* alpha leaves during its episode: the episode closes at its last tick. */
	advance(&agents[1], 2000, 1.0);
	advance(&agents[2], 3000, 1.0);
	tick(an, &s, &agents[1], 2, T0 + 205);
	assert_int_equal(anomaly__agents(an), 2);
	fewer = anomaly__state_bytes(an);
	/* Its baseline stays for its return; the rest of its state is freed. */
	assert_true(fewer < full);
	assert_int_equal(s.anomalies->nagents, 2);
	assert_int_equal(s.anomalies->ncurrent, 0);
	assert_int_equal(s.anomalies->nrecent, 1);
	assert_string_equal(s.anomalies->recent[0].agent, "alpha");
	assert_true(s.anomalies->recent[0].end == T0 + 204);
	/* Back again: fresh state, no sample until a second snapshot. */
	tick(an, &s, agents, 3, T0 + 206);
	assert_int_equal(anomaly__agents(an), 3);
	assert_int_equal(view_agent(s.anomalies, "alpha")->episodes, 0);
	assert_int_equal(view_agent(s.anomalies, "alpha")->scored, 0);
	/* Everyone leaves. */
	tick(an, &s, agents, 0, T0 + 207);
	assert_int_equal(anomaly__agents(an), 0);
	assert_int_equal(s.anomalies->nagents, 0);
	free(s.anomalies);
	anomaly__free(an);
}

static void test_rfc3339(void **state)
{
	char buf[40];

	(void)state;
	api__rfc3339(0, buf, sizeof(buf));
	assert_string_equal(buf, "1970-01-01T00:00:00.000Z");
	api__rfc3339(1700000000.25, buf, sizeof(buf));
	assert_string_equal(buf, "2023-11-14T22:13:20.250Z");
}

static void test_json_round_trip(void **state)
{
	struct anomaly *an = tracker();
	struct agent_snap agents[3];
	struct snapshot s = {0};
	json_t *root, *cur, *e, *sig;
	json_error_t jerr;
	char *text, start[40];
	int hit;

	(void)state;
	run_step(an, &s, agents, 5, &hit);
	text = api__anomalies(s.anomalies);
	assert_non_null(text);
	root = json_loads(text, 0, &jerr);
	if (!root)
		fail_msg("%s: %s", jerr.text, text);
	assert_true(json_is_string(json_object_get(root, "time")));
	assert_true(json_real_value(json_object_get(root, "threshold")) == s.anomalies->threshold);
	cur = json_object_get(root, "current");
	assert_int_equal(json_array_size(cur), 1);
	assert_int_equal(json_array_size(json_object_get(root, "recent")), 1);
	e = json_array_get(cur, 0);
	assert_string_equal(json_string_value(json_object_get(e, "agent")), "alpha");
	api__rfc3339(T0 + hit, start, sizeof(start));
	assert_string_equal(json_string_value(json_object_get(e, "start")), start);
	assert_true(json_is_null(json_object_get(e, "end")));
	assert_true(json_is_true(json_object_get(e, "ongoing")));
	assert_true(json_real_value(json_object_get(e, "peak_score")) >= s.anomalies->threshold);
	assert_true(json_real_value(json_object_get(e, "confidence")) > 0.5);
	assert_int_equal(json_array_size(json_object_get(e, "signals")), 1);
	sig = json_array_get(json_object_get(e, "signals"), 0);
	assert_string_equal(json_string_value(json_object_get(sig, "signal")), "syscall_rate");
	assert_true(json_real_value(json_object_get(sig, "score")) >= s.anomalies->threshold);
	json_decref(root);
	free(text);
	free(s.anomalies);
	anomaly__free(an);
}

/*
 * Forecast lines whose signal is not measured in their family's unit: each family must hold
 * the signals of one unit only.
 */
static int forecast_unit_mismatches(const char *text)
{
	static const char *const families[ANOMALY_NUNITS] = {
		[ANOMALY_UNIT_SYSCALLS_PER_SECOND] =
			"swarmwatch_agent_forecast_syscalls_per_second{",
		[ANOMALY_UNIT_CPU_SECONDS_PER_SECOND] =
			"swarmwatch_agent_forecast_cpu_seconds_per_second{",
		[ANOMALY_UNIT_RATIO] = "swarmwatch_agent_forecast_ratio{",
		[ANOMALY_UNIT_SECONDS] = "swarmwatch_agent_forecast_seconds{",
	};
	const char *line, *sig;
	char name[64];
	int bad = 0, lines = 0, u, j;

	for (line = text; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		if (strncmp(line, "swarmwatch_agent_forecast", 25))
			continue;
		lines++;
		for (u = 0; u < ANOMALY_NUNITS; u++)
			if (!strncmp(line, families[u], strlen(families[u])))
				break;
		sig = strstr(line, "signal=\"");
		if (u == ANOMALY_NUNITS || !sig || sscanf(sig, "signal=\"%63[^\"]", name) != 1) {
			bad++;
			continue;
		}
		for (j = 0; j < ANOMALY_NSIGNALS; j++)
			if (!strcmp(anomaly__signal_name(j), name))
				break;
		bad += j == ANOMALY_NSIGNALS || anomaly__signal_unit(j) != u;
	}
	return lines ? bad : -1;
}

/*
 * No forecast while the detector is still warming up (a model fitted to a few samples
 * extrapolates wildly), and none for an agent with no live instance, though it is still scored.
 */
static void test_forecasts_gated(void **state)
{
	const __u32 rate = 1u << ANOMALY_SYSCALL_RATE;
	struct anomaly *an = tracker();
	struct agent_snap agents[2];
	struct snapshot s = {0};
	struct buf b;
	int k;

	(void)state;
	agent_init(&agents[0], "live", 1);
	agent_init(&agents[1], "stopped", 2);
	agents[1].instances = 0;
	for (k = 0; k <= WARMUP + 5; k++) {
		advance(&agents[0], 500, 1.0);
		advance(&agents[1], 500, 1.0);
		tick(an, &s, agents, 2, T0 + k);
		if (k < WARMUP) {
			assert_int_equal(view_agent(s.anomalies, "live")->forecast, 0);
			if (k == 5) {
				buf__init(&b);
				metrics__render(&b, &s);
				assert_false(b.failed);
				assert_null(strstr(b.data, "\nswarmwatch_agent_forecast_"));
				buf__free(&b);
			}
		}
	}
	assert_true(view_agent(s.anomalies, "live")->forecast & rate);
	/* With no instance there is no rate per instance; ratios are still scored. */
	assert_false(view_agent(s.anomalies, "stopped")->scored & rate);
	assert_true(view_agent(s.anomalies, "stopped")->scored & (1u << ANOMALY_ERROR_RATIO));
	assert_int_equal(view_agent(s.anomalies, "stopped")->forecast, 0);
	buf__init(&b);
	metrics__render(&b, &s);
	assert_non_null(strstr(b.data, "\nswarmwatch_agent_forecast_syscalls_per_second{"
				       "agent=\"live\",signal=\"syscall_rate\",horizon=\"5m\"} "));
	assert_null(strstr(b.data, "agent_forecast_syscalls_per_second{agent=\"stopped\""));
	buf__free(&b);
	free(s.anomalies);
	anomaly__free(an);
}

static void test_metrics_families(void **state)
{
	struct anomaly *an = tracker();
	struct agent_snap agents[3];
	struct snapshot s = {0};
	struct buf b;
	int hit;

	(void)state;
	run_step(an, &s, agents, 5, &hit);
	buf__init(&b);
	metrics__render(&b, &s);
	assert_false(b.failed);
	assert_non_null(strstr(b.data, "# TYPE swarmwatch_agent_anomaly_score gauge\n"));
	assert_non_null(strstr(
		b.data,
		"\nswarmwatch_agent_anomaly_score{agent=\"alpha\",signal=\"syscall_rate\"} "));
	assert_non_null(strstr(b.data, "\nswarmwatch_agent_anomaly_confidence{agent=\"beta\","
				       "signal=\"run_queue_delay_p99\"} 1\n"));
	assert_non_null(strstr(b.data, "\nswarmwatch_agent_anomalous{agent=\"alpha\"} 1\n"));
	assert_non_null(strstr(b.data, "\nswarmwatch_agent_anomalous{agent=\"beta\"} 0\n"));
	assert_non_null(strstr(b.data, "# TYPE swarmwatch_agent_anomalies_total counter\n"));
	assert_non_null(strstr(b.data, "\nswarmwatch_agent_anomalies_total{agent=\"alpha\"} 1\n"));
	assert_non_null(strstr(b.data, "\nswarmwatch_agent_forecast_cpu_seconds_per_second{"
				       "agent=\"gamma\",signal=\"cpu\",horizon=\"30m\"} "));
	assert_non_null(strstr(b.data, "\nswarmwatch_agent_forecast_syscalls_per_second{"
				       "agent=\"gamma\",signal=\"syscall_rate\",horizon=\"5m\"} "));
	assert_non_null(strstr(b.data, "\nswarmwatch_agent_forecast_seconds{agent=\"gamma\","
				       "signal=\"syscall_latency_p99\",horizon=\"5m\"} "));
	assert_non_null(strstr(b.data, "\nswarmwatch_agent_forecast_ratio{agent=\"gamma\","
				       "signal=\"error_ratio\",horizon=\"30m\"} "));
	assert_null(strstr(b.data, "swarmwatch_agent_forecast{"));
	assert_int_equal(forecast_unit_mismatches(b.data), 0);
	assert_non_null(strstr(b.data, "\nswarmwatch_anomaly_threshold 0."));
	buf__free(&b);
	free(s.anomalies);
	anomaly__free(an);
}

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * Per-tick cost with 100 agents x 6 signals once the detectors hold a full window (the dearest
 * state); reported, not asserted.
 */
static void test_cost_100_agents(void **state)
{
	enum { AGENTS = 100, WARM = 1100, MEASURED = 200 };
	struct agent_snap *agents = calloc(AGENTS, sizeof(*agents));
	struct anomaly *an = tracker();
	struct snapshot s = {0};
	double t, spent = 0, worst = 0;
	char name[32];
	int i, k;

	(void)state;
	assert_non_null(agents);
	for (i = 0; i < AGENTS; i++) {
		snprintf(name, sizeof(name), "agent-%d", i);
		agent_init(&agents[i], name, i + 1);
	}
	for (k = 0; k < WARM + MEASURED; k++) {
		for (i = 0; i < AGENTS; i++)
			advance(&agents[i], 500.0 + 10 * i, 1.0);
		t = mono();
		tick(an, &s, agents, AGENTS, T0 + k);
		t = mono() - t;
		if (k >= WARM) {
			spent += t;
			worst = fmax(worst, t);
		}
	}
	printf("# anomaly__update, %d agents x %d signals: %.1f us per tick on average "
	       "(%.2f us per signal), worst %.1f us; state %.1f MiB\n",
	       AGENTS, ANOMALY_NSIGNALS, spent / MEASURED * 1e6,
	       spent / MEASURED / (AGENTS * ANOMALY_NSIGNALS) * 1e6, worst * 1e6,
	       anomaly__state_bytes(an) / 1048576.0);
	assert_int_equal(anomaly__agents(an), AGENTS);
	free(s.anomalies);
	anomaly__free(an);
	free(agents);
}

/* Index of the episode of `agent` among the view's current ones, or -1. */
static int current_of(const struct anomaly_view *v, const char *agent)
{
	int i;

	for (i = 0; i < v->ncurrent; i++)
		if (!strcmp(v->current[i].agent, agent))
			return i;
	return -1;
}

/*
 * Cold start: an agent seen for the first time, steady for 48 ticks, then its syscall rate
 * steps up 10 times. Its episode opens within 60 ticks of its first instance, with a
 * confidence that says how little was learned, and names syscall_rate first.
 */
static void test_cold_start_verdict(void **state)
{
	struct anomaly *an = tracker_warmup(0); /* the detector's own warm-up: 256 ticks */
	struct agent_snap a;
	struct snapshot s = {0};
	int k, hit = -1, e;

	(void)state;
	rng = 88172645463325252ULL;
	agent_init(&a, "newcomer", 1);
	for (k = 0; k < 60 && hit < 0; k++) {
		advance(&a, k < 48 ? 1000 : 10000, 1.0);
		tick(an, &s, &a, 1, T0 + k);
		if (k < 48)
			assert_int_equal(s.anomalies->ncurrent, 0);
		else if (s.anomalies->ncurrent)
			hit = k;
	}
	assert_true(hit >= 48 && hit < 60);
	e = current_of(s.anomalies, "newcomer");
	assert_true(e >= 0);
	assert_int_equal(s.anomalies->current[e].departed[0].signal, ANOMALY_SYSCALL_RATE);
	assert_true(s.anomalies->current[e].confidence > 0 &&
		    s.anomalies->current[e].confidence < 0.5);
	assert_non_null(strstr(s.anomalies->current[e].why, "syscall_rate departed first"));
	free(s.anomalies);
	anomaly__free(an);
}

/*
 * A crash loop on a brand-new agent: its instance exits with an error, comes back, exits
 * again. The second failed exit raises the episode, caused by crash_loop, with the count,
 * though it leaves no instance running: one came back after the first.
 */
static void test_crash_loop_first_occurrence(void **state)
{
	struct anomaly *an = tracker();
	struct agent_snap a;
	struct snapshot s = {0};
	int k, hit = -1, e;

	(void)state;
	agent_init(&a, "crashy", 1);
	for (k = 0; k < 12; k++) {
		advance(&a, 500, 1.0);
		a.instances = k % 3 == 2 ? 0 : 1; /* lives two ticks, gone one */
		if (k % 3 == 2)
			a.s.process_exits[SW_EXIT_ERROR]++;
		tick(an, &s, &a, 1, T0 + k);
		if (hit < 0 && s.anomalies->ncurrent)
			hit = k;
	}
	/* Exits at ticks 2 and 5, back at tick 3. */
	assert_int_equal(hit, 5);
	e = current_of(s.anomalies, "crashy");
	assert_true(e >= 0);
	assert_int_equal(s.anomalies->current[e].departed[0].signal, ANOMALY_CRASH_LOOP);
	assert_non_null(strstr(s.anomalies->current[e].why, "crash loop: "));
	assert_true(view_agent(s.anomalies, "crashy")->score[ANOMALY_CRASH_LOOP] >= 0.5);
	free(s.anomalies);
	anomaly__free(an);
}

/*
 * An OOM kill of a brand-new agent's only instance, which does not come back: the episode is
 * raised at the tick that sees the kill, caused by oom_kill. An OOM kill is never a stop.
 */
static void test_oom_kill_last_instance(void **state)
{
	struct anomaly *an = tracker();
	struct agent_snap a;
	struct snapshot s = {0};
	int k, hit = -1, e;

	(void)state;
	agent_init(&a, "hungry", 1);
	for (k = 0; k < 8; k++) {
		advance(&a, 500, 1.0);
		if (k == 4) {
			a.instances = 0;
			a.s.oom_kills++;
			a.s.process_exits[SW_EXIT_SIGNAL]++;
		}
		tick(an, &s, &a, 1, T0 + k);
		if (hit < 0 && s.anomalies->ncurrent)
			hit = k;
	}
	assert_int_equal(hit, 4);
	e = current_of(s.anomalies, "hungry");
	assert_true(e >= 0);
	assert_int_equal(s.anomalies->current[e].departed[0].signal, ANOMALY_OOM_KILL);
	assert_non_null(strstr(s.anomalies->current[e].why, "OOM kill"));
	free(s.anomalies);
	anomaly__free(an);
}

/*
 * An operator's work, not a fault: an agent stopped by a signal, started again and stopped
 * again within the crash-loop window (two signal exits, a comeback between them), and long
 * after, an OOM kill of a process it left behind. No episode.
 */
static void test_stop_start_stop_no_verdict(void **state)
{
	struct anomaly *an = tracker();
	struct agent_snap a;
	struct snapshot s = {0};
	int k;

	(void)state;
	agent_init(&a, "operated", 1);
	for (k = 0; k < 80; k++) {
		if (k == 10 || k == 20) {
			a.instances = 0;
			a.s.process_exits[SW_EXIT_SIGNAL]++;
		}
		if (k == 15)
			a.instances = 1;
		if (k == 70)
			a.s.oom_kills++;
		if (a.instances)
			advance(&a, 500, 1.0);
		tick(an, &s, &a, 1, T0 + k);
		for (int i = 0; i < s.anomalies->ncurrent; i++)
			fail_msg("tick %d: %s anomalous: %s", k, s.anomalies->current[i].agent,
				 s.anomalies->current[i].why);
	}
	free(s.anomalies);
	anomaly__free(an);
}

/*
 * Context, not anomalies: an agent that scales from 1 to 4 instances (four times the
 * syscalls), one whose instances all stop with failed exits and stay gone, and a run-queue
 * delay that jumps tenfold for every agent at once (host-wide contention).
 */
static void test_churn_and_host_are_context(void **state)
{
	static const char *const names[] = {"scaler", "stopper", "plain", "other"};
	struct anomaly *an = tracker();
	struct agent_snap agents[4];
	struct snapshot s = {0};
	__u32 seen_context = 0;
	int i, k, n;

	(void)state;
	rng = 88172645463325252ULL;
	for (i = 0; i < 4; i++)
		agent_init(&agents[i], names[i], i + 1);
	for (k = 0; k < 200; k++) {
		agents[0].instances = k < 100 ? 1 : 4;
		agents[1].instances = k < 120 ? 2 : 0;
		if (k == 120)
			agents[1].s.process_exits[SW_EXIT_ERROR] += 2;
		for (i = 0; i < 4; i++) {
			n = i == 1 && k >= 120 ? 0 : 1;
			if (n)
				advance(&agents[i], 1000.0 * agents[i].instances, 1.0);
			if (k >= 150 && n)
				agents[i].s.runq_lat[24] += 30; /* about 16 ms: 100 times the p99 */
		}
		tick(an, &s, agents, 4, T0 + k);
		for (i = 0; i < s.anomalies->ncurrent; i++)
			fail_msg("tick %d: %s anomalous: %s", k, s.anomalies->current[i].agent,
				 s.anomalies->current[i].why);
		seen_context |= view_agent(s.anomalies, "plain")->context;
	}
	assert_true(view_agent(s.anomalies, "plain")->scored & (1u << ANOMALY_RUNQ_P99));
	assert_true(seen_context & (1u << ANOMALY_RUNQ_P99));
	free(s.anomalies);
	anomaly__free(an);
}

/*
 * Resident memory: steady around 60 MiB per instance, then growing by 8 MiB/s. The episode
 * names a memory signal first, with its value above its baseline.
 */
static void test_memory_growth(void **state)
{
	struct anomaly *an = tracker();
	struct agent_snap a;
	struct snapshot s = {0};
	int k, hit = -1, e;

	(void)state;
	rng = 88172645463325252ULL;
	agent_init(&a, "leaky", 1);
	for (k = 0; k < 160 && hit < 0; k++) {
		advance(&a, 1000, 1.0);
		a.rss_bytes = (__u64)(60.0 * 1048576 * jitter(0.02));
		if (k >= 120)
			a.rss_bytes += (__u64)((k - 119) * 8.0 * 1048576);
		free(s.anomalies);
		memset(&s, 0, sizeof(s));
		s.rss_up = true;
		s.time = T0 + k;
		s.agents = &a;
		s.nagents = 1;
		assert_int_equal(anomaly__update(an, &s), 0);
		if (k < 120)
			assert_int_equal(s.anomalies->ncurrent, 0);
		else if (s.anomalies->ncurrent)
			hit = k;
	}
	assert_true(hit >= 120 && hit <= 130);
	e = current_of(s.anomalies, "leaky");
	assert_true(e >= 0);
	assert_true(s.anomalies->current[e].departed[0].signal == ANOMALY_MEMORY ||
		    s.anomalies->current[e].departed[0].signal == ANOMALY_MEMORY_GROWTH);
	assert_true(s.anomalies->current[e].departed[0].value >
		    s.anomalies->current[e].departed[0].baseline);
	assert_true(view_agent(s.anomalies, "leaky")->scored & (1u << ANOMALY_MEMORY_GROWTH));
	free(s.anomalies);
	anomaly__free(an);
}

/*
 * The share of requests answered 429, from the request series: 20 client requests a tick,
 * a few of them 429 where the kernel side has that status, then most of them. Where it has
 * not, the share reads 0 and no storm is seen.
 */
static void test_request_429_share(void **state)
{
	struct anomaly *an = tracker();
	struct request_series rs[2];
	struct agent_snap a;
	struct snapshot s = {0};
	int k, st429 = -1, st, hit = -1;
	__u64 n;

	(void)state;
	for (st = 0; st < SW_STATUS_MAX; st++)
		if (!strcmp(sw_status_name(st), "429"))
			st429 = st;
	rng = 88172645463325252ULL;
	agent_init(&a, "limited", 1);
	memset(rs, 0, sizeof(rs));
	rs[0].role = rs[1].role = SW_ROLE_CLIENT;
	rs[0].status = 2;
	rs[1].status = st429 >= 0 ? st429 : SW_STATUS_ERROR;
	for (k = 0; k < 140; k++) {
		advance(&a, 1000, 1.0);
		n = k < 100 ? (uniform() < 0.3) : 14;
		rs[0].count += 20 - n;
		rs[1].count += n;
		free(s.anomalies);
		memset(&s, 0, sizeof(s));
		s.time = T0 + k;
		s.agents = &a;
		s.nagents = 1;
		s.requests = rs;
		s.nrequests = 2;
		assert_int_equal(anomaly__update(an, &s), 0);
		if (hit < 0 && s.anomalies->ncurrent)
			hit = k;
	}
	assert_true(view_agent(s.anomalies, "limited")->scored & (1u << ANOMALY_REQUEST_429));
	if (st429 < 0) {
		assert_true(view_agent(s.anomalies, "limited")->value[ANOMALY_REQUEST_429] == 0.0);
	} else {
		assert_true(hit >= 100 && hit <= 105);
		assert_true(s.anomalies->current[0].signals & (1u << ANOMALY_REQUEST_429));
	}
	free(s.anomalies);
	anomaly__free(an);
}

/*
 * One tick of a low-rate agent's requests: about `rate` calls a second around 70-270 ms
 * (log2 slots 27 and 28 of nanoseconds), none slow and none failing unless asked: `slow`
 * adds one call of 4.3 s (slot 32), `failures` that many failed calls. Returns the calls
 * besides the slow one.
 */
static __u64 low_rate_requests(struct agent_snap *a, double rate, int slow, int failures)
{
	__u64 n = (__u64)(rate * jitter(0.5) + uniform());

	a->s.client_requests += n + slow;
	a->s.client_failures += (__u64)failures < n ? (__u64)failures : n;
	a->s.client_req_lat[27] += n / 2;
	a->s.client_req_lat[28] += n - n / 2;
	a->s.client_req_lat[32] += slow;
	return n;
}

/*
 * Whether a request signal of the agent scored at the threshold or its episode opened at
 * this tick: what an operator would have been shown.
 */
static bool request_verdict(const struct anomaly_view *v, const char *name)
{
	static const int sig[] = {ANOMALY_REQUEST_FAILURES, ANOMALY_REQUEST_429,
				  ANOMALY_REQUEST_P50, ANOMALY_REQUEST_P99};
	const struct anomaly_agent *a = view_agent(v, name);
	size_t i;

	for (i = 0; i < sizeof(sig) / sizeof(sig[0]); i++)
		if (a->score[sig[i]] >= v->threshold)
			return true;
	return a->anomalous;
}

/*
 * A low-rate agent (two calls a second: 20 in a window), new at the first tick, with the
 * production warm-up: every 37 ticks one call takes 4.3 s (twenty times the others: its
 * window's 99th percentile doubles and more), every 53 ticks one call fails (5 % of its
 * window), for 15 minutes. Neither is a fault: no verdict, young or warmed.
 */
static void test_low_rate_noise_no_verdict(void **state)
{
	struct anomaly *an = tracker_warmup(0);
	struct agent_snap a;
	struct snapshot s = {0};
	int k;

	(void)state;
	rng = 88172645463325252ULL;
	agent_init(&a, "qt-lowrate", 1);
	for (k = 0; k < 900; k++) {
		advance(&a, 1000, 1.0);
		low_rate_requests(&a, 2.0, k % 37 == 20, k % 53 == 30);
		tick(an, &s, &a, 1, T0 + k);
		if (request_verdict(s.anomalies, "qt-lowrate"))
			fail_msg("tick %d: a verdict on a slow call or a single failure (%s)", k,
				 s.anomalies->ncurrent ? s.anomalies->current[0].why : "scores");
	}
	assert_int_equal(view_agent(s.anomalies, "qt-lowrate")->episodes, 0);
	assert_true(view_agent(s.anomalies, "qt-lowrate")->scored &
		    (1u << ANOMALY_REQUEST_FAILURES));
	free(s.anomalies);
	anomaly__free(an);
}

/*
 * The same low-rate agent, with the same occasional slow call and failure, then half of its
 * calls fail: warmed (after 300 ticks) the episode opens within 15 ticks and names
 * request_failure_ratio; brand new (the burst from tick 30) within 60 ticks of its first
 * instance, with a confidence that says how little it had learned.
 */
static void run_low_rate_burst(int burst_at, int within, bool young)
{
	struct anomaly *an = tracker_warmup(0);
	struct agent_snap a;
	struct snapshot s = {0};
	int k, hit = -1, e;
	__u64 n;

	rng = 88172645463325252ULL;
	agent_init(&a, "qt-burst", 1);
	for (k = 0; k < burst_at + within && hit < 0; k++) {
		advance(&a, 1000, 1.0);
		n = low_rate_requests(&a, 2.0, k % 37 == 20, k < burst_at && k % 53 == 30);
		if (k >= burst_at)
			a.s.client_failures += (n + (k & 1)) / 2;
		tick(an, &s, &a, 1, T0 + k);
		if (k < burst_at && request_verdict(s.anomalies, "qt-burst"))
			fail_msg("tick %d: a verdict before the burst", k);
		if (k >= burst_at && s.anomalies->ncurrent)
			hit = k;
	}
	if (hit < 0)
		print_message("burst at %d: value %g score %g\n", burst_at,
			      view_agent(s.anomalies, "qt-burst")->value[ANOMALY_REQUEST_FAILURES],
			      view_agent(s.anomalies, "qt-burst")->score[ANOMALY_REQUEST_FAILURES]);
	assert_true(hit >= burst_at);
	e = current_of(s.anomalies, "qt-burst");
	assert_true(e >= 0);
	assert_true(s.anomalies->current[e].signals & (1u << ANOMALY_REQUEST_FAILURES));
	if (young)
		assert_true(s.anomalies->current[e].confidence < 0.5);
	free(s.anomalies);
	anomaly__free(an);
}

static void test_low_rate_error_burst(void **state)
{
	(void)state;
	run_low_rate_burst(300, 15, false);
	run_low_rate_burst(30, 30, true);
}

/*
 * The same low-rate agent, warmed for 300 ticks with its occasional slow call, then every
 * call takes four times as long (log2 slots 29 and 30): request_latency_p50 departs, on its
 * evidence, within 30 ticks.
 */
static void test_low_rate_latency_step(void **state)
{
	struct anomaly *an = tracker_warmup(0);
	struct agent_snap a;
	struct snapshot s = {0};
	int k, hit = -1, e;
	__u64 n;

	(void)state;
	rng = 88172645463325252ULL;
	agent_init(&a, "qt-slowed", 1);
	for (k = 0; k < 330 && hit < 0; k++) {
		advance(&a, 1000, 1.0);
		n = low_rate_requests(&a, 2.0, k % 37 == 20, 0);
		if (k >= 300) {
			a.s.client_req_lat[27] -= n / 2;
			a.s.client_req_lat[28] -= n - n / 2;
			a.s.client_req_lat[29] += n / 2;
			a.s.client_req_lat[30] += n - n / 2;
		}
		tick(an, &s, &a, 1, T0 + k);
		if (k < 300 && request_verdict(s.anomalies, "qt-slowed"))
			fail_msg("tick %d: a verdict before the step", k);
		if (k >= 300 && s.anomalies->ncurrent)
			hit = k;
	}
	assert_true(hit >= 300);
	e = current_of(s.anomalies, "qt-slowed");
	assert_true(e >= 0);
	assert_true(s.anomalies->current[e].signals & (1u << ANOMALY_REQUEST_P50));
	free(s.anomalies);
	anomaly__free(an);
}

/*
 * A busy agent (about 500 calls a second, 70-270 ms, log2 slots 27 and 28) whose calls get
 * four times faster (slots 25 and 26) after `at` ticks, a few of them still as slow as before:
 * its latency falls, which is no fault, and a window of thousands of calls with a few above
 * the baseline's median is no evidence of a rise. No verdict, no score at the threshold, and
 * no median held at the edge of a departure, young (production warm-up, the fall at tick 60)
 * or warmed (at tick 300).
 */
static void run_busy_agent_faster(struct anomaly *an, int at)
{
	struct agent_snap a;
	struct snapshot s = {0};
	int k;
	__u64 n;

	rng = 88172645463325252ULL;
	agent_init(&a, "qt-faster", 1);
	for (k = 0; k < at + 100; k++) {
		advance(&a, 1000, 1.0);
		n = (__u64)(500 * jitter(0.02));
		a.s.client_requests += n;
		if (k < at) {
			a.s.client_req_lat[27] += n / 2;
			a.s.client_req_lat[28] += n - n / 2;
		} else {
			a.s.client_req_lat[25] += n / 2;
			a.s.client_req_lat[26] += n - n / 2 - 3;
			a.s.client_req_lat[28] += 3;
		}
		tick(an, &s, &a, 1, T0 + k);
		if (request_verdict(s.anomalies, "qt-faster"))
			fail_msg("fall at %d, tick %d: a verdict on faster calls (%s)", at, k,
				 s.anomalies->ncurrent ? s.anomalies->current[0].why : "scores");
		/*
		 * Well after its window holds only faster calls, the median is not held at the
		 * edge of a departure (just under 0.5, a 1-in-1000 tail) by evidence of a rise
		 * that a few slow calls among thousands are not.
		 */
		if (k >= at + 50 &&
		    view_agent(s.anomalies, "qt-faster")->score[ANOMALY_REQUEST_P50] >= 0.49)
			fail_msg(
				"fall at %d, tick %d: request_latency_p50 scored %.6f on faster calls",
				at, k,
				view_agent(s.anomalies, "qt-faster")->score[ANOMALY_REQUEST_P50]);
	}
	assert_int_equal(view_agent(s.anomalies, "qt-faster")->episodes, 0);
	free(s.anomalies);
	anomaly__free(an);
}

static void test_busy_agent_faster_no_verdict(void **state)
{
	(void)state;
	run_busy_agent_faster(tracker_warmup(0), 60);
	run_busy_agent_faster(tracker(), 300);
}

/*
 * An agent whose syscalls failed 10 % of the time for 300 ticks stops failing, and its
 * syscalls get faster: both fall, which is no fault. No verdict.
 */
static void test_fall_is_no_fault(void **state)
{
	struct anomaly *an = tracker();
	struct agent_snap a;
	struct snapshot s = {0};
	int k;

	(void)state;
	rng = 88172645463325252ULL;
	agent_init(&a, "qt-mended", 1);
	for (k = 0; k < 400; k++) {
		advance(&a, 1000, 1.0);
		if (k < 300) {
			a.s.syscall_errors[3] += (__u64)(100 * jitter(0.1));
			a.s.syscall_lat[20] += (__u64)(30 * jitter(0.1));
		}
		tick(an, &s, &a, 1, T0 + k);
		if (s.anomalies->ncurrent)
			fail_msg("tick %d: a verdict on a fall: %s", k,
				 s.anomalies->current[0].why);
	}
	assert_int_equal(view_agent(s.anomalies, "qt-mended")->episodes, 0);
	free(s.anomalies);
	anomaly__free(an);
}

/* Saved blobs kept in memory, as the store would keep them. */
struct saved {
	char agent[SW_NAME_LEN], name[32];
	unsigned char *blob;
	size_t len;
};

static struct saved saved[64];
static int nsaved;

static int save_cb(void *ctx, const char *agent, const char *name, const void *blob, size_t len)
{
	(void)ctx;
	assert_true(nsaved < 64);
	snprintf(saved[nsaved].agent, sizeof(saved[nsaved].agent), "%s", agent);
	snprintf(saved[nsaved].name, sizeof(saved[nsaved].name), "%s", name);
	saved[nsaved].blob = malloc(len);
	memcpy(saved[nsaved].blob, blob, len);
	saved[nsaved++].len = len;
	return 0;
}

static long restore_cb(void *ctx, const char *agent, const char *name, void *buf, size_t cap)
{
	int i;

	(void)ctx;
	for (i = 0; i < nsaved; i++) {
		if (strcmp(saved[i].agent, agent) || strcmp(saved[i].name, name))
			continue;
		if (saved[i].len > cap)
			return -ENOSPC;
		memcpy(buf, saved[i].blob, saved[i].len);
		return (long)saved[i].len;
	}
	return -ENOENT;
}

/*
 * A tracker saved after 400 ticks and a fresh one restored from that save score the next ticks
 * exactly as the one that never stopped; one that learns from zero does not.
 */
static void test_state_restored(void **state)
{
	struct anomaly *a = tracker(), *b = tracker(), *fresh = tracker();
	struct snapshot sa = {0}, sb = {0}, sf = {0};
	struct agent_snap ag[1];
	int t, i, differ = 0;

	(void)state;
	agent_init(&ag[0], "alpha", 1);
	for (t = 0; t < 400; t++) {
		advance(&ag[0], 1000, 1.0);
		tick(a, &sa, ag, 1, t);
	}
	nsaved = 0;
	assert_int_equal(anomaly__save_agent(a, 0, save_cb, NULL), 0);
	assert_int_equal(anomaly__save_agent(a, 1, save_cb, NULL), -ENOENT);
	assert_true(nsaved >= 2); /* the scored signals and "prev" */
	anomaly__set_restore(b, restore_cb, NULL);
	for (t = 400; t < 460; t++) {
		const struct anomaly_agent *x, *y, *z;

		advance(&ag[0], t >= 440 ? 5000 : 1000, 1.0); /* a step to score */
		tick(a, &sa, ag, 1, t);
		tick(b, &sb, ag, 1, t);
		tick(fresh, &sf, ag, 1, t);
		x = view_agent(sa.anomalies, "alpha");
		y = view_agent(sb.anomalies, "alpha");
		z = view_agent(sf.anomalies, "alpha");
		assert_non_null(x);
		assert_non_null(y);
		assert_non_null(z);
		for (i = 0; i < ANOMALY_NSIGNALS; i++) {
			assert_true(x->score[i] == y->score[i]);
			assert_true(x->confidence[i] == y->confidence[i]);
			differ += x->confidence[i] != z->confidence[i];
		}
	}
	assert_true(differ > 0);
	for (i = 0; i < nsaved; i++)
		free(saved[i].blob);
	free(sa.anomalies);
	free(sb.anomalies);
	free(sf.anomalies);
	anomaly__free(a);
	anomaly__free(b);
	anomaly__free(fresh);
}

static void test_bad_params(void **state)
{
	struct anomaly_params p;

	(void)state;
	anomaly__params_default(&p, 0);
	assert_null(anomaly__new(&p));
	assert_int_equal(errno, EINVAL);
	anomaly__params_default(&p, 1);
	p.warmup = 1;
	assert_null(anomaly__new(&p));
	assert_string_equal(anomaly__signal_name(ANOMALY_NSIGNALS), "unknown");
	assert_string_equal(anomaly__horizon_name(ANOMALY_H5M), "5m");
	assert_string_equal(anomaly__signal_name(ANOMALY_SYSCALL_P99), "syscall_latency_p99");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_step_opens_one_episode),
		cmocka_unit_test(test_request_failures_step),
		cmocka_unit_test(test_episode_closes_after_hold),
		cmocka_unit_test(test_latency_signal_from_delta),
		cmocka_unit_test(test_state_freed_with_agent),
		cmocka_unit_test(test_rfc3339),
		cmocka_unit_test(test_json_round_trip),
		cmocka_unit_test(test_metrics_families),
		cmocka_unit_test(test_forecasts_gated),
		cmocka_unit_test(test_cost_100_agents),
		cmocka_unit_test(test_cold_start_verdict),
		cmocka_unit_test(test_crash_loop_first_occurrence),
		cmocka_unit_test(test_oom_kill_last_instance),
		cmocka_unit_test(test_stop_start_stop_no_verdict),
		cmocka_unit_test(test_churn_and_host_are_context),
		cmocka_unit_test(test_memory_growth),
		cmocka_unit_test(test_request_429_share),
		cmocka_unit_test(test_low_rate_noise_no_verdict),
		cmocka_unit_test(test_low_rate_error_burst),
		cmocka_unit_test(test_low_rate_latency_step),
		cmocka_unit_test(test_fall_is_no_fault),
		cmocka_unit_test(test_busy_agent_faster_no_verdict),
		cmocka_unit_test(test_bad_params),
		cmocka_unit_test(test_state_restored),
	};

	return cmocka_run_group_tests_name("anomaly", tests, NULL, NULL);
}
