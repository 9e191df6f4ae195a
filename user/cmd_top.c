// SPDX-License-Identifier: MIT
/*
 * `swarmwatch top`: a terminal view of the agents, like top(1), over the daemon's
 * /api/v1/stream (libcurl reads the Server-Sent Events, jansson their JSON, ncurses draws),
 * so it works against a local or a remote daemon alike.
 */
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <langinfo.h>
#include <locale.h>
#include <math.h>
#include <ncurses.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "text.h"

#define SPARK 30 /* points of a sparkline: the last 30 ticks */
#define EVENT_MAX (4 << 20) /* longest event accepted, bytes */

enum col { C_AGENT, C_INST, C_RPS, C_P95, C_ERR, C_429, C_CPU, C_MEM, C_ANOM, C_NCOLS };

static const struct column {
	const char *title;
	const char *key; /* in the stream's agent object */
	int width;
} cols[C_NCOLS] = {
	[C_AGENT] = {"AGENT", "agent", 24},
	[C_INST] = {"INST", "instances", 5},
	[C_RPS] = {"REQ/S", "requests_per_second", 8},
	[C_P95] = {"P95", "p95_seconds", 9},
	[C_ERR] = {"ERR%", "error_ratio", 6},
	[C_429] = {"429%", "ratio_429", 6},
	[C_CPU] = {"CPU", "cpu_cores", 6},
	[C_MEM] = {"MEM", "resident_memory_bytes", 9},
	[C_ANOM] = {"ANOM", "anomaly", 6},
};

struct agent {
	char name[64];
	bool live, anomalous, seen;
	double v[C_NCOLS]; /* NAN: no figure */
	double rps[SPARK], cpu[SPARK], p95[SPARK]; /* oldest first */
	json_t *upstreams; /* of the last event */
};

struct top {
	const char *url;
	struct agent *agents;
	int nagents, cap;
	int sort, reverse, sel, open; /* open: index of the agent shown, -1 for the list */
	char filter[64];
	bool filtering, utf8;
	long long tick;
	char status[640];
	char *ev; /* the event being received */
	size_t evlen;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static double num(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_number(v) ? json_number_value(v) : NAN;
}

static struct agent *agent_get(struct top *t, const char *name)
{
	struct agent *a;
	int i;

