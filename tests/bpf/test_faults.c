// SPDX-License-Identifier: MIT
/*
 * Faults of tagged processes against the running kernel, with the daemon ticking every 250 ms
 * and its default detector settings. Three agents start together:
 *   crashy - the test restarts it each time it exits; every instance exits with status 3
 *            after half a second: a crash loop;
 *   leaky  - steady for 15 s, then its resident memory grows by 16 MiB/s up to 192 MiB;
 *   calm   - steady all along;
 *   oomy   - after crashy's last crash: steady for 2 s in a memory cgroup limited to 32 MiB,
 *            then allocating until the kernel's OOM killer kills it; the test then starts an
 *            instance again (as an orchestrator restarts what was killed), steady for 15 s.
 * crashy must get an episode caused by crash_loop that starts within 10 s of its first crash,
 * leaky one whose departures name its resident memory within 60 s of the start of the ramp,
 * oomy its OOM kill counted and an episode caused by oom_kill within 10 s of the kill, each
 * with an explanation, and calm none. oomy's checks are skipped on a host with no memory
 * cgroup controller. Times are the daemon's own: the episode's start
 * against when the fault began, both on the wall clock.
 */
#include <math.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "harness.h"
#include "tap.h"

#define CRASH_LIFE_US 500000 /* each crashy instance lives half a second */
#define CRASH_RESTART_US 300000 /* and is restarted this long after it exits */
#define CRASHES 8 /* instances started in all */
#define LEAK_AT_S 15.0 /* leaky starts growing this long after it started */
#define LEAK_MIB_S 16 /* ... at this rate */
#define LEAK_MAX_MIB 192 /* ... up to this */
#define RUN_S 33.0 /* how long leaky and calm run (the ramp ends at 27 s) */
#define OOM_LIMIT "33554432" /* oomy's memory cgroup limit, bytes (32 MiB) */
#define OOM_AGAIN_S 15.0 /* how long oomy's instance after the kill runs */

static double wall_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A few syscalls every 10 ms: an agent that does the same thing all along. */
static void steady_step(void)
{
	int i;

	for (i = 0; i < 5; i++)
		syscall(SYS_getppid);
	usleep(10000);
}

