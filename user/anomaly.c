// SPDX-License-Identifier: MIT
/*
 * Per-agent anomaly scoring: per-tick signals from consecutive snapshots, one detector ensemble
 * and one Holt forecast per signal, detections grouped into episodes, and the immutable view
 * that /metrics (catalog.c) and /api/v1/anomalies (api.c) render.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "anomaly.h"
#include "detect.h"
#include "forecast.h"
#include "rates.h"
#include "snapshot.h"

/* Fewest latency samples in a tick for its median, and for its 99th percentile. */
#define MIN_P50_SAMPLES 10
#define MIN_P99_SAMPLES 50
#define MIN_RATIO_REQUESTS 10 /* a failure ratio of fewer requests is mostly noise */
#define MIN_REQ_SAMPLES 1 /* requests are few per tick: any is a sample */

/*
 * One signal: how a tick's sample is derived from two consecutive cumulative snapshots of an
 * agent. Adding a signal is one enum value in anomaly.h and one entry in `signals` below.
 */
struct signal_def {
	const char *name; /* `signal` label value */
	/* Stores the tick's sample in *out and returns 1, or returns 0 to skip the tick. */
	int (*sample)(const struct sw_agent_stats *cur, const struct sw_agent_stats *prev,
		      double dt, double *out);
	double hi; /* upper bound of the value, forecasts are clamped to [0, hi] */
	enum anomaly_unit unit; /* what the samples measure */
};

static int s_syscall_rate(const struct sw_agent_stats *cur, const struct sw_agent_stats *prev,
			  double dt, double *out)
{
	__u64 n;

	if (rates__delta_sum(cur->syscalls, prev->syscalls, SW_CLASS_MAX, &n))
		return 0;
	*out = n / dt;
	return 1;
}

static int s_error_ratio(const struct sw_agent_stats *cur, const struct sw_agent_stats *prev,
			 double dt, double *out)
{
	__u64 n, e;

	(void)dt;
	return !rates__delta_sum(cur->syscalls, prev->syscalls, SW_CLASS_MAX, &n) &&
	       !rates__delta_sum(cur->syscall_errors, prev->syscall_errors, SW_ERRNO_SLOTS, &e) &&
	       !rates__ratio(e, n, 1, out);
}

static int s_cpu(const struct sw_agent_stats *cur, const struct sw_agent_stats *prev, double dt,
		 double *out)
{
	__u64 ns;

	if (rates__delta(cur->cpu_ns, prev->cpu_ns, &ns))
		return 0;
	*out = ns / 1e9 / dt;
	return 1;
}

/* Quantile q of the tick's share of a nanosecond log2 histogram, in seconds. */
static int hist_quantile(const __u64 *cur, const __u64 *prev, double q, __u64 min_count,
			 double *out)
{
	__u64 d[SW_LAT_SLOTS];

	if (rates__delta_hist(cur, prev, SW_LAT_SLOTS, d) ||
	    rates__quantile_log2(d, SW_LAT_SLOTS, q, min_count, out))
		return 0;
	*out *= 1e-9;
	return 1;
}

static int s_syscall_p50(const struct sw_agent_stats *cur, const struct sw_agent_stats *prev,
			 double dt, double *out)
{
	(void)dt;
	return hist_quantile(cur->syscall_lat, prev->syscall_lat, 0.5, MIN_P50_SAMPLES, out);
}

static int s_syscall_p99(const struct sw_agent_stats *cur, const struct sw_agent_stats *prev,
			 double dt, double *out)
{
	(void)dt;
	return hist_quantile(cur->syscall_lat, prev->syscall_lat, 0.99, MIN_P99_SAMPLES, out);
}

static int s_runq_p99(const struct sw_agent_stats *cur, const struct sw_agent_stats *prev,
		      double dt, double *out)
{
	(void)dt;
	return hist_quantile(cur->runq_lat, prev->runq_lat, 0.99, MIN_P99_SAMPLES, out);
}

static int s_request_p50(const struct sw_agent_stats *cur, const struct sw_agent_stats *prev,
			 double dt, double *out)
{
	(void)dt;
	return hist_quantile(cur->client_req_lat, prev->client_req_lat, 0.5, MIN_REQ_SAMPLES, out);
}

