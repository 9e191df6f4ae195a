/* SPDX-License-Identifier: MIT */
/*
 * llm: LLM API calls of agents, from the plaintext LLM capture hands over (struct
 * sw_llm_event): each exchange is parsed as it arrives (llmparse.h) and, once it ends, only
 * counts, names and timings are kept, per agent, provider, request model and operation:
 * calls by status, duration, time to first chunk and per output chunk, tokens by type, their
 * cost from the price table, usage_missing; and the last rate-limit headroom per agent and
 * upstream. Prompts and completions are never kept or exported.
 *
 * The tick publishes a copy (struct llm_view) in the snapshot; the catalogue exports it under
 * the OpenTelemetry GenAI names (gen_ai_client_*) and swarmwatch_agent_llm_*.
 */
#ifndef SW_LLM_H
#define SW_LLM_H

#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>

#include "llmparse.h"
#include "swarmwatch.h"

struct config;
struct snapshot;

#define LLM_DURATION_BUCKETS 14 /* 0.01 s doubling to 81.92 s (OpenTelemetry's advice) */
#define LLM_TOKEN_BUCKETS 14 /* 1, 4, 16 ... 67108864 tokens (OpenTelemetry's advice) */
#define LLM_MAX_SERIES 1024 /* agent, provider, model, operation combinations kept */
#define LLM_MAX_HEADROOM 256 /* agent and upstream pairs with rate-limit headroom */
#define LLM_MAX_INFLIGHT 256 /* exchanges parsed at once; the oldest is ended beyond */
#define LLM_IDLE_NS 300000000000ULL /* an exchange with no bytes for 5 min is ended */

/* The `status` label of swarmwatch_agent_llm_requests_total. */
enum llm_status { LLM_ST_2XX, LLM_ST_4XX, LLM_ST_429, LLM_ST_5XX, LLM_ST_OTHER, LLM_ST_MAX };

static inline const char *llm_status_name(int s)
{
	static const char *const names[LLM_ST_MAX] = {"2xx", "4xx", "429", "5xx", "other"};

	return s >= 0 && s < LLM_ST_MAX ? names[s] : "other";
}

/* The `reason` label of swarmwatch_llm_truncated_total: bytes or results lost, and where. */
enum llm_trunc {
	LLM_TR_CUT_READS, /* kernel: a read longer than SW_LLM_DATA, its middle left out */
	LLM_TR_REQUEST_BUDGET, /* kernel: request bytes beyond SW_LLM_REQ_BUDGET */
	LLM_TR_RESPONSE_BUDGET, /* kernel: a response beyond SW_LLM_RESP_BUDGET */
	LLM_TR_RINGBUF_FULL, /* kernel: events lost, ring buffer full */
	LLM_TR_NO_BUFFER, /* kernel: plaintext moved by readv/recvmsg, not readable */
	LLM_TR_PARSE_CUT, /* responses parsed with some bytes missing or beyond a window */
	LLM_TR_USAGE_LOST, /* ... of which a 2xx whose usage could not be read */
	LLM_TR_INFLIGHT_FULL, /* exchanges ended early: LLM_MAX_INFLIGHT in flight */
	LLM_TR_SERIES_FULL, /* calls not counted: LLM_MAX_SERIES reached */
	LLM_TR_HEAD_LOST, /* answered calls whose request did not start with a request line */
	LLM_TR_MAX,
};

static inline const char *llm_trunc_name(int r)
{
	static const char *const names[LLM_TR_MAX] = {
		"cut_reads", "request_budget", "response_budget", "ringbuf_full", "no_buffer",
		"parse_cut", "usage_lost",     "inflight_full",	  "series_full",  "head_lost",
	};

	return r >= 0 && r < LLM_TR_MAX ? names[r] : "unknown";
}

/* Cumulative figures of one agent, provider, request model and operation. */
struct llm_series {
	__u32 slot;
	int agent; /* in a view: index into the snapshot's agents */
	char provider[32];
	char model[LLM_MODEL_LEN]; /* request model, else response model, "unknown", or "other" */
	const char *operation; /* static: llm_operation_name() */
	__u64 requests[LLM_ST_MAX];
	__u64 usage_missing; /* 2xx responses that reported no usage */
	__u64 dur[LLM_DURATION_BUCKETS + 1];
	double dur_sum;
	__u64 ttft[LLM_DURATION_BUCKETS + 1]; /* streamed calls */
	double ttft_sum;
	__u64 chunk[LLM_CHUNK_BUCKETS + 1];
	double chunk_sum;
	__u64 tok[LLM_TOKEN_MAX][LLM_TOKEN_BUCKETS + 1];
	double tok_sum[LLM_TOKEN_MAX];
	double cost[LLM_TOKEN_MAX]; /* USD, by the token type priced (input: uncached input) */
};

