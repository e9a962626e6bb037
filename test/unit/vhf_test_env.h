/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 dpdk-vhostfix authors
 */

#ifndef VHF_TEST_ENV_H
#define VHF_TEST_ENV_H

/*
 * A device queue (the library, as users run it) wired to a guest model queue.
 * Unit tests build the library sources with VHF_TEST_HOOKS, which only turns
 * the race window into a call to vhf_test_race_window().
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
void vhf_test_env_fini(struct vhf_test_env *env);

/* A test pattern payload; byte i of packet seq is a function of both. */
void vhf_test_fill(uint8_t *buf, uint32_t len, uint32_t seq);
int vhf_test_check(const uint8_t *buf, uint32_t len, uint32_t seq);

/* Enqueue one packet of len pattern bytes in nsegs segments. */
uint16_t vhf_test_rx_one(struct vhf_test_env *env, uint32_t len, uint32_t seq, uint16_t nsegs,
			 struct vhf_burst_result *res);

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
