// SPDX-License-Identifier: MIT
/*
 * App metrics over StatsD, attributed by the kernel: two tagged processes send over the Unix
 * socket and over UDP, and every metric lands under the sender's agent with its exact value
 * (an "agent" tag naming the other agent is ignored); an untagged sender's metrics land under no
 * agent and are counted; a malformed line is counted. UDP senders are found by the kernel's record
 * of their source port (`udp_owners`), also for a socket opened before the daemon started, and
 * a socket that an untagged process sends from next is no longer credited to the agent.
 */
#include <signal.h>
#include <sys/un.h>

#include "harness.h"
#include "tap.h"

static char agent_a[32], agent_b[32], agent_c[32], sock_path[108], conf_path[128], sock_dir[64];
static int udp_port;

/* A free UDP port on loopback a moment ago. */
static int free_udp_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_DGRAM, 0), port = 0;

	if (fd >= 0 && !bind(fd, (struct sockaddr *)&a, sizeof(a)) &&
	    !getsockname(fd, (struct sockaddr *)&a, &len))
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static volatile sig_atomic_t go;

static void on_usr1(int sig)
{
	(void)sig;
	go = 1;
}

/*
 * The workload "pre:PORT:FD": UDP socket FD was bound before the daemon started; on SIGUSR1 it
 * sends one counter to PORT from it, then waits to be killed.
 */
static int pre_workload(const char *kind)
{
	struct sockaddr_in u = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	const char msg[] = "sd_pre:7|c";
	int port, fd;

	if (sscanf(kind, "pre:%d:%d", &port, &fd) != 2)
		return 2;
	u.sin_port = htons(port);
	signal(SIGUSR1, on_usr1);
	while (!go)
		pause();
	if (sendto(fd, msg, strlen(msg), 0, (struct sockaddr *)&u, sizeof(u)) < 0)
		return 1;
	for (;;)
		pause();
}

/* A UDP socket bound on loopback, inherited by the workload spawned next; -1 on error. */
static int bound_udp_socket(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a))) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * The workload: "send:PORT:PATH:N" sends N's figures over the Unix socket at PATH and over UDP to
 * PORT, then waits to be killed, so that its UDP socket is still open when the daemon looks for
 * its owner.
 */
static int workload(const char *kind)
{
	struct sockaddr_in u = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	char path[108], unix_msg[512], udp_msg[256];
	int port, n, fu, fd;

	if (sscanf(kind, "send:%d:%107[^:]:%d", &port, path, &n) != 3)
		return 2;
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	u.sin_port = htons(port);
	if (n == 0) {
		snprintf(unix_msg, sizeof(unix_msg), "sd_orphan:1|c\nnot a statsd line");
		snprintf(udp_msg, sizeof(udp_msg), "sd_orphan:3|c");
	} else {
		/* Agent n: quality n/4, 2n + 1 / 0.5 requests, one wait of 250 ms, 10n over UDP. */
		snprintf(unix_msg, sizeof(unix_msg),
			 "sd_quality:%g|g\nsd_req:%d|c\nsd_req:1|c|@0.5\n"
			 "sd_wait:250|ms|#model:m%d\nsd_spoof:1|c|#agent:nobody\nbroken|line",
			 n / 4.0, 2 * n, n);
		snprintf(udp_msg, sizeof(udp_msg), "sd_udp:%d|c\nsd_queue:+%d|g\nsd_queue:+1|g",
			 10 * n, n);
	}
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	fu = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || fu < 0 ||
	    sendto(fd, unix_msg, strlen(unix_msg), 0, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    sendto(fu, udp_msg, strlen(udp_msg), 0, (struct sockaddr *)&u, sizeof(u)) < 0)
		return 1;
	for (;;)
		pause();
}

static pid_t sender(const char *agent, int n)
{
	char kind[256];

	snprintf(kind, sizeof(kind), "send:%d:%s:%d", udp_port, sock_path, n);
	return spawn_workload(NULL, agent, kind);
}

