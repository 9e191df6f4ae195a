// SPDX-License-Identifier: MIT
/* Tenant restriction of API answers and /metrics pages: see tenancy.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tenancy.h"

static int cmp_agent(const void *a, const void *b)
{
	return strcmp(((const struct agent_tenant *)a)->agent,
		      ((const struct agent_tenant *)b)->agent);
}

void tenancy__sort(struct agent_tenant *table, int n)
{
	if (n > 1)
		qsort(table, n, sizeof(*table), cmp_agent);
}

const char *tenancy__of(const struct agent_tenant *table, int n, const char *agent)
{
	struct agent_tenant key;
	const struct agent_tenant *hit;

	if (!table || n <= 0 || !agent || strlen(agent) >= sizeof(key.agent))
		return NULL;
	strcpy(key.agent, agent);
	hit = bsearch(&key, table, n, sizeof(*table), cmp_agent);
	return hit ? hit->tenant : NULL;
}

bool tenancy__visible(const struct tenancy_filter *f, const char *agent)
{
	const char *t;
	int i;

	if (!f)
		return true;
	t = tenancy__of(f->table, f->ntable, agent);
	for (i = 0; t && i < f->ntenants; i++)
		if (!strcmp(f->tenants[i], t))
			return true;
	return false;
}

static const char *string_at(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* The agent object o names, or NULL. */
static const char *named_agent(json_t *o)
{
	const char *s;

	if ((s = string_at(o, "agent")) || (s = string_at(o, "pool")) ||
	    (s = string_at(json_object_get(o, "labels"), "agent")) ||
	    (s = string_at(json_object_get(o, "matchers"), "agent")))
		return s;
	return NULL;
}

/* Cuts from an incident's "linked" array the ids of incidents of agents f does not see. */
static void filter_linked(json_t *ids, const struct tenancy_filter *f)
{
	const char *agent;
	json_t *x;
	size_t i;

	for (i = json_array_size(ids); i-- > 0;) {
		x = json_array_get(ids, i);
		agent = json_is_integer(x) && json_integer_value(x) > 0 && f->incident_agent
				? f->incident_agent(f->incident_ctx,
						    (uint64_t)json_integer_value(x))
				: NULL;
		if (!agent || !tenancy__visible(f, agent))
			json_array_remove(ids, i);
	}
}

/* inside: v is within an object that named an agent f sees. */
static void filter(json_t *v, const struct tenancy_filter *f, bool inside)
{
	const char *key, *agent;
	json_t *x;
	size_t i;

	if (json_is_object(v)) {
		json_object_foreach (v, key, x) {
			if (!strcmp(key, "linked") && json_is_array(x))
				filter_linked(x, f);
			else
				filter(x, f, inside);
		}
		return;
	}
	if (!json_is_array(v))
		return;
	for (i = json_array_size(v); i-- > 0;) {
		x = json_array_get(v, i);
		if (!json_is_object(x)) {
			filter(x, f, inside);
			continue;
		}
		agent = named_agent(x);
		if (agent ? !tenancy__visible(f, agent) : !inside)
			json_array_remove(v, i);
		else
			filter(x, f, true);
	}
}

int tenancy__filter_json(json_t *doc, const struct tenancy_filter *f)
{
	const char *key, *agent;
	json_t *x;

	if (!f)
		return 0;
	agent = named_agent(doc);
	if (agent && !tenancy__visible(f, agent))
		return -ENOENT;
	if (json_is_object(doc))
		json_object_foreach (doc, key, x) {
			if (!json_is_object(x))
				continue;
			agent = named_agent(x);
			if (agent && !tenancy__visible(f, agent))
				return -ENOENT;
		}
	filter(doc, f, agent != NULL);
	return 0;
}

char *tenancy__filter_text(const char *text, const struct tenancy_filter *f)
{
	json_t *doc = json_loads(text, JSON_ALLOW_NUL, NULL);
	char *out;
	int err;

	if (!doc) {
		errno = EINVAL;
		return NULL;
	}
	err = tenancy__filter_json(doc, f);
	/* 15 digits give back the numbers the answers write (at most 15 significant) as written. */
	out = err ? NULL : json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(15));
	json_decref(doc);
	errno = err ? -err : out ? 0 : ENOMEM;
	return out;
}

/*
 * The value of the agent (or pool) label of the sample line[0..len), unescaped into out; false
 * when it has neither, or the line is not a sample of the text format.
 */
static bool sample_agent(const char *line, size_t len, char out[SW_NAME_LEN])
{
	const char *p = memchr(line, '{', len), *end = line + len;
	size_t n, o;

	if (!p)
		return false;
	p++;
	while (p < end && *p != '}') {
		const char *eq = memchr(p, '=', end - p);
		bool want;

		if (!eq || eq + 1 >= end || eq[1] != '"')
			return false;
		n = eq - p;
		want = (n == 5 && !memcmp(p, "agent", 5)) || (n == 4 && !memcmp(p, "pool", 4));
		for (p = eq + 2, o = 0; p < end && *p != '"'; p++) {
			char c = *p;

			if (c == '\\' && p + 1 < end) {
				c = *++p;
				if (c == 'n')
					c = '\n';
			}
			if (o < SW_NAME_LEN - 1)
				out[o] = c;
			o++;
		}
		if (p >= end)
			return false;
		if (want) {
			if (o >= SW_NAME_LEN)
				return false; /* longer than any agent name */
			out[o] = 0;
			return true;
		}
		p++; /* the closing quote */
		if (p < end && *p == ',')
			p++;
	}
	return false;
}

int tenancy__filter_metrics(const char *page, size_t len, const struct tenancy_filter *f,
			    struct buf *out)
{
	const char *p = page, *end = page + len, *nl;
	char agent[SW_NAME_LEN];
	struct buf head; /* the comment lines of the current family, until a sample is seen */
	const char *family = NULL; /* its name, in page, after "# HELP " or "# TYPE " */
	size_t flen = 0;
	bool after_sample = true;

	buf__init(&head);
	for (; p < end; p = nl + 1) {
		size_t n;

		nl = memchr(p, '\n', end - p);
		if (!nl)
			nl = end;
		n = nl - p;
		if (!n)
			continue;
		if (p[0] == '#') {
			if (after_sample) { /* a new family's comments */
				out->failed |= head.failed;
				buf__reset(&head);
				family = NULL;
			}
			after_sample = false;
			if (n > 7 && (!memcmp(p, "# HELP ", 7) || !memcmp(p, "# TYPE ", 7))) {
				family = p + 7;
				flen = strcspn(family, " \n");
			}
			buf__append(&head, p, n);
			buf__putc(&head, '\n');
			continue;
		}
		after_sample = true;
		/* A sample of another family than the comments before it: they are not its. */
		if (head.len && (!family || n < flen || memcmp(p, family, flen)))
			buf__reset(&head);
		if (!sample_agent(p, n, agent) || !tenancy__visible(f, agent))
			continue;
		out->failed |= head.failed;
		if (head.len)
			buf__append(out, head.data, head.len);
		buf__reset(&head);
		buf__append(out, p, n);
		buf__putc(out, '\n');
	}
	out->failed |= head.failed;
	buf__free(&head);
	return out->failed ? -ENOMEM : 0;
}
