// SPDX-License-Identifier: MIT
/*
 * Connections open before the daemon starts (user/sockscan.c). A tagged
 * server (scansrv) and a tagged client (scancli) set up 5 connections, 3
 * over IPv4 and 2 over IPv6 when ::1 is up, and the client forks a tagged
 * child that holds the same sockets; only then does the daemon start.
 *
 * Both agents must show 5 active connections (the shared sockets counted
 * once). Then on two of them (one IPv6) the server sends a greeting first,
 * and the client answers with an HTTP request that the server answers: the
 * kernel's own guess (who wrote first is the client) would give both sides
 * the wrong role, so the client must count 2 requests as role client and the
 * server 2 as role server, and nothing else. A restart of the daemon finds
 * the sockets owned already and counts none twice. When the client closes
 * its connections, both gauges return to 0.
 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include "harness.h"
#include "tap.h"

#define CONNS 5
#define HALF 2 /* connections closed while the daemon runs; the rest while it does not */
#define CONNS_V4 3 /* the others over IPv6 when ::1 is up */
#define LISTEN_FD 100 /* IPv4 listener, inherited across exec */
#define LISTEN6_FD 101 /* IPv6 listener, absent without ::1 */
#define CTL_FD 102 /* commands from the test, one byte each */
#define ACK_FD 103 /* one byte back per command done */
#define GREETING "HELLO\n"
#define REQUEST "GET /adopted HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
#define RESPONSE "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
#define REQ_TOTAL "swarmwatch_agent_requests_total"
#define ACTIVE "swarmwatch_agent_tcp_active_connections"

/* Connections the requests go over: one IPv4, and the last (IPv6 if up). */
static const int exchange_on[] = {0, CONNS - 1};

#define EXCHANGES (int)(sizeof(exchange_on) / sizeof(exchange_on[0]))

static char server_agent[32], client_agent[32];
static char server_pair[64], client_pair[64]; /* agent="..." */

static int have_v6(void)
{
	return fcntl(LISTEN6_FD, F_GETFD) >= 0;
}

/* The listener connection i goes through. */
static int listener_of(int i)
{
	return i >= CONNS_V4 && have_v6() ? LISTEN6_FD : LISTEN_FD;
}

