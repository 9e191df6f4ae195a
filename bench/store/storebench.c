// SPDX-License-Identifier: MIT
/*
 * Series store benchmark on real agent series: a capture of /metrics fetched once a second
 * (bench/store/capture) is parsed into series (a histogram is one series of bucket vectors) and
 * fed to the store. Prints, as markdown:
 *   - bytes per stored sample of the raw tier (block bytes, and the database file);
 *   - append cost per sample, and the store's share of a tick at 100 agents;
 *   - query time for 24 h of one series, per tier;
 *   - bytes per rollup row, and the disk projected for 100 agents x 90 days;
 *   - memory for 100 agents' series with the memory tier full.
 *
 *   build/bench/storebench CAPTURE.gz [WORKDIR]
 */
#include <errno.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "gorilla.h"
#include "log.h"
#include "store.h"

#define MAX_LABELS 16
#define MAX_SERIES 20000
#define HIST_MAX 64

struct bseries {
	char family[128];
	char *names[MAX_LABELS], *values[MAX_LABELS];
	unsigned int nl;
	char key[512];
	enum store_type type;
	unsigned int nb;
	double *v; /* per scrape: value, or for a histogram nb + 2 words per scrape */
	uint64_t *h;
	unsigned char *have; /* per scrape */
	int id;
};

static struct bseries series[MAX_SERIES];
static int nseries;
static int64_t *times;
static int nscrapes, cap_scrapes;

/* family -> type from "# TYPE" lines */
static struct {
	char name[128];
	enum store_type type;
} types[2048];
static int ntypes;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* CPU time of this thread: the machine is shared, so wall time would count other work too. */
static double cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static bool section(const char *name)
{
	const char *only = getenv("STOREBENCH_ONLY");

	return !only || strstr(only, name);
}

static long rss_kib(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmRSS:", 6))
			kb = atol(line + 6);
	if (f)
		fclose(f);
	return kb;
}

static int type_of(const char *family, enum store_type *t)
{
	int i;

	for (i = 0; i < ntypes; i++)
		if (!strcmp(types[i].name, family)) {
			*t = types[i].type;
			return 0;
		}
	return -ENOENT;
}

/* Parses name{a="x",...} into family and labels; returns the position after it. */
static char *parse_labels(char *p, char *name, size_t nlen, char **names, char **values,
			  unsigned int *nl)
{
	size_t i = 0;

	while (*p && *p != '{' && *p != ' ' && i + 1 < nlen)
		name[i++] = *p++;
	name[i] = 0;
	*nl = 0;
	if (*p != '{')
		return p;
	p++;
	while (*p && *p != '}') {
		char *n = p, *v, *o;

		while (*p && *p != '=')
			p++;
		*p++ = 0;
		if (*p != '"')
			return NULL;
		v = o = ++p;
		while (*p && *p != '"') {
			if (*p == '\\' && p[1]) {
				p++;
				*o++ = *p == 'n' ? '\n' : *p;
				p++;
			} else {
				*o++ = *p++;
			}
		}
		if (*p == '"')
			p++;
		*o = 0;
		if (*nl < MAX_LABELS) {
			names[*nl] = n;
			values[*nl] = v;
			(*nl)++;
		}
		if (*p == ',')
			p++;
	}
	return *p == '}' ? p + 1 : NULL;
}

static int grow(struct bseries *b);

static struct bseries *get_series(const char *family, char **names, char **values, unsigned int nl,
				  enum store_type type)
{
	char key[512];
	struct bseries *b;
	unsigned int i;
	int k;

	if (store__key(key, sizeof(key), family, (const char *const *)names,
		       (const char *const *)values, nl) < 0)
		return NULL;
	for (k = nseries - 1; k >= 0; k--) /* series come in the same order every scrape */
		if (!strcmp(series[k].key, key))
			return &series[k];
	if (nseries == MAX_SERIES)
		return NULL;
	b = &series[nseries++];
	snprintf(b->family, sizeof(b->family), "%s", family);
	snprintf(b->key, sizeof(b->key), "%s", key);
	b->nl = nl;
	for (i = 0; i < nl; i++) {
		b->names[i] = strdup(names[i]);
		b->values[i] = strdup(values[i]);
	}
	b->type = type;
	if (cap_scrapes) {
		if (grow(b))
			return NULL;
		memset(b->have, 0, cap_scrapes);
	}
	return b;
}

