// SPDX-License-Identifier: MIT
/*
 * Which processes belong to which agent, seen from userspace: the rule
 * engine, the start-up scan of /proc, cgroup rules, classification of execs
 * that the kernel could not classify, and instance roots.
 *
 * The kernel classifies by environment marker and by cgroup id at exec and
 * makes children inherit at fork; this file covers what needs regexes or
 * happened before the daemon started.
 */
#include <bpf/bpf.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "identity.h"
#include "log.h"
#include "text.h"

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif

#define MAX_CGROUPS 4096
#define MAX_CGROUP_DEPTH 32

bool identity__expand(const char *tmpl, const char *subject, const regmatch_t *m, size_t nm,
		      char name[SW_NAME_LEN])
{
	/* Room to tell a cut name from a whole one: text__name() writes at most 3 bytes a byte. */
	char raw[4 * SW_NAME_LEN] = "", whole[3 * sizeof(raw) + 1];
	bool cut = false;
	size_t len = 0;

	for (; *tmpl; tmpl++) {
		size_t g, n;

		if (*tmpl != '$' || tmpl[1] < '0' || tmpl[1] > '9') {
			if (len == sizeof(raw)) {
				cut = true;
				break;
			}
			raw[len++] = *tmpl;
			continue;
		}
		g = *++tmpl - '0';
		if (g >= nm || m[g].rm_so < 0)
			continue;
		n = m[g].rm_eo - m[g].rm_so;
		if (n > sizeof(raw) - len) {
			n = sizeof(raw) - len;
			cut = true;
		}
		memcpy(raw + len, subject + m[g].rm_so, n);
		len += n;
	}
	text__name(name, SW_NAME_LEN, raw, len);
	return !cut && text__name(whole, sizeof(whole), raw, len) < SW_NAME_LEN;
}

static const char *rule_subject(const struct rule *r, const struct proc_info *p)
{
	switch (r->match) {
	case RULE_CGROUP:
		return p->cgroup;
	case RULE_COMM:
		return p->comm;
	case RULE_EXE:
		return p->exe;
	case RULE_CMDLINE:
		return p->cmdline;
	}
	return NULL;
}

enum identity_source identity__classify(const struct config *c, const struct proc_info *p,
					unsigned sources, char name[SW_NAME_LEN])
{
	char tenant[TENANT_NAME_MAX];

	return identity__classify_tenant(c, p, sources, name, tenant);
}

static bool tenant_cut_said; /* a tenant too long was logged (once per run) */

enum identity_source identity__classify_tenant(const struct config *c, const struct proc_info *p,
					       unsigned sources, char name[SW_NAME_LEN],
					       char tenant[TENANT_NAME_MAX])
{
	regmatch_t m[10];
	int i;

	tenant[0] = 0;
	if ((sources & (1u << IDENTITY_MARKER)) && c->marker && p->marker && p->marker[0]) {
		text__name(name, SW_NAME_LEN, p->marker, strlen(p->marker));
		return IDENTITY_MARKER;
	}
	for (i = 0; i < c->nrules; i++) {
		const struct rule *r = &c->rules[i];
		enum identity_source src = i < c->ncgroup_rules ? IDENTITY_CGROUP
								: IDENTITY_COMMAND;
		const char *subject = rule_subject(r, p);

		if (!(sources & (1u << src)) || !subject)
			continue;
		if (regexec(&r->re, subject, 10, m, 0))
			continue;
		identity__expand(r->name, subject, m, 10, name);
		if (!name[0])
			continue;
		/*
		 * A tenant too long to keep whole is none: cut, two tenants with the same first
		 * 31 bytes would see each other's agents.
		 */
		if (r->tenant && !identity__expand(r->tenant, subject, m, 10, tenant)) {
			if (!__atomic_exchange_n(&tenant_cut_said, true, __ATOMIC_RELAXED))
				pr_warn("identity: the tenant a rule gives agent %s is longer than %d "
					"bytes: the agent gets no tenant (only tokens without "
					"tenants see it); shorten the rule's \"tenant\"",
					name, SW_NAME_LEN - 1);
			tenant[0] = 0;
		}
		return src;
	}
	return IDENTITY_NONE;
}

