// SPDX-License-Identifier: MIT
/* Saved-state blobs: exact round trip, and every kind of damage refused. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "blob.h"

struct state {
	double a[7];
	uint32_t n;
	uint32_t pad;
};

static void test_round_trip(void **s)
{
	struct state in = {.a = {1, -2.5, 3e300, 0, 5, 6, 7}, .n = 42}, out;
	unsigned char buf[256];
	const void *p;

	(void)s;
	assert_int_equal(blob__save(buf, sizeof(buf), 0x1234, 3, &in, sizeof(in)),
			 (long)blob__size(sizeof(in)));
	assert_int_equal(blob__open(buf, sizeof(buf), 0x1234, 3, sizeof(in), &p), 0);
	memcpy(&out, p, sizeof(out));
	assert_memory_equal(&in, &out, sizeof(in));
}

static void test_damage_refused(void **s)
{
	struct state in = {.n = 1};
	unsigned char buf[256];
	size_t i, len = blob__size(sizeof(in));
	const void *p;

	(void)s;
	assert_int_equal(blob__save(buf, len - 1, 1, 1, &in, sizeof(in)), -ENOSPC);
	blob__save(buf, sizeof(buf), 1, 1, &in, sizeof(in));
	assert_int_equal(blob__open(buf, len - 1, 1, 1, sizeof(in), &p), -EBADMSG);
	assert_int_equal(blob__open(buf, len, 2, 1, sizeof(in), &p), -EBADMSG); /* magic */
	assert_int_equal(blob__open(buf, len, 1, 2, sizeof(in), &p), -EPROTO); /* version */
	assert_int_equal(blob__open(buf, len, 1, 1, sizeof(in) - 8, &p), -EBADMSG); /* size */
	/* Any single flipped bit anywhere is caught by the checksum or the header checks. */
	for (i = 0; i < len * 8; i++) {
		buf[i / 8] ^= 1u << (i % 8);
		assert_int_not_equal(blob__open(buf, len, 1, 1, sizeof(in), &p), 0);
		buf[i / 8] ^= 1u << (i % 8);
	}
	assert_int_equal(blob__open(buf, len, 1, 1, sizeof(in), &p), 0);
}

static void test_checksum_known(void **s)
{
	(void)s;
	/* FNV-1a 32-bit reference values. */
	assert_int_equal(blob__checksum("", 0), 0x811c9dc5u);
	assert_int_equal(blob__checksum("a", 1), 0xe40c292cu);
	assert_int_equal(blob__checksum("foobar", 6), 0xbf9cf968u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_damage_refused),
		cmocka_unit_test(test_checksum_known),
	};

	return cmocka_run_group_tests_name("blob", tests, NULL, NULL);
}
