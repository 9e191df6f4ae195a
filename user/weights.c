// SPDX-License-Identifier: MIT
/* weights: routing weights by round robin, configuration, least connections or quality. */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "weights.h"

const char *const weights_algorithm_names[WEIGHTS_ALGORITHMS] = {
	"quality",
	"round_robin",
	"weighted",
	"least_connections",
};

int weights__algorithm(const char *name, enum weights_algorithm *out)
{
	int i;

	for (i = 0; i < WEIGHTS_ALGORITHMS; i++)
		if (!strcmp(name, weights_algorithm_names[i])) {
			*out = (enum weights_algorithm)i;
			return 0;
		}
	return -EINVAL;
}

/* The quality score of one instance, NAN when it has seen no request. */
static double quality_score(const struct weights_in *w)
{
	double s;

	if (!isfinite(w->success_ratio) || !isfinite(w->latency_s))
		return NAN;
	s = w->success_ratio / fmax(w->latency_s, 1e-3);
	if (isfinite(w->quality))
		s *= fmin(fmax(w->quality, 0), 1);
	return fmax(s, 0);
}

int weights__compute(enum weights_algorithm a, const struct weights_in *in, size_t n, double *out)
{
	double sum = 0, mean = 0;
	size_t i, scored = 0;

	if ((unsigned)a >= WEIGHTS_ALGORITHMS)
		return -EINVAL;
	if (a == WEIGHTS_QUALITY) {
		for (i = 0; i < n; i++) {
			double s = in[i].open ? NAN : quality_score(&in[i]);

			if (isfinite(s)) {
				mean += s;
				scored++;
			}
		}
		mean = scored ? mean / scored : 1;
		/* Every scored instance at 0 leaves the unscored ones all the traffic. */
		if (scored && mean == 0)
			mean = 1;
	}
	for (i = 0; i < n; i++) {
		double w = 0, c;

		if (in[i].open) {
			out[i] = 0;
			continue;
		}
		switch (a) {
		case WEIGHTS_ROUND_ROBIN:
			w = 1;
			break;
		case WEIGHTS_WEIGHTED:
			w = isfinite(in[i].configured) ? fmax(in[i].configured, 0) : 1;
			break;
		case WEIGHTS_LEAST_CONNECTIONS:
			c = isfinite(in[i].connections) ? fmax(in[i].connections, 0) : 0;
			w = 1 / (1 + c);
			break;
		case WEIGHTS_QUALITY:
			w = quality_score(&in[i]);
			if (!isfinite(w))
				w = mean;
			break;
		default:
			break;
		}
		out[i] = w;
		sum += w;
	}
	/* Every instance that may take traffic scored 0: they share it equally. */
	if (a == WEIGHTS_QUALITY && !(sum > 0))
		for (i = 0, sum = 0; i < n; i++)
			sum += out[i] = in[i].open ? 0 : 1;
	for (i = 0; i < n; i++)
		out[i] = sum > 0 ? out[i] / sum : 0;
	return 0;
}
