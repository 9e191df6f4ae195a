// SPDX-License-Identifier: MIT
/* incident: one agent's anomalies and alerts as one incident; incidents linked by upstream. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "incident.h"

const char *const incident_kind_names[INCIDENT_KINDS] = {
	"other", "load", "latency", "failures", "throttled", "memory", "crash",
};

const char *const incident_state_names[INCIDENT_STATES] = {"open", "resolved"};

static const char *const source_names[] = {"anomaly", "alert"};

struct incident_tracker {
	struct incident_params p;
	uint64_t next_id;
	double resumed; /* when the state was restored: open incidents wait a window from it */
	uint32_t n;
	struct incident items[INCIDENT_KEEP];
};

void incident__params_default(struct incident_params *p)
{
	p->window_s = 60;
}

struct incident_tracker *incident__new(const struct incident_params *p)
{
	struct incident_tracker *x;

	if (!(p->window_s > 0)) {
		errno = EINVAL;
		return NULL;
	}
	x = calloc(1, sizeof(*x));
	if (!x) {
		errno = ENOMEM;
		return NULL;
	}
	x->p = *p;
	x->next_id = 1;
	return x;
}

void incident__free(struct incident_tracker *x)
{
	free(x);
}

static bool upstream_kind(enum incident_kind k)
{
	return k == INCIDENT_LATENCY || k == INCIDENT_FAILURES || k == INCIDENT_THROTTLED;
}

static struct incident *find_open(struct incident_tracker *x, const char *agent)
{
	uint32_t i;

	for (i = 0; i < x->n; i++)
		if (x->items[i].state == INCIDENT_OPEN && !strcmp(x->items[i].agent, agent))
			return &x->items[i];
	return NULL;
}

/* A free entry: a new one, else the resolved incident that ended first. NULL when all open. */
static struct incident *slot(struct incident_tracker *x)
{
	struct incident *old = NULL;
	uint32_t i;

	if (x->n < INCIDENT_KEEP)
		return &x->items[x->n++];
	for (i = 0; i < x->n; i++)
		if (x->items[i].state == INCIDENT_RESOLVED && (!old || x->items[i].end < old->end))
			old = &x->items[i];
	return old;
}

static struct incident *open_one(struct incident_tracker *x, const struct incident_obs *o,
				 double now)
{
	struct incident *in = slot(x);

	if (!in)
		return NULL;
	memset(in, 0, sizeof(*in));
	in->id = x->next_id++;
	snprintf(in->agent, sizeof(in->agent), "%s", o->agent);
	in->state = INCIDENT_OPEN;
	in->start = o->since;
	in->last_active = now;
	return in;
}

static struct incident_signal *find_signal(struct incident *in, const struct incident_obs *o)
{
	uint32_t i;

	for (i = 0; i < in->nsignals; i++)
		if (in->signals[i].source == o->source && !strcmp(in->signals[i].name, o->signal))
			return &in->signals[i];
	return NULL;
}

/* Counts a signal left out of the list once (FNV-1a of its source and name). */
static void overflow(struct incident *in, enum incident_source src, const char *name)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ src;
	uint32_t i;

	for (; *name; name++)
		h = (h ^ (unsigned char)*name) * 0x100000001b3ULL;
	for (i = 0; i < in->more && i < INCIDENT_SIGNALS_MAX; i++)
		if (in->over[i] == h)
			return;
	if (in->more < INCIDENT_SIGNALS_MAX)
		in->over[in->more] = h;
	in->more++;
}

