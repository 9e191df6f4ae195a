/* SPDX-License-Identifier: MIT */
/*
 * Helpers for tests that run the real daemon: start and stop it on a free
 * loopback port with a private pin path, fetch pages over HTTP, read sample
 * values out of the exposition text.
 */
#ifndef SW_HARNESS_H
#define SW_HARNESS_H

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct daemon {
	pid_t pid;
	int port;
	char pin_path[128];
	char log_path[128];
};

static inline double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static inline const char *swarmwatch_bin(void)
{
	const char *b = getenv("SWARMWATCH");

	return b ? b : "build/swarmwatch";
}

/* A loopback port that was free a moment ago. */
static inline int free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = 0;

	if (fd >= 0 && !bind(fd, (struct sockaddr *)&a, sizeof(a)) &&
	    !getsockname(fd, (struct sockaddr *)&a, &len))
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

/*
 * HTTP request to 127.0.0.1:port; returns the status and stores the whole
 * response (headers and body, NUL-terminated) in *resp, to be freed.
 */
static inline int http_request(int port, const char *method, const char *path, const char *headers,
			       char **resp)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons(port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct timeval tv = {.tv_sec = 10};
	size_t len = 0, cap = 65536;
	char req[1024], *buf;
	int fd, status = -1;
	ssize_t n;

	*resp = NULL;
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		close(fd);
		return -1;
	}
	snprintf(req, sizeof(req),
		 "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s\r\n", method, path,
		 headers ? headers : "");
	if (write(fd, req, strlen(req)) < 0) {
		close(fd);
		return -1;
	}
	buf = malloc(cap);
	while (buf && (n = read(fd, buf + len, cap - len - 1)) > 0) {
		len += n;
		if (len + 1 == cap) {
			char *p = realloc(buf, cap *= 2);

			if (!p) {
				free(buf);
				buf = NULL;
			}
			buf = p;
		}
	}
	close(fd);
	if (!buf)
		return -1;
	buf[len] = 0;
	if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
		status = -1;
	*resp = buf;
	return status;
}

static inline int http_get(int port, const char *path, char **resp)
{
	return http_request(port, "GET", path, NULL, resp);
}

/* Body of a response, after the blank line. */
static inline const char *http_body(const char *resp)
{
	const char *p = resp ? strstr(resp, "\r\n\r\n") : NULL;

	return p ? p + 4 : "";
}

/* Value of the sample whose series is exactly `series` ("name{labels}"); NAN if absent. */
static inline double metric(const char *text, const char *series)
{
	size_t n = strlen(series);
	const char *p = text;

	while ((p = strstr(p, series))) {
		if ((p == text || p[-1] == '\n') && p[n] == ' ')
			return strtod(p + n + 1, NULL);
		p += n;
	}
	return 0.0 / 0.0;
}

