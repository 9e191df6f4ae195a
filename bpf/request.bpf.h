/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Request accounting shared by the socket hooks and the OpenSSL probes. */
#ifndef SWARMWATCH_REQUEST_BPF_H
#define SWARMWATCH_REQUEST_BPF_H

#include "agent.bpf.h"
#include "sniff.h"

/* Adds one request of status `status` and latency ns to its series. */
static __always_inline void count_request(struct sw_sock *ss, __u32 status, __u64 ns)
{
	struct sw_req_key key = {};
	struct sw_req_stats *r;
	__u32 b = sw_log2_bucket(ns, SW_LAT_SLOTS);

	if (!sw_sock_current(ss))
		return; /* its agent's slot was reclaimed */
	key.slot = ss->slot;
	key.role = ss->role;
	key.status = status;
	/* A server's peers come from ephemeral ports: one series per client address. */
	key.port = ss->role == SW_ROLE_SERVER ? 0 : ss->dport;
	key.family = ss->family;
	__builtin_memcpy(key.addr, ss->daddr, sizeof(key.addr));
	key.host = ss->role == SW_ROLE_CLIENT ? ss->host : 0;
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
		struct sw_agent_stats *s = sw_stats(ss->slot); /* current: checked above */

		if (s) {
			s->client_requests += 1;
			s->client_failures += status == 5 || status == SW_STATUS_ERROR;
			if (b < SW_LAT_SLOTS)
				s->client_req_lat[b] += 1;
		}
	}
	{
		/* Per process, for its instance's breaker and routing weight. */
		struct sw_proc_stats *p = sw_proc_stats_of(ss);

		if (p) {
			__sync_fetch_and_add(&p->requests, 1);
			if (status == 5 || status == SW_STATUS_ERROR)
				__sync_fetch_and_add(&p->failures, 1);
			__sync_fetch_and_add(&p->lat_sum_ns, ns);
		}
	}
	/* Not per-CPU: several CPUs may add to one series at once. */
	__sync_fetch_and_add(&r->count, 1);
	if (b < SW_LAT_SLOTS)
		__sync_fetch_and_add(&r->lat[b], 1);
	__sync_fetch_and_add(&r->lat_sum_ns, ns);
}

/*
 * Status of a response whose first bytes are at user address buf: its
 * class (1..5), SW_STATUS_429, SW_STATUS_INTERIM for an interim response
 * (1xx but 101 Switching Protocols, which is final: RFC 9110 §15.2), or
 * unknown when they are not "HTTP/1.x NNN".
 */
static __always_inline __u32 response_status(__u64 buf)
{
	char h[SW_HTTP_STATUS_PEEK];

	if (!buf || bpf_probe_read_user(h, sizeof(h), (const void *)buf))
		return SW_STATUS_UNKNOWN;
	return sw_http_status(h);
}

static __always_inline struct sw_scratch *sw_scratch(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&scratch, &zero);
}

#define HEAD_SCAN 128 /* bytes of an interim response searched for its end */

/*
 * Offset just past the blank line that ends the head at user address buf,
 * of which len bytes are valid; 0 when it does not end within HEAD_SCAN
 * bytes (counted when there were more to look at) or cannot be read.
 */
static __always_inline __u32 head_end(__u64 buf, __u32 len)
{
	struct sw_scratch *sc = sw_scratch();
	__u32 n = len < HEAD_SCAN ? len : HEAD_SCAN, i;
	const char *b;

	barrier_var(n); /* the verifier must see the bound on the register passed */
	if (!sc || n < 4 || n > HEAD_SCAN || bpf_probe_read_user(sc->buf, n, (void *)buf))
		return 0;
	b = sc->buf;
	for (i = 0; i < HEAD_SCAN - 3; i++) {
		if (i + 4 > n)
			break;
		if (b[i] == '\r' && b[i + 1] == '\n' && b[i + 2] == '\r' && b[i + 3] == '\n')
			return i + 4;
	}
	if (len > HEAD_SCAN)
		sw_count(SW_CNT_HEAD_TRUNCATED);
	return 0;
}

