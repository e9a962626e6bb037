/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 dpdk-vhostfix authors
 */

/*
 * Guest -> host: dequeue for every layout x EVENT_IDX x INDIRECT x IN_ORDER x header
 * layout (its own descriptor, or pushed in front of a one-segment frame), and safe
 * sleeping on TX kicks.
 */

#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vhf_test_env.h"

struct variant {
	bool packed;
	bool event_idx;
	bool indirect;
	bool in_order;
	bool push_hdr;
	char name[64];
};

/* Variant bits, for a case's need_bits. */
#define V_PACKED 1
#define V_IN_ORDER 8
#define V_PUSH_HDR 16
#define NVARIANTS 32

static struct variant variants[NVARIANTS];

static void
tx_env(struct vhf_test_env *env, const struct variant *v, uint16_t size)
{
	struct vhf_guest_config g;

	memset(&g, 0, sizeof(g));
	g.size = size;
	g.packed = v->packed;
	g.event_idx = v->event_idx;
	g.indirect = v->indirect;
	g.in_order = v->in_order;
	g.tx_push_hdr = v->push_hdr;
	g.hdr_len = VHF_NET_HDR_LEN_MRG;
	g.two_regions = true;
	vhf_test_env_init(env, &g, VHF_NOTIFY_FIXED);
}

/* Dequeue one packet and check header and payload. */
static void
device_expect(struct vhf_test_env *env, uint32_t len, uint32_t seq, const struct vhf_net_hdr *hdr)
{
	static struct vhf_from_guest_pkt pkt;
	static uint8_t out[70000];
	uint32_t sum = 0;
	uint16_t i;

	assert_int_equal(vhf_net_from_guest_next(&env->vq, &pkt), 1);
	assert_int_equal(pkt.len, len);
	for (i = 0; i < pkt.niov; i++)
		sum += pkt.iov[i].len;
	assert_int_equal(sum, len);
	assert_int_equal(vhf_iov_copy_out(out, pkt.iov, pkt.niov, 0, len), len);
	assert_int_equal(vhf_test_check(out, len, seq), 0);
	assert_int_equal(pkt.hdr.flags, hdr->flags);
	assert_int_equal(pkt.hdr.gso_type, hdr->gso_type);
	assert_int_equal(pkt.hdr.gso_size, hdr->gso_size);
	assert_int_equal(pkt.hdr.csum_start, hdr->csum_start);
	assert_int_equal(pkt.hdr.csum_offset, hdr->csum_offset);
}

/* The guest sends n packets of len pattern bytes in nsegs segments, seq on, plain headers. */
static void
guest_send_seq(struct vhf_test_env *env, uint32_t seq, unsigned int n, uint32_t len,
	       unsigned int nsegs)
{
	static const struct vhf_net_hdr hdr = { 0 };
	static uint8_t data[2048];
	unsigned int i;

	assert_true(len <= sizeof(data));
	for (i = 0; i < n; i++) {
		vhf_test_fill(data, len, seq + i);
		assert_int_equal(vhf_guest_tx_send(env->guest, data, len, &hdr, nsegs), 0);
	}
}

static void
test_tx_roundtrip(void **state)
{
	const struct variant *v = *state;
	static const uint32_t lens[] = { 60, 1514, 9000, VHF_NET_MIN_FRAME_LEN, 65000, 64 };
	static uint8_t data[70000];
	struct vhf_test_env env;
	struct vhf_net_hdr hdr = { .flags = VHF_NET_HDR_F_NEEDS_CSUM, .gso_type = 0,
				   .csum_start = 34, .csum_offset = 16 };
	unsigned int round, i;
	uint32_t seq = 0;

	tx_env(&env, v, 64);
	for (round = 0; round < 30; round++) {
		for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
			unsigned int nsegs = 1 + (seq % 4);

			vhf_test_fill(data, lens[i], seq);
			hdr.gso_size = (uint16_t)seq;
			assert_int_equal(vhf_guest_tx_send(env.guest, data, lens[i], &hdr, nsegs), 0);
			device_expect(&env, lens[i], seq, &hdr);
			assert_int_equal(vhf_net_from_guest_next(&env.vq,
								 &(struct vhf_from_guest_pkt){ 0 }), 0);
			vhf_net_from_guest_finish(&env.vq);
			assert_int_equal(vhf_guest_tx_reclaim(env.guest), 1);
			seq++;
		}
	}
	assert_int_equal(env.vq.cnt[VHF_VQ_CNT_packets], seq);
	vhf_test_env_fini(&env);
}