static inline double metricf(const char *text, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static inline double metricf(const char *text, const char *fmt, ...)
{
	char series[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(series, sizeof(series), fmt, ap);
	va_end(ap);
	return metric(text, series);
}

/* Whether the label set [lb, rb) ("{...}") holds the pair `key="value"` as a whole. */
static inline int label_pair_at(const char *lb, const char *rb, const char *pair)
{
	size_t n = strlen(pair);
	const char *q;

	for (q = lb + 1; q + n <= rb; q++)
		if ((q[-1] == '{' || q[-1] == ',') && !strncmp(q, pair, n) &&
		    (q + n == rb || q[n] == ',' || q[n] == '}'))
			return 1;
	return 0;
}

/*
 * Sum over every sample of metric `name` whose label set holds each of the
 * `key="value"` pairs in ap (NULL-terminated); when le is not NAN, only the
 * samples whose le label equals it as a number (histogram buckets, however
 * the daemon prints the bound). NAN when no sample matched.
 */
static inline double sum_metric_va(const char *text, const char *name, double le, va_list ap)
{
	const char *pairs[16], *p = text, *eol, *lb, *rb, *pair, *v;
	size_t n = strlen(name);
	int npairs = 0, matched = 0, i, ok;
	double sum = 0, b;

	while (npairs < 16 && (pair = va_arg(ap, const char *)))
		pairs[npairs++] = pair;
	for (; p && *p; p = *eol ? eol + 1 : NULL) {
		eol = strchr(p, '\n');
		if (!eol)
			eol = p + strlen(p);
		if (strncmp(p, name, n) || (p[n] != '{' && p[n] != ' '))
			continue;
		lb = p + n;
		rb = lb;
		if (*lb == '{') {
			for (rb = lb; rb < eol && *rb != '}'; rb++)
				;
			if (rb == eol)
				continue;
		}
		for (ok = 1, i = 0; ok && i < npairs; i++)
			ok = label_pair_at(lb, rb, pairs[i]);
		if (ok && le == le) {
			ok = 0;
			for (v = lb + 1; v + 4 < rb; v++)
				if ((v[-1] == '{' || v[-1] == ',') && !strncmp(v, "le=\"", 4))
					break;
			if (v + 4 < rb) {
				b = strtod(v + 4, NULL);
				ok = b - le < le * 1e-3 && le - b < le * 1e-3;
			}
		}
		if (!ok)
			continue;
		sum += strtod(*rb == '}' ? rb + 1 : rb, NULL);
		matched++;
	}
	return matched ? sum : 0.0 / 0.0;
}

/*
 * Sum over every sample of `name` whose labels hold all the given pairs,
 * e.g. sum_metric(text, "x_total", "agent=\"a\"", "role=\"server\"", NULL).
 * NAN when no sample matched.
 */
static inline double sum_metric(const char *text, const char *name, ...)
{
	va_list ap;
	double r;

	va_start(ap, name);
	r = sum_metric_va(text, name, 0.0 / 0.0, ap);
	va_end(ap);
	return r;
}

/* As sum_metric, for the samples of histogram bucket series `name` whose le is `le`. */
static inline double sum_bucket(const char *text, const char *name, double le, ...)
{
	va_list ap;
	double r;

	va_start(ap, le);
	r = sum_metric_va(text, name, le, ap);
	va_end(ap);
	return r;
}

/* Starts `swarmwatch run` with extra arguments (NULL-terminated list); 0 once /healthz is ok. */
static inline int daemon_start(struct daemon *d, const char *const *extra)
{
	char port[32], listen[64];
	const char *argv[32];
	double deadline;
	char *resp;
	int i = 0, j, fd;

	if (!d->pin_path[0])
		snprintf(d->pin_path, sizeof(d->pin_path), "/sys/fs/bpf/swarmwatch-test-%d",
			 getpid());
	if (!d->log_path[0])
		snprintf(d->log_path, sizeof(d->log_path), "/tmp/swarmwatch-test-%d.log", getpid());
	d->port = free_port();
	snprintf(port, sizeof(port), "%d", d->port);
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", d->port);
	argv[i++] = swarmwatch_bin();
	argv[i++] = "run";
	argv[i++] = "--listen";
	argv[i++] = listen;
	argv[i++] = "--interval";
	argv[i++] = "100ms";
	argv[i++] = "--pin-path";
	argv[i++] = d->pin_path;
	argv[i++] = "--state-dir"; /* history in memory unless a test gives a directory */
	argv[i++] = "";
	/* Exact counts: no duty cycle unless a test asks for one (a later option wins). */
	argv[i++] = "--overhead-budget";
	argv[i++] = "0";
	for (j = 0; extra && extra[j] && i < 31; j++)
		argv[i++] = extra[j];
	argv[i] = NULL;
	d->pid = fork();
	if (d->pid == 0) {
		fd = open(d->log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execv(argv[0], (char **)argv);
		_exit(127);
	}
	deadline = now_s() + 30;
	while (now_s() < deadline) {
		int st, status = http_get(d->port, "/healthz", &resp);

		free(resp);
		if (status == 200)
			return 0;
		if (waitpid(d->pid, &st, WNOHANG) == d->pid) {
			d->pid = 0;
			return -1;
		}
		usleep(50000);
	}
	return -1;
}

/* Stops the daemon with SIGTERM; returns its exit status, or -1. */
static inline int daemon_stop(struct daemon *d)
{
	double deadline = now_s() + 15;
	int st;

	if (d->pid <= 0)
		return -1;
	kill(d->pid, SIGTERM);
	while (now_s() < deadline) {
		if (waitpid(d->pid, &st, WNOHANG) == d->pid) {
			d->pid = 0;
			return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
		}
		usleep(20000);
	}
	kill(d->pid, SIGKILL);
	waitpid(d->pid, &st, 0);
	d->pid = 0;
	return -1;
}

/* Removes the daemon's pinned maps (it must be stopped). */
static inline void daemon_unpin(const struct daemon *d)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "%s run --unpin --pin-path %s >/dev/null 2>&1", swarmwatch_bin(),
		 d->pin_path);
	if (system(cmd))
		printf("# unpinning %s failed\n", d->pin_path);
}

/* Prints the daemon's log as TAP diagnostics. */
static inline void daemon_dump_log(const struct daemon *d)
{
	char line[1024];
	FILE *f = fopen(d->log_path, "r");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		printf("# daemon: %s", line);
	fclose(f);
}

/*
 * Runs `path` (this test binary when NULL) by exec, as `... --workload KIND`,
 * with SWARMWATCH_AGENT=agent in an otherwise minimal environment (none when
 * agent is NULL), so the kernel classifies it at exec. Returns its pid.
 */
static inline pid_t spawn_workload(const char *path, const char *agent, const char *kind)
{
	char env_agent[64];
	char *envp[] = {env_agent, "PATH=/usr/bin:/bin", NULL};
	char *const argv[] = {"swarmwatch-probe", "--workload", (char *)kind, NULL};
	pid_t pid;

	snprintf(env_agent, sizeof(env_agent), "SWARMWATCH_AGENT=%s", agent ? agent : "");
	pid = fork();
	if (pid == 0) {
		execve(path ? path : "/proc/self/exe", argv, agent ? envp : envp + 1);
		_exit(127);
	}
	return pid;
}

static inline int wait_status(pid_t pid)
{
	int st = 0;

	waitpid(pid, &st, 0);
	return st;
}

/* The /metrics page, to be freed, or NULL. */
static inline char *scrape(int port)
{
	char *resp;

	if (http_get(port, "/metrics", &resp) != 200) {
		free(resp);
		return NULL;
	}
	return resp;
}

/*
 * The /metrics page of a collector tick that began after this call, so
 * that it holds everything the kernel counted before it: the page whose
 * swarmwatch_collector_ticks_total is 2 past the one current now (the next
 * tick may have read the counters already). Gives up after 20 s and
 * returns the last page then; never NULL. A fixed sleep before a scrape is
 * not enough on a loaded host, where a tick can be late by that much.
 */
static inline char *scrape_fresh(int port)
{
	const char *ticks = "swarmwatch_collector_ticks_total";
	double deadline = now_s() + 20, t0;
	char *m = scrape(port);

	t0 = m ? metric(m, ticks) : 0;
	if (t0 != t0) /* NaN: no tick yet */
		t0 = 0;
	while (!(m && metric(m, ticks) >= t0 + 2) && now_s() < deadline) {
		free(m);
		usleep(20000);
		m = scrape(port);
	}
	return m ? m : strdup("");
}

/* Scrapes until done(page) holds or `seconds` pass; returns the last page (never NULL). */
static inline char *scrape_until(int port, int (*done)(const char *m), double seconds)
{
	double deadline = now_s() + seconds;
	char *m = NULL;

	for (;;) {
		free(m);
		m = scrape(port);
		if ((m && done(m)) || now_s() >= deadline)
			break;
		usleep(100000);
	}
	return m ? m : strdup("");
}

/* Reads or writes exactly n bytes unless the peer goes away; returns how many moved. */
static inline int read_full(int fd, char *buf, int n)
{
	int got = 0, r;

	while (got < n && (r = read(fd, buf + got, n - got)) > 0)
		got += r;
	return got;
}

static inline int write_full(int fd, const char *buf, int n)
{
	int put = 0, r;

	while (put < n && (r = write(fd, buf + put, n - put)) > 0)
		put += r;
	return put;
}

/*
 * A TCP socket listening on loopback (127.0.0.1 or ::1, by family) on a free
 * port, as fd `target` (left open across exec for the workloads); 0 or -1.
 */
static inline int listen_loopback(int family, int target)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
	int fd = socket(family, SOCK_STREAM, 0), ok;

	ok = fd >= 0 &&
	     !bind(fd, family == AF_INET ? (struct sockaddr *)&a : (struct sockaddr *)&a6,
		   family == AF_INET ? sizeof(a) : sizeof(a6)) &&
	     !listen(fd, 512) && dup2(fd, target) == target;
	if (fd >= 0)
		close(fd);
	return ok ? 0 : -1;
}

