/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 dpdk-vhostfix authors
 */

/*
 * A hostile or broken guest: every malformed ring breaks only its own queue,
 * is counted by reason, and never makes the device touch memory outside the
 * guest's regions (the sanitizer build checks the latter).
 */

#include <sys/mman.h>

#include "vhf_test_env.h"

#define QSIZE 16

struct hostile {
	struct vhf_test_env env;
	struct vhf_vring_desc *desc;
	struct vhf_vring_avail *avail;
	uint64_t buf_gpa; /* a valid 4 KiB guest buffer */
};

static void
hostile_init(struct hostile *h, bool indirect)
{
	struct vhf_guest_config g;

	memset(&g, 0, sizeof(g));
	g.size = QSIZE;
	g.event_idx = true;
	g.indirect = indirect;
	g.mrg_rxbuf = true;
	g.hdr_len = VHF_NET_HDR_LEN_MRG;
	g.buf_len = 2048;
	vhf_test_env_init(&h->env, &g, VHF_NOTIFY_FIXED);
	h->desc = vhf_guest_split_desc(h->env.guest);
	h->avail = vhf_guest_split_avail(h->env.guest);
	h->buf_gpa = vhf_guest_alloc(h->env.guest, 4096, 64);
	assert_true(h->buf_gpa != 0);
}

static void
set_desc(struct hostile *h, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	h->desc[i] = (struct vhf_vring_desc){ .addr = addr, .len = len, .flags = flags,
					      .next = next };
}

/* Publish one avail entry naming head. */
static void
publish(struct hostile *h, uint16_t head)
{
	h->avail->ring[h->avail->idx & (QSIZE - 1)] = head;
	__atomic_store_n(&h->avail->idx, (uint16_t)(h->avail->idx + 1), __ATOMIC_RELEASE);
}

/* RX must break the queue with reason, then refuse and count further bursts. */
static void
expect_rx_broken(struct hostile *h, enum vhf_vq_counter reason)
{
	struct vhf_burst_result res;

	assert_int_equal(vhf_test_rx_one(&h->env, 100, 1, 1, &res), 1);
	assert_int_equal(res.status, VHF_TO_GUEST_BROKEN);
	assert_true(h->env.vq.broken);
	assert_int_equal(h->env.vq.broken_reason, reason);
	assert_int_equal(h->env.vq.cnt[reason], 1);
	assert_int_equal(h->env.vq.cnt[VHF_VQ_CNT_packets], 0);
	assert_int_equal(vhf_test_rx_one(&h->env, 100, 1, 1, &res), 1);
	assert_int_equal(res.status, VHF_TO_GUEST_BROKEN);
	assert_int_equal(h->env.vq.cnt[VHF_VQ_CNT_drop_broken], 2);
	vhf_test_env_fini(&h->env);
}

static void
test_head_out_of_range(void **state)
{
	struct hostile h;

	(void)state;
	hostile_init(&h, false);
	publish(&h, QSIZE);
	expect_rx_broken(&h, VHF_VQ_CNT_err_desc_index);
}

static void
test_next_out_of_range(void **state)
{
	struct hostile h;

	(void)state;
	hostile_init(&h, false);
	set_desc(&h, 0, h.buf_gpa, 16, VHF_DESC_F_WRITE | VHF_DESC_F_NEXT, 500);
	publish(&h, 0);
	expect_rx_broken(&h, VHF_VQ_CNT_err_desc_index);
}

static void
test_chain_loop(void **state)
{
	struct hostile h;

	(void)state;
	hostile_init(&h, false);
	/* Short buffers so the walk does not stop early for having enough bytes. */
	set_desc(&h, 0, h.buf_gpa, 1, VHF_DESC_F_WRITE | VHF_DESC_F_NEXT, 1);
	set_desc(&h, 1, h.buf_gpa, 1, VHF_DESC_F_WRITE | VHF_DESC_F_NEXT, 0);
	publish(&h, 0);
	expect_rx_broken(&h, VHF_VQ_CNT_err_desc_loop);
}

static void
test_unmapped_address(void **state)
{
	static const uint64_t bad[] = { 0, 0xfff, UINT64_MAX - 8, 0x7fff00000000 };
	unsigned int i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct hostile h;

		hostile_init(&h, false);
		set_desc(&h, 0, bad[i], 2048, VHF_DESC_F_WRITE, 0);
		publish(&h, 0);
		expect_rx_broken(&h, VHF_VQ_CNT_err_desc_addr);
	}
}

static void
test_wrong_direction(void **state)
{
	struct hostile h;

	(void)state;
	hostile_init(&h, false);
	set_desc(&h, 0, h.buf_gpa, 2048, 0, 0); /* read-only buffer offered for RX */
	publish(&h, 0);
	expect_rx_broken(&h, VHF_VQ_CNT_err_desc_flags);
}

static void
test_wild_avail_idx(void **state)
{
	struct hostile h;

	(void)state;
	hostile_init(&h, false);
	__atomic_store_n(&h.avail->idx, (uint16_t)(QSIZE + 1), __ATOMIC_RELEASE);
	expect_rx_broken(&h, VHF_VQ_CNT_err_avail_idx);
}

