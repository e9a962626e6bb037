/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 dpdk-vhostfix authors
 */

/*
 * A hostile guest against the device datapath: the input chooses the guest's
 * memory map, two queues (guest RX, served by vhf_net_rx_enqueue, and guest
 * TX, served by vhf_net_tx_next), where their rings sit, what the memory holds,
 * and then a script of guest actions (publish chains, scribble over rings and
 * buffers) interleaved with device calls. After every step the harness checks
 * what the library promises and abort()s on a violation:
 *
 *  - every TX segment lies wholly inside one guest region, the segments add up
 *    to the packet length (an Ethernet header at least) and can be copied out;
 *  - an RX burst takes at most what it was given, and its counters account
 *    for every packet taken (delivered, too big, or dropped on a broken queue);
 *  - buffers in flight (consumed minus used) stay what they were at init:
 *    the device never publishes a used entry for something it did not take;
 *  - split: the avail index the device trusts is never more than the ring
 *    size ahead of what it consumed;
 *  - a broken queue stays broken, answers at once and writes no guest memory;
 *  - bounded work: an RX call, or a TX burst (up to vhf_net_tx_finish()),
 *    reads at most VHF_BURST_MAX_DESC descriptors and stages at most a ring's
 *    worth of used entries; arming a kick reads none;
 *  - when the device says "safe to sleep" (arm_kick true, has_room WAIT_KICK
 *    with the fixed algorithm) the guest's next publication is guaranteed to
 *    kick: notifications are enabled naming exactly what is published now;
 *  - the resume indexes vhf_vq_get_base() reports are accepted by
 *    vhf_vq_init(), which accepts exactly the indexes the spec allows.
 *
 * Out-of-bounds accesses are left to the sanitizers: every region and every
 * dedicated ring area is its own exact-size allocation.
 *
 * Input layout (little-endian; reads past the end yield zeros):
 *
 *   u8  nregions (1 + v % 3)
 *   3 x { u16 size (0: 65536, else at least 64), u8 gpa_mode, u32 gpa_param }
 *   2 x { u8 flags (FUZZ_Q_*), u8 size_sel, u16 last_avail, u16 last_used,
 *         u8 placement (FUZZ_P_*), u16 desc_off, u16 driver_off, u16 device_off }
 *   u16 image_len, then image_len bytes copied over guest memory in order
 *       (regions, then dedicated ring areas)
 *   operations until the input ends (enum fuzz_op, operands in fuzz_run_op())
 *
 * Queue 0 is the guest's RX queue, queue 1 its TX queue.
 */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_vq.h"
#include "vhf_net.h"
#include "vhf_net_offload.h"

#define FUZZ_REGION_MAX 65536u
#define FUZZ_MAX_CHUNKS (FUZZ_NREGIONS_MAX + 2 * 3)
#define FUZZ_MAX_OPS 256
#define FUZZ_MAX_PKTS 32
#define FUZZ_MAX_SEGS 4
#define FUZZ_PKT_MAX_LEN 0x3fffu
#define FUZZ_SRC_LEN 65536u
#define FUZZ_TX_MAX_PER_OP 64
#define FUZZ_RX_BYTE_BUDGET (4u << 20)
#define FUZZ_TX_COPY_BUDGET (4u << 20)
#define FUZZ_COPY_LEN 65536u
#define FUZZ_BROKEN_CHECKS 4

