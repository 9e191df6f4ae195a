// SPDX-License-Identifier: MIT
/*
 * iforest: Isolation Forest over a sliding window of multivariate points (see iforest.h).
 */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "blob.h"
#include "iforest.h"

#define IFOREST_MAGIC 0x46495753u /* "SWIF" */
#define IFOREST_VERSION 3u
#define EULER_GAMMA 0.5772156649015329

/* splitmix64: small, fast and good enough to pick samples and split points. */
static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform double in [0, 1). */
static double rng_unit(uint64_t *s)
{
	return (rng_next(s) >> 11) * (1.0 / 9007199254740992.0);
}

/* Uniform integer in [0, n), n > 0. */
static uint32_t rng_below(uint64_t *s, uint32_t n)
{
	return (uint32_t)(((rng_next(s) >> 32) * (uint64_t)n) >> 32);
}

double iforest__c(double n)
{
	if (n <= 1.0)
		return 0.0;
	if (n <= 2.0)
		return 1.0;
	return 2.0 * (log(n - 1.0) + EULER_GAMMA) - 2.0 * (n - 1.0) / n;
}

int iforest__params_default(struct iforest_params *p, uint32_t dim)
{
	if (dim == 0 || dim > IFOREST_DIM_MAX)
		return -EINVAL;
	memset(p, 0, sizeof(*p));
	p->trees = IFOREST_TREES_MAX;
	p->psi = IFOREST_PSI_MAX;
	p->dim = dim;
	p->window = IFOREST_WINDOW_MAX;
	p->retrain = p->window / 4;
	p->max_depth = 8;
	p->smooth = 1;
	p->seed = 0x5357494646ull;
	return 0;
}

int iforest__init(struct iforest *f, const struct iforest_params *p)
{
	if (p->trees == 0 || p->trees > IFOREST_TREES_MAX || p->psi < 2 ||
	    p->psi > IFOREST_PSI_MAX || p->dim == 0 || p->dim > IFOREST_DIM_MAX ||
	    p->window < p->psi || p->window > IFOREST_WINDOW_MAX || p->retrain == 0 ||
	    p->max_depth == 0 || p->max_depth > 30 || p->smooth == 0 ||
	    p->smooth > IFOREST_SMOOTH_MAX)
		return -EINVAL;
	memset(f, 0, sizeof(*f));
	f->p = *p;
	f->rng = p->seed;
	f->magic = IFOREST_MAGIC;
	f->version = IFOREST_VERSION;
	return 0;
}

/* Scaled feature j of window point i. */
static double scaled(const struct iforest *f, uint32_t i, uint32_t j)
{
	return (f->window[i][j] - f->mean[j]) * f->inv_sd[j];
}

/* Working state of one tree build. */
struct build {
	struct iforest *f;
	struct iforest_node *nodes; /* the tree being built */
	uint32_t used; /* nodes allocated */
	uint16_t *idx; /* window indices of the sample, partitioned in place */
};

/* Build the subtree over idx[lo, hi) at depth; returns its node index. */
static uint16_t build_node(struct build *b, uint32_t lo, uint32_t hi, uint32_t depth)
{
	struct iforest *f = b->f;
	uint32_t me = b->used++, j, k, tries, feat = 0, mid;
	double mn = 0.0, mx = 0.0, v;
	struct iforest_node *n = &b->nodes[me];
	float split;

	memset(n, 0, sizeof(*n));
	n->size = (uint16_t)(hi - lo);
	/* As an external node it adds c(size) to a path: kept here, not computed per walk. */
	n->split = (float)iforest__c(n->size);
	if (hi - lo <= 1 || depth >= f->p.max_depth)
		return (uint16_t)me;
	/* A random feature that still varies here; a few tries, then give up as a leaf. */
	for (tries = 0; tries < 2 * f->p.dim; tries++) {
		feat = rng_below(&f->rng, f->p.dim);
		mn = mx = scaled(f, b->idx[lo], feat);
		for (k = lo + 1; k < hi; k++) {
			v = scaled(f, b->idx[k], feat);
			mn = fmin(mn, v);
			mx = fmax(mx, v);
		}
		if (mx > mn)
			break;
	}
	if (!(mx > mn))
		return (uint16_t)me;
	split = (float)(mn + rng_unit(&f->rng) * (mx - mn));
	/* Partition: points below the split first. */
	mid = lo;
	for (k = lo; k < hi; k++) {
		if (scaled(f, b->idx[k], feat) < split) {
			j = b->idx[k];
			b->idx[k] = b->idx[mid];
			b->idx[mid++] = (uint16_t)j;
		}
	}
	if (mid == lo || mid == hi)
		return (uint16_t)me; /* float rounding put everything on one side */
	n->feature = (uint8_t)feat;
	n->split = split;
	n->left = build_node(b, lo, mid, depth + 1);
	n->right = build_node(b, mid, hi, depth + 1);
	return (uint16_t)me;
}