/*
 * Status of the final response in the len bytes at user address buf: when
 * they start with an interim response (100 Continue, 103 Early Hints) the
 * response after it in the same bytes, if any; SW_STATUS_INTERIM when they
 * hold no final response yet, and the request stays in flight. One interim
 * response is looked past; after two, the next read is taken as the final.
 */
static __always_inline __u32 final_status(__u64 buf, __u32 len)
{
	__u32 status = response_status(buf), end;

	if (status != SW_STATUS_INTERIM)
		return status;
	end = head_end(buf, len);
	if (!end || end + 12 > len)
		return SW_STATUS_INTERIM;
	return response_status(buf + end);
}

/*
 * Type of the TLS record at user address buf (0 if it does not look like
 * one); its length goes to *len.
 */
static __always_inline __u8 tls_record(__u64 buf, __u16 *len)
{
	__u8 h[SW_TLS_HEADER_LEN];

	if (!buf || bpf_probe_read_user(h, sizeof(h), (const void *)buf))
		return 0;
	return sw_tls_record(h, len);
}

/* Set by the daemon when some agent has TLS capture on (the OpenSSL probes load). */
#ifdef SW_TLS_DEFINE
const volatile __u8 tls_capture = 0;
/* Set by the daemon when LLM upstreams are configured (llm.upstreams). */
const volatile __u8 llm_capture = 0;
#else
extern const volatile __u8 tls_capture;
extern const volatile __u8 llm_capture;
#endif

/* ---- LLM capture: plaintext of configured LLM upstreams for the daemon's parser ---- */

#define SW_LLM_WAKE_BYTES (512 * 1024) /* a quarter of `llm_events` */

static __always_inline void llm_count(__u32 counter)
{
	__u64 *v = bpf_map_lookup_elem(&llm_counters, &counter);

	if (v)
		*v += 1;
}

static __always_inline bool llm_peer_known(struct sw_llm_peer *k)
{
	return bpf_map_lookup_elem(&llm_peers, k) != NULL;
}

/*
 * Whether client socket ss goes to a configured LLM upstream: its host name or its address,
 * with its port or any. Looked up once per socket, when its first request starts (the host
 * name, from the TLS ClientHello or the Host header, is known by then).
 */
static __always_inline bool llm_sock(struct sw_sock *ss)
{
	struct sw_llm_peer k = {};

	if (ss->flags & SW_SOCK_LLM_CHECKED)
		return ss->flags & SW_SOCK_LLM;
	ss->flags |= SW_SOCK_LLM_CHECKED;
	if (ss->host) {
		k.host = ss->host;
		k.port = ss->dport;
		if (llm_peer_known(&k))
			goto yes;
		k.port = 0;
		if (llm_peer_known(&k))
			goto yes;
		k.host = 0;
	}
	k.family = ss->family;
	__builtin_memcpy(k.addr, ss->daddr, sizeof(k.addr));
	k.port = ss->dport;
	if (llm_peer_known(&k))
		goto yes;
	k.port = 0;
	if (llm_peer_known(&k))
		goto yes;
	return false;
yes:
	ss->flags |= SW_SOCK_LLM;
	return true;
}

/* llm_emit()'s kind_flags: buf is a kernel copy (struct sw_tls_wcopy), not user memory. */
#define SW_LLM_EMIT_KERNEL (1u << 31)

/* Copies n (<= SW_LLM_DATA) bytes at buf, user memory or a kernel copy, to dst. */
static __always_inline long llm_read(void *dst, __u32 n, __u64 buf, bool kernel)
{
	return kernel ? bpf_probe_read_kernel(dst, n, (const void *)buf)
		      : bpf_probe_read_user(dst, n, (const void *)buf);
}

