// SPDX-License-Identifier: MIT
/* alert: rule evaluation, lifecycle, grouping, noise control and saved state. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "alert.h"
#include "buf.h"

const char *const alert_severity_names[ALERT_SEVERITIES] = {"info", "warning", "critical",
							    "emergency"};
const char *const alert_state_names[ALERT_STATES] = {"pending", "firing", "resolved"};

#define HOUR_MS (3600 * 1000LL)
/* Ring of notification times per alert; max_per_hour is capped to it. */
#define SENT_RING 32
/* A resolved alert whose resolve could not be told (muted, limited) is forgotten after this. */
#define RESOLVED_KEEP_MS HOUR_MS
#define SAVE_VERSION 1

struct alert {
	uint32_t rule;
	char agent[ALERT_NAME_MAX];
	enum alert_state state;
	int64_t active_ms;
	int64_t ends_ms;
	int64_t last_true_ms;
	double value;
	char cause[ALERT_CAUSE_MAX];
	char fp[17];
	char summary[ALERT_TEXT_MAX];
	bool acked;
	bool silenced;
	bool inhibited;
	bool seen; /* evaluated this tick */
	uint32_t notified; /* routes told it fires */
	uint32_t resolved_sent; /* routes told it resolved */
	int64_t pushed_ms[ALERT_ROUTES_MAX]; /* push routes: last push */
};

/* Notification times of one alert (by fingerprint), kept an hour past its last. */
struct hist {
	char fp[17];
	int64_t sent[SENT_RING]; /* ring */
	uint32_t nsent;
};

struct group {
	uint32_t route;
	char key[512]; /* {agent="x", alertname="y"} */
	int64_t flush_ms; /* next flush */
	int64_t last_ms; /* last notification, 0 = none */
	bool live; /* has members this tick */
};

struct out {
	char receiver[ALERT_NAME_MAX];
	char key[80];
	char *body;
};

struct alert_engine {
	struct alert_params p;
	struct alert *a;
	size_t n, cap;
	struct group *g;
	size_t ng, gcap;
	struct hist *h;
	size_t nh, hcap;
	struct alert_silence sil[ALERT_SILENCES_MAX];
	size_t nsil;
	uint64_t next_silence;
	struct out *o;
	struct alert_out *ov;
	size_t no, ocap;
	int64_t now;
	struct alert_stats st;
	alert_cause_fn cause_fn; /* NULL: an alert's cause is its rule's own */
	void *cause_ctx;
};

/* ---- small helpers ---- */

static uint64_t fnv_add(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= b[i];
		h *= 1099511628211ULL;
	}
	return h;
}

#define FNV_OFFSET 14695981039346656037ULL

static int kv_cmp(const void *a, const void *b)
{
	return strcmp(((const struct alert_kv *)a)->name, ((const struct alert_kv *)b)->name);
}

void alert__fingerprint(const struct alert_kv *labels, size_t n, char out[17])
{
	struct alert_kv s[ALERT_LABELS_MAX + 8];
	uint64_t h = FNV_OFFSET;
	unsigned char sep = 0xff;
	size_t i;

	if (n > sizeof(s) / sizeof(s[0]))
		n = sizeof(s) / sizeof(s[0]);
	memcpy(s, labels, n * sizeof(*s));
	qsort(s, n, sizeof(*s), kv_cmp);
	for (i = 0; i < n; i++) {
		h = fnv_add(h, s[i].name, strlen(s[i].name));
		h = fnv_add(h, &sep, 1);
		h = fnv_add(h, s[i].value, strlen(s[i].value));
		h = fnv_add(h, &sep, 1);
	}
	snprintf(out, 17, "%016" PRIx64, h);
}

static void rfc3339(int64_t ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	size_t n;

	if (ms <= 0) {
		snprintf(buf, len, "0001-01-01T00:00:00Z");
		return;
	}
	gmtime_r(&t, &tm);
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%03dZ", (int)(ms % 1000));
}

int alert__severity_parse(const char *s)
{
	int i;

	for (i = 0; i < ALERT_SEVERITIES; i++)
		if (!strcasecmp(s, alert_severity_names[i]))
			return i;
	return -EINVAL;
}

int alert__parse_duration(const char *s, int64_t *ms)
{
	int64_t total = 0;
	const char *p = s;

	if (!strcmp(s, "0")) {
		*ms = 0;
		return 0;
	}
	if (!*p)
		return -EINVAL;
	while (*p) {
		char *end;
		double v = strtod(p, &end);
		double mult;

		if (end == p || v < 0 || !isfinite(v) || isalpha((unsigned char)*p))
			return -EINVAL;
		p = end;
		if (!strncmp(p, "ms", 2)) {
			mult = 1;
			p += 2;
		} else if (*p == 's') {
			mult = 1000;
			p++;
		} else if (*p == 'm') {
			mult = 60000;
			p++;
		} else if (*p == 'h') {
			mult = 3600000;
			p++;
		} else if (*p == 'd') {
			mult = 86400000;
			p++;
		} else {
			return -EINVAL;
		}
		/* Each part and their sum at most 1e15 ms (31,700 years): no overflow. */
		if (v * mult > 1e15 || (double)total + v * mult > 1e15)
			return -EINVAL;
		total += (int64_t)llround(v * mult);
	}
	*ms = total;
	return 0;
}

/* ---- the condition parser ---- */

struct lex {
	const char *s; /* whole text */
	const char *p; /* cursor */
	char *err;
	size_t errlen;
	bool ext; /* scaling's language: trend(), forecast(), with confidence */
};

