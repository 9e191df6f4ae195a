// SPDX-License-Identifier: MIT
/*
 * verdict: one agent's anomaly verdict and why (see verdict.h).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "verdict.h"

#define VERDICT_MAGIC 0x56445753u /* "SWDV" */
#define VERDICT_VERSION 2u
/* The per-agent memory budget (issue: at most 200 KiB per agent). */
_Static_assert(sizeof(struct verdict_model) <= 200 * 1024, "verdict_model over 200 KiB");

/* A standardised deviation given to the forest is clipped here: past it, more is no news. */
#define Z_CLIP 50.0

static const char *const component_names[] = {
	[DETECT_C_MAD] = "mad",	      [DETECT_C_LEVEL] = "level",
	[DETECT_C_EWMA] = "ewma",     [DETECT_C_BAND] = "band",
	[DETECT_C_TREND] = "trend",   [DETECT_C_SEASON] = "season",
	[DETECT_C_SPREAD] = "spread", [VERDICT_BY_FOREST] = "forest",
	[VERDICT_BY_EVENT] = "event", [VERDICT_BY_EVIDENCE] = "evidence",
};

const char *verdict__detector_name(uint32_t detector)
{
	if (detector > VERDICT_BY_EVIDENCE)
		return "unknown";
	return component_names[detector];
}

int verdict__params_default(struct verdict_params *p, double interval_s, uint32_t nsig,
			    const uint32_t *kinds)
{
	uint32_t i;

	if (!(interval_s > 0.0) || !isfinite(interval_s) || nsig == 0 || nsig > VERDICT_SIGNALS_MAX)
		return -EINVAL;
	memset(p, 0, sizeof(*p));
	for (i = 0; i < nsig; i++) {
		if (kinds[i] >= DETECT_KIND_COUNT)
			return -EINVAL;
		p->kind[i] = kinds[i];
	}
	p->interval_s = interval_s;
	p->nsig = nsig;
	p->verdict_after = 48;
	p->depart = 0.5;
	p->settle = 0.3;
	p->settle_ticks = 10;
	p->forest_stride = 1;
	p->forest_min = IFOREST_WINDOW_MAX;
	p->forest_sigmas = 5.0;
	p->forest_threshold = 0.55;
	p->forest_ticks = 3;
	events__params_default(&p->events);
	return 0;
}

int verdict__init(struct verdict_model *m, const struct verdict_params *p)
{
	struct iforest_params fp;
	struct detect_params dp;
	uint32_t i;
	int err;

	if (p->nsig == 0 || p->nsig > VERDICT_SIGNALS_MAX || !(p->depart > 0.0) ||
	    !(p->settle >= 0.0 && p->settle <= p->depart) || !p->settle_ticks ||
	    !p->forest_stride || !p->forest_ticks || p->forest_ticks > VERDICT_FOREST_TICKS_MAX ||
	    !(p->forest_threshold > 0.0) || !(p->forest_sigmas >= 0.0) ||
	    !isfinite(p->forest_sigmas))
		return -EINVAL;
	memset(m, 0, sizeof(*m));
	m->p = *p;
	for (i = 0; i < p->nsig; i++) {
		err = detect__params_default(&dp, p->interval_s);
		if (!err)
			err = detect__params_kind(&dp, p->kind[i]);
		if (err)
			return err;
		dp.verdict_after = p->verdict_after;
		err = detect__init(&m->sig[i], &dp);
		if (err)
			return err;
	}
	err = iforest__params_default(&fp, p->nsig);
	if (err)
		return err;
	if (p->forest_min < 2 || p->forest_min > fp.window)
		return -EINVAL;
	/* Calibrated on the statistic the threshold applies to: the mean of forest_ticks scores. */
	fp.smooth = p->forest_ticks;
	err = iforest__init(&m->forest, &fp);
	if (!err)
		err = events__init(&m->events, &p->events);
	if (err)
		return err;
	m->magic = VERDICT_MAGIC;
	m->version = VERDICT_VERSION;
	return 0;
}

