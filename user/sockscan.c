// SPDX-License-Identifier: MIT
/*
 * Adoption of the TCP connections that agents held before the daemon
 * started. The kernel gives a socket its owner at connect() or, for one
 * already open, at its first send or receive, and counts a connection in
 * tcp_opened only when it becomes ESTABLISHED under its eyes: one opened
 * before the start would never be counted (nor its close), and the role of
 * a lazily owned one is a guess from who wrote first.
 *
 * At start, once the /proc scan has tagged the agents' processes, this
 * takes a copy of each established TCP socket they hold (pidfd_getfd) and
 * writes its owner into the `socks` socket storage, marked ESTABLISHED so
 * that the kernel counts its close, and ADOPTED; the open goes into the
 * daemon-written `user_opened` array, which the collector adds to
 * tcp_opened. The /proc/PID/net/tcp and tcp6 tables of each network
 * namespace say which of a process's sockets are established TCP ones
 * (only those are copied) and which ports the namespace listens on (a
 * socket on such a port is a server's).
 */
#include <bpf/bpf.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"
#include "sockscan.h"

#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

#define MAX_ADOPT 65536 /* sockets adopted per run */
#define MAX_TABLE (1u << 20) /* established sockets read per network namespace */
#define MAX_NETNS 4096 /* network namespaces read per run */
#define PROC_TCP_ESTABLISHED 0x01 /* "st" column of /proc/net/tcp */
#define PROC_TCP_LISTEN 0x0a
/* sl: local:PORT remote:port ST tx:rx tr:when retrnsmt uid probes INODE ... */
#define PROC_TCP_LINE " %*u: %*[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%*x %x %*x:%*x %*x:%*x %*x %*u %*d %llu"

/* An established TCP socket of a namespace, from its /proc/net/tcp line. */
struct tcp_sock {
	__u64 inode;
	__u16 lport; /* local port, host order */
	bool done; /* adopted, or found with an owner already: not tried again */
};

/* The TCP sockets of one network namespace. */
struct netns {
	__u64 ino; /* inode of /proc/PID/ns/net */
	struct tcp_sock *socks; /* established, sorted by inode */
	size_t nsocks, socks_cap;
	__u16 *listen; /* listening ports, sorted */
	size_t nlisten, listen_cap;
};

struct scan {
	const struct identity_maps *maps;
	__u32 *live; /* per slot: open connections with an owner, counted open */
	__u32 nslots;
	bool partial; /* some sockets or processes were not looked at */
	struct netns *ns;
	size_t nns, ns_cap;
	char net_cgroups[1024]; /* the daemon's own, see same_net_cgroups() */
	int adopted; /* sockets */
	int failed; /* sockets that could not be copied or written */
	int procs; /* processes that had at least one adopted */
};

static int pidfd_open(pid_t pid, unsigned flags)
{
	return syscall(SYS_pidfd_open, pid, flags);
}

static int pidfd_getfd(int pidfd, int fd)
{
	return syscall(SYS_pidfd_getfd, pidfd, fd, 0);
}

static int cmp_sock(const void *a, const void *b)
{
	const struct tcp_sock *x = a, *y = b;

	return (x->inode > y->inode) - (x->inode < y->inode);
}

static int cmp_port(const void *a, const void *b)
{
	return (int)*(const __u16 *)a - (int)*(const __u16 *)b;
}

static struct tcp_sock *find_sock(struct netns *ns, __u64 inode)
{
	struct tcp_sock key = {.inode = inode};

	if (!ns->nsocks)
		return NULL;
	return bsearch(&key, ns->socks, ns->nsocks, sizeof(key), cmp_sock);
}

static bool is_listening(const struct netns *ns, __u16 port)
{
	return ns->nlisten &&
	       bsearch(&port, ns->listen, ns->nlisten, sizeof(port), cmp_port) != NULL;
}

/* Grows *arr (of *cap elements of size) to hold at least n + 1; -ENOMEM on failure. */
static int reserve(void **arr, size_t *cap, size_t n, size_t size)
{
	size_t c = *cap ? *cap * 2 : 64;
	void *p;

	if (n < *cap)
		return 0;
	p = realloc(*arr, c * size);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = c;
	return 0;
}

