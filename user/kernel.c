// SPDX-License-Identifier: MIT
/*
 * The daemon's side of the BPF object: feature probes, loading, pinning,
 * attaching per collector, and reading the maps back.
 */
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "identity.h"
#include "kernel.h"
#include "log.h"
#include "overhead.h"
#include "swarmwatch.skel.h"
#include "syscalls.h"
#include "text.h"

_Static_assert(sizeof(struct sw_task) == 40, "sw_task layout");
_Static_assert(sizeof(struct sw_cpu) == 96 + 64, "sw_cpu layout");
_Static_assert(sizeof(struct sw_sock) == 72, "sw_sock layout");
_Static_assert(sizeof(struct sw_proc_key) == 8, "sw_proc_key layout");
_Static_assert(sizeof(struct sw_proc_stats) == 5 * 8, "sw_proc_stats layout");
_Static_assert(sizeof(struct sw_req_key) == 40, "sw_req_key layout");
_Static_assert(sizeof(struct sw_host) == SW_HOST_LEN, "sw_host layout");
_Static_assert(sizeof(struct sw_req_stats) == 42 * 8, "sw_req_stats layout");
_Static_assert(sizeof(struct sw_agent_stats) == 328 * 8, "sw_agent_stats layout");
_Static_assert(sizeof(struct sw_unseen) == 227 * 8, "sw_unseen layout");
_Static_assert(sizeof(struct sw_event) == 40, "sw_event layout");
_Static_assert(sizeof(struct sw_name) == SW_NAME_LEN, "sw_name layout");
_Static_assert(sizeof(struct sw_meta) == 16, "sw_meta layout");
_Static_assert(sizeof(struct sw_udp_key) == 8, "sw_udp_key layout");
_Static_assert(sizeof(struct sw_udp_owner) == 8, "sw_udp_owner layout");
_Static_assert(sizeof(struct sw_llm_peer) == 32, "sw_llm_peer layout");
_Static_assert(sizeof(struct sw_llm_stream) == 48, "sw_llm_stream layout");
_Static_assert(offsetof(struct sw_llm_event, data) == 72 &&
		       sizeof(struct sw_llm_event) == 72 + SW_LLM_DATA,
	       "sw_llm_event layout");

#define BPF_FS_MAGIC 0xcafe4a11
#define TRACEFS_MAGIC 0x74726163
#define TRACEFS_DIR "/sys/kernel/tracing"
/* Where libbpf looks for tracefs first, when it exists (debugfs mounted). */
#define DEBUGFS_TRACING_DIR "/sys/kernel/debug/tracing"

/* One BPF program: the collector it belongs to and its hook. */
struct prog_desc {
	enum collector_id col;
	const char *tp; /* tracepoint name */
	struct bpf_program *btf; /* tp_btf variant */
	struct bpf_program *raw; /* raw_tp variant, NULL if it needs typed pointers */
};

struct kernel {
	struct swarmwatch_bpf *skel;
	const struct config *cfg;
	struct prog_desc progs[KERNEL_MAX_PROGS];
	int nprogs;
	struct bpf_link *links[KERNEL_MAX_PROGS];
	bool up[COLLECTOR_MAX];
	bool btf_ok; /* tp_btf programs attach here */
	bool tls_up; /* TLS capture: mmap hooks attached, OpenSSL probes loaded */
	bool tls_multi; /* ... as multi-uprobe programs */
	bool mmap_btf; /* ... mmap watched through tp_btf sys_enter/exit, not tracefs */
	struct bpf_link *mmap_links[2];
	bool rss_on; /* the task iterator summing resident memory is in the object */
	struct bpf_link *rss_link; /* ... attached; NULL when the memory metric is off */
	__u64 *rss; /* mmap of `agent_rss` */
	size_t rss_len;
	__u32 rss_slots;
	int stats_fd; /* keeps BPF run-time stats on, -1 if off */
	int pin_lock_fd; /* the pin directory, flock()ed for the daemon's life */
	__u32 *slot_next; /* mmap of `slot_next` */
	struct bpf_link *tasks_link; /* the task iterator counting the tasks of each slot */
	bool udp_on; /* StatsD over UDP: the hook recording UDP senders is loaded */
	struct bpf_link *udp_link; /* ... attached: `udp_owners` is filled */
	__u64 *tasks; /* mmap of `slot_tasks` */
	size_t tasks_len;
	size_t slot_next_len;
	struct ring_buffer *rb;
	bool llm_up; /* LLM capture: llm_peers filled, llm_events read */
	kernel_llm_fn on_llm;
	void *llm_ctx;
	kernel_event_fn on_event;
	void *ctx;
	int ncpus;
	void *percpu_buf; /* scratch for per-CPU reads */
	struct map_stat maps[KERNEL_MAX_MAPS];
	int nmaps;
	size_t percpu_len;
	bool hot_off; /* the hot hooks (syscalls, sched) are detached by the duty cycle */
	bool hot_missing; /* ... attached, but one failed to attach again: retried each tick */
	__u64 hot_gone_ns; /* CLOCK_MONOTONIC when the last detach had the syscall hooks gone */
	__u32 *cpu_last; /* per CPU: untracked, timed of `oncpu` at the last read (2 words) */
	struct kernel_cpu_events cpu_events; /* cumulative over the run */
};

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (!log__enabled(LOG_DEBUG))
		return 0;
	(void)level;
	fputs("swarmwatch: libbpf: ", stderr);
	return vfprintf(stderr, fmt, ap);
}

/* Effective capability bit `cap` of this process. */
static bool has_cap(int cap)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct d[2] = {};

	if (syscall(SYS_capget, &h, d))
		return false;
	return d[cap / 32].effective & (1u << (cap % 32));
}

static int check_privileges(void)
{
	static const struct {
		int cap;
		const char *name;
	} caps[] = {{39 /* CAP_BPF */, "CAP_BPF"},
		    {38 /* CAP_PERFMON */, "CAP_PERFMON"},
		    {CAP_SYS_PTRACE, "CAP_SYS_PTRACE"},
		    {CAP_DAC_READ_SEARCH, "CAP_DAC_READ_SEARCH"}};
	size_t i;

	if (has_cap(CAP_SYS_ADMIN))
		return 0;
	for (i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		if (!has_cap(caps[i].cap)) {
			pr_err("swarmwatch needs root or CAP_BPF, CAP_PERFMON, CAP_SYS_PTRACE and "
			       "CAP_DAC_READ_SEARCH (missing %s): run it as root",
			       caps[i].name);
			return -EPERM;
		}
	}
	return 0;
}

static int check_kernel(void)
{
	union bpf_attr attr;
	int fd;

	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		pr_err("this kernel has no BTF (/sys/kernel/btf/vmlinux is missing): swarmwatch "
		       "needs a kernel built with CONFIG_DEBUG_INFO_BTF=y");
		return -ENOTSUP;
	}
	memset(&attr, 0, sizeof(attr));
	attr.map_type = BPF_MAP_TYPE_ARRAY;
	attr.key_size = 4;
	attr.value_size = 4;
	attr.max_entries = 1;
	fd = syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof(attr));
	if (fd < 0) {
		if (errno == ENOSYS)
			pr_err("this kernel has no BPF support (CONFIG_BPF_SYSCALL is off)");
		else
			pr_err("the kernel refuses BPF: %s (check kernel.unprivileged_bpf_disabled, "
			       "lockdown and seccomp)",
			       strerror(errno));
		return -ENOTSUP;
	}
	close(fd);
	return 0;
}

/*
 * Whether tp_btf programs load and attach here. Probed by trying, since
 * `bpftool feature probe` misreports tracing programs on some kernels.
 */
static bool probe_tp_btf(const char *tp)
{
	struct bpf_insn insns[] = {
		{.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0},
		{.code = BPF_JMP | BPF_EXIT},
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_TRACE_RAW_TP);
	int fd, link, id;

	id = libbpf_find_vmlinux_btf_id(tp, BPF_TRACE_RAW_TP);
	if (id < 0)
		return false;
	opts.attach_btf_id = id;
	fd = bpf_prog_load(BPF_PROG_TYPE_TRACING, NULL, "GPL", insns, 2, &opts);
	if (fd < 0)
		return false;
	link = bpf_raw_tracepoint_open(NULL, fd);
	close(fd);
	if (link < 0)
		return false;
	close(link);
	return true;
}