/* Adds or refreshes o's signal in in, keeping departure order. */
static void note(struct incident *in, const struct incident_obs *o, double now)
{
	struct incident_signal *sg = find_signal(in, o);
	uint32_t at;

	in->last_active = now;
	if (sg) {
		sg->last = now;
		return;
	}
	/* after every signal that departed at or before it: equal times keep arrival order */
	for (at = 0; at < in->nsignals && in->signals[at].since <= o->since; at++)
		;
	if (at == INCIDENT_SIGNALS_MAX) {
		overflow(in, o->source, o->signal);
		return;
	}
	if (in->nsignals == INCIDENT_SIGNALS_MAX) /* the latest to depart gives its place */
		overflow(in, in->signals[in->nsignals - 1].source,
			 in->signals[in->nsignals - 1].name);
	else
		in->nsignals++;
	memmove(&in->signals[at + 1], &in->signals[at],
		(in->nsignals - 1 - at) * sizeof(in->signals[0]));
	sg = &in->signals[at];
	memset(sg, 0, sizeof(*sg));
	snprintf(sg->name, sizeof(sg->name), "%s", o->signal);
	sg->source = o->source;
	sg->kind = o->kind;
	sg->since = o->since;
	sg->last = now;
	sg->fell = o->fell;
	snprintf(sg->detail, sizeof(sg->detail), "%s", o->detail ? o->detail : "");
	if (o->since < in->start)
		in->start = o->since;
}

/* The latest departure among in's signals. */
static double last_departed(const struct incident *in)
{
	double t = in->start;
	uint32_t i;

	for (i = 0; i < in->nsignals; i++)
		if (in->signals[i].since > t)
			t = in->signals[i].since;
	return t;
}

static bool has_kind(const struct incident *in, enum incident_kind kind)
{
	uint32_t i;

	for (i = 0; i < in->nsignals; i++)
		if (in->signals[i].kind == kind)
			return true;
	return false;
}

/* agent's incident that ended last, or NULL. */
static struct incident *find_last_resolved(struct incident_tracker *x, const char *agent)
{
	struct incident *last = NULL;
	uint32_t i;

	for (i = 0; i < x->n; i++)
		if (x->items[i].state == INCIDENT_RESOLVED && !strcmp(x->items[i].agent, agent) &&
		    (!last || x->items[i].id > last->id))
			last = &x->items[i];
	return last;
}

static int by_agent(const void *pa, const void *pb)
{
	const struct incident_upstream *a = pa, *b = pb;
	int d = strcmp(a->agent, b->agent);

	if (d)
		return d;
	if (a->requests != b->requests)
		return a->requests < b->requests ? 1 : -1;
	return strcmp(a->upstream, b->upstream);
}

/*
 * A copy of ups without nameless entries, sorted by agent, most called first: an agent's
 * upstreams are then found by bisection. NULL (and *n = 0) when there are none or memory ran
 * out: incidents are then neither linked nor given an upstream this tick.
 */
static struct incident_upstream *sort_ups(const struct incident_upstream *ups, size_t *n)
{
	struct incident_upstream *su = *n ? malloc(*n * sizeof(*su)) : NULL;
	size_t i, k = 0;

	for (i = 0; su && i < *n; i++)
		if (ups[i].agent && ups[i].agent[0] && ups[i].upstream && ups[i].upstream[0])
			su[k++] = ups[i];
	if (su)
		qsort(su, k, sizeof(*su), by_agent);
	*n = su ? k : 0;
	return su;
}

/* The first of agent's entries in su (sorted by sort_ups()), and how many there are. */
static size_t agent_ups(const struct incident_upstream *su, size_t n, const char *agent,
			size_t *first)
{
	size_t lo = 0, hi = n, k;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(su[mid].agent, agent) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (k = lo; k < n && !strcmp(su[k].agent, agent); k++)
		;
	*first = lo;
	return k - lo;
}

/* The most called upstream of agent, or NULL. */
static const char *top_upstream(const struct incident_upstream *su, size_t n, const char *agent)
{
	size_t first;

	return agent_ups(su, n, agent, &first) ? su[first].upstream : NULL;
}

/* The earliest signal of an upstream kind, or NULL. */
static const struct incident_signal *upstream_signal(const struct incident *in)
{
	uint32_t i;

	for (i = 0; i < in->nsignals; i++)
		if (upstream_kind(in->signals[i].kind))
			return &in->signals[i];
	return NULL;
}