static int s_request_p99(const struct sw_agent_stats *cur, const struct sw_agent_stats *prev,
			 double dt, double *out)
{
	(void)dt;
	return hist_quantile(cur->client_req_lat, prev->client_req_lat, 0.99, MIN_REQ_SAMPLES, out);
}

static int s_request_failures(const struct sw_agent_stats *cur, const struct sw_agent_stats *prev,
			      double dt, double *out)
{
	__u64 n, f;

	(void)dt;
	return !rates__delta(cur->client_requests, prev->client_requests, &n) &&
	       !rates__delta(cur->client_failures, prev->client_failures, &f) &&
	       !rates__ratio(f, n, MIN_RATIO_REQUESTS, out);
}

static const struct signal_def signals[ANOMALY_NSIGNALS] = {
	[ANOMALY_SYSCALL_RATE] = {"syscall_rate", s_syscall_rate, INFINITY,
				  ANOMALY_UNIT_SYSCALLS_PER_SECOND},
	[ANOMALY_ERROR_RATIO] = {"error_ratio", s_error_ratio, 1.0, ANOMALY_UNIT_RATIO},
	[ANOMALY_CPU] = {"cpu", s_cpu, INFINITY, ANOMALY_UNIT_CPU_SECONDS_PER_SECOND},
	[ANOMALY_SYSCALL_P50] = {"syscall_latency_p50", s_syscall_p50, INFINITY,
				 ANOMALY_UNIT_SECONDS},
	[ANOMALY_SYSCALL_P99] = {"syscall_latency_p99", s_syscall_p99, INFINITY,
				 ANOMALY_UNIT_SECONDS},
	[ANOMALY_RUNQ_P99] = {"run_queue_delay_p99", s_runq_p99, INFINITY, ANOMALY_UNIT_SECONDS},
	[ANOMALY_REQUEST_P50] = {"request_latency_p50", s_request_p50, INFINITY,
				 ANOMALY_UNIT_SECONDS},
	[ANOMALY_REQUEST_P99] = {"request_latency_p99", s_request_p99, INFINITY,
				 ANOMALY_UNIT_SECONDS},
	[ANOMALY_REQUEST_FAILURES] = {"request_failure_ratio", s_request_failures, 1.0,
				      ANOMALY_UNIT_RATIO},
};

static const struct {
	const char *name;
	double seconds;
} horizons[ANOMALY_NHORIZONS] = {
	[ANOMALY_H5M] = {"5m", 300},
	[ANOMALY_H30M] = {"30m", 1800},
};

/* Detector and forecast of one signal of one agent. */
struct signal_state {
	struct detect_ensemble det;
	struct forecast fc;
	bool scored; /* at least one sample */
	double value; /* last sample */
	double score; /* last score, held at `peak` while active */
	double confidence; /* detector's confidence at the last sample */
	double peak; /* highest detection score since the signal became active */
	double last_hit; /* unix time of the last detection; 0: none */
};

/* Everything kept for one agent; allocated when it first appears, freed when it leaves. */
struct agent_state {
	char name[SW_NAME_LEN];
	__u32 slot;
	__u64 seen; /* generation of the last update that listed the agent */
	bool have_prev; /* prev and prev_time hold the previous snapshot */
	double prev_time;
	struct sw_agent_stats prev;
	bool in_episode; /* ep is ongoing */
	double last_hit; /* unix time of the last detection on any signal */
	struct anomaly_episode ep;
	__u64 episodes; /* episodes started */
	struct signal_state sig[ANOMALY_NSIGNALS];
};

struct anomaly {
	struct anomaly_params p;
	anomaly_restore_fn restore; /* where a new agent's saved state comes from; NULL: none */
	void *restore_ctx;
	struct detect_params dp;
	struct forecast_params fp;
	__u32 horizon[ANOMALY_NHORIZONS]; /* forecast horizons in ticks */
	__u64 gen; /* updates so far */
	struct agent_state **agents;
	int nagents;
	int cap;
	struct anomaly_episode ended[ANOMALY_RECENT_MAX]; /* ring of closed episodes */
	__u64 nended; /* closed episodes so far; ring index is nended % ANOMALY_RECENT_MAX */
};

const char *anomaly__signal_name(int signal)
{
	return signal >= 0 && signal < ANOMALY_NSIGNALS ? signals[signal].name : "unknown";
}

int anomaly__signal_unit(int signal)
{
	return signal >= 0 && signal < ANOMALY_NSIGNALS ? (int)signals[signal].unit : -EINVAL;
}

