// SPDX-License-Identifier: MIT
/*
 * Fuzz target: the ELF reader that finds OpenSSL's functions in a library
 * or program on disk (dynamic symbols, string table, executable segments).
 * Files on disk are outside bytes: a corrupt or hostile one must be
 * refused, never crash the daemon.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tls.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	__u64 off[TLS_FN_MAX];
	char path[64];
	int fd, ret;

	fd = memfd_create("fuzz-elf", MFD_CLOEXEC);
	if (fd < 0)
		abort();
	if (size && write(fd, data, size) != (ssize_t)size)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ret = tls__offsets(path, off);
	close(fd);
	if (ret != 0 && ret != -ENOENT)
		abort();
	if (!ret && (!off[0] || !off[2]))
		abort(); /* usable means SSL_write and SSL_read were found */
	return 0;
}
