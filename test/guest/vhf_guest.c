/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 dpdk-vhostfix authors
 */

/*
 * The guest model. Layout of its guest physical memory, from gpa_base:
 *
 *   rings | TX indirect tables | vhf_guest_alloc() arena | buffer pool
 *
 * The rings, tables and arena always lie in the first region. With
 * two_regions the second region starts inside the pool: inside the second RX
 * buffer (the first if there is only one), and never on a TX slot edge, so
 * that buffers the free lists hand out early straddle it.
 *
 * The pool is cut into RX buffers or TX slots depending on the role. An RX
 * buffer of descs_per_buf descriptors is cut into pieces separated by small
 * gaps, and a TX slot holds the header and the payload segments also
 * separated by gaps, so that a device assuming contiguity reads or writes the
 * wrong bytes and the tests notice.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vhf_guest.h"
#include "vhf_shm.h"

/* Bytes left between the pieces of one buffer. */
#define GUEST_GAP 16
/* Bytes poisoned into RX buffers before posting them. */
#define GUEST_POISON 0xa5
/* Cap on the TX pool so that huge queues do not ask for gigabytes. */
#define GUEST_TX_POOL_MAX (64u << 20)
/* Entries of one indirect table: header + VHF_GUEST_MAX_SEGS payload segments. */
#define GUEST_IND_ENTRIES (VHF_GUEST_MAX_SEGS + 1)

#define ALIGN_UP(x, a) (((x) + (a) - 1) & ~((uint64_t)(a) - 1))

enum guest_role {
	ROLE_NONE = 0,
	ROLE_RX,
	ROLE_TX,
};

/* What a posted buffer is, by split head or packed buffer id (Linux: desc_state). */
struct guest_rec {
	uint32_t slot;  /* RX buffer or TX slot index in the pool */
	uint16_t ndesc; /* descriptors (split) or ring slots (packed) it took */
	uint16_t last;  /* split: last descriptor of the chain, to relink the free list */
	bool busy;
};

/* One descriptor to add, before it gets its ring place. */
struct guest_seg {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
};

struct vhf_guest {
	struct vhf_guest_config cfg;
	enum guest_role role;
	bool broken;

	struct vhf_mem mem;
	void *alloc[2];    /* host allocations backing the regions */
	uint64_t alloc_len[2];
	uint64_t gpa_base;

	/* Rings. */
	uint16_t size;
	uint16_t mask;
	struct vhf_vring_desc *desc;
	struct vhf_vring_avail *avail;
	struct vhf_vring_used *used;
	struct vhf_vring_packed_desc *pdesc;
	struct vhf_vring_packed_event *driver_event;
	struct vhf_vring_packed_event *device_event;
	uint16_t start;    /* what vhf_guest_vq_config reports as last_avail/last_used */

	/*
	 * Driver state, as Linux keeps it. Split: avail_idx is the free-running
	 * avail->idx shadow, last_used the free-running used index, free_head the
	 * first free descriptor linked through next[]. Packed: avail_idx and
	 * last_used are ring positions with their wrap counters, free_head the
	 * first free buffer id linked through next[].
	 */
	uint16_t avail_idx;
	bool avail_wrap;
	uint16_t last_used;
	bool used_wrap;
	uint16_t shadow_used; /* split: used->idx as last read */
	uint16_t num_free;    /* free descriptors (split) / ring slots (packed) */
	uint16_t free_head;
	uint16_t *next;
	uint16_t num_added;
	uint16_t avail_flags_shadow; /* split: what avail->flags holds */
	uint16_t event_flags_shadow; /* packed: what driver_event->flags holds */
	struct guest_rec *rec;
	struct guest_seg *chain; /* scratch: one RX buffer's descriptors */
	/*
	 * Packed in-order: buffer ids in the order they were posted, and the
	 * batch being taken back (the last buffer the device's used descriptor
	 * named, and that descriptor's length for it).
	 */
	uint16_t *order;
	uint16_t order_head;
	uint16_t order_n;
	bool batch_open;
	uint16_t batch_last;
	uint32_t batch_len;

	/* Buffer pool. */
	uint64_t pool_gpa;
	uint32_t buf_len;
	uint16_t dpb;         /* descriptors per RX buffer */
	uint32_t piece_len;   /* RX piece length (the last piece takes the remainder) */
	uint64_t rx_stride;
	uint32_t nrx;
	uint32_t *rx_free;    /* stack of free RX buffer indexes */
	uint32_t rx_nfree;
	uint32_t tx_max;
	uint64_t tx_stride;
	uint32_t ntx;
	uint32_t *tx_free;    /* stack of free TX slot indexes */
	uint32_t tx_nfree;
	uint64_t ind_gpa;     /* indirect tables, one per TX slot */
	uint64_t ind_stride;
	uint64_t extra_gpa;   /* vhf_guest_alloc() arena */
	uint64_t extra_used;

	struct vhf_guest_stats st;
};

/*
 * Guest memory access for the model's own data copies. A range may span the
 * region boundary; the caller guarantees it is mapped.
 */
