// SPDX-License-Identifier: MIT
/*
 * JSON configuration: defaults, parsing, validation with errors that point
 * at the line and column and suggest the key that was probably meant.
 */
#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <arpa/inet.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "num.h"
#include "syscalls.h"
#include "text.h"

const char config__builtin[] =
	"{\n"
	"  \"listen\": \"0.0.0.0:7979\",\n"
	"  \"interval\": \"1s\",\n"
	"  \"pin_path\": \"/sys/fs/bpf/swarmwatch\",\n"
	"  \"max_agents\": 256,\n"
	"  \"agent_retention\": \"10m\",\n"
	"  \"identity\": {\n"
	"    \"marker\": true,\n"
	"    \"rules\": [\n"
	"      {\"match\": \"cgroup\",\n"
	"       \"regex\": \"/(docker|cri-containerd|crio|libpod)-([0-9a-f]{12})[0-9a-f]*\\\\.scope$\",\n"
	"       \"name\": \"container-$2\"},\n"
	"      {\"match\": \"cgroup\", \"regex\": \"^/system\\\\.slice/([^/]+)\\\\.service$\", \"name\": \"$1\"},\n"
	"      {\"match\": \"comm\",\n"
	"       \"regex\": \"^(claude|codex|aider|goose|opencode|gemini|cursor-agent|openhands)$\",\n"
	"       \"name\": \"$1\"}\n"
	"    ]\n"
	"  },\n"
	"  \"syscalls\": {\n"
	"    \"ignored_errnos\": [\"EAGAIN\", \"EINTR\", \"EINPROGRESS\", \"EALREADY\"],\n"
	"    \"top_errnos\": 8,\n"
	"    \"latency_sampling\": true\n"
	"  },\n"
	"  \"collectors\": {\"syscalls\": true, \"sched\": true, \"page_faults\": true, \"oom\": true,\n"
	"                 \"net\": true},\n"
	"  \"bpf_stats\": false,\n"
	"  \"overhead_budget\": 1,\n"
	"  \"tls\": {\"agents\": []},\n"
	"  \"anomaly\": {\"hold\": \"1m\"},\n"
	"  \"store\": {\"dir\": \"/var/lib/swarmwatch\", \"memory\": \"15m\", \"raw\": \"6h\",\n"
	"            \"minutes\": \"14d\", \"hours\": \"90d\", \"max_size_mb\": 1024, \"flush\": \"10s\"},\n"
	"  \"statsd\": {\"udp\": \"127.0.0.1:8125\", \"socket\": \"/run/swarmwatch/statsd.sock\",\n"
	"             \"tags\": [], \"trust_agent_tag\": false, \"max_series\": 64,\n"
	"             \"max_label_values\": 16},\n"
	"  \"alerts\": {\"enabled\": true, \"default_rules\": true, \"window\": \"10s\",\n"
	"             \"incident_window\": \"1m\"},\n"
	"  \"cost\": {\"enabled\": true, \"daily_budget_usd\": 10, \"app_costs\": true,\n"
	"           \"warning_ratio\": 0.8, \"emergency_ratio\": 0.95},\n"
	"  \"receivers\": []\n"
	"}\n";

/* Parse context: the text, for locating keys, and the error sink. */
struct parse {
	const char *text;
	const char *origin;
	char *err;
	size_t errlen;
};

