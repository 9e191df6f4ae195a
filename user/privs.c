// SPDX-License-Identifier: MIT
/* Dropping the capabilities the daemon no longer needs after start-up (libcap). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>

#include "privs.h"

void privs__effective(char *out, size_t len)
{
	cap_t caps = cap_get_proc();
	cap_flag_value_t v;
	cap_value_t c;

	out[0] = 0;
	for (c = 0; caps && c <= CAP_LAST_CAP; c++) {
		char *name;

		if (cap_get_flag(caps, c, CAP_EFFECTIVE, &v) || v != CAP_SET)
			continue;
		name = cap_to_name(c);
		snprintf(out + strlen(out), len - strlen(out), "%s%s", out[0] ? "," : "",
			 name ? name : "?");
		cap_free(name);
	}
	cap_free(caps);
	if (!out[0])
		snprintf(out, len, "none");
}

int privs__drop(const struct privs_need *need, char *kept, size_t keptlen, char *err, size_t errlen)
{
	cap_value_t want[5], keep[5];
	cap_flag_value_t v;
	cap_t now, next = NULL;
	bool setpcap;
	int nwant = 0, nkeep = 0, i, ret = 0;
	cap_value_t c;

	if (need->exec_classify || need->tls)
		want[nwant++] = CAP_SYS_PTRACE;
	if (need->tls)
		want[nwant++] = CAP_DAC_READ_SEARCH;
	if (need->tls && need->tls_perf) {
		want[nwant++] = CAP_PERFMON;
		want[nwant++] = CAP_BPF;
	}
	now = cap_get_proc();
	if (!now) {
		ret = -errno;
		snprintf(err, errlen, "capabilities: cannot read them: %s", strerror(errno));
		return ret;
	}
	for (i = 0; i < nwant; i++)
		if (!cap_get_flag(now, want[i], CAP_PERMITTED, &v) && v == CAP_SET)
			keep[nkeep++] = want[i];
	setpcap = !cap_get_flag(now, CAP_SETPCAP, CAP_EFFECTIVE, &v) && v == CAP_SET;
	/* The bounding set first: dropping from it needs CAP_SETPCAP, which goes next. */
	for (c = 0; setpcap && c <= CAP_LAST_CAP; c++) {
		for (i = 0; i < nkeep && keep[i] != c; i++)
			;
		if (i == nkeep && CAP_IS_SUPPORTED(c) && cap_drop_bound(c) && errno != EINVAL) {
			ret = -errno;
			snprintf(err, errlen,
				 "capabilities: cannot drop %s from the bounding set: %s",
				 cap_to_name(c), strerror(errno));
			goto out;
		}
	}
	next = cap_init();
	if (!next || (nkeep && (cap_set_flag(next, CAP_EFFECTIVE, nkeep, keep, CAP_SET) ||
				cap_set_flag(next, CAP_PERMITTED, nkeep, keep, CAP_SET)))) {
		ret = -ENOMEM;
		snprintf(err, errlen, "capabilities: out of memory");
		goto out;
	}
	if (cap_set_proc(next)) {
		ret = -errno;
		snprintf(err, errlen, "capabilities: cannot drop them: %s", strerror(errno));
		goto out;
	}
	if (CAP_AMBIENT_SUPPORTED())
		cap_reset_ambient();
	privs__effective(kept, keptlen);
	if (!setpcap)
		snprintf(kept + strlen(kept), keptlen - strlen(kept),
			 " (bounding set left as it was: no CAP_SETPCAP)");
out:
	cap_free(next);
	cap_free(now);
	return ret;
}
