/* SPDX-License-Identifier: MIT */
/*
 * api: the JSON documents of the /api/v1 endpoints, rendered from published data at the leaf,
 * so that the modules that produce the data (anomaly, later the store, alerts and scaling)
 * never format JSON. Every function returns a malloc'd NUL-terminated document, or NULL on out of memory.
 */
#ifndef SW_API_H
#define SW_API_H

#include <stddef.h>
#include <stdint.h>

#include "alert.h"

struct alert_view;
struct cost_view;
struct incident_view;
struct anomaly_view;
struct snapshot;
struct store;
struct store_query;

/* Content type of every document here. */
#define API_CONTENT_TYPE "application/json"

/* Formats unix time t as RFC 3339 UTC with milliseconds into buf (at least 32 bytes). */
void api__rfc3339(double t, char *buf, size_t len);

/*
 * api__error - the one error document of every endpoint:
 * {"status": "error", "code": code, "error": message}. code is the HTTP status code it is sent
 * with (a program tells errors apart by it); message is one line for a person to read.
 */
char *api__error(unsigned code, const char *message);

/*
 * api__anomalies - GET /api/v1/anomalies for view v: {"time", "threshold", "current": [...],
 * "recent": [...]}, each episode {"agent", "start", "end" (null while ongoing), "ongoing",
 * "peak_score", "confidence", "signals": [{"signal", "score"}]}.
 */
char *api__anomalies(const struct anomaly_view *v);

/*
 * api__parse_time - a time parameter: Unix seconds ("1764460800", "1764460800.5") or RFC 3339
 * ("2026-11-30T12:00:00Z", "...T12:00:00.250+01:00"). Returns 0 with *t in Unix seconds, or
 * -EINVAL.
 */
int api__parse_time(const char *s, double *t);

/*
 * api__series - GET /api/v1/series: {"status": "success", "data": [{"series", "metric",
 * "agent", "type", "labels", "last_time", "last_value"}]} for the store's series of agent and
 * metric (NULL: any).
 */
char *api__series(struct store *st, const char *agent, const char *metric);

/*
 * api__query_range - GET /api/v1/query_range: every series of metric (and agent, NULL: any)
 * over q: {"status": "success", "data": {"metric", "tier", "start", "end", "step", "rate",
 * "series": [{"series", "labels", "points": [[unix seconds, value or null], ...]}]}}. A
 * histogram's value is its count. On a refused query returns NULL with a one-line reason in
 * err that starts with the parameter's name; NULL with err empty is out of memory.
 */
char *api__query_range(struct store *st, const char *metric, const char *agent,
		       const struct store_query *q, size_t max_points, char *err, size_t errlen);

/*
 * api__agents - GET /api/v1/agents: {"status": "success", "data": [{"agent", "live",
 * "instances", "syscalls", "syscall_errors", "cpu_seconds", "resident_memory_bytes",
 * "first_seen", "last_seen"}]}: the agents of snapshot s (may be NULL) with their current
 * figures, then those the store st (may be NULL) remembers.
 */
char *api__agents(struct store *st, const struct snapshot *s);

/*
 * api__alerts - GET /api/v1/alerts for view v: {"time", "alerts": [...]}, each alert {"id"
 * (fingerprint, for ack), "alertname", "agent", "state" (pending, firing, resolved), "severity",
 * "startsAt", "endsAt" (null while active), "value", "threshold", "summary", "cause" (or null),
 * "acknowledged", "silenced", "inhibited"}, firing ones first.
 */
char *api__alerts(const struct alert_view *v);

