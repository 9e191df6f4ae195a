// SPDX-License-Identifier: MIT
/*
 * The publication slot: nothing before the first publish, readers keep the snapshot they hold
 * while a newer one replaces it, and each view's destructor runs once, with the last reference.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>

#include "snapshot.h"

static int freed;

static void view_free(struct anomaly_view *v)
{
	freed++;
	free(v);
}

static struct snapshot *with_view(__u64 ticks)
{
	struct snapshot *s = snapshot__new();

	assert_non_null(s);
	assert_int_equal(s->refs, 1);
	s->ticks = ticks;
	s->agents = calloc(2, sizeof(*s->agents));
	s->anomalies = malloc(16);
	s->anomalies_free = view_free;
	return s;
}

static void test_publish_acquire_release(void **state)
{
	struct snapshot_slot slot;
	struct snapshot *a, *b;

	(void)state;
	freed = 0;
	snapshot__slot_init(&slot);
	assert_null(snapshot__acquire(&slot));
	snapshot__publish(&slot, with_view(1));
	a = snapshot__acquire(&slot);
	assert_non_null(a);
	assert_true(a->ticks == 1);
	/* A newer tick replaces it; the reader's copy stays whole until released. */
	snapshot__publish(&slot, with_view(2));
	assert_int_equal(freed, 0);
	assert_true(a->ticks == 1);
	b = snapshot__acquire(&slot);
	assert_true(b->ticks == 2);
	snapshot__release(a);
	assert_int_equal(freed, 1);
	snapshot__release(b);
	assert_int_equal(freed, 1); /* the slot still holds it */
	snapshot__slot_fini(&slot);
	assert_int_equal(freed, 2);
	snapshot__release(NULL);
}

static void test_wait(void **state)
{
	struct snapshot_slot slot;

	(void)state;
	snapshot__slot_init(&slot);
	/* Nothing published: the wait times out and says so. */
	assert_int_equal(snapshot__wait(&slot, 0, 20), 0);
	snapshot__publish(&slot, snapshot__new());
	/* A publish already made returns at once. */
	assert_int_equal(snapshot__wait(&slot, 0, 60000), 1);
	assert_int_equal(snapshot__wait(&slot, 1, 20), 1);
	snapshot__slot_fini(&slot);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_publish_acquire_release),
		cmocka_unit_test(test_wait),
	};

	return cmocka_run_group_tests_name("snapshot", tests, NULL, NULL);
}
