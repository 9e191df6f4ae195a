// SPDX-License-Identifier: MIT
/*
 * llm: from the plaintext of LLM API calls to per-agent counts, timings, tokens and cost (see
 * llm.h). Each exchange in flight (a channel: an SSL * or a plaintext socket, of a process)
 * holds its request's first bytes and its response's parser state, about 18 KiB, whatever the
 * size of the response; at most LLM_MAX_INFLIGHT at once.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fnmatch.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "llm.h"
#include "log.h"
#include "snapshot.h"

/* An exchange being parsed. */
struct exchange {
	__u32 tgid;
	__u64 id;
	__u32 slot;
	int upstream; /* index in llm.upstreams */
	__u64 host;
	__u32 addr[4];
	__u16 port;
	__u8 family;
	__u64 req_ns; /* request start, from the kernel */
	__u64 last_ns; /* last bytes seen */
	bool responding; /* response bytes arrived: the request's bytes are complete */
	struct llm_request q;
	struct llm_response r;
};

struct llm {
	const struct config *cfg;
	struct llm_prices *prices;
	struct exchange *inflight[LLM_MAX_INFLIGHT];
	int ninflight;
	struct llm_series *series;
	int nseries, series_cap;
	struct llm_headroom *room;
	int nroom;
	__u64 truncated[LLM_TR_MAX];
	bool warned_series;
	/* Per agent slot: spend of the UTC day spend_day[] (0: never), and what is not added yet. */
	double spend[SW_MAX_AGENTS_LIMIT + 1];
	double spend_total[SW_MAX_AGENTS_LIMIT + 1]; /* since start, every day */
	double spend_pending[SW_MAX_AGENTS_LIMIT + 1];
	__s64 spend_day[SW_MAX_AGENTS_LIMIT + 1];
	/* The agent each slot's spend belongs to: a reclaimed slot's next agent starts at 0. */
	char spend_agent[SW_MAX_AGENTS_LIMIT + 1][SW_NAME_LEN];
};

size_t llm__exchange_bytes(void)
{
	return sizeof(struct exchange);
}

/* ---- buckets ---- */

int llm__duration_bucket(double s)
{
	double le = 0.01;
	int i;

	for (i = 0; i < LLM_DURATION_BUCKETS; i++, le *= 2)
		if (s <= le)
			return i;
	return LLM_DURATION_BUCKETS;
}

int llm__token_bucket(__u64 t)
{
	__u64 le = 1;
	int i;

	for (i = 0; i < LLM_TOKEN_BUCKETS; i++, le *= 4)
		if (t <= le)
			return i;
	return LLM_TOKEN_BUCKETS;
}

/* ---- prices ---- */

void llmprices__free(struct llm_prices *p)
{
	if (!p)
		return;
	free(p->p);
	p->p = NULL;
	p->n = 0;
}

static int price_fail(char *err, size_t errlen, const char *origin, const char *what, size_t i)
{
	snprintf(err, errlen, "%s: prices[%zu]: %s", origin, i, what);
	return -EINVAL;
}

