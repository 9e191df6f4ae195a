// SPDX-License-Identifier: MIT
/*
 * HTTP endpoints from a route table: /metrics (text 0.0.4, gzip on request), /healthz, /,
 * /api/v1/anomalies, /api/v1/alerts (and POST .../{id}/ack), /api/v1/incidents (and
 * .../{id}), /api/v1/silences (GET, POST, DELETE /{id}), /api/v1/stream (stream.c),
 * /api/v1/pools (and .../{pool}/history, POST .../evaluate), the dashboard's files (web.h),
 * and the history of the series store: /api/v1/series, /api/v1/query_range, /api/v1/agents.
 * Every error is the JSON document of api__error() with its status code in it and on the
 * response.
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <errno.h>
#include <math.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "alerting.h"
#include "api.h"
#include "api_pools.h"
#include "catalog.h"
#include "clock.h"
#include "config.h"
#include "http.h"
#include "incident.h"
#include "log.h"
#include "metrics.h"
#include "num.h"
#include "prom.h"
#include "scale.h"
#include "scaling.h"
#include "stream.h"
#include "text.h"
#include "ratelimit.h"
#include "web.h"
#include "webconfig.h"

/* Where index.html takes the server-rendered rows of the agents table. */
#define INDEX_MARK "<!--agents-->"
#include "store.h"
#include "tenancy.h"

_Static_assert(WEB_TENANT_LEN == TENANT_NAME_MAX, "a token's tenant names are tenancy's");

/* What a route's handler gets of its request. */
struct req {
	const char *in; /* the body (POST: NUL-terminated, NULL when over BODY_MAX) */
	const struct web_token *tok; /* the bearer token that authorized it; NULL: none */
};

/* Why admit() refused a request, for the log. */
enum refused { REFUSED_RATE, REFUSED_LOGINS, REFUSED_CREDENTIALS, REFUSED_SCOPE, REFUSED_MAX };

/* At most one log line of refused requests per this many seconds. */
#define REFUSED_LOG_S 60

/* One rendering of /metrics, shared by reference by the scrapes of one tick; immutable once
 * made, but for gz, which is made under page_lock by the first scrape that wants it. */
struct page {
	int refs;
	__u64 ticks; /* of the snapshot it shows */
	double time;
	char *text;
	size_t len;
	char *gz; /* gzip of text, NULL until a scrape asks for it */
	size_t gzlen;
	bool gz_failed;
};

struct http {
	struct MHD_Daemon *mhd;
	pthread_mutex_t page_lock; /* guards page, and the making of a page */
	struct page *page; /* the latest rendering of /metrics; NULL before the first scrape */
	/* Scrapes of /metrics seen, for http__prerender(): monotonic ns of the last one, of the
	 * last one that asked for gzip (0: none yet), and the gap between the last two. */
	__u64 scraped_ns;
	__u64 gz_scraped_ns;
	__u64 scrape_gap_ns;
	struct snapshot_slot *slot; /* NULL until attached */
	struct store *store; /* NULL until attached: no history endpoints */
	struct http_alert_ops ops; /* zero until set */
	void *ops_ctx;
	bool ops_set;
	struct http_scale_ops sops; /* zero until set */
	void *sops_ctx;
	bool sops_set;
	struct stream *stream; /* NULL until attached */
	__u64 interval_ns;
	int fd;
	char listen[128]; /* for messages; "" when serving fds */
	struct web_config *web; /* NULL: no authentication, no rate limit, plain HTTP */
	struct ratelimit *rl; /* NULL: no rate limit */
	struct ratelimit *failures; /* wrong credentials per client; NULL without auth */
	/* Requests refused since the last log line, by why; the server's thread only. */
	unsigned refused[REFUSED_MAX];
	char refused_from[INET6_ADDRSTRLEN]; /* the last refused client */
	__u64 refused_logged_ns;
};

int http__split_listen(const char *listen, char *host, size_t hostlen, char *port, size_t portlen)
{
	const char *colon, *h = listen;
	long long num;
	size_t n;

	if (listen[0] == '[') {
		const char *close = strchr(listen, ']');

		if (!close || close[1] != ':')
			return -EINVAL;
		h = listen + 1;
		n = close - h;
		colon = close + 1;
	} else {
		colon = strrchr(listen, ':');
		if (!colon)
			return -EINVAL;
		n = colon - listen;
	}
	if (n >= hostlen || strlen(colon + 1) >= portlen || !colon[1])
		return -EINVAL;
	if (num__parse(colon + 1, NULL, 1, 65535, &num))
		return -EINVAL;
	memcpy(host, h, n);
	host[n] = 0;
	strcpy(port, colon + 1);
	return 0;
}

int http__accepts_gzip(const char *ae)
{
	const char *p;

	if (!ae)
		return 0;
	for (p = ae; (p = strcasestr(p, "gzip")); p += 4) {
		const char *q = p + 4;

		if ((p != ae && p[-1] != ' ' && p[-1] != ',') ||
		    (*q && *q != ',' && *q != ';' && *q != ' '))
			continue;
		while (*q == ' ')
			q++;
		if (*q == ';') {
			q++;
			while (*q == ' ')
				q++;
			if (!strncasecmp(q, "q=0", 3) &&
			    strspn(q + 3, ".0") == strcspn(q + 3, ", "))
				return 0;
		}
		return 1;
	}
	return 0;
}

static int bind_listen(const char *addr, char *err, size_t errlen)
{
	struct addrinfo hints = {0}, *res = NULL, *ai;
	char host[256], port[16];
	int fd = -1, one = 1, rc, e = 0;

	if (http__split_listen(addr, host, sizeof(host), port, sizeof(port))) {
		snprintf(err, errlen, "listen address \"%s\" is not ADDR:PORT (e.g. 0.0.0.0:7979)",
			 addr);
		return -EINVAL;
	}
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
	if (rc) {
		snprintf(err, errlen, "listen address \"%s\": %s", addr, gai_strerror(rc));
		return -EINVAL;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			e = errno;
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (!bind(fd, ai->ai_addr, ai->ai_addrlen) && !listen(fd, 64))
			break;
		e = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		if (e == EADDRINUSE)
			snprintf(
				err, errlen,
				"listen %s: address already in use (is another swarmwatch running? "
				"pick another with --listen)",
				addr);
		else
			snprintf(err, errlen, "listen %s: %s", addr, strerror(e));
		return -e;
	}
	return fd;
}

/*
 * The tenant filter of request rq over the agents' tenants in s (may be NULL: no agent has
 * one): NULL when rq sees every agent, else f filled.
 */
static const struct tenancy_filter *filter_of(const struct req *rq, const struct snapshot *s,
					      struct tenancy_filter *f)
{
	if (!rq || !rq->tok || !rq->tok->ntenants)
		return NULL;
	f->tenants = rq->tok->tenants;
	f->ntenants = rq->tok->ntenants;
	f->table = s ? s->tenants : NULL;
	f->ntable = s ? s->ntenants : 0;
	f->incident_agent = incident__agent_of;
	f->incident_ctx = s ? s->incidents : NULL;
	return f;
}

static bool restricted(const struct req *rq)
{
	return rq && rq->tok && rq->tok->ntenants;
}

/* The latest snapshot with a reference taken; NULL before the first tick. */
static struct snapshot *acquire(struct http *h)
{
	struct snapshot_slot *slot = __atomic_load_n(&h->slot, __ATOMIC_ACQUIRE);

	return slot ? snapshot__acquire(slot) : NULL;
}

static enum MHD_Result respond(struct MHD_Connection *c, unsigned status, const char *type,
			       char *body, size_t len, int gzipped)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", type);
	if (gzipped)
		MHD_add_response_header(r, "Content-Encoding", "gzip");
	MHD_add_response_header(r, "Vary", "Accept-Encoding");
	MHD_add_response_header(r, "Cache-Control", "no-store");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result respond_text(struct MHD_Connection *c, const char *text)
{
	char *body = strdup(text);

	if (!body)
		return MHD_NO;
	return respond(c, MHD_HTTP_OK, "text/plain; charset=utf-8", body, strlen(body), 0);
}

