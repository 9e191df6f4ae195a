// SPDX-License-Identifier: MIT
/*
 * The tick's alert stage over a state directory: silences and acknowledgements are kept
 * across a restart, with receivers or without.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alert.h"
#include "alerting.h"
#include "config.h"
#include "log.h"
#include "snapshot.h"

/* One tick with no agents at the current time: what writes the alert state. */
static void tick(struct alerting *a)
{
	struct snapshot *s = snapshot__new();
	struct timespec ts;

	assert_non_null(s);
	clock_gettime(CLOCK_REALTIME, &ts);
	s->time = ts.tv_sec + ts.tv_nsec / 1e9;
	assert_int_equal(alerting__tick(a, s), 0);
	snapshot__put(s);
}

/* A silence made with the given configuration is listed after a restart on the same dir. */
static void silence_survives(const char *json)
{
	char dir[] = "/tmp/sw-alerting-test.XXXXXX", err[512], cmd[128];
	struct alert_silence sil = {.nm = 1, .m = {{"agent", "coder", false}}};
	struct alert_silence list[4];
	struct timespec ts;
	struct alerting *a;
	struct config c;

	assert_non_null(mkdtemp(dir));
	assert_int_equal(config__parse(&c, json, "test.json", err, sizeof(err)), 0);
	snprintf(c.store_dir, sizeof(c.store_dir), "%s", dir);
	clock_gettime(CLOCK_REALTIME, &ts);
	sil.ends_ms = ts.tv_sec * 1000LL + 3600000;
	snprintf(sil.comment, sizeof(sil.comment), "deploy");
	a = alerting__new(&c, 1.0, err, sizeof(err));
	assert_non_null(a);
	assert_true(alerting__silence_add(a, &sil) > 0);
	tick(a);
	alerting__free(a);
	a = alerting__new(&c, 1.0, err, sizeof(err));
	assert_non_null(a);
	assert_int_equal(alerting__silences(a, list, 4), 1);
	assert_string_equal(list[0].m[0].value, "coder");
	assert_string_equal(list[0].comment, "deploy");
	alerting__free(a);
	config__free(&c);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static void test_silence_kept_with_receivers(void **state)
{
	(void)state;
	silence_survives("{\"receivers\": [{\"name\": \"a\", \"url\": \"http://127.0.0.1:1/\"}]}");
}

/* Without receivers there is no outbox, but the state directory still keeps the state. */
static void test_silence_kept_without_receivers(void **state)
{
	(void)state;
	silence_survives("{}");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_silence_kept_with_receivers),
		cmocka_unit_test(test_silence_kept_without_receivers),
	};

	log__set_level(LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
