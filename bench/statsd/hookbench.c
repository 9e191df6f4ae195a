// SPDX-License-Identifier: MIT
/*
 * What the hook that records UDP senders (bpf/ingest.bpf.c, sw_udp_owner on net_dev_queue) adds
 * to a send, side by side in one run: this process loads that one program from swarmwatch's own
 * object and, REPEATS times, times N rounds with the program detached, then N rounds with it
 * attached, so each figure has a baseline taken a moment before it. A round is:
 *   udp  a sendto() of a 16-byte datagram on loopback and the recv() that takes it back
 *   tcp  a 64-byte write() on a connected loopback TCP pair (TCP_NODELAY) and its read()
 * with this process tagged as an agent (an entry in `tasks`, as the daemon makes) or not. The
 * time is this thread's CPU time (CLOCK_THREAD_CPUTIME_ID), so that time spent waiting for the
 * CPU on a busy host is left out. Prints medians, and the program's own ns per run from the
 * kernel's run-time statistics, taken apart (they add two clock reads to every run).
 *
 *   build/bench/hookbench [N [REPEATS [CPU]]]      (root)
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <errno.h>
#include <bpf/libbpf.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "swarmwatch.h"
#include "swarmwatch.skel.h"

#define MAX_REPEATS 64

static double cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* A UDP pair (tx connected to rx) or a connected TCP pair on 127.0.0.1; 0 or -1. */
static int pair(int tcp, int *tx, int *rx)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int one = 1, l;

	if (!tcp) {
		*rx = socket(AF_INET, SOCK_DGRAM, 0);
		*tx = socket(AF_INET, SOCK_DGRAM, 0);
		if (*rx < 0 || *tx < 0 || bind(*rx, (struct sockaddr *)&a, sizeof(a)) ||
		    getsockname(*rx, (struct sockaddr *)&a, &len))
			return -1;
		return connect(*tx, (struct sockaddr *)&a, sizeof(a));
	}
	l = socket(AF_INET, SOCK_STREAM, 0);
	*tx = socket(AF_INET, SOCK_STREAM, 0);
	if (l < 0 || *tx < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 1) ||
	    getsockname(l, (struct sockaddr *)&a, &len) ||
	    connect(*tx, (struct sockaddr *)&a, sizeof(a)))
		return -1;
	*rx = accept(l, NULL, NULL);
	close(l);
	setsockopt(*tx, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return *rx < 0 ? -1 : 0;
}

/* CPU ns per round over n rounds of len bytes out of tx and back in from rx; < 0 on error. */
static double rounds(int tx, int rx, size_t len, long n)
{
	char buf[64] = "hookbench:1|c\n";
	double t0 = cpu_ns();
	size_t got;
	ssize_t r;
	long i;

	for (i = 0; i < n; i++) {
		if (send(tx, buf, len, 0) != (ssize_t)len)
			return -1;
		for (got = 0; got < len; got += r) {
			r = recv(rx, buf + got, len - got, 0);
			if (r <= 0)
				return -1;
		}
	}
	return (cpu_ns() - t0) / n;
}