/* Several packets, one publication, one interrupt decision. */
static void
test_tx_burst(void **state)
{
	const struct variant *v = *state;
	struct vhf_test_env env;
	struct vhf_net_hdr hdr = { 0 };
	unsigned int i;

	tx_env(&env, v, 32);
	assert_false(vhf_guest_enable_cb_and_check(env.guest));
	guest_send_seq(&env, 0, 10, 300, 2);
	for (i = 0; i < 10; i++)
		device_expect(&env, 300, i, &hdr);
	assert_int_equal(vhf_guest_tx_reclaim(env.guest), 0); /* nothing published yet */
	assert_true(vhf_net_from_guest_finish(&env.vq));
	assert_int_equal(vhf_guest_tx_reclaim(env.guest), 10);
	assert_int_equal(env.vq.cnt[VHF_VQ_CNT_calls], 1);
	vhf_test_env_fini(&env);
}

/*
 * More chains in one burst than the device stages before writing used entries
 * to the ring (VHF_USED_SHADOW), the second burst across the ring's end:
 * nothing is visible to the guest before the burst's publication, then every
 * entry is, with the right ids (the guest model checks each one).
 */
static void
test_tx_long_burst(void **state)
{
	const struct variant *v = *state;
	static const unsigned int bursts[] = { 100, 120 };
	struct vhf_test_env env;
	struct vhf_net_hdr hdr = { 0 };
	unsigned int b, i;
	uint32_t seq = 0;

	tx_env(&env, v, 256);
	for (b = 0; b < 2; b++) {
		guest_send_seq(&env, seq, bursts[b], 200, 1);
		for (i = 0; i < bursts[b]; i++)
			device_expect(&env, 200, seq + i, &hdr);
		seq += bursts[b];
		assert_int_equal(vhf_net_from_guest_next(&env.vq,
							 &(struct vhf_from_guest_pkt){ 0 }), 0);
		assert_int_equal(vhf_guest_tx_reclaim(env.guest), 0);
		vhf_net_from_guest_finish(&env.vq);
		assert_int_equal(vhf_guest_tx_reclaim(env.guest), bursts[b]);
	}
	assert_int_equal(env.vq.cnt[VHF_VQ_CNT_packets], seq);
	assert_int_equal(env.vq.cnt[VHF_VQ_CNT_bufs], seq);
	vhf_test_env_fini(&env);
}

/*
 * The virtio-net header cut over several descriptors, its end sharing one
 * with the frame's start: header and payload come out whole all the same.
 */
static void
test_tx_header_spread(void **state)
{
	const struct variant *v = *state;
	/* Descriptor lengths; the header is the first 12 bytes of their concatenation. */
	static const uint32_t cuts[][6] = {
		{ 5, 4, 3 + 20, 180 },
		{ 1, 1, 1, 1, 8, 200 },
		{ 11, 1 + 199, 1 },
		{ 6, 6, 200 },
	};
	struct vhf_net_hdr hdr = { .flags = VHF_NET_HDR_F_NEEDS_CSUM, .csum_start = 34,
				   .csum_offset = 16, .gso_size = 7 };
	struct vhf_test_env env;
	struct vhf_test_raw raw;
	unsigned int c;

	tx_env(&env, v, 16);
	vhf_test_raw_init(&raw, &env);
	for (c = 0; c < sizeof(cuts) / sizeof(cuts[0]); c++) {
		uint64_t gpa = vhf_guest_alloc(env.guest, 512, 64);
		uint64_t table = v->indirect ? vhf_guest_alloc(env.guest, 6 * 16, 16) : 0;
		uint8_t *host = vhf_guest_gpa_to_host(env.guest, gpa, 512);
		struct vhf_test_seg segs[6];
		uint32_t off = 0;
		uint16_t n = 0;

		assert_non_null(host);
		memcpy(host, &hdr, VHF_NET_HDR_LEN_MRG);
		vhf_test_fill(host + VHF_NET_HDR_LEN_MRG, 200, c);
		while (n < 6 && cuts[c][n] != 0) {
			segs[n] = (struct vhf_test_seg){ gpa + off, cuts[c][n] };
			off += cuts[c][n++];
		}
		assert_int_equal(off, VHF_NET_HDR_LEN_MRG + 200);
		vhf_test_raw_chain(&raw, segs, n, table, false, true);
		device_expect(&env, 200, c, &hdr);
		hdr.gso_size++;
	}
	assert_int_equal(vhf_net_from_guest_next(&env.vq, &(struct vhf_from_guest_pkt){ 0 }), 0);
	vhf_net_from_guest_finish(&env.vq);
	assert_int_equal(env.vq.cnt[VHF_VQ_CNT_bufs], 4);
	assert_int_equal(env.vq.cnt[VHF_VQ_CNT_drop_runt], 0);
	vhf_test_env_fini(&env);
}

