/* SPDX-License-Identifier: MIT */
/*
 * alert: rules evaluated per agent each tick, their lifecycle, and the notifications they
 * cause, with Alertmanager's noise control.
 *
 * A rule is a condition (threshold over a value, anomaly verdict, absence), a severity, a
 * `for` hold before firing and a `keep_firing_for` hold before resolving (Prometheus'
 * semantics, rules/alerting.go), labels and templated annotations. Values are read through a
 * lookup callback (family or derived figure + agent + label matchers -> value or absent), so
 * this module knows nothing of the snapshot's layout. Each (rule, agent) is one alert:
 * pending -> firing -> resolved, with start and end times; its fingerprint is FNV-1a 64 over
 * its sorted labels with 0xff separators, the same hash Alertmanager gives the same labels.
 *
 * Routes send alerts to receivers. A grouped route follows Alertmanager's dispatcher
 * (dispatch/dispatch.go): alerts with equal group_by labels form a group; a new group waits
 * group_wait, then is flushed every group_interval when an alert was added or resolved, and
 * repeated every repeat_interval while unchanged (acknowledged alerts are not repeated).
 * A push route (a receiver that is an Alertmanager) gets each firing alert again every
 * resend period with endsAt = now + 4 resend periods, as Prometheus does, and the resolved
 * alert with its real endsAt. Notifications are webhook v4 JSON bodies with a key derived
 * from their content, handed to the caller (notify.h sends them).
 *
 * Noise control: at most max_per_hour notifications per alert in any hour; after a resolve,
 * the same alert does not start again for cooldown; inhibition (an EMERGENCY on an agent
 * mutes its WARNING and INFO alerts by default); silences (label matchers with an expiry);
 * acknowledgement.
 *
 * State (alerts, groups' timers, silences) serialises to JSON (alert__save()) so a restart
 * restores it: a firing alert stays firing and is not notified again as new.
 *
 * Not thread-safe: one thread evaluates; callers serialise other calls with it.
 */
#ifndef SW_ALERT_H
#define SW_ALERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ALERT_NAME_MAX 64
#define ALERT_MATCHERS_MAX 4
#define ALERT_LABELS_MAX 4
#define ALERT_ANNOTATIONS_MAX 3
#define ALERT_TEXT_MAX 256
#define ALERT_CAUSE_MAX 160
#define ALERT_ROUTES_MAX 8
#define ALERT_RULES_MAX 64
#define ALERT_GROUP_BY_MAX 4
#define ALERT_SILENCES_MAX 64
#define ALERT_INHIBITS_MAX 4
#define ALERT_ALERTS_MAX 4096

enum alert_severity {
	ALERT_INFO,
	ALERT_WARNING,
	ALERT_CRITICAL,
	ALERT_EMERGENCY,
	ALERT_SEVERITIES,
};

enum alert_state {
	ALERT_PENDING, /* condition true, waiting `for` */
	ALERT_FIRING,
	ALERT_RESOLVED, /* kept until its resolve is notified and the cooldown passed */
	ALERT_STATES,
};

/* What the lookup is asked for. */
enum alert_fn {
	ALERT_FN_VALUE, /* the figure itself: a gauge, a derived ratio */
	ALERT_FN_RATE, /* rate(x): per-second increase of a counter over the last tick */
	ALERT_FN_DERIV, /* deriv(x): per-second slope of a gauge over the detector's window */
	ALERT_FN_QUANTILE, /* pNN(x) or x pNN: quantile q of a histogram over the last tick */
	ALERT_FN_ANOMALY, /* anomaly(signal|*): verdict score in [0,1], with confidence and cause */
	ALERT_FN_EVENT, /* event(crash_loop|oom_kill|...): 1 while the event verdict holds */
	ALERT_FN_TREND, /* trend(x, 5m): least-squares slope of x per second over window_ms */
	ALERT_FN_FORECAST, /* forecast(x, 10m): x predicted window_ms ahead, with its error sd */
};

enum alert_cmp { ALERT_GT, ALERT_GE, ALERT_LT, ALERT_LE, ALERT_EQ, ALERT_NE };

/* How the threshold was written, for display: 5s, 5%, 512MiB or a plain number. */
enum alert_unit { ALERT_UNIT_NONE, ALERT_UNIT_SECONDS, ALERT_UNIT_PERCENT, ALERT_UNIT_BYTES };

extern const char *const alert_severity_names[ALERT_SEVERITIES]; /* "info", ... "emergency" */
extern const char *const alert_state_names[ALERT_STATES]; /* "pending", "firing", "resolved" */

struct alert_matcher {
	char name[32];
	char value[64];
	bool negate; /* != instead of = */
};

