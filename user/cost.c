// SPDX-License-Identifier: MIT
/* cost: per-agent spend per UTC day, budget thresholds, end-of-day forecast (cost.h). */
#include <errno.h>
#include <fnmatch.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cost.h"

#define DAY_S 86400.0
#define MINUTE_S 60.0
#define EW_ALPHA (1.0 / 30) /* per-minute weight of the forecast's mean and variance */
#define MIN_MINUTES 3 /* closed minutes before the weighted moments are used */
#define STATE_VERSION 1

const char *const cost_kind_names[COST_KINDS] = {"cpu", "network_sent", "network_received",
						 "requests", "app"};

/* One upstream of one agent: the last cumulative counts and today's. */
struct up {
	char name[COST_NAME_LEN];
	uint64_t last_requests, last_successes; /* cumulative, at the last tick */
	uint64_t requests, successes; /* today */
	double usd; /* today */
};

struct agent {
	char name[SW_NAME_LEN];
	const struct cost_model *m;
	bool used; /* the slot holds an agent */
	bool based; /* the last cumulative figures are set */
	bool changed; /* since the last save */
	double seen; /* last tick with this agent, unix seconds */
	int64_t day;
	double today[COST_KINDS];
	double total[COST_KINDS];
	uint64_t cpu_ns, sent, received; /* cumulative, at the last tick */
	double app_usd; /* cumulative app cost at the last tick (this process's series) */
	struct up ups[COST_AGENT_UPSTREAMS];
	int nups;
	bool warned, emergency;
	double started; /* first tick accounted today, unix seconds */
	double minute_start; /* start of the open minute */
	double minute_usd; /* spend in the open minute */
	int minutes; /* closed minutes today */
	double mu, var; /* weighted mean and variance of the per-minute spend */
};

struct cost {
	struct cost_params p;
	cost_restore_fn restore;
	void *restore_ctx;
	struct agent *agents; /* COST_AGENTS_MAX slots */
};

void cost__params_default(struct cost_params *p)
{
	memset(p, 0, sizeof(*p));
	p->enabled = true;
	p->base.app_costs = true;
	p->base.daily_budget_usd = COST_DEFAULT_BUDGET_USD;
	p->warning_ratio = 0.80;
	p->emergency_ratio = 0.95;
	p->z = 1.96;
	p->emergency.timeout_ms = 10000;
}

const struct cost_model *cost__model(const struct cost_params *p, const char *agent)
{
	int i;

	for (i = 0; i < p->noverrides; i++)
		if (!strcmp(p->overrides[i].agent, agent) ||
		    !fnmatch(p->overrides[i].agent, agent, 0))
			return &p->overrides[i].m;
	return &p->base;
}

static bool model_ok(const struct cost_model *m)
{
	int i;

	if (!(m->daily_budget_usd > 0) || !(m->cpu_second_usd >= 0) || !(m->gb_sent_usd >= 0) ||
	    !(m->gb_received_usd >= 0) || m->nprices < 0 || m->nprices > COST_UPSTREAMS_MAX)
		return false;
	for (i = 0; i < m->nprices; i++)
		if (!(m->prices[i].request_usd >= 0))
			return false;
	return true;
}

struct cost *cost__new(const struct cost_params *p)
{
	struct cost *c;
	int i;

	if (!(p->warning_ratio > 0) || !(p->emergency_ratio > p->warning_ratio) || !(p->z >= 0) ||
	    p->noverrides < 0 || p->noverrides > COST_OVERRIDES_MAX || !model_ok(&p->base)) {
		errno = EINVAL;
		return NULL;
	}
	for (i = 0; i < p->noverrides; i++)
		if (!model_ok(&p->overrides[i].m)) {
			errno = EINVAL;
			return NULL;
		}
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->p = *p;
	c->agents = calloc(COST_AGENTS_MAX, sizeof(*c->agents));
	if (!c->agents) {
		free(c);
		errno = ENOMEM;
		return NULL;
	}
	return c;
}

void cost__free(struct cost *c)
{
	if (!c)
		return;
	free(c->agents);
	free(c);
}