/* Mean and inverse deviation of each feature over the whole window. */
static void fit_scaler(struct iforest *f)
{
	double s, ss, m, var;
	uint32_t i, j;

	for (j = 0; j < f->p.dim; j++) {
		s = ss = 0.0;
		for (i = 0; i < f->held; i++)
			s += f->window[i][j];
		m = s / f->held;
		for (i = 0; i < f->held; i++)
			ss += (f->window[i][j] - m) * (f->window[i][j] - m);
		var = ss / f->held;
		f->mean[j] = m;
		f->inv_sd[j] = var > 0.0 ? 1.0 / sqrt(var) : 1.0;
	}
}

static void calibrate(struct iforest *f);

int iforest__train(struct iforest *f)
{
	uint16_t all[IFOREST_WINDOW_MAX], sample[IFOREST_PSI_MAX];
	struct build b = {.f = f, .idx = sample};
	uint32_t psi, t, i, r;
	uint16_t tmp;

	if (f->held < 2)
		return -ENODATA;
	psi = f->held < f->p.psi ? f->held : f->p.psi;
	fit_scaler(f);
	for (i = 0; i < f->held; i++)
		all[i] = (uint16_t)i;
	for (t = 0; t < f->p.trees; t++) {
		/* Partial Fisher-Yates: psi distinct points of the window. */
		for (i = 0; i < psi; i++) {
			r = i + rng_below(&f->rng, f->held - i);
			tmp = all[i];
			all[i] = all[r];
			all[r] = tmp;
			sample[i] = all[i];
		}
		b.nodes = f->nodes[t];
		b.used = 0;
		build_node(&b, 0, psi, 0);
		f->nodes_used[t] = (uint16_t)b.used;
	}
	f->trained_psi = psi;
	f->since_train = 0;
	calibrate(f);
	return 0;
}

int iforest__push(struct iforest *f, const double *x)
{
	uint32_t j, slot;

	for (j = 0; j < f->p.dim; j++) {
		if (!isfinite(x[j]))
			return -EINVAL;
	}
	if (f->held < f->p.window) {
		slot = f->held++;
	} else {
		slot = f->head;
		f->head = (f->head + 1) % f->p.window;
	}
	for (j = 0; j < f->p.dim; j++)
		f->window[slot][j] = (float)x[j];
	f->seen++;
	f->since_train++;
	if ((!f->trained_psi && f->held >= f->p.psi) ||
	    (f->trained_psi && f->since_train >= f->p.retrain))
		return iforest__train(f);
	return 0;
}

static double tree_path(const struct iforest_node *nodes, const double *z)
{
	const struct iforest_node *n = nodes;
	double h = 0.0;

	while (n->left) {
		n = z[n->feature] < n->split ? &nodes[n->left] : &nodes[n->right];
		h += 1.0;
	}
	return h + n->split;
}

