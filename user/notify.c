// SPDX-License-Identifier: MIT
/* notify: durable outbox in SQLite, rendered per channel, sent by one thread with libcurl. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sqlite3.h>

#include "log.h"
#include "notify.h"

#ifndef SW_VERSION
#define SW_VERSION "dev"
#endif

const char *const notify_channel_names[NOTIFY_CHANNELS] = {"webhook", "alertmanager", "slack",
							   "email", "json"};
const char *const notify_result_names[NOTIFY_RESULTS] = {"sent", "retried", "rejected"};

/* Longest wait honoured from a Retry-After header, ms (a receiver asking for more is capped). */
#define RETRY_AFTER_MAX_MS (3600 * 1000)
/* Bytes of a rejected answer kept for the log line. */
#define ANSWER_MAX 200

struct notify {
	struct notify_params p;
	sqlite3 *db;
	pthread_mutex_t db_lock; /* the connection; never held across a network call */
	pthread_mutex_t lock; /* stats, stop, cond */
	pthread_cond_t cond; /* new rows or stop */
	pthread_cond_t idle; /* outbox found empty */
	pthread_t thread;
	bool started;
	bool stop;
	bool kick; /* rows were added since the sender last looked */
	struct notify_stats st;
	unsigned int seed; /* jitter */
};

/* One row the sender works on. */
struct row {
	int64_t id;
	int ri; /* receiver index */
	int64_t attempts;
	char key[NOTIFY_KEY_MAX];
	char *body;
	size_t len;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void notify__params_default(struct notify_params *p)
{
	memset(p, 0, sizeof(*p));
	p->timeout_ms = 10000;
	p->backoff_min_ms = 1000;
	p->backoff_max_ms = 60000;
	p->max_rows = 100000;
	p->user_agent = "swarmwatch/" SW_VERSION;
}

int notify__channel_parse(const char *s)
{
	int i;

	for (i = 0; i < NOTIFY_CHANNELS; i++)
		if (!strcmp(s, notify_channel_names[i]))
			return i;
	return -EINVAL;
}

uint32_t notify__backoff_ms(uint32_t min_ms, uint32_t max_ms, uint32_t attempt, double rnd)
{
	double d = min_ms;
	uint32_t i;

	for (i = 1; i < attempt && d < max_ms; i++)
		d *= 2;
	if (d > max_ms)
		d = max_ms;
	if (rnd < 0)
		rnd = 0;
	if (rnd >= 1)
		rnd = 0.999999;
	return (uint32_t)(d / 2 + rnd * (d / 2));
}

int notify__sign(const char *secret, const char *body, size_t len, char *out, size_t outlen)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;

	if (outlen < 8 + 2 * 32)
		return -ENOSPC;
	if (!HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)body, len, md,
		  &mdlen) ||
	    mdlen != 32)
		return -EIO;
	strcpy(out, "sha256=");
	for (i = 0; i < mdlen; i++)
		sprintf(out + 7 + 2 * i, "%02x", md[i]);
	return 0;
}

