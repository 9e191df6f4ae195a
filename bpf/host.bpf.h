/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The host name a client's first bytes on a connection give its peer: the
 * server name of a TLS ClientHello (SNI, RFC 6066 §3) or the HTTP/1.x Host
 * header (RFC 9112 §3.2). A name is kept only if it is a DNS name
 * ([A-Za-z0-9.-], at most SW_HOST_LEN - 1 characters), lowercased, in
 * `host_names` under its 64-bit FNV-1a hash; the socket keeps the hash.
 * Every loop is bounded; a name that may lie beyond what is looked at is
 * counted in SW_CNT_HEAD_TRUNCATED.
 */
#ifndef SWARMWATCH_HOST_BPF_H
#define SWARMWATCH_HOST_BPF_H

#include "request.bpf.h"

#define HOST_SCAN 512 /* bytes of an HTTP request head searched for Host */
#define SNI_EXTENSIONS 32 /* ClientHello extensions looked through for server_name */
#define TLS_CLIENT_HELLO 1
#define TLS_EXT_SERVER_NAME 0

#define FNV64_OFFSET 0xcbf29ce484222325ULL /* FNV-1a, 64 bits (draft-eastlake-fnv) */
#define FNV64_PRIME 0x100000001b3ULL

/* A host name being checked, lowercased and hashed, one bpf_loop() step per character. */
struct host_name {
	struct sw_host h; /* the name, NUL-padded once checked */
	__u64 id; /* FNV-1a of the characters so far */
	__u32 n; /* its length */
	__u32 bad; /* a character outside [A-Za-z0-9.-] */
};

static long host_char_step(__u32 i, void *ctx)
{
	struct host_name *s = ctx;
	char c;

	if (i >= SW_HOST_LEN)
		return 1;
	if (i >= s->n) {
		s->h.name[i] = 0;
		return 0;
	}
	c = s->h.name[i];
	if (c >= 'A' && c <= 'Z')
		c += 'a' - 'A';
	else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-'))
		s->bad = 1;
	s->h.name[i] = c;
	s->id = (s->id ^ (__u8)c) * FNV64_PRIME;
	return s->bad ? 1 : 0;
}

/*
 * Id of the DNS name in s->h.name (s->n bytes), lowercased and recorded in
 * `host_names`; 0 when it is not a DNS name of 1 to SW_HOST_LEN - 1
 * characters or cannot be recorded (table full: counted).
 */
static __always_inline __u64 host_record(struct host_name *s)
{
	int err;

	if (s->n && s->n < SW_HOST_LEN && s->h.name[(s->n - 1) & (SW_HOST_LEN - 1)] == '.')
		s->n--; /* the root's dot: "example.com." is "example.com" */
	if (!s->n || s->n >= SW_HOST_LEN)
		return 0;
	s->id = FNV64_OFFSET;
	s->bad = 0;
	bpf_loop(SW_HOST_LEN, host_char_step, s, 0);
	if (s->bad)
		return 0;
	if (!s->id)
		s->id = 1;
	err = bpf_map_update_elem(&host_names, &s->id, &s->h, BPF_NOEXIST);
	if (err && err != -17 /* EEXIST: known already */) {
		sw_count(SW_CNT_HOST_NAMES_FULL);
		return 0;
	}
	return s->id;
}

/* State of the search for the Host header, one bpf_loop() step per byte. */
struct host_scan {
	const char *b; /* the head's bytes, in `scratch` */
	__u32 n; /* how many */
	__u32 start; /* where the Host header's value starts, 0 until found */
	__u32 done; /* found, or the head ended without it; then as host_copy_step() says */
	__u32 end; /* the value's length */
};

/*
 * One byte of the search: a line that starts "Host:" (any case) after
 * "\r\n", or the blank line that ends the head. A bpf_loop() callback, so
 * that the verifier checks it once rather than once per position.
 */
static long host_scan_step(__u32 i, void *ctx)
{
	struct host_scan *s = ctx;
	const char *b = s->b;

	if (i + 8 > s->n || i > SW_SCRATCH_LEN - 8)
		return 1;
	if (b[i] != '\r' || b[i + 1] != '\n')
		return 0;
	s->done = 1;
	if (b[i + 2] == '\r')
		return 1; /* end of the head: no Host */
	if ((b[i + 2] | 0x20) == 'h' && (b[i + 3] | 0x20) == 'o' && (b[i + 4] | 0x20) == 's' &&
	    (b[i + 5] | 0x20) == 't' && b[i + 6] == ':') {
		s->start = i + 7;
		return 1;
	}
	s->done = 0;
	return 0;
}

/*
 * One character of the Host header's value: it ends at a port, a space or
 * the end of the line (done 1, end its length); done 2 when it is longer
 * than SW_HOST_LEN - 1, 3 when it goes on beyond the bytes read.
 */
static long host_copy_step(__u32 i, void *ctx)
{
	struct host_scan *s = ctx;
	__u32 at = s->start + i;
	char c;

	if (i >= SW_HOST_LEN - 1) {
		s->done = 2;
		return 1;
	}
	if (at >= s->n || at >= SW_SCRATCH_LEN) {
		s->done = 3;
		return 1;
	}
	c = s->b[at];
	if (c == ':' || c == '\r' || c == ' ' || c == '\t') {
		s->done = 1;
		s->end = i;
		return 1;
	}
	return 0;
}

