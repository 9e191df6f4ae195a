// SPDX-License-Identifier: MIT
/*
 * The StatsD listener's fallback for UDP senders where the kernel does not record them: the
 * process holding a UDP port, found through /proc, for IPv4 and IPv6 sockets, and no one for a
 * port nobody holds.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ingest.h"

/* A UDP socket bound to an ephemeral port on the loopback of family; its port in *port. */
static int bound(int family, int *port)
{
	struct sockaddr_storage a = {.ss_family = family};
	socklen_t len = family == AF_INET ? sizeof(struct sockaddr_in)
					  : sizeof(struct sockaddr_in6);
	int fd = socket(family, SOCK_DGRAM, 0);

	if (family == AF_INET)
		((struct sockaddr_in *)&a)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	else
		((struct sockaddr_in6 *)&a)->sin6_addr = in6addr_loopback;
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, len) ||
	    getsockname(fd, (struct sockaddr *)&a, &len)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&a)->sin_port
					: ((struct sockaddr_in6 *)&a)->sin6_port);
	return fd;
}

static void test_owner_ipv4(void **state)
{
	int port = 0, fd = bound(AF_INET, &port);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(ingest__udp_port_owner(port), getpid());
	close(fd);
}

static void test_owner_ipv6(void **state)
{
	int port = 0, fd = bound(AF_INET6, &port);

	(void)state;
	if (fd < 0)
		skip(); /* no IPv6 loopback here */
	assert_int_equal(ingest__udp_port_owner(port), getpid());
	close(fd);
}

static void test_no_owner(void **state)
{
	int port = 0, fd = bound(AF_INET, &port);

	(void)state;
	assert_true(fd >= 0);
	close(fd); /* the port is free again: no socket holds it */
	assert_int_equal(ingest__udp_port_owner(port), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_owner_ipv4),
		cmocka_unit_test(test_owner_ipv6),
		cmocka_unit_test(test_no_owner),
	};

	return cmocka_run_group_tests_name("ingest", tests, NULL, NULL);
}
