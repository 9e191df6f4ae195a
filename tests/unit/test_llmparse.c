// SPDX-License-Identifier: MIT
/*
 * The LLM call parser on each provider's shapes: OpenAI chat completions (JSON, SSE with and
 * without include_usage), Responses, Anthropic Messages (cumulative output in message_delta),
 * Gemini usageMetadata, Ollama NDJSON; chunked framing, bodies fed in pieces of every size,
 * reads cut in the middle by the kernel, interim responses, rate-limit headers, and the cases
 * where nothing may be reported.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmparse.h"

struct call {
	struct llm_request q;
	struct llm_response r;
	struct llm_result res;
	bool ended;
};

static struct call *call_new(const char *request)
{
	struct call *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	llmparse__request_init(&c->q);
	llmparse__request_feed(&c->q, request, strlen(request));
	llmparse__response_init(&c->r);
	return c;
}

/* Feeds the response in pieces of `piece` bytes (0: at once), at 1 ms apart from t = 1 s. */
static void respond(struct call *c, const char *resp, size_t len, size_t piece)
{
	size_t off = 0;
	__u64 ts = 1000000000ULL;

	if (!piece)
		piece = len;
	while (off < len) {
		size_t n = len - off < piece ? len - off : piece;

		c->ended = llmparse__response_feed(&c->r, c->q.api, resp + off, n, n, 0, ts);
		off += n;
		ts += 1000000;
	}
	llmparse__finish(&c->q, &c->r, &c->res);
}

/* A chunked body: each part one chunk, then the last chunk. */
static char *chunked(const char *head, const char *const *parts, int n)
{
	size_t cap = strlen(head) + 64, len;
	char *out;
	int i;

	for (i = 0; i < n; i++)
		cap += strlen(parts[i]) + 32;
	out = malloc(cap);
	assert_non_null(out);
	len = sprintf(out, "%s", head);
	for (i = 0; i < n; i++)
		len += sprintf(out + len, "%zx\r\n%s\r\n", strlen(parts[i]), parts[i]);
	sprintf(out + len, "0\r\n\r\n");
	return out;
}

#define OPENAI_REQ(extra)                                                                      \
	"POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\nContent-Type: "         \
	"application/json\r\n\r\n{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\"," \
	"\"content\":\"say \\\"usage\\\": {\\\"prompt_tokens\\\": 5}\"}]" extra "}"

static const char openai_json[] =
	"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
	"x-ratelimit-remaining-requests: 499\r\nx-ratelimit-remaining-tokens: 149000\r\n\r\n%s";
static const char openai_body[] =
	"{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"model\":\"gpt-4o-mini-2024-07-18\","
	"\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"the "
	"\\\"usage\\\":{\\\"prompt_tokens\\\":999}\"},\"finish_reason\":\"stop\"}],"
	"\"usage\":{\"prompt_tokens\":1234,\"completion_tokens\":56,\"total_tokens\":1290,"
	"\"prompt_tokens_details\":{\"cached_tokens\":1024},"
	"\"completion_tokens_details\":{\"reasoning_tokens\":10}}}";

static void test_openai_json(void **state)
{
	size_t pieces[] = {0, 1, 7, 100};
	char resp[2048];
	size_t i, len;

	(void)state;
	len = snprintf(resp, sizeof(resp), openai_json, strlen(openai_body), openai_body);
	for (i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++) {
		struct call *c = call_new(OPENAI_REQ(""));

		assert_int_equal(c->q.api, LLM_API_OPENAI_CHAT);
		assert_string_equal(c->q.model, "gpt-4o-mini");
		assert_false(c->q.stream);
		respond(c, resp, len, pieces[i]);
		assert_true(c->ended);
		assert_int_equal(c->res.status, 200);
		assert_true(c->res.usage);
		assert_false(c->res.stream);
		assert_int_equal(c->res.tokens[LLM_TOKEN_INPUT], 1234);
		assert_int_equal(c->res.tokens[LLM_TOKEN_OUTPUT], 56);
		assert_int_equal(c->res.tokens[LLM_TOKEN_CACHE_READ], 1024);
		assert_int_equal(c->res.tokens[LLM_TOKEN_REASONING], 10);
		assert_false(c->res.token_have & (1u << LLM_TOKEN_CACHE_WRITE));
		assert_string_equal(c->res.response_model, "gpt-4o-mini-2024-07-18");
		assert_true(c->r.rate_have & (1u << LLM_RATE_REQUESTS));
		assert_true(c->r.rate[LLM_RATE_REQUESTS] == 499);
		assert_true(c->r.rate[LLM_RATE_TOKENS] == 149000);
		assert_int_equal(c->res.cuts, 0);
		free(c);
	}
}

