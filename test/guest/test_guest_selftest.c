/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 dpdk-vhostfix authors
 */

/*
 * Self-test of the guest model on its own: a hand-written device, written
 * here from the specification and independent of lib/, takes what the model
 * publishes and returns used entries. Prints TAP.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vhf_guest.h"

static int failures; /* failed checks in the current test */

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			printf("#   %s:%d: failed: %s\n", __FILE__, __LINE__, #cond);              \
			failures++;                                                                \
		}                                                                                  \
	} while (0)

/* ---- the hand-made device ---- */

#define DEV_MAX_DESCS 64

struct dev_buf {
	uint16_t id;    /* split head / packed buffer id */
	uint16_t ndesc; /* ring slots (packed) */
	uint16_t n;
	uint64_t addr[DEV_MAX_DESCS];
	uint32_t len[DEV_MAX_DESCS];
	uint16_t flags[DEV_MAX_DESCS];
};

struct dev {
	struct vhf_guest *g;
	struct vhf_vq_config cfg;
	uint16_t last_avail; /* split: free-running; packed: position */
	bool avail_wrap;
	uint16_t used_idx;
	bool used_wrap;
};

static void
dev_init(struct dev *d, struct vhf_guest *g)
{
	memset(d, 0, sizeof(*d));
	d->g = g;
	vhf_guest_vq_config(g, &d->cfg);
	if (d->cfg.packed) {
		d->last_avail = d->cfg.last_avail & 0x7fff;
		d->avail_wrap = d->cfg.last_avail >> 15;
		d->used_idx = d->cfg.last_used & 0x7fff;
		d->used_wrap = d->cfg.last_used >> 15;
	} else {
		d->last_avail = d->cfg.last_avail;
		d->used_idx = d->cfg.last_used;
	}
}

/* Descriptors of an indirect table, appended to b. */
static void
dev_indirect(struct dev *d, uint64_t table, uint32_t len, struct dev_buf *b)
{
	uint16_t i, n = (uint16_t)(len / 16);

	if (d->cfg.packed) {
		struct vhf_vring_packed_desc *t = vhf_guest_gpa_to_host(d->g, table, len);

		for (i = 0; i < n && b->n < DEV_MAX_DESCS; i++, b->n++) {
			b->addr[b->n] = t[i].addr;
			b->len[b->n] = t[i].len;
			b->flags[b->n] = t[i].flags;
		}
	} else {
		struct vhf_vring_desc *t = vhf_guest_gpa_to_host(d->g, table, len);

		for (i = 0; b->n < DEV_MAX_DESCS; b->n++) {
			b->addr[b->n] = t[i].addr;
			b->len[b->n] = t[i].len;
			b->flags[b->n] = t[i].flags;
			if (!(t[i].flags & VHF_DESC_F_NEXT))
				break;
			i = t[i].next;
		}
		b->n++;
	}
}

/* Take the next available buffer; false if none. */
static bool
dev_take(struct dev *d, struct dev_buf *b)
{
	memset(b, 0, sizeof(*b));
	if (!d->cfg.packed) {
		struct vhf_vring_avail *avail = d->cfg.avail;
		uint16_t i;

		if (__atomic_load_n(&avail->idx, __ATOMIC_ACQUIRE) == d->last_avail)
			return false;
		i = avail->ring[d->last_avail++ & (d->cfg.size - 1)];
		b->id = i;
		b->ndesc = 1;
		for (;;) {
			struct vhf_vring_desc *desc = &d->cfg.desc[i];

			if (desc->flags & VHF_DESC_F_INDIRECT) {
				dev_indirect(d, desc->addr, desc->len, b);
				return true;
			}
			b->addr[b->n] = desc->addr;
			b->len[b->n] = desc->len;
			b->flags[b->n++] = desc->flags;
			if (!(desc->flags & VHF_DESC_F_NEXT))
				return true;
			i = desc->next;
		}
	} else {
		struct vhf_vring_packed_desc *ring = d->cfg.desc_packed;
		uint16_t f = __atomic_load_n(&ring[d->last_avail].flags, __ATOMIC_ACQUIRE);

		if (!!(f & VHF_DESC_F_AVAIL) != d->avail_wrap ||
		    !!(f & VHF_DESC_F_USED) == d->avail_wrap)
			return false;
		for (;;) {
			struct vhf_vring_packed_desc *desc = &ring[d->last_avail];

			f = __atomic_load_n(&desc->flags, __ATOMIC_ACQUIRE);
			b->id = desc->id;
			b->ndesc++;
			if (f & VHF_DESC_F_INDIRECT) {
				dev_indirect(d, desc->addr, desc->len, b);
			} else {
				b->addr[b->n] = desc->addr;
				b->len[b->n] = desc->len;
				b->flags[b->n++] = f;
			}
			if (++d->last_avail == d->cfg.size) {
				d->last_avail = 0;
				d->avail_wrap = !d->avail_wrap;
			}
			if (!(f & VHF_DESC_F_NEXT))
				return true;
		}
	}
}

