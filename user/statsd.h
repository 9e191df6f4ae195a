/* SPDX-License-Identifier: MIT */
/*
 * statsd: the StatsD / DogStatsD line format, parsed without I/O or allocation.
 *
 * A datagram holds one or more lines separated by '\n'; a line is
 *   name:value|type[|@rate][|#tag:value,tag2:value2][|T<timestamp>][|c:<container>]
 * with type one of c (counter), g (gauge; a value with a leading + or - is a delta), ms (timer),
 * h (histogram), d (distribution) or s (set). Sources: the StatsD protocol description in
 * statsd's docs/metric_types.md and Datadog's "DogStatsD datagram format" page.
 */
#ifndef SW_STATSD_H
#define SW_STATSD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum statsd_type {
	STATSD_COUNTER,
	STATSD_GAUGE,
	STATSD_TIMER, /* ms: milliseconds */
	STATSD_HISTOGRAM,
	STATSD_DISTRIBUTION,
	STATSD_SET,
};

#define STATSD_NAME_MAX 128 /* bytes of a metric name, as sent */
#define STATSD_TAGS_MAX 16 /* tags looked at per line; more are ignored */
#define STATSD_DATAGRAM_MAX 8192 /* bytes read of one datagram; longer ones are refused */

/* A tag: key and value point into the parsed line (value "" for a bare tag). */
struct statsd_tag {
	const char *key;
	size_t klen;
	const char *value;
	size_t vlen;
};

/* One parsed line. Pointers point into the line given to statsd__parse_line(). */
struct statsd_metric {
	const char *name;
	size_t nlen;
	enum statsd_type type;
	double value; /* sets: unused, see raw */
	const char *raw; /* the value's text (sets count distinct texts) */
	size_t rawlen;
	bool delta; /* gauge: value is added to the current one (a leading + or -) */
	double rate; /* sample rate in (0, 1]; 1 when not given */
	struct statsd_tag tags[STATSD_TAGS_MAX];
	int ntags;
};

/*
 * statsd__parse_line - parses one line (len bytes, no '\n', not NUL-terminated) into m. Returns
 * 0, or -EINVAL with *why (when not NULL) set to a static lower-case reason: an empty or too long
 * name, a missing ':' or '|', an unknown type, a value that is not a finite number, a sample rate
 * outside (0, 1], a negative timer, histogram or distribution value.
 */
int statsd__parse_line(const char *line, size_t len, struct statsd_metric *m, const char **why);

/*
 * statsd__next_line - splits a datagram: from *pos, the next line that is not empty (a trailing
 * '\r' is dropped) as [*line, *line + *len), and moves *pos past it. Returns false at the end.
 */
bool statsd__next_line(const char *buf, size_t size, size_t *pos, const char **line, size_t *len);

/*
 * statsd__sanitize - writes s (n bytes) into out (at most cap - 1 bytes and a NUL) with every
 * byte outside [a-zA-Z0-9_:] replaced by '_' (the Prometheus metric name charset), so that
 * "llm.latency-ms" becomes "llm_latency_ms". Returns the length written.
 */
size_t statsd__sanitize(const char *s, size_t n, char *out, size_t cap);

/*
 * statsd__label_value - writes s (n bytes) into out as a label value: printable ASCII kept,
 * every other byte replaced by '_', at most cap - 1 bytes and a NUL. Returns the length written.
 */
size_t statsd__label_value(const char *s, size_t n, char *out, size_t cap);

/* The type's suffix as sent: "c", "g", "ms", "h", "d", "s". */
const char *statsd__type_name(enum statsd_type t);

#endif