#define FUZZ_CHECK(cond)                                                                           \
	do {                                                                                       \
		if (unlikely(!(cond)))                                                             \
			fuzz_fail(#cond, __LINE__);                                                \
	} while (0)

struct fuzz_in {
	const uint8_t *p;
	size_t n;
	size_t off;
};

struct fuzz_chunk {
	uint8_t *base;
	size_t len;
};

/* The guest's own bookkeeping for publishing chains. */
struct fuzz_guest_q {
	uint16_t next_head; /* split: where the next chain's descriptors go */
	uint16_t pos;       /* packed: next slot to fill */
	bool wrap;          /* packed: driver wrap counter */
	uint16_t next_id;   /* packed: buffer ids */
};

struct fuzz_queue {
	bool enabled;
	bool rx;
	bool rings_disjoint; /* the three ring areas do not overlap one another */
	struct vhf_vq_config cfg;
	struct vhf_vq vq;
	uint32_t inflight; /* consumed minus used, at init */
	uint64_t burst_reads; /* descriptors_read when the current TX burst began */
	bool was_broken;
	unsigned int broken_checks;
	struct fuzz_guest_q g;
};

struct fuzz_ctx {
	struct fuzz_in in;
	uint32_t nregions;
	struct vhf_mem_region regions[FUZZ_NREGIONS_MAX];
	struct vhf_mem mem;
	unsigned int nchunks;
	struct fuzz_chunk chunks[FUZZ_MAX_CHUNKS];
	size_t mem_total;
	uint8_t *snapshot;
	struct fuzz_queue q[2];
	uint32_t rx_bytes;
	uint32_t tx_copied;
};

/* What the inputs reached, for fuzz_vq_print_stats(). */
static struct {
	unsigned long inputs, setup_ok, ops, rx_pkts, rx_wait, tx_pkts, armed, reinit;
	unsigned long broken[VHF_VQ_CNT_MAX];
} fuzz_stats;

static uint8_t fuzz_src[FUZZ_SRC_LEN];
static uint8_t fuzz_copy[FUZZ_COPY_LEN + 1];
static struct vhf_tx_pkt fuzz_tx_pkt;

static void __attribute__((noreturn))
fuzz_fail(const char *what, int line)
{
	fprintf(stderr, "fuzz_vq: invariant violated at fuzz_vq.c:%d: %s\n", line, what);
	abort();
}

static uint8_t
fuzz_u8(struct fuzz_in *in)
{
	return in->off < in->n ? in->p[in->off++] : 0;
}

static uint16_t
fuzz_u16(struct fuzz_in *in)
{
	uint16_t lo = fuzz_u8(in);

	return (uint16_t)(lo | (uint16_t)fuzz_u8(in) << 8);
}

static uint32_t
fuzz_u32(struct fuzz_in *in)
{
	uint32_t lo = fuzz_u16(in);

	return lo | (uint32_t)fuzz_u16(in) << 16;
}

static void *
fuzz_add_chunk(struct fuzz_ctx *ctx, size_t len)
{
	uint8_t *p = calloc(1, len);

	if (p == NULL)
		abort();
	ctx->chunks[ctx->nchunks].base = p;
	ctx->chunks[ctx->nchunks].len = len;
	ctx->nchunks++;
	ctx->mem_total += len;
	return p;
}

/* ---------------------------------------------------------------------------------------- */
/* Set-up                                                                                   */

static int
fuzz_setup_mem(struct fuzz_ctx *ctx)
{
	struct fuzz_in *in = &ctx->in;
	uint16_t size_raw[FUZZ_NREGIONS_MAX];
	uint8_t mode[FUZZ_NREGIONS_MAX];
	uint32_t param[FUZZ_NREGIONS_MAX];
	uint32_t r;

	ctx->nregions = 1 + fuzz_u8(in) % FUZZ_NREGIONS_MAX;
	for (r = 0; r < FUZZ_NREGIONS_MAX; r++) {
		size_raw[r] = fuzz_u16(in);
		mode[r] = fuzz_u8(in);
		param[r] = fuzz_u32(in);
	}
	for (r = 0; r < ctx->nregions; r++) {
		struct vhf_mem_region *reg = &ctx->regions[r];
		uint64_t size = size_raw[r] == 0 ? FUZZ_REGION_MAX : size_raw[r];
		uint64_t prev_end = 0;

		if (size < 64)
			size = 64;
		if (r > 0) {
			prev_end = ctx->regions[r - 1].guest_phys_addr + ctx->regions[r - 1].size;
			if (prev_end == 0)
				return -1; /* previous region ends at the top of the space */
		}
		switch (mode[r] % 4) {
		case 0: /* first: at 0; others: right after the previous one */
			reg->guest_phys_addr = prev_end;
			break;
		case 1: /* small gap */
			reg->guest_phys_addr = prev_end + ((uint64_t)(param[r] & 0xfff) << 4);
			break;
		case 2: /* anywhere (may overlap: then the memory table is refused) */
			reg->guest_phys_addr = (uint64_t)param[r] << 12;
			break;
		default: /* the top of the address space */
			reg->guest_phys_addr = UINT64_MAX - size - (param[r] & 0xfff);
			break;
		}
		reg->size = size;
		reg->host_addr = (uint64_t)(uintptr_t)fuzz_add_chunk(ctx, size);
		reg->mmap_offset = 0;
	}
	if (vhf_mem_set(&ctx->mem, ctx->regions, ctx->nregions) != 0)
		return -1;
	return 0;
}

/* Place one ring area of len bytes at raw offset in region reg; NULL if it does not fit. */
static void *
fuzz_place(const struct vhf_mem_region *reg, uint16_t raw, size_t len, size_t align, bool at_end)
{
	uint64_t off;

	if (len > reg->size)
		return NULL;
	if (at_end)
		off = (reg->size - len) & ~(uint64_t)(align - 1);
	else
		off = (raw % reg->size) & ~(uint64_t)(align - 1);
	if (off + len > reg->size)
		return NULL;
	return (void *)(uintptr_t)(reg->host_addr + off);
}

static bool
fuzz_overlap(const void *a, size_t alen, const void *b, size_t blen)
{
	uintptr_t x = (uintptr_t)a, y = (uintptr_t)b;

	return x < y + blen && y < x + alen;
}

/* Buffers the driver handed over and the device has not returned, in ring slots. */
static uint32_t
fuzz_inflight(const struct vhf_vq *vq)
{
	uint32_t lap = 2u * vq->size, a, u;

	if (!vq->packed)
		return (uint16_t)(vq->last_avail - vq->last_used);
	a = vq->last_avail + (vq->avail_wrap ? 0 : vq->size);
	u = vq->last_used + (vq->used_wrap ? 0 : vq->size);
	return (a + lap - u) % lap;
}

static int
fuzz_setup_queue(struct fuzz_ctx *ctx, unsigned int qi)
{
	static const uint16_t sizes[] = FUZZ_SIZES;
	struct fuzz_in *in = &ctx->in;
	struct fuzz_queue *q = &ctx->q[qi];
	struct vhf_vq_config *cfg = &q->cfg;
	uint8_t flags = fuzz_u8(in);
	uint8_t size_sel = fuzz_u8(in);
	uint16_t la_raw = fuzz_u16(in);
	uint16_t lu_raw = fuzz_u16(in);
	uint8_t place = fuzz_u8(in);
	uint16_t off_raw[3];
	size_t len[3], align[3];
	void *area[3];
	bool expect_ok;
	unsigned int i;
	int ret;

	for (i = 0; i < 3; i++)
		off_raw[i] = fuzz_u16(in);
	memset(q, 0, sizeof(*q));
	q->rx = qi == 0;
	if (!(flags & FUZZ_Q_ENABLED))
		return 0;

	memset(cfg, 0, sizeof(*cfg));
	cfg->packed = !!(flags & FUZZ_Q_PACKED);
	cfg->event_idx = !!(flags & FUZZ_Q_EVENT_IDX);
	cfg->indirect = !!(flags & FUZZ_Q_INDIRECT);
	cfg->mrg_rxbuf = !!(flags & FUZZ_Q_MRG);
	cfg->net_hdr_len = (flags & FUZZ_Q_HDR12) || cfg->mrg_rxbuf ? VHF_NET_HDR_LEN_MRG :
								     VHF_NET_HDR_LEN_LEGACY;
	cfg->notify_algo = (enum vhf_notify_algo)((flags >> FUZZ_Q_ALGO_SHIFT) % 3);
	if (cfg->packed && size_sel >= 0xc0)
		cfg->size = (uint16_t)((size_sel & 0x3f) + 1);
	else
		cfg->size = sizes[size_sel % (sizeof(sizes) / sizeof(sizes[0]))];
	cfg->mem = &ctx->mem;

	len[0] = 16u * cfg->size;
	align[0] = 16;
	if (cfg->packed) {
		len[1] = len[2] = sizeof(struct vhf_vring_packed_event);
		align[1] = align[2] = 4;
	} else {
		len[1] = 4u + 2u * cfg->size + (cfg->event_idx ? 2u : 0u);
		len[2] = 4u + 8u * cfg->size + (cfg->event_idx ? 2u : 0u);
		align[1] = 2;
		align[2] = 4;
	}
	for (i = 0; i < 3; i++) {
		if (place & FUZZ_P_DEDICATED) {
			area[i] = fuzz_add_chunk(ctx, len[i]);
		} else {
			const struct vhf_mem_region *reg =
				&ctx->regions[(place & FUZZ_P_REGION_MASK) % ctx->nregions];

			area[i] = fuzz_place(reg, off_raw[i], len[i], align[i],
					     i == 0 && (place & FUZZ_P_AT_END));
			if (area[i] == NULL)
				return -1;
		}
	}
	q->rings_disjoint = !fuzz_overlap(area[0], len[0], area[1], len[1]) &&
			    !fuzz_overlap(area[0], len[0], area[2], len[2]) &&
			    !fuzz_overlap(area[1], len[1], area[2], len[2]);
	if (cfg->packed) {
		cfg->desc_packed = area[0];
		cfg->driver_event = area[1];
		cfg->device_event = area[2];
	} else {
		cfg->desc = area[0];
		cfg->avail = area[1];
		cfg->used = area[2];
	}

	/* Resume indexes: as given (init refuses exactly the impossible ones), or made valid. */
	if (cfg->packed) {
		if (place & FUZZ_P_RAW_INDEX) {
			cfg->last_avail = la_raw;
			cfg->last_used = lu_raw;
		} else {
			cfg->last_avail =
				(uint16_t)((la_raw & 0x7fff) % cfg->size | (la_raw & 0x8000));
			cfg->last_used =
				(uint16_t)((lu_raw & 0x7fff) % cfg->size | (lu_raw & 0x8000));
		}
		expect_ok = (cfg->last_avail & 0x7fff) < cfg->size &&
			    (cfg->last_used & 0x7fff) < cfg->size;
	} else {
		cfg->last_used = lu_raw;
		if (place & FUZZ_P_RAW_INDEX)
			cfg->last_avail = la_raw;
		else
			cfg->last_avail = (uint16_t)(lu_raw + la_raw % (cfg->size + 1u));
		expect_ok = (uint16_t)(cfg->last_avail - cfg->last_used) <= cfg->size;
	}
	ret = vhf_vq_init(&q->vq, cfg);
	FUZZ_CHECK((ret == 0) == expect_ok);
	if (ret != 0) {
		FUZZ_CHECK(ret == -EINVAL && q->vq.broken);
		return 0; /* this queue stays disabled */
	}
	/* The guest's side of the resume point (the image may overwrite it). */
	if (!cfg->packed) {
		cfg->avail->idx = cfg->last_avail;
		cfg->used->idx = cfg->last_used;
	}
	q->enabled = true;
	q->inflight = fuzz_inflight(&q->vq);
	q->g.pos = q->vq.last_avail;
	q->g.wrap = q->vq.avail_wrap;
	q->g.next_head = (uint16_t)(q->vq.last_avail & q->vq.mask);
	return 0;
}

static void
fuzz_load_image(struct fuzz_ctx *ctx)
{
	struct fuzz_in *in = &ctx->in;
	size_t left = fuzz_u16(in);
	unsigned int c;

	if (left > in->n - in->off)
		left = in->n - in->off;
	for (c = 0; c < ctx->nchunks && left > 0; c++) {
		size_t n = ctx->chunks[c].len < left ? ctx->chunks[c].len : left;

		memcpy(ctx->chunks[c].base, in->p + in->off, n);
		in->off += n;
		left -= n;
	}
	in->off += left; /* more than guest memory holds: skip the rest */
}

/* ---------------------------------------------------------------------------------------- */
/* Invariants                                                                               */

static void
fuzz_snapshot(struct fuzz_ctx *ctx)
{
	size_t off = 0;
	unsigned int c;

	for (c = 0; c < ctx->nchunks; c++) {
		memcpy(ctx->snapshot + off, ctx->chunks[c].base, ctx->chunks[c].len);
		off += ctx->chunks[c].len;
	}
}

static bool
fuzz_snapshot_same(const struct fuzz_ctx *ctx)
{
	size_t off = 0;
	unsigned int c;

	for (c = 0; c < ctx->nchunks; c++) {
		if (memcmp(ctx->snapshot + off, ctx->chunks[c].base, ctx->chunks[c].len) != 0)
			return false;
		off += ctx->chunks[c].len;
	}
	return true;
}

static bool
fuzz_iov_in_region(const struct fuzz_ctx *ctx, const struct vhf_iov *iov)
{
	uintptr_t p = (uintptr_t)iov->base;
	uint32_t r;

	for (r = 0; r < ctx->nregions; r++) {
		uintptr_t base = (uintptr_t)ctx->regions[r].host_addr;

		if (p >= base && p - base <= ctx->regions[r].size &&
		    iov->len <= ctx->regions[r].size - (p - base))
			return true;
	}
	return false;
}

/* What holds after every step, for one queue. */
static void
fuzz_check_queue(struct fuzz_queue *q)
{
	const struct vhf_vq *vq = &q->vq;

	if (!q->enabled)
		return;
	if (q->was_broken)
		FUZZ_CHECK(vq->broken); /* sticky until re-initialised */
	else if (vq->broken)
		fuzz_stats.broken[vq->broken_reason]++;
	q->was_broken = vq->broken;
	if (vq->packed) {
		FUZZ_CHECK(vq->last_avail < vq->size);
		FUZZ_CHECK(vq->next_avail < vq->size);
		FUZZ_CHECK(vq->last_used < vq->size);
	} else {
		/* The avail index the device relies on is never further ahead than a ring. */
		FUZZ_CHECK((uint16_t)(vq->shadow_avail - vq->last_avail) <= vq->size);
	}
	if (vq->used_pending == 0)
		FUZZ_CHECK(fuzz_inflight(vq) == q->inflight);
}

/*
 * The device is about to sleep on this queue: the guest's next publication
 * must kick. mark is what is published now (split avail->idx; packed, the
 * first slot not available), notifications must be enabled naming it.
 */
static void
fuzz_check_armed(struct fuzz_queue *q, int mark)
{
	struct vhf_vq *vq = &q->vq;

	if (!q->rings_disjoint)
		return; /* the device's notification words may alias what it checked */
	FUZZ_CHECK(vq->notify_enabled);
	if (vq->packed) {
		uint16_t pos = (uint16_t)mark & 0x7fff;
		bool wrap = (uint16_t)mark >> VHF_EVENT_WRAP_SHIFT;

		FUZZ_CHECK(pos < vq->size);
		FUZZ_CHECK(!vhf_packed_desc_is_avail(vq->desc_packed[pos].flags, wrap));
		if (vq->event_idx) {
			FUZZ_CHECK(vq->device_event->flags == VHF_EVENT_F_DESC);
			FUZZ_CHECK(vq->device_event->off_wrap == (uint16_t)mark);
		} else {
			FUZZ_CHECK(vq->device_event->flags == VHF_EVENT_F_ENABLE);
		}
	} else {
		FUZZ_CHECK(vq->avail->idx == (uint16_t)mark);
		if (vq->event_idx)
			FUZZ_CHECK(*vhf_split_avail_event(vq->used, vq->size) == (uint16_t)mark);
		else
			FUZZ_CHECK(!(vq->used->flags & VHF_USED_F_NO_NOTIFY));
	}
}

/* Before a device call: remember guest memory if the queue is broken and owes nothing. */
static bool
fuzz_pre_call(struct fuzz_ctx *ctx, struct fuzz_queue *q)
{
	if (!q->vq.broken || q->vq.used_pending != 0 || q->broken_checks >= FUZZ_BROKEN_CHECKS)
		return false;
	q->broken_checks++;
	fuzz_snapshot(ctx);
	return true;
}

static void
fuzz_post_call(struct fuzz_ctx *ctx, bool snap)
{
	/* A broken queue is left alone: no guest memory is written. */
	if (snap)
		FUZZ_CHECK(fuzz_snapshot_same(ctx));
}

/*
 * The guest's virtio-net header as the PMD takes it (lib/vhf_net_offload.h),
 * every feature negotiated: whatever it accepts stays inside the packet. The
 * packet (copied whole into fuzz_copy) goes into an exact-size allocation so
 * that the sanitizers see any byte read or written past it.
 */
static void
fuzz_check_tx_offload(const struct vhf_tx_pkt *pkt, uint32_t copied)
{
	const uint64_t all = VHF_FEATURE(VHF_F_NET_CSUM) | VHF_FEATURE(VHF_F_NET_HOST_TSO4) |
			     VHF_FEATURE(VHF_F_NET_HOST_TSO6);
	struct vhf_ofl_rx ofl;
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
		vhf_ofl_csum_complete(p, pkt->len, ofl.csum_start, ofl.csum_offset);
	}
	free(p);
}

