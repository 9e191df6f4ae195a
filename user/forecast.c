// SPDX-License-Identifier: MIT
/*
 * forecast: Holt and additive Holt-Winters smoothing with prediction intervals (see
 * forecast.h).
 *
 * The recursions are the classical ones (level, trend, season updated from the new sample);
 * the interval formula is written for the ETS parametrisation, so the weights are converted:
 * beta_ets = alpha * beta and gamma_ets = gamma * (1 - alpha).
 */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "blob.h"
#include "forecast.h"

#define FORECAST_MAGIC 0x43465753u /* "SWFC" */
#define FORECAST_VERSION 1u
#define Z95 1.959963984540054

int forecast__params_default(struct forecast_params *p, uint32_t period)
{
	if (period == 1 || period > FORECAST_SEASON_MAX)
		return -EINVAL;
	memset(p, 0, sizeof(*p));
	p->alpha = 0.2;
	p->beta = 0.05;
	p->gamma = 0.1;
	p->var_alpha = 0.01;
	p->period = period;
	return 0;
}

/* The damping factor: 0 (states saved before damping existed) is 1. */
static double phi_of(const struct forecast_params *p)
{
	return p->phi > 0.0f ? (double)p->phi : 1.0;
}

int forecast__init(struct forecast *f, const struct forecast_params *p)
{
	if (!(p->alpha > 0.0 && p->alpha < 1.0) || !(p->beta >= 0.0 && p->beta < 1.0) ||
	    !(p->gamma >= 0.0 && p->gamma < 1.0) || !(p->var_alpha > 0.0 && p->var_alpha <= 1.0) ||
	    !(p->phi >= 0.0f && p->phi <= 1.0f) || p->period == 1 ||
	    p->period > FORECAST_SEASON_MAX || (p->period && phi_of(p) < 1.0))
		return -EINVAL;
	memset(f, 0, sizeof(*f));
	f->p = *p;
	f->magic = FORECAST_MAGIC;
	f->version = FORECAST_VERSION;
	return 0;
}

/* Samples needed before the first forecast. */
static uint64_t init_len(const struct forecast *f)
{
	return f->p.period ? 2ull * f->p.period : 2;
}

int forecast__ready(const struct forecast *f)
{
	return f->n >= init_len(f);
}

/*
 * Classical start from the first two seasons: the level and slope from their means, each
 * phase's offset from the detrended samples at that phase.
 */
static void init_from_buffer(struct forecast *f)
{
	uint32_t m = f->p.period, i;
	double m1 = 0.0, m2 = 0.0, base;

	if (!m) {
		f->level = f->init[1];
		f->trend = f->init[1] - f->init[0];
		return;
	}
	for (i = 0; i < m; i++) {
		m1 += f->init[i];
		m2 += f->init[m + i];
	}
	m1 /= m;
	m2 /= m;
	f->trend = (m2 - m1) / m;
	/* The first season's mean sits at its middle, t = (m - 1) / 2. */
	for (i = 0; i < m; i++) {
		base = m1 + f->trend * (i - (m - 1) / 2.0);
		f->season[i] = 0.5 * ((f->init[i] - base) + (f->init[m + i] - base - f->trend * m));
	}
	f->level = m1 + f->trend * (2 * m - 1 - (m - 1) / 2.0);
}

int forecast__update(struct forecast *f, double y)
{
	const struct forecast_params *p = &f->p;
	uint32_t ph = p->period ? (uint32_t)(f->n % p->period) : 0;
	double s, e, level, w, phi = phi_of(p);

	if (!isfinite(y))
		return -EINVAL;
	if (f->n < init_len(f)) {
		f->init[f->n++] = y;
		if (f->n == init_len(f))
			init_from_buffer(f);
		return 0;
	}
	s = p->period ? f->season[ph] : 0.0;
	e = y - (f->level + phi * f->trend + s);
	level = p->alpha * (y - s) + (1.0 - p->alpha) * (f->level + phi * f->trend);
	f->trend = p->beta * (level - f->level) + (1.0 - p->beta) * phi * f->trend;
	f->level = level;
	if (p->period)
		f->season[ph] = p->gamma * (y - level) + (1.0 - p->gamma) * s;
	/* Plain mean of squared errors at first, then an EWMA so the variance can move. */
	w = fmax(1.0 / (f->n_err + 1), p->var_alpha);
	f->var += w * (e * e - f->var);
	f->n_err++;
	f->n++;
	return 0;
}

