// SPDX-License-Identifier: MIT
/* Gorilla blocks: delta-of-delta timestamps, XOR doubles, delta integers. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "gorilla.h"

#define FORMAT 1 /* high nibble of header byte 0 */
#define RANGE_MIN_COLS 8 /* rows of this many columns carry the changed range */
#define RANGE_BITS 7 /* bits of a column index in the range prefix (GORILLA_MAX_COLS <= 128) */
#define NO_WINDOW 0xff

_Static_assert(GORILLA_MAX_COLS <= (1 << RANGE_BITS), "range prefix too narrow");

/*
 * Classes of a signed difference after the '0' of zero: prefix, its length, payload bits. The
 * first three are the paper's; 20 and 64 bits replace its 32-bit class so any step fits.
 */
static const struct {
	uint8_t prefix;
	uint8_t plen;
	uint8_t bits;
} classes[] = {
	{0x2, 2, 7}, {0x6, 3, 9}, {0xe, 4, 12}, {0x1e, 5, 20}, {0x1f, 5, 64},
};

#define NCLASSES (sizeof(classes) / sizeof(classes[0]))
/* Worst case bits: timestamp, F column, U column, range prefix. */
#define WORST_TS (5 + 64)
#define WORST_F (2 + 5 + 6 + 64)
#define WORST_U (5 + 64)
#define WORST_RANGE (1 + 2 * RANGE_BITS)

int gorilla__ncols(enum gorilla_kind kind, unsigned int nb)
{
	switch (kind) {
	case GORILLA_VALUE:
		return nb ? -EINVAL : 1;
	case GORILLA_ROLLUP:
		return nb ? -EINVAL : GORILLA_R_COLS;
	case GORILLA_HIST:
		return nb < 1 || nb > GORILLA_MAX_BUCKETS ? -EINVAL : (int)nb + 2;
	}
	return -EINVAL;
}

/* Whether column c of a row of kind with ncols columns holds doubles (else integers). */
static bool is_f(uint8_t kind, unsigned int ncols, unsigned int c)
{
	switch (kind) {
	case GORILLA_VALUE:
		return true;
	case GORILLA_ROLLUP:
		return c != GORILLA_R_COUNT;
	case GORILLA_HIST:
		return c == ncols - 2; /* the sum, after the buckets */
	}
	return false;
}

/*
 * Writes the low n bits of v (n <= 64), most significant first, into a zeroed buffer that has
 * at least SLACK bytes of room past the last bit written (reserve() keeps them): one 8-byte
 * window, and the byte after it when the bits straddle it.
 */
#define SLACK 16

static inline __attribute__((always_inline)) void put(uint8_t *buf, size_t *pos, uint64_t v,
						      unsigned int n)
{
	unsigned int off = *pos & 7;
	uint8_t *p = buf + (*pos >> 3);
	uint64_t w;

	if (!n)
		return;
	if (n < 64)
		v &= (1ull << n) - 1;
	memcpy(&w, p, 8);
	w = __builtin_bswap64(w);
	if (off + n <= 64) {
		w |= v << (64 - off - n);
	} else {
		unsigned int lo = off + n - 64; /* 1..7 bits for the next byte */

		w |= v >> lo;
		p[8] |= (uint8_t)(v << (8 - lo));
	}
	w = __builtin_bswap64(w);
	memcpy(p, &w, 8);
	*pos += n;
}

static int get(struct gorilla_dec *d, unsigned int n, uint64_t *out)
{
	size_t byte = d->pos >> 3;
	unsigned int off = d->pos & 7;
	uint64_t v = 0, w;

	if (n > d->len * 8 - d->pos)
		return -EINVAL;
	if (!n) {
		*out = 0;
		return 0;
	}
	if (off + n <= 64 && byte + 8 <= d->len) { /* one 8-byte window inside the buffer */
		memcpy(&w, d->buf + byte, 8);
		w = __builtin_bswap64(w) << off;
		*out = w >> (64 - n);
		d->pos += n;
		return 0;
	}
	while (n) {
		unsigned int room = 8 - (d->pos & 7), k = n < room ? n : room;

		v = (v << k) | ((d->buf[d->pos >> 3] >> (room - k)) & ((1u << k) - 1));
		d->pos += k;
		n -= k;
	}
	*out = v;
	return 0;
}

