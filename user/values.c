// SPDX-License-Identifier: MIT
/* values: per-agent figures for alert rules, over a window of snapshots, via the catalogue. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "anomaly.h"
#include "catalog.h"
#include "rates.h"
#include "snapshot.h"
#include "values.h"

#define RING_MAX 512
#define BUCKETS_MAX 64

enum derived { D_NONE, D_ERROR_RATIO, D_SUCCESS_RATIO, D_LOAD };

struct values {
	struct values_params p;
	struct snapshot *ring[RING_MAX]; /* oldest first */
	int n;
	int ncpu;
};

void values__params_default(struct values_params *p, double interval_s)
{
	p->window_s = 10;
	p->interval_s = interval_s;
	p->min_requests = 5;
	p->crash_loop_exits = 3;
}

struct values *values__new(const struct values_params *p)
{
	struct values *v;

	if (!(p->window_s > 0) || !(p->interval_s > 0)) {
		errno = EINVAL;
		return NULL;
	}
	v = calloc(1, sizeof(*v));
	if (!v) {
		errno = ENOMEM;
		return NULL;
	}
	v->p = *p;
	v->ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (v->ncpu < 1)
		v->ncpu = 1;
	return v;
}

void values__free(struct values *v)
{
	int i;

	if (!v)
		return;
	for (i = 0; i < v->n; i++)
		snapshot__put(v->ring[i]);
	free(v);
}

void values__push(struct values *v, struct snapshot *s)
{
	int drop = 0, i;

	snapshot__get(s);
	if (v->n == RING_MAX) {
		snapshot__put(v->ring[0]);
		memmove(v->ring, v->ring + 1, (RING_MAX - 1) * sizeof(v->ring[0]));
		v->n--;
	}
	v->ring[v->n++] = s;
	/* Keep the newest snapshot at least window_s old as the window's start. */
	while (drop + 1 < v->n - 1 && s->time - v->ring[drop + 1]->time >= v->p.window_s)
		drop++;
	for (i = 0; i < drop; i++)
		snapshot__put(v->ring[i]);
	if (drop) {
		memmove(v->ring, v->ring + drop, (v->n - drop) * sizeof(v->ring[0]));
		v->n -= drop;
	}
}

static enum derived derived_of(const char *name)
{
	if (!strcmp(name, "error_ratio"))
		return D_ERROR_RATIO;
	if (!strcmp(name, "success_ratio"))
		return D_SUCCESS_RATIO;
	if (!strcmp(name, "load"))
		return D_LOAD;
	return D_NONE;
}

/* The family a rule's name means, or NULL. */
static const struct catalog_family *family_of(const char *name)
{
	static const char *const suffixes[] = {"",	 "_total",	   "_seconds",
					       "_bytes", "_seconds_total", "_bytes_total"};
	const struct catalog_family *f;
	char full[160];
	size_t i;

	if (!strncmp(name, "swarmwatch_", 11)) {
		f = catalog__find(name);
		return f && f->nlabels && !strcmp(f->labels[0], "agent") ? f : NULL;
	}
	for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		snprintf(full, sizeof(full), "swarmwatch_agent_%s%s", name, suffixes[i]);
		f = catalog__find(full);
		if (f && f->nlabels && !strcmp(f->labels[0], "agent"))
			return f;
	}
	return NULL;
}

