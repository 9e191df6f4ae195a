/* SPDX-License-Identifier: MIT */
/*
 * llmparse: what an LLM API call's plaintext says, without keeping it. Pure (no I/O, no
 * clock): the daemon feeds it the bytes the kernel handed over (llm.c), the fuzzer and the unit
 * tests feed it whatever they like.
 *
 * A request's first bytes give the API (from the path), the model, whether it streams and
 * whether an OpenAI stream asked for its usage. A response is parsed as it arrives, in
 * bounded memory whatever its size: the HTTP head (status, framing, rate-limit headers), the
 * chunked framing, then the body as one JSON document, Server-Sent Events or newline-delimited
 * JSON. Of a body, or of each event, only the first LLM_WIN_HEAD and the last LLM_WIN_TAIL
 * bytes are kept, long enough to find the model near the start and the usage block at the end,
 * which is where every provider puts them. Prompts and completions are never copied out.
 *
 * Usage by provider (field names from the providers' public API references):
 * - OpenAI chat completions and embeddings: usage.prompt_tokens, completion_tokens,
 *   prompt_tokens_details.cached_tokens, completion_tokens_details.reasoning_tokens; a stream
 *   has usage only when the request set stream_options.include_usage.
 * - OpenAI Responses: usage.input_tokens, output_tokens, input_tokens_details.cached_tokens,
 *   output_tokens_details.reasoning_tokens (streamed: in response.completed).
 * - Anthropic Messages: usage.input_tokens (without cache), cache_creation_input_tokens,
 *   cache_read_input_tokens, output_tokens; streamed, message_start has the input side and each
 *   message_delta the output so far (cumulative: the last one counts).
 * - Gemini: usageMetadata.promptTokenCount, candidatesTokenCount, cachedContentTokenCount,
 *   thoughtsTokenCount, toolUsePromptTokenCount (each chunk cumulative: the last one counts).
 * - Ollama: prompt_eval_count and eval_count in the final ("done": true) object.
 * Normalised so that, as in OpenAI's own counts, input includes the cache reads and writes and
 * output includes the reasoning tokens.
 */
#ifndef SW_LLMPARSE_H
#define SW_LLMPARSE_H

#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>

/* The API a request path names; the operation and the usage fields follow from it. */
enum llm_api {
	LLM_API_UNKNOWN = 0,
	LLM_API_OPENAI_CHAT, /* POST .../chat/completions */
	LLM_API_OPENAI_COMPLETIONS, /* POST .../completions */
	LLM_API_OPENAI_RESPONSES, /* POST .../responses */
	LLM_API_OPENAI_EMBEDDINGS, /* POST .../embeddings */
	LLM_API_ANTHROPIC, /* POST .../messages */
	LLM_API_GEMINI, /* POST ...:generateContent, ...:streamGenerateContent */
	LLM_API_OLLAMA_CHAT, /* POST /api/chat */
	LLM_API_OLLAMA_GENERATE, /* POST /api/generate */
	LLM_API_MAX,
};

/* gen_ai_token_type values. */
enum llm_token {
	LLM_TOKEN_INPUT = 0, /* every input token, cache reads and writes included */
	LLM_TOKEN_OUTPUT, /* every output token, reasoning included */
	LLM_TOKEN_CACHE_READ,
	LLM_TOKEN_CACHE_WRITE,
	LLM_TOKEN_REASONING,
	LLM_TOKEN_MAX,
};

/* The gen_ai_token_type label of token type t; "unknown" out of range. */
static inline const char *llm_token_name(int t)
{
	static const char *const names[LLM_TOKEN_MAX] = {"input", "output", "cache_read",
							 "cache_write", "reasoning"};

	return t >= 0 && t < LLM_TOKEN_MAX ? names[t] : "unknown";
}

/* The gen_ai_operation_name of api (OpenTelemetry GenAI values); "chat" for unknown. */
static inline const char *llm_operation_name(int api)
{
	switch (api) {
	case LLM_API_OPENAI_COMPLETIONS:
	case LLM_API_OLLAMA_GENERATE:
		return "text_completion";
	case LLM_API_OPENAI_EMBEDDINGS:
		return "embeddings";
	case LLM_API_GEMINI:
		return "generate_content";
	default:
		return "chat";
	}
}

#define LLM_MODEL_LEN 64 /* a model name and its NUL; longer names are cut */
#define LLM_REQ_KEEP 4096 /* bytes of a request's start looked at */
#define LLM_HEAD_MAX 4096 /* bytes of a response head kept; the rest is skipped, counted */
#define LLM_WIN_HEAD 1024 /* first bytes of a body or event kept */
#define LLM_WIN_TAIL 8192 /* last bytes of a body or event kept */
#define LLM_CHUNK_BUCKETS 13 /* time per output chunk: finite bucket bounds, llm_chunk_le */

/* Upper bounds in seconds of the time-per-output-chunk histogram (OpenTelemetry's advice). */
extern const double llm_chunk_le[LLM_CHUNK_BUCKETS];

