// SPDX-License-Identifier: MIT
/*
 * falseraise: false verdicts per agent-hour of the verdict layer (verdict.c) on healthy series,
 * over many seeds, and which detector raised each one.
 *
 * Usage: falseraise [seeds [ticks [noise]]]: seeds 1 .. seeds (300), ticks at 1 s each per seed
 * (3600), noise "gauss" (the unit test's synthetic agent: Gaussian CPU, latency and errors),
 * "real" (Poisson counts, log-normal latencies, errors as a binomial ratio of a Poisson request
 * count, and a daily drift of +-20 %) or "all" (both, the default). Nothing is faulty, so every
 * raised verdict is false. Prints one line per noise: seeds, agent-hours, raises, raises per
 * agent-hour, seeds with at least one raise, the raises by first detector and signal, and the
 * anomalies the daemon's confirmation would keep (confirmed()). FALSERAISE_VERBOSE=1 lists
 * each raise; FALSERAISE_FOREST_SIGMAS=5 and FALSERAISE_FOREST_THRESHOLD=0.6 set when the
 * forest departs (verdict.h).
 *
 * falseraise drift [seeds [signals [drifting [sigmas]]]]: what the forest catches and what it
 * raises in vain, for any number of signals (12, as the daemon scores, by default). Each seed
 * feeds `signals` Gaussian signals for 1200 ticks, then shifts the first `drifting` of them (6)
 * by `sigmas` of their deviation (4) for 60 ticks. Prints the forest's fires before the drift
 * (false) and the seeds whose drift it caught within the 60 ticks, with the mean delay.
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verdict.h"
#include "../../tests/unit/gen.h"

enum { CPU, LATENCY, ERRORS, NSIG };
static const char *const names[] = {"cpu", "latency", "errors"};
static const uint32_t kinds[] = {DETECT_KIND_ANY, DETECT_KIND_LATENCY, DETECT_KIND_RATIO};

/* The unit test's healthy tick: 30 % CPU, 200 ms latency, 1 % errors, Gaussian noise. */
static void gauss(struct gen *g, int t, double *x)
{
	(void)t;
	x[CPU] = 0.3 + 0.02 * gen_normal(g);
	x[LATENCY] = 0.2 + 0.01 * gen_normal(g);
	x[ERRORS] = fmax(0.0, 0.01 + 0.003 * gen_normal(g));
}

/*
 * A healthy tick as counters give it: CPU is busy jiffies of 100 per second (Poisson around
 * 30 % of them), latency the mean of a second's requests (Poisson, 50 a second), each
 * log-normal (median 200 ms, sigma 0.5), errors the share of failed requests (each fails with
 * p = 1 %) over the last 10 s, as the daemon's request window; the load follows a daily cycle
 * of +-20 %.
 */
static void real(struct gen *g, int t, double *x)
{
	static double req[10], fail[10];
	double day = 1.0 + 0.2 * sin(2.0 * M_PI * t / 86400.0), n, sum = 0.0, f = 0.0;
	double wn = 0.0, wf = 0.0;
	int i;

	if (t == 0) {
		memset(req, 0, sizeof(req));
		memset(fail, 0, sizeof(fail));
	}
	x[CPU] = gen_poisson(g, 30.0 * day) / 100.0;
	n = gen_poisson(g, 50.0 * day);
	for (i = 0; i < (int)n; i++) {
		sum += 0.2 * exp(0.5 * gen_normal(g));
		f += gen_unit(g) < 0.01;
	}
	req[t % 10] = n;
	fail[t % 10] = f;
	for (i = 0; i < 10; i++) {
		wn += req[i];
		wf += fail[i];
	}
	x[LATENCY] = n > 0 ? sum / n : NAN;
	x[ERRORS] = wn > 0 ? wf / wn : NAN;
}

/*
 * A model and a verdict for nsig signals of the given kinds, and their parameters in p, with
 * FALSERAISE_FOREST_SIGMAS and FALSERAISE_FOREST_THRESHOLD applied (verdict.h). Returns the
 * model, or NULL after saying why.
 */
static struct verdict_model *setup(struct verdict_params *p, uint32_t nsig, const uint32_t *kind,
				   struct verdict **v)
{
	struct verdict_model *m = malloc(sizeof(*m));

