// SPDX-License-Identifier: MIT
/*
 * How requests name their upstream, against the running kernel.
 *
 * IPv4 peers through IPv6 sockets: a tagged server listens on an IPv6
 * socket bound to ::ffff:127.0.0.1 (as dual-stack Java and Node.js servers
 * do) on two ports; a tagged client connects to each through an IPv6
 * socket and exchanges 10 PING/PONG lines. Both sides see the peer as
 * ::ffff:127.0.0.1; swarmwatch must label it 127.0.0.1:PORT (client) and
 * 127.0.0.1 (server), and the configured upstream "mapped-local"
 * (cidr 127.0.0.0/8 on the second port) must match it.
 *
 * Names: a tagged client makes 5 HTTP requests with "Host:
 * API.Example.TEST:PORT" to each of 127.0.0.1, 127.0.0.2 (as a CDN's
 * addresses change) and 127.0.0.3 (a configured upstream), and 5 with
 * "Host: [::1]:PORT", not a DNS name, to 127.0.0.1. The first 10 must carry
 * upstream="api.example.test:PORT", the next 5 the configured name, the
 * last 5 the address. A tagged TLS client (sni_peer.py) makes 3 connections
 * whose handshakes name "llm.example.test" (SNI): all its requests must
 * carry upstream="llm.example.test:PORT".
 */
#include <limits.h>
#include <netinet/in.h>
#include <sys/stat.h>

#include "harness.h"
#include "tap.h"

#define PINGS 10
#define PLAIN_FD 100 /* mapped server socket, labelled by address */
#define NAMED_FD 101 /* mapped server socket, on the configured upstream's port */
#define HOST1_FD 102 /* HTTP server sockets on 127.0.0.1, .2 and .3, one port */
#define HOST2_FD 103
#define HOST3_FD 104
#define SNI_FD 105 /* TLS server socket */
#define PER_CONN 5 /* requests per connection to the HTTP servers */
#define SNI_CONNS 3
#define HOST_NAME "API.Example.TEST" /* as the client writes it */
#define SNI_NAME "llm.example.test"
#define REQ_TOTAL "swarmwatch_agent_requests_total"

static char server_agent[32], client_agent[32], server_pair[64], client_pair[64];
static char host_agent[32], host_pair[64], sni_agent[32], sni_pair[64];
static char dir[64], cert[128], key[128], peer[PATH_MAX];

/* An IPv6 socket listening on ::ffff:127.0.0.1 at a free port, as fd target; 0 or -1. */
static int listen_mapped(int target)
{
	struct sockaddr_in6 a = {.sin6_family = AF_INET6};
	int fd = socket(AF_INET6, SOCK_STREAM, 0), off = 0, ok;

	inet_pton(AF_INET6, "::ffff:127.0.0.1", &a.sin6_addr);
	ok = fd >= 0 && !setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)) &&
	     !bind(fd, (struct sockaddr *)&a, sizeof(a)) && !listen(fd, 16) &&
	     dup2(fd, target) == target;
	if (fd >= 0)
		close(fd);
	return ok ? 0 : -1;
}

static int port6_of(int fd)
{
	struct sockaddr_in6 a;
	socklen_t len = sizeof(a);

	if (getsockname(fd, (struct sockaddr *)&a, &len))
		return -1;
	return ntohs(a.sin6_port);
}

/* Answers PINGS "PING\n" lines with "PONG\n" on one connection accepted on fd. */
static int pong(int fd)
{
	char buf[5];
	int c = accept(fd, NULL, NULL), i;

	if (c < 0)
		return -1;
	for (i = 0; i < PINGS; i++)
		if (read_full(c, buf, 5) != 5 || memcmp(buf, "PING\n", 5) ||
		    write_full(c, "PONG\n", 5) != 5)
			return -1;
	close(c);
	return 0;
}

