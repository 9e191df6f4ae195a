// SPDX-License-Identifier: MIT
/*
 * detect: streaming anomaly detectors for one numeric series (see detect.h).
 *
 * The ensemble scores every sample against what was learned before it, then learns it. Each
 * component yields a z-like, scale-free deviation. Each deviation is then divided by a high
 * quantile of that same component's own history on this series (how unusual is this much
 * surprise here), and the largest ratio becomes the score. A series that is always a little
 * surprising, or a component that is noisy on this series, thereby raises its own bar, which
 * makes one default threshold work on calm and on noisy series alike.
 */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "blob.h"
#include "detect.h"

#define DETECT_MAGIC 0x54445753u /* "SWDT" */
#define DETECT_VERSION 5u

/* Scale floor relative to |median| so a flat series does not turn every wobble into an alarm. */
#define SCALE_FLOOR_REL 1e-3
/* Absolute scale floor for series that sit at zero. */
#define SCALE_FLOOR_ABS 1e-9
/*
 * Surprise histograms: bins of equal width in log, TAIL_STEP = ln(1e12) / 255 (11.4 % each).
 * Bin 0 holds every value at or below TAIL_LOW = 1e-4 * exp(84 * TAIL_STEP) = 0.897, under the
 * smallest component floor (1.0), so a quantile that falls there is never the one used; the
 * top bin ends at TAIL_LOW * exp(127 * TAIL_STEP) = 8.5e5 and holds everything above. These
 * are bins 85 to 211 of the earlier 256-bin histogram from 1e-4 to 1e8: the same edges and the
 * same quantile wherever it can matter, in half the memory.
 */
#define TAIL_STEP 0.10835694555266097
#define TAIL_LOW 0.8973072494285629
/* Halve the histogram counts when they reach this total: a long but finite memory. */
#define TAIL_CAP (1u << 15)
/* Floor of a bucket's seasonal scale, relative to the robust scale of the whole window. */
#define SEASON_SCALE_REL 0.15
/* What a seasonal bucket learns is clipped to this many times its deviation scale. */
#define SEASON_CLIP 2.0
/* Span of phase, in seconds, on either side of a bucket that shares its deviation scale. */
#define SEASON_REACH_S 3600.0

/*
 * Smallest reference each component is divided by, whatever its history: the deviation that a
 * plain noisy series reaches about once in a few thousand samples (4 sigma for a single
 * sample). A series too young or too calm for its own quantile to mean much does not alarm on
 * noise. Averages (level, spread) and the band distance are on smaller scales.
 */
static const double component_floor[DETECT_C_COUNT] = {
	[DETECT_C_MAD] = 4.0,	 [DETECT_C_LEVEL] = 3.2, [DETECT_C_EWMA] = 4.0,
	[DETECT_C_BAND] = 1.0,	 [DETECT_C_TREND] = 6.0, [DETECT_C_SEASON] = 4.0,
	[DETECT_C_SPREAD] = 2.4,
};

const char *const detect_names[] = {
	[DETECT_C_MAD] = "mad",	      [DETECT_C_LEVEL] = "level", [DETECT_C_EWMA] = "ewma",
	[DETECT_C_BAND] = "band",     [DETECT_C_TREND] = "trend", [DETECT_C_SEASON] = "season",
	[DETECT_C_SPREAD] = "spread", [DETECT_C_COUNT] = NULL,
};

static double clamp(double x, double lo, double hi)
{
	return x < lo ? lo : (x > hi ? hi : x);
}

static uint32_t clamp_u32(double x, uint32_t lo, uint32_t hi)
{
	if (!(x >= lo))
		return lo;
	if (x > hi)
		return hi;
	return (uint32_t)x;
}

int detect__ewma_init(struct detect_ewma *e, double alpha)
{
	if (!(alpha > 0.0 && alpha <= 1.0))
		return -EINVAL;
	memset(e, 0, sizeof(*e));
	e->alpha = alpha;
	return 0;
}

/* Score-free EWMA step shared by the public update and the ensemble. */
static void ewma_learn(struct detect_ewma *e, double x)
{
	double d;

	if (e->n == 0) {
		e->mean = x;
		e->var = 0.0;
	} else {
		/* West's incremental form keeps the variance non-negative. */
		d = x - e->mean;
		e->mean += e->alpha * d;
		e->var = (1.0 - e->alpha) * (e->var + e->alpha * d * d);
	}
	e->n++;
}

