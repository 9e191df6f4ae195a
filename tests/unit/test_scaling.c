// SPDX-License-Identifier: MIT
/*
 * The scaler stage's breakers: per-instance request counts of synthetic snapshots feed each
 * instance's breaker; its changes are counted and queued as webhooks; open breakers get weight
 * 0 and make open_breakers, which the pool's failover rule acts on; instances that go away are
 * dropped. Time is the snapshots' own.
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

#include "config.h"
#include "scaling.h"
#include "snapshot.h"

#define T0 1764529200.0
#define NINST 3

static const char *const conf =
	"{\"store\": {\"dir\": \"\"},"
	" \"pools\": {\"tp\": {\"webhook\": \"http://127.0.0.1:9/hook\", \"routing\": \"round_robin\","
	"  \"breaker\": {\"consecutive_failures\": 3, \"min_requests\": 4, \"window\": \"10s\","
	"   \"open_wait\": \"2s\", \"open_wait_max\": \"4s\", \"half_open_successes\": 2},"
	"  \"rules\": [{\"name\": \"failover\", \"expr\": \"open_breakers >= 1\","
	"   \"action\": \"up 1\"}]}}}";

/* Cumulative counts per instance, as the collector gives them. */
struct world {
	uint64_t req[NINST], fail[NINST];
	int n; /* live instances: the first n */
};

static struct snapshot *snap(const struct world *w, double t)
{
	struct snapshot *s = snapshot__new();
	int i;

	assert_non_null(s);
	s->time = t;
	s->nagents = 1;
	s->agents = calloc(1, sizeof(*s->agents));
	s->instances = calloc(NINST, sizeof(*s->instances));
	assert_non_null(s->agents);
	assert_non_null(s->instances);
	snprintf(s->agents[0].name, sizeof(s->agents[0].name), "tp");
	s->agents[0].slot = 1;
	s->agents[0].instances = w->n;
	for (i = 0; i < w->n; i++) {
		struct instance_snap *x = &s->instances[s->ninstances++];

		x->agent = 0;
		x->pid = 100 + i;
		snprintf(x->name, sizeof(x->name), "tp-%d", i);
		x->requests = w->req[i];
		x->failures = w->fail[i];
		x->lat_sum_ns = w->req[i] * 50000000ULL;
		x->connections = 1;
	}
	return s;
}

static const struct scale_view_instance *inst(const struct snapshot *s, const char *name)
{
	int i;

	for (i = 0; i < s->breakers->ninstances; i++)
		if (!strcmp(s->breakers->instances[i].instance, name))
			return &s->breakers->instances[i];
	return NULL;
}

static double transitions(const struct snapshot *s, const char *to)
{
	int i;

	for (i = 0; i < s->breakers->ntransitions; i++)
		if (!strcmp(s->breakers->transitions[i].to, to))
			return s->breakers->transitions[i].n;
	return 0;
}

/* One tick: each live instance makes 3 requests, instance 0 failing them when `failing`. */
static struct snapshot *tick(struct scaling *sc, struct world *w, double t, int failing)
{
	struct snapshot *s;
	int i;

	for (i = 0; i < w->n; i++) {
		w->req[i] += 3;
		w->fail[i] += i == 0 && failing ? 3 : 0;
	}
	s = snap(w, t);
	assert_int_equal(scaling__breakers(sc, s), 0);
	assert_non_null(s->breakers);
	assert_int_equal(scaling__tick(sc, s), 0);
	return s;
}

