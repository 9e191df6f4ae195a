// SPDX-License-Identifier: MIT
/*
 * Anomaly scoring against the running kernel: the daemon ticks every 100 ms with a 100-sample
 * detector warm-up; a child tagged SWARMWATCH_AGENT=spike makes a steady ~2200 syscalls/s, then
 * 20 times as many. Its syscall_rate score must cross the threshold, the episode must show on
 * /metrics and in /api/v1/anomalies, and the page must pass promtool's lint.
 */
#include <math.h>

#include "harness.h"
#include "tap.h"

#define STEADY_S 16.0 /* steady phase: warm-up (10 s) and some scored ticks */
#define BURST_S 20.0 /* the burst lasts until the parent kills the child */
#define SLICE_NS 5000000L /* one batch of calls every 5 ms, 20 batches a tick */
#define BATCH 10 /* getppid() per slice in the steady phase */
#define WARMUP "100" /* detector warm-up, in ticks */

/*
 * Steady: BATCH getppid() and one clock_nanosleep per slice; burst: 20 times the calls per
 * slice. Slices are paced on absolute deadlines so that every tick sees the same count.
 */
static int workload(void)
{
	double start = now_s();
	struct timespec next;
	int i, n;

	clock_gettime(CLOCK_MONOTONIC, &next);
	while (now_s() - start < STEADY_S + BURST_S) {
		n = now_s() - start < STEADY_S ? BATCH : 20 * (BATCH + 1) - 1;
		for (i = 0; i < n; i++)
			syscall(SYS_getppid);
		next.tv_nsec += SLICE_NS;
		if (next.tv_nsec >= 1000000000L) {
			next.tv_nsec -= 1000000000L;
			next.tv_sec++;
		}
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
	}
	return 0;
}

static double wall_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The JSON text of array `key` ("current" or "recent") of the document, or "". */
static const char *json_array_text(const char *doc, const char *key, char *out, size_t len)
{
	char pat[32];
	const char *p, *q;
	int depth = 0;

	snprintf(pat, sizeof(pat), "\"%s\":[", key);
	out[0] = 0;
	p = strstr(doc, pat);
	if (!p)
		return out;
	p += strlen(pat) - 1;
	for (q = p; *q; q++) {
		depth += *q == '[';
		depth -= *q == ']';
		if (!depth)
			break;
	}
	if (*q && (size_t)(q - p + 1) < len) {
		memcpy(out, p, q - p + 1);
		out[q - p + 1] = 0;
	}
	return out;
}

/* promtool's verdict on the page: 1 when it has nothing to report. */
static int promtool_clean(const char *page)
{
	char path[] = "/tmp/swarmwatch-anomaly-XXXXXX", cmd[256], out[4096] = "";
	int fd = mkstemp(path), rc;
	FILE *f;
	size_t n = 0;

	if (fd < 0)
		return 0;
	if (write(fd, page, strlen(page)) < 0)
		tap_diag("cannot write %s", path);
	close(fd);
	snprintf(cmd, sizeof(cmd), "promtool check metrics < %s 2>&1", path);
	f = popen(cmd, "r");
	if (f) {
		n = fread(out, 1, sizeof(out) - 1, f);
		rc = pclose(f);
	} else {
		rc = -1;
	}
	out[n] = 0;
	unlink(path);
	if (n)
		tap_diag("promtool: %s", out);
	return rc == 0 && n == 0;
}

static const char *const checks[] = {
	"daemon starts with anomaly.warmup " WARMUP,
	"spike: syscall_rate is scored and past warm-up before the burst",
	"spike: syscall_rate score reaches the threshold during the burst",
	"spike: swarmwatch_agent_anomalous is 1",
	"spike: swarmwatch_agent_anomalies_total counts the episode",
	"spike: syscall_rate forecasts for 5m and 30m",
	"/api/v1/anomalies is JSON and lists spike as current, driven by syscall_rate",
	"spike: the burst scored above anything the steady phase did",
	"unknown /api/v1/ path is a 404 JSON error",
	"promtool check metrics has nothing to report",
	"daemon exits 0 on SIGTERM",
};

#define NCHECKS (sizeof(checks) / sizeof(checks[0]))

