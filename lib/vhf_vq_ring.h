/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 dpdk-vhostfix authors
 */

#ifndef VHF_VQ_RING_H
#define VHF_VQ_RING_H

/**
 * @file
 * Inline ring operations of struct vhf_vq (included by vhf_vq.h).
 *
 * Naming: vhf_split_* and vhf_packed_* work on one layout, vhf_vq_* dispatch.
 * "Mark" is the opaque avail index a decision was based on: split avail->idx,
 * packed position | wrap << 15, the same encoding as a packed off_wrap.
 */

#ifndef VHF_VQ_H
#error "include vhf_vq.h"
#endif

/*
 * The window between reading the avail index and writing the notification
 * request, where the guest's publication races with us. Empty in production.
 * Unit tests build with VHF_TEST_HOOKS to run a guest step exactly there. The
 * stall reproducer builds with VHF_RACE_WINDOW_US: there the device holds the
 * window open until the guest has published past the index the request is
 * about to name, and a little longer, so that the guest has also taken its kick
 * decision (Linux takes it once per refill, after its last buffer, against the
 * notification state it reads then), all within VHF_RACE_WINDOW_US. Every short
 * ring that meets a refill then becomes the race on demand, not by luck: the
 * legacy algorithm loses that kick, the fixed one must catch it.
 */
#if defined(VHF_TEST_HOOKS)
void vhf_test_race_window(void);
#define VHF_RACE_WINDOW(vq, mark) vhf_test_race_window()
#elif defined(VHF_RACE_WINDOW_US) && VHF_RACE_WINDOW_US > 0
#include <time.h>
static inline bool vhf_vq_published_since(struct vhf_vq *vq, int mark);

/* How long the guest is given, after its publication, to finish its refill and kick decision. */
#define VHF_RACE_WINDOW_SETTLE_US 100

static inline long
vhf_race_window_us_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t0->tv_sec) * 1000000L + (now.tv_nsec - t0->tv_nsec) / 1000;
}

