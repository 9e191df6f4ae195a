// SPDX-License-Identifier: MIT
/* App metrics: one tick's StatsD lines gathered per series, folded into cumulative series. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apps.h"
#include "catalog.h"

#define PREFIX "swarmwatch_agent_app_"
#define SET_SLOTS 65536 /* distinct set members one batch counts (all series together) */

/* 2^-16 .. 2^31, exact. */
const double apps_le[APPS_NLE] = {0x1p-16, 0x1p-15, 0x1p-14, 0x1p-13, 0x1p-12, 0x1p-11, 0x1p-10,
				  0x1p-9,  0x1p-8,  0x1p-7,  0x1p-6,  0x1p-5,  0x1p-4,	0x1p-3,
				  0x1p-2,  0x1p-1,  0x1p0,   0x1p1,   0x1p2,   0x1p3,	0x1p4,
				  0x1p5,   0x1p6,   0x1p7,   0x1p8,   0x1p9,   0x1p10,	0x1p11,
				  0x1p12,  0x1p13,  0x1p14,  0x1p15,  0x1p16,  0x1p17,	0x1p18,
				  0x1p19,  0x1p20,  0x1p21,  0x1p22,  0x1p23,  0x1p24,	0x1p25,
				  0x1p26,  0x1p27,  0x1p28,  0x1p29,  0x1p30,  0x1p31};

const char *apps__drop_name(int reason)
{
	static const char *const names[APPS_DROP_MAX] = {
		[APPS_DROP_SERIES_LIMIT] = "series_limit",
		[APPS_DROP_LABEL_LIMIT] = "label_limit",
		[APPS_DROP_TYPE_CONFLICT] = "type_conflict",
		[APPS_DROP_FAMILIES_FULL] = "families_full",
		[APPS_DROP_BATCH_FULL] = "batch_full",
		[APPS_DROP_OVERSIZED] = "oversized",
	};

	return reason >= 0 && reason < APPS_DROP_MAX ? names[reason] : "unknown";
}

const char *apps__by_name(int by)
{
	static const char *const names[APPS_BY_MAX] = {
		[APPS_BY_KERNEL] = "kernel",
		[APPS_BY_PROC] = "proc",
		[APPS_BY_CREDENTIALS] = "credentials",
		[APPS_BY_NONE] = "none",
	};

	return by >= 0 && by < APPS_BY_MAX ? names[by] : "unknown";
}

void apps__params_default(struct apps_params *p)
{
	memset(p, 0, sizeof(*p));
	p->max_series = 64;
	p->max_values = 16;
	p->retention_s = 600;
}

/* What a series accumulates: a counter's increments, a gauge, a histogram, a set's members. */
struct acc {
	enum catalog_type type;
	bool set; /* a StatsD set: a gauge of the members counted this tick */
	bool has_value; /* gauge: set to value (then moved by delta) in this batch */
	double value; /* counter: increments; gauge: the value set */
	double delta; /* gauge: deltas after the last value set */
	__u64 buckets[APPS_NB];
	double sum;
	__u64 count;
	__u64 lines; /* lines folded in */
};

/* A series' identity: the sender's slot (or the trusted agent), family and label values. */
struct key {
	__u32 slot;
	char agent[SW_NAME_LEN]; /* a trusted agent tag; "" when none */
	char family[APPS_FAMILY_LEN];
	char values[APPS_TAGS_MAX][APPS_VALUE_LEN];
};

struct bentry {
	struct key k;
	__u64 hash;
	struct acc a;
};

struct apps_batch {
	struct bentry *e;
	int n, cap;
	int *index; /* open addressing over e, 2 * APPS_BATCH_MAX slots, -1 free */
	__u64 *members; /* set members: hash of (series, value); 0 free */
	__u64 unattributed;
	__u64 full; /* lines dropped: batch full */
};

#define INDEX_SLOTS (2 * APPS_BATCH_MAX)

