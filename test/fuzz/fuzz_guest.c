/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 dpdk-vhostfix authors
 */

/*
 * The hostile guest of the fuzz targets (see fuzz_guest.h for the input
 * format): its memory, its two queues, what it does between and during device
 * calls, the hooks every guest-memory read of the device goes through, and the
 * invariants that do not depend on which layer of the device is fuzzed.
 *
 * Guest memory is one allocation per region or dedicated ring area: exact-size
 * heap blocks for small ones (the sanitizers see a byte past them), sparse
 * mappings with an inaccessible page on each side for the large ones (up to
 * 8 GiB; only the pages touched cost memory, a byte past them faults).
 */

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz_guest.h"

#define FUZZ_REGION_SMALL 65536u
#define FUZZ_PAGE 4096u
/*
 * Broken-queue snapshots give up beyond this many bytes to copy, or when the
 * sparse regions are larger than FUZZ_SNAP_SPARSE_MAX (looking for resident
 * pages of gigabytes costs more than the rest of the input).
 */
#define FUZZ_SNAP_MAX (64u << 20)
#define FUZZ_SNAP_SPARSE_MAX (UINT64_C(256) << 20)

/* The reference walk gives up past this many descriptors, buffer pieces or tables. */
#define FUZZ_REF_MAX_DESC (1u << 17)
#define FUZZ_REF_MAX_PIECES 1024
#define FUZZ_REF_MAX_TABLES 64

struct fuzz_stats fuzz_stats;

/* The input being run: the hooks have no other way to reach it. */
static struct fuzz_ctx *fuzz_cur;

/*
 * FUZZ_NO_BUDGET=1 in the environment: do not check FUZZ_DESC_BUDGET, to look
 * for other defects while one that breaks the budget is being fixed.
 */
static bool fuzz_no_budget;

void
fuzz_fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "fuzz: invariant violated at %s:%d: %s\n", file, line, what);
	abort();
}

FUZZ_NO_COVERAGE uint8_t
fuzz_u8(struct fuzz_in *in)
{
	return in->off < in->n ? in->p[in->off++] : 0;
}

FUZZ_NO_COVERAGE uint16_t
fuzz_u16(struct fuzz_in *in)
{
	uint16_t lo = fuzz_u8(in);

	return (uint16_t)(lo | (uint16_t)fuzz_u8(in) << 8);
}

FUZZ_NO_COVERAGE uint32_t
fuzz_u32(struct fuzz_in *in)
{
	uint32_t lo = fuzz_u16(in);

	return lo | (uint32_t)fuzz_u16(in) << 16;
}

/* ---------------------------------------------------------------------------------------- */
/* Guest memory                                                                             */

static void *
fuzz_add_chunk(struct fuzz_ctx *ctx, uint64_t len, bool sparse)
{
	struct fuzz_chunk *c = &ctx->chunks[ctx->nchunks];
	uint8_t *p;

	if (!sparse) {
		p = calloc(1, len);
		if (p == NULL)
			abort();
		c->map_len = 0;
	} else {
		/* len is a multiple of the page: the guard pages sit right at both ends. */
		c->map_len = len + 2 * FUZZ_PAGE;
		p = mmap(NULL, c->map_len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
			 -1, 0);
		if (p == MAP_FAILED)
			return NULL;
		if (mprotect(p + FUZZ_PAGE, len, PROT_READ | PROT_WRITE) != 0) {
			munmap(p, c->map_len);
			return NULL;
		}
		p += FUZZ_PAGE;
	}
	c->base = p;
	c->len = len;
	ctx->nchunks++;
	return p;
}

