// SPDX-License-Identifier: MIT
/*
 * `swarmwatch query`: the history of a running daemon, through its HTTP API
 * (/api/v1/query_range, /api/v1/series, /api/v1/agents), printed as text or as the JSON.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <jansson.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api.h"
#include "buf.h"
#include "cmd.h"
#include "http.h"

static void query_usage(FILE *f)
{
	fprintf(f, "usage: swarmwatch query [options] METRIC       samples of METRIC over a range\n"
		   "       swarmwatch query --series [METRIC]      the series the daemon keeps\n"
		   "       swarmwatch query --agents               agents, live and remembered\n"
		   "\n"
		   "Asks a running swarmwatch (GET /api/v1/...) and prints one line per point.\n"
		   "\n"
		   "options:\n"
		   "  -u, --url URL            the daemon (default http://127.0.0.1:7979)\n"
		   "  -a, --agent NAME         only this agent's series\n"
		   "  -s, --start TIME         RFC 3339 or Unix seconds (default: end - 1h)\n"
		   "  -e, --end TIME           RFC 3339 or Unix seconds (default: now)\n"
		   "  -S, --step DURATION      e.g. 15s, 1m (default: about 300 points)\n"
		   "  -r, --rate               counters as per-second rates\n"
		   "  -j, --json               print the API's JSON as it came\n"
		   "  -h, --help               this text\n"
		   "\n"
		   "SWARMWATCH_TOKEN in the environment is sent as a bearer token (a daemon with\n"
		   "a web configuration; plain HTTP only).\n");
}

/* Appends s to b, percent-encoding what a query string cannot hold as it is. */
static void put_encoded(struct buf *b, const char *s)
{
	for (; *s; s++) {
		unsigned char ch = *s;

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || strchr("-_.~:", ch))
			buf__putc(b, ch);
		else
			buf__printf(b, "%%%02X", ch);
	}
}

static void put_param(struct buf *b, const char *name, const char *value, bool *first)
{
	if (!value)
		return;
	buf__printf(b, "%c%s=", *first ? '?' : '&', name);
	*first = false;
	put_encoded(b, value);
}

/* GET path from base URL http://HOST:PORT; the body in *body, the status code returned. */
static int http_get(const char *url, const char *path, char **body)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL, *ai;
	char host[256], port[16], chunk[4096], *p;
	struct buf resp;
	int fd = -1, rc, status = -1;
	ssize_t n;

	if (strncmp(url, "http://", 7) ||
	    http__split_listen(url + 7, host, sizeof(host), port, sizeof(port))) {
		fprintf(stderr, "swarmwatch: error: query: --url \"%s\" is not http://HOST:PORT\n",
			url);
		return -EINVAL;
	}
	rc = getaddrinfo(host, port, &hints, &res);
	if (rc) {
		fprintf(stderr, "swarmwatch: error: query: %s: %s\n", host, gai_strerror(rc));
		return -EINVAL;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd >= 0 && !connect(fd, ai->ai_addr, ai->ai_addrlen))
			break;
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		fprintf(stderr,
			"swarmwatch: error: query: cannot connect to %s: %s (is swarmwatch run "
			"serving there? see --url)\n",
			url, strerror(errno));
		return -ECONNREFUSED;
	}
	buf__init(&resp);
	buf__printf(&resp, "GET %s HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n", path, host);
	/* A daemon with a web configuration: a bearer token with the read scope. */
	if (getenv("SWARMWATCH_TOKEN") && getenv("SWARMWATCH_TOKEN")[0])
		buf__printf(&resp, "Authorization: Bearer %s\r\n", getenv("SWARMWATCH_TOKEN"));
	buf__puts(&resp, "\r\n");
	if (resp.failed || write(fd, resp.data, resp.len) != (ssize_t)resp.len) {
		fprintf(stderr, "swarmwatch: error: query: sending to %s failed\n", url);
		goto out;
	}
	resp.len = 0;
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		buf__append(&resp, chunk, n);
	buf__putc(&resp, 0);
	if (resp.failed || sscanf(resp.data, "HTTP/%*s %d", &status) != 1 ||
	    !(p = strstr(resp.data, "\r\n\r\n"))) {
		fprintf(stderr, "swarmwatch: error: query: %s sent no HTTP answer\n", url);
		status = -EPROTO;
		goto out;
	}
	*body = strdup(p + 4);
	if (!*body)
		status = -ENOMEM;
out:
	close(fd);
	buf__free(&resp);
	return status;
}

static void print_points(json_t *data)
{
	json_t *series = json_object_get(data, "series"), *s, *pt;
	size_t i, j;
	char t[40];

	printf("# %s, tier %s, step %gs%s\n", json_string_value(json_object_get(data, "metric")),
	       json_string_value(json_object_get(data, "tier")),
	       json_number_value(json_object_get(data, "step")),
	       json_is_true(json_object_get(data, "rate")) ? ", per-second rates" : "");
	json_array_foreach (series, i, s) {
		printf("%s\n", json_string_value(json_object_get(s, "series")));
		json_array_foreach (json_object_get(s, "points"), j, pt) {
			json_t *v = json_array_get(pt, 1);

			api__rfc3339(json_number_value(json_array_get(pt, 0)), t, sizeof(t));
			if (json_is_number(v))
				printf("  %s  %.6g\n", t, json_number_value(v));
			else
				printf("  %s  -\n", t);
		}
	}
}

