// SPDX-License-Identifier: MIT
/*
 * The metric catalogue: names follow the conventions, lookups find every family, and iterating
 * a synthetic snapshot yields well-formed samples (label values for every label name, histogram
 * buckets that add up to their count) and stops where the callback says.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "catalog.h"
#include "snapshot.h"

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}

static void test_families_well_formed(void **state)
{
	const struct catalog_family *f;
	int i, j, n = catalog__nfamilies();

	(void)state;
	assert_true(n > 40);
	assert_null(catalog__family(-1));
	assert_null(catalog__family(n));
	for (i = 0; i < n; i++) {
		f = catalog__family(i);
		assert_non_null(f);
		assert_true(!strncmp(f->name, "swarmwatch_", 11) ||
			    !strncmp(f->name, "process_", 8) || !strncmp(f->name, "gen_ai_", 7));
		assert_true(f->help && f->help[0] && f->unit);
		assert_true(ends_with(f->name, "_total") == (f->type == CATALOG_COUNTER));
		if (f->unit[0])
			assert_non_null(strstr(f->name, f->unit));
		assert_true(f->nlabels >= 0 && f->nlabels <= CATALOG_MAX_LABELS);
		assert_true(!f->nlabels || f->labels);
		assert_true((f->type == CATALOG_HISTOGRAM) == (f->nle > 0 && f->le != NULL));
		for (j = 1; j < f->nle; j++)
			assert_true(f->le[j] > f->le[j - 1]);
		assert_ptr_equal(catalog__find(f->name), f);
		for (j = 0; j < i; j++)
			assert_string_not_equal(catalog__family(j)->name, f->name);
	}
	assert_null(catalog__find("swarmwatch_nope"));
	f = catalog__find("swarmwatch_agent_syscall_duration_seconds");
	assert_non_null(f);
	assert_int_equal(f->type, CATALOG_HISTOGRAM);
	assert_string_equal(f->labels[0], "agent");
	assert_string_equal(catalog__type_name(f->type), "histogram");
}

struct tally {
	int samples;
	int per_family[128];
	int stop_after; /* return 1 on this sample; 0: never */
};

static int count(void *ctx, const struct catalog_sample *x)
{
	struct tally *t = ctx;
	const struct catalog_family *f = x->family;
	__u64 total = 0;
	int i;

	for (i = 0; i < f->nlabels; i++)
		assert_non_null(x->values[i]);
	if (f->type == CATALOG_HISTOGRAM) {
		for (i = 0; i <= f->nle; i++)
			total += x->buckets[i];
		assert_true(total == x->count);
	}
	for (i = 0; i < catalog__nfamilies(); i++)
		if (catalog__family(i) == f)
			t->per_family[i]++;
	t->samples++;
	return t->stop_after && t->samples == t->stop_after;
}

static void snapshot_of_one_agent(struct snapshot *s, struct agent_snap *a)
{
	memset(s, 0, sizeof(*s));
	memset(a, 0, sizeof(*a));
	snprintf(a->name, sizeof(a->name), "alpha");
	a->slot = 1;
	a->s.syscalls[SW_CLASS_FILE] = 10;
	a->s.syscall_lat[0] = 2; /* below the first bucket */
	a->s.syscall_lat[9] = 5;
	a->s.syscall_lat[SW_LAT_SLOTS - 1] = 1; /* above the last: +Inf only */
	a->s.syscall_lat_sum_ns = 3000000000ULL;
	s->agents = a;
	s->nagents = 1;
	s->time = 1800000000.0;
}

static int first_syscall_hist(void *ctx, const struct catalog_sample *x)
{
	(void)ctx;
	assert_int_equal(x->count, 8);
	assert_true(x->buckets[0] == 2); /* slots 0..8 fold into le = 2^8 ns */
	assert_true(x->buckets[1] == 5); /* slot 9: le = 2^9 ns */
	assert_true(x->buckets[x->family->nle] == 1);
	assert_true(x->sum == 3.0);
	return 0;
}

static void test_iteration(void **state)
{
	const struct catalog_family *f;
	struct tally t = {0};
	struct agent_snap a;
	struct snapshot s;
	int i;

	(void)state;
	snapshot_of_one_agent(&s, &a);
	assert_int_equal(catalog__for_each(&s, count, &t), 0);
	assert_true(t.samples > 30);
	for (i = 0; i < catalog__nfamilies(); i++) {
		f = catalog__family(i);
		/* Families whose source did not run this tick have no samples. */
		if (!strcmp(f->name, "swarmwatch_agent_resident_memory_bytes") ||
		    strstr(f->name, "anomal") || strstr(f->name, "forecast") ||
		    strstr(f->name, "_tls_"))
			assert_int_equal(t.per_family[i], 0);
		assert_true(catalog__exported(f, &s) || t.per_family[i] == 0);
	}
	f = catalog__find("swarmwatch_agent_syscalls_total");
	assert_false(
		catalog__exported(catalog__find("swarmwatch_agent_resident_memory_bytes"), &s));
	memset(&t, 0, sizeof(t));
	assert_int_equal(catalog__for_each_sample(f, &s, count, &t), 0);
	assert_int_equal(t.samples, SW_CLASS_MAX);
	f = catalog__find("swarmwatch_agent_syscall_duration_seconds");
	assert_int_equal(catalog__for_each_sample(f, &s, first_syscall_hist, NULL), 0);

	/* A non-zero return stops the walk and comes back. */
	memset(&t, 0, sizeof(t));
	t.stop_after = 3;
	assert_int_equal(catalog__for_each(&s, count, &t), 1);
	assert_int_equal(t.samples, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_families_well_formed),
		cmocka_unit_test(test_iteration),
	};

	return cmocka_run_group_tests_name("catalog", tests, NULL, NULL);
}
