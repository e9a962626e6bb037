/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 dpdk-vhostfix authors
 */

/*
 * A hostile guest against lib/'s device calls: the input chooses the guest's
 * memory map (heap blocks or sparse regions of up to 8 GiB), two queues
 * (guest RX, served by vhf_net_to_guest_enqueue, and guest TX, served by
 * vhf_net_from_guest_next), where their rings sit, what the memory holds, and then a
 * script of guest actions (publish chains of 16- or 32-bit lengths, indirect
 * tables of up to 65535 entries, scribble over rings and buffers), some of
 * them armed to run inside the next device call (fuzz_guest.h), interleaved
 * with device calls. After every step the harness checks what the library
 * promises and abort()s on a violation:
 *
 *  - the device reads no descriptor outside guest memory;
 *  - the used entries the guest sees add up to the bytes delivered, each
 *    packet with its header (TX used entries have length zero);
 *  - when the device says the guest's RX buffers are short, they are: what
 *    the guest published adds up to less than the packet, counted in 64 bits;
 *  - every TX segment lies wholly inside one guest region, the segments add up
 *    to the packet length (an Ethernet header at least) and can be copied out;
 *  - an RX burst takes at most what it was given, and its counters account
 *    for every packet taken (delivered, too big, or dropped on a broken queue);
 *  - buffers in flight (consumed minus used) stay what they were at init:
 *    the device never publishes a used entry for something it did not take;
 *  - split: the avail index the device trusts is never more than the ring
 *    size ahead of what it consumed;
 *  - a broken queue stays broken, answers at once and writes no guest memory;
 *  - bounded work, whatever the guest publishes meanwhile: an RX call, or a
 *    TX burst (up to vhf_net_from_guest_finish()), reads at most VHF_BURST_MAX_DESC
 *    descriptors (FUZZ_DESC_BUDGET) and stages at most a ring's worth of used
 *    entries; arming a kick reads none;
 *  - when the device says "safe to sleep" (arm_kick true, has_room WAIT_KICK
 *    with the fixed algorithm) the guest's next publication is guaranteed to
 *    kick: notifications are enabled naming exactly what is published now;
 *  - the resume indexes vhf_vq_get_base() reports are accepted by
 *    vhf_vq_init(), which accepts exactly the indexes the spec allows.
 *
 * Out-of-bounds accesses are left to the sanitizers and to the guard pages
 * around sparse regions.
 *
 * Device operations and their operands (the guest's are in fuzz_guest.c):
 *   rx_burst: u8 npkts (1 + v % 32), npkts x { u16 len, u8 shape (FUZZ_SHAPE_*) }
 *   tx_burst: u8 max (1 + v % 64); tx_next: none
 *   has_room, avail_space: u32 need (bit 31 clear: v % 20000, else as is)
 *   arm_kick, reinit: u8 queue (bit 0)
 */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_guest.h"
#include "vhf_net_offload.h"
#include "vhf_net_probe.h"

#define FUZZ_MAX_SEGS (FUZZ_SHAPE_SEGS_MASK + 1)
#define FUZZ_SRC_LEN (256u << 10)
#define FUZZ_TX_MAX_PER_OP 64
#define FUZZ_RX_BYTE_BUDGET (4u << 20)
#define FUZZ_TX_COPY_BUDGET (4u << 20)
#define FUZZ_COPY_LEN 65536u

static uint8_t fuzz_src[FUZZ_SRC_LEN];
static uint8_t fuzz_copy[FUZZ_COPY_LEN + 1];
static struct vhf_from_guest_pkt fuzz_tx_pkt;

/*
 * The guest's virtio-net header as the PMD takes it (lib/vhf_net_offload.h),
 * every feature negotiated: whatever it accepts stays inside the packet. The
 * packet (copied whole into fuzz_copy) goes into an exact-size allocation so
 * that the sanitizers see any byte read or written past it.
 */
