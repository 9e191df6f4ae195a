// SPDX-License-Identifier: MIT
/*
 * A loopback LLM-API-shaped client/server pair over TLS (OpenSSL) for the LLM capture
 * benchmark. `llmbench server CERT KEY` answers every POST /v1/chat/completions on one
 * connection accepted from fd 3: with a JSON completion (one write, usage at its end), or,
 * when the request says "stream":true, with CHUNKS Server-Sent Events in chunked framing, one
 * SSL_write each, then a usage event and "data: [DONE]". `llmbench client N json|sse` makes N
 * calls one after the other on one connection to the port of fd 3 and prints the microseconds
 * per call. The handshake is not timed; `--settle MS` waits before connecting so that the
 * OpenSSL probes are in place for the whole connection.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#define LISTEN_FD 3
#define CHUNKS 40 /* content events of a streamed answer */

static const char body_start[] = "{\"model\":\"gpt-4o-mini\",\"max_tokens\":300,\"messages\":[{"
				 "\"role\":\"user\",\"content\":\"Plan the next change.\"}]";

static int tls_fail(const char *what)
{
	fprintf(stderr, "llmbench: tls: %s: %s\n", what,
		ERR_reason_error_string(ERR_peek_error()) ?: "no reason given");
	return 1;
}

/* Writes all of buf; 0 or -1. */
static int write_all(SSL *ssl, const char *buf, size_t len)
{
	return SSL_write(ssl, buf, (int)len) == (int)len ? 0 : -1;
}

/* Reads one request head and its body (Content-Length); 1 if it streams, 0 if not, -1. */
static int read_request(SSL *ssl, char *buf, size_t cap)
{
	size_t got = 0, need = 0;
	char *end = NULL, *cl;
	int n;

	while (!end || got < need) {
		n = SSL_read(ssl, buf + got, (int)(cap - got - 1));
		if (n <= 0)
			return -1;
		got += n;
		buf[got] = 0;
		if (!end && (end = strstr(buf, "\r\n\r\n"))) {
			cl = strcasestr(buf, "content-length:");
			need = (end - buf) + 4 + (cl ? strtoul(cl + 15, NULL, 10) : 0);
		}
	}
	return strstr(end, "\"stream\":true") != NULL;
}

static int answer(SSL *ssl, bool stream)
{
	static const char usage[] = "\"usage\":{\"prompt_tokens\":1234,\"completion_tokens\":300,"
				    "\"total_tokens\":1534,\"prompt_tokens_details\":{"
				    "\"cached_tokens\":1024}}";
	char body[4096], buf[4096 + 256];
	int i, n;

	if (!stream) {
		char text[1201];

		memset(text, 'x', sizeof(text) - 1);
		text[sizeof(text) - 1] = 0;
		n = snprintf(body, sizeof(body),
			     "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"model\":"
			     "\"gpt-4o-mini-2024-07-18\",\"choices\":[{\"index\":0,\"message\":{"
			     "\"role\":\"assistant\",\"content\":\"%s\"},\"finish_reason\":"
			     "\"stop\"}],%s}",
			     text, usage);
		n = snprintf(buf, sizeof(buf),
			     "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
			     "Content-Length: %d\r\nx-ratelimit-remaining-requests: 499\r\n\r\n%s",
			     n, body);
		return write_all(ssl, buf, n);
	}
	n = snprintf(buf, sizeof(buf),
		     "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
		     "Transfer-Encoding: chunked\r\nx-ratelimit-remaining-requests: 499\r\n\r\n");
	if (write_all(ssl, buf, n))
		return -1;
	for (i = 0; i <= CHUNKS + 1; i++) {
		if (i < CHUNKS)
			n = snprintf(
				body, sizeof(body),
				"data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\","
				"\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{"
				"\"content\":\" word%d word\"}}]}\n\n",
				i);
		else if (i == CHUNKS)
			n = snprintf(
				body, sizeof(body),
				"data: {\"id\":\"c\",\"model\":\"gpt-4o-mini\",\"choices\":[],%s}"
				"\n\n",
				usage);
		else
			n = snprintf(body, sizeof(body), "data: [DONE]\n\n");
		n = snprintf(buf, sizeof(buf), "%x\r\n%s\r\n%s", n, body,
			     i == CHUNKS + 1 ? "0\r\n\r\n" : "");
		if (write_all(ssl, buf, n))
			return -1;
	}
	return 0;
}

