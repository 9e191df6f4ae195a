// SPDX-License-Identifier: MIT
/*
 * The incident stage: a snapshot's anomaly episodes, the previous tick's firing alerts and the
 * agents' requests become incidents (kinds from the signals and from the rules' figures, the
 * most called upstream, links), and open incidents survive a restart through the series
 * store's SQLite database on disk. Time is the snapshots' (a fake clock).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerting.h"
#include "anomaly.h"
#include "config.h"
#include "incidents.h"
#include "log.h"
#include "snapshot.h"
#include "store.h"

#define T0 1764529200.0 /* 2025-11-30T19:00:00Z */

static char tmpdir[256];

static int setup(void **s)
{
	(void)s;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/sw-incidents-test.XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	log__set_level(LOG_ERROR);
	return 0;
}

static int teardown(void **s)
{
	char cmd[300];

	(void)s;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd);
}

static void free_anomalies(struct anomaly_view *v)
{
	free(v->current);
	free(v);
}

static void request(struct snapshot *s, int agent, const char *up, __u8 role, __u8 status, __u64 n)
{
	struct request_series *r = &s->requests[s->nrequests++];

	r->agent = agent;
	snprintf(r->upstream, sizeof(r->upstream), "%s", up);
	r->role = role;
	r->status = status;
	r->count = n;
}

/*
 * At t: coder's anomaly episode (its syscall rate fell at T0 - 3, its request p99 rose at
 * T0 - 2) when episode is set; coder calls llm-api 100 times and search 20 (and serves 500
 * requests, which do not count), planner calls llm-api 5 times.
 */
static struct snapshot *snap(double t, bool episode)
{
	struct snapshot *s = snapshot__new();
	struct anomaly_view *av;
	struct anomaly_episode *ep;

	assert_non_null(s);
	s->time = t;
	s->nagents = 2;
	s->agents = calloc(2, sizeof(*s->agents));
	s->requests = calloc(8, sizeof(*s->requests));
	assert_non_null(s->agents);
	assert_non_null(s->requests);
	snprintf(s->agents[0].name, sizeof(s->agents[0].name), "coder");
	snprintf(s->agents[1].name, sizeof(s->agents[1].name), "planner");
	request(s, 0, "llm-api", SW_ROLE_CLIENT, 2, 90);
	request(s, 0, "llm-api", SW_ROLE_CLIENT, 5, 10);
	request(s, 0, "search", SW_ROLE_CLIENT, 2, 20);
	request(s, 0, "tools", SW_ROLE_SERVER, 2, 500);
	request(s, 1, "llm-api", SW_ROLE_CLIENT, 2, 5);
	if (!episode)
		return s;
	av = calloc(1, sizeof(*av));
	ep = calloc(1, sizeof(*ep));
	assert_non_null(av);
	assert_non_null(ep);
	snprintf(ep->agent, sizeof(ep->agent), "coder");
	ep->start = T0 - 3;
	ep->ndeparted = 2;
	ep->departed[0] = (struct anomaly_departure){
		.signal = ANOMALY_SYSCALL_RATE, .since = T0 - 3, .value = 0, .baseline = 12};
	ep->departed[1] = (struct anomaly_departure){
		.signal = ANOMALY_REQUEST_P99, .since = T0 - 2, .value = 4.1, .baseline = 1.05};
	av->time = t;
	av->ncurrent = 1;
	av->current = ep;
	s->anomalies = av;
	s->anomalies_free = free_anomalies;
	return s;
}

/* planner's Agent429Storm (the default rule over requests{status="429"}) firing since T0 - 1. */
static struct alert_view *storm(void)
{
	static struct alert_view_item it;
	static struct alert_view v;

	memset(&it, 0, sizeof(it));
	snprintf(it.rule, sizeof(it.rule), "Agent429Storm");
	snprintf(it.agent, sizeof(it.agent), "planner");
	it.state = "firing";
	it.active = T0 - 1;
	it.value = 7;
	it.threshold = 5;
	v.n = 1;
	v.items = &it;
	return &v;
}

static void config(struct config *c)
{
	memset(c, 0, sizeof(*c));
	c->alerts = calloc(1, sizeof(*c->alerts));
	assert_non_null(c->alerts);
	alert__params_default(c->alerts);
	c->incident_window_ns = 30000000000ULL;
}