/* ---- runtime state ---- */

struct root {
	pid_t pid;
	__u32 slot;
	int pidfd; /* readable once the process has exited */
};

struct identity {
	const struct config *cfg;
	struct identity_maps maps;
	char cgroup_root[PATH_MAX]; /* cgroup v2 mount point, "" if none */
	struct root *roots;
	int nroots, roots_cap;
	__u64 *cgroup_ids; /* ids currently in the cgroup map */
	__u32 *cgroup_slots; /* ... and the slot each maps to */
	int ncgroup_ids;
	pid_t self;
	struct agent_tenant *tenants; /* sorted by agent */
	int ntenants, tenants_cap;
};

/* Remembers that a rule gave agent name the tenant; "" forgets nothing. */
static void note_tenant(struct identity *id, const char *name, const char *tenant)
{
	struct agent_tenant *t;
	int lo = 0, hi = id->ntenants, mid, c;

	if (!tenant[0])
		return;
	while (lo < hi) {
		mid = (lo + hi) / 2;
		c = strcmp(id->tenants[mid].agent, name);
		if (!c) {
			snprintf(id->tenants[mid].tenant, TENANT_NAME_MAX, "%s", tenant);
			return;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (id->ntenants >= IDENTITY_MAX_TENANTS)
		return;
	if (id->ntenants == id->tenants_cap) {
		int cap = id->tenants_cap ? id->tenants_cap * 2 : 16;

		t = realloc(id->tenants, cap * sizeof(*t));
		if (!t)
			return;
		id->tenants = t;
		id->tenants_cap = cap;
	}
	t = &id->tenants[lo];
	memmove(t + 1, t, (id->ntenants - lo) * sizeof(*t));
	id->ntenants++;
	snprintf(t->agent, SW_NAME_LEN, "%s", name);
	snprintf(t->tenant, TENANT_NAME_MAX, "%s", tenant);
}

int identity__tenants(const struct identity *id, struct agent_tenant **out)
{
	*out = NULL;
	if (!id->ntenants)
		return 0;
	*out = malloc(id->ntenants * sizeof(**out));
	if (!*out)
		return -ENOMEM;
	memcpy(*out, id->tenants, id->ntenants * sizeof(**out));
	return id->ntenants;
}

static int pidfd_open(pid_t pid, unsigned flags)
{
	return syscall(SYS_pidfd_open, pid, flags);
}

/* Reads up to size-1 bytes of a /proc file; returns the length or -errno. */
static ssize_t read_file(const char *path, char *buf, size_t size)
{
	ssize_t n, len = 0;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while ((size_t)len < size - 1) {
		n = read(fd, buf + len, size - 1 - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			len = -errno;
			break;
		}
		if (!n)
			break;
		len += n;
	}
	close(fd);
	if (len >= 0)
		buf[len] = 0;
	return len;
}

static void find_cgroup_root(struct identity *id)
{
	char line[4096], mnt[PATH_MAX], *sep;
	FILE *f;

	id->cgroup_root[0] = 0;
	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		sep = strstr(line, " - ");
		if (!sep || strncmp(sep + 3, "cgroup2 ", 8))
			continue;
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) == 1) {
			snprintf(id->cgroup_root, sizeof(id->cgroup_root), "%s", mnt);
			break;
		}
	}
	fclose(f);
}

struct identity *identity__new(const struct config *c, const struct identity_maps *maps)
{
	struct identity *id = calloc(1, sizeof(*id));

	if (!id)
		return NULL;
	id->cfg = c;
	id->maps = *maps;
	id->self = getpid();
	find_cgroup_root(id);
	if (!id->cgroup_root[0] && c->ncgroup_rules)
		pr_warn("identity: no cgroup v2 hierarchy is mounted; cgroup rules will not match");
	return id;
}

