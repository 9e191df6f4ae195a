/* SPDX-License-Identifier: MIT */
/*
 * Deterministic random numbers for synthetic series in tests and benches: xorshift64*
 * (S. Vigna, "An experimental exploration of Marsaglia's xorshift generators, scrambled",
 * ACM TOMS 42(4), 2016) for uniforms in [0, 1), Box-Muller for standard normals. A seed is
 * any non-zero 64-bit value; the same seed gives the same series on every machine.
 */
#ifndef SW_TEST_GEN_H
#define SW_TEST_GEN_H

#include <math.h>
#include <stdint.h>

struct gen {
	uint64_t s; /* state, non-zero */
};

/* A uniform in [0, 1) with 53 random bits. */
static inline double gen_unit(struct gen *g)
{
	g->s ^= g->s >> 12;
	g->s ^= g->s << 25;
	g->s ^= g->s >> 27;
	return ((g->s * 0x2545f4914f6cdd1dull) >> 11) * (1.0 / 9007199254740992.0);
}

/* A standard normal (Box-Muller, cosine branch; u is kept off 0). */
static inline double gen_normal(struct gen *g)
{
	double u = gen_unit(g), v = gen_unit(g);

	return sqrt(-2.0 * log(u + 1e-300)) * cos(2.0 * M_PI * v);
}

/* A Poisson count of mean lambda (Knuth's product method under 30, else normal approximation). */
static inline double gen_poisson(struct gen *g, double lambda)
{
	double l, p = 1.0;
	int k = 0;

	if (lambda >= 30.0)
		return fmax(0.0, round(lambda + sqrt(lambda) * gen_normal(g)));
	l = exp(-lambda);
	do {
		k++;
		p *= gen_unit(g);
	} while (p > l);
	return k - 1;
}

#endif /* SW_TEST_GEN_H */