/*
 * No TX offload negotiated (vq.tx_hdr_unread, vhf_ofl_tx_hdr_meaningful()
 * false): whatever the guest's header holds, it is handed out as zeroes and
 * the frame as sent; eight packets, so that packed variants with the header
 * pushed take a ring line whole too. Then a header alone in its descriptor on
 * a page the host cannot read: a load of it faults.
 */
static void
test_tx_hdr_unread(void **state)
{
	const struct variant *v = *state;
	static const struct vhf_net_hdr zero;
	const struct vhf_net_hdr hdr = { .flags = VHF_NET_HDR_F_NEEDS_CSUM,
					 .gso_type = VHF_NET_HDR_GSO_TCPV4, .gso_size = 1400,
					 .csum_start = 34, .csum_offset = 16 };
	const long page = sysconf(_SC_PAGESIZE);
	static uint8_t data[200];
	struct vhf_test_env env;
	struct vhf_test_raw raw;
	struct vhf_test_seg segs[2];
	uint64_t gpa, table;
	uint8_t *host, *hdr_page;
	unsigned int i;

	tx_env(&env, v, 16);
	env.vq.tx_hdr_unread = true;
	for (i = 0; i < 8; i++) {
		vhf_test_fill(data, sizeof(data), i);
		assert_int_equal(vhf_guest_tx_send(env.guest, data, sizeof(data), &hdr, 1), 0);
	}
	for (i = 0; i < 8; i++)
		device_expect(&env, sizeof(data), i, &zero);
	vhf_net_from_guest_finish(&env.vq);
	assert_int_equal(vhf_guest_tx_reclaim(env.guest), 8);
	vhf_test_env_fini(&env);

	tx_env(&env, v, 16);
	env.vq.tx_hdr_unread = true;
	vhf_test_raw_init(&raw, &env);
	gpa = vhf_guest_alloc(env.guest, 3 * (uint64_t)page, 64);
	table = v->indirect ? vhf_guest_alloc(env.guest, 2 * 16, 16) : 0;
	host = vhf_guest_gpa_to_host(env.guest, gpa, 3 * (uint64_t)page);
	assert_non_null(host);
	hdr_page = (uint8_t *)(((uintptr_t)host + (uintptr_t)page - 1) & ~((uintptr_t)page - 1));
	memcpy(hdr_page, &hdr, VHF_NET_HDR_LEN_MRG);
	vhf_test_fill(hdr_page + page, sizeof(data), 9);
	segs[0] = (struct vhf_test_seg){ gpa + (uint64_t)(hdr_page - host), VHF_NET_HDR_LEN_MRG };
	segs[1] = (struct vhf_test_seg){ segs[0].gpa + (uint64_t)page, sizeof(data) };
	vhf_test_raw_chain(&raw, segs, 2, table, false, true);
	assert_int_equal(mprotect(hdr_page, (size_t)page, PROT_NONE), 0);
	device_expect(&env, sizeof(data), 9, &zero);
	assert_int_equal(mprotect(hdr_page, (size_t)page, PROT_READ | PROT_WRITE), 0);
	vhf_net_from_guest_finish(&env.vq);
	vhf_test_env_fini(&env);
}

/*
 * Frames shorter than an Ethernet header, a header-only chain among them,
 * are consumed and counted, never delivered; the next good frame is.
 */
