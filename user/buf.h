/* SPDX-License-Identifier: MIT */
#ifndef SW_BUF_H
#define SW_BUF_H

#include <stdarg.h>
#include <stddef.h>

/*
 * A growable byte buffer that stays NUL-terminated. After an allocation
 * failure it stops growing and sets `failed`; callers check once at the end.
 */
struct buf {
	char *data; /* NUL-terminated contents, or NULL when empty */
	size_t len; /* bytes used, not counting the NUL */
	size_t cap; /* bytes allocated */
	int failed; /* an append did not fit: contents are truncated */
};

void buf__init(struct buf *b);
void buf__free(struct buf *b);
void buf__reset(struct buf *b);
int buf__reserve(struct buf *b, size_t extra);
void buf__append(struct buf *b, const char *s, size_t n);
void buf__puts(struct buf *b, const char *s);
void buf__putc(struct buf *b, char c);
void buf__printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf__vprintf(struct buf *b, const char *fmt, va_list ap);

/*
 * Makes room for one more element in the array *arr of *cap elements of
 * `size` bytes, of which n are used: when n == *cap the array doubles (to
 * `first` elements when empty). Returns 0, or -ENOMEM with *arr and *cap
 * unchanged. Callers bound n themselves.
 */
int buf__grow_array(void **arr, size_t *cap, size_t n, size_t size, size_t first);

#endif