int main(int argc, char **argv)
{
	const char *score_series = "swarmwatch_agent_anomaly_score{agent=\"spike\","
				   "signal=\"syscall_rate\"}";
	char cfg[] = "/tmp/swarmwatch-anomaly-cfg-XXXXXX", *resp = NULL;
	static char cur[1 << 16];
	const char *const extra[] = {"--config", cfg, NULL};
	double threshold = 0.5, spawned, burst_at, pre_at = 0, deadline, score = 0, pre_max = 0,
	       conf = 0, v;
	const char *why, *p, *body;
	struct daemon d = {0};
	char *m = NULL;
	int fd, ok, status;
	pid_t child;
	size_t i;

	if (argc == 3 && !strcmp(argv[1], "--workload"))
		return workload();
	printf("1..%zu\n", NCHECKS);
	why = bpf_unavailable();
	if (why) {
		for (i = 0; i < NCHECKS; i++)
			tap_skip(why, "%s", checks[i]);
		return 0;
	}
	fd = mkstemp(cfg);
	if (fd >= 0) {
		dprintf(fd, "{\"anomaly\": {\"warmup\": " WARMUP "}}\n");
		close(fd);
	}
	if (!tap_check(!daemon_start(&d, extra), "%s", checks[0])) {
		daemon_dump_log(&d);
		for (i = 1; i < NCHECKS; i++)
			tap_check(0, "%s (daemon did not start)", checks[i]);
		unlink(cfg);
		return 1;
	}

	spawned = wall_s();
	burst_at = spawned + STEADY_S;
	child = spawn_workload(NULL, "spike", "spike");
	/* Steady phase: watch the score and the confidence. */
	while (wall_s() < burst_at - 0.3) {
		usleep(200000);
		free(m);
		m = scrape(d.port);
		if (!m)
			continue;
		v = metric(m, "swarmwatch_anomaly_threshold");
		if (!isnan(v))
			threshold = v;
		v = metric(m, score_series);
		if (!isnan(v) && v > pre_max) {
			pre_max = v;
			pre_at = wall_s() - spawned;
		}
		v = metricf(m, "swarmwatch_agent_anomaly_confidence{agent=\"spike\","
			       "signal=\"syscall_rate\"}");
		if (!isnan(v))
			conf = v;
	}
	tap_diag("before the burst: highest score %.3f (%.1f s in), confidence %.3f", pre_max,
		 pre_at, conf);
	tap_check(conf >= 0.5, "%s", checks[1]);

	/*
	 * Burst: poll until the score crosses and beats the steady phase (a young series can
	 * score near the threshold on noise, and a score is held while its detection is recent).
	 */
	deadline = burst_at + 10;
	while (wall_s() < deadline) {
		usleep(200000);
		free(m);
		m = scrape(d.port);
		if (!m || wall_s() < burst_at)
			continue;
		score = metric(m, score_series);
		if (score >= threshold && score > pre_max)
			break;
	}
	if (!m)
		m = strdup("");
	tap_diag("syscall_rate score %.3f, %.1f s after the burst began", score,
		 wall_s() - burst_at);
	tap_check(score >= threshold, "%s", checks[2]);
	tap_check(metric(m, "swarmwatch_agent_anomalous{agent=\"spike\"}") == 1, "%s", checks[3]);
	tap_check(metric(m, "swarmwatch_agent_anomalies_total{agent=\"spike\"}") >= 1, "%s",
		  checks[4]);
	ok = 1;
	for (i = 0; i < 2; i++)
		ok &= metricf(m,
			      "swarmwatch_agent_forecast_syscalls_per_second{agent=\"spike\","
			      "signal=\"syscall_rate\","
			      "horizon=\"%s\"}",
			      i ? "30m" : "5m") >= 0;
	tap_check(ok, "%s", checks[5]);

	status = http_get(d.port, "/api/v1/anomalies", &resp);
	body = http_body(resp);
	json_array_text(body, "current", cur, sizeof(cur));
	tap_diag("current: %s", cur);
	p = strstr(cur, "{\"agent\":\"spike\"");
	tap_check(status == 200 && resp && strstr(resp, "Content-Type: application/json\r\n") &&
			  p && strstr(p, "\"signal\":\"syscall_rate\"") &&
			  strstr(body, "\"recent\":[{"),
		  "%s", checks[6]);
	tap_check(score > pre_max, "%s", checks[7]);
	free(resp);

	status = http_get(d.port, "/api/v1/nope", &resp);
	tap_check(status == 404 && strstr(resp, "Content-Type: application/json\r\n") &&
			  strstr(http_body(resp), "\"status\":\"error\"") &&
			  strstr(http_body(resp), "\"error\":\"not found: /api/v1/nope"),
		  "%s", checks[8]);
	free(resp);

	if (system("command -v promtool >/dev/null 2>&1") == 0)
		tap_check(promtool_clean(http_body(m)), "%s", checks[9]);
	else
		tap_skip("promtool not installed", "%s", checks[9]);

	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	tap_check(daemon_stop(&d) == 0, "%s", checks[10]);
	if (tap_failed)
		daemon_dump_log(&d);
	daemon_unpin(&d);
	free(m);
	unlink(cfg);
	unlink(d.log_path);
	return tap_failed ? 1 : 0;
}
