// SPDX-License-Identifier: MIT
/*
 * The scaler's forecast (forecast.h, struct forecast_track) on a fake clock: the damped
 * trend's interval against its definition, a slow ramp on which `forecast(x, 1m) > T with
 * confidence > 0.7` holds before x itself crosses T, flat noisy series on which it never holds,
 * a rate still filling its window at the start, and the save/restore round trip.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert.h"
#include "forecast.h"

#define T0 1764529200.0 /* 2025-11-30T19:00:00Z, the fake clock's start */
#define WINDOW 10 /* s: the rate's window, as alerts.window */

/* A small deterministic generator (Knuth's MMIX LCG), so each series is the same every run. */
static double uniform(uint64_t *s)
{
	*s = *s * 6364136223846793005ull + 1442695040888963407ull;
	return ((*s >> 11) + 0.5) / 9007199254740992.0;
}

/* A Poisson count of mean l (Knuth's multiplication method; l is small here). */
static int poisson(uint64_t *s, double l)
{
	double L = exp(-l), p = 1;
	int k = 0;

	for (;;) {
		p *= uniform(s);
		if (p < L)
			return k;
		k++;
	}
}

/*
 * Requests per second of a pool, measured as the daemon does: a count of requests over the last
 * WINDOW seconds, divided by WINDOW. rate(t) gives the true mean at second t.
 */
struct sim {
	uint64_t seed;
	int counts[WINDOW];
	int t;
};

static double sim_next(struct sim *m, double mean)
{
	int i, sum = 0;

	m->counts[m->t++ % WINDOW] = poisson(&m->seed, mean);
	for (i = 0; i < WINDOW && i < m->t; i++)
		sum += m->counts[i];
	return (double)sum / WINDOW;
}

struct look {
	const struct forecast_track *tr;
};

static int lookup(void *ctx, const struct alert_query *q, const char *agent,
		  struct alert_value *out)
{
	const struct look *l = ctx;

	(void)agent;
	if (q->fn != ALERT_FN_FORECAST)
		return -ENOENT;
	return forecast_track__predict(l->tr, q->window_ms / 1e3, &out->value, &out->sd) ? -ENOENT
											 : 0;
}

/* Whether cond holds for the track now. */
static bool holds(const struct alert_cond *c, const struct forecast_track *tr)
{
	struct look l = {tr};

	return alert__cond_eval(c, lookup, &l, "pool", NULL, NULL, NULL);
}

static void parse(const char *text, struct alert_cond *c)
{
	char err[256] = "";

	if (alert__parse_cond(text, c, err, sizeof(err)))
		fail_msg("%s: %s", text, err);
}

/* The AAdN variance against its definition: 1 + sum over j < h of (alpha + beta phi_j)^2. */
static void test_damped_sd(void **state)
{
	struct forecast *f = malloc(sizeof(*f));
	struct forecast_params p;
	double sd, sum, phij, c, a, b;
	uint32_t h, j;
	int i;

	(void)state;
	assert_non_null(f);
	assert_int_equal(forecast__params_default(&p, 0), 0);
	p.alpha = 0.5;
	p.beta = 0.3;
	p.phi = 0.98f;
	assert_int_equal(forecast__init(f, &p), 0);
	for (i = 0; i < 50; i++)
		assert_int_equal(forecast__update(f, 1.0 + (i % 3) * 0.5), 0);
	a = p.alpha;
	b = p.alpha * p.beta;
	for (h = 1; h <= 60; h++) {
		sum = 1.0;
		phij = 0.0;
		for (j = 1; j < h; j++) {
			phij += pow((double)p.phi, j);
			c = a + b * phij;
			sum += c * c;
		}
		assert_int_equal(forecast__sd(f, h, &sd), 0);
		assert_true(fabs(sd - sqrt(f->var * sum)) <= 1e-9 * sqrt(f->var * sum) + 1e-12);
	}
	/* A season with a damped trend is refused. */
	assert_int_equal(forecast__params_default(&p, 12), 0);
	p.phi = 0.9f;
	assert_int_equal(forecast__init(f, &p), -EINVAL);
	free(f);
}

/*
 * A pool's rate at 1 req/s for 60 s, then a ramp to 5 req/s over 120 s (agentsim's slow-ramp
 * shape), ticks of 1 s. For each seed: the first tick the predictive rule holds, and the first
 * at which the measured rate itself is above the threshold; the first must come before the
 * second on at least 8 of 10 seeds (36 of the first 40), and never before the ramp starts.
 */