static void
fuzz_check_tx_pkt(struct fuzz_ctx *ctx, const struct vhf_tx_pkt *pkt)
{
	uint64_t sum = 0;
	uint32_t n;
	uint16_t i;

	FUZZ_CHECK(pkt->niov <= VHF_CHAIN_MAX_IOV);
	for (i = 0; i < pkt->niov; i++) {
		FUZZ_CHECK(pkt->iov[i].len > 0);
		FUZZ_CHECK(fuzz_iov_in_region(ctx, &pkt->iov[i]));
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
/* The guest                                                                                */

static uint64_t
fuzz_gpa(const struct fuzz_ctx *ctx, uint8_t r, uint16_t off)
{
	const struct vhf_mem_region *reg = &ctx->regions[r % ctx->nregions];

	return reg->guest_phys_addr + off % reg->size;
}

/* Write an indirect table of n entries at (r, off), as much of it as fits in the region. */
static void
fuzz_write_table(const struct fuzz_ctx *ctx, uint8_t r, uint16_t off, bool packed,
		 const uint64_t *addr, const uint32_t *len, unsigned int n, uint16_t wflag,
		 bool bad_next)
{
	const struct vhf_mem_region *reg = &ctx->regions[r % ctx->nregions];
	uint64_t o = off % reg->size;
	unsigned int i;

	for (i = 0; i < n && o + 16 * (i + 1) <= reg->size; i++) {
		uint8_t *dst = (uint8_t *)(uintptr_t)(reg->host_addr + o + 16 * i);
		bool last = i + 1 == n;

		if (packed) {
			struct vhf_vring_packed_desc d = {
				.addr = addr[i], .len = len[i], .id = 0,
				.flags = (uint16_t)(wflag |
						    (bad_next && last ? VHF_DESC_F_NEXT : 0)),
			};

			memcpy(dst, &d, sizeof(d));
		} else {
			struct vhf_vring_desc d = {
				.addr = addr[i], .len = len[i],
				.flags = (uint16_t)(wflag |
						    (!last || bad_next ? VHF_DESC_F_NEXT : 0)),
				.next = (uint16_t)(bad_next && last ? len[i] : i + 1),
			};

			memcpy(dst, &d, sizeof(d));
		}
	}
}

/*
 * Operands: u8 sel (bit 0 queue, bit 1 wrong direction, bit 2 indirect, bit 3
 * do not publish, bit 4 bad next/extra NEXT flag), u8 ndesc (1 + v % 8), ndesc
 * x { u8 region, u16 offset, u16 len }, and with indirect { u8 region, u16 offset }.
 */
static void
fuzz_op_publish(struct fuzz_ctx *ctx)
{
	struct fuzz_in *in = &ctx->in;
	uint8_t sel = fuzz_u8(in);
	unsigned int nd = 1 + fuzz_u8(in) % 8, n, i;
	struct fuzz_queue *q = &ctx->q[sel & 1];
	bool indirect = sel & 4, publish = !(sel & 8), bad_next = sel & 16;
	uint64_t addr[8];
	uint32_t len[8];
	uint8_t treg = 0;
	uint16_t toff = 0, wflag;

	for (i = 0; i < nd; i++) {
		uint8_t r = fuzz_u8(in);
		uint16_t off = fuzz_u16(in);

		addr[i] = fuzz_gpa(ctx, r, off);
		len[i] = fuzz_u16(in);
	}
	if (indirect) {
		treg = fuzz_u8(in);
		toff = fuzz_u16(in);
	}
	if (!q->enabled)
		return;
	wflag = q->rx != !!(sel & 2) ? VHF_DESC_F_WRITE : 0;
	n = nd < q->cfg.size ? nd : q->cfg.size;

	if (!q->cfg.packed) {
		struct vhf_vring_desc *desc = q->cfg.desc;
		struct vhf_vring_avail *avail = q->cfg.avail;
		uint16_t mask = (uint16_t)(q->cfg.size - 1);
		uint16_t head = q->g.next_head & mask;
		uint16_t idx;

		if (indirect) {
			fuzz_write_table(ctx, treg, toff, false, addr, len, nd, wflag, bad_next);
			desc[head] = (struct vhf_vring_desc){
				.addr = fuzz_gpa(ctx, treg, toff), .len = 16 * nd,
				.flags = VHF_DESC_F_INDIRECT, .next = 0 };
			q->g.next_head++;
		} else {
			for (i = 0; i < n; i++) {
				uint16_t d = (uint16_t)(head + i) & mask;
				bool last = i + 1 == n;

				desc[d] = (struct vhf_vring_desc){
					.addr = addr[i], .len = len[i],
					.flags = (uint16_t)(wflag | (!last || bad_next ?
								      VHF_DESC_F_NEXT : 0)),
					.next = bad_next && last ? (uint16_t)len[i] :
								   (uint16_t)((d + 1) & mask) };
			}
			q->g.next_head = (uint16_t)(q->g.next_head + n);
		}
		idx = avail->idx;
		avail->ring[idx & mask] = head;
		if (publish)
			__atomic_store_n(&avail->idx, (uint16_t)(idx + 1), __ATOMIC_RELEASE);
	} else {
		struct vhf_vring_packed_desc *desc = q->cfg.desc_packed;
		uint16_t first = q->g.pos, first_flags = 0;
		uint16_t id = q->g.next_id++;

		if (indirect) {
			fuzz_write_table(ctx, treg, toff, true, addr, len, nd, wflag, bad_next);
			n = 1;
		}
		for (i = 0; i < n; i++) {
			uint16_t p = q->g.pos;
			uint16_t f = q->g.wrap ? VHF_DESC_F_AVAIL : VHF_DESC_F_USED;
			bool last = i + 1 == n;

			if (indirect) {
				desc[p].addr = fuzz_gpa(ctx, treg, toff);
				desc[p].len = 16 * nd;
				f |= VHF_DESC_F_INDIRECT;
			} else {
				desc[p].addr = addr[i];
				desc[p].len = len[i];
				f |= wflag;
				if (!last || bad_next)
					f |= VHF_DESC_F_NEXT;
			}
			desc[p].id = id;
			if (i == 0)
				first_flags = f;
			else
				__atomic_store_n(&desc[p].flags, f, __ATOMIC_RELEASE);
			if (++q->g.pos == q->cfg.size) {
				q->g.pos = 0;
				q->g.wrap = !q->g.wrap;
			}
		}
		/* The chain's first flags publish it, written last. */
		if (publish)
			__atomic_store_n(&desc[first].flags, first_flags, __ATOMIC_RELEASE);
	}
}

/*
 * Operands: u8 sel (bit 0 queue, bits 1-3 field), u16 a, u16 b. A hostile
 * guest rewriting the words the device synchronises on.
 */
static void
fuzz_op_poke_field(struct fuzz_ctx *ctx)
{
	struct fuzz_in *in = &ctx->in;
	uint8_t sel = fuzz_u8(in);
	uint16_t a = fuzz_u16(in), b = fuzz_u16(in);
	struct fuzz_queue *q = &ctx->q[sel & 1];
	unsigned int field = (sel >> 1) & 7;
	uint16_t size = q->cfg.size;

	if (!q->enabled)
		return;
	if (!q->cfg.packed) {
		struct vhf_vring_avail *avail = q->cfg.avail;
		struct vhf_vring_used *used = q->cfg.used;
		uint16_t mask = (uint16_t)(size - 1);

		switch (field) {
		case 0:
			avail->idx = a;
			break;
		case 1: /* publish whatever the ring holds */
			avail->idx = (uint16_t)(avail->idx + a % (size + 1u));
			break;
		case 2:
			avail->flags = a;
			break;
		case 3:
			if (q->cfg.event_idx)
				*vhf_split_used_event(avail, size) = a;
			break;
		case 4:
			avail->ring[a & mask] = b;
			break;
		case 5:
			q->cfg.desc[a & mask].flags = b;
			break;
		case 6:
			used->flags = a;
			break;
		default: /* take back a few published entries */
			avail->idx = (uint16_t)(avail->idx - 1 - a % 4);
			break;
		}
	} else {
		struct vhf_vring_packed_desc *desc = q->cfg.desc_packed;

		switch (field) {
		case 0: /* make one slot available for the guest's wrap counter */
			desc[a % size].flags =
				(uint16_t)((b & ~(VHF_DESC_F_AVAIL | VHF_DESC_F_USED)) |
					   (q->g.wrap ? VHF_DESC_F_AVAIL : VHF_DESC_F_USED));
			break;
		case 1:
			q->cfg.driver_event->flags = a % 4;
			break;
		case 2:
			q->cfg.driver_event->off_wrap = a;
			break;
		case 3:
			desc[a % size].flags = b;
			break;
		case 4:
			q->g.pos = a % size;
			q->g.wrap = b & 1;
			break;
		case 5:
			desc[a % size].len = (uint32_t)b << (a & 15);
			break;
		case 6:
			desc[a % size].id = b;
			break;
		default:
			q->cfg.device_event->flags = b;
			break;
		}
	}
}

/* Operands: u8 chunk, u16 offset, u8 len (1 + v % 16), len bytes. */
static void
fuzz_op_poke(struct fuzz_ctx *ctx)
{
	struct fuzz_in *in = &ctx->in;
	const struct fuzz_chunk *c = &ctx->chunks[fuzz_u8(in) % ctx->nchunks];
	size_t off = fuzz_u16(in) % c->len;
	unsigned int n = 1 + fuzz_u8(in) % 16, i;

	for (i = 0; i < n; i++) {
		uint8_t v = fuzz_u8(in);

		if (off + i < c->len)
			c->base[off + i] = v;
	}
}

/* ---------------------------------------------------------------------------------------- */
/* The device                                                                               */

/*
 * Operands: u8 npkts (1 + v % 32), npkts x { u16 len (v & 0x3fff), u8 shape
 * (1 + v % 4 segments; bit 7: with an offload header) }.
 */
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
	struct vhf_vq *vq = &q->vq;
	struct vhf_seg segs[FUZZ_MAX_PKTS][FUZZ_MAX_SEGS];
	struct vhf_rx_pkt pkts[FUZZ_MAX_PKTS];
	unsigned int np = 1 + fuzz_u8(in) % FUZZ_MAX_PKTS, i, k;
	uint64_t packets, too_big, dropped, bytes, reads, total = 0;
	struct vhf_burst_result res;
	bool was_broken, snap;
	uint16_t ret;

	for (i = 0; i < np; i++) {
		uint32_t len = fuzz_u16(in) & FUZZ_PKT_MAX_LEN;
		uint8_t shape = fuzz_u8(in);
		unsigned int ns = 1 + shape % FUZZ_MAX_SEGS;
		uint32_t left = len;

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
		pkts[i].hdr = shape & 0x80 ? &offload : NULL;
		total += len;
	}
	if (!q->enabled || ctx->rx_bytes >= FUZZ_RX_BYTE_BUDGET)
		return;
	ctx->rx_bytes += (uint32_t)total;

	packets = vq->cnt[VHF_VQ_CNT_packets];
	too_big = vq->cnt[VHF_VQ_CNT_drop_too_big];
	dropped = vq->cnt[VHF_VQ_CNT_drop_broken];
	bytes = vq->cnt[VHF_VQ_CNT_bytes];
	was_broken = vq->broken;
	reads = vq->cnt[VHF_VQ_CNT_descs_read];
	snap = fuzz_pre_call(ctx, q);
	ret = vhf_net_rx_enqueue(vq, pkts, (uint16_t)np, &res);
	fuzz_post_call(ctx, snap);
	FUZZ_CHECK(vq->cnt[VHF_VQ_CNT_descs_read] - reads <= VHF_BURST_MAX_DESC);
	fuzz_stats.rx_pkts += vq->cnt[VHF_VQ_CNT_packets] - packets;
	fuzz_stats.rx_wait += res.status == VHF_RX_WAIT_KICK;

	FUZZ_CHECK(ret <= np);
	/* Every packet taken is accounted for exactly once. */
	FUZZ_CHECK(ret == (vq->cnt[VHF_VQ_CNT_packets] - packets) +
			  (vq->cnt[VHF_VQ_CNT_drop_too_big] - too_big) +
			  (vq->cnt[VHF_VQ_CNT_drop_broken] - dropped));
	FUZZ_CHECK(vq->cnt[VHF_VQ_CNT_bytes] - bytes <= total);
	FUZZ_CHECK(vq->used_pending == 0);
	FUZZ_CHECK((res.status == VHF_RX_BROKEN) == vq->broken);
	if (was_broken) {
		FUZZ_CHECK(ret == np && !res.call);
		FUZZ_CHECK(vq->cnt[VHF_VQ_CNT_packets] == packets);
	}
	if (res.status == VHF_RX_DONE || res.status == VHF_RX_BROKEN)
		FUZZ_CHECK(ret == np);
	else
		FUZZ_CHECK(ret < np);
	/* Reservations never outlive a burst. */
	FUZZ_CHECK(vq->broken || vq->next_avail == vq->last_avail);
}

/* Operands: u32 need (bit 31 clear: v % 20000, else as is). */
static void
fuzz_op_has_room(struct fuzz_ctx *ctx, bool space_only)
{
	struct fuzz_in *in = &ctx->in;
	uint32_t raw = fuzz_u32(in);
	uint32_t need = raw & 0x80000000u ? raw : raw % 20000;
	struct fuzz_queue *q = &ctx->q[0];
	struct vhf_vq *vq = &q->vq;
	uint16_t last_avail = vq->last_avail;
	uint64_t reads = vq->cnt[VHF_VQ_CNT_descs_read];
	bool was_broken = vq->broken, snap;

	if (!q->enabled)
		return;
	snap = fuzz_pre_call(ctx, q);
	if (!space_only) {
		enum vhf_rx_status st = vhf_net_rx_has_room(vq, need);

		fuzz_post_call(ctx, snap);
		FUZZ_CHECK((st == VHF_RX_BROKEN) == vq->broken);
		if (st == VHF_RX_WAIT_KICK && vq->notify_algo == VHF_NOTIFY_FIXED) {
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
		int mark = vhf_net_rx_avail_space(vq, need, &bytes);

		fuzz_post_call(ctx, snap);
		FUZZ_CHECK((mark == -EIO) == vq->broken);
		FUZZ_CHECK(mark >= 0 || mark == -EIO || mark == -EMSGSIZE || mark == -EAGAIN);
		FUZZ_CHECK(mark != -EIO || bytes == 0);
		if (mark >= 0 && bytes < (uint32_t)(need + vq->net_hdr_len)) {
			if (!vhf_vq_enable_notify_and_check(vq, mark) && q->rings_disjoint &&
			    (!vq->packed || vq->event_idx))
				fuzz_check_armed(q, mark);
		}
	}
	FUZZ_CHECK(vq->cnt[VHF_VQ_CNT_descs_read] - reads <= VHF_BURST_MAX_DESC);
	/* Looking never consumes (a broken queue's cursor is left where it broke). */
	FUZZ_CHECK(vq->last_avail == last_avail);
	FUZZ_CHECK(vq->broken || vq->next_avail == vq->last_avail);
	if (was_broken)
		FUZZ_CHECK(vq->broken);
}

static int
fuzz_tx_one(struct fuzz_ctx *ctx, struct fuzz_queue *q)
{
	struct vhf_vq *vq = &q->vq;
	uint64_t packets = vq->cnt[VHF_VQ_CNT_packets];
	bool was_broken = vq->broken;
	int ret;

	ret = vhf_net_tx_next(vq, &fuzz_tx_pkt);
	FUZZ_CHECK(ret == 1 || ret == 0 || ret == -EIO || ret == -EAGAIN);
	FUZZ_CHECK((ret == -EIO) == vq->broken);
	FUZZ_CHECK(vq->used_pending <= vq->size);
	FUZZ_CHECK(vq->cnt[VHF_VQ_CNT_descs_read] - q->burst_reads <= VHF_BURST_MAX_DESC);
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

/* Operands: u8 max (1 + v % 64). */
static void
fuzz_op_tx_burst(struct fuzz_ctx *ctx, bool finish)
{
	struct fuzz_queue *q = &ctx->q[1];
	unsigned int max = finish ? 1 + fuzz_u8(&ctx->in) % FUZZ_TX_MAX_PER_OP : 1, i;
	bool snap;

	if (!q->enabled)
		return;
	snap = fuzz_pre_call(ctx, q);
	for (i = 0; i < max; i++)
		if (fuzz_tx_one(ctx, q) != 1)
			break;
	if (finish) {
		vhf_net_tx_finish(&q->vq);
		FUZZ_CHECK(q->vq.used_pending == 0);
		q->burst_reads = q->vq.cnt[VHF_VQ_CNT_descs_read];
	}
	fuzz_post_call(ctx, snap);
}

/* Operands: u8 queue (bit 0). */
static void
fuzz_op_arm_kick(struct fuzz_ctx *ctx)
{
	struct fuzz_queue *q = &ctx->q[fuzz_u8(&ctx->in) & 1];
	struct vhf_vq *vq = &q->vq;
	uint64_t reads = vq->cnt[VHF_VQ_CNT_descs_read];
	bool was_broken = vq->broken, armed, snap;

	if (!q->enabled)
		return;
	snap = fuzz_pre_call(ctx, q);
	armed = vhf_vq_arm_kick(vq);
	fuzz_post_call(ctx, snap);
	FUZZ_CHECK(vq->cnt[VHF_VQ_CNT_descs_read] == reads);
	if (was_broken)
		FUZZ_CHECK(armed);
	FUZZ_CHECK(vq->next_avail == vq->last_avail || vq->broken);
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

/* Operands: u8 queue (bit 0). Reconnect: the resume point must be accepted as it is. */
static void
fuzz_op_reinit(struct fuzz_ctx *ctx)
{
	struct fuzz_queue *q = &ctx->q[fuzz_u8(&ctx->in) & 1];

	if (!q->enabled || q->vq.used_pending != 0)
		return;
	vhf_vq_get_base(&q->vq, &q->cfg.last_avail, &q->cfg.last_used);
	FUZZ_CHECK(vhf_vq_init(&q->vq, &q->cfg) == 0);
	FUZZ_CHECK(fuzz_inflight(&q->vq) == q->inflight);
	q->burst_reads = 0; /* a new queue life: counters and budget start afresh */
	fuzz_stats.reinit++;
	q->was_broken = false;
	q->broken_checks = 0;
}

/* FUZZ_VQ_TRACE=1 in the environment: print every operation and the queues after it. */
static int fuzz_trace = -1;

static void
fuzz_trace_op(const struct fuzz_ctx *ctx, unsigned int op, size_t at)
{
	static const char *const names[FUZZ_OP_MAX] = {
		"publish", "rx_burst", "tx_burst", "has_room", "avail_space", "arm_kick", "poke",
		"poke_field", "reinit", "tx_next",
	};
	unsigned int i;

	fprintf(stderr, "op @%zu %s:", at, names[op]);
	for (i = 0; i < 2; i++) {
		const struct fuzz_queue *q = &ctx->q[i];
		const struct vhf_vq *vq = &q->vq;

		if (!q->enabled)
			continue;
		fprintf(stderr, " q%u[avail %u%s next %u shadow %u used %u pending %u", i,
			vq->last_avail, vq->avail_wrap ? "w" : "", vq->next_avail, vq->shadow_avail,
			vq->last_used, vq->used_pending);
		if (!vq->packed)
			fprintf(stderr, " guest idx %u", vq->avail->idx);
		if (vq->broken)
			fprintf(stderr, " broken %s", vhf_vq_counter_names[vq->broken_reason]);
		fprintf(stderr, "]");
	}
	fprintf(stderr, "\n");
}

static void
fuzz_run_op(struct fuzz_ctx *ctx)
{
	size_t at = ctx->in.off;
	unsigned int op = fuzz_u8(&ctx->in) % FUZZ_OP_MAX;

	if (fuzz_trace < 0)
		fuzz_trace = getenv("FUZZ_VQ_TRACE") != NULL;
	switch (op) {
	case FUZZ_OP_PUBLISH:
		fuzz_op_publish(ctx);
		break;
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
	case FUZZ_OP_POKE:
		fuzz_op_poke(ctx);
		break;
	case FUZZ_OP_POKE_FIELD:
		fuzz_op_poke_field(ctx);
		break;
	case FUZZ_OP_REINIT:
		fuzz_op_reinit(ctx);
		break;
	default:
		fuzz_op_tx_burst(ctx, false);
		break;
	}
	if (fuzz_trace)
		fuzz_trace_op(ctx, op, at);
}

void
fuzz_vq_print_stats(FILE *f)
{
	unsigned int i;

	fprintf(f, "# inputs %lu, set up %lu, ops %lu, rx packets %lu, rx wait-kick %lu, "
		"tx packets %lu, armed %lu, reinit %lu\n", fuzz_stats.inputs, fuzz_stats.setup_ok,
		fuzz_stats.ops, fuzz_stats.rx_pkts, fuzz_stats.rx_wait, fuzz_stats.tx_pkts,
		fuzz_stats.armed, fuzz_stats.reinit);
	fprintf(f, "# queues broken by:");
	for (i = 0; i < VHF_VQ_CNT_MAX; i++)
		if (fuzz_stats.broken[i] != 0)
			fprintf(f, " %s %lu", vhf_vq_counter_names[i], fuzz_stats.broken[i]);
	fprintf(f, "\n");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_ctx ctx;
	unsigned int i, ops;

	if (fuzz_src[1] == 0)
		for (i = 0; i < FUZZ_SRC_LEN; i++)
			fuzz_src[i] = (uint8_t)(i * 7 + (i >> 8) + 1);

	fuzz_stats.inputs++;
	memset(&ctx, 0, sizeof(ctx));
	ctx.in.p = data;
	ctx.in.n = size;
	if (fuzz_setup_mem(&ctx) < 0 || fuzz_setup_queue(&ctx, 0) < 0 ||
	    fuzz_setup_queue(&ctx, 1) < 0)
		goto out;
	if (!ctx.q[0].enabled && !ctx.q[1].enabled)
		goto out;
	fuzz_stats.setup_ok++;
	fuzz_load_image(&ctx);
	ctx.snapshot = malloc(ctx.mem_total);
	if (ctx.snapshot == NULL)
		abort();

	for (ops = 0; ops < FUZZ_MAX_OPS && ctx.in.off < ctx.in.n; ops++) {
		fuzz_run_op(&ctx);
		fuzz_stats.ops++;
		fuzz_check_queue(&ctx.q[0]);
		fuzz_check_queue(&ctx.q[1]);
	}
	/* Whatever the guest did, the device can always finish and go idle. */
	for (i = 0; i < 2; i++) {
		struct fuzz_queue *q = &ctx.q[i];

		if (!q->enabled)
			continue;
		vhf_net_tx_finish(&q->vq);
		FUZZ_CHECK(q->vq.used_pending == 0);
		fuzz_check_queue(q);
		(void)vhf_vq_arm_kick(&q->vq);
		fuzz_check_queue(q);
	}
out:
	free(ctx.snapshot);
	for (i = 0; i < ctx.nchunks; i++)
		free(ctx.chunks[i].base);
	return 0;
}