static void
test_tx_runt(void **state)
{
	const struct variant *v = *state;
	static const uint32_t runts[] = { 0, 1, VHF_NET_MIN_FRAME_LEN - 1 };
	static struct vhf_from_guest_pkt pkt;
	struct vhf_net_hdr hdr = { 0 };
	uint8_t data[VHF_NET_MIN_FRAME_LEN];
	struct vhf_test_env env;
	struct vhf_test_raw raw;
	struct vhf_test_seg segs[2];
	uint64_t gpa;
	unsigned int i;

	/* The guest model: header-only (0), 1 and 13 bytes, then 14. */
	tx_env(&env, v, 16);
	for (i = 0; i < sizeof(runts) / sizeof(runts[0]); i++)
		assert_int_equal(vhf_guest_tx_send(env.guest, data, runts[i], &hdr, 2), 0);
	vhf_test_fill(data, sizeof(data), 3);
	assert_int_equal(vhf_guest_tx_send(env.guest, data, sizeof(data), &hdr, 2), 0);
	device_expect(&env, sizeof(data), 3, &hdr);
	assert_int_equal(env.vq.cnt[VHF_VQ_CNT_drop_runt], 3);
	assert_int_equal(env.vq.cnt[VHF_VQ_CNT_packets], 1);
	assert_int_equal(vhf_net_from_guest_next(&env.vq, &pkt), 0);
	vhf_net_from_guest_finish(&env.vq);
	assert_int_equal(vhf_guest_tx_reclaim(env.guest), 4);
	assert_false(env.vq.broken);
	vhf_test_env_fini(&env);

	/* By hand: a chain of exactly the header, in one and in two descriptors. */
	tx_env(&env, v, 16);
	vhf_test_raw_init(&raw, &env);
	gpa = vhf_guest_alloc(env.guest, 64, 64);
	segs[0] = (struct vhf_test_seg){ gpa, VHF_NET_HDR_LEN_MRG };
	vhf_test_raw_chain(&raw, segs, 1, v->indirect ? vhf_guest_alloc(env.guest, 16, 16) : 0,
			   false, true);
	segs[0].len = 5;
	segs[1] = (struct vhf_test_seg){ gpa + 5, VHF_NET_HDR_LEN_MRG - 5 };
	vhf_test_raw_chain(&raw, segs, 2, v->indirect ? vhf_guest_alloc(env.guest, 32, 16) : 0,
			   false, true);
	assert_int_equal(vhf_net_from_guest_next(&env.vq, &pkt), 0);
	assert_int_equal(env.vq.cnt[VHF_VQ_CNT_drop_runt], 2);
	assert_int_equal(env.vq.cnt[VHF_VQ_CNT_packets], 0);
	vhf_net_from_guest_finish(&env.vq);
	assert_int_equal(env.vq.cnt[VHF_VQ_CNT_bufs], 2);
	assert_false(env.vq.broken);
	vhf_test_env_fini(&env);
}

struct window_ctx {
	struct vhf_test_env *env;
	bool kicked;
};

static void
send_in_window(void *arg)
{
	struct window_ctx *ctx = arg;
	uint8_t data[100];
	struct vhf_net_hdr hdr = { 0 };

	vhf_test_fill(data, sizeof(data), 42);
	assert_int_equal(vhf_guest_tx_send(ctx->env->guest, data, sizeof(data), &hdr, 1), 0);
	ctx->kicked = vhf_guest_kick_prepare(ctx->env->guest);
}

