// SPDX-License-Identifier: MIT
/*
 * Server-Sent Events of the overview (the WHATWG HTML standard, "Server-sent events": fields
 * "id", "event" and "data", an event ends at a blank line). The event is rendered once per tick
 * and shared by every client; each client copies it out in its content reader callback, which
 * suspends the connection when it has nothing to send. The stream's thread resumes them.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "api.h"
#include "incident.h"
#include "log.h"
#include "stream.h"
#include "tenancy.h"

/* One rendered event, shared by the clients sending it. */
struct event {
	int refs;
	__u64 seq;
	__u64 tick;
	struct snapshot *snap; /* the tick's, for the tenants of its agents; NULL in a copy */
	size_t json_off, json_len; /* where the JSON document is in data */
	size_t len;
	char data[];
};

struct client {
	struct stream *st;
	struct MHD_Connection *c;
	struct event *ev; /* being sent; NULL when the client is up to date */
	const char (*tenants)[TENANT_NAME_MAX]; /* a token's: events cut to its agents */
	int ntenants; /* 0: every agent */
	size_t off; /* bytes of ev already handed to libmicrohttpd */
	__u64 seq; /* last event handed whole to libmicrohttpd */
	bool suspended;
	bool drop; /* fell behind: end its stream */
	struct client *next, *prev;
};

struct stream {
	struct snapshot_slot *slot;
	int max_clients;
	__u64 next_seq; /* of the next event; the thread's own */
	pthread_t thread;
	bool started;
	pthread_mutex_t lock; /* guards everything below */
	bool stopping;
	struct event *ev; /* latest */
	struct client head; /* circular list of clients */
	struct stream_stats stats;
};

static void event_put(struct event *ev)
{
	if (ev && !__atomic_sub_fetch(&ev->refs, 1, __ATOMIC_ACQ_REL)) {
		snapshot__release(ev->snap);
		free(ev);
	}
}

/* Event seq of the stream for tick `tick` (its "id"). */
static struct event *event_new(const char *json, __u64 seq, __u64 tick)
{
	size_t n = strlen(json) + 64;
	struct event *ev = malloc(sizeof(*ev) + n);
	int len;

	if (!ev)
		return NULL;
	len = snprintf(ev->data, n, "id: %llu\nevent: overview\ndata: ", (unsigned long long)tick);
	ev->json_off = len;
	ev->json_len = strlen(json);
	len += snprintf(ev->data + len, n - len, "%s\n\n", json);
	ev->refs = 1;
	ev->seq = seq;
	ev->tick = tick;
	ev->snap = NULL;
	ev->len = len;
	return ev;
}

/* Under st->lock: wakes a suspended client. */
static void client_wake(struct client *cl)
{
	if (cl->suspended) {
		cl->suspended = false;
		MHD_resume_connection(cl->c);
	}
}

/* Under st->lock: ends the stream of a client that fell behind; its socket is shut so that
 * libmicrohttpd closes it even when the client reads nothing. */
