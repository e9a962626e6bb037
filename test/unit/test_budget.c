/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 dpdk-vhostfix authors
 */

/*
 * Bounded work per device call, whatever the guest publishes and whenever:
 * at most a burst of packets and VHF_BURST_MAX_DESC descriptors read (counted
 * by the device in descriptors_read), and when the budget runs out the caller
 * is told to poll again, never that it may sleep. Each case runs on split and
 * packed rings.
 */

#include <stdio.h>

#include "vhf_test_env.h"

/* Steps the guest takes in a call before it gives up: far past 16-bit wrap. */
#define GUEST_MAX_STEPS (3u * 65536)

struct layout {
	bool packed;
};

static const struct layout layouts[] = { { false }, { true } };

static void
env_init(struct vhf_test_env *env, struct vhf_test_raw *raw, const struct layout *l,
	 uint16_t size, bool mrg)
{
	vhf_test_raw_env_init(env, raw, l->packed, size, mrg);
}

static uint64_t
reads(const struct vhf_test_env *env)
{
	return env->vq.cnt[VHF_VQ_CNT_descs_read];
}

/* Room for an indirect table of n entries in guest memory. */
static uint64_t
table_alloc(struct vhf_test_env *env, uint16_t n)
{
	uint64_t gpa = vhf_guest_alloc(env->guest, 16u * n, 16);

	assert_true(gpa != 0);
	return gpa;
}

/* ---------------------------------------------------------------------------------------- */

struct publisher {
	struct vhf_test_raw *raw;
	struct vhf_test_seg seg;
	unsigned int steps;
};

/* The guest's step: one more chain shorter than the virtio-net header. */
static void
publish_short(void *arg)
{
	struct publisher *p = arg;

	if (p->steps >= GUEST_MAX_STEPS)
		return;
	p->steps++;
	vhf_test_raw_chain(p->raw, &p->seg, 1, 0, false, true);
}

/*
 * One vhf_net_from_guest_next() call while the guest publishes a chain too short for
 * the header every time the device looks for the next one. Those chains are
 * consumed unread; before, the call went on as long as the guest did (and the
 * 16-bit count of staged used entries wrapped). Now the burst ends after a
 * ring's worth of chains with -EAGAIN ("poll again"), and every later burst
 * is bounded the same way.
 */
static void
test_tx_next_concurrent_publish(void **state)
{
	const struct layout *l = *state;
	static struct vhf_from_guest_pkt pkt;
	struct vhf_test_env env;
	struct vhf_test_raw raw;
	struct publisher p;
	unsigned int burst;

	env_init(&env, &raw, l, 16, false);
	p = (struct publisher){ .raw = &raw, .seg = { vhf_guest_alloc(env.guest, 64, 64), 4 } };
	vhf_test_set_guest_step(publish_short, &p);
	for (burst = 1; burst <= 3; burst++) {
		uint64_t before = reads(&env), skipped = env.vq.cnt[VHF_VQ_CNT_err_hdr];
		int ret = vhf_net_from_guest_next(&env.vq, &pkt);

		/* The call ended by itself, not because the guest stopped. */
		assert_true(p.steps < GUEST_MAX_STEPS);
		assert_true(env.vq.cnt[VHF_VQ_CNT_err_hdr] - skipped <= env.vq.size);
		assert_true(env.vq.used_pending <= env.vq.size);
		assert_true(reads(&env) - before <= VHF_BURST_MAX_DESC);
		if (burst == 1) {
			assert_int_equal(ret, -EAGAIN);
			assert_int_equal(env.vq.used_pending, env.vq.size);
			assert_int_equal(env.vq.cnt[VHF_VQ_CNT_budget_exhausted], 1);
			/* The burst stays over until it is finished. */
			assert_int_equal(vhf_net_from_guest_next(&env.vq, &pkt), -EAGAIN);
			assert_int_equal(env.vq.used_pending, env.vq.size);
		} else {
			/*
			 * Packed: the guest has written over slots we held, and our
			 * flush over its newest one; split keeps going. Bounded both.
			 */
			assert_true(ret == -EAGAIN || ret == 0);
		}
		vhf_net_from_guest_finish(&env.vq);
		assert_int_equal(env.vq.used_pending, 0);
	}
	vhf_test_set_guest_step(NULL, NULL);
	assert_int_equal(env.vq.cnt[VHF_VQ_CNT_packets], 0);
	assert_false(env.vq.broken);
	vhf_test_env_fini(&env);
}