/* Arming the TX kick: never sleep while the guest has published something. */
static void
test_tx_arm_kick(void **state)
{
	const struct variant *v = *state;
	uint8_t data[100];
	struct vhf_test_env env;
	struct vhf_net_hdr hdr = { 0 };
	struct window_ctx ctx = { .env = &env };

	tx_env(&env, v, 16);
	/* Busy: the device disabled kicks while it worked. */
	vhf_test_fill(data, sizeof(data), 1);
	assert_int_equal(vhf_guest_tx_send(env.guest, data, sizeof(data), &hdr, 1), 0);
	vhf_guest_kick_prepare(env.guest);
	assert_false(vhf_vq_arm_kick(&env.vq)); /* something pending */
	device_expect(&env, sizeof(data), 1, &hdr);
	vhf_net_from_guest_finish(&env.vq);

	/* Idle: armed, and the next send kicks. */
	assert_true(vhf_vq_arm_kick(&env.vq));
	vhf_test_fill(data, sizeof(data), 2);
	assert_int_equal(vhf_guest_tx_send(env.guest, data, sizeof(data), &hdr, 1), 0);
	assert_true(vhf_guest_kick_prepare(env.guest));
	device_expect(&env, sizeof(data), 2, &hdr);
	vhf_net_from_guest_finish(&env.vq);

	/* The guest sends between our look and our request: the recheck catches it. */
	vhf_test_env_fini(&env);
	tx_env(&env, v, 16);
	vhf_test_fill(data, sizeof(data), 1);
	assert_int_equal(vhf_guest_tx_send(env.guest, data, sizeof(data), &hdr, 1), 0);
	vhf_guest_kick_prepare(env.guest);
	device_expect(&env, sizeof(data), 1, &hdr);
	vhf_net_from_guest_finish(&env.vq);
	vhf_test_set_window(send_in_window, &ctx);
	if (vhf_vq_arm_kick(&env.vq))
		assert_true(ctx.kicked); /* sleeping is only safe if that send kicked */
	else
		device_expect(&env, sizeof(data), 42, &hdr);
	vhf_test_env_fini(&env);
}

/*
 * vhf_net_from_guest_release() between the packets of a burst: chains taken
 * go back to the guest once they hold a quarter of the ring's descriptors (16
 * of 64), not before, and the burst's finish still takes the interrupt
 * decision when the releases published everything: the guest enabled its
 * callbacks and must get its call.
 */
static void
test_tx_release(void **state)
{
	const struct variant *v = *state;
	struct vhf_test_env env;
	struct vhf_net_hdr hdr = { 0 };
	/* What fits the ring: chains of 5-6 descriptors, or of one. */
	const unsigned int n = v->indirect ? 20 : 10;
	unsigned int taken = 0, back = 0;

	tx_env(&env, v, 64);
	assert_false(vhf_guest_enable_cb_and_check(env.guest));
	/* Five segments: five or six ring descriptors a chain, or one for an indirect table. */
	guest_send_seq(&env, 0, n, 1000, 5);
	/* Until the first chains come back. */
	while (back == 0 && taken < n) {
		device_expect(&env, 1000, taken, &hdr);
		taken++;
		vhf_net_from_guest_release(&env.vq);
		back = vhf_guest_tx_reclaim(env.guest);
	}
	/*
	 * Everything taken so far, in one go, and not before 16 ring descriptors
	 * were held: 3 or 4 chains of 5-6, 16 of one.
	 */
	assert_int_equal(back, taken);
	if (v->indirect)
		assert_int_equal(taken, 16);
	else
		assert_true(taken == 3 || taken == 4);
	/* All published by the releases: the finish still owes the guest its call. */
	assert_true(vhf_net_from_guest_finish(&env.vq));
	assert_int_equal(env.vq.cnt[VHF_VQ_CNT_calls], 1);
	vhf_test_env_fini(&env);
}

/*
 * Packed and in order: a burst is published as one used descriptor, at the
 * slot of its first buffer, naming its last (the guest model frees every
 * buffer up to it, in posting order, and counts a wrong id as broken). No
 * other slot is written. The second burst ends in the ring's next lap: the
 * one descriptor carries the used flags of the lap its slot is in.
 */