/* Adds the established and listening sockets of /proc/PID/net/<file> to ns. */
static int read_table(struct netns *ns, pid_t pid, const char *file)
{
	char path[64], line[512];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/net/%s", pid, file);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long inode;
		unsigned lport, st;

		if (sscanf(line, PROC_TCP_LINE, &lport, &st, &inode) != 3)
			continue; /* the header */
		if (st == PROC_TCP_LISTEN) {
			if (reserve((void **)&ns->listen, &ns->listen_cap, ns->nlisten,
				    sizeof(*ns->listen)))
				break;
			ns->listen[ns->nlisten++] = lport;
		} else if (st == PROC_TCP_ESTABLISHED && inode && ns->nsocks < MAX_TABLE) {
			if (reserve((void **)&ns->socks, &ns->socks_cap, ns->nsocks,
				    sizeof(*ns->socks)))
				break;
			ns->socks[ns->nsocks++] =
				(struct tcp_sock){.inode = inode, .lport = lport, .done = false};
		}
	}
	fclose(f);
	return 0;
}

/* The TCP table of pid's network namespace, read on first use; NULL if pid is gone. */
static struct netns *netns_of(struct scan *sc, pid_t pid)
{
	struct netns *ns;
	char path[64];
	struct stat st;
	size_t i;

	snprintf(path, sizeof(path), "/proc/%d/ns/net", pid);
	if (stat(path, &st))
		return NULL;
	for (i = 0; i < sc->nns; i++)
		if (sc->ns[i].ino == st.st_ino)
			return &sc->ns[i];
	if (sc->nns == MAX_NETNS || reserve((void **)&sc->ns, &sc->ns_cap, sc->nns, sizeof(*ns)))
		return NULL;
	ns = &sc->ns[sc->nns];
	memset(ns, 0, sizeof(*ns));
	ns->ino = st.st_ino;
	/* tcp6 is absent when IPv6 is off; tcp only when the process is gone. */
	if (read_table(ns, pid, "tcp")) {
		free(ns->socks);
		free(ns->listen);
		return NULL;
	}
	read_table(ns, pid, "tcp6");
	if (ns->nsocks)
		qsort(ns->socks, ns->nsocks, sizeof(*ns->socks), cmp_sock);
	if (ns->nlisten)
		qsort(ns->listen, ns->nlisten, sizeof(*ns->listen), cmp_port);
	sc->nns++;
	return ns;
}

static bool has_token(const char *list, const char *token)
{
	size_t n = strlen(token);
	const char *p;

	for (p = list; (p = strstr(p, token)); p += n)
		if ((p == list || p[-1] == ',') && (p[n] == ',' || !p[n]))
			return true;
	return false;
}

/* The cgroup v1 net_cls and net_prio lines of /proc/PID/cgroup ("" if none); -errno if gone. */
static int net_cgroups(pid_t pid, char *out, size_t size)
{
	char path[64], line[1024];
	size_t len = 0;
	FILE *f;

	out[0] = 0;
	snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *ctrl = strchr(line, ':'), *end = ctrl ? strchr(ctrl + 1, ':') : NULL;
		size_t n;

		if (!end)
			continue;
		*end = 0;
		if (!has_token(ctrl + 1, "net_cls") && !has_token(ctrl + 1, "net_prio"))
			continue;
		*end = ':';
		n = strlen(ctrl + 1);
		if (len + n >= size)
			break;
		memcpy(out + len, ctrl + 1, n + 1);
		len += n;
	}
	fclose(f);
	return 0;
}

/*
 * Whether pid sits in the daemon's own cgroup v1 net_cls and net_prio
 * cgroups (trivially so on cgroup v2). Receiving a socket fd re-stamps the
 * socket with the receiver's classid and priority index (__receive_sock),
 * which would move an agent's traffic out of its traffic-control class:
 * such processes are left alone.
 */
static bool same_net_cgroups(const struct scan *sc, pid_t pid)
{
	char mine[sizeof(sc->net_cgroups)];

	return !net_cgroups(pid, mine, sizeof(mine)) && !strcmp(mine, sc->net_cgroups);
}

/* The TCP state of socket fd, or -1. */
static int tcp_state(int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) || len < 1)
		return -1;
	return ti.tcpi_state;
}

/* Whether fd is a TCP socket over IPv4 or IPv6 in ESTABLISHED. */
static bool is_established_tcp(int fd)
{
	int domain, proto;
	socklen_t len = sizeof(int);

	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) ||
	    (domain != AF_INET && domain != AF_INET6))
		return false;
	len = sizeof(int);
	if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len) || proto != IPPROTO_TCP)
		return false;
	/* Not LISTEN, nor half-closed: its close would never pass through ESTABLISHED. */
	return tcp_state(fd) == TCP_ESTABLISHED;
}