static uint8_t *
gpa_ptr(const struct vhf_guest *g, uint64_t gpa, uint64_t *contig)
{
	uint32_t i;

	for (i = 0; i < g->mem.nregions; i++) {
		const struct vhf_mem_region *r = &g->mem.regions[i];

		if (gpa - r->guest_phys_addr < r->size) {
			*contig = r->size - (gpa - r->guest_phys_addr);
			return (uint8_t *)(uintptr_t)(r->host_addr + (gpa - r->guest_phys_addr));
		}
	}
	*contig = 0;
	return NULL;
}

/*
 * Copy between host memory and [gpa, gpa + len): into the guest from src, out
 * of it into dst, or (both NULL) poison it.
 */
static void
gpa_copy(const struct vhf_guest *g, uint64_t gpa, void *dst, const void *src, uint64_t len)
{
	uint8_t *d = dst;
	const uint8_t *s = src;

	while (len > 0) {
		uint64_t contig;
		uint8_t *p = gpa_ptr(g, gpa, &contig);

		if (p == NULL)
			abort(); /* the model's own layout is wrong: nothing sensible to do */
		if (contig > len)
			contig = len;
		if (s != NULL) {
			memcpy(p, s, contig);
			s += contig;
		} else if (d != NULL) {
			memcpy(d, p, contig);
			d += contig;
		} else {
			memset(p, GUEST_POISON, contig);
		}
		gpa += contig;
		len -= contig;
	}
}

/* RX buffer b, piece k: guest address and length. */
static uint64_t
rx_piece(const struct vhf_guest *g, uint32_t b, uint16_t k, uint32_t *len)
{
	*len = k + 1 == g->dpb ? g->buf_len - g->piece_len * (uint32_t)(g->dpb - 1) : g->piece_len;
	return g->pool_gpa + b * g->rx_stride + g->cfg.rx_buf_offset +
	       (uint64_t)k * (g->piece_len + GUEST_GAP);
}

/* Copy len bytes at offset off of RX buffer b's logical contents (its pieces in order). */
static void
rx_buf_read(const struct vhf_guest *g, uint32_t b, uint32_t off, void *dst, uint32_t len)
{
	uint8_t *d = dst;
	uint16_t k;

	for (k = 0; k < g->dpb && len > 0; k++) {
		uint32_t plen;
		uint64_t gpa = rx_piece(g, b, k, &plen);
		uint32_t n;

		if (off >= plen) {
			off -= plen;
			continue;
		}
		n = plen - off < len ? plen - off : len;
		gpa_copy(g, gpa + off, d, NULL, n);
		d += n;
		len -= n;
		off = 0;
	}
}

static bool
config_valid(const struct vhf_guest_config *c)
{
	if (c->size == 0 || c->size > VHF_VQ_MAX_SIZE)
		return false;
	if (!c->packed && (c->size & (c->size - 1)) != 0)
		return false;
	if (c->hdr_len != 0 && c->hdr_len != VHF_NET_HDR_LEN_LEGACY &&
	    c->hdr_len != VHF_NET_HDR_LEN_MRG)
		return false;
	if (c->mrg_rxbuf && c->hdr_len == VHF_NET_HDR_LEN_LEGACY)
		return false;
	if (c->gpa_base % 64 != 0 || c->rx_buf_offset >= 64)
		return false;
	return true;
}

/*
 * A few freed host blocks kept for the next guest of the same shape. The race
 * explorer creates and destroys a guest per execution, hundreds of thousands
 * of times: under ASan each block of this size is its own mmap, and mapping,
 * shadowing and faulting it in anew cost more than the execution itself.
 */
#define SPARE_BLOCKS 4
static struct {
	void *p;
	uint64_t len;
} spare_blocks[SPARE_BLOCKS];

static void *
block_get(uint64_t len)
{
	unsigned int i;
	void *p;

	for (i = 0; i < SPARE_BLOCKS; i++)
		if (spare_blocks[i].p != NULL && spare_blocks[i].len == len) {
			p = spare_blocks[i].p;
			spare_blocks[i].p = NULL;
			return memset(p, 0, len);
		}
	/* Line-aligned, so that host addresses fall in lines as guest addresses do. */
	if (posix_memalign(&p, 64, len) != 0)
		return NULL;
	return memset(p, 0, len);
}

static void
block_put(void *p, uint64_t len)
{
	unsigned int i;

	if (p == NULL)
		return;
	for (i = 0; i < SPARE_BLOCKS; i++)
		if (spare_blocks[i].p == NULL) {
			spare_blocks[i].p = p;
			spare_blocks[i].len = len;
			return;
		}
	free(p);
}

/*
 * Allocate len zeroed bytes whose address is congruent to phase modulo 64 (a
 * cache line), as a guest address is in a hugepage-backed guest.
 */
static void *
host_alloc(uint64_t len, uint64_t phase, uint8_t **host, uint64_t *alloc_len)
{
	/* Blocks are line-aligned: offsetting by the phase ends the region at the block's end. */
	uint8_t *p = block_get(len + phase % 64);

	if (p != NULL) {
		*host = p + phase % 64;
		*alloc_len = len + phase % 64;
	}
	return p;
}

