// SPDX-License-Identifier: MIT
/*
 * Per-tick sampling: reads the cumulative counters of the kernel into a snapshot, with the
 * labels they are exported under.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "collector.h"
#include "identity.h"
#include "kernel.h"
#include "log.h"

#define UPSTREAM_LEN 80 /* a host name (63) with its port */

struct collector {
	const struct config *cfg;
	struct kernel *k;
	const struct identity *id;
	__u32 nslots; /* max_agents + 1 */
	char (*names)[SW_NAME_LEN]; /* slot -> name, "" if unused */
	struct kernel_read r; /* what the last tick read, with per-slot scratch arrays */
	bool rss_failed; /* sampling it failed at the last tick (warned when it starts failing) */
	__u8 (*shown)[SW_ERRNO_SLOTS]; /* sticky errno labels per slot */
	__u64 *activity; /* per slot: sum of its event counters at the last change */
	__u64 *active_ns; /* per slot: when those counters last moved (monotonic) */
	char *upstreams; /* per slot: top_upstreams labels of UPSTREAM_LEN bytes, "" if free */
	int *agent_index; /* per slot: index in the snapshot being built, -1 if none */
	int request_entries; /* series in the kernel's request table at the last tick */
	bool *retired; /* per slot: a named agent no longer exported */
	bool *idle; /* per slot: retired at the last sample, so without a live instance */
	struct proc_seen *procs; /* processes with a `proc_requests` entry, as last read */
	int nprocs, procs_cap;
	struct inst_acc *insts; /* instances seen, with what their processes did */
	int ninsts, insts_cap;
	bool procs_primed; /* the first read is done: what the pinned table held is not new */
};

/* One process's counters as last read, and the instance they add to. */
struct proc_seen {
	struct sw_proc_key key;
	pid_t root; /* 0: belongs to no instance (yet) */
	__u32 misses; /* ticks its root was looked for in vain */
	struct sw_proc_stats last;
	bool seen; /* in this tick's read */
};

/* One instance: what its processes did since the daemon first saw it. */
struct inst_acc {
	__u32 slot;
	pid_t pid;
	char name[SW_NAME_LEN];
	__u64 requests, failures, lat_sum_ns;
	__u32 connections; /* this tick */
	bool live; /* a root now */
};

static void on_name(void *ctx, const char *name, __u32 slot)
{
	struct collector *col = ctx;

	if (slot > 0 && slot < col->nslots)
		snprintf(col->names[slot], SW_NAME_LEN, "%s", name);
}

struct collector *collector__new(const struct config *c, struct kernel *k,
				 const struct identity *id)
{
	struct collector *col = calloc(1, sizeof(*col));

	if (!col)
		return NULL;
	col->cfg = c;
	col->k = k;
	col->id = id;
	col->nslots = c->max_agents + 1;
	col->names = calloc(col->nslots, sizeof(*col->names));
	col->r.nslots = col->nslots;
	col->r.on_name = on_name;
	col->r.ctx = col;
	col->r.stats = calloc(col->nslots, sizeof(*col->r.stats));
	col->r.rss = calloc(col->nslots, sizeof(*col->r.rss));
	col->r.user_starts = calloc(col->nslots, sizeof(*col->r.user_starts));
	col->r.user_opened = calloc(col->nslots, sizeof(*col->r.user_opened));
	col->shown = calloc(col->nslots, sizeof(*col->shown));
	col->activity = calloc(col->nslots, sizeof(*col->activity));
	col->active_ns = calloc(col->nslots, sizeof(*col->active_ns));
	col->upstreams = calloc((size_t)col->nslots * c->top_upstreams, UPSTREAM_LEN);
	col->agent_index = calloc(col->nslots, sizeof(*col->agent_index));
	col->retired = calloc(col->nslots, sizeof(*col->retired));
	col->idle = calloc(col->nslots, sizeof(*col->idle));
	if (!col->idle || !col->names || !col->r.stats || !col->r.rss || !col->r.user_starts ||
	    !col->r.user_opened || !col->shown || !col->activity || !col->active_ns ||
	    !col->upstreams || !col->agent_index || !col->retired) {
		collector__free(col);
		errno = ENOMEM;
		return NULL;
	}
	return col;
}

