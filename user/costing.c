// SPDX-License-Identifier: MIT
/* costing: the tick's cost stage: snapshot -> accountant -> view, state and emergency actions. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "apps.h"
#include "catalog.h"
#include "clock.h"
#include "costing.h"
#include "llm.h"
#include "log.h"
#include "notify.h"
#include "snapshot.h"
#include "store.h"

extern char **environ;

#define STATE_NAME "cost"
#define SAVE_SPREAD 60 /* each tick saves the changed state of a 60th of the agents */
#define KILL_GRACE_NS 2000000000ULL /* SIGTERM, then SIGKILL this much later */
#define CHILDREN_MAX 64 /* emergency commands running at once */
#define APP_COST_SUFFIX "cost_usd_total"
#define APP_LLM_COST_SUFFIX "llm_cost_usd_total" /* the app's own LLM cost (cost.h) */

enum { ACT_COMMAND, ACT_WEBHOOK };
enum { RES_OK, RES_FAILED, RES_TIMEOUT };

struct child {
	pid_t pid; /* 0: free */
	char agent[SW_NAME_LEN];
	__u64 deadline; /* monotonic ns: SIGTERM */
	bool termed; /* SIGTERM sent: SIGKILL at deadline + grace */
};

struct costing {
	struct cost_params p;
	struct cost *cost;
	struct store *store;
	struct notify *notify;
	costing_emergency_fn hook;
	void *hook_ctx;
	struct child children[CHILDREN_MAX];
	uint64_t actions[2][3]; /* [command, webhook][ok, failed, timeout] */
};

static long restore(void *ctx, const char *agent, void *buf, size_t cap)
{
	return store__state_get(ctx, agent, STATE_NAME, buf, cap);
}

static int save(void *ctx, const char *agent, const char *text, size_t len)
{
	return store__state_put(ctx, agent, STATE_NAME, text, len);
}

struct costing *costing__new(const struct cost_params *p, struct store *st, struct notify *n,
			     char *err, size_t errlen)
{
	struct costing *g;

	if (p->emergency.receiver[0] && !n) {
		snprintf(err, errlen,
			 "cost.emergency.receiver \"%s\": no outbox, as no receiver is configured "
			 "(add it under \"receivers\")",
			 p->emergency.receiver);
		errno = EINVAL;
		return NULL;
	}
	g = calloc(1, sizeof(*g));
	if (!g) {
		errno = ENOMEM;
		return NULL;
	}
	g->p = *p;
	g->store = st;
	g->notify = n;
	g->cost = cost__new(p);
	if (!g->cost) {
		int e = errno;

		snprintf(err, errlen, "cost: %s",
			 e == EINVAL ? "a ratio or budget is out of range" : strerror(e));
		free(g);
		errno = e;
		return NULL;
	}
	if (st)
		cost__set_restore(g->cost, restore, st);
	return g;
}

/* Waits for the commands that ended; stops those past their timeout. */
static void reap(struct costing *g)
{
	__u64 now = clock__mono_ns();
	int i;

	for (i = 0; i < CHILDREN_MAX; i++) {
		struct child *c = &g->children[i];
		int status = 0;
		pid_t r;

		if (!c->pid)
			continue;
		r = waitpid(c->pid, &status, WNOHANG);
		if (r == c->pid || (r < 0 && errno == ECHILD)) {
			int res = c->termed ? RES_TIMEOUT
				  : r == c->pid && WIFEXITED(status) && !WEXITSTATUS(status)
					  ? RES_OK
					  : RES_FAILED;

			if (res == RES_FAILED)
				pr_warn("cost: %s: the emergency command failed (%s %d); check "
					"cost.emergency.command",
					c->agent,
					r == c->pid && WIFSIGNALED(status) ? "signal"
									   : "exit status",
					r == c->pid && WIFSIGNALED(status) ? WTERMSIG(status)
									   : WEXITSTATUS(status));
			else if (res == RES_TIMEOUT)
				pr_warn("cost: %s: the emergency command was stopped at its timeout "
					"(%u ms); raise cost.emergency.timeout or make it quicker",
					c->agent, g->p.emergency.timeout_ms);
			g->actions[ACT_COMMAND][res]++;
			c->pid = 0;
			continue;
		}
		if (!c->termed && now >= c->deadline) {
			kill(-c->pid, SIGTERM);
			c->termed = true;
		} else if (c->termed && now >= c->deadline + KILL_GRACE_NS) {
			kill(-c->pid, SIGKILL);
		}
	}
}

