/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 dpdk-vhostfix authors
 */

/*
 * vhf-linetrip [--lines PAGES] [CPU_A CPU_B]: how long one cache line takes to
 * go from CPU_A to CPU_B and back (default CPUs 0 and 1), in nanoseconds: two
 * threads, one pinned on each, hand a counter back and forth in one line.
 *
 * A vhost-user backend and its guest talk through lines that each writes and
 * the other reads, so this round trip sets how fast both can go at small
 * frames. On a VM it is not a constant: the hypervisor places the vCPUs now
 * close, now apart, and the rate of every guest-bound benchmark cell moves
 * with it (doc/bench-2026-12-03.md). vhf-bench.py runs this before each run
 * and records it, so that a reader can tell which placement a figure was
 * measured in. Meaningless while anything else runs on either CPU.
 *
 * Prints "line_round_trip_ns N" (the median of 9 batches on one line).
 *
 * --lines PAGES: the round trip of every line of PAGES fresh 4 KiB pages, one
 * row of 16 lines (1 KiB) per output line, then the spread. It is not the same
 * for every line: on the AMD EPYC host of our CI VMs, with the vCPUs close,
 * some lines take about 80 ns and others about 150, by their physical address
 * (doc/bench-2026-12-04f.md), so two processes that share different memory can
 * run at two rates. vhf-bench.py gives both backends of a pair one guest.
 *
 * Before the round trips, on each CPU alone (the other idle): how long 1000
 * independent adds take, "alu_ns_per_1000_adds A B" (the median of 9 batches).
 * Nothing else of ours runs there meanwhile, so the figure is the core's own
 * rate, unless the hypervisor runs another busy hardware thread on the same
 * physical core (an SMT sibling given to another VM): the adds then share the
 * core's ALUs and take 1.3-1.6x as long. On our CI VMs that state comes and goes
 * by the minute, and a benchmark side whose vCPU sits on a shared core runs at
 * about 0.7 of its rate (doc/bench-2026-12-06e.md); vhf-bench.py records the
 * figure before and after each run and compares pairs measured in one state.
 */

#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#define TRIPS_PER_BATCH 2000
#define BATCHES 9
/* About a millisecond of adds per batch on a quiet core. */
#define ALU_ROUNDS_PER_BATCH 250000
#define ALU_ADDS_PER_ROUND 12
#define TRIPS_PER_LINE 400
#define LINE 64
#define PAGE 4096
#define MAX_PAGES 4096

/* The line the answering thread plays on, and how many trips: one job at a time. */
static atomic_uintptr_t job_line;
static atomic_uint job_trips;
static atomic_bool job_done = true;
static atomic_bool quit;
/* 0 starting, 1 pinned on CPU_B, -1 could not be. */
static atomic_int peer_state;
static int cpu_b;

static _Alignas(LINE) atomic_uint static_line;

static int
pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

/* CPU_B's side: answers each odd value of the job's line with the next even one. */
static void *
answer(void *arg)
{
	(void)arg;
	if (pin(cpu_b) != 0) {
		atomic_store(&peer_state, -1);
		return NULL;
	}
	atomic_store(&peer_state, 1);
	for (;;) {
		atomic_uint *line;
		unsigned int i, trips;

		while (atomic_load(&job_done))
			if (atomic_load(&quit))
				return NULL;
		line = (atomic_uint *)atomic_load(&job_line);
		trips = atomic_load(&job_trips);
		for (i = 0; i < trips; i++) {
			while (atomic_load_explicit(line, memory_order_acquire) != 2 * i + 1)
				;
			atomic_store_explicit(line, 2 * i + 2, memory_order_release);
		}
		atomic_store(&job_done, true);
	}
}

/* The mean round trip over trips exchanges on line, in ns (CPU_A's side). */
static double
round_trip_ns(atomic_uint *line, unsigned int trips)
{
	struct timespec t0, t1;
	unsigned int i;

	atomic_store(line, 0);
	atomic_store(&job_line, (uintptr_t)line);
	atomic_store(&job_trips, trips);
	atomic_store(&job_done, false);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < trips; i++) {
		atomic_store_explicit(line, 2 * i + 1, memory_order_release);
		while (atomic_load_explicit(line, memory_order_acquire) != 2 * i + 2)
			;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	while (!atomic_load(&job_done))
		;
	return ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) /
	       trips;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/*
 * Six independent counters, each added to twice a round: more adds than the
 * core's ALUs take per cycle, so their rate is the core's throughput, which
 * another hardware thread on it shares. The empty asm keeps each add a
 * separate instruction on a register (nothing folded, nothing vectorized).
 */
