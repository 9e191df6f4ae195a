// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Identity and lifecycle: which agent each task belongs to, process starts,
 * exits by outcome, OOM kills. Defines every shared map.
 *
 * A task is tracked when it has an entry in `tasks`. At exec the kernel
 * classifies by the SWARMWATCH_AGENT environment marker, then by cgroup
 * (ids the daemon put in `cgroup_agents`); what it cannot classify goes to
 * the daemon as an event when command rules exist. At fork the child
 * inherits its parent's slot.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#define SW_DEFINE_MAPS
#include "agent.bpf.h"
#include "compat.bpf.h"

const volatile __u32 max_agents = 256;
const volatile __u8 use_marker = 1; /* identity.marker */
const volatile __u8 have_cgroup_rules = 0;
const volatile __u8 have_command_rules = 0;

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define ENV_CHUNK 64
#define EEXIST 17

/*
 * The marker value made into a name by the rules of user/text.c: valid
 * UTF-8, each maximal ill-formed subpart and each control character replaced
 * by U+FFFD (EF BF BD), cut after the last whole character that fits in
 * SW_NAME_LEN - 1 bytes. Both sides must agree byte for byte, or a process
 * tagged at start-up and one tagged here would be two agents. One input byte
 * per step; a byte that breaks a sequence is decoded again as a lead byte.
 * The state lives in a map value, not on the stack, so that the verifier
 * checks one step instead of following every byte of every path.
 */
struct name_scan {
	char in[ENV_CHUNK]; /* a chunk of the environment, NUL-terminated */
	char name[SW_NAME_LEN];
	__u32 i; /* next byte of `in` */
	__u32 end; /* end of the value in `in` */
	__u32 start; /* first byte of the character being decoded */
	__u32 out; /* bytes of `name` written */
	__u32 cp; /* code point decoded so far */
	__u8 need; /* continuation bytes still needed */
	__u8 lo, hi; /* range of the next continuation byte */
	__u8 done;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct name_scan);
} name_scratch SEC(".maps");

/* Appends len bytes of `in` from `from` (or U+FFFD if replace); stops when full. */
static __always_inline void name_put(struct name_scan *u, __u32 from, __u32 len, int replace)
{
	__u32 k;

	if (replace)
		len = 3;
	if (u->out + len > SW_NAME_LEN - 1) {
		u->done = 1;
		return;
	}
	if (replace) {
		u->name[u->out & (SW_NAME_LEN - 1)] = (char)0xef;
		u->name[(u->out + 1) & (SW_NAME_LEN - 1)] = (char)0xbf;
		u->name[(u->out + 2) & (SW_NAME_LEN - 1)] = (char)0xbd;
	} else {
		for (k = 0; k < 4 && k < len; k++)
			u->name[(u->out + k) & (SW_NAME_LEN - 1)] =
				u->in[(from + k) & (ENV_CHUNK - 1)];
	}
	u->out += len;
}

