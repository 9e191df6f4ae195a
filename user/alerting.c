// SPDX-License-Identifier: MIT
/* alerting: the tick's alert stage: values -> rules -> outbox, and the view it publishes. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alerting.h"
#include "config.h"
#include "incident.h"
#include "log.h"
#include "snapshot.h"
#include "values.h"

#define STATE_NAME "alerts"

struct alerting {
	pthread_mutex_t lock; /* engine and saved */
	struct alert_engine *engine;
	struct values *values;
	struct notify *notify; /* NULL without receivers and without a state directory */
	bool receivers; /* any configured: the notification families are exported */
	char *saved; /* state as last written, to roll back to and to skip unchanged writes */
	bool dirty; /* acknowledged or silenced since the last write */
	double written; /* when the state was last written, unix seconds */
};

int alerting__check(const struct config *c, char *err, size_t errlen)
{
	char why[256];
	uint32_t i;

	for (i = 0; i < c->alerts->nrules; i++) {
		const struct alert_rule *r = &c->alerts->rules[i];
		struct alert_expr x;

		if (r->disabled)
			continue;
		if (alert__parse_expr(r->expr_text, &x, why, sizeof(why)) ||
		    values__check(&x.q, why, sizeof(why))) {
			snprintf(err, errlen, "alerts.rules: \"%s\": %s", r->name, why);
			return -EINVAL;
		}
	}
	return 0;
}

/*
 * Where swarmwatch's own API is: http://HOST:PORT from the listen address, with the host's
 * name for a wildcard address (0.0.0.0, [::] or none).
 */
static void set_external_url(struct alert_engine *e, const char *listen)
{
	char host[256] = "", url[320];
	const char *colon = strrchr(listen, ':');
	size_t n = colon ? (size_t)(colon - listen) : 0;

	if (!colon)
		return;
	if (n && n < sizeof(host))
		snprintf(host, sizeof(host), "%.*s", (int)n, listen);
	if (!host[0] || !strcmp(host, "0.0.0.0") || !strcmp(host, "[::]"))
		if (gethostname(host, sizeof(host) - 1))
			snprintf(host, sizeof(host), "localhost");
	snprintf(url, sizeof(url), "http://%s:%s", host, colon + 1);
	alert__set_external_url(e, url);
}

struct alerting *alerting__new(const struct config *c, double interval_s, char *err, size_t errlen)
{
	struct values_params vp;
	struct alerting *a;
	char why[512];
	void *buf = NULL;
	size_t len = 0;
	int e;

	if (alerting__check(c, err, errlen)) {
		errno = EINVAL;
		return NULL;
	}
	a = calloc(1, sizeof(*a));
	if (!a) {
		errno = ENOMEM;
		return NULL;
	}
	pthread_mutex_init(&a->lock, NULL);
	values__params_default(&vp, interval_s);
	vp.window_s = c->alerts_window_ns / 1e9;
	a->values = values__new(&vp);
	a->engine = alert__new(c->alerts, err, errlen);
	if (a->engine && !c->external_url_set)
		set_external_url(a->engine, c->listen);
	if (!a->values || !a->engine) {
		e = errno ? errno : ENOMEM;
		goto out_free;
	}
	/*
	 * The outbox's database also keeps the alert state (silences, acknowledgements, firing
	 * alerts): it is opened with a state directory even when there is no receiver to send to.
	 */
	a->receivers = c->notify->nreceivers > 0;
	if (a->receivers || c->store_dir[0]) {
		struct notify_params np = *c->notify;

		np.dir = c->store_dir[0] ? c->store_dir : NULL;
		a->notify = notify__open(&np, why, sizeof(why));
		if (!a->notify && errno != EINVAL) {
			pr_warn("%s; %s kept in memory only and lost if swarmwatch stops", why,
				a->receivers ? "notifications not yet sent are"
					     : "silences and acknowledgements are");
			np.dir = NULL;
			a->notify = notify__open(&np, why, sizeof(why));
		}
		if (!a->notify) {
			e = errno;
			snprintf(err, errlen, "%s", why);
			goto out_free;
		}
		e = notify__state_get(a->notify, STATE_NAME, &buf, &len);
		if (!e && alert__restore(a->engine, buf, len))
			pr_warn("alerts: the saved alert state in %s/notify.db is not readable; "
				"starting without it",
				c->store_dir);
		else if (!e)
			a->saved = buf, buf = NULL;
		free(buf);
	}
	return a;
out_free:
	alerting__free(a);
	errno = e;
	return NULL;
}