static const char *const openai_sse[] = {
	"data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o\",\"choices\":"
	"[{\"index\":0,\"delta\":{\"role\":\"assistant\"}}]}\n\n",
	"data: {\"id\":\"c\",\"model\":\"gpt-4o\",\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}"
	"\n\ndata: {\"id\":\"c\",\"model\":\"gpt-4o\",\"choices\":[{\"delta\":{\"content\":\" th",
	"ere\"}}]}\n\n",
	"data: {\"id\":\"c\",\"model\":\"gpt-4o\",\"choices\":[],\"usage\":{\"prompt_tokens\":17,"
	"\"completion_tokens\":3,\"total_tokens\":20}}\n\n",
	"data: [DONE]\n\n",
};

static void test_openai_sse(void **state)
{
	static const char head[] = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; "
				   "charset=utf-8\r\nTransfer-Encoding: chunked\r\n\r\n";
	char *resp = chunked(head, openai_sse, 5);
	size_t pieces[] = {0, 1, 3, 64}, i, first;
	char size[16];

	(void)state;
	for (i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++) {
		struct call *c = call_new(OPENAI_REQ(",\"stream\":true,\"stream_options\":"
						     "{\"include_usage\":true}"));

		assert_true(c->q.stream);
		assert_true(c->q.include_usage);
		respond(c, resp, strlen(resp), pieces[i]);
		assert_true(c->ended);
		assert_true(c->res.stream);
		assert_true(c->res.usage);
		assert_int_equal(c->res.tokens[LLM_TOKEN_INPUT], 17);
		assert_int_equal(c->res.tokens[LLM_TOKEN_OUTPUT], 3);
		assert_string_equal(c->res.response_model, "gpt-4o");
		assert_int_equal(c->r.chunks, 4);
		/* The first body byte follows the head and the first chunk's size line. */
		first = strlen(head) +
			snprintf(size, sizeof(size), "%zx\r\n", strlen(openai_sse[0]));
		assert_int_equal(c->r.first_ns,
				 1000000000ULL + (pieces[i] ? first / pieces[i] * 1000000ULL : 0));
		free(c);
	}
	free(resp);
}

/* A stream without include_usage carries no usage: nothing is reported, not zero. */
static void test_openai_sse_no_usage(void **state)
{
	static const char head[] = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
				   "Transfer-Encoding: chunked\r\n\r\n";
	const char *parts[] = {openai_sse[0], openai_sse[1], openai_sse[2], openai_sse[4]};
	char *resp = chunked(head, parts, 4);
	struct call *c = call_new(OPENAI_REQ(",\"stream\":true"));

	(void)state;
	assert_true(c->q.stream);
	assert_false(c->q.include_usage);
	respond(c, resp, strlen(resp), 0);
	assert_true(c->ended);
	assert_false(c->res.usage);
	assert_int_equal(c->res.token_have, 0);
	assert_int_equal(c->res.status, 200);
	free(c);
	free(resp);
}

