// SPDX-License-Identifier: MIT
/* The StatsD listener thread: sockets, attribution of senders, the tick's batch. */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <dirent.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "ingest.h"
#include "log.h"
#include "statsd.h"

#define BURST 32 /* datagrams read per recvmmsg call */
#define PID_CACHE 1024 /* pid -> slot, entries */
#define PORT_CACHE 1024 /* UDP source port -> slot, entries */
#define PID_TTL_NS 1000000000ULL
#define PORT_TTL_NS 5000000000ULL /* a port's owner found through /proc */
#define OWNER_TTL_NS 100000000ULL /* ... read from `udp_owners`: bounds a reused port's error */
#define SCANS_PER_S 20 /* /proc scans for an unknown UDP port, at most, per second */
#define SENDERS_LOGGED 64 /* senders whose last malformed-line log time is kept */
#define LOG_EVERY_NS 60000000000ULL

enum { T_UDP, T_UNIX };

struct cache_entry {
	__u32 key; /* pid or port; 0 free */
	__u32 slot;
	__u64 expires; /* monotonic ns */
	__u32 by; /* enum apps_by: how the slot was found */
};

struct logged {
	__u32 key; /* pid (Unix) or port | 1 << 31 (UDP) */
	__u64 last; /* monotonic ns */
};

struct ingest {
	int fd[2]; /* UDP, Unix; -1 when off */
	int stop_fd; /* eventfd */
	int udp_port;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int tasks_fd;
	int owners_fd; /* `udp_owners`, -1: UDP senders found through /proc */
	__u32 netns; /* inode number of this process's net namespace, the UDP socket's */
	const struct apps_params *ap;
	pthread_t thread;
	bool started;

	pthread_mutex_t lock; /* guards cur and spare: the swap */
	struct apps_batch *cur; /* the listener adds here */
	struct apps_batch *spare; /* given back by the tick, next to become cur */

	/* Touched by the listener thread only. */
	struct cache_entry pids[PID_CACHE];
	struct cache_entry ports[PORT_CACHE];
	struct logged logged[SENDERS_LOGGED];
	__u64 scan_window; /* second of the current /proc scan budget */
	int scans; /* scans in it */
	char bufs[BURST][STATSD_DATAGRAM_MAX];

	/* Written by the listener, read by the tick: relaxed atomics. */
	__u64 datagrams[2];
	__u64 malformed;
	__u64 oversized;
	__u64 by[APPS_BY_MAX];
};

static void count(__u64 *c, __u64 n)
{
	__atomic_add_fetch(c, n, __ATOMIC_RELAXED);
}

/* The agent slot of process pid from the kernel's `tasks` map, SW_SLOT_NONE when untracked. */
static __u32 slot_of_pid(struct ingest *g, pid_t pid, __u64 now)
{
	struct cache_entry *c = &g->pids[(__u32)pid % PID_CACHE];
	struct sw_task t;
	__u32 slot = SW_SLOT_NONE;
	int fd;

	if (pid <= 0 || g->tasks_fd < 0)
		return SW_SLOT_NONE;
	if (c->key == (__u32)pid && c->expires > now)
		return c->slot;
	fd = syscall(SYS_pidfd_open, pid, 0);
	if (fd >= 0) {
		if (!bpf_map_lookup_elem(g->tasks_fd, &fd, &t))
			slot = t.sys.slot;
		close(fd);
	}
	*c = (struct cache_entry){.key = pid, .slot = slot, .expires = now + PID_TTL_NS};
	return slot;
}

/* The inode of the UDP socket bound to local port `port`, from /proc/net/udp{,6}; 0 if none. */
static unsigned long udp_inode(int port)
{
	static const char *const files[] = {"/proc/net/udp", "/proc/net/udp6"};
	unsigned long inode = 0;
	char line[512];
	size_t i;

	for (i = 0; i < 2 && !inode; i++) {
		FILE *f = fopen(files[i], "re");

		if (!f)
			continue;
		while (fgets(line, sizeof(line), f)) {
			char *colon = strchr(line, ':'), *p;
			unsigned int lport;
			unsigned long ino;

			/* "  sl  local_address rem_address st tx:rx tr:tm retrnsmt uid timeout inode" */
			if (!colon || !(p = strchr(colon + 1, ':')) ||
			    sscanf(p + 1, "%x %*s %*s %*s %*s %*s %*s %*s %lu", &lport, &ino) != 2)
				continue;
			if ((int)lport == port) {
				inode = ino;
				break;
			}
		}
		fclose(f);
	}
	return inode;
}