static double ewma_z(const struct detect_ewma *e, double x)
{
	double sd;

	if (e->n < 2)
		return 0.0;
	sd = sqrt(e->var);
	sd = fmax(sd, fmax(SCALE_FLOOR_REL * fabs(e->mean), SCALE_FLOOR_ABS));
	return fabs(x - e->mean) / sd;
}

int detect__ewma_update(struct detect_ewma *e, double x, double *z)
{
	if (!isfinite(x))
		return -EINVAL;
	*z = ewma_z(e, x);
	ewma_learn(e, x);
	return 0;
}

int detect__window_init(struct detect_window *w, uint32_t cap)
{
	if (cap == 0 || cap > DETECT_WINDOW_MAX)
		return -EINVAL;
	memset(w, 0, sizeof(*w));
	w->cap = cap;
	return 0;
}

/* First index in a[0..n) whose value is >= x (lower) or > x (upper). */
static uint32_t bound(const float *a, uint32_t n, double x, bool upper)
{
	uint32_t lo = 0, hi = n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (a[mid] < x || (upper && a[mid] == x))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* A finite double as the nearest float, saturated at the float range. */
static float to_float(double x)
{
	return (float)clamp(x, -FLT_MAX, FLT_MAX);
}

int detect__window_push(struct detect_window *w, double xd)
{
	uint32_t i, j;
	float x, old;

	if (!isfinite(xd))
		return -EINVAL;
	x = to_float(xd);
	j = bound(w->sorted, w->n, x, true);
	if (w->n < w->cap) {
		w->ring[(w->head + w->n) % w->cap] = x;
		memmove(w->sorted + j + 1, w->sorted + j, (w->n - j) * sizeof(float));
		w->sorted[j] = x;
		w->n++;
		return 0;
	}
	old = w->ring[w->head];
	w->ring[w->head] = x;
	w->head = (w->head + 1) % w->cap;
	/* Drop the evicted value and insert the new one with a single shift between them. */
	i = bound(w->sorted, w->n, old, false);
	if (j > i) {
		memmove(w->sorted + i, w->sorted + i + 1, (j - 1 - i) * sizeof(float));
		w->sorted[j - 1] = x;
	} else {
		memmove(w->sorted + j + 1, w->sorted + j, (i - j) * sizeof(float));
		w->sorted[j] = x;
	}
	return 0;
}

static double sorted_quantile(const float *a, uint32_t n, double q)
{
	double pos = q * (n - 1), frac;
	uint32_t k = (uint32_t)pos;

	if (k + 1 >= n)
		return a[n - 1];
	frac = pos - k;
	return a[k] + frac * ((double)a[k + 1] - a[k]);
}

int detect__window_quantile(const struct detect_window *w, double q, double *out)
{
	if (!(q >= 0.0 && q <= 1.0))
		return -EINVAL;
	if (w->n == 0)
		return -ENODATA;
	*out = sorted_quantile(w->sorted, w->n, q);
	return 0;
}

/*
 * The absolute deviations below the median (read leftwards) and above it (read rightwards)
 * form two ascending sequences; the MAD is the median of their union, found by binary search
 * for how many elements the lower sequence contributes.
 */
struct dev_seqs {
	const float *s; /* sorted samples */
	uint32_t split; /* samples strictly below the median */
	uint32_t n; /* samples */
	double m; /* median */
};

static double dev_lo(const struct dev_seqs *d, uint32_t i)
{
	return d->m - d->s[d->split - 1 - i];
}

static double dev_hi(const struct dev_seqs *d, uint32_t j)
{
	return d->s[d->split + j] - d->m;
}

/* k-th smallest (0-based) deviation. */
static double dev_kth(const struct dev_seqs *d, uint32_t k)
{
	uint32_t a = d->split, b = d->n - d->split;
	uint32_t lo = k + 1 > b ? k + 1 - b : 0, hi = k + 1 < a ? k + 1 : a, i, j;
	double r = 0.0;

	while (lo < hi) {
		i = lo + (hi - lo) / 2;
		j = k + 1 - i;
		if (dev_lo(d, i) < dev_hi(d, j - 1))
			lo = i + 1;
		else
			hi = i;
	}
	i = lo;
	j = k + 1 - i;
	if (i > 0)
		r = dev_lo(d, i - 1);
	if (j > 0)
		r = fmax(r, dev_hi(d, j - 1));
	return r;
}

static void window_mad(const struct detect_window *w, double *median, double *mad)
{
	struct dev_seqs d;

	d.s = w->sorted;
	d.n = w->n;
	d.m = sorted_quantile(w->sorted, w->n, 0.5);
	d.split = bound(w->sorted, w->n, d.m, false);
	*median = d.m;
	if (w->n % 2)
		*mad = dev_kth(&d, w->n / 2);
	else
		*mad = 0.5 * (dev_kth(&d, w->n / 2 - 1) + dev_kth(&d, w->n / 2));
}

int detect__window_mad(const struct detect_window *w, double *median, double *mad)
{
	if (w->n == 0)
		return -ENODATA;
	window_mad(w, median, mad);
	return 0;
}

int detect__trend_init(struct detect_trend *t, uint32_t cap)
{
	if (cap < 3 || cap > DETECT_TREND_MAX)
		return -EINVAL;
	memset(t, 0, sizeof(*t));
	t->cap = cap;
	return 0;
}

/* Exact sums from the ring, to stop rounding drift of the running sums. */
static void trend_resum(struct detect_trend *t)
{
	uint32_t i;
	double y;

	t->sy = t->sxy = t->syy = 0.0;
	for (i = 0; i < t->n; i++) {
		y = t->ring[(t->head + i) % t->cap];
		t->sy += y;
		t->sxy += i * y;
		t->syy += y * y;
	}
}

static void trend_learn(struct detect_trend *t, double yd)
{
	double old, y = to_float(yd);

	if (t->n < t->cap) {
		t->ring[(t->head + t->n) % t->cap] = y;
		t->sxy += t->n * y;
		t->n++;
		t->sy += y;
		t->syy += y * y;
		return;
	}
	old = t->ring[t->head];
	t->ring[t->head] = y;
	t->head = (t->head + 1) % t->cap;
	/* Every index shifts down by one as the oldest leaves. */
	t->sxy -= t->sy - old;
	t->sy += y - old;
	t->sxy += (t->n - 1) * y;
	t->syy += y * y - old * old;
	if (t->head == 0)
		trend_resum(t);
}

static void trend_fit(const struct detect_trend *t, double *slope, double *tstat)
{
	double n = t->n, sx, sxx, sxx_c, sxy_c, syy_c, b, sse, se;

	*slope = 0.0;
	*tstat = 0.0;
	if (t->n < 3)
		return;
	sx = n * (n - 1) / 2;
	sxx = (n - 1) * n * (2 * n - 1) / 6;
	sxx_c = sxx - sx * sx / n;
	sxy_c = t->sxy - sx * t->sy / n;
	syy_c = t->syy - t->sy * t->sy / n;
	b = sxy_c / sxx_c;
	sse = fmax(syy_c - b * sxy_c, 0.0);
	se = sqrt(sse / (n - 2) / sxx_c);
	*slope = b;
	if (se > 0.0)
		*tstat = b / se;
	else if (b != 0.0)
		*tstat = copysign(INFINITY, b);
}

int detect__trend_update(struct detect_trend *t, double y, double *slope, double *tstat)
{
	if (!isfinite(y))
		return -EINVAL;
	trend_learn(t, y);
	trend_fit(t, slope, tstat);
	return 0;
}

int detect__season_init(struct detect_season *s, double period_s, double interval_s, double alpha)
{
	double bucket_s;

	if (!(period_s > 0.0) || !(interval_s > 0.0) || !(alpha > 0.0 && alpha <= 1.0))
		return -EINVAL;
	memset(s, 0, sizeof(*s));
	bucket_s = fmax(interval_s, period_s / DETECT_SEASON_MAX);
	s->buckets = clamp_u32(ceil(period_s / bucket_s), 1, DETECT_SEASON_MAX);
	s->reach = clamp_u32(SEASON_REACH_S * s->buckets / period_s, 1, (s->buckets - 1) / 2);
	s->period_s = period_s;
	s->alpha = alpha;
	return 0;
}

static uint32_t season_bucket(const struct detect_season *s, double ts)
{
	double phase = fmod(ts, s->period_s);

	if (phase < 0)
		phase += s->period_s;
	return clamp_u32(phase / s->period_s * s->buckets, 0, s->buckets - 1);
}

/*
 * Deviation scale around bucket b: the mean absolute deviation of the buckets within reach of
 * it that have learned one, turned into a normal-equivalent sigma (0 when none has).
 */
static double season_scale(const struct detect_season *s, uint32_t b)
{
	uint32_t i, k, n = 0, reach = s->reach;
	double acc = 0.0;

	k = (b + s->buckets - reach % s->buckets) % s->buckets;
	for (i = 0; i <= 2 * reach && i < s->buckets; i++) {
		if (s->seen[k] >= 2) {
			acc += s->mad[k];
			n++;
		}
		if (++k == s->buckets)
			k = 0;
	}
	return n ? 1.2533 * acc / n : 0.0;
}

static void season_step(struct detect_season *s, double ts, double x, double *dev, double *scale)
{
	uint32_t b = season_bucket(s, ts);
	double d, sc;

	*dev = 0.0;
	*scale = 0.0;
	if (s->seen[b] == 0) {
		s->mean[b] = to_float(x);
		s->mad[b] = 0.0f;
		s->seen[b] = 1;
		return;
	}
	d = x - s->mean[b];
	sc = s->seen[b] >= 2 ? season_scale(s, b) : 0.0;
	if (s->seen[b] >= DETECT_SEASON_MIN_SEEN) {
		*dev = d;
		*scale = sc;
	}
	/* Huber-style learning: one wild sample moves the bucket by at most SEASON_CLIP scales. */
	if (sc > 0.0)
		d = clamp(d, -SEASON_CLIP * sc, SEASON_CLIP * sc);
	/*
	 * The first periods learn as plain averages (the first deviation gets its full weight, so
	 * the scale is not biased low), then the bucket settles on alpha.
	 */
	s->mean[b] += fmax(s->alpha, 1.0 / (s->seen[b] + 1)) * d;
	s->mad[b] += fmax(s->alpha, 1.0 / s->seen[b]) * (fabs(d) - s->mad[b]);
	if (s->seen[b] < UINT8_MAX)
		s->seen[b]++;
}

int detect__season_update(struct detect_season *s, double ts, double x, double *dev, double *scale)
{
	if (!isfinite(ts) || !isfinite(x) || s->buckets == 0)
		return -EINVAL;
	season_step(s, ts, x, dev, scale);
	return 0;
}

static uint32_t tail_bin(double v)
{
	if (!(v > TAIL_LOW))
		return 0;
	return clamp_u32(1.0 + log(v / TAIL_LOW) / TAIL_STEP, 1, DETECT_TAIL_BINS - 1);
}

static void tail_push(struct detect_tail *t, double v)
{
	uint32_t b = tail_bin(v), i;

	t->count[b]++;
	t->total++;
	if (b > t->top)
		t->top = b;
	if (t->total < TAIL_CAP)
		return;
	/* Forget half of the past; bins that empty out no longer bound the top. */
	t->total = 0;
	t->top = 0;
	for (i = 0; i < DETECT_TAIL_BINS; i++) {
		t->count[i] /= 2;
		t->total += t->count[i];
		if (t->count[i])
			t->top = i;
	}
}

/*
 * Quantile q of the pushed values, interpolated geometrically inside its bin; 0 when it falls
 * in bin 0 (the component was mostly silent). Scans down from the highest occupied bin, so
 * the cost is the number of bins spanned by the top (1 - q) of the history.
 */
static double tail_quantile(const struct detect_tail *t, double q)
{
	double above = (1.0 - q) * t->total, acc = 0.0, pos;
	uint32_t b;

	if (!t->total)
		return 0.0;
	for (b = t->top; b > 0; b--) {
		if (acc + t->count[b] > above)
			break;
		acc += t->count[b];
	}
	if (!b)
		return 0.0;
	/* Share of the bin that lies below the quantile. */
	pos = 1.0 - (above - acc) / t->count[b];
	return TAIL_LOW * exp((b - 1 + pos) * TAIL_STEP);
}

/* Samples in span_s seconds at interval_s, clamped to [lo, hi]. */
static uint32_t span(double span_s, double interval_s, uint32_t lo, uint32_t hi)
{
	return clamp_u32(span_s / interval_s, lo, hi);
}

int detect__params_default(struct detect_params *p, double interval_s)
{
	const double day = 86400.0;
	uint32_t half;

	if (!(interval_s > 0.0) || !isfinite(interval_s))
		return -EINVAL;
	memset(p, 0, sizeof(*p));
	p->interval_s = interval_s;
	/* Spans of time turned into samples, clamped to what the structs hold. */
	p->window = span(4 * day, interval_s, 64, DETECT_WINDOW_MAX);
	/*
	 * Warm-up and refractory period: at most half the window, and at most 256 samples, so a
	 * 1 s series gives its first verdict after about 4 minutes whatever the window holds.
	 */
	half = p->window / 2 < 256 ? p->window / 2 : 256;
	p->warmup = span(day, interval_s, 32, half);
	p->verdict_after = p->warmup;
	p->short_len = 4;
	p->trend_len = clamp_u32(p->window / 4, 16, DETECT_TREND_MAX);
	p->refractory = span(day / 3, interval_s, 16, half);
	p->peak_halflife = span(1.5 * day, interval_s, 64, 8192);
	p->mask = DETECT_MASK_DEFAULT;
	p->ewma_alpha = 2.0 / (span(2 * day, interval_s, 32, 4096) + 1);
	p->tail_q = 0.999;
	p->threshold = 0.5;
	p->season_s = day;
	return detect__params_kind(p, DETECT_KIND_ANY);
}

int detect__params_kind(struct detect_params *p, uint32_t kind)
{
	switch (kind) {
	case DETECT_KIND_ANY:
		p->floor_abs = SCALE_FLOOR_ABS;
		p->floor_rel = SCALE_FLOOR_REL;
		p->floor_poisson = 0.0;
		break;
	case DETECT_KIND_RATIO:
		p->floor_abs = 0.01;
		p->floor_rel = 0.05;
		p->floor_poisson = 0.0;
		break;
	case DETECT_KIND_LATENCY:
		p->floor_abs = 1e-3;
		p->floor_rel = 0.1;
		p->floor_poisson = 0.0;
		break;
	case DETECT_KIND_RATE:
		p->floor_abs = 1.0 / p->interval_s;
		p->floor_rel = 0.05;
		p->floor_poisson = p->interval_s;
		break;
	default:
		return -EINVAL;
	}
	p->kind = kind;
	return 0;
}

int detect__params_set(struct detect_params *p, const char *key, double value)
{
	static const struct {
		const char *name;
		size_t off;
		bool count;
	} keys[] = {
		{"window", offsetof(struct detect_params, window), true},
		{"warmup", offsetof(struct detect_params, warmup), true},
		{"verdict_after", offsetof(struct detect_params, verdict_after), true},
		{"short_len", offsetof(struct detect_params, short_len), true},
		{"trend_len", offsetof(struct detect_params, trend_len), true},
		{"refractory", offsetof(struct detect_params, refractory), true},
		{"peak_halflife", offsetof(struct detect_params, peak_halflife), true},
		{"ewma_alpha", offsetof(struct detect_params, ewma_alpha), false},
		{"tail_q", offsetof(struct detect_params, tail_q), false},
		{"threshold", offsetof(struct detect_params, threshold), false},
		{"season_s", offsetof(struct detect_params, season_s), false},
		{"floor_abs", offsetof(struct detect_params, floor_abs), false},
		{"floor_rel", offsetof(struct detect_params, floor_rel), false},
	};
	uint32_t v;
	size_t i, n;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		n = strlen(keys[i].name);
		if (strncmp(key, keys[i].name, n))
			continue;
		/* A count with the suffix "_s" is given in seconds: whole samples, at least 1. */
		if (keys[i].count && !strcmp(key + n, "_s") && isfinite(value) && value > 0)
			value = fmax(1.0, round(value / p->interval_s));
		else if (key[n])
			continue;
		if (!isfinite(value))
			return -EINVAL;
		if (!keys[i].count) {
			memcpy((char *)p + keys[i].off, &value, sizeof(value));
			return 0;
		}
		if (value < 0 || value > UINT32_MAX || value != floor(value))
			return -EINVAL;
		v = (uint32_t)value;
		memcpy((char *)p + keys[i].off, &v, sizeof(v));
		return 0;
	}
	return -ENOENT;
}