/* Line and column (1-based) of the first `"key"` followed by a colon. */
static void locate(const struct parse *p, const char *key, int *line, int *col)
{
	size_t klen = strlen(key);
	const char *s = p->text, *hit = NULL, *q;

	*line = 1;
	*col = 1;
	while ((s = strchr(s, '"'))) {
		if (!strncmp(s + 1, key, klen) && s[klen + 1] == '"') {
			for (q = s + klen + 2; *q == ' ' || *q == '\t' || *q == '\n' || *q == '\r';
			     q++)
				;
			if (*q == ':') {
				hit = s;
				break;
			}
		}
		s++;
	}
	if (!hit)
		return;
	for (q = p->text; q < hit; q++) {
		if (*q == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

static int fail_at(const struct parse *p, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Writes "origin:line:col: message" for the position of `key` and returns -EINVAL. */
static int fail_at(const struct parse *p, const char *key, const char *fmt, ...)
{
	char msg[512];
	int line = 0, col = 0;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (key)
		locate(p, key, &line, &col);
	if (line)
		snprintf(p->err, p->errlen, "%s:%d:%d: %s", p->origin, line, col, msg);
	else
		snprintf(p->err, p->errlen, "%s: %s", p->origin, msg);
	return -EINVAL;
}

static int edit_distance(const char *a, const char *b)
{
	int la = strlen(a), lb = strlen(b), i, j;
	int d[64][64];

	if (la >= 64 || lb >= 64)
		return 99;
	for (i = 0; i <= la; i++)
		d[i][0] = i;
	for (j = 0; j <= lb; j++)
		d[0][j] = j;
	for (i = 1; i <= la; i++) {
		for (j = 1; j <= lb; j++) {
			int sub = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
			int del = d[i - 1][j] + 1, ins = d[i][j - 1] + 1;

			d[i][j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
		}
	}
	return d[la][lb];
}

/* Rejects keys of `obj` not in `allowed` (NULL-terminated), suggesting the closest. */
static int check_keys(const struct parse *p, json_t *obj, const char *where,
		      const char *const *allowed)
{
	const char *key, *best = NULL;
	int i, d, bestd;
	json_t *v;

	json_object_foreach (obj, key, v) {
		for (i = 0; allowed[i]; i++)
			if (!strcmp(key, allowed[i]))
				break;
		if (allowed[i])
			continue;
		bestd = 3;
		for (i = 0; allowed[i]; i++) {
			d = edit_distance(key, allowed[i]);
			if (d < bestd) {
				bestd = d;
				best = allowed[i];
			}
		}
		if (best)
			return fail_at(p, key, "unknown key \"%s\" in %s (did you mean \"%s\"?)",
				       key, where, best);
		return fail_at(p, key, "unknown key \"%s\" in %s", key, where);
	}
	return 0;
}

int config__parse_duration(const char *s, __u64 *ns)
{
	static const struct {
		const char *unit;
		__u64 ns;
	} units[] = {{"ns", 1},
		     {"us", 1000},
		     {"ms", 1000000},
		     {"s", 1000000000},
		     {"m", 60000000000ULL},
		     {"h", 3600000000000ULL},
		     {"d", 86400000000000ULL},
		     {"", 1000000000}};
	const __u64 max = 1000000000000000000ULL; /* about 31 years */
	__u64 scale = 1, frac = 0;
	long long whole;
	const char *p;
	size_t i;
	int err;

	if (!s)
		return -EINVAL;
	err = num__parse(s, &p, 0, max, &whole);
	if (err)
		return err;
	if (*p == '.') {
		/* Nine fraction digits reach nanoseconds of a second; finer ones are dropped. */
		if (p[1] < '0' || p[1] > '9')
			return -EINVAL;
		for (p++; *p >= '0' && *p <= '9'; p++) {
			if (scale < 1000000000) {
				frac = frac * 10 + (*p - '0');
				scale *= 10;
			}
		}
	}
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(p, units[i].unit))
			continue;
		if ((__u64)whole > max / units[i].ns)
			return -ERANGE;
		/* frac < scale <= 10^9: neither product can overflow. */
		*ns = (__u64)whole * units[i].ns + frac * (units[i].ns / scale) +
		      frac * (units[i].ns % scale) / scale;
		return *ns > max ? -ERANGE : 0;
	}
	return -EINVAL;
}

static int get_string(const struct parse *p, json_t *obj, const char *key, const char **out)
{
	json_t *v = json_object_get(obj, key);

	if (!v)
		return 0;
	if (!json_is_string(v))
		return fail_at(p, key, "\"%s\" must be a string", key);
	*out = json_string_value(v);
	return 1;
}

static int get_bool(const struct parse *p, json_t *obj, const char *key, bool *out)
{
	json_t *v = json_object_get(obj, key);

	if (!v)
		return 0;
	if (!json_is_boolean(v))
		return fail_at(p, key, "\"%s\" must be true or false", key);
	*out = json_is_true(v);
	return 1;
}

/* Reads number `key` (an integer or a real) into *out when present and within [lo, hi]. */
static int get_number(const struct parse *p, json_t *obj, const char *key, double lo, double hi,
		      double *out)
{
	json_t *v = json_object_get(obj, key);

	if (!v)
		return 0;
	if (!json_is_number(v))
		return fail_at(p, key, "\"%s\" must be a number", key);
	if (json_number_value(v) < lo || json_number_value(v) > hi)
		return fail_at(p, key, "\"%s\" is %g, must be between %g and %g", key,
			       json_number_value(v), lo, hi);
	*out = json_number_value(v);
	return 1;
}

static int get_int(const struct parse *p, json_t *obj, const char *key, long long lo, long long hi,
		   long long *out)
{
	json_t *v = json_object_get(obj, key);

	if (!v)
		return 0;
	if (!json_is_integer(v))
		return fail_at(p, key, "\"%s\" must be an integer", key);
	if (json_integer_value(v) < lo || json_integer_value(v) > hi)
		return fail_at(p, key, "\"%s\" is %lld, must be between %lld and %lld", key,
			       json_integer_value(v), lo, hi);
	*out = json_integer_value(v);
	return 1;
}

/*
 * Reads duration `key` (a string like "250ms") into *ns when present and
 * within [lo, hi] nanoseconds; `hint` is shown in the error.
 */
static int get_duration(const struct parse *p, json_t *obj, const char *key, __u64 lo, __u64 hi,
			const char *range, __u64 *ns)
{
	const char *s = NULL;
	__u64 v;
	int err;

	err = get_string(p, obj, key, &s);
	if (err <= 0)
		return err;
	if (config__parse_duration(s, &v) || v < lo || v > hi)
		return fail_at(p, key, "\"%s\" is \"%s\", must be a duration %s", key, s, range);
	*ns = v;
	return 1;
}

/* Highest $N a name template uses, or -1; -EINVAL for a lone '$'. */
static int template_max_group(const char *t)
{
	int max = -1;

	for (; *t; t++) {
		if (*t != '$')
			continue;
		if (t[1] < '0' || t[1] > '9')
			return -EINVAL;
		if (t[1] - '0' > max)
			max = t[1] - '0';
		t++;
	}
	return max;
}

/*
 * Rejects patterns that make glibc's regcomp() blow up in time or memory:
 * stacked quantifiers ("a++", undefined in POSIX anyway) and large
 * repetition bounds, which it expands. Each bound saturates at the limit,
 * so no bound however long can wrap the sum. Returns NULL or what is wrong.
 */
static const char *regex_too_costly(const char *re, char *why, size_t whylen)
{
	const long long limit = 1000;
	int in_bracket = 0, prev_quant = 0, n;
	long long bounds = 0;
	const char *c;

	if (strlen(re) > 512)
		return "longer than 512 characters";
	for (c = re; *c; c++) {
		int quant = 0;

		if (*c == '\\' && c[1]) {
			c++;
			prev_quant = 0;
			continue;
		}
		if (in_bracket) {
			in_bracket = *c != ']' || c[-1] == '[' || (c[-1] == '^' && c[-2] == '[');
			continue;
		}
		if (*c == '[') {
			in_bracket = 1;
		} else if (*c == '*' || *c == '+' || *c == '?') {
			quant = 1;
		} else if (*c == '{') {
			const char *e = strchr(c, '}'), *p = c + 1;
			long long lo = 0, hi = 0;

			if (!e)
				break; /* regcomp reports it */
			/* {n}, {n,} and {n,m}; regcomp rejects any other form. */
			if (num__parse(p, &p, 0, limit, &lo) == -ERANGE)
				goto too_large;
			hi = lo;
			if (*p == ',' && num__parse(p + 1, &p, 0, limit, &hi) == -ERANGE)
				goto too_large;
			bounds += (hi > lo ? hi : lo) + 1;
			if (bounds > limit)
				return "repetition bounds add up to more than 1000";
			c = e;
			quant = 1;
		}
		if (quant && prev_quant) {
			snprintf(why, whylen, "stacked quantifiers at offset %d", (int)(c - re));
			return why;
		}
		prev_quant = quant;
	}
	return NULL;

too_large:
	n = strcspn(c, "}") + 1;
	snprintf(why, whylen, "repetition bound %.*s%s at offset %d is above %lld", n > 32 ? 32 : n,
		 c, n > 32 ? "..." : "", (int)(c - re), limit);
	return why;
}

static int parse_rule(const struct parse *p, json_t *r, int index, struct rule *out)
{
	static const char *const keys[] = {"match", "regex", "name", "tenant", NULL};
	static const char *const matches[] = {[RULE_CGROUP] = "cgroup",
					      [RULE_COMM] = "comm",
					      [RULE_EXE] = "exe",
					      [RULE_CMDLINE] = "cmdline"};
	const char *match = NULL, *regex = NULL, *name = NULL, *tenant = NULL, *costly;
	char where[64], msg[256];
	int err, i, maxg, maxt;

	snprintf(where, sizeof(where), "identity.rules[%d]", index);
	if (!json_is_object(r))
		return fail_at(p, "rules", "%s must be an object", where);
	err = check_keys(p, r, where, keys);
	if (err)
		return err;
	if ((err = get_string(p, r, "match", &match)) < 0 ||
	    (err = get_string(p, r, "regex", &regex)) < 0 ||
	    (err = get_string(p, r, "name", &name)) < 0 ||
	    (err = get_string(p, r, "tenant", &tenant)) < 0)
		return err;
	if (!match || !regex)
		return fail_at(p, "rules", "%s needs \"match\" and \"regex\"", where);
	for (i = 0; i < 4; i++)
		if (!strcmp(match, matches[i]))
			break;
	if (i == 4)
		return fail_at(p, "match",
			       "%s: \"match\" is \"%s\", must be cgroup, comm, exe or cmdline",
			       where, match);
	out->match = i;
	if ((costly = regex_too_costly(regex, msg, sizeof(msg))))
		return fail_at(p, "regex", "%s: regex \"%s\" is too costly to compile: %s", where,
			       regex, costly);
	err = regcomp(&out->re, regex, REG_EXTENDED);
	if (err) {
		regerror(err, &out->re, msg, sizeof(msg));
		return fail_at(p, "regex", "%s: invalid regex \"%s\": %s", where, regex, msg);
	}
	if (!name)
		name = out->re.re_nsub ? "$1" : NULL;
	maxg = name ? template_max_group(name) : 0;
	maxt = tenant ? template_max_group(tenant) : 0;
	if (!name) {
		err = fail_at(p, "regex", "%s: regex has no capture group, so it needs a \"name\"",
			      where);
	} else if (maxg == -EINVAL) {
		err = fail_at(p, "name", "%s: name \"%s\": '$' must be followed by a digit", where,
			      name);
	} else if (maxg > (int)out->re.re_nsub) {
		err = fail_at(p, "name", "%s: name \"%s\" uses $%d but the regex has %zu groups",
			      where, name, maxg, out->re.re_nsub);
	} else if (tenant && (!tenant[0] || strlen(tenant) >= SW_NAME_LEN)) {
		err = fail_at(p, "tenant", "%s: tenant \"%s\" must be 1-%d bytes", where, tenant,
			      SW_NAME_LEN - 1);
	} else if (maxt == -EINVAL) {
		err = fail_at(p, "tenant", "%s: tenant \"%s\": '$' must be followed by a digit",
			      where, tenant);
	} else if (maxt > (int)out->re.re_nsub) {
		err = fail_at(p, "tenant",
			      "%s: tenant \"%s\" uses $%d but the regex has %zu groups", where,
			      tenant, maxt, out->re.re_nsub);
	} else if (!(out->regex = strdup(regex)) || !(out->name = strdup(name)) ||
		   (tenant && !(out->tenant = strdup(tenant)))) {
		fail_at(p, NULL, "%s: out of memory", where);
		err = -ENOMEM;
	}
	if (err) {
		regfree(&out->re);
		free(out->regex);
		free(out->name);
		free(out->tenant);
		out->regex = out->name = out->tenant = NULL;
	}
	return err;
}

/* Compiles the rule array rs into c->rules, which must be NULL. */
static int parse_rules(const struct parse *p, json_t *rs, struct config *c)
{
	struct rule *rules;
	json_t *r;
	int err, pass;
	size_t i, n;

	if (!json_is_array(rs))
		return fail_at(p, "rules", "\"rules\" must be an array");
	n = json_array_size(rs);
	rules = calloc(n ? n : 1, sizeof(*rules));
	if (!rules)
		return -ENOMEM;
	/* Cgroup rules first, then command rules, each in file order. */
	for (pass = 0; pass < 2; pass++) {
		json_array_foreach (rs, i, r) {
			struct rule tmp;
			const char *m = json_is_object(r)
						? json_string_value(json_object_get(r, "match"))
						: NULL;
			int is_cgroup = m && !strcmp(m, "cgroup");

			if ((pass == 0) != is_cgroup)
				continue;
			memset(&tmp, 0, sizeof(tmp));
			err = parse_rule(p, r, i, &tmp);
			if (err)
				goto err_rules;
			rules[c->nrules++] = tmp;
			if (is_cgroup)
				c->ncgroup_rules++;
		}
	}
	c->rules = rules;
	return 0;

err_rules:
	c->rules = rules; /* config__free releases what was compiled */
	return err;
}

static int parse_identity(const struct parse *p, json_t *id, struct config *c)
{
	static const char *const keys[] = {"marker", "rules", NULL};
	json_t *rs;
	int err;

	if (!json_is_object(id))
		return fail_at(p, "identity", "\"identity\" must be an object");
	err = check_keys(p, id, "identity", keys);
	if (err || (err = get_bool(p, id, "marker", &c->marker)) < 0)
		return err;
	rs = json_object_get(id, "rules");
	return rs ? parse_rules(p, rs, c) : 0;
}

/*
 * Gives c the built-in identity rules, for a file that does not set
 * identity.rules (an explicit [] means none). Every other key's default is
 * set by defaults() before parsing and stays unless the file sets it.
 */
static int builtin_rules(struct config *c, char *err, size_t errlen)
{
	struct parse p = {config__builtin, "built-in defaults", err, errlen};
	json_t *root;
	int ret;

	root = json_loads(config__builtin, 0, NULL);
	if (!root)
		return -ENOMEM; /* defensive: the built-in text is valid JSON (unit-tested) */
	ret = parse_rules(&p, json_object_get(json_object_get(root, "identity"), "rules"), c);
	json_decref(root);
	c->builtin_rules = !ret;
	return ret;
}

static int parse_syscalls(const struct parse *p, json_t *s, struct config *c)
{
	static const char *const keys[] = {"ignored_errnos", "top_errnos", "latency_sampling",
					   NULL};
	long long top = 0;
	json_t *list, *e;
	size_t i;
	int err;

	if (!json_is_object(s))
		return fail_at(p, "syscalls", "\"syscalls\" must be an object");
	err = check_keys(p, s, "syscalls", keys);
	if (err)
		return err;
	err = get_int(p, s, "top_errnos", 1, 64, &top);
	if (err < 0)
		return err;
	if (err)
		c->top_errnos = top;
	err = get_bool(p, s, "latency_sampling", &c->latency_sampling);
	if (err < 0)
		return err;
	list = json_object_get(s, "ignored_errnos");
	if (!list)
		return 0;
	if (!json_is_array(list))
		return fail_at(p, "ignored_errnos", "\"ignored_errnos\" must be an array of names");
	memset(c->errno_ignored, 0, sizeof(c->errno_ignored));
	json_array_foreach (list, i, e) {
		int n = json_is_string(e) ? syscalls__errno_parse(json_string_value(e)) : -EINVAL;

		if (n < 0)
			return fail_at(p, "ignored_errnos",
				       "ignored_errnos[%zu]: not an errno name (like \"EAGAIN\")",
				       i);
		c->errno_ignored[n] = 1;
	}
	return 0;
}

static int parse_collectors(const struct parse *p, json_t *o, struct config *c)
{
	static const char *const keys[] = {"syscalls", "sched", "page_faults", "oom", "net", NULL};
	int err, i;

	if (!json_is_object(o))
		return fail_at(p, "collectors", "\"collectors\" must be an object");
	err = check_keys(p, o, "collectors", keys);
	if (err)
		return err;
	for (i = COLLECTOR_SYSCALLS; i < COLLECTOR_MAX; i++) {
		err = get_bool(p, o, sw_collector_name(i), &c->collectors[i]);
		if (err < 0)
			return err;
	}
	return 0;
}

/* "tls": {"agents": ["llm-*", "planner"]}: agents whose OpenSSL calls are probed. */
static int parse_tls(const struct parse *p, json_t *o, struct config *c)
{
	static const char *const keys[] = {"agents", NULL};
	json_t *list, *e;
	size_t i;
	int err;

	if (!json_is_object(o))
		return fail_at(p, "tls", "\"tls\" must be an object");
	err = check_keys(p, o, "tls", keys);
	if (err)
		return err;
	list = json_object_get(o, "agents");
	if (!list)
		return 0;
	if (!json_is_array(list))
		return fail_at(p, "agents",
			       "\"tls.agents\" must be an array of agent name patterns");
	json_array_foreach (list, i, e) {
		const char *pat = json_string_value(e);

		if (!pat || !pat[0] || strlen(pat) >= SW_NAME_LEN)
			return fail_at(
				p, "agents",
				"tls.agents[%zu] must be an agent name or pattern of 1 to %d "
				"characters",
				i, SW_NAME_LEN - 1);
		if (c->ntls_agents == CONFIG_MAX_TLS_AGENTS)
			return fail_at(p, "agents", "more than %d tls.agents patterns",
				       CONFIG_MAX_TLS_AGENTS);
		snprintf(c->tls_agents[c->ntls_agents++], SW_NAME_LEN, "%s", pat);
	}
	return 0;
}

bool config__tls_agent(const struct config *c, const char *name)
{
	int i;

	for (i = 0; i < c->ntls_agents; i++)
		if (!fnmatch(c->tls_agents[i], name, 0))
			return true;
	return false;
}

__u64 config__host_id(const char *name)
{
	__u64 h = 0xcbf29ce484222325ULL; /* FNV-1a, 64 bits, as host.bpf.h */

	for (; *name; name++)
		h = (h ^ (__u8)*name) * 0x100000001b3ULL;
	return h ? h : 1;
}

static bool upstream_name_ok(const char *name);

/* "llm": {"upstreams": [{"host", "port", "provider"}], "prices": FILE, "max_models": N}. */
static int parse_llm(const struct parse *p, json_t *o, struct config *c)
{
	static const char *const keys[] = {"upstreams", "prices", "max_models", NULL};
	static const char *const ukeys[] = {"host", "port", "provider", NULL};
	const char *prices = NULL;
	json_t *list, *u;
	long long n = 0;
	char where[48];
	size_t i;
	int err;

	if (!json_is_object(o))
		return fail_at(p, "llm", "\"llm\" must be an object");
	if ((err = check_keys(p, o, "llm", keys)) ||
	    (err = get_string(p, o, "prices", &prices)) < 0 ||
	    (err = get_int(p, o, "max_models", 1, 256, &n)) < 0)
		return err;
	if (n)
		c->llm_max_models = n;
	if (prices) {
		if (!prices[0] || strlen(prices) >= sizeof(c->llm_prices))
			return fail_at(p, "prices",
				       "\"llm.prices\" must be a file path of 1 to %zu "
				       "characters",
				       sizeof(c->llm_prices) - 1);
		snprintf(c->llm_prices, sizeof(c->llm_prices), "%s", prices);
	}
	list = json_object_get(o, "upstreams");
	if (!list)
		return 0;
	if (!json_is_array(list))
		return fail_at(p, "upstreams", "\"llm.upstreams\" must be an array");
	json_array_foreach (list, i, u) {
		struct llm_upstream *up = &c->llm_upstreams[c->nllm_upstreams];
		const char *host = NULL, *provider = NULL;
		long long port = 0;
		size_t k;

		snprintf(where, sizeof(where), "llm.upstreams[%zu]", i);
		if (c->nllm_upstreams == CONFIG_MAX_LLM_UPSTREAMS)
			return fail_at(p, "upstreams", "more than %d llm.upstreams",
				       CONFIG_MAX_LLM_UPSTREAMS);
		if (!json_is_object(u))
			return fail_at(p, "upstreams", "%s must be an object", where);
		if ((err = check_keys(p, u, where, ukeys)) ||
		    (err = get_string(p, u, "host", &host)) < 0 ||
		    (err = get_string(p, u, "provider", &provider)) < 0 ||
		    (err = get_int(p, u, "port", 1, 65535, &port)) < 0)
			return err;
		memset(up, 0, sizeof(*up));
		if (!host || !host[0])
			return fail_at(p, "upstreams",
				       "%s needs a \"host\": a host name or an IP address", where);
		if (inet_pton(AF_INET, host, up->addr) == 1) {
			up->family = AF_INET;
		} else if (inet_pton(AF_INET6, host, up->addr) == 1) {
			up->family = AF_INET6;
		} else {
			if (strlen(host) >= sizeof(up->host))
				return fail_at(p, "host",
					       "%s: host name longer than %zu characters", where,
					       sizeof(up->host) - 1);
			for (k = 0; host[k]; k++) {
				char ch = host[k];

				if (ch >= 'A' && ch <= 'Z')
					ch += 'a' - 'A';
				if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
				      ch == '.' || ch == '-'))
					return fail_at(
						p, "host",
						"%s: \"%s\" is not a host name (letters, digits, "
						"'.', '-') nor an IP address",
						where, host);
				up->host[k] = ch;
			}
			if (k && up->host[k - 1] == '.')
				up->host[k - 1] = 0;
		}
		if (!provider || !provider[0] || strlen(provider) >= sizeof(up->provider) ||
		    !upstream_name_ok(provider))
			return fail_at(p, "upstreams",
				       "%s needs a \"provider\" of 1 to %zu printable characters "
				       "(openai, anthropic, gcp.gemini, ollama...)",
				       where, sizeof(up->provider) - 1);
		snprintf(up->provider, sizeof(up->provider), "%s", provider);
		up->port = port;
		c->nllm_upstreams++;
	}
	return 0;
}

int config__llm_upstream(const struct config *c, __u64 host, int family, const __u32 addr[4],
			 int port)
{
	int i;

	for (i = 0; i < c->nllm_upstreams; i++) {
		const struct llm_upstream *u = &c->llm_upstreams[i];

		if (u->port && u->port != port)
			continue;
		if (u->host[0] ? host && config__host_id(u->host) == host
			       : u->family == family &&
					 !memcmp(u->addr, addr, family == AF_INET ? 4 : 16))
			return i;
	}
	return -1;
}

/* "10.0.0.0/8", "::1/128" or a bare address (a /32 or /128). */
static int parse_cidr(const char *s, struct upstream *u)
{
	char ip[64], *slash;
	int max;

	if (strlen(s) >= sizeof(ip))
		return -EINVAL;
	strcpy(ip, s);
	slash = strchr(ip, '/');
	if (slash)
		*slash = 0;
	memset(u->addr, 0, sizeof(u->addr));
	if (inet_pton(AF_INET, ip, u->addr) == 1) {
		u->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, ip, u->addr) == 1) {
		u->family = AF_INET6;
		max = 128;
	} else {
		return -EINVAL;
	}
	u->prefix = max;
	if (slash) {
		long long n;

		if (num__parse(slash + 1, NULL, 0, max, &n))
			return -EINVAL;
		u->prefix = n;
	}
	if (u->family == AF_INET6 && u->prefix >= 96 &&
	    IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)u->addr)) {
		/* ::ffff:a.b.c.d/N is the IPv4 block a.b.c.d/(N - 96): peers are kept as IPv4. */
		u->family = AF_INET;
		u->addr[0] = u->addr[3];
		u->addr[1] = u->addr[2] = u->addr[3] = 0;
		u->prefix -= 96;
	}
	return 0;
}

