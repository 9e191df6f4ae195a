// SPDX-License-Identifier: MIT
/* Configuration parsing: defaults, valid files, and every kind of bad input. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

static char err[768];

static int parse(struct config *c, const char *text)
{
	err[0] = 0;
	return config__parse(c, text, "test.json", err, sizeof(err));
}

static void expect_error(const char *text, const char *what)
{
	struct config c;

	assert_int_equal(parse(&c, text), -EINVAL);
	if (!strstr(err, what))
		fail_msg("error \"%s\" does not contain \"%s\"", err, what);
	assert_null(strchr(err, '\n')); /* one line */
	/* A rejected configuration holds nothing: a caller that returns at once leaks nothing. */
	assert_null(c.origin);
	assert_null(c.rules);
	config__free(&c);
}

static void test_builtin(void **state)
{
	struct config c;

	(void)state;
	assert_int_equal(parse(&c, config__builtin), 0);
	assert_string_equal(c.listen, "0.0.0.0:7979");
	assert_true(c.interval_ns == 1000000000ULL);
	assert_string_equal(c.pin_path, "/sys/fs/bpf/swarmwatch");
	assert_int_equal(c.max_agents, 256);
	assert_true(c.marker);
	assert_int_equal(c.ncgroup_rules, 2);
	assert_int_equal(c.nrules, 3);
	assert_true(c.errno_ignored[EAGAIN] && c.errno_ignored[EINTR] &&
		    c.errno_ignored[EINPROGRESS]);
	assert_false(c.errno_ignored[ENOENT]);
	config__free(&c);
}

/* a and b hold the same settings: every field, and the same rules in the same order. */
static void assert_same_config(const struct config *a, const struct config *b)
{
	struct config x = *a, y = *b;
	int i;

	assert_int_equal(a->nrules, b->nrules);
	for (i = 0; i < a->nrules; i++) {
		assert_int_equal(a->rules[i].match, b->rules[i].match);
		assert_string_equal(a->rules[i].regex, b->rules[i].regex);
		assert_string_equal(a->rules[i].name, b->rules[i].name);
	}
	/* Everything else byte for byte (defaults() zeroes the struct, padding included). */
	x.origin = y.origin = NULL;
	x.rules = y.rules = NULL;
	x.builtin_rules = y.builtin_rules = false;
	assert_memory_equal(a->alerts, b->alerts, sizeof(*a->alerts));
	assert_memory_equal(a->notify, b->notify, sizeof(*a->notify));
	assert_memory_equal(a->pools, b->pools, sizeof(*a->pools));
	assert_memory_equal(a->cost, b->cost, sizeof(*a->cost));
	x.alerts = y.alerts = NULL;
	x.notify = y.notify = NULL;
	x.pools = y.pools = NULL;
	x.cost = y.cost = NULL;
	assert_memory_equal(&x, &y, sizeof(x));
}

/* A file that sets no key is the built-in configuration, rules included. */
static void test_empty_object_defaults(void **state)
{
	struct config def, c;

	(void)state;
	assert_int_equal(parse(&def, config__builtin), 0);
	assert_false(def.builtin_rules);
	assert_int_equal(parse(&c, "{}"), 0);
	assert_true(c.builtin_rules);
	assert_same_config(&c, &def);
	config__free(&c);
	config__free(&def);
}

/* Each key a file leaves out keeps its default; the rules stay unless the file sets them. */
static void test_unset_keys_keep_defaults(void **state)
{
	static const char *const files[] = {
		"{\"max_agents\": 10}",
		"{\"identity\": {}}",
		"{\"identity\": {\"marker\": false}}",
		"{\"syscalls\": {\"top_errnos\": 3}, \"tls\": {\"agents\": [\"a\"]}}",
		"{\"collectors\": {\"net\": false}, \"upstreams\": []}",
	};
	struct config def, c;
	size_t i;

	(void)state;
	assert_int_equal(parse(&def, config__builtin), 0);
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		assert_int_equal(parse(&c, files[i]), 0);
		assert_true(c.builtin_rules);
		assert_int_equal(c.nrules, def.nrules);
		assert_int_equal(c.ncgroup_rules, def.ncgroup_rules);
		/* The rules are usable, not only present. */
		assert_int_equal(regexec(&c.rules[0].re,
					 "/system.slice/docker-0123456789abcdef.scope", 0, NULL, 0),
				 0);
		assert_true(c.errno_ignored[EAGAIN]);
		assert_int_equal(c.max_agents, i == 0 ? 10 : def.max_agents);
		assert_true(c.marker == (i != 2));
		assert_true(c.interval_ns == def.interval_ns);
		config__free(&c);
	}
	config__free(&def);
}

/* Rules a file sets replace the built-in ones; an empty list means none. */
static void test_rules_replace_defaults(void **state)
{
	struct config c;

	(void)state;
	assert_int_equal(parse(&c, "{\"identity\": {\"rules\": []}}"), 0);
	assert_false(c.builtin_rules);
	assert_int_equal(c.nrules, 0);
	assert_int_equal(c.ncgroup_rules, 0);
	config__free(&c);
	assert_int_equal(parse(&c, "{\"identity\": {\"rules\": [{\"match\": \"exe\", "
				   "\"regex\": \"/x$\", \"name\": \"x\"}]}}"),
			 0);
	assert_false(c.builtin_rules);
	assert_int_equal(c.nrules, 1);
	assert_int_equal(c.ncgroup_rules, 0);
	assert_int_equal(c.rules[0].match, RULE_EXE);
	config__free(&c);
}

static void test_full(void **state)
{
	struct config c;

	(void)state;
	assert_int_equal(
		parse(&c,
		      "{\"listen\": \"127.0.0.1:9000\", \"interval\": \"250ms\",\n"
		      " \"max_agents\": 8, \"pin_path\": \"/sys/fs/bpf/x\",\n"
		      " \"identity\": {\"marker\": false, \"rules\": [\n"
		      "   {\"match\": \"comm\", \"regex\": \"^w-(.*)$\"},\n"
		      "   {\"match\": \"cgroup\", \"regex\": \"^/a/(b)$\", \"name\": \"g-$1\"}]},\n"
		      " \"syscalls\": {\"ignored_errnos\": [\"ENOENT\"], \"top_errnos\": 3},\n"
		      " \"collectors\": {\"sched\": false}}"),
		0);
	assert_string_equal(c.listen, "127.0.0.1:9000");
	assert_true(c.interval_ns == 250000000ULL);
	assert_int_equal(c.max_agents, 8);
	assert_false(c.marker);
	/* cgroup rules are ordered first */
	assert_int_equal(c.ncgroup_rules, 1);
	assert_int_equal(c.rules[0].match, RULE_CGROUP);
	assert_string_equal(c.rules[0].name, "g-$1");
	assert_int_equal(c.rules[1].match, RULE_COMM);
	assert_string_equal(c.rules[1].name, "$1"); /* default: first capture */
	assert_true(c.errno_ignored[ENOENT]);
	assert_false(c.errno_ignored[EAGAIN]); /* the list replaces the default */
	assert_int_equal(c.top_errnos, 3);
	assert_false(c.collectors[COLLECTOR_SCHED]);
	assert_true(c.collectors[COLLECTOR_SYSCALLS]);
	config__free(&c);
}