int detect__mask_from_name(const char *name, uint32_t *mask)
{
	uint32_t i;

	if (!strcmp(name, "ensemble")) {
		*mask = DETECT_MASK_DEFAULT;
		return 0;
	}
	if (!strcmp(name, "all")) {
		*mask = DETECT_MASK_ALL;
		return 0;
	}
	for (i = 0; i < DETECT_C_COUNT; i++) {
		if (!strcmp(name, detect_names[i])) {
			*mask = 1u << i;
			return 0;
		}
	}
	return -ENOENT;
}

int detect__init(struct detect_ensemble *d, const struct detect_params *p)
{
	int err;

	if (p->short_len < 1 || p->short_len > DETECT_SHORT_MAX || p->warmup < 2 ||
	    p->kind >= DETECT_KIND_COUNT || !(p->floor_abs > 0.0) || !(p->floor_rel >= 0.0) ||
	    !(p->floor_poisson >= 0.0) || !(p->tail_q > 0.0 && p->tail_q < 1.0) ||
	    !(p->interval_s > 0.0) || p->peak_halflife < 1 || !(p->mask & DETECT_MASK_ALL))
		return -EINVAL;
	memset(d, 0, sizeof(*d));
	d->p = *p;
	err = detect__window_init(&d->win, p->window);
	if (!err)
		err = detect__trend_init(&d->trend, p->trend_len);
	if (!err)
		err = detect__ewma_init(&d->ewma, p->ewma_alpha);
	if (!err)
		err = detect__ewma_init(&d->spread, p->ewma_alpha);
	if (!err && p->season_s > 0.0 && p->season_s >= 4 * p->interval_s)
		err = detect__season_init(&d->season, p->season_s, p->interval_s, 0.1);
	if (err)
		return err;
	d->since_alarm = UINT64_MAX / 2;
	d->peak_decay = exp(log(0.5) / p->peak_halflife);
	d->step_floor = INFINITY;
	d->magic = DETECT_MAGIC;
	d->version = DETECT_VERSION;
	return 0;
}

