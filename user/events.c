// SPDX-License-Identifier: MIT
/*
 * events: verdicts on process events that need no learning (see events.h).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "events.h"

const char *const events_names[] = {
	[EVENTS_CRASH_LOOP] = "crash_loop",
	[EVENTS_OOM_KILL] = "oom_kill",
	[EVENTS_RESTARTS] = "restarts",
	[EVENTS_KIND_COUNT] = NULL,
};

void events__params_default(struct events_params *p)
{
	memset(p, 0, sizeof(*p));
	p->window_s = 300.0;
	p->crash_exits = 3;
	p->oom_kills = 1;
	p->restarts = 5;
}

int events__init(struct events_state *s, const struct events_params *p)
{
	if (!(p->window_s > 0.0) || !isfinite(p->window_s) || !p->crash_exits || !p->oom_kills ||
	    !p->restarts)
		return -EINVAL;
	memset(s, 0, sizeof(*s));
	s->p = *p;
	return 0;
}

/* Drop the ticks that left the window ending at ts. */
static void ring_expire(struct events_ring *r, double ts, double window_s)
{
	while (r->n && r->ts[r->head] <= ts - window_s) {
		r->sum -= r->count[r->head];
		r->head = (r->head + 1) % EVENTS_SLOTS;
		r->n--;
	}
}

/*
 * Record count events at ts. When every slot is taken, the two oldest ticks merge into one
 * stamped with the newer time: the count is kept and leaves the window a little later, never
 * earlier, so a verdict is not lost to a full ring.
 */
static void ring_add(struct events_ring *r, double ts, uint32_t count)
{
	uint32_t next;

	if (!count)
		return;
	if (r->n == EVENTS_SLOTS) {
		next = (r->head + 1) % EVENTS_SLOTS;
		r->count[next] += r->count[r->head];
		r->head = next;
		r->n--;
	}
	next = (r->head + r->n) % EVENTS_SLOTS;
	r->ts[next] = ts;
	r->count[next] = count;
	r->n++;
	r->sum += count;
}

static double ring_first(const struct events_ring *r)
{
	return r->n ? r->ts[r->head] : NAN;
}

static void set_hit(struct events_state *s, struct events_verdict *v, enum events_kind k,
		    uint64_t count, uint32_t threshold, double first)
{
	struct events_hit *h = &v->hit[k];

	h->count = count;
	h->active = count >= threshold;
	h->raised = h->active && !s->active[k];
	h->first_ts = count ? first : NAN;
	s->active[k] = h->active;
	v->anomaly |= h->active;
}

int events__update(struct events_state *s, double ts, const struct events_delta *d,
		   struct events_verdict *v)
{
	const uint32_t in[EVENTS_IN_COUNT] = {
		[EVENTS_IN_ERROR] = d->exits_error,
		[EVENTS_IN_SIGNAL] = d->exits_signal,
		[EVENTS_IN_OOM] = d->oom_kills,
		[EVENTS_IN_START] = d->starts,
	};
	struct events_ring *r = s->ring;
	uint32_t i;

	if (!isfinite(ts))
		return -EINVAL;
	memset(v, 0, sizeof(*v));
	for (i = 0; i < EVENTS_IN_COUNT; i++) {
		ring_expire(&r[i], ts, s->p.window_s);
		ring_add(&r[i], ts, in[i]);
	}
	v->window_s = s->p.window_s;
	v->exits_error = r[EVENTS_IN_ERROR].sum;
	v->exits_signal = r[EVENTS_IN_SIGNAL].sum;
	set_hit(s, v, EVENTS_CRASH_LOOP, v->exits_error + v->exits_signal, s->p.crash_exits,
		fmin(ring_first(&r[EVENTS_IN_ERROR]), ring_first(&r[EVENTS_IN_SIGNAL])));
	set_hit(s, v, EVENTS_OOM_KILL, r[EVENTS_IN_OOM].sum, s->p.oom_kills,
		ring_first(&r[EVENTS_IN_OOM]));
	set_hit(s, v, EVENTS_RESTARTS, r[EVENTS_IN_START].sum, s->p.restarts,
		ring_first(&r[EVENTS_IN_START]));
	return 0;
}

int events__explain(const struct events_verdict *v, char *buf, size_t len)
{
	const struct events_hit *h = v->hit;
	int n = 0, w;

	if (len)
		buf[0] = '\0';
#define APPEND(...)                                                                              \
	do {                                                                                     \
		w = snprintf(buf + (n < (int)len ? n : (int)len), (size_t)n < len ? len - n : 0, \
			     __VA_ARGS__);                                                       \
		n += w > 0 ? w : 0;                                                              \
	} while (0)
	if (h[EVENTS_CRASH_LOOP].active)
		APPEND("crash loop: %llu error/signal exits in %.0f s (%llu error, %llu signal)",
		       (unsigned long long)h[EVENTS_CRASH_LOOP].count, v->window_s,
		       (unsigned long long)v->exits_error, (unsigned long long)v->exits_signal);
	if (h[EVENTS_OOM_KILL].active)
		APPEND("%s%llu OOM kill%s in %.0f s", n ? "; " : "",
		       (unsigned long long)h[EVENTS_OOM_KILL].count,
		       h[EVENTS_OOM_KILL].count == 1 ? "" : "s", v->window_s);
	if (h[EVENTS_RESTARTS].active)
		APPEND("%s%llu process starts in %.0f s", n ? "; " : "",
		       (unsigned long long)h[EVENTS_RESTARTS].count, v->window_s);
#undef APPEND
	return n;
}