/* Return n buffers used, lens[i] bytes written to each; published as one batch. */
static void
dev_used(struct dev *d, const struct dev_buf *bufs, const uint32_t *lens, unsigned int n)
{
	unsigned int i;

	if (!d->cfg.packed) {
		for (i = 0; i < n; i++) {
			struct vhf_vring_used_elem *e =
				&d->cfg.used->ring[(d->used_idx + i) & (d->cfg.size - 1)];

			e->id = bufs[i].id;
			e->len = lens[i];
		}
		d->used_idx = (uint16_t)(d->used_idx + n);
		__atomic_store_n(&d->cfg.used->idx, d->used_idx, __ATOMIC_RELEASE);
	} else {
		uint16_t *first = NULL, first_flags = 0;

		for (i = 0; i < n; i++) {
			struct vhf_vring_packed_desc *desc = &d->cfg.desc_packed[d->used_idx];
			uint16_t f = d->used_wrap ? VHF_DESC_F_AVAIL | VHF_DESC_F_USED : 0;

			desc->id = bufs[i].id;
			desc->len = lens[i];
			if (i == 0) {
				first = &desc->flags;
				first_flags = f;
			} else {
				__atomic_store_n(&desc->flags, f, __ATOMIC_RELAXED);
			}
			d->used_idx = (uint16_t)(d->used_idx + bufs[i].ndesc);
			if (d->used_idx >= d->cfg.size) {
				d->used_idx = (uint16_t)(d->used_idx - d->cfg.size);
				d->used_wrap = !d->used_wrap;
			}
		}
		if (first != NULL)
			__atomic_store_n(first, first_flags, __ATOMIC_RELEASE);
	}
}

/* Write src into a device-writable buffer at offset off; returns bytes written. */
static uint32_t
dev_write(struct dev *d, const struct dev_buf *b, uint32_t off, const uint8_t *src, uint32_t len)
{
	uint32_t done = 0;
	uint16_t i;

	for (i = 0; i < b->n && done < len; i++) {
		struct vhf_iov iov[8];
		uint16_t niov = 0, k;
		uint32_t hint = 0, dlen = b->len[i], n;

		if (!(b->flags[i] & VHF_DESC_F_WRITE))
			return 0;
		if (off >= dlen) {
			off -= dlen;
			continue;
		}
		n = dlen - off < len - done ? dlen - off : len - done;
		if (vhf_mem_map(d->cfg.mem, b->addr[i] + off, n, iov, &niov, 8, &hint) != 0)
			return 0;
		for (k = 0; k < niov; k++) {
			memcpy(iov[k].base, src + done, iov[k].len);
			done += iov[k].len;
		}
		off = 0;
	}
	return done;
}

/* Gather a device-readable buffer; returns bytes and counts host segments in *nseg. */
static uint32_t
dev_read(struct dev *d, const struct dev_buf *b, uint8_t *dst, uint32_t cap, unsigned int *nseg)
{
	uint32_t done = 0;
	uint16_t i, k;

	*nseg = 0;
	for (i = 0; i < b->n; i++) {
		struct vhf_iov iov[8];
		uint16_t niov = 0;
		uint32_t hint = 0;

		if ((b->flags[i] & VHF_DESC_F_WRITE) || done + b->len[i] > cap)
			return 0;
		if (vhf_mem_map(d->cfg.mem, b->addr[i], b->len[i], iov, &niov, 8, &hint) != 0)
			return 0;
		for (k = 0; k < niov; k++) {
			memcpy(dst + done, iov[k].base, iov[k].len);
			done += iov[k].len;
		}
		*nseg += niov;
	}
	return done;
}

static uint32_t
buf_cap(const struct dev_buf *b)
{
	uint32_t sum = 0;
	uint16_t i;

	for (i = 0; i < b->n; i++)
		sum += b->len[i];
	return sum;
}

static void
fill(uint8_t *p, uint32_t len, uint32_t seq)
{
	uint32_t i;

	for (i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 7 + seq * 13 + (i >> 8));
}

/*
 * Deliver one packet as a mergeable (or single-buffer) device would: the
 * header, then the payload over as many buffers as needed. Returns buffers used, 0 if short.
 */
static unsigned int
dev_rx(struct dev *d, const uint8_t *pkt, uint32_t len, bool mrg, uint8_t hdr_len)
{
	struct dev_buf bufs[32];
	uint32_t lens[32], off = 0;
	struct vhf_net_hdr hdr = { .flags = VHF_NET_HDR_F_DATA_VALID, .gso_size = 1234 };
	unsigned int n = 0;

	while (off < len || n == 0) {
		uint32_t cap, hl = n == 0 ? hdr_len : 0, chunk;

		if (n == 32 || !dev_take(d, &bufs[n]))
			return 0; /* a real device would have checked room first */
		cap = buf_cap(&bufs[n]);
		chunk = cap - hl < len - off ? cap - hl : len - off;
		if (!mrg && chunk < len - off)
			return 0;
		if (dev_write(d, &bufs[n], hl, pkt + off, chunk) != chunk)
			return 0;
		lens[n] = hl + chunk;
		off += chunk;
		n++;
	}
	hdr.num_buffers = (uint16_t)n;
	if (dev_write(d, &bufs[0], 0, (const uint8_t *)&hdr, hdr_len) != hdr_len)
		return 0;
	dev_used(d, bufs, lens, n);
	return n;
}

/* Receive one packet in the guest and compare. */
static void
guest_expect(struct vhf_guest *g, uint32_t len, uint32_t seq, uint16_t nbufs)
{
	static uint8_t out[70000], want[70000];
	struct vhf_net_hdr hdr;
	uint32_t got = 0;

	CHECK(vhf_guest_rx_get(g, out, sizeof(out), &got, &hdr) == 1);
	CHECK(got == len);
	fill(want, len, seq);
	CHECK(memcmp(out, want, len) == 0);
	CHECK(hdr.gso_size == 1234 && hdr.flags == VHF_NET_HDR_F_DATA_VALID);
	if (nbufs != 0)
		CHECK(hdr.num_buffers == nbufs);
}

static struct vhf_guest_config
rx_cfg(uint16_t size, bool packed, bool ei, uint32_t buf_len)
{
	struct vhf_guest_config c;

	memset(&c, 0, sizeof(c));
	c.size = size;
	c.packed = packed;
	c.event_idx = ei;
	c.mrg_rxbuf = true;
	c.hdr_len = VHF_NET_HDR_LEN_MRG;
	c.buf_len = buf_len;
	return c;
}

/* ---- tests ---- */

