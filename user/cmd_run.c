// SPDX-License-Identifier: MIT
/* `swarmwatch run`: load, tag, then tick until told to stop. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alerting.h"
#include "scaling.h"
#include "clock.h"
#include "config.h"
#include "cmd.h"
#include "http.h"
#include "identity.h"
#include "ingest.h"
#include "kernel.h"
#include "log.h"
#include "privs.h"
#include "store.h"
#include "sockscan.h"
#include "tick.h"
#include "tls.h"
#include "webconfig.h"

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static void run_usage(FILE *f)
{
	fprintf(f,
		"usage: swarmwatch run [--config FILE] [--listen ADDR:PORT] [--interval DURATION]\n"
		"                      [--pin-path DIR] [--state-dir DIR] [--webhook URL]\n"
		"                      [--web.config.file FILE] [--overhead-budget PCT] [-v] [--unpin]\n"
		"\n"
		"Watches the agents on this host through eBPF and serves Prometheus metrics.\n"
		"\n"
		"  -c, --config FILE        JSON configuration (default: built-in defaults)\n"
		"  -l, --listen ADDR:PORT   HTTP address (default 0.0.0.0:7979)\n"
		"  -i, --interval DURATION  collector tick, e.g. 500ms, 1s (default 1s)\n"
		"  -p, --pin-path DIR       bpffs directory for pinned maps\n"
		"                           (default /sys/fs/bpf/swarmwatch)\n"
		"  -s, --state-dir DIR      where history, learned state and the notification outbox\n"
		"                           are kept (default /var/lib/swarmwatch; \"\" keeps them in\n"
		"                           memory)\n"
		"  -w, --webhook URL        send every alert to URL (Alertmanager webhook v4 body)\n"
		"      --web.config.file FILE\n"
		"                           TLS, basic auth, bearer tokens and rate limit of the\n"
		"                           HTTP endpoints (YAML, as Prometheus' exporters)\n"
		"      --overhead-budget PCT\n"
		"                           share of host CPU the BPF hooks may cost, in percent\n"
		"                           (default 1; 0: no bound, full capture always)\n"
		"      --unpin              remove the pinned maps and programs, then exit\n"
		"  -v, --verbose            debug output, including libbpf's messages\n"
		"  -h, --help               this text\n");
}

struct handlers {
	struct identity *id;
	struct tls *tls;
};

static void on_event(void *ctx, const struct sw_event *e)
{
	struct handlers *h = ctx;

	identity__event(h->id, e);
	tls__event(h->tls, e);
}

static int ack(void *ctx, const char *id)
{
	return alerting__ack(ctx, id);
}

static int64_t silence_add(void *ctx, const struct alert_silence *s)
{
	return alerting__silence_add(ctx, s);
}

static size_t silences(void *ctx, struct alert_silence *out, size_t cap)
{
	return alerting__silences(ctx, out, cap);
}

static int silence_expire(void *ctx, uint64_t id)
{
	return alerting__silence_expire(ctx, id);
}

static const struct http_alert_ops alert_ops = {ack, silence_add, silences, silence_expire};

static long pool_history(void *ctx, const char *pool, long limit, struct scale_event **out)
{
	return scaling__history(ctx, pool, limit, out);
}

static long pool_evaluate(void *ctx, const struct config *c, struct scale_event **out, char *err,
			  size_t errlen)
{
	return scaling__evaluate(ctx, c, out, err, errlen);
}

static const struct http_scale_ops scale_ops = {pool_history, pool_evaluate};

static void log_collectors(struct kernel *k)
{
	char up[256] = "", down[256] = "";
	int i;

	for (i = 0; i < COLLECTOR_MAX; i++) {
		char *dst = kernel__collector_up(k, i) ? up : down;

		if (dst[0])
			strncat(dst, " ", 255 - strlen(dst));
		strncat(dst, sw_collector_name(i), 255 - strlen(dst));
	}
	pr_info("collectors up: %s%s%s%s", up, down[0] ? "; off: " : "", down, "");
}

/* Whether ADDR:PORT names a loopback address only. */
static bool loopback(const char *listen)
{
	return !strncmp(listen, "127.", 4) || !strncmp(listen, "[::1]:", 6) ||
	       !strncmp(listen, "localhost:", 10);
}

/* The series store as configured; its disk errors are its own to count and retry. */
static struct store *open_store(const struct config *cfg)
{
	struct store_params p;
	struct store *st;
	int t;

	store__params_default(&p);
	p.dir = cfg->store_dir[0] ? cfg->store_dir : NULL;
	p.mem_ms = cfg->store_memory_ns / 1000000;
	for (t = 0; t < STORE_TIERS; t++)
		p.retention_ms[t] = cfg->store_retention_ns[t] / 1000000;
	p.max_bytes = cfg->store_max_bytes;
	p.flush_ms = cfg->store_flush_ns / 1000000;
	st = store__open(&p);
	if (!st) {
		pr_err("store: cannot start: %s", strerror(errno));
		return NULL;
	}
	store__flush(st, false); /* the series of an earlier run are known before the first tick */
	if (p.dir)
		pr_info("history in %s", store__db_path(st));
	else
		pr_info("history in memory only (no state directory)");
	return st;
}

int cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"listen", required_argument, NULL, 'l'},
		{"interval", required_argument, NULL, 'i'},
		{"pin-path", required_argument, NULL, 'p'},
		{"state-dir", required_argument, NULL, 's'},
		{"unpin", no_argument, NULL, 'U'},
		{"webhook", required_argument, NULL, 'w'},
		{"web.config.file", required_argument, NULL, 'W'},
		{"overhead-budget", required_argument, NULL, 'B'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *config_path = NULL, *listen = NULL, *interval = NULL, *pin_path = NULL;
	const char *state_dir = NULL;
	struct store *store = NULL;
	const char *webhook = NULL, *web_file = NULL;
	struct web_config web;
	struct privs_need need;
	const char *budget = NULL;
	struct tick *tick = NULL;
	struct identity *id = NULL;
	struct handlers handlers;
	struct identity_maps maps;
	struct ingest *statsd = NULL;
	struct tls *tls = NULL;
	struct kernel *k = NULL;
	struct http *h = NULL;
	struct sigaction sa;
	struct config cfg;
	bool unpin = false;
	char err[512];
	int opt, ret = 1, werr;
	__u64 next;

	while ((opt = getopt_long(argc, argv, "c:l:i:p:s:w:vh", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			config_path = optarg;
			break;
		case 'l':
			listen = optarg;
			break;
		case 'i':
			interval = optarg;
			break;
		case 'p':
			pin_path = optarg;
			break;
		case 's':
			state_dir = optarg;
			break;
		case 'U':
			unpin = true;
			break;
		case 'w':
			webhook = optarg;
			break;
		case 'W':
			web_file = optarg;
			break;
		case 'B':
			budget = optarg;
			break;
		case 'v':
			log__set_level(LOG_DEBUG);
			break;
		case 'h':
			run_usage(stdout);
			return 0;
		default:
			run_usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		pr_err("run: unexpected argument \"%s\" (see swarmwatch run --help)", argv[optind]);
		return 2;
	}
	webconfig__defaults(&web);
	if (cmd__load_config(&cfg, config_path))
		return 1;
	cmd__web_config_path(&cfg, config_path);
	if (web_file)
		snprintf(cfg.web_config_file, sizeof(cfg.web_config_file), "%s", web_file);
	if (listen)
		snprintf(cfg.listen, sizeof(cfg.listen), "%s", listen);
	if (pin_path) {
		if (pin_path[0] != '/' || strlen(pin_path) >= sizeof(cfg.pin_path) - 64) {
			pr_err("--pin-path must be an absolute path");
			goto out;
		}
		snprintf(cfg.pin_path, sizeof(cfg.pin_path), "%s", pin_path);
	}
	if (state_dir) {
		if ((state_dir[0] && state_dir[0] != '/') ||
		    strlen(state_dir) >= sizeof(cfg.store_dir) - 32) {
			pr_err("--state-dir must be an absolute path, or \"\" to keep history in "
			       "memory only");
			goto out;
		}
		snprintf(cfg.store_dir, sizeof(cfg.store_dir), "%s", state_dir);
	}
	if (interval && (config__parse_duration(interval, &cfg.interval_ns) ||
			 cfg.interval_ns < 10000000ULL || cfg.interval_ns > 3600000000000ULL)) {
		pr_err("--interval \"%s\": must be a duration from 10ms to 1h, like 500ms or 1s",
		       interval);
		goto out;
	}
	werr = webhook ? config__add_webhook(&cfg, webhook) : 0;
	if (werr == -EEXIST) {
		pr_err("--webhook adds a receiver named \"webhook\" and the configuration has one: "
		       "rename that receiver, or give its URL in the file instead of --webhook");
		goto out;
	} else if (werr == -ENOSPC) {
		pr_err("--webhook: the configuration has the most receivers or routes there can be");
		goto out;
	} else if (werr) {
		pr_err("--webhook \"%s\": must be an http:// or https:// URL of under %d characters",
		       webhook, NOTIFY_URL_MAX);
		goto out;
	}
	if (webhook && !cfg.alerts_on)
		pr_warn("--webhook: alerts are off in the configuration, so nothing will be sent");
	if (budget) {
		char *end;
		double pct = strtod(budget, &end);

		if (end == budget || *end || !(pct >= 0 && pct <= 100)) {
			pr_err("--overhead-budget \"%s\": must be a percentage from 0 to 100, like 1 "
			       "or 0.5",
			       budget);
			goto out;
		}
		cfg.overhead_budget = pct / 100;
	}
	if (unpin) {
		int n = kernel__unpin(cfg.pin_path);

		if (n == -EBUSY) {
			pr_err("cannot unpin %s: a running swarmwatch daemon uses it; stop it first",
			       cfg.pin_path);
			goto out;
		} else if (n < 0) {
			pr_err("cannot unpin %s: %s", cfg.pin_path, strerror(-n));
			goto out;
		}
		pr_info("removed %d pinned objects from %s", n, cfg.pin_path);
		ret = 0;
		goto out;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (cfg.web_config_file[0] &&
	    webconfig__load(&web, cfg.web_config_file, err, sizeof(err))) {
		pr_err("%s", err);
		goto out;
	}
	/* Bind first: a busy port should fail before anything touches the kernel. */
	h = http__new(cfg.listen, cfg.interval_ns, &web, err, sizeof(err));
	if (!h) {
		pr_err("%s", err);
		goto out;
	}
	k = kernel__open(&cfg);
	if (!k)
		goto out;
	kernel__identity_maps(k, &maps);
	id = identity__new(&cfg, &maps);
	if (!id) {
		pr_err("out of memory");
		goto out;
	}
	handlers.id = id;
	handlers.tls = tls = tls__new(&cfg, k);
	kernel__on_event(k, on_event, &handlers);
	identity__scan_cgroups(id);
	identity__scan_proc(id);
	if (kernel__collector_up(k, COLLECTOR_NET))
		sockscan__adopt(&maps, k);
	tls__scan(tls);
	/*
	 * Everything that needs privileges at start is done: drop what the daemon does not use
	 * from now on, before any thread starts (capabilities are per thread; later threads
	 * inherit this one's).
	 */
	need = (struct privs_need){
		.exec_classify = true, .tls = tls != NULL, .tls_perf = tls__perf_events(tls)};
	if (privs__drop(&need, err + 256, sizeof(err) - 256, err, 256)) {
		pr_err("%s", err);
		goto out;
	}
	pr_info("capabilities kept: %s; every other one dropped", err + 256);
	tls__start(tls);
	store = open_store(&cfg);
	if (!store)
		goto out;
	http__attach_store(h, store);
	tick = tick__new(&cfg, k, id, tls, store);
	if (!tick) {
		if (errno == ENOMEM)
			pr_err("out of memory");
		goto out;
	}
	if (tick__alerting(tick))
		http__set_alerts(h, &alert_ops, tick__alerting(tick));
	if (tick__scaling(tick))
		http__set_scaling(h, &scale_ops, tick__scaling(tick));
	if (tick__app_params(tick)) {
		struct ingest_params ip = {.udp = cfg.statsd_udp,
					   .socket = cfg.statsd_socket,
					   .tasks_fd = maps.tasks_fd,
					   .udp_owners_fd = kernel__udp_owners_fd(k),
					   .apps = tick__app_params(tick)};

		statsd = ingest__start(&ip, err, sizeof(err));
		if (!statsd)
			pr_warn("%s", err);
		else
			tick__attach_statsd(tick, statsd);
	}
	http__attach(h, tick__slot(tick));
	if (http__run(h, err, sizeof(err))) {
		pr_err("%s", err);
		goto out;
	}
	log_collectors(k);
	if (!webconfig__auth_on(&web) && !loopback(cfg.listen))
		pr_warn("listening on %s without authentication: anyone who reaches it reads every "
			"agent's figures and can silence alerts (listen on 127.0.0.1, or give "
			"--web.config.file)",
			cfg.listen);
	pr_info("version " SW_VERSION " serving %s://%s/metrics%s, tick %.3gs, pins in %s",
		web.cert_pem ? "https" : "http", cfg.listen,
		webconfig__auth_on(&web) ? (web.metrics_auth ? " (authentication required)"
							     : " (authentication required but on "
							       "/metrics and /healthz)")
					 : " (no authentication: see --web.config.file)",
		cfg.interval_ns / 1e9, cfg.pin_path);
	next = clock__mono_ns();
	while (!stopping) {
		__u64 now = clock__mono_ns(), wake = next, off;

		if (now >= next) {
			tick__run(tick);
			/* While /metrics is scraped, its page is made here rather than by the scrape. */
			if (http__prerender(h) < 0)
				pr_warn("/metrics not prerendered: out of memory; scrapes render it");
			next += cfg.interval_ns;
			if (next <= now)
				next = now + cfg.interval_ns; /* fell behind: skip, don't burst */
			continue;
		}
		off = tick__duty_at(tick);
		if (off && now >= off) {
			tick__duty(tick, now); /* the overhead budget's duty cycle */
			continue;
		}
		if (off && off < wake)
			wake = off;
		/* Wait for the next tick, handling exec events as they come. */
		kernel__poll(k, (int)((wake - now + 999999) / 1000000));
	}
	pr_info("stopping; pinned maps stay in %s (swarmwatch run --unpin removes them)",
		cfg.pin_path);
	ret = 0;
out:
	http__stop(h);
	ingest__stop(statsd);
	tick__free(tick);
	store__close(store); /* the last flush */
	tls__free(tls);
	kernel__close(k);
	identity__free(id);
	config__free(&cfg);
	webconfig__free(&web);
	return ret;
}
