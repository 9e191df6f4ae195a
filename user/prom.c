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

/* Shortest of %.15g and %.17g that reads back as v. */
static void format_value(char *s, size_t size, double v)
{
	if (isnan(v)) {
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
		buf__printf(b, "le=\"%s\"", le);
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
	buf__printf(b, " %llu\n", (unsigned long long)value);
}

void prom__histogram(struct buf *b, const char *name, const struct prom_label *labels, int n,
		     const double *le, int nle, const __u64 *buckets, double sum)
{
	__u64 cum = 0;
	char bound[40];
	int i;

	for (i = 0; i < nle; i++) {
		cum += buckets[i];
		format_value(bound, sizeof(bound), le[i]);
		buf__printf(b, "%s_bucket", name);
		labels_out(b, labels, n, bound);
		buf__printf(b, " %llu\n", (unsigned long long)cum);
	}
	cum += buckets[nle];
	buf__printf(b, "%s_bucket", name);
	labels_out(b, labels, n, "+Inf");
	buf__printf(b, " %llu\n", (unsigned long long)cum);
	buf__printf(b, "%s_sum", name);
	labels_out(b, labels, n, NULL);
	buf__putc(b, ' ');
	prom__value(b, sum);
	buf__printf(b, "\n%s_count", name);
	labels_out(b, labels, n, NULL);
	buf__printf(b, " %llu\n", (unsigned long long)cum);
}
