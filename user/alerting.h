/* SPDX-License-Identifier: MIT */
/*
 * alerting: the alert stage of the tick. Each tick it keeps the snapshot in the window the
 * rules read (values.h), evaluates the rules (alert.h), writes the notifications that are due
 * together with the alerts' state to the outbox (notify.h), which sends them on its own
 * thread, and attaches a view of the alerts and notification counters to the snapshot for
 * /metrics and /api/v1/alerts.
 *
 * Alert state is kept in the outbox's database only when receivers are configured (then a
 * firing alert stays firing across a restart and is not notified again as new); without
 * receivers, alerts are evaluated and shown but not kept.
 *
 * Threads: alerting__tick() runs on the tick's thread; alerting__ack() may be called from any
 * other (the HTTP server's); they exclude each other.
 */
#ifndef SW_ALERTING_H
#define SW_ALERTING_H

#include <stdbool.h>
#include <stddef.h>

#include "alert.h"
#include "notify.h"

struct config;
struct snapshot;
struct alerting;

/* One alert as published. */
struct alert_view_item {
	char id[17]; /* fingerprint */
	char rule[ALERT_NAME_MAX];
	char agent[ALERT_NAME_MAX];
	const char *state; /* "pending", "firing", "resolved" */
	const char *severity; /* "info" ... "emergency" */
	double active; /* unix time the condition became true (startsAt) */
	double ends; /* unix time it resolved; 0 while active */
	double value;
	double threshold;
	bool acked;
	bool silenced;
	bool inhibited;
	char cause[ALERT_CAUSE_MAX];
	char summary[ALERT_TEXT_MAX];
};

/* A labelled count for the exposition. */
struct alert_view_count {
	const char *a; /* state, or channel */
	const char *b; /* severity, or result */
	double n;
};

/* What one tick publishes; immutable once attached. */
struct alert_view {
	double time;
	int n;
	struct alert_view_item *items; /* firing first, then pending, then resolved */
	struct alert_view_count alerts[ALERT_STATES * ALERT_SEVERITIES];
	struct alert_view_count notifications[NOTIFY_CHANNELS * NOTIFY_RESULTS];
	bool outbox; /* receivers are configured: the outbox figures below mean something */
	double queue_length;
	double oldest_age; /* seconds the oldest pending notification has waited; 0 if none */
	double rate_limited; /* alerts left out of notifications by the hourly limit */
	double enqueue_failures;
};

/*
 * alerting__new - the stage for configuration c (which must outlive it). With receivers it
 * opens the outbox in c->store_dir (in memory, with a warning, when that is "" or cannot be
 * used) and
 * restores the alerts' state. Returns NULL with errno set and a one-line reason in err: EINVAL
 * for a rule that names no figure (values__check()), ENOMEM.
 */
struct alerting *alerting__new(const struct config *c, double interval_s, char *err, size_t errlen);

/* alerting__free - stops the sender (unsent notifications stay in the outbox). */
void alerting__free(struct alerting *a);

/*
 * alerting__tick - evaluates the rules on s (not yet published), queues what is due and
 * attaches s->alerts. Returns 0, or -errno when the outbox could not be written (the alerts'
 * state is rolled back, so the same notifications are made again next tick) or memory ran out.
 */
int alerting__tick(struct alerting *a, struct snapshot *s);

/*
 * alerting__notify - the outbox the stage writes to, for other stages' notifications (the cost
 * stage's emergency action); NULL without receivers.
 */
struct notify *alerting__notify(struct alerting *a);

/* alerting__ack - acknowledges alert id (its fingerprint). 0 or -ENOENT. */
int alerting__ack(struct alerting *a, const char *id);

/* alerting__silence_add - adds silence s (alert__silence_add() at the current time). */
int64_t alerting__silence_add(struct alerting *a, const struct alert_silence *s);

/* alerting__silences - the active silences (alert__silences()). */
size_t alerting__silences(struct alerting *a, struct alert_silence *out, size_t cap);

/* alerting__silence_expire - ends silence id now. 0 or -ENOENT. */
int alerting__silence_expire(struct alerting *a, uint64_t id);

/* alerting__view_free - frees a view; NULL is ignored. */
void alerting__view_free(struct alert_view *v);

/*
 * alerting__check - validates c's rules against the figures there are (values__check()).
 * Returns 0, or -EINVAL with "alerts.rules: \"Name\": why" in err.
 */
int alerting__check(const struct config *c, char *err, size_t errlen);

#endif