static int grow(struct bseries *b)
{
	size_t words = b->type == STORE_HISTOGRAM ? HIST_MAX + 2 : 1;

	if (b->type == STORE_HISTOGRAM) {
		b->h = realloc(b->h, cap_scrapes * words * sizeof(uint64_t));
		if (!b->h)
			return -ENOMEM;
	} else {
		b->v = realloc(b->v, cap_scrapes * sizeof(double));
		if (!b->v)
			return -ENOMEM;
	}
	b->have = realloc(b->have, cap_scrapes);
	if (!b->have)
		return -ENOMEM;
	return 0;
}

static int load(const char *path)
{
	char cmd[600], *line = NULL, family[128], name[128], *names[MAX_LABELS],
		       *values[MAX_LABELS];
	size_t len = 0;
	unsigned int nl, i;
	FILE *f;
	int s = -1, k;

	snprintf(cmd, sizeof(cmd), "zcat -f '%s'", path);
	f = popen(cmd, "r");
	if (!f)
		return -errno;
	while (getline(&line, &len, f) > 0) {
		enum store_type type;
		struct bseries *b;
		char *p, *end;
		double v;

		line[strcspn(line, "\n")] = 0;
		if (!strncmp(line, "# scrape ", 9)) {
			if (++s >= cap_scrapes) {
				cap_scrapes = cap_scrapes ? cap_scrapes * 2 : 1024;
				times = realloc(times, cap_scrapes * sizeof(*times));
				for (k = 0; k < nseries; k++)
					if (grow(&series[k]))
						return -ENOMEM;
			}
			times[s] = atoll(line + 9);
			for (k = 0; k < nseries; k++)
				series[k].have[s] = 0;
			nscrapes = s + 1;
			continue;
		}
		if (!strncmp(line, "# TYPE ", 7) && ntypes < 2048) {
			char t[32];

			if (sscanf(line + 7, "%127s %31s", types[ntypes].name, t) == 2) {
				types[ntypes].type = !strcmp(t, "counter")     ? STORE_COUNTER
						     : !strcmp(t, "histogram") ? STORE_HISTOGRAM
									       : STORE_GAUGE;
				if (type_of(types[ntypes].name, &type))
					ntypes++;
			}
			continue;
		}
		if (line[0] == '#' || !line[0] || s < 0)
			continue;
		p = parse_labels(line, name, sizeof(name), names, values, &nl);
		if (!p)
			continue;
		v = strtod(p, &end);
		if (end == p)
			continue;
		snprintf(family, sizeof(family), "%s", name);
		if (!type_of(family, &type) && type != STORE_HISTOGRAM) {
			b = get_series(family, names, values, nl, type);
			if (!b)
				continue;
			b->v[s] = v;
			b->have[s] = 1;
			continue;
		}
		/* Histogram parts: _bucket (cumulative, by le), _sum, _count. */
		{
			size_t fl = strlen(family);
			const char *suffix = NULL;
			char le[64] = "";
			unsigned int j = 0;
			uint64_t *row;

			if (fl > 7 && !strcmp(family + fl - 7, "_bucket"))
				suffix = "_bucket";
			else if (fl > 4 && !strcmp(family + fl - 4, "_sum"))
				suffix = "_sum";
			else if (fl > 6 && !strcmp(family + fl - 6, "_count"))
				suffix = "_count";
			if (!suffix)
				continue;
			family[fl - strlen(suffix)] = 0;
			if (type_of(family, &type) || type != STORE_HISTOGRAM)
				continue;
			for (i = 0; i < nl; i++) {
				if (!strcmp(names[i], "le")) {
					snprintf(le, sizeof(le), "%s", values[i]);
					continue;
				}
				names[j] = names[i];
				values[j++] = values[i];
			}
			b = get_series(family, names, values, j, STORE_HISTOGRAM);
			if (!b)
				continue;
			row = b->h + (size_t)s * (HIST_MAX + 2);
			if (!b->have[s]) {
				memset(row, 0, (HIST_MAX + 2) * sizeof(uint64_t));
				b->have[s] = 2; /* buckets are coming */
				b->nb = b->nb ? b->nb : 0;
				row[HIST_MAX] = 0; /* next bucket index */
			}
			if (!strcmp(suffix, "_bucket")) {
				uint64_t idx = row[HIST_MAX];

				if (idx < HIST_MAX)
					row[idx] = (uint64_t)v; /* cumulative for now */
				row[HIST_MAX] = idx + 1;
				if (idx + 1 > b->nb && idx + 1 <= HIST_MAX)
					b->nb = idx + 1;
			} else if (!strcmp(suffix, "_sum")) {
				row[HIST_MAX + 1] = gorilla__f2u(v);
			} else {
				b->have[s] = 1;
			}
		}
	}
	free(line);
	pclose(f);
	/* Histograms: cumulative to per-bucket; the row becomes buckets, sum bits, count. */
	for (k = 0; k < nseries; k++) {
		struct bseries *b = &series[k];

		if (b->type != STORE_HISTOGRAM)
			continue;
		for (s = 0; s < nscrapes; s++) {
			uint64_t *row = b->h + (size_t)s * (HIST_MAX + 2), out[HIST_MAX + 2];
			uint64_t prev = 0;

			if (b->have[s] != 1)
				continue;
			for (i = 0; i < b->nb; i++) {
				out[i] = row[i] - prev;
				prev = row[i];
			}
			out[b->nb] = row[HIST_MAX + 1];
			out[b->nb + 1] = prev;
			memcpy(row, out, (b->nb + 2) * sizeof(uint64_t));
		}
	}
	return 0;
}