int iforest__path_length(const struct iforest *f, const double *x, double *h)
{
	double z[IFOREST_DIM_MAX], sum = 0.0;
	uint32_t j, t;

	if (!f->trained_psi)
		return -ENODATA;
	for (j = 0; j < f->p.dim; j++)
		z[j] = (x[j] - f->mean[j]) * f->inv_sd[j];
	for (t = 0; t < f->p.trees; t++)
		sum += tree_path(f->nodes[t], z);
	*h = sum / f->p.trees;
	return 0;
}

int iforest__score(const struct iforest *f, const double *x, double *score)
{
	double h;
	int err;

	err = iforest__path_length(f, x, &h);
	if (err)
		return err;
	*score = pow(2.0, -h / iforest__c(f->trained_psi));
	return 0;
}

/*
 * The window's scores under the trees just built, as means of p.smooth consecutive points from
 * the oldest (see iforest__train()).
 */
static void calibrate(struct iforest *f)
{
	double x[IFOREST_DIM_MAX], last[IFOREST_SMOOTH_MAX], s, run = 0.0, sum = 0.0, ss = 0.0;
	uint32_t i, j, k = f->p.smooth, first = f->held < f->p.window ? 0 : f->head, got = 0, n = 0;

	for (i = 0; i < f->held; i++) {
		for (j = 0; j < f->p.dim; j++)
			x[j] = f->window[(first + i) % f->p.window][j];
		if (iforest__score(f, x, &s))
			return;
		/* run is the sum of the last k scores. */
		run += s - (got >= k ? last[got % k] : 0.0);
		last[got % k] = s;
		if (++got < k)
			continue;
		sum += run / k;
		ss += (run / k) * (run / k);
		n++;
	}
	f->score_mean = n ? sum / n : 0.5;
	f->score_sd = n ? sqrt(fmax(0.0, ss / n - f->score_mean * f->score_mean)) : 0.0;
}

size_t iforest__state_size(void)
{
	return blob__size(sizeof(struct iforest));
}

long iforest__save(const struct iforest *f, void *buf, size_t len)
{
	if (f->magic != IFOREST_MAGIC)
		return -EINVAL;
	return blob__save(buf, len, IFOREST_MAGIC, IFOREST_VERSION, f, sizeof(*f));
}

/* Every index the scoring and training paths follow must stay inside the arrays. */
static int check_restored(const struct iforest *f)
{
	const struct iforest_params *p = &f->p;
	uint32_t t, i;

	if (f->magic != IFOREST_MAGIC || p->trees == 0 || p->trees > IFOREST_TREES_MAX ||
	    p->psi < 2 || p->psi > IFOREST_PSI_MAX || p->dim == 0 || p->dim > IFOREST_DIM_MAX ||
	    p->window < p->psi || p->window > IFOREST_WINDOW_MAX || f->held > p->window ||
	    f->head >= p->window || f->trained_psi > IFOREST_PSI_MAX || p->smooth == 0 ||
	    p->smooth > IFOREST_SMOOTH_MAX || !(f->score_mean >= 0.0 && f->score_mean <= 1.0) ||
	    !(f->score_sd >= 0.0 && f->score_sd <= 1.0))
		return -EBADMSG;
	for (t = 0; t < p->trees; t++) {
		if (f->nodes_used[t] > IFOREST_NODES_MAX)
			return -EBADMSG;
		for (i = 0; i < f->nodes_used[t]; i++) {
			const struct iforest_node *n = &f->nodes[t][i];

			if (!n->left)
				continue;
			if (n->left <= i || n->right <= i || n->left >= f->nodes_used[t] ||
			    n->right >= f->nodes_used[t] || n->feature >= p->dim)
				return -EBADMSG;
		}
	}
	return 0;
}

int iforest__restore(struct iforest *f, const void *buf, size_t len)
{
	const void *state;
	int err;

	err = blob__open(buf, len, IFOREST_MAGIC, IFOREST_VERSION, sizeof(*f), &state);
	if (err)
		return err;
	/* The checksum vouches for the bytes; check_restored() for the indices in them. */
	memcpy(f, state, sizeof(*f));
	return check_restored(f);
}