/* The process with a descriptor of socket inode, by its /proc/PID/fd links; 0 if none. */
static pid_t inode_owner(unsigned long inode)
{
	char want[64], path[600], link[64];
	struct dirent *pe, *fe;
	pid_t owner = 0;
	DIR *proc, *fds;

	snprintf(want, sizeof(want), "socket:[%lu]", inode);
	proc = opendir("/proc");
	if (!proc)
		return 0;
	while (!owner && (pe = readdir(proc))) {
		if (pe->d_name[0] < '1' || pe->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/fd", pe->d_name);
		fds = opendir(path);
		if (!fds)
			continue;
		while ((fe = readdir(fds))) {
			ssize_t n;

			if (fe->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "/proc/%s/fd/%s", pe->d_name, fe->d_name);
			n = readlink(path, link, sizeof(link) - 1);
			if (n <= 0)
				continue;
			link[n] = 0;
			if (!strcmp(link, want)) {
				owner = atoi(pe->d_name);
				break;
			}
		}
		closedir(fds);
	}
	closedir(proc);
	return owner;
}

pid_t ingest__udp_port_owner(int port)
{
	unsigned long inode = udp_inode(port);

	return inode ? inode_owner(inode) : 0;
}

/*
 * The agent slot of the last tracked task that sent from UDP port `port` in this namespace, as
 * the kernel recorded it before the datagram was delivered (ingest.bpf.c); SW_SLOT_NONE when the
 * last sender was not tracked.
 */
static __u32 slot_of_owner(struct ingest *g, int port)
{
	struct sw_udp_key key = {.netns = g->netns, .port = port};
	struct sw_udp_owner v;

	if (bpf_map_lookup_elem(g->owners_fd, &key, &v))
		return SW_SLOT_NONE;
	return v.slot;
}

/* The agent slot of the process holding UDP source port `port`, and how it was found. */
static __u32 slot_of_port(struct ingest *g, int port, __u64 now, __u32 *by)
{
	struct cache_entry *c = &g->ports[(__u32)port % PORT_CACHE];
	__u32 slot = SW_SLOT_NONE;
	pid_t pid;

	if (c->key == (__u32)port && c->expires > now) {
		*by = c->by;
		return c->slot;
	}
	if (g->owners_fd >= 0) {
		slot = slot_of_owner(g, port);
		*by = slot == SW_SLOT_NONE ? APPS_BY_NONE : APPS_BY_KERNEL;
		*c = (struct cache_entry){
			.key = port, .slot = slot, .expires = now + OWNER_TTL_NS, .by = *by};
		return slot;
	}
	*by = APPS_BY_NONE;
	if (now / 1000000000ULL != g->scan_window) {
		g->scan_window = now / 1000000000ULL;
		g->scans = 0;
	}
	if (g->scans >= SCANS_PER_S)
		return SW_SLOT_NONE; /* over budget: not cached, looked at again next second */
	g->scans++;
	pid = ingest__udp_port_owner(port);
	if (pid)
		slot = slot_of_pid(g, pid, now);
	*by = slot == SW_SLOT_NONE ? APPS_BY_NONE : APPS_BY_PROC;
	*c = (struct cache_entry){
		.key = port, .slot = slot, .expires = now + PORT_TTL_NS, .by = *by};
	return slot;
}

/* Logs a malformed line, once a minute per sender. */
static void log_malformed(struct ingest *g, __u32 key, const char *who, const char *line,
			  size_t len, const char *why, __u64 now)
{
	struct logged *l = &g->logged[key % SENDERS_LOGGED];

	if (l->key == key && now - l->last < LOG_EVERY_NS)
		return;
	l->key = key;
	l->last = now;
	pr_warn("statsd: malformed line from %s: %s: \"%.*s\" (format name:value|type, see "
		"README; logged once a minute per sender)",
		who, why, (int)(len > 80 ? 80 : len), line);
}

/* The sender of a datagram (pid, or UDP source port) and its agent slot; counts how found. */
static void sender_of(struct ingest *g, int t, const struct msghdr *h,
		      const struct sockaddr_storage *from, __u32 *sender, __u32 *slot, __u64 now)
{
	__u32 by = APPS_BY_NONE;
	struct cmsghdr *c;

	*sender = 0;
	if (t == T_UNIX) {
		for (c = CMSG_FIRSTHDR(h); c; c = CMSG_NXTHDR((struct msghdr *)h, c)) {
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
				struct ucred u;

				memcpy(&u, CMSG_DATA(c), sizeof(u));
				*sender = u.pid;
			}
		}
		*slot = slot_of_pid(g, *sender, now);
		count(&g->by[*slot == SW_SLOT_NONE ? APPS_BY_NONE : APPS_BY_CREDENTIALS], 1);
		return;
	}
	if (from->ss_family == AF_INET)
		*sender = ntohs(((const struct sockaddr_in *)from)->sin_port);
	else if (from->ss_family == AF_INET6)
		*sender = ntohs(((const struct sockaddr_in6 *)from)->sin6_port);
	*slot = *sender ? slot_of_port(g, *sender, now, &by) : SW_SLOT_NONE;
	count(&g->by[by], 1);
}

