// SPDX-License-Identifier: MIT
/*
 * Fuzz target: Gorilla blocks. The first byte picks the test:
 *   even  the rest is a block: decoding must never read outside it nor crash, and whatever it
 *         decodes must survive an encode/decode round trip bit for bit;
 *   odd   the rest is a kind, a bucket count and rows of 8-byte words (timestamp, columns):
 *         encoded then decoded, every word must come back.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gorilla.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct rows {
	int64_t *t;
	uint64_t *cols;
	size_t n;
};

static void check_round_trip(enum gorilla_kind kind, unsigned int nb, const struct rows *r)
{
	struct gorilla_enc *e = gorilla__enc_new(kind, nb, 0);
	int ncols = gorilla__ncols(kind, nb);
	uint64_t cols[GORILLA_MAX_COLS];
	struct gorilla_dec d;
	int64_t t;
	size_t i;

	if (!e)
		abort(); /* kind and nb were checked by the caller */
	for (i = 0; i < r->n; i++)
		if (gorilla__append(e, r->t[i], r->cols + i * ncols))
			abort();
	if (gorilla__dec_init(&d, e->buf, gorilla__bytes(e)) || d.n != r->n)
		abort();
	for (i = 0; i < r->n; i++) {
		if (gorilla__dec_next(&d, &t, cols) != 1 || t != r->t[i] ||
		    memcmp(cols, r->cols + i * ncols, ncols * sizeof(uint64_t)))
			abort();
	}
	if (gorilla__dec_next(&d, &t, cols) != 0)
		abort();
	gorilla__enc_free(e);
}

static void decode_bytes(const uint8_t *data, size_t size)
{
	struct rows r = {0};
	struct gorilla_dec d;
	uint8_t *copy;
	int ncols, ret;

	copy = malloc(size ? size : 1); /* exactly size bytes: an overread is caught */
	if (!copy)
		return;
	memcpy(copy, data, size);
	if (gorilla__dec_init(&d, copy, size))
		goto out;
	ncols = d.ncols;
	r.t = malloc((d.n + 1) * sizeof(*r.t));
	r.cols = malloc((d.n + 1) * ncols * sizeof(uint64_t));
	if (!r.t || !r.cols)
		goto out;
	while ((ret = gorilla__dec_next(&d, &r.t[r.n], r.cols + r.n * ncols)) == 1)
		r.n++;
	if (ret == 0)
		check_round_trip(copy[0] & 0xf, copy[1], &r);
out:
	free(r.t);
	free(r.cols);
	free(copy);
}

static void encode_words(const uint8_t *data, size_t size)
{
	enum gorilla_kind kind;
	struct rows r = {0};
	unsigned int nb = 0;
	size_t row_bytes;
	int ncols;

	if (size < 2)
		return;
	kind = 1 + data[0] % 3;
	if (kind == GORILLA_HIST)
		nb = 1 + data[1] % GORILLA_MAX_BUCKETS;
	ncols = gorilla__ncols(kind, nb);
	data += 2;
	size -= 2;
	row_bytes = 8 * (1 + (size_t)ncols);
	r.n = size / row_bytes;
	if (r.n > GORILLA_MAX_SAMPLES)
		r.n = GORILLA_MAX_SAMPLES;
	r.t = malloc((r.n + 1) * sizeof(*r.t));
	r.cols = malloc((r.n + 1) * ncols * sizeof(uint64_t));
	if (r.t && r.cols) {
		for (size_t i = 0; i < r.n; i++) {
			memcpy(&r.t[i], data + i * row_bytes, 8);
			memcpy(r.cols + i * ncols, data + i * row_bytes + 8, 8 * (size_t)ncols);
		}
		check_round_trip(kind, nb, &r);
	}
	free(r.t);
	free(r.cols);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	if (data[0] & 1)
		encode_words(data + 1, size - 1);
	else
		decode_bytes(data + 1, size - 1);
	return 0;
}
