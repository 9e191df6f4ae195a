// SPDX-License-Identifier: MIT
/*
 * Requests over TLS against the running kernel, with Python's ssl module
 * (OpenSSL) at both ends (tests/bpf/tls_peer.py). The daemon runs with
 * TLS capture on for agents "tlscap-*". Two HTTPS server/client pairs run
 * at once: tlscap-server/tlscap-client (capture on) and tlsoff-server/
 * tlsoff-client (capture off). Each client makes 200 requests over 10
 * keep-alive connections, answered after 200 ms, 60 of them (30 %) with 500;
 * with capture on, 20 others get an interim 100 Continue at once, before
 * their 200.
 *
 * With capture on, both agents must show the status classes: 140 2xx and 60
 * 5xx (each +-2), the client's to upstream 127.0.0.1:<port>, and the
 * client's latency histogram must hold its requests between 2^27 and 2^30 ns
 * (around 200 ms, with room for a loaded host): an interim response ends no request. With
 * capture off the same requests must be counted (200 +-2 for each agent) and timed, with status "unknown": the TLS
 * handshakes are not requests. A third pair on Node.js (tls_peer.js:
 * OpenSSL linked into the node executable, driven through memory BIOs),
 * tlscap-nserver/tlscap-nclient, must show the same status classes as the
 * first. Probes are attached to the opted-in processes only, and detached
 * when they exit.
 */
#include <limits.h>
#include <sys/stat.h>

#include "harness.h"
#include "tap.h"

#define CONNS 10
#define PER_CONN 20
#define REQUESTS (CONNS * PER_CONN)
#define FAILING 60
#define SLACK 2 /* the tolerance */
#define LE_DELAY 0.268435456 /* 2^28 ns: the smallest bound >= 200 ms */
/*
 * 2^30 ns (1.07 s): the bound a 200 ms request must stay under however loaded the host is
 * (a busy CI machine adds tens of milliseconds to some); what tells a request timed to its
 * interim response from one timed to its end is the lower bound, 2^27 ns.
 */
#define LE_LOADED 1.073741824
#define REQ_TOTAL "swarmwatch_agent_requests_total"
#define REQ_DURATION "swarmwatch_agent_request_duration_seconds"
#define PROBED "swarmwatch_tls_probed_processes"
#define CAP_SERVER_FD 100
#define OFF_SERVER_FD 101
#define NODE_SERVER_FD 102

static char dir[64], cert[128], key[128], go[128], cfg[128], peer[PATH_MAX], jspeer[PATH_MAX];
static char cap_server[32], cap_client[32], off_server[32], off_client[32];
static char node_server[32], node_client[32];
static int have_node; /* node and tls_peer.js are there: the Node.js pair runs */

static const char *const checks[] = {
	"probes attach to the processes of agents with TLS capture on (2, or 4 with Node.js)",
	"HTTPS peers finish with the answers they asked for",
	"capture on: the client counts 140 2xx requests (+-2)",
	"capture on: the client counts 60 5xx requests (+-2)",
	"capture on: the client's requests go to upstream 127.0.0.1:<port>, role client",
	"capture on: the server counts 140 2xx and 60 5xx requests (+-2), role server",
	"capture on: the client's latency histogram holds its requests in (2^27, 2^30] ns (200 ms)",
	"capture off: the client counts 200 requests (+-2), all with status unknown",
	"capture off: the server counts 200 requests (+-2), all with status unknown",
	"capture off: the client's requests are timed, mostly in (2^27, 2^30] ns (200 ms)",
	"Node.js client (memory BIO, OpenSSL in the executable): 140 2xx and 60 5xx (+-2)",
	"Node.js server (memory BIO, OpenSSL in the executable): 140 2xx and 60 5xx (+-2)",
	"the pending-response table is empty once the requests are done",
	"probes are detached when the processes exit",
};
#define NCHECKS (sizeof(checks) / sizeof(checks[0]))

