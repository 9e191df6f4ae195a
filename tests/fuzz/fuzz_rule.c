// SPDX-License-Identifier: MIT
/*
 * Fuzz target: the alert rule condition parser, durations and annotation templates must
 * never crash; a rejected condition always says where ("LINE:COLUMN: ...") and why, and an
 * accepted one is within the bounds the evaluator relies on.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct alert_expr x;
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
	if (!alert__parse_duration(text, &ms) && ms < 0)
		abort();
	if (alert__template_check(text, err, sizeof(err)) && !err[0])
		abort();
	free(text);
	return 0;
}
