/* SPDX-License-Identifier: MIT */
#ifndef SW_CONFIG_H
#define SW_CONFIG_H

#include <linux/types.h>
#include <regex.h>
#include <stdbool.h>
#include <stddef.h>

#include "alert.h"
#include "cost.h"
#include "notify.h"
#include "scale.h"
#include "swarmwatch.h"

enum rule_match {
	RULE_CGROUP, /* cgroup v2 path, e.g. /system.slice/foo.service */
	RULE_COMM, /* task comm, 15 characters at most */
	RULE_EXE, /* path of the executable */
	RULE_CMDLINE, /* arguments joined by single spaces */
};

/* One identity rule: a regex over one process attribute and a name template. */
struct rule {
	enum rule_match match;
	char *regex; /* source text */
	char *name; /* template: literal text with $0..$9 captures */
	char *tenant; /* template of the tenant label of the agents it names; NULL: none */
	regex_t re; /* compiled, REG_EXTENDED */
};

#define CONFIG_MAX_UPSTREAMS 64
#define CONFIG_MAX_TLS_AGENTS 32
#define CONFIG_MAX_STATSD_TAGS 4

/* A named upstream: peers in a CIDR block, on one port or any. */
struct upstream {
	char name[48];
	int family; /* AF_INET or AF_INET6 */
	__u32 addr[4]; /* network order */
	int prefix; /* prefix length in bits */
	int port; /* 0: any port */
};

#define CONFIG_MAX_LLM_UPSTREAMS 32

/* An LLM upstream (llm.upstreams): a host name or an address, on one port or any. */
struct llm_upstream {
	char host[SW_HOST_LEN]; /* DNS name, lowercased; "" when the entry is an address */
	int family; /* AF_INET or AF_INET6 for an address, 0 for a host name */
	__u32 addr[4]; /* network order */
	int port; /* 0: any port */
	char provider[32]; /* gen_ai_provider_name: "openai", "anthropic", "gcp.gemini", "ollama"... */
};

struct config {
	char *origin; /* file name, or "built-in defaults" */
	char listen[128]; /* ADDR:PORT for the HTTP server */
	char web_config_file[256]; /* TLS and authentication (webconfig.h); "" for none */
	__u64 interval_ns; /* collector tick */
	char pin_path[256]; /* bpffs directory for pinned maps */
	__u32 max_agents; /* agents beyond fold into "other" */
	bool marker; /* honour SWARMWATCH_AGENT= in the environment */
	struct rule *rules; /* cgroup rules first, then command rules */
	int nrules;
	int ncgroup_rules; /* rules[0..ncgroup_rules) match cgroups */
	bool builtin_rules; /* the file does not set identity.rules: the built-in ones apply */
	__u8 errno_ignored[SW_ERRNO_SLOTS]; /* 1: not counted as an error */
	int top_errnos; /* errno labels per agent before "other" */
	bool latency_sampling; /* time 1 in N tracked syscalls (kernel.c), not every one */
	struct upstream upstreams[CONFIG_MAX_UPSTREAMS];
	int nupstreams;
	int top_upstreams; /* upstream labels per agent before "other" */
	bool collectors[COLLECTOR_MAX]; /* enabled by configuration */
	char tls_agents[CONFIG_MAX_TLS_AGENTS][SW_NAME_LEN]; /* fnmatch patterns: TLS capture on */
	int ntls_agents;
	bool bpf_stats; /* turn on BPF run-time statistics (costs ~20 ns a run) */
	__u32 anomaly_warmup; /* samples before a detector gives verdicts; 0: its default */
	__u64 agent_retention_ns; /* idle agents without instances stop being exported */
	__u64 anomaly_hold_ns; /* an episode stays open this long after its last detection */
	char store_dir[256]; /* state directory of the series store; "" keeps history in memory */
	__u64 store_memory_ns; /* raw samples kept in memory */
	__u64 store_retention_ns[3]; /* raw, 1-minute and 1-hour tiers on disk */
	__u64 store_max_bytes; /* bound on the database file, 0: none */
	__u64 store_flush_ns; /* how often the store writes to disk */
	bool alerts_on; /* evaluate alert rules ("alerts": {"enabled": false} turns it off) */
	__u64 alerts_window_ns; /* span of the rates and ratios rules read */
	__u64 incident_window_ns; /* an incident resolves this long after its last signal */
	struct alert_params *alerts; /* rules, routes, noise control; malloc'd */
	bool external_url_set; /* alerts.external_url given; else it follows listen */
	struct notify_params *notify; /* receivers; malloc'd */
	struct scale_params *pools; /* "pools" with "pool_defaults" applied; malloc'd, 0 pools: off */
	char statsd_udp[128]; /* StatsD over UDP: ADDR:PORT on loopback, "" for off */
	char statsd_socket[108]; /* StatsD over a Unix datagram socket: path, "" for off */
	char statsd_tags[CONFIG_MAX_STATSD_TAGS][32]; /* DogStatsD tag keys kept as labels */
	int nstatsd_tags;
	bool statsd_trust_agent_tag; /* an "agent" tag names the agent */
	__u32 statsd_max_series; /* app series per agent */
	__u32 statsd_max_values; /* values per label of one app family and agent */
	struct llm_upstream llm_upstreams[CONFIG_MAX_LLM_UPSTREAMS]; /* LLM capture on for these */
	int nllm_upstreams;
	char llm_prices[256]; /* price table file, "" for none */
	int llm_max_models; /* model labels per agent before "other" */
	struct cost_params *cost; /* prices, budgets, emergency action; malloc'd */
	double overhead_budget; /* share of host CPU the BPF programs may cost; 0: no bound */
};

