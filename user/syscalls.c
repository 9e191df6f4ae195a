// SPDX-License-Identifier: MIT
/*
 * Syscall classes and errno names. Classes are lists of syscall names; the
 * numbers come from the build architecture's <asm/unistd.h> through the
 * generated syscall_table.h, so the mapping is right on every architecture
 * the daemon is built for, and names an architecture lacks are ignored.
 */
#include <errno.h>
#include <string.h>

#include "syscalls.h"

struct syscall_entry {
	const char *name;
	int nr;
};

static const struct syscall_entry syscall_table[] = {
#include "syscall_table.h"
};

/* Space-separated syscall names of each class; anything else is "other". */
static const char *const class_members[SW_CLASS_MAX] = {
	[SW_CLASS_FILE] =
		"read write open close stat fstat lstat newfstatat statx lseek pread64 pwrite64 readv "
		"writev preadv pwritev preadv2 pwritev2 access faccessat faccessat2 openat openat2 creat "
		"truncate ftruncate fsync fdatasync sync syncfs sync_file_range getdents getdents64 "
		"getcwd chdir fchdir rename renameat renameat2 mkdir mkdirat rmdir link linkat unlink "
		"unlinkat symlink symlinkat readlink readlinkat chmod fchmod fchmodat fchmodat2 chown "
		"fchown lchown fchownat umask utime utimes utimensat futimesat fcntl flock dup dup2 dup3 "
		"ioctl statfs fstatfs sendfile copy_file_range splice tee vmsplice fallocate fadvise64 "
		"getxattr setxattr lgetxattr lsetxattr fgetxattr fsetxattr listxattr llistxattr "
		"flistxattr removexattr lremovexattr fremovexattr inotify_init inotify_init1 "
		"inotify_add_watch inotify_rm_watch fanotify_init fanotify_mark name_to_handle_at "
		"open_by_handle_at mknod mknodat io_setup io_destroy io_submit io_getevents io_pgetevents "
		"io_cancel io_uring_setup io_uring_enter io_uring_register close_range poll ppoll select "
		"pselect6 epoll_create epoll_create1 epoll_ctl epoll_wait epoll_pwait epoll_pwait2 mount "
		"umount2 pivot_root chroot readahead ",
	[SW_CLASS_NET] =
		"socket socketpair bind listen accept accept4 connect getsockname getpeername sendto "
		"recvfrom sendmsg recvmsg sendmmsg recvmmsg shutdown setsockopt getsockopt ",
	[SW_CLASS_PROCESS] =
		"fork vfork clone clone3 execve execveat exit exit_group wait4 waitid kill tkill tgkill "
		"getpid getppid gettid getuid geteuid getgid getegid setuid setgid setreuid setregid "
		"setresuid setresgid getresuid getresgid getgroups setgroups setsid getsid setpgid "
		"getpgid getpgrp prctl arch_prctl set_tid_address capget capset getpriority setpriority "
		"sched_yield sched_setaffinity sched_getaffinity sched_setparam sched_getparam "
		"sched_setscheduler sched_getscheduler sched_get_priority_max sched_get_priority_min "
		"sched_rr_get_interval sched_setattr sched_getattr getrlimit setrlimit prlimit64 "
		"getrusage times uname sysinfo ptrace personality unshare setns pidfd_open "
		"pidfd_send_signal pidfd_getfd seccomp set_robust_list get_robust_list rseq ioprio_set "
		"ioprio_get setfsuid setfsgid ",
	[SW_CLASS_MEMORY] =
		"mmap munmap mprotect mremap msync mincore madvise brk mlock munlock mlockall munlockall "
		"mlock2 membarrier process_madvise process_vm_readv process_vm_writev memfd_create "
		"memfd_secret pkey_mprotect pkey_alloc pkey_free mbind set_mempolicy get_mempolicy "
		"migrate_pages move_pages remap_file_pages userfaultfd ",
	[SW_CLASS_IPC] =
		"pipe pipe2 futex futex_waitv eventfd eventfd2 signalfd signalfd4 rt_sigaction "
		"rt_sigprocmask rt_sigreturn rt_sigpending rt_sigtimedwait rt_sigqueueinfo "
		"rt_tgsigqueueinfo rt_sigsuspend sigaltstack pause msgget msgsnd msgrcv msgctl semget "
		"semop semtimedop semctl shmget shmat shmdt shmctl mq_open mq_unlink mq_timedsend "
		"mq_timedreceive mq_notify mq_getsetattr ",
	[SW_CLASS_TIME] =
		"nanosleep clock_nanosleep clock_gettime clock_settime clock_getres gettimeofday "
		"settimeofday time alarm getitimer setitimer timer_create timer_settime timer_gettime "
		"timer_getoverrun timer_delete timerfd_create timerfd_settime timerfd_gettime adjtimex "
		"clock_adjtime ",
};

/* Whether `name` is a word of the space-separated list. */
static int in_list(const char *list, const char *name)
{
	size_t n = strlen(name);
	const char *p;

	for (p = list; (p = strstr(p, name)); p += n)
		if ((p == list || p[-1] == ' ') && (p[n] == ' ' || !p[n]))
			return 1;
	return 0;
}

void syscalls__fill_classes(__u8 *classes, int n)
{
	size_t i;
	int c;

	memset(classes, SW_CLASS_OTHER, n);
	for (i = 0; i < sizeof(syscall_table) / sizeof(syscall_table[0]); i++) {
		if (syscall_table[i].nr < 0 || syscall_table[i].nr >= n)
			continue;
		for (c = 1; c < SW_CLASS_MAX; c++) {
			if (in_list(class_members[c], syscall_table[i].name)) {
				classes[syscall_table[i].nr] = c;
				break;
			}
		}
	}
}

int syscalls__number(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(syscall_table) / sizeof(syscall_table[0]); i++)
		if (!strcmp(syscall_table[i].name, name))
			return syscall_table[i].nr;
	return -ENOENT;
}

const char *syscalls__class_name(int cls)
{
	static const char *const names[SW_CLASS_MAX] = {
		[SW_CLASS_OTHER] = "other",   [SW_CLASS_FILE] = "file",
		[SW_CLASS_NET] = "net",	      [SW_CLASS_PROCESS] = "process",
		[SW_CLASS_MEMORY] = "memory", [SW_CLASS_IPC] = "ipc",
		[SW_CLASS_TIME] = "time",
	};

	return cls >= 0 && cls < SW_CLASS_MAX ? names[cls] : "other";
}

const char *syscalls__errno_name(int err)
{
	const char *name = err > 0 ? strerrorname_np(err) : NULL;

	return name ? name : "other";
}

int syscalls__errno_parse(const char *name)
{
	int e;

	for (e = 1; e < SW_ERRNO_SLOTS; e++) {
		const char *n = strerrorname_np(e);

		if (n && !strcmp(n, name))
			return e;
	}
	return -EINVAL;
}
