/* SPDX-License-Identifier: MIT */
/*
 * iforest: Isolation Forest for multivariate points (Liu, Ting and Zhou, 2008).
 *
 * Each point is a small feature vector (for an agent: latency quantiles, error ratio, syscall
 * rate, CPU). The forest keeps a sliding window of recent points in its own struct and is
 * rebuilt from a random sub-sample of that window on a schedule; features are standard-scaled
 * with the mean and deviation of the training sample. The score of a point is
 * s = 2^(-E[h] / c(psi)): near 1 for points that isolate quickly, well under 0.5 for points
 * deep inside the data. Randomness comes from a seeded generator stored in the struct, so a
 * given seed and input always give the same scores, and a saved state continues identically.
 */
#ifndef SWARMWATCH_IFOREST_H
#define SWARMWATCH_IFOREST_H

#include <stddef.h>
#include <stdint.h>

/*
 * Capacities. One forest runs per agent, so they are sized for an agent's memory budget
 * (200 KiB with its univariate detectors): 32 trees of 64 points take 48 KiB of nodes and 256
 * points of 12 features 12 KiB of window. Liu et al. found path lengths converge well before
 * 100 trees and that small sub-samples isolate anomalies best (their Figure 7: psi = 64 to 256
 * scores within a few AUC points of each other).
 */
#define IFOREST_TREES_MAX 32
#define IFOREST_PSI_MAX 64
#define IFOREST_DIM_MAX 12
#define IFOREST_WINDOW_MAX 256
/* A tree over psi points has at most 2 * psi - 1 nodes. */
#define IFOREST_NODES_MAX (2 * IFOREST_PSI_MAX - 1)
/* Most consecutive scores one calibration statistic is the mean of. */
#define IFOREST_SMOOTH_MAX 16

/* One tree node: internal when left != 0, else an external node holding size points. */
struct iforest_node {
	float split; /* go left when x[feature] < split; external: c(size), added to the path */
	uint16_t left; /* index of the left child, 0 for an external node */
	uint16_t right; /* index of the right child */
	uint16_t size; /* points that reached an external node */
	uint8_t feature; /* split feature */
	uint8_t pad;
};

struct iforest_params {
	uint32_t trees; /* trees, <= IFOREST_TREES_MAX (default 100) */
	uint32_t psi; /* sub-sample per tree, <= IFOREST_PSI_MAX (default 256) */
	uint32_t dim; /* features per point, <= IFOREST_DIM_MAX */
	uint32_t window; /* sliding training window, <= IFOREST_WINDOW_MAX (default 2048) */
	uint32_t retrain; /* points between rebuilds (default window / 4) */
	uint32_t max_depth; /* height limit (default 8) */
	uint32_t smooth; /* calibration: mean of this many consecutive scores, 1 .. IFOREST_SMOOTH_MAX */
	uint64_t seed; /* generator seed */
};

struct iforest {
	uint32_t magic;
	uint32_t version;
	struct iforest_params p;
	uint64_t rng; /* generator state */
	uint64_t seen; /* points pushed */
	uint32_t held; /* points in the window */
	uint32_t head; /* ring index of the oldest point */
	uint32_t since_train; /* points since the last rebuild */
	uint32_t trained_psi; /* sample of the current trees, 0 = none */
	/*
	 * The forest's picture of "ordinary", set by iforest__train(): mean and standard
	 * deviation of the means of p.smooth consecutive scores of the window's own points
	 * under the current trees.
	 */
	double score_mean;
	double score_sd;
	double mean[IFOREST_DIM_MAX]; /* feature means of the training sample */
	double inv_sd[IFOREST_DIM_MAX]; /* 1 / feature deviation */
	float window[IFOREST_WINDOW_MAX][IFOREST_DIM_MAX]; /* recent points, raw units */
	uint16_t nodes_used[IFOREST_TREES_MAX]; /* nodes per tree */
	struct iforest_node nodes[IFOREST_TREES_MAX][IFOREST_NODES_MAX];
};

/*
 * iforest__c - average path length of an unsuccessful search in a binary search tree of n
 * points, c(n) = 2 H(n - 1) - 2 (n - 1) / n, with c(2) = 1 and c(n <= 1) = 0. It normalises
 * path lengths into scores.
 */
double iforest__c(double n);

/*
 * iforest__params_default - 32 trees of 64 points, a 256-point window rebuilt every 64 points,
 * height limit 8 (two levels past ceil(log2(psi)): with 32 trees the extra depth keeps inliers
 * and outliers further apart), calibration on single scores (smooth 1), for dim features.
 * Returns 0, or -EINVAL when dim is 0 or above IFOREST_DIM_MAX.
 */
int iforest__params_default(struct iforest_params *p, uint32_t dim);

/*
 * iforest__init - set up an empty forest (f is large: allocate it, do not put it on the stack).
 * Returns 0, or -EINVAL when a parameter exceeds the struct capacities.
 */
int iforest__init(struct iforest *f, const struct iforest_params *p);

/*
 * iforest__push - add a point (p.dim values) to the sliding window and rebuild the forest when
 * the schedule says so (the first time once psi points are held). Returns 0, or -EINVAL when
 * a value is not finite.
 */
int iforest__push(struct iforest *f, const double *x);

/*
 * iforest__train - rebuild the forest now from a random sub-sample of the window, then score
 * every point of the window with the new trees and keep, in f->score_mean and f->score_sd, the
 * mean and standard deviation of the means of p.smooth consecutive scores, in the window's time
 * order: how high ordinary data scores under these trees, which depends on the dimension and
 * on the shape of the data (the more features, the nearer every score is to 0.5; heavy tails
 * reach higher) and, for p.smooth > 1, on how long a departure of the data lasts. Scoring the
 * window costs as much as scoring p.window points. Returns 0, or -ENODATA when fewer than 2
 * points are held.
 */
int iforest__train(struct iforest *f);

/*
 * iforest__path_length - mean over the trees of the path length h(x) of x, including the c(size)
 * adjustment at truncated external nodes. Returns 0 or -ENODATA before the first training.
 */
int iforest__path_length(const struct iforest *f, const double *x, double *h);

/*
 * iforest__score - anomaly score s = 2^(-E[h(x)] / c(psi)) of x in (0, 1]. Returns 0, or
 * -ENODATA before the first training.
 */
int iforest__score(const struct iforest *f, const double *x, double *score);

/*
 * iforest__state_size, iforest__save, iforest__restore - persist a forest exactly, as
 * detect__save() and detect__restore() do for the univariate ensemble; same return values,
 * except that a restore failing with -EBADMSG after the checksum matched (an index out of
 * range) leaves f overwritten: initialise it again before use.
 */
size_t iforest__state_size(void);
long iforest__save(const struct iforest *f, void *buf, size_t len);
int iforest__restore(struct iforest *f, const void *buf, size_t len);

#endif /* SWARMWATCH_IFOREST_H */