int verdict__seed(struct verdict_model *m, const struct verdict_model *from)
{
	uint32_t i;
	int err;

	if (m->magic != VERDICT_MAGIC || from->magic != VERDICT_MAGIC || m->p.nsig != from->p.nsig)
		return -EINVAL;
	for (i = 0; i < m->p.nsig; i++) {
		err = detect__seed(&m->sig[i], &from->sig[i]);
		if (err)
			return err;
	}
	if (m != from)
		memcpy(&m->forest, &from->forest, sizeof(m->forest));
	memset(m->track, 0, sizeof(m->track));
	memset(&m->forest_track, 0, sizeof(m->forest_track));
	m->forest_run = 0;
	m->forest_skipped = 0;
	m->anomalous = false;
	return events__init(&m->events, &m->p.events);
}

/* Whether signal i gives verdicts yet (detect__update()'s own gate). */
static bool signal_ready(const struct detect_ensemble *d)
{
	double after = fmin(d->p.verdict_after, d->p.warmup);

	return d->n + d->borrowed > after && d->n >= d->p.short_len;
}

/* Hysteresis: depart at or above depart, come back after settle_ticks under settle. */
static void track_step(const struct verdict_params *p, struct verdict_track *t, bool departs,
		       double surprise, double ts, uint32_t detector)
{
	if (!t->out) {
		if (!departs)
			return;
		t->out = true;
		t->since = ts;
		t->peak = surprise;
		t->quiet = 0;
		t->detector = detector;
		return;
	}
	t->peak = fmax(t->peak, surprise);
	t->quiet = surprise < p->settle ? t->quiet + 1 : 0;
	if (t->quiet >= p->settle_ticks)
		t->out = false;
}

/* Robust z of each signal against its own baseline, for the forest. */
static bool feature_vector(const struct verdict_model *m, const struct verdict *v, double *z)
{
	const struct detect_result *r;
	bool any = false;
	uint32_t i;

	for (i = 0; i < m->p.nsig; i++) {
		r = &v->signal[i];
		z[i] = 0.0;
		if (!isfinite(r->value) || !isfinite(r->baseline) || !(r->scale > 0.0))
			continue;
		z[i] = fmax(-Z_CLIP, fmin(Z_CLIP, (r->value - r->baseline) / r->scale));
		any = true;
	}
	return any;
}

/*
 * Share of each signal in the forest's score: how much the score drops when that signal alone
 * is put back on its baseline (z = 0), normalised to sum to 1; by |z| when no single signal
 * lowers it (the isolation needs them together).
 */
static void forest_shares(const struct verdict_model *m, const double *z, double score,
			  double *share)
{
	double zz[VERDICT_SIGNALS_MAX], s, sum = 0.0;
	uint32_t i, n = m->p.nsig;

	memcpy(zz, z, n * sizeof(*z));
	for (i = 0; i < n; i++) {
		zz[i] = 0.0;
		share[i] = 0.0;
		if (!iforest__score(&m->forest, zz, &s))
			share[i] = fmax(0.0, score - s);
		zz[i] = z[i];
		sum += share[i];
	}
	if (!(sum > 0.0)) {
		for (i = 0; i < n; i++) {
			share[i] = fabs(z[i]);
			sum += share[i];
		}
	}
	for (i = 0; i < n; i++)
		share[i] = sum > 0.0 ? share[i] / sum : 0.0;
}