struct republisher {
	struct vhf_test_env *env;
	struct vhf_test_raw *raw;
	struct vhf_test_seg seg;
	uint16_t at;
	bool done;
};

/* The guest's step: when the device's cursor reaches at, a ring line more of good chains. */
static void
republish_line(void *arg)
{
	struct republisher *p = arg;
	unsigned int k;

	if (p->done || p->env->vq.next_avail != p->at)
		return;
	p->done = true;
	for (k = 0; k < 4; k++)
		vhf_test_raw_chain(p->raw, &p->seg, 1, 0, false, true);
}

/*
 * Packed TX takes a ring line's four chains at once and hands them out one
 * per call: the ring's worth a burst may take counts the chains handed out,
 * not the lines taken. A two-slot chain first (so the count is never a
 * multiple of four at a line's start), 62 lone ones, then, as the device
 * reaches the last line, the guest republishes the first line's four slots,
 * which we hold. After 63 chains the burst takes that line and hands out one:
 * a ring's worth, -EAGAIN, and so on until it is finished.
 */
static void
test_tx_ring_worth_lines(void **state)
{
	const struct layout *l = *state;
	static struct vhf_from_guest_pkt pkt;
	struct vhf_test_env env;
	struct vhf_test_raw raw;
	struct republisher p;
	struct vhf_test_seg two[2];
	unsigned int k, n = 0;
	uint64_t gpa;
	int ret;

	env_init(&env, &raw, l, 64, false);
	gpa = vhf_guest_alloc(env.guest, 256, 64);
	two[0] = (struct vhf_test_seg){ gpa, VHF_NET_HDR_LEN_MRG + 30 };
	two[1] = (struct vhf_test_seg){ gpa + 128, 30 };
	vhf_test_raw_chain(&raw, two, 2, 0, false, true);
	p = (struct republisher){ .env = &env, .raw = &raw, .at = 60,
				  .seg = { gpa, VHF_NET_HDR_LEN_MRG + 60 } };
	for (k = 0; k < 62; k++)
		vhf_test_raw_chain(&raw, &p.seg, 1, 0, false, true);
	vhf_test_set_guest_step(republish_line, &p);
	while ((ret = vhf_net_from_guest_next(&env.vq, &pkt)) == 1) {
		assert_int_equal(pkt.len, 60);
		n++;
	}
	assert_true(p.done);
	assert_int_equal(ret, -EAGAIN);
	assert_int_equal(n, 64);
	assert_int_equal(env.vq.used_pending, 64);
	assert_int_equal(env.vq.cnt[VHF_VQ_CNT_budget_exhausted], 1);
	/* The burst stays over until it is finished. */
	assert_int_equal(vhf_net_from_guest_next(&env.vq, &pkt), -EAGAIN);
	assert_int_equal(env.vq.used_pending, 64);
	vhf_test_set_guest_step(NULL, NULL);
	vhf_net_from_guest_finish(&env.vq);
	assert_int_equal(env.vq.used_pending, 0);
	vhf_test_env_fini(&env);
}

/*
 * Every avail entry of a ring of 256 is an indirect table of 256 entries, the
 * longest accepted: the header and 255 one-byte pieces of frame. A TX burst
 * reads at most the budget, ends with -EAGAIN while chains remain, and the
 * bursts that follow take them all.
 */
