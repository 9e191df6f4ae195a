/* SPDX-License-Identifier: MIT */
#ifndef SW_SOCKSCAN_H
#define SW_SOCKSCAN_H

#include "identity.h"
#include "kernel.h"

/*
 * Adopts the TCP connections that tracked processes already held when the
 * daemon started, so that they count among the agents' active connections
 * and carry the right role: every established TCP socket of a process with
 * an entry in the `tasks` map, and no owner yet in `socks`, is given the
 * process's agent as owner, marked established and adopted, and counted in
 * `user_opened`. A socket on a port that its network namespace listens on
 * is a server's, any other a client's. A socket several processes share is
 * adopted once. Call it after identity__scan_proc(), with the net
 * collector attached (its close is counted by the kernel). Processes that
 * exit meanwhile are skipped.
 *
 * Then, when every socket could be looked at, it sets each agent's active
 * connection count (opened - closed) to what is open: connections counted
 * open by an earlier run that closed while no daemon ran would otherwise
 * count as active for ever. Returns the number of sockets adopted (at most
 * 65536 per call), or -errno when /proc cannot be read.
 */
int sockscan__adopt(const struct identity_maps *maps, struct kernel *k);

#endif
