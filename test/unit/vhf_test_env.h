/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 dpdk-vhostfix authors
 */

#ifndef VHF_TEST_ENV_H
#define VHF_TEST_ENV_H

/*
 * A device queue (the library, as users run it) wired to a guest model queue.
 * Unit tests build the library sources with VHF_TEST_HOOKS, which only turns
 * the race window into a call to vhf_test_race_window() and the guest step
 * (each look for the next chain) into one to vhf_test_guest_step().
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vhf_guest.h"
#include "vhf_net.h"

struct vhf_test_env {
	struct vhf_guest *guest;
	struct vhf_vq vq;
};

/* Run once at the next race window (between avail read and notify request). */
typedef void (*vhf_test_window_fn)(void *arg);
void vhf_test_set_window(vhf_test_window_fn fn, void *arg);

/* Build a guest queue from gcfg and a device queue on it with algo. */
void vhf_test_env_init(struct vhf_test_env *env, const struct vhf_guest_config *gcfg,
		       enum vhf_notify_algo algo);
/* The same, with vhf_vq_config.caller_polls as given (a poll-mode driver's RX queue). */
void vhf_test_env_init_polling(struct vhf_test_env *env, const struct vhf_guest_config *gcfg,
			       enum vhf_notify_algo algo, bool caller_polls);
void vhf_test_env_fini(struct vhf_test_env *env);
/*
 * Set the device queue up again where vhf_vq_get_base() says it stands, as a
 * back-end does after a reconnect (GET_VRING_BASE, then SET_VRING_BASE): same
 * guest queue, same notification algorithm and polling.
 */
void vhf_test_env_resume(struct vhf_test_env *env);

/* A test pattern payload; byte i of packet seq is a function of both. */
void vhf_test_fill(uint8_t *buf, uint32_t len, uint32_t seq);
int vhf_test_check(const uint8_t *buf, uint32_t len, uint32_t seq);

/* Enqueue one packet of len pattern bytes in nsegs segments. */
uint16_t vhf_test_rx_one(struct vhf_test_env *env, uint32_t len, uint32_t seq, uint16_t nsegs,
			 struct vhf_burst_result *res);

/*
 * A hostile guest's hand: chains written straight into the model's rings,
 * bypassing its driver (no free lists, no reclaim). Split chains use
 * descriptor table slots round-robin; packed ones follow the driver's ring
 * position and wrap counter, starting where a fresh ring starts.
 */
struct vhf_test_raw {
	struct vhf_test_env *env;
	uint16_t next_desc; /* split: next descriptor table slot */
	uint16_t pos;       /* packed: next ring slot */
	bool wrap;          /* packed: the driver's wrap counter */
	uint16_t id;        /* packed: next buffer id */
};

/* One descriptor of a raw chain. */
struct vhf_test_seg {
	uint64_t gpa;
	uint32_t len;
};

void vhf_test_raw_init(struct vhf_test_raw *r, struct vhf_test_env *env);

/*
 * A queue of either layout for chains written by hand: size slots, EVENT_IDX
 * and indirect descriptors negotiated, mergeable RX buffers if mrg, 2 KiB
 * guest buffers, the fixed algorithm; raw is set up on it.
 */
void vhf_test_raw_env_init(struct vhf_test_env *env, struct vhf_test_raw *raw, bool packed,
			   uint16_t size, bool mrg);

/*
 * Write a chain of n descriptors (device-writable if write) and, unless
 * publish is false, make it available with one release store. With table_gpa
 * non-zero the chain is an indirect table at that address, written there,
 * behind one ring descriptor. Split direct chains need n <= size.
 */
void vhf_test_raw_chain(struct vhf_test_raw *r, const struct vhf_test_seg *segs, uint16_t n,
			uint64_t table_gpa, bool write, bool publish);

/*
 * Run fn at every guest step (each time the device looks for the next chain),
 * until cleared with NULL: a guest that keeps publishing during one call.
 */
void vhf_test_set_guest_step(vhf_test_window_fn fn, void *arg);

/* A test case of a feature matrix; it runs on variants whose bits include need_bits. */
struct vhf_test_case {
	const char *name;
	CMUnitTestFunction fn;
	unsigned int need_bits;
};

/*
 * Run every case against every variant: variant i (its feature bits are i) has
 * state states[i] and name vnames[i]; tests are named "case/variant".
 */
int vhf_test_run_matrix(const char *group, const struct vhf_test_case *cases,
			unsigned int ncases, void *const *states, const char *const *vnames,
			unsigned int nvariants);

#endif /* VHF_TEST_ENV_H */
