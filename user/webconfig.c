// SPDX-License-Identifier: MIT
/*
 * The web configuration (--web.config.file): TLS, basic auth and bearer tokens for the HTTP
 * endpoints, read from YAML in the format of Prometheus' exporter-toolkit
 * (docs/web-configuration.md there: tls_server_config, basic_auth_users with bcrypt hashes)
 * with swarmwatch's own keys beside (bearer_tokens with scopes, metrics_auth, rate_limit).
 * Parsed with libyaml's document API, checked with libcrypto (certificate and key) and
 * libxcrypt (bcrypt).
 */
#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "webconfig.h"

/* Largest file read: the configuration, a certificate chain, a key, a token. */
#define FILE_MAX (1 << 20)

struct parse {
	yaml_document_t *doc;
	struct web_config *w;
	const char *origin, *dir;
	char *err;
	size_t errlen;
};

/* One line "web config ORIGIN:LINE:COL: message"; returns -EINVAL. */
static int fail(struct parse *p, const yaml_node_t *at, const char *fmt, ...)
{
	char msg[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (at)
		snprintf(p->err, p->errlen, "web config %s:%zu:%zu: %s", p->origin,
			 at->start_mark.line + 1, at->start_mark.column + 1, msg);
	else
		snprintf(p->err, p->errlen, "web config %s: %s", p->origin, msg);
	return -EINVAL;
}

bool webconfig__equal(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}

static void sha256(const void *data, size_t len, unsigned char out[WEB_DIGEST_LEN])
{
	unsigned int n = WEB_DIGEST_LEN;

	if (!EVP_Digest(data, len, out, &n, EVP_sha256(), NULL))
		memset(out, 0, WEB_DIGEST_LEN); /* defensive: libcrypto without SHA-256 */
}

void webconfig__defaults(struct web_config *w)
{
	memset(w, 0, sizeof(*w));
	w->metrics_auth = true;
	w->rate = 50;
	w->burst = 100;
	pthread_mutex_init(&w->lock, NULL);
}

void webconfig__free(struct web_config *w)
{
	if (!w)
		return;
	free(w->origin);
	if (w->key_pem)
		OPENSSL_cleanse(w->key_pem, strlen(w->key_pem));
	free(w->key_pem);
	free(w->cert_pem);
	free(w->users);
	free(w->tokens);
	pthread_mutex_destroy(&w->lock);
	memset(w, 0, sizeof(*w));
}

bool webconfig__auth_on(const struct web_config *w)
{
	return w && (w->nusers || w->ntokens);
}

/* Reads a whole file of at most FILE_MAX bytes, NUL-terminated; NULL with errno. */
static char *read_all(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t cap = 4096, n = 0;
	char *buf = NULL, *nb;
	ssize_t r;
	int e = 0;

	if (fd < 0)
		return NULL;
	for (;;) {
		if (n + 1 >= cap || !buf) {
			if (n + 1 >= cap)
				cap *= 2;
			if (cap > FILE_MAX + 1) {
				e = EFBIG;
				break;
			}
			nb = realloc(buf, cap);
			if (!nb) {
				e = ENOMEM;
				break;
			}
			buf = nb;
		}
		r = read(fd, buf + n, cap - n - 1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			e = errno;
			break;
		}
		if (!r)
			break;
		n += r;
	}
	close(fd);
	if (e) {
		free(buf);
		errno = e;
		return NULL;
	}
	buf[n] = 0;
	if (len)
		*len = n;
	return buf;
}

static const char *scalar(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static int get_string(struct parse *p, const yaml_node_t *n, const char *key, const char **out)
{
	*out = scalar(n);
	if (!*out || !**out)
		return fail(p, n, "%s must be a non-empty string", key);
	return 0;
}

static int get_bool(struct parse *p, const yaml_node_t *n, const char *key, bool *out)
{
	const char *s = scalar(n);

	if (s && (!strcmp(s, "true") || !strcmp(s, "false"))) {
		*out = s[0] == 't';
		return 0;
	}
	return fail(p, n, "%s must be true or false", key);
}

static int get_number(struct parse *p, const yaml_node_t *n, const char *key, double lo, double hi,
		      double *out)
{
	const char *s = scalar(n);
	char *end;
	double v;

	if (!s || !*s)
		return fail(p, n, "%s must be a number from %g to %g", key, lo, hi);
	errno = 0;
	v = strtod(s, &end);
	if (*end || errno || !(v >= lo && v <= hi))
		return fail(p, n, "%s must be a number from %g to %g, got \"%.40s\"", key, lo, hi,
			    s);
	*out = v;
	return 0;
}

/* The file name as given, or under the configuration's directory when relative. */
static void resolve(struct parse *p, const char *name, char *out, size_t len)
{
	if (name[0] == '/' || !p->dir || !p->dir[0])
		snprintf(out, len, "%s", name);
	else
		snprintf(out, len, "%s/%s", p->dir, name);
}

static int read_file_key(struct parse *p, const yaml_node_t *n, const char *key, char **out)
{
	char path[PATH_MAX];
	const char *name;
	int err;

	err = get_string(p, n, key, &name);
	if (err)
		return err;
	resolve(p, name, path, sizeof(path));
	*out = read_all(path, NULL);
	if (!*out)
		return fail(p, n, "%s %s: %s", key, path,
			    errno == EFBIG ? "larger than 1 MiB" : strerror(errno));
	return 0;
}

/* The certificate must parse, the key too, and they must be a pair. */
static int check_pair(struct parse *p, const yaml_node_t *at)
{
	struct web_config *w = p->w;
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	BIO *b;
	int err = 0;

	ERR_clear_error();
	b = BIO_new_mem_buf(w->cert_pem, -1);
	cert = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	if (!cert) {
		err = fail(p, at, "cert_file: no PEM certificate in it");
		goto out;
	}
	b = BIO_new_mem_buf(w->key_pem, -1);
	key = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	if (!key) {
		err = fail(p, at,
			   "key_file: no unencrypted PEM private key in it "
			   "(openssl pkey -in KEY -out KEY.pem writes one)");
		goto out;
	}
	if (X509_check_private_key(cert, key) != 1)
		err = fail(p, at, "key_file does not belong to the certificate of cert_file");
out:
	ERR_clear_error();
	EVP_PKEY_free(key);
	X509_free(cert);
	return err;
}

/* TLS10..TLS13 as the GnuTLS protocol names; NULL when not one of them. */
static const char *tls_version(const char *s)
{
	static const char *const names[][2] = {{"TLS10", "VERS-TLS1.0"},
					       {"TLS11", "VERS-TLS1.1"},
					       {"TLS12", "VERS-TLS1.2"},
					       {"TLS13", "VERS-TLS1.3"}};
	size_t i;

	for (i = 0; s && i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(s, names[i][0]))
			return names[i][1];
	return NULL;
}

/* "NORMAL:-VERS-ALL:+VERS-TLS1.2:+VERS-TLS1.3" for versions min..max (indices 0..3). */
static void priorities(char *out, size_t len, int lo, int hi)
{
	static const char *const vers[] = {"VERS-TLS1.0", "VERS-TLS1.1", "VERS-TLS1.2",
					   "VERS-TLS1.3"};
	int i;

	snprintf(out, len, "NORMAL:-VERS-ALL");
	for (i = lo; i <= hi; i++)
		snprintf(out + strlen(out), len - strlen(out), ":+%s", vers[i]);
}

static int parse_tls(struct parse *p, yaml_node_t *n)
{
	static const char *const unsupported[] = {"client_auth_type",
						  "client_ca_file",
						  "client_allowed_sans",
						  "cipher_suites",
						  "curve_preferences",
						  "prefer_server_cipher_suites",
						  "cert",
						  "key",
						  NULL};
	const yaml_node_t *cert = NULL, *key = NULL;
	int lo = 2, hi = 3, err, i; /* exporter-toolkit's default minimum is TLS 1.2 */
	bool versions = false;
	yaml_node_pair_t *pr;

	if (n->type != YAML_MAPPING_NODE)
		return fail(p, n,
			    "tls_server_config must be a mapping with cert_file and key_file");
	for (pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = yaml_document_get_node(p->doc, pr->key);
		yaml_node_t *v = yaml_document_get_node(p->doc, pr->value);
		const char *name = scalar(k);

		if (!name)
			return fail(p, k, "tls_server_config: keys must be strings");
		if (!strcmp(name, "cert_file")) {
			cert = v;
		} else if (!strcmp(name, "key_file")) {
			key = v;
		} else if (!strcmp(name, "min_version") || !strcmp(name, "max_version")) {
			const char *g = tls_version(scalar(v));

			if (!g)
				return fail(p, v, "%s must be TLS10, TLS11, TLS12 or TLS13", name);
			if (name[1] == 'i')
				lo = g[strlen(g) - 1] - '0';
			else
				hi = g[strlen(g) - 1] - '0';
			versions = true;
		} else {
			for (i = 0; unsupported[i]; i++)
				if (!strcmp(name, unsupported[i]))
					return fail(p, k,
						    "tls_server_config.%s is not supported by "
						    "swarmwatch (only cert_file, key_file, "
						    "min_version, max_version)",
						    name);
			return fail(p, k,
				    "unknown key \"%s\" in tls_server_config (cert_file, key_file, "
				    "min_version, max_version)",
				    name);
		}
	}
	if (!cert || !key)
		return fail(p, n, "tls_server_config needs both cert_file and key_file");
	if (lo > hi)
		return fail(p, n, "tls_server_config: min_version is above max_version");
	if (versions)
		priorities(p->w->priorities, sizeof(p->w->priorities), lo, hi);
	else
		priorities(p->w->priorities, sizeof(p->w->priorities), 2, 3);
	err = read_file_key(p, cert, "cert_file", &p->w->cert_pem);
	if (!err)
		err = read_file_key(p, key, "key_file", &p->w->key_pem);
	if (!err)
		err = check_pair(p, n);
	return err;
}

/* A bcrypt hash as htpasswd -B and Python's bcrypt write it: $2a$, $2b$ or $2y$, cost, salt. */
static bool is_bcrypt(const char *h)
{
	return strlen(h) == 60 && h[0] == '$' && h[1] == '2' && strchr("aby", h[2]) &&
	       h[3] == '$' && crypt_checksalt(h) == CRYPT_SALT_OK;
}

static int parse_users(struct parse *p, yaml_node_t *n)
{
	struct web_config *w = p->w;
	yaml_node_pair_t *pr;
	size_t count;

	if (n->type == YAML_SCALAR_NODE && !scalar(n)[0])
		return 0; /* basic_auth_users: (empty) */
	if (n->type != YAML_MAPPING_NODE)
		return fail(p, n, "basic_auth_users must map user names to bcrypt hashes");
	count = n->data.mapping.pairs.top - n->data.mapping.pairs.start;
	w->users = calloc(count ? count : 1, sizeof(*w->users));
	if (!w->users)
		return -ENOMEM;
	for (pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = yaml_document_get_node(p->doc, pr->key);
		yaml_node_t *v = yaml_document_get_node(p->doc, pr->value);
		const char *user = scalar(k), *hash = scalar(v);
		int i;

		if (!user || !user[0] || strlen(user) >= WEB_NAME_MAX || strchr(user, ':'))
			return fail(p, k,
				    "basic_auth_users: a user name is 1-63 characters, no colon");
		for (i = 0; i < w->nusers; i++)
			if (!strcmp(w->users[i].name, user))
				return fail(p, k, "basic_auth_users: user \"%s\" is listed twice",
					    user);
		if (!hash || !is_bcrypt(hash))
			return fail(p, v,
				    "basic_auth_users.%s: not a bcrypt hash ($2y$10$ and 53 more "
				    "characters; htpasswd -nBC 10 \"\" | tr -d ':' makes one)",
				    user);
		snprintf(w->users[w->nusers].name, WEB_NAME_MAX, "%s", user);
		snprintf(w->users[w->nusers].hash, sizeof(w->users[0].hash), "%s", hash);
		w->nusers++;
	}
	return 0;
}

static int scope_of(const char *s)
{
	if (!s)
		return -1;
	if (!strcmp(s, "read"))
		return WEB_SCOPE_READ;
	if (!strcmp(s, "ack"))
		return WEB_SCOPE_ACK;
	if (!strcmp(s, "admin"))
		return WEB_SCOPE_ADMIN;
	return -1;
}

const char *webconfig__scope_names(unsigned bits, char *out, size_t len)
{
	static const char *const names[] = {"read", "ack", "admin"};
	size_t i;

	out[0] = 0;
	for (i = 0; i < 3; i++)
		if (bits & (1u << i))
			snprintf(out + strlen(out), len - strlen(out), "%s%s", out[0] ? "," : "",
				 names[i]);
	return out;
}

static int hex_digest(const char *s, unsigned char out[WEB_DIGEST_LEN])
{
	int i;

	if (!s || strlen(s) != 2 * WEB_DIGEST_LEN || strspn(s, "0123456789abcdefABCDEF") != 64)
		return -EINVAL;
	for (i = 0; i < WEB_DIGEST_LEN; i++) {
		unsigned v;

		sscanf(s + 2 * i, "%2x", &v);
		out[i] = v;
	}
	return 0;
}

/* A token's "tenants": a list of 1 to WEB_TENANTS_MAX names, each 1-31 bytes. */
static int parse_tenants(struct parse *p, const yaml_node_t *n, struct web_token *t, int index)
{
	yaml_node_item_t *it;
	const char *s;

	if (n->type != YAML_SEQUENCE_NODE ||
	    n->data.sequence.items.start == n->data.sequence.items.top)
		return fail(p, n,
			    "bearer_tokens[%d].tenants must be a list of tenant names (the "
			    "\"tenant\" of identity rules)",
			    index);
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		yaml_node_t *v = yaml_document_get_node(p->doc, *it);

		s = scalar(v);
		if (!s || !s[0] || strlen(s) >= WEB_TENANT_LEN)
			return fail(p, v, "bearer_tokens[%d].tenants: a name must be 1-%d bytes",
				    index, WEB_TENANT_LEN - 1);
		if (t->ntenants == WEB_TENANTS_MAX)
			return fail(p, v, "bearer_tokens[%d].tenants: more than %d tenants", index,
				    WEB_TENANTS_MAX);
		snprintf(t->tenants[t->ntenants++], WEB_TENANT_LEN, "%s", s);
	}
	if (t->scopes & WEB_SCOPE_ADMIN)
		return fail(p, n,
			    "bearer_tokens[%d]: a token with tenants cannot have the admin scope "
			    "(admin sees every tenant); give it read and ack",
			    index);
	return 0;
}

static int parse_token(struct parse *p, yaml_node_t *n, struct web_token *t, int index)
{
	const yaml_node_t *file = NULL, *digest = NULL, *scopes = NULL, *tenants = NULL;
	yaml_node_pair_t *pr;
	yaml_node_item_t *it;
	char path[PATH_MAX];
	size_t len;
	char *text;
	int s;

	if (n->type != YAML_MAPPING_NODE)
		return fail(p, n, "bearer_tokens[%d] must be a mapping with token_file and scopes",
			    index);
	snprintf(t->name, sizeof(t->name), "token %d", index + 1);
	for (pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = yaml_document_get_node(p->doc, pr->key);
		yaml_node_t *v = yaml_document_get_node(p->doc, pr->value);
		const char *key = scalar(k);

		if (!key)
			return fail(p, k, "bearer_tokens: keys must be strings");
		if (!strcmp(key, "name")) {
			const char *s = scalar(v);

			if (!s || !s[0] || strlen(s) >= WEB_NAME_MAX)
				return fail(p, v, "bearer_tokens[%d].name must be 1-63 characters",
					    index);
			snprintf(t->name, sizeof(t->name), "%s", s);
		} else if (!strcmp(key, "token_file")) {
			file = v;
		} else if (!strcmp(key, "token_sha256")) {
			digest = v;
		} else if (!strcmp(key, "scopes")) {
			scopes = v;
		} else if (!strcmp(key, "tenants")) {
			tenants = v;
		} else {
			return fail(p, k,
				    "unknown key \"%s\" in bearer_tokens[%d] (name, token_file, "
				    "token_sha256, scopes, tenants)",
				    key, index);
		}
	}
	if (!!file == !!digest)
		return fail(p, n, "bearer_tokens[%d] needs one of token_file or token_sha256",
			    index);
	if (digest && hex_digest(scalar(digest), t->digest))
		return fail(p, digest,
			    "bearer_tokens[%d].token_sha256 must be 64 hex digits "
			    "(sha256sum of the token)",
			    index);
	if (file) {
		const char *name;
		int err = get_string(p, file, "token_file", &name);

		if (err)
			return err;
		resolve(p, name, path, sizeof(path));
		text = read_all(path, &len);
		if (!text)
			return fail(p, file, "token_file %s: %s", path, strerror(errno));
		while (len && (text[len - 1] == '\n' || text[len - 1] == '\r'))
			len--;
		if (len < WEB_TOKEN_MIN || memchr(text, '\n', len) || memchr(text, ' ', len)) {
			OPENSSL_cleanse(text, len);
			free(text);
			return fail(p, file,
				    "token_file %s: a token is one line of at least %d characters "
				    "without spaces (openssl rand -hex 32 makes one)",
				    path, WEB_TOKEN_MIN);
		}
		sha256(text, len, t->digest);
		OPENSSL_cleanse(text, len);
		free(text);
	}
	if (!scopes || scopes->type != YAML_SEQUENCE_NODE ||
	    scopes->data.sequence.items.start == scopes->data.sequence.items.top)
		return fail(p, scopes ? scopes : n,
			    "bearer_tokens[%d].scopes must be a list of read, ack, admin", index);
	for (it = scopes->data.sequence.items.start; it < scopes->data.sequence.items.top; it++) {
		yaml_node_t *v = yaml_document_get_node(p->doc, *it);

		s = scope_of(scalar(v));
		if (s < 0)
			return fail(
				p, v,
				"bearer_tokens[%d].scopes: \"%.40s\" is not a scope (read, ack, "
				"admin)",
				index, scalar(v) ? scalar(v) : "");
		t->scopes |= s;
	}
	if (t->scopes & WEB_SCOPE_ADMIN)
		t->scopes = WEB_SCOPES_ALL;
	if (tenants)
		return parse_tenants(p, tenants, t, index);
	return 0;
}

static int parse_tokens(struct parse *p, yaml_node_t *n)
{
	struct web_config *w = p->w;
	yaml_node_item_t *it;
	int err, i;

	if (n->type != YAML_SEQUENCE_NODE)
		return fail(p, n, "bearer_tokens must be a list");
	w->tokens = calloc(n->data.sequence.items.top - n->data.sequence.items.start + 1,
			   sizeof(*w->tokens));
	if (!w->tokens)
		return -ENOMEM;
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		struct web_token *t = &w->tokens[w->ntokens];

		err = parse_token(p, yaml_document_get_node(p->doc, *it), t, w->ntokens);
		if (err)
			return err;
		for (i = 0; i < w->ntokens; i++)
			if (webconfig__equal(w->tokens[i].digest, t->digest, WEB_DIGEST_LEN))
				return fail(p, yaml_document_get_node(p->doc, *it),
					    "bearer_tokens[%d] has the same token as [%d]",
					    w->ntokens, i);
		w->ntokens++;
	}
	return 0;
}

