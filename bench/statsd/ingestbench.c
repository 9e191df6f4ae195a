// SPDX-License-Identifier: MIT
/*
 * How many StatsD datagrams one core ingests: the listener (ingest.c) reads a Unix datagram
 * socket that a child process fills as fast as it can (a blocking send: nothing is lost), while
 * the main thread runs the tick's part once a second (take the batch, fold it into the series,
 * copy the view). The figure is datagrams per CPU second of this process, which is the
 * listener thread and the tick's part (the sender is another process).
 *
 *   build/bench/ingestbench [DATAGRAMS [LINES_PER_DATAGRAM [SERIES [unix|udp]]]]
 *
 * On the Unix socket senders are not attributed to an agent here (no `tasks` map): the attributed
 * path adds one cached lookup per datagram, and a pidfd_open + map lookup per sender and second.
 * With `udp` (root: it creates a BPF map) the child sends over UDP on loopback from a port that
 * this process has entered in a `udp_owners` map of its own, as the kernel hook would have: the
 * figure includes the listener's attribution (a cached lookup per datagram, a map lookup per
 * port every 100 ms). UDP has no flow control: datagrams the listener's queue has no room for
 * are dropped by the kernel, cost the listener nothing and are not counted.
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "apps.h"
#include "ingest.h"

static double cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static double wall_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Sends n datagrams on fd, or when fd is -1 on a new socket connected to Unix socket path. */
static int send_all(int fd, const char *path, long n, int lines, int series)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	char buf[4096];
	long i;
	int j, len;

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	if (fd < 0) {
		fd = socket(AF_UNIX, SOCK_DGRAM, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)))
			return 1;
	}
	for (i = 0; i < n; i++) {
		for (len = 0, j = 0; j < lines; j++)
			len += snprintf(buf + len, sizeof(buf) - len,
					"bench_req_%ld:1|c|#model:m%ld\n", (i + j) % series,
					(i + j) % 4);
		if (send(fd, buf, len, 0) != len)
			return 1;
	}
	return 0;
}

/*
 * A UDP socket connected to the listener's port, entered in a new `udp_owners` map as sent by
 * agent slot 1; the map's descriptor in *map. The socket's descriptor, or -1 after a message.
 */
static int udp_sender(int port, int *map)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct sw_udp_owner v = {.slot = 1, .tgid = getpid()};
	socklen_t len = sizeof(a);
	struct sw_udp_key k = {0};
	struct stat st;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	a.sin_port = htons(port);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) ||
	    getsockname(fd, (struct sockaddr *)&a, &len) || stat("/proc/self/ns/net", &st)) {
		perror("ingestbench: udp socket");
		return -1;
	}
	k.netns = st.st_ino;
	k.port = ntohs(a.sin_port);
	if (bpf_map_update_elem(*map, &k, &v, BPF_ANY)) {
		perror("ingestbench: udp_owners");
		return -1;
	}
	return fd;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 2000000;
	int lines = argc > 2 ? atoi(argv[2]) : 1, series = argc > 3 ? atoi(argv[3]) : 16;
	int udp = argc > 4 && !strcmp(argv[4], "udp"), t = udp ? 0 : 1, fd = -1;
	struct ingest_params ip = {.tasks_fd = -1, .udp_owners_fd = -1};
	unsigned long long last = 0;
	double quiet = 0;
	struct apps_params ap;
	struct ingest_stats st;
	struct apps *apps;
	struct ingest *g;
	char path[64], err[256];
	double c0, w0, c1, w1, next;
	int status = 0, done = 0;
	pid_t pid;

	snprintf(path, sizeof(path), "/tmp/ingestbench-%d.sock", (int)getpid());
	apps__params_default(&ap);
	ap.tags[0] = "model";
	ap.ntags = 1;
	if (udp) {
		ip.udp = "127.0.0.1:0";
		ip.udp_owners_fd = bpf_map_create(BPF_MAP_TYPE_LRU_HASH, "udp_owners",
						  sizeof(struct sw_udp_key),
						  sizeof(struct sw_udp_owner), 1024, NULL);
		if (ip.udp_owners_fd < 0) {
			perror("ingestbench: creating a BPF map (run as root)");
			return 1;
		}
	} else {
		ip.socket = path;
	}
	ip.apps = &ap;
	apps = apps__new(&ap);
	g = ingest__start(&ip, err, sizeof(err));
	if (!g || !apps) {
		fprintf(stderr, "ingestbench: %s\n", g ? "out of memory" : err);
		return 1;
	}
	if (udp && (fd = udp_sender(ingest__udp_port(g), &ip.udp_owners_fd)) < 0)
		return 1;
	c0 = cpu_s();
	w0 = wall_s();
	pid = fork();
	if (pid == 0)
		_exit(send_all(fd, path, n, lines, series));
	next = w0 + 1;
	for (;;) {
		struct apps_batch *b;
		struct app_view *v;

		/* Once reaped, the child is done: waitpid() would fail from then on. */
		done = done || waitpid(pid, &status, WNOHANG) == pid;
		if (!done && wall_s() < next) {
			usleep(10000);
			continue;
		}
		ingest__stats(g, &st);
		if (done && st.datagrams[t] < (unsigned long)n && wall_s() < next + 5) {
			/* The last datagrams are still queued (UDP: until none came for 0.2 s). */
			if (st.datagrams[t] != last)
				quiet = wall_s();
			last = st.datagrams[t];
			if (!udp || wall_s() - quiet < 0.2) {
				usleep(1000);
				continue;
			}
		}
		b = ingest__take(g);
		apps__merge(apps, b, NULL, 0, wall_s());
		ingest__recycle(g, b);
		v = apps__view(apps);
		apps__view_free(v);
		next += 1;
		if (done)
			break;
	}
	c1 = cpu_s();
	w1 = wall_s();
	ingest__stats(g, &st);
	printf("%s: datagrams %llu of %ld (%d line(s) each, %d series), malformed %llu, "
	       "attributed by the kernel map %llu\n",
	       udp ? "udp" : "unix", (unsigned long long)st.datagrams[t], n, lines, series,
	       (unsigned long long)st.malformed, (unsigned long long)st.by[APPS_BY_KERNEL]);
	printf("listener and tick: %.3f CPU s in %.3f s wall\n", c1 - c0, w1 - w0);
	printf("%.0f datagrams per CPU second, %.0f lines per CPU second\n",
	       st.datagrams[t] / (c1 - c0), st.datagrams[t] * (double)lines / (c1 - c0));
	ingest__stop(g);
	apps__free(apps);
	return WIFEXITED(status) && !WEXITSTATUS(status) &&
			       (udp ? st.by[APPS_BY_KERNEL] == st.datagrams[t]
				    : st.datagrams[t] == (unsigned long)n)
		       ? 0
		       : 1;
}
