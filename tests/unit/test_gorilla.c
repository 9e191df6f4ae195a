// SPDX-License-Identifier: MIT
/* Gorilla blocks: bit-exact round trips, special values, sizes, and hostile bytes refused. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gorilla.h"

/* xorshift64*: reproducible pseudo-random words. */
static uint64_t rnd_state = 88172645463325252ull;

static uint64_t rnd(void)
{
	rnd_state ^= rnd_state >> 12;
	rnd_state ^= rnd_state << 25;
	rnd_state ^= rnd_state >> 27;
	return rnd_state * 2685821657736338717ull;
}

/* Encodes n rows of ncols words, decodes them back and checks every bit. */
static struct gorilla_enc *round_trip(enum gorilla_kind kind, unsigned int nb, const int64_t *t,
				      const uint64_t *rows, size_t n)
{
	struct gorilla_enc *e = gorilla__enc_new(kind, nb, 0);
	int ncols = gorilla__ncols(kind, nb);
	uint64_t got[GORILLA_MAX_COLS];
	struct gorilla_dec d;
	int64_t gt;
	size_t i;

	assert_non_null(e);
	for (i = 0; i < n; i++)
		assert_int_equal(gorilla__append(e, t[i], rows + i * ncols), 0);
	assert_int_equal(e->n, n);
	assert_int_equal(gorilla__dec_init(&d, e->buf, gorilla__bytes(e)), 0);
	assert_int_equal(d.n, n);
	for (i = 0; i < n; i++) {
		assert_int_equal(gorilla__dec_next(&d, &gt, got), 1);
		assert_true(gt == t[i]);
		assert_memory_equal(got, rows + i * ncols, ncols * sizeof(uint64_t));
	}
	assert_int_equal(gorilla__dec_next(&d, &gt, got), 0);
	return e;
}

static void test_special_values(void **s)
{
	static const uint64_t bits[] = {
		0x0000000000000000ull, /* +0 */
		0x8000000000000000ull, /* -0 */
		0x7ff8000000000000ull, /* quiet NaN */
		0x7ff0000000000001ull, /* signalling NaN, payload 1 */
		0xfff8dead0000beefull, /* negative NaN with a payload */
		0x7fffffffffffffffull, /* NaN, every payload bit */
		0x7ff0000000000000ull, /* +Inf */
		0xfff0000000000000ull, /* -Inf */
		0x0000000000000001ull, /* smallest subnormal */
		0x7fefffffffffffffull, /* DBL_MAX */
		0x8000000000000000ull, /* -0 again */
		0x0000000000000000ull, /* +0 after -0: only the sign bit differs */
		0x3ff0000000000000ull, /* 1.0 repeated */
		0x3ff0000000000000ull, 0x3ff0000000000000ull, 0xfff0000000000000ull,
	};
	size_t n = sizeof(bits) / sizeof(bits[0]), i;
	int64_t t[sizeof(bits) / sizeof(bits[0])];

	(void)s;
	for (i = 0; i < n; i++)
		t[i] = 1700000000000 + 1000 * (int64_t)i;
	gorilla__enc_free(round_trip(GORILLA_VALUE, 0, t, bits, n));
	/* And each one right after every other one (every XOR window transition). */
	for (i = 0; i < n * n; i++) {
		uint64_t pair[2] = {bits[i / n], bits[i % n]};
		int64_t tp[2] = {0, 1};

		gorilla__enc_free(round_trip(GORILLA_VALUE, 0, tp, pair, 2));
	}
}

static void test_irregular_timestamps(void **s)
{
	static const int64_t t[] = {
		1700000000000,
		1700000001000,
		1700000001000, /* equal */
		1700000000999, /* backwards */
		1700000002000,
		1700000002001,
		1700000002001,
		1700000100000, /* jump */
		INT64_MAX,
		INT64_MIN,
		0,
		-1,
		INT64_MIN + 1,
		INT64_MAX - 1,
		5,
		6,
		7,
		70,
		327,
		2375,
		500000,
		-500000,
	};
	size_t n = sizeof(t) / sizeof(t[0]), i;
	uint64_t v[sizeof(t) / sizeof(t[0])];

	(void)s;
	for (i = 0; i < n; i++)
		v[i] = gorilla__f2u((double)i);
	gorilla__enc_free(round_trip(GORILLA_VALUE, 0, t, v, n));
}