static bool key_ok(const char *k)
{
	size_t n = strlen(k), i;

	if (!n || n >= NOTIFY_KEY_MAX)
		return false;
	for (i = 0; i < n; i++) {
		char c = k[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-' || c == ':'))
			return false;
	}
	return true;
}

static const char *jstr(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "";
}

/* True for Go's zero time, which webhook v4 uses as "no end yet". */
static bool zero_time(const char *s)
{
	return !*s || !strncmp(s, "0001-01-01", 10);
}

/* "[FIRING:2] AgentErrorRatioHigh agent=coder" from the v4 body. */
static void title(json_t *v4, char *buf, size_t len)
{
	json_t *alerts = json_object_get(v4, "alerts"), *a,
	       *gl = json_object_get(v4, "groupLabels");
	size_t i, firing = 0, off;
	const char *k;
	json_t *v;

	json_array_foreach (alerts, i, a)
		if (!strcmp(jstr(a, "status"), "firing"))
			firing++;
	if (firing)
		off = snprintf(buf, len, "[FIRING:%zu]", firing);
	else
		off = snprintf(buf, len, "[RESOLVED]");
	json_object_foreach (gl, k, v) {
		if (off >= len)
			break;
		if (!strcmp(k, "alertname"))
			off += snprintf(buf + off, len - off, " %s", json_string_value(v) ?: "");
	}
	json_object_foreach (gl, k, v) {
		if (off >= len)
			break;
		if (strcmp(k, "alertname"))
			off += snprintf(buf + off, len - off, " %s=%s", k,
					json_string_value(v) ?: "");
	}
}

/* One line per alert: "- firing coder (critical): summary, likely cause ..." */
static char *text_lines(json_t *v4, const char *nl)
{
	json_t *alerts = json_object_get(v4, "alerts"), *a;
	char *out = NULL;
	size_t cap = 0, i;
	FILE *f = open_memstream(&out, &cap);

	if (!f)
		return NULL;
	json_array_foreach (alerts, i, a) {
		json_t *l = json_object_get(a, "labels"), *an = json_object_get(a, "annotations");
		const char *sum = jstr(an, "summary"), *desc = jstr(an, "description");

		fprintf(f, "- %s %s", jstr(a, "status"), jstr(l, "alertname"));
		if (*jstr(l, "agent"))
			fprintf(f, " agent=%s", jstr(l, "agent"));
		if (*jstr(l, "severity"))
			fprintf(f, " (%s)", jstr(l, "severity"));
		if (*sum)
			fprintf(f, ": %s", sum);
		if (*desc)
			fprintf(f, "%s  %s", nl, desc);
		fprintf(f, "%s  since %s", nl, jstr(a, "startsAt"));
		if (!zero_time(jstr(a, "endsAt")) && !strcmp(jstr(a, "status"), "resolved"))
			fprintf(f, ", ended %s", jstr(a, "endsAt"));
		fprintf(f, "%s", nl);
	}
	fclose(f);
	return out;
}

static char *render_am(json_t *v4)
{
	json_t *arr = json_array(), *alerts = json_object_get(v4, "alerts"), *a;
	char *out;
	size_t i;

	if (!arr)
		return NULL;
	json_array_foreach (alerts, i, a) {
		json_t *o = json_object();

		if (!o)
			break;
		json_object_set(o, "labels", json_object_get(a, "labels"));
		if (json_object_get(a, "annotations"))
			json_object_set(o, "annotations", json_object_get(a, "annotations"));
		else
			json_object_set_new(o, "annotations", json_object());
		json_object_set_new(o, "startsAt", json_string(jstr(a, "startsAt")));
		if (!zero_time(jstr(a, "endsAt")))
			json_object_set_new(o, "endsAt", json_string(jstr(a, "endsAt")));
		if (*jstr(a, "generatorURL"))
			json_object_set_new(o, "generatorURL",
					    json_string(jstr(a, "generatorURL")));
		json_array_append_new(arr, o);
	}
	out = json_dumps(arr, JSON_COMPACT);
	json_decref(arr);
	return out;
}

static char *render_slack(json_t *v4)
{
	char t[512], *lines = text_lines(v4, "\n"), *out = NULL;
	json_t *o;

	if (!lines)
		return NULL;
	title(v4, t, sizeof(t));
	o = json_object();
	if (o) {
		char *text;

		if (asprintf(&text, "*%s*\n%s", t, lines) >= 0) {
			json_object_set_new(o, "text", json_string(text));
			free(text);
			out = json_dumps(o, JSON_COMPACT);
		}
		json_decref(o);
	}
	free(lines);
	return out;
}

static char *render_email(const struct notify_receiver *r, json_t *v4, const char *key)
{
	char t[512], date[64], *lines = text_lines(v4, "\r\n"), *out = NULL;
	time_t now = time(NULL);
	struct tm tm;

	if (!lines)
		return NULL;
	title(v4, t, sizeof(t));
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	if (asprintf(&out,
		     "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <%s@swarmwatch>\r\n"
		     "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s",
		     r->mail_from, r->mail_to, t, date, key, lines) < 0)
		out = NULL;
	free(lines);
	return out;
}

char *notify__render(const struct notify_receiver *r, const char *body, const char *key)
{
	json_t *v4 = json_loads(body, 0, NULL);
	char *out = NULL;

	if (!v4 || !json_is_object(v4) ||
	    (r->channel != NOTIFY_JSON && !json_is_array(json_object_get(v4, "alerts")))) {
		json_decref(v4);
		errno = EINVAL;
		return NULL;
	}
	switch (r->channel) {
	case NOTIFY_WEBHOOK:
	case NOTIFY_JSON:
		out = json_dumps(v4, JSON_COMPACT | JSON_PRESERVE_ORDER);
		break;
	case NOTIFY_ALERTMANAGER:
		out = render_am(v4);
		break;
	case NOTIFY_SLACK:
		out = render_slack(v4);
		break;
	case NOTIFY_EMAIL:
		out = render_email(r, v4, key);
		break;
	default:
		break;
	}
	json_decref(v4);
	if (!out)
		errno = ENOMEM;
	return out;
}

static int find_receiver(const struct notify *n, const char *name)
{
	uint32_t i;

	for (i = 0; i < n->p.nreceivers; i++)
		if (!strcmp(n->p.receivers[i].name, name))
			return (int)i;
	return -1;
}

static int exec_sql(struct notify *n, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(n->db, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK) {
		pr_err("notify: %s: %s", sql, msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return -EIO;
	}
	return 0;
}

/* Refreshes the queue length and oldest row; db_lock held. */
static void refresh_queue(struct notify *n)
{
	sqlite3_stmt *st = NULL;
	uint64_t count = 0;
	int64_t oldest = 0;

	if (sqlite3_prepare_v2(n->db, "SELECT count(*), coalesce(min(created_ms), 0) FROM outbox",
			       -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW) {
		count = (uint64_t)sqlite3_column_int64(st, 0);
		oldest = sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	pthread_mutex_lock(&n->lock);
	n->st.queued = count;
	n->st.oldest_ms = oldest;
	if (!count)
		pthread_cond_broadcast(&n->idle);
	pthread_mutex_unlock(&n->lock);
}

int notify__enqueue(struct notify *n, const struct notify_msg *msgs, size_t count,
		    const char *state_name, const void *state, size_t state_len)
{
	sqlite3_stmt *ins = NULL, *put = NULL, *cnt = NULL;
	int64_t t = now_ms(), rows = 0;
	char **bodies;
	size_t i;
	int err = 0;

	bodies = calloc(count + 1, sizeof(*bodies));
	if (!bodies)
		return -ENOMEM;
	for (i = 0; i < count; i++) {
		int ri = find_receiver(n, msgs[i].receiver);

		if (ri < 0) {
			pr_warn("notify: no receiver named \"%s\"; add it under \"receivers\"",
				msgs[i].receiver);
			err = -ENOENT;
			goto out_free;
		}
		if (!key_ok(msgs[i].key)) {
			err = -EINVAL;
			goto out_free;
		}
		bodies[i] = notify__render(&n->p.receivers[ri], msgs[i].body, msgs[i].key);
		if (!bodies[i]) {
			err = -errno;
			goto out_free;
		}
	}
	pthread_mutex_lock(&n->db_lock);
	if (exec_sql(n, "BEGIN IMMEDIATE")) {
		err = -EIO;
		goto out_unlock;
	}
	if (count) {
		if (sqlite3_prepare_v2(n->db, "SELECT count(*) FROM outbox", -1, &cnt, NULL) ||
		    sqlite3_step(cnt) != SQLITE_ROW) {
			err = -EIO;
			goto out_rollback;
		}
		rows = sqlite3_column_int64(cnt, 0);
		if (rows + (int64_t)count > (int64_t)n->p.max_rows) {
			pr_warn("notify: outbox full (%" PRId64 " rows); a receiver has been down "
				"long: check it, or raise max_rows",
				rows);
			err = -ENOSPC;
			goto out_rollback;
		}
		if (sqlite3_prepare_v2(
			    n->db,
			    "INSERT OR IGNORE INTO outbox(receiver, key, body, created_ms, "
			    "next_ms, attempts) VALUES (?, ?, ?, ?, ?, 0)",
			    -1, &ins, NULL)) {
			err = -EIO;
			goto out_rollback;
		}
	}
	for (i = 0; i < count; i++) {
		sqlite3_reset(ins);
		sqlite3_bind_text(ins, 1, msgs[i].receiver, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 2, msgs[i].key, -1, SQLITE_STATIC);
		sqlite3_bind_blob(ins, 3, bodies[i], (int)strlen(bodies[i]), SQLITE_STATIC);
		sqlite3_bind_int64(ins, 4, t);
		sqlite3_bind_int64(ins, 5, t);
		if (sqlite3_step(ins) != SQLITE_DONE) {
			err = -EIO;
			goto out_rollback;
		}
	}
	if (state_name) {
		if (sqlite3_prepare_v2(n->db,
				       "INSERT OR REPLACE INTO state(name, body) VALUES (?, ?)", -1,
				       &put, NULL)) {
			err = -EIO;
			goto out_rollback;
		}
		sqlite3_bind_text(put, 1, state_name, -1, SQLITE_STATIC);
		sqlite3_bind_blob(put, 2, state ? state : "", (int)state_len, SQLITE_STATIC);
		if (sqlite3_step(put) != SQLITE_DONE) {
			err = -EIO;
			goto out_rollback;
		}
	}
	if (exec_sql(n, "COMMIT"))
		err = -EIO;
	else
		goto out_done;
out_rollback:
	if (err == -EIO)
		pr_err("notify: cannot write the outbox in %s: %s; check the state directory",
		       sqlite3_db_filename(n->db, "main") ?: "memory", sqlite3_errmsg(n->db));
	sqlite3_exec(n->db, "ROLLBACK", NULL, NULL, NULL);
out_done:
	sqlite3_finalize(cnt);
	sqlite3_finalize(ins);
	sqlite3_finalize(put);
	if (!err)
		refresh_queue(n);
out_unlock:
	pthread_mutex_unlock(&n->db_lock);
out_free:
	for (i = 0; i < count; i++)
		free(bodies[i]);
	free(bodies);
	pthread_mutex_lock(&n->lock);
	if (err)
		n->st.enqueue_errors++;
	else if (count)
		n->kick = true;
	pthread_cond_signal(&n->cond);
	pthread_mutex_unlock(&n->lock);
	return err;
}

int notify__state_get(struct notify *n, const char *name, void **buf, size_t *len)
{
	sqlite3_stmt *st = NULL;
	int err = -ENOENT, rc;

	pthread_mutex_lock(&n->db_lock);
	if (sqlite3_prepare_v2(n->db, "SELECT body FROM state WHERE name = ?", -1, &st, NULL)) {
		err = -EIO;
		goto out;
	}
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		int l = sqlite3_column_bytes(st, 0);

		*buf = malloc((size_t)l + 1);
		if (!*buf) {
			err = -ENOMEM;
			goto out;
		}
		if (l)
			memcpy(*buf, sqlite3_column_blob(st, 0), (size_t)l);
		((char *)*buf)[l] = 0;
		*len = (size_t)l;
		err = 0;
	} else if (rc != SQLITE_DONE) {
		err = -EIO;
	}
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&n->db_lock);
	return err;
}

void notify__stats(struct notify *n, struct notify_stats *st)
{
	pthread_mutex_lock(&n->lock);
	*st = n->st;
	pthread_mutex_unlock(&n->lock);
}

int notify__flush(struct notify *n, uint32_t timeout_ms)
{
	struct timespec dl;
	int err = 0;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += timeout_ms / 1000;
	dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (dl.tv_nsec >= 1000000000) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&n->lock);
	while (n->st.queued && !err)
		if (pthread_cond_timedwait(&n->idle, &n->lock, &dl) == ETIMEDOUT)
			err = -ETIMEDOUT;
	if (!n->st.queued)
		err = 0;
	pthread_mutex_unlock(&n->lock);
	return err;
}

/*
 * Picks the row to send next: the oldest row of each configured receiver, the one due first.
 * Returns 1 with *r filled when one is due now, 0 with *next_ms the earliest due time (0 when
 * the outbox is empty), -EIO. db_lock held.
 */
static int pick(struct notify *n, int64_t now, struct row *r, int64_t *next_ms)
{
	sqlite3_stmt *st = NULL;
	int err = 0, rc;

	*next_ms = 0;
	if (sqlite3_prepare_v2(n->db,
			       "SELECT id, receiver, key, body, next_ms, attempts FROM outbox "
			       "WHERE id IN (SELECT min(id) FROM outbox GROUP BY receiver) "
			       "ORDER BY next_ms",
			       -1, &st, NULL))
		return -EIO;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *rcv = (const char *)sqlite3_column_text(st, 1);
		int64_t due = sqlite3_column_int64(st, 4);
		int ri = find_receiver(n, rcv ? rcv : "");

		if (ri < 0)
			continue; /* not configured in this run: kept for one that has it */
		if (due > now) {
			*next_ms = due;
			break;
		}
		r->id = sqlite3_column_int64(st, 0);
		r->ri = ri;
		snprintf(r->key, sizeof(r->key), "%s", sqlite3_column_text(st, 2));
		r->len = (size_t)sqlite3_column_bytes(st, 3);
		r->body = malloc(r->len + 1);
		if (!r->body) {
			err = -ENOMEM;
			break;
		}
		memcpy(r->body, sqlite3_column_blob(st, 3), r->len);
		r->body[r->len] = 0;
		r->attempts = sqlite3_column_int64(st, 5);
		err = 1;
		break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		err = -EIO;
	sqlite3_finalize(st);
	return err;
}

struct answer {
	char buf[ANSWER_MAX + 1];
	size_t len;
};

static size_t keep_answer(char *p, size_t size, size_t nmemb, void *ctx)
{
	struct answer *a = ctx;
	size_t n = size * nmemb, room = ANSWER_MAX - a->len;

	if (room) {
		if (n < room)
			room = n;
		memcpy(a->buf + a->len, p, room);
		a->len += room;
		a->buf[a->len] = 0;
	}
	return n;
}

struct upload {
	const char *p;
	size_t left;
};

static size_t read_upload(char *buf, size_t size, size_t nmemb, void *ctx)
{
	struct upload *u = ctx;
	size_t n = size * nmemb;

	if (n > u->left)
		n = u->left;
	memcpy(buf, u->p, n);
	u->p += n;
	u->left -= n;
	return n;
}

/*
 * One attempt. Returns the result; *retry_ms is the wait a 429's Retry-After asked for (0:
 * none given). Logs what went wrong.
 */
static enum notify_result attempt(struct notify *n, const struct row *r, int64_t *retry_ms)
{
	const struct notify_receiver *rc = &n->p.receivers[r->ri];
	struct curl_slist *hdr = NULL, *rcpt = NULL;
	enum notify_result res = NOTIFY_RETRIED;
	char line[NOTIFY_KEY_MAX + 160], url[NOTIFY_URL_MAX + 32];
	struct answer ans = {.len = 0};
	struct upload up = {r->body, r->len};
	long code = 0, timeout = rc->timeout_ms ? rc->timeout_ms : n->p.timeout_ms;
	CURLcode cc;
	CURL *c;

	*retry_ms = 0;
	c = curl_easy_init();
	if (!c)
		return NOTIFY_RETRIED;
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, keep_answer);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &ans);
	if (rc->channel == NOTIFY_EMAIL) {
		char *list = strdup(rc->mail_to), *save = NULL, *tok;

		for (tok = list ? strtok_r(list, ", ", &save) : NULL; tok;
		     tok = strtok_r(NULL, ", ", &save))
			rcpt = curl_slist_append(rcpt, tok);
		free(list);
		curl_easy_setopt(c, CURLOPT_URL, rc->url);
		curl_easy_setopt(c, CURLOPT_MAIL_FROM, rc->mail_from);
		curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, read_upload);
		curl_easy_setopt(c, CURLOPT_READDATA, &up);
		curl_easy_setopt(c, CURLOPT_INFILESIZE, (long)r->len);
	} else {
		if (rc->channel == NOTIFY_ALERTMANAGER) {
			int l = (int)strlen(rc->url);

			if (l && rc->url[l - 1] == '/')
				l--;
			snprintf(url, sizeof(url), "%.*s/api/v2/alerts", l, rc->url);
		} else {
			snprintf(url, sizeof(url), "%s", rc->url);
		}
		curl_easy_setopt(c, CURLOPT_URL, url);
		hdr = curl_slist_append(hdr, "Content-Type: application/json");
		snprintf(line, sizeof(line), "X-Idempotency-Key: %s", r->key);
		hdr = curl_slist_append(hdr, line);
		if (rc->secret[0]) {
			char sig[80];

			if (!notify__sign(rc->secret, r->body, r->len, sig, sizeof(sig))) {
				snprintf(line, sizeof(line), "X-Swarmwatch-Signature: %s", sig);
				hdr = curl_slist_append(hdr, line);
			}
		}
		hdr = curl_slist_append(hdr, "Expect:");
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
		curl_easy_setopt(c, CURLOPT_USERAGENT, n->p.user_agent);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, r->body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)r->len);
	}
	cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	if (rc->channel == NOTIFY_EMAIL) {
		/* SMTP: 5xx is permanent, 4xx transient (RFC 5321 §4.2.1). */
		if (cc == CURLE_OK)
			res = NOTIFY_SENT;
		else if (code >= 500 && code < 600)
			res = NOTIFY_REJECTED;
	} else if (cc == CURLE_OK) {
		if (code >= 200 && code < 300) {
			res = NOTIFY_SENT;
		} else if (code == 429) {
			curl_off_t ra = 0;

			if (curl_easy_getinfo(c, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK && ra > 0)
				*retry_ms = ra * 1000 > RETRY_AFTER_MAX_MS ? RETRY_AFTER_MAX_MS
									   : ra * 1000;
		} else if (code < 500 || code > 599) {
			res = NOTIFY_REJECTED;
		}
	}
	if (res == NOTIFY_REJECTED)
		pr_warn("notify: %s \"%s\" refused notification %s with %ld (%s); dropped, since "
			"sending it again would get the same answer: check the receiver's URL and "
			"payload format",
			notify_channel_names[rc->channel], rc->name, r->key, code, ans.buf);
	else if (res == NOTIFY_RETRIED && cc != CURLE_OK &&
		 (!r->attempts || log__enabled(LOG_DEBUG)))
		pr_warn("notify: %s \"%s\" failed: %s; retrying with backoff",
			notify_channel_names[rc->channel], rc->name, curl_easy_strerror(cc));
	else if (res == NOTIFY_RETRIED && (!r->attempts || log__enabled(LOG_DEBUG)))
		pr_warn("notify: %s \"%s\" answered %ld; retrying with backoff",
			notify_channel_names[rc->channel], rc->name, code);
	curl_slist_free_all(hdr);
	curl_slist_free_all(rcpt);
	curl_easy_cleanup(c);
	return res;
}