void identity__free(struct identity *id)
{
	int i;

	if (!id)
		return;
	for (i = 0; i < id->nroots; i++)
		close(id->roots[i].pidfd);
	free(id->roots);
	free(id->cgroup_ids);
	free(id->cgroup_slots);
	free(id->tenants);
	free(id);
}

__u32 identity__slot(struct identity *id, const char *name)
{
	struct sw_name key;
	__u32 slot;

	memset(&key, 0, sizeof(key));
	text__name(key.name, sizeof(key.name), name, strlen(name));
	if (!bpf_map_lookup_elem(id->maps.names_fd, &key, &slot))
		return slot;
	/* A reclaimed slot first, as the kernel does (identity.bpf.c). */
	if (bpf_map_lookup_and_delete_elem(id->maps.free_slots_fd, NULL, &slot))
		slot = __atomic_fetch_add(id->maps.slot_next, 1, __ATOMIC_SEQ_CST);
	if (slot < 1 || slot > id->cfg->max_agents)
		slot = SW_SLOT_OTHER;
	if (bpf_map_update_elem(id->maps.names_fd, &key, &slot, BPF_NOEXIST)) {
		/* Named meanwhile (by the kernel): its slot wins, ours goes back to the free list. */
		if (errno == EEXIST) {
			if (slot != SW_SLOT_OTHER)
				bpf_map_update_elem(id->maps.free_slots_fd, NULL, &slot, BPF_ANY);
			if (!bpf_map_lookup_elem(id->maps.names_fd, &key, &slot))
				return slot;
		}
		pr_warn("identity: agent name table is full; \"%s\" folds into \"other\"", name);
		slot = SW_SLOT_OTHER;
	}
	return slot;
}

/* Counts one process folded into "other" by the daemon, in the pinned meta map. */
static void count_fold(struct identity *id)
{
	struct sw_meta meta;
	__u32 zero = 0;

	if (bpf_map_lookup_elem(id->maps.meta_fd, &zero, &meta))
		return;
	meta.user_folds++;
	bpf_map_update_elem(id->maps.meta_fd, &zero, &meta, BPF_ANY);
}

static void add_root(struct identity *id, pid_t pid, __u32 slot)
{
	struct root *r;
	int i, fd;

	for (i = 0; i < id->nroots; i++) {
		if (id->roots[i].pid == pid) {
			id->roots[i].slot = slot;
			return;
		}
	}
	fd = pidfd_open(pid, 0);
	if (fd < 0)
		return; /* already gone */
	if (id->nroots == id->roots_cap) {
		int cap = id->roots_cap ? id->roots_cap * 2 : 64;

		r = realloc(id->roots, cap * sizeof(*r));
		if (!r) {
			close(fd);
			return;
		}
		id->roots = r;
		id->roots_cap = cap;
	}
	id->roots[id->nroots++] = (struct root){.pid = pid, .slot = slot, .pidfd = fd};
}

void identity__poll(struct identity *id)
{
	struct pollfd *pfd;
	int i, j;

	if (!id->nroots)
		return;
	pfd = calloc(id->nroots, sizeof(*pfd));
	if (!pfd)
		return;
	for (i = 0; i < id->nroots; i++) {
		pfd[i].fd = id->roots[i].pidfd;
		pfd[i].events = POLLIN;
	}
	if (poll(pfd, id->nroots, 0) > 0) {
		for (i = 0, j = 0; i < id->nroots; i++) {
			if (pfd[i].revents) {
				close(id->roots[i].pidfd);
				continue;
			}
			id->roots[j++] = id->roots[i];
		}
		id->nroots = j;
	}
	free(pfd);
}

__u32 identity__instances(const struct identity *id, __u32 slot)
{
	__u32 n = 0;
	int i;

	for (i = 0; i < id->nroots; i++)
		n += id->roots[i].slot == slot;
	return n;
}