const char *anomaly__horizon_name(int horizon)
{
	return horizon >= 0 && horizon < ANOMALY_NHORIZONS ? horizons[horizon].name : "unknown";
}

void anomaly__params_default(struct anomaly_params *p, double interval_s)
{
	memset(p, 0, sizeof(*p));
	p->interval_s = interval_s;
	p->hold_s = 60;
}

struct anomaly *anomaly__new(const struct anomaly_params *p)
{
	struct anomaly *an;
	int i, err;

	if (!(p->interval_s > 0) || !(p->hold_s >= 0) || p->warmup == 1) {
		errno = EINVAL;
		return NULL;
	}
	an = calloc(1, sizeof(*an));
	if (!an)
		return NULL;
	an->p = *p;
	err = detect__params_default(&an->dp, p->interval_s);
	if (!err)
		err = forecast__params_default(&an->fp, 0);
	if (err) {
		free(an);
		errno = -err;
		return NULL;
	}
	if (p->warmup)
		an->dp.warmup = p->warmup;
	/*
	 * Episodes group detections and the rising edge already turns one event into one
	 * detection; a refractory period on top would hide a real shift that follows a marginal
	 * detection for hundreds of ticks.
	 */
	an->dp.refractory = 0;
	for (i = 0; i < ANOMALY_NHORIZONS; i++)
		an->horizon[i] = fmax(1.0, round(horizons[i].seconds / p->interval_s));
	return an;
}

void anomaly__free(struct anomaly *an)
{
	int i;

	if (!an)
		return;
	for (i = 0; i < an->nagents; i++)
		free(an->agents[i]);
	free(an->agents);
	free(an);
}

int anomaly__agents(const struct anomaly *an)
{
	return an->nagents;
}

size_t anomaly__state_bytes(const struct anomaly *an)
{
	return sizeof(*an) + an->cap * sizeof(*an->agents) +
	       an->nagents * sizeof(struct agent_state);
}

/*
 * Saved state, per agent: "prev" holds the last counters seen and their time (so the first
 * tick after a restart has its rates), each signal's blob its detector's then its
 * forecaster's state.
 */
struct saved_prev {
	double time;
	struct sw_agent_stats prev;
};

static size_t signal_blob_size(void)
{
	return detect__state_size() + forecast__state_size();
}

/* Takes a new agent's learned state from the restore source, when there is one. */
static void agent_restore(struct anomaly *an, struct agent_state *st)
{
	size_t dlen = detect__state_size(), len = signal_blob_size();
	struct saved_prev sp;
	unsigned char *buf;
	int i;

	if (!an->restore)
		return;
	buf = malloc(len);
	if (!buf)
		return;
	for (i = 0; i < ANOMALY_NSIGNALS; i++) {
		struct signal_state *sg = &st->sig[i];
		struct detect_ensemble det;

		if (an->restore(an->restore_ctx, st->name, signals[i].name, buf, len) != (long)len)
			continue;
		/* Both or neither: a detector without its forecaster would disagree with itself. */
		det = sg->det;
		if (detect__restore(&sg->det, buf, dlen))
			continue;
		if (forecast__restore(&sg->fc, buf + dlen, len - dlen))
			sg->det = det;
	}
	if (an->restore(an->restore_ctx, st->name, "prev", &sp, sizeof(sp)) == sizeof(sp) &&
	    isfinite(sp.time)) {
		st->prev = sp.prev;
		st->prev_time = sp.time;
		st->have_prev = true;
	}
	free(buf);
}

void anomaly__set_restore(struct anomaly *an, anomaly_restore_fn fn, void *ctx)
{
	an->restore = fn;
	an->restore_ctx = ctx;
}

int anomaly__save_agent(const struct anomaly *an, int i, anomaly_save_fn fn, void *ctx)
{
	size_t dlen = detect__state_size(), len = signal_blob_size();
	const struct agent_state *st;
	unsigned char *buf;
	int k, err = 0;

	if (i < 0 || i >= an->nagents)
		return -ENOENT;
	st = an->agents[i];
	buf = malloc(len);
	if (!buf)
		return -ENOMEM;
	for (k = 0; k < ANOMALY_NSIGNALS && !err; k++) {
		const struct signal_state *sg = &st->sig[k];

		if (!sg->scored)
			continue;
		if (detect__save(&sg->det, buf, dlen) < 0 ||
		    forecast__save(&sg->fc, buf + dlen, len - dlen) < 0)
			continue;
		err = fn(ctx, st->name, signals[k].name, buf, len);
	}
	if (!err && st->have_prev) {
		struct saved_prev sp = {.time = st->prev_time, .prev = st->prev};

		err = fn(ctx, st->name, "prev", &sp, sizeof(sp));
	}
	free(buf);
	return err;
}