static FUZZ_NO_COVERAGE void
fuzz_check_tx_offload(const struct vhf_from_guest_pkt *pkt, uint32_t copied)
{
	const uint64_t all = VHF_FEATURE(VHF_F_NET_CSUM) | VHF_FEATURE(VHF_F_NET_HOST_TSO4) |
			     VHF_FEATURE(VHF_F_NET_HOST_TSO6);
	struct vhf_ofl_from_guest_info ofl;
	uint8_t *p;

	if (copied != pkt->len || pkt->len > 4096 || vhf_ofl_hdr_is_plain(&pkt->hdr))
		return;
	p = malloc(pkt->len ? pkt->len : 1);
	FUZZ_CHECK(p != NULL);
	memcpy(p, fuzz_copy, pkt->len);
	if (vhf_ofl_from_guest(&pkt->hdr, p, pkt->len < VHF_OFL_HDR_MAX ? pkt->len :
			       VHF_OFL_HDR_MAX, pkt->len, all, &ofl) == VHF_OFL_OK &&
	    (ofl.csum == VHF_OFL_CSUM_PARTIAL_L4 || ofl.csum == VHF_OFL_CSUM_PARTIAL_OTHER)) {
		FUZZ_CHECK((uint32_t)ofl.csum_start + ofl.csum_offset + 2 <= pkt->len);
		vhf_test_csum_complete(p, pkt->len, ofl.csum_start, ofl.csum_offset);
	}
	free(p);
}

static FUZZ_NO_COVERAGE void
fuzz_check_tx_pkt(struct fuzz_ctx *ctx, const struct vhf_from_guest_pkt *pkt)
{
	uint64_t sum = 0;
	uint32_t n;
	uint16_t i;

	FUZZ_CHECK(pkt->niov <= VHF_CHAIN_MAX_IOV);
	for (i = 0; i < pkt->niov; i++) {
		FUZZ_CHECK(pkt->iov[i].len > 0);
		FUZZ_CHECK(fuzz_in_region(ctx, pkt->iov[i].base, pkt->iov[i].len));
		sum += pkt->iov[i].len;
	}
	FUZZ_CHECK(sum == pkt->len);
	/* Nothing shorter than an Ethernet header is handed on. */
	FUZZ_CHECK(pkt->len >= VHF_NET_MIN_FRAME_LEN);
	if (ctx->tx_copied >= FUZZ_TX_COPY_BUDGET)
		return;
	n = pkt->len < FUZZ_COPY_LEN ? pkt->len : FUZZ_COPY_LEN;
	/* Asking for one byte more than the packet holds yields exactly the packet. */
	FUZZ_CHECK(vhf_iov_copy_out(fuzz_copy, pkt->iov, pkt->niov, 0, n + 1) ==
		   n + (n < pkt->len));
	ctx->tx_copied += n;
	if (pkt->len > 16) {
		/* The tail, through the skip path. */
		FUZZ_CHECK(vhf_iov_copy_out(fuzz_copy, pkt->iov, pkt->niov, pkt->len - 16, 64) ==
			   16);
		FUZZ_CHECK(vhf_iov_copy_out(fuzz_copy, pkt->iov, pkt->niov, pkt->len, 64) == 0);
	}
	fuzz_check_tx_offload(pkt, n);
}

/* ---------------------------------------------------------------------------------------- */
/* The device                                                                               */

