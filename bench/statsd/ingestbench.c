// SPDX-License-Identifier: MIT
/*
 * How many StatsD datagrams one core ingests: the listener (ingest.c) reads a Unix datagram
 * socket that a child process fills as fast as it can (a blocking send: nothing is lost), while
 * the main thread runs the tick's part once a second (take the batch, fold it into the series,
 * copy the view). The figure is datagrams per CPU second of this process, which is the
 * listener thread and the tick's part (the sender is another process).
 *
 *   build/bench/ingestbench [DATAGRAMS [LINES_PER_DATAGRAM [SERIES]]]
 *
 * Senders are not attributed to an agent here (no BPF map): the attributed path adds one
 * cached lookup per datagram, and a pidfd_open + map lookup per sender and second.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
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

static int send_all(const char *path, long n, int lines, int series)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	char buf[4096];
	long i;
	int fd = socket(AF_UNIX, SOCK_DGRAM, 0), j, len;

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)))
		return 1;
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

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 2000000;
	int lines = argc > 2 ? atoi(argv[2]) : 1, series = argc > 3 ? atoi(argv[3]) : 16;
	struct ingest_params ip = {.tasks_fd = -1, .udp_owners_fd = -1};
	struct apps_params ap;
	struct ingest_stats st;
	struct apps *apps;
	struct ingest *g;
	char path[64], err[256];
	double c0, w0, c1, w1, next;
	int status = 0;
	pid_t pid;

	snprintf(path, sizeof(path), "/tmp/ingestbench-%d.sock", (int)getpid());
	apps__params_default(&ap);
	ap.tags[0] = "model";
	ap.ntags = 1;
	ip.socket = path;
	ip.apps = &ap;
	apps = apps__new(&ap);
	g = ingest__start(&ip, err, sizeof(err));
	if (!g || !apps) {
		fprintf(stderr, "ingestbench: %s\n", g ? "out of memory" : err);
		return 1;
	}
	c0 = cpu_s();
	w0 = wall_s();
	pid = fork();
	if (pid == 0)
		_exit(send_all(path, n, lines, series));
	next = w0 + 1;
	for (;;) {
		struct apps_batch *b;
		struct app_view *v;
		int done = waitpid(pid, &status, WNOHANG) == pid;

		if (!done && wall_s() < next) {
			usleep(10000);
			continue;
		}
		ingest__stats(g, &st);
		if (done && st.datagrams[1] < (unsigned long)n && wall_s() < next + 5) {
			usleep(1000); /* the last datagrams are still queued */
			continue;
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
	printf("datagrams %llu of %ld (%d line(s) each, %d series), malformed %llu\n",
	       (unsigned long long)st.datagrams[1], n, lines, series,
	       (unsigned long long)st.malformed);
	printf("listener and tick: %.3f CPU s in %.3f s wall\n", c1 - c0, w1 - w0);
	printf("%.0f datagrams per CPU second, %.0f lines per CPU second\n",
	       st.datagrams[1] / (c1 - c0), st.datagrams[1] * (double)lines / (c1 - c0));
	ingest__stop(g);
	apps__free(apps);
	return WIFEXITED(status) && !WEXITSTATUS(status) && st.datagrams[1] == (unsigned long)n ? 0
												: 1;
}