static bool tracepoint_exists(const char *tp)
{
	return libbpf_find_vmlinux_btf_id(tp, BPF_TRACE_RAW_TP) >= 0;
}

/* Whether sched_process_exit passes group_dead (three arguments incl. the context). */
static bool exit_has_group_dead(void)
{
	const struct btf_type *t;
	struct btf *btf;
	bool ret = false;
	int id;

	btf = btf__load_vmlinux_btf();
	if (!btf)
		return false;
	id = btf__find_by_name_kind(btf, "btf_trace_sched_process_exit", BTF_KIND_TYPEDEF);
	if (id > 0) {
		t = btf__type_by_id(btf, id);
		t = btf__type_by_id(btf, t->type); /* pointer */
		if (t && btf_is_ptr(t))
			t = btf__type_by_id(btf, t->type); /* function prototype */
		ret = t && btf_is_func_proto(t) && btf_vlen(t) == 3;
	}
	btf__free(btf);
	return ret;
}

static void fill_progs(struct kernel *k)
{
	struct swarmwatch_bpf *s = k->skel;
	const struct prog_desc t[] = {
		{COLLECTOR_IDENTITY, "sched_process_exec", s->progs.sw_exec_btf,
		 s->progs.sw_exec_raw},
		{COLLECTOR_IDENTITY, "sched_process_fork", s->progs.sw_fork, NULL},
		{COLLECTOR_IDENTITY, "sched_process_exit", s->progs.sw_exit_btf,
		 s->progs.sw_exit_raw},
		{COLLECTOR_SYSCALLS, "sys_enter", s->progs.sw_sys_enter_btf,
		 s->progs.sw_sys_enter_raw},
		{COLLECTOR_SYSCALLS, "sys_exit", s->progs.sw_sys_exit_btf,
		 s->progs.sw_sys_exit_raw},
		{COLLECTOR_SCHED, "sched_switch", s->progs.sw_switch, NULL},
		{COLLECTOR_SCHED, "sched_wakeup", s->progs.sw_wakeup, NULL},
		{COLLECTOR_SCHED, "sched_wakeup_new", s->progs.sw_wakeup_new, NULL},
		{COLLECTOR_PAGE_FAULTS, "page_fault_user", s->progs.sw_fault_btf,
		 s->progs.sw_fault_raw},
		{COLLECTOR_OOM, "mark_victim", s->progs.sw_oom, NULL},
		{COLLECTOR_NET, "inet_sock_set_state", s->progs.sw_tcp_state, NULL},
		{COLLECTOR_NET, "tcp_retransmit_skb", s->progs.sw_tcp_retransmit, NULL},
		{COLLECTOR_NET, "tcp_send_reset", s->progs.sw_tcp_send_reset, NULL},
		{COLLECTOR_NET, "tcp_receive_reset", s->progs.sw_tcp_receive_reset, NULL},
		{COLLECTOR_NET, "sock_send_length", s->progs.sw_sock_send, NULL},
		{COLLECTOR_NET, "sock_recv_length", s->progs.sw_sock_recv, NULL},
	};

	memcpy(k->progs, t, sizeof(t));
	k->nprogs = sizeof(t) / sizeof(t[0]);
}

/*
 * Whether the kernel has multi-uprobe links (6.6+): one link attaches a
 * program at several offsets of a file, for one process, without perf
 * events, and much faster than a process's first perf-event uprobe.
 */
static bool uprobe_multi_supported(void)
{
	struct btf *btf = btf__load_vmlinux_btf();
	bool ret;

	if (!btf)
		return false;
	ret = btf__find_by_name_kind(btf, "bpf_uprobe_multi_link", BTF_KIND_STRUCT) > 0;
	btf__free(btf);
	return ret;
}

/*
 * Whether the syscalls/sys_*_mmap tracepoints can be attached: libbpf reads
 * their ids from tracefs. Mounts tracefs on /sys/kernel/tracing when no
 * tracefs is there (a fresh VM or a container mounts none); true if it is
 * there now. Says in one line what it did or why it could not.
 */
static bool ensure_tracefs(void)
{
	struct statfs st;

	if (!access(DEBUGFS_TRACING_DIR "/events", F_OK))
		return true;
	if (!statfs(TRACEFS_DIR, &st) && st.f_type == TRACEFS_MAGIC)
		return true;
	if (!mount("tracefs", TRACEFS_DIR, "tracefs", 0, NULL)) {
		pr_info("tls: mounted tracefs on %s for the mmap tracepoints", TRACEFS_DIR);
		return true;
	}
	pr_info("tls: tracefs is not mounted on %s and cannot be (%s); watching mmap through "
		"tp_btf sys_enter/sys_exit instead",
		TRACEFS_DIR, strerror(errno));
	return false;
}

/* The OpenSSL probes and mmap hooks load only when some agent has TLS capture on. */
static void plan_tls(struct kernel *k)
{
	k->tls_up = k->cfg->ntls_agents > 0;
	k->tls_multi = k->tls_up && uprobe_multi_supported();
	if (k->tls_up && (!k->up[COLLECTOR_NET] || !k->btf_ok)) {
		pr_warn("tls: capture needs the net collector (tp_btf socket hooks); TLS capture is "
			"off");
		k->tls_up = false;
	}
	k->mmap_btf = k->tls_up && !ensure_tracefs();
}

/*
 * StatsD over UDP: the senders' ports are recorded in the kernel (ingest.bpf.c) when the
 * listener has a UDP socket and the kernel runs tp_btf programs; else the listener finds them
 * through /proc, and says so here.
 */
static void plan_udp_owners(struct kernel *k)
{
	const char *why = NULL;

	k->udp_on = false;
	if (!k->cfg->statsd_udp[0])
		return;
	if (!k->btf_ok)
		why = "tp_btf programs do not attach";
	else if (!tracepoint_exists("net_dev_queue"))
		why = "tracepoint net_dev_queue is missing";
	if (why) {
		pr_warn("statsd: %s on this kernel; UDP senders will be attributed through /proc",
			why);
		return;
	}
	k->udp_on = true;
}

/*
 * Decides for each collector whether it can run and which program variant
 * each hook uses (set_autoload() applies it).
 */
static void plan_collectors(struct kernel *k)
{
	bool btf_ok = probe_tp_btf("sys_enter");
	int i, c;

	k->btf_ok = btf_ok;
	if (!btf_ok)
		pr_warn("tp_btf programs do not attach on this kernel; using raw_tp where possible");
	for (c = 0; c < COLLECTOR_MAX; c++)
		k->up[c] = k->cfg->collectors[c];
	for (i = 0; i < k->nprogs; i++) {
		struct prog_desc *d = &k->progs[i];

		if (!k->up[d->col])
			continue;
		if (!tracepoint_exists(d->tp)) {
			pr_warn("collector %s: tracepoint %s is missing on this kernel; its metrics are "
				"off",
				sw_collector_name(d->col), d->tp);
			k->up[d->col] = false;
		} else if (!btf_ok && !d->raw) {
			pr_warn("collector %s: %s needs tp_btf, which this kernel refuses; its metrics "
				"are off",
				sw_collector_name(d->col), d->tp);
			k->up[d->col] = false;
		}
	}
	plan_tls(k);
	plan_udp_owners(k);
}

