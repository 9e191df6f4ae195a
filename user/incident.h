/* SPDX-License-Identifier: MIT */
/*
 * incident: correlation of one agent's anomalies into incidents, and of incidents of several
 * agents into one upstream problem. Pure: no I/O, no clock; the tick stage (incidents.h) feeds
 * it what is active now and keeps its saved state.
 *
 * Each tick the caller gives every signal that is active now: a detector departure of an
 * ongoing anomaly episode (anomaly.h) or a firing alert (alert.h), each with the time it
 * departed (the alert's startsAt), and each agent's upstreams. A signal of an agent joins the
 * agent's open incident; an agent without one opens one. The incident lists its signals in the
 * order they departed and names the earliest as the likely cause (the earliest that did not
 * fall below its baseline, when there is one: less activity is what waiting looks like), with
 * a recommendation for the kind of the first such signal that has one (scale up, check the
 * upstream, the memory limit, the exit codes of a crash loop).
 * It resolves once none of its signals has been active for `window` seconds; its end is the
 * last time one was. A signal that comes after that opens a new incident. So does a signal of a
 * kind the incident does not have that departs more than `window` after the incident's latest
 * departure: a second fault long after the first is an incident of its own, and the first ends
 * then (its signals that are still active stay with it and do not join the new one).
 *
 * Open incidents of two agents or more that have an upstream signal (request latency,
 * failures, 429s) and call a common upstream are linked: each names the upstream and the
 * others, with one line such as "llm-api latency rose for 3 agents".
 *
 * State (incidents kept, next id) serialises to JSON so that a restart keeps open incidents
 * open: restored ones get one more window to see their signals again.
 *
 * Not thread-safe: one thread updates; the views it makes are immutable.
 */
#ifndef SW_INCIDENT_H
#define SW_INCIDENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define INCIDENT_NAME_MAX 64 /* agent, signal, upstream names, NUL included */
#define INCIDENT_SIGNALS_MAX 12 /* signals listed per incident; later ones are counted */
#define INCIDENT_LINKED_MAX 8 /* other incidents named in a link */
#define INCIDENT_TEXT_MAX 160 /* cause, recommendation, link lines, NUL included */
#define INCIDENT_UPSTREAMS_MAX 8 /* upstreams per agent considered for linking */
#define INCIDENT_KEEP 256 /* incidents kept, open ones first; the oldest resolved go first */

/* What a signal is about, which decides the recommendation. */
enum incident_kind {
	INCIDENT_OTHER, /* no recommendation follows */
	INCIDENT_LOAD, /* CPU, run queue, syscall rate or latency, request rate */
	INCIDENT_LATENCY, /* request latency: an upstream kind */
	INCIDENT_FAILURES, /* failed requests or answers 5xx: an upstream kind */
	INCIDENT_THROTTLED, /* answers 429: an upstream kind */
	INCIDENT_MEMORY, /* resident memory, its growth, OOM kills */
	INCIDENT_CRASH, /* crash loop, restarts */
	INCIDENT_KINDS,
};

enum incident_source { INCIDENT_ANOMALY, INCIDENT_ALERT };

enum incident_state { INCIDENT_OPEN, INCIDENT_RESOLVED, INCIDENT_STATES };

extern const char *const incident_kind_names[INCIDENT_KINDS]; /* "other", "load", ... */
extern const char *const incident_state_names[INCIDENT_STATES]; /* "open", "resolved" */

/* One signal active at this tick, as the caller observed it. */
struct incident_obs {
	const char *agent;
	const char *signal; /* anomaly signal name, or the alert's rule name */
	enum incident_source source;
	enum incident_kind kind;
	double since; /* unix seconds it departed (alert: startsAt) */
	/* what it says, short ("2.1 vs 0.3", "0.7 > 0.05"); "" or NULL for nothing */
	const char *detail;
	/* an anomaly below its baseline (fewer syscalls, less CPU): an agent that does less
	 * waits for something, so this is a symptom rather than a cause */
	bool fell;
};

/* An upstream an agent calls (client role), with its requests: the most called come first. */
struct incident_upstream {
	const char *agent;
	const char *upstream;
	double requests;
};

