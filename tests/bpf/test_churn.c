// SPDX-License-Identifier: MIT
/*
 * Agent slots under churn: a host that names agents per run (container-<id>)
 * must not run out of slots. The daemon runs with max_agents 4,
 * agent_retention 1s, the environment marker off (processes of other tests
 * on the host then take no slot of this daemon) and command rules on comm.
 * One agent ("keeper") stays alive all along; another ("orphan") exits but
 * leaves a child behind that carries its slot. Then 3 x max_agents
 * short-lived agents with distinct names run one after another, through
 * the two slots left: each is counted under its own name while it lives,
 * with counters that start from zero, and nothing folds into "other". The
 * keeper's and the orphan's slots are never handed to another agent: the
 * orphan's child, woken at the end, is counted under "orphan".
 */
#include <math.h>
#include <signal.h>
#include <stdbool.h>

#include "harness.h"
#include "tap.h"

#define MAX_AGENTS 4
#define NCHURN (3 * MAX_AGENTS)
#define CALLS 2000

static const char *const checks[] = {
	"daemon starts with max_agents 4 and agent_retention 1s",
	"a long-lived agent and an orphaned child hold two slots",
	"12 short-lived agents: each counted under its own name while it lives",
	"12 short-lived agents: each one's counters start from zero (2000 to 2100 syscalls)",
	"slots of retired agents are reclaimed (swarmwatch_agent_slots_reclaimed_total >= 10)",
	"nothing folds into \"other\" (swarmwatch_agent_folds_total 0)",
	"the long-lived agent keeps its slot and counters (1 instance, 1 start)",
	"the orphaned child's slot was never reused: its syscalls count under \"orphan\"",
	"identity.marker false: a process with SWARMWATCH_AGENT is no agent",
	"with the marker (slots taken in the kernel): 12 short-lived agents through 4 slots, "
	"each counted from zero, nothing folds",
};
#define NCHECKS (sizeof(checks) / sizeof(checks[0]))

static void calls(int n)
{
	int i;

	for (i = 0; i < n; i++)
		syscall(SYS_getppid);
}

static volatile sig_atomic_t woken;

static void on_usr1(int sig)
{
	(void)sig;
	woken = 1;
}

static int workload(const char *kind, const char *pidfile)
{
	if (!strcmp(kind, "churn")) {
		/*
		 * The daemon tags this by its comm after exec; a running task it tags keeps its
		 * CPU record until its next switch, which may cost up to 63 syscalls (see
		 * bpf/test_capture). So it makes its calls only when the test, having seen the
		 * daemon count it as an instance, says so: SIGUSR1, blocked since before exec.
		 */
		sigset_t set;
		int sig;

		sigemptyset(&set);
		sigaddset(&set, SIGUSR1);
		if (sigwait(&set, &sig))
			return 1;
		calls(CALLS);
		pause();
		return 0;
	}
	/* The daemon tags these by their comm a few milliseconds after exec: sleep first. */
	usleep(300000);
	if (!strcmp(kind, "keeper")) {
		pause();
		return 0;
	}
	if (!strcmp(kind, "orphan")) {
		/* The root exits; its child stays, idle, until SIGUSR1, then makes CALLS syscalls. */
		pid_t child;
		FILE *f;

		signal(SIGUSR1, on_usr1);
		child = fork();
		if (child == 0) {
			while (!woken)
				pause();
			calls(CALLS);
			_exit(0);
		}
		f = fopen(pidfile, "w");
		if (!f)
			return 1;
		fprintf(f, "%d\n", child);
		fclose(f);
		return 0;
	}
	return 2;
}

/*
 * Runs this binary as `comm` (a symlink of that name in /tmp), so that the
 * rules name it, with SWARMWATCH_AGENT=marker in its environment if marker
 * is not NULL.
 */
static pid_t spawn(const char *comm, const char *kind, const char *pidfile, const char *marker)
{
	char env_agent[64];
	char *envp[] = {"PATH=/usr/bin:/bin", env_agent, NULL};
	char *const argv[] = {"swarmwatch-probe", "--workload", (char *)kind, (char *)pidfile,
			      NULL};
	char link[64];
	pid_t pid;

	snprintf(env_agent, sizeof(env_agent), "SWARMWATCH_AGENT=%s", marker ? marker : "");
	if (!marker)
		envp[1] = NULL;
	snprintf(link, sizeof(link), "/tmp/%s", comm);
	unlink(link);
	if (symlink("/proc/self/exe", link))
		return -1;
	pid = fork();
	if (pid == 0) {
		if (!strcmp(kind, "churn")) { /* kept pending until its sigwait() */
			sigset_t set;

			sigemptyset(&set);
			sigaddset(&set, SIGUSR1);
			sigprocmask(SIG_BLOCK, &set, NULL);
		}
		execve(link, argv, envp);
		_exit(127);
	}
	return pid;
}

/* Removes the symlink spawn() made. */
static void unlink_comm(const char *comm)
{
	char link[64];

	snprintf(link, sizeof(link), "/tmp/%s", comm);
	unlink(link);
}