static int parse_rate(struct parse *p, yaml_node_t *n)
{
	yaml_node_pair_t *pr;
	int err;

	if (n->type != YAML_MAPPING_NODE)
		return fail(p, n, "rate_limit must be a mapping of requests_per_second and burst");
	for (pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = yaml_document_get_node(p->doc, pr->key);
		yaml_node_t *v = yaml_document_get_node(p->doc, pr->value);
		const char *key = scalar(k);

		if (key && !strcmp(key, "requests_per_second"))
			err = get_number(p, v, "rate_limit.requests_per_second", 0, 1e6,
					 &p->w->rate);
		else if (key && !strcmp(key, "burst"))
			err = get_number(p, v, "rate_limit.burst", 1, 1e6, &p->w->burst);
		else
			err = fail(p, k,
				   "unknown key \"%s\" in rate_limit (requests_per_second, burst)",
				   key ? key : "");
		if (err)
			return err;
	}
	return 0;
}

static int parse_root(struct parse *p, yaml_node_t *root)
{
	yaml_node_pair_t *pr;
	int err = 0;

	if (!root)
		return 0; /* an empty file: the defaults */
	if (root->type == YAML_SCALAR_NODE && !scalar(root)[0])
		return 0;
	if (root->type != YAML_MAPPING_NODE)
		return fail(p, root, "the web configuration must be a YAML mapping");
	for (pr = root->data.mapping.pairs.start; pr < root->data.mapping.pairs.top && !err; pr++) {
		yaml_node_t *k = yaml_document_get_node(p->doc, pr->key);
		yaml_node_t *v = yaml_document_get_node(p->doc, pr->value);
		const char *key = scalar(k);
		const yaml_node_pair_t *q;

		for (q = root->data.mapping.pairs.start; key && q < pr; q++)
			if (scalar(yaml_document_get_node(p->doc, q->key)) &&
			    !strcmp(scalar(yaml_document_get_node(p->doc, q->key)), key))
				return fail(p, k, "%s is given twice", key);
		if (!key)
			err = fail(p, k, "keys must be strings");
		else if (!strcmp(key, "tls_server_config"))
			err = parse_tls(p, v);
		else if (!strcmp(key, "basic_auth_users"))
			err = parse_users(p, v);
		else if (!strcmp(key, "bearer_tokens"))
			err = parse_tokens(p, v);
		else if (!strcmp(key, "metrics_auth"))
			err = get_bool(p, v, "metrics_auth", &p->w->metrics_auth);
		else if (!strcmp(key, "rate_limit"))
			err = parse_rate(p, v);
		else if (!strcmp(key, "http_server_config"))
			err = fail(p, k,
				   "http_server_config is not supported by swarmwatch (no HTTP/2, "
				   "no custom headers); remove it");
		else
			err = fail(p, k,
				   "unknown key \"%s\" (tls_server_config, basic_auth_users, "
				   "bearer_tokens, metrics_auth, rate_limit)",
				   key);
	}
	return err;
}

