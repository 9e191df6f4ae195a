/* SPDX-License-Identifier: MIT */
/*
 * blob: the saved-state format shared by the detectors and models. A blob is
 * a header (magic, version, state size), the state's bytes copied as they
 * are, and an FNV-1a checksum of both. Restoring is meant for the same
 * build on the same host (the store keeps learned baselines across restarts).
 */
#ifndef SWARMWATCH_BLOB_H
#define SWARMWATCH_BLOB_H

#include <stddef.h>
#include <stdint.h>

/* Bytes a blob of a state of `size` bytes takes. */
size_t blob__size(size_t size);

/*
 * Writes state[0..size) as a blob into buf (len bytes). Returns the blob's
 * length, or -ENOSPC when len is below blob__size(size).
 */
long blob__save(void *buf, size_t len, uint32_t magic, uint32_t version, const void *state,
		size_t size);

/*
 * Checks a blob: magic, size and checksum (-EBADMSG when wrong), version
 * (-EPROTO when another). On success points *state at the state's bytes
 * inside buf and returns 0; the caller validates their contents.
 */
int blob__open(const void *buf, size_t len, uint32_t magic, uint32_t version, size_t size,
	       const void **state);

/* 32-bit FNV-1a of len bytes. */
uint32_t blob__checksum(const void *buf, size_t len);

#endif
