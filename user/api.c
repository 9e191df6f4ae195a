// SPDX-License-Identifier: MIT
/* JSON documents of the HTTP API, with jansson. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alerting.h"
#include "anomaly.h"
#include "api.h"
#include "cost.h"
#include "incident.h"
#include "rates.h"
#include "text.h"
#include "snapshot.h"
#include "store.h"
#include "verdict.h"

void api__rfc3339(double t, char *buf, size_t len)
{
	time_t sec = (time_t)floor(t);
	int ms = (int)((t - floor(t)) * 1000);
	struct tm tm;
	char base[32];

	if (ms > 999)
		ms = 999;
	gmtime_r(&sec, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03dZ", base, ms);
}

static json_t *time_json(double t)
{
	char buf[40];

	api__rfc3339(t, buf, sizeof(buf));
	return json_string(buf);
}

/* The departures of an episode in the order they departed, with their baselines. */
static json_t *departed_json(const struct anomaly_episode *e)
{
	json_t *a = json_array(), *d;
	__u32 i;

	if (!a)
		return NULL;
	for (i = 0; i < e->ndeparted; i++) {
		const struct anomaly_departure *x = &e->departed[i];

		d = json_object();
		if (!d || json_array_append_new(a, d))
			goto err;
		if (json_object_set_new(d, "signal",
					json_string(anomaly__signal_name(x->signal))) ||
		    json_object_set_new(d, "since", time_json(x->since)) ||
		    json_object_set_new(d, "noted", time_json(x->noted)) ||
		    json_object_set_new(d, "detector",
					json_string(verdict__detector_name(x->detector))) ||
		    json_object_set_new(d, "value",
					isfinite(x->value) ? json_real(x->value) : json_null()) ||
		    json_object_set_new(d, "baseline",
					isfinite(x->baseline) ? json_real(x->baseline)
							      : json_null()) ||
		    json_object_set_new(d, "scale",
					isfinite(x->scale) ? json_real(x->scale) : json_null()) ||
		    json_object_set_new(d, "peak", json_real(x->peak)))
			goto err;
	}
	return a;
err:
	json_decref(a);
	return NULL;
}

static json_t *episode_json(const struct anomaly_episode *e)
{
	json_t *o = json_object(), *sigs = json_array(), *sg;
	int i;

	if (!o || !sigs)
		goto err;
	for (i = 0; i < ANOMALY_NSIGNALS; i++) {
		if (!(e->signals & (1u << i)))
			continue;
		sg = json_pack("{s:s, s:f}", "signal", anomaly__signal_name(i), "score",
			       e->score[i]);
		if (!sg || json_array_append_new(sigs, sg))
			goto err;
	}
	if (json_object_set_new(o, "agent", text__json(e->agent)) ||
	    json_object_set_new(o, "start", time_json(e->start)) ||
	    json_object_set_new(o, "end", e->end ? time_json(e->end) : json_null()) ||
	    json_object_set_new(o, "ongoing", json_boolean(!e->end)) ||
	    json_object_set_new(o, "peak_score", json_real(e->peak)) ||
	    json_object_set_new(o, "confidence", json_real(e->confidence)) ||
	    json_object_set_new(o, "cause",
				e->ndeparted
					? json_string(anomaly__signal_name(e->departed[0].signal))
					: json_null()) ||
	    json_object_set_new(o, "why", json_string(e->why)) ||
	    json_object_set_new(o, "departed", departed_json(e)))
		goto err;
	/* set_new takes the reference even when it fails. */
	if (json_object_set_new(o, "signals", sigs))
		goto err_object;
	return o;
err:
	json_decref(sigs);
err_object:
	json_decref(o);
	return NULL;
}