static __always_inline int is_control(__u32 cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

/* One step over the scratch state (bpf_loop() only passes stack pointers). */
static long name_step(__u32 idx, void *unused)
{
	struct name_scan *u;
	__u32 zero = 0;
	__u8 b;

	u = bpf_map_lookup_elem(&name_scratch, &zero);
	if (!u || u->done)
		return 1;
	if (u->i >= u->end) {
		if (u->need)
			name_put(u, 0, 0, 1); /* the value ends inside a character */
		u->done = 1;
		return 1;
	}
	b = u->in[u->i & (ENV_CHUNK - 1)];
	if (u->need) {
		if (b < u->lo || b > u->hi) {
			u->need = 0;
			name_put(u, 0, 0, 1); /* b is read again as a lead byte */
			return u->done;
		}
		u->cp = u->cp << 6 | (b & 0x3f);
		u->lo = 0x80;
		u->hi = 0xbf;
		u->i++;
		if (!--u->need)
			name_put(u, u->start, u->i - u->start, is_control(u->cp));
		return u->done;
	}
	u->start = u->i++;
	u->lo = 0x80;
	u->hi = 0xbf;
	if (b < 0x80) {
		name_put(u, u->start, 1, is_control(b));
	} else if (b >= 0xc2 && b <= 0xdf) {
		u->need = 1;
		u->cp = b & 0x1f;
	} else if (b >= 0xe0 && b <= 0xef) {
		u->need = 2;
		u->cp = b & 0x0f;
		if (b == 0xe0)
			u->lo = 0xa0; /* overlong */
		if (b == 0xed)
			u->hi = 0x9f; /* surrogates */
	} else if (b >= 0xf0 && b <= 0xf4) {
		u->need = 3;
		u->cp = b & 0x07;
		if (b == 0xf0)
			u->lo = 0x90; /* overlong */
		if (b == 0xf4)
			u->hi = 0x8f; /* past U+10FFFF */
	} else {
		name_put(u, 0, 0, 1);
	}
	return u->done;
}

struct env_scan {
	__u64 p; /* next user address to read */
	__u64 end; /* end of the environment block */
	__u8 at_start; /* p is the start of an entry */
	__u8 found;
	struct sw_name name;
};

static long env_step(__u32 i, struct env_scan *c)
{
	const char marker[] = SW_ENV_MARKER;
	struct name_scan *u;
	__u32 zero = 0;
	char *buf;
	long n;
	int k;

	if (c->p >= c->end)
		return 1;
	u = bpf_map_lookup_elem(&name_scratch, &zero);
	if (!u)
		return 1;
	buf = u->in;
	n = bpf_probe_read_user_str(buf, ENV_CHUNK, (const void *)c->p);
	if (n <= 0)
		return 1;
	if (c->at_start && n > SW_ENV_MARKER_LEN + 1) {
		int match = 1;

		for (k = 0; k < SW_ENV_MARKER_LEN; k++) {
			if (buf[k] != marker[k]) {
				match = 0;
				break;
			}
		}
		if (match) {
			/* A value longer than the chunk is cut there, at 46 bytes: a
			 * name never reads more bytes than it writes, plus 3 ahead. */
			__builtin_memset(u->name, 0, sizeof(u->name));
			u->i = SW_ENV_MARKER_LEN;
			u->end = n - 1;
			u->out = 0;
			u->need = 0;
			u->done = 0;
			bpf_loop(2 * ENV_CHUNK, name_step, NULL, 0);
			__builtin_memcpy(c->name.name, u->name, sizeof(u->name));
			c->found = 1;
			return 1;
		}
	}
	/* A full chunk may end mid-entry; anything shorter ended at a NUL. */
	if (n < ENV_CHUNK) {
		c->p += n;
		c->at_start = 1;
	} else {
		c->p += ENV_CHUNK - 1;
		c->at_start = 0;
	}
	return 0;
}

/* Reads the current task's environment for the marker; 1 and the name if present. */
static __always_inline int env_marker(struct task_struct *t, struct sw_name *name)
{
	struct env_scan c = {};

	c.p = BPF_CORE_READ(t, mm, env_start);
	c.end = BPF_CORE_READ(t, mm, env_end);
	c.at_start = 1;
	bpf_loop(SW_ENV_MAX_READS, env_step, &c, 0);
	if (!c.found) {
		if (c.p < c.end)
			sw_count(SW_CNT_ENV_TRUNCATED);
		return 0;
	}
	if (!c.name.name[0])
		return 0;
	__builtin_memcpy(name, &c.name, sizeof(*name));
	return 1;
}

/*
 * Slot of agent `name`, allocating one on first sight: a slot the daemon
 * reclaimed (free_slots) if there is one, else the next never used; folds
 * past max_agents.
 */
static __always_inline __u32 slot_of_name(struct sw_name *name)
{
	__u32 zero = 0, slot, *s, *next;
	long err;

	s = bpf_map_lookup_elem(&agent_names, name);
	if (s)
		return *s;
	if (bpf_map_pop_elem(&free_slots, &slot)) {
		next = bpf_map_lookup_elem(&slot_next, &zero);
		if (!next)
			return SW_SLOT_OTHER;
		slot = __sync_fetch_and_add(next, 1);
	}
	if (slot < 1 || slot > max_agents)
		slot = SW_SLOT_OTHER;
	err = bpf_map_update_elem(&agent_names, name, &slot, BPF_NOEXIST);
	if (err == -EEXIST) {
		/* Another CPU named it first: its slot wins, ours goes back to the free list. */
		if (slot != SW_SLOT_OTHER)
			bpf_map_push_elem(&free_slots, &slot, 0);
		s = bpf_map_lookup_elem(&agent_names, name);
		if (s)
			return *s;
	} else if (err) {
		sw_count(SW_CNT_NAMES_FULL);
	}
	return slot;
}

static __always_inline void emit(__u32 type, struct task_struct *t, __u32 slot)
{
	struct sw_event *e;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		sw_count(SW_CNT_RINGBUF_FULL);
		return;
	}
	e->type = type;
	e->pid = BPF_CORE_READ(t, tgid);
	e->slot = slot;
	e->pad = 0;
	e->cgroup_id = bpf_get_current_cgroup_id();
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
}

