// SPDX-License-Identifier: MIT
/*
 * The metric catalogue: one declaration per family, and the accessors that turn a snapshot into
 * its samples. Most families use one of a few generic accessors (a per-agent value, a per-agent
 * histogram of log2 nanosecond slots, a per-agent counter array with a label per index); the
 * rest have an accessor of their own.
 */
#include <bpf/libbpf.h>
#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "alerting.h"
#include "scaling.h"
#include "anomaly.h"
#include "apps.h"
#include "catalog.h"
#include "cost.h"
#include "llm.h"
#include "incident.h"
#include "rates.h"
#include "snapshot.h"
#include "syscalls.h"

#define NS 1e-9

/* Where a family's samples go: the caller's callback, with the family filled in. */
struct out {
	const struct catalog_family *f;
	catalog_fn fn;
	void *ctx;
};

struct entry;
typedef int (*each_fn)(const struct entry *e, const struct snapshot *s, struct out *o);

/* A family and its accessor; the family is first, so a family pointer is its entry's. */
struct entry {
	struct catalog_family f;
	each_fn each;
	bool (*exported)(const struct snapshot *s); /* NULL: always */
	double (*agent_value)(const struct agent_snap *a); /* each_agent */
	size_t off; /* each_agent_hist, each_agent_array: offset in struct sw_agent_stats */
	size_t sum_off; /* each_agent_hist: offset of the sum in ns */
	int lo; /* histograms: log2 slot of le[0] */
	int n; /* each_agent_array: entries; others: which field or unit */
	const char *(*label_of)(int j); /* each_agent_array: label value of entry j */
};

static int put(struct out *o, const char *const *values, double v)
{
	struct catalog_sample x = {.family = o->f, .values = values, .value = v};

	return o->fn(o->ctx, &x);
}

/* A histogram sample from log2 nanosecond slots, folded into the family's buckets. */
static int put_log2(const struct entry *e, struct out *o, const char *const *values,
		    const __u64 *slots, __u64 sum_ns)
{
	__u64 b[SW_LAT_SLOTS + 1];
	struct catalog_sample x = {.family = o->f, .values = values, .buckets = b};

	x.count = rates__fold_log2(slots, SW_LAT_SLOTS, e->lo, e->f.nle, b);
	x.sum = sum_ns * NS;
	return o->fn(o->ctx, &x);
}

/* Bounds 2^i ns in seconds: exact, as a power of two times 1e-9. */
#define L(i) (1e-9 * (double)(1ULL << (i)))
#define L4(i) L(i), L((i) + 1), L((i) + 2), L((i) + 3)

static const double le_syscall[] = {L4(8),  L4(12), L4(16), L4(20), L4(24),
				    L4(28), L(32),  L(33),  L(34)}; /* 256 ns .. ~17 s */
static const double le_runq[] = {L4(10), L4(14), L4(18), L4(22), L4(26), L4(30), L(34)};
static const double le_connect[] = {L4(12), L4(16), L4(20), L4(24), L4(28), L4(32)}; /* ~34 s */
/* ~16 us .. ~137 s: LLM calls can be long. */
static const double le_request[] = {L4(14), L4(18), L4(22), L4(26), L4(30), L4(34)};

#define N(a) (int)(sizeof(a) / sizeof((a)[0]))

static const char *const l_agent[] = {"agent"};
static const char *const l_class[] = {"agent", "class"};
static const char *const l_errno[] = {"agent", "errno"};
static const char *const l_kind[] = {"agent", "kind"};
static const char *const l_outcome[] = {"agent", "outcome"};
static const char *const l_result[] = {"agent", "result"};
static const char *const l_direction[] = {"agent", "direction"};
static const char *const l_requests[] = {"agent", "upstream", "role", "status"};
static const char *const l_request_hist[] = {"agent", "upstream", "role"};
static const char *const l_signal[] = {"agent", "signal"};
static const char *const l_forecast[] = {"agent", "signal", "horizon"};
static const char *const l_collector[] = {"collector"};
static const char *const l_program[] = {"program"};
static const char *const l_map[] = {"map"};
static const char *const l_reason[] = {"reason"};
static const char *const l_op[] = {"op"};
static const char *const l_build[] = {"version", "libbpf", "kernel"};
static const char *const l_alerts[] = {"state", "severity"};
static const char *const l_pool[] = {"pool"};
static const char *const l_agent_instance[] = {"agent", "instance"};
static const char *const l_agent_to[] = {"agent", "to"};
static const char *const l_pool_instance[] = {"pool", "instance"};
static const char *const l_pool_events[] = {"pool", "direction", "rule"};
static const char *const l_result_only[] = {"result"};
static const char *const l_notifications[] = {"channel", "result"};
static const char *const l_state[] = {"state"};
static const char *const l_transport[] = {"transport"};
static const char *const l_source[] = {"source"};
static const char *const l_bound[] = {"agent", "bound"};
static const char *const l_action[] = {"action", "result"};

/* --- per-agent accessors --- */

static int each_agent(const struct entry *e, const struct snapshot *s, struct out *o)
{
	int i, err;

	for (i = 0; i < s->nagents; i++) {
		const char *v[] = {s->agents[i].name};

		err = put(o, v, e->agent_value(&s->agents[i]));
		if (err)
			return err;
	}
	return 0;
}

static int each_agent_hist(const struct entry *e, const struct snapshot *s, struct out *o)
{
	int i, err;

	for (i = 0; i < s->nagents; i++) {
		const char *base = (const char *)&s->agents[i].s;
		const char *v[] = {s->agents[i].name};
		__u64 sum;

		memcpy(&sum, base + e->sum_off, sizeof(sum));
		err = put_log2(e, o, v, (const __u64 *)(base + e->off), sum);
		if (err)
			return err;
	}
	return 0;
}

/* A per-agent counter array, one sample per entry labelled e->label_of(j). */
static int each_agent_array(const struct entry *e, const struct snapshot *s, struct out *o)
{
	int i, j, err;

	for (i = 0; i < s->nagents; i++) {
		const __u64 *c = (const __u64 *)((const char *)&s->agents[i].s + e->off);

		for (j = 0; j < e->n; j++) {
			const char *v[] = {s->agents[i].name, e->label_of(j)};

			err = put(o, v, c[j]);
			if (err)
				return err;
		}
	}
	return 0;
}

/* Two counters of an agent that are not an array: a label value for each. */
static int each_agent_pair(const struct snapshot *s, struct out *o, const char *n0, size_t off0,
			   const char *n1, size_t off1)
{
	int i, err;

	for (i = 0; i < s->nagents; i++) {
		const char *base = (const char *)&s->agents[i].s;
		const char *v0[] = {s->agents[i].name, n0}, *v1[] = {s->agents[i].name, n1};
		__u64 x0, x1;

		memcpy(&x0, base + off0, sizeof(x0));
		memcpy(&x1, base + off1, sizeof(x1));
		err = put(o, v0, x0);
		if (!err)
			err = put(o, v1, x1);
		if (err)
			return err;
	}
	return 0;
}

static int each_ctx_switches(const struct entry *e, const struct snapshot *s, struct out *o)
{
	(void)e;
	return each_agent_pair(s, o, "voluntary", offsetof(struct sw_agent_stats, ctx_voluntary),
			       "involuntary", offsetof(struct sw_agent_stats, ctx_involuntary));
}

static int each_tcp_resets(const struct entry *e, const struct snapshot *s, struct out *o)
{
	(void)e;
	return each_agent_pair(s, o, "sent", offsetof(struct sw_agent_stats, tcp_resets_sent),
			       "received", offsetof(struct sw_agent_stats, tcp_resets_received));
}

/* Shown errnos by name; the others, and errno 0's slot (larger values), as "other". */
static int each_errno(const struct entry *e, const struct snapshot *s, struct out *o)
{
	int i, j, err;

	(void)e;
	for (i = 0; i < s->nagents; i++) {
		const struct agent_snap *a = &s->agents[i];
		__u64 other = a->s.syscall_errors[0];
		bool any = other != 0;

		for (j = 1; j < SW_ERRNO_SLOTS; j++) {
			const char *v[] = {a->name, syscalls__errno_name(j)};

			if (!a->errno_shown[j]) {
				other += a->s.syscall_errors[j];
				any |= a->s.syscall_errors[j] != 0;
				continue;
			}
			err = put(o, v, a->s.syscall_errors[j]);
			if (err)
				return err;
		}
		if (any) {
			const char *v[] = {a->name, "other"};

			err = put(o, v, other);
			if (err)
				return err;
		}
	}
	return 0;
}

static double v_instances(const struct agent_snap *a)
{
	return a->instances;
}

static double v_cpu(const struct agent_snap *a)
{
	return a->s.cpu_ns * NS;
}

static double v_faults(const struct agent_snap *a)
{
	return a->s.page_faults;
}

static double v_starts(const struct agent_snap *a)
{
	return a->s.process_starts + a->user_starts;
}

static double v_ooms(const struct agent_snap *a)
{
	return a->s.oom_kills;
}

static double v_tcp_active(const struct agent_snap *a)
{
	/* Per-CPU counts of opens and closes; the difference is exact once summed. */
	return a->s.tcp_opened >= a->s.tcp_closed ? a->s.tcp_opened - a->s.tcp_closed : 0;
}

static double v_retransmits(const struct agent_snap *a)
{
	return a->s.tcp_retransmits;
}

static double v_sent(const struct agent_snap *a)
{
	return a->s.net_sent_bytes;
}

static double v_received(const struct agent_snap *a)
{
	return a->s.net_received_bytes;
}

static double v_rss(const struct agent_snap *a)
{
	return a->rss_bytes;
}

static bool rss_up(const struct snapshot *s)
{
	return s->rss_up;
}

/* --- requests --- */

