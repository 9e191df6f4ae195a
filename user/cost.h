/* SPDX-License-Identifier: MIT */
/*
 * cost: what each agent costs, per UTC day, against its daily budget. Pure: no I/O, no threads,
 * no clock (every call takes the time), so it is unit-tested with a fake clock.
 *
 * The model (struct cost_model) prices what the snapshot measures: a CPU-second, a gigabyte
 * (10^9 bytes) sent and received on TCP, one request to a named upstream (the `upstream` label
 * of swarmwatch_agent_requests_total, client role, any status; a pattern may use fnmatch(3)
 * wildcards); and it adds what the agent reports itself: the increase of every app counter
 * whose name ends in "cost_usd_total" (StatsD "cost_usd:C|c" from the agent, apps.h). Prices
 * are configuration; nothing here is a price except the default budget of 10 USD a day.
 *
 * cost__update() takes each agent's cumulative figures at a tick, turns the increases since
 * the last tick into spend by kind, and adds it to the day's spend and to the running total. A
 * counter that went down (the kernel's maps were recreated, a request series was folded) counts
 * from zero, as Prometheus' increase() does. An agent met for the first time counts from its
 * figures then (its kernel counters may hold days of history), except app costs, which live in
 * swarmwatch's memory and count from zero (and so does the LLM spend measured on the wire). The
 * day is the UTC day of the tick's time; the first
 * tick of a new day starts it at zero (spend of a gap across midnight goes to the new day), and
 * a wall clock stepped back across midnight keeps the later day rather than start it again.
 *
 * LLM spend (kind "llm") has two sources: what swarmwatch measures on the wire (llm.h: the
 * tokens of each answered call at the price table's prices) and what the agent reports itself
 * as its LLM cost (an app counter named ...llm_cost_usd_total, or a ...cost_usd_total counter
 * tagged kind=llm). They are the same calls, so the model's llm source says which counts:
 *   COST_LLM_AUTO  the app's report for an agent that has made one since swarmwatch started
 *                  (or before a restart), else the wire's: the default
 *   COST_LLM_WIRE  the wire's; the app's LLM report is not added at all
 *   COST_LLM_APP   the app's; the wire's is not added (it stays in
 *                  swarmwatch_agent_llm_spend_today_usd)
 *   COST_LLM_BOTH  both added (the app's report is of other calls than those on the wire)
 * Other app costs (untagged ...cost_usd_total) are kind "app" and always added: an agent that
 * reports its LLM calls there is counted twice with the wire, and should name or tag them as
 * LLM, or use COST_LLM_APP.
 *
 * Thresholds: the first tick at which the day's spend reaches warning_ratio of the budget
 * (default 80 %) gives a COST_WARNING event, and emergency_ratio (95 %) a COST_EMERGENCY
 * event; each at most once per agent and day, and the flags are part of the saved state, so a
 * restart does not give them again.
 *
 * Forecast of the day's end: the day's spend so far plus the expected spend of the remaining
 * minutes. Spend is summed per minute; the mean and variance of the per-minute spend are
 * exponentially weighted (alpha 1/30, about half an hour of memory; D. Finch, "Incremental
 * calculation of weighted mean and variance", 2009, eq. 143), so a cost surge moves the forecast
 * within minutes while a quiet hour does not erase a busy morning. The remaining m minutes are
 * taken as independent draws of that distribution: their sum is about normal with mean m*mu and
 * variance m*sigma^2 (central limit theorem), so the interval is the point +- z*sqrt(m)*sigma
 * (z = 1.96: 95 %), its lower end never below what is already spent. A Poisson interval would
 * need spend in fixed units, which a mix of prices is not. Until three minutes are closed, mu is
 * the day's average rate so far and sigma = mu (a coefficient of variation of 1: a wide interval
 * while little is known).
 */
#ifndef SW_COST_H
#define SW_COST_H

#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "swarmwatch.h"

#define COST_UPSTREAMS_MAX 32 /* priced upstreams of one model */
#define COST_OVERRIDES_MAX 64 /* per-agent models */
#define COST_AGENT_UPSTREAMS 24 /* upstreams priced per agent; requests to more are not */
#define COST_NAME_LEN 80 /* upstream label or pattern, NUL included */
#define COST_AGENTS_MAX (SW_MAX_AGENTS_LIMIT + 64) /* agents with state */
#define COST_DEFAULT_BUDGET_USD 10.0
#define COST_PAST_DAYS 7 /* previous days' spend kept per agent */

enum cost_kind {
	COST_CPU, /* CPU-seconds */
	COST_SENT, /* bytes sent */
	COST_RECEIVED, /* bytes received */
	COST_REQUESTS, /* requests to priced upstreams */
	COST_APP, /* reported by the agent, other than its LLM calls */
	COST_LLM, /* LLM calls: measured on the wire, or reported by the agent (see above) */
	COST_KINDS,
};

