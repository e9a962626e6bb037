/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 dpdk-vhostfix authors
 */

#include "vhf_vq.h"

const char *const vhf_vq_counter_names[VHF_VQ_CNT_MAX] = {
#define VHF_X_NAME(name, str) [VHF_VQ_CNT_##name] = str,
	VHF_VQ_COUNTERS(VHF_X_NAME)
#undef VHF_X_NAME
};

static bool
vhf_aligned(const void *p, uintptr_t align)
{
	return ((uintptr_t)p & (align - 1)) == 0;
}

int
vhf_vq_init(struct vhf_vq *vq, const struct vhf_vq_config *cfg)
{
	memset(vq, 0, sizeof(*vq));
	vq->broken = true; /* until validated */

	if (cfg->size == 0 || cfg->size > VHF_VQ_MAX_SIZE || cfg->mem == NULL)
		return -EINVAL;
	if (cfg->net_hdr_len != VHF_NET_HDR_LEN_LEGACY && cfg->net_hdr_len != VHF_NET_HDR_LEN_MRG)
		return -EINVAL;
	if (cfg->mrg_rxbuf && cfg->net_hdr_len != VHF_NET_HDR_LEN_MRG)
		return -EINVAL;
	if ((unsigned int)cfg->notify_algo > VHF_NOTIFY_ALGO_LAST)
		return -EINVAL;

	if (cfg->packed) {
		uint16_t avail_pos = cfg->last_avail & (uint16_t)~(1u << VHF_EVENT_WRAP_SHIFT);
		uint16_t used_pos = cfg->last_used & (uint16_t)~(1u << VHF_EVENT_WRAP_SHIFT);

		if (cfg->desc_packed == NULL || cfg->driver_event == NULL ||
		    cfg->device_event == NULL || !vhf_aligned(cfg->desc_packed, 16) ||
		    !vhf_aligned(cfg->driver_event, 4) || !vhf_aligned(cfg->device_event, 4))
			return -EINVAL;
		if (avail_pos >= cfg->size || used_pos >= cfg->size)
			return -EINVAL;
		vq->last_avail = avail_pos;
		vq->avail_wrap = cfg->last_avail >> VHF_EVENT_WRAP_SHIFT;
		vq->last_used = used_pos;
		vq->used_wrap = cfg->last_used >> VHF_EVENT_WRAP_SHIFT;
	} else {
		if ((cfg->size & (cfg->size - 1)) != 0)
			return -EINVAL;
		if (cfg->desc == NULL || cfg->avail == NULL || cfg->used == NULL ||
		    !vhf_aligned(cfg->desc, 16) || !vhf_aligned(cfg->avail, 2) ||
		    !vhf_aligned(cfg->used, 4))
			return -EINVAL;
		/* Used can never be ahead of avail, nor behind by more than the ring. */
		if ((uint16_t)(cfg->last_avail - cfg->last_used) > cfg->size)
			return -EINVAL;
		vq->last_avail = cfg->last_avail;
		vq->last_used = cfg->last_used;
		vq->shadow_avail = cfg->last_avail;
	}

	vq->size = cfg->size;
	vq->mask = (uint16_t)(cfg->size - 1);
	vq->packed = cfg->packed;
	vq->event_idx = cfg->event_idx;
	vq->indirect = cfg->indirect;
	vq->mrg_rxbuf = cfg->mrg_rxbuf;
	vq->net_hdr_len = cfg->net_hdr_len;
	vq->notify_algo = cfg->notify_algo;
	vq->caller_polls = cfg->caller_polls;
	vq->mem = cfg->mem;
	vq->desc = cfg->desc;
	vq->avail = cfg->avail;
	vq->used = cfg->used;
	vq->desc_packed = cfg->desc_packed;
	vq->driver_event = cfg->driver_event;
	vq->device_event = cfg->device_event;
	vq->next_avail = vq->last_avail;
	vq->next_avail_wrap = vq->avail_wrap;
	vq->desc_budget = VHF_BURST_MAX_DESC;
	/*
	 * Start with kicks enabled, as the driver sees a fresh ring: the first
	 * burst disables them if it finds work.
	 */
	vq->notify_enabled = true;
	vq->broken = false;
	vq->broken_reason = -1;
	return 0;
}

void
vhf_vq_get_base(const struct vhf_vq *vq, uint16_t *last_avail, uint16_t *last_used)
{
	if (vq->packed) {
		*last_avail = vhf_mark_packed(vq->last_avail, vq->avail_wrap);
		*last_used = vhf_mark_packed(vq->last_used, vq->used_wrap);
	} else {
		*last_avail = vq->last_avail;
		*last_used = vq->last_used;
	}
}