/* An upstream name becomes a label value as it is: no control characters. */
static bool upstream_name_ok(const char *name)
{
	char clean[sizeof(((struct upstream *)0)->name)];

	text__name(clean, sizeof(clean), name, strlen(name));
	return !strcmp(clean, name);
}

static int parse_upstreams(const struct parse *p, json_t *list, struct config *c)
{
	static const char *const keys[] = {"name", "cidr", "port", NULL};
	char where[48];
	json_t *u;
	size_t i;
	int err;

	if (!json_is_array(list))
		return fail_at(p, "upstreams", "\"upstreams\" must be an array");
	json_array_foreach (list, i, u) {
		struct upstream *up = &c->upstreams[c->nupstreams];
		const char *name = NULL, *cidr = NULL;
		long long port = 0;

		snprintf(where, sizeof(where), "upstreams[%zu]", i);
		if (c->nupstreams == CONFIG_MAX_UPSTREAMS)
			return fail_at(p, "upstreams", "more than %d upstreams",
				       CONFIG_MAX_UPSTREAMS);
		if (!json_is_object(u))
			return fail_at(p, "upstreams", "%s must be an object", where);
		if ((err = check_keys(p, u, where, keys)) ||
		    (err = get_string(p, u, "name", &name)) < 0 ||
		    (err = get_string(p, u, "cidr", &cidr)) < 0 ||
		    (err = get_int(p, u, "port", 1, 65535, &port)) < 0)
			return err;
		if (!name || !name[0] || strlen(name) >= sizeof(up->name))
			return fail_at(p, "upstreams", "%s needs a \"name\" of 1 to %zu characters",
				       where, sizeof(up->name) - 1);
		if (!upstream_name_ok(name))
			return fail_at(p, "upstreams",
				       "%s: \"name\" has a control character; use printable text",
				       where);
		if (!cidr)
			return fail_at(p, "upstreams", "%s needs a \"cidr\"", where);
		if (parse_cidr(cidr, up))
			return fail_at(p, "cidr", "%s: \"%s\" is not an address or CIDR block",
				       where, cidr);
		snprintf(up->name, sizeof(up->name), "%s", name);
		up->port = port;
		c->nupstreams++;
	}
	return 0;
}

static bool prefix_match(const __u32 *a, const __u32 *b, int bits)
{
	const unsigned char *x = (const void *)a, *y = (const void *)b;
	int i;

	for (i = 0; bits >= 8; i++, bits -= 8)
		if (x[i] != y[i])
			return false;
	return !bits || !((x[i] ^ y[i]) & (0xff << (8 - bits)));
}

void config__upstream_label(const struct config *c, int family, const __u32 addr[4], int port,
			    const char *host, char *out, size_t len)
{
	char ip[INET6_ADDRSTRLEN];
	__u32 v4[4] = {0};
	int i;

	if (family == AF_INET6 && IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)addr)) {
		v4[0] = addr[3]; /* ::ffff:a.b.c.d is the IPv4 peer a.b.c.d */
		family = AF_INET;
		addr = v4;
	}
	for (i = 0; i < c->nupstreams; i++) {
		const struct upstream *u = &c->upstreams[i];

		if (u->family == family && (!u->port || u->port == port) &&
		    prefix_match(u->addr, addr, u->prefix)) {
			snprintf(out, len, "%s", u->name);
			return;
		}
	}
	if (host && host[0] && port) {
		snprintf(out, len, "%s:%d", host, port);
		return;
	}
	if (!inet_ntop(family, addr, ip, sizeof(ip)))
		snprintf(ip, sizeof(ip), "unknown");
	if (!port)
		snprintf(out, len, "%s", ip);
	else
		snprintf(out, len, family == AF_INET6 ? "[%s]:%d" : "%s:%d", ip, port);
}

static int parse_anomaly(const struct parse *p, json_t *o, struct config *c)
{
	static const char *const keys[] = {"warmup", "hold", NULL};
	long long n = 0;
	int err;

	if (!json_is_object(o))
		return fail_at(p, "anomaly", "\"anomaly\" must be an object");
	err = check_keys(p, o, "anomaly", keys);
	if (err)
		return err;
	err = get_int(p, o, "warmup", 2, 1000000, &n);
	if (err < 0)
		return err;
	if (err)
		c->anomaly_warmup = n;
	err = get_duration(p, o, "hold", 0, 86400000000000ULL, "up to 24h (\"1m\")",
			   &c->anomaly_hold_ns);
	return err < 0 ? err : 0;
}

static int parse_store(const struct parse *p, json_t *o, struct config *c)
{
	static const char *const keys[] = {"dir",   "memory",	   "raw",   "minutes",
					   "hours", "max_size_mb", "flush", NULL};
	static const char *const tiers[] = {"raw", "minutes", "hours"};
	const char *s = NULL;
	long long n = 0;
	int err, i;

	if (!json_is_object(o))
		return fail_at(p, "store", "\"store\" must be an object");
	err = check_keys(p, o, "store", keys);
	if (err)
		return err;
	err = get_string(p, o, "dir", &s);
	if (err < 0)
		return err;
	if (err) {
		if ((s[0] && s[0] != '/') || strlen(s) >= sizeof(c->store_dir) - 32)
			return fail_at(p, "dir",
				       "\"dir\" must be an absolute path, or \"\" to keep history "
				       "in memory only");
		snprintf(c->store_dir, sizeof(c->store_dir), "%s", s);
	}
	err = get_duration(p, o, "memory", 60000000000ULL, 86400000000000ULL,
			   "from 1m to 1d (\"15m\")", &c->store_memory_ns);
	for (i = 0; i < 3 && err >= 0; i++)
		err = get_duration(p, o, tiers[i], 60000000000ULL, 3650 * 86400000000000ULL,
				   "from 1m to 3650d (\"6h\", \"14d\")", &c->store_retention_ns[i]);
	if (err >= 0)
		err = get_duration(p, o, "flush", 1000000000ULL, 3600000000000ULL,
				   "from 1s to 1h (\"10s\")", &c->store_flush_ns);
	if (err < 0)
		return err;
	err = get_int(p, o, "max_size_mb", 0, 1LL << 30, &n);
	if (err < 0)
		return err;
	if (err)
		c->store_max_bytes = (__u64)n << 20;
	if (c->store_retention_ns[0] < c->store_memory_ns)
		return fail_at(p, "raw", "\"raw\" must be at least \"memory\"");
	return 0;
}

/* --- alerts and receivers --- */

/*
 * Line and column of byte off of string value val as the file writes it (escapes counted), or
 * 0 when the value cannot be found as written.
 */
static void locate_value(const struct parse *p, const char *val, size_t off, int *line, int *col)
{
	json_t *j = json_string(val);
	char *enc = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;
	const char *hit = enc ? strstr(p->text, enc) : NULL, *q;
	size_t k;

	*line = 0;
	*col = 0;
	if (hit) {
		q = hit + 1;
		for (k = 0; k < off && *q && *q != '"'; k++)
			q += *q != '\\' ? 1 : q[1] == 'u' ? 6 : 2;
		*line = 1;
		*col = 1;
		for (hit = p->text; hit < q; hit++) {
			if (*hit == '\n') {
				(*line)++;
				*col = 1;
			} else {
				(*col)++;
			}
		}
	}
	free(enc);
	json_decref(j);
}

/* A rule's condition that does not parse: the error at its place in the file. */
static int fail_expr(const struct parse *p, const char *where, const char *expr, const char *why)
{
	int el = 0, ec = 0, line, col, l = 1, c = 1;
	const char *msg = why, *q;
	size_t off = 0;

	if (sscanf(why, "%d:%d: ", &el, &ec) == 2 && (msg = strstr(why, ": ")))
		msg += 2;
	for (q = expr; *q && (l < el || (l == el && c < ec)); q++, off++) {
		if (*q == '\n') {
			l++;
			c = 1;
		} else {
			c++;
		}
	}
	locate_value(p, expr, off, &line, &col);
	if (!line)
		return fail_at(p, "expr", "%s: condition \"%s\": %s", where, expr, why);
	snprintf(p->err, p->errlen, "%s:%d:%d: %s: condition: %s", p->origin, line, col, where,
		 msg ? msg : why);
	return -EINVAL;
}

