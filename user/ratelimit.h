/* SPDX-License-Identifier: MIT */
#ifndef SW_RATELIMIT_H
#define SW_RATELIMIT_H

#include <linux/types.h>
#include <stddef.h>

/*
 * A token bucket per client address: each client may send `burst` requests at once, then
 * `rate` per second. The table has a fixed number of slots; when the slots a key may use
 * are all taken, the one idle longest is given to the new key (which starts with a full
 * bucket), so memory stays bounded whatever the number of clients.
 */
struct ratelimit;

/* rate > 0 per second, burst >= 1, slots >= 8 (rounded up to a power of two); NULL: no memory. */
struct ratelimit *ratelimit__new(double rate, double burst, size_t slots);
void ratelimit__free(struct ratelimit *rl);

/*
 * Takes one token for key[0..len) (len <= 16: an IPv4 or IPv6 address) at now_ns, a
 * monotonic time in nanoseconds the caller chooses (tests pass a fake clock). Returns 0
 * when the request may go on, or -EAGAIN with *retry_s the whole seconds (>= 1) until a
 * token is back. Thread-safe.
 */
int ratelimit__take(struct ratelimit *rl, const void *key, size_t len, __u64 now_ns,
		    unsigned *retry_s);

/*
 * Whether key would be refused now, without taking a token: -EAGAIN with *retry_s, or 0
 * (also for a key the table does not hold). Thread-safe.
 */
int ratelimit__peek(struct ratelimit *rl, const void *key, size_t len, __u64 now_ns,
		    unsigned *retry_s);

#endif