static void test_openai_responses(void **state)
{
	static const char req[] = "POST /v1/responses HTTP/1.1\r\nHost: api.openai.com\r\n\r\n"
				  "{\"model\":\"o4-mini\",\"input\":\"hi\",\"stream\":true}";
	static const char *const parts[] = {
		"event: response.created\ndata: {\"type\":\"response.created\",\"response\":{"
		"\"model\":\"o4-mini-2025-04-16\",\"usage\":null}}\n\n",
		"event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\","
		"\"delta\":\"Hello\"}\n\n",
		"event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{"
		"\"model\":\"o4-mini-2025-04-16\",\"output\":[{\"content\":[{\"text\":\"Hello\"}]}],"
		"\"usage\":{\"input_tokens\":36,\"input_tokens_details\":{\"cached_tokens\":0},"
		"\"output_tokens\":87,\"output_tokens_details\":{\"reasoning_tokens\":64},"
		"\"total_tokens\":123}}}\n\n",
	};
	char *resp = chunked("HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
			     "transfer-encoding: chunked\r\n\r\n",
			     parts, 3);
	struct call *c = call_new(req);

	(void)state;
	assert_int_equal(c->q.api, LLM_API_OPENAI_RESPONSES);
	respond(c, resp, strlen(resp), 5);
	assert_true(c->res.usage);
	assert_int_equal(c->res.tokens[LLM_TOKEN_INPUT], 36);
	assert_int_equal(c->res.tokens[LLM_TOKEN_OUTPUT], 87);
	assert_int_equal(c->res.tokens[LLM_TOKEN_REASONING], 64);
	assert_false(c->res.token_have & (1u << LLM_TOKEN_CACHE_READ)); /* zero: not reported */
	assert_string_equal(c->res.response_model, "o4-mini-2025-04-16");
	assert_string_equal(c->res.request_model, "o4-mini");
	free(c);
	free(resp);
}

static void test_anthropic_sse(void **state)
{
	static const char req[] =
		"POST /v1/messages HTTP/1.1\r\nHost: api.anthropic.com\r\n\r\n"
		"{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":1024,\"stream\":true,"
		"\"messages\":[]}";
	static const char *const parts[] = {
		"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\","
		"\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5-20250929\","
		"\"content\":[],\"usage\":{\"input_tokens\":25,\"cache_creation_input_tokens\":100,"
		"\"cache_read_input_tokens\":2000,\"output_tokens\":1}}}\n\n",
		"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
		"\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello\"}}\n\n",
		"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"
		"null},\"usage\":{\"output_tokens\":7}}\n\n",
		"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"
		"\"end_turn\"},\"usage\":{\"output_tokens\":15}}\n\n",
		"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
	};
	char *resp = chunked("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
			     "Transfer-Encoding: chunked\r\n"
			     "anthropic-ratelimit-requests-remaining: 49\r\n"
			     "anthropic-ratelimit-tokens-remaining: 79000\r\n\r\n",
			     parts, 5);
	struct call *c = call_new(req);

	(void)state;
	assert_int_equal(c->q.api, LLM_API_ANTHROPIC);
	respond(c, resp, strlen(resp), 0);
	assert_true(c->ended);
	assert_true(c->res.usage);
	assert_int_equal(c->res.tokens[LLM_TOKEN_INPUT], 25 + 100 + 2000);
	assert_int_equal(c->res.tokens[LLM_TOKEN_OUTPUT], 15); /* the last cumulative count */
	assert_int_equal(c->res.tokens[LLM_TOKEN_CACHE_READ], 2000);
	assert_int_equal(c->res.tokens[LLM_TOKEN_CACHE_WRITE], 100);
	assert_string_equal(c->res.response_model, "claude-sonnet-4-5-20250929");
	assert_true(c->r.rate[LLM_RATE_REQUESTS] == 49);
	assert_true(c->r.rate[LLM_RATE_TOKENS] == 79000);
	free(c);
	free(resp);
}