/* Local port of IPv4 socket fd, or -1. */
static inline int port_of(int fd)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);

	if (getsockname(fd, (struct sockaddr *)&a, &len))
		return -1;
	return ntohs(a.sin_port);
}

/*
 * Whether a process other than this one carries SWARMWATCH_AGENT: its
 * agents would take the few slots a test with a small max_agents counts on.
 */
static inline int other_agents_running(void)
{
	char path[64], env[65536];
	struct dirent *de;
	int found = 0;
	DIR *d;

	d = opendir("/proc");
	if (!d)
		return 0;
	while (!found && (de = readdir(d))) {
		int pid = atoi(de->d_name), fd;
		ssize_t n, i;

		if (pid <= 0 || pid == getpid())
			continue;
		snprintf(path, sizeof(path), "/proc/%d/environ", pid);
		fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;
		n = read(fd, env, sizeof(env) - 1);
		close(fd);
		for (i = 0; i < n; i += strlen(env + i) + 1) {
			env[n] = 0;
			if (!strncmp(env + i, "SWARMWATCH_AGENT=", 17)) {
				found = 1;
				break;
			}
		}
	}
	closedir(d);
	return found;
}

/* Whether this process may load BPF: root, and the bpf syscall answers. */
static inline const char *bpf_unavailable(void)
{
	if (geteuid() != 0)
		return "needs root";
	if (access("/sys/kernel/btf/vmlinux", R_OK))
		return "kernel has no BTF";
	if (syscall(SYS_bpf, -1, NULL, 0) < 0 && errno == ENOSYS)
		return "kernel has no BPF";
	return NULL;
}

#endif