static void put_signed(uint8_t *buf, size_t *pos, int64_t v)
{
	size_t i;

	if (!v) {
		put(buf, pos, 0, 1);
		return;
	}
	for (i = 0; i < NCLASSES - 1; i++) {
		int64_t half = (int64_t)1 << (classes[i].bits - 1);

		if (v >= -(half - 1) && v <= half) {
			put(buf, pos, classes[i].prefix, classes[i].plen);
			put(buf, pos, (uint64_t)(v + half - 1), classes[i].bits);
			return;
		}
	}
	put(buf, pos, classes[i].prefix, classes[i].plen);
	put(buf, pos, (uint64_t)v, 64);
}

static int get_signed(struct gorilla_dec *d, int64_t *v)
{
	uint64_t bit, raw;
	size_t i = 0;

	if (get(d, 1, &bit))
		return -EINVAL;
	if (!bit) {
		*v = 0;
		return 0;
	}
	/* Class i has i + 1 ones then a zero; the last class ends after its ones. */
	while (i < NCLASSES - 1) {
		if (get(d, 1, &bit))
			return -EINVAL;
		if (!bit)
			break;
		i++;
	}
	if (get(d, classes[i].bits, &raw))
		return -EINVAL;
	if (classes[i].bits == 64)
		*v = (int64_t)raw;
	else
		*v = (int64_t)raw - (((int64_t)1 << (classes[i].bits - 1)) - 1);
	return 0;
}

static void put_xor(uint8_t *buf, size_t *pos, struct gorilla_col *c, uint64_t cur)
{
	uint64_t x = cur ^ c->prev;
	unsigned int lead, trail, len;

	c->prev = cur;
	if (!x) {
		put(buf, pos, 0, 1);
		return;
	}
	lead = __builtin_clzll(x);
	trail = __builtin_ctzll(x);
	if (lead > 31)
		lead = 31;
	if (c->lead != NO_WINDOW && lead >= c->lead && trail >= c->trail) {
		put(buf, pos, 0x2, 2);
		put(buf, pos, x >> c->trail, 64 - c->lead - c->trail);
		return;
	}
	len = 64 - lead - trail;
	put(buf, pos, 0x3, 2);
	put(buf, pos, lead, 5);
	put(buf, pos, len & 63, 6); /* 64 is written as 0 */
	put(buf, pos, x >> trail, len);
	c->lead = lead;
	c->trail = trail;
}

static int get_xor(struct gorilla_dec *d, struct gorilla_col *c)
{
	uint64_t bit, lead, len, x;

	if (get(d, 1, &bit))
		return -EINVAL;
	if (!bit)
		return 0;
	if (get(d, 1, &bit))
		return -EINVAL;
	if (!bit) {
		if (c->lead == NO_WINDOW)
			return -EINVAL; /* a window reused before one was set */
		if (get(d, 64 - c->lead - c->trail, &x))
			return -EINVAL;
		c->prev ^= x << c->trail;
		return 0;
	}
	if (get(d, 5, &lead) || get(d, 6, &len))
		return -EINVAL;
	if (!len)
		len = 64;
	if (lead + len > 64)
		return -EINVAL;
	if (get(d, len, &x))
		return -EINVAL;
	c->lead = lead;
	c->trail = 64 - lead - len;
	c->prev ^= x << c->trail;
	return 0;
}

static void put_col(struct gorilla_enc *e, unsigned int i, uint64_t cur)
{
	struct gorilla_col *c = &e->col[i];

	if (is_f(e->kind, e->ncols, i)) {
		put_xor(e->buf, &e->bits, c, cur);
	} else {
		put_signed(e->buf, &e->bits, (int64_t)(cur - c->prev));
		c->prev = cur;
	}
}