static void test_anthropic_json(void **state)
{
	static const char req[] =
		"POST /v1/messages HTTP/1.1\r\n\r\n{\"model\":\"claude-haiku-4-5\"}";
	static const char body[] =
		"{\"id\":\"m\",\"type\":\"message\",\"model\":\"claude-haiku-4-5\",\"content\":[{\"type\""
		":\"text\",\"text\":\"hi\"}],\"usage\":{\"input_tokens\":12,\"output_tokens\":6}}";
	char resp[512];
	struct call *c = call_new(req);
	size_t len = snprintf(resp, sizeof(resp),
			      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
			      "Content-Length: %zu\r\n\r\n%s",
			      strlen(body), body);

	(void)state;
	respond(c, resp, len, 0);
	assert_true(c->res.usage);
	assert_int_equal(c->res.tokens[LLM_TOKEN_INPUT], 12);
	assert_int_equal(c->res.tokens[LLM_TOKEN_OUTPUT], 6);
	assert_int_equal(c->res.token_have, (1u << LLM_TOKEN_INPUT) | (1u << LLM_TOKEN_OUTPUT));
	free(c);
}

static void test_gemini(void **state)
{
	static const char req[] =
		"POST /v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse HTTP/1.1\r\n"
		"Host: generativelanguage.googleapis.com\r\n\r\n{\"contents\":[]}";
	static const char *const parts[] = {
		"data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Hel\"}]}}],"
		"\"usageMetadata\":{\"promptTokenCount\":9,\"candidatesTokenCount\":1,"
		"\"totalTokenCount\":10},\"modelVersion\":\"gemini-2.5-flash\"}\r\n\r\n",
		"data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"lo\"}]},\"finishReason\":"
		"\"STOP\"}],\"usageMetadata\":{\"promptTokenCount\":9,\"candidatesTokenCount\":4,"
		"\"cachedContentTokenCount\":3,\"thoughtsTokenCount\":20,\"totalTokenCount\":33},"
		"\"modelVersion\":\"gemini-2.5-flash\"}\r\n\r\n",
	};
	char *resp = chunked("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
			     "Transfer-Encoding: chunked\r\n\r\n",
			     parts, 2);
	struct call *c = call_new(req);

	(void)state;
	assert_int_equal(c->q.api, LLM_API_GEMINI);
	assert_string_equal(c->q.model, "gemini-2.5-flash");
	assert_true(c->q.stream);
	respond(c, resp, strlen(resp), 11);
	assert_true(c->res.usage);
	assert_int_equal(c->res.tokens[LLM_TOKEN_INPUT], 9);
	assert_int_equal(c->res.tokens[LLM_TOKEN_OUTPUT], 4 + 20);
	assert_int_equal(c->res.tokens[LLM_TOKEN_REASONING], 20);
	assert_int_equal(c->res.tokens[LLM_TOKEN_CACHE_READ], 3);
	assert_string_equal(c->res.response_model, "gemini-2.5-flash");
	free(c);
	free(resp);
}

static void test_ollama(void **state)
{
	static const char req[] = "POST /api/chat HTTP/1.1\r\nHost: localhost:11434\r\n\r\n"
				  "{\"model\":\"llama3.2:3b\",\"messages\":[]}";
	static const char *const parts[] = {
		"{\"model\":\"llama3.2:3b\",\"message\":{\"role\":\"assistant\",\"content\":\"Hi\"},"
		"\"done\":false}\n",
		"{\"model\":\"llama3.2:3b\",\"message\":{\"role\":\"assistant\",\"content\":\"\"},"
		"\"done\":true,\"total_duration\":5191566416,\"prompt_eval_count\":26,"
		"\"eval_count\":298,\"eval_duration\":4799921000}\n",
	};
	char *resp = chunked("HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\n"
			     "Transfer-Encoding: chunked\r\n\r\n",
			     parts, 2);
	struct call *c = call_new(req);

	(void)state;
	assert_int_equal(c->q.api, LLM_API_OLLAMA_CHAT);
	assert_true(c->q.stream); /* Ollama's default */
	respond(c, resp, strlen(resp), 0);
	assert_true(c->ended);
	assert_true(c->res.usage);
	assert_int_equal(c->res.tokens[LLM_TOKEN_INPUT], 26);
	assert_int_equal(c->res.tokens[LLM_TOKEN_OUTPUT], 298);
	assert_string_equal(c->res.response_model, "llama3.2:3b");
	assert_int_equal(c->r.chunks, 2);
	free(c);
	free(resp);
}