int identity__roots(const struct identity *id, __u32 slot, pid_t *out, int cap)
{
	int i, n = 0;

	for (i = 0; i < id->nroots; i++)
		if (id->roots[i].slot == slot && n < cap)
			out[n++] = id->roots[i].pid;
	return n;
}

static bool is_root(const struct identity *id, __u32 slot, pid_t pid)
{
	int i;

	for (i = 0; i < id->nroots; i++)
		if (id->roots[i].pid == pid && id->roots[i].slot == slot)
			return true;
	return false;
}

pid_t identity__root_of(const struct identity *id, __u32 slot, pid_t pid)
{
	char path[64], stat[512], *p;
	int steps, ppid;

	for (steps = 0; steps < 64 && pid > 1; steps++) {
		if (is_root(id, slot, pid))
			return pid;
		snprintf(path, sizeof(path), "/proc/%d/stat", pid);
		if (read_file(path, stat, sizeof(stat)) <= 0)
			return 0;
		/* "pid (comm) state ppid ...": comm may hold spaces and parentheses. */
		p = strrchr(stat, ')');
		if (!p || sscanf(p + 1, " %*c %d", &ppid) != 1)
			return 0;
		pid = ppid;
	}
	return 0;
}

void identity__instance_name(pid_t pid, char name[SW_NAME_LEN])
{
	size_t len = strlen(IDENTITY_INSTANCE_ENV);
	char path[64], *env;
	ssize_t n, i;

	snprintf(name, SW_NAME_LEN, "%d", pid);
	env = malloc(65536);
	if (!env)
		return;
	snprintf(path, sizeof(path), "/proc/%d/environ", pid);
	n = read_file(path, env, 65536);
	for (i = 0; i < n; i += strlen(env + i) + 1)
		if (!strncmp(env + i, IDENTITY_INSTANCE_ENV, len) && env[i + len]) {
			text__name(name, SW_NAME_LEN, env + i + len, strlen(env + i + len));
			break;
		}
	free(env);
}

/* CPU time task tid has used so far (ns), from its schedstat; 0 if unknown. */
static __u64 task_runtime(pid_t pid, pid_t tid)
{
	unsigned long long ns = 0;
	char path[96], text[128];

	snprintf(path, sizeof(path), "/proc/%d/task/%d/schedstat", pid, tid);
	if (read_file(path, text, sizeof(text)) > 0)
		sscanf(text, "%llu", &ns);
	return ns;
}

/*
 * Puts every thread of process pid into agent `slot`; the leader carries
 * ROOT if root. CPU time counts from now on.
 */
static int tag_process(struct identity *id, pid_t pid, __u32 slot, bool root)
{
	char path[64];
	struct dirent *de;
	int tagged = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		pid_t tid = atoi(de->d_name);
		struct sw_task t;
		int fd;

		if (tid <= 0)
			continue;
		fd = pidfd_open(tid, tid == pid ? 0 : PIDFD_THREAD);
		if (fd < 0)
			continue; /* exited, or a kernel without thread pidfds */
		if (!bpf_map_lookup_elem(id->maps.tasks_fd, &fd, &t) && t.sys.slot == slot) {
			close(fd);
			tagged++;
			continue;
		}
		memset(&t, 0, sizeof(t));
		t.sys.slot = slot;
		t.flags = root && tid == pid ? SW_TASK_ROOT : 0;
		t.cpu_seen_ns = task_runtime(pid, tid);
		if (bpf_map_update_elem(id->maps.tasks_fd, &fd, &t, BPF_ANY))
			pr_debug("identity: cannot tag task %d: %s", tid, strerror(errno));
		else
			tagged++;
		close(fd);
	}
	closedir(d);
	/* Threads running now keep a record that says "not tracked": make every one stale. */
	if (tagged && id->maps.tag_gen)
		__atomic_add_fetch(id->maps.tag_gen, 1, __ATOMIC_RELEASE);
	return tagged;
}

