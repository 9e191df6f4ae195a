// SPDX-License-Identifier: MIT
/*
 * Request capture per agent against the running kernel (plaintext HTTP/1.x
 * over TCP). A tagged HTTP/1.1 server (reqserver) answers every request after
 * 200 ms with the status the request asks for; a tagged client (reqclient)
 * makes 200 requests over 10 keep-alive connections, each request sent in two
 * writes (headers, then body) and each response read in several reads, 60 of
 * them (30 %) asking for a 500, then 5 requests on connections the server closes
 * without answering. A third tagged client (reqping) exchanges PING/PONG lines
 * 10 times with an untagged line server: requests that are not HTTP.
 *
 * swarmwatch_agent_requests_total{agent,upstream,role,status} must count
 * 140 2xx, 60 5xx and 5 error requests for the client (all to upstream
 * 127.0.0.1:<server port>), 140 2xx and 60 5xx for the server (one upstream,
 * the client's address), and 10 unknown for reqping;
 * swarmwatch_agent_request_duration_seconds must hold the client's requests
 * in the 2^28 ns (268 ms) bucket, the one containing 200 ms, and not below
 * 2^27 ns (134 ms).
 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "harness.h"
#include "tap.h"

#define CONNS 10
#define PER_CONN 20
#define REQUESTS (CONNS * PER_CONN) /* 60 answered requests */
#define FAILING 60 /* of them answered 500: 30 % */
#define CLOSED 5 /* requests the server closes unanswered */
#define PINGS 10 /* PING/PONG exchanges, not HTTP */
#define DELAY_US 200000 /* server think time per request */
#define REQ_BODY 100 /* request body bytes */
#define RESP_BODY 1000 /* response body bytes */
#define LISTEN_FD 100 /* HTTP server socket, inherited across exec */
#define PING_FD 101 /* line server socket, inherited across exec */
#define STATUS_FD 102 /* the status pair's server socket (see status_serve()) */
#define LE_DELAY 0.268435456 /* 2^28 ns: the smallest bound >= 200 ms */
#define LE_BELOW 0.134217728 /* 2^27 ns: the bound below it */
#define REQ_TOTAL "swarmwatch_agent_requests_total"
#define REQ_DURATION "swarmwatch_agent_request_duration_seconds"

/*
 * Agent names of this run: reqserver-<pid>, reqclient-<pid>, reqping-<pid>,
 * so that another run of this test on the host does not add to the counts.
 */
static char server_agent[32], client_agent[32], ping_agent[32], sserver_agent[32],
	sclient_agent[32];
static char server_pair[64], client_pair[64], ping_pair[64]; /* agent="..." */

/* Whether the client's request i (0-based, over all connections) asks for a 500. */
static int wants_500(int i)
{
	return i % 10 == 0 || i % 10 == 3 || i % 10 == 6;
}