/* Fills the peer of v from getpeername(fd); -errno when it has none. */
static int fill_peer(int fd, struct sw_sock *v)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getpeername(fd, (struct sockaddr *)&ss, &len))
		return -errno;
	if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;

		v->dport = ntohs(a->sin_port);
		v->daddr[0] = a->sin_addr.s_addr;
	} else if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;

		v->dport = ntohs(a->sin6_port);
		if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr)) {
			/* An IPv4 peer on an IPv6 socket: labelled as IPv4, as the kernel side does. */
			memcpy(v->daddr, &a->sin6_addr.s6_addr[12], 4);
			v->family = AF_INET;
			return 0;
		}
		memcpy(v->daddr, &a->sin6_addr, sizeof(v->daddr));
	} else {
		return -EAFNOSUPPORT;
	}
	v->family = ss.ss_family;
	return 0;
}

/*
 * Gives the socket at fd in the process of pidfd, inode `inode`, its owner.
 * Returns 1 if adopted, 0 if it already had an owner or is no longer an
 * established TCP socket, -errno if it could not be copied or written.
 */
static int adopt_socket(struct scan *sc, int pidfd, int fd, __u64 inode, __u32 slot, bool server)
{
	const struct identity_maps *maps = sc->maps;
	struct sw_sock v;
	struct stat st;
	int sfd, err = 0;

	sfd = pidfd_getfd(pidfd, fd);
	if (sfd < 0)
		return errno == EBADF ? 0 : -errno; /* EBADF: closed meanwhile */
	/* The fd may have been closed and reused since /proc listed it. */
	if (fstat(sfd, &st) || st.st_ino != inode || !is_established_tcp(sfd))
		goto out_close;
	memset(&v, 0, sizeof(v));
	v.slot = slot;
	if (bpf_map_lookup_elem(maps->slot_gen_fd, &slot, &v.gen))
		v.gen = 0;
	v.flags = SW_SOCK_ESTABLISHED | SW_SOCK_ADOPTED;
	v.role = server ? SW_ROLE_SERVER : SW_ROLE_CLIENT;
	if (fill_peer(sfd, &v))
		goto out_close;
	/* Key: the daemon's own fd of the socket. */
	if (bpf_map_update_elem(maps->socks_fd, &sfd, &v, BPF_NOEXIST)) {
		err = errno == EEXIST ? 0 : -errno;
		/* Owned already: open in the kernel's count if it saw it established. */
		if (!err && !bpf_map_lookup_elem(maps->socks_fd, &sfd, &v) &&
		    (v.flags & SW_SOCK_ESTABLISHED) && v.slot < sc->nslots)
			sc->live[v.slot]++;
		goto out_close;
	}
	/*
	 * It may have left ESTABLISHED since the check above. Its close was
	 * then counted if and only if the kernel found our flag (and cleared
	 * it): count the open in that case only.
	 */
	if (tcp_state(sfd) == TCP_ESTABLISHED) {
		err = 1;
		if (slot < sc->nslots)
			sc->live[slot]++;
	} else
		err = !bpf_map_lookup_elem(maps->socks_fd, &sfd, &v) &&
		      !(v.flags & SW_SOCK_ESTABLISHED);
out_close:
	close(sfd);
	return err;
}

/* Adds n to the daemon-counted opens of slot. */
static void count_opened(const struct identity_maps *maps, __u32 slot, __u64 n)
{
	__u64 opened = 0;

	bpf_map_lookup_elem(maps->user_opened_fd, &slot, &opened);
	opened += n;
	if (bpf_map_update_elem(maps->user_opened_fd, &slot, &opened, BPF_ANY))
		pr_debug("sockscan: cannot count %llu connections of slot %u: %s",
			 (unsigned long long)n, slot, strerror(errno));
}

/* Adopts the established TCP sockets of process pid (pidfd) in ns; returns how many. */
static int adopt_fds(struct scan *sc, pid_t pid, int pidfd, struct netns *ns, __u32 slot)
{
	struct dirent *de;
	char path[64];
	int n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	d = opendir(path);
	if (!d)
		return 0; /* exited */
	while ((de = readdir(d)) && sc->adopted + n < MAX_ADOPT) {
		unsigned long long inode;
		struct tcp_sock *s;
		char link[64];
		ssize_t len;
		int ret;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		len = readlinkat(dirfd(d), de->d_name, link, sizeof(link) - 1);
		if (len <= 0)
			continue;
		link[len] = 0;
		if (sscanf(link, "socket:[%llu]", &inode) != 1)
			continue;
		s = find_sock(ns, inode);
		if (!s || s->done)
			continue; /* not established TCP, or seen in another process */
		ret = adopt_socket(sc, pidfd, atoi(de->d_name), inode, slot,
				   is_listening(ns, s->lport));
		if (ret < 0) {
			pr_debug("sockscan: cannot adopt socket %llu of process %d: %s", inode, pid,
				 strerror(-ret));
			sc->failed++;
			continue;
		}
		s->done = true;
		n += ret;
	}
	closedir(d);
	return n;
}