static void test_stage(void **state)
{
	struct incidents *g;
	struct snapshot *s;
	const struct incident *in, *pl;
	struct config c;

	(void)state;
	config(&c);
	g = incidents__new(&c, NULL, T0);
	assert_non_null(g);
	s = snap(T0, true);
	assert_int_equal(incidents__tick(g, s, storm()), 0);
	assert_non_null(s->incidents);
	assert_int_equal(s->incidents->count[INCIDENT_OPEN], 2);

	in = incident__view_open(s->incidents, "coder");
	assert_non_null(in);
	assert_int_equal(in->nsignals, 2);
	assert_string_equal(in->signals[0].name, "syscall_rate");
	assert_true(in->signals[0].fell);
	assert_int_equal(in->signals[0].kind, INCIDENT_LOAD);
	assert_string_equal(in->signals[1].name, "request_latency_p99");
	assert_int_equal(in->signals[1].kind, INCIDENT_LATENCY);
	assert_string_equal(in->signals[1].detail, "4.1 vs 1.05");
	assert_string_equal(in->cause, "request_latency_p99 departed first (4.1 vs 1.05)");

	pl = incident__view_open(s->incidents, "planner");
	assert_non_null(pl);
	assert_int_equal(pl->nsignals, 1);
	assert_string_equal(pl->signals[0].name, "Agent429Storm");
	assert_int_equal(pl->signals[0].source, INCIDENT_ALERT);
	assert_int_equal(pl->signals[0].kind, INCIDENT_THROTTLED);
	assert_string_equal(pl->signals[0].detail, "7 vs threshold 5");
	assert_true(pl->start == T0 - 1);

	/* both call llm-api (the server side and search do not count): linked */
	assert_string_equal(in->upstream, "llm-api");
	assert_string_equal(in->link, "llm-api latency rose for 2 agents");
	assert_string_equal(pl->link, in->link);
	assert_int_equal(in->nlinked, 1);
	assert_int_equal(in->linked[0], pl->id);
	snapshot__put(s);
	incidents__free(g);
	free(c.alerts);
}

static void test_restart_keeps_open(void **state)
{
	struct store_params p;
	struct incidents *g;
	struct snapshot *s;
	struct store *st;
	struct config c;
	uint64_t id;

	(void)state;
	config(&c);
	store__params_default(&p);
	p.dir = tmpdir;
	st = store__open(&p);
	assert_non_null(st);
	store__flush(st, false); /* the database is open and read, as swarmwatch run does */
	g = incidents__new(&c, st, T0);
	s = snap(T0, true);
	assert_int_equal(incidents__tick(g, s, storm()), 0);
	id = incident__view_open(s->incidents, "coder")->id;
	snapshot__put(s);
	incidents__free(g); /* saves; the store writes it at its last flush */
	assert_int_equal(store__close(st), 0);

	/* restarted 5 s later, on the same database */
	st = store__open(&p);
	assert_non_null(st);
	store__flush(st, false); /* the database is open and read, as swarmwatch run does */
	g = incidents__new(&c, st, T0 + 5);
	s = snap(T0 + 6, false);
	assert_int_equal(incidents__tick(g, s, NULL), 0);
	assert_int_equal(s->incidents->count[INCIDENT_OPEN], 2);
	assert_int_equal(incident__view_open(s->incidents, "coder")->id, id);
	assert_string_equal(incident__view_open(s->incidents, "coder")->cause,
			    "request_latency_p99 departed first (4.1 vs 1.05)");
	snapshot__put(s);
	/* no signal for a window from the restart: resolved */
	s = snap(T0 + 35, false);
	assert_int_equal(incidents__tick(g, s, NULL), 0);
	assert_int_equal(s->incidents->count[INCIDENT_OPEN], 0);
	assert_int_equal(s->incidents->count[INCIDENT_RESOLVED], 2);
	assert_true(incident__view_get(s->incidents, id)->end == T0);
	snapshot__put(s);
	incidents__free(g);
	assert_int_equal(store__close(st), 0);

	/* and the resolved ones are kept too */
	st = store__open(&p);
	assert_non_null(st);
	store__flush(st, false); /* the database is open and read, as swarmwatch run does */
	g = incidents__new(&c, st, T0 + 100);
	s = snap(T0 + 100, false);
	assert_int_equal(incidents__tick(g, s, NULL), 0);
	assert_int_equal(s->incidents->count[INCIDENT_RESOLVED], 2);
	assert_int_equal(s->incidents->n, 2);
	snapshot__put(s);
	incidents__free(g);
	store__close(st);
	free(c.alerts);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stage),
		cmocka_unit_test(test_restart_keeps_open),
	};

	return cmocka_run_group_tests_name("incidents", tests, setup, teardown);
}
