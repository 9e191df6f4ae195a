// SPDX-License-Identifier: MIT
/*
 * Fuzz target: the alert rule condition parser, the scaling rules' compound conditions
 * (and/or, trend(), forecast(), with confidence) and actions, durations and annotation
 * templates must never crash; a rejected condition always says where ("LINE:COLUMN: ...") and
 * why, and an accepted one is within the bounds the evaluator relies on.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert.h"
#include "scale.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The compound parser: an error names its place; an accepted condition is in bounds. */
static int cond_check(const char *text)
{
	struct alert_cond c;
	char err[256];
	int line, col, rc;
	uint32_t i;

	rc = alert__parse_cond(text, &c, err, sizeof(err));
	if (rc == -ENOMEM)
		return 0;
	if (rc)
		return sscanf(err, "%d:%d: ", &line, &col) != 2 || line < 1 || col < 1 ||
		       !strstr(err, ": ");
	if (!c.n || c.n > ALERT_TERMS_MAX)
		return 1;
	for (i = 0; i < c.n; i++) {
		const struct alert_expr *x = &c.term[i];

		if (x->q.nm > ALERT_MATCHERS_MAX || !x->q.name[0] || !isfinite(x->threshold))
			return 1;
		if ((x->q.fn == ALERT_FN_TREND || x->q.fn == ALERT_FN_FORECAST) &&
		    (x->q.window_ms < 1000 || x->q.window_ms > 86400000))
			return 1;
		if (x->with_confidence && !(x->min_confidence >= 0 && x->min_confidence <= 1))
			return 1;
		if (x->q.inner == ALERT_FN_QUANTILE && !(x->q.inner_q > 0 && x->q.inner_q < 1))
			return 1;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct alert_expr x;
	struct scale_rule r;
	char err[256], *text;
	int64_t ms;
	int line, col;

	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = 0;
	if (alert__parse_expr(text, &x, err, sizeof(err))) {
		if (sscanf(err, "%d:%d: ", &line, &col) != 2 || line < 1 || col < 1 ||
		    !strstr(err, ": "))
			abort(); /* every error names its place */
	} else {
		if (x.q.nm > ALERT_MATCHERS_MAX || !x.q.name[0] || !isfinite(x.threshold))
			abort();
		if (x.q.fn == ALERT_FN_QUANTILE && !(x.q.q > 0 && x.q.q < 1))
			abort();
		if (!strcmp(x.q.name, "*") && x.q.fn != ALERT_FN_ANOMALY &&
		    x.q.fn != ALERT_FN_EVENT)
			abort();
	}
	if (cond_check(text))
		abort();
	if (scale__parse_action(text, &r, err, sizeof(err))) {
		if (sscanf(err, "%d:%d: ", &line, &col) != 2 || line != 1 || col < 1 ||
		    (size_t)col > size + 1)
			abort();
	} else if (!(r.amount != 0 && isfinite(r.amount))) {
		abort();
	}
	if (!alert__parse_duration(text, &ms) && ms < 0)
		abort();
	if (alert__template_check(text, err, sizeof(err)) && !err[0])
		abort();
	free(text);
	return 0;
}
