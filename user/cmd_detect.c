// SPDX-License-Identifier: MIT
/*
 * `swarmwatch detect`: offline anomaly scoring of a CSV series.
 *
 * Input is NAB's format: a `timestamp,value` header, then one row per sample with timestamps
 * like `2014-07-01 00:00:00` (fractional seconds, a `T` separator, a trailing `Z` and plain
 * epoch seconds are accepted too). The whole file is read first so the sample interval can be
 * measured (median step) and the detector parameters derived from it; then every row is scored
 * in order with the streaming ensemble, exactly as the daemon would score it live. Rows are
 * taken in file order: a repeated or backward timestamp (a clock change, as real exports have)
 * is scored like any other row rather than rejected.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cmd.h"
#include "detect.h"
#include "log.h"

/* One parsed input row; the original text is kept so the output echoes it unchanged. */
struct row {
	double ts; /* seconds since the epoch (UTC) */
	double value; /* sample */
	char *ts_text; /* timestamp as written */
	char *val_text; /* value as written */
};

struct series {
	struct row *rows;
	size_t n;
	size_t cap;
};

static void usage(FILE *f)
{
	fprintf(f, "usage: swarmwatch detect --input FILE.csv [--output FILE] [--detector NAME]\n"
		   "                         [--set KEY=VALUE]...\n"
		   "\n"
		   "Score a time series offline with the streaming anomaly detectors.\n"
		   "\n"
		   "  -i, --input FILE     CSV with a `timestamp,value` header (NAB format)\n"
		   "  -o, --output FILE    write `timestamp,value,anomaly_score,is_anomaly` here\n"
		   "                       (default: standard output)\n"
		   "  -d, --detector NAME  ensemble (default), all, or one component: mad, level,\n"
		   "                       ewma, band, trend, season, spread\n"
		   "  -s, --set KEY=VALUE  override one detector parameter: counts of samples\n"
		   "                       window, warmup, verdict_after, short_len, trend_len,\n"
		   "                       refractory, peak_halflife (in seconds with the\n"
		   "                       suffix _s, as refractory_s=3600); ewma_alpha, tail_q,\n"
		   "                       threshold, season_s, floor_abs, floor_rel; repeatable\n"
		   "  -h, --help           show this help\n"
		   "\n"
		   "Parameters are derived from the sample interval measured in the file.\n");
}

/* Days from 1970-01-01 to the proleptic Gregorian date y-m-d. */
static long days_from_civil(long y, long m, long d)
{
	long era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* Read exactly n digits at *s into *out and advance. */
static int digits(const char **s, int n, long *out)
{
	long v = 0;
	int i;

	for (i = 0; i < n; i++) {
		if ((*s)[i] < '0' || (*s)[i] > '9')
			return -EINVAL;
		v = v * 10 + ((*s)[i] - '0');
	}
	*s += n;
	*out = v;
	return 0;
}

/*
 * Parse `YYYY-MM-DD[ T]HH:MM[:SS[.frac]][Z]` as UTC, or a plain number of epoch seconds.
 * Returns 0 or -EINVAL.
 */
static int parse_ts(const char *s, double *out)
{
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	long y, mo, d, h, mi, sec = 0;
	double frac = 0.0, scale = 0.1;
	char *end;

	if (strlen(s) >= 10 && s[4] == '-') {
		if (digits(&s, 4, &y) || *s++ != '-' || digits(&s, 2, &mo) || *s++ != '-' ||
		    digits(&s, 2, &d) || (*s != ' ' && *s != 'T') || !*s++ || digits(&s, 2, &h) ||
		    *s++ != ':' || digits(&s, 2, &mi))
			return -EINVAL;
		if (*s == ':') {
			s++;
			if (digits(&s, 2, &sec))
				return -EINVAL;
			if (*s == '.') {
				for (s++; *s >= '0' && *s <= '9'; s++, scale /= 10)
					frac += (*s - '0') * scale;
			}
		}
		if (*s == 'Z')
			s++;
		if (*s || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 ||
		    sec > 60)
			return -EINVAL;
		*out = days_from_civil(y, mo, d) * 86400.0 + h * 3600.0 + mi * 60.0 + sec + frac;
		return 0;
	}
	errno = 0;
	*out = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(*out))
		return -EINVAL;
	return 0;
}

/* Strip surrounding blanks and a trailing CR in place. */
static char *trim(char *s)
{
	size_t n;

	while (*s == ' ' || *s == '\t')
		s++;
	n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
		s[--n] = '\0';
	return s;
}

