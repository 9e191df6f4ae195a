/* SPDX-License-Identifier: MIT */
/*
 * detect: streaming anomaly detectors for one numeric series.
 *
 * Pure math, no I/O and no global state: every detector lives in a caller-owned struct of fixed
 * size (no pointers inside), so memory per series is constant and the state can be copied to a
 * byte buffer and restored exactly. The same code scores live series in the daemon and CSV files
 * in `swarmwatch detect`.
 *
 * Building blocks, each usable alone:
 *   detect_ewma     exponentially weighted mean/variance and its z-score
 *   detect_window   sliding window kept sorted: median, MAD, percentiles
 *   detect_trend    least-squares slope over a sliding window with its t statistic
 *   detect_season   per-phase baseline for a period (time of day/week), learned when present
 *
 * detect_ensemble combines them into one score in [0, 1], a confidence and a decision at a
 * default threshold that needs no tuning per series. All its parameters are in samples and
 * derived from the sample interval by detect__params_default().
 */
#ifndef SWARMWATCH_DETECT_H
#define SWARMWATCH_DETECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Capacity of the sliding history window, in samples. Window samples are kept as float (24-bit
 * mantissa: a resolution of 6e-8 of the value, far below any deviation worth a verdict), which
 * with the other capacities below keeps a series at 11.7 KB, so an agent with a dozen signals
 * and its Isolation Forest stays under 200 KiB. 768 samples hold 2.7 days at 5 minutes (the
 * 4-day window wanted by detect__params_default() is cut to that); 1024 scored 0.4 points more
 * on NAB but does not fit, 512 scored 0.9 less.
 */
#define DETECT_WINDOW_MAX 768
/* Capacity of the seasonal baseline, in phase buckets per period. */
#define DETECT_SEASON_MAX 288
/* Capacity of the trend window, in samples. */
#define DETECT_TREND_MAX 128
/* Capacity of the short window of recent samples (level and spread components). */
#define DETECT_SHORT_MAX 16
/* Bins of the per-component surprise histograms (logarithmic, see detect_tail). */
#define DETECT_TAIL_BINS 128

/* Exponentially weighted mean and variance. */
struct detect_ewma {
	double alpha; /* weight of the newest sample, (0, 1] */
	double mean; /* weighted mean */
	double var; /* weighted variance around the mean */
	uint64_t n; /* samples seen */
};

/* Sliding window of the last cap samples, kept both in arrival order and sorted. */
struct detect_window {
	uint32_t cap; /* capacity, <= DETECT_WINDOW_MAX */
	uint32_t n; /* samples held, <= cap */
	uint32_t head; /* ring index of the oldest sample once full */
	uint32_t pad;
	float ring[DETECT_WINDOW_MAX]; /* arrival order */
	float sorted[DETECT_WINDOW_MAX]; /* ascending */
};

/* Least-squares slope over the last cap samples, x = 0, 1, 2, ... */
struct detect_trend {
	uint32_t cap; /* capacity, <= DETECT_TREND_MAX */
	uint32_t n; /* samples held */
	uint32_t head; /* ring index of the oldest sample once full */
	uint32_t pad;
	double sy; /* sum of y */
	double sxy; /* sum of i * y, i = age order index 0..n-1 */
	double syy; /* sum of y * y */
	float ring[DETECT_TREND_MAX]; /* samples, as float (the sums use these rounded values) */
};

/*
 * Per-phase baseline of a periodic series: one EWMA mean and mean absolute deviation per bucket
 * of the period. A bucket learns from one sample per period, so its deviation scale is read
 * from the buckets within an hour of it (the noise level of a series changes over the day, but
 * smoothly), and a bucket scores only once it has seen DETECT_SEASON_MIN_SEEN periods.
 */
#define DETECT_SEASON_MIN_SEEN 4

struct detect_season {
	double period_s; /* period in seconds (0 = none) */
	uint32_t buckets; /* phase buckets, <= DETECT_SEASON_MAX */
	uint32_t reach; /* buckets on either side that share their deviation scale */
	double alpha; /* EWMA weight per bucket update */
	float mean[DETECT_SEASON_MAX]; /* per-bucket mean */
	float mad[DETECT_SEASON_MAX]; /* per-bucket mean absolute deviation */
	uint8_t seen[DETECT_SEASON_MAX]; /* updates per bucket, saturating at 255 */
};

