// SPDX-License-Identifier: MIT
/* The /metrics page: the catalogue's families written in the Prometheus text format. */
#include "catalog.h"
#include "metrics.h"
#include "prom.h"

static int render_sample(void *ctx, const struct catalog_sample *x)
{
	const struct catalog_family *f = x->family;
	struct prom_label l[CATALOG_MAX_LABELS];
	struct buf *b = ctx;
	int i, n = 0;

	/* An empty value is the same as no label to Prometheus: it is left out. */
	for (i = 0; i < f->nlabels; i++)
		if (x->values[i][0])
			l[n++] = (struct prom_label){f->labels[i], x->values[i]};
	/*
	 * A histogram without an observation yet (an agent that made no request, no connect) is
	 * left out: its 30 lines of zeros were most of the page. Its counts only grow, so it
	 * appears with its first observation and stays.
	 */
	if (f->type == CATALOG_HISTOGRAM && !x->sum) {
		__u64 any = 0;

		for (i = 0; i <= f->nle; i++)
			any |= x->buckets[i];
		if (!any)
			return 0;
	}
	if (f->type == CATALOG_HISTOGRAM)
		prom__histogram(b, f->name, l, n, f->le, f->nle, x->buckets, x->sum);
	else
		prom__sample(b, f->name, l, n, x->value);
	return 0;
}

void metrics__render(struct buf *b, const struct snapshot *s)
{
	const struct catalog_family *f;
	int i;

	for (i = 0; (f = catalog__family(i)); i++) {
		if (!catalog__exported(f, s))
			continue;
		prom__family(b, f->name, catalog__type_name(f->type), f->help);
		catalog__for_each_sample(f, s, render_sample, b);
	}
}