/* The one error convention: {"status": "error", "code": status, "error": message}, with status. */
static enum MHD_Result respond_error(struct MHD_Connection *c, unsigned status, const char *message)
{
	char *body = api__error(status, message);

	if (!body)
		return MHD_NO;
	return respond(c, status, API_CONTENT_TYPE, body, strlen(body), 0);
}

/* 405 with the Allow header the route takes. */
static enum MHD_Result respond_not_allowed(struct MHD_Connection *c, const char *allow,
					   const char *message)
{
	char *body = api__error(MHD_HTTP_METHOD_NOT_ALLOWED, message);
	struct MHD_Response *r;
	enum MHD_Result ret;

	if (!body)
		return MHD_NO;
	r = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", API_CONTENT_TYPE);
	MHD_add_response_header(r, "Allow", allow);
	ret = MHD_queue_response(c, MHD_HTTP_METHOD_NOT_ALLOWED, r);
	MHD_destroy_response(r);
	return ret;
}

/* gzip-compresses in[0..len) into a malloc'd buffer; NULL on failure. */
static char *gzip(const char *in, size_t len, size_t *outlen)
{
	z_stream z = {0};
	size_t cap;
	char *out;

	if (deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return NULL;
	cap = deflateBound(&z, len);
	out = malloc(cap);
	if (!out) {
		deflateEnd(&z);
		return NULL;
	}
	z.next_in = (Bytef *)in;
	z.avail_in = len;
	z.next_out = (Bytef *)out;
	z.avail_out = cap;
	if (deflate(&z, Z_FINISH) != Z_STREAM_END) {
		deflateEnd(&z);
		free(out);
		return NULL;
	}
	*outlen = z.total_out;
	deflateEnd(&z);
	return out;
}

/* Drops a reference to page p; the last one frees it. NULL is ignored. */
static void page_put(struct page *p)
{
	if (!p || __atomic_sub_fetch(&p->refs, 1, __ATOMIC_ACQ_REL))
		return;
	free(p->text);
	free(p->gz);
	free(p);
}

static void page_release(void *p)
{
	page_put(p);
}

/*
 * The /metrics page of snapshot s with a reference taken, and its gzip copy when gz: rendered
 * by the first scrape after a tick while the others wait for it (single flight), then shared
 * by every scrape of that tick. NULL on out of memory.
 */
static struct page *page_of(struct http *h, const struct snapshot *s, bool gz)
{
	struct page *p;
	struct buf b;

	pthread_mutex_lock(&h->page_lock);
	p = h->page;
	if (!p || p->ticks != s->ticks || p->time != s->time) {
		p = calloc(1, sizeof(*p));
		if (!p)
			goto out;
		buf__init(&b);
		metrics__render(&b, s);
		if (b.failed || !b.data) {
			buf__free(&b);
			free(p);
			p = NULL;
			goto out;
		}
		p->refs = 1; /* the cache's */
		p->ticks = s->ticks;
		p->time = s->time;
		p->text = b.data;
		p->len = b.len;
		page_put(h->page);
		h->page = p;
	}
	if (gz && !p->gz && !p->gz_failed) {
		p->gz = gzip(p->text, p->len, &p->gzlen);
		p->gz_failed = !p->gz;
	}
	__atomic_add_fetch(&p->refs, 1, __ATOMIC_ACQ_REL);
out:
	pthread_mutex_unlock(&h->page_lock);
	return p;
}

/* Notes a scrape of /metrics now, for http__prerender(); gz: it will take the gzip copy. */
static void note_scrape(struct http *h, bool gz)
{
	__u64 now = clock__mono_ns();
	__u64 last = __atomic_exchange_n(&h->scraped_ns, now, __ATOMIC_RELAXED);

	if (last && now > last)
		__atomic_store_n(&h->scrape_gap_ns, now - last, __ATOMIC_RELAXED);
	if (gz)
		__atomic_store_n(&h->gz_scraped_ns, now, __ATOMIC_RELAXED);
}

int http__prerender(struct http *h)
{
	__u64 now = clock__mono_ns(), window, last, gz_last;
	struct snapshot *s;
	struct page *p;

	last = __atomic_load_n(&h->scraped_ns, __ATOMIC_RELAXED);
	if (!last)
		return 0;
	window = 2 * __atomic_load_n(&h->scrape_gap_ns, __ATOMIC_RELAXED);
	if (window < HTTP_PRERENDER_MIN_S * 1000000000ULL)
		window = HTTP_PRERENDER_MIN_S * 1000000000ULL;
	if (window > HTTP_PRERENDER_MAX_S * 1000000000ULL)
		window = HTTP_PRERENDER_MAX_S * 1000000000ULL;
	if (now - last > window)
		return 0;
	gz_last = __atomic_load_n(&h->gz_scraped_ns, __ATOMIC_RELAXED);
	s = acquire(h);
	if (!s)
		return 0;
	p = page_of(h, s, gz_last && now - gz_last <= window);
	snapshot__release(s);
	if (!p)
		return -ENOMEM;
	page_put(p);
	return 1;
}

/* Answers with bytes of page p (taken over: released once they are sent). */
static enum MHD_Result respond_page(struct MHD_Connection *c, struct page *p, bool gz)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer_with_free_callback_cls(
		gz ? p->gzlen : p->len, gz ? p->gz : p->text, page_release, p);
	if (!r) {
		page_put(p);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", PROM_CONTENT_TYPE);
	if (gz)
		MHD_add_response_header(r, "Content-Encoding", "gzip");
	MHD_add_response_header(r, "Vary", "Accept-Encoding");
	MHD_add_response_header(r, "Cache-Control", "no-store");
	ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

/*
 * GET /metrics: the page of the latest tick (page_of()); a token with tenants gets the lines of
 * its agents only (tenancy__filter_metrics()), cut from that page.
 */
static enum MHD_Result serve_metrics(struct http *h, struct MHD_Connection *c, const char *url,
				     const struct req *rq)
{
	const char *ae = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Accept-Encoding");
	bool gz = http__accepts_gzip(ae);
	struct snapshot *s = acquire(h);
	struct tenancy_filter f;
	struct page *p;
	struct buf b;
	size_t zlen;
	char *z;

	(void)url;
	note_scrape(h, gz && !restricted(rq));
	if (!s)
		return respond_error(c, MHD_HTTP_SERVICE_UNAVAILABLE,
				     "no data yet: first tick pending");
	p = page_of(h, s, gz && !restricted(rq));
	if (!p) {
		snapshot__release(s);
		return respond_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
	}
	if (!restricted(rq)) {
		snapshot__release(s);
		return respond_page(c, p, gz && p->gz);
	}
	buf__init(&b);
	tenancy__filter_metrics(p->text, p->len, filter_of(rq, s, &f), &b);
	snapshot__release(s);
	page_put(p);
	if (b.failed) {
		buf__free(&b);
		return respond_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
	}
	if (!b.data) /* nothing it sees: an empty page */
		b.data = strdup("");
	if (!b.data)
		return respond_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
	if (gz && (z = gzip(b.data, b.len, &zlen))) {
		buf__free(&b);
		return respond(c, MHD_HTTP_OK, PROM_CONTENT_TYPE, z, zlen, 1);
	}
	return respond(c, MHD_HTTP_OK, PROM_CONTENT_TYPE, b.data, b.len, 0);
}

static enum MHD_Result serve_health(struct http *h, struct MHD_Connection *c, const char *url,
				    const struct req *rq)
{
	(void)rq;
	(void)url;
	struct snapshot *s = acquire(h);
	struct timespec ts;
	double age, limit = 3.0 * h->interval_ns / 1e9 + 2;
	char msg[128];

	if (!s)
		return respond_error(c, MHD_HTTP_SERVICE_UNAVAILABLE,
				     "starting: first tick pending");
	clock_gettime(CLOCK_REALTIME, &ts);
	age = ts.tv_sec + ts.tv_nsec / 1e9 - s->time;
	snapshot__release(s);
	if (age > limit) {
		snprintf(msg, sizeof(msg), "stale: last collector tick %.1f s ago", age);
		return respond_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, msg);
	}
	return respond_text(c, "ok\n");
}

/* Most points a range query returns per series. */
#define QUERY_MAX_POINTS 11000

static struct store *store_of(struct http *h)
{
	return __atomic_load_n(&h->store, __ATOMIC_ACQUIRE);
}

static const char *arg(struct MHD_Connection *c, const char *name)
{
	const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name);

	return v && *v ? v : NULL;
}