struct vhf_guest *
vhf_guest_create(const struct vhf_guest_config *cfg)
{
	struct vhf_guest *g;
	uint64_t off1, off2, ring_end, off, pool_len, total, boundary;
	uint8_t *host[2] = { NULL, NULL };
	uint16_t i;

	if (cfg == NULL || !config_valid(cfg))
		return NULL;
	g = calloc(1, sizeof(*g));
	if (g == NULL)
		return NULL;
	g->cfg = *cfg;
	if (g->cfg.hdr_len == 0)
		g->cfg.hdr_len = VHF_NET_HDR_LEN_MRG;
	g->size = cfg->size;
	g->mask = (uint16_t)(cfg->size - 1);
	g->gpa_base = cfg->gpa_base != 0 ? cfg->gpa_base : VHF_GUEST_GPA_BASE;
	g->buf_len = cfg->buf_len != 0 ? cfg->buf_len : VHF_GUEST_BUF_LEN;
	g->dpb = cfg->descs_per_buf != 0 ? cfg->descs_per_buf : 1;
	g->tx_max = cfg->tx_max_len != 0 ? cfg->tx_max_len : VHF_GUEST_TX_MAX_LEN;
	/* Every piece holds a byte; mergeable buffers must hold the header (Linux too). */
	if (g->dpb > g->size || g->dpb > g->buf_len ||
	    (cfg->mrg_rxbuf && g->buf_len < g->cfg.hdr_len) || g->buf_len > (1u << 30) ||
	    g->tx_max > (1u << 30))
		goto fail;

	/*
	 * Ring areas at 64-byte aligned offsets (more than the 16/2/4 the spec
	 * asks). Split: desc, avail (+ used_event), used (+ avail_event). Packed:
	 * desc, driver event area, device event area.
	 */
	off1 = ALIGN_UP((uint64_t)g->size * 16, 64);
	if (cfg->packed) {
		off2 = off1 + 64;
		ring_end = off2 + sizeof(struct vhf_vring_packed_event);
	} else {
		off2 = ALIGN_UP(off1 + 6 + 2 * (uint64_t)g->size, 64);
		ring_end = off2 + 6 + sizeof(struct vhf_vring_used_elem) * (uint64_t)g->size;
	}

	g->nrx = g->size / g->dpb;
	g->piece_len = g->buf_len / g->dpb;
	g->rx_stride = ALIGN_UP((uint64_t)cfg->rx_buf_offset + g->buf_len +
					(uint64_t)g->dpb * GUEST_GAP,
				64);
	/* Header area, payload, a gap after each segment. */
	g->tx_stride = ALIGN_UP(64 + (uint64_t)g->tx_max + VHF_GUEST_MAX_SEGS * GUEST_GAP, 64);
	g->ntx = g->size;
	if ((uint64_t)g->ntx * g->tx_stride > GUEST_TX_POOL_MAX)
		g->ntx = (uint32_t)(GUEST_TX_POOL_MAX / g->tx_stride);
	if (g->ntx == 0)
		g->ntx = 1;

	g->ind_stride = ALIGN_UP(GUEST_IND_ENTRIES * sizeof(struct vhf_vring_desc), 64);
	g->ind_gpa = g->gpa_base + ALIGN_UP(ring_end, 64);
	off = g->ind_gpa - g->gpa_base + (cfg->indirect ? g->ntx * g->ind_stride : 0);
	g->extra_gpa = g->gpa_base + ALIGN_UP(off, 4096);
	g->pool_gpa = g->extra_gpa + VHF_GUEST_EXTRA_LEN;
	pool_len = (uint64_t)g->nrx * g->rx_stride;
	if (pool_len < (uint64_t)g->ntx * g->tx_stride)
		pool_len = (uint64_t)g->ntx * g->tx_stride;
	total = ALIGN_UP(g->pool_gpa - g->gpa_base + pool_len, 4096);
	if (g->gpa_base + total < g->gpa_base)
		goto fail;

	if (cfg->two_regions) {
		uint32_t b = g->nrx > 1 ? 1 : 0;
		uint64_t x = b * g->rx_stride + cfg->rx_buf_offset + ((g->piece_len / 2) & ~1u);

		if (x < 2)
			x = 2;
		/* Keep the boundary off a TX slot edge too, so that a slot straddles. */
		if (x % g->tx_stride == 0)
			x += 2;
		boundary = g->pool_gpa - g->gpa_base + x;
		g->alloc[0] = host_alloc(boundary, 0, &host[0], &g->alloc_len[0]);
		g->alloc[1] = host_alloc(total - boundary, boundary, &host[1], &g->alloc_len[1]);
		if (g->alloc[0] != NULL && g->alloc[1] != NULL && host[0] + boundary == host[1]) {
			/* Adjacent by chance: the test would prove nothing. Take another block. */
			void *spacer = g->alloc[1];

			g->alloc[1] = host_alloc(total - boundary, boundary, &host[1],
						 &g->alloc_len[1]);
			free(spacer);
		}
		if (g->alloc[0] == NULL || g->alloc[1] == NULL)
			goto fail;
		g->mem.nregions = 2;
		g->mem.regions[0] = (struct vhf_mem_region){
			.guest_phys_addr = g->gpa_base, .size = boundary,
			.host_addr = (uint64_t)(uintptr_t)host[0] };
		g->mem.regions[1] = (struct vhf_mem_region){
			.guest_phys_addr = g->gpa_base + boundary, .size = total - boundary,
			.host_addr = (uint64_t)(uintptr_t)host[1], .mmap_offset = boundary };
	} else {
		g->alloc[0] = host_alloc(total, 0, &host[0], &g->alloc_len[0]);
		if (g->alloc[0] == NULL)
			goto fail;
		g->mem.nregions = 1;
		g->mem.regions[0] = (struct vhf_mem_region){
			.guest_phys_addr = g->gpa_base, .size = total,
			.host_addr = (uint64_t)(uintptr_t)host[0] };
	}

	if (cfg->packed) {
		g->pdesc = (void *)host[0];
		g->driver_event = (void *)(host[0] + off1);
		g->device_event = (void *)(host[0] + off2);
	} else {
		g->desc = (void *)host[0];
		g->avail = (void *)(host[0] + off1);
		g->used = (void *)(host[0] + off2);
	}

	g->next = calloc(g->size, sizeof(*g->next));
	g->rec = calloc(g->size, sizeof(*g->rec));
	g->order = calloc(g->size, sizeof(*g->order));
	g->rx_free = calloc(g->nrx ? g->nrx : 1, sizeof(*g->rx_free));
	g->tx_free = calloc(g->ntx, sizeof(*g->tx_free));
	g->chain = calloc(g->dpb, sizeof(*g->chain));
	if (g->next == NULL || g->rec == NULL || g->order == NULL || g->rx_free == NULL ||
	    g->tx_free == NULL || g->chain == NULL)
		goto fail;
	/* Free lists: descriptors / ids in order, pool buffers popped lowest first. */
	for (i = 0; i < g->size; i++)
		g->next[i] = (uint16_t)(i + 1);
	g->num_free = g->size;
	for (g->rx_nfree = 0; g->rx_nfree < g->nrx; g->rx_nfree++)
		g->rx_free[g->rx_nfree] = g->nrx - 1 - g->rx_nfree;
	for (g->tx_nfree = 0; g->tx_nfree < g->ntx; g->tx_nfree++)
		g->tx_free[g->tx_nfree] = g->ntx - 1 - g->tx_nfree;

	/* Packed starts with both wrap counters at 1 (virtio 1.1, 2.8.1). */
	g->avail_wrap = true;
	g->used_wrap = true;
	g->start = cfg->packed ? (uint16_t)(1u << VHF_EVENT_WRAP_SHIFT) : 0;
	/*
	 * Callbacks start enabled, as for a Linux queue with a callback: avail->flags
	 * 0, driver event ENABLE, used_event 0. The zeroed memory already says so.
	 */
	g->avail_flags_shadow = 0;
	g->event_flags_shadow = VHF_EVENT_F_ENABLE;
	return g;

fail:
	vhf_guest_destroy(g);
	return NULL;
}