static void
test_bad_config(void)
{
	struct vhf_guest_config c = rx_cfg(6, false, false, 64);

	CHECK(vhf_guest_create(&c) == NULL); /* split needs a power of 2 */
	c.size = 0;
	CHECK(vhf_guest_create(&c) == NULL);
	c = rx_cfg(8, false, false, 64);
	c.hdr_len = 10; /* mergeable needs num_buffers */
	CHECK(vhf_guest_create(&c) == NULL);
	c = rx_cfg(8, false, false, 64);
	c.gpa_base = 0x1001;
	CHECK(vhf_guest_create(&c) == NULL);
	c = rx_cfg(6, true, false, 64);
	c.descs_per_buf = 7;
	CHECK(vhf_guest_create(&c) == NULL);
}

static void
test_split_rx_basic(void)
{
	struct vhf_guest_config c = rx_cfg(8, false, false, 64);
	struct vhf_guest *g = vhf_guest_create(&c);
	struct vhf_guest_stats st;
	const struct vhf_mem *mem;
	struct vhf_vring_avail *avail;
	struct vhf_vring_desc *desc;
	uint8_t pkt[100], out[200];
	struct dev d;
	uint32_t len;
	uint16_t i;

	CHECK(g != NULL);
	if (g == NULL)
		return;
	dev_init(&d, g);
	mem = vhf_guest_mem(g);
	CHECK(mem->nregions == 1 && mem->regions[0].guest_phys_addr == VHF_GUEST_GPA_BASE);
	CHECK(d.cfg.size == 8 && !d.cfg.packed && d.cfg.mrg_rxbuf && d.cfg.net_hdr_len == 12);
	CHECK(d.cfg.last_avail == 0 && d.cfg.last_used == 0 && d.cfg.mem == mem);
	CHECK((uintptr_t)d.cfg.desc % 16 == 0 && (uintptr_t)d.cfg.used % 4 == 0);
	CHECK(vhf_guest_rx_free(g) == 8 && vhf_guest_rx_posted(g) == 0);

	CHECK(vhf_guest_rx_add(g, 3) == 3);
	avail = vhf_guest_split_avail(g);
	desc = vhf_guest_split_desc(g);
	CHECK(avail->idx == 3);
	for (i = 0; i < 3; i++) {
		struct vhf_vring_desc *dd = &desc[avail->ring[i]];

		CHECK(dd->flags == VHF_DESC_F_WRITE && dd->len == 64);
		CHECK(vhf_guest_gpa_to_host(g, dd->addr, dd->len) != NULL);
	}
	CHECK(vhf_guest_rx_posted(g) == 3 && vhf_guest_rx_free(g) == 5);
	CHECK(vhf_guest_kick_prepare(g)); /* no EVENT_IDX, NO_NOTIFY clear */
	CHECK(!vhf_guest_used_pending(g));
	CHECK(vhf_guest_rx_get(g, out, sizeof(out), &len, NULL) == 0);

	/* 100 bytes + 12 of header over 64-byte buffers: two buffers. */
	fill(pkt, sizeof(pkt), 1);
	CHECK(dev_rx(&d, pkt, sizeof(pkt), true, 12) == 2);
	CHECK(vhf_guest_used_pending(g));
	guest_expect(g, sizeof(pkt), 1, 2);
	CHECK(vhf_guest_rx_posted(g) == 1 && vhf_guest_rx_free(g) == 7);
	CHECK(vhf_guest_rx_get(g, out, sizeof(out), &len, NULL) == 0);

	/* The device asks for no kicks: none is reported. */
	__atomic_store_n(&d.cfg.used->flags, VHF_USED_F_NO_NOTIFY, __ATOMIC_RELAXED);
	CHECK(vhf_guest_rx_add(g, 2) == 2);
	CHECK(!vhf_guest_kick_prepare(g));

	/* Interrupt suppression without EVENT_IDX is avail->flags. */
	vhf_guest_disable_cb(g);
	CHECK(avail->flags == VHF_AVAIL_F_NO_INTERRUPT);
	CHECK(!vhf_guest_enable_cb_and_check(g));
	CHECK(avail->flags == 0);
	CHECK(dev_rx(&d, pkt, 10, true, 12) == 1);
	CHECK(vhf_guest_enable_cb_and_check(g)); /* pending: the caller must poll */
	guest_expect(g, 10, 1, 1);

	vhf_guest_stats(g, &st);
	CHECK(st.kicks == 1 && st.kick_checks == 2 && st.posted == 5 && st.received == 2);
	CHECK(st.bufs_used == 3 && st.errors == 0);
	vhf_guest_destroy(g);
}

static void
test_split_event_idx(void)
{
	struct vhf_guest_config c = rx_cfg(8, false, true, 256);
	struct vhf_guest *g = vhf_guest_create(&c);
	uint16_t *avail_event, *used_event;
	uint8_t pkt[50];
	struct dev d;

	CHECK(g != NULL);
	if (g == NULL)
		return;
	dev_init(&d, g);
	avail_event = vhf_split_avail_event(d.cfg.used, 8);
	used_event = vhf_split_used_event(d.cfg.avail, 8);

	/* Fresh ring, avail_event 0: the first publication kicks, the next does not. */
	CHECK(vhf_guest_rx_add(g, 2) == 2);
	CHECK(vhf_guest_kick_prepare(g));
	CHECK(vhf_guest_rx_add(g, 1) == 1);
	CHECK(!vhf_guest_kick_prepare(g));
	/* Device asks for a kick once avail idx passes 4: [3,4) does not, [4,5) does. */
	*avail_event = 4;
	CHECK(vhf_guest_rx_add(g, 1) == 1);
	CHECK(!vhf_guest_kick_prepare(g));
	CHECK(vhf_guest_rx_add(g, 1) == 1);
	CHECK(vhf_guest_kick_prepare(g));
	/* A batch jumping over the event kicks once. */
	*avail_event = 6;
	CHECK(vhf_guest_rx_add(g, 3) == 3);
	CHECK(vhf_guest_kick_prepare(g));
	CHECK(!vhf_guest_kick_prepare(g)); /* num_added was reset */

	/* Interrupts: enable names the next used index; disable writes nothing. */
	fill(pkt, sizeof(pkt), 3);
	CHECK(!vhf_guest_enable_cb_and_check(g));
	CHECK(*used_event == 0);
	CHECK(dev_rx(&d, pkt, sizeof(pkt), true, 12) == 1);
	vhf_guest_disable_cb(g);
	CHECK(*used_event == 0 && d.cfg.avail->flags == 0);
	guest_expect(g, sizeof(pkt), 3, 1);
	CHECK(!vhf_guest_enable_cb_and_check(g));
	CHECK(*used_event == 1);
	vhf_guest_destroy(g);
}