/* Keeps an error one line: a name from the file (a YAML scalar may hold line breaks and other
 * control characters) is shown with each of them as '?'. */
static void one_line(char *err)
{
	for (; *err; err++)
		if ((unsigned char)*err < 0x20 || *err == 0x7f)
			*err = '?';
}

int webconfig__parse(struct web_config *w, const char *text, size_t len, const char *origin,
		     const char *dir, char *err, size_t errlen)
{
	struct parse p = {.w = w, .origin = origin, .dir = dir, .err = err, .errlen = errlen};
	yaml_parser_t parser;
	yaml_document_t doc;
	int ret;

	webconfig__defaults(w);
	err[0] = 0;
	w->origin = strdup(origin);
	if (!w->origin || !yaml_parser_initialize(&parser)) {
		snprintf(err, errlen, "web config %s: out of memory", origin);
		webconfig__free(w);
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		snprintf(err, errlen, "web config %s:%zu:%zu: %s%s%s", origin,
			 parser.problem_mark.line + 1, parser.problem_mark.column + 1,
			 parser.problem ? parser.problem : "not YAML", parser.context ? " " : "",
			 parser.context ? parser.context : "");
		one_line(err);
		yaml_parser_delete(&parser);
		webconfig__free(w);
		return -EINVAL;
	}
	p.doc = &doc;
	ret = parse_root(&p, yaml_document_get_root_node(&doc));
	if (ret == -ENOMEM && !err[0])
		snprintf(err, errlen, "web config %s: out of memory", origin);
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	if (ret)
		webconfig__free(w);
	one_line(err);
	return ret;
}

