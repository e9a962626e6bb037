/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 dpdk-vhostfix authors
 */

#ifndef VHF_EXPLORE_H
#define VHF_EXPLORE_H

/**
 * @file
 * Exhaustive interleaving explorer (stateless model checking) for the
 * synchronising accesses of lib/vhf_shm.h.
 *
 * A scenario is 1 to 3 simulated threads running real C code (the device
 * library, the guest model) as coroutines on one OS thread. Built with
 * -DVHF_SHM_HOOKS, every vhf_shm_* load, store and fence calls into this
 * engine: the thread stops *before* the access and the scheduler decides what
 * happens next. Together with vhf_explore_wait*(), vhf_explore_signal() and
 * vhf_explore_yield() these are the only scheduling points; the plain code
 * between two of them runs as part of the step that precedes it (the first
 * stretch of every thread, up to its first scheduling point, runs at the start
 * of the execution in thread order).
 *
 * Memory model:
 * - SC (opts.tso = false): a store writes memory at once.
 * - x86-TSO (opts.tso = true): each thread has a FIFO store buffer. A store
 *   step appends to it; a load returns the newest buffered value of its own
 *   thread for that address, else memory; a fence (vhf_shm_mb()) can only be
 *   taken once the thread's buffer is empty; a seq_cst store behaves like
 *   x86's xchg (buffer empty, then write memory). Draining is explicit:
 *   "flush the oldest store of thread T" is a scheduler choice, available
 *   whenever T's buffer is not empty, also after T returned or while it sleeps.
 *   Release/acquire add nothing on TSO: every store is a release and every
 *   load an acquire there.
 * Plain (non-hooked) shared data is modelled as sequentially consistent; that
 * is exact as long as it is published by hooked accesses, as ring data is.
 *
 * Execution and search: each execution builds fresh state with setup(), runs
 * the threads under a sequence of choices, then calls check() with the
 * outcome. The search is a depth-first walk of the choice tree by replay: the
 * prefix of the previous execution is re-run with its recorded choices and
 * the deepest choice point that still has untried options is advanced. So the
 * code under test must be deterministic given the schedule (no time, no
 * random, no dependence on addresses across executions); the engine checks
 * the enabled set on replay and fails with an error if it diverges.
 *
 * Two search modes:
 * - full (opts.dpor = false, the default): every enabled step is tried at
 *   every choice point; a point with one enabled step is not a choice. Only
 *   for small programs: the count grows as the number of interleavings.
 *   opts.preemption_bound can bound it further (0: unbounded).
 * - DPOR (opts.dpor = true): Flanagan-Godefroid dynamic partial-order
 *   reduction with sleep sets. It tries one schedule out of every class of
 *   schedules that only differ in the order of independent steps, which keeps
 *   every reachable final state, deadlock and assertion result while cutting
 *   the count by orders of magnitude. The flush agents of the store buffers
 *   are processes of their own. Two steps of different threads are dependent
 *   when they touch the same hooked word (or the same signal flag) and one of
 *   them writes memory; a buffered store, a fence and a yield touch nothing
 *   shared; vhf_explore_wait() with a predicate is dependent with everything.
 *   Soundness assumes that plain shared data is data-race free given the
 *   hooked accesses and that threads wake each other only through
 *   vhf_explore_signal()/vhf_explore_wait_flag() or vhf_explore_wait() (a
 *   plain store that makes another thread's predicate true is fine, the
 *   predicate wait being dependent with everything). The litmus self-test
 *   checks that both modes reach the same set of results.
 *
 * The engine is single-instance and not thread-safe: one vhf_explore_run() at
 * a time per process.
 */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/** Most threads in a scenario. */
#define VHF_EXPLORE_MAX_THREADS 3
/** Failure classes check() may return: 1 .. VHF_EXPLORE_MAX_CLASSES - 1. */
#define VHF_EXPLORE_MAX_CLASSES 8
/** Stack of each simulated thread. */
#define VHF_EXPLORE_STACK_SIZE (256 * 1024)
/** Store buffer entries per thread; a store waits for a flush when it is full. */
#define VHF_EXPLORE_SB_SIZE 64
/** Default opts.max_steps. */
#define VHF_EXPLORE_DEFAULT_MAX_STEPS 2000

/** How an execution ended. */
enum vhf_explore_end {
	/** Every thread returned and every store buffer drained. */
	VHF_EXPLORE_END_DONE,
	/** Nothing can move: some thread sleeps in a wait whose condition never comes. */
	VHF_EXPLORE_END_DEADLOCK,
	/** opts.max_steps steps and still going: a possible livelock. */
	VHF_EXPLORE_END_STEP_BOUND,
};

