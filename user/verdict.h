/* SPDX-License-Identifier: MIT */
/*
 * verdict: one agent's anomaly verdict and why.
 *
 * Combines, per agent, a univariate ensemble (detect.h) for each of its signals, an Isolation
 * Forest (iforest.h) over the vector of the signals' standardised deviations, and the event
 * rules (events.h) that need no learning. Each tick the caller passes the signals' values and
 * the event counts; the verdict says whether the agent is anomalous, which signals departed
 * from their baselines and in which order (the earliest is the likely cause), each one's
 * value against its baseline and the detector that fired, the forest's score with each
 * signal's share of it, and the event counts. This is what the daemon's anomaly tracker and
 * alerts consume.
 *
 * Pure and fixed-size: no I/O, no pointers inside; memory per agent is sizeof(struct
 * verdict_model), under 200 KiB with VERDICT_SIGNALS_MAX signals (bench/RESULTS.md).
 */
#ifndef SWARMWATCH_VERDICT_H
#define SWARMWATCH_VERDICT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "detect.h"
#include "events.h"
#include "iforest.h"

/* Most forest scores averaged before the forest threshold applies. */
#define VERDICT_FOREST_TICKS_MAX IFOREST_SMOOTH_MAX

/* Signals per agent. */
#define VERDICT_SIGNALS_MAX IFOREST_DIM_MAX

/* Which detector fired: a component of the univariate ensemble, the forest or an event rule. */
enum verdict_detector {
	/* 0 .. DETECT_C_COUNT - 1: enum detect_component */
	VERDICT_BY_FOREST = DETECT_C_COUNT,
	VERDICT_BY_EVENT,
	VERDICT_BY_EVIDENCE, /* the caller's evidence, while the signal's detector is young */
};

/* What a departure is about. */
enum verdict_source {
	VERDICT_SRC_SIGNAL, /* a signal (index in the caller's order) */
	VERDICT_SRC_EVENT, /* an event rule (enum events_kind) */
};

struct verdict_params {
	double interval_s; /* tick interval, seconds */
	uint32_t nsig; /* signals, 1 .. VERDICT_SIGNALS_MAX */
	uint32_t kind[VERDICT_SIGNALS_MAX]; /* enum detect_kind of each signal */
	uint32_t verdict_after; /* samples before a signal's first verdict (48) */
	double depart; /* surprise at which a signal departs (0.5: its 1-in-1000 tail) */
	double settle; /* surprise under which it counts as back (0.3) */
	uint32_t settle_ticks; /* ticks under settle before it leaves the list (10) */
	uint32_t forest_stride; /* ticks between points given to the forest (1) */
	uint32_t forest_min; /* forest points before it scores (its window, 256) */
	/*
	 * When the forest departs: its mean score over forest_ticks ticks reaches the mean of
	 * that same statistic over its own training window, under its current trees, plus
	 * forest_sigmas of its deviation there (5; iforest__train()), and at least
	 * forest_threshold (0.55). Ordinary scores depend on the number of signals and the shape
	 * of their noise: over 3 Gaussian signals the forest departs near 0.63; over 12 near 0.57,
	 * where a 4-sigma drift of half the signals scores about 0.6 and rarely reached the fixed
	 * 0.64 used before; a heavy-tailed ratio whose window makes one tick last ten lifts it
	 * with its tail (bench/anomaly/falseraise.c, bench/RESULTS.md). The floor keeps a forest
	 * trained on identical points (every score 0.5, no deviation) from firing on everything.
	 */
	double forest_sigmas;
	double forest_threshold;
	uint32_t forest_ticks; /* ticks that mean is over, <= VERDICT_FOREST_TICKS_MAX (3) */
	struct events_params events; /* crash loop, OOM kill, restarts */
};

/* One signal's or rule's departure from its baseline. */
struct verdict_departure {
	uint32_t source; /* enum verdict_source */
	uint32_t index; /* signal index or enum events_kind */
	uint32_t detector; /* enum verdict_detector that fired first */
	uint32_t pad;
	double since; /* tick time it departed, seconds */
	double value; /* latest value (an event rule: the count in its window) */
	double baseline; /* expected value (an event rule: 0) */
	double scale; /* robust deviation scale (an event rule: its threshold) */
	double peak; /* highest surprise since it departed, [0, 1] */
	double share; /* its share of the forest's score at the latest tick, [0, 1] */
};

/* The forest's view of the tick. */
struct verdict_forest {
	bool ready; /* trained on at least forest_min points */
	bool active; /* fired: the mean of forest_ticks scores at or above threshold */
	double score; /* isolation score of this tick's vector, (0, 1] (0 until ready) */
	double smoothed; /* mean score of the last forest_ticks ticks, what the threshold is on */
	double threshold; /* the score it departs at (see forest_sigmas), 0 until ready */
	double share[VERDICT_SIGNALS_MAX]; /* each signal's share of the score, sums to 1 */
};