/* PINGS exchanges with ::ffff:127.0.0.1:port over an IPv6 socket. */
static int ping(int port)
{
	struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
	int fd = socket(AF_INET6, SOCK_STREAM, 0), i;
	char buf[5];

	inet_pton(AF_INET6, "::ffff:127.0.0.1", &a.sin6_addr);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)))
		return -1;
	for (i = 0; i < PINGS; i++) {
		if (write_full(fd, "PING\n", 5) != 5 || read_full(fd, buf, 5) != 5)
			return -1;
		usleep(5000);
	}
	close(fd);
	return 0;
}

/* A loopback IPv4 socket listening on addr:port (port 0: a free one), as fd target; 0 or -1. */
static int listen_on(const char *addr, int port, int target)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	int fd = socket(AF_INET, SOCK_STREAM, 0), ok;

	inet_pton(AF_INET, addr, &a.sin_addr);
	ok = fd >= 0 && !bind(fd, (struct sockaddr *)&a, sizeof(a)) && !listen(fd, 16) &&
	     dup2(fd, target) == target;
	if (fd >= 0)
		close(fd);
	return ok ? 0 : -1;
}

/* Answers PER_CONN requests (heads only) with 200 on one connection accepted on fd. */
static int answer(int fd)
{
	static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
	char buf[1024];
	int c = accept(fd, NULL, NULL), i, len, n;

	if (c < 0)
		return -1;
	for (i = 0; i < PER_CONN; i++) {
		for (len = 0; len < 4 || memcmp(buf + len - 4, "\r\n\r\n", 4); len += n)
			if (len == sizeof(buf) || (n = read(c, buf + len, 1)) <= 0)
				return -1;
		if (write_full(c, ok, sizeof(ok) - 1) != sizeof(ok) - 1)
			return -1;
	}
	close(c);
	return 0;
}

/* PER_CONN requests naming `host` to addr:port on one connection, each answered 200. */
static int ask(const char *addr, int port, const char *host)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	int fd = socket(AF_INET, SOCK_STREAM, 0), i, n;
	char req[256], buf[64];

	inet_pton(AF_INET, addr, &a.sin_addr);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)))
		return -1;
	n = snprintf(req, sizeof(req),
		     "GET /v1/chat/completions HTTP/1.1\r\nUser-Agent: test\r\nHost: %s\r\n"
		     "Accept: */*\r\n\r\n",
		     host);
	for (i = 0; i < PER_CONN; i++)
		if (write_full(fd, req, n) != n || read_full(fd, buf, 40) != 40 ||
		    strncmp(buf, "HTTP/1.1 200 ", 13))
			return -1;
	close(fd);
	return 0;
}

static int workload(const char *kind)
{
	int plain = port6_of(PLAIN_FD), named = port6_of(NAMED_FD), port = port_of(HOST1_FD);
	char host[64];

	if (!strcmp(kind, "hostserver"))
		return answer(HOST1_FD) || answer(HOST2_FD) || answer(HOST3_FD) || answer(HOST1_FD);
	if (!strcmp(kind, "host")) {
		snprintf(host, sizeof(host), HOST_NAME ":%d", port);
		return ask("127.0.0.1", port, host) || ask("127.0.0.2", port, host) ||
		       ask("127.0.0.3", port, host) || ask("127.0.0.1", port, "[::1]");
	}

	alarm(60); /* never outlive the test */
	if (!strcmp(kind, "server"))
		return pong(PLAIN_FD) || pong(NAMED_FD);
	close(PLAIN_FD);
	close(NAMED_FD);
	if (!strcmp(kind, "client"))
		return plain < 0 || named < 0 || ping(plain) || ping(named);
	return 127;
}

