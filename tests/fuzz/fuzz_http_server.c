// SPDX-License-Identifier: MIT
/*
 * Fuzz target: the HTTP server as a client meets it. An input is what a
 * client sends (request lines, query strings, headers, bodies, several
 * requests in a row); libmicrohttpd parses it and swarmwatch's handler
 * answers, on a socketpair served on this thread. The server must answer
 * with an HTTP response or close, and never crash, leak or hang.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http.h"

#define MAX_REQUEST 16384 /* well inside a socketpair's buffer, so one write takes it */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct http *server;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char reply[1 << 16];
	char err[256];
	ssize_t n;
	size_t got = 0;
	int sv[2];

	if (size > MAX_REQUEST)
		return 0;
	if (!server && !(server = http__start(NULL, 1000000000ULL, err, sizeof(err))))
		abort();
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		abort();
	if (size && write(sv[0], data, size) != (ssize_t)size)
		abort();
	shutdown(sv[0], SHUT_WR);
	/* The peer has said everything: the server must finish with it in bounded rounds. */
	if (http__serve_fd(server, sv[1]) == -ETIMEDOUT)
		abort();
	while (got < sizeof(reply) &&
	       (n = recv(sv[0], reply + got, sizeof(reply) - got, MSG_DONTWAIT)) > 0)
		got += n;
	/* Whatever it wrote starts as an HTTP/1.x response. */
	if (got && (got < 9 || memcmp(reply, "HTTP/1.", 7)))
		abort();
	close(sv[0]);
	return 0;
}
