// SPDX-License-Identifier: MIT
/* Tenant restriction: who sees which agent, and the JSON and /metrics filters built on it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tenancy.h"

/* blue-1 and blue-2 are blue's, red-1 red's; "plain" has no tenant. */
static struct agent_tenant table[] = {
	{"red-1", "red"},
	{"blue-2", "blue"},
	{"blue-1", "blue"},
};
static const char blue[][TENANT_NAME_MAX] = {"blue"};
static const char both[][TENANT_NAME_MAX] = {"green", "red"};
static struct tenancy_filter fblue, fboth, fnone, flinked;

/* Incidents 1 of blue-1 and 2 of red-1; no other is known. */
static const char *incident_agent(const void *ctx, uint64_t id)
{
	(void)ctx;
	return id == 1 ? "blue-1" : id == 2 ? "red-1" : NULL;
}

static int setup(void **state)
{
	(void)state;
	tenancy__sort(table, 3);
	fblue = (struct tenancy_filter){blue, 1, table, 3, NULL, NULL};
	fboth = (struct tenancy_filter){both, 2, table, 3, NULL, NULL};
	fnone = (struct tenancy_filter){blue, 1, NULL, 0, NULL, NULL}; /* no agent has a tenant */
	flinked = (struct tenancy_filter){blue, 1, table, 3, incident_agent, NULL};
	return 0;
}

static void test_visible(void **state)
{
	(void)state;
	assert_string_equal(tenancy__of(table, 3, "blue-2"), "blue");
	assert_null(tenancy__of(table, 3, "plain"));
	assert_null(tenancy__of(table, 3, NULL));
	assert_true(tenancy__visible(NULL, "red-1"));
	assert_true(tenancy__visible(NULL, "plain"));
	assert_true(tenancy__visible(&fblue, "blue-1"));
	assert_true(tenancy__visible(&fblue, "blue-2"));
	assert_false(tenancy__visible(&fblue, "red-1"));
	assert_false(tenancy__visible(&fblue, "plain"));
	assert_false(tenancy__visible(&fblue, ""));
	assert_true(tenancy__visible(&fboth, "red-1"));
	assert_false(tenancy__visible(&fboth, "blue-1"));
	assert_false(tenancy__visible(&fnone, "blue-1"));
	/* A name longer than any agent's is nobody's. */
	assert_false(tenancy__visible(&fblue, "blue-1-and-a-name-longer-than-32-bytes"));
}

static void expect_json(const char *in, const struct tenancy_filter *f, const char *want)
{
	char *out = tenancy__filter_text(in, f);

	assert_non_null(out);
	assert_string_equal(out, want);
	free(out);
}

static void test_json(void **state)
{
	(void)state;
	/* Alerts and the like: objects with "agent" in an array. */
	expect_json("{\"time\":1,\"alerts\":[{\"agent\":\"red-1\",\"id\":\"a\"},"
		    "{\"agent\":\"blue-1\",\"id\":\"b\"},{\"agent\":\"plain\",\"id\":\"c\"}]}",
		    &fblue, "{\"time\":1,\"alerts\":[{\"agent\":\"blue-1\",\"id\":\"b\"}]}");
	/* Unrestricted: all of it. */
	expect_json("{\"alerts\":[{\"agent\":\"red-1\"}]}", NULL,
		    "{\"alerts\":[{\"agent\":\"red-1\"}]}");
	/* An agent's upstreams stay; aggregates that name no agent go. */
	expect_json("{\"agents\":[{\"agent\":\"blue-2\",\"upstreams\":[{\"upstream\":\"api\"}]},"
		    "{\"agent\":\"red-1\",\"upstreams\":[{\"upstream\":\"db\"}]}],"
		    "\"recommendations\":{\"scale_down_first\":[{\"agent\":\"red-1\"}],"
		    "\"costliest_upstreams_per_success\":[{\"upstream\":\"db\"}]}}",
		    &fblue,
		    "{\"agents\":[{\"agent\":\"blue-2\",\"upstreams\":[{\"upstream\":\"api\"}]}],"
		    "\"recommendations\":{\"scale_down_first\":[],"
		    "\"costliest_upstreams_per_success\":[]}}");
	/* Pools are agents; series name theirs in labels; silences in matchers. */
	expect_json("{\"pools\":[{\"pool\":\"red-1\"},{\"pool\":\"blue-1\"}]}", &fblue,
		    "{\"pools\":[{\"pool\":\"blue-1\"}]}");
	expect_json("{\"data\":{\"series\":[{\"labels\":{\"agent\":\"red-1\"},\"points\":[[1,2]]},"
		    "{\"labels\":{\"agent\":\"blue-1\"},\"points\":[[1,3]]}]}}",
		    &fblue,
		    "{\"data\":{\"series\":[{\"labels\":{\"agent\":\"blue-1\"},"
		    "\"points\":[[1,3]]}]}}");
	expect_json("{\"silences\":[{\"id\":1,\"matchers\":{\"agent\":\"red-1\"}},"
		    "{\"id\":2,\"matchers\":{\"severity\":\"page\"}},"
		    "{\"id\":3,\"matchers\":{\"agent\":\"blue-2\"}}]}",
		    &fblue, "{\"silences\":[{\"id\":3,\"matchers\":{\"agent\":\"blue-2\"}}]}");
	/* Numbers come back as written. */
	expect_json("{\"agents\":[{\"agent\":\"blue-1\",\"cpu\":0.123456,\"usd\":1e-7}]}", &fblue,
		    "{\"agents\":[{\"agent\":\"blue-1\",\"cpu\":0.123456,\"usd\":1e-7}]}");
	/* Linked incidents: only those of agents it sees; none when they cannot be looked up. */
	expect_json("{\"agent\":\"blue-2\",\"linked\":[1,2,3]}", &flinked,
		    "{\"agent\":\"blue-2\",\"linked\":[1]}");
	expect_json("{\"incidents\":[{\"agent\":\"blue-2\",\"linked\":[2,1]}]}", &flinked,
		    "{\"incidents\":[{\"agent\":\"blue-2\",\"linked\":[1]}]}");
	expect_json("{\"linked\":[1,2]}", &fblue, "{\"linked\":[]}");
}

