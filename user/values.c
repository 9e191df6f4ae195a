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
/* Sums kept per tick: (family, matchers, snapshot) combinations the rules ask for. */
#define AGG_MAX 64

enum derived { D_NONE, D_ERROR_RATIO, D_SUCCESS_RATIO, D_LOAD };

/*
 * One family's series summed per agent of one snapshot, for one set of matchers: built by a
 * single pass over the family the first time a tick asks, so that a rule costs one pass per
 * snapshot rather than one per agent.
 */
struct agg {
	const struct snapshot *s;
	const struct catalog_family *f;
	char key[400]; /* matchers and status set */
	int n; /* agents of s */
	int nb; /* buckets per agent (histograms) */
	bool *found;
	double *value;
	__u64 *buckets; /* n * nb */
};

/* A snapshot's agents sorted by name, to find an agent's index. */
struct names {
	const struct snapshot *s;
	int *order;
};

/* Where each agent's failed requests went in the window: the top upstream. */
struct cause {
	char upstream[48];
	double failed;
};

struct values {
	struct values_params p;
	struct snapshot *ring[RING_MAX]; /* oldest first */
	int n;
	int ncpu;
	struct agg agg[AGG_MAX]; /* this tick's sums */
	int nagg;
	struct names names[2]; /* newest and oldest snapshot */
	struct cause *causes; /* per agent of the newest snapshot; NULL until asked this tick */
	bool causes_done;
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

/* Forgets the tick's sums (the snapshots they were over may go). */
static void forget(struct values *v)
{
	int i;

	for (i = 0; i < v->nagg; i++) {
		free(v->agg[i].found);
		free(v->agg[i].value);
		free(v->agg[i].buckets);
	}
	v->nagg = 0;
	for (i = 0; i < 2; i++) {
		free(v->names[i].order);
		v->names[i].order = NULL;
		v->names[i].s = NULL;
	}
	free(v->causes);
	v->causes = NULL;
	v->causes_done = false;
}

void values__free(struct values *v)
{
	int i;

	if (!v)
		return;
	forget(v);
	for (i = 0; i < v->n; i++)
		snapshot__put(v->ring[i]);
	free(v);
}

void values__push(struct values *v, struct snapshot *s)
{
	int drop = 0, i;

	forget(v);
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

/*
 * The family a rule's name means, or NULL: the name itself when it starts with swarmwatch_,
 * else swarmwatch_agent_<name>[suffix], then the app metric swarmwatch_agent_app_<name>[suffix]
 * (StatsD, registered by apps.c), the first with an agent label.
 */
static const struct catalog_family *family_of(const char *name)
{
	static const char *const prefixes[] = {"swarmwatch_agent_", "swarmwatch_agent_app_"};
	static const char *const suffixes[] = {"",	 "_total",	   "_seconds",
					       "_bytes", "_seconds_total", "_bytes_total"};
	const struct catalog_family *f;
	char full[160];
	size_t i;

	if (!strncmp(name, "swarmwatch_", 11)) {
		f = catalog__find(name);
		return f && f->nlabels && !strcmp(f->labels[0], "agent") ? f : NULL;
	}
	for (i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]) * 6; i++) {
		snprintf(full, sizeof(full), "%s%s%s", prefixes[i / 6], name, suffixes[i % 6]);
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
			 "no figure named \"%s\" (a family swarmwatch_agent_[app_]%s[_total|"
			 "_seconds|_bytes], error_ratio, success_ratio or load)",
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

static const struct snapshot *sort_snap;

static int by_name(const void *a, const void *b)
{
	return strcmp(sort_snap->agents[*(const int *)a].name,
		      sort_snap->agents[*(const int *)b].name);
}

/* The sorted agent index of s (the newest or oldest snapshot); NULL on out of memory. */
static const struct names *names_of(struct values *v, const struct snapshot *s)
{
	struct names *nm = &v->names[s == v->ring[0] && v->n > 1];
	int i;

	if (nm->s == s && nm->order)
		return nm;
	free(nm->order);
	nm->s = s;
	nm->order = malloc((s->nagents + 1) * sizeof(int));
	if (!nm->order)
		return NULL;
	for (i = 0; i < s->nagents; i++)
		nm->order[i] = i;
	sort_snap = s; /* one thread: the tick's */
	qsort(nm->order, s->nagents, sizeof(int), by_name);
	return nm;
}

/* Index of agent name in nm's snapshot, or -1. */
static int agent_index(const struct names *nm, const char *name)
{
	int lo = 0, hi = nm->s->nagents - 1;

	while (lo <= hi) {
		int mid = (lo + hi) / 2, c = strcmp(name, nm->s->agents[nm->order[mid]].name);

		if (!c)
			return nm->order[mid];
		if (c < 0)
			hi = mid - 1;
		else
			lo = mid + 1;
	}
	return -1;
}

static bool status_in(const char *st, int set)
{
	bool bad = !strcmp(st, "5xx") || !strcmp(st, "error");
	bool good = !strcmp(st, "2xx") || !strcmp(st, "3xx");

	return !set || (set == 1 && bad) || (set == 2 && good) ||
	       (set == 3 && strcmp(st, "unknown"));
}

struct fill {
	struct agg *a;
	const struct names *nm;
	const struct alert_matcher *m;
	uint32_t nm_count;
	int status_set;
};

static int add_sample(void *ctx, const struct catalog_sample *x)
{
	struct fill *fl = ctx;
	struct agg *a = fl->a;
	uint32_t i;
	int j, k;

	for (i = 0; i < fl->nm_count; i++)
		if ((strcmp(label_value(x, fl->m[i].name), fl->m[i].value) == 0) == fl->m[i].negate)
			return 0;
	if (fl->status_set && !status_in(label_value(x, "status"), fl->status_set))
		return 0;
	k = agent_index(fl->nm, x->values[0]);
	if (k < 0)
		return 0;
	a->found[k] = true;
	if (a->nb)
		for (j = 0; j < a->nb; j++)
			a->buckets[(size_t)k * a->nb + j] += x->buckets[j];
	else
		a->value[k] += x->value;
	return 0;
}

/* The tick's sums of family f in snap for these matchers, built on first use; NULL on ENOMEM. */
static struct agg *agg_of(struct values *v, const struct catalog_family *f,
			  const struct snapshot *snap, const struct alert_query *q, int status_set)
{
	char key[400];
	struct fill fl;
	struct agg *a;
	size_t off;
	uint32_t i;
	int j;

	off = (size_t)snprintf(key, sizeof(key), "%d", status_set);
	for (i = 0; q && i < q->nm && off < sizeof(key); i++)
		off += (size_t)snprintf(key + off, sizeof(key) - off, "|%s%s%s", q->m[i].name,
					q->m[i].negate ? "!=" : "=", q->m[i].value);
	for (j = 0; j < v->nagg; j++)
		if (v->agg[j].s == snap && v->agg[j].f == f && !strcmp(v->agg[j].key, key))
			return &v->agg[j];
	if (v->nagg == AGG_MAX)
		return NULL;
	fl.nm = names_of(v, snap);
	if (!fl.nm)
		return NULL;
	a = &v->agg[v->nagg];
	memset(a, 0, sizeof(*a));
	a->s = snap;
	a->f = f;
	snprintf(a->key, sizeof(a->key), "%s", key);
	a->n = snap->nagents;
	if (f->type == CATALOG_HISTOGRAM)
		a->nb = f->nle + 1 > BUCKETS_MAX + 1 ? BUCKETS_MAX + 1 : f->nle + 1;
	a->found = calloc(a->n + 1, sizeof(*a->found));
	a->value = calloc(a->n + 1, sizeof(*a->value));
	a->buckets = a->nb ? calloc((size_t)a->n * a->nb + 1, sizeof(*a->buckets)) : NULL;
	if (!a->found || !a->value || (a->nb && !a->buckets)) {
		free(a->found);
		free(a->value);
		free(a->buckets);
		return NULL;
	}
	v->nagg++;
	fl.a = a;
	fl.m = q ? q->m : NULL;
	fl.nm_count = q ? q->nm : 0;
	fl.status_set = status_set;
	catalog__for_each_sample(f, snap, add_sample, &fl);
	return a;
}

static int sum_of(struct values *v, const struct catalog_family *f, const struct snapshot *snap,
		  const char *agent, const struct alert_query *q, int status_set, struct sum *s)
{
	struct agg *a = agg_of(v, f, snap, q, status_set);
	int k;

	memset(s, 0, sizeof(*s));
	if (!a)
		return -ENOMEM;
	k = agent_index(names_of(v, snap), agent);
	if (k < 0 || !a->found[k])
		return -ENOENT;
	s->found = true;
	s->nb = a->nb;
	if (a->nb)
		memcpy(s->buckets, a->buckets + (size_t)k * a->nb, a->nb * sizeof(__u64));
	else
		s->value = a->value[k];
	return 0;
}

/* Increase of the (filtered) counter family between the window's ends, and the span. */
static int increase(struct values *v, const struct catalog_family *f, const char *agent,
		    const struct alert_query *q, int status_set, double *d, double *dt)
{
	struct sum a, b;

	if (v->n < 2)
		return -ENOENT;
	if (sum_of(v, f, v->ring[v->n - 1], agent, q, status_set, &b))
		return -ENOENT;
	if (sum_of(v, f, v->ring[0], agent, q, status_set, &a))
		a.value = 0; /* the series appeared inside the window */
	*dt = v->ring[v->n - 1]->time - v->ring[0]->time;
	*d = b.value - a.value;
	if (*dt <= 0 || *d < 0)
		return -ENOENT; /* no span yet, or a reset */
	return 0;
}

/* Failed requests per (agent, upstream) of one snapshot, added with sign into the causes. */
struct failed {
	struct values *v;
	const struct names *nm; /* the newest snapshot's */
	int sign;
	struct cause *list; /* per (agent, upstream): up to UPSTREAMS_PER agents' entries */
	int *count;
};

#define UPSTREAMS_PER 16

static int add_failed(void *ctx, const struct catalog_sample *x)
{
	struct failed *fd = ctx;
	const char *up = label_value(x, "upstream");
	struct cause *c;
	int k, i;

	if (!status_in(label_value(x, "status"), 1))
		return 0;
	k = agent_index(fd->nm, x->values[0]);
	if (k < 0)
		return 0;
	c = fd->list + (size_t)k * UPSTREAMS_PER;
	for (i = 0; i < fd->count[k]; i++)
		if (!strcmp(c[i].upstream, up))
			break;
	if (i == fd->count[k]) {
		if (i == UPSTREAMS_PER)
			return 0;
		snprintf(c[i].upstream, sizeof(c[i].upstream), "%s", up);
		c[i].failed = 0;
		fd->count[k]++;
	}
	c[i].failed += fd->sign * x->value;
	return 0;
}

/* Each agent's upstream with the most failed requests in the window, once a tick. */
static void causes_of(struct values *v, const struct catalog_family *f)
{
	const struct snapshot *s = v->ring[v->n - 1];
	struct failed fd = {.v = v, .sign = 1};
	int k, i, n = s->nagents;

	v->causes_done = true;
	fd.nm = names_of(v, s);
	v->causes = calloc(n + 1, sizeof(*v->causes));
	fd.list = calloc((size_t)n * UPSTREAMS_PER + 1, sizeof(*fd.list));
	fd.count = calloc(n + 1, sizeof(*fd.count));
	if (!fd.nm || !v->causes || !fd.list || !fd.count)
		goto out;
	catalog__for_each_sample(f, s, add_failed, &fd);
	fd.sign = -1;
	catalog__for_each_sample(f, v->ring[0], add_failed, &fd);
	for (k = 0; k < n; k++)
		for (i = 0; i < fd.count[k]; i++) {
			struct cause *c = &fd.list[(size_t)k * UPSTREAMS_PER + i];

			if (c->failed > v->causes[k].failed)
				v->causes[k] = *c;
		}
out:
	free(fd.list);
	free(fd.count);
}

static void failure_cause(struct values *v, const struct catalog_family *f, const char *agent,
			  double part, double whole, char *out, size_t len)
{
	int k;

	if (!v->causes_done)
		causes_of(v, f);
	if (!v->causes)
		return;
	k = agent_index(names_of(v, v->ring[v->n - 1]), agent);
	if (k >= 0 && v->causes[k].failed > 0)
		snprintf(out, len, "failed requests to %s (%.0f of %.0f requests failed)",
			 v->causes[k].upstream, part, whole);
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
	struct sum live;

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
	/*
	 * An agent whose instances were all stopped (a deploy, a test's teardown: SIGTERM is an
	 * exit by signal) is not in a crash loop: one needs live instances that keep failing.
	 */
	f = catalog__find("swarmwatch_agent_instances");
	if (!f || sum_of(v, f, v->ring[v->n - 1], agent, NULL, 0, &live))
		live.value = 0;
	out->value = d + d2 >= v->p.crash_loop_exits && live.value > 0;
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
		if (f->type == CATALOG_HISTOGRAM ||
		    sum_of(v, f, v->ring[v->n - 1], agent, q, 0, &b))
			return -ENOENT;
		out->value = b.value;
		return 0;
	case ALERT_FN_RATE:
	case ALERT_FN_DERIV:
		if (f->type == CATALOG_HISTOGRAM || v->n < 2 ||
		    sum_of(v, f, v->ring[v->n - 1], agent, q, 0, &b))
			return -ENOENT;
		if (sum_of(v, f, v->ring[0], agent, q, 0, &a)) {
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
		    sum_of(v, f, v->ring[v->n - 1], agent, q, 0, &b))
			return -ENOENT;
		if (sum_of(v, f, v->ring[0], agent, q, 0, &a))
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
