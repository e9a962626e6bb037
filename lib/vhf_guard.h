/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 dpdk-vhostfix authors
 */

#ifndef VHF_GUARD_H
#define VHF_GUARD_H

/**
 * @file
 * The guard between a datapath thread and the control thread that takes its
 * virtqueue away (unmaps the guest memory, reads the ring state to hand it to
 * the next back-end): once vhf_guard_close_begin() has run and
 * vhf_guard_busy() has returned false, no burst is inside the queue and none
 * enters it until vhf_guard_open().
 *
 * A Dekker handshake: the datapath stores in_use = 1 then loads open; the
 * control thread stores open = 0 then loads in_use. Each side's store must be
 * ordered before its own load, or both can miss each other (on x86 a store
 * waits in the store buffer while a later load executes): a full barrier on
 * each side. The datapath's, once a burst, costs little by itself but waits
 * for the previous burst's stores to guest ring lines to drain; moving it to
 * the control thread (membarrier(2), every thread of the process executing a
 * barrier on request) was measured twice and changed nothing the benchmark
 * sees (doc/bench-2026-12-04e.md); presumably the burst's next access to those
 * lines waits for them anyway.
 *
 * Built with VHF_GUARD_HOOKS (and VHF_SHM_HOOKS), every access to the guard
 * words and both barriers call the race explorer (test/race), which runs this
 * very code under x86-TSO store buffers. Other hooked builds (the fuzzers) see
 * plain atomics here: their hooks stand for guest memory, which these words
 * are not.
 */

#include <stdbool.h>
#include <stdint.h>

#ifdef VHF_GUARD_HOOKS

#include "vhf_shm.h"

#define vhf_guard_load16(p, mo) vhf_shm_hook_load16((p), (mo))
#define vhf_guard_store16(p, v, mo) vhf_shm_hook_store16((p), (v), (mo))
#define vhf_guard_mb() vhf_shm_hook_fence()

#else

#define vhf_guard_load16(p, mo) __atomic_load_n((p), (mo))
#define vhf_guard_store16(p, v, mo) __atomic_store_n((p), (uint16_t)(v), (mo))
#define vhf_guard_mb() __atomic_thread_fence(__ATOMIC_SEQ_CST)

#endif

struct vhf_guard {
	uint16_t open;   /**< the queue's state and guest memory are valid */
	uint16_t in_use; /**< a datapath thread is inside a burst on the queue */
};

/**
 * Datapath: enter a burst on the queue, or return false if it is closed (or
 * being closed). Every true is followed by one vhf_guard_leave().
 */
static inline bool
vhf_guard_enter(struct vhf_guard *g)
{
	/* Cheap test first: a queue without a guest costs one load per burst. */
	if (!vhf_guard_load16(&g->open, __ATOMIC_RELAXED))
		return false;
	vhf_guard_store16(&g->in_use, 1, __ATOMIC_RELAXED);
	/*
	 * Orders the store of in_use above before the load of open below, against
	 * vhf_guard_close_begin()'s store of open, barrier, load of in_use: at
	 * least one side sees the other's store.
	 */
	vhf_guard_mb();
	/* Acquire: the queue state written before vhf_guard_open() is visible. */
	if (!vhf_guard_load16(&g->open, __ATOMIC_ACQUIRE)) {
		vhf_guard_store16(&g->in_use, 0, __ATOMIC_RELEASE);
		return false;
	}
	return true;
}

/** Datapath: leave the burst. Release: our ring state is the control thread's once it sees 0. */
static inline void
vhf_guard_leave(struct vhf_guard *g)
{
	vhf_guard_store16(&g->in_use, 0, __ATOMIC_RELEASE);
}

/** Control: open the queue. Release: publishes the state written before it to the datapath. */
static inline void
vhf_guard_open(struct vhf_guard *g)
{
	vhf_guard_store16(&g->open, 1, __ATOMIC_RELEASE);
}

/** Anyone: is the queue open (acquire: its state is visible if so)? */
static inline bool
vhf_guard_is_open(const struct vhf_guard *g)
{
	return vhf_guard_load16(&g->open, __ATOMIC_ACQUIRE) != 0;
}

/**
 * Control: close the queue to new bursts. A burst already inside may still
 * run: wait for vhf_guard_busy() to return false before touching the queue.
 */
static inline void
vhf_guard_close_begin(struct vhf_guard *g)
{
	vhf_guard_store16(&g->open, 0, __ATOMIC_RELAXED);
	/*
	 * Orders the store of open above before the caller's loads of in_use,
	 * against vhf_guard_enter()'s store of in_use, barrier, load of open.
	 */
	vhf_guard_mb();
}

/**
 * Control, after vhf_guard_close_begin(): is a burst still inside? Once false,
 * the datapath's last burst (its ring and counter updates) is visible.
 */
static inline bool
vhf_guard_busy(const struct vhf_guard *g)
{
	return vhf_guard_load16(&g->in_use, __ATOMIC_ACQUIRE) != 0;
}

/** Anyone, for diagnostics: the in_use word as it reads now. */
static inline bool
vhf_guard_peek_in_use(const struct vhf_guard *g)
{
	return vhf_guard_load16(&g->in_use, __ATOMIC_RELAXED) != 0;
}

#endif /* VHF_GUARD_H */
