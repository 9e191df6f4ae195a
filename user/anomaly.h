/* SPDX-License-Identifier: MIT */
/*
 * anomaly: scores every agent's key signals each tick with the streaming detectors of detect.h,
 * forecasts them with forecast.h, and groups detections into episodes (one per agent while it
 * lasts).
 *
 * The collector thread owns the mutable state and calls anomaly__update() once per tick with the
 * snapshot it is about to publish; the result is an immutable struct anomaly_view attached to
 * that snapshot, so HTTP threads read only published data.
 */
#ifndef SW_ANOMALY_H
#define SW_ANOMALY_H

#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>

#include "swarmwatch.h"

struct snapshot;

/* Signals scored per agent; names are the `signal` label values. */
enum anomaly_signal {
	ANOMALY_SYSCALL_RATE, /* syscalls per second, every class */
	ANOMALY_ERROR_RATIO, /* failed syscalls / syscalls in the tick */
	ANOMALY_CPU, /* CPU seconds per second */
	ANOMALY_SYSCALL_P50, /* median syscall latency in the tick, seconds */
	ANOMALY_SYSCALL_P99, /* 99th percentile syscall latency in the tick, seconds */
	ANOMALY_RUNQ_P99, /* 99th percentile run-queue delay in the tick, seconds */
	ANOMALY_REQUEST_P50, /* median latency of the agent's requests (client), seconds */
	ANOMALY_REQUEST_P99, /* 99th percentile of the same */
	ANOMALY_REQUEST_FAILURES, /* its requests answered 5xx or failed / all, in the tick */
	ANOMALY_NSIGNALS,
};

/*
 * What a signal's samples measure. Forecasts are exported in one family per unit, so that no
 * metric name mixes units.
 */
enum anomaly_unit {
	ANOMALY_UNIT_SYSCALLS_PER_SECOND,
	ANOMALY_UNIT_CPU_SECONDS_PER_SECOND,
	ANOMALY_UNIT_RATIO, /* a share in [0, 1] */
	ANOMALY_UNIT_SECONDS,
	ANOMALY_NUNITS,
};

/* Forecast horizons; names are the `horizon` label values. */
enum anomaly_horizon {
	ANOMALY_H5M,
	ANOMALY_H30M,
	ANOMALY_NHORIZONS,
};

/* Episodes kept for /api/v1/anomalies. */
#define ANOMALY_RECENT_MAX 256

struct anomaly_params {
	double interval_s; /* tick interval, seconds */
	__u32 warmup; /* samples before a detector gives verdicts; 0: detect's default */
	double hold_s; /* an episode stays open this long after its last detection */
};

/* One episode: a run of detections on one agent, no more than hold_s apart. */
struct anomaly_episode {
	char agent[SW_NAME_LEN];
	double start; /* unix time of the first detection */
	double end; /* unix time the episode closed; 0 while it is ongoing */
	double peak; /* highest score of any signal during the episode */
	double confidence; /* confidence of the signal at the peak */
	__u32 signals; /* bit per enum anomaly_signal that crossed the threshold */
	double score[ANOMALY_NSIGNALS]; /* peak score of each signal in `signals` */
};

/* What /metrics shows for one agent. */
struct anomaly_agent {
	char name[SW_NAME_LEN];
	bool anomalous; /* an episode is ongoing */
	__u64 episodes; /* episodes since the agent appeared */
	__u32 scored; /* bit per signal that has had at least one sample */
	__u32 forecast; /* bit per signal whose forecasts are exported: the detector is past its
			 * warm-up, the model is initialised and the agent has a live instance */
	double score[ANOMALY_NSIGNALS]; /* [0, 1], held at its peak while the signal is active */
	double confidence[ANOMALY_NSIGNALS]; /* [0, 1]: how much the detector has learned */
	double value[ANOMALY_NSIGNALS]; /* last sample */
	double predicted[ANOMALY_NSIGNALS][ANOMALY_NHORIZONS]; /* point forecasts */
};

/* Immutable result of one tick; one allocation, released with anomaly__view_free(). */
struct anomaly_view {
	double time; /* unix time of the tick */
	double threshold; /* decision threshold of the scores */
	int nagents;
	struct anomaly_agent *agents;
	int ncurrent;
	struct anomaly_episode *current; /* ongoing episodes */
	int nrecent;
	struct anomaly_episode *recent; /* newest first, ongoing ones included */
};

struct anomaly;

/* Label value of a signal or horizon; "unknown" out of range. */
const char *anomaly__signal_name(int signal);
const char *anomaly__horizon_name(int horizon);

/* enum anomaly_unit of a signal's samples; -EINVAL out of range. */
int anomaly__signal_unit(int signal);

/* Defaults for a tick of interval_s seconds: detector warm-up, a one-minute hold. */
void anomaly__params_default(struct anomaly_params *p, double interval_s);

/* A tracker with no agents yet; NULL with errno set on failure. */
struct anomaly *anomaly__new(const struct anomaly_params *p);
void anomaly__free(struct anomaly *an);

/*
 * anomaly__update - feed the snapshot s of a tick: each agent's signals are the differences
 * from its previous snapshot. Creates state for new agents, frees it for agents no longer in s,
 * and attaches a fresh view to s->anomalies, with its destructor (s must not be published yet;
 * a view already attached is replaced without being freed). Returns 0 or -ENOMEM
 * (s->anomalies is then NULL; detector state stays consistent).
 */
int anomaly__update(struct anomaly *an, struct snapshot *s);

/*
 * Learned state across restarts. A save sink receives, per agent, one opaque blob per signal
 * that has scored (named after the signal: its detector's and forecaster's state) and one
 * named "prev" (the last counters seen); a restore source fills buf (cap bytes) with what was
 * saved under (agent, name) and returns its length, or a negative errno when it has none.
 * Blobs are for the same build (detect__restore() refuses others).
 */
typedef int (*anomaly_save_fn)(void *ctx, const char *agent, const char *name, const void *blob,
			       size_t len);
typedef long (*anomaly_restore_fn)(void *ctx, const char *agent, const char *name, void *buf,
				   size_t cap);

/*
 * anomaly__set_restore - from now on, an agent that appears takes its state from fn (an agent
 * that comes back under the same name, or every agent after a restart) instead of learning
 * from zero. A blob fn cannot give, or that does not restore, leaves that signal fresh.
 */
void anomaly__set_restore(struct anomaly *an, anomaly_restore_fn fn, void *ctx);

/*
 * anomaly__save_agent - gives agent i's (0 <= i < anomaly__agents()) state to fn. Returns 0,
 * fn's first non-zero return, -ENOENT for i out of range, or -ENOMEM.
 */
int anomaly__save_agent(const struct anomaly *an, int i, anomaly_save_fn fn, void *ctx);

/* Frees a view from anomaly__update(); NULL is ignored. */
void anomaly__view_free(struct anomaly_view *v);

/* Agents with state, and bytes of state held: for tests and self-observation. */
int anomaly__agents(const struct anomaly *an);
size_t anomaly__state_bytes(const struct anomaly *an);

#endif
