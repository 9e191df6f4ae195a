// SPDX-License-Identifier: MIT
/*
 * The outbox's figures: what notify__enqueue() costs the tick, how many notifications per
 * second one sender delivers to a loopback webhook, and how long the outbox takes to empty
 * once a receiver comes back after an outage (default backoff, 1 s doubling to 60 s).
 *   build/bench/outboxbench [NOTIFICATIONS [OUTAGE_SECONDS]]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "notify.h"
#include "../../tests/unit/sink.h"

static const char *body =
	"{\"receiver\":\"hook\",\"status\":\"firing\",\"alerts\":[{\"status\":\"firing\","
	"\"labels\":{\"alertname\":\"AgentErrorRatioHigh\",\"agent\":\"coder\",\"severity\":"
	"\"warning\"},\"annotations\":{\"summary\":\"coder: 9% of requests fail\"},"
	"\"startsAt\":\"2026-11-30T19:00:00Z\",\"endsAt\":\"0001-01-01T00:00:00Z\","
	"\"fingerprint\":\"0123456789abcdef\"}],\"groupLabels\":{},\"commonLabels\":{},"
	"\"commonAnnotations\":{},\"externalURL\":\"http://h\",\"version\":\"4\",\"groupKey\":"
	"\"{}:{}\",\"truncatedAlerts\":0}";

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static struct notify *open_outbox(const char *dir, int port)
{
	struct notify_params p;
	char err[256];
	struct notify *n;

	notify__params_default(&p);
	p.dir = dir;
	p.nreceivers = 1;
	snprintf(p.receivers[0].name, sizeof(p.receivers[0].name), "hook");
	snprintf(p.receivers[0].url, sizeof(p.receivers[0].url), "http://127.0.0.1:%d/", port);
	n = notify__open(&p, err, sizeof(err));
	if (!n) {
		fprintf(stderr, "%s\n", err);
		exit(1);
	}
	return n;
}

/* Enqueues count notifications, 10 per call as a tick would; returns seconds per call. */
static double fill(struct notify *n, const char *prefix, int count)
{
	struct notify_msg m[10];
	char keys[10][64];
	double t0 = now_s();
	int i, j, calls = 0;

	for (i = 0; i < count; i += 10, calls++) {
		for (j = 0; j < 10; j++) {
			snprintf(keys[j], sizeof(keys[j]), "%s-%d", prefix, i + j);
			m[j] = (struct notify_msg){"hook", keys[j], body};
		}
		if (notify__enqueue(n, m, 10, "alerts", "{}", 2)) {
			fprintf(stderr, "enqueue failed\n");
			exit(1);
		}
	}
	return (now_s() - t0) / calls;
}

int main(int argc, char **argv)
{
	int count = argc > 1 ? atoi(argv[1]) : 2000, outage = argc > 2 ? atoi(argv[2]) : 120;
	char dir[] = "/tmp/sw-outboxbench-XXXXXX", cmd[128];
	struct notify_stats st;
	struct sink k;
	struct notify *n;
	double per_call, t0, t1;
	int port;

	if (!mkdtemp(dir) || sink_start(&k, false))
		return 1;
	port = k.port;
	n = open_outbox(dir, port);
	per_call = fill(n, "a", count);
	t0 = now_s();
	if (notify__flush(n, 600000))
		return 1;
	t1 = now_s();
	notify__stats(n, &st);
	printf("enqueue: %.0f us per call of 10 notifications (one SQLite transaction)\n",
	       per_call * 1e6);
	printf("delivery: %d notifications in %.2f s, %.0f per second (%llu sent)\n", count,
	       t1 - t0, count / (t1 - t0),
	       (unsigned long long)st.total[NOTIFY_WEBHOOK][NOTIFY_SENT]);
	notify__close(n);
	sink_stop(&k);

	/* The receiver is down for `outage` seconds while the notifications pile up. */
	n = open_outbox(dir, port);
	fill(n, "b", count);
	printf("outage: %d s with %d notifications queued...\n", outage, count);
	fflush(stdout);
	sleep((unsigned)outage);
	if (sink_start_on(&k, false, port))
		return 1;
	t0 = now_s();
	if (notify__flush(n, 600000))
		return 1;
	t1 = now_s();
	notify__stats(n, &st);
	printf("recovery: queue empty %.2f s after the receiver came back (%llu attempts retried "
	       "during the outage)\n",
	       t1 - t0, (unsigned long long)st.total[NOTIFY_WEBHOOK][NOTIFY_RETRIED]);
	notify__close(n);
	sink_stop(&k);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) ? 1 : 0;
}
