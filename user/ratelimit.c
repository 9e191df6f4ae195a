// SPDX-License-Identifier: MIT
/* Per-client token buckets in a fixed table (ratelimit.h). No I/O, no clock of its own. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "ratelimit.h"

/* Slots a key may land in, from its hash on: the table's neighbourhood. */
#define PROBES 8

struct bucket {
	unsigned char key[16];
	unsigned char len; /* 0: free */
	double tokens;
	__u64 last_ns; /* when tokens was computed */
};

struct ratelimit {
	pthread_mutex_t lock;
	double rate, burst;
	size_t mask;
	struct bucket *b;
};

struct ratelimit *ratelimit__new(double rate, double burst, size_t slots)
{
	struct ratelimit *rl;
	size_t n = 8;

	if (!(rate > 0) || !(burst >= 1))
		return NULL;
	while (n < slots && n < ((size_t)1 << 24))
		n <<= 1;
	rl = calloc(1, sizeof(*rl));
	if (!rl)
		return NULL;
	rl->b = calloc(n, sizeof(*rl->b));
	if (!rl->b) {
		free(rl);
		return NULL;
	}
	pthread_mutex_init(&rl->lock, NULL);
	rl->rate = rate;
	rl->burst = burst;
	rl->mask = n - 1;
	return rl;
}

void ratelimit__free(struct ratelimit *rl)
{
	if (!rl)
		return;
	pthread_mutex_destroy(&rl->lock);
	free(rl->b);
	free(rl);
}

/* FNV-1a over the key. */
static size_t hash(const unsigned char *k, size_t len)
{
	size_t h = 1469598103934665603ULL;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ k[i]) * 1099511628211ULL;
	return h;
}

int ratelimit__take(struct ratelimit *rl, const void *key, size_t len, __u64 now_ns,
		    unsigned *retry_s)
{
	struct bucket *b = NULL, *victim = NULL;
	size_t h, i;
	double need;
	int ret = 0;

	if (len > sizeof(b->key))
		len = sizeof(b->key);
	h = hash(key, len);
	pthread_mutex_lock(&rl->lock);
	for (i = 0; i < PROBES; i++) {
		struct bucket *c = &rl->b[(h + i) & rl->mask];

		if (c->len == len && !memcmp(c->key, key, len)) {
			b = c;
			break;
		}
		if (!c->len) {
			if (!victim || victim->len)
				victim = c;
		} else if (!victim || (victim->len && c->last_ns < victim->last_ns)) {
			victim = c;
		}
	}
	if (!b) {
		/* A new client, or one forgotten: it starts with a full bucket. */
		b = victim;
		memcpy(b->key, key, len);
		b->len = len;
		b->tokens = rl->burst;
		b->last_ns = now_ns;
	}
	if (now_ns > b->last_ns) {
		b->tokens += (now_ns - b->last_ns) / 1e9 * rl->rate;
		if (b->tokens > rl->burst)
			b->tokens = rl->burst;
		b->last_ns = now_ns;
	}
	if (b->tokens >= 1) {
		b->tokens -= 1;
	} else {
		need = (1 - b->tokens) / rl->rate;
		*retry_s = need < 1 ? 1 : (unsigned)ceil(need);
		ret = -EAGAIN;
	}
	pthread_mutex_unlock(&rl->lock);
	return ret;
}

int ratelimit__peek(struct ratelimit *rl, const void *key, size_t len, __u64 now_ns,
		    unsigned *retry_s)
{
	size_t h, i;
	double tokens, need;
	int ret = 0;

	if (len > sizeof(rl->b[0].key))
		len = sizeof(rl->b[0].key);
	h = hash(key, len);
	pthread_mutex_lock(&rl->lock);
	for (i = 0; i < PROBES; i++) {
		struct bucket *c = &rl->b[(h + i) & rl->mask];

		if (c->len != len || memcmp(c->key, key, len))
			continue;
		tokens = c->tokens;
		if (now_ns > c->last_ns)
			tokens += (now_ns - c->last_ns) / 1e9 * rl->rate;
		if (tokens < 1) {
			need = (1 - tokens) / rl->rate;
			*retry_s = need < 1 ? 1 : (unsigned)ceil(need);
			ret = -EAGAIN;
		}
		break;
	}
	pthread_mutex_unlock(&rl->lock);
	return ret;
}
