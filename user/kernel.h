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
 * reported down; only a missing identity collector is fatal. Returns NULL
 * after printing a one-line error.
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

/* Entries in the TLS pending-response table (0 when TLS capture is off). */
int kernel__tls_pending(struct kernel *k);

/* Sets where ring-buffer events go; none are read before this is called. */
void kernel__on_event(struct kernel *k, kernel_event_fn fn, void *ctx);

/* Waits up to timeout_ms for events and delivers them; count or -errno. */
int kernel__poll(struct kernel *k, int timeout_ms);

/* Detaches everything and unpins the programs; pinned maps stay. */
void kernel__close(struct kernel *k);

/* Removes every pinned map and program under pin_path; 0 or -errno. */
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

/* Sum over CPUs of the in-kernel counters (enum sw_counter); folds include the daemon's. */
int kernel__read_counters(struct kernel *k, __u64 out[SW_CNT_MAX]);

/* Starts the daemon counted for slot (command rules); 0 when none. */
__u64 kernel__user_starts(struct kernel *k, __u32 slot);

/* Connections the daemon found open for slot (adopted sockets); 0 when none. */
__u64 kernel__user_opened(struct kernel *k, __u32 slot);

/*
 * Resident memory of each slot's processes, in bytes: zeroes `agent_rss`,
 * runs the task iterator once (it visits every task on the host and sums
 * the tracked processes' resident pages per slot), and copies slots
 * [0, nslots) to out. Returns the number of slots copied, or -ENOTSUP when
 * the iterator does not run on this kernel, or another -errno.
 */
int kernel__read_rss(struct kernel *k, __u32 nslots, __u64 *out);

/* Calls fn for each agent name and slot in the kernel's name table. */
int kernel__for_each_name(struct kernel *k, void (*fn)(void *ctx, const char *name, __u32 slot),
			  void *ctx);

/* Calls fn for each request series in the kernel; returns how many. */
int kernel__for_each_request(struct kernel *k,
			     void (*fn)(void *ctx, const struct sw_req_key *key,
					const struct sw_req_stats *val),
			     void *ctx);

/* Deletes one request series from the kernel's table; 0 or -errno. */
int kernel__delete_request(struct kernel *k, const struct sw_req_key *key);

int kernel__prog_stats(struct kernel *k, struct prog_stat *out, int max);

/* Capacity and memory of each map; entries only for arrays (hashes: -1, the caller knows). */
int kernel__map_stats(struct kernel *k, struct map_stat *out, int max);

#endif
