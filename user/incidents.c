// SPDX-License-Identifier: MIT
/* incidents: the tick's incident stage: anomalies and alerts -> incident.h -> view and store. */
#include <errno.h>
#include <math.h>
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

/* Where the state is kept in the store: under no agent of its own. */
#define STATE_AGENT "*"
#define STATE_NAME "incidents"
/* Largest saved state read back: INCIDENT_KEEP incidents of a few KiB each. */
#define STATE_CAP (4u << 20)
/* A state that changed only in times is saved at most this often, seconds. */
#define SAVE_EVERY_S 30

struct incidents {
	struct incident_tracker *x;
	struct store *store; /* NULL: not kept */
	const struct alert_params *rules;
	enum incident_kind rule_kind[ALERT_RULES_MAX];
	double saved; /* when the state was last given to the store */
	bool warned; /* a save that failed was logged */
};

/* What a signal or figure of that name is about. */
static enum incident_kind kind_of(const char *name)
{
	static const struct {
		const char *part;
		enum incident_kind kind;
	} map[] = {
		{"429", INCIDENT_THROTTLED},
		{"request_latency", INCIDENT_LATENCY},
		{"request_duration", INCIDENT_LATENCY},
		{"request_failure", INCIDENT_FAILURES},
		{"error_ratio", INCIDENT_FAILURES},
		{"success_ratio", INCIDENT_FAILURES},
		{"crash_loop", INCIDENT_CRASH},
		{"restarts", INCIDENT_CRASH},
		{"process_exits", INCIDENT_CRASH},
		{"oom", INCIDENT_MEMORY},
		{"resident_memory", INCIDENT_MEMORY},
		{"cpu", INCIDENT_LOAD},
		{"load", INCIDENT_LOAD},
		{"run_queue", INCIDENT_LOAD},
		{"syscall_rate", INCIDENT_LOAD},
		{"syscall_latency", INCIDENT_OTHER},
		{"syscall_duration", INCIDENT_OTHER},
		{"request_rate", INCIDENT_LOAD},
	};
	size_t i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strstr(name, map[i].part))
			return map[i].kind;
	return INCIDENT_OTHER;
}

/*
 * An anomaly departure of the agent's error ratio is of syscalls, and syscall latency counts
 * the time blocked in reads as much as contention (the map above): no recommendation follows.
 * A rule's kind is its figure's, or for requests{status="429"|"5xx"|"error"} the status'.
 */
static enum incident_kind signal_kind(int signal)
{
	return signal == ANOMALY_ERROR_RATIO ? INCIDENT_OTHER
					     : kind_of(anomaly__signal_name(signal));
}

static enum incident_kind rule_kind(const struct alert_rule *r)
{
	struct alert_expr e;
	char why[128];
	uint32_t i;

	if (alert__parse_expr(r->expr_text, &e, why, sizeof(why)))
		return INCIDENT_OTHER;
	for (i = 0; i < e.q.nm; i++) {
		const struct alert_matcher *m = &e.q.m[i];

		if (strcmp(m->name, "status") || m->negate)
			continue;
		if (!strcmp(m->value, "429"))
			return INCIDENT_THROTTLED;
		if (!strcmp(m->value, "5xx") || !strcmp(m->value, "error"))
			return INCIDENT_FAILURES;
	}
	if (e.q.fn == ALERT_FN_ANOMALY && !strcmp(e.q.name, "*"))
		return INCIDENT_OTHER;
	return kind_of(e.q.name);
}

static void save(struct incidents *g, double now)
{
	size_t len = 0;
	char *text;
	int err;

	if (!g->store)
		return;
	text = incident__save(g->x, &len);
	err = text ? store__state_put(g->store, STATE_AGENT, STATE_NAME, text, len) : -ENOMEM;
	free(text);
	if (err && !g->warned)
		pr_warn("incidents: state not saved (%s); open incidents are lost if swarmwatch "
			"stops before the next save",
			strerror(-err));
	g->warned = err != 0;
	if (!err)
		g->saved = now;
}

struct incidents *incidents__new(const struct config *c, struct store *store, double now)
{
	struct incident_params p;
	struct incidents *g = calloc(1, sizeof(*g));
	char *buf = NULL;
	long len;
	uint32_t i;

	if (!g) {
		errno = ENOMEM;
		return NULL;
	}
	incident__params_default(&p);
	p.window_s = c->incident_window_ns / 1e9;
	g->x = incident__new(&p);
	if (!g->x) {
		free(g);
		errno = ENOMEM;
		return NULL;
	}
	g->store = store;
	g->rules = c->alerts;
	for (i = 0; i < c->alerts->nrules; i++)
		g->rule_kind[i] = rule_kind(&c->alerts->rules[i]);
	buf = store ? malloc(STATE_CAP) : NULL;
	len = buf ? store__state_get(store, STATE_AGENT, STATE_NAME, buf, STATE_CAP) : -ENOENT;
	if (len >= 0 && incident__restore(g->x, buf, (size_t)len, now))
		pr_warn("incidents: the saved incidents in the store are not readable; starting "
			"without them");
	else if (len < 0 && len != -ENOENT)
		pr_warn("incidents: the saved incidents cannot be read (%s); starting without them",
			strerror((int)-len));
	free(buf);
	return g;
}

void incidents__free(struct incidents *g)
{
	if (!g)
		return;
	save(g, g->saved);
	incident__free(g->x);
	free(g);
}