static const char *rose(enum incident_kind k)
{
	return k == INCIDENT_LATENCY ? "latency" : k == INCIDENT_FAILURES ? "failures" : "429s";
}

struct pair {
	uint32_t c; /* index of an incident among the candidates */
	const char *upstream; /* one its agent calls */
};

static int by_upstream(const void *pa, const void *pb)
{
	const struct pair *a = pa, *b = pb;
	int d = strcmp(a->upstream, b->upstream);

	return d ? d : (a->c > b->c) - (a->c < b->c);
}

/*
 * Links open incidents with an upstream signal whose agents call a common upstream (ups sorted
 * by sort_ups()): the
 * upstream shared by most of them first (on a tie, the first by name), then the next among
 * those left, while two share one. The (incident, upstream) pairs are sorted by upstream once,
 * so a round is one pass over them; each round takes two incidents at least.
 */
static void link_all(struct incident_tracker *x, const struct incident_upstream *ups, size_t nups)
{
	struct incident *cand[INCIDENT_KEEP];
	bool taken[INCIDENT_KEEP] = {false};
	uint32_t i, j, nc = 0;
	struct pair *pairs;
	size_t np = 0, a, b;

	for (i = 0; i < x->n; i++) {
		struct incident *in = &x->items[i];

		if (in->state != INCIDENT_OPEN)
			continue;
		in->link[0] = 0;
		in->nlinked = 0;
		if (upstream_signal(in))
			cand[nc++] = in;
	}
	if (nc < 2 || !nups)
		return;
	pairs = calloc(nups, sizeof(*pairs));
	if (!pairs)
		return; /* unlinked this tick; linked again at the next */
	for (i = 0; i < nc; i++) {
		size_t first, k = agent_ups(ups, nups, cand[i]->agent, &first);

		for (a = first; a < first + k; a++)
			pairs[np++] = (struct pair){i, ups[a].upstream};
	}
	qsort(pairs, np, sizeof(*pairs), by_upstream);
	for (;;) {
		size_t best = np, best_end = np;
		uint32_t nbest = 0, k;
		struct incident *first = NULL;

		for (a = 0; a < np; a = b) {
			for (k = 0, b = a; b < np && !strcmp(pairs[b].upstream, pairs[a].upstream);
			     b++)
				k += !taken[pairs[b].c] && (b == a || pairs[b].c != pairs[b - 1].c);
			if (k > nbest)
				best = a, best_end = b, nbest = k;
		}
		if (nbest < 2)
			break;
		for (a = best; a < best_end; a++)
			if (!taken[pairs[a].c] &&
			    (!first || cand[pairs[a].c]->start < first->start))
				first = cand[pairs[a].c];
		for (a = best; a < best_end; a++) {
			struct incident *in = cand[pairs[a].c];

			if (taken[pairs[a].c])
				continue;
			taken[pairs[a].c] = true;
			snprintf(in->upstream, sizeof(in->upstream), "%s", pairs[best].upstream);
			snprintf(in->link, sizeof(in->link), "%s %s rose for %u agents",
				 pairs[best].upstream, rose(upstream_signal(first)->kind), nbest);
			/* it names the others of its group, and they it */
			for (j = 0; j < nc; j++) {
				struct incident *o = cand[j];

				if (o == in || !o->link[0] || strcmp(o->upstream, in->upstream))
					continue;
				if (in->nlinked < INCIDENT_LINKED_MAX)
					in->linked[in->nlinked++] = o->id;
				if (o->nlinked < INCIDENT_LINKED_MAX)
					o->linked[o->nlinked++] = in->id;
			}
		}
	}
	free(pairs);
}

/* The likely cause: the earliest signal that did not fall, else the earliest. */
static const struct incident_signal *likely(const struct incident *in)
{
	uint32_t i;

	for (i = 0; i < in->nsignals; i++)
		if (!in->signals[i].fell)
			return &in->signals[i];
	return &in->signals[0];
}

