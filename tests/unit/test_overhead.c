// SPDX-License-Identifier: MIT
/*
 * The pure parts of the overhead budget and of latency sampling: N from a CPU's rate, the
 * random skips and their weights (simulated: the weights must add up to the syscalls), the
 * cost share, the duty cycle, and extrapolation of counters seen for part of a tick.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <linux/types.h>

#include "overhead.h"
#include "sample.h"

static void test_shift_from_rate(void **state)
{
	(void)state;
	assert_int_equal(sw_lat_shift(0, 100), 0);
	assert_int_equal(sw_lat_shift(100, 100), 0); /* at the target: every one timed */
	assert_int_equal(sw_lat_shift(199, 100), 0);
	assert_int_equal(sw_lat_shift(200, 100), 1);
	assert_int_equal(sw_lat_shift(300, 100), 2); /* 3 -> 4, the next power of two */
	assert_int_equal(sw_lat_shift(400, 100), 2);
	assert_int_equal(sw_lat_shift(500, 100), 3);
	assert_int_equal(sw_lat_shift(5000000, 1000), 13); /* a getppid loop at 5 M/s, 1 s tick */
	assert_int_equal(sw_lat_shift(0xffffffffu, 1), SW_LAT_MAX_SHIFT);
	assert_int_equal(sw_lat_shift(1000000, 0), 0); /* sampling off */
	assert_int_equal(overhead__samples_per_tick(1000000000ULL), OVERHEAD_TIMED_PER_S);
	assert_int_equal(overhead__samples_per_tick(100000000ULL), OVERHEAD_TIMED_PER_S / 10);
	assert_int_equal(overhead__samples_per_tick(1), 1); /* never 0 */
}

static void test_skip_bounds(void **state)
{
	__u32 shift, r;

	(void)state;
	for (r = 0; r < 1000; r++)
		assert_int_equal(sw_lat_skip(0, r * 2654435761u), 1);
	for (shift = 1; shift <= SW_LAT_MAX_SHIFT; shift++) {
		__u32 n = 1u << shift;

		assert_int_equal(sw_lat_skip(shift, 0), n / 2);
		assert_int_equal(sw_lat_skip(shift, n), n / 2 + n);
		assert_int_equal(sw_lat_skip(shift, n + 1), n / 2);
		assert_true(sw_lat_skip(shift, 0xffffffffu) >= n / 2);
		assert_true(sw_lat_skip(shift, 0xffffffffu) <= n / 2 + n);
	}
}

