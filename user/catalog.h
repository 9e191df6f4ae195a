/* SPDX-License-Identifier: MIT */
/*
 * catalog: the one list of the metric families swarmwatch exports. Each family is declared once
 * (name, type, unit, help, label names, histogram buckets) with the accessor that reads its
 * samples out of a snapshot; the /metrics exposition, the series store, /api/v1/series and rule
 * expressions all iterate it, so a family added here appears everywhere at once.
 *
 * Names follow the Prometheus conventions (base units, `_total` on counters); histogram buckets
 * are upper bounds `le` in the family's unit, +Inf implied.
 */
#ifndef SW_CATALOG_H
#define SW_CATALOG_H

#include <linux/types.h>
#include <stdbool.h>

struct snapshot;

enum catalog_type {
	CATALOG_COUNTER,
	CATALOG_GAUGE,
	CATALOG_HISTOGRAM,
};

#define CATALOG_MAX_LABELS 8 /* the most label names a family has */

struct catalog_family {
	const char *name;
	const char *help;
	const char *unit; /* base unit the name carries: "seconds", "bytes", "ratio"; "" for none */
	enum catalog_type type;
	const char *const *labels; /* label names, nlabels of them (NULL when none) */
	int nlabels;
	const double *le; /* histograms: nle finite upper bounds, ascending; NULL otherwise */
	int nle;
};

/* One sample of a family: a value, or a histogram's buckets. Valid during the callback only. */
struct catalog_sample {
	const struct catalog_family *family;
	const char *const *values; /* label values, family->nlabels of them */
	double value; /* counters and gauges */
	const __u64 *buckets; /* histograms: nle + 1 non-cumulative counts, the last +Inf */
	double sum; /* histograms: sum of the observations, in the family's unit */
	__u64 count; /* histograms: observations, the sum of buckets */
};

typedef int (*catalog_fn)(void *ctx, const struct catalog_sample *x);

/*
 * Families known, and family i in [0, catalog__nfamilies()) in exposition order; else NULL. The
 * declared families come first, then the app families registered so far (catalog__app_family),
 * in the order they were registered; a family pointer stays valid for the life of the process.
 * Any thread may call these while the tick registers app families.
 */
int catalog__nfamilies(void);
const struct catalog_family *catalog__family(int i);

/* The family named name, declared or a registered app family, or NULL. */
const struct catalog_family *catalog__find(const char *name);

#define CATALOG_APP_FAMILIES_MAX 1024 /* app families one process registers at most */

/*
 * catalog__app_family - the index of the app family `name` (swarmwatch_agent_app_..., see
 * apps.h) of type `type`, registered on first use with label names labels[0..nlabels) (copied;
 * at most CATALOG_MAX_LABELS, the first "agent"). Its samples are a snapshot's app view
 * (snapshot->apps) and it is exported while that view has some. Called by the tick's thread
 * only. Returns the index (>= 0), -EEXIST when the name is taken by a family of another type or
 * by a declared family, -EINVAL for a bad label count, -ENOSPC when CATALOG_APP_FAMILIES_MAX are
 * registered, or -ENOMEM.
 */
int catalog__app_family(const char *name, enum catalog_type type, const char *const *labels,
			int nlabels);

/* The app family of index i, or NULL. */
const struct catalog_family *catalog__app(int i);

/* Label value `name` of "counter", "gauge" or "histogram". */
const char *catalog__type_name(enum catalog_type t);

/*
 * Whether family f is exported for snapshot s: some families exist only when their source runs
 * (resident memory when the task iterator ran, anomaly families when the tick was scored, TLS
 * families when TLS capture is configured). An exported family may have no samples.
 */
bool catalog__exported(const struct catalog_family *f, const struct snapshot *s);

/*
 * catalog__for_each_sample - calls fn for each sample of family f in snapshot s, in exposition
 * order (none when f is not exported). Stops at the first non-zero return of fn and returns it;
 * 0 otherwise. Families of swarmwatch's own process read /proc/self at the call.
 */
int catalog__for_each_sample(const struct catalog_family *f, const struct snapshot *s,
			     catalog_fn fn, void *ctx);

/* The same over every exported family, in exposition order. */
int catalog__for_each(const struct snapshot *s, catalog_fn fn, void *ctx);

#endif
