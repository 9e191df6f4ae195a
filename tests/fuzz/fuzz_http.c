// SPDX-License-Identifier: MIT
/* Fuzz target: listen-address, Accept-Encoding and query-string time parsing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char host[256], port[16], *text;

	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = 0;
	if (!http__split_listen(text, host, sizeof(host), port, sizeof(port))) {
		/* Accepted: the port is a decimal number in range. */
		if (atoi(port) < 1 || atoi(port) > 65535 || strlen(host) >= sizeof(host))
			abort();
	}
	http__accepts_gzip(text);
	{
		double t;

		/* Accepted: a number (RFC 3339 from years 0..9999 stays within 3e11 s). */
		if (!api__parse_time(text, &t) && t != t)
			abort();
	}
	free(text);
	return 0;
}