/*
 * Hands len bytes at buf (user memory, or a kernel copy with SW_LLM_EMIT_KERNEL), of the
 * exchange `key` in flight (st), to the daemon: all of them up to SW_LLM_DATA, else the first
 * and last SW_LLM_DATA / 2 (usage sits at the end of a body) with the count left out between.
 * kind_flags: enum sw_llm_kind | SW_LLM_F_* << 8 | SW_LLM_EMIT_KERNEL.
 */
static __noinline int llm_emit(const struct sw_tls_key *key, const struct sw_llm_stream *st,
			       __u64 buf, __u32 len, __u32 kind_flags)
{
	struct sw_llm_event *e;
	__u32 zero = 0, n = len, half = SW_LLM_DATA / 2;
	bool kernel = kind_flags & SW_LLM_EMIT_KERNEL;
	__u64 wake;

	if (!buf || !len)
		return 0;
	e = bpf_map_lookup_elem(&llm_scratch, &zero);
	if (!e)
		return 0;
	e->kind = kind_flags & 0xff;
	e->flags = (kind_flags & ~SW_LLM_EMIT_KERNEL) >> 8;
	e->family = st->family;
	e->port = st->port;
	e->slot = st->slot;
	e->tgid = key->tgid;
	e->id = key->ssl;
	e->ts_ns = bpf_ktime_get_ns();
	e->req_ns = st->req_ns;
	e->host = st->host;
	__builtin_memcpy(e->addr, st->addr, sizeof(e->addr));
	e->skipped = 0;
	if (len > SW_LLM_DATA) {
		if (llm_read(e->data, half, buf, kernel) ||
		    llm_read(e->data + half, half, buf + len - half, kernel))
			return 0;
		e->skipped = len - SW_LLM_DATA;
		n = SW_LLM_DATA;
		llm_count(SW_LLM_CNT_CUT_READS);
	} else {
		barrier_var(n);
		if (n > SW_LLM_DATA)
			return 0;
		if (llm_read(e->data, n, buf, kernel))
			return 0;
	}
	e->len = n;
	barrier_var(n);
	if (n > SW_LLM_DATA)
		return 0;
	/*
	 * No wakeup per record (one would cost the caller a switch to the daemon, for each read
	 * of a stream): the daemon reads at each tick, and is woken once the buffer is a quarter
	 * full. Timings come from the records' own timestamps.
	 */
	wake = bpf_ringbuf_query(&llm_events, BPF_RB_AVAIL_DATA) > SW_LLM_WAKE_BYTES
		       ? BPF_RB_FORCE_WAKEUP
		       : BPF_RB_NO_WAKEUP;
	if (bpf_ringbuf_output(&llm_events, e, offsetof(struct sw_llm_event, data) + n, wake)) {
		llm_count(SW_LLM_CNT_RINGBUF_FULL);
		return 0;
	}
	llm_count(SW_LLM_CNT_EVENTS);
	return 0;
}

/*
 * Bytes a client received on channel id of process tgid: handed over while an exchange is in
 * flight there, up to SW_LLM_RESP_BUDGET bytes per response (a response beyond is counted once).
 */
static __always_inline void llm_response(__u64 id, __u32 tgid, __u64 buf, __u64 len)
{
	struct sw_tls_key key = {.ssl = id, .tgid = tgid};
	struct sw_llm_stream *st = bpf_map_lookup_elem(&llm_streams, &key);

	if (!st)
		return;
	if (st->resp_bytes >= SW_LLM_RESP_BUDGET) {
		if (!st->cut)
			llm_count(SW_LLM_CNT_RESP_BUDGET);
		st->cut = 1;
		return;
	}
	st->resp_bytes += len < SW_LLM_DATA ? len : SW_LLM_DATA;
	llm_emit(&key, st, buf, len, SW_LLM_RESPONSE);
}