static const char *want_series;
static double want_min;
static char mine[32]; /* prefix of this test's agent names */
static int foreign; /* an agent not of this test showed up in a scrape */

/* Notes an agent label of the page that is neither this test's nor "other". */
static void look_for_foreign(const char *m)
{
	const char *p = m;

	while ((p = strstr(p, "agent=\"")) && !foreign) {
		p += 7;
		if (strncmp(p, mine, strlen(mine)) && strncmp(p, "other\"", 6) &&
		    strncmp(p, "keeper\"", 7) && strncmp(p, "orphan\"", 7))
			foreign = 1;
	}
}

static int series_reaches(const char *m)
{
	look_for_foreign(m);
	return metric(m, want_series) >= want_min;
}

/* Scrapes until `series` is at least min (or 20 s pass); returns its last value. */
static double wait_series(struct daemon *d, const char *series, double min)
{
	char *m;
	double v;

	want_series = series;
	want_min = min;
	m = scrape_until(d->port, series_reaches, 20);
	v = metric(m, series);
	free(m);
	return v;
}

/*
 * Runs NCHURN short-lived agents one after another: named by comm rule
 * ("swc<tag>-<i>"), or by the marker ("churn-<tag>-<i>") when by_marker.
 * `spare` slots are free for them: agent i waits until i - spare + 1
 * slots were reclaimed. Counts the agents seen under their own name while
 * they lived, and those whose counters started from zero.
 */
static void churn(struct daemon *d, int tag, bool by_marker, int spare, int *counted, int *fresh)
{
	char name[32], comm[16], series[192];
	int reclaiming = 1, i;
	bool seen;
	double v;
	pid_t p;

	*counted = *fresh = 0;
	for (i = 0; i < NCHURN; i++) {
		/* Wait until a slot is free again: the one agent i - spare had. */
		if (i >= spare && reclaiming &&
		    !(wait_series(d, "swarmwatch_agent_slots_reclaimed_total", i - spare + 1) >=
		      i - spare + 1))
			reclaiming = 0; /* no use waiting again: the rest fold, and checks say so */
		snprintf(name, sizeof(name), "churn-%d-%d", tag, i);
		snprintf(comm, sizeof(comm), "swc%d-%d", tag, i);
		p = spawn(comm, "churn", "", by_marker ? name : NULL);
		/* Its calls start once the daemon counts it as an instance of its own name. */
		snprintf(series, sizeof(series), "swarmwatch_agent_instances{agent=\"%s\"}", name);
		seen = wait_series(d, series, 1) == 1;
		kill(p, SIGUSR1);
		snprintf(series, sizeof(series),
			 "swarmwatch_agent_syscalls_total{agent=\"%s\",class=\"process\"}", name);
		v = wait_series(d, series, CALLS);
		if (seen && v >= CALLS)
			(*counted)++;
		else
			tap_diag("%s: %.0f process syscalls counted under its name", name, v);
		if (v >= CALLS && v < CALLS + 100)
			(*fresh)++;
		else
			tap_diag("%s: %.0f process syscalls, expected %d to %d", name, v, CALLS,
				 CALLS + 100);
		kill(p, SIGKILL);
		wait_status(p);
		unlink_comm(comm);
	}
}