/* Whether a call streamed is what its response is: the request's "stream" may not be seen. */
static void test_ollama_json_long_prompt(void **state)
{
	static const char body[] = "{\"model\":\"llama3.2\",\"done\":true,\"message\":{\"content\":"
				   "\"hi\"},\"prompt_eval_count\":900,\"eval_count\":2}";
	char resp[512];
	struct call *c = call_new("POST /api/chat HTTP/1.1\r\n\r\n{\"model\":\"llama3.2\","
				  "\"messages\":[{\"content\":\"a very long prompt");
	size_t len = snprintf(resp, sizeof(resp),
			      "HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\n"
			      "Content-Length: %zu\r\n\r\n%s",
			      strlen(body), body);

	(void)state;
	assert_true(c->q.stream); /* Ollama's default, as far as the request's bytes go */
	respond(c, resp, len, 0);
	assert_true(c->ended);
	assert_false(c->res.stream);
	assert_int_equal(c->res.tokens[LLM_TOKEN_INPUT], 900);
	assert_int_equal(c->res.tokens[LLM_TOKEN_OUTPUT], 2);
	assert_int_equal(c->r.first_ns, 1000000000ULL);
	free(c);
}

/* Only the request's body was seen (its head went out in a write before): the usage says the API. */
static void test_no_request_line(void **state)
{
	char resp[2048];
	size_t len = snprintf(resp, sizeof(resp), openai_json, strlen(openai_body), openai_body);
	struct call *c = call_new("{\"model\":\"gpt-4o-mini\",\"messages\":[]}");

	(void)state;
	assert_false(c->q.line);
	assert_int_equal(c->q.api, LLM_API_UNKNOWN);
	respond(c, resp, len, 0);
	assert_int_equal(c->res.api, LLM_API_OPENAI_CHAT);
	assert_true(c->res.usage);
	assert_int_equal(c->res.tokens[LLM_TOKEN_INPUT], 1234);
	assert_string_equal(c->res.request_model, "gpt-4o-mini");
	free(c);
	c = call_new(OPENAI_REQ(""));
	assert_true(c->q.line);
	free(c);
}