static void
fuzz_op_rx_burst(struct fuzz_ctx *ctx)
{
	static const struct vhf_net_hdr offload = {
		.flags = VHF_NET_HDR_F_NEEDS_CSUM, .gso_type = VHF_NET_HDR_GSO_TCPV4,
		.hdr_len = 54, .gso_size = 1448, .csum_start = 34, .csum_offset = 16,
		.num_buffers = 0xdead,
	};
	struct fuzz_in *in = &ctx->in;
	struct fuzz_queue *q = &ctx->q[0];
	struct vhf_vq *vq = q->vq;
	struct vhf_seg segs[FUZZ_MAX_PKTS][FUZZ_MAX_SEGS];
	struct vhf_to_guest_pkt pkts[FUZZ_MAX_PKTS];
	uint32_t lens[FUZZ_MAX_PKTS];
	uint8_t shapes[FUZZ_MAX_PKTS];
	unsigned int np = fuzz_rx_pkts(in, lens, shapes), i, k;
	uint64_t packets, too_big, dropped, bytes, total = 0;
	struct vhf_burst_result res;
	struct fuzz_rx_acct acct;
	bool was_broken, snap;
	uint16_t ret;

	for (i = 0; i < np; i++) {
		uint32_t len = lens[i], left = len;
		uint8_t shape = shapes[i];
		unsigned int ns = 1 + (shape & FUZZ_SHAPE_SEGS_MASK);

		for (k = 0; k < ns; k++) {
			uint32_t sl = k + 1 == ns ? left : len / ns;
			uint32_t so = (i * 4099u + k * 131u) % (FUZZ_SRC_LEN - FUZZ_PKT_MAX_LEN);

			segs[i][k].data = fuzz_src + so;
			segs[i][k].len = sl;
			left -= sl;
		}
		pkts[i].segs = segs[i];
		pkts[i].nsegs = (uint16_t)ns;
		pkts[i].len = len;
		pkts[i].hdr = shape & FUZZ_SHAPE_OFFLOAD ? &offload : NULL;
		total += len;
	}
	if (!q->enabled || ctx->rx_bytes >= FUZZ_RX_BYTE_BUDGET)
		return;
	ctx->rx_bytes += total;

	packets = vq->cnt[VHF_VQ_CNT_packets];
	too_big = vq->cnt[VHF_VQ_CNT_drop_too_big];
	dropped = vq->cnt[VHF_VQ_CNT_drop_broken];
	bytes = vq->cnt[VHF_VQ_CNT_bytes];
	was_broken = vq->broken;
	fuzz_call_begin(ctx, q, "vhf_net_to_guest_enqueue");
	fuzz_call_budget(ctx, "vhf_net_to_guest_enqueue", FUZZ_DESC_BUDGET(1));
	fuzz_rx_acct_begin(ctx, &acct);
	snap = fuzz_pre_call(ctx, q);
	ret = vhf_net_to_guest_enqueue(vq, pkts, (uint16_t)np, &res);
	fuzz_post_call(ctx, snap);
	fuzz_rx_acct_end(ctx, &acct);
	if (res.status == VHF_TO_GUEST_WAIT_KICK || res.status == VHF_TO_GUEST_RETRY)
		fuzz_check_short(ctx, (uint64_t)pkts[ret].len + vq->net_hdr_len);
	fuzz_call_end(ctx);
	fuzz_stats.rx_pkts += vq->cnt[VHF_VQ_CNT_packets] - packets;
	fuzz_stats.rx_wait += res.status == VHF_TO_GUEST_WAIT_KICK;

	FUZZ_CHECK(ret <= np);
	/* Every packet taken is accounted for exactly once. */
	FUZZ_CHECK(ret == (vq->cnt[VHF_VQ_CNT_packets] - packets) +
			  (vq->cnt[VHF_VQ_CNT_drop_too_big] - too_big) +
			  (vq->cnt[VHF_VQ_CNT_drop_broken] - dropped));
	FUZZ_CHECK(vq->cnt[VHF_VQ_CNT_bytes] - bytes <= total);
	FUZZ_CHECK(vq->used_pending == 0);
	FUZZ_CHECK((res.status == VHF_TO_GUEST_BROKEN) == vq->broken);
	if (was_broken) {
		FUZZ_CHECK(ret == np && !res.call);
		FUZZ_CHECK(vq->cnt[VHF_VQ_CNT_packets] == packets);
	}
	if (res.status == VHF_TO_GUEST_DONE || res.status == VHF_TO_GUEST_BROKEN)
		FUZZ_CHECK(ret == np);
	else
		FUZZ_CHECK(ret < np);
	/* Reservations never outlive a burst. */
	FUZZ_CHECK(vq->broken || vq->next_avail == vq->last_avail);
}

