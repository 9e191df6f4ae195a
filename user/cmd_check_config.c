// SPDX-License-Identifier: MIT
/* `swarmwatch check-config`: parse and validate a configuration without starting anything. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "alerting.h"
#include "cmd.h"
#include "config.h"
#include "llm.h"
#include "log.h"
#include "scaling.h"
#include "webconfig.h"

/*
 * Prints the identity rules in force, in the order they are tried (first
 * match wins), and where they come from: one line each, "N. MATCH REGEX -> NAME", with
 * " tenant TENANT" when the rule gives one.
 */
static void print_rules(const struct config *c)
{
	static const char *const match[] = {[RULE_CGROUP] = "cgroup",
					    [RULE_COMM] = "comm",
					    [RULE_EXE] = "exe",
					    [RULE_CMDLINE] = "cmdline"};
	int i, n = 1;

	printf("identity rules in force, first match wins (%s):\n",
	       c->builtin_rules ? "built-in, the file sets no identity.rules" : "from the file");
	if (c->marker)
		printf("  %d. marker SWARMWATCH_AGENT=<name> -> <name>\n", n++);
	for (i = 0; i < c->nrules; i++)
		printf("  %d. %s %s -> %s%s%s\n", n++, match[c->rules[i].match], c->rules[i].regex,
		       c->rules[i].name, c->rules[i].tenant ? " tenant " : "",
		       c->rules[i].tenant ? c->rules[i].tenant : "");
	if (n == 1)
		printf("  none: no process is an agent\n");
}

/* Checks a web configuration file; prints one line either way. 0 or 1 (the exit status). */
static int check_web(const char *path)
{
	struct web_config w;
	char err[512], scopes[32];
	int i, ret;

	ret = webconfig__load(&w, path, err, sizeof(err));
	if (ret) {
		pr_err("%s", err);
		return 1;
	}
	printf("%s: ok (%s, %d basic-auth users, %d bearer tokens, /metrics %s, rate limit ", path,
	       w.cert_pem ? "TLS" : "plain HTTP", w.nusers, w.ntokens,
	       webconfig__auth_on(&w) && w.metrics_auth ? "behind auth" : "open");
	if (w.rate > 0)
		printf("%g/s burst %g per client)\n", w.rate, w.burst);
	else
		printf("off)\n");
	for (i = 0; i < w.ntokens; i++) {
		int j;

		printf("  token %s: %s", w.tokens[i].name,
		       webconfig__scope_names(w.tokens[i].scopes, scopes, sizeof(scopes)));
		for (j = 0; j < w.tokens[i].ntenants; j++)
			printf("%s%s", j ? "," : "; tenants ", w.tokens[i].tenants[j]);
		printf("\n");
	}
	webconfig__free(&w);
	return 0;
}

struct body {
	char *data;
	size_t len;
};

static size_t gather(char *p, size_t size, size_t n, void *ctx)
{
	struct body *b = ctx;
	char *bigger = realloc(b->data, b->len + size * n + 1);

	if (!bigger)
		return 0;
	b->data = bigger;
	memcpy(b->data + b->len, p, size * n);
	b->len += size * n;
	b->data[b->len] = 0;
	return size * n;
}

/* http://127.0.0.1:PORT for a listen address, loopback for a wildcard one. */
static void daemon_url(const char *listen, char *url, size_t len)
{
	const char *colon = strrchr(listen, ':');
	size_t n = colon ? (size_t)(colon - listen) : 0;

	if (!colon || !n || !strncmp(listen, "0.0.0.0", n) || !strncmp(listen, "[::]", n))
		snprintf(url, len, "http://127.0.0.1:%s", colon ? colon + 1 : "7979");
	else
		snprintf(url, len, "http://%.*s:%s", (int)n, listen, colon + 1);
}

/*
 * Sends the file to the running daemon's POST /api/v1/pools/evaluate and prints each rule's
 * verdict on its current figures: one line per rule. Returns the exit status.
 */