/*
 * api__cost - GET /api/v1/cost for view v: {"status", "time", "day" (UTC, YYYY-MM-DD),
 * "day_ends", "thresholds": {"warning_ratio", "emergency_ratio"}, "agents": [{"agent",
 * "spent_usd", "budget_usd", "usage_ratio", "today_usd": {kind: USD}, "total_usd": {kind: USD},
 * "forecast": {"end_of_day_usd", "lower_usd", "upper_usd", "rate_usd_per_hour"},
 * "budget_exhausted_at" (null when not today), "requests", "successes", "cost_per_success_usd"
 * (null before a success), "threshold" ("none", "warning", "emergency"), "upstreams":
 * [{"upstream", "requests", "successes", "cost_usd", "cost_per_success_usd"}]}],
 * "recommendations": {"scale_down_first": [{"agent", "forecast_usage_ratio", "reason"}],
 * "costliest_upstreams_per_success": [{"upstream", "cost_per_success_usd", "reason"}]}}.
 */
char *api__cost(const struct cost_view *v);

/*
 * api__incidents - GET /api/v1/incidents for view v: {"time", "incidents": [...]}, open ones
 * first, each {"id", "agent", "state" (open, resolved), "startsAt", "endsAt" (null while
 * open), "cause", "recommendation" (or null), "upstream" (or null), "link" (or null),
 * "linked" (ids), "signals": [{"name", "source" (anomaly, alert), "kind", "since", "lastSeen",
 * "detail", "fell"}] in the order they departed, "more_signals"}. With id > 0, only that
 * incident: {"time", "incident": {...}}, or NULL with errno ENOENT when v has none with id.
 * NULL with errno ENOMEM when memory ran out.
 */
char *api__incidents(const struct incident_view *v, uint64_t id);

/* api__ack - the answer to POST /api/v1/alerts/{id}/ack: {"status": "ok", "acknowledged": id}. */
char *api__ack(const char *id);

/*
 * api__parse_silence - the body of POST /api/v1/silences: {"matchers": {"agent": "coder"},
 * "duration": "1h" (or "endsAt": RFC 3339 UTC), "comment": "..."}; a matcher value starting
 * with ! excludes. now_ms is the current Unix time. Returns 0, or -EINVAL with a one-line
 * reason in err.
 */
int api__parse_silence(const char *body, int64_t now_ms, struct alert_silence *out, char *err,
		       size_t errlen);

/* api__silences - GET /api/v1/silences: {"silences": [{"id", "matchers", "endsAt", "comment"}]}. */
char *api__silences(const struct alert_silence *s, size_t n);

/* api__silence_created - {"status": "ok", "id": id}. */
char *api__silence_created(uint64_t id);

/*
 * api__overview - one event of GET /api/v1/stream: what the interval from snapshot prev (NULL
 * for the first tick) to cur saw of every agent. {"time", "unix_ms", "tick", "interval_seconds",
 * "threshold", "agents": [{"agent", "live", "instances", "requests_per_second", "p95_seconds",
 * "error_ratio", "ratio_429", "cpu_cores", "resident_memory_bytes", "anomaly": {"anomalous",
 * "score", "signals"} or null, "cost": {"spent_usd", "budget_usd", "usage_ratio",
 * "forecast_usd"} (today, UTC) or null, "upstreams": [{"upstream", "role", and the four request
 * figures}]}]}. Request figures are those of the agent's client role: per second over the
 * interval, p95 latency in seconds (from the log2 histogram, linear within a slot), 5xx and
 * failed requests over all, 429s over all; null when the interval has none or a counter went
 * back. Agents keep the snapshot's order; upstreams are sorted by name, role.
 */
char *api__overview(const struct snapshot *prev, const struct snapshot *cur);

/*
 * api__overhead - GET /api/v1/overhead for snapshot s: {"time", "budget", "overhead",
 * "overhead_seconds", "latency_sampling_ratio", "host_syscalls", "collectors": [{"collector",
 * "sampling_ratio", "extrapolated", "families": [...]}]}, one entry per collector that runs.
 * "extrapolated" is true when the collector's hooks were duty-cycled in the last tick: the
 * agent families listed then hold estimates (what was seen plus the growth seen times
 * 1 / sampling_ratio - 1, overhead__extrapolate()), not exact counts. Ratios are shares of
 * host CPU in [0, 1]; budget 0 means no bound.
 */
char *api__overhead(const struct snapshot *s);

#endif