static inline void
vhf_race_window_hold(struct vhf_vq *vq, int mark)
{
	/* Short naps, not a spin: the guest vCPU that must publish may share our core. */
	const struct timespec nap = { .tv_sec = 0, .tv_nsec = 20 * 1000L };
	struct timespec start, published;
	bool seen = false;

	if (mark < 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (vhf_race_window_us_since(&start) < VHF_RACE_WINDOW_US) {
		if (!seen && vhf_vq_published_since(vq, mark)) {
			seen = true;
			clock_gettime(CLOCK_MONOTONIC, &published);
		}
		if (seen && vhf_race_window_us_since(&published) >= VHF_RACE_WINDOW_SETTLE_US)
			return;
		nanosleep(&nap, NULL);
	}
}
#define VHF_RACE_WINDOW(vq, mark) vhf_race_window_hold((vq), (mark))
#else
#define VHF_RACE_WINDOW(vq, mark) do { } while (0)
#endif

/*
 * Where the guest may publish while one device call runs: each time the device
 * looks for the next chain. Empty in production; unit tests (VHF_TEST_HOOKS)
 * run a guest there that keeps publishing, to prove every call ends.
 */
#if defined(VHF_TEST_HOOKS)
void vhf_test_guest_step(void);
#define VHF_GUEST_STEP() vhf_test_guest_step()
#else
#define VHF_GUEST_STEP() do { } while (0)
#endif

static inline void
vhf_vq_count(struct vhf_vq *vq, enum vhf_vq_counter c)
{
	vq->cnt[c]++;
}

/* Dirty logging of a range the device has just written (no-op unless migrating). */
static inline void
vhf_vq_log(const struct vhf_vq *vq, const void *p, uint64_t len)
{
	if (unlikely(vq->log != NULL))
		vhf_vq_log_slow(vq, p, len);
}

/** Mark the queue broken: it stays so until re-initialised, like a device needing reset. */
static inline int
vhf_vq_break(struct vhf_vq *vq, enum vhf_vq_counter reason)
{
	vhf_vq_count(vq, reason);
	if (!vq->broken) {
		vq->broken = true;
		vq->broken_reason = (int16_t)reason;
	}
	return -EIO;
}

/** Give one RX call, or one TX burst, its VHF_BURST_MAX_DESC descriptor reads. */
static inline void
vhf_vq_budget_reset(struct vhf_vq *vq)
{
	vq->desc_budget = VHF_BURST_MAX_DESC;
}

/*
 * Spend one descriptor read. False once the budget is spent: the walk stops
 * with -EAGAIN, leaves the chain in the ring (not consumed, queue not broken)
 * and its caller says "poll again", never "sleep".
 */
static inline bool
vhf_vq_take_desc(struct vhf_vq *vq)
{
	if (unlikely(vq->desc_budget == 0))
		return false;
	vq->desc_budget--;
	vq->cnt[VHF_VQ_CNT_descs_read]++;
	return true;
}

static inline uint16_t
vhf_mark_packed(uint16_t pos, bool wrap)
{
	return (uint16_t)(pos | ((uint16_t)wrap << VHF_EVENT_WRAP_SHIFT));
}

/* ---------------------------------------------------------------------------------------- */
/* Descriptor chains                                                                        */

/**
 * Check one descriptor's direction and length and map it into iov[].
 * device_writes: RX buffers must be device-writable, TX buffers device-readable.
 */
static inline int
vhf_desc_map(struct vhf_vq *vq, uint64_t addr, uint32_t len, uint16_t flags, bool device_writes,
	     struct vhf_buf *buf, struct vhf_iov *iov, uint16_t *niov)
{
	int ret;

	if (unlikely(!!(flags & VHF_DESC_F_WRITE) != device_writes))
		return vhf_vq_break(vq, VHF_VQ_CNT_err_desc_flags);
	if (unlikely((uint64_t)buf->len + len > UINT32_MAX))
		return vhf_vq_break(vq, VHF_VQ_CNT_err_desc_len);
	if (len == 0)
		return 0;
	/* The limit is per chain: iov[] may already hold earlier buffers of the same packet. */
	ret = vhf_mem_map(vq->mem, addr, len, iov, niov, buf->iov_first + VHF_CHAIN_MAX_IOV,
			  &vq->mem_hint);
	if (unlikely(ret == -EFAULT))
		return vhf_vq_break(vq, VHF_VQ_CNT_err_desc_addr);
	if (unlikely(ret < 0))
		return vhf_vq_break(vq, VHF_VQ_CNT_err_desc_iov);
	buf->len += len;
	buf->niov++;
	return 0;
}

/** Do these flags make a chain of one descriptor (no NEXT, no INDIRECT) of the right direction? */
static inline bool
vhf_desc_flags_lone(uint16_t flags, bool device_writes)
{
	return (flags & (VHF_DESC_F_NEXT | VHF_DESC_F_INDIRECT)) == 0 &&
	       !!(flags & VHF_DESC_F_WRITE) == device_writes;
}

/**
 * The common chain, mapped without the general walk: one descriptor, neither
 * NEXT nor INDIRECT, the right direction, not empty, wholly inside one memory
 * region (the translation of ring areas and indirect tables, hint first).
 * Anything else says no and changes nothing but the hint: the walk then takes
 * the same descriptor (already read, not again) through every check, errors
 * included. buf->iov_first is set; iov[*niov] has room (a chain's first
 * segment always does).
 */
static inline bool
vhf_desc_map_lone(struct vhf_vq *vq, uint64_t addr, uint32_t len, uint16_t flags,
		  bool device_writes, struct vhf_buf *buf, struct vhf_iov *iov, uint16_t *niov)
{
	void *host;

	if (!vhf_desc_flags_lone(flags, device_writes) || len == 0)
		return false;
	host = vhf_mem_map_contig(vq->mem, addr, len, &vq->mem_hint);
	if (host == NULL)
		return false;
	iov[*niov].base = host;
	iov[*niov].len = len;
	(*niov)++;
	buf->len = len;
	buf->niov = 1;
	buf->ndesc = 1;
	buf->ring_desc = 1;
	return true;
}

/**
 * Map an indirect table; it must be whole descriptors, no more than the ring
 * holds, in one region.
 */
static inline const void *
vhf_indirect_table(struct vhf_vq *vq, uint64_t addr, uint32_t len, uint32_t *nent)
{
	const void *table;

	if (unlikely(!vq->indirect || len == 0 || len % 16 != 0 || len / 16 > vq->size)) {
		vhf_vq_break(vq, VHF_VQ_CNT_err_desc_len);
		return NULL;
	}
	table = vhf_mem_map_contig(vq->mem, addr, len, &vq->mem_hint);
	if (unlikely(table == NULL)) {
		vhf_vq_break(vq, VHF_VQ_CNT_err_desc_addr);
		return NULL;
	}
	*nent = len / 16;
	return table;
}

/** Most descriptors a chain of this queue may hold (VHF_CHAIN_MAX_DESC, or the queue size). */
static inline uint32_t
vhf_chain_max_desc(const struct vhf_vq *vq)
{
	return vq->size < VHF_CHAIN_MAX_DESC ? vq->size : VHF_CHAIN_MAX_DESC;
}

/** Move a packed ring position n slots on (n <= size), flipping its wrap counter past the end. */
static inline void
vhf_packed_advance(uint16_t *pos, bool *wrap, uint16_t n, uint16_t size)
{
	uint32_t p = (uint32_t)*pos + n;

	if (p >= size) {
		p -= size;
		*wrap = !*wrap;
	}
	*pos = (uint16_t)p;
}

/**
 * The rest of a split chain whose first descriptor *desc was read (its read
 * taken from the budget) and was not a lone buffer (vhf_desc_map_lone()).
 * Every descriptor is copied out of guest memory once, then checked: the guest
 * may rewrite the table under us and must not make us read or write out of
 * bounds.
 */
static VHF_NOINLINE int
vhf_split_walk(struct vhf_vq *vq, struct vhf_vring_desc *desc, bool device_writes,
	       struct vhf_buf *buf, struct vhf_iov *iov, uint16_t *niov)
{
	const struct vhf_vring_desc *table = vq->desc;
	uint32_t table_size = vq->size;
	uint32_t seen = 1;
	uint32_t ndesc = 0; /* buffer descriptors, indirect entries included */
	bool in_indirect = false;
	uint16_t start = buf->iov_first;
	uint16_t idx;
	int ret;

	buf->ndesc = 1;
	buf->ring_desc = 1;
	buf->len = 0;
	buf->niov = 0;
	for (;;) {
		if (desc->flags & VHF_DESC_F_INDIRECT) {
			uint32_t nent;

			if (unlikely(in_indirect || (desc->flags & VHF_DESC_F_NEXT)))
				return vhf_vq_break(vq, VHF_VQ_CNT_err_desc_flags);
			table = vhf_indirect_table(vq, desc->addr, desc->len, &nent);
			if (table == NULL)
				return -EIO;
			table_size = nent;
			in_indirect = true;
			seen = 0;
			idx = 0;
		} else {
			/* Zero-length ones count too: each costs a read, whatever it maps. */
			if (unlikely(++ndesc > vhf_chain_max_desc(vq)))
				return vhf_vq_break(vq, VHF_VQ_CNT_err_desc_chain);
			ret = vhf_desc_map(vq, desc->addr, desc->len, desc->flags, device_writes, buf,
					   iov, niov);
			if (unlikely(ret < 0))
				return ret;
			if (!(desc->flags & VHF_DESC_F_NEXT))
				break;
			idx = desc->next;
			if (unlikely(idx >= table_size))
				return vhf_vq_break(vq, VHF_VQ_CNT_err_desc_index);
		}
		/* A chain visiting more descriptors than its table holds has a loop. */
		if (unlikely(++seen > table_size))
			return vhf_vq_break(vq, VHF_VQ_CNT_err_desc_loop);
		if (unlikely(!vhf_vq_take_desc(vq)))
			return -EAGAIN;
		vhf_shm_read_desc(desc, &table[idx], sizeof(*desc));
		if (!in_indirect)
			buf->ring_desc++;
	}
	buf->niov = (uint16_t)(*niov - start);
	return 0;
}

/**
 * Take the split chain whose head sits in avail slot pos: a lone descriptor
 * here, inline, anything else through vhf_split_walk().
 * -EAGAIN: the descriptor budget ran out in the middle; nothing was taken.
 */
static inline int
vhf_split_fetch(struct vhf_vq *vq, uint16_t pos, bool device_writes, struct vhf_buf *buf,
		struct vhf_iov *iov, uint16_t *niov)
{
	struct vhf_vring_desc desc;
	uint16_t idx;

	/* Published by the avail->idx acquire load that made pos visible. */
	idx = vq->avail->ring[pos & vq->mask];
	if (unlikely(idx >= vq->size))
		return vhf_vq_break(vq, VHF_VQ_CNT_err_desc_index);
	buf->id = idx;
	buf->iov_first = *niov;
	if (unlikely(!vhf_vq_take_desc(vq)))
		return -EAGAIN;
	vhf_shm_read_desc(&desc, &vq->desc[idx], sizeof(desc));
	if (likely(vhf_desc_map_lone(vq, desc.addr, desc.len, desc.flags, device_writes, buf, iov,
				     niov)))
		return 0;
	return vhf_split_walk(vq, &desc, device_writes, buf, iov, niov);
}

static inline bool
vhf_packed_desc_is_avail(uint16_t flags, bool wrap)
{
	return !!(flags & VHF_DESC_F_AVAIL) == wrap && !!(flags & VHF_DESC_F_USED) != wrap;
}

/** The AVAIL and USED bits a used packed descriptor carries in the lap of wrap counter wrap. */
static inline uint16_t
vhf_packed_used_flags(bool wrap)
{
	return wrap ? (VHF_DESC_F_AVAIL | VHF_DESC_F_USED) : 0;
}

/** Is the packed slot pos available for wrap counter wrap? One acquire load. */
static inline bool
vhf_packed_slot_avail(struct vhf_vq *vq, uint16_t pos, bool wrap)
{
	/* Pairs with the driver's release store of the chain's first flags. */
	return vhf_packed_desc_is_avail(vhf_shm_load_acquire16(&vq->desc_packed[pos].flags), wrap);
}

/**
 * The rest of a packed chain whose first descriptor *desc, at slot *pos, was
 * read (its read taken from the budget) and was not a lone buffer. Advances
 * *pos / *wrap past the chain; on -EAGAIN leaves them as they were.
 */
static VHF_NOINLINE int
vhf_packed_walk(struct vhf_vq *vq, struct vhf_vring_packed_desc *desc, uint16_t *pos,
		bool *wrap, bool device_writes, struct vhf_buf *buf, struct vhf_iov *iov,
		uint16_t *niov)
{
	uint16_t start = buf->iov_first;
	uint16_t p = *pos;
	bool w = *wrap;
	uint32_t seen = 1;
	int ret;

	buf->len = 0;
	buf->niov = 0;
	buf->ndesc = 0;
	for (;;) {
		buf->ndesc++;
		vhf_packed_advance(&p, &w, 1, vq->size);

		if (desc->flags & VHF_DESC_F_INDIRECT) {
			const struct vhf_vring_packed_desc *table;
			uint32_t nent, i;

			/* An indirect descriptor is a buffer on its own (spec 2.8.19). */
			if (unlikely(seen != 1 || (desc->flags & VHF_DESC_F_NEXT)))
				return vhf_vq_break(vq, VHF_VQ_CNT_err_desc_flags);
			table = vhf_indirect_table(vq, desc->addr, desc->len, &nent);
			if (table == NULL)
				return -EIO;
			/* Every entry is walked: refuse a table too long before reading any. */
			if (unlikely(nent > vhf_chain_max_desc(vq)))
				return vhf_vq_break(vq, VHF_VQ_CNT_err_desc_chain);
			for (i = 0; i < nent; i++) {
				struct vhf_vring_packed_desc ind;

				if (unlikely(!vhf_vq_take_desc(vq)))
					return -EAGAIN;
				vhf_shm_read_desc(&ind, &table[i], sizeof(ind));
				/*
				 * A buffer the device only reads is read-only whatever its
				 * entries say: DPDK's virtio driver leaves WRITE set on
				 * packed indirect TX entries. Bounds are checked the same.
				 */
				if (!device_writes)
					ind.flags &= (uint16_t)~VHF_DESC_F_WRITE;
				ret = vhf_desc_map(vq, ind.addr, ind.len, ind.flags, device_writes, buf,
						   iov, niov);
				if (unlikely(ret < 0))
					return ret;
			}
			buf->id = desc->id;
			break;
		}
		/* Zero-length ones count too: each costs a read, whatever it maps. */
		if (unlikely(seen > vhf_chain_max_desc(vq)))
			return vhf_vq_break(vq, VHF_VQ_CNT_err_desc_chain);
		ret = vhf_desc_map(vq, desc->addr, desc->len, desc->flags, device_writes, buf, iov,
				   niov);
		if (unlikely(ret < 0))
			return ret;
		if (!(desc->flags & VHF_DESC_F_NEXT)) {
			/* The buffer id is the last descriptor's. */
			buf->id = desc->id;
			break;
		}
		if (unlikely(++seen > vq->size))
			return vhf_vq_break(vq, VHF_VQ_CNT_err_desc_loop);
		if (unlikely(!vhf_vq_take_desc(vq)))
			return -EAGAIN;
		vhf_shm_read_desc(desc, &vq->desc_packed[p], sizeof(*desc));
	}
	buf->niov = (uint16_t)(*niov - start);
	buf->ring_desc = buf->ndesc;
	*pos = p;
	*wrap = w;
	return 0;
}

/**
 * Take the packed chain starting at slot *pos (known available; its later
 * descriptors were written before this one's flags, which the caller loaded
 * with acquire): a lone descriptor here, inline, anything else through
 * vhf_packed_walk(). Advances *pos / *wrap past it.
 * -EAGAIN: the descriptor budget ran out in the middle; *pos is left as it was.
 */
static inline int
vhf_packed_fetch(struct vhf_vq *vq, uint16_t *pos, bool *wrap, bool device_writes,
		 struct vhf_buf *buf, struct vhf_iov *iov, uint16_t *niov)
{
	struct vhf_vring_packed_desc desc;

	buf->iov_first = *niov;
	if (unlikely(!vhf_vq_take_desc(vq)))
		return -EAGAIN;
	vhf_shm_read_desc(&desc, &vq->desc_packed[*pos], sizeof(desc));
	if (likely(vhf_desc_map_lone(vq, desc.addr, desc.len, desc.flags, device_writes, buf, iov,
				     niov))) {
		buf->id = desc.id;
		vhf_packed_advance(pos, wrap, 1, vq->size);
		return 0;
	}
	return vhf_packed_walk(vq, &desc, pos, wrap, device_writes, buf, iov, niov);
}

/* ---------------------------------------------------------------------------------------- */
/* What the driver published                                                                */

/**
 * Split: read avail->idx and check it. The driver may be at most size entries
 * ahead of what we consumed; anything else is a wild index and breaks the queue.
 */
static inline int
vhf_split_refresh_avail(struct vhf_vq *vq)
{
	/* Pairs with the driver's release store of avail->idx after the ring entries. */
	uint16_t idx = vhf_shm_load_acquire16(&vq->avail->idx);
	uint16_t ahead = (uint16_t)(idx - vq->last_avail);

	/*
	 * Nor behind the index read before: published entries are never taken
	 * back, and the chains up to it may already be reserved or about to be
	 * (the shadow is never behind the reservation cursor).
	 */
	if (unlikely(ahead > vq->size || ahead < (uint16_t)(vq->shadow_avail - vq->last_avail)))
		return vhf_vq_break(vq, VHF_VQ_CNT_err_avail_idx);
	vq->shadow_avail = idx;
	return 0;
}

/**
 * Is there a chain at the reservation cursor? Split re-reads avail->idx only
 * when the shadow copy is exhausted. On "no", *mark is what the answer was
 * based on. Returns 1 yes, 0 no, -EIO broken.
 */
static inline int
vhf_vq_next_avail(struct vhf_vq *vq, int *mark)
{
	VHF_GUEST_STEP();
	if (vq->packed) {
		if (vhf_packed_slot_avail(vq, vq->next_avail, vq->next_avail_wrap))
			return 1;
		*mark = vhf_mark_packed(vq->next_avail, vq->next_avail_wrap);
		return 0;
	}
	if (vq->next_avail != vq->shadow_avail)
		return 1;
	if (vhf_split_refresh_avail(vq) < 0)
		return -EIO;
	if (vq->next_avail != vq->shadow_avail)
		return 1;
	*mark = vq->shadow_avail;
	return 0;
}

/**
 * Has the driver published a chain past what we consumed? One acquire load and
 * nothing else: no descriptor read, no check, no notification change. Lets a
 * caller skip a burst's set-up when the driver is idle; the burst itself
 * checks what the driver published. A broken queue says no without reading
 * guest memory: nothing is taken from it until it is reset.
 */
static inline bool
vhf_vq_has_published(struct vhf_vq *vq)
{
	if (unlikely(vq->broken))
		return false;
	if (vq->packed)
		return vhf_packed_slot_avail(vq, vq->last_avail, vq->avail_wrap);
	/* Pairs with the driver's release store of avail->idx. */
	return vhf_shm_load_acquire16(&vq->avail->idx) != vq->last_avail;
}

/**
 * At most how many chains the driver has published past what we consumed, for
 * a caller sizing its work before a burst: split, the avail index ahead of
 * ours (a ring's worth if that is wild: the burst breaks the queue); packed,
 * 0 or a ring's worth (counting would mean walking the ring); a broken
 * queue, 0. One acquire load, nothing checked or changed.
 */
static inline uint16_t
vhf_vq_published_max(struct vhf_vq *vq)
{
	uint16_t ahead;

	if (unlikely(vq->broken))
		return 0; /* as vhf_vq_has_published() */
	if (vq->packed)
		return vhf_vq_has_published(vq) ? vq->size : 0;
	/* Pairs with the driver's release store of avail->idx. */
	ahead = (uint16_t)(vhf_shm_load_acquire16(&vq->avail->idx) - vq->last_avail);
	return ahead > vq->size ? vq->size : ahead;
}

/*
 * How far ahead of the cursor the ring is prefetched: four cache lines of
 * packed descriptors (16 bytes each), a line of split avail entries, and the
 * split descriptor that a published avail entry this many chains ahead names.
 * Packed at four lines, not two: on an AMD EPYC host (doc/bench-2026-12-07h.md)
 * two left guest-rx packed 64 B at parity with net_vhost, four took our rate
 * from 25.4 to 28.8 Mpps and our cycles per packet from 101 to 89, the vCPUs
 * sharing an L3; no non-mergeable packed cell of either direction or the app
 * loop read lower (mergeable ones not measured against it).
 */
#define VHF_PREFETCH_AHEAD_PACKED 16
#define VHF_PREFETCH_AHEAD_SPLIT 32
#define VHF_PREFETCH_AHEAD_SPLIT_DESC 8

/*
 * Split: ask for the descriptor named by the published avail entry ahead
 * chains past the cursor; a hint, as vhf_vq_prefetch_ring_ahead() below says.
 */
static inline void
vhf_split_prefetch_desc_ahead(const struct vhf_vq *vq, uint16_t ahead)
{
	if ((uint16_t)(vq->shadow_avail - vq->next_avail) > ahead) {
		uint16_t head = __atomic_load_n(&vq->avail->ring[(uint16_t)(vq->next_avail +
						ahead) & vq->mask], __ATOMIC_RELAXED);

		if (head < vq->size)
			vhf_prefetch(&vq->desc[head]);
	}
}

/*
 * Ask for the ring entries the next fetches will read. The driver writes them
 * from another core, so a fetch that reaches a line first finds it in that
 * core's cache and waits for it; asked for a few packets early, the line
 * arrives while those are handled. A hint only: it changes nothing, the
 * addresses are always inside the ring, and the one guest value it reads (a
 * split avail entry already published, whose line came with an earlier
 * prefetch; relaxed, outside the shm hooks: nothing is decided on it) is
 * bounded before use; the fetch reads and checks it again.
 */
static inline void
vhf_vq_prefetch_ring_ahead(const struct vhf_vq *vq)
{
	uint32_t pos;

	if (vq->packed) {
		pos = (uint32_t)vq->next_avail + VHF_PREFETCH_AHEAD_PACKED;
		if (pos >= vq->size)
			pos -= vq->size;
		if (pos < vq->size)
			vhf_prefetch(&vq->desc_packed[pos]);
	} else {
		vhf_prefetch(&vq->avail->ring[(uint16_t)(vq->next_avail + VHF_PREFETCH_AHEAD_SPLIT) &
					      vq->mask]);
		vhf_split_prefetch_desc_ahead(vq, VHF_PREFETCH_AHEAD_SPLIT_DESC);
	}
}

/* The flag bits that say a packed slot is available (in which lap) and a lone buffer of which direction. */
#define VHF_PACKED_LONE_AVAIL_MASK                                                                 \
	(VHF_DESC_F_AVAIL | VHF_DESC_F_USED | VHF_DESC_F_NEXT | VHF_DESC_F_INDIRECT | VHF_DESC_F_WRITE)

/**
 * Four lone buffers at once, the four slots of the packed ring line that
 * starts at the reservation cursor: each available, one descriptor of the
 * right direction (vhf_desc_map_lone()) holding at least need[k] bytes, in
 * slot order. The chain at a time path's checks, a line at a time: the flags
 * of all four first (one line, already fetched), then the descriptors. A
 * cursor not at a line's start, a line crossing the ring's end, or any slot
 * that does not qualify says no and takes nothing: the caller goes on a chain
 * at a time, through every check, errors included. Reads made before a no
 * are spent from the budget like any other. bufs[k] maps to iov[k].
 */
static inline bool
vhf_packed_fetch_line(struct vhf_vq *vq, bool device_writes, const uint32_t need[VHF_PACKED_LINE],
		      struct vhf_buf bufs[VHF_PACKED_LINE], struct vhf_iov iov[VHF_PACKED_LINE])
{
	struct vhf_vring_packed_desc *line = &vq->desc_packed[vq->next_avail];
	uint16_t lone_avail, differ = 0;
	uint16_t niov = 0;
	unsigned int k;

	if ((vq->next_avail % VHF_PACKED_LINE) != 0 ||
	    (uint32_t)vq->next_avail + VHF_PACKED_LINE > vq->size ||
	    vq->desc_budget < VHF_PACKED_LINE)
		return false;
	vhf_vq_prefetch_ring_ahead(vq); /* a line ahead per line taken, as per chain */
	/*
	 * Available in this lap and lone (vhf_packed_desc_is_avail() and
	 * vhf_desc_flags_lone()) is one pattern of five bits: the four slots'
	 * flags are tested against it together. The first slot heads a chain;
	 * each lone one makes the next a head.
	 */
	lone_avail = (vq->next_avail_wrap ? VHF_DESC_F_AVAIL : VHF_DESC_F_USED) |
		     (device_writes ? VHF_DESC_F_WRITE : 0);
	VHF_FOR_EACH_IN_LINE
	for (k = 0; k < VHF_PACKED_LINE; k++)
		/* Pairs with the driver's release store of each chain's flags. */
		differ |= vhf_shm_load_acquire16(&line[k].flags) ^ lone_avail;
	if ((differ & VHF_PACKED_LONE_AVAIL_MASK) != 0)
		return false;
	VHF_FOR_EACH_IN_LINE
	for (k = 0; k < VHF_PACKED_LINE; k++) {
		struct vhf_vring_packed_desc desc;

		(void)vhf_vq_take_desc(vq); /* four were left, checked above */
		vhf_shm_read_desc(&desc, &line[k], sizeof(desc));
		/* The copy is what counts: the guest may have rewritten the slot since its flags. */
		bufs[k].iov_first = niov;
		if (desc.len < need[k] ||
		    !vhf_desc_map_lone(vq, desc.addr, desc.len, desc.flags, device_writes, &bufs[k],
				       iov, &niov))
			return false;
		bufs[k].id = desc.id;
	}
	vhf_packed_advance(&vq->next_avail, &vq->next_avail_wrap, VHF_PACKED_LINE, vq->size);
	return true;
}

/**
 * The split ring's four at once: the next four avail entries, each naming a
 * lone buffer as vhf_packed_fetch_line() wants them (one descriptor of the
 * right direction holding at least need[k] bytes, mapped as one piece), in
 * avail order. As there, only from a cursor at a multiple of four: a guest
 * whose chains never qualify costs one refused try per four chains, not one
 * per chain (a cursor off it comes back to it chain by chain). avail->idx is
 * read again only when fewer than four are known published; a wild index read
 * there breaks the queue (as vhf_vq_next_avail() would) and says no: the
 * caller checks vq->broken. Anything else that does not qualify (fewer than
 * four published, a head out of range, a chain, a short buffer) says no and
 * takes nothing; the caller goes on a chain at a time, through every check,
 * errors included. Each descriptor is read once, from the budget, as the walk
 * reads it; reads made before a no stay spent.
 */
static inline bool
vhf_split_fetch_four(struct vhf_vq *vq, bool device_writes, const uint32_t need[VHF_PACKED_LINE],
		     struct vhf_buf bufs[VHF_PACKED_LINE], struct vhf_iov iov[VHF_PACKED_LINE])
{
	uint16_t heads[VHF_PACKED_LINE];
	uint16_t niov = 0;
	unsigned int k;

	if ((vq->next_avail % VHF_PACKED_LINE) != 0)
		return false;
	if ((uint16_t)(vq->shadow_avail - vq->next_avail) < VHF_PACKED_LINE &&
	    (vhf_split_refresh_avail(vq) < 0 ||
	     (uint16_t)(vq->shadow_avail - vq->next_avail) < VHF_PACKED_LINE))
		return false;
	if (vq->desc_budget < VHF_PACKED_LINE)
		return false;
	/*
	 * The ring ahead as four chains taken alone would ask for it: a split
	 * chain's descriptor may sit on a line of its own, so the four ahead.
	 */
	vhf_vq_prefetch_ring_ahead(vq);
	for (k = 1; k < VHF_PACKED_LINE; k++)
		vhf_split_prefetch_desc_ahead(vq, (uint16_t)(VHF_PREFETCH_AHEAD_SPLIT_DESC + k));
	for (k = 0; k < VHF_PACKED_LINE; k++) {
		/* Published by the avail->idx acquire load that made these entries visible. */
		heads[k] = vq->avail->ring[(uint16_t)(vq->next_avail + k) & vq->mask];
		if (unlikely(heads[k] >= vq->size))
			return false;
	}
	for (k = 0; k < VHF_PACKED_LINE; k++) {
		struct vhf_vring_desc desc;

		(void)vhf_vq_take_desc(vq); /* four were left, checked above */
		vhf_shm_read_desc(&desc, &vq->desc[heads[k]], sizeof(desc));
		bufs[k].iov_first = niov;
		if (desc.len < need[k] ||
		    !vhf_desc_map_lone(vq, desc.addr, desc.len, desc.flags, device_writes, &bufs[k],
				       iov, &niov))
			return false;
		bufs[k].id = heads[k];
	}
	vq->next_avail = (uint16_t)(vq->next_avail + VHF_PACKED_LINE);
	return true;
}

/**
 * Four lone buffers at the reservation cursor at once, either layout:
 * vhf_packed_fetch_line() or vhf_split_fetch_four(), whose rules these are.
 */
static inline bool
vhf_vq_fetch_four(struct vhf_vq *vq, bool device_writes, const uint32_t need[VHF_PACKED_LINE],
		  struct vhf_buf bufs[VHF_PACKED_LINE], struct vhf_iov iov[VHF_PACKED_LINE])
{
	if (vq->packed)
		return vhf_packed_fetch_line(vq, device_writes, need, bufs, iov);
	return vhf_split_fetch_four(vq, device_writes, need, bufs, iov);
}

/**
 * Take the chain at the reservation cursor (vhf_vq_next_avail() said yes).
 * @return 0; -EIO the queue broke; -EAGAIN the descriptor budget is spent.
 */
static inline int
vhf_vq_fetch(struct vhf_vq *vq, bool device_writes, struct vhf_buf *buf, struct vhf_iov *iov,
	     uint16_t *niov)
{
	int ret;

	vhf_vq_prefetch_ring_ahead(vq);
	if (vq->packed)
		return vhf_packed_fetch(vq, &vq->next_avail, &vq->next_avail_wrap, device_writes, buf,
					iov, niov);
	ret = vhf_split_fetch(vq, vq->next_avail, device_writes, buf, iov, niov);
	if (ret == 0)
		vq->next_avail++;
	return ret;
}

/**
 * Forget reservations made since the last commit. TX lines taken and not yet
 * handed out (line_left) are such reservations: forgotten with them, or a call
 * between two of a burst's chains that rewinds (vhf_vq_arm_kick()) would leave
 * them to be handed out, and the line after them taken from the rewound cursor
 * (chains handed out twice, last_avail past the avail index: fuzz_vq found it).
 */
static inline void
vhf_vq_rewind(struct vhf_vq *vq, uint16_t pos, bool wrap)
{
	vq->next_avail = pos;
	vq->next_avail_wrap = wrap;
	vq->line_left = 0;
}

/** Reservations up to the cursor are now consumed. */
static inline void
vhf_vq_commit(struct vhf_vq *vq)
{
	vq->last_avail = vq->next_avail;
	vq->avail_wrap = vq->next_avail_wrap;
}

/* ---------------------------------------------------------------------------------------- */
/* Driver -> device notifications (kicks)                                                   */

/** Stop asking for kicks: we are going to look at the ring anyway. */
static inline void
vhf_vq_disable_notify(struct vhf_vq *vq)
{
	if (!vq->notify_enabled)
		return;
	vq->notify_enabled = false;
	if (vq->packed) {
		vhf_shm_store_relaxed16(&vq->device_event->flags, VHF_EVENT_F_DISABLE);
		vhf_vq_log(vq, &vq->device_event->flags, sizeof(vq->device_event->flags));
	} else if (!vq->event_idx) {
		uint16_t flags = vhf_shm_load_relaxed16(&vq->used->flags);

		vhf_shm_store_relaxed16(&vq->used->flags, flags | VHF_USED_F_NO_NOTIFY);
		vhf_vq_log(vq, &vq->used->flags, sizeof(vq->used->flags));
	}
	/*
	 * Split with EVENT_IDX: nothing to write. A stale avail_event costs at
	 * most one spurious kick when the driver next crosses it.
	 */
}

/** Ask for a kick once the driver publishes past mark. No barrier: callers add it. */
static inline void
vhf_vq_request_notify(struct vhf_vq *vq, int mark)
{
	VHF_RACE_WINDOW(vq, mark);
	vq->notify_enabled = true;
	vhf_vq_count(vq, VHF_VQ_CNT_notify_enable);
	if (vq->packed) {
		if (vq->event_idx) {
			vhf_shm_store_relaxed16(&vq->device_event->off_wrap, (uint16_t)mark);
			/* Release: a driver that reads DESC (acquire) reads this off_wrap. */
			vhf_shm_store_release16(&vq->device_event->flags, VHF_EVENT_F_DESC);
		} else {
			vhf_shm_store_relaxed16(&vq->device_event->flags, VHF_EVENT_F_ENABLE);
		}
		vhf_vq_log(vq, vq->device_event, sizeof(*vq->device_event));
	} else if (vq->event_idx) {
		uint16_t *avail_event = vhf_split_avail_event(vq->used, vq->size);

		vhf_shm_store_relaxed16(avail_event, (uint16_t)mark);
		vhf_vq_log(vq, avail_event, sizeof(*avail_event));
	} else {
		uint16_t flags = vhf_shm_load_relaxed16(&vq->used->flags);

		vhf_shm_store_relaxed16(&vq->used->flags, flags & (uint16_t)~VHF_USED_F_NO_NOTIFY);
		vhf_vq_log(vq, &vq->used->flags, sizeof(vq->used->flags));
	}
}

/**
 * Has the driver published past mark? Split: avail->idx moved; packed: the
 * slot at mark became available for mark's wrap counter.
 */
static inline bool
vhf_vq_published_since(struct vhf_vq *vq, int mark)
{
	if (vq->packed) {
		uint16_t pos = (uint16_t)mark & (uint16_t)~(1u << VHF_EVENT_WRAP_SHIFT);

		return vhf_packed_slot_avail(vq, pos, (uint16_t)mark >> VHF_EVENT_WRAP_SHIFT);
	}
	return vhf_shm_load_acquire16(&vq->avail->idx) != (uint16_t)mark;
}

/**
 * Enable driver->device notifications naming mark, then check whether the
 * driver published since mark. If it did, its kick decision may have read our
 * old notification state: the caller must look again instead of sleeping.
 *
 * @param mark from a short vhf_vq_next_avail()/room check; negative: the
 *   decision failed, nothing to recheck.
 * @return true if the driver published since mark.
 */
static inline bool
vhf_vq_enable_notify_and_check(struct vhf_vq *vq, int mark)
{
	vhf_vq_request_notify(vq, mark);
	/*
	 * Store-load barrier: our notification request must be visible before we
	 * re-read the driver's index. Pairs with the driver's barrier between its
	 * index publication and its read of avail_event / used->flags / the device
	 * event area (Linux: virtqueue_kick_prepare). One of the two sides is then
	 * guaranteed to see the other's store.
	 */
	vhf_shm_mb();
	if (mark < 0)
		return false;
	return vhf_vq_published_since(vq, mark);
}

/**
 * Arm the kick for a queue the caller wants to sleep on until the driver
 * publishes anything (guest TX, or a guest RX queue with no packet pending).
 *
 * @return true: armed, nothing pending, safe to sleep until the kick;
 *   false: the driver has published something, notifications are disabled
 *   again and the caller must process it.
 */
static inline bool
vhf_vq_arm_kick(struct vhf_vq *vq)
{
	int mark;
	unsigned int tries;

	if (vq->broken)
		return true; /* nothing will be processed until reset */
	vhf_vq_rewind(vq, vq->last_avail, vq->avail_wrap);
	for (tries = 0; tries < VHF_MAX_RECHECKS; tries++) {
		int ret = vhf_vq_next_avail(vq, &mark);

		if (ret != 0)
			break; /* work pending, or broken (reported by the next burst) */
		if (!vhf_vq_enable_notify_and_check(vq, mark)) {
			vhf_vq_count(vq, VHF_VQ_CNT_kick_waits);
			return true;
		}
		vhf_vq_count(vq, VHF_VQ_CNT_recheck_retry);
	}
	vhf_vq_disable_notify(vq);
	return false;
}

/* ---------------------------------------------------------------------------------------- */
/* Used buffers and device -> driver notifications (calls)                                  */

/*
 * One used entry into the packed ring at last_used, unpublished, moving past
 * the slots its buffer took. The batch's first is kept for flush instead: its
 * flags publish the whole batch, so they are written last.
 */
static inline void
vhf_packed_used_put(struct vhf_vq *vq, uint16_t id, uint16_t ndesc, uint32_t len,
		    bool batch_first)
{
	struct vhf_vring_packed_desc *desc = &vq->desc_packed[vq->last_used];
	uint16_t flags = vhf_packed_used_flags(vq->used_wrap);

	if (len > 0)
		flags |= VHF_DESC_F_WRITE;
	if (batch_first) {
		vq->pending_first = vq->last_used;
		vq->pending_first_flags = flags;
		vq->pending_first_id = id;
		vq->pending_first_len = len;
	} else {
		desc->id = id;
		desc->len = len;
		/*
		 * The driver reads slots in order and stops at the batch's first,
		 * so this one is not looked at before flush; release keeps its id
		 * and len ahead of its flags all the same.
		 */
		vhf_shm_store_release16(&desc->flags, flags);
	}
	vhf_packed_advance(&vq->last_used, &vq->used_wrap, ndesc, vq->size);
}

/*
 * Write the staged used entries into the ring, unpublished: packed, every
 * slot but the batch's first (the driver stops at that one until flush, which
 * writes it whole); split, the elements after those already written.
 */
static inline void
vhf_vq_used_write_shadow(struct vhf_vq *vq)
{
	uint16_t n = vq->shadow_used_n;
	uint16_t in_ring = (uint16_t)(vq->used_pending - n); /* written by an earlier call */
	uint16_t i;

	if (vq->packed) {
		for (i = 0; i < n; i++) {
			const struct vhf_used_shadow *e = &vq->shadow_used[i];

			vhf_packed_used_put(vq, e->id, e->ndesc, e->len, in_ring == 0 && i == 0);
		}
	} else {
		uint16_t slot = (uint16_t)(vq->last_used + in_ring);

		for (i = 0; i < n; i++, slot++) {
			struct vhf_vring_used_elem *elem = &vq->used->ring[slot & vq->mask];

			elem->id = vq->shadow_used[i].id;
			elem->len = vq->shadow_used[i].len;
		}
	}
	vq->shadow_used_n = 0;
}

/**
 * Stage one used buffer; it becomes visible at vhf_vq_used_flush(). Staged in
 * vq->shadow_used and written to the ring with the others of the burst: the
 * driver polls the lines the entries go to (split: used->idx shares its line
 * with the first elements; packed: the slot that publishes the batch shares
 * its line with the next three), and a write there between two of its polls
 * sends the line from its core to ours and back, once per entry.
 */
static inline void
vhf_vq_used_add(struct vhf_vq *vq, uint16_t id, uint16_t ndesc, uint32_t len)
{
	struct vhf_used_shadow *e = &vq->shadow_used[vq->shadow_used_n++];

	e->id = id;
	e->ndesc = ndesc;
	e->len = len;
	vq->used_pending++;
	if (unlikely(vq->shadow_used_n == VHF_USED_SHADOW))
		vhf_vq_used_write_shadow(vq);
}

/**
 * The used entries of a ring line's four lone buffers (vhf_packed_fetch_line()),
 * in ring order, as four vhf_vq_used_add() would stage them, but written into
 * the ring at once: past the batch's first slot, which is kept for flush as
 * ever, the driver looks at none of them before that slot's flags publish the
 * batch, so neither their order nor their stores' timing matters to it. What
 * this saves is the shadow's round trip, and the stores' misses on lines we
 * read a moment ago happen here, spread over the burst, instead of all at once
 * in flush. (The batch's first line, the one the driver polls, still gets its
 * other three slots written before flush: one more trip of that line per
 * burst, not per entry.) Entries still in the shadow come first in the ring:
 * written out before these.
 */
static inline void
vhf_vq_used_add_line(struct vhf_vq *vq, const struct vhf_buf bufs[VHF_PACKED_LINE],
		     const uint32_t len[VHF_PACKED_LINE])
{
	unsigned int k = 0;

	if (vq->shadow_used_n != 0)
		vhf_vq_used_write_shadow(vq);
	if (vq->used_pending == 0) {
		vhf_packed_used_put(vq, bufs[0].id, bufs[0].ndesc, len[0], true);
		k = 1;
	}
	VHF_FOR_EACH_IN_LINE
	for (; k < VHF_PACKED_LINE; k++)
		vhf_packed_used_put(vq, bufs[k].id, bufs[k].ndesc, len[k], false);
	vq->used_pending += VHF_PACKED_LINE;
}

/**
 * Stage one used buffer the device only read (a TX chain: used length 0). A
 * packed in-order queue stages no entry for it: the burst is published as one
 * used descriptor at the batch's first slot naming the last buffer, the ring
 * position moving past every slot the burst's buffers took; the driver frees
 * them all, in the order it posted them. Otherwise as vhf_vq_used_add().
 */
static VHF_ALWAYS_INLINE void
vhf_vq_used_add_read(struct vhf_vq *vq, uint16_t id, uint16_t ndesc)
{
	if (!vq->used_in_order_batch) {
		vhf_vq_used_add(vq, id, ndesc, 0);
		return;
	}
	if (vq->used_pending == 0) {
		vq->pending_first = vq->last_used;
		vq->pending_first_flags = vhf_packed_used_flags(vq->used_wrap);
		vq->pending_first_len = 0;
	}
	vq->pending_first_id = id;
	vhf_packed_advance(&vq->last_used, &vq->used_wrap, ndesc, vq->size);
	vq->used_pending++;
}

/* The n entries of entry bytes of a ring of vq->size from slot first on, wrapping at its end. */
static inline void
vhf_vq_log_ring(const struct vhf_vq *vq, const void *ring, size_t entry, uint16_t first,
		uint16_t n)
{
	const uint8_t *base = ring;
	uint16_t to_end = (uint16_t)(vq->size - first);

	if (n > to_end) {
		vhf_vq_log(vq, base + (size_t)first * entry, (uint64_t)to_end * entry);
		n = (uint16_t)(n - to_end);
		first = 0;
	}
	vhf_vq_log(vq, base + (size_t)first * entry, (uint64_t)n * entry);
}

/*
 * Dirty logging of what a flush just published (used_pending entries ending at
 * last_used): split, the used elements and the index; packed, the descriptor
 * slots from the batch's first to last_used (the slots a chain of several
 * descriptors skipped are logged too: harmless). Once the writes are made: a
 * page copied between our write and its mark is copied again.
 */
static inline void
vhf_vq_log_used(const struct vhf_vq *vq)
{
	if (vq->packed) {
		uint16_t first = vq->pending_first;
		uint16_t n = (uint16_t)(vq->last_used >= first ? vq->last_used - first :
								 vq->size - first + vq->last_used);

		vhf_vq_log_ring(vq, vq->desc_packed, sizeof(vq->desc_packed[0]), first,
				n == 0 ? vq->size : n /* a whole lap */);
		return;
	}
	vhf_vq_log_ring(vq, vq->used->ring, sizeof(vq->used->ring[0]),
			(uint16_t)(vq->last_used - vq->used_pending) & vq->mask, vq->used_pending);
	vhf_vq_log(vq, &vq->used->idx, sizeof(vq->used->idx));
}

/** Publish the staged used buffers with one store. */
static inline void
vhf_vq_used_flush(struct vhf_vq *vq)
{
	if (vq->used_pending == 0)
		return;
	vq->cnt[VHF_VQ_CNT_bufs] += vq->used_pending;
	vhf_vq_used_write_shadow(vq);
	if (vq->packed) {
		struct vhf_vring_packed_desc *first = &vq->desc_packed[vq->pending_first];

		first->id = vq->pending_first_id;
		first->len = vq->pending_first_len;
		/* Pairs with the driver's acquire load of this slot's flags: id and len before. */
		vhf_shm_store_release16(&first->flags, vq->pending_first_flags);
	} else {
		vq->last_used = (uint16_t)(vq->last_used + vq->used_pending);
		/* Pairs with the driver's acquire load of used->idx before the elements. */
		vhf_shm_store_release16(&vq->used->idx, vq->last_used);
	}
	if (unlikely(vq->log != NULL))
		vhf_vq_log_used(vq);
	vq->used_pending = 0;
	vq->used_pending_desc = 0;
	vq->call_undecided = true;
}

/**
 * After vhf_vq_used_flush(): does the driver want an interrupt? Evaluated
 * after a full barrier against the driver's "enable callbacks, barrier,
 * re-read used" sequence, so an interrupt is never lost.
 */
static inline bool
vhf_vq_need_call(struct vhf_vq *vq)
{
	uint16_t old, new;
	bool valid, need;

	/*
	 * Store-load barrier: the used index (or used descriptor flags) we just
	 * published must be visible before we read the driver's interrupt
	 * suppression. Pairs with the driver's barrier between writing used_event
	 * (or clearing NO_INTERRUPT / enabling its event area) and re-reading the
	 * used ring (Linux: virtqueue_enable_cb_prepare + virtqueue_poll).
	 */
	vhf_shm_mb();

	old = vq->signalled_used;
	new = vq->last_used;
	valid = vq->signalled_used_valid;
	vq->signalled_used = new;
	vq->signalled_used_valid = true;
	vq->call_undecided = false;

	if (vq->packed) {
		uint16_t flags = vhf_shm_load_acquire16(&vq->driver_event->flags);
		uint16_t off_wrap, off;

		if (flags != VHF_EVENT_F_DESC)
			need = flags != VHF_EVENT_F_DISABLE;
		else if (!valid)
			need = true;
		else {
			/* Acquire above orders this read after the flags read. */
			off_wrap = vhf_shm_load_relaxed16(&vq->driver_event->off_wrap);
			off = off_wrap & (uint16_t)~(1u << VHF_EVENT_WRAP_SHIFT);
			/* Express old and the event in the current lap. */
			if (new <= old)
				old = (uint16_t)(old - vq->size);
			if ((off_wrap >> VHF_EVENT_WRAP_SHIFT) != vq->used_wrap)
				off = (uint16_t)(off - vq->size);
			need = vhf_need_event(off, new, old);
		}
	} else if (vq->event_idx) {
		uint16_t event = vhf_shm_load_relaxed16(vhf_split_used_event(vq->avail, vq->size));

		need = !valid || vhf_need_event(event, new, old);
	} else {
		need = !(vhf_shm_load_relaxed16(&vq->avail->flags) & VHF_AVAIL_F_NO_INTERRUPT);
	}
	vhf_vq_count(vq, need ? VHF_VQ_CNT_calls : VHF_VQ_CNT_call_suppressed);
	return need;
}

/**
 * Publish staged used buffers and take the interrupt decision for everything
 * published since the last one (a caller may have published part of its burst
 * early: vhf_vq_used_flush() alone); false if nothing was.
 */
static inline bool
vhf_vq_flush_and_need_call(struct vhf_vq *vq)
{
	vhf_vq_used_flush(vq);
	if (!vq->call_undecided)
		return false;
	return vhf_vq_need_call(vq);
}

#endif /* VHF_VQ_RING_H */
