/* SPDX-License-Identifier: MIT */
/*
 * store: the series store. Every series (a metric family and its labels) keeps its samples in
 * three tiers:
 *   raw  full resolution: compressed blocks (gorilla.h) in memory for the most recent
 *        mem_ms (the detectors' working set), and on disk for retention_ms[STORE_RAW];
 *   1m   per-minute rollups (min, max, sum, count, last) for retention_ms[STORE_1M];
 *   1h   per-hour rollups, the same columns, for retention_ms[STORE_1H].
 * A histogram is one series whose sample is its bucket vector (with sum and count); its
 * rollups keep the last vector of each period, which is what rates and quantiles need.
 *
 * Disk is one SQLite database (WAL) in the state directory. A writer thread saves what changed
 * every flush_ms in one transaction, open blocks included, so a crash loses at most one flush
 * interval, and purges what retention and the size bound let go. Disk errors (full, read-only,
 * missing directory) are counted per operation, logged once per episode and retried at the
 * next flush; memory keeps serving meanwhile, and nothing already on disk is touched.
 *
 * Threads: one thread appends (store__begin(), store__series(), store__append*(),
 * store__end()); any thread queries, outside such a bracket. store__state_put() may be called
 * from anywhere. Times are Unix milliseconds. The store's clock ("now")
 * is the newest sample appended, so retention follows the data, not the wall clock.
 */
#ifndef SW_STORE_H
#define SW_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Most buckets of a histogram series. */
#define STORE_HIST_MAX 64

enum store_tier {
	STORE_RAW,
	STORE_1M,
	STORE_1H,
	STORE_TIERS,
};

enum store_type {
	STORE_GAUGE,
	STORE_COUNTER,
	STORE_HISTOGRAM,
};

/* Operations whose errors are counted: swarmwatch_store_errors_total{op}. */
enum store_op {
	STORE_OP_OPEN, /* open, create or migrate the database */
	STORE_OP_WRITE, /* a flush transaction */
	STORE_OP_PURGE, /* retention and size bound */
	STORE_OP_READ, /* queries and state reads */
	STORE_OPS,
};

/* Why samples were dropped: swarmwatch_store_dropped_samples_total{reason}. */
enum store_drop {
	STORE_DROP_SIZE, /* deleted to keep the file under max_bytes */
	STORE_DROP_UNSAVED, /* kept in memory too long while the disk failed */
	STORE_DROP_ORDER, /* not newer than the series' last sample */
	STORE_DROPS,
};

extern const char *const store_tier_names[STORE_TIERS]; /* "raw", "1m", "1h" */
extern const char *const store_op_names[STORE_OPS]; /* "open", "write", "purge", "read" */
extern const char *const store_drop_names[STORE_DROPS]; /* "size", "unsaved", "order" */

/* Period of each tier's samples, ms (0 for raw). */
extern const int64_t store_tier_period_ms[STORE_TIERS];

struct store_params {
	const char *dir; /* state directory, created if missing; NULL keeps everything in memory */
	int64_t mem_ms; /* raw data kept in memory, default 15 min */
	int64_t retention_ms[STORE_TIERS]; /* defaults 6 h, 14 days, 90 days */
	int64_t block_ms[STORE_TIERS]; /* span of a block, defaults 5 min, 4 h, 7 days */
	uint64_t max_bytes; /* bound on the database file, 0 = none; default 1 GiB */
	uint32_t flush_ms; /* writer period, default 10 s */
	uint32_t purge_ms; /* retention and size checks, default 60 s */
	uint32_t jitter_ms; /* a raw sample this close to the regular schedule is stored on it */
	uint32_t max_points; /* bound on points a query returns, default 11000 */
};

/* Copies of the counters, for the exposition. */
struct store_stats {
	uint64_t errors[STORE_OPS];
	uint64_t dropped[STORE_DROPS]; /* samples */
	uint64_t series;
	uint64_t samples; /* appended since start (raw) */
	uint64_t flushes; /* successful flush transactions */
	uint64_t blocks_written; /* block rows written (inserted or updated) */
	uint64_t bytes_written; /* block bytes written */
	uint64_t mem_bytes; /* memory held by series and blocks */
	uint64_t db_bytes; /* database pages in use */
	bool db_ok; /* the database is open and the last flush succeeded */
};

/* One series, as listed. */
struct store_series_info {
	uint32_t id;
	const char *key; /* canonical key: family{a="x",b="y"}, labels sorted by name */
	const char *family;
	const char *agent; /* value of the "agent" label, "" without one */
	enum store_type type;
	unsigned int nb; /* buckets of a histogram, else 0 */
	int64_t t_last; /* newest sample, INT64_MIN when none is known */
	double v_last; /* its value (a histogram: its count) */
};

/* A range query. step windows are [t, t + step) for t = start, start + step, ... <= end. */
struct store_query {
	int64_t start; /* ms */
	int64_t end; /* ms, >= start */
	int64_t step; /* ms, > 0 */
	bool rate; /* counters and histograms: per-second increase over each window */
	int tier; /* -1: the finest tier that covers start; out: the tier used */
};

/* One window of a query's answer. */
struct store_point {
	int64_t t; /* window start */
	double value; /* last value, or the rate when asked */
	double min, max, sum; /* over the samples in the window (raw or rollups) */
	uint64_t count; /* samples in the window */
};

/*
 * store__params_default - fills p with the defaults above (dir "/var/lib/swarmwatch").
 */
void store__params_default(struct store_params *p);

/*
 * store__open - a store with parameters p (copied), and its writer thread. The database is
 * opened, created or migrated by the writer; when that fails the store runs from memory and
 * retries at every flush. Returns NULL with errno EINVAL for parameters out of range (a
 * non-positive span or retention, a retention below mem_ms, flush_ms 0), ENOMEM, or the error
 * of pthread_create.
 */
