/*
 * The price of a wakeup on this machine, the anchor beside the voice
 * call's context switches (issue 19; voipbench voice -wakeup). A thread
 * that does nothing else is woken every 20 ms, a voice frame's period:
 * first by a timer (it sleeps to a deadline, as a device thread or a paced
 * source does), then by a byte a thread on another CPU writes to a pipe it
 * reads (as a packet from roomd on the other CPU wakes a receiver). The
 * CPU time it is charged per wakeup is what each wakeup of a call costs
 * before any work is done in it; on a virtual machine, the hypervisor's
 * share of arming the timer, halting and waking the vCPU is in it.
 *
 * Usage: wakeup SECONDS   (half of them each way)
 * Prints: wakeup TIMER_US PIPE_US   (PIPE_US 0 with one CPU online)
 * Built by scripts/bench.sh: gcc -O2 -Wall -pthread wakeup.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define PERIOD_NS 20000000L

static void next_deadline(struct timespec *t) {
	t->tv_nsec += PERIOD_NS;
	while (t->tv_nsec >= 1000000000L) {
		t->tv_nsec -= 1000000000L;
		t->tv_sec++;
	}
}

static void sleep_until(const struct timespec *t) {
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, t, NULL) == EINTR) {
	}
}

static double thread_cpu_ns(void) {
	struct timespec t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

struct writer {
	int fd, cpu;
	long n;
};

static void *write_paced(void *p) {
	struct writer *w = p;
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(w->cpu, &set);
	sched_setaffinity(0, sizeof set, &set);
	struct timespec next;
	clock_gettime(CLOCK_MONOTONIC, &next);
	for (long i = 0; i < w->n; i++) {
		next_deadline(&next);
		sleep_until(&next);
		if (write(w->fd, "x", 1) != 1) {
			break;
		}
	}
	close(w->fd);
	return NULL;
}

int main(int argc, char **argv) {
	double secs = argc > 1 ? atof(argv[1]) : 10;
	long n = (long)(secs * 1e9 / PERIOD_NS / 2);
	if (n < 1) {
		n = 1;
	}

	struct timespec next;
	clock_gettime(CLOCK_MONOTONIC, &next);
	double c0 = thread_cpu_ns();
	for (long i = 0; i < n; i++) {
		next_deadline(&next);
		sleep_until(&next);
	}
	double timer_us = (thread_cpu_ns() - c0) / 1e3 / n;

	/* The writer goes on a CPU this thread may not run on (taskset pins
	 * it), else on the next one. */
	double pipe_us = 0;
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	if (online > 1) {
		cpu_set_t mine;
		if (sched_getaffinity(0, sizeof mine, &mine) != 0) {
			perror("sched_getaffinity");
			return 1;
		}
		int other = -1;
		for (int c = 0; c < online && other < 0; c++) {
			if (!CPU_ISSET(c, &mine)) {
				other = c;
			}
		}
		if (other < 0) {
			other = 1;
		}
		int fds[2];
		if (pipe(fds) != 0) {
			perror("pipe");
			return 1;
		}
		struct writer w = {fds[1], other, n};
		pthread_t t;
		if (pthread_create(&t, NULL, write_paced, &w) != 0) {
			fprintf(stderr, "wakeup: no writer thread\n");
			return 1;
		}
		char b;
		long got = 0;
		c0 = thread_cpu_ns();
		while (read(fds[0], &b, 1) == 1) {
			got++;
		}
		double used = thread_cpu_ns() - c0;
		pthread_join(t, NULL);
		if (got != n) {
			fprintf(stderr, "wakeup: %ld of %ld bytes through the pipe\n", got, n);
			return 1;
		}
		pipe_us = used / 1e3 / n;
	}
	printf("wakeup %.2f %.2f\n", timer_us, pipe_us);
	return 0;
}