void alerting__free(struct alerting *a)
{
	if (!a)
		return;
	notify__close(a->notify);
	alert__free(a->engine);
	values__free(a->values);
	free(a->saved);
	pthread_mutex_destroy(&a->lock);
	free(a);
}

void alerting__view_free(struct alert_view *v)
{
	if (!v)
		return;
	free(v->items);
	free(v);
}

struct notify *alerting__notify(struct alerting *a)
{
	return a ? a->notify : NULL;
}

int alerting__ack(struct alerting *a, const char *id)
{
	int err;

	pthread_mutex_lock(&a->lock);
	err = alert__ack(a->engine, id);
	if (!err)
		a->dirty = true;
	pthread_mutex_unlock(&a->lock);
	return err;
}

int64_t alerting__silence_add(struct alerting *a, const struct alert_silence *s)
{
	struct timespec ts;
	int64_t id;

	clock_gettime(CLOCK_REALTIME, &ts);
	pthread_mutex_lock(&a->lock);
	id = alert__silence_add(a->engine, s, ts.tv_sec * 1000LL + ts.tv_nsec / 1000000);
	if (id > 0)
		a->dirty = true;
	pthread_mutex_unlock(&a->lock);
	return id;
}

size_t alerting__silences(struct alerting *a, struct alert_silence *out, size_t cap)
{
	size_t n;

	pthread_mutex_lock(&a->lock);
	n = alert__silences(a->engine, out, cap);
	pthread_mutex_unlock(&a->lock);
	return n;
}

int alerting__silence_expire(struct alerting *a, uint64_t id)
{
	int err;

	pthread_mutex_lock(&a->lock);
	err = alert__silence_expire(a->engine, id);
	if (!err)
		a->dirty = true;
	pthread_mutex_unlock(&a->lock);
	return err;
}

struct fill {
	struct alert_view *v;
	int cap;
};

static int fill_item(void *ctx, const struct alert_info *ai)
{
	struct fill *f = ctx;
	struct alert_view_item *it;

	if (f->v->n == f->cap)
		return 1;
	it = &f->v->items[f->v->n++];
	memcpy(it->id, ai->id, sizeof(it->id));
	snprintf(it->rule, sizeof(it->rule), "%s", ai->rule);
	snprintf(it->agent, sizeof(it->agent), "%s", ai->agent);
	it->state = alert_state_names[ai->state];
	it->severity = alert_severity_names[ai->severity];
	it->active = ai->active_ms / 1e3;
	it->ends = ai->ends_ms > 0 ? ai->ends_ms / 1e3 : 0;
	it->value = ai->value;
	it->threshold = ai->threshold;
	it->acked = ai->acked;
	it->silenced = ai->silenced;
	it->inhibited = ai->inhibited;
	snprintf(it->cause, sizeof(it->cause), "%s", ai->cause);
	snprintf(it->summary, sizeof(it->summary), "%s", ai->summary);
	return 0;
}

static struct alert_view *view(struct alerting *a, double t)
{
	struct alert_view *v = calloc(1, sizeof(*v));
	struct alert_stats st;
	struct notify_stats ns;
	struct fill f;
	int i, j, total = 0;