void cost__set_restore(struct cost *c, cost_restore_fn fn, void *ctx)
{
	c->restore = fn;
	c->restore_ctx = ctx;
}

static int64_t day_of(double t)
{
	return (int64_t)floor(t / DAY_S);
}

static struct agent *find(struct cost *c, const char *name)
{
	int i;

	for (i = 0; i < COST_AGENTS_MAX; i++)
		if (c->agents[i].used && !strcmp(c->agents[i].name, name))
			return &c->agents[i];
	return NULL;
}

/* A free slot, else the agent seen longest ago (its state was saved, or is lost). */
static struct agent *slot_for(struct cost *c, const char *name)
{
	struct agent *a = NULL;
	int i;

	for (i = 0; i < COST_AGENTS_MAX && !a; i++)
		if (!c->agents[i].used)
			a = &c->agents[i];
	if (!a)
		for (i = 0, a = &c->agents[0]; i < COST_AGENTS_MAX; i++)
			if (c->agents[i].seen < a->seen)
				a = &c->agents[i];
	memset(a, 0, sizeof(*a));
	a->used = true;
	snprintf(a->name, sizeof(a->name), "%s", name);
	a->m = cost__model(&c->p, name);
	return a;
}

/* Starts day d for a: today's spend, counts, flags and forecast back to zero. */
static void new_day(struct agent *a, int64_t d, double now)
{
	int i;

	a->day = d;
	memset(a->today, 0, sizeof(a->today));
	for (i = 0; i < a->nups; i++) {
		a->ups[i].requests = a->ups[i].successes = 0;
		a->ups[i].usd = 0;
	}
	a->warned = a->emergency = false;
	a->started = now;
	a->minute_start = now;
	a->minute_usd = 0;
	a->minutes = 0;
	a->mu = a->var = 0;
	a->changed = true;
}

/* Increase of a cumulative counter since last; a counter that went down counts from zero. */
static uint64_t increase(uint64_t now, uint64_t last)
{
	return now >= last ? now - last : now;
}

static double increase_f(double now, double last)
{
	return now >= last ? now - last : now;
}

static double request_price(const struct cost_model *m, const char *upstream)
{
	int i;

	for (i = 0; i < m->nprices; i++)
		if (!strcmp(m->prices[i].upstream, upstream) ||
		    !fnmatch(m->prices[i].upstream, upstream, 0))
			return m->prices[i].request_usd;
	return 0;
}

/* The upstream named name of a, added if there is room; NULL when the table is full. */
static struct up *up_of(struct agent *a, const char *name, bool *added)
{
	int i;

	*added = false;
	for (i = 0; i < a->nups; i++)
		if (!strcmp(a->ups[i].name, name))
			return &a->ups[i];
	if (a->nups == COST_AGENT_UPSTREAMS)
		return NULL;
	*added = true;
	snprintf(a->ups[a->nups].name, sizeof(a->ups[0].name), "%s", name);
	return &a->ups[a->nups++];
}

/* Closes the minutes that ended by now into the weighted mean and variance. */
static void close_minutes(struct agent *a, double now)
{
	while (now - a->minute_start >= MINUTE_S) {
		double x = a->minute_usd, diff, incr;

		if (!a->minutes) {
			a->mu = x;
			a->var = 0;
		} else {
			diff = x - a->mu;
			incr = EW_ALPHA * diff;
			a->mu += incr;
			a->var = (1 - EW_ALPHA) * (a->var + diff * incr);
		}
		a->minutes++;
		a->minute_usd = 0;
		a->minute_start += MINUTE_S;
		if (now - a->minute_start >= 10 * MINUTE_S) /* a gap: restart the minutes here */
			a->minute_start = now;
	}
}

static void add(struct agent *a, enum cost_kind k, double usd)
{
	if (!(usd > 0))
		return;
	a->today[k] += usd;
	a->total[k] += usd;
	a->minute_usd += usd;
	a->changed = true;
}

static double spent(const struct agent *a)
{
	double s = 0;
	int k;

	for (k = 0; k < COST_KINDS; k++)
		s += a->today[k];
	return s;
}