static void settle(struct notify *n, const struct row *r, enum notify_result res, int64_t wait)
{
	sqlite3_stmt *st = NULL;
	int64_t attempts = r->attempts + 1;

	pthread_mutex_lock(&n->db_lock);
	if (res == NOTIFY_RETRIED) {
		if (!wait)
			wait = notify__backoff_ms(n->p.backoff_min_ms, n->p.backoff_max_ms,
						  (uint32_t)(attempts > 64 ? 64 : attempts),
						  rand_r(&n->seed) / ((double)RAND_MAX + 1));
		if (!sqlite3_prepare_v2(n->db,
					"UPDATE outbox SET attempts = ?, next_ms = ? WHERE id = ?",
					-1, &st, NULL)) {
			sqlite3_bind_int64(st, 1, attempts);
			sqlite3_bind_int64(st, 2, now_ms() + wait);
			sqlite3_bind_int64(st, 3, r->id);
		}
	} else if (!sqlite3_prepare_v2(n->db, "DELETE FROM outbox WHERE id = ?", -1, &st, NULL)) {
		sqlite3_bind_int64(st, 1, r->id);
	}
	if (!st || sqlite3_step(st) != SQLITE_DONE)
		pr_err("notify: cannot update the outbox: %s; the notification may be sent again",
		       sqlite3_errmsg(n->db));
	sqlite3_finalize(st);
	pthread_mutex_lock(&n->lock);
	n->st.total[n->p.receivers[r->ri].channel][res]++;
	pthread_mutex_unlock(&n->lock);
	refresh_queue(n); /* after the count, so a flush that returns sees it */
	pthread_mutex_unlock(&n->db_lock);
}