static int get_ms(const struct parse *p, json_t *obj, const char *key, const char *where,
		  int64_t *ms)
{
	__u64 ns = 0;
	int err =
		get_duration(p, obj, key, 0, 30 * 86400000000000ULL, "up to 30 days (\"5m\")", &ns);

	(void)where;
	if (err > 0)
		*ms = (int64_t)(ns / 1000000);
	return err;
}

static int get_severity(const struct parse *p, json_t *obj, const char *key, const char *where,
			enum alert_severity *out)
{
	const char *s = NULL;
	int err = get_string(p, obj, key, &s), sev;

	if (err <= 0)
		return err;
	sev = alert__severity_parse(s);
	if (sev < 0)
		return fail_at(p, key,
			       "%s: severity \"%s\" is not info, warning, critical or emergency",
			       where, s);
	*out = sev;
	return 1;
}

/* {"name": "value", ...} into kv (cap entries). */
static int get_kv(const struct parse *p, json_t *obj, const char *key, const char *where,
		  struct alert_kv *kv, uint32_t cap, uint32_t *n)
{
	json_t *o = json_object_get(obj, key), *v;
	const char *k;

	if (!o)
		return 0;
	if (!json_is_object(o))
		return fail_at(p, key, "%s: \"%s\" must be an object of strings", where, key);
	*n = 0;
	json_object_foreach (o, k, v) {
		if (*n == cap)
			return fail_at(p, key, "%s: more than %u %s", where, cap, key);
		if (!json_is_string(v) || strlen(k) >= sizeof(kv->name) ||
		    strlen(json_string_value(v)) >= sizeof(kv->value))
			return fail_at(
				p, key,
				"%s: %s \"%s\" must be a string (names under %zu characters, "
				"values under %zu)",
				where, key, k, sizeof(kv->name), sizeof(kv->value));
		snprintf(kv[*n].name, sizeof(kv->name), "%s", k);
		snprintf(kv[*n].value, sizeof(kv->value), "%s", json_string_value(v));
		(*n)++;
	}
	return 1;
}

static int parse_alert_rule(const struct parse *p, json_t *r, int index, struct alert_rule *out)
{
	static const char *const keys[] = {
		"name",	     "expr",	       "severity", "for",	  "keep_firing_for",
		"min_score", "min_confidence", "labels",   "annotations", "enabled",
		NULL};
	const char *name = NULL, *expr = NULL;
	char where[96], why[256];
	struct alert_expr x;
	json_t *v;
	bool on = true;
	int err;
	uint32_t i;

	snprintf(where, sizeof(where), "alerts.rules[%d]", index);
	if (!json_is_object(r))
		return fail_at(p, "rules", "%s must be an object", where);
	if ((err = check_keys(p, r, where, keys)) || (err = get_string(p, r, "name", &name)) < 0 ||
	    (err = get_string(p, r, "expr", &expr)) < 0)
		return err < 0 ? err : -EINVAL;
	if (!name || !expr || !*name)
		return fail_at(p, "rules", "%s needs a \"name\" and an \"expr\"", where);
	memset(out, 0, sizeof(*out));
	if (strlen(name) >= sizeof(out->name) || strlen(expr) >= sizeof(out->expr_text))
		return fail_at(p, "name", "%s: name under %zu and expr under %zu characters", where,
			       sizeof(out->name), sizeof(out->expr_text));
	snprintf(out->name, sizeof(out->name), "%s", name);
	snprintf(where, sizeof(where), "alerts.rules[%d] \"%s\"", index, name);
	snprintf(out->expr_text, sizeof(out->expr_text), "%s", expr);
	if (alert__parse_expr(expr, &x, why, sizeof(why)))
		return fail_expr(p, where, expr, why);
	out->severity = ALERT_WARNING;
	out->min_score = 0.8;
	out->min_confidence = 0.5;
	if ((err = get_severity(p, r, "severity", where, &out->severity)) < 0 ||
	    (err = get_ms(p, r, "for", where, &out->for_ms)) < 0 ||
	    (err = get_ms(p, r, "keep_firing_for", where, &out->keep_firing_for_ms)) < 0 ||
	    (err = get_kv(p, r, "labels", where, out->labels, ALERT_LABELS_MAX, &out->nlabels)) <
		    0 ||
	    (err = get_kv(p, r, "annotations", where, out->annotations, ALERT_ANNOTATIONS_MAX,
			  &out->nannotations)) < 0 ||
	    (err = get_bool(p, r, "enabled", &on)) < 0)
		return err;
	out->disabled = !on;
	for (i = 0; i < 2; i++) {
		const char *k = i ? "min_confidence" : "min_score";
		double *d = i ? &out->min_confidence : &out->min_score;

		v = json_object_get(r, k);
		if (!v)
			continue;
		if (!json_is_number(v) || json_number_value(v) < 0 || json_number_value(v) > 1)
			return fail_at(p, k, "%s: \"%s\" must be a number from 0 to 1", where, k);
		*d = json_number_value(v);
	}
	for (i = 0; i < out->nannotations; i++)
		if (alert__template_check(out->annotations[i].value, why, sizeof(why)))
			return fail_at(p, "annotations", "%s: annotation \"%s\": %s", where,
				       out->annotations[i].name, why);
	if (!out->nannotations) {
		snprintf(out->annotations[0].name, sizeof(out->annotations[0].name), "summary");
		snprintf(out->annotations[0].value, sizeof(out->annotations[0].value),
			 "{{agent}}: {{rule}} ({{value}}, threshold {{threshold}})");
		out->nannotations = 1;
	}
	return 0;
}

static int parse_route(const struct parse *p, json_t *r, int index, struct config *c,
		       struct alert_route *out)
{
	static const char *const keys[] = {
		"receiver",	  "min_severity",    "match",	      "group_by", "group_wait",
		"group_interval", "repeat_interval", "send_resolved", "continue", NULL};
	const char *rcv = NULL;
	struct alert_kv kv[ALERT_MATCHERS_MAX];
	uint32_t nkv = 0, i;
	char where[64];
	json_t *g, *v;
	size_t k;
	int err;

	snprintf(where, sizeof(where), "alerts.routes[%d]", index);
	if (!json_is_object(r))
		return fail_at(p, "routes", "%s must be an object", where);
	if ((err = check_keys(p, r, where, keys)) || (err = get_string(p, r, "receiver", &rcv)) < 0)
		return err < 0 ? err : -EINVAL;
	if (!rcv)
		return fail_at(p, "routes", "%s needs a \"receiver\"", where);
	for (i = 0; i < c->notify->nreceivers; i++)
		if (!strcmp(c->notify->receivers[i].name, rcv))
			break;
	if (i == c->notify->nreceivers)
		return fail_at(p, "receiver", "%s: no receiver named \"%s\" under \"receivers\"",
			       where, rcv);
	alert__route_default(out, rcv);
	out->push = c->notify->receivers[i].channel == NOTIFY_ALERTMANAGER;
	if ((err = get_severity(p, r, "min_severity", where, &out->min_severity)) < 0 ||
	    (err = get_kv(p, r, "match", where, kv, ALERT_MATCHERS_MAX, &nkv)) < 0 ||
	    (err = get_ms(p, r, "group_wait", where, &out->group_wait_ms)) < 0 ||
	    (err = get_ms(p, r, "group_interval", where, &out->group_interval_ms)) < 0 ||
	    (err = get_ms(p, r, "repeat_interval", where, &out->repeat_interval_ms)) < 0 ||
	    (err = get_bool(p, r, "send_resolved", &out->send_resolved)) < 0 ||
	    (err = get_bool(p, r, "continue", &out->cont)) < 0)
		return err;
	for (i = 0; i < nkv; i++) {
		if (strlen(kv[i].value) >= sizeof(out->match[0].value))
			return fail_at(p, "match", "%s: match value \"%s\" is too long", where,
				       kv[i].value);
		snprintf(out->match[i].name, sizeof(out->match[0].name), "%s", kv[i].name);
		snprintf(out->match[i].value, sizeof(out->match[0].value), "%s", kv[i].value);
	}
	out->nmatch = nkv;
	if (out->group_interval_ms <= 0)
		return fail_at(p, "group_interval", "%s: \"group_interval\" must be positive",
			       where);
	g = json_object_get(r, "group_by");
	if (g) {
		if (!json_is_array(g) || json_array_size(g) > ALERT_GROUP_BY_MAX)
			return fail_at(p, "group_by",
				       "%s: \"group_by\" must be an array of up to %d "
				       "label names",
				       where, ALERT_GROUP_BY_MAX);
		out->ngroup_by = 0;
		json_array_foreach (g, k, v) {
			if (!json_is_string(v) || strlen(json_string_value(v)) >= 32)
				return fail_at(p, "group_by",
					       "%s: \"group_by\" entries are label names", where);
			snprintf(out->group_by[out->ngroup_by++], 32, "%s", json_string_value(v));
		}
	}
	return 0;
}

static int parse_receivers(const struct parse *p, json_t *list, struct config *c)
{
	static const char *const keys[] = {"name", "type", "url",     "secret",
					   "from", "to",   "timeout", NULL};
	struct notify_params *np = c->notify;
	json_t *r;
	size_t i;
	int err;

	if (!json_is_array(list))
		return fail_at(p, "receivers", "\"receivers\" must be an array");
	json_array_foreach (list, i, r) {
		const char *name = NULL, *type = NULL, *url = NULL, *secret = NULL, *from = NULL,
			   *to = NULL;
		struct notify_receiver *n;
		char where[64];
		__u64 ns = 0;
		uint32_t j;
		int ch;

		snprintf(where, sizeof(where), "receivers[%zu]", i);
		if (np->nreceivers == NOTIFY_RECEIVERS_MAX)
			return fail_at(p, "receivers", "more than %d receivers",
				       NOTIFY_RECEIVERS_MAX);
		if (!json_is_object(r))
			return fail_at(p, "receivers", "%s must be an object", where);
		if ((err = check_keys(p, r, where, keys)) ||
		    (err = get_string(p, r, "name", &name)) < 0 ||
		    (err = get_string(p, r, "type", &type)) < 0 ||
		    (err = get_string(p, r, "url", &url)) < 0 ||
		    (err = get_string(p, r, "secret", &secret)) < 0 ||
		    (err = get_string(p, r, "from", &from)) < 0 ||
		    (err = get_string(p, r, "to", &to)) < 0 ||
		    (err = get_duration(p, r, "timeout", 1000000ULL, 300000000000ULL,
					"from 1ms to 5m (\"10s\")", &ns)) < 0)
			return err < 0 ? err : -EINVAL;
		if (!name || !url || !name[0] || strlen(name) >= NOTIFY_NAME_MAX ||
		    strlen(url) >= NOTIFY_URL_MAX)
			return fail_at(p, "receivers",
				       "%s needs a \"name\" (under %d characters) and a \"url\"",
				       where, NOTIFY_NAME_MAX);
		ch = notify__channel_parse(type ? type : "webhook");
		if (ch < 0 || ch == NOTIFY_JSON) /* json: the scaling webhook's channel */
			return fail_at(
				p, "type",
				"%s: type \"%s\" is not webhook, alertmanager, slack or email",
				where, type);
		if (ch == NOTIFY_EMAIL ? strncmp(url, "smtp://", 7) && strncmp(url, "smtps://", 8)
				       : strncmp(url, "http://", 7) && strncmp(url, "https://", 8))
			return fail_at(p, "url", "%s: url \"%s\" must start with %s", where, url,
				       ch == NOTIFY_EMAIL ? "smtp:// or smtps://"
							  : "http:// or https://");
		if (ch == NOTIFY_EMAIL && (!from || !to))
			return fail_at(p, "receivers",
				       "%s: an email receiver needs \"from\" and \"to\"", where);
		for (j = 0; j < np->nreceivers; j++)
			if (!strcmp(np->receivers[j].name, name))
				return fail_at(p, "name",
					       "%s: a receiver named \"%s\" comes before", where,
					       name);
		n = &np->receivers[np->nreceivers++];
		memset(n, 0, sizeof(*n));
		snprintf(n->name, sizeof(n->name), "%s", name);
		n->channel = ch;
		snprintf(n->url, sizeof(n->url), "%s", url);
		snprintf(n->secret, sizeof(n->secret), "%s", secret ? secret : "");
		snprintf(n->mail_from, sizeof(n->mail_from), "%s", from ? from : "");
		snprintf(n->mail_to, sizeof(n->mail_to), "%s", to ? to : "");
		n->timeout_ms = (uint32_t)(ns / 1000000);
	}
	return 0;
}