int llmprices__parse(const char *text, const char *origin, struct llm_prices *out, char *err,
		     size_t errlen)
{
	static const char *const fields[LLM_TOKEN_MAX] = {"input", "output", "cache_read",
							  "cache_write", "reasoning"};
	json_t *root, *list, *e, *v;
	json_error_t jerr;
	const char *key;
	size_t i;
	int ret = 0, t;

	memset(out, 0, sizeof(*out));
	root = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		snprintf(err, errlen, "%s:%d:%d: %s", origin, jerr.line, jerr.column, jerr.text);
		return -EINVAL;
	}
	list = json_object_get(root, "prices");
	if (!json_is_object(root) || !json_is_array(list)) {
		snprintf(err, errlen,
			 "%s: a price table is an object with \"date\", \"source\" and a "
			 "\"prices\" array",
			 origin);
		ret = -EINVAL;
		goto out;
	}
	json_object_foreach (root, key, v) {
		if (strcmp(key, "date") && strcmp(key, "source") && strcmp(key, "currency") &&
		    strcmp(key, "prices") && strcmp(key, "note")) {
			snprintf(err, errlen,
				 "%s: unknown key \"%s\" (date, source, currency, note, "
				 "prices)",
				 origin, key);
			ret = -EINVAL;
			goto out;
		}
	}
	v = json_object_get(root, "currency");
	if (v && (!json_is_string(v) || strcmp(json_string_value(v), "USD"))) {
		snprintf(err, errlen, "%s: \"currency\" must be \"USD\"", origin);
		ret = -EINVAL;
		goto out;
	}
	snprintf(out->date, sizeof(out->date), "%s",
		 json_string_value(json_object_get(root, "date")) ?: "");
	snprintf(out->source, sizeof(out->source), "%s",
		 json_string_value(json_object_get(root, "source")) ?: "");
	out->p = calloc(json_array_size(list) ? json_array_size(list) : 1, sizeof(*out->p));
	if (!out->p) {
		ret = -ENOMEM;
		goto out;
	}
	json_array_foreach (list, i, e) {
		struct llm_price *p = &out->p[out->n];
		const char *prov = json_string_value(json_object_get(e, "provider"));
		const char *model = json_string_value(json_object_get(e, "model"));

		if (!json_is_object(e)) {
			ret = price_fail(err, errlen, origin, "must be an object", i);
			goto out;
		}
		json_object_foreach (e, key, v) {
			for (t = 0; t < LLM_TOKEN_MAX; t++)
				if (!strcmp(key, fields[t]))
					break;
			if (t == LLM_TOKEN_MAX && strcmp(key, "provider") && strcmp(key, "model")) {
				char what[96];

				snprintf(what, sizeof(what), "unknown key \"%.40s\"", key);
				ret = price_fail(err, errlen, origin, what, i);
				goto out;
			}
		}
		if (!prov || !prov[0] || strlen(prov) >= sizeof(p->provider) || !model ||
		    !model[0] || strlen(model) >= sizeof(p->model)) {
			ret = price_fail(err, errlen, origin,
					 "needs a \"provider\" (1-31 characters) and a \"model\" "
					 "(name or pattern, 1-63 characters)",
					 i);
			goto out;
		}
		snprintf(p->provider, sizeof(p->provider), "%s", prov);
		snprintf(p->model, sizeof(p->model), "%s", model);
		for (t = 0; t < LLM_TOKEN_MAX; t++) {
			v = json_object_get(e, fields[t]);
			p->per_mtok[t] = -1;
			if (!v)
				continue;
			if (!json_is_number(v) || json_number_value(v) < 0 ||
			    json_number_value(v) > 1e6) {
				ret = price_fail(err, errlen, origin,
						 "prices are numbers of USD per million tokens, "
						 "0 to 1000000",
						 i);
				goto out;
			}
			p->per_mtok[t] = json_number_value(v);
		}
		if (p->per_mtok[LLM_TOKEN_INPUT] < 0 || p->per_mtok[LLM_TOKEN_OUTPUT] < 0) {
			ret = price_fail(err, errlen, origin,
					 "needs \"input\" and \"output\" prices", i);
			goto out;
		}
		out->n++;
	}
out:
	json_decref(root);
	if (ret)
		llmprices__free(out);
	return ret;
}

int llmprices__load(const char *path, struct llm_prices *out, char *err, size_t errlen)
{
	char *text;
	size_t len;
	FILE *f;
	int ret;

	memset(out, 0, sizeof(*out));
	f = fopen(path, "re");
	if (!f) {
		ret = -errno;
		snprintf(err, errlen, "%s: cannot read the price table: %s", path, strerror(-ret));
		return ret;
	}
	text = calloc(1, 1 << 20);
	if (!text) {
		fclose(f);
		return -ENOMEM;
	}
	len = fread(text, 1, (1 << 20) - 1, f);
	ret = ferror(f) ? -EIO : !feof(f) ? -EFBIG : 0;
	fclose(f);
	if (ret)
		snprintf(err, errlen, "%s: cannot read the price table: %s", path, strerror(-ret));
	else
		ret = llmprices__parse(text, path, out, err, errlen);
	(void)len;
	free(text);
	return ret;
}

static const struct llm_price *price_of(const struct llm_prices *p, const char *provider,
					const char *model)
{
	int i;

	if (!model || !model[0])
		return NULL;
	for (i = 0; i < p->n; i++)
		if (!strcmp(p->p[i].provider, provider) && !fnmatch(p->p[i].model, model, 0))
			return &p->p[i];
	return NULL;
}