	if (!v)
		return NULL;
	alert__stats(a->engine, &st);
	for (i = 0; i < ALERT_STATES; i++)
		for (j = 0; j < ALERT_SEVERITIES; j++) {
			struct alert_view_count *c = &v->alerts[i * ALERT_SEVERITIES + j];

			c->a = alert_state_names[i];
			c->b = alert_severity_names[j];
			c->n = (double)st.alerts[i][j];
			total += (int)st.alerts[i][j];
		}
	v->rate_limited = (double)st.rate_limited;
	v->time = t;
	v->items = calloc(total + 1, sizeof(*v->items));
	if (!v->items) {
		free(v);
		return NULL;
	}
	f.v = v;
	f.cap = total;
	alert__foreach(a->engine, fill_item, &f);
	v->outbox = a->notify != NULL && a->receivers;
	if (a->notify) {
		notify__stats(a->notify, &ns);
		for (i = 0; i < NOTIFY_CHANNELS; i++)
			for (j = 0; j < NOTIFY_RESULTS; j++) {
				struct alert_view_count *c =
					&v->notifications[i * NOTIFY_RESULTS + j];

				c->a = notify_channel_names[i];
				c->b = notify_result_names[j];
				c->n = (double)ns.total[i][j];
			}
		v->queue_length = (double)ns.queued;
		v->oldest_age = ns.oldest_ms ? t - ns.oldest_ms / 1e3 : 0;
		if (v->oldest_age < 0)
			v->oldest_age = 0;
		v->enqueue_failures = (double)ns.enqueue_errors;
	}
	return v;
}

/*
 * Writes the notifications with the state; on failure the engine goes back to the last state.
 * A state that changed without notifications (values, pending alerts) is written at most every
 * STATE_EVERY_S: nothing was sent on it, so nothing can be sent twice for its loss.
 */
#define STATE_EVERY_S 10

static int persist(struct alerting *a, const struct alert_out *out, size_t n, double now)
{
	struct notify_msg *m = NULL;
	size_t len = 0, i;
	char *state;
	int err;

	state = alert__save(a->engine, &len);
	if (!state)
		return -ENOMEM;
	if (!n && !a->dirty && a->saved &&
	    (!strcmp(state, a->saved) || now - a->written < STATE_EVERY_S)) {
		free(state);
		return 0;
	}
	if (n) {
		m = calloc(n, sizeof(*m));
		if (!m) {
			free(state);
			return -ENOMEM;
		}
		for (i = 0; i < n; i++) {
			m[i].receiver = out[i].receiver;
			m[i].key = out[i].key;
			m[i].body = out[i].body;
		}
	}
	err = notify__enqueue(a->notify, m, n, STATE_NAME, state, len);
	free(m);
	if (err) {
		free(state);
		if (a->saved)
			alert__restore(a->engine, a->saved, strlen(a->saved));
		return err;
	}
	free(a->saved);
	a->saved = state;
	a->dirty = false;
	a->written = now;
	return 0;
}

int alerting__tick(struct alerting *a, struct snapshot *s)
{
	const struct alert_out *out;
	const char **names;
	size_t nout = 0;
	int i, err;

	names = calloc(s->nagents + 1, sizeof(*names));
	if (!names)
		return -ENOMEM;
	for (i = 0; i < s->nagents; i++)
		names[i] = s->agents[i].name;
	values__push(a->values, s);
	pthread_mutex_lock(&a->lock);
	alert__set_cause_fn(a->engine, s->incidents ? incident__alert_cause : NULL, s->incidents);
	err = alert__eval(a->engine, (int64_t)(s->time * 1e3), names, s->nagents, values__lookup,
			  a->values, &out, &nout);
	if (a->notify && !err)
		err = persist(a, out, nout, s->time);
	else if (!a->notify && nout)
		pr_debug("alerts: %zu notifications with no receiver configured", nout);
	s->alerts = view(a, s->time);
	s->alerts_free = alerting__view_free;
	pthread_mutex_unlock(&a->lock);
	free(names);
	return err;
}
