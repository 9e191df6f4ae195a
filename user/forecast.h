/* SPDX-License-Identifier: MIT */
/*
 * forecast: Holt (level + trend) and additive Holt-Winters (level + trend + season) exponential
 * smoothing with 95 % prediction intervals, and time-to-threshold estimates.
 *
 * Intervals use the forecast variance of the equivalent additive ETS model (Hyndman and
 * Athanasopoulos, Forecasting: Principles and Practice, 3rd ed., section 8.7), with the one-step
 * error variance estimated online from the model's own one-step errors. Pure math and plain
 * data like detect.h: the struct can be saved and restored exactly.
 */
#ifndef SWARMWATCH_FORECAST_H
#define SWARMWATCH_FORECAST_H

#include <stddef.h>
#include <stdint.h>

/* Longest season, in samples. */
#define FORECAST_SEASON_MAX 512

struct forecast_params {
	double alpha; /* level smoothing, (0, 1) */
	double beta; /* trend smoothing, [0, 1) (classical form, beta* in ETS terms) */
	double gamma; /* season smoothing, [0, 1) */
	double var_alpha; /* floor of the weight of new squared errors in the variance */
	uint32_t period; /* season length in samples, 0 for Holt without season */
	uint32_t pad;
};

struct forecast {
	uint32_t magic;
	uint32_t version;
	struct forecast_params p;
	uint64_t n; /* samples seen */
	uint64_t n_err; /* one-step errors folded into var */
	double level; /* current level */
	double trend; /* current slope per sample */
	double var; /* one-step error variance */
	double season[FORECAST_SEASON_MAX]; /* additive seasonal offsets by phase */
	double init[2 * FORECAST_SEASON_MAX]; /* first two seasons, kept for initialisation */
};

/*
 * forecast__params_default - alpha 0.2, beta 0.05, gamma 0.1 and period samples per season
 * (0 for Holt). Returns 0, or -EINVAL when period exceeds FORECAST_SEASON_MAX or is 1.
 */
int forecast__params_default(struct forecast_params *p, uint32_t period);

/*
 * forecast__init - set up a model with parameters p (copied). Returns 0, or -EINVAL when a
 * smoothing weight is out of range or the period exceeds FORECAST_SEASON_MAX.
 */
int forecast__init(struct forecast *f, const struct forecast_params *p);

/*
 * forecast__update - learn the next sample y. The model starts forecasting once it has seen two
 * samples (Holt) or two full seasons (Holt-Winters, initialised from them). Returns 0, or
 * -EINVAL for a non-finite y.
 */
int forecast__update(struct forecast *f, double y);

/*
 * forecast__ready - 1 when forecasts are available, else 0.
 */
int forecast__ready(const struct forecast *f);

/*
 * forecast__predict - point forecast h >= 1 samples ahead and its 95 % prediction interval
 * [*lo, *hi] (lo and hi may be NULL). Returns 0, -EINVAL for h == 0, or -ENODATA while the
 * model is still initialising.
 */
int forecast__predict(const struct forecast *f, uint32_t h, double *mean, double *lo, double *hi);

/*
 * forecast__sd - standard deviation of the h-step forecast error from the ETS variance formula.
 * Returns 0, -EINVAL for h == 0 or -ENODATA while initialising.
 */
int forecast__sd(const struct forecast *f, uint32_t h, double *sd);

/*
 * forecast__time_to_threshold - in how many samples the series crosses threshold, looking at
 * most max_h samples ahead. The crossing direction is upwards when the current level is below
 * threshold, else downwards. *h_mid is the first horizon where the point forecast crosses;
 * *h_early and *h_late bound it with the two-sided prediction interval of level conf (0.8 for
 * "about N samples, 80 % confidence"): the earliest horizon at which the optimistic bound
 * crosses and the one at which even the pessimistic bound has crossed (0 when that does not
 * happen within max_h). Returns 0, -ERANGE when the point forecast does not cross within max_h,
 * -EINVAL for a conf outside (0, 1), or -ENODATA while initialising.
 */
int forecast__time_to_threshold(const struct forecast *f, double threshold, uint32_t max_h,
				double conf, uint32_t *h_mid, uint32_t *h_early, uint32_t *h_late);

/*
 * forecast__state_size, forecast__save, forecast__restore - persist a model exactly; same
 * contract and return values as detect__save() and detect__restore().
 */
size_t forecast__state_size(void);
long forecast__save(const struct forecast *f, void *buf, size_t len);
int forecast__restore(struct forecast *f, const void *buf, size_t len);

#endif /* SWARMWATCH_FORECAST_H */
