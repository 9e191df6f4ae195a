/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Types shared by the BPF programs and the daemon: task state, per-agent
 * counters, events. Fixed-width types only; userspace asserts every size.
 */
#ifndef SWARMWATCH_H
#define SWARMWATCH_H

/* Bump when any map key/value layout below changes (10: sockets name the
 * process that owns them; requests and connections per process): pinned maps of
 * another layout are recreated instead of reused. */
#define SW_LAYOUT_VERSION 10

#define SW_NAME_LEN 32 /* agent name, NUL-terminated, valid UTF-8 (user/text.h) */
#define SW_COMM_LEN 16
#define SW_SLOT_OTHER 0 /* agents beyond max_agents fold here */
#define SW_MAX_AGENTS_LIMIT 1024
#define SW_SYSCALL_MAX 512 /* syscall numbers at or above land in "other" */
#define SW_ERRNO_SLOTS 136 /* errno 1..135; 0 collects larger values */
#define SW_LAT_SLOTS 40 /* ceil-log2 of nanoseconds: 1 ns .. 2^39 ns (~550 s) */
#define SW_ENV_MARKER "SWARMWATCH_AGENT="
#define SW_ENV_MARKER_LEN 17
#define SW_ENV_MAX_READS 512 /* bound on environment reads per exec */

/* Syscall classes, the `class` label of swarmwatch_agent_syscalls_total. */
enum sw_class {
	SW_CLASS_OTHER = 0,
	SW_CLASS_FILE,
	SW_CLASS_NET,
	SW_CLASS_PROCESS,
	SW_CLASS_MEMORY,
	SW_CLASS_IPC,
	SW_CLASS_TIME,
	SW_CLASS_MAX,
};

enum sw_exit_outcome {
	SW_EXIT_OK = 0,
	SW_EXIT_ERROR,
	SW_EXIT_SIGNAL,
	SW_EXIT_MAX,
};

#ifndef __bpf__
/* The `outcome` label of swarmwatch_agent_process_exits_total; "unknown" out of range. */
static inline const char *sw_exit_outcome_name(int o)
{
	static const char *const names[SW_EXIT_MAX] = {"ok", "error", "signal"};

	return o >= 0 && o < SW_EXIT_MAX ? names[o] : "unknown";
}
#endif

/* Outcomes of a TCP connect, the `result` label. */
enum sw_tcp_result {
	SW_TCP_OK = 0,
	SW_TCP_REFUSED,
	SW_TCP_TIMEOUT,
	SW_TCP_ERROR,
	SW_TCP_RESULT_MAX,
};

#ifndef __bpf__
/* The `result` label of swarmwatch_agent_tcp_connects_total; "unknown" out of range. */
static inline const char *sw_tcp_result_name(int r)
{
	static const char *const names[SW_TCP_RESULT_MAX] = {"ok", "refused", "timeout", "error"};

	return r >= 0 && r < SW_TCP_RESULT_MAX ? names[r] : "unknown";
}
#endif

/* Indexes of the per-CPU `counters` array: in-kernel drops and folds. */
enum sw_counter {
	SW_CNT_RINGBUF_FULL = 0, /* event lost: ring buffer full */
	SW_CNT_TASK_STORAGE_FULL, /* task could not be tagged */
	SW_CNT_NAMES_FULL, /* agent name table full */
	SW_CNT_ENV_TRUNCATED, /* environment longer than the scan bound */
	SW_CNT_SOCK_STORAGE_FULL, /* socket could not be given an owner */
	SW_CNT_REQUESTS_FULL, /* request series table full */
	SW_CNT_ONCPU_REPAIRED, /* a tracked task ran with no CPU record: rebuilt */
	SW_CNT_HEAD_TRUNCATED, /* an HTTP head or TLS hello longer than the bytes parsed */
	SW_CNT_HOST_NAMES_FULL, /* a peer's host name could not be recorded: table full */
	SW_CNT_PROCESSES_FULL, /* a process's requests could not be counted: table full */
	SW_CNT_FOLDED, /* process folded into agent "other"; not a drop, keep it last */
	SW_CNT_MAX,
};

#ifndef __bpf__
/*
 * The `reason` label of swarmwatch_events_dropped_total for each counter that counts lost
 * data; NULL for the others (a repaired CPU record and a fold lose nothing and have their own
 * metrics).
 */