/* Rounds of post / deliver / receive, packets of up to max_bufs buffers; returns packets moved. */
static unsigned int
rx_rounds(struct vhf_guest *g, struct dev *d, unsigned int rounds, uint32_t buf_len,
	  uint8_t hdr_len, bool mrg, unsigned int max_bufs)
{
	static uint8_t pkt[20000];
	unsigned int r, moved = 0;
	uint32_t seq = 0;

	for (r = 0; r < rounds; r++) {
		uint32_t room = (mrg ? max_bufs * buf_len : buf_len) - hdr_len;
		uint32_t len = 1 + (r * 37) % room;
		unsigned int need = mrg ? (len + hdr_len + buf_len - 1) / buf_len : 1;
		unsigned int got;

		vhf_guest_rx_add(g, need + r % 2);
		fill(pkt, len, seq);
		got = dev_rx(d, pkt, len, mrg, hdr_len);
		CHECK(got == need);
		if (got != need)
			return moved;
		guest_expect(g, len, seq, mrg ? (uint16_t)need : 0);
		seq++;
		moved++;
	}
	return moved;
}

static void
test_split_wrap(void)
{
	struct vhf_guest_config c = rx_cfg(8, false, true, 64);
	struct vhf_guest *g = vhf_guest_create(&c);
	struct vhf_vring_avail *avail;
	struct dev d;

	CHECK(g != NULL);
	if (g == NULL)
		return;
	CHECK(vhf_guest_set_start_index(g, 65533) == 0);
	dev_init(&d, g);
	avail = vhf_guest_split_avail(g);
	CHECK(d.cfg.last_avail == 65533 && d.cfg.last_used == 65533);
	CHECK(avail->idx == 65533 && d.cfg.used->idx == 65533);
	CHECK(*vhf_split_used_event(avail, 8) == 65533);
	/* Crossing 65535 -> 0 with a batch: the kick decision must see [65533, 2). */
	*vhf_split_avail_event(d.cfg.used, 8) = 65535;
	CHECK(vhf_guest_rx_add(g, 5) == 5);
	CHECK(avail->idx == 2);
	CHECK(vhf_guest_kick_prepare(g));
	CHECK(avail->ring[65533 & 7] != avail->ring[1]);
	CHECK(rx_rounds(g, &d, 40, 64, 12, true, 3) == 40);
	CHECK(vhf_guest_set_start_index(g, 7) == -EBUSY);
	vhf_guest_destroy(g);
}

static void
test_packed_rx(void)
{
	struct vhf_guest_config c = rx_cfg(4, true, false, 256);
	struct vhf_vring_packed_desc *ring;
	struct vhf_guest *g;
	struct dev_buf bufs[4];
	uint32_t lens[4] = { 12, 12, 12, 12 };
	uint8_t out[300];
	uint32_t len;
	struct dev d;
	unsigned int i;

	c.mrg_rxbuf = false;
	g = vhf_guest_create(&c);
	CHECK(g != NULL);
	if (g == NULL)
		return;
	dev_init(&d, g);
	ring = vhf_guest_packed_desc(g);
	CHECK(d.cfg.packed && d.cfg.last_avail == 0x8000 && d.cfg.last_used == 0x8000);
	CHECK((uintptr_t)d.cfg.desc_packed % 16 == 0 && (uintptr_t)d.cfg.driver_event % 4 == 0);
	CHECK((uintptr_t)d.cfg.device_event % 4 == 0);
	CHECK(!vhf_guest_used_pending(g)); /* zeroed slots are not used for wrap 1 */

	/* Wrap counter 1: AVAIL set, USED clear; all slots of a buffer share its id. */
	CHECK(vhf_guest_rx_add(g, 3) == 3);
	for (i = 0; i < 3; i++)
		CHECK(ring[i].flags == (VHF_DESC_F_AVAIL | VHF_DESC_F_WRITE) && ring[i].len == 256);
	CHECK(ring[3].flags == 0);
	CHECK(ring[0].id != ring[1].id && ring[1].id != ring[2].id);
	CHECK(vhf_guest_kick_prepare(g)); /* device event ENABLE */
	for (i = 0; i < 3; i++)
		CHECK(dev_take(&d, &bufs[i]));
	CHECK(!dev_take(&d, &bufs[3]));

	/* Two used (header only, empty payload), one still posted. */
	dev_used(&d, bufs, lens, 2);
	CHECK(ring[0].flags == (VHF_DESC_F_AVAIL | VHF_DESC_F_USED));
	CHECK(vhf_guest_rx_get(g, out, sizeof(out), &len, NULL) == 1 && len == 0);
	CHECK(vhf_guest_rx_get(g, out, sizeof(out), &len, NULL) == 1 && len == 0);
	CHECK(vhf_guest_rx_get(g, out, sizeof(out), &len, NULL) == 0);
	CHECK(vhf_guest_rx_posted(g) == 1);

	/* Slot 3 is the last of lap 1, slot 0 the first of lap 0: AVAIL clear, USED set. */
	CHECK(vhf_guest_rx_add(g, 2) == 2);
	CHECK(ring[3].flags == (VHF_DESC_F_AVAIL | VHF_DESC_F_WRITE));
	CHECK(ring[0].flags == (VHF_DESC_F_USED | VHF_DESC_F_WRITE));
	CHECK(dev_take(&d, &bufs[0]) && dev_take(&d, &bufs[1]));
	CHECK(!d.avail_wrap && d.last_avail == 1);
	/* Used at 2, 3 (lap 1) and 0 (lap 0, flags both clear). */
	dev_used(&d, (struct dev_buf[]){ bufs[2], bufs[0], bufs[1] }, lens, 3);
	CHECK(ring[0].flags == 0 && !d.used_wrap);
	for (i = 0; i < 3; i++)
		CHECK(vhf_guest_rx_get(g, out, sizeof(out), &len, NULL) == 1);
	CHECK(vhf_guest_rx_get(g, out, sizeof(out), &len, NULL) == 0);
	CHECK(vhf_guest_rx_posted(g) == 0);

	/* Many laps with payload. */
	CHECK(rx_rounds(g, &d, 50, 256, 12, false, 1) == 50);
	vhf_guest_destroy(g);
}

