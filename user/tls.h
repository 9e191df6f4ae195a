/* SPDX-License-Identifier: MIT */
/*
 * TLS capture: attaches the OpenSSL probes (bpf/tls.bpf.c) to the libssl
 * mapped by each process of an agent that has TLS capture on ("tls.agents"
 * in the configuration), and detaches them when the process exits.
 */
#ifndef SW_TLS_H
#define SW_TLS_H

#include <linux/types.h>
#include <stdbool.h>

#include "config.h"
#include "kernel.h"

struct tls;

/* NULL when TLS capture is off (not configured, or its hooks did not attach). */
struct tls *tls__new(const struct config *c, struct kernel *k);
void tls__free(struct tls *t);

/* Attaches to every running process of an opted-in agent that has libssl mapped. */
void tls__scan(struct tls *t);

/*
 * Starts the thread that destroys the probes of exited processes (until then they are
 * destroyed on the caller's thread). Called after the daemon dropped its capabilities, so
 * that the thread has no more than the rest. NULL t: nothing.
 */
void tls__start(struct tls *t);

/*
 * Whether probes are perf-event uprobes (a kernel without multi-uprobe links), which need
 * CAP_PERFMON each time a process is attached; false for NULL t.
 */
bool tls__perf_events(const struct tls *t);

/* Handles a ring-buffer event (SW_EV_MAP; SW_EV_EXEC after identity has seen it). */
void tls__event(struct tls *t, const struct sw_event *e);

/* Detaches from processes that exited, and looks again at ones tagged recently. */
void tls__poll(struct tls *t);

struct tls_stats {
	__u32 processes; /* processes with the probes attached */
	__u64 attach_failures; /* processes whose probes could not be attached */
};

void tls__stats(const struct tls *t, struct tls_stats *out);

#define TLS_FN_MAX 4 /* SSL_write, SSL_write_ex, SSL_read, SSL_read_ex */

/*
 * File offsets of SSL_write, SSL_write_ex, SSL_read and SSL_read_ex in the
 * ELF file at path (a libssl, or a program that exports them), read from
 * its dynamic symbol table and its executable PT_LOAD segments; 0 for each
 * one absent. Returns 0, -ENOENT when SSL_write or SSL_read is missing
 * (the file cannot be probed), or -errno when it cannot be opened. Any
 * bytes are safe to give it: libelf checks every table against the file.
 */
int tls__offsets(const char *path, __u64 off[TLS_FN_MAX]);

#endif