static int each_requests(const struct entry *e, const struct snapshot *s, struct out *o)
{
	int i, err;

	(void)e;
	for (i = 0; i < s->nrequests; i++) {
		const struct request_series *r = &s->requests[i];
		const char *v[] = {s->agents[r->agent].name, r->upstream, sw_role_name(r->role),
				   sw_status_name(r->status)};

		err = put(o, v, r->count);
		if (err)
			return err;
	}
	return 0;
}

/* One histogram per agent, upstream and role: the statuses' series summed (they are sorted). */
static int each_request_hist(const struct entry *e, const struct snapshot *s, struct out *o)
{
	__u64 lat[SW_LAT_SLOTS], sum;
	int i, j, k, err;

	for (i = 0; i < s->nrequests; i = j) {
		const struct request_series *r = &s->requests[i];
		const char *v[] = {s->agents[r->agent].name, r->upstream, sw_role_name(r->role)};

		memset(lat, 0, sizeof(lat));
		sum = 0;
		for (j = i; j < s->nrequests && s->requests[j].agent == r->agent &&
			    s->requests[j].role == r->role &&
			    !strcmp(s->requests[j].upstream, r->upstream);
		     j++) {
			for (k = 0; k < SW_LAT_SLOTS; k++)
				lat[k] += s->requests[j].lat[k];
			sum += s->requests[j].lat_sum_ns;
		}
		err = put_log2(e, o, v, lat, sum);
		if (err)
			return err;
	}
	return 0;
}

/* --- anomalies --- */

static bool scored(const struct snapshot *s)
{
	return s->anomalies != NULL;
}

/* A per-agent, per-signal array of struct anomaly_agent at e->off, for the scored signals. */
static int each_signal(const struct entry *e, const struct snapshot *s, struct out *o)
{
	const struct anomaly_view *av = s->anomalies;
	int i, j, err;

	for (i = 0; i < av->nagents; i++) {
		const struct anomaly_agent *a = &av->agents[i];
		const double *vals = (const double *)((const char *)a + e->off);

		for (j = 0; j < ANOMALY_NSIGNALS; j++) {
			const char *v[] = {a->name, anomaly__signal_name(j)};

			if (!(a->scored & (1u << j)))
				continue;
			err = put(o, v, vals[j]);
			if (err)
				return err;
		}
	}
	return 0;
}

enum episode_field { EPISODE_ONGOING, EPISODE_COUNT };

/* Per agent: whether an episode is ongoing (EPISODE_ONGOING), or how many there were. */
static int each_anomalous(const struct entry *e, const struct snapshot *s, struct out *o)
{
	const struct anomaly_view *av = s->anomalies;
	int i, err;

	for (i = 0; i < av->nagents; i++) {
		const char *v[] = {av->agents[i].name};

		err = put(o, v,
			  e->n == EPISODE_COUNT ? (double)av->agents[i].episodes
						: av->agents[i].anomalous);
		if (err)
			return err;
	}
	return 0;
}

/* Forecasts of the signals measured in unit e->n, one sample per horizon. */
static int each_forecast(const struct entry *e, const struct snapshot *s, struct out *o)
{
	const struct anomaly_view *av = s->anomalies;
	int i, j, k, err;

	for (i = 0; i < av->nagents; i++) {
		const struct anomaly_agent *a = &av->agents[i];

		for (j = 0; j < ANOMALY_NSIGNALS; j++) {
			if (!(a->forecast & (1u << j)) || anomaly__signal_unit(j) != e->n)
				continue;
			for (k = 0; k < ANOMALY_NHORIZONS; k++) {
				const char *v[] = {a->name, anomaly__signal_name(j),
						   anomaly__horizon_name(k)};

				err = put(o, v, a->predicted[j][k]);
				if (err)
					return err;
			}
		}
	}
	return 0;
}

static int each_threshold(const struct entry *e, const struct snapshot *s, struct out *o)
{
	(void)e;
	return put(o, NULL, s->anomalies->threshold);
}

/* --- alerts and notifications --- */

static bool alerting_on(const struct snapshot *s)
{
	return s->alerts != NULL;
}

static bool outbox_on(const struct snapshot *s)
{
	return s->alerts && s->alerts->outbox;
}

enum alert_field { AF_ALERTS, AF_NOTIFICATIONS, AF_QUEUE, AF_OLDEST, AF_LIMITED, AF_FAILED };

static int each_alert_field(const struct entry *e, const struct snapshot *s, struct out *o)
{
	const struct alert_view *v = s->alerts;
	const struct alert_view_count *c = e->n == AF_ALERTS ? v->alerts : v->notifications;
	int i, n = e->n == AF_ALERTS ? N(v->alerts) : N(v->notifications), err;

	switch (e->n) {
	case AF_QUEUE:
		return put(o, NULL, v->queue_length);
	case AF_OLDEST:
		return put(o, NULL, v->oldest_age);
	case AF_LIMITED:
		return put(o, NULL, v->rate_limited);
	case AF_FAILED:
		return put(o, NULL, v->enqueue_failures);
	}
	for (i = 0; i < n; i++) {
		const char *lv[] = {c[i].a, c[i].b};

		if (e->n == AF_ALERTS && !strcmp(c[i].a, "resolved"))
			continue; /* kept only until told: not a state to count */
		err = put(o, lv, c[i].n);
		if (err)
			return err;
	}
	return 0;
}

/* --- pools and scaling --- */

static bool scaling_on(const struct snapshot *s)
{
	return s->scale != NULL;
}

enum pool_field { PF_CURRENT, PF_DESIRED, PF_MIN, PF_MAX, PF_EVENTS, PF_WEBHOOKS, PF_QUEUE };

static bool scaling_outbox_on(const struct snapshot *s)
{
	return s->scale && s->scale->outbox;
}

static int each_pool_field(const struct entry *e, const struct snapshot *s, struct out *o)
{
	const struct scale_view *v = s->scale;
	int i, err = 0;

	if (e->n == PF_QUEUE)
		return put(o, NULL, v->queue_length);
	if (e->n == PF_WEBHOOKS) {
		for (i = 0; i < 3 && !err; i++) {
			const char *lv[] = {v->webhook_result[i]};

			err = put(o, lv, v->webhooks[i]);
		}
		return err;
	}
	if (e->n == PF_EVENTS) {
		for (i = 0; i < v->ncounts && !err; i++) {
			const char *lv[] = {v->counts[i].pool, v->counts[i].direction,
					    v->counts[i].rule};

			err = put(o, lv, v->counts[i].n);
		}
		return err;
	}
	for (i = 0; i < v->npools && !err; i++) {
		const struct scale_view_pool *p = &v->pools[i];
		const char *lv[] = {p->pool};
		double x = e->n == PF_CURRENT	? p->current
			   : e->n == PF_DESIRED ? p->desired
			   : e->n == PF_MIN	? p->min_replicas
						: p->max_replicas;

		if (!p->seen && (e->n == PF_CURRENT || e->n == PF_DESIRED))
			continue;
		err = put(o, lv, x);
	}
	return err;
}

/* --- circuit breakers and routing weights --- */

static bool breakers_on(const struct snapshot *s)
{
	return s->breakers != NULL;
}

enum breaker_field { BF_STATE, BF_TRANSITIONS, BF_WEIGHT, BF_OPEN };

static int each_breaker_field(const struct entry *e, const struct snapshot *s, struct out *o)
{
	const struct breaker_view *v = s->breakers;
	int i, err = 0;

	if (e->n == BF_TRANSITIONS) {
		for (i = 0; i < v->ntransitions && !err; i++) {
			const char *lv[] = {v->transitions[i].pool, v->transitions[i].to};

			err = put(o, lv, v->transitions[i].n);
		}
		return err;
	}
	if (e->n == BF_OPEN) {
		for (i = 0; i < v->npools && !err; i++) {
			const char *lv[] = {v->pools[i].pool};

			if (v->pools[i].seen)
				err = put(o, lv, v->pools[i].open_breakers);
		}
		return err;
	}
	for (i = 0; i < v->ninstances && !err; i++) {
		const struct scale_view_instance *x = &v->instances[i];
		const char *lv[] = {x->pool, x->instance};

		err = put(o, lv, e->n == BF_STATE ? (double)x->state : x->weight);
	}
	return err;
}

/* --- cost and budgets --- */

static bool cost_on(const struct snapshot *s)
{
	return s->cost != NULL;
}

enum cost_field {
	CF_TOTAL,
	CF_TODAY,
	CF_BUDGET,
	CF_USAGE,
	CF_FORECAST,
	CF_PER_SUCCESS,
	CF_RATE,
	CF_ACTIONS,
};

static int each_cost(const struct entry *e, const struct snapshot *s, struct out *o)
{
	static const char *const bounds[] = {"point", "lower", "upper"};
	static const char *const actions[] = {"command", "webhook"};
	static const char *const results[] = {"ok", "failed", "timeout"};
	const struct cost_view *v = s->cost;
	int i, k, err = 0;

	if (e->n == CF_ACTIONS) {
		for (i = 0; i < 2; i++)
			for (k = 0; k < (i ? 2 : 3) && !err; k++) { /* a webhook has no timeout */
				const char *lv[] = {actions[i], results[k]};

				err = put(o, lv, (double)v->actions[i][k]);
			}
		return err;
	}
	for (i = 0; i < v->n && !err; i++) {
		const struct cost_agent_view *a = &v->agents[i];
		const char *lv[] = {a->agent, NULL};

		switch (e->n) {
		case CF_TOTAL:
			for (k = 0; k < COST_KINDS && !err; k++) {
				lv[1] = cost_kind_names[k];
				err = put(o, lv, a->total[k]);
			}
			break;
		case CF_TODAY:
			err = put(o, lv, a->spent);
			break;
		case CF_BUDGET:
			err = put(o, lv, a->budget);
			break;
		case CF_USAGE:
			err = put(o, lv, a->usage);
			break;
		case CF_FORECAST:
			for (k = 0; k < 3 && !err; k++) {
				lv[1] = bounds[k];
				err = put(o, lv,
					  k == 0   ? a->forecast
					  : k == 1 ? a->lower
						   : a->upper);
			}
			break;
		case CF_PER_SUCCESS:
			if (a->successes)
				err = put(o, lv, a->per_success);
			break;
		case CF_RATE:
			err = put(o, lv, a->rate_usd_per_hour / 3600);
			break;
		}
	}
	return err;
}

