// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * TCP health of tracked agents: connects by result and their latency,
 * active connections, retransmits, resets, bytes sent and received; and
 * requests, paired with their responses on the same socket.
 *
 * A socket belongs to the agent of the task that connected it (the SYN is
 * sent in that task's context) or that first sent or received on it; the
 * owner is kept in socket storage, so events that arrive in softirq context
 * (handshake completion, retransmits, resets) find their agent.
 *
 * Requests: a client's request starts at its first write after the socket
 * was idle and ends at its first read that returns data, a server's the
 * mirror image; the latency is the time between. The status class comes
 * from the first bytes of the response ("HTTP/1.x NNN"), read from the
 * buffer of the read or write syscall in progress; a request still open
 * when its connection closes is an error.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>
#include "agent.bpf.h"

#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6
#define MSG_PEEK 2
#define ECONNREFUSED 111
#define ETIMEDOUT 110

/* Syscall numbers whose second argument is the data buffer; set by the daemon. */
const volatile __u32 nr_read = ~0u;
const volatile __u32 nr_write = ~0u;
const volatile __u32 nr_recvfrom = ~0u;
const volatile __u32 nr_sendto = ~0u;

static __always_inline bool is_tcp(const struct sock *sk)
{
	return sk && sk->sk_protocol == IPPROTO_TCP &&
	       (sk->__sk_common.skc_family == AF_INET || sk->__sk_common.skc_family == AF_INET6);
}

/* The socket's owner, creating it for the current task's agent when asked. */
static __always_inline struct sw_sock *sock_of(const struct sock *sk, struct sw_sys *cur)
{
	struct sw_sock *ss = bpf_sk_storage_get(&socks, (void *)sk, 0, 0);

	if (ss || !cur)
		return ss;
	ss = bpf_sk_storage_get(&socks, (void *)sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!ss) {
		sw_count(SW_CNT_SOCK_STORAGE_FULL);
		return NULL;
	}
	ss->slot = cur->slot;
	ss->family = sk->__sk_common.skc_family;
	ss->dport = bpf_ntohs(sk->__sk_common.skc_dport);
	if (ss->family == AF_INET) {
		ss->daddr[0] = sk->__sk_common.skc_daddr;
	} else {
		ss->daddr[0] = sk->__sk_common.skc_v6_daddr.in6_u.u6_addr32[0];
		ss->daddr[1] = sk->__sk_common.skc_v6_daddr.in6_u.u6_addr32[1];
		ss->daddr[2] = sk->__sk_common.skc_v6_daddr.in6_u.u6_addr32[2];
		ss->daddr[3] = sk->__sk_common.skc_v6_daddr.in6_u.u6_addr32[3];
	}
	return ss;
}

/* Adds one request of status `status` and latency ns to its series. */
static __always_inline void count_request(struct sw_sock *ss, __u32 status, __u64 ns)
{
	struct sw_req_key key = {};
	struct sw_req_stats *r;
	__u32 b = sw_log2_bucket(ns, SW_LAT_SLOTS);

	key.slot = ss->slot;
	key.role = ss->role;
	key.status = status;
	/* A server's peers come from ephemeral ports: one series per client address. */
	key.port = ss->role == SW_ROLE_SERVER ? 0 : ss->dport;
	key.family = ss->family;
	__builtin_memcpy(key.addr, ss->daddr, sizeof(key.addr));
	r = bpf_map_lookup_elem(&requests, &key);
	if (!r) {
		struct sw_req_stats zero = {};

		if (bpf_map_update_elem(&requests, &key, &zero, BPF_NOEXIST) &&
		    !bpf_map_lookup_elem(&requests, &key)) {
			sw_count(SW_CNT_REQUESTS_FULL);
			return;
		}
		r = bpf_map_lookup_elem(&requests, &key);
		if (!r)
			return;
	}
	if (ss->role == SW_ROLE_CLIENT) {
		/* Per agent, for the anomaly detectors: what its calls cost it. */
		struct sw_agent_stats *s = sw_stats(ss->slot);

		if (s) {
			s->client_requests += 1;
			s->client_failures += status == 5 || status == SW_STATUS_ERROR;
			if (b < SW_LAT_SLOTS)
				s->client_req_lat[b] += 1;
		}
	}
	/* Not per-CPU: several CPUs may add to one series at once. */
	__sync_fetch_and_add(&r->count, 1);
	if (b < SW_LAT_SLOTS)
		__sync_fetch_and_add(&r->lat[b], 1);
	__sync_fetch_and_add(&r->lat_sum_ns, ns);
}

/* Status class of a response whose first bytes are at user address buf. */
static __always_inline __u32 response_status(__u64 buf)
{
	char h[12];

	if (!buf || bpf_probe_read_user(h, sizeof(h), (const void *)buf))
		return SW_STATUS_UNKNOWN;
	if (h[0] != 'H' || h[1] != 'T' || h[2] != 'T' || h[3] != 'P' || h[4] != '/' ||
	    h[8] != ' ' || h[9] < '1' || h[9] > '5')
		return SW_STATUS_UNKNOWN;
	return h[9] - '0';
}

/*
 * The user buffer of the read or write syscall in progress, from the
 * task's own saved registers (0 for other syscalls: readv, recvmsg, ...).
 */
static __always_inline __u64 syscall_buffer(bool sent)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	__u64 nr;

	if (!regs)
		return 0;
	nr = SW_SYSCALL_NR(regs);
	if (sent ? nr == nr_write || nr == nr_sendto : nr == nr_read || nr == nr_recvfrom)
		return PT_REGS_PARM2(regs);
	return 0;
}

/*
 * One send (sent) or receive of data on a socket: starts a request, or
 * answers the one in flight, depending on the socket's role.
 */
