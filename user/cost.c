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
#define AMOUNT_MAX 1e15 /* USD; a saved amount above is not a saved state */

const char *const cost_kind_names[COST_KINDS] = {"cpu",	     "network_sent", "network_received",
						 "requests", "app",	     "llm"};
const char *const cost_llm_names[4] = {"auto", "wire", "app", "both"};

/* One upstream of one agent: the last cumulative counts and today's. */
struct up {
	char name[COST_NAME_LEN];
	uint64_t last_requests, last_successes; /* cumulative, at the last tick */
	uint64_t requests, successes; /* today */
	double usd; /* today */
	double price; /* USD per request, from the agent's model when the upstream was added */
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
	double app_llm_usd; /* cumulative app-reported LLM cost at the last tick (the same) */
	double llm_usd; /* cumulative LLM spend on the wire at the last tick (the same) */
	bool llm_app; /* the agent reported its LLM cost: COST_LLM_AUTO counts that, not the wire */
	struct up ups[COST_AGENT_UPSTREAMS];
	int nups;
	bool warned, emergency;
	double started; /* first tick accounted today, unix seconds */
	double minute_start; /* start of the open minute */
	double minute_usd; /* spend in the open minute */
	int minutes; /* closed minutes today */
	double mu, var; /* weighted mean and variance of the per-minute spend */
	struct cost_day past[COST_PAST_DAYS]; /* previous days with spend, latest first */
	int npast;
};

#define INDEX_SIZE 4096 /* a power of two, more than twice COST_AGENTS_MAX */

struct cost {
	struct cost_params p;
	int index[INDEX_SIZE]; /* open addressing by name: slot + 1, 0 for empty */
	int save_next; /* the slot cost__save() looks at first */
	cost_restore_fn restore;
	void *restore_ctx;
	struct agent *agents; /* cap slots, grown up to COST_AGENTS_MAX */
	int cap;
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
	c->cap = 16;
	c->agents = calloc(c->cap, sizeof(*c->agents));
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

_Static_assert(INDEX_SIZE >= 2 * COST_AGENTS_MAX && !(INDEX_SIZE & (INDEX_SIZE - 1)),
	       "the index has room and masks by its size");

/* FNV-1a 32 of the name, the index's hash. */
static uint32_t hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static struct agent *find(struct cost *c, const char *name)
{
	uint32_t i;

	for (i = hash(name) & (INDEX_SIZE - 1); c->index[i]; i = (i + 1) & (INDEX_SIZE - 1))
		if (!strcmp(c->agents[c->index[i] - 1].name, name))
			return &c->agents[c->index[i] - 1];
	return NULL;
}

static void index_add(struct cost *c, int slot)
{
	uint32_t i;

	for (i = hash(c->agents[slot].name) & (INDEX_SIZE - 1); c->index[i];
	     i = (i + 1) & (INDEX_SIZE - 1))
		;
	c->index[i] = slot + 1;
}

/* After an agent left its slot: the index again, from the slots in use. */
static void index_rebuild(struct cost *c)
{
	int i;

	memset(c->index, 0, sizeof(c->index));
	for (i = 0; i < c->cap; i++)
		if (c->agents[i].used)
			index_add(c, i);
}

/*
 * A free slot (the table doubles when full, up to COST_AGENTS_MAX), else the agent seen longest
 * ago (its state was saved, or is lost). NULL when memory runs out.
 */
static struct agent *slot_for(struct cost *c, const char *name)
{
	struct agent *a = NULL;
	bool evict = false;
	int i;

