// SPDX-License-Identifier: MIT
/*
 * Fuzz target: a StatsD datagram through the line parser, the tick's batch and the merge into
 * series. Never a crash or a read past the datagram; a parsed line always has a name within
 * bounds, a finite value and a rate in (0, 1]; a sanitised name is in the Prometheus charset.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "apps.h"
#include "statsd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct statsd_metric *m)
{
	char name[STATSD_NAME_MAX + 1];
	size_t i, n;

	if (!m->nlen || m->nlen > STATSD_NAME_MAX || !(m->rate > 0) || m->rate > 1 ||
	    (m->type != STATSD_SET && !isfinite(m->value)) || m->ntags > STATSD_TAGS_MAX)
		abort();
	n = statsd__sanitize(m->name, m->nlen, name, sizeof(name));
	if (n != m->nlen)
		abort();
	for (i = 0; i < n; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_:",
			    name[i]))
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct apps_agent agents[] = {{"alpha", 1}, {"beta", 2}};
	static struct apps_batch *b;
	static struct apps *a;
	static struct apps_params p;
	struct statsd_metric m;
	struct app_view *v;
	const char *line;
	size_t pos = 0, len;
	char *copy;

	if (!a) {
		apps__params_default(&p);
		p.tags[0] = "model";
		p.tags[1] = "env";
		p.ntags = 2;
		p.trust_agent_tag = true;
		a = apps__new(&p);
		b = apps__batch_new();
		if (!a || !b)
			abort();
	}
	/* An exact-size copy, so that ASan catches any read past the datagram. */
	copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	while (statsd__next_line(copy, size, &pos, &line, &len)) {
		const char *why = NULL;

		if (statsd__parse_line(line, len, &m, &why)) {
			if (!why)
				abort(); /* a refused line always says why */
			continue;
		}
		check(&m);
		apps__batch_add(b, &p, size % 3 ? (__u32)(size % 3) : SW_SLOT_NONE, &m);
	}
	apps__merge(a, b, agents, 2, 100);
	apps__batch_reset(b);
	v = apps__view(a);
	apps__view_free(v);
	free(copy);
	return 0;
}
