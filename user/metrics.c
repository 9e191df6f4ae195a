// SPDX-License-Identifier: MIT
/* The /metrics page: per-agent families, then swarmwatch's own. */
#include <bpf/libbpf.h>
#include <dirent.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "anomaly.h"
#include "metrics.h"
#include "prom.h"
#include "syscalls.h"

#define NS 1e-9

/* A per-agent family whose value is one field of the agent's counters. */
struct simple_family {
	const char *name;
	const char *type;
	const char *help;
	double (*value)(const struct agent_snap *a);
};

static double v_instances(const struct agent_snap *a)
{
	return a->instances;
}

static double v_cpu(const struct agent_snap *a)
{
	return a->s.cpu_ns * NS;
}

static double v_faults(const struct agent_snap *a)
{
	return a->s.page_faults;
}

static double v_starts(const struct agent_snap *a)
{
	return a->s.process_starts + a->user_starts;
}

static double v_ooms(const struct agent_snap *a)
{
	return a->s.oom_kills;
}

static double v_tcp_active(const struct agent_snap *a)
{
	/* Per-CPU counts of opens and closes; the difference is exact once summed. */
	return a->s.tcp_opened >= a->s.tcp_closed ? a->s.tcp_opened - a->s.tcp_closed : 0;
}

static double v_retransmits(const struct agent_snap *a)
{
	return a->s.tcp_retransmits;
}

static double v_sent(const struct agent_snap *a)
{
	return a->s.net_sent_bytes;
}

static double v_received(const struct agent_snap *a)
{
	return a->s.net_received_bytes;
}

static const struct simple_family simple_families[] = {
	{"swarmwatch_agent_instances", "gauge",
	 "Live instances of the agent (process trees whose root a rule matched).", v_instances},
	{"swarmwatch_agent_cpu_seconds_total", "counter",
	 "CPU time the agent's tasks spent running.", v_cpu},
	{"swarmwatch_agent_page_faults_total", "counter", "User page faults of the agent's tasks.",
	 v_faults},
	{"swarmwatch_agent_process_starts_total", "counter",
	 "Processes started in the agent (forks of its processes and classified execs).", v_starts},
	{"swarmwatch_agent_oom_kills_total", "counter",
	 "Processes of the agent chosen as victim by the OOM killer.", v_ooms},
	{"swarmwatch_agent_tcp_active_connections", "gauge",
	 "Established TCP connections the agent opened or used.", v_tcp_active},
	{"swarmwatch_agent_tcp_retransmits_total", "counter",
	 "TCP segments retransmitted on the agent's connections.", v_retransmits},
	{"swarmwatch_agent_network_sent_bytes_total", "counter",
	 "Bytes the agent's tasks sent on TCP sockets.", v_sent},
	{"swarmwatch_agent_network_received_bytes_total", "counter",
	 "Bytes the agent's tasks received on TCP sockets.", v_received},
};

static void render_tcp(struct buf *b, const struct snapshot *s)
{
	static const char *const results[SW_TCP_RESULT_MAX] = {"ok", "refused", "timeout", "error"};
	struct prom_label l[2] = {{"agent", NULL}, {"result", NULL}};
	int i, j;

	prom__family(b, "swarmwatch_agent_tcp_connects_total", "counter",
		     "TCP connects the agent made, by result (refused: reset by the peer; timeout: "
		     "no answer; error: any other failure).");
	for (i = 0; i < s->nagents; i++) {
		l[0].value = s->agents[i].name;
		for (j = 0; j < SW_TCP_RESULT_MAX; j++) {
			l[1].value = results[j];
			prom__sample_u64(b, "swarmwatch_agent_tcp_connects_total", l, 2,
					 s->agents[i].s.tcp_connects[j]);
		}
	}
	prom__family(b, "swarmwatch_agent_tcp_connect_duration_seconds", "histogram",
		     "Time from the agent's SYN to an established connection.");
	for (i = 0; i < s->nagents; i++) {
		l[0].value = s->agents[i].name;
		prom__histogram_log2(b, "swarmwatch_agent_tcp_connect_duration_seconds", l, 1,
				     s->agents[i].s.tcp_connect_lat, SW_LAT_SLOTS,
				     METRICS_CONNECT_LE_LO, METRICS_CONNECT_LE_HI, NS,
				     s->agents[i].s.tcp_connect_lat_sum_ns * NS);
	}
	prom__family(b, "swarmwatch_agent_tcp_resets_total", "counter",
		     "TCP resets on the agent's connections, sent or received.");
	l[1].name = "direction";
	for (i = 0; i < s->nagents; i++) {
		l[0].value = s->agents[i].name;
		l[1].value = "sent";
		prom__sample_u64(b, "swarmwatch_agent_tcp_resets_total", l, 2,
				 s->agents[i].s.tcp_resets_sent);
		l[1].value = "received";
		prom__sample_u64(b, "swarmwatch_agent_tcp_resets_total", l, 2,
				 s->agents[i].s.tcp_resets_received);
	}
}