/* The `kind` label: "cpu", "network_sent", "network_received", "requests", "app", "llm". */
extern const char *const cost_kind_names[COST_KINDS];

/* Where the LLM spend comes from (see above). */
enum cost_llm_source { COST_LLM_AUTO, COST_LLM_WIRE, COST_LLM_APP, COST_LLM_BOTH };

/* "auto", "wire", "app", "both": the config's cost.llm. */
extern const char *const cost_llm_names[4];

struct cost_price {
	char upstream[COST_NAME_LEN]; /* upstream label, or an fnmatch(3) pattern */
	double request_usd; /* per request, >= 0 */
};

struct cost_model {
	double cpu_second_usd; /* per CPU-second */
	double gb_sent_usd; /* per 10^9 bytes sent */
	double gb_received_usd; /* per 10^9 bytes received */
	struct cost_price prices[COST_UPSTREAMS_MAX]; /* first match wins */
	int nprices;
	bool app_costs; /* add app-reported *cost_usd_total counters (default true) */
	enum cost_llm_source llm; /* which LLM spend counts (default COST_LLM_AUTO) */
	double daily_budget_usd; /* > 0; default COST_DEFAULT_BUDGET_USD */
};

struct cost_override {
	char agent[SW_NAME_LEN]; /* agent name or fnmatch(3) pattern */
	struct cost_model m; /* the whole model for those agents: the base with the override's keys */
};

#define COST_ARGS_MAX 16
#define COST_ARG_LEN 256

/*
 * What to do when an agent reaches emergency_ratio of its budget, once per agent and day
 * (costing.h carries it out; this module only keeps it with the other settings).
 */
struct cost_action {
	/* argv of a command run without a shell; {agent}, {day}, {spent_usd}, {budget_usd} in an
	 * argument are replaced; argc 0: none */
	char argv[COST_ARGS_MAX][COST_ARG_LEN];
	int argc;
	uint32_t timeout_ms; /* SIGTERM to its process group then, SIGKILL 2 s later; default 10 s */
	char receiver[64]; /* a configured receiver to notify through the outbox; "": none */
};

struct cost_params {
	bool enabled; /* default true */
	struct cost_model base;
	struct cost_override overrides[COST_OVERRIDES_MAX]; /* first match wins */
	int noverrides;
	double warning_ratio; /* of the budget, default 0.80 */
	double emergency_ratio; /* default 0.95; > warning_ratio */
	double z; /* forecast interval: normal quantile, default 1.96 (95 %) */
	struct cost_action emergency;
};

/* Defaults: enabled, no prices, app costs counted, 10 USD a day, 80 % and 95 %. */
void cost__params_default(struct cost_params *p);

/* The model that applies to agent (first matching override, else the base). */
const struct cost_model *cost__model(const struct cost_params *p, const char *agent);

/* Cumulative client requests of one agent to one upstream, every status together. */
struct cost_requests {
	const char *upstream;
	uint64_t requests;
	uint64_t successes; /* answered 2xx or 3xx */
};

/* One agent's cumulative figures at a tick. */
struct cost_input {
	const char *agent;
	uint64_t cpu_ns;
	uint64_t sent_bytes;
	uint64_t received_bytes;
	double app_usd; /* sum of its *cost_usd_total app counters, but its LLM ones */
	double app_llm_usd; /* sum of its app counters of LLM cost (see above) */
	double llm_usd; /* LLM spend measured on the wire since swarmwatch started; NAN: none */
	const struct cost_requests *requests; /* one per upstream (the caller sums statuses) */
	int nrequests;
};

enum cost_event_type { COST_WARNING, COST_EMERGENCY };

/* A threshold crossed at this tick. */
struct cost_event {
	enum cost_event_type type;
	char agent[SW_NAME_LEN];
	int64_t day; /* days since 1970-01-01, UTC */
	double spent; /* the day's spend, USD */
	double budget; /* USD */
};

struct cost;

/* An accountant for p (copied). NULL with errno EINVAL (a ratio or budget out of range) or
 * ENOMEM. */
struct cost *cost__new(const struct cost_params *p);
void cost__free(struct cost *c);

/*
 * Reads an agent's saved state (from cost__save()) into buf (cap bytes): returns its length,
 * or a negative errno when there is none. Called once for each agent first met.
 */
typedef long (*cost_restore_fn)(void *ctx, const char *agent, void *buf, size_t cap);

/* From now on, an agent first met takes its saved state from fn. */
void cost__set_restore(struct cost *c, cost_restore_fn fn, void *ctx);

