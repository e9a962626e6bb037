/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 dpdk-vhostfix authors
 */

#ifndef VHF_PMD_HARNESS_H
#define VHF_PMD_HARNESS_H

/**
 * @file
 * One net_vhostfix queue on a ring of the guest model (test/guest), in process:
 * attached as the control path attaches one (vhf_queue_attach()), without a
 * vhost-user socket, so that a test calls vhf_pmd_rx_burst() and
 * vhf_pmd_tx_burst(), the functions ethdev calls, against a guest it plays
 * itself. Needs the EAL (rte_zmalloc, mempools). The helpers fail the current
 * cmocka test on error.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_mempool.h>

#include "vhf_guest.h"
#include "vhf_pmd.h"

/** Where the optional extra guest region starts: far above the guest model's memory. */
#define VHF_PMD_HARNESS_EXTRA_GPA (UINT64_C(1) << 40)

struct vhf_pmd_harness {
	struct vhf_guest *guest;
	struct vhf_mem mem;
	struct vhf_port port;
	struct vhf_pmd_queue *q;
	void *extra;      /**< host side of the extra region, NULL if none */
	size_t extra_len;
};

/**
 * Start the EAL as these tests need it: mempools in plain memory (--no-huge),
 * no devices, no shared runtime files, so that no root and no other process
 * is needed; a runtime directory of the process's own, removed at exit
 * (vhf_eal_test_dir.h).
 *
 * @return what rte_eal_init() returned.
 */
int vhf_pmd_harness_eal_init(char *argv0);

/**
 * Create the guest's queue and attach a PMD queue to it.
 *
 * @param name what the PMD's logs call the port (its iface).
 * @param guest_tx true: an ethdev rx queue on the guest's TX ring (packets from
 *   the guest, into mbufs from mp); false: an ethdev tx queue on its RX ring.
 * @param features negotiated features the PMD sees (offloads).
 * @param extra_len non-zero: one more guest region that large at
 *   VHF_PMD_HARNESS_EXTRA_GPA, reserved (MAP_NORESERVE) and zero, costing only
 *   the pages someone touches.
 */
void vhf_pmd_harness_init(struct vhf_pmd_harness *h, const char *name,
			  const struct vhf_guest_config *gcfg, bool guest_tx,
			  struct rte_mempool *mp, uint64_t features, size_t extra_len);
void vhf_pmd_harness_fini(struct vhf_pmd_harness *h);

/** lib/ counter c of the queue's current life. */
static inline uint64_t
vhf_pmd_harness_cnt(const struct vhf_pmd_harness *h, enum vhf_vq_counter c)
{
	return h->q->vq.cnt[c];
}

/** The PMD's counter c of the queue. */
static inline uint64_t
vhf_pmd_harness_pmd_cnt(const struct vhf_pmd_harness *h, enum vhf_pmd_counter c)
{
	return h->q->pmd_cnt[c];
}

/**
 * The guest sends a small frame, then rewrites its payload descriptor (split
 * ring, no indirect) to describe len bytes at gpa: the guest owns its
 * descriptors, and one may describe up to 4 GiB.
 *
 * @return what vhf_guest_tx_send() returned (0, or -ENOSPC when the ring is
 *   full); nothing is rewritten unless 0.
 */
int vhf_pmd_harness_send_rewritten(struct vhf_pmd_harness *h, uint64_t gpa, uint32_t len);

#endif /* VHF_PMD_HARNESS_H */