static void
test_tx_in_order_one_used(void **state)
{
	const struct variant *v = *state;
	/*
	 * Two slots a packet (header, payload), one through an indirect table
	 * or with the header pushed in front of the frame.
	 */
	const bool one_slot = v->indirect || v->push_hdr;
	const unsigned int bursts[2] = { one_slot ? 20 : 10, one_slot ? 20 : 14 };
	struct vhf_vring_packed_desc *ring;
	uint16_t before[32], first = 0;
	bool first_wrap = true;
	struct vhf_test_env env;
	struct vhf_net_hdr hdr = { 0 };
	unsigned int b, i, changed;
	uint16_t last_avail, last_used;
	uint32_t seq = 0;

	tx_env(&env, v, 32);
	ring = vhf_guest_packed_desc(env.guest);
	for (b = 0; b < 2; b++) {
		guest_send_seq(&env, seq, bursts[b], 200, 1);
		for (i = 0; i < 32; i++)
			before[i] = ring[i].flags;
		for (i = 0; i < bursts[b]; i++)
			device_expect(&env, 200, seq + i, &hdr);
		seq += bursts[b];
		vhf_net_from_guest_finish(&env.vq);
		for (i = 0, changed = 0; i < 32; i++)
			changed += ring[i].flags != before[i];
		assert_int_equal(changed, 1);
		assert_int_not_equal(ring[first].flags, before[first]);
		assert_int_equal(ring[first].flags & (VHF_DESC_F_AVAIL | VHF_DESC_F_USED),
				 first_wrap ? VHF_DESC_F_AVAIL | VHF_DESC_F_USED : 0);
		assert_int_equal(ring[first].len, 0);
		assert_int_equal(vhf_guest_tx_reclaim(env.guest), bursts[b]);
		assert_false(vhf_guest_broken(env.guest));
		/* Where the next burst's one descriptor goes: past every slot this one took. */
		vhf_vq_get_base(&env.vq, &last_avail, &last_used);
		assert_int_equal(last_used, last_avail);
		first = last_used & 0x7fff;
		first_wrap = last_used >> 15;
	}
	assert_false(first_wrap); /* the second burst did end in the next lap */
	assert_int_equal(env.vq.cnt[VHF_VQ_CNT_bufs], seq);
	vhf_test_env_fini(&env);
}

/* Frame sequence seq of test_tx_burst_lines(): a runt now and then, a two-segment frame too. */
static uint32_t
lines_len(uint32_t seq)
{
	return seq % 9 == 4 ? 5 : 60 + seq % 40;
}

static unsigned int
lines_nsegs(uint32_t seq)
{
	return seq % 7 == 3 ? 2 : 1;
}

/*
 * Bursts of every length against chains that come a ring line of four at a
 * time (packed, header pushed in front of the frame: lone chains) or not:
 * bursts ending inside a line, lines holding a two-segment chain or a runt,
 * the ring lapped many times. Every frame comes out once and in order; a
 * burst's finish gives back to the guest exactly the chains it handed out or
 * passed over (the guest model checks each id), none of a line taken but not
 * handed out.
 */
static void
test_tx_burst_lines(void **state)
{
	const struct variant *v = *state;
	static const uint16_t bursts[] = { 32, 3, 4, 5, 32, 1, 8, 17, 2, 30, 6, 7 };
	static struct vhf_from_guest_pkt pkt;
	static uint8_t data[128], out[128];
	struct vhf_net_hdr hdr = { 0 };
	struct vhf_test_env env;
	uint32_t sent = 0, consumed = 0, delivered = 0;
	unsigned int round, b, k;

	tx_env(&env, v, 64);
	for (round = 0; round < 10; round++) {
		for (b = 0; b < sizeof(bursts) / sizeof(bursts[0]); b++) {
			uint32_t burst_start = consumed;
			int ret = 1;

			/* The guest keeps its ring as full as it can. */
			for (;;) {
				uint32_t len = lines_len(sent);

				vhf_test_fill(data, len, sent);
				hdr.gso_size = (uint16_t)sent;
				if (vhf_guest_tx_send(env.guest, data, len, &hdr, lines_nsegs(sent)) != 0)
					break;
				sent++;
			}
			for (k = 0; k < bursts[b]; k++) {
				ret = vhf_net_from_guest_next(&env.vq, &pkt);
				if (ret != 1)
					break;
				/* The runts before it were consumed unread. */
				while (lines_len(consumed) < VHF_NET_MIN_FRAME_LEN)
					consumed++;
				assert_int_equal(pkt.len, lines_len(consumed));
				assert_int_equal(pkt.hdr.gso_size, (uint16_t)consumed);
				assert_int_equal(vhf_iov_copy_out(out, pkt.iov, pkt.niov, 0, pkt.len),
						 pkt.len);
				assert_int_equal(vhf_test_check(out, pkt.len, consumed), 0);
				consumed++;
				delivered++;
			}
			/* Drained: the runts after the last frame were passed over too. */
			if (ret == 0)
				while (consumed < sent)
					consumed++;
			assert_true(ret >= 0);
			vhf_net_from_guest_finish(&env.vq);
			assert_int_equal(vhf_guest_tx_reclaim(env.guest), consumed - burst_start);
			assert_false(vhf_guest_broken(env.guest));
		}
	}
	assert_int_equal(env.vq.cnt[VHF_VQ_CNT_packets], delivered);
	assert_int_equal(env.vq.cnt[VHF_VQ_CNT_drop_runt], consumed - delivered);
	assert_int_equal(env.vq.cnt[VHF_VQ_CNT_bufs], consumed);
	assert_false(env.vq.broken);
	vhf_test_env_fini(&env);
}