static void test_random_series(void **s)
{
	enum { N = 3000 };
	static uint64_t v[N];
	static int64_t t[N];
	int trial;
	size_t i;

	(void)s;
	for (trial = 0; trial < 40; trial++) {
		double x = 0;

		for (i = 0; i < N; i++) {
			switch (trial % 5) {
			case 0: /* any bits, any timestamps */
				v[i] = rnd();
				t[i] = (int64_t)rnd();
				break;
			case 1: /* random walk at a jittered 1 s */
				x += (double)(rnd() % 2001) / 1000.0 - 1.0;
				v[i] = gorilla__f2u(x);
				t[i] = 1700000000000 + 1000 * (int64_t)i + (int64_t)(rnd() % 7) - 3;
				break;
			case 2: /* counter with bursts, some equal timestamps */
				x += (double)(rnd() % 4 ? rnd() % 100 : rnd() % 100000);
				v[i] = gorilla__f2u(x);
				t[i] = i ? t[i - 1] + (int64_t)(rnd() % 3) * 500 : 0;
				break;
			case 3: /* few distinct values */
				v[i] = gorilla__f2u((double)(rnd() % 3));
				t[i] = 1000 * (int64_t)i;
				break;
			default: /* small and large magnitudes mixed */
				v[i] = gorilla__f2u(
					ldexp((double)(rnd() % 1000), (int)(rnd() % 200) - 100));
				t[i] = (int64_t)(rnd() % 100000) - 50000;
				break;
			}
		}
		gorilla__enc_free(round_trip(GORILLA_VALUE, 0, t, v, N));
	}
}

static void test_histogram(void **s)
{
	enum { N = 500, NB = 40 };
	static uint64_t rows[N * (NB + 2)];
	static int64_t t[N];
	static const unsigned int nbs[] = {1, 2, 3, 5, 7, 8, 9, 21, 40, 63, GORILLA_MAX_BUCKETS};
	struct gorilla_enc *e;
	unsigned int nb;
	size_t i, b, k;

	(void)s;
	for (k = 0; k < sizeof(nbs) / sizeof(nbs[0]); k++) {
		uint64_t *r = rows;

		nb = nbs[k];
		for (i = 0; i < 64; i++) {
			for (b = 0; b < nb; b++)
				r[b] = rnd() % 5 ? (i ? r[b - (nb + 2)] : 0) + rnd() % 50 : rnd();
			r[nb] = gorilla__f2u((double)(rnd() % 1000) / 7);
			r[nb + 1] = i % 9 ? rnd() % 1000 : UINT64_MAX - i; /* wraps both ways */
			t[i] = 1000 * (int64_t)i;
			r += nb + 2;
		}
		gorilla__enc_free(round_trip(GORILLA_HIST, nb, t, rows, 64));
	}
	/* A busy latency histogram: a few middle buckets grow, the rest stay. */
	for (i = 0; i < N; i++) {
		uint64_t *r = rows + i * (NB + 2), *p = r - (NB + 2);

		for (b = 0; b < NB; b++)
			r[b] = (i ? p[b] : 0) + (b >= 10 && b < 16 ? rnd() % 200 : 0);
		r[NB] = gorilla__f2u((i ? gorilla__u2f(p[NB]) : 0) + (double)(rnd() % 1000) / 1e6);
		r[NB + 1] = (i ? p[NB + 1] : 0) + rnd() % 1200;
		t[i] = 1000 * (int64_t)i;
	}
	e = round_trip(GORILLA_HIST, NB, t, rows, N);
	/* Idle rows cost a range bit; busy ones a few classes per changed bucket. */
	assert_true(gorilla__bytes(e) < N * 24);
	gorilla__enc_free(e);
}

static void test_rollup(void **s)
{
	enum { N = 200 };
	static uint64_t rows[N * GORILLA_R_COLS];
	static int64_t t[N];
	size_t i;

	(void)s;
	for (i = 0; i < N; i++) {
		uint64_t *r = rows + i * GORILLA_R_COLS;
		double lo = (double)(rnd() % 100), hi = lo + (double)(rnd() % 100);

		r[GORILLA_R_MIN] = gorilla__f2u(lo);
		r[GORILLA_R_MAX] = gorilla__f2u(hi);
		r[GORILLA_R_SUM] = gorilla__f2u(lo * 30 + hi * 30);
		r[GORILLA_R_COUNT] = 60 - (rnd() % 3 == 0);
		r[GORILLA_R_LAST] = i % 7 ? gorilla__f2u(hi) : gorilla__f2u(NAN);
		t[i] = 60000 * (int64_t)i;
	}
	gorilla__enc_free(round_trip(GORILLA_ROLLUP, 0, t, rows, N));
}

static void test_sizes(void **s)
{
	struct gorilla_enc *e = gorilla__enc_new(GORILLA_VALUE, 0, 0);
	int i;

	(void)s;
	assert_non_null(e);
	assert_int_equal(gorilla__bytes(e), GORILLA_HDR_BYTES);
	/* A constant series at a regular interval: 2 bits per sample after the first two. */
	for (i = 0; i < 1001; i++)
		assert_int_equal(gorilla__append_value(e, 1000 * (int64_t)i, 42.0), 0);
	assert_true(gorilla__bytes(e) <= GORILLA_HDR_BYTES + 16 + 4 + (999 * 2 + 7) / 8);
	assert_int_equal(gorilla__shrink(e), 0);
	assert_int_equal(e->cap, gorilla__bytes(e));
	assert_int_equal(gorilla__append_value(e, 1001000, 43.0), 0); /* grows again */
	gorilla__enc_free(e);
}