static int get_col(struct gorilla_dec *d, unsigned int i)
{
	struct gorilla_col *c = &d->col[i];
	int64_t v;

	if (is_f(d->kind, d->ncols, i))
		return get_xor(d, c);
	if (get_signed(d, &v))
		return -EINVAL;
	c->prev += (uint64_t)v;
	return 0;
}

static void write_count(uint8_t *buf, uint32_t n)
{
	buf[2] = n & 0xff;
	buf[3] = n >> 8;
}

static int reserve(struct gorilla_enc *e, size_t bytes)
{
	size_t cap;
	uint8_t *p;

	if (bytes <= e->cap)
		return 0;
	cap = e->cap + e->cap / 2 + 16;
	if (cap < bytes)
		cap = bytes;
	p = realloc(e->buf, cap);
	if (!p)
		return -ENOMEM;
	memset(p + e->cap, 0, cap - e->cap);
	e->buf = p;
	e->cap = cap;
	return 0;
}

struct gorilla_enc *gorilla__enc_new(enum gorilla_kind kind, unsigned int nb, size_t hint)
{
	int ncols = gorilla__ncols(kind, nb);
	struct gorilla_enc *e;
	unsigned int i;

	if (ncols < 0) {
		errno = EINVAL;
		return NULL;
	}
	e = calloc(1, sizeof(*e) + ncols * sizeof(e->col[0]));
	if (!e)
		return NULL;
	e->kind = kind;
	e->ncols = ncols;
	e->worst_bits = WORST_TS + WORST_RANGE;
	for (i = 0; i < (unsigned int)ncols; i++)
		e->worst_bits += is_f(kind, ncols, i) ? WORST_F : WORST_U;
	if (reserve(e, hint > GORILLA_HDR_BYTES + SLACK ? hint : GORILLA_HDR_BYTES + SLACK)) {
		free(e);
		errno = ENOMEM;
		return NULL;
	}
	e->buf[0] = FORMAT << 4 | kind;
	e->buf[1] = kind == GORILLA_HIST ? nb : 0;
	e->bits = GORILLA_HDR_BYTES * 8;
	return e;
}

void gorilla__enc_free(struct gorilla_enc *e)
{
	if (!e)
		return;
	free(e->buf);
	free(e);
}

size_t gorilla__bytes(const struct gorilla_enc *e)
{
	return (e->bits + 7) / 8;
}

int gorilla__shrink(struct gorilla_enc *e)
{
	size_t len = gorilla__bytes(e);
	uint8_t *p;

	if (len == e->cap)
		return 0;
	p = realloc(e->buf, len);
	if (!p)
		return -ENOMEM;
	e->buf = p;
	e->cap = len;
	return 0;
}

uint8_t *gorilla__enc_finish(struct gorilla_enc *e, size_t *len)
{
	uint8_t *buf;

	if (!e)
		return NULL;
	gorilla__shrink(e); /* a block that cannot shrink keeps its spare room */
	buf = e->buf;
	*len = gorilla__bytes(e);
	free(e);
	return buf;
}