void collector__free(struct collector *col)
{
	if (!col)
		return;
	free(col->names);
	free(col->r.stats);
	free(col->r.rss);
	free(col->r.user_starts);
	free(col->r.user_opened);
	free(col->shown);
	free(col->activity);
	free(col->active_ns);
	free(col->upstreams);
	free(col->agent_index);
	free(col->retired);
	free(col->idle);
	free(col->procs);
	free(col->insts);
	free(col);
}

void collector__pick_errnos(const __u64 *errors, __u8 *shown, int top)
{
	int n = 0, e, best;

	for (e = 1; e < SW_ERRNO_SLOTS; e++)
		n += shown[e];
	while (n < top) {
		best = 0;
		for (e = 1; e < SW_ERRNO_SLOTS; e++)
			if (!shown[e] && errors[e] && (!best || errors[e] > errors[best]))
				best = e;
		if (!best)
			break;
		shown[best] = 1;
		n++;
	}
}

/* A number that grows whenever the agent does anything the kernel counts. */
static __u64 activity_of(const struct sw_agent_stats *s, __u64 user_starts)
{
	__u64 sum = s->cpu_ns + s->page_faults + s->process_starts + s->oom_kills + user_starts +
		    s->ctx_voluntary + s->ctx_involuntary;
	int i;

	for (i = 0; i < SW_CLASS_MAX; i++)
		sum += s->syscalls[i];
	for (i = 0; i < SW_EXIT_MAX; i++)
		sum += s->process_exits[i];
	return sum;
}

/*
 * Whether an agent is still exported: it has live instances, or its
 * counters moved within agent_retention. A retired agent keeps its kernel
 * counters and slot, and reappears where it left off when it comes back.
 */
static bool agent_current(struct collector *col, __u32 slot, __u32 instances, __u64 activity,
			  __u64 now)
{
	if (!col->active_ns[slot] || activity != col->activity[slot]) {
		col->activity[slot] = activity;
		col->active_ns[slot] = now;
	}
	return instances > 0 || now - col->active_ns[slot] < col->cfg->agent_retention_ns;
}

/*
 * The upstream label of a peer for agent `slot`: its name or ip:port while
 * the agent has fewer than top_upstreams labels, "other" after that. A
 * label once given stays, so "other" never decreases.
 */
static const char *upstream_for(struct collector *col, __u32 slot, const char *label)
{
	char *list = col->upstreams + (size_t)slot * col->cfg->top_upstreams * UPSTREAM_LEN;
	int i;

	for (i = 0; i < col->cfg->top_upstreams; i++) {
		char *u = list + (size_t)i * UPSTREAM_LEN;

		if (!u[0]) {
			snprintf(u, UPSTREAM_LEN, "%s", label);
			return u;
		}
		if (!strcmp(u, label))
			return u;
	}
	return "other";
}

struct request_build {
	struct collector *col;
	struct snapshot *s;
	int cap;
	int entries; /* series in the kernel's table */
	struct sw_req_key *stale; /* series of retired agents, to delete */
	int nstale, stale_cap;
};

/*
 * Remembers a series of a retired agent: its counters left the exposition
 * when the agent did, so the kernel's table can let it go. If the agent
 * comes back, the series starts again from zero, as a new series would.
 */
static void keep_stale(struct request_build *rb, const struct sw_req_key *k)
{
	if (rb->nstale == rb->stale_cap) {
		int cap = rb->stale_cap ? rb->stale_cap * 2 : 16;
		struct sw_req_key *n = realloc(rb->stale, cap * sizeof(*n));

		if (!n)
			return; /* deleted on a later tick */
		rb->stale = n;
		rb->stale_cap = cap;
	}
	rb->stale[rb->nstale++] = *k;
}

