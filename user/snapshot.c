// SPDX-License-Identifier: MIT
/* Snapshots: reference counts, destructors of their views, and the publication slot. */
#include <stdlib.h>
#include <time.h>

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
	if (s->breakers && s->breakers_free)
		s->breakers_free(s->breakers);
	if (s->scale && s->scale_free)
		s->scale_free(s->scale);
	if (s->apps && s->apps_free)
		s->apps_free(s->apps);
	if (s->llm && s->llm_free)
		s->llm_free(s->llm);
	if (s->cost && s->cost_free)
		s->cost_free(s->cost);
	if (s->incidents && s->incidents_free)
		s->incidents_free(s->incidents);
	free(s->agents);
	free(s->requests);
	free(s->instances);
	free(s->tenants);
	free(s);
}

void snapshot__slot_init(struct snapshot_slot *slot)
{
	pthread_condattr_t a;

	pthread_mutex_init(&slot->lock, NULL);
	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(&slot->published, &a);
	pthread_condattr_destroy(&a);
	slot->current = NULL;
	slot->seq = 0;
}

void snapshot__slot_fini(struct snapshot_slot *slot)
{
	snapshot__put(slot->current);
	slot->current = NULL;
	pthread_cond_destroy(&slot->published);
	pthread_mutex_destroy(&slot->lock);
}

void snapshot__publish(struct snapshot_slot *slot, struct snapshot *s)
{
	struct snapshot *old;

	pthread_mutex_lock(&slot->lock);
	old = slot->current;
	slot->current = s;
	slot->seq++;
	pthread_cond_broadcast(&slot->published);
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

__u64 snapshot__wait(struct snapshot_slot *slot, __u64 seen, int timeout_ms)
{
	struct timespec until;
	__u64 seq;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&slot->lock);
	while (slot->seq == seen &&
	       pthread_cond_timedwait(&slot->published, &slot->lock, &until) == 0)
		;
	seq = slot->seq;
	pthread_mutex_unlock(&slot->lock);
	return seq;
}

void snapshot__release(struct snapshot *s)
{
	snapshot__put(s);
}
