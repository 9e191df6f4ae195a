/* SPDX-License-Identifier: MIT */
/*
 * weights: routing weights of a pool's instances, for a load balancer in front of the pool.
 * Weights are shares of the traffic: each in [0, 1], summing to 1 over the pool (all 0 when
 * no instance may take traffic). An instance whose breaker is open gets 0 whatever the
 * algorithm; the others share the traffic by the pool's algorithm:
 *
 *   round_robin        equal shares
 *   weighted           in proportion to each instance's configured weight (>= 0; 1 when none)
 *   least_connections  in proportion to 1 / (1 + live TCP connections): the instance holding
 *                      fewest connections gets the most new ones, as a least-connections
 *                      balancer would over a tick
 *   quality            in proportion to success ratio / mean latency (s), times the
 *                      app-reported quality (0..1) where there is one: the instances that
 *                      answer most often and fastest get the most. An instance with no
 *                      request seen yet gets the mean score of the others (all equal when none
 *                      has one); the latency is taken as at least 1 ms. When every instance
 *                      whose breaker is closed scores 0 (all failing, or every app quality at
 *                      0), they share the traffic equally rather than all getting 0.
 *
 * Pure: no I/O, no allocation.
 */
#ifndef SW_WEIGHTS_H
#define SW_WEIGHTS_H

#include <stdbool.h>
#include <stddef.h>

enum weights_algorithm {
	WEIGHTS_QUALITY, /* the default */
	WEIGHTS_ROUND_ROBIN,
	WEIGHTS_WEIGHTED,
	WEIGHTS_LEAST_CONNECTIONS,
	WEIGHTS_ALGORITHMS,
};

/* "quality", "round_robin", "weighted", "least_connections" */
extern const char *const weights_algorithm_names[WEIGHTS_ALGORITHMS];

/* What the algorithms read of one instance. */
struct weights_in {
	bool open; /* its breaker is open: weight 0 */
	double configured; /* weighted: its configured weight, >= 0; NAN: none (1) */
	double connections; /* least_connections: live TCP connections, >= 0 */
	double success_ratio; /* quality: share of requests answered, [0, 1]; NAN: none seen */
	double latency_s; /* quality: mean request latency, s; NAN: none seen */
	double quality; /* quality: app-reported quality, [0, 1]; NAN: none reported */
};

/*
 * weights__algorithm - the algorithm named name into *out. Returns 0, or -EINVAL for a name
 * that is none of the above.
 */
int weights__algorithm(const char *name, enum weights_algorithm *out);

/*
 * weights__compute - the weights of n instances in[0..n) by algorithm a into out[0..n), in
 * [0, 1], summing to 1 unless all are 0. Returns 0, or -EINVAL for an unknown algorithm.
 */
int weights__compute(enum weights_algorithm a, const struct weights_in *in, size_t n, double *out);

#endif