static int dry_run(const char *path, const char *text, const char *base)
{
	char url[512], errbuf[CURL_ERROR_SIZE] = "";
	struct body b = {NULL, 0};
	struct curl_slist *h = NULL;
	json_t *root = NULL, *v;
	long code = 0;
	size_t i;
	CURL *c;
	int rc = 1;

	snprintf(url, sizeof(url), "%s/api/v1/pools/evaluate", base);
	c = curl_easy_init();
	if (!c) {
		pr_err("check-config: --dry-run: libcurl could not start");
		return 1;
	}
	h = curl_slist_append(h, "Content-Type: application/json");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, text);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, gather);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	if (curl_easy_perform(c) != CURLE_OK) {
		pr_err("check-config: --dry-run: cannot reach the daemon at %s: %s (is swarmwatch "
		       "running? give its address with --url http://HOST:PORT)",
		       base, errbuf);
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	root = b.data ? json_loads(b.data, 0, NULL) : NULL;
	if (code != 200 || !root) {
		v = root ? json_object_get(root, "error") : NULL;
		pr_err("check-config: --dry-run: %s answered %ld: %s", url, code,
		       json_is_string(v) ? json_string_value(v) : "no JSON body");
		goto out;
	}
	v = json_object_get(root, "verdicts");
	printf("%s: dry run against %s (nothing is sent or run)\n", path, base);
	if (!json_array_size(v))
		printf("  no pool rules in the file\n");
	for (i = 0; i < json_array_size(v); i++) {
		json_t *x = json_array_get(v, i);

		printf("  %-16s %-16s %-5s %3lld -> %-3lld %-4s %s\n",
		       json_string_value(json_object_get(x, "pool")),
		       json_string_value(json_object_get(x, "rule")),
		       json_is_true(json_object_get(x, "holds")) ? "holds" : "no",
		       (long long)json_integer_value(json_object_get(x, "current_replicas")),
		       (long long)json_integer_value(json_object_get(x, "desired_replicas")),
		       json_string_value(json_object_get(x, "direction")),
		       json_string_value(json_object_get(x, "reason")));
	}
	rc = 0;
out:
	json_decref(root);
	free(b.data);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return rc;
}

static int read_file(const char *path, char **text)
{
	FILE *f = fopen(path, "r");
	struct body b = {NULL, 0};
	char chunk[4096];
	size_t n;

	if (!f)
		return -1;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (!gather(chunk, 1, n, &b)) {
			fclose(f);
			free(b.data);
			return -1;
		}
	fclose(f);
	*text = b.data ? b.data : strdup("");
	return *text ? 0 : -1;
}

static void print_model(const char *who, const struct cost_model *m)
{
	printf("  %s: budget %g USD a day; %g USD per CPU-second, %g per GB sent, %g per GB "
	       "received; app-reported costs %s; LLM spend from %s",
	       who, m->daily_budget_usd, m->cpu_second_usd, m->gb_sent_usd, m->gb_received_usd,
	       m->app_costs ? "counted" : "ignored",
	       m->llm == COST_LLM_AUTO	 ? "the wire, or the agent's report once it sends one"
	       : m->llm == COST_LLM_WIRE ? "the wire"
	       : m->llm == COST_LLM_APP	 ? "the agent's report"
					 : "both the wire and the agent's report");
	for (int i = 0; i < m->nprices; i++)
		printf("%s %s %g USD", i ? "," : "; per request:", m->prices[i].upstream,
		       m->prices[i].request_usd);
	printf("\n");
}

/*
 * Prints the cost model in force: the base, each agent's, the thresholds and the emergency
 * action. Returns -1 when the emergency receiver is not configured (and is not the one
 * --webhook adds).
 */
static int print_cost(const struct config *c)
{
	const struct cost_params *p = c->cost;
	uint32_t i;
	int j;

	if (!p->enabled) {
		printf("cost accounting: off\n");
		return 0;
	}
	printf("cost model (per UTC day; warning at %g %%, emergency at %g %% of the budget):\n",
	       p->warning_ratio * 100, p->emergency_ratio * 100);
	print_model("every agent", &p->base);
	for (j = 0; j < p->noverrides; j++)
		print_model(p->overrides[j].agent, &p->overrides[j].m);
	if (!p->emergency.argc && !p->emergency.receiver[0])
		printf("  emergency action: none (the alert and the log line only)\n");
	if (p->emergency.argc) {
		printf("  emergency command (timeout %u ms):", p->emergency.timeout_ms);
		for (j = 0; j < p->emergency.argc; j++)
			printf(" %s", p->emergency.argv[j]);
		printf("\n");
	}
	if (!p->emergency.receiver[0])
		return 0;
	for (i = 0; i < c->notify->nreceivers; i++)
		if (!strcmp(c->notify->receivers[i].name, p->emergency.receiver))
			break;
	if (i == c->notify->nreceivers && strcmp(p->emergency.receiver, "webhook")) {
		pr_err("config: cost.emergency.receiver \"%s\": no such receiver; add it under "
		       "\"receivers\"",
		       p->emergency.receiver);
		return -1;
	}
	printf("  emergency notification to receiver \"%s\"%s\n", p->emergency.receiver,
	       i == c->notify->nreceivers ? " (the one run --webhook adds)" : "");
	return 0;
}

