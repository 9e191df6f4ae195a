/* SPDX-License-Identifier: MIT */
#ifndef SW_PROM_H
#define SW_PROM_H

#include <linux/types.h>

#include "buf.h"

/* Prometheus text exposition format 0.0.4. */
#define PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct prom_label {
	const char *name;
	const char *value;
};

/* Writes the # HELP and # TYPE lines of a metric family. */
void prom__family(struct buf *b, const char *name, const char *type, const char *help);

/* Writes one sample line `name{labels} value`; labels may be NULL when n is 0. */
void prom__sample(struct buf *b, const char *name, const struct prom_label *labels, int n,
		  double value);

/* Same as prom__sample for an exact integer value. */
void prom__sample_u64(struct buf *b, const char *name, const struct prom_label *labels, int n,
		      __u64 value);

/* Bounds of a histogram formatted once per family rather than per series; more are per series. */
#define PROM_MAX_BOUNDS 64

/*
 * Writes the _bucket, _sum and _count lines of histogram `name`: buckets[i] counts the values in
 * (le[i-1], le[i]] for i < nle, buckets[nle] those above le[nle - 1]. Buckets are written
 * cumulative, le="+Inf" last and equal to _count, the sum of buckets. `sum` is in the unit of
 * le.
 */
void prom__histogram(struct buf *b, const char *name, const struct prom_label *labels, int n,
		     const double *le, int nle, const __u64 *buckets, double sum);

/*
 * Appends v as a label value, whatever its bytes: backslash, double quote and
 * newline escaped, invalid UTF-8 and control characters replaced by U+FFFD
 * (text__prom_label()), so that no label can make a scrape fail.
 */
void prom__escape_label(struct buf *b, const char *v);

/* Appends a value in the exposition's float syntax (shortest round-trip, NaN, +Inf). */
void prom__value(struct buf *b, double v);

#endif
