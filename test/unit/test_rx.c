/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 dpdk-vhostfix authors
 */

/*
 * Host -> guest delivery for every ring layout x EVENT_IDX x MRG_RXBUF, and
 * the never-stall rule: the seed's four steps replayed, index wrap, livelock.
 */

#include <stdio.h>

#include "vhf_net_probe.h"
#include "vhf_test_env.h"

struct variant {
	bool packed;
	bool event_idx;
	bool mrg;
	char name[48];
};

static struct variant variants[8];

static struct vhf_guest_config
gcfg_for(const struct variant *v, uint16_t size, uint32_t buf_len)
{
	struct vhf_guest_config g;

	memset(&g, 0, sizeof(g));
	g.size = size;
	g.packed = v->packed;
	g.event_idx = v->event_idx;
	g.mrg_rxbuf = v->mrg;
	g.hdr_len = v->mrg ? VHF_NET_HDR_LEN_MRG : VHF_NET_HDR_LEN_LEGACY;
	g.buf_len = buf_len;
	g.descs_per_buf = 1;
	/* Buffers straddle a region boundary: the device must split them. */
	g.two_regions = true;
	return g;
}

static uint32_t
bufs_needed(uint32_t pkt_len, uint32_t hdr_len, uint32_t buf_len)
{
	return (pkt_len + hdr_len + buf_len - 1) / buf_len;
}

/* Receive one packet in the guest and check it byte for byte. */
static void
guest_expect(struct vhf_test_env *env, uint32_t len, uint32_t seq, uint16_t num_buffers)
{
	static uint8_t out[70000];
	struct vhf_net_hdr hdr;
	uint32_t got = 0;

	assert_int_equal(vhf_guest_rx_get(env->guest, out, sizeof(out), &got, &hdr), 1);
	assert_int_equal(got, len);
	assert_int_equal(vhf_test_check(out, got, seq), 0);
	if (env->vq.mrg_rxbuf)
		assert_int_equal(hdr.num_buffers, num_buffers);
}

static void
test_rx_roundtrip(void **state)
{
	const struct variant *v = *state;
	static const uint32_t lens[] = { 60, 64, 1514, 9000, 1, 4000, 9000, 64 };
	uint32_t buf_len = v->mrg ? 1536 : 9100;
	struct vhf_guest_config g = gcfg_for(v, 256, buf_len);
	struct vhf_test_env env;
	unsigned int round, i;
	uint32_t seq = 0;

	/* Non-mergeable guests may also chain descriptors into one big buffer. */
	if (!v->mrg)
		g.descs_per_buf = 3;
	vhf_test_env_init(&env, &g, VHF_NOTIFY_FIXED);
	/* Several rounds so both layouts go round the ring and wrap. */
	for (round = 0; round < 40; round++) {
		vhf_guest_rx_add(env.guest, 64);
		for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
			struct vhf_burst_result res;

			assert_int_equal(vhf_test_rx_one(&env, lens[i], seq, (uint16_t)(1 + i % 4),
							 &res), 1);
			assert_int_equal(res.status, VHF_TO_GUEST_DONE);
			guest_expect(&env, lens[i], seq,
				     (uint16_t)bufs_needed(lens[i], env.vq.net_hdr_len, buf_len));
			seq++;
		}
	}
	assert_int_equal(env.vq.cnt[VHF_VQ_CNT_packets], seq);
	assert_false(env.vq.broken);
	vhf_test_env_fini(&env);
}

