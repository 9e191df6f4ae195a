// SPDX-License-Identifier: MIT
/*
 * Agent identity against the running kernel: processes that were running
 * before the daemon, children and threads inheriting their agent, exec
 * re-classifying, command rules applied by the daemon, folding past
 * max_agents, and pinned maps recreated when the layout changes.
 */
#include <dirent.h>
#include <math.h>
#include <pthread.h>
#include <sys/stat.h>

#include "harness.h"
#include "tap.h"

#define SMALL_CALLS 1000
#define FAMILY_CALLS 5000

static void calls(int n)
{
	int i;

	for (i = 0; i < n; i++)
		syscall(SYS_getppid);
}

static void *thread_calls(void *arg)
{
	(void)arg;
	calls(FAMILY_CALLS);
	return NULL;
}

static int workload(const char *kind)
{
	if (!strcmp(kind, "small")) {
		calls(SMALL_CALLS);
		return 0;
	}
	if (!strcmp(kind, "sleep")) {
		pause();
		return 0;
	}
	if (!strcmp(kind, "late")) {
		/* Give the daemon time to classify this exec by its command rule. */
		usleep(500000);
		calls(SMALL_CALLS);
		usleep(1500000);
		return 0;
	}
	if (!strcmp(kind, "family")) {
		pthread_t th;
		pid_t child;
		int st;

		child = fork();
		if (child == 0) {
			calls(FAMILY_CALLS);
			_exit(0);
		}
		pthread_create(&th, NULL, thread_calls, NULL);
		pthread_join(th, NULL);
		waitpid(child, &st, 0);
		return WIFEXITED(st) && !WEXITSTATUS(st) ? 0 : 1;
	}
	if (!strcmp(kind, "reexec")) {
		char *const argv[] = {"swarmwatch-probe", "--workload", "small", NULL};
		char *const envp[] = {"SWARMWATCH_AGENT=inner", NULL};

		calls(SMALL_CALLS);
		execve("/proc/self/exe", argv, envp);
		return 127;
	}
	return 2;
}

static const char *const checks[] = {
	"daemon starts with max_agents 5 and a command rule",
	"pinned maps of another max_agents are recreated, and the log says so",
	"a process running before the daemon started is tagged (1 instance)",
	"its exit by SIGKILL is counted",
	"a forked child and a thread both inherit: >= 10000 process syscalls",
	"children inherit: fork counted as a second start, no second instance",
	"children inherit: both processes' exits counted ok",
	"a command rule classifies an exec (agent \"cmd\" from comm swprobe-cmd)",
	"the command-rule process is one instance while it runs",
	"its start is counted",
	"exec re-classifies: the new agent has the process as its root",
	"exec re-classifies: the old agent keeps what it did before the exec",
	"agents past max_agents fold into \"other\"",
	"every fold is counted",
	"a folded agent has no series of its own",
};

#define NCHECKS (sizeof(checks) / sizeof(checks[0]))

static int log_contains(const char *path, const char *text)
{
	char buf[65536];
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	return strstr(buf, text) != NULL;
}