static void
test_tx_budget_full_ring(void **state)
{
	const struct layout *l = *state;
	static struct vhf_test_seg segs[256];
	static struct vhf_from_guest_pkt pkt;
	struct vhf_test_env env;
	struct vhf_test_raw raw;
	uint64_t gpa, table;
	unsigned int i, taken = 0, bursts = 0;
	int ret;

	env_init(&env, &raw, l, 256, false);
	gpa = vhf_guest_alloc(env.guest, 1024, 64);
	table = table_alloc(&env, 256);
	segs[0] = (struct vhf_test_seg){ gpa, VHF_NET_HDR_LEN_MRG };
	for (i = 1; i < 256; i++)
		segs[i] = (struct vhf_test_seg){ gpa + 64 + 2 * i, 1 };
	/* One table behind every ring entry: the same 256 descriptors, 256 times. */
	for (i = 0; i < 256; i++)
		vhf_test_raw_chain(&raw, segs, 256, table, false, true);
	do {
		uint64_t before = reads(&env);
		unsigned int n = 0;

		while ((ret = vhf_net_from_guest_next(&env.vq, &pkt)) == 1) {
			assert_int_equal(pkt.len, 255);
			n++;
		}
		assert_true(reads(&env) - before <= VHF_BURST_MAX_DESC);
		assert_true(n > 0 || ret == 0);
		if (ret == -EAGAIN)
			assert_int_equal(n, VHF_BURST_MAX_DESC / 257);
		vhf_net_from_guest_finish(&env.vq);
		taken += n;
		bursts++;
	} while (ret == -EAGAIN && bursts < 100);
	assert_int_equal(ret, 0);
	assert_int_equal(taken, 256);
	assert_int_equal(env.vq.cnt[VHF_VQ_CNT_packets], 256);
	assert_true(reads(&env) <= (uint64_t)bursts * VHF_BURST_MAX_DESC);
	vhf_test_env_fini(&env);
}

/* ---------------------------------------------------------------------------------------- */

static void
rx_pkts(struct vhf_to_guest_pkt *pkts, struct vhf_seg *seg, uint16_t n, uint32_t len)
{
	static uint8_t data[65536];
	uint16_t i;

	vhf_test_fill(data, len, 1);
	seg->data = data;
	seg->len = len;
	for (i = 0; i < n; i++)
		pkts[i] = (struct vhf_to_guest_pkt){ .segs = seg, .nsegs = 1, .len = len };
}

/*
 * The guest RX side of the same ring: 256 mergeable buffers, each a table of
 * 256 one-byte entries. A 500-byte packet takes two of them (514 reads): an
 * enqueue of 32 reads at most the budget, delivers what fits in it and says
 * RETRY; later calls deliver the rest.
 */
static void
test_rx_budget_full_ring(void **state)
{
	const struct layout *l = *state;
	static struct vhf_test_seg segs[256];
	struct vhf_to_guest_pkt pkts[32];
	struct vhf_burst_result res;
	struct vhf_test_env env;
	struct vhf_test_raw raw;
	struct vhf_seg seg;
	uint64_t gpa, table;
	unsigned int i, taken = 0, calls = 0;

	env_init(&env, &raw, l, 256, true);
	gpa = vhf_guest_alloc(env.guest, 512, 64);
	table = table_alloc(&env, 256);
	for (i = 0; i < 256; i++)
		segs[i] = (struct vhf_test_seg){ gpa + 2 * i, 1 };
	for (i = 0; i < 256; i++)
		vhf_test_raw_chain(&raw, segs, 256, table, true, true);
	rx_pkts(pkts, &seg, 32, 500);
	while (taken < 128 && calls < 100) {
		uint64_t before = reads(&env);
		uint16_t n = vhf_net_to_guest_enqueue(&env.vq, pkts, 32, &res);

		assert_true(reads(&env) - before <= VHF_BURST_MAX_DESC);
		assert_true(n > 0);
		if (taken + n < 128) {
			assert_int_equal(res.status, VHF_TO_GUEST_RETRY);
			assert_int_equal(n, VHF_BURST_MAX_DESC / 514);
		}
		taken += n;
		calls++;
	}
	assert_int_equal(taken, 128);
	assert_int_equal(env.vq.cnt[VHF_VQ_CNT_packets], 128);
	assert_int_equal(env.vq.cnt[VHF_VQ_CNT_bufs], 256);
	assert_int_equal(env.vq.cnt[VHF_VQ_CNT_drop_too_big], 0);
	assert_false(env.vq.broken);
	vhf_test_env_fini(&env);
}

struct window_pub {
	struct vhf_test_raw *raw;
	const struct vhf_test_seg *segs;
	uint64_t table;
	unsigned int published;
};