static void account(struct agent *a, const struct cost_input *in)
{
	const struct cost_model *m = a->m;
	int i;

	if (a->based) {
		add(a, COST_CPU, increase(in->cpu_ns, a->cpu_ns) * 1e-9 * m->cpu_second_usd);
		add(a, COST_SENT, increase(in->sent_bytes, a->sent) * 1e-9 * m->gb_sent_usd);
		add(a, COST_RECEIVED,
		    increase(in->received_bytes, a->received) * 1e-9 * m->gb_received_usd);
	}
	if (m->app_costs)
		add(a, COST_APP, increase_f(in->app_usd, a->app_usd));
	for (i = 0; i < in->nrequests; i++) {
		const struct cost_requests *r = &in->requests[i];
		uint64_t dr = 0, ds = 0;
		bool added;
		struct up *u = up_of(a, r->upstream, &added);
		double usd;

		if (!u)
			continue; /* beyond COST_AGENT_UPSTREAMS: not priced (cost.h) */
		if (a->based) {
			/* A series new to a known agent appeared since: all its requests are new. */
			dr = added ? r->requests : increase(r->requests, u->last_requests);
			ds = added ? r->successes : increase(r->successes, u->last_successes);
		}
		u->last_requests = r->requests;
		u->last_successes = r->successes;
		if (!dr && !ds)
			continue;
		usd = dr * request_price(m, r->upstream);
		u->requests += dr;
		u->successes += ds;
		u->usd += usd;
		add(a, COST_REQUESTS, usd);
		a->changed = true;
	}
	a->cpu_ns = in->cpu_ns;
	a->sent = in->sent_bytes;
	a->received = in->received_bytes;
	a->app_usd = in->app_usd;
	a->based = true;
}

static int event(struct cost_event *ev, int cap, int n, enum cost_event_type t,
		 const struct agent *a)
{
	if (n < cap) {
		ev[n].type = t;
		snprintf(ev[n].agent, sizeof(ev[n].agent), "%s", a->name);
		ev[n].day = a->day;
		ev[n].spent = spent(a);
		ev[n].budget = a->m->daily_budget_usd;
	}
	return n + 1;
}

static struct agent *agent_for(struct cost *c, const char *name)
{
	struct agent *a = find(c, name);
	char *buf;
	long len;

	if (a)
		return a;
	if (c->restore) {
		buf = malloc(65536);
		if (!buf)
			return NULL;
		len = c->restore(c->restore_ctx, name, buf, 65536);
		if (len > 0 && cost__restore(c, name, buf, len))
			len = -EINVAL;
		free(buf);
		if (len > 0 && (a = find(c, name)))
			return a;
	}
	return slot_for(c, name);
}

int cost__update(struct cost *c, double now, const struct cost_input *in, int n,
		 struct cost_event *ev, int cap)
{
	int64_t d = day_of(now);
	int i, nev = 0;

	for (i = 0; i < n; i++) {
		struct agent *a = agent_for(c, in[i].agent);
		double s, b;

		if (!a)
			return -ENOMEM;
		if (a->day != d)
			new_day(a, d, now);
		close_minutes(a, now);
		account(a, &in[i]);
		a->seen = now;
		s = spent(a);
		b = a->m->daily_budget_usd;
		if (!a->warned && s >= c->p.warning_ratio * b) {
			a->warned = true;
			a->changed = true;
			nev = event(ev, cap, nev, COST_WARNING, a);
		}
		if (!a->emergency && s >= c->p.emergency_ratio * b) {
			a->emergency = true;
			a->changed = true;
			nev = event(ev, cap, nev, COST_EMERGENCY, a);
		}
	}
	return nev;
}

/* --- saved state: a JSON object per agent --- */

static json_t *kinds_json(const double *v)
{
	json_t *o = json_object();
	int k;

	for (k = 0; o && k < COST_KINDS; k++)
		json_object_set_new(o, cost_kind_names[k], json_real(v[k]));
	return o;
}

