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
 */
#include <netinet/in.h>
#include <sys/stat.h>

#include "harness.h"
#include "tap.h"

#define PINGS 10
#define PLAIN_FD 100 /* mapped server socket, labelled by address */
#define NAMED_FD 101 /* mapped server socket, on the configured upstream's port */
#define REQ_TOTAL "swarmwatch_agent_requests_total"

static char server_agent[32], client_agent[32], server_pair[64], client_pair[64];

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

static int workload(const char *kind)
{
	int plain = port6_of(PLAIN_FD), named = port6_of(NAMED_FD);

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
};

#define NCHECKS (sizeof(checks) / sizeof(checks[0]))

static double all_requests(const char *m, const char *pair)
{
	return sum_metric(m, REQ_TOTAL, pair, NULL);
}

static int settled(const char *m)
{
	return all_requests(m, client_pair) >= 2 * PINGS &&
	       all_requests(m, server_pair) >= 2 * PINGS;
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
		if (strstr(p, server_pair) || strstr(p, client_pair))
			tap_diag("%s", p);
}

int main(int argc, char **argv)
{
	char cfg[128], up[64], *m = NULL;
	const char *extra[] = {"--config", cfg, NULL};
	int st[2], plain, named;
	struct daemon d = {0};
	pid_t srv, cli;
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
	snprintf(cfg, sizeof(cfg), "/tmp/swarmwatch-upstreams-%d.json", (int)getpid());
	f = fopen(cfg, "w");
	if (f) {
		fprintf(f,
			"{\"upstreams\": [{\"name\": \"mapped-local\", \"cidr\": \"127.0.0.0/8\", "
			"\"port\": %d}]}\n",
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
	close(PLAIN_FD);
	close(NAMED_FD);
	st[0] = wait_status(cli);
	st[1] = wait_status(srv);
	tap_diag("exit status: client %d, server %d", WEXITSTATUS(st[0]), WEXITSTATUS(st[1]));
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
	if (tap_failed) {
		diagnose(m);
		daemon_dump_log(&d);
	}
	daemon_stop(&d);
	daemon_unpin(&d);
	free(m);
	unlink(d.log_path);
	unlink(cfg);
	return tap_failed ? 1 : 0;
}
