// SPDX-License-Identifier: MIT
/*
 * incidentbench AGENTS [TICKS]: CPU time of incident__update() per tick with every agent in an
 * open incident of four anomaly signals and one firing alert, each agent calling eight
 * upstreams of which one (llm-api) is shared by all, so every tick links them all; then the
 * time of incident__view() and incident__save() of that state, and the saved size.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "incident.h"

static double cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	static const char *const sigs[] = {"syscall_rate", "request_latency_p50",
					   "request_latency_p99", "cpu"};
	int agents = argc > 1 ? atoi(argv[1]) : 100, ticks = argc > 2 ? atoi(argv[2]) : 200;
	struct incident_params p;
	struct incident_tracker *x;
	struct incident_obs *o;
	struct incident_upstream *u;
	struct incident_view *v;
	char(*names)[16], (*ups)[16];
	double t0 = 1764529200.0, c0, c1;
	size_t len = 0;
	int i, j, k;
	char *text;

	if (agents < 1 || agents > 256 || ticks < 1) {
		fprintf(stderr, "usage: incidentbench AGENTS(1..256) [TICKS]\n");
		return 2;
	}
	incident__params_default(&p);
	x = incident__new(&p);
	o = calloc((size_t)agents * 5, sizeof(*o));
	u = calloc((size_t)agents * 8, sizeof(*u));
	names = calloc(agents, sizeof(*names));
	ups = calloc((size_t)agents * 8, sizeof(*ups));
	if (!x || !o || !u || !names || !ups)
		return 1;
	for (i = 0; i < agents; i++) {
		snprintf(names[i], sizeof(names[i]), "agent-%d", i);
		for (j = 0; j < 4; j++)
			o[i * 5 + j] = (struct incident_obs){names[i],
							     sigs[j],
							     INCIDENT_ANOMALY,
							     j ? INCIDENT_LATENCY : INCIDENT_LOAD,
							     t0 + j,
							     "2 vs 1",
							     j == 0};
		o[i * 5 + 4] = (struct incident_obs){names[i],	     "AgentLatencyHigh",
						     INCIDENT_ALERT, INCIDENT_LATENCY,
						     t0 + 5,	     "6 vs 5",
						     false};
		for (j = 0; j < 8; j++) {
			k = i * 8 + j;
			snprintf(ups[k], sizeof(ups[k]), j ? "tool-%d-%d" : "llm-api", i, j);
			u[k] = (struct incident_upstream){names[i], ups[k], 100.0 - j};
		}
	}
	incident__update(x, t0 + 6, o, (size_t)agents * 5, u, (size_t)agents * 8);
	c0 = cpu_s();
	for (i = 0; i < ticks; i++)
		incident__update(x, t0 + 7 + i, o, (size_t)agents * 5, u, (size_t)agents * 8);
	c1 = cpu_s();
	printf("%d agents: incident__update %.1f us per tick", agents, (c1 - c0) / ticks * 1e6);
	c0 = cpu_s();
	for (i = 0; i < ticks; i++)
		incident__view_free(incident__view(x, t0));
	c1 = cpu_s();
	printf(", incident__view %.1f us", (c1 - c0) / ticks * 1e6);
	c0 = cpu_s();
	for (i = 0; i < ticks / 10 + 1; i++) {
		text = incident__save(x, &len);
		free(text);
	}
	c1 = cpu_s();
	printf(", incident__save %.0f us (%zu bytes)\n", (c1 - c0) / (ticks / 10 + 1) * 1e6, len);
	v = incident__view(x, t0);
	printf("link: %s\n", v->items[0].link);
	incident__view_free(v);
	incident__free(x);
	free(o);
	free(u);
	free(names);
	free(ups);
	return 0;
}
