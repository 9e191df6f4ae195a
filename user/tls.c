// SPDX-License-Identifier: MIT
/*
 * TLS capture. For every process of an agent with TLS capture on, finds
 * its OpenSSL (the libssl it has mapped, per /proc/PID/maps, or the
 * program itself when it exports OpenSSL's functions, as Node.js does) and
 * attaches the OpenSSL probes to it with a process filter, so that only
 * that process's calls trap: a uprobe hit costs microseconds, and other
 * users of the same library on the host must not pay it.
 *
 * When to look: at start for running processes; when the kernel reports
 * that such a process mapped executable file pages (SW_EV_MAP: a library
 * loaded at start or later by dlopen, as Python's ssl module does); and
 * once more on the tick after a process was tagged from userspace, for
 * libraries mapped before the tag. Function offsets are read once per
 * library file from its dynamic symbol table.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "log.h"
#include "tls.h"

enum { FN_WRITE, FN_WRITE_EX, FN_READ, FN_READ_EX, FN_MAX };
_Static_assert(FN_MAX == TLS_FN_MAX, "tls.h names the same functions");

static const char *const fn_names[FN_MAX] = {"SSL_write", "SSL_write_ex", "SSL_read",
					     "SSL_read_ex"};

#define TLS_MAX_LINKS 8 /* entry of the four functions, return of the reads (and writes) */
#define TLS_MAX_PROCS 4096 /* four to eight links (file descriptors) each */
#define TLS_RECHECKS 64

/* A file with OpenSSL's functions (a libssl, or a program), and where they are. */
struct tls_lib {
	dev_t dev;
	ino_t ino;
	__u64 off[FN_MAX]; /* file offsets, 0 when absent */
	bool usable; /* has SSL_write and SSL_read */
	bool in_exe; /* linked into a program (Node.js): it drives OpenSSL through memory BIOs */
};

/* One attachment: a perf-event uprobe (libbpf link) or a multi-uprobe link (fd). */
struct probe {
	struct bpf_link *link;
	int fd; /* -1 when link is used */
};

/* A process with the probes attached. */
struct tls_proc {
	pid_t pid;
	int pidfd; /* readable once it exited */
	dev_t dev; /* the library attached to */
	ino_t ino;
	struct probe probes[TLS_MAX_LINKS];
	int nprobes;
};

/*
 * Links of exited processes, destroyed by a thread of their own: removing
 * a uprobe waits for the kernel's grace periods (tens of milliseconds
 * each), which the event loop must not, since a process that has just
 * loaded libssl is waiting to be probed.
 */
struct reaper {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct probe *probes;
	int n, cap;
	bool stop, started;
};

struct tls {
	const struct config *cfg;
	struct reaper reaper;
	struct kernel_tls k;
	struct tls_lib *libs;
	int nlibs;
	struct tls_proc *procs;
	int nprocs, procs_cap;
	pid_t recheck[TLS_RECHECKS]; /* tagged from userspace: look next tick */
	int nrecheck;
	__u64 attach_failures;
	bool warned_full;
	bool warned_attach;
};

static int pidfd_open(pid_t pid)
{
	return syscall(SYS_pidfd_open, pid, 0);
}

/* The links of each probed process count against the open-file limit: raise it. */
static void raise_nofile(void)
{
	struct rlimit r;

	if (getrlimit(RLIMIT_NOFILE, &r) || r.rlim_cur >= r.rlim_max)
		return;
	r.rlim_cur = r.rlim_max;
	setrlimit(RLIMIT_NOFILE, &r);
}

static void *reap(void *arg);

struct tls *tls__new(const struct config *c, struct kernel *k)
{
	struct tls *t;

	if (!c->ntls_agents)
		return NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	if (!kernel__tls(k, &t->k)) {
		free(t);
		return NULL;
	}
	t->cfg = c;
	pthread_mutex_init(&t->reaper.lock, NULL);
	pthread_cond_init(&t->reaper.wake, NULL);
	elf_version(EV_CURRENT);
	raise_nofile();
	return t;
}

void tls__start(struct tls *t)
{
	if (t && !t->reaper.started)
		t->reaper.started = !pthread_create(&t->reaper.thread, NULL, reap, &t->reaper);
}

bool tls__perf_events(const struct tls *t)
{
	return t && !t->k.multi;
}

static void destroy(struct probe *pr)
{
	bpf_link__destroy(pr->link);
	if (pr->fd >= 0)
		close(pr->fd);
}