static void on_request(void *ctx, const struct sw_req_key *k, const struct sw_req_stats *v)
{
	struct request_build *rb = ctx;
	struct snapshot *s = rb->s;
	char label[UPSTREAM_LEN], host[SW_HOST_LEN];
	struct request_series *r;
	const char *up;
	int agent, i;

	if (k->slot >= rb->col->nslots)
		return;
	agent = rb->col->agent_index[k->slot];
	if (agent < 0) {
		if (rb->col->retired[k->slot])
			keep_stale(rb, k);
		return; /* an agent not exported */
	}
	host[0] = 0;
	if (k->host && kernel__host_name(rb->col->k, k->host, host, sizeof(host)))
		host[0] = 0; /* gone or not a DNS name: the address labels the peer */
	config__upstream_label(rb->col->cfg, k->family, k->addr, k->port, host, label,
			       sizeof(label));
	up = upstream_for(rb->col, k->slot, label);
	for (i = 0; i < s->nrequests; i++) {
		r = &s->requests[i];
		if (r->agent == agent && r->role == k->role && r->status == k->status &&
		    !strcmp(r->upstream, up))
			goto add;
	}
	if (s->nrequests == rb->cap) {
		int cap = rb->cap ? rb->cap * 2 : 64;

		r = realloc(s->requests, cap * sizeof(*r));
		if (!r)
			return; /* the series is missing from this tick only */
		s->requests = r;
		rb->cap = cap;
	}
	r = &s->requests[s->nrequests++];
	memset(r, 0, sizeof(*r));
	r->agent = agent;
	r->role = k->role;
	r->status = k->status;
	snprintf(r->upstream, sizeof(r->upstream), "%s", up);
add:
	r->count += v->count;
	r->lat_sum_ns += v->lat_sum_ns;
	for (i = 0; i < SW_LAT_SLOTS; i++)
		r->lat[i] += v->lat[i];
}

static int cmp_series(const void *a, const void *b)
{
	const struct request_series *x = a, *y = b;
	int c;

	if (x->agent != y->agent)
		return x->agent - y->agent;
	c = strcmp(x->upstream, y->upstream);
	if (c)
		return c;
	if (x->role != y->role)
		return x->role - y->role;
	return x->status - y->status;
}

/* Reads the kernel's request series into s, labelled and folded per agent. */
static void collect_requests(struct collector *col, struct snapshot *s)
{
	struct request_build rb = {.col = col, .s = s};
	__u32 slot;
	int i;

	for (slot = 0; slot < col->nslots; slot++)
		col->agent_index[slot] = -1;
	for (i = 0; i < s->nagents; i++)
		col->agent_index[s->agents[i].slot] = i;
	rb.entries = kernel__for_each_request(col->k, on_request, &rb);
	for (i = 0; i < rb.nstale; i++)
		rb.entries -= !kernel__delete_request(col->k, &rb.stale[i]);
	free(rb.stale);
	col->request_entries = rb.entries;
	if (s->nrequests)
		qsort(s->requests, s->nrequests, sizeof(*s->requests), cmp_series);
}

static struct inst_acc *inst_find(struct collector *col, __u32 slot, pid_t pid, bool create)
{
	struct inst_acc *x;
	int i;

	for (i = 0; i < col->ninsts; i++)
		if (col->insts[i].slot == slot && col->insts[i].pid == pid)
			return &col->insts[i];
	if (!create)
		return NULL;
	if (col->ninsts == col->insts_cap) {
		int cap = col->insts_cap ? col->insts_cap * 2 : 64;

		x = realloc(col->insts, cap * sizeof(*x));
		if (!x)
			return NULL;
		col->insts = x;
		col->insts_cap = cap;
	}
	x = &col->insts[col->ninsts++];
	memset(x, 0, sizeof(*x));
	x->slot = slot;
	x->pid = pid;
	identity__instance_name(pid, x->name);
	return x;
}

