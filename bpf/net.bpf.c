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
#include "request.bpf.h"
#include "host.bpf.h"

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
	sw_sock_own(ss, cur->slot);
	ss->family = sk->__sk_common.skc_family;
	ss->dport = bpf_ntohs(sk->__sk_common.skc_dport);
	if (ss->family == AF_INET) {
		ss->daddr[0] = sk->__sk_common.skc_daddr;
	} else if (!sk->__sk_common.skc_v6_daddr.in6_u.u6_addr32[0] &&
		   !sk->__sk_common.skc_v6_daddr.in6_u.u6_addr32[1] &&
		   sk->__sk_common.skc_v6_daddr.in6_u.u6_addr32[2] == bpf_htonl(0xffff)) {
		/* An IPv4 peer on an IPv6 socket (::ffff:a.b.c.d, RFC 4291 §2.5.5.2) is IPv4. */
		ss->family = AF_INET;
		ss->daddr[0] = sk->__sk_common.skc_v6_daddr.in6_u.u6_addr32[3];
	} else {
		ss->daddr[0] = sk->__sk_common.skc_v6_daddr.in6_u.u6_addr32[0];
		ss->daddr[1] = sk->__sk_common.skc_v6_daddr.in6_u.u6_addr32[1];
		ss->daddr[2] = sk->__sk_common.skc_v6_daddr.in6_u.u6_addr32[2];
		ss->daddr[3] = sk->__sk_common.skc_v6_daddr.in6_u.u6_addr32[3];
	}
	return ss;
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

#define TLS_RECORDS_LOOKED_AT 4

/*
 * Id of the host name that a client's first bytes on a connection give its
 * peer (host.bpf.h): the ClientHello's SNI when tls, else the HTTP Host
 * header; 0 if none. A global function: the verifier checks its loops once,
 * not once per path of its caller, and only a connection's first write
 * runs it.
 */
__noinline __u64 sw_peer_host(__u64 buf, __u32 len, __u32 tls)
{
	return tls ? host_from_sni(buf, len) : host_from_http(buf, len);
}

/*
 * Whether data in the request direction (a client's write, a server's
 * read) of a TLS socket starts a request: it holds an application-data
 * record, not counting an encrypted TLS 1.3 alert (the close_notify of a
 * clean close) nor, on the server side, the client's TLS 1.3 Finished, the
 * first application-data record it receives. The first few records of the
 * `len` bytes are looked at: a client's Finished and first request often
 * arrive in one read, after a ChangeCipherSpec.
 */
static __always_inline bool tls_request_starts(struct sw_sock *ss, bool sent, int len)
{
	__u64 buf = syscall_buffer(sent);
	__u32 off = 0;
	int i;

	for (i = 0; i < TLS_RECORDS_LOOKED_AT && off + 5 <= (__u32)len; i++) {
		__u16 rlen = 0;
		__u8 type = tls_record(buf + off, &rlen);

		if (!type)
			return false;
		off += 5 + rlen;
		if (type == TLS_CHANGE_CIPHER_SPEC)
			continue;
		if (type != TLS_APPLICATION_DATA || sw_tls13_alert_len(rlen))
			return false;
		if (ss->role == SW_ROLE_SERVER && !(ss->flags & SW_SOCK_TLS_DATA) &&
		    sw_tls13_finished_len(rlen)) {
			ss->flags |= SW_SOCK_TLS_DATA;
			continue;
		}
		ss->flags |= SW_SOCK_TLS_DATA;
		return true;
	}
	return false;
}

/*
 * Whether the current task's OpenSSL calls are probed: the probes, not the
 * socket's bytes, end its TLS requests. (A task of an opted-in agent whose
 * TLS library cannot be probed keeps the socket-level pairing.)
 */
static __always_inline bool tls_probed_task(void)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct sw_tls_call *c;

	if (!tls_capture || !t->bpf_storage)
		return false;
	c = bpf_task_storage_get(&tls_calls, t, 0, 0);
	return c && c->probed;
}

/*
 * One send (sent) or receive of data on a socket: starts a request, or
 * answers the one in flight, depending on the socket's role.
 *
 * A socket whose first bytes are a TLS handshake record carries encrypted
 * requests: its handshake is not a request (tls_request_starts()) and the
 * status is unknown, unless TLS capture pairs it (tls_on_socket()): then a
 * request the socket's bytes started is left for the probes to end. With
 * TLS 1.3 the session tickets a server sends after the handshake may be
 * taken for the response to the client's first request on the connection:
 * without capture, that request is then counted with too short a latency.
 */
