// SPDX-License-Identifier: MIT
/* Identity rules: order, captures, templates, truncation, no-match cases. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "config.h"
#include "identity.h"

static struct config cfg;

static int setup(void **state)
{
	char err[512];

	(void)state;
	return config__parse(
		&cfg,
		"{\"identity\": {\"rules\": [\n"
		" {\"match\": \"comm\", \"regex\": \"^(worker)-([0-9]+)$\", \"name\": \"$1\"},\n"
		" {\"match\": \"cmdline\", \"regex\": \"--agent[= ]([a-z]+)\"},\n"
		" {\"match\": \"exe\", \"regex\": \"/opt/agents/([^/]+)/([^/]+)/bin/\","
		"  \"name\": \"opt-$2\", \"tenant\": \"t-$1\"},\n"
		" {\"match\": \"cgroup\", \"regex\": \"^/system\\\\.slice/([^/]+)\\\\.service$\"},\n"
		" {\"match\": \"comm\", \"regex\": \"^(empty)()$\", \"name\": \"$2\"},\n"
		" {\"match\": \"cmdline\", \"regex\": \"--tenant=([a-z0-9-]+)\", \"name\": \"t\","
		"  \"tenant\": \"$1\"}\n"
		"]}}",
		"test", err, sizeof(err));
}

static int teardown(void **state)
{
	(void)state;
	config__free(&cfg);
	return 0;
}

static enum identity_source classify(const struct proc_info *p, char *name)
{
	return identity__classify(&cfg, p, IDENTITY_ALL, name);
}

static void test_marker_first(void **state)
{
	struct proc_info p = {
		.marker = "planner", .cgroup = "/system.slice/x.service", .comm = "worker-1"};
	char name[SW_NAME_LEN];

	(void)state;
	assert_int_equal(classify(&p, name), IDENTITY_MARKER);
	assert_string_equal(name, "planner");
	/* An empty marker does not count. */
	p.marker = "";
	assert_int_equal(classify(&p, name), IDENTITY_CGROUP);
	assert_string_equal(name, "x");
}

static void test_cgroup_before_command(void **state)
{
	struct proc_info p = {.cgroup = "/system.slice/nginx.service", .comm = "worker-7"};
	char name[SW_NAME_LEN];

	(void)state;
	/* The comm rule is listed first in the file, but cgroup rules win. */
	assert_int_equal(classify(&p, name), IDENTITY_CGROUP);
	assert_string_equal(name, "nginx");
	p.cgroup = "/user.slice/session-1.scope";
	assert_int_equal(classify(&p, name), IDENTITY_COMMAND);
	assert_string_equal(name, "worker");
}

static void test_command_rules(void **state)
{
	struct proc_info p = {.comm = "python3",
			      .exe = "/usr/bin/python3.11",
			      .cmdline = "python3 run.py --agent=coder"};
	char name[SW_NAME_LEN];

	(void)state;
	assert_int_equal(classify(&p, name), IDENTITY_COMMAND);
	assert_string_equal(name, "coder");
	p.cmdline = "python3 run.py";
	p.exe = "/opt/agents/acme/triage/bin/triage";
	assert_int_equal(classify(&p, name), IDENTITY_COMMAND);
	assert_string_equal(name, "opt-triage");
	p.exe = "/usr/bin/bash";
	assert_int_equal(classify(&p, name), IDENTITY_NONE);
}

/* A rule's tenant is expanded like its name; the marker and rules without one give none. */
static void test_tenant(void **state)
{
	struct proc_info p = {.exe = "/opt/agents/acme/triage/bin/triage"};
	char name[SW_NAME_LEN], tenant[TENANT_NAME_MAX];

	(void)state;
	assert_int_equal(identity__classify_tenant(&cfg, &p, IDENTITY_ALL, name, tenant),
			 IDENTITY_COMMAND);
	assert_string_equal(name, "opt-triage");
	assert_string_equal(tenant, "t-acme");
	p.exe = NULL;
	p.cmdline = "run --agent=coder";
	assert_int_equal(identity__classify_tenant(&cfg, &p, IDENTITY_ALL, name, tenant),
			 IDENTITY_COMMAND);
	assert_string_equal(name, "coder");
	assert_string_equal(tenant, "");
	p.marker = "planner";
	p.exe = "/opt/agents/acme/triage/bin/triage";
	assert_int_equal(identity__classify_tenant(&cfg, &p, IDENTITY_ALL, name, tenant),
			 IDENTITY_MARKER);
	assert_string_equal(tenant, "");
	/*
	 * A tenant longer than a name holds is none, not cut: two tenants with the same first
	 * 31 bytes would see each other's agents.
	 */
	p.marker = NULL;
	p.exe = NULL;
	p.cmdline = "run --tenant=customer-organisation-alpha-prod-1";
	assert_int_equal(identity__classify_tenant(&cfg, &p, IDENTITY_ALL, name, tenant),
			 IDENTITY_COMMAND);
	assert_string_equal(name, "t");
	assert_string_equal(tenant, "");
	p.cmdline = "run --tenant=0123456789012345678901234567890";
	identity__classify_tenant(&cfg, &p, IDENTITY_ALL, name, tenant);
	assert_string_equal(tenant, "0123456789012345678901234567890"); /* 31 bytes: whole */
	p.exe = "/usr/bin/bash";
	p.cmdline = "bash";
	assert_int_equal(identity__classify_tenant(&cfg, &p, IDENTITY_ALL, name, tenant),
			 IDENTITY_NONE);
	assert_string_equal(tenant, "");
}