static char *save_agent(const struct agent *a, size_t *len)
{
	json_t *o, *ups = json_array();
	char *text = NULL;
	int i;

	for (i = 0; ups && i < a->nups; i++) {
		const struct up *u = &a->ups[i];

		json_array_append_new(ups, json_pack("{s:s, s:I, s:I, s:I, s:I, s:f}", "upstream",
						     u->name, "last_requests",
						     (json_int_t)u->last_requests, "last_successes",
						     (json_int_t)u->last_successes, "requests",
						     (json_int_t)u->requests, "successes",
						     (json_int_t)u->successes, "usd", u->usd));
	}
	o = json_pack("{s:i, s:I, s:o, s:o, s:b, s:I, s:I, s:I, s:b, s:b, s:f, s:f, s:f, s:i, s:f, "
		      "s:f, s:o}",
		      "version", STATE_VERSION, "day", (json_int_t)a->day, "today",
		      kinds_json(a->today), "total", kinds_json(a->total), "based", a->based,
		      "cpu_ns", (json_int_t)a->cpu_ns, "sent", (json_int_t)a->sent, "received",
		      (json_int_t)a->received, "warned", a->warned, "emergency", a->emergency,
		      "started", a->started, "minute_start", a->minute_start, "minute_usd",
		      a->minute_usd, "minutes", a->minutes, "mu", a->mu, "var", a->var, "upstreams",
		      ups);
	if (o)
		text = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(17));
	json_decref(o);
	if (text)
		*len = strlen(text);
	return text;
}

int cost__save(struct cost *c, bool all, cost_save_fn fn, void *ctx)
{
	int i, err;

	for (i = 0; i < COST_AGENTS_MAX; i++) {
		struct agent *a = &c->agents[i];
		size_t len = 0;
		char *text;

		if (!a->used || (!all && !a->changed))
			continue;
		text = save_agent(a, &len);
		if (!text)
			return -ENOMEM;
		err = fn(ctx, a->name, text, len);
		free(text);
		if (err)
			return err;
		a->changed = false;
	}
	return 0;
}

static bool get_kinds(json_t *o, double *out)
{
	int k;

	if (!json_is_object(o))
		return false;
	for (k = 0; k < COST_KINDS; k++) {
		json_t *v = json_object_get(o, cost_kind_names[k]);

		if (!json_is_number(v) || !(json_number_value(v) >= 0))
			return false;
		out[k] = json_number_value(v);
	}
	return true;
}

int cost__restore(struct cost *c, const char *agent, const char *text, size_t len)
{
	json_t *o = json_loadb(text, len, 0, NULL), *ups, *e;
	int version = 0, based = 0, warned = 0, emergency = 0, minutes = 0;
	json_int_t day = 0, cpu = 0, sent = 0, recv = 0;
	struct agent t, *a;
	size_t i;
	int err = -EINVAL;

	memset(&t, 0, sizeof(t));
	if (!o || json_unpack(o,
			      "{s:i, s:I, s:b, s:I, s:I, s:I, s:b, s:b, s:F, s:F, s:F, s:i, s:F, "
			      "s:F, s:o}",
			      "version", &version, "day", &day, "based", &based, "cpu_ns", &cpu,
			      "sent", &sent, "received", &recv, "warned", &warned, "emergency",
			      &emergency, "started", &t.started, "minute_start", &t.minute_start,
			      "minute_usd", &t.minute_usd, "minutes", &minutes, "mu", &t.mu, "var",
			      &t.var, "upstreams", &ups))
		goto out;
	if (version != STATE_VERSION || !get_kinds(json_object_get(o, "today"), t.today) ||
	    !get_kinds(json_object_get(o, "total"), t.total) || !json_is_array(ups) ||
	    json_array_size(ups) > COST_AGENT_UPSTREAMS || cpu < 0 || sent < 0 || recv < 0 ||
	    minutes < 0 || !(t.var >= 0) || !(t.mu >= 0))
		goto out;
	json_array_foreach (ups, i, e) {
		struct up *u = &t.ups[i];
		json_int_t lr, ls, r, s;
		const char *name;

		if (json_unpack(e, "{s:s, s:I, s:I, s:I, s:I, s:F}", "upstream", &name,
				"last_requests", &lr, "last_successes", &ls, "requests", &r,
				"successes", &s, "usd", &u->usd) ||
		    lr < 0 || ls < 0 || r < 0 || s < 0 || strlen(name) >= sizeof(u->name))
			goto out;
		snprintf(u->name, sizeof(u->name), "%s", name);
		u->last_requests = lr;
		u->last_successes = ls;
		u->requests = r;
		u->successes = s;
	}
	t.nups = (int)json_array_size(ups);
	a = find(c, agent);
	if (!a)
		a = slot_for(c, agent);
	t.used = true;
	t.m = cost__model(&c->p, agent);
	snprintf(t.name, sizeof(t.name), "%s", agent);
	t.day = day;
	t.based = based;
	t.cpu_ns = cpu;
	t.sent = sent;
	t.received = recv;
	t.warned = warned;
	t.emergency = emergency;
	t.minutes = minutes;
	t.seen = a->seen;
	*a = t;
	err = 0;
out:
	json_decref(o);
	return err;
}