struct alert_query {
	enum alert_fn fn;
	double q; /* ALERT_FN_QUANTILE: in (0, 1) */
	char name[ALERT_NAME_MAX]; /* family or derived figure without prefix; "*" = any */
	struct alert_matcher m[ALERT_MATCHERS_MAX];
	uint32_t nm;
	int64_t window_ms; /* ALERT_FN_TREND: the window; ALERT_FN_FORECAST: the horizon */
	enum alert_fn inner; /* TREND, FORECAST: what of the figure they follow (VALUE, RATE,
				DERIV or QUANTILE) */
	double inner_q; /* inner QUANTILE: in (0, 1) */
};

struct alert_expr {
	bool absent; /* absent(term): true when the value is absent or zero */
	bool implicit; /* anomaly()/event() with no comparison: >= min score / > 0 */
	struct alert_query q;
	enum alert_cmp cmp;
	double threshold; /* base units: seconds, bytes, a ratio for % */
	enum alert_unit unit;
	double min_confidence; /* `with confidence > c`: least confidence, in [0, 1]; else 0 */
	bool with_confidence; /* the clause was given */
};

/* A compound condition: terms joined by "and" (binds first) and "or". */
#define ALERT_TERMS_MAX 8

struct alert_cond {
	struct alert_expr term[ALERT_TERMS_MAX];
	bool or_next[ALERT_TERMS_MAX]; /* term i is followed by "or" (else "and") */
	uint32_t n;
};

/* What the lookup answers. */
struct alert_value {
	double value;
	double confidence; /* anomaly(): the verdict's confidence in [0,1]; others: 1 */
	double sd; /* forecast(): standard deviation of the forecast error; others: 0 */
	char cause[ALERT_CAUSE_MAX]; /* likely cause, "" when none */
};

/*
 * Reads q for agent into *out. Returns 0, or -ENOENT when there is no such value now (no
 * samples, unknown family); any other negative errno counts as absent and is counted.
 */
typedef int (*alert_lookup_fn)(void *ctx, const struct alert_query *q, const char *agent,
			       struct alert_value *out);

struct alert_kv {
	char name[32];
	char value[ALERT_TEXT_MAX];
};

struct alert_rule {
	char name[ALERT_NAME_MAX]; /* alertname: [A-Za-z_][A-Za-z0-9_]* */
	char expr_text[ALERT_TEXT_MAX];
	struct alert_expr expr; /* filled by alert__init() from expr_text */
	enum alert_severity severity;
	int64_t for_ms;
	int64_t keep_firing_for_ms;
	double min_score; /* implicit anomaly() threshold, default 0.8 */
	double min_confidence; /* anomaly(): least verdict confidence, default 0.5 */
	struct alert_kv labels[ALERT_LABELS_MAX];
	uint32_t nlabels;
	/* summary, description, runbook_url...: {{agent}} {{value}} {{threshold}} {{cause}}
	 * {{rule}} {{severity}} are replaced */
	struct alert_kv annotations[ALERT_ANNOTATIONS_MAX];
	uint32_t nannotations;
	bool disabled;
};

struct alert_route {
	char receiver[ALERT_NAME_MAX];
	enum alert_severity min_severity; /* alerts below it do not take this route */
	struct alert_matcher match[ALERT_MATCHERS_MAX]; /* all must hold on the alert's labels */
	uint32_t nmatch;
	char group_by[ALERT_GROUP_BY_MAX][32]; /* default agent, alertname */
	uint32_t ngroup_by;
	int64_t group_wait_ms; /* default 0: the tick that fires it */
	int64_t group_interval_ms; /* default 30 s */
	int64_t repeat_interval_ms; /* default 4 h */
	bool send_resolved; /* default true */
	bool push; /* Alertmanager API: no grouping, re-sent every resend_ms */
	bool cont; /* also try the next routes */
};

/* While a firing alert of severity source exists, alerts in targets with equal `equal` mute. */
struct alert_inhibit {
	enum alert_severity source;
	uint32_t targets; /* mask of 1 << severity */
	char equal[32]; /* label that must be equal, default "agent" */
};

struct alert_params {
	struct alert_rule rules[ALERT_RULES_MAX];
	uint32_t nrules;
	struct alert_route routes[ALERT_ROUTES_MAX];
	uint32_t nroutes;
	struct alert_inhibit inhibits[ALERT_INHIBITS_MAX];
	uint32_t ninhibits;
	uint32_t max_per_hour; /* notifications per alert in any hour, default 10; 0 = no limit */
	int64_t cooldown_ms; /* after a resolve, default 60 s */
	int64_t resend_ms; /* push routes, default 60 s (Prometheus' --rules.alert.resend-delay) */
	char external_url[ALERT_TEXT_MAX]; /* externalURL and generatorURL base, no slash at the end */
	char host[ALERT_NAME_MAX]; /* when set, label host=<host> on every alert */
};