/* Everything the rules may look at for one process, read from /proc. */
struct proc_data {
	char comm[SW_COMM_LEN + 16];
	char exe[PATH_MAX];
	char cmdline[1024];
	char cgroup[PATH_MAX];
	char marker[SW_NAME_LEN];
	pid_t ppid;
	struct proc_info info;
};

static void read_marker(pid_t pid, struct proc_data *d)
{
	static char env[65536];
	char path[64];
	ssize_t n, i;

	snprintf(path, sizeof(path), "/proc/%d/environ", pid);
	n = read_file(path, env, sizeof(env));
	for (i = 0; i < n; i += strlen(env + i) + 1) {
		if (!strncmp(env + i, SW_ENV_MARKER, SW_ENV_MARKER_LEN)) {
			const char *v = env + i + SW_ENV_MARKER_LEN;

			/* Made a name here from the whole value, as the kernel does. */
			text__name(d->marker, sizeof(d->marker), v, strlen(v));
			d->info.marker = d->marker;
			return;
		}
	}
}

/* Reads comm, ppid, exe, cmdline, cgroup (and the marker if want_marker); -errno if gone. */
static int read_proc(struct identity *id, pid_t pid, bool want_marker, struct proc_data *d)
{
	char path[64], stat[1024], *p;
	ssize_t n, i;

	memset(d, 0, sizeof(*d));
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	n = read_file(path, stat, sizeof(stat));
	if (n < 0)
		return n;
	p = strrchr(stat, ')');
	if (!p || !strchr(stat, '(') || sscanf(p + 1, " %*c %d", &d->ppid) != 1)
		return -EINVAL;
	*p = 0;
	snprintf(d->comm, sizeof(d->comm), "%s", strchr(stat, '(') + 1);
	d->info.comm = d->comm;
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	n = readlink(path, d->exe, sizeof(d->exe) - 1);
	if (n < 0)
		return -errno; /* kernel threads have no executable */
	d->exe[n] = 0;
	d->info.exe = d->exe;
	snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
	n = read_file(path, d->cmdline, sizeof(d->cmdline));
	for (i = 0; i < n; i++)
		if (!d->cmdline[i])
			d->cmdline[i] = ' ';
	while (n > 0 && d->cmdline[n - 1] == ' ')
		d->cmdline[--n] = 0;
	d->info.cmdline = d->cmdline;
	if (id->cgroup_root[0]) {
		static char cg[8192];

		snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
		if (read_file(path, cg, sizeof(cg)) > 0) {
			char *line = strstr(cg, "0::");

			if (line == cg || (line && line[-1] == '\n')) {
				snprintf(d->cgroup, sizeof(d->cgroup), "%s", line + 3);
				d->cgroup[strcspn(d->cgroup, "\n")] = 0;
				d->info.cgroup = d->cgroup;
			}
		}
	}
	if (want_marker)
		read_marker(pid, d);
	return 0;
}

/* Classification of one process during the start-up scan. */
struct scanned {
	pid_t pid, ppid;
	char name[SW_NAME_LEN]; /* own match, "" if none */
	int resolved; /* index of the process whose match it carries, -1 none */
};

static int cmp_scanned(const void *a, const void *b)
{
	const struct scanned *x = a, *y = b;

	return (x->pid > y->pid) - (x->pid < y->pid);
}

static int find_scanned(struct scanned *s, int n, pid_t pid)
{
	struct scanned key = {.pid = pid};
	struct scanned *hit = bsearch(&key, s, n, sizeof(*s), cmp_scanned);

	return hit ? (int)(hit - s) : -1;
}

