// SPDX-License-Identifier: MIT
/*
 * A loopback HTTP/1.1 keep-alive client/server pair for the request
 * benchmark. `reqbench server` answers every request on one connection
 * accepted from fd 3; `reqbench client N` connects to the port of fd 3,
 * makes N requests one after the other and prints the requests per second.
 *
 * With --tls the same exchange runs over TLS through OpenSSL: the server
 * presents CERT and KEY, the client does not verify them (the benchmark
 * measures the cost, not the peer), and the handshake is done once, before
 * the timed requests. Both sides call SSL_write and SSL_read, not the _ex
 * variants, so that those entry points are the ones exercised.
 *
 * `--settle MS` makes the client wait before it connects, so that a tracer
 * which attaches when libssl is mapped (swarmwatch's TLS capture) is in
 * place for the whole connection.
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

static const char request[] = "GET /v1/ping HTTP/1.1\r\nHost: bench\r\n\r\n";
static const char response[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

/* One end of the connection. */
struct conn {
	int fd; /* the TCP socket */
	SSL *ssl; /* the TLS session over fd, or NULL for plaintext */
};

/* read(2) or SSL_read on c; what they return (> 0 is a byte count). */
static ssize_t conn_read(struct conn *c, void *buf, size_t len)
{
	if (c->ssl)
		return SSL_read(c->ssl, buf, (int)len);
	return read(c->fd, buf, len);
}

/* write(2) or SSL_write on c; what they return (> 0 is a byte count). */
static ssize_t conn_write(struct conn *c, const void *buf, size_t len)
{
	if (c->ssl)
		return SSL_write(c->ssl, buf, (int)len);
	return write(c->fd, buf, len);
}

/* Reads until `want` bytes ending a message have arrived; 0 or -1. */
static int read_message(struct conn *c, char *buf, size_t want)
{
	size_t got = 0;
	ssize_t n;

	while (got < want) {
		n = conn_read(c, buf + got, want - got);
		if (n <= 0)
			return -1;
		got += n;
	}
	return 0;
}

/* Prints one line for a failed TLS step, with OpenSSL's first reason; returns 1. */
static int tls_fail(const char *what, const char *arg)
{
	unsigned long e = ERR_peek_error();
	const char *lib = ERR_lib_error_string(e), *why = ERR_reason_error_string(e);

	if (ERR_SYSTEM_ERROR(e)) {
		lib = NULL;
		why = strerror(ERR_GET_REASON(e));
	}
	fprintf(stderr, "reqbench: tls: %s%s%s: %s%s%s\n", what, arg ? " " : "", arg ? arg : "",
		lib ? lib : "", lib ? ": " : "", why ? why : "no reason given");
	return 1;
}

/*
 * The server's TLS context with CERT and KEY (PEM files); NULL after printing
 * why. It issues no TLS 1.3 session tickets: the client would read them
 * with its first response, and they would only add noise to that request.
 */
static SSL_CTX *tls_server_ctx(const char *cert, const char *key)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (!ctx) {
		tls_fail("cannot create the server context", NULL);
		return NULL;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		tls_fail("cannot load the certificate", cert);
		goto free_ctx;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		tls_fail("cannot load the key", key);
		goto free_ctx;
	}
	SSL_CTX_set_num_tickets(ctx, 0);
	return ctx;

free_ctx:
	SSL_CTX_free(ctx);
	return NULL;
}

/*
 * Starts TLS on c->fd with a session of ctx and completes the handshake, as
 * the server or the client; 0, or 1 after printing why.
 */
static int tls_start(struct conn *c, SSL_CTX *ctx, bool server)
{
	c->ssl = SSL_new(ctx);
	if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1)
		return tls_fail("cannot create the session", NULL);
	if ((server ? SSL_accept(c->ssl) : SSL_connect(c->ssl)) != 1)
		return tls_fail("handshake failed", NULL);
	return 0;
}

/* Answers every request on the connection accepted from fd 3; tls may be NULL. */
static int serve(SSL_CTX *tls)
{
	char buf[sizeof(request)];
	struct conn c = {.fd = accept(LISTEN_FD, NULL, NULL)};
	int one = 1;

	if (c.fd < 0)
		return 1;
	setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (tls && tls_start(&c, tls, true))
		return 1;
	while (!read_message(&c, buf, sizeof(request) - 1))
		if (conn_write(&c, response, sizeof(response) - 1) != sizeof(response) - 1)
			return 1;
	return 0;
}

/*
 * Waits settle_ms, then makes n requests on one connection to the port of
 * fd 3 (over TLS when tls is set; the handshake is not timed) and prints the
 * requests per second.
 */
static int client(long n, SSL_CTX *tls, long settle_ms)
{
	struct timespec settle = {settle_ms / 1000, settle_ms % 1000 * 1000000};
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	char buf[sizeof(response)];
	struct timespec t0, t1;
	struct conn c = {.fd = -1};
	int one = 1;
	long i;

	if (settle_ms)
		nanosleep(&settle, NULL);
	if (getsockname(LISTEN_FD, (struct sockaddr *)&a, &len))
		return 1;
	c.fd = socket(AF_INET, SOCK_STREAM, 0);
	if (c.fd < 0 || connect(c.fd, (struct sockaddr *)&a, sizeof(a)))
		return 1;
	setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (tls && tls_start(&c, tls, false))
		return 1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < n; i++) {
		if (conn_write(&c, request, sizeof(request) - 1) != sizeof(request) - 1 ||
		    read_message(&c, buf, sizeof(response) - 1))
			return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("%.0f\n", n / (t1.tv_sec - t0.tv_sec + (t1.tv_nsec - t0.tv_nsec) / 1e9));
	/*
	 * No SSL_shutdown: TLS 1.3 sends close_notify as an application-data
	 * record, which a tracer would count as one more request.
	 */
	close(c.fd);
	return 0;
}

/* s as a number from 0 up, or -1. */
static long number(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);

	return *s && !*end && v >= 0 ? v : -1;
}

int main(int argc, char **argv)
{
	SSL_CTX *tls = NULL;
	long n, settle_ms = 0;
	bool want_tls = false;
	int i;

	if (argc == 2 && !strcmp(argv[1], "server"))
		return serve(NULL);
	if (argc == 5 && !strcmp(argv[1], "server") && !strcmp(argv[2], "--tls")) {
		tls = tls_server_ctx(argv[3], argv[4]);
		return tls ? serve(tls) : 1;
	}
	if (argc < 3 || strcmp(argv[1], "client"))
		goto usage;
	n = number(argv[2]);
	for (i = 3; i < argc; i++) {
		if (!strcmp(argv[i], "--tls"))
			want_tls = true;
		else if (!strcmp(argv[i], "--settle") && i + 1 < argc)
			settle_ms = number(argv[++i]);
		else
			goto usage;
	}
	if (n <= 0 || settle_ms < 0)
		goto usage;
	if (!want_tls)
		return client(n, NULL, settle_ms);
	/* No verification: the certificate is self-signed, the cost is the point. */
	tls = SSL_CTX_new(TLS_client_method());
	if (!tls)
		return tls_fail("cannot create the client context", NULL);
	SSL_CTX_set_verify(tls, SSL_VERIFY_NONE, NULL);
	return client(n, tls, settle_ms);

usage:
	fprintf(stderr,
		"usage: reqbench server [--tls CERT KEY] | reqbench client N [--tls] [--settle MS] (listening socket on fd 3)\n");
	return 2;
}