int webconfig__load(struct web_config *w, const char *path, char *err, size_t errlen)
{
	char *text, *dir, *slash;
	size_t len;
	int ret;

	text = read_all(path, &len);
	if (!text) {
		ret = -errno;
		snprintf(err, errlen, "web config %s: %s (--web.config.file names a YAML file)",
			 path, ret == -EFBIG ? "larger than 1 MiB" : strerror(errno));
		webconfig__defaults(w);
		return ret;
	}
	dir = strdup(path);
	if (!dir) {
		free(text);
		snprintf(err, errlen, "web config %s: out of memory", path);
		webconfig__defaults(w);
		return -ENOMEM;
	}
	slash = strrchr(dir, '/');
	if (slash)
		*slash = 0;
	ret = webconfig__parse(w, text, len, path, slash ? dir : ".", err, errlen);
	free(dir);
	free(text);
	return ret;
}

/* Decodes standard base64 into out (NUL-terminated); the length, or -1. */
static int base64(const char *in, char *out, size_t cap)
{
	size_t n = strlen(in), pad = 0;
	int len;

	if (!n || n % 4 || (n / 4) * 3 + 1 > cap)
		return -1;
	len = EVP_DecodeBlock((unsigned char *)out, (const unsigned char *)in, n);
	if (len < 0)
		return -1;
	while (pad < 2 && in[n - 1 - pad] == '=')
		pad++;
	len -= pad;
	out[len] = 0;
	return len;
}