#define SW_LLM_ARG_SENT (1ull << 32) /* sw_llm_bytes(): the bytes were sent (else received) */
/* sw_llm_bytes(): the bytes are the current task's `tls_wcopy` copy (buf is ignored: a global
 * function takes no pointer to a map value as a number) */
#define SW_LLM_ARG_KERNEL (1ull << 33)

/*
 * Bytes a client moved on a connection to a configured LLM upstream (or not: checked here
 * once per socket), on channel id (SSL *, or the connection) of process tgid (low 32 bits of
 * arg; SW_LLM_ARG_SENT above). Sent bytes open a new exchange when the channel has none or
 * its response has begun (HTTP/1.x: a response follows its whole request), and the request's
 * first SW_LLM_REQ_BUDGET bytes are handed over (path, headers, the body's start); received
 * bytes are handed over while an exchange is in flight. A global function: the verifier
 * checks it once, not once per path of the socket hooks.
 */
#ifndef SW_TLS_DEFINE
extern int sw_llm_bytes(struct sw_sock *ss, __u64 id, __u64 arg, __u64 buf, __u64 len);
#else
__noinline int sw_llm_bytes(struct sw_sock *ss, __u64 id, __u64 arg, __u64 buf, __u64 len)
{
	struct sw_tls_key key = {.ssl = id, .tgid = (__u32)arg};
	struct sw_llm_stream *st;
	bool start = false;
	__u32 room, n;

	if (!ss || !llm_sock(ss))
		return 0;
	if (!(arg & SW_LLM_ARG_SENT)) {
		llm_response(id, (__u32)arg, buf, len);
		return 0;
	}
	if (arg & SW_LLM_ARG_KERNEL) {
		struct sw_tls_wcopy *w =
			bpf_task_storage_get(&tls_wcopy, bpf_get_current_task_btf(), 0, 0);

		if (!w)
			return 0;
		barrier_var(w); /* no arithmetic on w before its null check */
		buf = (__u64)w->data;
	}
	st = bpf_map_lookup_elem(&llm_streams, &key);
	if (!st || st->resp_bytes) {
		struct sw_llm_stream fresh = {};

		fresh.req_ns = bpf_ktime_get_ns();
		fresh.host = ss->host;
		__builtin_memcpy(fresh.addr, ss->daddr, sizeof(fresh.addr));
		fresh.slot = ss->slot;
		fresh.port = ss->dport;
		fresh.family = ss->family;
		bpf_map_update_elem(&llm_streams, &key, &fresh, BPF_ANY);
		st = bpf_map_lookup_elem(&llm_streams, &key);
		start = true;
	}
	if (!st)
		return 0;
	if (st->req_bytes >= SW_LLM_REQ_BUDGET) {
		llm_count(SW_LLM_CNT_REQ_BUDGET);
		return 0;
	}
	room = SW_LLM_REQ_BUDGET - st->req_bytes;
	n = len < room ? len : room;
	if (len > room)
		llm_count(SW_LLM_CNT_REQ_BUDGET);
	st->req_bytes += n;
	llm_emit(&key, st, buf, n,
		 SW_LLM_REQUEST | (start ? SW_LLM_F_START << 8 : 0) |
			 (arg & SW_LLM_ARG_KERNEL ? SW_LLM_EMIT_KERNEL : 0));
	return 0;
}
#endif

/*
 * Hands the plaintext of task t's last SSL_write (call c), whose records ss is sending, to the
 * LLM parser: the copy taken when SSL_write returned if there is one (a memory-BIO program,
 * which may have freed the buffer since; struct sw_tls_wcopy), else the buffer itself (the
 * send happens inside SSL_write).
 */
static __always_inline void tls_llm_sent(struct sw_sock *ss, struct sw_tls_call *c,
					 struct task_struct *t)
{
	struct sw_tls_wcopy *w = bpf_task_storage_get(&tls_wcopy, t, 0, 0);