static int serve(const char *cert, const char *key)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	int fd = accept(LISTEN_FD, NULL, NULL), one = 1, st;
	char buf[16384];
	SSL *ssl;

	if (!ctx || SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1)
		return tls_fail("cannot set up the server");
	SSL_CTX_set_num_tickets(ctx, 0);
	if (fd < 0)
		return 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	ssl = SSL_new(ctx);
	if (!ssl || SSL_set_fd(ssl, fd) != 1 || SSL_accept(ssl) != 1)
		return tls_fail("handshake failed");
	while ((st = read_request(ssl, buf, sizeof(buf))) >= 0)
		if (answer(ssl, st))
			return 1;
	return 0;
}

/* Reads one answer: to its Content-Length, or to the last chunk; 0 or -1. */
static int read_answer(SSL *ssl, char *buf, size_t cap)
{
	size_t got = 0, need = 0;
	char *end = NULL, *cl;
	int n;

	for (;;) {
		n = SSL_read(ssl, buf + got, (int)(cap - got - 1));
		if (n <= 0)
			return -1;
		got += n;
		buf[got] = 0;
		if (!end && (end = strstr(buf, "\r\n\r\n"))) {
			cl = strcasestr(buf, "content-length:");
			need = cl ? (size_t)(end - buf) + 4 + strtoul(cl + 15, NULL, 10) : 0;
		}
		if (end && need && got >= need)
			return 0;
		if (end && !need && got >= 5 && !memcmp(buf + got - 5, "0\r\n\r\n", 5))
			return 0;
		if (got + 1 >= cap)
			return -1;
	}
}

static int client(long n, bool stream, long settle_ms)
{
	struct timespec settle = {settle_ms / 1000, settle_ms % 1000 * 1000000}, t0, t1;
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	char req[1024], buf[65536];
	int fd, one = 1, rn;
	SSL *ssl;
	long i;

	if (!ctx)
		return tls_fail("cannot create the client context");
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	if (settle_ms)
		nanosleep(&settle, NULL);
	if (getsockname(LISTEN_FD, (struct sockaddr *)&a, &len))
		return 1;
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)))
		return 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	ssl = SSL_new(ctx);
	if (!ssl || SSL_set_fd(ssl, fd) != 1 || SSL_connect(ssl) != 1)
		return tls_fail("handshake failed");
	rn = snprintf(req, sizeof(req), "%s%s}", body_start, stream ? ",\"stream\":true" : "");
	rn = snprintf(buf, sizeof(buf),
		      "POST /v1/chat/completions HTTP/1.1\r\nHost: bench\r\n"
		      "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
		      rn, req);
	memcpy(req, buf, rn);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < n; i++)
		if (write_all(ssl, req, rn) || read_answer(ssl, buf, sizeof(buf)))
			return 1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("%.2f\n", ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / 1e3 / n);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	long n, settle_ms = 0;

	if (argc == 4 && !strcmp(argv[1], "server"))
		return serve(argv[2], argv[3]);
	if (argc < 4 || strcmp(argv[1], "client") ||
	    (strcmp(argv[3], "json") && strcmp(argv[3], "sse")))
		goto usage;
	n = strtol(argv[2], NULL, 10);
	if (argc == 6 && !strcmp(argv[4], "--settle"))
		settle_ms = strtol(argv[5], NULL, 10);
	else if (argc != 4)
		goto usage;
	if (n <= 0 || settle_ms < 0)
		goto usage;
	return client(n, !strcmp(argv[3], "sse"), settle_ms);

usage:
	fprintf(stderr,
		"usage: llmbench server CERT KEY | llmbench client N json|sse [--settle MS] "
		"(listening socket on fd 3)\n");
	return 2;
}