/* Loads the programs planned, and no others. */
static void set_autoload(struct kernel *k)
{
	struct swarmwatch_bpf *s = k->skel;
	struct bpf_program *const tls[] = {s->progs.sw_ssl_write, s->progs.sw_ssl_read,
					   s->progs.sw_ssl_read_ex, s->progs.sw_ssl_read_ret,
					   s->progs.sw_ssl_write_ret};
	size_t i;
	bool rest;

	for (i = 0; i < (size_t)k->nprogs; i++) {
		struct prog_desc *d = &k->progs[i];
		bool on = k->up[d->col];

		bpf_program__set_autoload(d->btf, on && k->btf_ok);
		if (d->raw)
			bpf_program__set_autoload(d->raw, on && !k->btf_ok);
	}
	for (i = 0; i < sizeof(tls) / sizeof(tls[0]); i++) {
		bpf_program__set_autoload(tls[i], k->tls_up);
		/* The five OpenSSL probes come first: multi-uprobe links when the kernel has them. */
		if (k->tls_multi && i < 5)
			bpf_program__set_expected_attach_type(
				tls[i], (enum bpf_attach_type)SW_TRACE_UPROBE_MULTI);
	}
	bpf_program__set_autoload(s->progs.sw_mmap_enter, k->tls_up && !k->mmap_btf);
	bpf_program__set_autoload(s->progs.sw_mmap_exit, k->tls_up && !k->mmap_btf);
	bpf_program__set_autoload(s->progs.sw_mmap_enter_btf, k->tls_up && k->mmap_btf);
	bpf_program__set_autoload(s->progs.sw_mmap_exit_btf, k->tls_up && k->mmap_btf);
	bpf_program__set_autoload(s->progs.sw_task_rss, k->rss_on);
	bpf_program__set_autoload(s->progs.sw_udp_owner, k->udp_on);
	/* The tp_btf syscall hooks' out-of-line part (bpf/syscalls.bpf.c), by tail call. */
	rest = k->up[COLLECTOR_SYSCALLS] && k->btf_ok;
	bpf_program__set_autoload(s->progs.sw_sys_enter_rest, rest);
	bpf_program__set_autoload(s->progs.sw_sys_exit_rest, rest);
	if (rest)
		bpf_program__set_attach_target(s->progs.sw_sys_enter_rest, 0, "sys_enter");
}

/*
 * Fills the syscall hooks' tail-call maps with their out-of-line part, before the hooks are
 * attached (a hook whose tail call fails leaves the syscall uncounted); 0 or -errno from the
 * map update. Nothing to do when the raw_tp hooks run, which hold everything themselves.
 */
static int link_syscall_rest(struct kernel *k)
{
	struct swarmwatch_bpf *s = k->skel;
	const struct {
		struct bpf_map *map;
		struct bpf_program *prog;
	} t[] = {{s->maps.sys_enter_rest, s->progs.sw_sys_enter_rest},
		 {s->maps.sys_exit_rest, s->progs.sw_sys_exit_rest}};
	__u32 key = 0;
	size_t i;
	int fd;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (!bpf_program__autoload(t[i].prog))
			continue;
		fd = bpf_program__fd(t[i].prog);
		if (fd < 0 || bpf_map_update_elem(bpf_map__fd(t[i].map), &key, &fd, BPF_ANY))
			return fd < 0 ? fd : -errno;
	}
	return 0;
}

static int ensure_bpffs(const char *pin_path)
{
	char dir[256], *slash;
	struct statfs st;

	snprintf(dir, sizeof(dir), "%s", pin_path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir)
		*slash = 0;
	if (!statfs(dir, &st) && st.f_type == BPF_FS_MAGIC)
		goto make_dir;
	if (strcmp(dir, "/sys/fs/bpf")) {
		pr_err("pin path %s: %s is not a bpffs mount (mount -t bpf bpf %s)", pin_path, dir,
		       dir);
		return -ENOTDIR;
	}
	if (mount("bpf", dir, "bpf", 0, "mode=0700")) {
		pr_err("cannot mount bpffs on %s: %s", dir, strerror(errno));
		return -errno;
	}
	pr_info("mounted bpffs on %s", dir);
make_dir:
	if (mkdir(pin_path, 0700) && errno != EEXIST) {
		pr_err("cannot create pin path %s: %s", pin_path, strerror(errno));
		return -errno;
	}
	return 0;
}

/*
 * The pin directory, opened and exclusively flock()ed so that a second
 * daemon on the same pins (whose programs would count every event again)
 * and an unpin under a running daemon are refused. The lock goes with the
 * descriptor: a daemon that dies leaves no stale lock. Returns the
 * descriptor, or -EBUSY when another process holds it, or -errno.
 */
static int lock_pin_path(const char *pin_path)
{
	int fd = open(pin_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		int err = errno == EWOULDBLOCK ? -EBUSY : -errno;

		close(fd);
		return err;
	}
	return fd;
}

/*
 * Maps kept across restarts. Per run: the ring buffer, rodata and bss, the CPU
 * records, the resident memory sampled each tick, the TLS state, which
 * follows this run's configuration and uprobes, and the syscall hooks'
 * tail-call maps, which hold this run's programs.
 */
static bool map_is_pinned(const struct bpf_map *m)
{
	static const char *const per_run[] = {"oncpu",	      "agent_rss",	"agent_tls",
					      "tls_calls",    "tls_pending",	"slot_tasks",
					      "scratch",      "llm_peers",	"llm_streams",
					      "llm_counters", "llm_scratch",	"udp_owners",
					      "tls_wcopy",    "sys_enter_rest", "sys_exit_rest"};
	const char *name = bpf_map__name(m);
	size_t i;

	if (bpf_map__type(m) == BPF_MAP_TYPE_RINGBUF || strstr(name, ".rodata") ||
	    strstr(name, ".bss"))
		return false;
	for (i = 0; i < sizeof(per_run) / sizeof(per_run[0]); i++)
		if (!strcmp(name, per_run[i]))
			return false;
	return true;
}

/* Why the map pinned at `path` cannot be reused for m; NULL if it can (or is absent). */
static const char *pin_mismatch(const struct bpf_map *m, const char *path)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info);
	const char *why = NULL;
	int fd;

	fd = bpf_obj_get(path);
	if (fd < 0)
		return NULL;
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		why = "unreadable";
	else if (info.type != bpf_map__type(m))
		why = "map type";
	else if (info.key_size != bpf_map__key_size(m) || info.value_size != bpf_map__value_size(m))
		why = "key or value size";
	else if (info.max_entries != bpf_map__max_entries(m))
		why = "max entries (max_agents changed?)";
	else if (info.map_flags != bpf_map__map_flags(m))
		why = "flags";
	close(fd);
	return why;
}

static __u32 pinned_layout(const char *pin_path)
{
	struct sw_meta meta;
	char path[320];
	__u32 zero = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/meta", pin_path);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return 0;
	if (bpf_map_lookup_elem(fd, &zero, &meta))
		meta.layout = 0;
	close(fd);
	return meta.layout;
}

/* Points every kept map at its pin; unpins them all first if any is incompatible. */
static int setup_pins(struct kernel *k)
{
	const char *pin = k->cfg->pin_path, *why = NULL, *which = NULL;
	struct bpf_map *m;
	char path[320];
	__u32 layout;

	layout = pinned_layout(pin);
	if (layout && layout != SW_LAYOUT_VERSION) {
		why = "layout version";
		which = "meta";
	}
	bpf_object__for_each_map (m, k->skel->obj) {
		if (!map_is_pinned(m))
			continue;
		snprintf(path, sizeof(path), "%s/%s", pin, bpf_map__name(m));
		if (!why && (why = pin_mismatch(m, path)))
			which = bpf_map__name(m);
	}
	if (why) {
		pr_warn("pinned maps in %s differ from this build (%s of %s); recreating them, kernel "
			"counters restart from zero",
			pin, why, which);
		bpf_object__for_each_map (m, k->skel->obj) {
			snprintf(path, sizeof(path), "%s/%s", pin, bpf_map__name(m));
			unlink(path);
		}
	}
	bpf_object__for_each_map (m, k->skel->obj) {
		if (!map_is_pinned(m))
			continue;
		snprintf(path, sizeof(path), "%s/%s", pin, bpf_map__name(m));
		if (bpf_map__set_pin_path(m, path))
			return -errno;
	}
	return 0;
}