#define COST(nm, ty, hl, lab, field)                               \
	{                                                          \
		.f = {.name = nm,                                  \
		      .help = hl,                                  \
		      .unit = "",                                  \
		      .type = ty,                                  \
		      .labels = lab,                               \
		      .nlabels = N(lab)},                          \
		.each = each_cost, .exported = cost_on, .n = field \
	}

static bool incidents_on(const struct snapshot *s)
{
	return s->incidents != NULL;
}

static int each_incident_state(const struct entry *e, const struct snapshot *s, struct out *o)
{
	int i, err;

	(void)e;
	for (i = 0; i < INCIDENT_STATES; i++) {
		const char *lv[] = {incident_state_names[i]};

		err = put(o, lv, s->incidents->count[i]);
		if (err)
			return err;
	}
	return 0;
}

/* --- app metrics (StatsD) --- */

static bool apps_on(const struct snapshot *s)
{
	return s->apps != NULL;
}

/* The first sample of app family index fam in view v (sorted by family), or v->n. */
static int app_first(const struct app_view *v, int fam)
{
	int lo = 0, hi = v->n;

	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;

		if (v->samples[mid].family < fam)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int each_app(const struct entry *e, const struct snapshot *s, struct out *o)
{
	const struct app_view *v = s->apps;
	int i, err;

	for (i = app_first(v, e->n); i < v->n && v->samples[i].family == e->n; i++) {
		const struct app_sample *x = &v->samples[i];
		struct catalog_sample c = {.family = o->f, .values = x->values, .value = x->value};

		if (e->f.type == CATALOG_HISTOGRAM) {
			c.buckets = x->buckets;
			c.sum = x->sum;
			c.count = x->count;
		}
		err = o->fn(o->ctx, &c);
		if (err)
			return err;
	}
	return 0;
}

static bool app_has_samples(const struct entry *e, const struct snapshot *s)
{
	int i;

	if (!s->apps)
		return false;
	i = app_first(s->apps, e->n);
	return i < s->apps->n && s->apps->samples[i].family == e->n;
}

enum statsd_field { SD_DATAGRAMS, SD_MALFORMED, SD_UNATTRIBUTED, SD_DROPPED, SD_ATTRIBUTION };

static int each_statsd(const struct entry *e, const struct snapshot *s, struct out *o)
{
	const struct app_view *v = s->apps;
	int i, err;

	switch (e->n) {
	case SD_DATAGRAMS:
		for (i = 0; i < 2; i++) {
			const char *lv[] = {i ? "unix" : "udp"};

			err = put(o, lv, v->datagrams[i]);
			if (err)
				return err;
		}
		return 0;
	case SD_MALFORMED:
		return put(o, NULL, v->malformed);
	case SD_UNATTRIBUTED:
		return put(o, NULL, v->unattributed);
	case SD_ATTRIBUTION:
		for (i = 0; i < APPS_BY_MAX; i++) {
			const char *lv[] = {apps__by_name(i)};

			err = put(o, lv, v->by[i]);
			if (err)
				return err;
		}
		return 0;
	}
	for (i = 0; i < APPS_DROP_MAX; i++) {
		const char *lv[] = {apps__drop_name(i)};

		err = put(o, lv, v->dropped[i]);
		if (err)
			return err;
	}
	return 0;
}

/* --- LLM calls (llm.h): OpenTelemetry GenAI names --- */

/* OpenTelemetry GenAI semantic conventions' advised buckets: 0.01 s doubling, 1 token times 4. */
static const double le_genai_seconds[LLM_DURATION_BUCKETS] = {
	0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92};
static const double le_genai_tokens[LLM_TOKEN_BUCKETS] = {
	1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864};

_Static_assert(LLM_DURATION_BUCKETS == LLM_TOKEN_BUCKETS, "LLM_FAMILY gives both one bound count");

static const char *const l_genai[] = {"agent", "gen_ai_provider_name", "gen_ai_request_model",
				      "gen_ai_operation_name"};
static const char *const l_genai_tokens[] = {"agent", "gen_ai_provider_name",
					     "gen_ai_request_model", "gen_ai_operation_name",
					     "gen_ai_token_type"};
static const char *const l_genai_status[] = {
	"agent", "gen_ai_provider_name", "gen_ai_request_model", "gen_ai_operation_name", "status"};
static const char *const l_genai_cost[] = {"agent", "gen_ai_provider_name", "gen_ai_request_model",
					   "gen_ai_token_type"};
static const char *const l_genai_room[] = {"agent", "gen_ai_provider_name", "server_address",
					   "kind"};
static const char *const l_genai_retry[] = {"agent", "gen_ai_provider_name", "server_address"};

static bool llm_on(const struct snapshot *s)
{
	return s->llm != NULL;
}

enum llm_field {
	LF_DURATION,
	LF_TTFT,
	LF_CHUNK,
	LF_TOKENS,
	LF_REQUESTS,
	LF_MISSING,
	LF_COST,
	LF_REMAINING,
	LF_RETRY,
	LF_TRUNCATED,
	LF_SPEND,
	LF_EVENTS,
	LF_INFLIGHT,
};

static int put_hist(struct out *o, const char *const *values, const __u64 *b, int nb, double sum)
{
	struct catalog_sample x = {.family = o->f, .values = values, .buckets = b, .sum = sum};
	int i;

	for (i = 0; i < nb; i++)
		x.count += b[i];
	if (!x.count)
		return 0; /* nothing observed: no series yet */
	return o->fn(o->ctx, &x);
}

static int each_llm_series(const struct entry *e, const struct snapshot *s, struct out *o)
{
	const struct llm_view *v = s->llm;
	int i, t, err = 0;

	for (i = 0; i < v->nseries && !err; i++) {
		const struct llm_series *x = &v->series[i];
		const char *lv[5] = {s->agents[x->agent].name, x->provider, x->model, x->operation};

		switch (e->n) {
		case LF_DURATION:
			err = put_hist(o, lv, x->dur, LLM_DURATION_BUCKETS + 1, x->dur_sum);
			break;
		case LF_TTFT:
			err = put_hist(o, lv, x->ttft, LLM_DURATION_BUCKETS + 1, x->ttft_sum);
			break;
		case LF_CHUNK:
			err = put_hist(o, lv, x->chunk, LLM_CHUNK_BUCKETS + 1, x->chunk_sum);
			break;
		case LF_TOKENS:
			for (t = 0; t < LLM_TOKEN_MAX && !err; t++) {
				lv[4] = llm_token_name(t);
				err = put_hist(o, lv, x->tok[t], LLM_TOKEN_BUCKETS + 1,
					       x->tok_sum[t]);
			}
			break;
		case LF_REQUESTS:
			for (t = 0; t < LLM_ST_MAX && !err; t++) {
				lv[4] = llm_status_name(t);
				if (x->requests[t])
					err = put(o, lv, x->requests[t]);
			}
			break;
		case LF_MISSING:
			err = put(o, lv, x->usage_missing);
			break;
		case LF_COST:
			lv[3] = NULL;
			for (t = 0; t < LLM_TOKEN_MAX && !err; t++) {
				const char *cv[] = {lv[0], lv[1], lv[2], llm_token_name(t)};

				if (x->cost[t] > 0)
					err = put(o, cv, x->cost[t]);
			}
			break;
		}
	}
	return err;
}

static int each_llm_room(const struct entry *e, const struct snapshot *s, struct out *o)
{
	static const char *const kinds[] = {"requests", "tokens"};
	const struct llm_view *v = s->llm;
	int i, k, err = 0;

	for (i = 0; i < v->nroom && !err; i++) {
		const struct llm_headroom *h = &v->room[i];

		if (e->n == LF_RETRY) {
			const char *lv[] = {s->agents[h->agent].name, h->provider, h->server};

			if (h->have & (1u << LLM_RATE_RETRY_AFTER))
				err = put(o, lv, h->rate[LLM_RATE_RETRY_AFTER]);
			continue;
		}
		for (k = 0; k < 2 && !err; k++) {
			const char *lv[] = {s->agents[h->agent].name, h->provider, h->server,
					    kinds[k]};

			if (h->have & (1u << k))
				err = put(o, lv, h->rate[k]);
		}
	}
	return err;
}

static int each_llm_self(const struct entry *e, const struct snapshot *s, struct out *o)
{
	const struct llm_view *v = s->llm;
	int i, err;

	if (e->n == LF_SPEND) {
		for (i = 0; i < s->nagents; i++) {
			const char *lv[] = {s->agents[i].name};

			if (v->spend_today[i] >= 0 && (err = put(o, lv, v->spend_today[i])))
				return err;
		}
		return 0;
	}
	if (e->n == LF_EVENTS)
		return put(o, NULL, v->events);
	if (e->n == LF_INFLIGHT)
		return put(o, NULL, v->inflight);
	for (i = 0; i < LLM_TR_MAX; i++) {
		const char *lv[] = {llm_trunc_name(i)};

		err = put(o, lv, v->truncated[i]);
		if (err)
			return err;
	}
	return 0;
}

#define LLM_FAMILY(nm, ty, un, hl, lab, fn, arg, buckets)                           \
	{                                                                           \
		.f = {.name = nm,                                                   \
		      .help = hl,                                                   \
		      .unit = un,                                                   \
		      .type = ty,                                                   \
		      .labels = lab,                                                \
		      .nlabels = N(lab),                                            \
		      .le = buckets,                                                \
		      .nle = (ty) == CATALOG_HISTOGRAM ? LLM_DURATION_BUCKETS : 0}, \
		.each = fn, .exported = llm_on, .n = arg                            \
	}

/* --- swarmwatch itself --- */

static bool tls_configured(const struct snapshot *s)
{
	return s->tls_configured;
}

static int each_collector_up(const struct entry *e, const struct snapshot *s, struct out *o)
{
	int i, err;

	(void)e;
	for (i = 0; i < COLLECTOR_MAX; i++) {
		const char *v[] = {sw_collector_name(i)};

		err = put(o, v, s->up[i]);
		if (err)
			return err;
	}
	if (s->tls_configured) {
		const char *v[] = {"tls"};

		return put(o, v, s->tls_up);
	}
	return 0;
}

/* swarmwatch_sampling_ratio: every collector that runs; the hot ones may be below 1. */
static int each_sampling_ratio(const struct entry *e, const struct snapshot *s, struct out *o)
{
	int i, err;

	(void)e;
	for (i = 0; i < COLLECTOR_MAX; i++) {
		const char *v[] = {sw_collector_name(i)};

		if (!s->up[i])
			continue;
		err = put(o, v, s->sampling_ratio[i]);
		if (err)
			return err;
	}
	return 0;
}

enum overhead_field { OVH_SHARE, OVH_BUDGET, OVH_LATENCY_RATIO, OVH_HOST_SYSCALLS, OVH_SECONDS };

static int each_overhead(const struct entry *e, const struct snapshot *s, struct out *o)
{
	return put(o, NULL,
		   e->n == OVH_SHARE	       ? s->overhead_ratio
		   : e->n == OVH_BUDGET	       ? s->overhead_budget
		   : e->n == OVH_LATENCY_RATIO ? s->latency_sampling_ratio
		   : e->n == OVH_SECONDS       ? s->overhead_seconds
					       : (double)s->host_syscalls);
}

static int each_tls_processes(const struct entry *e, const struct snapshot *s, struct out *o)
{
	(void)e;
	return put(o, NULL, s->tls_processes);
}

static int each_tls_failures(const struct entry *e, const struct snapshot *s, struct out *o)
{
	(void)e;
	return put(o, NULL, s->tls_attach_failures);
}

enum prog_field { PROG_RUNS, PROG_RUN_SECONDS };

static int each_prog(const struct entry *e, const struct snapshot *s, struct out *o)
{
	int i, err;

	for (i = 0; i < s->nprogs; i++) {
		const char *v[] = {s->progs[i].name};

		err = put(o, v,
			  e->n == PROG_RUN_SECONDS ? s->progs[i].run_ns * NS
						   : (double)s->progs[i].runs);
		if (err)
			return err;
	}
	return 0;
}

enum map_field { MAP_ENTRIES, MAP_MAX_ENTRIES, MAP_MEMORY };

static int each_map(const struct entry *e, const struct snapshot *s, struct out *o)
{
	int i, err;

	for (i = 0; i < s->nmaps; i++) {
		const struct map_stat *m = &s->maps[i];
		const char *v[] = {m->name};

		if (e->n == MAP_ENTRIES && m->entries < 0)
			continue; /* not countable */
		err = put(o, v,
			  e->n == MAP_ENTRIES	    ? (double)m->entries
			  : e->n == MAP_MAX_ENTRIES ? (double)m->max_entries
						    : (double)m->memory_bytes);
		if (err)
			return err;
	}
	return 0;
}

static int each_dropped(const struct entry *e, const struct snapshot *s, struct out *o)
{
	int i, err;

	(void)e;
	for (i = 0; i < SW_CNT_MAX; i++) {
		const char *v[] = {sw_drop_reason(i)};

		if (!v[0])
			continue;
		err = put(o, v, s->counters[i]);
		if (err)
			return err;
	}
	return 0;
}

/* A counter of the kernel's `counters` array, e->n its index. */
static int each_counter(const struct entry *e, const struct snapshot *s, struct out *o)
{
	return put(o, NULL, s->counters[e->n]);
}

static bool store_on(const struct snapshot *s)
{
	return s->store_on;
}

enum store_field { STORE_F_SERIES, STORE_F_SAMPLES, STORE_F_MEMORY, STORE_F_DISK, STORE_F_UP };

static int each_store(const struct entry *e, const struct snapshot *s, struct out *o)
{
	const struct store_stats *st = &s->store;

	switch (e->n) {
	case STORE_F_SERIES:
		return put(o, NULL, st->series);
	case STORE_F_SAMPLES:
		return put(o, NULL, st->samples);
	case STORE_F_MEMORY:
		return put(o, NULL, st->mem_bytes);
	case STORE_F_DISK:
		return put(o, NULL, st->db_bytes);
	default:
		return put(o, NULL, st->db_ok);
	}
}

static int each_store_errors(const struct entry *e, const struct snapshot *s, struct out *o)
{
	int i, err;

	(void)e;
	for (i = 0; i < STORE_OPS; i++) {
		const char *v[] = {store_op_names[i]};

		err = put(o, v, s->store.errors[i]);
		if (err)
			return err;
	}
	return 0;
}

static int each_store_dropped(const struct entry *e, const struct snapshot *s, struct out *o)
{
	int i, err;

	(void)e;
	for (i = 0; i < STORE_DROPS; i++) {
		const char *v[] = {store_drop_names[i]};

		err = put(o, v, s->store.dropped[i]);
		if (err)
			return err;
	}
	return 0;
}

enum tick_field { TICK_COUNT, TICK_DURATION, TICK_TIME };

static int each_tick(const struct entry *e, const struct snapshot *s, struct out *o)
{
	return put(o, NULL,
		   e->n == TICK_COUNT	   ? (double)s->ticks
		   : e->n == TICK_DURATION ? s->tick_seconds
					   : s->time);
}

static int each_reclaimed(const struct entry *e, const struct snapshot *s, struct out *o)
{
	(void)e;
	return put(o, NULL, (double)s->slots_reclaimed);
}

static int each_build_info(const struct entry *e, const struct snapshot *s, struct out *o)
{
	char libbpf[32];
	struct utsname u;

	(void)e;
	(void)s;
	if (uname(&u))
		snprintf(u.release, sizeof(u.release), "unknown");
	snprintf(libbpf, sizeof(libbpf), "%u.%u", libbpf_major_version(), libbpf_minor_version());
	{
		const char *v[] = {SW_VERSION, libbpf, u.release};

		return put(o, v, 1);
	}
}

/* What /proc says of this process. */
struct self {
	unsigned long long utime, stime, start, vsize, btime;
	long rss;
	long tck, page;
};

static void read_self(struct self *p)
{
	char stat[1024], line[256], *c;
	FILE *f;
	size_t n = 0;

	memset(p, 0, sizeof(*p));
	p->tck = sysconf(_SC_CLK_TCK);
	p->page = sysconf(_SC_PAGESIZE);
	f = fopen("/proc/self/stat", "re");
	if (f) {
		n = fread(stat, 1, sizeof(stat) - 1, f);
		fclose(f);
	}
	stat[n] = 0;
	c = strrchr(stat, ')');
	if (c)
		sscanf(c + 2,
		       "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %*d "
		       "%*d %llu %llu %ld",
		       &p->utime, &p->stime, &p->start, &p->vsize, &p->rss);
	f = fopen("/proc/stat", "re");
	if (f) {
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "btime %llu", &p->btime) == 1)
				break;
		fclose(f);
	}
}

