// SPDX-License-Identifier: MIT
/* The tick: every stage in order, each one line in tick__run(). */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alerting.h"
#include "clock.h"
#include "anomaly.h"
#include "apps.h"
#include "catalog.h"
#include "collector.h"
#include "costing.h"
#include "identity.h"
#include "incidents.h"
#include "ingest.h"
#include "kernel.h"
#include "log.h"
#include "overhead.h"
#include "reclaim.h"
#include "scaling.h"
#include "store.h"
#include "tick.h"
#include "tls.h"
#include "llm.h"

#define CGROUP_RESCAN_NS (5ULL * 1000000000ULL)

/* Words of struct sw_agent_stats that the hot hooks count: [from, to) ranges. */
#define WORD(f) (offsetof(struct sw_agent_stats, f) / sizeof(__u64))
enum hot_range { HOT_COUNTS, HOT_LATENCY, HOT_RUNQ, HOT_SWITCHES, HOT_RANGES };
static const struct {
	size_t from, to;
} hot_ranges[HOT_RANGES] = {
	[HOT_COUNTS] = {WORD(syscalls), WORD(syscall_lat)}, /* syscalls by class, errors */
	[HOT_LATENCY] = {WORD(syscall_lat), WORD(syscall_lat_sum_ns) + 1}, /* latency, sampled */
	[HOT_RUNQ] = {WORD(runq_lat), WORD(runq_lat_sum_ns) + 1}, /* run-queue delay */
	[HOT_SWITCHES] = {WORD(ctx_voluntary), WORD(ctx_involuntary) + 1},
};
#define HOT_WORDS                                                                    \
	(WORD(syscall_lat_sum_ns) + 1 - WORD(syscalls) + WORD(runq_lat_sum_ns) + 1 - \
	 WORD(runq_lat) + WORD(ctx_involuntary) + 1 - WORD(ctx_voluntary))
_Static_assert(HOT_WORDS == SW_UNSEEN_WORDS, "struct sw_unseen holds the hot words");

/* Extrapolation state of one slot's hot counters (overhead__extrapolate()). */
struct hot_slot {
	__u64 last[HOT_WORDS];
	double unseen[HOT_WORDS];
	bool set;
};

/* The overhead budget: the duty cycle of the hot hooks and what it saw. */
struct budget {
	struct overhead_costs costs;
	struct overhead_cycle cycle;
	bool on; /* hot hooks exist to duty-cycle (budget may still be 0: then only measured) */
	double duty; /* fraction of the next tick to keep them attached */
	bool measured; /* a tick was measured: agents seen from now on are new in this run */
	bool warned; /* the estimate could not be kept in the kernel: said once */
	double full; /* smoothed share full capture would cost (overhead__smooth()) */
	double debt; /* overspend still owed, share x seconds (overhead__target()) */
	__u64 tracked; /* last totals: tracked syscalls (raw), CPU-record events, switches */
	struct kernel_cpu_events ev;
	__u64 ctxt;
	__u64 host_seen; /* syscalls of every task the hooks saw */
	double host_unseen; /* ... and the estimate of those they did not */
	double cost_s; /* CPU seconds the hooks cost, estimated, since start */
	struct hot_slot *slots; /* per slot */
	int ncpus;
};

struct tick {
	const struct config *cfg;
	struct kernel *k;
	struct identity *id;
	struct tls *tls; /* NULL when TLS capture is off */
	struct collector *col;
	struct anomaly *anomaly; /* detector state, touched by the tick's thread only */
	struct reclaim *reclaim; /* slots of retired agents going back to the free list */
	__u32 *freed; /* scratch: slots reclaimed this tick */
	struct store *store; /* NULL: no history */
	bool store_warned; /* a series the store refused was logged */
	struct alerting *alerting; /* NULL when alerts are off */
	struct scaling *scaling; /* NULL when no pool is configured */
	struct costing *costing; /* NULL when cost.enabled is false */
	struct incidents *incidents; /* NULL when alerts are off */
	struct ingest *ingest; /* StatsD listener; NULL when off */
	struct apps_params app_params; /* from the configuration's statsd.* */
	struct apps *apps; /* app metrics kept from its lines; NULL when StatsD is off */
	struct llm *llm; /* LLM call accounting; NULL when LLM capture is off */
	struct llm_prices prices; /* llm.prices, loaded at start */
	__u64 ticks;
	__u64 last_cgroup_scan; /* monotonic ns */
	struct budget b;
	struct snapshot_slot slot;
};