int gorilla__append(struct gorilla_enc *e, int64_t t, const uint64_t *cols)
{
	unsigned int i, lo, hi;
	int64_t dt;

	if (e->n >= GORILLA_MAX_SAMPLES)
		return -ENOSPC;
	/* The worst case of a row, and the bytes put() may touch past the last bit. */
	if ((e->bits + e->worst_bits + 7) / 8 + SLACK > e->cap &&
	    reserve(e, (e->bits + e->worst_bits + 7) / 8 + SLACK))
		return -ENOMEM;
	if (!e->n) {
		put(e->buf, &e->bits, (uint64_t)t, 64);
		for (i = 0; i < e->ncols; i++) {
			put(e->buf, &e->bits, cols[i], 64);
			e->col[i].prev = cols[i];
			e->col[i].lead = NO_WINDOW;
		}
		e->t = t;
		e->dt = 0;
		write_count(e->buf, ++e->n);
		return 0;
	}
	dt = (int64_t)((uint64_t)t - (uint64_t)e->t);
	put_signed(e->buf, &e->bits, (int64_t)((uint64_t)dt - (uint64_t)e->dt));
	e->t = t;
	e->dt = dt;
	if (e->ncols < RANGE_MIN_COLS) {
		for (i = 0; i < e->ncols; i++)
			put_col(e, i, cols[i]);
	} else {
		for (lo = 0; lo < e->ncols && cols[lo] == e->col[lo].prev; lo++)
			;
		if (lo == e->ncols) {
			put(e->buf, &e->bits, 0, 1);
		} else {
			for (hi = e->ncols - 1; cols[hi] == e->col[hi].prev; hi--)
				;
			put(e->buf, &e->bits, 1, 1);
			put(e->buf, &e->bits, lo, RANGE_BITS);
			put(e->buf, &e->bits, hi, RANGE_BITS);
			for (i = lo; i <= hi; i++)
				put_col(e, i, cols[i]);
		}
	}
	write_count(e->buf, ++e->n);
	return 0;
}

int gorilla__append_value(struct gorilla_enc *e, int64_t t, double v)
{
	uint64_t u = gorilla__f2u(v);

	if (e->kind != GORILLA_VALUE)
		return -EINVAL;
	return gorilla__append(e, t, &u);
}

int gorilla__dec_init(struct gorilla_dec *d, const void *buf, size_t len)
{
	const uint8_t *b = buf;
	size_t min_bits, row_bits;
	int ncols;

	memset(d, 0, offsetof(struct gorilla_dec, col));
	if (!buf || len < GORILLA_HDR_BYTES || len > SIZE_MAX / 8 || b[0] >> 4 != FORMAT)
		return -EINVAL;
	ncols = gorilla__ncols(b[0] & 0xf, b[1]);
	if (ncols < 0)
		return -EINVAL;
	d->buf = b;
	d->len = len;
	d->pos = GORILLA_HDR_BYTES * 8;
	d->kind = b[0] & 0xf;
	d->ncols = ncols;
	d->n = b[2] | (uint32_t)b[3] << 8;
	if (d->n) {
		/* The smallest rows: a raw first one, then one bit per column or one range bit. */
		row_bits = 1 + (ncols < RANGE_MIN_COLS ? ncols : 1);
		min_bits = 64 * (1 + (size_t)ncols) + (d->n - 1) * row_bits;
		if (min_bits > len * 8 - d->pos)
			return -EINVAL;
	}
	return 0;
}

int gorilla__dec_next(struct gorilla_dec *d, int64_t *t, uint64_t *cols)
{
	uint64_t raw, lo, hi;
	int64_t dod;
	unsigned int i;

	if (d->i >= d->n)
		return 0;
	if (!d->i) {
		if (get(d, 64, &raw))
			return -EINVAL;
		d->t = (int64_t)raw;
		d->dt = 0;
		for (i = 0; i < d->ncols; i++) {
			if (get(d, 64, &d->col[i].prev))
				return -EINVAL;
			d->col[i].lead = NO_WINDOW;
		}
	} else {
		if (get_signed(d, &dod))
			return -EINVAL;
		d->dt = (int64_t)((uint64_t)d->dt + (uint64_t)dod);
		d->t = (int64_t)((uint64_t)d->t + (uint64_t)d->dt);
		if (d->ncols < RANGE_MIN_COLS) {
			for (i = 0; i < d->ncols; i++)
				if (get_col(d, i))
					return -EINVAL;
		} else {
			if (get(d, 1, &raw))
				return -EINVAL;
			if (raw) {
				if (get(d, RANGE_BITS, &lo) || get(d, RANGE_BITS, &hi) || lo > hi ||
				    hi >= d->ncols)
					return -EINVAL;
				for (i = lo; i <= hi; i++)
					if (get_col(d, i))
						return -EINVAL;
			}
		}
	}
	d->i++;
	*t = d->t;
	for (i = 0; i < d->ncols; i++)
		cols[i] = d->col[i].prev;
	return 1;
}