static void ingest_datagram(struct ingest *g, struct apps_batch *b, const char *buf, size_t n,
			    int transport, __u32 sender, __u32 slot, __u64 now)
{
	struct statsd_metric m;
	const char *line, *why;
	size_t pos = 0, len;
	__u64 bad = 0;

	while (statsd__next_line(buf, n, &pos, &line, &len)) {
		if (statsd__parse_line(line, len, &m, &why)) {
			char who[48];

			bad++;
			snprintf(who, sizeof(who), transport == T_UNIX ? "pid %u" : "udp port %u",
				 sender);
			log_malformed(g, transport == T_UNIX ? sender : sender | 1u << 31, who,
				      line, len, why, now);
			continue;
		}
		apps__batch_add(b, g->ap, slot, &m);
	}
	if (bad)
		count(&g->malformed, bad);
}

/* Reads what is queued on socket g->fd[t], BURST datagrams at a time; -errno on error. */
static int drain(struct ingest *g, int t)
{
	char ctl[BURST][CMSG_SPACE(sizeof(struct ucred))];
	struct sockaddr_storage from[BURST];
	struct mmsghdr msgs[BURST];
	struct iovec iov[BURST];
	__u32 senders[BURST], slots[BURST];
	int i, n;

	for (;;) {
		__u64 now;

		memset(msgs, 0, sizeof(msgs));
		for (i = 0; i < BURST; i++) {
			iov[i] = (struct iovec){g->bufs[i], STATSD_DATAGRAM_MAX};
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
			msgs[i].msg_hdr.msg_name = &from[i];
			msgs[i].msg_hdr.msg_namelen = sizeof(from[i]);
			if (t == T_UNIX) {
				msgs[i].msg_hdr.msg_control = ctl[i];
				msgs[i].msg_hdr.msg_controllen = sizeof(ctl[i]);
			}
		}
		n = recvmmsg(g->fd[t], msgs, BURST, MSG_DONTWAIT, NULL);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -errno;
		now = clock__mono_ns();
		count(&g->datagrams[t], n);
		/* Senders first, outside the lock: a /proc scan must not hold up the tick. */
		for (i = 0; i < n; i++)
			sender_of(g, t, &msgs[i].msg_hdr, &from[i], &senders[i], &slots[i], now);
		pthread_mutex_lock(&g->lock);
		for (i = 0; i < n; i++) {
			if (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) {
				count(&g->oversized, 1);
				continue;
			}
			ingest_datagram(g, g->cur, g->bufs[i], msgs[i].msg_len, t, senders[i],
					slots[i], now);
		}
		pthread_mutex_unlock(&g->lock);
		if (n < BURST)
			return 0;
	}
}

static void *run(void *arg)
{
	struct ingest *g = arg;
	struct pollfd p[3];
	int i, err;

	for (i = 0; i < 2; i++)
		p[i] = (struct pollfd){.fd = g->fd[i], .events = POLLIN};
	p[2] = (struct pollfd){.fd = g->stop_fd, .events = POLLIN};
	for (;;) {
		if (poll(p, 3, -1) < 0 && errno != EINTR) {
			pr_warn("statsd: poll failed: %s; the listener stops", strerror(errno));
			return NULL;
		}
		if (p[2].revents)
			return NULL;
		for (i = 0; i < 2; i++) {
			if (!(p[i].revents & POLLIN))
				continue;
			err = drain(g, i);
			if (err)
				pr_warn("statsd: reading the %s socket failed: %s",
					i ? "unix" : "udp", strerror(-err));
		}
	}
}

/*
 * A 4 MiB receive queue, so that a burst waits while the listener is busy: past rmem_max with
 * CAP_NET_ADMIN, else as much as rmem_max allows.
 */
static void big_buffer(int fd)
{
	int size = 4 << 20;

	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)))
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
}

