// SPDX-License-Identifier: MIT
/*
 * What one send on loopback costs the sender, in nanoseconds per round: `udp` is a sendto() of a
 * 16-byte datagram and the recv() that takes it off the queue again (so the queue never fills);
 * `tcp` a 64-byte write() and the read() of it on a connected TCP pair (TCP_NODELAY). Pinned to
 * one CPU; prints the mean over N rounds after 10,000 to warm up.
 *
 *   build/bench/sendcost udp|tcp [N [CPU]]
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* A UDP pair (tx sends to rx's port) or a connected TCP pair on 127.0.0.1; 0 or -1. */
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

/* One round: n bytes out of tx, the same n bytes back in from rx; 0 or -1. */
static int round_trip(int tx, int rx, char *buf, size_t n)
{
	size_t got = 0;
	ssize_t r;

	if (send(tx, buf, n, 0) != (ssize_t)n)
		return -1;
	while (got < n) {
		r = recv(rx, buf + got, n - got, 0);
		if (r <= 0)
			return -1;
		got += r;
	}
	return 0;
}

int main(int argc, char **argv)
{
	int tcp = argc > 1 && !strcmp(argv[1], "tcp"), tx, rx, cpu;
	long n = argc > 2 ? atol(argv[2]) : 200000, i;
	size_t len = tcp ? 64 : 16;
	char buf[64] = "sendcost:1|c\n";
	cpu_set_t set;
	double t0;

	if (argc < 2 || (!tcp && strcmp(argv[1], "udp"))) {
		fprintf(stderr, "usage: sendcost udp|tcp [N [CPU]]\n");
		return 2;
	}
	cpu = argc > 3 ? atoi(argv[3]) : 1;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
	if (pair(tcp, &tx, &rx)) {
		perror("sendcost: loopback sockets");
		return 1;
	}
	for (i = 0; i < 10000; i++)
		if (round_trip(tx, rx, buf, len))
			goto fail;
	t0 = now_ns();
	for (i = 0; i < n; i++)
		if (round_trip(tx, rx, buf, len))
			goto fail;
	printf("%.1f\n", (now_ns() - t0) / n);
	return 0;
fail:
	perror("sendcost: send or receive");
	return 1;
}