static void test_syntax_error_position(void **state)
{
	(void)state;
	expect_error("{\n  \"listen\": \"a:1\",\n  \"interval\" \"1s\"\n}", "test.json:3:");
	expect_error("", "test.json:");
	expect_error("[1, 2]", "must be a JSON object");
	expect_error("{\"listen\": \"a:1\", \"listen\": \"b:2\"}", "duplicate");
}

static void test_unknown_key_suggestion(void **state)
{
	(void)state;
	expect_error("{\n\n   \"intervall\": \"1s\"}", "test.json:3:4: unknown key \"intervall\"");
	expect_error("{\"intervall\": \"1s\"}", "(did you mean \"interval\"?)");
	expect_error("{\"identity\": {\"rulez\": []}}", "did you mean \"rules\"");
	expect_error("{\"zzzzzzzzzzzz\": 1}", "unknown key \"zzzzzzzzzzzz\" in the configuration");
	expect_error("{\"collectors\": {\"shed\": true}}", "did you mean \"sched\"");
}

static void test_bad_values(void **state)
{
	(void)state;
	expect_error("{\"interval\": \"fast\"}", "\"interval\" is \"fast\"");
	expect_error("{\"interval\": \"1ms\"}", "from 10ms to 1h");
	expect_error("{\"interval\": 5}", "must be a string");
	expect_error("{\"agent_retention\": \"0s\"}", "from 1s to 30 days");
	expect_error("{\"agent_retention\": \"soon\"}", "\"agent_retention\" is \"soon\"");
	expect_error("{\"max_agents\": 0}", "between 1 and 1024");
	expect_error("{\"max_agents\": 100000}", "between 1 and 1024");
	expect_error("{\"max_agents\": \"5\"}", "must be an integer");
	expect_error("{\"listen\": \"nocolon\"}", "ADDR:PORT");
	expect_error("{\"pin_path\": \"relative\"}", "absolute path");
	expect_error("{\"identity\": {\"marker\": 1}}", "true or false");
	expect_error("{\"syscalls\": {\"ignored_errnos\": [\"ENOPE\"]}}", "not an errno name");
	expect_error("{\"syscalls\": {\"top_errnos\": 0}}", "between 1 and 64");
}

static void test_store(void **state)
{
	struct config c;

	(void)state;
	assert_int_equal(parse(&c, "{}"), 0);
	assert_string_equal(c.store_dir, "/var/lib/swarmwatch");
	assert_true(c.store_memory_ns == 15 * 60000000000ULL);
	assert_true(c.store_retention_ns[0] == 6 * 3600000000000ULL);
	assert_true(c.store_retention_ns[1] == 14 * 86400000000000ULL);
	assert_true(c.store_retention_ns[2] == 90 * 86400000000000ULL);
	assert_true(c.store_max_bytes == 1024ULL << 20);
	assert_true(c.store_flush_ns == 10000000000ULL);
	config__free(&c);
	assert_int_equal(parse(&c,
			       "{\"store\": {\"dir\": \"\", \"memory\": \"5m\", \"raw\": \"1d\","
			       " \"hours\": \"365d\", \"max_size_mb\": 0, \"flush\": \"2s\"}}"),
			 0);
	assert_string_equal(c.store_dir, "");
	assert_true(c.store_memory_ns == 5 * 60000000000ULL);
	assert_true(c.store_retention_ns[0] == 86400000000000ULL);
	assert_true(c.store_retention_ns[2] == 365 * 86400000000000ULL);
	assert_true(c.store_max_bytes == 0 && c.store_flush_ns == 2000000000ULL);
	config__free(&c);
	expect_error("{\"store\": {\"dir\": \"var/lib\"}}", "must be an absolute path");
	expect_error("{\"store\": {\"raw\": \"10m\"}}", "\"raw\" must be at least \"memory\"");
	expect_error("{\"store\": {\"flush\": \"0s\"}}", "from 1s to 1h");
	expect_error("{\"store\": {\"max_size_mb\": -1}}", "between 0 and");
	expect_error("{\"store\": {\"hourz\": \"1d\"}}", "did you mean \"hours\"");
}

static void test_statsd(void **state)
{
	struct config c;

	(void)state;
	assert_int_equal(parse(&c, "{}"), 0);
	assert_string_equal(c.statsd_udp, "127.0.0.1:8125");
	assert_string_equal(c.statsd_socket, "/run/swarmwatch/statsd.sock");
	assert_int_equal(c.nstatsd_tags, 0);
	assert_false(c.statsd_trust_agent_tag);
	assert_int_equal(c.statsd_max_series, 64);
	assert_int_equal(c.statsd_max_values, 16);
	config__free(&c);
	assert_int_equal(parse(&c, "{\"statsd\": {\"udp\": \"\", \"socket\": \"/tmp/s.sock\", "
				   "\"tags\": [\"model\", \"env\"], \"trust_agent_tag\": true, "
				   "\"max_series\": 8, \"max_label_values\": 4}}"),
			 0);
	assert_string_equal(c.statsd_udp, "");
	assert_string_equal(c.statsd_socket, "/tmp/s.sock");
	assert_int_equal(c.nstatsd_tags, 2);
	assert_string_equal(c.statsd_tags[1], "env");
	assert_true(c.statsd_trust_agent_tag);
	assert_int_equal(c.statsd_max_series, 8);
	assert_int_equal(c.statsd_max_values, 4);
	config__free(&c);
	expect_error("{\"statsd\": {\"udp\": \"8125\"}}", "ADDR:PORT on loopback");
	/* What the listener refuses at start, check-config refuses too. */
	expect_error("{\"statsd\": {\"udp\": \"0.0.0.0:8125\"}}", "ADDR:PORT on loopback");
	expect_error("{\"statsd\": {\"udp\": \"[::]:8125\"}}", "ADDR:PORT on loopback");
	expect_error("{\"statsd\": {\"udp\": \"localhost:8125\"}}", "ADDR:PORT on loopback");
	expect_error("{\"statsd\": {\"udp\": \"127.0.0.1:99999\"}}", "ADDR:PORT on loopback");
	assert_int_equal(parse(&c, "{\"statsd\": {\"udp\": \"[::1]:8125\"}}"), 0);
	config__free(&c);
	assert_int_equal(parse(&c, "{\"statsd\": {\"udp\": \"127.0.0.2:0\"}}"), 0);
	config__free(&c);
	expect_error("{\"statsd\": {\"socket\": \"statsd.sock\"}}", "absolute path");
	expect_error("{\"statsd\": {\"tags\": [\"agent\"]}}", "must be a label name");
	expect_error("{\"statsd\": {\"tags\": [\"bad-key\"]}}", "must be a label name");
	expect_error("{\"statsd\": {\"tags\": [\"a\", \"b\", \"c\", \"d\", \"e\"]}}",
		     "more than 4 statsd.tags");
	expect_error("{\"statsd\": {\"max_series\": 0}}", "between 1 and 4096");
	expect_error("{\"statsd\": {\"max_label_values\": 2000}}", "between 1 and 1024");
	expect_error("{\"statsd\": {\"trusted\": true}}", "unknown key \"trusted\"");
	expect_error("{\"statsd\": []}", "\"statsd\" must be an object");
}