/* Smallest scale believed around the level: the floors of the series' kind. */
static double kind_floor(const struct detect_params *p, double level)
{
	double f = fmax(p->floor_abs, p->floor_rel * fabs(level));

	if (p->floor_poisson > 0.0)
		f = fmax(f, sqrt(fabs(level) / p->floor_poisson));
	return f;
}

/* Robust scale of the history with the floors that keep flat and discrete series sane. */
static double robust_scale(const struct detect_ensemble *d, double median, double mad)
{
	double s = 1.4826 * mad;

	s = fmax(s, 0.5 * d->spread.mean);
	if (isfinite(d->step_floor))
		s = fmax(s, d->step_floor);
	return fmax(s, kind_floor(&d->p, median));
}

/* EWMA z-score of x with the deviation floored like the robust scale. */
static double ewma_z_floored(const struct detect_ensemble *d, double x)
{
	const struct detect_ewma *e = &d->ewma;

	if (e->n < 2)
		return 0.0;
	return fabs(x - e->mean) / fmax(sqrt(e->var), kind_floor(&d->p, e->mean));
}

/*
 * Whether the seasonal baseline has seen DETECT_SEASON_MIN_SEEN periods. A bucket counts its
 * updates, which are periods while a sample spans a bucket (300 s of a day or more: gaps in
 * the series do not matter then). Sampled faster, a bucket sees many samples per visit and
 * would score within minutes on the mean of a few: then the history must span the periods.
 */