/*
 * cost__update - accounts the n agents' figures at unix time now (seconds, non-decreasing) and
 * writes the thresholds crossed into ev (cap entries). Returns how many events there were
 * (those beyond cap are lost: give room for 2 per agent), or -ENOMEM (nothing is accounted).
 * An agent beyond COST_AGENTS_MAX with state takes the place of the one seen longest ago.
 */
int cost__update(struct cost *c, double now, const struct cost_input *in, int n,
		 struct cost_event *ev, int cap);

/* Gives a saved state of agent to fn: JSON text, len bytes. Returns fn's result. */
typedef int (*cost_save_fn)(void *ctx, const char *agent, const char *text, size_t len);

/*
 * cost__save - gives the state of each agent changed since its last save (all: every agent)
 * to fn, at most limit of them (0: no limit), going round the agents from where the last call
 * stopped, so that limited calls spread the work over ticks. Returns 0, the first non-zero
 * return of fn (that agent stays changed), or -ENOMEM.
 */
int cost__save(struct cost *c, bool all, int limit, cost_save_fn fn, void *ctx);

/*
 * cost__restore - replaces agent's state with text (from cost__save()). Returns 0, or -EINVAL
 * when text is not a saved state (nothing changes), or -ENOMEM. Beyond COST_AGENTS_MAX agents,
 * it takes the place of the one seen longest ago.
 */
int cost__restore(struct cost *c, const char *agent, const char *text, size_t len);

/* An upstream of an agent today. */
struct cost_upstream_view {
	char upstream[COST_NAME_LEN];
	uint64_t requests; /* today */
	uint64_t successes; /* today */
	double usd; /* request price x requests, today */
};

/* What an agent spent on a previous UTC day. */
struct cost_day {
	int64_t day; /* days since 1970-01-01 */
	double usd;
};

/* One agent as published. */
struct cost_agent_view {
	char agent[SW_NAME_LEN];
	int64_t day;
	double today[COST_KINDS]; /* the day's spend by kind, USD */
	double total[COST_KINDS]; /* since swarmwatch first accounted it, USD */
	double spent; /* sum of today[] */
	double budget; /* USD */
	double usage; /* spent / budget */
	double rate_usd_per_hour; /* expected rate now (the forecast's mu) */
	double forecast, lower, upper; /* spend expected at the day's end, and its interval */
	double exhaust_time; /* unix time the budget is reached at that rate; 0: not today */
	uint64_t requests, successes; /* client requests today, and those answered 2xx/3xx */
	double per_success; /* spent / successes; NAN with no success */
	bool warned, emergency; /* thresholds crossed today */
	struct cost_day past[COST_PAST_DAYS]; /* the previous days it spent on, latest first */
	int npast;
	int nupstreams;
	struct cost_upstream_view *upstreams; /* those with requests today; in the view's pool */
};

/* A recommendation: an agent to scale down, an upstream that costs most per success. */
struct cost_advice {
	char agent[SW_NAME_LEN]; /* "" when there is none */
	char upstream[COST_NAME_LEN]; /* upstream advice only */
	double value; /* forecast usage ratio, or USD per successful request */
	char reason[192];
};

#define COST_ADVICE_MAX 5

/* What one tick publishes; immutable once attached to a snapshot. */
struct cost_view {
	double time;
	int64_t day;
	double warning_ratio, emergency_ratio;
	int n;
	struct cost_agent_view *agents; /* today's agents (cost__view()), by name */
	/* scale down first: agents by forecast usage, highest first, those with some spend */
	struct cost_advice scale_down[COST_ADVICE_MAX];
	int nscale_down;
	/* upstreams by USD per successful request today, every agent, highest first */
	struct cost_advice upstreams[COST_ADVICE_MAX];
	int nupstreams;
	uint64_t actions[2][3]; /* emergency actions: [command, webhook][ok, failed, timeout] */
	struct cost_upstream_view *upstream_views; /* the agents' upstreams, one allocation */
};

/*
 * A view at time now of today's agents to which some price applies or that have cost
 * something (with no price configured, those whose apps reported a cost); NULL on out of
 * memory.
 */
struct cost_view *cost__view(const struct cost *c, double now);
void cost__view_free(struct cost_view *v);

/*
 * cost__forecast - the day's end spend for spent USD so far at time now (seconds into the
 * UTC day, [0, 86400)), given the exponentially weighted mean mu and variance var of the
 * per-minute spend over `minutes` closed minutes, or, with fewer than 3, the day's average rate
 * over elapsed seconds: *point, and [*lower, *upper] at quantile z. Exposed for tests.
 */
void cost__forecast(double spent, double now, double mu, double var, int minutes, double elapsed,
		    double z, double *point, double *lower, double *upper, double *per_minute);

#endif