void costing__free(struct costing *g)
{
	int i, tries;

	if (!g)
		return;
	if (g->store && cost__save(g->cost, true, 0, save, g->store))
		pr_warn("cost: the day's spend could not be saved; a restart today counts it "
			"from zero");
	/* Commands still running get 2 s to end; then they are left to finish on their own. */
	for (tries = 0; tries < 20; tries++) {
		bool any = false;

		reap(g);
		for (i = 0; i < CHILDREN_MAX; i++)
			any |= g->children[i].pid != 0;
		if (!any)
			break;
		usleep(100000);
	}
	for (i = 0; i < CHILDREN_MAX; i++)
		if (g->children[i].pid)
			pr_warn("cost: %s: the emergency command (pid %d) is still running; it is left "
				"to finish",
				g->children[i].agent, (int)g->children[i].pid);
	cost__free(g->cost);
	free(g);
}

void costing__on_emergency(struct costing *g, costing_emergency_fn fn, void *ctx)
{
	g->hook = fn;
	g->hook_ctx = ctx;
}

static void day_text(int64_t day, char *buf, size_t len)
{
	time_t t = (time_t)(day * 86400);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%d", &tm);
}

int costing__expand(const char *arg, const struct cost_event *e, char *out, size_t len)
{
	static const char *const vars[] = {"{agent}", "{day}", "{spent_usd}", "{budget_usd}"};
	size_t o = 0, i, vl;
	char val[64];
	const char *v;

	while (*arg) {
		for (i = 0; i < 4 && strncmp(arg, vars[i], strlen(vars[i])); i++)
			;
		if (i == 4) {
			if (o + 1 >= len)
				return -ENOSPC;
			out[o++] = *arg++;
			continue;
		}
		v = val;
		if (i == 0)
			v = e->agent;
		else if (i == 1)
			day_text(e->day, val, sizeof(val));
		else
			snprintf(val, sizeof(val), "%.6f", i == 2 ? e->spent : e->budget);
		vl = strlen(v);
		if (o + vl >= len)
			return -ENOSPC;
		memcpy(out + o, v, vl);
		o += vl;
		arg += strlen(vars[i]);
	}
	if (o >= len)
		return -ENOSPC;
	out[o] = 0;
	return 0;
}

static void run_command(struct costing *g, const struct cost_event *e)
{
	char args[COST_ARGS_MAX][COST_ARG_LEN], *argv[COST_ARGS_MAX + 1];
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	struct child *c = NULL;
	pid_t pid;
	int i, err;

	for (i = 0; i < CHILDREN_MAX && !c; i++)
		if (!g->children[i].pid)
			c = &g->children[i];
	if (!c) {
		pr_warn("cost: %s: emergency command not run: %d are still running", e->agent,
			CHILDREN_MAX);
		g->actions[ACT_COMMAND][RES_FAILED]++;
		return;
	}
	for (i = 0; i < g->p.emergency.argc; i++) {
		if (costing__expand(g->p.emergency.argv[i], e, args[i], sizeof(args[i]))) {
			pr_warn("cost: %s: emergency command not run: argument %d is longer than "
				"%d bytes once expanded",
				e->agent, i, COST_ARG_LEN - 1);
			g->actions[ACT_COMMAND][RES_FAILED]++;
			return;
		}
		argv[i] = args[i];
	}
	argv[i] = NULL;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawnattr_init(&at);
	posix_spawnattr_setpgroup(&at, 0);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP);
	err = posix_spawn(&pid, argv[0], &fa, &at, argv, environ);
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
	if (err) {
		pr_warn("cost: %s: emergency command %s could not start: %s; check "
			"cost.emergency.command (an absolute path, no shell)",
			e->agent, argv[0], strerror(err));
		g->actions[ACT_COMMAND][RES_FAILED]++;
		return;
	}
	c->pid = pid;
	c->termed = false;
	c->deadline = clock__mono_ns() + (__u64)g->p.emergency.timeout_ms * 1000000ULL;
	snprintf(c->agent, sizeof(c->agent), "%s", e->agent);
}