/* A body much larger than the windows, read in 16 KiB pieces the kernel cut in the middle. */
static void test_large_body_cut(void **state)
{
	size_t big = 200000, len, off = 0;
	char *resp = malloc(big + 1024), *p;
	struct call *c = call_new(OPENAI_REQ(""));
	__u64 ts = 1;

	(void)state;
	assert_non_null(resp);
	len = sprintf(resp, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n", big);
	p = resp + len;
	p += sprintf(p, "{\"model\":\"gpt-4.1\",\"choices\":[{\"message\":{\"content\":\"");
	memset(p, 'x', big - (p - (resp + len)) - 200);
	p += big - (p - (resp + len)) - 200;
	p += sprintf(p, "\"}}],\"usage\":{\"prompt_tokens\":11,\"completion_tokens\":50000}}");
	memset(p, ' ', resp + len + big - p);
	len += big;
	/* The real check: feed every read as the kernel cuts it. */
	llmparse__response_init(&c->r);
	off = 0;
	while (off < len) {
		size_t n = len - off < 16384 ? len - off : 16384;
		char buf[4096];

		if (n > 4096) {
			memcpy(buf, resp + off, 2048);
			memcpy(buf + 2048, resp + off + n - 2048, 2048);
			c->ended = llmparse__response_feed(&c->r, c->q.api, buf, 4096, 2048,
							   n - 4096, ts);
		} else {
			c->ended =
				llmparse__response_feed(&c->r, c->q.api, resp + off, n, n, 0, ts);
		}
		off += n;
		ts++;
	}
	llmparse__finish(&c->q, &c->r, &c->res);
	assert_true(c->ended);
	assert_true(c->res.usage);
	assert_int_equal(c->res.tokens[LLM_TOKEN_INPUT], 11);
	assert_int_equal(c->res.tokens[LLM_TOKEN_OUTPUT], 50000);
	assert_string_equal(c->res.response_model, "gpt-4.1");
	assert_true(c->res.cuts > 0);
	free(c);
	free(resp);
}

static void test_interim_and_errors(void **state)
{
	static const char resp[] =
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 429 Too Many Requests\r\nretry-after: 20\r\n"
		"x-ratelimit-remaining-requests: 0\r\nContent-Length: 72\r\n\r\n"
		"{\"error\":{\"message\":\"Rate limit reached\",\"type\":\"requests\",\"code\":null}}";
	struct call *c = call_new(OPENAI_REQ(""));

	(void)state;
	respond(c, resp, strlen(resp), 3);
	assert_true(c->ended);
	assert_int_equal(c->res.status, 429);
	assert_false(c->res.usage);
	assert_true(c->r.rate[LLM_RATE_RETRY_AFTER] == 20);
	assert_true(c->r.rate_have & (1u << LLM_RATE_REQUESTS));
	assert_true(c->r.rate[LLM_RATE_REQUESTS] == 0);
	free(c);
}

static void test_paths(void **state)
{
	static const struct {
		const char *path;
		enum llm_api api;
	} cases[] = {
		{"/v1/chat/completions", LLM_API_OPENAI_CHAT},
		{"/openai/deployments/x/chat/completions?api-version=2024", LLM_API_OPENAI_CHAT},
		{"/v1/completions", LLM_API_OPENAI_COMPLETIONS},
		{"/v1/responses", LLM_API_OPENAI_RESPONSES},
		{"/v1/embeddings", LLM_API_OPENAI_EMBEDDINGS},
		{"/v1/messages", LLM_API_ANTHROPIC},
		{"/v1beta/models/gemini-pro:generateContent", LLM_API_GEMINI},
		{"/api/chat", LLM_API_OLLAMA_CHAT},
		{"/api/generate", LLM_API_OLLAMA_GENERATE},
		{"/v1/models", LLM_API_UNKNOWN},
		{"/api/chatty", LLM_API_UNKNOWN},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(llmparse__api(cases[i].path, strlen(cases[i].path)), cases[i].api);
}

/* A response cut short (connection reused, truncated) reports what it had; garbage nothing. */
static void test_truncated(void **state)
{
	char resp[2048];
	size_t len = snprintf(resp, sizeof(resp), openai_json, strlen(openai_body), openai_body);
	size_t cut;

	(void)state;
	for (cut = 0; cut < len; cut += 13) {
		struct call *c = call_new(OPENAI_REQ(""));

		respond(c, resp, cut, 0);
		assert_false(c->ended);
		assert_false(c->res.usage && c->res.tokens[LLM_TOKEN_INPUT] != 1234);
		free(c);
	}
	{
		struct call *c = call_new("GET /v1/models HTTP/1.1\r\n\r\n");

		respond(c, "\x16\x03\x01garbage\r\n\r\n{\"usage\":{\"prompt_tokens\":", 40, 0);
		assert_int_equal(c->q.api, LLM_API_UNKNOWN);
		assert_false(c->res.usage);
		free(c);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_openai_json),
		cmocka_unit_test(test_openai_sse),
		cmocka_unit_test(test_openai_sse_no_usage),
		cmocka_unit_test(test_openai_responses),
		cmocka_unit_test(test_anthropic_sse),
		cmocka_unit_test(test_anthropic_json),
		cmocka_unit_test(test_gemini),
		cmocka_unit_test(test_ollama),
		cmocka_unit_test(test_ollama_json_long_prompt),
		cmocka_unit_test(test_no_request_line),
		cmocka_unit_test(test_large_body_cut),
		cmocka_unit_test(test_interim_and_errors),
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_truncated),
	};

	return cmocka_run_group_tests_name("llmparse", tests, NULL, NULL);
}