/* A copy of the guest's memory, as a new memory table would map it: same guest addresses, new host ones. */
struct mem_copy {
	struct vhf_mem mem;
	void *host[VHF_MEM_MAX_REGIONS];
};

static void
mem_copy_make(struct mem_copy *c, const struct vhf_mem *from)
{
	struct vhf_mem_region regions[VHF_MEM_MAX_REGIONS];
	uint32_t i;

	for (i = 0; i < from->nregions; i++) {
		regions[i] = from->regions[i];
		c->host[i] = aligned_alloc(64, (regions[i].size + 63) & ~(uint64_t)63);
		assert_non_null(c->host[i]);
		memcpy(c->host[i], (const void *)(uintptr_t)regions[i].host_addr, regions[i].size);
		regions[i].host_addr = (uint64_t)(uintptr_t)c->host[i];
	}
	assert_int_equal(vhf_mem_set(&c->mem, regions, from->nregions), 0);
}

static void
mem_copy_free(struct mem_copy *c)
{
	uint32_t i;

	for (i = 0; i < c->mem.nregions; i++)
		free(c->host[i]);
}

/* Where frame k of chains sent one segment each, header pushed, sits in guest memory. */
static uint64_t
pushed_frame_gpa(struct vhf_test_env *env, const struct variant *v, uint16_t k)
{
	if (v->packed)
		return vhf_guest_packed_desc(env->guest)[k].addr + VHF_NET_HDR_LEN_MRG;
	return vhf_guest_split_desc(env->guest)[vhf_guest_split_avail(env->guest)->ring[k]].addr +
	       VHF_NET_HDR_LEN_MRG;
}

/*
 * A burst that ends after one packet of a line taken whole hands out that one
 * only: its finish gives back one chain, GET_VRING_BASE's index says one, and
 * the other three are taken again by the next burst through the memory table
 * it finds (one changed between the bursts: the frames come from the new
 * mappings, here a copy whose frames the test rewrote), or by a queue resumed
 * from that index (a reconnect): each once.
 */
static void
test_tx_line_burst_end(void **state)
{
	const struct variant *v = *state;
	static struct vhf_from_guest_pkt pkt;
	struct vhf_net_hdr hdr = { 0 };
	const struct vhf_mem *guest_mem;
	struct vhf_test_env env;
	struct mem_copy copy;
	uint16_t last_avail, last_used;
	uint16_t k;

	tx_env(&env, v, 16);
	guest_mem = env.vq.mem;
	guest_send_seq(&env, 0, 8, 100, 1);
	device_expect(&env, 100, 0, &hdr);
	/*
	 * Four chains were read at once (packed: a ring line; split: four avail
	 * entries), and the four after them as the first was handed out.
	 */
	assert_int_equal(env.vq.cnt[VHF_VQ_CNT_descs_read], 8);
	vhf_net_from_guest_finish(&env.vq);
	assert_int_equal(vhf_guest_tx_reclaim(env.guest), 1);
	vhf_vq_get_base(&env.vq, &last_avail, &last_used);
	assert_int_equal(last_avail, v->packed ? 1 | 1u << 15 : 1);

	/* A new memory table between the bursts: frames 1-3 read 101-103 through it. */
	mem_copy_make(&copy, guest_mem);
	for (k = 1; k < 4; k++) {
		uint64_t gpa = pushed_frame_gpa(&env, v, k);
		const struct vhf_mem_region *reg = vhf_mem_find(&copy.mem, gpa, &(uint32_t){ 0 });

		assert_non_null(reg);
		vhf_test_fill((uint8_t *)(uintptr_t)(reg->host_addr + gpa - reg->guest_phys_addr),
			      100, 100 + k);
	}
	env.vq.mem = &copy.mem;
	for (k = 1; k < 4; k++)
		device_expect(&env, 100, 100 + k, &hdr);
	vhf_net_from_guest_finish(&env.vq);
	env.vq.mem = guest_mem;
	mem_copy_free(&copy);
	assert_int_equal(vhf_guest_tx_reclaim(env.guest), 3);

	/* The next line, one packet handed out, then the queue resumed from its index. */
	device_expect(&env, 100, 4, &hdr);
	vhf_net_from_guest_finish(&env.vq);
	assert_int_equal(vhf_guest_tx_reclaim(env.guest), 1);
	vhf_test_env_resume(&env);
	for (k = 5; k < 8; k++)
		device_expect(&env, 100, k, &hdr);
	assert_int_equal(vhf_net_from_guest_next(&env.vq, &pkt), 0);
	vhf_net_from_guest_finish(&env.vq);
	assert_int_equal(vhf_guest_tx_reclaim(env.guest), 3);
	assert_false(vhf_guest_broken(env.guest));
	vhf_test_env_fini(&env);
}