#define STATE_SAVE_S 600 /* each agent's learned state is saved this often */

/* Detector state in the store, under (agent, "detect/<signal>"). */
static int state_save(void *ctx, const char *agent, const char *name, const void *blob, size_t len)
{
	char key[64];

	snprintf(key, sizeof(key), "detect/%s", name);
	return store__state_put(ctx, agent, key, blob, len);
}

static long state_load(void *ctx, const char *agent, const char *name, void *buf, size_t cap)
{
	char key[64];

	snprintf(key, sizeof(key), "detect/%s", name);
	return store__state_get(ctx, agent, key, buf, cap);
}

/* Saves every agent's learned state (at exit: the store's last flush writes it). */
static void save_all(struct tick *t)
{
	int i, n = t->store ? anomaly__agents(t->anomaly) : 0;

	for (i = 0; i < n; i++)
		anomaly__save_agent(t->anomaly, i, state_save, t->store);
}

/*
 * One agent's learned state per call, round robin, so that each is saved about every
 * STATE_SAVE_S and no tick queues them all at once.
 */
static void stage_save(struct tick *t)
{
	int n = t->store ? anomaly__agents(t->anomaly) : 0;
	__u64 every;

	if (!n)
		return;
	every = STATE_SAVE_S * 1e9 / t->cfg->interval_ns / n;
	if (!every)
		every = 1;
	if (t->ticks % every == 0)
		anomaly__save_agent(t->anomaly, (int)((t->ticks / every) % n), state_save,
				    t->store);
}

/*
 * The app series under the configuration's statsd.* bounds, into p. Made with the tick, so the
 * families rules look for (quality, queue_length, ...) exist before the stages that read rules.
 */
static struct apps *app_series(const struct config *c, struct apps_params *p)
{
	int i;

	apps__params_default(p);
	for (i = 0; i < c->nstatsd_tags; i++)
		p->tags[i] = c->statsd_tags[i];
	p->ntags = c->nstatsd_tags;
	p->trust_agent_tag = c->statsd_trust_agent_tag;
	p->max_series = c->statsd_max_series;
	p->max_values = c->statsd_max_values;
	p->retention_s = c->agent_retention_ns / 1e9;
	return apps__new(p);
}

static void on_llm(void *ctx, const struct sw_llm_event *e, size_t size)
{
	llm__event(ctx, e, size);
}

/* The cost stage, with the alert stage's outbox for its emergency notification. 0 or -1. */
/*
 * An agent spent its daily budget: its pool, if one is configured, goes to min_replicas and
 * stays there until the end of the UTC day (the budget's day, cost.h).
 */
static void budget_emergency(void *ctx, const char *agent, double spent, double budget)
{
	int64_t day_ms = 86400000, now_ms = (int64_t)(clock__ns(CLOCK_REALTIME) / 1000000);
	int err = scaling__cap(ctx, agent, (now_ms / day_ms + 1) * day_ms);

	if (!err)
		pr_warn("cost: %s spent $%.2f of its $%.2f budget today: its pool goes to "
			"min_replicas until 00:00 UTC",
			agent, spent, budget);
}