/* Whether the comma-separated mount options opts hold opt. */
static int has_opt(const char *opts, const char *opt)
{
	size_t n = strlen(opt);

	for (const char *p = opts; p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (!strncmp(p, opt, n) && (p[n] == ',' || !p[n]))
			return 1;
	return 0;
}

/*
 * The memory cgroup oomy runs in for the test process `owner`, a directory under the cgroup v1
 * memory hierarchy or under a cgroup v2 root that offers the memory controller; its path goes
 * into out. Returns 1 (v1), 2 (v2), or 0 when the host has no memory controller mounted.
 */
static int oom_cgroup(pid_t owner, char *out, size_t len)
{
	char dev[64], dir[200], type[32], opts[512], ctl[256], line[256] = "";
	FILE *f = fopen("/proc/self/mounts", "r"), *c;
	int v = 0;

	while (f && fscanf(f, "%63s %199s %31s %511s %*d %*d", dev, dir, type, opts) == 4) {
		if (!strcmp(type, "cgroup") && has_opt(opts, "memory")) {
			v = 1;
			break;
		}
		if (strcmp(type, "cgroup2") || v)
			continue;
		snprintf(ctl, sizeof(ctl), "%s/cgroup.controllers", dir);
		c = fopen(ctl, "r");
		if (c && fgets(line, sizeof(line), c) && strstr(line, "memory"))
			v = 2;
		if (c)
			fclose(c);
		if (v)
			break;
	}
	if (f)
		fclose(f);
	if (v)
		snprintf(out, len, "%s/swarmwatch-test-oom-%d", dir, (int)owner);
	return v;
}

/* Writes text to dir/file; returns 0 or -1. */
static int put(const char *dir, const char *file, const char *text)
{
	char path[320];
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	f = fopen(path, "w");
	if (!f)
		return -1;
	ok = fputs(text, f) >= 0;
	return fclose(f) == 0 && ok ? 0 : -1;
}

/*
 * Makes oomy's cgroup, limited to OOM_LIMIT with no swap (v2: the root hands the memory
 * controller down first). Returns 0, or -1 with the reason in why.
 */
static int oom_cgroup_make(const char *dir, int v, char *why, size_t len)
{
	char parent[256];

	if (v == 2) {
		snprintf(parent, sizeof(parent), "%.*s", (int)(strrchr(dir, '/') - dir), dir);
		put(parent, "cgroup.subtree_control", "+memory");
	}
	if (mkdir(dir, 0755) && errno != EEXIST) {
		snprintf(why, len, "mkdir %s: %s", dir, strerror(errno));
		return -1;
	}
	if (put(dir, v == 1 ? "memory.limit_in_bytes" : "memory.max", OOM_LIMIT)) {
		snprintf(why, len, "cannot limit %s: %s", dir, strerror(errno));
		rmdir(dir);
		return -1;
	}
	/* Without swap limits the cgroup would swap instead; absent where there is no swap. */
	put(dir, v == 1 ? "memory.memsw.limit_in_bytes" : "memory.swap.max",
	    v == 1 ? OOM_LIMIT : "0");
	return 0;
}

static int workload(const char *kind)
{
	double start = now_s();
	size_t mib = 1 << 20, held = 0, want;
	char *mem = NULL;

	if (!strcmp(kind, "crash")) {
		usleep(CRASH_LIFE_US);
		return 3;
	}
	if (!strcmp(kind, "oom")) {
		char dir[256], pid[16];

		while (now_s() - start < 2.0)
			steady_step();
		snprintf(pid, sizeof(pid), "%d", (int)getpid());
		if (!oom_cgroup(getppid(), dir, sizeof(dir)) || put(dir, "cgroup.procs", pid))
			return 2;
		/* Up to 1 GiB, a page at a time: the OOM killer ends it long before. */
		for (held = 0; held < 1024; held++) {
			mem = mmap(NULL, mib, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
				   -1, 0);
			if (mem == MAP_FAILED)
				return 4;
			for (size_t off = 0; off < mib; off += 4096)
				mem[off] = 1;
		}
		return 5;
	}
	if (!strcmp(kind, "again")) {
		while (now_s() - start < OOM_AGAIN_S)
			steady_step();
		return 0;
	}
	if (!strcmp(kind, "leak")) {
		mem = mmap(NULL, LEAK_MAX_MIB * mib, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (mem == MAP_FAILED)
			return 1;
	}
	while (now_s() - start < RUN_S) {
		steady_step();
		if (!mem || now_s() - start < LEAK_AT_S)
			continue;
		want = (size_t)((now_s() - start - LEAK_AT_S) * LEAK_MIB_S);
		if (want > LEAK_MAX_MIB)
			want = LEAK_MAX_MIB;
		/* Touch one byte per page: each page becomes resident. */
		for (; held < want; held++)
			for (size_t off = 0; off < mib; off += 4096)
				mem[held * mib + off] = 1;
	}
	return 0;
}

/* Seconds since the epoch of an RFC 3339 time "YYYY-MM-DDTHH:MM:SS.mmmZ"; NAN if malformed. */
static double rfc3339(const char *s)
{
	struct tm tm = {0};
	int ms = 0;

	if (sscanf(s, "%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
		   &tm.tm_min, &tm.tm_sec, &ms) != 7)
		return NAN;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return timegm(&tm) + ms / 1000.0;
}

/* The first episode of `agent` in the document's `recent` list, as text up to its end, or NULL. */
static const char *episode_of(const char *doc, const char *agent, char *out, size_t len)
{
	char pat[64];
	const char *p = strstr(doc, "\"recent\":[");
	const char *q;
	int depth = 0;

	if (!p)
		return NULL;
	snprintf(pat, sizeof(pat), "{\"agent\":\"%s\"", agent);
	p = strstr(p, pat);
	if (!p)
		return NULL;
	for (q = p; *q; q++) {
		depth += *q == '{';
		depth -= *q == '}';
		if (!depth)
			break;
	}
	snprintf(out, len, "%.*s", (int)(q - p + 1), p);
	return out;
}

/* The value of string field `key` of an episode's text, or "". */
static const char *field(const char *ep, const char *key, char *out, size_t len)
{
	char pat[32];
	const char *p, *q;

	out[0] = 0;
	snprintf(pat, sizeof(pat), "\"%s\":\"", key);
	p = ep ? strstr(ep, pat) : NULL;
	if (!p)
		return out;
	p += strlen(pat);
	q = strchr(p, '"');
	if (q)
		snprintf(out, len, "%.*s", (int)(q - p), p);
	return out;
}

static const char *const checks[] = {
	"daemon starts with a 250 ms tick",
	"crashy: an episode is caused by crash_loop",
	"crashy: it starts within 10 s of the first crash",
	"leaky: an episode names resident memory among its departures",
	"leaky: it starts within 60 s of the start of the ramp",
	"every episode says why",
	"calm: no episode",
	"oomy: its OOM kill is counted",
	"oomy: an episode caused by oom_kill starts within 10 s of the kill",
	"daemon exits 0 on SIGTERM",
};

#define NCHECKS (sizeof(checks) / sizeof(checks[0]))

int main(int argc, char **argv)
{
	const char *const extra[] = {"--interval", "250ms", NULL};
	static char doc_ep[4][8192], buf[256];
	double t0, first_crash = 0, crash_start, leak_start, oom_at = 0, oom_start;
	pid_t leaky, calm, crashy, oomy = -1;
	const char *crash_ep, *leak_ep, *calm_ep, *oom_ep, *body;
	char *resp = NULL, *page, cg[256], why[320] = "";
	int cgv;
	struct daemon d = {0};
	int n = 0, st;
	size_t i;

	if (argc == 3 && !strcmp(argv[1], "--workload"))
		return workload(argv[2]);
	printf("1..%zu\n", NCHECKS);
	body = bpf_unavailable();
	if (body) {
		for (i = 0; i < NCHECKS; i++)
			tap_skip(body, "%s", checks[i]);
		return 0;
	}
	if (!tap_check(!daemon_start(&d, extra), "%s", checks[0])) {
		daemon_dump_log(&d);
		for (i = 1; i < NCHECKS; i++)
			tap_check(0, "%s (daemon did not start)", checks[i]);
		return 1;
	}
	t0 = wall_s();
	leaky = spawn_workload(NULL, "leaky", "leak");
	calm = spawn_workload(NULL, "calm", "steady");
	/* crashy: restarted after each exit, CRASHES instances in all. */
	for (n = 0; n < CRASHES; n++) {
		crashy = spawn_workload(NULL, "crashy", "crash");
		st = wait_status(crashy);
		if (!first_crash)
			first_crash = wall_s();
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 3)
			tap_diag("crashy instance %d ended with status %#x", n, st);
		usleep(CRASH_RESTART_US);
	}
	crash_start = first_crash;
	leak_start = t0 + LEAK_AT_S;
	/* oomy: killed by the OOM killer in its cgroup, then an instance runs again. */
	cgv = oom_cgroup(getpid(), cg, sizeof(cg));
	if (!cgv)
		snprintf(why, sizeof(why), "no memory cgroup controller is mounted");
	else if (!oom_cgroup_make(cg, cgv, why, sizeof(why))) {
		st = wait_status(spawn_workload(NULL, "oomy", "oom"));
		oom_at = wall_s();
		if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL)
			tap_diag("oomy ended with status %#x, not killed", st);
		oomy = spawn_workload(NULL, "oomy", "again");
	}
	wait_status(leaky);
	wait_status(calm);
	if (oomy > 0)
		wait_status(oomy);
	if (cgv && !why[0])
		rmdir(cg);
	sleep(1);

	http_get(d.port, "/api/v1/anomalies", &resp);
	body = resp ? http_body(resp) : "";
	crash_ep = episode_of(body, "crashy", doc_ep[0], sizeof(doc_ep[0]));
	leak_ep = episode_of(body, "leaky", doc_ep[1], sizeof(doc_ep[1]));
	calm_ep = episode_of(body, "calm", doc_ep[2], sizeof(doc_ep[2]));
	oom_ep = episode_of(body, "oomy", doc_ep[3], sizeof(doc_ep[3]));
	tap_diag("crashy: %s", crash_ep ? crash_ep : "no episode");
	tap_diag("leaky: %s", leak_ep ? leak_ep : "no episode");
	if (calm_ep)
		tap_diag("calm: %s", calm_ep);
	tap_check(!strcmp(field(crash_ep, "cause", buf, sizeof(buf)), "crash_loop"), "%s",
		  checks[1]);
	tap_diag("crashy flagged %.2f s after its first crash",
		 rfc3339(field(crash_ep, "start", buf, sizeof(buf))) - crash_start);
	tap_check(rfc3339(field(crash_ep, "start", buf, sizeof(buf))) - crash_start <= 10.0, "%s",
		  checks[2]);
	tap_check(leak_ep && strstr(leak_ep, "\"signal\":\"resident_memory"), "%s", checks[3]);
	tap_diag("leaky flagged %.2f s after its ramp began",
		 rfc3339(field(leak_ep, "start", buf, sizeof(buf))) - leak_start);
	tap_check(rfc3339(field(leak_ep, "start", buf, sizeof(buf))) - leak_start <= 60.0 &&
			  rfc3339(field(leak_ep, "start", buf, sizeof(buf))) >= leak_start,
		  "%s", checks[4]);
	tap_check(crash_ep && leak_ep && field(crash_ep, "why", buf, sizeof(buf))[0] &&
			  field(leak_ep, "why", buf, sizeof(buf))[0],
		  "%s", checks[5]);
	tap_check(!calm_ep, "%s", checks[6]);
	if (why[0]) {
		tap_skip(why, "%s", checks[7]);
		tap_skip(why, "%s", checks[8]);
	} else {
		page = scrape(d.port);
		tap_diag("oomy: %s", oom_ep ? oom_ep : "no episode");
		tap_diag("oomy: swarmwatch_agent_oom_kills_total %g",
			 page ? sum_metric(page, "swarmwatch_agent_oom_kills_total",
					   "agent=\"oomy\"", NULL)
			      : -1.0);
		tap_check(page && sum_metric(page, "swarmwatch_agent_oom_kills_total",
					     "agent=\"oomy\"", NULL) >= 1,
			  "%s", checks[7]);
		free(page);
		oom_start = rfc3339(field(oom_ep, "start", buf, sizeof(buf)));
		tap_diag("oomy flagged %.2f s after its OOM kill", oom_start - oom_at);
		tap_check(!strcmp(field(oom_ep, "cause", buf, sizeof(buf)), "oom_kill") &&
				  oom_start - oom_at <= 10.0 && oom_start - oom_at >= -2.0,
			  "%s", checks[8]);
	}
	free(resp);
	tap_check(daemon_stop(&d) == 0, "%s", checks[9]);
	if (tap_failed)
		daemon_dump_log(&d);
	daemon_unpin(&d);
	unlink(d.log_path);
	return tap_failed ? 1 : 0;
}