void
vhf_guest_destroy(struct vhf_guest *g)
{
	if (g == NULL)
		return;
	block_put(g->alloc[0], g->alloc_len[0]);
	block_put(g->alloc[1], g->alloc_len[1]);
	free(g->next);
	free(g->rec);
	free(g->order);
	free(g->rx_free);
	free(g->tx_free);
	free(g->chain);
	free(g);
}

const struct vhf_mem *
vhf_guest_mem(const struct vhf_guest *g)
{
	return &g->mem;
}

void
vhf_guest_vq_config(const struct vhf_guest *g, struct vhf_vq_config *cfg)
{
	cfg->size = g->size;
	cfg->packed = g->cfg.packed;
	cfg->event_idx = g->cfg.event_idx;
	cfg->indirect = g->cfg.indirect;
	cfg->mrg_rxbuf = g->cfg.mrg_rxbuf;
	cfg->in_order = g->cfg.in_order;
	cfg->net_hdr_len = g->cfg.hdr_len;
	cfg->desc = g->desc;
	cfg->avail = g->avail;
	cfg->used = g->used;
	cfg->desc_packed = g->pdesc;
	cfg->driver_event = g->driver_event;
	cfg->device_event = g->device_event;
	cfg->last_avail = g->start;
	cfg->last_used = g->start;
	cfg->mem = &g->mem;
}

int
vhf_guest_set_start_index(struct vhf_guest *g, uint16_t start)
{
	uint16_t i;

	if (g->num_free != g->size || g->role != ROLE_NONE)
		return -EBUSY;
	/* Plain stores: the rings are not shared yet (no scheduling points in set-up). */
	if (!g->cfg.packed) {
		g->avail->idx = start;
		g->used->idx = start;
		*vhf_split_used_event(g->avail, g->size) = start;
		*vhf_split_avail_event(g->used, g->size) = start;
		g->avail_idx = start;
		g->last_used = start;
		g->shadow_used = start;
	} else {
		uint16_t pos = start & (uint16_t)~(1u << VHF_EVENT_WRAP_SHIFT);
		bool wrap = start >> VHF_EVENT_WRAP_SHIFT;
		uint16_t cur = wrap ? VHF_DESC_F_AVAIL | VHF_DESC_F_USED : 0;
		uint16_t prev = wrap ? 0 : VHF_DESC_F_AVAIL | VHF_DESC_F_USED;

		if (pos >= g->size)
			return -EINVAL;
		/*
		 * A zeroed slot reads "used" for wrap counter 0: give every slot the
		 * flags of its last use so nothing looks used or available by accident.
		 */
		for (i = 0; i < g->size; i++)
			g->pdesc[i].flags = i < pos ? cur : prev;
		g->driver_event->off_wrap = start;
		g->avail_idx = pos;
		g->last_used = pos;
		g->avail_wrap = wrap;
		g->used_wrap = wrap;
	}
	g->start = start;
	return 0;
}

