// SPDX-License-Identifier: MIT
/*
 * Unit tests of the detectors (detect, iforest, forecast) and of `swarmwatch detect`, on
 * synthetic series whose answers are known.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cmd.h"
#include "detect.h"
#include "forecast.h"
#include "iforest.h"
#include "gen.h"

/* Closeness of doubles, naming the expression and both values when it fails. */
#define assert_near(a, b, tol) check_near((a), (b), (tol), #a, __FILE__, __LINE__)

static void check_near(double a, double b, double tol, const char *what, const char *file, int line)
{
	if (fabs(a - b) <= tol)
		return;
	print_error("%s = %.17g, expected %.17g within %g\n", what, a, b, tol);
	_fail(file, line);
}

/* Sample interval of the synthetic series: five minutes, like most public benchmark data. */
#define INTERVAL 300.0

/* Run of an ensemble over a series: which samples raised an anomaly. */
struct run {
	size_t n;
	uint8_t *flag;
	double *score;
	size_t alarms;
	size_t first; /* index of the first alarm, n when none */
};

/* Score x with the default parameters; mask selects components (0 = the default ensemble). */
static void run_series_mask(const double *x, size_t n, uint32_t mask, struct run *r)
{
	struct detect_ensemble *d = malloc(sizeof(*d));
	struct detect_params p;
	struct detect_result res;
	size_t i;

	assert_non_null(d);
	assert_int_equal(detect__params_default(&p, INTERVAL), 0);
	if (mask)
		p.mask = mask;
	assert_int_equal(detect__init(d, &p), 0);
	r->n = n;
	r->flag = calloc(n, 1);
	r->score = calloc(n, sizeof(double));
	assert_non_null(r->flag);
	assert_non_null(r->score);
	r->alarms = 0;
	r->first = n;
	for (i = 0; i < n; i++) {
		assert_int_equal(detect__update(d, i * INTERVAL, x[i], &res), 0);
		assert_true(res.score >= 0.0 && res.score <= 1.0);
		r->score[i] = res.score;
		if (res.anomaly) {
			r->flag[i] = 1;
			r->alarms++;
			if (r->first == n)
				r->first = i;
		}
	}
	free(d);
}

static void run_series(const double *x, size_t n, struct run *r)
{
	run_series_mask(x, n, 0, r);
}

static void run_free(struct run *r)
{
	free(r->flag);
	free(r->score);
}

/* Alarms raised in [lo, hi). */
static size_t alarms_in(const struct run *r, size_t lo, size_t hi)
{
	size_t i, c = 0;

	for (i = lo; i < hi && i < r->n; i++)
		c += r->flag[i];
	return c;
}

static double *noise_series(size_t n, double level, double sd, uint64_t seed)
{
	struct gen g = {seed};
	double *x = malloc(n * sizeof(*x));
	size_t i;

	assert_non_null(x);
	for (i = 0; i < n; i++)
		x[i] = level + sd * gen_normal(&g);
	return x;
}

static void test_window_stats_match_brute_force(void **state)
{
	struct detect_window *w = malloc(sizeof(*w));
	double x[300], s[300], dev[300], med, mad, q, want_med, want_mad;
	struct gen g = {7};
	size_t i, j, k, n;

	(void)state;
	assert_non_null(w);
	assert_int_equal(detect__window_init(w, 0), -EINVAL);
	assert_int_equal(detect__window_init(w, DETECT_WINDOW_MAX + 1), -EINVAL);
	assert_int_equal(detect__window_init(w, 101), 0);
	assert_int_equal(detect__window_mad(w, &med, &mad), -ENODATA);
	for (i = 0; i < 300; i++) {
		/* Discrete values too, so ties are exercised; the window holds floats. */
		x[i] = (float)(i % 3 ? gen_normal(&g) : floor(4 * gen_unit(&g)));
		assert_int_equal(detect__window_push(w, x[i]), 0);
		n = i + 1 < 101 ? i + 1 : 101;
		for (j = 0; j < n; j++)
			s[j] = x[i + 1 - n + j];
		/* Insertion sort of the reference copy. */
		for (j = 1; j < n; j++)
			for (k = j; k > 0 && s[k - 1] > s[k]; k--) {
				q = s[k];
				s[k] = s[k - 1];
				s[k - 1] = q;
			}
		want_med = n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
		for (j = 0; j < n; j++)
			dev[j] = fabs(s[j] - want_med);
		for (j = 1; j < n; j++)
			for (k = j; k > 0 && dev[k - 1] > dev[k]; k--) {
				q = dev[k];
				dev[k] = dev[k - 1];
				dev[k - 1] = q;
			}
		want_mad = n % 2 ? dev[n / 2] : 0.5 * (dev[n / 2 - 1] + dev[n / 2]);
		assert_int_equal(detect__window_mad(w, &med, &mad), 0);
		assert_near(med, want_med, 1e-12);
		assert_near(mad, want_mad, 1e-12);
		assert_int_equal(detect__window_quantile(w, 0.0, &q), 0);
		assert_near(q, s[0], 0.0);
		assert_int_equal(detect__window_quantile(w, 1.0, &q), 0);
		assert_near(q, s[n - 1], 0.0);
	}
	assert_int_equal(detect__window_quantile(w, 1.5, &q), -EINVAL);
	assert_int_equal(detect__window_push(w, NAN), -EINVAL);
	free(w);
}