static inline const char *sw_drop_reason(int c)
{
	switch (c) {
	case SW_CNT_RINGBUF_FULL:
		return "ringbuf_full";
	case SW_CNT_TASK_STORAGE_FULL:
		return "task_storage_full";
	case SW_CNT_NAMES_FULL:
		return "agent_names_full";
	case SW_CNT_ENV_TRUNCATED:
		return "environment_truncated";
	case SW_CNT_SOCK_STORAGE_FULL:
		return "socket_storage_full";
	case SW_CNT_REQUESTS_FULL:
		return "request_series_full";
	case SW_CNT_HEAD_TRUNCATED:
		return "head_truncated";
	case SW_CNT_HOST_NAMES_FULL:
		return "host_names_full";
	case SW_CNT_PROCESSES_FULL:
		return "process_requests_full";
	default:
		return NULL;
	}
}
#endif

#ifndef __bpf__
/* Collectors: groups of BPF programs that come and go together (userspace only). */
enum collector_id {
	COLLECTOR_IDENTITY, /* exec, fork, exit: agents, starts, exits */
	COLLECTOR_SYSCALLS, /* syscall counts, errors, latency */
	COLLECTOR_SCHED, /* CPU time, run-queue delay, context switches */
	COLLECTOR_PAGE_FAULTS,
	COLLECTOR_OOM,
	COLLECTOR_NET, /* TCP connects, connections, retransmits, resets, bytes */
	COLLECTOR_MAX,
};

/*
 * The `collector` label of swarmwatch_collector_up and the key under "collectors" in the
 * configuration; "unknown" out of range.
 */
static inline const char *sw_collector_name(int c)
{
	static const char *const names[COLLECTOR_MAX] = {
		[COLLECTOR_IDENTITY] = "identity", [COLLECTOR_SYSCALLS] = "syscalls",
		[COLLECTOR_SCHED] = "sched",	   [COLLECTOR_PAGE_FAULTS] = "page_faults",
		[COLLECTOR_OOM] = "oom",	   [COLLECTOR_NET] = "net",
	};

	return c >= 0 && c < COLLECTOR_MAX ? names[c] : "unknown";
}
#endif

/* Task flags */
#define SW_TASK_ROOT 1u /* this task's process is an instance root */

/*
 * What the syscall hooks need of a task. It lives in the task's `tasks`
 * entry, and while a tracked task runs, sched_switch copies it into the
 * CPU's `oncpu` record, so that the syscall hooks find it without a
 * task-storage lookup.
 */
struct sw_sys {
	__u64 enter_ns; /* start of the syscall in progress; 0 if none, SW_ENTER_UNTIMED */
	__u16 nr; /* its number, SW_SYSCALL_MAX for larger ones */
	__u8 lat_shift; /* its latency counts 2^lat_shift times (SW_ENTER_UNTIMED: unused) */
	__u8 gen; /* hot_gen at its entry: a different one means the hooks were off between */
	__u32 slot; /* the task's agent slot; the `tasks` entry is authoritative */
};

/* enter_ns of a syscall in progress that is counted but not timed (latency sampling). */
#define SW_ENTER_UNTIMED 1

/*
 * Census of the syscalls of tasks without task storage (bpf/agent.bpf.h, sw_census()): 1 in
 * 2^SW_CENSUS_SHIFT is counted, as 2^SW_CENSUS_SHIFT, so that struct sw_cpu's `untracked`
 * estimates them without bias.
 */
#define SW_CENSUS_SHIFT 2

/*
 * Per-task state, in the `tasks` task-storage map. A task with no entry is
 * not tracked. Children and threads inherit the slot at fork.
 */
struct sw_task {
	struct sw_sys sys;
	__u32 flags; /* SW_TASK_* */
	__u32 pad;
	__u64 wake_ns; /* became runnable (woken or preempted), 0 if not waiting */
	__u64 cpu_seen_ns; /* se.sum_exec_runtime already counted */
};

/*
 * Per-CPU record in `oncpu`, element i for CPU i: the task running on this CPU (bpf/agent.bpf.h,
 * sw_record()), and the state of latency sampling on the CPU (syscalls.bpf.c): tracked
 * syscalls are timed 1 in N on average, N = 2^shift chosen from the CPU's own rate of tracked
 * syscalls. The records sit side by side in one array, so each ends in a cache line's worth
 * of bytes that nothing touches: whatever the array's alignment, no cache line holds bytes
 * that two CPUs use.
 */
