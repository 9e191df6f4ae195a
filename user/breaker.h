/* SPDX-License-Identifier: MIT */
/*
 * breaker: the circuit breaker of one pool instance, as a pure state machine over request
 * outcomes (the pattern of M. Nygard, "Release It!", 2nd ed., ch. 5; thresholds as
 * resilience4j's CircuitBreaker: a failure-rate threshold over a sliding time window that
 * counts only once it holds a minimum number of calls).
 *
 *   closed    -> open       the window holds at least min_requests requests and the share that
 *                           failed is at least error_ratio, or consecutive_failures failures came
 *                           in a row (0: that test is off)
 *   open      -> half-open  after the open wait: open_wait the first time, doubled each time
 *                           the breaker opens again from half-open, at most open_wait_max
 *   half-open -> closed     after half_open_successes successes
 *   half-open -> open       on any failure (the wait doubles)
 *
 * Outcomes come in batches (what one tick saw of an instance): their order inside a batch is
 * unknown, so a batch holding a success ends a run of consecutive failures, and a batch holding
 * both in half-open reopens the breaker. Outcomes that arrive while open are not counted: the
 * instance should be getting no traffic. Closing or opening empties the window.
 *
 * Pure: the clock is the caller's now_ms (milliseconds, non-decreasing), no I/O, no allocation.
 */
#ifndef SW_BREAKER_H
#define SW_BREAKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Buckets of the sliding window: it moves by window / BREAKER_BUCKETS. */
#define BREAKER_BUCKETS 10

enum breaker_state { BREAKER_CLOSED, BREAKER_OPEN, BREAKER_HALF_OPEN };

extern const char *const breaker_state_names[3]; /* "closed", "open", "half_open" */

struct breaker_params {
	double error_ratio; /* (0, 1], default 0.5 */
	uint32_t min_requests; /* >= 1, default 10 */
	uint32_t consecutive_failures; /* 0: off, default 5 */
	int64_t window_ms; /* >= BREAKER_BUCKETS ms, default 30 s */
	int64_t open_wait_ms; /* > 0, default 30 s */
	int64_t open_wait_max_ms; /* >= open_wait_ms, default 300 s */
	uint32_t half_open_successes; /* >= 1, default 3 */
};

struct breaker {
	enum breaker_state state;
	int64_t since_ms; /* when it entered state */
	int64_t until_ms; /* open: when it turns half-open */
	int64_t wait_ms; /* open: the wait in force */
	uint32_t reopens; /* times it opened since it was last closed, minus one */
	uint32_t consecutive; /* failures in a row, closed */
	uint32_t probes; /* successes in half-open */
	int64_t bucket_start[BREAKER_BUCKETS]; /* start of the bucket's span, -1: empty */
	uint32_t ok[BREAKER_BUCKETS], failed[BREAKER_BUCKETS];
};

/* One change of state. */
struct breaker_change {
	enum breaker_state from, to;
	int64_t time_ms;
	char reason[128]; /* "error ratio 0.60 over 12 requests in 30 s", ... */
};

/* breaker__params_default - the defaults above into p. */
void breaker__params_default(struct breaker_params *p);

/*
 * breaker__check - whether p is usable: 0, or -EINVAL with "breaker: what is wrong" in err
 * (errlen bytes) naming the key and its bounds.
 */
int breaker__check(const struct breaker_params *p, char *err, size_t errlen);

/* breaker__init - a closed breaker with an empty window, since now_ms. */
void breaker__init(struct breaker *b, int64_t now_ms);

/*
 * breaker__update - the time is now_ms and the instance answered ok requests and failed
 * failed ones since the last call. An open breaker whose wait is over turns half-open, and
 * those outcomes, made while it was open (most of them), are not probes: the next call's
 * are. Otherwise the outcomes are applied. A change of state goes to out[0]; there is at
 * most one a call (out has room for two, as callers were written for). Returns how many
 * (0 or 1). p must pass breaker__check().
 */
int breaker__update(struct breaker *b, const struct breaker_params *p, int64_t now_ms, uint32_t ok,
		    uint32_t failed, struct breaker_change out[2]);

/*
 * breaker__window - the requests answered and failed within the window ending at now_ms, into
 * *ok and *failed.
 */
void breaker__window(const struct breaker *b, const struct breaker_params *p, int64_t now_ms,
		     uint32_t *ok, uint32_t *failed);

#endif
