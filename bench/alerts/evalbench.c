// SPDX-License-Identifier: MIT
/*
 * What the alert stage costs a tick: the default rules evaluated for N agents (each with
 * requests to 4 upstreams in 2 statuses) over a 10 s window of 1 s snapshots, in CPU time.
 *   build/bench/evalbench [AGENTS [TICKS]]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alert.h"
#include "snapshot.h"
#include "values.h"

static struct snapshot *snap(int nagents, double t)
{
	struct snapshot *s = snapshot__new();
	int i, j;

	s->time = t;
	s->nagents = nagents;
	s->agents = calloc(nagents, sizeof(*s->agents));
	s->nrequests = nagents * 8;
	s->requests = calloc(s->nrequests, sizeof(*s->requests));
	for (i = 0; i < nagents; i++) {
		snprintf(s->agents[i].name, sizeof(s->agents[i].name), "agent%d", i);
		s->agents[i].instances = 1;
		s->agents[i].s.cpu_ns = (__u64)(t * 1e8);
		for (j = 0; j < 8; j++) {
			struct request_series *r = &s->requests[i * 8 + j];

			r->agent = i;
			snprintf(r->upstream, sizeof(r->upstream), "10.0.0.%d:443", j / 2);
			r->role = SW_ROLE_CLIENT;
			r->status = j % 2 ? 5 : 2;
			r->count = (__u64)(t * (j % 2 ? 1 : 20));
			r->lat[24] = r->count;
		}
	}
	return s;
}

int main(int argc, char **argv)
{
	int nagents = argc > 1 ? atoi(argv[1]) : 100, ticks = argc > 2 ? atoi(argv[2]) : 60, i;
	const char **names = calloc(nagents, sizeof(*names));
	struct values_params vp;
	struct alert_params *ap = malloc(sizeof(*ap));
	struct alert_engine *e;
	struct timespec a, b;
	struct values *v;
	double cpu = 0;
	char err[256];

	alert__params_default(ap);
	e = alert__new(ap, err, sizeof(err));
	values__params_default(&vp, 1);
	v = values__new(&vp);
	if (!e || !v || !names)
		return 1;
	for (i = 0; i < ticks; i++) {
		struct snapshot *s = snap(nagents, 1e9 + i);
		const struct alert_out *out;
		size_t n, k;

		for (k = 0; k < (size_t)nagents; k++)
			names[k] = s->agents[k].name;
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
		values__push(v, s);
		alert__eval(e, (int64_t)(s->time * 1e3), names, nagents, values__lookup, v, &out,
			    &n);
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
		if (i >= 10)
			cpu += (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
		snapshot__put(s);
	}
	printf("%d agents, %u rules: %.2f ms CPU per tick (mean of %d ticks after the window "
	       "filled)\n",
	       nagents, ap->nrules, cpu / (ticks - 10) * 1e3, ticks - 10);
	values__free(v);
	alert__free(e);
	free(ap);
	free(names);
	return 0;
}