static void where(const struct lex *l, const char *at, int *line, int *col)
{
	const char *q;

	*line = 1;
	*col = 1;
	for (q = l->s; q < at && *q; q++) {
		if (*q == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

static int fail(struct lex *l, const char *at, const char *fmt, const char *what)
{
	int line, col, off;

	where(l, at, &line, &col);
	off = snprintf(l->err, l->errlen, "%d:%d: ", line, col);
	if (off > 0 && (size_t)off < l->errlen)
		snprintf(l->err + off, l->errlen - off, fmt, what);
	return -EINVAL;
}

static void skip_ws(struct lex *l)
{
	while (*l->p == ' ' || *l->p == '\t' || *l->p == '\n' || *l->p == '\r')
		l->p++;
}

/* What is at the cursor, for messages: a word, a character or "the end". */
static const char *found(const struct lex *l, char *buf, size_t len)
{
	size_t n = 0;

	if (!*l->p)
		return "the end";
	if (isalnum((unsigned char)*l->p) || *l->p == '_') {
		while (n < len - 3 &&
		       (isalnum((unsigned char)l->p[n]) || l->p[n] == '_' || l->p[n] == '.'))
			n++;
	} else {
		n = 1;
	}
	snprintf(buf, len, "\"%.*s\"", (int)n, l->p);
	return buf;
}

static int ident(struct lex *l, char *out, size_t len)
{
	size_t n = 0;

	if (!isalpha((unsigned char)*l->p) && *l->p != '_')
		return -EINVAL;
	while (isalnum((unsigned char)l->p[n]) || l->p[n] == '_')
		n++;
	if (n >= len)
		return fail(l, l->p, "name longer than %s characters", len == 32 ? "31" : "63");
	memcpy(out, l->p, n);
	out[n] = 0;
	l->p += n;
	return 0;
}

/* "p95" -> 0.95, "p999" -> 0.999, "p50" -> 0.5; 0 when not a quantile word. */
static double quantile_word(const char *w)
{
	size_t n = strlen(w), i;
	double q;

	if (n < 2 || n > 5 || w[0] != 'p')
		return 0;
	for (i = 1; i < n; i++)
		if (!isdigit((unsigned char)w[i]))
			return 0;
	q = atof(w + 1);
	for (i = 1; i < n; i++)
		q /= 10;
	return q > 0 && q < 1 ? q : 0;
}

static int selector(struct lex *l, struct alert_query *q, bool star_ok)
{
	char buf[40];
	int err;

	skip_ws(l);
	if (*l->p == '*') {
		if (!star_ok)
			return fail(l, l->p, "%s: \"*\" is only for anomaly() and event()", "name");
		strcpy(q->name, "*");
		l->p++;
	} else if ((err = ident(l, q->name, sizeof(q->name)))) {
		return err == -EINVAL && !l->err[0] ? fail(l, l->p, "expected a name, found %s",
							   found(l, buf, sizeof(buf)))
						    : err;
	}
	skip_ws(l);
	if (*l->p != '{')
		return 0;
	l->p++;
	for (;;) {
		struct alert_matcher *m;
		const char *start;
		size_t n;

		skip_ws(l);
		if (*l->p == '}' && q->nm) {
			l->p++;
			return 0;
		}
		if (q->nm == ALERT_MATCHERS_MAX)
			return fail(l, l->p, "more than %s label matchers", "4");
		m = &q->m[q->nm];
		if ((err = ident(l, m->name, sizeof(m->name))))
			return l->err[0] ? err
					 : fail(l, l->p, "expected a label name, found %s",
						found(l, buf, sizeof(buf)));
		skip_ws(l);
		if (l->p[0] == '!' && l->p[1] == '=') {
			m->negate = true;
			l->p += 2;
		} else if (l->p[0] == '=') {
			l->p++;
		} else {
			return fail(l, l->p, "expected = or != after the label name, found %s",
				    found(l, buf, sizeof(buf)));
		}
		skip_ws(l);
		if (*l->p != '"')
			return fail(l, l->p, "expected a quoted label value, found %s",
				    found(l, buf, sizeof(buf)));
		start = ++l->p;
		while (*l->p && *l->p != '"' && *l->p != '\n')
			l->p++;
		if (*l->p != '"')
			return fail(l, start - 1, "%s", "unterminated label value");
		n = (size_t)(l->p - start);
		if (n >= sizeof(m->value))
			return fail(l, start, "label value longer than %s characters", "63");
		memcpy(m->value, start, n);
		m->value[n] = 0;
		l->p++;
		q->nm++;
		skip_ws(l);
		if (*l->p == ',') {
			l->p++;
			continue;
		}
		if (*l->p == '}') {
			l->p++;
			return 0;
		}
		return fail(l, l->p, "expected , or } in the label matchers, found %s",
			    found(l, buf, sizeof(buf)));
	}
}

/* ", 5m" inside trend() and forecast(): a duration from 1 s to 1 day. */
static int window(struct lex *l, const char *fn, int64_t *ms)
{
	char buf[40], text[24];
	const char *start;
	size_t n = 0;

	skip_ws(l);
	if (*l->p != ',')
		return fail(l, l->p, "expected , and a duration after the figure, found %s",
			    found(l, buf, sizeof(buf)));
	l->p++;
	skip_ws(l);
	start = l->p;
	while (isalnum((unsigned char)l->p[n]) || l->p[n] == '.')
		n++;
	if (!n || n >= sizeof(text))
		return fail(l, start, "expected a duration such as 5m, found %s",
			    found(l, buf, sizeof(buf)));
	memcpy(text, start, n);
	text[n] = 0;
	if (alert__parse_duration(text, ms) || *ms < 1000 || *ms > 86400000)
		return fail(l, start, "%s(): the duration must be from 1s to 1d (\"5m\")", fn);
	l->p += n;
	return 0;
}

/* What trend() and forecast() follow: a figure, or rate(), deriv() or pNN() of one. */
static int inner(struct lex *l, struct alert_query *q)
{
	char word[ALERT_NAME_MAX], buf[40];
	const char *start;
	double qq;
	int err;

	skip_ws(l);
	start = l->p;
	if ((err = ident(l, word, sizeof(word))))
		return l->err[0] ? err
				 : fail(l, l->p, "expected a figure, found %s",
					found(l, buf, sizeof(buf)));
	skip_ws(l);
	if (*l->p != '(') {
		l->p = start;
		q->inner = ALERT_FN_VALUE;
		return selector(l, q, false);
	}
	qq = quantile_word(word);
	if (qq > 0) {
		q->inner = ALERT_FN_QUANTILE;
		q->inner_q = qq;
	} else if (!strcmp(word, "rate")) {
		q->inner = ALERT_FN_RATE;
	} else if (!strcmp(word, "deriv")) {
		q->inner = ALERT_FN_DERIV;
	} else {
		return fail(l, start,
			    "trend() and forecast() follow a figure, or rate(), deriv() or pNN() "
			    "of one, not %s()",
			    word);
	}
	l->p++;
	if ((err = selector(l, q, false)))
		return err;
	skip_ws(l);
	if (*l->p != ')')
		return fail(l, l->p, "expected ) to close the function, found %s",
			    found(l, buf, sizeof(buf)));
	l->p++;
	return 0;
}

static int term(struct lex *l, struct alert_expr *x)
{
	const char *start;
	char word[ALERT_NAME_MAX], buf[40];
	double q;
	int err;

	skip_ws(l);
	start = l->p;
	if (*l->p == '*')
		return fail(l, l->p, "%s", "\"*\" is only for anomaly() and event()");
	if ((err = ident(l, word, sizeof(word))))
		return l->err[0] ? err
				 : fail(l, l->p, "expected a name or a function, found %s",
					found(l, buf, sizeof(buf)));
	skip_ws(l);
	if (*l->p == '(') {
		bool star = false;

		q = quantile_word(word);
		if (q > 0) {
			x->q.fn = ALERT_FN_QUANTILE;
			x->q.q = q;
		} else if (!strcmp(word, "rate")) {
			x->q.fn = ALERT_FN_RATE;
		} else if (!strcmp(word, "deriv")) {
			x->q.fn = ALERT_FN_DERIV;
		} else if (!strcmp(word, "anomaly")) {
			x->q.fn = ALERT_FN_ANOMALY;
			star = true;
		} else if (!strcmp(word, "event")) {
			x->q.fn = ALERT_FN_EVENT;
			star = true;
		} else if (l->ext && !strcmp(word, "trend")) {
			x->q.fn = ALERT_FN_TREND;
		} else if (l->ext && !strcmp(word, "forecast")) {
			x->q.fn = ALERT_FN_FORECAST;
		} else if (l->ext) {
			return fail(l, start,
				    "unknown function \"%s\" (known: rate, deriv, trend, forecast, "
				    "anomaly, event, p50, p90, p95, p99, p999)",
				    word);
		} else {
			return fail(l, start,
				    "unknown function \"%s\" (known: rate, deriv, anomaly, event, "
				    "p50, p90, p95, p99, p999)",
				    word);
		}
		l->p++;
		if (x->q.fn != ALERT_FN_TREND && x->q.fn != ALERT_FN_FORECAST &&
		    (err = selector(l, &x->q, star)))
			return err;
		if (x->q.fn == ALERT_FN_TREND || x->q.fn == ALERT_FN_FORECAST) {
			if ((err = inner(l, &x->q)) || (err = window(l, word, &x->q.window_ms)))
				return err;
			skip_ws(l);
			if (*l->p != ')')
				return fail(l, l->p, "expected ) to close the function, found %s",
					    found(l, buf, sizeof(buf)));
			l->p++;
			return 0;
		}
		skip_ws(l);
		if (*l->p != ')')
			return fail(l, l->p, "expected ) to close the function, found %s",
				    found(l, buf, sizeof(buf)));
		l->p++;
		return 0;
	}
	/* A bare selector, maybe followed by a quantile word: run_queue_delay p99. */
	l->p = start;
	if ((err = selector(l, &x->q, false)))
		return err;
	x->q.fn = ALERT_FN_VALUE;
	skip_ws(l);
	if (*l->p == 'p') {
		const char *at = l->p;

		if (!ident(l, word, sizeof(word))) {
			q = quantile_word(word);
			if (q <= 0)
				return fail(l, at, "expected a quantile such as p99, found \"%s\"",
					    word);
			x->q.fn = ALERT_FN_QUANTILE;
			x->q.q = q;
		}
	}
	return 0;
}

static int number(struct lex *l, struct alert_expr *x)
{
	static const struct {
		const char *s;
		double mult;
		enum alert_unit unit;
	} units[] = {
		{"ns", 1e-9, ALERT_UNIT_SECONDS},      {"us", 1e-6, ALERT_UNIT_SECONDS},
		{"ms", 1e-3, ALERT_UNIT_SECONDS},      {"s", 1, ALERT_UNIT_SECONDS},
		{"m", 60, ALERT_UNIT_SECONDS},	       {"h", 3600, ALERT_UNIT_SECONDS},
		{"%", 0.01, ALERT_UNIT_PERCENT},       {"B", 1, ALERT_UNIT_BYTES},
		{"KiB", 1024, ALERT_UNIT_BYTES},       {"MiB", 1048576, ALERT_UNIT_BYTES},
		{"GiB", 1073741824, ALERT_UNIT_BYTES},
	};
	char buf[40], *end;
	const char *start;
	size_t i, n;
	double v;

	skip_ws(l);
	start = l->p;
	if (!(isdigit((unsigned char)*l->p) || *l->p == '-' || *l->p == '.'))
		return fail(l, l->p, "expected a number, found %s", found(l, buf, sizeof(buf)));
	v = strtod(l->p, &end);
	if (end == l->p || !isfinite(v))
		return fail(l, l->p, "expected a number, found %s", found(l, buf, sizeof(buf)));
	/* strtod also reads hex and inf; only decimals are meant. */
	for (i = 0; l->p + i < end; i++)
		if (!strchr("0123456789.eE+-", l->p[i]))
			return fail(l, start, "%s", "expected a decimal number");
	l->p = end;
	x->threshold = v;
	x->unit = ALERT_UNIT_NONE;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		n = strlen(units[i].s);
		if (!strncmp(l->p, units[i].s, n) && !isalnum((unsigned char)l->p[n])) {
			x->threshold = v * units[i].mult;
			x->unit = units[i].unit;
			l->p += n;
			return 0;
		}
	}
	if (isalpha((unsigned char)*l->p))
		return fail(l, l->p, "unknown unit %s (known: ns us ms s m h %% B KiB MiB GiB)",
			    found(l, buf, sizeof(buf)));
	return 0;
}

/* Whether the cursor is at the word w, followed by a non-word character. */
static bool at_word(const struct lex *l, const char *w)
{
	size_t n = strlen(w);

	return !strncmp(l->p, w, n) && !isalnum((unsigned char)l->p[n]) && l->p[n] != '_';
}

/* `with confidence > c` after a comparison. */
static int confidence(struct lex *l, struct alert_expr *x)
{
	struct alert_expr c;
	char buf[40];
	const char *at;
	int rc;

	l->p += 4;
	skip_ws(l);
	if (!at_word(l, "confidence"))
		return fail(l, l->p, "expected \"confidence\" after \"with\", found %s",
			    found(l, buf, sizeof(buf)));
	l->p += 10;
	skip_ws(l);
	if (l->p[0] == '>' && l->p[1] == '=')
		l->p += 2;
	else if (l->p[0] == '>')
		l->p++;
	else
		return fail(l, l->p, "expected > or >= after \"confidence\", found %s",
			    found(l, buf, sizeof(buf)));
	skip_ws(l);
	at = l->p;
	memset(&c, 0, sizeof(c));
	if ((rc = number(l, &c)))
		return rc;
	if (c.unit == ALERT_UNIT_SECONDS || c.unit == ALERT_UNIT_BYTES || c.threshold < 0 ||
	    c.threshold > 1)
		return fail(l, at, "%s", "a confidence is a number from 0 to 1 (or 0% to 100%)");
	x->with_confidence = true;
	x->min_confidence = c.threshold;
	return 0;
}

/* One condition, up to (not including) what follows it. */
static int one(struct lex *l, struct alert_expr *x)
{
	char buf[40];
	int rc;

	memset(x, 0, sizeof(*x));
	skip_ws(l);
	if (!strncmp(l->p, "absent", 6)) {
		const char *save = l->p;

		l->p += 6;
		skip_ws(l);
		if (*l->p == '(') {
			l->p++;
			x->absent = true;
			if ((rc = term(l, x)))
				return rc;
			skip_ws(l);
			if (*l->p != ')')
				return fail(l, l->p, "expected ) to close absent(), found %s",
					    found(l, buf, sizeof(buf)));
			l->p++;
			if (x->q.fn == ALERT_FN_FORECAST)
				return fail(l, save, "%s",
					    "absent() of a forecast is always false");
			return 0;
		}
		l->p = save;
	}
	if ((rc = term(l, x)))
		return rc;
	skip_ws(l);
	if (!*l->p || (l->ext && (at_word(l, "and") || at_word(l, "or")))) {
		if (x->q.fn != ALERT_FN_ANOMALY && x->q.fn != ALERT_FN_EVENT)
			return fail(l, l->p,
				    "expected a comparison (>, >=, <, <=, ==, !=) and a threshold, "
				    "found %s",
				    found(l, buf, sizeof(buf)));
		x->implicit = true;
		return 0;
	}
	if (l->p[0] == '>' && l->p[1] == '=') {
		x->cmp = ALERT_GE;
		l->p += 2;
	} else if (l->p[0] == '<' && l->p[1] == '=') {
		x->cmp = ALERT_LE;
		l->p += 2;
	} else if (l->p[0] == '=' && l->p[1] == '=') {
		x->cmp = ALERT_EQ;
		l->p += 2;
	} else if (l->p[0] == '!' && l->p[1] == '=') {
		x->cmp = ALERT_NE;
		l->p += 2;
	} else if (l->p[0] == '>') {
		x->cmp = ALERT_GT;
		l->p++;
	} else if (l->p[0] == '<') {
		x->cmp = ALERT_LT;
		l->p++;
	} else {
		return fail(l, l->p, "expected a comparison (>, >=, <, <=, ==, !=), found %s",
			    found(l, buf, sizeof(buf)));
	}
	if ((rc = number(l, x)))
		return rc;
	skip_ws(l);
	if (l->ext && at_word(l, "with"))
		return confidence(l, x);
	return 0;
}

int alert__parse_expr(const char *text, struct alert_expr *out, char *err, size_t errlen)
{
	struct lex l = {text, text, err, errlen, false};
	struct alert_expr x;
	char buf[40];
	int rc;

	if (errlen)
		err[0] = 0;
	if ((rc = one(&l, &x)))
		return rc;
	skip_ws(&l);
	if (*l.p)
		return fail(&l, l.p, "unexpected %s after the condition",
			    found(&l, buf, sizeof(buf)));
	*out = x;
	return 0;
}

int alert__parse_cond(const char *text, struct alert_cond *out, char *err, size_t errlen)
{
	struct lex l = {text, text, err, errlen, true};
	struct alert_cond *c;
	char buf[40];
	int rc = 0;

	if (errlen)
		err[0] = 0;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	for (;;) {
		if (c->n == ALERT_TERMS_MAX) {
			rc = fail(&l, l.p, "more than %s conditions joined by and/or", "8");
			goto out;
		}
		if ((rc = one(&l, &c->term[c->n])))
			goto out;
		c->n++;
		skip_ws(&l);
		if (!*l.p)
			break;
		if (at_word(&l, "and")) {
			l.p += 3;
		} else if (at_word(&l, "or")) {
			c->or_next[c->n - 1] = true;
			l.p += 2;
		} else {
			rc = fail(&l, l.p, "expected \"and\", \"or\" or the end, found %s",
				  found(&l, buf, sizeof(buf)));
			goto out;
		}
	}
	*out = *c;
out:
	free(c);
	return rc;
}

/* ---- templates ---- */

static const char *const tvars[] = {"agent", "value", "threshold", "cause", "rule", "severity"};

/* The variable name between {{ and }} at p (after the braces), trimmed; -1 if unclosed. */
static int tvar(const char *p, char *name, size_t len, const char **after)
{
	const char *e = strstr(p, "}}"), *b = p;
	size_t n;

	if (!e)
		return -1;
	while (b < e && *b == ' ')
		b++;
	n = (size_t)(e - b);
	while (n && b[n - 1] == ' ')
		n--;
	if (n >= len)
		n = len - 1;
	memcpy(name, b, n);
	name[n] = 0;
	*after = e + 2;
	return 0;
}

int alert__template_check(const char *text, char *err, size_t errlen)
{
	const char *p = text, *after;
	char name[32];
	size_t i;

	while ((p = strstr(p, "{{"))) {
		if (tvar(p + 2, name, sizeof(name), &after)) {
			snprintf(err, errlen, "unclosed {{ at column %zu", (size_t)(p - text) + 1);
			return -EINVAL;
		}
		for (i = 0; i < sizeof(tvars) / sizeof(tvars[0]); i++)
			if (!strcmp(name, tvars[i]))
				break;
		if (i == sizeof(tvars) / sizeof(tvars[0])) {
			snprintf(
				err, errlen,
				"unknown template variable {{%s}} (known: agent, value, threshold, "
				"cause, rule, severity)",
				name);
			return -EINVAL;
		}
		p = after;
	}
	return 0;
}

static void fmt_value(double v, enum alert_unit u, char *buf, size_t len)
{
	if (!isfinite(v))
		snprintf(buf, len, "n/a");
	else if (u == ALERT_UNIT_SECONDS)
		snprintf(buf, len, fabs(v) < 1 && v != 0 ? "%.3gms" : "%.3gs",
			 fabs(v) < 1 && v != 0 ? v * 1000 : v);
	else if (u == ALERT_UNIT_PERCENT)
		snprintf(buf, len, "%.3g%%", v * 100);
	else if (u == ALERT_UNIT_BYTES)
		snprintf(buf, len, "%.3gMiB", v / 1048576);
	else
		snprintf(buf, len, "%.4g", v);
}

static void render(const struct alert_engine *e, const struct alert *a, const char *tmpl, char *out,
		   size_t len)
{
	const struct alert_rule *r = &e->p.rules[a->rule];
	const char *p = tmpl, *after;
	size_t off = 0;
	char name[32], v[64];

	out[0] = 0;
	while (*p && off < len - 1) {
		const char *val = NULL;

		if (p[0] == '{' && p[1] == '{' && !tvar(p + 2, name, sizeof(name), &after)) {
			if (!strcmp(name, "agent"))
				val = a->agent;
			else if (!strcmp(name, "rule"))
				val = r->name;
			else if (!strcmp(name, "severity"))
				val = alert_severity_names[r->severity];
			else if (!strcmp(name, "cause"))
				val = a->cause[0] ? a->cause : "unknown";
			else if (!strcmp(name, "value"))
				fmt_value(a->value, r->expr.unit, v, sizeof(v)), val = v;
			else if (!strcmp(name, "threshold"))
				fmt_value(r->expr.implicit && r->expr.q.fn == ALERT_FN_ANOMALY
						  ? r->min_score
						  : r->expr.threshold,
					  r->expr.unit, v, sizeof(v)),
					val = v;
			if (val) {
				off += snprintf(out + off, len - off, "%s", val);
				if (off >= len)
					off = len - 1;
				p = after;
				continue;
			}
		}
		out[off++] = *p++;
		out[off] = 0;
	}
}

/* ---- rules and parameters ---- */

static void rule(struct alert_rule *r, const char *name, const char *expr, enum alert_severity sev,
		 const char *for_, const char *keep, const char *summary)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "%s", name);
	snprintf(r->expr_text, sizeof(r->expr_text), "%s", expr);
	r->severity = sev;
	alert__parse_duration(for_, &r->for_ms);
	alert__parse_duration(keep, &r->keep_firing_for_ms);
	r->min_score = 0.8;
	r->min_confidence = 0.5;
	snprintf(r->annotations[0].name, sizeof(r->annotations[0].name), "summary");
	snprintf(r->annotations[0].value, sizeof(r->annotations[0].value), "%s", summary);
	snprintf(r->annotations[1].name, sizeof(r->annotations[1].name), "description");
	snprintf(r->annotations[1].value, sizeof(r->annotations[1].value),
		 "likely cause: {{cause}}");
	r->nannotations = 2;
}