	*v = malloc(sizeof(**v));
	if (!m || !*v) {
		fprintf(stderr, "falseraise: out of memory\n");
		free(m);
		return NULL;
	}
	if (verdict__params_default(p, 1.0, nsig, kind)) {
		fprintf(stderr, "falseraise: bad verdict parameters\n");
		return NULL;
	}
	if (getenv("FALSERAISE_FOREST_SIGMAS"))
		p->forest_sigmas = atof(getenv("FALSERAISE_FOREST_SIGMAS"));
	if (getenv("FALSERAISE_FOREST_THRESHOLD"))
		p->forest_threshold = atof(getenv("FALSERAISE_FOREST_THRESHOLD"));
	return m;
}

/*
 * The daemon's confirmation (anomaly.c, is_own()) without its request evidence and context:
 * a signal's departure is the agent's own once its surprise stayed at or above settle for 3
 * ticks in a row (1 for the forest's), rising for a latency or a ratio. hot[] counts those
 * ticks per signal. Returns whether some departure of v is confirmed.
 */
static bool confirmed(const struct verdict_model *m, const struct verdict *v, uint32_t *hot)
{
	const struct verdict_departure *d;
	const struct detect_result *r;
	uint32_t i;
	bool up;

	for (i = 0; i < NSIG; i++) {
		r = &v->signal[i];
		up = kinds[i] == DETECT_KIND_ANY || r->value > r->baseline;
		hot[i] = r->surprise >= m->p.settle && up ? hot[i] + 1 : 0;
	}
	for (i = 0; i < v->ndeparted; i++) {
		d = &v->departed[i];
		if (d->source != VERDICT_SRC_SIGNAL)
			return true;
		if (hot[d->index] >= (d->detector == VERDICT_BY_FOREST ? 1u : 3u))
			return true;
	}
	return false;
}

static int sweep(const char *noise, void (*tick)(struct gen *, int, double *), int seeds, int ticks)
{
	struct verdict_params p;
	struct verdict *v;
	struct verdict_model *m = setup(&p, NSIG, kinds, &v);
	unsigned long by[VERDICT_BY_EVIDENCE + 1][NSIG] = {{0}};
	unsigned long raises = 0, hit = 0, first_sum = 0, confirms = 0, chit = 0;
	uint32_t hot[NSIG];
	bool counted, seed_confirmed;
	double x[NSIG];
	int s, t, seed_raises, d, i;

	if (!m)
		return 1;
	for (s = 1; s <= seeds; s++) {
		struct gen g = {(uint64_t)s};

		if (verdict__init(m, &p))
			return 1;
		seed_raises = 0;
		seed_confirmed = counted = false;
		memset(hot, 0, sizeof(hot));
		for (t = 0; t < ticks; t++) {
			tick(&g, t, x);
			if (verdict__update(m, t, x, NULL, 0, v))
				return 1;
			if (confirmed(m, v, hot) && !counted) {
				counted = seed_confirmed = true;
				confirms++;
				if (getenv("FALSERAISE_VERBOSE"))
					printf("  seed %d t %d: confirmed, %s %s\n", s, t,
					       names[v->departed[0].index],
					       verdict__detector_name(v->departed[0].detector));
			}
			if (!v->anomaly)
				counted = false;
			if (!v->raised)
				continue;
			if (!seed_raises)
				first_sum += t;
			seed_raises++;
			raises++;
			if (getenv("FALSERAISE_VERBOSE"))
				printf("  seed %d t %d: %s %s score %.3f forest %.3f\n", s, t,
				       names[v->departed[0].index],
				       verdict__detector_name(v->departed[0].detector),
				       v->departed[0].peak, v->forest.smoothed);
			by[v->departed[0].detector][v->departed[0].index]++;
		}
		hit += seed_raises > 0;
		chit += seed_confirmed;
	}
	printf("%s: %d seeds x %d s = %.1f agent-hours, %lu false raises (%.3f per agent-hour), "
	       "%lu seeds with one or more (mean first at %.0f s)\n",
	       noise, seeds, ticks, seeds * ticks / 3600.0, raises,
	       raises / (seeds * ticks / 3600.0), hit, hit ? (double)first_sum / hit : 0.0);
	for (d = 0; d <= VERDICT_BY_EVIDENCE; d++)
		for (i = 0; i < NSIG; i++)
			if (by[d][i])
				printf("  %-8s %-8s %lu\n", verdict__detector_name(d), names[i],
				       by[d][i]);
	printf("  confirmed as the daemon does (3 ticks hot, rising): %lu (%.3f per agent-hour), "
	       "%lu seeds\n",
	       confirms, confirms / (seeds * ticks / 3600.0), chit);
	free(m);
	free(v);
	return 0;
}

