// SPDX-License-Identifier: MIT
/*
 * detect_speed: samples per second of the univariate ensemble on one core, and the cost and
 * memory of one agent's verdict model (12 signals, Isolation Forest, event rules).
 *
 * Feeds synthetic series (daily cycle, noise, occasional spikes) through detect__update() and
 * verdict__update() and reports the rates; the series are generated before timing so only the
 * detectors are measured. Times are the thread's CPU time.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "detect.h"
#include "verdict.h"

#define SAMPLES 4000000u
/* Ticks of the verdict benchmark (12 signals each). */
#define TICKS 200000u

/*
 * CPU time of this thread: on a shared machine the wall clock also counts the time other
 * processes held the core, which is not the detector's cost.
 */
static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double sample(uint64_t *s, uint32_t i)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return 100.0 + 20.0 * sin(2.0 * M_PI * i / 288.0) + (double)(*s % 1000) / 100.0 +
	       (i % 9973 == 0 ? 80.0 : 0.0);
}

static int bench_ensemble(void)
{
	struct detect_ensemble *d = malloc(sizeof(*d));
	double *x = malloc(SAMPLES * sizeof(*x)), t0, t1, sum = 0.0;
	struct detect_params p;
	struct detect_result r;
	uint64_t s = 88172645463325252ull;
	uint32_t i, alarms = 0;
	int ret = 1;

	if (!d || !x) {
		fprintf(stderr, "detect_speed: out of memory\n");
		goto out;
	}
	for (i = 0; i < SAMPLES; i++)
		x[i] = sample(&s, i);
	if (detect__params_default(&p, 300.0) || detect__init(d, &p)) {
		fprintf(stderr, "detect_speed: cannot set up the detector\n");
		goto out;
	}
	t0 = now();
	for (i = 0; i < SAMPLES; i++) {
		detect__update(d, i * 300.0, x[i], &r);
		sum += r.score;
		alarms += r.anomaly;
	}
	t1 = now();
	printf("ensemble: %u samples in %.3f s of CPU = %.2f M samples/s per core "
	       "(%zu bytes of state per series, %u alarms, checksum %.3f)\n",
	       SAMPLES, t1 - t0, SAMPLES / (t1 - t0) / 1e6, sizeof(*d), alarms, sum);
	ret = 0;
out:
	free(x);
	free(d);
	return ret;
}

static int bench_verdict(void)
{
	uint32_t kinds[VERDICT_SIGNALS_MAX], i, j, raised = 0;
	struct verdict_model *m = malloc(sizeof(*m));
	double *x = malloc((size_t)TICKS * VERDICT_SIGNALS_MAX * sizeof(*x)), t0, t1;
	struct events_delta ev = {0};
	struct verdict_params p;
	struct verdict v;
	uint64_t s = 1442695040888963407ull;
	int ret = 1;

	if (!m || !x) {
		fprintf(stderr, "detect_speed: out of memory\n");
		goto out;
	}
	for (j = 0; j < VERDICT_SIGNALS_MAX; j++)
		kinds[j] = j % DETECT_KIND_COUNT;
	for (i = 0; i < TICKS; i++)
		for (j = 0; j < VERDICT_SIGNALS_MAX; j++)
			x[(size_t)i * VERDICT_SIGNALS_MAX + j] = sample(&s, i + 97 * j) / (j + 1);
	if (verdict__params_default(&p, 1.0, VERDICT_SIGNALS_MAX, kinds) || verdict__init(m, &p)) {
		fprintf(stderr, "detect_speed: cannot set up the verdict model\n");
		goto out;
	}
	t0 = now();
	for (i = 0; i < TICKS; i++) {
		ev.exits_error = i % 50000 == 49999 ? 3 : 0;
		verdict__update(m, i, &x[(size_t)i * VERDICT_SIGNALS_MAX], &ev, 0, &v);
		raised += v.raised;
	}
	t1 = now();
	printf("verdict: %u ticks x %u signals in %.3f s of CPU = %.1f us per agent tick, "
	       "%.2f M signal samples/s per core (%zu bytes = %.1f KiB per agent, %u raised)\n",
	       TICKS, VERDICT_SIGNALS_MAX, t1 - t0, (t1 - t0) / TICKS * 1e6,
	       (double)TICKS * VERDICT_SIGNALS_MAX / (t1 - t0) / 1e6, sizeof(*m),
	       sizeof(*m) / 1024.0, raised);
	ret = 0;
out:
	free(x);
	free(m);
	return ret;
}

int main(void)
{
	return bench_ensemble() || bench_verdict();
}