struct store *store__open(const struct store_params *p);

/*
 * store__close - saves what is left (one last flush), stops the writer and frees everything.
 * Returns 0, or the -errno of the last flush when it failed. NULL is ignored.
 */
int store__close(struct store *s);

/*
 * store__key - writes the canonical key of family with labels names[i]=values[i] into buf
 * (len bytes): family{a="x",b="y"} with labels sorted by name, values escaped as in the
 * Prometheus text format. Returns the key's length, -EINVAL for an empty family, a label
 * name repeated or more than 16 labels, or -ENOSPC when buf is too short.
 */
int store__key(char *buf, size_t len, const char *family, const char *const *names,
	       const char *const *values, unsigned int n);

/* store__begin, store__end - bracket one tick's series and appends (the writer lock). */
void store__begin(struct store *s);
void store__end(struct store *s);

/*
 * store__series - the id of the series family{labels}, created on first use with type and nb
 * buckets (1..64 for STORE_HISTOGRAM, else 0). A series known from an earlier run keeps its
 * id and continues. Between store__begin() and store__end(). Returns the id (>= 0), -EINVAL
 * for a bad key, type or nb, -EEXIST when the series exists with another type or bucket count,
 * or -ENOMEM.
 */
int store__series(struct store *s, const char *family, const char *const *names,
		  const char *const *values, unsigned int n, enum store_type type, unsigned int nb);

/*
 * store__append - adds the sample (t ms, v) to series id, between store__begin() and
 * store__end(). Any double is kept bit-exactly. Returns 0, -ENOENT for an unknown id, -EINVAL
 * for a histogram id, -ERANGE when t is not after the series' last sample (counted as dropped,
 * reason "order"), or -ENOMEM.
 */
int store__append(struct store *s, uint32_t id, int64_t t, double v);

/*
 * store__append_hist - adds a histogram sample: nb per-bucket counts (not cumulative), their
 * sum and count. Same rules and returns as store__append(); -EINVAL also when nb differs from
 * the series'.
 */
int store__append_hist(struct store *s, uint32_t id, int64_t t, const uint64_t *buckets,
		       unsigned int nb, double sum, uint64_t count);

/*
 * store__find - the id of the series with canonical key, or -ENOENT. Like every reader, not
 * between store__begin() and store__end() (the lock is not recursive).
 */
int store__find(struct store *s, const char *key);

/*
 * store__last - the newest sample of series id, this run's or the last one saved by an
 * earlier run: *t and *v (a histogram: its count; rows, when not NULL, receives its nb buckets,
 * sum bits and count). Returns 0, -ENOENT for an unknown id, or -ENODATA when it has none.
 */
int store__last(struct store *s, uint32_t id, int64_t *t, double *v, uint64_t *row);

/*
 * store__list - calls cb for every series whose agent label equals agent and whose family
 * equals family (NULL matches all), in id order; stops when cb returns non-zero and returns
 * that value, else the number of series visited. The info is valid during the call only.
 */
int store__list(struct store *s, const char *agent, const char *family,
		int (*cb)(const struct store_series_info *info, void *ctx), void *ctx);

/*
 * store__query - the windows of series id over q's range, one point per window holding
 * samples, oldest first, in out[0..cap); *n receives their count. The tier is the finest
 * whose retention covers q->start (q->tier >= 0 forces one) and is written back to q->tier;
 * samples older than that tier's retention are never returned. For a histogram, value is its
 * count (or count rate), and rows, when not NULL (cap * (nb + 2) words), receives per point a
 * row laid out as store__append_hist() takes it: the nb bucket counts, the sum's bits and the
 * count at the window's last sample, or with q->rate their increase per second as doubles'
 * bit patterns. Counter resets (a decrease) count as a restart from zero. Returns 0, -ENOENT
 * for an unknown id, -EINVAL for end < start, step <= 0 or a tier out of range, -E2BIG when
 * the range holds more than cap or max_points windows, or -ENOMEM. A database that cannot be
 * read is counted under "read" and memory answers alone.
 */
int store__query(struct store *s, uint32_t id, struct store_query *q, struct store_point *out,
		 size_t cap, uint64_t *rows, size_t *n);

/*
 * store__agent_span - the first and last sample times (ms) of any series of agent, on disk or
 * in memory. The first is the earliest raw sample still kept; when rollups reach further back,
 * the start of the earliest rollup period (1 min or 1 h) that ended before it. Returns 0, or
 * -ENOENT when the store has none.
 */
int store__agent_span(struct store *s, const char *agent, int64_t *first, int64_t *last);

/*
 * store__state_put - keeps an opaque blob (detector state, baselines) for (agent, name); it is
 * saved with the next flush and replaces the previous one. Returns 0, -EINVAL for empty names
 * or a blob over 16 MiB, or -ENOMEM.
 */
int store__state_put(struct store *s, const char *agent, const char *name, const void *buf,
		     size_t len);

/*
 * store__state_get - copies the newest blob of (agent, name) into buf (cap bytes). Returns its
 * length, -ENOENT when there is none, -ENOSPC when cap is too small, or -EIO when the database
 * cannot be read (counted under "read").
 */
long store__state_get(struct store *s, const char *agent, const char *name, void *buf, size_t cap);

/*
 * store__flush - saves now and waits for it; with purge, also applies retention and the size
 * bound. Returns 0, or the -errno of the failure (-ENOSPC disk full, -EROFS read-only, -EIO).
 */
int store__flush(struct store *s, bool purge);

/* store__stats - the counters, consistent with each other. */
void store__stats(struct store *s, struct store_stats *st);

/*
 * store__db_path - the database file's path ("" for a memory-only store).
 */
const char *store__db_path(const struct store *s);

#endif
