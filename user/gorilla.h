/* SPDX-License-Identifier: MIT */
/*
 * gorilla: compressed blocks of time series samples, after "Gorilla: A Fast, Scalable, In-Memory
 * Time Series Database" (Pelkonen et al., VLDB 2015, section 4.1).
 *
 * Pure code, no I/O. A block is a byte string: a 4-byte header (format and kind, bucket count,
 * sample count as a little-endian u16) and a bit stream written most significant bit first.
 * Every sample is a timestamp in milliseconds and a row of columns of 64-bit words:
 *   timestamps  delta-of-delta, with the paper's classes ('0', '10'+7 bits, '110'+9,
 *               '1110'+12) and two more for irregular data ('11110'+20, '11111'+64), so any
 *               int64 sequence (equal, decreasing, far apart) round-trips;
 *   F columns   doubles XORed with the previous value of the column: '0' when equal, '10' and
 *               the meaningful bits when they fit the previous window of leading and trailing
 *               zeros, '11' + 5 bits of leading zeros + 6 bits of length + the bits otherwise.
 *               Bit patterns are kept, so every NaN payload, -0 and the infinities come back
 *               exactly;
 *   U columns   unsigned integers as the difference from the previous value of the column,
 *               in the timestamp classes (wrapping, so any u64 sequence round-trips).
 * Blocks with 8 columns or more (histograms) prefix each row with '0' when no column changed,
 * else '1' and the first and last changed column, and code only that range.
 *
 * Kinds:
 *   GORILLA_VALUE   one F column: a gauge or counter sample;
 *   GORILLA_ROLLUP  min, max, sum (F), count (U), last (F): one aggregate of a period;
 *   GORILLA_HIST    nb bucket counts (U), sum (F), count (U): a histogram sample.
 */
#ifndef SW_GORILLA_H
#define SW_GORILLA_H

#include <stddef.h>
#include <stdint.h>

enum gorilla_kind {
	GORILLA_VALUE = 1,
	GORILLA_ROLLUP = 2,
	GORILLA_HIST = 3,
};

/* Columns of a GORILLA_ROLLUP row. */
enum gorilla_rollup_col {
	GORILLA_R_MIN,
	GORILLA_R_MAX,
	GORILLA_R_SUM,
	GORILLA_R_COUNT,
	GORILLA_R_LAST,
	GORILLA_R_COLS,
};

#define GORILLA_HDR_BYTES 4
#define GORILLA_MAX_SAMPLES 65535 /* per block: the header's u16 count */
#define GORILLA_MAX_BUCKETS 64 /* buckets of a GORILLA_HIST block */
#define GORILLA_MAX_COLS (GORILLA_MAX_BUCKETS + 2)

/* Per-column coder state. */
struct gorilla_col {
	uint64_t prev; /* previous word of the column */
	uint8_t lead; /* F: leading zeros of the current XOR window, 0xff before the first */
	uint8_t trail; /* F: trailing zeros of the current XOR window */
};

/*
 * An open block being written. buf grows as samples arrive (the encoder owns it); bytes is its
 * used length, always a complete block that gorilla__decode_*() reads.
 */
struct gorilla_enc {
	uint8_t *buf; /* the block */
	size_t cap; /* allocated bytes of buf */
	size_t bits; /* bits written, header included */
	uint32_t n; /* samples in the block */
	uint8_t kind; /* enum gorilla_kind */
	uint8_t ncols; /* columns per row */
	uint8_t pad[2];
	uint32_t worst_bits; /* the most bits one row can take */
	int64_t t; /* last timestamp, ms */
	int64_t dt; /* last delta, ms */
	struct gorilla_col col[]; /* ncols entries */
};

/* A block being read. Lives on the caller's stack; no allocation. */
struct gorilla_dec {
	const uint8_t *buf;
	size_t len; /* bytes of buf */
	size_t pos; /* bit position */
	uint32_t n; /* samples in the block */
	uint32_t i; /* samples read */
	uint8_t kind;
	uint8_t ncols;
	int64_t t;
	int64_t dt;
	struct gorilla_col col[GORILLA_MAX_COLS];
};

/*
 * gorilla__ncols - columns of a row of kind with nb buckets (GORILLA_HIST only, 1..64; 0 for
 * the other kinds). Returns the count, or -EINVAL for an unknown kind or a bad nb.
 */
int gorilla__ncols(enum gorilla_kind kind, unsigned int nb);

/*
 * gorilla__enc_new - an empty block of kind (nb buckets for GORILLA_HIST, else 0), with room
 * for about hint bytes before it grows. Returns NULL with errno EINVAL or ENOMEM.
 */
struct gorilla_enc *gorilla__enc_new(enum gorilla_kind kind, unsigned int nb, size_t hint);

/* gorilla__enc_free - frees the encoder and its block; NULL is ignored. */
void gorilla__enc_free(struct gorilla_enc *e);

/*
 * gorilla__append - adds one row: t in ms and ncols words (F columns as the bit pattern of the
 * double, U columns as integers). All or nothing: returns 0, -ENOSPC when the block already
 * holds GORILLA_MAX_SAMPLES, or -ENOMEM when the buffer cannot grow; the block is unchanged on
 * error. Worst case 16 bytes per column per row, typically under 2 bits per unchanged column.
 */
int gorilla__append(struct gorilla_enc *e, int64_t t, const uint64_t *cols);

/* gorilla__append_value - gorilla__append() of a GORILLA_VALUE block's double. */
int gorilla__append_value(struct gorilla_enc *e, int64_t t, double v);

/* gorilla__bytes - used length of the block in bytes (header included). */
size_t gorilla__bytes(const struct gorilla_enc *e);

/*
 * gorilla__shrink - gives back the buffer's spare room (for a closed block kept in memory).
 * The block stays appendable. Returns 0 or -ENOMEM (the block is unchanged then).
 */
int gorilla__shrink(struct gorilla_enc *e);

/*
 * gorilla__enc_finish - closes the block: frees the encoder and hands its block to the caller
 * (to free()), trimmed to its length, which goes to *len. Returns NULL (and frees nothing)
 * when e is NULL.
 */
uint8_t *gorilla__enc_finish(struct gorilla_enc *e, size_t *len);

/*
 * gorilla__dec_init - starts reading the block buf[0..len). Checks the header: returns 0, or
 * -EINVAL for a short buffer, an unknown format or kind, a bucket count out of range, or a
 * sample count the bytes cannot hold.
 */
int gorilla__dec_init(struct gorilla_dec *d, const void *buf, size_t len);

/*
 * gorilla__dec_next - reads the next row into *t and cols[0..ncols). Returns 1 with a row,
 * 0 at the end of the block, or -EINVAL when the bits are malformed or end early. Never reads
 * outside buf, whatever the bytes.
 */
int gorilla__dec_next(struct gorilla_dec *d, int64_t *t, uint64_t *cols);

/*
 * gorilla__f2u, gorilla__u2f - a double's bit pattern and back (for F columns).
 */
static inline uint64_t gorilla__f2u(double v)
{
	union {
		double d;
		uint64_t u;
	} x = {.d = v};
	return x.u;
}

static inline double gorilla__u2f(uint64_t u)
{
	union {
		double d;
		uint64_t u;
	} x = {.u = u};
	return x.d;
}

#endif
