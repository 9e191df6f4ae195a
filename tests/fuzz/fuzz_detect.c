// SPDX-License-Identifier: MIT
/*
 * Fuzz target: `swarmwatch detect` end to end on an input file: the CSV
 * reader (header, timestamps in every accepted form, values), the sample
 * interval it measures, and the detectors scoring every row. Bad input must
 * end in exit status 1 with a message, never a crash or a leak.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cmd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64];
	char *argv[] = {"detect", "--input", path, "--output", "/dev/null", NULL};
	int fd, ret;

	if (size > 1 << 16)
		return 0; /* the detectors' cost grows with rows, not with new paths */
	fd = memfd_create("fuzz-detect.csv", MFD_CLOEXEC);
	if (fd < 0)
		abort();
	if (size && write(fd, data, size) != (ssize_t)size)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ret = cmd_detect(5, argv);
	close(fd);
	if (ret != 0 && ret != 1)
		abort(); /* 2 is a usage error: the arguments above are valid */
	return 0;
}