static enum incident_kind kind_of_rule(const struct incidents *g, const char *rule)
{
	uint32_t i;

	for (i = 0; i < g->rules->nrules; i++)
		if (!strcmp(g->rules->rules[i].name, rule))
			return g->rule_kind[i];
	return INCIDENT_OTHER;
}

/* Observations: departures of ongoing episodes, then firing alerts. */
static struct incident_obs *observe(struct incidents *g, const struct snapshot *s,
				    const struct alert_view *alerts, char (*detail)[64], size_t *n)
{
	const struct anomaly_view *av = s->anomalies;
	size_t cap = 1, k = 0;
	struct incident_obs *o;
	int i, j;

	if (av)
		for (i = 0; i < av->ncurrent; i++)
			cap += av->current[i].ndeparted;
	if (alerts)
		cap += (size_t)alerts->n;
	o = calloc(cap, sizeof(*o));
	if (!o)
		return NULL;
	for (i = 0; av && i < av->ncurrent; i++) {
		const struct anomaly_episode *ep = &av->current[i];

		for (j = 0; j < (int)ep->ndeparted && k < cap; j++) {
			const struct anomaly_departure *d = &ep->departed[j];

			o[k] = (struct incident_obs){
				.agent = ep->agent,
				.signal = anomaly__signal_name((int)d->signal),
				.source = INCIDENT_ANOMALY,
				.kind = signal_kind((int)d->signal),
				.since = d->since,
				.detail = detail[k],
				.fell = d->signal < ANOMALY_NLEARNED && d->value < d->baseline,
			};
			if (d->signal >= ANOMALY_NLEARNED)
				snprintf(detail[k], 64, "%.0f, threshold %.0f", d->value, d->scale);
			else
				snprintf(detail[k], 64, "%.3g vs %.3g", d->value, d->baseline);
			k++;
		}
	}
	for (i = 0; alerts && i < alerts->n && k < cap; i++) {
		const struct alert_view_item *a = &alerts->items[i];

		if (strcmp(a->state, "firing"))
			continue;
		o[k] = (struct incident_obs){
			.agent = a->agent,
			.signal = a->rule,
			.source = INCIDENT_ALERT,
			.kind = kind_of_rule(g, a->rule),
			.since = a->active,
			.detail = detail[k],
		};
		if (isfinite(a->value))
			snprintf(detail[k], 64, "%.3g vs threshold %.3g", a->value, a->threshold);
		else
			detail[k][0] = 0;
		k++;
	}
	*n = k;
	return o;
}

static int by_requests(const void *pa, const void *pb)
{
	const struct incident_upstream *a = pa, *b = pb;

	return a->requests < b->requests ? 1 : a->requests > b->requests ? -1 : 0;
}

/*
 * Each agent's upstreams as a client, with its requests to each since it was first seen: the
 * INCIDENT_UPSTREAMS_MAX most called per agent. The snapshot's requests are sorted by agent,
 * then upstream, so one pass merges them.
 */
static struct incident_upstream *upstreams(const struct snapshot *s, size_t *n)
{
	struct incident_upstream *u = calloc((size_t)s->nrequests + 1, sizeof(*u));
	size_t k = 0, first = 0;
	int i;

	if (!u)
		return NULL;
	for (i = 0; i <= s->nrequests; i++) {
		const struct request_series *r = i < s->nrequests ? &s->requests[i] : NULL;
		const char *agent = r && r->agent >= 0 && r->agent < s->nagents
					    ? s->agents[r->agent].name
					    : NULL;

		/* an agent's group ends: keep its most called */
		if (k > first && (!r || (agent && strcmp(agent, u[first].agent)))) {
			if (k - first > INCIDENT_UPSTREAMS_MAX) {
				qsort(&u[first], k - first, sizeof(*u), by_requests);
				k = first + INCIDENT_UPSTREAMS_MAX;
			}
			first = k;
		}
		if (!r || !agent || r->role != SW_ROLE_CLIENT || !strcmp(r->upstream, "other"))
			continue;
		if (k == first || strcmp(u[k - 1].upstream, r->upstream))
			u[k++] = (struct incident_upstream){agent, r->upstream, 0};
		u[k - 1].requests += (double)r->count;
	}
	*n = k;
	return u;
}

int incidents__tick(struct incidents *g, struct snapshot *s, const struct alert_view *alerts)
{
	struct incident_upstream *u = NULL;
	struct incident_obs *o = NULL;
	char(*detail)[64] = NULL;
	size_t no = 0, nu = 0, cap;
	int err = 0;
	bool changed;

	cap = 1 + (alerts ? (size_t)alerts->n : 0) +
	      (s->anomalies ? (size_t)s->anomalies->ncurrent * ANOMALY_DEPARTED_MAX : 0);
	detail = calloc(cap, sizeof(*detail));
	u = upstreams(s, &nu);
	o = detail ? observe(g, s, alerts, detail, &no) : NULL;
	if (!detail || !u || !o) {
		err = -ENOMEM;
		goto out;
	}
	changed = incident__update(g->x, s->time, o, no, u, nu);
	if (changed || s->time - g->saved >= SAVE_EVERY_S)
		save(g, s->time);
	s->incidents = incident__view(g->x, s->time);
	s->incidents_free = incident__view_free;
	if (!s->incidents)
		err = -ENOMEM;
out:
	free(detail);
	free(u);
	free(o);
	return err;
}