static void render_requests(struct buf *b, const struct snapshot *s)
{
	static const char *const statuses[SW_STATUS_MAX] = {"unknown", "1xx", "2xx",  "3xx",
							    "4xx",     "5xx", "error"};
	static const char *const roles[] = {"unknown", "client", "server"};
	struct prom_label l[4] = {
		{"agent", NULL}, {"upstream", NULL}, {"role", NULL}, {"status", NULL}};
	__u64 lat[SW_LAT_SLOTS], sum;
	int i, j, k;

	prom__family(b, "swarmwatch_agent_requests_total", "counter",
		     "Requests paired with their responses on the agent's TCP connections, by "
		     "upstream, role and status class (error: reset or closed before any "
		     "response byte; unknown: not HTTP).");
	for (i = 0; i < s->nrequests; i++) {
		const struct request_series *r = &s->requests[i];

		l[0].value = s->agents[r->agent].name;
		l[1].value = r->upstream;
		l[2].value = roles[r->role < 3 ? r->role : 0];
		l[3].value = statuses[r->status < SW_STATUS_MAX ? r->status : 0];
		prom__sample_u64(b, "swarmwatch_agent_requests_total", l, 4, r->count);
	}
	prom__family(b, "swarmwatch_agent_request_duration_seconds", "histogram",
		     "Time from a request's first byte to its response's first byte (client), or "
		     "from reading a request to writing the response (server).");
	for (i = 0; i < s->nrequests; i = j) {
		const struct request_series *r = &s->requests[i];

		memset(lat, 0, sizeof(lat));
		sum = 0;
		/* Series are sorted: one histogram per agent, upstream and role. */
		for (j = i; j < s->nrequests && s->requests[j].agent == r->agent &&
			    s->requests[j].role == r->role &&
			    !strcmp(s->requests[j].upstream, r->upstream);
		     j++) {
			for (k = 0; k < SW_LAT_SLOTS; k++)
				lat[k] += s->requests[j].lat[k];
			sum += s->requests[j].lat_sum_ns;
		}
		l[0].value = s->agents[r->agent].name;
		l[1].value = r->upstream;
		l[2].value = roles[r->role < 3 ? r->role : 0];
		prom__histogram_log2(b, "swarmwatch_agent_request_duration_seconds", l, 3, lat,
				     SW_LAT_SLOTS, METRICS_REQUEST_LE_LO, METRICS_REQUEST_LE_HI, NS,
				     sum * NS);
	}
}

