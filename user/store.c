// SPDX-License-Identifier: MIT
/*
 * The series store: compressed blocks in memory, SQLite (WAL) on disk, rollups, retention.
 *
 * Locks: `lock` (rwlock) guards the series and their blocks; the appending thread holds it for
 * writing from store__begin() to store__end(), queries and the writer's collection hold it for
 * reading. `wmu` guards the writer's requests and the pending state blobs; `rmu` the read
 * connection. Counters are atomics. Order when nested: lock, then wmu or rmu.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "gorilla.h"
#include "log.h"
#include "store.h"

#define SCHEMA_VERSION 2
#define DB_NAME "swarmwatch.db"
#define MAX_LABELS 16
#define STATE_MAX (16u << 20)
#define SWEEP_MS 10000 /* how often (store time) memory is swept for blocks to let go */
#define UNSAVED_FACTOR 4 /* unsaved raw blocks are kept this many mem_ms before being dropped */

const char *const store_tier_names[STORE_TIERS] = {"raw", "1m", "1h"};
const char *const store_op_names[STORE_OPS] = {"open", "write", "purge", "read"};
const char *const store_drop_names[STORE_DROPS] = {"size", "unsaved", "order"};
const int64_t store_tier_period_ms[STORE_TIERS] = {0, 60000, 3600000};

/*
 * One block in memory: the open one of a tier (with its encoder), or a closed one not yet let
 * go (its bytes only). Read n, len, data and t_last through blk_*(): while the block is open
 * they live in the encoder.
 */
struct mblock {
	struct mblock *next; /* newer */
	struct gorilla_enc *enc; /* NULL once closed */
	uint8_t *data; /* closed: the block */
	size_t len; /* closed: its bytes */
	uint32_t n; /* closed: its samples */
	uint32_t saved_n; /* samples in the copy on disk */
	bool saved_closed; /* that copy is in `blocks`, not `open_blocks` */
	int64_t span; /* start of the aligned span the block covers */
	int64_t t_first; /* first sample, valid once it has one */
	int64_t t_last; /* closed: last sample */
	bool closed;
};

struct tier {
	struct mblock *head; /* oldest */
	struct mblock *tail; /* newest, open unless closed */
	struct gorilla_enc *enc; /* the open block's encoder (tail->enc), NULL when none */
	int64_t span; /* its span */
};

/* A block's figures, open (read from its encoder) or closed. */
static uint32_t blk_n(const struct mblock *b)
{
	return b->enc ? b->enc->n : b->n;
}

static size_t blk_len(const struct mblock *b)
{
	return b->enc ? gorilla__bytes(b->enc) : b->len;
}

static const uint8_t *blk_data(const struct mblock *b)
{
	return b->enc ? b->enc->buf : b->data;
}

static int64_t blk_t_last(const struct mblock *b)
{
	return b->enc ? b->enc->t : b->t_last;
}

/* The rollup of the period in progress, for one tier. */
struct acc {
	int64_t period; /* start, INT64_MIN when empty */
	double min, max, sum, last;
	uint64_t count;
};

struct series {
	char *key, *family, *agent;
	uint32_t id;
	int64_t db_id; /* row id in the database, 0 until saved */
	bool meta_dirty; /* the series row needs writing */
	bool has_last;
	uint8_t type; /* enum store_type */
	uint8_t nb;
	uint8_t ncols; /* words per raw row */
	int64_t t_last; /* newest sample */
	int64_t dt_last; /* interval before it, 0 when unknown */
	uint64_t *row; /* newest row: ncols words */
	struct tier tier[STORE_TIERS];
	struct acc acc[STORE_TIERS - 1]; /* 1m, 1h */
};

struct pending_state {
	struct pending_state *next;
	char *agent, *name;
	void *data;
	size_t len;
	int64_t t;
};

struct store {
	struct store_params p;
	char *dir;
	char *db_path;
	pthread_rwlock_t lock;
	struct series **series;
	uint32_t nseries, cap;
	uint32_t *hash; /* id + 1, 0 when empty */
	uint32_t hcap; /* power of two */
	int64_t now;
	int64_t last_sweep;

	uint64_t errors[STORE_OPS];
	uint64_t dropped[STORE_DROPS];
	uint64_t samples, flushes, blocks_written, bytes_written, db_bytes;
	bool db_ok;

	pthread_t thread;
	bool started;
	pthread_mutex_t wmu;
	pthread_cond_t wake, done;
	bool stop;
	uint64_t req_gen, done_gen;
	bool purge_req;
	int result;
	struct pending_state *states;
	sqlite3 *db; /* the writer's connection */
	bool failing[STORE_OPS];
	char why[128]; /* what failed, when strerror() would not say it */
	struct timespec last_purge;

	pthread_mutex_t rmu;
	sqlite3 *rdb; /* queries and state reads */
	int lock_fd; /* the state directory's lock, -1 until taken */
};

/* Floor division, for aligning negative times too. */
static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int64_t align(int64_t t, int64_t span)
{
	return floor_div(t, span) * span;
}

static void count(uint64_t *c, uint64_t n)
{
	__atomic_add_fetch(c, n, __ATOMIC_RELAXED);
}

/* ---- keys and the series table ---- */

static uint64_t hash_str(const char *s)
{
	uint64_t h = 14695981039346656037ull;

	while (*s) {
		h ^= (unsigned char)*s++;
		h *= 1099511628211ull;
	}
	return h;
}