static struct agent_state *agent_new(struct anomaly *an, const struct agent_snap *a)
{
	struct agent_state *st;
	int i;

	if (an->nagents == an->cap) {
		int cap = an->cap ? 2 * an->cap : 16;
		struct agent_state **p = realloc(an->agents, cap * sizeof(*p));

		if (!p)
			return NULL;
		an->agents = p;
		an->cap = cap;
	}
	st = calloc(1, sizeof(*st));
	if (!st)
		return NULL;
	memcpy(st->name, a->name, sizeof(st->name));
	st->slot = a->slot;
	for (i = 0; i < ANOMALY_NSIGNALS; i++) {
		/* Parameters were validated by anomaly__new(); these cannot fail. */
		if (detect__init(&st->sig[i].det, &an->dp) ||
		    forecast__init(&st->sig[i].fc, &an->fp)) {
			free(st);
			return NULL;
		}
	}
	agent_restore(an, st);
	an->agents[an->nagents++] = st;
	return st;
}

static struct agent_state *agent_find(struct anomaly *an, const struct agent_snap *a)
{
	int i;

	for (i = 0; i < an->nagents; i++)
		if (an->agents[i]->slot == a->slot && !strcmp(an->agents[i]->name, a->name))
			return an->agents[i];
	return NULL;
}

/* Moves an agent's episode to the ring of closed ones, ended at time t. */
static void episode_close(struct anomaly *an, struct agent_state *st, double t)
{
	if (!st->in_episode)
		return;
	st->ep.end = t;
	an->ended[an->nended++ % ANOMALY_RECENT_MAX] = st->ep;
	st->in_episode = false;
}

/* Scores sample x of signal i at time t; returns whether the detector raised an anomaly. */
static bool signal_feed(struct anomaly *an, struct signal_state *sg, double t, double x)
{
	struct detect_result r;

	if (detect__update(&sg->det, t, x, &r))
		return false;
	forecast__update(&sg->fc, x);
	sg->scored = true;
	sg->value = x;
	sg->confidence = r.confidence;
	if (r.anomaly) {
		if (!sg->last_hit || t - sg->last_hit > an->p.hold_s || r.score > sg->peak)
			sg->peak = r.score;
		sg->last_hit = t;
	}
	if (sg->last_hit && t - sg->last_hit <= an->p.hold_s)
		sg->score = fmax(r.score, sg->peak);
	else
		sg->score = r.score;
	return r.anomaly;
}

/* Feeds one agent's tick and opens, extends or closes its episode. */
static void agent_tick(struct anomaly *an, struct agent_state *st, const struct agent_snap *a,
		       double t)
{
	double dt = t - st->prev_time, x;
	__u32 hits = 0;
	int i;

	if (st->have_prev && dt > 0) {
		for (i = 0; i < ANOMALY_NSIGNALS; i++)
			if (signals[i].sample(&a->s, &st->prev, dt, &x) &&
			    signal_feed(an, &st->sig[i], t, x))
				hits |= 1u << i;
	}
	st->prev = a->s;
	st->prev_time = t;
	st->have_prev = true;

	if (hits) {
		if (!st->in_episode) {
			memset(&st->ep, 0, sizeof(st->ep));
			memcpy(st->ep.agent, st->name, sizeof(st->ep.agent));
			st->ep.start = t;
			st->in_episode = true;
			st->episodes++;
		}
		st->last_hit = t;
		for (i = 0; i < ANOMALY_NSIGNALS; i++) {
			const struct signal_state *sg = &st->sig[i];

			if (!(hits & (1u << i)))
				continue;
			st->ep.signals |= 1u << i;
			st->ep.score[i] = fmax(st->ep.score[i], sg->peak);
			if (sg->peak > st->ep.peak) {
				st->ep.peak = sg->peak;
				st->ep.confidence = sg->confidence;
			}
		}
	} else if (st->in_episode && t - st->last_hit > an->p.hold_s) {
		episode_close(an, st, t);
	}
}

