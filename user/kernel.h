/* SPDX-License-Identifier: MIT */
#ifndef SW_KERNEL_H
#define SW_KERNEL_H

#include <linux/types.h>
#include <stdbool.h>

#include "config.h"
#include "snapshot.h"
#include "swarmwatch.h"

struct bpf_program;
struct identity_maps;

#define KERNEL_MAX_PROGS SNAPSHOT_MAX_PROGS
#define KERNEL_MAX_MAPS SNAPSHOT_MAX_MAPS

struct kernel;

typedef void (*kernel_event_fn)(void *ctx, const struct sw_event *e);

/*
 * Checks privileges and kernel support, opens the BPF object, reuses or
 * recreates the pinned maps under c->pin_path, loads and attaches every
 * collector the kernel supports. Collectors that cannot run are logged and
 * reported down; only a missing identity collector is fatal. Holds an
 * exclusive flock on the pin directory until kernel__close(), so a second
 * daemon on the same pins is refused. Returns NULL after printing a one-line
 * error.
 */
struct kernel *kernel__open(const struct config *c);

/* enum bpf_attach_type value of multi-uprobe links (Linux 6.6), newer than libbpf's headers. */
#define SW_TRACE_UPROBE_MULTI 48

/* What TLS capture works with: the OpenSSL probes (to attach per process) and maps. */
struct kernel_tls {
	struct bpf_program *ssl_write; /* uprobe: SSL_write, SSL_write_ex */
	struct bpf_program *ssl_read; /* uprobe: SSL_read */
	struct bpf_program *ssl_read_ex; /* uprobe: SSL_read_ex */
	struct bpf_program *ssl_read_ret; /* uretprobe: SSL_read, SSL_read_ex */
	struct bpf_program *ssl_write_ret; /* uretprobe: SSL_write, SSL_write_ex (memory BIOs) */
	bool multi; /* loaded for multi-uprobe links (BPF_TRACE_UPROBE_MULTI), else perf events */
	int agent_tls_fd; /* enum sw_tls_mode per slot */
	int tasks_fd;
	int names_fd;
};

/* Fills out and returns true when TLS capture is configured and its hooks run. */
bool kernel__tls(struct kernel *k, struct kernel_tls *out);

/*
 * The `udp_owners` map (struct sw_udp_key -> struct sw_udp_owner) that the kernel fills with the
 * tracked senders of UDP packets on loopback, for the StatsD listener; -ENOTSUP when its hook is
 * not attached (StatsD over UDP off, or a kernel without tp_btf or net_dev_queue).
 */
int kernel__udp_owners_fd(const struct kernel *k);

/* Sets where ring-buffer events go; none are read before this is called. */
void kernel__on_event(struct kernel *k, kernel_event_fn fn, void *ctx);

/* A record of `llm_events` (struct sw_llm_event, size bytes of it: the header and data). */
typedef void (*kernel_llm_fn)(void *ctx, const struct sw_llm_event *e, size_t size);

/*
 * Sets where LLM capture's records go (none are read before); false when LLM capture is not
 * running (no llm.upstreams, or the socket hooks are off).
 */
bool kernel__on_llm(struct kernel *k, kernel_llm_fn fn, void *ctx);

/* LLM capture's in-kernel counters (enum sw_llm_counter) summed over CPUs; 0 or -errno. */
int kernel__llm_counters(struct kernel *k, __u64 out[SW_LLM_CNT_MAX]);

/* Waits up to timeout_ms for events and delivers them; count or -errno. */
int kernel__poll(struct kernel *k, int timeout_ms);

/* Detaches everything and unpins the programs; pinned maps stay. */
void kernel__close(struct kernel *k);

/*
 * Removes every pinned map and program under pin_path; how many maps, 0 when
 * there is no such directory, -EBUSY when a running daemon holds the pin path
 * (kernel__open() locks it for the daemon's life), or -errno.
 */
int kernel__unpin(const char *pin_path);

/* Maps identity needs. */
void kernel__identity_maps(struct kernel *k, struct identity_maps *maps);

/* Delivers pending ring-buffer events to the callback; returns how many. */
int kernel__drain(struct kernel *k);

bool kernel__collector_up(const struct kernel *k, enum collector_id c);

/*
 * Reads agent_stats for slots [0, nslots) summed over CPUs into out, only as
 * far as slots have been handed out. Returns the number of slots read or
 * -errno.
 */
int kernel__read_stats(struct kernel *k, __u32 nslots, struct sw_agent_stats *out);

/* Connections the daemon found open for slot (adopted sockets); 0 when none. */
__u64 kernel__user_opened(struct kernel *k, __u32 slot);

/*
 * Counts, per slot, the tasks (threads included) that carry it: zeroes
 * `slot_tasks`, runs the task iterator once (it visits every task on the
 * host), and copies slots [0, nslots) to out. Returns the number of slots
 * copied, -ENOTSUP when the iterator does not run here, or another -errno.
 */
int kernel__count_slot_tasks(struct kernel *k, __u32 nslots, __u64 *out);

/*
 * Retires slot's sockets: bumps the slot's generation, so that sockets its
 * agent left behind (closing after the process exited, or passed to
 * another process) credit no one from now on. 0, -EINVAL for slot 0
 * ("other") or out of range, or -errno.
 */
int kernel__retire_slot(struct kernel *k, __u32 slot);

/*
 * Makes slot, whose agent is retired (kernel__retire_slot()) and which no
 * task carries any more, free for a new agent: zeroes its per-CPU counters,
 * the estimate of what the duty cycle did not see (kernel__unseen()), the
 * daemon's starts and adopted connections, its TLS decision, deletes
 * its request series, then puts it on the kernel's free list, from which
 * the next new name takes it. 0, -EINVAL for slot 0 ("other") or out of
 * range, or -errno.
 */
