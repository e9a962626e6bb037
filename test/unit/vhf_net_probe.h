/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 dpdk-vhostfix authors
 */

#ifndef VHF_NET_PROBE_H
#define VHF_NET_PROBE_H

/**
 * @file
 * Entry points into lib/vhf_net.c that only tests call (vhf_net_probe.c).
 * Builds that use them compile vhf_lib_test_sources instead of vhf_lib_sources.
 */

#include "vhf_net.h"

/**
 * The "avail space" step of vhf_net_rx_enqueue() on its own, without
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
int vhf_test_rx_avail_space(struct vhf_vq *vq, uint32_t need_bytes, uint32_t *bytes);

#endif /* VHF_NET_PROBE_H */
