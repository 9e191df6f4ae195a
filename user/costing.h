/* SPDX-License-Identifier: MIT */
/*
 * costing: the cost stage of the tick. Each tick it gives every agent's CPU time, bytes sent
 * and received, client requests per upstream and app-reported costs to the accountant
 * (cost.h), attaches a view of the day's spend, forecasts and recommendations to the snapshot
 * (for /metrics, GET /api/v1/cost and the alert rules on swarmwatch_agent_budget_usage_ratio),
 * and carries out the emergency action of an agent that reached its emergency threshold.
 *
 * State: each agent's day (spend, thresholds crossed, last counters) is kept in the series
 * store's database under (agent, "cost"), written about every 60 ticks (a 60th of the agents
 * each tick) and at exit, so a restart on the same UTC day continues the day (the kernel's
 * counters go on from the saved ones: only app-reported costs since the last save are lost). Before an emergency action runs, the state saying it ran is
 * flushed to disk: after a crash in between, the action is not run twice (at most once).
 *
 * The emergency action: a command (cost.h's struct cost_action: run without a shell, in a
 * process group of its own, stdin from /dev/null, output to swarmwatch's stderr, stopped at its
 * timeout), a notification to a configured receiver through the alert stage's durable outbox
 * (webhook v4 body, alertname BudgetEmergencyAction, idempotency key "cost-<agent>-<day>"),
 * and the emergency hook (costing__on_emergency()), through which the scaler takes the pool to
 * its minimum. Results count in swarmwatch_cost_emergency_actions_total{action,result}.
 *
 * Threads: the tick's thread only.
 */
#ifndef SW_COSTING_H
#define SW_COSTING_H

#include <stddef.h>

#include "cost.h"

struct notify;
struct snapshot;
struct store;
struct costing;

/*
 * costing__new - the stage for p (copied), keeping state in st (NULL: memory only) and sending
 * the emergency notification through outbox n (NULL: p->emergency.receiver must be ""). NULL
 * with errno set and a one-line reason in err: EINVAL (a receiver without an outbox, bad
 * parameters), ENOMEM.
 */
struct costing *costing__new(const struct cost_params *p, struct store *st, struct notify *n,
			     char *err, size_t errlen);

/*
 * costing__free - saves every agent's state, and waits up to 2 s for emergency commands still
 * running (those that are not done by then are left to finish on their own).
 */
void costing__free(struct costing *g);

/*
 * costing__tick - accounts snapshot s (not yet published) and attaches s->cost. Returns 0, or
 * -ENOMEM (the tick's spend is accounted at the next tick: counters are cumulative).
 */
int costing__tick(struct costing *g, struct snapshot *s);

/* Called with the agent, the day's spend and its budget (USD) when it reaches the emergency. */
typedef void (*costing_emergency_fn)(void *ctx, const char *agent, double spent, double budget);

/*
 * costing__on_emergency - from now on fn(ctx, ...) is called, on the tick's thread, once per
 * agent and day when the agent reaches the emergency threshold, after the state is saved and
 * beside the configured action: the hook for scaling the pool to its minimum. NULL: none.
 */
void costing__on_emergency(struct costing *g, costing_emergency_fn fn, void *ctx);

/*
 * costing__expand - argument arg of the emergency command with {agent}, {day} (YYYY-MM-DD),
 * {spent_usd} and {budget_usd} replaced, into out (len bytes). Returns 0, or -ENOSPC when it
 * does not fit. Exposed for tests.
 */
int costing__expand(const char *arg, const struct cost_event *e, char *out, size_t len);

/* Sums of the snapshot the accountant needs; exposed for the benchmark and tests. */
int costing__inputs(const struct snapshot *s, struct cost_input **in, struct cost_requests **reqs);

#endif
