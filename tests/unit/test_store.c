// SPDX-License-Identifier: MIT
/*
 * The series store on a real SQLite file in a temporary directory: keys, bit-exact samples,
 * rollups against a direct computation, rates, tier choice, retention, the size bound,
 * reopening, state blobs, schema migration and an unusable state directory.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gorilla.h"
#include "log.h"
#include "store.h"

#define T0 1764460800000ll /* 2025-11-30 00:00:00 UTC, ms */
#define MIN 60000ll
#define HOUR 3600000ll
#define DAY 86400000ll

static char tmpdir[256];

static int setup(void **s)
{
	(void)s;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/sw-store-test.XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	log__set_level(LOG_ERROR);
	return 0;
}

static int teardown(void **s)
{
	char cmd[300];

	(void)s;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd);
}

static struct store *open_at(const char *sub, struct store_params *p)
{
	static char dir[300];
	struct store *st;

	if (sub) {
		snprintf(dir, sizeof(dir), "%s/%s", tmpdir, sub);
		p->dir = dir;
	} else {
		p->dir = NULL;
	}
	st = store__open(p);
	assert_non_null(st);
	store__flush(st, false); /* the database is open and read */
	return st;
}

static int series1(struct store *st, const char *family, const char *agent, enum store_type type,
		   unsigned int nb)
{
	const char *names[] = {"agent"}, *values[] = {agent};
	int id;

	id = store__series(st, family, names, values, 1, type, nb);
	assert_true(id >= 0);
	return id;
}

static sqlite3 *db_of_path(const char *path)
{
	sqlite3 *db;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	return db;
}

static sqlite3 *db_of(struct store *st)
{
	return db_of_path(store__db_path(st));
}

static int64_t sql_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *q;
	int64_t v = -1;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
	if (sqlite3_step(q) == SQLITE_ROW)
		v = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	return v;
}

static void assert_integrity(const char *path)
{
	sqlite3_stmt *q;
	sqlite3 *db;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &q, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(q, 0), "ok");
	sqlite3_finalize(q);
	sqlite3_close(db);
}

static void test_key(void **s)
{
	const char *names[] = {"role", "agent", "upstream"};
	const char *values[] = {"client", "a\"b\\c\nd", "api"};
	const char *dup[] = {"agent", "agent"};
	char buf[128];

	(void)s;
	assert_int_equal(store__key(buf, sizeof(buf), "m_total", names, values, 3),
			 (int)strlen("m_total{agent=\"a\\\"b\\\\c\\nd\",role=\"client\","
				     "upstream=\"api\"}"));
	assert_string_equal(buf,
			    "m_total{agent=\"a\\\"b\\\\c\\nd\",role=\"client\",upstream=\"api\"}");
	assert_int_equal(store__key(buf, sizeof(buf), "up", NULL, NULL, 0), 2);
	assert_string_equal(buf, "up");
	assert_int_equal(store__key(buf, sizeof(buf), "m", dup, values, 2), -EINVAL);
	assert_int_equal(store__key(buf, sizeof(buf), "", NULL, NULL, 0), -EINVAL);
	assert_int_equal(store__key(buf, sizeof(buf), "a b", NULL, NULL, 0), -EINVAL);
	assert_int_equal(store__key(buf, 10, "m_total", names, values, 3), -ENOSPC);
}

static void test_bit_exact(void **s)
{
	static const uint64_t bits[] = {
		0x7ff8000000000000ull, 0x7ff0000000000001ull, 0xfff8dead0000beefull,
		0x7ff0000000000000ull, 0xfff0000000000000ull, 0x8000000000000000ull,
		0x0000000000000000ull, 0x0000000000000001ull, 0x3ff0000000000000ull,
		0x3ff0000000000000ull,
	};
	enum { N = 2000 };
	struct store_point pts[N];
	struct store_params p;
	struct store_query q = {
		.start = T0, .end = T0 + (N - 1) * 1000ll, .step = 1000, .tier = -1};
	struct store *st;
	size_t n, i;
	int id;

	(void)s;
	store__params_default(&p);
	p.mem_ms = HOUR;
	st = open_at(NULL, &p);
	store__begin(st);
	id = series1(st, "g", "a", STORE_GAUGE, 0);
	for (i = 0; i < N; i++) {
		/* Irregular: 1 s with 0..40 ms of delay, some beyond the jitter tolerance. */
		double v = i % 3 ? gorilla__u2f(bits[i % 10]) : (double)i * 0.1;

		assert_int_equal(store__append(st, id, T0 + 1000ll * i + (int64_t)(i * 7 % 41), v),
				 0);
	}
	assert_int_equal(store__append(st, id, T0, 1.0), -ERANGE); /* not after the last */
	store__end(st);
	assert_int_equal(store__query(st, id, &q, pts, N, NULL, &n), 0);
	assert_int_equal(q.tier, STORE_RAW);
	assert_int_equal(n, N);
	for (i = 0; i < N; i++) {
		double v = i % 3 ? gorilla__u2f(bits[i % 10]) : (double)i * 0.1;

		assert_int_equal(pts[i].t, T0 + 1000ll * i);
		assert_int_equal(pts[i].count, 1);
		assert_true(gorilla__f2u(pts[i].value) == gorilla__f2u(v));
	}
	assert_int_equal(store__close(st), 0);
}