static void test_ewma_and_trend_basics(void **state)
{
	struct detect_ewma e;
	struct detect_trend t;
	double z, slope, tstat;
	struct gen g = {3};
	int i;

	(void)state;
	assert_int_equal(detect__ewma_init(&e, 0.0), -EINVAL);
	assert_int_equal(detect__ewma_init(&e, 0.05), 0);
	for (i = 0; i < 2000; i++)
		assert_int_equal(detect__ewma_update(&e, 10.0 + gen_normal(&g), &z), 0);
	assert_near(e.mean, 10.0, 0.3);
	assert_near(sqrt(e.var), 1.0, 0.3);
	assert_int_equal(detect__ewma_update(&e, e.mean + 8.0, &z), 0);
	assert_true(z > 5.0);

	assert_int_equal(detect__trend_init(&t, 2), -EINVAL);
	assert_int_equal(detect__trend_init(&t, 100), 0);
	for (i = 0; i < 1000; i++)
		assert_int_equal(detect__trend_update(&t, 0.5 * i + gen_normal(&g), &slope, &tstat),
				 0);
	assert_near(slope, 0.5, 0.02);
	assert_true(tstat > 50.0);
	/* A flat noisy window has no significant slope. */
	for (i = 0; i < 100; i++)
		assert_int_equal(detect__trend_update(&t, gen_normal(&g), &slope, &tstat), 0);
	assert_true(fabs(tstat) < 4.0);
}

static void test_defaults_follow_interval(void **state)
{
	struct detect_params a, b;
	uint32_t mask;

	(void)state;
	assert_int_equal(detect__params_default(&a, 0.0), -EINVAL);
	assert_int_equal(detect__params_default(&a, 300.0), 0);
	assert_int_equal(detect__params_default(&b, 1.0), 0);
	assert_true(a.window <= DETECT_WINDOW_MAX && b.window <= DETECT_WINDOW_MAX);
	assert_true(a.warmup >= 32 && a.warmup <= a.window);
	assert_int_equal(detect__mask_from_name("ensemble", &mask), 0);
	assert_int_equal(mask, DETECT_MASK_DEFAULT);
	assert_int_equal(detect__mask_from_name("all", &mask), 0);
	assert_int_equal(mask, DETECT_MASK_ALL);
	assert_int_equal(detect__mask_from_name("mad", &mask), 0);
	assert_int_equal(mask, 1u << DETECT_C_MAD);
	assert_int_equal(detect__mask_from_name("nope", &mask), -ENOENT);
}

static void test_step_change(void **state)
{
	size_t n = 3000, at = 1800;
	double *x = noise_series(n, 10.0, 1.0, 11);
	struct run r;
	size_t i;

	(void)state;
	for (i = at; i < n; i++)
		x[i] += 8.0;
	run_series(x, n, &r);
	assert_int_equal(alarms_in(&r, 0, at), 0);
	assert_true(r.first >= at && r.first < at + 6);
	run_free(&r);
	free(x);
}

static void test_spike(void **state)
{
	size_t n = 3000, at = 2000;
	double *x = noise_series(n, 50.0, 2.0, 12);
	struct run r;

	(void)state;
	x[at] += 30.0;
	run_series(x, n, &r);
	assert_int_equal(alarms_in(&r, 0, at), 0);
	assert_int_equal(r.first, at);
	assert_true(r.score[at] >= 0.65);
	run_free(&r);
	free(x);
}

static void test_slow_drift(void **state)
{
	size_t n = 4000, at = 2000;
	double *x = noise_series(n, 100.0, 1.0, 13);
	struct run r;
	size_t i;

	(void)state;
	/* A twentieth of a standard deviation per sample: no single step stands out. */
	for (i = at; i < n; i++)
		x[i] += 0.05 * (i - at);
	run_series(x, n, &r);
	assert_int_equal(alarms_in(&r, 0, at), 0);
	assert_true(r.first > at && r.first < at + 600);
	run_free(&r);
	free(x);
}

static void test_seasonal_with_injected_anomaly(void **state)
{
	size_t n = 288 * 14, at = 288 * 11 + 72, len = 24, i;
	double *x = noise_series(n, 0.0, 0.3, 14);
	struct run r;

	(void)state;
	for (i = 0; i < n; i++)
		x[i] += 50.0 + 10.0 * sin(2.0 * M_PI * i / 288.0);
	/*
	 * Two hours stuck at the daily mean while the cycle is at its peak: every value is inside
	 * the usual range, only the time of day makes it wrong.
	 */
	for (i = at; i < at + len; i++)
		x[i] = 50.0 + 0.3 * sin(i);
	/* Only the seasonal baseline can see this one, so it is tested on its own. */
	run_series_mask(x, n, 1u << DETECT_C_SEASON, &r);
	assert_int_equal(alarms_in(&r, 0, at), 0);
	assert_true(alarms_in(&r, at, at + len) >= 1);
	run_free(&r);
	free(x);
}

