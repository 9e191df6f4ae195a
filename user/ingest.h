/* SPDX-License-Identifier: MIT */
/*
 * ingest: the StatsD listener. A thread of its own reads datagrams from a UDP socket on loopback
 * and a Unix datagram socket, finds the agent of each sender, and gathers the lines into the
 * tick's batch (apps.h); the tick takes the batch with ingest__take(), a pointer swap under a
 * mutex, so the listener never waits on a tick and the tick never waits on the network.
 *
 * Attribution, never from what the app says: on the Unix socket the sender's pid comes from the
 * kernel (SO_PASSCRED, SCM_CREDENTIALS) and maps to its agent slot through the kernel's `tasks`
 * map, the same record every BPF program reads, cached per pid for 1 s. On UDP the source port
 * is looked up in `udp_owners`, where the kernel recorded the agent slot of the tracked task that
 * sent the datagram before delivering it (ingest.bpf.c), cached per port for 100 ms. Where that
 * hook cannot run, the process holding the port is found from /proc/net/udp (the socket's inode)
 * and the /proc/PID/fd links, cached per port for 5 s. A sender with no entry belongs to no
 * agent.
 */
#ifndef SW_INGEST_H
#define SW_INGEST_H

#include <linux/types.h>
#include <stddef.h>
#include <sys/types.h>

#include "apps.h"

struct ingest_params {
	const char *udp; /* "ADDR:PORT" on loopback, NULL or "" for none */
	const char *socket; /* Unix datagram socket path, NULL or "" for none */
	int tasks_fd; /* the `tasks` task-storage map; -1: every sender is of no agent */
	int udp_owners_fd; /* the `udp_owners` map (kernel__udp_owners_fd()); -1: use /proc */
	const struct apps_params *apps; /* tags kept, agent tag trusted; must outlive ingest */
};

/* Datagrams received by transport, and what the listener counted. */
struct ingest_stats {
	__u64 datagrams[2]; /* [0] UDP, [1] Unix socket */
	__u64 malformed; /* lines that did not parse */
	__u64 oversized; /* datagrams longer than STATSD_DATAGRAM_MAX, dropped whole */
	__u64 by[APPS_BY_MAX]; /* datagrams by how their sender's agent was found */
};

struct ingest;

/*
 * ingest__start - binds the sockets and starts the listener thread. The Unix socket's directory
 * is created (0755) and a stale socket file replaced; the socket is writable by every local
 * user (mode 0666), as agents run as any user; a socket file another process listens on is left
 * alone. A transport that cannot bind (address or path in use, not a loopback address,
 * directory not writable) is logged as a warning and left off. Returns NULL with a one-line
 * reason in err when neither transport is up or the thread cannot start.
 */
struct ingest *ingest__start(const struct ingest_params *p, char *err, size_t errlen);

/* Stops the thread, closes the sockets and removes the socket file. NULL is ignored. */
void ingest__stop(struct ingest *g);

/*
 * ingest__take - the lines gathered since the last call, as a batch the caller owns until it
 * gives it back with ingest__recycle() (before the next take). Never blocks for longer than the
 * listener takes to add one burst of datagrams. NULL on out of memory.
 */
struct apps_batch *ingest__take(struct ingest *g);
void ingest__recycle(struct ingest *g, struct apps_batch *b);

void ingest__stats(struct ingest *g, struct ingest_stats *st);

/*
 * ingest__udp_port_owner - the fallback where the kernel does not record UDP senders: a process
 * holding the UDP socket bound to local port `port` (IPv4 or IPv6) in this network namespace,
 * found from the socket's inode in /proc/net/udp{,6} and the /proc/PID/fd links; 0 if none is
 * found (no such socket, or its holder's descriptors unreadable without CAP_SYS_PTRACE). Reads
 * every process's descriptor table: milliseconds on a busy host; the listener caches its answer
 * for 5 s and calls it at most 20 times a second.
 */
pid_t ingest__udp_port_owner(int port);

/* The UDP port bound (useful with port 0), or 0 when UDP is off. */
int ingest__udp_port(const struct ingest *g);

#endif