/*
 * The guest publishes one more small buffer each time the device is about to
 * ask for a kick (and re-arms itself): every recheck finds something new,
 * never enough for the packet.
 */
static void
publish_in_window(void *arg)
{
	struct window_pub *w = arg;

	w->published++;
	vhf_test_raw_chain(w->raw, w->segs, 8, w->table, true, true);
	vhf_test_set_window(publish_in_window, w);
}

/*
 * The room check under a guest that keeps publishing without ever making
 * room: each recheck walks every buffer again (9 reads each). Before, the
 * walks stopped only at the recheck cap, ~47000 reads later; now the budget
 * ends the call, and the answer is RETRY, never "safe to sleep". rx_enqueue
 * on the same guest does the same.
 */
static void
test_rx_budget_rechecks(void **state)
{
	const struct layout *l = *state;
	struct vhf_test_seg segs[8];
	struct vhf_test_env env;
	struct vhf_test_raw raw;
	struct window_pub w;
	unsigned int i, call;
	uint64_t gpa;

	for (call = 0; call < 2; call++) {
		uint64_t before;

		env_init(&env, &raw, l, 256, true);
		gpa = vhf_guest_alloc(env.guest, 1024, 64);
		for (i = 0; i < 8; i++)
			segs[i] = (struct vhf_test_seg){ gpa + 16 * i, VHF_NET_HDR_LEN_MRG };
		w = (struct window_pub){ .raw = &raw, .segs = segs, .table = table_alloc(&env, 8) };
		for (i = 0; i < 50; i++)
			vhf_test_raw_chain(&raw, segs, 8, w.table, true, true);
		vhf_test_set_window(publish_in_window, &w);
		before = reads(&env);
		if (call == 0) {
			assert_int_equal(vhf_net_to_guest_has_room(&env.vq, VHF_NET_MAX_PKT_LEN),
					 VHF_TO_GUEST_RETRY);
		} else {
			struct vhf_burst_result res;
			struct vhf_to_guest_pkt pkt;
			struct vhf_seg seg;

			rx_pkts(&pkt, &seg, 1, VHF_NET_MAX_PKT_LEN);
			assert_int_equal(vhf_net_to_guest_enqueue(&env.vq, &pkt, 1, &res), 0);
			assert_int_equal(res.status, VHF_TO_GUEST_RETRY);
		}
		vhf_test_set_window(NULL, NULL);
		assert_true(reads(&env) - before <= VHF_BURST_MAX_DESC);
		assert_int_equal(env.vq.cnt[VHF_VQ_CNT_budget_exhausted], 1);
		assert_int_equal(env.vq.cnt[VHF_VQ_CNT_recheck_cap], 0);
		assert_true(w.published > 0 && w.published < 64);
		/* Nothing taken: the buffers are all still the guest's. */
		assert_int_equal(env.vq.last_avail, 0);
		assert_int_equal(env.vq.cnt[VHF_VQ_CNT_bufs], 0);
		vhf_test_env_fini(&env);
	}
}

/* n zero-length, device-writable table entries; split ones chained to the end. */
static void *
empty_table(bool packed, uint32_t n)
{
	struct vhf_vring_desc *t = calloc(n, sizeof(*t));
	uint32_t i;

	assert_non_null(t);
	for (i = 0; i < n; i++) {
		if (packed) {
			((struct vhf_vring_packed_desc *)t)[i].flags = VHF_DESC_F_WRITE;
			continue;
		}
		t[i].flags = VHF_DESC_F_WRITE | (i + 1 < n ? VHF_DESC_F_NEXT : 0);
		t[i].next = (uint16_t)(i + 1);
	}
	return t;
}