/*
 * Noise that is calm at night and loud by day: a night-time excursion that would be ordinary at
 * noon is caught by the seasonal baseline, which reads each time of day's own noise level.
 */
static void test_seasonal_scale_follows_time_of_day(void **state)
{
	size_t n = 288 * 14, at = 288 * 10 + 12, len = 6, i;
	double *x = noise_series(n, 0.0, 1.0, 17), loud;
	struct run r;

	(void)state;
	for (i = 0; i < n; i++) {
		/* Standard deviation 0.2 around midnight, 3 around noon. */
		loud = 0.5 - 0.5 * cos(2.0 * M_PI * (i % 288) / 288.0);
		x[i] = 100.0 + (0.2 + 2.8 * loud) * x[i];
	}
	for (i = at; i < at + len; i++)
		x[i] += 2.5;
	run_series_mask(x, n, 1u << DETECT_C_SEASON, &r);
	assert_int_equal(alarms_in(&r, 0, at), 0);
	assert_true(alarms_in(&r, at, at + len) >= 1);
	run_free(&r);
	free(x);
}

/*
 * A spike on a daily series is one event: what the seasonal bucket learns from it is clipped,
 * so the same time of the following days does not look anomalous against a dragged baseline.
 */
static void test_seasonal_spike_leaves_no_echo(void **state)
{
	size_t n = 288 * 14, at = 288 * 3 + 100, i;
	double *x = noise_series(n, 0.0, 0.5, 18);
	struct run r;

	(void)state;
	for (i = 0; i < n; i++)
		x[i] += 50.0 + 10.0 * sin(2.0 * M_PI * i / 288.0);
	/* Early, while the buckets still learn fast and before they score. */
	x[at] += 40.0;
	run_series_mask(x, n, 1u << DETECT_C_SEASON, &r);
	assert_int_equal(alarms_in(&r, at + 1, n), 0);
	run_free(&r);
	free(x);
}

static void test_flat_series_never_alarms(void **state)
{
	size_t n = 5000, i;
	double *x = malloc(n * sizeof(*x));
	struct run r;

	(void)state;
	assert_non_null(x);
	for (i = 0; i < n; i++)
		x[i] = 42.0;
	run_series(x, n, &r);
	assert_int_equal(r.alarms, 0);
	for (i = 0; i < n; i++)
		assert_near(r.score[i], 0.0, 1e-12);
	run_free(&r);
	free(x);
}

static void test_constant_then_noisy(void **state)
{
	size_t n = 5000, at = 1000, i;
	double *x = noise_series(n, 5.0, 1.0, 15);
	struct run r;

	(void)state;
	for (i = 0; i < at; i++)
		x[i] = 5.0;
	run_series(x, n, &r);
	/* The onset of noise is a change worth one alarm; then the detector must settle. */
	assert_int_equal(alarms_in(&r, 0, at), 0);
	assert_true(alarms_in(&r, at, n) <= 2);
	assert_int_equal(alarms_in(&r, n - 2000, n), 0);
	run_free(&r);
	free(x);
}

/* Continue two ensembles on the same input and compare every result bit for bit. */
static void test_serialization_round_trip(void **state)
{
	struct detect_ensemble *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
	size_t n = 4000, i, size = detect__state_size();
	double *x = noise_series(n, 20.0, 3.0, 16);
	unsigned char *buf = malloc(size);
	struct detect_result ra, rb;
	struct detect_params p;

	(void)state;
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(buf);
	for (i = 0; i < n; i++)
		x[i] += 5.0 * sin(2.0 * M_PI * i / 288.0) + (i % 997 == 0 ? 25.0 : 0.0);
	assert_int_equal(detect__params_default(&p, INTERVAL), 0);
	assert_int_equal(detect__init(a, &p), 0);
	for (i = 0; i < 2500; i++)
		assert_int_equal(detect__update(a, i * INTERVAL, x[i], &ra), 0);
	assert_int_equal(detect__save(a, buf, size - 1), -ENOSPC);
	assert_int_equal(detect__save(a, buf, size), (long)size);
	memset(b, 0xa5, sizeof(*b));
	assert_int_equal(detect__restore(b, buf, size), 0);
	for (i = 2500; i < n; i++) {
		assert_int_equal(detect__update(a, i * INTERVAL, x[i], &ra), 0);
		assert_int_equal(detect__update(b, i * INTERVAL, x[i], &rb), 0);
		assert_memory_equal(&ra, &rb, sizeof(ra));
	}
	/* Any flipped byte is caught; a short buffer too. */
	buf[size / 2] ^= 1;
	assert_int_equal(detect__restore(b, buf, size), -EBADMSG);
	buf[size / 2] ^= 1;
	assert_int_equal(detect__restore(b, buf, size - 1), -EBADMSG);
	free(buf);
	free(x);
	free(a);
	free(b);
}

