/* SPDX-License-Identifier: MIT */
#ifndef SW_IDENTITY_H
#define SW_IDENTITY_H

#include <linux/types.h>
#include <stdbool.h>
#include <sys/types.h>

#include "config.h"
#include "swarmwatch.h"
#include "tenancy.h"

/* What the rules look at for one process; NULL where unknown. */
struct proc_info {
	const char *marker; /* value of SWARMWATCH_AGENT in its environment */
	const char *cgroup; /* cgroup v2 path, "/system.slice/x.service" */
	const char *comm;
	const char *exe;
	const char *cmdline; /* arguments joined by spaces */
};

enum identity_source {
	IDENTITY_NONE = 0,
	IDENTITY_MARKER,
	IDENTITY_CGROUP,
	IDENTITY_COMMAND,
};

/*
 * Applies the rules to p, first match wins: the environment marker (when
 * enabled), cgroup rules, then command rules. When `sources` excludes a kind
 * (bit 1 << IDENTITY_x), those rules are skipped. On a match, writes the
 * agent name as text__name() makes it (valid UTF-8 without control
 * characters, at most SW_NAME_LEN - 1 bytes, cut on a character boundary)
 * and returns its source; else IDENTITY_NONE. A rule whose name expands to ""
 * does not match.
 */
enum identity_source identity__classify(const struct config *c, const struct proc_info *p,
					unsigned sources, char name[SW_NAME_LEN]);

/*
 * identity__classify(), and the tenant the matching rule gives the agent (its "tenant"
 * template expanded like the name) into tenant: "" when the rule has none or the marker named
 * the agent.
 */
enum identity_source identity__classify_tenant(const struct config *c, const struct proc_info *p,
					       unsigned sources, char name[SW_NAME_LEN],
					       char tenant[TENANT_NAME_MAX]);

#define IDENTITY_ALL ((1u << IDENTITY_MARKER) | (1u << IDENTITY_CGROUP) | (1u << IDENTITY_COMMAND))

/*
 * Expands a name template ($0..$9) over a regexec match of `subject`, then
 * makes the result a name with text__name(): captures of comm, exe, cmdline
 * or cgroup paths may hold any bytes. Returns whether the name is whole:
 * false when it was cut to SW_NAME_LEN - 1 bytes.
 */
bool identity__expand(const char *tmpl, const char *subject, const regmatch_t *m, size_t nm,
		      char name[SW_NAME_LEN]);

struct identity;

/* The BPF maps identity works on. */
struct identity_maps {
	int tasks_fd;
	int names_fd;
	int cgroups_fd;
	int user_starts_fd;
	int meta_fd;
	int socks_fd; /* socket storage: owners of TCP sockets */
	int user_opened_fd; /* connections adopted by the daemon, per slot */
	int free_slots_fd; /* queue of reclaimed slots, shared with the kernel */
	int slot_gen_fd; /* generation per slot, given to the sockets it owns */
	__u32 *slot_next; /* mapped `slot_next`, shared with the kernel */
	__u32 *tag_gen; /* mapped `tag_gen` (.bss): bumped after tagging running tasks */
};

/* Creates the runtime identity state; NULL and errno on failure. */
struct identity *identity__new(const struct config *c, const struct identity_maps *maps);
void identity__free(struct identity *id);

/*
 * Tags every process already running that the rules (or an ancestor)
 * assign to an agent, with all its threads, and records instance roots.
 * Returns the number of processes tagged.
 */
int identity__scan_proc(struct identity *id);

/* Re-reads the cgroup v2 tree and refreshes the cgroup -> agent map. */
int identity__scan_cgroups(struct identity *id);

/* Handles one ring-buffer event from the kernel. */
void identity__event(struct identity *id, const struct sw_event *e);

/* Drops instance roots that have exited. */
void identity__poll(struct identity *id);

/* Live instances (tree roots) of agent slot `slot`. */
__u32 identity__instances(const struct identity *id, __u32 slot);

/* identity__roots - the live instance roots of slot into out (at most cap); returns how many. */
int identity__roots(const struct identity *id, __u32 slot, pid_t *out, int cap);

/*
 * identity__root_of - the instance root of slot that process pid belongs to: pid itself when it
 * is a root, else the nearest ancestor that is one, by the parents in /proc (at most 64 steps).
 * Returns 0 when none (pid is gone or descends from no root of slot).
 */
pid_t identity__root_of(const struct identity *id, __u32 slot, pid_t pid);

/* Environment variable naming an instance in its root process's environment. */
#define IDENTITY_INSTANCE_ENV "SWARMWATCH_INSTANCE="

/*
 * identity__instance_name - the name of the instance rooted at pid: SWARMWATCH_INSTANCE of its
 * environment, made a name by text__name(), else pid in decimal.
 */
void identity__instance_name(pid_t pid, char name[SW_NAME_LEN]);

/* Cgroups currently mapped to an agent by cgroup rules. */
int identity__cgroup_count(const struct identity *id);

/*
 * Slot of agent `name` (made a name by text__name() first, as the kernel
 * does with the marker), allocated on first use like the kernel does: a
 * reclaimed slot from the free list if there is one, else the next never
 * used, else SW_SLOT_OTHER (a fold).
 */
__u32 identity__slot(struct identity *id, const char *name);

/*
 * First step of reclaiming slot: from now on no name resolves to it, so no
 * new process can get it (exec and the daemon's rules allocate a new slot
 * for the name). Deletes the name mapped to slot from the kernel's table
 * and writes it to name. -EBUSY when a cgroup rule's entry maps a live
 * cgroup to slot (nothing is changed), -ENOENT when no name maps to it,
 * or -errno.
 */
int identity__unpublish(struct identity *id, __u32 slot, char name[SW_NAME_LEN]);

/*
 * Deletes the names that folded into "other" from the kernel's table, so
 * that each gets a slot of its own at its next exec now that slots are
 * free again (its processes running now stay in "other"). Returns how many.
 */
int identity__forget_folded(struct identity *id);

/*
 * The tenants rules gave agent names so far (the last one when rules disagree), at most
 * IDENTITY_MAX_TENANTS, sorted by agent: a malloc'd copy into *out (NULL when none). Returns
 * how many, or -ENOMEM.
 */
int identity__tenants(const struct identity *id, struct agent_tenant **out);

#define IDENTITY_MAX_TENANTS 4096

/* Undoes identity__unpublish(): name resolves to slot again; 0, -EEXIST or -errno. */
int identity__publish(struct identity *id, __u32 slot, const char *name);

#endif