/* A reproducible gauge: a noisy level with bursts. */
static double gauge_at(size_t i)
{
	return 100 + 10 * sin((double)i / 300) + (double)((i * 2654435761u) % 1000) / 100 +
	       (i % 977 == 0 ? 500 : 0);
}

static void direct(const int64_t *t, const double *v, size_t n, int64_t from, int64_t to,
		   struct store_point *out)
{
	size_t i;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < n; i++) {
		if (t[i] < from || t[i] >= to)
			continue;
		if (!out->count) {
			out->min = out->max = out->sum = v[i];
		} else {
			out->min = fmin(out->min, v[i]);
			out->max = fmax(out->max, v[i]);
			out->sum += v[i];
		}
		out->count++;
		out->value = v[i];
	}
}

static void test_rollups_direct(void **s)
{
	enum { N = 3 * 3600 + 123 };
	static int64_t t[N];
	static double v[N];
	struct store_point pts[400], want;
	struct store_params p;
	struct store *st;
	size_t n, i;
	int id, k;

	(void)s;
	store__params_default(&p);
	p.jitter_ms = 0;
	st = open_at("rollups", &p);
	store__begin(st);
	id = series1(st, "g", "a", STORE_GAUGE, 0);
	for (i = 0; i < N; i++) {
		t[i] = T0 + 17 + 1000ll * i + (i % 5 == 0 ? 400 : 0);
		v[i] = gauge_at(i);
		assert_int_equal(store__append(st, id, t[i], v[i]), 0);
	}
	store__end(st);
	/* 1m and 1h tiers, forced, window = period: exactly the direct aggregate of each period. */
	for (k = STORE_1M; k <= STORE_1H; k++) {
		int64_t per = store_tier_period_ms[k];
		struct store_query q = {
			.start = T0, .end = T0 + N * 1000ll, .step = per, .tier = k};

		assert_int_equal(store__query(st, id, &q, pts, 400, NULL, &n), 0);
		assert_int_equal(n, (size_t)((N * 1000ll + per - 1) / per));
		for (i = 0; i < n; i++) {
			direct(t, v, N, pts[i].t, pts[i].t + per, &want);
			assert_int_equal(pts[i].t, T0 + (int64_t)i * per);
			assert_int_equal(pts[i].count, want.count);
			assert_true(pts[i].min == want.min);
			assert_true(pts[i].max == want.max);
			assert_true(pts[i].sum == want.sum);
			assert_true(pts[i].value == want.value);
		}
	}
	/* Windows of 5 rollups: the same figures (the sum up to rounding). */
	{
		struct store_query q = {
			.start = T0, .end = T0 + 3 * HOUR, .step = 5 * MIN, .tier = 1};

		assert_int_equal(store__query(st, id, &q, pts, 400, NULL, &n), 0);
		assert_int_equal(n, 37);
		for (i = 0; i < n; i++) {
			direct(t, v, N, pts[i].t, pts[i].t + 5 * MIN, &want);
			assert_int_equal(pts[i].count, want.count);
			assert_true(pts[i].min == want.min && pts[i].max == want.max);
			assert_true(fabs(pts[i].sum - want.sum) <= 1e-9 * fabs(want.sum));
		}
	}
	/* Raw windows of 7 s: the same. */
	{
		struct store_query q = {
			.start = T0 + 5000, .end = T0 + HOUR, .step = 7000, .tier = -1};

		assert_int_equal(store__query(st, id, &q, pts, 400, NULL, &n), -E2BIG);
		q.end = T0 + 5000 + 399 * 7000ll;
		assert_int_equal(store__query(st, id, &q, pts, 400, NULL, &n), 0);
		assert_int_equal(q.tier, STORE_RAW);
		for (i = 0; i < n; i++) {
			direct(t, v, N, pts[i].t, pts[i].t + 7000, &want);
			assert_int_equal(pts[i].count, want.count);
			assert_true(pts[i].sum == want.sum && pts[i].value == want.value);
		}
	}
	store__close(st);
}

