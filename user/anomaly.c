// SPDX-License-Identifier: MIT
/*
 * Per-agent anomaly scoring: per-tick signals and process events from consecutive snapshots,
 * one verdict model per agent (verdict.h) and one Holt forecast per learned signal, departures
 * that are context (instance churn, host-wide moves) told apart from the agent's own, the
 * agent's own verdicts grouped into episodes that say why, and the immutable view that
 * /metrics (catalog.c) and /api/v1/anomalies (api.c) render.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "anomaly.h"
#include "blob.h"
#include "detect.h"
#include "evidence.h"
#include "forecast.h"
#include "rates.h"
#include "snapshot.h"
#include "verdict.h"

/* Fewest latency samples in a tick for its median, and for its 99th percentile. */
#define MIN_P50_SAMPLES 10
#define MIN_P99_SAMPLES 50
#define MIN_RATIO_REQUESTS 10 /* a failure ratio of fewer requests is mostly noise */
#define MIN_RATIO_SYSCALLS 50 /* an idle agent's handful of syscalls: one error is 10 % */
#define MIN_REQ_SAMPLES 5 /* fewest requests in the window for a latency quantile */
/*
 * Agents make a few requests a second: their ratios and latency quantiles are over a sliding
 * window of the last WINDOW_TICKS ticks, longer (up to WINDOW_MAX_TICKS) while that holds
 * fewer than WINDOW_REQUESTS requests, so that a tick's sample holds enough requests to mean
 * something: 20 is the fewest whose median an order statistic can bound at 1 % within a
 * fifth of the sample on either side (the 5th and 16th of 20).
 */
#define WINDOW_TICKS 10
#define WINDOW_MAX_TICKS 30
#define WINDOW_REQUESTS 20
/* Ticks of resident memory the growth signal is the slope over (16 s at 1 s). */
#define GROWTH_TICKS 16
/*
 * Ticks in a row a departed signal must stay above the settle level (verdict.h) before its
 * departure is the agent's: one odd tick of a young model is not a fault, a fault lasts.
 * Above settle, not above the departure threshold: a lasting shift soon fills the top of a
 * young detector's own history, and its surprise then hovers around the threshold.
 */
#define CONFIRM_TICKS 3
/*
 * Evidence of the request signals (evidence.h): a departure of a request ratio or quantile
 * counts only when the window's requests put it above the baseline beyond sampling error, the
 * baseline's included. A ratio: its count in the window is in the top RATIO_ALPHA (1 in 1000,
 * the tail the detectors' departure threshold stands for) of what the baseline predicts, by
 * the beta-binomial predictive distribution. A quantile q: the window's requests above the
 * baseline's empirical q-quantile are in the top LATENCY_ALPHA (1 %) of what chance gives,
 * by the order statistic's beta coverage (evidence.h); 1 %, under the detector's own
 * 1-in-1000 departure and CONFIRM_TICKS of confirmation, because an agent's few requests
 * carry little evidence: at 1 in 1000 a latency that doubles at one request every two seconds
 * would not show within a minute. The baseline is every request older than the longest
 * window, decaying with a time constant of BASE_TAU_S (10 minutes): a window is never
 * compared with itself, and a fault that lasts becomes the baseline over minutes, as it
 * does for the detectors; a latency needs BASE_MIN_REQUESTS of it.
 */
#define RATIO_ALPHA 0.001
#define LATENCY_ALPHA 0.01
#define BASE_TAU_S 600.0
#define BASE_MIN_REQUESTS 10
/*
 * What an agent with no history is assumed to have seen (its prior): a request ratio of 1 %
 * (a 99 % availability objective, as in B. Beyer et al., "Site Reliability Engineering",
 * O'Reilly 2016, ch. 4), weighted as PRIOR_REQUESTS requests, so that a young agent's few
 * requests neither make nor hide a departure on their own. Latency has no level that fits
 * every upstream: its evidence waits for BASE_MIN_REQUESTS of the agent's own, whose
 * uncertainty the beta coverage carries.
 */
#define PRIOR_RATIO 0.01
#define PRIOR_REQUESTS 100.0
/* Baselines kept for agents that left or were restored before they appeared. */
#define BASELINES_MAX 32
/* Error and signal exits within this many ticks of a change in instances are crashes. */
#define CRASH_TICKS 2
#define SAVE_MAGIC 0x4e415753u /* "SWAN" */
#define SAVE_VERSION 3u /* 3: err_t and back_t in the tracker */

/* What one agent's tick adds to its cumulative counters, beyond its stats. */
struct sample_in {
	const struct sw_agent_stats *cur, *prev;
	double dt; /* seconds since the previous snapshot */
	__u32 instances; /* live instances now */
	double rss; /* resident bytes now, NAN when not sampled */
	double growth; /* resident bytes per instance per second over GROWTH_TICKS, or NAN */
	/* Over the window (WINDOW_TICKS or more): client requests, those that failed (5xx, error), and
	 * from the request series, client requests and those answered 429. */
	__u64 win_req, win_fail, win_all, win_429;
	bool win_ok; /* the window's deltas are valid */
	double win_s; /* the window's length, seconds */
	/* Client request latency histograms now and at the window's start; NULL: no window. */
	const __u64 *lat_cur, *lat_base;
};

/* Cumulative request counters of one agent at one tick, for the sliding windows. */
struct req_mark {
	bool ok; /* set at that tick */
	double t; /* unix time of that tick */
	__u64 req, fail, all, r429;
	__u64 lat[SW_LAT_SLOTS];
};

/*
 * An agent's requests up to the start of its current window, decaying with BASE_TAU_S: the
 * baseline that a window's evidence is judged against.
 */
struct req_base {
	bool ok; /* mark holds the counters absorbed last */
	struct req_mark mark;
	double req, fail, all, r429; /* decayed counts, as in struct req_mark */
	double lat[SW_LAT_SLOTS]; /* decayed latency histogram of the client requests */
};

/*
 * One signal: how a tick's sample is derived from two consecutive cumulative snapshots of an
 * agent. Adding a signal is one enum value in anomaly.h and one entry in `signals` below.
 */
struct signal_def {
	const char *name; /* `signal` label value */
	/* Stores the tick's sample in *out and returns 1, or returns 0 to skip the tick. */
	int (*sample)(const struct sample_in *in, double *out);
	double hi; /* upper bound of the value, forecasts are clamped to [0, hi] */
	enum anomaly_unit unit; /* what the samples measure */
	enum detect_kind kind; /* sets the detector's scale floors */
};

/* Per live instance: an agent that scales does not look like one that changed. */
static double per_instance(const struct sample_in *in, double x)
{
	return x / (in->instances ? in->instances : 1);
}