/* The forest alone, on a joint drift of `drifting` of `nsig` Gaussian signals (see the head). */
static int drift(int seeds, uint32_t nsig, uint32_t drifting, double sigmas)
{
	enum { HEALTHY = 1200, AFTER = 60 };
	static const uint32_t any[VERDICT_SIGNALS_MAX]; /* DETECT_KIND_ANY is 0 */
	struct verdict_params p;
	struct verdict *v;
	struct verdict_model *m = setup(&p, nsig, any, &v);
	uint32_t i;
	unsigned long before = 0, caught = 0, delay = 0;
	double x[VERDICT_SIGNALS_MAX];
	int s, t, first;
	bool fired;

	if (!m)
		return 1;
	for (s = 1; s <= seeds; s++) {
		struct gen g = {(uint64_t)s};

		if (verdict__init(m, &p))
			return 1;
		first = -1;
		fired = false;
		for (t = 0; t < HEALTHY + AFTER; t++) {
			for (i = 0; i < nsig; i++)
				x[i] = 0.3 + 0.02 * gen_normal(&g) +
				       (t >= HEALTHY && i < drifting ? sigmas * 0.02 : 0.0);
			if (verdict__update(m, t, x, NULL, 0, v))
				return 1;
			if (t < HEALTHY && v->forest.active && !fired) {
				before++;
				fired = true;
			}
			if (!v->forest.active)
				fired = false;
			if (t >= HEALTHY && v->forest.active && first < 0)
				first = t - HEALTHY;
		}
		if (first >= 0) {
			caught++;
			delay += first;
		}
	}
	printf("drift: %d seeds, %u signals, %u drifting by %.1f sigma: forest fires before the "
	       "drift %lu (%.3f per agent-hour), caught %lu of %d (mean delay %.1f ticks)\n",
	       seeds, nsig, drifting, sigmas, before, before / (seeds * HEALTHY / 3600.0), caught,
	       seeds, caught ? (double)delay / caught : 0.0);
	free(m);
	free(v);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "drift")) {
		int seeds = argc > 2 ? atoi(argv[2]) : 30, nsig = argc > 3 ? atoi(argv[3]) : 12;
		int drifting = argc > 4 ? atoi(argv[4]) : 6;
		double sigmas = argc > 5 ? atof(argv[5]) : 4.0;

		if (seeds < 1 || nsig < 1 || nsig > VERDICT_SIGNALS_MAX || drifting < 0 ||
		    drifting > nsig || !(sigmas >= 0.0)) {
			fprintf(stderr,
				"falseraise: drift [seeds [signals (1-%d) [drifting [sigmas]]]], "
				"e.g. falseraise drift 30 12 6 4\n",
				VERDICT_SIGNALS_MAX);
			return 2;
		}
		return drift(seeds, (uint32_t)nsig, (uint32_t)drifting, sigmas);
	}

	int seeds = argc > 1 ? atoi(argv[1]) : 300, ticks = argc > 2 ? atoi(argv[2]) : 3600;
	const char *noise = argc > 3 ? argv[3] : "all";
	int err = 0;

	if (seeds < 1 || ticks < 1) {
		fprintf(stderr, "falseraise: seeds and ticks must be positive, e.g. falseraise 300 "
				"3600 all\n");
		return 2;
	}
	if (!strcmp(noise, "gauss") || !strcmp(noise, "all"))
		err |= sweep("gauss", gauss, seeds, ticks);
	if (!strcmp(noise, "real") || !strcmp(noise, "all"))
		err |= sweep("real", real, seeds, ticks);
	return err;
}