static double
alu_batch_ns(void)
{
	uint64_t r0 = 0, r1 = 0, r2 = 0, r3 = 0, r4 = 0, r5 = 0;
	struct timespec t0, t1;
	unsigned int i;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < ALU_ROUNDS_PER_BATCH; i++) {
		r0++, r1++, r2++, r3++, r4++, r5++;
		__asm__ volatile("" : "+r"(r0), "+r"(r1), "+r"(r2), "+r"(r3), "+r"(r4), "+r"(r5));
		r0++, r1++, r2++, r3++, r4++, r5++;
		__asm__ volatile("" : "+r"(r0), "+r"(r1), "+r"(r2), "+r"(r3), "+r"(r4), "+r"(r5));
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) * 1000.0 /
	       ((double)ALU_ROUNDS_PER_BATCH * ALU_ADDS_PER_ROUND);
}

/* The median batch on cpu (the calling thread moved there), or a negative value if it cannot run there. */
static double
alu_ns_on(int cpu)
{
	double ns[BATCHES];
	unsigned int b;

	if (pin(cpu) != 0)
		return -1;
	for (b = 0; b < BATCHES; b++)
		ns[b] = alu_batch_ns();
	qsort(ns, BATCHES, sizeof(ns[0]), cmp_double);
	return ns[BATCHES / 2];
}

static void
one_line(void)
{
	double ns[BATCHES];
	unsigned int b;

	for (b = 0; b < BATCHES; b++)
		ns[b] = round_trip_ns(&static_line, TRIPS_PER_BATCH);
	qsort(ns, BATCHES, sizeof(ns[0]), cmp_double);
	printf("line_round_trip_ns %.0f\n", ns[BATCHES / 2]);
}

static int
every_line(unsigned int pages)
{
	unsigned int n = pages * (PAGE / LINE), i;
	double *ns, *sorted;
	atomic_uint *mem;

	mem = mmap(NULL, (size_t)pages * PAGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	ns = calloc(n, sizeof(*ns));
	sorted = calloc(n, sizeof(*sorted));
	if (mem == MAP_FAILED || ns == NULL || sorted == NULL) {
		fprintf(stderr, "vhf-linetrip: out of memory\n");
		return 1;
	}
	for (i = 0; i < n; i++) {
		ns[i] = round_trip_ns(&mem[(size_t)i * (LINE / sizeof(*mem))], TRIPS_PER_LINE);
		printf("%5.0f%s", ns[i], i % 16 == 15 ? "\n" : " ");
	}
	memcpy(sorted, ns, n * sizeof(*ns));
	qsort(sorted, n, sizeof(*sorted), cmp_double);
	printf("lines %u min %.0f p25 %.0f median %.0f p75 %.0f max %.0f ns\n", n, sorted[0],
	       sorted[n / 4], sorted[n / 2], sorted[3 * n / 4], sorted[n - 1]);
	free(ns);
	free(sorted);
	munmap(mem, (size_t)pages * PAGE);
	return 0;
}

int
main(int argc, char **argv)
{
	unsigned int pages = 0;
	pthread_t peer;
	int cpu_a = 0, argi = 1, ret;

	if (argc >= 3 && strcmp(argv[1], "--lines") == 0) {
		char *end;
		long v = strtol(argv[2], &end, 10);

		if (*end != '\0' || v < 1 || v > MAX_PAGES) {
			fprintf(stderr, "vhf-linetrip: --lines takes 1 to %d pages, not '%s'\n",
				MAX_PAGES, argv[2]);
			return 2;
		}
		pages = (unsigned int)v;
		argi = 3;
	}
	if (argc - argi != 0 && argc - argi != 2) {
		fprintf(stderr, "usage: vhf-linetrip [--lines PAGES] [CPU_A CPU_B]\n");
		return 2;
	}
	cpu_b = 1;
	if (argc - argi == 2) {
		cpu_a = atoi(argv[argi]);
		cpu_b = atoi(argv[argi + 1]);
	}
	if (pages == 0) {
		/* Each CPU alone: before the answering thread, which spins on CPU_B. */
		double alu_a = alu_ns_on(cpu_a), alu_b = alu_ns_on(cpu_b);

		if (alu_a < 0 || alu_b < 0) {
			fprintf(stderr, "vhf-linetrip: cannot run on CPU %d\n", alu_a < 0 ? cpu_a : cpu_b);
			return 1;
		}
		printf("alu_ns_per_1000_adds %.1f %.1f\n", alu_a, alu_b);
	}
	if (pin(cpu_a) != 0) {
		fprintf(stderr, "vhf-linetrip: cannot run on CPU %d\n", cpu_a);
		return 1;
	}
	if (pthread_create(&peer, NULL, answer, NULL) != 0) {
		fprintf(stderr, "vhf-linetrip: cannot start a thread\n");
		return 1;
	}
	/* A job for the peer only once it runs where asked. */
	while (atomic_load(&peer_state) == 0)
		;
	if (atomic_load(&peer_state) < 0) {
		pthread_join(peer, NULL);
		fprintf(stderr, "vhf-linetrip: cannot run on CPU %d\n", cpu_b);
		return 1;
	}
	ret = 0;
	if (pages == 0)
		one_line();
	else
		ret = every_line(pages);
	atomic_store(&quit, true);
	pthread_join(peer, NULL);
	return ret;
}