static void on_proc(void *ctx, const struct sw_proc_key *k, const struct sw_proc_stats *v)
{
	struct collector *col = ctx;
	struct proc_seen *p = NULL;
	struct inst_acc *x;
	int i;

	for (i = 0; i < col->nprocs; i++)
		if (col->procs[i].key.slot == k->slot && col->procs[i].key.tgid == k->tgid) {
			p = &col->procs[i];
			break;
		}
	if (!p) {
		if (col->nprocs == col->procs_cap) {
			int cap = col->procs_cap ? col->procs_cap * 2 : 64;

			p = realloc(col->procs, cap * sizeof(*p));
			if (!p)
				return;
			col->procs = p;
			col->procs_cap = cap;
		}
		p = &col->procs[col->nprocs++];
		memset(p, 0, sizeof(*p));
		p->key = *k;
	}
	/*
	 * Until its root is known (the kernel's event may come a tick late), and again once that
	 * root has exited (the process was orphaned, or moved under another root).
	 */
	if (p->root && identity__root_of(col->id, k->slot, p->root) != p->root)
		p->root = 0;
	/* The parents are read from /proc: at each of the first ticks, then every 10th. */
	if (!p->root && (p->misses < 3 || p->misses % 10 == 0)) {
		p->root = identity__root_of(col->id, k->slot, (pid_t)k->tgid);
		p->misses = p->root ? 0 : p->misses + 1;
	} else if (!p->root) {
		p->misses++;
	}
	p->seen = true;
	/* What processes did before this daemon started (pinned table) is nobody's news. */
	x = p->root && col->procs_primed ? inst_find(col, k->slot, p->root, true) : NULL;
	if (x) {
		/* Counters only grow while the entry lives: a smaller value is a new entry. */
		x->requests += v->requests >= p->last.requests ? v->requests - p->last.requests
							       : v->requests;
		x->failures += v->failures >= p->last.failures ? v->failures - p->last.failures
							       : v->failures;
		x->lat_sum_ns += v->lat_sum_ns >= p->last.lat_sum_ns
					 ? v->lat_sum_ns - p->last.lat_sum_ns
					 : v->lat_sum_ns;
		if (v->tcp_opened > v->tcp_closed)
			x->connections += (__u32)(v->tcp_opened - v->tcp_closed);
	}
	/* Until its root is found, what it does waits to be added to its instance. */
	if (x || !col->procs_primed)
		p->last = *v;
}

static int cmp_instance(const void *a, const void *b)
{
	const struct instance_snap *x = a, *y = b;

	if (x->agent != y->agent)
		return x->agent - y->agent;
	return (x->pid > y->pid) - (x->pid < y->pid);
}

/*
 * Reads the per-process counters into the instances of the agents of s: each process adds to
 * the instance its tree hangs from; entries of processes that exited are deleted from the
 * kernel's table (what they did stays with their instance).
 */
static void collect_instances(struct collector *col, struct snapshot *s)
{
	pid_t *roots = NULL;
	int i, j, n, cap = 0;

	for (i = 0; i < col->nprocs; i++)
		col->procs[i].seen = false;
	for (i = 0; i < col->ninsts; i++) {
		col->insts[i].connections = 0;
		col->insts[i].live = false;
	}
	kernel__for_each_proc(col->k, on_proc, col);
	for (i = 0, j = 0; i < col->nprocs; i++) {
		struct proc_seen *p = &col->procs[i];

		if (!p->seen)
			continue; /* deleted or reclaimed */
		if (kill((pid_t)p->key.tgid, 0) && errno == ESRCH) {
			kernel__delete_proc(col->k, &p->key);
			continue;
		}
		col->procs[j++] = *p;
	}
	col->nprocs = j;
	col->procs_primed = true;
	/* Every live root is an instance, with or without requests. */
	for (i = 0; i < s->nagents; i++) {
		struct agent_snap *a = &s->agents[i];

		if (!a->instances || a->slot == SW_SLOT_OTHER)
			continue;
		if ((int)a->instances > cap) {
			pid_t *r = realloc(roots, a->instances * sizeof(*r));

			if (!r)
				continue;
			roots = r;
			cap = a->instances;
		}
		n = identity__roots(col->id, a->slot, roots, cap);
		for (j = 0; j < n; j++) {
			struct inst_acc *x = inst_find(col, a->slot, roots[j], true);

			if (x)
				x->live = true;
		}
	}
	free(roots);
	s->instances = calloc(col->ninsts + 1, sizeof(*s->instances));
	for (i = 0, j = 0; i < col->ninsts; i++) {
		struct inst_acc *x = &col->insts[i];
		int agent = x->slot < col->nslots ? col->agent_index[x->slot] : -1;

		if (!x->live)
			continue;
		col->insts[j++] = *x;
		if (!s->instances || agent < 0)
			continue;
		s->instances[s->ninstances++] = (struct instance_snap){
			.agent = agent,
			.pid = x->pid,
			.requests = x->requests,
			.failures = x->failures,
			.lat_sum_ns = x->lat_sum_ns,
			.connections = x->connections,
		};
		memcpy(s->instances[s->ninstances - 1].name, x->name, SW_NAME_LEN);
	}
	col->ninsts = j;
	if (s->ninstances)
		qsort(s->instances, s->ninstances, sizeof(*s->instances), cmp_instance);
}