static void forest_step(struct verdict_model *m, double ts, struct verdict *v)
{
	struct verdict_forest *f = &v->forest;
	struct verdict_track *t = &m->forest_track;
	double z[VERDICT_SIGNALS_MAX];
	uint32_t i, top = 0;
	bool high;

	if (!feature_vector(m, v, z))
		return;
	f->ready = m->forest.trained_psi && m->forest.held >= m->p.forest_min;
	if (f->ready && !iforest__score(&m->forest, z, &f->score)) {
		/* Mean of the last forest_ticks scores: one tree ensemble's noise is not a verdict. */
		m->forest_recent[m->ticks % m->p.forest_ticks] = f->score;
		m->forest_run = m->forest_run < m->p.forest_ticks ? m->forest_run + 1
								  : m->forest_run;
		f->smoothed = 0.0;
		for (i = 0; i < m->p.forest_ticks; i++)
			f->smoothed += m->forest_recent[i];
		f->smoothed /= m->p.forest_ticks;
		f->threshold = fmax(m->p.forest_threshold,
				    m->forest.score_mean + m->p.forest_sigmas * m->forest.score_sd);
		high = m->forest_run >= m->p.forest_ticks && f->smoothed >= f->threshold;
		f->active = high;
		if (high)
			forest_shares(m, z, f->score, f->share);
		for (i = 1; i < m->p.nsig; i++) {
			if (f->share[i] > f->share[top])
				top = i;
		}
		/* The forest departs at the first tick of the run that made it fire. */
		if (!t->out && f->active) {
			t->index = top;
			track_step(&m->p, t, true, f->score,
				   ts - (m->p.forest_ticks - 1) * m->p.interval_s,
				   VERDICT_BY_FOREST);
		} else if (t->out) {
			track_step(&m->p, t, false, high ? 1.0 : 0.0, ts, VERDICT_BY_FOREST);
		}
	}
	/*
	 * Learn after scoring, on the schedule. While it fires, the forest does not learn what it
	 * flags (the anomaly would soon look normal), for at most forest_min points: a lasting
	 * change becomes the new normal.
	 */
	if (f->active && m->forest_skipped < m->p.forest_min) {
		m->forest_skipped++;
		return;
	}
	if (!f->active)
		m->forest_skipped = 0;
	if (m->ticks % m->p.forest_stride == 0)
		iforest__push(&m->forest, z);
}

static void add_departure(struct verdict *v, uint32_t source, uint32_t index, uint32_t detector,
			  double since, double value, double baseline, double scale, double peak)
{
	struct verdict_departure *d = &v->departed[v->ndeparted];
	uint32_t k;

	memset(d, 0, sizeof(*d));
	d->source = source;
	d->index = index;
	d->detector = detector;
	d->since = since;
	d->value = value;
	d->baseline = baseline;
	d->scale = scale;
	d->peak = peak;
	if (source == VERDICT_SRC_SIGNAL)
		d->share = v->forest.share[index];
	/* Keep the list in departure order (stable: ties keep their insertion order). */
	for (k = v->ndeparted; k > 0 && v->departed[k - 1].since > d->since; k--) {
		struct verdict_departure tmp = v->departed[k - 1];

		v->departed[k - 1] = v->departed[k];
		v->departed[k] = tmp;
	}
	v->ndeparted++;
}

int verdict__update(struct verdict_model *m, double ts, const double *x,
		    const struct events_delta *ev, uint32_t evident, struct verdict *v)
{
	static const struct events_delta none;
	const struct verdict_params *p = &m->p;
	const struct detect_result *r;
	const struct events_hit *h;
	struct verdict_track *t;
	double conf_sum = 0.0, conf_min = 1.0;
	uint32_t i, nconf = 0;
	bool departs, signal_out = false;

	if (m->magic != VERDICT_MAGIC || !isfinite(ts))
		return -EINVAL;
	memset(v, 0, sizeof(*v));
	for (i = 0; i < p->nsig; i++) {
		v->signal[i].value = v->signal[i].baseline = v->signal[i].scale = NAN;
		if (!isfinite(x[i]) || detect__update(&m->sig[i], ts, x[i], &v->signal[i]))
			continue;
		r = &v->signal[i];
		departs = signal_ready(&m->sig[i]) && r->surprise >= p->depart;
		/* A young detector's baseline is its few samples: the caller's evidence rules. */
		if (r->young && (evident & (1u << i)) && m->sig[i].n >= m->sig[i].p.short_len) {
			v->signal[i].surprise = fmax(r->surprise, p->depart);
			track_step(p, &m->track[i], true, r->surprise, ts,
				   departs ? r->driver : VERDICT_BY_EVIDENCE);
		} else {
			track_step(p, &m->track[i], departs, r->surprise, ts, r->driver);
		}
		conf_sum += r->confidence;
		nconf++;
	}
	forest_step(m, ts, v);
	events__update(&m->events, ts, ev ? ev : &none, &v->events);

	for (i = 0; i < p->nsig; i++) {
		t = &m->track[i];
		r = &v->signal[i];
		if (!t->out)
			continue;
		add_departure(v, VERDICT_SRC_SIGNAL, i, t->detector, t->since, r->value,
			      r->baseline, r->scale, t->peak);
		v->score = fmax(v->score, r->surprise);
		conf_min = fmin(conf_min, r->confidence);
		signal_out = true;
	}
	t = &m->forest_track;
	if (t->out) {
		i = t->index;
		v->score = fmax(v->score, v->forest.score);
		/* Blamed on its top signal, unless that one departed on its own already. */
		if (!m->track[i].out) {
			r = &v->signal[i];
			add_departure(v, VERDICT_SRC_SIGNAL, i, VERDICT_BY_FOREST, t->since,
				      r->value, r->baseline, r->scale, t->peak);
			conf_min = fmin(conf_min, r->confidence);
			signal_out = true;
		}
	}
	for (i = 0; i < EVENTS_KIND_COUNT; i++) {
		h = &v->events.hit[i];
		if (!h->active)
			continue;
		add_departure(v, VERDICT_SRC_EVENT, i, VERDICT_BY_EVENT, h->first_ts, h->count, 0.0,
			      i == EVENTS_CRASH_LOOP ? p->events.crash_exits
			      : i == EVENTS_OOM_KILL ? p->events.oom_kills
						     : p->events.restarts,
			      1.0);
		v->score = 1.0;
	}
	v->anomaly = v->ndeparted > 0;
	v->raised = v->anomaly && !m->anomalous;
	m->anomalous = v->anomaly;
	if (signal_out)
		v->confidence = conf_min;
	else if (v->anomaly)
		v->confidence = 1.0;
	else
		v->confidence = nconf ? conf_sum / nconf : 0.0;
	m->ticks++;
	return 0;
}

