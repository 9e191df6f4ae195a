/* SPDX-License-Identifier: MIT */
/*
 * tenancy: which agents a tenant-restricted token sees. An identity rule's "tenant" gives the
 * agents it names a tenant; a bearer token's "tenants" lists those it may see. The filters here
 * cut a JSON answer or a /metrics page down to the agents a token sees; pure (no I/O) so that
 * they are unit-tested and fuzzed alone.
 */
#ifndef SW_TENANCY_H
#define SW_TENANCY_H

#include <jansson.h>
#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "swarmwatch.h"

#define TENANT_NAME_MAX SW_NAME_LEN

/* The tenant an identity rule gave an agent name. */
struct agent_tenant {
	char agent[SW_NAME_LEN];
	char tenant[TENANT_NAME_MAX];
};

/* What one request may see: the token's tenants over the agents' tenants. */
struct tenancy_filter {
	const char (*tenants)[TENANT_NAME_MAX]; /* the token's, ntenants of them */
	int ntenants;
	const struct agent_tenant *table; /* sorted by agent (tenancy__sort), ntable of them */
	int ntable;
	/*
	 * The agent of incident id, for the ids an incident's "linked" lists; NULL (or no
	 * callback) when unknown, and an id of an unknown agent is cut. ctx is incident_ctx.
	 */
	const char *(*incident_agent)(const void *ctx, uint64_t id);
	const void *incident_ctx;
};

/* Sorts table[0..n) by agent name, as tenancy__of() and the filter need. */
void tenancy__sort(struct agent_tenant *table, int n);

/* The tenant of agent in table[0..n) (sorted), or NULL when no rule gave it one. */
const char *tenancy__of(const struct agent_tenant *table, int n, const char *agent);

/*
 * Whether f lets its request see agent: f NULL (an unrestricted request) sees every agent; a
 * restricted one sees only agents whose tenant is one of its tenants. An agent without a tenant
 * (named by the marker, by a rule without "tenant", or remembered by the store alone) is seen
 * by unrestricted requests only.
 */
bool tenancy__visible(const struct tenancy_filter *f, const char *agent);

/*
 * Cuts the JSON document doc of an API answer down to what f sees, in place. In every array,
 * an object that names an agent ("agent", "pool" (a pool is an agent), "labels"."agent" or
 * "matchers"."agent") stays when f sees that agent; an object that names none stays only
 * inside an object that named a seen agent (an agent's upstreams), so host-wide entries and
 * aggregates over agents (costliest upstreams, silences without an agent matcher) go. An
 * incident's "linked" ids stay only for incidents of agents f sees (f->incident_agent). Returns
 * 0, or -ENOENT when doc's root (or its "incident") names an agent f does not see: answer as
 * for one that does not exist.
 */
int tenancy__filter_json(json_t *doc, const struct tenancy_filter *f);

/*
 * The same on a JSON text: a malloc'd filtered copy of text, or NULL with errno ENOENT (as
 * above), EINVAL (text is not JSON) or ENOMEM.
 */
char *tenancy__filter_text(const char *text, const struct tenancy_filter *f);

/*
 * Appends to out the lines of the Prometheus text page[0..len) that f sees: samples with an
 * agent (or pool) label of a seen agent, with their family's HELP and TYPE lines. Samples
 * without either label (host-wide: BPF programs, drops, the store, counts over every agent)
 * and families left without samples go. Returns 0, or -ENOMEM (out->failed).
 */
int tenancy__filter_metrics(const char *page, size_t len, const struct tenancy_filter *f,
			    struct buf *out);

#endif
