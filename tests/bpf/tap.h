/* SPDX-License-Identifier: MIT */
/*
 * A small TAP assertion runner for the privileged tests: every check is a
 * named line; a test that cannot run reports each of its checks as SKIP.
 */
#ifndef SW_TAP_H
#define SW_TAP_H

#include <stdarg.h>
#include <stdio.h>

static int tap_n, tap_failed;

static inline void tap_vline(int ok, const char *skip, const char *fmt, va_list ap)
{
	printf("%sok %d - ", ok ? "" : "not ", ++tap_n);
	vprintf(fmt, ap);
	if (skip)
		printf(" # SKIP %s", skip);
	printf("\n");
	fflush(stdout);
	tap_failed += !ok;
}

/* Reports check `fmt` passed when cond is true; returns cond. */
static inline int __attribute__((format(printf, 2, 3))) tap_check(int cond, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tap_vline(cond, NULL, fmt, ap);
	va_end(ap);
	return cond;
}

static inline void __attribute__((format(printf, 2, 3)))
tap_skip(const char *why, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tap_vline(1, why, fmt, ap);
	va_end(ap);
}

/* Prints a diagnostic line that TAP readers ignore. */
static inline void __attribute__((format(printf, 1, 2))) tap_diag(const char *fmt, ...);

/* Reports check `name`; on failure prints what was seen ("got ..."). */
static inline void __attribute__((format(printf, 3, 4)))
tap_expect(int ok, const char *name, const char *fmt, ...)
{
	char got[256];
	va_list ap;

	tap_check(ok, "%s", name);
	if (ok)
		return;
	va_start(ap, fmt);
	vsnprintf(got, sizeof(got), fmt, ap);
	va_end(ap);
	tap_diag("got %s", got);
}

/* Prints a diagnostic line that TAP readers ignore. */
static inline void __attribute__((format(printf, 1, 2))) tap_diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

#endif
