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
	vq->tx_hdr_unread = cfg->tx_hdr_unread;
	vq->notify_algo = cfg->notify_algo;
	vq->caller_polls = cfg->caller_polls;
	vq->used_in_order_batch = cfg->packed && cfg->in_order;
	vq->log = cfg->log;
	vq->log_ctx = cfg->log_ctx;
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

void
vhf_vq_dump(const struct vhf_vq *vq, FILE *f)
{
	fprintf(f, "%s size %u%s broken %d%s%s avail %u", vq->packed ? "packed" : "split", vq->size,
		vq->event_idx ? " event_idx" : "", vq->broken, vq->broken ? " reason " : "",
		vq->broken && vq->broken_reason >= 0 && vq->broken_reason < VHF_VQ_CNT_MAX ?
			vhf_vq_counter_names[vq->broken_reason] : "",
		vq->last_avail);
	if (vq->packed)
		fprintf(f, " wrap %d used %u wrap %d", vq->avail_wrap, vq->last_used, vq->used_wrap);
	else
		fprintf(f, " shadow %u used %u", vq->shadow_avail, vq->last_used);
	fprintf(f, " pending %u signalled %u%s notify %s", vq->used_pending, vq->signalled_used,
		vq->signalled_used_valid ? "" : "(none)", vq->notify_enabled ? "on" : "off");
	if (vq->broken) {
		fputc('\n', f);
		return;
	}
	if (vq->packed) {
		uint16_t at_avail = vhf_shm_load_relaxed16(&vq->desc_packed[vq->last_avail].flags);
		uint16_t at_used = vhf_shm_load_relaxed16(&vq->desc_packed[vq->last_used].flags);

		fprintf(f, " | driver: flags@avail 0x%04x (%s) flags@used 0x%04x event 0x%04x/0x%04x"
			" | device event 0x%04x/0x%04x\n",
			at_avail, vhf_packed_desc_is_avail(at_avail, vq->avail_wrap) ?
				"available" : "not available",
			at_used, vhf_shm_load_relaxed16(&vq->driver_event->flags),
			vhf_shm_load_relaxed16(&vq->driver_event->off_wrap),
			vhf_shm_load_relaxed16(&vq->device_event->flags),
			vhf_shm_load_relaxed16(&vq->device_event->off_wrap));
	} else {
		uint16_t avail_idx = vhf_shm_load_relaxed16(&vq->avail->idx);

		fprintf(f, " | driver: avail idx %u (%u ahead) flags 0x%04x | used idx %u flags 0x%04x",
			avail_idx, (uint16_t)(avail_idx - vq->last_avail),
			vhf_shm_load_relaxed16(&vq->avail->flags),
			vhf_shm_load_relaxed16(&vq->used->idx), vhf_shm_load_relaxed16(&vq->used->flags));
		if (vq->event_idx)
			fprintf(f, " avail_event %u used_event %u",
				vhf_shm_load_relaxed16(vhf_split_avail_event(vq->used, vq->size)),
				vhf_shm_load_relaxed16(vhf_split_used_event(vq->avail, vq->size)));
		fputc('\n', f);
	}
}

void
vhf_vq_log_slow(const struct vhf_vq *vq, const void *p, uint64_t len)
{
	uint64_t host = (uint64_t)(uintptr_t)p;

	/* Written through one mapping (an iov, a ring), a range is normally in one region. */
	while (len > 0) {
		const struct vhf_mem_region *reg = vhf_mem_find_host(vq->mem, host);
		uint64_t off, chunk;

		if (reg == NULL)
			return;
		off = host - reg->host_addr;
		chunk = reg->size - off < len ? reg->size - off : len;
		vq->log(vq->log_ctx, reg->guest_phys_addr + off, chunk);
		host += chunk;
		len -= chunk;
	}
}
