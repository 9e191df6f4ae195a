// SPDX-License-Identifier: MIT
/* `swarmwatch check-config`: parse and validate a configuration without starting anything. */
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "config.h"

int cmd_check_config(int argc, char **argv)
{
	struct config cfg;

	if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		printf("usage: swarmwatch check-config FILE\n"
		       "       swarmwatch check-config --defaults\n\n"
		       "Parses and validates a configuration file without starting anything.\n"
		       "Exit status 0 when it is valid; otherwise one line says what is wrong.\n"
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
	printf("%s: ok (%d cgroup rules, %d command rules, max_agents %u, interval %.3gs)\n",
	       argv[1], cfg.ncgroup_rules, cfg.nrules - cfg.ncgroup_rules, cfg.max_agents,
	       cfg.interval_ns / 1e9);
	config__free(&cfg);
	return 0;
}