static bool cache_has(struct web_config *w, const unsigned char d[WEB_DIGEST_LEN])
{
	bool hit = false;
	int i;

	pthread_mutex_lock(&w->lock);
	for (i = 0; i < w->cache_len; i++)
		hit |= webconfig__equal(w->cache[i], d, WEB_DIGEST_LEN);
	pthread_mutex_unlock(&w->lock);
	return hit;
}

static void cache_add(struct web_config *w, const unsigned char d[WEB_DIGEST_LEN])
{
	pthread_mutex_lock(&w->lock);
	memcpy(w->cache[w->cache_next], d, WEB_DIGEST_LEN);
	w->cache_next = (w->cache_next + 1) % WEB_AUTH_CACHE;
	if (w->cache_len < WEB_AUTH_CACHE)
		w->cache_len++;
	pthread_mutex_unlock(&w->lock);
}

static int check_basic(struct web_config *w, const char *b64, const char **who)
{
	char cred[512], *colon;
	unsigned char d[WEB_DIGEST_LEN];
	struct crypt_data *cd;
	const struct web_user *u = NULL;
	const char *out;
	bool ok;
	int i, n;

	n = base64(b64, cred, sizeof(cred));
	if (n < 0 || !w->nusers || (size_t)n != strlen(cred) || !(colon = strchr(cred, ':')))
		return -EACCES;
	*colon = 0;
	for (i = 0; i < w->nusers; i++)
		if (!strcmp(w->users[i].name, cred))
			u = &w->users[i];
	if (who)
		*who = u ? u->name : NULL;
	/* The cache key: user NUL password, hashed. */
	sha256(cred, n, d);
	if (u && cache_has(w, d)) {
		OPENSSL_cleanse(cred, sizeof(cred));
		return WEB_SCOPES_ALL;
	}
	cd = calloc(1, sizeof(*cd));
	if (!cd) {
		OPENSSL_cleanse(cred, sizeof(cred));
		return -EACCES;
	}
	/* An unknown user costs one bcrypt too, against the first user's hash. */
	out = crypt_rn(colon + 1, u ? u->hash : w->users[0].hash, cd, sizeof(*cd));
	ok = u && out && strlen(out) == strlen(u->hash) &&
	     webconfig__equal(out, u->hash, strlen(u->hash));
	OPENSSL_cleanse(cd, sizeof(*cd));
	free(cd);
	OPENSSL_cleanse(cred, sizeof(cred));
	if (!ok)
		return -EACCES;
	cache_add(w, d);
	return WEB_SCOPES_ALL;
}