static void
fuzz_op_has_room(struct fuzz_ctx *ctx, bool space_only)
{
	struct fuzz_in *in = &ctx->in;
	uint32_t raw = fuzz_u32(in);
	uint32_t need = raw & 0x80000000u ? raw : raw % 20000;
	struct fuzz_queue *q = &ctx->q[0];
	struct vhf_vq *vq = q->vq;
	uint16_t last_avail = vq->last_avail;
	uint64_t need_all = (uint64_t)need + vq->net_hdr_len;
	bool was_broken = vq->broken, snap;

	if (!q->enabled)
		return;
	fuzz_call_begin(ctx, q, space_only ? "vhf_test_to_guest_avail_space" :
					       "vhf_net_to_guest_has_room");
	snap = fuzz_pre_call(ctx, q);
	if (!space_only) {
		enum vhf_to_guest_status st = vhf_net_to_guest_has_room(vq, need);

		fuzz_post_call(ctx, snap);
		FUZZ_CHECK((st == VHF_TO_GUEST_BROKEN) == vq->broken);
		if (st == VHF_TO_GUEST_WAIT_KICK || st == VHF_TO_GUEST_RETRY)
			fuzz_check_short(ctx, need_all);
		/* What the guest did inside the call is not what it shows now: no verdict. */
		if (st == VHF_TO_GUEST_WAIT_KICK && vq->notify_algo == VHF_NOTIFY_FIXED &&
		    ctx->call.fired == 0) {
			int mark = vq->packed ? vq->device_event->off_wrap : vq->shadow_avail;

			if (vq->packed && !vq->event_idx)
				mark = vhf_mark_packed(vq->last_avail, vq->avail_wrap);
			/* Packed without EVENT_IDX: any publication kicks, whatever the slot. */
			if (!vq->packed || vq->event_idx)
				fuzz_check_armed(q, mark);
			else if (q->rings_disjoint)
				FUZZ_CHECK(vq->device_event->flags == VHF_EVENT_F_ENABLE);
		}
	} else {
		uint32_t bytes = 0xffffffff;
		int mark = vhf_test_to_guest_avail_space(vq, need, &bytes);

		fuzz_post_call(ctx, snap);
		FUZZ_CHECK((mark == -EIO) == vq->broken);
		FUZZ_CHECK(mark >= 0 || mark == -EIO || mark == -EMSGSIZE || mark == -EAGAIN);
		FUZZ_CHECK(mark != -EIO || bytes == 0);
		if (mark >= 0 && bytes < need_all) {
			fuzz_check_short(ctx, need_all);
			if (!vhf_vq_enable_notify_and_check(vq, mark) && q->rings_disjoint &&
			    (!vq->packed || vq->event_idx) && ctx->call.fired == 0)
				fuzz_check_armed(q, mark);
		}
	}
	fuzz_call_end(ctx);
	/* Looking never consumes (a broken queue's cursor is left where it broke). */
	FUZZ_CHECK(vq->last_avail == last_avail);
	FUZZ_CHECK(vq->broken || vq->next_avail == vq->last_avail);
	if (was_broken)
		FUZZ_CHECK(vq->broken);
}

static int
fuzz_tx_one(struct fuzz_ctx *ctx, struct fuzz_queue *q)
{
	struct vhf_vq *vq = q->vq;
	uint64_t packets = vq->cnt[VHF_VQ_CNT_packets];
	bool was_broken = vq->broken;
	int ret;

	/* One budget for the whole TX burst: what this call may read is what is left of it. */
	fuzz_call_budget(ctx, "vhf_net_from_guest_next", FUZZ_DESC_BUDGET(1) - q->tx_reads);
	ret = vhf_net_from_guest_next(vq, &fuzz_tx_pkt);
	q->tx_reads += ctx->call.desc_reads;
	FUZZ_CHECK(ret == 1 || ret == 0 || ret == -EIO || ret == -EAGAIN);
	FUZZ_CHECK((ret == -EIO) == vq->broken);
	FUZZ_CHECK(vq->used_pending <= vq->size);
	if (was_broken)
		FUZZ_CHECK(ret == -EIO);
	if (ret == 1) {
		FUZZ_CHECK(vq->cnt[VHF_VQ_CNT_packets] == packets + 1);
		fuzz_stats.tx_pkts++;
		fuzz_check_tx_pkt(ctx, &fuzz_tx_pkt);
	} else {
		FUZZ_CHECK(vq->cnt[VHF_VQ_CNT_packets] == packets);
	}
	return ret;
}

static void
fuzz_op_tx_burst(struct fuzz_ctx *ctx, bool finish)
{
	struct fuzz_queue *q = &ctx->q[1];
	unsigned int max = finish ? 1 + fuzz_u8(&ctx->in) % FUZZ_TX_MAX_PER_OP : 1, i;
	bool snap;

	if (!q->enabled)
		return;
	fuzz_call_begin(ctx, q, "vhf_net_from_guest_next");
	snap = fuzz_pre_call(ctx, q);
	for (i = 0; i < max; i++)
		if (fuzz_tx_one(ctx, q) != 1)
			break;
	if (finish) {
		fuzz_call_budget(ctx, "vhf_net_from_guest_finish", 0);
		vhf_net_from_guest_finish(q->vq);
		FUZZ_CHECK(q->vq->used_pending == 0);
		q->tx_reads = 0; /* the next burst starts with a whole budget */
	}
	fuzz_post_call(ctx, snap);
	fuzz_call_end(ctx);
}

