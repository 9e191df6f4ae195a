// SPDX-License-Identifier: MIT
/*
 * llmparse: model, token usage and timings of LLM API calls from their plaintext, in bounded
 * memory (see llmparse.h). JSON is not parsed as a whole: values are found by their keys in
 * the kept windows (a key is a quoted name followed by a colon, so the same word escaped
 * inside a prompt or completion string never matches), and an object's extent by matching
 * braces outside strings.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "llmparse.h"

/* OpenTelemetry GenAI semantic conventions: advised buckets of time_per_output_chunk. */
const double llm_chunk_le[LLM_CHUNK_BUCKETS] = {0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2,
						0.3,  0.4,   0.5,  0.75,  1.0, 2.5};

enum { PHASE_HEAD, PHASE_BODY, PHASE_RAW, PHASE_DONE, PHASE_LOST };
enum { FMT_JSON, FMT_SSE, FMT_NDJSON };
enum { CS_SIZE, CS_EXT, CS_DATA, CS_DATA_END, CS_END };
enum {
	KIND_NONE,
	KIND_OPENAI_CHAT,
	KIND_OPENAI_RESPONSES,
	KIND_ANTHROPIC,
	KIND_GEMINI,
	KIND_OLLAMA
};

#define SEP '\001' /* stands for bytes left out: matches no key and no brace */
#define SCAN_MAX (LLM_WIN_HEAD + 1 + LLM_WIN_TAIL)

/* ---- finding values by key ---- */

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/*
 * The value after key `key` ("key" then optional blanks then ':') in s[0, n), blanks skipped;
 * the last such when last, else the first; NULL if none. A quote preceded by a backslash is
 * inside a string and does not start a key.
 */
static const char *find_key(const char *s, size_t n, const char *key, bool last)
{
	size_t kl = strlen(key), i = 0;
	const char *found = NULL, *q;
	char pat[40];

	if (kl + 2 > sizeof(pat))
		return NULL;
	pat[0] = '"';
	memcpy(pat + 1, key, kl);
	pat[kl + 1] = '"';
	while (i < n && (q = memmem(s + i, n - i, pat, kl + 2))) {
		size_t j = q - s + kl + 2;

		i = q - s + 1;
		if (q > s && q[-1] == '\\')
			continue;
		while (j < n && is_ws(s[j]))
			j++;
		if (j >= n || s[j] != ':')
			continue;
		j++;
		while (j < n && is_ws(s[j]))
			j++;
		if (j < n) {
			found = s + j;
			if (!last)
				return found;
		}
	}
	return found;
}

/*
 * Whether pat (len >= 2 bytes) occurs in s[0, n): a byte loop on its first two bytes, cheaper
 * than memmem() on the short texts of stream events.
 */
static bool has(const char *s, size_t n, const char *pat, size_t len)
{
	size_t i;

	for (i = 0; i + len <= n; i++)
		if (s[i] == pat[0] && s[i + 1] == pat[1] && !memcmp(s + i + 2, pat + 2, len - 2))
			return true;
	return false;
}

/* Length of the object starting at s ('{'), braces matched outside strings; 0 if it does not end. */
static size_t object_len(const char *s, size_t n)
{
	int depth = 0;
	bool str = false;
	size_t i;

	for (i = 0; i < n; i++) {
		char c = s[i];

		if (c == SEP)
			return 0;
		if (str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				str = false;
			continue;
		}
		if (c == '"')
			str = true;
		else if (c == '{' || c == '[')
			depth++;
		else if ((c == '}' || c == ']') && --depth == 0)
			return i + 1;
	}
	return 0;
}

