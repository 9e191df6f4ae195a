// SPDX-License-Identifier: MIT
/*
 * LLM call accounting: the price table (parse errors, patterns, each token priced once), and
 * exchanges fed as the kernel hands them over: a new request on a channel ends the last, usage
 * missing is counted and never zero, 429s per model, model labels folded past llm.max_models,
 * headroom per agent and upstream, idle exchanges ended.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "llm.h"
#include "snapshot.h"

static const char table[] =
	"{\"date\": \"2025-08-01\", \"source\": \"test\", \"currency\": \"USD\", \"prices\": [\n"
	" {\"provider\": \"openai\", \"model\": \"gpt-4o-mini*\", \"input\": 0.15, "
	"\"cache_read\": 0.075, \"output\": 0.6},\n"
	" {\"provider\": \"openai\", \"model\": \"gpt-4o*\", \"input\": 2.5, \"output\": 10, "
	"\"reasoning\": 20},\n"
	" {\"provider\": \"anthropic\", \"model\": \"claude-*\", \"input\": 3, \"cache_write\": "
	"3.75, \"cache_read\": 0.3, \"output\": 15}]}";

static void test_prices_parse(void **state)
{
	static const char *const bad[] = {
		"{\"prices\": 1}",
		"{\"prices\": [{\"provider\": \"openai\", \"model\": \"x\", \"input\": 1}]}",
		"{\"prices\": [{\"provider\": \"openai\", \"model\": \"x\", \"input\": -1, "
		"\"output\": 1}]}",
		"{\"prices\": [{\"provider\": \"openai\", \"model\": \"x\", \"input\": 1, "
		"\"output\": 1, \"cached\": 1}]}",
		"{\"currency\": \"EUR\", \"prices\": []}",
		"{\"dates\": \"x\", \"prices\": []}",
		"{\"prices\": [",
	};
	struct llm_prices p;
	char err[256];
	size_t i;

	(void)state;
	assert_int_equal(llmprices__parse(table, "t.json", &p, err, sizeof(err)), 0);
	assert_int_equal(p.n, 3);
	assert_string_equal(p.date, "2025-08-01");
	llmprices__free(&p);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		assert_int_equal(llmprices__parse(bad[i], "t.json", &p, err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, "t.json"));
		assert_null(strchr(err, '\n'));
		assert_null(p.p);
	}
}

static struct llm_result result(const char *model, __u64 in, __u64 out, __u64 cr, __u64 cw,
				__u64 reason)
{
	struct llm_result r = {.usage = true, .request_model = model, .response_model = ""};
	__u64 v[LLM_TOKEN_MAX] = {in, out, cr, cw, reason};
	int t;

	for (t = 0; t < LLM_TOKEN_MAX; t++) {
		r.tokens[t] = v[t];
		if (v[t] || t < 2)
			r.token_have |= 1u << t;
	}
	return r;
}

static void test_cost(void **state)
{
	struct llm_prices p;
	struct llm_result r;
	double c[LLM_TOKEN_MAX];
	char err[256];

	(void)state;
	assert_int_equal(llmprices__parse(table, "t.json", &p, err, sizeof(err)), 0);
	/* The first matching pattern: gpt-4o-mini, not gpt-4o*; cache reads at their price. */
	r = result("gpt-4o-mini-2024-07-18", 1000000, 200000, 400000, 0, 0);
	assert_true(llmprices__cost(&p, "openai", &r, c));
	assert_true(fabs(c[LLM_TOKEN_INPUT] - 0.6 * 0.15) < 1e-12);
	assert_true(fabs(c[LLM_TOKEN_CACHE_READ] - 0.4 * 0.075) < 1e-12);
	assert_true(fabs(c[LLM_TOKEN_OUTPUT] - 0.2 * 0.6) < 1e-12);
	/* Reasoning is inside output: priced once, at its own price. */
	r = result("gpt-4o", 0, 1000000, 0, 0, 250000);
	assert_true(llmprices__cost(&p, "openai", &r, c));
	assert_true(fabs(c[LLM_TOKEN_OUTPUT] - 0.75 * 10) < 1e-12);
	assert_true(fabs(c[LLM_TOKEN_REASONING] - 0.25 * 20) < 1e-12);
	/* Anthropic: input includes cache writes and reads (normalised by the parser). */
	r = result("claude-sonnet-4-5", 1000000 + 200000 + 300000, 0, 300000, 200000, 0);
	assert_true(llmprices__cost(&p, "anthropic", &r, c));
	assert_true(fabs(c[LLM_TOKEN_INPUT] - 3.0) < 1e-12);
	assert_true(fabs(c[LLM_TOKEN_CACHE_WRITE] - 0.2 * 3.75) < 1e-12);
	assert_true(fabs(c[LLM_TOKEN_CACHE_READ] - 0.3 * 0.3) < 1e-12);
	/* Another provider's entry, no entry, no usage: no cost. */
	r = result("gpt-4o", 10, 10, 0, 0, 0);
	assert_false(llmprices__cost(&p, "anthropic", &r, c));
	r = result("llama3", 10, 10, 0, 0, 0);
	assert_false(llmprices__cost(&p, "openai", &r, c));
	r.usage = false;
	assert_false(llmprices__cost(&p, "openai", &r, c));
	assert_true(c[LLM_TOKEN_INPUT] == 0);
	llmprices__free(&p);
}