static const char *const checks[] = {
	"mapped: the IPv6 client and server exchange their lines, both exit 0",
	"mapped: the client's 10 requests to the first port carry upstream 127.0.0.1:PORT",
	"mapped: the client's 10 requests to the second port carry the configured upstream "
	"(cidr 127.0.0.0/8)",
	"mapped: the server's 20 requests carry upstream 127.0.0.1",
	"mapped: no label of either agent shows the ::ffff: form",
	"names: the HTTP servers answer every request, the client exits 0",
	"names: 10 requests to two addresses carry upstream api.example.test:PORT (Host, "
	"lowercased)",
	"names: a configured upstream wins over the Host header (5 requests)",
	"names: a Host that is not a DNS name ([::1]) leaves the address, 127.0.0.1:PORT (5)",
	"names: the TLS client's handshakes and requests succeed",
	"names: every request of the TLS client carries upstream llm.example.test:PORT (SNI)",
	"names: no host name was dropped (host_names_full is 0)",
};

#define NCHECKS (sizeof(checks) / sizeof(checks[0]))

static double all_requests(const char *m, const char *pair)
{
	return sum_metric(m, REQ_TOTAL, pair, NULL);
}

static int settled(const char *m)
{
	return all_requests(m, client_pair) >= 2 * PINGS &&
	       all_requests(m, server_pair) >= 2 * PINGS &&
	       all_requests(m, host_pair) >= 4 * PER_CONN && all_requests(m, sni_pair) >= SNI_CONNS;
}

/* Runs `python3 sni_peer.py ARGS...`, tagged as agent when not NULL. */
static pid_t spawn_peer(const char *agent, const char *const *args)
{
	const char *argv[10] = {"python3", peer};
	pid_t pid;
	int i;

	for (i = 0; args[i] && i < 7; i++)
		argv[i + 2] = args[i];
	argv[i + 2] = NULL;
	pid = fork();
	if (pid == 0) {
		if (agent)
			setenv("SWARMWATCH_AGENT", agent, 1);
		execvp("python3", (char **)argv);
		_exit(127);
	}
	return pid;
}

/* A self-signed key and certificate for the TLS server, in a private folder. */
static int make_cert(void)
{
	char cmd[512];

	snprintf(dir, sizeof(dir), "/tmp/swarmwatch-upstreams-%d", (int)getpid());
	snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
	snprintf(key, sizeof(key), "%s/key.pem", dir);
	if (mkdir(dir, 0700))
		return -1;
	snprintf(cmd, sizeof(cmd),
		 "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
		 "-days 1 -subj /CN=" SNI_NAME " -keyout %s -out %s >/dev/null 2>&1",
		 key, cert);
	return system(cmd) ? -1 : 0;
}

/* Whether a sample line of one of this test's agents shows an IPv4-mapped address. */
static int shows_mapped(const char *m)
{
	char *copy = strdup(m), *p;
	int found = 0;

	for (p = strtok(copy, "\n"); p && copy; p = strtok(NULL, "\n"))
		found |= (strstr(p, server_pair) || strstr(p, client_pair)) && strstr(p, "ffff:");
	free(copy);
	return found;
}

static void diagnose(char *m)
{
	char *p;

	for (p = strtok(m, "\n"); p; p = strtok(NULL, "\n"))
		if (strstr(p, server_pair) || strstr(p, client_pair) || strstr(p, host_pair) ||
		    strstr(p, sni_pair) || strstr(p, "swarmwatch_events_dropped_total"))
			tap_diag("%s", p);
}