static void nodelay(int fd)
{
	int one = 1;
	struct timeval tv = {.tv_sec = 5};

	/* Small writes go out at once: no Nagle wait behind a delayed ACK. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

/* Length of the head (through the blank line) in buf[0..len), or 0 if incomplete. */
static int head_len(const char *buf, int len)
{
	int i;

	for (i = 0; i + 4 <= len; i++)
		if (!memcmp(buf + i, "\r\n\r\n", 4))
			return i + 4;
	return 0;
}

static int content_length(const char *buf, int head)
{
	const char *p = strcasestr(buf, "\r\nContent-Length:");

	return p && p < buf + head ? atoi(p + 17) : 0;
}

/*
 * Reads one HTTP message (head and Content-Length body) from fd into buf,
 * which holds *len bytes already read; reads at most `chunk` bytes at a time.
 * Returns the message length (the bytes after it stay in buf), 0 at EOF
 * before any byte of it, -1 on error or EOF inside it.
 */
static int read_message(int fd, char *buf, int cap, int *len, int chunk)
{
	int head, total, r;

	for (;;) {
		head = head_len(buf, *len);
		total = head ? head + content_length(buf, head) : 0;
		if (head && *len >= total)
			return total;
		if (*len >= cap - 1)
			return -1;
		r = read(fd, buf + *len, chunk < cap - 1 - *len ? chunk : cap - 1 - *len);
		if (r <= 0)
			return r == 0 && *len == 0 ? 0 : -1;
		*len += r;
		buf[*len] = 0;
	}
}

static void consume(char *buf, int *len, int n)
{
	memmove(buf, buf + n, *len - n);
	*len -= n;
	buf[*len] = 0;
}

/*
 * reqserver: HTTP/1.1 keep-alive on LISTEN_FD. "POST /status/NNN" is answered
 * with NNN after DELAY_US, head and body in two writes; "POST /close" gets no
 * answer: the connection is closed after DELAY_US. Serves the client's
 * CONNS + CLOSED connections one after another.
 */
static int serve(void)
{
	static char buf[8192], body[RESP_BODY];
	char head[256];
	int i, c, len, n, status, hl, answered = 0;

	close(PING_FD);
	memset(body, 'b', sizeof(body));
	for (i = 0; i < CONNS + CLOSED; i++) {
		c = accept(LISTEN_FD, NULL, NULL);
		if (c < 0)
			return 1;
		nodelay(c);
		len = 0;
		while ((n = read_message(c, buf, sizeof(buf), &len, sizeof(buf))) > 0) {
			usleep(DELAY_US);
			if (!strncmp(buf, "POST /close ", 12))
				break;
			if (sscanf(buf, "POST /status/%d ", &status) != 1)
				return 2;
			consume(buf, &len, n);
			hl = snprintf(head, sizeof(head),
				      "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\n"
				      "Content-Length: %d\r\n\r\n",
				      status, status == 200 ? "OK" : "Internal Server Error",
				      RESP_BODY);
			if (write_full(c, head, hl) != hl)
				return 3;
			usleep(1000);
			if (write_full(c, body, RESP_BODY) != RESP_BODY)
				return 3;
			answered++;
		}
		if (n < 0)
			return 4;
		close(c);
	}
	return answered == REQUESTS ? 0 : 5;
}

static int connect_to(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons(port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		close(fd);
		return -1;
	}
	if (fd >= 0)
		nodelay(fd);
	return fd;
}

/* One request in two writes: the head, then (1 ms later) the body. */
static int send_request(int fd, const char *path)
{
	char head[256], body[REQ_BODY];
	int n = snprintf(head, sizeof(head),
			 "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\n"
			 "Content-Length: %d\r\n\r\n",
			 path, REQ_BODY);

	memset(body, 'a', sizeof(body));
	if (write_full(fd, head, n) != n)
		return -1;
	usleep(1000);
	return write_full(fd, body, REQ_BODY) == REQ_BODY ? 0 : -1;
}

/*
 * reqclient: REQUESTS requests over CONNS keep-alive connections, each
 * response read 256 bytes at a time and checked, then CLOSED requests that
 * the server leaves unanswered. Exit status 0 when everything went as planned.
 */
static int client(void)
{
	static char buf[8192];
	char path[64];
	int c, i, fd, port, len, n, status;

	port = port_of(LISTEN_FD);
	close(LISTEN_FD);
	close(PING_FD);
	if (port <= 0)
		return 1;
	for (c = 0; c < CONNS; c++) {
		fd = connect_to(port);
		if (fd < 0)
			return 2;
		len = 0;
		for (i = c * PER_CONN; i < (c + 1) * PER_CONN; i++) {
			snprintf(path, sizeof(path), "/status/%d", wants_500(i) ? 500 : 200);
			if (send_request(fd, path))
				return 3;
			n = read_message(fd, buf, sizeof(buf), &len, 256);
			if (n <= 0 || sscanf(buf, "HTTP/1.%*d %d", &status) != 1 ||
			    status != (wants_500(i) ? 500 : 200) ||
			    content_length(buf, head_len(buf, len)) != RESP_BODY)
				return 4;
			consume(buf, &len, n);
		}
		close(fd);
	}
	for (c = 0; c < CLOSED; c++) {
		fd = connect_to(port);
		if (fd < 0 || send_request(fd, "/close"))
			return 5;
		len = 0;
		n = read(fd, buf, sizeof(buf));
		if (n > 0 || (n < 0 && errno != ECONNRESET))
			return 6; /* an answer, or a timeout */
		close(fd);
	}
	return 0;
}

/* Line server, untagged: answers each "PING\n" on PING_FD with "PONG\n". */
static int ping_serve(void)
{
	char buf[5];
	int c, n, got, pongs = 0;

	close(LISTEN_FD);
	c = accept(PING_FD, NULL, NULL);
	if (c < 0)
		return 1;
	nodelay(c);
	for (;;) {
		for (got = 0; got < 5 && (n = read(c, buf + got, 5 - got)) > 0; got += n)
			;
		if (got == 0)
			break;
		if (got != 5 || memcmp(buf, "PING\n", 5) || write_full(c, "PONG\n", 5) != 5)
			return 2;
		pongs++;
	}
	close(c);
	return pongs == PINGS ? 0 : 3;
}

/* reqping: PINGS exchanges of "PING\n" for "PONG\n" on one connection. */
static int ping_client(void)
{
	char buf[5];
	int i, n, got, fd, port = port_of(PING_FD);

	close(LISTEN_FD);
	close(PING_FD);
	fd = port > 0 ? connect_to(port) : -1;
	if (fd < 0)
		return 1;
	for (i = 0; i < PINGS; i++) {
		if (write_full(fd, "PING\n", 5) != 5)
			return 2;
		for (got = 0; got < 5 && (n = read(fd, buf + got, 5 - got)) > 0; got += n)
			;
		if (got != 5 || memcmp(buf, "PONG\n", 5))
			return 3;
		usleep(10000);
	}
	close(fd);
	return 0;
}

/*
 * The status pair (reqstatus server and client): one keep-alive connection,
 * STATUS_ROUNDS rounds of one request of each kind below, each answered as
 * the kind says.
 */
struct status_kind {
	const char *path;
	int final; /* the final status the server answers */
	int expect; /* the client sends "Expect: 100-continue", its body after the 100 */
	int hints; /* 103 Early Hints before the final response: 1 in its own write, 2 in one */
};

static const struct status_kind status_kinds[] = {
	{"/limited", 429, 0, 0}, /* rate limited: its own label, not 4xx */
	{"/missing", 404, 0, 0},  {"/created", 201, 0, 0},
	{"/continue", 201, 1, 0}, /* interim responses are not final */
	{"/hints", 200, 0, 1},	  {"/hints1", 200, 0, 2},
};

#define CONTINUE "HTTP/1.1 100 Continue\r\n\r\n"
#define EARLY_HINTS "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload; as=style\r\n\r\n"

#define NKINDS (int)(sizeof(status_kinds) / sizeof(status_kinds[0]))
#define STATUS_ROUNDS 10
#define STATUS_BODY 10

/* Reads until buf holds a whole head; returns its length, -1 on EOF or error. */
static int read_head(int fd, char *buf, int cap, int *len)
{
	int head, r;

	while (!(head = head_len(buf, *len))) {
		if (*len >= cap - 1)
			return -1;
		r = read(fd, buf + *len, cap - 1 - *len);
		if (r <= 0)
			return -1;
		*len += r;
		buf[*len] = 0;
	}
	return head;
}

static const struct status_kind *kind_of(const char *buf)
{
	int k;

	for (k = 0; k < NKINDS; k++)
		if (!strncmp(buf + 5, status_kinds[k].path, strlen(status_kinds[k].path)))
			return &status_kinds[k];
	return NULL;
}

/* The status pair's server: answers each request of the one connection by its kind. */
static int status_serve(void)
{
	static char buf[8192];
	const struct status_kind *k;
	char resp[256];
	int c, len = 0, head, body, n, served = 0;

	c = accept(STATUS_FD, NULL, NULL);
	if (c < 0)
		return 1;
	nodelay(c);
	while ((head = read_head(c, buf, sizeof(buf), &len)) > 0) {
		k = kind_of(buf);
		if (!k)
			return 2;
		body = content_length(buf, head);
		if (k->expect && write_full(c, CONTINUE, strlen(CONTINUE)) != strlen(CONTINUE))
			return 4;
		while (len < head + body) {
			n = read(c, buf + len, sizeof(buf) - 1 - len);
			if (n <= 0)
				return 3;
			len += n;
		}
		consume(buf, &len, head + body);
		n = snprintf(resp, sizeof(resp),
			     "%sHTTP/1.1 %d X\r\nContent-Length: %d\r\n\r\n%.*s",
			     k->hints == 2 ? EARLY_HINTS : "", k->final, STATUS_BODY, STATUS_BODY,
			     "0123456789");
		if (k->hints == 1) {
			if (write_full(c, EARLY_HINTS, strlen(EARLY_HINTS)) != strlen(EARLY_HINTS))
				return 4;
			usleep(2000);
		}
		if (write_full(c, resp, n) != n)
			return 4;
		served++;
	}
	close(c);
	return served == NKINDS * STATUS_ROUNDS ? 0 : 5;
}

/* The status pair's client: STATUS_ROUNDS rounds of every kind, checked. */
static int status_client(void)
{
	static char buf[8192];
	const struct status_kind *k;
	char head[256], body[REQ_BODY];
	int fd, i, n, len = 0, status, port = port_of(STATUS_FD);

	close(STATUS_FD);
	fd = port > 0 ? connect_to(port) : -1;
	if (fd < 0)
		return 1;
	memset(body, 'a', sizeof(body));
	for (i = 0; i < NKINDS * STATUS_ROUNDS; i++) {
		k = &status_kinds[i % NKINDS];
		n = snprintf(head, sizeof(head),
			     "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %d\r\n%s\r\n",
			     k->path, REQ_BODY, k->expect ? "Expect: 100-continue\r\n" : "");
		if (write_full(fd, head, n) != n)
			return 2;
		if (k->expect) {
			/* The body goes once the server said 100 Continue. */
			n = read_message(fd, buf, sizeof(buf), &len, 256);
			if (n <= 0 || sscanf(buf, "HTTP/1.%*d %d", &status) != 1 || status != 100)
				return 3;
			consume(buf, &len, n);
		}
		if (write_full(fd, body, REQ_BODY) != REQ_BODY)
			return 2;
		do { /* interim responses first (103), then the final one */
			n = read_message(fd, buf, sizeof(buf), &len, 256);
			if (n <= 0 || sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
				return 3;
			consume(buf, &len, n);
		} while (status >= 100 && status < 200);
		if (status != k->final)
			return 4;
		usleep(1000);
	}
	close(fd);
	return 0;
}

static int workload(const char *kind)
{
	alarm(90); /* never outlive the test */
	if (!strcmp(kind, "server"))
		return serve();
	if (!strcmp(kind, "client"))
		return client();
	if (!strcmp(kind, "pingserver"))
		return ping_serve();
	if (!strcmp(kind, "ping"))
		return ping_client();
	if (!strcmp(kind, "statusserver"))
		return status_serve();
	if (!strcmp(kind, "status"))
		return status_client();
	return 127;
}

static const char *const checks[] = {
	"workloads: the client got 140 200s and 60 500s, 5 unanswered; 10 PONGs; all exit 0",
	"client: 140 requests with status 2xx",
	"client: 60 requests with status 5xx",
	"client: 5 requests closed unanswered count as error",
	"client: all 205 requests carry upstream 127.0.0.1:<server port>, role client",
	"server: 140 requests with status 2xx",
	"server: 60 requests with status 5xx",
	"client: latency histogram counts 200 to 205 requests",
	"client: the bucket le=0.268435456 holds the 200 ms answers (>= 195), < 5 below",
	"non-HTTP client: 10 requests with status unknown, none other",
	"server: one upstream, the client's address without its ephemeral port, for all 205",
	"status pair: every request answered as asked, both exit 0",
	"status client: 10 requests with status 429, and 10 in 4xx (the 404s)",
	"status server: 10 requests with status 429, and 10 in 4xx (the 404s)",
	"status pair: 40 2xx on each side (201 after 100 Continue, 200 after 103 Early Hints), "
	"60 requests in all, none 1xx",
};

#define NCHECKS (sizeof(checks) / sizeof(checks[0]))

/* Sum of requests_total for agent/role (and status when not NULL). */
static double requests(const char *m, const char *agent, const char *role, const char *status)
{
	char a[64], r[64], s[64];

	snprintf(a, sizeof(a), "agent=\"%s\"", agent);
	snprintf(r, sizeof(r), "role=\"%s\"", role);
	snprintf(s, sizeof(s), "status=\"%s\"", status ? status : "");
	return sum_metric(m, REQ_TOTAL, a, r, status ? s : NULL, NULL);
}

/* Whether the daemon has counted everything the workloads did. */
static int settled(const char *m)
{
	return requests(m, client_agent, "client", NULL) >= REQUESTS + CLOSED &&
	       requests(m, server_agent, "server", "2xx") +
			       requests(m, server_agent, "server", "5xx") >=
		       REQUESTS &&
	       requests(m, ping_agent, "client", NULL) >= PINGS &&
	       requests(m, sclient_agent, "client", NULL) >= NKINDS * STATUS_ROUNDS &&
	       requests(m, sserver_agent, "server", NULL) >= NKINDS * STATUS_ROUNDS;
}

static void diagnose(char *m)
{
	char *p;

	if (!strstr(m, REQ_TOTAL))
		tap_diag("/metrics has no %s at all", REQ_TOTAL);
	for (p = strtok(m, "\n"); p; p = strtok(NULL, "\n"))
		if (((strstr(p, server_pair) || strstr(p, client_pair) || strstr(p, ping_pair) ||
		      strstr(p, sserver_agent) || strstr(p, sclient_agent)) &&
		     (!strncmp(p, REQ_TOTAL, strlen(REQ_TOTAL)) ||
		      !strncmp(p, REQ_DURATION, strlen(REQ_DURATION)))) ||
		    !strncmp(p, "swarmwatch_events_dropped_total", 31))
			tap_diag("%s", p);
}

int main(int argc, char **argv)
{
	struct daemon d = {0};
	pid_t srv, cli, psrv, pcli, ssrv, scli;
	int st[6], port, ok;
	const char *why;
	char *m = NULL, up[64];
	double deadline, v, lo, hi, n;
	size_t i;

	if (argc == 3 && !strcmp(argv[1], "--workload"))
		return workload(argv[2]);
	snprintf(server_agent, sizeof(server_agent), "reqserver-%d", (int)getpid());
	snprintf(client_agent, sizeof(client_agent), "reqclient-%d", (int)getpid());
	snprintf(ping_agent, sizeof(ping_agent), "reqping-%d", (int)getpid());
	snprintf(sserver_agent, sizeof(sserver_agent), "reqsserver-%d", (int)getpid());
	snprintf(sclient_agent, sizeof(sclient_agent), "reqsclient-%d", (int)getpid());
	snprintf(server_pair, sizeof(server_pair), "agent=\"%s\"", server_agent);
	snprintf(client_pair, sizeof(client_pair), "agent=\"%s\"", client_agent);
	snprintf(ping_pair, sizeof(ping_pair), "agent=\"%s\"", ping_agent);
	printf("1..%zu\n", NCHECKS);
	why = bpf_unavailable();
	if (why) {
		for (i = 0; i < NCHECKS; i++)
			tap_skip(why, "%s", checks[i]);
		return 0;
	}
	if (daemon_start(&d, NULL)) {
		daemon_dump_log(&d);
		for (i = 0; i < NCHECKS; i++)
			tap_check(0, "%s (daemon did not start)", checks[i]);
		return 1;
	}
	if (listen_loopback(AF_INET, LISTEN_FD) || listen_loopback(AF_INET, PING_FD) ||
	    listen_loopback(AF_INET, STATUS_FD))
		tap_diag("cannot listen: %s", strerror(errno));
	port = port_of(LISTEN_FD);
	srv = spawn_workload(NULL, server_agent, "server");
	psrv = spawn_workload(NULL, NULL, "pingserver");
	cli = spawn_workload(NULL, client_agent, "client");
	pcli = spawn_workload(NULL, ping_agent, "ping");
	ssrv = spawn_workload(NULL, sserver_agent, "statusserver");
	scli = spawn_workload(NULL, sclient_agent, "status");
	close(LISTEN_FD);
	close(PING_FD);
	close(STATUS_FD);
	st[0] = wait_status(cli);
	st[1] = wait_status(srv);
	st[2] = wait_status(pcli);
	st[3] = wait_status(psrv);
	st[4] = wait_status(scli);
	st[5] = wait_status(ssrv);
	tap_diag("exit status: %s %d, %s %d", sclient_agent, WEXITSTATUS(st[4]), sserver_agent,
		 WEXITSTATUS(st[5]));
	tap_diag("exit status: %s %d, %s %d, %s %d, ping server %d", client_agent,
		 WEXITSTATUS(st[0]), server_agent, WEXITSTATUS(st[1]), ping_agent,
		 WEXITSTATUS(st[2]), WEXITSTATUS(st[3]));
	deadline = now_s() + 5;
	do {
		usleep(200000);
		free(m);
		m = scrape(d.port);
	} while (m && now_s() < deadline && !settled(m));
	if (!m)
		m = strdup("");

	for (ok = 1, i = 0; i < 4; i++)
		ok &= WIFEXITED(st[i]) && WEXITSTATUS(st[i]) == 0;
	tap_check(ok, "%s", checks[0]);
	v = requests(m, client_agent, "client", "2xx");
	tap_expect(v == REQUESTS - FAILING, checks[1], "%g, want %d", v, REQUESTS - FAILING);
	v = requests(m, client_agent, "client", "5xx");
	tap_expect(v == FAILING, checks[2], "%g, want %d", v, FAILING);
	v = requests(m, client_agent, "client", "error");
	tap_expect(v == CLOSED, checks[3], "%g, want %d", v, CLOSED);
	snprintf(up, sizeof(up), "upstream=\"127.0.0.1:%d\"", port);
	v = sum_metric(m, REQ_TOTAL, client_pair, up, "role=\"client\"", NULL);
	n = sum_metric(m, REQ_TOTAL, client_pair, NULL);
	tap_expect(v == REQUESTS + CLOSED && n == v, checks[4],
		   "%g with %s and role client, %g in all, want %d", v, up, n, REQUESTS + CLOSED);
	v = requests(m, server_agent, "server", "2xx");
	tap_expect(v == REQUESTS - FAILING, checks[5], "%g, want %d", v, REQUESTS - FAILING);
	v = requests(m, server_agent, "server", "5xx");
	tap_expect(v == FAILING, checks[6], "%g, want %d", v, FAILING);
	v = sum_metric(m, REQ_TOTAL, server_pair, "upstream=\"127.0.0.1\"", "role=\"server\"",
		       NULL);
	n = sum_metric(m, REQ_TOTAL, server_pair, NULL);
	tap_expect(v == REQUESTS + CLOSED && n == v, checks[10],
		   "%g with upstream 127.0.0.1 and role server, %g in all, want %d", v, n,
		   REQUESTS + CLOSED);
	/*
	 * The histogram is per agent/upstream/role, over all statuses: the 5
	 * unanswered requests may be timed too (to the close), so 200 to 205.
	 */
	n = sum_metric(m, REQ_DURATION "_count", client_pair, "role=\"client\"", NULL);
	tap_expect(n >= REQUESTS && n <= REQUESTS + CLOSED, checks[7], "%g, want %d to %d", n,
		   REQUESTS, REQUESTS + CLOSED);
	/*
	 * Every answer, and every unanswered close, comes DELAY_US (200 ms) plus a
	 * millisecond or two after the request's first write: in (2^27, 2^28] ns.
	 */
	hi = sum_bucket(m, REQ_DURATION "_bucket", LE_DELAY, client_pair, "role=\"client\"", NULL);
	lo = sum_bucket(m, REQ_DURATION "_bucket", LE_BELOW, client_pair, "role=\"client\"", NULL);
	tap_expect(hi >= REQUESTS - CLOSED && lo < CLOSED, checks[8],
		   "le=0.268435456 %g (want >= %d), le=0.134217728 %g (want < %d)", hi,
		   REQUESTS - CLOSED, lo, CLOSED);
	v = requests(m, ping_agent, "client", "unknown");
	n = sum_metric(m, REQ_TOTAL, ping_pair, NULL);
	tap_expect(v == PINGS && n == PINGS, checks[9], "%g unknown, %g in all, want %d", v, n,
		   PINGS);
	tap_check(WIFEXITED(st[4]) && !WEXITSTATUS(st[4]) && WIFEXITED(st[5]) &&
			  !WEXITSTATUS(st[5]),
		  "%s", checks[11]);
	v = requests(m, sclient_agent, "client", "429");
	n = requests(m, sclient_agent, "client", "4xx");
	tap_expect(v == STATUS_ROUNDS && n == STATUS_ROUNDS, checks[12],
		   "%g 429, %g 4xx, want %d each", v, n, STATUS_ROUNDS);
	v = requests(m, sserver_agent, "server", "429");
	n = requests(m, sserver_agent, "server", "4xx");
	tap_expect(v == STATUS_ROUNDS && n == STATUS_ROUNDS, checks[13],
		   "%g 429, %g 4xx, want %d each", v, n, STATUS_ROUNDS);
	v = requests(m, sclient_agent, "client", "2xx") +
	    requests(m, sserver_agent, "server", "2xx");
	n = requests(m, sclient_agent, "client", NULL) + requests(m, sserver_agent, "server", NULL);
	tap_expect(v == 2 * (NKINDS - 2) * STATUS_ROUNDS && n == 2 * NKINDS * STATUS_ROUNDS,
		   checks[14], "%g 2xx and %g in all on both sides, want %d and %d", v, n,
		   2 * (NKINDS - 2) * STATUS_ROUNDS, 2 * NKINDS * STATUS_ROUNDS);
	if (tap_failed) {
		diagnose(m);
		daemon_dump_log(&d);
	}
	daemon_stop(&d);
	daemon_unpin(&d);
	free(m);
	unlink(d.log_path);
	return tap_failed ? 1 : 0;
}
