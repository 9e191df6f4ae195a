/* SPDX-License-Identifier: MIT */
/*
 * events: verdicts on process events that need no learning.
 *
 * A crash loop (error or signal exits piling up), an OOM kill and a burst of restarts are
 * faults from their first occurrence: nothing has to be learned about the agent to call them,
 * so they give a verdict on a brand-new agent. The caller feeds, once per tick, how many of
 * each event the agent had since the previous tick (deltas of the exit, OOM-kill and
 * process-start counters); the module counts them over a sliding window of time and reports
 * which rule holds, with the count it saw.
 *
 * Pure and fixed-size like detect: no I/O, no pointers, so the state can be copied and saved.
 */
#ifndef SWARMWATCH_EVENTS_H
#define SWARMWATCH_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Ticks with events remembered per kind; older ticks inside the window are merged. */
#define EVENTS_SLOTS 32

enum events_kind {
	EVENTS_CRASH_LOOP, /* error + signal exits in the window reached crash_exits */
	EVENTS_OOM_KILL, /* an OOM kill in the window */
	EVENTS_RESTARTS, /* process starts in the window reached restarts */
	EVENTS_KIND_COUNT,
};

/* Names of the rules, for explanations and labels: "crash_loop", "oom_kill", "restarts". */
extern const char *const events_names[];

struct events_params {
	double window_s; /* sliding window, seconds (default 300) */
	uint32_t crash_exits; /* error + signal exits in the window that make a crash loop (3) */
	uint32_t oom_kills; /* OOM kills in the window that raise a verdict (1) */
	uint32_t restarts; /* process starts in the window that make a restart burst (5) */
};

/* What the agent did since the previous tick (counter deltas). */
struct events_delta {
	uint32_t exits_error; /* exits with a non-zero status */
	uint32_t exits_signal; /* deaths by signal */
	uint32_t oom_kills; /* OOM kills */
	uint32_t starts; /* process starts (instances and their children) */
};

/* Counts of one kind over the window: (tick time, count) pairs, oldest first. */
struct events_ring {
	double ts[EVENTS_SLOTS]; /* tick time, seconds */
	uint32_t count[EVENTS_SLOTS]; /* events at that tick */
	uint32_t head; /* index of the oldest slot */
	uint32_t n; /* slots held */
	uint64_t sum; /* events held */
};

/* Inputs counted over the window, one ring each. */
enum events_input {
	EVENTS_IN_ERROR,
	EVENTS_IN_SIGNAL,
	EVENTS_IN_OOM,
	EVENTS_IN_START,
	EVENTS_IN_COUNT,
};

struct events_state {
	struct events_params p;
	struct events_ring ring[EVENTS_IN_COUNT];
	bool active[EVENTS_KIND_COUNT]; /* rule held at the previous tick */
};

/* One rule's verdict at a tick. */
struct events_hit {
	bool active; /* the rule holds now */
	bool raised; /* it started to hold at this tick (rising edge) */
	uint64_t count; /* events of this kind in the window */
	double first_ts; /* time of the oldest event counted, seconds */
};

struct events_verdict {
	bool anomaly; /* some rule holds */
	struct events_hit hit[EVENTS_KIND_COUNT];
	uint64_t exits_error; /* error exits inside the crash-loop count */
	uint64_t exits_signal; /* signal deaths inside the crash-loop count */
	double window_s; /* the window the counts cover */
};

/*
 * events__params_default - a 5-minute window; 3 error or signal exits make a crash loop
 * (Kubernetes backs a pod off after its third failed start within minutes), 1 OOM kill is a
 * verdict, 5 process starts make a restart burst.
 */
void events__params_default(struct events_params *p);

/*
 * events__init - set up an empty state with parameters p (copied). Returns 0, or -EINVAL when
 * the window is not positive and finite or a threshold is 0.
 */
int events__init(struct events_state *s, const struct events_params *p);

/*
 * events__update - count the events of the tick at ts seconds (ticks in time order), forget
 * those older than the window, and fill *v. Returns 0, or -EINVAL for a non-finite ts, in
 * which case the state is unchanged.
 */
int events__update(struct events_state *s, double ts, const struct events_delta *d,
		   struct events_verdict *v);

/*
 * events__explain - one line for an operator, e.g. "crash loop: 4 error/signal exits in 300 s
 * (3 error, 1 signal)", naming every rule that holds; "" when none does. Returns the length
 * snprintf() would write (the text is cut to fit len).
 */
int events__explain(const struct events_verdict *v, char *buf, size_t len);

#endif /* SWARMWATCH_EVENTS_H */