static void test_breakers_in_the_stage(void **state)
{
	struct world w = {.n = NINST};
	const struct scale_view_instance *x;
	char err[256];
	struct scaling *sc;
	struct snapshot *s;
	struct config c;

	(void)state;
	assert_int_equal(config__parse(&c, conf, "test.json", err, sizeof(err)), 0);
	sc = scaling__new(&c, 1, err, sizeof(err));
	assert_non_null(sc);

	/* A healthy tick: all closed, equal shares (round robin). */
	s = tick(sc, &w, T0, 0);
	assert_int_equal(s->breakers->ninstances, NINST);
	assert_int_equal(s->breakers->npools, 1);
	assert_string_equal(s->breakers->pools[0].routing, "round_robin");
	assert_int_equal(s->breakers->pools[0].open_breakers, 0);
	x = inst(s, "tp-0");
	assert_non_null(x);
	assert_int_equal(x->state, BREAKER_CLOSED);
	assert_float_equal(x->weight, 1.0 / 3, 1e-9);
	assert_float_equal(x->success_ratio, 1, 1e-9);
	assert_float_equal(x->latency_s, 0.05, 1e-9);
	assert_int_equal(s->scale->pools[0].desired, NINST);
	snapshot__put(s);

	/* Instance 0 fails 3 in a row: open, weight 0; the failover rule asks for one more. */
	s = tick(sc, &w, T0 + 1, 1);
	x = inst(s, "tp-0");
	assert_int_equal(x->state, BREAKER_OPEN);
	assert_float_equal(x->retry_at, T0 + 3, 1e-6);
	assert_float_equal(x->weight, 0, 1e-12);
	assert_float_equal(x->failures, 3, 1e-12);
	assert_float_equal(inst(s, "tp-1")->weight, 0.5, 1e-9);
	assert_int_equal(inst(s, "tp-1")->state, BREAKER_CLOSED);
	assert_int_equal(s->breakers->pools[0].open_breakers, 1);
	assert_float_equal(transitions(s, "open"), 1, 1e-12);
	assert_int_equal(s->scale->pools[0].desired, NINST + 1);
	snapshot__put(s);

	/* Still failing while open: nothing changes (not counted by the breaker). */
	s = tick(sc, &w, T0 + 2, 1);
	assert_int_equal(inst(s, "tp-0")->state, BREAKER_OPEN);
	assert_float_equal(transitions(s, "open"), 1, 1e-12);
	snapshot__put(s);

	/*
	 * The wait is over: half-open. That tick's calls were made while it was open and are no
	 * probes; the next tick's succeed: closed.
	 */
	s = tick(sc, &w, T0 + 3, 0);
	assert_int_equal(inst(s, "tp-0")->state, BREAKER_HALF_OPEN);
	assert_float_equal(transitions(s, "half_open"), 1, 1e-12);
	assert_float_equal(transitions(s, "closed"), 0, 1e-12);
	snapshot__put(s);
	s = tick(sc, &w, T0 + 4, 0);
	x = inst(s, "tp-0");
	assert_int_equal(x->state, BREAKER_CLOSED);
	assert_true(x->weight > 0);
	assert_float_equal(transitions(s, "half_open"), 1, 1e-12);
	assert_float_equal(transitions(s, "closed"), 1, 1e-12);
	assert_int_equal(s->breakers->pools[0].open_breakers, 0);
	/* Three breaker webhooks and a scaling one wait in the outbox (nobody listens on :9). */
	assert_true(s->scale->outbox);
	assert_float_equal(s->scale->queue_length + s->scale->webhooks[0], 4, 1e-12);
	snapshot__put(s);

	/* An instance that goes away leaves the view. */
	w.n = 2;
	s = tick(sc, &w, T0 + 5, 0);
	assert_int_equal(s->breakers->ninstances, 2);
	assert_null(inst(s, "tp-2"));
	assert_float_equal(inst(s, "tp-1")->weight, 0.5, 1e-9);
	snapshot__put(s);

	scaling__free(sc);
	config__free(&c);
}

/* A pool of more instances than one batch of weights: round robin still gives equal shares. */
static void test_weights_of_a_large_pool(void **state)
{
	const int n = 100;
	double sum = 0;
	char err[256];
	struct scaling *sc;
	struct snapshot *s;
	struct config c;
	int i;

	(void)state;
	assert_int_equal(config__parse(&c, conf, "test.json", err, sizeof(err)), 0);
	sc = scaling__new(&c, 1, err, sizeof(err));
	assert_non_null(sc);
	s = snapshot__new();
	assert_non_null(s);
	s->time = T0;
	s->nagents = 1;
	s->agents = calloc(1, sizeof(*s->agents));
	s->instances = calloc(n, sizeof(*s->instances));
	assert_non_null(s->agents);
	assert_non_null(s->instances);
	snprintf(s->agents[0].name, sizeof(s->agents[0].name), "tp");
	s->agents[0].slot = 1;
	s->agents[0].instances = n;
	for (i = 0; i < n; i++) {
		struct instance_snap *x = &s->instances[s->ninstances++];

		x->pid = 1000 + i;
		snprintf(x->name, sizeof(x->name), "tp-%d", i);
	}
	assert_int_equal(scaling__breakers(sc, s), 0);
	assert_non_null(s->breakers);
	assert_int_equal(s->breakers->ninstances, n);
	for (i = 0; i < n; i++) {
		assert_float_equal(s->breakers->instances[i].weight, 1.0 / n, 1e-9);
		sum += s->breakers->instances[i].weight;
	}
	assert_float_equal(sum, 1, 1e-9);
	snapshot__put(s);
	scaling__free(sc);
	config__free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_breakers_in_the_stage),
		cmocka_unit_test(test_weights_of_a_large_pool),
	};

	return cmocka_run_group_tests_name("scaling", tests, NULL, NULL);
}
