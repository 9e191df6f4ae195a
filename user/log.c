// SPDX-License-Identifier: MIT
/* One-line log messages on stderr. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

static enum log_level log_level = LOG_INFO;

void log__set_level(enum log_level level)
{
	log_level = level;
}

bool log__enabled(enum log_level level)
{
	return level <= log_level;
}

void log__msg(enum log_level level, const char *fmt, ...)
{
	static const char *const prefix[] = {
		[LOG_ERROR] = "error: ",
		[LOG_WARN] = "warning: ",
		[LOG_INFO] = "",
		[LOG_DEBUG] = "debug: ",
	};
	char line[1024];
	va_list ap;
	size_t n;

	if (!log__enabled(level))
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	n = strlen(line);
	while (n && line[n - 1] == '\n')
		line[--n] = 0;
	fprintf(stderr, "swarmwatch: %s%s\n", prefix[level], line);
}
