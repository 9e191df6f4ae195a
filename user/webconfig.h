/* SPDX-License-Identifier: MIT */
#ifndef SW_WEBCONFIG_H
#define SW_WEBCONFIG_H

#include <linux/types.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

/*
 * What a request may do. A route needs one scope; a bearer token holds the scopes listed in
 * the web configuration, a basic-auth user holds them all. admin implies the others.
 */
enum web_scope {
	WEB_SCOPE_NONE = 0, /* open to everyone (/healthz, /metrics when metrics_auth is off) */
	WEB_SCOPE_READ = 1 << 0, /* GET of the API, the dashboard, the stream */
	WEB_SCOPE_ACK = 1 << 1, /* acknowledge alerts, create and expire silences */
	WEB_SCOPE_ADMIN = 1 << 2, /* everything */
};

#define WEB_SCOPES_ALL (WEB_SCOPE_READ | WEB_SCOPE_ACK | WEB_SCOPE_ADMIN)
#define WEB_NAME_MAX 64
#define WEB_DIGEST_LEN 32 /* SHA-256 */
#define WEB_TOKEN_MIN 16 /* bytes of a bearer token, at least */
#define WEB_AUTH_CACHE 16 /* basic-auth credentials remembered after a bcrypt check */

struct web_user {
	char name[WEB_NAME_MAX];
	char hash[128]; /* bcrypt, as crypt(3) writes it: $2y$10$... */
};

#define WEB_TENANTS_MAX 16 /* tenants of one token */
#define WEB_TENANT_LEN 32 /* a tenant name and its NUL (TENANT_NAME_MAX of tenancy.h) */

struct web_token {
	char name[WEB_NAME_MAX]; /* for logs and errors; "token N" when not given */
	unsigned char digest[WEB_DIGEST_LEN]; /* SHA-256 of the token: the token is not kept */
	unsigned scopes; /* enum web_scope bits */
	/* Tenants whose agents it sees (identity rules' "tenant"); 0: every agent. */
	char tenants[WEB_TENANTS_MAX][WEB_TENANT_LEN];
	int ntenants;
};

struct web_config {
	char *origin; /* the file, for messages */
	char *cert_pem, *key_pem; /* TLS server certificate chain and key; NULL: plain HTTP */
	char priorities[96]; /* GnuTLS priority string from min_version/max_version, "" default */
	struct web_user *users;
	int nusers;
	struct web_token *tokens;
	int ntokens;
	bool metrics_auth; /* /metrics needs the read scope once auth is on (default) */
	double rate; /* requests per second per client address; 0: no limit */
	double burst; /* requests a client may send at once */
	/* Basic-auth credentials (SHA-256 of user NUL password) that bcrypt accepted. */
	pthread_mutex_t lock;
	unsigned char cache[WEB_AUTH_CACHE][WEB_DIGEST_LEN];
	int cache_next, cache_len;
};

/*
 * Sets w to the configuration of no file: plain HTTP, no authentication, the default rate
 * limit (50 requests per second per client address, bursts of 100).
 */
void webconfig__defaults(struct web_config *w);

/*
 * Parses the web configuration text (YAML, the format of Prometheus' exporter-toolkit:
 * tls_server_config, basic_auth_users; and swarmwatch's bearer_tokens, metrics_auth,
 * rate_limit) into w. Relative file names are taken from dir. origin names the file in
 * messages. Returns 0, or -EINVAL/-ENOENT/-ENOMEM with one line in err
 * ("web config FILE:LINE:COL: what is wrong (how to fix)"; control characters of names
 * quoted from the file show as ?); w is then freed.
 */
int webconfig__parse(struct web_config *w, const char *text, size_t len, const char *origin,
		     const char *dir, char *err, size_t errlen);

/* Reads path and parses it as webconfig__parse() does; the same returns. */
int webconfig__load(struct web_config *w, const char *path, char *err, size_t errlen);

void webconfig__free(struct web_config *w);

/* Whether requests need credentials: the file names users or tokens. */
bool webconfig__auth_on(const struct web_config *w);

/*
 * Checks an Authorization header value (NULL when absent) against w. Returns the scopes it
 * grants (WEB_SCOPES_ALL for a basic-auth user), or -EACCES when credentials are missing,
 * malformed or wrong. *who (may be NULL) gets the token's or user's name. Tokens are
 * compared by SHA-256 digest in constant time against every token; a basic-auth password is
 * checked with crypt(3) (bcrypt) even for an unknown user, and remembered once right.
 */
int webconfig__authorize(struct web_config *w, const char *authorization, const char **who);

/*
 * webconfig__authorize(), and the bearer token that matched into *tok (may be NULL; NULL for a
 * basic-auth user and on failure), for its tenants.
 */
int webconfig__authorize_as(struct web_config *w, const char *authorization, const char **who,
			    const struct web_token **tok);

/* Constant-time equality of a[0..n) and b[0..n): the time does not depend on where they differ. */
bool webconfig__equal(const void *a, const void *b, size_t n);

/* Names of the scopes in bits, "read,ack", into out; returns out. */
const char *webconfig__scope_names(unsigned bits, char *out, size_t len);

#endif
