/* SPDX-License-Identifier: MIT */
/*
 * stream: GET /api/v1/stream, Server-Sent Events with one event per tick (the overview of
 * api__overview()). A thread of its own waits for each publish, renders the event once and wakes
 * the clients, whose connections sleep suspended in libmicrohttpd between events; so the tick
 * and /metrics never wait for a client. The number of clients is bounded, and a client more than
 * STREAM_MAX_LAG events behind is dropped and counted.
 */
#ifndef SW_STREAM_H
#define SW_STREAM_H

#include <linux/types.h>
#include <microhttpd.h>
#include <stddef.h>

#include "snapshot.h"
#include "tenancy.h"

#define STREAM_MAX_CLIENTS 32 /* default bound on concurrent clients */
#define STREAM_SNDBUF (32 * 1024) /* SO_SNDBUF of a client's socket (the kernel doubles it) */
#define STREAM_MAX_LAG 3 /* events a client may lag (one being sent) before it is dropped */

struct stream;

/* What the stream has done since it started. */
struct stream_stats {
	__u32 clients; /* connected now */
	__u64 events; /* events rendered (one per tick) */
	__u64 served; /* clients ever accepted */
	__u64 refused; /* clients turned away because max_clients were connected */
	__u64 dropped; /* clients dropped for falling more than STREAM_MAX_LAG events behind */
};

/*
 * stream__new - starts the thread that renders one event per publish in slot (which must outlive
 * the stream) for at most max_clients clients at a time. NULL with a one-line reason in err.
 */
struct stream *stream__new(struct snapshot_slot *slot, int max_clients, char *err, size_t errlen);

/*
 * stream__serve - answers GET /api/v1/stream on c: 200 text/event-stream that sends the latest
 * event at once and then each new one, or 503 with Retry-After when max_clients are connected.
 * Called from the access handler of a daemon started with MHD_ALLOW_SUSPEND_RESUME. With
 * ntenants > 0, the client sees only the agents of tenants (which must outlive the stream:
 * a token's), each event cut down for it (tenancy__filter_json()).
 */
enum MHD_Result stream__serve(struct stream *st, struct MHD_Connection *c,
			      const char (*tenants)[TENANT_NAME_MAX], int ntenants);

/*
 * stream__shutdown - ends every client's stream and stops the thread; call it before
 * MHD_stop_daemon() (which must not find suspended connections), then stream__free() after it.
 */
void stream__shutdown(struct stream *st);
void stream__free(struct stream *st);

void stream__stats(struct stream *st, struct stream_stats *out);

#endif
