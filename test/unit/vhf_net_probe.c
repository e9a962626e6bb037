/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 dpdk-vhostfix authors
 */

/*
 * lib/vhf_net.c as the unit tests and the fuzzer build it: the very same
 * source, compiled here so that the entry points only tests call can reach its
 * static steps. A production build has none of them.
 */
#include "vhf_net.c"

#include "vhf_net_probe.h"

int
vhf_test_to_guest_avail_space(struct vhf_vq *vq, uint32_t need_bytes, uint32_t *bytes)
{
	struct vhf_to_guest_room room;
	enum vhf_reserve r;
	int mark = -1;

	*bytes = 0;
	if (vq->broken)
		return -EIO;
	if (need_bytes > VHF_NET_MAX_PKT_LEN)
		return -EMSGSIZE;
	vhf_vq_budget_reset(vq);
	vhf_vq_rewind(vq, vq->last_avail, vq->avail_wrap);
	r = vhf_to_guest_reserve(vq, need_bytes + vq->net_hdr_len, &room, &mark, bytes);
	vhf_vq_rewind(vq, vq->last_avail, vq->avail_wrap);
	if (r == VHF_RESERVE_BROKEN)
		return -EIO;
	if (unlikely(r == VHF_RESERVE_BUDGET)) {
		vhf_vq_count(vq, VHF_VQ_CNT_budget_exhausted);
		*bytes = 0;
		return -EAGAIN;
	}
	if (r == VHF_RESERVE_TOO_BIG)
		return -EMSGSIZE;
	return mark;
}