bool llmprices__cost(const struct llm_prices *p, const char *provider, const struct llm_result *res,
		     double cost[LLM_TOKEN_MAX])
{
	const struct llm_price *pr;
	__u64 tok[LLM_TOKEN_MAX], cached;
	double rate[LLM_TOKEN_MAX];
	int t;

	memset(cost, 0, LLM_TOKEN_MAX * sizeof(double));
	if (!p || !res->usage)
		return false;
	pr = price_of(p, provider, res->request_model);
	if (!pr)
		pr = price_of(p, provider, res->response_model);
	if (!pr)
		return false;
	for (t = 0; t < LLM_TOKEN_MAX; t++)
		tok[t] = res->token_have & (1u << t) ? res->tokens[t] : 0;
	rate[LLM_TOKEN_INPUT] = pr->per_mtok[LLM_TOKEN_INPUT];
	rate[LLM_TOKEN_OUTPUT] = pr->per_mtok[LLM_TOKEN_OUTPUT];
	rate[LLM_TOKEN_CACHE_READ] = pr->per_mtok[LLM_TOKEN_CACHE_READ] >= 0
					     ? pr->per_mtok[LLM_TOKEN_CACHE_READ]
					     : rate[LLM_TOKEN_INPUT];
	rate[LLM_TOKEN_CACHE_WRITE] = pr->per_mtok[LLM_TOKEN_CACHE_WRITE] >= 0
					      ? pr->per_mtok[LLM_TOKEN_CACHE_WRITE]
					      : rate[LLM_TOKEN_INPUT];
	rate[LLM_TOKEN_REASONING] = pr->per_mtok[LLM_TOKEN_REASONING] >= 0
					    ? pr->per_mtok[LLM_TOKEN_REASONING]
					    : rate[LLM_TOKEN_OUTPUT];
	/* Input and output include their cache and reasoning parts: each is priced once. */
	cached = tok[LLM_TOKEN_CACHE_READ] + tok[LLM_TOKEN_CACHE_WRITE];
	tok[LLM_TOKEN_INPUT] = tok[LLM_TOKEN_INPUT] > cached ? tok[LLM_TOKEN_INPUT] - cached : 0;
	tok[LLM_TOKEN_OUTPUT] = tok[LLM_TOKEN_OUTPUT] > tok[LLM_TOKEN_REASONING]
					? tok[LLM_TOKEN_OUTPUT] - tok[LLM_TOKEN_REASONING]
					: 0;
	for (t = 0; t < LLM_TOKEN_MAX; t++)
		cost[t] = tok[t] * rate[t] / 1e6;
	return true;
}

/* ---- accounting ---- */

struct llm *llm__new(const struct config *c, struct llm_prices *prices)
{
	struct llm *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->cfg = c;
	l->prices = prices;
	return l;
}

void llm__free(struct llm *l)
{
	int i;

	if (!l)
		return;
	for (i = 0; i < l->ninflight; i++)
		free(l->inflight[i]);
	free(l->series);
	free(l->room);
	free(l);
}

static const char *provider_of(const struct llm *l, int upstream)
{
	return upstream >= 0 && upstream < l->cfg->nllm_upstreams
		       ? l->cfg->llm_upstreams[upstream].provider
		       : "unknown";
}

/* The series of slot, provider, model and operation, made when new; NULL when full. */
static struct llm_series *series_of(struct llm *l, __u32 slot, const char *provider,
				    const char *model, const char *op)
{
	struct llm_series *s;
	int i, models = 0;
	bool known = false;

	if (!model[0])
		model = "unknown";
	for (i = 0; i < l->nseries; i++) {
		s = &l->series[i];
		if (s->slot != slot)
			continue;
		if (!strcmp(s->model, model))
			known = true;
		else
			models++;
		if (!strcmp(s->model, model) && !strcmp(s->provider, provider) &&
		    s->operation == op)
			return s;
	}
	/* Model labels per agent are bounded: the rest fold into "other". */
	if (!known && models >= l->cfg->llm_max_models && strcmp(model, "other"))
		return series_of(l, slot, provider, "other", op);
	if (l->nseries == LLM_MAX_SERIES)
		return NULL;
	if (l->nseries == l->series_cap) {
		int cap = l->series_cap ? l->series_cap * 2 : 8;
		struct llm_series *n = realloc(l->series, cap * sizeof(*n));

		if (!n)
			return NULL;
		l->series = n;
		l->series_cap = cap;
	}
	s = &l->series[l->nseries++];
	memset(s, 0, sizeof(*s));
	s->slot = slot;
	snprintf(s->provider, sizeof(s->provider), "%s", provider);
	snprintf(s->model, sizeof(s->model), "%s", model);
	s->operation = op;
	return s;
}

