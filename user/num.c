// SPDX-License-Identifier: MIT
/* Bounded, saturating decimal integer parsing (see num.h). */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>

#include "num.h"

int num__parse(const char *s, const char **end, long long lo, long long hi, long long *out)
{
	unsigned long long mag = 0, cap;
	const char *p = s;
	bool neg = false;

	if (lo < 0 && *p == '-') {
		neg = true;
		p++;
	}
	if (*p < '0' || *p > '9') {
		if (end)
			*end = s;
		return -EINVAL;
	}
	/* Past 2^63 + 1, above every bound of either sign: stop growing, keep reading digits. */
	cap = (unsigned long long)LLONG_MAX + 2;
	for (; *p >= '0' && *p <= '9'; p++)
		mag = mag > (cap - (*p - '0')) / 10 ? cap : mag * 10 + (*p - '0');
	if (end)
		*end = p;
	else if (*p)
		return -EINVAL;
	if (neg) {
		if (mag > (unsigned long long)-(lo + 1) + 1) {
			*out = lo;
			return -ERANGE;
		}
		*out = mag ? -(long long)(mag - 1) - 1 : 0;
	} else {
		if (hi < 0 || mag > (unsigned long long)hi) {
			*out = hi;
			return -ERANGE;
		}
		*out = (long long)mag;
	}
	if (*out < lo) {
		*out = lo;
		return -ERANGE;
	}
	if (*out > hi) {
		*out = hi;
		return -ERANGE;
	}
	return 0;
}
