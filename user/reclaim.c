// SPDX-License-Identifier: MIT
/*
 * Reclaiming the slots of retired agents (see reclaim.h for the steps and
 * why they make reuse safe).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "identity.h"
#include "kernel.h"
#include "log.h"
#include "reclaim.h"

/* An idle slot that something still carried is looked at again after this long. */
#define RECHECK_NS (10 * 1000000000ULL)

enum slot_state {
	SLOT_LIVE = 0, /* published: its name resolves to it */
	SLOT_DRAINING, /* step 1 done: its name no longer resolves to it */
};

struct slot {
	enum slot_state state;
	char name[SW_NAME_LEN]; /* while draining: the name to put back if it is still carried */
	__u64 next_check; /* an idle slot is not looked at before this (monotonic ns) */
};

struct reclaim {
	__u32 nslots;
	struct slot *slots;
	__u64 *tasks; /* scratch: tasks per slot */
	__u64 freed; /* slots freed since start */
	bool warned;
};

struct reclaim *reclaim__new(__u32 nslots)
{
	struct reclaim *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->nslots = nslots;
	r->slots = calloc(nslots, sizeof(*r->slots));
	r->tasks = calloc(nslots, sizeof(*r->tasks));
	if (!r->slots || !r->tasks) {
		reclaim__free(r);
		errno = ENOMEM;
		return NULL;
	}
	return r;
}

void reclaim__free(struct reclaim *r)
{
	if (!r)
		return;
	free(r->slots);
	free(r->tasks);
	free(r);
}

__u64 reclaim__count(const struct reclaim *r)
{
	return r ? r->freed : 0;
}

/* Whether this tick has anything to do: a slot in step 2, or an idle one due a look. */
static bool work_due(const struct reclaim *r, const bool *idle, __u64 now)
{
	__u32 s;

	for (s = 1; s < r->nslots; s++)
		if (r->slots[s].state == SLOT_DRAINING ||
		    (idle[s] && now >= r->slots[s].next_check))
			return true;
	return false;
}

int reclaim__tick(struct reclaim *r, struct kernel *k, struct identity *id, const bool *idle,
		  __u64 now, __u32 *freed)
{
	int n = 0, err;
	__u32 s;

	if (!work_due(r, idle, now))
		return 0;
	err = kernel__count_slot_tasks(k, r->nslots, r->tasks);
	if (err < 0) {
		if (err != -ENOTSUP && !r->warned)
			pr_warn("identity: cannot count the tasks of each slot: %s; slots are not "
				"reclaimed this tick",
				strerror(-err));
		r->warned = true;
		return err;
	}
	/* Step 2 first, so that a slot spends at least one tick draining. */
	for (s = 1; s < r->nslots; s++) {
		struct slot *sl = &r->slots[s];

		if (sl->state != SLOT_DRAINING)
			continue;
		sl->state = SLOT_LIVE;
		if (r->tasks[s]) {
			err = sl->name[0] ? identity__publish(id, s, sl->name) : 0;
			pr_debug("identity: slot %u (\"%s\") is still in use; kept%s", s, sl->name,
				 err ? ", but its name has another slot now" : "");
			sl->next_check = now + RECHECK_NS;
			continue;
		}
		err = kernel__release_slot(k, s);
		if (err) {
			pr_warn("identity: cannot release slot %u (\"%s\"): %s", s, sl->name,
				strerror(-err));
			if (sl->name[0])
				identity__publish(id, s, sl->name);
			sl->next_check = now + RECHECK_NS;
			continue;
		}
		pr_debug("identity: slot %u of retired agent \"%s\" is free", s, sl->name);
		freed[n++] = s;
		r->freed++;
		/* Not this tick again: the caller's idle[] is about its old agent. */
		sl->next_check = now + 1;
	}
	/* Names that folded for want of a slot may have one at their next exec. */
	if (n)
		identity__forget_folded(id);
	/* Step 1 for idle slots that nothing carries. */
	for (s = 1; s < r->nslots; s++) {
		struct slot *sl = &r->slots[s];
		if (!idle[s] || sl->state != SLOT_LIVE || now < sl->next_check)
			continue;
		if (r->tasks[s]) {
			sl->next_check = now + RECHECK_NS;
			continue;
		}
		err = identity__unpublish(id, s, sl->name);
		if (err == -ENOENT) {
			sl->name[0] = 0; /* no name resolves to it already */
		} else if (err) {
			sl->next_check = now + RECHECK_NS; /* a live cgroup maps to it */
			continue;
		}
		err = kernel__retire_slot(k, s);
		if (err) {
			pr_warn("identity: cannot retire slot %u (\"%s\"): %s", s, sl->name,
				strerror(-err));
			if (sl->name[0])
				identity__publish(id, s, sl->name);
			sl->next_check = now + RECHECK_NS;
			continue;
		}
		sl->state = SLOT_DRAINING;
	}
	return n;
}