static int count_fds(void)
{
	struct dirent *de;
	int n = 0;
	DIR *d;

	d = opendir("/proc/self/fd");
	if (!d)
		return -1;
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n - 1; /* the directory's own fd */
}

enum process_field { PROC_CPU, PROC_RSS, PROC_VSIZE, PROC_START, PROC_FDS, PROC_MAX_FDS };

static bool has_max_fds(const struct snapshot *s)
{
	struct rlimit rl;

	(void)s;
	return !getrlimit(RLIMIT_NOFILE, &rl);
}

static int each_process(const struct entry *e, const struct snapshot *s, struct out *o)
{
	struct rlimit rl;
	struct self p;

	(void)s;
	switch (e->n) {
	case PROC_FDS:
		return put(o, NULL, count_fds());
	case PROC_MAX_FDS:
		return getrlimit(RLIMIT_NOFILE, &rl) ? 0 : put(o, NULL, rl.rlim_cur);
	}
	read_self(&p);
	switch (e->n) {
	case PROC_CPU:
		return put(o, NULL, (double)(p.utime + p.stime) / p.tck);
	case PROC_RSS:
		return put(o, NULL, (double)p.rss * p.page);
	case PROC_VSIZE:
		return put(o, NULL, p.vsize);
	default:
		return put(o, NULL, p.btime + (double)p.start / p.tck);
	}
}

/* --- the catalogue --- */

#define AGENT(nm, ty, un, hl, fn)                     \
	{                                             \
		.f = {.name = nm,                     \
		      .help = hl,                     \
		      .unit = un,                     \
		      .type = ty,                     \
		      .labels = l_agent,              \
		      .nlabels = 1},                  \
		.each = each_agent, .agent_value = fn \
	}
