/* SPDX-License-Identifier: MIT */
/*
 * snapshot: what one tick saw, as plain data. The collector fills it, the stages of tick.c
 * attach their views, and it is published into a slot that HTTP threads read from. Once
 * published it is immutable and reference-counted, so readers render it while the next tick
 * runs. No loader, TLS or configuration types: a consumer includes this header alone.
 */
#ifndef SW_SNAPSHOT_H
#define SW_SNAPSHOT_H

#include <linux/types.h>
#include <pthread.h>
#include <stdbool.h>

#include "store.h"
#include "swarmwatch.h"
#include "tenancy.h"

/* One agent's cumulative state at a tick. */
struct agent_snap {
	char name[SW_NAME_LEN];
	__u32 slot;
	__u32 instances;
	__u64 user_starts; /* starts the daemon classified */
	__u64 rss_bytes; /* resident memory of its processes at this tick (if rss_up) */
	struct sw_agent_stats s;
	__u8 errno_shown[SW_ERRNO_SLOTS]; /* 1: exported under its own name */
};

/* Requests of one agent to or from one upstream, in one role, with one status. */
struct request_series {
	int agent; /* index into snapshot agents */
	char upstream[80]; /* configured name, "host:port", "ip:port", or "other" */
	__u8 role; /* enum sw_role */
	__u8 status; /* enum sw_status, 1..5 for the HTTP class */
	__u64 count;
	__u64 lat[SW_LAT_SLOTS];
	__u64 lat_sum_ns;
};

/*
 * One live instance of an agent (a process tree whose root a rule matched) with what its
 * processes' sockets did, summed over the processes of the tree the kernel counted
 * (`proc_requests`). Connections open before the daemon started are not in these figures.
 */
struct instance_snap {
	int agent; /* index into snapshot agents */
	__s32 pid; /* its root process */
	char name[SW_NAME_LEN]; /* SWARMWATCH_INSTANCE in the root's environment, else the pid */
	__u64 requests; /* cumulative, since the daemon saw the instance */
	__u64 failures; /* ... of which 5xx or failed (reset, timeout) */
	__u64 lat_sum_ns; /* ... their latency summed */
	__u32 connections; /* live TCP connections now */
};

/* Run-time statistics of one BPF program (kernel.bpf_stats_enabled). */
struct prog_stat {
	const char *name; /* static: lives as long as the process */
	__u64 run_ns;
	__u64 runs;
};

/* Size and fill of one BPF map. */
struct map_stat {
	const char *name; /* static: lives as long as the process */
	__u32 max_entries;
	__s64 entries; /* -1 when the map type cannot be counted */
	__u64 memory_bytes; /* memlock the kernel charges for it */
};

#define SNAPSHOT_MAX_PROGS 24
#define SNAPSHOT_MAX_MAPS 48 /* the BPF object has 34 (user/kernel.c checks at build time) */

struct anomaly_view;
struct alert_view;
struct app_view;
struct llm_view;
struct scale_view;
struct breaker_view;
struct cost_view;
struct incident_view;