static void
test_indirect_abuse(void **state)
{
	struct hostile h;
	struct vhf_vring_desc *table;
	uint64_t table_gpa;

	(void)state;
	/* Indirect not negotiated. */
	hostile_init(&h, false);
	set_desc(&h, 0, h.buf_gpa, 64, VHF_DESC_F_INDIRECT, 0);
	publish(&h, 0);
	expect_rx_broken(&h, VHF_VQ_CNT_err_desc_len);

	/* Length not a multiple of a descriptor. */
	hostile_init(&h, true);
	set_desc(&h, 0, h.buf_gpa, 40, VHF_DESC_F_INDIRECT, 0);
	publish(&h, 0);
	expect_rx_broken(&h, VHF_VQ_CNT_err_desc_len);

	/* INDIRECT together with NEXT. */
	hostile_init(&h, true);
	set_desc(&h, 0, h.buf_gpa, 64, VHF_DESC_F_INDIRECT | VHF_DESC_F_NEXT, 1);
	publish(&h, 0);
	expect_rx_broken(&h, VHF_VQ_CNT_err_desc_flags);

	/* Table outside guest memory. */
	hostile_init(&h, true);
	set_desc(&h, 0, 0x10, 64, VHF_DESC_F_INDIRECT, 0);
	publish(&h, 0);
	expect_rx_broken(&h, VHF_VQ_CNT_err_desc_addr);

	/* Nested indirect, and a loop inside a table. */
	hostile_init(&h, true);
	table_gpa = vhf_guest_alloc(h.env.guest, 4 * sizeof(*table), 16);
	table = vhf_guest_gpa_to_host(h.env.guest, table_gpa, 4 * sizeof(*table));
	assert_non_null(table);
	table[0] = (struct vhf_vring_desc){ h.buf_gpa, 1, VHF_DESC_F_WRITE | VHF_DESC_F_NEXT, 1 };
	table[1] = (struct vhf_vring_desc){ table_gpa, 64, VHF_DESC_F_INDIRECT, 0 };
	set_desc(&h, 0, table_gpa, 4 * sizeof(*table), VHF_DESC_F_INDIRECT, 0);
	publish(&h, 0);
	expect_rx_broken(&h, VHF_VQ_CNT_err_desc_flags);

	hostile_init(&h, true);
	table_gpa = vhf_guest_alloc(h.env.guest, 4 * sizeof(*table), 16);
	table = vhf_guest_gpa_to_host(h.env.guest, table_gpa, 4 * sizeof(*table));
	table[0] = (struct vhf_vring_desc){ h.buf_gpa, 1, VHF_DESC_F_WRITE | VHF_DESC_F_NEXT, 1 };
	table[1] = (struct vhf_vring_desc){ h.buf_gpa, 1, VHF_DESC_F_WRITE | VHF_DESC_F_NEXT, 0 };
	set_desc(&h, 0, table_gpa, 2 * sizeof(*table), VHF_DESC_F_INDIRECT, 0);
	publish(&h, 0);
	expect_rx_broken(&h, VHF_VQ_CNT_err_desc_loop);
}

/* One RX packet of 100 bytes: delivered, or the queue broken with reason (-1: delivered). */
static void
expect_rx(struct vhf_test_env *env, int reason)
{
	struct vhf_burst_result res;

	assert_int_equal(vhf_test_rx_one(env, 100, 1, 1, &res), 1);
	if (reason < 0) {
		assert_int_equal(res.status, VHF_TO_GUEST_DONE);
		assert_int_equal(env->vq.cnt[VHF_VQ_CNT_packets], 1);
		assert_false(env->vq.broken);
	} else {
		assert_int_equal(res.status, VHF_TO_GUEST_BROKEN);
		assert_int_equal(env->vq.broken_reason, reason);
		assert_int_equal(env->vq.cnt[reason], 1);
		assert_int_equal(env->vq.cnt[VHF_VQ_CNT_packets], 0);
	}
}

/*
 * An indirect table longer than the ring is refused (the spec bounds a chain
 * by the queue size; DPDK's vhost refuses such tables too). Before, any table
 * up to 32768 entries was walked, whatever the ring.
 */
static void
test_indirect_longer_than_ring(void **state)
{
	unsigned int packed;

	(void)state;
	for (packed = 0; packed < 2; packed++) {
		unsigned int n;

		for (n = QSIZE; n <= QSIZE + 1; n++) {
			struct vhf_test_seg segs[QSIZE + 1];
			struct vhf_test_env env;
			struct vhf_test_raw raw;
			uint64_t gpa, table;
			unsigned int i;

			vhf_test_raw_env_init(&env, &raw, packed, QSIZE, true);
			gpa = vhf_guest_alloc(env.guest, 128 * (QSIZE + 1), 64);
			table = vhf_guest_alloc(env.guest, 16 * (QSIZE + 1), 16);
			for (i = 0; i < n; i++)
				segs[i] = (struct vhf_test_seg){ gpa + 128 * i, 128 };
			vhf_test_raw_chain(&raw, segs, (uint16_t)n, table, true, true);
			expect_rx(&env, n > QSIZE ? VHF_VQ_CNT_err_desc_len : -1);
			vhf_test_env_fini(&env);
		}
	}
}

/*
 * A chain may hold no more descriptors than the queue size nor than
 * VHF_CHAIN_MAX_DESC, zero-length ones and indirect entries included: a ring
 * of 512 with chains of 299 empty descriptors and one real buffer made every
 * walk long while costing nothing against the segment limits.
 */
static void
test_chain_too_long(void **state)
{
	static struct vhf_test_seg segs[VHF_CHAIN_MAX_DESC + 44];
	unsigned int packed, indirect, n;
	struct vhf_test_env env;
	struct vhf_test_raw raw;
	struct hostile h;
	uint64_t gpa, table;

	(void)state;
	for (packed = 0; packed < 2; packed++)
		for (indirect = 0; indirect < 2; indirect++)
			for (n = VHF_CHAIN_MAX_DESC; n <= VHF_CHAIN_MAX_DESC + 44; n += 44) {
				unsigned int i;

				vhf_test_raw_env_init(&env, &raw, packed, 512, true);
				gpa = vhf_guest_alloc(env.guest, 2048, 64);
				table = indirect ? vhf_guest_alloc(env.guest, 16 * n, 16) : 0;
				for (i = 0; i + 1 < n; i++)
					segs[i] = (struct vhf_test_seg){ gpa, 0 };
				segs[n - 1] = (struct vhf_test_seg){ gpa, 2048 };
				vhf_test_raw_chain(&raw, segs, (uint16_t)n, table, true, true);
				expect_rx(&env, n > VHF_CHAIN_MAX_DESC ?
						VHF_VQ_CNT_err_desc_chain : -1);
				vhf_test_env_fini(&env);
			}

	/* Split, ring of 16: two empty direct descriptors, then a full indirect table. */
	hostile_init(&h, true);
	table = vhf_guest_alloc(h.env.guest, 16 * QSIZE, 16);
	{
		struct vhf_vring_desc *t = vhf_guest_gpa_to_host(h.env.guest, table, 16 * QSIZE);

		assert_non_null(t);
		for (n = 0; n < QSIZE; n++)
			t[n] = (struct vhf_vring_desc){ h.buf_gpa, 128, VHF_DESC_F_WRITE |
							(n + 1 < QSIZE ? VHF_DESC_F_NEXT : 0),
							(uint16_t)(n + 1) };
	}
	set_desc(&h, 0, h.buf_gpa, 0, VHF_DESC_F_WRITE | VHF_DESC_F_NEXT, 1);
	set_desc(&h, 1, h.buf_gpa, 0, VHF_DESC_F_WRITE | VHF_DESC_F_NEXT, 2);
	set_desc(&h, 2, table, 16 * QSIZE, VHF_DESC_F_INDIRECT, 0);
	publish(&h, 0);
	expect_rx_broken(&h, VHF_VQ_CNT_err_desc_chain);
}

/*
 * An RX buffer shorter than the virtio-net header can never be used (with
 * MRG_RXBUF the spec makes the driver post none): the queue breaks, instead
 * of every packet walking it again. A buffer of exactly the header is fine.
 */