static double app(const char *m, const char *series, const char *agent)
{
	return metricf(m, "swarmwatch_agent_app_%s{agent=\"%s\"}", series, agent);
}

/* Everything the three senders sent has been folded in. */
static int all_in(const char *m)
{
	return app(m, "sd_udp_total", agent_a) == 10 && app(m, "sd_udp_total", agent_b) == 20 &&
	       app(m, "sd_quality", agent_b) == 0.5 && app(m, "sd_pre_total", agent_c) == 7 &&
	       metric(m, "swarmwatch_agent_app_sd_orphan_total") == 4;
}

/* The datagram this (untagged) process sent from agent C's socket has been folded in. */
static int after_in(const char *m)
{
	return metric(m, "swarmwatch_agent_app_sd_after_total") == 5;
}

static int listening(const struct daemon *d)
{
	char line[512];
	FILE *f = fopen(d->log_path, "r");
	int n = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		n += !!strstr(line, "statsd: listening on 127.0.0.1:");
	fclose(f);
	return n;
}

/* Runs promtool check metrics over the page's body: it must print nothing and exit 0. */
static void promtool(const char *m, const char *check)
{
	char path[64], cmd[256], out[512] = "";
	size_t n = 0;
	FILE *f, *p;
	int st = -1;

	if (system("command -v promtool >/dev/null 2>&1")) {
		tap_skip("promtool is not installed", "%s", check);
		return;
	}
	snprintf(path, sizeof(path), "/tmp/swarmwatch-statsd-%d.prom", (int)getpid());
	f = fopen(path, "w");
	if (f) {
		fputs(http_body(m), f);
		fclose(f);
	}
	snprintf(cmd, sizeof(cmd), "promtool check metrics < %s 2>&1", path);
	p = f ? popen(cmd, "r") : NULL;
	if (p) {
		n = fread(out, 1, sizeof(out) - 1, p);
		out[n] = 0;
		st = pclose(p);
	}
	unlink(path);
	tap_expect(st == 0 && n == 0, check, "exit %d: %s", st, out);
}

/* The series store keeps agent A's app gauge and timer: /api/v1/series lists them. */
static void in_history(int port, const char *check)
{
	char path[128], *resp = NULL;
	const char *body;
	int status;

	snprintf(path, sizeof(path), "/api/v1/series?agent=%s", agent_a);
	status = http_get(port, path, &resp);
	body = http_body(resp);
	tap_expect(status == 200 && strstr(body, "\"swarmwatch_agent_app_sd_quality\"") &&
			   strstr(body, "\"swarmwatch_agent_app_sd_wait_seconds\""),
		   check, "status %d: %.200s", status, body);
	free(resp);
}

static const char *const checks[] = {
	"daemon listens for StatsD on UDP and the Unix socket",
	"unix: each agent's gauge under its own agent (0.25 and 0.5)",
	"unix: counters with a sample rate (2n + 1/0.5) per agent",
	"unix: timer in seconds with its allowed tag (count 1, sum 0.25) per agent",
	"unix: an agent tag from an untrusted sender is ignored",
	"udp: counters under the agent owning the source port (10 and 20)",
	"udp: gauge deltas per agent (n + 1)",
	"untagged sender: its metrics under no agent (1 + 3), lines counted",
	"malformed lines counted (one per sender)",
	"udp: a socket bound before the daemon started is attributed once it sends (7)",
	"udp: senders found by the kernel's record of the source port, never /proc (3 and 0)",
	"attribution counted per datagram: unix credentials 2, no agent 2",
	"udp: the same socket, sending next from an untagged process, is credited to no agent (5)",
	"promtool check metrics finds nothing to report on the page",
	"the history holds the app series (/api/v1/series)",
	"senders stopped",
};

#define NCHECKS (sizeof(checks) / sizeof(checks[0]))

