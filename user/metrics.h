/* SPDX-License-Identifier: MIT */
#ifndef SW_METRICS_H
#define SW_METRICS_H

#include "buf.h"
#include "snapshot.h"

/*
 * Renders snapshot s in text format 0.0.4: every family of the catalogue that s exports, in
 * the catalogue's order, with its HELP and TYPE lines even when it has no samples. Errors are
 * b->failed (out of memory).
 */
void metrics__render(struct buf *b, const struct snapshot *s);

#endif
