// SPDX-License-Identifier: MIT
/* HTTP helpers and the errno label selection: pure parts of the serving path. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "collector.h"
#include "http.h"
#include "webconfig.h"

static void test_split_listen(void **state)
{
	char host[64], port[8];

	(void)state;
	assert_int_equal(http__split_listen("0.0.0.0:7979", host, 64, port, 8), 0);
	assert_string_equal(host, "0.0.0.0");
	assert_string_equal(port, "7979");
	assert_int_equal(http__split_listen("[::1]:80", host, 64, port, 8), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(http__split_listen(":9000", host, 64, port, 8), 0);
	assert_string_equal(host, "");
	assert_int_equal(http__split_listen("localhost:1", host, 64, port, 8), 0);
	assert_int_equal(http__split_listen("nocolon", host, 64, port, 8), -EINVAL);
	assert_int_equal(http__split_listen("a:", host, 64, port, 8), -EINVAL);
	assert_int_equal(http__split_listen("a:0", host, 64, port, 8), -EINVAL);
	assert_int_equal(http__split_listen("a:65536", host, 64, port, 8), -EINVAL);
	assert_int_equal(http__split_listen("a:8x", host, 64, port, 8), -EINVAL);
	assert_int_equal(http__split_listen("[::1]80", host, 64, port, 8), -EINVAL);
	assert_int_equal(http__split_listen("a:123456789", host, 64, port, 8), -EINVAL);
}

static void test_accepts_gzip(void **state)
{
	(void)state;
	assert_true(http__accepts_gzip("gzip"));
	assert_true(http__accepts_gzip("deflate, gzip"));
	assert_true(http__accepts_gzip("gzip;q=0.5, identity"));
	assert_true(http__accepts_gzip("GZIP"));
	assert_false(http__accepts_gzip(NULL));
	assert_false(http__accepts_gzip(""));
	assert_false(http__accepts_gzip("identity"));
	assert_false(http__accepts_gzip("gzip;q=0"));
	assert_false(http__accepts_gzip("gzip;q=0.000, br"));
	assert_false(http__accepts_gzip("xgzip"));
	assert_false(http__accepts_gzip("gzipx"));
}

static void test_pick_errnos_sticky(void **state)
{
	__u64 errors[SW_ERRNO_SLOTS] = {0};
	__u8 shown[SW_ERRNO_SLOTS] = {0};

	(void)state;
	errors[ENOENT] = 5;
	errors[EACCES] = 9;
	errors[EBADF] = 1;
	collector__pick_errnos(errors, shown, 2);
	assert_true(shown[EACCES] && shown[ENOENT]);
	assert_false(shown[EBADF]);
	/* A later burst of EBADF does not displace what is shown: "other" never shrinks. */
	errors[EBADF] = 1000;
	collector__pick_errnos(errors, shown, 2);
	assert_false(shown[EBADF]);
	assert_true(shown[EACCES] && shown[ENOENT]);
	/* With room, it is added; zero counts are never shown; slot 0 never. */
	errors[0] = 77;
	collector__pick_errnos(errors, shown, 5);
	assert_true(shown[EBADF]);
	assert_false(shown[0]);
	assert_false(shown[EPERM]);
}

struct client {
	int fd;
	char *reply;
	size_t len, got;
};

static void *read_replies(void *arg)
{
	struct client *c = arg;
	ssize_t n;

	while (c->got < c->len - 1 &&
	       (n = recv(c->fd, c->reply + c->got, c->len - 1 - c->got, 0)) > 0)
		c->got += n;
	return NULL;
}

/*
 * Sends `req` on a fresh connection to h and closes the sending side, while a thread reads
 * the answers; returns their length.
 */
