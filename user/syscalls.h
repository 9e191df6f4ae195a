/* SPDX-License-Identifier: MIT */
#ifndef SW_SYSCALLS_H
#define SW_SYSCALLS_H

#include <linux/types.h>

#include "swarmwatch.h"

/* Fills classes[0..n) with the enum sw_class of each syscall number. */
void syscalls__fill_classes(__u8 *classes, int n);

/* Number of syscall `name` on this architecture, or -ENOENT. */
int syscalls__number(const char *name);

/* The `class` label value of a class; "other" for anything out of range. */
const char *syscalls__class_name(int cls);

/* Symbolic name of errno err ("ENOENT"); "other" for 0 or unknown values. */
const char *syscalls__errno_name(int err);

/* errno number of a symbolic name, or -EINVAL. */
int syscalls__errno_parse(const char *name);

#endif