static void
test_rx_buffer_too_short(void **state)
{
	static const uint32_t lens[] = { 0, 1, VHF_NET_HDR_LEN_MRG - 1, VHF_NET_HDR_LEN_MRG };
	unsigned int packed, i;

	(void)state;
	for (packed = 0; packed < 2; packed++)
		for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
			struct vhf_test_env env;
			struct vhf_test_raw raw;
			struct vhf_test_seg seg;
			uint64_t gpa;

			vhf_test_raw_env_init(&env, &raw, packed, QSIZE, true);
			gpa = vhf_guest_alloc(env.guest, 4096, 64);
			seg = (struct vhf_test_seg){ gpa, lens[i] };
			vhf_test_raw_chain(&raw, &seg, 1, 0, true, true);
			seg = (struct vhf_test_seg){ gpa + 2048, 2048 };
			vhf_test_raw_chain(&raw, &seg, 1, 0, true, true);
			expect_rx(&env, lens[i] < VHF_NET_HDR_LEN_MRG ?
					VHF_VQ_CNT_err_to_guest_buf_short : -1);
			vhf_test_env_fini(&env);
		}
}

/* avail->idx moving back behind what a burst already reserved breaks the queue. */
static void
test_avail_idx_rollback(void **state)
{
	struct vhf_guest_config g;
	struct vhf_test_env env;
	struct vhf_burst_result res;
	struct vhf_vring_avail *avail;

	(void)state;
	memset(&g, 0, sizeof(g));
	g.size = 8;
	g.mrg_rxbuf = true;
	g.hdr_len = VHF_NET_HDR_LEN_MRG;
	g.buf_len = 150;
	vhf_test_env_init(&env, &g, VHF_NOTIFY_FIXED);
	avail = vhf_guest_split_avail(env.guest);
	vhf_guest_rx_add(env.guest, 5);
	/* 5 x 150 bytes cannot hold 1000: short, with avail->idx 5 seen. */
	assert_int_equal(vhf_test_rx_one(&env, 1000, 1, 1, &res), 0);
	assert_int_equal(res.status, VHF_TO_GUEST_WAIT_KICK);
	/* The guest takes back three published entries. */
	__atomic_store_n(&avail->idx, 2, __ATOMIC_RELEASE);
	assert_int_equal(vhf_test_rx_one(&env, 1000, 1, 1, &res), 1);
	assert_int_equal(res.status, VHF_TO_GUEST_BROKEN);
	assert_int_equal(env.vq.broken_reason, VHF_VQ_CNT_err_avail_idx);
	assert_int_equal(env.vq.cnt[VHF_VQ_CNT_packets], 0);
	vhf_test_env_fini(&env);
}

/*
 * Mergeable buffers of 100 B, 0xfffffff0 B and 100 B for a 150-byte packet:
 * their lengths must add up without wrapping 32 bits. Wrapped, the first two
 * looked like 84 bytes, a third buffer was taken, and the guest saw
 * num_buffers 3 with used lengths 100, 62, 0. The huge buffer lives in a
 * 4 GiB region of its own, reserved but never touched beyond what is written.
 */