/* One notification made by alert__eval(), valid until the next call. */
struct alert_out {
	const char *receiver;
	const char *key; /* stable per notification: same content, same key */
	const char *body; /* webhook v4 JSON */
};

/* A view of one alert for the API and the exposition. */
struct alert_info {
	char id[17]; /* fingerprint, hex */
	const char *rule;
	const char *agent;
	enum alert_state state;
	enum alert_severity severity;
	int64_t active_ms; /* condition first true (startsAt) */
	int64_t ends_ms; /* resolve time, 0 while active */
	double value;
	double threshold;
	const char *cause;
	bool acked;
	bool silenced;
	bool inhibited;
	const char *summary; /* rendered summary annotation, "" if none */
};

struct alert_silence {
	uint64_t id; /* given by alert__silence_add() */
	struct alert_matcher m[ALERT_MATCHERS_MAX];
	uint32_t nm;
	int64_t ends_ms; /* expiry, Unix ms */
	char comment[128];
};

struct alert_stats {
	uint64_t alerts[ALERT_STATES][ALERT_SEVERITIES]; /* now */
	uint64_t notifications; /* made since start */
	uint64_t rate_limited; /* alerts left out of a notification by max_per_hour */
	uint64_t lookup_errors; /* lookups that failed with other than -ENOENT */
	uint64_t dropped; /* alerts not tracked: ALERT_ALERTS_MAX reached */
};

struct alert_engine;

/*
 * alert__params_default - the defaults above, the default rule set (alert__rules_default())
 * and one inhibition (EMERGENCY mutes WARNING and INFO on the same agent); no routes.
 */
void alert__params_default(struct alert_params *p);

/*
 * alert__rules_default - the shipped rules into out (cap entries), each documented in the
 * README with its threshold. Returns how many.
 */
uint32_t alert__rules_default(struct alert_rule *out, uint32_t cap);

/*
 * alert__route_default - a grouped route to receiver with the defaults above.
 */
void alert__route_default(struct alert_route *r, const char *receiver);

/*
 * alert__new - an engine for p (copied); parses every enabled rule's expr_text. Returns it,
 * or NULL with errno EINVAL (err: "rule \"x\": 1:7: ..." or what else is wrong) or ENOMEM.
 */
struct alert_engine *alert__new(const struct alert_params *p, char *err, size_t errlen);

void alert__free(struct alert_engine *e);

/* alert__set_external_url - the base of externalURL and generatorURL from now on (copied). */
void alert__set_external_url(struct alert_engine *e, const char *url);

/*
 * Rewrites the likely cause of rule's alert on agent: cause (cap bytes) holds the rule's own
 * (from the lookup, "" when it had none) and may be replaced, NUL-terminated within cap.
 */
typedef void (*alert_cause_fn)(void *ctx, const char *rule, const char *agent, char *cause,
			       size_t cap);

/*
 * alert__set_cause_fn - from the next alert__eval() on, fn (NULL: none) rewrites the cause of
 * each alert whose condition holds or whose cause the lookup gave anew, before its
 * notifications are made (the incident's likely cause, incident.h).
 */
void alert__set_cause_fn(struct alert_engine *e, alert_cause_fn fn, void *ctx);

/*
 * alert__eval - evaluates every enabled rule for each of the n agents (and for agents of
 * alerts already tracked) at now_ms (Unix ms, non-decreasing), moves alerts through their
 * lifecycle and makes the notifications that are due; *out gets them (*nout entries, owned
 * by e, valid until the next call). Returns 0 or -ENOMEM (state stays consistent: what could
 * not be built is made at the next call).
 */
int alert__eval(struct alert_engine *e, int64_t now_ms, const char *const *agents, size_t n,
		alert_lookup_fn lookup, void *ctx, const struct alert_out **out, size_t *nout);

/*
 * alert__save - the state as a JSON text, malloc'd (*len bytes). Returns NULL on ENOMEM.
 */
char *alert__save(struct alert_engine *e, size_t *len);

/*
 * alert__restore - replaces the state with a saved one. Alerts of rules no longer configured
 * are dropped. Returns 0, or -EINVAL when buf is not a saved state (nothing is changed).
 */
int alert__restore(struct alert_engine *e, const char *buf, size_t len);

/* alert__foreach - calls fn for each tracked alert, firing first; stops when fn returns != 0. */
void alert__foreach(struct alert_engine *e, int (*fn)(void *ctx, const struct alert_info *a),
		    void *ctx);

/*
 * alert__ack - acknowledges the alert with fingerprint id: it is not repeated. Returns 0, or
 * -ENOENT when no such alert is tracked.
 */