/* Make ring entry i an available indirect buffer naming the table at gpa. */
static void
publish_indirect(struct vhf_test_env *env, bool packed, uint16_t i, uint64_t gpa, uint32_t len)
{
	if (packed) {
		struct vhf_vring_packed_desc *d = vhf_guest_packed_desc(env->guest);

		d[i] = (struct vhf_vring_packed_desc){ .addr = gpa, .len = len, .id = i };
		/* First lap: AVAIL set, USED clear. */
		__atomic_store_n(&d[i].flags, VHF_DESC_F_AVAIL | VHF_DESC_F_INDIRECT,
				 __ATOMIC_RELEASE);
	} else {
		struct vhf_vring_desc *d = vhf_guest_split_desc(env->guest);
		struct vhf_vring_avail *a = vhf_guest_split_avail(env->guest);

		d[i] = (struct vhf_vring_desc){ .addr = gpa, .len = len,
						.flags = VHF_DESC_F_INDIRECT };
		a->ring[i] = i;
		__atomic_store_n(&a->idx, (uint16_t)(i + 1), __ATOMIC_RELEASE);
	}
}

/*
 * The guest of issue 11: a ring of 256 whose 128 mergeable buffers are each
 * an indirect table of 32768 zero-length entries. One burst of 32 x 1500 B
 * walked 32 x 128 x 32768 descriptors (601 ms). Now the first table, longer
 * than the ring, breaks the queue after one read; with tables as long as the
 * ring, the first buffer (zero bytes: never usable) breaks it after 257 (one
 * more on a split ring, below).
 */
static void
test_issue11_guest(void **state)
{
	const struct layout *l = *state;
	static const uint32_t nents[] = { 32768, 256 };
	const uint64_t table = 1ull << 40;
	unsigned int k;

	for (k = 0; k < 2; k++) {
		struct vhf_to_guest_pkt pkts[32];
		struct vhf_burst_result res;
		struct vhf_test_env env;
		struct vhf_test_raw raw;
		struct vhf_vq_config cfg;
		struct vhf_seg seg;
		struct vhf_mem mem;
		void *t = empty_table(l->packed, nents[k]);
		uint16_t i;

		env_init(&env, &raw, l, 256, true);
		/* The table in a region of its own: 512 KiB does not fit the model's arena. */
		mem = *vhf_guest_mem(env.guest);
		mem.regions[mem.nregions++] = (struct vhf_mem_region){
			.guest_phys_addr = table, .size = nents[k] * 16ull,
			.host_addr = (uintptr_t)t };
		memset(&cfg, 0, sizeof(cfg));
		vhf_guest_vq_config(env.guest, &cfg);
		cfg.mem = &mem;
		assert_int_equal(vhf_vq_init(&env.vq, &cfg), 0);
		for (i = 0; i < 128; i++)
			publish_indirect(&env, l->packed, i, table, nents[k] * 16u);

		rx_pkts(pkts, &seg, 32, 1500);
		assert_int_equal(vhf_net_to_guest_enqueue(&env.vq, pkts, 32, &res), 32);
		assert_int_equal(res.status, VHF_TO_GUEST_BROKEN);
		assert_int_equal(env.vq.broken_reason, k == 0 ? VHF_VQ_CNT_err_desc_len :
								VHF_VQ_CNT_err_to_guest_buf_short);
		/*
		 * Split also reads the first descriptor once more: four lone buffers
		 * at once (vhf_split_fetch_four()) read it, and refused it, first.
		 */
		assert_int_equal(reads(&env), (k == 0 ? 1 : 257) + !l->packed);
		assert_int_equal(env.vq.cnt[VHF_VQ_CNT_drop_broken], 32);
		assert_int_equal(vhf_net_to_guest_has_room(&env.vq, 1500), VHF_TO_GUEST_BROKEN);
		vhf_test_env_fini(&env);
		free(t);
	}
}

int
main(void)
{
	static const struct vhf_test_case cases[] = {
		{ "tx_next_concurrent_publish", test_tx_next_concurrent_publish, 0 },
		{ "tx_budget_full_ring", test_tx_budget_full_ring, 0 },
		{ "tx_ring_worth_lines", test_tx_ring_worth_lines, 1 },
		{ "rx_budget_full_ring", test_rx_budget_full_ring, 0 },
		{ "rx_budget_rechecks", test_rx_budget_rechecks, 0 },
		{ "issue11_guest", test_issue11_guest, 0 },
	};
	void *states[2] = { (void *)&layouts[0], (void *)&layouts[1] };
	const char *vnames[2] = { "split", "packed" };

	return vhf_test_run_matrix("budget", cases, sizeof(cases) / sizeof(cases[0]), states,
				   vnames, 2);
}