/* A burst of several packets is published once and gets one interrupt decision. */
static void
test_rx_burst_one_call(void **state)
{
	const struct variant *v = *state;
	struct vhf_guest_config g = gcfg_for(v, 64, v->mrg ? 1536 : 2048);
	struct vhf_test_env env;
	struct vhf_burst_result res;
	struct vhf_to_guest_pkt pkts[8];
	struct vhf_seg segs[8];
	uint8_t data[8][200];
	unsigned int i;

	vhf_test_env_init(&env, &g, VHF_NOTIFY_FIXED);
	vhf_guest_rx_add(env.guest, 32);
	assert_false(vhf_guest_enable_cb_and_check(env.guest));
	for (i = 0; i < 8; i++) {
		vhf_test_fill(data[i], sizeof(data[i]), i);
		segs[i].data = data[i];
		segs[i].len = sizeof(data[i]);
		pkts[i].segs = &segs[i];
		pkts[i].nsegs = 1;
		pkts[i].len = sizeof(data[i]);
		pkts[i].hdr = NULL;
	}
	assert_int_equal(vhf_net_to_guest_enqueue(&env.vq, pkts, 8, &res), 8);
	assert_true(res.call);
	assert_int_equal(env.vq.cnt[VHF_VQ_CNT_calls], 1);
	for (i = 0; i < 8; i++)
		guest_expect(&env, sizeof(data[i]), i, 1);

	/* Interrupts off: EVENT_IDX leaves used_event behind, otherwise NO_INTERRUPT. */
	vhf_guest_disable_cb(env.guest);
	assert_int_equal(vhf_net_to_guest_enqueue(&env.vq, pkts, 8, &res), 8);
	assert_false(res.call);
	for (i = 0; i < 8; i++)
		guest_expect(&env, sizeof(data[i]), i, 1);

	/* Re-armed with nothing pending: the next burst interrupts again. */
	assert_false(vhf_guest_enable_cb_and_check(env.guest));
	assert_int_equal(vhf_net_to_guest_enqueue(&env.vq, pkts, 1, &res), 1);
	assert_true(res.call);
	vhf_test_env_fini(&env);
}

/*
 * One call of many tiny packets, each with its own offload header, into
 * buffers of two 8-byte descriptors, so that every header is written in two
 * pieces: the small copies the device defers and does together must each
 * land where and with what their packet said, across the batch filling up in
 * the middle of a header and its header slots being recycled.
 */
static void
test_rx_burst_copy_batches(void **state)
{
	const struct variant *v = *state;
	struct vhf_guest_config g = gcfg_for(v, 512, 16);
	enum { NPKT = 150 };
	static struct vhf_to_guest_pkt pkts[NPKT];
	static struct vhf_net_hdr hdrs[NPKT];
	static struct vhf_seg segs[NPKT];
	static uint8_t data[NPKT][3];
	struct vhf_test_env env;
	struct vhf_burst_result res;
	unsigned int i;

	g.descs_per_buf = 2;
	vhf_test_env_init(&env, &g, VHF_NOTIFY_FIXED);
	assert_int_equal(vhf_guest_rx_add(env.guest, NPKT), NPKT);
	for (i = 0; i < NPKT; i++) {
		uint32_t len = 1 + i % 3;

		vhf_test_fill(data[i], len, i);
		segs[i].data = data[i];
		segs[i].len = len;
		memset(&hdrs[i], 0, sizeof(hdrs[i]));
		hdrs[i].flags = VHF_NET_HDR_F_NEEDS_CSUM;
		hdrs[i].csum_start = (uint16_t)(1000 + i);
		hdrs[i].csum_offset = (uint16_t)(7 * i);
		pkts[i].segs = &segs[i];
		pkts[i].nsegs = 1;
		pkts[i].len = len;
		pkts[i].hdr = &hdrs[i];
	}
	assert_int_equal(vhf_net_to_guest_enqueue(&env.vq, pkts, NPKT, &res), NPKT);
	for (i = 0; i < NPKT; i++) {
		uint8_t out[16];
		struct vhf_net_hdr hdr;
		uint32_t got = 0;

		assert_int_equal(vhf_guest_rx_get(env.guest, out, sizeof(out), &got, &hdr), 1);
		assert_int_equal(got, 1 + i % 3);
		assert_int_equal(vhf_test_check(out, got, i), 0);
		assert_int_equal(hdr.flags, VHF_NET_HDR_F_NEEDS_CSUM);
		assert_int_equal(hdr.csum_start, 1000 + i);
		assert_int_equal(hdr.csum_offset, 7 * i);
		if (v->mrg)
			assert_int_equal(hdr.num_buffers, 1);
	}
	vhf_test_env_fini(&env);
}

