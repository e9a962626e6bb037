/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 dpdk-vhostfix authors
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include <cmocka.h>

#include <rte_eal.h>
#include <rte_malloc.h>

#include "vhf_eal_test_dir.h"
#include "vhf_net_offload.h"
#include "vhf_pmd_harness.h"

int
vhf_pmd_harness_eal_init(char *argv0)
{
	char *eal[] = { argv0, (char *)(uintptr_t)"--no-huge", (char *)(uintptr_t)"--no-pci",
			(char *)(uintptr_t)"--no-shconf", (char *)(uintptr_t)"-m",
			(char *)(uintptr_t)"256", (char *)(uintptr_t)"--log-level=lib.eal:error",
			vhf_eal_test_dir_prefix_arg() };
	int ret = rte_eal_init((int)RTE_DIM(eal), eal);

	if (ret >= 0) {
		vhf_eal_test_dir_remove_at_exit();
		/* A TAP comment, for test_eal_test_dir_removed.sh. */
		printf("# EAL runtime directory %s, removed at exit\n", rte_eal_get_runtime_dir());
	}
	return ret;
}

void
vhf_pmd_harness_init(struct vhf_pmd_harness *h, const char *name,
		     const struct vhf_guest_config *gcfg, bool guest_tx, struct rte_mempool *mp,
		     uint64_t features, size_t extra_len)
{
	struct vhf_mem_region regions[VHF_MEM_MAX_REGIONS];
	const struct vhf_mem *gmem;
	struct vhf_vq_config cfg;
	struct vhf_pmd_queue *q;
	uint32_t n;

	memset(h, 0, sizeof(*h));
	h->guest = vhf_guest_create(gcfg);
	assert_non_null(h->guest);
	gmem = vhf_guest_mem(h->guest);
	n = gmem->nregions;
	memcpy(regions, gmem->regions, n * sizeof(regions[0]));
	if (extra_len != 0) {
		h->extra = mmap(NULL, extra_len, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		assert_true(h->extra != MAP_FAILED);
		h->extra_len = extra_len;
		regions[n++] = (struct vhf_mem_region){
			.guest_phys_addr = VHF_PMD_HARNESS_EXTRA_GPA, .size = extra_len,
			.host_addr = (uintptr_t)h->extra };
	}
	assert_int_equal(vhf_mem_set(&h->mem, regions, n), 0);

	memset(&cfg, 0, sizeof(cfg));
	vhf_guest_vq_config(h->guest, &cfg);
	cfg.mem = &h->mem;
	cfg.notify_algo = VHF_NOTIFY_FIXED;
	/* As vhf_queue_attach() sets them. */
	cfg.caller_polls = !guest_tx;
	cfg.tx_hdr_unread = guest_tx && !vhf_ofl_tx_hdr_meaningful(features);

	q = rte_zmalloc("vhf_pmd_harness_q", sizeof(*q), RTE_CACHE_LINE_SIZE);
	assert_non_null(q);
	assert_int_equal(vhf_vq_init(&q->vq, &cfg), 0);
	h->port.args.iface = (char *)(uintptr_t)name;
	q->port = &h->port;
	q->from_guest = guest_tx;
	q->vring = guest_tx ? 1 : 0;
	q->callfd = q->kickfd = q->wait_epfd = q->wake_fd = q->gate_timer_fd = -1;
	q->mb_pool = mp;
	q->port_id = h->port.port_id;
	/* As vhf_rx_queue_setup() does: an ethdev rx queue, the guest's TX. */
	if (guest_tx)
		vhf_rx_queue_set_rearm(q, mp);
	q->features = features;
	q->rx_csum_offload = true;
	/* What vhf_queue_attach() publishes last. */
	vhf_guard_open(&q->guard);
	h->q = q;
}

void
vhf_pmd_harness_fini(struct vhf_pmd_harness *h)
{
	rte_free(h->q);
	vhf_guest_destroy(h->guest);
	if (h->extra != NULL)
		munmap(h->extra, h->extra_len);
}

int
vhf_pmd_harness_send_rewritten(struct vhf_pmd_harness *h, uint64_t gpa, uint32_t len)
{
	static uint8_t small[64];
	struct vhf_vring_desc *desc = vhf_guest_split_desc(h->guest);
	struct vhf_vring_avail *avail = vhf_guest_split_avail(h->guest);
	uint16_t size = h->q->vq.size, head, pay;
	int ret = vhf_guest_tx_send(h->guest, small, sizeof(small), NULL, 1);

	if (ret != 0)
		return ret;
	head = avail->ring[(uint16_t)(avail->idx - 1) & (size - 1)];
	assert_true(desc[head].flags & VHF_DESC_F_NEXT);
	pay = desc[head].next;
	desc[pay].addr = gpa;
	desc[pay].len = len;
	return 0;
}