/*
 * Running distribution of one non-negative surprise value: a histogram with logarithmic bins
 * (bin 0 holds values at or below 0.897, below every component floor, then DETECT_TAIL_BINS - 1
 * bins of 11.4 % each up to 8.5e5, the last one open), used to read a high quantile of
 * everything the series has produced. Counts are halved
 * once the total reaches 2^15, so the memory is long (32,768 samples: 9 hours at 1 s, 114 days
 * at 5 minutes) but finite.
 */
struct detect_tail {
	uint16_t count[DETECT_TAIL_BINS]; /* samples per bin */
	uint32_t total; /* sum of count */
	uint32_t top; /* highest non-empty bin */
};

/* Index of each component score in struct detect_result. */
enum detect_component {
	DETECT_C_MAD, /* robust z of the sample against the window median/MAD */
	DETECT_C_LEVEL, /* robust z of the recent short mean: level shifts */
	DETECT_C_EWMA, /* EWMA z-score */
	DETECT_C_BAND, /* distance outside the P1..P99 band of the window */
	DETECT_C_TREND, /* significant slope that moved the series out of its range */
	DETECT_C_SEASON, /* deviation from the same phase of the period */
	DETECT_C_SPREAD, /* change of the short-term spread (noise level) */
	DETECT_C_COUNT,
};

/* Bit mask of enabled components. */
#define DETECT_MASK_ALL ((1u << DETECT_C_COUNT) - 1)
/*
 * The default ensemble: the components that together scored best on the public benchmark
 * (EWMA z, percentile band, seasonal baseline, level of the recent short window). The others
 * stay selectable by name.
 */
#define DETECT_MASK_DEFAULT                                                        \
	((1u << DETECT_C_EWMA) | (1u << DETECT_C_BAND) | (1u << DETECT_C_SEASON) | \
	 (1u << DETECT_C_LEVEL))

/*
 * What a series measures, chosen by the caller: it sets the smallest deviation scale the
 * detector will believe (detect__params_kind()), so a young series or a calm one does not turn
 * a wobble into a verdict before it has learned its own noise.
 */
enum detect_kind {
	DETECT_KIND_ANY, /* unknown: floors at 1e-3 of the level, 1e-9 absolute */
	DETECT_KIND_RATIO, /* a share in [0, 1]: floors at 1 percentage point, 5 % of the level */
	DETECT_KIND_LATENCY, /* seconds: floors at 1 ms, 10 % of the level */
	DETECT_KIND_RATE, /* events per second counted over a tick: floors at one event per tick,
			   * 5 % of the level and the Poisson deviation sqrt(rate / interval) */
	DETECT_KIND_COUNT,
};

/* Ensemble parameters; detect__params_default() fills every field. */
struct detect_params {
	double interval_s; /* sample interval in seconds */
	uint32_t window; /* history window, samples */
	uint32_t warmup; /* samples until the detector counts as fully learned (confidence 0.5) */
	uint32_t verdict_after; /* samples before the first verdict (warmup if that is fewer) */
	uint32_t short_len; /* samples of the recent short window */
	uint32_t trend_len; /* samples of the trend regression */
	uint32_t refractory; /* samples after a detection during which the score is held at 0 */
	uint32_t peak_halflife; /* samples for the rising-edge peak to decay by half */
	uint32_t mask; /* enabled components, DETECT_MASK_DEFAULT by default */
	double ewma_alpha; /* weight of the EWMA detector */
	double tail_q; /* quantile of a component's own history that maps to score 0.5 */
	double threshold; /* decision threshold on the score (0.5: beyond the tail_q quantile) */
	double season_s; /* candidate period in seconds (0 = no seasonal component) */
	uint32_t kind; /* enum detect_kind */
	uint32_t pad;
	double floor_abs; /* smallest deviation scale, in the series' unit */
	double floor_rel; /* smallest deviation scale relative to |level| */
	double floor_poisson; /* > 0: scale at least sqrt(|level| / floor_poisson) (a count rate) */
};

/* Verdict for one sample. */
struct detect_result {
	double score; /* anomaly score in [0, 1], after rising edge and refractory period */
	double surprise; /* the same before them: how unusual this sample is, [0, 1] */
	double confidence; /* how much the detector has learned, [0, 1] */
	bool anomaly; /* decision at params.threshold */
	bool young; /* still learning: floors are raised (see detect__update()) */
	uint32_t driver; /* enum detect_component that scored highest */
	double value; /* the sample */
	double baseline; /* what was expected: median of the history window (NAN before any) */
	double scale; /* robust deviation scale of the history, with the floors (NAN before any) */
	double component[DETECT_C_COUNT]; /* per-component z-like scores, >= 0 */
};