static void test_rate(void **s)
{
	enum { N = 1200 };
	static double v[N];
	struct store_point pts[200];
	struct store_params p;
	struct store *st;
	double c = 1e6;
	size_t n, i, j;
	int id;

	(void)s;
	store__params_default(&p);
	st = open_at(NULL, &p);
	store__begin(st);
	id = series1(st, "c_total", "a", STORE_COUNTER, 0);
	for (i = 0; i < N; i++) {
		c = i == 700 ? 5 : c + (double)(i % 13); /* a restart at 700 s */
		v[i] = c;
		assert_int_equal(store__append(st, id, T0 + 1000ll * i, c), 0);
	}
	store__end(st);
	{
		struct store_query q = {.start = T0 + 10000,
					.end = T0 + 1190000,
					.step = 10000,
					.rate = true,
					.tier = -1};

		assert_int_equal(store__query(st, id, &q, pts, 200, NULL, &n), 0);
		assert_int_equal(n, 119);
		for (i = 0; i < n; i++) {
			double inc = 0;

			for (j = 10 * (i + 1); j < 10 * (i + 2); j++)
				inc += v[j] >= v[j - 1] ? v[j] - v[j - 1] : v[j];
			assert_true(fabs(pts[i].value - inc / 10) < 1e-9);
		}
	}
	store__close(st);
}

static void test_tier_choice(void **s)
{
	static const struct {
		int64_t back, step;
		int tier;
	} cases[] = {
		{HOUR, 1000, STORE_RAW},	{6 * HOUR, 60000, STORE_RAW},
		{6 * HOUR + 1, MIN, STORE_1M},	{14 * DAY, HOUR, STORE_1M},
		{14 * DAY + 1, HOUR, STORE_1H}, {200 * DAY, DAY, STORE_1H},
	};
	struct store_point pts[1];
	struct store_params p;
	struct store *st;
	size_t n, i;
	int id;

	(void)s;
	store__params_default(&p);
	st = open_at(NULL, &p);
	store__begin(st);
	id = series1(st, "g", "a", STORE_GAUGE, 0);
	assert_int_equal(store__append(st, id, T0, 1), 0);
	store__end(st);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct store_query q = {.start = T0 - cases[i].back,
					.end = T0 - cases[i].back,
					.step = cases[i].step,
					.tier = -1};

		assert_int_equal(store__query(st, id, &q, pts, 1, NULL, &n), 0);
		assert_int_equal(q.tier, cases[i].tier);
	}
	/* Bad queries. */
	{
		struct store_query q = {.start = T0, .end = T0 - 1, .step = 1000, .tier = -1};

		assert_int_equal(store__query(st, id, &q, pts, 1, NULL, &n), -EINVAL);
		q.end = T0;
		q.step = 0;
		assert_int_equal(store__query(st, id, &q, pts, 1, NULL, &n), -EINVAL);
		q.step = 1000;
		q.tier = STORE_TIERS;
		assert_int_equal(store__query(st, id, &q, pts, 1, NULL, &n), -EINVAL);
		q.tier = -1;
		q.end = T0 + 1000;
		assert_int_equal(store__query(st, id, &q, pts, 1, NULL, &n), -E2BIG);
		q.end = INT64_MAX;
		q.start = INT64_MIN;
		assert_int_equal(store__query(st, id, &q, pts, 1, NULL, &n), -E2BIG);
		q.start = q.end = T0;
		assert_int_equal(store__query(st, id + 1, &q, pts, 1, NULL, &n), -ENOENT);
	}
	store__close(st);
}