static void
fuzz_op_arm_kick(struct fuzz_ctx *ctx)
{
	struct fuzz_queue *q = &ctx->q[fuzz_u8(&ctx->in) & 1];
	struct vhf_vq *vq = q->vq;
	bool was_broken = vq->broken, armed, snap;

	if (!q->enabled)
		return;
	fuzz_call_begin(ctx, q, "vhf_vq_arm_kick");
	/* Arming a kick reads no descriptor. */
	fuzz_call_budget(ctx, "vhf_vq_arm_kick", 0);
	snap = fuzz_pre_call(ctx, q);
	armed = vhf_vq_arm_kick(vq);
	fuzz_post_call(ctx, snap);
	if (was_broken)
		FUZZ_CHECK(armed);
	FUZZ_CHECK(vq->next_avail == vq->last_avail || vq->broken);
	/* What the guest did inside the call is not what it shows now: no verdict. */
	if (ctx->call.fired != 0) {
		fuzz_call_end(ctx);
		return;
	}
	fuzz_call_end(ctx);
	if (armed && !vq->broken) {
		fuzz_stats.armed++;
		fuzz_check_armed(q, vq->packed ? vhf_mark_packed(vq->last_avail, vq->avail_wrap) :
						 vq->last_avail);
	} else if (!armed && !vq->broken && q->rings_disjoint) {
		/* Work is pending, and the device is not waiting for a kick. */
		if (vq->packed)
			FUZZ_CHECK(vhf_packed_desc_is_avail(vq->desc_packed[vq->last_avail].flags,
							    vq->avail_wrap));
		else /* published now, or earlier and taken back by the guest since */
			FUZZ_CHECK(vq->avail->idx != vq->last_avail ||
				   vq->shadow_avail != vq->last_avail);
	}
}

/* The device's side of an operation (fuzz_run_ops). */
static void
fuzz_device_op(struct fuzz_ctx *ctx, unsigned int op)
{
	switch (op) {
	case FUZZ_OP_RX_BURST:
		fuzz_op_rx_burst(ctx);
		break;
	case FUZZ_OP_TX_BURST:
		fuzz_op_tx_burst(ctx, true);
		break;
	case FUZZ_OP_HAS_ROOM:
		fuzz_op_has_room(ctx, false);
		break;
	case FUZZ_OP_AVAIL_SPACE:
		fuzz_op_has_room(ctx, true);
		break;
	case FUZZ_OP_ARM_KICK:
		fuzz_op_arm_kick(ctx);
		break;
	case FUZZ_OP_REINIT:
		fuzz_reinit(&ctx->q[fuzz_u8(&ctx->in) & 1]);
		break;
	default:
		fuzz_op_tx_burst(ctx, false);
		break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vhf_vq vqs[2];
	struct fuzz_ctx ctx;
	unsigned int i;

	if (fuzz_src[1] == 0)
		for (i = 0; i < FUZZ_SRC_LEN; i++)
			fuzz_src[i] = (uint8_t)(i * 7 + (i >> 8) + 1);

	if (fuzz_setup(&ctx, data, size, &vqs[0], &vqs[1]) < 0)
		goto out;
	fuzz_run_ops(&ctx, fuzz_device_op);
	/* Whatever the guest did, the device can always finish and go idle. */
	for (i = 0; i < 2; i++) {
		struct fuzz_queue *q = &ctx.q[i];

		if (!q->enabled)
			continue;
		fuzz_call_begin(&ctx, q, "vhf_net_from_guest_finish");
		fuzz_call_budget(&ctx, "vhf_net_from_guest_finish", 0);
		vhf_net_from_guest_finish(q->vq);
		FUZZ_CHECK(q->vq->used_pending == 0);
		q->tx_reads = 0;
		fuzz_check_queue(q);
		fuzz_call_budget(&ctx, "vhf_vq_arm_kick", 0);
		(void)vhf_vq_arm_kick(q->vq);
		fuzz_call_end(&ctx);
		fuzz_check_queue(q);
	}
out:
	fuzz_teardown(&ctx);
	return 0;
}