static int bind_udp(struct ingest *g, const char *spec, char *err, size_t errlen)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
				 .ai_socktype = SOCK_DGRAM,
				 .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV};
	char host[128], *colon;
	struct addrinfo *res;
	struct sockaddr_storage a;
	socklen_t alen = sizeof(a);
	int rc, fd;

	snprintf(host, sizeof(host), "%s", spec);
	colon = strrchr(host, ':');
	if (!colon) {
		snprintf(err, errlen, "statsd.udp \"%s\": must be ADDR:PORT, like 127.0.0.1:8125",
			 spec);
		return -EINVAL;
	}
	*colon = 0;
	if (host[0] == '[' && colon[-1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = 0;
	}
	rc = getaddrinfo(host, colon + 1, &hints, &res);
	if (rc) {
		snprintf(err, errlen, "statsd.udp \"%s\": %s (give a numeric loopback address)",
			 spec, gai_strerror(rc));
		return -EINVAL;
	}
	if (!((res->ai_family == AF_INET &&
	       (ntohl(((struct sockaddr_in *)res->ai_addr)->sin_addr.s_addr) >> 24) == 127) ||
	      (res->ai_family == AF_INET6 &&
	       IN6_IS_ADDR_LOOPBACK(&((struct sockaddr_in6 *)res->ai_addr)->sin6_addr)))) {
		snprintf(err, errlen,
			 "statsd.udp \"%s\": not a loopback address (senders are found on this "
			 "host only: use 127.0.0.1 or [::1])",
			 spec);
		freeaddrinfo(res);
		return -EINVAL;
	}
	fd = socket(res->ai_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || bind(fd, res->ai_addr, res->ai_addrlen)) {
		rc = -errno;
		snprintf(err, errlen,
			 "statsd.udp %s: %s (is another StatsD server running? set "
			 "statsd.udp to another port, or \"\" to turn UDP off)",
			 spec, strerror(-rc));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(res);
		return rc;
	}
	freeaddrinfo(res);
	big_buffer(fd);
	if (!getsockname(fd, (struct sockaddr *)&a, &alen))
		g->udp_port = ntohs(a.ss_family == AF_INET
					    ? ((struct sockaddr_in *)&a)->sin_port
					    : ((struct sockaddr_in6 *)&a)->sin6_port);
	g->fd[T_UDP] = fd;
	return 0;
}

static int mkdirs(const char *dir)
{
	char p[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *s;

	snprintf(p, sizeof(p), "%s", dir);
	for (s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		if (mkdir(p, 0755) && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	if (mkdir(p, 0755))
		return errno == EEXIST ? 0 : -errno;
	/* Made here: reachable by every user whatever the umask (a service's may be 0077). */
	return chmod(p, 0755) ? -errno : 0;
}

static int bind_unix(struct ingest *g, const char *path, char *err, size_t errlen)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	char dir[sizeof(a.sun_path)], *slash;
	struct stat st;
	int fd, rc, one = 1;

	if (path[0] != '/' || strlen(path) >= sizeof(a.sun_path)) {
		snprintf(err, errlen,
			 "statsd.socket \"%s\": must be an absolute path shorter than "
			 "%zu bytes",
			 path, sizeof(a.sun_path));
		return -EINVAL;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	*slash = 0;
	if (dir[0] && (rc = mkdirs(dir))) {
		snprintf(err, errlen, "statsd.socket %s: cannot create %s: %s", path, dir,
			 strerror(-rc));
		return rc;
	}
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	if (!lstat(path, &st) && S_ISSOCK(st.st_mode)) {
		/* Another listener's, or left by a swarmwatch that did not stop cleanly. */
		fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		rc = fd >= 0 && !connect(fd, (struct sockaddr *)&a, sizeof(a));
		if (fd >= 0)
			close(fd);
		if (rc) {
			snprintf(err, errlen,
				 "statsd.socket %s: another process listens on it (set "
				 "statsd.socket to another path, or \"\" to turn it off)",
				 path);
			return -EADDRINUSE;
		}
		unlink(path);
	}
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a))) {
		rc = -errno;
		snprintf(err, errlen,
			 "statsd.socket %s: %s (set statsd.socket to another path, "
			 "or \"\" to turn it off)",
			 path, strerror(-rc));
		if (fd >= 0)
			close(fd);
		return rc;
	}
	chmod(path, 0666);
	setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one));
	big_buffer(fd);
	snprintf(g->path, sizeof(g->path), "%s", path);
	g->fd[T_UNIX] = fd;
	return 0;
}

struct ingest *ingest__start(const struct ingest_params *p, char *err, size_t errlen)
{
	struct ingest *g = calloc(1, sizeof(*g));
	struct stat st;
	int rc;