static void test_iforest_isolates_planted_outliers(void **state)
{
	struct iforest *f = malloc(sizeof(*f));
	struct iforest_params p;
	struct gen g = {21};
	double pt[2], s, worst_inlier = 0.0, best_outlier = 1.0;
	static const double outliers[][2] = {{6, 6}, {-7, 1}, {0, 8}, {5, -6}};
	size_t i;

	(void)state;
	assert_non_null(f);
	assert_int_equal(iforest__params_default(&p, 0), -EINVAL);
	assert_int_equal(iforest__params_default(&p, 2), 0);
	assert_int_equal(iforest__init(f, &p), 0);
	assert_int_equal(iforest__score(f, pt, &s), -ENODATA);
	for (i = 0; i < 1500; i++) {
		pt[0] = gen_normal(&g);
		pt[1] = 3.0 + 0.5 * gen_normal(&g);
		assert_int_equal(iforest__push(f, pt), 0);
	}
	for (i = 0; i < 4; i++) {
		assert_int_equal(iforest__score(f, outliers[i], &s), 0);
		best_outlier = fmin(best_outlier, s);
	}
	/* Inliers near the centre of the cloud. */
	for (i = 0; i < 200; i++) {
		pt[0] = 0.5 * gen_normal(&g);
		pt[1] = 3.0 + 0.25 * gen_normal(&g);
		assert_int_equal(iforest__score(f, pt, &s), 0);
		worst_inlier = fmax(worst_inlier, s);
	}
	/* 32 trees of 64 points: a noisier estimate than the paper's 100 of 256, same ordering. */
	assert_true(best_outlier > 0.6);
	assert_true(worst_inlier < 0.55);
	assert_true(best_outlier > worst_inlier);
	free(f);
}

/* Fills f's window with standard normal points, then trains it. */
static void fill_normal(struct iforest *f, struct gen *g)
{
	double pt[IFOREST_DIM_MAX];
	uint32_t i, j;

	for (i = 0; i < f->p.window; i++) {
		for (j = 0; j < f->p.dim; j++)
			pt[j] = gen_normal(g);
		assert_int_equal(iforest__push(f, pt), 0);
	}
	assert_int_equal(iforest__train(f), 0);
}

/*
 * Each training calibrates the forest on its window: score_mean and score_sd are the mean and
 * deviation of the window's scores, recomputed here from the scores themselves; with smooth 3
 * they describe means of 3 consecutive scores, whose deviation on independent points is about
 * 1/sqrt(3) of a single score's. smooth outside 1 .. IFOREST_SMOOTH_MAX is refused.
 */
static void test_iforest_calibration(void **state)
{
	struct iforest *f = malloc(sizeof(*f));
	struct iforest_params p;
	struct gen g = {24};
	double x[3], s, sum = 0.0, ss = 0.0, mean, sd1;
	uint32_t i, j;

	(void)state;
	assert_non_null(f);
	assert_int_equal(iforest__params_default(&p, 3), 0);
	assert_int_equal(p.smooth, 1);
	p.smooth = 0;
	assert_int_equal(iforest__init(f, &p), -EINVAL);
	p.smooth = IFOREST_SMOOTH_MAX + 1;
	assert_int_equal(iforest__init(f, &p), -EINVAL);
	p.smooth = 1;
	assert_int_equal(iforest__init(f, &p), 0);
	fill_normal(f, &g);
	for (i = 0; i < f->held; i++) {
		for (j = 0; j < 3; j++)
			x[j] = f->window[i][j];
		assert_int_equal(iforest__score(f, x, &s), 0);
		sum += s;
		ss += s * s;
	}
	mean = sum / f->held;
	assert_near(f->score_mean, mean, 1e-12);
	assert_near(f->score_sd, sqrt(ss / f->held - mean * mean), 1e-9);
	assert_true(f->score_mean > 0.4 && f->score_mean < 0.55 && f->score_sd > 0.01);
	sd1 = f->score_sd;

	p.smooth = 3;
	assert_int_equal(iforest__init(f, &p), 0);
	fill_normal(f, &g);
	assert_near(f->score_sd, sd1 / sqrt(3.0), 0.35 * sd1 / sqrt(3.0));
	free(f);
}

static void test_iforest_path_length_matches_c(void **state)
{
	struct iforest *f = malloc(sizeof(*f));
	struct iforest_params p;
	struct gen g = {22};
	double pt[2], h, sum = 0.0, *pts;
	size_t i;

	(void)state;
	assert_near(iforest__c(1), 0.0, 0.0);
	assert_near(iforest__c(2), 1.0, 0.0);
	assert_near(iforest__c(256), 10.2448, 1e-3);
	assert_non_null(f);
	/* No height limit: the mean depth of the training points is c(psi) in expectation. */
	assert_int_equal(iforest__params_default(&p, 2), 0);
	p.window = p.psi;
	p.max_depth = 30;
	assert_int_equal(iforest__init(f, &p), 0);
	pts = malloc(p.psi * 2 * sizeof(double));
	assert_non_null(pts);
	for (i = 0; i < p.psi; i++) {
		pts[2 * i] = gen_unit(&g);
		pts[2 * i + 1] = gen_unit(&g);
		assert_int_equal(iforest__push(f, &pts[2 * i]), 0);
	}
	for (i = 0; i < p.psi; i++) {
		pt[0] = pts[2 * i];
		pt[1] = pts[2 * i + 1];
		assert_int_equal(iforest__path_length(f, pt, &h), 0);
		sum += h;
	}
	assert_near(sum / p.psi, iforest__c(p.psi), 0.1 * iforest__c(p.psi));
	free(pts);
	free(f);
}

