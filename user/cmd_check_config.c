// SPDX-License-Identifier: MIT
/* `swarmwatch check-config`: parse and validate a configuration without starting anything. */
#include <stdio.h>
#include <string.h>

#include "alerting.h"
#include "cmd.h"
#include "config.h"
#include "log.h"

/*
 * Prints the identity rules in force, in the order they are tried (first
 * match wins), and where they come from: one line each, "N. MATCH REGEX -> NAME".
 */
static void print_rules(const struct config *c)
{
	static const char *const match[] = {[RULE_CGROUP] = "cgroup",
					    [RULE_COMM] = "comm",
					    [RULE_EXE] = "exe",
					    [RULE_CMDLINE] = "cmdline"};
	int i, n = 1;

	printf("identity rules in force, first match wins (%s):\n",
	       c->builtin_rules ? "built-in, the file sets no identity.rules" : "from the file");
	if (c->marker)
		printf("  %d. marker SWARMWATCH_AGENT=<name> -> <name>\n", n++);
	for (i = 0; i < c->nrules; i++)
		printf("  %d. %s %s -> %s\n", n++, match[c->rules[i].match], c->rules[i].regex,
		       c->rules[i].name);
	if (n == 1)
		printf("  none: no process is an agent\n");
}

int cmd_check_config(int argc, char **argv)
{
	struct config cfg;
	char err[512];

	if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		printf("usage: swarmwatch check-config FILE\n"
		       "       swarmwatch check-config --defaults\n\n"
		       "Parses and validates a configuration file without starting anything.\n"
		       "Exit status 0 when it is valid, and then prints the identity rules in\n"
		       "force; otherwise one line says what is wrong. A key the file does not set\n"
		       "keeps its built-in default (identity.rules included; [] means none).\n"
		       "--defaults prints the built-in configuration, a starting point for a file.\n");
		return 0;
	}
	if (argc == 2 && !strcmp(argv[1], "--defaults")) {
		fputs(config__builtin, stdout);
		return 0;
	}
	if (argc != 2) {
		fprintf(stderr, "usage: swarmwatch check-config FILE\n");
		return 2;
	}
	if (cmd__load_config(&cfg, argv[1])) {
		config__free(&cfg);
		return 1;
	}
	if (alerting__check(&cfg, err, sizeof(err))) {
		pr_err("config: %s: %s", argv[1], err);
		config__free(&cfg);
		return 1;
	}
	printf("%s: ok (%d cgroup rules, %d command rules, max_agents %u, interval %.3gs, "
	       "%u alert rules%s, %u receivers)\n",
	       argv[1], cfg.ncgroup_rules, cfg.nrules - cfg.ncgroup_rules, cfg.max_agents,
	       cfg.interval_ns / 1e9, cfg.alerts->nrules, cfg.alerts_on ? "" : " (off)",
	       cfg.notify->nreceivers);
	print_rules(&cfg);
	config__free(&cfg);
	return 0;
}