static bool name_ok(const char *s)
{
	if (!s || !*s)
		return false;
	for (; *s; s++)
		if (!(*s == '_' || *s == ':' || (*s >= 'a' && *s <= 'z') ||
		      (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')))
			return false;
	return true;
}

int store__key(char *buf, size_t len, const char *family, const char *const *names,
	       const char *const *values, unsigned int n)
{
	unsigned int order[MAX_LABELS], i, j;
	size_t pos = 0;

	if (!name_ok(family) || n > MAX_LABELS || (n && (!names || !values)))
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if (!name_ok(names[i]) || !values[i])
			return -EINVAL;
		for (j = i; j > 0 && strcmp(names[order[j - 1]], names[i]) > 0; j--)
			order[j] = order[j - 1];
		order[j] = i;
	}
	for (i = 1; i < n; i++)
		if (!strcmp(names[order[i - 1]], names[order[i]]))
			return -EINVAL;
#define PUTC(c)                         \
	do {                            \
		if (pos + 1 >= len)     \
			return -ENOSPC; \
		buf[pos++] = (c);       \
	} while (0)
	for (const char *p = family; *p; p++)
		PUTC(*p);
	for (i = 0; i < n; i++) {
		PUTC(i ? ',' : '{');
		for (const char *p = names[order[i]]; *p; p++)
			PUTC(*p);
		PUTC('=');
		PUTC('"');
		for (const char *p = values[order[i]]; *p; p++) {
			if (*p == '\\' || *p == '"') {
				PUTC('\\');
				PUTC(*p);
			} else if (*p == '\n') {
				PUTC('\\');
				PUTC('n');
			} else {
				PUTC(*p);
			}
		}
		PUTC('"');
	}
	if (n)
		PUTC('}');
#undef PUTC
	if (!len)
		return -ENOSPC;
	buf[pos] = 0;
	return (int)pos;
}

static int lookup(const struct store *s, const char *key)
{
	uint32_t mask = s->hcap - 1, i;

	if (!s->hcap)
		return -ENOENT;
	for (i = hash_str(key) & mask; s->hash[i]; i = (i + 1) & mask)
		if (!strcmp(s->series[s->hash[i] - 1]->key, key))
			return (int)s->hash[i] - 1;
	return -ENOENT;
}

static void hash_put(struct store *s, uint32_t id)
{
	uint32_t mask = s->hcap - 1, i;

	for (i = hash_str(s->series[id]->key) & mask; s->hash[i]; i = (i + 1) & mask)
		;
	s->hash[i] = id + 1;
}

static int grow_tables(struct store *s)
{
	uint32_t i;

	if (s->nseries == s->cap) {
		uint32_t cap = s->cap ? s->cap * 2 : 64;
		struct series **p = realloc(s->series, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		s->series = p;
		s->cap = cap;
	}
	if ((s->nseries + 1) * 2 > s->hcap) {
		uint32_t hcap = s->hcap ? s->hcap * 2 : 128, *h = calloc(hcap, sizeof(*h));

		if (!h)
			return -ENOMEM;
		free(s->hash);
		s->hash = h;
		s->hcap = hcap;
		for (i = 0; i < s->nseries; i++)
			hash_put(s, i);
	}
	return 0;
}

static int ncols_of(uint8_t type, unsigned int nb)
{
	return type == STORE_HISTOGRAM ? (int)nb + 2 : 1;
}

/* A copy of the value of label "agent" in a canonical key, or "". */
static char *agent_of(const char *key)
{
	const char *p = strstr(key, "{agent=\"");
	char *out, *o;

	if (!p)
		p = strstr(key, ",agent=\"");
	if (!p)
		return strdup("");
	p += 8;
	out = o = malloc(strlen(p) + 1);
	if (!out)
		return NULL;
	for (; *p && *p != '"'; p++) {
		if (*p == '\\' && p[1]) {
			p++;
			*o++ = *p == 'n' ? '\n' : *p;
		} else {
			*o++ = *p;
		}
	}
	*o = 0;
	return out;
}

static void free_series(struct series *se)
{
	int t;

	if (!se)
		return;
	for (t = 0; t < STORE_TIERS; t++) {
		struct mblock *b = se->tier[t].head, *next;

		for (; b; b = next) {
			next = b->next;
			gorilla__enc_free(b->enc);
			if (b->closed)
				free(b->data);
			free(b);
		}
	}
	free(se->key);
	free(se->family);
	free(se->agent);
	free(se->row);
	free(se);
}

/* Adds a series with the next id; the caller holds the write lock. */
static struct series *add_series(struct store *s, const char *key, uint8_t type, unsigned int nb)
{
	struct series *se;
	const char *brace;
	int t;

	if (grow_tables(s))
		return NULL;
	se = calloc(1, sizeof(*se));
	if (!se)
		return NULL;
	brace = strchr(key, '{');
	se->key = strdup(key);
	se->family = brace ? strndup(key, brace - key) : strdup(key);
	se->agent = agent_of(key);
	se->type = type;
	se->nb = nb;
	se->ncols = ncols_of(type, nb);
	se->row = calloc(se->ncols, sizeof(uint64_t));
	se->t_last = INT64_MIN;
	se->meta_dirty = true;
	for (t = 0; t < STORE_TIERS - 1; t++)
		se->acc[t].period = INT64_MIN;
	if (!se->key || !se->family || !se->agent || !se->row) {
		free_series(se);
		return NULL;
	}
	se->id = s->nseries;
	s->series[s->nseries++] = se;
	hash_put(s, se->id);
	return se;
}

/* ---- appending ---- */

static enum gorilla_kind tier_kind(const struct series *se, int tier)
{
	if (se->type == STORE_HISTOGRAM)
		return GORILLA_HIST;
	return tier == STORE_RAW ? GORILLA_VALUE : GORILLA_ROLLUP;
}

static void close_block(struct tier *tr, struct mblock *b)
{
	b->closed = true;
	b->n = b->enc->n;
	b->t_last = b->enc->t;
	b->data = gorilla__enc_finish(b->enc, &b->len);
	b->enc = NULL;
	if (tr->enc && tr->tail == b)
		tr->enc = NULL;
}

static int tier_append(struct store *s, struct series *se, int tier, int64_t t,
		       const uint64_t *cols)
{
	struct tier *tr = &se->tier[tier];
	struct mblock *b = tr->tail;
	int64_t span;
	int r;

	/* The common case, a sample inside the open block's span: no division, no block. */
	if (tr->enc && tr->enc->n && t >= tr->span && t - tr->span < s->p.block_ms[tier]) {
		r = gorilla__append(tr->enc, t, cols);
		if (r != -ENOSPC)
			return r;
	}
	span = align(t, s->p.block_ms[tier]);
	if (b && !b->closed && blk_n(b) && (b->span != span || b->enc->n >= GORILLA_MAX_SAMPLES))
		close_block(tr, b);
	else if (b && !b->closed && !blk_n(b))
		b->span = span; /* left empty by a failed append */
	if (!b || b->closed) {
		size_t hint = b ? blk_len(b) + 16 : 64;

		b = calloc(1, sizeof(*b));
		if (!b)
			return -ENOMEM;
		b->enc = gorilla__enc_new(tier_kind(se, tier),
					  se->type == STORE_HISTOGRAM ? se->nb : 0, hint);
		if (!b->enc) {
			free(b);
			return -ENOMEM;
		}
		b->span = span;
		if (tr->tail)
			tr->tail->next = b;
		else
			tr->head = b;
		tr->tail = b;
	}
	r = gorilla__append(b->enc, t, cols);
	if (r)
		return r;
	if (b->enc->n == 1)
		b->t_first = t;
	tr->enc = b->enc;
	tr->span = b->span;
	return 0;
}

static void acc_add(struct acc *a, double v)
{
	if (!a->count) {
		a->min = a->max = a->sum = v;
	} else {
		if (v < a->min || (isnan(a->min) && !isnan(v)))
			a->min = v;
		if (v > a->max || (isnan(a->max) && !isnan(v)))
			a->max = v;
		a->sum += v;
	}
	a->last = v;
	a->count++;
}

static void acc_row(const struct acc *a, uint64_t *cols)
{
	cols[GORILLA_R_MIN] = gorilla__f2u(a->min);
	cols[GORILLA_R_MAX] = gorilla__f2u(a->max);
	cols[GORILLA_R_SUM] = gorilla__f2u(a->sum);
	cols[GORILLA_R_COUNT] = a->count;
	cols[GORILLA_R_LAST] = gorilla__f2u(a->last);
}

/*
 * Feeds the sample to the 1m and 1h rollups; a period that ends is appended to its tier. A
 * histogram's rollup is its last row of the period, still in se->row when the next one comes.
 */
static int rollup(struct store *s, struct series *se, int64_t t, const uint64_t *cols)
{
	uint64_t r[GORILLA_R_COLS];
	int k, err = 0, e;

	for (k = 0; k < STORE_TIERS - 1; k++) {
		int tier = STORE_1M + k;
		struct acc *a = &se->acc[k];
		int64_t period = a->period != INT64_MIN && t >= a->period &&
						 t - a->period < store_tier_period_ms[tier]
					 ? a->period
					 : align(t, store_tier_period_ms[tier]);

		if (a->period != INT64_MIN && a->period != period) {
			if (se->type == STORE_HISTOGRAM) {
				e = tier_append(s, se, tier, a->period, se->row);
			} else {
				acc_row(a, r);
				e = tier_append(s, se, tier, a->period, r);
			}
			if (e)
				err = e;
		}
		if (a->period != period) {
			a->period = period;
			a->count = 0;
		}
		if (se->type == STORE_HISTOGRAM)
			a->count++;
		else
			acc_add(a, gorilla__u2f(cols[0]));
	}
	return err;
}

static int append_row(struct store *s, uint32_t id, int64_t t, const uint64_t *cols, bool hist)
{
	struct series *se;
	int err;

	if (id >= s->nseries)
		return -ENOENT;
	se = s->series[id];
	if ((se->type == STORE_HISTOGRAM) != hist)
		return -EINVAL;
	if (se->has_last && se->dt_last > 0 && s->p.jitter_ms &&
	    llabs(t - (se->t_last + se->dt_last)) <= (int64_t)s->p.jitter_ms)
		t = se->t_last + se->dt_last; /* on the schedule: delta-of-delta 0 */
	if (se->t_last != INT64_MIN && t <= se->t_last) {
		count(&s->dropped[STORE_DROP_ORDER], 1);
		return -ERANGE;
	}
	err = tier_append(s, se, STORE_RAW, t, cols);
	if (err)
		return err;
	err = rollup(s, se, t, cols);
	se->dt_last = se->has_last ? t - se->t_last : 0;
	se->t_last = t;
	se->has_last = true;
	memcpy(se->row, cols, se->ncols * sizeof(uint64_t));
	if (t > s->now)
		__atomic_store_n(&s->now, t, __ATOMIC_RELAXED); /* state_put reads it unlocked */
	/* One writer: a plain increment, published for store__stats() without a locked add. */
	__atomic_store_n(&s->samples, s->samples + 1, __ATOMIC_RELAXED);
	return err;
}

int store__append(struct store *s, uint32_t id, int64_t t, double v)
{
	uint64_t u = gorilla__f2u(v);

	return append_row(s, id, t, &u, false);
}

int store__append_hist(struct store *s, uint32_t id, int64_t t, const uint64_t *buckets,
		       unsigned int nb, double sum, uint64_t cnt)
{
	uint64_t row[GORILLA_MAX_COLS];

	if (id >= s->nseries)
		return -ENOENT;
	if (s->series[id]->type != STORE_HISTOGRAM || nb != s->series[id]->nb)
		return -EINVAL;
	memcpy(row, buckets, nb * sizeof(uint64_t));
	row[nb] = gorilla__f2u(sum);
	row[nb + 1] = cnt;
	return append_row(s, id, t, row, true);
}

int store__series(struct store *s, const char *family, const char *const *names,
		  const char *const *values, unsigned int n, enum store_type type, unsigned int nb)
{
	char key[1024];
	struct series *se;
	int id, t;

	if (type > STORE_HISTOGRAM || (type == STORE_HISTOGRAM) != (nb > 0) ||
	    nb > GORILLA_MAX_BUCKETS)
		return -EINVAL;
	id = store__key(key, sizeof(key), family, names, values, n);
	if (id < 0)
		return id == -ENOSPC ? -EINVAL : id;
	id = lookup(s, key);
	if (id >= 0) {
		se = s->series[id];
		if (se->type == type && se->nb == nb)
			return id;
		for (t = 0; t < STORE_TIERS; t++)
			if (se->tier[t].head)
				return -EEXIST;
		/* Known from an earlier run only: take the new type; its old blocks still read. */
		uint64_t *row = calloc(ncols_of(type, nb), sizeof(uint64_t));

		if (!row)
			return -ENOMEM;
		free(se->row);
		se->row = row;
		se->type = type;
		se->nb = nb;
		se->ncols = ncols_of(type, nb);
		se->has_last = false;
		se->meta_dirty = true;
		return id;
	}
	se = add_series(s, key, type, nb);
	return se ? (int)se->id : -ENOMEM;
}

int store__find(struct store *s, const char *key)
{
	int id;

	pthread_rwlock_rdlock(&s->lock);
	id = lookup(s, key);
	pthread_rwlock_unlock(&s->lock);
	return id;
}

/* Lets go of blocks memory no longer needs; the caller holds the write lock. */
static void sweep(struct store *s)
{
	uint32_t i;
	int t;

	for (i = 0; i < s->nseries; i++) {
		for (t = 0; t < STORE_TIERS; t++) {
			struct tier *tr = &s->series[i]->tier[t];
			struct mblock *b;

			while ((b = tr->head) && b->closed) {
				bool saved = !s->p.dir ||
					     (b->saved_n >= blk_n(b) && b->saved_closed);
				/* Without a database, memory is all there is: every tier keeps mem_ms. */
				int64_t keep = t == STORE_RAW || !s->p.dir ? s->p.mem_ms : 0;
				int64_t unsaved = UNSAVED_FACTOR * s->p.mem_ms;

				if (unsaved < 2 * s->p.block_ms[t])
					unsaved = 2 * s->p.block_ms[t];
				if (saved && b->t_last >= s->now - keep)
					break;
				if (!saved) {
					if (b->t_last >= s->now - unsaved)
						break;
					count(&s->dropped[STORE_DROP_UNSAVED], b->n - b->saved_n);
				}
				tr->head = b->next;
				if (tr->tail == b)
					tr->tail = NULL;
				free(b->data);
				free(b);
			}
		}
	}
}

void store__begin(struct store *s)
{
	pthread_rwlock_wrlock(&s->lock);
}

void store__end(struct store *s)
{
	if (s->now - s->last_sweep >= SWEEP_MS || s->now < s->last_sweep) {
		sweep(s);
		s->last_sweep = s->now;
	}
	pthread_rwlock_unlock(&s->lock);
}

int store__last(struct store *s, uint32_t id, int64_t *t, double *v, uint64_t *row)
{
	struct series *se;
	int err = 0;

	pthread_rwlock_rdlock(&s->lock);
	if (id >= s->nseries) {
		err = -ENOENT;
	} else if (!(se = s->series[id])->has_last) {
		err = -ENODATA;
	} else {
		*t = se->t_last;
		*v = se->type == STORE_HISTOGRAM ? (double)se->row[se->nb + 1]
						 : gorilla__u2f(se->row[0]);
		if (row)
			memcpy(row, se->row, se->ncols * sizeof(uint64_t));
	}
	pthread_rwlock_unlock(&s->lock);
	return err;
}

int store__list(struct store *s, const char *agent, const char *family,
		int (*cb)(const struct store_series_info *info, void *ctx), void *ctx)
{
	int visited = 0, r = 0;
	uint32_t i;

	pthread_rwlock_rdlock(&s->lock);
	for (i = 0; i < s->nseries && !r; i++) {
		struct series *se = s->series[i];
		struct store_series_info info = {
			.id = i,
			.key = se->key,
			.family = se->family,
			.agent = se->agent,
			.type = se->type,
			.nb = se->type == STORE_HISTOGRAM ? se->nb : 0,
			.t_last = se->has_last ? se->t_last : INT64_MIN,
			.v_last = NAN,
		};

		if ((agent && strcmp(agent, se->agent)) || (family && strcmp(family, se->family)))
			continue;
		if (se->has_last)
			info.v_last = se->type == STORE_HISTOGRAM ? (double)se->row[se->nb + 1]
								  : gorilla__u2f(se->row[0]);
		visited++;
		r = cb(&info, ctx);
	}
	pthread_rwlock_unlock(&s->lock);
	return r ? r : visited;
}

/* ---- the database ---- */

static int sql_err(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_READONLY:
		return -EROFS;
	case SQLITE_CANTOPEN:
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return -EACCES;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return -EBADMSG;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_NOMEM:
		return -ENOMEM;
	}
	return -EIO;
}

static const char *hint_of(int err)
{
	switch (err) {
	case -ENOSPC:
		return "free space on its file system or lower the size bound";
	case -EROFS:
	case -EACCES:
	case -EPERM:
	case -ENOTDIR:
	case -EEXIST:
		return "make the state directory writable or choose another one";
	case -EBADMSG:
		return "move the damaged file aside to start afresh";
	case -EPROTO:
		return "run a newer swarmwatch or move the file aside";
	case -EBUSY:
		return "another process holds the database; stop it or choose another state directory";
	}
	return "check the state directory";
}

/* Counts the error and logs it once per episode; the writer retries at the next flush. */
static void note_err(struct store *s, enum store_op op, int err, const char *what)
{
	count(&s->errors[op], 1);
	__atomic_store_n(&s->db_ok, false, __ATOMIC_RELAXED);
	if (!s->failing[op])
		pr_err("store: %s %s failed: %s (retrying every %u s; %s)", store_op_names[op],
		       what, s->why[0] ? s->why : strerror(-err),
		       s->p.flush_ms / 1000 ? s->p.flush_ms / 1000 : 1, hint_of(err));
	s->failing[op] = true;
	s->why[0] = 0;
}

static void note_ok(struct store *s, enum store_op op)
{
	if (!s->failing[op])
		return;
	s->failing[op] = false;
	pr_info("store: %s of %s works again", store_op_names[op], s->db_path);
}

static int exec(sqlite3 *db, const char *sql)
{
	int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : sql_err(rc);
}

/* Schema steps: migrations[v] takes a database from version v to v + 1. */
static const char *const migrations[SCHEMA_VERSION] = {
	/*
	 * 1: series and their blocks, every tier in one table. Closed blocks are written once, in
	 * about time order, so the table grows at its end and its pages stay full; the block still
	 * open in each tier is rewritten at every flush in its own small table; the view shows
	 * both. Rowid tables keep blocks of up to 4 KB in their page (a WITHOUT ROWID table would
	 * move what passes 1 KB to an overflow page of its own).
	 */
	"CREATE TABLE series(id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE,"
	" family TEXT NOT NULL, agent TEXT NOT NULL, type INTEGER NOT NULL, nb INTEGER NOT NULL);"
	"CREATE TABLE blocks(id INTEGER PRIMARY KEY, tier INTEGER NOT NULL,"
	" series INTEGER NOT NULL, t_first INTEGER NOT NULL, t_last INTEGER NOT NULL,"
	" n INTEGER NOT NULL, data BLOB NOT NULL);"
	"CREATE UNIQUE INDEX blocks_series ON blocks(tier, series, t_first);"
	"CREATE INDEX blocks_age ON blocks(tier, t_last);"
	"CREATE TABLE open_blocks(id INTEGER PRIMARY KEY, tier INTEGER NOT NULL,"
	" series INTEGER NOT NULL, t_first INTEGER NOT NULL, t_last INTEGER NOT NULL,"
	" n INTEGER NOT NULL, data BLOB NOT NULL, UNIQUE(tier, series));"
	"CREATE VIEW all_blocks AS SELECT tier, t_first, series, t_last, n, data FROM blocks"
	" UNION ALL SELECT tier, t_first, series, t_last, n, data FROM open_blocks;",
	/* 2: opaque state blobs per agent (detector baselines and the like). */
	"CREATE TABLE state(agent TEXT NOT NULL, name TEXT NOT NULL, t INTEGER NOT NULL,"
	" data BLOB NOT NULL, PRIMARY KEY(agent, name));",
};

static int user_version(sqlite3 *db, int *v)
{
	sqlite3_stmt *st;
	int rc;

	rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return sql_err(rc);
	rc = sqlite3_step(st);
	*v = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : sql_err(rc);
}

static int migrate(struct store *s, sqlite3 *db)
{
	char sql[64];
	int v, from, err;

	err = user_version(db, &v);
	if (err)
		return err;
	if (v > SCHEMA_VERSION) {
		snprintf(s->why, sizeof(s->why),
			 "its schema version %d is newer than this build's (%d)", v,
			 SCHEMA_VERSION);
		return -EPROTO;
	}
	for (from = v; v < SCHEMA_VERSION; v++) {
		snprintf(sql, sizeof(sql), "PRAGMA user_version=%d", v + 1);
		err = exec(db, "BEGIN IMMEDIATE");
		if (!err)
			err = exec(db, migrations[v]);
		if (!err)
			err = exec(db, sql);
		if (!err)
			err = exec(db, "COMMIT");
		if (err) {
			exec(db, "ROLLBACK");
			return err;
		}
		if (from)
			pr_info("store: database migrated to schema version %d", v + 1);
	}
	return 0;
}

static int mkdirs(const char *dir)
{
	char path[4096];
	size_t i, len = strlen(dir);

	if (len >= sizeof(path))
		return -ENAMETOOLONG;
	memcpy(path, dir, len + 1);
	for (i = 1; i <= len; i++) {
		if (path[i] != '/' && path[i])
			continue;
		path[i] = 0;
		if (mkdir(path, 0750) && errno != EEXIST)
			return -errno;
		path[i] = dir[i];
	}
	return 0;
}

static int open_conn(const char *path, bool create, sqlite3 **out)
{
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
	sqlite3 *db = NULL;
	int rc;

	rc = sqlite3_open_v2(path, &db, flags, NULL);
	if (rc != SQLITE_OK) {
		rc = sql_err(rc);
		sqlite3_close(db);
		return rc;
	}
	sqlite3_busy_timeout(db, 5000);
	*out = db;
	return 0;
}

/* A series row read at open, with its last sample. */
struct loaded {
	int64_t db_id;
	char *key;
	uint8_t type, nb;
	bool has_last;
	int64_t t_last;
	uint64_t row[GORILLA_MAX_COLS];
	struct acc acc[STORE_TIERS - 1]; /* the periods in progress, rebuilt from raw blocks */
};

/* Feeds a sample to the rollups in progress without closing any (rebuilding them at open). */
static void acc_feed(struct acc *acc, uint8_t type, int64_t t, const uint64_t *cols)
{
	int k;

	for (k = 0; k < STORE_TIERS - 1; k++) {
		int64_t period = align(t, store_tier_period_ms[STORE_1M + k]);
		struct acc *a = &acc[k];

		if (a->period != period) {
			a->period = period;
			a->count = 0;
		}
		if (type == STORE_HISTOGRAM)
			a->count++;
		else
			acc_add(a, gorilla__u2f(cols[0]));
	}
}

/*
 * Rebuilds the 1m and 1h rollups of the hour in progress at the last sample from the raw
 * blocks, so that the periods a restart cuts in two are rolled up whole.
 */
static int reload_acc(sqlite3_stmt *st, struct loaded *l, int64_t block_ms)
{
	int64_t hour = align(l->t_last, store_tier_period_ms[STORE_1H]), t;
	uint64_t cols[GORILLA_MAX_COLS];
	struct gorilla_dec d;
	int rc;

	sqlite3_reset(st);
	sqlite3_bind_int64(st, 1, l->db_id);
	sqlite3_bind_int64(st, 2, hour);
	sqlite3_bind_int64(st, 3, block_ms); /* a block holding the hour starts after hour - span */
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (gorilla__dec_init(&d, sqlite3_column_blob(st, 0),
				      sqlite3_column_bytes(st, 0)) ||
		    d.ncols != ncols_of(l->type, l->nb))
			continue;
		while (gorilla__dec_next(&d, &t, cols) == 1)
			if (t >= hour)
				acc_feed(l->acc, l->type, t, cols);
	}
	return rc == SQLITE_DONE ? 0 : sql_err(rc);
}

static int last_row(sqlite3_stmt *st, int64_t db_id, struct loaded *l)
{
	uint64_t cols[GORILLA_MAX_COLS];
	struct gorilla_dec d;
	int64_t t;
	int rc;

	sqlite3_reset(st);
	sqlite3_bind_int64(st, 1, db_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		return sql_err(rc);
	if (gorilla__dec_init(&d, sqlite3_column_blob(st, 0), sqlite3_column_bytes(st, 0)))
		return 0; /* unreadable: the series continues without a last value */
	if (d.ncols != ncols_of(l->type, l->nb))
		return 0;
	while (gorilla__dec_next(&d, &t, cols) == 1) {
		l->has_last = true;
		l->t_last = t;
		memcpy(l->row, cols, d.ncols * sizeof(uint64_t));
	}
	return 0;
}

/* Reads every series and its last sample, then merges them into memory. */
static int load(struct store *s)
{
	sqlite3_stmt *st = NULL, *lst = NULL, *hst = NULL;
	struct loaded *ls = NULL;
	size_t n = 0, cap = 0, i;
	int rc, err = 0;

	rc = sqlite3_prepare_v2(s->db, "SELECT id, key, type, nb FROM series ORDER BY id", -1, &st,
				NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(s->db,
					"SELECT data FROM blocks WHERE tier = 0 AND series = ?"
					" ORDER BY t_first DESC LIMIT 1",
					-1, &lst, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(s->db,
					"SELECT data FROM blocks WHERE tier = 0 AND series = ?1"
					" AND t_first > ?2 - ?3 AND t_last >= ?2 ORDER BY t_first",
					-1, &hst, NULL);
	if (rc != SQLITE_OK) {
		err = sql_err(rc);
		goto out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct loaded *l;
		int type = sqlite3_column_int(st, 2), nb = sqlite3_column_int(st, 3);

		if (type < 0 || type > STORE_HISTOGRAM || nb < 0 || nb > GORILLA_MAX_BUCKETS ||
		    (type == STORE_HISTOGRAM) != (nb > 0))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			l = realloc(ls, cap * sizeof(*ls));
			if (!l) {
				err = -ENOMEM;
				goto out;
			}
			ls = l;
		}
		l = &ls[n];
		memset(l, 0, sizeof(*l));
		l->db_id = sqlite3_column_int64(st, 0);
		l->key = strdup((const char *)sqlite3_column_text(st, 1));
		l->type = type;
		l->nb = nb;
		if (!l->key) {
			err = -ENOMEM;
			goto out;
		}
		n++;
		l->acc[0].period = l->acc[1].period = INT64_MIN;
		err = last_row(lst, l->db_id, l);
		if (!err && l->has_last)
			err = reload_acc(hst, l, s->p.block_ms[STORE_RAW]);
		if (err)
			goto out;
	}
	if (rc != SQLITE_DONE) {
		err = sql_err(rc);
		goto out;
	}
	pthread_rwlock_wrlock(&s->lock);
	for (i = 0; i < n; i++) {
		struct loaded *l = &ls[i];
		int id = lookup(s, l->key);
		struct series *se;

		if (id >= 0) {
			se = s->series[id];
		} else {
			se = add_series(s, l->key, l->type, l->nb);
			if (!se) {
				err = -ENOMEM;
				break;
			}
		}
		se->db_id = l->db_id;
		se->meta_dirty = se->type != l->type || se->nb != l->nb;
		if (l->has_last && (se->type != l->type || se->nb != l->nb))
			l->has_last = false;
		if (l->has_last && !se->has_last) {
			se->has_last = true;
			se->t_last = l->t_last;
			memcpy(se->row, l->row, se->ncols * sizeof(uint64_t));
			memcpy(se->acc, l->acc, sizeof(se->acc));
		} else if (l->has_last && l->t_last > se->t_last) {
			se->t_last = l->t_last; /* samples not after it would be rejected anyway */
		}
		if (l->t_last > s->now)
			s->now = l->t_last;
	}
	pthread_rwlock_unlock(&s->lock);
out:
	for (i = 0; i < n; i++)
		free(ls[i].key);
	free(ls);
	sqlite3_finalize(st);
	sqlite3_finalize(lst);
	sqlite3_finalize(hst);
	return err;
}

/* One daemon per state directory: a lock file held as long as the store runs. */
static int lock_dir(struct store *s)
{
	char path[4200];
	int fd;

	if (s->lock_fd >= 0)
		return 0;
	snprintf(path, sizeof(path), "%s/swarmwatch.lock", s->dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		int err = errno == EWOULDBLOCK ? -EBUSY : -errno;

		if (err == -EBUSY)
			snprintf(s->why, sizeof(s->why),
				 "another swarmwatch uses this state directory");
		close(fd);
		return err;
	}
	s->lock_fd = fd;
	return 0;
}

static int db_open(struct store *s)
{
	int err;

	err = mkdirs(s->dir);
	if (!err)
		err = lock_dir(s);
	if (!err)
		err = open_conn(s->db_path, true, &s->db);
	if (err)
		return err;
	/* Takes effect on a new file only, and only before it is switched to WAL. */
	err = exec(s->db, "PRAGMA auto_vacuum=INCREMENTAL");
	if (!err)
		err = exec(s->db, "PRAGMA journal_mode=WAL");
	if (!err)
		err = exec(s->db, "PRAGMA synchronous=NORMAL");
	if (!err)
		err = exec(s->db, "PRAGMA journal_size_limit=67108864");
	if (!err)
		err = migrate(s, s->db);
	/* Blocks left open by the last run are closed now: a new run starts new ones. */
	if (!err)
		err = exec(s->db,
			   "BEGIN IMMEDIATE;"
			   "INSERT OR REPLACE INTO blocks(tier, t_first, series, t_last, n, data)"
			   " SELECT tier, t_first, series, t_last, n, data FROM open_blocks;"
			   "DELETE FROM open_blocks; COMMIT");
	if (err)
		exec(s->db, "ROLLBACK");
	if (!err)
		err = load(s);
	if (!err) {
		sqlite3 *rdb;

		err = open_conn(s->db_path, false, &rdb);
		if (!err) {
			pthread_mutex_lock(&s->rmu);
			s->rdb = rdb;
			pthread_mutex_unlock(&s->rmu);
		}
	}
	if (err) {
		sqlite3_close(s->db);
		s->db = NULL;
	}
	return err;
}

/* ---- the writer ---- */

struct wseries {
	uint32_t id;
	char *key, *family, *agent;
	uint8_t type, nb;
	int64_t db_id; /* out */
};

struct wblock {
	uint32_t id;
	uint8_t tier;
	bool closed; /* goes to `blocks`, else to `open_blocks` */
	int64_t t_first, t_last;
	uint32_t n;
	void *data;
	size_t len;
};

struct batch {
	struct wseries *ser;
	size_t nser;
	struct wblock *blk;
	size_t nblk, capblk;
	int64_t *db_ids; /* per series id, as collected */
	uint32_t nids;
	struct pending_state *states;
};

static void batch_free(struct batch *b)
{
	size_t i;

	for (i = 0; i < b->nser; i++) {
		free(b->ser[i].key);
		free(b->ser[i].family);
		free(b->ser[i].agent);
	}
	for (i = 0; i < b->nblk; i++)
		free(b->blk[i].data);
	free(b->ser);
	free(b->blk);
	free(b->db_ids);
	while (b->states) {
		struct pending_state *p = b->states;

		b->states = p->next;
		free(p->agent);
		free(p->name);
		free(p->data);
		free(p);
	}
	memset(b, 0, sizeof(*b));
}

/* Copies what changed since the last save; the caller holds the read lock. */
static int collect(struct store *s, struct batch *b)
{
	uint32_t i, nser = 0;
	int t;

	b->nids = s->nseries;
	b->db_ids = calloc(s->nseries + 1, sizeof(*b->db_ids));
	if (!b->db_ids)
		return -ENOMEM;
	for (i = 0; i < s->nseries; i++)
		nser += s->series[i]->meta_dirty || !s->series[i]->db_id;
	b->ser = calloc(nser + 1, sizeof(*b->ser));
	if (!b->ser)
		return -ENOMEM;
	for (i = 0; i < s->nseries; i++) {
		struct series *se = s->series[i];

		b->db_ids[i] = se->db_id;
		if (se->meta_dirty || !se->db_id) {
			struct wseries *w = &b->ser[b->nser++];

			w->id = i;
			w->key = strdup(se->key);
			w->family = strdup(se->family);
			w->agent = strdup(se->agent);
			w->type = se->type;
			w->nb = se->type == STORE_HISTOGRAM ? se->nb : 0;
			if (!w->key || !w->family || !w->agent)
				return -ENOMEM;
		}
		for (t = 0; t < STORE_TIERS; t++) {
			struct mblock *mb;

			for (mb = se->tier[t].head; mb; mb = mb->next) {
				struct wblock *w;

				if (blk_n(mb) <= mb->saved_n && (!mb->closed || mb->saved_closed))
					continue;
				if (b->nblk == b->capblk) {
					size_t cap = b->capblk ? b->capblk * 2 : 1024;

					w = realloc(b->blk, cap * sizeof(*w));
					if (!w)
						return -ENOMEM;
					b->blk = w;
					b->capblk = cap;
				}
				w = &b->blk[b->nblk];
				w->len = blk_len(mb);
				w->data = malloc(w->len);
				if (!w->data)
					return -ENOMEM;
				memcpy(w->data, blk_data(mb), w->len);
				w->id = i;
				w->tier = t;
				w->closed = mb->closed;
				w->t_first = mb->t_first;
				w->t_last = blk_t_last(mb);
				w->n = blk_n(mb);
				b->nblk++;
			}
		}
	}
	return 0;
}

static int write_batch(struct store *s, struct batch *b, uint64_t *bytes)
{
	sqlite3_stmt *ins = NULL, *sel = NULL, *blk = NULL, *opn = NULL, *del = NULL, *sta = NULL;
	struct pending_state *p;
	int rc = SQLITE_OK, err;
	size_t i;

	err = exec(s->db, "BEGIN IMMEDIATE");
	if (err)
		return err;
	rc = sqlite3_prepare_v2(
		s->db,
		"INSERT INTO series(key, family, agent, type, nb) VALUES(?,?,?,?,?)"
		" ON CONFLICT(key) DO UPDATE SET type = excluded.type, nb = excluded.nb",
		-1, &ins, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(s->db, "SELECT id FROM series WHERE key = ?", -1, &sel,
					NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(
			s->db,
			"INSERT OR REPLACE INTO blocks(tier, series, t_first, t_last, n,"
			" data) VALUES(?,?,?,?,?,?)",
			-1, &blk, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(
			s->db,
			"INSERT INTO open_blocks(tier, series, t_first, t_last, n, data)"
			" VALUES(?,?,?,?,?,?) ON CONFLICT(tier, series) DO UPDATE SET"
			" t_first = excluded.t_first, t_last = excluded.t_last,"
			" n = excluded.n, data = excluded.data",
			-1, &opn, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(s->db,
					"DELETE FROM open_blocks WHERE tier = ? AND series = ? AND"
					" t_first = ?",
					-1, &del, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(s->db,
					"INSERT INTO state(agent, name, t, data) VALUES(?,?,?,?)"
					" ON CONFLICT(agent, name) DO UPDATE SET t = excluded.t,"
					" data = excluded.data",
					-1, &sta, NULL);
	for (i = 0; i < b->nser && rc == SQLITE_OK; i++) {
		struct wseries *w = &b->ser[i];

		sqlite3_reset(ins);
		sqlite3_bind_text(ins, 1, w->key, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 2, w->family, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 3, w->agent, -1, SQLITE_STATIC);
		sqlite3_bind_int(ins, 4, w->type);
		sqlite3_bind_int(ins, 5, w->nb);
		rc = sqlite3_step(ins);
		if (rc != SQLITE_DONE)
			break;
		sqlite3_reset(sel);
		sqlite3_bind_text(sel, 1, w->key, -1, SQLITE_STATIC);
		rc = sqlite3_step(sel);
		if (rc != SQLITE_ROW)
			break;
		w->db_id = b->db_ids[w->id] = sqlite3_column_int64(sel, 0);
		rc = SQLITE_OK;
	}
	for (i = 0; i < b->nblk && rc == SQLITE_OK; i++) {
		struct wblock *w = &b->blk[i];
		sqlite3_stmt *st = w->closed ? blk : opn;

		sqlite3_reset(st);
		sqlite3_bind_int(st, 1, w->tier);
		sqlite3_bind_int64(st, 2, b->db_ids[w->id]);
		sqlite3_bind_int64(st, 3, w->t_first);
		sqlite3_bind_int64(st, 4, w->t_last);
		sqlite3_bind_int64(st, 5, w->n);
		sqlite3_bind_blob(st, 6, w->data, (int)w->len, SQLITE_STATIC);
		rc = sqlite3_step(st);
		if (rc == SQLITE_DONE && w->closed) { /* its copy as an open block goes */
			sqlite3_reset(del);
			sqlite3_bind_int(del, 1, w->tier);
			sqlite3_bind_int64(del, 2, b->db_ids[w->id]);
			sqlite3_bind_int64(del, 3, w->t_first);
			rc = sqlite3_step(del);
		}
		if (rc == SQLITE_DONE)
			rc = SQLITE_OK;
		*bytes += w->len;
	}
	for (p = b->states; p && rc == SQLITE_OK; p = p->next) {
		sqlite3_reset(sta);
		sqlite3_bind_text(sta, 1, p->agent, -1, SQLITE_STATIC);
		sqlite3_bind_text(sta, 2, p->name, -1, SQLITE_STATIC);
		sqlite3_bind_int64(sta, 3, p->t);
		sqlite3_bind_blob(sta, 4, p->data, (int)p->len, SQLITE_STATIC);
		rc = sqlite3_step(sta);
		if (rc == SQLITE_DONE)
			rc = SQLITE_OK;
	}
	sqlite3_finalize(ins);
	sqlite3_finalize(sel);
	sqlite3_finalize(blk);
	sqlite3_finalize(opn);
	sqlite3_finalize(del);
	sqlite3_finalize(sta);
	err = rc == SQLITE_OK ? exec(s->db, "COMMIT") : sql_err(rc);
	if (err)
		exec(s->db, "ROLLBACK");
	return err;
}

/* After a commit: ids of new series, and how much of each block is on disk. */
static void mark_saved(struct store *s, const struct batch *b)
{
	size_t i;

	pthread_rwlock_wrlock(&s->lock);
	for (i = 0; i < b->nser; i++) {
		struct series *se = s->series[b->ser[i].id];

		se->db_id = b->ser[i].db_id;
		if (se->type == b->ser[i].type &&
		    (se->type != STORE_HISTOGRAM || se->nb == b->ser[i].nb))
			se->meta_dirty = false;
	}
	for (i = 0; i < b->nblk; i++) {
		const struct wblock *w = &b->blk[i];
		struct mblock *mb;

		for (mb = s->series[w->id]->tier[w->tier].head; mb; mb = mb->next)
			if (blk_n(mb) && mb->t_first == w->t_first) {
				if (mb->saved_n < w->n)
					mb->saved_n = w->n;
				mb->saved_closed |= w->closed;
			}
	}
	pthread_rwlock_unlock(&s->lock);
}

/* Puts unsaved state blobs back in the queue, behind any newer ones of the same name. */
static void requeue_states(struct store *s, struct batch *b)
{
	pthread_mutex_lock(&s->wmu);
	while (b->states) {
		struct pending_state *p = b->states, *q;

		b->states = p->next;
		for (q = s->states; q; q = q->next)
			if (!strcmp(q->agent, p->agent) && !strcmp(q->name, p->name))
				break;
		if (q) {
			free(p->agent);
			free(p->name);
			free(p->data);
			free(p);
		} else {
			p->next = s->states;
			s->states = p;
		}
	}
	pthread_mutex_unlock(&s->wmu);
}

static int query_int(sqlite3 *db, const char *sql, int64_t *v)
{
	sqlite3_stmt *st;
	int rc;

	rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return sql_err(rc);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*v = sqlite3_column_int64(st, 0); /* else *v is left as it was */
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : sql_err(rc);
}

static int used_bytes(sqlite3 *db, int64_t *bytes)
{
	int64_t pages = 0, free_pages = 0, size = 0;
	int err;

	err = query_int(db, "PRAGMA page_count", &pages);
	if (!err)
		err = query_int(db, "PRAGMA freelist_count", &free_pages);
	if (!err)
		err = query_int(db, "PRAGMA page_size", &size);
	*bytes = err ? 0 : (pages - free_pages) * size;
	return err;
}

/*
 * Deletes the rows of tier older than cut: for retention those whose last sample is before
 * cut, for the size bound those whose last sample is not after it, counting their samples as
 * dropped.
 */
static int delete_older(struct store *s, int tier, int64_t cut, bool for_size)
{
	const char *where = for_size ? "tier = ?1 AND t_last <= ?2" : "tier = ?1 AND t_last < ?2";
	sqlite3_stmt *st;
	char sql[128];
	int rc;

	if (for_size) {
		snprintf(sql, sizeof(sql), "SELECT total(n) FROM blocks WHERE %s", where);
		rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
		if (rc != SQLITE_OK)
			return sql_err(rc);
		sqlite3_bind_int(st, 1, tier);
		sqlite3_bind_int64(st, 2, cut);
		if (sqlite3_step(st) == SQLITE_ROW)
			count(&s->dropped[STORE_DROP_SIZE], (uint64_t)sqlite3_column_double(st, 0));
		sqlite3_finalize(st);
	}
	for (int k = 0; k < (for_size ? 1 : 2); k++) {
		snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE %s", k ? "open_blocks" : "blocks",
			 where);
		rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
		if (rc != SQLITE_OK)
			return sql_err(rc);
		sqlite3_bind_int(st, 1, tier);
		sqlite3_bind_int64(st, 2, cut);
		rc = sqlite3_step(st);
		sqlite3_finalize(st);
		if (rc != SQLITE_DONE)
			return sql_err(rc);
	}
	return 0;
}

/*
 * Retention per tier, then the size bound: while the pages in use exceed max_bytes, the
 * oldest rows (the smallest last sample of any tier) go, 64 at a time, counted.
 */
static int purge(struct store *s, int64_t now)
{
	int64_t used, cut, oldest, v;
	char sql[160];
	int t, best, round, err;

	err = exec(s->db, "BEGIN IMMEDIATE");
	for (t = 0; t < STORE_TIERS && !err; t++)
		err = delete_older(s, t, now - s->p.retention_ms[t], false);
	if (!err)
		err = used_bytes(s->db, &used);
	for (round = 0; !err && s->p.max_bytes && (uint64_t)used > s->p.max_bytes && round < 4096;
	     round++) {
		best = -1;
		oldest = INT64_MAX;
		for (t = 0; t < STORE_TIERS && !err; t++) {
			snprintf(
				sql, sizeof(sql),
				"SELECT t_first FROM blocks WHERE tier = %d ORDER BY t_first LIMIT 1",
				t);
			v = INT64_MAX;
			err = query_int(s->db, sql, &v);
			if (!err && v < oldest) {
				oldest = v;
				best = t;
			}
		}
		if (err || best < 0)
			break;
		snprintf(
			sql, sizeof(sql),
			"SELECT t_first FROM blocks WHERE tier = %d ORDER BY t_first LIMIT 1 OFFSET 63",
			best);
		cut = INT64_MAX;
		err = query_int(s->db, sql, &cut);
		if (!err)
			err = delete_older(s, best, cut, true);
		if (!err)
			err = used_bytes(s->db, &used);
	}
	err = err ? err : exec(s->db, "COMMIT");
	if (err) {
		exec(s->db, "ROLLBACK");
		return err;
	}
	return exec(s->db, "PRAGMA incremental_vacuum");
}

static int flush_once(struct store *s, bool want_purge)
{
	struct batch b = {0};
	uint64_t bytes = 0;
	struct timespec ts;
	int64_t used, now;
	int err;

	if (!s->p.dir)
		return 0;
	if (!s->db) {
		err = db_open(s);
		if (err) {
			note_err(s, STORE_OP_OPEN, err, s->db_path);
			return err;
		}
		note_ok(s, STORE_OP_OPEN);
	}
	pthread_mutex_lock(&s->wmu);
	b.states = s->states;
	s->states = NULL;
	pthread_mutex_unlock(&s->wmu);
	pthread_rwlock_rdlock(&s->lock);
	err = collect(s, &b);
	now = s->now;
	pthread_rwlock_unlock(&s->lock);
	if (!err)
		err = write_batch(s, &b, &bytes);
	if (err) {
		requeue_states(s, &b);
		batch_free(&b);
		note_err(s, STORE_OP_WRITE, err, s->db_path);
		return err;
	}
	mark_saved(s, &b);
	note_ok(s, STORE_OP_WRITE);
	count(&s->flushes, 1);
	count(&s->blocks_written, b.nblk);
	count(&s->bytes_written, bytes);
	batch_free(&b);

	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (want_purge || (ts.tv_sec - s->last_purge.tv_sec) * 1000 +
					  (ts.tv_nsec - s->last_purge.tv_nsec) / 1000000 >=
				  s->p.purge_ms) {
		s->last_purge = ts;
		err = purge(s, now);
		if (err) {
			note_err(s, STORE_OP_PURGE, err, s->db_path);
			return err;
		}
		note_ok(s, STORE_OP_PURGE);
	}
	if (!used_bytes(s->db, &used))
		__atomic_store_n(&s->db_bytes, (uint64_t)used, __ATOMIC_RELAXED);
	__atomic_store_n(&s->db_ok, true, __ATOMIC_RELAXED);
	return 0;
}

static void *writer(void *arg)
{
	struct store *s = arg;
	struct timespec deadline;
	uint64_t gen;
	bool purge_now;
	int err;

	pthread_mutex_lock(&s->wmu);
	while (!s->stop) {
		if (s->done_gen == s->req_gen) {
			clock_gettime(CLOCK_MONOTONIC, &deadline);
			deadline.tv_sec += s->p.flush_ms / 1000;
			deadline.tv_nsec += (long)(s->p.flush_ms % 1000) * 1000000;
			if (deadline.tv_nsec >= 1000000000) {
				deadline.tv_sec++;
				deadline.tv_nsec -= 1000000000;
			}
			while (!s->stop && s->done_gen == s->req_gen &&
			       pthread_cond_timedwait(&s->wake, &s->wmu, &deadline) != ETIMEDOUT)
				;
			if (s->stop)
				break;
		}
		gen = s->req_gen;
		purge_now = s->purge_req;
		s->purge_req = false;
		pthread_mutex_unlock(&s->wmu);
		err = flush_once(s, purge_now);
		pthread_mutex_lock(&s->wmu);
		s->result = err;
		if (gen > s->done_gen)
			s->done_gen = gen;
		pthread_cond_broadcast(&s->done);
	}
	pthread_mutex_unlock(&s->wmu);
	return NULL;
}

int store__flush(struct store *s, bool purge_now)
{
	uint64_t gen;
	int err;

	pthread_mutex_lock(&s->wmu);
	gen = ++s->req_gen;
	s->purge_req |= purge_now;
	pthread_cond_signal(&s->wake);
	while (s->done_gen < gen && !s->stop)
		pthread_cond_wait(&s->done, &s->wmu);
	err = s->result;
	pthread_mutex_unlock(&s->wmu);
	return err;
}

/* ---- queries ---- */

/* Per-window accumulation. */
struct win {
	double min, max, sum, last, inc;
	uint64_t count;
	bool has_inc;
};

struct qctx {
	const struct store_query *q;
	int tier;
	uint8_t type, nb, ncols;
	int64_t lower; /* oldest time returned */
	int64_t stop; /* end of the last window */
	size_t nwin;
	struct win *w;
	double *hw; /* histogram: per window ncols values (last row or increases) */
	bool has_prev;
	uint64_t prev[GORILLA_MAX_COLS];
	int64_t prev_t;
};

static double counter_inc(double prev, double cur)
{
	return cur >= prev ? cur - prev : cur;
}

static void q_row(struct qctx *c, int64_t t, const uint64_t *cols)
{
	double v, mn, mx, sum, inc = 0;
	uint64_t cnt;
	struct win *w;
	size_t k;
	int i;

	if (t < c->lower || t >= c->stop)
		return;
	if (c->has_prev && t <= c->prev_t)
		return; /* the same row from memory and disk: keep the first */
	if (c->type == STORE_HISTOGRAM) {
		v = (double)cols[c->nb + 1];
		mn = mx = sum = v;
		cnt = 1;
		if (c->has_prev)
			inc = counter_inc((double)c->prev[c->nb + 1], v);
	} else if (c->tier == STORE_RAW) {
		v = mn = mx = sum = gorilla__u2f(cols[0]);
		cnt = 1;
		if (c->has_prev)
			inc = counter_inc(gorilla__u2f(c->prev[0]), v);
	} else {
		v = gorilla__u2f(cols[GORILLA_R_LAST]);
		mn = gorilla__u2f(cols[GORILLA_R_MIN]);
		mx = gorilla__u2f(cols[GORILLA_R_MAX]);
		sum = gorilla__u2f(cols[GORILLA_R_SUM]);
		cnt = cols[GORILLA_R_COUNT];
		if (c->has_prev)
			inc = counter_inc(gorilla__u2f(c->prev[GORILLA_R_LAST]), v);
	}
	if (t >= c->q->start) {
		k = (size_t)((uint64_t)(t - c->q->start) / (uint64_t)c->q->step);
		w = &c->w[k];
		if (!w->count) {
			w->min = mn;
			w->max = mx;
			w->sum = sum;
		} else {
			if (mn < w->min || (isnan(w->min) && !isnan(mn)))
				w->min = mn;
			if (mx > w->max || (isnan(w->max) && !isnan(mx)))
				w->max = mx;
			w->sum += sum;
		}
		w->count += cnt;
		w->last = v;
		if (c->has_prev) {
			w->inc += inc;
			w->has_inc = true;
		}
		if (c->hw) {
			double *h = c->hw + k * c->ncols;

			for (i = 0; i < c->ncols; i++) {
				if (!c->q->rate)
					h[i] = i == c->nb ? gorilla__u2f(cols[i]) : (double)cols[i];
				else if (c->has_prev && i == c->nb)
					h[i] += gorilla__u2f(cols[i]) - gorilla__u2f(c->prev[i]);
				else if (c->has_prev)
					h[i] += counter_inc((double)c->prev[i], (double)cols[i]);
			}
		}
	}
	c->has_prev = true;
	c->prev_t = t;
	memcpy(c->prev, cols, c->ncols * sizeof(uint64_t));
}

static void q_block(struct qctx *c, const void *data, size_t len)
{
	uint64_t cols[GORILLA_MAX_COLS];
	struct gorilla_dec d;
	int64_t t;

	if (gorilla__dec_init(&d, data, len) || d.ncols != c->ncols)
		return;
	while (gorilla__dec_next(&d, &t, cols) == 1)
		q_row(c, t, cols);
}

struct mcopy {
	void *data;
	size_t len;
};

static int q_disk(struct store *s, struct qctx *c, int64_t db_id, int64_t from, int64_t before)
{
	/* Closed blocks through the series index, then the one still open. */
	static const char *const sql[] = {
		"SELECT data FROM blocks INDEXED BY blocks_series WHERE tier = ?1 AND series = ?2"
		" AND t_first < ?3 AND t_first > ?5 AND t_last >= ?4 ORDER BY t_first",
		"SELECT data FROM open_blocks WHERE tier = ?1 AND series = ?2 AND t_first < ?3"
		" AND t_last >= ?4",
	};
	sqlite3_stmt *st = NULL;
	int rc, err = 0, k;

	pthread_mutex_lock(&s->rmu);
	for (k = 0; k < 2 && s->rdb && db_id && !err; k++) {
		rc = sqlite3_prepare_v2(s->rdb, sql[k], -1, &st, NULL);
		if (rc != SQLITE_OK) {
			err = sql_err(rc);
			break;
		}
		sqlite3_bind_int(st, 1, c->tier);
		sqlite3_bind_int64(st, 2, db_id);
		sqlite3_bind_int64(st, 3, before);
		sqlite3_bind_int64(st, 4, from);
		/* A block spans less than block_ms: one ending at or after from starts after this. */
		if (!k)
			sqlite3_bind_int64(st, 5,
					   from > INT64_MIN + s->p.block_ms[c->tier]
						   ? from - s->p.block_ms[c->tier]
						   : INT64_MIN);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW)
			q_block(c, sqlite3_column_blob(st, 0), sqlite3_column_bytes(st, 0));
		if (rc != SQLITE_DONE)
			err = sql_err(rc);
		sqlite3_finalize(st);
		st = NULL;
	}
	pthread_mutex_unlock(&s->rmu);
	return err;
}

int store__query(struct store *s, uint32_t id, struct store_query *q, struct store_point *out,
		 size_t cap, uint64_t *rows, size_t *n)
{
	struct mcopy *mc = NULL;
	size_t nmc = 0, k, j, i;
	int64_t from, before, now, db_id, acc_t = INT64_MIN;
	uint64_t acc_row_buf[GORILLA_MAX_COLS];
	struct qctx c = {.q = q};
	struct series *se;
	uint64_t nwin;
	struct mblock *b;
	int err = 0, t;

	*n = 0;
	if (q->end < q->start || q->step <= 0 || q->tier >= STORE_TIERS)
		return -EINVAL;
	nwin = ((uint64_t)q->end - (uint64_t)q->start) / (uint64_t)q->step + 1;
	if (nwin > cap || nwin > s->p.max_points)
		return -E2BIG;
	c.nwin = nwin;
	pthread_rwlock_rdlock(&s->lock);
	if (id >= s->nseries) {
		pthread_rwlock_unlock(&s->lock);
		return -ENOENT;
	}
	se = s->series[id];
	now = s->now;
	if (q->tier < 0) {
		for (t = 0; t < STORE_TIERS - 1; t++)
			if (q->start >= now - s->p.retention_ms[t])
				break;
		q->tier = t;
	}
	c.tier = q->tier;
	c.type = se->type;
	c.nb = se->nb;
	c.ncols = se->type == STORE_HISTOGRAM ? se->nb + 2
		  : c.tier == STORE_RAW	      ? 1
					      : GORILLA_R_COLS;
	c.lower = now - s->p.retention_ms[c.tier];
	c.stop = q->start + (int64_t)nwin * q->step;
	from = q->start > c.lower ? q->start : c.lower;
	if (q->rate)
		from -= q->step > store_tier_period_ms[c.tier] ? q->step
							       : store_tier_period_ms[c.tier];
	if (from < c.lower)
		c.lower = from; /* the row before the first window only sets the base of a rate */
	db_id = se->db_id;
	before = c.stop;
	for (b = se->tier[c.tier].head; b; b = b->next)
		nmc++;
	mc = calloc(nmc + 1, sizeof(*mc));
	if (!mc)
		err = -ENOMEM;
	nmc = 0;
	for (b = se->tier[c.tier].head; b && !err; b = b->next) {
		if (!blk_n(b))
			continue;
		if (b == se->tier[c.tier].head && before > b->t_first)
			before = b->t_first; /* older rows come from disk */
		if (blk_t_last(b) < from || b->t_first >= c.stop)
			continue;
		mc[nmc].len = blk_len(b);
		mc[nmc].data = malloc(mc[nmc].len);
		if (!mc[nmc].data) {
			err = -ENOMEM;
			break;
		}
		memcpy(mc[nmc].data, blk_data(b), mc[nmc].len);
		nmc++;
	}
	if (c.tier != STORE_RAW && se->acc[c.tier - 1].period != INT64_MIN &&
	    se->acc[c.tier - 1].count) {
		acc_t = se->acc[c.tier - 1].period;
		if (se->type == STORE_HISTOGRAM)
			memcpy(acc_row_buf, se->row, c.ncols * sizeof(uint64_t));
		else
			acc_row(&se->acc[c.tier - 1], acc_row_buf);
	}
	pthread_rwlock_unlock(&s->lock);

	if (!err) {
		c.w = calloc(nwin, sizeof(*c.w));
		if (rows && se->type == STORE_HISTOGRAM)
			c.hw = calloc(nwin * c.ncols, sizeof(double));
		if (!c.w || (rows && se->type == STORE_HISTOGRAM && !c.hw))
			err = -ENOMEM;
	}
	if (!err && db_id && q_disk(s, &c, db_id, from, before)) {
		count(&s->errors[STORE_OP_READ], 1); /* memory still answers */
	}
	for (i = 0; i < nmc && !err; i++)
		q_block(&c, mc[i].data, mc[i].len);
	if (!err && acc_t != INT64_MIN)
		q_row(&c, acc_t, acc_row_buf);
	for (k = 0; k < nwin && !err; k++) {
		struct win *w = &c.w[k];
		struct store_point *p;
		double secs = q->step / 1000.0;

		if (!w->count)
			continue;
		p = &out[*n];
		p->t = q->start + (int64_t)k * q->step;
		p->min = w->min;
		p->max = w->max;
		p->sum = w->sum;
		p->count = w->count;
		p->value = q->rate ? w->inc / secs : w->last;
		if (q->rate && !w->has_inc)
			p->value = NAN;
		if (rows && c.hw) {
			uint64_t *r = rows + *n * c.ncols;
			const double *h = c.hw + k * c.ncols;

			for (j = 0; j < c.ncols; j++) {
				if (q->rate)
					r[j] = gorilla__f2u(h[j] / secs);
				else if (j == c.nb)
					r[j] = gorilla__f2u(h[j]);
				else
					r[j] = (uint64_t)h[j];
			}
		}
		(*n)++;
	}
	for (i = 0; i < nmc; i++)
		free(mc[i].data);
	free(mc);
	free(c.w);
	free(c.hw);
	return err;
}

int store__agent_span(struct store *s, const char *agent, int64_t *first, int64_t *last)
{
	int64_t lo[STORE_TIERS], hi = INT64_MIN;
	sqlite3_stmt *st = NULL;
	uint32_t i;
	int t;

	for (t = 0; t < STORE_TIERS; t++)
		lo[t] = INT64_MAX;
	pthread_rwlock_rdlock(&s->lock);
	for (i = 0; i < s->nseries; i++) {
		struct series *se = s->series[i];

		if (strcmp(se->agent, agent))
			continue;
		if (se->has_last && se->t_last > hi)
			hi = se->t_last;
		for (t = 0; t < STORE_TIERS; t++)
			if (se->tier[t].head && blk_n(se->tier[t].head) &&
			    se->tier[t].head->t_first < lo[t])
				lo[t] = se->tier[t].head->t_first;
	}
	pthread_rwlock_unlock(&s->lock);
	pthread_mutex_lock(&s->rmu);
	if (s->rdb &&
	    sqlite3_prepare_v2(s->rdb,
			       "SELECT b.tier, min(b.t_first) FROM all_blocks b JOIN series s"
			       " ON s.id = b.series WHERE s.agent = ? GROUP BY b.tier",
			       -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, agent, -1, SQLITE_STATIC);
		while (sqlite3_step(st) == SQLITE_ROW) {
			t = sqlite3_column_int(st, 0);
			if (t >= 0 && t < STORE_TIERS &&
			    sqlite3_column_type(st, 1) != SQLITE_NULL &&
			    sqlite3_column_int64(st, 1) < lo[t])
				lo[t] = sqlite3_column_int64(st, 1);
		}
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->rmu);
	if (hi == INT64_MIN)
		return -ENOENT;
	/*
	 * A rollup's sample is stamped with the start of its period, not with the first sample in
	 * it: a coarser tier gives the first time only when its period ended before what the finer
	 * tiers hold (they were let go), else the finer time stands.
	 */
	*first = lo[0];
	for (t = 1; t < STORE_TIERS; t++)
		if (lo[t] != INT64_MAX &&
		    (*first == INT64_MAX || lo[t] + store_tier_period_ms[t] <= *first))
			*first = lo[t];
	if (*first == INT64_MAX || *first > hi)
		*first = hi;
	*last = hi;
	return 0;
}

/* ---- state blobs ---- */

int store__state_put(struct store *s, const char *agent, const char *name, const void *buf,
		     size_t len)
{
	struct pending_state *p, **pp;

	if (!agent || !*agent || !name || !*name || len > STATE_MAX || (len && !buf))
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->agent = strdup(agent);
	p->name = strdup(name);
	p->data = malloc(len ? len : 1);
	if (!p->agent || !p->name || !p->data) {
		free(p->agent);
		free(p->name);
		free(p->data);
		free(p);
		return -ENOMEM;
	}
	memcpy(p->data, buf, len);
	p->len = len;
	p->t = __atomic_load_n(&s->now, __ATOMIC_RELAXED);
	pthread_mutex_lock(&s->wmu);
	for (pp = &s->states; *pp; pp = &(*pp)->next) {
		if (!strcmp((*pp)->agent, agent) && !strcmp((*pp)->name, name)) {
			struct pending_state *old = *pp;

			*pp = old->next;
			free(old->agent);
			free(old->name);
			free(old->data);
			free(old);
			break;
		}
	}
	p->next = s->states;
	s->states = p;
	pthread_mutex_unlock(&s->wmu);
	return 0;
}

long store__state_get(struct store *s, const char *agent, const char *name, void *buf, size_t cap)
{
	struct pending_state *p;
	sqlite3_stmt *st = NULL;
	long ret = -ENOENT;
	int rc;

	if (!agent || !name || (cap && !buf))
		return -EINVAL;
	pthread_mutex_lock(&s->wmu);
	for (p = s->states; p; p = p->next) {
		if (!strcmp(p->agent, agent) && !strcmp(p->name, name)) {
			ret = p->len > cap ? -ENOSPC : (long)p->len;
			if (ret >= 0)
				memcpy(buf, p->data, p->len);
			break;
		}
	}
	pthread_mutex_unlock(&s->wmu);
	if (p)
		return ret;
	pthread_mutex_lock(&s->rmu);
	if (!s->rdb)
		goto out;
	rc = sqlite3_prepare_v2(s->rdb, "SELECT data FROM state WHERE agent = ? AND name = ?", -1,
				&st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(st, 1, agent, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
	}
	if (rc == SQLITE_ROW) {
		size_t len = sqlite3_column_bytes(st, 0);

		ret = len > cap ? -ENOSPC : (long)len;
		if (ret >= 0 && len)
			memcpy(buf, sqlite3_column_blob(st, 0), len);
	} else if (rc != SQLITE_DONE) {
		count(&s->errors[STORE_OP_READ], 1);
		ret = -EIO;
	}
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->rmu);
	return ret;
}

/* ---- life cycle ---- */

void store__params_default(struct store_params *p)
{
	memset(p, 0, sizeof(*p));
	p->dir = "/var/lib/swarmwatch";
	p->mem_ms = 15 * 60 * 1000;
	p->retention_ms[STORE_RAW] = 6 * 3600 * 1000ll;
	p->retention_ms[STORE_1M] = 14 * 86400 * 1000ll;
	p->retention_ms[STORE_1H] = 90 * 86400 * 1000ll;
	p->block_ms[STORE_RAW] = 5 * 60 * 1000;
	p->block_ms[STORE_1M] = 4 * 3600 * 1000;
	p->block_ms[STORE_1H] = 7 * 86400 * 1000;
	p->max_bytes = 1ull << 30;
	p->flush_ms = 10000;
	p->purge_ms = 60000;
	p->jitter_ms = 10;
	p->max_points = 11000;
}

static bool params_ok(const struct store_params *p)
{
	int t;

	if (p->mem_ms <= 0 || !p->flush_ms || !p->purge_ms || !p->max_points)
		return false;
	for (t = 0; t < STORE_TIERS; t++) {
		if (p->retention_ms[t] <= 0 || p->block_ms[t] <= 0)
			return false;
		if (t && p->block_ms[t] < store_tier_period_ms[t])
			return false;
	}
	return p->retention_ms[STORE_RAW] >= p->mem_ms;
}

struct store *store__open(const struct store_params *p)
{
	pthread_condattr_t ca;
	struct store *s;
	int err;

	if (!params_ok(p)) {
		errno = EINVAL;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->p = *p;
	s->lock_fd = -1;
	s->now = INT64_MIN / 2;
	s->last_sweep = s->now;
	if (p->dir) {
		s->dir = strdup(p->dir);
		if (s->dir && asprintf(&s->db_path, "%s/%s", p->dir, DB_NAME) < 0)
			s->db_path = NULL;
		if (!s->dir || !s->db_path) {
			free(s->dir);
			free(s);
			errno = ENOMEM;
			return NULL;
		}
		s->p.dir = s->dir;
	}
	pthread_rwlock_init(&s->lock, NULL);
	pthread_mutex_init(&s->wmu, NULL);
	pthread_mutex_init(&s->rmu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->wake, &ca);
	pthread_condattr_destroy(&ca);
	pthread_cond_init(&s->done, NULL);
	clock_gettime(CLOCK_MONOTONIC, &s->last_purge);
	/* The first flush opens the database at once, so earlier series are known early. */
	s->req_gen = 1;
	err = pthread_create(&s->thread, NULL, writer, s);
	if (err) {
		store__close(s);
		errno = err;
		return NULL;
	}
	s->started = true;
	return s;
}

int store__close(struct store *s)
{
	uint32_t i;
	int err = 0;

	if (!s)
		return 0;
	if (s->started) {
		pthread_mutex_lock(&s->wmu);
		s->stop = true;
		pthread_cond_signal(&s->wake);
		pthread_mutex_unlock(&s->wmu);
		pthread_join(s->thread, NULL);
		err = flush_once(s, false);
	}
	pthread_mutex_lock(&s->wmu);
	s->stop = true;
	pthread_cond_broadcast(&s->done);
	pthread_mutex_unlock(&s->wmu);
	if (s->rdb)
		sqlite3_close(s->rdb);
	if (s->db)
		sqlite3_close(s->db);
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	for (i = 0; i < s->nseries; i++)
		free_series(s->series[i]);
	while (s->states) {
		struct pending_state *p = s->states;

		s->states = p->next;
		free(p->agent);
		free(p->name);
		free(p->data);
		free(p);
	}
	free(s->series);
	free(s->hash);
	free(s->dir);
	free(s->db_path);
	pthread_rwlock_destroy(&s->lock);
	pthread_mutex_destroy(&s->wmu);
	pthread_mutex_destroy(&s->rmu);
	pthread_cond_destroy(&s->wake);
	pthread_cond_destroy(&s->done);
	free(s);
	return err;
}

void store__stats(struct store *s, struct store_stats *st)
{
	uint32_t i;
	int k;

	memset(st, 0, sizeof(*st));
	for (k = 0; k < STORE_OPS; k++)
		st->errors[k] = __atomic_load_n(&s->errors[k], __ATOMIC_RELAXED);
	for (k = 0; k < STORE_DROPS; k++)
		st->dropped[k] = __atomic_load_n(&s->dropped[k], __ATOMIC_RELAXED);
	st->samples = __atomic_load_n(&s->samples, __ATOMIC_RELAXED);
	st->flushes = __atomic_load_n(&s->flushes, __ATOMIC_RELAXED);
	st->blocks_written = __atomic_load_n(&s->blocks_written, __ATOMIC_RELAXED);
	st->bytes_written = __atomic_load_n(&s->bytes_written, __ATOMIC_RELAXED);
	st->db_bytes = __atomic_load_n(&s->db_bytes, __ATOMIC_RELAXED);
	st->db_ok = __atomic_load_n(&s->db_ok, __ATOMIC_RELAXED);
	pthread_rwlock_rdlock(&s->lock);
	st->series = s->nseries;
	st->mem_bytes = sizeof(*s) + s->cap * sizeof(*s->series) + s->hcap * sizeof(*s->hash);
	for (i = 0; i < s->nseries; i++) {
		struct series *se = s->series[i];

		st->mem_bytes += sizeof(*se) + strlen(se->key) * 2 + strlen(se->agent) + 3 +
				 se->ncols * sizeof(uint64_t) + 5 * 16;
		for (k = 0; k < STORE_TIERS; k++) {
			struct mblock *b;

			/* 16 bytes of malloc's own per allocation. */
			for (b = se->tier[k].head; b; b = b->next)
				st->mem_bytes +=
					sizeof(*b) + 16 +
					(b->enc ? sizeof(*b->enc) + 32 + b->enc->cap +
							  b->enc->ncols * sizeof(b->enc->col[0])
						: b->len + 16);
		}
	}
	pthread_rwlock_unlock(&s->lock);
}

const char *store__db_path(const struct store *s)
{
	return s->db_path ? s->db_path : "";
}
