// SPDX-License-Identifier: MIT
/* scaling: the tick's scaler stage: pool figures -> decisions -> outbox, command, history. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "config.h"
#include "forecast.h"
#include "log.h"
#include "notify.h"
#include "scaling.h"
#include "snapshot.h"
#include "values.h"

extern char **environ;

/* Points kept per trend() series. */
#define TREND_POINTS 600
#define SERIES_MAX 256
#define COUNTS_MAX 256
/* Decisions kept in the history. */
#define HISTORY_DAYS 90
/* Instances with a breaker, over all pools. */
#define INSTANCES_MAX 4096
/* Weight of a tick's figures in an instance's smoothed success ratio and latency. */
#define INSTANCE_ALPHA 0.3
/* The decision state and the forecasts are saved this often, and with every decision. */
#define STATE_SAVE_MS 10000

/* The history of one figure of one pool, for trend() or forecast(). */
struct series {
	char pool[SCALE_NAME_MAX];
	struct alert_query q; /* fn TREND or FORECAST, with its window */
	double t[TREND_POINTS], v[TREND_POINTS]; /* trend: ring, oldest at head */
	uint32_t head, n;
	struct forecast_track *f; /* forecast: the model */
	double last; /* time of the last sample taken */
};

struct count {
	char pool[SCALE_NAME_MAX];
	enum scale_direction dir;
	char rule[SCALE_NAME_MAX];
	double n;
};

/* One live instance of a pool: its breaker and the figures its weight is made of. */
struct inst {
	uint32_t pool; /* index into the configured pools */
	int32_t pid;
	char name[SCALE_INSTANCE_MAX];
	struct breaker b;
	uint64_t requests, failures, lat_sum_ns; /* cumulative, as last seen */
	double req_avg, fail_avg, lat_avg_ns; /* per tick, exponentially smoothed */
	bool scored; /* some request was seen */
	uint32_t connections;
	double weight;
	double quality; /* app-reported, this tick; NAN: none */
	bool seen; /* in this tick's snapshot */
};

struct scaling {
	pthread_mutex_t lock; /* everything below */
	const struct config *cfg;
	struct scale_engine *engine;
	struct values *values;
	struct snapshot *last; /* the snapshot being decided on (a reference) */
	struct notify *notify; /* NULL when no pool has a webhook */
	sqlite3 *db;
	double tick_s; /* the tick's interval */
	double window_s; /* the figures' window (alerts.window): a forecast's warm-up */
	int64_t saved_ms; /* when the state was last saved */
	bool save_failing; /* the last save failed (logged once until one succeeds) */
	struct series *series[SERIES_MAX];
	int nseries;
	struct count counts[COUNTS_MAX];
	int ncounts;
	struct scale_event last_event[SCALE_POOLS_MAX];
	bool have_last[SCALE_POOLS_MAX];
	struct inst *insts; /* by pool, then pid */
	int ninsts, insts_cap;
	double transitions[SCALE_POOLS_MAX][3]; /* breaker changes by pool and state entered */
	const struct snapshot *pushed; /* given to values by scaling__breakers() this tick */
	int running; /* commands not yet reaped; guarded by lock */
	bool stopping; /* scaling__free() began: commands are killed at once (atomic) */
	pthread_cond_t reaped;
};

/* --- the pool figures --- */

static const struct agent_snap *agent_of(const struct snapshot *s, const char *name)
{
	int i;

	for (i = 0; s && i < s->nagents; i++)
		if (!strcmp(s->agents[i].name, name))
			return &s->agents[i];
	return NULL;
}

static long current_of(void *ctx, const char *pool)
{
	struct scaling *sc = ctx;
	const struct agent_snap *a = agent_of(sc->last, pool);

	return a ? (long)a->instances : -1;
}

static int series_value(struct scaling *sc, const struct alert_query *q, const char *pool,
			struct alert_value *out);

static int pool_index(const struct scaling *sc, const char *pool)
{
	uint32_t i;

	for (i = 0; i < sc->cfg->pools->npools; i++)
		if (!strcmp(sc->cfg->pools->pools[i].name, pool))
			return (int)i;
	return -1;
}

static int pool_lookup(void *ctx, const struct alert_query *q, const char *agent,
		       struct alert_value *out)
{
	struct scaling *sc = ctx;
	struct alert_query cpu = {.fn = ALERT_FN_RATE, .name = "cpu_seconds"};
	struct alert_query app = {.fn = ALERT_FN_VALUE, .name = "swarmwatch_agent_app_load"};
	const struct agent_snap *a;

	if (q->fn == ALERT_FN_TREND || q->fn == ALERT_FN_FORECAST)
		return series_value(sc, q, agent, out);
	if (q->fn != ALERT_FN_VALUE || q->nm)
		return values__lookup(sc->values, q, agent, out);
	if (!strcmp(q->name, "open_breakers")) {
		int i, pool = pool_index(sc, agent);

		if (pool < 0)
			return -ENOENT;
		out->value = 0;
		for (i = 0; i < sc->ninsts; i++)
			out->value += sc->insts[i].pool == (uint32_t)pool &&
				      sc->insts[i].b.state == BREAKER_OPEN;
		snprintf(out->cause, sizeof(out->cause), "%.0f instances with an open breaker",
			 out->value);
		return 0;
	}
	if (!strcmp(q->name, "instances")) {
		a = agent_of(sc->last, agent);
		if (!a)
			return -ENOENT;
		out->value = a->instances;
		return 0;
	}
	if (!strcmp(q->name, "load")) {
		if (!values__lookup(sc->values, &app, agent, out))
			return 0;
		a = agent_of(sc->last, agent);
		if (!a || !a->instances || values__lookup(sc->values, &cpu, agent, out))
			return -ENOENT;
		out->value /= a->instances;
		snprintf(out->cause, sizeof(out->cause), "CPU per instance");
		return 0;
	}
	return values__lookup(sc->values, q, agent, out);
}

static bool same_query(const struct alert_query *a, const struct alert_query *b)
{
	uint32_t i;

	if (a->fn != b->fn || a->window_ms != b->window_ms || strcmp(a->name, b->name) ||
	    a->nm != b->nm || a->inner != b->inner || a->inner_q != b->inner_q)
		return false;
	for (i = 0; i < a->nm; i++)
		if (strcmp(a->m[i].name, b->m[i].name) || strcmp(a->m[i].value, b->m[i].value) ||
		    a->m[i].negate != b->m[i].negate)
			return false;
	return true;
}

static void series_restore(struct scaling *sc, struct series *x);