static void set_rodata(struct kernel *k)
{
	const struct config *c = k->cfg;
	struct swarmwatch_bpf__rodata *ro = k->skel->rodata;
	__u32 slots = c->max_agents + 1;

	ro->max_agents = c->max_agents;
	ro->use_marker = c->marker;
	ro->have_cgroup_rules = c->ncgroup_rules > 0;
	ro->have_command_rules = c->nrules > 0; /* cgroups created later are checked too */
	ro->exit_has_group_dead = exit_has_group_dead();
	ro->use_oncpu = k->up[COLLECTOR_SCHED];
	/*
	 * Off by default: the countdown to the next timed syscall is per CPU, so a timed
	 * syscall's weight can stand for another task's syscalls, and an agent's histogram
	 * count strayed 6-13 % from its exact syscall count in bpf/test_capture.
	 */
	ro->lat_samples_per_epoch = c->latency_sampling ? overhead__samples_per_tick(c->interval_ns)
							: 0;
	ro->lat_sample_gap_ns =
		ro->lat_samples_per_epoch ? c->interval_ns / ro->lat_samples_per_epoch : 0;
	ro->tls_capture = k->tls_up;
	ro->llm_capture = k->llm_up;
	ro->nr_read = syscalls__number("read");
	ro->nr_write = syscalls__number("write");
	ro->nr_recvfrom = syscalls__number("recvfrom");
	ro->nr_sendto = syscalls__number("sendto");
	ro->nr_mmap = syscalls__number("mmap");
	ro->page_size = sysconf(_SC_PAGESIZE);
	syscalls__fill_classes(ro->syscall_class, SW_SYSCALL_MAX);
	memcpy(ro->errno_ignored, c->errno_ignored, sizeof(ro->errno_ignored));
	bpf_map__set_max_entries(k->skel->maps.oncpu, k->ncpus);
	bpf_map__set_max_entries(k->skel->maps.agent_stats, slots);
	bpf_map__set_max_entries(k->skel->maps.agent_unseen, slots);
	bpf_map__set_max_entries(k->skel->maps.user_starts, slots);
	bpf_map__set_max_entries(k->skel->maps.user_opened, slots);
	bpf_map__set_max_entries(k->skel->maps.agent_tls, slots);
	bpf_map__set_max_entries(k->skel->maps.agent_rss, slots);
	bpf_map__set_max_entries(k->skel->maps.free_slots, slots);
	bpf_map__set_max_entries(k->skel->maps.slot_tasks, slots);
	bpf_map__set_max_entries(k->skel->maps.slot_gen, slots);
	/* An LRU hash is allocated in full at creation: only as large as TLS capture needs. */
	if (!k->tls_up)
		bpf_map__set_max_entries(k->skel->maps.tls_pending, 1);
	if (!k->llm_up) {
		bpf_map__set_max_entries(k->skel->maps.llm_streams, 1);
		bpf_map__set_max_entries(k->skel->maps.llm_events, sysconf(_SC_PAGESIZE));
	}
	if (!k->udp_on)
		bpf_map__set_max_entries(k->skel->maps.udp_owners, 1);
	bpf_map__set_max_entries(k->skel->maps.agent_names, slots * 4);
}

static int init_shared_state(struct kernel *k)
{
	int meta_fd = bpf_map__fd(k->skel->maps.meta);
	int next_fd = bpf_map__fd(k->skel->maps.slot_next);
	struct sw_meta meta;
	__u32 zero = 0;

	if (bpf_map_lookup_elem(meta_fd, &zero, &meta))
		return -errno;
	if (meta.layout != SW_LAYOUT_VERSION) {
		meta.layout = SW_LAYOUT_VERSION;
		meta.max_agents = k->cfg->max_agents;
		meta.user_folds = 0;
		if (bpf_map_update_elem(meta_fd, &zero, &meta, BPF_ANY))
			return -errno;
	}
	k->slot_next_len = sysconf(_SC_PAGESIZE);
	k->slot_next = mmap(NULL, k->slot_next_len, PROT_READ | PROT_WRITE, MAP_SHARED, next_fd, 0);
	if (k->slot_next == MAP_FAILED) {
		k->slot_next = NULL;
		return -errno;
	}
	if (*k->slot_next == 0)
		__atomic_store_n(k->slot_next, 1, __ATOMIC_SEQ_CST); /* slot 0 is "other" */
	return 0;
}

static void pin_programs(struct kernel *k)
{
	char dir[320], path[400];
	int i;

	snprintf(dir, sizeof(dir), "%s/progs", k->cfg->pin_path);
	if (mkdir(dir, 0700) && errno != EEXIST)
		return;
	for (i = 0; i < k->nprogs; i++) {
		struct bpf_program *p = k->progs[i].btf;

		if (!k->links[i])
			continue;
		if (!bpf_program__autoload(p))
			p = k->progs[i].raw;
		snprintf(path, sizeof(path), "%s/%s", dir, bpf_program__name(p));
		unlink(path);
		if (bpf_program__pin(p, path))
			pr_debug("cannot pin program %s: %s", path, strerror(errno));
	}
}

static int attach(struct kernel *k)
{
	int i, err;

	for (i = 0; i < k->nprogs; i++) {
		struct prog_desc *d = &k->progs[i];
		struct bpf_program *p = bpf_program__autoload(d->btf) ? d->btf : d->raw;

		if (!k->up[d->col] || !p || !bpf_program__autoload(p))
			continue;
		k->links[i] = bpf_program__attach(p);
		if (!k->links[i]) {
			err = -errno;
			pr_warn("collector %s: cannot attach to %s: %s; its metrics are off",
				sw_collector_name(d->col), d->tp, strerror(-err));
			k->links[i] = NULL;
			k->up[d->col] = false;
		}
	}
	/* Syscall and fault hooks read the CPU record that sched_switch keeps. */
	if (k->skel->rodata->use_oncpu && !k->up[COLLECTOR_SCHED]) {
		for (i = COLLECTOR_SYSCALLS; i <= COLLECTOR_PAGE_FAULTS; i++) {
			if (i != COLLECTOR_SCHED && k->up[i]) {
				pr_warn("collector %s: off, since the sched collector it relies on "
					"could not attach",
					sw_collector_name(i));
				k->up[i] = false;
			}
		}
	}
	/* Detach the rest of a collector that lost one of its hooks. */
	for (i = 0; i < k->nprogs; i++) {
		if (k->links[i] && !k->up[k->progs[i].col]) {
			bpf_link__destroy(k->links[i]);
			k->links[i] = NULL;
		}
	}
	if (k->tls_up) {
		struct swarmwatch_bpf *s = k->skel;

		k->mmap_links[0] = bpf_program__attach(k->mmap_btf ? s->progs.sw_mmap_enter_btf
								   : s->progs.sw_mmap_enter);
		k->mmap_links[1] = !k->mmap_links[0]
					   ? NULL
					   : bpf_program__attach(k->mmap_btf
									 ? s->progs.sw_mmap_exit_btf
									 : s->progs.sw_mmap_exit);
		if (!k->mmap_links[1]) {
			pr_warn("tls: cannot attach to %s: %s; TLS capture is off",
				k->mmap_btf ? "sys_enter/sys_exit" : "syscalls/sys_*_mmap",
				strerror(errno));
			bpf_link__destroy(k->mmap_links[0]);
			k->mmap_links[0] = NULL;
			k->tls_up = false;
		}
	}
	if (!k->up[COLLECTOR_IDENTITY]) {
		pr_err("cannot trace process lifecycle (exec, fork, exit) on this kernel; swarmwatch "
		       "cannot tell agents apart without it (run with -v for details)");
		return -ENOTSUP;
	}
	return 0;
}

/*
 * Maps `agent_rss` and attaches the task iterator that fills it. On failure
 * the memory metric is off and everything else runs.
 */
