// SPDX-License-Identifier: MIT
/*
 * Fuzz target: the HTTP server as a client meets it. An input is what a
 * client sends (request lines, query strings, headers, bodies, several
 * requests in a row); libmicrohttpd parses it and swarmwatch's handler
 * answers, on a socketpair served on this thread while a second thread
 * reads the answers. A snapshot with two agents is published, so /metrics,
 * / and /healthz render for real. The server must answer with HTTP
 * responses or close, and never crash, leak or hang.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http.h"
#include "snapshot.h"

#define MAX_REQUEST 16384 /* well inside a socketpair's buffer, so one write takes it */

/* The client's side: reads until the server closes, keeping the start. */
struct client {
	int fd;
	char reply[4096];
	size_t got;
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct http *server;
static struct snapshot_slot slot;

/* The server, serving a snapshot of two agents (one with a name that needs escaping). */
static struct http *start(void)
{
	static const char *const names[] = {"planner", "<b>\"x\"&amp;\\"};
	struct snapshot *s = snapshot__new();
	struct timespec ts;
	char err[256];
	struct http *h;
	int i;

	h = http__start(NULL, 1000000000ULL, err, sizeof(err));
	if (!h || !s || !(s->agents = calloc(2, sizeof(*s->agents))))
		abort();
	clock_gettime(CLOCK_REALTIME, &ts);
	s->time = ts.tv_sec + 3600; /* fresh for an hour: /healthz answers 200 */
	s->ticks = 1;
	s->nagents = 2;
	for (i = 0; i < 2; i++) {
		snprintf(s->agents[i].name, sizeof(s->agents[i].name), "%s", names[i]);
		s->agents[i].slot = i + 1;
		s->agents[i].instances = 1;
		s->agents[i].s.cpu_ns = 1000000000ULL * (i + 1);
	}
	for (i = 0; i < COLLECTOR_MAX; i++)
		s->up[i] = true;
	snapshot__slot_init(&slot);
	snapshot__publish(&slot, s);
	http__attach(h, &slot);
	return h;
}

static void *read_replies(void *arg)
{
	struct client *c = arg;
	char buf[16384];
	ssize_t n;

	while ((n = recv(c->fd, buf, sizeof(buf), 0)) > 0 || (n < 0 && errno == EINTR)) {
		if (n > 0 && c->got < sizeof(c->reply)) {
			size_t k = sizeof(c->reply) - c->got < (size_t)n ? sizeof(c->reply) - c->got
									 : (size_t)n;

			memcpy(c->reply + c->got, buf, k);
			c->got += k;
		}
	}
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct client c = {0};
	pthread_t reader;
	int sv[2];

	if (size > MAX_REQUEST)
		return 0;
	if (!server)
		server = start();
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		abort();
	if (size && write(sv[0], data, size) != (ssize_t)size)
		abort();
	shutdown(sv[0], SHUT_WR);
	c.fd = sv[0];
	if (pthread_create(&reader, NULL, read_replies, &c))
		abort();
	/* The client has said everything: the server must be done with it in bounded rounds. */
	if (http__serve_fd(server, sv[1]) == -ETIMEDOUT)
		abort();
	pthread_join(reader, NULL);
	close(sv[0]);
	/* Whatever it wrote starts as an HTTP/1.x response. */
	if (c.got && (c.got < 9 || memcmp(c.reply, "HTTP/1.", 7)))
		abort();
	return 0;
}