static struct series *series_find(struct scaling *sc, const struct alert_query *q, const char *pool,
				  bool create)
{
	struct series *x;
	int i;

	for (i = 0; i < sc->nseries; i++)
		if (!strcmp(sc->series[i]->pool, pool) && same_query(&sc->series[i]->q, q))
			return sc->series[i];
	if (!create || sc->nseries == SERIES_MAX)
		return NULL;
	x = calloc(1, sizeof(*x));
	if (!x)
		return NULL;
	snprintf(x->pool, sizeof(x->pool), "%s", pool);
	x->q = *q;
	x->last = -1;
	if (q->fn == ALERT_FN_FORECAST) {
		x->f = malloc(sizeof(*x->f));
		if (!x->f ||
		    forecast_track__init(x->f, q->window_ms / 1e3, sc->tick_s, sc->window_s)) {
			free(x->f);
			free(x);
			return NULL;
		}
		series_restore(sc, x);
	}
	sc->series[sc->nseries++] = x;
	return x;
}

/* Takes this tick's value of the figure under x (the query without trend/forecast). */
static void series_sample(struct scaling *sc, struct series *x, double now)
{
	struct alert_query inner = x->q;
	struct alert_value v = {.confidence = 1};
	uint32_t i;

	if (x->last == now)
		return;
	x->last = now;
	inner.fn = x->q.inner;
	inner.q = x->q.inner_q;
	inner.window_ms = 0;
	if (pool_lookup(sc, &inner, x->pool, &v) || !isfinite(v.value))
		return;
	if (x->q.fn == ALERT_FN_TREND) {
		double span = x->q.window_ms / 1e3 / TREND_POINTS;

		if (x->n && now - x->t[(x->head + x->n - 1) % TREND_POINTS] < span)
			return;
		if (x->n == TREND_POINTS) {
			x->head = (x->head + 1) % TREND_POINTS;
			x->n--;
		}
		i = (x->head + x->n) % TREND_POINTS;
		x->t[i] = now;
		x->v[i] = v.value;
		x->n++;
		return;
	}
	forecast_track__sample(x->f, now, v.value);
}

static int series_value(struct scaling *sc, const struct alert_query *q, const char *pool,
			struct alert_value *out)
{
	struct series *x = series_find(sc, q, pool, false);
	double now = sc->last ? sc->last->time : 0, st = 0, sv = 0, stt = 0, stv = 0;
	uint32_t i, k = 0;
	double first = 0;

	if (!x)
		return -ENOENT;
	if (q->fn == ALERT_FN_FORECAST) {
		if (forecast_track__predict(x->f, q->window_ms / 1e3, &out->value, &out->sd))
			return -ENOENT;
		snprintf(out->cause, sizeof(out->cause),
			 "%s forecast %.0f s ahead: %.3g [%.3g, %.3g]", q->name, q->window_ms / 1e3,
			 out->value, out->value - 1.96 * out->sd, out->value + 1.96 * out->sd);
		return 0;
	}
	/* Least squares over the points inside the window, which must cover half of it. */
	for (i = 0; i < x->n; i++) {
		uint32_t j = (x->head + i) % TREND_POINTS;
		double t;

		if (x->t[j] < now - q->window_ms / 1e3)
			continue;
		if (!k)
			first = x->t[j];
		t = x->t[j] - first;
		st += t;
		sv += x->v[j];
		stt += t * t;
		stv += t * x->v[j];
		k++;
	}
	if (k < 3 || now - first < q->window_ms / 2e3 || k * stt - st * st <= 0)
		return -ENOENT;
	out->value = (k * stv - st * sv) / (k * stt - st * st);
	snprintf(out->cause, sizeof(out->cause), "%s changes by %.3g per second over %.0f s",
		 q->name, out->value, now - first);
	return 0;
}

/* Samples every trend() and forecast() figure the pools' rules name. */
static void sample_all(struct scaling *sc, double now)
{
	const struct scale_params *p = sc->cfg->pools;
	uint32_t i, j, k;

	for (i = 0; i < p->npools; i++)
		for (j = 0; j < p->pools[i].nrules; j++) {
			const struct scale_rule *r = &p->pools[i].rules[j];

			if (r->disabled)
				continue;
			for (k = 0; k < r->cond.n; k++) {
				const struct alert_query *q = &r->cond.term[k].q;
				struct series *x;

				if (q->fn != ALERT_FN_TREND && q->fn != ALERT_FN_FORECAST)
					continue;
				x = series_find(sc, q, p->pools[i].name, true);
				if (x)
					series_sample(sc, x, now);
			}
		}
}

/* --- checking --- */

/*
 * 0 when q can be answered, 1 when its name is unknown now (an app metric that agents may
 * send later), -errno when it never can.
 */
static int check_query(const struct alert_query *q, char *why, size_t len)
{
	struct alert_query inner = *q;
	int rc;

	if (q->fn == ALERT_FN_TREND || q->fn == ALERT_FN_FORECAST) {
		inner.fn = q->inner;
		inner.q = q->inner_q;
		inner.window_ms = 0;
	}
	if (inner.fn == ALERT_FN_VALUE && !inner.nm &&
	    (!strcmp(inner.name, "open_breakers") || !strcmp(inner.name, "instances") ||
	     !strcmp(inner.name, "load")))
		return 0;
	rc = values__check(&inner, why, len);
	/* App metrics (StatsD) are known once agents send them. */
	if (rc == -ENOENT && inner.fn != ALERT_FN_ANOMALY && inner.fn != ALERT_FN_EVENT)
		return 1;
	return rc;
}

int scaling__check(const struct config *c, char *err, size_t errlen, char *warn, size_t warnlen)
{
	const struct scale_params *p = c->pools;
	char why[256];
	uint32_t i, j, k;
	int rc;

	if (warn && warnlen)
		warn[0] = 0;
	for (i = 0; p && i < p->npools; i++)
		for (j = 0; j < p->pools[i].nrules; j++) {
			const struct scale_rule *r = &p->pools[i].rules[j];

			if (r->disabled)
				continue;
			for (k = 0; k < r->cond.n; k++) {
				rc = check_query(&r->cond.term[k].q, why, sizeof(why));
				if (rc < 0) {
					snprintf(err, errlen, "pools.%s.rules: \"%s\": %s",
						 p->pools[i].name, r->name, why);
					return -EINVAL;
				}
				if (rc > 0 && warn && !warn[0])
					snprintf(warn, warnlen,
						 "pools.%s.rules: \"%s\": %s; the rule holds only "
						 "once agents send it (an app metric)",
						 p->pools[i].name, r->name, why);
			}
		}
	return 0;
}

/* --- history --- */

