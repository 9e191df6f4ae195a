// SPDX-License-Identifier: MIT
/*
 * The outbox against real receivers on loopback: retries with the same idempotency key,
 * rejects dropped and counted, Retry-After honoured, rows kept across a restart, order per
 * receiver, signatures, and each channel's payload (webhook v4, Alertmanager, Slack, SMTP).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "notify.h"
#include "sink.h"

static const char *V4 =
	"{\"receiver\":\"hook\",\"status\":\"firing\",\"alerts\":[{\"status\":\"firing\","
	"\"labels\":{\"alertname\":\"AgentErrorRatioHigh\",\"agent\":\"coder\",\"severity\":"
	"\"warning\"},\"annotations\":{\"summary\":\"coder error ratio 9% > 5%\"},"
	"\"startsAt\":\"2026-11-30T19:00:00Z\",\"endsAt\":\"0001-01-01T00:00:00Z\","
	"\"generatorURL\":\"http://127.0.0.1:9435/api/v1/alerts\",\"fingerprint\":"
	"\"0123456789abcdef\"}],\"groupLabels\":{\"agent\":\"coder\",\"alertname\":"
	"\"AgentErrorRatioHigh\"},\"commonLabels\":{},\"commonAnnotations\":{},\"externalURL\":"
	"\"http://127.0.0.1:9435\",\"version\":\"4\",\"groupKey\":\"{}:{agent=\\\"coder\\\"}\","
	"\"truncatedAlerts\":0}";

static char dir[64];

static void add(struct notify_params *p, const char *name, enum notify_channel c, int port,
		const char *secret)
{
	struct notify_receiver *r = &p->receivers[p->nreceivers++];

	snprintf(r->name, sizeof(r->name), "%s", name);
	r->channel = c;
	if (c == NOTIFY_EMAIL) {
		snprintf(r->url, sizeof(r->url), "smtp://127.0.0.1:%d", port);
		snprintf(r->mail_from, sizeof(r->mail_from), "swarmwatch@localhost");
		snprintf(r->mail_to, sizeof(r->mail_to), "ops@localhost, oncall@localhost");
	} else {
		snprintf(r->url, sizeof(r->url), "http://127.0.0.1:%d/hook", port);
	}
	snprintf(r->secret, sizeof(r->secret), "%s", secret ? secret : "");
	r->timeout_ms = 3000;
}

static struct notify *open_with(struct notify_params *p)
{
	char err[256];
	struct notify *n;

	p->dir = dir;
	p->backoff_min_ms = 20;
	p->backoff_max_ms = 100;
	n = notify__open(p, err, sizeof(err));
	if (!n)
		fail_msg("%s", err);
	return n;
}

static int setup(void **s)
{
	(void)s;
	snprintf(dir, sizeof(dir), "/tmp/sw-notify-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **s)
{
	char cmd[128];

	(void)s;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_sign_rfc4231(void **s)
{
	char out[80];

	(void)s;
	/* RFC 4231 test case 2. */
	assert_int_equal(notify__sign("Jefe", "what do ya want for nothing?", 28, out, sizeof(out)),
			 0);
	assert_string_equal(out, "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b9"
				 "64ec3843");
	assert_int_equal(notify__sign("k", "b", 1, out, 10), -ENOSPC);
}

static void test_backoff(void **s)
{
	uint32_t a;

	(void)s;
	assert_int_equal(notify__backoff_ms(1000, 60000, 1, 0), 500);
	assert_int_equal(notify__backoff_ms(1000, 60000, 1, 0.999999), 999);
	assert_int_equal(notify__backoff_ms(1000, 60000, 3, 0), 2000);
	for (a = 1; a < 100; a++) {
		uint32_t d = notify__backoff_ms(1000, 60000, a, 0.5);

		assert_true(d >= 500 && d <= 60000);
	}
	assert_int_equal(notify__backoff_ms(1000, 60000, 40, 0), 30000); /* capped, then halved */
	assert_int_equal(notify__backoff_ms(1000, 60000, 40, 2), 59999); /* rnd clamped */
}