static int s_syscall_rate(const struct sample_in *in, double *out)
{
	__u64 n;

	if (!in->instances ||
	    rates__delta_sum(in->cur->syscalls, in->prev->syscalls, SW_CLASS_MAX, &n))
		return 0;
	*out = per_instance(in, n / in->dt);
	return 1;
}

static int s_error_ratio(const struct sample_in *in, double *out)
{
	__u64 n, e;

	return !rates__delta_sum(in->cur->syscalls, in->prev->syscalls, SW_CLASS_MAX, &n) &&
	       !rates__delta_sum(in->cur->syscall_errors, in->prev->syscall_errors, SW_ERRNO_SLOTS,
				 &e) &&
	       !rates__ratio(e, n, MIN_RATIO_SYSCALLS, out);
}

static int s_cpu(const struct sample_in *in, double *out)
{
	__u64 ns;

	if (!in->instances || rates__delta(in->cur->cpu_ns, in->prev->cpu_ns, &ns))
		return 0;
	*out = per_instance(in, ns / 1e9 / in->dt);
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

static int s_syscall_p99(const struct sample_in *in, double *out)
{
	return hist_quantile(in->cur->syscall_lat, in->prev->syscall_lat, 0.99, MIN_P99_SAMPLES,
			     out);
}

static int s_runq_p99(const struct sample_in *in, double *out)
{
	return hist_quantile(in->cur->runq_lat, in->prev->runq_lat, 0.99, MIN_P99_SAMPLES, out);
}

static int s_memory(const struct sample_in *in, double *out)
{
	if (!in->instances || !isfinite(in->rss))
		return 0;
	*out = per_instance(in, in->rss);
	return 1;
}

static int s_memory_growth(const struct sample_in *in, double *out)
{
	if (!in->instances || !isfinite(in->growth))
		return 0;
	*out = in->growth;
	return 1;
}

/* Over the ratio window: a tick holds one or two requests, a window a few dozen. */
static int s_request_rate(const struct sample_in *in, double *out)
{
	if (!in->instances || !in->win_ok || !(in->win_s > 0))
		return 0;
	*out = per_instance(in, in->win_req / in->win_s);
	return 1;
}

static int s_request_p50(const struct sample_in *in, double *out)
{
	return in->lat_base && hist_quantile(in->lat_cur, in->lat_base, 0.5, MIN_REQ_SAMPLES, out);
}

static int s_request_p99(const struct sample_in *in, double *out)
{
	return in->lat_base && hist_quantile(in->lat_cur, in->lat_base, 0.99, MIN_REQ_SAMPLES, out);
}

static int s_request_failures(const struct sample_in *in, double *out)
{
	return in->win_ok && !rates__ratio(in->win_fail, in->win_req, MIN_RATIO_REQUESTS, out);
}

/* The share of 429 answers needs as few requests as any failure ratio. */
static int s_request_429(const struct sample_in *in, double *out)
{
	return in->win_ok && !rates__ratio(in->win_429, in->win_all, MIN_RATIO_REQUESTS, out);
}

static const struct signal_def signals[ANOMALY_NSIGNALS] = {
	[ANOMALY_SYSCALL_RATE] = {"syscall_rate", s_syscall_rate, INFINITY,
				  ANOMALY_UNIT_SYSCALLS_PER_SECOND, DETECT_KIND_RATE},
	[ANOMALY_ERROR_RATIO] = {"error_ratio", s_error_ratio, 1.0, ANOMALY_UNIT_RATIO,
				 DETECT_KIND_RATIO},
	[ANOMALY_CPU] = {"cpu", s_cpu, INFINITY, ANOMALY_UNIT_CPU_SECONDS_PER_SECOND,
			 DETECT_KIND_ANY},
	[ANOMALY_SYSCALL_P99] = {"syscall_latency_p99", s_syscall_p99, INFINITY,
				 ANOMALY_UNIT_SECONDS, DETECT_KIND_LATENCY},
	[ANOMALY_RUNQ_P99] = {"run_queue_delay_p99", s_runq_p99, INFINITY, ANOMALY_UNIT_SECONDS,
			      DETECT_KIND_LATENCY},
	[ANOMALY_MEMORY] = {"resident_memory", s_memory, INFINITY, ANOMALY_UNIT_BYTES,
			    DETECT_KIND_ANY},
	[ANOMALY_MEMORY_GROWTH] = {"resident_memory_growth", s_memory_growth, INFINITY,
				   ANOMALY_UNIT_BYTES_PER_SECOND, DETECT_KIND_ANY},
	[ANOMALY_REQUEST_RATE] = {"request_rate", s_request_rate, INFINITY,
				  ANOMALY_UNIT_REQUESTS_PER_SECOND, DETECT_KIND_RATE},
	[ANOMALY_REQUEST_P50] = {"request_latency_p50", s_request_p50, INFINITY,
				 ANOMALY_UNIT_SECONDS, DETECT_KIND_LATENCY},
	[ANOMALY_REQUEST_P99] = {"request_latency_p99", s_request_p99, INFINITY,
				 ANOMALY_UNIT_SECONDS, DETECT_KIND_LATENCY},
	[ANOMALY_REQUEST_FAILURES] = {"request_failure_ratio", s_request_failures, 1.0,
				      ANOMALY_UNIT_RATIO, DETECT_KIND_RATIO},
	[ANOMALY_REQUEST_429] = {"request_429_ratio", s_request_429, 1.0, ANOMALY_UNIT_RATIO,
				 DETECT_KIND_RATIO},
	[ANOMALY_CRASH_LOOP] = {"crash_loop", NULL, 1.0, ANOMALY_UNIT_EVENTS, DETECT_KIND_ANY},
	[ANOMALY_OOM_KILL] = {"oom_kill", NULL, 1.0, ANOMALY_UNIT_EVENTS, DETECT_KIND_ANY},
	[ANOMALY_RESTARTS] = {"restarts", NULL, 1.0, ANOMALY_UNIT_EVENTS, DETECT_KIND_ANY},
};

_Static_assert(ANOMALY_NLEARNED <= VERDICT_SIGNALS_MAX, "more learned signals than a model holds");
_Static_assert(ANOMALY_NLEARNED + EVENTS_KIND_COUNT == ANOMALY_NSIGNALS, "one signal per rule");
_Static_assert(ANOMALY_NSIGNALS <= 32, "signal bits in a __u32");

/*
 * Scale floors of the signals whose kind has none that fits: memory moves by megabytes as
 * short-lived children come and go, so less than 8 MiB or 10 % is no fault; a growth under
 * 512 KiB/s (30 MiB a minute) neither; CPU under 2 % of a core per instance neither. An
 * agent's requests are a few dozen in a window: one more failure moves their ratios by a few
 * points and one slow call their 99th percentile by a bucket, so a request ratio needs 5
 * points, a median 30 %, and a 99th percentile, which is then its slowest call, to double.
 * The 99th percentile of the syscall latency of an agent that mostly waits is its blocking
 * calls: it needs to double and move by 250 ms; its run-queue delay is its neighbours' load:
 * 50 % and 2 ms.
 */
static const struct {
	int signal;
	double floor_abs, floor_rel;
} floors[] = {
	{ANOMALY_MEMORY, 8.0 * 1024 * 1024, 0.10},
	{ANOMALY_MEMORY_GROWTH, 512.0 * 1024, 0.10},
	{ANOMALY_CPU, 0.02, 0.10},
	{ANOMALY_SYSCALL_P99, 0.25, 1.00},
	{ANOMALY_RUNQ_P99, 0.002, 0.50},
	{ANOMALY_REQUEST_P50, 0.01, 0.30},
	{ANOMALY_REQUEST_P99, 0.01, 1.00},
	{ANOMALY_REQUEST_FAILURES, 0.05, 0.10},
	{ANOMALY_REQUEST_429, 0.05, 0.10},
};

static const struct {
	const char *name;
	double seconds;
} horizons[ANOMALY_NHORIZONS] = {
	[ANOMALY_H5M] = {"5m", 300},
	[ANOMALY_H30M] = {"30m", 1800},
};

/* What the view shows of one signal of one agent. */
struct signal_out {
	bool scored; /* at least one sample */
	double value; /* last sample */
	double score; /* last score, held at `peak` while active */
	double confidence; /* detector's confidence at the last sample */
	double peak; /* highest score since the signal became active */
	double last_hit; /* unix time it was last departed; 0: never */
	double ctx_since; /* departure time of a departure found to be context; 0: none */
	double own_since; /* departure time of a departure confirmed as the agent's; 0: none */
	double down_since; /* departure time of one that began by falling (directional()) */
	__u32 hot; /* ticks in a row at or above the settle level */
};

/* Everything kept for one agent; allocated when it first appears, freed when it leaves. */
struct agent_state {
	char name[SW_NAME_LEN];
	__u32 slot;
	__u64 seen; /* generation of the last update that listed the agent */
	bool have_prev; /* prev and prev_time hold the previous snapshot */
	double prev_time;
	struct sw_agent_stats prev;
	__u32 prev_instances;
	struct req_mark req[WINDOW_MAX_TICKS + 1]; /* ring by tick */
	struct req_base base; /* requests before the window */
	__u32 gate; /* bit per learned signal whose departure this tick's evidence supports */
	double churn_t; /* unix time the instance count last changed (or the agent appeared) */
	__u64 ticks; /* ticks fed */
	__u64 churn_tick; /* tick of that change */
	double err_t; /* unix time of the last tick that counted an error exit (0: none yet) */
	double back_t; /* unix time an instance last came back after one, within the window */
	double mem[GROWTH_TICKS + 1]; /* resident bytes per instance, ring by tick (NAN: none) */
	double mem_t[GROWTH_TICKS + 1];
	bool in_episode; /* ep is ongoing */
	double last_hit; /* unix time of the last detection that was the agent's own */
	struct anomaly_episode ep;
	__u64 episodes; /* episodes started */
	bool fresh; /* v holds this tick's verdict */
	struct verdict v; /* the verdict of the last tick */
	struct signal_out out[ANOMALY_NSIGNALS];
	struct forecast fc[ANOMALY_NLEARNED];
	struct verdict_model m; /* large: last */
};

/* A learned baseline waiting for its agent (restored, or kept from an agent that left). */
struct baseline {
	char name[SW_NAME_LEN];
	double t; /* when it was kept, to drop the oldest first */
	struct verdict_model *m;
};

struct anomaly {
	struct anomaly_params p;
	anomaly_restore_fn restore; /* where a new agent's saved state comes from; NULL: none */
	void *restore_ctx;
	struct verdict_params vp;
	struct forecast_params fp;
	__u32 horizon[ANOMALY_NHORIZONS]; /* forecast horizons in ticks */
	__u64 gen; /* updates so far */
	double now; /* unix time of the current update */
	struct agent_state **agents;
	int nagents;
	int cap;
	struct baseline baselines[BASELINES_MAX];
	int nbaselines;
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
	p->churn_s = 10;
	p->host_window_s = 10;
	p->host_share = 0.5;
}

struct anomaly *anomaly__new(const struct anomaly_params *p)
{
	uint32_t kinds[ANOMALY_NLEARNED];
	struct anomaly *an;
	int i, err;

	if (!(p->interval_s > 0) || !(p->hold_s >= 0) || p->warmup == 1 || !(p->churn_s >= 0) ||
	    !(p->host_window_s >= 0) || !(p->host_share > 0 && p->host_share <= 1)) {
		errno = EINVAL;
		return NULL;
	}
	an = calloc(1, sizeof(*an));
	if (!an)
		return NULL;
	an->p = *p;
	for (i = 0; i < ANOMALY_NLEARNED; i++)
		kinds[i] = signals[i].kind;
	err = verdict__params_default(&an->vp, p->interval_s, ANOMALY_NLEARNED, kinds);
	if (!err)
		err = forecast__params_default(&an->fp, 0);
	if (err) {
		free(an);
		errno = -err;
		return NULL;
	}
	/*
	 * Cold start: a verdict within a minute of the agent's first instance (45 ticks, and 3
	 * more to confirm a departure). The young floors
	 * of detect.h (up to twice the scale until warmup) keep early verdicts to plain
	 * departures; the warm-up only sets how fast confidence grows.
	 */
	an->vp.verdict_after = 45;
	if (p->warmup && p->warmup < an->vp.verdict_after)
		an->vp.verdict_after = p->warmup;
	/*
	 * A second error or signal exit of an instance within 5 minutes is a crash loop: what
	 * Kubernetes calls CrashLoopBackOff after the first restart fails too.
	 */
	an->vp.events.crash_exits = 2;
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
	for (i = 0; i < an->nbaselines; i++)
		free(an->baselines[i].m);
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
	       an->nagents * sizeof(struct agent_state) +
	       an->nbaselines * sizeof(struct verdict_model);
}

/* The model of a new agent: the tracker's parameters, its floors and warm-up. */
static int model_init(const struct anomaly *an, struct verdict_model *m)
{
	size_t i;
	int err = verdict__init(m, &an->vp);

	if (err)
		return err;
	for (i = 0; i < sizeof(floors) / sizeof(floors[0]); i++) {
		m->sig[floors[i].signal].p.floor_abs = floors[i].floor_abs;
		m->sig[floors[i].signal].p.floor_rel = floors[i].floor_rel;
	}
	if (an->p.warmup) {
		for (i = 0; i < ANOMALY_NLEARNED; i++)
			m->sig[i].p.warmup = an->p.warmup;
	}
	return 0;
}

static int baseline_find(const struct anomaly *an, const char *name)
{
	int i;

	for (i = 0; i < an->nbaselines; i++)
		if (!strcmp(an->baselines[i].name, name))
			return i;
	return -1;
}

static void baseline_drop(struct anomaly *an, int i)
{
	free(an->baselines[i].m);
	an->baselines[i] = an->baselines[--an->nbaselines];
}

/* Keeps model m (taken over) as the baseline of `name`, replacing the oldest when full. */
static void baseline_keep(struct anomaly *an, const char *name, struct verdict_model *m)
{
	int i = baseline_find(an, name), j;

	if (i >= 0)
		baseline_drop(an, i);
	if (an->nbaselines == BASELINES_MAX) {
		for (i = 0, j = 1; j < an->nbaselines; j++)
			if (an->baselines[j].t < an->baselines[i].t)
				i = j;
		baseline_drop(an, i);
	}
	i = an->nbaselines++;
	snprintf(an->baselines[i].name, sizeof(an->baselines[i].name), "%s", name);
	an->baselines[i].t = an->now;
	an->baselines[i].m = m;
}

/*
 * Saved state, per agent, two blobs (blob.h, for the same build): "verdict", its verdict model
 * (every signal's baseline, the forest, the event windows), and "tracker", the rest of what is
 * kept for it (last counters and their time, forecasts, request and memory windows, the
 * episode in progress), so that a restored agent scores exactly as if it never stopped.
 */
#define TRACKER_FROM offsetof(struct agent_state, have_prev)
#define TRACKER_TO offsetof(struct agent_state, m)

/* Takes a new agent's saved state from the restore source; whether there was one. */
static bool agent_restore(struct anomaly *an, struct agent_state *st)
{
	size_t mlen = blob__size(sizeof(st->m)), tlen = blob__size(TRACKER_TO - TRACKER_FROM);
	const struct verdict_model *from;
	const void *tracker;
	struct verdict_model fresh;
	unsigned char *buf;
	bool done = false;

	if (!an->restore)
		return false;
	buf = malloc(mlen > tlen ? mlen : tlen);
	if (!buf)
		return false;
	/* Only a model of this build's signals and parameters is taken, and both or neither. */
	if (an->restore(an->restore_ctx, st->name, "verdict", buf, mlen) != (long)mlen ||
	    blob__open(buf, mlen, SAVE_MAGIC, SAVE_VERSION, sizeof(st->m), (const void **)&from) ||
	    model_init(an, &fresh) || from->magic != fresh.magic ||
	    from->version != fresh.version || memcmp(&from->p, &fresh.p, sizeof(fresh.p)))
		goto out;
	memcpy(&fresh, from, sizeof(fresh));
	if (an->restore(an->restore_ctx, st->name, "tracker", buf, tlen) != (long)tlen ||
	    blob__open(buf, tlen, SAVE_MAGIC, SAVE_VERSION, TRACKER_TO - TRACKER_FROM, &tracker))
		goto out;
	memcpy((char *)st + TRACKER_FROM, tracker, TRACKER_TO - TRACKER_FROM);
	memcpy(&st->m, &fresh, sizeof(fresh));
	done = true;
out:
	free(buf);
	return done;
}

void anomaly__set_restore(struct anomaly *an, anomaly_restore_fn fn, void *ctx)
{
	an->restore = fn;
	an->restore_ctx = ctx;
}

int anomaly__save_agent(const struct anomaly *an, int i, anomaly_save_fn fn, void *ctx)
{
	size_t mlen = blob__size(sizeof(struct verdict_model)),
	       tlen = blob__size(TRACKER_TO - TRACKER_FROM);
	const struct agent_state *st;
	unsigned char *buf;
	long n;
	int err;

	if (i < 0 || i >= an->nagents)
		return -ENOENT;
	st = an->agents[i];
	buf = malloc(mlen > tlen ? mlen : tlen);
	if (!buf)
		return -ENOMEM;
	n = blob__save(buf, mlen, SAVE_MAGIC, SAVE_VERSION, &st->m, sizeof(st->m));
	err = n < 0 ? (int)n : fn(ctx, st->name, "verdict", buf, (size_t)n);
	if (!err) {
		n = blob__save(buf, tlen, SAVE_MAGIC, SAVE_VERSION, (const char *)st + TRACKER_FROM,
			       TRACKER_TO - TRACKER_FROM);
		err = n < 0 ? (int)n : fn(ctx, st->name, "tracker", buf, (size_t)n);
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
	/* Parameters were validated by anomaly__new(); these cannot fail. */
	if (model_init(an, &st->m)) {
		free(st);
		return NULL;
	}
	for (i = 0; i < ANOMALY_NLEARNED; i++) {
		if (forecast__init(&st->fc[i], &an->fp)) {
			free(st);
			return NULL;
		}
	}
	for (i = 0; i <= GROWTH_TICKS; i++)
		st->mem[i] = NAN;
	/* Borrow what was learned of the same agent: restored, or from its last run. */
	i = agent_restore(an, st) ? -1 : baseline_find(an, a->name);
	if (i >= 0) {
		verdict__seed(&st->m, an->baselines[i].m);
		baseline_drop(an, i);
	}
	an->agents[an->nagents++] = st;
	return st;
}

static struct agent_state *agent_find(const struct anomaly *an, const char *name)
{
	int i;

	for (i = 0; i < an->nagents; i++)
		if (!strcmp(an->agents[i]->name, name))
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

/* Client requests of every agent, and those answered 429, summed over its request series. */
static void request_totals(const struct snapshot *s, __u64 *all, __u64 *r429)
{
	const struct request_series *r;
	int i;

	for (i = 0; i < s->nrequests; i++) {
		r = &s->requests[i];
		if (r->agent < 0 || r->agent >= s->nagents || r->role != SW_ROLE_CLIENT)
			continue;
		all[r->agent] += r->count;
		/* By its label, so this reads 0 where the kernel side has no 429 status. */
		if (!strcmp(sw_status_name(r->status), "429"))
			r429[r->agent] += r->count;
	}
}

/* Resident bytes per instance over the last GROWTH_TICKS ticks: its slope per second. */
static double memory_growth(struct agent_state *st, double t, double per_inst)
{
	__u32 i = st->ticks % (GROWTH_TICKS + 1), old = (st->ticks + 1) % (GROWTH_TICKS + 1);

	st->mem[i] = per_inst;
	st->mem_t[i] = t;
	if (!isfinite(per_inst) || !isfinite(st->mem[old]) || !(t > st->mem_t[old]))
		return NAN;
	return (per_inst - st->mem[old]) / (t - st->mem_t[old]);
}

/*
 * Moves the requests from the baseline's last mark up to mark b (the start of the window)
 * into the baseline, after decaying it over the time between them. Counters that went back
 * (a new process in the slot) only move the mark.
 */
static void base_absorb(struct req_base *base, const struct req_mark *b)
{
	const struct req_mark *m = &base->mark;
	__u64 d[SW_LAT_SLOTS], req, fail, all, r429;
	double k;
	int i;

	if (base->ok && b->t > m->t && !rates__delta(b->req, m->req, &req) &&
	    !rates__delta(b->fail, m->fail, &fail) && !rates__delta(b->all, m->all, &all) &&
	    !rates__delta(b->r429, m->r429, &r429) &&
	    !rates__delta_hist(b->lat, m->lat, SW_LAT_SLOTS, d)) {
		k = exp(-(b->t - m->t) / BASE_TAU_S);
		base->req = base->req * k + req;
		base->fail = base->fail * k + fail;
		base->all = base->all * k + all;
		base->r429 = base->r429 * k + r429;
		for (i = 0; i < SW_LAT_SLOTS; i++)
			base->lat[i] = base->lat[i] * k + d[i];
	}
	if (!base->ok || b->t >= m->t) {
		base->mark = *b;
		base->ok = true;
	}
}

/*
 * Whether k of n requests in the window are more than the baseline's base_k of base_n
 * (plus the prior's PRIOR_REQUESTS at PRIOR_RATIO) predicts at RATIO_ALPHA.
 */
static bool ratio_above(__u64 k, __u64 n, double base_k, double base_n)
{
	double a = base_k + PRIOR_RATIO * PRIOR_REQUESTS,
	       b = fmax(base_n - base_k, 0.0) + (1 - PRIOR_RATIO) * PRIOR_REQUESTS, p;

	if (!n || k > n)
		return false;
	p = evidence__betabinom_tail((long)k, (long)n, a, b);
	return p >= 0 && p <= RATIO_ALPHA;
}

/*
 * Bit per request signal whose window lies above its baseline beyond the sampling error of
 * both: the ratios by their predictive tail (ratio_above()), the latency quantiles by the
 * exceedance of the baseline's empirical quantile (its top, read from the log2 slots, so
 * that a window no slower than the baseline never counts).
 */
static __u32 request_evidence(const struct agent_state *st, const struct sample_in *in)
{
	static const struct {
		int signal;
		double q;
	} lat[] = {{ANOMALY_REQUEST_P50, 0.5}, {ANOMALY_REQUEST_P99, 0.99}};
	const struct req_base *b = &st->base;
	double w[SW_LAT_SLOTS], n = 0.0, m = 0.0, j, x, p;
	__u64 d[SW_LAT_SLOTS];
	__u32 gate = 0;
	int i, k;

	if (in->win_ok && ratio_above(in->win_fail, in->win_req, b->fail, b->req))
		gate |= 1u << ANOMALY_REQUEST_FAILURES;
	if (in->win_ok && ratio_above(in->win_429, in->win_all, b->r429, b->all))
		gate |= 1u << ANOMALY_REQUEST_429;
	if (!in->lat_base || rates__delta_hist(in->lat_cur, in->lat_base, SW_LAT_SLOTS, d))
		return gate;
	for (i = 0; i < SW_LAT_SLOTS; i++) {
		w[i] = (double)d[i];
		n += w[i];
		m += b->lat[i];
	}
	m = floor(m);
	if (m < BASE_MIN_REQUESTS || n < 1)
		return gate;
	for (k = 0; k < 2; k++) {
		j = ceil(lat[k].q * m);
		if (evidence__log2_rank_value(b->lat, SW_LAT_SLOTS, j, true, &x))
			continue;
		p = evidence__betabinom_tail((long)floor(evidence__log2_above(w, SW_LAT_SLOTS, x)),
					     (long)n, m - j + 1, j);
		if (p >= 0 && p <= LATENCY_ALPHA)
			gate |= 1u << lat[k].signal;
	}
	return gate;
}

/* Requests between marks b and m (the larger of the two counts), 0 when one went back. */
static __u64 window_requests(const struct req_mark *m, const struct req_mark *b)
{
	__u64 req, all;

	if (rates__delta(m->req, b->req, &req) || rates__delta(m->all, b->all, &all))
		return 0;
	return req > all ? req : all;
}

/*
 * Records the tick's cumulative request counters and sets the window's deltas in *in: from
 * the mark WINDOW_TICKS back, or further back until the window holds WINDOW_REQUESTS, up to
 * WINDOW_MAX_TICKS (or the oldest mark there is). The mark WINDOW_MAX_TICKS back goes into
 * the baseline. A counter that went backwards leaves the window out.
 */
static void request_windows(struct agent_state *st, const struct agent_snap *a, double t, __u64 all,
			    __u64 r429, struct sample_in *in)
{
	const __u32 n = WINDOW_MAX_TICKS + 1;
	struct req_mark *m = &st->req[st->ticks % n], *b = NULL, *c;
	__u32 back;

	m->ok = true;
	m->t = t;
	m->req = a->s.client_requests;
	m->fail = a->s.client_failures;
	m->all = all;
	m->r429 = r429;
	memcpy(m->lat, a->s.client_req_lat, sizeof(m->lat));
	for (back = 1; back <= WINDOW_MAX_TICKS && back <= st->ticks; back++) {
		c = &st->req[(st->ticks + n - back) % n];
		if (!c->ok)
			break;
		b = c;
		if (back >= WINDOW_TICKS && window_requests(m, b) >= WINDOW_REQUESTS)
			break;
	}
	if (!b)
		return;
	if (st->ticks >= WINDOW_MAX_TICKS && st->req[(st->ticks + 1) % n].ok)
		base_absorb(&st->base, &st->req[(st->ticks + 1) % n]);
	in->win_ok = !rates__delta(m->req, b->req, &in->win_req) &&
		     !rates__delta(m->fail, b->fail, &in->win_fail) &&
		     !rates__delta(m->all, b->all, &in->win_all) &&
		     !rates__delta(m->r429, b->r429, &in->win_429);
	in->win_s = t - b->t;
	in->lat_cur = m->lat;
	in->lat_base = b->lat;
}

/* Request signals whose departures need evidence beyond their sampling error. */
#define EVIDENCE_SIGNALS                                                  \
	((1u << ANOMALY_REQUEST_FAILURES) | (1u << ANOMALY_REQUEST_429) | \
	 (1u << ANOMALY_REQUEST_P50) | (1u << ANOMALY_REQUEST_P99))

/* Whether only a rise of signal i can be a fault: a latency or a ratio (of errors, failures). */
static bool directional(int i)
{
	return signals[i].kind == DETECT_KIND_LATENCY || signals[i].kind == DETECT_KIND_RATIO;
}

/*
 * Sets st->gate, the signals whose departure at this tick may be the agent's: a request signal
 * when its window's evidence holds (evident, from request_evidence()); a latency or a ratio only upwards (a
 * faster call or fewer errors is no fault); the others always. The request signals' confidence
 * is also that of their baseline: its requests against the prior's.
 */
static void signal_gate(struct agent_state *st, __u32 evident)
{
	struct detect_result *r;
	double n;
	int i;

	st->gate = evident;
	for (i = 0; i < ANOMALY_NLEARNED; i++) {
		r = &st->v.signal[i];
		if (EVIDENCE_SIGNALS & (1u << i)) {
			n = i == ANOMALY_REQUEST_429 ? st->base.all : st->base.req;
			r->confidence = fmin(r->confidence, n / (n + PRIOR_REQUESTS));
			continue;
		}
		if (!directional(i) || r->value > r->baseline)
			st->gate |= 1u << i;
	}
}

/* Feeds one agent's tick to its model; the verdict waits in st->v for the context pass. */
static void agent_tick(struct agent_state *st, const struct agent_snap *a, const struct snapshot *s,
		       __u64 req_all, __u64 req_429)
{
	double x[ANOMALY_NLEARNED], t = s->time, dt = t - st->prev_time, y;
	struct events_delta ev = {0};
	struct sample_in in = {0};
	__u64 d, exits;
	__u32 evident;
	int i;

	st->fresh = false;
	if (!st->have_prev || a->instances != st->prev_instances) {
		st->churn_t = t;
		st->churn_tick = st->ticks;
	}
	in.cur = &a->s;
	in.prev = &st->prev;
	in.dt = dt;
	in.instances = a->instances;
	in.rss = s->rss_up ? (double)a->rss_bytes : NAN;
	in.growth = memory_growth(
		st, t, a->instances && s->rss_up ? (double)a->rss_bytes / a->instances : NAN);
	request_windows(st, a, t, req_all, req_429, &in);
	if (st->have_prev && dt > 0) {
		for (i = 0; i < ANOMALY_NLEARNED; i++)
			if (!signals[i].sample(&in, &x[i]))
				x[i] = NAN;
		/*
		 * Error and signal exits are crashes when an instance went or came back around
		 * them; the failing commands an agent runs as children are its work, not a fault.
		 */
		exits = 0;
		if (!rates__delta(a->s.process_exits[SW_EXIT_ERROR],
				  st->prev.process_exits[SW_EXIT_ERROR], &d))
			ev.exits_error = d;
		if (!rates__delta(a->s.process_exits[SW_EXIT_SIGNAL],
				  st->prev.process_exits[SW_EXIT_SIGNAL], &d))
			ev.exits_signal = d;
		exits = ev.exits_error + ev.exits_signal;
		if (st->ticks - st->churn_tick > CRASH_TICKS && a->instances) {
			ev.exits_error = 0;
			ev.exits_signal = 0;
		}
		if (st->err_t && t - st->err_t <= st->m.events.p.window_s &&
		    a->instances > st->prev_instances)
			st->back_t = t;
		if (ev.exits_error)
			st->err_t = t;
		if (!rates__delta(a->s.oom_kills, st->prev.oom_kills, &d))
			ev.oom_kills = d;
		/* Restarts: instances that came back after an exit that failed. */
		if (exits && a->instances > st->prev_instances)
			ev.starts = a->instances - st->prev_instances;
		evident = request_evidence(st, &in);
		if (!verdict__update(&st->m, t, x, &ev, evident, &st->v)) {
			st->fresh = true;
			signal_gate(st, evident);
			for (i = 0; i < ANOMALY_NLEARNED; i++) {
				y = x[i];
				if (!isfinite(y))
					continue;
				forecast__update(&st->fc[i], y);
				st->out[i].scored = true;
				st->out[i].value = y;
				st->out[i].confidence = st->v.signal[i].confidence;
				st->out[i].hot = st->v.signal[i].surprise >= st->m.p.settle &&
								 (st->gate & (1u << i))
							 ? st->out[i].hot + 1
							 : 0;
			}
			for (i = ANOMALY_NLEARNED; i < ANOMALY_NSIGNALS; i++) {
				st->out[i].scored = true;
				st->out[i].value = st->v.events.hit[i - ANOMALY_NLEARNED].count;
				st->out[i].confidence = 1.0;
			}
		}
	}
	st->prev = a->s;
	st->prev_time = t;
	st->prev_instances = a->instances;
	st->have_prev = true;
	st->ticks++;
}

/* enum anomaly_signal of a departure in a verdict. */
static __u32 departure_signal(const struct verdict_departure *d)
{
	return d->source == VERDICT_SRC_SIGNAL ? d->index : ANOMALY_NLEARNED + d->index;
}

/*
 * Signals that contention for the host or for a shared upstream moves in every agent alike:
 * waiting to run, slow syscalls, less CPU, slower requests. A crash, a leak or failing
 * requests in several agents at once are still each agent's own.
 */
#define HOST_SIGNALS                                                                    \
	((1u << ANOMALY_RUNQ_P99) | (1u << ANOMALY_SYSCALL_P99) | (1u << ANOMALY_CPU) | \
	 (1u << ANOMALY_REQUEST_P50) | (1u << ANOMALY_REQUEST_P99))
/* Fewest agents departing together that make a move host-wide: two may be a coincidence. */
#define HOST_MIN_AGENTS 3

/*
 * Which contention signals moved with the host this tick: departed within host_window_s in
 * at least host_share of the agents that scored them, and in HOST_MIN_AGENTS at least.
 */
static __u32 host_wide(const struct anomaly *an, double t)
{
	int nscored[ANOMALY_NLEARNED] = {0}, ndep[ANOMALY_NLEARNED] = {0}, i, j;
	const struct verdict *v;
	__u32 host = 0, seen;

	for (i = 0; i < an->nagents; i++) {
		if (!an->agents[i]->fresh)
			continue;
		v = &an->agents[i]->v;
		seen = 0;
		for (j = 0; j < ANOMALY_NLEARNED; j++)
			nscored[j] += isfinite(v->signal[j].value);
		for (j = 0; j < (int)v->ndeparted; j++) {
			const struct verdict_departure *d = &v->departed[j];

			if (d->source != VERDICT_SRC_SIGNAL || d->since < t - an->p.host_window_s ||
			    (seen & (1u << d->index)))
				continue;
			seen |= 1u << d->index;
			ndep[d->index]++;
		}
	}
	for (j = 0; j < ANOMALY_NLEARNED; j++)
		if ((HOST_SIGNALS & (1u << j)) && ndep[j] >= HOST_MIN_AGENTS &&
		    ndep[j] >= an->p.host_share * nscored[j])
			host |= 1u << j;
	return host;
}

/*
 * Whether departure d is the agent's own. Context: it started around a change of the agent's
 * instance count, or its signal moved with the host. Never: a latency or a ratio that
 * departed by falling (a faster call or fewer errors is no fault, and what follows is its
 * way back). Not yet: a signal's own departure until it stayed above settle, with its
 * evidence (signal_gate()), CONFIRM_TICKS ticks in a row; the forest's (which has its own
 * run) until the signal it blames is above settle itself: a signal that has not moved on its
 * own is nothing an operator can act on. Once context or confirmed, a departure stays so
 * until it ends.
 */
static bool is_own(const struct anomaly *an, struct agent_state *st,
		   const struct verdict_departure *d, __u32 host, bool *context)
{
	struct signal_out *o;

	*context = false;
	/*
	 * Events are the agent's own from the first, once an instance runs: instances that all
	 * exit and stay gone are a stop, however they exited. With none running: an OOM kill that
	 * took the last instance down (within CRASH_TICKS of the count's change; one long after
	 * is a leftover process's), and a crash loop whose instance came back after an error
	 * exit within the rule's window and exited with an error again (the loop's last exit
	 * leaves none running until the next restart). A stop by signal, a start and a stop
	 * again are no crash loop: signal exits do not count here.
	 */
	if (d->source != VERDICT_SRC_SIGNAL) {
		if (st->prev_instances > 0 || st->in_episode)
			return true;
		if (d->index == EVENTS_OOM_KILL)
			return st->ticks - st->churn_tick <= CRASH_TICKS + 1;
		return d->index == EVENTS_CRASH_LOOP && st->back_t && st->err_t >= st->back_t &&
		       st->prev_time - st->back_t <= st->m.events.p.window_s;
	}
	o = &st->out[d->index];
	if (o->ctx_since && o->ctx_since == d->since) {
		*context = true;
		return false;
	}
	if (o->own_since && o->own_since == d->since)
		return true;
	if (o->down_since && o->down_since == d->since)
		return false;
	if (d->detector != VERDICT_BY_FOREST && d->since == st->prev_time &&
	    directional(d->index) && !(st->v.signal[d->index].value > d->baseline)) {
		o->down_since = d->since;
		return false;
	}
	if ((d->since >= st->churn_t - 2 * an->p.interval_s &&
	     d->since <= st->churn_t + an->p.churn_s) ||
	    (host & (1u << d->index))) {
		o->ctx_since = d->since;
		*context = true;
		return false;
	}
	if (!(st->gate & (1u << d->index)) ||
	    o->hot < (d->detector == VERDICT_BY_FOREST ? 1 : CONFIRM_TICKS))
		return false;
	o->own_since = d->since;
	return true;
}

/* The episode's explanation, from its own departures in the order they departed. */
static void episode_why(struct anomaly_episode *ep, const struct verdict *v)
{
	const struct anomaly_departure *e;
	size_t len = sizeof(ep->why);
	char ev[200] = "";
	int n = 0, w, k = 0;
	__u32 i;

#define APPEND(...)                                                         \
	do {                                                                \
		w = snprintf(ep->why + ((size_t)n < len ? (size_t)n : len), \
			     (size_t)n < len ? len - n : 0, __VA_ARGS__);   \
		n += w > 0 ? w : 0;                                         \
	} while (0)
	ep->why[0] = '\0';
	for (i = 0; i < ep->ndeparted; i++) {
		e = &ep->departed[i];
		if (e->signal >= ANOMALY_NLEARNED)
			continue;
		if (!k++)
			APPEND("%s departed first (%.3g vs %.3g +- %.2g, %s)",
			       signals[e->signal].name, e->value, e->baseline, e->scale,
			       verdict__detector_name(e->detector));
		else
			APPEND(", then %s +%.0f s (%.3g vs %.3g +- %.2g, %s)",
			       signals[e->signal].name, e->since - ep->departed[0].since, e->value,
			       e->baseline, e->scale, verdict__detector_name(e->detector));
	}
	if (v->events.anomaly)
		events__explain(&v->events, ev, sizeof(ev));
	if (ev[0])
		snprintf(ep->events, sizeof(ep->events), "%s", ev);
	if (ep->events[0])
		APPEND("%s%s", n ? "; " : "", ep->events);
#undef APPEND
}

/* Adds the departures of this tick's verdict that are the agent's own to its episode. */
static void episode_note(struct agent_state *st, const struct verdict *v, const bool *own, double t)
{
	struct anomaly_episode *ep = &st->ep;
	struct anomaly_departure *e;
	__u32 i, k, sig;
	double cur;

	for (i = 0; i < v->ndeparted; i++) {
		const struct verdict_departure *d = &v->departed[i];

		if (!own[i])
			continue;
		sig = departure_signal(d);
		for (k = 0; k < ep->ndeparted && ep->departed[k].signal != sig; k++)
			;
		if (k == ep->ndeparted) {
			if (k == ANOMALY_DEPARTED_MAX)
				continue;
			ep->ndeparted++;
			memset(&ep->departed[k], 0, sizeof(ep->departed[k]));
			ep->departed[k].signal = sig;
			ep->departed[k].detector = d->detector;
			ep->departed[k].since = d->since;
			ep->departed[k].noted = t;
			ep->departed[k].surprise = -1.0;
		}
		e = &ep->departed[k];
		/* Values of the worst tick: the one that says most about the fault. */
		cur = d->source == VERDICT_SRC_SIGNAL ? v->signal[d->index].surprise : d->value;
		if (isfinite(d->value) && cur > e->surprise) {
			e->surprise = cur;
			e->value = d->value;
			e->baseline = d->baseline;
			e->scale = d->scale;
		}
		e->peak = fmax(e->peak, d->peak);
		ep->signals |= 1u << sig;
		ep->score[sig] = fmax(ep->score[sig], d->peak);
		if (d->peak > ep->peak) {
			ep->peak = d->peak;
			ep->confidence = d->source == VERDICT_SRC_SIGNAL
						 ? v->signal[d->index].confidence
						 : 1.0;
		}
	}
	episode_why(ep, v);
}

/* Context, scores held for the scrape, and the agent's episode, for one agent's tick. */
static void agent_judge(struct anomaly *an, struct agent_state *st, double t, __u32 host,
			__u32 *context)
{
	bool own[VERDICT_SIGNALS_MAX + EVENTS_KIND_COUNT];
	const struct verdict *v = &st->v;
	struct signal_out *o;
	__u32 i, sig, nown = 0, mine = 0;
	double surprise;
	bool ctx;

	*context = 0;
	if (!st->fresh) {
		if (st->in_episode && t - st->last_hit > an->p.hold_s)
			episode_close(an, st, t);
		return;
	}
	for (i = 0; i < v->ndeparted; i++) {
		own[i] = is_own(an, st, &v->departed[i], host, &ctx);
		sig = departure_signal(&v->departed[i]);
		if (ctx)
			*context |= 1u << sig;
		if (!own[i])
			continue;
		nown++;
		mine |= 1u << sig;
		o = &st->out[sig];
		if (!o->last_hit || t - o->last_hit > an->p.hold_s)
			o->peak = 0;
		o->peak = fmax(o->peak, v->departed[i].peak);
		o->last_hit = t;
	}
	for (i = 0; i < ANOMALY_NSIGNALS; i++) {
		o = &st->out[i];
		surprise = i < ANOMALY_NLEARNED
				   ? (isfinite(v->signal[i].value) ? v->signal[i].surprise : 0.0)
				   : v->events.hit[i - ANOMALY_NLEARNED].active;
		o->score = o->last_hit && t - o->last_hit <= an->p.hold_s ? fmax(surprise, o->peak)
									  : surprise;
		/* Only the agent's own departures score at or above the threshold. */
		if (!(mine & (1u << i)) && !(o->last_hit && t - o->last_hit <= an->p.hold_s))
			o->score = fmin(o->score, nextafter(an->vp.depart, 0.0));
	}
	if (nown) {
		if (!st->in_episode) {
			memset(&st->ep, 0, sizeof(st->ep));
			memcpy(st->ep.agent, st->name, sizeof(st->ep.agent));
			st->ep.start = t;
			st->in_episode = true;
			st->episodes++;
		}
		st->last_hit = t;
		episode_note(st, v, own, t);
	} else if (st->in_episode && t - st->last_hit > an->p.hold_s) {
		episode_close(an, st, t);
	}
}

static int by_start_desc(const void *a, const void *b)
{
	const struct anomaly_episode *x = a, *y = b;

	return (x->start < y->start) - (x->start > y->start);
}

static struct anomaly_view *view_build(struct anomaly *an, const struct snapshot *s,
				       const __u32 *context)
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
	v->threshold = an->vp.depart;
	v->agents = (struct anomaly_agent *)(v + 1);
	v->current = (struct anomaly_episode *)(v->agents + an->nagents);
	v->recent = v->current + ncur;

	/* Agents in the snapshot's order. */
	for (i = 0; i < s->nagents; i++) {
		struct agent_state *st = agent_find(an, s->agents[i].name);
		struct anomaly_agent *o = &v->agents[v->nagents];
		int idx;

		if (!st)
			continue; /* its state could not be allocated */
		for (idx = 0; idx < an->nagents && an->agents[idx] != st; idx++)
			;
		v->nagents++;
		memcpy(o->name, st->name, sizeof(o->name));
		o->anomalous = st->in_episode;
		o->episodes = st->episodes;
		o->context = context ? context[idx] : 0;
		for (j = 0; j < ANOMALY_NSIGNALS; j++) {
			const struct signal_out *sg = &st->out[j];
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
			if (j >= ANOMALY_NLEARNED || signals[j].unit >= ANOMALY_NUNITS ||
			    !forecast__ready(&st->fc[j]) ||
			    st->m.sig[j].n < st->m.sig[j].p.warmup || !s->agents[i].instances)
				continue;
			o->forecast |= 1u << j;
			for (k = 0; k < ANOMALY_NHORIZONS; k++) {
				if (forecast__predict(&st->fc[j], an->horizon[k], &m, NULL, NULL))
					m = sg->value;
				o->predicted[j][k] = fmin(fmax(m, 0.0), signals[j].hi);
			}
		}
	}

	for (i = 0; i < an->nagents; i++)
		if (an->agents[i]->in_episode)
			v->current[v->ncurrent++] = an->agents[i]->ep;
	if (v->ncurrent)
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
	__u64 *req_all = NULL, *req_429 = NULL;
	__u32 *context = NULL, host;
	struct agent_state *st;
	struct verdict_model *m;
	int i, n;

	s->anomalies = NULL;
	an->gen++;
	an->now = s->time;
	if (s->nagents) {
		req_all = calloc(s->nagents, sizeof(*req_all));
		req_429 = calloc(s->nagents, sizeof(*req_429));
	}
	if (req_all && req_429)
		request_totals(s, req_all, req_429);
	for (i = 0; i < s->nagents; i++) {
		const struct agent_snap *a = &s->agents[i];

		st = agent_find(an, a->name);
		if (st && st->slot != a->slot) {
			/* Same name in another slot: the same agent, its counters anew. */
			st->slot = a->slot;
			st->have_prev = false;
			memset(st->req, 0, sizeof(st->req));
			st->base.ok = false;
		}
		if (!st)
			st = agent_new(an, a);
		if (!st)
			continue; /* retried next tick; the view leaves it out */
		st->seen = an->gen;
		agent_tick(st, a, s, req_all ? req_all[i] : 0, req_429 ? req_429[i] : 0);
	}
	free(req_all);
	free(req_429);
	/* Agents that left: close their episode and keep their baseline for their return. */
	for (i = 0, n = 0; i < an->nagents; i++) {
		st = an->agents[i];
		if (st->seen == an->gen) {
			an->agents[n++] = st;
			continue;
		}
		episode_close(an, st, st->prev_time);
		m = malloc(sizeof(*m));
		if (m) {
			memcpy(m, &st->m, sizeof(*m));
			baseline_keep(an, st->name, m);
		}
		free(st);
	}
	an->nagents = n;
	if (n)
		context = calloc(n, sizeof(*context));
	host = host_wide(an, s->time);
	for (i = 0; i < an->nagents; i++) {
		__u32 c;

		agent_judge(an, an->agents[i], s->time, host, &c);
		if (context)
			context[i] = c;
	}
	s->anomalies = view_build(an, s, context);
	free(context);
	s->anomalies_free = anomaly__view_free;
	return s->anomalies ? 0 : -ENOMEM;
}

void anomaly__view_free(struct anomaly_view *v)
{
	free(v);
}