/*
 * Bursts of small packets, which a packed ring takes a ring line (four
 * buffers) at a time, lapping a small ring: lines taken after earlier packets
 * of the burst left their used entries staged, or none; bursts that start
 * off a line's start; lines that end at the ring's end; packets too long for
 * one buffer among them (mergeable); one packet in three with an offload
 * header; buffers laid out with the header on the frame's first line, and
 * with the header alone at a line's end as DPDK's virtio driver posts them.
 * Every frame, header and used entry must be its packet's.
 */
static void
test_rx_burst_lines(void **state)
{
	const struct variant *v = *state;
	static const uint16_t bursts[] = { 32, 3, 4, 5, 32, 1, 8, 17, 32, 12, 2, 30 };
	enum { MAX_BURST = 32, ROUNDS = 12 };
	static struct vhf_to_guest_pkt pkts[MAX_BURST];
	static struct vhf_net_hdr hdrs[MAX_BURST];
	static struct vhf_seg segs[MAX_BURST];
	static uint8_t data[MAX_BURST][2000];
	static uint8_t out[2000];
	uint32_t buf_len = v->mrg ? 1536 : 2048;
	unsigned int layout;

	for (layout = 0; layout < 2; layout++) {
		struct vhf_guest_config g = gcfg_for(v, 64, buf_len);
		struct vhf_test_env env;
		unsigned int round, b, i;
		uint32_t seq = 0;

		g.rx_buf_offset = layout == 0 ? 0 : (uint8_t)(64 - g.hdr_len);
		vhf_test_env_init(&env, &g, VHF_NOTIFY_FIXED);
		for (round = 0; round < ROUNDS; round++) {
			for (b = 0; b < sizeof(bursts) / sizeof(bursts[0]); b++) {
				uint16_t n = bursts[b];
				struct vhf_burst_result res;

				vhf_guest_rx_add(env.guest, 64);
				for (i = 0; i < n; i++) {
					uint32_t sq = seq + i;
					uint32_t len = sq % 13 == 7 ? 2000 : sq % 11 == 5 ? 1400 : 60 + sq % 5;

					vhf_test_fill(data[i], len, sq);
					segs[i].data = data[i];
					segs[i].len = len;
					memset(&hdrs[i], 0, sizeof(hdrs[i]));
					hdrs[i].flags = VHF_NET_HDR_F_NEEDS_CSUM;
					hdrs[i].csum_start = (uint16_t)(14 + sq % 50);
					hdrs[i].csum_offset = (uint16_t)(6 + sq % 3);
					pkts[i].segs = &segs[i];
					pkts[i].nsegs = 1;
					pkts[i].len = len;
					pkts[i].hdr = sq % 3 == 1 ? &hdrs[i] : NULL;
				}
				assert_int_equal(vhf_net_to_guest_enqueue(&env.vq, pkts, n, &res), n);
				assert_int_equal(res.status, VHF_TO_GUEST_DONE);
				for (i = 0; i < n; i++) {
					struct vhf_net_hdr hdr;
					uint32_t got = 0;

					assert_int_equal(vhf_guest_rx_get(env.guest, out, sizeof(out),
									  &got, &hdr),
							 1);
					assert_int_equal(got, pkts[i].len);
					assert_int_equal(vhf_test_check(out, got, seq + i), 0);
					if (pkts[i].hdr != NULL) {
						assert_int_equal(hdr.flags, VHF_NET_HDR_F_NEEDS_CSUM);
						assert_int_equal(hdr.csum_start, hdrs[i].csum_start);
						assert_int_equal(hdr.csum_offset, hdrs[i].csum_offset);
					} else {
						assert_int_equal(hdr.flags, 0);
						assert_int_equal(hdr.csum_start, 0);
						assert_int_equal(hdr.csum_offset, 0);
					}
					if (v->mrg)
						assert_int_equal(hdr.num_buffers,
								 bufs_needed(got, g.hdr_len, buf_len));
				}
				assert_int_equal(vhf_guest_rx_get(env.guest, out, sizeof(out), NULL,
								  NULL),
						 0);
				seq += n;
			}
		}
		assert_int_equal(env.vq.cnt[VHF_VQ_CNT_packets], seq);
		assert_false(env.vq.broken);
		vhf_test_env_fini(&env);
	}
}