static void test_json_not_found(void **state)
{
	char *out;

	(void)state;
	/* One incident of another tenant is not there; one of its own is. */
	errno = 0;
	out = tenancy__filter_text("{\"time\":1,\"incident\":{\"id\":4,\"agent\":\"red-1\"}}",
				   &fblue);
	assert_null(out);
	assert_int_equal(errno, ENOENT);
	expect_json("{\"incident\":{\"id\":4,\"agent\":\"blue-1\"}}", &fblue,
		    "{\"incident\":{\"id\":4,\"agent\":\"blue-1\"}}");
	/* A pool's history names its pool at the root. */
	out = tenancy__filter_text("{\"pool\":\"red-1\",\"decisions\":[{\"time\":1}]}", &fblue);
	assert_null(out);
	assert_int_equal(errno, ENOENT);
	expect_json("{\"pool\":\"blue-1\",\"decisions\":[{\"time\":1}]}", &fblue,
		    "{\"pool\":\"blue-1\",\"decisions\":[{\"time\":1}]}");
	out = tenancy__filter_text("{not json", &fblue);
	assert_null(out);
	assert_int_equal(errno, EINVAL);
}

static char *metrics(const char *page, const struct tenancy_filter *f)
{
	struct buf b;

	buf__init(&b);
	assert_int_equal(tenancy__filter_metrics(page, strlen(page), f, &b), 0);
	return b.data ? b.data : strdup("");
}

static void test_metrics(void **state)
{
	static const char page[] =
		"# HELP swarmwatch_agent_syscalls_total Syscalls.\n"
		"# TYPE swarmwatch_agent_syscalls_total counter\n"
		"swarmwatch_agent_syscalls_total{agent=\"red-1\"} 5\n"
		"swarmwatch_agent_syscalls_total{agent=\"blue-1\"} 7\n"
		"# HELP swarmwatch_agent_errors_total Errors.\n"
		"# TYPE swarmwatch_agent_errors_total counter\n"
		"swarmwatch_agent_errors_total{errno=\"EAGAIN\",agent=\"red-1\"} 1\n"
		"# HELP swarmwatch_pool_replicas Replicas.\n"
		"# TYPE swarmwatch_pool_replicas gauge\n"
		"swarmwatch_pool_replicas{pool=\"blue-2\"} 3\n"
		"# HELP swarmwatch_events_dropped_total Drops.\n"
		"# TYPE swarmwatch_events_dropped_total counter\n"
		"swarmwatch_events_dropped_total 0\n"
		"swarmwatch_app_x{route=\"agent=\\\"blue-1\\\"\",agent=\"red-1\"} 2\n"
		"swarmwatch_app_y{agent=\"bl\\\\ue\"} 2\n";
	char *out;

	(void)state;
	out = metrics(page, &fblue);
	assert_string_equal(out, "# HELP swarmwatch_agent_syscalls_total Syscalls.\n"
				 "# TYPE swarmwatch_agent_syscalls_total counter\n"
				 "swarmwatch_agent_syscalls_total{agent=\"blue-1\"} 7\n"
				 "# HELP swarmwatch_pool_replicas Replicas.\n"
				 "# TYPE swarmwatch_pool_replicas gauge\n"
				 "swarmwatch_pool_replicas{pool=\"blue-2\"} 3\n");
	free(out);
	out = metrics(page, &fboth);
	assert_non_null(strstr(out, "swarmwatch_agent_syscalls_total{agent=\"red-1\"} 5\n"));
	assert_non_null(strstr(out, "errno=\"EAGAIN\",agent=\"red-1\"} 1\n"));
	assert_non_null(strstr(out, "route=\"agent=\\\"blue-1\\\"\",agent=\"red-1\"} 2\n"));
	assert_null(strstr(out, "blue-1\"} 7"));
	assert_null(strstr(out, "dropped"));
	assert_null(strstr(out, "swarmwatch_pool_replicas"));
	free(out);
	out = metrics(page, &fnone);
	assert_string_equal(out, "");
	free(out);
	/* Comments that name no family, after another family's samples, are not the next's. */
	out = metrics("# HELP m M.\nm{agent=\"red-1\"} 1\n# a note\n"
		      "m2{agent=\"blue-1\"} 2\n",
		      &fblue);
	assert_string_equal(out, "m2{agent=\"blue-1\"} 2\n");
	free(out);
	out = metrics("x{agent=\"blue-1\n", &fblue); /* cut short: not a sample */
	assert_string_equal(out, "");
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_visible),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_json_not_found),
		cmocka_unit_test(test_metrics),
	};

	return cmocka_run_group_tests_name("tenancy", tests, setup, NULL);
}