static void test_render(void **s)
{
	struct notify_receiver r = {.channel = NOTIFY_ALERTMANAGER};
	json_t *v, *a;
	char *out;

	(void)s;
	out = notify__render(&r, V4, "k1");
	assert_non_null(out);
	v = json_loads(out, 0, NULL);
	assert_true(json_is_array(v));
	a = json_array_get(v, 0);
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(a, "labels"), "agent")), "coder");
	assert_null(json_object_get(a, "endsAt")); /* firing: no end sent, AM extends it */
	assert_null(json_object_get(a, "status"));
	json_decref(v);
	free(out);

	r.channel = NOTIFY_SLACK;
	out = notify__render(&r, V4, "k1");
	v = json_loads(out, 0, NULL);
	assert_non_null(strstr(json_string_value(json_object_get(v, "text")),
			       "[FIRING:1] AgentErrorRatioHigh agent=coder"));
	assert_non_null(strstr(json_string_value(json_object_get(v, "text")), "error ratio 9%"));
	json_decref(v);
	free(out);

	r.channel = NOTIFY_WEBHOOK;
	out = notify__render(&r, V4, "k1");
	v = json_loads(out, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(v, "version")), "4");
	json_decref(v);
	free(out);

	errno = 0;
	assert_null(notify__render(&r, "[1,2]", "k"));
	assert_int_equal(errno, EINVAL);
	assert_null(notify__render(&r, "{\"alerts\":", "k"));
}

/* 500, 503, then 200: three attempts with one key and a valid signature, one delivery. */
static void test_retry_until_sent(void **s)
{
	struct notify_params p;
	struct notify_stats st;
	struct notify_msg m = {"hook", "g1.firing.1", V4};
	char k0[128], k2[128], sig[128], want[80];
	struct sink k;
	struct notify *n;

	(void)s;
	assert_int_equal(sink_start(&k, false), 0);
	k.script[0] = 500;
	k.script[1] = 503;
	k.nscript = 2;
	notify__params_default(&p);
	add(&p, "hook", NOTIFY_WEBHOOK, k.port, "s3cret");
	n = open_with(&p);
	assert_int_equal(notify__enqueue(n, &m, 1, NULL, NULL, 0), 0);
	assert_int_equal(notify__flush(n, 10000), 0);
	assert_int_equal(sink_wait(&k, 3), 3);
	sink_header(&k, 0, "X-Idempotency-Key", k0, sizeof(k0));
	sink_header(&k, 2, "X-Idempotency-Key", k2, sizeof(k2));
	assert_string_equal(k0, "g1.firing.1");
	assert_string_equal(k2, k0);
	sink_header(&k, 2, "X-Swarmwatch-Signature", sig, sizeof(sig));
	notify__sign("s3cret", k.req[2].body, strlen(k.req[2].body), want, sizeof(want));
	assert_string_equal(sig, want);
	notify__stats(n, &st);
	assert_int_equal(st.total[NOTIFY_WEBHOOK][NOTIFY_RETRIED], 2);
	assert_int_equal(st.total[NOTIFY_WEBHOOK][NOTIFY_SENT], 1);
	assert_int_equal(st.queued, 0);
	notify__close(n);
	usleep(100000);
	assert_int_equal(k.n, 3); /* nothing after success */
	sink_stop(&k);
}

static void test_reject_not_retried(void **s)
{
	struct notify_params p;
	struct notify_stats st;
	struct notify_msg m = {"hook", "g1.firing.2", V4};
	struct sink k;
	struct notify *n;

	(void)s;
	assert_int_equal(sink_start(&k, false), 0);
	k.script[0] = 400;
	k.nscript = 1;
	notify__params_default(&p);
	add(&p, "hook", NOTIFY_WEBHOOK, k.port, NULL);
	n = open_with(&p);
	assert_int_equal(notify__enqueue(n, &m, 1, NULL, NULL, 0), 0);
	assert_int_equal(notify__flush(n, 10000), 0);
	usleep(200000);
	notify__stats(n, &st);
	assert_int_equal(st.total[NOTIFY_WEBHOOK][NOTIFY_REJECTED], 1);
	assert_int_equal(st.total[NOTIFY_WEBHOOK][NOTIFY_SENT], 0);
	assert_int_equal(k.n, 1);
	notify__close(n);
	sink_stop(&k);
}