/* The configuration used when no file is given, as JSON text. */
extern const char config__builtin[];

/*
 * Parses JSON `text` into c (which it initializes). A key the text does not
 * set keeps its built-in default (config__builtin), identity.rules included;
 * an explicit "rules": [] means no rules. On error returns -EINVAL (or
 * -ENOMEM) and writes a one-line message "ORIGIN:LINE:COLUMN: what" to err;
 * c then holds no allocation, and config__free() on it is harmless.
 */
int config__parse(struct config *c, const char *text, const char *origin, char *err, size_t errlen);

/* Reads and parses file `path`; errors as config__parse, or -errno if unreadable. */
int config__load(struct config *c, const char *path, char *err, size_t errlen);

void config__free(struct config *c);

/*
 * Label of a peer: the name of the first configured upstream whose block
 * and port match, else "host:port" when the peer's host name is known
 * (host, from the client's SNI or Host header; NULL or "" if not), else
 * "ip:port" ("[v6]:port"), or "ip" when port is 0 (a server's clients).
 * An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is the IPv4 peer a.b.c.d,
 * for the blocks and the label alike. Writes at most len bytes.
 */
void config__upstream_label(const struct config *c, int family, const __u32 addr[4], int port,
			    const char *host, char *out, size_t len);

/*
 * The index of the first llm.upstreams entry that peer (host name id host, 0 if none; family,
 * addr in network order, port) matches, or -1. Host name ids are FNV-1a hashes of the
 * lowercased name, as the kernel computes them (host.bpf.h): config__host_id().
 */
int config__llm_upstream(const struct config *c, __u64 host, int family, const __u32 addr[4],
			 int port);

/* The kernel's id of DNS name `name` (64-bit FNV-1a of its bytes, 0 mapped to 1). */
__u64 config__host_id(const char *name);

/* Whether agent `name` has TLS capture on (matches a "tls.agents" pattern). */
bool config__tls_agent(const struct config *c, const char *name);

/*
 * config__add_webhook - sends every alert to url as well: a webhook receiver named "webhook"
 * and a route to it with the default grouping (swarmwatch run --webhook). Returns 0, -EINVAL
 * for a URL that is not http(s):// or too long, -EEXIST when the configuration has a receiver
 * named "webhook", -ENOSPC when receivers or routes are full.
 */
int config__add_webhook(struct config *c, const char *url);

/*
 * Parses a duration: a decimal number, optionally with a fraction ("1.5"),
 * then ns, us, ms, s, m or h, or no unit for seconds ("250ms", "1s", "2m").
 * Fractions of a nanosecond are dropped. Returns 0 with
 * *ns set, -EINVAL when s is not such a duration, -ERANGE above 10^18 ns
 * (about 31 years).
 */
int config__parse_duration(const char *s, __u64 *ns);

#endif