	for (i = 0; i < t->nagents; i++)
		if (!strcmp(t->agents[i].name, name))
			return &t->agents[i];
	if (t->nagents == t->cap) {
		int cap = t->cap ? 2 * t->cap : 64;

		a = realloc(t->agents, cap * sizeof(*a));
		if (!a)
			return NULL;
		t->agents = a;
		t->cap = cap;
	}
	a = &t->agents[t->nagents++];
	memset(a, 0, sizeof(*a));
	snprintf(a->name, sizeof(a->name), "%s", name);
	for (i = 0; i < SPARK; i++)
		a->rps[i] = a->cpu[i] = a->p95[i] = NAN;
	return a;
}

static void push(double *ring, double v)
{
	memmove(ring, ring + 1, (SPARK - 1) * sizeof(*ring));
	ring[SPARK - 1] = v;
}

/* One overview event's JSON into the table; 0 or -EINVAL when it is not one. */
static int top_event(struct top *t, const char *data)
{
	json_t *doc = json_loads(data, 0, NULL), *agents, *x;
	size_t i;
	int j, c;

	if (!doc)
		return -EINVAL;
	agents = json_object_get(doc, "agents");
	if (!json_is_array(agents)) {
		json_decref(doc);
		return -EINVAL;
	}
	t->tick = json_integer_value(json_object_get(doc, "tick"));
	for (j = 0; j < t->nagents; j++)
		t->agents[j].seen = false;
	json_array_foreach (agents, i, x) {
		const char *name = json_string_value(json_object_get(x, "agent"));
		json_t *an = json_object_get(x, "anomaly");
		struct agent *a = name ? agent_get(t, name) : NULL;

		if (!a)
			continue;
		a->seen = true;
		a->live = json_is_true(json_object_get(x, "live"));
		for (c = C_INST; c < C_ANOM; c++)
			a->v[c] = num(x, cols[c].key);
		a->v[C_ANOM] = json_is_object(an) ? num(an, "score") : NAN;
		a->anomalous = json_is_object(an) && json_is_true(json_object_get(an, "anomalous"));
		push(a->rps, a->v[C_RPS]);
		push(a->cpu, a->v[C_CPU]);
		push(a->p95, a->v[C_P95]);
		json_decref(a->upstreams);
		a->upstreams = json_incref(json_object_get(x, "upstreams"));
	}
	for (j = 0; j < t->nagents; j++)
		if (!t->agents[j].seen)
			t->agents[j].live = false, t->agents[j].v[C_INST] = 0;
	json_decref(doc);
	return 0;
}

/* libcurl's write callback: splits the stream into events (a blank line ends one). */
static size_t on_data(char *p, size_t size, size_t n, void *cls)
{
	struct top *t = cls;
	size_t len = size * n;
	char *end, *ev, *data;

	ev = realloc(t->ev, t->evlen + len + 1);
	if (!ev || t->evlen + len > EVENT_MAX)
		return 0; /* libcurl ends the transfer; the loop reconnects */
	t->ev = ev;
	memcpy(t->ev + t->evlen, p, len);
	t->evlen += len;
	t->ev[t->evlen] = 0;
	while ((end = strstr(t->ev, "\n\n"))) {
		*end = 0;
		data = strstr(t->ev, "data: ");
		if (data && (data == t->ev || data[-1] == '\n')) {
			char *nl = strchr(data, '\n');

			if (nl)
				*nl = 0;
			if (top_event(t, data + 6))
				snprintf(t->status, sizeof(t->status),
					 "an event was not JSON: skipped");
			else
				t->status[0] = 0;
		}
		t->evlen -= end + 2 - t->ev;
		memmove(t->ev, end + 2, t->evlen + 1);
	}
	return len;
}

static void fmt(char *buf, size_t len, int c, double v)
{
	if (isnan(v)) {
		snprintf(buf, len, "-");
		return;
	}
	switch (c) {
	case C_INST:
		snprintf(buf, len, "%.0f", v);
		break;
	case C_P95:
		if (v < 1)
			snprintf(buf, len, "%.1fms", v * 1e3);
		else
			snprintf(buf, len, "%.2fs", v);
		break;
	case C_ERR:
	case C_429:
		snprintf(buf, len, "%.1f", v * 100);
		break;
	case C_MEM:
		snprintf(buf, len, "%.1fM", v / 1048576);
		break;
	case C_CPU:
	case C_ANOM:
		snprintf(buf, len, "%.2f", v);
		break;
	default:
		snprintf(buf, len, v < 10 ? "%.2f" : "%.0f", v);
	}
}

/* Draws ring as a sparkline of width SPARK at the cursor, scaled to its own maximum. */
static void spark(const struct top *t, const double *ring)
{
	static const char *const blocks[] = {"\u2581", "\u2582", "\u2583", "\u2584",
					     "\u2585", "\u2586", "\u2587", "\u2588"};
	static const char ascii[] = "_.-:=+*#";
	double max = 0;
	int i, k;

	for (i = 0; i < SPARK; i++)
		if (!isnan(ring[i]) && ring[i] > max)
			max = ring[i];
	for (i = 0; i < SPARK; i++) {
		if (isnan(ring[i])) {
			addch(' ');
			continue;
		}
		k = max > 0 ? (int)(ring[i] / max * 7 + 0.5) : 0;
		if (t->utf8)
			addstr(blocks[k]);
		else
			addch(ascii[k]);
	}
}

static int by_column(const void *pa, const void *pb, void *ctx)
{
	const struct top *t = ctx;
	const struct agent *a = pa, *b = pb;
	double x, y;
	int d;

	if (a->live != b->live)
		return a->live ? -1 : 1; /* gone agents after the live ones */
	if (t->sort == C_AGENT) {
		d = strcmp(a->name, b->name);
	} else {
		x = isnan(a->v[t->sort]) ? -INFINITY : a->v[t->sort];
		y = isnan(b->v[t->sort]) ? -INFINITY : b->v[t->sort];
		d = x < y ? 1 : x > y ? -1 : 0; /* figures largest first */
	}
	if (t->reverse)
		d = -d;
	return d ? d : strcmp(a->name, b->name);
}

static bool shown(const struct top *t, const struct agent *a)
{
	return !t->filter[0] || strstr(a->name, t->filter);
}

static void draw_header(const struct top *t, const char *keys)
{
	char when[16];
	time_t now = time(NULL);

	strftime(when, sizeof(when), "%H:%M:%S", localtime(&now));
	attron(A_REVERSE);
	mvprintw(0, 0, "swarmwatch top  %s  tick %lld  %s", t->url, t->tick, when);
	clrtoeol();
	attroff(A_REVERSE);
	mvprintw(1, 0, "%s", keys);
	clrtoeol();
	if (t->status[0]) {
		attron(A_BOLD);
		mvprintw(2, 0, "%s", t->status);
		attroff(A_BOLD);
	} else if (t->filtering || t->filter[0]) {
		mvprintw(2, 0, "filter: %s%s", t->filter, t->filtering ? "_" : "");
	}
	clrtoeol();
}

static void draw_list(struct top *t)
{
	char cell[32], label[4 * 40 + 1]; /* label: 40 columns of up to 4-byte characters */
	int i, c, row = 4, n = 0;

	draw_header(t, "keys: 1-9 sort by column, r reverse, / filter, up/down select, "
		       "Enter open, q quit");
	move(3, 0);
	attron(A_BOLD);
	for (c = 0; c < C_NCOLS; c++)
		printw(c == C_AGENT ? "%-*s%s" : "%*s%s", cols[c].width, cols[c].title,
		       c == t->sort ? (t->reverse ? "^" : "v") : " ");
	printw(" REQ/S LAST %ds", SPARK);
	attroff(A_BOLD);
	clrtoeol();
	if (t->nagents) /* agents is NULL before the first answer */
		qsort_r(t->agents, t->nagents, sizeof(*t->agents), by_column, t);
	for (i = 0; i < t->nagents; i++) {
		const struct agent *a = &t->agents[i];

		if (!shown(t, a))
			continue;
		if (row >= LINES)
			break;
		if (n == t->sel)
			attron(A_REVERSE);
		if (!a->live)
			attron(A_DIM);
		if (a->anomalous)
			attron(A_BOLD);
		move(row++, 0);
		text__fit(label, sizeof(label), a->name, cols[C_AGENT].width, t->utf8);
		printw("%s ", label);
		for (c = C_INST; c < C_NCOLS; c++) {
			fmt(cell, sizeof(cell), c, a->v[c]);
			printw("%*s ", cols[c].width, cell);
		}
		addch(' ');
		spark(t, a->rps);
		if (!a->live)
			printw(" gone");
		else if (a->anomalous)
			printw(" ANOMALY");
		clrtoeol();
		attroff(A_REVERSE | A_DIM | A_BOLD);
		n++;
	}
	if (t->sel >= n)
		t->sel = n ? n - 1 : 0;
	clrtobot();
}

static void draw_agent(struct top *t)
{
	const struct agent *a = &t->agents[t->open];
	char cell[32], label[4 * 40 + 1];
	json_t *u;
	size_t i;
	int c, row;

	draw_header(t, "keys: Esc or Backspace back to the list, q quit");
	move(3, 0);
	attron(A_BOLD);
	printw("agent %s%s", a->name, a->live ? "" : " (gone)");
	attroff(A_BOLD);
	clrtoeol();
	for (c = C_INST, row = 4; c < C_NCOLS; c++, row++) {
		fmt(cell, sizeof(cell), c, a->v[c]);
		mvprintw(row, 0, "%-8s %10s", cols[c].title, cell);
		clrtoeol();
		if (c == C_RPS || c == C_P95 || c == C_CPU) {
			addstr("  ");
			spark(t, c == C_RPS ? a->rps : c == C_P95 ? a->p95 : a->cpu);
		}
	}
	row++;
	attron(A_BOLD);
	mvprintw(row++, 0, "%-40s %-7s %8s %9s %6s %6s", "UPSTREAM", "ROLE", "REQ/S", "P95", "ERR%",
		 "429%");
	attroff(A_BOLD);
	clrtoeol();
	json_array_foreach (a->upstreams, i, u) {
		const char *name = json_string_value(json_object_get(u, "upstream"));
		const char *role = json_string_value(json_object_get(u, "role"));
		char f[4][32];

		if (row >= LINES)
			break;
		fmt(f[0], 32, C_RPS, num(u, "requests_per_second"));
		fmt(f[1], 32, C_P95, num(u, "p95_seconds"));
		fmt(f[2], 32, C_ERR, num(u, "error_ratio"));
		fmt(f[3], 32, C_429, num(u, "ratio_429"));
		text__fit(label, sizeof(label), name ? name : "?", 40, t->utf8);
		mvprintw(row++, 0, "%s %-7s %8s %9s %6s %6s", label, role ? role : "?", f[0], f[1],
			 f[2], f[3]);
		clrtoeol();
	}
	if (!json_array_size(a->upstreams))
		mvprintw(row, 0, "(no requests seen)");
	clrtobot();
}

/* The agent at row `sel` of the list as drawn; -1 when none. */
static int selected(const struct top *t)
{
	int i, n = 0;

	for (i = 0; i < t->nagents; i++)
		if (shown(t, &t->agents[i]) && n++ == t->sel)
			return i;
	return -1;
}

/* One key; false to quit. */
static bool on_key(struct top *t, int k)
{
	size_t n = strlen(t->filter);

	if (t->filtering) {
		if (k == '\n' || k == KEY_ENTER)
			t->filtering = false;
		else if (k == 27)
			t->filtering = false, t->filter[0] = 0;
		else if ((k == KEY_BACKSPACE || k == 127 || k == 8) && n)
			t->filter[n - 1] = 0;
		else if (k >= 32 && k < 127 && n + 1 < sizeof(t->filter))
			t->filter[n] = k, t->filter[n + 1] = 0;
		t->sel = 0;
		return true;
	}
	if (k == 'q')
		return false;
	if (t->open >= 0) {
		if (k == 27 || k == KEY_BACKSPACE || k == 127 || k == 8 || k == KEY_LEFT)
			t->open = -1;
		return true;
	}
	if (k >= '1' && k <= '0' + C_NCOLS) {
		t->sort = k - '1';
		t->reverse = 0;
	} else if (k == 'r') {
		t->reverse = !t->reverse;
	} else if (k == '/') {
		t->filtering = true;
	} else if (k == KEY_DOWN || k == 'j') {
		t->sel++;
	} else if ((k == KEY_UP || k == 'k') && t->sel > 0) {
		t->sel--;
	} else if (k == '\n' || k == KEY_ENTER || k == KEY_RIGHT) {
		t->open = selected(t);
	}
	return true;
}

static CURL *connect_stream(struct top *t, char *url, CURLM *m)
{
	CURL *e = curl_easy_init();

	if (!e)
		return NULL;
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
	curl_easy_setopt(e, CURLOPT_FAILONERROR, 1L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, 5L);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "swarmwatch-top/" SW_VERSION);
	/* A daemon with a web configuration: its token and the CA of its certificate. */
	if (getenv("SWARMWATCH_TOKEN") && getenv("SWARMWATCH_TOKEN")[0]) {
		curl_easy_setopt(e, CURLOPT_HTTPAUTH, CURLAUTH_BEARER);
		curl_easy_setopt(e, CURLOPT_XOAUTH2_BEARER, getenv("SWARMWATCH_TOKEN"));
	}
	if (getenv("SWARMWATCH_CACERT") && getenv("SWARMWATCH_CACERT")[0])
		curl_easy_setopt(e, CURLOPT_CAINFO, getenv("SWARMWATCH_CACERT"));
	t->evlen = 0;
	curl_multi_add_handle(m, e);
	return e;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: swarmwatch top [--url URL]\n\n"
		   "A live terminal view of the agents from a running swarmwatch (its\n"
		   "/api/v1/stream), local or remote.\n\n"
		   "  --url URL   the daemon (default http://127.0.0.1:7979; https:// too)\n\n"
		   "Environment: SWARMWATCH_TOKEN, a bearer token with the read scope;\n"
		   "SWARMWATCH_CACERT, the CA file of the daemon's certificate.\n\n"
		   "Keys: 1-9 sort by that column (again: r reverses), / filter by name,\n"
		   "up/down and Enter open an agent with its upstreams, Esc back, q quit.\n");
}