static void *reap(void *arg)
{
	struct reaper *r = arg;

	pthread_mutex_lock(&r->lock);
	for (;;) {
		while (r->n) {
			struct probe pr = r->probes[--r->n];

			pthread_mutex_unlock(&r->lock);
			destroy(&pr);
			pthread_mutex_lock(&r->lock);
		}
		if (r->stop)
			break;
		pthread_cond_wait(&r->wake, &r->lock);
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

/* Hands a probe to the reaper thread (destroys it here if there is none). */
static void drop_probe(struct tls *t, struct probe pr)
{
	struct reaper *r = &t->reaper;
	bool queued = false;

	pthread_mutex_lock(&r->lock);
	if (r->started && r->n == r->cap) {
		int cap = r->cap ? r->cap * 2 : 64;
		struct probe *np = realloc(r->probes, cap * sizeof(*np));

		if (np) {
			r->probes = np;
			r->cap = cap;
		}
	}
	if (r->started && r->n < r->cap) {
		r->probes[r->n++] = pr;
		queued = true;
		pthread_cond_signal(&r->wake);
	}
	pthread_mutex_unlock(&r->lock);
	if (!queued)
		destroy(&pr);
}

static void detach(struct tls *t, struct tls_proc *p)
{
	int i;

	for (i = 0; i < p->nprobes; i++)
		drop_probe(t, p->probes[i]);
	p->nprobes = 0;
	if (p->pidfd >= 0)
		close(p->pidfd);
	p->pidfd = -1;
}

void tls__free(struct tls *t)
{
	int i;

	if (!t)
		return;
	for (i = 0; i < t->nprocs; i++)
		detach(t, &t->procs[i]);
	if (t->reaper.started) {
		pthread_mutex_lock(&t->reaper.lock);
		t->reaper.stop = true;
		pthread_cond_signal(&t->reaper.wake);
		pthread_mutex_unlock(&t->reaper.lock);
		pthread_join(t->reaper.thread, NULL);
	}
	free(t->reaper.probes);
	free(t->procs);
	free(t->libs);
	free(t);
}

/* ---- where the functions are ---- */

/* File offset of virtual address v, from the executable PT_LOAD segment holding it. */
static __u64 vaddr_to_offset(Elf *elf, __u64 v)
{
	size_t i, n;
	GElf_Phdr ph;

	if (elf_getphdrnum(elf, &n))
		return 0;
	for (i = 0; i < n; i++) {
		if (!gelf_getphdr(elf, i, &ph) || ph.p_type != PT_LOAD || !(ph.p_flags & PF_X))
			continue;
		if (v >= ph.p_vaddr && v < ph.p_vaddr + ph.p_memsz)
			return v - ph.p_vaddr + ph.p_offset;
	}
	return 0;
}

int tls__offsets(const char *path, __u64 off[TLS_FN_MAX])
{
	Elf_Scn *scn = NULL;
	Elf *elf;
	int fd, f;

	for (f = 0; f < FN_MAX; f++)
		off[f] = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	while (elf && (scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *data;
		size_t i, n;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNSYM || !sh.sh_entsize)
			continue;
		data = elf_getdata(scn, NULL);
		n = sh.sh_size / sh.sh_entsize;
		for (i = 0; data && i < n; i++) {
			GElf_Sym sym;
			const char *name;

			if (!gelf_getsym(data, i, &sym) || GELF_ST_TYPE(sym.st_info) != STT_FUNC ||
			    sym.st_shndx == SHN_UNDEF || !sym.st_value)
				continue;
			name = elf_strptr(elf, sh.sh_link, sym.st_name);
			for (f = 0; name && f < FN_MAX; f++)
				if (!strcmp(name, fn_names[f]))
					off[f] = vaddr_to_offset(elf, sym.st_value);
		}
	}
	elf_end(elf);
	close(fd);
	return off[FN_WRITE] && off[FN_READ] ? 0 : -ENOENT;
}

/* Fills lib->off from the library's dynamic symbols; false if it is not a usable libssl. */
static bool read_offsets(const char *path, struct tls_lib *lib)
{
	return !tls__offsets(path, lib->off);
}

/* The functions of the file at path (st), read once per file; quiet: no warning if it has none. */
static struct tls_lib *library(struct tls *t, const char *path, const struct stat *st, bool quiet)
{
	struct tls_lib *lib;
	int i;

	for (i = 0; i < t->nlibs; i++)
		if (t->libs[i].dev == st->st_dev && t->libs[i].ino == st->st_ino)
			return &t->libs[i];
	lib = realloc(t->libs, (t->nlibs + 1) * sizeof(*lib));
	if (!lib)
		return NULL;
	t->libs = lib;
	lib = &t->libs[t->nlibs++];
	memset(lib, 0, sizeof(*lib));
	lib->dev = st->st_dev;
	lib->ino = st->st_ino;
	lib->usable = read_offsets(path, lib);
	if (lib->usable)
		pr_info("tls: %s: SSL_write at 0x%llx, SSL_read at 0x%llx%s", path,
			(unsigned long long)lib->off[FN_WRITE],
			(unsigned long long)lib->off[FN_READ],
			lib->off[FN_READ_EX] ? ", and the _ex variants" : "");
	else if (!quiet)
		pr_warn("tls: %s has no SSL_write/SSL_read symbols; not probed", path);
	return lib;
}

/* ---- per process ---- */

/*
 * The libssl process pid has mapped, as a path through its root (so that
 * a container's own library is found): 0, or -ENOENT when there is none.
 */
static int find_libssl(pid_t pid, char *path, size_t len, struct stat *st)
{
	char maps[64], line[PATH_MAX + 128];
	int ret = -ENOENT;
	FILE *f;

	snprintf(maps, sizeof(maps), "/proc/%d/maps", pid);
	f = fopen(maps, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *file = strchr(line, '/'), *base, *nl;

		if (!file || !strstr(line, " r-xp "))
			continue;
		nl = strchr(file, '\n');
		if (nl)
			*nl = 0;
		base = strrchr(file, '/') + 1;
		if (strncmp(base, "libssl.so", 9))
			continue;
		snprintf(path, len, "/proc/%d/root%s", pid, file);
		if (!stat(path, st)) {
			ret = 0;
			break;
		}
	}
	fclose(f);
	return ret;
}

/*
 * Where process pid's OpenSSL is: its libssl, else its executable when that
 * exports OpenSSL's functions (Node.js links OpenSSL in and exports it for
 * native addons). NULL when it has none that can be probed.
 */
static struct tls_lib *find_openssl(struct tls *t, pid_t pid, char *path, size_t len,
				    struct stat *st)
{
	struct tls_lib *lib;

	if (!find_libssl(pid, path, len, st))
		return library(t, path, st, false);
	snprintf(path, len, "/proc/%d/exe", pid);
	if (stat(path, st))
		return NULL;
	lib = library(t, path, st, true);
	if (lib)
		lib->in_exe = true;
	return lib;
}

static struct tls_proc *find_proc(struct tls *t, pid_t pid)
{
	int i;

	for (i = 0; i < t->nprocs; i++)
		if (t->procs[i].pid == pid)
			return &t->procs[i];
	return NULL;
}

/* bpf(BPF_LINK_CREATE) attributes of a multi-uprobe link (Linux 6.6 uapi). */
struct uprobe_multi_attr {
	__u32 prog_fd;
	__u32 target_fd;
	__u32 attach_type;
	__u32 flags;
	__u64 path;
	__u64 offsets;
	__u64 ref_ctr_offsets;
	__u64 cookies;
	__u32 cnt;
	__u32 multi_flags; /* SW_UPROBE_MULTI_RETURN */
	__u32 pid;
};

#define SW_BPF_LINK_CREATE 28
#define SW_UPROBE_MULTI_RETURN 1u

/* Attaches prog at offsets [0, n) of path, for process pid only; the link's fd or -errno. */
static int link_multi(struct bpf_program *prog, const char *path, const __u64 *offsets, int n,
		      bool ret, pid_t pid)
{
	struct uprobe_multi_attr a;
	int fd;

	memset(&a, 0, sizeof(a));
	a.prog_fd = bpf_program__fd(prog);
	a.attach_type = SW_TRACE_UPROBE_MULTI;
	a.path = (__u64)(unsigned long)path;
	a.offsets = (__u64)(unsigned long)offsets;
	a.cnt = n;
	a.multi_flags = ret ? SW_UPROBE_MULTI_RETURN : 0;
	a.pid = pid;
	fd = syscall(SYS_bpf, SW_BPF_LINK_CREATE, &a, sizeof(a));
	return fd < 0 ? -errno : fd;
}

/* Multi-uprobe links: one per program, each at every offset it needs. */
static int attach_multi(struct tls *t, struct tls_proc *p, const char *path,
			const struct tls_lib *lib)
{
	const struct {
		struct bpf_program *prog;
		int fn[2];
		bool ret;
	} plan[] = {
		{t->k.ssl_write, {FN_WRITE, FN_WRITE_EX}, false},
		{t->k.ssl_read, {FN_READ, -1}, false},
		{t->k.ssl_read_ex, {FN_READ_EX, -1}, false},
		{t->k.ssl_read_ret, {FN_READ, FN_READ_EX}, true},
		{t->k.ssl_write_ret, {FN_WRITE, FN_WRITE_EX}, true},
	};
	size_t i;

	for (i = 0; i < sizeof(plan) / sizeof(plan[0]); i++) {
		__u64 off[2];
		int j, n = 0, fd;

		if (plan[i].prog == t->k.ssl_write_ret && !lib->in_exe)
			continue; /* only memory-BIO programs need it */
		for (j = 0; j < 2; j++)
			if (plan[i].fn[j] >= 0 && lib->off[plan[i].fn[j]])
				off[n++] = lib->off[plan[i].fn[j]];
		if (!n)
			continue;
		fd = link_multi(plan[i].prog, path, off, n, plan[i].ret, p->pid);
		if (fd < 0)
			return fd;
		p->probes[p->nprobes++] = (struct probe){.fd = fd};
	}
	return p->nprobes;
}

/* Perf-event uprobes (kernels before 6.6): one per program and offset. */
static int attach_perf(struct tls *t, struct tls_proc *p, const char *path,
		       const struct tls_lib *lib)
{
	const struct {
		struct bpf_program *prog;
		int fn;
		bool ret;
	} plan[TLS_MAX_LINKS] = {
		{t->k.ssl_write, FN_WRITE, false},     {t->k.ssl_write, FN_WRITE_EX, false},
		{t->k.ssl_read, FN_READ, false},       {t->k.ssl_read_ret, FN_READ, true},
		{t->k.ssl_read_ex, FN_READ_EX, false}, {t->k.ssl_read_ret, FN_READ_EX, true},
		{t->k.ssl_write_ret, FN_WRITE, true},  {t->k.ssl_write_ret, FN_WRITE_EX, true},
	};
	int i;

	for (i = 0; i < TLS_MAX_LINKS; i++) {
		LIBBPF_OPTS(bpf_uprobe_opts, opts, .retprobe = plan[i].ret);
		struct bpf_link *l;

		if (!lib->off[plan[i].fn] || (plan[i].prog == t->k.ssl_write_ret && !lib->in_exe))
			continue;
		l = bpf_program__attach_uprobe_opts(plan[i].prog, p->pid, path,
						    lib->off[plan[i].fn], &opts);
		if (!l)
			return -errno;
		p->probes[p->nprobes++] = (struct probe){.link = l, .fd = -1};
	}
	return p->nprobes;
}

/* Attaches the probes to process pid if it has a libssl mapped and none are attached yet. */
static void check_pid(struct tls *t, pid_t pid)
{
	struct tls_proc *p = find_proc(t, pid);
	struct tls_lib *lib;
	char path[PATH_MAX];
	struct stat st;
	int n;

	lib = find_openssl(t, pid, path, sizeof(path), &st);
	if (!lib || !lib->usable)
		return;
	if (p && p->dev == st.st_dev && p->ino == st.st_ino)
		return; /* already probed */
	if (p) {
		detach(t, p); /* exec'd into a program with another libssl */
	} else {
		if (t->nprocs >= TLS_MAX_PROCS) {
			if (!t->warned_full)
				pr_warn("tls: probes attached to %d processes already; further "
					"processes are not captured",
					TLS_MAX_PROCS);
			t->warned_full = true;
			t->attach_failures++;
			return;
		}
		if (t->nprocs == t->procs_cap) {
			int cap = t->procs_cap ? t->procs_cap * 2 : 16;
			struct tls_proc *np = realloc(t->procs, cap * sizeof(*np));

			if (!np)
				return;
			t->procs = np;
			t->procs_cap = cap;
		}
		p = &t->procs[t->nprocs++];
		memset(p, 0, sizeof(*p));
		p->pid = pid;
	}
	p->dev = st.st_dev;
	p->ino = st.st_ino;
	p->pidfd = pidfd_open(pid);
	if (p->pidfd < 0)
		n = -errno;
	else
		n = t->k.multi ? attach_multi(t, p, path, lib) : attach_perf(t, p, path, lib);
	if (n > 0) {
		pr_debug("tls: probing process %d (%d probes on %s)", pid, n, path);
		return;
	}
	if (n != -ESRCH && !t->warned_attach)
		pr_warn("tls: cannot probe process %d: %s (further failures are counted in "
			"swarmwatch_tls_attach_failures_total)",
			pid, strerror(-n));
	t->warned_attach |= n != -ESRCH;
	t->attach_failures += n != -ESRCH;
	detach(t, p);
	*p = t->procs[--t->nprocs];
}

/* TLS mode of slot, deciding it from the agent's name when the kernel has not been told yet. */
static __u32 slot_mode(struct tls *t, __u32 slot)
{
	struct sw_name key, next, *prev = NULL;
	__u32 mode = SW_TLS_UNDECIDED, v;

	if (bpf_map_lookup_elem(t->k.agent_tls_fd, &slot, &mode))
		return SW_TLS_OFF;
	if (mode != SW_TLS_UNDECIDED)
		return mode;
	mode = SW_TLS_OFF;
	while (slot != SW_SLOT_OTHER && !bpf_map_get_next_key(t->k.names_fd, prev, &next)) {
		key = next;
		prev = &key;
		if (!bpf_map_lookup_elem(t->k.names_fd, &key, &v) && v == slot) {
			key.name[SW_NAME_LEN - 1] = 0;
			if (config__tls_agent(t->cfg, key.name)) {
				mode = SW_TLS_ON;
				pr_info("tls: capture on for agent \"%s\"", key.name);
			}
			break;
		}
	}
	bpf_map_update_elem(t->k.agent_tls_fd, &slot, &mode, BPF_ANY);
	return mode;
}

/* Agent slot of process pid, or SW_SLOT_NONE when it is not tracked. */
static __u32 pid_slot(struct tls *t, pid_t pid)
{
	struct sw_task st;
	int fd = pidfd_open(pid);
	__u32 slot = SW_SLOT_NONE;

	if (fd < 0)
		return slot;
	if (!bpf_map_lookup_elem(t->k.tasks_fd, &fd, &st))
		slot = st.sys.slot;
	close(fd);
	return slot;
}

static void check_tracked(struct tls *t, pid_t pid)
{
	__u32 slot = pid_slot(t, pid);

	if (slot != SW_SLOT_NONE && slot_mode(t, slot) == SW_TLS_ON)
		check_pid(t, pid);
}

void tls__scan(struct tls *t)
{
	struct dirent *de;
	DIR *dir;

	if (!t)
		return;
	dir = opendir("/proc");
	if (!dir)
		return;
	while ((de = readdir(dir))) {
		pid_t pid = atoi(de->d_name);

		if (pid > 0 && pid != getpid())
			check_tracked(t, pid);
	}
	closedir(dir);
	if (t->nprocs)
		pr_info("tls: probing %d running processes", t->nprocs);
}

void tls__event(struct tls *t, const struct sw_event *e)
{
	if (!t)
		return;
	if (e->type == SW_EV_MAP) {
		if (slot_mode(t, e->slot) == SW_TLS_ON)
			check_pid(t, e->pid);
	} else if (e->type == SW_EV_EXEC && t->nrecheck < TLS_RECHECKS) {
		/* Tagged from userspace, if at all, after some libraries were mapped. */
		t->recheck[t->nrecheck++] = e->pid;
	}
}

void tls__poll(struct tls *t)
{
	struct pollfd pfd;
	int i, n;

	if (!t)
		return;
	n = t->nrecheck;
	t->nrecheck = 0;
	for (i = 0; i < n; i++)
		check_tracked(t, t->recheck[i]);
	for (i = 0; i < t->nprocs;) {
		pfd = (struct pollfd){.fd = t->procs[i].pidfd, .events = POLLIN};
		if (poll(&pfd, 1, 0) > 0) {
			pr_debug("tls: process %d exited; probes detached", t->procs[i].pid);
			detach(t, &t->procs[i]);
			t->procs[i] = t->procs[--t->nprocs];
			continue;
		}
		i++;
	}
}

void tls__stats(const struct tls *t, struct tls_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (!t)
		return;
	out->processes = t->nprocs;
	out->attach_failures = t->attach_failures;
}
