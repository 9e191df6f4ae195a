// SPDX-License-Identifier: MIT
/* Saved-state blobs: header, state bytes, checksum. */
#include <errno.h>
#include <string.h>

#include "blob.h"

struct blob_hdr {
	uint32_t magic;
	uint32_t version;
	uint64_t size; /* bytes of state that follow */
};

uint32_t blob__checksum(const void *buf, size_t len)
{
	const unsigned char *p = buf;
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= p[i];
		h *= 16777619u;
	}
	return h;
}

size_t blob__size(size_t size)
{
	return sizeof(struct blob_hdr) + size + sizeof(uint32_t);
}

long blob__save(void *buf, size_t len, uint32_t magic, uint32_t version, const void *state,
		size_t size)
{
	struct blob_hdr h = {.magic = magic, .version = version, .size = size};
	unsigned char *b = buf;
	uint32_t sum;

	if (len < blob__size(size))
		return -ENOSPC;
	memcpy(b, &h, sizeof(h));
	memcpy(b + sizeof(h), state, size);
	sum = blob__checksum(b, sizeof(h) + size);
	memcpy(b + sizeof(h) + size, &sum, sizeof(sum));
	return (long)blob__size(size);
}

int blob__open(const void *buf, size_t len, uint32_t magic, uint32_t version, size_t size,
	       const void **state)
{
	const unsigned char *b = buf;
	struct blob_hdr h;
	uint32_t sum;

	if (len < blob__size(size))
		return -EBADMSG;
	memcpy(&h, b, sizeof(h));
	if (h.magic != magic)
		return -EBADMSG;
	if (h.version != version)
		return -EPROTO;
	if (h.size != size)
		return -EBADMSG;
	memcpy(&sum, b + sizeof(h) + size, sizeof(sum));
	if (sum != blob__checksum(b, sizeof(h) + size))
		return -EBADMSG;
	*state = b + sizeof(h);
	return 0;
}