int values__check(const struct alert_query *q, char *err, size_t errlen)
{
	const struct catalog_family *f;
	uint32_t i;
	int j;

	if (q->fn == ALERT_FN_ANOMALY) {
		if (!strcmp(q->name, "*"))
			return 0;
		for (j = 0; j < ANOMALY_NSIGNALS; j++)
			if (!strcmp(q->name, anomaly__signal_name(j)))
				return 0;
		snprintf(err, errlen,
			 "anomaly(%s): no such signal (see swarmwatch_agent_anomaly_score)",
			 q->name);
		return -ENOENT;
	}
	if (q->fn == ALERT_FN_EVENT) {
		if (!strcmp(q->name, "crash_loop") || !strcmp(q->name, "oom_kill"))
			return 0;
		snprintf(err, errlen, "event(%s): no such event (known: crash_loop, oom_kill)",
			 q->name);
		return -ENOENT;
	}
	if (derived_of(q->name) != D_NONE) {
		if (q->fn != ALERT_FN_VALUE || q->nm) {
			snprintf(err, errlen,
				 "%s is a derived figure: use it bare, without a "
				 "function or label matchers",
				 q->name);
			return -EINVAL;
		}
		return 0;
	}
	f = family_of(q->name);
	if (!f) {
		snprintf(err, errlen,
			 "no figure named \"%s\" (a family swarmwatch_agent_%s[_total|_seconds|"
			 "_bytes], error_ratio, success_ratio or load)",
			 q->name, q->name);
		return -ENOENT;
	}
	if ((q->fn == ALERT_FN_QUANTILE) != (f->type == CATALOG_HISTOGRAM)) {
		snprintf(err, errlen, "%s is a %s: %s", f->name, catalog__type_name(f->type),
			 f->type == CATALOG_HISTOGRAM ? "take a quantile of it, p95(...)"
						      : "quantiles are for histograms");
		return -EINVAL;
	}
	for (i = 0; i < q->nm; i++) {
		for (j = 1; j < f->nlabels; j++)
			if (!strcmp(q->m[i].name, f->labels[j]))
				break;
		if (j == f->nlabels) {
			snprintf(err, errlen, "%s has no label \"%s\"", f->name, q->m[i].name);
			return -EINVAL;
		}
	}
	return 0;
}

/* Sums of one family's series of one agent that pass the matchers. */
struct sum {
	const char *agent;
	const struct alert_matcher *m;
	uint32_t nm;
	int status_set; /* requests: 1 = 5xx|error, 2 = 2xx|3xx, 3 = any known status */
	bool found;
	double value;
	__u64 buckets[BUCKETS_MAX + 1];
	int nb;
};

static const char *label_value(const struct catalog_sample *x, const char *name)
{
	int i;

	for (i = 0; i < x->family->nlabels; i++)
		if (!strcmp(x->family->labels[i], name))
			return x->values[i];
	return "";
}

static int add_sample(void *ctx, const struct catalog_sample *x)
{
	struct sum *s = ctx;
	uint32_t i;
	int j;

	if (strcmp(x->values[0], s->agent))
		return 0;
	for (i = 0; i < s->nm; i++)
		if ((strcmp(label_value(x, s->m[i].name), s->m[i].value) == 0) == s->m[i].negate)
			return 0;
	if (s->status_set) {
		const char *st = label_value(x, "status");
		bool bad = !strcmp(st, "5xx") || !strcmp(st, "error");
		bool good = !strcmp(st, "2xx") || !strcmp(st, "3xx");

		if ((s->status_set == 1 && !bad) || (s->status_set == 2 && !good) ||
		    (s->status_set == 3 && !strcmp(st, "unknown")))
			return 0;
	}
	s->found = true;
	if (x->family->type == CATALOG_HISTOGRAM) {
		s->nb = x->family->nle + 1 > BUCKETS_MAX + 1 ? BUCKETS_MAX + 1 : x->family->nle + 1;
		for (j = 0; j < s->nb; j++)
			s->buckets[j] += x->buckets[j];
	} else {
		s->value += x->value;
	}
	return 0;
}

static int sum_of(const struct catalog_family *f, const struct snapshot *snap, const char *agent,
		  const struct alert_query *q, int status_set, struct sum *s)
{
	memset(s, 0, sizeof(*s));
	s->agent = agent;
	s->m = q ? q->m : NULL;
	s->nm = q ? q->nm : 0;
	s->status_set = status_set;
	catalog__for_each_sample(f, snap, add_sample, s);
	return s->found ? 0 : -ENOENT;
}

