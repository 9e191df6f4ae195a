/* SPDX-License-Identifier: MIT */
/*
 * api: the JSON documents of the /api/v1 endpoints, rendered from published data at the leaf,
 * so that the modules that produce the data (anomaly, later the store, alerts and scaling)
 * never format JSON. Every function returns a malloc'd NUL-terminated document, or NULL on out of memory.
 */
#ifndef SW_API_H
#define SW_API_H

#include <stddef.h>

struct anomaly_view;

/* Content type of every document here. */
#define API_CONTENT_TYPE "application/json"

/* Formats unix time t as RFC 3339 UTC with milliseconds into buf (at least 32 bytes). */
void api__rfc3339(double t, char *buf, size_t len);

/*
 * api__error - the one error document of every endpoint: {"status": "error", "error": message}.
 * The HTTP status code says which error it is; message is one line for a person to read.
 */
char *api__error(const char *message);

/*
 * api__anomalies - GET /api/v1/anomalies for view v: {"time", "threshold", "current": [...],
 * "recent": [...]}, each episode {"agent", "start", "end" (null while ongoing), "ongoing",
 * "peak_score", "confidence", "signals": [{"signal", "score"}]}.
 */
char *api__anomalies(const struct anomaly_view *v);

#endif
