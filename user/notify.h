/* SPDX-License-Identifier: MIT */
/*
 * notify: the durable outbox and its sender.
 *
 * A notification is a message in Alertmanager's webhook v4 shape (receiver, status, alerts,
 * groupLabels, commonLabels, commonAnnotations, externalURL, version, groupKey) with a key
 * that is stable for that notification. notify__enqueue() renders it for the receiver's
 * channel (generic webhook: the v4 body itself; Alertmanager: the array of postable alerts
 * of its POST /api/v2/alerts; Slack: an incoming-webhook {"text": ...}; e-mail: an RFC 5322
 * message) and writes it, in one SQLite transaction with the caller's state blob, to the
 * table "outbox" of notify.db in the state directory, before anything is sent. A sender
 * thread posts the oldest row of each receiver (so a receiver sees its notifications in
 * order) and deletes it only when the receiver answered 2xx. Timeouts, network errors and 5xx
 * are retried with capped exponential backoff and full jitter; 429 waits for Retry-After
 * when the receiver gives one; any other status is logged, counted as "rejected" and the row
 * is dropped, since sending it again would get the same answer.
 *
 * Every HTTP request carries "X-Idempotency-Key: <key>" (the same on every retry and across
 * restarts) and, when the receiver has a secret, "X-Swarmwatch-Signature: sha256=<hex>", the
 * HMAC-SHA256 of the body under that secret (RFC 2104). E-mail carries the key as its
 * Message-ID.
 *
 * Threads: notify__enqueue(), notify__stats() and notify__state_get() may be called from any
 * thread and never wait for the network; the sender is the only thread that does.
 */
#ifndef SW_NOTIFY_H
#define SW_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NOTIFY_RECEIVERS_MAX 16
#define NOTIFY_NAME_MAX 64
#define NOTIFY_URL_MAX 512
#define NOTIFY_KEY_MAX 80

enum notify_channel {
	NOTIFY_WEBHOOK, /* POST the webhook v4 body */
	NOTIFY_ALERTMANAGER, /* POST <url>/api/v2/alerts */
	NOTIFY_SLACK, /* POST {"text": ...} to an incoming-webhook URL */
	NOTIFY_EMAIL, /* SMTP to url (smtp://host:port) */
	NOTIFY_JSON, /* POST the body as it is: any JSON object (scaling webhooks) */
	NOTIFY_CHANNELS,
};

/* Outcome of one attempt: swarmwatch_notifications_total{channel,result}. */
enum notify_result {
	NOTIFY_SENT, /* 2xx (or SMTP accepted): row deleted */
	NOTIFY_RETRIED, /* timeout, network error, 5xx or 429: tried again later */
	NOTIFY_REJECTED, /* any other status: logged and dropped */
	NOTIFY_RESULTS,
};

extern const char *const notify_channel_names[NOTIFY_CHANNELS]; /* "webhook", ..., "json" */
extern const char *const notify_result_names[NOTIFY_RESULTS]; /* "sent", "retried", "rejected" */

struct notify_receiver {
	char name[NOTIFY_NAME_MAX]; /* what routes name; unique */
	enum notify_channel channel;
	char url[NOTIFY_URL_MAX]; /* http(s):// for HTTP channels (Alertmanager: its base URL) */
	char secret[128]; /* HMAC-SHA256 key for the signature header; "" = unsigned */
	char mail_from[128]; /* e-mail only */
	char mail_to[256]; /* e-mail only: comma-separated addresses */
	uint32_t timeout_ms; /* per attempt; 0 = the default */
};

struct notify_params {
	const char *dir; /* state directory (created if missing); NULL: a memory-only outbox */
	uint32_t timeout_ms; /* per attempt, default 10 s */
	uint32_t backoff_min_ms; /* first retry delay, default 1 s */
	uint32_t backoff_max_ms; /* cap, default 60 s */
	uint32_t max_rows; /* outbox bound, default 100000: above it enqueue fails with -ENOSPC */
	const char *user_agent; /* default "swarmwatch/<version>" */
	struct notify_receiver receivers[NOTIFY_RECEIVERS_MAX];
	uint32_t nreceivers;
};

