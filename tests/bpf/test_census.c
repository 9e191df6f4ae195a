// SPDX-License-Identifier: MIT
/*
 * The census of untracked syscalls against the running kernel: the syscall hooks turn a task
 * without task storage away without touching a map, and count 1 in 2^SW_CENSUS_SHIFT of its
 * syscalls, as 2^SW_CENSUS_SHIFT, chosen by a hash of its CPU time and user registers
 * (bpf/agent.bpf.h, sw_census()). What the daemon makes of them, swarmwatch_host_syscalls_total, must still
 * estimate every syscall on the host: an untracked getppid() loop of a known number of calls,
 * on each CPU in turn, is found within 10 % of its count once the host's own rate, measured
 * just before, is taken off. A census that forgot its weight would read a quarter of it.
 * The loop keeps its counter in a register, as loops do, which the census mixes in; a loop
 * that keeps it in memory leaves the census the scheduler slices alone to choose by,
 * unbiased but coarser (one slice a tick), and is held to 25 %.
 *
 * The daemon runs with an overhead budget far above what the loop costs (the host syscall
 * count is kept while a budget is on) and a 500 ms tick.
 */
#include <math.h>
#include <sched.h>

#include "harness.h"
#include "tap.h"

#define LOOP_CALLS 2000000L
#define LOOP_MAX_S 30.0 /* no loop runs longer than this, whatever happens */
#define TOLERANCE 0.10
#define TOLERANCE_FLAT 0.25

static const char *const checks[] = {
	"daemon starts with a budget that never binds",
	"an untracked loop on CPU 0: its syscalls are estimated within 10 %",
	"an untracked loop on CPU 1: its syscalls are estimated within 10 %",
	"a loop whose registers do not change (its counter in memory): within 25 %",
	"the hooks stayed attached throughout (sampling ratio 1)",
};
#define NCHECKS (sizeof(checks) / sizeof(checks[0]))

static volatile long flat_i; /* the "flat" loop's counter, in memory */

/*
 * LOOP_CALLS getppid() calls on CPU kind[4] ("loop0", "loop1"; "flat0": the counter in
 * memory), bounded in time.
 */
static int workload(const char *kind)
{
	double deadline = now_s() + LOOP_MAX_S;
	cpu_set_t set;
	long i;

	if (strncmp(kind, "loop", 4) && strncmp(kind, "flat", 4))
		return 1;
	CPU_ZERO(&set);
	CPU_SET((kind[4] - '0') % sysconf(_SC_NPROCESSORS_ONLN), &set);
	sched_setaffinity(0, sizeof(set), &set);
	if (kind[0] == 'f') {
		alarm((unsigned)LOOP_MAX_S); /* the bound: no time check in the loop */
		for (flat_i = 0; flat_i < LOOP_CALLS; flat_i++)
			syscall(SYS_getppid);
		return 0;
	}
	for (i = 0; i < LOOP_CALLS; i++) {
		syscall(SYS_getppid);
		if (!(i & 0xffff) && now_s() > deadline)
			return 2;
	}
	return 0;
}

/* The host syscall count and the tick's sampling ratio from a fresh page; NAN when absent. */
static double host_syscalls(int port, double *ratio)
{
	char *m = scrape_fresh(port);
	double v = metric(m, "swarmwatch_host_syscalls_total");

	if (ratio)
		*ratio = fmin(*ratio,
			      metric(m, "swarmwatch_sampling_ratio{collector=\"syscalls\"}"));
	free(m);
	return v;
}

int main(int argc, char **argv)
{
	const char *const args[] = {"--overhead-budget", "60", "--interval", "500ms", NULL};
	double h0, h1, h2, h3, t0, t1, t2, t3, bg, est, ratio = 1;
	struct daemon d = {0};
	char kind[16];
	const char *why;
	int cpu, st;
	pid_t pid;
	size_t i;

	if (argc >= 3 && !strcmp(argv[1], "--workload"))
		return workload(argv[2]);
	printf("1..%zu\n", NCHECKS);
	why = bpf_unavailable();
	if (why) {
		for (i = 0; i < NCHECKS; i++)
			tap_skip(why, "%s", checks[i]);
		return 0;
	}
	if (!tap_check(!daemon_start(&d, args), "%s", checks[0])) {
		daemon_dump_log(&d);
		for (i = 1; i < NCHECKS; i++)
			tap_check(0, "%s (daemon did not start)", checks[i]);
		daemon_stop(&d);
		daemon_unpin(&d);
		return 1;
	}
	for (cpu = 0; cpu < 3; cpu++) {
		/* The host's own rate over a second, then the loop and the ticks that saw it. */
		h0 = host_syscalls(d.port, &ratio);
		t0 = now_s();
		usleep(1000000);
		h1 = host_syscalls(d.port, &ratio);
		t1 = now_s();
		h2 = h1;
		t2 = t1;
		snprintf(kind, sizeof(kind), cpu < 2 ? "loop%d" : "flat%d", cpu % 2);
		pid = spawn_workload(NULL, NULL, kind);
		st = wait_status(pid);
		h3 = host_syscalls(d.port, &ratio);
		t3 = now_s();
		bg = (h1 - h0) / (t1 - t0);
		est = h3 - h2 - bg * (t3 - t2);
		tap_diag("%s: host %.0f syscalls/s before; %.0f over the loop's %.1f s, %.0f of "
			 "them the loop's (%ld made)",
			 kind, bg, h3 - h2, t3 - t2, est, LOOP_CALLS);
		tap_expect(WIFEXITED(st) && !WEXITSTATUS(st) &&
				   fabs(est - LOOP_CALLS) <=
					   (cpu < 2 ? TOLERANCE : TOLERANCE_FLAT) * LOOP_CALLS,
			   checks[1 + cpu], "%.0f of %ld (loop status %d)", est, LOOP_CALLS, st);
	}
	tap_expect(ratio == 1, checks[4], "%g", ratio);
	daemon_stop(&d);
	daemon_unpin(&d);
	return 0;
}
