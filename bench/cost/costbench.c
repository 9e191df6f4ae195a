// SPDX-License-Identifier: MIT
/*
 * What the cost stage costs a tick: costing__tick() for N agents, each with requests to 8
 * upstreams in 2 statuses (client role) and an app cost counter, all priced, at 1 s ticks, in CPU
 * time; with a store in memory, so that the state saved every 10 s is counted too.
 *   build/bench/costbench [AGENTS [TICKS]]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apps.h"
#include "catalog.h"
#include "costing.h"
#include "snapshot.h"
#include "store.h"

static const struct catalog_family app_cost = {.name = "swarmwatch_agent_app_cost_usd_total",
					       .type = CATALOG_COUNTER};

static struct snapshot *snap(int nagents, double t, int tick)
{
	struct snapshot *s = snapshot__new();
	struct app_view *av;
	int i, j;

	s->time = t;
	s->nagents = nagents;
	s->agents = calloc(nagents, sizeof(*s->agents));
	s->nrequests = nagents * 16;
	s->requests = calloc(s->nrequests, sizeof(*s->requests));
	av = calloc(1, sizeof(*av));
	av->samples = calloc(nagents, sizeof(*av->samples));
	av->n = nagents;
	for (i = 0; i < nagents; i++) {
		snprintf(s->agents[i].name, sizeof(s->agents[i].name), "agent%d", i);
		s->agents[i].instances = 1;
		s->agents[i].s.cpu_ns = (__u64)tick * 100000000ULL;
		s->agents[i].s.net_sent_bytes = (__u64)tick * 100000;
		s->agents[i].s.net_received_bytes = (__u64)tick * 400000;
		for (j = 0; j < 16; j++) {
			struct request_series *r = &s->requests[i * 16 + j];

			r->agent = i;
			snprintf(r->upstream, sizeof(r->upstream), "10.0.0.%d:443", j / 2);
			r->role = SW_ROLE_CLIENT;
			r->status = j % 2 ? 5 : 2;
			r->count = (__u64)tick * (j % 2 ? 1 : 20);
		}
		av->samples[i].fam = &app_cost;
		av->samples[i].values[0] = s->agents[i].name;
		av->samples[i].value = tick * 0.001;
	}
	s->apps = av;
	return s;
}

static void free_snap(struct snapshot *s)
{
	free(s->apps->samples);
	free(s->apps);
	s->apps = NULL;
	snapshot__put(s);
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	int nagents = argc > 1 ? atoi(argv[1]) : 100, ticks = argc > 2 ? atoi(argv[2]) : 600, i, j;
	double *ms = calloc(ticks, sizeof(*ms)), sum = 0;
	struct store_params sp;
	struct cost_params *p = malloc(sizeof(*p));
	struct costing *g;
	struct store *st;
	char err[256];

	if (!ms || !p || ticks < 2)
		return 1;
	cost__params_default(p);
	p->base.cpu_second_usd = 0.00001;
	p->base.gb_sent_usd = 0.09;
	p->base.gb_received_usd = 0.01;
	for (j = 0; j < 8; j++) {
		snprintf(p->base.prices[j].upstream, COST_NAME_LEN, "10.0.0.%d:443", j);
		p->base.prices[j].request_usd = 0.001 * (j + 1);
	}
	p->base.nprices = 8;
	p->base.daily_budget_usd = 1e9; /* the steady cost: no threshold, no flush */
	store__params_default(&sp);
	sp.dir = NULL;
	st = store__open(&sp);
	g = costing__new(p, st, NULL, err, sizeof(err));
	if (!st || !g) {
		fprintf(stderr, "costbench: %s\n", err);
		return 1;
	}
	for (i = 0; i < ticks; i++) {
		struct snapshot *s = snap(nagents, 1.7e9 + i, i);
		struct timespec a, b;

		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
		costing__tick(g, s);
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
		ms[i] = ((b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9) * 1e3;
		free_snap(s);
	}
	for (i = 1; i < ticks; i++) /* the first tick sets the baselines */
		sum += ms[i];
	qsort(ms + 1, ticks - 1, sizeof(*ms), cmp);
	printf("%d agents, 8 priced upstreams each: %.3f ms CPU per tick (mean of %d ticks), "
	       "median %.3f ms, p99 %.3f ms, max %.3f ms\n",
	       nagents, sum / (ticks - 1), ticks - 1, ms[1 + (ticks - 1) / 2],
	       ms[1 + (int)((ticks - 1) * 0.99)], ms[ticks - 1]);
	costing__free(g);
	store__close(st);
	free(p);
	free(ms);
	return 0;
}