	err[0] = 0;
	if (!g) {
		snprintf(err, errlen, "statsd: out of memory");
		return NULL;
	}
	g->fd[0] = g->fd[1] = g->stop_fd = -1;
	g->tasks_fd = p->tasks_fd;
	g->owners_fd = p->udp_owners_fd;
	if (g->owners_fd >= 0 && !stat("/proc/self/ns/net", &st)) {
		g->netns = st.st_ino;
	} else if (g->owners_fd >= 0) {
		pr_warn("statsd: cannot read this process's net namespace: %s; UDP senders will be "
			"attributed through /proc",
			strerror(errno));
		g->owners_fd = -1;
	}
	g->ap = p->apps;
	pthread_mutex_init(&g->lock, NULL);
	g->cur = apps__batch_new();
	g->spare = apps__batch_new();
	g->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (!g->cur || !g->spare || g->stop_fd < 0) {
		snprintf(err, errlen, "statsd: out of memory");
		goto fail;
	}
	/* A transport that cannot bind is left off with a warning; the other one still runs. */
	if (p->udp && p->udp[0] && bind_udp(g, p->udp, err, errlen))
		pr_warn("%s; StatsD over UDP is off", err);
	if (p->socket && p->socket[0] && bind_unix(g, p->socket, err, errlen))
		pr_warn("%s; StatsD over the Unix socket is off", err);
	if (g->fd[T_UDP] < 0 && g->fd[T_UNIX] < 0) {
		snprintf(err, errlen, "statsd: no socket to listen on; app metrics are off");
		goto fail;
	}
	err[0] = 0;
	rc = pthread_create(&g->thread, NULL, run, g);
	if (rc) {
		snprintf(err, errlen, "statsd: cannot start the listener thread: %s", strerror(rc));
		goto fail;
	}
	g->started = true;
	pr_info("statsd: listening on %s%s%s%s", g->fd[T_UDP] >= 0 ? p->udp : "",
		g->fd[T_UDP] < 0    ? ""
		: g->owners_fd >= 0 ? " (UDP senders found by the kernel: udp_owners)"
				    : " (UDP senders found through /proc)",
		g->fd[T_UDP] >= 0 && g->fd[T_UNIX] >= 0 ? " and " : "", g->path);
	return g;
fail:
	ingest__stop(g);
	return NULL;
}

void ingest__stop(struct ingest *g)
{
	int i;

	if (!g)
		return;
	if (g->started) {
		if (eventfd_write(g->stop_fd, 1))
			pr_warn("statsd: cannot wake the listener: %s", strerror(errno));
		pthread_join(g->thread, NULL);
	}
	for (i = 0; i < 2; i++)
		if (g->fd[i] >= 0)
			close(g->fd[i]);
	if (g->path[0])
		unlink(g->path);
	if (g->stop_fd >= 0)
		close(g->stop_fd);
	apps__batch_free(g->cur);
	apps__batch_free(g->spare);
	pthread_mutex_destroy(&g->lock);
	free(g);
}

struct apps_batch *ingest__take(struct ingest *g)
{
	struct apps_batch *b, *next = NULL;

	pthread_mutex_lock(&g->lock);
	next = g->spare;
	g->spare = NULL;
	pthread_mutex_unlock(&g->lock);
	if (!next)
		next = apps__batch_new(); /* the last batch was not given back */
	if (!next)
		return NULL;
	pthread_mutex_lock(&g->lock);
	b = g->cur;
	g->cur = next;
	pthread_mutex_unlock(&g->lock);
	return b;
}

void ingest__recycle(struct ingest *g, struct apps_batch *b)
{
	if (!b)
		return;
	apps__batch_reset(b);
	pthread_mutex_lock(&g->lock);
	if (g->spare) {
		pthread_mutex_unlock(&g->lock);
		apps__batch_free(b);
		return;
	}
	g->spare = b;
	pthread_mutex_unlock(&g->lock);
}

void ingest__stats(struct ingest *g, struct ingest_stats *st)
{
	int i;

	for (i = 0; i < 2; i++)
		st->datagrams[i] = __atomic_load_n(&g->datagrams[i], __ATOMIC_RELAXED);
	st->malformed = __atomic_load_n(&g->malformed, __ATOMIC_RELAXED);
	st->oversized = __atomic_load_n(&g->oversized, __ATOMIC_RELAXED);
	for (i = 0; i < APPS_BY_MAX; i++)
		st->by[i] = __atomic_load_n(&g->by[i], __ATOMIC_RELAXED);
}

int ingest__udp_port(const struct ingest *g)
{
	return g->udp_port;
}