static enum MHD_Result respond_json(struct MHD_Connection *c, char *body)
{
	if (!body)
		return respond_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
	return respond(c, MHD_HTTP_OK, API_CONTENT_TYPE, body, strlen(body), 0);
}

/*
 * body (malloc'd JSON, taken over; NULL is out of memory) cut down to what f sees (NULL: all
 * of it); NULL with errno ENOENT when it is about an agent f does not see, ENOMEM otherwise.
 */
static char *filtered(char *body, const struct tenancy_filter *f)
{
	char *out;

	if (!body) {
		errno = ENOMEM;
		return NULL;
	}
	if (!f)
		return body;
	out = tenancy__filter_text(body, f);
	free(body);
	if (!out && errno != ENOENT)
		errno = ENOMEM;
	return out;
}

/* A JSON answer about agents, as much of it as rq sees (snapshot s gives the tenants). */
static enum MHD_Result respond_seen(struct MHD_Connection *c, const struct req *rq,
				    const struct snapshot *s, char *body)
{
	struct tenancy_filter f;

	return respond_json(c, filtered(body, filter_of(rq, s, &f)));
}

/* A metric parameter must name a family of the catalogue that has an agent label. */
static bool metric_known(const char *name)
{
	const struct catalog_family *f = catalog__find(name);
	int i;

	for (i = 0; f && i < f->nlabels; i++)
		if (!strcmp(f->labels[i], "agent"))
			return true;
	return false;
}

static enum MHD_Result serve_series(struct http *h, struct MHD_Connection *c, const char *url,
				    const struct req *rq)
{
	const char *metric = arg(c, "metric");
	struct store *st = store_of(h);
	char msg[200];

	(void)url;
	if (!st)
		return respond_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "starting: no store yet");
	if (metric && !metric_known(metric)) {
		snprintf(msg, sizeof(msg), "metric: unknown metric \"%.100s\"", metric);
		return respond_error(c, MHD_HTTP_BAD_REQUEST, msg);
	}
	if (restricted(rq)) {
		struct snapshot *s = acquire(h);
		enum MHD_Result ret =
			respond_seen(c, rq, s, api__series(st, arg(c, "agent"), metric));

		snapshot__release(s);
		return ret;
	}
	return respond_json(c, api__series(st, arg(c, "agent"), metric));
}

static enum MHD_Result serve_query_range(struct http *h, struct MHD_Connection *c, const char *url,
					 const struct req *rq)
{
	const char *metric = arg(c, "metric"), *start = arg(c, "start"), *end = arg(c, "end");
	const char *step = arg(c, "step"), *rate = arg(c, "rate");
	struct store_query q = {.tier = -1};
	struct store *st = store_of(h);
	double t0, t1, now;
	struct timespec ts;
	char msg[240], *doc;
	__u64 step_ns;

	(void)url;
	if (!st)
		return respond_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "starting: no store yet");
	if (!metric)
		return respond_error(
			c, MHD_HTTP_BAD_REQUEST,
			"metric: missing (e.g. metric=swarmwatch_agent_syscalls_total)");
	if (!metric_known(metric)) {
		snprintf(msg, sizeof(msg),
			 "metric: unknown metric \"%.100s\" (GET /api/v1/series lists them)",
			 metric);
		return respond_error(c, MHD_HTTP_BAD_REQUEST, msg);
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	now = ts.tv_sec + ts.tv_nsec / 1e9;
	t1 = now;
	if (end && api__parse_time(end, &t1)) {
		snprintf(msg, sizeof(msg), "end: \"%.60s\" is not RFC 3339 or Unix seconds", end);
		return respond_error(c, MHD_HTTP_BAD_REQUEST, msg);
	}
	t0 = t1 - 3600;
	if (start && api__parse_time(start, &t0)) {
		snprintf(msg, sizeof(msg), "start: \"%.60s\" is not RFC 3339 or Unix seconds",
			 start);
		return respond_error(c, MHD_HTTP_BAD_REQUEST, msg);
	}
	if (t1 < t0)
		return respond_error(c, MHD_HTTP_BAD_REQUEST, "end: before start");
	if (t1 - t0 > 3650 * 86400.0 || fabs(t0) > 1e11 || fabs(t1) > 1e11)
		return respond_error(c, MHD_HTTP_BAD_REQUEST,
				     "start: the range is longer than 10 years or out of bounds");
	if (step) {
		if (config__parse_duration(step, &step_ns) || step_ns < 1000000) {
			snprintf(
				msg, sizeof(msg),
				"step: \"%.40s\" must be a duration of at least 1ms, like 15s or 1m",
				step);
			return respond_error(c, MHD_HTTP_BAD_REQUEST, msg);
		}
	} else { /* about 300 points, whole seconds */
		step_ns = (__u64)ceil((t1 - t0) / 300) * 1000000000ULL;
		if (step_ns < 1000000000ULL)
			step_ns = 1000000000ULL;
	}
	if (rate && strcmp(rate, "true") && strcmp(rate, "false") && strcmp(rate, "1") &&
	    strcmp(rate, "0"))
		return respond_error(c, MHD_HTTP_BAD_REQUEST, "rate: must be true or false");
	q.start = (int64_t)floor(t0 * 1000);
	q.end = (int64_t)floor(t1 * 1000);
	q.step = step_ns / 1000000;
	q.rate = rate && (!strcmp(rate, "true") || !strcmp(rate, "1"));
	if ((__u64)(q.end - q.start) / q.step + 1 > QUERY_MAX_POINTS) {
		snprintf(msg, sizeof(msg),
			 "step: %.40s over this range gives %llu points per series, more than %d; "
			 "raise step",
			 step ? step : "the default",
			 (unsigned long long)((__u64)(q.end - q.start) / q.step + 1),
			 QUERY_MAX_POINTS);
		return respond_error(c, MHD_HTTP_BAD_REQUEST, msg);
	}
	doc = api__query_range(st, metric, arg(c, "agent"), &q, QUERY_MAX_POINTS, msg, sizeof(msg));
	if (!doc && msg[0])
		return respond_error(c, MHD_HTTP_BAD_REQUEST, msg);
	if (restricted(rq)) {
		struct snapshot *s = acquire(h);
		enum MHD_Result ret = respond_seen(c, rq, s, doc);

		snapshot__release(s);
		return ret;
	}
	return respond_json(c, doc);
}

static enum MHD_Result serve_agents(struct http *h, struct MHD_Connection *c, const char *url,
				    const struct req *rq)
{
	struct snapshot *s = acquire(h);
	enum MHD_Result ret;

	(void)url;
	ret = respond_seen(c, rq, s, api__agents(store_of(h), s));
	snapshot__release(s);
	return ret;
}

/*
 * A GET of one view of the latest snapshot, rendered by render (NULL when the view is absent
 * or memory ran out): 503 before the first tick, 503 with absent (what turns the view on)
 * when there is no body.
 */
static enum MHD_Result serve_view(struct http *h, struct MHD_Connection *c, const struct req *rq,
				  char *(*render)(const struct snapshot *s), const char *absent)
{
	struct snapshot *s = acquire(h);
	struct tenancy_filter f;
	char *body;

	if (!s)
		return respond_error(c, MHD_HTTP_SERVICE_UNAVAILABLE,
				     "no data yet: first tick pending");
	body = render(s);
	if (body)
		body = filtered(body, filter_of(rq, s, &f));
	else
		errno = 0;
	snapshot__release(s);
	if (!body)
		return respond_error(c, MHD_HTTP_SERVICE_UNAVAILABLE,
				     errno == ENOMEM ? "out of memory" : absent);
	return respond(c, MHD_HTTP_OK, API_CONTENT_TYPE, body, strlen(body), 0);
}

static char *anomalies_json(const struct snapshot *s)
{
	return s->anomalies ? api__anomalies(s->anomalies) : NULL;
}