static void server_of(const struct exchange *x, char *out, size_t len)
{
	char ip[INET6_ADDRSTRLEN] = "?";

	inet_ntop(x->family == AF_INET6 ? AF_INET6 : AF_INET, x->addr, ip, sizeof(ip));
	if (x->family == AF_INET6)
		snprintf(out, len, "[%s]:%u", ip, x->port);
	else
		snprintf(out, len, "%s:%u", ip, x->port);
}

static void headroom(struct llm *l, const struct exchange *x)
{
	const struct llm_upstream *u = &l->cfg->llm_upstreams[x->upstream];
	struct llm_headroom *h = NULL;
	char server[80];
	int i;

	if (u->host[0])
		snprintf(server, sizeof(server), "%s:%u", u->host, x->port);
	else
		server_of(x, server, sizeof(server));
	for (i = 0; i < l->nroom; i++)
		if (l->room[i].slot == x->slot && !strcmp(l->room[i].server, server))
			h = &l->room[i];
	if (!h) {
		if (l->nroom == LLM_MAX_HEADROOM)
			return;
		if (!l->room) {
			l->room = calloc(LLM_MAX_HEADROOM, sizeof(*l->room));
			if (!l->room)
				return;
		}
		h = &l->room[l->nroom++];
		memset(h, 0, sizeof(*h));
		h->slot = x->slot;
		snprintf(h->provider, sizeof(h->provider), "%s", u->provider);
		snprintf(h->server, sizeof(h->server), "%s", server);
	}
	for (i = 0; i < LLM_RATE_MAX; i++)
		if (x->r.rate_have & (1u << i)) {
			h->rate[i] = x->r.rate[i];
			h->have |= 1u << i;
		}
	/* A retry-after holds for the answer that gave it: later answers without one clear it. */
	if (!(x->r.rate_have & (1u << LLM_RATE_RETRY_AFTER)))
		h->rate[LLM_RATE_RETRY_AFTER] = 0;
}

static int status_class(int status)
{
	if (status == 429)
		return LLM_ST_429;
	if (status >= 200 && status < 300)
		return LLM_ST_2XX;
	if (status >= 400 && status < 500)
		return LLM_ST_4XX;
	if (status >= 500 && status < 600)
		return LLM_ST_5XX;
	return LLM_ST_OTHER;
}