static bool season_ripe(const struct detect_ensemble *d)
{
	const struct detect_season *s = &d->season;

	if (d->p.interval_s * s->buckets >= s->period_s)
		return true;
	return ((double)d->n + d->borrowed) * d->p.interval_s >=
	       DETECT_SEASON_MIN_SEEN * s->period_s;
}

/*
 * Compute every component deviation of x against the state learned so far; *base and *sc get
 * the window median and robust scale (NAN while the window is too short to score).
 */
static void score_components(struct detect_ensemble *d, double ts, double x, double *c,
			     double *base, double *sc)
{
	const struct detect_params *p = &d->p;
	double med, mad, scale, lo, hi, width, slope, tstat, dev, sscale;
	double short_mean, short_step, ratio;
	uint32_t k = p->short_len;

	memset(c, 0, DETECT_C_COUNT * sizeof(*c));
	*base = *sc = NAN;
	if (d->win.n < 8)
		return;
	window_mad(&d->win, &med, &mad);
	scale = robust_scale(d, med, mad);
	*base = med;
	*sc = scale;
	c[DETECT_C_MAD] = fabs(x - med) / scale;

	/* The short window includes x: mean of the k most recent samples. */
	short_mean = (d->short_sum - d->short_ring[d->short_head] + x) / k;
	c[DETECT_C_LEVEL] = fabs(short_mean - med) / scale;
	c[DETECT_C_EWMA] = ewma_z_floored(d, x);

	lo = sorted_quantile(d->win.sorted, d->win.n, 0.01);
	hi = sorted_quantile(d->win.sorted, d->win.n, 0.99);
	width = fmax(hi - lo, scale);
	if (x > hi)
		c[DETECT_C_BAND] = (x - hi) / width;
	else if (x < lo)
		c[DETECT_C_BAND] = (lo - x) / width;

	trend_fit(&d->trend, &slope, &tstat);
	if (fabs(tstat) > 3.0 && d->trend.n == d->trend.cap)
		c[DETECT_C_TREND] = fabs(slope) * d->trend.n / scale;

	if (d->season.buckets) {
		season_step(&d->season, ts, x, &dev, &sscale);
		if (sscale > 0.0 && season_ripe(d))
			c[DETECT_C_SEASON] = fabs(dev) / fmax(sscale, SEASON_SCALE_REL * scale);
	}

	short_step = (d->short_abs - d->short_step[d->short_head] + fabs(x - d->prev_x)) / k;
	if (d->spread.n > 1 && d->spread.mean > 0.0) {
		ratio = (short_step + 1e-3 * scale) / (d->spread.mean + 1e-3 * scale);
		c[DETECT_C_SPREAD] = fabs(log(ratio));
	}
}