/* Tags this process as agent slot 1 in `tasks` (on) or untags it; 0 or -1. */
static int tag(int tasks_fd, int on)
{
	struct sw_task t = {.sys.slot = 1};
	int pidfd = syscall(SYS_pidfd_open, getpid(), 0), err;

	if (pidfd < 0)
		return -1;
	err = on ? bpf_map_update_elem(tasks_fd, &pidfd, &t, BPF_ANY)
		 : bpf_map_delete_elem(tasks_fd, &pidfd);
	close(pidfd);
	return err && on ? -1 : 0;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* The program's run count and run time so far (with run-time statistics on). */
static void prog_stats(struct bpf_program *p, __u64 *runs, __u64 *ns)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	bpf_obj_get_info_by_fd(bpf_program__fd(p), &info, &len);
	*runs = info.run_cnt;
	*ns = info.run_time_ns;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int tcp, tagged;
	} kinds[] = {{"UDP send + recv, tagged sender", 0, 1},
		     {"UDP send + recv, untagged sender", 0, 0},
		     {"TCP write + read (64 B), tagged sender", 1, 1},
		     {"TCP write + read (64 B), untagged sender", 1, 0}};
	long n = argc > 1 ? atol(argv[1]) : 100000;
	int repeats = argc > 2 ? atoi(argv[2]) : 15, cpu = argc > 3 ? atoi(argv[3]) : 1;
	double base[MAX_REPEATS], with[MAX_REPEATS], diff[MAX_REPEATS];
	struct swarmwatch_bpf *skel;
	struct bpf_program *p;
	struct bpf_link *link;
	cpu_set_t set;
	size_t k;
	int r, tx, rx, stats_fd;

	if (repeats < 1 || repeats > MAX_REPEATS || n < 1) {
		fprintf(stderr, "usage: hookbench [N [REPEATS (1-%d) [CPU]]]\n", MAX_REPEATS);
		return 2;
	}
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
	skel = swarmwatch_bpf__open();
	if (!skel) {
		perror("hookbench: opening the BPF object");
		return 1;
	}
	bpf_object__for_each_program (p, skel->obj)
		bpf_program__set_autoload(p, p == skel->progs.sw_udp_owner);
	if (swarmwatch_bpf__load(skel)) {
		perror("hookbench: loading sw_udp_owner (run as root)");
		return 1;
	}
	printf("# hookbench: %ld rounds per measurement, %d repeats, CPU %d; CPU ns per round\n", n,
	       repeats, cpu);
	printf("| round | no hook (ns) | with the hook (ns) | added (ns) | ratio |\n");
	printf("|---|---|---|---|---|\n");
	for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		if (pair(kinds[k].tcp, &tx, &rx) ||
		    tag(bpf_map__fd(skel->maps.tasks), kinds[k].tagged)) {
			perror("hookbench: loopback sockets or tagging");
			return 1;
		}
		rounds(tx, rx, kinds[k].tcp ? 64 : 16, 10000); /* warm up */
		for (r = 0; r < repeats; r++) {
			base[r] = rounds(tx, rx, kinds[k].tcp ? 64 : 16, n);
			link = bpf_program__attach(skel->progs.sw_udp_owner);
			if (!link) {
				perror("hookbench: attaching to net_dev_queue");
				return 1;
			}
			with[r] = rounds(tx, rx, kinds[k].tcp ? 64 : 16, n);
			bpf_link__destroy(link);
			if (base[r] < 0 || with[r] < 0) {
				perror("hookbench: send or receive");
				return 1;
			}
			diff[r] = with[r] - base[r];
		}
		printf("| %s | %.0f | %.0f | %+.0f | %.3f |\n", kinds[k].name,
		       median(base, repeats), median(with, repeats), median(diff, repeats),
		       median(with, repeats) / median(base, repeats));
		close(tx);
		close(rx);
	}

	stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	printf("\n| round, with run-time statistics | runs per round | ns per run |\n|---|---|---|\n");
	link = stats_fd < 0 ? NULL : bpf_program__attach(skel->progs.sw_udp_owner);
	for (k = 0; link && k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		__u64 r0, t0, r1, t1;

		if (pair(kinds[k].tcp, &tx, &rx) ||
		    tag(bpf_map__fd(skel->maps.tasks), kinds[k].tagged))
			break;
		prog_stats(skel->progs.sw_udp_owner, &r0, &t0);
		rounds(tx, rx, kinds[k].tcp ? 64 : 16, n);
		prog_stats(skel->progs.sw_udp_owner, &r1, &t1);
		printf("| %s | %.2f | %.0f |\n", kinds[k].name, (double)(r1 - r0) / n,
		       r1 > r0 ? (double)(t1 - t0) / (r1 - r0) : 0.0);
		close(tx);
		close(rx);
	}
	if (!link)
		printf("(run-time statistics unavailable: %s)\n", strerror(errno));
	bpf_link__destroy(link);
	if (stats_fd >= 0)
		close(stats_fd);
	swarmwatch_bpf__destroy(skel);
	return 0;
}