static int parse_alerts(const struct parse *p, json_t *o, struct config *c)
{
	static const char *const keys[] = {
		"enabled", "default_rules",   "disable",  "rules",  "routes",
		"window",  "max_per_hour",    "cooldown", "resend", "external_url",
		"host",	   "incident_window", NULL};
	struct alert_params *ap = c->alerts;
	bool defaults_on = true;
	const char *s = NULL;
	json_t *list, *r;
	long long n = 0;
	size_t i;
	int err;
	uint32_t j;

	if (!json_is_object(o))
		return fail_at(p, "alerts", "\"alerts\" must be an object");
	if ((err = check_keys(p, o, "alerts", keys)) ||
	    (err = get_bool(p, o, "enabled", &c->alerts_on)) < 0 ||
	    (err = get_bool(p, o, "default_rules", &defaults_on)) < 0 ||
	    (err = get_duration(p, o, "window", 1000000000ULL, 3600000000000ULL,
				"from 1s to 1h (\"10s\")", &c->alerts_window_ns)) < 0 ||
	    (err = get_duration(p, o, "incident_window", 1000000000ULL, 3600000000000ULL,
				"from 1s to 1h (\"1m\")", &c->incident_window_ns)) < 0 ||
	    (err = get_int(p, o, "max_per_hour", 0, 32, &n)) < 0)
		return err;
	if (err)
		ap->max_per_hour = (uint32_t)n;
	if ((err = get_ms(p, o, "cooldown", "alerts", &ap->cooldown_ms)) < 0 ||
	    (err = get_ms(p, o, "resend", "alerts", &ap->resend_ms)) < 0)
		return err;
	if (ap->resend_ms < 1000)
		return fail_at(p, "resend", "\"resend\" must be at least 1s");
	if ((err = get_string(p, o, "external_url", &s)) < 0)
		return err;
	if (err) {
		if ((strncmp(s, "http://", 7) && strncmp(s, "https://", 8)) ||
		    strlen(s) >= sizeof(ap->external_url))
			return fail_at(p, "external_url",
				       "\"external_url\" must be an http(s):// URL");
		snprintf(ap->external_url, sizeof(ap->external_url), "%.*s",
			 (int)(strlen(s) - (s[strlen(s) - 1] == '/')), s);
		c->external_url_set = true;
	}
	if ((err = get_string(p, o, "host", &s)) < 0)
		return err;
	if (err)
		snprintf(ap->host, sizeof(ap->host), "%s", s);
	if (!defaults_on)
		ap->nrules = 0;
	list = json_object_get(o, "rules");
	if (list && !json_is_array(list))
		return fail_at(p, "rules", "\"alerts.rules\" must be an array");
	json_array_foreach (list, i, r) {
		struct alert_rule rule;
		size_t k;

		err = parse_alert_rule(p, r, (int)i, &rule);
		if (err)
			return err;
		/* Two rules of one name would be one alert: the second would drop the first. */
		for (k = 0; k < i; k++)
			if (!strcmp(json_string_value(
					    json_object_get(json_array_get(list, k), "name")),
				    rule.name))
				return fail_at(
					p, "rules",
					"alerts.rules[%zu]: a rule named \"%s\" comes before "
					"(alerts.rules[%zu]); give each rule its own name",
					i, rule.name, k);
		/* A rule named like a default one replaces it. */
		for (j = 0; j < ap->nrules; j++)
			if (!strcmp(ap->rules[j].name, rule.name))
				break;
		if (j == ap->nrules && ap->nrules == ALERT_RULES_MAX)
			return fail_at(p, "rules", "more than %d alert rules", ALERT_RULES_MAX);
		ap->rules[j] = rule;
		if (j == ap->nrules)
			ap->nrules++;
	}
	list = json_object_get(o, "disable");
	if (list && !json_is_array(list))
		return fail_at(p, "disable", "\"alerts.disable\" must be an array of rule names");
	json_array_foreach (list, i, r) {
		for (j = 0; j < ap->nrules; j++)
			if (json_is_string(r) && !strcmp(ap->rules[j].name, json_string_value(r)))
				break;
		if (j == ap->nrules)
			return fail_at(p, "disable", "alerts.disable[%zu]: no rule named %s%s%s", i,
				       json_is_string(r) ? "\"" : "",
				       json_is_string(r) ? json_string_value(r) : "(not a string)",
				       json_is_string(r) ? "\"" : "");
		ap->rules[j].disabled = true;
	}
	list = json_object_get(o, "routes");
	if (list && !json_is_array(list))
		return fail_at(p, "routes", "\"alerts.routes\" must be an array");
	if (list)
		ap->nroutes = 0;
	json_array_foreach (list, i, r) {
		if (ap->nroutes == ALERT_ROUTES_MAX)
			return fail_at(p, "routes", "more than %d routes", ALERT_ROUTES_MAX);
		err = parse_route(p, r, (int)i, c, &ap->routes[ap->nroutes]);
		if (err)
			return err;
		ap->nroutes++;
	}
	return 0;
}

/* --- pools and scaling --- */

/* Like fail_at(), for key inside the object of pool (the first "key" after "pool":). */
static int fail_in(const struct parse *p, const char *pool, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail_in(const struct parse *p, const char *pool, const char *key, const char *fmt, ...)
{
	char msg[512], pat[96];
	const char *from = p->text, *hit, *q;
	int line = 1, col = 1;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(pat, sizeof(pat), "\"%s\"", pool);
	if ((hit = strstr(p->text, "\"pools\"")) && (hit = strstr(hit, pat)))
		from = hit;
	else if (!strcmp(pool, "pool_defaults") && (hit = strstr(p->text, pat)))
		from = hit;
	snprintf(pat, sizeof(pat), "\"%s\"", key);
	hit = key ? strstr(from, pat) : NULL;
	if (!hit)
		hit = from;
	for (q = p->text; q < hit; q++) {
		if (*q == '\n') {
			line++;
			col = 1;
		} else {
			col++;
		}
	}
	snprintf(p->err, p->errlen, "%s:%d:%d: %s", p->origin, line, col, msg);
	return -EINVAL;
}

static bool rule_name_ok(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("_.-", *s))
			return false;
	return true;
}

static int parse_scale_rule(const struct parse *p, const char *pool, json_t *r, int index,
			    int64_t cooldown_ms, struct scale_rule *out)
{
	static const char *const keys[] = {"name",     "expr",	  "action", "cooldown",
					   "priority", "enabled", NULL};
	const char *name = NULL, *expr = NULL, *action = NULL;
	char where[160], why[256];
	long long prio = 0;
	bool on = true;
	int err;

	snprintf(where, sizeof(where), "pools.%s.rules[%d]", pool, index);
	if (!json_is_object(r))
		return fail_in(p, pool, "rules", "%s must be an object", where);
	if ((err = check_keys(p, r, where, keys)) || (err = get_string(p, r, "name", &name)) < 0 ||
	    (err = get_string(p, r, "expr", &expr)) < 0 ||
	    (err = get_string(p, r, "action", &action)) < 0)
		return err < 0 ? err : -EINVAL;
	if (!name || !expr || !action)
		return fail_in(p, pool, "rules",
			       "%s needs a \"name\", an \"expr\" and an \"action\"", where);
	memset(out, 0, sizeof(*out));
	if (!rule_name_ok(name) || strlen(name) >= sizeof(out->name) ||
	    strlen(expr) >= sizeof(out->expr_text) || strlen(action) >= sizeof(out->action_text))
		return fail_in(
			p, pool, "name",
			"%s: name of letters, digits, _ . - under %zu characters, expr under "
			"%zu, action under %zu",
			where, sizeof(out->name), sizeof(out->expr_text), sizeof(out->action_text));
	snprintf(out->name, sizeof(out->name), "%s", name);
	snprintf(out->expr_text, sizeof(out->expr_text), "%s", expr);
	snprintf(out->action_text, sizeof(out->action_text), "%s", action);
	snprintf(where, sizeof(where), "pools.%s.rules[%d] \"%s\"", pool, index, name);
	err = alert__parse_cond(expr, &out->cond, why, sizeof(why));
	if (err == -ENOMEM)
		return err;
	if (err)
		return fail_expr(p, where, expr, why);
	if (scale__parse_action(action, out, why, sizeof(why))) {
		int ec = 0;
		int line, col;

		if (sscanf(why, "1:%d:", &ec) == 1 && ec > 0)
			locate_value(p, action, (size_t)ec - 1, &line, &col);
		else
			line = 0;
		if (!line)
			return fail_in(p, pool, "action", "%s: action \"%s\": %s", where, action,
				       why);
		snprintf(p->err, p->errlen, "%s:%d:%d: %s: action: %s", p->origin, line, col, where,
			 strchr(why + 2, ':') ? strchr(why + 2, ':') + 2 : why);
		return -EINVAL;
	}
	out->cooldown_ms = cooldown_ms;
	if ((err = get_ms(p, r, "cooldown", where, &out->cooldown_ms)) < 0 ||
	    (err = get_int(p, r, "priority", -1000, 1000, &prio)) < 0 ||
	    (err = get_bool(p, r, "enabled", &on)) < 0)
		return err;
	out->priority = (int)prio;
	out->disabled = !on;
	return 0;
}

/* pools.NAME.breaker, .routing and .weights onto *pl. */
static int parse_breaker_routing(const struct parse *p, const char *name, json_t *o,
				 struct scale_pool *pl)
{
	static const char *const keys[] = {
		"error_ratio", "min_requests",	"consecutive_failures", "window",
		"open_wait",   "open_wait_max", "half_open_successes",	NULL};
	struct breaker_params *b = &pl->breaker;
	const char *s = NULL, *inst;
	char why[160];
	long long n;
	json_t *v, *x;
	int err;

	if ((v = json_object_get(o, "breaker"))) {
		if (!json_is_object(v))
			return fail_in(p, name, "breaker", "pools.%s.breaker must be an object",
				       name);
		if ((err = check_keys(p, v, "breaker", keys)))
			return err;
		if ((x = json_object_get(v, "error_ratio"))) {
			if (!json_is_number(x))
				return fail_in(
					p, name, "error_ratio",
					"pools.%s.breaker: error_ratio must be a number above "
					"0 and at most 1 (0.5)",
					name);
			b->error_ratio = json_number_value(x);
		}
		n = b->min_requests;
		if ((err = get_int(p, v, "min_requests", 1, 1000000, &n)) < 0)
			return err;
		b->min_requests = (uint32_t)n;
		n = b->consecutive_failures;
		if ((err = get_int(p, v, "consecutive_failures", 0, 1000000, &n)) < 0)
			return err;
		b->consecutive_failures = (uint32_t)n;
		n = b->half_open_successes;
		if ((err = get_int(p, v, "half_open_successes", 1, 1000000, &n)) < 0)
			return err;
		b->half_open_successes = (uint32_t)n;
		if ((err = get_ms(p, v, "window", name, &b->window_ms)) < 0 ||
		    (err = get_ms(p, v, "open_wait", name, &b->open_wait_ms)) < 0 ||
		    (err = get_ms(p, v, "open_wait_max", name, &b->open_wait_max_ms)) < 0)
			return err;
		/* An open_wait above the default cap raises the cap with it unless one is given. */
		if (!json_object_get(v, "open_wait_max") && b->open_wait_max_ms < b->open_wait_ms)
			b->open_wait_max_ms = b->open_wait_ms;
	}
	if (breaker__check(b, why, sizeof(why)))
		return fail_in(p, name, "breaker", "pools.%s.%s", name, why);
	if ((err = get_string(p, o, "routing", &s)) < 0)
		return err;
	if (err && weights__algorithm(s, &pl->routing))
		return fail_in(
			p, name, "routing",
			"pools.%s: routing \"%s\" is none of quality, round_robin, weighted, "
			"least_connections",
			name, s);
	if ((v = json_object_get(o, "weights"))) {
		if (!json_is_object(v) || json_object_size(v) > SCALE_WEIGHTS_MAX)
			return fail_in(p, name, "weights",
				       "pools.%s.weights must be an object of at most %d "
				       "{\"instance\": weight}",
				       name, SCALE_WEIGHTS_MAX);
		pl->nweights = 0;
		json_object_foreach (v, inst, x) {
			if (!*inst || strlen(inst) >= SCALE_INSTANCE_MAX || !json_is_number(x) ||
			    json_number_value(x) < 0)
				return fail_in(
					p, name, "weights",
					"pools.%s.weights: \"%s\" must be an instance name of 1 "
					"to %d characters with a number >= 0",
					name, inst, SCALE_INSTANCE_MAX - 1);
			snprintf(pl->weights[pl->nweights].instance, SCALE_INSTANCE_MAX, "%s",
				 inst);
			pl->weights[pl->nweights++].weight = json_number_value(x);
		}
	}
	return 0;
}