struct snapshot {
	int refs;
	double time; /* unix time the tick read the counters */
	__u64 ticks;
	double tick_seconds; /* how long the tick took */
	int nagents;
	struct agent_snap *agents; /* malloc'd */
	struct request_series *requests; /* malloc'd; sorted by agent, upstream, role, status */
	int nrequests;
	struct instance_snap *instances; /* malloc'd; live instances, sorted by agent, then pid */
	int ninstances;
	__u64 counters[SW_CNT_MAX];
	__u64 slots_reclaimed; /* agent slots freed from retired agents since start */
	bool up[COLLECTOR_MAX];
	/*
	 * Fraction of the tick each collector's hooks were attached, (0, 1]: below 1 the overhead
	 * budget duty-cycled them and their agent counters are extrapolated (what they saw plus
	 * the estimate of what they did not, overhead__extrapolate()).
	 */
	double sampling_ratio[COLLECTOR_MAX];
	double latency_sampling_ratio; /* tracked syscalls timed / counted this tick; 1 if none */
	double overhead_ratio; /* share of host CPU the BPF programs cost this tick, estimated */
	double overhead_budget; /* the bound on it (overhead_budget); 0: none */
	__u64 host_syscalls; /* syscalls of every task through the hooks, extrapolated */
	double overhead_seconds; /* CPU seconds the hooks cost since start, estimated */
	bool rss_up; /* the task iterator ran: agents' rss_bytes are set */
	struct prog_stat progs[SNAPSHOT_MAX_PROGS];
	int nprogs;
	struct map_stat maps[SNAPSHOT_MAX_MAPS];
	int nmaps;
	bool tls_configured; /* some agent has TLS capture on in the configuration */
	bool tls_up; /* ... and its hooks run */
	__u32 tls_processes; /* processes with the OpenSSL probes attached */
	__u64 tls_attach_failures; /* processes whose probes could not be attached */
	struct agent_tenant *tenants; /* malloc'd: tenants identity rules gave agent names */
	int ntenants; /* sorted by agent (tenancy.h); 0 when no rule has a "tenant" */
	bool store_on; /* the series store runs: store holds its counters */
	struct store_stats store;
	/*
	 * Views the stages attach, each with its destructor (called with the view when the
	 * snapshot is freed; NULL: the view is not freed). NULL views are unavailable this tick.
	 */
	struct anomaly_view *anomalies; /* scores and episodes of the tick */
	void (*anomalies_free)(struct anomaly_view *v);
	struct alert_view *alerts; /* alerts and notification counters of the tick */
	void (*alerts_free)(struct alert_view *v);
	struct app_view *apps; /* app metrics (StatsD) and the listener's counters; NULL: off */
	void (*apps_free)(struct app_view *v);
	struct llm_view *llm; /* LLM calls (llm.h); NULL: LLM capture is off */
	void (*llm_free)(struct llm_view *v);
	struct scale_view *scale; /* pools and scaling decisions; NULL: no pools configured */
	void (*scale_free)(struct scale_view *v);
	struct breaker_view *breakers; /* instances' breakers and weights; NULL: no pools */
	void (*breakers_free)(struct breaker_view *v);
	struct cost_view *cost; /* the day's spend per agent and budgets; NULL: off */
	void (*cost_free)(struct cost_view *v);
	struct incident_view *incidents; /* open and recent incidents; NULL: alerts are off */
	void (*incidents_free)(struct incident_view *v);
};

/* A zeroed snapshot holding one reference; NULL on out of memory. */
struct snapshot *snapshot__new(void);

/* Takes one more reference on s. */
void snapshot__get(struct snapshot *s);

/* Drops a reference; the last one frees s, its arrays and its views. NULL is ignored. */
void snapshot__put(struct snapshot *s);

/*
 * The publication slot: the latest published snapshot. Written by the tick thread, read by any
 * thread; readers never block the writer for longer than a pointer swap.
 */
struct snapshot_slot {
	pthread_mutex_t lock;
	pthread_cond_t published; /* broadcast at each publish */
	struct snapshot *current;
	__u64 seq; /* publishes so far */
};

void snapshot__slot_init(struct snapshot_slot *slot);

/* Drops the slot's snapshot; readers must have released theirs. */
void snapshot__slot_fini(struct snapshot_slot *slot);

/* Publishes s, taking over the caller's reference; s must not change afterwards. */
void snapshot__publish(struct snapshot_slot *slot, struct snapshot *s);

/* The latest snapshot with a reference taken, or NULL before the first publish. */
struct snapshot *snapshot__acquire(struct snapshot_slot *slot);

/*
 * snapshot__wait - waits up to timeout_ms milliseconds for a publish after the seen-th one and
 * returns the number of publishes so far (seen when none came in time). Readers that follow every
 * tick (the event stream) wait here; the tick never waits for them.
 */
__u64 snapshot__wait(struct snapshot_slot *slot, __u64 seen, int timeout_ms);

/* Gives back a reference from snapshot__acquire(); NULL is ignored. */
void snapshot__release(struct snapshot *s);

#endif