static void attach_rss(struct kernel *k)
{
	size_t page = sysconf(_SC_PAGESIZE);
	int fd = bpf_map__fd(k->skel->maps.agent_rss);

	if (!k->rss_on)
		return;
	k->rss_slots = bpf_map__max_entries(k->skel->maps.agent_rss);
	k->rss_len = (k->rss_slots * sizeof(__u64) + page - 1) / page * page;
	k->rss = mmap(NULL, k->rss_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (k->rss == MAP_FAILED) {
		k->rss = NULL;
		pr_warn("memory: cannot map agent_rss: %s; swarmwatch_agent_resident_memory_bytes is "
			"off",
			strerror(errno));
		return;
	}
	k->rss_link = bpf_program__attach_iter(k->skel->progs.sw_task_rss, NULL);
	if (!k->rss_link)
		pr_warn("memory: cannot attach the task iterator: %s; "
			"swarmwatch_agent_resident_memory_bytes is off",
			strerror(errno));
}

/* Attaches the hook that records UDP senders; on failure the listener uses /proc. */
static void attach_udp_owners(struct kernel *k)
{
	if (!k->udp_on)
		return;
	k->udp_link = bpf_program__attach(k->skel->progs.sw_udp_owner);
	if (!k->udp_link) {
		pr_warn("statsd: cannot attach to net_dev_queue: %s; UDP senders will be attributed "
			"through /proc",
			strerror(errno));
		k->udp_on = false;
	}
}

/*
 * Maps `slot_tasks` and attaches the task iterator that counts the tasks
 * carrying each slot. On failure slots are not reclaimed (one warning) and
 * everything else runs.
 */
static void attach_slot_tasks(struct kernel *k)
{
	size_t page = sysconf(_SC_PAGESIZE);
	__u32 n = bpf_map__max_entries(k->skel->maps.slot_tasks);
	int fd = bpf_map__fd(k->skel->maps.slot_tasks);

	k->tasks_len = (n * sizeof(__u64) + page - 1) / page * page;
	k->tasks = mmap(NULL, k->tasks_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (k->tasks == MAP_FAILED) {
		k->tasks = NULL;
		goto fail;
	}
	k->tasks_link = bpf_program__attach_iter(k->skel->progs.sw_task_slots, NULL);
	if (k->tasks_link)
		return;
fail:
	pr_warn("identity: cannot run the slot iterator: %s; slots of retired agents are not "
		"reclaimed, and past max_agents new agents fold into \"other\"",
		strerror(errno));
}

static void read_map_stats(struct kernel *k);

/* Readies the open object: programs to load, rodata, pinned maps; 0 or -errno. */
static int prepare(struct kernel *k)
{
	int err;

	set_autoload(k);
	set_rodata(k);
	err = setup_pins(k);
	if (err)
		pr_err("cannot set up pinned maps in %s: %s", k->cfg->pin_path, strerror(-err));
	return err;
}

/*
 * The object did not load (err). Loads it again without the task iterator,
 * so that a kernel that refuses it (an rss_stat layout CO-RE does not know,
 * a verifier that rejects it) still runs every collector. 0 and one warning
 * if that loads; err otherwise.
 */
static int load_without_rss(struct kernel *k, int err)
{
	swarmwatch_bpf__destroy(k->skel);
	k->rss_on = false;
	k->skel = swarmwatch_bpf__open();
	if (!k->skel)
		return err;
	fill_progs(k);
	if (prepare(k) || swarmwatch_bpf__load(k->skel))
		return err;
	pr_warn("memory: the task iterator does not load on this kernel (%s); "
		"swarmwatch_agent_resident_memory_bytes is off (run with -v for the verifier log)",
		strerror(-err));
	return 0;
}

static void *percpu_scratch(struct kernel *k, size_t len);

static int on_llm_ringbuf(void *ctx, void *data, size_t size)
{
	struct kernel *k = ctx;

	if (size >= offsetof(struct sw_llm_event, data) && k->on_llm)
		k->on_llm(k->llm_ctx, data, size);
	return 0;
}

/*
 * LLM capture: the configured upstreams into `llm_peers`, by host name id or address, with
 * the port or 0; 0 or -errno.
 */
static int fill_llm_peers(struct kernel *k)
{
	int fd = bpf_map__fd(k->skel->maps.llm_peers), i;

	for (i = 0; i < k->cfg->nllm_upstreams; i++) {
		const struct llm_upstream *u = &k->cfg->llm_upstreams[i];
		struct sw_llm_peer key = {.port = u->port};
		__u32 v = i;

		if (u->host[0]) {
			key.host = config__host_id(u->host);
		} else {
			key.family = u->family;
			memcpy(key.addr, u->addr, sizeof(key.addr));
		}
		if (bpf_map_update_elem(fd, &key, &v, BPF_NOEXIST) && errno != EEXIST)
			return -errno;
	}
	return 0;
}

bool kernel__on_llm(struct kernel *k, kernel_llm_fn fn, void *ctx)
{
	k->on_llm = fn;
	k->llm_ctx = ctx;
	return k->llm_up;
}

int kernel__llm_counters(struct kernel *k, __u64 out[SW_LLM_CNT_MAX])
{
	int fd = bpf_map__fd(k->skel->maps.llm_counters), c, cpu;
	__u64 *v = percpu_scratch(k, k->ncpus * sizeof(__u64));

	memset(out, 0, SW_LLM_CNT_MAX * sizeof(__u64));
	if (!v)
		return -ENOMEM;
	for (c = 0; c < SW_LLM_CNT_MAX; c++) {
		__u32 key = c;

		if (bpf_map_lookup_elem(fd, &key, v))
			return -errno;
		for (cpu = 0; cpu < k->ncpus; cpu++)
			out[c] += v[cpu];
	}
	return 0;
}

static int on_ringbuf(void *ctx, void *data, size_t size)
{
	struct kernel *k = ctx;

	if (size >= sizeof(struct sw_event) && k->on_event)
		k->on_event(k->ctx, data);
	return 0;
}

struct kernel *kernel__open(const struct config *c)
{
	struct kernel *k;
	int err;

	libbpf_set_print(libbpf_print);
	if (check_privileges() || check_kernel())
		return NULL;
	if (ensure_bpffs(c->pin_path))
		return NULL;
	k = calloc(1, sizeof(*k));
	if (!k)
		return NULL;
	k->cfg = c;
	k->stats_fd = -1;
	k->pin_lock_fd = lock_pin_path(c->pin_path);
	if (k->pin_lock_fd < 0) {
		if (k->pin_lock_fd == -EBUSY)
			pr_err("pin path %s is in use by another swarmwatch daemon; stop it, or give "
			       "this one a --pin-path of its own",
			       c->pin_path);
		else
			pr_err("cannot open pin path %s: %s", c->pin_path,
			       strerror(-k->pin_lock_fd));
		free(k);
		return NULL;
	}
	k->ncpus = libbpf_num_possible_cpus();
	k->skel = swarmwatch_bpf__open();
	if (!k->skel) {
		pr_err("cannot open the BPF object: %s", strerror(errno));
		goto err_free;
	}
	fill_progs(k);
	plan_collectors(k);
	k->llm_up = c->nllm_upstreams > 0 && k->up[COLLECTOR_NET];
	if (c->nllm_upstreams && !k->llm_up)
		pr_warn("llm: capture needs the net collector (collectors.net), which is off; "
			"llm.upstreams are not watched");
	k->rss_on = true;
	if (prepare(k))
		goto err_destroy;
	err = swarmwatch_bpf__load(k->skel);
	if (err)
		err = load_without_rss(k, err);
	if (err) {
		pr_err("cannot load the BPF programs: %s (run with -v for the verifier log)",
		       strerror(-err));
		goto err_destroy;
	}
	err = init_shared_state(k);
	if (!err)
		err = link_syscall_rest(k);
	if (!err && k->llm_up)
		err = fill_llm_peers(k);
	if (err) {
		pr_err("cannot initialize BPF maps: %s", strerror(-err));
		goto err_destroy;
	}
	if (attach(k))
		goto err_destroy;
	attach_rss(k);
	attach_slot_tasks(k);
	attach_udp_owners(k);
	pin_programs(k);
	read_map_stats(k);
	if (c->bpf_stats) {
		k->stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
		if (k->stats_fd < 0)
			pr_warn("cannot turn on BPF run-time statistics: %s", strerror(errno));
	}
	k->rb = ring_buffer__new(bpf_map__fd(k->skel->maps.events), on_ringbuf, k, NULL);
	if (!k->rb) {
		pr_err("cannot open the event ring buffer: %s", strerror(errno));
		goto err_destroy;
	}
	if (k->llm_up &&
	    ring_buffer__add(k->rb, bpf_map__fd(k->skel->maps.llm_events), on_llm_ringbuf, k)) {
		pr_err("cannot open the LLM capture ring buffer: %s", strerror(errno));
		goto err_destroy;
	}
	return k;

err_destroy:
	kernel__close(k);
	return NULL;
err_free:
	close(k->pin_lock_fd);
	free(k);
	return NULL;
}

static void unpin_programs(const char *pin_path)
{
	char dir[320], path[640];
	struct dirent *de;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/progs", pin_path);
	d = opendir(dir);
	if (!d)
		return;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

void kernel__close(struct kernel *k)
{
	int i;

	if (!k)
		return;
	ring_buffer__free(k->rb);
	for (i = 0; i < k->nprogs; i++)
		bpf_link__destroy(k->links[i]);
	bpf_link__destroy(k->mmap_links[0]);
	bpf_link__destroy(k->mmap_links[1]);
	bpf_link__destroy(k->rss_link);
	bpf_link__destroy(k->udp_link);
	if (k->rss)
		munmap(k->rss, k->rss_len);
	bpf_link__destroy(k->tasks_link);
	if (k->tasks)
		munmap(k->tasks, k->tasks_len);
	unpin_programs(k->cfg->pin_path);
	if (k->pin_lock_fd >= 0)
		close(k->pin_lock_fd);
	if (k->slot_next)
		munmap(k->slot_next, k->slot_next_len);
	if (k->stats_fd >= 0)
		close(k->stats_fd);
	swarmwatch_bpf__destroy(k->skel);
	free(k->percpu_buf);
	free(k->cpu_last);
	free(k);
}

int kernel__unpin(const char *pin_path)
{
	char path[640];
	struct dirent *de;
	int n = 0, lock;
	DIR *d;

	lock = lock_pin_path(pin_path);
	if (lock == -ENOENT)
		return 0;
	if (lock < 0)
		return lock;
	unpin_programs(pin_path);
	d = opendir(pin_path);
	if (!d) {
		close(lock);
		return errno == ENOENT ? 0 : -errno;
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", pin_path, de->d_name);
		if (!unlink(path))
			n++;
	}
	closedir(d);
	if (rmdir(pin_path)) {
		n = -errno;
		close(lock);
		return n;
	}
	close(lock);
	return n;
}

void kernel__identity_maps(struct kernel *k, struct identity_maps *maps)
{
	maps->tasks_fd = bpf_map__fd(k->skel->maps.tasks);
	maps->names_fd = bpf_map__fd(k->skel->maps.agent_names);
	maps->cgroups_fd = bpf_map__fd(k->skel->maps.cgroup_agents);
	maps->user_starts_fd = bpf_map__fd(k->skel->maps.user_starts);
	maps->meta_fd = bpf_map__fd(k->skel->maps.meta);
	maps->socks_fd = bpf_map__fd(k->skel->maps.socks);
	maps->user_opened_fd = bpf_map__fd(k->skel->maps.user_opened);
	maps->free_slots_fd = bpf_map__fd(k->skel->maps.free_slots);
	maps->slot_gen_fd = bpf_map__fd(k->skel->maps.slot_gen);
	maps->slot_next = k->slot_next;
	maps->tag_gen = &k->skel->bss->tag_gen;
}

int kernel__udp_owners_fd(const struct kernel *k)
{
	return k->udp_link ? bpf_map__fd(k->skel->maps.udp_owners) : -ENOTSUP;
}

bool kernel__tls(struct kernel *k, struct kernel_tls *out)
{
	struct swarmwatch_bpf *s = k->skel;

	if (!k->tls_up)
		return false;
	out->ssl_write = s->progs.sw_ssl_write;
	out->ssl_read = s->progs.sw_ssl_read;
	out->ssl_read_ex = s->progs.sw_ssl_read_ex;
	out->ssl_read_ret = s->progs.sw_ssl_read_ret;
	out->ssl_write_ret = s->progs.sw_ssl_write_ret;
	out->multi = k->tls_multi;
	out->agent_tls_fd = bpf_map__fd(s->maps.agent_tls);
	out->tasks_fd = bpf_map__fd(s->maps.tasks);
	out->names_fd = bpf_map__fd(s->maps.agent_names);
	return true;
}

static int kernel__tls_pending(struct kernel *k)
{
	int fd = bpf_map__fd(k->skel->maps.tls_pending), n = 0;
	struct sw_tls_key key, next, *prev = NULL;

	if (!k->tls_up)
		return 0;
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		n++;
	}
	return n;
}

void kernel__on_event(struct kernel *k, kernel_event_fn fn, void *ctx)
{
	k->on_event = fn;
	k->ctx = ctx;
}

int kernel__drain(struct kernel *k)
{
	return ring_buffer__consume(k->rb);
}

int kernel__poll(struct kernel *k, int timeout_ms)
{
	return ring_buffer__poll(k->rb, timeout_ms);
}

bool kernel__collector_up(const struct kernel *k, enum collector_id c)
{
	return c < COLLECTOR_MAX && k->up[c];
}

static void *percpu_scratch(struct kernel *k, size_t len)
{
	void *p;

	if (len <= k->percpu_len)
		return k->percpu_buf;
	p = realloc(k->percpu_buf, len);
	if (!p)
		return NULL;
	k->percpu_buf = p;
	k->percpu_len = len;
	return p;
}

/* Reads keys [0, n) of a per-CPU array of u64 fields and sums over CPUs into out. */
static int read_percpu_sum(struct kernel *k, int fd, __u32 n, size_t value_size, __u64 *out)
{
	size_t words = value_size / 8, per_key = value_size * k->ncpus;
	__u32 count = n, batch = 0, i, key;
	__u64 *vals;
	__u32 *keys;
	int err, cpu;
	size_t w;

	vals = percpu_scratch(k, (size_t)n * per_key + (size_t)n * sizeof(__u32));
	if (!vals)
		return -ENOMEM;
	keys = (__u32 *)((char *)vals + (size_t)n * per_key);
	err = bpf_map_lookup_batch(fd, NULL, &batch, keys, vals, &count, NULL);
	if (err && errno != ENOENT) {
		/* Older kernels: one lookup per key. */
		for (key = 0; key < n; key++) {
			if (bpf_map_lookup_elem(fd, &key, (char *)vals + key * per_key))
				return -errno;
			keys[key] = key;
		}
		count = n;
	}
	memset(out, 0, (size_t)n * value_size);
	for (i = 0; i < count; i++) {
		__u64 *dst, *src;

		if (keys[i] >= n)
			continue;
		dst = out + (size_t)keys[i] * words;
		for (cpu = 0; cpu < k->ncpus; cpu++) {
			src = (__u64 *)((char *)vals + i * per_key + cpu * value_size);
			for (w = 0; w < words; w++)
				dst[w] += src[w];
		}
	}
	return count;
}

int kernel__read_stats(struct kernel *k, __u32 nslots, struct sw_agent_stats *out)
{
	__u32 max = bpf_map__max_entries(k->skel->maps.agent_stats);
	__u32 used = __atomic_load_n(k->slot_next, __ATOMIC_RELAXED);

	/* Slots at or past the allocator's mark were never handed out. */
	if (used < max)
		max = used ? used : 1;
	if (nslots > max)
		nslots = max;
	return read_percpu_sum(k, bpf_map__fd(k->skel->maps.agent_stats), nslots,
			       sizeof(struct sw_agent_stats), (__u64 *)out);
}

static int kernel__read_counters(struct kernel *k, __u64 out[SW_CNT_MAX])
{
	struct sw_meta meta;
	__u32 zero = 0;
	int err;

	err = read_percpu_sum(k, bpf_map__fd(k->skel->maps.counters), SW_CNT_MAX, sizeof(__u64),
			      out);
	if (err < 0)
		return err;
	if (!bpf_map_lookup_elem(bpf_map__fd(k->skel->maps.meta), &zero, &meta))
		out[SW_CNT_FOLDED] += meta.user_folds;
	return 0;
}

/* Runs iterator link once over everything it visits; it writes no output. */
static int run_iter(struct bpf_link *link)
{
	char buf[64];
	int fd, err = 0;
	ssize_t n;

	fd = bpf_iter_create(bpf_link__fd(link));
	if (fd < 0)
		return -errno;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		;
	if (n < 0)
		err = -errno;
	close(fd);
	return err;
}

static int kernel__read_rss(struct kernel *k, __u32 nslots, __u64 *out)
{
	int err;

	if (!k->rss_link)
		return -ENOTSUP;
	if (nslots > k->rss_slots)
		nslots = k->rss_slots;
	memset(k->rss, 0, k->rss_slots * sizeof(__u64));
	err = run_iter(k->rss_link);
	if (err)
		return err;
	memcpy(out, k->rss, nslots * sizeof(__u64));
	return nslots;
}

int kernel__count_slot_tasks(struct kernel *k, __u32 nslots, __u64 *out)
{
	__u32 max = bpf_map__max_entries(k->skel->maps.slot_tasks);
	int err;

	if (!k->tasks_link)
		return -ENOTSUP;
	if (nslots > max)
		nslots = max;
	memset(k->tasks, 0, max * sizeof(__u64));
	err = run_iter(k->tasks_link);
	if (err)
		return err;
	memcpy(out, k->tasks, nslots * sizeof(__u64));
	return nslots;
}

int kernel__retire_slot(struct kernel *k, __u32 slot)
{
	int fd = bpf_map__fd(k->skel->maps.slot_gen);
	__u32 gen = 0;

	if (slot == SW_SLOT_OTHER || slot >= bpf_map__max_entries(k->skel->maps.slot_gen))
		return -EINVAL;
	if (bpf_map_lookup_elem(fd, &slot, &gen))
		return -errno;
	gen++;
	return bpf_map_update_elem(fd, &slot, &gen, BPF_ANY) ? -errno : 0;
}

int kernel__unseen(struct kernel *k, __u32 slot, struct sw_unseen *u, bool write)
{
	static const struct sw_unseen zero;
	int fd = bpf_map__fd(k->skel->maps.agent_unseen);

	if (slot >= bpf_map__max_entries(k->skel->maps.agent_unseen))
		return -EINVAL;
	if (write)
		return bpf_map_update_elem(fd, &slot, u ? u : &zero, BPF_ANY) ? -errno : 0;
	return bpf_map_lookup_elem(fd, &slot, u) ? -errno : 0;
}

int kernel__release_slot(struct kernel *k, __u32 slot)
{
	struct swarmwatch_bpf *s = k->skel;
	size_t len = sizeof(struct sw_agent_stats) * k->ncpus;
	struct sw_req_key key, next, *prev = NULL;
	__u32 off = SW_TLS_UNDECIDED;
	__u64 zero = 0;
	void *buf;
	int fd;

	if (slot == SW_SLOT_OTHER || slot >= bpf_map__max_entries(s->maps.agent_stats))
		return -EINVAL;
	buf = percpu_scratch(k, len);
	if (!buf)
		return -ENOMEM;
	memset(buf, 0, len);
	if (bpf_map_update_elem(bpf_map__fd(s->maps.agent_stats), &slot, buf, BPF_ANY) ||
	    kernel__unseen(k, slot, NULL, true) ||
	    bpf_map_update_elem(bpf_map__fd(s->maps.user_starts), &slot, &zero, BPF_ANY) ||
	    bpf_map_update_elem(bpf_map__fd(s->maps.user_opened), &slot, &zero, BPF_ANY) ||
	    bpf_map_update_elem(bpf_map__fd(s->maps.agent_tls), &slot, &off, BPF_ANY))
		return -errno;
	/* Series the retired agent left (its sockets are gone, so none grows again). */
	fd = bpf_map__fd(s->maps.requests);
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		if (next.slot == slot) {
			bpf_map_delete_elem(fd, &next);
			continue; /* the walk goes on from the same predecessor */
		}
		key = next;
		prev = &key;
	}
	/* ... and its processes' entries. */
	{
		struct sw_proc_key pk, pnext, *pprev = NULL;

		fd = bpf_map__fd(s->maps.proc_requests);
		while (!bpf_map_get_next_key(fd, pprev, &pnext)) {
			if (pnext.slot == slot) {
				bpf_map_delete_elem(fd, &pnext);
				continue;
			}
			pk = pnext;
			pprev = &pk;
		}
	}
	if (bpf_map_update_elem(bpf_map__fd(s->maps.free_slots), NULL, &slot, BPF_ANY))
		return -errno;
	return 0;
}

static __u64 read_u64(int fd, __u32 key)
{
	__u64 v = 0;

	if (bpf_map_lookup_elem(fd, &key, &v))
		return 0;
	return v;
}

static __u64 kernel__user_starts(struct kernel *k, __u32 slot)
{
	return read_u64(bpf_map__fd(k->skel->maps.user_starts), slot);
}

__u64 kernel__user_opened(struct kernel *k, __u32 slot)
{
	return read_u64(bpf_map__fd(k->skel->maps.user_opened), slot);
}

static int kernel__for_each_name(struct kernel *k,
				 void (*fn)(void *ctx, const char *name, __u32 slot), void *ctx)
{
	int fd = bpf_map__fd(k->skel->maps.agent_names);
	struct sw_name key, next, *prev = NULL;
	char name[SW_NAME_LEN];
	int n = 0;
	__u32 slot;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &slot))
			continue;
		/* Names are made valid in the kernel already; a label must never
		 * depend on that. */
		text__name(name, sizeof(name), key.name, strnlen(key.name, sizeof(key.name)));
		fn(ctx, name, slot);
		n++;
	}
	return n;
}

