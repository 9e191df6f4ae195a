/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Maps shared by every swarmwatch BPF object. identity.bpf.c defines them
 * (SW_DEFINE_MAPS); the other objects see extern declarations and the static
 * linker resolves them to the one definition. Sizes set here are defaults:
 * the daemon resizes agent-indexed maps to max_agents + 1 before load.
 */
#ifndef SWARMWATCH_MAPS_BPF_H
#define SWARMWATCH_MAPS_BPF_H

#ifdef SW_DEFINE_MAPS
#define SW_MAP
#else
#define SW_MAP extern
#endif

/* Per-task agent slot and scratch timestamps. */
SW_MAP struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct sw_task);
} tasks SEC(".maps");

/*
 * The tracked task running on each CPU (see struct sw_cpu), one element per possible CPU (the
 * daemon sizes it). A plain array, not a per-CPU one: see sw_oncpu(). Per run, not pinned.
 */
SW_MAP struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sw_cpu);
} oncpu SEC(".maps");

/* Cumulative counters per agent slot and CPU. */
SW_MAP struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 257);
	__type(key, __u32);
	__type(value, struct sw_agent_stats);
} agent_stats SEC(".maps");

/* Per slot: what the daemon estimates its duty-cycled hooks did not see (struct
 * sw_unseen). Only the daemon reads and writes it; pinned so that it lives as long as
 * agent_stats. */
SW_MAP struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 257);
	__type(key, __u32);
	__type(value, struct sw_unseen);
} agent_unseen SEC(".maps");

/* Agent name -> slot, filled by the kernel (environment marker) and by the
 * daemon (cgroup and command rules). */
SW_MAP struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1028);
	__type(key, struct sw_name);
	__type(value, __u32);
} agent_names SEC(".maps");

/* Slot allocator: element 0 is the next free slot. Memory-mapped by the
 * daemon, which allocates with the same atomic add as the kernel. */
SW_MAP struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} slot_next SEC(".maps");

/* Slots the daemon reclaimed from retired agents, cleared and free for a new
 * name; taken before slot_next grows. Pinned with agent_names and slot_next. */
SW_MAP struct {
	__uint(type, BPF_MAP_TYPE_QUEUE);
	__uint(max_entries, 257);
	__type(value, __u32);
} free_slots SEC(".maps");

/* Per slot: tasks that still carry it, counted by the iterator of
 * slots.bpf.c when the daemon asks. Memory-mapped (an array's elements are
 * 8 bytes apart: u64 values keep the mapping a plain array); per run, not
 * pinned. */
SW_MAP struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 257);
	__type(key, __u32);
	__type(value, __u64);
} slot_tasks SEC(".maps");

/* Per slot: bumped by the daemon when it retires the slot's agent. A socket
 * keeps the generation it was given with its slot; once they differ, the
 * socket's events are credited to no one (the slot may belong to another
 * agent by then). Pinned, like the sockets' owners in `socks`. */
SW_MAP struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 257);
	__type(key, __u32);
	__type(value, __u32);
} slot_gen SEC(".maps");

/* cgroup v2 id -> slot, filled by the daemon from cgroup path rules. */
SW_MAP struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, __u32);
} cgroup_agents SEC(".maps");

/* TCP sockets of tracked agents: which agent owns each. Freed with the socket. */
SW_MAP struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct sw_sock);
} socks SEC(".maps");

/* Requests per agent, peer, role and status, with their latency. Grows as used. */
SW_MAP struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 4096);
	__type(key, struct sw_req_key);
	__type(value, struct sw_req_stats);
} requests SEC(".maps");

/* Requests and connections per agent process (struct sw_proc_key); the daemon deletes the
 * entries of processes that exited. */
SW_MAP struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 8192);
	__type(key, struct sw_proc_key);
	__type(value, struct sw_proc_stats);
} proc_requests SEC(".maps");

/* Host names that clients gave their peers (SNI, Host), by 64-bit hash. The
 * request series refer to them, so they are kept as long as the series. */
SW_MAP struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct sw_host);
} host_names SEC(".maps");

/* In-kernel drops and folds, enum sw_counter. */
SW_MAP struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SW_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

/* Rare events for the daemon: unclassified execs, new instance roots. */
SW_MAP struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

/* Process starts the daemon classified (command rules), per slot. Written
 * only by the daemon; pinned so that the counter survives its restarts. */
SW_MAP struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 257);
	__type(key, __u32);
	__type(value, __u64);
} user_starts SEC(".maps");

/* Connections found open by the daemon (pidfd_getfd), per slot: added to
 * tcp_opened. Written only by the daemon; pinned like user_starts. */
SW_MAP struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 257);
	__type(key, __u32);
	__type(value, __u64);
} user_opened SEC(".maps");

/* Resident memory per slot, in bytes: the task iterator (memory.bpf.c) sums
 * it each time the daemon runs it; the daemon zeroes it before, through its
 * memory map. Per run, not pinned. */
SW_MAP struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 257);
	__type(key, __u32);
	__type(value, __u64);
} agent_rss SEC(".maps");

/* TLS capture per slot (enum sw_tls_mode), written by the daemon. Per run. */
SW_MAP struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 257);
	__type(key, __u32);
	__type(value, __u32);
} agent_tls SEC(".maps");

/* OpenSSL call in progress per task (TLS capture). Per run. */
SW_MAP struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct sw_tls_call);
} tls_calls SEC(".maps");

/* LLM capture: the plaintext of a task's last SSL_write, copied at its return, for
 * memory-BIO programs (struct sw_tls_wcopy). Per run. */
SW_MAP struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct sw_tls_wcopy);
} tls_wcopy SEC(".maps");

/* Client requests over TLS whose response bytes have arrived and are being
 * decrypted, by SSL * and process: the socket hook hands them to the
 * SSL_read return probe. Short-lived; LRU bounds what is never finished. */
SW_MAP struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct sw_tls_key);
	__type(value, struct sw_sock);
} tls_pending SEC(".maps");

/* Bytes of a request or response head copied for parsing, per CPU. Per run. */
SW_MAP struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sw_scratch);
} scratch SEC(".maps");

/* LLM capture: configured LLM upstreams, by host name id or address and port; the value is
 * the index of the configuration entry. Written by the daemon. Per run. */
SW_MAP struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, struct sw_llm_peer);
	__type(value, __u32);
} llm_peers SEC(".maps");

/* LLM capture: the exchange in flight on each SSL * (or plaintext socket) and process. LRU
 * bounds the ones never finished. Per run. */
SW_MAP struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct sw_tls_key);
	__type(value, struct sw_llm_stream);
} llm_streams SEC(".maps");

/* LLM capture: plaintext of requests and responses for the daemon's parser. */
SW_MAP struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 2 * 1024 * 1024);
} llm_events SEC(".maps");

/* LLM capture: the event being filled, per CPU, before it is copied into `llm_events` at its
 * length. Per run. */
SW_MAP struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sw_llm_event);
} llm_scratch SEC(".maps");

/* LLM capture: events and cuts, enum sw_llm_counter. Per run. */
SW_MAP struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SW_LLM_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} llm_counters SEC(".maps");

/* Layout stamp, checked by the daemon before it reuses pinned maps. */
SW_MAP struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sw_meta);
} meta SEC(".maps");

#endif /* SWARMWATCH_MAPS_BPF_H */