static void test_sources_mask(void **state)
{
	struct proc_info p = {
		.marker = "m", .cgroup = "/system.slice/a.service", .comm = "worker-1"};
	char name[SW_NAME_LEN];

	(void)state;
	assert_int_equal(identity__classify(&cfg, &p, 1u << IDENTITY_COMMAND, name),
			 IDENTITY_COMMAND);
	assert_string_equal(name, "worker");
	assert_int_equal(identity__classify(&cfg, &p, 1u << IDENTITY_CGROUP, name),
			 IDENTITY_CGROUP);
	assert_int_equal(identity__classify(&cfg, &p, 0, name), IDENTITY_NONE);
}

static void test_empty_name_is_no_match(void **state)
{
	struct proc_info p = {.comm = "empty"};
	char name[SW_NAME_LEN];

	(void)state;
	assert_int_equal(classify(&p, name), IDENTITY_NONE);
}

static void test_missing_attributes(void **state)
{
	struct proc_info p = {0};
	char name[SW_NAME_LEN];

	(void)state;
	assert_int_equal(classify(&p, name), IDENTITY_NONE);
}

static void test_marker_disabled(void **state)
{
	struct proc_info p = {.marker = "planner"};
	char name[SW_NAME_LEN];

	(void)state;
	cfg.marker = false;
	assert_int_equal(classify(&p, name), IDENTITY_NONE);
	cfg.marker = true;
}

static void test_expand_truncates(void **state)
{
	const char *subject = "0123456789012345678901234567890123456789";
	regmatch_t m[2] = {{0, 40}, {5, 10}};
	char name[SW_NAME_LEN];

	(void)state;
	assert_false(identity__expand("x-$0", subject, m, 2, name));
	assert_int_equal(strlen(name), SW_NAME_LEN - 1);
	assert_memory_equal(name, "x-0123", 6);
	assert_true(identity__expand("[$1]", subject, m, 2, name));
	assert_string_equal(name, "[56789]");
	identity__expand("$7", subject, m, 2, name); /* group out of range: empty */
	assert_string_equal(name, "");
	identity__expand("a$$b", subject, m, 2, name);
	assert_string_equal(name, "a$$b");
}

static void test_marker_truncated(void **state)
{
	struct proc_info p = {.marker = "a-very-long-agent-name-that-goes-past-the-limit"};
	char name[SW_NAME_LEN];

	(void)state;
	assert_int_equal(classify(&p, name), IDENTITY_MARKER);
	assert_int_equal(strlen(name), SW_NAME_LEN - 1);
}

/* Markers and captures of any bytes become valid names, cut on a character. */
static void test_names_are_text(void **state)
{
	struct proc_info p = {.marker = "bad\xe6\xadname"};
	const char *subject = "ab\xff\x1b[31m\xe3\x82\xa8\xe3\x83\xbc\xe3\x82\xb8\xe3\x82\xa7"
			      "\xe3\x83\xb3\xe3\x83\x88\xe3\x82\xa8\xe3\x83\xbc";
	regmatch_t m[1] = {{0, 0}};
	char name[SW_NAME_LEN];

	(void)state;
	assert_int_equal(classify(&p, name), IDENTITY_MARKER);
	assert_string_equal(name, "bad\xef\xbf\xbdname");
	p.marker = "エージェントエージェント";
	assert_int_equal(classify(&p, name), IDENTITY_MARKER);
	assert_string_equal(name, "エージェントエージェ");
	/* A capture of raw bytes: "ab", 0xff, ESC, "[31m" and 8 kana, 32 bytes. After the
	 * 12 bytes of "ab", two U+FFFD and "[31m", 6 kana fit in 31 bytes. */
	m[0].rm_eo = strlen(subject);
	identity__expand("$0", subject, m, 1, name);
	assert_string_equal(name, "ab\xef\xbf\xbd\xef\xbf\xbd[31mエージェント");
	assert_int_equal(strlen(name), 30);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_marker_first),
		cmocka_unit_test(test_cgroup_before_command),
		cmocka_unit_test(test_command_rules),
		cmocka_unit_test(test_sources_mask),
		cmocka_unit_test(test_tenant),
		cmocka_unit_test(test_empty_name_is_no_match),
		cmocka_unit_test(test_missing_attributes),
		cmocka_unit_test(test_marker_disabled),
		cmocka_unit_test(test_expand_truncates),
		cmocka_unit_test(test_marker_truncated),
		cmocka_unit_test(test_names_are_text),
	};

	return cmocka_run_group_tests_name("identity", tests, setup, teardown);
}
