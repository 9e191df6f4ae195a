// SPDX-License-Identifier: MIT
/*
 * docs/openapi.yaml describes exactly the route table of http.c: every route has its path and
 * method there with the scope it needs (x-scope), and every operation there is a route.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "http.h"
#include "webconfig.h"

#define MAX_OPS 64

struct op {
	char path[128];
	char method[8]; /* upper case */
	char scope[16];
	bool matched;
};

static struct op ops[MAX_OPS];
static int nops;

static const char *scalar(yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static yaml_node_t *get(yaml_document_t *d, yaml_node_t *map, const char *key)
{
	yaml_node_pair_t *p;

	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		const char *k = scalar(yaml_document_get_node(d, p->key));

		if (k && !strcmp(k, key))
			return yaml_document_get_node(d, p->value);
	}
	return NULL;
}

/* Reads every operation of docs/openapi.yaml into ops[]. */
static int setup(void **state)
{
	const char *top = getenv("SW_TOP");
	yaml_node_pair_t *p, *q;
	yaml_document_t doc;
	yaml_parser_t parser;
	yaml_node_t *paths;
	char file[512];
	FILE *f;

	(void)state;
	snprintf(file, sizeof(file), "%s/docs/openapi.yaml", top ? top : ".");
	f = fopen(file, "r");
	if (!f) {
		fprintf(stderr, "cannot open %s (run from the top of the tree)\n", file);
		return -1;
	}
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_file(&parser, f);
	if (!yaml_parser_load(&parser, &doc)) {
		fprintf(stderr, "%s: line %zu: %s\n", file, parser.problem_mark.line + 1,
			parser.problem);
		return -1;
	}
	paths = get(&doc, yaml_document_get_root_node(&doc), "paths");
	if (!paths || paths->type != YAML_MAPPING_NODE)
		return -1;
	for (p = paths->data.mapping.pairs.start; p < paths->data.mapping.pairs.top; p++) {
		yaml_node_t *item = yaml_document_get_node(&doc, p->value);

		for (q = item->data.mapping.pairs.start; q < item->data.mapping.pairs.top; q++) {
			const char *m = scalar(yaml_document_get_node(&doc, q->key));
			const char *scope = scalar(
				get(&doc, yaml_document_get_node(&doc, q->value), "x-scope"));
			int i;

			if (!m || nops == MAX_OPS)
				return -1;
			snprintf(ops[nops].path, sizeof(ops[0].path), "%s",
				 scalar(yaml_document_get_node(&doc, p->key)));
			for (i = 0; m[i] && i < 7; i++)
				ops[nops].method[i] = m[i] - 'a' + 'A';
			snprintf(ops[nops].scope, sizeof(ops[0].scope), "%s", scope ? scope : "");
			nops++;
		}
	}
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	fclose(f);
	return 0;
}

/* A prefix route ("/api/v1/silences/") stands for the documented paths with a parameter after it. */
static bool same_path(const struct http_route *r, const char *path)
{
	if (!r->prefix)
		return !strcmp(r->path, path);
	return !strncmp(path, r->path, strlen(r->path)) && path[strlen(r->path)] == '{';
}

static void test_routes_documented(void **state)
{
	struct http_route routes[MAX_OPS];
	size_t n = http__routes(routes, MAX_OPS), i;
	char want[32];
	int j, found;

	(void)state;
	assert_true(n > 10 && n <= MAX_OPS);
	assert_true(nops > 10);
	/* A prefix route may serve several documented paths: each needs the route's scope. */
	for (i = 0; i < n; i++) {
		found = -1;
		if (routes[i].scope == WEB_SCOPE_NONE)
			snprintf(want, sizeof(want), "none");
		else
			webconfig__scope_names(routes[i].scope, want, sizeof(want));
		for (j = 0; j < nops; j++) {
			if (!same_path(&routes[i], ops[j].path) ||
			    strcmp(routes[i].method, ops[j].method))
				continue;
			found = j;
			ops[j].matched = true;
			if (strcmp(ops[j].scope, want))
				fail_msg("%s %s: x-scope is \"%s\" in docs/openapi.yaml, the route "
					 "needs %s",
					 ops[j].method, ops[j].path, ops[j].scope, want);
		}
		if (found < 0)
			fail_msg("route %s %s%s is not in docs/openapi.yaml", routes[i].method,
				 routes[i].path, routes[i].prefix ? "{id}" : "");
	}
	for (j = 0; j < nops; j++)
		if (!ops[j].matched)
			fail_msg("docs/openapi.yaml has %s %s, which no route serves",
				 ops[j].method, ops[j].path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_routes_documented),
	};

	return cmocka_run_group_tests_name("routes", tests, setup, NULL);
}
