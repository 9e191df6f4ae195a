// SPDX-License-Identifier: MIT
/* Growable NUL-terminated byte buffer. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

void buf__init(struct buf *b)
{
	memset(b, 0, sizeof(*b));
}

void buf__free(struct buf *b)
{
	free(b->data);
	buf__init(b);
}

void buf__reset(struct buf *b)
{
	b->len = 0;
	b->failed = 0;
	if (b->data)
		b->data[0] = 0;
}

/* Makes room for `extra` more bytes plus the NUL; 0 or -ENOMEM. */
int buf__reserve(struct buf *b, size_t extra)
{
	size_t need = b->len + extra + 1, cap;
	char *p;

	if (b->failed)
		return -ENOMEM;
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap *= 2;
	p = realloc(b->data, cap);
	if (!p) {
		b->failed = 1;
		return -ENOMEM;
	}
	b->data = p;
	b->cap = cap;
	return 0;
}

void buf__append(struct buf *b, const char *s, size_t n)
{
	if (buf__reserve(b, n))
		return;
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = 0;
}

void buf__puts(struct buf *b, const char *s)
{
	buf__append(b, s, strlen(s));
}

void buf__putc(struct buf *b, char c)
{
	buf__append(b, &c, 1);
}

void buf__vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	va_copy(ap2, ap);
	n = vsnprintf(b->data ? b->data + b->len : NULL, b->data ? b->cap - b->len : 0, fmt, ap2);
	va_end(ap2);
	if (n < 0) {
		b->failed = 1;
		return;
	}
	if (b->data && (size_t)n < b->cap - b->len) {
		b->len += n;
		return;
	}
	if (buf__reserve(b, n))
		return;
	vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
	b->len += n;
}

void buf__printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	buf__vprintf(b, fmt, ap);
	va_end(ap);
}

int buf__grow_array(void **arr, size_t *cap, size_t n, size_t size, size_t first)
{
	size_t want;
	void *p;

	if (n < *cap)
		return 0;
	want = *cap ? *cap * 2 : first;
	if (want < *cap || want > SIZE_MAX / size)
		return -ENOMEM;
	p = realloc(*arr, want * size);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = want;
	return 0;
}