	for (i = 0; i < c->cap && !a; i++)
		if (!c->agents[i].used)
			a = &c->agents[i];
	if (!a && c->cap < COST_AGENTS_MAX) {
		int cap = c->cap * 2 < COST_AGENTS_MAX ? c->cap * 2 : COST_AGENTS_MAX;
		struct agent *t = realloc(c->agents, cap * sizeof(*t));

		if (!t)
			return NULL;
		memset(t + c->cap, 0, (cap - c->cap) * sizeof(*t));
		a = &t[c->cap];
		c->agents = t;
		c->cap = cap;
	}
	if (!a) {
		for (i = 0, a = &c->agents[0]; i < c->cap; i++)
			if (c->agents[i].seen < a->seen)
				a = &c->agents[i];
		evict = true;
	}
	memset(a, 0, sizeof(*a));
	a->used = true;
	snprintf(a->name, sizeof(a->name), "%s", name);
	a->m = cost__model(&c->p, name);
	if (evict)
		index_rebuild(c);
	else
		index_add(c, (int)(a - c->agents));
	return a;
}

/* Starts day d for a: today's spend, counts, flags and forecast back to zero. */
static double spent(const struct agent *a);

static void new_day(struct agent *a, int64_t d, double now)
{
	double usd = spent(a);
	int i;

	if (usd > 0) { /* the day that ends goes to the past days */
		memmove(&a->past[1], &a->past[0], (COST_PAST_DAYS - 1) * sizeof(a->past[0]));
		a->past[0] = (struct cost_day){a->day, usd};
		if (a->npast < COST_PAST_DAYS)
			a->npast++;
	}
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
static double request_price(const struct cost_model *m, const char *upstream);

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
	a->ups[a->nups].price = request_price(a->m, name);
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

/* Adds usd of kind k; nothing that is not a positive finite amount (a bad app report). */
static void add(struct agent *a, enum cost_kind k, double usd)
{
	if (!(usd > 0) || !isfinite(usd))
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

/*
 * The LLM spend of the tick from the source the model says (cost.h). Both cumulative figures
 * live in this process's memory and count from zero, like app costs.
 */
static void llm(struct agent *a, const struct cost_input *in)
{
	const struct cost_model *m = a->m;
	double app = 0, wire = 0;
	bool reported;

	if (isfinite(in->app_llm_usd) && m->app_costs)
		app = increase_f(in->app_llm_usd, a->app_llm_usd);
	if (isfinite(in->llm_usd))
		wire = increase_f(in->llm_usd, a->llm_usd);
	reported = isfinite(in->app_llm_usd) && in->app_llm_usd > 0 && m->app_costs;
	if (reported && !a->llm_app) {
		a->llm_app = true;
		a->changed = true;
	}
	switch (m->llm) {
	case COST_LLM_WIRE:
		add(a, COST_LLM, wire);
		break;
	case COST_LLM_APP:
		add(a, COST_LLM, app);
		break;
	case COST_LLM_BOTH:
		add(a, COST_LLM, app);
		add(a, COST_LLM, wire);
		break;
	case COST_LLM_AUTO:
		add(a, COST_LLM, a->llm_app ? app : wire);
		break;
	}
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
	if (m->app_costs && isfinite(in->app_usd))
		add(a, COST_APP, increase_f(in->app_usd, a->app_usd));
	llm(a, in);
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
		usd = dr * u->price;
		u->requests += dr;
		u->successes += ds;
		u->usd += usd;
		add(a, COST_REQUESTS, usd);
		a->changed = true;
	}
	a->cpu_ns = in->cpu_ns;
	a->sent = in->sent_bytes;
	a->received = in->received_bytes;
	if (isfinite(in->app_usd))
		a->app_usd = in->app_usd;
	if (isfinite(in->app_llm_usd))
		a->app_llm_usd = in->app_llm_usd;
	if (isfinite(in->llm_usd))
		a->llm_usd = in->llm_usd;
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
		if (a->day < d) /* a clock stepped back keeps the day it left */
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
	json_t *o, *ups = json_array(), *past = json_array();
	char *text = NULL;
	int i;

	for (i = 0; past && i < a->npast; i++)
		json_array_append_new(past, json_pack("[I, f]", (json_int_t)a->past[i].day,
						      a->past[i].usd));
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
		      "s:f, s:o, s:o, s:b}",
		      "version", STATE_VERSION, "day", (json_int_t)a->day, "today",
		      kinds_json(a->today), "total", kinds_json(a->total), "based", a->based,
		      "cpu_ns", (json_int_t)a->cpu_ns, "sent", (json_int_t)a->sent, "received",
		      (json_int_t)a->received, "warned", a->warned, "emergency", a->emergency,
		      "started", a->started, "minute_start", a->minute_start, "minute_usd",
		      a->minute_usd, "minutes", a->minutes, "mu", a->mu, "var", a->var, "upstreams",
		      ups, "past", past, "llm_app", a->llm_app);
	if (o)
		text = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(17));
	json_decref(o);
	if (text)
		*len = strlen(text);
	return text;
}