/* Learn x into every component after it was scored. */
static void learn(struct detect_ensemble *d, double ts, double x)
{
	uint32_t k = d->p.short_len;
	double step = d->n ? fabs(x - d->prev_x) : 0.0;

	detect__window_push(&d->win, x);
	trend_learn(&d->trend, x);
	ewma_learn(&d->ewma, x);
	if (d->n) {
		ewma_learn(&d->spread, step);
		if (step > 0.0 && step < d->step_floor)
			d->step_floor = step;
	}
	d->short_sum += x - d->short_ring[d->short_head];
	d->short_abs += step - d->short_step[d->short_head];
	d->short_ring[d->short_head] = x;
	d->short_step[d->short_head] = step;
	d->short_head = (d->short_head + 1) % k;
	d->prev_x = x;
	d->last_ts = ts;
	d->n++;
}

/*
 * How unusual is each component's deviation for this series: its ratio to the tail_q quantile
 * of the same component's history (never below the component's floor), after which the
 * history learns it. The largest ratio r among the enabled components is mapped to
 * r / (1 + r): 0.5 means "as surprising as the 1-in-1000 worst moment of this component on
 * this series so far, and beyond what plain noise reaches".
 */
static double normalize(struct detect_ensemble *d, struct detect_result *r, double youth)
{
	double top = 0.0, q, v;
	uint32_t i;

	for (i = 0; i < DETECT_C_COUNT; i++) {
		if (!(d->p.mask & (1u << i)))
			continue;
		q = fmax(tail_quantile(&d->tail[i], d->p.tail_q), youth * component_floor[i]);
		v = r->component[i] / q;
		tail_push(&d->tail[i], r->component[i]);
		if (v > top) {
			top = v;
			r->driver = i;
		}
	}
	return top / (1.0 + top);
}