static char *alerts_json(const struct snapshot *s)
{
	return s->alerts ? api__alerts(s->alerts) : NULL;
}

static char *cost_json(const struct snapshot *s)
{
	return s->cost ? api__cost(s->cost) : NULL;
}

static char *pools_json(const struct snapshot *s)
{
	return s->scale ? api__pools(s->scale, s->breakers) : NULL;
}

#define VIEW_ROUTE(fn, render, absent)                                                       \
	static enum MHD_Result fn(struct http *h, struct MHD_Connection *c, const char *url, \
				  const struct req *rq)                                      \
	{                                                                                    \
		(void)url;                                                                   \
		return serve_view(h, c, rq, render, absent);                                 \
	}
VIEW_ROUTE(serve_anomalies, anomalies_json, "no anomaly data this tick: out of memory")
VIEW_ROUTE(serve_alerts, alerts_json,
	   "no alert data: alerts are off (\"alerts\": {\"enabled\": true} turns them on) or "
	   "memory ran out")
VIEW_ROUTE(serve_cost, cost_json,
	   "no cost data: cost accounting is off (\"cost\": {\"enabled\": true} turns it on) "
	   "or memory ran out")
VIEW_ROUTE(serve_pools, pools_json,
	   "no pools: configure \"pools\" (see the README, Pools and scaling)")

/*
 * GET /api/v1/overhead: host-wide figures only (syscalls of every task, the hooks' share of the
 * host's CPU), which a token with tenants does not see, as in /metrics.
 */
static enum MHD_Result serve_overhead(struct http *h, struct MHD_Connection *c, const char *url,
				      const struct req *rq)
{
	(void)url;
	if (restricted(rq))
		return respond_error(c, MHD_HTTP_FORBIDDEN,
				     "forbidden: /api/v1/overhead is host-wide and a token with "
				     "tenants sees only its agents; use a token without tenants");
	return serve_view(h, c, rq, api__overhead, "no overhead data this tick: out of memory");
}

/* GET /api/v1/incidents and /api/v1/incidents/{id} (a decimal id from the list). */
static enum MHD_Result serve_incidents(struct http *h, struct MHD_Connection *c, const char *url,
				       const struct req *rq)
{
	const char *tail = url + strlen("/api/v1/incidents");
	struct snapshot *s;
	unsigned long long id = 0;
	struct tenancy_filter f;
	char msg[256], *body, *end = NULL;

	if (*tail) {
		errno = 0;
		if (tail[0] == '/' && tail[1] >= '1' && tail[1] <= '9')
			id = strtoull(tail + 1, &end, 10);
		if (!id || errno || *end) {
			snprintf(msg, sizeof(msg),
				 "not found: %.100s (GET /api/v1/incidents/ID, ID from "
				 "GET /api/v1/incidents)",
				 url);
			return respond_error(c, MHD_HTTP_NOT_FOUND, msg);
		}
	}
	s = acquire(h);
	if (!s)
		return respond_error(c, MHD_HTTP_SERVICE_UNAVAILABLE,
				     "no data yet: first tick pending");
	errno = 0;
	body = s->incidents ? api__incidents(s->incidents, id) : NULL;
	if (body)
		body = filtered(body, filter_of(rq, s, &f));
	if (!body && s->incidents && errno == ENOENT) {
		snprintf(msg, sizeof(msg),
			 "no incident %llu (only the last 256 are kept; see GET /api/v1/incidents)",
			 id);
		snapshot__release(s);
		return respond_error(c, MHD_HTTP_NOT_FOUND, msg);
	}
	snapshot__release(s);
	if (!body)
		return respond_error(
			c, MHD_HTTP_SERVICE_UNAVAILABLE,
			"no incident data: alerts are off (\"alerts\": {\"enabled\": true} "
			"turns them on) or memory ran out");
	return respond(c, MHD_HTTP_OK, API_CONTENT_TYPE, body, strlen(body), 0);
}

/* Whether rq sees the agent of alert id (16 hex digits) in the latest tick's alerts. */
static bool alert_seen(struct http *h, const struct req *rq, const char *id)
{
	struct snapshot *s = acquire(h);
	struct tenancy_filter f;
	bool seen = false;
	int i;

	for (i = 0; s && s->alerts && i < s->alerts->n; i++)
		if (!strcmp(s->alerts->items[i].id, id)) {
			seen = tenancy__visible(filter_of(rq, s, &f), s->alerts->items[i].agent);
			break;
		}
	snapshot__release(s);
	return seen;
}

/*
 * Whether rq sees silence sil: an unrestricted request sees all; a restricted one those with
 * an agent matcher (not negated) naming an agent of its tenants.
 */
static bool silence_seen(struct http *h, const struct req *rq, const struct alert_silence *sil)
{
	const struct tenancy_filter *fp;
	struct snapshot *s;
	struct tenancy_filter f;
	bool seen = false;
	uint32_t i;

	if (!restricted(rq))
		return true;
	/*
	 * Listed when it names an agent the token sees, and every agent it names, = or !=, is one
	 * the token sees: a name in any matcher would tell another tenant's agent.
	 */
	s = acquire(h);
	fp = filter_of(rq, s, &f);
	for (i = 0; i < sil->nm && i < ALERT_MATCHERS_MAX; i++) {
		if (strcmp(sil->m[i].name, "agent"))
			continue;
		if (!tenancy__visible(fp, sil->m[i].value)) {
			seen = false;
			break;
		}
		seen |= !sil->m[i].negate;
	}
	snapshot__release(s);
	return seen;
}

/* POST /api/v1/alerts/{id}/ack: the id is the alert's 16-hex-digit fingerprint. */
static enum MHD_Result serve_ack(struct http *h, struct MHD_Connection *c, const char *url,
				 const struct req *rq)
{
	const char *id = url + strlen("/api/v1/alerts/");
	char buf[17], msg[256];
	size_t n = strcspn(id, "/");
	char *body;
	int err;

	if (n != 16 || strcmp(id + n, "/ack") || strspn(id, "0123456789abcdef") < 16) {
		snprintf(msg, sizeof(msg),
			 "not found: %.100s (POST /api/v1/alerts/ID/ack, ID from "
			 "GET /api/v1/alerts)",
			 url);
		return respond_error(c, MHD_HTTP_NOT_FOUND, msg);
	}
	memcpy(buf, id, 16);
	buf[16] = 0;
	if (!__atomic_load_n(&h->ops_set, __ATOMIC_ACQUIRE))
		return respond_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "alerts are off");
	/* Another tenant's alert is answered as one that does not exist. */
	err = restricted(rq) && !alert_seen(h, rq, buf) ? -ENOENT : h->ops.ack(h->ops_ctx, buf);
	if (err) {
		snprintf(msg, sizeof(msg),
			 "no alert %s (it may have resolved; see GET /api/v1/alerts)", buf);
		return respond_error(c, MHD_HTTP_NOT_FOUND, msg);
	}
	body = api__ack(buf);
	if (!body)
		return MHD_NO;
	return respond(c, MHD_HTTP_OK, API_CONTENT_TYPE, body, strlen(body), 0);
}

static bool ops_ready(struct http *h)
{
	return __atomic_load_n(&h->ops_set, __ATOMIC_ACQUIRE);
}

static enum MHD_Result serve_silences(struct http *h, struct MHD_Connection *c, const char *url,
				      const struct req *rq)
{
	struct alert_silence *list;
	char *doc;
	size_t n;

	(void)url;
	if (!ops_ready(h))
		return respond_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "alerts are off");
	list = calloc(ALERT_SILENCES_MAX, sizeof(*list));
	if (!list)
		return respond_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
	n = h->ops.silences(h->ops_ctx, list, ALERT_SILENCES_MAX);
	if (n > ALERT_SILENCES_MAX)
		n = ALERT_SILENCES_MAX;
	if (restricted(rq)) { /* keep those it sees */
		size_t i, kept = 0;

		for (i = 0; i < n; i++)
			if (silence_seen(h, rq, &list[i]))
				list[kept++] = list[i];
		n = kept;
	}
	doc = api__silences(list, n);
	free(list);
	if (!doc)
		return respond_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
	return respond(c, MHD_HTTP_OK, API_CONTENT_TYPE, doc, strlen(doc), 0);
}

