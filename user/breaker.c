// SPDX-License-Identifier: MIT
/* breaker: closed / open / half-open over batches of request outcomes; see breaker.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "breaker.h"

const char *const breaker_state_names[3] = {"closed", "open", "half_open"};

void breaker__params_default(struct breaker_params *p)
{
	p->error_ratio = 0.5;
	p->min_requests = 10;
	p->consecutive_failures = 5;
	p->window_ms = 30000;
	p->open_wait_ms = 30000;
	p->open_wait_max_ms = 300000;
	p->half_open_successes = 3;
}

int breaker__check(const struct breaker_params *p, char *err, size_t errlen)
{
	if (!(p->error_ratio > 0 && p->error_ratio <= 1)) {
		snprintf(err, errlen, "breaker: error_ratio must be above 0 and at most 1 (0.5)");
		return -EINVAL;
	}
	if (p->min_requests < 1) {
		snprintf(err, errlen, "breaker: min_requests must be at least 1 (10)");
		return -EINVAL;
	}
	if (p->window_ms < BREAKER_BUCKETS) {
		snprintf(err, errlen, "breaker: window must be at least %d ms (30s)",
			 BREAKER_BUCKETS);
		return -EINVAL;
	}
	if (p->open_wait_ms <= 0 || p->open_wait_max_ms < p->open_wait_ms) {
		snprintf(err, errlen,
			 "breaker: open_wait must be above 0 and open_wait_max at least open_wait "
			 "(30s, 300s)");
		return -EINVAL;
	}
	if (p->half_open_successes < 1) {
		snprintf(err, errlen, "breaker: half_open_successes must be at least 1 (3)");
		return -EINVAL;
	}
	return 0;
}

static void clear_window(struct breaker *b)
{
	int i;

	for (i = 0; i < BREAKER_BUCKETS; i++) {
		b->bucket_start[i] = -1;
		b->ok[i] = 0;
		b->failed[i] = 0;
	}
}

void breaker__init(struct breaker *b, int64_t now_ms)
{
	memset(b, 0, sizeof(*b));
	b->state = BREAKER_CLOSED;
	b->since_ms = now_ms;
	clear_window(b);
}

void breaker__window(const struct breaker *b, const struct breaker_params *p, int64_t now_ms,
		     uint32_t *ok, uint32_t *failed)
{
	int i;

	*ok = 0;
	*failed = 0;
	for (i = 0; i < BREAKER_BUCKETS; i++)
		if (b->bucket_start[i] >= 0 && b->bucket_start[i] > now_ms - p->window_ms &&
		    b->bucket_start[i] <= now_ms) {
			*ok += b->ok[i];
			*failed += b->failed[i];
		}
}

static void add(struct breaker *b, const struct breaker_params *p, int64_t now_ms, uint32_t ok,
		uint32_t failed)
{
	int64_t span = p->window_ms / BREAKER_BUCKETS, start = now_ms / span * span;
	int i = (int)(now_ms / span % BREAKER_BUCKETS);

	if (b->bucket_start[i] != start) {
		b->bucket_start[i] = start;
		b->ok[i] = 0;
		b->failed[i] = 0;
	}
	b->ok[i] += ok;
	b->failed[i] += failed;
}

static void go(struct breaker *b, enum breaker_state to, int64_t now_ms, struct breaker_change *c)
{
	c->from = b->state;
	c->to = to;
	c->time_ms = now_ms;
	b->state = to;
	b->since_ms = now_ms;
	b->consecutive = 0;
	b->probes = 0;
	clear_window(b);
}

/* Opens b: the first wait after closed, else the last one doubled, within the cap. */
static void trip(struct breaker *b, const struct breaker_params *p, int64_t now_ms,
		 struct breaker_change *c)
{
	if (b->state == BREAKER_CLOSED) {
		b->reopens = 0;
		b->wait_ms = p->open_wait_ms;
	} else {
		b->reopens++;
		b->wait_ms = b->wait_ms > p->open_wait_max_ms / 2 ? p->open_wait_max_ms
								  : b->wait_ms * 2;
	}
	if (b->wait_ms > p->open_wait_max_ms)
		b->wait_ms = p->open_wait_max_ms;
	go(b, BREAKER_OPEN, now_ms, c);
	b->until_ms = now_ms + b->wait_ms;
}

int breaker__update(struct breaker *b, const struct breaker_params *p, int64_t now_ms, uint32_t ok,
		    uint32_t failed, struct breaker_change out[2])
{
	uint32_t wok, wfailed;
	int n = 0;

	if (b->state == BREAKER_OPEN && now_ms >= b->until_ms) {
		go(b, BREAKER_HALF_OPEN, now_ms, &out[n]);
		snprintf(out[n].reason, sizeof(out[n].reason),
			 "open for %lld ms: letting probe requests through", (long long)b->wait_ms);
		/* This batch was made while it was open (most of it): the probes are the next. */
		return n + 1;
	}
	switch (b->state) {
	case BREAKER_OPEN:
		break;
	case BREAKER_HALF_OPEN:
		if (failed) {
			trip(b, p, now_ms, &out[n]);
			snprintf(out[n].reason, sizeof(out[n].reason),
				 "%u probe request%s failed in half-open: open for %lld ms", failed,
				 failed == 1 ? "" : "s", (long long)b->wait_ms);
			n++;
			break;
		}
		b->probes += ok;
		if (b->probes >= p->half_open_successes) {
			uint32_t probes = b->probes;

			go(b, BREAKER_CLOSED, now_ms, &out[n]);
			snprintf(out[n].reason, sizeof(out[n].reason),
				 "%u probe requests succeeded in half-open", probes);
			b->reopens = 0;
			b->wait_ms = 0;
			n++;
		}
		break;
	case BREAKER_CLOSED:
		if (!ok && !failed)
			break;
		add(b, p, now_ms, ok, failed);
		b->consecutive = ok ? 0 : b->consecutive + failed;
		breaker__window(b, p, now_ms, &wok, &wfailed);
		if (p->consecutive_failures && b->consecutive >= p->consecutive_failures) {
			uint32_t run = b->consecutive;

			trip(b, p, now_ms, &out[n]);
			snprintf(out[n].reason, sizeof(out[n].reason),
				 "%u consecutive failures (threshold %u): open for %lld ms", run,
				 p->consecutive_failures, (long long)b->wait_ms);
			n++;
		} else if (wok + wfailed >= p->min_requests &&
			   wfailed >= p->error_ratio * (wok + wfailed)) {
			trip(b, p, now_ms, &out[n]);
			snprintf(
				out[n].reason, sizeof(out[n].reason),
				"error ratio %.2f over %u requests in %lld s (threshold %.2f): open "
				"for %lld ms",
				(double)wfailed / (wok + wfailed), wok + wfailed,
				(long long)(p->window_ms / 1000), p->error_ratio,
				(long long)b->wait_ms);
			n++;
		}
		break;
	}
	return n;
}
