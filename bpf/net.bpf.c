// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * TCP health of tracked agents: connects by result and their latency,
 * active connections, retransmits, resets, bytes sent and received.
 *
 * A socket belongs to the agent of the task that connected it (the SYN is
 * sent in that task's context) or that first sent or received on it; the
 * owner is kept in socket storage, so events that arrive in softirq context
 * (handshake completion, retransmits, resets) find their agent.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "agent.bpf.h"

#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6
#define MSG_PEEK 2
#define ECONNREFUSED 111
#define ETIMEDOUT 110

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
	return ss;
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
		struct sw_sys *cur = sw_current_sys();

		if (!cur)
			return 0;
		ss = sock_of(sk, cur);
		if (ss) {
			ss->slot = cur->slot;
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
	struct sw_sys *cur = sw_current_sys();
	struct sw_agent_stats *s;

	if (!cur || ret <= 0 || (flags & MSG_PEEK) || !is_tcp(sk))
		return 0;
	sock_of(sk, cur); /* a server's accepted socket gets its owner here */
	s = sw_stats(cur->slot);
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
