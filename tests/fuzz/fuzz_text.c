// SPDX-License-Identifier: MIT
/*
 * Fuzz target: from any bytes, a name is valid UTF-8 without control
 * characters that fits its buffer and stays the same when made again; a
 * label value is valid UTF-8 with no raw quote or newline and only the
 * escapes \\, \" and \n; the HTML has no raw <, >, " and only known entities;
 * the JSON string is accepted by jansson and parses back to itself; a
 * terminal cell is valid UTF-8 in its buffer. Validity
 * is judged by jansson, not by the code under test.
 */
#include <jansson.h>
#include <locale.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <linux/types.h>

#include "prom.h"
#include "swarmwatch.h"
#include "text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* jansson's own UTF-8 check: it refuses to make a string of invalid bytes. */
static int utf8_ok(const char *s, size_t len)
{
	json_t *j = json_stringn(s, len);

	json_decref(j);
	return j != NULL;
}

static void check_name(const char *in, size_t len, size_t size)
{
	char name[SW_NAME_LEN + 8], again[SW_NAME_LEN + 8];
	size_t n, i;

	n = text__name(name, size, in, len);
	if (n >= size || strlen(name) != n || !utf8_ok(name, n) || !text__valid(name, n))
		abort();
	for (i = 0; i < n; i++) {
		unsigned char c = name[i];

		if (c < 0x20 || c == 0x7f || (c == 0xc2 && (unsigned char)name[i + 1] <= 0x9f))
			abort(); /* a control character survived */
	}
	if (text__name(again, size, name, n) != n || memcmp(again, name, n))
		abort();
}

static void check_label(const char *s)
{
	struct prom_label l = {"agent", s};
	struct buf b;
	size_t i;

	buf__init(&b);
	text__prom_label(&b, s);
	if (b.failed)
		goto out;
	if (b.len && !utf8_ok(b.data, b.len))
		abort();
	for (i = 0; i < b.len; i++) {
		if (b.data[i] == '"' || b.data[i] == '\n')
			abort();
		if (b.data[i] == '\\') {
			i++;
			if (i == b.len || !strchr("\\\"n", b.data[i]))
				abort();
		}
	}
	/* A whole sample is one line. */
	buf__reset(&b);
	prom__sample_u64(&b, "m", &l, 1, 1);
	if (!b.failed && memchr(b.data, '\n', b.len) != b.data + b.len - 1)
		abort();
out:
	buf__free(&b);
}

static void check_html(const char *s)
{
	static const char *const entities[] = {"&lt;", "&gt;", "&amp;", "&quot;", "&#39;"};
	struct buf b;
	size_t i, k;

	buf__init(&b);
	text__html(&b, s);
	if (b.failed)
		goto out;
	if (b.len && !utf8_ok(b.data, b.len))
		abort();
	for (i = 0; i < b.len; i++) {
		if (strchr("<>\"'", b.data[i]))
			abort();
		if (b.data[i] != '&')
			continue;
		for (k = 0; k < sizeof(entities) / sizeof(entities[0]); k++)
			if (!strncmp(b.data + i, entities[k], strlen(entities[k])))
				break;
		if (k == sizeof(entities) / sizeof(entities[0]))
			abort();
	}
out:
	buf__free(&b);
}

static void check_json(const char *s)
{
	json_t *j = text__json(s), *back = NULL;
	char *text = NULL;

	if (!j)
		abort();
	text = json_dumps(j, JSON_ENCODE_ANY);
	if (text)
		back = json_loads(text, JSON_DECODE_ANY, NULL);
	if (!text || !back || !json_equal(j, back))
		abort();
	json_decref(back);
	free(text);
	json_decref(j);
}

/* A terminal cell: valid UTF-8 within its buffer; ASCII only for a terminal that is not UTF-8. */
static void check_fit(const char *s)
{
	char out[64];
	size_t size, n, i;
	int cols;

	for (size = 1; size <= sizeof(out); size += 7)
		for (cols = 0; cols <= 40; cols += 13) {
			n = text__fit(out, size, s, cols, true);
			if (n >= size || strlen(out) != n || !utf8_ok(out, n))
				abort();
			n = text__fit(out, size, s, cols, false);
			if (n >= size || strlen(out) != n)
				abort();
			for (i = 0; i < n; i++)
				if ((unsigned char)out[i] >= 0x80)
					abort();
		}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	size_t k;

	if (!s)
		return 0;
	setlocale(LC_ALL, "C.UTF-8"); /* text__fit() measures characters by wcwidth() */
	memcpy(s, data, size);
	s[size] = 0;
	/* Names of every buffer size up to an agent name's, NULs included. */
	if (text__name(NULL, 0, s, size))
		abort();
	for (k = 1; k <= SW_NAME_LEN; k++)
		check_name(s, size, k);
	/* The sinks take NUL-terminated text: what precedes the first NUL. */
	check_label(s);
	check_html(s);
	check_json(s);
	check_fit(s);
	free(s);
	return 0;
}