static __u32 xorshift(__u32 *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/*
 * A CPU's sampling as syscalls.bpf.c runs it, over `calls` syscalls with N = 2^shift: the sum
 * of the weights of the timed ones, and how many were timed.
 */
static double simulate(__u64 calls, __u32 shift, __u32 seed, __u64 *timed)
{
	__u32 rng = seed;
	__s64 skip = 0;
	double weights = 0;
	__u64 i;

	*timed = 0;
	for (i = 0; i < calls; i++) {
		if (--skip > 0)
			continue;
		weights += (double)(1u << shift);
		(*timed)++;
		skip = sw_lat_skip(shift, xorshift(&rng));
	}
	return weights;
}

static void test_weights_unbiased(void **state)
{
	const __u64 calls = 2000000;
	double sum = 0, w;
	__u64 timed;
	int seed;

	(void)state;
	/* N = 1: exact. */
	assert_true(simulate(calls, 0, 1, &timed) == (double)calls);
	assert_true(timed == calls);
	/* N = 1024, about 2,000 timed per run: each run within 5 sigma (1/(3.5 sqrt(k)) = 0.6 %). */
	for (seed = 1; seed <= 20; seed++) {
		w = simulate(calls, 10, 0x9e3779b9u * seed, &timed);
		assert_true(fabs(w - calls) / calls < 0.03);
		assert_true(timed > calls / 1024 * 9 / 10 && timed < calls / 1024 * 11 / 10);
		sum += w;
	}
	/* ... and their mean within 1 % (no bias; sigma of the mean 0.14 %). */
	assert_true(fabs(sum / 20 - calls) / calls < 0.01);
	/* A periodic workload: every other syscall slow. Half the timed ones are slow. */
	{
		__u32 rng = 7;
		__s64 skip = 0;
		__u64 i, slow = 0, all = 0;

		for (i = 0; i < calls; i++) {
			if (--skip > 0)
				continue;
			all++;
			slow += i & 1;
			skip = sw_lat_skip(4, xorshift(&rng));
		}
		assert_true(fabs((double)slow / all - 0.5) < 0.05);
	}
}

static void test_share_and_duty(void **state)
{
	struct overhead_costs c = OVERHEAD_COSTS_DEFAULT;
	struct overhead_tick t = {.seconds = 1, .attached = 1, .ncpus = 2};
	double share;

	(void)state;
	assert_true(overhead__share(&c, &t) == 0);
	/* 1 M syscalls at 150 ns on 2 CPUs for 1 s: 7.5 % of the host. */
	t.syscalls = 1000000;
	share = overhead__share(&c, &t);
	assert_true(fabs(share - 0.075) < 1e-12);
	t.timed = 1000;
	t.switches = 10000;
	assert_true(fabs(overhead__share(&c, &t) - (150e6 + 120e3 + 2e6) / 2e9) < 1e-12);
	t.seconds = 0;
	assert_true(overhead__share(&c, &t) == 0);
	t.seconds = 1;
	t.ncpus = 0;
	assert_true(overhead__share(&c, &t) == 0);

	/* Within budget: full capture. */
	assert_true(overhead__duty(0.005, 1, 0.01) == 1);
	assert_true(overhead__duty(0.01, 1, 0.01) == 1);
	/* Above: the fraction that brings the cost to the budget. */
	assert_true(fabs(overhead__duty(0.075, 1, 0.01) - 0.01 / 0.075) < 1e-12);
	/* Seen for a fifth of the tick at 1 %: full capture would cost 5 %. */
	assert_true(fabs(overhead__duty(0.01, 0.2, 0.01) - 0.2) < 1e-12);
	/* The storm ended: what a fifth of the tick saw fits when scaled up, back to 1. */
	assert_true(overhead__duty(0.001, 0.2, 0.01) == 1);
	/* Never below the floor, and no budget means full capture. */
	assert_true(overhead__duty(50, 1, 0.01) == OVERHEAD_MIN_DUTY);
	assert_true(overhead__duty(0.5, 1, 0) == 1);
	assert_true(overhead__duty(0.5, 0, 0.01) == 1);

	/* Smoothing: a third of the way, at most times 4, but at once when a storm ends. */
	assert_true(overhead__smooth(0, 0.05, 0.01, 0.5) == 0.05);
	assert_true(fabs(overhead__smooth(0.05, 0.08, 0.01, 0.5) - 0.06) < 1e-12);
	assert_true(fabs(overhead__smooth(0.05, 0.09, 0.01, 0.5) - 0.05 - 0.04 / 3) < 1e-12);
	assert_true(overhead__smooth(0.05, 0.5, 0.01, 0.5) == 0.2);
	assert_true(overhead__smooth(0.05, 0.009, 0.01, 0.5) == 0.009);
	/* A tick seen whole measured the full cost: a storm that starts is bounded at once. */
	assert_true(overhead__smooth(0.001, 0.5, 0.01, 1) == 0.5);
}

/* Cumulative count of out's first k + 1 buckets. */
static __u64 cum(const __u64 *out, int k)
{
	__u64 c = 0;
	int i;

	for (i = 0; i <= k; i++)
		c += out[i];
	return c;
}

static void test_calibrate(void **state)
{
	__u64 raw[4] = {3, 5, 2, 100}, last[4] = {0}, out[4];
	double adj[4] = {0};

	(void)state;
	/* Every syscall timed: the histogram is the count, nothing moves. */
	assert_false(overhead__calibrate(raw, last, adj, out, 3, 10, true));
	assert_true(out[0] == 3 && out[1] == 5 && out[2] == 2 && out[3] == 100);
	raw[0] = 4;
	raw[3] = 110;
	assert_false(overhead__calibrate(raw, last, adj, out, 3, 11, false));
	assert_true(out[0] == 4 && cum(out, 2) == 11 && out[3] == 110);
	/* Four timed (two fast, two slow) stand for 12: spread 3 to 1 on the window's shape. */
	raw[0] = 6;
	raw[2] = 4;
	raw[3] = 150;
	assert_true(overhead__calibrate(raw, last, adj, out, 3, 23, false));
	assert_true(out[0] == 10 && out[1] == 5 && out[2] == 8 && cum(out, 2) == 23);
	assert_true(out[3] == 230); /* 110 + 3 x 40 */
	/* A window with nothing timed: its 10 syscalls take the shape of the histogram so far. */
	assert_true(overhead__calibrate(raw, last, adj, out, 3, 33, false));
	assert_true(cum(out, 2) == 33 && out[0] > 10 && out[1] > 5 && out[2] > 8);
	assert_true(out[3] == 330); /* the mean so far, 10 ns, for each */
	/* Weights of 20 for 7 syscalls: scaled down, the count stays exact. */
	raw[1] = 25;
	raw[3] = 530;
	assert_true(overhead__calibrate(raw, last, adj, out, 3, 40, false));
	assert_true(cum(out, 2) == 40 && out[3] == 463); /* 330 + 0.35 x 200 */
	/*
	 * A restart (first) after the kernel's weights ran ahead of the count while the daemon
	 * was away: the histogram shows what it holds, then grows only once the count catches up.
	 */
	raw[1] = 45;
	raw[3] = 730;
	overhead__calibrate(raw, last, adj, out, 3, 42, true);
	assert_true(cum(out, 2) == 60 && out[3] == 663);
	raw[1] = 47;
	raw[3] = 750;
	assert_true(overhead__calibrate(raw, last, adj, out, 3, 55, false));
	assert_true(cum(out, 2) == 60 && out[3] == 663);
	raw[0] = 12;
	raw[3] = 800;
	overhead__calibrate(raw, last, adj, out, 3, 70, false);
	assert_true(cum(out, 2) == 70 && out[0] > 10 && out[3] > 663);
	/* A slot zeroed in the kernel restarts from its new values, never going down. */
	memset(raw, 0, sizeof(raw));
	memset(last, 0, sizeof(last));
	memset(adj, 0, sizeof(adj));
	raw[0] = 1;
	raw[3] = 5;
	overhead__calibrate(raw, last, adj, out, 3, 8, false);
	assert_true(out[0] == 8 && cum(out, 2) == 8 && out[3] == 40);
	/* Nothing timed yet, ever: the count waits for the first timed syscall. */
	memset(raw, 0, sizeof(raw));
	memset(last, 0, sizeof(last));
	memset(adj, 0, sizeof(adj));
	assert_false(overhead__calibrate(raw, last, adj, out, 3, 8, false));
	assert_true(cum(out, 2) == 0 && out[3] == 0);
	raw[2] = 1;
	raw[3] = 1000;
	overhead__calibrate(raw, last, adj, out, 3, 9, false);
	assert_true(out[2] == 9 && cum(out, 2) == 9 && out[3] == 9000);
}

/*
 * Sampled histograms with weights that wander from the count, windows with nothing timed and
 * restarts of the daemon (adj kept in 1/256ths as the kernel keeps it): every cumulative
 * bucket never decreases, and the count is exact whenever the weights are not ahead.
 */
static void test_calibrate_monotonic(void **state)
{
	enum { NB = 6 };
	__u64 raw[NB + 1] = {0}, last[NB + 1] = {0}, out[NB + 1], prev[NB + 1] = {0};
	__u64 total = 0;
	double adj[NB + 1] = {0};
	unsigned int seed = 7;
	int t, i, k, restarts = 0, exact = 0;

	(void)state;
	for (t = 0; t < 20000; t++) {
		int timed = rand_r(&seed) % 4 ? rand_r(&seed) % 20 : 0;
		__u64 w = 1ULL << (rand_r(&seed) % 6);

		for (i = 0; i < timed; i++) {
			int b = rand_r(&seed) % NB;

			raw[b] += w;
			raw[NB] += w * (__u64)(b + 1) * 100;
		}
		/* The true count: near the weights' sum, off by up to a third either way. */
		total += timed * w + (rand_r(&seed) % (timed * w / 3 * 2 + 1)) - timed * w / 3;
		if (rand_r(&seed) % 500 == 0) { /* restart: adj through 1/256ths, last unknown */
			for (i = 0; i <= NB; i++)
				adj[i] = (double)(__s64)(__u64)llround(adj[i] * 256) / 256.0;
			restarts++;
			overhead__calibrate(raw, last, adj, out, NB, total, true);
		} else {
			overhead__calibrate(raw, last, adj, out, NB, total, false);
			/* Past its count only as a restart left it, and then not growing. */
			assert_true(cum(out, NB - 1) <= total ||
				    cum(out, NB - 1) == cum(prev, NB - 1));
		}
		for (k = 0; k < NB; k++)
			assert_true(cum(out, k) >= cum(prev, k));
		assert_true(out[NB] >= prev[NB]);
		exact += cum(out, NB - 1) == total;
		memcpy(prev, out, sizeof(out));
	}
	assert_true(restarts > 10);
	assert_true(exact > 15000);
}

static void test_extrapolate(void **state)
{
	__u64 raw[3] = {100, 0, 7}, last[3] = {0}, out[3];
	double unseen[3] = {0};

	(void)state;
	/* First sight: the raw values, whatever the ratio. */
	overhead__extrapolate(raw, last, unseen, out, 3, 0.5, true);
	assert_true(out[0] == 100 && out[1] == 0 && out[2] == 7);
	/* Full capture: growth as is. */
	raw[0] = 150;
	overhead__extrapolate(raw, last, unseen, out, 3, 1, false);
	assert_true(out[0] == 150 && out[2] == 7);
	/* A quarter seen: 10 seen, 30 unseen. */
	raw[0] = 160;
	raw[1] = 3;
	overhead__extrapolate(raw, last, unseen, out, 3, 0.25, false);
	assert_true(out[0] == 190 && out[1] == 12 && out[2] == 7);
	assert_true(unseen[0] == 30 && unseen[1] == 9);
	/* Fractions accumulate instead of being rounded away: 1 / 0.3 - 1 three times is 7. */
	raw[2] = 8;
	overhead__extrapolate(raw, last, unseen, out, 3, 0.3, false);
	assert_true(out[2] == 10); /* 8 + 2.33 */
	raw[2] = 9;
	overhead__extrapolate(raw, last, unseen, out, 3, 0.3, false);
	raw[2] = 10;
	overhead__extrapolate(raw, last, unseen, out, 3, 0.3, false);
	assert_true(out[2] == 17); /* 10 + 7.0 (6.9999...: floor of a sum of thirds, not 16) */
	/* Full capture again: the estimate made so far stays, nothing more is added. */
	raw[0] = 170;
	overhead__extrapolate(raw, last, unseen, out, 3, 1, false);
	assert_true(out[0] == 200 && unseen[0] == 30);
	/* A counter that went down (slot zeroed) adds nothing and is followed from there. */
	raw[0] = 5;
	overhead__extrapolate(raw, last, unseen, out, 3, 0.5, false);
	assert_true(out[0] == 35 && out[1] == 12 && last[0] == 5);
	/* A ratio not in (0, 1) adds nothing unseen. */
	raw[0] = 6;
	overhead__extrapolate(raw, last, unseen, out, 3, 0, false);
	assert_true(out[0] == 36);
	raw[0] = 7;
	overhead__extrapolate(raw, last, unseen, out, 3, NAN, false);
	assert_true(out[0] == 37);
	raw[0] = 11;
	overhead__extrapolate(raw, last, unseen, out, 3, 2, false);
	assert_true(out[0] == 41);
}

/*
 * The duty cycle and extrapolation on a fake clock, as tick.c drives them: ticks of 1 s,
 * events at a known rate, the hooks counting those that fall while attached, the estimate
 * checked at every tick never to go down.
 */
#define SIM_TICK_NS 1000000000ULL

/* Events in [0, t): one per 100 us. */
static __u64 steady(__u64 t)
{
	return t / 100000;
}

/* Events in [0, t): one per 100 us, and one per 10 us in the first 100 ms of each second. */
static __u64 bursty(__u64 t)
{
	__u64 k = t / SIM_TICK_NS, r = t % SIM_TICK_NS;

	return k * 19000 + (r < 100000000ULL ? r / 10000 : 10000 + (r - 100000000ULL) / 100000);
}

struct sim {
	__u64 (*events)(__u64 t);
	const double *duty; /* per tick */
	int nticks;
	int late_tick; /* the daemon wakes 300 ms late for this tick's window; -1: never */
	unsigned int seed;
	double low, high; /* sampling ratios seen */
	__u64 truth; /* events over the run */
};

/* The estimate at the end of the run. */
static __u64 sim_run(struct sim *m)
{
	struct overhead_cycle c;
	__u64 now = SIM_TICK_NS, raw = 0, last = 0, out = 0, prev = 0, since = now, due, at;
	double unseen = 0, ratio;
	bool attached = true;
	int k, change;

	overhead__cycle_init(&c, SIM_TICK_NS, m->seed, now);
	m->low = 1;
	m->high = 0;
	for (k = 0; k < m->nticks; k++) {
		__u64 end = now + SIM_TICK_NS;

		/* What the cycle asks for within the tick (the tick itself comes first at end). */
		while ((due = overhead__cycle_due(&c)) && due < end) {
			at = due + (k == m->late_tick ? 300000000ULL : 0);
			if (at >= end)
				break;
			change = overhead__cycle_step(&c, at);
			if (!change) /* a window passed while the daemon slept */
				continue;
			assert_true(change == (attached ? -1 : 1));
			if (attached)
				raw += m->events(at) - m->events(since);
			since = at;
			attached = !attached;
		}
		now = end;
		if (attached) /* the daemon reads the counters at the tick */
			raw += m->events(now) - m->events(since);
		since = now;
		ratio = overhead__cycle_end(&c, now);
		if (ratio > 0) {
			overhead__extrapolate(&raw, &last, &unseen, &out, 1, ratio, false);
			m->low = ratio < m->low ? ratio : m->low;
			m->high = ratio > m->high ? ratio : m->high;
		}
		assert_true(out >= prev); /* monotonic, whatever the ratio did */
		prev = out;
		change = overhead__cycle_plan(&c, now, m->duty[k]);
		if (change) {
			assert_true(change == (attached ? -1 : 1));
			attached = !attached;
		}
	}
	m->truth = m->events(now) - m->events(SIM_TICK_NS);
	return out;
}

static void test_cycle_fake_clock(void **state)
{
	static double duty[400];
	struct sim m = {.events = steady, .duty = duty, .late_tick = -1, .seed = 1};
	double err, sum = 0;
	__u64 est;
	int k;

	(void)state;
	/* Full capture: exact. */
	for (k = 0; k < 400; k++)
		duty[k] = 1;
	m.nticks = 20;
	est = sim_run(&m);
	assert_true(est == m.truth && m.low == 1);

	/*
	 * 1, then 0.1 for 300 ticks (detached and attached again within each tick, in one or
	 * two pieces), then 1. A steady rate: every window's events stand for its tick's.
	 */
	for (k = 20; k < 320; k++)
		duty[k] = 0.1;
	m.nticks = 400;
	est = sim_run(&m);
	err = ((double)est - m.truth) / m.truth;
	print_message("steady, duty 1 -> 0.1 -> 1: truth %llu, estimate %llu (%+.4f %%), "
		      "ratios %.4f..%.4f\n",
		      (unsigned long long)m.truth, (unsigned long long)est, 100 * err, m.low,
		      m.high);
	assert_true(m.low > 0.0999 && m.low < 0.1001 && m.high == 1);
	assert_true(fabs(err) < 0.001);
	/* A daemon 300 ms late for one tick's window: a shorter window, measured as such. */
	m.late_tick = 100;
	est = sim_run(&m);
	err = ((double)est - m.truth) / m.truth;
	assert_true(m.low < 0.0999 && fabs(err) < 0.001);

	/*
	 * Half the events in the first tenth of each tick: a window sees ten times the rate or
	 * a tenth of it (about 110 % relative sd per tick), so one run is off by a few percent;
	 * over 64 runs the mean error shows any bias of where windows fall (rand_r() taken
	 * modulo the tick made it +5.7 %).
	 */
	m.events = bursty;
	m.late_tick = -1;
	for (k = 0; k < 64; k++) {
		m.seed = k + 1;
		est = sim_run(&m);
		err = ((double)est - m.truth) / m.truth;
		assert_true(fabs(err) < 0.25);
		sum += err;
	}
	print_message("bursty, duty 1 -> 0.1 -> 1: mean error over 64 runs %+.3f %%\n",
		      100 * sum / 64);
	assert_true(fabs(sum / 64) < 0.02);
}

/*
 * The integral term: a plant that pays 1.4 times the share aimed at (what noisy windows do to
 * budget / estimate) comes to within a few percent of the budget over a run of ticks; one that
 * pays what it aims at stays on it; a budget that stops binding forgets the debt.
 */
static void test_target(void **state)
{
	double debt = 0, target = 0.01, paid, sum = 0;
	int k;

	(void)state;
	for (k = 0; k < 200; k++) {
		paid = 1.4 * target;
		if (k >= 100)
			sum += paid;
		target = overhead__target(&debt, paid, 0.01, 0.5, 0.5, true);
		assert_true(target >= 0.0025 && target <= 0.02);
	}
	print_message("paid 1.4 x the target: mean %.5f against a budget of 0.01\n", sum / 100);
	assert_true(fabs(sum / 100 - 0.01) < 0.0006);
	debt = 0;
	target = overhead__target(&debt, 0.01, 0.01, 0.5, 0.5, true);
	assert_true(target == 0.01 && debt == 0);
	debt = 0.5;
	assert_true(overhead__target(&debt, 0.05, 0.01, 0.5, 0.5, false) == 0.01 && debt == 0);
	/* Far over: the target bottoms out at a quarter of the budget, never 0. */
	debt = 0;
	assert_true(overhead__target(&debt, 1, 0.01, 0.5, 0.5, true) == 0.0025);
}

/* Attaching that took time counts from when it was done, and full capture stays whole. */
static void test_cycle_attached(void **state)
{
	struct overhead_cycle c;

	(void)state;
	overhead__cycle_init(&c, 1000, 1, 100);
	c.attached_since = 0; /* detached, then full capture asked for at 1100 */
	c.attached_ns = 0;
	assert_true(overhead__cycle_plan(&c, 1100, 1) == 1);
	overhead__cycle_attached(&c, 1150);
	assert_true(overhead__cycle_end(&c, 2150) == 1);
	/* In a window: the time attaching took is not counted as attached. */
	c.attached_since = 0;
	c.attached_ns = 0;
	c.tick_ns = 3000;
	c.nwin = 1;
	c.iwin = 0;
	c.win[0][0] = 3200;
	c.win[0][1] = 3700;
	assert_true(overhead__cycle_step(&c, 3200) == 1);
	overhead__cycle_attached(&c, 3300);
	assert_true(overhead__cycle_step(&c, 3700) == -1);
	assert_true(fabs(overhead__cycle_end(&c, 4000) - 0.4) < 1e-12);
}

/*
 * Detaching that took time counts as attached until it was done; only the part of it after a
 * tick's end counts in the next tick.
 */
static void test_cycle_detached(void **state)
{
	struct overhead_cycle c;

	(void)state;
	overhead__cycle_init(&c, 1000, 1, 3000);
	c.nwin = 1;
	c.iwin = 0;
	c.win[0][0] = 3000;
	c.win[0][1] = 3500;
	assert_true(overhead__cycle_step(&c, 3500) == -1);
	overhead__cycle_detached(&c, 3560);
	overhead__cycle_detached(&c, 3600); /* once per detach: nothing more */
	assert_true(fabs(overhead__cycle_end(&c, 4000) - 0.56) < 1e-12);
	/* A detach recorded before a tick's end and done after it: only the part after. */
	c.attached_since = 4000;
	c.nwin = 1;
	c.iwin = 0;
	c.win[0][0] = 4000;
	c.win[0][1] = 4900;
	assert_true(overhead__cycle_step(&c, 4900) == -1);
	assert_true(fabs(overhead__cycle_end(&c, 5000) - 0.9) < 1e-12);
	overhead__cycle_detached(&c, 5050);
	assert_true(fabs(overhead__cycle_end(&c, 6000) - 0.05) < 1e-12);
	/* Attached: nothing. */
	c.attached_since = 6000;
	overhead__cycle_detached(&c, 6100);
	assert_true(fabs(overhead__cycle_end(&c, 7000) - 1) < 1e-12);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shift_from_rate),
		cmocka_unit_test(test_skip_bounds),
		cmocka_unit_test(test_weights_unbiased),
		cmocka_unit_test(test_share_and_duty),
		cmocka_unit_test(test_extrapolate),
		cmocka_unit_test(test_calibrate),
		cmocka_unit_test(test_calibrate_monotonic),
		cmocka_unit_test(test_cycle_fake_clock),
		cmocka_unit_test(test_target),
		cmocka_unit_test(test_cycle_attached),
		cmocka_unit_test(test_cycle_detached),
	};

	return cmocka_run_group_tests_name("overhead", tests, NULL, NULL);
}
