// SPDX-License-Identifier: MIT
/* Fuzz target: the JSON configuration parser must never crash or leak. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[768], *text;
	struct config c;

	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = 0;
	if (config__parse(&c, text, "fuzz", err, sizeof(err)) && !err[0])
		abort(); /* a rejected configuration always says why */
	config__free(&c);
	free(text);
	return 0;
}