int main(int argc, char **argv)
{
	const char *extra[] = {"--config", conf_path, NULL};
	pid_t pa = 0, pb = 0, po = 0, pc = 0;
	int pre_fd;
	struct daemon d = {0};
	const char *why;
	char *m = NULL;
	double v1, v2;
	size_t i;
	FILE *f;

	if (argc == 3 && !strcmp(argv[1], "--workload"))
		return strncmp(argv[2], "pre:", 4) ? workload(argv[2]) : pre_workload(argv[2]);
	printf("1..%zu\n", NCHECKS);
	why = bpf_unavailable();
	if (why) {
		for (i = 0; i < NCHECKS; i++)
			tap_skip(why, "%s", checks[i]);
		return 0;
	}
	snprintf(agent_a, sizeof(agent_a), "sd-a-%d", (int)getpid());
	snprintf(agent_b, sizeof(agent_b), "sd-b-%d", (int)getpid());
	snprintf(agent_c, sizeof(agent_c), "sd-c-%d", (int)getpid());
	snprintf(sock_dir, sizeof(sock_dir), "/tmp/swarmwatch-statsd-%d", (int)getpid());
	snprintf(sock_path, sizeof(sock_path), "%s/statsd.sock", sock_dir);
	snprintf(conf_path, sizeof(conf_path), "/tmp/swarmwatch-statsd-%d.json", (int)getpid());
	udp_port = free_udp_port();
	f = fopen(conf_path, "w");
	if (f) {
		fprintf(f,
			"{\"statsd\": {\"udp\": \"127.0.0.1:%d\", \"socket\": \"%s\", "
			"\"tags\": [\"model\"]}}\n",
			udp_port, sock_path);
		fclose(f);
	}
	/* Agent C's socket and process exist before the daemon: the scan at start tags it. */
	pre_fd = bound_udp_socket();
	if (pre_fd >= 0) {
		char kind[64];

		snprintf(kind, sizeof(kind), "pre:%d:%d", udp_port, pre_fd);
		pc = spawn_workload(NULL, agent_c, kind);
	}
	if (!f || daemon_start(&d, extra)) {
		if (pc > 0)
			kill(pc, SIGKILL);
		daemon_dump_log(&d);
		for (i = 0; i < NCHECKS; i++)
			tap_check(0, "%s (daemon did not start)", checks[i]);
		daemon_unpin(&d);
		unlink(conf_path);
		return 1;
	}
	tap_check(listening(&d) == 1, "%s", checks[0]);
	pa = sender(agent_a, 1);
	pb = sender(agent_b, 2);
	po = sender(NULL, 0);
	if (pc > 0)
		kill(pc, SIGUSR1);
	m = scrape_until(d.port, all_in, 20);

	v1 = app(m, "sd_quality", agent_a);
	v2 = app(m, "sd_quality", agent_b);
	tap_expect(v1 == 0.25 && v2 == 0.5, checks[1], "%g and %g", v1, v2);
	v1 = app(m, "sd_req_total", agent_a);
	v2 = app(m, "sd_req_total", agent_b);
	tap_expect(v1 == 4 && v2 == 6, checks[2], "%g and %g, want 4 and 6", v1, v2);
	v1 = metricf(m, "swarmwatch_agent_app_sd_wait_seconds_count{agent=\"%s\",model=\"m1\"}",
		     agent_a) +
	     metricf(m, "swarmwatch_agent_app_sd_wait_seconds_count{agent=\"%s\",model=\"m2\"}",
		     agent_b);
	v2 = metricf(m, "swarmwatch_agent_app_sd_wait_seconds_sum{agent=\"%s\",model=\"m1\"}",
		     agent_a) +
	     metricf(m, "swarmwatch_agent_app_sd_wait_seconds_sum{agent=\"%s\",model=\"m2\"}",
		     agent_b);
	tap_expect(v1 == 2 && v2 == 0.5, checks[3], "counts %g, sums %g", v1, v2);
	v1 = app(m, "sd_spoof_total", agent_a);
	v2 = app(m, "sd_spoof_total", "nobody");
	tap_expect(v1 == 1 && v2 != v2, checks[4], "%g under the sender, %g under the tag", v1, v2);
	v1 = app(m, "sd_udp_total", agent_a);
	v2 = app(m, "sd_udp_total", agent_b);
	tap_expect(v1 == 10 && v2 == 20, checks[5], "%g and %g", v1, v2);
	v1 = app(m, "sd_queue", agent_a);
	v2 = app(m, "sd_queue", agent_b);
	tap_expect(v1 == 2 && v2 == 3, checks[6], "%g and %g, want 2 and 3", v1, v2);
	v1 = metric(m, "swarmwatch_agent_app_sd_orphan_total");
	v2 = metric(m, "swarmwatch_statsd_unattributed_lines_total");
	tap_expect(v1 == 4 && v2 == 2 && !strstr(m, "swarmwatch_agent_app_sd_orphan_total{"),
		   checks[7], "%g under no agent, %g lines unattributed", v1, v2);
	v1 = metric(m, "swarmwatch_statsd_malformed_lines_total");
	tap_expect(v1 == 3, checks[8], "%g", v1);
	v1 = app(m, "sd_pre_total", agent_c);
	tap_expect(pc > 0 && v1 == 7, checks[9], "%g (sender pid %d)", v1, (int)pc);
	v1 = metric(m, "swarmwatch_statsd_attribution_total{source=\"kernel\"}");
	v2 = metric(m, "swarmwatch_statsd_attribution_total{source=\"proc\"}");
	tap_expect(v1 == 3 && v2 == 0, checks[10], "kernel %g, proc %g", v1, v2);
	v1 = metric(m, "swarmwatch_statsd_attribution_total{source=\"credentials\"}");
	v2 = metric(m, "swarmwatch_statsd_attribution_total{source=\"none\"}");
	tap_expect(v1 == 2 && v2 == 2, checks[11], "credentials %g, none %g", v1, v2);

	/*
	 * This process, untagged, sends from the socket it gave agent C: the kernel drops the port's
	 * entry before delivering it. The wait is past the listener's 100 ms cache of the port.
	 */
	usleep(200 * 1000);
	if (pre_fd >= 0) {
		struct sockaddr_in u = {.sin_family = AF_INET,
					.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
					.sin_port = htons(udp_port)};

		if (sendto(pre_fd, "sd_after:5|c", 12, 0, (struct sockaddr *)&u, sizeof(u)) < 0)
			printf("# sendto: %s\n", strerror(errno));
		close(pre_fd);
	}
	free(m);
	m = scrape_until(d.port, after_in, 20);
	v1 = metric(m, "swarmwatch_agent_app_sd_after_total");
	v2 = metric(m, "swarmwatch_statsd_attribution_total{source=\"none\"}") -
	     metric(m, "swarmwatch_statsd_attribution_total{source=\"kernel\"}");
	tap_expect(v1 == 5 && v2 == 0 && !strstr(m, "swarmwatch_agent_app_sd_after_total{"),
		   checks[12], "%g under no agent; none - kernel = %g, want 3 - 3", v1, v2);
	promtool(m, checks[13]);
	in_history(d.port, checks[14]);

	for (i = 0; i < 4; i++) {
		pid_t p = i == 0 ? pa : i == 1 ? pb : i == 2 ? po : pc;

		if (p > 0)
			kill(p, SIGTERM);
	}
	v1 = 0;
	for (i = 0; i < 4; i++) {
		pid_t p = i == 0 ? pa : i == 1 ? pb : i == 2 ? po : pc;
		int st = p > 0 ? wait_status(p) : 0;

		v1 += p > 0 && WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM;
	}
	tap_expect(v1 == 4, checks[15], "%g of 4 ended by SIGTERM", v1);
	if (tap_failed)
		daemon_dump_log(&d);
	free(m);
	daemon_stop(&d);
	daemon_unpin(&d);
	unlink(conf_path);
	rmdir(sock_dir);
	return tap_failed ? 1 : 0;
}