/* Increase of the (filtered) counter family between the window's ends, and the span. */
static int increase(struct values *v, const struct catalog_family *f, const char *agent,
		    const struct alert_query *q, int status_set, double *d, double *dt)
{
	struct sum a, b;

	if (v->n < 2)
		return -ENOENT;
	if (sum_of(f, v->ring[v->n - 1], agent, q, status_set, &b))
		return -ENOENT;
	if (sum_of(f, v->ring[0], agent, q, status_set, &a))
		a.value = 0; /* the series appeared inside the window */
	*dt = v->ring[v->n - 1]->time - v->ring[0]->time;
	*d = b.value - a.value;
	if (*dt <= 0 || *d < 0)
		return -ENOENT; /* no span yet, or a reset */
	return 0;
}

/* Failed requests per upstream, to name where an error burst comes from. */
#define UPSTREAMS_MAX 16

struct by_upstream {
	const char *agent;
	int sign; /* +1 newest snapshot, -1 window start */
	int n;
	char name[UPSTREAMS_MAX][48];
	double failed[UPSTREAMS_MAX];
};

static int add_failed(void *ctx, const struct catalog_sample *x)
{
	struct by_upstream *u = ctx;
	const char *st = label_value(x, "status"), *up = label_value(x, "upstream");
	int i;

	if (strcmp(x->values[0], u->agent) || (strcmp(st, "5xx") && strcmp(st, "error")))
		return 0;
	for (i = 0; i < u->n; i++)
		if (!strcmp(u->name[i], up))
			break;
	if (i == u->n) {
		if (u->n == UPSTREAMS_MAX)
			return 0;
		snprintf(u->name[u->n++], sizeof(u->name[0]), "%s", up);
	}
	u->failed[i] += u->sign * x->value;
	return 0;
}

static void failure_cause(struct values *v, const struct catalog_family *f, const char *agent,
			  double part, double whole, char *out, size_t len)
{
	struct by_upstream u = {.agent = agent, .sign = 1};
	int i, best = -1;

	catalog__for_each_sample(f, v->ring[v->n - 1], add_failed, &u);
	u.sign = -1;
	catalog__for_each_sample(f, v->ring[0], add_failed, &u);
	for (i = 0; i < u.n; i++)
		if (u.failed[i] > 0 && (best < 0 || u.failed[i] > u.failed[best]))
			best = i;
	if (best >= 0)
		snprintf(out, len, "failed requests to %s (%.0f of %.0f requests failed)",
			 u.name[best], part, whole);
}

static int ratio(struct values *v, const char *agent, int part_set, struct alert_value *out)
{
	const struct catalog_family *f = catalog__find("swarmwatch_agent_requests_total");
	double part, whole, bad, dt;

	if (!f || increase(v, f, agent, NULL, 3, &whole, &dt) || whole < v->p.min_requests)
		return -ENOENT;
	if (increase(v, f, agent, NULL, part_set, &part, &dt))
		part = 0;
	out->value = part > whole ? 1 : part / whole;
	bad = part_set == 1 ? part : whole - part;
	if (bad > 0)
		failure_cause(v, f, agent, bad, whole, out->cause, sizeof(out->cause));
	return 0;
}

static int anomaly_of(struct values *v, const struct alert_query *q, const char *agent,
		      struct alert_value *out)
{
	const struct snapshot *s = v->ring[v->n - 1];
	const struct anomaly_view *av = s->anomalies;
	int i, j, best = -1;

	if (!av)
		return -ENOENT;
	for (i = 0; i < av->nagents; i++) {
		const struct anomaly_agent *a = &av->agents[i];

		if (strcmp(a->name, agent))
			continue;
		for (j = 0; j < ANOMALY_NSIGNALS; j++) {
			if (!(a->scored & (1u << j)))
				continue;
			if (strcmp(q->name, "*") && strcmp(q->name, anomaly__signal_name(j)))
				continue;
			if (best < 0 || a->score[j] > a->score[best])
				best = j;
		}
		if (best < 0)
			return -ENOENT;
		out->value = a->score[best];
		out->confidence = a->confidence[best];
		snprintf(out->cause, sizeof(out->cause), "%s departed from its baseline (%.3g)",
			 anomaly__signal_name(best), a->value[best]);
		return 0;
	}
	return -ENOENT;
}

static int event_of(struct values *v, const struct alert_query *q, const char *agent,
		    struct alert_value *out)
{
	struct alert_query m = {.nm = 1};
	const struct catalog_family *f;
	double d = 0, d2 = 0, dt;

