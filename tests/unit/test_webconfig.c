// SPDX-License-Identifier: MIT
/* The web configuration (parsing, errors, credentials, scopes) and the per-client rate limiter. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <crypt.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ratelimit.h"
#include "webconfig.h"

static char dir[64];
static char hash[128]; /* bcrypt of "s3cret", made here by libxcrypt */

static void put(const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int setup(void **state)
{
	char cmd[512], salt[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data cd = {0};

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/sw-webconfig-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	if (!crypt_gensalt_rn("$2b$", 4, NULL, 0, salt, sizeof(salt)))
		return -1;
	snprintf(hash, sizeof(hash), "%s", crypt_rn("s3cret", salt, &cd, sizeof(cd)));
	put("read.token", "0123456789abcdef-read\n");
	put("ack.token", "0123456789abcdef-ack\n");
	put("short.token", "tooshort\n");
	/* Two self-signed pairs: a.crt with a.key, and b.key that belongs to neither. */
	snprintf(cmd, sizeof(cmd),
		 "cd %s && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
		 "-keyout a.key -out a.crt -days 1 -subj /CN=localhost >/dev/null 2>&1 && "
		 "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out b.key "
		 ">/dev/null 2>&1",
		 dir);
	return system(cmd) ? -1 : 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) ? -1 : 0;
}

static int parse(struct web_config *w, const char *text, char *err, size_t len)
{
	return webconfig__parse(w, text, strlen(text), "web.yml", dir, err, len);
}

/* The file must be refused with a message that contains want. */
static void refused(const char *text, const char *want)
{
	struct web_config w;
	char err[512];

	assert_int_not_equal(parse(&w, text, err, sizeof(err)), 0);
	if (!strstr(err, want))
		fail_msg("error \"%s\" does not say \"%s\"", err, want);
	assert_null(strchr(err, '\n'));
	assert_int_equal(strncmp(err, "web config web.yml", 18), 0);
}

static void test_defaults(void **state)
{
	struct web_config w;
	char err[256];

	(void)state;
	assert_int_equal(parse(&w, "", err, sizeof(err)), 0);
	assert_false(webconfig__auth_on(&w));
	assert_null(w.cert_pem);
	assert_true(w.metrics_auth);
	assert_true(w.rate == 50 && w.burst == 100);
	webconfig__free(&w);
}

static void test_full(void **state)
{
	struct web_config w;
	char text[1024], err[256], names[32];

	(void)state;
	snprintf(text, sizeof(text),
		 "tls_server_config:\n"
		 "  cert_file: a.crt\n"
		 "  key_file: a.key\n"
		 "  min_version: TLS13\n"
		 "basic_auth_users:\n"
		 "  alice: %s\n"
		 "bearer_tokens:\n"
		 "  - name: dash\n"
		 "    token_file: read.token\n"
		 "    scopes: [read]\n"
		 "  - token_file: %s/ack.token\n"
		 "    scopes: [read, ack]\n"
		 "  - name: root\n"
		 "    token_sha256: "
		 "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\n"
		 "    scopes: [admin]\n"
		 "metrics_auth: false\n"
		 "rate_limit: {requests_per_second: 2.5, burst: 5}\n",
		 hash, dir);
	assert_int_equal(parse(&w, text, err, sizeof(err)), 0);
	assert_true(webconfig__auth_on(&w));
	assert_non_null(w.cert_pem);
	assert_non_null(strstr(w.key_pem, "PRIVATE KEY"));
	assert_string_equal(w.priorities, "NORMAL:-VERS-ALL:+VERS-TLS1.3");
	assert_int_equal(w.nusers, 1);
	assert_int_equal(w.ntokens, 3);
	assert_string_equal(w.tokens[0].name, "dash");
	assert_string_equal(w.tokens[1].name, "token 2");
	assert_string_equal(webconfig__scope_names(w.tokens[1].scopes, names, sizeof(names)),
			    "read,ack");
	assert_int_equal(w.tokens[2].scopes, WEB_SCOPES_ALL);
	assert_false(w.metrics_auth);
	assert_true(w.rate == 2.5 && w.burst == 5);
	webconfig__free(&w);
}

static void test_errors(void **state)
{
	char text[512];

	(void)state;
	refused("a: [", "web.yml:");
	refused("- 1\n", "must be a YAML mapping");
	refused("basic_auth_user: {}\n", "unknown key \"basic_auth_user\"");
	refused("basic_auth_users:\n  bob: plain\n", "basic_auth_users.bob: not a bcrypt hash");
	refused("basic_auth_users:\n  bob: $2y$10$short\n", "not a bcrypt hash");
	refused("tls_server_config:\n  cert_file: a.crt\n", "needs both cert_file and key_file");
	refused("tls_server_config:\n  cert_file: nope.crt\n  key_file: a.key\n",
		"cert_file " /* the path and why */);
	refused("tls_server_config:\n  cert_file: a.crt\n  key_file: b.key\n",
		"does not belong to the certificate");
	refused("tls_server_config:\n  cert_file: a.key\n  key_file: a.key\n",
		"no PEM certificate");
	refused("tls_server_config:\n  cert_file: a.crt\n  key_file: a.crt\n",
		"no unencrypted PEM private key");
	refused("tls_server_config:\n  cert_file: a.crt\n  key_file: a.key\n"
		"  client_ca_file: ca.crt\n",
		"client_ca_file is not supported");
	refused("tls_server_config:\n  cert_file: a.crt\n  key_file: a.key\n  min_version: SSL3\n",
		"min_version must be TLS10");
	refused("bearer_tokens:\n  - token_file: read.token\n", "scopes must be a list");
	refused("bearer_tokens:\n  - token_file: read.token\n    scopes: [write]\n",
		"\"write\" is not a scope");
	refused("bearer_tokens:\n  - scopes: [read]\n", "needs one of token_file or token_sha256");
	refused("bearer_tokens:\n  - token_file: short.token\n    scopes: [read]\n",
		"at least 16 characters");
	refused("bearer_tokens:\n  - token_sha256: abc\n    scopes: [read]\n", "64 hex digits");
	refused("bearer_tokens:\n  - token_file: read.token\n    scopes: [read]\n"
		"  - token_file: read.token\n    scopes: [ack]\n",
		"the same token");
	refused("bearer_tokens:\n  - token_file: read.token\n    scopes: [read]\n"
		"    tenants: []\n",
		"tenants must be a list of tenant names");
	refused("bearer_tokens:\n  - token_file: read.token\n    scopes: [read]\n"
		"    tenants: a\n",
		"tenants must be a list of tenant names");
	refused("bearer_tokens:\n  - token_file: read.token\n    scopes: [admin]\n"
		"    tenants: [a]\n",
		"cannot have the admin scope");
	refused("bearer_tokens:\n  - token_file: read.token\n    scopes: [read]\n"
		"    tenants: [\"0123456789abcdef0123456789abcdef\"]\n",
		"a name must be 1-31 bytes");
	refused("metrics_auth: maybe\n", "metrics_auth must be true or false");
	refused("rate_limit: {requests_per_second: -1}\n", "requests_per_second must be a number");
	refused("rate_limit: {burst: 0}\n", "burst must be a number from 1");
	refused("http_server_config: {http2: false}\n", "http_server_config is not supported");
	refused("metrics_auth: true\nmetrics_auth: false\n", "given twice");
	snprintf(text, sizeof(text), "basic_auth_users:\n  alice: %s\n  alice: %s\n", hash, hash);
	refused(text, "listed twice");
}

static void test_load_missing(void **state)
{
	struct web_config w;
	char err[256];

	(void)state;
	assert_int_equal(webconfig__load(&w, "/nonexistent/web.yml", err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "web config /nonexistent/web.yml: No such file"));
	webconfig__free(&w);
}

static void test_authorize(void **state)
{
	struct web_config w;
	char text[512], err[256];
	const char *who;
	int i;

	(void)state;
	snprintf(text, sizeof(text),
		 "basic_auth_users:\n  alice: %s\n"
		 "bearer_tokens:\n"
		 "  - {name: dash, token_file: read.token, scopes: [read]}\n"
		 "  - {name: oncall, token_file: ack.token, scopes: [read, ack], "
		 "tenants: [blue, green]}\n",
		 hash);
	assert_int_equal(parse(&w, text, err, sizeof(err)), 0);
	assert_int_equal(w.tokens[0].ntenants, 0);
	assert_int_equal(w.tokens[1].ntenants, 2);
	assert_string_equal(w.tokens[1].tenants[0], "blue");
	assert_string_equal(w.tokens[1].tenants[1], "green");
	/* alice:s3cret, twice: bcrypt, then the cache; the right answer both times. */
	for (i = 0; i < 2; i++) {
		assert_int_equal(webconfig__authorize(&w, "Basic YWxpY2U6czNjcmV0", &who),
				 WEB_SCOPES_ALL);
		assert_string_equal(who, "alice");
	}
	assert_int_equal(w.cache_len, 1);
	/* alice:wrong, bob:s3cret, no colon, bad base64, truncated password. */
	assert_int_equal(webconfig__authorize(&w, "Basic YWxpY2U6d3Jvbmc=", NULL), -EACCES);
	assert_int_equal(webconfig__authorize(&w, "Basic Ym9iOnMzY3JldA==", NULL), -EACCES);
	assert_int_equal(webconfig__authorize(&w, "Basic YWxpY2U=", NULL), -EACCES);
	assert_int_equal(webconfig__authorize(&w, "Basic !!!!", NULL), -EACCES);
	assert_int_equal(webconfig__authorize(&w, "Basic YWxpY2U6czNjcmU=", NULL), -EACCES);
	assert_int_equal(w.cache_len, 1);
	assert_int_equal(webconfig__authorize(&w, "bearer 0123456789abcdef-read", &who),
			 WEB_SCOPE_READ);
	assert_string_equal(who, "dash");
	assert_int_equal(webconfig__authorize(&w, "Bearer 0123456789abcdef-ack", &who),
			 WEB_SCOPE_READ | WEB_SCOPE_ACK);
	assert_string_equal(who, "oncall");
	/* The token that matched comes back, for its tenants; none for a basic-auth user. */
	{
		const struct web_token *tok = (const void *)1;

		assert_int_equal(webconfig__authorize_as(&w, "Bearer 0123456789abcdef-ack", &who,
							 &tok),
				 WEB_SCOPE_READ | WEB_SCOPE_ACK);
		assert_ptr_equal(tok, &w.tokens[1]);
		assert_int_equal(webconfig__authorize_as(&w, "Basic YWxpY2U6czNjcmV0", &who, &tok),
				 WEB_SCOPES_ALL);
		assert_null(tok);
		tok = (const void *)1;
		assert_int_equal(webconfig__authorize_as(&w, "Bearer nope-nope-nope-nope", NULL,
							 &tok),
				 -EACCES);
		assert_null(tok);
	}
	assert_int_equal(webconfig__authorize(&w, "Bearer 0123456789abcdef-rea", NULL), -EACCES);
	assert_int_equal(webconfig__authorize(&w, "Bearer ", NULL), -EACCES);
	assert_int_equal(webconfig__authorize(&w, "Digest x", NULL), -EACCES);
	assert_int_equal(webconfig__authorize(&w, NULL, NULL), -EACCES);
	webconfig__free(&w);
}

static void test_equal(void **state)
{
	unsigned char a[32], b[32];
	int i;

	(void)state;
	memset(a, 7, sizeof(a));
	memcpy(b, a, sizeof(b));
	assert_true(webconfig__equal(a, b, sizeof(a)));
	/* A difference anywhere, first byte to last, is seen. */
	for (i = 0; i < 32; i++) {
		b[i] ^= 0x80;
		assert_false(webconfig__equal(a, b, sizeof(a)));
		b[i] ^= 0x80;
	}
	assert_true(webconfig__equal(a, b, 0));
}

#define S 1000000000ULL

static void test_ratelimit(void **state)
{
	unsigned char x[4] = {127, 0, 0, 1}, y[4] = {127, 0, 0, 2};
	struct ratelimit *rl = ratelimit__new(2, 4, 8);
	unsigned retry = 0;
	__u64 t = 1000 * S;
	int i;

	(void)state;
	assert_non_null(rl);
	assert_null(ratelimit__new(0, 4, 8));
	assert_null(ratelimit__new(1, 0.5, 8));
	/* A burst of 4, then refused with a retry of 1 s (2 per second: 0.5 s, rounded up). */
	for (i = 0; i < 4; i++)
		assert_int_equal(ratelimit__take(rl, x, 4, t, &retry), 0);
	assert_int_equal(ratelimit__take(rl, x, 4, t, &retry), -EAGAIN);
	assert_int_equal(retry, 1);
	/* Another client has its own bucket. */
	assert_int_equal(ratelimit__take(rl, y, 4, t, &retry), 0);
	/* 0.4 s later: 0.8 of a token, still refused; at 0.5 s one token. */
	assert_int_equal(ratelimit__take(rl, x, 4, t + 4 * S / 10, &retry), -EAGAIN);
	assert_int_equal(ratelimit__take(rl, x, 4, t + 5 * S / 10, &retry), 0);
	assert_int_equal(ratelimit__take(rl, x, 4, t + 5 * S / 10, &retry), -EAGAIN);
	/* peek says the same without taking: refused now, served 0.5 s later, any number of times. */
	assert_int_equal(ratelimit__peek(rl, x, 4, t + 5 * S / 10, &retry), -EAGAIN);
	assert_int_equal(retry, 1);
	assert_int_equal(ratelimit__peek(rl, x, 4, t + S, &retry), 0);
	assert_int_equal(ratelimit__peek(rl, x, 4, t + S, &retry), 0);
	assert_int_equal(ratelimit__peek(rl, "zz", 2, t, &retry), 0);
	/* A clock that goes back adds nothing. */
	assert_int_equal(ratelimit__take(rl, x, 4, t, &retry), -EAGAIN);
	/* An hour later the bucket is full again, no more than burst. */
	for (i = 0; i < 4; i++)
		assert_int_equal(ratelimit__take(rl, x, 4, t + 3600 * S, &retry), 0);
	assert_int_equal(ratelimit__take(rl, x, 4, t + 3600 * S, &retry), -EAGAIN);
	ratelimit__free(rl);

	/* A slow rate: the retry is the whole seconds until the next token. */
	rl = ratelimit__new(0.1, 1, 8);
	assert_int_equal(ratelimit__take(rl, x, 4, t, &retry), 0);
	assert_int_equal(ratelimit__take(rl, x, 4, t + 2 * S, &retry), -EAGAIN);
	assert_int_equal(retry, 8);
	ratelimit__free(rl);
}

static void test_ratelimit_bounded(void **state)
{
	struct ratelimit *rl = ratelimit__new(1, 1, 8);
	unsigned char k[4] = {10, 0, 0, 0};
	unsigned retry;
	int i;

	(void)state;
	/* 1000 clients through 8 slots: each new one is served, the table never grows. */
	for (i = 0; i < 1000; i++) {
		k[2] = i >> 8;
		k[3] = i;
		assert_int_equal(ratelimit__take(rl, k, 4, (__u64)i * 1000, &retry), 0);
	}
	/* The last client is remembered: its next request at once is refused. */
	assert_int_equal(ratelimit__take(rl, k, 4, 999 * 1000, &retry), -EAGAIN);
	ratelimit__free(rl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),  cmocka_unit_test(test_full),
		cmocka_unit_test(test_errors),	  cmocka_unit_test(test_load_missing),
		cmocka_unit_test(test_authorize), cmocka_unit_test(test_equal),
		cmocka_unit_test(test_ratelimit), cmocka_unit_test(test_ratelimit_bounded),
	};

	return cmocka_run_group_tests_name("webconfig", tests, setup, teardown);
}