int cmd_top(int argc, char **argv)
{
	static const struct option opts[] = {
		{"url", required_argument, NULL, 'u'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct top t = {.url = "http://127.0.0.1:7979", .open = -1, .sort = C_AGENT};
	time_t retry_at = 0;
	char url[512];
	CURLM *m = NULL;
	CURL *e = NULL;
	int opt, running, k, i, rc = 0;
	size_t n;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'u':
			t.url = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc || strncmp(t.url, "http", 4)) {
		fprintf(stderr, "swarmwatch top: --url must be http://HOST:PORT or https://...\n");
		return 2;
	}
	n = strlen(t.url);
	while (n && t.url[n - 1] == '/')
		n--;
	if (n > 400) {
		fprintf(stderr, "swarmwatch top: --url is longer than 400 bytes\n");
		return 2;
	}
	snprintf(url, sizeof(url), "%.*s/api/v1/stream", (int)n, t.url);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) || !(m = curl_multi_init())) {
		fprintf(stderr, "swarmwatch top: cannot initialise libcurl\n");
		return 1;
	}
	setlocale(LC_ALL, "");
	t.utf8 = !strcmp(nl_langinfo(CODESET), "UTF-8");
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	initscr();
	cbreak();
	noecho();
	keypad(stdscr, TRUE);
	set_escdelay(25);
	curs_set(0);
	timeout(100); /* getch waits at most 100 ms: the screen follows the stream */
	snprintf(t.status, sizeof(t.status), "connecting to %s", url);
	while (!stop) {
		if (!e && time(NULL) >= retry_at)
			e = connect_stream(&t, url, m);
		if (e) {
			CURLMsg *msg;
			int left;

			curl_multi_perform(m, &running);
			while ((msg = curl_multi_info_read(m, &left))) {
				if (msg->msg != CURLMSG_DONE)
					continue;
				snprintf(t.status, sizeof(t.status), "%s: %s; retrying in 2 s", url,
					 curl_easy_strerror(msg->data.result));
				curl_multi_remove_handle(m, e);
				curl_easy_cleanup(e);
				e = NULL;
				retry_at = time(NULL) + 2;
			}
		}
		if (t.open >= 0)
			draw_agent(&t);
		else
			draw_list(&t);
		refresh();
		k = getch();
		if (k != ERR && !on_key(&t, k))
			break;
	}
	endwin();
	if (e) {
		curl_multi_remove_handle(m, e);
		curl_easy_cleanup(e);
	}
	curl_multi_cleanup(m);
	curl_global_cleanup();
	for (i = 0; i < t.nagents; i++)
		json_decref(t.agents[i].upstreams);
	free(t.agents);
	free(t.ev);
	return rc;
}