/* A 429 with Retry-After: 1 waits that second, though the backoff alone is 20 ms. */
static void test_retry_after(void **s)
{
	struct notify_params p;
	struct notify_msg m = {"hook", "g1.firing.3", V4};
	struct sink k;
	struct notify *n;

	(void)s;
	assert_int_equal(sink_start(&k, false), 0);
	k.script[0] = 429;
	k.nscript = 1;
	k.extra = "Retry-After: 1\r\n";
	notify__params_default(&p);
	add(&p, "hook", NOTIFY_WEBHOOK, k.port, NULL);
	n = open_with(&p);
	assert_int_equal(notify__enqueue(n, &m, 1, NULL, NULL, 0), 0);
	assert_int_equal(notify__flush(n, 10000), 0);
	assert_int_equal(sink_wait(&k, 2), 2);
	assert_true(k.req[1].at_ms - k.req[0].at_ms >= 900);
	notify__close(n);
	sink_stop(&k);
}

/*
 * Receiver down: the rows wait in notify.db; a second enqueue of the same key is not a second
 * row; after a restart with the receiver up, both notifications arrive once, in order, and the
 * state blob written with them is there.
 */
static void test_durable_across_restart(void **s)
{
	struct notify_msg m[2] = {{"hook", "g2.firing.1", V4}, {"hook", "g2.resolved.1", V4}};
	struct notify_params p;
	struct notify_stats st;
	char key[128];
	struct sink k;
	struct notify *n;
	void *blob;
	size_t len;

	(void)s;
	assert_int_equal(sink_start(&k, false), 0);
	notify__params_default(&p);
	add(&p, "hook", NOTIFY_WEBHOOK, 1, NULL); /* port 1: connection refused */
	n = open_with(&p);
	assert_int_equal(notify__enqueue(n, m, 2, "alerts", "{\"v\":1}", 7), 0);
	assert_int_equal(notify__enqueue(n, m, 1, NULL, NULL, 0), 0);
	assert_int_equal(notify__flush(n, 300), -ETIMEDOUT);
	notify__stats(n, &st);
	assert_int_equal(st.queued, 2);
	assert_true(st.oldest_ms > 0);
	assert_true(st.total[NOTIFY_WEBHOOK][NOTIFY_RETRIED] >= 1);
	notify__close(n);

	p.receivers[0].url[0] = 0;
	snprintf(p.receivers[0].url, sizeof(p.receivers[0].url), "http://127.0.0.1:%d/", k.port);
	n = open_with(&p);
	assert_int_equal(notify__state_get(n, "alerts", &blob, &len), 0);
	assert_int_equal(len, 7);
	assert_memory_equal(blob, "{\"v\":1}", 7);
	free(blob);
	assert_int_equal(notify__state_get(n, "nothing", &blob, &len), -ENOENT);
	assert_int_equal(notify__flush(n, 10000), 0);
	assert_int_equal(sink_wait(&k, 2), 2);
	assert_string_equal(sink_header(&k, 0, "X-Idempotency-Key", key, sizeof(key)),
			    "g2.firing.1");
	assert_string_equal(sink_header(&k, 1, "X-Idempotency-Key", key, sizeof(key)),
			    "g2.resolved.1");
	notify__close(n);
	assert_int_equal(k.n, 2);
	sink_stop(&k);
}