struct sw_cpu {
	__u32 tid; /* thread id of the task the record describes, tracked or not */
	__u32 untracked; /* syscall exits of untracked tasks, an estimate (sw_census()) (wraps) */
	struct sw_sys sys;
	__s32 skip; /* tracked syscalls to let pass untimed before the next timed one */
	__u8 shift; /* N = 2^shift for the next draw of skip */
	__u8 skip_shift; /* the shift skip was drawn with: the next timed syscall's weight */
	__u8 tracked; /* whether task tid is tracked: `sys` is its state */
	__u8 pad;
	__u32 epoch; /* lat_epoch when `seen` started */
	__u32 seen; /* tracked syscall entries on this CPU since then */
	__u64 last_ns; /* exit of the last timed syscall on this CPU */
	__u32 timed; /* tracked syscalls timed on this CPU (wraps) */
	__u32 tag_gen; /* `tag_gen` when the record was made */
	__u64 regs; /* address of task tid's user register frame (task_pt_regs()) */
	/*
	 * Untimed tracked syscalls that succeeded, by class, not yet added to the counters of
	 * agent `sys.slot` (bpf/agent.bpf.h, sw_record_flush()): added at the next timed or
	 * failed one and whenever the record changes task or slot.
	 */
	__u32 pend[SW_CLASS_MAX];
	__u32 npend; /* their sum */
	__u8 unshared[64]; /* never touched (see above) */
};

/*
 * Cumulative per-agent counters, one per CPU per slot in the per-CPU array
 * `agent_stats`. Histograms hold ceil-log2 buckets: slot i counts values v
 * with 2^(i-1) < v <= 2^i nanoseconds (slot 0: v <= 1).
 */
struct sw_agent_stats {
	__u64 syscalls[SW_CLASS_MAX]; /* completed syscalls by class */
	__u64 syscall_errors[SW_ERRNO_SLOTS]; /* failed syscalls by errno */
	__u64 syscall_lat[SW_LAT_SLOTS]; /* syscall latency histogram */
	__u64 syscall_lat_sum_ns;
	__u64 runq_lat[SW_LAT_SLOTS]; /* run-queue delay histogram */
	__u64 runq_lat_sum_ns;
	__u64 cpu_ns; /* on-CPU time */
	__u64 ctx_voluntary;
	__u64 ctx_involuntary;
	__u64 page_faults;
	__u64 process_starts;
	__u64 process_exits[SW_EXIT_MAX];
	__u64 oom_kills;
	__u64 tcp_connects[SW_TCP_RESULT_MAX]; /* active opens by result */
	__u64 tcp_connect_lat[SW_LAT_SLOTS]; /* SYN sent to established */
	__u64 tcp_connect_lat_sum_ns;
	__u64 tcp_opened; /* connections that reached ESTABLISHED */
	__u64 tcp_closed; /* ... and left it; opened - closed = active */
	__u64 tcp_retransmits;
	__u64 tcp_resets_sent;
	__u64 tcp_resets_received;
	__u64 net_sent_bytes; /* returned by sends on TCP sockets */
	__u64 net_received_bytes; /* returned by receives on TCP sockets */
	__u64 client_requests; /* requests the agent made (client role), every peer */
	__u64 client_failures; /* ... of which answered 5xx or ended in error */
	__u64 client_req_lat[SW_LAT_SLOTS]; /* ... their latency */
};

/*
 * Per slot, in the pinned `agent_unseen` map: the daemon's estimate of the hot counters'
 * growth its duty-cycled hooks did not see (the words of struct sw_agent_stats from
 * syscalls to syscall_lat_sum_ns, runq_lat to runq_lat_sum_ns, ctx_voluntary and
 * ctx_involuntary, in that order), in 1/256ths. The words of syscall_lat and
 * syscall_lat_sum_ns hold instead the signed adjustment that calibrates the sampled latency
 * histogram to the syscall count (two's complement; overhead__calibrate()). Kept beside the
 * kernel's counters so that an extrapolated counter (seen + unseen) continues across a
 * restart of the daemon. No BPF program touches it.
 */