int identity__scan_proc(struct identity *id)
{
	char tenant[TENANT_NAME_MAX];
	struct scanned *s = NULL, *tmp;
	int n = 0, cap = 0, i, depth, tagged = 0, roots = 0;
	struct proc_data d;
	struct dirent *de;
	DIR *dir;

	dir = opendir("/proc");
	if (!dir)
		return -errno;
	while ((de = readdir(dir))) {
		pid_t pid = atoi(de->d_name);

		if (pid <= 0 || pid == id->self || read_proc(id, pid, true, &d))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			tmp = realloc(s, cap * sizeof(*s));
			if (!tmp)
				break;
			s = tmp;
		}
		s[n].pid = pid;
		s[n].ppid = d.ppid;
		s[n].resolved = -1;
		if (!identity__classify_tenant(id->cfg, &d.info, IDENTITY_ALL, s[n].name, tenant))
			s[n].name[0] = 0;
		else
			note_tenant(id, s[n].name, tenant);
		n++;
	}
	closedir(dir);
	qsort(s, n, sizeof(*s), cmp_scanned);
	/* Unmatched processes carry the match of their nearest matched ancestor. */
	for (i = 0; i < n; i++) {
		int j = i;

		for (depth = 0; depth < 64 && j >= 0; depth++) {
			if (s[j].name[0]) {
				s[i].resolved = j;
				break;
			}
			j = find_scanned(s, n, s[j].ppid);
		}
	}
	for (i = 0; i < n; i++) {
		int p, r = s[i].resolved;
		bool root;
		__u32 slot;

		if (r < 0)
			continue;
		p = find_scanned(s, n, s[i].ppid);
		root = r == i &&
		       (p < 0 || s[p].resolved < 0 || strcmp(s[s[p].resolved].name, s[i].name));
		slot = identity__slot(id, s[r].name);
		if (tag_process(id, s[i].pid, slot, root) > 0) {
			tagged++;
			if (slot == SW_SLOT_OTHER)
				count_fold(id);
		}
		if (root) {
			add_root(id, s[i].pid, slot);
			roots++;
		}
	}
	free(s);
	pr_info("identity: tagged %d running processes, %d agent instances", tagged, roots);
	return tagged;
}

/* The cgroups a walk found mapped to an agent, and their slots. */
struct cgroup_list {
	__u64 *ids;
	__u32 *slots;
	int n;
};

static int add_cgroup_id(struct cgroup_list *l, __u64 cgid, __u32 slot)
{
	__u64 *p;
	__u32 *q;

	if (l->n >= MAX_CGROUPS)
		return -E2BIG;
	p = realloc(l->ids, (l->n + 1) * sizeof(*p));
	if (!p)
		return -ENOMEM;
	l->ids = p;
	q = realloc(l->slots, (l->n + 1) * sizeof(*q));
	if (!q)
		return -ENOMEM;
	l->slots = q;
	p[l->n] = cgid;
	q[l->n++] = slot;
	return 0;
}

static void walk_cgroups(struct identity *id, char *path, size_t rootlen, int depth,
			 struct cgroup_list *l)
{
	struct proc_info info = {0};
	char name[SW_NAME_LEN], tenant[TENANT_NAME_MAX];
	size_t len = strlen(path);
	struct dirent *de;
	struct stat st;
	DIR *d;

	if (depth > MAX_CGROUP_DEPTH || stat(path, &st))
		return;
	info.cgroup = len > rootlen ? path + rootlen : "/";
	if (identity__classify_tenant(id->cfg, &info, 1u << IDENTITY_CGROUP, name, tenant)) {
		__u32 slot = identity__slot(id, name);
		__u64 cgid = st.st_ino;

		note_tenant(id, name, tenant);
		if (!add_cgroup_id(l, cgid, slot))
			bpf_map_update_elem(id->maps.cgroups_fd, &cgid, &slot, BPF_ANY);
	}
	d = opendir(path);
	if (!d)
		return;
	while ((de = readdir(d))) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		if (len + 1 + strlen(de->d_name) >= PATH_MAX)
			continue;
		path[len] = '/';
		strcpy(path + len + 1, de->d_name);
		walk_cgroups(id, path, rootlen, depth + 1, l);
		path[len] = 0;
	}
	closedir(d);
}