/* Packed chains of 3 descriptors in an 8-slot ring: chains cross the ring end. */
static void
test_packed_chains(void)
{
	struct vhf_guest_config c = rx_cfg(8, true, true, 90);
	struct vhf_guest *g;
	struct dev d;

	c.descs_per_buf = 3;
	g = vhf_guest_create(&c);
	CHECK(g != NULL);
	if (g == NULL)
		return;
	dev_init(&d, g);
	CHECK(vhf_guest_rx_free(g) == 2);
	CHECK(rx_rounds(g, &d, 60, 90, 12, true, 2) == 60);
	CHECK(vhf_guest_rx_add(g, 5) == 2);
	CHECK(vhf_guest_rx_posted(g) == 2 && vhf_guest_rx_free(g) == 0);
	vhf_guest_destroy(g);

	/* Split chains too. */
	c.packed = false;
	g = vhf_guest_create(&c);
	CHECK(g != NULL);
	if (g == NULL)
		return;
	dev_init(&d, g);
	CHECK(rx_rounds(g, &d, 60, 90, 12, true, 2) == 60);
	vhf_guest_destroy(g);
}

static void
test_packed_start(void)
{
	static const uint16_t starts[] = { 5, 7 | 0x8000, 0, 3 };
	struct vhf_guest_config c = rx_cfg(8, true, true, 128);
	unsigned int s;

	for (s = 0; s < sizeof(starts) / sizeof(starts[0]); s++) {
		struct vhf_guest *g = vhf_guest_create(&c);
		struct vhf_vring_packed_desc *ring;
		struct dev d;

		CHECK(g != NULL);
		if (g == NULL)
			return;
		CHECK(vhf_guest_set_start_index(g, starts[s]) == 0);
		ring = vhf_guest_packed_desc(g);
		dev_init(&d, g);
		CHECK(d.cfg.last_avail == starts[s] && d.cfg.last_used == starts[s]);
		/* Nothing looks used to the driver nor available to the device. */
		CHECK(!vhf_guest_used_pending(g));
		CHECK(!vhf_guest_enable_cb_and_check(g));
		CHECK(d.cfg.driver_event->off_wrap == starts[s]);
		CHECK(d.cfg.driver_event->flags == VHF_EVENT_F_DESC);
		{
			struct dev_buf b;

			CHECK(!dev_take(&d, &b));
		}
		CHECK(vhf_guest_rx_add(g, 1) == 1);
		CHECK(ring[starts[s] & 7].flags ==
		      (VHF_DESC_F_WRITE | (starts[s] >> 15 ? VHF_DESC_F_AVAIL : VHF_DESC_F_USED)));
		CHECK(rx_rounds(g, &d, 20, 128, 12, true, 3) == 20);
		vhf_guest_destroy(g);
	}
	{
		struct vhf_guest *g = vhf_guest_create(&c);

		CHECK(g != NULL && vhf_guest_set_start_index(g, 8) == -EINVAL);
		vhf_guest_destroy(g);
	}
}