int detect__update(struct detect_ensemble *d, double ts, double x, struct detect_result *r)
{
	const struct detect_params *p = &d->p;
	double score, learned, youth;

	if (!isfinite(ts) || !isfinite(x) || d->magic != DETECT_MAGIC)
		return -EINVAL;
	memset(r, 0, sizeof(*r));
	r->value = x;
	learned = (double)d->n + d->borrowed;
	/* Floors raised while young: 2 times at no samples, 1 time once warmup are learned. */
	youth = 1.0 + clamp(1.0 - learned / p->warmup, 0.0, 1.0);
	r->young = learned < p->warmup;
	score_components(d, ts, x, r->component, &r->baseline, &r->scale);
	score = clamp(normalize(d, r, youth), 0.0, 1.0);
	learn(d, ts, x);
	r->surprise = score;
	/* Own samples count fully, a seed's confidence half. */
	r->confidence =
		clamp(d->n / (2.0 * p->warmup) + 0.5 * fmin(d->borrowed / (2.0 * p->warmup), 1.0),
		      0.0, 1.0);
	if (d->n + d->borrowed <= fmin(p->verdict_after, p->warmup) || d->n < p->short_len)
		return 0;
	/*
	 * Rising edge: a score keeps its value only when it beats every recent one (the peak
	 * decays with a half-life of peak_halflife samples). One event then yields one high score
	 * instead of a run of them, which is what an operator wants paged and what benchmarks
	 * that charge every flagged row reward.
	 */
	if (score > d->recent_peak)
		r->score = score;
	d->recent_peak = fmax(d->recent_peak * d->peak_decay, score);
	if (d->since_alarm < UINT64_MAX)
		d->since_alarm++;
	/*
	 * Refractory: after a raised anomaly the score itself stays 0 for refractory samples, so
	 * whoever thresholds the score (an alert rule, a benchmark) sees one event, not a burst.
	 */
	if (d->since_alarm <= p->refractory)
		r->score = 0.0;
	if (r->score >= p->threshold) {
		r->anomaly = true;
		d->since_alarm = 0;
	}
	return 0;
}