static void
test_rx_buffer_sum_no_wrap(void **state)
{
	const uint64_t huge_len = 0xfffffff0, huge_gpa = 1ull << 40;
	struct vhf_vring_used *used;
	struct vhf_burst_result res;
	struct vhf_vq_config cfg;
	struct vhf_net_hdr hdr;
	struct vhf_mem mem;
	struct hostile h;
	uint8_t *huge, *buf;
	uint32_t i;

	(void)state;
	huge = mmap(NULL, huge_len, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	assert_true(huge != MAP_FAILED);
	hostile_init(&h, false);
	mem = *vhf_guest_mem(h.env.guest);
	assert_true(mem.nregions < VHF_MEM_MAX_REGIONS);
	mem.regions[mem.nregions++] = (struct vhf_mem_region){
		.guest_phys_addr = huge_gpa, .size = huge_len, .host_addr = (uintptr_t)huge };
	memset(&cfg, 0, sizeof(cfg));
	vhf_guest_vq_config(h.env.guest, &cfg);
	cfg.mem = &mem;
	assert_int_equal(vhf_vq_init(&h.env.vq, &cfg), 0);

	set_desc(&h, 0, h.buf_gpa, 100, VHF_DESC_F_WRITE, 0);
	set_desc(&h, 1, huge_gpa, (uint32_t)huge_len, VHF_DESC_F_WRITE, 0);
	set_desc(&h, 2, h.buf_gpa + 128, 100, VHF_DESC_F_WRITE, 0);
	publish(&h, 0);
	publish(&h, 1);
	publish(&h, 2);
	assert_int_equal(vhf_test_rx_one(&h.env, 150, 3, 1, &res), 1);
	assert_int_equal(res.status, VHF_TO_GUEST_DONE);
	assert_int_equal(h.env.vq.cnt[VHF_VQ_CNT_packets], 1);

	/* Two buffers: 100 bytes (header and 88 of payload), then the other 62. */
	used = vhf_guest_split_used(h.env.guest);
	assert_int_equal(__atomic_load_n(&used->idx, __ATOMIC_ACQUIRE), 2);
	assert_int_equal(used->ring[0].id, 0);
	assert_int_equal(used->ring[0].len, 100);
	assert_int_equal(used->ring[1].id, 1);
	assert_int_equal(used->ring[1].len, 62);
	buf = vhf_guest_gpa_to_host(h.env.guest, h.buf_gpa, 100);
	memcpy(&hdr, buf, VHF_NET_HDR_LEN_MRG);
	assert_int_equal(hdr.num_buffers, 2);
	assert_int_equal(vhf_test_check(buf + VHF_NET_HDR_LEN_MRG, 88, 3), 0);
	for (i = 88; i < 150; i++)
		assert_int_equal(huge[i - 88], (uint8_t)(i * 7 + 3 * 13 + (i >> 8)));
	vhf_test_env_fini(&h.env);
	assert_int_equal(munmap(huge, huge_len), 0);
}

/* A well-formed chain after a re-initialisation works again: broken is per queue life. */
static void
test_reinit_recovers(void **state)
{
	struct hostile h;
	struct vhf_vq_config cfg;
	struct vhf_burst_result res;
	uint8_t out[200];
	uint32_t len;

	(void)state;
	hostile_init(&h, false);
	publish(&h, QSIZE + 3);
	assert_int_equal(vhf_test_rx_one(&h.env, 100, 1, 1, &res), 1);
	assert_true(h.env.vq.broken);

	/* The guest resets the queue: fix the entry, device re-inits at its base. */
	h.avail->ring[0] = 0;
	set_desc(&h, 0, h.buf_gpa, 2048, VHF_DESC_F_WRITE, 0);
	memset(&cfg, 0, sizeof(cfg));
	vhf_guest_vq_config(h.env.guest, &cfg);
	assert_int_equal(vhf_vq_init(&h.env.vq, &cfg), 0);
	assert_int_equal(vhf_test_rx_one(&h.env, 100, 5, 1, &res), 1);
	assert_int_equal(res.status, VHF_TO_GUEST_DONE);
	assert_int_equal(h.env.vq.cnt[VHF_VQ_CNT_packets], 1);
	(void)out;
	(void)len;
	vhf_test_env_fini(&h.env);
}

/* TX side: a loop or a write-only buffer breaks the queue; dequeue reports it. */
static void
test_tx_hostile(void **state)
{
	struct vhf_guest_config g;
	struct vhf_test_env env;
	struct vhf_vring_desc *desc;
	struct vhf_vring_avail *avail;
	static struct vhf_from_guest_pkt pkt;
	uint64_t gpa;

	(void)state;
	memset(&g, 0, sizeof(g));
	g.size = QSIZE;
	g.hdr_len = VHF_NET_HDR_LEN_MRG;
	vhf_test_env_init(&env, &g, VHF_NOTIFY_FIXED);
	desc = vhf_guest_split_desc(env.guest);
	avail = vhf_guest_split_avail(env.guest);
	gpa = vhf_guest_alloc(env.guest, 4096, 64);
	desc[0] = (struct vhf_vring_desc){ gpa, 100, VHF_DESC_F_NEXT, 1 };
	desc[1] = (struct vhf_vring_desc){ gpa, 100, VHF_DESC_F_NEXT, 0 };
	avail->ring[0] = 0;
	__atomic_store_n(&avail->idx, 1, __ATOMIC_RELEASE);
	assert_int_equal(vhf_net_from_guest_next(&env.vq, &pkt), -EIO);
	assert_int_equal(env.vq.cnt[VHF_VQ_CNT_err_desc_loop], 1);
	assert_int_equal(vhf_net_from_guest_next(&env.vq, &pkt), -EIO);
	vhf_test_env_fini(&env);

	/* A chain shorter than the header is returned and skipped, not fatal. */
	vhf_test_env_init(&env, &g, VHF_NOTIFY_FIXED);
	desc = vhf_guest_split_desc(env.guest);
	avail = vhf_guest_split_avail(env.guest);
	gpa = vhf_guest_alloc(env.guest, 4096, 64);
	desc[0] = (struct vhf_vring_desc){ gpa, 4, 0, 0 };
	avail->ring[0] = 0;
	__atomic_store_n(&avail->idx, 1, __ATOMIC_RELEASE);
	assert_int_equal(vhf_net_from_guest_next(&env.vq, &pkt), 0);
	assert_int_equal(env.vq.cnt[VHF_VQ_CNT_err_hdr], 1);
	assert_false(env.vq.broken);
	vhf_net_from_guest_finish(&env.vq);
	assert_int_equal(__atomic_load_n(&vhf_guest_split_used(env.guest)->idx, __ATOMIC_ACQUIRE), 1);
	vhf_test_env_fini(&env);
}

/* Packed: a chain whose NEXT never ends is caught after one ring's worth of slots. */
static void
test_packed_endless_chain(void **state)
{
	struct vhf_guest_config g;
	struct vhf_test_env env;
	struct vhf_vring_packed_desc *desc;
	struct vhf_burst_result res;
	uint64_t gpa;
	uint16_t i;

	(void)state;
	memset(&g, 0, sizeof(g));
	g.size = 8;
	g.packed = true;
	g.mrg_rxbuf = true;
	g.hdr_len = VHF_NET_HDR_LEN_MRG;
	g.buf_len = 2048;
	vhf_test_env_init(&env, &g, VHF_NOTIFY_FIXED);
	desc = vhf_guest_packed_desc(env.guest);
	gpa = vhf_guest_alloc(env.guest, 4096, 64);
	/* Every slot available (wrap 1: AVAIL set, USED clear) and chained onwards. */
	for (i = 8; i-- > 0;) {
		desc[i].addr = gpa;
		desc[i].len = 1;
		desc[i].id = i;
		__atomic_store_n(&desc[i].flags,
				 VHF_DESC_F_AVAIL | VHF_DESC_F_WRITE | VHF_DESC_F_NEXT,
				 __ATOMIC_RELEASE);
	}
	assert_int_equal(vhf_test_rx_one(&env, 100, 1, 1, &res), 1);
	assert_int_equal(res.status, VHF_TO_GUEST_BROKEN);
	assert_int_equal(env.vq.cnt[VHF_VQ_CNT_err_desc_loop], 1);
	vhf_test_env_fini(&env);
}

/*
 * Packed TX indirect entries carrying WRITE (as DPDK's virtio driver leaves
 * them) are still read: the device only reads a TX buffer.
 */
static void
test_packed_tx_indirect_write_flag(void **state)
{
	struct vhf_guest_config g;
	struct vhf_test_env env;
	struct vhf_vring_packed_desc *desc, *table;
	static struct vhf_from_guest_pkt pkt;
	uint64_t table_gpa, buf_gpa;
	uint8_t *buf, out[100];

	(void)state;
	memset(&g, 0, sizeof(g));
	g.size = 8;
	g.packed = true;
	g.indirect = true;
	g.hdr_len = VHF_NET_HDR_LEN_MRG;
	vhf_test_env_init(&env, &g, VHF_NOTIFY_FIXED);
	desc = vhf_guest_packed_desc(env.guest);
	buf_gpa = vhf_guest_alloc(env.guest, 256, 64);
	table_gpa = vhf_guest_alloc(env.guest, 2 * sizeof(*table), 16);
	buf = vhf_guest_gpa_to_host(env.guest, buf_gpa, 256);
	table = vhf_guest_gpa_to_host(env.guest, table_gpa, 2 * sizeof(*table));
	assert_non_null(buf);
	assert_non_null(table);
	memset(buf, 0, VHF_NET_HDR_LEN_MRG);
	vhf_test_fill(buf + 64, 100, 9);
	table[0] = (struct vhf_vring_packed_desc){ buf_gpa, VHF_NET_HDR_LEN_MRG, 0,
						   VHF_DESC_F_WRITE };
	table[1] = (struct vhf_vring_packed_desc){ buf_gpa + 64, 100, 0, VHF_DESC_F_WRITE };
	desc[0].addr = table_gpa;
	desc[0].len = 2 * sizeof(*table);
	desc[0].id = 0;
	__atomic_store_n(&desc[0].flags, VHF_DESC_F_AVAIL | VHF_DESC_F_INDIRECT, __ATOMIC_RELEASE);
	assert_int_equal(vhf_net_from_guest_next(&env.vq, &pkt), 1);
	assert_int_equal(pkt.len, 100);
	assert_int_equal(vhf_iov_copy_out(out, pkt.iov, pkt.niov, 0, 100), 100);
	assert_int_equal(vhf_test_check(out, 100, 9), 0);
	assert_false(env.vq.broken);
	vhf_test_env_fini(&env);
}

/*
 * A buffer of one descriptor is mapped without the general walk, through the
 * region the last translation hit: its range must still end inside that
 * region. Ending on the region's last byte, it takes the packet whole; one
 * byte further, the queue breaks and nothing is written (both layouts).
 */
static void
test_lone_buffer_at_region_end(void **state)
{
	unsigned int layout;

	(void)state;
	for (layout = 0; layout < 2; layout++) {
		const uint32_t frame = 100, need = VHF_NET_HDR_LEN_MRG + frame;
		struct vhf_test_env env;
		struct vhf_test_raw raw;
		struct vhf_burst_result res;
		const struct vhf_mem_region *reg;
		struct vhf_test_seg seg;
		uint64_t end;
		uint8_t *tail;

		vhf_test_raw_env_init(&env, &raw, layout == 1, 8, true);
		reg = &vhf_guest_mem(env.guest)->regions[vhf_guest_mem(env.guest)->nregions - 1];
		end = reg->guest_phys_addr + reg->size;
		tail = vhf_guest_gpa_to_host(env.guest, end - need - 1, need + 1);
		assert_non_null(tail);
		memset(tail, 0xa5, need + 1);

		seg = (struct vhf_test_seg){ .gpa = end - need, .len = need };
		vhf_test_raw_chain(&raw, &seg, 1, 0, true, true);
		assert_int_equal(vhf_test_rx_one(&env, frame, 3, 1, &res), 1);
		assert_false(env.vq.broken);
		assert_int_equal(env.vq.cnt[VHF_VQ_CNT_packets], 1);
		assert_int_equal(vhf_test_check(tail + 1 + VHF_NET_HDR_LEN_MRG, frame, 3), 0);
		assert_int_equal(tail[0], 0xa5);

		/* The same length a byte later: its last byte lies outside guest memory. */
		memset(tail, 0xa5, need + 1);
		seg = (struct vhf_test_seg){ .gpa = end - need + 1, .len = need };
		vhf_test_raw_chain(&raw, &seg, 1, 0, true, true);
		assert_int_equal(vhf_test_rx_one(&env, frame, 4, 1, &res), 1);
		assert_int_equal(res.status, VHF_TO_GUEST_BROKEN);
		assert_int_equal(env.vq.broken_reason, VHF_VQ_CNT_err_desc_addr);
		assert_int_equal(env.vq.cnt[VHF_VQ_CNT_packets], 1);
		for (uint32_t i = 0; i < need + 1; i++)
			assert_int_equal(tail[i], 0xa5);
		vhf_test_env_fini(&env);
	}
}

/*
 * RX takes four buffers at once (vhf_vq_fetch_four(): a packed ring line, the
 * next four split avail entries) when all four are lone, published,
 * device-writable, large enough and mapped. Four with one slot that is not so
 * must come out exactly as chain at a time would have it: the slots before it
 * filled, that slot through every check of the walk. Slot 2, each way, and
 * four that all qualify. Split's own ways: unpublished is avail->idx left at
 * 2; a head out of the table's range; an avail index the guest made wild,
 * read by the four at once path and breaking the queue there, once.
 */
enum line_slot {
	LINE_GOOD,
	LINE_UNMAPPED,
	LINE_READ_ONLY,
	LINE_CHAIN,
	LINE_SHORT,
	LINE_UNPUBLISHED,
	LINE_USED_LOOK, /* packed: AVAIL as an available slot's, USED too: a used one's of this lap */
	LINE_WILD_HEAD, /* split */
	LINE_WILD_IDX,  /* split */
};

/* n packets of frame pattern bytes (packet k: seq + k), one segment each, in one burst. */
static uint16_t
rx_burst(struct vhf_test_env *env, uint32_t frame, uint32_t seq, uint16_t n,
	 struct vhf_burst_result *res)
{
	static uint8_t data[40][256];
	static struct vhf_seg segs[40];
	static struct vhf_to_guest_pkt pkts[40];
	uint16_t k;

	assert_true(n <= 40 && frame <= sizeof(data[0]));
	for (k = 0; k < n; k++) {
		vhf_test_fill(data[k], frame, seq + k);
		segs[k] = (struct vhf_seg){ .data = data[k], .len = frame };
		pkts[k] = (struct vhf_to_guest_pkt){ .segs = &segs[k], .nsegs = 1, .len = frame };
	}
	return vhf_net_to_guest_enqueue(&env->vq, pkts, n, res);
}

static void
run_rx_line_slot_by_slot(bool packed)
{
	const uint32_t frame = 100, need = VHF_NET_HDR_LEN_MRG + frame;
	enum line_slot how;

	for (how = LINE_GOOD; how <= LINE_WILD_IDX; how++) {
		struct vhf_test_env env;
		struct vhf_test_raw raw;
		struct vhf_burst_result res;
		uint64_t gpa[7]; /* six buffers, and the one a chain in slot 2 takes from slot 3 */
		uint16_t k, taken;

		if (packed ? how > LINE_USED_LOOK : how == LINE_USED_LOOK)
			continue;
		vhf_test_raw_env_init(&env, &raw, packed, 16, true);
		for (k = 0; k < 7; k++) {
			gpa[k] = vhf_guest_alloc(env.guest, 256, 64);
			assert_true(gpa[k] != 0);
		}
		for (k = 0; k < 6; k++) {
			struct vhf_test_seg seg[2] = { { .gpa = gpa[k], .len = 256 },
						       { .gpa = gpa[k + 1], .len = 256 } };
			bool write = true, publish = true;
			uint16_t n = 1;

			if (k == 2) {
				if (how == LINE_UNMAPPED)
					seg[0].gpa = 1ull << 50;
				write = how != LINE_READ_ONLY;
				n = how == LINE_CHAIN ? 2 : 1;
				if (how == LINE_SHORT)
					seg[0].len = need / 2;
				publish = how != LINE_UNPUBLISHED && how != LINE_USED_LOOK;
				/* Not yet published: what a slot the device used last lap holds. */
				if (how == LINE_UNPUBLISHED && packed)
					vhf_guest_packed_desc(env.guest)[2].flags = VHF_DESC_F_WRITE;
				if (how == LINE_USED_LOOK)
					vhf_guest_packed_desc(env.guest)[2].flags =
						VHF_DESC_F_AVAIL | VHF_DESC_F_USED | VHF_DESC_F_WRITE;
			}
			/* Split: avail->idx, once left behind, stays there. */
			vhf_test_raw_chain(&raw, seg, n, 0, write,
					   publish && (packed || how != LINE_UNPUBLISHED || k < 2));
			if (n == 2)
				k++;
		}
		if (how == LINE_WILD_HEAD) {
			/*
			 * A head past the table whose would-be descriptor is a good
			 * buffer in guest memory: taking it without the range check
			 * delivers there instead of breaking the queue.
			 */
			struct vhf_vring_desc *table = vhf_guest_split_desc(env.guest);
			uint64_t lure = vhf_guest_alloc(env.guest, 64, 64);
			struct vhf_vring_desc *at = vhf_guest_gpa_to_host(env.guest, lure, 16);
			ptrdiff_t head = at - table;

			assert_true(head >= 16 && head <= UINT16_MAX);
			*at = (struct vhf_vring_desc){ .addr = gpa[6], .len = 256,
						       .flags = VHF_DESC_F_WRITE };
			vhf_guest_split_avail(env.guest)->ring[2] = (uint16_t)head;
		}
		if (how == LINE_WILD_IDX)
			__atomic_store_n(&vhf_guest_split_avail(env.guest)->idx, (uint16_t)(16 + 1),
					 __ATOMIC_RELEASE);

		taken = rx_burst(&env, frame, 10, 4, &res);
		switch (how) {
		case LINE_UNMAPPED:
		case LINE_READ_ONLY:
		case LINE_WILD_HEAD:
			/* The two before it delivered, the queue broken at it. */
			assert_int_equal(res.status, VHF_TO_GUEST_BROKEN);
			assert_int_equal(env.vq.broken_reason,
					 how == LINE_UNMAPPED ? VHF_VQ_CNT_err_desc_addr :
					 how == LINE_READ_ONLY ? VHF_VQ_CNT_err_desc_flags :
								VHF_VQ_CNT_err_desc_index);
			assert_int_equal(env.vq.cnt[VHF_VQ_CNT_packets], 2);
			assert_int_equal(env.vq.cnt[VHF_VQ_CNT_drop_broken], 2);
			break;
		case LINE_WILD_IDX:
			/* Nothing taken, every packet dropped, the index counted once. */
			assert_int_equal(taken, 4);
			assert_int_equal(res.status, VHF_TO_GUEST_BROKEN);
			assert_int_equal(env.vq.broken_reason, VHF_VQ_CNT_err_avail_idx);
			assert_int_equal(env.vq.cnt[VHF_VQ_CNT_err_avail_idx], 1);
			assert_int_equal(env.vq.cnt[VHF_VQ_CNT_packets], 0);
			assert_int_equal(env.vq.cnt[VHF_VQ_CNT_drop_broken], 4);
			assert_int_equal(env.vq.cnt[VHF_VQ_CNT_descs_read], 0);
			break;
		case LINE_GOOD:
		case LINE_CHAIN:
		case LINE_SHORT:
			/*
			 * LINE_GOOD: a buffer each. Else the third packet takes slots 2
			 * and 3 (one chain, or two buffers merged), the fourth slot 4.
			 */
			assert_int_equal(taken, 4);
			assert_false(env.vq.broken);
			assert_int_equal(env.vq.cnt[VHF_VQ_CNT_packets], 4);
			assert_int_equal(env.vq.cnt[VHF_VQ_CNT_bufs], how == LINE_SHORT ? 5 : 4);
			/*
			 * Reads: a packed line refused on its flags reads nothing; four
			 * refused on slot 2's length (split: also its flags) have read
			 * three, then chain at a time reads five.
			 */
			assert_int_equal(env.vq.cnt[VHF_VQ_CNT_descs_read],
					 how == LINE_GOOD ? 4 : how == LINE_CHAIN && packed ? 5 : 3 + 5);
			break;
		case LINE_UNPUBLISHED:
		case LINE_USED_LOOK:
			/* The two before it, then short: the third waits for the guest. */
			assert_int_equal(taken, 2);
			assert_false(env.vq.broken);
			assert_int_equal(env.vq.cnt[VHF_VQ_CNT_packets], 2);
			break;
		}
		for (k = 0; k < (how == LINE_GOOD ? 4 : how == LINE_WILD_IDX ? 0 : 2); k++) {
			const uint8_t *buf = vhf_guest_gpa_to_host(env.guest, gpa[k], need);

			assert_int_equal(vhf_test_check(buf + VHF_NET_HDR_LEN_MRG, frame, 10 + k), 0);
		}
		if (how == LINE_CHAIN)
			assert_int_equal(vhf_test_check((const uint8_t *)vhf_guest_gpa_to_host(
				env.guest, gpa[2], need) + VHF_NET_HDR_LEN_MRG, frame, 12), 0);
		vhf_test_env_fini(&env);
	}
}

static void
test_packed_line_slot_by_slot(void **state)
{
	(void)state;
	run_rx_line_slot_by_slot(true);
}

static void
test_split_four_slot_by_slot(void **state)
{
	(void)state;
	run_rx_line_slot_by_slot(false);
}

/*
 * The same four, guest to host: the TX path takes four lone chains at once
 * (a packed ring line, four split avail entries) when each holds a header and
 * a frame. Slot 2 spoils it in each way above (LINE_READ_ONLY here: a TX
 * buffer the device may write, the wrong direction; LINE_SHORT: a runt;
 * split: unpublished is avail->idx left at 2, and a used one's look is
 * packed's only): the chains before it come out, then it meets the chain at a
 * time path's checks, the queue broken or the runt passed over and counted as
 * a chain taken alone would be. Six chains in a sixteen-slot ring, the packet
 * of gpa[k] carrying seq 10 + k.
 */
static void
run_tx_line_slot_by_slot(bool packed)
{
	const uint32_t frame = 100, whole = VHF_NET_HDR_LEN_MRG + frame;
	enum line_slot how;

	for (how = LINE_GOOD; how <= (packed ? LINE_USED_LOOK : LINE_UNPUBLISHED); how++) {
		static struct vhf_from_guest_pkt pkt;
		static const uint32_t seqs[][6] = {
			[LINE_GOOD] = { 10, 11, 12, 13, 14, 15 },
			[LINE_UNMAPPED] = { 10, 11 },
			[LINE_READ_ONLY] = { 10, 11 },
			[LINE_CHAIN] = { 10, 11, 12, 14, 15 },
			[LINE_SHORT] = { 10, 11, 13, 14, 15 },
			[LINE_UNPUBLISHED] = { 10, 11 },
			[LINE_USED_LOOK] = { 10, 11 },
		};
		/*
		 * Reads: packed lines 0-3 and 4-7 (slots 6 and 7 unpublished)
		 * refused on their flags read nothing; four refused on slot 2's
		 * length (split: also its flags) have read three before the chain
		 * at a time path reads them again.
		 */
		static const uint64_t reads[2][LINE_USED_LOOK + 1] = {
			[true] = { [LINE_GOOD] = 4 + 2, [LINE_CHAIN] = 1 + 1 + 2 + 1 + 1,
				   [LINE_SHORT] = 3 + 4 + 2 },
			[false] = { [LINE_GOOD] = 4 + 2, [LINE_CHAIN] = 3 + 1 + 1 + 2 + 1 + 1,
				    [LINE_SHORT] = 3 + 4 + 2 },
		};
		struct vhf_net_hdr hdr = { 0 };
		struct vhf_test_env env;
		struct vhf_test_raw raw;
		uint64_t gpa[7];
		uint8_t out[128];
		uint16_t k, got = 0;
		int ret;

		vhf_test_raw_env_init(&env, &raw, packed, 16, false);
		for (k = 0; k < 7; k++) {
			uint8_t *host;

			gpa[k] = vhf_guest_alloc(env.guest, 256, 64);
			host = vhf_guest_gpa_to_host(env.guest, gpa[k], 256);
			assert_non_null(host);
			hdr.gso_size = (uint16_t)(10 + k);
			memcpy(host, &hdr, VHF_NET_HDR_LEN_MRG);
			vhf_test_fill(host + VHF_NET_HDR_LEN_MRG, frame, 10 + k);
		}
		for (k = 0; k < 6; k++) {
			struct vhf_test_seg seg[2] = { { .gpa = gpa[k], .len = whole } };
			bool write = false, publish = true;
			uint16_t n = 1;

			if (k == 2) {
				if (how == LINE_UNMAPPED)
					seg[0].gpa = 1ull << 50;
				write = how == LINE_READ_ONLY;
				if (how == LINE_CHAIN) {
					/* Header and 40 bytes here, the other 60 in gpa[3]. */
					uint8_t *second = vhf_guest_gpa_to_host(env.guest, gpa[3], 256);
					uint8_t *first = vhf_guest_gpa_to_host(env.guest, gpa[2], 256);

					memcpy(second, first + VHF_NET_HDR_LEN_MRG + 40, 60);
					seg[0].len = VHF_NET_HDR_LEN_MRG + 40;
					seg[1] = (struct vhf_test_seg){ .gpa = gpa[3], .len = 60 };
					n = 2;
				}
				if (how == LINE_SHORT)
					seg[0].len = VHF_NET_HDR_LEN_MRG + VHF_NET_MIN_FRAME_LEN - 1;
				publish = how != LINE_UNPUBLISHED && how != LINE_USED_LOOK;
				if (how == LINE_UNPUBLISHED && packed)
					vhf_guest_packed_desc(env.guest)[2].flags = 0;
				if (how == LINE_USED_LOOK)
					vhf_guest_packed_desc(env.guest)[2].flags =
						VHF_DESC_F_AVAIL | VHF_DESC_F_USED;
			}
			/* Split: avail->idx, once left behind, stays there. */
			vhf_test_raw_chain(&raw, seg, n, 0, write,
					   publish && (packed || how != LINE_UNPUBLISHED || k < 2));
			if (n == 2)
				k++;
		}

		while ((ret = vhf_net_from_guest_next(&env.vq, &pkt)) == 1) {
			uint32_t seq;

			assert_true(got < 6);
			seq = seqs[how][got++];
			assert_true(seq != 0); /* no more than the list */
			assert_int_equal(pkt.len, frame);
			assert_int_equal(pkt.hdr.gso_size, seq);
			assert_int_equal(vhf_iov_copy_out(out, pkt.iov, pkt.niov, 0, frame), frame);
			assert_int_equal(vhf_test_check(out, frame, seq), 0);
		}
		vhf_net_from_guest_finish(&env.vq);
		assert_true(got == 6 || seqs[how][got] == 0);
		switch (how) {
		case LINE_UNMAPPED:
		case LINE_READ_ONLY:
			assert_int_equal(ret, -EIO);
			assert_int_equal(env.vq.broken_reason, how == LINE_UNMAPPED ?
					 VHF_VQ_CNT_err_desc_addr : VHF_VQ_CNT_err_desc_flags);
			break;
		case LINE_GOOD:
		case LINE_CHAIN:
		case LINE_SHORT:
			assert_int_equal(ret, 0);
			assert_false(env.vq.broken);
			assert_int_equal(env.vq.cnt[VHF_VQ_CNT_descs_read], reads[packed][how]);
			assert_int_equal(env.vq.cnt[VHF_VQ_CNT_drop_runt], how == LINE_SHORT);
			break;
		case LINE_UNPUBLISHED:
		case LINE_USED_LOOK:
			/* The two before it, then nothing: slot 2 waits for the guest. */
			assert_int_equal(ret, 0);
			assert_false(env.vq.broken);
			break;
		case LINE_WILD_HEAD:
		case LINE_WILD_IDX:
			fail(); /* RX's; TX's wild index: test_split_tx_wild_idx_four() */
		}
		vhf_test_env_fini(&env);
	}
}

static void
test_packed_tx_line_slot_by_slot(void **state)
{
	(void)state;
	run_tx_line_slot_by_slot(true);
}

static void
test_split_tx_four_slot_by_slot(void **state)
{
	(void)state;
	run_tx_line_slot_by_slot(false);
}

/*
 * A split TX burst that knows fewer than four published chains reads avail->idx
 * again for four at once. A wild one there breaks the queue, and so does one
 * taken back behind the index read before (not behind any chain consumed: the
 * guest unpublished the one chain the device knew of and was about to take,
 * and taken with the index moved back, the next burst would take entries the
 * guest never published). Neither hands that chain out.
 */
static void
run_split_tx_idx_four(bool back)
{
	const uint32_t frame = 100, whole = VHF_NET_HDR_LEN_MRG + frame;
	static struct vhf_from_guest_pkt pkt;
	struct vhf_test_env env;
	struct vhf_test_raw raw;
	uint16_t k;

	vhf_test_raw_env_init(&env, &raw, false, 16, false);
	for (k = 0; k < 5; k++) {
		uint64_t gpa = vhf_guest_alloc(env.guest, 256, 64);
		uint8_t *host = vhf_guest_gpa_to_host(env.guest, gpa, 256);
		struct vhf_test_seg seg = { .gpa = gpa, .len = whole };

		assert_non_null(host);
		memset(host, 0, VHF_NET_HDR_LEN_MRG);
		vhf_test_fill(host + VHF_NET_HDR_LEN_MRG, frame, k);
		vhf_test_raw_chain(&raw, &seg, 1, 0, false, true);
	}
	for (k = 0; k < 4; k++)
		assert_int_equal(vhf_net_from_guest_next(&env.vq, &pkt), 1);
	/* Chain 4 is known published; the index the four at once path reads is not. */
	__atomic_store_n(&vhf_guest_split_avail(env.guest)->idx, (uint16_t)(back ? 4 : 5 + 17),
			 __ATOMIC_RELEASE);
	assert_int_equal(vhf_net_from_guest_next(&env.vq, &pkt), -EIO);
	vhf_net_from_guest_finish(&env.vq);
	assert_true(env.vq.broken);
	assert_int_equal(env.vq.broken_reason, VHF_VQ_CNT_err_avail_idx);
	assert_int_equal(env.vq.cnt[VHF_VQ_CNT_err_avail_idx], 1);
	assert_int_equal(env.vq.cnt[VHF_VQ_CNT_packets], 4);
	vhf_test_env_fini(&env);
}

static void
test_split_tx_wild_idx_four(void **state)
{
	(void)state;
	run_split_tx_idx_four(false);
	run_split_tx_idx_four(true);
}

/*
 * Packed RX takes up to eight lines of four (32 packets) before it writes any
 * of them (vhf_to_guest_deliver_lines()), then the next eight. A line that
 * says no after others were taken must leave those delivered whole and go on
 * chain at a time from its first slot. Forty packets into forty lone buffers,
 * the one in slot 37 unmapped: lines 0-7 taken and written, line 8 taken and
 * written, line 9 refused; chain at a time delivers slot 36's packet and
 * breaks the queue at 37: 37 delivered, the last three dropped. Split (one
 * line at a time) comes out the same; and with the second line's look at
 * avail->idx finding it wild, the first line delivered, the other four dropped.
 */
struct wild_idx_at {
	struct vhf_test_env *env;
	uint16_t at;
};

/* The guest's step: when the device's cursor reaches at, avail->idx goes wild. */
static void
wild_idx_at_cursor(void *arg)
{
	struct wild_idx_at *w = arg;

	if (w->env->vq.next_avail == w->at)
		__atomic_store_n(&vhf_guest_split_avail(w->env->guest)->idx,
				 (uint16_t)(w->at + 64 + 1), __ATOMIC_RELEASE);
}

static void
run_rx_lines_then_refusal(bool packed, bool wild_idx)
{
	const uint32_t frame = 60, need = VHF_NET_HDR_LEN_MRG + frame;
	const uint16_t n = wild_idx ? 8 : 40, delivered = wild_idx ? 4 : 37;
	struct vhf_test_env env;
	struct vhf_test_raw raw;
	struct vhf_burst_result res;
	struct wild_idx_at w = { .env = &env, .at = 4 };
	uint64_t gpa[40];
	uint16_t k;

	vhf_test_raw_env_init(&env, &raw, packed, 64, true);
	for (k = 0; k < n; k++) {
		struct vhf_test_seg seg = { .gpa = vhf_guest_alloc(env.guest, 128, 64), .len = 128 };

		assert_true(seg.gpa != 0);
		gpa[k] = seg.gpa;
		if (!wild_idx && k == 37)
			seg.gpa = 1ull << 50;
		/* Split with a wild index: the first line's four only, the index then goes wild. */
		vhf_test_raw_chain(&raw, &seg, 1, 0, true, !wild_idx || k < 4);
	}
	if (wild_idx)
		vhf_test_set_guest_step(wild_idx_at_cursor, &w);
	assert_int_equal(rx_burst(&env, frame, 0, n, &res), n);
	vhf_test_set_guest_step(NULL, NULL);
	assert_int_equal(res.status, VHF_TO_GUEST_BROKEN);
	assert_int_equal(env.vq.broken_reason,
			 wild_idx ? VHF_VQ_CNT_err_avail_idx : VHF_VQ_CNT_err_desc_addr);
	assert_int_equal(env.vq.cnt[VHF_VQ_CNT_packets], delivered);
	assert_int_equal(env.vq.cnt[VHF_VQ_CNT_drop_broken], n - delivered);
	for (k = 0; k < delivered; k++) {
		const uint8_t *buf = vhf_guest_gpa_to_host(env.guest, gpa[k], need);

		assert_int_equal(vhf_test_check(buf + VHF_NET_HDR_LEN_MRG, frame, k), 0);
	}
	vhf_test_env_fini(&env);
}

static void
test_rx_lines_then_refusal(void **state)
{
	(void)state;
	run_rx_lines_then_refusal(true, false);
	run_rx_lines_then_refusal(false, false);
	run_rx_lines_then_refusal(false, true);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_head_out_of_range),
		cmocka_unit_test(test_next_out_of_range),
		cmocka_unit_test(test_chain_loop),
		cmocka_unit_test(test_unmapped_address),
		cmocka_unit_test(test_wrong_direction),
		cmocka_unit_test(test_lone_buffer_at_region_end),
		cmocka_unit_test(test_packed_line_slot_by_slot),
		cmocka_unit_test(test_split_four_slot_by_slot),
		cmocka_unit_test(test_packed_tx_line_slot_by_slot),
		cmocka_unit_test(test_split_tx_four_slot_by_slot),
		cmocka_unit_test(test_split_tx_wild_idx_four),
		cmocka_unit_test(test_rx_lines_then_refusal),
		cmocka_unit_test(test_wild_avail_idx),
		cmocka_unit_test(test_avail_idx_rollback),
		cmocka_unit_test(test_indirect_abuse),
		cmocka_unit_test(test_indirect_longer_than_ring),
		cmocka_unit_test(test_chain_too_long),
		cmocka_unit_test(test_rx_buffer_too_short),
		cmocka_unit_test(test_reinit_recovers),
		cmocka_unit_test(test_rx_buffer_sum_no_wrap),
		cmocka_unit_test(test_tx_hostile),
		cmocka_unit_test(test_packed_endless_chain),
		cmocka_unit_test(test_packed_tx_indirect_write_flag),
	};

	return cmocka_run_group_tests_name("hostile", tests, NULL, NULL);
}