int main(int argc, char **argv)
{
	char cfg[] = "/tmp/swarmwatch-identity-XXXXXX", link[64], *m = NULL;
	const char *const extra[] = {"--config", cfg, NULL};
	pid_t pre, p, cmd, o1, o2;
	struct daemon d = {0};
	const char *why;
	double v;
	size_t i;
	int fd;

	if (argc == 3 && !strcmp(argv[1], "--workload"))
		return workload(argv[2]);
	printf("1..%zu\n", NCHECKS);
	why = bpf_unavailable();
	if (!why && other_agents_running())
		why = "other processes with SWARMWATCH_AGENT are running; this test needs a quiet host";
	if (why) {
		for (i = 0; i < NCHECKS; i++)
			tap_skip(why, "%s", checks[i]);
		return 0;
	}
	fd = mkstemp(cfg);
	if (fd < 0)
		return 1;
	dprintf(fd, "{\"max_agents\": 5, \"identity\": {\"rules\": [\n"
		    "  {\"match\": \"comm\", \"regex\": \"^swprobe-(.*)$\"}]}}\n");
	close(fd);
	snprintf(link, sizeof(link), "/tmp/swprobe-cmd-%d", getpid() % 1000);
	unlink(link);
	if (symlink("/proc/self/exe", link) && symlink(argv[0], link))
		tap_diag("cannot link %s", link);
	/* comm is at most 15 bytes: "swprobe-cmd-NNN" */

	/* A first run with the default max_agents leaves pins of another size. */
	if (!daemon_start(&d, NULL))
		daemon_stop(&d);
	pre = spawn_workload(NULL, "pre", "sleep");
	usleep(200000);
	if (!tap_check(!daemon_start(&d, extra), "%s", checks[0])) {
		daemon_dump_log(&d);
		for (i = 1; i < NCHECKS; i++)
			tap_check(0, "%s (daemon did not start)", checks[i]);
		kill(pre, SIGKILL);
		return 1;
	}
	tap_check(log_contains(d.log_path, "recreating"), "%s", checks[1]);
	m = scrape_fresh(d.port);
	tap_check(m && metric(m, "swarmwatch_agent_instances{agent=\"pre\"}") == 1, "%s",
		  checks[2]);
	kill(pre, SIGKILL);
	wait_status(pre);

	p = spawn_workload(NULL, "family", "family");
	wait_status(p);
	cmd = spawn_workload(link, NULL, "late");
	usleep(1000000);
	free(m);
	m = scrape_fresh(d.port);
	{
		char series[128];

		snprintf(series, sizeof(series), "swarmwatch_agent_instances{agent=\"cmd-%d\"}",
			 getpid() % 1000);
		v = m ? metric(m, series) : NAN;
		tap_diag("%s = %.0f", series, v);
		tap_check(v == 1, "%s", checks[8]);
	}
	wait_status(cmd);
	p = spawn_workload(NULL, "outer", "reexec");
	wait_status(p);
	o1 = spawn_workload(NULL, "overflow1", "small");
	o2 = spawn_workload(NULL, "overflow2", "small");
	wait_status(o1);
	wait_status(o2);
	/* Counted before they exited: a tick that began after that has it all. */
	free(m);
	m = scrape_fresh(d.port);

	tap_check(
		metric(m,
		       "swarmwatch_agent_process_exits_total{agent=\"pre\",outcome=\"signal\"}") ==
			1,
		"%s", checks[3]);
	v = metric(m, "swarmwatch_agent_syscalls_total{agent=\"family\",class=\"process\"}");
	tap_diag("family process syscalls: %.0f", v);
	tap_check(v >= 2 * FAMILY_CALLS, "%s", checks[4]);
	tap_check(metric(m, "swarmwatch_agent_process_starts_total{agent=\"family\"}") == 2 &&
			  metric(m, "swarmwatch_agent_instances{agent=\"family\"}") == 0,
		  "%s", checks[5]);
	tap_check(metric(m,
			 "swarmwatch_agent_process_exits_total{agent=\"family\",outcome=\"ok\"}") ==
			  2,
		  "%s", checks[6]);
	{
		char series[160];

		snprintf(series, sizeof(series),
			 "swarmwatch_agent_syscalls_total{agent=\"cmd-%d\",class=\"process\"}",
			 getpid() % 1000);
		v = metric(m, series);
		tap_diag("cmd process syscalls: %.0f", v);
		tap_check(v >= SMALL_CALLS, "%s", checks[7]);
		snprintf(series, sizeof(series),
			 "swarmwatch_agent_process_starts_total{agent=\"cmd-%d\"}",
			 getpid() % 1000);
		tap_check(metric(m, series) == 1, "%s", checks[9]);
	}
	v = metric(m, "swarmwatch_agent_syscalls_total{agent=\"inner\",class=\"process\"}");
	tap_diag("inner process syscalls: %.0f", v);
	tap_check(v >= SMALL_CALLS &&
			  metric(m, "swarmwatch_agent_process_starts_total{agent=\"inner\"}") == 1,
		  "%s", checks[10]);
	v = metric(m, "swarmwatch_agent_syscalls_total{agent=\"outer\",class=\"process\"}");
	tap_check(
		v >= SMALL_CALLS &&
			metric(m,
			       "swarmwatch_agent_process_exits_total{agent=\"inner\",outcome=\"ok\"}") ==
				1,
		"%s", checks[11]);
	v = metric(m, "swarmwatch_agent_syscalls_total{agent=\"other\",class=\"process\"}");
	tap_diag("other process syscalls: %.0f", v);
	tap_check(v >= 2 * SMALL_CALLS, "%s", checks[12]);
	v = metric(m, "swarmwatch_agent_folds_total");
	tap_diag("folds: %.0f", v);
	tap_check(v >= 2, "%s", checks[13]);
	tap_check(!strstr(m, "agent=\"overflow1\"") && !strstr(m, "agent=\"overflow2\""), "%s",
		  checks[14]);

	daemon_stop(&d);
	if (tap_failed)
		daemon_dump_log(&d);
	daemon_unpin(&d);
	free(m);
	unlink(cfg);
	unlink(link);
	unlink(d.log_path);
	return tap_failed ? 1 : 0;
}