static json_t *episodes_json(const struct anomaly_episode *e, int n)
{
	json_t *a = json_array(), *o;
	int i;

	if (!a)
		return NULL;
	for (i = 0; i < n; i++) {
		o = episode_json(&e[i]);
		if (!o || json_array_append_new(a, o)) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

char *api__anomalies(const struct anomaly_view *v)
{
	json_t *root = json_object();
	char *text = NULL;

	if (!root)
		return NULL;
	if (!json_object_set_new(root, "time", time_json(v->time)) &&
	    !json_object_set_new(root, "threshold", json_real(v->threshold)) &&
	    !json_object_set_new(root, "current", episodes_json(v->current, v->ncurrent)) &&
	    !json_object_set_new(root, "recent", episodes_json(v->recent, v->nrecent)))
		text = json_dumps(root, JSON_COMPACT | JSON_REAL_PRECISION(6));
	json_decref(root);
	return text;
}

static json_t *number_or_null(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

static json_t *alert_json(const struct alert_view_item *a)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	json_object_set_new(o, "id", json_string(a->id));
	json_object_set_new(o, "alertname", json_string(a->rule));
	json_object_set_new(o, "agent", json_string(a->agent));
	json_object_set_new(o, "state", json_string(a->state));
	json_object_set_new(o, "severity", json_string(a->severity));
	json_object_set_new(o, "startsAt", time_json(a->active));
	json_object_set_new(o, "endsAt", a->ends > 0 ? time_json(a->ends) : json_null());
	json_object_set_new(o, "value", number_or_null(a->value));
	json_object_set_new(o, "threshold", number_or_null(a->threshold));
	json_object_set_new(o, "summary", json_string(a->summary));
	json_object_set_new(o, "cause", a->cause[0] ? json_string(a->cause) : json_null());
	json_object_set_new(o, "acknowledged", json_boolean(a->acked));
	json_object_set_new(o, "silenced", json_boolean(a->silenced));
	json_object_set_new(o, "inhibited", json_boolean(a->inhibited));
	return o;
}

char *api__alerts(const struct alert_view *v)
{
	json_t *root = json_object(), *arr = json_array();
	char *text = NULL;
	int i;

	if (!root || !arr) {
		json_decref(root);
		json_decref(arr);
		return NULL;
	}
	for (i = 0; i < v->n; i++)
		if (json_array_append_new(arr, alert_json(&v->items[i])))
			goto out;
	if (!json_object_set_new(root, "time", time_json(v->time)) &&
	    !json_object_set_new(root, "alerts", arr))
		text = json_dumps(root, JSON_COMPACT | JSON_REAL_PRECISION(6));
	arr = NULL;
out:
	json_decref(arr);
	json_decref(root);
	return text;
}

static json_t *text_or_null(const char *s)
{
	return s[0] ? json_string(s) : json_null();
}

static json_t *incident_json(const struct incident *in)
{
	json_t *o = json_object(), *sigs = json_array(), *linked = json_array();
	uint32_t i;

	if (!o || !sigs || !linked) {
		json_decref(o);
		json_decref(sigs);
		json_decref(linked);
		return NULL;
	}
	for (i = 0; i < in->nsignals; i++) {
		const struct incident_signal *g = &in->signals[i];

		json_array_append_new(
			sigs, json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:b}", "name", g->name,
					"source", g->source == INCIDENT_ALERT ? "alert" : "anomaly",
					"kind", incident_kind_names[g->kind], "since",
					time_json(g->since), "lastSeen", time_json(g->last),
					"detail", text_or_null(g->detail), "fell", g->fell));
	}
	for (i = 0; i < in->nlinked; i++)
		json_array_append_new(linked, json_integer((json_int_t)in->linked[i]));
	json_object_set_new(o, "id", json_integer((json_int_t)in->id));
	json_object_set_new(o, "agent", json_string(in->agent));
	json_object_set_new(o, "state", json_string(incident_state_names[in->state]));
	json_object_set_new(o, "startsAt", time_json(in->start));
	json_object_set_new(o, "endsAt", in->end > 0 ? time_json(in->end) : json_null());
	json_object_set_new(o, "cause", json_string(in->cause));
	json_object_set_new(o, "recommendation", text_or_null(in->recommendation));
	json_object_set_new(o, "upstream", text_or_null(in->upstream));
	json_object_set_new(o, "link", text_or_null(in->link));
	json_object_set_new(o, "linked", linked);
	json_object_set_new(o, "signals", sigs);
	json_object_set_new(o, "more_signals", json_integer(in->more));
	return o;
}

char *api__incidents(const struct incident_view *v, uint64_t id)
{
	json_t *root = json_object(), *arr = NULL;
	const struct incident *one;
	char *text = NULL;
	uint32_t i;

	if (!root)
		goto nomem;
	json_object_set_new(root, "time", time_json(v->time));
	if (id) {
		one = incident__view_get(v, id);
		if (!one) {
			json_decref(root);
			errno = ENOENT;
			return NULL;
		}
		if (json_object_set_new(root, "incident", incident_json(one)))
			goto nomem;
	} else {
		arr = json_array();
		if (!arr)
			goto nomem;
		for (i = 0; i < v->n; i++)
			if (json_array_append_new(arr, incident_json(&v->items[i])))
				goto nomem;
		if (json_object_set_new(root, "incidents", arr)) {
			arr = NULL;
			goto nomem;
		}
		arr = NULL;
	}
	text = json_dumps(root, JSON_COMPACT | JSON_REAL_PRECISION(6));
	json_decref(root);
	if (!text)
		errno = ENOMEM;
	return text;
nomem:
	json_decref(arr);
	json_decref(root);
	errno = ENOMEM;
	return NULL;
}

char *api__ack(const char *id)
{
	json_t *o = json_pack("{s:s, s:s}", "status", "ok", "acknowledged", id);
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	return text;
}