static void test_iforest_round_trip(void **state)
{
	struct iforest *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
	size_t size = iforest__state_size(), i;
	unsigned char *buf = malloc(size);
	struct iforest_params p;
	struct gen g = {23};
	double pt[3], sa, sb;

	(void)state;
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(buf);
	assert_int_equal(iforest__params_default(&p, 3), 0);
	p.window = 256;
	p.retrain = 64;
	assert_int_equal(iforest__init(a, &p), 0);
	for (i = 0; i < 700; i++) {
		pt[0] = gen_normal(&g);
		pt[1] = gen_normal(&g);
		pt[2] = gen_normal(&g);
		assert_int_equal(iforest__push(a, pt), 0);
	}
	assert_int_equal(iforest__save(a, buf, size), (long)size);
	assert_int_equal(iforest__restore(b, buf, size), 0);
	/* Both retrain on the same schedule with the same generator state. */
	for (i = 0; i < 300; i++) {
		pt[0] = gen_normal(&g);
		pt[1] = gen_normal(&g);
		pt[2] = 3.0 * gen_normal(&g);
		assert_int_equal(iforest__push(a, pt), 0);
		assert_int_equal(iforest__push(b, pt), 0);
		assert_int_equal(iforest__score(a, pt, &sa), 0);
		assert_int_equal(iforest__score(b, pt, &sb), 0);
		assert_memory_equal(&sa, &sb, sizeof(sa));
	}
	buf[100] ^= 0x10;
	assert_int_equal(iforest__restore(b, buf, size), -EBADMSG);
	free(buf);
	free(a);
	free(b);
}

static void test_holt_winters_recovers_trend_and_season(void **state)
{
	struct forecast *f = malloc(sizeof(*f));
	struct forecast_params p;
	struct gen g = {31};
	size_t t, m = 24, covered = 0, trials = 0;
	double y, mean, lo, hi, want;

	(void)state;
	assert_non_null(f);
	assert_int_equal(forecast__params_default(&p, 1), -EINVAL);
	assert_int_equal(forecast__params_default(&p, m), 0);
	assert_int_equal(forecast__init(f, &p), 0);
	assert_int_equal(forecast__predict(f, 1, &mean, &lo, &hi), -ENODATA);
	for (t = 0; t < 2400; t++) {
		y = 100.0 + 0.5 * t + 10.0 * sin(2.0 * M_PI * t / m) + gen_normal(&g);
		assert_int_equal(forecast__update(f, y), 0);
	}
	assert_near(f->trend, 0.5, 0.05);
	for (t = 0; t < m; t++) {
		/* Seasonal offset of phase t, against the generator's sine. */
		want = 10.0 * sin(2.0 * M_PI * t / m);
		assert_near(f->season[t], want, 1.0);
	}
	/* Forecast one season ahead without learning: the mean follows the true curve. */
	for (t = 1; t <= m; t++) {
		assert_int_equal(forecast__predict(f, t, &mean, &lo, &hi), 0);
		want = 100.0 + 0.5 * (2399 + t) + 10.0 * sin(2.0 * M_PI * (2399 + t) / m);
		assert_near(mean, want, 2.0);
		assert_true(lo < mean && mean < hi);
	}
	/* One-step 95 % intervals on held-out samples cover about 95 % of the noise. */
	for (t = 2400; t < 6400; t++) {
		y = 100.0 + 0.5 * t + 10.0 * sin(2.0 * M_PI * t / m) + gen_normal(&g);
		assert_int_equal(forecast__predict(f, 1, &mean, &lo, &hi), 0);
		covered += y >= lo && y <= hi;
		trials++;
		assert_int_equal(forecast__update(f, y), 0);
	}
	assert_near((double)covered / trials, 0.95, 0.025);
	free(f);
}