/*
 * Index wrap: the ring starts so that the 9229-byte frame's five buffers
 * straddle the 16-bit (split) or ring-end (packed) wrap while too few are posted.
 */
static void
run_wrap(const struct variant *v, uint16_t start)
{
	const uint32_t frame = 9229;
	uint32_t buf_len = v->mrg ? 2048 : 9300;
	struct vhf_guest_config g = gcfg_for(v, v->packed ? 8 : 256, buf_len);
	unsigned int need = v->mrg ? bufs_needed(frame, VHF_NET_HDR_LEN_MRG, buf_len) : 1;
	struct vhf_test_env env;
	struct vhf_burst_result res;

	env.guest = vhf_guest_create(&g);
	assert_non_null(env.guest);
	assert_int_equal(vhf_guest_set_start_index(env.guest, start), 0);
	{
		struct vhf_vq_config cfg;

		memset(&cfg, 0, sizeof(cfg));
		vhf_guest_vq_config(env.guest, &cfg);
		assert_int_equal(vhf_vq_init(&env.vq, &cfg), 0);
	}
	assert_int_equal(need, v->mrg ? 5 : 1);

	/* Too few posted: nothing taken, the kick is armed. */
	vhf_guest_rx_add(env.guest, need - 1);
	vhf_guest_kick_prepare(env.guest);
	assert_int_equal(vhf_test_rx_one(&env, frame, 7, 3, &res), 0);
	assert_int_equal(res.status, VHF_TO_GUEST_WAIT_KICK);

	/* The guest refills: its publication must kick us. */
	vhf_guest_rx_add(env.guest, 1);
	assert_true(vhf_guest_kick_prepare(env.guest));
	assert_int_equal(vhf_test_rx_one(&env, frame, 7, 3, &res), 1);
	assert_int_equal(res.status, VHF_TO_GUEST_DONE);
	guest_expect(&env, frame, 7, (uint16_t)need);
	vhf_test_env_fini(&env);
}

static void
test_rx_index_wrap(void **state)
{
	const struct variant *v = *state;

	if (v->packed) {
		/* Packed positions with the wrap counter (bit 15): end of an 8-slot ring. */
		run_wrap(v, (uint16_t)(7 | 1u << 15));
		run_wrap(v, (uint16_t)(6 | 1u << 15));
		run_wrap(v, 5);
	} else {
		run_wrap(v, 65535);
		run_wrap(v, 65534);
		run_wrap(v, 65533);
	}
}

/* ---- the seed's four steps ---- */

struct seed_ctx {
	struct vhf_test_env *env;
	bool kicked_in_step2;
};

/* Step 2: the guest adds a buffer and decides whether to kick, inside the device's window. */
static void
seed_step2(void *arg)
{
	struct seed_ctx *ctx = arg;

	vhf_guest_rx_add(ctx->env->guest, 1);
	ctx->kicked_in_step2 = vhf_guest_kick_prepare(ctx->env->guest);
}

/*
 * Returns whether the guest's step-4 publication kicked the device. Steps:
 *  1. host reads avail idx: 3 buffers for a frame that needs 5;
 *  2. guest adds one and checks for a kick: notifications are still off;
 *  3. host enables notification (the variant decides what it names and rechecks);
 *  4. guest finishes its NAPI loop, adds two more, checks for a kick again.
 */