static void test_ramp_leads(void **state)
{
	struct forecast_track *tr = malloc(sizeof(*tr));
	struct alert_cond c;
	int seed, t, lead_sum = 0, leads = 0;

	(void)state;
	assert_non_null(tr);
	parse("forecast(rate, 1m) > 4 with confidence > 0.7", &c);
	for (seed = 1; seed <= 10; seed++) {
		struct sim m = {.seed = (uint64_t)seed * 7919};
		int predicted = -1, crossed = -1;

		assert_int_equal(forecast_track__init(tr, 60, 1, WINDOW), 0);
		for (t = 0; t < 240 && crossed < 0; t++) {
			double mean = t < 60 ? 1.0 : t < 180 ? 1.0 + 4.0 * (t - 60) / 120 : 5.0;
			double x = sim_next(&m, mean);

			assert_int_equal(forecast_track__sample(tr, T0 + t, x), 0);
			if (predicted < 0 && holds(&c, tr))
				predicted = t;
			if (x > 4)
				crossed = t;
		}
		print_message("seed %d: forecast rule held at %d s, the rate crossed at %d s\n",
			      seed, predicted - 60, crossed - 60);
		assert_true(crossed > 60);
		/* Never before the ramp: that would be a false alarm. */
		assert_true(predicted < 0 || predicted >= 60);
		if (predicted >= 60 && predicted < crossed) {
			leads++;
			lead_sum += crossed - predicted;
		}
	}
	print_message("led on %d of 10 seeds, by %.1f s on average\n", leads,
		      leads ? (double)lead_sum / leads : 0.0);
	/* A forecast is a probability: on a noisy ramp it may miss now and then, not often. */
	assert_true(leads >= 8);
	free(tr);
}

/* Flat series at 1 req/s for 30 minutes: the rule never holds, for any seed. */
static void test_flat_quiet(void **state)
{
	struct forecast_track *tr = malloc(sizeof(*tr));
	struct alert_cond c4, c10;
	int seed, t, fired = 0;

	(void)state;
	assert_non_null(tr);
	parse("forecast(rate, 1m) > 4 with confidence > 0.7", &c4);
	parse("forecast(rate, 10m) > 4 with confidence > 0.7", &c10);
	for (seed = 1; seed <= 10; seed++) {
		struct forecast_track *tr10 = malloc(sizeof(*tr10));
		struct sim m = {.seed = (uint64_t)seed * 104729};
		bool ready = false;

		assert_non_null(tr10);
		assert_int_equal(forecast_track__init(tr, 60, 1, WINDOW), 0);
		assert_int_equal(forecast_track__init(tr10, 600, 1, WINDOW), 0);
		for (t = 0; t < 1800; t++) {
			double x = sim_next(&m, 1.0), mean, sd;

			forecast_track__sample(tr, T0 + t, x);
			forecast_track__sample(tr10, T0 + t, x);
			fired += holds(&c4, tr) + holds(&c10, tr10);
			if (!forecast_track__predict(tr10, 600, &mean, &sd))
				ready = true;
		}
		assert_true(ready); /* the 10-minute forecast did answer */
		free(tr10);
	}
	assert_int_equal(fired, 0);
	free(tr);
}

/*
 * A rate that fills its window at the start (0 -> 1 over the first 10 s, then flat): the
 * rise is in the warm-up and is not learned, so no forecast takes it for a trend.
 */
static void test_warmup(void **state)
{
	struct forecast_track *tr = malloc(sizeof(*tr));
	double mean, sd;
	int t;

	(void)state;
	assert_non_null(tr);
	assert_int_equal(forecast_track__init(tr, 60, 1, WINDOW), 0);
	for (t = 0; t < 40; t++) {
		double x = t < WINDOW ? (t + 1.0) / WINDOW : 1.0;

		forecast_track__sample(tr, T0 + t, x);
		if (t < WINDOW + 5 * 5)
			assert_int_equal(forecast_track__predict(tr, 60, &mean, &sd), -ENODATA);
	}
	assert_int_equal(forecast_track__predict(tr, 60, &mean, &sd), 0);
	assert_true(fabs(mean - 1.0) < 1e-9);
	/* Bad input. */
	assert_int_equal(forecast_track__sample(tr, T0 + 50, NAN), -EINVAL);
	assert_int_equal(forecast_track__predict(tr, 0, &mean, &sd), -EINVAL);
	assert_int_equal(forecast_track__init(tr, 0, 1, 0), -EINVAL);
	free(tr);
}