uint32_t alert__rules_default(struct alert_rule *out, uint32_t cap)
{
	struct alert_rule r[13];
	uint32_t n = 0, i;

	rule(&r[n++], "AgentLatencyHigh", "p95(request_duration) > 5s", ALERT_WARNING, "1m", "1m",
	     "{{agent}}: p95 request latency {{value}} > {{threshold}}");
	rule(&r[n++], "AgentLatencyCritical", "p95(request_duration) > 10s", ALERT_CRITICAL, "1m",
	     "1m", "{{agent}}: p95 request latency {{value}} > {{threshold}}");
	rule(&r[n++], "AgentErrorRatioHigh", "error_ratio > 5%", ALERT_WARNING, "30s", "1m",
	     "{{agent}}: {{value}} of requests fail (threshold {{threshold}})");
	rule(&r[n++], "AgentSuccessRatioLow", "success_ratio < 95%", ALERT_WARNING, "5m", "1m",
	     "{{agent}}: only {{value}} of requests succeed (threshold {{threshold}})");
	rule(&r[n++], "AgentLoadHigh", "load > 80%", ALERT_WARNING, "2m", "1m",
	     "{{agent}}: CPU load {{value}} of the host (threshold {{threshold}})");
	rule(&r[n++], "AgentUnhealthy", "anomaly(*)", ALERT_WARNING, "1m", "2m",
	     "{{agent}}: behaviour departed from its baseline (score {{value}})");
	r[n - 1].min_score = 0.9;
	rule(&r[n++], "AgentCrashLoop", "event(crash_loop)", ALERT_CRITICAL, "0", "5m",
	     "{{agent}}: crash loop");
	rule(&r[n++], "AgentOOMKilled", "rate(oom_kills) > 0", ALERT_CRITICAL, "0", "5m",
	     "{{agent}}: a process was killed by the OOM killer");
	rule(&r[n++], "AgentMemoryGrowth", "deriv(resident_memory) > 100KiB", ALERT_WARNING, "10m",
	     "5m", "{{agent}}: resident memory grows by {{value}}/s");
	rule(&r[n++], "Agent429Storm", "rate(requests{status=\"429\"}) > 5", ALERT_WARNING, "30s",
	     "1m", "{{agent}}: {{value}} rate-limited (429) answers per second");
	/* The cost stage's thresholds (cost.h); config.c writes cost.*_ratio into them. */
	rule(&r[n++], "AgentBudgetWarning", "budget_usage_ratio >= 80%", ALERT_WARNING, "0", "0",
	     "{{agent}}: spent {{value}} of its daily budget (threshold {{threshold}})");
	rule(&r[n++], "AgentBudgetEmergency", "budget_usage_ratio >= 95%", ALERT_EMERGENCY, "0",
	     "0", "{{agent}}: spent {{value}} of its daily budget (threshold {{threshold}})");
	for (i = 0; i < n && i < cap; i++)
		out[i] = r[i];
	return i;
}