int cmd_check_config(int argc, char **argv)
{
	const char *file = NULL, *web = NULL, *url = NULL;
	char err[512], base[300], warn[512], *text = NULL;
	struct config cfg;
	bool dry = false;
	int i, ret;

	if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		printf("usage: swarmwatch check-config FILE [--web.config.file WEBFILE]\n"
		       "       swarmwatch check-config --dry-run [--url URL] FILE\n"
		       "       swarmwatch check-config --web.config.file WEBFILE\n"
		       "       swarmwatch check-config --defaults\n\n"
		       "Parses and validates a configuration file without starting anything.\n"
		       "Exit status 0 when it is valid, and then prints the identity rules in\n"
		       "force and the cost model; otherwise one line says what is wrong. A key the file does not set\n"
		       "keeps its built-in default (identity.rules included; [] means none).\n"
		       "The web configuration (TLS, users, tokens), given here or by the file's\n"
		       "web_config_file, is checked too: certificate and key must be a pair.\n"
		       "--defaults prints the built-in configuration, a starting point for a file.\n"
		       "--dry-run also sends the file to the running daemon (its listen address\n"
		       "in the file, or --url), which evaluates the file's pool rules on its\n"
		       "current figures and prints what each would decide; nothing is acted on.\n");
		return 0;
	}
	if (argc == 2 && !strcmp(argv[1], "--defaults")) {
		fputs(config__builtin, stdout);
		return 0;
	}
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--web.config.file") && i + 1 < argc)
			web = argv[++i];
		else if (!strncmp(argv[i], "--web.config.file=", 18))
			web = argv[i] + 18;
		else if (!strcmp(argv[i], "--dry-run"))
			dry = true;
		else if (!strcmp(argv[i], "--url") && i + 1 < argc)
			url = argv[++i];
		else if (argv[i][0] != '-' && !file)
			file = argv[i];
		else
			file = web = NULL, i = argc;
	}
	if ((!file && !web) || (url && !dry) || (dry && !file)) {
		fprintf(stderr, "usage: swarmwatch check-config FILE [--web.config.file WEBFILE]\n"
				"       swarmwatch check-config --dry-run [--url URL] FILE\n");
		return 2;
	}
	if (!file)
		return check_web(web);
	if (cmd__load_config(&cfg, file)) {
		config__free(&cfg);
		return 1;
	}
	if (alerting__check(&cfg, err, sizeof(err)) ||
	    scaling__check(&cfg, err, sizeof(err), warn, sizeof(warn))) {
		pr_err("config: %s: %s", file, err);
		config__free(&cfg);
		return 1;
	}
	if (warn[0])
		pr_warn("config: %s: %s", file, warn);
	cmd__web_config_path(&cfg, file);
	if (!web && cfg.web_config_file[0])
		web = cfg.web_config_file;
	if (web && check_web(web)) {
		config__free(&cfg);
		return 1;
	}
	if (cfg.llm_prices[0]) {
		struct llm_prices prices;

		if (llmprices__load(cfg.llm_prices, &prices, err, sizeof(err))) {
			pr_err("config: %s: llm.prices: %s", argv[1], err);
			config__free(&cfg);
			return 1;
		}
		printf("%s: %d prices of %s\n", cfg.llm_prices, prices.n,
		       prices.date[0] ? prices.date : "no date");
		llmprices__free(&prices);
	}
	printf("%s: ok (%d cgroup rules, %d command rules, max_agents %u, interval %.3gs, "
	       "%u alert rules%s, %u receivers, %u pools)\n",
	       file, cfg.ncgroup_rules, cfg.nrules - cfg.ncgroup_rules, cfg.max_agents,
	       cfg.interval_ns / 1e9, cfg.alerts->nrules, cfg.alerts_on ? "" : " (off)",
	       cfg.notify->nreceivers, cfg.pools->npools);
	print_rules(&cfg);
	if (print_cost(&cfg)) {
		config__free(&cfg);
		return 1;
	}
	ret = 0;
	if (dry) {
		if (url)
			snprintf(base, sizeof(base), "%s", url);
		else
			daemon_url(cfg.listen, base, sizeof(base));
		if (read_file(file, &text)) {
			pr_err("check-config: cannot read %s", file);
			ret = 1;
		} else {
			ret = dry_run(file, text, base);
		}
		free(text);
	}
	config__free(&cfg);
	return ret;
}