#define SW_UNSEEN_WORDS (SW_CLASS_MAX + SW_ERRNO_SLOTS + 2 * (SW_LAT_SLOTS + 1) + 2)
struct sw_unseen {
	__u64 q8[SW_UNSEEN_WORDS];
};

enum sw_role {
	SW_ROLE_NONE = 0,
	SW_ROLE_CLIENT, /* connected it, or wrote first */
	SW_ROLE_SERVER, /* read first: it answers requests */
};

#ifndef __bpf__
/* The `role` label of the request families: "client", "server", else "unknown". */
static inline const char *sw_role_name(int r)
{
	return r == SW_ROLE_CLIENT ? "client" : r == SW_ROLE_SERVER ? "server" : "unknown";
}
#endif

/*
 * Request outcome, the `status` label: unknown, 1xx..5xx (1..5), error, and
 * 429 apart from 4xx: rate limiting is what an agent calling an LLM API
 * meets first.
 */
enum sw_status {
	SW_STATUS_UNKNOWN = 0, /* not HTTP, or not readable */
	SW_STATUS_ERROR = 6, /* reset or closed before any response byte */
	SW_STATUS_429 = 7, /* 429 Too Many Requests (RFC 6585 §4), not in 4xx */
	SW_STATUS_MAX,
};

#ifndef __bpf__
/* The `status` label of swarmwatch_agent_requests_total; "unknown" out of range. */
static inline const char *sw_status_name(int st)
{
	static const char *const names[SW_STATUS_MAX] = {
		[SW_STATUS_UNKNOWN] = "unknown",
		[1] = "1xx",
		[2] = "2xx",
		[3] = "3xx",
		[4] = "4xx",
		[5] = "5xx",
		[SW_STATUS_ERROR] = "error",
		[SW_STATUS_429] = "429",
	};

	return st >= 0 && st < SW_STATUS_MAX && names[st] ? names[st] : "unknown";
}
#endif

/* Per-socket state in the `socks` socket-storage map: owner and request in flight. */
struct sw_sock {
	__u32 slot; /* agent slot of the task that connected or first used it */
	__u32 flags; /* SW_SOCK_* */
	__u64 connect_ns; /* when the SYN went out, 0 if not an active open */
	__u64 req_ns; /* start of the request in flight, 0 when idle */
	__u8 role; /* enum sw_role */
	__u8 family; /* AF_INET or AF_INET6 of the peer */
	__u16 dport; /* peer port, host order */
	__u32 daddr[4]; /* peer address (IPv4 in daddr[0]), network order */
	__u32 gen; /* slot_gen of slot when it was given: credits stop once the slot is reclaimed */
	__u64 ssl; /* TLS capture: the SSL * whose bytes it carries, 0 if none seen */
	__u64 host; /* client: id of the peer's host name (SNI or Host) in `host_names`, or 0 */
	__u32 tgid; /* the process that connected or first used it (its instance's requests) */
	__u32 pad;
};

/* Key of the `requests` hash: one series per agent, peer, role and status. */
struct sw_req_key {
	__u32 slot;
	__u8 role;
	__u8 status;
	__u16 port; /* peer port, host order */
	__u32 family;
	__u32 addr[4]; /* peer address, network order */
	__u32 pad;
	__u64 host; /* client: id of the peer's host name in `host_names`, or 0 */
};

#define SW_HOST_LEN 64 /* a host name and its NUL */

/* Value of `host_names`: a DNS name ([a-z0-9.-], lowercased), NUL-padded. */
struct sw_host {
	char name[SW_HOST_LEN];
};

/* Key of `proc_requests`: one process of one agent. */
struct sw_proc_key {
	__u32 slot;
	__u32 tgid;
};

/*
 * Value of `proc_requests`: what one process's sockets did, for the per-instance figures
 * (circuit breakers, routing weights). Requests in both roles; failures are 5xx and errors.
 */
struct sw_proc_stats {
	__u64 requests;
	__u64 failures;
	__u64 lat_sum_ns; /* request start to first response byte, summed */
	__u64 tcp_opened; /* connections established */
	__u64 tcp_closed; /* ... and closed */
};

/* Value of the `requests` hash. */
struct sw_req_stats {
	__u64 count;
	__u64 lat[SW_LAT_SLOTS]; /* request start to first response byte */
	__u64 lat_sum_ns;
};

