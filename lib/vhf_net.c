/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 dpdk-vhostfix authors
 */

#include "vhf_net.h"
#include "vhf_copy.h"

/** Guest buffers one packet may take (mergeable RX). */
#define VHF_RX_MAX_BUFS 128
/** Host segments one packet's guest buffers may map to. */
#define VHF_RX_MAX_IOV (4 * VHF_CHAIN_MAX_IOV)
/** Descriptor reads after which a packet takes no further buffer: as many as its segments. */
#define VHF_RX_MAX_DESC VHF_RX_MAX_IOV

/*
 * One packet's walk (VHF_RX_MAX_DESC reads, then one more chain: its indirect
 * descriptor, its entries, and the one read too many that breaks it) fits in
 * a fresh call's budget. So every packet is decided, delivered or dropped as
 * too big, instead of being retried forever.
 */
_Static_assert(VHF_RX_MAX_DESC + VHF_CHAIN_MAX_DESC + 2 <= VHF_BURST_MAX_DESC,
	       "a packet's walk must fit in one call's descriptor budget");
/* Used entries staged in one call: one per chain read at most, never enough to wrap. */
_Static_assert(VHF_BURST_MAX_DESC < UINT16_MAX, "used_pending is 16 bits");

enum vhf_reserve {
	VHF_RESERVE_OK,
	VHF_RESERVE_SHORT,   /* not enough published; mark says what we saw */
	VHF_RESERVE_TOO_BIG, /* can never fit: drop the packet */
	VHF_RESERVE_BROKEN,
	VHF_RESERVE_BUDGET,  /* the call's descriptor budget ran out: poll again */
};

/** Buffers reserved for the packet being delivered. */
struct vhf_to_guest_room {
	uint16_t nbufs;
	uint16_t niov;
	struct vhf_buf bufs[VHF_RX_MAX_BUFS];
	struct vhf_iov iov[VHF_RX_MAX_IOV];
};

