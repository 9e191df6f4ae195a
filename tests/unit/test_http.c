// SPDX-License-Identifier: MIT
/* HTTP helpers and the errno label selection: pure parts of the serving path. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "collector.h"
#include "http.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_listen),
		cmocka_unit_test(test_accepts_gzip),
		cmocka_unit_test(test_serve_fd),
		cmocka_unit_test(test_pick_errnos_sticky),
	};

	return cmocka_run_group_tests_name("http", tests, NULL, NULL);
}
