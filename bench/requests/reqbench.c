// SPDX-License-Identifier: MIT
/*
 * A loopback HTTP/1.1 keep-alive client/server pair for the request
 * benchmark. `reqbench server` answers every request on one connection
 * accepted from fd 3; `reqbench client N` connects to the port of fd 3,
 * makes N requests one after the other and prints the requests per second.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LISTEN_FD 3

static const char request[] = "GET /v1/ping HTTP/1.1\r\nHost: bench\r\n\r\n";
static const char response[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

/* Reads until `want` bytes ending a message have arrived; 0 or -1. */
static int read_message(int fd, char *buf, size_t want)
{
	size_t got = 0;
	ssize_t n;

	while (got < want) {
		n = read(fd, buf + got, want - got);
		if (n <= 0)
			return -1;
		got += n;
	}
	return 0;
}

static int serve(void)
{
	char buf[sizeof(request)];
	int one = 1, c = accept(LISTEN_FD, NULL, NULL);

	if (c < 0)
		return 1;
	setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	while (!read_message(c, buf, sizeof(request) - 1))
		if (write(c, response, sizeof(response) - 1) != sizeof(response) - 1)
			return 1;
	return 0;
}

static int client(long n)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	char buf[sizeof(response)];
	struct timespec t0, t1;
	int fd, one = 1;
	long i;

	if (getsockname(LISTEN_FD, (struct sockaddr *)&a, &len))
		return 1;
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)))
		return 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < n; i++) {
		if (write(fd, request, sizeof(request) - 1) != sizeof(request) - 1 ||
		    read_message(fd, buf, sizeof(response) - 1))
			return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("%.0f\n", n / (t1.tv_sec - t0.tv_sec + (t1.tv_nsec - t0.tv_nsec) / 1e9));
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "server"))
		return serve();
	if (argc >= 3 && !strcmp(argv[1], "client"))
		return client(atol(argv[2]));
	fprintf(stderr, "usage: reqbench server | reqbench client N (listening socket on fd 3)\n");
	return 2;
}