/* Streaming ensemble for one series. Plain data: copy, save and restore freely. */
struct detect_ensemble {
	uint32_t magic; /* DETECT_MAGIC once initialised */
	uint32_t version; /* layout version */
	struct detect_params p; /* parameters */
	uint64_t n; /* samples seen */
	uint64_t borrowed; /* samples learned by the state this one was seeded from */
	uint64_t since_alarm; /* samples since the last raised anomaly */
	double last_ts; /* timestamp of the previous sample, seconds */
	double prev_x; /* previous sample */
	double step_floor; /* smallest non-zero step seen: value resolution */
	double short_ring[DETECT_SHORT_MAX]; /* last short_len samples */
	double short_sum; /* sum of short_ring */
	double short_abs; /* sum of |step| over the short window */
	double short_step[DETECT_SHORT_MAX]; /* last short_len absolute steps */
	uint32_t short_head; /* ring index of the oldest short sample */
	uint32_t pad;
	double recent_peak; /* decaying maximum of recent scores (rising edge) */
	double peak_decay; /* per-sample decay of recent_peak */
	struct detect_ewma ewma; /* EWMA z-score detector */
	struct detect_ewma spread; /* long-run mean absolute step */
	struct detect_tail tail[DETECT_C_COUNT]; /* history of each component's deviation */
	struct detect_window win; /* robust history window */
	struct detect_trend trend; /* slope detector */
	struct detect_season season; /* seasonal baseline */
};

/* Names of the detectors selectable with detect__mask_from_name(). */
extern const char *const detect_names[];

/*
 * detect__ewma_init - set up an EWMA mean/variance with weight alpha in (0, 1].
 * Returns 0, or -EINVAL when alpha is out of range.
 */
int detect__ewma_init(struct detect_ewma *e, double alpha);

/*
 * detect__ewma_update - score x against the current mean/variance, then learn it.
 * Stores |x - mean| / std in *z (0 until two samples were seen; the std is floored at a small
 * fraction of |mean| so a constant series does not divide by zero). Returns 0, or -EINVAL for a
 * non-finite x, in which case the state is unchanged.
 */
int detect__ewma_update(struct detect_ewma *e, double x, double *z);

/*
 * detect__window_init - set up an empty sliding window holding up to cap samples.
 * Returns 0, or -EINVAL when cap is 0 or above DETECT_WINDOW_MAX.
 */
int detect__window_init(struct detect_window *w, uint32_t cap);

/*
 * detect__window_push - add x, evicting the oldest sample once the window is full.
 * O(cap) worst case (one memmove), O(log cap) comparisons. Returns 0, or -EINVAL for a
 * non-finite x.
 */
int detect__window_push(struct detect_window *w, double x);

/*
 * detect__window_quantile - linear-interpolated quantile q in [0, 1] of the held samples.
 * Returns 0, -ENODATA when the window is empty, -EINVAL when q is out of range.
 */
int detect__window_quantile(const struct detect_window *w, double q, double *out);

/*
 * detect__window_mad - median and median absolute deviation of the held samples, in
 * O(log n) from the sorted copy. Returns 0 or -ENODATA when the window is empty.
 */
int detect__window_mad(const struct detect_window *w, double *median, double *mad);

/*
 * detect__trend_init - set up a slope detector over the last cap samples.
 * Returns 0, or -EINVAL when cap is below 3 or above DETECT_TREND_MAX.
 */
int detect__trend_init(struct detect_trend *t, uint32_t cap);

/*
 * detect__trend_update - add y and report the least-squares slope per sample over the window
 * and its t statistic (slope divided by its standard error; 0 while fewer than 3 samples are
 * held). Returns 0, or -EINVAL for a non-finite y.
 */
int detect__trend_update(struct detect_trend *t, double y, double *slope, double *tstat);

/*
 * detect__season_init - set up a baseline for a period of period_s seconds split into at most
 * DETECT_SEASON_MAX phase buckets of at least interval_s each. alpha is the EWMA weight per
 * bucket. Returns 0, or -EINVAL for a non-positive period, interval or out-of-range alpha.
 */
int detect__season_init(struct detect_season *s, double period_s, double interval_s, double alpha);

/*
 * detect__season_update - score x at time ts (seconds) against its phase bucket, then learn it.
 * *dev receives x minus the bucket mean and *scale the deviation scale of the buckets within an
 * hour of it; both are 0 while the bucket has seen fewer than DETECT_SEASON_MIN_SEEN periods.
 * What the bucket learns is clipped to twice that scale, so a spike does not leave a false
 * alarm at the same time of the next period. Returns 0 or -EINVAL for non-finite input.
 */
