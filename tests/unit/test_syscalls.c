// SPDX-License-Identifier: MIT
/* Syscall classes and errno names on the build architecture. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <sys/syscall.h>

#include "syscalls.h"

static void test_classes(void **state)
{
	__u8 c[SW_SYSCALL_MAX];

	(void)state;
	syscalls__fill_classes(c, SW_SYSCALL_MAX);
	assert_int_equal(c[SYS_getppid], SW_CLASS_PROCESS);
	assert_int_equal(c[SYS_openat], SW_CLASS_FILE);
	assert_int_equal(c[SYS_read], SW_CLASS_FILE);
	assert_int_equal(c[SYS_connect], SW_CLASS_NET);
	assert_int_equal(c[SYS_sendto], SW_CLASS_NET);
	assert_int_equal(c[SYS_mmap], SW_CLASS_MEMORY);
	assert_int_equal(c[SYS_futex], SW_CLASS_IPC);
	assert_int_equal(c[SYS_clock_nanosleep], SW_CLASS_TIME);
	assert_int_equal(c[SYS_reboot], SW_CLASS_OTHER);
	assert_int_equal(c[SYS_exit_group], SW_CLASS_PROCESS);
}

/* A name that is a prefix of another must not match it (read vs readv, readahead). */
static void test_whole_words(void **state)
{
	__u8 c[SW_SYSCALL_MAX];

	(void)state;
	syscalls__fill_classes(c, SW_SYSCALL_MAX);
	assert_int_equal(c[SYS_setns], SW_CLASS_PROCESS);
	assert_int_equal(c[SYS_bpf], SW_CLASS_OTHER);
	assert_int_equal(syscalls__number("getppid"), SYS_getppid);
	assert_int_equal(syscalls__number("no_such_call"), -ENOENT);
}

static void test_class_names(void **state)
{
	(void)state;
	assert_string_equal(syscalls__class_name(SW_CLASS_NET), "net");
	assert_string_equal(syscalls__class_name(SW_CLASS_MAX), "other");
	assert_string_equal(syscalls__class_name(-1), "other");
}

static void test_errno_names(void **state)
{
	(void)state;
	assert_string_equal(syscalls__errno_name(ENOENT), "ENOENT");
	assert_string_equal(syscalls__errno_name(0), "other");
	assert_int_equal(syscalls__errno_parse("EACCES"), EACCES);
	assert_int_equal(syscalls__errno_parse("eacces"), -EINVAL);
	assert_int_equal(syscalls__errno_parse(""), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classes),
		cmocka_unit_test(test_whole_words),
		cmocka_unit_test(test_class_names),
		cmocka_unit_test(test_errno_names),
	};

	return cmocka_run_group_tests_name("syscalls", tests, NULL, NULL);
}
