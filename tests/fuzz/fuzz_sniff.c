// SPDX-License-Identifier: MIT
/*
 * Fuzz target: the parsers the BPF programs run on captured bytes
 * (include/sniff.h), compiled for the host: the HTTP status line and the
 * TLS record header, walked over the input as net.bpf.c walks a read.
 */
#include <linux/types.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "swarmwatch.h"
#include "sniff.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char head[SW_HTTP_STATUS_PEEK];
	size_t off;
	__u32 status;
	int i;

	/* BPF reads a fixed-size head (a short buffer fails the read); here it is zero-padded. */
	memset(head, 0, sizeof(head));
	memcpy(head, data, size < sizeof(head) ? size : sizeof(head));
	status = sw_http_status(head);
	if (status != SW_STATUS_UNKNOWN && memcmp(head, "HTTP/", 5))
		abort();
	if (status == SW_STATUS_429 && memcmp(head + 9, "429", 3))
		abort();
	if (status == SW_STATUS_INTERIM && (head[9] != '1' || !memcmp(head + 9, "101", 3)))
		abort();
	if (status > 5 && status != SW_STATUS_429 && status != SW_STATUS_INTERIM)
		abort();
	for (i = 0, off = 0; i < 4 && off + SW_TLS_HEADER_LEN <= size; i++) {
		__u16 len = 0xffff;
		__u8 type = sw_tls_record(data + off, &len);

		if (!type)
			break;
		if (type < TLS_CHANGE_CIPHER_SPEC || type > 0x18 || data[off + 1] != 3 ||
		    len != (data[off + 3] << 8 | data[off + 4]))
			abort();
		if (sw_tls13_alert_len(len) && sw_tls13_finished_len(len))
			abort(); /* no length is both */
		off += SW_TLS_HEADER_LEN + len;
	}
	return 0;
}