/* The running task t just became tracked or changed agent: refresh this CPU's record. */
static __always_inline void oncpu_load(struct task_struct *t, struct sw_task *st)
{
	struct sw_cpu *c = sw_oncpu();

	if (!c)
		return;
	sw_record_flush(c, NULL); /* what is pending belongs to the slot it leaves */
	c->sys.slot = st->sys.slot;
	if (c->tid != (__u32)BPF_CORE_READ(t, pid) || !c->tracked) {
		c->sys.enter_ns = 0;
		c->sys.nr = 0;
		sw_record_stamp(c, t, true);
	}
}

static __always_inline int on_exec(void)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct sw_agent_stats *stats;
	struct sw_name name;
	struct sw_task *st;
	__u32 slot, *cs;
	__u64 ran;

	st = sw_task_of(t);
	if (use_marker && env_marker(t, &name)) {
		slot = slot_of_name(&name);
	} else {
		__u64 cg = bpf_get_current_cgroup_id();

		cs = have_cgroup_rules ? bpf_map_lookup_elem(&cgroup_agents, &cg) : NULL;
		if (!cs) {
			if (have_command_rules)
				emit(SW_EV_EXEC, t, st ? st->sys.slot : SW_SLOT_NONE);
			return 0;
		}
		slot = *cs;
	}
	if (st && st->sys.slot == slot)
		return 0; /* same agent as its parent: part of that instance */
	ran = BPF_CORE_READ(t, se.sum_exec_runtime);
	if (!st) {
		st = bpf_task_storage_get(&tasks, t, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
		if (!st) {
			sw_count(SW_CNT_TASK_STORAGE_FULL);
			return 0;
		}
	} else {
		/* Leaving another agent: it keeps the CPU time used so far. */
		stats = sw_stats(st->sys.slot);
		if (stats && ran > st->cpu_seen_ns)
			stats->cpu_ns += ran - st->cpu_seen_ns;
	}
	st->cpu_seen_ns = ran;
	st->sys.slot = slot;
	st->flags |= SW_TASK_ROOT;
	oncpu_load(t, st);
	if (slot == SW_SLOT_OTHER)
		sw_count(SW_CNT_FOLDED);
	stats = sw_stats(slot);
	if (stats)
		stats->process_starts += 1;
	emit(SW_EV_ROOT, t, slot);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(sw_exec_btf)
{
	return on_exec();
}

SEC("raw_tp/sched_process_exec")
int sw_exec_raw(void *ctx)
{
	return on_exec();
}

/* Children and threads inherit the agent; a new process counts as a start. */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(sw_fork, struct task_struct *parent, struct task_struct *child)
{
	struct sw_agent_stats *stats;
	struct sw_task *ps, *cs;
	__u32 slot;

	ps = sw_task_of(parent);
	if (!ps)
		return 0;
	slot = ps->sys.slot;
	cs = bpf_task_storage_get(&tasks, child, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!cs) {
		sw_count(SW_CNT_TASK_STORAGE_FULL);
		return 0;
	}
	cs->sys.slot = slot;
	cs->flags = 0;
	if (child->pid == child->tgid) {
		stats = sw_stats(slot);
		if (stats)
			stats->process_starts += 1;
	}
	return 0;
}

static __always_inline int on_exit(int group_dead)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct sw_agent_stats *stats;
	struct sw_task *st;
	int code, outcome;

	if (!group_dead)
		return 0;
	st = sw_task_of(t);
	if (!st)
		return 0;
	stats = sw_stats(st->sys.slot);
	if (!stats)
		return 0;
	code = BPF_CORE_READ(t, exit_code);
	if (code & 0x7f)
		outcome = SW_EXIT_SIGNAL;
	else if (code >> 8)
		outcome = SW_EXIT_ERROR;
	else
		outcome = SW_EXIT_OK;
	stats->process_exits[outcome] += 1;
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(sw_exit_btf, struct task_struct *p, bool group_dead)
{
	return on_exit(sw_group_dead(p, group_dead));
}

SEC("raw_tp/sched_process_exit")
int sw_exit_raw(__u64 *ctx)
{
	return on_exit(sw_group_dead(bpf_get_current_task_btf(), ctx[1]));
}

SEC("tp_btf/mark_victim")
int BPF_PROG(sw_oom, struct task_struct *victim)
{
	struct sw_agent_stats *stats;
	struct sw_task *st;

	st = sw_task_of(victim);
	if (!st)
		return 0;
	stats = sw_stats(st->sys.slot);
	if (stats)
		stats->oom_kills += 1;
	return 0;
}
