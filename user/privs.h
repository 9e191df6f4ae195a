/* SPDX-License-Identifier: MIT */
#ifndef SW_PRIVS_H
#define SW_PRIVS_H

#include <stdbool.h>
#include <stddef.h>

/* The capabilities the daemon still uses once it has loaded its BPF programs. */
struct privs_need {
	/*
	 * Classifying each exec reads /proc/PID/exe, which the kernel only shows to a
	 * process whose capabilities cover the target's (or CAP_SYS_PTRACE); always.
	 */
	bool exec_classify;
	/*
	 * TLS capture attaches uprobes to processes that start later: CAP_SYS_PTRACE for
	 * their /proc/PID/maps, CAP_DAC_READ_SEARCH for a container's libssl through
	 * /proc/PID/root. Multi-uprobe links (Linux 6.6) need nothing more.
	 */
	bool tls;
	/* Perf-event uprobes instead: perf_event_open() of a uprobe needs CAP_PERFMON. */
	bool tls_perf;
};

/*
 * Drops every capability but those need names from the effective, permitted,
 * inheritable and ambient sets, and (with CAP_SETPCAP) from the bounding set, so that no
 * program the daemon runs gets them back. Capabilities are per thread: call it before any
 * thread is created, and threads started later inherit the result. A capability that is not
 * permitted now is not kept. kept gets the names of those kept ("cap_sys_ptrace" or "none"),
 * with a note when the bounding set could not be changed.
 * Returns 0, or -errno with one line in err.
 */
int privs__drop(const struct privs_need *need, char *kept, size_t keptlen, char *err,
		size_t errlen);

/* Names of this thread's effective capabilities, comma-separated, or "none". */
void privs__effective(char *out, size_t len);

#endif