static inline uint32_t
vhf_sat32(uint64_t v)
{
	return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

/*
 * Reserve guest buffers for need bytes (header included) at the cursor, the
 * "avail space" step of the protocol. On SHORT nothing stays reserved and
 * *mark is the avail index the decision was based on; on BUDGET nothing
 * stays reserved either.
 */
static inline enum vhf_reserve
vhf_to_guest_reserve(struct vhf_vq *vq, uint32_t need, struct vhf_to_guest_room *room, int *mark,
		     uint32_t *bytes_seen)
{
	uint16_t start = vq->next_avail;
	bool start_wrap = vq->next_avail_wrap;
	/* Each chain is under 4 GiB, at most VHF_RX_MAX_BUFS of them: this sum cannot wrap. */
	uint64_t bytes = 0;
	uint32_t slots = 0;
	uint32_t budget = vq->desc_budget;
	int ret;

	room->nbufs = 0;
	room->niov = 0;
	while (bytes < need) {
		struct vhf_buf *buf = &room->bufs[room->nbufs];

		if (room->nbufs == VHF_RX_MAX_BUFS ||
		    room->niov > VHF_RX_MAX_IOV - VHF_CHAIN_MAX_IOV || slots >= vq->size ||
		    budget - vq->desc_budget >= VHF_RX_MAX_DESC)
			goto too_big;
		ret = vhf_vq_next_avail(vq, mark);
		if (unlikely(ret < 0))
			return VHF_RESERVE_BROKEN;
		if (ret == 0) {
			*bytes_seen = (uint32_t)bytes; /* short of need, itself a uint32_t */
			vhf_vq_rewind(vq, start, start_wrap);
			return VHF_RESERVE_SHORT;
		}
		ret = vhf_vq_fetch(vq, true, buf, room->iov, &room->niov);
		if (unlikely(ret == -EAGAIN)) {
			vhf_vq_rewind(vq, start, start_wrap);
			return VHF_RESERVE_BUDGET;
		}
		if (unlikely(ret < 0))
			return VHF_RESERVE_BROKEN;
		/*
		 * Too short for the header, it can never be used (with MRG_RXBUF the
		 * spec forbids it): break rather than have every packet walk it again.
		 */
		if (unlikely(buf->len < vq->net_hdr_len)) {
			vhf_vq_break(vq, VHF_VQ_CNT_err_to_guest_buf_short);
			return VHF_RESERVE_BROKEN;
		}
		bytes += buf->len;
		slots += buf->ndesc;
		room->nbufs++;
		/* Without MRG_RXBUF a packet must fit in one buffer. */
		if (!vq->mrg_rxbuf && bytes < need)
			goto too_big;
	}
	*bytes_seen = vhf_sat32(bytes);
	*mark = vq->packed ? vhf_mark_packed(vq->next_avail, vq->next_avail_wrap) :
			     vq->shadow_avail;
	return VHF_RESERVE_OK;

too_big:
	*bytes_seen = vhf_sat32(bytes);
	vhf_vq_rewind(vq, start, start_wrap);
	return VHF_RESERVE_TOO_BIG;
}

/*
 * The recheck of the never-stall rule: enable notification naming the mark the
 * short decision was based on, full barrier, and say whether the guest
 * published past it.
 */
#ifndef VHF_TEST_BUILD
#define vhf_to_guest_recheck(vq, mark) vhf_vq_enable_notify_and_check((vq), (mark))
#else
/*
 * Test builds also carry VHF_NOTIFY_CONSUMED_IDX, the recheck against the
 * consumed index that the race tests must show livelocking.
 */
static inline bool
vhf_to_guest_recheck(struct vhf_vq *vq, int mark)
{
	if (vq->notify_algo != VHF_NOTIFY_CONSUMED_IDX)
		return vhf_vq_enable_notify_and_check(vq, mark);
	vhf_vq_request_notify(vq, mark);
	vhf_shm_mb(); /* the barrier of vhf_vq_enable_notify_and_check(), same partner */
	/* The mistake: compare with what we consumed, not with what we saw. */
	return vhf_vq_published_since(vq, vq->packed ?
				      vhf_mark_packed(vq->next_avail, vq->next_avail_wrap) :
				      vq->next_avail);
}
#endif

/*
 * Find room for need bytes, or arm the guest RX kick and say why not.
 * This is the never-stall rule: when short, enable notification naming the
 * mark the decision was based on, full barrier, and retry if the guest
 * published past it. Returns OK/TOO_BIG/BROKEN/BUDGET from the reservation, or
 * SHORT with *status WAIT_KICK (safe to sleep) or RETRY (poll again).
 */
static enum vhf_reserve
vhf_to_guest_make_room(struct vhf_vq *vq, uint32_t need, struct vhf_to_guest_room *room,
		       enum vhf_to_guest_status *status)
{
	unsigned int tries;
	uint32_t bytes;
	int mark;

	for (tries = 0; tries < VHF_MAX_RECHECKS; tries++) {
		enum vhf_reserve r = vhf_to_guest_reserve(vq, need, room, &mark, &bytes);

		if (r != VHF_RESERVE_SHORT) {
			if (r == VHF_RESERVE_OK)
				vhf_vq_disable_notify(vq);
			return r;
		}
		if (!vhf_to_guest_recheck(vq, mark)) {
			vhf_vq_count(vq, VHF_VQ_CNT_kick_waits);
			*status = VHF_TO_GUEST_WAIT_KICK;
			return VHF_RESERVE_SHORT;
		}
		vhf_vq_count(vq, VHF_VQ_CNT_recheck_retry);
	}
	/*
	 * The guest keeps publishing without ever making room: do not spin here,
	 * and do not sleep either (the kick may already have been decided against).
	 */
	vhf_vq_count(vq, VHF_VQ_CNT_recheck_cap);
	*status = VHF_TO_GUEST_RETRY;
	return VHF_RESERVE_SHORT;
}

/*
 * The legacy algorithm, QEMU before the fix, kept for the stall reproducer
 * (--notify legacy): when short, request notification naming a fresh read of
 * avail->idx (split) or the shadow position (packed), not the index the
 * decision was based on, look once more, and trust that second look.
 * Returns as vhf_to_guest_make_room() does; it never retries.
 */
static enum vhf_reserve
vhf_to_guest_make_room_legacy(struct vhf_vq *vq, uint32_t need, struct vhf_to_guest_room *room,
			      enum vhf_to_guest_status *status)
{
	uint32_t bytes;
	int mark;
	enum vhf_reserve r = vhf_to_guest_reserve(vq, need, room, &mark, &bytes);

	if (r == VHF_RESERVE_SHORT) {
		vhf_vq_request_notify(vq, vq->packed ? mark :
					  vhf_shm_load_acquire16(&vq->avail->idx));
		/*
		 * The barrier of vhf_vq_enable_notify_and_check(), same partner (the
		 * driver's barrier before its kick decision): the bug is in what is
		 * named and rechecked, not in the ordering.
		 */
		vhf_shm_mb();
		r = vhf_to_guest_reserve(vq, need, room, &mark, &bytes);
	}
	if (r == VHF_RESERVE_OK) {
		vhf_vq_disable_notify(vq);
	} else if (r == VHF_RESERVE_SHORT) {
		vhf_vq_count(vq, VHF_VQ_CNT_kick_waits);
		*status = VHF_TO_GUEST_WAIT_KICK;
	}
	return r;
}

/*
 * A caller that polls (vhf_vq_config.caller_polls) wants room or "not yet",
 * never an armed kick: the reservation alone, RETRY when short. A kick armed
 * earlier (by vhf_net_to_guest_has_room() before a sleep) stays armed until
 * a reservation succeeds.
 */
static inline enum vhf_reserve
vhf_to_guest_find_room_polling(struct vhf_vq *vq, uint32_t need, struct vhf_to_guest_room *room,
			       enum vhf_to_guest_status *status)
{
	uint32_t bytes;
	int mark;
	enum vhf_reserve r = vhf_to_guest_reserve(vq, need, room, &mark, &bytes);

	if (r == VHF_RESERVE_OK)
		vhf_vq_disable_notify(vq);
	else if (r == VHF_RESERVE_SHORT)
		*status = VHF_TO_GUEST_RETRY;
	return r;
}

/*
 * The algorithm is the queue's, chosen at vhf_vq_init(): fixed, or legacy for
 * the reproducer; arm false for an enqueue whose caller polls.
 */
static inline enum vhf_reserve
vhf_to_guest_find_room(struct vhf_vq *vq, uint32_t need, struct vhf_to_guest_room *room,
		       enum vhf_to_guest_status *status, bool arm)
{
	if (!arm)
		return vhf_to_guest_find_room_polling(vq, need, room, status);
	if (unlikely(vq->notify_algo == VHF_NOTIFY_LEGACY))
		return vhf_to_guest_make_room_legacy(vq, need, room, status);
	return vhf_to_guest_make_room(vq, need, room, status);
}

/*
 * The small copies of a burst into guest buffers (headers, short frames),
 * deferred and then done back to back before the used entries are published.
 * Interleaved with the next packet's ring and descriptor reads, each store
 * to a line the guest's core holds waits behind those loads' misses; done
 * together, the stores' misses overlap. (DPDK's vhost batches its small
 * copies the same way.) Longer copies are done at once: they overlap
 * within themselves.
 *
 * Whole headers, the usual case, have a list of their own: one length for
 * all (the queue's), no per-entry kind to test. A header that a guest split
 * over two buffers goes piece by piece through the copy list instead.
 */
#define VHF_COPY_BATCH 64

struct vhf_copy_batch {
	uint16_t n;
	uint16_t nhdr;    /* whole headers listed in h[] */
	uint16_t nslot;   /* header slots handed out from hdr[] */
	uint16_t hdr_len; /* the queue's virtio-net header length */
	struct {
		void *dst;
		const void *src;
		uint32_t len;
		bool unless_equal; /* a header piece: see vhf_copy_header() */
	} e[VHF_COPY_BATCH];
	struct {
		void *dst;
		const struct vhf_net_hdr *src;
	} h[VHF_COPY_BATCH];
	/* Headers are built here, where they stay until the batch is done. */
	struct vhf_net_hdr hdr[VHF_COPY_BATCH];
};

/* The header of a packet with no offload in one buffer: every such packet's. */
static const struct vhf_net_hdr vhf_net_hdr_plain_one = { .num_buffers = 1 };

static inline void
vhf_copy_batch_init(struct vhf_copy_batch *b, uint16_t hdr_len)
{
	b->n = 0;
	b->nhdr = 0;
	b->nslot = 0;
	b->hdr_len = hdr_len;
}

/*
 * A header the buffer already holds (the same buffer comes back with the
 * same header, packet after packet) is left as it is: reading the line may
 * leave the guest's copy of it in place, a write takes the line from the
 * guest's core and makes its next read of the header a miss. The guest's
 * own header bytes are compared, which it may change meanwhile: its loss
 * alone.
 */
static inline void
vhf_copy_header(void *dst, const void *src, uint32_t len)
{
	if (!vhf_copy_equal(dst, src, len))
		vhf_copy(dst, src, len);
}

static inline void
vhf_copy_batch_run(struct vhf_copy_batch *b)
{
	uint16_t i;

	/* Whole headers: hdr_len is 10 or 12 (vhf_vq_init() checks). */
	for (i = 0; i < b->nhdr; i++)
		if (!vhf_copy_equal_8_16(b->h[i].dst, b->h[i].src, b->hdr_len))
			vhf_copy_8_16(b->h[i].dst, b->h[i].src, b->hdr_len);
	for (i = 0; i < b->n; i++) {
		if (b->e[i].unless_equal)
			vhf_copy_header(b->e[i].dst, b->e[i].src, b->e[i].len);
		else
			vhf_copy(b->e[i].dst, b->e[i].src, b->e[i].len);
	}
	b->n = 0;
	b->nhdr = 0;
}

static inline void
vhf_copy_batch_add(struct vhf_copy_batch *b, void *dst, const void *src, uint32_t len,
		   bool unless_equal)
{
	if (len > VHF_COPY_INLINE_MAX) {
		vhf_copy(dst, src, len);
		return;
	}
	if (unlikely(b->n == VHF_COPY_BATCH))
		vhf_copy_batch_run(b);
	b->e[b->n].dst = dst;
	b->e[b->n].src = src;
	b->e[b->n].len = len;
	b->e[b->n].unless_equal = unless_equal;
	b->n++;
}

/* A whole header (hdr_len bytes at dst): src stays valid until the batch is done. */
static inline void
vhf_copy_batch_add_hdr(struct vhf_copy_batch *b, void *dst, const struct vhf_net_hdr *src)
{
	if (unlikely(b->nhdr == VHF_COPY_BATCH))
		vhf_copy_batch_run(b);
	b->h[b->nhdr].dst = dst;
	b->h[b->nhdr].src = src;
	b->nhdr++;
}

/*
 * A header slot for the next packet. Slots are recycled only here, between
 * packets, once a run has done every pending copy: a run in the middle of a
 * packet (a list full) leaves the slot of the header being written, and
 * those of the copies still to come, alone.
 */
static inline struct vhf_net_hdr *
vhf_copy_batch_hdr(struct vhf_copy_batch *b)
{
	if (unlikely(b->nslot == VHF_COPY_BATCH)) {
		vhf_copy_batch_run(b);
		b->nslot = 0;
	}
	return &b->hdr[b->nslot++];
}

/* Scatter copy from packet segments to guest iovs; both lists are long enough. */
struct vhf_iov_cursor {
	const struct vhf_iov *iov;
	uint16_t idx;
	uint32_t off;
};

static inline void
vhf_iov_write(struct vhf_iov_cursor *cur, const void *src, uint32_t len,
	      struct vhf_copy_batch *batch, bool unless_equal)
{
	const uint8_t *s = src;

	while (len > 0) {
		const struct vhf_iov *iov = &cur->iov[cur->idx];
		uint32_t chunk = iov->len - cur->off;

		if (chunk > len)
			chunk = len;
		vhf_copy_batch_add(batch, (uint8_t *)iov->base + cur->off, s, chunk, unless_equal);
		s += chunk;
		len -= chunk;
		cur->off += chunk;
		if (cur->off == iov->len) {
			cur->idx++;
			cur->off = 0;
		}
	}
}

/*
 * The small copies wait for the end of the burst: the buffer's first lines,
 * last touched by the guest's core, can come over meanwhile; the frame's to
 * be written, the header's (if a line of its own) to be read first, as it is
 * likely to be unchanged.
 */
static inline void
vhf_to_guest_prefetch_buf(const struct vhf_vq *vq, const struct vhf_iov *iov0, uint32_t total)
{
	const uint8_t *first = iov0->base;

	if ((((uintptr_t)first ^ (uintptr_t)(first + vq->net_hdr_len)) & ~(uintptr_t)63) != 0)
		vhf_prefetch(first);
	vhf_prefetch_write(first + (iov0->len > vq->net_hdr_len ? vq->net_hdr_len : 0));
	if (total > 64 && iov0->len > 64)
		vhf_prefetch_write(first + 64);
}

/*
 * A packet over several buffers (mergeable RX): the first line of each buffer
 * after the first asked for writing at once, before the copy into the first
 * starts. Each is a buffer of its own that the guest's core last touched, and
 * a copy whose first store waits for its line stalls behind it; asked for
 * together, the misses overlap each other and the copies before them (the
 * mirror of vhf_from_guest_prefetch_segments() for the other direction;
 * measured on 9000-byte frames through the app, about 5% of the host's cycles
 * per packet). The first buffer is vhf_to_guest_prefetch_buf()'s. A buffer has
 * at least one piece (it holds a header at least); a hint on addresses inside
 * guest memory as mapped here.
 */
#define VHF_TO_GUEST_PREFETCH_BUFS 16

static inline void
vhf_to_guest_prefetch_more_bufs(const struct vhf_buf *bufs, uint16_t nbufs,
				const struct vhf_iov *iov)
{
	uint16_t i, n = nbufs < VHF_TO_GUEST_PREFETCH_BUFS ? nbufs : VHF_TO_GUEST_PREFETCH_BUFS;

	for (i = 1; i < n; i++)
		vhf_prefetch_write(iov[bufs[i].iov_first].base);
}

/*
 * Can vhf_to_guest_deliver_one() take this packet into these buffers: one
 * buffer, mapped as one piece that holds the header and the packet's one
 * segment? Most packets (any frame up to a buffer's size) are.
 */
static inline bool
vhf_to_guest_fits_one(const struct vhf_vq *vq, const struct vhf_to_guest_pkt *pkt, uint16_t nbufs,
		      const struct vhf_iov *iov0)
{
	return nbufs == 1 && pkt->nsegs == 1 && iov0->len >= pkt->len + vq->net_hdr_len;
}

/*
 * The header of a packet in one buffer: the shared plain one, or its offload
 * header with num_buffers 1 in a slot of the batch (valid until it is done).
 */
static inline const struct vhf_net_hdr *
vhf_to_guest_one_hdr(const struct vhf_to_guest_pkt *pkt, struct vhf_copy_batch *batch)
{
	struct vhf_net_hdr *slot;

	if (likely(pkt->hdr == NULL))
		return &vhf_net_hdr_plain_one;
	slot = vhf_copy_batch_hdr(batch);
	*slot = *pkt->hdr;
	slot->num_buffers = 1;
	return slot;
}

/*
 * vhf_to_guest_deliver() for a packet that vhf_to_guest_fits_one(): two
 * copies and one used entry, without the cursor's walk. pkt->len is its one
 * segment's length.
 */
static VHF_ALWAYS_INLINE void
vhf_to_guest_deliver_one(struct vhf_vq *vq, const struct vhf_to_guest_pkt *pkt,
			 const struct vhf_buf *buf, const struct vhf_iov *iov0,
			 struct vhf_copy_batch *batch)
{
	uint8_t *first = iov0->base;
	uint32_t total = pkt->len + vq->net_hdr_len;

	vhf_to_guest_prefetch_buf(vq, iov0, total);
	vhf_copy_batch_add_hdr(batch, first, vhf_to_guest_one_hdr(pkt, batch));
	vhf_copy_batch_add(batch, first + vq->net_hdr_len, pkt->segs[0].data, pkt->len, false);
	vhf_vq_used_add(vq, buf->id, buf->ndesc, total);
}

/*
 * Copy one packet into the reserved buffers (small pieces deferred to
 * batch) and stage their used entries.
 */
static void
vhf_to_guest_deliver(struct vhf_vq *vq, const struct vhf_to_guest_pkt *pkt,
		     const struct vhf_buf *bufs, uint16_t nbufs, const struct vhf_iov *iov,
		     struct vhf_copy_batch *batch)
{
	struct vhf_iov_cursor cur = { .iov = iov, .idx = 0, .off = 0 };
	struct vhf_net_hdr *hdr;
	uint32_t remaining = pkt->len + vq->net_hdr_len;
	uint16_t i;

	vhf_to_guest_prefetch_buf(vq, &iov[0], remaining);
	vhf_to_guest_prefetch_more_bufs(bufs, nbufs, iov);
	hdr = vhf_copy_batch_hdr(batch);
	if (pkt->hdr != NULL)
		*hdr = *pkt->hdr;
	else
		memset(hdr, 0, sizeof(*hdr));
	hdr->num_buffers = nbufs;
	vhf_iov_write(&cur, hdr, vq->net_hdr_len, batch, true);
	for (i = 0; i < pkt->nsegs; i++)
		vhf_iov_write(&cur, pkt->segs[i].data, pkt->segs[i].len, batch, false);

	for (i = 0; i < nbufs; i++) {
		const struct vhf_buf *buf = &bufs[i];
		uint32_t used_len = buf->len < remaining ? buf->len : remaining;

		remaining -= used_len;
		vhf_vq_used_add(vq, buf->id, buf->ndesc, used_len);
	}
}

/* All four packets of a ring line vhf_to_guest_fits_one() their buffer. */
static inline bool
vhf_to_guest_line_fits_one(const struct vhf_vq *vq, const struct vhf_to_guest_pkt *pkts,
			   const struct vhf_iov *iov)
{
	bool fit = true;
	unsigned int k;

	VHF_FOR_EACH_IN_LINE
	for (k = 0; k < VHF_PACKED_LINE; k++)
		fit &= vhf_to_guest_fits_one(vq, &pkts[k], 1, &iov[k]);
	return fit;
}

/*
 * A packet that vhf_to_guest_fits_one() written into its buffer at once, not
 * through the copy batch: the frame's stores go straight to lines prefetched
 * for writing just before (the store buffer absorbs their misses), and no
 * list is walked. The header too when it shares the frame's first line, which
 * is written anyway. A header on a line of its own (a DPDK guest's buffer:
 * the header ends where the frame's line starts) is compared before it is
 * written (vhf_copy_header()), and that compare, a load from a line the
 * guest's core holds, waits in the batch for the end of the burst, when the
 * line has arrived.
 */
static VHF_ALWAYS_INLINE void
vhf_to_guest_write_one(const struct vhf_vq *vq, const struct vhf_to_guest_pkt *pkt, uint8_t *first,
		       struct vhf_copy_batch *batch)
{
	uint16_t hdr_len = vq->net_hdr_len;
	const struct vhf_net_hdr *hdr = vhf_to_guest_one_hdr(pkt, batch);

	if ((((uintptr_t)first ^ (uintptr_t)(first + hdr_len)) & ~(uintptr_t)63) == 0)
		vhf_copy_8_16(first, hdr, hdr_len);
	else
		vhf_copy_batch_add_hdr(batch, first, hdr);
	vhf_copy(first + hdr_len, pkt->segs[0].data, pkt->len);
}

/*
 * Lines of four packets a burst takes before it writes any: up to 32 packets
 * (testpmd's and the app's burst). Taking them first asks for every frame's
 * line before the first frame is written, so the stores find lines asked for a
 * burst's worth of work earlier instead of a few instructions earlier. With
 * the vCPUs in different core complexes (a line's round trip 460 ns), each of
 * those lines comes from the guest's cache; written as soon as asked for, the
 * frames' stores filled the store buffer and the core waited on them (two
 * fifths of its cycles in guest-rx packed 64 B: doc/bench-2026-12-08.md). Taken
 * a burst ahead, our host's rate there went from 18-19 to 22-25 Mpps.
 */
#define VHF_TO_GUEST_LINES 8

/* Four lone buffers taken at once for four packets, not yet written. */
struct vhf_to_guest_line {
	uint32_t need[VHF_PACKED_LINE]; /* header and frame: each buffer holds at least that */
	struct vhf_buf bufs[VHF_PACKED_LINE];
	struct vhf_iov iov[VHF_PACKED_LINE];
	bool write_at_once; /* packed, each packet whole in its buffer: vhf_to_guest_write_one() */
};

/*
 * Four packets each small enough for one buffer: four lone buffers taken at
 * once (vhf_vq_fetch_four(): a packed ring line, the next four split avail
 * entries), instead of four trips through the reservation. A packed line whose
 * four packets each fit their buffer whole (nearly always) is to be written at
 * once (vhf_to_guest_write_line()), and its buffers' first lines are asked for
 * now. Anything else says no and takes nothing.
 */
static inline bool
vhf_to_guest_take_line(struct vhf_vq *vq, const struct vhf_to_guest_pkt *pkts,
		       struct vhf_to_guest_line *line)
{
	unsigned int k;

	VHF_FOR_EACH_IN_LINE
	for (k = 0; k < VHF_PACKED_LINE; k++) {
		if (pkts[k].len > VHF_NET_MAX_PKT_LEN)
			return false;
		line->need[k] = pkts[k].len + vq->net_hdr_len;
	}
	VHF_GUEST_STEP();
	if (!vhf_vq_fetch_four(vq, true, line->need, line->bufs, line->iov))
		return false;
	/*
	 * Split keeps its copies batched: written at once, its frames' stores
	 * waited for lines the guest's core held (guest-rx split 64 B at about
	 * 0.8 of the batched copies' rate, the builds alternating under one guest).
	 */
	line->write_at_once = vq->packed && likely(vhf_to_guest_line_fits_one(vq, pkts, line->iov));
	if (line->write_at_once) {
		VHF_FOR_EACH_IN_LINE
		for (k = 0; k < VHF_PACKED_LINE; k++)
			vhf_to_guest_prefetch_buf(vq, &line->iov[k], line->need[k]);
	}
	return true;
}

/*
 * The four packets of a taken line into its buffers: at once, frames straight
 * into the buffers (vhf_to_guest_write_one()) and used entries straight into
 * the ring (vhf_vq_used_add_line()), or one at a time through the copy batch.
 */
static inline void
vhf_to_guest_write_line(struct vhf_vq *vq, const struct vhf_to_guest_pkt *pkts,
			const struct vhf_to_guest_line *line, struct vhf_copy_batch *batch)
{
	unsigned int k;

	if (line->write_at_once) {
		VHF_FOR_EACH_IN_LINE
		for (k = 0; k < VHF_PACKED_LINE; k++) {
			vhf_to_guest_write_one(vq, &pkts[k], line->iov[k].base, batch);
			vq->cnt[VHF_VQ_CNT_bytes] += pkts[k].len;
		}
		vhf_vq_used_add_line(vq, line->bufs, line->need);
		return;
	}
	VHF_FOR_EACH_IN_LINE
	for (k = 0; k < VHF_PACKED_LINE; k++) {
		if (likely(vhf_to_guest_fits_one(vq, &pkts[k], 1, &line->iov[k])))
			vhf_to_guest_deliver_one(vq, &pkts[k], &line->bufs[k], &line->iov[k], batch);
		else
			vhf_to_guest_deliver(vq, &pkts[k], &line->bufs[k], 1, &line->iov[k], batch);
		vq->cnt[VHF_VQ_CNT_bytes] += pkts[k].len;
	}
}

/*
 * Up to VHF_TO_GUEST_LINES lines of four packets from the first of pkts (n of
 * them): every line taken first (vhf_to_guest_take_line(), stopping at the
 * first that says no), then each written in turn. Every buffer taken is
 * published, so this is the protocol's "enough" decision: notifications off,
 * as when a reservation succeeds. A migrating queue (whose writes are logged
 * packet by packet) takes none. Split takes one line at a time: its copies
 * wait in the batch anyway, and eight lines first read a few percent slower
 * there with the vCPUs close (doc/bench-2026-12-08.md). Returns the packets
 * delivered, a multiple of four; the rest go on one at a time.
 */
static inline uint16_t
vhf_to_guest_deliver_lines(struct vhf_vq *vq, const struct vhf_to_guest_pkt *pkts, uint16_t n,
			   struct vhf_copy_batch *batch)
{
	struct vhf_to_guest_line lines[VHF_TO_GUEST_LINES];
	unsigned int max = vq->packed ? VHF_TO_GUEST_LINES : 1, taken = 0, l;

	if (vq->log != NULL)
		return 0;
	while (taken < max && n >= (taken + 1) * VHF_PACKED_LINE &&
	       vhf_to_guest_take_line(vq, pkts + taken * VHF_PACKED_LINE, &lines[taken]))
		taken++;
	if (taken == 0)
		return 0;
	vhf_vq_disable_notify(vq);
	for (l = 0; l < taken; l++)
		vhf_to_guest_write_line(vq, pkts + l * VHF_PACKED_LINE, &lines[l], batch);
	vq->cnt[VHF_VQ_CNT_packets] += taken * VHF_PACKED_LINE;
	vhf_vq_commit(vq);
	return (uint16_t)(taken * VHF_PACKED_LINE);
}

/* Dirty logging of the bytes one packet took in its buffers (header included). */
static void
vhf_to_guest_log(const struct vhf_vq *vq, const struct vhf_to_guest_room *room, uint32_t written)
{
#ifdef VHF_TEST_SKIP_RX_LOG
	/*
	 * The migration test's teeth only: test/qemu builds a never-installed app
	 * with this, to show that a migration losing these writes is caught.
	 */
	(void)vq;
	(void)room;
	(void)written;
#else
	uint16_t i;

	for (i = 0; i < room->niov && written > 0; i++) {
		uint32_t len = room->iov[i].len < written ? room->iov[i].len : written;

		vhf_vq_log(vq, room->iov[i].base, len);
		written -= len;
	}
#endif
}

uint16_t
vhf_net_to_guest_enqueue(struct vhf_vq *vq, const struct vhf_to_guest_pkt *pkts, uint16_t n,
			 struct vhf_burst_result *res)
{
	struct vhf_to_guest_room room;
	struct vhf_copy_batch batch;
	uint16_t i;

	vhf_copy_batch_init(&batch, vq->net_hdr_len);
	res->status = VHF_TO_GUEST_DONE;
	res->call = false;
	if (unlikely(vq->broken)) {
		vq->cnt[VHF_VQ_CNT_drop_broken] += n;
		res->status = VHF_TO_GUEST_BROKEN;
		return n;
	}
	vhf_vq_budget_reset(vq);
	vhf_vq_rewind(vq, vq->last_avail, vq->avail_wrap);
	for (i = 0; i < n; i++) {
		const struct vhf_to_guest_pkt *pkt = &pkts[i];
		enum vhf_reserve r;

		if (n - i >= VHF_PACKED_LINE) {
			uint16_t done = vhf_to_guest_deliver_lines(vq, pkt, (uint16_t)(n - i), &batch);

			/* A split ring's wild avail index, read by the line that said no. */
			if (unlikely(vq->broken)) {
				vq->cnt[VHF_VQ_CNT_drop_broken] += n - i - done;
				res->status = VHF_TO_GUEST_BROKEN;
				i = n;
				break;
			}
			if (done > 0) {
				i += done - 1;
				continue;
			}
		}
		/* Keeps need + header from wrapping; no guest buffer list is that long. */
		if (unlikely(pkt->len > VHF_NET_MAX_PKT_LEN)) {
			vhf_vq_count(vq, VHF_VQ_CNT_drop_too_big);
			continue;
		}
		r = vhf_to_guest_find_room(vq, pkt->len + vq->net_hdr_len, &room, &res->status,
					   !vq->caller_polls);
		if (r == VHF_RESERVE_SHORT)
			break;
		if (unlikely(r == VHF_RESERVE_BUDGET)) {
			/* The rest waits for the next call; no kick was promised. */
			vhf_vq_count(vq, VHF_VQ_CNT_budget_exhausted);
			res->status = VHF_TO_GUEST_RETRY;
			break;
		}
		if (r == VHF_RESERVE_TOO_BIG) {
			vhf_vq_count(vq, VHF_VQ_CNT_drop_too_big);
			continue;
		}
		if (r == VHF_RESERVE_BROKEN) {
			vq->cnt[VHF_VQ_CNT_drop_broken] += n - i;
			res->status = VHF_TO_GUEST_BROKEN;
			i = n;
			break;
		}
		if (likely(vhf_to_guest_fits_one(vq, pkt, room.nbufs, &room.iov[0])))
			vhf_to_guest_deliver_one(vq, pkt, &room.bufs[0], &room.iov[0], &batch);
		else
			vhf_to_guest_deliver(vq, pkt, room.bufs, room.nbufs, room.iov, &batch);
		if (unlikely(vq->log != NULL)) {
			/* Logged once written: the batch's copies first. */
			vhf_copy_batch_run(&batch);
			vhf_to_guest_log(vq, &room, pkt->len + vq->net_hdr_len);
		}
		vhf_vq_commit(vq);
		vhf_vq_count(vq, VHF_VQ_CNT_packets);
		vq->cnt[VHF_VQ_CNT_bytes] += pkt->len;
	}
	/* Every byte in the guest's buffers before the used entries say they are there. */
	vhf_copy_batch_run(&batch);
	res->call = vhf_vq_flush_and_need_call(vq);
	return i;
}

enum vhf_to_guest_status
vhf_net_to_guest_has_room(struct vhf_vq *vq, uint32_t need_bytes)
{
	struct vhf_to_guest_room room;
	enum vhf_to_guest_status status = VHF_TO_GUEST_DONE;
	enum vhf_reserve r;

	if (vq->broken)
		return VHF_TO_GUEST_BROKEN;
	if (need_bytes > VHF_NET_MAX_PKT_LEN)
		return VHF_TO_GUEST_DONE; /* would be dropped, not waited for */
	vhf_vq_budget_reset(vq);
	vhf_vq_rewind(vq, vq->last_avail, vq->avail_wrap);
	r = vhf_to_guest_find_room(vq, need_bytes + vq->net_hdr_len, &room, &status, true);
	vhf_vq_rewind(vq, vq->last_avail, vq->avail_wrap);
	if (r == VHF_RESERVE_BROKEN)
		return VHF_TO_GUEST_BROKEN;
	if (unlikely(r == VHF_RESERVE_BUDGET)) {
		vhf_vq_count(vq, VHF_VQ_CNT_budget_exhausted);
		return VHF_TO_GUEST_RETRY;
	}
	/* Room, or a packet that can never fit and will be dropped: either way, no waiting. */
	return r == VHF_RESERVE_SHORT ? status : VHF_TO_GUEST_DONE;
}

uint32_t
vhf_iov_copy_out(void *dst, const struct vhf_iov *iov, uint16_t niov, uint32_t skip, uint32_t len)
{
	uint8_t *d = dst;
	uint32_t done = 0;
	uint16_t i;

	for (i = 0; i < niov && done < len; i++) {
		uint32_t chunk;

		if (skip >= iov[i].len) {
			skip -= iov[i].len;
			continue;
		}
		chunk = iov[i].len - skip;
		if (chunk > len - done)
			chunk = len - done;
		vhf_copy(d + done, (const uint8_t *)iov[i].base + skip, chunk);
		done += chunk;
		skip = 0;
	}
	return done;
}

/*
 * A guest's virtio-net header of len bytes (10 or 12: vhf_vq_init() allows no
 * other) into hdr: the first 8, then the last 4 over them.
 */
static inline void
vhf_net_hdr_copy(struct vhf_net_hdr *hdr, const void *src, uint16_t len)
{
	VHF_COPY_PIECE(uint64_t, hdr, src);
	VHF_COPY_PIECE(uint32_t, (uint8_t *)hdr + len - 4, (const uint8_t *)src + len - 4);
}

/*
 * Drop the first len bytes (the virtio-net header) from an iov list, in place.
 * Usually the header shares the first segment with the frame: nothing moves
 * then (copying that segment onto itself, just after its halves were written
 * apart, would stall on the store-to-load forwarding it defeats).
 */
static inline void
vhf_iov_pull(struct vhf_from_guest_pkt *pkt, uint32_t len)
{
	uint16_t i = 0, j;

	while (i < pkt->niov && len >= pkt->iov[i].len) {
		len -= pkt->iov[i].len;
		i++;
	}
	if (i < pkt->niov && len > 0) {
		pkt->iov[i].base = (uint8_t *)pkt->iov[i].base + len;
		pkt->iov[i].len -= len;
	}
	if (i == 0)
		return;
	for (j = 0; i + j < pkt->niov; j++)
		pkt->iov[j] = pkt->iov[i + j];
	pkt->niov = j;
}

/*
 * How many chains after the next one the TX prefetch looks (packed: slots,
 * the same for chains of one descriptor): a miss from the guest's core takes
 * longer than one packet's handling, four packets give it time.
 */
#define VHF_FROM_GUEST_PREFETCH_AHEAD 3

/*
 * Prefetch the first buffer of the chain VHF_FROM_GUEST_PREFETCH_AHEAD after
 * the next one: the guest wrote its header and frame from another core, and
 * the copy out of it would otherwise wait for those lines when it starts;
 * asked for now, they travel while the packets before it are handled. Its
 * descriptor's line came with the ring prefetch of an earlier fetch. Only a
 * hint: it reads what a later fetch reads anyway (relaxed, outside the shm
 * hooks: nothing it reads decides anything), translates through the memory
 * table (nothing outside guest memory), and checks nothing else, which the
 * fetch will. Inlined in its caller, the chain at a time path: as a call it
 * cost that path 11 instructions a packet. (A taken line's chains get their
 * frames prefetched with the line, vhf_from_guest_prefetch_line().)
 */
static VHF_ALWAYS_INLINE void
vhf_from_guest_prefetch_ahead(struct vhf_vq *vq)
{
	const struct vhf_mem_region *reg;
	uint64_t addr;
	uint32_t len;

	if (vq->packed) {
		uint32_t pos = (uint32_t)vq->last_avail + VHF_FROM_GUEST_PREFETCH_AHEAD;
		bool wrap = vq->avail_wrap;
		struct vhf_vring_packed_desc *d;

		if (pos >= vq->size) {
			pos -= vq->size;
			wrap = !wrap;
		}
		if (pos >= vq->size)
			return;
		d = &vq->desc_packed[pos];
		if (!vhf_packed_desc_is_avail(__atomic_load_n(&d->flags, __ATOMIC_RELAXED), wrap))
			return;
		addr = __atomic_load_n(&d->addr, __ATOMIC_RELAXED);
		len = __atomic_load_n(&d->len, __ATOMIC_RELAXED);
	} else {
		uint16_t head;

		/* Only what the last avail index read published: no new read of it. */
		if ((uint16_t)(vq->shadow_avail - vq->last_avail) <= VHF_FROM_GUEST_PREFETCH_AHEAD)
			return;
		head = __atomic_load_n(&vq->avail->ring[(uint16_t)(vq->last_avail +
				       VHF_FROM_GUEST_PREFETCH_AHEAD) & vq->mask], __ATOMIC_RELAXED);
		if (head >= vq->size)
			return;
		addr = __atomic_load_n(&vq->desc[head].addr, __ATOMIC_RELAXED);
		len = __atomic_load_n(&vq->desc[head].len, __ATOMIC_RELAXED);
	}
	reg = vhf_mem_find(vq->mem, addr, &vq->mem_hint);
	if (reg == NULL)
		return;
	addr = reg->host_addr + (addr - reg->guest_phys_addr);
	/* What the copy reads: from the frame on when the header is skipped unread. */
	if (vq->tx_hdr_unread && len > vq->net_hdr_len) {
		addr += vq->net_hdr_len;
		len -= vq->net_hdr_len;
		if (addr - reg->host_addr >= reg->size)
			return;
	}
	vhf_prefetch((const void *)(uintptr_t)addr);
	/* A header and a short frame, or a frame from mid-line, span two lines. */
	if ((addr & 63) + len > 64 && addr + 64 - reg->host_addr < reg->size)
		vhf_prefetch((const void *)(uintptr_t)(addr + 64));
}

/*
 * Most segments of one chain prefetched at once: a 9000-byte frame in 2 KiB
 * guest mbufs is a header and five pieces; a longer chain's later segments
 * start on lines the copy of the earlier ones has left time for.
 */
#define VHF_FROM_GUEST_PREFETCH_SEGS 16

/*
 * Ask for the first line of every segment of a chain just mapped, before
 * anything of it is read. Each segment is a buffer of its own that the guest
 * wrote from another core (a multi-segment frame is one guest mbuf per
 * piece), and a copy that starts on a line nobody asked for waits for it:
 * measured on a 9000-byte frame, that first load took 46% of the copy's
 * samples. Asked for together, the misses overlap each other and the copy of
 * the segments before. vhf_from_guest_prefetch_ahead() reaches only a chain's
 * first buffer, or its indirect table. A hint on addresses inside guest
 * memory as mapped here.
 */
static VHF_ALWAYS_INLINE void
vhf_from_guest_prefetch_segments(const struct vhf_iov *iov, uint16_t niov)
{
	uint16_t k, n = niov < VHF_FROM_GUEST_PREFETCH_SEGS ? niov : VHF_FROM_GUEST_PREFETCH_SEGS;

	for (k = 0; k < n; k++)
		vhf_prefetch(iov[k].base);
}

/* A packet handed out: counted as the guest's. */
static inline void
vhf_from_guest_count(struct vhf_vq *vq, const struct vhf_from_guest_pkt *pkt)
{
	vhf_vq_count(vq, VHF_VQ_CNT_packets);
	vq->cnt[VHF_VQ_CNT_bytes] += pkt->len;
}

/*
 * A guest has at most a ring's worth of buffers out: more chains handed out in
 * one burst means it republished some we hold. With the descriptor budget this
 * bounds a burst, chains skipped included, and keeps used_pending from
 * wrapping. Asked before each chain is handed out, whether taken alone or from
 * a line. Counted: the burst is over until it is finished.
 */
static inline bool
vhf_from_guest_ring_worth_out(struct vhf_vq *vq)
{
	if (likely(vq->used_pending < vq->size))
		return false;
	vhf_vq_count(vq, VHF_VQ_CNT_budget_exhausted);
	return true;
}

/*
 * Ask for the lines a taken line's four frames start on, all at once: the
 * guest wrote them from another core, and each copy would otherwise wait for
 * its own. The addresses are the line's mapped segments (inside guest memory
 * as mapped here); the second line of a frame that crosses one is asked for
 * only when the segment reaches it.
 */
static VHF_ALWAYS_INLINE void
vhf_from_guest_prefetch_line(const struct vhf_vq *vq, const struct vhf_iov *iov)
{
	/* What the copy reads: from the frame on when the header is skipped unread. */
	uint32_t skip = vq->tx_hdr_unread ? vq->net_hdr_len : 0;
	unsigned int k;

	VHF_FOR_EACH_IN_LINE
	for (k = 0; k < VHF_PACKED_LINE; k++) {
		/* Each segment holds the header and a frame (the take's check): skip < len. */
		uintptr_t addr = (uintptr_t)iov[k].base + skip;
		uintptr_t next_line = (addr | 63) + 1;

		vhf_prefetch((const void *)addr);
		if (next_line < (uintptr_t)iov[k].base + iov[k].len)
			vhf_prefetch((const void *)next_line);
	}
}

/*
 * TX four chains at a time: the four at the reservation cursor (a packed ring
 * line, or the next four split avail entries), when each is a lone buffer long
 * enough for a header and a frame (vhf_vq_fetch_four(): the chain at a time
 * path's checks, four at once), are taken together into line_buf[at] and on,
 * their frames prefetched, and handed out one per call. Anything else, a short
 * chain included (counted there), goes the chain at a time path. A cursor off
 * a multiple of four, or a first chain longer than one descriptor (a guest
 * that gives the header a descriptor of its own), is not worth the attempt:
 * trying every line cost such a guest 65 instructions a packet. That first
 * flags load only decides whether to try (packed: the slot's flags, loaded
 * relaxed; split: the head of an avail entry the last avail index read
 * published, as both callers made sure); the four at once path reads them
 * again.
 */
static VHF_ALWAYS_INLINE bool
vhf_from_guest_line_worth_trying(const struct vhf_vq *vq)
{
	if ((vq->next_avail % VHF_PACKED_LINE) != 0)
		return false;
	if (vq->packed)
		return vhf_desc_flags_lone(vhf_shm_load_relaxed16(
						   &vq->desc_packed[vq->next_avail].flags), false);
	/* Bounded here, read relaxed: only a guess, as above. */
	uint16_t head = vq->avail->ring[vq->next_avail & vq->mask];

	return head < vq->size &&
	       vhf_desc_flags_lone(vhf_shm_load_relaxed16(&vq->desc[head].flags), false);
}

/* Once vhf_from_guest_line_worth_trying() said yes: the line into line_buf[at] and on. */
static bool
vhf_from_guest_take_line(struct vhf_vq *vq, unsigned int at)
{
	uint32_t needs[VHF_PACKED_LINE];
	unsigned int k;

	for (k = 0; k < VHF_PACKED_LINE; k++)
		needs[k] = vq->net_hdr_len + VHF_NET_MIN_FRAME_LEN;
	if (!vhf_vq_fetch_four(vq, false, needs, &vq->line_buf[at], &vq->line_iov[at]))
		return false;
	vhf_from_guest_prefetch_line(vq, &vq->line_iov[at]);
	vq->line_left += VHF_PACKED_LINE;
	return true;
}

/*
 * The line after the one being handed out, taken as that one's first chain
 * goes: its frames are asked for a line's worth of packets before they are
 * copied, the lead the chain at a time path gets from
 * vhf_from_guest_prefetch_ahead(), without a second translation of each
 * buffer. Only when it is there already: a split ring's avail index is not
 * read again for it (four entries known published), a packed line whose slots
 * the guest has not all made available says no (vhf_packed_fetch_line()). A
 * no takes nothing; the line is tried again when the cursor reaches it.
 */
static inline void
vhf_from_guest_take_line_ahead(struct vhf_vq *vq, unsigned int at)
{
	/* A look for the next chains, as vhf_vq_next_avail()'s: the guest may publish meanwhile. */
	VHF_GUEST_STEP();
	if (!vq->packed &&
	    (uint16_t)(vq->shadow_avail - vq->next_avail) < VHF_PACKED_LINE)
		return;
	if (vhf_from_guest_line_worth_trying(vq))
		(void)vhf_from_guest_take_line(vq, at);
}

/*
 * The next chain taken with a line, as a packet: consumed now (last_avail
 * passes it, its used entry is staged), as vhf_vq_commit() and
 * vhf_vq_used_add_read() do for a chain taken alone. Its one segment holds the
 * header and a frame (checked when the line was taken). Nothing left to
 * decide: the caller checked the ring's worth and took the line ahead.
 */
static VHF_ALWAYS_INLINE int
vhf_from_guest_line_hand_out(struct vhf_vq *vq, struct vhf_from_guest_pkt *pkt)
{
	unsigned int k = vq->line_pos;
	const struct vhf_iov *seg = &vq->line_iov[k];

	vq->line_left--;
	vq->line_pos = (uint8_t)((k + 1) % (VHF_TX_LINES * VHF_PACKED_LINE));
	if (vq->packed)
		vhf_packed_advance(&vq->last_avail, &vq->avail_wrap, 1, vq->size);
	else
		vq->last_avail++;
	vhf_vq_used_add_read(vq, vq->line_buf[k].id, 1);
	vq->used_pending_desc++;
	memset(&pkt->hdr, 0, sizeof(pkt->hdr));
	if (!vq->tx_hdr_unread)
		vhf_net_hdr_copy(&pkt->hdr, seg->base, vq->net_hdr_len);
	pkt->iov[0].base = (uint8_t *)seg->base + vq->net_hdr_len;
	pkt->iov[0].len = seg->len - vq->net_hdr_len;
	pkt->niov = 1;
	pkt->len = pkt->iov[0].len;
	vhf_from_guest_count(vq, pkt);
	return 1;
}

/* The next chain of a taken line, the line after it taken first when this is its first. */
static VHF_ALWAYS_INLINE int
vhf_from_guest_line_next(struct vhf_vq *vq, struct vhf_from_guest_pkt *pkt)
{
	if (vhf_from_guest_ring_worth_out(vq))
		return -EAGAIN;
	if (vq->line_left == VHF_PACKED_LINE) {
		vhf_from_guest_take_line_ahead(vq, (vq->line_pos + VHF_PACKED_LINE) %
						   (VHF_TX_LINES * VHF_PACKED_LINE));
		/* A split ring's wild avail index, read there: nothing more is handed out. */
		if (unlikely(vq->broken))
			return -EIO;
	}
	return vhf_from_guest_line_hand_out(vq, pkt);
}

/* vhf_net_from_guest_next() but for its common call. */
static __attribute__((noinline)) int
vhf_from_guest_next_slow(struct vhf_vq *vq, struct vhf_from_guest_pkt *pkt)
{
	for (;;) {
		struct vhf_buf buf;
		uint16_t niov = 0;
		int mark, ret;

		if (unlikely(vq->broken))
			return -EIO;
		if (vq->line_left != 0)
			return vhf_from_guest_line_next(vq, pkt);
		vhf_vq_rewind(vq, vq->last_avail, vq->avail_wrap);
		ret = vhf_vq_next_avail(vq, &mark);
		if (ret <= 0)
			return ret < 0 ? -EIO : 0;
		if (vhf_from_guest_ring_worth_out(vq))
			return -EAGAIN;
		/* Busy now: the guest need not kick us until we go idle again. */
		vhf_vq_disable_notify(vq);
		if (vhf_from_guest_line_worth_trying(vq) && vhf_from_guest_take_line(vq, 0)) {
			vq->line_pos = 0;
			return vhf_from_guest_line_next(vq, pkt);
		}
		/* A split ring's wild avail index, read there. */
		if (unlikely(vq->broken))
			return -EIO;
		ret = vhf_vq_fetch(vq, false, &buf, pkt->iov, &niov);
		if (unlikely(ret == -EAGAIN)) {
			vhf_vq_count(vq, VHF_VQ_CNT_budget_exhausted);
			return -EAGAIN;
		}
		if (unlikely(ret < 0))
			return -EIO;
		vhf_vq_commit(vq);
		vhf_from_guest_prefetch_segments(pkt->iov, niov);
		vhf_from_guest_prefetch_ahead(vq);
		/*
		 * The payload stays readable until vhf_net_from_guest_finish() or
		 * vhf_net_from_guest_release(), after the copy, publishes this.
		 */
		vhf_vq_used_add_read(vq, buf.id, buf.ndesc);
		/* What vhf_net_from_guest_release() weighs: the guest cannot reuse these yet. */
		vq->used_pending_desc = (uint16_t)(vq->used_pending_desc + buf.ring_desc);
		if (unlikely(buf.len < vq->net_hdr_len)) {
			/* Returned to the guest unread; the queue itself is still sound. */
			vhf_vq_count(vq, VHF_VQ_CNT_err_hdr);
			continue;
		}
		if (unlikely(buf.len - vq->net_hdr_len < VHF_NET_MIN_FRAME_LEN)) {
			/* No port sends less than an Ethernet header: nor a 0-byte frame. */
			vhf_vq_count(vq, VHF_VQ_CNT_drop_runt);
			continue;
		}
		memset(&pkt->hdr, 0, sizeof(pkt->hdr));
		/* Usually the header sits whole in the first segment: no call for it. */
		if (!vq->tx_hdr_unread) {
			if (likely(pkt->iov[0].len >= vq->net_hdr_len))
				vhf_net_hdr_copy(&pkt->hdr, pkt->iov[0].base, vq->net_hdr_len);
			else
				vhf_iov_copy_out(&pkt->hdr, pkt->iov, niov, 0, vq->net_hdr_len);
		}
		pkt->niov = niov;
		vhf_iov_pull(pkt, vq->net_hdr_len);
		pkt->len = buf.len - vq->net_hdr_len;
		vhf_from_guest_count(vq, pkt);
		return 1;
	}
}

int
vhf_net_from_guest_next(struct vhf_vq *vq, struct vhf_from_guest_pkt *pkt)
{
	/*
	 * The common call, three in four on a line taken with the one after it:
	 * a chain of that line, nothing to take, nothing to count. Apart from
	 * the rest, it needs no stack frame; a call that went through all of
	 * vhf_from_guest_next_slow() saved and restored six registers.
	 */
	if (likely(vq->line_left != 0 && vq->line_left != VHF_PACKED_LINE &&
		   vq->used_pending < vq->size && !vq->broken))
		return vhf_from_guest_line_hand_out(vq, pkt);
	return vhf_from_guest_next_slow(vq, pkt);
}

void
vhf_net_from_guest_release(struct vhf_vq *vq)
{
	/* A quarter of a 256-entry ring: 64 descriptors, ten 9000-byte frames in-order. */
	if (unlikely(vq->used_pending_desc >= (vq->size >> 2)))
		vhf_vq_used_flush(vq); /* nothing staged: nothing done */
}

bool
vhf_net_from_guest_finish(struct vhf_vq *vq)
{
	/* The next burst starts with a whole budget. */
	vhf_vq_budget_reset(vq);
	/*
	 * Taken lines' chains not handed out were never consumed: forgotten by
	 * the rewind, they stay in the ring for the next burst, whose mappings
	 * (the memory table may change between bursts) are its own.
	 */
	vhf_vq_rewind(vq, vq->last_avail, vq->avail_wrap);
	return vhf_vq_flush_and_need_call(vq);
}