/* Applies pool object o onto *pl (a copy of the defaults). */
static int parse_pool(const struct parse *p, const char *name, json_t *o, struct scale_pool *pl)
{
	static const char *const keys[] = {"min_replicas",
					   "max_replicas",
					   "webhook",
					   "secret",
					   "command",
					   "command_timeout",
					   "rules",
					   "disable",
					   "cooldown",
					   "scale_up_window",
					   "scale_down_window",
					   "tolerance",
					   "breaker",
					   "routing",
					   "weights",
					   NULL};
	const char *s = NULL;
	long long n;
	json_t *v, *x;
	size_t i;
	uint32_t j;
	int err;

	if (!json_is_object(o))
		return fail_in(p, name, NULL, "pools.%s must be an object", name);
	if ((err = check_keys(p, o, name, keys)))
		return err;
	n = pl->min_replicas;
	if ((err = get_int(p, o, "min_replicas", 0, 100000, &n)) < 0)
		return err;
	pl->min_replicas = (uint32_t)n;
	n = pl->max_replicas;
	if ((err = get_int(p, o, "max_replicas", 1, 100000, &n)) < 0)
		return err;
	pl->max_replicas = (uint32_t)n;
	if (pl->min_replicas > pl->max_replicas)
		return fail_in(p, name, "min_replicas",
			       "pools.%s: min_replicas %u is above max_replicas %u", name,
			       pl->min_replicas, pl->max_replicas);
	if ((err = get_string(p, o, "webhook", &s)) < 0)
		return err;
	if (err) {
		if ((strncmp(s, "http://", 7) && strncmp(s, "https://", 8)) ||
		    strlen(s) >= sizeof(pl->webhook))
			return fail_in(
				p, name, "webhook",
				"pools.%s: webhook \"%s\" must be an http:// or https:// URL", name,
				s);
		snprintf(pl->webhook, sizeof(pl->webhook), "%s", s);
	}
	if ((err = get_string(p, o, "secret", &s)) < 0)
		return err;
	if (err)
		snprintf(pl->secret, sizeof(pl->secret), "%s", s);
	if ((v = json_object_get(o, "command"))) {
		if (!json_is_array(v) || !json_array_size(v) || json_array_size(v) > SCALE_ARGS_MAX)
			return fail_in(p, name, "command",
				       "pools.%s: command must be an array of 1 to %d strings (the "
				       "program, then its arguments; no shell)",
				       name, SCALE_ARGS_MAX);
		json_array_foreach (v, i, x) {
			if (!json_is_string(x) || !json_string_length(x) ||
			    json_string_length(x) >= sizeof(pl->command[0]))
				return fail_in(p, name, "command",
					       "pools.%s: command[%zu] must be a string of 1 to "
					       "255 characters",
					       name, i);
			snprintf(pl->command[i], sizeof(pl->command[i]), "%s",
				 json_string_value(x));
		}
		pl->ncommand = (uint32_t)json_array_size(v);
	}
	if ((err = get_ms(p, o, "command_timeout", name, &pl->command_timeout_ms)) < 0 ||
	    (err = get_ms(p, o, "scale_up_window", name, &pl->up_window_ms)) < 0 ||
	    (err = get_ms(p, o, "scale_down_window", name, &pl->down_window_ms)) < 0)
		return err;
	if ((err = get_ms(p, o, "cooldown", name, &pl->cooldown_ms)) < 0)
		return err;
	if (err)
		for (j = 0; j < pl->nrules; j++)
			pl->rules[j].cooldown_ms = pl->cooldown_ms;
	if ((err = parse_breaker_routing(p, name, o, pl)))
		return err;
	if ((v = json_object_get(o, "tolerance"))) {
		if (!json_is_number(v) || json_number_value(v) < 0 || json_number_value(v) >= 1)
			return fail_in(p, name, "tolerance",
				       "pools.%s: tolerance must be a number from 0 to 1 (0.1)",
				       name);
		pl->tolerance = json_number_value(v);
	}
	if ((v = json_object_get(o, "rules"))) {
		if (!json_is_array(v))
			return fail_in(p, name, "rules", "pools.%s.rules must be an array", name);
		if (json_array_size(v) > SCALE_RULES_MAX)
			return fail_in(p, name, "rules", "pools.%s: more than %d rules", name,
				       SCALE_RULES_MAX);
		pl->nrules = 0;
		json_array_foreach (v, i, x) {
			if ((err = parse_scale_rule(p, name, x, (int)i, pl->cooldown_ms,
						    &pl->rules[pl->nrules])))
				return err;
			for (j = 0; j < pl->nrules; j++)
				if (!strcmp(pl->rules[j].name, pl->rules[pl->nrules].name))
					return fail_in(p, name, "rules",
						       "pools.%s: two rules named \"%s\"", name,
						       pl->rules[j].name);
			pl->nrules++;
		}
	}
	if ((v = json_object_get(o, "disable"))) {
		if (!json_is_array(v))
			return fail_in(p, name, "disable",
				       "pools.%s.disable must be an array of rule names", name);
		json_array_foreach (v, i, x) {
			for (j = 0; j < pl->nrules; j++)
				if (json_is_string(x) &&
				    !strcmp(pl->rules[j].name, json_string_value(x)))
					break;
			if (j == pl->nrules)
				return fail_in(
					p, name, "disable",
					"pools.%s.disable[%zu]: no rule of the pool has that "
					"name",
					name, i);
			pl->rules[j].disabled = true;
		}
	}
	return 0;
}

static int parse_pools(const struct parse *p, json_t *root, struct config *c)
{
	struct scale_pool *def;
	json_t *o = json_object_get(root, "pools"), *d = json_object_get(root, "pool_defaults"), *v;
	const char *name;
	int err = 0;

	def = malloc(sizeof(*def));
	if (!def)
		return -ENOMEM;
	scale__pool_default(def, "pool_defaults");
	if (d && (err = parse_pool(p, "pool_defaults", d, def)))
		goto out;
	if (!o)
		goto out;
	if (!json_is_object(o)) {
		err = fail_at(p, "pools", "\"pools\" must be an object: {\"agent name\": {...}}");
		goto out;
	}
	json_object_foreach (o, name, v) {
		struct scale_pool *pl;

		if (c->pools->npools == SCALE_POOLS_MAX) {
			err = fail_at(p, "pools", "more than %d pools", SCALE_POOLS_MAX);
			goto out;
		}
		if (!*name || strlen(name) >= SW_NAME_LEN) {
			err = fail_at(p, "pools",
				      "pool name \"%s\" must be an agent name of 1 to %d "
				      "characters",
				      name, SW_NAME_LEN - 1);
			goto out;
		}
		pl = &c->pools->pools[c->pools->npools];
		*pl = *def;
		snprintf(pl->name, sizeof(pl->name), "%s", name);
		if ((err = parse_pool(p, name, v, pl)))
			goto out;
		c->pools->npools++;
	}
out:
	free(def);
	return err;
}

static int parse_notify(const struct parse *p, json_t *o, struct config *c)
{
	static const char *const keys[] = {"retry_min", "retry_max", "timeout", "max_queue", NULL};
	struct notify_params *np = c->notify;
	__u64 lo = (__u64)np->backoff_min_ms * 1000000, hi = (__u64)np->backoff_max_ms * 1000000,
	      t = (__u64)np->timeout_ms * 1000000;
	long long n = 0;
	int err;

	if (!json_is_object(o))
		return fail_at(p, "notify", "\"notify\" must be an object");
	if ((err = check_keys(p, o, "notify", keys)) ||
	    (err = get_duration(p, o, "retry_min", 1000000ULL, 3600000000000ULL,
				"from 1ms to 1h (\"1s\")", &lo)) < 0 ||
	    (err = get_duration(p, o, "retry_max", 1000000ULL, 86400000000000ULL,
				"from 1ms to 24h (\"60s\")", &hi)) < 0 ||
	    (err = get_duration(p, o, "timeout", 1000000ULL, 300000000000ULL,
				"from 1ms to 5m (\"10s\")", &t)) < 0 ||
	    (err = get_int(p, o, "max_queue", 1, 10000000, &n)) < 0)
		return err;
	if (err)
		np->max_rows = (uint32_t)n;
	if (hi < lo)
		return fail_at(p, "retry_max", "\"retry_max\" must not be below \"retry_min\"");
	np->backoff_min_ms = (uint32_t)(lo / 1000000);
	np->backoff_max_ms = (uint32_t)(hi / 1000000);
	np->timeout_ms = (uint32_t)(t / 1000000);
	return 0;
}

/* With receivers but no routes, every alert goes to every receiver. */
static void default_routes(struct config *c)
{
	uint32_t i;

	if (c->alerts->nroutes)
		return;
	for (i = 0; i < c->notify->nreceivers && i < ALERT_ROUTES_MAX; i++) {
		struct alert_route *r = &c->alerts->routes[c->alerts->nroutes++];

		alert__route_default(r, c->notify->receivers[i].name);
		r->push = c->notify->receivers[i].channel == NOTIFY_ALERTMANAGER;
		r->cont = true;
	}
}

int config__add_webhook(struct config *c, const char *url)
{
	struct notify_receiver *r;
	struct alert_route *rt;
	uint32_t i;

	if ((strncmp(url, "http://", 7) && strncmp(url, "https://", 8)) ||
	    strlen(url) >= NOTIFY_URL_MAX)
		return -EINVAL;
	for (i = 0; i < c->notify->nreceivers; i++)
		if (!strcmp(c->notify->receivers[i].name, "webhook"))
			return -EEXIST;
	if (c->notify->nreceivers == NOTIFY_RECEIVERS_MAX || c->alerts->nroutes == ALERT_ROUTES_MAX)
		return -ENOSPC;
	r = &c->notify->receivers[c->notify->nreceivers++];
	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "webhook");
	r->channel = NOTIFY_WEBHOOK;
	snprintf(r->url, sizeof(r->url), "%s", url);
	/* Placed first and continued, so that configured routes still see every alert. */
	memmove(&c->alerts->routes[1], &c->alerts->routes[0],
		c->alerts->nroutes * sizeof(c->alerts->routes[0]));
	c->alerts->nroutes++;
	rt = &c->alerts->routes[0];
	alert__route_default(rt, "webhook");
	rt->cont = true;
	return 0;
}

