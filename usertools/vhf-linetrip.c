/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 dpdk-vhostfix authors
 */

/*
 * vhf-linetrip [CPU_A CPU_B]: how long one cache line takes to go from CPU_A
 * to CPU_B and back (default CPUs 0 and 1), in nanoseconds: two threads, one
 * pinned on each, hand a counter back and forth in one line.
 *
 * A vhost-user backend and its guest talk through lines that each writes and
 * the other reads, so this round trip sets how fast both can go at small
 * frames. On a VM it is not a constant: the hypervisor places the vCPUs now
 * close, now apart, and the rate of every guest-bound benchmark cell moves
 * with it (doc/bench-2026-12-03.md). vhf-bench.py runs this before each run
 * and records it, so that a reader can tell which placement a figure was
 * measured in. Meaningless while anything else runs on either CPU.
 *
 * Prints "line_round_trip_ns N" (the median of 9 batches).
 */

#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define TRIPS_PER_BATCH 2000
#define BATCHES 9

static _Alignas(64) atomic_uint line;
static int cpu_b;

static int
pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

/* CPU_B's side: answers each odd value with the next even one. */
static void *
answer(void *arg)
{
	unsigned int i;

	(void)arg;
	if (pin(cpu_b) != 0)
		return (void *)1;
	for (i = 0; i < TRIPS_PER_BATCH * BATCHES; i++) {
		while (atomic_load_explicit(&line, memory_order_acquire) != 2 * i + 1)
			;
		atomic_store_explicit(&line, 2 * i + 2, memory_order_release);
	}
	return NULL;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int
main(int argc, char **argv)
{
	double ns[BATCHES];
	struct timespec t0, t1;
	unsigned int i = 0, b;
	pthread_t peer;
	void *peer_ret;
	int cpu_a = 0;

	if (argc != 1 && argc != 3) {
		fprintf(stderr, "usage: vhf-linetrip [CPU_A CPU_B]\n");
		return 2;
	}
	cpu_b = 1;
	if (argc == 3) {
		cpu_a = atoi(argv[1]);
		cpu_b = atoi(argv[2]);
	}
	if (pin(cpu_a) != 0) {
		fprintf(stderr, "vhf-linetrip: cannot run on CPU %d\n", cpu_a);
		return 1;
	}
	if (pthread_create(&peer, NULL, answer, NULL) != 0) {
		fprintf(stderr, "vhf-linetrip: cannot start a thread\n");
		return 1;
	}
	for (b = 0; b < BATCHES; b++) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (; i < TRIPS_PER_BATCH * (b + 1); i++) {
			atomic_store_explicit(&line, 2 * i + 1, memory_order_release);
			while (atomic_load_explicit(&line, memory_order_acquire) != 2 * i + 2)
				;
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		ns[b] = ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) /
			TRIPS_PER_BATCH;
	}
	pthread_join(peer, &peer_ret);
	if (peer_ret != NULL) {
		fprintf(stderr, "vhf-linetrip: cannot run on CPU %d\n", cpu_b);
		return 1;
	}
	qsort(ns, BATCHES, sizeof(ns[0]), cmp_double);
	printf("line_round_trip_ns %.0f\n", ns[BATCHES / 2]);
	return 0;
}