static int check_bearer(struct web_config *w, const char *token, const char **who,
			const struct web_token **tok)
{
	unsigned char d[WEB_DIGEST_LEN];
	int i, found = -1;

	sha256(token, strlen(token), d);
	/* Every token is compared, so the time says nothing about which one came close. */
	for (i = 0; i < w->ntokens; i++)
		if (webconfig__equal(w->tokens[i].digest, d, WEB_DIGEST_LEN))
			found = i;
	if (found < 0)
		return -EACCES;
	if (who)
		*who = w->tokens[found].name;
	if (tok)
		*tok = &w->tokens[found];
	return w->tokens[found].scopes;
}

int webconfig__authorize(struct web_config *w, const char *h, const char **who)
{
	return webconfig__authorize_as(w, h, who, NULL);
}

int webconfig__authorize_as(struct web_config *w, const char *h, const char **who,
			    const struct web_token **tok)
{
	if (who)
		*who = NULL;
	if (tok)
		*tok = NULL;
	if (!h)
		return -EACCES;
	while (*h == ' ')
		h++;
	if (!strncasecmp(h, "Basic ", 6)) {
		h += 6;
		while (*h == ' ')
			h++;
		return check_basic(w, h, who);
	}
	if (!strncasecmp(h, "Bearer ", 7)) {
		h += 7;
		while (*h == ' ')
			h++;
		if (!*h || strlen(h) > 4096)
			return -EACCES;
		return check_bearer(w, h, who, tok);
	}
	return -EACCES;
}