static bool
run_seed(const struct variant *v, enum vhf_notify_algo algo, struct vhf_test_env *env)
{
	struct vhf_guest_config g = gcfg_for(v, 64, 2048);
	struct seed_ctx ctx = { .env = env };
	struct vhf_burst_result res;

	vhf_test_env_init(env, &g, algo);
	/* Before: traffic flowing, notifications disabled by a successful burst. */
	vhf_guest_rx_add(env->guest, 1);
	vhf_guest_kick_prepare(env->guest);
	assert_int_equal(vhf_test_rx_one(env, 64, 1, 1, &res), 1);
	guest_expect(env, 64, 1, 1);

	vhf_guest_rx_add(env->guest, 3);
	vhf_guest_kick_prepare(env->guest);

	vhf_test_set_window(seed_step2, &ctx);
	assert_int_equal(vhf_test_rx_one(env, 9229, 2, 2, &res), 0); /* steps 1-3 */
	assert_int_equal(res.status, VHF_TO_GUEST_WAIT_KICK);
	assert_false(ctx.kicked_in_step2);

	vhf_guest_rx_add(env->guest, 2); /* step 4 */
	return vhf_guest_kick_prepare(env->guest);
}

static void
test_seed_four_steps(void **state)
{
	const struct variant *v = *state;
	struct vhf_test_env env;
	struct vhf_burst_result res;
	bool kicked;


	/* Legacy: with EVENT_IDX the guest never kicks although 6 buffers wait: the stall. */
	kicked = run_seed(v, VHF_NOTIFY_LEGACY, &env);
	if (v->event_idx) {
		assert_false(kicked);
		/* Room is there: only a lost wake-up keeps the frame from the guest. */
		assert_int_equal(vhf_guest_rx_posted(env.guest), 6);
		assert_int_equal(vhf_net_to_guest_has_room(&env.vq, 9229), VHF_TO_GUEST_DONE);
	} else {
		/* Flag-based notification stays enabled, so the later publication kicks. */
		assert_true(kicked);
	}
	vhf_test_env_fini(&env);

	/* Fixed: the recheck sees step 2, names the new index, and step 4 kicks. */
	kicked = run_seed(v, VHF_NOTIFY_FIXED, &env);
	assert_true(kicked);
	if (v->event_idx)
		assert_true(env.vq.cnt[VHF_VQ_CNT_recheck_retry] >= 1);
	assert_int_equal(vhf_test_rx_one(&env, 9229, 2, 2, &res), 1);
	guest_expect(&env, 9229, 2, 5);
	vhf_test_env_fini(&env);
}

/* Buffers stay short and the guest adds nothing: wait, not spin. */
static void
test_livelock(void **state)
{
	const struct variant *v = *state;
	struct vhf_guest_config g = gcfg_for(v, 64, v->mrg ? 2048 : 9300);
	struct vhf_test_env env;
	struct vhf_burst_result res;

	vhf_test_env_init(&env, &g, VHF_NOTIFY_FIXED);
	vhf_guest_rx_add(env.guest, 3);
	assert_int_equal(vhf_test_rx_one(&env, 9229, 1, 1, &res), 0);
	assert_int_equal(res.status, VHF_TO_GUEST_WAIT_KICK);
	assert_int_equal(env.vq.cnt[VHF_VQ_CNT_recheck_retry], 0);
	assert_int_equal(env.vq.cnt[VHF_VQ_CNT_recheck_cap], 0);
	vhf_test_env_fini(&env);

	/* The consumed-index recheck always "sees" the three short buffers. */
	vhf_test_env_init(&env, &g, VHF_NOTIFY_CONSUMED_IDX);
	vhf_guest_rx_add(env.guest, 3);
	assert_int_equal(vhf_test_rx_one(&env, 9229, 1, 1, &res), 0);
	assert_int_equal(res.status, VHF_TO_GUEST_RETRY);
	assert_int_equal(env.vq.cnt[VHF_VQ_CNT_recheck_retry], VHF_MAX_RECHECKS);
	assert_int_equal(env.vq.cnt[VHF_VQ_CNT_recheck_cap], 1);
	vhf_test_env_fini(&env);
}