/* Cause and recommendation from the signals' order, the upstream and the link. */
static void explain(struct incident *in, const struct incident_upstream *ups, size_t nups)
{
	const struct incident_signal *c = NULL, *r = NULL;
	char rec[INCIDENT_TEXT_MAX] = "";
	const char *up, *verb;
	uint32_t i;

	if (!in->nsignals)
		return;
	c = likely(in);
	verb = c->source == INCIDENT_ALERT ? "fired" : c->fell ? "fell" : "departed";
	if (c->detail[0])
		snprintf(in->cause, sizeof(in->cause), "%s %s first (%s)", c->name, verb,
			 c->detail);
	else
		snprintf(in->cause, sizeof(in->cause), "%s %s first", c->name, verb);
	if (!in->link[0]) {
		up = top_upstream(ups, nups, in->agent);
		if (up || !in->upstream[0])
			snprintf(in->upstream, sizeof(in->upstream), "%s", up ? up : "");
	}
	for (i = 0; i < in->nsignals && !r; i++)
		if (in->signals[i].kind != INCIDENT_OTHER && !in->signals[i].fell)
			r = &in->signals[i];
	/* agents that share an upstream went wrong together: that is the advice, whatever came
	 * first in this one */
	if (in->link[0]) {
		snprintf(rec, sizeof(rec), "check upstream %s: %s", in->upstream, in->link);
		r = NULL;
	}
	switch (r ? r->kind : INCIDENT_OTHER) {
	case INCIDENT_LOAD:
		snprintf(rec, sizeof(rec), "scale up: the agent needs more instances or CPU");
		break;
	case INCIDENT_LATENCY:
	case INCIDENT_FAILURES:
	case INCIDENT_THROTTLED:
		if (in->upstream[0])
			snprintf(rec, sizeof(rec), "check upstream %s: its %s rose", in->upstream,
				 rose(r->kind));
		else
			snprintf(rec, sizeof(rec), "check the agent's upstreams: %s rose",
				 rose(r->kind));
		break;
	case INCIDENT_MEMORY:
		snprintf(rec, sizeof(rec), "check the memory limit, and for a leak");
		break;
	case INCIDENT_CRASH:
		snprintf(rec, sizeof(rec), "crash loop: look at the exit codes");
		break;
	default:
		break;
	}
	memcpy(in->recommendation, rec, sizeof(rec));
}

