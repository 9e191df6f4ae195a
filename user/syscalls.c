// SPDX-License-Identifier: MIT
/*
 * Syscall classes and errno names. Numbers come from the build
 * architecture's <asm/unistd.h>, so the table is right on every arch the
 * daemon is built for; a syscall this arch lacks is skipped.
 */
#include <errno.h>
#include <string.h>
#include <sys/syscall.h>

#include "syscalls.h"

struct class_entry {
	int nr;
	unsigned char cls;
};

#define E(name, cls) { __NR_##name, SW_CLASS_##cls },

static const struct class_entry class_table[] = {
#ifdef __NR_read
	E(read, FILE)
#endif
#ifdef __NR_write
	E(write, FILE)
#endif
#ifdef __NR_open
	E(open, FILE)
#endif
#ifdef __NR_close
	E(close, FILE)
#endif
#ifdef __NR_stat
	E(stat, FILE)
#endif
#ifdef __NR_fstat
	E(fstat, FILE)
#endif
#ifdef __NR_lstat
	E(lstat, FILE)
#endif
#ifdef __NR_newfstatat
	E(newfstatat, FILE)
#endif
#ifdef __NR_statx
	E(statx, FILE)
#endif
#ifdef __NR_lseek
	E(lseek, FILE)
#endif
#ifdef __NR_pread64
	E(pread64, FILE)
#endif
#ifdef __NR_pwrite64
	E(pwrite64, FILE)
#endif
#ifdef __NR_readv
	E(readv, FILE)
#endif
#ifdef __NR_writev
	E(writev, FILE)
#endif
#ifdef __NR_preadv
	E(preadv, FILE)
#endif
#ifdef __NR_pwritev
	E(pwritev, FILE)
#endif
#ifdef __NR_preadv2
	E(preadv2, FILE)
#endif
#ifdef __NR_pwritev2
	E(pwritev2, FILE)
#endif
#ifdef __NR_access
	E(access, FILE)
#endif
#ifdef __NR_faccessat
	E(faccessat, FILE)
#endif
#ifdef __NR_faccessat2
	E(faccessat2, FILE)
#endif
#ifdef __NR_openat
	E(openat, FILE)
#endif
#ifdef __NR_openat2
	E(openat2, FILE)
#endif
#ifdef __NR_creat
	E(creat, FILE)
#endif
#ifdef __NR_truncate
	E(truncate, FILE)
#endif
#ifdef __NR_ftruncate
	E(ftruncate, FILE)
#endif
#ifdef __NR_fsync
	E(fsync, FILE)
#endif
#ifdef __NR_fdatasync
	E(fdatasync, FILE)
#endif
#ifdef __NR_sync
	E(sync, FILE)
#endif
#ifdef __NR_syncfs
	E(syncfs, FILE)
#endif
#ifdef __NR_sync_file_range
	E(sync_file_range, FILE)
#endif
#ifdef __NR_getdents
	E(getdents, FILE)
#endif
#ifdef __NR_getdents64
	E(getdents64, FILE)
#endif
#ifdef __NR_getcwd
	E(getcwd, FILE)
#endif
#ifdef __NR_chdir
	E(chdir, FILE)
#endif
#ifdef __NR_fchdir
	E(fchdir, FILE)
#endif
#ifdef __NR_rename
	E(rename, FILE)
#endif
#ifdef __NR_renameat
	E(renameat, FILE)
#endif
#ifdef __NR_renameat2
	E(renameat2, FILE)
#endif
#ifdef __NR_mkdir
	E(mkdir, FILE)
#endif
#ifdef __NR_mkdirat
	E(mkdirat, FILE)
#endif
#ifdef __NR_rmdir
	E(rmdir, FILE)
#endif
#ifdef __NR_link
	E(link, FILE)
#endif
#ifdef __NR_linkat
	E(linkat, FILE)
#endif
#ifdef __NR_unlink
	E(unlink, FILE)
#endif
#ifdef __NR_unlinkat
	E(unlinkat, FILE)
#endif
#ifdef __NR_symlink
	E(symlink, FILE)
#endif
#ifdef __NR_symlinkat
	E(symlinkat, FILE)
#endif
#ifdef __NR_readlink
	E(readlink, FILE)
#endif
#ifdef __NR_readlinkat
	E(readlinkat, FILE)
#endif
#ifdef __NR_chmod
	E(chmod, FILE)
#endif
#ifdef __NR_fchmod
	E(fchmod, FILE)
#endif
#ifdef __NR_fchmodat
	E(fchmodat, FILE)
#endif
#ifdef __NR_fchmodat2
	E(fchmodat2, FILE)
#endif
#ifdef __NR_chown
	E(chown, FILE)
#endif
#ifdef __NR_fchown
	E(fchown, FILE)
#endif
#ifdef __NR_lchown
	E(lchown, FILE)
#endif
#ifdef __NR_fchownat
	E(fchownat, FILE)
#endif
#ifdef __NR_umask
	E(umask, FILE)
#endif
#ifdef __NR_utime
	E(utime, FILE)
#endif
#ifdef __NR_utimes
	E(utimes, FILE)
#endif
#ifdef __NR_utimensat
	E(utimensat, FILE)
#endif
#ifdef __NR_futimesat
	E(futimesat, FILE)
#endif
#ifdef __NR_fcntl
	E(fcntl, FILE)
#endif
#ifdef __NR_flock
	E(flock, FILE)
#endif
#ifdef __NR_dup
	E(dup, FILE)
#endif
#ifdef __NR_dup2
	E(dup2, FILE)
#endif
#ifdef __NR_dup3
	E(dup3, FILE)
#endif
#ifdef __NR_ioctl
	E(ioctl, FILE)
#endif
#ifdef __NR_statfs
	E(statfs, FILE)
#endif
#ifdef __NR_fstatfs
	E(fstatfs, FILE)
#endif
#ifdef __NR_sendfile
	E(sendfile, FILE)
#endif
#ifdef __NR_copy_file_range
	E(copy_file_range, FILE)
#endif
#ifdef __NR_splice
	E(splice, FILE)
#endif
#ifdef __NR_tee
	E(tee, FILE)
#endif
#ifdef __NR_vmsplice
	E(vmsplice, FILE)
#endif
#ifdef __NR_fallocate
	E(fallocate, FILE)
#endif
#ifdef __NR_fadvise64
	E(fadvise64, FILE)
#endif
#ifdef __NR_getxattr
	E(getxattr, FILE)
#endif
#ifdef __NR_setxattr
	E(setxattr, FILE)
#endif
#ifdef __NR_lgetxattr
	E(lgetxattr, FILE)
#endif
#ifdef __NR_lsetxattr
	E(lsetxattr, FILE)
#endif
#ifdef __NR_fgetxattr
	E(fgetxattr, FILE)
#endif
#ifdef __NR_fsetxattr
	E(fsetxattr, FILE)
#endif
#ifdef __NR_listxattr
	E(listxattr, FILE)
#endif
#ifdef __NR_llistxattr
	E(llistxattr, FILE)
#endif
#ifdef __NR_flistxattr
	E(flistxattr, FILE)
#endif
#ifdef __NR_removexattr
	E(removexattr, FILE)
#endif
#ifdef __NR_lremovexattr
	E(lremovexattr, FILE)
#endif
#ifdef __NR_fremovexattr
	E(fremovexattr, FILE)
#endif
#ifdef __NR_inotify_init
	E(inotify_init, FILE)
#endif
#ifdef __NR_inotify_init1
	E(inotify_init1, FILE)
#endif
#ifdef __NR_inotify_add_watch
	E(inotify_add_watch, FILE)
#endif
#ifdef __NR_inotify_rm_watch
	E(inotify_rm_watch, FILE)
#endif
#ifdef __NR_fanotify_init
	E(fanotify_init, FILE)
#endif
#ifdef __NR_fanotify_mark
	E(fanotify_mark, FILE)
#endif
#ifdef __NR_name_to_handle_at
	E(name_to_handle_at, FILE)
#endif
#ifdef __NR_open_by_handle_at
	E(open_by_handle_at, FILE)
#endif
#ifdef __NR_mknod
	E(mknod, FILE)
#endif
#ifdef __NR_mknodat
	E(mknodat, FILE)
#endif
#ifdef __NR_io_setup
	E(io_setup, FILE)
#endif
#ifdef __NR_io_destroy
	E(io_destroy, FILE)
#endif
#ifdef __NR_io_submit
	E(io_submit, FILE)
#endif
#ifdef __NR_io_getevents
	E(io_getevents, FILE)
#endif
#ifdef __NR_io_pgetevents
	E(io_pgetevents, FILE)
#endif
#ifdef __NR_io_cancel
	E(io_cancel, FILE)
#endif
#ifdef __NR_io_uring_setup
	E(io_uring_setup, FILE)
#endif
#ifdef __NR_io_uring_enter
	E(io_uring_enter, FILE)
#endif
#ifdef __NR_io_uring_register
	E(io_uring_register, FILE)
#endif
#ifdef __NR_close_range
	E(close_range, FILE)
#endif
#ifdef __NR_poll
	E(poll, FILE)
#endif
#ifdef __NR_ppoll
	E(ppoll, FILE)
#endif
#ifdef __NR_select
	E(select, FILE)
#endif
#ifdef __NR_pselect6
	E(pselect6, FILE)
#endif
#ifdef __NR_epoll_create
	E(epoll_create, FILE)
#endif
#ifdef __NR_epoll_create1
	E(epoll_create1, FILE)
#endif
#ifdef __NR_epoll_ctl
	E(epoll_ctl, FILE)
#endif
#ifdef __NR_epoll_wait
	E(epoll_wait, FILE)
#endif
#ifdef __NR_epoll_pwait
	E(epoll_pwait, FILE)
#endif
#ifdef __NR_epoll_pwait2
	E(epoll_pwait2, FILE)
#endif
#ifdef __NR_mount
	E(mount, FILE)
#endif
#ifdef __NR_umount2
	E(umount2, FILE)
#endif
#ifdef __NR_pivot_root
	E(pivot_root, FILE)
#endif
#ifdef __NR_chroot
	E(chroot, FILE)
#endif
#ifdef __NR_readahead
	E(readahead, FILE)
#endif
#ifdef __NR_socket
	E(socket, NET)
#endif
#ifdef __NR_socketpair
	E(socketpair, NET)
#endif
#ifdef __NR_bind
	E(bind, NET)
#endif
#ifdef __NR_listen
	E(listen, NET)
#endif
#ifdef __NR_accept
	E(accept, NET)
#endif
#ifdef __NR_accept4
	E(accept4, NET)
#endif
#ifdef __NR_connect
	E(connect, NET)
#endif
#ifdef __NR_getsockname
	E(getsockname, NET)
#endif
#ifdef __NR_getpeername
	E(getpeername, NET)
#endif
#ifdef __NR_sendto
	E(sendto, NET)
#endif
#ifdef __NR_recvfrom
	E(recvfrom, NET)
#endif
#ifdef __NR_sendmsg
	E(sendmsg, NET)
#endif
#ifdef __NR_recvmsg
	E(recvmsg, NET)
#endif
#ifdef __NR_sendmmsg
	E(sendmmsg, NET)
#endif
#ifdef __NR_recvmmsg
	E(recvmmsg, NET)
#endif
#ifdef __NR_shutdown
	E(shutdown, NET)
#endif
#ifdef __NR_setsockopt
	E(setsockopt, NET)
#endif
#ifdef __NR_getsockopt
	E(getsockopt, NET)
#endif
#ifdef __NR_fork
	E(fork, PROCESS)
#endif
#ifdef __NR_vfork
	E(vfork, PROCESS)
#endif
#ifdef __NR_clone
	E(clone, PROCESS)
#endif
#ifdef __NR_clone3
	E(clone3, PROCESS)
#endif
#ifdef __NR_execve
	E(execve, PROCESS)
#endif
#ifdef __NR_execveat
	E(execveat, PROCESS)
#endif
#ifdef __NR_exit
	E(exit, PROCESS)
#endif
#ifdef __NR_exit_group
	E(exit_group, PROCESS)
#endif
#ifdef __NR_wait4
	E(wait4, PROCESS)
#endif
#ifdef __NR_waitid
	E(waitid, PROCESS)
#endif
#ifdef __NR_kill
	E(kill, PROCESS)
#endif
#ifdef __NR_tkill
	E(tkill, PROCESS)
#endif
#ifdef __NR_tgkill
	E(tgkill, PROCESS)
#endif
#ifdef __NR_getpid
	E(getpid, PROCESS)
#endif
#ifdef __NR_getppid
	E(getppid, PROCESS)
#endif
#ifdef __NR_gettid
	E(gettid, PROCESS)
#endif
#ifdef __NR_getuid
	E(getuid, PROCESS)
#endif
#ifdef __NR_geteuid
	E(geteuid, PROCESS)
#endif
#ifdef __NR_getgid
	E(getgid, PROCESS)
#endif
#ifdef __NR_getegid
	E(getegid, PROCESS)
#endif
#ifdef __NR_setuid
	E(setuid, PROCESS)
#endif
#ifdef __NR_setgid
	E(setgid, PROCESS)
#endif
#ifdef __NR_setreuid
	E(setreuid, PROCESS)
#endif
#ifdef __NR_setregid
	E(setregid, PROCESS)
#endif
#ifdef __NR_setresuid
	E(setresuid, PROCESS)
#endif
#ifdef __NR_setresgid
	E(setresgid, PROCESS)
#endif
#ifdef __NR_getresuid
	E(getresuid, PROCESS)
#endif
#ifdef __NR_getresgid
	E(getresgid, PROCESS)
#endif
#ifdef __NR_getgroups
	E(getgroups, PROCESS)
#endif
#ifdef __NR_setgroups
	E(setgroups, PROCESS)
#endif
#ifdef __NR_setsid
	E(setsid, PROCESS)
#endif
#ifdef __NR_getsid
	E(getsid, PROCESS)
#endif
#ifdef __NR_setpgid
	E(setpgid, PROCESS)
#endif
#ifdef __NR_getpgid
	E(getpgid, PROCESS)
#endif
#ifdef __NR_getpgrp
	E(getpgrp, PROCESS)
#endif
#ifdef __NR_prctl
	E(prctl, PROCESS)
#endif
#ifdef __NR_arch_prctl
	E(arch_prctl, PROCESS)
#endif
#ifdef __NR_set_tid_address
	E(set_tid_address, PROCESS)
#endif
#ifdef __NR_capget
	E(capget, PROCESS)
#endif
#ifdef __NR_capset
	E(capset, PROCESS)
#endif
#ifdef __NR_getpriority
	E(getpriority, PROCESS)
#endif
#ifdef __NR_setpriority
	E(setpriority, PROCESS)
#endif
#ifdef __NR_sched_yield
	E(sched_yield, PROCESS)
#endif
#ifdef __NR_sched_setaffinity
	E(sched_setaffinity, PROCESS)
#endif
#ifdef __NR_sched_getaffinity
	E(sched_getaffinity, PROCESS)
#endif
#ifdef __NR_sched_setparam
	E(sched_setparam, PROCESS)
#endif
#ifdef __NR_sched_getparam
	E(sched_getparam, PROCESS)
#endif
#ifdef __NR_sched_setscheduler
	E(sched_setscheduler, PROCESS)
#endif
#ifdef __NR_sched_getscheduler
	E(sched_getscheduler, PROCESS)
#endif
#ifdef __NR_sched_get_priority_max
	E(sched_get_priority_max, PROCESS)
#endif
#ifdef __NR_sched_get_priority_min
	E(sched_get_priority_min, PROCESS)
#endif
#ifdef __NR_sched_rr_get_interval
	E(sched_rr_get_interval, PROCESS)
#endif
#ifdef __NR_sched_setattr
	E(sched_setattr, PROCESS)
#endif
#ifdef __NR_sched_getattr
	E(sched_getattr, PROCESS)
#endif
#ifdef __NR_getrlimit
	E(getrlimit, PROCESS)
#endif
#ifdef __NR_setrlimit
	E(setrlimit, PROCESS)
#endif
#ifdef __NR_prlimit64
	E(prlimit64, PROCESS)
#endif
#ifdef __NR_getrusage
	E(getrusage, PROCESS)
#endif
#ifdef __NR_times
	E(times, PROCESS)
#endif
#ifdef __NR_uname
	E(uname, PROCESS)
#endif
#ifdef __NR_sysinfo
	E(sysinfo, PROCESS)
#endif
#ifdef __NR_ptrace
	E(ptrace, PROCESS)
#endif
#ifdef __NR_personality
	E(personality, PROCESS)
#endif
#ifdef __NR_unshare
	E(unshare, PROCESS)
#endif
#ifdef __NR_setns
	E(setns, PROCESS)
#endif
#ifdef __NR_pidfd_open
	E(pidfd_open, PROCESS)
#endif
#ifdef __NR_pidfd_send_signal
	E(pidfd_send_signal, PROCESS)
#endif
#ifdef __NR_pidfd_getfd
	E(pidfd_getfd, PROCESS)
#endif
#ifdef __NR_seccomp
	E(seccomp, PROCESS)
#endif
#ifdef __NR_set_robust_list
	E(set_robust_list, PROCESS)
#endif
#ifdef __NR_get_robust_list
	E(get_robust_list, PROCESS)
#endif
#ifdef __NR_rseq
	E(rseq, PROCESS)
#endif
#ifdef __NR_ioprio_set
	E(ioprio_set, PROCESS)
#endif
#ifdef __NR_ioprio_get
	E(ioprio_get, PROCESS)
#endif
#ifdef __NR_setfsuid
	E(setfsuid, PROCESS)
#endif
#ifdef __NR_setfsgid
	E(setfsgid, PROCESS)
#endif
#ifdef __NR_mmap
	E(mmap, MEMORY)
#endif
#ifdef __NR_munmap
	E(munmap, MEMORY)
#endif
#ifdef __NR_mprotect
	E(mprotect, MEMORY)
#endif
#ifdef __NR_mremap
	E(mremap, MEMORY)
#endif
#ifdef __NR_msync
	E(msync, MEMORY)
#endif
#ifdef __NR_mincore
	E(mincore, MEMORY)
#endif
#ifdef __NR_madvise
	E(madvise, MEMORY)
#endif
#ifdef __NR_brk
	E(brk, MEMORY)
#endif
#ifdef __NR_mlock
	E(mlock, MEMORY)
#endif
#ifdef __NR_munlock
	E(munlock, MEMORY)
#endif
#ifdef __NR_mlockall
	E(mlockall, MEMORY)
#endif
#ifdef __NR_munlockall
	E(munlockall, MEMORY)
#endif
#ifdef __NR_mlock2
	E(mlock2, MEMORY)
#endif
#ifdef __NR_membarrier
	E(membarrier, MEMORY)
#endif
#ifdef __NR_process_madvise
	E(process_madvise, MEMORY)
#endif
#ifdef __NR_process_vm_readv
	E(process_vm_readv, MEMORY)
#endif
#ifdef __NR_process_vm_writev
	E(process_vm_writev, MEMORY)
#endif
#ifdef __NR_memfd_create
	E(memfd_create, MEMORY)
#endif
#ifdef __NR_memfd_secret
	E(memfd_secret, MEMORY)
#endif
#ifdef __NR_pkey_mprotect
	E(pkey_mprotect, MEMORY)
#endif
#ifdef __NR_pkey_alloc
	E(pkey_alloc, MEMORY)
#endif
#ifdef __NR_pkey_free
	E(pkey_free, MEMORY)
#endif
#ifdef __NR_mbind
	E(mbind, MEMORY)
#endif
#ifdef __NR_set_mempolicy
	E(set_mempolicy, MEMORY)
#endif
#ifdef __NR_get_mempolicy
	E(get_mempolicy, MEMORY)
#endif
#ifdef __NR_migrate_pages
	E(migrate_pages, MEMORY)
#endif
#ifdef __NR_move_pages
	E(move_pages, MEMORY)
#endif
#ifdef __NR_remap_file_pages
	E(remap_file_pages, MEMORY)
#endif
#ifdef __NR_userfaultfd
	E(userfaultfd, MEMORY)
#endif
#ifdef __NR_pipe
	E(pipe, IPC)
#endif
#ifdef __NR_pipe2
	E(pipe2, IPC)
#endif
#ifdef __NR_futex
	E(futex, IPC)
#endif
#ifdef __NR_futex_waitv
	E(futex_waitv, IPC)
#endif
#ifdef __NR_eventfd
	E(eventfd, IPC)
#endif
#ifdef __NR_eventfd2
	E(eventfd2, IPC)
#endif
#ifdef __NR_signalfd
	E(signalfd, IPC)
#endif
#ifdef __NR_signalfd4
	E(signalfd4, IPC)
#endif
#ifdef __NR_rt_sigaction
	E(rt_sigaction, IPC)
#endif
#ifdef __NR_rt_sigprocmask
	E(rt_sigprocmask, IPC)
#endif
#ifdef __NR_rt_sigreturn
	E(rt_sigreturn, IPC)
#endif
#ifdef __NR_rt_sigpending
	E(rt_sigpending, IPC)
#endif
#ifdef __NR_rt_sigtimedwait
	E(rt_sigtimedwait, IPC)
#endif
#ifdef __NR_rt_sigqueueinfo
	E(rt_sigqueueinfo, IPC)
#endif
#ifdef __NR_rt_tgsigqueueinfo
	E(rt_tgsigqueueinfo, IPC)
#endif
#ifdef __NR_rt_sigsuspend
	E(rt_sigsuspend, IPC)
#endif
#ifdef __NR_sigaltstack
	E(sigaltstack, IPC)
#endif
#ifdef __NR_pause
	E(pause, IPC)
#endif
#ifdef __NR_msgget
	E(msgget, IPC)
#endif
#ifdef __NR_msgsnd
	E(msgsnd, IPC)
#endif
#ifdef __NR_msgrcv
	E(msgrcv, IPC)
#endif
#ifdef __NR_msgctl
	E(msgctl, IPC)
#endif
#ifdef __NR_semget
	E(semget, IPC)
#endif
#ifdef __NR_semop
	E(semop, IPC)
#endif
#ifdef __NR_semtimedop
	E(semtimedop, IPC)
#endif
#ifdef __NR_semctl
	E(semctl, IPC)
#endif
#ifdef __NR_shmget
	E(shmget, IPC)
#endif
#ifdef __NR_shmat
	E(shmat, IPC)
#endif
#ifdef __NR_shmdt
	E(shmdt, IPC)
#endif
#ifdef __NR_shmctl
	E(shmctl, IPC)
#endif
#ifdef __NR_mq_open
	E(mq_open, IPC)
#endif
#ifdef __NR_mq_unlink
	E(mq_unlink, IPC)
#endif
#ifdef __NR_mq_timedsend
	E(mq_timedsend, IPC)
#endif
#ifdef __NR_mq_timedreceive
	E(mq_timedreceive, IPC)
#endif
#ifdef __NR_mq_notify
	E(mq_notify, IPC)
#endif
#ifdef __NR_mq_getsetattr
	E(mq_getsetattr, IPC)
#endif
#ifdef __NR_nanosleep
	E(nanosleep, TIME)
#endif
#ifdef __NR_clock_nanosleep
	E(clock_nanosleep, TIME)
#endif
#ifdef __NR_clock_gettime
	E(clock_gettime, TIME)
#endif
#ifdef __NR_clock_settime
	E(clock_settime, TIME)
#endif
#ifdef __NR_clock_getres
	E(clock_getres, TIME)
#endif
#ifdef __NR_gettimeofday
	E(gettimeofday, TIME)
#endif
#ifdef __NR_settimeofday
	E(settimeofday, TIME)
#endif
#ifdef __NR_time
	E(time, TIME)
#endif
#ifdef __NR_alarm
	E(alarm, TIME)
#endif
#ifdef __NR_getitimer
	E(getitimer, TIME)
#endif
#ifdef __NR_setitimer
	E(setitimer, TIME)
#endif
#ifdef __NR_timer_create
	E(timer_create, TIME)
#endif
#ifdef __NR_timer_settime
	E(timer_settime, TIME)
#endif
#ifdef __NR_timer_gettime
	E(timer_gettime, TIME)
#endif
#ifdef __NR_timer_getoverrun
	E(timer_getoverrun, TIME)
#endif
#ifdef __NR_timer_delete
	E(timer_delete, TIME)
#endif
#ifdef __NR_timerfd_create
	E(timerfd_create, TIME)
#endif
#ifdef __NR_timerfd_settime
	E(timerfd_settime, TIME)
#endif
#ifdef __NR_timerfd_gettime
	E(timerfd_gettime, TIME)
#endif
#ifdef __NR_adjtimex
	E(adjtimex, TIME)
#endif
#ifdef __NR_clock_adjtime
	E(clock_adjtime, TIME)
#endif
};

#undef E

void syscalls__fill_classes(__u8 *classes, int n)
{
	size_t i;

	memset(classes, SW_CLASS_OTHER, n);
	for (i = 0; i < sizeof(class_table) / sizeof(class_table[0]); i++) {
		if (class_table[i].nr >= 0 && class_table[i].nr < n)
			classes[class_table[i].nr] = class_table[i].cls;
	}
}

const char *syscalls__class_name(int cls)
{
	static const char *const names[SW_CLASS_MAX] = {
		[SW_CLASS_OTHER] = "other",	[SW_CLASS_FILE] = "file",
		[SW_CLASS_NET] = "net",		[SW_CLASS_PROCESS] = "process",
		[SW_CLASS_MEMORY] = "memory",	[SW_CLASS_IPC] = "ipc",
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