/* Whether s is a label name, [a-zA-Z_][a-zA-Z0-9_]* (Prometheus data model). */
static bool label_name(const char *s)
{
	size_t i;

	if (!*s || (*s >= '0' && *s <= '9'))
		return false;
	for (i = 0; s[i]; i++)
		if (!(s[i] == '_' || (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9')))
			return false;
	return true;
}

/* Latest end a silence takes: 9999-12-31T23:59:59.999Z, the last time RFC 3339 writes. */
#define SILENCE_ENDS_MAX_MS 253402300799999LL

int api__parse_silence(const char *body, int64_t now_ms, struct alert_silence *out, char *err,
		       size_t errlen)
{
	json_error_t jerr;
	json_t *root = json_loads(body, JSON_REJECT_DUPLICATES, &jerr), *m, *v;
	json_t *dur, *ends, *comment;
	const char *k, *s;
	int64_t d;
	int rc = -EINVAL;

	memset(out, 0, sizeof(*out));
	if (!root) {
		snprintf(err, errlen, "the body is not JSON: %.80s at line %d column %d", jerr.text,
			 jerr.line, jerr.column);
		goto out;
	}
	if (!json_is_object(root)) {
		snprintf(err, errlen,
			 "the body must be a JSON object: {\"matchers\": {\"agent\": "
			 "\"coder\"}, \"duration\": \"1h\", \"comment\": \"...\"}");
		goto out;
	}
	json_object_foreach (root, k, v)
		if (strcmp(k, "matchers") && strcmp(k, "duration") && strcmp(k, "endsAt") &&
		    strcmp(k, "comment")) {
			snprintf(err, errlen,
				 "unknown key \"%.40s\" (matchers, duration, endsAt, "
				 "comment)",
				 k);
			goto out;
		}
	m = json_object_get(root, "matchers");
	if (!json_is_object(m) || !json_object_size(m) ||
	    json_object_size(m) > ALERT_MATCHERS_MAX) {
		snprintf(err, errlen,
			 "\"matchers\" must be an object of 1 to %d labels, "
			 "{\"agent\": \"coder\"}; a value starting with ! excludes",
			 ALERT_MATCHERS_MAX);
		goto out;
	}
	json_object_foreach (m, k, v) {
		struct alert_matcher *x = &out->m[out->nm++];

		if (!label_name(k) || strlen(k) >= sizeof(x->name)) {
			snprintf(err, errlen,
				 "matcher \"%.40s\" must be a label name ([a-zA-Z_][a-zA-Z0-9_]*) "
				 "under %zu bytes",
				 k, sizeof(x->name));
			goto out;
		}
		s = json_string_value(v);
		x->negate = s && s[0] == '!';
		/* Refused rather than cut: a cut value matches other alerts, or splits a character. */
		if (!s || strlen(s + x->negate) >= sizeof(x->value)) {
			snprintf(err, errlen,
				 "matcher \"%s\" must be a string under %zu bytes (after a "
				 "leading !)",
				 k, sizeof(x->value));
			goto out;
		}
		snprintf(x->name, sizeof(x->name), "%s", k);
		snprintf(x->value, sizeof(x->value), "%s", s + x->negate);
	}
	dur = json_object_get(root, "duration");
	ends = json_object_get(root, "endsAt");
	comment = json_object_get(root, "comment");
	if ((dur && !json_is_string(dur)) || (ends && !json_is_string(ends)) ||
	    (comment && !json_is_string(comment))) {
		snprintf(err, errlen, "\"duration\", \"endsAt\" and \"comment\" must be strings");
		goto out;
	}
	if (dur && ends) {
		snprintf(err, errlen, "give either \"duration\" or \"endsAt\", not both");
		goto out;
	}
	if (dur) {
		s = json_string_value(dur);
		if (alert__parse_duration(s, &d) || d <= 0 || d > SILENCE_ENDS_MAX_MS - now_ms) {
			snprintf(err, errlen,
				 "\"duration\" is \"%.40s\", must be a duration such "
				 "as \"30m\" or \"2h\", ending before the year 10000",
				 s);
			goto out;
		}
		out->ends_ms = now_ms + d;
	} else if (ends) {
		struct tm tm;
		const char *rest;
		size_t frac;

		s = json_string_value(ends);
		memset(&tm, 0, sizeof(tm));
		rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
		if (rest && *rest == '.') {
			frac = strspn(rest + 1, "0123456789");
			rest = frac ? rest + 1 + frac : NULL;
		}
		if (!rest || strcmp(rest, "Z")) {
			snprintf(err, errlen,
				 "\"endsAt\" is \"%.40s\", must be RFC 3339 UTC "
				 "(2026-11-30T20:00:00Z)",
				 s);
			goto out;
		}
		out->ends_ms = (int64_t)timegm(&tm) * 1000;
	} else {
		snprintf(err, errlen, "a silence needs a \"duration\" or an \"endsAt\"");
		goto out;
	}
	if (out->ends_ms <= now_ms) {
		snprintf(err, errlen, "the silence would end in the past");
		goto out;
	}
	s = comment ? json_string_value(comment) : "";
	if (strlen(s) >= sizeof(out->comment)) {
		snprintf(err, errlen, "\"comment\" is %zu bytes, at most %zu", strlen(s),
			 sizeof(out->comment) - 1);
		goto out;
	}
	snprintf(out->comment, sizeof(out->comment), "%s", s);
	rc = 0;
out:
	json_decref(root);
	return rc;
}

char *api__silences(const struct alert_silence *s, size_t n)
{
	json_t *arr = json_array(), *root;
	char *text = NULL;
	size_t i, j;

	if (!arr)
		return NULL;
	for (i = 0; i < n; i++) {
		json_t *o = json_object(), *m = json_object();
		char v[80];

		for (j = 0; j < s[i].nm; j++) {
			snprintf(v, sizeof(v), "%s%s", s[i].m[j].negate ? "!" : "",
				 s[i].m[j].value);
			json_object_set_new(m, s[i].m[j].name, text__json(v));
		}
		json_object_set_new(o, "id", json_integer((json_int_t)s[i].id));
		json_object_set_new(o, "matchers", m);
		json_object_set_new(o, "endsAt", time_json(s[i].ends_ms / 1e3));
		json_object_set_new(o, "comment", text__json(s[i].comment));
		json_array_append_new(arr, o);
	}
	root = json_pack("{s:o}", "silences", arr);
	if (root)
		text = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	return text;
}

char *api__silence_created(uint64_t id)
{
	json_t *o = json_pack("{s:s, s:I}", "status", "ok", "id", (json_int_t)id);
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	return text;
}

char *api__error(unsigned code, const char *message)
{
	json_t *o = json_pack("{s:s, s:I, s:s}", "status", "error", "code", (json_int_t)code,
			      "error", message);
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	return text;
}

/* A number or null: JSON has no NaN or infinity. */
static json_t *num_json(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

int api__parse_time(const char *s, double *t)
{
	struct tm tm = {0};
	const char *p;
	char *end;
	double frac = 0, v;
	int off = 0;

	if (!s || !*s)
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (!*end && end != s && !errno && isfinite(v)) {
		*t = v;
		return 0;
	}
	p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!p)
		return -EINVAL;
	if (*p == '.') {
		frac = strtod(p, &end);
		p = end;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':') {
		int hh = atoi(p + 1), mm = atoi(p + 4);

		if (hh > 23 || mm > 59)
			return -EINVAL;
		off = (hh * 3600 + mm * 60) * (*p == '-' ? -1 : 1);
		p += 6;
	} else {
		return -EINVAL;
	}
	if (*p)
		return -EINVAL;
	*t = (double)timegm(&tm) - off + frac;
	return 0;
}

/* Label pairs of a canonical key family{a="x",...} as a JSON object. */
static json_t *labels_json(const char *key)
{
	const char *p = strchr(key, '{');
	json_t *o = json_object();
	char name[64], value[256];

	if (!o || !p)
		return o;
	p++;
	while (*p && *p != '}') {
		size_t n = 0, v = 0;

		while (*p && *p != '=' && n + 1 < sizeof(name))
			name[n++] = *p++;
		name[n] = 0;
		if (*p++ != '=' || *p++ != '"')
			break;
		while (*p && *p != '"') {
			char ch = *p++;

			if (ch == '\\' && *p)
				ch = *p == 'n' ? '\n' : *p, p++;
			if (v + 1 < sizeof(value))
				value[v++] = ch;
		}
		value[v] = 0;
		if (*p == '"')
			p++;
		if (*p == ',')
			p++;
		json_object_set_new(o, name, json_string(value));
	}
	return o;
}

static const char *type_name(enum store_type t)
{
	return t == STORE_COUNTER ? "counter" : t == STORE_GAUGE ? "gauge" : "histogram";
}

static int series_cb(const struct store_series_info *in, void *ctx)
{
	json_t *a = ctx, *o;

	o = json_pack("{s:s, s:s, s:s, s:s, s:o}", "series", in->key, "metric", in->family, "agent",
		      in->agent, "type", type_name(in->type), "labels", labels_json(in->key));
	if (!o)
		return -ENOMEM;
	if (in->t_last != INT64_MIN) {
		char buf[40];

		api__rfc3339(in->t_last / 1000.0, buf, sizeof(buf));
		json_object_set_new(o, "last_time", json_string(buf));
		json_object_set_new(o, "last_value", num_json(in->v_last));
	}
	return json_array_append_new(a, o) ? -ENOMEM : 0;
}

static char *success(json_t *data)
{
	json_t *doc;
	char *out;

	if (!data)
		return NULL;
	doc = json_pack("{s:s, s:o}", "status", "success", "data", data);
	if (!doc)
		return NULL;
	out = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	return out;
}

char *api__series(struct store *st, const char *agent, const char *metric)
{
	json_t *a = json_array();

	if (!a || store__list(st, agent, metric, series_cb, a) < 0) {
		json_decref(a);
		return NULL;
	}
	return success(a);
}

struct found {
	uint32_t *ids;
	char **keys;
	size_t n, cap;
};

static int found_cb(const struct store_series_info *in, void *ctx)
{
	struct found *f = ctx;

	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 16;
		uint32_t *ids = realloc(f->ids, cap * sizeof(*ids));
		char **keys;

		if (!ids)
			return -ENOMEM;
		f->ids = ids;
		keys = realloc(f->keys, cap * sizeof(*keys));
		if (!keys)
			return -ENOMEM;
		f->keys = keys;
		f->cap = cap;
	}
	f->keys[f->n] = strdup(in->key);
	if (!f->keys[f->n])
		return -ENOMEM;
	f->ids[f->n++] = in->id;
	return 0;
}

char *api__query_range(struct store *st, const char *metric, const char *agent,
		       const struct store_query *q0, size_t max_points, char *err, size_t errlen)
{
	struct store_point *pts = NULL;
	struct found f = {0};
	json_t *series = json_array(), *data = NULL;
	char *out = NULL;
	int tier = -1, r;
	size_t i, j, n;

	err[0] = 0;
	pts = calloc(max_points ? max_points : 1, sizeof(*pts));
	if (!series || !pts || store__list(st, agent, metric, found_cb, &f) < 0)
		goto out;
	for (i = 0; i < f.n; i++) {
		struct store_query q = *q0;
		json_t *points = json_array(), *o;

		if (!points)
			goto out;
		r = store__query(st, f.ids[i], &q, pts, max_points, NULL, &n);
		if (r == -E2BIG) {
			snprintf(err, errlen,
				 "step: the range holds more than %zu points per series; "
				 "raise step",
				 max_points);
			json_decref(points);
			goto out;
		}
		if (r) {
			snprintf(err, errlen, "query failed: %s", strerror(-r));
			json_decref(points);
			goto out;
		}
		tier = q.tier;
		for (j = 0; j < n; j++)
			json_array_append_new(points, json_pack("[f, o]", pts[j].t / 1000.0,
								num_json(pts[j].value)));
		o = json_pack("{s:s, s:o, s:o}", "series", f.keys[i], "labels",
			      labels_json(f.keys[i]), "points", points);
		if (!o || json_array_append_new(series, o))
			goto out;
	}
	data = json_pack("{s:s, s:s, s:f, s:f, s:f, s:b, s:O}", "metric", metric, "tier",
			 tier >= 0 ? store_tier_names[tier] : "none", "start", q0->start / 1000.0,
			 "end", q0->end / 1000.0, "step", q0->step / 1000.0, "rate", q0->rate,
			 "series", series);
	out = success(data);
	data = NULL;
out:
	json_decref(series);
	for (i = 0; i < f.n; i++)
		free(f.keys[i]);
	free(f.keys);
	free(f.ids);
	free(pts);
	return out;
}

struct gone {
	json_t *a, *seen;
	struct store *st;
};

static int gone_cb(const struct store_series_info *in, void *ctx)
{
	struct gone *g = ctx;
	int64_t first, last;
	char buf[40];
	json_t *o;

	if (!in->agent[0] || json_object_get(g->seen, in->agent))
		return 0;
	o = json_pack("{s:s, s:b, s:i}", "agent", in->agent, "live", 0, "instances", 0);
	if (!o)
		return -ENOMEM;
	if (!store__agent_span(g->st, in->agent, &first, &last)) {
		api__rfc3339(first / 1000.0, buf, sizeof(buf));
		json_object_set_new(o, "first_seen", json_string(buf));
		api__rfc3339(last / 1000.0, buf, sizeof(buf));
		json_object_set_new(o, "last_seen", json_string(buf));
	}
	json_object_set_new(g->seen, in->agent, json_true());
	return json_array_append_new(g->a, o) ? -ENOMEM : 0;
}

char *api__agents(struct store *st, const struct snapshot *s)
{
	json_t *a = json_array(), *seen = json_object();
	char buf[40];
	int64_t first, last;
	int i;

	if (!a || !seen)
		goto err;
	for (i = 0; s && i < s->nagents; i++) {
		const struct agent_snap *ag = &s->agents[i];
		__u64 sys = 0, errs = 0;
		json_t *o;
		int k;

		for (k = 0; k < SW_CLASS_MAX; k++)
			sys += ag->s.syscalls[k];
		for (k = 0; k < SW_ERRNO_SLOTS; k++)
			errs += ag->s.syscall_errors[k];
		o = json_pack("{s:s, s:b, s:i, s:I, s:I, s:f}", "agent", ag->name, "live",
			      ag->instances > 0, "instances", (int)ag->instances, "syscalls",
			      (json_int_t)sys, "syscall_errors", (json_int_t)errs, "cpu_seconds",
			      ag->s.cpu_ns / 1e9);
		if (!o)
			goto err;
		if (s->rss_up)
			json_object_set_new(o, "resident_memory_bytes",
					    json_integer(ag->rss_bytes));
		if (st && !store__agent_span(st, ag->name, &first, &last)) {
			api__rfc3339(first / 1000.0, buf, sizeof(buf));
			json_object_set_new(o, "first_seen", json_string(buf));
			api__rfc3339(last / 1000.0, buf, sizeof(buf));
			json_object_set_new(o, "last_seen", json_string(buf));
		}
		json_object_set_new(seen, ag->name, json_true());
		if (json_array_append_new(a, o))
			goto err;
	}
	/* Agents the store remembers that the kernel no longer reports. */
	if (st) {
		struct gone g = {.a = a, .seen = seen, .st = st};

		if (store__list(st, NULL, "swarmwatch_agent_instances", gone_cb, &g) < 0)
			goto err;
	}
	json_decref(seen);
	return success(a);
err:
	json_decref(a);
	json_decref(seen);
	return NULL;
}

/* Requests of one agent to or from one upstream in one role, summed over statuses. */
struct flow {
	const char *agent;
	const char *upstream;
	int role;
	__u64 count, errors, limited; /* all, 5xx or failed, 429: deltas over the interval */
	__u64 lat[SW_LAT_SLOTS];
	int reset; /* a counter went backwards: the agent restarted its slot */
};

static int series_cmp(const struct snapshot *s, const struct request_series *a,
		      const struct request_series *b)
{
	int d = strcmp(s->agents[a->agent].name, s->agents[b->agent].name);

	if (!d)
		d = strcmp(a->upstream, b->upstream);
	if (!d)
		d = (int)a->role - (int)b->role;
	if (!d)
		d = (int)a->status - (int)b->status;
	return d;
}

/* The series of prev with the labels of x of cur, or NULL; prev is sorted by index. */
static const struct request_series *series_find(const struct snapshot *prev,
						const struct request_series *const *index,
						const struct snapshot *cur,
						const struct request_series *x)
{
	int lo = 0, hi = prev ? prev->nrequests : 0;

	while (lo < hi) {
		int mid = (lo + hi) / 2, d;
		const struct request_series *p = index[mid];

		d = strcmp(prev->agents[p->agent].name, cur->agents[x->agent].name);
		if (!d)
			d = strcmp(p->upstream, x->upstream);
		if (!d)
			d = (int)p->role - (int)x->role;
		if (!d)
			d = (int)p->status - (int)x->status;
		if (!d)
			return p;
		if (d < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static int index_cmp(const void *a, const void *b, void *s)
{
	return series_cmp(s, *(const struct request_series *const *)a,
			  *(const struct request_series *const *)b);
}

static json_t *num_or_null(int ok, double v)
{
	return ok && isfinite(v) ? json_real(v) : json_null();
}

/* {"upstream", "role", "requests_per_second", "p95_seconds", "error_ratio", "ratio_429"} */
static json_t *flow_json(const struct flow *f, double dt, int whole)
{
	double p95 = 0, err = 0, lim = 0;
	int has_p95 = !f->reset && !rates__quantile_log2(f->lat, SW_LAT_SLOTS, 0.95, 1, &p95);
	int has_err = !f->reset && !rates__ratio(f->errors, f->count, 1, &err);
	int has_lim = !f->reset && !rates__ratio(f->limited, f->count, 1, &lim);
	json_t *o = json_object();

	if (!o)
		return NULL;
	if ((!whole && (json_object_set_new(o, "upstream", text__json(f->upstream)) ||
			json_object_set_new(o, "role", json_string(sw_role_name(f->role))))) ||
	    json_object_set_new(o, "requests_per_second",
				num_or_null(!f->reset && dt > 0, f->count / dt)) ||
	    json_object_set_new(o, "p95_seconds", num_or_null(has_p95, p95 * 1e-9)) ||
	    json_object_set_new(o, "error_ratio", num_or_null(has_err, err)) ||
	    json_object_set_new(o, "ratio_429", num_or_null(has_lim, lim))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* Adds the deltas of series x (prev: its reading a tick ago, or NULL) to f. */
static void flow_add(struct flow *f, const struct request_series *x,
		     const struct request_series *prev)
{
	__u64 d, lat[SW_LAT_SLOTS];
	int i;

	if (!prev) /* a new series: it counts from zero */
		d = x->count, memcpy(lat, x->lat, sizeof(lat));
	else if (rates__delta(x->count, prev->count, &d) ||
		 rates__delta_hist(x->lat, prev->lat, SW_LAT_SLOTS, lat)) {
		f->reset = 1;
		return;
	}
	f->count += d;
	if (x->status == 5 || x->status == SW_STATUS_ERROR)
		f->errors += d;
	if (x->status == SW_STATUS_429)
		f->limited += d;
	for (i = 0; i < SW_LAT_SLOTS; i++)
		f->lat[i] += lat[i];
}

static const struct agent_snap *agent_find(const struct snapshot *s, const char *name)
{
	int i;

	for (i = 0; s && i < s->nagents; i++)
		if (!strcmp(s->agents[i].name, name))
			return &s->agents[i];
	return NULL;
}

static const struct anomaly_agent *anomaly_find(const struct anomaly_view *v, const char *name)
{
	int i;

	for (i = 0; v && i < v->nagents; i++)
		if (!strcmp(v->agents[i].name, name))
			return &v->agents[i];
	return NULL;
}

/* {"anomalous", "score", "signals": [names over the threshold]}, or null when not scored. */
static int cost_agent_cmp(const void *key, const void *x)
{
	return strcmp(key, ((const struct cost_agent_view *)x)->agent);
}

/* The agent's spend today against its budget, or null when it is not accounted. */
static json_t *cost_state_json(const struct cost_view *v, const char *name)
{
	const struct cost_agent_view *a =
		v ? bsearch(name, v->agents, v->n, sizeof(*v->agents), cost_agent_cmp) : NULL;

	if (!a)
		return json_null();
	return json_pack("{s:f, s:f, s:f, s:f}", "spent_usd", a->spent, "budget_usd", a->budget,
			 "usage_ratio", a->usage, "forecast_usd", a->forecast);
}

static json_t *anomaly_state_json(const struct anomaly_view *v, const char *name)
{
	const struct anomaly_agent *a = anomaly_find(v, name);
	json_t *o, *sigs;
	double peak = 0;
	int i;

	if (!a)
		return json_null();
	o = json_object();
	sigs = json_array();
	if (!o || !sigs)
		goto err;
	for (i = 0; i < ANOMALY_NSIGNALS; i++) {
		if (!(a->scored & (1u << i)))
			continue;
		if (a->score[i] > peak)
			peak = a->score[i];
		if (a->score[i] >= v->threshold &&
		    json_array_append_new(sigs, json_string(anomaly__signal_name(i))))
			goto err;
	}
	if (json_object_set_new(o, "anomalous", json_boolean(a->anomalous)) ||
	    json_object_set_new(o, "score", json_real(peak)))
		goto err;
	if (json_object_set_new(o, "signals", sigs))
		goto err_object;
	return o;
err:
	json_decref(sigs);
err_object:
	json_decref(o);
	return NULL;
}

static json_t *agent_json(const struct snapshot *prev, const struct snapshot *cur, int ai,
			  const struct flow *flows, int nflows, double dt)
{
	const struct agent_snap *a = &cur->agents[ai], *p = agent_find(prev, a->name);
	json_t *o = json_object(), *ups = json_array(), *x;
	struct flow whole = {.agent = a->name};
	__u64 cpu = 0;
	int i, j, has_cpu = p && dt > 0 && !rates__delta(a->s.cpu_ns, p->s.cpu_ns, &cpu);

	if (!o || !ups || json_object_set_new(o, "agent", text__json(a->name)))
		goto err;
	for (i = 0; i < nflows; i++) {
		if (flows[i].agent != a->name)
			continue;
		x = flow_json(&flows[i], dt, 0);
		if (!x || json_array_append_new(ups, x))
			goto err;
		if (flows[i].role != SW_ROLE_CLIENT)
			continue;
		whole.reset |= flows[i].reset;
		whole.count += flows[i].count;
		whole.errors += flows[i].errors;
		whole.limited += flows[i].limited;
		for (j = 0; j < SW_LAT_SLOTS; j++)
			whole.lat[j] += flows[i].lat[j];
	}
	x = flow_json(&whole, dt, 1);
	if (!x || json_object_update(o, x)) {
		json_decref(x);
		goto err;
	}
	json_decref(x);
	if (json_object_set_new(o, "live", json_boolean(a->instances > 0)) ||
	    json_object_set_new(o, "instances", json_integer(a->instances)) ||
	    json_object_set_new(o, "cpu_cores", num_or_null(has_cpu, cpu * 1e-9 / dt)) ||
	    json_object_set_new(o, "resident_memory_bytes",
				cur->rss_up ? json_integer(a->rss_bytes) : json_null()) ||
	    json_object_set_new(o, "anomaly", anomaly_state_json(cur->anomalies, a->name)) ||
	    json_object_set_new(o, "cost", cost_state_json(cur->cost, a->name)))
		goto err;
	if (json_object_set_new(o, "upstreams", ups))
		goto err_object;
	return o;
err:
	json_decref(ups);
err_object:
	json_decref(o);
	return NULL;
}

/* The per-(agent, upstream, role) deltas of cur against prev; *nflows of them, malloc'd. */
static struct flow *flows_of(const struct snapshot *prev, const struct snapshot *cur, int *nflows)
{
	const struct request_series **index = NULL;
	struct flow *flows = calloc(cur->nrequests ? cur->nrequests : 1, sizeof(*flows));
	int i, n = 0;

	if (!flows)
		return NULL;
	if (prev && prev->nrequests) {
		index = malloc(prev->nrequests * sizeof(*index));
		if (!index) {
			free(flows);
			return NULL;
		}
		for (i = 0; i < prev->nrequests; i++)
			index[i] = &prev->requests[i];
		qsort_r(index, prev->nrequests, sizeof(*index), index_cmp, (void *)prev);
	}
	for (i = 0; i < cur->nrequests; i++) {
		const struct request_series *x = &cur->requests[i];
		const char *agent = cur->agents[x->agent].name;
		struct flow *f = n ? &flows[n - 1] : NULL;

		if (!f || f->agent != agent || strcmp(f->upstream, x->upstream) ||
		    f->role != x->role) {
			f = &flows[n++];
			f->agent = agent;
			f->upstream = x->upstream;
			f->role = x->role;
		}
		/* Without a previous tick there is no interval: nothing is counted yet. */
		if (prev)
			flow_add(f, x, series_find(prev, index, cur, x));
		else
			f->reset = 1;
	}
	free(index);
	*nflows = n;
	return flows;
}

char *api__overview(const struct snapshot *prev, const struct snapshot *cur)
{
	json_t *root = json_object(), *agents = json_array(), *x;
	double dt = prev ? cur->time - prev->time : 0;
	struct flow *flows;
	char *text = NULL;
	int i, nflows = 0;

	flows = flows_of(prev, cur, &nflows);
	if (!root || !agents || !flows)
		goto out;
	for (i = 0; i < cur->nagents; i++) {
		x = agent_json(prev, cur, i, flows, nflows, dt);
		if (!x || json_array_append_new(agents, x))
			goto out;
	}
	if (json_object_set_new(root, "time", time_json(cur->time)) ||
	    json_object_set_new(root, "unix_ms", json_integer((json_int_t)(cur->time * 1000))) ||
	    json_object_set_new(root, "tick", json_integer(cur->ticks)) ||
	    json_object_set_new(root, "interval_seconds", num_or_null(dt > 0, dt)) ||
	    json_object_set_new(root, "threshold",
				cur->anomalies ? json_real(cur->anomalies->threshold)
					       : json_null()))
		goto out;
	json_object_set_new(root, "agents", agents);
	agents = NULL;
	text = json_dumps(root, JSON_COMPACT | JSON_REAL_PRECISION(6));
out:
	free(flows);
	json_decref(agents);
	json_decref(root);
	return text;
}

static json_t *kinds_json(const double *v)
{
	json_t *o = json_object();
	int k;

	for (k = 0; o && k < COST_KINDS; k++)
		json_object_set_new(o, cost_kind_names[k], json_real(v[k]));
	return o;
}

static json_t *day_json(int64_t day)
{
	time_t t = (time_t)(day * 86400);
	char buf[16];
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%d", &tm);
	return json_string(buf);
}

static json_t *cost_agent_json(const struct cost_agent_view *a)
{
	json_t *ups = json_array(), *past = json_array(), *o;
	int i;

	for (i = 0; past && i < a->npast; i++)
		json_array_append_new(past, json_pack("{s:o, s:f}", "day", day_json(a->past[i].day),
						      "spent_usd", a->past[i].usd));

	for (i = 0; ups && i < a->nupstreams; i++) {
		const struct cost_upstream_view *u = &a->upstreams[i];

		json_array_append_new(
			ups,
			json_pack("{s:s, s:I, s:I, s:f, s:o}", "upstream", u->upstream, "requests",
				  (json_int_t)u->requests, "successes", (json_int_t)u->successes,
				  "cost_usd", u->usd, "cost_per_success_usd",
				  num_json(u->successes ? u->usd / u->successes : NAN)));
	}
	o = json_pack("{s:s, s:f, s:f, s:f, s:o, s:o, s:{s:f, s:f, s:f, s:f}, s:o, s:I, s:I, "
		      "s:o, s:s, s:o, s:o}",
		      "agent", a->agent, "spent_usd", a->spent, "budget_usd", a->budget,
		      "usage_ratio", a->usage, "today_usd", kinds_json(a->today), "total_usd",
		      kinds_json(a->total), "forecast", "end_of_day_usd", a->forecast, "lower_usd",
		      a->lower, "upper_usd", a->upper, "rate_usd_per_hour", a->rate_usd_per_hour,
		      "budget_exhausted_at",
		      a->exhaust_time > 0 ? time_json(a->exhaust_time) : json_null(), "requests",
		      (json_int_t)a->requests, "successes", (json_int_t)a->successes,
		      "cost_per_success_usd", num_json(a->per_success), "threshold",
		      a->emergency ? "emergency"
		      : a->warned  ? "warning"
				   : "none",
		      "upstreams", ups, "previous_days", past);
	return o;
}

static json_t *advice_json(const struct cost_advice *d, int n, bool upstream)
{
	json_t *arr = json_array();
	int i;

	for (i = 0; arr && i < n; i++)
		json_array_append_new(
			arr, upstream ? json_pack("{s:s, s:o, s:s}", "upstream", d[i].upstream,
						  "cost_per_success_usd", num_json(d[i].value),
						  "reason", d[i].reason)
				      : json_pack("{s:s, s:f, s:s}", "agent", d[i].agent,
						  "forecast_usage_ratio", d[i].value, "reason",
						  d[i].reason));
	return arr;
}

char *api__cost(const struct cost_view *v)
{
	json_t *root, *agents = json_array();
	char day[16], *text = NULL;
	time_t t = (time_t)(v->day * 86400);
	struct tm tm;
	int i;

	if (!agents)
		return NULL;
	for (i = 0; i < v->n; i++)
		if (json_array_append_new(agents, cost_agent_json(&v->agents[i]))) {
			json_decref(agents);
			return NULL;
		}
	gmtime_r(&t, &tm);
	strftime(day, sizeof(day), "%Y-%m-%d", &tm);
	root = json_pack("{s:s, s:o, s:s, s:o, s:{s:f, s:f}, s:o, s:{s:o, s:o}}", "status",
			 "success", "time", time_json(v->time), "day", day, "day_ends",
			 time_json((double)(v->day + 1) * 86400), "thresholds", "warning_ratio",
			 v->warning_ratio, "emergency_ratio", v->emergency_ratio, "agents", agents,
			 "recommendations", "scale_down_first",
			 advice_json(v->scale_down, v->nscale_down, false),
			 "costliest_upstreams_per_success",
			 advice_json(v->upstreams, v->nupstreams, true));
	if (root)
		text = json_dumps(root, JSON_COMPACT | JSON_REAL_PRECISION(8));
	json_decref(root);
	return text;
}

/* Agent families fed by a collector's hooks: what its duty cycle extrapolates. */
static const char *const *extrapolated_families(int collector)
{
	static const char *const syscalls[] = {"swarmwatch_agent_syscalls_total",
					       "swarmwatch_agent_syscall_errors_total",
					       "swarmwatch_agent_syscall_duration_seconds", NULL};
	static const char *const sched[] = {"swarmwatch_agent_context_switches_total",
					    "swarmwatch_agent_run_queue_delay_seconds", NULL};
	static const char *const none[] = {NULL};

	return collector == COLLECTOR_SYSCALLS ? syscalls
	       : collector == COLLECTOR_SCHED  ? sched
					       : none;
}

static json_t *collector_json(const struct snapshot *s, int c)
{
	const char *const *f = extrapolated_families(c);
	json_t *o, *fams = json_array();

	for (; fams && *f; f++)
		if (json_array_append_new(fams, json_string(*f))) {
			json_decref(fams);
			return NULL;
		}
	o = json_pack("{s:s, s:f, s:b, s:o*}", "collector", sw_collector_name(c), "sampling_ratio",
		      s->sampling_ratio[c], "extrapolated", s->sampling_ratio[c] < 1, "families",
		      fams);
	return o;
}

char *api__overhead(const struct snapshot *s)
{
	json_t *root, *cols = json_array(), *o;
	char t[32], *text = NULL;
	int c;

	for (c = 0; cols && c < COLLECTOR_MAX; c++) {
		if (!s->up[c])
			continue;
		o = collector_json(s, c);
		if (!o || json_array_append_new(cols, o)) {
			json_decref(cols);
			return NULL;
		}
	}
	api__rfc3339(s->time, t, sizeof(t));
	root = json_pack("{s:s, s:f, s:f, s:f, s:f, s:I, s:o*}", "time", t, "budget",
			 s->overhead_budget, "overhead", s->overhead_ratio, "overhead_seconds",
			 s->overhead_seconds, "latency_sampling_ratio", s->latency_sampling_ratio,
			 "host_syscalls", (json_int_t)s->host_syscalls, "collectors", cols);
	if (root)
		text = json_dumps(root, JSON_COMPACT | JSON_REAL_PRECISION(6));
	json_decref(root);
	return text;
}
