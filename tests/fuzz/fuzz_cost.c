// SPDX-License-Identifier: MIT
/*
 * Fuzz target: an agent's saved cost state (cost__restore(), what the store's database gives
 * back at start). Whatever the bytes, restoring must not crash and either refuse them or leave
 * a state that accounts a tick, publishes a view with finite spend, and saves to a text that
 * restores again to the same saved text.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cost.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct saved {
	char *text;
	size_t len;
};

static int keep(void *ctx, const char *agent, const char *text, size_t len)
{
	struct saved *s = ctx;

	(void)agent;
	free(s->text);
	s->text = malloc(len + 1);
	if (!s->text)
		abort();
	memcpy(s->text, text, len);
	s->len = len;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cost_requests r = {"llm-api", 10, 8};
	struct cost_input in = {
		.agent = "coder", .cpu_ns = 5000000000ULL, .requests = &r, .nrequests = 1};
	struct saved a = {0}, b = {0};
	struct cost_params p;
	struct cost_event ev[4];
	struct cost_view *v;
	struct cost *c;
	int i;

	cost__params_default(&p);
	p.base.cpu_second_usd = 0.5;
	p.base.nprices = 1;
	strcpy(p.base.prices[0].upstream, "llm-api");
	p.base.prices[0].request_usd = 0.01;
	c = cost__new(&p);
	if (!c)
		abort();
	if (cost__restore(c, "coder", (const char *)data, size)) {
		cost__free(c);
		return 0;
	}
	if (cost__update(c, 1.7e9, &in, 1, ev, 4) < 0)
		abort();
	v = cost__view(c, 1.7e9);
	if (!v)
		abort();
	for (i = 0; i < v->n; i++)
		if (!isfinite(v->agents[i].spent) || v->agents[i].spent < 0)
			abort();
	cost__view_free(v);
	if (cost__save(c, true, 0, keep, &a))
		abort();
	cost__free(c);
	c = cost__new(&p);
	if (!c || cost__restore(c, "coder", a.text, a.len) || cost__save(c, true, 0, keep, &b) ||
	    a.len != b.len || memcmp(a.text, b.text, a.len))
		abort();
	cost__free(c);
	free(a.text);
	free(b.text);
	return 0;
}