#define AGENT_HIST(nm, hl, field, bounds, low)                                          \
	{                                                                               \
		.f = {.name = nm,                                                       \
		      .help = hl,                                                       \
		      .unit = "seconds",                                                \
		      .type = CATALOG_HISTOGRAM,                                        \
		      .labels = l_agent,                                                \
		      .nlabels = 1,                                                     \
		      .le = bounds,                                                     \
		      .nle = N(bounds)},                                                \
		.each = each_agent_hist, .off = offsetof(struct sw_agent_stats, field), \
		.sum_off = offsetof(struct sw_agent_stats, field##_sum_ns), .lo = low   \
	}
#define FAMILY(nm, ty, un, hl, lab, fn, arg) \
	{                                    \
		.f = {.name = nm,            \
		      .help = hl,            \
		      .unit = un,            \
		      .type = ty,            \
		      .labels = lab,         \
		      .nlabels = N(lab)},    \
		.each = fn, .n = arg         \
	}
#define SCALAR(nm, ty, un, hl, fn, arg)                                                     \
	{                                                                                   \
		.f = {.name = nm, .help = hl, .unit = un, .type = ty}, .each = fn, .n = arg \
	}

static const struct entry entries[] = {
	AGENT("swarmwatch_agent_instances", CATALOG_GAUGE, "",
	      "Live instances of the agent (process trees whose root a rule matched).",
	      v_instances),
	AGENT("swarmwatch_agent_cpu_seconds_total", CATALOG_COUNTER, "seconds",
	      "CPU time the agent's tasks spent running.", v_cpu),
	AGENT("swarmwatch_agent_page_faults_total", CATALOG_COUNTER, "",
	      "User page faults of the agent's tasks.", v_faults),
	AGENT("swarmwatch_agent_process_starts_total", CATALOG_COUNTER, "",
	      "Processes started in the agent (forks of its processes and classified execs).",
	      v_starts),
	AGENT("swarmwatch_agent_oom_kills_total", CATALOG_COUNTER, "",
	      "Processes of the agent chosen as victim by the OOM killer.", v_ooms),
	AGENT("swarmwatch_agent_tcp_active_connections", CATALOG_GAUGE, "",
	      "Established TCP connections the agent opened or used.", v_tcp_active),
	AGENT("swarmwatch_agent_tcp_retransmits_total", CATALOG_COUNTER, "",
	      "TCP segments retransmitted on the agent's connections.", v_retransmits),
	AGENT("swarmwatch_agent_network_sent_bytes_total", CATALOG_COUNTER, "bytes",
	      "Bytes the agent's tasks sent on TCP sockets.", v_sent),
	AGENT("swarmwatch_agent_network_received_bytes_total", CATALOG_COUNTER, "bytes",
	      "Bytes the agent's tasks received on TCP sockets.", v_received),
	{
		.f = {.name = "swarmwatch_agent_resident_memory_bytes",
		      .help = "Resident memory of the agent's processes (file, anonymous and shared "
			      "memory pages), sampled each collector tick.",
		      .unit = "bytes",
		      .type = CATALOG_GAUGE,
		      .labels = l_agent,
		      .nlabels = 1},
		.each = each_agent,
		.agent_value = v_rss,
		.exported = rss_up,
	},
	{
		.f = {.name = "swarmwatch_agent_syscalls_total",
		      .help = "Completed syscalls of the agent's tasks by class.",
		      .unit = "",
		      .type = CATALOG_COUNTER,
		      .labels = l_class,
		      .nlabels = 2},
		.each = each_agent_array,
		.off = offsetof(struct sw_agent_stats, syscalls),
		.n = SW_CLASS_MAX,
		.label_of = syscalls__class_name,
	},
	FAMILY("swarmwatch_agent_syscall_errors_total", CATALOG_COUNTER, "",
	       "Failed syscalls of the agent by errno (the most frequent ones; the rest as other).",
	       l_errno, each_errno, 0),
	AGENT_HIST("swarmwatch_agent_syscall_duration_seconds",
		   "Time from syscall entry to exit for the agent's tasks.", syscall_lat,
		   le_syscall, 8),
	AGENT_HIST("swarmwatch_agent_run_queue_delay_seconds",
		   "Time the agent's tasks waited runnable before getting a CPU.", runq_lat,
		   le_runq, 10),
	FAMILY("swarmwatch_agent_context_switches_total", CATALOG_COUNTER, "",
	       "Context switches of the agent's tasks: voluntary (blocked) or involuntary "
	       "(preempted).",
	       l_kind, each_ctx_switches, 0),
	{
		.f = {.name = "swarmwatch_agent_process_exits_total",
		      .help = "Processes of the agent that ended: ok (exit 0), error (non-zero exit), "
			      "signal.",
		      .unit = "",
		      .type = CATALOG_COUNTER,
		      .labels = l_outcome,
		      .nlabels = 2},
		.each = each_agent_array,
		.off = offsetof(struct sw_agent_stats, process_exits),
		.n = SW_EXIT_MAX,
		.label_of = sw_exit_outcome_name,
	},
	{
		.f = {.name = "swarmwatch_agent_tcp_connects_total",
		      .help = "TCP connects the agent made, by result (refused: reset by the peer; "
			      "timeout: no answer; error: any other failure).",
		      .unit = "",
		      .type = CATALOG_COUNTER,
		      .labels = l_result,
		      .nlabels = 2},
		.each = each_agent_array,
		.off = offsetof(struct sw_agent_stats, tcp_connects),
		.n = SW_TCP_RESULT_MAX,
		.label_of = sw_tcp_result_name,
	},
	AGENT_HIST("swarmwatch_agent_tcp_connect_duration_seconds",
		   "Time from the agent's SYN to an established connection.", tcp_connect_lat,
		   le_connect, 12),
	FAMILY("swarmwatch_agent_tcp_resets_total", CATALOG_COUNTER, "",
	       "TCP resets on the agent's connections, sent or received.", l_direction,
	       each_tcp_resets, 0),
	FAMILY("swarmwatch_agent_requests_total", CATALOG_COUNTER, "",
	       "Requests paired with their responses on the agent's TCP connections, by upstream, "
	       "role and status class (429: rate limited, not counted in 4xx; error: reset or closed "
	       "before any response byte; unknown: not HTTP).",
	       l_requests, each_requests, 0),
	{
		.f = {.name = "swarmwatch_agent_request_duration_seconds",
		      .help = "Time from a request's first byte to its response's first byte "
			      "(client), or from reading a request to writing the response (server).",
		      .unit = "seconds",
		      .type = CATALOG_HISTOGRAM,
		      .labels = l_request_hist,
		      .nlabels = 3,
		      .le = le_request,
		      .nle = N(le_request)},
		.each = each_request_hist,
		.lo = 14,
	},

	/* Anomalies: only when the tick was scored. */
	{
		.f = {.name = "swarmwatch_agent_anomaly_score",
		      .help = "Anomaly score of an agent's signal in [0, 1]; held at its peak while "
			      "the signal's detection is recent.",
		      .unit = "",
		      .type = CATALOG_GAUGE,
		      .labels = l_signal,
		      .nlabels = 2},
		.each = each_signal,
		.exported = scored,
		.off = offsetof(struct anomaly_agent, score),
	},
	{
		.f = {.name = "swarmwatch_agent_anomaly_confidence",
		      .help = "How much the signal's detector has learned, in [0, 1]; 0.5 once it "
			      "has learned its warm-up.",
		      .unit = "",
		      .type = CATALOG_GAUGE,
		      .labels = l_signal,
		      .nlabels = 2},
		.each = each_signal,
		.exported = scored,
		.off = offsetof(struct anomaly_agent, confidence),
	},
	{
		.f = {.name = "swarmwatch_agent_anomalous",
		      .help = "Whether an anomaly episode of the agent is ongoing (1) or not (0).",
		      .unit = "",
		      .type = CATALOG_GAUGE,
		      .labels = l_agent,
		      .nlabels = 1},
		.each = each_anomalous,
		.exported = scored,
		.n = EPISODE_ONGOING,
	},
	{
		.f = {.name = "swarmwatch_agent_anomalies_total",
		      .help = "Anomaly episodes of the agent since swarmwatch first saw it.",
		      .unit = "",
		      .type = CATALOG_COUNTER,
		      .labels = l_agent,
		      .nlabels = 1},
		.each = each_anomalous,
		.exported = scored,
		.n = EPISODE_COUNT,
	},
	{
		.f = {.name = "swarmwatch_agent_forecast_syscalls_per_second",
		      .help = "Holt forecast of an agent's syscall rate at a horizon ahead, in "
			      "syscalls per second.",
		      .unit = "",
		      .type = CATALOG_GAUGE,
		      .labels = l_forecast,
		      .nlabels = 3},
		.each = each_forecast,
		.exported = scored,
		.n = ANOMALY_UNIT_SYSCALLS_PER_SECOND,
	},
	{
		.f = {.name = "swarmwatch_agent_forecast_cpu_seconds_per_second",
		      .help = "Holt forecast of an agent's CPU use at a horizon ahead, in CPU "
			      "seconds per second.",
		      .unit = "",
		      .type = CATALOG_GAUGE,
		      .labels = l_forecast,
		      .nlabels = 3},
		.each = each_forecast,
		.exported = scored,
		.n = ANOMALY_UNIT_CPU_SECONDS_PER_SECOND,
	},
	{
		.f = {.name = "swarmwatch_agent_forecast_ratio",
		      .help = "Holt forecast of an agent's error or failure ratio at a horizon ahead, "
			      "in [0, 1].",
		      .unit = "ratio",
		      .type = CATALOG_GAUGE,
		      .labels = l_forecast,
		      .nlabels = 3},
		.each = each_forecast,
		.exported = scored,
		.n = ANOMALY_UNIT_RATIO,
	},
	{
		.f = {.name = "swarmwatch_agent_forecast_seconds",
		      .help = "Holt forecast of an agent's latency or delay quantile at a horizon "
			      "ahead, in seconds.",
		      .unit = "seconds",
		      .type = CATALOG_GAUGE,
		      .labels = l_forecast,
		      .nlabels = 3},
		.each = each_forecast,
		.exported = scored,
		.n = ANOMALY_UNIT_SECONDS,
	},
	{
		.f = {.name = "swarmwatch_anomaly_threshold",
		      .help = "Score at and above which a detection is raised.",
		      .unit = "",
		      .type = CATALOG_GAUGE},
		.each = each_threshold,
		.exported = scored,
	},

	/* Alerts: while rules are evaluated; notifications: while receivers are configured. */
	{
		.f = {.name = "swarmwatch_alerts",
		      .help = "Alerts by state (pending: condition true, waiting its for; firing) and "
			      "severity.",
		      .unit = "",
		      .type = CATALOG_GAUGE,
		      .labels = l_alerts,
		      .nlabels = 2},
		.each = each_alert_field,
		.exported = alerting_on,
		.n = AF_ALERTS,
	},
	{
		.f = {.name = "swarmwatch_incidents",
		      .help = "Incidents (one agent's anomalies and firing alerts correlated) by "
			      "state: open, or resolved among the last 256 kept.",
		      .unit = "",
		      .type = CATALOG_GAUGE,
		      .labels = l_state,
		      .nlabels = 1},
		.each = each_incident_state,
		.exported = incidents_on,
	},
	{
		.f = {.name = "swarmwatch_alerts_rate_limited_total",
		      .help = "Alerts left out of a notification because they had reached the "
			      "notifications allowed per hour.",
		      .unit = "",
		      .type = CATALOG_COUNTER},
		.each = each_alert_field,
		.exported = alerting_on,
		.n = AF_LIMITED,
	},
	{
		.f = {.name = "swarmwatch_notifications_total",
		      .help = "Attempts to deliver a notification, by channel and result (sent; "
			      "retried: timeout, network error, 5xx or 429; rejected: any other "
			      "answer, dropped).",
		      .unit = "",
		      .type = CATALOG_COUNTER,
		      .labels = l_notifications,
		      .nlabels = 2},
		.each = each_alert_field,
		.exported = outbox_on,
		.n = AF_NOTIFICATIONS,
	},
	{
		.f = {.name = "swarmwatch_notification_queue_length",
		      .help = "Notifications in the outbox, not yet delivered.",
		      .unit = "",
		      .type = CATALOG_GAUGE},
		.each = each_alert_field,
		.exported = outbox_on,
		.n = AF_QUEUE,
	},
	{
		.f = {.name = "swarmwatch_notification_oldest_pending_seconds",
		      .help = "How long the oldest notification in the outbox has waited; 0 when "
			      "empty.",
		      .unit = "seconds",
		      .type = CATALOG_GAUGE},
		.each = each_alert_field,
		.exported = outbox_on,
		.n = AF_OLDEST,
	},
	{
		.f = {.name = "swarmwatch_notification_enqueue_failures_total",
		      .help = "Ticks whose notifications could not be written to the outbox (made "
			      "again at the next tick).",
		      .unit = "",
		      .type = CATALOG_COUNTER},
		.each = each_alert_field,
		.exported = outbox_on,
		.n = AF_FAILED,
	},

	/* Pools: while pools are configured. */
	{
		.f = {.name = "swarmwatch_pool_current_replicas",
		      .help = "Live instances of a configured pool (the agent's instances).",
		      .unit = "",
		      .type = CATALOG_GAUGE,
		      .labels = l_pool,
		      .nlabels = 1},
		.each = each_pool_field,
		.exported = scaling_on,
		.n = PF_CURRENT,
	},
	{
		.f = {.name = "swarmwatch_pool_desired_replicas",
		      .help = "Instances the pool's scaling rules recommend this tick, after "
			      "clamping and stabilisation.",
		      .unit = "",
		      .type = CATALOG_GAUGE,
		      .labels = l_pool,
		      .nlabels = 1},
		.each = each_pool_field,
		.exported = scaling_on,
		.n = PF_DESIRED,
	},
	{
		.f = {.name = "swarmwatch_pool_min_replicas",
		      .help = "The pool's configured min_replicas.",
		      .unit = "",
		      .type = CATALOG_GAUGE,
		      .labels = l_pool,
		      .nlabels = 1},
		.each = each_pool_field,
		.exported = scaling_on,
		.n = PF_MIN,
	},
	{
		.f = {.name = "swarmwatch_pool_max_replicas",
		      .help = "The pool's configured max_replicas.",
		      .unit = "",
		      .type = CATALOG_GAUGE,
		      .labels = l_pool,
		      .nlabels = 1},
		.each = each_pool_field,
		.exported = scaling_on,
		.n = PF_MAX,
	},
	{
		.f = {.name = "swarmwatch_pool_scaling_events_total",
		      .help = "Scaling decisions acted on since start, by pool, direction (up, "
			      "down) and the rule that drove them.",
		      .unit = "",
		      .type = CATALOG_COUNTER,
		      .labels = l_pool_events,
		      .nlabels = 3},
		.each = each_pool_field,
		.exported = scaling_on,
		.n = PF_EVENTS,
	},

	{
		.f = {.name = "swarmwatch_instance_breaker_state",
		      .help = "Circuit breaker of a pool's live instance: 0 closed, 1 open, 2 "
			      "half-open.",
		      .unit = "",
		      .type = CATALOG_GAUGE,
		      .labels = l_agent_instance,
		      .nlabels = 2},
		.each = each_breaker_field,
		.exported = breakers_on,
		.n = BF_STATE,
	},
	{
		.f = {.name = "swarmwatch_breaker_transitions_total",
		      .help = "Changes of state of the pool's instances' circuit breakers since "
			      "start, by the state entered (closed, open, half_open).",
		      .unit = "",
		      .type = CATALOG_COUNTER,
		      .labels = l_agent_to,
		      .nlabels = 2},
		.each = each_breaker_field,
		.exported = breakers_on,
		.n = BF_TRANSITIONS,
	},
	{
		.f = {.name = "swarmwatch_agent_open_breakers",
		      .help = "Live instances of the pool whose circuit breaker is open (the "
			      "figure open_breakers of alert and scaling rules).",
		      .unit = "",
		      .type = CATALOG_GAUGE,
		      .labels = l_agent,
		      .nlabels = 1},
		.each = each_breaker_field,
		.exported = breakers_on,
		.n = BF_OPEN,
	},
	{
		.f = {.name = "swarmwatch_instance_routing_weight",
		      .help = "Share of the pool's traffic a load balancer should give the "
			      "instance, by the pool's routing algorithm; 0 when its breaker is "
			      "open; the pool's shares sum to 1.",
		      .unit = "",
		      .type = CATALOG_GAUGE,
		      .labels = l_pool_instance,
		      .nlabels = 2},
		.each = each_breaker_field,
		.exported = breakers_on,
		.n = BF_WEIGHT,
	},

	{
		.f = {.name = "swarmwatch_pool_webhooks_total",
		      .help = "Attempts to deliver a scaling webhook, by result (sent; retried: "
			      "timeout, network error, 5xx or 429; rejected: any other answer, "
			      "dropped).",
		      .unit = "",
		      .type = CATALOG_COUNTER,
		      .labels = l_result_only,
		      .nlabels = 1},
		.each = each_pool_field,
		.exported = scaling_outbox_on,
		.n = PF_WEBHOOKS,
	},
	{
		.f = {.name = "swarmwatch_pool_webhook_queue_length",
		      .help = "Scaling webhooks in their outbox, not yet delivered.",
		      .unit = "",
		      .type = CATALOG_GAUGE},
		.each = each_pool_field,
		.exported = scaling_outbox_on,
		.n = PF_QUEUE,
	},
	/* Cost and budgets: while the cost stage runs (cost.enabled). */
	COST("swarmwatch_agent_cost_usd_total", CATALOG_COUNTER,
	     "What the agent cost since swarmwatch first accounted it, in USD, by kind (cpu, "
	     "network_sent, network_received, requests: priced upstream requests, app: reported by "
	     "the agent), at the configured prices.",
	     l_kind, CF_TOTAL),
	COST("swarmwatch_agent_cost_today_usd", CATALOG_GAUGE,
	     "What the agent cost since 00:00 UTC today, in USD.", l_agent, CF_TODAY),
	COST("swarmwatch_agent_budget_usd", CATALOG_GAUGE, "The agent's daily budget, in USD.",
	     l_agent, CF_BUDGET),
	COST("swarmwatch_agent_budget_usage_ratio", CATALOG_GAUGE,
	     "The agent's spend today as a share of its daily budget (1 = all of it).", l_agent,
	     CF_USAGE),
	COST("swarmwatch_agent_cost_forecast_usd", CATALOG_GAUGE,
	     "The agent's spend expected by 24:00 UTC today, in USD: point estimate and the lower "
	     "and upper ends of its 95 % interval (bound).",
	     l_bound, CF_FORECAST),
	COST("swarmwatch_agent_cost_rate_usd_per_second", CATALOG_GAUGE,
	     "The agent's expected spend rate now (the forecast's per-minute mean), in USD per "
	     "second.",
	     l_agent, CF_RATE),
	COST("swarmwatch_agent_cost_per_success_usd", CATALOG_GAUGE,
	     "The agent's spend today per client request answered 2xx or 3xx today, in USD; absent "
	     "before the first.",
	     l_agent, CF_PER_SUCCESS),
	COST("swarmwatch_cost_emergency_actions_total", CATALOG_COUNTER,
	     "Emergency actions of agents that reached their budget's emergency threshold, by "
	     "action (command; webhook: queued in the outbox) and result (ok, failed, timeout).",
	     l_action, CF_ACTIONS),

	/* StatsD: while the listener runs. */
	{
		.f = {.name = "swarmwatch_statsd_datagrams_total",
		      .help = "StatsD datagrams received, by transport (udp, unix).",
		      .unit = "",
		      .type = CATALOG_COUNTER,
		      .labels = l_transport,
		      .nlabels = 1},
		.each = each_statsd,
		.exported = apps_on,
		.n = SD_DATAGRAMS,
	},
	{
		.f = {.name = "swarmwatch_statsd_malformed_lines_total",
		      .help = "StatsD lines that did not parse (logged once a minute per sender).",
		      .unit = "",
		      .type = CATALOG_COUNTER},
		.each = each_statsd,
		.exported = apps_on,
		.n = SD_MALFORMED,
	},
	{
		.f = {.name = "swarmwatch_statsd_unattributed_lines_total",
		      .help = "StatsD lines from senders that belong to no agent; their series have "
			      "no agent label.",
		      .unit = "",
		      .type = CATALOG_COUNTER},
		.each = each_statsd,
		.exported = apps_on,
		.n = SD_UNATTRIBUTED,
	},
	{
		.f = {.name = "swarmwatch_statsd_attribution_total",
		      .help = "StatsD datagrams by how the sender's agent was found: kernel (UDP "
			      "source port recorded by the kernel at send), proc (UDP, through "
			      "/proc, where the kernel hook cannot run), credentials (Unix socket "
			      "sender's pid), none (a sender of no agent).",
		      .unit = "",
		      .type = CATALOG_COUNTER,
		      .labels = l_source,
		      .nlabels = 1},
		.each = each_statsd,
		.exported = apps_on,
		.n = SD_ATTRIBUTION,
	},
	{
		.f = {.name = "swarmwatch_statsd_dropped_total",
		      .help = "StatsD lines or new series dropped, by reason (series_limit, "
			      "label_limit, type_conflict, families_full, batch_full, oversized).",
		      .unit = "",
		      .type = CATALOG_COUNTER,
		      .labels = l_reason,
		      .nlabels = 1},
		.each = each_statsd,
		.exported = apps_on,
		.n = SD_DROPPED,
	},

	/* LLM calls: while LLM capture runs (llm.upstreams). */
	LLM_FAMILY("gen_ai_client_operation_duration_seconds", CATALOG_HISTOGRAM, "seconds",
		   "Duration of LLM API calls, request start to the response's last byte "
		   "(OpenTelemetry gen_ai.client.operation.duration).",
		   l_genai, each_llm_series, LF_DURATION, le_genai_seconds),
	LLM_FAMILY("gen_ai_client_token_usage", CATALOG_HISTOGRAM, "",
		   "Tokens per LLM API call by type, as the response reported them; a response "
		   "without usage is not observed (OpenTelemetry gen_ai.client.token.usage).",
		   l_genai_tokens, each_llm_series, LF_TOKENS, le_genai_tokens),
	LLM_FAMILY("gen_ai_client_operation_time_to_first_chunk_seconds", CATALOG_HISTOGRAM,
		   "seconds",
		   "Streamed LLM API calls: request start to the first byte of the response body "
		   "(OpenTelemetry gen_ai.client.operation.time_to_first_chunk).",
		   l_genai, each_llm_series, LF_TTFT, le_genai_seconds),
	{
		.f = {.name = "gen_ai_client_operation_time_per_output_chunk_seconds",
		      .help = "Streamed LLM API calls: time between output chunks (events) after "
			      "the first (OpenTelemetry gen_ai.client.operation.time_per_output_chunk).",
		      .unit = "seconds",
		      .type = CATALOG_HISTOGRAM,
		      .labels = l_genai,
		      .nlabels = N(l_genai),
		      .le = llm_chunk_le,
		      .nle = LLM_CHUNK_BUCKETS},
		.each = each_llm_series,
		.exported = llm_on,
		.n = LF_CHUNK,
	},
	LLM_FAMILY("swarmwatch_agent_llm_requests_total", CATALOG_COUNTER, "",
		   "LLM API calls by HTTP status class (2xx, 4xx, 429 apart, 5xx, other).",
		   l_genai_status, each_llm_series, LF_REQUESTS, NULL),
	LLM_FAMILY("swarmwatch_agent_llm_usage_missing_total", CATALOG_COUNTER, "",
		   "Successful LLM API calls whose response reported no token usage (an OpenAI "
		   "stream without stream_options.include_usage): their tokens are unknown, not 0.",
		   l_genai, each_llm_series, LF_MISSING, NULL),
	LLM_FAMILY("swarmwatch_agent_llm_cost_usd_total", CATALOG_COUNTER, "",
		   "Cost in USD of the tokens of LLM API calls by type, from the configured price "
		   "table (input without its cache reads and writes, output without reasoning).",
		   l_genai_cost, each_llm_series, LF_COST, NULL),
	LLM_FAMILY("swarmwatch_agent_llm_spend_today_usd", CATALOG_GAUGE, "",
		   "Cost in USD of the agent's LLM calls since 00:00 UTC, from the price table; "
		   "from 0 at midnight, and when swarmwatch restarts.",
		   l_agent, each_llm_self, LF_SPEND, NULL),
	LLM_FAMILY("swarmwatch_agent_llm_ratelimit_remaining", CATALOG_GAUGE, "",
		   "Rate-limit headroom the last response of an upstream gave the agent "
		   "(x-ratelimit-remaining-*, anthropic-ratelimit-*-remaining), by kind "
		   "(requests, tokens).",
		   l_genai_room, each_llm_room, LF_REMAINING, NULL),
	LLM_FAMILY("swarmwatch_agent_llm_retry_after_seconds", CATALOG_GAUGE, "seconds",
		   "Retry-After of the last response of an upstream to the agent; 0 once a later "
		   "response had none.",
		   l_genai_retry, each_llm_room, LF_RETRY, NULL),
	LLM_FAMILY("swarmwatch_llm_truncated_total", CATALOG_COUNTER, "",
		   "LLM capture: bytes or results lost, by reason (cut_reads, request_budget, "
		   "response_budget, ringbuf_full, no_buffer, parse_cut, usage_lost, "
		   "inflight_full, series_full, head_lost).",
		   l_reason, each_llm_self, LF_TRUNCATED, NULL),
	{
		.f = {.name = "swarmwatch_llm_events_total",
		      .help = "LLM capture: plaintext records the kernel handed over.",
		      .unit = "",
		      .type = CATALOG_COUNTER},
		.each = each_llm_self,
		.exported = llm_on,
		.n = LF_EVENTS,
	},
	{
		.f = {.name = "swarmwatch_llm_inflight_responses",
		      .help = "LLM capture: exchanges being parsed.",
		      .unit = "",
		      .type = CATALOG_GAUGE},
		.each = each_llm_self,
		.exported = llm_on,
		.n = LF_INFLIGHT,
	},

	/* swarmwatch itself */
	FAMILY("swarmwatch_collector_up", CATALOG_GAUGE, "",
	       "Whether a collector runs (1) or could not start on this kernel or is disabled (0).",
	       l_collector, each_collector_up, 0),
	FAMILY("swarmwatch_sampling_ratio", CATALOG_GAUGE, "ratio",
	       "Fraction of the last tick a collector's hooks were attached. Below 1 the overhead "
	       "budget duty-cycled them, and the agent counters they feed hold what was seen plus "
	       "an estimate of what was not (seen times 1/ratio - 1, summed over ticks).",
	       l_collector, each_sampling_ratio, 0),
	SCALAR("swarmwatch_syscall_latency_sampling_ratio", CATALOG_GAUGE, "ratio",
	       "Fraction of the tracked syscalls of the last tick whose latency was timed; each "
	       "timed one counts for the untimed ones in the latency histogram, whose count still "
	       "estimates every syscall.",
	       each_overhead, OVH_LATENCY_RATIO),
	SCALAR("swarmwatch_overhead_ratio", CATALOG_GAUGE, "ratio",
	       "Share of host CPU swarmwatch's BPF hooks cost in the last tick, estimated from the "
	       "events they saw (1 = every CPU busy).",
	       each_overhead, OVH_SHARE),
	SCALAR("swarmwatch_overhead_budget_ratio", CATALOG_GAUGE, "ratio",
	       "The bound on swarmwatch_overhead_ratio (overhead_budget); 0 when there is none.",
	       each_overhead, OVH_BUDGET),
	SCALAR("swarmwatch_overhead_seconds_total", CATALOG_COUNTER, "seconds",
	       "CPU seconds swarmwatch's BPF hooks cost the host since it started, estimated from "
	       "the events they saw; its rate over CPUs is swarmwatch_overhead_ratio averaged.",
	       each_overhead, OVH_SECONDS),
	SCALAR("swarmwatch_host_syscalls_total", CATALOG_COUNTER, "",
	       "Syscalls of every task on the host through the syscall hooks, an estimate: "
	       "untracked tasks' by a 1-in-4 census, extrapolated while duty-cycled (needs the "
	       "sched collector).",
	       each_overhead, OVH_HOST_SYSCALLS),
	{
		.f = {.name = "swarmwatch_tls_probed_processes",
		      .help = "Processes of agents with TLS capture on whose OpenSSL calls are "
			      "probed.",
		      .unit = "",
		      .type = CATALOG_GAUGE},
		.each = each_tls_processes,
		.exported = tls_configured,
	},
	{
		.f = {.name = "swarmwatch_tls_attach_failures_total",
		      .help = "Processes of agents with TLS capture on that could not be probed.",
		      .unit = "",
		      .type = CATALOG_COUNTER},
		.each = each_tls_failures,
		.exported = tls_configured,
	},
	FAMILY("swarmwatch_bpf_program_run_seconds_total", CATALOG_COUNTER, "seconds",
	       "Time spent in each BPF program (only while BPF run-time statistics are on: "
	       "bpf_stats in the configuration, or sysctl kernel.bpf_stats_enabled=1).",
	       l_program, each_prog, PROG_RUN_SECONDS),
	FAMILY("swarmwatch_bpf_program_runs_total", CATALOG_COUNTER, "",
	       "Runs of each BPF program (only while BPF run-time statistics are on).", l_program,
	       each_prog, PROG_RUNS),
	FAMILY("swarmwatch_bpf_map_entries", CATALOG_GAUGE, "",
	       "Entries in each BPF map (arrays are always full; task storage is not counted).",
	       l_map, each_map, MAP_ENTRIES),
	FAMILY("swarmwatch_bpf_map_max_entries", CATALOG_GAUGE, "", "Capacity of each BPF map.",
	       l_map, each_map, MAP_MAX_ENTRIES),
	FAMILY("swarmwatch_bpf_map_memory_bytes", CATALOG_GAUGE, "bytes",
	       "Kernel memory charged for each BPF map.", l_map, each_map, MAP_MEMORY),
	FAMILY("swarmwatch_events_dropped_total", CATALOG_COUNTER, "",
	       "Events the kernel side could not record, by reason.", l_reason, each_dropped, 0),
	SCALAR("swarmwatch_cpu_record_repairs_total", CATALOG_COUNTER, "",
	       "Times a tracked task was seen running without its per-CPU record, which was "
	       "rebuilt from task storage.",
	       each_counter, SW_CNT_ONCPU_REPAIRED),
	SCALAR("swarmwatch_agent_folds_total", CATALOG_COUNTER, "",
	       "Processes folded into agent \"other\" because max_agents was reached.",
	       each_counter, SW_CNT_FOLDED),
	SCALAR("swarmwatch_agent_slots_reclaimed_total", CATALOG_COUNTER, "",
	       "Kernel agent slots freed from retired agents (no live task left) for new agents.",
	       each_reclaimed, 0),
	SCALAR("swarmwatch_collector_ticks_total", CATALOG_COUNTER, "", "Collector ticks so far.",
	       each_tick, TICK_COUNT),
	SCALAR("swarmwatch_collector_tick_duration_seconds", CATALOG_GAUGE, "seconds",
	       "How long the last collector tick took.", each_tick, TICK_DURATION),
	SCALAR("swarmwatch_collector_last_tick_timestamp_seconds", CATALOG_GAUGE, "seconds",
	       "Unix time of the last collector tick.", each_tick, TICK_TIME),
	{.f = {.name = "swarmwatch_store_errors_total",
	       .help = "Failed operations of the series store by operation (open, write, purge, "
		       "read); writes are retried at the next flush.",
	       .type = CATALOG_COUNTER,
	       .unit = "",
	       .labels = l_op,
	       .nlabels = N(l_op)},
	 .each = each_store_errors,
	 .exported = store_on},
	{.f = {.name = "swarmwatch_store_dropped_samples_total",
	       .help = "Samples the series store let go before their retention, by reason "
		       "(size: the file's bound; unsaved: the disk failed too long; order: not "
		       "newer than the series' last sample).",
	       .type = CATALOG_COUNTER,
	       .unit = "",
	       .labels = l_reason,
	       .nlabels = N(l_reason)},
	 .each = each_store_dropped,
	 .exported = store_on},
	{.f = {.name = "swarmwatch_store_series",
	       .help = "Series the store holds.",
	       .type = CATALOG_GAUGE,
	       .unit = ""},
	 .each = each_store,
	 .n = STORE_F_SERIES,
	 .exported = store_on},
	{.f = {.name = "swarmwatch_store_samples_total",
	       .help = "Samples appended to the store since start.",
	       .type = CATALOG_COUNTER,
	       .unit = ""},
	 .each = each_store,
	 .n = STORE_F_SAMPLES,
	 .exported = store_on},
	{.f = {.name = "swarmwatch_store_memory_bytes",
	       .help = "Memory the store's series and blocks hold.",
	       .type = CATALOG_GAUGE,
	       .unit = "bytes"},
	 .each = each_store,
	 .n = STORE_F_MEMORY,
	 .exported = store_on},
	{.f = {.name = "swarmwatch_store_disk_bytes",
	       .help = "Database pages in use in the state directory.",
	       .type = CATALOG_GAUGE,
	       .unit = "bytes"},
	 .each = each_store,
	 .n = STORE_F_DISK,
	 .exported = store_on},
	{.f = {.name = "swarmwatch_store_up",
	       .help = "1 when the store's database is open and its last write succeeded.",
	       .type = CATALOG_GAUGE,
	       .unit = ""},
	 .each = each_store,
	 .n = STORE_F_UP,
	 .exported = store_on},
	FAMILY("swarmwatch_build_info", CATALOG_GAUGE, "",
	       "swarmwatch version, libbpf version and kernel release; always 1.", l_build,
	       each_build_info, 0),

	/* The process collector every Prometheus client exports, same names and help. */
	SCALAR("process_cpu_seconds_total", CATALOG_COUNTER, "seconds",
	       "Total user and system CPU time spent in seconds.", each_process, PROC_CPU),
	SCALAR("process_resident_memory_bytes", CATALOG_GAUGE, "bytes",
	       "Resident memory size in bytes.", each_process, PROC_RSS),
	SCALAR("process_virtual_memory_bytes", CATALOG_GAUGE, "bytes",
	       "Virtual memory size in bytes.", each_process, PROC_VSIZE),
	SCALAR("process_start_time_seconds", CATALOG_GAUGE, "seconds",
	       "Start time of the process since unix epoch in seconds.", each_process, PROC_START),
	SCALAR("process_open_fds", CATALOG_GAUGE, "", "Number of open file descriptors.",
	       each_process, PROC_FDS),
	{
		.f = {.name = "process_max_fds",
		      .help = "Maximum number of open file descriptors.",
		      .unit = "",
		      .type = CATALOG_GAUGE},
		.each = each_process,
		.exported = has_max_fds,
		.n = PROC_MAX_FDS,
	},
};

/*
 * App families, registered by the tick as agents report them: appended, never removed, so that a
 * pointer or index handed out stays valid. Readers on other threads see an entry once napps
 * (stored with release order after the entry) counts it.
 */
static struct entry *apps[CATALOG_APP_FAMILIES_MAX];
static int napps;

static int app_count(void)
{
	return __atomic_load_n(&napps, __ATOMIC_ACQUIRE);
}

int catalog__nfamilies(void)
{
	return N(entries) + app_count();
}

const struct catalog_family *catalog__family(int i)
{
	if (i >= 0 && i < N(entries))
		return &entries[i].f;
	return catalog__app(i - N(entries));
}

const struct catalog_family *catalog__app(int i)
{
	return i >= 0 && i < app_count() ? &apps[i]->f : NULL;
}

const struct catalog_family *catalog__find(const char *name)
{
	int i, n = app_count();

	for (i = 0; i < N(entries); i++)
		if (!strcmp(entries[i].f.name, name))
			return &entries[i].f;
	for (i = 0; i < n; i++)
		if (!strcmp(apps[i]->f.name, name))
			return &apps[i]->f;
	return NULL;
}

static void app_entry_free(struct entry *e)
{
	int i;

	if (!e)
		return;
	for (i = 0; e->f.labels && i < e->f.nlabels; i++)
		free((char *)e->f.labels[i]);
	free((void *)e->f.labels);
	free((char *)e->f.name);
	free((char *)e->f.help);
	free(e);
}

int catalog__app_family(const char *name, enum catalog_type type, const char *const *labels,
			int nlabels)
{
	static const char *const kind[] = {[CATALOG_COUNTER] = "counter",
					   [CATALOG_GAUGE] = "gauge",
					   [CATALOG_HISTOGRAM] = "histogram"};
	int i, n = app_count();
	const char **l;
	struct entry *e;
	char help[256];

	if (nlabels < 1 || nlabels > CATALOG_MAX_LABELS)
		return -EINVAL;
	for (i = 0; i < n; i++)
		if (!strcmp(apps[i]->f.name, name))
			return apps[i]->f.type == type ? i : -EEXIST;
	for (i = 0; i < N(entries); i++)
		if (!strcmp(entries[i].f.name, name))
			return -EEXIST;
	if (n == CATALOG_APP_FAMILIES_MAX)
		return -ENOSPC;
	e = calloc(1, sizeof(*e));
	l = calloc(nlabels, sizeof(*l));
	if (!e || !l) {
		free(e);
		free(l);
		return -ENOMEM;
	}
	e->f.labels = l;
	snprintf(
		help, sizeof(help),
		"App metric the agent reported over StatsD (%s%s; unit as sent, timers in seconds).",
		kind[type], type == CATALOG_HISTOGRAM ? ", buckets 2^-16 to 2^31" : "");
	e->f.name = strdup(name);
	e->f.help = strdup(help);
	e->f.unit = "";
	e->f.type = type;
	e->f.nlabels = nlabels;
	for (i = 0; i < nlabels; i++)
		if (!(l[i] = strdup(labels[i])))
			break;
	if (!e->f.name || !e->f.help || i < nlabels) {
		app_entry_free(e);
		return -ENOMEM;
	}
	if (type == CATALOG_HISTOGRAM) {
		e->f.le = apps_le;
		e->f.nle = APPS_NLE;
	}
	e->each = each_app;
	e->n = n;
	apps[n] = e;
	__atomic_store_n(&napps, n + 1, __ATOMIC_RELEASE);
	return n;
}

const char *catalog__type_name(enum catalog_type t)
{
	switch (t) {
	case CATALOG_COUNTER:
		return "counter";
	case CATALOG_GAUGE:
		return "gauge";
	case CATALOG_HISTOGRAM:
		return "histogram";
	}
	return "untyped";
}

bool catalog__exported(const struct catalog_family *f, const struct snapshot *s)
{
	const struct entry *e = (const struct entry *)f;

	if (e->each == each_app)
		return app_has_samples(e, s);
	return !e->exported || e->exported(s);
}

int catalog__for_each_sample(const struct catalog_family *f, const struct snapshot *s,
			     catalog_fn fn, void *ctx)
{
	const struct entry *e = (const struct entry *)f;
	struct out o = {.f = f, .fn = fn, .ctx = ctx};

	if (!catalog__exported(f, s))
		return 0;
	return e->each(e, s, &o);
}

int catalog__for_each(const struct snapshot *s, catalog_fn fn, void *ctx)
{
	const struct catalog_family *f;
	int i, err;

	for (i = 0; (f = catalog__family(i)); i++) {
		err = catalog__for_each_sample(f, s, fn, ctx);
		if (err)
			return err;
	}
	return 0;
}
