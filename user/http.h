/* SPDX-License-Identifier: MIT */
#ifndef SW_HTTP_H
#define SW_HTTP_H

#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>

#include "alert.h"
#include "snapshot.h"

struct http;
struct web_config;

/* Bounds of the server: connections, per client address, idle seconds, rate limiter slots. */
#define HTTP_MAX_CONNECTIONS 512
#define HTTP_MAX_CONNECTIONS_PER_CLIENT 64
#define HTTP_IDLE_TIMEOUT_S 10
#define HTTP_RATE_CLIENTS 4096
/*
 * Wrong credentials per client address: 5 at once, then one a second; past that, requests
 * with credentials get 429 before any bcrypt runs, so that guessing cannot hold the server's
 * thread (a bcrypt of cost 10 takes 50-250 ms).
 */
#define HTTP_AUTH_FAILURES_PER_S 1
#define HTTP_AUTH_FAILURES_BURST 5

/*
 * Binds `listen` (ADDR:PORT, [V6]:PORT or HOST:PORT; NULL binds nothing) and prepares the
 * server with web (TLS, authentication, rate limit; NULL for none; must outlive the server),
 * but serves nothing until http__run(): the daemon binds before it loads anything, and starts
 * the server's thread once it has dropped its capabilities. On failure returns NULL with a
 * one-line reason in err.
 */
struct http *http__new(const char *listen, __u64 interval_ns, struct web_config *web, char *err,
		       size_t errlen);

/* Starts serving (a thread of its own when listening); 0, or -EIO with a reason in err. */
int http__run(struct http *h, char *err, size_t errlen);

/* One entry of the route table, for the test that compares it with docs/openapi.yaml. */
struct http_route {
	const char *path;
	const char *method; /* GET (and HEAD), POST or DELETE */
	bool prefix; /* path ends in "/": an id follows */
	unsigned scope; /* enum web_scope needed once auth is on */
};

/* Copies up to cap routes into out; returns how many there are. */
size_t http__routes(struct http_route *out, size_t cap);

/*
 * http__new() and http__run() with no web configuration. Binds `listen` and serves /metrics,
 * /healthz and / on a thread of its own; until http__attach() gives it a
 * publication slot and a first snapshot is published there, /metrics
 * answers 503. With listen NULL it binds nothing and starts no thread:
 * connections come from http__serve_fd(). On failure returns NULL with a
 * one-line reason in err.
 */
struct http *http__start(const char *listen, __u64 interval_ns, char *err, size_t errlen);

/*
 * Serves connected socket fd on the calling thread (a server started with
 * listen NULL) until the connection is closed: the peer sent everything
 * and shut its end down, and every answer is written (so the peer reads
 * them meanwhile, or they fit in the socket's buffer). Takes fd over.
 * Returns 0, -EIO when the server refused or failed, -ETIMEDOUT when the
 * connection was still open after 100000 rounds (it stays open). For
 * tests and fuzzing.
 */
int http__serve_fd(struct http *h, int fd);

struct store;

/* Serves the history endpoints from st, which must outlive h. */
void http__attach_store(struct http *h, struct store *st);

/* Starts serving the snapshots published in slot, which must outlive h. */
void http__attach(struct http *h, struct snapshot_slot *slot);
void http__stop(struct http *h);

/* What the alert endpoints call (alerting.h); each may be called from the server's thread. */
struct http_alert_ops {
	int (*ack)(void *ctx, const char *id); /* 0 or -ENOENT */
	int64_t (*silence_add)(void *ctx, const struct alert_silence *s); /* id, or -errno */
	size_t (*silences)(void *ctx, struct alert_silence *out, size_t cap); /* how many */
	int (*silence_expire)(void *ctx, uint64_t id); /* 0 or -ENOENT */
};

/*
 * Serves POST /api/v1/alerts/{id}/ack and /api/v1/silences (GET, POST, DELETE /{id}) with
 * ops (copied) on ctx; until then those endpoints answer 503.
 */
void http__set_alerts(struct http *h, const struct http_alert_ops *ops, void *ctx);

struct config;
struct scale_event;

/* What /api/v1/pools/{pool}/history and POST /api/v1/pools/evaluate ask of the scaler. */
struct http_scale_ops {
	/* scaling__history(): how many into *out (malloc'd), -ENOENT, -EIO */
	long (*history)(void *ctx, const char *pool, long limit, struct scale_event **out);
	/* scaling__evaluate(): how many into *out (malloc'd), or -errno with err */
	long (*evaluate)(void *ctx, const struct config *c, struct scale_event **out, char *err,
			 size_t errlen);
};

/* Serves the pools' history and dry runs with ops (copied) on ctx; until then they answer 503. */
void http__set_scaling(struct http *h, const struct http_scale_ops *ops, void *ctx);

/* Splits "host:port" / "[v6]:port" into host and port; 0 or -EINVAL. */
int http__split_listen(const char *listen, char *host, size_t hostlen, char *port, size_t portlen);

/*
 * The page is pre-rendered while /metrics was scraped within the last max(60 s, 2 x the gap
 * between its last two scrapes), at most an hour: Prometheus' default scrape interval is 1 min
 * (15 s in its example configuration), so a scraper that keeps its pace never finds the window
 * closed, and one that stops costs at most a minute (or two of its gaps) of renderings.
 */
#define HTTP_PRERENDER_MIN_S 60
#define HTTP_PRERENDER_MAX_S 3600

/*
 * Renders the /metrics page of the latest published snapshot ahead of its scrapes, with its
 * gzip copy when a scrape within the window asked for gzip, so that the first scrape after a
 * tick finds it made; the scrapes' single-flight rendering stays for what this has not made.
 * Does nothing while /metrics is not being scraped (see HTTP_PRERENDER_MIN_S). Called by the
 * tick's thread after each publication, never by the server's. Returns 1 when it rendered (or
 * found the page already made), 0 when idle or nothing is published yet, -ENOMEM.
 */
int http__prerender(struct http *h);

/* Whether an Accept-Encoding header value accepts gzip. */
int http__accepts_gzip(const char *accept_encoding);

#endif