int alert__ack(struct alert_engine *e, const char *id);

/*
 * alert__silence_add - mutes alerts matching every matcher of s until s->ends_ms. Returns the
 * new id (> 0), -EINVAL without matchers or with an expiry not after now_ms, -ENOSPC when
 * ALERT_SILENCES_MAX silences are active.
 */
int64_t alert__silence_add(struct alert_engine *e, const struct alert_silence *s, int64_t now_ms);

/* alert__silence_expire - ends silence id now. Returns 0 or -ENOENT. */
int alert__silence_expire(struct alert_engine *e, uint64_t id);

/* alert__silences - the active silences into out (cap). Returns how many there are. */
size_t alert__silences(struct alert_engine *e, struct alert_silence *out, size_t cap);

void alert__stats(struct alert_engine *e, struct alert_stats *st);

/*
 * alert__parse_expr - parses a rule condition:
 *   cond    := "absent" "(" term ")" | term [cmp number]
 *   term    := fn "(" selector ")" | selector [pNN]
 *   fn      := "rate" | "deriv" | "anomaly" | "event" | pNN (p50, p95, p99, p999 ...)
 *   selector:= (name | "*") ["{" label ("=" | "!=") "\"value\"" {"," ...} "}"]
 *   cmp     := ">" | ">=" | "<" | "<=" | "==" | "!="
 *   number  := decimal [ns|us|ms|s|m|h|%|B|KiB|MiB|GiB]
 * e.g. `p95(request_duration{upstream="llm-api"}) > 5s`, `error_ratio > 0.05`,
 * `run_queue_delay p99 > 50ms`, `rate(oom_kills) > 0`, `anomaly(*)`. Returns 0, or -EINVAL
 * with err set to "LINE:COLUMN: what is wrong" (1-based).
 */
int alert__parse_expr(const char *text, struct alert_expr *out, char *err, size_t errlen);

/*
 * alert__parse_cond - parses a compound condition for scaling rules:
 *   cond    := expr {("and" | "or") expr}          at most ALERT_TERMS_MAX terms
 *   expr    := as alert__parse_expr(), and also
 *              ("trend" | "forecast") "(" inner "," duration ")" cmp number
 *              inner := selector | ("rate" | "deriv" | pNN) "(" selector ")"
 *              followed by an optional "with" "confidence" (">" | ">=") number in [0, 1]
 * "and" binds before "or". e.g. `error_ratio > 0.10 and trend(error_ratio, 5m) > 0`,
 * `forecast(load, 10m) > 0.8 with confidence > 0.7`. Returns 0, or -EINVAL with err set to
 * "LINE:COLUMN: what is wrong" (1-based, in text).
 */
int alert__parse_cond(const char *text, struct alert_cond *out, char *err, size_t errlen);

/*
 * alert__expr_holds - whether x holds for value v (have: a value was found). An absent value
 * makes only absent() true. The confidence of a comparison is v->confidence, except for
 * forecast() with v->sd > 0, where it is the probability that the comparison holds under a
 * normal forecast error (mean v->value, deviation v->sd); `with confidence` requires more than
 * (or at least, for >=) min_confidence. *conf (may be NULL) gets that confidence.
 */
bool alert__expr_holds(const struct alert_expr *x, const struct alert_value *v, bool have,
		       double *conf);

/*
 * alert__cond_eval - evaluates c for agent through lookup: each term is looked up once and
 * vals[i] (ALERT_TERMS_MAX entries, may be NULL) gets term i's value, have[i] whether it was
 * found. Returns whether c holds; lookup errors other than -ENOENT count as absent and are
 * added to *errors (may be NULL).
 */
bool alert__cond_eval(const struct alert_cond *c, alert_lookup_fn lookup, void *ctx,
		      const char *agent, struct alert_value *vals, bool *have, uint64_t *errors);

/*
 * alert__parse_duration - "90s", "5m", "1h30m", "250ms", "0" into ms, at most 1e15 ms.
 * Returns 0 or -EINVAL.
 */
int alert__parse_duration(const char *s, int64_t *ms);

/* alert__severity_parse - "info" ... "emergency" (any case). Returns it or -EINVAL. */
int alert__severity_parse(const char *s);

/*
 * alert__template_check - -EINVAL (err says which) when text has an unclosed {{ or a variable
 * other than agent, value, threshold, cause, rule, severity; else 0.
 */
int alert__template_check(const char *text, char *err, size_t errlen);

/* alert__fingerprint - FNV-1a 64 of sorted labels as Alertmanager computes it, 16 hex digits. */
void alert__fingerprint(const struct alert_kv *labels, size_t n, char out[17]);

#endif