static void *sender(void *arg)
{
	struct notify *n = arg;

	for (;;) {
		struct row r = {.body = NULL};
		int64_t next = 0, wait_ms;
		struct timespec dl;
		int got;

		pthread_mutex_lock(&n->lock);
		n->kick = false;
		if (n->stop) {
			pthread_mutex_unlock(&n->lock);
			break;
		}
		pthread_mutex_unlock(&n->lock);

		pthread_mutex_lock(&n->db_lock);
		got = pick(n, now_ms(), &r, &next);
		pthread_mutex_unlock(&n->db_lock);
		if (got == 1) {
			int64_t retry = 0;
			enum notify_result res = attempt(n, &r, &retry);

			settle(n, &r, res, retry);
			free(r.body);
			continue;
		}
		/* Nothing due: sleep until the earliest due row, new rows or stop (1 s at most). */
		wait_ms = next ? next - now_ms() : 1000;
		if (wait_ms > 1000 || got < 0)
			wait_ms = 1000;
		if (wait_ms < 1)
			wait_ms = 1;
		clock_gettime(CLOCK_REALTIME, &dl);
		dl.tv_sec += wait_ms / 1000;
		dl.tv_nsec += (wait_ms % 1000) * 1000000;
		if (dl.tv_nsec >= 1000000000) {
			dl.tv_sec++;
			dl.tv_nsec -= 1000000000;
		}
		pthread_mutex_lock(&n->lock);
		if (!n->kick && !n->stop)
			pthread_cond_timedwait(&n->cond, &n->lock, &dl);
		pthread_mutex_unlock(&n->lock);
	}
	return NULL;
}

