// SPDX-License-Identifier: MIT
/* Prometheus text format 0.0.4 writer. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prom.h"
#include "text.h"

void prom__escape_label(struct buf *b, const char *v)
{
	text__prom_label(b, v);
}

/* HELP text escapes only backslash and newline. */
static void escape_help(struct buf *b, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\')
			buf__puts(b, "\\\\");
		else if (*v == '\n')
			buf__puts(b, "\\n");
		else
			buf__putc(b, *v);
	}
}

void prom__family(struct buf *b, const char *name, const char *type, const char *help)
{
	buf__printf(b, "# HELP %s ", name);
	escape_help(b, help);
	buf__printf(b, "\n# TYPE %s %s\n", name, type);
}

/* Writes v in decimal to s (at least 21 bytes); returns the length. */
static size_t format_u64(char *s, __u64 v)
{
	char tmp[21];
	size_t n = 0, i;

	do {
		tmp[n++] = '0' + v % 10;
		v /= 10;
	} while (v);
	for (i = 0; i < n; i++)
		s[i] = tmp[n - 1 - i];
	s[n] = 0;
	return n;
}

static void put_u64(struct buf *b, __u64 v)
{
	char s[21];

	buf__append(b, s, format_u64(s, v));
}

/*
 * Shortest of %.15g and %.17g that reads back as v. Whole numbers under 2^53 (most counters)
 * are written as integers, which is what %.15g gives them, without printf.
 */
static void format_value(char *s, size_t size, double v)
{
	if (v >= 0 && v < 9007199254740992.0 && v == (double)(__u64)v && size >= 21) {
		format_u64(s, (__u64)v);
	} else if (isnan(v)) {
		snprintf(s, size, "NaN");
	} else if (isinf(v)) {
		snprintf(s, size, "%s", v > 0 ? "+Inf" : "-Inf");
	} else {
		snprintf(s, size, "%.15g", v);
		if (strtod(s, NULL) != v)
			snprintf(s, size, "%.17g", v);
	}
}

void prom__value(struct buf *b, double v)
{
	char s[40];

	format_value(s, sizeof(s), v);
	buf__puts(b, s);
}

static void labels_out(struct buf *b, const struct prom_label *labels, int n, const char *le)
{
	int i;

	if (!n && !le)
		return;
	buf__putc(b, '{');
	for (i = 0; i < n; i++) {
		if (i)
			buf__putc(b, ',');
		buf__puts(b, labels[i].name);
		buf__puts(b, "=\"");
		prom__escape_label(b, labels[i].value);
		buf__putc(b, '"');
	}
	if (le) {
		if (n)
			buf__putc(b, ',');
		buf__puts(b, "le=\"");
		buf__puts(b, le);
		buf__putc(b, '"');
	}
	buf__putc(b, '}');
}

void prom__sample(struct buf *b, const char *name, const struct prom_label *labels, int n,
		  double value)
{
	buf__puts(b, name);
	labels_out(b, labels, n, NULL);
	buf__putc(b, ' ');
	prom__value(b, value);
	buf__putc(b, '\n');
}

void prom__sample_u64(struct buf *b, const char *name, const struct prom_label *labels, int n,
		      __u64 value)
{
	buf__puts(b, name);
	labels_out(b, labels, n, NULL);
	buf__putc(b, ' ');
	put_u64(b, value);
	buf__putc(b, '\n');
}

void prom__histogram(struct buf *b, const char *name, const struct prom_label *labels, int n,
		     const double *le, int nle, const __u64 *buckets, double sum)
{
	/*
	 * The bounds of the last histogram's family, formatted once for all its series: a page
	 * writes every series of a family in a row. One per thread: pages render on several.
	 */
	static __thread double cached_le[PROM_MAX_BOUNDS];
	static __thread int cached_nle = -1;
	static __thread char bounds[PROM_MAX_BOUNDS][40];
	char one[40];
	__u64 cum = 0;
	int i;

	if (nle <= PROM_MAX_BOUNDS &&
	    (cached_nle != nle || memcmp(cached_le, le, nle * sizeof(*le)))) {
		for (i = 0; i < nle; i++)
			format_value(bounds[i], sizeof(bounds[i]), le[i]);
		memcpy(cached_le, le, nle * sizeof(*le));
		cached_nle = nle;
	}
	for (i = 0; i < nle; i++) {
		cum += buckets[i];
		if (nle > PROM_MAX_BOUNDS)
			format_value(one, sizeof(one), le[i]);
		buf__puts(b, name);
		buf__puts(b, "_bucket");
		labels_out(b, labels, n, nle > PROM_MAX_BOUNDS ? one : bounds[i]);
		buf__putc(b, ' ');
		put_u64(b, cum);
		buf__putc(b, '\n');
	}
	cum += buckets[nle];
	buf__puts(b, name);
	buf__puts(b, "_bucket");
	labels_out(b, labels, n, "+Inf");
	buf__putc(b, ' ');
	put_u64(b, cum);
	buf__putc(b, '\n');
	buf__puts(b, name);
	buf__puts(b, "_sum");
	labels_out(b, labels, n, NULL);
	buf__putc(b, ' ');
	prom__value(b, sum);
	buf__putc(b, '\n');
	buf__puts(b, name);
	buf__puts(b, "_count");
	labels_out(b, labels, n, NULL);
	buf__putc(b, ' ');
	put_u64(b, cum);
	buf__putc(b, '\n');
}
