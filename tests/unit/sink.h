/* SPDX-License-Identifier: MIT */
/*
 * Loopback receivers for the notification tests: an HTTP sink that answers each request with
 * the next status of a script (then 200) and keeps what it got, and an SMTP listener that
 * accepts one message per session. Both run on a thread on 127.0.0.1 with a free port.
 */
#ifndef SW_TEST_SINK_H
#define SW_TEST_SINK_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SINK_MAX 64

struct sink_req {
	char head[2048];
	char *body;
	long long at_ms; /* CLOCK_MONOTONIC */
};

struct sink {
	int fd;
	int port;
	pthread_t th;
	pthread_mutex_t lock;
	volatile bool stop;
	int script[16]; /* statuses to answer, in order; then 200 */
	int nscript;
	const char *extra; /* extra header line(s) sent with scripted answers */
	bool smtp;
	struct sink_req req[SINK_MAX];
	int n;
};

static inline long long sink_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads until the buffer holds `needle` or the peer closes; returns bytes read. */
static inline size_t sink_read_until(int fd, char *buf, size_t cap, size_t have, const char *needle)
{
	while (have < cap - 1) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t r;

		buf[have] = 0;
		if (strstr(buf, needle))
			break;
		if (poll(&p, 1, 5000) <= 0)
			break;
		r = read(fd, buf + have, cap - 1 - have);
		if (r <= 0)
			break;
		have += (size_t)r;
	}
	buf[have] = 0;
	return have;
}

static inline void sink_say(int fd, const char *s)
{
	if (write(fd, s, strlen(s)) < 0)
		return;
}

static inline void sink_smtp(struct sink *s, int c)
{
	static char buf[65536];
	size_t have = 0;

	sink_say(c, "220 sink ESMTP\r\n");
	for (;;) {
		char *line;

		have = sink_read_until(c, buf, sizeof(buf), 0, "\r\n");
		if (!have)
			return;
		line = buf;
		if (!strncasecmp(line, "EHLO", 4) || !strncasecmp(line, "HELO", 4)) {
			sink_say(c, "250 sink\r\n");
		} else if (!strncasecmp(line, "MAIL", 4) || !strncasecmp(line, "RCPT", 4)) {
			sink_say(c, "250 ok\r\n");
		} else if (!strncasecmp(line, "DATA", 4)) {
			sink_say(c, "354 go on\r\n");
			have = sink_read_until(c, buf, sizeof(buf), 0, "\r\n.\r\n");
			pthread_mutex_lock(&s->lock);
			if (s->n < SINK_MAX) {
				s->req[s->n].head[0] = 0;
				s->req[s->n].body = strdup(buf);
				s->req[s->n].at_ms = sink_now_ms();
				s->n++;
			}
			pthread_mutex_unlock(&s->lock);
			sink_say(c, "250 queued\r\n");
		} else if (!strncasecmp(line, "QUIT", 4)) {
			sink_say(c, "221 bye\r\n");
			return;
		} else {
			sink_say(c, "250 ok\r\n");
		}
	}
}

static inline void sink_http(struct sink *s, int c)
{
	static char buf[1 << 17];
	size_t have = sink_read_until(c, buf, sizeof(buf), 0, "\r\n\r\n"), hl, want = 0;
	char *end = strstr(buf, "\r\n\r\n"), *cl, ans[512];
	int status = 200, i;

	if (!end)
		return;
	hl = (size_t)(end - buf) + 4;
	cl = strcasestr(buf, "Content-Length:");
	if (cl && cl < end)
		want = strtoul(cl + 15, NULL, 10);
	while (have < hl + want && have < sizeof(buf) - 1) {
		ssize_t r = read(c, buf + have, sizeof(buf) - 1 - have);

		if (r <= 0)
			break;
		have += (size_t)r;
	}
	buf[have] = 0;
	pthread_mutex_lock(&s->lock);
	i = s->n;
	if (i < s->nscript)
		status = s->script[i];
	if (s->n < SINK_MAX) {
		snprintf(s->req[i].head, sizeof(s->req[i].head), "%.*s", (int)hl, buf);
		s->req[i].body = strdup(buf + hl);
		s->req[i].at_ms = sink_now_ms();
		s->n++;
	}
	pthread_mutex_unlock(&s->lock);
	snprintf(ans, sizeof(ans),
		 "HTTP/1.1 %d X\r\nContent-Length: 2\r\n%sConnection: close\r\n\r\nno", status,
		 status != 200 && s->extra ? s->extra : "");
	sink_say(c, ans);
}

static inline void *sink_run(void *arg)
{
	struct sink *s = arg;

	while (!s->stop) {
		struct pollfd p = {.fd = s->fd, .events = POLLIN};
		int c;

		if (poll(&p, 1, 50) <= 0)
			continue;
		c = accept(s->fd, NULL, NULL);
		if (c < 0)
			continue;
		if (s->smtp)
			sink_smtp(s, c);
		else
			sink_http(s, c);
		close(c);
	}
	return NULL;
}

/* Starts a sink on loopback port `port` (0: a free one); returns 0 or -1. */
static inline int sink_start_on(struct sink *s, bool smtp, int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
				.sin_port = htons(port)};
	socklen_t len = sizeof(a);
	int one = 1;

	memset(s, 0, sizeof(*s));
	s->smtp = smtp;
	pthread_mutex_init(&s->lock, NULL);
	s->fd = socket(AF_INET, SOCK_STREAM, 0);
	if (s->fd < 0)
		return -1;
	setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(s->fd, (struct sockaddr *)&a, sizeof(a)) || listen(s->fd, 16) ||
	    getsockname(s->fd, (struct sockaddr *)&a, &len))
		return -1;
	s->port = ntohs(a.sin_port);
	return pthread_create(&s->th, NULL, sink_run, s) ? -1 : 0;
}

static inline int sink_start(struct sink *s, bool smtp)
{
	return sink_start_on(s, smtp, 0);
}

static inline void sink_stop(struct sink *s)
{
	int i;

	s->stop = true;
	pthread_join(s->th, NULL);
	close(s->fd);
	for (i = 0; i < s->n; i++)
		free(s->req[i].body);
	pthread_mutex_destroy(&s->lock);
}

/* Waits up to 10 s for n requests; returns how many arrived. */
static inline int sink_wait(struct sink *s, int n)
{
	int i, got = 0;

	for (i = 0; i < 1000; i++) {
		pthread_mutex_lock(&s->lock);
		got = s->n;
		pthread_mutex_unlock(&s->lock);
		if (got >= n)
			break;
		usleep(10000);
	}
	return got;
}

/* A header's value in request i ("" when absent), copied to out. */
static inline const char *sink_header(struct sink *s, int i, const char *name, char *out,
				      size_t len)
{
	char *h = strcasestr(s->req[i].head, name), *e;

	out[0] = 0;
	if (!h)
		return out;
	h += strlen(name);
	while (*h == ':' || *h == ' ')
		h++;
	e = strstr(h, "\r\n");
	snprintf(out, len, "%.*s", e ? (int)(e - h) : (int)strlen(h), h);
	return out;
}

#endif