/* Runs `interp script ARGS...` tagged as agent, with this test's environment. */
static pid_t spawn_peer(const char *interp, const char *script, const char *agent,
			const char *const *args)
{
	const char *argv[12] = {interp, script};
	pid_t pid;
	int i;

	for (i = 0; args[i] && i < 9; i++)
		argv[i + 2] = args[i];
	argv[i + 2] = NULL;
	pid = fork();
	if (pid == 0) {
		setenv("SWARMWATCH_AGENT", agent, 1);
		execvp(interp, (char **)argv);
		_exit(127);
	}
	return pid;
}

static double requests(const char *m, const char *agent, const char *role, const char *status)
{
	char a[64], r[32], s[32];

	snprintf(a, sizeof(a), "agent=\"%s\"", agent);
	snprintf(r, sizeof(r), "role=\"%s\"", role);
	snprintf(s, sizeof(s), "status=\"%s\"", status);
	return sum_metric(m, REQ_TOTAL, a, r, s, NULL);
}

static double all_requests(const char *m, const char *agent)
{
	char a[64];

	snprintf(a, sizeof(a), "agent=\"%s\"", agent);
	return sum_metric(m, REQ_TOTAL, a, NULL);
}

static int near(double v, double want)
{
	return v >= want - SLACK && v <= want + SLACK;
}

static int all_probed(const char *m)
{
	return metric(m, PROBED) >= (have_node ? 4 : 2);
}

static int none_probed(const char *m)
{
	return metric(m, PROBED) == 0;
}

static int settled(const char *m)
{
	return all_requests(m, cap_client) >= REQUESTS && all_requests(m, cap_server) >= REQUESTS &&
	       all_requests(m, off_client) >= REQUESTS && all_requests(m, off_server) >= REQUESTS &&
	       (!have_node || (all_requests(m, node_client) >= REQUESTS &&
			       all_requests(m, node_server) >= REQUESTS));
}

static void diagnose(char *m)
{
	char *p;

	for (p = strtok(m, "\n"); p; p = strtok(NULL, "\n"))
		if ((strstr(p, REQ_TOTAL "{") && strstr(p, "tls")) || strstr(p, "swarmwatch_tls") ||
		    strstr(p, "tls_pending"))
			printf("# %s\n", p);
}

static int setup_files(void)
{
	char cmd[512];
	FILE *f;

	snprintf(dir, sizeof(dir), "/tmp/swarmwatch-tls-%d", (int)getpid());
	snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
	snprintf(key, sizeof(key), "%s/key.pem", dir);
	snprintf(go, sizeof(go), "%s/go", dir);
	snprintf(cfg, sizeof(cfg), "%s/swarmwatch.json", dir);
	if (mkdir(dir, 0700))
		return -1;
	snprintf(cmd, sizeof(cmd),
		 "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost "
		 "-keyout %s -out %s >/dev/null 2>&1",
		 key, cert);
	if (system(cmd))
		return -1;
	f = fopen(cfg, "w");
	if (!f)
		return -1;
	fprintf(f, "{\"tls\": {\"agents\": [\"tlscap-*\"]}}\n");
	return fclose(f);
}