/* --- exchanges --- */

static struct config cfg;
static struct llm_prices prices;

static void feed(struct llm *l, __u8 kind, __u32 flags, __u64 id, __u64 ts, const char *data)
{
	struct sw_llm_event *e = calloc(1, sizeof(*e));

	assert_non_null(e);
	e->kind = kind;
	e->flags = flags;
	e->family = AF_INET;
	e->port = 443;
	e->slot = 3;
	e->tgid = 42;
	e->id = id;
	e->ts_ns = ts;
	e->req_ns = 1000;
	e->addr[0] = htonl(0x7f000001);
	e->len = strlen(data);
	memcpy(e->data, data, e->len);
	llm__event(l, e, offsetof(struct sw_llm_event, data) + e->len);
	free(e);
}

static void call(struct llm *l, __u64 id, const char *model, const char *resp)
{
	char req[256];

	snprintf(req, sizeof(req),
		 "POST /v1/chat/completions HTTP/1.1\r\n\r\n{\"model\":\"%s\",\"messages\":[]}",
		 model);
	feed(l, SW_LLM_REQUEST, SW_LLM_F_START, id, 1000, req);
	feed(l, SW_LLM_RESPONSE, 0, id, 1000 + 250000000, resp);
}

static const char ok_body[] =
	"HTTP/1.1 200 OK\r\nContent-Length: 63\r\n"
	"x-ratelimit-remaining-tokens: 900\r\n\r\n"
	"{\"usage\":{\"prompt_tokens\":100,\"completion_tokens\":20},\"x\":1}";