/* Verdict for one tick. */
struct verdict {
	bool anomaly; /* some signal, the forest or an event rule is departed now */
	bool raised; /* the anomaly started at this tick */
	double score; /* highest surprise of a departed signal, the forest's score while it is
		       * departed, 1 while an event rule holds; 0 when nothing departed */
	double confidence; /* how much was learned: the least confident departed signal's, else
			    * the mean over signals; 1 when only event rules hold */
	uint32_t ndeparted; /* entries in departed[] */
	uint32_t pad;
	/* Departed signals and rules in the order they departed, earliest first. */
	struct verdict_departure departed[VERDICT_SIGNALS_MAX + EVENTS_KIND_COUNT];
	struct verdict_forest forest;
	struct events_verdict events;
	struct detect_result signal[VERDICT_SIGNALS_MAX]; /* each signal's own result */
};

/* Departure state of one signal. */
struct verdict_track {
	bool out; /* departed */
	uint8_t pad[3];
	uint32_t quiet; /* consecutive ticks under settle */
	uint32_t detector; /* detector that fired when it departed */
	uint32_t index; /* the forest's track: the signal it is blamed on */
	double since; /* departure time */
	double peak; /* highest surprise since */
};

/* Per-agent state. Plain data (under 200 KiB): allocate it, copy it, seed from it. */
struct verdict_model {
	uint32_t magic;
	uint32_t version;
	struct verdict_params p;
	uint64_t ticks; /* ticks seen */
	uint32_t forest_run; /* scores held in forest_recent, up to forest_ticks */
	uint32_t forest_skipped; /* points not learned while the forest fires */
	double forest_recent[VERDICT_FOREST_TICKS_MAX]; /* last forest scores, ring by tick */
	struct verdict_track track[VERDICT_SIGNALS_MAX]; /* signals */
	struct verdict_track forest_track; /* the forest as a whole */
	double event_since[EVENTS_KIND_COUNT]; /* when each rule started to hold */
	bool anomalous; /* anomaly at the previous tick */
	uint8_t pad3[7];
	struct detect_ensemble sig[VERDICT_SIGNALS_MAX];
	struct iforest forest;
	struct events_state events;
};

/*
 * verdict__params_default - nsig signals of the given kinds (enum detect_kind, nsig entries)
 * at a tick of interval_s seconds, with the defaults given in struct verdict_params. Returns
 * 0, or -EINVAL for a non-positive interval, nsig out of 1 .. VERDICT_SIGNALS_MAX or an
 * unknown kind.
 */
int verdict__params_default(struct verdict_params *p, double interval_s, uint32_t nsig,
			    const uint32_t *kinds);

/*
 * verdict__init - set up m (large: allocate it) with parameters p (copied). Returns 0, or
 * -EINVAL when a parameter is out of range.
 */
int verdict__init(struct verdict_model *m, const struct verdict_params *p);

/*
 * verdict__update - feed the tick at ts seconds (ticks in time order): x holds p.nsig signal
 * values (NAN for a signal with no sample this tick: it is skipped and keeps its state), ev
 * the event counts since the previous tick (NULL: none), evident a bit per signal whose
 * departure the caller has established on its own evidence (e.g. a ratio's count against a
 * prior): while that signal's detector is young (detect_result.young) and has short_len
 * samples of its own, such a signal departs, and its surprise is at least depart, whatever
 * its few samples say (a young detector's baseline may be the fault itself); later, its own
 * surprise decides. Fills *v. Returns 0, or -EINVAL for a non-finite ts or an uninitialised
 * m, in which case nothing is learned.
 */
int verdict__update(struct verdict_model *m, double ts, const double *x,
		    const struct events_delta *ev, uint32_t evident, struct verdict *v);

/*
 * verdict__seed - start m from what from has learned: every signal's baseline
 * (detect__seed()) and the forest. For a new instance of an agent whose sibling runs, or a
 * model whose signals were restored from a persisted baseline with detect__restore() (then
 * from == m). Event counts and departures start empty. Returns 0, or -EINVAL when the two
 * differ in signals or their capacities.
 */
int verdict__seed(struct verdict_model *m, const struct verdict_model *from);

/* verdict__detector_name - "ewma", "band", ..., "forest", "event"; "unknown" out of range. */
const char *verdict__detector_name(uint32_t detector);

/*
 * verdict__explain - one line for an operator: the departures in order with value, baseline
 * and detector, the forest's score and its top shares, and the event counts, e.g.
 * "cpu departed first (3.2 vs 1.1 +- 0.2, season), then errors +12 s (0.31 vs 0.02, band);
 * forest 0.82 (cpu 61 %, errors 30 %)". names gives the signals' names (NULL: "signal N").
 * Returns the length snprintf() would write; the text is cut to fit len.
 */
int verdict__explain(const struct verdict *v, const char *const *names, char *buf, size_t len);

#endif /* SWARMWATCH_VERDICT_H */