int detect__season_update(struct detect_season *s, double ts, double x, double *dev, double *scale);

/*
 * detect__params_default - fill p with the defaults for a series sampled every interval_s
 * seconds. Windows are fixed spans of time converted to samples and clamped to the struct
 * capacities, so the same call suits 1 s agent series and 5 min NAB files. Returns 0, or
 * -EINVAL when interval_s is not positive.
 */
int detect__params_default(struct detect_params *p, double interval_s);

/*
 * detect__params_set - set the parameter named key ("window", "warmup", "short_len",
 * "trend_len", "refractory", "peak_halflife", "ewma_alpha", "tail_q", "threshold",
 * "season_s", "floor_abs", "floor_rel") to value, for experiments and benchmarks that sweep one
 * parameter at a time. Counts in samples must be whole and non-negative; a count key with the
 * suffix "_s" ("refractory_s") takes seconds and converts them at p->interval_s (at least 1). Returns 0, -ENOENT for an unknown key or
 * -EINVAL for a value that is not finite or not whole where a count is expected; ranges are
 * checked by detect__init().
 */
int detect__params_set(struct detect_params *p, const char *key, double value);

/*
 * detect__params_kind - set the scale floors of p for a series of the given kind (enum
 * detect_kind), keeping every other field. The floors are judgement, not fitted: a ratio that
 * moves by under 4 percentage points, a latency by under 4 ms or 40 %, or a rate by under four
 * events per tick or four Poisson deviations, is not worth a page however calm its past.
 * Returns 0 or -EINVAL for an unknown kind.
 */
int detect__params_kind(struct detect_params *p, uint32_t kind);

/*
 * detect__mask_from_name - component mask for a detector name: "ensemble" (the default mix),
 * "all" (every component) or one component: "mad", "level", "ewma", "band", "trend", "season",
 * "spread". Returns 0 or -ENOENT.
 */
int detect__mask_from_name(const char *name, uint32_t *mask);

/*
 * detect__init - set up an ensemble with parameters p (copied). Returns 0, or -EINVAL when a
 * parameter is outside the struct capacities.
 */
int detect__init(struct detect_ensemble *d, const struct detect_params *p);

/*
 * detect__update - feed the sample x taken at ts seconds and fill *r with its verdict.
 * Samples must arrive in time order. The score is 0 and no anomaly is raised for the first
 * verdict_after samples (fewer own samples after detect__seed(): short_len). Until warmup
 * samples are learned the detector is young: the floor every component is divided by is
 * raised by up to 2 times at the first verdict, falling linearly to 1 time at warmup, so a
 * verdict on a young series takes a deviation that is plain even against an uncertain
 * baseline. Confidence is the learned fraction of 2 * warmup samples, plus half the seed's
 * confidence after detect__seed(), at most 1. Returns 0, or -EINVAL for non-finite input, in which case the state is unchanged.
 */
int detect__update(struct detect_ensemble *d, double ts, double x, struct detect_result *r);

/*
 * detect__seed - start d from what another detector has learned: a sibling (another instance
 * of the same agent, same parameters) or a baseline restored with detect__restore(); d may be
 * from itself. d takes over the history, seasonal baseline and surprise histograms; its own
 * sample count restarts at 0 and the learned samples count as borrowed: verdicts come after
 * short_len samples of its own, and confidence is that of the seed, halved, growing with its
 * own samples. Returns 0, or -EINVAL when from is not initialised or its window, trend or
 * short capacities differ from d's parameters (d is then untouched).
 */
int detect__seed(struct detect_ensemble *d, const struct detect_ensemble *from);

/*
 * detect__state_size - bytes needed by detect__save().
 */
size_t detect__state_size(void);

/*
 * detect__save - write the complete state of d to buf (len bytes) for later restore. The format
 * carries a magic, a layout version, the size and a checksum; it is meant for the same build on
 * the same host. Returns the number of bytes written, -EINVAL when d is not initialised, or
 * -ENOSPC when len is below detect__state_size().
 */
long detect__save(const struct detect_ensemble *d, void *buf, size_t len);

/*
 * detect__restore - rebuild d from a buffer written by detect__save(). Continuing from the
 * restored state gives bit-identical scores. Returns 0, -EBADMSG for a corrupt buffer
 * (checksum, magic or size mismatch) or -EPROTO for another layout version; d is untouched on
 * error.
 */
int detect__restore(struct detect_ensemble *d, const void *buf, size_t len);

#endif /* SWARMWATCH_DETECT_H */