/*
 * A caller that polls (the PMD's tx_burst): a short ring answers RETRY and
 * leaves the guest's kicks as they were, so the guest's refills cost it no
 * notification; vhf_net_to_guest_has_room(), called before a sleep, still arms
 * the kick, and the next refill kicks.
 */
static void
test_poll_no_arm(void **state)
{
	const struct variant *v = *state;
	struct vhf_guest_config g = gcfg_for(v, 64, 2048);
	struct vhf_test_env env;
	struct vhf_burst_result res;

	vhf_test_env_init_polling(&env, &g, VHF_NOTIFY_FIXED, true);
	vhf_guest_rx_add(env.guest, 1);
	vhf_guest_kick_prepare(env.guest); /* a fresh ring asks for this first kick */
	assert_int_equal(vhf_test_rx_one(&env, 100, 1, 1, &res), 1);
	assert_int_equal(res.status, VHF_TO_GUEST_DONE);
	guest_expect(&env, 100, 1, 1);

	/* Short: poll again, nothing armed. */
	assert_int_equal(vhf_test_rx_one(&env, 100, 2, 1, &res), 0);
	assert_int_equal(res.status, VHF_TO_GUEST_RETRY);
	assert_int_equal(env.vq.cnt[VHF_VQ_CNT_notify_enable], 0);
	assert_int_equal(env.vq.cnt[VHF_VQ_CNT_kick_waits], 0);
	vhf_guest_rx_add(env.guest, 1);
	assert_false(vhf_guest_kick_prepare(env.guest));
	assert_int_equal(vhf_test_rx_one(&env, 100, 2, 1, &res), 1);
	guest_expect(&env, 100, 2, 1);

	/* Before a sleep the caller arms: the never-stall rule, and the refill kicks. */
	assert_int_equal(vhf_net_to_guest_has_room(&env.vq, 100), VHF_TO_GUEST_WAIT_KICK);
	assert_int_equal(env.vq.cnt[VHF_VQ_CNT_notify_enable], 1);
	/* Still short, still polling: the armed kick stays armed. */
	assert_int_equal(vhf_test_rx_one(&env, 100, 3, 1, &res), 0);
	assert_int_equal(res.status, VHF_TO_GUEST_RETRY);
	vhf_guest_rx_add(env.guest, 1);
	assert_true(vhf_guest_kick_prepare(env.guest));
	assert_int_equal(vhf_test_rx_one(&env, 100, 3, 1, &res), 1);
	guest_expect(&env, 100, 3, 1);
	assert_int_equal(env.vq.cnt[VHF_VQ_CNT_notify_enable], 1);
	vhf_test_env_fini(&env);
}

/*
 * What a caller may size a burst by, before the burst: nothing published is
 * 0; split counts the buffers published, packed says "some" (a ring's worth).
 */
static void
test_published_max(void **state)
{
	const struct variant *v = *state;
	struct vhf_guest_config g = gcfg_for(v, 64, 2048);
	struct vhf_test_env env;
	struct vhf_burst_result res;

	vhf_test_env_init(&env, &g, VHF_NOTIFY_FIXED);
	assert_false(vhf_vq_has_published(&env.vq));
	assert_int_equal(vhf_vq_published_max(&env.vq), 0);
	vhf_guest_rx_add(env.guest, 5);
	assert_true(vhf_vq_has_published(&env.vq));
	assert_int_equal(vhf_vq_published_max(&env.vq), v->packed ? 64 : 5);
	assert_int_equal(vhf_test_rx_one(&env, 100, 1, 1, &res), 1);
	assert_int_equal(vhf_vq_published_max(&env.vq), v->packed ? 64 : 4);
	guest_expect(&env, 100, 1, 1);
	vhf_test_env_fini(&env);
}

/* vhf_vq_dump() into a string. */
static void
dump_of(const struct vhf_vq *vq, char *buf, size_t cap)
{
	FILE *f = fmemopen(buf, cap, "w");

	assert_non_null(f);
	vhf_vq_dump(vq, f);
	fclose(f);
}