int forecast__sd(const struct forecast *f, uint32_t h, double *sd)
{
	const struct forecast_params *p = &f->p;
	double a = p->alpha, b = p->alpha * p->beta, g = p->gamma * (1.0 - p->alpha);
	double hh = h, k, v, phi = phi_of(p), ph;

	if (h == 0)
		return -EINVAL;
	if (!forecast__ready(f))
		return -ENODATA;
	if (phi < 1.0) {
		/* AAdN: FPP 2nd ed., table 7.8; 1 at h = 1, Holt's in the limit phi -> 1. */
		ph = pow(phi, hh);
		v = 1.0 + a * a * (hh - 1.0) +
		    b * phi * hh / ((1.0 - phi) * (1.0 - phi)) * (2.0 * a * (1.0 - phi) + b * phi) -
		    b * phi * (1.0 - ph) / ((1.0 - phi) * (1.0 - phi) * (1.0 - phi * phi)) *
			    (2.0 * a * (1.0 - phi * phi) + b * phi * (1.0 + 2.0 * phi - ph));
		*sd = sqrt(f->var * fmax(v, 1.0));
		return 0;
	}
	v = 1.0 + (hh - 1.0) * (a * a + a * b * hh + b * b * hh * (2.0 * hh - 1.0) / 6.0);
	if (p->period) {
		k = floor((hh - 1.0) / p->period);
		v += g * k * (2.0 * a + g + b * p->period * (k + 1.0));
	}
	*sd = sqrt(f->var * v);
	return 0;
}

/* Point forecast h samples past the last one learned. */
static double point(const struct forecast *f, uint32_t h)
{
	double phi = phi_of(&f->p);
	/* phi + phi^2 + ... + phi^h steps of the trend: h when undamped. */
	double y = f->level + (phi < 1.0 ? phi * (1.0 - pow(phi, h)) / (1.0 - phi) : h) * f->trend;

	if (f->p.period)
		y += f->season[(f->n - 1 + h) % f->p.period];
	return y;
}

int forecast__predict(const struct forecast *f, uint32_t h, double *mean, double *lo, double *hi)
{
	double sd;
	int err;

	err = forecast__sd(f, h, &sd);
	if (err)
		return err;
	*mean = point(f, h);
	if (lo)
		*lo = *mean - Z95 * sd;
	if (hi)
		*hi = *mean + Z95 * sd;
	return 0;
}

/* Two-sided normal quantile for central coverage conf, by bisection on erfc. */
static double z_for_conf(double conf)
{
	double lo = 0.0, hi = 40.0, mid;
	int i;

	for (i = 0; i < 100; i++) {
		mid = 0.5 * (lo + hi);
		if (erfc(mid / M_SQRT2) > 1.0 - conf)
			lo = mid;
		else
			hi = mid;
	}
	return 0.5 * (lo + hi);
}

int forecast__time_to_threshold(const struct forecast *f, double threshold, uint32_t max_h,
				double conf, uint32_t *h_mid, uint32_t *h_early, uint32_t *h_late)
{
	double z, sd, y, dir;
	uint32_t h;
	int err;

	if (!(conf > 0.0 && conf < 1.0))
		return -EINVAL;
	if (!forecast__ready(f))
		return -ENODATA;
	z = z_for_conf(conf);
	dir = f->level < threshold ? 1.0 : -1.0;
	*h_mid = *h_early = *h_late = 0;
	for (h = 1; h <= max_h; h++) {
		err = forecast__sd(f, h, &sd);
		if (err)
			return err;
		y = point(f, h);
		/* Distance past the threshold in the crossing direction. */
		if (!*h_early && dir * (y + dir * z * sd - threshold) >= 0.0)
			*h_early = h;
		if (!*h_mid && dir * (y - threshold) >= 0.0)
			*h_mid = h;
		if (!*h_late && dir * (y - dir * z * sd - threshold) >= 0.0)
			*h_late = h;
		if (*h_late)
			break;
	}
	return *h_mid ? 0 : -ERANGE;
}

size_t forecast__state_size(void)
{
	return blob__size(sizeof(struct forecast));
}

long forecast__save(const struct forecast *f, void *buf, size_t len)
{
	if (f->magic != FORECAST_MAGIC)
		return -EINVAL;
	return blob__save(buf, len, FORECAST_MAGIC, FORECAST_VERSION, f, sizeof(*f));
}

int forecast__restore(struct forecast *f, const void *buf, size_t len)
{
	const unsigned char *b;
	struct forecast_params p;
	uint32_t magic;
	int err;

	err = blob__open(buf, len, FORECAST_MAGIC, FORECAST_VERSION, sizeof(*f), (const void **)&b);
	if (err)
		return err;
	memcpy(&magic, b + offsetof(struct forecast, magic), sizeof(magic));
	memcpy(&p, b + offsetof(struct forecast, p), sizeof(p));
	if (magic != FORECAST_MAGIC || p.period == 1 || p.period > FORECAST_SEASON_MAX ||
	    !(p.phi >= 0.0f && p.phi <= 1.0f) || (p.period && p.phi > 0.0f && p.phi < 1.0f))
		return -EBADMSG;
	memcpy(f, b, sizeof(*f));
	return 0;
}