/*
 * Adding and publishing (Linux virtqueue_add_split / virtqueue_add_packed).
 */

/* Split: chain n descriptors from the free list, put the head in the avail ring. No publish. */
static void
split_add(struct vhf_guest *g, const struct guest_seg *segs, uint16_t n, uint32_t slot)
{
	uint16_t head = g->free_head, i = head, prev = head, k;

	for (k = 0; k < n; k++) {
		struct vhf_vring_desc *d = &g->desc[i];

		d->addr = segs[k].addr;
		d->len = segs[k].len;
		d->flags = segs[k].flags | (k + 1 < n ? VHF_DESC_F_NEXT : 0);
		d->next = k + 1 < n ? g->next[i] : 0;
		prev = i;
		i = g->next[i];
	}
	g->free_head = i;
	g->num_free = (uint16_t)(g->num_free - n);
	g->rec[head] = (struct guest_rec){ .slot = slot, .ndesc = n, .last = prev, .busy = true };
	g->avail->ring[g->avail_idx & g->mask] = head;
	g->avail_idx++;
	g->num_added++;
}

/* Split: make everything added visible: entries first, then the index (release). */
static void
split_publish(struct vhf_guest *g)
{
	vhf_shm_store_release16(&g->avail->idx, g->avail_idx);
}

/*
 * Packed: write n descriptors at the avail position under one buffer id. The
 * flags of every slot are written (relaxed) except, if *first_flags is not
 * NULL, the chain's first: its value is returned for the caller to store last,
 * with release, once the whole batch is in place.
 */
static void
packed_add(struct vhf_guest *g, const struct guest_seg *segs, uint16_t n, uint32_t slot,
	   uint16_t **first_slot, uint16_t *first_flags)
{
	uint16_t id = g->free_head, k;

	for (k = 0; k < n; k++) {
		struct vhf_vring_packed_desc *d = &g->pdesc[g->avail_idx];
		uint16_t flags = segs[k].flags | (k + 1 < n ? VHF_DESC_F_NEXT : 0) |
				 (g->avail_wrap ? VHF_DESC_F_AVAIL : VHF_DESC_F_USED);

		d->addr = segs[k].addr;
		d->len = segs[k].len;
		d->id = id;
		if (k == 0 && *first_slot == NULL) {
			*first_slot = &d->flags;
			*first_flags = flags;
		} else {
			vhf_shm_store_relaxed16(&d->flags, flags);
		}
		if (++g->avail_idx == g->size) {
			g->avail_idx = 0;
			g->avail_wrap = !g->avail_wrap;
		}
	}
	g->free_head = g->next[id];
	g->num_free = (uint16_t)(g->num_free - n);
	g->rec[id] = (struct guest_rec){ .slot = slot, .ndesc = n, .busy = true };
	if (g->cfg.in_order)
		g->order[(uint16_t)((g->order_head + g->order_n++) % g->size)] = id;
	/* Counted in ring slots: the kick decision compares positions (Linux too). */
	g->num_added = (uint16_t)(g->num_added + n);
}

/* One buffer of n descriptors; for packed, the batch's first flags are deferred. */
static void
guest_add(struct vhf_guest *g, const struct guest_seg *segs, uint16_t n, uint32_t slot,
	  uint16_t **first_slot, uint16_t *first_flags)
{
	if (g->cfg.packed)
		packed_add(g, segs, n, slot, first_slot, first_flags);
	else
		split_add(g, segs, n, slot);
}

static void
guest_publish(struct vhf_guest *g, uint16_t *first_slot, uint16_t first_flags)
{
	if (g->cfg.packed) {
		if (first_slot != NULL)
			vhf_shm_store_release16(first_slot, first_flags);
	} else {
		split_publish(g);
	}
}

/*
 * Taking used entries back (Linux virtqueue_get_buf_ctx_split / _packed).
 */

/* Split: is an entry pending? Reloads used->idx (acquire) only when the shadow is used up. */
static bool
split_more_used(struct vhf_guest *g)
{
	if (g->shadow_used == g->last_used)
		g->shadow_used = vhf_shm_load_acquire16(&g->used->idx);
	return g->shadow_used != g->last_used;
}

static bool
packed_is_used(struct vhf_guest *g, uint16_t pos, bool wrap)
{
	uint16_t flags = vhf_shm_load_acquire16(&g->pdesc[pos].flags);
	bool avail = flags & VHF_DESC_F_AVAIL, used = flags & VHF_DESC_F_USED;

	return avail == used && used == wrap;
}

static void
guest_broken(struct vhf_guest *g)
{
	if (!g->broken)
		g->st.errors++;
	g->broken = true;
}

/*
 * Take the next used entry, return its buffer's descriptors to the free list.
 *
 * @return 1 (buffer in *slot, used length in *len); 0 none; -EIO a bad id
 *   or a used index running ahead of what we posted (the queue is broken).
 */