void alert__route_default(struct alert_route *r, const char *receiver)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->receiver, sizeof(r->receiver), "%s", receiver);
	snprintf(r->group_by[0], sizeof(r->group_by[0]), "agent");
	snprintf(r->group_by[1], sizeof(r->group_by[1]), "alertname");
	r->ngroup_by = 2;
	r->group_wait_ms = 0;
	r->group_interval_ms = 30000;
	r->repeat_interval_ms = 4 * HOUR_MS;
	r->send_resolved = true;
}

void alert__params_default(struct alert_params *p)
{
	memset(p, 0, sizeof(*p));
	p->nrules = alert__rules_default(p->rules, ALERT_RULES_MAX);
	p->inhibits[0].source = ALERT_EMERGENCY;
	p->inhibits[0].targets = 1u << ALERT_WARNING | 1u << ALERT_INFO;
	snprintf(p->inhibits[0].equal, sizeof(p->inhibits[0].equal), "agent");
	p->ninhibits = 1;
	p->max_per_hour = 10;
	p->cooldown_ms = 60000;
	p->resend_ms = 60000;
	snprintf(p->external_url, sizeof(p->external_url), "http://localhost:7979");
}

static bool name_ok(const char *s)
{
	size_t i;

	if (!s[0] || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
		return false;
	for (i = 1; s[i]; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_')
			return false;
	return true;
}

struct alert_engine *alert__new(const struct alert_params *p, char *err, size_t errlen)
{
	struct alert_engine *e;
	uint32_t i, j;
	char why[256];

	if (errlen)
		err[0] = 0;
	if (p->nrules > ALERT_RULES_MAX || p->nroutes > ALERT_ROUTES_MAX ||
	    p->ninhibits > ALERT_INHIBITS_MAX) {
		snprintf(err, errlen, "alerts: too many rules, routes or inhibitions");
		errno = EINVAL;
		return NULL;
	}
	e = calloc(1, sizeof(*e));
	if (!e) {
		errno = ENOMEM;
		return NULL;
	}
	e->p = *p;
	e->next_silence = 1;
	if (e->p.max_per_hour > SENT_RING)
		e->p.max_per_hour = SENT_RING;
	for (i = 0; i < e->p.nrules; i++) {
		struct alert_rule *r = &e->p.rules[i];

		if (!name_ok(r->name)) {
			snprintf(err, errlen,
				 "alerts: rule name \"%s\" is not [A-Za-z_][A-Za-z0-9_]*", r->name);
			goto out_inval;
		}
		for (j = 0; j < i; j++)
			if (!strcmp(e->p.rules[j].name, r->name)) {
				snprintf(err, errlen, "alerts: two rules are named \"%s\"",
					 r->name);
				goto out_inval;
			}
		if (alert__parse_expr(r->expr_text, &r->expr, why, sizeof(why))) {
			snprintf(err, errlen, "alerts: rule \"%s\": %s", r->name, why);
			goto out_inval;
		}
		if ((unsigned)r->severity >= ALERT_SEVERITIES || r->for_ms < 0 ||
		    r->keep_firing_for_ms < 0) {
			snprintf(err, errlen, "alerts: rule \"%s\": bad severity or duration",
				 r->name);
			goto out_inval;
		}
		for (j = 0; j < r->nannotations; j++)
			if (alert__template_check(r->annotations[j].value, why, sizeof(why))) {
				snprintf(err, errlen, "alerts: rule \"%s\": annotation %s: %s",
					 r->name, r->annotations[j].name, why);
				goto out_inval;
			}
		for (j = 0; j < r->nlabels; j++)
			if (!name_ok(r->labels[j].name) ||
			    !strcmp(r->labels[j].name, "alertname") ||
			    !strcmp(r->labels[j].name, "agent") ||
			    !strcmp(r->labels[j].name, "severity")) {
				snprintf(
					err, errlen,
					"alerts: rule \"%s\": label \"%s\" is not a free label name",
					r->name, r->labels[j].name);
				goto out_inval;
			}
	}
	for (i = 0; i < e->p.nroutes; i++) {
		struct alert_route *r = &e->p.routes[i];

		if (!r->receiver[0] || r->ngroup_by > ALERT_GROUP_BY_MAX ||
		    r->nmatch > ALERT_MATCHERS_MAX || r->group_interval_ms <= 0) {
			snprintf(err, errlen,
				 "alerts: route %u needs a receiver and a positive group_interval",
				 i + 1);
			goto out_inval;
		}
		if (r->repeat_interval_ms < r->group_interval_ms)
			r->repeat_interval_ms = r->group_interval_ms;
	}
	return e;
out_inval:
	free(e);
	errno = EINVAL;
	return NULL;
}

void alert__set_external_url(struct alert_engine *e, const char *url)
{
	snprintf(e->p.external_url, sizeof(e->p.external_url), "%s", url);
}

void alert__set_cause_fn(struct alert_engine *e, alert_cause_fn fn, void *ctx)
{
	e->cause_fn = fn;
	e->cause_ctx = ctx;
}

static void clear_out(struct alert_engine *e)
{
	size_t i;

	for (i = 0; i < e->no; i++)
		free(e->o[i].body);
	e->no = 0;
}

void alert__free(struct alert_engine *e)
{
	if (!e)
		return;
	clear_out(e);
	free(e->o);
	free(e->ov);
	free(e->a);
	free(e->g);
	free(e->h);
	free(e);
}

/* ---- labels, matching, muting ---- */

/* The alert's labels, sorted by name; returns how many. */
static size_t labels_of(const struct alert_engine *e, const struct alert *a, struct alert_kv *kv)
{
	const struct alert_rule *r = &e->p.rules[a->rule];
	size_t n = 0, i;

	snprintf(kv[n].name, sizeof(kv[n].name), "alertname");
	snprintf(kv[n++].value, sizeof(kv[0].value), "%s", r->name);
	snprintf(kv[n].name, sizeof(kv[n].name), "agent");
	snprintf(kv[n++].value, sizeof(kv[0].value), "%s", a->agent);
	snprintf(kv[n].name, sizeof(kv[n].name), "severity");
	snprintf(kv[n++].value, sizeof(kv[0].value), "%s", alert_severity_names[r->severity]);
	if (e->p.host[0]) {
		snprintf(kv[n].name, sizeof(kv[n].name), "host");
		snprintf(kv[n++].value, sizeof(kv[0].value), "%s", e->p.host);
	}
	for (i = 0; i < r->nlabels; i++)
		kv[n++] = r->labels[i];
	qsort(kv, n, sizeof(*kv), kv_cmp);
	return n;
}

static const char *label(const struct alert_kv *kv, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(kv[i].name, name))
			return kv[i].value;
	return ""; /* a missing label and an empty one are the same */
}

static bool matches(const struct alert_matcher *m, size_t nm, const struct alert_kv *kv, size_t n)
{
	size_t i;

	for (i = 0; i < nm; i++)
		if ((strcmp(label(kv, n, m[i].name), m[i].value) == 0) == m[i].negate)
			return false;
	return true;
}

static bool route_takes(const struct alert_engine *e, uint32_t ri, const struct alert *a,
			const struct alert_kv *kv, size_t n)
{
	const struct alert_route *r = &e->p.routes[ri];

	return e->p.rules[a->rule].severity >= r->min_severity &&
	       matches(r->match, r->nmatch, kv, n);
}

/* The routes each alert takes: first match, then on while `cont`. */
static uint32_t routes_of(const struct alert_engine *e, const struct alert *a)
{
	struct alert_kv kv[ALERT_LABELS_MAX + 4];
	size_t n = labels_of(e, a, kv);
	uint32_t mask = 0, i;

	for (i = 0; i < e->p.nroutes; i++) {
		if (!route_takes(e, i, a, kv, n))
			continue;
		mask |= 1u << i;
		if (!e->p.routes[i].cont)
			break;
	}
	return mask;
}

static void mute(struct alert_engine *e)
{
	struct alert_kv kv[ALERT_LABELS_MAX + 4], sk[ALERT_LABELS_MAX + 4];
	size_t i, j, k, n, sn;

	/* Silences past their expiry go. */
	for (i = 0; i < e->nsil;)
		if (e->sil[i].ends_ms <= e->now)
			e->sil[i] = e->sil[--e->nsil];
		else
			i++;
	for (i = 0; i < e->n; i++) {
		struct alert *a = &e->a[i];
		enum alert_severity sev = e->p.rules[a->rule].severity;

		n = labels_of(e, a, kv);
		a->silenced = false;
		a->inhibited = false;
		for (j = 0; j < e->nsil && !a->silenced; j++)
			a->silenced = matches(e->sil[j].m, e->sil[j].nm, kv, n);
		for (k = 0; k < e->p.ninhibits && !a->inhibited; k++) {
			const struct alert_inhibit *in = &e->p.inhibits[k];

			if (!(in->targets & (1u << sev)))
				continue;
			for (j = 0; j < e->n && !a->inhibited; j++) {
				const struct alert *s = &e->a[j];

				if (j == i || s->state != ALERT_FIRING ||
				    e->p.rules[s->rule].severity != in->source)
					continue;
				sn = labels_of(e, s, sk);
				a->inhibited =
					!strcmp(label(kv, n, in->equal), label(sk, sn, in->equal));
			}
		}
	}
}

/* ---- lifecycle ---- */

static struct alert *find(struct alert_engine *e, uint32_t rule, const char *agent)
{
	size_t i;

	for (i = 0; i < e->n; i++)
		if (e->a[i].rule == rule && !strcmp(e->a[i].agent, agent))
			return &e->a[i];
	return NULL;
}

static struct alert *add(struct alert_engine *e, uint32_t rule, const char *agent)
{
	struct alert_kv kv[ALERT_LABELS_MAX + 4];
	struct alert *a;
	size_t n;

	if (e->n == ALERT_ALERTS_MAX) {
		e->st.dropped++;
		return NULL;
	}
	if (buf__grow_array((void **)&e->a, &e->cap, e->n, sizeof(*e->a), 16))
		return NULL;
	a = &e->a[e->n++];
	memset(a, 0, sizeof(*a));
	a->rule = rule;
	snprintf(a->agent, sizeof(a->agent), "%s", agent);
	n = labels_of(e, a, kv);
	alert__fingerprint(kv, n, a->fp);
	return a;
}

static bool compare(enum alert_cmp c, double v, double t)
{
	switch (c) {
	case ALERT_GT:
		return v > t;
	case ALERT_GE:
		return v >= t;
	case ALERT_LT:
		return v < t;
	case ALERT_LE:
		return v <= t;
	case ALERT_EQ:
		return v == t;
	case ALERT_NE:
		return v != t;
	}
	return false;
}

/* P(X > t) for X normal with mean m and deviation sd > 0. */
static double above(double m, double sd, double t)
{
	return 0.5 * erfc((t - m) / (sd * M_SQRT2));
}

bool alert__expr_holds(const struct alert_expr *x, const struct alert_value *v, bool have,
		       double *conf)
{
	double c = v->confidence;
	bool t;

	if (conf)
		*conf = have ? c : 0;
	if (x->absent)
		return !have || v->value == 0;
	if (!have)
		return false;
	if (x->implicit) {
		t = x->q.fn == ALERT_FN_ANOMALY ? v->value >= 0.8 : v->value > 0;
	} else {
		t = compare(x->cmp, v->value, x->threshold);
		if (x->q.fn == ALERT_FN_FORECAST && v->sd > 0) {
			if (x->cmp == ALERT_GT || x->cmp == ALERT_GE)
				c = above(v->value, v->sd, x->threshold);
			else if (x->cmp == ALERT_LT || x->cmp == ALERT_LE)
				c = 1 - above(v->value, v->sd, x->threshold);
		}
	}
	if (conf)
		*conf = c;
	if (t && x->with_confidence)
		t = c > x->min_confidence || (c == x->min_confidence && x->min_confidence == 1);
	return t;
}

bool alert__cond_eval(const struct alert_cond *c, alert_lookup_fn lookup, void *ctx,
		      const char *agent, struct alert_value *vals, bool *have, uint64_t *errors)
{
	bool any = false, all = true;
	uint32_t i;

	for (i = 0; i < c->n; i++) {
		struct alert_value v;
		bool h;
		int rc;

		memset(&v, 0, sizeof(v));
		v.confidence = 1;
		rc = lookup(ctx, &c->term[i].q, agent, &v);
		if (rc && rc != -ENOENT && errors)
			(*errors)++;
		h = !rc && isfinite(v.value);
		if (vals)
			vals[i] = v;
		if (have)
			have[i] = h;
		all = alert__expr_holds(&c->term[i], &v, h, NULL) && all;
		if (c->or_next[i] || i + 1 == c->n) {
			any = any || all;
			all = true;
		}
	}
	return any;
}

static bool holds(struct alert_engine *e, const struct alert_rule *r, const char *agent,
		  alert_lookup_fn lookup, void *ctx, struct alert_value *v, bool *have)
{
	int rc;
	bool t;

	memset(v, 0, sizeof(*v));
	v->confidence = 1;
	rc = lookup(ctx, &r->expr.q, agent, v);
	if (rc && rc != -ENOENT)
		e->st.lookup_errors++;
	*have = !rc && isfinite(v->value);
	if (r->expr.absent)
		return !*have || v->value == 0;
	if (!*have)
		return false;
	if (r->expr.implicit)
		t = r->expr.q.fn == ALERT_FN_ANOMALY ? v->value >= r->min_score : v->value > 0;
	else
		t = compare(r->expr.cmp, v->value, r->expr.threshold);
	if (t && r->expr.q.fn == ALERT_FN_ANOMALY)
		t = v->confidence >= r->min_confidence;
	return t;
}

static void step(struct alert_engine *e, uint32_t ri, const char *agent, alert_lookup_fn lookup,
		 void *ctx)
{
	const struct alert_rule *r = &e->p.rules[ri];
	struct alert *a = find(e, ri, agent);
	struct alert_value v;
	bool have, t, recause;

	if (a && a->seen)
		return;
	t = holds(e, r, agent, lookup, ctx, &v, &have);
	if (!a) {
		if (!t)
			return;
		a = add(e, ri, agent);
		if (!a)
			return;
		a->state = ALERT_PENDING;
		a->active_ms = e->now;
	}
	a->seen = true;
	if (t && a->state == ALERT_RESOLVED) {
		if (e->now - a->ends_ms < e->p.cooldown_ms)
			return; /* cooling down: stays resolved */
		a->state = ALERT_PENDING;
		a->active_ms = e->now;
		a->ends_ms = 0;
		a->notified = a->resolved_sent = 0;
		a->acked = false;
		memset(a->pushed_ms, 0, sizeof(a->pushed_ms));
	}
	if (a->state == ALERT_RESOLVED)
		return;
	recause = have && (v.cause[0] || t);
	if (have) {
		a->value = v.value;
		if (recause)
			snprintf(a->cause, sizeof(a->cause), "%s", v.cause);
	} else if (r->expr.absent) {
		a->value = NAN;
	}
	if ((recause || t) && e->cause_fn)
		e->cause_fn(e->cause_ctx, r->name, agent, a->cause, sizeof(a->cause));
	if (t) {
		a->last_true_ms = e->now;
		if (a->state == ALERT_PENDING && e->now - a->active_ms >= r->for_ms)
			a->state = ALERT_FIRING;
	} else if (a->state == ALERT_PENDING) {
		a->state = ALERT_RESOLVED; /* never fired: removed below, nothing told */
		a->ends_ms = -1;
	} else if (a->state == ALERT_FIRING && e->now - a->last_true_ms >= r->keep_firing_for_ms) {
		a->state = ALERT_RESOLVED;
		a->ends_ms = e->now;
	}
}

/* Drops alerts that never fired, and resolved ones told (or given up on) past the cooldown. */
static void sweep(struct alert_engine *e)
{
	size_t i;

	for (i = 0; i < e->n;) {
		struct alert *a = &e->a[i];
		bool drop = false;

		if (a->state == ALERT_RESOLVED) {
			uint32_t owed = a->notified & ~a->resolved_sent;
			uint32_t ri;

			for (ri = 0; ri < e->p.nroutes; ri++)
				if (!e->p.routes[ri].send_resolved)
					owed &= ~(1u << ri);
			drop = a->ends_ms < 0 ||
			       (e->now - a->ends_ms >= e->p.cooldown_ms &&
				(!owed || e->now - a->ends_ms >= RESOLVED_KEEP_MS));
		}
		if (drop)
			e->a[i] = e->a[--e->n];
		else
			i++;
	}
}

/* ---- notifications ---- */

static struct hist *hist_get(struct alert_engine *e, const char *fp, bool create)
{
	struct hist *h;
	size_t i;

	for (i = 0; i < e->nh; i++)
		if (!strcmp(e->h[i].fp, fp))
			return &e->h[i];
	if (!create)
		return NULL;
	if (buf__grow_array((void **)&e->h, &e->hcap, e->nh, sizeof(*e->h), 16))
		return NULL;
	h = &e->h[e->nh++];
	memset(h, 0, sizeof(*h));
	memcpy(h->fp, fp, sizeof(h->fp));
	return h;
}

static bool rate_ok(struct alert_engine *e, const struct alert *a)
{
	struct hist *h = hist_get(e, a->fp, false);
	uint32_t i, recent = 0;

	if (!e->p.max_per_hour || !h)
		return true;
	for (i = 0; i < h->nsent && i < SENT_RING; i++)
		if (e->now - h->sent[i] < HOUR_MS)
			recent++;
	return recent < e->p.max_per_hour;
}

static void rate_note(struct alert_engine *e, const struct alert *a)
{
	struct hist *h = hist_get(e, a->fp, true);

	if (!h)
		return; /* out of memory: this one is not counted */
	h->sent[h->nsent % SENT_RING] = e->now;
	h->nsent++;
	if (h->nsent >= 2 * SENT_RING)
		h->nsent -= SENT_RING; /* same ring index, bounded */
}

/* Histories whose newest notification is an hour old go. */
static void hist_sweep(struct alert_engine *e)
{
	size_t i;

	for (i = 0; i < e->nh;) {
		struct hist *h = &e->h[i];
		int64_t last = h->nsent ? h->sent[(h->nsent - 1) % SENT_RING] : 0;

		if (e->now - last >= HOUR_MS)
			e->h[i] = e->h[--e->nh];
		else
			i++;
	}
}

static void group_key(const struct alert_engine *e, uint32_t ri, const struct alert_kv *kv,
		      size_t n, char *buf, size_t len)
{
	const struct alert_route *r = &e->p.routes[ri];
	size_t off, i;

	off = snprintf(buf, len, "{}:{");
	for (i = 0; i < r->ngroup_by && off < len; i++)
		off += snprintf(buf + off, len - off, "%s%s=\"%s\"", i ? ", " : "", r->group_by[i],
				label(kv, n, r->group_by[i]));
	if (off < len)
		snprintf(buf + off, len - off, "}");
}

/* A JSON string of s; bytes that are not UTF-8 (names are made valid upstream) become '?'. */
static json_t *jstr(const char *s)
{
	json_t *j = json_string(s);
	char buf[ALERT_TEXT_MAX + 64];
	size_t i;

	if (j)
		return j;
	snprintf(buf, sizeof(buf), "%s", s);
	for (i = 0; buf[i]; i++)
		if ((unsigned char)buf[i] >= 0x80)
			buf[i] = '?';
	return json_string(buf);
}

static json_t *alert_json(const struct alert_engine *e, const struct alert *a, bool resolved,
			  int64_t ends_ms)
{
	const struct alert_rule *r = &e->p.rules[a->rule];
	struct alert_kv kv[ALERT_LABELS_MAX + 4];
	json_t *o = json_object(), *l = json_object(), *an = json_object();
	char t[40], text[ALERT_TEXT_MAX], url[ALERT_TEXT_MAX + 32];
	size_t n = labels_of(e, a, kv), i;

	if (!o || !l || !an) {
		json_decref(o);
		json_decref(l);
		json_decref(an);
		return NULL;
	}
	for (i = 0; i < n; i++)
		json_object_set_new(l, kv[i].name, jstr(kv[i].value));
	for (i = 0; i < r->nannotations; i++) {
		render(e, a, r->annotations[i].value, text, sizeof(text));
		json_object_set_new(an, r->annotations[i].name, jstr(text));
	}
	json_object_set_new(o, "status", json_string(resolved ? "resolved" : "firing"));
	json_object_set_new(o, "labels", l);
	json_object_set_new(o, "annotations", an);
	rfc3339(a->active_ms, t, sizeof(t));
	json_object_set_new(o, "startsAt", json_string(t));
	rfc3339(ends_ms, t, sizeof(t));
	json_object_set_new(o, "endsAt", json_string(t));
	snprintf(url, sizeof(url), "%s/api/v1/alerts", e->p.external_url);
	json_object_set_new(o, "generatorURL", json_string(url));
	json_object_set_new(o, "fingerprint", json_string(a->fp));
	return o;
}

/* Labels (or annotations) equal in every alert of arr. */
static json_t *common(json_t *arr, const char *field)
{
	json_t *c = NULL, *a;
	size_t i;

	json_array_foreach (arr, i, a) {
		json_t *x = json_object_get(a, field), *v;
		const char *k;
		void *tmp;

		if (!c) {
			c = json_deep_copy(x);
			continue;
		}
		json_object_foreach_safe(c, tmp, k, v)
		{
			json_t *w = json_object_get(x, k);

			if (!w || !json_equal(v, w))
				json_object_del(c, k);
		}
	}
	return c ? c : json_object();
}

static int emit(struct alert_engine *e, const char *receiver, const char *gkey, json_t *alerts,
		json_t *glabels, const char *key)
{
	json_t *b = json_object();
	bool firing = false;
	struct out *o;
	json_t *a;
	size_t i;

	if (!b)
		return -ENOMEM;
	json_array_foreach (alerts, i, a)
		if (!strcmp(json_string_value(json_object_get(a, "status")), "firing"))
			firing = true;
	json_object_set_new(b, "receiver", json_string(receiver));
	json_object_set_new(b, "status", json_string(firing ? "firing" : "resolved"));
	json_object_set(b, "alerts", alerts);
	json_object_set(b, "groupLabels", glabels);
	json_object_set_new(b, "commonLabels", common(alerts, "labels"));
	json_object_set_new(b, "commonAnnotations", common(alerts, "annotations"));
	json_object_set_new(b, "externalURL", json_string(e->p.external_url));
	json_object_set_new(b, "version", json_string("4"));
	json_object_set_new(b, "groupKey", json_string(gkey));
	json_object_set_new(b, "truncatedAlerts", json_integer(0));
	if (buf__grow_array((void **)&e->o, &e->ocap, e->no, sizeof(*e->o), 8)) {
		json_decref(b);
		return -ENOMEM;
	}
	o = &e->o[e->no];
	o->body = json_dumps(b, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(b);
	if (!o->body)
		return -ENOMEM;
	snprintf(o->receiver, sizeof(o->receiver), "%s", receiver);
	snprintf(o->key, sizeof(o->key), "%s", key);
	e->no++;
	e->st.notifications++;
	return 0;
}

/* Key from what a notification says: receiver, group and each alert's id, status and start. */
static void content_key(const char *prefix, const char *receiver, const char *gkey, json_t *alerts,
			int64_t extra, char *out, size_t len)
{
	uint64_t h = FNV_OFFSET;
	json_t *a;
	size_t i;

	h = fnv_add(h, receiver, strlen(receiver) + 1);
	h = fnv_add(h, gkey, strlen(gkey) + 1);
	json_array_foreach (alerts, i, a) {
		const char *f = json_string_value(json_object_get(a, "fingerprint"));
		const char *s = json_string_value(json_object_get(a, "status"));
		const char *t = json_string_value(json_object_get(a, "startsAt"));

		h = fnv_add(h, f, strlen(f) + 1);
		h = fnv_add(h, s, strlen(s) + 1);
		h = fnv_add(h, t, strlen(t) + 1);
	}
	if (extra)
		snprintf(out, len, "%s-%016" PRIx64 "-%" PRId64, prefix, h, extra);
	else
		snprintf(out, len, "%s-%016" PRIx64, prefix, h);
}

static struct group *group_get(struct alert_engine *e, uint32_t ri, const char *key)
{
	struct group *g;
	size_t i;

	for (i = 0; i < e->ng; i++)
		if (e->g[i].route == ri && !strcmp(e->g[i].key, key))
			return &e->g[i];
	if (buf__grow_array((void **)&e->g, &e->gcap, e->ng, sizeof(*e->g), 8))
		return NULL;
	g = &e->g[e->ng++];
	memset(g, 0, sizeof(*g));
	g->route = ri;
	snprintf(g->key, sizeof(g->key), "%s", key);
	g->flush_ms = e->now + e->p.routes[ri].group_wait_ms;
	return g;
}

static bool muted(const struct alert *a)
{
	return a->silenced || a->inhibited;
}

/* Alertmanager push: each firing alert every resend_ms, each resolve once. */
static int push(struct alert_engine *e, uint32_t ri, const uint32_t *routes)
{
	const struct alert_route *r = &e->p.routes[ri];
	json_t *arr = json_array();
	char key[80];
	size_t i;
	int err = 0;

	if (!arr)
		return -ENOMEM;
	for (i = 0; i < e->n; i++) {
		struct alert *a = &e->a[i];
		uint32_t bit = 1u << ri;
		json_t *j = NULL;

		if (!(routes[i] & bit) || muted(a))
			continue;
		if (a->state == ALERT_FIRING &&
		    (!(a->notified & bit) || e->now - a->pushed_ms[ri] >= e->p.resend_ms)) {
			j = alert_json(e, a, false, e->now + 4 * e->p.resend_ms);
			a->notified |= bit;
			a->pushed_ms[ri] = e->now;
		} else if (a->state == ALERT_RESOLVED && a->ends_ms > 0 && (a->notified & bit) &&
			   !(a->resolved_sent & bit)) {
			j = alert_json(e, a, true, a->ends_ms);
			a->resolved_sent |= bit;
		}
		if (j)
			json_array_append_new(arr, j);
	}
	if (json_array_size(arr)) {
		content_key("p", r->receiver, "push", arr, e->now, key, sizeof(key));
		json_t *none = json_object();

		err = none ? emit(e, r->receiver, "{}:{}", arr, none, key) : -ENOMEM;
		json_decref(none);
	}
	json_decref(arr);
	return err;
}

static int flush_group(struct alert_engine *e, struct group *g, const uint32_t *routes)
{
	const struct alert_route *r = &e->p.routes[g->route];
	struct alert_kv kv[ALERT_LABELS_MAX + 4];
	uint32_t bit = 1u << g->route;
	bool changed = false, any_firing = false, all_acked = true, repeat;
	json_t *arr = NULL, *gl = NULL;
	char gk[512], key[80];
	size_t i, n, k;
	int err = 0;

	/* What changed since the last notification, and is anything left to repeat? */
	for (i = 0; i < e->n; i++) {
		struct alert *a = &e->a[i];

		if (!(routes[i] & bit) || muted(a) || a->state == ALERT_PENDING)
			continue;
		n = labels_of(e, a, kv);
		group_key(e, g->route, kv, n, gk, sizeof(gk));
		if (strcmp(gk, g->key))
			continue;
		if (a->state == ALERT_FIRING) {
			g->live = true;
			any_firing = true;
			all_acked &= a->acked;
			changed |= !(a->notified & bit);
		} else if (a->ends_ms > 0 && (a->notified & bit) && !(a->resolved_sent & bit) &&
			   r->send_resolved) {
			g->live = true;
			changed = true;
		}
	}
	if (e->now < g->flush_ms)
		return 0;
	repeat = !changed && any_firing && !all_acked && g->last_ms &&
		 e->now - g->last_ms >= r->repeat_interval_ms;
	if (!changed && !repeat)
		return 0;
	arr = json_array();
	gl = json_object();
	if (!arr || !gl) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < e->n; i++) {
		struct alert *a = &e->a[i];
		bool resolved = a->state == ALERT_RESOLVED;
		json_t *j;

		if (!(routes[i] & bit) || muted(a) || a->state == ALERT_PENDING)
			continue;
		n = labels_of(e, a, kv);
		group_key(e, g->route, kv, n, gk, sizeof(gk));
		if (strcmp(gk, g->key))
			continue;
		if (resolved && (a->ends_ms <= 0 || !(a->notified & bit) ||
				 (a->resolved_sent & bit) || !r->send_resolved))
			continue;
		if (!resolved && a->acked && repeat)
			continue;
		if (!rate_ok(e, a)) {
			e->st.rate_limited++;
			continue;
		}
		j = alert_json(e, a, resolved, resolved ? a->ends_ms : 0);
		if (!j) {
			err = -ENOMEM;
			goto out;
		}
		json_array_append_new(arr, j);
		rate_note(e, a);
		if (resolved)
			a->resolved_sent |= bit;
		else
			a->notified |= bit;
		if (!json_object_size(gl))
			for (k = 0; k < r->ngroup_by; k++)
				json_object_set_new(gl, r->group_by[k],
						    json_string(label(kv, n, r->group_by[k])));
	}
	if (json_array_size(arr)) {
		content_key("n", r->receiver, g->key, arr, repeat ? e->now : 0, key, sizeof(key));
		err = emit(e, r->receiver, g->key, arr, gl, key);
		if (!err)
			g->last_ms = e->now;
	}
	g->flush_ms = e->now + r->group_interval_ms;
out:
	json_decref(arr);
	json_decref(gl);
	return err;
}

static int notify_routes(struct alert_engine *e)
{
	struct alert_kv kv[ALERT_LABELS_MAX + 4];
	uint32_t *routes;
	char gk[512];
	size_t i, n;
	uint32_t ri;
	int err = 0;

	routes = calloc(e->n + 1, sizeof(*routes));
	if (!routes)
		return -ENOMEM;
	for (i = 0; i < e->n; i++)
		routes[i] = routes_of(e, &e->a[i]);
	/* Groups come into being when one of their alerts fires (unmuted). */
	for (i = 0; i < e->n; i++) {
		struct alert *a = &e->a[i];

		if (a->state != ALERT_FIRING || muted(a))
			continue;
		n = labels_of(e, a, kv);
		for (ri = 0; ri < e->p.nroutes; ri++) {
			if (!(routes[i] & (1u << ri)) || e->p.routes[ri].push)
				continue;
			group_key(e, ri, kv, n, gk, sizeof(gk));
			if (!group_get(e, ri, gk))
				err = -ENOMEM;
		}
	}
	for (ri = 0; ri < e->p.nroutes; ri++)
		if (e->p.routes[ri].push && !err)
			err = push(e, ri, routes);
	for (i = 0; i < e->ng && !err; i++) {
		e->g[i].live = false;
		err = flush_group(e, &e->g[i], routes);
	}
	/* A group with nothing firing and nothing left to tell goes. */
	for (i = 0; i < e->ng;)
		if (!e->g[i].live && !err)
			e->g[i] = e->g[--e->ng];
		else
			i++;
	free(routes);
	return err;
}

int alert__eval(struct alert_engine *e, int64_t now_ms, const char *const *agents, size_t n,
		alert_lookup_fn lookup, void *ctx, const struct alert_out **out, size_t *nout)
{
	size_t i, j;
	uint32_t ri;
	int err;

	clear_out(e);
	if (now_ms > e->now)
		e->now = now_ms;
	for (i = 0; i < e->n; i++)
		e->a[i].seen = false;
	for (ri = 0; ri < e->p.nrules; ri++) {
		if (e->p.rules[ri].disabled)
			continue;
		for (j = 0; j < n; j++)
			step(e, ri, agents[j], lookup, ctx);
	}
	/* Agents no longer listed: their alerts are still evaluated, so they resolve. */
	for (i = 0; i < e->n; i++) {
		struct alert *a = &e->a[i];

		if (!a->seen && !e->p.rules[a->rule].disabled) {
			char agent[ALERT_NAME_MAX];

			memcpy(agent, a->agent, sizeof(agent));
			step(e, a->rule, agent, lookup, ctx);
		} else if (!a->seen && a->state != ALERT_RESOLVED) {
			a->state = ALERT_RESOLVED; /* its rule was switched off */
			a->ends_ms = e->now;
		}
	}
	for (i = 0; i < e->n; i++) {
		struct alert *a = &e->a[i];

		render(e, a,
		       e->p.rules[a->rule].nannotations ? e->p.rules[a->rule].annotations[0].value
							: "",
		       a->summary, sizeof(a->summary));
	}
	mute(e);
	err = notify_routes(e);
	sweep(e);
	hist_sweep(e);
	if (e->no > 0) {
		struct alert_out *ov = realloc(e->ov, e->no * sizeof(*ov));

		if (!ov) {
			err = -ENOMEM;
			clear_out(e);
		} else {
			e->ov = ov;
		}
	}
	for (i = 0; i < e->no; i++) {
		e->ov[i].receiver = e->o[i].receiver;
		e->ov[i].key = e->o[i].key;
		e->ov[i].body = e->o[i].body;
	}
	*out = e->ov;
	*nout = e->no;
	return err;
}

/* ---- queries and commands ---- */

void alert__foreach(struct alert_engine *e, int (*fn)(void *ctx, const struct alert_info *a),
		    void *ctx)
{
	static const enum alert_state order[] = {ALERT_FIRING, ALERT_PENDING, ALERT_RESOLVED};
	size_t i, k;

	for (k = 0; k < 3; k++)
		for (i = 0; i < e->n; i++) {
			const struct alert *a = &e->a[i];
			const struct alert_rule *r = &e->p.rules[a->rule];
			struct alert_info ai;

			if (a->state != order[k] || a->ends_ms < 0)
				continue;
			memset(&ai, 0, sizeof(ai));
			memcpy(ai.id, a->fp, sizeof(ai.id));
			ai.rule = r->name;
			ai.agent = a->agent;
			ai.state = a->state;
			ai.severity = r->severity;
			ai.active_ms = a->active_ms;
			ai.ends_ms = a->ends_ms;
			ai.value = a->value;
			ai.threshold = r->expr.implicit ? r->min_score : r->expr.threshold;
			ai.cause = a->cause;
			ai.acked = a->acked;
			ai.silenced = a->silenced;
			ai.inhibited = a->inhibited;
			ai.summary = a->summary;
			if (fn(ctx, &ai))
				return;
		}
}

int alert__ack(struct alert_engine *e, const char *id)
{
	size_t i;

	for (i = 0; i < e->n; i++)
		if (!strcmp(e->a[i].fp, id) && e->a[i].ends_ms >= 0) {
			e->a[i].acked = true;
			return 0;
		}
	return -ENOENT;
}

int64_t alert__silence_add(struct alert_engine *e, const struct alert_silence *s, int64_t now_ms)
{
	struct alert_silence *n;

	if (!s->nm || s->nm > ALERT_MATCHERS_MAX || s->ends_ms <= now_ms)
		return -EINVAL;
	if (e->nsil == ALERT_SILENCES_MAX)
		return -ENOSPC;
	n = &e->sil[e->nsil++];
	*n = *s;
	n->id = e->next_silence++;
	return (int64_t)n->id;
}

int alert__silence_expire(struct alert_engine *e, uint64_t id)
{
	size_t i;

	for (i = 0; i < e->nsil; i++)
		if (e->sil[i].id == id) {
			e->sil[i] = e->sil[--e->nsil];
			return 0;
		}
	return -ENOENT;
}

size_t alert__silences(struct alert_engine *e, struct alert_silence *out, size_t cap)
{
	size_t i;

	for (i = 0; i < e->nsil && i < cap; i++)
		out[i] = e->sil[i];
	return e->nsil;
}

void alert__stats(struct alert_engine *e, struct alert_stats *st)
{
	size_t i;

	*st = e->st;
	memset(st->alerts, 0, sizeof(st->alerts));
	for (i = 0; i < e->n; i++)
		if (e->a[i].ends_ms >= 0)
			st->alerts[e->a[i].state][e->p.rules[e->a[i].rule].severity]++;
}

/* ---- saved state ---- */

static json_t *matchers_json(const struct alert_matcher *m, size_t n)
{
	json_t *arr = json_array();
	size_t i;

	for (i = 0; i < n; i++)
		json_array_append_new(arr, json_pack("{s:s,s:s,s:b}", "name", m[i].name, "value",
						     m[i].value, "negate", m[i].negate));
	return arr;
}

char *alert__save(struct alert_engine *e, size_t *len)
{
	json_t *root, *as = json_array(), *gs = json_array(), *ss = json_array(),
		      *hs = json_array();
	size_t i, k;
	char *out;

	for (i = 0; i < e->n; i++) {
		const struct alert *a = &e->a[i];
		json_t *pushed = json_array();

		if (a->ends_ms < 0)
			continue;
		for (k = 0; k < e->p.nroutes; k++)
			json_array_append_new(pushed, json_integer(a->pushed_ms[k]));
		json_array_append_new(
			as,
			json_pack("{s:s,s:s,s:s,s:I,s:I,s:I,s:f,s:s,s:b,s:I,s:I,s:o}", "rule",
				  e->p.rules[a->rule].name, "agent", a->agent, "state",
				  alert_state_names[a->state], "active", (json_int_t)a->active_ms,
				  "ends", (json_int_t)a->ends_ms, "last_true",
				  (json_int_t)a->last_true_ms, "value",
				  isfinite(a->value) ? a->value : 0.0, "cause", a->cause, "acked",
				  a->acked, "notified", (json_int_t)a->notified, "resolved_sent",
				  (json_int_t)a->resolved_sent, "pushed", pushed));
	}
	for (i = 0; i < e->nh; i++) {
		json_t *sent = json_array();

		for (k = 0; k < e->h[i].nsent && k < SENT_RING; k++)
			json_array_append_new(sent, json_integer(e->h[i].sent[k]));
		json_array_append_new(hs, json_pack("{s:s,s:I,s:o}", "fp", e->h[i].fp, "n",
						    (json_int_t)e->h[i].nsent, "sent", sent));
	}
	for (i = 0; i < e->ng; i++)
		json_array_append_new(gs,
				      json_pack("{s:s,s:s,s:I,s:I}", "receiver",
						e->p.routes[e->g[i].route].receiver, "key",
						e->g[i].key, "flush", (json_int_t)e->g[i].flush_ms,
						"last", (json_int_t)e->g[i].last_ms));
	for (i = 0; i < e->nsil; i++)
		json_array_append_new(
			ss, json_pack("{s:I,s:o,s:I,s:s}", "id", (json_int_t)e->sil[i].id,
				      "matchers", matchers_json(e->sil[i].m, e->sil[i].nm), "ends",
				      (json_int_t)e->sil[i].ends_ms, "comment", e->sil[i].comment));
	root = json_pack("{s:i,s:I,s:I,s:o,s:o,s:o,s:o}", "version", SAVE_VERSION, "now",
			 (json_int_t)e->now, "next_silence", (json_int_t)e->next_silence, "alerts",
			 as, "groups", gs, "silences", ss, "sent", hs);
	if (!root)
		return NULL;
	out = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	if (out && len)
		*len = strlen(out);
	return out;
}

static int rule_index(const struct alert_engine *e, const char *name)
{
	uint32_t i;

	for (i = 0; i < e->p.nrules; i++)
		if (!strcmp(e->p.rules[i].name, name))
			return (int)i;
	return -1;
}

int alert__restore(struct alert_engine *e, const char *buf, size_t len)
{
	json_t *root = json_loadb(buf, len, 0, NULL), *as, *gs, *ss, *x;
	struct alert_engine tmp;
	size_t i, k;
	int err = -EINVAL;

	if (!root || json_integer_value(json_object_get(root, "version")) != SAVE_VERSION)
		goto out;
	as = json_object_get(root, "alerts");
	gs = json_object_get(root, "groups");
	ss = json_object_get(root, "silences");
	if (!json_is_array(as) || !json_is_array(gs) || !json_is_array(ss))
		goto out;
	tmp = *e;
	tmp.a = NULL;
	tmp.n = tmp.cap = 0;
	tmp.g = NULL;
	tmp.ng = tmp.gcap = 0;
	tmp.h = NULL;
	tmp.nh = tmp.hcap = 0;
	tmp.nsil = 0;
	tmp.now = json_integer_value(json_object_get(root, "now"));
	tmp.next_silence = (uint64_t)json_integer_value(json_object_get(root, "next_silence"));
	if (!tmp.next_silence)
		tmp.next_silence = 1;
	json_array_foreach (as, i, x) {
		const char *rule = json_string_value(json_object_get(x, "rule"));
		const char *agent = json_string_value(json_object_get(x, "agent"));
		const char *state = json_string_value(json_object_get(x, "state"));
		json_t *pushed = json_object_get(x, "pushed"), *v;
		int ri = rule ? rule_index(&tmp, rule) : -1, s;
		struct alert *a;

		if (!agent || !state)
			goto out_tmp;
		for (s = 0; s < ALERT_STATES; s++)
			if (!strcmp(state, alert_state_names[s]))
				break;
		if (s == ALERT_STATES)
			goto out_tmp;
		if (ri < 0)
			continue; /* rule gone from the configuration */
		a = add(&tmp, (uint32_t)ri, agent);
		if (!a) {
			err = -ENOMEM;
			goto out_tmp;
		}
		a->state = s;
		a->active_ms = json_integer_value(json_object_get(x, "active"));
		a->ends_ms = json_integer_value(json_object_get(x, "ends"));
		a->last_true_ms = json_integer_value(json_object_get(x, "last_true"));
		a->value = json_number_value(json_object_get(x, "value"));
		snprintf(a->cause, sizeof(a->cause), "%s",
			 json_string_value(json_object_get(x, "cause")) ?: "");
		a->acked = json_is_true(json_object_get(x, "acked"));
		a->notified = (uint32_t)json_integer_value(json_object_get(x, "notified"));
		a->resolved_sent =
			(uint32_t)json_integer_value(json_object_get(x, "resolved_sent"));
		json_array_foreach (pushed, k, v)
			if (k < ALERT_ROUTES_MAX)
				a->pushed_ms[k] = json_integer_value(v);
	}
	json_array_foreach (gs, i, x) {
		const char *rcv = json_string_value(json_object_get(x, "receiver"));
		const char *key = json_string_value(json_object_get(x, "key"));
		struct group *g;
		uint32_t ri;

		if (!rcv || !key)
			goto out_tmp;
		for (ri = 0; ri < tmp.p.nroutes; ri++)
			if (!strcmp(tmp.p.routes[ri].receiver, rcv))
				break;
		if (ri == tmp.p.nroutes)
			continue;
		g = group_get(&tmp, ri, key);
		if (!g) {
			err = -ENOMEM;
			goto out_tmp;
		}
		g->flush_ms = json_integer_value(json_object_get(x, "flush"));
		g->last_ms = json_integer_value(json_object_get(x, "last"));
	}
	json_array_foreach (json_object_get(root, "sent"), i, x) {
		const char *fp = json_string_value(json_object_get(x, "fp"));
		struct hist *h;
		json_t *v;

		if (!fp || strlen(fp) != 16)
			goto out_tmp;
		h = hist_get(&tmp, fp, true);
		if (!h) {
			err = -ENOMEM;
			goto out_tmp;
		}
		h->nsent = (uint32_t)json_integer_value(json_object_get(x, "n"));
		if (h->nsent >= 2 * SENT_RING)
			h->nsent = SENT_RING;
		json_array_foreach (json_object_get(x, "sent"), k, v)
			if (k < SENT_RING)
				h->sent[k] = json_integer_value(v);
	}
	json_array_foreach (ss, i, x) {
		struct alert_silence *s;
		json_t *m;

		if (tmp.nsil == ALERT_SILENCES_MAX)
			break;
		s = &tmp.sil[tmp.nsil];
		memset(s, 0, sizeof(*s));
		s->id = (uint64_t)json_integer_value(json_object_get(x, "id"));
		s->ends_ms = json_integer_value(json_object_get(x, "ends"));
		snprintf(s->comment, sizeof(s->comment), "%s",
			 json_string_value(json_object_get(x, "comment")) ?: "");
		json_array_foreach (json_object_get(x, "matchers"), k, m) {
			if (s->nm == ALERT_MATCHERS_MAX)
				break;
			snprintf(s->m[s->nm].name, sizeof(s->m[0].name), "%s",
				 json_string_value(json_object_get(m, "name")) ?: "");
			snprintf(s->m[s->nm].value, sizeof(s->m[0].value), "%s",
				 json_string_value(json_object_get(m, "value")) ?: "");
			s->m[s->nm].negate = json_is_true(json_object_get(m, "negate"));
			s->nm++;
		}
		if (s->nm)
			tmp.nsil++;
	}
	free(e->a);
	free(e->g);
	free(e->h);
	e->a = tmp.a;
	e->h = tmp.h;
	e->nh = tmp.nh;
	e->hcap = tmp.hcap;
	e->n = tmp.n;
	e->cap = tmp.cap;
	e->g = tmp.g;
	e->ng = tmp.ng;
	e->gcap = tmp.gcap;
	memcpy(e->sil, tmp.sil, sizeof(e->sil));
	e->nsil = tmp.nsil;
	e->next_silence = tmp.next_silence;
	if (tmp.now > e->now)
		e->now = tmp.now;
	err = 0;
	goto out;
out_tmp:
	free(tmp.a);
	free(tmp.g);
	free(tmp.h);
out:
	json_decref(root);
	return err;
}