int main(int argc, char **argv)
{
	char cfg[128], up[64], *m = NULL;
	const char *extra[] = {"--config", cfg, NULL};
	char fdarg[16], portarg[16], conns[16];
	int st[6], plain, named, hport, sport;
	struct daemon d = {0};
	pid_t srv, cli, hsrv, hcli, ssrv, scli;
	double n;
	const char *why;
	double v;
	size_t i;
	FILE *f;

	if (argc == 3 && !strcmp(argv[1], "--workload"))
		return workload(argv[2]);
	snprintf(server_agent, sizeof(server_agent), "upsrv-%d", (int)getpid());
	snprintf(client_agent, sizeof(client_agent), "upcli-%d", (int)getpid());
	snprintf(server_pair, sizeof(server_pair), "agent=\"%s\"", server_agent);
	snprintf(client_pair, sizeof(client_pair), "agent=\"%s\"", client_agent);
	snprintf(host_agent, sizeof(host_agent), "uphost-%d", (int)getpid());
	snprintf(host_pair, sizeof(host_pair), "agent=\"%s\"", host_agent);
	snprintf(sni_agent, sizeof(sni_agent), "upsni-%d", (int)getpid());
	snprintf(sni_pair, sizeof(sni_pair), "agent=\"%s\"", sni_agent);
	printf("1..%zu\n", NCHECKS);
	why = bpf_unavailable();
	if (why) {
		for (i = 0; i < NCHECKS; i++)
			tap_skip(why, "%s", checks[i]);
		return 0;
	}
	if (listen_mapped(PLAIN_FD) || listen_mapped(NAMED_FD))
		tap_diag("cannot listen on ::ffff:127.0.0.1: %s", strerror(errno));
	plain = port6_of(PLAIN_FD);
	named = port6_of(NAMED_FD);
	if (listen_on("127.0.0.1", 0, HOST1_FD) ||
	    listen_on("127.0.0.2", port_of(HOST1_FD), HOST2_FD) ||
	    listen_on("127.0.0.3", port_of(HOST1_FD), HOST3_FD) ||
	    listen_on("127.0.0.1", 0, SNI_FD))
		tap_diag("cannot listen on 127.0.0.1-3: %s", strerror(errno));
	hport = port_of(HOST1_FD);
	sport = port_of(SNI_FD);
	snprintf(peer, sizeof(peer), "%s", argv[0]);
	snprintf(strrchr(peer, '/') ? strrchr(peer, '/') + 1 : peer,
		 sizeof(peer) - (strrchr(peer, '/') ? strrchr(peer, '/') + 1 - peer : 0),
		 "sni_peer.py");
	if (access(peer, R_OK))
		snprintf(peer, sizeof(peer), "tests/bpf/sni_peer.py");
	if (make_cert())
		tap_diag("cannot make a certificate in %s", dir);
	snprintf(cfg, sizeof(cfg), "/tmp/swarmwatch-upstreams-%d.json", (int)getpid());
	f = fopen(cfg, "w");
	if (f) {
		fprintf(f,
			"{\"upstreams\": [{\"name\": \"mapped-local\", \"cidr\": \"127.0.0.0/8\", "
			"\"port\": %d},\n"
			"  {\"name\": \"configured\", \"cidr\": \"127.0.0.3/32\"}]}\n",
			named);
		fclose(f);
	}
	if (daemon_start(&d, extra)) {
		daemon_dump_log(&d);
		for (i = 0; i < NCHECKS; i++)
			tap_check(0, "%s (daemon did not start)", checks[i]);
		unlink(cfg);
		return 1;
	}
	srv = spawn_workload(NULL, server_agent, "server");
	cli = spawn_workload(NULL, client_agent, "client");
	hsrv = spawn_workload(NULL, NULL, "hostserver");
	hcli = spawn_workload(NULL, host_agent, "host");
	snprintf(fdarg, sizeof(fdarg), "%d", SNI_FD);
	snprintf(portarg, sizeof(portarg), "%d", sport);
	snprintf(conns, sizeof(conns), "%d", SNI_CONNS);
	{
		const char *sargs[] = {"server", cert, key, fdarg, conns, NULL};
		const char *cargs[] = {"client", portarg, SNI_NAME, conns, NULL};

		ssrv = spawn_peer(NULL, sargs);
		scli = spawn_peer(sni_agent, cargs);
	}
	close(PLAIN_FD);
	close(NAMED_FD);
	close(HOST1_FD);
	close(HOST2_FD);
	close(HOST3_FD);
	close(SNI_FD);
	st[0] = wait_status(cli);
	st[1] = wait_status(srv);
	st[2] = wait_status(hcli);
	st[3] = wait_status(hsrv);
	st[4] = wait_status(scli);
	st[5] = wait_status(ssrv);
	tap_diag("exit status: client %d, server %d, host client %d, host server %d, TLS client "
		 "%d, TLS server %d",
		 WEXITSTATUS(st[0]), WEXITSTATUS(st[1]), WEXITSTATUS(st[2]), WEXITSTATUS(st[3]),
		 WEXITSTATUS(st[4]), WEXITSTATUS(st[5]));
	m = scrape_until(d.port, settled, 5);

	tap_check(WIFEXITED(st[0]) && !WEXITSTATUS(st[0]) && WIFEXITED(st[1]) &&
			  !WEXITSTATUS(st[1]),
		  "%s", checks[0]);
	snprintf(up, sizeof(up), "upstream=\"127.0.0.1:%d\"", plain);
	v = sum_metric(m, REQ_TOTAL, client_pair, up, "role=\"client\"", NULL);
	tap_expect(v == PINGS, checks[1], "%g with %s, want %d", v, up, PINGS);
	v = sum_metric(m, REQ_TOTAL, client_pair, "upstream=\"mapped-local\"", "role=\"client\"",
		       NULL);
	tap_expect(v == PINGS, checks[2], "%g, want %d", v, PINGS);
	v = sum_metric(m, REQ_TOTAL, server_pair, "upstream=\"127.0.0.1\"", "role=\"server\"",
		       NULL);
	tap_expect(v == 2 * PINGS, checks[3], "%g, want %d", v, 2 * PINGS);
	tap_check(!shows_mapped(m), "%s", checks[4]);
	tap_check(WIFEXITED(st[2]) && !WEXITSTATUS(st[2]) && WIFEXITED(st[3]) &&
			  !WEXITSTATUS(st[3]),
		  "%s", checks[5]);
	snprintf(up, sizeof(up), "upstream=\"api.example.test:%d\"", hport);
	v = sum_metric(m, REQ_TOTAL, host_pair, up, "role=\"client\"", "status=\"2xx\"", NULL);
	tap_expect(v == 2 * PER_CONN, checks[6], "%g with %s, want %d", v, up, 2 * PER_CONN);
	v = sum_metric(m, REQ_TOTAL, host_pair, "upstream=\"configured\"", NULL);
	tap_expect(v == PER_CONN, checks[7], "%g, want %d", v, PER_CONN);
	snprintf(up, sizeof(up), "upstream=\"127.0.0.1:%d\"", hport);
	v = sum_metric(m, REQ_TOTAL, host_pair, up, NULL);
	n = sum_metric(m, REQ_TOTAL, host_pair, NULL);
	tap_expect(v == PER_CONN && n == 4 * PER_CONN, checks[8], "%g with %s, %g in all", v, up,
		   n);
	tap_check(WIFEXITED(st[4]) && !WEXITSTATUS(st[4]) && WIFEXITED(st[5]) &&
			  !WEXITSTATUS(st[5]),
		  "%s", checks[9]);
	snprintf(up, sizeof(up), "upstream=\"" SNI_NAME ":%d\"", sport);
	v = sum_metric(m, REQ_TOTAL, sni_pair, up, "role=\"client\"", NULL);
	n = sum_metric(m, REQ_TOTAL, sni_pair, NULL);
	tap_expect(v >= SNI_CONNS && v == n, checks[10], "%g with %s, %g in all, want >= %d", v, up,
		   n, SNI_CONNS);
	v = metric(m, "swarmwatch_events_dropped_total{reason=\"host_names_full\"}");
	tap_expect(v == 0, checks[11], "%g", v);
	if (tap_failed) {
		diagnose(m);
		daemon_dump_log(&d);
	}
	daemon_stop(&d);
	daemon_unpin(&d);
	free(m);
	unlink(d.log_path);
	unlink(cfg);
	unlink(cert);
	unlink(key);
	rmdir(dir);
	return tap_failed ? 1 : 0;
}