/* Packed kicks and interrupts with EVENT_IDX: off_wrap in the previous lap is moved into ours. */
static void
test_packed_events(void)
{
	struct vhf_guest_config c = rx_cfg(4, true, true, 128);
	struct vhf_guest *g;
	struct vhf_vring_packed_event *dev_ev, *drv_ev;
	struct dev_buf bufs[4];
	uint32_t lens[4] = { 12, 12, 12, 12 };
	uint8_t out[8];
	uint32_t len;
	struct dev d;
	unsigned int i;

	c.mrg_rxbuf = false; /* header-only packets, one buffer each */
	g = vhf_guest_create(&c);
	CHECK(g != NULL);
	if (g == NULL)
		return;
	dev_init(&d, g);
	dev_ev = d.cfg.device_event;
	drv_ev = d.cfg.driver_event;

	dev_ev->flags = VHF_EVENT_F_DISABLE;
	CHECK(vhf_guest_rx_add(g, 2) == 2);
	CHECK(!vhf_guest_kick_prepare(g));
	/* DESC at position 3, lap 1: posting slot 2 does not reach it, slot 3 does. */
	dev_ev->off_wrap = 3 | 0x8000;
	dev_ev->flags = VHF_EVENT_F_DESC;
	CHECK(vhf_guest_rx_add(g, 1) == 1);
	CHECK(!vhf_guest_kick_prepare(g));
	for (i = 0; i < 3; i++)
		CHECK(dev_take(&d, &bufs[i]));
	dev_used(&d, bufs, lens, 3);
	for (i = 0; i < 3; i++)
		CHECK(vhf_guest_rx_get(g, out, sizeof(out), &len, NULL) == 1);
	CHECK(vhf_guest_rx_add(g, 1) == 1);
	CHECK(vhf_guest_kick_prepare(g));
	/* Event still names lap 1's slot 3 while we post slots 0, 1 of lap 0: seen as passed. */
	CHECK(vhf_guest_rx_add(g, 2) == 2);
	CHECK(!vhf_guest_kick_prepare(g));
	/* Event at slot 1 of lap 0, a batch covering it from the previous lap's end. */
	dev_ev->off_wrap = 1;
	CHECK(dev_take(&d, &bufs[0]) && dev_take(&d, &bufs[1]) && dev_take(&d, &bufs[2]));
	dev_used(&d, bufs, lens, 3);
	for (i = 0; i < 3; i++)
		CHECK(vhf_guest_rx_get(g, out, sizeof(out), &len, NULL) == 1);
	CHECK(vhf_guest_rx_add(g, 2) == 2); /* slots 2, 3 of lap 0 */
	CHECK(!vhf_guest_kick_prepare(g)); /* the event (1, lap 0) lies before them */
	dev_ev->off_wrap = 0x8000; /* slot 0 of lap 1 */
	CHECK(vhf_guest_rx_add(g, 1) == 1);
	CHECK(vhf_guest_kick_prepare(g));
	CHECK(vhf_guest_rx_add(g, 1) == 1); /* ring full after this one */
	CHECK(vhf_guest_rx_add(g, 1) == 0);
	CHECK(!vhf_guest_kick_prepare(g)); /* slot 1 is past the event */

	/* Driver side: DESC naming the next used slot, DISABLE on disable. */
	CHECK(!vhf_guest_enable_cb_and_check(g));
	CHECK(drv_ev->flags == VHF_EVENT_F_DESC && drv_ev->off_wrap == 2);
	vhf_guest_disable_cb(g);
	CHECK(drv_ev->flags == VHF_EVENT_F_DISABLE);
	vhf_guest_destroy(g);

	/* Without EVENT_IDX: ENABLE, off_wrap untouched. */
	c.event_idx = false;
	g = vhf_guest_create(&c);
	CHECK(g != NULL);
	if (g == NULL)
		return;
	drv_ev = vhf_guest_packed_driver_event(g);
	vhf_guest_disable_cb(g);
	CHECK(drv_ev->flags == VHF_EVENT_F_DISABLE);
	CHECK(!vhf_guest_enable_cb_and_check(g));
	CHECK(drv_ev->flags == VHF_EVENT_F_ENABLE && drv_ev->off_wrap == 0);
	vhf_guest_destroy(g);
}

/* Mergeable errors: a bad num_buffers drops the packet and recycles its buffers. */
static void
test_rx_errors(void)
{
	struct vhf_guest_config c = rx_cfg(8, false, false, 64);
	struct vhf_guest *g = vhf_guest_create(&c);
	struct vhf_net_hdr hdr = { .num_buffers = 3 };
	struct vhf_guest_stats st;
	struct dev_buf bufs[3];
	uint32_t lens[3] = { 64, 30, 0 }, len;
	uint8_t out[300], pkt[200];
	struct dev d;

	CHECK(g != NULL);
	if (g == NULL)
		return;
	dev_init(&d, g);
	CHECK(vhf_guest_rx_add(g, 6) == 6);
	/* num_buffers 3, only 2 used. */
	CHECK(dev_take(&d, &bufs[0]) && dev_take(&d, &bufs[1]));
	CHECK(dev_write(&d, &bufs[0], 0, (const uint8_t *)&hdr, 12) == 12);
	dev_used(&d, bufs, lens, 2);
	CHECK(vhf_guest_rx_get(g, out, sizeof(out), &len, NULL) == -EPROTO);
	CHECK(vhf_guest_rx_posted(g) == 4);
	/* num_buffers 0. */
	hdr.num_buffers = 0;
	CHECK(dev_take(&d, &bufs[0]));
	CHECK(dev_write(&d, &bufs[0], 0, (const uint8_t *)&hdr, 12) == 12);
	dev_used(&d, bufs, lens, 1);
	CHECK(vhf_guest_rx_get(g, out, sizeof(out), &len, NULL) == -EPROTO);
	/* Used length beyond the buffer. */
	CHECK(dev_take(&d, &bufs[0]));
	lens[0] = 65;
	dev_used(&d, bufs, lens, 1);
	CHECK(vhf_guest_rx_get(g, out, sizeof(out), &len, NULL) == -EPROTO);
	CHECK(vhf_guest_rx_posted(g) == 2);
	vhf_guest_stats(g, &st);
	CHECK(st.errors == 3 && st.received == 0);
	/* Too small an output buffer: truncated, full length reported. */
	fill(pkt, 100, 5);
	CHECK(vhf_guest_rx_add(g, 4) == 4);
	CHECK(dev_rx(&d, pkt, 100, true, 12) == 2);
	CHECK(vhf_guest_rx_get(g, out, 60, &len, NULL) == -EMSGSIZE && len == 100);
	CHECK(memcmp(out, pkt, 60) == 0);
	/* An id we never posted breaks the queue. */
	CHECK(dev_take(&d, &bufs[0]));
	bufs[0].id = 77;
	dev_used(&d, bufs, lens, 1);
	CHECK(vhf_guest_rx_get(g, out, sizeof(out), &len, NULL) == -EIO);
	CHECK(vhf_guest_broken(g) && vhf_guest_rx_add(g, 1) == 0);
	CHECK(vhf_guest_tx_send(g, pkt, 10, NULL, 1) == -EIO);
	vhf_guest_destroy(g);
}

