// SPDX-License-Identifier: MIT
/* JSON documents of the HTTP API, with jansson. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <time.h>

#include "anomaly.h"
#include "api.h"
#include "text.h"

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
	    json_object_set_new(o, "confidence", json_real(e->confidence)))
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

char *api__error(const char *message)
{
	json_t *o = json_pack("{s:s, s:s}", "status", "error", "error", message);
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	return text;
}