int cost__save(struct cost *c, bool all, int limit, cost_save_fn fn, void *ctx)
{
	int i, k, err, saved = 0;

	for (k = 0; k < c->cap && (limit <= 0 || saved < limit); k++) {
		struct agent *a = &c->agents[(c->save_next + k) % c->cap];
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
		saved++;
	}
	i = (c->save_next + k) % c->cap;
	c->save_next = i;
	return 0;
}

static bool get_kinds(json_t *o, double *out)
{
	int k;

	if (!json_is_object(o))
		return false;
	for (k = 0; k < COST_KINDS; k++) {
		json_t *v = json_object_get(o, cost_kind_names[k]);

		if (!v && k == COST_LLM) {
			out[k] = 0; /* a state saved before the kind existed */
			continue;
		}
		if (!json_is_number(v) || !(json_number_value(v) >= 0) ||
		    !(json_number_value(v) < AMOUNT_MAX))
			return false;
		out[k] = json_number_value(v);
	}
	return true;
}

int cost__restore(struct cost *c, const char *agent, const char *text, size_t len)
{
	json_t *o = json_loadb(text, len, 0, NULL), *ups, *past, *e;
	int version = 0, based = 0, warned = 0, emergency = 0, minutes = 0;
	json_int_t day = 0, cpu = 0, sent = 0, recv = 0;
	struct agent t, *a;
	size_t i;
	int err = -EINVAL;

	memset(&t, 0, sizeof(t));
	t.m = cost__model(&c->p, agent);
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
	    minutes < 0 || !(t.var >= 0 && t.var < AMOUNT_MAX) ||
	    !(t.mu >= 0 && t.mu < AMOUNT_MAX) ||
	    !(t.minute_usd >= 0 && t.minute_usd < AMOUNT_MAX) || !isfinite(t.started) ||
	    !isfinite(t.minute_start))
		goto out;
	json_array_foreach (ups, i, e) {
		struct up *u = &t.ups[i];
		json_int_t lr, ls, r, s;
		const char *name;

		if (json_unpack(e, "{s:s, s:I, s:I, s:I, s:I, s:F}", "upstream", &name,
				"last_requests", &lr, "last_successes", &ls, "requests", &r,
				"successes", &s, "usd", &u->usd) ||
		    lr < 0 || ls < 0 || r < 0 || s < 0 || strlen(name) >= sizeof(u->name) ||
		    !(u->usd >= 0 && u->usd < AMOUNT_MAX))
			goto out;
		snprintf(u->name, sizeof(u->name), "%s", name);
		u->price = request_price(t.m, name); /* today's configuration, not the saved one */
		u->last_requests = lr;
		u->last_successes = ls;
		u->requests = r;
		u->successes = s;
	}
	t.nups = (int)json_array_size(ups);
	past = json_object_get(o, "past");
	if (past && (!json_is_array(past) || json_array_size(past) > COST_PAST_DAYS))
		goto out;
	json_array_foreach (past, i, e) {
		json_int_t pd;

		if (json_unpack(e, "[I, F]", &pd, &t.past[i].usd) ||
		    !(t.past[i].usd >= 0 && t.past[i].usd < AMOUNT_MAX))
			goto out;
		t.past[i].day = pd;
	}
	t.npast = past ? (int)json_array_size(past) : 0;
	e = json_object_get(o, "llm_app");
	if (e && !json_is_boolean(e))
		goto out;
	t.llm_app = e && json_is_true(e);
	a = find(c, agent);
	if (!a)
		a = slot_for(c, agent);
	if (!a) {
		err = -ENOMEM;
		goto out;
	}
	t.used = true;
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
		       struct cost_agent_view *v, struct cost_upstream_view *ups)
{
	double t = now - (double)a->day * DAY_S, per_minute, elapsed = now - a->started;
	int k, i;