static void test_retention(void **s)
{
	struct store_point *pts = calloc(4000, sizeof(*pts));
	struct store_stats stats;
	struct store_params p;
	struct store *st;
	int64_t now = T0 + 3600000 - 1000, cut;
	sqlite3 *db;
	char sql[200];
	size_t n, i;
	int id;

	(void)s;
	store__params_default(&p);
	p.mem_ms = 2 * MIN;
	p.retention_ms[STORE_RAW] = 10 * MIN;
	p.retention_ms[STORE_1M] = 30 * MIN;
	p.block_ms[STORE_RAW] = MIN;
	p.block_ms[STORE_1M] = 5 * MIN;
	st = open_at("retention", &p);
	for (i = 0; i < 3600; i++) {
		store__begin(st);
		id = series1(st, "g", "a", STORE_GAUGE, 0);
		assert_int_equal(store__append(st, id, T0 + 1000ll * i, (double)i), 0);
		store__end(st);
		if (i % 60 == 0) /* a flush every minute of data: none is dropped unsaved */
			assert_int_equal(store__flush(st, false), 0);
	}
	assert_int_equal(store__flush(st, true), 0);
	store__stats(st, &stats);
	assert_int_equal(stats.dropped[STORE_DROP_UNSAVED] + stats.dropped[STORE_DROP_SIZE], 0);
	assert_true(stats.db_ok);
	/* Raw: exactly the samples at or after now - 10 min. */
	{
		struct store_query q = {.start = T0, .end = now, .step = 1000, .tier = STORE_RAW};

		assert_int_equal(store__query(st, id, &q, pts, 4000, NULL, &n), 0);
		assert_int_equal(n, 601);
		assert_int_equal(pts[0].t, now - 10 * MIN);
		for (i = 0; i < n; i++)
			assert_true(pts[i].value == (double)(3599 - 600 + i));
	}
	/* 1m: the minutes that start at or after now - 30 min. */
	{
		struct store_query q = {.start = T0, .end = now, .step = MIN, .tier = STORE_1M};

		assert_int_equal(store__query(st, id, &q, pts, 4000, NULL, &n), 0);
		assert_int_equal(n, 30);
		assert_int_equal(pts[0].t, T0 + 30 * MIN);
	}
	/* On disk: no block ends before its tier's limit, and the newer ones are there. */
	db = db_of(st);
	for (i = 0; i < 2; i++) {
		cut = now - p.retention_ms[i];
		snprintf(sql, sizeof(sql),
			 "SELECT count(*) FROM all_blocks WHERE tier = %zu AND t_last < %lld", i,
			 (long long)cut);
		assert_int_equal(sql_int(db, sql), 0);
		snprintf(sql, sizeof(sql), "SELECT min(t_first) FROM all_blocks WHERE tier = %zu",
			 i);
		assert_true(sql_int(db, sql) <= cut + (i ? 5 * MIN : MIN));
	}
	assert_int_equal(sql_int(db, "SELECT min(t_first) FROM all_blocks WHERE tier = 0"),
			 now - 10 * MIN - 59000);
	sqlite3_close(db);
	snprintf(sql, sizeof(sql), "%s", store__db_path(st));
	assert_int_equal(store__close(st), 0);
	assert_integrity(sql);
	free(pts);
}

/* A latency histogram sample: per-bucket counts growing in the middle buckets. */
static void hist_at(size_t i, uint64_t *b, double *sum, uint64_t *cnt)
{
	size_t k;

	*cnt = 0;
	for (k = 0; k < 40; k++) {
		b[k] = k >= 10 && k < 18 ? (uint64_t)(i * (k + 1)) + (i * 7 % (k + 3)) : 0;
		*cnt += b[k];
	}
	*sum = (double)i * 0.25;
}

