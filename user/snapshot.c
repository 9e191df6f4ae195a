// SPDX-License-Identifier: MIT
/* Snapshots: reference counts, destructors of their views, and the publication slot. */
#include <stdlib.h>

#include "snapshot.h"

struct snapshot *snapshot__new(void)
{
	struct snapshot *s = calloc(1, sizeof(*s));

	if (s)
		s->refs = 1;
	return s;
}

void snapshot__get(struct snapshot *s)
{
	__atomic_add_fetch(&s->refs, 1, __ATOMIC_ACQ_REL);
}

void snapshot__put(struct snapshot *s)
{
	if (!s || __atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL))
		return;
	if (s->anomalies && s->anomalies_free)
		s->anomalies_free(s->anomalies);
	if (s->alerts && s->alerts_free)
		s->alerts_free(s->alerts);
	if (s->apps && s->apps_free)
		s->apps_free(s->apps);
	free(s->agents);
	free(s->requests);
	free(s);
}

void snapshot__slot_init(struct snapshot_slot *slot)
{
	pthread_mutex_init(&slot->lock, NULL);
	slot->current = NULL;
}

void snapshot__slot_fini(struct snapshot_slot *slot)
{
	snapshot__put(slot->current);
	slot->current = NULL;
	pthread_mutex_destroy(&slot->lock);
}

void snapshot__publish(struct snapshot_slot *slot, struct snapshot *s)
{
	struct snapshot *old;

	pthread_mutex_lock(&slot->lock);
	old = slot->current;
	slot->current = s;
	pthread_mutex_unlock(&slot->lock);
	snapshot__put(old);
}

struct snapshot *snapshot__acquire(struct snapshot_slot *slot)
{
	struct snapshot *s;

	pthread_mutex_lock(&slot->lock);
	s = slot->current;
	if (s)
		snapshot__get(s);
	pthread_mutex_unlock(&slot->lock);
	return s;
}

void snapshot__release(struct snapshot *s)
{
	snapshot__put(s);
}