static uint64_t digest(const struct incident *in)
{
	/* FNV-1a 64 over what a reader sees change: cause, recommendation, link, signals */
	const char *parts[] = {in->cause, in->recommendation, in->link, in->upstream};
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i, j;

	for (i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		for (j = 0; parts[i][j]; j++)
			h = (h ^ (unsigned char)parts[i][j]) * 0x100000001b3ULL;
	return (h ^ in->nsignals ^ (uint64_t)in->nlinked << 8) * 0x100000001b3ULL;
}

bool incident__update(struct incident_tracker *x, double now, const struct incident_obs *obs,
		      size_t nobs, const struct incident_upstream *ups, size_t nups)
{
	uint64_t before[INCIDENT_KEEP];
	struct incident *cur = NULL, *prev = NULL;
	struct incident_signal *sg;
	struct incident_upstream *su;
	uint32_t i, n0 = x->n;
	size_t k, nsu = nups;
	bool changed = false;

	for (i = 0; i < x->n; i++)
		before[i] = x->items[i].state == INCIDENT_OPEN ? digest(&x->items[i]) : 0;
	for (k = 0; k < nobs; k++) {
		const struct incident_obs *o = &obs[k];

		if (!o->agent || !o->agent[0] || !o->signal || !o->signal[0])
			continue;
		/* an agent's signals come together: its incidents are the last one's */
		if (!cur || strcmp(cur->agent, o->agent)) {
			cur = find_open(x, o->agent);
			prev = find_last_resolved(x, o->agent);
		}
		if (cur && find_signal(cur, o)) {
			note(cur, o, now);
			continue;
		}
		/* the same departure as one of the last incident's: it stays there */
		sg = prev ? find_signal(prev, o) : NULL;
		if (sg && o->since <= sg->since)
			continue;
		/* a new kind of departure after a window with none: a new incident; the open one
		 * ends */
		if (cur && o->since > last_departed(cur) + x->p.window_s &&
		    !has_kind(cur, o->kind)) {
			cur->state = INCIDENT_RESOLVED;
			cur->end = now;
			prev = cur;
			cur = NULL;
			changed = true;
		}
		if (!cur) {
			cur = open_one(x, o, now);
			if (!cur)
				continue; /* every kept incident is open: the next tick tries again */
			changed = true;
		}
		note(cur, o, now);
	}
	for (i = 0; i < x->n; i++) {
		struct incident *in = &x->items[i];

		if (in->state == INCIDENT_OPEN &&
		    now - fmax(in->last_active, x->resumed) >= x->p.window_s) {
			in->state = INCIDENT_RESOLVED;
			in->end = in->last_active;
			changed = true;
		}
	}
	su = sort_ups(ups, &nsu);
	link_all(x, su, nsu);
	for (i = 0; i < x->n; i++) {
		struct incident *in = &x->items[i];

		if (in->state != INCIDENT_OPEN)
			continue;
		explain(in, su, nsu);
		if (i >= n0 || digest(in) != before[i])
			changed = true;
	}
	free(su);
	return changed;
}

static int order(const void *pa, const void *pb)
{
	const struct incident *a = pa, *b = pb;

	if (a->state != b->state)
		return a->state == INCIDENT_OPEN ? -1 : 1;
	if (a->start != b->start)
		return a->start > b->start ? -1 : 1;
	return a->id > b->id ? -1 : a->id < b->id;
}

struct incident_view *incident__view(const struct incident_tracker *x, double now)
{
	struct incident_view *v = calloc(1, sizeof(*v) + (x->n + 1) * sizeof(struct incident));
	uint32_t i;

	if (!v)
		return NULL;
	v->time = now;
	v->items = (struct incident *)(v + 1);
	v->n = x->n;
	memcpy(v->items, x->items, x->n * sizeof(struct incident));
	qsort(v->items, v->n, sizeof(struct incident), order);
	for (i = 0; i < v->n; i++)
		v->count[v->items[i].state]++;
	return v;
}

void incident__view_free(struct incident_view *v)
{
	free(v);
}

const struct incident *incident__view_open(const struct incident_view *v, const char *agent)
{
	uint32_t i;

	for (i = 0; v && i < v->n && v->items[i].state == INCIDENT_OPEN; i++)
		if (!strcmp(v->items[i].agent, agent))
			return &v->items[i];
	return NULL;
}

const struct incident *incident__view_get(const struct incident_view *v, uint64_t id)
{
	uint32_t i;

	for (i = 0; v && i < v->n; i++)
		if (v->items[i].id == id)
			return &v->items[i];
	return NULL;
}

void incident__alert_cause(void *ctx, const char *rule, const char *agent, char *cause, size_t cap)
{
	const struct incident *in = incident__view_open(ctx, agent);
	const struct incident_signal *first;
	char text[INCIDENT_TEXT_MAX * 2 + 8];

	if (!in || !in->nsignals || !cap)
		return;
	first = likely(in);
	if (first->source == INCIDENT_ALERT && !strcmp(first->name, rule) && cause[0])
		snprintf(text, sizeof(text), "%s", cause); /* its own: the rule knows best why */
	else
		snprintf(text, sizeof(text), "%s", in->cause);
	if (in->recommendation[0] && strlen(text) + 2 + strlen(in->recommendation) < cap)
		snprintf(text + strlen(text), sizeof(text) - strlen(text), "; %s",
			 in->recommendation);
	snprintf(cause, cap, "%s", text);
}

/* ---- state ---- */

static json_t *signal_json(const struct incident_signal *s)
{
	return json_pack("{s:s, s:s, s:s, s:f, s:f, s:s, s:b}", "name", s->name, "source",
			 source_names[s->source], "kind", incident_kind_names[s->kind], "since",
			 s->since, "last", s->last, "detail", s->detail, "fell", s->fell);
}

static json_t *incident_json(const struct incident *in)
{
	json_t *o, *sigs = json_array(), *linked = json_array(), *over = json_array();
	uint32_t i;

	if (!sigs || !linked || !over)
		goto fail;
	for (i = 0; i < in->nsignals; i++)
		if (json_array_append_new(sigs, signal_json(&in->signals[i])))
			goto fail;
	for (i = 0; i < in->nlinked; i++)
		if (json_array_append_new(linked, json_integer((json_int_t)in->linked[i])))
			goto fail;
	for (i = 0; i < in->more && i < INCIDENT_SIGNALS_MAX; i++)
		if (json_array_append_new(over, json_integer((json_int_t)in->over[i])))
			goto fail;
	o = json_pack("{s:I, s:s, s:s, s:f, s:f, s:f, s:i, s:o, s:o, s:s, s:s, s:s, s:s, s:o}",
		      "id", (json_int_t)in->id, "agent", in->agent, "state",
		      incident_state_names[in->state], "start", in->start, "end", in->end,
		      "last_active", in->last_active, "more", (int)in->more, "over", over,
		      "signals", sigs, "cause", in->cause, "recommendation", in->recommendation,
		      "upstream", in->upstream, "link", in->link, "linked", linked);
	return o;
fail:
	json_decref(sigs);
	json_decref(linked);
	json_decref(over);
	return NULL;
}

char *incident__save(const struct incident_tracker *x, size_t *len)
{
	json_t *root, *arr = json_array();
	char *text = NULL;
	uint32_t i;

	if (!arr)
		return NULL;
	for (i = 0; i < x->n; i++)
		if (json_array_append_new(arr, incident_json(&x->items[i]))) {
			json_decref(arr);
			return NULL;
		}
	root = json_pack("{s:i, s:I, s:o}", "version", 1, "next_id", (json_int_t)x->next_id,
			 "incidents", arr);
	if (root)
		text = json_dumps(root, JSON_COMPACT | JSON_REAL_PRECISION(17));
	json_decref(root);
	if (text && len)
		*len = strlen(text);
	return text;
}

/* Index of s in names (n entries), or -1. */
static int name_index(const char *s, const char *const *names, int n)
{
	int i;

	for (i = 0; s && i < n; i++)
		if (!strcmp(s, names[i]))
			return i;
	return -1;
}

static int copy_text(char *dst, size_t cap, json_t *v)
{
	const char *s = json_string_value(v);

	if (!s || strlen(s) >= cap)
		return -EINVAL;
	memcpy(dst, s, strlen(s) + 1);
	return 0;
}

static int signal_from(json_t *o, struct incident_signal *s)
{
	int src = name_index(json_string_value(json_object_get(o, "source")), source_names, 2);
	int kind = name_index(json_string_value(json_object_get(o, "kind")), incident_kind_names,
			      INCIDENT_KINDS);

	if (src < 0 || kind < 0 ||
	    copy_text(s->name, sizeof(s->name), json_object_get(o, "name")) ||
	    copy_text(s->detail, sizeof(s->detail), json_object_get(o, "detail")) ||
	    !json_is_number(json_object_get(o, "since")) ||
	    !json_is_number(json_object_get(o, "last")))
		return -EINVAL;
	s->source = src;
	s->kind = kind;
	s->since = json_number_value(json_object_get(o, "since"));
	s->last = json_number_value(json_object_get(o, "last"));
	s->fell = json_is_true(json_object_get(o, "fell"));
	return 0;
}

static int incident_from(json_t *o, struct incident *in)
{
	json_t *sigs = json_object_get(o, "signals"), *linked = json_object_get(o, "linked"), *over;
	int st = name_index(json_string_value(json_object_get(o, "state")), incident_state_names,
			    INCIDENT_STATES);
	json_t *id = json_object_get(o, "id");
	size_t i;

	if (st < 0 || !json_is_integer(id) || json_integer_value(id) <= 0 || !json_is_array(sigs) ||
	    json_array_size(sigs) > INCIDENT_SIGNALS_MAX || !json_is_array(linked) ||
	    json_array_size(linked) > INCIDENT_LINKED_MAX ||
	    copy_text(in->agent, sizeof(in->agent), json_object_get(o, "agent")) ||
	    copy_text(in->cause, sizeof(in->cause), json_object_get(o, "cause")) ||
	    copy_text(in->recommendation, sizeof(in->recommendation),
		      json_object_get(o, "recommendation")) ||
	    copy_text(in->upstream, sizeof(in->upstream), json_object_get(o, "upstream")) ||
	    copy_text(in->link, sizeof(in->link), json_object_get(o, "link")) ||
	    !json_is_number(json_object_get(o, "start")) ||
	    !json_is_number(json_object_get(o, "end")) ||
	    !json_is_number(json_object_get(o, "last_active")))
		return -EINVAL;
	in->id = (uint64_t)json_integer_value(id);
	in->state = st;
	in->start = json_number_value(json_object_get(o, "start"));
	in->end = json_number_value(json_object_get(o, "end"));
	in->last_active = json_number_value(json_object_get(o, "last_active"));
	in->more = (uint32_t)json_integer_value(json_object_get(o, "more"));
	over = json_object_get(o, "over");
	if (!json_is_array(over) || json_array_size(over) > INCIDENT_SIGNALS_MAX)
		return -EINVAL;
	for (i = 0; i < json_array_size(over); i++)
		in->over[i] = (uint64_t)json_integer_value(json_array_get(over, i));
	for (i = 0; i < json_array_size(sigs); i++)
		if (signal_from(json_array_get(sigs, i), &in->signals[in->nsignals++]))
			return -EINVAL;
	for (i = 0; i < json_array_size(linked); i++) {
		json_t *l = json_array_get(linked, i);

		if (!json_is_integer(l))
			return -EINVAL;
		in->linked[in->nlinked++] = (uint64_t)json_integer_value(l);
	}
	return 0;
}

int incident__restore(struct incident_tracker *x, const char *buf, size_t len, double now)
{
	json_t *root = json_loadb(buf, len, 0, NULL), *arr = json_object_get(root, "incidents");
	json_t *next = json_object_get(root, "next_id");
	struct incident_tracker *t = NULL;
	int err = -EINVAL;
	size_t i;

	if (!json_is_integer(json_object_get(root, "version")) ||
	    json_integer_value(json_object_get(root, "version")) != 1 || !json_is_integer(next) ||
	    json_integer_value(next) <= 0 || !json_is_array(arr) ||
	    json_array_size(arr) > INCIDENT_KEEP)
		goto out;
	t = calloc(1, sizeof(*t));
	if (!t) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < json_array_size(arr); i++) {
		struct incident *in = &t->items[t->n++];

		if (incident_from(json_array_get(arr, i), in) ||
		    in->id >= (uint64_t)json_integer_value(next))
			goto out;
	}
	t->p = x->p;
	t->next_id = (uint64_t)json_integer_value(next);
	t->resumed = now;
	memcpy(x, t, sizeof(*x));
	err = 0;
out:
	free(t);
	json_decref(root);
	return err;
}

const char *incident__agent_of(const void *view, uint64_t id)
{
	const struct incident *in = view ? incident__view_get(view, id) : NULL;

	return in ? in->agent : NULL;
}