/* An unsigned integer at s (n bytes): true with *out, false if there is none or it overflows. */
static bool read_uint(const char *s, size_t n, __u64 *out)
{
	__u64 v = 0;
	size_t i;

	for (i = 0; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
		if (v > (UINT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (s[i] - '0');
	}
	if (!i)
		return false;
	*out = v;
	return true;
}

/* A byte of a label value: printable ASCII but the quote and backslash, else '_'. */
static char label_char(char c)
{
	return c > ' ' && c < 0x7f && c != '"' && c != '\\' ? c : '_';
}

/*
 * A JSON string at s into out (len bytes with its NUL), as a label value: escapes resolved to
 * the escaped character, bytes outside printable ASCII replaced by '_', cut at len - 1. False
 * if s is not a complete string.
 */
static bool read_string(const char *s, size_t n, char *out, size_t len)
{
	size_t i, o = 0;

	if (!n || s[0] != '"')
		return false;
	for (i = 1; i < n; i++) {
		char c = s[i];

		if (c == SEP)
			return false;
		if (c == '"') {
			out[o] = 0;
			return o > 0;
		}
		if (c == '\\') {
			if (++i >= n)
				return false;
			c = s[i];
		}
		if (o + 1 < len)
			out[o++] = label_char(c);
	}
	return false;
}

/* The boolean after key in s: 1 true, 0 false, -1 absent or not a boolean. */
static int read_bool(const char *s, size_t n, const char *key)
{
	const char *v = find_key(s, n, key, false);
	size_t left;

	if (!v)
		return -1;
	left = n - (v - s);
	if (left >= 4 && !memcmp(v, "true", 4))
		return 1;
	if (left >= 5 && !memcmp(v, "false", 5))
		return 0;
	return -1;
}

/* ---- requests ---- */

static bool ends_with(const char *s, size_t n, const char *suffix)
{
	size_t k = strlen(suffix);

	return n >= k && !memcmp(s + n - k, suffix, k);
}

static bool contains(const char *s, size_t n, const char *what)
{
	return memmem(s, n, what, strlen(what)) != NULL;
}

enum llm_api llmparse__api(const char *path, size_t n)
{
	const char *q = memchr(path, '?', n);

	if (q)
		n = q - path;
	if (contains(path, n, ":generateContent") || contains(path, n, ":streamGenerateContent"))
		return LLM_API_GEMINI;
	if (ends_with(path, n, "/chat/completions"))
		return LLM_API_OPENAI_CHAT;
	if (ends_with(path, n, "/completions"))
		return LLM_API_OPENAI_COMPLETIONS;
	if (ends_with(path, n, "/responses"))
		return LLM_API_OPENAI_RESPONSES;
	if (ends_with(path, n, "/embeddings"))
		return LLM_API_OPENAI_EMBEDDINGS;
	if (ends_with(path, n, "/messages"))
		return LLM_API_ANTHROPIC;
	if (n == 9 && !memcmp(path, "/api/chat", 9))
		return LLM_API_OLLAMA_CHAT;
	if (n == 13 && !memcmp(path, "/api/generate", 13))
		return LLM_API_OLLAMA_GENERATE;
	return LLM_API_UNKNOWN;
}

void llmparse__request_init(struct llm_request *q)
{
	memset(q, 0, offsetof(struct llm_request, buf));
	q->len = 0;
}

/* Gemini names the model in the path: .../models/NAME:generateContent. */
static void gemini_model(struct llm_request *q, const char *path, size_t n)
{
	const char *m = memmem(path, n, "/models/", 8), *colon;
	size_t k;

	if (!m)
		return;
	m += 8;
	colon = memchr(m, ':', path + n - m);
	if (!colon)
		return;
	k = colon - m;
	if (!k)
		return;
	if (k >= LLM_MODEL_LEN)
		k = LLM_MODEL_LEN - 1;
	for (size_t i = 0; i < k; i++)
		q->model[i] = label_char(m[i]);
	q->model[k] = 0;
}

void llmparse__request_feed(struct llm_request *q, const char *data, size_t n)
{
	const char *sp, *path, *pend, *body, *v;
	size_t room = sizeof(q->buf) - q->len, blen;
	int b;

	if (n > room)
		n = room;
	if (!n)
		return;
	memcpy(q->buf + q->len, data, n);
	q->len += n;
	if (q->buf[0] == '{') {
		body = q->buf; /* a body without its head (see llmparse__finish) */
		goto fields;
	}
	/* The request line: METHOD SP PATH SP VERSION. */
	sp = memchr(q->buf, ' ', q->len);
	if (!sp)
		return;
	q->post = sp - q->buf == 4 && !memcmp(q->buf, "POST", 4);
	path = sp + 1;
	pend = memchr(path, ' ', q->buf + q->len - path);
	if (!pend)
		return;
	q->line = pend + 10 <= q->buf + q->len && !memcmp(pend + 1, "HTTP/1.", 7);
	q->api = q->post ? llmparse__api(path, pend - path) : LLM_API_UNKNOWN;
	if (q->api == LLM_API_GEMINI) {
		gemini_model(q, path, pend - path);
		q->stream = contains(path, pend - path, ":streamGenerateContent");
		q->stream_known = true;
	} else if (q->api == LLM_API_OLLAMA_CHAT || q->api == LLM_API_OLLAMA_GENERATE) {
		if (!q->stream_known)
			q->stream = true; /* Ollama streams unless told "stream": false */
	}
	body = memmem(pend, q->buf + q->len - pend, "\r\n\r\n", 4);
	if (!body)
		return;
	body += 4;
fields:
	blen = q->buf + q->len - body;
	if (!q->model[0] && (v = find_key(body, blen, "model", false)))
		read_string(v, blen - (v - body), q->model, sizeof(q->model));
	if (q->api != LLM_API_GEMINI && (b = read_bool(body, blen, "stream")) >= 0) {
		q->stream = b;
		q->stream_known = true;
	}
	if (read_bool(body, blen, "include_usage") == 1)
		q->include_usage = true;
}

/* ---- the kept window of a body or line ---- */

static void win_reset(struct llm_window *w)
{
	w->hn = w->tn = w->tpos = 0;
	w->total = 0;
	w->gap = false;
}

static void win_add(struct llm_window *w, const char *s, size_t n)
{
	size_t k;

	w->total += n;
	if (w->hn < LLM_WIN_HEAD) {
		k = LLM_WIN_HEAD - w->hn;
		if (k > n)
			k = n;
		memcpy(w->head + w->hn, s, k);
		w->hn += k;
		s += k;
		n -= k;
	}
	if (n > LLM_WIN_TAIL) {
		s += n - LLM_WIN_TAIL;
		n = LLM_WIN_TAIL;
		w->gap = true;
	}
	while (n) {
		k = LLM_WIN_TAIL - w->tpos;
		if (k > n)
			k = n;
		memcpy(w->tail + w->tpos, s, k);
		w->tpos = (w->tpos + k) % LLM_WIN_TAIL;
		if (w->tn < LLM_WIN_TAIL) {
			w->tn += k;
			if (w->tn > LLM_WIN_TAIL)
				w->tn = LLM_WIN_TAIL;
		} else {
			w->gap = true;
		}
		s += k;
		n -= k;
	}
}

/* Bytes left out of the middle: they stand as one separator. */
static void win_gap(struct llm_window *w, __u64 skipped)
{
	char sep = SEP;

	win_add(w, &sep, 1);
	w->total += skipped - 1;
	w->gap = true;
}

/* The window as one run of bytes in out (SCAN_MAX), a separator where bytes are missing. */
static size_t win_linear(const struct llm_window *w, char *out)
{
	size_t n = w->hn, start;

	memcpy(out, w->head, w->hn);
	if (!w->tn)
		return n;
	if (w->total > w->hn + w->tn)
		out[n++] = SEP;
	start = (w->tpos + LLM_WIN_TAIL - w->tn) % LLM_WIN_TAIL;
	if (start + w->tn <= LLM_WIN_TAIL) {
		memcpy(out + n, w->tail + start, w->tn);
	} else {
		size_t a = LLM_WIN_TAIL - start;

		memcpy(out + n, w->tail + start, a);
		memcpy(out + n + a, w->tail, w->tn - a);
	}
	return n + w->tn;
}

/* ---- usage ---- */

static void raw_set(struct llm_response *r, int i, const char *obj, size_t n, const char *key)
{
	const char *v = find_key(obj, n, key, true);
	__u64 x;

	if (v && read_uint(v, n - (v - obj), &x)) {
		r->raw[i] = x;
		r->raw_have |= 1u << i;
	}
}

/* The fields of a usage object (OpenAI, Anthropic) at obj, n bytes, for api. */
static void usage_object(struct llm_response *r, enum llm_api api, const char *obj, size_t n)
{
	if (find_key(obj, n, "prompt_tokens", false) ||
	    find_key(obj, n, "completion_tokens", false)) {
		r->usage_kind = KIND_OPENAI_CHAT;
		raw_set(r, 0, obj, n, "prompt_tokens");
		raw_set(r, 1, obj, n, "completion_tokens");
		raw_set(r, 2, obj, n, "cached_tokens");
		raw_set(r, 3, obj, n, "reasoning_tokens");
		return;
	}
	if (!find_key(obj, n, "input_tokens", false) && !find_key(obj, n, "output_tokens", false))
		return;
	if (api == LLM_API_ANTHROPIC || find_key(obj, n, "cache_creation_input_tokens", false) ||
	    find_key(obj, n, "cache_read_input_tokens", false)) {
		r->usage_kind = KIND_ANTHROPIC;
		raw_set(r, 0, obj, n, "input_tokens");
		raw_set(r, 1, obj, n, "output_tokens");
		raw_set(r, 2, obj, n, "cache_read_input_tokens");
		raw_set(r, 4, obj, n, "cache_creation_input_tokens");
		return;
	}
	r->usage_kind = KIND_OPENAI_RESPONSES;
	raw_set(r, 0, obj, n, "input_tokens");
	raw_set(r, 1, obj, n, "output_tokens");
	raw_set(r, 2, obj, n, "cached_tokens");
	raw_set(r, 3, obj, n, "reasoning_tokens");
}

/* Model and usage of one JSON text: a whole body, or one event's data. */
static void analyse(struct llm_response *r, enum llm_api api, const char *s, size_t n)
{
	const char *v;
	size_t len;

	if (!n)
		return;
	if (!r->model[0]) {
		v = find_key(s, n, "model", false);
		if (!v || !read_string(v, n - (v - s), r->model, sizeof(r->model))) {
			v = find_key(s, n, "modelVersion", false);
			if (v)
				read_string(v, n - (v - s), r->model, sizeof(r->model));
		}
	}
	/* One look for what every usage key starts with; most events have none. */
	if (!has(s, n, "\"usage", 6)) {
		if (has(s, n, "eval_count\"", 11) && (find_key(s, n, "eval_count", true) ||
						      find_key(s, n, "prompt_eval_count", true))) {
			r->usage_kind = KIND_OLLAMA;
			raw_set(r, 0, s, n, "prompt_eval_count");
			raw_set(r, 1, s, n, "eval_count");
		}
		return;
	}
	v = find_key(s, n, "usageMetadata", true);
	if (v && *v == '{' && (len = object_len(v, n - (v - s)))) {
		r->usage_kind = KIND_GEMINI;
		raw_set(r, 0, v, len, "promptTokenCount");
		raw_set(r, 1, v, len, "candidatesTokenCount");
		raw_set(r, 2, v, len, "cachedContentTokenCount");
		raw_set(r, 3, v, len, "thoughtsTokenCount");
		raw_set(r, 5, v, len, "toolUsePromptTokenCount");
		return;
	}
	v = find_key(s, n, "usage", true);
	if (v && *v == '{' && (len = object_len(v, n - (v - s)))) {
		usage_object(r, api, v, len);
		return;
	}
	if (find_key(s, n, "eval_count", true) || find_key(s, n, "prompt_eval_count", true)) {
		r->usage_kind = KIND_OLLAMA;
		raw_set(r, 0, s, n, "prompt_eval_count");
		raw_set(r, 1, s, n, "eval_count");
	}
}

static void analyse_window(struct llm_response *r, enum llm_api api, const char *skip_prefix)
{
	char buf[SCAN_MAX];
	size_t n = win_linear(&r->win, buf), k = skip_prefix ? strlen(skip_prefix) : 0;
	const char *s = buf;

	if (k && n >= k && !memcmp(s, skip_prefix, k)) {
		s += k;
		n -= k;
		if (n && *s == ' ')
			s++, n--;
	}
	analyse(r, api, s, n);
}

/* ---- responses ---- */

void llmparse__response_init(struct llm_response *r)
{
	memset(r, 0, offsetof(struct llm_response, head));
	r->hlen = 0;
	r->crlf = 0;
	r->status = 0;
	r->format = FMT_JSON;
	r->content_left = -1;
	r->chunked = false;
	r->cstate = CS_SIZE;
	r->chunk_left = 0;
	r->size_digits = 0;
	win_reset(&r->win);
	memset(&r->data_line, 0, sizeof(*r) - offsetof(struct llm_response, data_line));
}

static bool header_is(const char *line, size_t n, const char *name, const char **value,
		      size_t *vlen)
{
	size_t k = strlen(name);

	if (n <= k || line[k] != ':' || strncasecmp(line, name, k))
		return false;
	line += k + 1;
	n -= k + 1;
	while (n && (*line == ' ' || *line == '\t'))
		line++, n--;
	while (n && (line[n - 1] == ' ' || line[n - 1] == '\t' || line[n - 1] == '\r'))
		n--;
	*value = line;
	*vlen = n;
	return true;
}

static bool parse_number(const char *s, size_t n, double *out)
{
	char tmp[32];
	char *end;

	if (!n || n >= sizeof(tmp))
		return false;
	memcpy(tmp, s, n);
	tmp[n] = 0;
	*out = strtod(tmp, &end);
	return end != tmp && !*end && *out >= 0 && *out < 1e18;
}

static void set_rate(struct llm_response *r, int which, const char *v, size_t n)
{
	double x;

	if (parse_number(v, n, &x)) {
		r->rate[which] = x;
		r->rate_have |= 1u << which;
	}
}

/* The head in r->head is complete: status, framing and rate limits. False for an interim one. */
static bool parse_head(struct llm_response *r)
{
	const char *p = r->head, *end = r->head + r->hlen, *v;
	size_t vlen;
	int status;

	if (r->hlen < 12 || memcmp(p, "HTTP/", 5) || p[8] != ' ' || p[9] < '1' || p[9] > '5' ||
	    p[10] < '0' || p[10] > '9' || p[11] < '0' || p[11] > '9')
		return true; /* not HTTP: status stays 0 */
	status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
	if (status >= 100 && status < 200 && status != 101)
		return false;
	r->status = status;
	while (p < end) {
		const char *nl = memchr(p, '\n', end - p);
		size_t n = (nl ? nl : end) - p;

		if (header_is(p, n, "content-type", &v, &vlen)) {
			if (memmem(v, vlen, "event-stream", 12))
				r->format = FMT_SSE;
			else if (memmem(v, vlen, "ndjson", 6))
				r->format = FMT_NDJSON;
		} else if (header_is(p, n, "transfer-encoding", &v, &vlen)) {
			r->chunked = memmem(v, vlen, "chunked", 7) != NULL;
		} else if (header_is(p, n, "content-length", &v, &vlen)) {
			double x;

			if (parse_number(v, vlen, &x))
				r->content_left = (long long)x;
		} else if (header_is(p, n, "x-ratelimit-remaining-requests", &v, &vlen) ||
			   header_is(p, n, "anthropic-ratelimit-requests-remaining", &v, &vlen)) {
			set_rate(r, LLM_RATE_REQUESTS, v, vlen);
		} else if (header_is(p, n, "x-ratelimit-remaining-tokens", &v, &vlen) ||
			   header_is(p, n, "anthropic-ratelimit-tokens-remaining", &v, &vlen)) {
			set_rate(r, LLM_RATE_TOKENS, v, vlen);
		} else if (header_is(p, n, "retry-after", &v, &vlen)) {
			set_rate(r, LLM_RATE_RETRY_AFTER, v, vlen);
		}
		if (!nl)
			break;
		p = nl + 1;
	}
	if (r->chunked)
		r->content_left = -1;
	return true;
}

/* SSE or NDJSON: a line ended (its bytes are in the window). */
static void line_end(struct llm_response *r, enum llm_api api, __u64 ts)
{
	bool data = r->format == FMT_NDJSON ? r->win.total > 0 : r->data_line;

	if (data) {
		char buf[16];
		size_t n = r->win.hn < sizeof(buf) - 1 ? r->win.hn : sizeof(buf) - 1;

		memcpy(buf, r->win.head, n);
		buf[n] = 0;
		if (r->format == FMT_SSE && r->win.total == n &&
		    (!strcmp(buf, "data: [DONE]") || !strcmp(buf, "data:[DONE]"))) {
			r->done = true;
		} else {
			if (r->chunks) {
				double dt = (ts - r->last_chunk_ns) * 1e-9;
				int b = 0;

				while (b < LLM_CHUNK_BUCKETS && dt > llm_chunk_le[b])
					b++;
				r->chunk_hist[b]++;
				r->chunk_sum += dt;
			}
			r->chunks++;
			r->last_chunk_ns = ts;
			if (r->win.gap)
				r->cuts++;
			analyse_window(r, api, r->format == FMT_SSE ? "data:" : NULL);
		}
	}
	win_reset(&r->win);
	r->data_line = false;
	r->line_pos = 0;
}

/* Body bytes (framing removed) of the response. */
static void body(struct llm_response *r, enum llm_api api, const char *s, size_t n, __u64 ts)
{
	if (!n)
		return;
	if (!r->first_ns)
		r->first_ns = ts;
	if (r->format == FMT_JSON) {
		win_add(&r->win, s, n);
		return;
	}
	while (n && !r->done) {
		const char *nl = memchr(s, '\n', n);
		size_t k = nl ? (size_t)(nl - s) : n;
		size_t i;

		/* The field name of an SSE line is in its first bytes. */
		for (i = 0; i < k && r->line_pos < sizeof(r->field); i++)
			r->field[r->line_pos++] = s[i];
		if (r->line_pos >= 5 && !memcmp(r->field, "data:", 5))
			r->data_line = true;
		if (k && s[k - 1] == '\r')
			win_add(&r->win, s, k - 1);
		else
			win_add(&r->win, s, k);
		if (!nl)
			return;
		line_end(r, api, ts);
		s += k + 1;
		n -= k + 1;
	}
}

/* Body bytes as framed on the wire: chunked, or by length, or to the end. */
static void framed(struct llm_response *r, enum llm_api api, const char *s, size_t n, __u64 ts)
{
	if (r->phase == PHASE_RAW || !r->chunked) {
		if (r->phase != PHASE_RAW && r->content_left >= 0 &&
		    (long long)n >= r->content_left) {
			n = r->content_left;
			r->content_left = 0;
			body(r, api, s, n, ts);
			r->done = true;
			return;
		}
		if (r->phase != PHASE_RAW && r->content_left > 0)
			r->content_left -= n;
		body(r, api, s, n, ts);
		return;
	}
	while (n && !r->done) {
		char c = *s;
		size_t k;

		switch (r->cstate) {
		case CS_SIZE:
			if ((c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')) {
				if (++r->size_digits > 15) {
					r->phase =
						PHASE_RAW; /* not chunked framing: keep the bytes */
					r->cuts++;
					framed(r, api, s, n, ts);
					return;
				}
				r->chunk_left = r->chunk_left * 16 +
						(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
			} else if (c == ';') {
				r->cstate = CS_EXT;
			} else if (c == '\n') {
				r->cstate = r->chunk_left ? CS_DATA : CS_END;
				r->size_digits = 0;
				if (r->cstate == CS_END)
					r->done = true;
			} else if (c != '\r' && c != ' ' && c != '\t') {
				r->phase = PHASE_RAW;
				r->cuts++;
				framed(r, api, s, n, ts);
				return;
			}
			s++, n--;
			break;
		case CS_EXT:
			if (c == '\n') {
				r->cstate = r->chunk_left ? CS_DATA : CS_END;
				r->size_digits = 0;
				if (r->cstate == CS_END)
					r->done = true;
			}
			s++, n--;
			break;
		case CS_DATA:
			k = n < r->chunk_left ? n : (size_t)r->chunk_left;
			body(r, api, s, k, ts);
			r->chunk_left -= k;
			s += k;
			n -= k;
			if (!r->chunk_left)
				r->cstate = CS_DATA_END;
			break;
		case CS_DATA_END:
			if (c == '\n')
				r->cstate = CS_SIZE;
			s++, n--;
			break;
		default:
			return;
		}
	}
}

/* skipped bytes left out by the kernel at this point of the response. */
static void gap(struct llm_response *r, __u64 skipped)
{
	r->cuts++;
	if (r->phase == PHASE_HEAD) {
		r->phase = PHASE_LOST;
		return;
	}
	if (r->phase == PHASE_BODY && r->chunked) {
		if (r->cstate == CS_DATA && r->chunk_left >= skipped) {
			r->chunk_left -= skipped;
			if (!r->chunk_left)
				r->cstate = CS_DATA_END;
		} else {
			r->phase = PHASE_RAW;
		}
	} else if (r->phase == PHASE_BODY && r->content_left >= 0) {
		if ((__u64)r->content_left > skipped)
			r->content_left -= skipped;
		else
			r->phase = PHASE_RAW;
	}
	win_gap(&r->win, skipped);
}

static void feed(struct llm_response *r, enum llm_api api, const char *s, size_t n, __u64 ts)
{
	while (n && r->phase == PHASE_HEAD) {
		char c = *s++;

		n--;
		if (r->hlen < LLM_HEAD_MAX)
			r->head[r->hlen++] = c;
		else if (r->hlen == LLM_HEAD_MAX)
			r->cuts++, r->hlen++; /* counted once: headers beyond are not read */
		r->crlf = r->crlf << 8 | (__u8)c;
		if (r->crlf == 0x0d0a0d0a || (r->crlf & 0xffff) == 0x0a0a) {
			if (r->hlen > LLM_HEAD_MAX)
				r->hlen = LLM_HEAD_MAX;
			r->crlf = 0;
			if (!parse_head(r)) {
				r->hlen = 0; /* interim: the final head follows */
				continue;
			}
			r->phase = PHASE_BODY;
			if ((r->status == 204 || r->status == 304 || r->content_left == 0) &&
			    !r->chunked)
				r->done = true;
		}
	}
	if (n && !r->done && (r->phase == PHASE_BODY || r->phase == PHASE_RAW))
		framed(r, api, s, n, ts);
}

bool llmparse__response_feed(struct llm_response *r, enum llm_api api, const char *data, size_t n,
			     size_t n_head, size_t skipped, __u64 ts_ns)
{
	if (r->done || r->phase == PHASE_LOST)
		return r->done;
	r->last_ns = ts_ns;
	if (!skipped || n_head > n)
		n_head = n;
	feed(r, api, data, n_head, ts_ns);
	if (skipped && !r->done) {
		gap(r, skipped);
		feed(r, api, data + n_head, n - n_head, ts_ns);
	}
	if (r->done)
		r->phase = PHASE_DONE;
	return r->done;
}

void llmparse__finish(struct llm_request *q, struct llm_response *r, struct llm_result *out)
{
	const __u64 *raw = r->raw;
	__u32 h = r->raw_have;

	if (r->phase == PHASE_BODY || r->phase == PHASE_RAW || r->phase == PHASE_DONE) {
		if (r->format == FMT_JSON)
			analyse_window(r, q->api, NULL);
		else if (r->win.total)
			line_end(r, q->api, r->last_ns); /* the last line had no newline */
		win_reset(&r->win);
	}
	h = r->raw_have;
	memset(out, 0, sizeof(*out));
	out->api = q->api;
	if (!q->line && q->len) {
		/*
		 * The request's first bytes were not its start (bytes the probes could not read as
		 * they were written, swarmwatch_llm_truncated_total{reason="head_lost"}): the usage
		 * fields say which API answered.
		 */
		static const enum llm_api api_of[] = {
			[KIND_NONE] = LLM_API_UNKNOWN,
			[KIND_OPENAI_CHAT] = LLM_API_OPENAI_CHAT,
			[KIND_OPENAI_RESPONSES] = LLM_API_OPENAI_RESPONSES,
			[KIND_ANTHROPIC] = LLM_API_ANTHROPIC,
			[KIND_GEMINI] = LLM_API_GEMINI,
			[KIND_OLLAMA] = LLM_API_OLLAMA_CHAT,
		};

		out->api = api_of[r->usage_kind];
	}
	out->status = r->status;
	/*
	 * What the response is says whether it streamed; the request's "stream" may lie beyond
	 * the bytes kept of it (an Ollama body with a long prompt before it).
	 */
	out->stream = r->status ? r->format != FMT_JSON : q->stream;
	out->request_model = q->model;
	out->response_model = r->model;
	out->cuts = r->cuts;
#define HAVE(i) (h & (1u << (i)))
#define SET(t, v)                             \
	do {                                  \
		out->tokens[t] = (v);         \
		out->token_have |= 1u << (t); \
	} while (0)
	switch (r->usage_kind) {
	case KIND_OPENAI_CHAT:
	case KIND_OPENAI_RESPONSES:
	case KIND_OLLAMA:
		if (HAVE(0))
			SET(LLM_TOKEN_INPUT, raw[0]);
		if (HAVE(1))
			SET(LLM_TOKEN_OUTPUT, raw[1]);
		if (HAVE(2) && raw[2])
			SET(LLM_TOKEN_CACHE_READ, raw[2]);
		if (HAVE(3) && raw[3])
			SET(LLM_TOKEN_REASONING, raw[3]);
		break;
	case KIND_ANTHROPIC:
		if (HAVE(0))
			SET(LLM_TOKEN_INPUT,
			    raw[0] + (HAVE(2) ? raw[2] : 0) + (HAVE(4) ? raw[4] : 0));
		if (HAVE(1))
			SET(LLM_TOKEN_OUTPUT, raw[1]);
		if (HAVE(2) && raw[2])
			SET(LLM_TOKEN_CACHE_READ, raw[2]);
		if (HAVE(4) && raw[4])
			SET(LLM_TOKEN_CACHE_WRITE, raw[4]);
		break;
	case KIND_GEMINI:
		if (HAVE(0))
			SET(LLM_TOKEN_INPUT, raw[0] + (HAVE(5) ? raw[5] : 0));
		if (HAVE(1) || HAVE(3))
			SET(LLM_TOKEN_OUTPUT, (HAVE(1) ? raw[1] : 0) + (HAVE(3) ? raw[3] : 0));
		if (HAVE(2) && raw[2])
			SET(LLM_TOKEN_CACHE_READ, raw[2]);
		if (HAVE(3) && raw[3])
			SET(LLM_TOKEN_REASONING, raw[3]);
		break;
	}
#undef SET
#undef HAVE
	out->usage = out->token_have & ((1u << LLM_TOKEN_INPUT) | (1u << LLM_TOKEN_OUTPUT));
}
