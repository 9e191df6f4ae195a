/* SPDX-License-Identifier: MIT */
/*
 * forecast: Holt (level + trend) and additive Holt-Winters (level + trend + season) exponential
 * smoothing with 95 % prediction intervals, and time-to-threshold estimates.
 *
 * Intervals use the forecast variance of the equivalent additive ETS model (Hyndman and
 * Athanasopoulos, Forecasting: Principles and Practice, 3rd ed., section 8.7), with the one-step
 * error variance estimated online from the model's own one-step errors. The trend may be damped
 * (Gardner and McKenzie, "Forecasting trends in time series", Management Science 31(10), 1985):
 * a slope phi^h of its size h samples ahead, so a long horizon does not extrapolate a short
 * rise without bound. Pure math and plain data like detect.h: the struct can be saved and
 * restored exactly.
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
	float phi; /* trend damping, (0, 1]; 0 reads as 1 (undamped, as in states saved before) */
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
 * forecast__params_default - alpha 0.2, beta 0.05, gamma 0.1, no damping and period samples
 * per season (0 for Holt). Returns 0, or -EINVAL when period exceeds FORECAST_SEASON_MAX or is 1.
 */
int forecast__params_default(struct forecast_params *p, uint32_t period);

/*
 * forecast__init - set up a model with parameters p (copied). Returns 0, or -EINVAL when a
 * smoothing weight or phi is out of range, the period exceeds FORECAST_SEASON_MAX, or a damped
 * trend is asked with a season (not supported).
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
 * forecast__sd - standard deviation of the h-step forecast error from the ETS variance formula
 * (AAN, AAA, or AAdN for a damped trend: Hyndman and Athanasopoulos, FPP 2nd ed., table 7.8).
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

/*
 * A forecast of a figure sampled at irregular ticks, for horizons in seconds (the scaler's
 * forecast(x, H)). Samples are averaged over steps of H / FORECAST_TRACK_STEPS seconds (at least
 * a tick): each step is one sample of a damped Holt model (alpha 0.5, beta 0.3, phi 0.98), which
 * learns a ramp within a few steps and, damped, does not run away with a short rise; averaging
 * over steps keeps the noise of one tick out. The first warmup_s seconds of samples are not
 * learned (a figure over a window, such as a rate, is not whole until the window has been
 * seen), and forecasts start after FORECAST_TRACK_MIN_STEPS steps. The interval is the model's
 * (forecast__sd()), so `with confidence > c` is the probability, under the model, that the
 * figure is past the threshold at the horizon. Plain data: saved and restored as a blob.
 */
#define FORECAST_TRACK_STEPS 12
#define FORECAST_TRACK_MIN_STEPS 5

struct forecast_track {
	uint32_t magic;
	uint32_t version;
	double step_s; /* length of a step, s */
	double warmup_s; /* samples before first + warmup_s are not learned */
	double first; /* time of the first sample, s; < 0 before */
	double step_start; /* start of the open step, s */
	double acc; /* sum of the open step's samples */
	uint32_t acc_n; /* how many */
	uint32_t pad;
	double step_len; /* measured length of a step, s (EWMA), 0 before two steps */
	double last_step; /* when the last step ended, s; < 0 before */
	double last; /* time of the last sample, s; < 0 before */
	struct forecast f;
};

/*
 * forecast_track__init - a track for horizon_s seconds ahead (> 0), sampled every tick_s
 * seconds (> 0), learning from warmup_s (>= 0) after its first sample. Returns 0 or -EINVAL.
 */
int forecast_track__init(struct forecast_track *t, double horizon_s, double tick_s,
			 double warmup_s);

/*
 * forecast_track__sample - the figure's value v at time now (seconds, non-decreasing; a second
 * sample at the same time is ignored). Returns 0, or -EINVAL for a non-finite v or now.
 */
int forecast_track__sample(struct forecast_track *t, double now, double v);

/*
 * forecast_track__predict - the figure horizon_s seconds past the last step learned: *mean and
 * the standard deviation of its error *sd. Returns 0, -EINVAL for horizon_s <= 0, or -ENODATA
 * before FORECAST_TRACK_MIN_STEPS steps were learned.
 */
int forecast_track__predict(const struct forecast_track *t, double horizon_s, double *mean,
			    double *sd);

/*
 * forecast_track__save, forecast_track__restore - as forecast__save() and __restore(). A
 * restored track forecasts at once from the saved model, and learns again after a new warm-up
 * from its next sample (a windowed figure refills its window after a restart); the time it was
 * stopped is not taken for a step. t is the track as forecast_track__init() made it for the
 * configuration in force: its warm-up is kept, and a model saved with another step length (the
 * horizon or the tick changed) is refused with -ESTALE, t unchanged.
 */
size_t forecast_track__state_size(void);
long forecast_track__save(const struct forecast_track *t, void *buf, size_t len);
int forecast_track__restore(struct forecast_track *t, const void *buf, size_t len);

#endif /* SWARMWATCH_FORECAST_H */