/*
 * A call that rewinds the reservation cursor between two chains of a burst
 * (vhf_vq_arm_kick(), as a caller that arms before finishing would) forgets
 * the lines taken and not handed out: the rest of the burst hands out each
 * chain once, in order, and takes the next line from where the chains
 * handed out end, not from a line already in hand.
 */
static void
test_tx_arm_kick_mid_line(void **state)
{
	const struct variant *v = *state;
	static struct vhf_from_guest_pkt pkt;
	struct vhf_net_hdr hdr = { 0 };
	struct vhf_test_env env;
	uint16_t last_avail, last_used;
	uint16_t k;

	tx_env(&env, v, 16);
	guest_send_seq(&env, 0, 12, 100, 1);
	/* The first line handed out; the second is in hand, taken as the first began. */
	for (k = 0; k < 4; k++)
		device_expect(&env, 100, k, &hdr);
	/* Work is there: not safe to sleep, and the cursor back at the fifth chain. */
	assert_false(vhf_vq_arm_kick(&env.vq));
	for (k = 4; k < 12; k++)
		device_expect(&env, 100, k, &hdr);
	assert_int_equal(vhf_net_from_guest_next(&env.vq, &pkt), 0);
	vhf_net_from_guest_finish(&env.vq);
	vhf_vq_get_base(&env.vq, &last_avail, &last_used);
	assert_int_equal(last_avail, v->packed ? 12 | 1u << 15 : 12);
	assert_int_equal(vhf_guest_tx_reclaim(env.guest), 12);
	assert_false(vhf_guest_broken(env.guest));
	assert_false(env.vq.broken);
	vhf_test_env_fini(&env);
}

int
main(void)
{
	static const struct vhf_test_case cases[] = {
		{ "roundtrip", test_tx_roundtrip, 0 },
		{ "burst", test_tx_burst, 0 },
		{ "long_burst", test_tx_long_burst, 0 },
		{ "arm_kick", test_tx_arm_kick, 0 },
		{ "header_spread", test_tx_header_spread, 0 },
		{ "hdr_unread", test_tx_hdr_unread, 0 },
		{ "runt", test_tx_runt, 0 },
		{ "release", test_tx_release, 0 },
		{ "in_order_one_used", test_tx_in_order_one_used, V_PACKED | V_IN_ORDER },
		{ "burst_lines", test_tx_burst_lines, 0 },
		{ "line_burst_end", test_tx_line_burst_end, V_PUSH_HDR },
		{ "arm_kick_mid_line", test_tx_arm_kick_mid_line, V_PUSH_HDR },
	};
	void *states[NVARIANTS];
	const char *vnames[NVARIANTS];
	unsigned int i;

	for (i = 0; i < NVARIANTS; i++) {
		struct variant *v = &variants[i];

		v->packed = i & V_PACKED;
		v->event_idx = i & 2;
		v->indirect = i & 4;
		v->in_order = i & V_IN_ORDER;
		v->push_hdr = i & 16;
		snprintf(v->name, sizeof(v->name), "%s%s%s%s%s", v->packed ? "packed" : "split",
			 v->event_idx ? "+event_idx" : "", v->indirect ? "+indirect" : "",
			 v->in_order ? "+in_order" : "", v->push_hdr ? "+push_hdr" : "");
		states[i] = v;
		vnames[i] = v->name;
	}
	return vhf_test_run_matrix("tx", cases, sizeof(cases) / sizeof(cases[0]), states, vnames,
				   NVARIANTS);
}
