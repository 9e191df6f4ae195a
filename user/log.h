/* SPDX-License-Identifier: MIT */
#ifndef SW_LOG_H
#define SW_LOG_H

#include <stdbool.h>

enum log_level {
	LOG_ERROR,
	LOG_WARN,
	LOG_INFO,
	LOG_DEBUG,
};

/* Lines at or below `level` are printed; -v raises it to LOG_DEBUG. */
void log__set_level(enum log_level level);
bool log__enabled(enum log_level level);

/*
 * Prints one line to stderr: "swarmwatch: <message>", with "error: " or
 * "warning: " before errors and warnings. The message has no trailing newline.
 */
void log__msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define pr_err(...) log__msg(LOG_ERROR, __VA_ARGS__)
#define pr_warn(...) log__msg(LOG_WARN, __VA_ARGS__)
#define pr_info(...) log__msg(LOG_INFO, __VA_ARGS__)
#define pr_debug(...) log__msg(LOG_DEBUG, __VA_ARGS__)

#endif