/*
 * Host header of the HTTP/1.x request head in the len bytes at user
 * address buf: its name without the port, recorded; 0 if none is found.
 */
static __always_inline __u64 host_from_http(__u64 buf, __u32 len)
{
	struct sw_scratch *sc = sw_scratch();
	struct host_name name = {};
	struct host_scan s = {};
	__u32 n = len < HOST_SCAN ? len : HOST_SCAN, i, start;
	const char *b;

	barrier_var(n);
	if (!sc || n < 16 || n > HOST_SCAN || bpf_probe_read_user(sc->buf, n, (void *)buf))
		return 0;
	b = sc->buf;
	if (b[0] < 'A' || b[0] > 'Z')
		return 0; /* not a request line */
	s.b = b;
	s.n = n;
	bpf_loop(HOST_SCAN - 7, host_scan_step, &s, 0);
	start = s.start;
	if (!start) {
		if (!s.done && len > n)
			sw_count(SW_CNT_HEAD_TRUNCATED);
		return 0;
	}
	for (i = 0;
	     i < 8 && start < n &&
	     (b[start & (SW_SCRATCH_LEN - 1)] == ' ' || b[start & (SW_SCRATCH_LEN - 1)] == '\t');
	     i++)
		start++;
	s.start = start;
	s.done = 0;
	bpf_loop(SW_HOST_LEN, host_copy_step, &s, 0);
	if (s.done != 1) {
		/* Beyond what was read, or longer than a name is kept: the address labels it. */
		if (s.done == 2 || len > n)
			sw_count(SW_CNT_HEAD_TRUNCATED);
		return 0;
	}
	name.n = s.end;
	barrier_var(name.n);
	if (name.n >= SW_HOST_LEN ||
	    bpf_probe_read_kernel(name.h.name, name.n, b + (start & (SW_SCRATCH_LEN - 1))))
		return 0;
	return host_record(&name);
}

/* Big-endian 16-bit value at user address a; 0 if unreadable (then *ok is false). */
static __always_inline __u32 read_be16(__u64 a, bool *ok)
{
	__u8 v[2];

	if (bpf_probe_read_user(v, 2, (void *)a)) {
		*ok = false;
		return 0;
	}
	return (__u32)v[0] << 8 | v[1];
}

static __always_inline __u32 read_u8(__u64 a, bool *ok)
{
	__u8 v;

	if (bpf_probe_read_user(&v, 1, (void *)a)) {
		*ok = false;
		return 0;
	}
	return v;
}

/*
 * Server name of the TLS ClientHello that starts the len bytes at user
 * address buf (a handshake record), recorded; 0 if it has none that can be
 * read. RFC 8446 §4.1.2: record header (5), handshake header (4), version
 * (2), random (32), session id, cipher suites, compression methods, then
 * the extensions, each a type, a length and data; server_name's data is a
 * list of (type 0, length, name).
 */
static __always_inline __u64 host_from_sni(__u64 buf, __u32 len)
{
	struct host_name name = {};
	__u32 off = 5 + 4 + 2 + 32, end, i, type, elen, nlen;
	bool ok = true;

	if (len < off + 1 || read_u8(buf + 5, &ok) != TLS_CLIENT_HELLO || !ok)
		return 0;
	off += 1 + read_u8(buf + off, &ok); /* session id */
	off += 2 + read_be16(buf + off, &ok); /* cipher suites */
	off += 1 + read_u8(buf + off, &ok); /* compression methods */
	end = off + 2 + read_be16(buf + off, &ok); /* extensions */
	off += 2;
	if (!ok)
		return 0;
	for (i = 0; i < SNI_EXTENSIONS; i++) {
		if (off + 4 > end)
			return 0; /* no server name: an address, or none given */
		if (off + 4 > len)
			break; /* the hello goes on in a later write */
		type = read_be16(buf + off, &ok);
		elen = read_be16(buf + off + 2, &ok);
		if (!ok)
			return 0;
		if (type != TLS_EXT_SERVER_NAME) {
			off += 4 + elen;
			continue;
		}
		/* list length (2), name type (1, host_name = 0), name length (2), name */
		if (read_u8(buf + off + 6, &ok) != 0 || !ok)
			return 0;
		nlen = read_be16(buf + off + 7, &ok);
		if (!ok || !nlen)
			return 0;
		if (nlen >= SW_HOST_LEN || off + 9 + nlen > len) {
			sw_count(SW_CNT_HEAD_TRUNCATED);
			return 0;
		}
		barrier_var(nlen);
		if (nlen >= SW_HOST_LEN ||
		    bpf_probe_read_user(name.h.name, nlen, (void *)(buf + off + 9)))
			return 0;
		name.n = nlen;
		return host_record(&name);
	}
	sw_count(SW_CNT_HEAD_TRUNCATED);
	return 0;
}

#endif /* SWARMWATCH_HOST_BPF_H */