static void render_agents(struct buf *b, const struct snapshot *s)
{
	static const char *const outcomes[SW_EXIT_MAX] = {"ok", "error", "signal"};
	struct prom_label l[2] = {{"agent", NULL}, {NULL, NULL}};
	size_t f;
	int i, j;

	for (f = 0; f < sizeof(simple_families) / sizeof(simple_families[0]); f++) {
		const struct simple_family *sf = &simple_families[f];

		prom__family(b, sf->name, sf->type, sf->help);
		for (i = 0; i < s->nagents; i++) {
			l[0].value = s->agents[i].name;
			prom__sample(b, sf->name, l, 1, sf->value(&s->agents[i]));
		}
	}

	if (s->rss_up) {
		prom__family(b, "swarmwatch_agent_resident_memory_bytes", "gauge",
			     "Resident memory of the agent's processes (file, anonymous and shared "
			     "memory pages), sampled each collector tick.");
		for (i = 0; i < s->nagents; i++) {
			l[0].value = s->agents[i].name;
			prom__sample_u64(b, "swarmwatch_agent_resident_memory_bytes", l, 1,
					 s->agents[i].rss_bytes);
		}
	}

	prom__family(b, "swarmwatch_agent_syscalls_total", "counter",
		     "Completed syscalls of the agent's tasks by class.");
	l[1].name = "class";
	for (i = 0; i < s->nagents; i++) {
		l[0].value = s->agents[i].name;
		for (j = 0; j < SW_CLASS_MAX; j++) {
			l[1].value = syscalls__class_name(j);
			prom__sample_u64(b, "swarmwatch_agent_syscalls_total", l, 2,
					 s->agents[i].s.syscalls[j]);
		}
	}

	prom__family(b, "swarmwatch_agent_syscall_errors_total", "counter",
		     "Failed syscalls of the agent by errno (the most frequent ones; the rest as "
		     "other).");
	l[1].name = "errno";
	for (i = 0; i < s->nagents; i++) {
		const struct agent_snap *a = &s->agents[i];
		__u64 other = a->s.syscall_errors[0];
		bool any = other != 0;

		l[0].value = a->name;
		for (j = 1; j < SW_ERRNO_SLOTS; j++) {
			if (!a->errno_shown[j]) {
				other += a->s.syscall_errors[j];
				any |= a->s.syscall_errors[j] != 0;
				continue;
			}
			l[1].value = syscalls__errno_name(j);
			prom__sample_u64(b, "swarmwatch_agent_syscall_errors_total", l, 2,
					 a->s.syscall_errors[j]);
		}
		if (any) {
			l[1].value = "other";
			prom__sample_u64(b, "swarmwatch_agent_syscall_errors_total", l, 2, other);
		}
	}

	prom__family(b, "swarmwatch_agent_syscall_duration_seconds", "histogram",
		     "Time from syscall entry to exit for the agent's tasks.");
	for (i = 0; i < s->nagents; i++) {
		l[0].value = s->agents[i].name;
		prom__histogram_log2(b, "swarmwatch_agent_syscall_duration_seconds", l, 1,
				     s->agents[i].s.syscall_lat, SW_LAT_SLOTS,
				     METRICS_SYSCALL_LE_LO, METRICS_SYSCALL_LE_HI, NS,
				     s->agents[i].s.syscall_lat_sum_ns * NS);
	}

	prom__family(b, "swarmwatch_agent_run_queue_delay_seconds", "histogram",
		     "Time the agent's tasks waited runnable before getting a CPU.");
	for (i = 0; i < s->nagents; i++) {
		l[0].value = s->agents[i].name;
		prom__histogram_log2(b, "swarmwatch_agent_run_queue_delay_seconds", l, 1,
				     s->agents[i].s.runq_lat, SW_LAT_SLOTS, METRICS_RUNQ_LE_LO,
				     METRICS_RUNQ_LE_HI, NS, s->agents[i].s.runq_lat_sum_ns * NS);
	}

	prom__family(b, "swarmwatch_agent_context_switches_total", "counter",
		     "Context switches of the agent's tasks: voluntary (blocked) or involuntary "
		     "(preempted).");
	l[1].name = "kind";
	for (i = 0; i < s->nagents; i++) {
		l[0].value = s->agents[i].name;
		l[1].value = "voluntary";
		prom__sample_u64(b, "swarmwatch_agent_context_switches_total", l, 2,
				 s->agents[i].s.ctx_voluntary);
		l[1].value = "involuntary";
		prom__sample_u64(b, "swarmwatch_agent_context_switches_total", l, 2,
				 s->agents[i].s.ctx_involuntary);
	}

	prom__family(b, "swarmwatch_agent_process_exits_total", "counter",
		     "Processes of the agent that ended: ok (exit 0), error (non-zero exit), "
		     "signal.");
	l[1].name = "outcome";
	for (i = 0; i < s->nagents; i++) {
		l[0].value = s->agents[i].name;
		for (j = 0; j < SW_EXIT_MAX; j++) {
			l[1].value = outcomes[j];
			prom__sample_u64(b, "swarmwatch_agent_process_exits_total", l, 2,
					 s->agents[i].s.process_exits[j]);
		}
	}
	render_tcp(b, s);
	render_requests(b, s);
}