static void test_reopen(void **s)
{
	enum { N = 1500 };
	uint64_t b[40], row[42], want[42];
	struct store_point *pts = calloc(N, sizeof(*pts));
	uint64_t *rows = calloc(N * 42, sizeof(uint64_t));
	unsigned char blob[100], got[100];
	struct store_params p;
	struct store *st;
	char path[300];
	int64_t t;
	double v, sum;
	uint64_t cnt;
	size_t n, i;
	int g, h;

	(void)s;
	store__params_default(&p);
	p.mem_ms = 5 * MIN; /* most of the data lives only on disk by the end */
	st = open_at("reopen", &p);
	snprintf(path, sizeof(path), "%s", store__db_path(st));
	for (i = 0; i < N; i++) {
		store__begin(st);
		g = series1(st, "c_total", "web", STORE_COUNTER, 0);
		h = series1(st, "lat_seconds", "web", STORE_HISTOGRAM, 40);
		assert_int_equal(store__append(st, g, T0 + 1000ll * i, 10.0 * i), 0);
		hist_at(i, b, &sum, &cnt);
		assert_int_equal(store__append_hist(st, h, T0 + 1000ll * i, b, 40, sum, cnt), 0);
		store__end(st);
		if (i % 60 == 0)
			assert_int_equal(store__flush(st, false), 0);
	}
	for (i = 0; i < sizeof(blob); i++)
		blob[i] = (unsigned char)(i * 31);
	assert_int_equal(store__state_put(st, "web", "detect/syscall_rate", blob, sizeof(blob)), 0);
	assert_int_equal(store__state_get(st, "web", "detect/syscall_rate", got, sizeof(got)),
			 sizeof(blob));
	assert_int_equal(store__close(st), 0);

	st = open_at("reopen", &p);
	g = store__find(st, "c_total{agent=\"web\"}");
	h = store__find(st, "lat_seconds{agent=\"web\"}");
	assert_true(g >= 0 && h >= 0);
	assert_int_equal(store__last(st, g, &t, &v, NULL), 0);
	assert_int_equal(t, T0 + 1000ll * (N - 1));
	assert_true(v == 10.0 * (N - 1));
	assert_int_equal(store__last(st, h, &t, &v, row), 0);
	hist_at(N - 1, want, &sum, &cnt);
	assert_memory_equal(row, want, 40 * sizeof(uint64_t));
	assert_true(gorilla__u2f(row[40]) == sum && row[41] == cnt);
	/* Earlier points come back from disk, bit for bit. */
	{
		struct store_query q = {
			.start = T0, .end = T0 + (N - 1) * 1000ll, .step = 1000, .tier = -1};

		assert_int_equal(store__query(st, g, &q, pts, N, NULL, &n), 0);
		assert_int_equal(n, N);
		for (i = 0; i < N; i++)
			assert_true(pts[i].t == T0 + 1000ll * (int64_t)i &&
				    pts[i].value == 10.0 * i);
		assert_int_equal(store__query(st, h, &q, pts, N, rows, &n), 0);
		assert_int_equal(n, N);
		for (i = 0; i < N; i++) {
			hist_at(i, want, &sum, &cnt);
			assert_memory_equal(rows + 42 * i, want, 40 * sizeof(uint64_t));
			assert_true(gorilla__u2f(rows[42 * i + 40]) == sum &&
				    rows[42 * i + 41] == cnt);
			assert_true(pts[i].value == (double)cnt);
		}
		/* Histogram rates per 10 s window: the increase of each bucket over it. */
		q.start = T0 + 10000;
		q.step = 10000;
		q.end = T0 + 1000ll * (N - 10);
		q.rate = true;
		assert_int_equal(store__query(st, h, &q, pts, N, rows, &n), 0);
		assert_true(n > 100);
		for (i = 0; i < n; i++) {
			uint64_t b0[40], b1[40];
			size_t a = 10 * i + 9, z = 10 * i + 19;

			hist_at(a, b0, &sum, &cnt);
			hist_at(z, b1, &sum, &cnt);
			assert_true(gorilla__u2f(rows[42 * i + 12]) ==
				    (double)(b1[12] - b0[12]) / 10);
		}
	}
	/* The series continue: later samples are taken, earlier ones refused. */
	store__begin(st);
	assert_int_equal(store__append(st, g, T0 + 1000ll * (N - 1), 1), -ERANGE);
	assert_int_equal(store__append(st, g, T0 + 1000ll * N, 10.0 * N), 0);
	assert_int_equal(series1(st, "c_total", "web", STORE_COUNTER, 0), g);
	assert_int_equal(store__series(st, "c_total", (const char *[]){"agent"},
				       (const char *[]){"web"}, 1, STORE_GAUGE, 0),
			 -EEXIST);
	store__end(st);
	memset(got, 0, sizeof(got));
	assert_int_equal(store__state_get(st, "web", "detect/syscall_rate", got, sizeof(got)),
			 sizeof(blob));
	assert_memory_equal(got, blob, sizeof(blob));
	assert_int_equal(store__state_get(st, "web", "detect/syscall_rate", got, 10), -ENOSPC);
	assert_int_equal(store__state_get(st, "web", "nothing", got, sizeof(got)), -ENOENT);
	assert_int_equal(store__close(st), 0);
	assert_integrity(path);
	free(pts);
	free(rows);
}

static int count_cb(const struct store_series_info *info, void *ctx)
{
	(*(int *)ctx)++;
	assert_string_equal(info->family, "c_total");
	return 0;
}