static void test_holt_trend_and_time_to_threshold(void **state)
{
	struct forecast *f = malloc(sizeof(*f)), *g2 = malloc(sizeof(*g2));
	size_t size = forecast__state_size(), t;
	unsigned char *buf = malloc(size);
	struct forecast_params p;
	struct gen g = {32};
	uint32_t mid, early, late;
	double m1, m2, lo, hi;

	(void)state;
	assert_non_null(f);
	assert_non_null(g2);
	assert_non_null(buf);
	assert_int_equal(forecast__params_default(&p, 0), 0);
	assert_int_equal(forecast__init(f, &p), 0);
	for (t = 0; t < 1000; t++)
		assert_int_equal(forecast__update(f, 3.0 + 2.0 * t + 0.5 * gen_normal(&g)), 0);
	assert_near(f->trend, 2.0, 0.05);
	/* Level near 2001: threshold 2201 is crossed in about 100 samples. */
	assert_int_equal(forecast__time_to_threshold(f, 2201.0, 1000, 0.8, &mid, &early, &late), 0);
	assert_true(mid >= 95 && mid <= 105);
	assert_true(early <= mid && (late == 0 || late >= mid));
	assert_int_equal(forecast__time_to_threshold(f, 1e9, 100, 0.8, &mid, &early, &late),
			 -ERANGE);
	assert_int_equal(forecast__time_to_threshold(f, 2201.0, 100, 1.5, &mid, &early, &late),
			 -EINVAL);
	/* Exact round trip. */
	assert_int_equal(forecast__save(f, buf, size), (long)size);
	assert_int_equal(forecast__restore(g2, buf, size), 0);
	assert_int_equal(forecast__update(f, 2005.0), 0);
	assert_int_equal(forecast__update(g2, 2005.0), 0);
	assert_int_equal(forecast__predict(f, 10, &m1, &lo, &hi), 0);
	assert_int_equal(forecast__predict(g2, 10, &m2, &lo, &hi), 0);
	assert_memory_equal(&m1, &m2, sizeof(m1));
	buf[0] ^= 0xff;
	assert_int_equal(forecast__restore(g2, buf, size), -EBADMSG);
	free(buf);
	free(f);
	free(g2);
}

/* Locate a checked-in data file whether the tests run from the repository root or below. */
static const char *data_path(const char *rel, char *buf, size_t len)
{
	static const char *const prefixes[] = {"", "../", "../../", "../../../"};
	size_t i;

	for (i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		snprintf(buf, len, "%s%s", prefixes[i], rel);
		if (access(buf, R_OK) == 0)
			return buf;
	}
	return NULL;
}

static int run_cmd(const char *in, const char *out)
{
	char *argv[] = {"detect", "--input", (char *)in, "--output", (char *)out, NULL};

	return cmd_detect(5, argv);
}

static void test_cmd_detect_flags_expected_rows(void **state)
{
	/* Data rows (0-based, header excluded) that hold the planted spike and level shift. */
	static const long expected[] = {900, 1300};
	char in[512], out[] = "/tmp/swarmwatch-test-detect-XXXXXX", line[256];
	long row = -1, found[8];
	size_t nfound = 0, i;
	FILE *f;
	int fd;

	(void)state;
	assert_non_null(data_path("tests/data/detect/synthetic.csv", in, sizeof(in)));
	fd = mkstemp(out);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(run_cmd(in, out), 0);
	f = fopen(out, "r");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));
	assert_string_equal(line, "timestamp,value,anomaly_score,is_anomaly\n");
	while (fgets(line, sizeof(line), f)) {
		row++;
		if (line[strlen(line) - 2] == '1') {
			assert_true(nfound < 8);
			found[nfound++] = row;
		}
	}
	fclose(f);
	unlink(out);
	assert_int_equal(row, 1599);
	assert_int_equal(nfound, 2);
	for (i = 0; i < 2; i++)
		assert_int_equal(found[i], expected[i]);
}

static void test_cmd_detect_rejects_bad_input(void **state)
{
	static const char *const bad[] = {
		"time,value\n2024-01-01 00:00:00,1\n",
		"timestamp,value\n2024-01-01 00:00:00,1\n2024-13-01 00:00:00,2\n",
		"timestamp,value\n2024-01-01 00:00:00,abc\n",
		"timestamp,value\n2024-01-01 00:00:00\n",
		"timestamp,value\n2024-01-01 00:00:00,1,2\n",
		"",
	};
	char in[] = "/tmp/swarmwatch-test-bad-XXXXXX", out[] = "/tmp/swarmwatch-test-out-XXXXXX";
	char *argv_help[] = {"detect", "--help", NULL};
	char *argv_none[] = {"detect", NULL};
	char *argv_det[] = {"detect", "--input", in, "--detector", "nope", NULL};
	size_t i;
	FILE *f;
	int fd;

	(void)state;
	fd = mkstemp(in);
	assert_true(fd >= 0);
	close(fd);
	fd = mkstemp(out);
	assert_true(fd >= 0);
	close(fd);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		f = fopen(in, "w");
		assert_non_null(f);
		fputs(bad[i], f);
		fclose(f);
		assert_int_equal(run_cmd(in, out), 1);
	}
	/* A good file with CRLF line ends and a single row is fine. */
	f = fopen(in, "w");
	assert_non_null(f);
	fputs("timestamp,value\r\n2024-01-01T00:00:00Z,1.5\r\n", f);
	fclose(f);
	assert_int_equal(run_cmd(in, out), 0);
	assert_int_equal(run_cmd("/nonexistent/swarmwatch.csv", out), 1);
	/* --help names every key --set takes (the error for a bad key sends the user there). */
	{
		static const char *const keys[] = {
			"window",    "warmup",	       "verdict_after", "short_len",
			"trend_len", "refractory",     "peak_halflife", "ewma_alpha",
			"tail_q",    "threshold",      "season_s",	"floor_abs",
			"floor_rel", "--set KEY=VALUE"};
		char help[4096];
		size_t len;
		int saved = dup(STDOUT_FILENO);

		fflush(stdout);
		assert_non_null(freopen(out, "w", stdout));
		assert_int_equal(cmd_detect(2, argv_help), 0);
		fflush(stdout);
		assert_true(dup2(saved, STDOUT_FILENO) >= 0);
		close(saved);
		f = fopen(out, "r");
		assert_non_null(f);
		len = fread(help, 1, sizeof(help) - 1, f);
		help[len] = 0;
		fclose(f);
		for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			if (!strstr(help, keys[i]))
				fail_msg("swarmwatch detect --help does not name %s", keys[i]);
	}
	assert_int_equal(cmd_detect(1, argv_none), 2);
	assert_int_equal(cmd_detect(5, argv_det), 2);
	unlink(in);
	unlink(out);
}

