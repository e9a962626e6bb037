/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 dpdk-vhostfix authors
 */

#ifndef VHF_NET_PROBE_H
#define VHF_NET_PROBE_H

/**
 * @file
 * What of lib/'s virtio-net layer only tests call. Builds that use
 * vhf_test_to_guest_avail_space() compile vhf_lib_test_sources instead of
 * vhf_lib_sources (vhf_net_probe.c).
 */

#include "vhf_net.h"
#include "vhf_net_offload.h"

/**
 * Complete a partial checksum in a flat packet, as a guest would, with lib's
 * own sum (the PMD does the same on mbuf chains). Bounds are the caller's:
 * start + offset + 2 <= len.
 */
static inline void
vhf_test_csum_complete(uint8_t *pkt, uint32_t len, uint32_t start, uint32_t offset)
{
	uint16_t folded = vhf_ofl_fold(vhf_ofl_sum(pkt + start, len - start, 0));

	vhf_ofl_put16(pkt + start + offset, vhf_ofl_csum_final(folded));
}

/**
 * The "avail space" step of vhf_net_to_guest_enqueue() on its own, without
 * reserving anything: walk what the guest published until need_bytes (header
 * excluded) are covered.
 *
 * @param bytes set to the buffer bytes found (header included), at most
 *   what covers the packet (UINT32_MAX if those buffers hold more).
 * @return the avail mark the answer was based on (>= 0), to pass to
 *   vhf_vq_enable_notify_and_check() when *bytes is short; -EMSGSIZE if the
 *   packet can never fit; -EAGAIN if the walk spent the call's
 *   VHF_BURST_MAX_DESC descriptor reads (no answer: poll again); -EIO if the
 *   queue is broken.
 */
int vhf_test_to_guest_avail_space(struct vhf_vq *vq, uint32_t need_bytes, uint32_t *bytes);

#endif /* VHF_NET_PROBE_H */
