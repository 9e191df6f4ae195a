// SPDX-License-Identifier: MIT
/* `swarmwatch version`. */
#include <bpf/libbpf.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"

int cmd_version(int argc, char **argv)
{
	if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		printf("usage: swarmwatch version\n\n"
		       "Prints the version of swarmwatch and of the libbpf it runs with.\n");
		return 0;
	}
	if (argc > 1) {
		fprintf(stderr,
			"swarmwatch: error: version: unexpected argument \"%s\" (see swarmwatch "
			"version --help)\n",
			argv[1]);
		return 2;
	}
	printf("swarmwatch %s (libbpf %u.%u)\n", SW_VERSION, libbpf_major_version(),
	       libbpf_minor_version());
	return 0;
}