/* The exchange ended: its figures into its series. */
static void record(struct llm *l, struct exchange *x)
{
	const char *model, *op;
	struct llm_result res;
	struct llm_series *s;
	double cost[LLM_TOKEN_MAX];
	int t;

	llmparse__finish(&x->q, &x->r, &res);
	if ((x->q.line && !x->q.post) || res.api == LLM_API_UNKNOWN || !res.status)
		return; /* not an API call (a listing), or no answer was read */
	if (!x->q.line)
		l->truncated[LLM_TR_HEAD_LOST]++; /* counted by the API its answer shows */
	if (res.cuts)
		l->truncated[LLM_TR_PARSE_CUT]++;
	op = llm_operation_name(res.api);
	model = res.request_model[0] ? res.request_model : res.response_model;
	s = series_of(l, x->slot, provider_of(l, x->upstream), model, op);
	if (!s) {
		if (!l->warned_series)
			pr_warn("llm: %d series already; further agent, model and operation "
				"combinations are not counted (swarmwatch_llm_truncated_total"
				"{reason=\"series_full\"})",
				LLM_MAX_SERIES);
		l->warned_series = true;
		l->truncated[LLM_TR_SERIES_FULL]++;
		return;
	}
	s->requests[status_class(res.status)]++;
	if (x->r.last_ns > x->req_ns) {
		double d = (x->r.last_ns - x->req_ns) * 1e-9;

		s->dur[llm__duration_bucket(d)]++;
		s->dur_sum += d;
	}
	if (res.stream && x->r.first_ns > x->req_ns && res.status / 100 == 2) {
		double d = (x->r.first_ns - x->req_ns) * 1e-9;

		s->ttft[llm__duration_bucket(d)]++;
		s->ttft_sum += d;
		for (t = 0; t <= LLM_CHUNK_BUCKETS; t++)
			s->chunk[t] += x->r.chunk_hist[t];
		s->chunk_sum += x->r.chunk_sum;
	}
	if (x->upstream >= 0 && x->r.rate_have)
		headroom(l, x);
	if (res.status / 100 != 2)
		return;
	if (!res.usage) {
		/* Never a zero: counted as missing, or as lost when bytes were. */
		if (res.cuts)
			l->truncated[LLM_TR_USAGE_LOST]++;
		else
			s->usage_missing++;
		return;
	}
	for (t = 0; t < LLM_TOKEN_MAX; t++) {
		if (!(res.token_have & (1u << t)))
			continue;
		s->tok[t][llm__token_bucket(res.tokens[t])]++;
		s->tok_sum[t] += res.tokens[t];
	}
	if (llmprices__cost(l->prices, s->provider, &res, cost))
		for (t = 0; t < LLM_TOKEN_MAX; t++) {
			s->cost[t] += cost[t];
			if (x->slot <= SW_MAX_AGENTS_LIMIT)
				l->spend_pending[x->slot] += cost[t];
		}
}

static void end_exchange(struct llm *l, int i)
{
	struct exchange *x = l->inflight[i];

	record(l, x);
	free(x);
	l->inflight[i] = l->inflight[--l->ninflight];
}

static int find(const struct llm *l, __u32 tgid, __u64 id)
{
	int i;

	for (i = 0; i < l->ninflight; i++)
		if (l->inflight[i]->id == id && l->inflight[i]->tgid == tgid)
			return i;
	return -1;
}

static struct exchange *start(struct llm *l, const struct sw_llm_event *e)
{
	struct exchange *x;
	int i, oldest = 0;

	if (l->ninflight == LLM_MAX_INFLIGHT) {
		for (i = 1; i < l->ninflight; i++)
			if (l->inflight[i]->last_ns < l->inflight[oldest]->last_ns)
				oldest = i;
		end_exchange(l, oldest);
		l->truncated[LLM_TR_INFLIGHT_FULL]++;
	}
	x = malloc(sizeof(*x));
	if (!x)
		return NULL;
	x->tgid = e->tgid;
	x->id = e->id;
	x->slot = e->slot;
	x->host = e->host;
	memcpy(x->addr, e->addr, sizeof(x->addr));
	x->port = e->port;
	x->family = e->family;
	x->upstream = config__llm_upstream(l->cfg, e->host, e->family, e->addr, e->port);
	x->req_ns = e->req_ns;
	x->last_ns = e->ts_ns;
	x->responding = false;
	llmparse__request_init(&x->q);
	llmparse__response_init(&x->r);
	l->inflight[l->ninflight++] = x;
	return x;
}

void llm__event(struct llm *l, const struct sw_llm_event *e, size_t size)
{
	size_t len = e->len, head;
	struct exchange *x;
	int i;

	if (len > SW_LLM_DATA || offsetof(struct sw_llm_event, data) + len > size)
		return; /* defensive: the kernel never sends more than it says */
	i = find(l, e->tgid, e->id);
	if (e->kind == SW_LLM_REQUEST && (e->flags & SW_LLM_F_START)) {
		if (i >= 0)
			end_exchange(l, i); /* the next request on the channel ends the last */
		x = start(l, e);
	} else {
		x = i >= 0 ? l->inflight[i] : NULL;
	}
	if (!x)
		return;
	x->last_ns = e->ts_ns;
	if (e->kind == SW_LLM_REQUEST) {
		if (!x->responding)
			llmparse__request_feed(&x->q, e->data, len);
		return;
	}
	x->responding = true;
	head = e->skipped ? len / 2 : len;
	if (llmparse__response_feed(&x->r, x->q.api, e->data, len, head, e->skipped, e->ts_ns))
		end_exchange(l, find(l, e->tgid, e->id));
}

