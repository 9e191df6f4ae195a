/* SPDX-License-Identifier: MIT */
/*
 * anomaly: each tick, every agent's signals and process events go through the agent's verdict
 * model (verdict.h: one detector ensemble per signal, an Isolation Forest over them, the event
 * rules), are forecast with forecast.h, and the verdicts that are the agent's own (not instance
 * churn, not host-wide contention) are grouped into episodes that say why.
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

/*
 * Signals per agent; names are the `signal` label values. The first ANOMALY_NLEARNED are
 * learned (one detector ensemble each inside the agent's verdict model, verdict.h); the event
 * rules after them need no learning and score 1 while they hold (events.h).
 */
enum anomaly_signal {
	ANOMALY_SYSCALL_RATE, /* syscalls per second per live instance, every class */
	ANOMALY_ERROR_RATIO, /* failed syscalls / syscalls in the tick */
	ANOMALY_CPU, /* CPU seconds per second per live instance */
	ANOMALY_SYSCALL_P99, /* 99th percentile syscall latency in the tick, seconds */
	ANOMALY_RUNQ_P99, /* 99th percentile run-queue delay in the tick, seconds */
	ANOMALY_MEMORY, /* resident bytes per live instance */
	ANOMALY_MEMORY_GROWTH, /* growth of the resident bytes per instance, bytes per second */
	ANOMALY_REQUEST_RATE, /* requests the agent made (client) per second per live instance */
	ANOMALY_REQUEST_P50, /* median latency of the agent's requests (client), seconds */
	ANOMALY_REQUEST_P99, /* 99th percentile of the same */
	ANOMALY_REQUEST_FAILURES, /* its requests answered 5xx or failed / all, in the tick */
	ANOMALY_REQUEST_429, /* its requests answered 429 Too Many Requests / all, in the tick */
	ANOMALY_NLEARNED,
	ANOMALY_CRASH_LOOP = ANOMALY_NLEARNED, /* error and signal exits piling up */
	ANOMALY_OOM_KILL, /* an OOM kill */
	ANOMALY_RESTARTS, /* a burst of process starts */
	ANOMALY_NSIGNALS,
};

/*
 * What a signal's samples measure. Forecasts are exported in one family per unit, so that no
 * metric name mixes units; units after ANOMALY_NUNITS have no forecast family.
 */
enum anomaly_unit {
	ANOMALY_UNIT_SYSCALLS_PER_SECOND,
	ANOMALY_UNIT_CPU_SECONDS_PER_SECOND,
	ANOMALY_UNIT_RATIO, /* a share in [0, 1] */
	ANOMALY_UNIT_SECONDS,
	ANOMALY_NUNITS,
	ANOMALY_UNIT_BYTES = ANOMALY_NUNITS,
	ANOMALY_UNIT_BYTES_PER_SECOND,
	ANOMALY_UNIT_REQUESTS_PER_SECOND,
	ANOMALY_UNIT_EVENTS, /* an event rule: 1 while it holds */
};

/* Forecast horizons; names are the `horizon` label values. */
enum anomaly_horizon {
	ANOMALY_H5M,
	ANOMALY_H30M,
	ANOMALY_NHORIZONS,
};

/* Episodes kept for /api/v1/anomalies. */
#define ANOMALY_RECENT_MAX 256
/* Departures kept per episode, in the order they departed. */
#define ANOMALY_DEPARTED_MAX 8
/* Length of an episode's explanation, NUL included. */
#define ANOMALY_WHY_LEN 512

struct anomaly_params {
	double interval_s; /* tick interval, seconds */
	__u32 warmup; /* samples until a detector counts as learned; 0: detect's default */
	double hold_s; /* an episode stays open this long after its last detection */
	/*
	 * Departures that start within this long of a change in the agent's instance count (its
	 * start, its stop, a scale up or down) are context, not an anomaly (10 s).
	 */
	double churn_s;
	/*
	 * A contention signal (run-queue delay, syscall latency, CPU, request latency) that
	 * departs, within `host_window_s` (10 s), in at least host_share (0.5) of the agents
	 * that scored it, and in three at least, moves with the host: context for every agent.
	 */
	double host_window_s;
	double host_share;
};

/* One departed signal or event rule of an episode. */
struct anomaly_departure {
	__u32 signal; /* enum anomaly_signal */
	__u32 detector; /* enum verdict_detector that fired */
	double since; /* unix time it departed */
	double noted; /* unix time it became the agent's own and joined the episode */
	/* value, baseline and scale at the tick it was most surprising (an event rule: its
	 * highest count in the window, 0 and its threshold) */
	double value;
	double baseline;
	double scale;
	double surprise; /* the surprise of that tick, [0, 1] */
	double peak; /* highest surprise since it departed, [0, 1] */
};

/* One episode: a run of detections on one agent, no more than hold_s apart. */
struct anomaly_episode {
	char agent[SW_NAME_LEN];
	double start; /* unix time of the first detection */
	double end; /* unix time the episode closed; 0 while it is ongoing */
	double peak; /* highest score of any signal during the episode */
	double confidence; /* how much the agent's model had learned at the peak, [0, 1] */
	__u32 signals; /* bit per enum anomaly_signal that departed */
	double score[ANOMALY_NSIGNALS]; /* peak score of each signal in `signals` */
	__u32 ndeparted; /* entries in departed[] */
	/* Departures in the order they departed: departed[0] is the likely cause. */
	struct anomaly_departure departed[ANOMALY_DEPARTED_MAX];
	/*
	 * One line for an operator: the departures in order with value, baseline and detector,
	 * then the event rules with their counts, e.g. "resident_memory departed first (3.1e+08
	 * vs 4.4e+07 +- 8.4e+06, season), then resident_memory_growth +2 s (...)".
	 */
	char why[ANOMALY_WHY_LEN];
	char events[200]; /* the event rules' part of why, as they last held */
};

/* What /metrics shows for one agent. */
struct anomaly_agent {
	char name[SW_NAME_LEN];
	bool anomalous; /* an episode is ongoing */
	__u64 episodes; /* episodes since the agent appeared */
	__u32 scored; /* bit per signal that has had at least one sample */
	__u32 forecast; /* bit per signal whose forecasts are exported: the detector is past its
			 * warm-up, the model is initialised and the agent has a live instance */
	__u32 context; /* bit per signal departed now but counted as context (instance churn
			* or host-wide) */
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

/*
 * Defaults for a tick of interval_s seconds: detector warm-up, a one-minute hold, 10 s of
 * instance churn, host-wide at half the agents within 10 s.
 */
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
 * Learned state across restarts. A save sink receives, per agent, two opaque blobs: "verdict"
 * (its verdict model: every signal's baseline, the forest, the event windows) and "tracker"
 * (the last counters seen, forecasts, request and memory windows, the episode in progress);
 * a restore source fills buf (cap bytes) with what was saved under (agent, name) and returns
 * its length, or a negative errno when it has none. Blobs are for the same build (blob.h:
 * another layout or other parameters are refused).
 */
typedef int (*anomaly_save_fn)(void *ctx, const char *agent, const char *name, const void *blob,
			       size_t len);
typedef long (*anomaly_restore_fn)(void *ctx, const char *agent, const char *name, void *buf,
				   size_t cap);

/*
 * anomaly__set_restore - from now on, an agent that appears takes its state from fn (an agent
 * that comes back under the same name, or every agent after a restart) instead of learning
 * from zero, and continues exactly where the saved one was. Both blobs or neither: one that fn
 * cannot give, or that does not restore, leaves the agent to learn (or to start from the
 * baseline it left with, when it went away while this tracker ran).
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