static int cost_stage(struct tick *t)
{
	const struct cost_params *p = t->cfg->cost;
	char err[512] = "";
	uint32_t i;

	if (p->emergency.receiver[0]) {
		for (i = 0; i < t->cfg->notify->nreceivers &&
			    strcmp(t->cfg->notify->receivers[i].name, p->emergency.receiver);
		     i++)
			;
		if (i == t->cfg->notify->nreceivers || !t->alerting) {
			pr_err("cost.emergency.receiver \"%s\": no such receiver%s; add it under "
			       "\"receivers\"",
			       p->emergency.receiver, t->alerting ? "" : " (alerts are off)");
			errno = EINVAL;
			return -1;
		}
	}
	t->costing = costing__new(p, t->store, alerting__notify(t->alerting), err, sizeof(err));
	if (!t->costing) {
		pr_err("%s", err[0] ? err : strerror(errno));
		return -1;
	}
	return 0;
}

struct tick *tick__new(const struct config *c, struct kernel *k, struct identity *id,
		       struct tls *tls, struct store *store)
{
	struct tick *t = calloc(1, sizeof(*t));
	struct anomaly_params ap;

	if (!t)
		return NULL;
	t->cfg = c;
	t->k = k;
	t->id = id;
	t->tls = tls;
	t->store = store;
	snapshot__slot_init(&t->slot);
	anomaly__params_default(&ap, c->interval_ns / 1e9);
	ap.warmup = c->anomaly_warmup;
	ap.hold_s = c->anomaly_hold_ns / 1e9;
	t->anomaly = anomaly__new(&ap);
	if (store)
		anomaly__set_restore(t->anomaly, state_load, store);
	t->col = collector__new(c, k, id);
	t->reclaim = reclaim__new(c->max_agents + 1);
	t->freed = calloc(c->max_agents + 1, sizeof(*t->freed));
	if (c->statsd_udp[0] || c->statsd_socket[0])
		t->apps = app_series(c, &t->app_params);
	t->b.slots = calloc(c->max_agents + 1, sizeof(*t->b.slots)); /* pages touched as used */
	t->b.costs = (struct overhead_costs)OVERHEAD_COSTS_DEFAULT;
	t->b.on = kernel__hot_up(k);
	t->b.duty = 1;
	t->b.ncpus = sysconf(_SC_NPROCESSORS_ONLN);
	overhead__cycle_init(&t->b.cycle, c->interval_ns, (unsigned int)clock__mono_ns(),
			     clock__mono_ns());
	if (!t->anomaly || !t->col || !t->reclaim || !t->freed || !t->b.slots ||
	    ((c->statsd_udp[0] || c->statsd_socket[0]) && !t->apps)) {
		tick__free(t);
		errno = ENOMEM;
		return NULL;
	}
	if (kernel__on_llm(k, NULL, NULL)) {
		char err[512];
		int e;

		if (c->llm_prices[0] &&
		    (e = llmprices__load(c->llm_prices, &t->prices, err, sizeof(err)))) {
			pr_err("%s", err);
			tick__free(t);
			errno = -e;
			return NULL;
		}
		t->llm = llm__new(c, &t->prices);
		if (!t->llm) {
			tick__free(t);
			errno = ENOMEM;
			return NULL;
		}
		kernel__on_llm(k, on_llm, t->llm);
		pr_info("llm: capture on for %d upstreams%s%s%s", c->nllm_upstreams,
			t->prices.n ? ", prices of " : "", t->prices.n ? t->prices.date : "",
			t->prices.n ? "" : " (no price table: no cost)");
	}
	if (c->alerts_on) {
		char err[512];

		t->alerting = alerting__new(c, c->interval_ns / 1e9, err, sizeof(err));
		if (!t->alerting) {
			int e = errno;

			pr_err("%s", err[0] ? err : strerror(e));
			tick__free(t);
			errno = e;
			return NULL;
		}
		t->incidents = incidents__new(c, store, clock__ns(CLOCK_REALTIME) / 1e9);
		if (!t->incidents) {
			tick__free(t);
			errno = ENOMEM;
			return NULL;
		}
	}
	if (c->pools->npools) {
		char err[512] = "";

		t->scaling = scaling__new(c, c->interval_ns / 1e9, err, sizeof(err));
		if (!t->scaling) {
			int e = errno;

			pr_err("%s", err[0] ? err : strerror(e));
			tick__free(t);
			errno = e;
			return NULL;
		}
	}
	if (c->cost->enabled && cost_stage(t)) {
		int e = errno;

		tick__free(t);
		errno = e;
		return NULL;
	}
	if (t->costing && t->scaling)
		costing__on_emergency(t->costing, budget_emergency, t->scaling);
	return t;
}