static void client_drop(struct client *cl)
{
	const union MHD_ConnectionInfo *ci;

	cl->drop = true;
	cl->st->stats.dropped++;
	ci = MHD_get_connection_info(cl->c, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (ci)
		shutdown(ci->connect_fd, SHUT_RDWR);
	client_wake(cl);
}

/* Makes ev the latest event and wakes every client; drops those that fell behind. */
static void stream_publish(struct stream *st, struct event *ev)
{
	struct client *cl;
	__u64 behind;

	pthread_mutex_lock(&st->lock);
	event_put(st->ev);
	st->ev = ev;
	st->stats.events++;
	for (cl = st->head.next; cl != &st->head; cl = cl->next) {
		if (cl->drop)
			continue;
		/*
		 * A client whose reader has not finished an older event, or has not been called
		 * since (libmicrohttpd's buffer is full: the client does not read), falls behind.
		 */
		behind = ev->seq - (cl->ev ? cl->ev->seq - 1 : cl->seq);
		if (behind > STREAM_MAX_LAG) {
			pr_warn("stream: dropped a client %llu events behind (%llu dropped so far)",
				(unsigned long long)behind,
				(unsigned long long)st->stats.dropped + 1);
			client_drop(cl);
			continue;
		}
		client_wake(cl);
	}
	pthread_mutex_unlock(&st->lock);
}

static void *stream_main(void *arg)
{
	struct stream *st = arg;
	struct snapshot *prev = NULL, *cur;
	struct event *ev;
	__u64 seen = 0, seq;
	bool stopping;
	char *json;

	for (;;) {
		seq = snapshot__wait(st->slot, seen, 250);
		pthread_mutex_lock(&st->lock);
		stopping = st->stopping;
		pthread_mutex_unlock(&st->lock);
		if (stopping)
			break;
		if (seq == seen)
			continue;
		seen = seq;
		cur = snapshot__acquire(st->slot);
		if (!cur)
			continue;
		json = api__overview(prev, cur);
		ev = json ? event_new(json, st->next_seq++, cur->ticks) : NULL;
		free(json);
		if (ev) {
			snapshot__get(cur);
			ev->snap = cur;
		}
		if (ev)
			stream_publish(st, ev);
		else
			pr_warn("stream: no event for tick %llu: out of memory",
				(unsigned long long)cur->ticks);
		snapshot__release(prev);
		prev = cur;
	}
	snapshot__release(prev);
	return NULL;
}

struct stream *stream__new(struct snapshot_slot *slot, int max_clients, char *err, size_t errlen)
{
	struct stream *st = calloc(1, sizeof(*st));
	int e;

	if (!st) {
		snprintf(err, errlen, "stream: out of memory");
		return NULL;
	}
	st->slot = slot;
	st->max_clients = max_clients;
	st->head.next = st->head.prev = &st->head;
	st->next_seq = 1;
	pthread_mutex_init(&st->lock, NULL);
	e = pthread_create(&st->thread, NULL, stream_main, st);
	if (e) {
		snprintf(err, errlen, "stream: cannot start its thread: %s", strerror(e));
		pthread_mutex_destroy(&st->lock);
		free(st);
		return NULL;
	}
	st->started = true;
	return st;
}

/*
 * Event ev as client cl sees it: ev itself, or for a client with tenants a copy cut down to
 * its agents (a reference taken either way); NULL on out of memory.
 */
static struct event *event_for(const struct client *cl, struct event *ev)
{
	struct tenancy_filter f = {.tenants = cl->tenants, .ntenants = cl->ntenants};
	struct event *mine;
	char *json, *cut;

	if (!cl->ntenants) {
		__atomic_add_fetch(&ev->refs, 1, __ATOMIC_ACQ_REL);
		return ev;
	}
	if (ev->snap) {
		f.table = ev->snap->tenants;
		f.ntable = ev->snap->ntenants;
		f.incident_agent = incident__agent_of;
		f.incident_ctx = ev->snap->incidents;
	}
	json = strndup(ev->data + ev->json_off, ev->json_len);
	cut = json ? tenancy__filter_text(json, &f) : NULL;
	free(json);
	mine = cut ? event_new(cut, ev->seq, ev->tick) : NULL;
	free(cut);
	return mine;
}

static ssize_t client_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct client *cl = cls;
	struct stream *st = cl->st;
	ssize_t n;

	(void)pos;
	pthread_mutex_lock(&st->lock);
	if (cl->drop) {
		n = MHD_CONTENT_READER_END_WITH_ERROR;
		goto out;
	}
	if (!cl->ev) {
		if (st->stopping) {
			n = MHD_CONTENT_READER_END_OF_STREAM;
			goto out;
		}
		if (!st->ev || st->ev->seq <= cl->seq) {
			/* Nothing new: sleep until stream_publish() wakes us. */
			cl->suspended = true;
			MHD_suspend_connection(cl->c);
			n = 0;
			goto out;
		}
		cl->ev = event_for(cl, st->ev);
		if (!cl->ev) {
			n = MHD_CONTENT_READER_END_WITH_ERROR; /* out of memory */
			goto out;
		}
		cl->off = 0;
	}
	n = cl->ev->len - cl->off;
	if ((size_t)n > max)
		n = max;
	memcpy(buf, cl->ev->data + cl->off, n);
	cl->off += n;
	if (cl->off == cl->ev->len) {
		cl->seq = cl->ev->seq;
		event_put(cl->ev);
		cl->ev = NULL;
	}
out:
	pthread_mutex_unlock(&st->lock);
	return n;
}

