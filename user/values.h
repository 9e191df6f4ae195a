/* SPDX-License-Identifier: MIT */
/*
 * values: the figures alert rules read, per agent, out of the last snapshots through the
 * catalogue (catalog.h), so that a rule names a family the way /metrics shows it.
 *
 * A name resolves to the catalogue family swarmwatch_agent_<name>, trying the suffixes _total,
 * _seconds, _bytes, _seconds_total and _bytes_total in that order (request_duration ->
 * swarmwatch_agent_request_duration_seconds), or to a derived figure:
 *   error_ratio    requests answered 5xx or failed (status "5xx" or "error") / all requests
 *   success_ratio  requests answered 2xx or 3xx / all requests
 *   load           CPU seconds per second of the agent / CPUs online (1 = every CPU busy)
 * Each figure is over the window: the newest snapshot against the oldest one kept, window_s
 * apart at most. Ratios need min_requests requests in the window, else they are absent.
 *
 * rate(x) is the counter's increase over the window per second; deriv(x) the gauge's change
 * per second; pNN(x) the quantile of the histogram's observations in the window, interpolated
 * as Prometheus' histogram_quantile(); a bare counter or gauge is its latest value. Series of
 * the family with the agent's label and every matcher are summed.
 *
 * anomaly(signal) is the tick's anomaly score of the signal (anomaly(*): the highest), with its
 * confidence and the signal as the likely cause. event(crash_loop) is 1 while the agent had
 * crash_loop_exits or more exits by error or signal in the window and still has live
 * instances (all of them stopped is a teardown, not a loop); event(oom_kill) while an OOM
 * kill falls in the window.
 *
 * One thread: values__push() and values__lookup() are called by the tick.
 */
#ifndef SW_VALUES_H
#define SW_VALUES_H

#include <stdint.h>

#include "alert.h"

struct snapshot;
struct values;

struct values_params {
	double window_s; /* span of rates and ratios, default 10 s */
	double interval_s; /* tick interval, to size the ring */
	uint32_t min_requests; /* requests in the window before a ratio is given, default 5 */
	uint32_t crash_loop_exits; /* error/signal exits in the window, default 3 */
};

void values__params_default(struct values_params *p, double interval_s);

/* NULL with errno ENOMEM or EINVAL (a window or interval not positive). */
struct values *values__new(const struct values_params *p);
void values__free(struct values *v);

/* Keeps s (a reference is taken) as the newest snapshot; drops those older than the window. */
void values__push(struct values *v, struct snapshot *s);

/* An alert_lookup_fn over the snapshots kept; ctx is the struct values. */
int values__lookup(void *ctx, const struct alert_query *q, const char *agent,
		   struct alert_value *out);

/*
 * values__check - whether q can ever be answered: the name resolves and the function fits the
 * family's type (pNN needs a histogram; rate and deriv a counter or gauge). Returns 0, or
 * -ENOENT / -EINVAL with a one-line reason in err.
 */
int values__check(const struct alert_query *q, char *err, size_t errlen);

#endif