static int connect_via(int lfd)
{
	struct sockaddr_storage a;
	socklen_t len = sizeof(a);
	int fd, one = 1;

	if (getsockname(lfd, (struct sockaddr *)&a, &len))
		return -1;
	fd = socket(a.ss_family, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&a, len)) {
		close(fd);
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static int ack(char c)
{
	return write(ACK_FD, &c, 1) == 1 ? 0 : -1;
}

/*
 * scansrv: accepts the client's connections, then obeys commands: a digit i
 * greets on connection i, reads the request and answers it; 'e' exits.
 */
static int serve(void)
{
	static const char greeting[] = GREETING, response[] = RESPONSE;
	char buf[sizeof(REQUEST)], cmd;
	int c[CONNS], i;

	for (i = 0; i < CONNS; i++) {
		c[i] = accept(listener_of(i), NULL, NULL);
		if (c[i] < 0)
			return 1;
	}
	/* The listeners stay open: they are what makes these sockets a server's. */
	if (ack('r'))
		return 2;
	while (read(CTL_FD, &cmd, 1) == 1 && cmd != 'e') {
		i = cmd - '0';
		if (i < 0 || i >= CONNS)
			return 3;
		if (write_full(c[i], greeting, sizeof(greeting) - 1) != sizeof(greeting) - 1 ||
		    read_full(c[i], buf, sizeof(REQUEST) - 1) != sizeof(REQUEST) - 1 ||
		    memcmp(buf, REQUEST, sizeof(REQUEST) - 1) ||
		    write_full(c[i], response, sizeof(response) - 1) != sizeof(response) - 1 ||
		    ack('x'))
			return 4;
	}
	return 0;
}

/*
 * scancli: makes the connections and forks a child that holds them too,
 * then obeys commands: a digit i reads the greeting on connection i and
 * makes a request there; 'h' closes the first HALF connections (the child
 * lets go of them all first); 'c' closes the rest; 'e' exits.
 */
static int client(void)
{
	static const char greeting[] = GREETING, request[] = REQUEST, response[] = RESPONSE;
	char buf[sizeof(RESPONSE)], cmd;
	int c[CONNS], hold[2], i, st, first = 0;
	pid_t child;

	for (i = 0; i < CONNS; i++) {
		c[i] = connect_via(listener_of(i));
		if (c[i] < 0)
			return 1;
	}
	close(LISTEN_FD);
	close(LISTEN6_FD);
	if (pipe(hold))
		return 2;
	child = fork();
	if (child == 0) {
		/* Holds copies of the sockets until the client lets go of `hold`. */
		close(hold[1]);
		close(CTL_FD);
		close(ACK_FD);
		read(hold[0], &cmd, 1);
		_exit(0);
	}
	close(hold[0]);
	if (child < 0 || ack('r'))
		return 3;
	while (read(CTL_FD, &cmd, 1) == 1 && cmd != 'e') {
		if (cmd == 'c' || cmd == 'h') {
			if (child > 0) {
				close(hold[1]);
				if (waitpid(child, &st, 0) != child)
					return 4;
				child = 0;
			}
			for (i = first; i < (cmd == 'h' ? HALF : CONNS); i++)
				close(c[i]);
			first = i;
			if (ack(cmd))
				return 4;
			continue;
		}
		i = cmd - '0';
		if (i < 0 || i >= CONNS)
			return 5;
		if (read_full(c[i], buf, sizeof(greeting) - 1) != sizeof(greeting) - 1 ||
		    memcmp(buf, greeting, sizeof(greeting) - 1) ||
		    write_full(c[i], request, sizeof(request) - 1) != sizeof(request) - 1 ||
		    read_full(c[i], buf, sizeof(response) - 1) != sizeof(response) - 1 ||
		    memcmp(buf, response, sizeof(response) - 1) || ack('x'))
			return 6;
	}
	return 0;
}

static int workload(const char *kind)
{
	alarm(60); /* never outlive the test */
	if (!strcmp(kind, "server"))
		return serve();
	if (!strcmp(kind, "client"))
		return client();
	return 127;
}

/* One tagged workload and its command pipes. */
struct worker {
	pid_t pid;
	int ctl; /* write end of its CTL_FD */
	int ack; /* read end of its ACK_FD */
};

/* Spawns workload `kind` of `agent` with the listeners and its own command pipes. */
static int worker_start(struct worker *w, const char *agent, const char *kind)
{
	int ctl[2], ackp[2];

	if (pipe2(ctl, O_CLOEXEC) || pipe2(ackp, O_CLOEXEC))
		return -1;
	if (dup2(ctl[0], CTL_FD) != CTL_FD || dup2(ackp[1], ACK_FD) != ACK_FD)
		return -1;
	w->pid = spawn_workload(NULL, agent, kind);
	close(ctl[0]);
	close(ackp[1]);
	close(CTL_FD);
	close(ACK_FD);
	w->ctl = ctl[1];
	w->ack = ackp[0];
	return w->pid > 0 ? 0 : -1;
}

/* Sends command cmd (0 for none) and waits for the worker's answer byte; 0 if it came. */
static int worker_do(struct worker *w, char cmd, char want)
{
	struct pollfd p = {.fd = w->ack, .events = POLLIN};
	char got;

	if (cmd && write(w->ctl, &cmd, 1) != 1)
		return -1;
	if (poll(&p, 1, 10000) != 1 || read(w->ack, &got, 1) != 1)
		return -1;
	return got == want ? 0 : -1;
}

/* Tells the worker to exit; returns its exit status, killing it if it hangs. */
static int worker_stop(struct worker *w)
{
	double deadline = now_s() + 5;
	int st = -1;

	if (w->pid <= 0)
		return -1;
	write(w->ctl, "e", 1);
	close(w->ctl);
	close(w->ack);
	while (now_s() < deadline && waitpid(w->pid, &st, WNOHANG) == 0)
		usleep(20000);
	if (now_s() >= deadline) {
		kill(w->pid, SIGKILL);
		waitpid(w->pid, &st, 0);
		st = -1;
	}
	w->pid = 0;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Sum of requests_total for agent and role; all roles when role is NULL. */
static double requests(const char *m, const char *pair, const char *role)
{
	char r[64];

	snprintf(r, sizeof(r), "role=\"%s\"", role ? role : "");
	return sum_metric(m, REQ_TOTAL, pair, role ? r : NULL, NULL);
}

static double active(const char *m, const char *agent)
{
	return metricf(m, ACTIVE "{agent=\"%s\"}", agent);
}

static int gauges_up(const char *m)
{
	return active(m, client_agent) == active(m, client_agent) &&
	       active(m, server_agent) == active(m, server_agent);
}

static int requests_counted(const char *m)
{
	return requests(m, client_pair, NULL) >= EXCHANGES &&
	       requests(m, server_pair, NULL) >= EXCHANGES;
}

static int gauges_down(const char *m)
{
	return active(m, client_agent) == 0 && active(m, server_agent) == 0;
}

static int gauges_half(const char *m)
{
	return active(m, client_agent) == CONNS - HALF && active(m, server_agent) == CONNS - HALF;
}

/* Number in the daemon's "sockscan: adopted N ..." line, -1 if none. */
static int adopted_in_log(const struct daemon *d)
{
	char line[1024];
	const char *p;
	int n = -1;
	FILE *f = fopen(d->log_path, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if ((p = strstr(line, "sockscan: adopted ")))
			n = atoi(p + 18);
	fclose(f);
	return n;
}

static const char *const checks[] = {
	"workloads: 5 connections set up and held before the daemon starts",
	"the daemon reports at least 10 adopted connections",
	"client: 5 active connections (shared with its child, counted once)",
	"server: 5 active connections",
	"workloads: 2 greeting/request/response exchanges on adopted connections",
	"client: 2 requests with role client, none other",
	"server: 2 requests with role server, none other",
	"daemon restarted: still 5 active connections each, none adopted twice",
	"client closes 2 connections: both agents at 3 active connections",
	"the other 3 closed while no daemon ran: both at 0 after the restart",
	"nothing dropped for lack of socket storage",
	"workloads exit 0",
};

#define NCHECKS (sizeof(checks) / sizeof(checks[0]))

int main(int argc, char **argv)
{
	struct worker srv = {0}, cli = {0};
	struct daemon d = {0};
	const char *why;
	char *m = NULL;
	double v, n;
	size_t i;
	int ok, st1, st2;

	if (argc == 3 && !strcmp(argv[1], "--workload"))
		return workload(argv[2]);
	snprintf(server_agent, sizeof(server_agent), "scansrv-%d", (int)getpid());
	snprintf(client_agent, sizeof(client_agent), "scancli-%d", (int)getpid());
	snprintf(server_pair, sizeof(server_pair), "agent=\"%s\"", server_agent);
	snprintf(client_pair, sizeof(client_pair), "agent=\"%s\"", client_agent);
	printf("1..%zu\n", NCHECKS);
	signal(SIGPIPE, SIG_IGN); /* a worker that died fails its check, not the test */
	why = bpf_unavailable();
	if (why) {
		for (i = 0; i < NCHECKS; i++)
			tap_skip(why, "%s", checks[i]);
		return 0;
	}
	if (listen_loopback(AF_INET, LISTEN_FD))
		tap_diag("cannot listen on 127.0.0.1: %s", strerror(errno));
	if (listen_loopback(AF_INET6, LISTEN6_FD))
		tap_diag("no IPv6 loopback (%s): every connection over IPv4", strerror(errno));
	ok = !worker_start(&srv, server_agent, "server") &&
	     !worker_start(&cli, client_agent, "client");
	close(LISTEN_FD);
	close(LISTEN6_FD);
	ok = ok && !worker_do(&cli, 0, 'r') && !worker_do(&srv, 0, 'r');
	tap_check(ok, "%s", checks[0]);

	if (daemon_start(&d, NULL)) {
		daemon_dump_log(&d);
		for (i = 1; i < NCHECKS; i++)
			tap_check(0, "%s (daemon did not start)", checks[i]);
		worker_stop(&cli);
		worker_stop(&srv);
		daemon_unpin(&d);
		return 1;
	}
	m = scrape_until(d.port, gauges_up, 5);
	n = adopted_in_log(&d);
	tap_expect(n >= 2 * CONNS, checks[1], "%g", n);
	v = active(m, client_agent);
	tap_expect(v == CONNS, checks[2], "%g, want %d", v, CONNS);
	v = active(m, server_agent);
	tap_expect(v == CONNS, checks[3], "%g, want %d", v, CONNS);

	for (ok = 1, i = 0; i < EXCHANGES; i++) {
		char cmd = '0' + exchange_on[i];

		/* The server greets first: the kernel alone would call it the client. */
		ok = ok && write(srv.ctl, &cmd, 1) == 1 && !worker_do(&cli, cmd, 'x') &&
		     !worker_do(&srv, 0, 'x');
	}
	tap_check(ok, "%s", checks[4]);
	free(m);
	m = scrape_until(d.port, requests_counted, 5);
	v = requests(m, client_pair, "client");
	n = requests(m, client_pair, NULL);
	tap_expect(v == EXCHANGES && n == v, checks[5], "%g with role client, %g in all, want %d",
		   v, n, EXCHANGES);
	v = requests(m, server_pair, "server");
	n = requests(m, server_pair, NULL);
	tap_expect(v == EXCHANGES && n == v, checks[6], "%g with role server, %g in all, want %d",
		   v, n, EXCHANGES);

	/* A restart finds the sockets owned already (pinned storage): no double count. */
	daemon_stop(&d);
	ok = !daemon_start(&d, NULL);
	free(m);
	m = ok ? scrape_until(d.port, gauges_up, 5) : strdup("");
	n = adopted_in_log(&d);
	tap_diag("after the restart the daemon reports %g adopted", n);
	tap_expect(ok && active(m, client_agent) == CONNS && active(m, server_agent) == CONNS,
		   checks[7], "client %g, server %g, want %d (restarted: %s, adopted %g)",
		   active(m, client_agent), active(m, server_agent), CONNS, ok ? "yes" : "no", n);

	ok = !worker_do(&cli, 'h', 'h');
	free(m);
	m = scrape_until(d.port, gauges_half, 5);
	tap_expect(ok && gauges_half(m), checks[8],
		   "client %g, server %g, want %d and %d (closed: %s)", active(m, client_agent),
		   active(m, server_agent), CONNS - HALF, CONNS - HALF, ok ? "yes" : "no");

	/*
	 * Closes that happen while no daemon runs are not seen: the next start
	 * finds fewer connections open than counted, and corrects the count.
	 */
	daemon_stop(&d);
	ok = !worker_do(&cli, 'c', 'c');
	usleep(100000); /* the server's side leaves ESTABLISHED on the FIN */
	ok = ok && !daemon_start(&d, NULL);
	free(m);
	m = ok ? scrape_until(d.port, gauges_down, 5) : strdup("");
	tap_expect(ok && gauges_down(m), checks[9], "client %g, server %g, want 0 and 0 (%s)",
		   active(m, client_agent), active(m, server_agent),
		   ok ? "closed and restarted" : "close or restart failed");
	v = metric(m, "swarmwatch_events_dropped_total{reason=\"socket_storage_full\"}");
	tap_expect(v == 0, checks[10], "%g", v);
	st1 = worker_stop(&cli);
	st2 = worker_stop(&srv);
	tap_expect(st1 == 0 && st2 == 0, checks[11], "client %d, server %d", st1, st2);

	if (tap_failed) {
		char *p;

		for (p = strtok(m, "\n"); p; p = strtok(NULL, "\n"))
			if ((strstr(p, client_pair) || strstr(p, server_pair)) &&
			    (strstr(p, "tcp_") || strstr(p, "requests_total")))
				tap_diag("%s", p);
		daemon_dump_log(&d);
	}
	daemon_stop(&d);
	daemon_unpin(&d);
	free(m);
	unlink(d.log_path);
	return tap_failed ? 1 : 0;
}
