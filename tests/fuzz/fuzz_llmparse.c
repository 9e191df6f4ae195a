// SPDX-License-Identifier: MIT
/*
 * Fuzz target: the LLM call parser (llmparse.h) on arbitrary and truncated requests and
 * responses, fed in arbitrary pieces, some cut in the middle as the kernel cuts long reads.
 * Input: a request, a 0xff byte, then the response; the first byte picks the piece size and
 * the cuts. Never a crash or a read out of bounds; tokens only with usage; label strings in
 * printable ASCII and bounded; a finished response stays finished.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "llmparse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_label(const char *s)
{
	size_t i, n = strnlen(s, LLM_MODEL_LEN);

	if (n >= LLM_MODEL_LEN)
		abort();
	for (i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] >= 0x7f || s[i] == '"' || s[i] == '\\')
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct llm_request q;
	static struct llm_response r;
	struct llm_result res;
	const uint8_t *sep;
	size_t piece, off, n, i;
	bool ended = false;
	__u64 ts = 1;
	uint8_t mode;

	if (size < 2)
		return 0;
	mode = data[0];
	data++, size--;
	sep = memchr(data, 0xff, size);
	n = sep ? (size_t)(sep - data) : size / 3;
	llmparse__request_init(&q);
	for (off = 0; off < n; off += 1 + (mode & 7))
		llmparse__request_feed(&q, (const char *)data + off,
				       n - off < 1u + (mode & 7) ? n - off : 1u + (mode & 7));
	check_label(q.model);
	if (q.api >= LLM_API_MAX)
		abort();
	data += sep ? n + 1 : n;
	size -= sep ? n + 1 : n;
	llmparse__response_init(&r);
	piece = 1 + (mode >> 3) * 7;
	for (off = 0; off < size; off += n) {
		size_t head = 0, skipped = 0;
		bool e;

		n = size - off < piece ? size - off : piece;
		if ((mode & 0x80) && n > 4) {
			head = n / 2;
			skipped = (data[off] & 0x3f) + 1;
		}
		e = llmparse__response_feed(&r, q.api, (const char *)data + off, n, head, skipped,
					    ts++);
		if (ended && !e)
			abort();
		ended = e;
	}
	llmparse__finish(&q, &r, &res);
	check_label(res.request_model);
	check_label(res.response_model);
	if (!res.usage && (res.token_have & 3))
		abort();
	for (i = 0; i < LLM_TOKEN_MAX; i++)
		if (!(res.token_have & (1u << i)) && res.tokens[i])
			abort();
	if (r.first_ns && r.first_ns > r.last_ns)
		abort();
	return 0;
}