	memcpy(v->agent, a->name, sizeof(v->agent));
	v->day = a->day;
	memcpy(v->today, a->today, sizeof(v->today));
	memcpy(v->total, a->total, sizeof(v->total));
	v->spent = 0;
	for (k = 0; k < COST_KINDS; k++)
		v->spent += a->today[k];
	v->budget = a->m->daily_budget_usd;
	v->usage = v->spent / v->budget;
	cost__forecast(v->spent, t, a->mu, a->var, a->minutes, elapsed, c->p.z, &v->forecast,
		       &v->lower, &v->upper, &per_minute);
	v->rate_usd_per_hour = per_minute * 60;
	v->exhaust_time = 0;
	if (v->spent >= v->budget)
		v->exhaust_time = now;
	else if (per_minute > 0 && t + (v->budget - v->spent) / per_minute * MINUTE_S < DAY_S)
		v->exhaust_time = now + (v->budget - v->spent) / per_minute * MINUTE_S;
	v->upstreams = ups;
	v->nupstreams = 0;
	v->requests = v->successes = 0;
	for (i = 0; i < a->nups; i++) {
		const struct up *u = &a->ups[i];
		struct cost_upstream_view *x = &ups[v->nupstreams];

		if (!u->requests && !u->successes)
			continue;
		memcpy(x->upstream, u->name, sizeof(x->upstream));
		x->requests = u->requests;
		x->successes = u->successes;
		x->usd = u->usd;
		v->nupstreams++;
		v->requests += u->requests;
		v->successes += u->successes;
	}
	v->per_success = v->successes ? v->spent / v->successes : NAN;
	v->warned = a->warned;
	v->emergency = a->emergency;
	memcpy(v->past, a->past, sizeof(v->past));
	v->npast = a->npast;
}

struct ranked {
	double value;
	int i;
};

static int by_rank(const void *x, const void *y)
{
	double a = ((const struct ranked *)x)->value, b = ((const struct ranked *)y)->value;

	return a < b ? 1 : a > b ? -1 : 0;
}

/* Agents to scale down first: the highest forecast share of their budget, some spend today. */
static void advise_agents(struct cost_view *v)
{
	struct ranked *r = calloc(v->n + 1, sizeof(*r));
	int i, n = 0;

	if (!r)
		return;
	for (i = 0; i < v->n; i++)
		if (v->agents[i].spent > 0)
			r[n++] = (struct ranked){v->agents[i].forecast / v->agents[i].budget, i};
	qsort(r, n, sizeof(*r), by_rank);
	v->nscale_down = n < COST_ADVICE_MAX ? n : COST_ADVICE_MAX;
	for (i = 0; i < v->nscale_down; i++) {
		const struct cost_agent_view *a = &v->agents[r[i].i];
		struct cost_advice *d = &v->scale_down[i];

		d->value = r[i].value;
		snprintf(d->agent, sizeof(d->agent), "%s", a->agent);
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
	}
	free(r);
}