	if (w && w->len && w->ssl == c->wssl && w->buf == c->wbuf) {
		__u32 n = w->len;

		w->len = 0;
		sw_llm_bytes(ss, c->wssl, t->tgid | SW_LLM_ARG_SENT | SW_LLM_ARG_KERNEL, 0, n);
		return;
	}
	sw_llm_bytes(ss, c->wssl, t->tgid | SW_LLM_ARG_SENT, c->wbuf, c->wlen);
}

/*
 * Takes socket ss over for the OpenSSL probes: from now on they pair its
 * requests. A request the socket's bytes started stays in flight.
 */
static __always_inline void tls_take(struct sw_sock *ss, bool sent)
{
	ss->flags |= SW_SOCK_SSL;
	if (!ss->role)
		ss->role = sent ? SW_ROLE_CLIENT : SW_ROLE_SERVER;
}

/*
 * A send or receive on a socket whose requests the OpenSSL probes pair (see
 * tls.bpf.c), or one that carries an OpenSSL call's bytes and ties its SSL
 * to the socket. Returns false when neither holds: the socket's own bytes
 * pair its requests.
 *
 * A client's request starts when SSL_write is entered; its response is the
 * plaintext the next SSL_read returns, whose status the return probe reads.
 * A server's request starts at the first encrypted bytes read, and its
 * response is the plaintext handed to SSL_write.
 *
 * Sends: the first send on a TLS socket after an SSL_write on the same task
 * carries its bytes, made inside the call (a socket BIO, as most programs
 * use) or just after it (a memory BIO, as Node.js uses); the socket learns
 * its SSL then. Receives: the first one inside SSL_read names the socket's
 * SSL too. A client request whose response bytes arrive, inside SSL_read or
 * just before it (a memory BIO), waits in `tls_pending` by SSL * for
 * SSL_read's return probe.
 */
static __always_inline bool tls_on_socket(struct sw_sock *ss, bool sent)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct sw_tls_call *c = NULL;

	if (t->bpf_storage)
		c = bpf_task_storage_get(&tls_calls, t, 0, 0);
	if (sent) {
		if (c && c->wpend && (ss->flags & (SW_SOCK_SSL | SW_SOCK_TLS))) {
			c->wpend = 0;
			tls_take(ss, sent);
			ss->ssl = c->wssl;
			if (ss->role == SW_ROLE_CLIENT) {
				if (!ss->req_ns)
					ss->req_ns = c->wstart_ns;
				if (llm_capture)
					tls_llm_sent(ss, c, t);
			} else if (ss->req_ns) {
				__u32 status = final_status(c->wbuf, c->wlen);

				if (status == SW_STATUS_INTERIM)
					return true; /* the final response is still to come */
				count_request(ss, status, bpf_ktime_get_ns() - ss->req_ns);
				ss->req_ns = 0;
			}
			return true;
		}
		return ss->flags & SW_SOCK_SSL;
	}
	if (c && c->armed) {
		c->armed = 0;
		tls_take(ss, sent);
		ss->ssl = c->ssl;
	} else if (!(ss->flags & SW_SOCK_SSL)) {
		return false;
	}
	/* Inside SSL_read, or before it with a memory BIO: the SSL is the socket's. */
	if (ss->role == SW_ROLE_SERVER) {
		if (!ss->req_ns)
			ss->req_ns = bpf_ktime_get_ns();
	} else if (ss->req_ns && ss->ssl) {
		struct sw_tls_key key = {.ssl = ss->ssl, .tgid = t->tgid};
		struct sw_sock *held = bpf_map_lookup_elem(&tls_pending, &key);

		/* After an interim response the request waits there already, since its start. */
		if (!held || !(held->flags & SW_SOCK_INTERIM))
			bpf_map_update_elem(&tls_pending, &key, ss, BPF_ANY);
		ss->req_ns = 0;
	}
	return true;
}

#endif /* SWARMWATCH_REQUEST_BPF_H */
