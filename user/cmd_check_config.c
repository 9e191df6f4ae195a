// SPDX-License-Identifier: MIT
/* `swarmwatch check-config`: parse and validate a configuration without starting anything. */
#include <stdio.h>
#include <string.h>

#include "alerting.h"
#include "cmd.h"
#include "config.h"
#include "llm.h"
#include "log.h"
#include "webconfig.h"

/*
 * Prints the identity rules in force, in the order they are tried (first
 * match wins), and where they come from: one line each, "N. MATCH REGEX -> NAME".
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
		printf("  %d. %s %s -> %s\n", n++, match[c->rules[i].match], c->rules[i].regex,
		       c->rules[i].name);
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
	for (i = 0; i < w.ntokens; i++)
		printf("  token %s: %s\n", w.tokens[i].name,
		       webconfig__scope_names(w.tokens[i].scopes, scopes, sizeof(scopes)));
	webconfig__free(&w);
	return 0;
}

int cmd_check_config(int argc, char **argv)
{
	const char *file = NULL, *web = NULL;
	struct config cfg;
	char err[512];
	int i, ret;

	if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		printf("usage: swarmwatch check-config FILE [--web.config.file WEBFILE]\n"
		       "       swarmwatch check-config --web.config.file WEBFILE\n"
		       "       swarmwatch check-config --defaults\n\n"
		       "Parses and validates a configuration file without starting anything.\n"
		       "Exit status 0 when it is valid, and then prints the identity rules in\n"
		       "force; otherwise one line says what is wrong. A key the file does not set\n"
		       "keeps its built-in default (identity.rules included; [] means none).\n"
		       "The web configuration (TLS, users, tokens), given here or by the file's\n"
		       "web_config_file, is checked too: certificate and key must be a pair.\n"
		       "--defaults prints the built-in configuration, a starting point for a file.\n");
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
		else if (argv[i][0] != '-' && !file)
			file = argv[i];
		else
			file = web = NULL, i = argc;
	}
	if (!file && !web) {
		fprintf(stderr,
			"usage: swarmwatch check-config FILE [--web.config.file WEBFILE]\n");
		return 2;
	}
	if (!file)
		return check_web(web);
	if (cmd__load_config(&cfg, file)) {
		config__free(&cfg);
		return 1;
	}
	if (alerting__check(&cfg, err, sizeof(err))) {
		pr_err("config: %s: %s", file, err);
		config__free(&cfg);
		return 1;
	}
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
	       "%u alert rules%s, %u receivers)\n",
	       file, cfg.ncgroup_rules, cfg.nrules - cfg.ncgroup_rules, cfg.max_agents,
	       cfg.interval_ns / 1e9, cfg.alerts->nrules, cfg.alerts_on ? "" : " (off)",
	       cfg.notify->nreceivers);
	print_rules(&cfg);
	config__free(&cfg);
	ret = 0;
	return ret;
}