static void test_anomaly(void **state)
{
	struct config c;

	(void)state;
	assert_int_equal(parse(&c, "{}"), 0);
	assert_int_equal(c.anomaly_warmup, 0); /* the detector's own warm-up */
	assert_true(c.anomaly_hold_ns == 60000000000ULL);
	config__free(&c);
	assert_int_equal(parse(&c, "{\"anomaly\": {\"warmup\": 20, \"hold\": \"5m\"}}"), 0);
	assert_int_equal(c.anomaly_warmup, 20);
	assert_true(c.anomaly_hold_ns == 300000000000ULL);
	config__free(&c);
	assert_int_equal(parse(&c, "{\"anomaly\": {\"warmup\": 2, \"hold\": \"0s\"}}"), 0);
	assert_int_equal(c.anomaly_warmup, 2);
	assert_true(c.anomaly_hold_ns == 0);
	config__free(&c);
	expect_error("{\"anomaly\": {\"warmup\": 1}}", "between 2 and 1000000");
	expect_error("{\"anomaly\": {\"warmup\": 1000001}}", "between 2 and 1000000");
	expect_error("{\"anomaly\": {\"warmup\": \"10\"}}", "must be an integer");
	expect_error("{\"anomaly\": {\"hold\": \"soon\"}}", "\"hold\" is \"soon\"");
	expect_error("{\"anomaly\": {\"hold\": \"25h\"}}", "up to 24h");
	expect_error("{\"anomaly\": {\"warmpu\": 5}}", "did you mean \"warmup\"");
	expect_error("{\"anomaly\": 5}", "\"anomaly\" must be an object");
	expect_error("{\"anomally\": {}}", "did you mean \"anomaly\"");
}

static void test_bad_rules(void **state)
{
	(void)state;
	expect_error("{\"identity\": {\"rules\": [{\"match\": \"comm\", \"regex\": \"(\"}]}}",
		     "invalid regex");
	expect_error("{\"identity\": {\"rules\": [{\"match\": \"pid\", \"regex\": \"x\"}]}}",
		     "must be cgroup, comm, exe or cmdline");
	expect_error("{\"identity\": {\"rules\": [{\"match\": \"comm\", \"regex\": \"^x$\"}]}}",
		     "needs a \"name\"");
	expect_error("{\"identity\": {\"rules\": [{\"match\": \"comm\", \"regex\": \"(a)\", "
		     "\"name\": \"$3\"}]}}",
		     "uses $3 but the regex has 1 groups");
	expect_error("{\"identity\": {\"rules\": [{\"match\": \"comm\", \"regex\": \"(a)\", "
		     "\"name\": \"x$\"}]}}",
		     "must be followed by a digit");
	expect_error("{\"identity\": {\"rules\": [{\"regex\": \"(a)\"}]}}", "needs \"match\"");
	expect_error("{\"identity\": {\"rules\": [{\"match\": \"comm\", \"regex\": \"(a)\", "
		     "\"tenant\": \"t$2\"}]}}",
		     "tenant \"t$2\" uses $2 but the regex has 1 groups");
	expect_error("{\"identity\": {\"rules\": [{\"match\": \"comm\", \"regex\": \"(a)\", "
		     "\"tenant\": \"\"}]}}",
		     "must be 1-31 bytes");
	expect_error("{\"identity\": {\"rules\": [{\"match\": \"comm\", \"regex\": \"(a)\", "
		     "\"nmae\": \"x\"}]}}",
		     "did you mean \"name\"");
	expect_error("{\"identity\": {\"rules\": {}}}", "must be an array");
	/* Patterns that would make regcomp() take gigabytes are refused up front. */
	expect_error("{\"identity\": {\"rules\": [{\"match\": \"comm\", \"regex\": "
		     "\"^(a+++++++++++)$\"}]}}",
		     "too costly to compile: stacked quantifiers");
	expect_error("{\"identity\": {\"rules\": [{\"match\": \"comm\", \"regex\": "
		     "\"((a{1,999}){1,999})\"}]}}",
		     "repetition bounds add up to more than 1000");
	/*
	 * Bounds too large for a long or an int saturate instead of wrapping: 2^32 once
	 * wrapped to 0 and passed the check, LONG_MAX overflowed the sum.
	 */
	expect_error("{\"identity\": {\"rules\": [{\"match\": \"comm\", \"regex\": "
		     "\"(a{4294967296})\"}]}}",
		     "repetition bound {4294967296} at offset 2 is above 1000");
	expect_error("{\"identity\": {\"rules\": [{\"match\": \"comm\", \"regex\": "
		     "\"(a{1,9223372036854775807})\"}]}}",
		     "repetition bound {1,9223372036854775807} at offset 2 is above 1000");
	expect_error("{\"identity\": {\"rules\": [{\"match\": \"comm\", \"regex\": "
		     "\"(a{4444444444444444444444444444444444444444})\"}]}}",
		     "repetition bound {4444444444444444444444444444444... at offset 2 is above");
	expect_error("{\"identity\": {\"rules\": [{\"match\": \"comm\", \"regex\": "
		     "\"(a{1001,})\"}]}}",
		     "repetition bound {1001,} at offset 2 is above 1000");
}

static void test_tls(void **state)
{
	struct config c;
	char long_name[80];

	(void)state;
	assert_int_equal(parse(&c, "{}"), 0);
	assert_int_equal(c.ntls_agents, 0);
	assert_false(config__tls_agent(&c, "planner"));
	config__free(&c);
	assert_int_equal(parse(&c, "{\"tls\": {\"agents\": [\"llm-*\", \"planner\"]}}"), 0);
	assert_int_equal(c.ntls_agents, 2);
	assert_true(config__tls_agent(&c, "llm-gateway"));
	assert_true(config__tls_agent(&c, "planner"));
	assert_false(config__tls_agent(&c, "planner-2"));
	assert_false(config__tls_agent(&c, "other"));
	config__free(&c);
	expect_error("{\"tls\": []}", "\"tls\" must be an object");
	expect_error("{\"tls\": {\"agent\": []}}", "unknown key");
	expect_error("{\"tls\": {\"agents\": \"llm-*\"}}", "must be an array");
	expect_error("{\"tls\": {\"agents\": [\"\"]}}", "tls.agents[0] must be");
	expect_error("{\"tls\": {\"agents\": [\"a\", 3]}}", "tls.agents[1] must be");
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = 0;
	{
		char text[160];

		snprintf(text, sizeof(text), "{\"tls\": {\"agents\": [\"%s\"]}}", long_name);
		expect_error(text, "1 to 31 characters");
	}
}