int identity__scan_cgroups(struct identity *id)
{
	struct cgroup_list l = {0};
	char path[PATH_MAX];
	int i, j;

	if (!id->cfg->ncgroup_rules || !id->cgroup_root[0])
		return 0;
	snprintf(path, sizeof(path), "%s", id->cgroup_root);
	walk_cgroups(id, path, strlen(path), 0, &l);
	for (i = 0; i < id->ncgroup_ids; i++) {
		for (j = 0; j < l.n && l.ids[j] != id->cgroup_ids[i]; j++)
			;
		if (j == l.n)
			bpf_map_delete_elem(id->maps.cgroups_fd, &id->cgroup_ids[i]);
	}
	free(id->cgroup_ids);
	free(id->cgroup_slots);
	id->cgroup_ids = l.ids;
	id->cgroup_slots = l.slots;
	id->ncgroup_ids = l.n;
	return l.n;
}

int identity__unpublish(struct identity *id, __u32 slot, char name[SW_NAME_LEN])
{
	struct sw_name key, next, *prev = NULL;
	__u32 v;
	int i;

	for (i = 0; i < id->ncgroup_ids; i++)
		if (id->cgroup_slots[i] == slot)
			return -EBUSY;
	while (!bpf_map_get_next_key(id->maps.names_fd, prev, &next)) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(id->maps.names_fd, &key, &v) || v != slot)
			continue;
		if (bpf_map_delete_elem(id->maps.names_fd, &key))
			return -errno;
		memcpy(name, key.name, SW_NAME_LEN);
		name[SW_NAME_LEN - 1] = 0;
		return 0;
	}
	return -ENOENT;
}

int identity__forget_folded(struct identity *id)
{
	struct sw_name key, next, *prev = NULL;
	int n = 0;
	__u32 v;

	while (!bpf_map_get_next_key(id->maps.names_fd, prev, &next)) {
		if (!bpf_map_lookup_elem(id->maps.names_fd, &next, &v) && v == SW_SLOT_OTHER &&
		    !bpf_map_delete_elem(id->maps.names_fd, &next)) {
			n++;
			continue; /* the walk goes on from the same predecessor */
		}
		key = next;
		prev = &key;
	}
	return n;
}

int identity__publish(struct identity *id, __u32 slot, const char *name)
{
	struct sw_name key;

	memset(&key, 0, sizeof(key));
	snprintf(key.name, sizeof(key.name), "%s", name);
	return bpf_map_update_elem(id->maps.names_fd, &key, &slot, BPF_NOEXIST) ? -errno : 0;
}

int identity__cgroup_count(const struct identity *id)
{
	return id->ncgroup_ids;
}

void identity__event(struct identity *id, const struct sw_event *e)
{
	char name[SW_NAME_LEN], tenant[TENANT_NAME_MAX];
	enum identity_source src;
	struct proc_data d;
	__u32 slot, start;
	__u64 starts;

	if (e->type == SW_EV_ROOT) {
		add_root(id, e->pid, e->slot);
		return;
	}
	if (e->type != SW_EV_EXEC || (pid_t)e->pid == id->self)
		return;
	if (read_proc(id, e->pid, false, &d))
		return; /* exited before we looked */
	src = identity__classify_tenant(
		id->cfg, &d.info, (1u << IDENTITY_CGROUP) | (1u << IDENTITY_COMMAND), name, tenant);
	if (src == IDENTITY_NONE)
		return;
	note_tenant(id, name, tenant);
	slot = identity__slot(id, name);
	if (src == IDENTITY_CGROUP)
		bpf_map_update_elem(id->maps.cgroups_fd, &e->cgroup_id, &slot, BPF_ANY);
	if (slot == e->slot)
		return;
	if (tag_process(id, e->pid, slot, true) <= 0)
		return;
	if (slot == SW_SLOT_OTHER)
		count_fold(id);
	add_root(id, e->pid, slot);
	start = slot;
	if (!bpf_map_lookup_elem(id->maps.user_starts_fd, &start, &starts)) {
		starts++;
		bpf_map_update_elem(id->maps.user_starts_fd, &start, &starts, BPF_ANY);
	}
}