/** What check() is told about the execution that just ended. */
struct vhf_explore_outcome {
	enum vhf_explore_end end;
	uint64_t execution;       /**< 0-based number of this execution */
	unsigned int steps;       /**< steps taken (thread steps and flushes) */
	int nthreads;
	unsigned int done_mask;   /**< bit T: thread T returned */
	unsigned int waiting_mask; /**< bit T: thread T sleeps in a vhf_explore_wait*() */
	/** For each waiting thread: the flag, or the predicate's argument, it waits on. */
	const void *wait_on[VHF_EXPLORE_MAX_THREADS];
};

struct vhf_explore_scenario {
	void *ctx;                /**< passed to every callback */
	int nthreads;             /**< 1 .. VHF_EXPLORE_MAX_THREADS */
	/** Build fresh state in ctx; hooked accesses made here act on memory directly. */
	void (*setup)(void *ctx);
	/** Thread bodies; returning ends the thread. */
	void (*thread_fn[VHF_EXPLORE_MAX_THREADS])(void *ctx);
	/**
	 * Classify the ended execution (state in ctx is the final one).
	 * @return 0 if acceptable, else a failure class 1 .. VHF_EXPLORE_MAX_CLASSES - 1.
	 */
	int (*check)(void *ctx, const struct vhf_explore_outcome *o);
	/** Optional: free what setup() allocated; called after check(). */
	void (*teardown)(void *ctx);
	/**
	 * Optional: a name for an address in trace output ("avail->idx"), NULL if
	 * unknown. Called while the execution's state is still alive.
	 */
	const char *(*name_addr)(void *ctx, const void *addr);
};

struct vhf_explore_opts {
	bool tso;                 /**< x86-TSO store buffers; false: sequential consistency */
	bool dpor;                /**< partial-order reduction (see above); false: every interleaving */
	unsigned int max_steps;   /**< per execution; 0: VHF_EXPLORE_DEFAULT_MAX_STEPS */
	uint64_t max_executions;  /**< stop after this many (result.truncated); 0: no limit */
	/** Full mode only: most preemptive thread switches per execution; 0: unbounded. */
	unsigned int preemption_bound;
	/**
	 * Mutation testing: bit T makes thread T's fences no-ops, as if its
	 * vhf_shm_mb() calls were missing.
	 */
	unsigned int ignore_fences_mask;
	bool verbose;             /**< progress and first failures on stderr */
};

struct vhf_explore_result {
	uint64_t executions;      /**< executions run to an end and checked */
	uint64_t completed;       /**< ... ending VHF_EXPLORE_END_DONE */
	uint64_t deadlocks;       /**< ... ending VHF_EXPLORE_END_DEADLOCK */
	uint64_t step_bound;      /**< ... ending VHF_EXPLORE_END_STEP_BOUND */
	uint64_t failures;        /**< check() returned non-zero */
	uint64_t failures_by_class[VHF_EXPLORE_MAX_CLASSES];
	/** DPOR: executions cut as redundant by sleep sets (not checked, not in executions). */
	uint64_t sleep_blocked;
	uint64_t steps;           /**< steps run in all, replayed prefixes included */
	unsigned int max_depth;   /**< longest execution, in steps */
	bool truncated;           /**< max_executions stopped the search early */
	double seconds;
};

/**
 * Explore every interleaving of the scenario (up to the options' bounds).
 * @return 0 when the search ran (failures are in res), -1 on a usage error or
 *   non-determinism of the scenario (message on stderr).
 */
int vhf_explore_run(const struct vhf_explore_scenario *sc, const struct vhf_explore_opts *opts,
		    struct vhf_explore_result *res);

/**
 * Print the interleaving of the first failing execution of the last run, one
 * step a line ("T0 load16 avail->idx -> 5", "T1 store16 used->idx = 3
 * (buffered)", "flush T1 used->idx = 3", "T0 fence", "T0 wait kick", ...),
 * then how it ended. Nothing if there was no failure.
 */
void vhf_explore_print_trace(FILE *f);
/** Same, for the first failure of a given class. @return 0, or -1 if none recorded. */
int vhf_explore_print_trace_class(FILE *f, int cls);

/*
 * Called from the simulated threads.
 */

/**
 * Sleep until pred(arg) is true; pred reads plain state and must have no
 * side effects. The wait is one step, enabled only when pred holds.
 * Dependent with everything under DPOR: prefer the flag form when it fits.
 */
void vhf_explore_wait(bool (*pred)(void *arg), void *arg);
/**
 * Sleep until *flag is true, then clear it in the same step (an eventfd
 * read): a kick or an interrupt consumed.
 */
void vhf_explore_wait_flag(bool *flag);
/** Set *flag as one step (an eventfd write): wakes a vhf_explore_wait_flag(flag). */
void vhf_explore_signal(bool *flag);
/** A scheduling point with no effect (a poll loop going round). */
void vhf_explore_yield(void);
/** Number of the calling simulated thread, -1 outside a simulated thread. */
int vhf_explore_self(void);

#endif /* VHF_EXPLORE_H */