/* One signal of an incident. */
struct incident_signal {
	char name[INCIDENT_NAME_MAX];
	enum incident_source source;
	enum incident_kind kind;
	double since; /* departed, unix seconds */
	double last; /* last tick it was active */
	char detail[64];
	bool fell; /* below its baseline */
};

struct incident {
	uint64_t id; /* > 0, never reused */
	char agent[INCIDENT_NAME_MAX];
	enum incident_state state;
	double start; /* earliest departure of its signals, unix seconds */
	double end; /* resolved: last time a signal was active; open: 0 */
	double last_active; /* last tick a signal was active */
	uint32_t nsignals;
	uint32_t more; /* signals left out of the list: beyond INCIDENT_SIGNALS_MAX */
	uint64_t over[INCIDENT_SIGNALS_MAX]; /* hashes of the first of them, to count each once */
	struct incident_signal signals[INCIDENT_SIGNALS_MAX]; /* in the order they departed */
	/* "request_p99 rose first (2.1 vs 0.3)": signals[0] is the likely cause */
	char cause[INCIDENT_TEXT_MAX];
	char recommendation[INCIDENT_TEXT_MAX]; /* "" when none follows */
	char upstream[INCIDENT_NAME_MAX]; /* the upstream named: the shared one, else the agent's
					   * most called; "" when none */
	char link[INCIDENT_TEXT_MAX]; /* "llm-api latency rose for 3 agents", "" unlinked */
	uint32_t nlinked;
	uint64_t linked[INCIDENT_LINKED_MAX]; /* ids of the other incidents of the link */
};

/* An immutable copy for readers; one allocation with its array. */
struct incident_view {
	double time;
	uint32_t n;
	struct incident *items; /* open first, then resolved, newest first within each */
	uint32_t count[INCIDENT_STATES]; /* how many of each are kept */
};

struct incident_params {
	double window_s; /* an incident resolves after this long with no active signal (60) */
};

struct incident_tracker;

/* incident__params_default - a one-minute window. */
void incident__params_default(struct incident_params *p);

/* incident__new - a tracker with no incidents; NULL with errno EINVAL (window <= 0), ENOMEM. */
struct incident_tracker *incident__new(const struct incident_params *p);
void incident__free(struct incident_tracker *x);

/*
 * incident__update - the signals active at now (unix seconds, non-decreasing) and the agents'
 * upstreams: joins, opens, orders, resolves and links incidents as described above.
 * Observations with no agent or signal name are ignored. Returns true when an incident
 * opened, resolved or changed its signals, cause or link (the state is worth saving).
 */
bool incident__update(struct incident_tracker *x, double now, const struct incident_obs *obs,
		      size_t nobs, const struct incident_upstream *ups, size_t nups);

/* incident__view - a copy of the incidents; NULL on ENOMEM. Freed with incident__view_free(). */
struct incident_view *incident__view(const struct incident_tracker *x, double now);
void incident__view_free(struct incident_view *v);

/* incident__view_open - the open incident of agent in v, or NULL. */
const struct incident *incident__view_open(const struct incident_view *v, const char *agent);

/* incident__view_get - the incident with id in v, or NULL. */
const struct incident *incident__view_get(const struct incident_view *v, uint64_t id);

/*
 * The agent of incident id in view (a const struct incident_view *, NULL allowed), or NULL
 * when the view does not hold it: the tenancy filter's incident_agent callback.
 */
const char *incident__agent_of(const void *view, uint64_t id);

/*
 * incident__alert_cause - for alert__set_cause_fn() with ctx an incident view (NULL: none):
 * when agent has an open incident, the alert's likely cause (cause, cap bytes) becomes the
 * incident's (its earliest signal; the rule's own text when that signal is this rule's
 * alert), followed by the recommendation when it fits.
 */
void incident__alert_cause(void *ctx, const char *rule, const char *agent, char *cause, size_t cap);

/*
 * incident__save - the state as JSON text, malloc'd (*len bytes, NUL-terminated). NULL on
 * ENOMEM.
 */
char *incident__save(const struct incident_tracker *x, size_t *len);

/*
 * incident__restore - replaces the state with a saved one, at now (unix seconds): open
 * incidents stay open and get one more window (from now) to see a signal again. Returns 0, or
 * -EINVAL when buf is not a saved state (nothing is changed), -ENOMEM.
 */
int incident__restore(struct incident_tracker *x, const char *buf, size_t len, double now);

#endif