/* Rows a previous run left for receivers this one does not have: kept, and said so. */
static void warn_orphans(struct notify *n, const char *path)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(n->db, "SELECT receiver, count(*) FROM outbox GROUP BY receiver", -1,
			       &st, NULL))
		return;
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *r = (const char *)sqlite3_column_text(st, 0);

		if (r && find_receiver(n, r) < 0)
			pr_warn("notify: %lld notifications for receiver \"%s\", which is not "
				"configured, stay in %s; configure it again to send them",
				(long long)sqlite3_column_int64(st, 1), r, path);
	}
	sqlite3_finalize(st);
}

static void curl_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

static int check_params(const struct notify_params *p, char *err, size_t errlen)
{
	uint32_t i, j;

	if (p->nreceivers > NOTIFY_RECEIVERS_MAX) {
		snprintf(err, errlen, "notify: %u receivers, at most %d", p->nreceivers,
			 NOTIFY_RECEIVERS_MAX);
		return -EINVAL;
	}
	for (i = 0; i < p->nreceivers; i++) {
		const struct notify_receiver *r = &p->receivers[i];

		if (!r->name[0] || !r->url[0] || (unsigned)r->channel >= NOTIFY_CHANNELS) {
			snprintf(err, errlen,
				 "notify: receiver %u needs a name, a url and a known channel",
				 i + 1);
			return -EINVAL;
		}
		if (r->channel == NOTIFY_EMAIL && (!r->mail_from[0] || !r->mail_to[0])) {
			snprintf(err, errlen, "notify: e-mail receiver \"%s\" needs from and to",
				 r->name);
			return -EINVAL;
		}
		for (j = 0; j < i; j++)
			if (!strcmp(p->receivers[j].name, r->name)) {
				snprintf(err, errlen, "notify: two receivers are named \"%s\"",
					 r->name);
				return -EINVAL;
			}
	}
	if (!p->backoff_min_ms || p->backoff_max_ms < p->backoff_min_ms || !p->max_rows) {
		snprintf(err, errlen, "notify: backoff needs 0 < min <= max and max_rows > 0");
		return -EINVAL;
	}
	return 0;
}

