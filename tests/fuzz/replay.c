// SPDX-License-Identifier: MIT
/*
 * Replays a fuzz target over its checked-in corpus in the normal test run,
 * one TAP line per input. Built with libFuzzer instead (make fuzz), the
 * same target fuzzes for real.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
	char *names[4096], path[4096];
	struct dirent *de;
	int n = 0, i;
	DIR *d;

	if (argc != 2 || !(d = opendir(argv[1]))) {
		fprintf(stderr, "usage: %s CORPUS-DIR\n", argv[0]);
		return 2;
	}
	while ((de = readdir(d)) && n < 4096)
		if (de->d_name[0] != '.')
			names[n++] = strdup(de->d_name);
	closedir(d);
	qsort(names, n, sizeof(names[0]), cmp);
	printf("1..%d\n", n);
	for (i = 0; i < n; i++) {
		static uint8_t buf[1 << 20];
		size_t len;
		FILE *f;

		snprintf(path, sizeof(path), "%s/%s", argv[1], names[i]);
		f = fopen(path, "rb");
		if (!f) {
			printf("not ok %d - %s: cannot read\n", i + 1, path);
			continue;
		}
		len = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		LLVMFuzzerTestOneInput(buf, len); /* a crash fails the suite */
		printf("ok %d - %s\n", i + 1, path);
		free(names[i]);
	}
	return 0;
}