static __u64 hash_bytes(__u64 h, const void *p, size_t n)
{
	const unsigned char *s = p;
	size_t i;

	/* FNV-1a, 64 bits (Fowler, Noll, Vo). */
	for (i = 0; i < n; i++) {
		h ^= s[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static __u64 hash_key(const struct key *k)
{
	__u64 h = 0xcbf29ce484222325ULL;
	int i;

	h = hash_bytes(h, &k->slot, sizeof(k->slot));
	h = hash_bytes(h, k->agent, strlen(k->agent) + 1);
	h = hash_bytes(h, k->family, strlen(k->family) + 1);
	for (i = 0; i < APPS_TAGS_MAX; i++)
		h = hash_bytes(h, k->values[i], strlen(k->values[i]) + 1);
	return h;
}

static bool key_eq(const struct key *a, const struct key *b)
{
	int i;

	if (a->slot != b->slot || strcmp(a->agent, b->agent) || strcmp(a->family, b->family))
		return false;
	for (i = 0; i < APPS_TAGS_MAX; i++)
		if (strcmp(a->values[i], b->values[i]))
			return false;
	return true;
}

struct apps_batch *apps__batch_new(void)
{
	struct apps_batch *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->index = malloc(INDEX_SLOTS * sizeof(*b->index));
	b->members = calloc(SET_SLOTS, sizeof(*b->members));
	if (!b->index || !b->members) {
		apps__batch_free(b);
		return NULL;
	}
	memset(b->index, -1, INDEX_SLOTS * sizeof(*b->index));
	return b;
}

void apps__batch_free(struct apps_batch *b)
{
	if (!b)
		return;
	free(b->e);
	free(b->index);
	free(b->members);
	free(b);
}

void apps__batch_reset(struct apps_batch *b)
{
	int i;

	for (i = 0; i < b->n; i++) {
		if (b->e[i].a.set) {
			memset(b->members, 0, SET_SLOTS * sizeof(*b->members));
			break;
		}
	}
	memset(b->index, -1, INDEX_SLOTS * sizeof(*b->index));
	b->n = 0;
	b->unattributed = 0;
	b->full = 0;
}

__u64 apps__batch_unattributed(const struct apps_batch *b)
{
	return b->unattributed;
}

static bool ends_with(const char *s, size_t n, const char *suffix)
{
	size_t k = strlen(suffix);

	return n >= k && !memcmp(s + n - k, suffix, k);
}

/* The family name and type of line m: see apps.h. */
static void family_of(const struct statsd_metric *m, char *out, enum catalog_type *type)
{
	char name[STATSD_NAME_MAX + 1];
	size_t n = statsd__sanitize(m->name, m->nlen, name, sizeof(name));
	const char *suffix = "";

	switch (m->type) {
	case STATSD_COUNTER:
		*type = CATALOG_COUNTER;
		suffix = ends_with(name, n, "_total") ? "" : "_total";
		break;
	case STATSD_GAUGE:
	case STATSD_SET:
		*type = CATALOG_GAUGE;
		break;
	case STATSD_TIMER:
		*type = CATALOG_HISTOGRAM;
		if (ends_with(name, n, "_ms"))
			name[n -= 3] = 0;
		suffix = ends_with(name, n, "_seconds") ? "" : "_seconds";
		break;
	case STATSD_HISTOGRAM:
	case STATSD_DISTRIBUTION:
		*type = CATALOG_HISTOGRAM;
		break;
	}
	snprintf(out, APPS_FAMILY_LEN, PREFIX "%s%s", name, suffix);
}

/* Index of the bucket of v: the first le >= v, APPS_NLE for +Inf. */
static int bucket_of(double v)
{
	int e;

	if (v <= apps_le[0])
		return 0;
	if (v > apps_le[APPS_NLE - 1])
		return APPS_NLE;
	frexp(v, &e); /* v = f * 2^e, f in [0.5, 1): 2^(e-1) <= v < 2^e */
	if (ldexp(1, e - 1) == v)
		e--;
	return e - APPS_LE_LO;
}

static struct bentry *batch_entry(struct apps_batch *b, const struct key *k, enum catalog_type t,
				  bool set)
{
	__u64 h = hash_key(k);
	size_t i = h % INDEX_SLOTS;
	struct bentry *e;

	for (; b->index[i] >= 0; i = (i + 1) % INDEX_SLOTS) {
		e = &b->e[b->index[i]];
		if (e->hash == h && key_eq(&e->k, k))
			return e;
	}
	if (b->n == APPS_BATCH_MAX)
		return NULL;
	if (b->n == b->cap) {
		int cap = b->cap ? 2 * b->cap : 64;
		struct bentry *ne = realloc(b->e, cap * sizeof(*ne));

		if (!ne)
			return NULL;
		b->e = ne;
		b->cap = cap;
	}
	e = &b->e[b->n];
	memset(e, 0, sizeof(*e));
	e->k = *k;
	e->hash = h;
	e->a.type = t;
	e->a.set = set;
	b->index[i] = b->n++;
	return e;
}

/* Whether member (raw) of series h is new in this batch; a full table counts it as new. */
static bool member_new(struct apps_batch *b, __u64 h, const char *raw, size_t n)
{
	__u64 m = hash_bytes(h, raw, n) | 1;
	size_t i = m % SET_SLOTS, probes;

	for (probes = 0; probes < 64; probes++, i = (i + 1) % SET_SLOTS) {
		if (b->members[i] == m)
			return false;
		if (!b->members[i]) {
			b->members[i] = m;
			return true;
		}
	}
	return true;
}

int apps__batch_add(struct apps_batch *b, const struct apps_params *p, __u32 slot,
		    const struct statsd_metric *m)
{
	enum catalog_type type = CATALOG_GAUGE;
	struct bentry *e;
	struct key k;
	int i, j;

	memset(&k, 0, sizeof(k));
	k.slot = slot;
	family_of(m, k.family, &type);
	for (i = 0; i < m->ntags; i++) {
		const struct statsd_tag *t = &m->tags[i];

		if (p->trust_agent_tag && t->klen == 5 && !memcmp(t->key, "agent", 5) && t->vlen) {
			statsd__label_value(t->value, t->vlen, k.agent, sizeof(k.agent));
			continue;
		}
		for (j = 0; j < p->ntags; j++)
			if (strlen(p->tags[j]) == t->klen && !memcmp(p->tags[j], t->key, t->klen))
				statsd__label_value(t->value, t->vlen, k.values[j], APPS_VALUE_LEN);
	}
	if (k.agent[0])
		k.slot =
			SW_SLOT_NONE; /* named by a trusted tag: the sender's slot is not part of it */
	e = batch_entry(b, &k, type, m->type == STATSD_SET);
	if (!e) {
		b->full++;
		return -ENOSPC;
	}
	if (slot == SW_SLOT_NONE && !k.agent[0])
		b->unattributed++;
	e->a.lines++;
	switch (m->type) {
	case STATSD_COUNTER:
		e->a.value += m->value / m->rate;
		break;
	case STATSD_GAUGE:
		if (m->delta) {
			e->a.delta += m->value;
		} else {
			e->a.has_value = true;
			e->a.value = m->value;
			e->a.delta = 0;
		}
		break;
	case STATSD_SET:
		if (member_new(b, e->hash, m->raw, m->rawlen))
			e->a.value += 1;
		break;
	case STATSD_TIMER:
	case STATSD_HISTOGRAM:
	case STATSD_DISTRIBUTION: {
		double v = m->type == STATSD_TIMER ? m->value / 1000 : m->value;
		__u64 w = (__u64)llround(1 / m->rate);

		if (!w)
			w = 1;
		e->a.buckets[bucket_of(v)] += w;
		e->a.count += w;
		e->a.sum += v * w;
		break;
	}
	}
	return 0;
}

/* --- cumulative series --- */

struct series {
	int family; /* app family index */
	char agent[SW_NAME_LEN];
	char values[APPS_TAGS_MAX][APPS_VALUE_LEN];
	struct acc a;
	double seen; /* time its agent was last exported (or its line last came, without one) */
};

#define FAMILY_SLOTS (2 * CATALOG_APP_FAMILIES_MAX)

struct apps {
	struct apps_params p;
	const char *labels[1 + APPS_TAGS_MAX]; /* "agent", then the tags */
	struct series *s;
	int n, cap;
	int *index; /* open addressing over s, 2 * cap slots, -1 free */
	int families[FAMILY_SLOTS]; /* open addressing: app family index + 1 by name, 0 free */
	__u64 drops[APPS_DROP_MAX];
	__u64 unattributed;
};

static __u64 series_hash(int family, const char *agent, char values[][APPS_VALUE_LEN], int ntags)
{
	__u64 h = hash_bytes(0xcbf29ce484222325ULL, &family, sizeof(family));
	int i;

	h = hash_bytes(h, agent, strlen(agent) + 1);
	for (i = 0; i < ntags; i++)
		h = hash_bytes(h, values[i], strlen(values[i]) + 1);
	return h;
}

static void index_add(struct apps *a, int i)
{
	struct series *s = &a->s[i];
	size_t slots = 2 * a->cap,
	       k = series_hash(s->family, s->agent, s->values, a->p.ntags) % slots;

	while (a->index[k] >= 0)
		k = (k + 1) % slots;
	a->index[k] = i;
}

/* Rebuilds the series index (after series went, or the array grew). */
static void reindex(struct apps *a)
{
	int i;

	memset(a->index, -1, 2 * a->cap * sizeof(*a->index));
	for (i = 0; i < a->n; i++)
		index_add(a, i);
}

/* The app family of name and type, registered on first use; index, or -errno (catalog.h). */
static int family_index(struct apps *a, const char *name, enum catalog_type type)
{
	size_t k = hash_bytes(0xcbf29ce484222325ULL, name, strlen(name)) % FAMILY_SLOTS;
	const struct catalog_family *f;
	int i;

	for (; a->families[k]; k = (k + 1) % FAMILY_SLOTS) {
		f = catalog__app(a->families[k] - 1);
		if (!strcmp(f->name, name))
			return f->type == type ? a->families[k] - 1 : -EEXIST;
	}
	i = catalog__app_family(name, type, a->labels, 1 + a->p.ntags);
	if (i >= 0)
		a->families[k] = i + 1;
	return i;
}

/* App families that alert and scaling rules name by default. */
static const struct {
	const char *name;
	enum catalog_type type;
} known[] = {
	{PREFIX "quality", CATALOG_GAUGE},
	{PREFIX "queue_length", CATALOG_GAUGE},
	{PREFIX "queue_wait_seconds", CATALOG_HISTOGRAM},
	{PREFIX "cost_usd_total", CATALOG_COUNTER},
};

struct apps *apps__new(const struct apps_params *p)
{
	struct apps *a;
	int i;

	if (!p->max_series || !p->max_values || p->ntags < 0 || p->ntags > APPS_TAGS_MAX) {
		errno = EINVAL;
		return NULL;
	}
	a = calloc(1, sizeof(*a));
	if (!a) {
		errno = ENOMEM;
		return NULL;
	}
	a->p = *p;
	a->labels[0] = "agent";
	for (i = 0; i < p->ntags; i++)
		a->labels[1 + i] = p->tags[i];
	/* The names default rules look for exist from the start, so rules over them load. */
	for (i = 0; i < (int)(sizeof(known) / sizeof(known[0])); i++)
		catalog__app_family(known[i].name, known[i].type, a->labels, 1 + p->ntags);
	return a;
}

void apps__free(struct apps *a)
{
	if (!a)
		return;
	free(a->s);
	free(a->index);
	free(a);
}

const __u64 *apps__drops(const struct apps *a)
{
	return a->drops;
}

__u64 apps__unattributed(const struct apps *a)
{
	return a->unattributed;
}

static const char *agent_of(const struct apps_agent *agents, int n, __u32 slot)
{
	int i;

	if (slot == SW_SLOT_NONE)
		return NULL;
	for (i = 0; i < n; i++)
		if (agents[i].slot == slot)
			return agents[i].name;
	return NULL;
}

static bool exported(const struct apps_agent *agents, int n, const char *name)
{
	int i;

	for (i = 0; i < n; i++)
		if (!strcmp(agents[i].name, name))
			return true;
	return false;
}

static struct series *find(struct apps *a, int family, const char *agent,
			   char values[][APPS_VALUE_LEN])
{
	size_t k, slots = 2 * a->cap;
	int j;

	if (!a->n)
		return NULL;
	k = series_hash(family, agent, values, a->p.ntags) % slots;
	for (; a->index[k] >= 0; k = (k + 1) % slots) {
		struct series *s = &a->s[a->index[k]];

		if (s->family != family || strcmp(s->agent, agent))
			continue;
		for (j = 0; j < a->p.ntags; j++)
			if (strcmp(s->values[j], values[j]))
				break;
		if (j == a->p.ntags)
			return s;
	}
	return NULL;
}

/* Whether a new series of (agent, family) with values stays within the bounds; counts a drop. */
static bool within_bounds(struct apps *a, int family, const char *agent,
			  char values[][APPS_VALUE_LEN])
{
	__u32 mine = 0, distinct[APPS_TAGS_MAX] = {0};
	bool seen[APPS_TAGS_MAX] = {false};
	int i, j;

	for (i = 0; i < a->n; i++) {
		const struct series *s = &a->s[i];

		if (strcmp(s->agent, agent))
			continue;
		mine++;
		if (s->family != family)
			continue;
		for (j = 0; j < a->p.ntags; j++) {
			bool same = !strcmp(s->values[j], values[j]);
			int k;

			if (same) {
				seen[j] = true;
				continue;
			}
			/* Counted once per distinct value: look for it among the earlier ones. */
			for (k = 0; k < i; k++)
				if (a->s[k].family == family && !strcmp(a->s[k].agent, agent) &&
				    !strcmp(a->s[k].values[j], s->values[j]))
					break;
			if (k == i)
				distinct[j]++;
		}
	}
	if (mine >= a->p.max_series || a->n >= APPS_SERIES_MAX) {
		a->drops[APPS_DROP_SERIES_LIMIT]++;
		return false;
	}
	for (j = 0; j < a->p.ntags; j++) {
		if (!seen[j] && distinct[j] >= a->p.max_values) {
			a->drops[APPS_DROP_LABEL_LIMIT]++;
			return false;
		}
	}
	return true;
}

static struct series *add_series(struct apps *a, int family, const char *agent,
				 char values[][APPS_VALUE_LEN], const struct acc *proto)
{
	struct series *s;

	if (!within_bounds(a, family, agent, values))
		return NULL;
	if (a->n == a->cap) {
		int cap = a->cap ? 2 * a->cap : 64;
		int *index = malloc(2 * cap * sizeof(*index));

		s = index ? realloc(a->s, cap * sizeof(*s)) : NULL;
		if (!s) {
			free(index);
			return NULL;
		}
		free(a->index);
		a->s = s;
		a->index = index;
		a->cap = cap;
		reindex(a);
	}
	s = &a->s[a->n++];
	memset(s, 0, sizeof(*s));
	s->family = family;
	snprintf(s->agent, sizeof(s->agent), "%s", agent);
	memcpy(s->values, values, sizeof(s->values));
	s->a.type = proto->type;
	s->a.set = proto->set;
	index_add(a, a->n - 1);
	return s;
}

static void fold(struct acc *dst, const struct acc *src)
{
	int i;

	switch (dst->type) {
	case CATALOG_COUNTER:
		dst->value += src->value;
		break;
	case CATALOG_GAUGE:
		if (dst->set)
			dst->value = src->value;
		else
			dst->value = (src->has_value ? src->value : dst->value) + src->delta;
		break;
	case CATALOG_HISTOGRAM:
		for (i = 0; i < APPS_NB; i++)
			dst->buckets[i] += src->buckets[i];
		dst->sum += src->sum;
		dst->count += src->count;
		break;
	}
}

static void merge_entry(struct apps *a, const struct bentry *e, const struct apps_agent *agents,
			int n, double now)
{
	const char *agent = e->k.agent[0] ? e->k.agent : agent_of(agents, n, e->k.slot);
	char values[APPS_TAGS_MAX][APPS_VALUE_LEN];
	struct series *s;
	int family;

	if (!agent) {
		if (e->k.slot != SW_SLOT_NONE) /* a slot the tick does not export */
			a->unattributed += e->a.lines;
		agent = "";
	}
	family = family_index(a, e->k.family, e->a.type);
	if (family < 0) {
		a->drops[family == -EEXIST ? APPS_DROP_TYPE_CONFLICT : APPS_DROP_FAMILIES_FULL]++;
		return;
	}
	memcpy(values, e->k.values, sizeof(values));
	s = find(a, family, agent, values);
	if (!s)
		s = add_series(a, family, agent, values, &e->a);
	if (!s)
		return;
	fold(&s->a, &e->a);
	s->seen = now;
}

void apps__merge(struct apps *a, const struct apps_batch *b, const struct apps_agent *agents, int n,
		 double now)
{
	int i, j;

	for (i = 0; i < a->n; i++) {
		struct series *s = &a->s[i];

		if (s->a.set)
			s->a.value = 0;
		if (s->agent[0] && exported(agents, n, s->agent))
			s->seen = now;
	}
	if (b) {
		a->unattributed += b->unattributed;
		a->drops[APPS_DROP_BATCH_FULL] += b->full;
		for (i = 0; i < b->n; i++)
			merge_entry(a, &b->e[i], agents, n, now);
	}
	for (i = j = 0; i < a->n; i++)
		if (now - a->s[i].seen <= a->p.retention_s)
			a->s[j++] = a->s[i];
	if (j < a->n) {
		a->n = j;
		reindex(a);
	}
}

static int by_family(const void *x, const void *y)
{
	const struct app_sample *a = x, *b = y;
	int i, c;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	for (i = 0; i < 1 + APPS_TAGS_MAX; i++) {
		c = strcmp(a->values[i], b->values[i]);
		if (c)
			return c;
	}
	return 0;
}

struct app_view *apps__view(const struct apps *a)
{
	size_t strings = (size_t)a->n * (SW_NAME_LEN + a->p.ntags * APPS_VALUE_LEN);
	struct app_view *v = calloc(1, sizeof(*v) + strings);
	char *str;
	int i, j;

	if (!v)
		return NULL;
	v->samples = calloc(a->n ? a->n : 1, sizeof(*v->samples));
	if (!v->samples) {
		free(v);
		return NULL;
	}
	str = v->strings;
	for (i = 0; i < a->n; i++) {
		const struct series *s = &a->s[i];
		struct app_sample *x = &v->samples[i];

		x->family = s->family;
		x->fam = catalog__app(s->family);
		x->values[0] = strcpy(str, s->agent);
		str += SW_NAME_LEN;
		for (j = 0; j < APPS_TAGS_MAX; j++) {
			if (j >= a->p.ntags) {
				x->values[1 + j] = "";
				continue;
			}
			x->values[1 + j] = strcpy(str, s->values[j]);
			str += APPS_VALUE_LEN;
		}
		x->value = s->a.value;
		memcpy(x->buckets, s->a.buckets, sizeof(x->buckets));
		x->sum = s->a.sum;
		x->count = s->a.count;
	}
	v->n = a->n;
	if (v->n)
		qsort(v->samples, v->n, sizeof(*v->samples), by_family);
	memcpy(v->dropped, a->drops, sizeof(v->dropped));
	v->unattributed = a->unattributed;
	return v;
}

void apps__view_free(struct app_view *v)
{
	if (!v)
		return;
	free(v->samples);
	free(v);
}