/* A 1 s agent series of the given kind, with its first verdict after 48 samples. */
static struct detect_ensemble *young_detector(uint32_t kind)
{
	struct detect_ensemble *d = malloc(sizeof(*d));
	struct detect_params p;

	assert_non_null(d);
	assert_int_equal(detect__params_default(&p, 1.0), 0);
	assert_int_equal(detect__params_kind(&p, kind), 0);
	assert_int_equal(detect__params_set(&p, "verdict_after", 48), 0);
	assert_int_equal(detect__init(d, &p), 0);
	return d;
}

/*
 * Cold start: a failure ratio that jumps from about 2 % to 40 % at sample 55 is a verdict within
 * 60 samples of the series' start, with a confidence that says little was learned; the noise
 * before it raises nothing.
 */
static void test_cold_start_verdict_within_60(void **state)
{
	struct detect_ensemble *d = young_detector(DETECT_KIND_RATIO);
	struct detect_result r;
	struct gen g = {31};
	double x;
	int i, first = -1;

	(void)state;
	for (i = 0; i < 60; i++) {
		x = i < 55 ? fmax(0.0, 0.02 + 0.005 * gen_normal(&g)) : 0.4;
		assert_int_equal(detect__update(d, i, x, &r), 0);
		if (r.anomaly && first < 0)
			first = i;
		if (i < 55)
			assert_false(r.anomaly);
	}
	assert_int_equal(first, 55);
	/* The verdict explains itself: value against a baseline near 2 %. */
	assert_int_equal(detect__update(d, 60, 0.4, &r), 0);
	assert_near(r.value, 0.4, 0.0);
	assert_near(r.baseline, 0.02, 0.01);
	assert_true(r.scale >= 0.01);
	assert_true(r.young);
	assert_true(r.confidence > 0.05 && r.confidence < 0.2);
	free(d);
}

/*
 * Kind floors: a latency of 50 ms whose first samples vary by 10 us is not alarmed by a 2 ms
 * wobble when the caller says it is a latency (10 % of the level is the least believed scale),
 * while the same series with no kind is, so the floor is what keeps it quiet.
 */
static void test_cold_start_kind_floors(void **state)
{
	uint32_t kinds[] = {DETECT_KIND_LATENCY, DETECT_KIND_ANY};
	struct detect_ensemble *d;
	struct detect_result r;
	size_t alarms[2] = {0, 0}, k;
	struct gen g;
	double x;
	int i;

	(void)state;
	for (k = 0; k < 2; k++) {
		d = young_detector(kinds[k]);
		g.s = 32;
		for (i = 0; i < 200; i++) {
			x = 0.050 + 1e-5 * gen_normal(&g) + (i >= 100 && i < 105 ? 0.002 : 0.0);
			assert_int_equal(detect__update(d, i, x, &r), 0);
			alarms[k] += r.anomaly;
		}
		free(d);
	}
	assert_int_equal(alarms[0], 0);
	assert_true(alarms[1] > 0);
}

/* A rate counted per tick: a Poisson series at 20/s stays quiet young, a tripling is caught. */
static void test_cold_start_rate_poisson(void **state)
{
	struct detect_ensemble *d = young_detector(DETECT_KIND_RATE);
	struct detect_result r;
	struct gen g = {33};
	double x;
	int i, alarms = 0, first = -1;

	(void)state;
	for (i = 0; i < 120; i++) {
		/* Normal approximation of a Poisson count of mean 20 (or 60 from sample 90). */
		x = i < 90 ? 20 + sqrt(20) * gen_normal(&g) : 60 + sqrt(60) * gen_normal(&g);
		x = fmax(0.0, round(x));
		assert_int_equal(detect__update(d, i, x, &r), 0);
		if (r.anomaly) {
			alarms++;
			if (first < 0)
				first = i;
		}
	}
	assert_int_equal(first, 90);
	assert_true(alarms >= 1);
	free(d);
}

/*
 * Seeding: a new instance seeded from a sibling that learned 3000 samples (or from a saved
 * baseline) gives a verdict on its 10th sample, when an unseeded one cannot yet; its
 * confidence is half the sibling's.
 */