static void test_exchanges(void **state)
{
	static struct agent_snap a;
	struct snapshot s = {.agents = &a, .nagents = 1};
	struct llm_view *v;
	struct llm *l;
	char err[256];
	double total;
	int i;

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	cfg.nllm_upstreams = 1;
	cfg.llm_upstreams[0] = (struct llm_upstream){.family = AF_INET, .provider = "openai"};
	cfg.llm_upstreams[0].addr[0] = htonl(0x7f000001);
	cfg.llm_max_models = 2;
	assert_int_equal(llmprices__parse(table, "t.json", &prices, err, sizeof(err)), 0);
	l = llm__new(&cfg, &prices);
	assert_non_null(l);
	snprintf(a.name, sizeof(a.name), "coder");
	a.slot = 3;

	call(l, 1, "gpt-4o", ok_body);
	/* A stream without usage: missing, not zero. */
	call(l, 1, "gpt-4o",
	     "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: 24\r\n\r\n"
	     "data: {\"x\":1}\n\ndata: [D");
	/* A new request on the channel ends the stream above; this answer has no length. */
	call(l, 1, "gpt-4o", "HTTP/1.1 429 Too Many Requests\r\nretry-after: 3\r\n\r\n");
	call(l, 2, "gpt-4o-mini", ok_body); /* second model */
	call(l, 2, "claude-x", ok_body); /* a third: folded into "other" */
	call(l, 2, "gpt-4o-mini",
	     "GET /v1/models HTTP/1.1\r\n\r\n"); /* not a response: uncounted */
	v = llm__view(l, &s, NULL, 1000 + 250000000);
	assert_non_null(v);
	assert_int_equal(v->inflight, 2); /* the 429 (no length) and the last, still open */
	llm__view_free(v);
	/* Idle for longer than LLM_IDLE_NS: ended. */
	v = llm__view(l, &s, NULL, 1000 + 250000000 + LLM_IDLE_NS + 1);
	assert_int_equal(v->inflight, 0);
	assert_int_equal(v->nseries, 3);
	for (i = 0; i < v->nseries; i++) {
		const struct llm_series *x = &v->series[i];

		assert_int_equal(x->agent, 0);
		assert_string_equal(x->provider, "openai");
		assert_string_equal(x->operation, "chat");
		if (!strcmp(x->model, "gpt-4o")) {
			assert_int_equal(x->requests[LLM_ST_2XX], 2);
			assert_int_equal(x->requests[LLM_ST_429], 1);
			assert_int_equal(x->usage_missing, 1);
			assert_true(x->tok_sum[LLM_TOKEN_INPUT] == 100);
			assert_true(fabs(x->cost[LLM_TOKEN_INPUT] - 100 * 2.5 / 1e6) < 1e-15);
			assert_true(fabs(x->dur_sum - 3 * 0.25) < 1e-9);
		} else if (!strcmp(x->model, "gpt-4o-mini")) {
			assert_int_equal(x->requests[LLM_ST_2XX], 1);
		} else {
			assert_string_equal(x->model, "other");
			assert_int_equal(x->requests[LLM_ST_2XX], 1);
			assert_true(x->cost[LLM_TOKEN_INPUT] == 0); /* no price for claude-x */
		}
	}
	total = v->spend_total[0];
	assert_true(total >= 100 * 2.5 / 1e6);
	assert_int_equal(v->nroom, 1);
	assert_true(v->room[0].rate[LLM_RATE_TOKENS] == 900);
	assert_string_equal(v->room[0].server, "127.0.0.1:443");
	llm__view_free(v);
	/* Spend of the day: the calls' cost, from 0 again on the next UTC day. */
	s.time = 86400.0 * 20000 + 3600;
	call(l, 2, "gpt-4o", ok_body);
	v = llm__view(l, &s, NULL, 2 * LLM_IDLE_NS);
	assert_true(fabs(v->spend_today[0] - (100 * 2.5 + 20 * 10.0) / 1e6) < 1e-15);
	llm__view_free(v);
	s.time += 86400;
	v = llm__view(l, &s, NULL, 2 * LLM_IDLE_NS);
	assert_true(v->spend_today[0] == 0);
	/* The spend since start goes on across days (the budgets' cost kind llm counts from it). */
	assert_true(fabs(v->spend_total[0] - (total + (100 * 2.5 + 20 * 10.0) / 1e6)) < 1e-15);
	llm__view_free(v);
	/* A reclaimed slot's next agent starts from nothing. */
	snprintf(a.name, sizeof(a.name), "reviewer");
	v = llm__view(l, &s, NULL, 2 * LLM_IDLE_NS);
	assert_true(v->spend_total[0] < 0 && v->spend_today[0] < 0);
	llm__view_free(v);
	snprintf(a.name, sizeof(a.name), "coder");
	/* Agents the snapshot does not have are left out. */
	a.slot = 4;
	v = llm__view(l, &s, NULL, 0);
	assert_int_equal(v->nseries, 0);
	llm__view_free(v);
	llm__free(l);
	llmprices__free(&prices);
	/* A figure for bench/RESULTS.md: memory per response in flight, whatever its size. */
	printf("# %zu bytes per exchange in flight, %zu per series\n", llm__exchange_bytes(),
	       sizeof(struct llm_series));
	assert_true(llm__exchange_bytes() < 32 * 1024);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prices_parse),
		cmocka_unit_test(test_cost),
		cmocka_unit_test(test_exchanges),
	};

	return cmocka_run_group_tests_name("llm", tests, NULL, NULL);
}