static int history_open(struct scaling *sc, const char *dir, char *err, size_t errlen)
{
	static const char *const schema =
		"PRAGMA journal_mode=WAL;"
		"CREATE TABLE IF NOT EXISTS decisions (time_ms INTEGER NOT NULL, pool TEXT NOT NULL, "
		"direction TEXT NOT NULL, current INTEGER, desired INTEGER, rule TEXT, metric TEXT, "
		"value REAL, reason TEXT, cooldown_until_ms INTEGER, key TEXT UNIQUE);"
		"CREATE INDEX IF NOT EXISTS decisions_pool ON decisions (pool, time_ms);"
		"CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, saved_ms INTEGER NOT NULL, "
		"blob BLOB NOT NULL);";
	char path[512];
	char *msg = NULL;

	if (dir && dir[0]) {
		mkdir(dir, 0750);
		snprintf(path, sizeof(path), "%s/scaling.db", dir);
	} else {
		snprintf(path, sizeof(path), ":memory:");
	}
	if (sqlite3_open_v2(path, &sc->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
		    SQLITE_OK ||
	    sqlite3_busy_timeout(sc->db, 5000) != SQLITE_OK ||
	    sqlite3_exec(sc->db, schema, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errlen,
			 "scaling: cannot open the decision history %s: %s (check the store "
			 "directory's permissions)",
			 path, msg ? msg : sqlite3_errmsg(sc->db));
		sqlite3_free(msg);
		return -EIO;
	}
	return 0;
}

static void history_add(struct scaling *sc, const struct scale_event *ev)
{
	static const char *const ins =
		"INSERT OR IGNORE INTO decisions VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, "
		"?11)";
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(sc->db, ins, -1, &st, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_bind_int64(st, 1, ev->time_ms);
	sqlite3_bind_text(st, 2, ev->pool, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, scale_direction_names[ev->direction], -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, ev->current);
	sqlite3_bind_int64(st, 5, ev->desired);
	sqlite3_bind_text(st, 6, ev->rule, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, ev->metric, -1, SQLITE_STATIC);
	if (isfinite(ev->value))
		sqlite3_bind_double(st, 8, ev->value);
	sqlite3_bind_text(st, 9, ev->reason, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 10, ev->cooldown_until_ms);
	sqlite3_bind_text(st, 11, ev->key, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		goto fail;
	sqlite3_finalize(st);
	st = NULL;
	if (sqlite3_prepare_v2(sc->db, "DELETE FROM decisions WHERE time_ms < ?1", -1, &st, NULL) ==
	    SQLITE_OK) {
		sqlite3_bind_int64(st, 1, ev->time_ms - HISTORY_DAYS * 86400000LL);
		sqlite3_step(st);
	}
	sqlite3_finalize(st);
	return;
fail:
	pr_warn("scaling: decision for pool %s not recorded in the history: %s", ev->pool,
		sqlite3_errmsg(sc->db));
	sqlite3_finalize(st);
}

static const char *text_col(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return t ? (const char *)t : "";
}

long scaling__history(struct scaling *sc, const char *pool, long limit, struct scale_event **out)
{
	static const char *const sel =
		"SELECT time_ms, direction, current, desired, rule, metric, value, reason, "
		"cooldown_until_ms, key FROM decisions WHERE pool = ?1 ORDER BY time_ms DESC "
		"LIMIT ?2";
	struct scale_event *ev = NULL, *bigger;
	sqlite3_stmt *st = NULL;
	long n = 0, cap = 0;
	int rc;

	*out = NULL;
	pthread_mutex_lock(&sc->lock);
	if (!scale__pool(sc->engine, pool)) {
		pthread_mutex_unlock(&sc->lock);
		return -ENOENT;
	}
	if (sqlite3_prepare_v2(sc->db, sel, -1, &st, NULL) != SQLITE_OK) {
		n = -EIO;
		goto out;
	}
	sqlite3_bind_text(st, 1, pool, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct scale_event *e;
		const char *d;

		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			bigger = realloc(ev, cap * sizeof(*ev));
			if (!bigger) {
				n = -ENOMEM;
				goto out;
			}
			ev = bigger;
		}
		e = &ev[n++];
		memset(e, 0, sizeof(*e));
		snprintf(e->pool, sizeof(e->pool), "%s", pool);
		e->time_ms = sqlite3_column_int64(st, 0);
		d = (const char *)sqlite3_column_text(st, 1);
		e->direction = d && !strcmp(d, "up")	 ? SCALE_UP
			       : d && !strcmp(d, "down") ? SCALE_DOWN
							 : SCALE_NONE;
		e->current = (uint32_t)sqlite3_column_int64(st, 2);
		e->desired = (uint32_t)sqlite3_column_int64(st, 3);
		snprintf(e->rule, sizeof(e->rule), "%s", text_col(st, 4));
		snprintf(e->metric, sizeof(e->metric), "%s", text_col(st, 5));
		e->value = sqlite3_column_type(st, 6) == SQLITE_NULL ? NAN
								     : sqlite3_column_double(st, 6);
		snprintf(e->reason, sizeof(e->reason), "%s", text_col(st, 7));
		e->cooldown_until_ms = sqlite3_column_int64(st, 8);
		snprintf(e->key, sizeof(e->key), "%s", text_col(st, 9));
	}
	if (rc != SQLITE_DONE)
		n = -EIO;
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&sc->lock);
	if (n < 0)
		free(ev);
	else
		*out = ev;
	return n;
}

/* Each pool's last decision from the history: its cooldown and the last one shown. */
static void restore(struct scaling *sc)
{
	uint32_t i;

	for (i = 0; i < sc->cfg->pools->npools; i++) {
		const char *name = sc->cfg->pools->pools[i].name;
		struct scale_event *ev = NULL;
		long n;

		n = scaling__history(sc, name, 1, &ev);
		if (n == 1 && !scale__restore(sc->engine, ev)) {
			sc->last_event[i] = ev[0];
			sc->have_last[i] = true;
		}
		free(ev);
	}
}

/* --- saved state: each pool's decision state and each forecast's model --- */

/* The key of a forecast's saved model: its pool and its query, every field of it. */
static void series_key(const struct series *x, char *buf, size_t len)
{
	const struct alert_query *q = &x->q;
	size_t o;
	uint32_t i;

	o = snprintf(buf, len, "forecast/%s/%d/%.17g/%s/%lld", x->pool, (int)q->inner, q->inner_q,
		     q->name, (long long)q->window_ms);
	for (i = 0; i < q->nm && o < len; i++)
		o += snprintf(buf + o, len - o, "/%s%s%s", q->m[i].name,
			      q->m[i].negate ? "!=" : "=", q->m[i].value);
}

static int state_put(struct scaling *sc, const char *key, int64_t now_ms, const void *blob,
		     long len)
{
	static const char *const ins = "INSERT OR REPLACE INTO state VALUES (?1, ?2, ?3)";
	sqlite3_stmt *st = NULL;
	int err = 0;

	if (sqlite3_prepare_v2(sc->db, ins, -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now_ms);
	sqlite3_bind_blob(st, 3, blob, (int)len, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		err = -EIO;
	sqlite3_finalize(st);
	return err;
}

/* The saved blob of key into a malloc'd *out; its length, or -ENOENT, -EIO, -ENOMEM. */
static long state_get(struct scaling *sc, const char *key, int64_t *saved_ms, void **out)
{
	static const char *const sel = "SELECT saved_ms, blob FROM state WHERE key = ?1";
	sqlite3_stmt *st = NULL;
	long n = -ENOENT;
	int rc;

	*out = NULL;
	if (sqlite3_prepare_v2(sc->db, sel, -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		n = sqlite3_column_bytes(st, 1);
		*saved_ms = sqlite3_column_int64(st, 0);
		*out = malloc(n ? n : 1);
		if (!*out)
			n = -ENOMEM;
		else if (n)
			memcpy(*out, sqlite3_column_blob(st, 1), n);
	} else if (rc != SQLITE_DONE) {
		n = -EIO;
	}
	sqlite3_finalize(st);
	return n;
}

/* A new forecast takes its saved model, unless it is older than the horizon it looks at. */
static void series_restore(struct scaling *sc, struct series *x)
{
	double now = sc->last ? sc->last->time : 0;
	int64_t saved_ms = 0;
	char key[512];
	void *blob;
	long n;

	series_key(x, key, sizeof(key));
	n = state_get(sc, key, &saved_ms, &blob);
	if (n < 0 && n != -ENOENT)
		pr_warn("scaling: pool %s: cannot read the saved forecast of %s from %s (%s); it "
			"learns again",
			x->pool, x->q.name, sqlite3_db_filename(sc->db, "main"), strerror((int)-n));
	if (n > 0 && now * 1e3 - saved_ms <= x->q.window_ms &&
	    forecast_track__restore(x->f, blob, n))
		pr_warn("scaling: pool %s: the saved forecast of %s is not usable; it learns again",
			x->pool, x->q.name);
	free(blob);
}

/* Each pool's saved decision state: its windows' recommendations, cooldown, cap. */
static void pools_restore(struct scaling *sc)
{
	struct timespec ts;
	int64_t now_ms, saved_ms;
	char key[SCALE_NAME_MAX + 8];
	uint32_t i;
	void *blob;
	long n;
	int err;

	clock_gettime(CLOCK_REALTIME, &ts);
	now_ms = ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
	for (i = 0; i < sc->cfg->pools->npools; i++) {
		snprintf(key, sizeof(key), "pool/%s", sc->cfg->pools->pools[i].name);
		n = state_get(sc, key, &saved_ms, &blob);
		if (n < 0 && n != -ENOENT)
			pr_warn("scaling: pool %s: cannot read the saved decision state from %s (%s); "
				"its windows start again",
				sc->cfg->pools->pools[i].name, sqlite3_db_filename(sc->db, "main"),
				strerror((int)-n));
		if (n > 0 && (err = scale__load(sc->engine, blob, n, now_ms)))
			pr_warn("scaling: pool %s: the saved decision state is not usable (%s); its "
				"windows start again",
				sc->cfg->pools->pools[i].name, strerror(-err));
		free(blob);
	}
}

/* Saves every pool's decision state and every forecast's model; 0 or -errno. */
static int state_save(struct scaling *sc, int64_t now_ms)
{
	size_t cap = scale__state_size() > forecast_track__state_size()
			     ? scale__state_size()
			     : forecast_track__state_size();
	char key[512];
	void *buf = malloc(cap);
	int err = 0, i;
	uint32_t k;
	long n;

	if (!buf)
		return -ENOMEM;
	for (k = 0; !err && k < sc->cfg->pools->npools; k++) {
		const char *pool = sc->cfg->pools->pools[k].name;

		snprintf(key, sizeof(key), "pool/%s", pool);
		n = scale__save(sc->engine, pool, now_ms, buf, cap);
		err = n < 0 ? (int)n : state_put(sc, key, now_ms, buf, n);
	}
	for (i = 0; !err && i < sc->nseries; i++) {
		if (!sc->series[i]->f)
			continue;
		series_key(sc->series[i], key, sizeof(key));
		n = forecast_track__save(sc->series[i]->f, buf, cap);
		err = n < 0 ? (int)n : state_put(sc, key, now_ms, buf, n);
	}
	free(buf);
	return err;
}

/* Ends the transaction of a tick that saves: its decisions and the state, or neither. */
static void state_commit(struct scaling *sc, int64_t now_ms)
{
	int err = state_save(sc, now_ms);

	if (!err && sqlite3_exec(sc->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		err = -EIO;
	if (err) {
		if (!sc->save_failing)
			pr_warn("scaling: the scaling state was not saved: %s (%s); a restart would "
				"start the pools' windows again, check the store directory",
				strerror(-err), sqlite3_errmsg(sc->db));
		sqlite3_exec(sc->db, "ROLLBACK", NULL, NULL, NULL);
		sc->save_failing = true;
		return;
	}
	sc->save_failing = false;
	sc->saved_ms = now_ms;
}

/* --- actions --- */

static void rfc3339(int64_t ms, char *buf, size_t len)
{
	time_t t = ms / 1000;
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

/* The scaling webhook's body: one decision. */
static char *webhook_body(const struct scale_pool *p, const struct scale_event *ev)
{
	char at[64], until[64];
	json_t *o;
	char *s;

	rfc3339(ev->time_ms, at, sizeof(at));
	rfc3339(ev->cooldown_until_ms, until, sizeof(until));
	o = json_pack("{s:s, s:s, s:s, s:i, s:i, s:s, s:s, s:s, s:o, s:s, s:s, s:s, s:s, s:s, s:i, "
		      "s:i}",
		      "schema", "swarmwatch.scaling/v1", "source", "swarmwatch", "pool", ev->pool,
		      "current_replicas", (json_int_t)ev->current, "desired_replicas",
		      (json_int_t)ev->desired, "direction", scale_direction_names[ev->direction],
		      "rule", ev->rule, "metric", ev->metric, "value",
		      isfinite(ev->value) ? json_real(ev->value) : json_null(), "reason",
		      ev->reason, "time", at, "cooldown_until", until, "idempotency_key", ev->key,
		      "id", ev->key, "min_replicas", (json_int_t)p->min_replicas, "max_replicas",
		      (json_int_t)p->max_replicas);
	if (!o)
		return NULL;
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	return s;
}

struct job {
	struct scaling *sc;
	char pool[SCALE_NAME_MAX];
	char args[SCALE_ARGS_MAX][256];
	uint32_t n;
	int64_t timeout_ms;
};

/* {pool} {desired} {current} {rule} in one argument. */
static void expand(const char *in, const struct scale_event *ev, char *out, size_t len)
{
	size_t o = 0;

	while (*in && o + 1 < len) {
		char val[SCALE_NAME_MAX];
		const char *names[] = {"{pool}", "{desired}", "{current}", "{rule}"};
		int k;

		for (k = 0; k < 4; k++)
			if (!strncmp(in, names[k], strlen(names[k])))
				break;
		if (k == 4) {
			out[o++] = *in++;
			continue;
		}
		if (k == 0)
			snprintf(val, sizeof(val), "%s", ev->pool);
		else if (k == 1)
			snprintf(val, sizeof(val), "%u", ev->desired);
		else if (k == 2)
			snprintf(val, sizeof(val), "%u", ev->current);
		else
			snprintf(val, sizeof(val), "%s", ev->rule);
		o += snprintf(out + o, len - o, "%s", val);
		if (o >= len)
			o = len - 1;
		in += strlen(names[k]);
	}
	out[o] = 0;
}

static void *run_job(void *arg)
{
	struct job *j = arg;
	char *argv[SCALE_ARGS_MAX + 1];
	int64_t waited = 0;
	int status = 0, rc;
	uint32_t i;
	pid_t pid;

	for (i = 0; i < j->n; i++)
		argv[i] = j->args[i];
	argv[j->n] = NULL;
	rc = posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ);
	if (rc) {
		pr_warn("scaling: pool %s: cannot run %s: %s (give a full path or fix the "
			"command)",
			j->pool, argv[0], strerror(rc));
		goto out;
	}
	while ((rc = waitpid(pid, &status, WNOHANG)) == 0 && waited < j->timeout_ms &&
	       !__atomic_load_n(&j->sc->stopping, __ATOMIC_ACQUIRE)) {
		struct timespec ts = {0, 50000000};

		nanosleep(&ts, NULL);
		waited += 50;
	}
	if (rc == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		pr_warn("scaling: pool %s: %s did not finish within %lld ms and was killed",
			j->pool, argv[0], (long long)j->timeout_ms);
	} else if (rc > 0 && (!WIFEXITED(status) || WEXITSTATUS(status))) {
		pr_warn("scaling: pool %s: %s failed (%s %d)", j->pool, argv[0],
			WIFEXITED(status) ? "exit status" : "signal",
			WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	}
out:
	pthread_mutex_lock(&j->sc->lock);
	j->sc->running--;
	pthread_cond_broadcast(&j->sc->reaped);
	pthread_mutex_unlock(&j->sc->lock);
	free(j);
	return NULL;
}

/* Runs p's command for ev on a thread of its own; called with the lock held. */
static void run_command(struct scaling *sc, const struct scale_pool *p,
			const struct scale_event *ev)
{
	struct job *j = calloc(1, sizeof(*j));
	pthread_attr_t at;
	pthread_t th;
	uint32_t i;

	if (!j) {
		pr_warn("scaling: pool %s: command not run: out of memory", p->name);
		return;
	}
	j->sc = sc;
	snprintf(j->pool, sizeof(j->pool), "%s", p->name);
	j->n = p->ncommand;
	j->timeout_ms = p->command_timeout_ms;
	for (i = 0; i < p->ncommand; i++)
		expand(p->command[i], ev, j->args[i], sizeof(j->args[i]));
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	sc->running++;
	if (pthread_create(&th, &at, run_job, j)) {
		sc->running--;
		pr_warn("scaling: pool %s: command not run: no thread", p->name);
		free(j);
	}
	pthread_attr_destroy(&at);
}

static void count(struct scaling *sc, const struct scale_event *ev)
{
	int i;

	for (i = 0; i < sc->ncounts; i++)
		if (!strcmp(sc->counts[i].pool, ev->pool) && sc->counts[i].dir == ev->direction &&
		    !strcmp(sc->counts[i].rule, ev->rule))
			break;
	if (i == sc->ncounts) {
		if (i == COUNTS_MAX)
			return;
		sc->ncounts++;
		snprintf(sc->counts[i].pool, sizeof(sc->counts[i].pool), "%s", ev->pool);
		snprintf(sc->counts[i].rule, sizeof(sc->counts[i].rule), "%s", ev->rule);
		sc->counts[i].dir = ev->direction;
	}
	sc->counts[i].n++;
}

static int act(struct scaling *sc, const struct scale_event *ev)
{
	const struct scale_pool *p = scale__pool(sc->engine, ev->pool);
	char receiver[NOTIFY_NAME_MAX];
	struct notify_msg m;
	char *body;
	int err = 0;
	uint32_t i;

	pr_info("scaling: pool %s %s %u -> %u (%s)", ev->pool, scale_direction_names[ev->direction],
		ev->current, ev->desired, ev->reason);
	history_add(sc, ev);
	count(sc, ev);
	for (i = 0; i < sc->cfg->pools->npools; i++)
		if (!strcmp(sc->cfg->pools->pools[i].name, ev->pool)) {
			sc->last_event[i] = *ev;
			sc->have_last[i] = true;
		}
	if (p->webhook[0] && sc->notify) {
		body = webhook_body(p, ev);
		if (!body)
			return -ENOMEM;
		snprintf(receiver, sizeof(receiver), "pool-%.50s", p->name);
		m.receiver = receiver;
		m.key = ev->key;
		m.body = body;
		err = notify__enqueue(sc->notify, &m, 1, NULL, NULL, 0);
		if (err)
			pr_warn("scaling: pool %s: webhook not queued: %s", p->name,
				strerror(-err));
		free(body);
	}
	if (p->ncommand)
		run_command(sc, p, ev);
	return err;
}

/* --- breakers and routing weights --- */

/* The breaker webhook's body: one change of state of one instance. */
static char *breaker_body(const struct scale_pool *p, const struct inst *x,
			  const struct breaker_change *c, const char *key)
{
	char at[64], retry[64];
	json_t *o;
	char *s;

	rfc3339(c->time_ms, at, sizeof(at));
	rfc3339(x->b.until_ms, retry, sizeof(retry));
	o = json_pack("{s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:s, s:s, s:o, s:s, s:s}", "schema",
		      "swarmwatch.breaker/v1", "source", "swarmwatch", "pool", p->name, "instance",
		      x->name, "pid", (json_int_t)x->pid, "from", breaker_state_names[c->from],
		      "to", breaker_state_names[c->to], "reason", c->reason, "time", at, "retry_at",
		      c->to == BREAKER_OPEN ? json_string(retry) : json_null(), "idempotency_key",
		      key, "id", key);
	if (!o)
		return NULL;
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	return s;
}

/* Logs, counts and queues the webhook of one change of x's breaker. */
static int breaker_changed(struct scaling *sc, const struct inst *x, const struct breaker_change *c)
{
	const struct scale_pool *p = &sc->cfg->pools->pools[x->pool];
	char receiver[NOTIFY_NAME_MAX], key[160];
	struct notify_msg m;
	char *body;
	int err;

	pr_info("scaling: pool %s instance %s: breaker %s -> %s (%s)", p->name, x->name,
		breaker_state_names[c->from], breaker_state_names[c->to], c->reason);
	sc->transitions[x->pool][c->to]++;
	if (!p->webhook[0] || !sc->notify)
		return 0;
	snprintf(key, sizeof(key), "breaker-%s-%d-%lld-%s", p->name, x->pid, (long long)c->time_ms,
		 breaker_state_names[c->to]);
	body = breaker_body(p, x, c, key);
	if (!body)
		return -ENOMEM;
	snprintf(receiver, sizeof(receiver), "pool-%.50s", p->name);
	m.receiver = receiver;
	m.key = key;
	m.body = body;
	err = notify__enqueue(sc->notify, &m, 1, NULL, NULL, 0);
	if (err)
		pr_warn("scaling: pool %s: breaker webhook not queued: %s", p->name,
			strerror(-err));
	free(body);
	return err;
}

static struct inst *inst_get(struct scaling *sc, uint32_t pool, const struct instance_snap *is,
			     int64_t now_ms)
{
	struct inst *x;
	int i;

	for (i = 0; i < sc->ninsts; i++)
		if (sc->insts[i].pool == pool && sc->insts[i].pid == is->pid)
			return &sc->insts[i];
	if (sc->ninsts == INSTANCES_MAX)
		return NULL;
	if (sc->ninsts == sc->insts_cap) {
		int cap = sc->insts_cap ? sc->insts_cap * 2 : 32;

		x = realloc(sc->insts, cap * sizeof(*x));
		if (!x)
			return NULL;
		sc->insts = x;
		sc->insts_cap = cap;
	}
	x = &sc->insts[sc->ninsts++];
	memset(x, 0, sizeof(*x));
	x->pool = pool;
	x->pid = is->pid;
	snprintf(x->name, sizeof(x->name), "%s", is->name);
	breaker__init(&x->b, now_ms);
	return x;
}

/* Feeds x's breaker and smoothed figures with what it did since the last tick. */
static int inst_update(struct scaling *sc, struct inst *x, const struct instance_snap *is,
		       int64_t now_ms)
{
	const struct breaker_params *bp = &sc->cfg->pools->pools[x->pool].breaker;
	uint64_t dreq = is->requests >= x->requests ? is->requests - x->requests : is->requests;
	uint64_t dfail = is->failures >= x->failures ? is->failures - x->failures : is->failures;
	uint64_t dlat = is->lat_sum_ns >= x->lat_sum_ns ? is->lat_sum_ns - x->lat_sum_ns
							: is->lat_sum_ns;
	struct breaker_change c[2];
	int n, i, err = 0, e;

	if (dfail > dreq)
		dfail = dreq;
	x->requests = is->requests;
	x->failures = is->failures;
	x->lat_sum_ns = is->lat_sum_ns;
	x->connections = is->connections;
	x->seen = true;
	n = breaker__update(&x->b, bp, now_ms, (uint32_t)(dreq - dfail), (uint32_t)dfail, c);
	for (i = 0; i < n; i++)
		if ((e = breaker_changed(sc, x, &c[i])) && !err)
			err = e;
	if (dreq) {
		double a = x->scored ? INSTANCE_ALPHA : 1;

		x->req_avg += a * ((double)dreq - x->req_avg);
		x->fail_avg += a * ((double)dfail - x->fail_avg);
		x->lat_avg_ns += a * ((double)dlat - x->lat_avg_ns);
		x->scored = true;
	}
	return err;
}

static int cmp_inst(const void *a, const void *b)
{
	const struct inst *x = a, *y = b;

	if (x->pool != y->pool)
		return x->pool < y->pool ? -1 : 1;
	return (x->pid > y->pid) - (x->pid < y->pid);
}

/*
 * The routing weights of pool's instances (a run of sc->insts from first, n long), weighed
 * all together so that they sum to 1 over the pool. 0, or -ENOMEM (the weights stay as they
 * were).
 */
static int pool_weights(struct scaling *sc, const struct scale_pool *p, struct inst *first, int n)
{
	struct alert_query qq = {.fn = ALERT_FN_VALUE, .name = "swarmwatch_agent_app_quality"};
	struct alert_value q = {.confidence = 1};
	struct weights_in *in = malloc(n * sizeof(*in));
	double *w = malloc(n * sizeof(*w));
	int k;

	if (!in || !w) {
		free(in);
		free(w);
		return -ENOMEM;
	}
	if (values__lookup(sc->values, &qq, p->name, &q))
		q.value = NAN;
	for (k = 0; k < n; k++) {
		const struct inst *x = &first[k];
		struct alert_query iq = qq;
		struct alert_value v = {.confidence = 1};
		uint32_t j;

		/* The instance's own quality when agents tag it (statsd.tags "instance"). */
		iq.nm = 1;
		snprintf(iq.m[0].name, sizeof(iq.m[0].name), "instance");
		snprintf(iq.m[0].value, sizeof(iq.m[0].value), "%s", x->name);
		if (values__lookup(sc->values, &iq, p->name, &v))
			v.value = q.value;
		first[k].quality = v.value;

		in[k] = (struct weights_in){
			.open = x->b.state == BREAKER_OPEN,
			.configured = NAN,
			.connections = x->connections,
			.success_ratio = x->scored && x->req_avg > 0 ? 1 - x->fail_avg / x->req_avg
								     : NAN,
			.latency_s = x->scored && x->req_avg > 0 ? x->lat_avg_ns / x->req_avg / 1e9
								 : NAN,
			.quality = v.value,
		};
		for (j = 0; j < p->nweights; j++)
			if (!strcmp(p->weights[j].instance, x->name))
				in[k].configured = p->weights[j].weight;
	}
	weights__compute(p->routing, in, n, w);
	for (k = 0; k < n; k++)
		first[k].weight = w[k];
	free(in);
	free(w);
	return 0;
}

void scaling__breaker_view_free(struct breaker_view *v)
{
	if (!v)
		return;
	free(v->instances);
	free(v->transitions);
	free(v->pools);
	free(v);
}

static struct breaker_view *breaker_view(struct scaling *sc, const struct snapshot *s)
{
	const struct scale_params *pp = sc->cfg->pools;
	struct breaker_view *v = calloc(1, sizeof(*v));
	uint32_t i, k;
	int j;

	if (!v)
		return NULL;
	v->time = s->time;
	v->instances = calloc(sc->ninsts + 1, sizeof(*v->instances));
	v->transitions = calloc(pp->npools * 3 + 1, sizeof(*v->transitions));
	v->pools = calloc(pp->npools + 1, sizeof(*v->pools));
	if (!v->instances || !v->transitions || !v->pools) {
		scaling__breaker_view_free(v);
		return NULL;
	}
	for (i = 0; i < pp->npools; i++) {
		struct breaker_view_pool *o = &v->pools[v->npools++];

		snprintf(o->pool, sizeof(o->pool), "%s", pp->pools[i].name);
		o->seen = agent_of(s, pp->pools[i].name) != NULL;
		o->routing = weights_algorithm_names[pp->pools[i].routing];
		for (k = 0; k < 3; k++) {
			struct scale_view_transition *t;

			if (!sc->transitions[i][k])
				continue;
			t = &v->transitions[v->ntransitions++];
			snprintf(t->pool, sizeof(t->pool), "%s", pp->pools[i].name);
			t->to = breaker_state_names[k];
			t->n = sc->transitions[i][k];
		}
	}
	for (j = 0; j < sc->ninsts; j++) {
		const struct inst *x = &sc->insts[j];
		struct scale_view_instance *o = &v->instances[v->ninstances++];

		snprintf(o->pool, sizeof(o->pool), "%s", pp->pools[x->pool].name);
		snprintf(o->instance, sizeof(o->instance), "%s", x->name);
		o->pid = x->pid;
		o->state = x->b.state;
		o->since = x->b.since_ms / 1e3;
		o->retry_at = x->b.state == BREAKER_OPEN ? x->b.until_ms / 1e3 : 0;
		o->weight = x->weight;
		o->requests = (double)x->requests;
		o->failures = (double)x->failures;
		o->success_ratio = x->scored && x->req_avg > 0 ? 1 - x->fail_avg / x->req_avg : NAN;
		o->latency_s = x->scored && x->req_avg > 0 ? x->lat_avg_ns / x->req_avg / 1e9 : NAN;
		o->connections = x->connections;
		o->quality = x->quality;
		v->pools[x->pool].open_breakers += x->b.state == BREAKER_OPEN;
	}
	return v;
}

int scaling__breakers(struct scaling *sc, struct snapshot *s)
{
	const struct scale_params *pp = sc->cfg->pools;
	int64_t now_ms = (int64_t)(s->time * 1e3);
	int i, j, err = 0, e;
	uint32_t p;

	pthread_mutex_lock(&sc->lock);
	/* The figures (app quality) of this tick. */
	values__push(sc->values, s);
	sc->pushed = s;
	for (i = 0; i < sc->ninsts; i++)
		sc->insts[i].seen = false;
	for (p = 0; p < pp->npools; p++) {
		const struct agent_snap *a = agent_of(s, pp->pools[p].name);
		int agent;

		if (!a)
			continue;
		agent = (int)(a - s->agents);
		for (i = 0; i < s->ninstances; i++) {
			struct inst *x;

			if (s->instances[i].agent != agent)
				continue;
			x = inst_get(sc, p, &s->instances[i], now_ms);
			if (x && (e = inst_update(sc, x, &s->instances[i], now_ms)) && !err)
				err = e;
		}
	}
	for (i = 0, j = 0; i < sc->ninsts; i++)
		if (sc->insts[i].seen)
			sc->insts[j++] = sc->insts[i];
	sc->ninsts = j;
	if (sc->ninsts)
		qsort(sc->insts, sc->ninsts, sizeof(*sc->insts), cmp_inst);
	for (i = 0; i < sc->ninsts; i = j) {
		for (j = i; j < sc->ninsts && sc->insts[j].pool == sc->insts[i].pool; j++)
			;
		e = pool_weights(sc, &pp->pools[sc->insts[i].pool], &sc->insts[i], j - i);
		if (e && !err)
			err = e;
	}
	s->breakers = breaker_view(sc, s);
	s->breakers_free = scaling__breaker_view_free;
	if (!s->breakers && !err)
		err = -ENOMEM;
	pthread_mutex_unlock(&sc->lock);
	return err;
}

/* --- the stage --- */

struct scaling *scaling__new(const struct config *c, double interval_s, char *err, size_t errlen)
{
	struct values_params vp;
	struct notify_params *np = NULL;
	struct scaling *sc;
	char dir[300], why[512];
	uint32_t i;
	int e;

	if (scaling__check(c, err, errlen, why, sizeof(why))) {
		errno = EINVAL;
		return NULL;
	}
	if (why[0])
		pr_info("scaling: %s", why);
	sc = calloc(1, sizeof(*sc));
	if (!sc) {
		errno = ENOMEM;
		return NULL;
	}
	pthread_mutex_init(&sc->lock, NULL);
	pthread_cond_init(&sc->reaped, NULL);
	sc->cfg = c;
	sc->tick_s = interval_s > 0 ? interval_s : 1;
	sc->window_s = c->alerts_window_ns / 1e9;
	values__params_default(&vp, interval_s);
	vp.window_s = c->alerts_window_ns / 1e9;
	sc->values = values__new(&vp);
	sc->engine = scale__new(c->pools, err, errlen);
	if (!sc->values || !sc->engine) {
		e = errno ? errno : ENOMEM;
		goto fail;
	}
	if ((e = -history_open(sc, c->store_dir, err, errlen)))
		goto fail;
	restore(sc);
	pools_restore(sc);
	np = calloc(1, sizeof(*np));
	if (!np) {
		e = ENOMEM;
		goto fail;
	}
	notify__params_default(np);
	for (i = 0; i < c->pools->npools && np->nreceivers < NOTIFY_RECEIVERS_MAX; i++) {
		const struct scale_pool *p = &c->pools->pools[i];
		struct notify_receiver *r = &np->receivers[np->nreceivers];

		if (!p->webhook[0])
			continue;
		snprintf(r->name, sizeof(r->name), "pool-%.50s", p->name);
		r->channel = NOTIFY_JSON;
		snprintf(r->url, sizeof(r->url), "%s", p->webhook);
		snprintf(r->secret, sizeof(r->secret), "%s", p->secret);
		np->nreceivers++;
	}
	if (np->nreceivers) {
		snprintf(dir, sizeof(dir), "%s/scaling", c->store_dir);
		np->dir = c->store_dir[0] ? dir : NULL;
		if (c->store_dir[0])
			mkdir(c->store_dir, 0750);
		sc->notify = notify__open(np, why, sizeof(why));
		if (!sc->notify && errno != EINVAL) {
			pr_warn("%s; scaling webhooks are kept in memory only", why);
			np->dir = NULL;
			sc->notify = notify__open(np, why, sizeof(why));
		}
		if (!sc->notify) {
			e = errno;
			snprintf(err, errlen, "scaling: %s", why);
			goto fail;
		}
	}
	free(np);
	return sc;
fail:
	free(np);
	scaling__free(sc);
	errno = e;
	return NULL;
}

void scaling__free(struct scaling *sc)
{
	int i;

	if (!sc)
		return;
	if (sc->db && sc->engine && sc->last &&
	    sqlite3_exec(sc->db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK)
		state_commit(sc, (int64_t)(sc->last->time * 1e3));
	__atomic_store_n(&sc->stopping, true, __ATOMIC_RELEASE);
	/* Commands see the flag within 50 ms, kill their child and reap it. */
	pthread_mutex_lock(&sc->lock);
	while (sc->running)
		pthread_cond_wait(&sc->reaped, &sc->lock);
	pthread_mutex_unlock(&sc->lock);
	notify__close(sc->notify);
	scale__free(sc->engine);
	values__free(sc->values);
	snapshot__put(sc->last);
	free(sc->insts);
	for (i = 0; i < sc->nseries; i++) {
		free(sc->series[i]->f);
		free(sc->series[i]);
	}
	if (sc->db)
		sqlite3_close(sc->db);
	pthread_cond_destroy(&sc->reaped);
	pthread_mutex_destroy(&sc->lock);
	free(sc);
}

void scaling__view_free(struct scale_view *v)
{
	if (!v)
		return;
	free(v->pools);
	free(v->counts);
	free(v);
}

struct fill {
	struct scaling *sc;
	struct scale_view *v;
};

static int fill_pool(void *ctx, const struct scale_pool_info *p)
{
	struct fill *f = ctx;
	struct scale_view_pool *o = &f->v->pools[f->v->npools];
	int i = f->v->npools++;

	snprintf(o->pool, sizeof(o->pool), "%s", p->pool);
	o->seen = p->seen;
	o->current = p->current;
	o->desired = p->desired;
	o->min_replicas = p->min_replicas;
	o->max_replicas = p->max_replicas;
	o->cooldown_until = p->cooldown_until_ms / 1e3;
	snprintf(o->blocked, sizeof(o->blocked), "%s", p->blocked);
	o->have_last = f->sc->have_last[i];
	if (o->have_last)
		o->last = f->sc->last_event[i];
	return 0;
}

static struct scale_view *view(struct scaling *sc, double t)
{
	struct scale_view *v = calloc(1, sizeof(*v));
	struct fill f = {sc, v};
	int i;

	if (!v)
		return NULL;
	v->time = t;
	v->pools = calloc(sc->cfg->pools->npools + 1, sizeof(*v->pools));
	v->counts = calloc(sc->ncounts + 1, sizeof(*v->counts));
	if (!v->pools || !v->counts) {
		scaling__view_free(v);
		return NULL;
	}
	scale__foreach(sc->engine, fill_pool, &f);
	if (sc->notify) {
		struct notify_stats ns;

		notify__stats(sc->notify, &ns);
		v->outbox = true;
		for (i = 0; i < NOTIFY_RESULTS && i < 3; i++) {
			v->webhooks[i] = (double)ns.total[NOTIFY_JSON][i];
			v->webhook_result[i] = notify_result_names[i];
		}
		v->queue_length = (double)ns.queued;
	}
	for (i = 0; i < sc->ncounts; i++) {
		snprintf(v->counts[i].pool, sizeof(v->counts[i].pool), "%s", sc->counts[i].pool);
		snprintf(v->counts[i].rule, sizeof(v->counts[i].rule), "%s", sc->counts[i].rule);
		v->counts[i].direction = scale_direction_names[sc->counts[i].dir];
		v->counts[i].n = sc->counts[i].n;
	}
	v->ncounts = sc->ncounts;
	return v;
}

int scaling__cap(struct scaling *sc, const char *pool, int64_t until_ms)
{
	int err;

	pthread_mutex_lock(&sc->lock);
	err = scale__cap(sc->engine, pool, until_ms);
	pthread_mutex_unlock(&sc->lock);
	return err;
}

int scaling__tick(struct scaling *sc, struct snapshot *s)
{
	const struct scale_event *out;
	int64_t now_ms = (int64_t)(s->time * 1e3);
	size_t nout = 0, i;
	bool saving;
	int err, e;

	pthread_mutex_lock(&sc->lock);
	if (sc->pushed != s)
		values__push(sc->values, s); /* scaling__breakers() did not run */
	sc->pushed = NULL;
	snapshot__get(s);
	snapshot__put(sc->last);
	sc->last = s;
	sample_all(sc, s->time);
	err = scale__tick(sc->engine, now_ms, current_of, pool_lookup, sc, &out, &nout);
	/* A decision and the state after it are saved together (one transaction). */
	saving = (nout || now_ms - sc->saved_ms >= STATE_SAVE_MS) &&
		 sqlite3_exec(sc->db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK;
	for (i = 0; !err && i < nout; i++)
		if ((e = act(sc, &out[i])) && !err)
			err = e;
	if (saving)
		state_commit(sc, now_ms);
	s->scale = view(sc, s->time);
	s->scale_free = scaling__view_free;
	pthread_mutex_unlock(&sc->lock);
	return err;
}

long scaling__evaluate(struct scaling *sc, const struct config *c, struct scale_event **out,
		       char *err, size_t errlen)
{
	struct scale_engine *e;
	struct scale_event *ev;
	long n = 0;
	uint32_t i, total = 0;
	int k;

	*out = NULL;
	if (scaling__check(c, err, errlen, NULL, 0))
		return -EINVAL;
	e = scale__new(c->pools, err, errlen);
	if (!e)
		return -errno;
	for (i = 0; i < c->pools->npools; i++)
		total += c->pools->pools[i].nrules;
	ev = calloc(total + 1, sizeof(*ev));
	if (!ev) {
		scale__free(e);
		return -ENOMEM;
	}
	pthread_mutex_lock(&sc->lock);
	for (i = 0; i < c->pools->npools; i++) {
		const char *name = c->pools->pools[i].name;

		k = scale__evaluate(e, name, current_of(sc, name), pool_lookup, sc, ev + n,
				    total - n);
		if (k > 0)
			n += k;
	}
	pthread_mutex_unlock(&sc->lock);
	scale__free(e);
	*out = ev;
	return n;
}