void tick__free(struct tick *t)
{
	if (!t)
		return;
	if (t->anomaly)
		save_all(t);
	snapshot__slot_fini(&t->slot);
	collector__free(t->col);
	reclaim__free(t->reclaim);
	free(t->freed);
	apps__free(t->apps);
	if (t->k)
		kernel__on_llm(t->k, NULL, NULL);
	llm__free(t->llm);
	llmprices__free(&t->prices);
	free(t->b.slots);
	anomaly__free(t->anomaly);
	costing__free(t->costing);
	alerting__free(t->alerting);
	scaling__free(t->scaling);
	incidents__free(t->incidents);
	free(t);
}

const struct apps_params *tick__app_params(const struct tick *t)
{
	return t->apps ? &t->app_params : NULL;
}

int tick__attach_statsd(struct tick *t, struct ingest *g)
{
	if (!t->apps)
		return -EINVAL;
	t->ingest = g;
	return 0;
}

struct snapshot_slot *tick__slot(struct tick *t)
{
	return &t->slot;
}

struct scaling *tick__scaling(struct tick *t)
{
	return t->scaling;
}

struct alerting *tick__alerting(struct tick *t)
{
	return t->alerting;
}

struct costing *tick__costing(struct tick *t)
{
	return t->costing;
}

/* Events and identity: TLS probes follow processes, exec events classify, cgroups rescan. */
static void stage_drain(struct tick *t, __u64 now)
{
	tls__poll(t->tls);
	kernel__drain(t->k);
	identity__poll(t->id);
	if (now - t->last_cgroup_scan >= CGROUP_RESCAN_NS) {
		identity__scan_cgroups(t->id);
		t->last_cgroup_scan = now;
	}
}

/* The kernel's counters, then what TLS capture reports of itself. */
static int stage_sample(struct tick *t, struct snapshot *s)
{
	struct tls_stats ts;
	int err = collector__sample(t->col, s);

	if (err)
		return err;
	s->tls_configured = t->cfg->ntls_agents > 0;
	s->tls_up = t->tls != NULL;
	tls__stats(t->tls, &ts);
	s->tls_processes = ts.processes;
	s->tls_attach_failures = ts.attach_failures;
	s->ticks = ++t->ticks;
	return 0;
}

/*
 * Slots of agents the sample found retired go back to the free list once no task carries them
 * (reclaim.h), and the collector forgets them.
 */
static void stage_reclaim(struct tick *t, struct snapshot *s, __u64 now)
{
	int n = reclaim__tick(t->reclaim, t->k, t->id, collector__idle(t->col), now, t->freed), i;

	if (n > 0)
		collector__forget(t->col, t->freed, n);
	for (i = 0; i < n; i++) /* zeroed in the kernel: the next agent starts from nothing */
		if (t->freed[i] <= t->cfg->max_agents)
			memset(&t->b.slots[t->freed[i]], 0, sizeof(t->b.slots[0]));
	s->slots_reclaimed = reclaim__count(t->reclaim);
}

/*
 * App metrics: the lines the StatsD listener gathered since the last tick, folded into the
 * agents' series (apps.h), and the listener's counters. Out of memory: published without them.
 */