int kernel__release_slot(struct kernel *k, __u32 slot);

/* Calls fn for each request series in the kernel; returns how many. */
int kernel__for_each_request(struct kernel *k,
			     void (*fn)(void *ctx, const struct sw_req_key *key,
					const struct sw_req_stats *val),
			     void *ctx);

/* Deletes one request series from the kernel's table; 0 or -errno. */
int kernel__delete_request(struct kernel *k, const struct sw_req_key *key);

/* Calls fn for each process's requests and connections (`proc_requests`); returns how many. */
int kernel__for_each_proc(struct kernel *k,
			  void (*fn)(void *ctx, const struct sw_proc_key *key,
				     const struct sw_proc_stats *val),
			  void *ctx);

/* Deletes one process's entry from `proc_requests` (it exited); 0 or -errno. */
int kernel__delete_proc(struct kernel *k, const struct sw_proc_key *key);

/*
 * The host name recorded under id in `host_names` (a client's SNI or Host),
 * NUL-terminated in out (len >= SW_HOST_LEN). Returns 0, -ENOENT if there
 * is none, or -EINVAL if the entry is not a lowercase DNS name
 * ([a-z0-9.-]): the map is writable by root, and the name becomes a label.
 */
int kernel__host_name(struct kernel *k, __u64 id, char *out, size_t len);

/*
 * What one tick reads of the kernel. The caller sets nslots, the four arrays (nslots entries
 * each) and on_name; kernel__read fills the rest.
 */
struct kernel_read {
	__u32 nslots; /* slots [0, nslots) are read */
	void (*on_name)(void *ctx, const char *name, __u32 slot); /* each name in the name table */
	void *ctx;
	struct sw_agent_stats *stats; /* per slot, summed over CPUs */
	__u64 *rss; /* per slot: resident bytes of its processes (if rss_err is 0) */
	__u64 *user_starts; /* per slot: starts the daemon counted (command rules) */
	__u64 *user_opened; /* per slot: connections the daemon found open (adopted sockets) */
	double time; /* unix time the counters were read */
	__u32 nread; /* slots handed out so far, and read: [0, nread) */
	int rss_err; /* 0; -ENOTSUP when the task iterator does not run here; -errno */
	__u64 counters[SW_CNT_MAX]; /* enum sw_counter, over CPUs; folds include the daemon's */
	bool up[COLLECTOR_MAX];
	struct prog_stat progs[KERNEL_MAX_PROGS]; /* run time needs kernel.bpf_stats_enabled */
	int nprogs;
	struct map_stat maps[KERNEL_MAX_MAPS]; /* entries of agent_names and tls_pending counted */
	int nmaps;
};

/*
 * kernel__read - reads everything a tick needs of the kernel in one call: the name table, the
 * agents' counters, the in-kernel counters, resident memory (one run of the task iterator,
 * which visits every task on the host), the daemon's own per-slot counts, collectors up, and
 * program and map statistics. Request series are read apart (kernel__for_each_request), as
 * their labels need the agents read here. Returns 0, or -errno when the agents' counters
 * cannot be read (the rest of r is then unset).
 */
int kernel__read(struct kernel *k, struct kernel_read *r);

/* Events the per-CPU records counted, cumulative since start (while the hot hooks ran). */
struct kernel_cpu_events {
	__u64 untracked; /* syscalls of untracked tasks that went through the hooks: exact for
			  * tasks with task storage, a sampled estimate for the rest
			  * (SW_CENSUS_SHIFT, bpf/agent.bpf.h sw_census()) */
	__u64 timed; /* syscalls of tracked tasks that were timed (latency sampling) */
};

/*
 * Fills out with the events counted so far; untracked syscalls are counted only while the
 * sched collector runs (the CPU records). 0 or -errno (out then holds the last totals).
 */
int kernel__cpu_events(struct kernel *k, struct kernel_cpu_events *out);

/* Starts a new tick for latency sampling: each CPU chooses its N again from its last tick. */
void kernel__lat_tick(struct kernel *k);

/*
 * Reads (write false) or writes slot's estimate of what the duty-cycled hooks did not see
 * (struct sw_unseen, pinned with the counters); u NULL with write zeroes it. 0, -EINVAL for a
 * slot out of range, or -errno of the map operation.
 */
int kernel__unseen(struct kernel *k, __u32 slot, struct sw_unseen *u, bool write);

/* Whether there are hot hooks (syscalls, sched collectors up) to duty-cycle. */
bool kernel__hot_up(const struct kernel *k);

/*
 * Attaches (on) or detaches the hot hooks, the syscall and sched programs, which stay loaded
 * with their maps. Detaching empties the per-CPU records, which nothing keeps current while
 * the hooks are off; attaching makes syscalls in progress since then go uncounted. A no-op
 * when they are already so, except that attaching again while a hook is missing
 * (kernel__hot_missing()) retries that hook alone. 0 or -errno of the first hook that failed
 * to attach (the others are attached); the failure is logged once, not at every retry.
 */
int kernel__hot_attach(struct kernel *k, bool on);

/*
 * When the last detach (kernel__hot_attach(k, false)) had the syscall hooks gone, in
 * CLOCK_MONOTONIC ns (clock__mono_ns()): they are detached first, and until then what they
 * saw was counted. 0 before the first detach.
 */
__u64 kernel__hot_gone_ns(const struct kernel *k);

/* Whether the hot hooks are attached but one of them failed to attach again: retry it. */
bool kernel__hot_missing(const struct kernel *k);

#endif