static int series_push(struct series *sr, double ts, double v, const char *ts_text,
		       const char *val_text)
{
	struct row *rows, *r;
	size_t cap;

	if (sr->n == sr->cap) {
		cap = sr->cap ? 2 * sr->cap : 1024;
		rows = realloc(sr->rows, cap * sizeof(*rows));
		if (!rows)
			return -ENOMEM;
		sr->rows = rows;
		sr->cap = cap;
	}
	r = &sr->rows[sr->n];
	r->ts = ts;
	r->value = v;
	r->ts_text = strdup(ts_text);
	r->val_text = strdup(val_text);
	if (!r->ts_text || !r->val_text) {
		free(r->ts_text);
		free(r->val_text);
		return -ENOMEM;
	}
	sr->n++;
	return 0;
}

static void series_free(struct series *sr)
{
	size_t i;

	for (i = 0; i < sr->n; i++) {
		free(sr->rows[i].ts_text);
		free(sr->rows[i].val_text);
	}
	free(sr->rows);
	memset(sr, 0, sizeof(*sr));
}

/* Parse one data line; on error print the reason with file:line and return -EINVAL. */
static int parse_line(struct series *sr, const char *path, size_t lineno, char *line)
{
	char *comma, *ts_text, *val_text, *end;
	double ts, v;

	comma = strchr(line, ',');
	if (!comma) {
		pr_err("detect: %s:%zu: expected 2 fields `timestamp,value`, found 1", path,
		       lineno);
		return -EINVAL;
	}
	*comma = '\0';
	ts_text = trim(line);
	val_text = trim(comma + 1);
	if (strchr(val_text, ',')) {
		pr_err("detect: %s:%zu: expected 2 fields `timestamp,value`, found more", path,
		       lineno);
		return -EINVAL;
	}
	if (parse_ts(ts_text, &ts)) {
		pr_err("detect: %s:%zu: bad timestamp \"%s\" (expected YYYY-MM-DD HH:MM:SS)", path,
		       lineno, ts_text);
		return -EINVAL;
	}
	errno = 0;
	v = strtod(val_text, &end);
	if (errno || end == val_text || *end || !isfinite(v)) {
		pr_err("detect: %s:%zu: bad value \"%s\" (expected a finite number)", path, lineno,
		       val_text);
		return -EINVAL;
	}
	if (series_push(sr, ts, v, ts_text, val_text)) {
		pr_err("detect: %s:%zu: out of memory", path, lineno);
		return -ENOMEM;
	}
	return 0;
}

/* Header must name the two columns `timestamp` and `value`, in that order. */
static int check_header(const char *path, char *line)
{
	char *comma = strchr(line, ',');

	if (comma) {
		*comma = '\0';
		if (!strcasecmp(trim(line), "timestamp") && !strcasecmp(trim(comma + 1), "value"))
			return 0;
	}
	pr_err("detect: %s:1: expected the header `timestamp,value`", path);
	return -EINVAL;
}