/* The last rate-limit headers an agent got from an upstream. */
struct llm_headroom {
	__u32 slot;
	int agent;
	char provider[32];
	char server[80]; /* host:port or ip:port */
	double rate[LLM_RATE_MAX];
	__u32 have; /* bit per enum llm_rate seen */
};

/* What the snapshot carries: copies, valid for the snapshot's life. */
struct llm_view {
	double *spend_today; /* per snapshot agent: USD since 00:00 UTC, < 0 when it never cost */
	double *spend_total; /* per snapshot agent: USD since swarmwatch started, < 0: never cost */
	struct llm_series *series;
	int nseries;
	struct llm_headroom *room;
	int nroom;
	__u64 truncated[LLM_TR_MAX];
	__u64 events; /* events the kernel handed over */
	__u32 inflight; /* exchanges being parsed */
};

/* Prices per million tokens of one provider and model (pattern), from the price table. */
struct llm_price {
	char provider[32];
	char model[LLM_MODEL_LEN]; /* shell pattern: "gpt-4o*", "*" */
	double per_mtok[LLM_TOKEN_MAX]; /* < 0: not given (cache: input's; reasoning: output's) */
};

struct llm_prices {
	struct llm_price *p;
	int n;
	char date[32];
	char source[256];
};

/*
 * llmprices__parse - the price table in JSON `text` (origin names it in errors):
 * {"date": "YYYY-MM-DD", "source": "...", "currency": "USD", "prices": [{"provider", "model",
 * "input", "output", "cache_read", "cache_write", "reasoning"}]}, in USD per million tokens,
 * at least input and output per entry. 0, or -EINVAL with one line "ORIGIN:LINE:COL: what" in
 * err (-ENOMEM). out holds no allocation on error.
 */
int llmprices__parse(const char *text, const char *origin, struct llm_prices *out, char *err,
		     size_t errlen);

/* Reads and parses price table file path; as llmprices__parse, or -errno if unreadable. */
int llmprices__load(const char *path, struct llm_prices *out, char *err, size_t errlen);

void llmprices__free(struct llm_prices *p);

/*
 * llmprices__cost - the cost in USD of a call's tokens (res) by token type into cost[] for
 * provider and model (the first entry whose provider is equal and whose pattern matches; the
 * request model is tried, then the response model). Input is priced without its cache reads
 * and writes, output without its reasoning tokens, each of those at its own price (input's or
 * output's when the table gives none). False, cost[] zero, when no entry matches.
 */
bool llmprices__cost(const struct llm_prices *p, const char *provider, const struct llm_result *res,
		     double cost[LLM_TOKEN_MAX]);

struct llm;

/* LLM call accounting for configuration c (its llm.* keys; prices loaded by the caller). */
struct llm *llm__new(const struct config *c, struct llm_prices *prices);
void llm__free(struct llm *l);

/* One record of `llm_events`, size bytes long (kernel.h's kernel_llm_fn). */
void llm__event(struct llm *l, const struct sw_llm_event *e, size_t size);

/*
 * llm__view - ends exchanges idle for LLM_IDLE_NS at now (CLOCK_MONOTONIC ns), adds the
 * kernel's counters (enum sw_llm_counter, NULL if unknown) and returns a copy of the figures
 * with agents resolved against snapshot s (series of slots s has no agent for are left out).
 * Each agent's spend of the UTC day of s->time (unix seconds) starts from 0 at midnight: the
 * cost of the calls that ended since the last view is added to the day of this one, and to
 * the spend since start, which goes on across days. A slot that s gives to another agent than
 * before (reclaimed) starts both from 0. NULL on out of memory. Free it with llm__view_free().
 */
struct llm_view *llm__view(struct llm *l, const struct snapshot *s, const __u64 *kernel_counters,
			   __u64 now);
void llm__view_free(struct llm_view *v);

/* Bytes the daemon holds per exchange in flight (request start and response parser state). */
size_t llm__exchange_bytes(void);

/* Bucket index of a duration in seconds (LLM_DURATION_BUCKETS = +Inf) and of a token count. */
int llm__duration_bucket(double seconds);
int llm__token_bucket(__u64 tokens);

#endif
