/* SPDX-License-Identifier: MIT */
/*
 * Bounded integer parsing for every number swarmwatch reads from text
 * (durations, repetition bounds, prefix lengths, ports, counts): it
 * saturates instead of wrapping, so no input can overflow a sum or a cast
 * further on.
 */
#ifndef SW_NUM_H
#define SW_NUM_H

/*
 * Parses the decimal integer at the start of s: an optional '-' (only when
 * lo < 0), then one or more digits; no blanks, no '+', no base prefixes.
 * With end NULL the whole string must be the number; otherwise *end is set
 * past the last digit read (to s when there is none).
 *
 * Returns 0 with *out in [lo, hi]; -EINVAL when there is no number (or,
 * with end NULL, something follows it), with *out untouched; -ERANGE when
 * the number lies outside [lo, hi], with *out clamped to the bound it
 * passed, however many digits it has.
 */
int num__parse(const char *s, const char **end, long long lo, long long hi, long long *out);

#endif