static void test_limits(void **s)
{
	struct gorilla_enc *e = gorilla__enc_new(GORILLA_VALUE, 0, 0);
	uint64_t two[2] = {0, 0};
	size_t before;
	int i;

	(void)s;
	assert_non_null(e);
	for (i = 0; i < GORILLA_MAX_SAMPLES; i++)
		assert_int_equal(gorilla__append_value(e, i, 1.0), 0);
	before = e->bits;
	assert_int_equal(gorilla__append_value(e, i, 2.0), -ENOSPC);
	assert_int_equal(e->bits, before);
	assert_int_equal(e->n, GORILLA_MAX_SAMPLES);
	assert_int_equal(gorilla__append(e, i, two), -ENOSPC);
	gorilla__enc_free(e);

	errno = 0;
	assert_null(gorilla__enc_new(GORILLA_HIST, 0, 0));
	assert_int_equal(errno, EINVAL);
	assert_null(gorilla__enc_new(GORILLA_HIST, GORILLA_MAX_BUCKETS + 1, 0));
	assert_null(gorilla__enc_new(GORILLA_VALUE, 3, 0));
	assert_null(gorilla__enc_new(7, 0, 0));
	e = gorilla__enc_new(GORILLA_ROLLUP, 0, 0);
	assert_int_equal(gorilla__append_value(e, 0, 1.0), -EINVAL);
	gorilla__enc_free(e);
}

/* Decodes whatever the bytes say; returns rows read, or -EINVAL. */
static int decode_all(const uint8_t *buf, size_t len)
{
	uint64_t cols[GORILLA_MAX_COLS];
	struct gorilla_dec d;
	int64_t t;
	int rows = 0, r;

	r = gorilla__dec_init(&d, buf, len);
	if (r)
		return r;
	while ((r = gorilla__dec_next(&d, &t, cols)) == 1)
		rows++;
	return r ? r : rows;
}

static void test_hostile(void **s)
{
	enum { N = 40, NB = 12 };
	static uint64_t rows[N * (NB + 2)];
	static int64_t t[N];
	struct gorilla_enc *e;
	uint8_t *copy;
	size_t len, i;
	uint8_t hdr[8];

	(void)s;
	for (i = 0; i < N * (NB + 2); i++)
		rows[i] = rnd() % 3 ? i : rnd();
	for (i = 0; i < N; i++)
		t[i] = (int64_t)(rnd() % 5000);
	e = round_trip(GORILLA_HIST, NB, t, rows, N);
	len = gorilla__bytes(e);
	/* Every truncation is refused: the header's count promises more rows than remain. */
	for (i = 0; i < len; i++) {
		copy = malloc(i ? i : 1); /* exact size, so ASan sees any overread */
		memcpy(copy, e->buf, i);
		assert_int_equal(decode_all(copy, i), -EINVAL);
		free(copy);
	}
	/* Any flipped bit decodes to rows or -EINVAL, never past the end. */
	copy = malloc(len);
	for (i = 0; i < len * 8; i++) {
		int r;

		memcpy(copy, e->buf, len);
		copy[i / 8] ^= 1u << (i % 8);
		r = decode_all(copy, len);
		assert_true(r == -EINVAL || (r >= 0 && r <= 65535));
	}
	free(copy);
	gorilla__enc_free(e);
	/* Bad headers. */
	memset(hdr, 0, sizeof(hdr));
	assert_int_equal(decode_all(NULL, 0), -EINVAL);
	assert_int_equal(decode_all(hdr, 3), -EINVAL);
	assert_int_equal(decode_all(hdr, 4), -EINVAL); /* format 0 */
	hdr[0] = 0x11;
	assert_int_equal(decode_all(hdr, 4), 0); /* an empty block is fine */
	hdr[1] = 1;
	assert_int_equal(decode_all(hdr, 4), -EINVAL); /* buckets on a value block */
	hdr[0] = 0x13;
	hdr[1] = GORILLA_MAX_BUCKETS + 1;
	assert_int_equal(decode_all(hdr, 4), -EINVAL);
	hdr[0] = 0x14;
	hdr[1] = 0;
	assert_int_equal(decode_all(hdr, 4), -EINVAL); /* unknown kind */
	hdr[0] = 0x11;
	hdr[2] = 0xff;
	hdr[3] = 0xff;
	assert_int_equal(decode_all(hdr, 8), -EINVAL); /* 65535 rows in 4 bytes */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_special_values), cmocka_unit_test(test_irregular_timestamps),
		cmocka_unit_test(test_random_series),  cmocka_unit_test(test_histogram),
		cmocka_unit_test(test_rollup),	       cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_limits),	       cmocka_unit_test(test_hostile),
	};

	return cmocka_run_group_tests_name("gorilla", tests, NULL, NULL);
}
