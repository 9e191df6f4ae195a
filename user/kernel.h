/* SPDX-License-Identifier: MIT */
#ifndef SW_KERNEL_H
#define SW_KERNEL_H

#include <linux/types.h>
#include <stdbool.h>

#include "config.h"
#include "identity.h"
#include "swarmwatch.h"

/* Run-time statistics of one BPF program (kernel.bpf_stats_enabled). */
struct prog_stat {
	const char *name;
	__u64 run_ns;
	__u64 runs;
};

/* Size and fill of one BPF map. */
struct map_stat {
	const char *name;
	__u32 max_entries;
	__s64 entries; /* -1 when the map type cannot be counted */
	__u64 memory_bytes; /* memlock the kernel charges for it */
};

#define KERNEL_MAX_PROGS 24
#define KERNEL_MAX_MAPS 16

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

/* Calls fn for each agent name and slot in the kernel's name table. */
int kernel__for_each_name(struct kernel *k, void (*fn)(void *ctx, const char *name, __u32 slot),
			  void *ctx);

/* Calls fn for each request series in the kernel; returns how many. */
int kernel__for_each_request(struct kernel *k,
			     void (*fn)(void *ctx, const struct sw_req_key *key,
					const struct sw_req_stats *val),
			     void *ctx);

int kernel__prog_stats(struct kernel *k, struct prog_stat *out, int max);

/* Capacity and memory of each map; entries only for arrays (hashes: -1, the caller knows). */
int kernel__map_stats(struct kernel *k, struct map_stat *out, int max);

#endif