int main(int argc, char **argv)
{
	char cfg[] = "/tmp/swarmwatch-churn-XXXXXX", pidfile[64], comm[16], marker[32];
	const char *const extra[] = {"--config", cfg, NULL};
	int counted = 0, fresh = 0, fd, tag = getpid() % 1000;
	pid_t keeper, orphan, child = 0, p;
	struct daemon d = {0};
	double v, before;
	const char *why;
	char *m = NULL;
	size_t i;
	FILE *f;

	if (argc >= 3 && !strcmp(argv[1], "--workload"))
		return workload(argv[2], argc >= 4 ? argv[3] : "");
	printf("1..%zu\n", NCHECKS);
	why = bpf_unavailable();
	if (why) {
		for (i = 0; i < NCHECKS; i++)
			tap_skip(why, "%s", checks[i]);
		return 0;
	}
	fd = mkstemp(cfg);
	if (fd < 0)
		return 1;
	/* comm is at most 15 bytes: "swc123-11", "swk123-orphan" */
	dprintf(fd,
		"{\"max_agents\": %d, \"agent_retention\": \"1s\",\n"
		" \"identity\": {\"marker\": false, \"rules\": [\n"
		"  {\"match\": \"comm\", \"regex\": \"^swc%d-([0-9]+)$\", \"name\": \"churn-%d-$1\"},\n"
		"  {\"match\": \"comm\", \"regex\": \"^swk%d-([a-z]+)$\"}]}}\n",
		MAX_AGENTS, tag, tag, tag);
	close(fd);
	snprintf(pidfile, sizeof(pidfile), "/tmp/swarmwatch-churn-%d.pid", getpid());
	if (!tap_check(!daemon_start(&d, extra), "%s", checks[0])) {
		daemon_dump_log(&d);
		for (i = 1; i < NCHECKS; i++)
			tap_check(0, "%s (daemon did not start)", checks[i]);
		unlink(cfg);
		return 1;
	}

	snprintf(comm, sizeof(comm), "swk%d-keeper", tag);
	keeper = spawn(comm, "keeper", "", NULL);
	snprintf(comm, sizeof(comm), "swk%d-orphan", tag);
	orphan = spawn(comm, "orphan", pidfile, NULL);
	wait_status(orphan);
	f = fopen(pidfile, "r");
	if (!f || fscanf(f, "%d", &child) != 1)
		child = 0;
	if (f)
		fclose(f);
	unlink(pidfile);
	v = wait_series(&d, "swarmwatch_agent_instances{agent=\"keeper\"}", 1);
	tap_check(child > 0 && v == 1 &&
			  wait_series(&d, "swarmwatch_agent_process_starts_total{agent=\"orphan\"}",
				      2) == 2,
		  "%s", checks[1]);
	unlink_comm(comm);
	snprintf(comm, sizeof(comm), "swk%d-keeper", tag);
	unlink_comm(comm);

	churn(&d, tag, false, 2, &counted, &fresh);
	tap_check(counted == NCHURN, "%s", checks[2]);
	tap_check(fresh == NCHURN, "%s", checks[3]);

	m = scrape(d.port);
	if (!m)
		m = strdup("");
	v = metric(m, "swarmwatch_agent_slots_reclaimed_total");
	tap_diag("slots reclaimed: %.0f", v);
	tap_check(v >= NCHURN - 2, "%s", checks[4]);
	v = metric(m, "swarmwatch_agent_folds_total");
	tap_diag("folds: %.0f", v);
	tap_check(v == 0 && !strstr(m, "agent=\"other\""), "%s", checks[5]);
	tap_check(metric(m, "swarmwatch_agent_instances{agent=\"keeper\"}") == 1 &&
			  metric(m, "swarmwatch_agent_process_starts_total{agent=\"keeper\"}") == 1,
		  "%s", checks[6]);

	/* The orphan is retired (idle past agent_retention): its child wakes it up again. */
	before = metric(m, "swarmwatch_agent_syscalls_total{agent=\"orphan\",class=\"process\"}");
	if (isnan(before))
		before = 0;
	if (child > 0)
		kill(child, SIGUSR1);
	v = wait_series(&d, "swarmwatch_agent_syscalls_total{agent=\"orphan\",class=\"process\"}",
			before + CALLS);
	tap_diag("orphan process syscalls: %.0f before its child woke, %.0f after", before, v);
	tap_check(v >= before + CALLS, "%s", checks[7]);

	/* The marker is off in this configuration: a marked process that no rule names is none. */
	snprintf(marker, sizeof(marker), "marked-%d", tag);
	snprintf(comm, sizeof(comm), "swm%d-marked", tag);
	p = spawn(comm, "churn", "", marker);
	usleep(500000);
	kill(p, SIGKILL);
	wait_status(p);
	unlink_comm(comm);
	free(m);
	m = scrape(d.port);
	if (!m)
		m = strdup("");
	tap_check(!strstr(m, "agent=\"marked-") && metric(m, "swarmwatch_agent_folds_total") == 0,
		  "%s", checks[8]);

	kill(keeper, SIGKILL);
	wait_status(keeper);
	if (child > 0)
		kill(child, SIGKILL);
	daemon_stop(&d);
	if (tap_failed)
		daemon_dump_log(&d);
	daemon_unpin(&d);

	/*
	 * The kernel's own allocation (marker at exec), on a fresh daemon with 4
	 * free slots. Marked processes of other tests on the host would take slots
	 * too: the check is skipped when one runs, before or during.
	 */
	snprintf(mine, sizeof(mine), "churn-%d-", tag);
	foreign = 0;
	if (other_agents_running()) {
		tap_skip("other processes with SWARMWATCH_AGENT are running: they would take "
			 "slots of this daemon",
			 "%s", checks[9]);
	} else {
		fd = open(cfg, O_WRONLY | O_TRUNC);
		dprintf(fd, "{\"max_agents\": %d, \"agent_retention\": \"1s\"}\n", MAX_AGENTS);
		close(fd);
		if (daemon_start(&d, extra)) {
			daemon_dump_log(&d);
			tap_check(0, "%s (daemon did not start)", checks[9]);
		} else {
			churn(&d, tag, true, MAX_AGENTS, &counted, &fresh);
			free(m);
			m = scrape(d.port);
			v = m ? metric(m, "swarmwatch_agent_folds_total") : NAN;
			tap_diag("with the marker: %d of %d counted, %d from zero, %.0f folds",
				 counted, NCHURN, fresh, v);
			if (m)
				look_for_foreign(m);
			if (foreign || other_agents_running())
				tap_skip(
					"processes of other tests with SWARMWATCH_AGENT ran meanwhile "
					"and took slots of this daemon",
					"%s", checks[9]);
			else
				tap_check(counted == NCHURN && fresh == NCHURN && v == 0, "%s",
					  checks[9]);
			daemon_stop(&d);
		}
	}
	if (tap_failed)
		daemon_dump_log(&d);
	daemon_unpin(&d);
	free(m);
	unlink(cfg);
	unlink(d.log_path);
	return tap_failed ? 1 : 0;
}