/* One notification handed to notify__enqueue(). */
struct notify_msg {
	const char *receiver; /* a configured receiver's name */
	const char *key; /* stable per notification, [A-Za-z0-9._-], < NOTIFY_KEY_MAX */
	const char *body; /* webhook v4 JSON object */
};

struct notify_stats {
	uint64_t total[NOTIFY_CHANNELS][NOTIFY_RESULTS]; /* attempts by outcome */
	uint64_t queued; /* rows in the outbox */
	int64_t oldest_ms; /* creation time of the oldest row, Unix ms; 0 when empty */
	uint64_t enqueue_errors; /* notify__enqueue() calls that failed */
};

struct notify;

/*
 * notify__params_default - fills p with the defaults above and no receivers.
 */
void notify__params_default(struct notify_params *p);

/*
 * notify__open - opens (creating it if missing) <dir>/notify.db and starts the sender, which
 * first sends what a previous run left in the outbox. Returns the outbox, or NULL with errno
 * set: EINVAL for a bad parameter (a receiver without a name or URL, two with one name; err
 * says which), EIO or the directory's errno when the database cannot be opened, ENOMEM.
 * err (errlen bytes) gets a one-line reason on failure.
 */
struct notify *notify__open(const struct notify_params *p, char *err, size_t errlen);

/*
 * notify__close - stops the sender (an attempt in flight ends within its timeout) and closes
 * the database. Rows not yet sent stay for the next run. NULL is a no-op.
 */
void notify__close(struct notify *n);

/*
 * notify__enqueue - renders each of the count messages for its receiver's channel and writes
 * them, with state (state_len bytes, saved as the blob named state_name; NULL: none) in one
 * transaction, then wakes the sender. A message whose (receiver, key) is already in the outbox
 * is skipped, so enqueuing again after a restart does not send twice. Returns 0, -ENOENT for
 * an unknown receiver, -EINVAL for a body that is not a v4 object or a bad key, -ENOSPC when
 * the outbox holds max_rows, -EIO when the database write fails; on error nothing is written.
 */
int notify__enqueue(struct notify *n, const struct notify_msg *msgs, size_t count,
		    const char *state_name, const void *state, size_t state_len);

/*
 * notify__state_get - the blob saved as name, malloc'd into *buf (the caller frees it) with
 * its length in *len. Returns 0, -ENOENT when there is none, -EIO or -ENOMEM.
 */
int notify__state_get(struct notify *n, const char *name, void **buf, size_t *len);

/* notify__stats - the counters and the queue's length and oldest row. */
void notify__stats(struct notify *n, struct notify_stats *st);

/*
 * notify__flush - waits until the outbox is empty or timeout_ms passed (for tests and a clean
 * stop). Returns 0 when empty, -ETIMEDOUT otherwise.
 */
int notify__flush(struct notify *n, uint32_t timeout_ms);

/*
 * notify__render - the request body (and for e-mail, the whole message) that channel c sends
 * for a webhook v4 body, malloc'd; key is used as the e-mail's Message-ID, r for its
 * addresses. The json channel takes any JSON object and sends it compacted. Returns NULL with
 * errno EINVAL when body is not a v4 object (json: not an object).
 */
char *notify__render(const struct notify_receiver *r, const char *body, const char *key);

/*
 * notify__sign - "sha256=" and the lowercase hex HMAC-SHA256 of body under secret into out
 * (at least 72 bytes). Returns 0, or -EIO when libcrypto fails.
 */
int notify__sign(const char *secret, const char *body, size_t len, char *out, size_t outlen);

/*
 * notify__backoff_ms - delay before retry number attempt (1 for the first retry): a uniform
 * draw from [d/2, d] with d = min(max_ms, min_ms * 2^(attempt-1)) ("equal jitter", AWS
 * architecture blog, "Exponential Backoff And Jitter", 2015); rnd is a uniform draw in [0,1).
 */
uint32_t notify__backoff_ms(uint32_t min_ms, uint32_t max_ms, uint32_t attempt, double rnd);

/*
 * notify__channel_parse - the channel named s ("webhook", "alertmanager", "slack", "email").
 * Returns it, or -EINVAL.
 */
int notify__channel_parse(const char *s);

#endif
