// SPDX-License-Identifier: MIT
/* swarmwatch command line: a small dispatch table of subcommands. */
#include <stdio.h>
#include <string.h>

#include "cmd.h"

static int cmd_help(int argc, char **argv);

static const struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
} commands[] = {
	{"run", cmd_run, "watch the agents on this host and serve metrics"},
	{"check-config", cmd_check_config, "validate a configuration file"},
	{"detect", cmd_detect, "score a timestamp,value CSV with the anomaly detectors"},
	{"query", cmd_query, "ask a running swarmwatch for the history of a metric"},
	{"top", cmd_top, "a live terminal view of the agents (local or --url)"},
	{"version", cmd_version, "print the version"},
	{"help", cmd_help, "this text"},
};

static int cmd_help(int argc, char **argv)
{
	size_t i;

	(void)argc;
	(void)argv;
	printf("usage: swarmwatch COMMAND [ARGS]\n\n"
	       "swarmwatch watches the AI agents running on this host through eBPF and exports\n"
	       "per-agent metrics for Prometheus.\n\ncommands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		printf("  %-14s %s\n", commands[i].name, commands[i].summary);
	printf("\n`swarmwatch COMMAND --help` describes each command.\n");
	return 0;
}

int main(int argc, char **argv)
{
	size_t i;

	if (argc < 2)
		return cmd_help(0, NULL) ? 1 : 2;
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		return cmd_help(0, NULL);
	if (!strcmp(argv[1], "--version"))
		return cmd_version(1, argv);
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "swarmwatch: error: unknown command \"%s\" (see swarmwatch help)\n",
		argv[1]);
	return 2;
}