/*
 * The post-mortem dump tells whether the driver published what we did not
 * take: the guest's side as it is in memory, next to ours; nothing of a
 * broken queue's memory.
 */
static void
test_dump(void **state)
{
	const struct variant *v = *state;
	struct vhf_guest_config g = gcfg_for(v, 64, 2048);
	struct vhf_test_env env;
	char out[1024];

	vhf_test_env_init(&env, &g, VHF_NOTIFY_FIXED);
	dump_of(&env.vq, out, sizeof(out));
	assert_non_null(strstr(out, v->packed ? "(not available)" : "avail idx 0 (0 ahead)"));
	assert_non_null(strstr(out, "broken 0"));
	vhf_guest_rx_add(env.guest, 5);
	dump_of(&env.vq, out, sizeof(out));
	assert_non_null(strstr(out, v->packed ? "(available)" : "avail idx 5 (5 ahead)"));
	assert_non_null(strstr(out, v->packed ? "avail 0 wrap 1" : "avail 0 shadow 0"));
	if (v->event_idx && !v->packed)
		assert_non_null(strstr(out, "avail_event"));
	vhf_vq_break(&env.vq, VHF_VQ_CNT_err_avail_idx);
	dump_of(&env.vq, out, sizeof(out));
	assert_non_null(strstr(out, "broken 1 reason "));
	assert_null(strstr(out, "driver:"));
	vhf_test_env_fini(&env);
}

/* The two protocol steps on their own: avail space returns the mark, the recheck uses it. */
static void
test_avail_space_mark(void **state)
{
	const struct variant *v = *state;
	struct vhf_guest_config g = gcfg_for(v, 64, 2048);
	struct vhf_test_env env;
	uint32_t bytes;
	int mark, mark2;

	vhf_test_env_init(&env, &g, VHF_NOTIFY_FIXED);
	vhf_guest_rx_add(env.guest, 3);
	vhf_guest_kick_prepare(env.guest);
	mark = vhf_test_to_guest_avail_space(&env.vq, 9229, &bytes);
	assert_true(mark >= 0);
	assert_int_equal(bytes, 3 * 2048);
	assert_false(vhf_vq_enable_notify_and_check(&env.vq, mark));

	/* The guest publishes one more: the recheck against the old mark sees it. */
	vhf_guest_rx_add(env.guest, 1);
	assert_true(vhf_vq_enable_notify_and_check(&env.vq, mark));
	mark2 = vhf_test_to_guest_avail_space(&env.vq, 9229, &bytes);
	assert_true(mark2 >= 0 && mark2 != mark);
	assert_int_equal(bytes, 4 * 2048);
	assert_false(vhf_vq_enable_notify_and_check(&env.vq, mark2));
	vhf_guest_kick_prepare(env.guest);

	/* Armed against mark2: the next publication must kick. */
	vhf_guest_rx_add(env.guest, 1);
	assert_true(vhf_guest_kick_prepare(env.guest));
	assert_int_equal(vhf_test_to_guest_avail_space(&env.vq, 9229, &bytes) >= 0, 1);
	assert_int_equal(bytes, 5 * 2048); /* covered: the walk stops there */
	vhf_test_env_fini(&env);
}

/*
 * A legitimate frame spread over many small chained buffers: 36 buffers of
 * 8 x 32-byte descriptors (a 1024-entry ring holds them), 288 host segments in
 * all, more than one chain may have. The per-chain limit must not apply to the
 * whole packet.
 */
static void
test_many_segments(void **state)
{
	const struct variant *v = *state;
	struct vhf_guest_config g = gcfg_for(v, 1024, 256);
	struct vhf_test_env env;
	struct vhf_burst_result res;

	g.descs_per_buf = 8;
	g.two_regions = false;
	vhf_test_env_init(&env, &g, VHF_NOTIFY_FIXED);
	vhf_guest_rx_add(env.guest, 40);
	assert_int_equal(vhf_test_rx_one(&env, 9000, 3, 4, &res), 1);
	assert_int_equal(res.status, VHF_TO_GUEST_DONE);
	assert_false(env.vq.broken);
	guest_expect(&env, 9000, 3, (uint16_t)bufs_needed(9000, VHF_NET_HDR_LEN_MRG, 256));
	vhf_test_env_fini(&env);
}

