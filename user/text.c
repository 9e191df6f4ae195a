// SPDX-License-Identifier: MIT
/* Outside text made valid UTF-8 for names, labels, the HTML page and JSON. */
#include <string.h>
#include <wchar.h>

#include "text.h"

#define INVALID 0xffffffffu

/*
 * Decodes the character at s[0..len), len >= 1: sets *cp to its code point,
 * or to INVALID for a maximal ill-formed subpart. Returns the bytes it spans,
 * 1 to 4. The ranges of the second byte after E0, ED, F0 and F4 are those of
 * RFC 3629, section 4 (no overlongs, no surrogates, nothing past U+10FFFF).
 */
static size_t decode(const unsigned char *s, size_t len, unsigned *cp)
{
	unsigned char b = s[0], lo = 0x80, hi = 0xbf;
	size_t need, i;
	unsigned c;

	if (b < 0x80) {
		*cp = b;
		return 1;
	}
	if (b >= 0xc2 && b <= 0xdf) {
		need = 1;
		c = b & 0x1f;
	} else if (b >= 0xe0 && b <= 0xef) {
		need = 2;
		c = b & 0x0f;
		lo = b == 0xe0 ? 0xa0 : 0x80;
		hi = b == 0xed ? 0x9f : 0xbf;
	} else if (b >= 0xf0 && b <= 0xf4) {
		need = 3;
		c = b & 0x07;
		lo = b == 0xf0 ? 0x90 : 0x80;
		hi = b == 0xf4 ? 0x8f : 0xbf;
	} else {
		*cp = INVALID;
		return 1;
	}
	for (i = 1; i <= need; i++) {
		if (i >= len || s[i] < lo || s[i] > hi) {
			*cp = INVALID;
			return i;
		}
		c = c << 6 | (s[i] & 0x3f);
		lo = 0x80;
		hi = 0xbf;
	}
	*cp = c;
	return need + 1;
}

/* C0 controls, DEL and C1 controls. */
static int is_control(unsigned cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

size_t text__name(char *dst, size_t size, const char *src, size_t len)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t out = 0, i = 0, n, plen;
	const char *piece;
	unsigned cp;

	if (!size)
		return 0;
	while (i < len) {
		n = decode(s + i, len - i, &cp);
		if (cp == INVALID || is_control(cp)) {
			piece = TEXT_REPLACEMENT;
			plen = sizeof(TEXT_REPLACEMENT) - 1;
		} else {
			piece = src + i;
			plen = n;
		}
		if (plen > size - 1 - out)
			break;
		memcpy(dst + out, piece, plen);
		out += plen;
		i += n;
	}
	dst[out] = 0;
	return out;
}

int text__valid(const char *s, size_t len)
{
	size_t i = 0;
	unsigned cp;

	while (i < len) {
		i += decode((const unsigned char *)s + i, len - i, &cp);
		if (cp == INVALID)
			return 0;
	}
	return 1;
}

/*
 * Appends s to b character by character: `escape` gives the replacement text
 * of a character that needs one (or NULL), invalid sequences and the
 * characters `escape` marks as dropped become U+FFFD.
 */
static void put_text(struct buf *b, const char *s, const char *(*escape)(unsigned cp))
{
	const unsigned char *u = (const unsigned char *)s;
	size_t len = strlen(s), i = 0, n;
	const char *esc;
	unsigned cp;

	while (i < len) {
		n = decode(u + i, len - i, &cp);
		esc = cp == INVALID ? TEXT_REPLACEMENT : escape(cp);
		if (esc)
			buf__puts(b, esc);
		else
			buf__append(b, s + i, n);
		i += n;
	}
}

static const char *prom_escape(unsigned cp)
{
	switch (cp) {
	case '\\':
		return "\\\\";
	case '"':
		return "\\\"";
	case '\n':
		return "\\n";
	}
	return is_control(cp) ? TEXT_REPLACEMENT : NULL;
}

void text__prom_label(struct buf *b, const char *s)
{
	put_text(b, s, prom_escape);
}

static const char *html_escape(unsigned cp)
{
	switch (cp) {
	case '<':
		return "&lt;";
	case '>':
		return "&gt;";
	case '&':
		return "&amp;";
	case '"':
		return "&quot;";
	case '\'':
		return "&#39;";
	case '\t':
	case '\n':
		return NULL;
	}
	return is_control(cp) ? TEXT_REPLACEMENT : NULL;
}

void text__html(struct buf *b, const char *s)
{
	put_text(b, s, html_escape);
}

static const char *json_escape(unsigned cp)
{
	(void)cp;
	return NULL; /* jansson escapes what JSON needs escaped */
}

json_t *text__json(const char *s)
{
	struct buf b;
	json_t *j;

	if (text__valid(s, strlen(s)))
		return json_string(s);
	buf__init(&b);
	put_text(&b, s, json_escape);
	j = b.failed ? NULL : json_stringn(b.data ? b.data : "", b.len);
	buf__free(&b);
	return j;
}

size_t text__fit(char *dst, size_t size, const char *s, int cols, bool utf8)
{
	size_t len = strlen(s), i = 0, o = 0, n;
	int used = 0, w;
	unsigned cp;

	if (!size)
		return 0;
	while (i < len) {
		n = decode((const unsigned char *)s + i, len - i, &cp);
		w = cp == INVALID || (!utf8 && cp >= 0x80) ? -1 : wcwidth((wchar_t)cp);
		if (w < 0) {
			/* Shown as '?': one column, one byte. */
			w = 1;
			if (used + w > cols || o + 1 >= size)
				break;
			dst[o++] = '?';
		} else {
			if (used + w > cols || o + n >= size)
				break;
			memcpy(dst + o, s + i, n);
			o += n;
		}
		used += w;
		i += n;
	}
	while (used < cols && o + 1 < size) {
		dst[o++] = ' ';
		used++;
	}
	dst[o] = 0;
	return o;
}