static int
guest_get_used(struct vhf_guest *g, uint32_t *slot, uint32_t *len)
{
	struct guest_rec *r;
	uint32_t id = 0;

	if (g->broken)
		return -EIO;
	if (!g->cfg.packed) {
		struct vhf_vring_used_elem *e;

		if (!split_more_used(g))
			return 0;
		if ((uint16_t)(g->shadow_used - g->last_used) > g->size) {
			guest_broken(g);
			return -EIO;
		}
		e = &g->used->ring[g->last_used & g->mask];
		id = e->id;
		*len = e->len;
		if (id >= g->size || !g->rec[id].busy) {
			guest_broken(g);
			return -EIO;
		}
		r = &g->rec[id];
		g->next[r->last] = g->free_head;
		g->free_head = (uint16_t)id;
		g->last_used++;
	} else {
		struct vhf_vring_packed_desc *d = &g->pdesc[g->last_used];

		if (!g->batch_open) {
			if (!packed_is_used(g, g->last_used, g->used_wrap))
				return 0;
			id = d->id;
			*len = d->len;
			if (id >= g->size || !g->rec[id].busy) {
				guest_broken(g);
				return -EIO;
			}
			g->batch_last = (uint16_t)id;
			g->batch_len = *len;
		}
		if (g->cfg.in_order) {
			/* In order: the oldest buffer out, up to the one the device named. */
			if (g->order_n == 0) {
				guest_broken(g);
				return -EIO;
			}
			id = g->order[g->order_head];
			g->order_head = (uint16_t)((g->order_head + 1) % g->size);
			g->order_n--;
			*len = id == g->batch_last ? g->batch_len : 0;
			g->batch_open = id != g->batch_last;
		}
		r = &g->rec[id];
		/* The next used slot is past every slot this buffer took. */
		g->last_used = (uint16_t)(g->last_used + r->ndesc);
		if (g->last_used >= g->size) {
			g->last_used = (uint16_t)(g->last_used - g->size);
			g->used_wrap = !g->used_wrap;
		}
		g->next[id] = g->free_head;
		g->free_head = (uint16_t)id;
	}
	r->busy = false;
	g->num_free = (uint16_t)(g->num_free + r->ndesc);
	*slot = r->slot;
	g->st.bufs_used++;
	return 1;
}

/*
 * RX role.
 */

unsigned int
vhf_guest_rx_add(struct vhf_guest *g, unsigned int n)
{
	uint16_t *first_slot = NULL, first_flags = 0;
	struct guest_seg *chain;
	unsigned int done;

	if (g->broken || g->role == ROLE_TX)
		return 0;
	g->role = ROLE_RX;
	chain = g->chain;
	for (done = 0; done < n && g->rx_nfree > 0 && g->num_free >= g->dpb; done++) {
		uint32_t b = g->rx_free[--g->rx_nfree];
		uint16_t k;

		for (k = 0; k < g->dpb; k++) {
			chain[k].addr = rx_piece(g, b, k, &chain[k].len);
			chain[k].flags = VHF_DESC_F_WRITE;
			/* Stale bytes must not pass for what the device wrote. */
			gpa_copy(g, chain[k].addr, NULL, NULL, chain[k].len);
		}
		guest_add(g, chain, g->dpb, b, &first_slot, &first_flags);
	}
	if (done > 0)
		guest_publish(g, first_slot, first_flags);
	g->st.posted += done;
	return done;
}

unsigned int
vhf_guest_rx_free(const struct vhf_guest *g)
{
	return g->role == ROLE_TX ? 0 : g->rx_nfree;
}

unsigned int
vhf_guest_rx_posted(const struct vhf_guest *g)
{
	return g->role == ROLE_RX ? g->nrx - g->rx_nfree : 0;
}

int
vhf_guest_rx_get(struct vhf_guest *g, void *out, uint32_t cap, uint32_t *len,
		 struct vhf_net_hdr *hdr)
{
	const uint32_t hlen = g->cfg.hdr_len;
	struct vhf_net_hdr h;
	uint32_t b, ulen, total = 0, taken = 0, nbufs = 1;
	uint8_t *o = out;
	int ret, err = 0;

	if (g->role == ROLE_TX)
		return -EINVAL;
	ret = guest_get_used(g, &b, &ulen);
	if (ret <= 0)
		return ret;
	g->rx_free[g->rx_nfree++] = b;
	taken = 1;
	/* Linux: a buffer shorter than the header, or longer than we gave, is dropped. */
	if (ulen < hlen || ulen > g->buf_len) {
		err = -EPROTO;
		goto drop;
	}
	memset(&h, 0, sizeof(h));
	rx_buf_read(g, b, 0, &h, hlen);
	if (g->cfg.mrg_rxbuf) {
		nbufs = h.num_buffers;
		if (nbufs == 0) {
			err = -EPROTO;
			goto drop;
		}
	}
	for (;;) {
		uint32_t off = taken == 1 ? hlen : 0, n = ulen - off;

		if (total < cap)
			rx_buf_read(g, b, off, o + total, cap - total < n ? cap - total : n);
		total += n;
		if (taken == nbufs)
			break;
		/* The rest of a mergeable packet is published with (before) its first buffer. */
		ret = guest_get_used(g, &b, &ulen);
		if (ret < 0)
			return ret;
		if (ret == 0) {
			err = -EPROTO;
			goto drop;
		}
		g->rx_free[g->rx_nfree++] = b;
		taken++;
		if (ulen > g->buf_len) {
			err = -EPROTO;
			goto drop;
		}
	}
	if (len != NULL)
		*len = total;
	if (hdr != NULL)
		*hdr = h;
	g->st.received++;
	return total > cap ? -EMSGSIZE : 1;

drop:
	g->st.errors++;
	return err;
}