struct notify *notify__open(const struct notify_params *p, char *err, size_t errlen)
{
	static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
	char path[4096];
	struct notify *n;
	int rc, e;

	if (errlen)
		err[0] = 0;
	e = check_params(p, err, errlen);
	if (e) {
		errno = -e;
		return NULL;
	}
	pthread_once(&curl_once, curl_init);
	n = calloc(1, sizeof(*n));
	if (!n) {
		errno = ENOMEM;
		return NULL;
	}
	n->p = *p;
	if (!n->p.timeout_ms)
		n->p.timeout_ms = 10000;
	if (!n->p.user_agent)
		n->p.user_agent = "swarmwatch/" SW_VERSION;
	n->seed = (unsigned int)now_ms() ^ (unsigned int)(uintptr_t)n;
	pthread_mutex_init(&n->db_lock, NULL);
	pthread_mutex_init(&n->lock, NULL);
	pthread_cond_init(&n->cond, NULL);
	pthread_cond_init(&n->idle, NULL);
	if (p->dir) {
		if (mkdir(p->dir, 0700) && errno != EEXIST) {
			e = errno;
			snprintf(err, errlen,
				 "notify: cannot create %s: %s; check the state directory", p->dir,
				 strerror(e));
			goto out_free;
		}
		snprintf(path, sizeof(path), "%s/notify.db", p->dir);
	} else {
		snprintf(path, sizeof(path), ":memory:");
	}
	rc = sqlite3_open_v2(path, &n->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "notify: cannot open %s: %s; check the state directory", path,
			 n->db ? sqlite3_errmsg(n->db) : sqlite3_errstr(rc));
		e = EIO;
		goto out_close;
	}
	sqlite3_busy_timeout(n->db, 5000);
	/* WAL with synchronous=NORMAL: a committed row survives the process being killed. */
	if (exec_sql(n, "PRAGMA journal_mode=WAL") || exec_sql(n, "PRAGMA synchronous=NORMAL") ||
	    exec_sql(n, "CREATE TABLE IF NOT EXISTS outbox(id INTEGER PRIMARY KEY AUTOINCREMENT, "
			"receiver TEXT NOT NULL, key TEXT NOT NULL, body BLOB NOT NULL, "
			"created_ms INTEGER NOT NULL, next_ms INTEGER NOT NULL, "
			"attempts INTEGER NOT NULL, UNIQUE(receiver, key))") ||
	    exec_sql(n, "CREATE INDEX IF NOT EXISTS outbox_head ON outbox(receiver, id)") ||
	    exec_sql(n, "CREATE TABLE IF NOT EXISTS state(name TEXT PRIMARY KEY, body BLOB)")) {
		snprintf(err, errlen, "notify: cannot set up %s: %s; check the state directory",
			 path, sqlite3_errmsg(n->db));
		e = EIO;
		goto out_close;
	}
	refresh_queue(n);
	warn_orphans(n, path);
	rc = pthread_create(&n->thread, NULL, sender, n);
	if (rc) {
		snprintf(err, errlen, "notify: cannot start the sender: %s", strerror(rc));
		e = rc;
		goto out_close;
	}
	n->started = true;
	return n;
out_close:
	sqlite3_close(n->db);
out_free:
	pthread_mutex_destroy(&n->db_lock);
	pthread_mutex_destroy(&n->lock);
	pthread_cond_destroy(&n->cond);
	pthread_cond_destroy(&n->idle);
	free(n);
	errno = e;
	return NULL;
}

void notify__close(struct notify *n)
{
	if (!n)
		return;
	pthread_mutex_lock(&n->lock);
	n->stop = true;
	pthread_cond_broadcast(&n->cond);
	pthread_mutex_unlock(&n->lock);
	if (n->started)
		pthread_join(n->thread, NULL);
	sqlite3_close(n->db);
	pthread_mutex_destroy(&n->db_lock);
	pthread_mutex_destroy(&n->lock);
	pthread_cond_destroy(&n->cond);
	pthread_cond_destroy(&n->idle);
	free(n);
}