int main(void)
{
	const char *const extra[] = {"--config", cfg, NULL};
	char total[16], fds[3][16], ports[3][16], conns[16], per[16], up[64], a[64];
	double v, n, s2, s5, hi;
	struct daemon d = {0};
	pid_t pids[6];
	int st[6], i, ok, npeers;
	const char *why;
	char *m;

	snprintf(cap_server, sizeof(cap_server), "tlscap-server-%d", (int)getpid());
	snprintf(cap_client, sizeof(cap_client), "tlscap-client-%d", (int)getpid());
	snprintf(off_server, sizeof(off_server), "tlsoff-server-%d", (int)getpid());
	snprintf(off_client, sizeof(off_client), "tlsoff-client-%d", (int)getpid());
	snprintf(node_server, sizeof(node_server), "tlscap-nserver-%d", (int)getpid());
	snprintf(node_client, sizeof(node_client), "tlscap-nclient-%d", (int)getpid());
	printf("1..%zu\n", NCHECKS);
	why = bpf_unavailable();
	if (!why && (system("command -v python3 >/dev/null && command -v openssl >/dev/null") ||
		     !realpath("tests/bpf/tls_peer.py", peer)))
		why = "needs python3, openssl and tests/bpf/tls_peer.py (run from the source tree)";
	if (why) {
		for (i = 0; i < (int)NCHECKS; i++)
			tap_skip(why, "%s", checks[i]);
		return 0;
	}
	have_node = !system("command -v node >/dev/null") &&
		    realpath("tests/bpf/tls_peer.js", jspeer) != NULL;
	if (!have_node)
		tap_diag("node is not installed: the Node.js checks are skipped");
	if (setup_files() || daemon_start(&d, extra)) {
		daemon_dump_log(&d);
		for (i = 0; i < (int)NCHECKS; i++)
			tap_check(0, "%s (no certificate or daemon)", checks[i]);
		return 1;
	}
	if (listen_loopback(AF_INET, CAP_SERVER_FD) || listen_loopback(AF_INET, OFF_SERVER_FD) ||
	    listen_loopback(AF_INET, NODE_SERVER_FD))
		tap_diag("cannot listen: %s", strerror(errno));
	snprintf(total, sizeof(total), "%d", REQUESTS);
	snprintf(fds[0], sizeof(fds[0]), "%d", CAP_SERVER_FD);
	snprintf(fds[1], sizeof(fds[1]), "%d", OFF_SERVER_FD);
	snprintf(fds[2], sizeof(fds[2]), "%d", NODE_SERVER_FD);
	snprintf(ports[0], sizeof(ports[0]), "%d", port_of(CAP_SERVER_FD));
	snprintf(ports[1], sizeof(ports[1]), "%d", port_of(OFF_SERVER_FD));
	snprintf(ports[2], sizeof(ports[2]), "%d", port_of(NODE_SERVER_FD));
	snprintf(conns, sizeof(conns), "%d", CONNS);
	snprintf(per, sizeof(per), "%d", PER_CONN);
	{
		const char *cs[] = {"server", cert, key, fds[0], total, NULL};
		const char *os[] = {"server", cert, key, fds[1], total, NULL};
		const char *cc[] = {"client", ports[0], conns, per, go, "continue", NULL};
		const char *oc[] = {"client", ports[1], conns, per, go, NULL};
		const char *ns[] = {"server", cert, key, fds[2], total, NULL};
		const char *nc[] = {"client", ports[2], conns, per, go, "continue", NULL};

		pids[0] = spawn_peer("python3", peer, cap_server, cs);
		pids[1] = spawn_peer("python3", peer, off_server, os);
		pids[2] = spawn_peer("python3", peer, cap_client, cc);
		pids[3] = spawn_peer("python3", peer, off_client, oc);
		npeers = 4;
		if (have_node) {
			pids[npeers++] = spawn_peer("node", jspeer, node_server, ns);
			pids[npeers++] = spawn_peer("node", jspeer, node_client, nc);
		}
	}
	close(CAP_SERVER_FD);
	close(OFF_SERVER_FD);
	close(NODE_SERVER_FD);

	/*
	 * Requests start once both opted-in processes are probed: a request made
	 * in the milliseconds between loading libssl and the probes' attaching
	 * is counted without its status (see the README).
	 */
	m = scrape_until(d.port, all_probed, 20);
	v = metric(m, PROBED);
	tap_expect(v == (have_node ? 4 : 2), checks[0], "%g processes probed, want %d", v,
		   have_node ? 4 : 2);
	free(m);
	close(open(go, O_WRONLY | O_CREAT, 0600));
	for (i = 0, ok = 1; i < npeers; i++) {
		st[i] = wait_status(pids[i]);
		ok &= WIFEXITED(st[i]) && WEXITSTATUS(st[i]) == 0;
		if (!WIFEXITED(st[i]) || WEXITSTATUS(st[i]))
			tap_diag("peer %d exit status %d", i, WEXITSTATUS(st[i]));
	}
	tap_check(ok, "%s", checks[1]);
	m = scrape_until(d.port, settled, 5);

	v = requests(m, cap_client, "client", "2xx");
	tap_expect(near(v, REQUESTS - FAILING), checks[2], "%g, want %d", v, REQUESTS - FAILING);
	v = requests(m, cap_client, "client", "5xx");
	tap_expect(near(v, FAILING), checks[3], "%g, want %d", v, FAILING);
	snprintf(up, sizeof(up), "upstream=\"127.0.0.1:%s\"", ports[0]);
	snprintf(a, sizeof(a), "agent=\"%s\"", cap_client);
	v = sum_metric(m, REQ_TOTAL, a, up, "role=\"client\"", NULL);
	n = all_requests(m, cap_client);
	tap_expect(near(v, REQUESTS) && n == v, checks[4], "%g with %s, %g in all, want %d", v, up,
		   n, REQUESTS);
	s2 = requests(m, cap_server, "server", "2xx");
	s5 = requests(m, cap_server, "server", "5xx");
	n = all_requests(m, cap_server);
	tap_expect(near(s2, REQUESTS - FAILING) && near(s5, FAILING) && near(n, REQUESTS),
		   checks[5], "2xx %g, 5xx %g, %g in all", s2, s5, n);
	hi = sum_bucket(m, REQ_DURATION "_bucket", LE_LOADED, a, "role=\"client\"", NULL);
	v = sum_bucket(m, REQ_DURATION "_bucket", LE_DELAY, a, "role=\"client\"", NULL);
	n = sum_metric(m, REQ_DURATION "_count", a, "role=\"client\"", NULL);
	tap_expect(near(n, REQUESTS) && hi >= n - SLACK &&
			   sum_bucket(m, REQ_DURATION "_bucket", LE_DELAY / 2, a, NULL) <= SLACK,
		   checks[6], "%g of %g at le=1.073741824 (%g at le=0.268435456)", hi, n, v);
	v = requests(m, off_client, "client", "unknown");
	n = all_requests(m, off_client);
	tap_expect(near(v, REQUESTS) && n == v, checks[7], "%g unknown, %g in all", v, n);
	v = requests(m, off_server, "server", "unknown");
	n = all_requests(m, off_server);
	tap_expect(near(v, REQUESTS) && n == v, checks[8], "%g unknown, %g in all", v, n);
	/*
	 * A TLS 1.3 server's session tickets can arrive after a connection's
	 * first request and pass for its response: up to one request per
	 * connection may be timed short.
	 */
	snprintf(a, sizeof(a), "agent=\"%s\"", off_client);
	hi = sum_bucket(m, REQ_DURATION "_bucket", LE_LOADED, a, NULL) -
	     sum_bucket(m, REQ_DURATION "_bucket", LE_DELAY / 2, a, NULL);
	tap_expect(hi >= REQUESTS - CONNS - SLACK, checks[9], "%g in (2^27, 2^30] ns, want >= %d",
		   hi, REQUESTS - CONNS - SLACK);
	if (have_node) {
		s2 = requests(m, node_client, "client", "2xx");
		s5 = requests(m, node_client, "client", "5xx");
		n = all_requests(m, node_client);
		tap_expect(near(s2, REQUESTS - FAILING) && near(s5, FAILING) && near(n, REQUESTS),
			   checks[10], "2xx %g, 5xx %g, %g in all", s2, s5, n);
		s2 = requests(m, node_server, "server", "2xx");
		s5 = requests(m, node_server, "server", "5xx");
		n = all_requests(m, node_server);
		tap_expect(near(s2, REQUESTS - FAILING) && near(s5, FAILING) && near(n, REQUESTS),
			   checks[11], "2xx %g, 5xx %g, %g in all", s2, s5, n);
	} else {
		tap_skip("node is not installed", "%s", checks[10]);
		tap_skip("node is not installed", "%s", checks[11]);
	}
	v = metricf(m, "swarmwatch_bpf_map_entries{map=\"tls_pending\"}");
	tap_expect(v == 0, checks[12], "%g entries", v);
	if (tap_failed)
		diagnose(m);
	free(m);
	m = scrape_until(d.port, none_probed, 5);
	v = metric(m, PROBED);
	tap_expect(v == 0, checks[13], "%g processes still probed", v);
	free(m);
	if (tap_failed)
		daemon_dump_log(&d);
	daemon_stop(&d);
	daemon_unpin(&d);
	unlink(d.log_path);
	unlink(cert);
	unlink(key);
	unlink(go);
	unlink(cfg);
	rmdir(dir);
	return tap_failed ? 1 : 0;
}