static enum MHD_Result serve_silence_add(struct http *h, struct MHD_Connection *c, const char *url,
					 const struct req *rq)
{
	struct alert_silence sil;
	struct timespec ts;
	char err[256], *doc;
	int64_t id;

	(void)url;
	if (!ops_ready(h))
		return respond_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "alerts are off");
	if (!rq->in)
		return respond_error(c, 413, "request body over 16 KiB");
	clock_gettime(CLOCK_REALTIME, &ts);
	if (api__parse_silence(rq->in, ts.tv_sec * 1000LL + ts.tv_nsec / 1000000, &sil, err,
			       sizeof(err)))
		return respond_error(c, MHD_HTTP_BAD_REQUEST, err);
	/* The same answer for another tenant's agent as for one that does not exist. */
	if (!silence_seen(h, rq, &sil))
		return respond_error(
			c, MHD_HTTP_FORBIDDEN,
			"forbidden: a token with tenants silences only its own agents: "
			"give an agent matcher naming a live agent of its tenants");
	id = h->ops.silence_add(h->ops_ctx, &sil);
	if (id == -ENOSPC)
		return respond_error(c, MHD_HTTP_CONFLICT,
				     "too many silences: expire one (DELETE /api/v1/silences/ID)");
	if (id < 0)
		return respond_error(c, MHD_HTTP_BAD_REQUEST,
				     "silence refused: it needs matchers and an end in the future");
	doc = api__silence_created((uint64_t)id);
	if (!doc)
		return respond_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
	return respond(c, MHD_HTTP_OK, API_CONTENT_TYPE, doc, strlen(doc), 0);
}

/* Whether rq sees the silence numbered id (false when there is none). */
static bool silence_id_seen(struct http *h, const struct req *rq, unsigned long long id)
{
	struct alert_silence *list;
	bool seen = false;
	size_t i, n;

	if (!restricted(rq))
		return true;
	list = calloc(ALERT_SILENCES_MAX, sizeof(*list));
	if (!list)
		return false;
	n = h->ops.silences(h->ops_ctx, list, ALERT_SILENCES_MAX);
	for (i = 0; i < n && i < ALERT_SILENCES_MAX; i++)
		if (list[i].id == id)
			seen = silence_seen(h, rq, &list[i]);
	free(list);
	return seen;
}

static enum MHD_Result serve_silence_expire(struct http *h, struct MHD_Connection *c,
					    const char *url, const struct req *rq)
{
	const char *p = url + strlen("/api/v1/silences/");
	char msg[160], *end, *doc;
	unsigned long long id;

	if (!ops_ready(h))
		return respond_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "alerts are off");
	errno = 0;
	id = strtoull(p, &end, 10);
	if (!*p || *end || errno || !id || !silence_id_seen(h, rq, id) ||
	    h->ops.silence_expire(h->ops_ctx, id)) {
		snprintf(msg, sizeof(msg), "no silence %.40s (see GET /api/v1/silences)", p);
		return respond_error(c, MHD_HTTP_NOT_FOUND, msg);
	}
	doc = strdup("{\"status\":\"ok\"}");
	if (!doc)
		return MHD_NO;
	return respond(c, MHD_HTTP_OK, API_CONTENT_TYPE, doc, strlen(doc), 0);
}

/*
 * The dashboard (user/web/index.html) with the agents of the latest snapshot already in its
 * table, so the first paint has them; the page's script keeps it live from /api/v1/stream.
 */
static enum MHD_Result serve_index(struct http *h, struct MHD_Connection *c, const char *url,
				   const struct req *rq)
{
	const struct web_asset *page = web__find("/");
	const char *mark = page ? strstr((const char *)page->data, INDEX_MARK) : NULL;
	const struct tenancy_filter *filter;
	struct tenancy_filter f;
	struct snapshot *s;
	struct buf b;
	int i;

	(void)url;
	if (!mark)
		return respond_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
				     "dashboard: index.html has no " INDEX_MARK
				     " (rebuild swarmwatch)");
	buf__init(&b);
	buf__append(&b, (const char *)page->data, mark - (const char *)page->data);
	s = acquire(h);
	filter = filter_of(rq, s, &f);
	for (i = 0; s && i < s->nagents; i++) {
		const struct agent_snap *a = &s->agents[i];

		if (!tenancy__visible(filter, a->name))
			continue;
		buf__printf(&b, "<tr%s data-agent=\"", a->instances ? "" : " class=\"gone\"");
		text__html(&b, a->name);
		buf__puts(&b, "\"><td>");
		text__html(&b, a->name);
		buf__printf(&b, "</td><td class=\"num\">%u</td>", a->instances);
		buf__puts(&b, "<td class=\"num\">&ndash;</td><td class=\"num\">&ndash;</td>"
			      "<td class=\"num\">&ndash;</td><td class=\"num\">&ndash;</td>"
			      "<td class=\"num\">&ndash;</td>");
		if (s->rss_up)
			buf__printf(&b, "<td class=\"num\">%.1f MiB</td>",
				    a->rss_bytes / 1048576.0);
		else
			buf__puts(&b, "<td class=\"num\">&ndash;</td>");
		buf__puts(&b, "<td class=\"num\">&ndash;</td></tr>\n");
	}
	snapshot__release(s);
	buf__puts(&b, mark + strlen(INDEX_MARK));
	if (b.failed || !b.data) {
		buf__free(&b);
		return respond_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
	}
	return respond(c, MHD_HTTP_OK, "text/html; charset=utf-8", b.data, b.len, 0);
}

/* An embedded file of the dashboard; uPlot's answer a comment when it was not built in. */
static enum MHD_Result serve_asset(struct MHD_Connection *c, const char *path, const char *type)
{
	static const char none[] = "/* uPlot was not installed at build time: make deps */\n";
	const struct web_asset *a = web__find(path);
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = a ? MHD_create_response_from_buffer(a->len, (void *)a->data, MHD_RESPMEM_PERSISTENT)
	      : MHD_create_response_from_buffer(strlen(none), (void *)none, MHD_RESPMEM_PERSISTENT);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", a ? a->type : type);
	MHD_add_response_header(r, "Cache-Control", "no-cache");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

#define JS "text/javascript; charset=utf-8"
#define CSS "text/css; charset=utf-8"
#define ASSET(fn, path, type)                                                                \
	static enum MHD_Result fn(struct http *h, struct MHD_Connection *c, const char *url, \
				  const struct req *rq)                                      \
	{                                                                                    \
		(void)h;                                                                     \
		(void)url;                                                                   \
		(void)rq;                                                                    \
		return serve_asset(c, path, type);                                           \
	}
ASSET(serve_app_js, "/app.js", JS)
ASSET(serve_app_css, "/app.css", CSS)
ASSET(serve_uplot_js, "/uplot.js", JS)
ASSET(serve_uplot_css, "/uplot.css", CSS)

static enum MHD_Result serve_stream(struct http *h, struct MHD_Connection *c, const char *url,
				    const struct req *rq)
{
	struct stream *st = __atomic_load_n(&h->stream, __ATOMIC_ACQUIRE);

	(void)url;
	if (!st)
		return respond_error(c, MHD_HTTP_SERVICE_UNAVAILABLE,
				     "no data yet: first tick pending");
	return stream__serve(st, c, restricted(rq) ? rq->tok->tenants : NULL,
			     restricted(rq) ? rq->tok->ntenants : 0);
}

/* Whether rq sees pool (a pool is an agent). */
static bool pool_seen(struct http *h, const struct req *rq, const char *pool)
{
	struct tenancy_filter f;
	struct snapshot *s;
	bool seen;

	if (!restricted(rq))
		return true;
	s = acquire(h);
	seen = tenancy__visible(filter_of(rq, s, &f), pool);
	snapshot__release(s);
	return seen;
}

/* GET /api/v1/pools/{pool}/weights: the pool's instances, breakers and routing weights. */
static enum MHD_Result serve_pool_weights(struct http *h, struct MHD_Connection *c,
					  const struct req *rq, const char *pool)
{
	struct snapshot *s = acquire(h);
	struct tenancy_filter f;
	char msg[160], *doc;

	if (!s)
		return respond_error(c, MHD_HTTP_SERVICE_UNAVAILABLE,
				     "no data yet: first tick pending");
	if (!s->breakers) {
		snapshot__release(s);
		return respond_error(c, MHD_HTTP_SERVICE_UNAVAILABLE,
				     "no pools: configure \"pools\" (see the README, Pools and "
				     "scaling)");
	}
	errno = 0;
	/* Another tenant's pool is answered as one that does not exist. */
	if (tenancy__visible(filter_of(rq, s, &f), pool))
		doc = api__pool_weights(s->breakers, pool);
	else
		doc = NULL, errno = ENOENT;
	snapshot__release(s);
	if (!doc && errno == ENOENT) {
		snprintf(msg, sizeof(msg), "no pool %.60s (see GET /api/v1/pools)", pool);
		return respond_error(c, MHD_HTTP_NOT_FOUND, msg);
	}
	if (!doc)
		return respond_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
	return respond(c, MHD_HTTP_OK, API_CONTENT_TYPE, doc, strlen(doc), 0);
}

/*
 * GET /api/v1/pools/{pool}/history[?limit=N]: N from 1 to 10000, default 100; and
 * GET /api/v1/pools/{pool}/weights.
 */
static enum MHD_Result serve_pool_history(struct http *h, struct MHD_Connection *c, const char *url,
					  const struct req *rq)
{
	const char *p = url + strlen("/api/v1/pools/"), *slash = strchr(p, '/');
	const char *lim = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "limit");
	struct scale_event *ev = NULL;
	char pool[SCALE_NAME_MAX], msg[256], *doc, *end;
	long limit = 100, n;