/* Upstreams by request spend per successful request today, over every agent. */
static void advise_upstreams(struct cost_view *v, int cap)
{
	struct upsum {
		const char *name;
		uint64_t req, ok;
		double usd;
	} *u = calloc(cap + 1, sizeof(*u));
	struct ranked *r = calloc(cap + 1, sizeof(*r));
	int i, j, k, n = 0, nr = 0;

	if (!u || !r)
		goto out;
	for (i = 0; i < v->n; i++)
		for (j = 0; j < v->agents[i].nupstreams; j++) {
			const struct cost_upstream_view *x = &v->agents[i].upstreams[j];

			for (k = 0; k < n && strcmp(u[k].name, x->upstream); k++)
				;
			if (k == n)
				u[n++].name = x->upstream;
			u[k].req += x->requests;
			u[k].ok += x->successes;
			u[k].usd += x->usd;
		}
	for (k = 0; k < n; k++)
		if (u[k].usd > 0)
			r[nr++] = (struct ranked){u[k].ok ? u[k].usd / u[k].ok : INFINITY, k};
	qsort(r, nr, sizeof(*r), by_rank);
	v->nupstreams = nr < COST_ADVICE_MAX ? nr : COST_ADVICE_MAX;
	for (i = 0; i < v->nupstreams; i++) {
		struct cost_advice *d = &v->upstreams[i];
		const struct upsum *x = &u[r[i].i];

		d->value = r[i].value;
		snprintf(d->upstream, sizeof(d->upstream), "%s", x->name);
		snprintf(d->reason, sizeof(d->reason),
			 "%.4g USD for %llu requests today, %llu of them successful", x->usd,
			 (unsigned long long)x->req, (unsigned long long)x->ok);
	}
out:
	free(u);
	free(r);
}

/*
 * Whether the agent is published: some price applies to it, or it has cost something (an app
 * reported a cost). Agents that cost nothing under a model without prices would only add series
 * of zeros.
 */
static bool shown(const struct agent *a, int64_t day)
{
	const struct cost_model *m = a->m;
	int k;

	if (!a->used || a->day < day) /* a later day: the clock stepped back */
		return false;
	if (m->cpu_second_usd > 0 || m->gb_sent_usd > 0 || m->gb_received_usd > 0)
		return true;
	for (k = 0; k < m->nprices; k++)
		if (m->prices[k].request_usd > 0)
			return true;
	for (k = 0; k < COST_KINDS; k++)
		if (a->total[k] > 0)
			return true;
	return false;
}

struct cost_view *cost__view(const struct cost *c, double now)
{
	struct cost_view *v = calloc(1, sizeof(*v));
	struct cost_upstream_view *pool;
	int64_t d = day_of(now);
	int i, j, n = 0, nups = 0;

	if (!v)
		return NULL;
	for (i = 0; i < c->cap; i++) {
		const struct agent *a = &c->agents[i];

		if (!shown(a, d))
			continue;
		n++;
		for (j = 0; j < a->nups; j++)
			nups += a->ups[j].requests || a->ups[j].successes;
	}
	v->agents = malloc((n + 1) * sizeof(*v->agents));
	v->upstream_views = pool = malloc((nups + 1) * sizeof(*pool));
	if (!v->agents || !pool) {
		cost__view_free(v);
		return NULL;
	}
	v->time = now;
	v->day = d;
	v->warning_ratio = c->p.warning_ratio;
	v->emergency_ratio = c->p.emergency_ratio;
	for (i = 0; i < c->cap; i++)
		if (shown(&c->agents[i], d)) {
			fill_agent(c, &c->agents[i], now, &v->agents[v->n], pool);
			pool += v->agents[v->n++].nupstreams;
		}
	qsort(v->agents, v->n, sizeof(*v->agents), by_name);
	advise_agents(v);
	advise_upstreams(v, nups);
	return v;
}

void cost__view_free(struct cost_view *v)
{
	if (!v)
		return;
	free(v->agents);
	free(v->upstream_views);
	free(v);
}