/* --- forecast and view --- */

void cost__forecast(double spent_usd, double now, double mu, double var, int minutes,
		    double elapsed, double z, double *point, double *lower, double *upper,
		    double *per_minute)
{
	double left = (DAY_S - now) / MINUTE_S, half, sigma;

	if (left < 0)
		left = 0;
	if (minutes < MIN_MINUTES) {
		mu = elapsed > 0 ? spent_usd / elapsed * MINUTE_S : 0;
		sigma = mu;
	} else {
		sigma = sqrt(var);
	}
	*per_minute = mu;
	*point = spent_usd + left * mu;
	half = z * sqrt(left) * sigma;
	*lower = *point - half < spent_usd ? spent_usd : *point - half;
	*upper = *point + half;
}

static int by_name(const void *x, const void *y)
{
	return strcmp(((const struct cost_agent_view *)x)->agent,
		      ((const struct cost_agent_view *)y)->agent);
}

static void fill_agent(const struct cost *c, const struct agent *a, double now,
		       struct cost_agent_view *v)
{
	double t = now - (double)a->day * DAY_S, per_minute, elapsed = now - a->started;
	int k, i;

	snprintf(v->agent, sizeof(v->agent), "%s", a->name);
	v->day = a->day;
	memcpy(v->today, a->today, sizeof(v->today));
	memcpy(v->total, a->total, sizeof(v->total));
	for (k = 0; k < COST_KINDS; k++)
		v->spent += a->today[k];
	v->budget = a->m->daily_budget_usd;
	v->usage = v->spent / v->budget;
	cost__forecast(v->spent, t, a->mu, a->var, a->minutes, elapsed, c->p.z, &v->forecast,
		       &v->lower, &v->upper, &per_minute);
	v->rate_usd_per_hour = per_minute * 60;
	if (v->spent >= v->budget)
		v->exhaust_time = now;
	else if (per_minute > 0 && t + (v->budget - v->spent) / per_minute * MINUTE_S < DAY_S)
		v->exhaust_time = now + (v->budget - v->spent) / per_minute * MINUTE_S;
	for (i = 0; i < a->nups; i++) {
		const struct up *u = &a->ups[i];

		if (!u->requests && !u->successes)
			continue;
		snprintf(v->upstreams[v->nupstreams].upstream, sizeof(v->upstreams[0].upstream),
			 "%s", u->name);
		v->upstreams[v->nupstreams].requests = u->requests;
		v->upstreams[v->nupstreams].successes = u->successes;
		v->upstreams[v->nupstreams].usd = u->usd;
		v->nupstreams++;
		v->requests += u->requests;
		v->successes += u->successes;
	}
	v->per_success = v->successes ? v->spent / v->successes : NAN;
	v->warned = a->warned;
	v->emergency = a->emergency;
}

static int by_value(const void *x, const void *y)
{
	double a = ((const struct cost_advice *)x)->value,
	       b = ((const struct cost_advice *)y)->value;

	return a < b ? 1 : a > b ? -1 : 0;
}