static size_t exchange_n(struct http *h, const char *req, size_t n, char *reply, size_t len)
{
	struct client c = {.reply = reply, .len = len};
	pthread_t reader;
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(write(sv[0], req, n), (ssize_t)n);
	shutdown(sv[0], SHUT_WR);
	c.fd = sv[0];
	assert_int_equal(pthread_create(&reader, NULL, read_replies, &c), 0);
	assert_int_equal(http__serve_fd(h, sv[1]), 0);
	pthread_join(reader, NULL);
	reply[c.got] = 0;
	close(sv[0]);
	return c.got;
}

static size_t exchange(struct http *h, const char *req, char *reply, size_t len)
{
	return exchange_n(h, req, strlen(req), reply, len);
}

static int count(const char *s, const char *what)
{
	int n = 0;

	for (; (s = strstr(s, what)); s++)
		n++;
	return n;
}

/* The server without a listening socket, as the request fuzzer drives it. */
static void test_serve_fd(void **state)
{
	static char reply[65536];
	char err[256];
	struct http *h;

	(void)state;
	h = http__start(NULL, 1000000000ULL, err, sizeof(err));
	assert_non_null(h);
	/* Three requests in a row get three answers, in order; no collector yet: 503. */
	exchange(h,
		 "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
		 "GET /api/v1/anomalies?agent=a HTTP/1.1\r\nHost: x\r\n\r\n"
		 "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n",
		 reply, sizeof(reply));
	assert_int_equal(count(reply, "HTTP/1.1 503 "), 2);
	assert_int_equal(count(reply, "HTTP/1.1 404 "), 1);
	assert_true(strstr(reply, "starting") < strstr(reply, "first tick pending"));
	exchange(h, "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi", reply,
		 sizeof(reply));
	assert_int_equal(count(reply, "HTTP/1.1 405 "), 1);
	assert_non_null(strstr(reply, "Allow: GET, HEAD"));
	/* A body with a NUL: JSON before it and anything after it was taken as the whole body. */
	{
		static const char nul[] =
			"POST /api/v1/silences HTTP/1.1\r\nHost: x\r\n"
			"Content-Length: 47\r\n\r\n"
			"{\"matchers\":{\"agent\":\"x\"},\"duration\":\"1h\"}\0junk";

		exchange_n(h, nul, sizeof(nul) - 1, reply, sizeof(reply));
		assert_int_equal(count(reply, "HTTP/1.1 400 "), 1);
		assert_non_null(strstr(reply, "NUL byte"));
	}
	exchange(h, "GET / HTTP/1.0\r\n\r\n", reply, sizeof(reply));
	assert_int_equal(strncmp(reply, "HTTP/1.1 200 ", 13), 0);
	/*
	 * More answers than a socket buffer holds: the server waits for the client to read
	 * them (a harness that read only afterwards deadlocked on this).
	 */
	{
		static char many[300 * 40 + 1], big[1 << 20];
		int i;

		for (i = 0; i < 300; i++)
			strcat(many, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
		exchange(h, many, big, sizeof(big));
		assert_int_equal(count(big, "HTTP/1.1 503 "), 300);
	}
	/* Half a request, then the client leaves: no answer, and the server lets go. */
	assert_int_equal(exchange(h, "GET /metr", reply, sizeof(reply)), 0);
	http__stop(h);
}

/* Publishes an empty snapshot of tick `ticks` in slot. */
static void publish(struct snapshot_slot *slot, __u64 ticks)
{
	struct snapshot *s = snapshot__new();

	assert_non_null(s);
	s->ticks = ticks;
	s->time = 1700000000.0 + ticks;
	snapshot__publish(slot, s);
}

/*
 * Pre-rendering: nothing while /metrics is not scraped, a page of the latest tick once it is,
 * and the scrapes that follow get that tick's page, plain or gzip.
 */
static void test_prerender(void **state)
{
	static char reply[1 << 20];
	struct snapshot_slot slot;
	char err[256];
	struct http *h;

	(void)state;
	snapshot__slot_init(&slot);
	h = http__start(NULL, 1000000000ULL, err, sizeof(err));
	assert_non_null(h);
	assert_int_equal(http__prerender(h), 0); /* nothing attached */
	http__attach(h, &slot);
	assert_int_equal(http__prerender(h), 0); /* nothing published */
	publish(&slot, 1);
	assert_int_equal(http__prerender(h), 0); /* published, but never scraped: idle */
	exchange(h, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", reply, sizeof(reply));
	assert_int_equal(strncmp(reply, "HTTP/1.1 200 ", 13), 0);
	publish(&slot, 2);
	assert_int_equal(http__prerender(h), 1); /* scraped a moment ago */
	assert_int_equal(http__prerender(h), 1); /* the page already made: shared */
	exchange(h, "GET /metrics HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n", reply,
		 sizeof(reply));
	assert_int_equal(strncmp(reply, "HTTP/1.1 200 ", 13), 0);
	assert_non_null(strstr(reply, "Content-Encoding: gzip"));
	publish(&slot, 3);
	assert_int_equal(http__prerender(h), 1); /* with its gzip copy, asked for a moment ago */
	exchange(h, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", reply, sizeof(reply));
	assert_non_null(strstr(reply, "swarmwatch_collector_ticks_total 3\n"));
	http__stop(h);
	snapshot__slot_fini(&slot);
}

/* A server with a web configuration: rate 1/s, burst burst; one token with the read scope. */
static struct http *secured(struct web_config *w, double burst)
{
	/* The SHA-256 of "0123456789abcdef-read". */
	char text[512], err[256];
	struct http *h;

	snprintf(text, sizeof(text),
		 "bearer_tokens:\n"
		 "  - name: dash\n"
		 "    token_sha256: "
		 "bedd61db0f64852ca55af9cb7d2c496c1959f6642cb65b4c56780cf6d139312d\n"
		 "    scopes: [read]\n"
		 "rate_limit: {requests_per_second: 1, burst: %g}\n",
		 burst);
	assert_int_equal(webconfig__parse(w, text, strlen(text), "t.yml", "/", err, sizeof(err)),
			 0);
	h = http__new(NULL, 1000000000ULL, w, err, sizeof(err));
	assert_non_null(h);
	assert_int_equal(http__run(h, err, sizeof(err)), 0);
	return h;
}

/* Credentials and scopes are checked before the route; /healthz stays open. */
static void test_auth(void **state)
{
	static char reply[16384];
	struct web_config w;
	struct http *h = secured(&w, 100);

	(void)state;
	exchange(h, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", reply, sizeof(reply));
	assert_non_null(strstr(reply, "HTTP/1.1 401 "));
	assert_non_null(strstr(reply, "WWW-Authenticate: Bearer realm=\"swarmwatch\""));
	assert_null(strstr(reply, "Basic realm"));
	exchange(h, "GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer nope\r\n\r\n", reply,
		 sizeof(reply));
	assert_non_null(strstr(reply, "HTTP/1.1 401 "));
	assert_non_null(strstr(reply, "wrong credentials"));
	/* Open: 503 before the first tick, not 401. */
	exchange(h, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", reply, sizeof(reply));
	assert_non_null(strstr(reply, "HTTP/1.1 503 "));
	/* The read token passes to the handler (503: no data yet), but not to POST or DELETE. */
	exchange(h,
		 "GET /metrics HTTP/1.1\r\nHost: x\r\n"
		 "Authorization: Bearer 0123456789abcdef-read\r\n\r\n",
		 reply, sizeof(reply));
	assert_non_null(strstr(reply, "HTTP/1.1 503 "));
	exchange(h,
		 "DELETE /api/v1/silences/1 HTTP/1.1\r\nHost: x\r\n"
		 "Authorization: Bearer 0123456789abcdef-read\r\n\r\n",
		 reply, sizeof(reply));
	assert_non_null(strstr(reply, "HTTP/1.1 403 "));
	assert_non_null(strstr(reply, "dash has the scopes read; this needs ack"));
	exchange(h,
		 "POST /api/v1/silences HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
		 "Authorization: Bearer 0123456789abcdef-read\r\n\r\n{}",
		 reply, sizeof(reply));
	assert_non_null(strstr(reply, "HTTP/1.1 403 "));
	http__stop(h);
	webconfig__free(&w);
}

/*
 * A server with two read tokens, "0123456789abcdef-read" (no tenants) and
 * "0123456789abcdef-team" (tenant team-a), attached to slot.
 */
static struct http *tenant_server(struct web_config *w, struct snapshot_slot *slot)
{
	/* The SHA-256 of "0123456789abcdef-read" and of "0123456789abcdef-team". */
	static const char conf[] =
		"bearer_tokens:\n"
		"  - name: dash\n"
		"    token_sha256: "
		"bedd61db0f64852ca55af9cb7d2c496c1959f6642cb65b4c56780cf6d139312d\n"
		"    scopes: [read]\n"
		"  - name: team\n"
		"    token_sha256: "
		"06f876924838134b84c7c7eda48773d02eeba83170ed40844ccc34a1fa73ff40\n"
		"    scopes: [read]\n"
		"    tenants: [team-a]\n";
	char err[256];
	struct http *h;

	assert_int_equal(webconfig__parse(w, conf, strlen(conf), "t.yml", "/", err, sizeof(err)),
			 0);
	h = http__new(NULL, 1000000000ULL, w, err, sizeof(err));
	assert_non_null(h);
	assert_int_equal(http__run(h, err, sizeof(err)), 0);
	snapshot__slot_init(slot);
	http__attach(h, slot);
	return h;
}

/*
 * /api/v1/overhead is host-wide (syscalls of every task, the hooks' share of host CPU): a token
 * with tenants does not see it, as it does not see those series in /metrics; a token without
 * tenants does.
 */
static void test_overhead_not_for_tenants(void **state)
{
	static char reply[16384];
	struct snapshot_slot slot;
	struct snapshot *s;
	struct web_config w;
	struct http *h = tenant_server(&w, &slot);

	(void)state;
	s = snapshot__new();
	assert_non_null(s);
	s->ticks = 1;
	s->time = 1700000001.0;
	s->host_syscalls = 987654321;
	s->overhead_ratio = 0.004;
	snapshot__publish(&slot, s);
	exchange(h,
		 "GET /api/v1/overhead HTTP/1.1\r\nHost: x\r\n"
		 "Authorization: Bearer 0123456789abcdef-read\r\n\r\n",
		 reply, sizeof(reply));
	assert_non_null(strstr(reply, "HTTP/1.1 200 "));
	assert_non_null(strstr(reply, "987654321"));
	exchange(h,
		 "GET /api/v1/overhead HTTP/1.1\r\nHost: x\r\n"
		 "Authorization: Bearer 0123456789abcdef-team\r\n\r\n",
		 reply, sizeof(reply));
	assert_null(strstr(reply, "987654321"));
	assert_null(strstr(reply, "HTTP/1.1 200 "));
	assert_non_null(strstr(reply, "HTTP/1.1 403 "));
	http__stop(h);
	snapshot__slot_fini(&slot);
	webconfig__free(&w);
}

/* The alert engine's silences, as test_silences_for_tenants() sets them: see there. */
static size_t four_silences(void *ctx, struct alert_silence *out, size_t cap)
{
	static const struct {
		const char *name, *value;
		bool negate;
	} m[4][2] = {{{"agent", "coder-a", false}, {"severity", "page", false}},
		     {{"agent", "coder-b", false}, {NULL, NULL, false}},
		     {{"agent", "coder-a", false}, {"agent", "coder-b", true}},
		     {{"agent", "coder-a", true}, {NULL, NULL, false}}};
	size_t i, j;

	(void)ctx;
	for (i = 0; i < 4 && i < cap; i++) {
		memset(&out[i], 0, sizeof(out[i]));
		out[i].id = i + 1;
		out[i].ends_ms = 4102444800000LL;
		for (j = 0; j < 2 && m[i][j].name; j++) {
			snprintf(out[i].m[j].name, sizeof(out[i].m[j].name), "%s", m[i][j].name);
			snprintf(out[i].m[j].value, sizeof(out[i].m[j].value), "%s", m[i][j].value);
			out[i].m[j].negate = m[i][j].negate;
			out[i].nm++;
		}
	}
	return i;
}

/*
 * GET /api/v1/silences to a token with tenants lists a silence only when one of its = agent
 * matchers names an agent the token sees and every agent it names, = or !=, is one: of
 * agent=coder-a (1), agent=coder-b (2), agent=coder-a with agent!=coder-b (3, which names
 * another tenant's agent; it was listed while the last = matcher alone decided) and
 * agent!=coder-a alone (4), team-a's token sees 1 only; a token without tenants sees all four.
 */
static void test_silences_for_tenants(void **state)
{
	static const struct http_alert_ops ops = {.silences = four_silences};
	static char reply[16384];
	struct snapshot_slot slot;
	struct snapshot *s;
	struct web_config w;
	struct http *h = tenant_server(&w, &slot);

	(void)state;
	http__set_alerts(h, &ops, NULL);
	s = snapshot__new();
	assert_non_null(s);
	s->ticks = 1;
	s->time = 1700000001.0;
	s->tenants = calloc(2, sizeof(*s->tenants));
	assert_non_null(s->tenants);
	s->ntenants = 2;
	strcpy(s->tenants[0].agent, "coder-a");
	strcpy(s->tenants[0].tenant, "team-a");
	strcpy(s->tenants[1].agent, "coder-b");
	strcpy(s->tenants[1].tenant, "team-b");
	snapshot__publish(&slot, s);
	exchange(h,
		 "GET /api/v1/silences HTTP/1.1\r\nHost: x\r\n"
		 "Authorization: Bearer 0123456789abcdef-team\r\n\r\n",
		 reply, sizeof(reply));
	print_message("# team-a: %s\n", strstr(reply, "{\"silences\""));
	assert_non_null(strstr(reply, "HTTP/1.1 200 "));
	assert_non_null(strstr(reply, "\"id\":1,"));
	assert_int_equal(count(reply, "\"id\":"), 1);
	assert_null(strstr(reply, "coder-b"));
	exchange(h,
		 "GET /api/v1/silences HTTP/1.1\r\nHost: x\r\n"
		 "Authorization: Bearer 0123456789abcdef-read\r\n\r\n",
		 reply, sizeof(reply));
	assert_int_equal(count(reply, "\"id\":"), 4);
	http__stop(h);
	snapshot__slot_fini(&slot);
	webconfig__free(&w);
}

/* Past the burst a client gets 429 with Retry-After, whatever it asks. */
static void test_rate_limited(void **state)
{
	static char reply[16384];
	struct web_config w;
	struct http *h = secured(&w, 2);

	(void)state;
	exchange(h,
		 "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
		 "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
		 "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
		 reply, sizeof(reply));
	assert_int_equal(count(reply, "HTTP/1.1 503 "), 2);
	assert_int_equal(count(reply, "HTTP/1.1 429 "), 1);
	assert_non_null(strstr(reply, "Retry-After: 1\r\n"));
	assert_non_null(strstr(reply, "too many requests from this address"));
	http__stop(h);
	webconfig__free(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_auth),
		cmocka_unit_test(test_rate_limited),
		cmocka_unit_test(test_split_listen),
		cmocka_unit_test(test_accepts_gzip),
		cmocka_unit_test(test_serve_fd),
		cmocka_unit_test(test_pick_errnos_sticky),
		cmocka_unit_test(test_prerender),
		cmocka_unit_test(test_overhead_not_for_tenants),
		cmocka_unit_test(test_silences_for_tenants),
	};

	return cmocka_run_group_tests_name("http", tests, NULL, NULL);
}