/* Adopts the sockets of process pid if it is tracked. */
static void scan_process(struct scan *sc, pid_t pid)
{
	struct netns *ns;
	struct sw_task t;
	int pidfd, n;

	pidfd = pidfd_open(pid, 0);
	if (pidfd < 0)
		return; /* exited, or not a process */
	if (bpf_map_lookup_elem(sc->maps->tasks_fd, &pidfd, &t))
		goto out_pidfd; /* not tracked */
	ns = netns_of(sc, pid);
	if (!ns || !ns->nsocks)
		goto out_pidfd;
	if (!same_net_cgroups(sc, pid)) {
		pr_debug("sockscan: process %d is in another net_cls/net_prio cgroup: skipped",
			 pid);
		sc->partial = true;
		goto out_pidfd;
	}
	n = adopt_fds(sc, pid, pidfd, ns, t.sys.slot);
	if (n > 0) {
		count_opened(sc->maps, t.sys.slot, n);
		sc->adopted += n;
		sc->procs++;
	}
out_pidfd:
	close(pidfd);
}

/*
 * Sets each slot's active count (tcp_opened + user_opened - tcp_closed) to
 * the connections found open, through user_opened. Only lowers it: a
 * higher count than the scan found means connections that closed while no
 * daemon ran (their close went uncounted). Counters are unsigned and only
 * their difference is exported, so user_opened may wrap below zero.
 */
static void reconcile(struct scan *sc, struct kernel *k)
{
	struct sw_agent_stats *st = calloc(sc->nslots, sizeof(*st));
	int n = st ? kernel__read_stats(k, sc->nslots, st) : -ENOMEM;
	__u32 slot, fixed = 0;

	for (slot = 0; n > 0 && slot < (__u32)n; slot++) {
		__u64 user = kernel__user_opened(k, slot);
		__u64 active = st[slot].tcp_opened + user - st[slot].tcp_closed;

		if ((__s64)active <= (__s64)sc->live[slot])
			continue;
		user -= active - sc->live[slot];
		if (!bpf_map_update_elem(sc->maps->user_opened_fd, &slot, &user, BPF_ANY))
			fixed += active - sc->live[slot];
	}
	if (fixed)
		pr_info("sockscan: %u connections counted open by an earlier run had closed since; "
			"active connections corrected",
			fixed);
	free(st);
}

int sockscan__adopt(const struct identity_maps *maps, struct kernel *k)
{
	struct scan sc = {.maps = maps, .nslots = SW_MAX_AGENTS_LIMIT + 1};
	pid_t self = getpid();
	struct dirent *de;
	size_t i;
	DIR *dir;

	dir = opendir("/proc");
	if (!dir) {
		int err = -errno;

		pr_warn("sockscan: cannot read /proc: %s", strerror(-err));
		return err;
	}
	sc.live = calloc(sc.nslots, sizeof(*sc.live));
	if (!sc.live) {
		closedir(dir);
		return -ENOMEM;
	}
	net_cgroups(self, sc.net_cgroups, sizeof(sc.net_cgroups));
	while ((de = readdir(dir)) && sc.adopted < MAX_ADOPT) {
		pid_t pid = atoi(de->d_name);

		if (pid > 0 && pid != self)
			scan_process(&sc, pid);
	}
	closedir(dir);
	for (i = 0; i < sc.nns; i++) {
		free(sc.ns[i].socks);
		free(sc.ns[i].listen);
	}
	free(sc.ns);
	if (sc.failed)
		pr_warn("sockscan: %d open connections of agents not adopted (-v says why)",
			sc.failed);
	if (!sc.failed && !sc.partial && sc.adopted < MAX_ADOPT)
		reconcile(&sc, k);
	free(sc.live);
	pr_info("sockscan: adopted %d open TCP connections of %d agent processes%s", sc.adopted,
		sc.procs, sc.adopted >= MAX_ADOPT ? " (the limit per start)" : "");
	return sc.adopted;
}