	if (!slash || (strcmp(slash, "/history") && strcmp(slash, "/weights")) || slash == p ||
	    (size_t)(slash - p) >= sizeof(pool)) {
		snprintf(msg, sizeof(msg),
			 "not found: %.100s (GET /api/v1/pools/POOL/history or "
			 "/api/v1/pools/POOL/weights, POOL from GET /api/v1/pools)",
			 url);
		return respond_error(c, MHD_HTTP_NOT_FOUND, msg);
	}
	snprintf(pool, sizeof(pool), "%.*s", (int)(slash - p), p);
	if (!strcmp(slash, "/weights"))
		return serve_pool_weights(h, c, rq, pool);
	if (lim) {
		limit = strtol(lim, &end, 10);
		if (!*lim || *end || limit < 1 || limit > 10000)
			return respond_error(c, MHD_HTTP_BAD_REQUEST,
					     "limit: a whole number from 1 to 10000");
	}
	if (!__atomic_load_n(&h->sops_set, __ATOMIC_ACQUIRE))
		return respond_error(c, MHD_HTTP_SERVICE_UNAVAILABLE,
				     "no pools: configure \"pools\" (see the README, Pools and "
				     "scaling)");
	n = pool_seen(h, rq, pool) ? h->sops.history(h->sops_ctx, pool, limit, &ev) : -ENOENT;
	if (n == -ENOENT) {
		snprintf(msg, sizeof(msg), "no pool %.60s (see GET /api/v1/pools)", pool);
		return respond_error(c, MHD_HTTP_NOT_FOUND, msg);
	}
	if (n < 0)
		return respond_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
				     "the decision history could not be read (see the log)");
	doc = api__pool_history(pool, ev, n);
	free(ev);
	if (!doc)
		return respond_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
	return respond(c, MHD_HTTP_OK, API_CONTENT_TYPE, doc, strlen(doc), 0);
}

/* POST /api/v1/pools/evaluate: the body is a configuration file; its pools are dry-run. */
static enum MHD_Result serve_pool_evaluate(struct http *h, struct MHD_Connection *c,
					   const char *url, const struct req *rq)
{
	struct scale_event *ev = NULL;
	struct config cfg;
	char err[512], *doc;
	long n;

	(void)url;
	if (!rq->in)
		return respond_error(c, 413, "request body over 16 KiB");
	if (!__atomic_load_n(&h->sops_set, __ATOMIC_ACQUIRE))
		return respond_error(c, MHD_HTTP_SERVICE_UNAVAILABLE,
				     "the scaler is off here: configure \"pools\" in the "
				     "daemon's configuration");
	if (config__parse(&cfg, rq->in, "request body", err, sizeof(err)))
		return respond_error(c, MHD_HTTP_BAD_REQUEST, err);
	err[0] = 0;
	n = h->sops.evaluate(h->sops_ctx, &cfg, &ev, err, sizeof(err));
	config__free(&cfg);
	if (n < 0)
		return respond_error(
			c, n == -EINVAL ? MHD_HTTP_BAD_REQUEST : MHD_HTTP_INTERNAL_SERVER_ERROR,
			err[0] ? err : "out of memory");
	doc = api__pool_evaluate(ev, n);
	free(ev);
	if (restricted(rq)) {
		struct snapshot *s = acquire(h);
		enum MHD_Result ret = respond_seen(c, rq, s, doc);

		snapshot__release(s);
		return ret;
	}
	if (!doc)
		return respond_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
	return respond(c, MHD_HTTP_OK, API_CONTENT_TYPE, doc, strlen(doc), 0);
}

/* A route's handler. */
typedef enum MHD_Result (*serve_fn)(struct http *h, struct MHD_Connection *c, const char *url,
				    const struct req *rq);

/*
 * Every endpoint; each answers GET and HEAD (MHD leaves out the body of a HEAD). docs/openapi.yaml
 * describes each one, and a test checks that it lists exactly these (http__routes()).
 */
static const struct route {
	const char *path;
	const char *method; /* "GET" (HEAD too), "POST" or "DELETE" */
	serve_fn serve;
	bool prefix; /* path is a prefix of the URL */
	unsigned scope; /* what a request needs once auth is on (enum web_scope) */
} routes[] = {
	{"/", "GET", serve_index, false, WEB_SCOPE_READ},
	{"/metrics", "GET", serve_metrics, false, WEB_SCOPE_READ}, /* unless metrics_auth: false */
	{"/healthz", "GET", serve_health, false, WEB_SCOPE_NONE},
	{"/api/v1/anomalies", "GET", serve_anomalies, false, WEB_SCOPE_READ},
	{"/api/v1/series", "GET", serve_series, false, WEB_SCOPE_READ},
	{"/api/v1/query_range", "GET", serve_query_range, false, WEB_SCOPE_READ},
	{"/api/v1/agents", "GET", serve_agents, false, WEB_SCOPE_READ},
	{"/api/v1/alerts", "GET", serve_alerts, false, WEB_SCOPE_READ},
	{"/api/v1/alerts/", "POST", serve_ack, true, WEB_SCOPE_ACK},
	{"/api/v1/incidents", "GET", serve_incidents, false, WEB_SCOPE_READ},
	{"/api/v1/incidents/", "GET", serve_incidents, true, WEB_SCOPE_READ},
	{"/api/v1/silences", "GET", serve_silences, false, WEB_SCOPE_READ},
	{"/api/v1/silences", "POST", serve_silence_add, false, WEB_SCOPE_ACK},
	{"/api/v1/silences/", "DELETE", serve_silence_expire, true, WEB_SCOPE_ACK},
	{"/api/v1/pools", "GET", serve_pools, false, WEB_SCOPE_READ},
	{"/api/v1/pools/evaluate", "POST", serve_pool_evaluate, false, WEB_SCOPE_READ},
	{"/api/v1/pools/", "GET", serve_pool_history, true, WEB_SCOPE_READ},
	{"/api/v1/stream", "GET", serve_stream, false, WEB_SCOPE_READ},
	{"/api/v1/cost", "GET", serve_cost, false, WEB_SCOPE_READ},
	{"/api/v1/overhead", "GET", serve_overhead, false, WEB_SCOPE_READ},
	{"/app.js", "GET", serve_app_js, false, WEB_SCOPE_READ},
	{"/app.css", "GET", serve_app_css, false, WEB_SCOPE_READ},
	{"/uplot.js", "GET", serve_uplot_js, false, WEB_SCOPE_READ},
	{"/uplot.css", "GET", serve_uplot_css, false, WEB_SCOPE_READ},
};