/* Agents to scale down first: the highest forecast share of their budget, some spend today. */
static void advise_agents(struct cost_view *v)
{
	struct cost_advice *all = calloc(v->n + 1, sizeof(*all));
	int i, n = 0;

	if (!all)
		return;
	for (i = 0; i < v->n; i++) {
		const struct cost_agent_view *a = &v->agents[i];
		struct cost_advice *d = &all[n];

		if (!(a->spent > 0))
			continue;
		snprintf(d->agent, sizeof(d->agent), "%s", a->agent);
		d->value = a->forecast / a->budget;
		if (a->successes)
			snprintf(d->reason, sizeof(d->reason),
				 "forecast %.4g USD by the end of the day, %.0f %% of its budget; "
				 "%.3g USD per successful request",
				 a->forecast, d->value * 100, a->per_success);
		else
			snprintf(d->reason, sizeof(d->reason),
				 "forecast %.4g USD by the end of the day, %.0f %% of its budget; "
				 "no successful request today",
				 a->forecast, d->value * 100);
		n++;
	}
	qsort(all, n, sizeof(*all), by_value);
	v->nscale_down = n < COST_ADVICE_MAX ? n : COST_ADVICE_MAX;
	memcpy(v->scale_down, all, v->nscale_down * sizeof(*all));
	free(all);
}

/* Upstreams by request spend per successful request today, over every agent. */
static void advise_upstreams(struct cost_view *v)
{
	struct cost_advice *all;
	uint64_t *req, *ok;
	double *usd;
	int i, j, k, n = 0, cap = 0;

	for (i = 0; i < v->n; i++)
		cap += v->agents[i].nupstreams;
	all = calloc(cap + 1, sizeof(*all));
	req = calloc(cap + 1, sizeof(*req));
	ok = calloc(cap + 1, sizeof(*ok));
	usd = calloc(cap + 1, sizeof(*usd));
	if (!all || !req || !ok || !usd)
		goto out;
	for (i = 0; i < v->n; i++)
		for (j = 0; j < v->agents[i].nupstreams; j++) {
			const struct cost_upstream_view *u = &v->agents[i].upstreams[j];

			for (k = 0; k < n && strcmp(all[k].upstream, u->upstream); k++)
				;
			if (k == n)
				snprintf(all[n++].upstream, sizeof(all[0].upstream), "%s",
					 u->upstream);
			req[k] += u->requests;
			ok[k] += u->successes;
			usd[k] += u->usd;
		}
	for (k = j = 0; k < n; k++) {
		if (!(usd[k] > 0))
			continue;
		all[j] = all[k];
		all[j].value = ok[k] ? usd[k] / ok[k] : INFINITY;
		snprintf(all[j].reason, sizeof(all[j].reason),
			 "%.4g USD for %llu requests today, %llu of them successful", usd[k],
			 (unsigned long long)req[k], (unsigned long long)ok[k]);
		j++;
	}
	qsort(all, j, sizeof(*all), by_value);
	v->nupstreams = j < COST_ADVICE_MAX ? j : COST_ADVICE_MAX;
	memcpy(v->upstreams, all, v->nupstreams * sizeof(*all));
out:
	free(all);
	free(req);
	free(ok);
	free(usd);
}

struct cost_view *cost__view(const struct cost *c, double now)
{
	struct cost_view *v = calloc(1, sizeof(*v));
	int64_t d = day_of(now);
	int i, n = 0;

	if (!v)
		return NULL;
	for (i = 0; i < COST_AGENTS_MAX; i++)
		n += c->agents[i].used && c->agents[i].day == d;
	v->agents = calloc(n + 1, sizeof(*v->agents));
	if (!v->agents) {
		free(v);
		return NULL;
	}
	v->time = now;
	v->day = d;
	v->warning_ratio = c->p.warning_ratio;
	v->emergency_ratio = c->p.emergency_ratio;
	for (i = 0; i < COST_AGENTS_MAX; i++)
		if (c->agents[i].used && c->agents[i].day == d)
			fill_agent(c, &c->agents[i], now, &v->agents[v->n++]);
	qsort(v->agents, v->n, sizeof(*v->agents), by_name);
	advise_agents(v);
	advise_upstreams(v);
	return v;
}

void cost__view_free(struct cost_view *v)
{
	if (!v)
		return;
	free(v->agents);
	free(v);
}