/* Whether programs are being timed: by us, or by kernel.bpf_stats_enabled. */
static bool stats_on(const struct kernel *k)
{
	char v = '0';
	int fd;

	if (k->stats_fd >= 0)
		return true;
	fd = open("/proc/sys/kernel/bpf_stats_enabled", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (read(fd, &v, 1) != 1)
			v = '0';
		close(fd);
	}
	return v == '1';
}

int kernel__for_each_request(struct kernel *k,
			     void (*fn)(void *ctx, const struct sw_req_key *key,
					const struct sw_req_stats *val),
			     void *ctx)
{
	int fd = bpf_map__fd(k->skel->maps.requests);
	struct sw_req_key key, next, *prev = NULL;
	struct sw_req_stats val;
	int n = 0;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &val))
			continue;
		fn(ctx, &key, &val);
		n++;
	}
	return n;
}

int kernel__delete_request(struct kernel *k, const struct sw_req_key *key)
{
	return bpf_map_delete_elem(bpf_map__fd(k->skel->maps.requests), key) ? -errno : 0;
}

int kernel__for_each_proc(struct kernel *k,
			  void (*fn)(void *ctx, const struct sw_proc_key *key,
				     const struct sw_proc_stats *val),
			  void *ctx)
{
	int fd = bpf_map__fd(k->skel->maps.proc_requests);
	struct sw_proc_key key, next, *prev = NULL;
	struct sw_proc_stats val;
	int n = 0;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &val))
			continue;
		fn(ctx, &key, &val);
		n++;
	}
	return n;
}