static void print_series(json_t *data)
{
	json_t *s, *v;
	size_t i;

	json_array_foreach (data, i, s) {
		v = json_object_get(s, "last_value");
		printf("%-9s %s", json_string_value(json_object_get(s, "type")),
		       json_string_value(json_object_get(s, "series")));
		if (json_is_number(v))
			printf("  %.6g at %s", json_number_value(v),
			       json_string_value(json_object_get(s, "last_time")));
		printf("\n");
	}
}

static void print_agents(json_t *data)
{
	json_t *a;
	size_t i;

	printf("%-24s %-5s %9s  %-24s  %s\n", "agent", "live", "instances", "first seen",
	       "last seen");
	json_array_foreach (data, i, a) {
		json_t *f = json_object_get(a, "first_seen"), *l = json_object_get(a, "last_seen");

		printf("%-24s %-5s %9lld  %-24s  %s\n",
		       json_string_value(json_object_get(a, "agent")),
		       json_is_true(json_object_get(a, "live")) ? "yes" : "no",
		       (long long)json_integer_value(json_object_get(a, "instances")),
		       f ? json_string_value(f) : "-", l ? json_string_value(l) : "-");
	}
}

int cmd_query(int argc, char **argv)
{
	static const struct option opts[] = {
		{"url", required_argument, NULL, 'u'},
		{"agent", required_argument, NULL, 'a'},
		{"start", required_argument, NULL, 's'},
		{"end", required_argument, NULL, 'e'},
		{"step", required_argument, NULL, 'S'},
		{"rate", no_argument, NULL, 'r'},
		{"json", no_argument, NULL, 'j'},
		{"series", no_argument, NULL, 'L'},
		{"agents", no_argument, NULL, 'A'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *url = "http://127.0.0.1:7979", *agent = NULL, *start = NULL, *end = NULL;
	const char *step = NULL, *metric = NULL;
	bool rate = false, json = false, series = false, agents = false, first = true;
	char *body = NULL;
	json_t *doc = NULL;
	struct buf path;
	int opt, status, ret = 1;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "u:a:s:e:S:rjh", opts, NULL)) != -1) {
		switch (opt) {
		case 'u':
			url = optarg;
			break;
		case 'a':
			agent = optarg;
			break;
		case 's':
			start = optarg;
			break;
		case 'e':
			end = optarg;
			break;
		case 'S':
			step = optarg;
			break;
		case 'r':
			rate = true;
			break;
		case 'j':
			json = true;
			break;
		case 'L':
			series = true;
			break;
		case 'A':
			agents = true;
			break;
		case 'h':
			query_usage(stdout);
			return 0;
		default:
			query_usage(stderr);
			return 2;
		}
	}
	if (optind < argc)
		metric = argv[optind++];
	if (optind < argc || (!metric && !series && !agents) || (series && agents)) {
		fprintf(stderr, "swarmwatch: error: query: %s (see swarmwatch query --help)\n",
			optind < argc ? "one METRIC at most"
				      : "which METRIC, or --series or --agents?");
		return 2;
	}
	buf__init(&path);
	buf__puts(&path, agents	  ? "/api/v1/agents"
			 : series ? "/api/v1/series"
				  : "/api/v1/query_range");
	put_param(&path, "metric", metric, &first);
	put_param(&path, "agent", agent, &first);
	if (!series && !agents) {
		put_param(&path, "start", start, &first);
		put_param(&path, "end", end, &first);
		put_param(&path, "step", step, &first);
		put_param(&path, "rate", rate ? "true" : NULL, &first);
	}
	buf__putc(&path, 0);
	if (path.failed)
		goto out;
	status = http_get(url, path.data, &body);
	if (status < 0)
		goto out;
	doc = json_loads(body, 0, NULL);
	if (status != 200) {
		json_t *e = doc ? json_object_get(doc, "error") : NULL;

		fprintf(stderr, "swarmwatch: error: query: %s\n",
			e ? json_string_value(e) : "the daemon answered with an error");
		goto out;
	}
	if (json) {
		printf("%s\n", body);
	} else if (!doc) {
		fprintf(stderr, "swarmwatch: error: query: the answer is not JSON\n");
		goto out;
	} else if (agents) {
		print_agents(json_object_get(doc, "data"));
	} else if (series) {
		print_series(json_object_get(doc, "data"));
	} else {
		print_points(json_object_get(doc, "data"));
	}
	ret = 0;
out:
	json_decref(doc);
	free(body);
	buf__free(&path);
	return ret;
}
