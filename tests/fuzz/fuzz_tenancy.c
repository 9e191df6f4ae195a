// SPDX-License-Identifier: MIT
/*
 * Fuzz target: the tenant filters on any bytes. As JSON, the filtered document parses, and no
 * object in it names ("agent", "pool") an agent of another tenant in an array; as a /metrics
 * page, the filtered page is made of lines of the input and filtering it again changes
 * nothing.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tenancy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct agent_tenant table[] = {{"a1", "blue"}, {"a2", "blue"}, {"r1", "red"}};
static const char mine[][TENANT_NAME_MAX] = {"blue"};

/* Incidents: odd ids are a1's, even ids r1's, 0 and ids over 100 unknown. */
static const char *incident_agent(const void *ctx, uint64_t id)
{
	(void)ctx;
	return !id || id > 100 ? NULL : id % 2 ? "a1" : "r1";
}

static const struct tenancy_filter f = {mine, 1, table, 3, incident_agent, NULL};

/*
 * Whether an array in v holds an object naming an agent f does not see, or (linked: v is the
 * value of a "linked" key) the id of an incident of such an agent.
 */
static int leaks_in(json_t *v, int linked)
{
	const char *key;
	json_t *x;
	size_t i;

	if (json_is_object(v)) {
		json_object_foreach (v, key, x)
			if (leaks_in(x, !strcmp(key, "linked")))
				return 1;
		return 0;
	}
	if (!json_is_array(v))
		return 0;
	json_array_foreach (v, i, x) {
		const char *who = json_string_value(json_object_get(x, "agent"));

		/* An id that survives in an array of linked incidents is one of a seen agent. */
		if (json_is_integer(x) && linked &&
		    !(json_integer_value(x) > 0 && json_integer_value(x) <= 100 &&
		      json_integer_value(x) % 2))
			return 1;

		if (!who)
			who = json_string_value(json_object_get(x, "pool"));
		if ((who && !tenancy__visible(&f, who)) || leaks_in(x, 0))
			return 1;
	}
	return 0;
}

static int leaks(json_t *v)
{
	return leaks_in(v, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), *out;
	struct buf a, b;
	json_t *doc;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = 0;
	out = tenancy__filter_text(text, &f);
	if (out) {
		doc = json_loads(out, 0, NULL);
		if (!doc || leaks(doc))
			abort();
		json_decref(doc);
		free(out);
	}
	buf__init(&a);
	buf__init(&b);
	if (!tenancy__filter_metrics(text, size, &f, &a) && a.data) {
		const char *p = a.data, *end = a.data + a.len, *nl;

		for (; p < end; p = nl + 1) {
			nl = memchr(p, '\n', end - p);
			if (!nl || !memmem(data, size, p, nl - p))
				abort(); /* a line that was not in the input */
		}
		if (tenancy__filter_metrics(a.data, a.len, &f, &b) ||
		    (b.len != a.len || (b.len && memcmp(a.data, b.data, a.len))))
			abort();
	}
	buf__free(&a);
	buf__free(&b);
	free(text);
	return 0;
}