int kernel__delete_proc(struct kernel *k, const struct sw_proc_key *key)
{
	return bpf_map_delete_elem(bpf_map__fd(k->skel->maps.proc_requests), key) ? -errno : 0;
}

int kernel__host_name(struct kernel *k, __u64 id, char *out, size_t len)
{
	struct sw_host h;
	size_t i;

	if (len < SW_HOST_LEN)
		return -EINVAL;
	if (bpf_map_lookup_elem(bpf_map__fd(k->skel->maps.host_names), &id, &h))
		return -ENOENT;
	for (i = 0; i < SW_HOST_LEN && h.name[i]; i++) {
		char c = h.name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-'))
			return -EINVAL;
	}
	if (!i || i == SW_HOST_LEN)
		return -EINVAL;
	memcpy(out, h.name, i);
	out[i] = 0;
	return 0;
}

/* Fills out with p's run-time statistics; false if the kernel does not tell. */
static bool prog_stat_of(struct bpf_program *p, struct prog_stat *out)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(bpf_program__fd(p), &info, &len))
		return false;
	out->name = bpf_program__name(p);
	out->run_ns = info.run_time_ns;
	out->runs = info.run_cnt;
	return true;
}

static int kernel__prog_stats(struct kernel *k, struct prog_stat *out, int max)
{
	int i, n = 0;

	if (!stats_on(k))
		return 0;

	for (i = 0; i < k->nprogs && n < max; i++) {
		struct bpf_program *p = bpf_program__autoload(k->progs[i].btf) ? k->progs[i].btf
									       : k->progs[i].raw;

		if (k->links[i] && p && prog_stat_of(p, &out[n]))
			n++;
	}
	if (k->rss_link && n < max && prog_stat_of(k->skel->progs.sw_task_rss, &out[n]))
		n++;
	if (k->udp_link && n < max && prog_stat_of(k->skel->progs.sw_udp_owner, &out[n]))
		n++;
	return n;
}

static __u64 fd_memlock(int fd)
{
	char path[64], line[256];
	unsigned long long v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "memlock: %llu", &v) == 1)
			break;
	fclose(f);
	return v;
}

/* Every map of the object has room in the snapshot (the skeleton's count includes .rodata). */
_Static_assert(sizeof(((struct swarmwatch_bpf *)0)->maps) / sizeof(struct bpf_map *) <=
		       KERNEL_MAX_MAPS,
	       "SNAPSHOT_MAX_MAPS is smaller than the BPF object's maps");