/*
 * TX role.
 */

int
vhf_guest_tx_send(struct vhf_guest *g, const void *pkt, uint32_t len,
		  const struct vhf_net_hdr *hdr, unsigned int nsegs)
{
	struct guest_seg segs[GUEST_IND_ENTRIES], ind;
	struct vhf_net_hdr zero = { 0 };
	uint16_t *first_slot = NULL, first_flags = 0, n, k;
	uint64_t base, gpa;
	uint32_t slot, off = 0;
	bool indirect, push;

	if (g->broken)
		return -EIO;
	if (g->role == ROLE_RX || nsegs > VHF_GUEST_MAX_SEGS)
		return -EINVAL;
	if (len > g->tx_max)
		return -EMSGSIZE;
	if (len == 0)
		nsegs = 0;
	else if (nsegs == 0)
		nsegs = 1;
	else if (nsegs > len)
		nsegs = len;
	push = g->cfg.tx_push_hdr && nsegs == 1;
	n = push ? 1 : (uint16_t)(nsegs + 1);
	/* Linux goes indirect only for more than one descriptor. */
	indirect = g->cfg.indirect && n > 1;
	if (g->tx_nfree == 0 || g->num_free < (indirect ? 1 : n))
		return -ENOSPC;
	g->role = ROLE_TX;
	slot = g->tx_free[--g->tx_nfree];
	base = g->pool_gpa + slot * g->tx_stride;

	gpa = base + 64; /* where the frame (the first segment) starts */
	if (push) {
		base = gpa - g->cfg.hdr_len;
		nsegs = 0; /* the frame is in segs[0], after the header */
		gpa_copy(g, gpa, NULL, pkt, len);
	}
	gpa_copy(g, base, NULL, hdr != NULL ? hdr : &zero, g->cfg.hdr_len);
	segs[0] = (struct guest_seg){ .addr = base, .len = g->cfg.hdr_len + (push ? len : 0),
				      .flags = 0 };
	for (k = 0; k < nsegs; k++) {
		uint32_t chunk = k + 1u == nsegs ? len - off : len / nsegs;

		gpa_copy(g, gpa, NULL, (const uint8_t *)pkt + off, chunk);
		segs[k + 1] = (struct guest_seg){ .addr = gpa, .len = chunk, .flags = 0 };
		gpa += chunk + GUEST_GAP;
		off += chunk;
	}

	if (indirect) {
		uint64_t table = g->ind_gpa + slot * g->ind_stride;

		/* Split tables chain with NEXT; packed tables are read in order, no NEXT. */
		for (k = 0; k < n; k++) {
			if (g->cfg.packed) {
				struct vhf_vring_packed_desc *t =
					vhf_guest_gpa_to_host(g, table + k * 16u, 16);

				*t = (struct vhf_vring_packed_desc){ .addr = segs[k].addr,
								     .len = segs[k].len };
			} else {
				struct vhf_vring_desc *t =
					vhf_guest_gpa_to_host(g, table + k * 16u, 16);

				*t = (struct vhf_vring_desc){
					.addr = segs[k].addr, .len = segs[k].len,
					.flags = k + 1 < n ? VHF_DESC_F_NEXT : 0,
					.next = k + 1 < n ? (uint16_t)(k + 1) : 0 };
			}
		}
		ind = (struct guest_seg){ .addr = table, .len = n * 16u,
					  .flags = VHF_DESC_F_INDIRECT };
		guest_add(g, &ind, 1, slot, &first_slot, &first_flags);
	} else {
		guest_add(g, segs, n, slot, &first_slot, &first_flags);
	}
	guest_publish(g, first_slot, first_flags);
	g->st.posted++;
	return 0;
}

unsigned int
vhf_guest_tx_reclaim(struct vhf_guest *g)
{
	unsigned int n = 0;
	uint32_t slot, len;

	if (g->role != ROLE_TX)
		return 0;
	while (guest_get_used(g, &slot, &len) == 1) {
		g->tx_free[g->tx_nfree++] = slot;
		g->st.received++;
		n++;
	}
	return n;
}

unsigned int
vhf_guest_tx_inflight(const struct vhf_guest *g)
{
	return g->role == ROLE_TX ? g->ntx - g->tx_nfree : 0;
}

/*
 * Notifications, both directions.
 */

bool
vhf_guest_kick_prepare(struct vhf_guest *g)
{
	uint16_t new = g->avail_idx, old = (uint16_t)(g->avail_idx - g->num_added);
	bool kick;

	/* Our publication must be visible before we read the device's suppression state. */
	vhf_shm_mb();
	g->num_added = 0;
	if (g->cfg.packed) {
		/* Acquire: a DESC flags value is read with the off_wrap written before it. */
		uint16_t flags = vhf_shm_load_acquire16(&g->device_event->flags);

		if (flags != VHF_EVENT_F_DESC) {
			kick = flags != VHF_EVENT_F_DISABLE;
		} else {
			uint16_t off_wrap = vhf_shm_load_relaxed16(&g->device_event->off_wrap);
			uint16_t event = off_wrap & (uint16_t)~(1u << VHF_EVENT_WRAP_SHIFT);

			/*
			 * An event in the previous lap is expressed in ours, as Linux does;
			 * old may be "negative" the same way, all modulo 2^16.
			 */
			if ((bool)(off_wrap >> VHF_EVENT_WRAP_SHIFT) != g->avail_wrap)
				event = (uint16_t)(event - g->size);
			kick = vhf_need_event(event, new, old);
		}
	} else if (g->cfg.event_idx) {
		uint16_t event = vhf_shm_load_relaxed16(vhf_split_avail_event(g->used, g->size));

		kick = vhf_need_event(event, new, old);
	} else {
		kick = !(vhf_shm_load_relaxed16(&g->used->flags) & VHF_USED_F_NO_NOTIFY);
	}
	g->st.kick_checks++;
	if (kick)
		g->st.kicks++;
	return kick;
}