/* A frame that can never fit is dropped without taking buffers. */
static void
test_too_big(void **state)
{
	const struct variant *v = *state;
	struct vhf_guest_config g = gcfg_for(v, 8, 1024);
	struct vhf_test_env env;
	struct vhf_burst_result res;

	vhf_test_env_init(&env, &g, VHF_NOTIFY_FIXED);
	vhf_guest_rx_add(env.guest, 8);
	/* 8 x 1 KiB cannot hold 9000 bytes, mergeable or not. */
	assert_int_equal(vhf_test_rx_one(&env, 9000, 1, 1, &res), 1);
	assert_int_equal(res.status, VHF_TO_GUEST_DONE);
	assert_int_equal(env.vq.cnt[VHF_VQ_CNT_drop_too_big], 1);
	assert_int_equal(vhf_guest_rx_posted(env.guest), 8);
	/* The buffers are still there for a frame that fits. */
	assert_int_equal(vhf_test_rx_one(&env, 500, 2, 1, &res), 1);
	guest_expect(&env, 500, 2, 1);
	assert_false(env.vq.broken);
	vhf_test_env_fini(&env);
}

/* Resuming at GET_VRING_BASE's indexes continues the stream. */
static void
test_get_base_resume(void **state)
{
	const struct variant *v = *state;
	struct vhf_guest_config g = gcfg_for(v, 16, 2048);
	struct vhf_test_env env;
	struct vhf_burst_result res;
	unsigned int i;

	vhf_test_env_init(&env, &g, VHF_NOTIFY_FIXED);
	for (i = 0; i < 37; i++) {
		vhf_guest_rx_add(env.guest, 1);
		assert_int_equal(vhf_test_rx_one(&env, 100, i, 1, &res), 1);
		guest_expect(&env, 100, i, 1);
	}
	vhf_test_env_resume(&env);
	vhf_guest_rx_add(env.guest, 1);
	assert_int_equal(vhf_test_rx_one(&env, 100, 99, 1, &res), 1);
	guest_expect(&env, 100, 99, 1);
	vhf_test_env_fini(&env);
}

int
main(void)
{
	/* need_bits 4 (MRG_RXBUF): the scenario is a frame spread over several buffers. */
	static const struct vhf_test_case cases[] = {
		{ "roundtrip", test_rx_roundtrip, 0 },
		{ "burst_one_call", test_rx_burst_one_call, 0 },
		{ "burst_copy_batches", test_rx_burst_copy_batches, 0 },
		{ "burst_lines", test_rx_burst_lines, 0 },
		{ "index_wrap", test_rx_index_wrap, 0 },
		{ "seed_four_steps", test_seed_four_steps, 4 },
		{ "livelock", test_livelock, 4 },
		{ "too_big", test_too_big, 0 },
		{ "avail_space_mark", test_avail_space_mark, 4 },
		{ "poll_no_arm", test_poll_no_arm, 0 },
		{ "published_max", test_published_max, 0 },
		{ "many_segments", test_many_segments, 4 },
		{ "get_base_resume", test_get_base_resume, 0 },
		{ "dump", test_dump, 0 },
	};
	void *states[8];
	const char *vnames[8];
	unsigned int i;

	for (i = 0; i < 8; i++) {
		struct variant *v = &variants[i];

		v->packed = i & 1;
		v->event_idx = i & 2;
		v->mrg = i & 4;
		snprintf(v->name, sizeof(v->name), "%s%s%s", v->packed ? "packed" : "split",
			 v->event_idx ? "+event_idx" : "", v->mrg ? "+mrg_rxbuf" : "");
		states[i] = v;
		vnames[i] = v->name;
	}
	return vhf_test_run_matrix("rx", cases, sizeof(cases) / sizeof(cases[0]), states, vnames,
				   8);
}