/*
 * Saved and restored, a track forecasts as the one saved, then learns again after a new
 * warm-up; bad blobs are refused.
 */
static void test_save_restore(void **state)
{
	struct forecast_track *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
	size_t len = forecast_track__state_size();
	unsigned char *buf = malloc(len);
	double ma, sa, mb, sb;
	int t;

	(void)state;
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(buf);
	assert_int_equal(forecast_track__init(a, 60, 1, WINDOW), 0);
	for (t = 0; t < 100; t++)
		forecast_track__sample(a, T0 + t, 1.0 + 0.01 * t + 0.1 * (t % 4));
	assert_int_equal(forecast_track__save(a, buf, len), (long)len);
	assert_int_equal(forecast_track__init(b, 60, 1, WINDOW), 0);
	assert_int_equal(forecast_track__restore(b, buf, len), 0);
	assert_int_equal(forecast_track__predict(a, 60, &ma, &sa), 0);
	assert_int_equal(forecast_track__predict(b, 60, &mb, &sb), 0);
	assert_true(ma == mb && sa == sb);
	/* An hour later: the first WINDOW seconds are not learned, then the new level is. */
	for (t = 0; t < WINDOW; t++) {
		forecast_track__sample(b, T0 + 3600 + t, 50.0);
		assert_int_equal(forecast_track__predict(b, 60, &mb, &sb), 0);
		assert_true(mb == ma);
	}
	for (; t < WINDOW + 30; t++)
		forecast_track__sample(b, T0 + 3600 + t, 50.0);
	assert_int_equal(forecast_track__predict(b, 60, &mb, &sb), 0);
	assert_true(mb > 25.0);
	assert_int_equal(forecast_track__restore(b, buf, len - 1), -EBADMSG);
	buf[len / 2] ^= 0x40;
	assert_int_not_equal(forecast_track__restore(b, buf, len), 0);
	free(buf);
	free(a);
	free(b);
}

/*
 * A restored track takes the configuration in force at the restart: the warm-up of its
 * figure's window now (alerts.window grew from 10 to 30 s: nothing is learned for 30 s), and a
 * model learned over steps of another length (the tick grew from 1 to 10 s, beyond the 5 s
 * steps of a 60 s horizon) is refused, not extrapolated in the wrong unit.
 */
static void test_restore_takes_configuration(void **state)
{
	struct forecast_track *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
	size_t len = forecast_track__state_size();
	unsigned char *buf = malloc(len);
	double ma, sa, mb, sb;
	int t;

	(void)state;
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(buf);
	assert_int_equal(forecast_track__init(a, 60, 1, WINDOW), 0);
	for (t = 0; t < 100; t++)
		forecast_track__sample(a, T0 + t, 1.0 + 0.01 * t);
	assert_int_equal(forecast_track__save(a, buf, len), (long)len);
	assert_int_equal(forecast_track__predict(a, 60, &ma, &sa), 0);

	assert_int_equal(forecast_track__init(b, 60, 1, 3 * WINDOW), 0);
	assert_int_equal(forecast_track__restore(b, buf, len), 0);
	for (t = 0; t < 3 * WINDOW; t++) {
		forecast_track__sample(b, T0 + 3600 + t, 50.0);
		assert_int_equal(forecast_track__predict(b, 60, &mb, &sb), 0);
		if (mb != ma)
			fail_msg("%d s after the restart, within the 30 s warm-up: learned %g", t,
				 mb);
	}

	assert_int_equal(forecast_track__init(b, 60, 10, WINDOW), 0);
	assert_int_equal(forecast_track__restore(b, buf, len), -ESTALE);
	assert_int_equal(forecast_track__predict(b, 60, &mb, &sb), -ENODATA);
	free(buf);
	free(a);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_damped_sd),
		cmocka_unit_test(test_ramp_leads),
		cmocka_unit_test(test_flat_quiet),
		cmocka_unit_test(test_warmup),
		cmocka_unit_test(test_save_restore),
		cmocka_unit_test(test_restore_takes_configuration),
	};

	return cmocka_run_group_tests_name("forecast", tests, NULL, NULL);
}