#define SW_SOCK_ESTABLISHED 1u /* counted in tcp_opened, not yet in tcp_closed */
#define SW_SOCK_SNIFFED 2u /* its first data was looked at */
#define SW_SOCK_TLS 4u /* ... and was a TLS handshake record */
#define SW_SOCK_SSL 8u /* requests are paired by the OpenSSL hooks, not by the socket's bytes */
#define SW_SOCK_ADOPTED 16u /* found open by the daemon; counted in its user_opened */
#define SW_SOCK_TLS_DATA 32u /* TLS: application data has been seen in the request direction */
#define SW_SOCK_INTERIM 64u /* in `tls_pending`: an interim response came, the final one is due */
#define SW_SOCK_LLM_CHECKED 128u /* looked up in `llm_peers` (LLM capture) */
#define SW_SOCK_LLM 256u /* ... and its peer is a configured LLM upstream */

/* TLS capture per agent slot, in `agent_tls`: decided by the daemon from its config. */
enum sw_tls_mode {
	SW_TLS_UNDECIDED = 0, /* the daemon has not seen this slot yet: tell it about mappings */
	SW_TLS_ON,
	SW_TLS_OFF,
};

/* The OpenSSL calls of a task, in the `tls_calls` task storage. */
struct sw_tls_call {
	__u64 ssl; /* SSL * of the SSL_read in progress */
	__u64 buf; /* its plaintext buffer */
	__u64 readbytes; /* SSL_read_ex: where the byte count is written */
	__u64 wssl; /* SSL * of the last SSL_write */
	__u64 wbuf; /* its plaintext */
	__u64 wstart_ns; /* when it was entered */
	__u64 wlen; /* its plaintext's length */
	__u8 reading; /* in SSL_read or SSL_read_ex (until the return probe) */
	__u8 armed; /* ... and its first receive names its socket */
	__u8 ex; /* SSL_read_ex: returns 1 and writes *readbytes */
	__u8 mmap; /* an mmap of executable file pages is in progress */
	__u8 wpend; /* the last SSL_write's encrypted bytes have not been sent yet */
	__u8 probed; /* the task's OpenSSL calls hit the probes */
	__u8 pad[2];
};

#define SW_SCRATCH_LEN 512

/* Per-CPU scratch of the BPF programs: bytes of a head being parsed. */
struct sw_scratch {
	char buf[SW_SCRATCH_LEN];
};

/* Key of `tls_pending`: a client request whose response is being decrypted. */
struct sw_tls_key {
	__u64 ssl;
	__u32 tgid;
	__u32 pad;
};

/* Key of the `agent_names` hash: name -> slot. */
struct sw_name {
	char name[SW_NAME_LEN];
};

enum sw_event_type {
	SW_EV_EXEC = 1, /* exec that kernel rules did not classify */
	SW_EV_ROOT = 2, /* a new instance root was classified in the kernel */
	SW_EV_MAP = 3, /* a task of an agent with TLS capture on or undecided mapped code */
};

/* Ring-buffer record sent to the daemon. */
struct sw_event {
	__u32 type; /* enum sw_event_type */
	__u32 pid; /* tgid */
	__u32 slot; /* current slot, or SW_SLOT_NONE */
	__u32 pad;
	__u64 cgroup_id;
	char comm[SW_COMM_LEN];
};

#define SW_SLOT_NONE 0xffffffffu

/*
 * LLM capture: the plaintext of requests to and responses from configured LLM upstreams,
 * handed to the daemon in the `llm_events` ring buffer for the userspace parser (llmparse.h).
 * Bounded: at most SW_LLM_DATA bytes per event (a longer read gives its first and last
 * SW_LLM_DATA / 2 bytes and the count of those left out), SW_LLM_REQ_BUDGET bytes of each
 * request (its head and body start: path and model) and SW_LLM_RESP_BUDGET bytes of each
 * response; every cut is counted in `llm_counters`.
 */
#define SW_LLM_DATA 4096
#define SW_LLM_REQ_BUDGET 4096
#define SW_LLM_RESP_BUDGET (1024 * 1024)

/* Key of `llm_peers`: a host name id (host.bpf.h) or a peer address, with a port or 0 (any). */
struct sw_llm_peer {
	__u64 host; /* FNV-1a id of the host name, 0 when the key is an address */
	__u32 addr[4]; /* network order; zero when the key is a host name */
	__u16 port; /* host order, 0: any */
	__u16 family; /* AF_INET, AF_INET6, 0 with a host name */
	__u32 pad;
};