/* --- a forecast of a figure sampled at ticks --- */

#define TRACK_MAGIC 0x54465753u /* "SWFT" */
#define TRACK_VERSION 1u

int forecast_track__init(struct forecast_track *t, double horizon_s, double tick_s, double warmup_s)
{
	struct forecast_params p;
	int err;

	if (!(horizon_s > 0.0 && horizon_s < 1e9) || !(tick_s > 0.0 && tick_s < 1e9) ||
	    !(warmup_s >= 0.0 && warmup_s < 1e9))
		return -EINVAL;
	memset(t, 0, sizeof(*t));
	t->magic = TRACK_MAGIC;
	t->version = TRACK_VERSION;
	t->step_s = fmax(horizon_s / FORECAST_TRACK_STEPS, tick_s);
	t->warmup_s = warmup_s;
	t->first = -1.0;
	t->last = -1.0;
	t->last_step = -1.0;
	err = forecast__params_default(&p, 0);
	if (err)
		return err;
	/* Chosen on simulated ramps and flat Poisson series (bench/RESULTS.md, predictive lead). */
	p.alpha = 0.5;
	p.beta = 0.3;
	p.phi = 0.98f;
	return forecast__init(&t->f, &p);
}

int forecast_track__sample(struct forecast_track *t, double now, double v)
{
	double len;

	if (!isfinite(now) || !isfinite(v))
		return -EINVAL;
	if (t->last >= 0.0 && now <= t->last)
		return 0;
	t->last = now;
	if (t->first < 0.0)
		t->first = now;
	if (now < t->first + t->warmup_s)
		return 0;
	if (!t->acc_n)
		t->step_start = now;
	t->acc += v;
	t->acc_n++;
	/* A step ends at the first sample step_s after the end of the one before (the first one
	 * step_s after its first sample). */
	if (now - (t->last_step >= 0.0 ? t->last_step : t->step_start) < t->step_s - 1e-9)
		return 0;
	len = t->last_step >= 0.0 ? now - t->last_step : 0.0;
	if (len > 0.0)
		t->step_len = t->step_len > 0.0 ? 0.9 * t->step_len + 0.1 * len : len;
	t->last_step = now;
	forecast__update(&t->f, t->acc / t->acc_n);
	t->acc = 0.0;
	t->acc_n = 0;
	return 0;
}

int forecast_track__predict(const struct forecast_track *t, double horizon_s, double *mean,
			    double *sd)
{
	double step = t->step_len > 0.0 ? t->step_len : t->step_s;
	long h;
	int err;

	if (!(horizon_s > 0.0))
		return -EINVAL;
	if (t->f.n < FORECAST_TRACK_MIN_STEPS)
		return -ENODATA;
	h = lround(horizon_s / step);
	if (h < 1)
		h = 1;
	if (h > 100000)
		h = 100000;
	err = forecast__predict(&t->f, (uint32_t)h, mean, NULL, NULL);
	if (!err)
		err = forecast__sd(&t->f, (uint32_t)h, sd);
	return err;
}

size_t forecast_track__state_size(void)
{
	return blob__size(sizeof(struct forecast_track));
}

long forecast_track__save(const struct forecast_track *t, void *buf, size_t len)
{
	if (t->magic != TRACK_MAGIC)
		return -EINVAL;
	return blob__save(buf, len, TRACK_MAGIC, TRACK_VERSION, t, sizeof(*t));
}

int forecast_track__restore(struct forecast_track *t, const void *buf, size_t len)
{
	const unsigned char *b;
	struct forecast_track x;
	int err;

	err = blob__open(buf, len, TRACK_MAGIC, TRACK_VERSION, sizeof(x), (const void **)&b);
	if (err)
		return err;
	memcpy(&x, b, sizeof(x));
	if (x.magic != TRACK_MAGIC || !(x.step_s > 0.0) || !(x.warmup_s >= 0.0) ||
	    !isfinite(x.first) || !isfinite(x.last) || x.f.magic != FORECAST_MAGIC ||
	    x.f.p.period != 0 || !(x.f.p.phi >= 0.0f && x.f.p.phi <= 1.0f) ||
	    !isfinite(x.f.level) || !isfinite(x.f.trend) || !(x.f.var >= 0.0))
		return -EBADMSG;
	/* A model learned over steps of another length would be extrapolated in the wrong unit. */
	if (fabs(x.step_s - t->step_s) > 1e-9 * t->step_s)
		return -ESTALE;
	/* The warm-up in force now (the figure's window may have changed with the restart). */
	x.warmup_s = t->warmup_s;
	/* The figure's window refills after a restart, and the time stopped is not a step. */
	x.first = -1.0;
	x.last = -1.0;
	x.last_step = -1.0;
	x.acc = 0.0;
	x.acc_n = 0;
	*t = x;
	return 0;
}