	if (!strcmp(q->name, "oom_kill")) {
		f = catalog__find("swarmwatch_agent_oom_kills_total");
		if (!f || increase(v, f, agent, NULL, 0, &d, &dt))
			return -ENOENT;
		out->value = d > 0;
		snprintf(out->cause, sizeof(out->cause), "%.0f OOM kill(s) in %.0f s", d, dt);
		return 0;
	}
	if (strcmp(q->name, "crash_loop"))
		return -ENOENT;
	f = catalog__find("swarmwatch_agent_process_exits_total");
	if (!f)
		return -ENOENT;
	snprintf(m.m[0].name, sizeof(m.m[0].name), "outcome");
	snprintf(m.m[0].value, sizeof(m.m[0].value), "error");
	if (increase(v, f, agent, &m, 0, &d, &dt))
		return -ENOENT;
	snprintf(m.m[0].value, sizeof(m.m[0].value), "signal");
	if (increase(v, f, agent, &m, 0, &d2, &dt))
		d2 = 0;
	out->value = d + d2 >= v->p.crash_loop_exits;
	snprintf(out->cause, sizeof(out->cause), "%.0f exits by error or signal in %.0f s", d + d2,
		 dt);
	return 0;
}

int values__lookup(void *ctx, const struct alert_query *q, const char *agent,
		   struct alert_value *out)
{
	struct values *v = ctx;
	const struct catalog_family *f;
	struct sum a, b;
	double d, dt;
	int j;

	if (!v->n)
		return -ENOENT;
	out->confidence = 1;
	if (q->fn == ALERT_FN_ANOMALY)
		return anomaly_of(v, q, agent, out);
	if (q->fn == ALERT_FN_EVENT)
		return event_of(v, q, agent, out);
	switch (derived_of(q->name)) {
	case D_ERROR_RATIO:
		return ratio(v, agent, 1, out);
	case D_SUCCESS_RATIO:
		return ratio(v, agent, 2, out);
	case D_LOAD:
		f = catalog__find("swarmwatch_agent_cpu_seconds_total");
		if (!f || increase(v, f, agent, NULL, 0, &d, &dt))
			return -ENOENT;
		out->value = d / dt / v->ncpu;
		return 0;
	case D_NONE:
		break;
	}
	f = family_of(q->name);
	if (!f)
		return -ENOENT;
	switch (q->fn) {
	case ALERT_FN_VALUE:
		if (f->type == CATALOG_HISTOGRAM || sum_of(f, v->ring[v->n - 1], agent, q, 0, &b))
			return -ENOENT;
		out->value = b.value;
		return 0;
	case ALERT_FN_RATE:
	case ALERT_FN_DERIV:
		if (f->type == CATALOG_HISTOGRAM || v->n < 2 ||
		    sum_of(f, v->ring[v->n - 1], agent, q, 0, &b))
			return -ENOENT;
		if (sum_of(f, v->ring[0], agent, q, 0, &a)) {
			if (f->type == CATALOG_GAUGE)
				return -ENOENT;
			a.value = 0;
		}
		dt = v->ring[v->n - 1]->time - v->ring[0]->time;
		if (dt <= 0 || (q->fn == ALERT_FN_RATE && b.value < a.value))
			return -ENOENT;
		out->value = (b.value - a.value) / dt;
		return 0;
	case ALERT_FN_QUANTILE:
		if (f->type != CATALOG_HISTOGRAM || v->n < 2 ||
		    sum_of(f, v->ring[v->n - 1], agent, q, 0, &b))
			return -ENOENT;
		if (sum_of(f, v->ring[0], agent, q, 0, &a))
			memset(a.buckets, 0, sizeof(a.buckets));
		for (j = 0; j < b.nb; j++) {
			if (b.buckets[j] < a.buckets[j])
				return -ENOENT; /* a reset */
			b.buckets[j] -= a.buckets[j];
		}
		return rates__quantile(f->le, b.nb - 1, b.buckets, q->q, &out->value) ? -ENOENT : 0;
	default:
		return -ENOENT;
	}
}