/* A webhook v4 body with one firing alert BudgetEmergencyAction for the agent. */
static char *webhook_body(const struct cost_event *e, const char *receiver, double now)
{
	char day[16], starts[40], summary[256], spent[32], budget[32];
	time_t t = (time_t)now;
	struct tm tm;
	json_t *o;
	char *text;

	day_text(e->day, day, sizeof(day));
	gmtime_r(&t, &tm);
	strftime(starts, sizeof(starts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(summary, sizeof(summary),
		 "%s spent %.4f USD of its %.4f USD daily budget on %s: emergency action", e->agent,
		 e->spent, e->budget, day);
	snprintf(spent, sizeof(spent), "%.6f", e->spent);
	snprintf(budget, sizeof(budget), "%.6f", e->budget);
	o = json_pack("{s:s, s:s, s:s, s:[{s:s, s:{s:s, s:s, s:s, s:s}, s:{s:s, s:s, s:s}, s:s, "
		      "s:s, s:s}], s:{s:s, s:s}, s:{s:s, s:s, s:s}, s:{}, s:s, s:s}",
		      "version", "4", "status", "firing", "receiver", receiver, "alerts", "status",
		      "firing", "labels", "alertname", "BudgetEmergencyAction", "agent", e->agent,
		      "severity", "emergency", "day", day, "annotations", "summary", summary,
		      "spent_usd", spent, "budget_usd", budget, "startsAt", starts, "endsAt",
		      "0001-01-01T00:00:00Z", "fingerprint", "", "groupLabels", "alertname",
		      "BudgetEmergencyAction", "agent", e->agent, "commonLabels", "alertname",
		      "BudgetEmergencyAction", "agent", e->agent, "severity", "emergency",
		      "commonAnnotations", "externalURL", "", "groupKey", "cost");
	if (!o)
		return NULL;
	text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	return text;
}

static void send_webhook(struct costing *g, const struct cost_event *e, double now)
{
	char key[NOTIFY_KEY_MAX], day[16], *body = webhook_body(e, g->p.emergency.receiver, now);
	struct notify_msg m;
	size_t i;
	int err;

	day_text(e->day, day, sizeof(day));
	snprintf(key, sizeof(key), "cost-%s-%s", e->agent, day);
	for (i = 0; key[i]; i++) /* the key's alphabet: [A-Za-z0-9._-] */
		if (!((key[i] >= 'a' && key[i] <= 'z') || (key[i] >= 'A' && key[i] <= 'Z') ||
		      (key[i] >= '0' && key[i] <= '9') || key[i] == '.' || key[i] == '-'))
			key[i] = '_';
	m.receiver = g->p.emergency.receiver;
	m.key = key;
	m.body = body;
	err = body ? notify__enqueue(g->notify, &m, 1, NULL, NULL, 0) : -ENOMEM;
	free(body);
	if (err) {
		pr_warn("cost: %s: the emergency notification could not be queued: %s", e->agent,
			strerror(-err));
		g->actions[ACT_WEBHOOK][RES_FAILED]++;
		return;
	}
	g->actions[ACT_WEBHOOK][RES_OK]++;
}

static void on_event(struct costing *g, const struct cost_event *e, double now)
{
	if (e->type == COST_WARNING) {
		pr_warn("cost: %s spent %.4f USD today, %.0f %% of its %.4f USD budget", e->agent,
			e->spent, e->spent / e->budget * 100, e->budget);
		return;
	}
	pr_warn("cost: %s spent %.4f USD today, %.0f %% of its %.4f USD budget: emergency",
		e->agent, e->spent, e->spent / e->budget * 100, e->budget);
	if (g->p.emergency.argc)
		run_command(g, e);
	if (g->p.emergency.receiver[0])
		send_webhook(g, e, now);
	if (g->hook)
		g->hook(g->hook_ctx, e->agent, e->spent, e->budget);
}

struct named {
	const char *name;
	int i;
};

static int by_name(const void *x, const void *y)
{
	return strcmp(((const struct named *)x)->name, ((const struct named *)y)->name);
}

/* Whether app sample x is an LLM cost: named ...llm_cost_usd_total, or tagged kind=llm. */
static bool app_llm(const struct app_sample *x)
{
	const struct catalog_family *f = x->fam;
	size_t l = strlen(f->name), sl = strlen(APP_LLM_COST_SUFFIX);
	int k;

	if (l >= sl && !strcmp(f->name + l - sl, APP_LLM_COST_SUFFIX))
		return true;
	for (k = 1; k < f->nlabels && k <= APPS_TAGS_MAX; k++)
		if (!strcmp(f->labels[k], "kind") && x->values[k] && !strcmp(x->values[k], "llm"))
			return true;
	return false;
}

/*
 * App-reported costs into in[]: counters named ...cost_usd_total, by the agent's name; its LLM
 * costs apart (app_llm()).
 */
static void app_costs(const struct snapshot *s, struct cost_input *in)
{
	size_t sl = strlen(APP_COST_SUFFIX);
	struct named *idx = NULL, key, *hit;
	int i;

	for (i = 0; s->apps && i < s->apps->n; i++) {
		const struct app_sample *x = &s->apps->samples[i];
		const struct catalog_family *f = x->fam;
		size_t l = strlen(f->name);

		if (f->type != CATALOG_COUNTER || l < sl ||
		    strcmp(f->name + l - sl, APP_COST_SUFFIX) || !x->values[0][0] ||
		    !(x->value > 0))
			continue;
		if (!idx) {
			int k;

			idx = malloc((s->nagents + 1) * sizeof(*idx));
			if (!idx)
				return; /* counted at the next tick: the counters are cumulative */
			for (k = 0; k < s->nagents; k++)
				idx[k] = (struct named){s->agents[k].name, k};
			qsort(idx, s->nagents, sizeof(*idx), by_name);
		}
		key.name = x->values[0];
		hit = bsearch(&key, idx, s->nagents, sizeof(*idx), by_name);
		if (hit && app_llm(x))
			in[hit->i].app_llm_usd += x->value;
		else if (hit)
			in[hit->i].app_usd += x->value;
	}
	free(idx);
}

static int by_agent_upstream(const void *x, const void *y)
{
	const struct request_series *a = *(const struct request_series *const *)x;
	const struct request_series *b = *(const struct request_series *const *)y;

	return a->agent != b->agent ? a->agent - b->agent : strcmp(a->upstream, b->upstream);
}

int costing__inputs(const struct snapshot *s, struct cost_input **inp, struct cost_requests **rp)
{
	const struct request_series **order;
	struct cost_requests *reqs;
	struct cost_input *in;
	bool sorted = true;
	int i, k = -1, n = 0;

	in = calloc(s->nagents + 1, sizeof(*in));
	reqs = calloc(s->nrequests + 1, sizeof(*reqs));
	order = malloc((s->nrequests + 1) * sizeof(*order));
	if (!in || !reqs || !order) {
		free(in);
		free(reqs);
		free(order);
		return -ENOMEM;
	}
	for (i = 0; i < s->nagents; i++) {
		const struct agent_snap *a = &s->agents[i];

		in[i].agent = a->name;
		in[i].cpu_ns = a->s.cpu_ns;
		in[i].sent_bytes = a->s.net_sent_bytes;
		in[i].received_bytes = a->s.net_received_bytes;
		in[i].llm_usd = s->llm && s->llm->spend_total && s->llm->spend_total[i] >= 0
					? s->llm->spend_total[i]
					: NAN;
	}
	/* Client series; the snapshot sorts them by agent and upstream (sorted again if not). */
	for (i = 0; i < s->nrequests; i++) {
		const struct request_series *r = &s->requests[i];

		if (r->role != SW_ROLE_CLIENT || r->agent < 0 || r->agent >= s->nagents)
			continue;
		if (n && sorted && by_agent_upstream(&order[n - 1], &r) > 0)
			sorted = false;
		order[n++] = r;
	}
	if (!sorted)
		qsort(order, n, sizeof(*order), by_agent_upstream);
	/* Summed over statuses, per agent and upstream: each agent's upstreams are one run. */
	for (i = 0; i < n; i++) {
		const struct request_series *r = order[i];

		if (!i || r->agent != order[i - 1]->agent ||
		    strcmp(r->upstream, order[i - 1]->upstream)) {
			reqs[++k].upstream = r->upstream;
			if (!in[r->agent].requests)
				in[r->agent].requests = &reqs[k];
			in[r->agent].nrequests++;
		}
		reqs[k].requests += r->count;
		if (r->status == 2 || r->status == 3)
			reqs[k].successes += r->count;
	}
	free(order);
	app_costs(s, in);
	*inp = in;
	*rp = reqs;
	return s->nagents;
}

/*
 * Saves changed agents' state: all of them, flushed to disk (before an emergency action), or a
 * 60th of the agents a tick, so that each is saved about every 60 ticks and no tick pays for
 * all of them. What a restart loses of the time since is little: the kernel's counters go on
 * from the saved ones, so only app-reported costs of that time are not counted.
 */
static void save_some(struct costing *g, int nagents, bool flush)
{
	int err;

	if (!g->store)
		return;
	err = cost__save(g->cost, false, flush ? 0 : nagents / SAVE_SPREAD + 1, save, g->store);
	if (!err && flush)
		err = store__flush(g->store, false);
	if (err)
		pr_warn("cost: the day's spend was not saved (%s); it is tried again at the next "
			"tick",
			strerror(-err));
}

int costing__tick(struct costing *g, struct snapshot *s)
{
	struct cost_requests *reqs = NULL;
	struct cost_input *in = NULL;
	struct cost_event *ev;
	struct cost_view *v;
	int n, nev, i;

	reap(g);
	n = costing__inputs(s, &in, &reqs);
	if (n < 0)
		return n;
	ev = calloc(2 * n + 1, sizeof(*ev));
	nev = ev ? cost__update(g->cost, s->time, in, n, ev, 2 * n + 1) : -ENOMEM;
	free(in);
	free(reqs);
	if (nev < 0) {
		free(ev);
		return nev;
	}
	/* The thresholds crossed are on disk before their actions run: at most once a day. */
	save_some(g, n, nev > 0);
	for (i = 0; i < nev && i < 2 * n + 1; i++)
		on_event(g, &ev[i], s->time);
	free(ev);
	v = cost__view(g->cost, s->time);
	if (!v)
		return -ENOMEM;
	memcpy(v->actions, g->actions, sizeof(v->actions));
	s->cost = v;
	s->cost_free = cost__view_free;
	return 0;
}
