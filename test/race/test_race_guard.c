/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 dpdk-vhostfix authors
 */

/*
 * Every interleaving of lib/vhf_guard.h under x86-TSO: an lcore runs bursts
 * through vhf_guard_enter()/leave() on a queue whose "guest memory" it reads
 * and whose ring state it writes; the control thread closes the queue
 * (vhf_guard_close_begin(), then waits while vhf_guard_busy()), reads the
 * ring state and unmaps the memory. Bad endings:
 *  - class 1: a burst read the memory after the unmap;
 *  - class 2: the control thread read a ring state older than the last
 *    burst's (a GET_VRING_BASE that would resume the next back-end behind).
 *
 * The guard must have neither. Without either of its two barriers it must
 * fail: the check is strong enough to see each barrier matter.
 *
 * Output: TAP.
 */

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vhf_explore.h"
#include "vhf_race_tap.h"
#include "vhf_guard.h"
#include "vhf_shm.h"

#define BURSTS 2

enum cls {
	CLS_OK = 0,
	CLS_USE_AFTER_UNMAP = 1,
	CLS_STALE_STATE = 2,
};

struct guard_ctx {
	struct vhf_guard guard;
	uint16_t mapped;     /* the guest memory: 1 until the control thread unmaps it */
	uint16_t ring_state; /* what a burst leaves for GET_VRING_BASE: bursts done */
	/* Plain results, read by check(). */
	bool read_unmapped;
	unsigned int bursts_done;
	uint16_t state_seen;
};

static struct guard_ctx G;

static void
guard_setup(void *arg)
{
	struct guard_ctx *c = arg;

	memset(c, 0, sizeof(*c));
	c->mapped = 1;
	vhf_guard_open(&c->guard);
}

/* The lcore: BURSTS bursts, each reading guest memory and writing the ring state. */
static void
lcore_fn(void *arg)
{
	struct guard_ctx *c = arg;

	for (unsigned int k = 0; k < BURSTS; k++) {
		if (!vhf_guard_enter(&c->guard))
			continue;
		if (vhf_shm_load_acquire16(&c->mapped) == 0)
			c->read_unmapped = true;
		c->bursts_done++;
		vhf_shm_store_release16(&c->ring_state, (uint16_t)c->bursts_done);
		vhf_guard_leave(&c->guard);
	}
}

static bool
in_use_clear_in_memory(void *arg)
{
	const struct guard_ctx *c = arg;

	return __atomic_load_n(&c->guard.in_use, __ATOMIC_RELAXED) == 0;
}

/* The control thread: vhf_queue_detach()'s order of things. */
static void
control_fn(void *arg)
{
	struct guard_ctx *c = arg;

	vhf_guard_close_begin(&c->guard);
	while (vhf_guard_busy(&c->guard))
		vhf_explore_wait(in_use_clear_in_memory, c);
	c->state_seen = vhf_shm_load_acquire16(&c->ring_state);
	vhf_shm_store_release16(&c->mapped, 0);
}

static int
guard_check(void *arg, const struct vhf_explore_outcome *o)
{
	const struct guard_ctx *c = arg;

	(void)o;
	if (c->read_unmapped)
		return CLS_USE_AFTER_UNMAP;
	/* No burst enters after the close: the last one's state is what was read. */
	if (c->state_seen != c->bursts_done)
		return CLS_STALE_STATE;
	return CLS_OK;
}

static const char *
guard_name(void *arg, const void *addr)
{
	const struct guard_ctx *c = arg;

	if (addr == &c->guard.open)
		return "guard.open";
	if (addr == &c->guard.in_use)
		return "guard.in_use";
	if (addr == &c->mapped)
		return "mapped";
	if (addr == &c->ring_state)
		return "ring_state";
	return NULL;
}

static const struct vhf_explore_scenario guard_scenario = {
	.ctx = &G,
	.nthreads = 2,
	.setup = guard_setup,
	.thread_fn = { lcore_fn, control_fn },
	.check = guard_check,
	.name_addr = guard_name,
};

static struct vhf_explore_result
explore(bool tso, bool dpor, unsigned int ignore_fences_mask)
{
	struct vhf_explore_opts opts = {
		.tso = tso,
		.dpor = dpor,
		.ignore_fences_mask = ignore_fences_mask,
	};
	struct vhf_explore_result r;

	if (vhf_explore_run(&guard_scenario, &opts, &r) != 0) {
		printf("Bail out! explorer error\n");
		exit(2);
	}
	return r;
}

static void
report(const char *what, const struct vhf_explore_result *r, bool want_clean)
{
	bool pass = want_clean ? r->failures == 0 && r->deadlocks == 0 && r->step_bound == 0 :
				 r->failures_by_class[CLS_USE_AFTER_UNMAP] > 0;

	ok(pass && r->executions > 0 && !r->truncated,
	   "%s: %" PRIu64 " interleavings, %" PRIu64 " used unmapped memory, %" PRIu64
	   " read a stale state", what, r->executions,
	   r->failures_by_class[CLS_USE_AFTER_UNMAP], r->failures_by_class[CLS_STALE_STATE]);
	if (!pass && want_clean)
		vhf_explore_print_trace(stdout);
}

int
main(void)
{
	struct vhf_explore_result r;

	setvbuf(stdout, NULL, _IOLBF, 0);
	/* Thread 0 is the lcore, thread 1 the control thread. */
	r = explore(true, false, 0);
	report("full, TSO: the guard never fails", &r, true);
	r = explore(true, true, 0);
	report("DPOR, TSO: the guard never fails", &r, true);
	/*
	 * The mutants under DPOR only: the full search of a broken guard runs to
	 * tens of millions of interleavings (the control thread's wait loop goes
	 * round with every stale read), and DPOR keeps every reachable ending.
	 */
	r = explore(true, true, 1u << 0);
	report("DPOR, TSO: without the lcore's barrier it fails", &r, false);
	r = explore(true, true, 1u << 1);
	report("DPOR, TSO: without the control thread's barrier it fails", &r, false);
	/* The barriers only matter under store buffers: none needed under SC. */
	r = explore(false, false, 3);
	report("full, SC: no barrier at all never fails", &r, true);

	printf("1..%d\n", test_num);
	return test_failed ? 1 : 0;
}