/* Sizes and memory are fixed once loaded: read them once. */

static void read_map_stats(struct kernel *k)
{
	struct bpf_map *m;

	k->nmaps = 0;
	bpf_object__for_each_map (m, k->skel->obj) {
		enum bpf_map_type t = bpf_map__type(m);
		struct map_stat *ms = &k->maps[k->nmaps];

		if (k->nmaps >= KERNEL_MAX_MAPS || strstr(bpf_map__name(m), ".rodata") ||
		    strstr(bpf_map__name(m), ".bss"))
			continue;
		ms->name = bpf_map__name(m);
		ms->max_entries = bpf_map__max_entries(m);
		ms->entries = -1;
		if (t == BPF_MAP_TYPE_ARRAY || t == BPF_MAP_TYPE_PERCPU_ARRAY)
			ms->entries = ms->max_entries;
		ms->memory_bytes = fd_memlock(bpf_map__fd(m));
		k->nmaps++;
	}
}

static int kernel__map_stats(struct kernel *k, struct map_stat *out, int max)
{
	int n = k->nmaps < max ? k->nmaps : max;

	memcpy(out, k->maps, n * sizeof(*out));
	return n;
}

/* The program of hook d that is loaded: its tp_btf variant, else its raw_tp one. */
static struct bpf_program *prog_of(const struct prog_desc *d)
{
	return bpf_program__autoload(d->btf) ? d->btf : d->raw;
}

/*
 * Adds what the CPU records counted since the last call to k->cpu_events; zero: reset them.
 * The records are the k->ncpus elements of `oncpu`, read (and zeroed) in one batch.
 */
static int fold_cpu_events(struct kernel *k, bool zero)
{
	int fd = bpf_map__fd(k->skel->maps.oncpu), cpu;
	size_t len = (sizeof(struct sw_cpu) + sizeof(__u32)) * k->ncpus;
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u32 *keys, out_batch, count = k->ncpus;
	struct sw_cpu *c;

	if (!k->cpu_last) {
		k->cpu_last = calloc(k->ncpus * 2, sizeof(*k->cpu_last));
		if (!k->cpu_last)
			return -ENOMEM;
	}
	c = percpu_scratch(k, len);
	if (!c)
		return -ENOMEM;
	keys = (__u32 *)(c + k->ncpus);
	/* An array's batch read ends with ENOENT when it reaches the last element. */
	if (bpf_map_lookup_batch(fd, NULL, &out_batch, keys, c, &count, &opts) && errno != ENOENT)
		return -errno;
	for (cpu = 0; cpu < (int)count; cpu++) {
		/* u32 counters: the difference modulo 2^32 is right for < 4e9 events per read. */
		k->cpu_events.untracked += (__u32)(c[cpu].untracked - k->cpu_last[2 * cpu]);
		k->cpu_events.timed += (__u32)(c[cpu].timed - k->cpu_last[2 * cpu + 1]);
		k->cpu_last[2 * cpu] = zero ? 0 : c[cpu].untracked;
		k->cpu_last[2 * cpu + 1] = zero ? 0 : c[cpu].timed;
	}
	if (!zero)
		return 0;
	memset(c, 0, sizeof(*c) * k->ncpus);
	for (cpu = 0; cpu < k->ncpus; cpu++)
		keys[cpu] = cpu;
	count = k->ncpus;
	return bpf_map_update_batch(fd, keys, c, &count, &opts) ? -errno : 0;
}

int kernel__cpu_events(struct kernel *k, struct kernel_cpu_events *out)
{
	int err = k->hot_off ? 0 : fold_cpu_events(k, false);

	*out = k->cpu_events;
	return err;
}

void kernel__lat_tick(struct kernel *k)
{
	if (k->skel->bss)
		k->skel->bss->lat_epoch++;
}

bool kernel__hot_up(const struct kernel *k)
{
	return k->up[COLLECTOR_SYSCALLS] || k->up[COLLECTOR_SCHED];
}

bool kernel__hot_missing(const struct kernel *k)
{
	return !k->hot_off && k->hot_missing;
}

int kernel__hot_attach(struct kernel *k, bool on)
{
	bool retry = on && !k->hot_off, warned = k->hot_missing;
	int i, pass, err = 0;

	if (on == !k->hot_off && !(retry && k->hot_missing))
		return 0;
	if (!on) {
		/* From now on the CPU records go stale: hooks that stay ask task storage. */
		if (k->skel->bss)
			k->skel->bss->hot_off = 1;
		/*
		 * Syscall hooks first, they count what the duty cycle extrapolates: the tick's
		 * attached time ends when they are gone (kernel__hot_gone_ns()); sched then.
		 */
		for (pass = 0; pass < 2; pass++) {
			for (i = k->nprogs - 1; i >= 0; i--) {
				if (k->progs[i].col !=
					    (pass ? COLLECTOR_SCHED : COLLECTOR_SYSCALLS) ||
				    !k->links[i])
					continue;
				bpf_link__destroy(k->links[i]);
				k->links[i] = NULL;
			}
			if (!pass)
				k->hot_gone_ns = clock__mono_ns();
		}
		k->hot_off = true;
		k->hot_missing = false; /* all are attached again next time */
		/* Nothing keeps the records current while detached: they restart empty. */
		return fold_cpu_events(k, true);
	}
	if (!retry)
		err = fold_cpu_events(k, true); /* exec and fork may have written them meanwhile */
	if (!retry && k->skel->bss) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts); /* the clock of bpf_ktime_get_ns() */
		k->skel->bss->hot_since_ns = ts.tv_sec * 1000000000ULL + ts.tv_nsec;
		k->skel->bss->hot_gen++; /* syscalls entered while detached are not paired */
	}
	/* sched first, so that the records are kept before the syscall hooks read them. */
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < k->nprogs; i++) {
			const struct prog_desc *d = &k->progs[i];
			struct bpf_program *p = prog_of(d);

			if (d->col != (pass ? COLLECTOR_SYSCALLS : COLLECTOR_SCHED) ||
			    !k->up[d->col] || !p || k->links[i])
				continue;
			k->links[i] = bpf_program__attach(p);
			if (!k->links[i] && !err) {
				err = -errno;
				if (!warned)
					pr_warn("collector %s: cannot attach to %s again: %s; retried "
						"each tick",
						sw_collector_name(d->col), d->tp, strerror(-err));
			}
		}
	}
	if (warned && !err)
		pr_info("hot hooks: attached again");
	k->hot_missing = err != 0;
	if (k->skel->bss)
		k->skel->bss->hot_off = 0;
	k->hot_off = false;
	return err;
}

__u64 kernel__hot_gone_ns(const struct kernel *k)
{
	return k->hot_gone_ns;
}

int kernel__read(struct kernel *k, struct kernel_read *r)
{
	struct timespec ts;
	int err, i, names;
	__u32 slot;

	names = kernel__for_each_name(k, r->on_name, r->ctx);
	/* Stamped when the counters are read, so per-tick rates divide by the true interval. */
	clock_gettime(CLOCK_REALTIME, &ts);
	r->time = ts.tv_sec + ts.tv_nsec / 1e9;
	err = kernel__read_stats(k, r->nslots, r->stats);
	if (err < 0)
		return err;
	r->nread = err;
	kernel__read_counters(k, r->counters);
	r->rss_err = kernel__read_rss(k, r->nslots, r->rss);
	if (r->rss_err > 0)
		r->rss_err = 0;
	for (slot = 0; slot < r->nread; slot++) {
		r->user_starts[slot] = kernel__user_starts(k, slot);
		r->user_opened[slot] = kernel__user_opened(k, slot);
	}
	for (i = 0; i < COLLECTOR_MAX; i++)
		r->up[i] = kernel__collector_up(k, i);
	r->nprogs = kernel__prog_stats(k, r->progs, KERNEL_MAX_PROGS);
	r->nmaps = kernel__map_stats(k, r->maps, KERNEL_MAX_MAPS);
	for (i = 0; i < r->nmaps; i++) {
		if (!strcmp(r->maps[i].name, "agent_names"))
			r->maps[i].entries = names;
		else if (!strcmp(r->maps[i].name, "tls_pending"))
			r->maps[i].entries = kernel__tls_pending(k);
	}
	return 0;
}