size_t http__routes(struct http_route *out, size_t cap)
{
	size_t i, n = sizeof(routes) / sizeof(routes[0]);

	for (i = 0; i < n && i < cap; i++)
		out[i] = (struct http_route){.path = routes[i].path,
					     .method = routes[i].method,
					     .prefix = routes[i].prefix,
					     .scope = routes[i].scope};
	return n;
}

/* Largest request body read (POST /api/v1/silences). */
#define BODY_MAX 16384

/* A request's state between MHD's calls: who it is, the body read so far. */
struct reqbuf {
	const struct web_token *tok; /* the bearer token admit() took; NULL: none */
	bool post; /* data[] is there */
	size_t len;
	bool too_big;
	char data[];
};

static bool path_matches(const struct route *r, const char *url)
{
	return r->prefix ? !strncmp(url, r->path, strlen(r->path)) : !strcmp(url, r->path);
}

static bool method_matches(const struct route *r, const char *method)
{
	return !strcmp(method, r->method) || (!strcmp(r->method, "GET") && !strcmp(method, "HEAD"));
}

/*
 * The route for url and method; NULL with allow[] listing the methods the path takes ("" when
 * no route has the path).
 */
static const struct route *route_find(const char *url, const char *method, char *allow, size_t len)
{
	size_t i;

	allow[0] = 0;
	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (!path_matches(&routes[i], url))
			continue;
		if (method_matches(&routes[i], method))
			return &routes[i];
		snprintf(allow + strlen(allow), len - strlen(allow), "%s%s", allow[0] ? ", " : "",
			 !strcmp(routes[i].method, "GET") ? "GET, HEAD" : routes[i].method);
	}
	return NULL;
}

/* The rate limiter's key of a client: its IPv4 address, or the /64 of its IPv6 address. */
static size_t client_key(struct MHD_Connection *c, unsigned char key[16])
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;

	if (sa && sa->sa_family == AF_INET) {
		memcpy(key, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return 4;
	}
	if (sa && sa->sa_family == AF_INET6) {
		const unsigned char *a = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
		static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

		if (!memcmp(a, mapped, 12)) {
			memcpy(key, a + 12, 4);
			return 4;
		}
		memcpy(key, a, 8);
		return 8;
	}
	memset(key, 0, 4);
	return 4;
}

static enum MHD_Result respond_limited(struct MHD_Connection *c, unsigned retry_s, bool login)
{
	char msg[160], after[16];
	struct MHD_Response *r;
	enum MHD_Result ret;
	char *body;

	if (login)
		snprintf(msg, sizeof(msg),
			 "too many wrong credentials from this address: retry in %u s", retry_s);
	else
		snprintf(msg, sizeof(msg),
			 "too many requests from this address: retry in %u s (rate_limit in the "
			 "web configuration)",
			 retry_s);
	body = api__error(MHD_HTTP_TOO_MANY_REQUESTS, msg);
	if (!body)
		return MHD_NO;
	r = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	snprintf(after, sizeof(after), "%u", retry_s);
	MHD_add_response_header(r, "Content-Type", API_CONTENT_TYPE);
	MHD_add_response_header(r, "Retry-After", after);
	ret = MHD_queue_response(c, MHD_HTTP_TOO_MANY_REQUESTS, r);
	MHD_destroy_response(r);
	return ret;
}

/* 401 with the schemes the configuration takes, so that a browser asks for a password. */
static enum MHD_Result respond_unauthorized(struct http *h, struct MHD_Connection *c, bool given)
{
	struct MHD_Response *r;
	enum MHD_Result ret;
	char *body;

	body = api__error(MHD_HTTP_UNAUTHORIZED,
			  given ? "unauthorized: wrong credentials"
				: "unauthorized: this endpoint needs credentials (basic auth or "
				  "Authorization: Bearer TOKEN)");
	if (!body)
		return MHD_NO;
	r = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", API_CONTENT_TYPE);
	if (h->web->nusers)
		MHD_add_response_header(r, "WWW-Authenticate",
					"Basic realm=\"swarmwatch\", charset=\"UTF-8\"");
	if (h->web->ntokens)
		MHD_add_response_header(r, "WWW-Authenticate", "Bearer realm=\"swarmwatch\"");
	ret = MHD_queue_response(c, MHD_HTTP_UNAUTHORIZED, r);
	MHD_destroy_response(r);
	return ret;
}

/*
 * Counts a refusal and, at most once a minute, logs what was refused since the last line:
 * a client held back or guessing shows in the log without one line per request.
 */
static void refuse(struct http *h, struct MHD_Connection *c, enum refused why, __u64 now)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;

	h->refused[why]++;
	if (sa && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, h->refused_from,
			  sizeof(h->refused_from));
	else if (sa && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, h->refused_from,
			  sizeof(h->refused_from));
	if (h->refused_logged_ns && now - h->refused_logged_ns < REFUSED_LOG_S * 1000000000ULL)
		return;
	pr_warn("http: refused %u requests over the rate limit, %u after too many wrong "
		"credentials, %u without right credentials, %u without the scope; the last from %s",
		h->refused[REFUSED_RATE], h->refused[REFUSED_LOGINS],
		h->refused[REFUSED_CREDENTIALS], h->refused[REFUSED_SCOPE],
		h->refused_from[0] ? h->refused_from : "a served socket");
	memset(h->refused, 0, sizeof(h->refused));
	h->refused_logged_ns = now;
}

/*
 * The checks every request passes before its route: the rate limit of its client address,
 * then credentials for the scope the route needs. MHD_YES when it may go on (*answered
 * false; *tok the bearer token that authorized it, NULL for none), else the answer queued.
 */