static uint64_t
fuzz_region_size(uint16_t raw, uint8_t mode, bool *sparse)
{
	uint64_t size;

	*sparse = true;
	switch ((mode >> FUZZ_SCALE_SHIFT) & 3) {
	case FUZZ_SCALE_64K:
		return raw == 0 ? UINT64_C(1) << 32 : (uint64_t)raw << 16;
	case FUZZ_SCALE_4G:
		return (UINT64_C(1) << 32) + ((uint64_t)raw << 16);
	case FUZZ_SCALE_4K:
		return raw == 0 ? UINT64_C(256) << 20 : (uint64_t)raw << 12;
	default:
		*sparse = false;
		size = raw == 0 ? FUZZ_REGION_SMALL : raw;
		return size < 64 ? 64 : size;
	}
}

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
		uint64_t prev_end = 0;
		bool sparse;
		uint64_t size = fuzz_region_size(size_raw[r], mode[r], &sparse);
		void *host;

		if (r > 0) {
			prev_end = ctx->regions[r - 1].guest_phys_addr + ctx->regions[r - 1].size;
			if (prev_end == 0)
				return -1; /* previous region ends at the top of the space */
		}
		switch (mode[r] & FUZZ_GPA_MASK) {
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
		host = fuzz_add_chunk(ctx, size, sparse);
		if (host == NULL)
			return -1;
		if (sparse)
			fuzz_stats.big_regions++;
		reg->size = size;
		reg->host_addr = (uint64_t)(uintptr_t)host;
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
fuzz_overlap(const void *a, uint64_t alen, const void *b, uint64_t blen)
{
	uintptr_t x = (uintptr_t)a, y = (uintptr_t)b;

	return x < y + blen && y < x + alen;
}

uint32_t
fuzz_inflight(const struct vhf_vq *vq)
{
	uint32_t lap = 2u * vq->size, a, u;

	if (!vq->packed)
		return (uint16_t)(vq->last_avail - vq->last_used);
	a = vq->last_avail + (vq->avail_wrap ? 0 : vq->size);
	u = vq->last_used + (vq->used_wrap ? 0 : vq->size);
	return (a + lap - u) % lap;
}

/* The guest's view of a fresh queue: where it publishes next, what it has read of used. */
static void
fuzz_guest_sync(struct fuzz_queue *q)
{
	q->g.pos = q->vq->last_avail;
	q->g.wrap = q->vq->avail_wrap;
	q->g.next_head = (uint16_t)(q->vq->last_avail & q->vq->mask);
	q->g.used_seen = q->vq->last_used;
}

static int
fuzz_setup_queue(struct fuzz_ctx *ctx, unsigned int qi, struct vhf_vq *vq)
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
	size_t align[3];
	bool expect_ok;
	unsigned int i;
	int ret;

	for (i = 0; i < 3; i++)
		off_raw[i] = fuzz_u16(in);
	memset(q, 0, sizeof(*q));
	q->rx = qi == 0;
	q->vq = vq;
	q->place = place;
	memset(vq, 0, sizeof(*vq));
	vq->broken = true;
	if (!(flags & FUZZ_Q_ENABLED))
		return 0;

	cfg->packed = !!(flags & FUZZ_Q_PACKED);
	cfg->event_idx = !!(flags & FUZZ_Q_EVENT_IDX);
	cfg->indirect = !!(flags & FUZZ_Q_INDIRECT);
	cfg->mrg_rxbuf = !!(flags & FUZZ_Q_MRG);
	cfg->net_hdr_len = (flags & FUZZ_Q_HDR12) || cfg->mrg_rxbuf ? VHF_NET_HDR_LEN_MRG :
								     VHF_NET_HDR_LEN_LEGACY;
	/* A TX queue has no mergeable buffers: there the bit says no offload, header unread. */
	cfg->tx_hdr_unread = !q->rx && cfg->mrg_rxbuf;
	cfg->notify_algo = (enum vhf_notify_algo)((flags >> FUZZ_Q_ALGO_SHIFT) %
						   (VHF_NOTIFY_ALGO_LAST + 1));
	/*
	 * The algorithm field's last value (which wraps round to the first
	 * algorithm) also negotiates VIRTIO_F_IN_ORDER: a packed TX queue then
	 * publishes each burst as one used descriptor.
	 */
	cfg->in_order = (flags >> FUZZ_Q_ALGO_SHIFT) == FUZZ_Q_ALGO_IN_ORDER;
	if (cfg->packed && size_sel >= 0xc0)
		cfg->size = (uint16_t)((size_sel & 0x3f) + 1);
	else
		cfg->size = sizes[size_sel % (sizeof(sizes) / sizeof(sizes[0]))];
	cfg->mem = &ctx->mem;

	q->area_len[0] = 16u * cfg->size;
	align[0] = 16;
	if (cfg->packed) {
		q->area_len[1] = q->area_len[2] = sizeof(struct vhf_vring_packed_event);
		align[1] = align[2] = 4;
	} else {
		q->area_len[1] = 4u + 2u * cfg->size + (cfg->event_idx ? 2u : 0u);
		q->area_len[2] = 4u + 8u * cfg->size + (cfg->event_idx ? 2u : 0u);
		align[1] = 2;
		align[2] = 4;
	}
	for (i = 0; i < 3; i++) {
		if (place & FUZZ_P_DEDICATED) {
			q->area[i] = fuzz_add_chunk(ctx, q->area_len[i], false);
		} else {
			const struct vhf_mem_region *reg =
				&ctx->regions[(place & FUZZ_P_REGION_MASK) % ctx->nregions];

			q->area[i] = fuzz_place(reg, off_raw[i], q->area_len[i], align[i],
						i == 0 && (place & FUZZ_P_AT_END));
			if (q->area[i] == NULL)
				return -1;
		}
	}
	q->rings_disjoint = !fuzz_overlap(q->area[0], q->area_len[0], q->area[1], q->area_len[1]) &&
			    !fuzz_overlap(q->area[0], q->area_len[0], q->area[2], q->area_len[2]) &&
			    !fuzz_overlap(q->area[1], q->area_len[1], q->area[2], q->area_len[2]);
	if (cfg->packed) {
		cfg->desc_packed = q->area[0];
		cfg->driver_event = q->area[1];
		cfg->device_event = q->area[2];
	} else {
		cfg->desc = q->area[0];
		cfg->avail = q->area[1];
		cfg->used = q->area[2];
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
	ret = vhf_vq_init(vq, cfg);
	FUZZ_CHECK((ret == 0) == expect_ok);
	if (ret != 0) {
		FUZZ_CHECK(ret == -EINVAL && vq->broken);
		return 0; /* this queue stays disabled */
	}
	/* The guest's side of the resume point (the image may overwrite it). */
	if (!cfg->packed) {
		cfg->avail->idx = cfg->last_avail;
		cfg->used->idx = cfg->last_used;
	}
	q->enabled = true;
	q->inflight = fuzz_inflight(vq);
	fuzz_guest_sync(q);
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

int
fuzz_setup(struct fuzz_ctx *ctx, const uint8_t *data, size_t size, struct vhf_vq *vq0,
	   struct vhf_vq *vq1)
{
	static bool env_read;

	if (!env_read) {
		fuzz_no_budget = getenv("FUZZ_NO_BUDGET") != NULL;
		env_read = true;
	}
	memset(ctx, 0, sizeof(*ctx));
	ctx->in.p = data;
	ctx->in.n = size;
	fuzz_cur = ctx;
	fuzz_stats.inputs++;
	if (fuzz_setup_mem(ctx) < 0 || fuzz_setup_queue(ctx, 0, vq0) < 0 ||
	    fuzz_setup_queue(ctx, 1, vq1) < 0)
		return -1;
	if (!ctx->q[0].enabled && !ctx->q[1].enabled)
		return -1;
	/* One queue's rings over the other's: what one device call writes, the other reads. */
	if (ctx->q[0].enabled && ctx->q[1].enabled) {
		unsigned int i, j;

		for (i = 0; i < 3; i++)
			for (j = 0; j < 3; j++)
				if (fuzz_overlap(ctx->q[0].area[i], ctx->q[0].area_len[i],
						 ctx->q[1].area[j], ctx->q[1].area_len[j]))
					ctx->q[0].rings_disjoint = ctx->q[1].rings_disjoint = false;
	}
	fuzz_stats.setup_ok++;
	fuzz_load_image(ctx);
	return 0;
}

void
fuzz_teardown(struct fuzz_ctx *ctx)
{
	unsigned int i;

	for (i = 0; i < ctx->nchunks; i++) {
		struct fuzz_chunk *c = &ctx->chunks[i];

		if (c->map_len != 0)
			munmap(c->base - FUZZ_PAGE, c->map_len);
		else
			free(c->base);
	}
	free(ctx->snap);
	free(ctx->snap_resident);
	ctx->nchunks = 0;
	fuzz_cur = NULL;
}

FUZZ_NO_COVERAGE bool
fuzz_in_region(const struct fuzz_ctx *ctx, const void *p, uint64_t len)
{
	uintptr_t a = (uintptr_t)p;
	uint32_t r;

	for (r = 0; r < ctx->nregions; r++) {
		uintptr_t base = (uintptr_t)ctx->regions[r].host_addr;

		if (a >= base && a - base <= ctx->regions[r].size &&
		    len <= ctx->regions[r].size - (a - base))
			return true;
	}
	return false;
}

FUZZ_NO_COVERAGE bool
fuzz_in_guest(const struct fuzz_ctx *ctx, const void *p, uint64_t len)
{
	uintptr_t a = (uintptr_t)p;
	unsigned int c;

	for (c = 0; c < ctx->nchunks; c++) {
		uintptr_t base = (uintptr_t)ctx->chunks[c].base;

		if (a >= base && a - base <= ctx->chunks[c].len &&
		    len <= ctx->chunks[c].len - (a - base))
			return true;
	}
	return false;
}

/* ---------------------------------------------------------------------------------------- */
/* A broken queue writes nothing                                                            */

/*
 * Guest memory before the call: heap chunks whole; of a sparse chunk, the
 * pages that are resident (any other page reads as zeros, and must still do
 * after the call). Returns false if that is too much to copy.
 */
static FUZZ_NO_COVERAGE bool
fuzz_snapshot(struct fuzz_ctx *ctx)
{
	size_t total = 0, npages = 0, off = 0, roff = 0;
	unsigned int c;

	for (c = 0; c < ctx->nchunks; c++) {
		const struct fuzz_chunk *ch = &ctx->chunks[c];

		if (ch->map_len == 0)
			total += ch->len;
		else
			npages += ch->len / FUZZ_PAGE;
	}
	if ((uint64_t)npages * FUZZ_PAGE > FUZZ_SNAP_SPARSE_MAX)
		return false;
	free(ctx->snap_resident);
	ctx->snap_resident = malloc(npages + 1);
	if (ctx->snap_resident == NULL)
		abort();
	for (c = 0; c < ctx->nchunks; c++) {
		const struct fuzz_chunk *ch = &ctx->chunks[c];
		size_t i, n = ch->len / FUZZ_PAGE;

		if (ch->map_len == 0)
			continue;
		if (mincore(ch->base, ch->len, ctx->snap_resident + roff) != 0)
			return false;
		for (i = 0; i < n; i++)
			if (ctx->snap_resident[roff + i] & 1)
				total += FUZZ_PAGE;
		roff += n;
	}
	if (total > FUZZ_SNAP_MAX)
		return false;
	free(ctx->snap);
	ctx->snap = malloc(total + 1);
	if (ctx->snap == NULL)
		abort();
	ctx->snap_len = total;
	roff = 0;
	for (c = 0; c < ctx->nchunks; c++) {
		const struct fuzz_chunk *ch = &ctx->chunks[c];
		size_t i, n = ch->len / FUZZ_PAGE;

		if (ch->map_len == 0) {
			memcpy(ctx->snap + off, ch->base, ch->len);
			off += ch->len;
			continue;
		}
		for (i = 0; i < n; i++) {
			if (ctx->snap_resident[roff + i] & 1) {
				memcpy(ctx->snap + off, ch->base + i * FUZZ_PAGE, FUZZ_PAGE);
				off += FUZZ_PAGE;
			}
		}
		roff += n;
	}
	return true;
}

static FUZZ_NO_COVERAGE bool
fuzz_snapshot_same(const struct fuzz_ctx *ctx)
{
	static const uint8_t zero[FUZZ_PAGE];
	size_t off = 0, roff = 0;
	unsigned char *now = NULL;
	bool same = true;
	unsigned int c;

	for (c = 0; c < ctx->nchunks && same; c++) {
		const struct fuzz_chunk *ch = &ctx->chunks[c];
		size_t i, n = ch->len / FUZZ_PAGE;

		if (ch->map_len == 0) {
			same = memcmp(ctx->snap + off, ch->base, ch->len) == 0;
			off += ch->len;
			continue;
		}
		free(now);
		now = malloc(n);
		if (now == NULL || mincore(ch->base, ch->len, now) != 0)
			abort();
		for (i = 0; i < n && same; i++) {
			const uint8_t *page = ch->base + i * FUZZ_PAGE;

			if (ctx->snap_resident[roff + i] & 1) {
				same = memcmp(ctx->snap + off, page, FUZZ_PAGE) == 0;
				off += FUZZ_PAGE;
			} else if (now[i] & 1) {
				same = memcmp(page, zero, FUZZ_PAGE) == 0;
			}
		}
		roff += n;
	}
	free(now);
	return same;
}

bool
fuzz_pre_call(struct fuzz_ctx *ctx, struct fuzz_queue *q)
{
	if (!q->vq->broken || q->vq->used_pending != 0 || q->broken_checks >= 4)
		return false;
	q->broken_checks++;
	return fuzz_snapshot(ctx);
}

void
fuzz_post_call(struct fuzz_ctx *ctx, bool snap)
{
	/* A broken queue is left alone: no guest memory is written. */
	if (snap)
		FUZZ_CHECK(fuzz_snapshot_same(ctx));
}

/* ---------------------------------------------------------------------------------------- */
/* Invariants of the queues                                                                 */

FUZZ_NO_COVERAGE void
fuzz_check_queue(struct fuzz_queue *q)
{
	const struct vhf_vq *vq = q->vq;

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

FUZZ_NO_COVERAGE void
fuzz_check_armed(struct fuzz_queue *q, int mark)
{
	struct vhf_vq *vq = q->vq;

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

void
fuzz_reinit(struct fuzz_queue *q)
{
	if (!q->enabled || q->vq->used_pending != 0)
		return;
	vhf_vq_get_base(q->vq, &q->cfg.last_avail, &q->cfg.last_used);
	FUZZ_CHECK(vhf_vq_init(q->vq, &q->cfg) == 0);
	FUZZ_CHECK(fuzz_inflight(q->vq) == q->inflight);
	q->tx_reads = 0; /* init gives the queue a whole budget */
	fuzz_stats.reinit++;
	q->was_broken = false;
	q->broken_checks = 0;
	q->g.used_seen = q->vq->last_used;
}

/* ---------------------------------------------------------------------------------------- */
/* The guest                                                                                */

/*
 * A guest physical address in region r. Narrow offsets wrap in the region;
 * wide ones with bit 31 set count back from its end (0: one past the end).
 */
static uint64_t
fuzz_gpa(const struct fuzz_ctx *ctx, uint8_t r, uint32_t off, bool wide)
{
	const struct vhf_mem_region *reg = &ctx->regions[r % ctx->nregions];

	if (wide && (off & 0x80000000u))
		return reg->guest_phys_addr + reg->size - (off & 0x7fffffffu) % (reg->size + 1);
	return reg->guest_phys_addr + off % reg->size;
}

static uint32_t
fuzz_off(struct fuzz_in *in, bool wide)
{
	return wide ? fuzz_u32(in) : fuzz_u16(in);
}

/*
 * Does a host range lie over a ring area of either queue? The device writing
 * packet data there changes what the guest sees of its used entries, and what
 * a queue with used entries staged will publish.
 */
static FUZZ_NO_COVERAGE bool
fuzz_over_rings(struct fuzz_ctx *ctx, const void *p, uint64_t len)
{
	bool over = false;
	unsigned int j, k;

	for (j = 0; j < 2; j++) {
		struct fuzz_queue *q = &ctx->q[j];

		for (k = 0; k < 3 && q->enabled; k++) {
			if (!fuzz_overlap(p, len, q->area[k], q->area_len[k]))
				continue;
			over = true;
			if (q->vq->used_pending != 0)
				q->g.pending_dirty = true;
		}
	}
	return over;
}

static void fuzz_note_chain(struct fuzz_ctx *ctx, const struct fuzz_queue *q, uint16_t pos,
			    bool wrap);

/*
 * Write an indirect table of cnt entries, repeating the n descriptors given,
 * at host offset off of region r, as much of it as fits.
 */
static FUZZ_NO_COVERAGE void
fuzz_write_table(struct fuzz_ctx *ctx, struct fuzz_queue *q, uint8_t r, uint64_t gpa,
		 const uint64_t *addr, const uint32_t *len, unsigned int n, uint32_t cnt,
		 uint16_t wflag, bool bad_next)
{
	const struct vhf_mem_region *reg = &ctx->regions[r % ctx->nregions];
	uint64_t o = gpa - reg->guest_phys_addr;
	uint32_t i;

	q->g.table = (uint8_t *)(uintptr_t)(reg->host_addr + o);
	for (i = 0; i < cnt && o <= reg->size && 16 * ((uint64_t)i + 1) <= reg->size - o; i++) {
		uint8_t *dst = (uint8_t *)(uintptr_t)(reg->host_addr + o + 16 * (uint64_t)i);
		bool last = i + 1 == cnt;

		if (q->cfg.packed) {
			struct vhf_vring_packed_desc d = {
				.addr = addr[i % n], .len = len[i % n], .id = 0,
				.flags = (uint16_t)(wflag |
						    (bad_next && last ? VHF_DESC_F_NEXT : 0)),
			};

			memcpy(dst, &d, sizeof(d));
		} else {
			struct vhf_vring_desc d = {
				.addr = addr[i % n], .len = len[i % n],
				.flags = (uint16_t)(wflag |
						    (!last || bad_next ? VHF_DESC_F_NEXT : 0)),
				.next = (uint16_t)(bad_next && last ? len[i % n] : i + 1),
			};

			memcpy(dst, &d, sizeof(d));
		}
	}
	q->g.table_n = i;
	/* Inside a call, a table written over the rings changes what the guest reads back. */
	if (ctx->call.active && fuzz_over_rings(ctx, q->g.table, 16 * (uint64_t)i))
		ctx->call.scribbled = true;
}

/*
 * Operands: u8 sel (FUZZ_PUB_*), u8 ndesc (1 + v % 8), ndesc x { u8 region,
 * offset, len }, with indirect { u8 region, offset }, with fill { u16 count }.
 * Offsets and lengths are u16, or u32 with FUZZ_PUB_WIDE.
 */
static FUZZ_NO_COVERAGE void
fuzz_publish(struct fuzz_ctx *ctx, struct fuzz_in *in, bool apply)
{
	uint8_t sel = fuzz_u8(in);
	unsigned int nd = 1 + fuzz_u8(in) % 8, i;
	struct fuzz_queue *q = &ctx->q[sel & FUZZ_PUB_QUEUE];
	bool indirect = sel & FUZZ_PUB_INDIRECT, publish = !(sel & FUZZ_PUB_HOLD);
	bool bad_next = sel & FUZZ_PUB_BAD_NEXT, wide = sel & FUZZ_PUB_WIDE;
	uint64_t addr[8], tgpa = 0;
	uint32_t len[8], cnt = nd, n;
	uint8_t treg = 0;
	uint16_t wflag;

	for (i = 0; i < nd; i++) {
		uint8_t r = fuzz_u8(in);
		uint32_t off = fuzz_off(in, wide);

		addr[i] = fuzz_gpa(ctx, r, off, wide);
		len[i] = wide ? fuzz_u32(in) : fuzz_u16(in);
	}
	if (indirect) {
		uint32_t toff;

		treg = fuzz_u8(in);
		toff = fuzz_off(in, wide);
		tgpa = fuzz_gpa(ctx, treg, toff, wide);
	}
	if (sel & FUZZ_PUB_FILL) {
		cnt = fuzz_u16(in);
		if (cnt == 0)
			cnt = 1;
	}
	if (!apply || !q->enabled)
		return;
	/*
	 * Descriptors rewritten while the device reads the ring: the chains it
	 * takes need not be the ones the reference walk saw when the call began
	 * (a chain the walk stopped at as refused may have become valid, and lie
	 * over the rings), so what its used entries add up to is the guest's doing.
	 */
	if (ctx->call.active && q->rx)
		ctx->call.scribbled = true;
	wflag = q->rx != !!(sel & FUZZ_PUB_WRONG_DIR) ? VHF_DESC_F_WRITE : 0;
	n = cnt < q->cfg.size ? cnt : q->cfg.size;
	if (indirect) {
		fuzz_write_table(ctx, q, treg, tgpa, addr, len, nd, cnt, wflag, bad_next);
		n = 1;
	}

	if (!q->cfg.packed) {
		struct vhf_vring_desc *desc = q->cfg.desc;
		struct vhf_vring_avail *avail = q->cfg.avail;
		uint16_t mask = (uint16_t)(q->cfg.size - 1);
		uint16_t head = q->g.next_head & mask;
		uint16_t idx;

		for (i = 0; i < n; i++) {
			uint16_t d = (uint16_t)(head + i) & mask;
			bool last = i + 1 == n;

			if (indirect) {
				desc[d] = (struct vhf_vring_desc){
					.addr = tgpa, .len = 16 * cnt,
					.flags = VHF_DESC_F_INDIRECT, .next = 0 };
				break;
			}
			desc[d] = (struct vhf_vring_desc){
				.addr = addr[i % nd], .len = len[i % nd],
				.flags = (uint16_t)(wflag | (!last || bad_next ?
							      VHF_DESC_F_NEXT : 0)),
				.next = bad_next && last ? (uint16_t)len[i % nd] :
							   (uint16_t)((d + 1) & mask) };
		}
		q->g.next_head = (uint16_t)(q->g.next_head + n);
		idx = avail->idx;
		avail->ring[idx & mask] = head;
		if (publish)
			__atomic_store_n(&avail->idx, (uint16_t)(idx + 1), __ATOMIC_RELEASE);
		fuzz_note_chain(ctx, q, head, false);
	} else {
		struct vhf_vring_packed_desc *desc = q->cfg.desc_packed;
		uint16_t first = q->g.pos, first_flags = 0;
		uint16_t id = q->g.next_id++;
		bool first_wrap = q->g.wrap;

		for (i = 0; i < n; i++) {
			uint16_t p = q->g.pos;
			uint16_t f = q->g.wrap ? VHF_DESC_F_AVAIL : VHF_DESC_F_USED;
			bool last = i + 1 == n;

			/* Over the used entry the device has staged but not published yet. */
			if (ctx->call.active && q->vq->used_pending != 0 &&
			    p == q->vq->pending_first)
				ctx->call.scribbled = true;
			if (indirect) {
				desc[p].addr = tgpa;
				desc[p].len = 16 * cnt;
				f |= VHF_DESC_F_INDIRECT;
			} else {
				desc[p].addr = addr[i % nd];
				desc[p].len = len[i % nd];
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
		fuzz_note_chain(ctx, q, first, first_wrap);
	}
}

/*
 * Operands: u8 sel (bit 0 queue, bits 1-3 field), u16 a, u16 b. A hostile
 * guest rewriting the words the device synchronises on.
 */
static void
fuzz_poke_field(struct fuzz_ctx *ctx, struct fuzz_in *in, bool apply)
{
	uint8_t sel = fuzz_u8(in);
	uint16_t a = fuzz_u16(in), b = fuzz_u16(in);
	struct fuzz_queue *q = &ctx->q[sel & 1];
	unsigned int field = (sel >> 1) & 7;
	uint16_t size = q->cfg.size;

	if (!apply || !q->enabled)
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

/*
 * Operands: u8 chunk (bit 7: wide), offset (u16, or u32 wide: bit 31 counts
 * back from the chunk's end), u8 len (1 + v % 16), len bytes.
 */
static void
fuzz_poke(struct fuzz_ctx *ctx, struct fuzz_in *in, bool apply)
{
	uint8_t sel = fuzz_u8(in);
	bool wide = sel & 0x80;
	const struct fuzz_chunk *c = &ctx->chunks[(sel & 0x7f) % ctx->nchunks];
	uint32_t raw = fuzz_off(in, wide);
	uint64_t off;
	unsigned int n = 1 + fuzz_u8(in) % 16, i;

	if (wide && (raw & 0x80000000u))
		off = c->len - 1 - (raw & 0x7fffffffu) % c->len;
	else
		off = raw % c->len;
	for (i = 0; i < n; i++) {
		uint8_t v = fuzz_u8(in);

		if (apply && off + i < c->len)
			c->base[off + i] = v;
	}
}

/*
 * Operands: u8 sel (bit 0 queue, bit 1: an entry of the last indirect table
 * written instead of a ring slot), u16 index, u8 region, u32 offset (wide),
 * u32 len, u16 flags, u16 next (split) or id (packed). The flags go last.
 */
static void
fuzz_desc(struct fuzz_ctx *ctx, struct fuzz_in *in, bool apply)
{
	uint8_t sel = fuzz_u8(in);
	uint16_t idx = fuzz_u16(in);
	uint8_t r = fuzz_u8(in);
	uint32_t off = fuzz_u32(in);
	uint32_t len = fuzz_u32(in);
	uint16_t flags = fuzz_u16(in), next = fuzz_u16(in);
	struct fuzz_queue *q = &ctx->q[sel & 1];
	uint64_t addr = fuzz_gpa(ctx, r, off, true);
	uint8_t *slot;

	if (!apply || !q->enabled)
		return;
	if (sel & 2) {
		if (q->g.table == NULL || q->g.table_n == 0)
			return;
		slot = q->g.table + 16 * (uint64_t)(idx % q->g.table_n);
	} else {
		slot = (uint8_t *)q->area[0] + 16 * (uint64_t)(idx % q->cfg.size);
	}
	/* A table may sit at any address: bytes, flags last (the device runs on this thread). */
	if (q->cfg.packed) {
		struct vhf_vring_packed_desc d = { .addr = addr, .len = len, .id = next };

		memcpy(slot, &d, offsetof(struct vhf_vring_packed_desc, flags));
		memcpy(slot + offsetof(struct vhf_vring_packed_desc, flags), &flags, sizeof(flags));
	} else {
		struct vhf_vring_desc d = { .addr = addr, .len = len, .next = next };

		memcpy(slot, &d, sizeof(d));
		memcpy(slot + offsetof(struct vhf_vring_desc, flags), &flags, sizeof(flags));
	}
}

/*
 * The guest is about to write its memory: a used entry the device staged and
 * has not published yet may be written over (the device publishes it later, as
 * the guest left it).
 */
static void
fuzz_guest_writes(struct fuzz_ctx *ctx)
{
	unsigned int i;

	for (i = 0; i < 2; i++)
		if (ctx->q[i].enabled && ctx->q[i].vq->used_pending != 0)
			ctx->q[i].g.pending_dirty = true;
}

/* One guest action: u8 kind (enum fuzz_act), then its operands. */
static void
fuzz_act(struct fuzz_ctx *ctx, struct fuzz_in *in, bool apply)
{
	if (apply)
		fuzz_guest_writes(ctx);
	switch (fuzz_u8(in) % FUZZ_ACT_MAX) {
	case FUZZ_ACT_PUBLISH:
		fuzz_publish(ctx, in, apply);
		break;
	case FUZZ_ACT_POKE:
		ctx->call.scribbled |= apply && ctx->call.active;
		fuzz_poke(ctx, in, apply);
		break;
	case FUZZ_ACT_POKE_FIELD:
		ctx->call.scribbled |= apply && ctx->call.active;
		fuzz_poke_field(ctx, in, apply);
		break;
	default:
		ctx->call.scribbled |= apply && ctx->call.active;
		fuzz_desc(ctx, in, apply);
		break;
	}
}

/*
 * Operands: u8 slot, u16 first, u8 period, u8 times, then an action. Inside
 * the next device call the action runs right before the device's read number
 * first + 1 (reads: descriptor copies and synchronising loads), then every
 * period reads (0: once), times times in all (0: until the call ends).
 */
static void
fuzz_during(struct fuzz_ctx *ctx)
{
	struct fuzz_in *in = &ctx->in;
	struct fuzz_during *d = &ctx->during[fuzz_u8(in) % FUZZ_DURING_SLOTS];
	uint16_t first = fuzz_u16(in);
	uint8_t period = fuzz_u8(in), times = fuzz_u8(in);

	d->at = in->off;
	fuzz_act(ctx, in, false);
	d->armed = true;
	d->next = (uint64_t)first + 1;
	d->period = period;
	d->left = times == 0 ? UINT32_MAX : times;
}

unsigned int
fuzz_rx_pkts(struct fuzz_in *in, uint32_t *len, uint8_t *shape)
{
	unsigned int np = 1 + fuzz_u8(in) % FUZZ_MAX_PKTS, i;

	for (i = 0; i < np; i++) {
		len[i] = fuzz_u16(in);
		shape[i] = fuzz_u8(in);
		if (!(shape[i] & FUZZ_SHAPE_LEN16))
			len[i] &= 0x3fff;
		if (shape[i] & FUZZ_SHAPE_PAST64K)
			len[i] += 0x10000;
	}
	return np;
}

void
fuzz_run_ops(struct fuzz_ctx *ctx, fuzz_device_op_t *device_op)
{
	static int trace = -1;
	unsigned int ops;

	if (trace < 0)
		trace = getenv("FUZZ_VQ_TRACE") != NULL;
	for (ops = 0; ops < FUZZ_MAX_OPS && ctx->in.off < ctx->in.n; ops++) {
		size_t at = ctx->in.off;
		unsigned int op = fuzz_u8(&ctx->in) % FUZZ_OP_MAX;

		if (!fuzz_guest_op(ctx, op))
			device_op(ctx, op);
		if (trace)
			fuzz_trace_op(ctx, op, at);
		fuzz_stats.ops++;
		fuzz_check_queue(&ctx->q[0]);
		fuzz_check_queue(&ctx->q[1]);
	}
}

bool
fuzz_guest_op(struct fuzz_ctx *ctx, unsigned int op)
{
	if (op != FUZZ_OP_DURING)
		fuzz_guest_writes(ctx);
	switch (op) {
	case FUZZ_OP_PUBLISH:
		fuzz_publish(ctx, &ctx->in, true);
		return true;
	case FUZZ_OP_POKE:
		fuzz_poke(ctx, &ctx->in, true);
		return true;
	case FUZZ_OP_POKE_FIELD:
		fuzz_poke_field(ctx, &ctx->in, true);
		return true;
	case FUZZ_OP_DURING:
		fuzz_during(ctx);
		return true;
	case FUZZ_OP_DESC:
		fuzz_desc(ctx, &ctx->in, true);
		return true;
	default:
		return false;
	}
}

/* ---------------------------------------------------------------------------------------- */
/* Device calls and the hooks                                                               */

void
fuzz_call_begin(struct fuzz_ctx *ctx, struct fuzz_queue *q, const char *what)
{
	unsigned int i;

	for (i = 0; i < 2; i++)
		if (ctx->q[i].enabled && ctx->q[i].vq->used_pending == 0)
			ctx->q[i].g.pending_dirty = false;
	memset(&ctx->call, 0, sizeof(ctx->call));
	ctx->call.active = true;
	ctx->call.q = q;
	ctx->call.what = what;
	ctx->call.budget = FUZZ_DESC_BUDGET(1);
	ctx->call.exhausted = q->vq->cnt[VHF_VQ_CNT_budget_exhausted];
}

void
fuzz_call_budget(struct fuzz_ctx *ctx, const char *what, uint32_t budget)
{
	ctx->call.what = what;
	ctx->call.budget = budget;
	ctx->call.desc_reads = 0;
	ctx->call.table_reads = 0;
}

void
fuzz_call_end(struct fuzz_ctx *ctx)
{
	unsigned int i;

	ctx->call.active = false;
	fuzz_stats.fired += ctx->call.fired;
	for (i = 0; i < FUZZ_DURING_SLOTS; i++)
		ctx->during[i].armed = false;
}

/* The device is about to read guest memory: the guest's armed actions due now run first. */
static FUZZ_NO_COVERAGE void
fuzz_read_event(struct fuzz_ctx *ctx)
{
	uint64_t now = ++ctx->call.reads;
	unsigned int i;

	for (i = 0; i < FUZZ_DURING_SLOTS; i++) {
		struct fuzz_during *d = &ctx->during[i];
		struct fuzz_in sub = { .p = ctx->in.p, .n = ctx->in.n, .off = d->at };

		if (!d->armed || d->next != now)
			continue;
		if (ctx->call.fired >= FUZZ_MAX_FIRINGS) {
			d->armed = false;
			continue;
		}
		ctx->call.fired++;
		if (--d->left == 0 || d->period == 0)
			d->armed = false;
		else
			d->next = now + d->period;
		fuzz_act(ctx, &sub, true);
	}
}

FUZZ_NO_COVERAGE void
vhf_shm_hook_read_desc(void *dst, const void *src, size_t len)
{
	struct fuzz_ctx *ctx = fuzz_cur;

	/* Descriptors come from guest memory only: a ring slot or an indirect table. */
	if (ctx == NULL || !fuzz_in_guest(ctx, src, len))
		fuzz_fail(__FILE__, __LINE__, "descriptor read outside guest memory");
	if (ctx->call.active) {
		if (++ctx->call.desc_reads > fuzz_stats.max_desc_reads)
			fuzz_stats.max_desc_reads = ctx->call.desc_reads;
		if (!fuzz_overlap(src, len, ctx->call.q->area[0], ctx->call.q->area_len[0]))
			ctx->call.table_reads++;
		/*
		 * lib's budget binds every notify algorithm, the consumed-index one
		 * (whose rechecks re-walk) included.
		 */
		if (ctx->call.desc_reads > ctx->call.budget && !fuzz_no_budget) {
			fprintf(stderr, "fuzz: %s read more than %u descriptors (ring size %u): %u "
				"indirect entries, %u ring slots; %llu reads in all, the guest acted "
				"%u times\n", ctx->call.what, ctx->call.budget, ctx->call.q->cfg.size,
				ctx->call.table_reads, ctx->call.desc_reads - ctx->call.table_reads,
				(unsigned long long)ctx->call.reads, ctx->call.fired);
			fuzz_fail(__FILE__, __LINE__, "desc_reads <= FUZZ_DESC_BUDGET");
		}
		fuzz_read_event(ctx);
	}
	memcpy(dst, src, len);
}

FUZZ_NO_COVERAGE uint16_t
vhf_shm_hook_load16(const uint16_t *addr, int memorder)
{
	struct fuzz_ctx *ctx = fuzz_cur;

	if (ctx == NULL || !fuzz_in_guest(ctx, addr, sizeof(*addr)))
		fuzz_fail(__FILE__, __LINE__, "synchronising load outside guest memory");
	if (ctx->call.active)
		fuzz_read_event(ctx);
	(void)memorder;
	return __atomic_load_n(addr, __ATOMIC_SEQ_CST);
}

/*
 * A used entry becomes the guest's: what it says is what the guest sees. The
 * guest may have scribbled over it (ctx->call.scribbled), else its length is
 * what the device delivered into the buffer (RX) or zero (TX).
 */
static FUZZ_NO_COVERAGE void
fuzz_used_seen(struct fuzz_ctx *ctx, struct fuzz_queue *q, uint32_t id, uint32_t len)
{
	bool sound = !ctx->call.scribbled && !q->g.pending_dirty && q->rings_disjoint;

	if (!ctx->call.active)
		return;
	if (q->rx) {
		/* Checked at the end of the call, if no RX buffer lies over the used ring. */
		ctx->call.used_bytes += len;
		ctx->call.used_entries++;
		ctx->call.used_bad_id |= !q->cfg.packed && id >= q->cfg.size;
	} else if (sound) {
		FUZZ_CHECK(len == 0);
		FUZZ_CHECK(q->cfg.packed || id < q->cfg.size);
	}
}

FUZZ_NO_COVERAGE void
vhf_shm_hook_store16(uint16_t *addr, uint16_t val, int memorder)
{
	struct fuzz_ctx *ctx = fuzz_cur;
	unsigned int i;

	if (ctx == NULL || !fuzz_in_guest(ctx, addr, sizeof(*addr)))
		fuzz_fail(__FILE__, __LINE__, "synchronising store outside guest memory");
	for (i = 0; i < 2; i++) {
		struct fuzz_queue *q = &ctx->q[i];

		/* Inside a call, only its queue publishes (the two may share memory). */
		if (!q->enabled || (ctx->call.active && ctx->call.q != q))
			continue;
		if (!q->cfg.packed && addr == &q->cfg.used->idx) {
			uint16_t n = (uint16_t)(val - q->g.used_seen), k;

			/*
			 * More than a ring at once: the guest published buffers it had not
			 * got back, and the device wrote over used entries it had not read.
			 * Its own loss: what it sees adds up to nothing checkable.
			 */
			if (n > q->cfg.size) {
				n = 0;
				ctx->call.scribbled = true;
			}
			for (k = 0; k < n; k++) {
				const struct vhf_vring_used_elem *e =
					&q->cfg.used->ring[(uint16_t)(q->g.used_seen + k) &
							   (q->cfg.size - 1)];

				fuzz_used_seen(ctx, q, e->id, e->len);
			}
			q->g.used_seen = val;
		} else if (q->cfg.packed && fuzz_overlap(addr, 2, q->area[0], q->area_len[0]) &&
			   ((uintptr_t)addr - (uintptr_t)q->area[0]) % 16 ==
				   offsetof(struct vhf_vring_packed_desc, flags)) {
			const struct vhf_vring_packed_desc *d = (const void *)(addr - 7);
			size_t slot = (size_t)(d - q->cfg.desc_packed);
			uint64_t bit = UINT64_C(1) << (slot % 64);

			/* The device only ever writes flags that mark the slot used. */
			FUZZ_CHECK(!!(val & VHF_DESC_F_AVAIL) == !!(val & VHF_DESC_F_USED));
			/*
			 * A slot used twice in one call: the guest published slots it had
			 * not got back, and one used entry went over another.
			 */
			if (ctx->call.used_slots[slot / 64] & bit)
				ctx->call.scribbled = true;
			ctx->call.used_slots[slot / 64] |= bit;
			fuzz_used_seen(ctx, q, d->id, d->len);
		}
	}
	(void)memorder;
	__atomic_store_n(addr, val, __ATOMIC_SEQ_CST);
}

FUZZ_NO_COVERAGE void
vhf_shm_hook_fence(void)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/* ---------------------------------------------------------------------------------------- */
/* What the guest published, walked by the harness                                          */

/*
 * The guest RX queue's published chains from the device's cursor, walked the
 * way the spec reads them, with sums in 64 bits. Nothing here goes through the
 * hooks.
 */
struct fuzz_ref {
	bool ok;        /* every chain is one the device accepts */
	bool clean;     /* no buffer lies over a ring area or an indirect table */
	uint64_t bytes; /* what the chains add up to */
	uint32_t slots;
	uint32_t ndesc;
	unsigned int npieces, ntables;
	struct vhf_iov pieces[FUZZ_REF_MAX_PIECES];
	struct vhf_iov tables[FUZZ_REF_MAX_TABLES];
};

/* One buffer descriptor of an RX chain; false if the device would refuse it. */
static FUZZ_NO_COVERAGE bool
fuzz_ref_buf(struct fuzz_ctx *ctx, struct fuzz_ref *ref, uint64_t addr, uint32_t len,
	     uint16_t flags, uint64_t *chain_len, uint32_t *hint)
{
	struct vhf_iov iov[FUZZ_NREGIONS_MAX];
	uint16_t n = 0, i;

	if (!(flags & VHF_DESC_F_WRITE) || ++ref->ndesc > FUZZ_REF_MAX_DESC)
		return false;
	*chain_len += len;
	if (*chain_len > UINT32_MAX)
		return false;
	if (len == 0)
		return true;
	if (vhf_mem_map(&ctx->mem, addr, len, iov, &n, FUZZ_NREGIONS_MAX, hint) != 0)
		return false;
	for (i = 0; i < n; i++) {
		if (ref->npieces == FUZZ_REF_MAX_PIECES) {
			ref->clean = false;
			break;
		}
		ref->pieces[ref->npieces++] = iov[i];
	}
	return true;
}

static FUZZ_NO_COVERAGE const void *
fuzz_ref_table(struct fuzz_ctx *ctx, struct fuzz_ref *ref, uint64_t addr, uint32_t len,
	       uint32_t *nent, uint32_t *hint)
{
	const void *t;

	if (!ctx->q[0].cfg.indirect || len == 0 || len % 16 != 0 || len / 16 > ctx->q[0].cfg.size)
		return NULL;
	t = vhf_mem_map_contig(&ctx->mem, addr, len, hint);
	if (t == NULL)
		return NULL;
	if (ref->ntables == FUZZ_REF_MAX_TABLES)
		ref->clean = false;
	else
		ref->tables[ref->ntables++] = (struct vhf_iov){ .base = (void *)(uintptr_t)t,
								.len = len };
	*nent = len / 16;
	return t;
}

static FUZZ_NO_COVERAGE bool
fuzz_ref_split_chain(struct fuzz_ctx *ctx, struct fuzz_ref *ref, uint16_t head)
{
	const struct vhf_vq_config *cfg = &ctx->q[0].cfg;
	const struct vhf_vring_desc *table = cfg->desc;
	uint32_t size = cfg->size, seen = 0, hint = 0;
	uint64_t chain_len = 0;
	bool in_indirect = false;
	uint32_t idx = head;

	if (idx >= size)
		return false;
	for (;;) {
		struct vhf_vring_desc d;

		if (++seen > size || ++ref->ndesc > FUZZ_REF_MAX_DESC)
			return false;
		memcpy(&d, &table[idx], sizeof(d));
		if (d.flags & VHF_DESC_F_INDIRECT) {
			if (in_indirect || (d.flags & VHF_DESC_F_NEXT))
				return false;
			table = fuzz_ref_table(ctx, ref, d.addr, d.len, &size, &hint);
			if (table == NULL)
				return false;
			in_indirect = true;
			seen = 0;
			idx = 0;
			continue;
		}
		if (!fuzz_ref_buf(ctx, ref, d.addr, d.len, d.flags, &chain_len, &hint))
			return false;
		if (!(d.flags & VHF_DESC_F_NEXT))
			break;
		idx = d.next;
		if (idx >= size)
			return false;
	}
	ref->bytes += chain_len;
	ref->slots++;
	return true;
}

static FUZZ_NO_COVERAGE bool
fuzz_ref_packed_chain(struct fuzz_ctx *ctx, struct fuzz_ref *ref, uint16_t *pos, bool *wrap)
{
	const struct vhf_vq_config *cfg = &ctx->q[0].cfg;
	uint32_t seen = 0, hint = 0;
	uint64_t chain_len = 0;

	for (;;) {
		struct vhf_vring_packed_desc d;

		if (++seen > cfg->size || ++ref->ndesc > FUZZ_REF_MAX_DESC)
			return false;
		memcpy(&d, &cfg->desc_packed[*pos], sizeof(d));
		ref->slots++;
		if (++*pos == cfg->size) {
			*pos = 0;
			*wrap = !*wrap;
		}
		if (d.flags & VHF_DESC_F_INDIRECT) {
			const struct vhf_vring_packed_desc *t;
			uint32_t nent, i;

			if (seen != 1 || (d.flags & VHF_DESC_F_NEXT))
				return false;
			t = fuzz_ref_table(ctx, ref, d.addr, d.len, &nent, &hint);
			if (t == NULL)
				return false;
			for (i = 0; i < nent; i++) {
				struct vhf_vring_packed_desc e;

				memcpy(&e, &t[i], sizeof(e));
				if (!fuzz_ref_buf(ctx, ref, e.addr, e.len, e.flags, &chain_len,
						  &hint))
					return false;
			}
			break;
		}
		if (!fuzz_ref_buf(ctx, ref, d.addr, d.len, d.flags, &chain_len, &hint))
			return false;
		if (!(d.flags & VHF_DESC_F_NEXT))
			break;
	}
	ref->bytes += chain_len;
	return true;
}

static FUZZ_NO_COVERAGE void
fuzz_ref_walk(struct fuzz_ctx *ctx, struct fuzz_ref *ref)
{
	struct fuzz_queue *q = &ctx->q[0];
	const struct vhf_vq *vq = q->vq;
	unsigned int i, j;

	memset(ref, 0, offsetof(struct fuzz_ref, pieces));
	ref->ok = true;
	ref->clean = true;
	if (!vq->packed) {
		/*
		 * The device takes entries up to its shadow of avail->idx, then reads
		 * the index again and accepts it if it is at most a ring ahead of what
		 * it has consumed by then: it may go up to a ring past the shadow.
		 */
		uint16_t n = (uint16_t)(q->cfg.avail->idx - vq->last_avail);
		uint16_t shadow = (uint16_t)(vq->shadow_avail - vq->last_avail);

		if (shadow > vq->size) {
			ref->ok = false;
			return;
		}
		if (n < shadow || n > shadow + vq->size)
			n = shadow;
		for (i = 0; i < n && ref->ok; i++)
			ref->ok = fuzz_ref_split_chain(
				ctx, ref, q->cfg.avail->ring[(uint16_t)(vq->last_avail + i) & vq->mask]);
	} else {
		uint16_t pos = vq->last_avail;
		bool wrap = vq->avail_wrap;

		while (ref->ok && ref->slots < vq->size &&
		       vhf_packed_desc_is_avail(q->cfg.desc_packed[pos].flags, wrap))
			ref->ok = fuzz_ref_packed_chain(ctx, ref, &pos, &wrap);
	}
	/*
	 * Buffers the device writes must not be where it reads its rings and
	 * tables. A walk that stopped on a chain the device refuses has seen every
	 * buffer delivered into before the device breaks the queue there.
	 */
	if (ref->ndesc > FUZZ_REF_MAX_DESC)
		ref->clean = false;
	for (i = 0; i < ref->npieces; i++) {
		const struct vhf_iov *p = &ref->pieces[i];

		if (fuzz_over_rings(ctx, p->base, p->len))
			ref->clean = false;
		for (j = 0; j < ref->ntables; j++)
			if (fuzz_overlap(p->base, p->len, ref->tables[j].base, ref->tables[j].len))
				ref->clean = false;
	}
}

/* Large (pieces, tables): one per process, the calls are not re-entered. */
static struct fuzz_ref fuzz_ref_scratch;
static struct fuzz_ref fuzz_ref_chain;

/*
 * The guest, acting inside a call, published an RX chain at pos (split: its
 * head): if the device will write over a ring there (its own used entries
 * among them), what the guest reads back is its own doing.
 */
static FUZZ_NO_COVERAGE void
fuzz_note_chain(struct fuzz_ctx *ctx, const struct fuzz_queue *q, uint16_t pos, bool wrap)
{
	struct fuzz_ref *ref = &fuzz_ref_chain;
	unsigned int i;

	if (!ctx->call.active || !q->rx)
		return;
	memset(ref, 0, offsetof(struct fuzz_ref, pieces));
	ref->clean = true;
	/* Pieces found before a descriptor the device refuses are written all the same. */
	if (q->cfg.packed)
		(void)fuzz_ref_packed_chain(ctx, ref, &pos, &wrap);
	else
		(void)fuzz_ref_split_chain(ctx, ref, pos);
	if (!ref->clean)
		ctx->call.scribbled = true;
	for (i = 0; i < ref->npieces; i++)
		if (fuzz_over_rings(ctx, ref->pieces[i].base, ref->pieces[i].len))
			ctx->call.scribbled = true;
}

FUZZ_NO_COVERAGE void
fuzz_rx_acct_begin(struct fuzz_ctx *ctx, struct fuzz_rx_acct *a)
{
	struct fuzz_ref *ref = &fuzz_ref_scratch;
	const struct vhf_vq *vq = ctx->q[0].vq;

	a->packets = vq->cnt[VHF_VQ_CNT_packets];
	a->bytes = vq->cnt[VHF_VQ_CNT_bytes];
	fuzz_ref_walk(ctx, ref);
	a->clean = ref->clean;
	/*
	 * Packed: the used entries go to the slots behind the ones taken, as far
	 * behind as the buffers in flight. With more in flight than the ring holds
	 * less what is taken (resume indexes that say so, a guest publishing during
	 * the call), they land on slots the device has yet to read, and it reads
	 * them back as descriptors: the guest's own doing, nothing to add up.
	 */
	if (vq->packed && ctx->q[0].inflight + ref->slots > vq->size)
		a->clean = false;
	a->packed = vq->packed;
}

FUZZ_NO_COVERAGE void
fuzz_rx_acct_end(struct fuzz_ctx *ctx, const struct fuzz_rx_acct *a)
{
	const struct fuzz_queue *q = &ctx->q[0];
	const struct vhf_vq *vq = q->vq;
	uint64_t packets = vq->cnt[VHF_VQ_CNT_packets] - a->packets;
	uint64_t bytes = vq->cnt[VHF_VQ_CNT_bytes] - a->bytes;

	if (!q->enabled || !q->rings_disjoint || !a->clean || ctx->call.scribbled ||
	    (a->packed && ctx->call.fired != 0))
		return;
	fuzz_stats.used_checked++;
	if (ctx->call.used_bytes != bytes + packets * vq->net_hdr_len)
		fprintf(stderr, "fuzz: %llu packets of %llu bytes delivered, %u used entries of "
			"%llu bytes\n", (unsigned long long)packets, (unsigned long long)bytes,
			ctx->call.used_entries, (unsigned long long)ctx->call.used_bytes);
	/* Every byte delivered, and its packet's header, is in exactly one used entry. */
	FUZZ_CHECK(ctx->call.used_bytes == bytes + packets * vq->net_hdr_len);
	FUZZ_CHECK(packets <= ctx->call.used_entries);
	FUZZ_CHECK(!ctx->call.used_bad_id);
}

FUZZ_NO_COVERAGE void
fuzz_check_short(struct fuzz_ctx *ctx, uint64_t need)
{
	struct fuzz_ref *ref = &fuzz_ref_scratch;
	const struct fuzz_queue *q = &ctx->q[0];
	const struct vhf_vq *vq = q->vq;

	if (vq->broken || ctx->call.fired != 0 || !q->rings_disjoint)
		return;
	/* Stopped on its descriptor budget: it said "poll again", not "short". */
	if (vq->cnt[VHF_VQ_CNT_budget_exhausted] != ctx->call.exhausted)
		return;
	/* Split: short means the device read avail->idx and took everything up to it. */
	if (!vq->packed && q->cfg.avail->idx != vq->shadow_avail)
		return;
	fuzz_ref_walk(ctx, ref);
	if (!ref->ok || !ref->clean)
		return;
	/* Packed: the used entries of this call were written where nothing is published. */
	if (vq->packed && q->inflight + ref->slots > vq->size)
		return;
	fuzz_stats.short_checked++;
	if (ref->bytes >= need)
		fprintf(stderr, "fuzz: the guest published %llu bytes in %u chains, the device "
			"found them short of %llu\n", (unsigned long long)ref->bytes, ref->slots,
			(unsigned long long)need);
	FUZZ_CHECK(ref->bytes < need);
}

/* ---------------------------------------------------------------------------------------- */
/* Reporting                                                                                */

void
fuzz_trace_op(const struct fuzz_ctx *ctx, unsigned int op, size_t at)
{
	static const char *const names[FUZZ_OP_MAX] = {
		"publish", "rx_burst", "tx_burst", "has_room", "avail_space", "arm_kick", "poke",
		"poke_field", "reinit", "tx_next", "during", "desc",
	};
	unsigned int i;

	fprintf(stderr, "op @%zu %s:", at, names[op]);
	for (i = 0; i < 2; i++) {
		const struct fuzz_queue *q = &ctx->q[i];
		const struct vhf_vq *vq = q->vq;

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
	if (ctx->call.fired)
		fprintf(stderr, " (guest acted %u times inside)", ctx->call.fired);
	fprintf(stderr, "\n");
}

void
fuzz_print_stats(FILE *f)
{
	unsigned int i;

	fprintf(f, "# inputs %lu, set up %lu (sparse regions %lu), ops %lu, rx packets %lu, "
		"rx wait-kick %lu, tx packets %lu, armed %lu, reinit %lu\n", fuzz_stats.inputs,
		fuzz_stats.setup_ok, fuzz_stats.big_regions, fuzz_stats.ops, fuzz_stats.rx_pkts,
		fuzz_stats.rx_wait, fuzz_stats.tx_pkts, fuzz_stats.armed, fuzz_stats.reinit);
	fprintf(f, "# guest actions inside calls %lu, used sums checked %lu, short checked %lu, "
		"most descriptors one call read %u\n", fuzz_stats.fired, fuzz_stats.used_checked,
		fuzz_stats.short_checked, fuzz_stats.max_desc_reads);
	if (fuzz_stats.pmd_rx_mbufs || fuzz_stats.pmd_fwd)
		fprintf(f, "# pmd: mbufs from the guest %lu, forwarded %lu, frames over 64 KiB %lu\n",
			fuzz_stats.pmd_rx_mbufs, fuzz_stats.pmd_fwd, fuzz_stats.pmd_too_big);
	fprintf(f, "# queues broken by:");
	for (i = 0; i < VHF_VQ_CNT_MAX; i++)
		if (fuzz_stats.broken[i] != 0)
			fprintf(f, " %s %lu", vhf_vq_counter_names[i], fuzz_stats.broken[i]);
	fprintf(f, "\n");
}