struct llm_view *llm__view(struct llm *l, const struct snapshot *s, const __u64 *kc, __u64 now)
{
	static const int kmap[][2] = {
		{LLM_TR_CUT_READS, SW_LLM_CNT_CUT_READS},
		{LLM_TR_REQUEST_BUDGET, SW_LLM_CNT_REQ_BUDGET},
		{LLM_TR_RESPONSE_BUDGET, SW_LLM_CNT_RESP_BUDGET},
		{LLM_TR_RINGBUF_FULL, SW_LLM_CNT_RINGBUF_FULL},
		{LLM_TR_NO_BUFFER, SW_LLM_CNT_NO_BUFFER},
	};
	struct llm_view *v;
	__s64 day;
	int i, j;

	for (i = 0; i < l->ninflight;) {
		if (now > l->inflight[i]->last_ns + LLM_IDLE_NS)
			end_exchange(l, i);
		else
			i++;
	}
	v = calloc(1, sizeof(*v));
	if (!v)
		return NULL;
	v->series = calloc(l->nseries ? l->nseries : 1, sizeof(*v->series));
	v->room = calloc(l->nroom ? l->nroom : 1, sizeof(*v->room));
	if (!v->series || !v->room) {
		llm__view_free(v);
		return NULL;
	}
	v->spend_today = calloc(s->nagents ? s->nagents : 1, sizeof(*v->spend_today));
	v->spend_total = calloc(s->nagents ? s->nagents : 1, sizeof(*v->spend_total));
	if (!v->spend_today || !v->spend_total) {
		llm__view_free(v);
		return NULL;
	}
	for (j = 0; j < s->nagents; j++) {
		__u32 slot = s->agents[j].slot;

		if (slot > SW_MAX_AGENTS_LIMIT || !strcmp(l->spend_agent[slot], s->agents[j].name))
			continue;
		if (l->spend_agent[slot][0]) {
			l->spend[slot] = 0;
			l->spend_total[slot] = 0;
			l->spend_day[slot] = 0;
		}
		snprintf(l->spend_agent[slot], SW_NAME_LEN, "%s", s->agents[j].name);
	}
	day = (__s64)(s->time / 86400) + 1; /* + 1: 0 stays "never" */
	for (i = 0; i <= SW_MAX_AGENTS_LIMIT; i++) {
		if (!l->spend_pending[i] && !l->spend_day[i])
			continue;
		if (l->spend_day[i] != day)
			l->spend[i] = 0;
		l->spend_day[i] = day;
		l->spend[i] += l->spend_pending[i];
		l->spend_total[i] += l->spend_pending[i];
		l->spend_pending[i] = 0;
	}
	for (j = 0; j < s->nagents; j++) {
		__u32 slot = s->agents[j].slot;

		v->spend_today[j] =
			slot <= SW_MAX_AGENTS_LIMIT && l->spend_day[slot] ? l->spend[slot] : -1;
		v->spend_total[j] = slot <= SW_MAX_AGENTS_LIMIT && l->spend_day[slot]
					    ? l->spend_total[slot]
					    : -1;
	}
	memcpy(v->truncated, l->truncated, sizeof(v->truncated));
	for (i = 0; kc && i < (int)(sizeof(kmap) / sizeof(kmap[0])); i++)
		v->truncated[kmap[i][0]] += kc[kmap[i][1]];
	v->events = kc ? kc[SW_LLM_CNT_EVENTS] : 0;
	v->inflight = l->ninflight;
	for (i = 0; i < l->nseries; i++)
		for (j = 0; j < s->nagents; j++)
			if (s->agents[j].slot == l->series[i].slot) {
				v->series[v->nseries] = l->series[i];
				v->series[v->nseries++].agent = j;
				break;
			}
	for (i = 0; i < l->nroom; i++)
		for (j = 0; j < s->nagents; j++)
			if (s->agents[j].slot == l->room[i].slot) {
				v->room[v->nroom] = l->room[i];
				v->room[v->nroom++].agent = j;
				break;
			}
	return v;
}

void llm__view_free(struct llm_view *v)
{
	if (!v)
		return;
	free(v->spend_today);
	free(v->spend_total);
	free(v->series);
	free(v->room);
	free(v);
}