static __always_inline void track_request(struct sw_sock *ss, bool sent, int bytes)
{
	__u32 status = SW_STATUS_UNKNOWN;
	__u16 len;
	__u64 now;

	if (!(ss->flags & SW_SOCK_SNIFFED)) {
		__u64 buf = syscall_buffer(sent);
		bool client = sent && ss->role != SW_ROLE_SERVER;

		ss->flags |= SW_SOCK_SNIFFED;
		if (tls_record(buf, &len) == TLS_HANDSHAKE)
			ss->flags |= SW_SOCK_TLS;
		if (client && buf)
			ss->host = sw_peer_host(buf, bytes, ss->flags & SW_SOCK_TLS);
	}
	if (!ss->role)
		ss->role = sent ? SW_ROLE_CLIENT : SW_ROLE_SERVER;
	/* A client's request goes out, a server's comes in. */
	if (sent == (ss->role == SW_ROLE_CLIENT)) {
		if (!ss->req_ns &&
		    (!(ss->flags & SW_SOCK_TLS) || tls_request_starts(ss, sent, bytes)))
			ss->req_ns = bpf_ktime_get_ns();
		return;
	}
	if (!ss->req_ns)
		return; /* more of a response already counted */
	if ((ss->flags & SW_SOCK_TLS) && tls_probed_task())
		return; /* not a response the probes saw (session tickets): theirs to end */
	if (!(ss->flags & SW_SOCK_TLS)) {
		status = final_status(syscall_buffer(sent), bytes);
		if (status == SW_STATUS_INTERIM)
			return; /* 100 Continue, 103 Early Hints: the final response is due */
	}
	now = bpf_ktime_get_ns();
	count_request(ss, status, now - ss->req_ns);
	ss->req_ns = 0;
}

/*
 * LLM capture of a plaintext client connection (Ollama on :11434, a local gateway): the bytes
 * of the read or write in progress, when the peer is a configured LLM upstream.
 */
static __always_inline void llm_plain(struct sw_sock *ss, struct sock *sk, bool sent, int bytes)
{
	__u64 buf, id;

	if ((ss->flags & (SW_SOCK_TLS | SW_SOCK_SSL)) || ss->role != SW_ROLE_CLIENT ||
	    ((ss->flags & SW_SOCK_LLM_CHECKED) && !(ss->flags & SW_SOCK_LLM)))
		return;
	buf = syscall_buffer(sent);
	if (!buf) {
		llm_count(SW_LLM_CNT_NO_BUFFER);
		return;
	}
	/* The channel: the connection's local and peer ports and the peer's address (last word). */
	id = (__u64)sk->__sk_common.skc_num << 48 | (__u64)sk->__sk_common.skc_dport << 32 |
	     (ss->family == AF_INET ? ss->daddr[0] : ss->daddr[3]);
	sw_llm_bytes(ss, id, sent ? SW_LLM_ARG_SENT : 0, buf, bytes);
}

/*
 * Whether the OpenSSL probes pair this socket's requests (tls_on_socket()).
 * Until they take a socket over (the handshake, or requests made before
 * the probes were attached) its own bytes pair them, with status unknown.
 */
static __always_inline bool paired_by_tls(struct sw_sock *ss, bool sent)
{
	return tls_capture && tls_on_socket(ss, sent);
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
			sw_sock_own(ss, cur->slot);
			ss->role = SW_ROLE_CLIENT;
			ss->connect_ns = bpf_ktime_get_ns();
		}
		return 0;
	}
	ss = bpf_sk_storage_get(&socks, (void *)sk, 0, 0);
	if (!ss)
		return 0;
	s = sw_sock_stats(ss);
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
			struct sw_proc_stats *p = sw_proc_stats_of(ss);

			ss->flags |= SW_SOCK_ESTABLISHED;
			s->tcp_opened += 1;
			if (p)
				__sync_fetch_and_add(&p->tcp_opened, 1);
		}
		return 0;
	}
	if (oldstate == TCP_SYN_SENT && newstate == TCP_CLOSE && ss->connect_ns) {
		int err = sk->sk_err;

		/*
		 * A reset sets ECONNREFUSED and an ICMP error its own code. No
		 * answer at all is a timeout, whether the kernel gave up
		 * (ETIMEDOUT) or the program did: closed before any reply came,
		 * which leaves sk_err, and sk_err_soft (ICMP errors kept while
		 * retrying), at 0.
		 */
		result = err == ECONNREFUSED				  ? SW_TCP_REFUSED
			 : err == ETIMEDOUT || (!err && !sk->sk_err_soft) ? SW_TCP_TIMEOUT
									  : SW_TCP_ERROR;
		s->tcp_connects[result] += 1;
		ss->connect_ns = 0;
		return 0;
	}
	if (oldstate == TCP_ESTABLISHED && (ss->flags & SW_SOCK_ESTABLISHED)) {
		struct sw_proc_stats *p = sw_proc_stats_of(ss);

		ss->flags &= ~SW_SOCK_ESTABLISHED;
		s->tcp_closed += 1;
		if (p)
			__sync_fetch_and_add(&p->tcp_closed, 1);
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
	if (ss && (s = sw_sock_stats(ss)))
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
	if (ss && (s = sw_sock_stats(ss)))
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
	if (ss && (s = sw_sock_stats(ss)))
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
	cur = ss ? NULL : sw_current_sys();
	if (cur)
		ss = sock_of(sk, cur);
	if (!ss)
		return 0;
	if (!paired_by_tls(ss, sent)) {
		track_request(ss, sent, ret);
		if (llm_capture)
			llm_plain(ss, sk, sent, ret);
	}
	s = sw_sock_stats(ss);
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
