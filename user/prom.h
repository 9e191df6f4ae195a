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

/*
 * Writes the _bucket, _sum and _count lines of histogram `name` from log2
 * slots as include/log2.h fills them: slot i counts values in (2^(i-1), 2^i]
 * units, the last slot the overflow. Buckets le = 2^i * unit are written for
 * i in [lo, hi] (hi < nslots - 1), cumulative from slot 0, then le="+Inf"
 * equal to _count. `sum` is in the exported unit already.
 */
void prom__histogram_log2(struct buf *b, const char *name, const struct prom_label *labels, int n,
			  const __u64 *slots, int nslots, int lo, int hi, double unit, double sum);

/*
 * Writes the _bucket, _sum and _count lines of histogram `name`: buckets[i] counts the values in
 * (le[i-1], le[i]] for i < nle, buckets[nle] those above le[nle - 1]. Buckets are written
 * cumulative, le="+Inf" last and equal to _count, the sum of buckets. `sum` is in the unit of
 * le.
 */
void prom__histogram(struct buf *b, const char *name, const struct prom_label *labels, int n,
		     const double *le, int nle, const __u64 *buckets, double sum);

/* Appends v escaped as a label value: backslash, double quote, newline. */
void prom__escape_label(struct buf *b, const char *v);

/* Appends a value in the exposition's float syntax (shortest round-trip, NaN, +Inf). */
void prom__value(struct buf *b, double v);

#endif
