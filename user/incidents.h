/* SPDX-License-Identifier: MIT */
/*
 * incidents: the tick's incident stage. Each tick it gives the incident tracker (incident.h)
 * what is active now: every departure of the agents' ongoing anomaly episodes (anomaly.h) and
 * every alert that fired by the previous tick (alerting.h), with each agent's upstreams from
 * the tick's requests; it attaches the incidents to the snapshot for /api/v1/incidents,
 * /metrics and the alert stage (which takes an alert's likely cause from its agent's open
 * incident), and keeps the tracker's state in the series store's database so that open
 * incidents stay open across a restart.
 *
 * Threads: the tick's thread only.
 */
#ifndef SW_INCIDENTS_H
#define SW_INCIDENTS_H

#include <stddef.h>

#include "incident.h"

struct alert_view;
struct config;
struct snapshot;
struct store;
struct incidents;

/*
 * incidents__new - the stage for configuration c (its rules tell each alert's kind; both must
 * outlive it), with its state in store (NULL: in memory only). A saved state that cannot be
 * read is logged and left behind. Returns NULL with errno set (ENOMEM).
 */
struct incidents *incidents__new(const struct config *c, struct store *store, double now);

/* incidents__free - saves the state one last time (the store writes it at its last flush). */
void incidents__free(struct incidents *g);

/*
 * incidents__tick - updates the incidents from s (not yet published) and alerts (the alerts
 * of the previous tick; NULL: none) and attaches s->incidents. Returns 0 or -ENOMEM (s goes
 * out without incidents; the tracker stays consistent).
 */
int incidents__tick(struct incidents *g, struct snapshot *s, const struct alert_view *alerts);

#endif