static void test_list(void **s)
{
	struct store_params p;
	struct store *st;
	int n = 0;

	(void)s;
	store__params_default(&p);
	st = open_at(NULL, &p);
	store__begin(st);
	series1(st, "c_total", "a", STORE_COUNTER, 0);
	series1(st, "c_total", "b", STORE_COUNTER, 0);
	series1(st, "g", "a", STORE_GAUGE, 0);
	assert_int_equal(store__series(st, "x", NULL, NULL, 0, STORE_HISTOGRAM, 0), -EINVAL);
	assert_int_equal(store__series(st, "x", NULL, NULL, 0, STORE_GAUGE, 3), -EINVAL);
	store__end(st);
	assert_int_equal(store__list(st, NULL, "c_total", count_cb, &n), 2);
	assert_int_equal(n, 2);
	n = 0;
	assert_int_equal(store__list(st, "a", "c_total", count_cb, &n), 1);
	assert_int_equal(store__list(st, "zz", NULL, count_cb, &n), 0);
	store__close(st);
}

/* The first time of an agent is its first sample, not the start of the rollup period holding it. */
static void test_agent_span(void **s)
{
	struct store_params p;
	struct store *st;
	int64_t first, last, t;
	int id;

	(void)s;
	store__params_default(&p);
	p.jitter_ms = 0;
	p.mem_ms = 2 * HOUR; /* every raw sample stays */
	st = open_at(NULL, &p);
	store__begin(st);
	id = series1(st, "g", "late", STORE_GAUGE, 0);
	/* From 00:30:17 to 01:10:17: the 00:00 hour and the minutes up to 01:09 are rolled up. */
	for (t = T0 + 30 * MIN + 17000; t <= T0 + 70 * MIN + 17000; t += 1000)
		assert_int_equal(store__append(st, id, t, 1.0), 0);
	store__end(st);
	assert_int_equal(store__agent_span(st, "late", &first, &last), 0);
	assert_int_equal(first, T0 + 30 * MIN + 17000);
	assert_int_equal(last, T0 + 70 * MIN + 17000);
	assert_int_equal(store__agent_span(st, "nobody", &first, &last), -ENOENT);
	store__close(st);
	/* Raw samples let go (15 min in memory): the minute that held the first one is the answer. */
	p.mem_ms = 15 * MIN;
	st = open_at(NULL, &p);
	store__begin(st);
	id = series1(st, "g", "late", STORE_GAUGE, 0);
	for (t = T0 + 30 * MIN + 17000; t <= T0 + 70 * MIN + 17000; t += 1000)
		assert_int_equal(store__append(st, id, t, 1.0), 0);
	store__end(st);
	assert_int_equal(store__agent_span(st, "late", &first, &last), 0);
	assert_int_equal(first, T0 + 30 * MIN);
	store__close(st);
}

/* The file stays under the bound; the oldest data goes first and is counted. */
static void test_size_bound(void **s)
{
	struct store_point pts[2];
	struct store_stats stats;
	struct store_params p;
	struct store *st;
	char path[300];
	sqlite3 *db;
	size_t i, k;
	int id[40];

	(void)s;
	store__params_default(&p);
	p.max_bytes = 512 << 10;
	p.mem_ms = MIN;
	p.block_ms[STORE_RAW] = MIN;
	st = open_at("size", &p);
	snprintf(path, sizeof(path), "%s", store__db_path(st));
	for (i = 0; i < 3 * 3600; i++) {
		store__begin(st);
		for (k = 0; k < 40; k++) {
			char name[16];

			snprintf(name, sizeof(name), "a%zu", k);
			id[k] = series1(st, "noise", name, STORE_GAUGE, 0);
			assert_int_equal(store__append(st, id[k], T0 + 1000ll * i,
						       gauge_at(i * 40 + k) * 1.000001),
					 0);
		}
		store__end(st);
		if (i % 60 == 59)
			assert_int_equal(store__flush(st, i % 600 == 599), 0);
	}
	assert_int_equal(store__flush(st, true), 0);
	store__stats(st, &stats);
	assert_true(stats.dropped[STORE_DROP_SIZE] > 0);
	assert_true(stats.db_bytes <= p.max_bytes);
	db = db_of(st);
	/* What is left is the newest: the last raw minute of every series is there. */
	assert_int_equal(sql_int(db, "SELECT count(DISTINCT series) FROM all_blocks WHERE tier = 0"
				     " AND t_last >= 1764471599000"),
			 40);
	assert_true(sql_int(db, "SELECT min(t_first) FROM all_blocks WHERE tier = 0") > T0);
	sqlite3_close(db);
	{
		struct store_query q = {.start = T0 + 3 * HOUR - 1000,
					.end = T0 + 3 * HOUR - 1000,
					.step = 1000,
					.tier = -1};
		size_t n;

		assert_int_equal(store__query(st, id[3], &q, pts, 2, NULL, &n), 0);
		assert_int_equal(n, 1);
	}
	assert_int_equal(store__close(st), 0);
	{
		struct stat sb;

		assert_int_equal(stat(path, &sb), 0);
		assert_true((uint64_t)sb.st_size <= p.max_bytes + (64 << 10));
	}
	assert_integrity(path);
}