/* A request/response exchange in flight, in `llm_streams` by SSL * (or socket) and process. */
struct sw_llm_stream {
	__u64 req_ns; /* start of the request (SSL_write entered, or the first send) */
	__u64 host; /* the peer's host name id, 0 if none */
	__u32 addr[4]; /* peer address, network order */
	__u32 slot; /* agent slot of the socket */
	__u32 req_bytes; /* request bytes handed over */
	__u32 resp_bytes; /* response bytes handed over (and left out in the middle of reads) */
	__u16 port; /* peer port, host order */
	__u8 family;
	__u8 cut; /* the response's budget ran out: counted once */
};

enum sw_llm_kind {
	SW_LLM_REQUEST = 1, /* bytes the client sent: a request starts with its first */
	SW_LLM_RESPONSE = 2, /* bytes the client received */
};

#define SW_LLM_F_START 1u /* a request's first bytes: a new exchange */

/* Ring-buffer record of `llm_events`; data holds len bytes (head, then tail when skipped). */
struct sw_llm_event {
	__u8 kind; /* enum sw_llm_kind */
	__u8 family;
	__u16 port;
	__u32 slot;
	__u32 tgid;
	__u32 flags; /* SW_LLM_F_* */
	__u32 len; /* bytes in data */
	__u32 skipped; /* bytes of the read left out between data's two halves, 0 if none */
	__u64 id; /* the SSL * (TLS) or the socket's address (plaintext): the exchange's channel */
	__u64 ts_ns; /* when the bytes were handed over, CLOCK_MONOTONIC */
	__u64 req_ns; /* start of the request they belong to */
	__u64 host;
	__u32 addr[4];
	char data[SW_LLM_DATA];
};

/*
 * A request's plaintext copied when SSL_write returns, in the `tls_wcopy` task storage (LLM
 * capture, programs that drive OpenSSL through memory BIOs: Node.js). Such a program sends
 * the encrypted records after SSL_write has returned, and may free the plaintext first (Node
 * frees what was written before the handshake ended once SSL_write has taken it; the
 * allocator then writes its free-list links over the buffer's first 16 bytes), so the send
 * hands over this copy rather than what the buffer holds by then.
 */
struct sw_tls_wcopy {
	__u64 ssl; /* SSL * of the SSL_write */
	__u64 buf; /* its plaintext, where the copy came from */
	__u32 len; /* bytes in data; 0: none waiting */
	__u32 pad;
	char data[SW_LLM_REQ_BUDGET];
};

/* Indexes of the per-CPU `llm_counters` array. */
enum sw_llm_counter {
	SW_LLM_CNT_EVENTS = 0, /* events handed over */
	SW_LLM_CNT_CUT_READS, /* reads longer than SW_LLM_DATA: their middle left out */
	SW_LLM_CNT_REQ_BUDGET, /* request bytes beyond SW_LLM_REQ_BUDGET, not handed over */
	SW_LLM_CNT_RESP_BUDGET, /* responses that went beyond SW_LLM_RESP_BUDGET */
	SW_LLM_CNT_RINGBUF_FULL, /* events lost: ring buffer full */
	SW_LLM_CNT_NO_BUFFER, /* plaintext moved by a call whose buffer is not known (readv...) */
	SW_LLM_CNT_MAX,
};

/* Layout stamp kept in the pinned `meta` array. */
struct sw_meta {
	__u32 layout; /* SW_LAYOUT_VERSION of the maps' creator */
	__u32 max_agents;
	__u64 user_folds; /* processes the daemon folded into "other" */
};

/*
 * Key of `udp_owners`: a UDP socket's local port in its network namespace (the inode number of
 * the namespace, as /proc/PID/ns/net shows it), so that two namespaces' port 5000 differ.
 */
struct sw_udp_key {
	__u32 netns; /* net namespace inode number */
	__u16 port; /* local port, host order */
	__u16 pad;
};

/* Value of `udp_owners`: who last sent from the port, when it was a tracked task. */
struct sw_udp_owner {
	__u32 slot; /* agent slot of the sending task */
	__u32 tgid; /* its process id */
};

#endif /* SWARMWATCH_H */