int detect__seed(struct detect_ensemble *d, const struct detect_ensemble *from)
{
	struct detect_params p = d->p;
	uint64_t learned;

	if (from->magic != DETECT_MAGIC || d->magic != DETECT_MAGIC || from->win.cap != p.window ||
	    from->trend.cap != p.trend_len || from->p.short_len != p.short_len)
		return -EINVAL;
	learned = from->n + from->borrowed;
	if (d != from)
		memcpy(d, from, sizeof(*d));
	/* The caller's own parameters (kind, floors, threshold) stay; capacities match. */
	d->p = p;
	d->borrowed = learned;
	d->n = 0;
	d->since_alarm = UINT64_MAX / 2;
	d->recent_peak = 0.0;
	return 0;
}

size_t detect__state_size(void)
{
	return blob__size(sizeof(struct detect_ensemble));
}

long detect__save(const struct detect_ensemble *d, void *buf, size_t len)
{
	if (d->magic != DETECT_MAGIC)
		return -EINVAL;
	return blob__save(buf, len, DETECT_MAGIC, DETECT_VERSION, d, sizeof(*d));
}

int detect__restore(struct detect_ensemble *d, const void *buf, size_t len)
{
	uint32_t magic, wcap, tcap, buckets, top, i;
	const unsigned char *b;
	struct detect_params p;
	int err;

	err = blob__open(buf, len, DETECT_MAGIC, DETECT_VERSION, sizeof(*d), (const void **)&b);
	if (err)
		return err;
	/* Check the fields that bound array indexing before anything is overwritten. */
	memcpy(&magic, b + offsetof(struct detect_ensemble, magic), sizeof(magic));
	memcpy(&p, b + offsetof(struct detect_ensemble, p), sizeof(p));
	memcpy(&wcap, b + offsetof(struct detect_ensemble, win.cap), sizeof(wcap));
	memcpy(&tcap, b + offsetof(struct detect_ensemble, trend.cap), sizeof(tcap));
	memcpy(&buckets, b + offsetof(struct detect_ensemble, season.buckets), sizeof(buckets));
	if (magic != DETECT_MAGIC || wcap == 0 || wcap > DETECT_WINDOW_MAX || tcap < 3 ||
	    tcap > DETECT_TREND_MAX || p.short_len < 1 || p.short_len > DETECT_SHORT_MAX ||
	    buckets > DETECT_SEASON_MAX || !(p.tail_q > 0.0 && p.tail_q < 1.0))
		return -EBADMSG;
	for (i = 0; i < DETECT_C_COUNT; i++) {
		memcpy(&top, b + offsetof(struct detect_ensemble, tail[i].top), sizeof(top));
		if (top >= DETECT_TAIL_BINS)
			return -EBADMSG;
	}
	memcpy(d, b, sizeof(*d));
	return 0;
}