/* Per-agent, per-signal gauge `name` from one of the view's arrays. */
static void render_signal_family(struct buf *b, const struct anomaly_view *v, const char *name,
				 const char *help, size_t offset)
{
	struct prom_label l[2] = {{"agent", NULL}, {"signal", NULL}};
	int i, j;

	prom__family(b, name, "gauge", help);
	for (i = 0; i < v->nagents; i++) {
		const struct anomaly_agent *a = &v->agents[i];
		const double *vals = (const double *)((const char *)a + offset);

		l[0].value = a->name;
		for (j = 0; j < ANOMALY_NSIGNALS; j++) {
			if (!(a->scored & (1u << j)))
				continue;
			l[1].value = anomaly__signal_name(j);
			prom__sample(b, name, l, 2, vals[j]);
		}
	}
}

/* One forecast family per unit of the signals (enum anomaly_unit). */
static const struct {
	const char *name;
	const char *help;
} forecast_families[ANOMALY_NUNITS] = {
	[ANOMALY_UNIT_SYSCALLS_PER_SECOND] = {"swarmwatch_agent_forecast_syscalls_per_second",
					      "Holt forecast of an agent's syscall rate at a "
					      "horizon ahead, in syscalls per second."},
	[ANOMALY_UNIT_CPU_SECONDS_PER_SECOND] = {"swarmwatch_agent_forecast_cpu_seconds_per_second",
						 "Holt forecast of an agent's CPU use at a horizon "
						 "ahead, in CPU seconds per second."},
	[ANOMALY_UNIT_RATIO] = {"swarmwatch_agent_forecast_ratio",
				"Holt forecast of an agent's error or failure ratio at a horizon "
				"ahead, in [0, 1]."},
	[ANOMALY_UNIT_SECONDS] = {"swarmwatch_agent_forecast_seconds",
				  "Holt forecast of an agent's latency or delay quantile at a "
				  "horizon ahead, in seconds."},
};

static void render_anomalies(struct buf *b, const struct anomaly_view *v)
{
	struct prom_label l[3] = {{"agent", NULL}, {"signal", NULL}, {"horizon", NULL}};
	int i, j, k, u;

	render_signal_family(b, v, "swarmwatch_agent_anomaly_score",
			     "Anomaly score of an agent's signal in [0, 1]; held at its peak while "
			     "the signal's detection is recent.",
			     offsetof(struct anomaly_agent, score));
	render_signal_family(b, v, "swarmwatch_agent_anomaly_confidence",
			     "How much the signal's detector has learned, in [0, 1]; no verdicts "
			     "before 0.5.",
			     offsetof(struct anomaly_agent, confidence));
	prom__family(b, "swarmwatch_agent_anomalous", "gauge",
		     "Whether an anomaly episode of the agent is ongoing (1) or not (0).");
	for (i = 0; i < v->nagents; i++) {
		l[0].value = v->agents[i].name;
		prom__sample(b, "swarmwatch_agent_anomalous", l, 1, v->agents[i].anomalous);
	}
	prom__family(b, "swarmwatch_agent_anomalies_total", "counter",
		     "Anomaly episodes of the agent since swarmwatch first saw it.");
	for (i = 0; i < v->nagents; i++) {
		l[0].value = v->agents[i].name;
		prom__sample_u64(b, "swarmwatch_agent_anomalies_total", l, 1,
				 v->agents[i].episodes);
	}
	for (u = 0; u < ANOMALY_NUNITS; u++) {
		prom__family(b, forecast_families[u].name, "gauge", forecast_families[u].help);
		for (i = 0; i < v->nagents; i++) {
			const struct anomaly_agent *a = &v->agents[i];

			l[0].value = a->name;
			for (j = 0; j < ANOMALY_NSIGNALS; j++) {
				if (!(a->forecast & (1u << j)) || anomaly__signal_unit(j) != u)
					continue;
				l[1].value = anomaly__signal_name(j);
				for (k = 0; k < ANOMALY_NHORIZONS; k++) {
					l[2].value = anomaly__horizon_name(k);
					prom__sample(b, forecast_families[u].name, l, 3,
						     a->predicted[j][k]);
				}
			}
		}
	}
	prom__family(b, "swarmwatch_anomaly_threshold", "gauge",
		     "Score at and above which a detection is raised.");
	prom__sample(b, "swarmwatch_anomaly_threshold", NULL, 0, v->threshold);
}

