/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What the first bytes of a captured buffer are: a TLS record header, an
 * HTTP response's status line. Shared by the BPF programs (which copy the
 * bytes from user memory first) and the host, where they are unit-tested
 * and fuzzed. Plain byte comparisons: no loops, no builtins, no I/O.
 */
#ifndef SWARMWATCH_SNIFF_H
#define SWARMWATCH_SNIFF_H

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

#define SW_HTTP_STATUS_PEEK 12 /* "HTTP/1.1 200": bytes sw_http_status() looks at */
#define SW_TLS_HEADER_LEN 5 /* type, version (2), length (2) */

/* TLS record types, the first byte of every record (RFC 8446, section 5.1). */
#define TLS_CHANGE_CIPHER_SPEC 0x14
#define TLS_HANDSHAKE 0x16
#define TLS_APPLICATION_DATA 0x17

/* Not a label: a 1xx response other than 101, after which the final response is due. */
#define SW_STATUS_INTERIM 0xff

/*
 * Status of an HTTP/1.x response whose first SW_HTTP_STATUS_PEEK bytes are
 * h: its class (1 to 5), SW_STATUS_429, SW_STATUS_INTERIM for an interim
 * response (1xx but 101 Switching Protocols, which is final: RFC 9110
 * section 15.2), or SW_STATUS_UNKNOWN (0) when they are not
 * "HTTP/x.y NNN".
 */
static __always_inline __u32 sw_http_status(const char *h)
{
	if (h[0] != 'H' || h[1] != 'T' || h[2] != 'T' || h[3] != 'P' || h[4] != '/' ||
	    h[8] != ' ' || h[9] < '1' || h[9] > '5' || h[10] < '0' || h[10] > '9' || h[11] < '0' ||
	    h[11] > '9')
		return SW_STATUS_UNKNOWN;
	if (h[9] == '4' && h[10] == '2' && h[11] == '9')
		return SW_STATUS_429;
	if (h[9] == '1' && (h[10] != '0' || h[11] != '1'))
		return SW_STATUS_INTERIM;
	return h[9] - '0';
}

/*
 * Type of the TLS record whose SW_TLS_HEADER_LEN header bytes are h: 0x14
 * to 0x18 with a version of 3.0 to 3.4 (SSL 3.0 to TLS 1.3 on the wire),
 * else 0 (not a record). The length of its body goes to *len.
 */
static __always_inline __u8 sw_tls_record(const __u8 *h, __u16 *len)
{
	if (h[0] < 0x14 || h[0] > 0x18 || h[1] != 3 || h[2] > 4)
		return 0;
	*len = (__u16)h[3] << 8 | h[4];
	return h[0];
}

/*
 * Whether a TLS 1.3 record of this length can be the client's Finished
 * message: handshake header (4 bytes), 32- or 48-byte verify data, inner
 * content type (1) and AEAD tag (16). (A TLS 1.2 Finished travels as a
 * handshake record.)
 */
static __always_inline int sw_tls13_finished_len(__u16 len)
{
	return len == 4 + 32 + 1 + 16 || len == 4 + 48 + 1 + 16;
}

/* Whether a TLS 1.3 record of this length is an alert: 2 bytes, content type, AEAD tag. */
static __always_inline int sw_tls13_alert_len(__u16 len)
{
	return len == 2 + 1 + 16;
}

#endif /* SWARMWATCH_SNIFF_H */