/* The response is gone: so is the client. */
static void client_free(void *cls)
{
	struct client *cl = cls;
	struct stream *st = cl->st;

	pthread_mutex_lock(&st->lock);
	cl->prev->next = cl->next;
	cl->next->prev = cl->prev;
	st->stats.clients--;
	event_put(cl->ev);
	pthread_mutex_unlock(&st->lock);
	free(cl);
}

static enum MHD_Result refuse(struct MHD_Connection *c, unsigned status, const char *why)
{
	char *body = api__error(status, why);
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
	MHD_add_response_header(r, "Retry-After", "5");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

enum MHD_Result stream__serve(struct stream *st, struct MHD_Connection *c,
			      const char (*tenants)[TENANT_NAME_MAX], int ntenants)
{
	const union MHD_ConnectionInfo *ci;
	int sndbuf = STREAM_SNDBUF;
	struct MHD_Response *r;
	struct client *cl;
	enum MHD_Result ret;
	char msg[160];

	pthread_mutex_lock(&st->lock);
	if (st->stopping || (int)st->stats.clients >= st->max_clients) {
		st->stats.refused++;
		pthread_mutex_unlock(&st->lock);
		snprintf(msg, sizeof(msg),
			 "stream: %d clients already connected, the most served at once; "
			 "close one or retry later",
			 st->max_clients);
		return refuse(c, MHD_HTTP_SERVICE_UNAVAILABLE, msg);
	}
	pthread_mutex_unlock(&st->lock);
	cl = calloc(1, sizeof(*cl));
	if (!cl)
		return refuse(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "stream: out of memory");
	cl->st = st;
	cl->c = c;
	cl->tenants = tenants;
	cl->ntenants = ntenants;
	r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, client_read, cl,
					      client_free);
	if (!r) {
		free(cl);
		return refuse(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "stream: out of memory");
	}
	/*
	 * A fixed send buffer bounds the memory a client holds in the kernel (autotuning would let
	 * it reach tcp_wmem's maximum, megabytes) and so the time before one that does not read
	 * falls behind.
	 */
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (ci)
		setsockopt(ci->connect_fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	MHD_add_response_header(r, "Content-Type", "text/event-stream");
	MHD_add_response_header(r, "Cache-Control", "no-store");
	MHD_add_response_header(r, "X-Accel-Buffering", "no");
	/* In the list before the reader can run, so client_free() always finds it there. */
	pthread_mutex_lock(&st->lock);
	cl->seq = st->ev ? st->ev->seq - 1 : 0; /* the latest event goes out at once */
	cl->next = &st->head;
	cl->prev = st->head.prev;
	st->head.prev->next = cl;
	st->head.prev = cl;
	st->stats.clients++;
	st->stats.served++;
	pthread_mutex_unlock(&st->lock);
	ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

void stream__shutdown(struct stream *st)
{
	struct client *cl;

	if (!st)
		return;
	pthread_mutex_lock(&st->lock);
	st->stopping = true;
	for (cl = st->head.next; cl != &st->head; cl = cl->next)
		client_wake(cl);
	pthread_mutex_unlock(&st->lock);
	if (st->started) {
		pthread_join(st->thread, NULL);
		st->started = false;
	}
}

void stream__free(struct stream *st)
{
	if (!st)
		return;
	stream__shutdown(st);
	event_put(st->ev);
	pthread_mutex_destroy(&st->lock);
	free(st);
}

void stream__stats(struct stream *st, struct stream_stats *out)
{
	pthread_mutex_lock(&st->lock);
	*out = st->stats;
	pthread_mutex_unlock(&st->lock);
}