static void test_seed_from_sibling_and_baseline(void **state)
{
	struct detect_ensemble *sib = young_detector(DETECT_KIND_LATENCY);
	struct detect_ensemble *d = young_detector(DETECT_KIND_LATENCY);
	struct detect_ensemble *fresh = young_detector(DETECT_KIND_LATENCY);
	size_t size = detect__state_size();
	unsigned char *buf = malloc(size);
	struct detect_result r, rs;
	struct gen g = {34};
	int i, pass;
	double x;

	(void)state;
	assert_non_null(buf);
	for (i = 0; i < 3000; i++)
		assert_int_equal(detect__update(sib, i, 0.2 + 0.01 * gen_normal(&g), &rs), 0);
	assert_int_equal(detect__save(sib, buf, size), (long)size);
	for (pass = 0; pass < 2; pass++) {
		if (pass == 0) {
			assert_int_equal(detect__seed(d, sib), 0);
		} else {
			assert_int_equal(detect__restore(d, buf, size), 0);
			assert_int_equal(detect__seed(d, d), 0);
		}
		for (i = 0; i < 12; i++) {
			x = i < 10 ? 0.2 + 0.01 * gen_normal(&g) : 0.6;
			assert_int_equal(detect__update(d, 3000 + i, x, &r), 0);
			if (pass == 0)
				assert_int_equal(detect__update(fresh, i, x, &rs), 0);
			if (i < 10) {
				assert_false(r.anomaly);
			} else if (i == 10) {
				assert_true(r.anomaly);
				if (pass == 0)
					assert_false(rs.anomaly);
			}
		}
		assert_near(r.confidence, 0.5 * fmin(1.0, 3000.0 / (2 * 256)) + 11 / 512.0, 0.01);
		assert_false(r.young);
	}
	/* Different capacities cannot be seeded. */
	assert_int_equal(detect__params_set(&fresh->p, "short_len", 8), 0);
	assert_int_equal(detect__seed(fresh, sib), -EINVAL);
	free(buf);
	free(fresh);
	free(d);
	free(sib);
}

static void test_params_set(void **state)
{
	struct detect_params p;

	(void)state;
	assert_int_equal(detect__params_default(&p, 60.0), 0);
	assert_int_equal(detect__params_set(&p, "refractory", 12), 0);
	assert_int_equal(p.refractory, 12);
	assert_int_equal(detect__params_set(&p, "tail_q", 0.99), 0);
	assert_near(p.tail_q, 0.99, 0.0);
	/* Seconds at the 60 s interval: whole samples, at least one. */
	assert_int_equal(detect__params_set(&p, "refractory_s", 3600), 0);
	assert_int_equal(p.refractory, 60);
	assert_int_equal(detect__params_set(&p, "refractory_s", 10), 0);
	assert_int_equal(p.refractory, 1);
	assert_int_equal(detect__params_set(&p, "tail_q_s", 10), -ENOENT);
	assert_int_equal(detect__params_set(&p, "refractoryx", 10), -ENOENT);
	assert_int_equal(detect__params_set(&p, "refractory", 1.5), -EINVAL);
	assert_int_equal(detect__params_set(&p, "refractory", -1), -EINVAL);
	assert_int_equal(detect__params_set(&p, "tail_q", NAN), -EINVAL);
	assert_int_equal(detect__params_set(&p, "refractry", 3), -ENOENT);
	assert_int_equal(detect__params_kind(&p, DETECT_KIND_COUNT), -EINVAL);
	assert_int_equal(detect__params_kind(&p, DETECT_KIND_RATE), 0);
	assert_near(p.floor_abs, 1.0 / 60.0, 1e-15);
	p.floor_abs = 0.0;
	assert_int_equal(detect__init(&(struct detect_ensemble){0}, &p), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_window_stats_match_brute_force),
		cmocka_unit_test(test_ewma_and_trend_basics),
		cmocka_unit_test(test_defaults_follow_interval),
		cmocka_unit_test(test_step_change),
		cmocka_unit_test(test_spike),
		cmocka_unit_test(test_slow_drift),
		cmocka_unit_test(test_seasonal_with_injected_anomaly),
		cmocka_unit_test(test_seasonal_scale_follows_time_of_day),
		cmocka_unit_test(test_seasonal_spike_leaves_no_echo),
		cmocka_unit_test(test_flat_series_never_alarms),
		cmocka_unit_test(test_constant_then_noisy),
		cmocka_unit_test(test_serialization_round_trip),
		cmocka_unit_test(test_cold_start_verdict_within_60),
		cmocka_unit_test(test_cold_start_kind_floors),
		cmocka_unit_test(test_cold_start_rate_poisson),
		cmocka_unit_test(test_seed_from_sibling_and_baseline),
		cmocka_unit_test(test_params_set),
		cmocka_unit_test(test_iforest_isolates_planted_outliers),
		cmocka_unit_test(test_iforest_calibration),
		cmocka_unit_test(test_iforest_path_length_matches_c),
		cmocka_unit_test(test_iforest_round_trip),
		cmocka_unit_test(test_holt_winters_recovers_trend_and_season),
		cmocka_unit_test(test_holt_trend_and_time_to_threshold),
		cmocka_unit_test(test_cmd_detect_flags_expected_rows),
		cmocka_unit_test(test_cmd_detect_rejects_bad_input),
	};

	return cmocka_run_group_tests_name("detect", tests, NULL, NULL);
}