/* A version 1 database (no state table) is migrated and its data kept; a newer one refused. */
static void test_migration(void **s)
{
	struct store_stats stats;
	struct store_params p;
	struct store *st;
	struct gorilla_enc *e;
	char dir[300], path[320];
	unsigned char b[4];
	sqlite3_stmt *q;
	sqlite3 *db;
	int64_t t;
	double v;
	int id;

	(void)s;
	snprintf(dir, sizeof(dir), "%s/v1", tmpdir);
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(path, sizeof(path), "%s/swarmwatch.db", dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(
		sqlite3_exec(
			db,
			"CREATE TABLE series(id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE,"
			" family TEXT NOT NULL, agent TEXT NOT NULL, type INTEGER NOT NULL,"
			" nb INTEGER NOT NULL);"
			"CREATE TABLE blocks(id INTEGER PRIMARY KEY, tier INTEGER NOT NULL,"
			" series INTEGER NOT NULL, t_first INTEGER NOT NULL, t_last INTEGER NOT NULL,"
			" n INTEGER NOT NULL, data BLOB NOT NULL);"
			"CREATE UNIQUE INDEX blocks_series ON blocks(tier, series, t_first);"
			"CREATE INDEX blocks_age ON blocks(tier, t_last);"
			"CREATE TABLE open_blocks(id INTEGER PRIMARY KEY, tier INTEGER NOT NULL,"
			" series INTEGER NOT NULL, t_first INTEGER NOT NULL, t_last INTEGER NOT NULL,"
			" n INTEGER NOT NULL, data BLOB NOT NULL, UNIQUE(tier, series));"
			"CREATE VIEW all_blocks AS SELECT tier, t_first, series, t_last, n, data FROM"
			" blocks UNION ALL SELECT tier, t_first, series, t_last, n, data FROM"
			" open_blocks;"
			"INSERT INTO series VALUES(7, 'g{agent=\"old\"}', 'g', 'old', 0, 0);"
			"PRAGMA user_version=1;",
			NULL, NULL, NULL),
		SQLITE_OK);
	e = gorilla__enc_new(GORILLA_VALUE, 0, 0);
	assert_int_equal(gorilla__append_value(e, T0, 1.5), 0);
	assert_int_equal(gorilla__append_value(e, T0 + 1000, 2.5), 0);
	assert_int_equal(
		sqlite3_prepare_v2(db,
				   "INSERT INTO blocks(tier, series, t_first, t_last, n, data)"
				   " VALUES(0, 7, ?1, ?2, 2, ?3)",
				   -1, &q, NULL),
		SQLITE_OK);
	sqlite3_bind_int64(q, 1, T0);
	sqlite3_bind_int64(q, 2, T0 + 1000);
	sqlite3_bind_blob(q, 3, e->buf, (int)gorilla__bytes(e), SQLITE_STATIC);
	assert_int_equal(sqlite3_step(q), SQLITE_DONE);
	sqlite3_finalize(q);
	sqlite3_close(db);
	gorilla__enc_free(e);

	store__params_default(&p);
	st = open_at("v1", &p);
	id = store__find(st, "g{agent=\"old\"}");
	assert_true(id >= 0);
	assert_int_equal(store__last(st, id, &t, &v, NULL), 0);
	assert_true(t == T0 + 1000 && v == 2.5);
	assert_int_equal(store__state_put(st, "old", "x", "abc", 3), 0);
	assert_int_equal(store__flush(st, false), 0);
	assert_int_equal(store__close(st), 0);
	db = db_of_path(path);
	assert_int_equal(sql_int(db, "PRAGMA user_version"), 2);
	assert_int_equal(sql_int(db, "SELECT count(*) FROM state"), 1);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version=99", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	/* From the future: not touched, counted, memory goes on. */
	st = open_at("v1", &p);
	store__stats(st, &stats);
	assert_true(stats.errors[STORE_OP_OPEN] >= 1);
	assert_false(stats.db_ok);
	store__begin(st);
	id = series1(st, "g", "new", STORE_GAUGE, 0);
	assert_int_equal(store__append(st, id, T0, 1), 0);
	store__end(st);
	assert_int_equal(store__close(st), -EPROTO);
	db = db_of_path(path);
	assert_int_equal(sql_int(db, "SELECT count(*) FROM series"), 1);
	sqlite3_close(db);
	(void)b;
}

/* A state directory that cannot be created: memory serves, the error is counted, and once the
 * directory can be made every sample kept in memory reaches the disk. */
static void test_bad_dir(void **s)
{
	struct store_point pts[200];
	struct store_stats stats;
	struct store_params p;
	struct store *st;
	char blocker[300];
	size_t n, i;
	int id, fd;

	(void)s;
	snprintf(blocker, sizeof(blocker), "%s/blocker", tmpdir);
	fd = creat(blocker, 0600); /* a file where the directory should be */
	assert_true(fd >= 0);
	close(fd);
	store__params_default(&p);
	st = open_at("blocker/state", &p);
	for (i = 0; i < 120; i++) {
		store__begin(st);
		id = series1(st, "g", "a", STORE_GAUGE, 0);
		assert_int_equal(store__append(st, id, T0 + 1000ll * i, (double)i), 0);
		store__end(st);
	}
	assert_int_equal(store__flush(st, false), -ENOTDIR);
	store__stats(st, &stats);
	assert_true(stats.errors[STORE_OP_OPEN] >= 2);
	assert_false(stats.db_ok);
	{
		struct store_query q = {.start = T0, .end = T0 + 119000, .step = 1000, .tier = -1};

		assert_int_equal(store__query(st, id, &q, pts, 200, NULL, &n), 0);
		assert_int_equal(n, 120);
	}
	assert_int_equal(unlink(blocker), 0);
	assert_int_equal(store__flush(st, false), 0);
	store__stats(st, &stats);
	assert_true(stats.db_ok);
	assert_int_equal(store__close(st), 0);
	st = open_at("blocker/state", &p);
	id = store__find(st, "g{agent=\"a\"}");
	{
		struct store_query q = {.start = T0, .end = T0 + 119000, .step = 1000, .tier = -1};

		assert_int_equal(store__query(st, id, &q, pts, 200, NULL, &n), 0);
		assert_int_equal(n, 120);
		for (i = 0; i < n; i++)
			assert_true(pts[i].value == (double)i);
	}
	store__close(st);
}

/* A restart in the middle of a minute and of an hour: the rollups still cover every sample. */
static void test_rollup_restart(void **s)
{
	enum { N = 90 * 60 };
	static int64_t t[N];
	static double v[N];
	struct store_point pts[100], want;
	struct store_params p;
	struct store *st;
	size_t n, i;
	int id = -1, k;

	(void)s;
	store__params_default(&p);
	st = open_at("rollup-restart", &p);
	for (i = 0; i < N; i++) {
		if (i == 37 * 60 + 29) { /* stop and start again */
			assert_int_equal(store__close(st), 0);
			st = open_at("rollup-restart", &p);
			id = store__find(st, "g{agent=\"a\"}");
			assert_true(id >= 0);
		}
		t[i] = T0 + 1000ll * i;
		v[i] = gauge_at(i);
		store__begin(st);
		if (id < 0)
			id = series1(st, "g", "a", STORE_GAUGE, 0);
		assert_int_equal(store__append(st, id, t[i], v[i]), 0);
		store__end(st);
		if (i % 60 == 0)
			store__flush(st, false);
	}
	for (k = STORE_1M; k <= STORE_1H; k++) {
		int64_t per = store_tier_period_ms[k];
		struct store_query q = {
			.start = T0, .end = T0 + N * 1000ll - 1, .step = per, .tier = k};

		assert_int_equal(store__query(st, id, &q, pts, 100, NULL, &n), 0);
		assert_int_equal(n, (size_t)((N * 1000ll + per - 1) / per));
		for (i = 0; i < n; i++) {
			direct(t, v, N, pts[i].t, pts[i].t + per, &want);
			assert_int_equal(pts[i].count, want.count);
			assert_true(pts[i].min == want.min && pts[i].max == want.max);
			assert_true(pts[i].sum == want.sum && pts[i].value == want.value);
		}
	}
	assert_int_equal(store__close(st), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key),
		cmocka_unit_test(test_bit_exact),
		cmocka_unit_test(test_rollups_direct),
		cmocka_unit_test(test_rate),
		cmocka_unit_test(test_tier_choice),
		cmocka_unit_test(test_retention),
		cmocka_unit_test(test_reopen),
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_size_bound),
		cmocka_unit_test(test_migration),
		cmocka_unit_test(test_bad_dir),
		cmocka_unit_test(test_rollup_restart),
		cmocka_unit_test(test_agent_span),
	};

	return cmocka_run_group_tests_name("store", tests, setup, teardown);
}