/* IPv4 peers reached through IPv6 sockets (::ffff:a.b.c.d) are IPv4, for rules and labels. */
static void test_upstreams_mapped(void **state)
{
	__u32 a[4] = {0};
	struct config c;
	char label[64];

	(void)state;
	assert_int_equal(parse(&c,
			       "{\"upstreams\": [\n"
			       " {\"name\": \"lo\", \"cidr\": \"127.0.0.0/8\", \"port\": 8080},\n"
			       " {\"name\": \"m\", \"cidr\": \"::ffff:10.2.0.0/112\"}]}"),
			 0);
	inet_pton(AF_INET6, "::ffff:127.0.0.1", a);
	config__upstream_label(&c, AF_INET6, a, 8080, NULL, label, sizeof(label));
	assert_string_equal(label, "lo");
	config__upstream_label(&c, AF_INET6, a, 80, NULL, label, sizeof(label));
	assert_string_equal(label, "127.0.0.1:80");
	config__upstream_label(&c, AF_INET6, a, 0, NULL, label, sizeof(label));
	assert_string_equal(label, "127.0.0.1");
	/* A rule written as a mapped block is the IPv4 block: it matches both forms. */
	inet_pton(AF_INET6, "::ffff:10.2.3.4", a);
	config__upstream_label(&c, AF_INET6, a, 1, NULL, label, sizeof(label));
	assert_string_equal(label, "m");
	memset(a, 0, sizeof(a));
	inet_pton(AF_INET, "10.2.3.4", a);
	config__upstream_label(&c, AF_INET, a, 1, NULL, label, sizeof(label));
	assert_string_equal(label, "m");
	inet_pton(AF_INET, "10.3.0.1", a);
	config__upstream_label(&c, AF_INET, a, 1, NULL, label, sizeof(label));
	assert_string_equal(label, "10.3.0.1:1");
	/* A host name from the client's SNI or Host names the peer, after configured blocks. */
	inet_pton(AF_INET, "10.2.9.9", a);
	config__upstream_label(&c, AF_INET, a, 443, "api.openai.com", label, sizeof(label));
	assert_string_equal(label, "m");
	inet_pton(AF_INET, "192.0.2.7", a);
	config__upstream_label(&c, AF_INET, a, 443, "api.openai.com", label, sizeof(label));
	assert_string_equal(label, "api.openai.com:443");
	config__upstream_label(&c, AF_INET, a, 443, "", label, sizeof(label));
	assert_string_equal(label, "192.0.2.7:443");
	/* Not mapped: ::127.0.0.1 (deprecated IPv4-compatible) stays IPv6. */
	inet_pton(AF_INET6, "::127.0.0.1", a);
	config__upstream_label(&c, AF_INET6, a, 8080, NULL, label, sizeof(label));
	assert_string_equal(label, "[::127.0.0.1]:8080");
	config__free(&c);
}

static void test_upstreams(void **state)
{
	__u32 a[4] = {0}, b[4] = {0};
	struct config c;
	char label[64];

	(void)state;
	assert_int_equal(
		parse(&c, "{\"upstreams\": [\n"
			  " {\"name\": \"llm-api\", \"cidr\": \"10.1.0.0/16\", \"port\": 443},\n"
			  " {\"name\": \"any-10\", \"cidr\": \"10.0.0.0/8\"},\n"
			  " {\"name\": \"v6-local\", \"cidr\": \"::1\"}],\n"
			  " \"top_upstreams\": 3}"),
		0);
	assert_int_equal(c.nupstreams, 3);
	assert_int_equal(c.top_upstreams, 3);
	inet_pton(AF_INET, "10.1.2.3", a);
	config__upstream_label(&c, AF_INET, a, 443, NULL, label, sizeof(label));
	assert_string_equal(label, "llm-api");
	/* Same block, another port: the next rule that matches. */
	config__upstream_label(&c, AF_INET, a, 80, NULL, label, sizeof(label));
	assert_string_equal(label, "any-10");
	inet_pton(AF_INET, "192.168.1.9", a);
	config__upstream_label(&c, AF_INET, a, 8080, NULL, label, sizeof(label));
	assert_string_equal(label, "192.168.1.9:8080");
	inet_pton(AF_INET6, "::1", b);
	config__upstream_label(&c, AF_INET6, b, 9, NULL, label, sizeof(label));
	assert_string_equal(label, "v6-local");
	inet_pton(AF_INET6, "fe80::2", b);
	config__upstream_label(&c, AF_INET6, b, 9, NULL, label, sizeof(label));
	assert_string_equal(label, "[fe80::2]:9");
	config__upstream_label(&c, AF_INET6, b, 0, NULL, label, sizeof(label));
	assert_string_equal(label, "fe80::2");
	config__free(&c);
	/* Prefix boundaries: /12 keeps 10.0-10.15. */
	assert_int_equal(
		parse(&c, "{\"upstreams\": [{\"name\": \"x\", \"cidr\": \"10.0.0.0/12\"}]}"), 0);
	inet_pton(AF_INET, "10.15.255.255", a);
	config__upstream_label(&c, AF_INET, a, 1, NULL, label, sizeof(label));
	assert_string_equal(label, "x");
	inet_pton(AF_INET, "10.16.0.0", a);
	config__upstream_label(&c, AF_INET, a, 1, NULL, label, sizeof(label));
	assert_string_equal(label, "10.16.0.0:1");
	config__free(&c);
	expect_error("{\"upstreams\": [{\"name\": \"x\", \"cidr\": \"10.0.0.0/33\"}]}",
		     "not an address or CIDR block");
	expect_error("{\"upstreams\": [{\"name\": \"x\", \"cidr\": \"nope\"}]}",
		     "not an address or CIDR block");
	expect_error("{\"upstreams\": [{\"name\": \"x\", \"cidr\": "
		     "\"10.0.0.0/18446744073709551624\"}]}",
		     "\"10.0.0.0/18446744073709551624\" is not an address or CIDR block");
	expect_error("{\"upstreams\": [{\"name\": \"x\", \"cidr\": \"10.0.0.0/+8\"}]}",
		     "not an address or CIDR block");
	expect_error("{\"upstreams\": [{\"cidr\": \"10.0.0.1\"}]}", "needs a \"name\"");
	expect_error("{\"upstreams\": [{\"name\": \"x\"}]}", "needs a \"cidr\"");
	expect_error("{\"upstreams\": [{\"name\": \"llm\\napi\", \"cidr\": \"::1\"}]}",
		     "upstreams[0]: \"name\" has a control character");
	expect_error("{\"upstreams\": [{\"name\": \"x\", \"cidr\": \"::1\", \"port\": 0}]}",
		     "between 1 and 65535");
	expect_error("{\"upstreams\": [{\"name\": \"x\", \"cidr\": \"::1\", \"prot\": 1}]}",
		     "did you mean \"port\"");
	expect_error("{\"top_upstreams\": 0}", "between 1 and 64");
}

