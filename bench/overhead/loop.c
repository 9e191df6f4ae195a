// SPDX-License-Identifier: MIT
/*
 * The measured workload: N getppid() syscalls on one CPU, printing the mean
 * nanoseconds per call. With --agent it also serves as a light agent
 * process: a burst of syscalls every 100 ms until killed. With --paced N it
 * makes exactly N calls, 100 every millisecond (absolute deadlines, so it
 * keeps pace when it is late), as an agent paced by its peers would.
 */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 1000000, i;
	int cpu = argc > 2 ? atoi(argv[2]) : 1;
	cpu_set_t set;
	double t0;

	if (argc > 1 && !strcmp(argv[1], "--agent")) {
		struct timespec nap = {0, 100 * 1000 * 1000};

		for (;;) {
			for (i = 0; i < 50; i++)
				syscall(SYS_getppid);
			nanosleep(&nap, NULL);
		}
	}
	if (argc > 2 && !strcmp(argv[1], "--paced")) {
		struct timespec next;

		n = atol(argv[2]);
		clock_gettime(CLOCK_MONOTONIC, &next);
		for (i = 0; i < n; i++) {
			syscall(SYS_getppid);
			if (i % 100 != 99)
				continue;
			next.tv_nsec += 1000000;
			if (next.tv_nsec >= 1000000000L) {
				next.tv_nsec -= 1000000000L;
				next.tv_sec++;
			}
			clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
		}
		return 0;
	}
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
	for (i = 0; i < 10000; i++) /* warm up */
		syscall(SYS_getppid);
	t0 = now_ns();
	for (i = 0; i < n; i++)
		syscall(SYS_getppid);
	printf("%.1f\n", (now_ns() - t0) / n);
	return 0;
}