static void render_bpf(struct buf *b, const struct snapshot *s)
{
	struct prom_label l = {NULL, NULL};
	int i;

	prom__family(
		b, "swarmwatch_collector_up", "gauge",
		"Whether a collector runs (1) or could not start on this kernel or is disabled "
		"(0).");
	l.name = "collector";
	for (i = 0; i < COLLECTOR_MAX; i++) {
		l.value = sw_collector_name(i);
		prom__sample(b, "swarmwatch_collector_up", &l, 1, s->up[i]);
	}
	if (s->tls_configured) {
		l.value = "tls";
		prom__sample(b, "swarmwatch_collector_up", &l, 1, s->tls_up);
		prom__family(b, "swarmwatch_tls_probed_processes", "gauge",
			     "Processes of agents with TLS capture on whose OpenSSL calls are "
			     "probed.");
		prom__sample_u64(b, "swarmwatch_tls_probed_processes", NULL, 0, s->tls_processes);
		prom__family(b, "swarmwatch_tls_attach_failures_total", "counter",
			     "Processes of agents with TLS capture on that could not be probed.");
		prom__sample_u64(b, "swarmwatch_tls_attach_failures_total", NULL, 0,
				 s->tls_attach_failures);
	}

	prom__family(b, "swarmwatch_bpf_program_run_seconds_total", "counter",
		     "Time spent in each BPF program (only while BPF run-time statistics are on: "
		     "bpf_stats in the configuration, or sysctl kernel.bpf_stats_enabled=1).");
	l.name = "program";
	for (i = 0; i < s->nprogs; i++) {
		l.value = s->progs[i].name;
		prom__sample(b, "swarmwatch_bpf_program_run_seconds_total", &l, 1,
			     s->progs[i].run_ns * NS);
	}
	prom__family(b, "swarmwatch_bpf_program_runs_total", "counter",
		     "Runs of each BPF program (only while BPF run-time statistics are on).");
	for (i = 0; i < s->nprogs; i++) {
		l.value = s->progs[i].name;
		prom__sample_u64(b, "swarmwatch_bpf_program_runs_total", &l, 1, s->progs[i].runs);
	}

	l.name = "map";
	prom__family(
		b, "swarmwatch_bpf_map_entries", "gauge",
		"Entries in each BPF map (arrays are always full; task storage is not counted).");
	for (i = 0; i < s->nmaps; i++) {
		if (s->maps[i].entries < 0)
			continue;
		l.value = s->maps[i].name;
		prom__sample_u64(b, "swarmwatch_bpf_map_entries", &l, 1, s->maps[i].entries);
	}
	prom__family(b, "swarmwatch_bpf_map_max_entries", "gauge", "Capacity of each BPF map.");
	for (i = 0; i < s->nmaps; i++) {
		l.value = s->maps[i].name;
		prom__sample_u64(b, "swarmwatch_bpf_map_max_entries", &l, 1,
				 s->maps[i].max_entries);
	}
	prom__family(b, "swarmwatch_bpf_map_memory_bytes", "gauge",
		     "Kernel memory charged for each BPF map.");
	for (i = 0; i < s->nmaps; i++) {
		l.value = s->maps[i].name;
		prom__sample_u64(b, "swarmwatch_bpf_map_memory_bytes", &l, 1,
				 s->maps[i].memory_bytes);
	}

	prom__family(b, "swarmwatch_events_dropped_total", "counter",
		     "Events the kernel side could not record, by reason.");
	l.name = "reason";
	for (i = 0; i < SW_CNT_MAX; i++) {
		l.value = sw_drop_reason(i);
		if (l.value)
			prom__sample_u64(b, "swarmwatch_events_dropped_total", &l, 1,
					 s->counters[i]);
	}
	prom__family(b, "swarmwatch_cpu_record_repairs_total", "counter",
		     "Times a tracked task was seen running without its per-CPU record, which was "
		     "rebuilt from task storage.");
	prom__sample_u64(b, "swarmwatch_cpu_record_repairs_total", NULL, 0,
			 s->counters[SW_CNT_ONCPU_REPAIRED]);
	prom__family(b, "swarmwatch_agent_folds_total", "counter",
		     "Processes folded into agent \"other\" because max_agents was reached.");
	prom__sample_u64(b, "swarmwatch_agent_folds_total", NULL, 0, s->counters[SW_CNT_FOLDED]);

	prom__family(b, "swarmwatch_collector_ticks_total", "counter", "Collector ticks so far.");
	prom__sample_u64(b, "swarmwatch_collector_ticks_total", NULL, 0, s->ticks);
	prom__family(b, "swarmwatch_collector_tick_duration_seconds", "gauge",
		     "How long the last collector tick took.");
	prom__sample(b, "swarmwatch_collector_tick_duration_seconds", NULL, 0, s->tick_seconds);
	prom__family(b, "swarmwatch_collector_last_tick_timestamp_seconds", "gauge",
		     "Unix time of the last collector tick.");
	prom__sample(b, "swarmwatch_collector_last_tick_timestamp_seconds", NULL, 0, s->time);
}