/* What a request's first bytes say. */
struct llm_request {
	enum llm_api api;
	bool line; /* a request line was read */
	bool post; /* the method is POST: an API call, not a listing */
	bool stream; /* the request asked for a streamed answer (Ollama streams by default) */
	bool stream_known; /* ... "stream" was seen (or the path says so) */
	bool include_usage; /* stream_options.include_usage: true */
	char model[LLM_MODEL_LEN]; /* "model" of the body, or Gemini's from the path; "" if not seen */
	char buf[LLM_REQ_KEEP]; /* the bytes so far, re-read as more arrive */
	size_t len;
};

/* First bytes kept and last bytes kept of one body or event. */
struct llm_window {
	char head[LLM_WIN_HEAD];
	char tail[LLM_WIN_TAIL]; /* ring */
	size_t hn; /* bytes in head */
	size_t tn; /* bytes in tail (at most LLM_WIN_TAIL) */
	size_t tpos; /* where the next tail byte goes */
	__u64 total; /* bytes seen, gaps included */
	bool gap; /* bytes were left out (by the kernel, or a gap in the middle) */
};

enum llm_rate { LLM_RATE_REQUESTS = 0, LLM_RATE_TOKENS, LLM_RATE_RETRY_AFTER, LLM_RATE_MAX };

/* A response being parsed. About 14 KiB; nothing else is allocated. */
struct llm_response {
	int phase; /* internal: head, body, done, lost */
	char head[LLM_HEAD_MAX];
	size_t hlen;
	__u32 crlf; /* internal: last bytes of the head, to find its end */
	int status; /* HTTP status of the final response; 0 until its head is read */
	int format; /* internal: JSON, SSE or NDJSON body */
	bool chunked;
	long long content_left; /* body bytes still due, -1 when not known */
	int cstate; /* internal: chunked framing state */
	__u64 chunk_left;
	__u32 size_digits;
	struct llm_window win; /* the body (JSON) or the current line (SSE, NDJSON) */
	bool data_line; /* SSE: the current line is a "data:" line */
	__u32 line_pos; /* SSE: bytes of the current line seen, to tell its field name */
	char field[6]; /* SSE: first bytes of the current line */
	/* Results */
	char model[LLM_MODEL_LEN]; /* the response's model, "" if not seen */
	__u64 raw[8]; /* internal: the provider's own counts, last seen */
	__u32 raw_have; /* internal: which of raw[] were seen */
	int usage_kind; /* internal: which provider's fields raw[] holds */
	__u64 first_ns; /* the first body byte arrived, 0 before */
	__u64 last_ns; /* the last bytes arrived */
	__u64 last_chunk_ns; /* streams: when the last event ended */
	__u32 chunks; /* streams: events with data */
	__u64 chunk_hist[LLM_CHUNK_BUCKETS + 1]; /* streams: time between events, +Inf last */
	double chunk_sum; /* ... their sum in seconds */
	double rate[LLM_RATE_MAX]; /* rate-limit headers: remaining requests, tokens, retry-after s */
	__u32 rate_have; /* bit per enum llm_rate seen */
	__u32 cuts; /* bytes lost: left out by the kernel, a line or head too long, framing lost */
	bool done; /* the response ended (length, last chunk, or [DONE] of a stream) */
};

/* Usage, model and timings of one finished exchange. */
struct llm_result {
	enum llm_api api; /* from the path; without a request line, from the usage fields seen */
	int status; /* HTTP status, 0 when no response head was read */
	bool stream; /* the response streamed (SSE, NDJSON); the request's word without one */
	bool usage; /* tokens[] were reported by the response */
	__u64 tokens[LLM_TOKEN_MAX];
	__u32 token_have; /* bit per enum llm_token reported */
	const char *request_model; /* "" when not seen */
	const char *response_model; /* "" when not seen */
	__u32 cuts; /* see struct llm_response */
};

/* Starts a request; the response state r is reset for its answer. */
void llmparse__request_init(struct llm_request *q);

/*
 * llmparse__request_feed - adds n bytes the client sent and re-reads the request: method,
 * path, then in the body "model", "stream" and "include_usage" (bytes that start with '{' are
 * taken for a body whose head was not seen). Bytes beyond LLM_REQ_KEEP are ignored.
 */
void llmparse__request_feed(struct llm_request *q, const char *data, size_t n);

void llmparse__response_init(struct llm_response *r);

/*
 * llmparse__response_feed - parses n more bytes of the response, which arrived at ts_ns
 * (CLOCK_MONOTONIC ns); when skipped > 0, that many bytes were left out after the first
 * n_head of them (the kernel keeps a long read's first and last halves). api says how usage
 * fields are read. Returns true once the response has ended (content length reached, last chunk
 * of a chunked body, or a stream's "[DONE]"); bytes after the end are ignored.
 */
bool llmparse__response_feed(struct llm_response *r, enum llm_api api, const char *data, size_t n,
			     size_t n_head, size_t skipped, __u64 ts_ns);

/*
 * llmparse__finish - ends the response (at its end, or when the next request or a timeout cuts
 * it short: a JSON body without a length is parsed as it stands) and fills out from it and its
 * request q. The strings out points to live in q and r.
 */
void llmparse__finish(struct llm_request *q, struct llm_response *r, struct llm_result *out);

/*
 * llmparse__api - the API a POST to path names (its query string ignored), LLM_API_UNKNOWN
 * for any other path.
 */
enum llm_api llmparse__api(const char *path, size_t n);

#endif