static int read_csv(const char *path, struct series *sr)
{
	size_t lineno = 0, cap = 0;
	char *line = NULL, *t;
	int err = 0;
	FILE *f;

	f = fopen(path, "r");
	if (!f) {
		err = -errno;
		pr_err("detect: cannot open %s: %s", path, strerror(errno));
		return err;
	}
	while (getline(&line, &cap, f) >= 0) {
		lineno++;
		t = trim(line);
		if (lineno == 1) {
			err = check_header(path, t);
		} else if (*t) {
			err = parse_line(sr, path, lineno, t);
		}
		if (err)
			goto close_file;
	}
	if (ferror(f)) {
		err = -EIO;
		pr_err("detect: %s: read error", path);
	} else if (lineno == 0) {
		err = -EINVAL;
		pr_err("detect: %s:1: empty file (expected the header `timestamp,value`)", path);
	}
close_file:
	free(line);
	fclose(f);
	return err;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Median forward step between consecutive timestamps; 1 s when there is none. */
static double median_interval(const struct series *sr)
{
	double *d, m;
	size_t i, k;

	if (sr->n < 2)
		return 1.0;
	d = malloc((sr->n - 1) * sizeof(*d));
	if (!d)
		return sr->rows[1].ts - sr->rows[0].ts;
	/* Only forward steps count: clock changes repeat or rewind timestamps. */
	for (i = 1, k = 0; i < sr->n; i++) {
		if (sr->rows[i].ts > sr->rows[i - 1].ts)
			d[k++] = sr->rows[i].ts - sr->rows[i - 1].ts;
	}
	if (!k) {
		free(d);
		return 1.0;
	}
	qsort(d, k, sizeof(*d), cmp_double);
	m = d[(k - 1) / 2];
	free(d);
	return m;
}

/* Parameter overrides from --set, applied after the defaults. */
#define MAX_SETS 16

struct overrides {
	const char *text[MAX_SETS]; /* KEY=VALUE as given */
	unsigned int n;
};

static int apply_overrides(struct detect_params *p, const struct overrides *o)
{
	char key[32], *end;
	const char *eq;
	unsigned int i;
	double v;

	for (i = 0; i < o->n; i++) {
		eq = strchr(o->text[i], '=');
		if (!eq || eq == o->text[i] || (size_t)(eq - o->text[i]) >= sizeof(key))
			goto bad;
		memcpy(key, o->text[i], eq - o->text[i]);
		key[eq - o->text[i]] = '\0';
		errno = 0;
		v = strtod(eq + 1, &end);
		if (errno || end == eq + 1 || *end || detect__params_set(p, key, v))
			goto bad;
	}
	return 0;
bad:
	pr_err("detect: bad --set \"%s\" (expected KEY=NUMBER, KEY one of those in "
	       "swarmwatch detect --help)",
	       o->text[i]);
	return -EINVAL;
}

static int score_series(const struct series *sr, uint32_t mask, const struct overrides *o,
			FILE *out)
{
	struct detect_ensemble *d;
	struct detect_params p;
	struct detect_result r;
	size_t i;
	int err;

	err = detect__params_default(&p, median_interval(sr));
	if (err)
		return err;
	p.mask = mask;
	err = apply_overrides(&p, o);
	if (err)
		return err;
	d = malloc(sizeof(*d));
	if (!d)
		return -ENOMEM;
	err = detect__init(d, &p);
	if (err && o->n) {
		pr_err("detect: a --set value is out of range for a %g s series (window <= %d, "
		       "trend_len 3-%d, short_len 1-%d, warmup >= 2, 0 < tail_q < 1)",
		       p.interval_s, DETECT_WINDOW_MAX, DETECT_TREND_MAX, DETECT_SHORT_MAX);
		err = -ERANGE;
	}
	if (err)
		goto free_state;
	fprintf(out, "timestamp,value,anomaly_score,is_anomaly\n");
	for (i = 0; i < sr->n; i++) {
		err = detect__update(d, sr->rows[i].ts, sr->rows[i].value, &r);
		if (err)
			goto free_state;
		fprintf(out, "%s,%s,%.9f,%d\n", sr->rows[i].ts_text, sr->rows[i].val_text, r.score,
			r.anomaly ? 1 : 0);
	}
free_state:
	free(d);
	return err;
}

int cmd_detect(int argc, char **argv)
{
	static const struct option opts[] = {
		{"input", required_argument, NULL, 'i'},
		{"output", required_argument, NULL, 'o'},
		{"detector", required_argument, NULL, 'd'},
		{"set", required_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *input = NULL, *output = NULL, *detector = "ensemble";
	struct detect_params scratch;
	struct overrides o = {0};
	struct series sr = {0};
	uint32_t mask;
	FILE *out = stdout;
	int c, ret = 1, err;

	optind = 0; /* full getopt reset: the caller may have parsed its own options */
	while ((c = getopt_long(argc, argv, "+i:o:d:s:h", opts, NULL)) != -1) {
		switch (c) {
		case 'i':
			input = optarg;
			break;
		case 'o':
			output = optarg;
			break;
		case 'd':
			detector = optarg;
			break;
		case 's':
			if (o.n == MAX_SETS) {
				pr_err("detect: more than %d --set options (give each key once)",
				       MAX_SETS);
				return 2;
			}
			o.text[o.n++] = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		pr_err("detect: unexpected argument \"%s\" (see swarmwatch detect --help)",
		       argv[optind]);
		return 2;
	}
	if (!input) {
		pr_err("detect: missing --input FILE.csv (see swarmwatch detect --help)");
		return 2;
	}
	if (detect__mask_from_name(detector, &mask)) {
		pr_err("detect: unknown detector \"%s\" (choose ensemble, all, mad, level, ewma, "
		       "band, trend, season or spread)",
		       detector);
		return 2;
	}
	/* Bad keys are a usage error, found before the file is read. */
	if (detect__params_default(&scratch, 1.0) || apply_overrides(&scratch, &o))
		return 2;
	if (read_csv(input, &sr))
		goto free_series;
	if (output) {
		out = fopen(output, "w");
		if (!out) {
			pr_err("detect: cannot create %s: %s", output, strerror(errno));
			goto free_series;
		}
	}
	err = score_series(&sr, mask, &o, out);
	if (err) {
		if (err != -ERANGE) /* already said which --set */
			pr_err("detect: %s: scoring failed: %s", input, strerror(-err));
		goto close_out;
	}
	if (fflush(out) || ferror(out)) {
		pr_err("detect: write to %s failed: %s", output ? output : "stdout",
		       strerror(errno));
		goto close_out;
	}
	ret = 0;
close_out:
	if (out != stdout && fclose(out) && !ret) {
		pr_err("detect: write to %s failed: %s", output, strerror(errno));
		ret = 1;
	}
free_series:
	series_free(&sr);
	return ret;
}