static int by_start_desc(const void *a, const void *b)
{
	const struct anomaly_episode *x = a, *y = b;

	return (x->start < y->start) - (x->start > y->start);
}

static struct anomaly_view *view_build(struct anomaly *an, const struct snapshot *s)
{
	int ncur = 0, nended, nrecent, i, j, k;
	struct anomaly_view *v;
	size_t size;

	for (i = 0; i < an->nagents; i++)
		ncur += an->agents[i]->in_episode;
	nended = an->nended < ANOMALY_RECENT_MAX ? (int)an->nended : ANOMALY_RECENT_MAX;
	nrecent = ncur + nended < ANOMALY_RECENT_MAX ? ncur + nended : ANOMALY_RECENT_MAX;
	size = sizeof(*v) + an->nagents * sizeof(*v->agents) +
	       (ncur + nrecent) * sizeof(struct anomaly_episode);
	v = calloc(1, size);
	if (!v)
		return NULL;
	v->time = s->time;
	v->threshold = an->dp.threshold;
	v->agents = (struct anomaly_agent *)(v + 1);
	v->current = (struct anomaly_episode *)(v->agents + an->nagents);
	v->recent = v->current + ncur;

	/* Agents in the snapshot's order. */
	for (i = 0; i < s->nagents; i++) {
		struct agent_state *st = agent_find(an, &s->agents[i]);
		struct anomaly_agent *o = &v->agents[v->nagents];

		if (!st)
			continue; /* its state could not be allocated */
		v->nagents++;
		memcpy(o->name, st->name, sizeof(o->name));
		o->anomalous = st->in_episode;
		o->episodes = st->episodes;
		for (j = 0; j < ANOMALY_NSIGNALS; j++) {
			const struct signal_state *sg = &st->sig[j];
			double m;

			if (!sg->scored)
				continue;
			o->scored |= 1u << j;
			o->score[j] = sg->score;
			o->confidence[j] = sg->confidence;
			o->value[j] = sg->value;
			/*
			 * A forecast is shown once the detector has learned the signal (a model
			 * fitted to a few samples extrapolates wildly) and while the agent runs.
			 */
			if (!forecast__ready(&sg->fc) || sg->det.n < an->dp.warmup ||
			    !s->agents[i].instances)
				continue;
			o->forecast |= 1u << j;
			for (k = 0; k < ANOMALY_NHORIZONS; k++) {
				if (forecast__predict(&sg->fc, an->horizon[k], &m, NULL, NULL))
					m = sg->value;
				o->predicted[j][k] = fmin(fmax(m, 0.0), signals[j].hi);
			}
		}
	}

	for (i = 0; i < an->nagents; i++)
		if (an->agents[i]->in_episode)
			v->current[v->ncurrent++] = an->agents[i]->ep;
	qsort(v->current, v->ncurrent, sizeof(*v->current), by_start_desc);
	/* Recent: the ongoing ones, then the closed ones, last closed first. */
	for (i = 0; i < ncur && v->nrecent < nrecent; i++)
		v->recent[v->nrecent++] = v->current[i];
	for (i = 0; i < nended && v->nrecent < nrecent; i++)
		v->recent[v->nrecent++] = an->ended[(an->nended - 1 - i) % ANOMALY_RECENT_MAX];
	return v;
}

int anomaly__update(struct anomaly *an, struct snapshot *s)
{
	struct agent_state *st;
	int i, n;

	s->anomalies = NULL;
	an->gen++;
	for (i = 0; i < s->nagents; i++) {
		const struct agent_snap *a = &s->agents[i];

		st = agent_find(an, a);
		if (!st)
			st = agent_new(an, a);
		if (!st)
			continue; /* retried next tick; the view leaves it out */
		st->seen = an->gen;
		agent_tick(an, st, a, s->time);
	}
	/* Agents that left: close their episode and free their state. */
	for (i = 0, n = 0; i < an->nagents; i++) {
		st = an->agents[i];
		if (st->seen == an->gen) {
			an->agents[n++] = st;
			continue;
		}
		episode_close(an, st, st->prev_time);
		free(st);
	}
	an->nagents = n;
	s->anomalies = view_build(an, s);
	s->anomalies_free = anomaly__view_free;
	return s->anomalies ? 0 : -ENOMEM;
}

void anomaly__view_free(struct anomaly_view *v)
{
	free(v);
}