/* TX with an indirect table over two memory regions, next to an RX guest. */
static void
test_tx_indirect_two_regions(void)
{
	static uint8_t pkt[9000], got[10000];
	struct vhf_guest_config c, rc = rx_cfg(8, false, false, 1536);
	struct vhf_net_hdr hdr = { .flags = VHF_NET_HDR_F_NEEDS_CSUM, .csum_start = 34,
				   .csum_offset = 16, .gso_size = 7 };
	struct vhf_guest *g, *rx;
	const struct vhf_mem *mem;
	unsigned int p, nseg, straddled = 0;
	uint32_t lens[1] = { 0 };
	struct dev d, rd;
	struct dev_buf b;

	memset(&c, 0, sizeof(c));
	c.size = 16;
	c.event_idx = true;
	c.indirect = true;
	c.hdr_len = 12;
	c.two_regions = true;
	c.gpa_base = 0x40000000;
	g = vhf_guest_create(&c);
	rc.two_regions = true;
	rx = vhf_guest_create(&rc);
	CHECK(g != NULL && rx != NULL);
	if (g == NULL || rx == NULL)
		return;
	dev_init(&d, g);
	dev_init(&rd, rx);
	mem = vhf_guest_mem(g);
	CHECK(mem->nregions == 2);
	CHECK(mem->regions[0].guest_phys_addr == 0x40000000);
	CHECK(mem->regions[1].guest_phys_addr ==
	      mem->regions[0].guest_phys_addr + mem->regions[0].size);
	CHECK(mem->regions[1].host_addr != mem->regions[0].host_addr + mem->regions[0].size);
	CHECK(vhf_guest_gpa_to_host(g, mem->regions[1].guest_phys_addr - 1, 2) == NULL);

	for (p = 0; p < 20; p++) {
		uint32_t len = p % 2 ? sizeof(pkt) : 60 + p;

		fill(pkt, len, p);
		hdr.gso_size = (uint16_t)p;
		CHECK(vhf_guest_tx_send(g, pkt, len, &hdr, 1 + p % 4) == 0);
		CHECK(vhf_guest_tx_inflight(g) == 1);
		CHECK(dev_take(&d, &b));
		CHECK(b.ndesc == 1 && b.n == 2 + p % 4); /* one ring slot, header + segments */
		CHECK(dev_read(&d, &b, got, sizeof(got), &nseg) == len + 12);
		CHECK(memcmp(got + 12, pkt, len) == 0);
		CHECK(memcmp(got, &hdr, 12) == 0);
		if (nseg > b.n)
			straddled++;
		dev_used(&d, &b, lens, 1);
		CHECK(vhf_guest_tx_reclaim(g) == 1);
	}
	CHECK(straddled > 0);

	/* The RX guest's second buffer straddles its boundary too. */
	{
		static uint8_t big[3000];
		unsigned int i;

		struct vhf_vring_desc *desc = vhf_guest_split_desc(rx);
		unsigned int split_bufs = 0;

		CHECK(vhf_guest_rx_add(rx, 8) == 8);
		for (i = 0; i < 8; i++)
			if (vhf_guest_gpa_to_host(rx, desc[i].addr, desc[i].len) == NULL)
				split_bufs++;
		CHECK(split_bufs == 1);
		for (i = 0; i < 4; i++) {
			fill(big, 1500, i);
			CHECK(dev_rx(&rd, big, 1500, false, 12) == 1);
			guest_expect(rx, 1500, i, 0);
		}
	}
	vhf_guest_destroy(rx);
	vhf_guest_destroy(g);
}

/*
 * TX with the header pushed: a one-segment packet is one descriptor, header
 * then frame, ending at a 64-byte line; more segments still chain the header
 * apart.
 */
static void
test_tx_push_hdr(void)
{
	static uint8_t pkt[1600], got[1700];
	struct vhf_net_hdr hdr = { .flags = VHF_NET_HDR_F_NEEDS_CSUM, .csum_start = 14 };
	struct vhf_guest_config c;
	struct vhf_guest *g;
	unsigned int p, nseg;
	uint32_t lens[1] = { 0 };
	struct dev d;
	struct dev_buf b;

	memset(&c, 0, sizeof(c));
	c.size = 16;
	c.packed = true;
	c.hdr_len = 12;
	c.tx_push_hdr = true;
	g = vhf_guest_create(&c);
	CHECK(g != NULL);
	if (g == NULL)
		return;
	dev_init(&d, g);
	for (p = 0; p < 6; p++) {
		uint32_t len = p % 2 ? sizeof(pkt) : 60 + p;
		unsigned int nsegs = p < 4 ? 1 : 3;

		fill(pkt, len, p);
		CHECK(vhf_guest_tx_send(g, pkt, len, &hdr, nsegs) == 0);
		CHECK(dev_take(&d, &b));
		CHECK(b.ndesc == (nsegs == 1 ? 1 : 4) && b.n == b.ndesc);
		if (nsegs == 1)
			CHECK((b.addr[0] + 12) % 64 == 0);
		CHECK(dev_read(&d, &b, got, sizeof(got), &nseg) == len + 12);
		CHECK(memcmp(got, &hdr, 12) == 0);
		CHECK(memcmp(got + 12, pkt, len) == 0);
		dev_used(&d, &b, lens, 1);
		CHECK(vhf_guest_tx_reclaim(g) == 1);
	}
	vhf_guest_destroy(g);
}