static void stage_apps(struct tick *t, struct snapshot *s)
{
	struct apps_agent *agents;
	struct ingest_stats st;
	struct apps_batch *b;
	struct app_view *v;
	int i;

	if (!t->ingest)
		return;
	agents = calloc(s->nagents ? s->nagents : 1, sizeof(*agents));
	b = ingest__take(t->ingest);
	if (agents)
		for (i = 0; i < s->nagents; i++)
			agents[i] = (struct apps_agent){s->agents[i].name, s->agents[i].slot};
	apps__merge(t->apps, b, agents, agents ? s->nagents : 0, s->time);
	ingest__recycle(t->ingest, b);
	free(agents);
	v = apps__view(t->apps);
	if (!v) {
		pr_warn("tick: no app metrics this tick: out of memory");
		return;
	}
	ingest__stats(t->ingest, &st);
	memcpy(v->datagrams, st.datagrams, sizeof(v->datagrams));
	v->malformed = st.malformed;
	v->dropped[APPS_DROP_OVERSIZED] = st.oversized;
	memcpy(v->by, st.by, sizeof(v->by));
	s->apps = v;
	s->apps_free = apps__view_free;
}

/* LLM calls: exchanges ended since the last tick, with the kernel's cut counters. */
static void stage_llm(struct tick *t, struct snapshot *s)
{
	__u64 kc[SW_LLM_CNT_MAX];
	struct llm_view *v;

	if (!t->llm)
		return;
	v = llm__view(t->llm, s, kernel__llm_counters(t->k, kc) ? NULL : kc, clock__mono_ns());
	if (!v) {
		pr_warn("tick: no LLM figures this tick: out of memory");
		return;
	}
	s->llm = v;
	s->llm_free = llm__view_free;
}

struct store_ctx {
	struct tick *t;
	int64_t ms; /* the tick's time */
};

static bool has_agent_label(const struct catalog_family *f)
{
	int i;

	for (i = 0; i < f->nlabels; i++)
		if (!strcmp(f->labels[i], "agent"))
			return true;
	return false;
}

static const uint64_t *copy_buckets(uint64_t *out, const __u64 *in, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		out[i] = in[i];
	return out;
}

/* One sample of an agent family into its series; a refused one is logged once. */
static int store_sample(void *arg, const struct catalog_sample *x)
{
	static const enum store_type types[] = {
		[CATALOG_COUNTER] = STORE_COUNTER,
		[CATALOG_GAUGE] = STORE_GAUGE,
		[CATALOG_HISTOGRAM] = STORE_HISTOGRAM,
	};
	const struct catalog_family *f = x->family;
	struct store_ctx *c = arg;
	struct store *st = c->t->store;
	unsigned int nb = f->type == CATALOG_HISTOGRAM ? f->nle + 1 : 0;
	uint64_t b[STORE_HIST_MAX];
	int id, err;

	id = store__series(st, f->name, f->labels, x->values, f->nlabels, types[f->type], nb);
	if (id < 0)
		err = id;
	else if (f->type == CATALOG_HISTOGRAM && nb > STORE_HIST_MAX)
		err = -E2BIG;
	else if (f->type == CATALOG_HISTOGRAM)
		err = store__append_hist(st, id, c->ms, copy_buckets(b, x->buckets, nb), nb, x->sum,
					 x->count);
	else
		err = store__append(st, id, c->ms, x->value);
	if (err && err != -ERANGE && !c->t->store_warned) {
		c->t->store_warned = true;
		pr_warn("store: %s: a sample was not stored: %s", f->name, strerror(-err));
	}
	return 0;
}

/*
 * Appends the tick's agent samples (the catalogue's families with an agent label) to the
 * series store. The store counts and logs its own disk errors: the tick goes on without it.
 */
static void stage_store(struct tick *t, struct snapshot *s)
{
	struct store_ctx c = {.t = t, .ms = (int64_t)(s->time * 1000)};
	int i;

	if (!t->store)
		return;
	store__begin(t->store);
	for (i = 0; i < catalog__nfamilies(); i++)
		if (has_agent_label(catalog__family(i)))
			catalog__for_each_sample(catalog__family(i), s, store_sample, &c);
	store__end(t->store);
	store__stats(t->store, &s->store);
	s->store_on = true;
}

/*
 * The day's spend per agent against its budget, and the emergency actions due; before the
 * store (its families are history too) and the alert rules (which read the budget usage).
 */