static __always_inline void track_request(struct sw_sock *ss, bool sent)
{
	__u64 now;

	if (!ss->role)
		ss->role = sent ? SW_ROLE_CLIENT : SW_ROLE_SERVER;
	/* A client's request goes out, a server's comes in. */
	if (sent == (ss->role == SW_ROLE_CLIENT)) {
		if (!ss->req_ns)
			ss->req_ns = bpf_ktime_get_ns();
		return;
	}
	if (!ss->req_ns)
		return; /* more of a response already counted */
	now = bpf_ktime_get_ns();
	count_request(ss, response_status(syscall_buffer(sent)), now - ss->req_ns);
	ss->req_ns = 0;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(sw_tcp_state, const struct sock *sk, const int oldstate, const int newstate)
{
	struct sw_agent_stats *s;
	struct sw_sock *ss;
	__u32 result;

	if (!is_tcp(sk))
		return 0;
	if (oldstate == TCP_CLOSE && newstate == TCP_SYN_SENT) {
		/* connect(): the only transition made in the connecting task's context */
		struct sw_sys *cur = sw_current_sys_checked();

		if (!cur)
			return 0;
		ss = sock_of(sk, cur);
		if (ss) {
			ss->slot = cur->slot;
			ss->role = SW_ROLE_CLIENT;
			ss->connect_ns = bpf_ktime_get_ns();
		}
		return 0;
	}
	ss = bpf_sk_storage_get(&socks, (void *)sk, 0, 0);
	if (!ss)
		return 0;
	s = sw_stats(ss->slot);
	if (!s)
		return 0;
	if (newstate == TCP_ESTABLISHED) {
		if (oldstate == TCP_SYN_SENT && ss->connect_ns) {
			s->tcp_connects[SW_TCP_OK] += 1;
			sw_hist_add(s->tcp_connect_lat, &s->tcp_connect_lat_sum_ns,
				    bpf_ktime_get_ns() - ss->connect_ns);
			ss->connect_ns = 0;
		}
		if (!(ss->flags & SW_SOCK_ESTABLISHED)) {
			ss->flags |= SW_SOCK_ESTABLISHED;
			s->tcp_opened += 1;
		}
		return 0;
	}
	if (oldstate == TCP_SYN_SENT && newstate == TCP_CLOSE && ss->connect_ns) {
		int err = sk->sk_err;

		result = err == ECONNREFUSED ? SW_TCP_REFUSED
			 : err == ETIMEDOUT  ? SW_TCP_TIMEOUT
					     : SW_TCP_ERROR;
		s->tcp_connects[result] += 1;
		ss->connect_ns = 0;
		return 0;
	}
	if (oldstate == TCP_ESTABLISHED && (ss->flags & SW_SOCK_ESTABLISHED)) {
		ss->flags &= ~SW_SOCK_ESTABLISHED;
		s->tcp_closed += 1;
	}
	if (newstate == TCP_CLOSE && ss->req_ns) {
		/* Closed or reset with a request still waiting for its answer. */
		count_request(ss, SW_STATUS_ERROR, bpf_ktime_get_ns() - ss->req_ns);
		ss->req_ns = 0;
	}
	return 0;
}

SEC("tp_btf/tcp_retransmit_skb")
int BPF_PROG(sw_tcp_retransmit, const struct sock *sk)
{
	struct sw_agent_stats *s;
	struct sw_sock *ss;

	if (!sk)
		return 0;
	ss = bpf_sk_storage_get(&socks, (void *)sk, 0, 0);
	if (ss && (s = sw_stats(ss->slot)))
		s->tcp_retransmits += 1;
	return 0;
}

SEC("tp_btf/tcp_send_reset")
int BPF_PROG(sw_tcp_send_reset, const struct sock *sk)
{
	struct sw_agent_stats *s;
	struct sw_sock *ss;

	if (!sk)
		return 0; /* a reset for no socket of ours */
	ss = bpf_sk_storage_get(&socks, (void *)sk, 0, 0);
	if (ss && (s = sw_stats(ss->slot)))
		s->tcp_resets_sent += 1;
	return 0;
}

SEC("tp_btf/tcp_receive_reset")
int BPF_PROG(sw_tcp_receive_reset, struct sock *sk)
{
	struct sw_agent_stats *s;
	struct sw_sock *ss;

	if (!sk)
		return 0;
	ss = bpf_sk_storage_get(&socks, sk, 0, 0);
	if (ss && (s = sw_stats(ss->slot)))
		s->tcp_resets_received += 1;
	return 0;
}

/* Bytes moved by one send or receive on a socket, in the calling task's context. */
static __always_inline int on_length(struct sock *sk, int ret, int flags, bool sent)
{
	struct sw_sys *cur;
	struct sw_agent_stats *s;
	struct sw_sock *ss;

	if (ret <= 0 || (flags & MSG_PEEK) || !is_tcp(sk))
		return 0;
	/*
	 * A socket with an owner is followed whatever the CPU record says;
	 * an unowned one gets the current task's agent if it is tracked.
	 */
	ss = bpf_sk_storage_get(&socks, sk, 0, 0);
	cur = ss ? sw_current_sys() : sw_current_sys_checked();
	if (!ss && cur)
		ss = sock_of(sk, cur);
	if (!ss)
		return 0;
	track_request(ss, sent);
	s = sw_stats(ss->slot);
	if (!s)
		return 0;
	if (sent)
		s->net_sent_bytes += ret;
	else
		s->net_received_bytes += ret;
	return 0;
}

SEC("tp_btf/sock_send_length")
int BPF_PROG(sw_sock_send, struct sock *sk, int ret, int flags)
{
	return on_length(sk, ret, flags, true);
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(sw_sock_recv, struct sock *sk, int ret, int flags)
{
	return on_length(sk, ret, flags, false);
}