static enum MHD_Result admit(struct http *h, struct MHD_Connection *c, const struct route *r,
			     bool *answered, const struct web_token **tok)
{
	unsigned char key[16];
	const char *who = NULL, *auth;
	unsigned retry, need;
	char msg[200], have[32], want[32];
	size_t klen = client_key(c, key);
	__u64 now = clock__mono_ns();
	int scopes;

	*answered = false;
	*tok = NULL;
	if (h->rl && ratelimit__take(h->rl, key, klen, now, &retry) == -EAGAIN) {
		*answered = true;
		refuse(h, c, REFUSED_RATE, now);
		return respond_limited(c, retry, false);
	}
	if (!webconfig__auth_on(h->web))
		return MHD_YES;
	need = r ? r->scope : WEB_SCOPE_READ;
	if (r && r->serve == serve_metrics && !h->web->metrics_auth)
		need = WEB_SCOPE_NONE;
	if (need == WEB_SCOPE_NONE)
		return MHD_YES;
	*answered = true;
	auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
	if (auth && h->failures &&
	    ratelimit__peek(h->failures, key, klen, now, &retry) == -EAGAIN) {
		refuse(h, c, REFUSED_LOGINS, now);
		return respond_limited(c, retry, true);
	}
	scopes = webconfig__authorize_as(h->web, auth, &who, tok);
	if (scopes < 0) {
		/* Only wrong credentials count: a browser's first request has none. */
		if (auth && h->failures)
			ratelimit__take(h->failures, key, klen, now, &retry);
		if (auth)
			refuse(h, c, REFUSED_CREDENTIALS, now);
		return respond_unauthorized(h, c, auth != NULL);
	}
	if (!(scopes & (need | WEB_SCOPE_ADMIN))) {
		snprintf(msg, sizeof(msg), "forbidden: %.63s has the scopes %s; this needs %s",
			 who ? who : "this token",
			 webconfig__scope_names(scopes, have, sizeof(have)),
			 webconfig__scope_names(need, want, sizeof(want)));
		refuse(h, c, REFUSED_SCOPE, now);
		return respond_error(c, MHD_HTTP_FORBIDDEN, msg);
	}
	*answered = false;
	return MHD_YES;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *upload_data,
			      size_t *upload_data_size, void **req)
{
	char msg[200], allow[64];
	const struct route *r = route_find(url, method, allow, sizeof(allow));
	const struct web_token *tok = NULL;
	struct http *h = cls;
	struct reqbuf *b;
	enum MHD_Result ret;
	bool answered, post;

	(void)version;
	if (!*req) {
		ret = admit(h, c, r, &answered, &tok);
		if (answered || ret != MHD_YES) {
			*upload_data_size = 0;
			return ret;
		}
	}
	if (!r) {
		*upload_data_size = 0;
		if (!allow[0]) {
			snprintf(msg, sizeof(msg), "not found: %.100s (see / for the endpoints)",
				 url);
			return respond_error(c, MHD_HTTP_NOT_FOUND, msg);
		}
		snprintf(msg, sizeof(msg), "method %.16s not allowed on %.80s: use %s", method, url,
			 allow);
		return respond_not_allowed(c, allow, msg);
	}
	if (!*req) {
		/* Headers only so far; a POST gets a buffer for its body. */
		post = !strcmp(r->method, "POST");
		b = calloc(1, sizeof(*b) + (post ? BODY_MAX + 1 : 0));
		if (!b)
			return MHD_NO;
		b->tok = tok;
		b->post = post;
		*req = b;
		return MHD_YES;
	}
	b = *req;
	if (*upload_data_size) {
		if (b->post && !b->too_big && b->len + *upload_data_size <= BODY_MAX) {
			memcpy(b->data + b->len, upload_data, *upload_data_size);
			b->len += *upload_data_size;
		} else {
			b->too_big = true;
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (b->post)
		b->data[b->len] = 0;
	/* The handlers read the body as text: a NUL would hide what follows it. */
	if (b->post && !b->too_big && memchr(b->data, 0, b->len))
		return respond_error(c, MHD_HTTP_BAD_REQUEST,
				     "the request body holds a NUL byte: send JSON text");
	return r->serve(cls, c, url,
			&(struct req){.in = !b->post	 ? ""
					    : b->too_big ? NULL
							 : b->data,
				      .tok = b->tok});
}

static void completed(void *cls, struct MHD_Connection *c, void **req,
		      enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)c;
	(void)toe;
	free(*req);
	*req = NULL;
}

void http__set_scaling(struct http *h, const struct http_scale_ops *ops, void *ctx)
{
	h->sops = *ops;
	h->sops_ctx = ctx;
	__atomic_store_n(&h->sops_set, true, __ATOMIC_RELEASE);
}

void http__set_alerts(struct http *h, const struct http_alert_ops *ops, void *ctx)
{
	h->ops = *ops;
	h->ops_ctx = ctx;
	__atomic_store_n(&h->ops_set, true, __ATOMIC_RELEASE);
}

void http__attach_store(struct http *h, struct store *st)
{
	__atomic_store_n(&h->store, st, __ATOMIC_RELEASE);
}

void http__attach(struct http *h, struct snapshot_slot *slot)
{
	struct stream *st = NULL;
	char err[160];

	/* The stream needs the server's own thread to resume its clients: none on a served fd. */
	if (h->fd >= 0) {
		st = stream__new(slot, STREAM_MAX_CLIENTS, err, sizeof(err));
		if (!st)
			pr_warn("%s; /api/v1/stream answers 503", err);
	}
	__atomic_store_n(&h->stream, st, __ATOMIC_RELEASE);
	__atomic_store_n(&h->slot, slot, __ATOMIC_RELEASE);
}

struct http *http__new(const char *addr, __u64 interval_ns, struct web_config *web, char *err,
		       size_t errlen)
{
	struct http *h = calloc(1, sizeof(*h));

	if (!h) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	h->interval_ns = interval_ns;
	h->web = web;
	pthread_mutex_init(&h->page_lock, NULL);
	snprintf(h->listen, sizeof(h->listen), "%s", addr ? addr : "");
	if (web && web->cert_pem && !MHD_is_feature_supported(MHD_FEATURE_TLS)) {
		snprintf(err, errlen,
			 "web config %s: tls_server_config is set but this libmicrohttpd has no "
			 "TLS (install Debian's libmicrohttpd12, built with GnuTLS)",
			 web->origin ? web->origin : "");
		free(h);
		return NULL;
	}
	if (web && web->rate > 0) {
		h->rl = ratelimit__new(web->rate, web->burst, HTTP_RATE_CLIENTS);
		if (!h->rl) {
			snprintf(err, errlen, "out of memory");
			free(h);
			return NULL;
		}
	}
	if (webconfig__auth_on(web)) {
		h->failures = ratelimit__new(HTTP_AUTH_FAILURES_PER_S, HTTP_AUTH_FAILURES_BURST,
					     HTTP_RATE_CLIENTS);
		if (!h->failures) {
			snprintf(err, errlen, "out of memory");
			ratelimit__free(h->rl);
			free(h);
			return NULL;
		}
	}
	h->fd = addr ? bind_listen(addr, err, errlen) : -1;
	if (addr && h->fd < 0) {
		ratelimit__free(h->failures);
		ratelimit__free(h->rl);
		free(h);
		return NULL;
	}
	return h;
}

int http__run(struct http *h, char *err, size_t errlen)
{
	struct MHD_OptionItem opts[12];
	bool tls = h->web && h->web->cert_pem;
	unsigned flags;
	int n = 0;

	opts[n++] =
		(struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT, HTTP_MAX_CONNECTIONS, NULL};
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_PER_IP_CONNECTION_LIMIT,
					    HTTP_MAX_CONNECTIONS_PER_CLIENT, NULL};
	opts[n++] =
		(struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT, HTTP_IDLE_TIMEOUT_S, NULL};
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_MEMORY_LIMIT, 64 * 1024, NULL};
	/* frees request bodies */
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)completed, NULL};
	if (h->fd >= 0)
		opts[n++] = (struct MHD_OptionItem){MHD_OPTION_LISTEN_SOCKET, h->fd, NULL};
	if (tls) {
		opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, h->web->key_pem};
		opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, h->web->cert_pem};
		if (h->web->priorities[0])
			opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_PRIORITIES, 0,
							    h->web->priorities};
	}
	opts[n] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
	/* Without an address: no listening socket and no thread; see http__serve_fd(). */
	flags = h->fd >= 0
			? MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME
			: MHD_USE_NO_LISTEN_SOCKET;
	if (tls)
		flags |= MHD_USE_TLS;
	h->mhd = MHD_start_daemon(flags, 0, NULL, NULL, handle, h, MHD_OPTION_ARRAY, opts,
				  MHD_OPTION_END);
	if (!h->mhd) {
		snprintf(err, errlen, "listen %s: cannot start the HTTP server%s",
			 h->listen[0] ? h->listen : "(none)",
			 tls ? " (GnuTLS refused the certificate, key or min_version)" : "");
		return -EIO;
	}
	return 0;
}

struct http *http__start(const char *addr, __u64 interval_ns, char *err, size_t errlen)
{
	struct http *h = http__new(addr, interval_ns, NULL, err, errlen);

	if (h && http__run(h, err, errlen)) {
		http__stop(h);
		return NULL;
	}
	return h;
}

int http__serve_fd(struct http *h, int fd)
{
	struct sockaddr_in peer = {.sin_family = AF_INET,
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	const union MHD_DaemonInfo *info;
	int i;

	if (MHD_add_connection(h->mhd, fd, (struct sockaddr *)&peer, sizeof(peer)) != MHD_YES)
		return -EIO; /* MHD closed fd */
	/* Bounded: a peer that never closes its end is given up on after the last round. */
	for (i = 0; i < 100000; i++) {
		if (MHD_run(h->mhd) != MHD_YES)
			return -EIO;
		info = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
		if (!info || !info->num_connections)
			return 0;
	}
	return -ETIMEDOUT;
}

void http__stop(struct http *h)
{
	if (!h)
		return;
	stream__shutdown(h->stream);
	if (h->mhd)
		MHD_stop_daemon(h->mhd);
	ratelimit__free(h->rl);
	ratelimit__free(h->failures);
	stream__free(h->stream);
	page_put(h->page);
	pthread_mutex_destroy(&h->page_lock);
	if (h->fd >= 0)
		close(h->fd);
	free(h);
}