static void stage_cost(struct tick *t, struct snapshot *s)
{
	int err = t->costing ? costing__tick(t->costing, s) : 0;

	if (err)
		pr_warn("tick: no cost view this tick (%s); the spend is counted at the next tick",
			strerror(-err));
}

/* Context switches on the host since boot (/proc/stat "ctxt"); 0 if unreadable. */
static __u64 host_switches(void)
{
	unsigned long long v = 0;
	char line[256];
	FILE *f = fopen("/proc/stat", "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "ctxt %llu", &v) == 1)
			break;
	fclose(f);
	return v;
}

/* Tracked syscalls counted so far, summed over the agents of s (raw, not extrapolated). */
static __u64 tracked_syscalls(const struct snapshot *s)
{
	__u64 n = 0;
	int i, c;

	for (i = 0; i < s->nagents; i++)
		for (c = 0; c < SW_CLASS_MAX; c++)
			n += s->agents[i].s.syscalls[c];
	return n;
}

/* Whether word w of struct hot_slot is the latency histogram's: a signed adjustment there. */
static bool is_lat_word(size_t w)
{
	size_t from = hot_ranges[HOT_LATENCY].from - hot_ranges[HOT_COUNTS].from;

	return w >= from && w < from + hot_ranges[HOT_LATENCY].to - hot_ranges[HOT_LATENCY].from;
}

/* Syscalls of every class in the hot words (they start with syscalls[]). */
static __u64 syscalls_of(const __u64 *hot)
{
	__u64 n = 0;
	int c;

	for (c = 0; c < SW_CLASS_MAX; c++)
		n += hot[c];
	return n;
}

/*
 * Adds to each agent's hot counters the estimate of what the hooks did not see while
 * detached, ratio being the fraction of the tick they were attached: exact seen + estimated
 * unseen, monotonic by construction (overhead__extrapolate()). The syscall latency histogram,
 * timed for a sample (latency sampling, the duty cycle), is calibrated to the agent's syscall
 * count so estimated (overhead__calibrate()): its `_count` is that count. Both estimates
 * are kept in the kernel (struct sw_unseen) so that they continue across a restart.
 */
static void extrapolate(struct tick *t, struct snapshot *s, double ratio)
{
	struct sw_unseen u;
	__u64 out[HOT_WORDS];
	bool calibrated;
	size_t r, w, n;
	int i, err;

	for (i = 0; i < s->nagents; i++) {
		__u64 *words = (__u64 *)&s->agents[i].s;
		__u32 slot = s->agents[i].slot;
		struct hot_slot *h;

		if (slot > t->cfg->max_agents)
			continue;
		h = &t->b.slots[slot];
		/* What an earlier run of the daemon estimated, kept beside the counters. */
		if (!h->set && !kernel__unseen(t->k, slot, &u, false))
			for (w = 0; w < HOT_WORDS; w++)
				h->unseen[w] = is_lat_word(w) ? (__s64)u.q8[w] / 256.0
							      : u.q8[w] / 256.0;
		calibrated = false;
		for (r = 0, w = 0; r < HOT_RANGES; r++, w += n) {
			/*
			 * An agent first seen after the first tick started in this run: what it
			 * counted, it counted in this tick's window (last is zero).
			 */
			bool first = !h->set && !t->b.measured;

			n = hot_ranges[r].to - hot_ranges[r].from;
			if (r == HOT_LATENCY)
				calibrated = overhead__calibrate(words + hot_ranges[r].from,
								 h->last + w, h->unseen + w,
								 out + w, (int)n - 1,
								 syscalls_of(out), first);
			else
				overhead__extrapolate(words + hot_ranges[r].from, h->last + w,
						      h->unseen + w, out + w, n, ratio, first);
			memcpy(words + hot_ranges[r].from, out + w, n * sizeof(__u64));
		}
		h->set = true;
		if (!(ratio < 1) && !calibrated)
			continue;
		for (w = 0; w < HOT_WORDS; w++)
			u.q8[w] = is_lat_word(w) ? (__u64)llround(h->unseen[w] * 256)
						 : (__u64)(h->unseen[w] * 256);
		err = kernel__unseen(t->k, slot, &u, true);
		if (err && !t->b.warned) {
			pr_warn("overhead budget: cannot keep the estimate of agent %s in the kernel "
				"(%s): after a restart its extrapolated counters restart lower",
				s->agents[i].name, strerror(-err));
			t->b.warned = true;
		}
	}
}

/* Attaches or detaches the hot hooks as the duty cycle says (change: 1, -1 or 0). */
static void duty_apply(struct tick *t, int change)
{
	/* A hook that failed to attach again is retried while the others are attached. */
	int err = change || kernel__hot_missing(t->k) ? kernel__hot_attach(t->k, change >= 0) : 0;

	if (change > 0)
		overhead__cycle_attached(&t->b.cycle, clock__mono_ns());
	else if (change < 0 && !err)
		overhead__cycle_detached(&t->b.cycle, kernel__hot_gone_ns(t->k));

	/* A hook that cannot attach is logged by kernel.c once, not at every retry. */
	if (err && change < 0)
		pr_warn("overhead budget: cannot detach the syscall and sched hooks (%s); retrying "
			"at the next tick",
			strerror(-err));
}

/*
 * The overhead budget (overhead.h): what the hooks cost the host in the tick that ends now,
 * the agents' hot counters extrapolated from the part of it they were attached, and the duty
 * cycle of the next tick. With the budget off or no hot hooks, only measures.
 */
static void stage_budget(struct tick *t, struct snapshot *s, __u64 now)
{
	struct budget *b = &t->b;
	struct kernel_cpu_events ev;
	struct overhead_tick o = {.ncpus = b->ncpus};
	__u64 tracked = tracked_syscalls(s), ctxt = host_switches(), start = b->cycle.tick_ns;
	double ratio = 1, target, lag;
	struct timespec rt;
	__u64 read_ns;
	int c;

	kernel__cpu_events(t->k, &ev);
	s->latency_sampling_ratio = 1;
	/*
	 * The tick's time ends when the counters were read: what the hooks saw after that, and
	 * the time they were attached for it, belong to the next tick alike.
	 */
	clock_gettime(CLOCK_REALTIME, &rt);
	lag = rt.tv_sec + rt.tv_nsec / 1e9 - s->time;
	read_ns = lag > 0 && lag * 1e9 < now - start ? now - (__u64)(lag * 1e9) : now;
	if (b->on)
		ratio = overhead__cycle_end(&b->cycle, read_ns);
	if (b->on && b->measured && ratio > 0) {
		o.seconds = (read_ns - start) / 1e9;
		o.attached = ratio;
		o.syscalls = (tracked >= b->tracked ? tracked - b->tracked : 0) +
			     (ev.untracked - b->ev.untracked);
		o.timed = ev.timed - b->ev.timed;
		o.switches = (__u64)((ctxt >= b->ctxt ? ctxt - b->ctxt : 0) * ratio);
		s->overhead_ratio = overhead__share(&b->costs, &o);
		b->cost_s += s->overhead_ratio * o.seconds * b->ncpus;
		b->host_seen += o.syscalls;
		b->host_unseen += o.syscalls * (1 / ratio - 1);
		if (tracked > b->tracked)
			s->latency_sampling_ratio = (double)o.timed / (tracked - b->tracked);
		if (s->latency_sampling_ratio > 1)
			s->latency_sampling_ratio = 1;
		b->full = overhead__smooth(b->full, s->overhead_ratio / ratio,
					   t->cfg->overhead_budget, ratio);
		b->duty = overhead__duty(b->full, 1, t->cfg->overhead_budget);
		/*
		 * While it binds, aim below or above the budget by what was overspent or not. A
		 * tick seen whole (the storm's first, found at full capture) is what finding it
		 * costs, not repaid; the debt is kept through it.
		 */
		target = overhead__target(&b->debt,
					  ratio < 1 ? s->overhead_ratio : t->cfg->overhead_budget,
					  t->cfg->overhead_budget, o.seconds,
					  t->cfg->interval_ns / 1e9, b->duty < 1);
		if (b->duty < 1)
			b->duty = fmin(overhead__duty(b->full, 1, target), 1);
	}
	/*
	 * Not attached at all this tick: nothing was seen, and the next tick stands for both;
	 * the counters still carry the estimate made so far.
	 */
	extrapolate(t, s, ratio > 0 ? ratio : 1);
	b->measured = true;
	if (ratio > 0) {
		b->tracked = tracked;
		b->ev = ev;
		b->ctxt = ctxt;
	}
	for (c = 0; c < COLLECTOR_MAX; c++)
		s->sampling_ratio[c] = c == COLLECTOR_SYSCALLS || c == COLLECTOR_SCHED ? ratio : 1;
	s->overhead_budget = t->cfg->overhead_budget;
	s->host_syscalls = b->host_seen + (__u64)b->host_unseen;
	s->overhead_seconds = b->cost_s;
	kernel__lat_tick(t->k);
	if (b->on)
		duty_apply(t, overhead__cycle_plan(&b->cycle, now, b->duty));
}

__u64 tick__duty_at(const struct tick *t)
{
	return overhead__cycle_due(&t->b.cycle);
}

void tick__duty(struct tick *t, __u64 now)
{
	duty_apply(t, overhead__cycle_step(&t->b.cycle, now));
}

/* Anomaly scores and forecasts; the snapshot goes out without them if this fails. */
static void stage_detect(struct tick *t, struct snapshot *s)
{
	if (anomaly__update(t->anomaly, s))
		pr_warn("tick: no anomaly scores this tick: out of memory");
}

/*
 * Incidents from this tick's anomalies and the alerts that fired by the last tick (the
 * published snapshot's); the alert stage then takes each alert's likely cause from them.
 */
static void stage_incident(struct tick *t, struct snapshot *s)
{
	struct snapshot *prev;

	if (!t->incidents)
		return;
	prev = snapshot__acquire(&t->slot);
	if (incidents__tick(t->incidents, s, prev ? prev->alerts : NULL))
		pr_warn("tick: no incidents this tick: out of memory");
	snapshot__release(prev);
}

/* Alert rules and notifications; the snapshot goes out without its alert view if this fails. */
static void stage_alert(struct tick *t, struct snapshot *s)
{
	int err = t->alerting ? alerting__tick(t->alerting, s) : 0;

	if (err)
		pr_warn("tick: alerts not queued this tick (%s); they are made again next tick",
			strerror(-err));
}

/* Instances' circuit breakers and routing weights, before the stages that read figures. */
static void stage_breakers(struct tick *t, struct snapshot *s)
{
	int err = t->scaling ? scaling__breakers(t->scaling, s) : 0;

	if (err)
		pr_warn("tick: breakers not updated this tick (%s)", strerror(-err));
}

/* Pool decisions and their actions; the snapshot goes out without its pool view if this fails. */
static void stage_scale(struct tick *t, struct snapshot *s)
{
	int err = t->scaling ? scaling__tick(t->scaling, s) : 0;

	if (err)
		pr_warn("tick: a scaling action was not queued this tick (%s)", strerror(-err));
}

int tick__run(struct tick *t)
{
	__u64 t0 = clock__mono_ns();
	struct snapshot *s;
	int err;

	stage_drain(t, t0);
	s = snapshot__new();
	if (!s)
		return -ENOMEM;
	err = stage_sample(t, s);
	if (err) {
		snapshot__put(s);
		return err;
	}
	stage_budget(t, s, clock__mono_ns());
	stage_reclaim(t, s, t0);
	stage_apps(t, s);
	stage_llm(t, s);
	stage_cost(t, s);
	stage_breakers(t, s);
	stage_store(t, s);
	stage_detect(t, s);
	stage_save(t);
	stage_incident(t, s);
	stage_alert(t, s);
	stage_scale(t, s);
	s->tick_seconds = (clock__mono_ns() - t0) / 1e9;
	snapshot__publish(&t->slot, s);
	return 0;
}