/* Whether resident memory was sampled; warns once when sampling starts failing. */
static bool rss_sampled(struct collector *col)
{
	int err = col->r.rss_err;

	if (err == -ENOTSUP)
		return false; /* the iterator does not run here: said once at start */
	if (err < 0 && !col->rss_failed)
		pr_warn("collector: cannot sample resident memory: %s", strerror(-err));
	col->rss_failed = err < 0;
	return err >= 0;
}

static bool stats_empty(const struct sw_agent_stats *s)
{
	static const struct sw_agent_stats zero;

	return !memcmp(s, &zero, sizeof(zero));
}

int collector__sample(struct collector *col, struct snapshot *s)
{
	__u64 t0 = clock__ns(CLOCK_MONOTONIC);
	struct kernel_read *r = &col->r;
	int n = 0, err, i;
	__u32 slot;

	err = kernel__read(col->k, r);
	if (err < 0) {
		pr_warn("collector: cannot read agent counters: %s", strerror(-err));
		return err;
	}
	s->time = r->time;
	s->agents = calloc(r->nread ? r->nread : 1, sizeof(*s->agents));
	if (!s->agents)
		return -ENOMEM;
	memcpy(s->counters, r->counters, sizeof(s->counters));
	s->rss_up = rss_sampled(col);
	memset(col->idle, 0, col->nslots * sizeof(*col->idle));
	for (slot = 0; slot < r->nread; slot++) {
		struct agent_snap *a = &s->agents[n];

		if (slot == SW_SLOT_OTHER) {
			if (stats_empty(&r->stats[slot]) && !s->counters[SW_CNT_FOLDED])
				continue;
			snprintf(a->name, sizeof(a->name), "other");
		} else if (!col->names[slot][0]) {
			continue;
		} else {
			memcpy(a->name, col->names[slot], sizeof(a->name));
		}
		a->slot = slot;
		a->instances = identity__instances(col->id, slot);
		a->user_starts = r->user_starts[slot];
		a->rss_bytes = s->rss_up ? r->rss[slot] : 0;
		col->retired[slot] = !agent_current(
			col, slot, a->instances, activity_of(&r->stats[slot], a->user_starts), t0);
		if (col->retired[slot]) {
			col->idle[slot] = slot != SW_SLOT_OTHER;
			continue;
		}
		a->s = r->stats[slot];
		a->s.tcp_opened += r->user_opened[slot];
		collector__pick_errnos(a->s.syscall_errors, col->shown[slot], col->cfg->top_errnos);
		memcpy(a->errno_shown, col->shown[slot], sizeof(a->errno_shown));
		n++;
	}
	s->nagents = n;
	n = identity__tenants(col->id, &s->tenants);
	s->ntenants = n > 0 ? n : 0; /* out of memory: tenant tokens see no agent this tick */
	collect_requests(col, s);
	collect_instances(col, s);
	memcpy(s->up, r->up, sizeof(s->up));
	s->nprogs = r->nprogs;
	memcpy(s->progs, r->progs, r->nprogs * sizeof(*s->progs));
	s->nmaps = r->nmaps;
	memcpy(s->maps, r->maps, r->nmaps * sizeof(*s->maps));
	for (i = 0; i < s->nmaps; i++) {
		if (!strcmp(s->maps[i].name, "cgroup_agents"))
			s->maps[i].entries = identity__cgroup_count(col->id);
		else if (!strcmp(s->maps[i].name, "requests"))
			s->maps[i].entries = col->request_entries;
	}
	return 0;
}

const bool *collector__idle(const struct collector *col)
{
	return col->idle;
}

void collector__forget(struct collector *col, const __u32 *slots, int n)
{
	size_t ups = (size_t)col->cfg->top_upstreams * UPSTREAM_LEN;
	int i;

	for (i = 0; i < n; i++) {
		__u32 slot = slots[i];

		if (slot == SW_SLOT_OTHER || slot >= col->nslots)
			continue;
		col->names[slot][0] = 0;
		memset(col->shown[slot], 0, sizeof(col->shown[slot]));
		col->activity[slot] = 0;
		col->active_ns[slot] = 0;
		memset(col->upstreams + slot * ups, 0, ups);
		col->retired[slot] = false;
		col->idle[slot] = false;
	}
}
