// SPDX-License-Identifier: MIT
/* The StatsD / DogStatsD line parser: pure, bounded, no allocation. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "statsd.h"

#define NUMBER_MAX 64 /* longest number text read */

static int fail(const char **why, const char *reason)
{
	if (why)
		*why = reason;
	return -EINVAL;
}

/* A finite number that is all of [s, s + n); 0 or -EINVAL. */
static int number(const char *s, size_t n, double *v)
{
	char buf[NUMBER_MAX];
	char *end;

	if (!n || n >= sizeof(buf) ||
	    !((s[0] >= '0' && s[0] <= '9') || s[0] == '+' || s[0] == '-' || s[0] == '.'))
		return -EINVAL; /* strtod would skip leading blanks */
	memcpy(buf, s, n);
	buf[n] = 0;
	/* strtod also reads "inf", "nan" and hexadecimal: only decimal digits are StatsD. */
	if (strpbrk(buf, "xXnNiI"))
		return -EINVAL;
	*v = strtod(buf, &end);
	if (end != buf + n || !isfinite(*v))
		return -EINVAL;
	return 0;
}

static int type_of(const char *s, size_t n, enum statsd_type *t)
{
	static const struct {
		const char *name;
		enum statsd_type t;
	} types[] = {
		{"c", STATSD_COUNTER},	 {"g", STATSD_GAUGE},	     {"ms", STATSD_TIMER},
		{"h", STATSD_HISTOGRAM}, {"d", STATSD_DISTRIBUTION}, {"s", STATSD_SET},
	};
	size_t i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strlen(types[i].name) == n && !memcmp(types[i].name, s, n)) {
			*t = types[i].t;
			return 0;
		}
	return -EINVAL;
}

/* Tags "k:v,k2,k3:v3" into m->tags; those past STATSD_TAGS_MAX are ignored. */
static void parse_tags(const char *s, size_t n, struct statsd_metric *m)
{
	const char *end = s + n;

	while (s < end) {
		const char *comma = memchr(s, ',', end - s), *colon;
		size_t len = (comma ? comma : end) - s;

		colon = memchr(s, ':', len);
		if (len && m->ntags < STATSD_TAGS_MAX) {
			struct statsd_tag *t = &m->tags[m->ntags++];

			t->key = s;
			t->klen = colon ? (size_t)(colon - s) : len;
			t->value = colon ? colon + 1 : s + len;
			t->vlen = colon ? len - t->klen - 1 : 0;
		}
		s += len + (comma ? 1 : 0);
	}
}

int statsd__parse_line(const char *line, size_t len, struct statsd_metric *m, const char **why)
{
	const char *end = line + len, *colon, *bar, *field;
	size_t n;

	memset(m, 0, sizeof(*m));
	m->rate = 1;
	colon = memchr(line, ':', len);
	if (!colon)
		return fail(why, "no ':' after the metric name");
	m->name = line;
	m->nlen = colon - line;
	if (!m->nlen)
		return fail(why, "empty metric name");
	if (m->nlen > STATSD_NAME_MAX)
		return fail(why, "metric name longer than 128 bytes");
	bar = memchr(colon + 1, '|', end - colon - 1);
	if (!bar)
		return fail(why, "no '|' before the type");
	m->raw = colon + 1;
	m->rawlen = bar - m->raw;
	if (!m->rawlen)
		return fail(why, "empty value");
	field = bar + 1;
	bar = memchr(field, '|', end - field);
	n = (bar ? bar : end) - field;
	if (type_of(field, n, &m->type))
		return fail(why, "unknown type (c, g, ms, h, d or s)");
	if (m->type != STATSD_SET) {
		if (number(m->raw, m->rawlen, &m->value))
			return fail(why, "value is not a finite decimal number");
		m->delta = m->type == STATSD_GAUGE && (m->raw[0] == '+' || m->raw[0] == '-');
		if (m->value < 0 && (m->type == STATSD_TIMER || m->type == STATSD_HISTOGRAM ||
				     m->type == STATSD_DISTRIBUTION))
			return fail(why, "negative timer, histogram or distribution value");
	}
	while (bar) {
		field = bar + 1;
		bar = memchr(field, '|', end - field);
		n = (bar ? bar : end) - field;
		if (n && field[0] == '@') {
			if (number(field + 1, n - 1, &m->rate) || !(m->rate > 0) || m->rate > 1)
				return fail(why, "sample rate is not a number in (0, 1]");
		} else if (n && field[0] == '#') {
			parse_tags(field + 1, n - 1, m);
		}
		/* Other fields (T<timestamp>, c:<container id>, empty) are not used. */
	}
	return 0;
}

bool statsd__next_line(const char *buf, size_t size, size_t *pos, const char **line, size_t *len)
{
	while (*pos < size) {
		const char *s = buf + *pos, *nl = memchr(s, '\n', size - *pos);
		size_t n = (nl ? nl : buf + size) - s;

		*pos += n + (nl ? 1 : 0);
		if (n && s[n - 1] == '\r')
			n--;
		if (n) {
			*line = s;
			*len = n;
			return true;
		}
	}
	return false;
}

static bool name_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == ':';
}

size_t statsd__sanitize(const char *s, size_t n, char *out, size_t cap)
{
	size_t i;

	if (!cap)
		return 0;
	for (i = 0; i < n && i + 1 < cap; i++)
		out[i] = name_char(s[i]) ? s[i] : '_';
	out[i] = 0;
	return i;
}

size_t statsd__label_value(const char *s, size_t n, char *out, size_t cap)
{
	size_t i;

	if (!cap)
		return 0;
	for (i = 0; i < n && i + 1 < cap; i++)
		out[i] = (unsigned char)s[i] >= 0x20 && (unsigned char)s[i] < 0x7f ? s[i] : '_';
	out[i] = 0;
	return i;
}

const char *statsd__type_name(enum statsd_type t)
{
	switch (t) {
	case STATSD_COUNTER:
		return "c";
	case STATSD_GAUGE:
		return "g";
	case STATSD_TIMER:
		return "ms";
	case STATSD_HISTOGRAM:
		return "h";
	case STATSD_DISTRIBUTION:
		return "d";
	case STATSD_SET:
		return "s";
	}
	return "?";
}