static void test_overhead_budget(void **state)
{
	struct config c;

	(void)state;
	assert_int_equal(parse(&c, "{}"), 0);
	assert_true(c.overhead_budget == 0.01); /* 1 % of host CPU by default */
	config__free(&c);
	assert_int_equal(parse(&c, "{\"overhead_budget\": 2.5}"), 0);
	assert_true(c.overhead_budget == 0.025);
	config__free(&c);
	assert_int_equal(parse(&c, "{\"overhead_budget\": 0}"), 0);
	assert_true(c.overhead_budget == 0); /* no bound */
	config__free(&c);
	assert_int_equal(parse(&c, "{\"overhead_budget\": 100}"), 0);
	assert_true(c.overhead_budget == 1);
	config__free(&c);
	expect_error("{\"overhead_budget\": -1}", "between 0 and 100");
	expect_error("{\"overhead_budget\": 101}", "between 0 and 100");
	expect_error("{\"overhead_budget\": \"1%\"}", "must be a number");
	expect_error("{\"overhead_budgett\": 1}", "did you mean \"overhead_budget\"");
}

static void test_duration(void **state)
{
	__u64 ns;

	(void)state;
	assert_int_equal(config__parse_duration("1s", &ns), 0);
	assert_true(ns == 1000000000ULL);
	assert_int_equal(config__parse_duration("1.5m", &ns), 0);
	assert_true(ns == 90000000000ULL);
	assert_int_equal(config__parse_duration("2", &ns), 0);
	assert_true(ns == 2000000000ULL);
	assert_int_equal(config__parse_duration("100us", &ns), 0);
	assert_true(ns == 100000ULL);
	assert_int_equal(config__parse_duration("", &ns), -EINVAL);
	assert_int_equal(config__parse_duration("-1s", &ns), -EINVAL);
	assert_int_equal(config__parse_duration("1 s", &ns), -EINVAL);
	assert_int_equal(config__parse_duration("14d", &ns), 0);
	assert_true(ns == 14 * 86400000000000ULL);
	assert_int_equal(config__parse_duration("1w", &ns), -EINVAL);
	assert_int_equal(config__parse_duration("0.1h", &ns), 0);
	assert_true(ns == 360000000000ULL);
	assert_int_equal(config__parse_duration("1.0000000005s", &ns), 0);
	assert_true(ns == 1000000000ULL);
	assert_int_equal(config__parse_duration("1000000000000000000ns", &ns), 0);
	assert_true(ns == 1000000000000000000ULL);
	assert_int_equal(config__parse_duration("277777h", &ns), 0);
	assert_true(ns == 277777ULL * 3600000000000ULL);
	/* Only decimal digits: no NaN (its cast to an integer is undefined), hex or exponents. */
	assert_int_equal(config__parse_duration("nan", &ns), -EINVAL);
	assert_int_equal(config__parse_duration("nans", &ns), -EINVAL);
	assert_int_equal(config__parse_duration("inf", &ns), -EINVAL);
	assert_int_equal(config__parse_duration("0x10s", &ns), -EINVAL);
	assert_int_equal(config__parse_duration("1e3ms", &ns), -EINVAL);
	assert_int_equal(config__parse_duration("+1s", &ns), -EINVAL);
	assert_int_equal(config__parse_duration(" 1s", &ns), -EINVAL);
	assert_int_equal(config__parse_duration("1.s", &ns), -EINVAL);
	assert_int_equal(config__parse_duration(".5s", &ns), -EINVAL);
	/* Above 10^18 ns, however written, is out of range rather than wrapped. */
	assert_int_equal(config__parse_duration("1000000000000000001ns", &ns), -ERANGE);
	assert_int_equal(config__parse_duration("277778h", &ns), -ERANGE);
	assert_int_equal(config__parse_duration("18446744073709551617s", &ns), -ERANGE);
	assert_int_equal(config__parse_duration("99999999999999999999999999h", &ns), -ERANGE);
	expect_error("{\"interval\": \"99999999999999999999h\"}",
		     "\"interval\" is \"99999999999999999999h\", must be a duration");
	expect_error("{\"anomaly\": {\"hold\": \"nan\"}}", "\"hold\" is \"nan\"");
}