/* TX without indirect on a packed ring: descriptors run out, reclaim frees them. */
static void
test_tx_packed(void)
{
	static uint8_t pkt[3000], got[4000];
	struct vhf_guest_config c;
	struct vhf_vring_packed_event *dev_ev;
	struct vhf_guest *g;
	struct vhf_guest_stats st;
	uint32_t lens[8] = { 0 };
	struct dev_buf b[8];
	unsigned int i, r, nseg;
	struct dev d;

	memset(&c, 0, sizeof(c));
	c.size = 8;
	c.packed = true;
	c.hdr_len = 10;
	c.two_regions = true;
	g = vhf_guest_create(&c);
	CHECK(g != NULL);
	if (g == NULL)
		return;
	dev_init(&d, g);
	for (r = 0; r < 10; r++) {
		for (i = 0; i < 2; i++) {
			fill(pkt, sizeof(pkt), r * 2 + i);
			CHECK(vhf_guest_tx_send(g, pkt, sizeof(pkt), NULL, 2) == 0);
		}
		CHECK(vhf_guest_tx_send(g, pkt, sizeof(pkt), NULL, 2) == -ENOSPC);
		CHECK(vhf_guest_kick_prepare(g));
		for (i = 0; i < 2; i++) {
			CHECK(dev_take(&d, &b[i]));
			CHECK(b[i].ndesc == 3);
			CHECK(dev_read(&d, &b[i], got, sizeof(got), &nseg) == sizeof(pkt) + 10);
			fill(pkt, sizeof(pkt), r * 2 + i);
			CHECK(memcmp(got + 10, pkt, sizeof(pkt)) == 0);
		}
		CHECK(vhf_guest_tx_reclaim(g) == 0);
		dev_used(&d, b, lens, 2);
		CHECK(vhf_guest_tx_reclaim(g) == 2);
	}
	/*
	 * Device asks for a kick at the slot where the next packet starts: a
	 * 3-slot packet covers it (num_added counts slots); the one after does not.
	 */
	dev_ev = vhf_guest_packed_device_event(g);
	dev_ev->off_wrap = (uint16_t)(d.last_avail | d.avail_wrap << 15);
	dev_ev->flags = VHF_EVENT_F_DESC;
	CHECK(vhf_guest_tx_send(g, pkt, sizeof(pkt), NULL, 2) == 0);
	CHECK(vhf_guest_kick_prepare(g));
	CHECK(vhf_guest_tx_send(g, pkt, sizeof(pkt), NULL, 2) == 0);
	CHECK(!vhf_guest_kick_prepare(g));
	CHECK(dev_take(&d, &b[0]) && dev_take(&d, &b[1]));
	dev_used(&d, b, lens, 2);
	CHECK(vhf_guest_tx_reclaim(g) == 2);
	dev_ev->flags = VHF_EVENT_F_ENABLE;

	/* A one-byte packet in 4 segments is clamped to 1; header-only is one descriptor. */
	CHECK(vhf_guest_tx_send(g, pkt, 1, NULL, 4) == 0);
	CHECK(vhf_guest_tx_send(g, pkt, 0, NULL, 4) == 0);
	CHECK(dev_take(&d, &b[0]) && b[0].ndesc == 2);
	CHECK(dev_take(&d, &b[1]) && b[1].ndesc == 1);
	CHECK(vhf_guest_tx_send(g, pkt, 10, NULL, VHF_GUEST_MAX_SEGS + 1) == -EINVAL);
	CHECK(vhf_guest_rx_add(g, 1) == 0); /* a TX queue */
	vhf_guest_stats(g, &st);
	CHECK(st.posted == 24 && st.received == 22 && st.kicks == 11);
	vhf_guest_destroy(g);
}

static void
test_alloc(void)
{
	struct vhf_guest_config c = rx_cfg(16, false, false, 2048);
	struct vhf_guest *g = vhf_guest_create(&c);
	uint64_t a, b;

	CHECK(g != NULL);
	if (g == NULL)
		return;
	a = vhf_guest_alloc(g, 4096, 64);
	b = vhf_guest_alloc(g, 100, 4096);
	CHECK(a != 0 && a % 64 == 0 && b != 0 && b % 4096 == 0 && b >= a + 4096);
	CHECK(vhf_guest_gpa_to_host(g, a, 4096) != NULL);
	CHECK(vhf_guest_alloc(g, VHF_GUEST_EXTRA_LEN, 1) == 0);
	CHECK(vhf_guest_alloc(g, 10, 3) == 0);
	CHECK(vhf_guest_gpa_to_host(g, 0x1000, 1) == NULL);
	vhf_guest_destroy(g);
}

int
main(void)
{
	static const struct {
		const char *name;
		void (*fn)(void);
	} tests[] = {
		{ "bad configurations are refused", test_bad_config },
		{ "split RX: post, receive, flags-based suppression", test_split_rx_basic },
		{ "split EVENT_IDX: kick and interrupt indexes", test_split_event_idx },
		{ "split index wrap from 65533", test_split_wrap },
		{ "packed RX: flags, wrap counters, laps", test_packed_rx },
		{ "chained RX buffers crossing the packed ring end", test_packed_chains },
		{ "packed start positions with both wrap values", test_packed_start },
		{ "packed event suppression both ways", test_packed_events },
		{ "RX errors: num_buffers, lengths, truncation, bad id", test_rx_errors },
		{ "TX indirect over two regions, with an RX guest", test_tx_indirect_two_regions },
		{ "TX packed: descriptors run out and come back", test_tx_packed },
		{ "TX with the header pushed in front of the frame", test_tx_push_hdr },
		{ "extra guest memory", test_alloc },
	};
	unsigned int i, n = sizeof(tests) / sizeof(tests[0]), bad = 0;

	printf("1..%u\n", n);
	for (i = 0; i < n; i++) {
		failures = 0;
		tests[i].fn();
		printf("%s %u - %s\n", failures ? "not ok" : "ok", i + 1, tests[i].name);
		if (failures)
			bad++;
	}
	return bad ? EXIT_FAILURE : EXIT_SUCCESS;
}