bool
vhf_guest_used_pending(struct vhf_guest *g)
{
	if (g->cfg.packed)
		return packed_is_used(g, g->last_used, g->used_wrap);
	g->shadow_used = vhf_shm_load_acquire16(&g->used->idx);
	return g->shadow_used != g->last_used;
}

bool
vhf_guest_enable_cb_and_check(struct vhf_guest *g)
{
	if (g->cfg.packed) {
		uint16_t want = g->cfg.event_idx ? VHF_EVENT_F_DESC : VHF_EVENT_F_ENABLE;

		/*
		 * Rewritten on every enable, not only after DISABLE as in Linux: we do
		 * not move it on each get_buf, so it may be stale.
		 */
		if (g->cfg.event_idx)
			vhf_shm_store_relaxed16(&g->driver_event->off_wrap,
						(uint16_t)(g->last_used |
							   (uint16_t)g->used_wrap
								   << VHF_EVENT_WRAP_SHIFT));
		if (g->event_flags_shadow != want) {
			g->event_flags_shadow = want;
			/* Release: the device reading DESC sees the off_wrap stored above. */
			vhf_shm_store_release16(&g->driver_event->flags, want);
		}
	} else {
		if (g->avail_flags_shadow & VHF_AVAIL_F_NO_INTERRUPT) {
			g->avail_flags_shadow &= (uint16_t)~VHF_AVAIL_F_NO_INTERRUPT;
			if (!g->cfg.event_idx)
				vhf_shm_store_relaxed16(&g->avail->flags, g->avail_flags_shadow);
		}
		if (g->cfg.event_idx)
			vhf_shm_store_relaxed16(vhf_split_used_event(g->avail, g->size),
						g->last_used);
	}
	/*
	 * Store-load barrier: either the device sees our request, or we see its
	 * used entry here. Without it both may miss each other and the guest sleeps.
	 */
	vhf_shm_mb();
	return vhf_guest_used_pending(g);
}

void
vhf_guest_disable_cb(struct vhf_guest *g)
{
	if (g->cfg.packed) {
		if (g->event_flags_shadow != VHF_EVENT_F_DISABLE) {
			g->event_flags_shadow = VHF_EVENT_F_DISABLE;
			vhf_shm_store_relaxed16(&g->driver_event->flags, VHF_EVENT_F_DISABLE);
		}
	} else if (!(g->avail_flags_shadow & VHF_AVAIL_F_NO_INTERRUPT)) {
		g->avail_flags_shadow |= VHF_AVAIL_F_NO_INTERRUPT;
		/*
		 * With EVENT_IDX, used_event stays where enable put it: the device
		 * interrupts at most once more, when it crosses it.
		 */
		if (!g->cfg.event_idx)
			vhf_shm_store_relaxed16(&g->avail->flags, g->avail_flags_shadow);
	}
}

void
vhf_guest_stats(const struct vhf_guest *g, struct vhf_guest_stats *st)
{
	*st = g->st;
}

bool
vhf_guest_broken(const struct vhf_guest *g)
{
	return g->broken;
}

/*
 * Raw access.
 */

struct vhf_vring_desc *
vhf_guest_split_desc(struct vhf_guest *g)
{
	return g->desc;
}

struct vhf_vring_avail *
vhf_guest_split_avail(struct vhf_guest *g)
{
	return g->avail;
}

struct vhf_vring_used *
vhf_guest_split_used(struct vhf_guest *g)
{
	return g->used;
}

struct vhf_vring_packed_desc *
vhf_guest_packed_desc(struct vhf_guest *g)
{
	return g->pdesc;
}

struct vhf_vring_packed_event *
vhf_guest_packed_driver_event(struct vhf_guest *g)
{
	return g->driver_event;
}

struct vhf_vring_packed_event *
vhf_guest_packed_device_event(struct vhf_guest *g)
{
	return g->device_event;
}

void *
vhf_guest_gpa_to_host(struct vhf_guest *g, uint64_t gpa, uint64_t len)
{
	uint64_t contig;
	uint8_t *p = gpa_ptr(g, gpa, &contig);

	if (p == NULL || len > contig)
		return NULL;
	return p;
}

uint64_t
vhf_guest_alloc(struct vhf_guest *g, uint64_t len, uint64_t align)
{
	uint64_t off;

	if (align == 0)
		align = 1;
	if ((align & (align - 1)) != 0 || len == 0)
		return 0;
	off = ALIGN_UP(g->extra_used, align);
	if (off > VHF_GUEST_EXTRA_LEN || len > VHF_GUEST_EXTRA_LEN - off)
		return 0;
	g->extra_used = off + len;
	return g->extra_gpa + off;
}