/* A label name: [a-zA-Z_][a-zA-Z0-9_]*, not reserved (__*), not one swarmwatch sets. */
static bool label_name_ok(const char *s)
{
	size_t i;

	if (!s[0] || (s[0] >= '0' && s[0] <= '9') || !strncmp(s, "__", 2) || !strcmp(s, "agent") ||
	    !strcmp(s, "le"))
		return false;
	for (i = 0; s[i]; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return false;
	return true;
}

/*
 * Whether s is a numeric loopback ADDR:PORT, 127.x.y.z:PORT or [::1]:PORT, what the StatsD
 * listener binds (user/ingest.c): senders are found through this host's /proc only.
 */
static bool statsd_udp_ok(const char *s)
{
	const char *colon = strrchr(s, ':');
	char host[64], *end;
	struct in6_addr a6;
	struct in_addr a4;
	unsigned long port;
	size_t n;

	if (!colon || !colon[1])
		return false;
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (*end || errno || port > 65535)
		return false;
	n = colon - s;
	if (n >= 2 && s[0] == '[' && s[n - 1] == ']' && n - 2 < sizeof(host)) {
		memcpy(host, s + 1, n - 2);
		host[n - 2] = 0;
		return inet_pton(AF_INET6, host, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
	}
	if (n >= sizeof(host))
		return false;
	memcpy(host, s, n);
	host[n] = 0;
	return inet_pton(AF_INET, host, &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127;
}

/*
 * "statsd": {"udp": "127.0.0.1:8125", "socket": "/run/swarmwatch/statsd.sock", "tags": ["model"],
 * "trust_agent_tag": false, "max_series": 64, "max_label_values": 16}
 */
static int parse_statsd(const struct parse *p, json_t *o, struct config *c)
{
	static const char *const keys[] = {
		"udp", "socket", "tags", "trust_agent_tag", "max_series", "max_label_values", NULL};
	const char *s = NULL;
	long long n = 0;
	json_t *list, *e;
	size_t i;
	int err;

	if (!json_is_object(o))
		return fail_at(p, "statsd", "\"statsd\" must be an object");
	err = check_keys(p, o, "statsd", keys);
	if (err)
		return err;
	err = get_string(p, o, "udp", &s);
	if (err < 0)
		return err;
	if (err) {
		if (strlen(s) >= sizeof(c->statsd_udp) || (s[0] && !statsd_udp_ok(s)))
			return fail_at(p, "udp",
				       "\"statsd.udp\" must be ADDR:PORT on loopback "
				       "(\"127.0.0.1:8125\") or \"\" for off, got \"%s\"",
				       s);
		snprintf(c->statsd_udp, sizeof(c->statsd_udp), "%s", s);
	}
	err = get_string(p, o, "socket", &s);
	if (err < 0)
		return err;
	if (err) {
		if (strlen(s) >= sizeof(c->statsd_socket) || (s[0] && s[0] != '/'))
			return fail_at(p, "socket",
				       "\"statsd.socket\" must be an absolute path of at most %zu "
				       "bytes, or \"\" for off",
				       sizeof(c->statsd_socket) - 1);
		snprintf(c->statsd_socket, sizeof(c->statsd_socket), "%s", s);
	}
	err = get_bool(p, o, "trust_agent_tag", &c->statsd_trust_agent_tag);
	if (err < 0)
		return err;
	err = get_int(p, o, "max_series", 1, 4096, &n);
	if (err < 0)
		return err;
	if (err)
		c->statsd_max_series = n;
	err = get_int(p, o, "max_label_values", 1, 1024, &n);
	if (err < 0)
		return err;
	if (err)
		c->statsd_max_values = n;
	list = json_object_get(o, "tags");
	if (!list)
		return 0;
	if (!json_is_array(list))
		return fail_at(p, "tags", "\"statsd.tags\" must be an array of tag keys");
	c->nstatsd_tags = 0;
	json_array_foreach (list, i, e) {
		const char *key = json_string_value(e);

		if (!key || strlen(key) >= sizeof(c->statsd_tags[0]) || !label_name_ok(key))
			return fail_at(
				p, "tags",
				"statsd.tags[%zu] must be a label name ([a-zA-Z_][a-zA-Z0-9_]*, "
				"at most 31 characters, not agent, le or __*)",
				i);
		if (c->nstatsd_tags == CONFIG_MAX_STATSD_TAGS)
			return fail_at(p, "tags", "more than %d statsd.tags",
				       CONFIG_MAX_STATSD_TAGS);
		snprintf(c->statsd_tags[c->nstatsd_tags++], sizeof(c->statsd_tags[0]), "%s", key);
	}
	return 0;
}

/* --- cost --- */

/* Reads number key (>= 0, finite) into *out when present. */
static int get_usd(const struct parse *p, json_t *obj, const char *key, const char *where,
		   double *out)
{
	json_t *v = json_object_get(obj, key);

	if (!v)
		return 0;
	if (!json_is_number(v) || !(json_number_value(v) >= 0) || !(json_number_value(v) < 1e12))
		return fail_at(p, key, "%s.%s must be a number of USD, 0 or more", where, key);
	*out = json_number_value(v);
	return 1;
}

/*
 * The keys of a cost model over m, which holds the model they change (the base, or for an agent
 * the base's copy): prices, upstreams (merged by name), app_costs, daily_budget_usd.
 */
static int parse_cost_model(const struct parse *p, json_t *o, const char *where,
			    struct cost_model *m)
{
	json_t *ups, *u;
	const char *name;
	int err, i;

	if ((err = get_usd(p, o, "cpu_second_usd", where, &m->cpu_second_usd)) < 0 ||
	    (err = get_usd(p, o, "gb_sent_usd", where, &m->gb_sent_usd)) < 0 ||
	    (err = get_usd(p, o, "gb_received_usd", where, &m->gb_received_usd)) < 0 ||
	    (err = get_usd(p, o, "daily_budget_usd", where, &m->daily_budget_usd)) < 0 ||
	    (err = get_bool(p, o, "app_costs", &m->app_costs)) < 0)
		return err;
	if (!(m->daily_budget_usd > 0))
		return fail_at(p, "daily_budget_usd", "%s.daily_budget_usd must be more than 0",
			       where);
	if ((u = json_object_get(o, "llm"))) {
		for (i = 0; i < 4; i++)
			if (json_is_string(u) && !strcmp(json_string_value(u), cost_llm_names[i]))
				break;
		if (i == 4)
			return fail_at(
				p, "llm",
				"%s.llm must be \"auto\", \"wire\", \"app\" or \"both\" "
				"(which LLM spend counts: see the README's Cost and budgets)",
				where);
		m->llm = (enum cost_llm_source)i;
	}
	ups = json_object_get(o, "upstreams");
	if (!ups)
		return 0;
	if (!json_is_object(ups))
		return fail_at(p, "upstreams",
			       "%s.upstreams must be an object: {\"llm-api\": {\"request_usd\": "
			       "0.002}}",
			       where);
	json_object_foreach (ups, name, u) {
		static const char *const keys[] = {"request_usd", NULL};
		double usd = 0;
		char w[160];

		snprintf(w, sizeof(w), "%s.upstreams.%s", where, name);
		if (!json_is_object(u))
			return fail_at(p, name, "%s must be an object: {\"request_usd\": 0.002}",
				       w);
		if ((err = check_keys(p, u, w, keys)) ||
		    (err = get_usd(p, u, "request_usd", w, &usd)) < 0)
			return err;
		if (!err)
			return fail_at(p, name, "%s needs \"request_usd\"", w);
		if (!name[0] || strlen(name) >= COST_NAME_LEN)
			return fail_at(p, name, "%s: an upstream name has 1 to %d characters", w,
				       COST_NAME_LEN - 1);
		for (i = 0; i < m->nprices && strcmp(m->prices[i].upstream, name); i++)
			;
		if (i == COST_UPSTREAMS_MAX)
			return fail_at(p, name, "%s: more than %d priced upstreams", where,
				       COST_UPSTREAMS_MAX);
		if (i == m->nprices)
			snprintf(m->prices[m->nprices++].upstream, COST_NAME_LEN, "%s", name);
		m->prices[i].request_usd = usd;
	}
	return 0;
}

/* "emergency": {"command": ["/path", "{agent}"], "timeout": "10s", "receiver": "ops"} */
static int parse_cost_emergency(const struct parse *p, json_t *o, struct cost_action *a)
{
	static const char *const keys[] = {"command", "timeout", "receiver", NULL};
	const char *recv = NULL;
	json_t *cmd, *e;
	__u64 ns = 0;
	size_t i;
	int err;

	if (!json_is_object(o))
		return fail_at(p, "emergency", "\"cost.emergency\" must be an object");
	if ((err = check_keys(p, o, "cost.emergency", keys)) ||
	    (err = get_string(p, o, "receiver", &recv)) < 0 ||
	    (err = get_duration(p, o, "timeout", 100000000ULL, 600000000000ULL,
				"from 100ms to 10m (\"10s\")", &ns)) < 0)
		return err < 0 ? err : -EINVAL;
	if (err)
		a->timeout_ms = (uint32_t)(ns / 1000000);
	if (recv) {
		if (strlen(recv) >= sizeof(a->receiver))
			return fail_at(p, "receiver", "cost.emergency.receiver is too long");
		snprintf(a->receiver, sizeof(a->receiver), "%s", recv);
	}
	cmd = json_object_get(o, "command");
	if (!cmd)
		return 0;
	if (!json_is_array(cmd) || json_array_size(cmd) > COST_ARGS_MAX)
		return fail_at(p, "command",
			       "cost.emergency.command must be an array of at most %d strings, the "
			       "program's absolute path first (no shell)",
			       COST_ARGS_MAX);
	a->argc = 0;
	json_array_foreach (cmd, i, e) {
		const char *arg = json_string_value(e);

		if (!arg || strlen(arg) >= COST_ARG_LEN)
			return fail_at(
				p, "command",
				"cost.emergency.command[%zu] must be a string under %d bytes", i,
				COST_ARG_LEN);
		if (!i && arg[0] != '/')
			return fail_at(p, "command",
				       "cost.emergency.command[0] \"%s\" must be an absolute path "
				       "(it is run without a shell or PATH search)",
				       arg);
		snprintf(a->argv[a->argc++], COST_ARG_LEN, "%s", arg);
	}
	return 0;
}

/*
 * "cost": {"enabled": true, <model keys>, "warning_ratio": 0.8, "emergency_ratio": 0.95,
 * "agents": {"coder": {<model keys>}}, "emergency": {...}}
 */
static int parse_cost(const struct parse *p, json_t *o, struct config *c)
{
	static const char *const keys[] = {"enabled",
					   "cpu_second_usd",
					   "gb_sent_usd",
					   "gb_received_usd",
					   "upstreams",
					   "app_costs",
					   "llm",
					   "daily_budget_usd",
					   "warning_ratio",
					   "emergency_ratio",
					   "agents",
					   "emergency",
					   NULL};
	static const char *const agent_keys[] = {"cpu_second_usd",   "gb_sent_usd",
						 "gb_received_usd",  "upstreams",
						 "app_costs",	     "llm",
						 "daily_budget_usd", NULL};
	struct cost_params *cp = c->cost;
	const char *name;
	json_t *agents, *a, *v;
	int err;

	if (!json_is_object(o))
		return fail_at(p, "cost", "\"cost\" must be an object");
	if ((err = check_keys(p, o, "cost", keys)) ||
	    (err = get_bool(p, o, "enabled", &cp->enabled)) < 0 ||
	    (err = parse_cost_model(p, o, "cost", &cp->base)) < 0)
		return err;
	if ((v = json_object_get(o, "warning_ratio")) &&
	    (!json_is_number(v) || !(json_number_value(v) > 0) || !(json_number_value(v) <= 10)))
		return fail_at(p, "warning_ratio", "cost.warning_ratio must be in (0, 10] (0.8)");
	if (v)
		cp->warning_ratio = json_number_value(v);
	if ((v = json_object_get(o, "emergency_ratio")) &&
	    (!json_is_number(v) || !(json_number_value(v) > 0) || !(json_number_value(v) <= 10)))
		return fail_at(p, "emergency_ratio",
			       "cost.emergency_ratio must be in (0, 10] (0.95)");
	if (v)
		cp->emergency_ratio = json_number_value(v);
	if (!(cp->emergency_ratio > cp->warning_ratio))
		return fail_at(p, "emergency_ratio",
			       "cost.emergency_ratio (%g) must be above cost.warning_ratio (%g)",
			       cp->emergency_ratio, cp->warning_ratio);
	if ((v = json_object_get(o, "emergency")) &&
	    (err = parse_cost_emergency(p, v, &cp->emergency)))
		return err;
	agents = json_object_get(o, "agents");
	if (!agents)
		return 0;
	if (!json_is_object(agents))
		return fail_at(p, "agents",
			       "cost.agents must be an object: {\"coder\": {\"daily_budget_usd\": "
			       "20}}");
	json_object_foreach (agents, name, a) {
		struct cost_override *ov;
		char where[96];

		snprintf(where, sizeof(where), "cost.agents.%s", name);
		if (!json_is_object(a))
			return fail_at(p, name, "%s must be an object", where);
		if (!name[0] || strlen(name) >= SW_NAME_LEN)
			return fail_at(p, name, "%s: an agent name has 1 to %d bytes", where,
				       SW_NAME_LEN - 1);
		if (cp->noverrides == COST_OVERRIDES_MAX)
			return fail_at(p, name, "more than %d agents under cost.agents",
				       COST_OVERRIDES_MAX);
		ov = &cp->overrides[cp->noverrides];
		snprintf(ov->agent, sizeof(ov->agent), "%s", name);
		ov->m = cp->base;
		if ((err = check_keys(p, a, where, agent_keys)) ||
		    (err = parse_cost_model(p, a, where, &ov->m)) < 0)
			return err;
		cp->noverrides++;
	}
	return 0;
}

/*
 * The built-in budget rules at the configured ratios, unless a rule of the file replaced them:
 * AgentBudgetWarning at cost.warning_ratio, AgentBudgetEmergency at cost.emergency_ratio.
 */
static void budget_rules(struct config *c)
{
	static const struct {
		const char *name, *expr;
	} rules[] = {{"AgentBudgetWarning", "budget_usage_ratio >= 80%"},
		     {"AgentBudgetEmergency", "budget_usage_ratio >= 95%"}};
	uint32_t i, j;

	for (i = 0; i < c->alerts->nrules; i++)
		for (j = 0; j < 2; j++) {
			struct alert_rule *r = &c->alerts->rules[i];

			if (strcmp(r->name, rules[j].name) || strcmp(r->expr_text, rules[j].expr))
				continue;
			snprintf(r->expr_text, sizeof(r->expr_text), "budget_usage_ratio >= %g%%",
				 (j ? c->cost->emergency_ratio : c->cost->warning_ratio) * 100);
		}
}

static void defaults(struct config *c)
{
	int i;

	memset(c, 0, sizeof(*c));
	snprintf(c->listen, sizeof(c->listen), "0.0.0.0:7979");
	c->interval_ns = 1000000000ULL;
	snprintf(c->pin_path, sizeof(c->pin_path), "/sys/fs/bpf/swarmwatch");
	c->max_agents = 256;
	c->marker = true;
	c->top_errnos = 8;
	c->latency_sampling = true;
	c->anomaly_hold_ns = 60000000000ULL;
	c->agent_retention_ns = 600000000000ULL;
	c->top_upstreams = 8;
	snprintf(c->store_dir, sizeof(c->store_dir), "/var/lib/swarmwatch");
	c->store_memory_ns = 15 * 60000000000ULL;
	c->store_retention_ns[0] = 6 * 3600000000000ULL;
	c->store_retention_ns[1] = 14 * 86400000000000ULL;
	c->store_retention_ns[2] = 90 * 86400000000000ULL;
	c->store_max_bytes = 1024ULL << 20;
	c->store_flush_ns = 10000000000ULL;
	snprintf(c->statsd_udp, sizeof(c->statsd_udp), "127.0.0.1:8125");
	snprintf(c->statsd_socket, sizeof(c->statsd_socket), "/run/swarmwatch/statsd.sock");
	c->statsd_max_series = 64;
	c->statsd_max_values = 16;
	c->llm_max_models = 16;
	c->overhead_budget = 0.01; /* 1 % of host CPU; counts are estimates while it binds */
	c->errno_ignored[EAGAIN] = 1;
	c->errno_ignored[EINTR] = 1;
	c->errno_ignored[EINPROGRESS] = 1;
	c->errno_ignored[EALREADY] = 1;
	for (i = 0; i < COLLECTOR_MAX; i++)
		c->collectors[i] = true;
	c->alerts_on = true;
	c->alerts_window_ns = 10000000000ULL;
	c->incident_window_ns = 60000000000ULL;
	c->alerts = malloc(sizeof(*c->alerts));
	c->notify = malloc(sizeof(*c->notify));
	c->cost = malloc(sizeof(*c->cost));
	if (c->cost)
		cost__params_default(c->cost);
	if (c->alerts)
		alert__params_default(c->alerts);
	if (c->notify)
		notify__params_default(c->notify);
	c->pools = calloc(1, sizeof(*c->pools));
}

int config__parse(struct config *c, const char *text, const char *origin, char *err, size_t errlen)
{
	static const char *const keys[] = {
		"listen",    "interval",      "pin_path",  "max_agents",      "identity",
		"syscalls",  "collectors",    "bpf_stats", "anomaly",	      "agent_retention",
		"upstreams", "top_upstreams", "tls",	   "store",	      "statsd",
		"alerts",    "receivers",     "notify",	   "web_config_file", "llm",
		"pools",     "pool_defaults", "cost",	   "overhead_budget", NULL};
	struct parse p = {text, origin, err, errlen};
	const char *s = NULL;
	long long n = 0;
	double pct = 0;
	json_error_t jerr;
	json_t *root, *v;
	int ret;

	defaults(c);
	c->origin = strdup(origin);
	if (!c->origin || !c->alerts || !c->notify || !c->pools || !c->cost) {
		snprintf(err, errlen, "%s: out of memory", origin);
		return -ENOMEM;
	}
	root = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		snprintf(err, errlen, "%s:%d:%d: %s", origin, jerr.line, jerr.column, jerr.text);
		ret = -EINVAL;
		goto out;
	}
	if (!json_is_object(root)) {
		ret = fail_at(&p, NULL, "the configuration must be a JSON object");
		goto out;
	}
	ret = check_keys(&p, root, "the configuration", keys);
	if (ret)
		goto out;
	ret = get_string(&p, root, "listen", &s);
	if (ret < 0)
		goto out;
	if (ret) {
		if (strlen(s) >= sizeof(c->listen) || !strrchr(s, ':')) {
			ret = fail_at(&p, "listen", "\"listen\" must be ADDR:PORT, got \"%s\"", s);
			goto out;
		}
		snprintf(c->listen, sizeof(c->listen), "%s", s);
	}
	ret = get_string(&p, root, "web_config_file", &s);
	if (ret < 0)
		goto out;
	if (ret) {
		if (strlen(s) >= sizeof(c->web_config_file)) {
			ret = fail_at(&p, "web_config_file",
				      "\"web_config_file\" is longer than %zu characters",
				      sizeof(c->web_config_file) - 1);
			goto out;
		}
		snprintf(c->web_config_file, sizeof(c->web_config_file), "%s", s);
	}
	ret = get_duration(&p, root, "interval", 10000000ULL, 3600000000000ULL,
			   "from 10ms to 1h (\"1s\")", &c->interval_ns);
	if (ret < 0)
		goto out;
	ret = get_duration(&p, root, "agent_retention", 1000000000ULL, 30 * 86400000000000ULL,
			   "from 1s to 30 days (\"10m\")", &c->agent_retention_ns);
	if (ret < 0)
		goto out;
	ret = get_string(&p, root, "pin_path", &s);
	if (ret < 0)
		goto out;
	if (ret) {
		if (s[0] != '/' || strlen(s) >= sizeof(c->pin_path) - 64) {
			ret = fail_at(&p, "pin_path", "\"pin_path\" must be an absolute path");
			goto out;
		}
		snprintf(c->pin_path, sizeof(c->pin_path), "%s", s);
	}
	ret = get_int(&p, root, "max_agents", 1, SW_MAX_AGENTS_LIMIT, &n);
	if (ret < 0)
		goto out;
	if (ret)
		c->max_agents = n;
	ret = get_bool(&p, root, "bpf_stats", &c->bpf_stats);
	if (ret < 0)
		goto out;
	ret = get_number(&p, root, "overhead_budget", 0, 100, &pct);
	if (ret < 0)
		goto out;
	if (ret)
		c->overhead_budget = pct / 100; /* percent of host CPU in the file */
	ret = 0;
	if ((v = json_object_get(root, "identity")) && (ret = parse_identity(&p, v, c)))
		goto out;
	if ((v = json_object_get(root, "syscalls")) && (ret = parse_syscalls(&p, v, c)))
		goto out;
	if ((v = json_object_get(root, "collectors")) && (ret = parse_collectors(&p, v, c)))
		goto out;
	if ((v = json_object_get(root, "anomaly")) && (ret = parse_anomaly(&p, v, c)))
		goto out;
	if ((v = json_object_get(root, "upstreams")) && (ret = parse_upstreams(&p, v, c)))
		goto out;
	if ((v = json_object_get(root, "tls")) && (ret = parse_tls(&p, v, c)))
		goto out;
	if ((v = json_object_get(root, "llm")) && (ret = parse_llm(&p, v, c)))
		goto out;
	if ((v = json_object_get(root, "store")) && (ret = parse_store(&p, v, c)))
		goto out;
	if ((v = json_object_get(root, "receivers")) && (ret = parse_receivers(&p, v, c)))
		goto out;
	if ((v = json_object_get(root, "notify")) && (ret = parse_notify(&p, v, c)))
		goto out;
	if ((v = json_object_get(root, "alerts")) && (ret = parse_alerts(&p, v, c)))
		goto out;
	default_routes(c);
	if ((ret = parse_pools(&p, root, c)))
		goto out;
	if ((v = json_object_get(root, "statsd")) && (ret = parse_statsd(&p, v, c)))
		goto out;
	if ((v = json_object_get(root, "cost")) && (ret = parse_cost(&p, v, c)))
		goto out;
	budget_rules(c);
	ret = get_int(&p, root, "top_upstreams", 1, 64, &n);
	if (ret < 0)
		goto out;
	if (ret)
		c->top_upstreams = n;
	ret = c->rules ? 0 : builtin_rules(c, err, errlen);
out:
	json_decref(root);
	if (ret)
		config__free(c); /* a rejected configuration holds nothing */
	return ret;
}

int config__load(struct config *c, const char *path, char *err, size_t errlen)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	int ret;

	f = fopen(path, "r");
	if (!f) {
		ret = -errno;
		defaults(c);
		snprintf(err, errlen, "%s: cannot read: %s", path, strerror(-ret));
		return ret;
	}
	text = calloc(1, 1 << 20);
	if (!text) {
		fclose(f);
		defaults(c);
		return -ENOMEM;
	}
	errno = 0;
	len = fread(text, 1, (1 << 20) - 1, f);
	ret = ferror(f) ? (errno ? -errno : -EIO) : 0;
	if (ret) {
		snprintf(err, errlen, "%s: cannot read: %s", path, strerror(-ret));
	} else if (!feof(f)) {
		ret = -EFBIG;
		snprintf(err, errlen, "%s: larger than 1 MiB", path);
	}
	fclose(f);
	text[len] = 0;
	if (!ret)
		ret = config__parse(c, text, path, err, errlen);
	else
		defaults(c);
	free(text);
	return ret;
}

void config__free(struct config *c)
{
	int i;

	for (i = 0; i < c->nrules; i++) {
		regfree(&c->rules[i].re);
		free(c->rules[i].regex);
		free(c->rules[i].name);
		free(c->rules[i].tenant);
	}
	free(c->rules);
	free(c->origin);
	free(c->alerts);
	free(c->notify);
	free(c->pools);
	free(c->cost);
	c->cost = NULL;
	c->alerts = NULL;
	c->notify = NULL;
	c->pools = NULL;
	c->rules = NULL;
	c->nrules = 0;
	c->origin = NULL;
}