static int count_fds(void)
{
	struct dirent *de;
	int n = 0;
	DIR *d;

	d = opendir("/proc/self/fd");
	if (!d)
		return -1;
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n - 1; /* the directory's own fd */
}

static void render_process(struct buf *b)
{
	unsigned long long utime = 0, stime = 0, start = 0, vsize = 0, btime = 0;
	long tck = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE), rss = 0;
	char stat[1024], line[256], *p;
	struct rlimit rl;
	FILE *f;
	size_t n = 0;

	f = fopen("/proc/self/stat", "re");
	if (f) {
		n = fread(stat, 1, sizeof(stat) - 1, f);
		fclose(f);
	}
	stat[n] = 0;
	p = strrchr(stat, ')');
	if (p)
		sscanf(p + 2,
		       "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %*d "
		       "%*d %llu %llu %ld",
		       &utime, &stime, &start, &vsize, &rss);
	f = fopen("/proc/stat", "re");
	if (f) {
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "btime %llu", &btime) == 1)
				break;
		fclose(f);
	}
	prom__family(b, "process_cpu_seconds_total", "counter",
		     "Total user and system CPU time spent in seconds.");
	prom__sample(b, "process_cpu_seconds_total", NULL, 0, (double)(utime + stime) / tck);
	prom__family(b, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
	prom__sample_u64(b, "process_resident_memory_bytes", NULL, 0, (__u64)rss * page);
	prom__family(b, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
	prom__sample_u64(b, "process_virtual_memory_bytes", NULL, 0, vsize);
	prom__family(b, "process_start_time_seconds", "gauge",
		     "Start time of the process since unix epoch in seconds.");
	prom__sample(b, "process_start_time_seconds", NULL, 0, btime + (double)start / tck);
	prom__family(b, "process_open_fds", "gauge", "Number of open file descriptors.");
	prom__sample(b, "process_open_fds", NULL, 0, count_fds());
	if (!getrlimit(RLIMIT_NOFILE, &rl)) {
		prom__family(b, "process_max_fds", "gauge",
			     "Maximum number of open file descriptors.");
		prom__sample_u64(b, "process_max_fds", NULL, 0, rl.rlim_cur);
	}
}

static void render_build_info(struct buf *b)
{
	struct prom_label l[3];
	char libbpf[32];
	struct utsname u;

	if (uname(&u))
		snprintf(u.release, sizeof(u.release), "unknown");
	snprintf(libbpf, sizeof(libbpf), "%u.%u", libbpf_major_version(), libbpf_minor_version());
	l[0] = (struct prom_label){"version", SW_VERSION};
	l[1] = (struct prom_label){"libbpf", libbpf};
	l[2] = (struct prom_label){"kernel", u.release};
	prom__family(b, "swarmwatch_build_info", "gauge",
		     "swarmwatch version, libbpf version and kernel release; always 1.");
	prom__sample(b, "swarmwatch_build_info", l, 3, 1);
}

void metrics__render(struct buf *b, const struct snapshot *s)
{
	render_agents(b, s);
	if (s->anomalies)
		render_anomalies(b, s->anomalies);
	render_bpf(b, s);
	render_build_info(b);
	render_process(b);
}