static bool is_agent(const struct bseries *b)
{
	return !strncmp(b->family, "swarmwatch_agent_", 17);
}

static bool complete(const struct bseries *b)
{
	int s;

	for (s = 0; s < nscrapes; s++)
		if (b->have[s] != 1)
			return false;
	return b->type != STORE_HISTOGRAM || (b->nb >= 1 && b->nb <= GORILLA_MAX_BUCKETS);
}

/* Value of series b at replay tick t (cycling the capture, counters kept increasing). */
static double value_at(const struct bseries *b, int64_t t)
{
	int64_t cyc = t / nscrapes, i = t % nscrapes;

	if (b->type == STORE_GAUGE)
		return b->v[i];
	return b->v[i] + (double)cyc * (b->v[nscrapes - 1] - b->v[0]);
}

static void row_at(const struct bseries *b, int64_t t, uint64_t *row)
{
	int64_t cyc = t / nscrapes, i = t % nscrapes;
	const uint64_t *r = b->h + (size_t)i * (HIST_MAX + 2);
	const uint64_t *f = b->h, *l = b->h + (size_t)(nscrapes - 1) * (HIST_MAX + 2);
	unsigned int k;

	for (k = 0; k < b->nb + 2; k++)
		row[k] = k == b->nb ? gorilla__f2u(gorilla__u2f(r[k]) +
						   (double)cyc * (gorilla__u2f(l[k]) -
								  gorilla__u2f(f[k])))
				    : r[k] + (uint64_t)cyc * (l[k] - f[k]);
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int64_t sql_i(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	int64_t v = 0;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static struct store *open_store(const char *dir, int64_t raw_retention)
{
	struct store_params p;
	struct store *st;

	store__params_default(&p);
	p.dir = dir;
	p.max_bytes = 0;
	if (raw_retention)
		p.retention_ms[STORE_RAW] = raw_retention;
	st = store__open(&p);
	if (!st) {
		perror("storebench: store__open");
		exit(1);
	}
	store__flush(st, false);
	return st;
}

/* Appends tick t of every selected series (agent k of nrep replicas). */
static int feed_tick(struct store *st, int64_t t0, int64_t t, int nrep, bool lookup)
{
	uint64_t row[GORILLA_MAX_COLS];
	char agent[64];
	int k, r, err = 0;

	for (r = 0; r < nrep; r++) {
		for (k = 0; k < nseries; k++) {
			struct bseries *b = &series[k];
			int id = b->id;

			if (id < 0)
				continue;
			if (lookup || nrep > 1) {
				const char *vals[MAX_LABELS];
				unsigned int i;

				for (i = 0; i < b->nl; i++) {
					vals[i] = b->values[i];
					if (!strcmp(b->names[i], "agent") && nrep > 1) {
						snprintf(agent, sizeof(agent), "%s-%03d",
							 b->values[i], r);
						vals[i] = agent;
					}
				}
				id = store__series(st, b->family, (const char *const *)b->names,
						   vals, b->nl, b->type,
						   b->type == STORE_HISTOGRAM ? b->nb : 0);
				if (id < 0)
					return id;
			}
			if (b->type == STORE_HISTOGRAM) {
				row_at(b, t, row);
				err = store__append_hist(st, id, t0 + t * 1000, row, b->nb,
							 gorilla__u2f(row[b->nb]), row[b->nb + 1]);
			} else {
				err = store__append(st, id, t0 + t * 1000, value_at(b, t));
			}
			if (err)
				return err;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *work = argc > 2 ? argv[2] : "/tmp";
	char dir[512], path[600];
	int nfloat = 0, nhist = 0, nagents = 0, k, s, err;
	char agents[256][64];
	struct store *st;
	sqlite3 *db;
	double t;
	int64_t t0;

	if (argc < 2) {
		fprintf(stderr, "usage: storebench CAPTURE.gz [WORKDIR]\n");
		return 2;
	}
	log__set_level(LOG_ERROR);
	err = load(argv[1]);
	if (err || nscrapes < 10) {
		fprintf(stderr, "storebench: cannot read %s\n", argv[1]);
		return 1;
	}
	for (k = 0; k < nseries; k++) {
		struct bseries *b = &series[k];
		int a;

		b->id = -1;
		if (!is_agent(b) || !complete(b))
			continue;
		b->id = 0;
		b->type == STORE_HISTOGRAM ? nhist++ : nfloat++;
		for (unsigned int i = 0; i < b->nl; i++) {
			if (strcmp(b->names[i], "agent"))
				continue;
			for (a = 0; a < nagents && strcmp(agents[a], b->values[i]); a++)
				;
			if (a == nagents && nagents < 256)
				snprintf(agents[nagents++], 64, "%s", b->values[i]);
		}
	}
	printf("Capture: %d scrapes, %d agent series in every scrape (%d float, %d histogram) "
	       "of %d agents, %.1f series per agent.\n\n",
	       nscrapes, nfloat + nhist, nfloat, nhist, nagents,
	       (double)(nfloat + nhist) / (nagents ? nagents : 1));
	t0 = times[0] / 1000 * 1000;

	/* 2. Memory and the tick path at 100 agents (key lookup per series per tick, as the tick
	 * stage does), then the append cost with ids known. */
	if (section("tick")) {
		struct store_params p;
		int64_t ticks = nscrapes * 4, tk, n = 0;
		double *tick_ms;
		int reps = nagents ? (100 + nagents - 1) / nagents : 1;

		long rss0;

		store__params_default(&p);
		p.dir = NULL;
		rss0 = rss_kib();
		st = store__open(&p);
		tick_ms = calloc(ticks, sizeof(double));
		for (tk = 0; tk < ticks; tk++) {
			double a = cpu_s();

			store__begin(st);
			feed_tick(st, t0, tk, reps, true);
			store__end(st);
			tick_ms[tk] = (cpu_s() - a) * 1e3;
		}
		{
			struct store_stats stats;

			store__stats(st, &stats);
			printf("Memory at %d agents (%d series) with the memory tier full (%lld s of "
			       "data, 15 min kept): store accounting %.1f MiB, process RSS grew by "
			       "%.1f MiB.\n\n",
			       nagents * reps, (nfloat + nhist) * reps, (long long)ticks,
			       stats.mem_bytes / 1048576.0, (rss_kib() - rss0) / 1024.0);
		}
		{
			double tot = 0;

			qsort(tick_ms, ticks, sizeof(double), cmp_d);
			for (tk = 0; tk < ticks; tk++)
				tot += tick_ms[tk];
			printf("Store stage of a tick at %d agents (%d series; lookup by key, append, "
			       "sweep), CPU time: median %.2f ms, p99 %.2f ms, max %.2f ms over %lld "
			       "ticks; %.0f ns per sample.\n\n",
			       nagents * reps, (nfloat + nhist) * reps, tick_ms[ticks / 2],
			       tick_ms[ticks * 99 / 100], tick_ms[ticks - 1], (long long)ticks,
			       tot * 1e6 / ((double)ticks * (nfloat + nhist) * reps));
		}
		free(tick_ms);
		store__close(st);

		st = store__open(&p);
		store__begin(st);
		for (k = 0; k < nseries; k++) {
			struct bseries *b = &series[k];

			if (b->id >= 0)
				b->id = store__series(st, b->family, (const char *const *)b->names,
						      (const char *const *)b->values, b->nl,
						      b->type,
						      b->type == STORE_HISTOGRAM ? b->nb : 0);
		}
		printf("| append (CPU time) | samples | ns per sample |\n|---|---|---|\n");
		for (int pass = 0; pass < 2; pass++) {
			uint64_t row[GORILLA_MAX_COLS];

			n = 0;
			t = cpu_s();
			for (tk = 0; tk < ticks; tk++) {
				for (k = 0; k < nseries; k++) {
					struct bseries *b = &series[k];

					if (b->id < 0 || (b->type == STORE_HISTOGRAM) != pass)
						continue;
					if (pass) {
						row_at(b, tk, row);
						store__append_hist(st, b->id, t0 + tk * 1000, row,
								   b->nb, gorilla__u2f(row[b->nb]),
								   row[b->nb + 1]);
					} else {
						store__append(st, b->id, t0 + tk * 1000,
							      value_at(b, tk));
					}
					n++;
				}
			}
			t = cpu_s() - t;
			printf("| `store__%s`, id known, %s series (%lld ticks) | %lld | **%.0f** |\n",
			       pass ? "append_hist" : "append", pass ? "histogram" : "float",
			       (long long)ticks, (long long)n, t * 1e9 / n);
			if (!pass) { /* the histograms continue at the same times */
				store__end(st);
				store__close(st);
				st = store__open(&p);
				store__begin(st);
				for (k = 0; k < nseries; k++) {
					struct bseries *b = &series[k];

					if (b->id >= 0)
						b->id = store__series(
							st, b->family,
							(const char *const *)b->names,
							(const char *const *)b->values, b->nl,
							b->type,
							b->type == STORE_HISTOGRAM ? b->nb : 0);
				}
			}
		}
		store__end(st);
		printf("\n");
		store__close(st);
	}

	/* 1. Bytes per sample: the capture as it came (its own timestamps). */
	if (section("bytes")) {
		snprintf(dir, sizeof(dir), "%s/storebench-%d-a", work, getpid());
		st = open_store(dir, 0);
		for (s = 0; s < nscrapes; s++) {
			uint64_t row[GORILLA_MAX_COLS];

			store__begin(st);
			for (k = 0; k < nseries; k++) {
				struct bseries *b = &series[k];
				int id;

				if (b->id < 0)
					continue;
				id = store__series(st, b->family, (const char *const *)b->names,
						   (const char *const *)b->values, b->nl, b->type,
						   b->type == STORE_HISTOGRAM ? b->nb : 0);
				if (b->type == STORE_HISTOGRAM) {
					memcpy(row, b->h + (size_t)s * (HIST_MAX + 2),
					       (b->nb + 2) * 8);
					store__append_hist(st, id, times[s], row, b->nb,
							   gorilla__u2f(row[b->nb]),
							   row[b->nb + 1]);
				} else {
					store__append(st, id, times[s], b->v[s]);
				}
			}
			store__end(st);
		}
		store__flush(st, false);
		snprintf(path, sizeof(path), "%s", store__db_path(st));
		store__close(st);
		sqlite3_open(path, &db);
		{
			int64_t fb = sql_i(
				db, "SELECT sum(length(b.data)) FROM all_blocks b JOIN series s ON"
				    " s.id = b.series WHERE b.tier = 0 AND s.type != 2");
			int64_t fn = sql_i(db, "SELECT sum(b.n) FROM all_blocks b JOIN series s ON"
					       " s.id = b.series WHERE b.tier = 0 AND s.type != 2");
			int64_t hb = sql_i(
				db, "SELECT sum(length(b.data)) FROM all_blocks b JOIN series s ON"
				    " s.id = b.series WHERE b.tier = 0 AND s.type = 2");
			int64_t hn = sql_i(db, "SELECT sum(b.n) FROM all_blocks b JOIN series s ON"
					       " s.id = b.series WHERE b.tier = 0 AND s.type = 2");
			int64_t hv = sql_i(
				db,
				"SELECT sum(b.n * (s.nb + 2)) FROM all_blocks b JOIN series s ON"
				" s.id = b.series WHERE b.tier = 0 AND s.type = 2");
			int64_t cb = sql_i(
				db, "SELECT sum(length(b.data)) FROM all_blocks b JOIN series s ON"
				    " s.id = b.series WHERE b.tier = 0 AND s.type = 1");
			int64_t cn = sql_i(db, "SELECT sum(b.n) FROM all_blocks b JOIN series s ON"
					       " s.id = b.series WHERE b.tier = 0 AND s.type = 1");
			int64_t gb = sql_i(
				db, "SELECT sum(length(b.data)) FROM all_blocks b JOIN series s ON"
				    " s.id = b.series WHERE b.tier = 0 AND s.type = 0");
			int64_t gn = sql_i(db, "SELECT sum(b.n) FROM all_blocks b JOIN series s ON"
					       " s.id = b.series WHERE b.tier = 0 AND s.type = 0");
			int64_t pages =
				sql_i(db, "PRAGMA page_count") * sql_i(db, "PRAGMA page_size");

			printf("| raw tier, real series at 1 s | samples | bytes per sample |\n|---|---|---|\n");
			printf("| counters | %lld | %.3f |\n", (long long)cn, (double)cb / cn);
			printf("| gauges | %lld | %.3f |\n", (long long)gn,
			       gn ? (double)gb / gn : 0);
			printf("| **all float series** | %lld | **%.3f** |\n", (long long)fn,
			       (double)fb / fn);
			printf("| histograms, per bucket vector | %lld | %.3f |\n", (long long)hn,
			       hn ? (double)hb / hn : 0);
			printf("| histograms, per stored word (buckets, sum, count) | %lld | %.3f |\n",
			       (long long)hv, hv ? (double)hb / hv : 0);
			printf("| every sample (a vector counts as one) | %lld | %.3f |\n",
			       (long long)(fn + hn), (double)(fb + hb) / (fn + hn));
			printf("| database file (raw + rollups + SQLite), per sample | %lld | %.3f |\n\n",
			       (long long)(fn + hn), (double)pages / (fn + hn));
		}
		sqlite3_close(db);
	}

	/* 3. 24 h of every agent series on disk: query times, rollup sizes, projection. */
	if (section("day")) {
		int64_t day = 86400, tk;
		double q_ms[3][21];
		int64_t qn[3] = {0};
		struct store_point *pts = calloc(11000, sizeof(*pts));
		int busiest = -1, qi, r;
		double busiest_v = -1;

		snprintf(dir, sizeof(dir), "%s/storebench-%d-b", work, getpid());
		st = open_store(dir, 0);
		store__begin(st);
		for (k = 0; k < nseries; k++) {
			struct bseries *b = &series[k];

			if (b->id < 0)
				continue;
			b->id = store__series(st, b->family, (const char *const *)b->names,
					      (const char *const *)b->values, b->nl, b->type,
					      b->type == STORE_HISTOGRAM ? b->nb : 0);
			if (b->type == STORE_COUNTER && strstr(b->family, "syscalls_total") &&
			    b->v[nscrapes - 1] - b->v[0] > busiest_v) {
				busiest_v = b->v[nscrapes - 1] - b->v[0];
				busiest = k;
			}
		}
		store__end(st);
		t = now_s();
		for (tk = 0; tk < day; tk++) {
			store__begin(st);
			feed_tick(st, t0, tk, 1, false);
			store__end(st);
			if (tk % 300 == 299)
				store__flush(st, tk % 3600 == 3599);
		}
		store__flush(st, true);
		fprintf(stderr, "storebench: 24 h fed in %.1f s\n", now_s() - t);
		snprintf(path, sizeof(path), "%s", store__db_path(st));
		for (qi = 0; qi < 3; qi++) {
			for (r = 0; r < 21; r++) {
				struct store_query q = {.start = t0,
							.end = t0 + (day - 1) * 1000,
							.step = 60000,
							.rate = true,
							.tier = -1};
				size_t n;
				double a;

				if (qi == 1) { /* the last 6 h at full resolution */
					q.start = t0 + (day - 6 * 3600) * 1000;
					q.step = 2000;
				} else if (qi == 2) { /* 24 h from the hourly tier */
					q.step = 3600000;
					q.tier = STORE_1H;
				}
				a = now_s();
				err = store__query(st, series[busiest].id, &q, pts, 11000, NULL,
						   &n);
				q_ms[qi][r] = (now_s() - a) * 1e3;
				qn[qi] = err ? err : (int64_t)n;
			}
			qsort(q_ms[qi], 21, sizeof(double), cmp_d);
		}
		printf("| query of one counter as a rate (`%s`) | points | median ms | max ms |\n"
		       "|---|---|---|---|\n",
		       series[busiest].key);
		printf("| 24 h, step 60 s (1m tier: finest covering 24 h) | %lld | **%.2f** | %.2f |\n",
		       (long long)qn[0], q_ms[0][10], q_ms[0][20]);
		printf("| last 6 h, step 2 s (raw tier, 15 min from memory) | %lld | %.2f | %.2f |\n",
		       (long long)qn[1], q_ms[1][10], q_ms[1][20]);
		printf("| 24 h, step 1 h (1h tier) | %lld | %.2f | %.2f |\n\n", (long long)qn[2],
		       q_ms[2][10], q_ms[2][20]);
		store__close(st);
		free(pts);

		sqlite3_open(path, &db);
		{
			int64_t rb[STORE_TIERS], rn[STORE_TIERS], fb;
			int nser = nfloat + nhist;
			double per_agent = (double)nser / (nagents ? nagents : 1), raw, m1, h1, tot;
			char sql[200];
			int tr;

			for (tr = 0; tr < STORE_TIERS; tr++) {
				snprintf(sql, sizeof(sql),
					 "SELECT sum(length(data)) FROM all_blocks WHERE tier = %d",
					 tr);
				rb[tr] = sql_i(db, sql);
				snprintf(sql, sizeof(sql),
					 "SELECT sum(n) FROM all_blocks WHERE tier = %d", tr);
				rn[tr] = sql_i(db, sql);
			}
			fb = sql_i(db, "PRAGMA page_count") * sql_i(db, "PRAGMA page_size");
			printf("| tier | rows in the file after 24 h | block bytes per row | file bytes "
			       "per block byte |\n|---|---|---|---|\n");
			for (tr = 0; tr < STORE_TIERS; tr++)
				printf("| %s | %lld | %.2f | |\n", store_tier_names[tr],
				       (long long)rn[tr], rn[tr] ? (double)rb[tr] / rn[tr] : 0);
			printf("| all | | | %.3f |\n\n", (double)fb / (rb[0] + rb[1] + rb[2]));
			/* 100 agents x 90 days at the default retention. */
			raw = per_agent * 100 * 6 * 3600 * ((double)rb[0] / rn[0]);
			m1 = per_agent * 100 * 14 * 1440 * ((double)rb[1] / rn[1]);
			h1 = per_agent * 100 * 90 * 24 * ((double)rb[2] / rn[2]);
			tot = (raw + m1 + h1) * (double)fb / (rb[0] + rb[1] + rb[2]);
			printf("Disk projected for 100 agents x 90 days (%.0f series, default "
			       "retention: raw 6 h, 1m 14 days, 1h 90 days): raw %.0f MiB + 1m %.0f MiB "
			       "+ 1h %.0f MiB of blocks, **%.0f MiB** with SQLite's overhead as measured "
			       "(the default bound is 1024 MiB).\n",
			       per_agent * 100, raw / 1048576, m1 / 1048576, h1 / 1048576,
			       tot / 1048576);
		}
		sqlite3_close(db);
	}
	snprintf(path, sizeof(path), "rm -rf '%s/storebench-%d-a' '%s/storebench-%d-b'", work,
		 getpid(), work, getpid());
	return system(path) ? 1 : 0;
}