static void test_bad_input(void **s)
{
	struct notify_params p;
	struct notify_msg m = {"nobody", "k", V4};
	struct notify *n;
	char err[256];

	(void)s;
	notify__params_default(&p);
	add(&p, "hook", NOTIFY_WEBHOOK, 1, NULL);
	add(&p, "hook", NOTIFY_SLACK, 1, NULL);
	p.dir = dir;
	assert_null(notify__open(&p, err, sizeof(err)));
	assert_int_equal(errno, EINVAL);
	assert_non_null(strstr(err, "two receivers are named \"hook\""));
	p.nreceivers = 1;
	n = open_with(&p);
	assert_int_equal(notify__enqueue(n, &m, 1, NULL, NULL, 0), -ENOENT);
	m.receiver = "hook";
	m.key = "bad key";
	assert_int_equal(notify__enqueue(n, &m, 1, NULL, NULL, 0), -EINVAL);
	m.key = "ok";
	m.body = "not json";
	assert_int_equal(notify__enqueue(n, &m, 1, NULL, NULL, 0), -EINVAL);
	notify__close(n);
	assert_int_equal(notify__channel_parse("slack"), NOTIFY_SLACK);
	assert_int_equal(notify__channel_parse("pager"), -EINVAL);
}

static void test_channels_on_loopback(void **s)
{
	struct notify_msg m[3] = {{"am", "a.1", V4}, {"slack", "s.1", V4}, {"mail", "m.1", V4}};
	struct sink am, sl, mail;
	struct notify_params p;
	struct notify_stats st;
	struct notify *n;
	json_t *v;

	(void)s;
	assert_int_equal(sink_start(&am, false), 0);
	assert_int_equal(sink_start(&sl, false), 0);
	assert_int_equal(sink_start(&mail, true), 0);
	notify__params_default(&p);
	add(&p, "am", NOTIFY_ALERTMANAGER, am.port, NULL);
	snprintf(p.receivers[0].url, sizeof(p.receivers[0].url), "http://127.0.0.1:%d/", am.port);
	add(&p, "slack", NOTIFY_SLACK, sl.port, NULL);
	add(&p, "mail", NOTIFY_EMAIL, mail.port, NULL);
	n = open_with(&p);
	assert_int_equal(notify__enqueue(n, m, 3, NULL, NULL, 0), 0);
	assert_int_equal(notify__flush(n, 10000), 0);
	assert_int_equal(sink_wait(&am, 1), 1);
	assert_int_equal(sink_wait(&sl, 1), 1);
	assert_int_equal(sink_wait(&mail, 1), 1);
	assert_non_null(strstr(am.req[0].head, "POST /api/v2/alerts HTTP/1.1"));
	v = json_loads(am.req[0].body, 0, NULL);
	assert_true(json_is_array(v));
	json_decref(v);
	v = json_loads(sl.req[0].body, 0, NULL);
	assert_true(json_is_string(json_object_get(v, "text")));
	json_decref(v);
	assert_non_null(strstr(mail.req[0].body, "Subject: [FIRING:1] AgentErrorRatioHigh"));
	assert_non_null(strstr(mail.req[0].body, "Message-ID: <m.1@swarmwatch>"));
	notify__stats(n, &st);
	assert_int_equal(st.total[NOTIFY_ALERTMANAGER][NOTIFY_SENT], 1);
	assert_int_equal(st.total[NOTIFY_SLACK][NOTIFY_SENT], 1);
	assert_int_equal(st.total[NOTIFY_EMAIL][NOTIFY_SENT], 1);
	notify__close(n);
	sink_stop(&am);
	sink_stop(&sl);
	sink_stop(&mail);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sign_rfc4231),
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_render),
		cmocka_unit_test_setup_teardown(test_retry_until_sent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reject_not_retried, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retry_after, setup, teardown),
		cmocka_unit_test_setup_teardown(test_durable_across_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
		cmocka_unit_test_setup_teardown(test_channels_on_loopback, setup, teardown),
	};

	return cmocka_run_group_tests_name("notify", tests, NULL, NULL);
}