int verdict__explain(const struct verdict *v, const char *const *names, char *buf, size_t len)
{
	const struct verdict_departure *d;
	char name[32], ev[200];
	int n = 0, w;
	uint32_t i, k, top[2] = {0, 0};

	if (len)
		buf[0] = '\0';
#define APPEND(...)                                                       \
	do {                                                              \
		w = snprintf(buf + ((size_t)n < len ? (size_t)n : len),   \
			     (size_t)n < len ? len - n : 0, __VA_ARGS__); \
		n += w > 0 ? w : 0;                                       \
	} while (0)
	for (i = 0, k = 0; i < v->ndeparted; i++) {
		d = &v->departed[i];
		if (d->source != VERDICT_SRC_SIGNAL)
			continue;
		if (names && names[d->index])
			snprintf(name, sizeof(name), "%s", names[d->index]);
		else
			snprintf(name, sizeof(name), "signal %u", d->index);
		if (k == 0)
			APPEND("%s departed first (%.4g vs %.4g +- %.2g, %s)", name, d->value,
			       d->baseline, d->scale, verdict__detector_name(d->detector));
		else
			APPEND(", then %s +%.0f s (%.4g vs %.4g +- %.2g, %s)", name,
			       d->since - v->departed[0].since, d->value, d->baseline, d->scale,
			       verdict__detector_name(d->detector));
		k++;
	}
	if (v->forest.active) {
		for (i = 1; i < VERDICT_SIGNALS_MAX; i++) {
			if (v->forest.share[i] > v->forest.share[top[0]]) {
				top[1] = top[0];
				top[0] = i;
			} else if (i != top[0] && v->forest.share[i] > v->forest.share[top[1]]) {
				top[1] = i;
			}
		}
		APPEND("%sforest %.2f (", n ? "; " : "", v->forest.score);
		for (k = 0; k < 2; k++) {
			i = top[k];
			if (k && (i == top[0] || v->forest.share[i] <= 0.0))
				break;
			if (names && names[i])
				APPEND("%s%s %.0f %%", k ? ", " : "", names[i],
				       100.0 * v->forest.share[i]);
			else
				APPEND("%ssignal %u %.0f %%", k ? ", " : "", i,
				       100.0 * v->forest.share[i]);
		}
		APPEND(")");
	}
	if (v->events.anomaly) {
		events__explain(&v->events, ev, sizeof(ev));
		APPEND("%s%s", n ? "; " : "", ev);
	}
#undef APPEND
	return n;
}
