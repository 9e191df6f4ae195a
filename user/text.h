/* SPDX-License-Identifier: MIT */
#ifndef SW_TEXT_H
#define SW_TEXT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

/*
 * Text from outside swarmwatch (environment markers, /proc, cgroup paths,
 * captured request bytes) made safe for the three places it is shown: a
 * Prometheus label value, the HTML page and the JSON API.
 *
 * UTF-8 is decoded as RFC 3629 defines it: overlong forms, surrogates
 * (U+D800..U+DFFF) and code points above U+10FFFF are invalid. Each maximal
 * ill-formed subpart (Unicode 15, section 3.9, "U+FFFD substitution of
 * maximal subparts", the practice of the WHATWG decoder) becomes one
 * U+REPLACEMENT CHARACTER. bpf/identity.bpf.c applies the same rules to the
 * environment marker in the kernel, so both sides name an agent alike.
 */

/* U+FFFD, what an invalid byte sequence or a control character becomes. */
#define TEXT_REPLACEMENT "\xef\xbf\xbd"

/*
 * Makes a name from the len bytes at src (NULs included, as any byte): valid
 * UTF-8, control characters (U+0000..U+001F, U+007F..U+009F) replaced by
 * U+FFFD, cut after the last whole character that fits in size - 1 bytes,
 * then NUL-terminated. An agent name is made with size SW_NAME_LEN (32), so
 * it holds at most 31 bytes: 31 ASCII letters, or 10 Japanese kana (3 bytes
 * each). Returns the length written (< size); with size 0 writes nothing.
 */
size_t text__name(char *dst, size_t size, const char *src, size_t len);

/*
 * Whether the len bytes at s are valid UTF-8 (RFC 3629), NULs allowed.
 */
int text__valid(const char *s, size_t len);

/*
 * Appends the NUL-terminated s to b as a Prometheus label value (text format
 * 0.0.4): backslash, double quote and newline escaped as \\, \" and \n,
 * invalid UTF-8 and other control characters replaced by U+FFFD.
 */
void text__prom_label(struct buf *b, const char *s);

/*
 * Appends the NUL-terminated s to b as HTML text or attribute value: <, >,
 * &, " and ' as entities, invalid UTF-8 and control characters other than
 * tab and newline replaced by U+FFFD.
 */
void text__html(struct buf *b, const char *s);

/*
 * A new JSON string holding the NUL-terminated s with invalid UTF-8 replaced
 * by U+FFFD (jansson refuses invalid UTF-8, and a NULL value would drop the
 * whole document). NULL only when out of memory.
 */
json_t *text__json(const char *s);

/*
 * text__fit - writes to dst (size bytes) the NUL-terminated s as a terminal cell of exactly
 * cols columns: whole characters while they fit, by wcwidth() (so the caller's locale must be
 * set), then spaces. Invalid UTF-8, characters of no width known to the locale, and, when utf8
 * is false, every non-ASCII character are shown as one '?'. A character that does not fit in
 * dst ends the text early. Returns the bytes written, NUL excluded.
 */
size_t text__fit(char *dst, size_t size, const char *s, int cols, bool utf8);

#endif