static void test_load_file(void **state)
{
	char path[] = "/tmp/swarmwatch-config-XXXXXX";
	struct config c;
	FILE *f;
	int fd;

	(void)state;
	assert_int_equal(config__load(&c, "/nonexistent/swarmwatch.json", err, sizeof(err)),
			 -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/swarmwatch.json: cannot read"));
	config__free(&c);
	/* A directory opens and fails at the read: that too is said (the message was empty). */
	err[0] = 0;
	assert_int_equal(config__load(&c, "/tmp", err, sizeof(err)), -EISDIR);
	assert_non_null(strstr(err, "/tmp: cannot read: Is a directory"));
	config__free(&c);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs("{\n  \"max_agents\": 4,\n  \"listn\": \"x:1\"\n}\n", f);
	fclose(f);
	assert_int_equal(config__load(&c, path, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, ":3:3: unknown key \"listn\""));
	assert_non_null(strstr(err, path));
	config__free(&c);
	unlink(path);
}

static void test_alerts(void **state)
{
	struct config c;
	uint32_t i;

	(void)state;
	assert_int_equal(
		parse(&c, "{\"receivers\": [{\"name\": \"ops\", \"url\": \"http://h/x\", "
			  "\"secret\": \"k\", \"timeout\": \"3s\"}, {\"name\": \"am\", "
			  "\"type\": \"alertmanager\", \"url\": \"http://127.0.0.1:9093\"}, "
			  "{\"name\": \"mail\", \"type\": \"email\", \"url\": "
			  "\"smtp://127.0.0.1:25\", \"from\": \"a@b\", \"to\": \"c@d\"}],"
			  " \"notify\": {\"retry_max\": \"5s\"},"
			  " \"alerts\": {\"disable\": [\"AgentLoadHigh\"], \"cooldown\": \"5s\","
			  " \"incident_window\": \"2m\","
			  " \"rules\": [{\"name\": \"AgentErrorRatioHigh\", \"expr\": "
			  "\"error_ratio > 10%\", \"for\": \"5s\", \"severity\": \"critical\"},"
			  " {\"name\": \"Slow\", \"expr\": \"p99(request_duration) > 2s\","
			  " \"labels\": {\"team\": \"a\"}}],"
			  " \"routes\": [{\"receiver\": \"ops\", \"match\": {\"agent\": \"x\"},"
			  " \"group_by\": [\"alertname\"], \"group_wait\": \"10s\"},"
			  " {\"receiver\": \"am\"}]}}"),
		0);
	assert_int_equal(c.notify->nreceivers, 3);
	assert_int_equal(c.notify->receivers[0].channel, NOTIFY_WEBHOOK);
	assert_int_equal(c.notify->receivers[0].timeout_ms, 3000);
	assert_string_equal(c.notify->receivers[0].secret, "k");
	assert_int_equal(c.notify->receivers[2].channel, NOTIFY_EMAIL);
	assert_int_equal(c.notify->backoff_max_ms, 5000);
	assert_int_equal(c.alerts->cooldown_ms, 5000);
	assert_true(c.incident_window_ns == 120000000000ULL);
	/* The default rule of that name is replaced; the new one comes after the defaults. */
	for (i = 0; i < c.alerts->nrules; i++)
		if (!strcmp(c.alerts->rules[i].name, "AgentErrorRatioHigh"))
			break;
	assert_true(i < c.alerts->nrules);
	assert_int_equal(c.alerts->rules[i].severity, ALERT_CRITICAL);
	assert_int_equal(c.alerts->rules[i].for_ms, 5000);
	assert_string_equal(c.alerts->rules[c.alerts->nrules - 1].name, "Slow");
	assert_int_equal(c.alerts->rules[c.alerts->nrules - 1].nannotations, 1); /* a summary */
	for (i = 0; i < c.alerts->nrules; i++)
		if (!strcmp(c.alerts->rules[i].name, "AgentLoadHigh"))
			assert_true(c.alerts->rules[i].disabled);
	assert_int_equal(c.alerts->nroutes, 2);
	assert_int_equal(c.alerts->routes[0].ngroup_by, 1);
	assert_int_equal(c.alerts->routes[0].group_wait_ms, 10000);
	assert_false(c.alerts->routes[0].push);
	assert_true(c.alerts->routes[1].push); /* an Alertmanager is pushed to */
	assert_int_equal(config__add_webhook(&c, "ftp://x"), -EINVAL);
	/* The configuration's own "webhook" receiver: refused before it makes two of one name. */
	{
		struct config w;

		assert_int_equal(parse(&w, "{\"receivers\": [{\"name\": \"webhook\", \"url\": "
					   "\"http://h/\"}]}"),
				 0);
		assert_int_equal(config__add_webhook(&w, "http://127.0.0.1:1/h"), -EEXIST);
		assert_int_equal(w.notify->nreceivers, 1);
		config__free(&w);
	}
	assert_int_equal(config__add_webhook(&c, "http://127.0.0.1:1/h"), 0);
	assert_string_equal(c.alerts->routes[0].receiver, "webhook");
	assert_true(c.alerts->routes[0].cont);
	config__free(&c);

	/* Receivers without routes: each gets every alert. */
	assert_int_equal(parse(&c, "{\"receivers\": [{\"name\": \"a\", \"url\": \"http://h/\"},"
				   " {\"name\": \"b\", \"url\": \"http://h/\"}]}"),
			 0);
	assert_int_equal(c.alerts->nroutes, 2);
	assert_true(c.alerts->routes[0].cont);
	config__free(&c);
}

/* Pools take pool_defaults, then their own keys; rules replace the default set. */
static void test_pools(void **state)
{
	const struct scale_pool *a, *b;
	struct config c;

	(void)state;
	assert_int_equal(parse(&c,
			       "{\"pool_defaults\": {\"max_replicas\": 6, \"cooldown\": \"2m\","
			       " \"webhook\": \"http://127.0.0.1:9/scale\"},\n"
			       " \"pools\": {\"coder\": {\"min_replicas\": 2, \"max_replicas\": 8,"
			       " \"command\": [\"/bin/echo\", \"{pool}\", \"{desired}\"],"
			       " \"command_timeout\": \"3s\", \"disable\": [\"load_low\"]},\n"
			       "  \"planner\": {\"scale_down_window\": \"60s\", \"tolerance\": 0.2,"
			       " \"rules\": [{\"name\": \"busy\", \"expr\": \"load > 0.5 and "
			       "trend(load, 2m) > 0\", \"action\": \"up 2\", \"priority\": 7}]}}}"),
			 0);
	assert_int_equal(c.pools->npools, 2);
	a = &c.pools->pools[0];
	b = &c.pools->pools[1];
	assert_string_equal(a->name, "coder");
	assert_int_equal(a->min_replicas, 2);
	assert_int_equal(a->max_replicas, 8);
	assert_string_equal(a->webhook, "http://127.0.0.1:9/scale");
	assert_int_equal(a->ncommand, 3);
	assert_string_equal(a->command[2], "{desired}");
	assert_int_equal(a->command_timeout_ms, 3000);
	assert_int_equal(a->nrules, 7);
	assert_int_equal(a->rules[0].cooldown_ms, 120000);
	assert_true(a->rules[6].disabled);
	assert_string_equal(a->rules[6].name, "load_low");
	assert_int_equal(a->down_window_ms, 300000);
	assert_string_equal(b->name, "planner");
	assert_int_equal(b->min_replicas, 1);
	assert_int_equal(b->max_replicas, 6);
	assert_int_equal(b->down_window_ms, 60000);
	assert_true(b->tolerance == 0.2);
	assert_int_equal(b->nrules, 1);
	assert_int_equal(b->rules[0].priority, 7);
	assert_int_equal(b->rules[0].cond.n, 2);
	assert_int_equal(b->rules[0].cond.term[1].q.fn, ALERT_FN_TREND);
	assert_int_equal(b->rules[0].action, SCALE_BY);
	assert_int_equal(b->rules[0].cooldown_ms, 120000);
	/* Breakers and routing: defaults, then what the pool says. */
	assert_int_equal(a->routing, WEIGHTS_QUALITY);
	assert_int_equal(a->breaker.min_requests, 10);
	assert_int_equal(a->breaker.open_wait_ms, 30000);
	config__free(&c);
	assert_int_equal(parse(&c, "{\"pools\": {\"coder\": {\"routing\": \"weighted\","
				   " \"weights\": {\"coder-0\": 3, \"coder-1\": 0.5},"
				   " \"breaker\": {\"error_ratio\": 0.25, \"min_requests\": 4,"
				   " \"consecutive_failures\": 0, \"window\": \"10s\","
				   " \"open_wait\": \"10m\", \"half_open_successes\": 1}}}}"),
			 0);
	a = &c.pools->pools[0];
	assert_int_equal(a->routing, WEIGHTS_WEIGHTED);
	assert_int_equal(a->nweights, 2);
	assert_string_equal(a->weights[1].instance, "coder-1");
	assert_true(a->weights[1].weight == 0.5);
	assert_true(a->breaker.error_ratio == 0.25);
	assert_int_equal(a->breaker.min_requests, 4);
	assert_int_equal(a->breaker.consecutive_failures, 0);
	assert_int_equal(a->breaker.window_ms, 10000);
	/* A wait above the default cap raises the cap with it. */
	assert_int_equal(a->breaker.open_wait_ms, 600000);
	assert_int_equal(a->breaker.open_wait_max_ms, 600000);
	assert_int_equal(a->breaker.half_open_successes, 1);
	config__free(&c);
	/* No pools: no scaling. */
	assert_int_equal(parse(&c, "{}"), 0);
	assert_int_equal(c.pools->npools, 0);
	config__free(&c);
}

static void test_pools_errors(void **state)
{
	(void)state;
	/* A condition's and an action's mistakes are placed in the file, at their character. */
	expect_error(
		"{\"pools\": {\"coder\": {\"rules\": [\n"
		"  {\"name\": \"r\", \"expr\": \"load > 0.8 an x > 1\", \"action\": \"up 1\"}]}}}",
		"test.json:2:37: pools.coder.rules[0] \"r\": condition: expected \"and\", "
		"\"or\" or the end, found \"an\"");
	expect_error("{\"pools\": {\"coder\": {\"rules\": [\n"
		     "  {\"name\": \"r\", \"expr\": \"load > 0.8\", \"action\": \"up x\"}]}}}",
		     "test.json:2:53: pools.coder.rules[0] \"r\": action: expected a number after "
		     "\"up\"");
	expect_error("{\"pools\": {\"coder\": {\"min_replicas\": 5, \"max_replicas\": 2}}}",
		     "test.json:1:22: pools.coder: min_replicas 5 is above max_replicas 2");
	expect_error("{\"pools\": {\"a\": {}, \"coder\": {\"max_replica\": 2}}}",
		     "test.json:1:31: unknown key \"max_replica\" in coder (did you mean "
		     "\"max_replicas\"?)");
	expect_error("{\"pools\": {\"coder\": {\"webhook\": \"ftp://x\"}}}",
		     "webhook \"ftp://x\" must be an http:// or https:// URL");
	expect_error("{\"pools\": {\"coder\": {\"command\": \"scale.sh\"}}}",
		     "command must be an array of 1 to 8 strings");
	expect_error("{\"pools\": {\"coder\": {\"routing\": \"random\"}}}",
		     "pools.coder: routing \"random\" is none of quality, round_robin, weighted, "
		     "least_connections");
	expect_error("{\"pools\": {\"coder\": {\"breaker\": {\"error_ratio\": 2}}}}",
		     "pools.coder.breaker: error_ratio must be above 0 and at most 1 (0.5)");
	expect_error("{\"pools\": {\"coder\": {\"breaker\": {\"open_wait\": \"1m\", "
		     "\"open_wait_max\": \"30s\"}}}}",
		     "open_wait_max at least open_wait");
	expect_error("{\"pools\": {\"coder\": {\"breaker\": {\"min_request\": 2}}}}",
		     "unknown key \"min_request\" in breaker (did you mean \"min_requests\"?)");
	expect_error("{\"pools\": {\"coder\": {\"weights\": {\"coder-0\": -1}}}}",
		     "pools.coder.weights: \"coder-0\" must be an instance name");
	expect_error("{\"pools\": {\"coder\": {\"disable\": [\"nosuch\"]}}}",
		     "pools.coder.disable[0]: no rule of the pool has that name");
	expect_error(
		"{\"pools\": {\"coder\": {\"rules\": [{\"name\": \"r\", \"expr\": \"x > 1\"}]}}}",
		"needs a \"name\", an \"expr\" and an \"action\"");
	expect_error("{\"pools\": {\"coder\": {\"rules\": [{\"name\": \"r\", \"expr\": \"x > 1\", "
		     "\"action\": \"up 1\"}, {\"name\": \"r\", \"expr\": \"x > 2\", \"action\": "
		     "\"up 1\"}]}}}",
		     "two rules named \"r\"");
	expect_error("{\"pool_defaults\": {\"tolerance\": 2}}",
		     "pools.pool_defaults: tolerance must be a number from 0 to 1");
	expect_error("{\"pools\": []}", "\"pools\" must be an object");
}

static void test_alerts_errors(void **state)
{
	(void)state;
	/* Two rules of the file with one name: the second silently replaced the first. */
	expect_error("{\"alerts\": {\"rules\": [{\"name\": \"X\", \"expr\": \"load > 1\"},"
		     " {\"name\": \"X\", \"expr\": \"load > 2\"}]}}",
		     "alerts.rules[1]: a rule named \"X\" comes before (alerts.rules[0])");
	/* A rule without a name makes alerts with alertname="". */
	expect_error("{\"alerts\": {\"rules\": [{\"name\": \"\", \"expr\": \"load > 1\"}]}}",
		     "alerts.rules[0] needs a \"name\"");
	/* A condition's mistake is placed in the file, at its character. */
	expect_error(
		"{\"alerts\": {\"rules\": [\n  {\"name\": \"X\", \"expr\": \"error_ratio >\"}]}}",
		"test.json:2:39: alerts.rules[0] \"X\": condition: expected a number, found "
		"the end");
	expect_error("{\"alerts\": {\"rules\": [{\"name\": \"X\", \"expr\": "
		     "\"p95(d{up=\\\"a\\\"}) > 5ps\"}]}}",
		     "test.json:1:66: alerts.rules[0] \"X\": condition: unknown unit \"ps\"");
	expect_error("{\"alerts\": {\"rules\": [{\"name\": \"X\"}]}}", "needs a \"name\" and an "
								       "\"expr\"");
	expect_error("{\"alerts\": {\"rules\": [{\"name\": \"X\", \"expr\": \"x > 1\", "
		     "\"severity\": \"fatal\"}]}}",
		     "severity \"fatal\" is not info, warning, critical or emergency");
	expect_error("{\"alerts\": {\"rules\": [{\"name\": \"X\", \"expr\": \"x > 1\", "
		     "\"annotations\": {\"summary\": \"{{agnt}}\"}}]}}",
		     "unknown template variable {{agnt}}");
	expect_error("{\"alerts\": {\"rules\": [{\"name\": \"X\", \"expr\": \"x > 1\", \"fr\": "
		     "\"1s\"}]}}",
		     "did you mean \"for\"");
	expect_error("{\"alerts\": {\"incident_window\": \"0s\"}}", "from 1s to 1h (\"1m\")");
	expect_error("{\"alerts\": {\"disable\": [\"NoSuchRule\"]}}",
		     "no rule named \"NoSuchRule\"");
	expect_error("{\"alerts\": {\"routes\": [{\"receiver\": \"nobody\"}]}}",
		     "no receiver named \"nobody\"");
	expect_error("{\"alerts\": {\"max_per_hour\": 99}}", "between 0 and 32");
	expect_error("{\"alerts\": {\"resend\": \"10ms\"}}", "at least 1s");
	expect_error("{\"receivers\": [{\"name\": \"a\", \"url\": \"ftp://x\"}]}",
		     "must start with http:// or https://");
	expect_error(
		"{\"receivers\": [{\"name\": \"a\", \"type\": \"pager\", \"url\": \"http://x\"}]}",
		"type \"pager\" is not webhook, alertmanager, slack or email");
	expect_error("{\"receivers\": [{\"name\": \"a\", \"type\": \"email\", \"url\": "
		     "\"smtp://x\"}]}",
		     "needs \"from\" and \"to\"");
	expect_error("{\"receivers\": [{\"name\": \"a\", \"url\": \"http://x\"}, {\"name\": \"a\", "
		     "\"url\": \"http://y\"}]}",
		     "a receiver named \"a\" comes before");
	expect_error("{\"notify\": {\"retry_min\": \"10s\", \"retry_max\": \"1s\"}}",
		     "must not be below");
	expect_error("{\"alerts\": {\"external_url\": \"ftp://h\"}}", "must be an http(s):// URL");
}

/* The cost model: prices, per-agent overrides merged on the base, the emergency action. */
static void test_cost(void **state)
{
	const struct cost_model *m;
	struct config c;
	uint32_t i;

	(void)state;
	assert_int_equal(parse(&c, "{}"), 0);
	assert_true(c.cost->enabled);
	assert_true(c.cost->base.daily_budget_usd == 10);
	assert_true(c.cost->base.cpu_second_usd == 0 && c.cost->base.nprices == 0);
	assert_true(c.cost->warning_ratio == 0.8 && c.cost->emergency_ratio == 0.95);
	config__free(&c);
	assert_int_equal(
		parse(&c,
		      "{\"cost\": {\"cpu_second_usd\": 0.00002, \"gb_sent_usd\": 0.09,\n"
		      " \"upstreams\": {\"llm-api\": {\"request_usd\": 0.002},\n"
		      "               \"*.example.com:443\": {\"request_usd\": 0.01}},\n"
		      " \"daily_budget_usd\": 5, \"warning_ratio\": 0.7,\n"
		      " \"agents\": {\"coder\": {\"daily_budget_usd\": 20,\n"
		      "   \"upstreams\": {\"llm-api\": {\"request_usd\": 0.003}}}},\n"
		      " \"emergency\": {\"command\": [\"/bin/echo\", \"{agent}\"], \"timeout\": "
		      "\"2s\"}}}"),
		0);
	m = cost__model(c.cost, "planner");
	assert_true(m->cpu_second_usd == 0.00002 && m->gb_sent_usd == 0.09);
	assert_true(m->daily_budget_usd == 5 && m->nprices == 2);
	m = cost__model(c.cost, "coder");
	assert_true(m->daily_budget_usd == 20 && m->cpu_second_usd == 0.00002);
	assert_int_equal(m->nprices, 2);
	assert_string_equal(m->prices[0].upstream, "llm-api");
	assert_true(m->prices[0].request_usd == 0.003);
	assert_int_equal(c.cost->emergency.argc, 2);
	assert_string_equal(c.cost->emergency.argv[1], "{agent}");
	assert_int_equal(c.cost->emergency.timeout_ms, 2000);
	/* The built-in budget rule follows the configured ratio. */
	for (i = 0; i < c.alerts->nrules && strcmp(c.alerts->rules[i].name, "AgentBudgetWarning");
	     i++)
		;
	assert_true(i < c.alerts->nrules);
	assert_string_equal(c.alerts->rules[i].expr_text, "budget_usage_ratio >= 70%");
	config__free(&c);
	expect_error("{\"cost\": {\"cpu_second_usd\": -1}}", "cost.cpu_second_usd must be a");
	expect_error("{\"cost\": {\"daily_budget_uds\": 3}}", "did you mean \"daily_budget_usd\"");
	expect_error("{\"cost\": {\"daily_budget_usd\": 0}}", "must be more than 0");
	expect_error("{\"cost\": {\"warning_ratio\": 0.96}}", "must be above cost.warning_ratio");
	expect_error("{\"cost\": {\"emergency\": {\"command\": [\"stop-pool\"]}}}",
		     "must be an absolute path");
	expect_error("{\"cost\": {\"upstreams\": {\"llm\": {}}}}", "needs \"request_usd\"");
	expect_error("{\"cost\": {\"agents\": {\"coder\": {\"warning_ratio\": 0.5}}}}",
		     "unknown key \"warning_ratio\" in cost.agents.coder");
	/* Which LLM spend counts: auto by default, per agent too. */
	assert_int_equal(parse(&c, "{\"cost\": {\"llm\": \"wire\", \"agents\": {\"coder\": "
				   "{\"llm\": \"app\"}}}}"),
			 0);
	assert_int_equal(cost__model(c.cost, "planner")->llm, COST_LLM_WIRE);
	assert_int_equal(cost__model(c.cost, "coder")->llm, COST_LLM_APP);
	config__free(&c);
	assert_int_equal(parse(&c, "{}"), 0);
	assert_int_equal(c.cost->base.llm, COST_LLM_AUTO);
	config__free(&c);
	expect_error("{\"cost\": {\"llm\": \"tokens\"}}",
		     "cost.llm must be \"auto\", \"wire\", \"app\" or \"both\"");
	expect_error("{\"cost\": {\"llm\": 1}}", "cost.llm must be");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_builtin),
		cmocka_unit_test(test_empty_object_defaults),
		cmocka_unit_test(test_unset_keys_keep_defaults),
		cmocka_unit_test(test_rules_replace_defaults),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_syntax_error_position),
		cmocka_unit_test(test_unknown_key_suggestion),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_bad_rules),
		cmocka_unit_test(test_alerts),
		cmocka_unit_test(test_alerts_errors),
		cmocka_unit_test(test_pools),
		cmocka_unit_test(test_pools_errors),
		cmocka_unit_test(test_anomaly),
		cmocka_unit_test(test_store),
		cmocka_unit_test(test_statsd),
		cmocka_unit_test(test_upstreams),
		cmocka_unit_test(test_upstreams_mapped),
		cmocka_unit_test(test_tls),
		cmocka_unit_test(test_overhead_budget),
		cmocka_unit_test(test_duration),
		cmocka_unit_test(test_load_file),
		cmocka_unit_test(test_cost),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
