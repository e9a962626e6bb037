/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 dpdk-vhostfix authors
 */

/*
 * net_vhostfix's burst functions against lengths and counts they must not
 * trust (issue 11): a guest frame longer than the port's maximum, up to the
 * 128 MiB + 4 KiB one descriptor may describe; mbuf chains whose nb_segs or
 * pkt_len disagree with the chain; a guest that rewrites a frame's bytes
 * between two host reads of them; an rx mempool whose mbufs hold nothing.
 *
 * In process, with EAL (--no-huge) for mempools: the tests call
 * vhf_pmd_rx_burst() and vhf_pmd_tx_burst(), the functions ethdev calls, on a
 * queue attached to a ring of the guest model (vhf_pmd_harness.h). No
 * vhost-user socket: DPDK's virtio-user cannot send a frame longer than
 * 64 KiB, and the mbufs that lie are an application's.
 *
 * The guest rewriting its buffer is made deterministic at link time: the
 * PMD's calls to lib's vhf_iov_copy_out() reach __wrap_vhf_iov_copy_out()
 * below (-Wl,--wrap), which copies, then rewrites the guest's bytes, as a
 * vCPU may do at any moment. lib's own calls are not wrapped.
 */

#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cmocka.h>

#include <rte_bus_vdev.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "rte_pmd_vhostfix.h"
#include "vhf_net_offload.h"
#include "vhf_pmd_harness.h"

/* One descriptor of the issue: 128 MiB + 4 KiB, 65,538 mbufs of 2 KiB. */
#define HUGE_FRAME_LEN ((128u << 20) + 4096u)
/* In a region of its own, far above the guest model's memory. */
#define HUGE_GPA VHF_PMD_HARNESS_EXTRA_GPA
#define NAME "test_pmd_hostile_input"

static struct rte_mempool *pool_one; /* a single mbuf */
static struct rte_mempool *pool;     /* enough for every test */

static uint64_t
cnt(const struct vhf_pmd_harness *h, enum vhf_vq_counter c)
{
	return vhf_pmd_harness_cnt(h, c);
}

static uint64_t
pmd_cnt(const struct vhf_pmd_harness *h, enum vhf_pmd_counter c)
{
	return vhf_pmd_harness_pmd_cnt(h, c);
}

static void
fill(uint8_t *buf, uint32_t len, uint32_t seed)
{
	uint32_t i;

	for (i = 0; i < len; i++)
		buf[i] = (uint8_t)(i * 7u + seed);
}

/*
 * What an application may leave in an mbuf it frees: the rx burst must not
 * hand any of it out again (vhf_rx_mbuf_rearm(), field by field).
 */
static void
mbuf_dirty(struct rte_mbuf *m, uint16_t port)
{
	m->ol_flags = RTE_MBUF_F_RX_VLAN | RTE_MBUF_F_RX_L4_CKSUM_BAD;
	m->data_off = 0;
	m->port = port;
	m->packet_type = RTE_PTYPE_L2_ETHER;
	m->vlan_tci = 7;
	m->vlan_tci_outer = 8;
	m->tx_offload = 9;
}

/* A one-segment frame from the rx burst: every field as rte_pktmbuf_reset() leaves it. */
static void
assert_mbuf_fresh(const struct rte_mbuf *m, uint16_t port, uint32_t pkt_len)
{
	assert_int_equal(m->pkt_len, pkt_len);
	assert_int_equal(m->nb_segs, 1);
	assert_null(m->next);
	assert_int_equal(m->data_off, RTE_PKTMBUF_HEADROOM);
	assert_int_equal(m->ol_flags, 0);
	assert_int_equal(m->port, port);
	assert_int_equal(rte_mbuf_refcnt_read(m), 1);
	assert_int_equal(m->packet_type, 0);
	assert_int_equal(m->vlan_tci, 0);
	assert_int_equal(m->vlan_tci_outer, 0);
	assert_int_equal(m->tx_offload, 0);
}

/* Free what rx_burst returned; check every mbuf came back. */
static void
free_all(struct rte_mbuf **pkts, uint16_t n, struct rte_mempool *mp, unsigned int in_use_before)
{
	rte_pktmbuf_free_bulk(pkts, n);
	assert_int_equal(rte_mempool_in_use_count(mp), in_use_before);
}

/*
 * Frames over the port's maximum (100,000 bytes, and the 128 MiB +
 * 4 KiB descriptor) are consumed and counted, and cost no more than the one
 * mbuf rx_burst holds before it takes a packet: with a pool of one mbuf, a
 * second allocation would fail (drop_no_mbuf). The frame after them arrives.
 */
static void
test_frame_over_max_dropped_with_one_mbuf(void **state)
{
	static uint8_t big[100000];
	struct vhf_guest_config g = { .size = 16, .tx_max_len = sizeof(big) };
	struct rte_mbuf *pkts[32];
	uint8_t small[60], got[60];
	struct vhf_pmd_harness h;
	uint16_t n;

	(void)state;
	vhf_pmd_harness_init(&h, NAME, &g, true, pool_one, 0, HUGE_FRAME_LEN);
	fill(big, sizeof(big), 1);
	fill(small, sizeof(small), 2);
	assert_int_equal(vhf_guest_tx_send(h.guest, big, sizeof(big), NULL, 3), 0);
	assert_int_equal(vhf_pmd_harness_send_rewritten(&h, HUGE_GPA, HUGE_FRAME_LEN), 0);
	assert_int_equal(vhf_guest_tx_send(h.guest, small, sizeof(small), NULL, 1), 0);

	/*
	 * A burst of 2: the two drops use up its budget. The pool's one mbuf
	 * is held by rx_burst, so any other allocation would have failed and
	 * been counted.
	 */
	n = vhf_pmd_rx_burst(h.q, pkts, 2);
	assert_int_equal(n, 0);
	assert_int_equal(pmd_cnt(&h, VHF_PMD_CNT_drop_too_long), 2);
	assert_int_equal(pmd_cnt(&h, VHF_PMD_CNT_drop_no_mbuf), 0);
	assert_int_equal(rte_mempool_in_use_count(pool_one), 0);
	/* Both consumed: the guest has their buffers back. */
	assert_int_equal(vhf_guest_tx_reclaim(h.guest), 2);

	/* The frame after them arrives; the next allocation finds the pool empty (counted). */
	n = vhf_pmd_rx_burst(h.q, pkts, 32);
	assert_int_equal(n, 1);
	assert_int_equal(pkts[0]->pkt_len, sizeof(small));
	assert_int_equal(pkts[0]->nb_segs, 1);
	assert_memory_equal(rte_pktmbuf_read(pkts[0], 0, sizeof(got), got), small, sizeof(small));
	assert_int_equal(pmd_cnt(&h, VHF_PMD_CNT_drop_no_mbuf), 1);
	free_all(pkts, n, pool_one, 0);
	assert_int_equal(vhf_guest_tx_reclaim(h.guest), 1);
	assert_int_equal(pmd_cnt(&h, VHF_PMD_CNT_drop_too_long), 2);
	assert_false(h.q->vq.broken);
	vhf_pmd_harness_fini(&h);
}

/* The maximum itself (VHF_MAX_RX_PKTLEN, what dev_info says) is delivered, a byte more is not. */
static void
test_frame_at_max_delivered(void **state)
{
	static uint8_t frame[VHF_MAX_RX_PKTLEN + 1];
	static uint8_t got[VHF_MAX_RX_PKTLEN];
	struct vhf_guest_config g = { .size = 16, .tx_max_len = sizeof(frame) };
	unsigned int in_use = rte_mempool_in_use_count(pool);
	struct rte_mbuf *pkts[32];
	struct vhf_pmd_harness h;
	uint16_t n;

	(void)state;
	assert_int_equal(VHF_MAX_RX_PKTLEN, 65535);
	vhf_pmd_harness_init(&h, NAME, &g, true, pool, 0, 0);
	fill(frame, sizeof(frame), 3);
	assert_int_equal(vhf_guest_tx_send(h.guest, frame, VHF_MAX_RX_PKTLEN + 1, NULL, 2), 0);
	assert_int_equal(vhf_guest_tx_send(h.guest, frame, VHF_MAX_RX_PKTLEN, NULL, 5), 0);

	n = vhf_pmd_rx_burst(h.q, pkts, 32);
	assert_int_equal(n, 1);
	assert_int_equal(pmd_cnt(&h, VHF_PMD_CNT_drop_too_long), 1);
	assert_int_equal(pkts[0]->pkt_len, VHF_MAX_RX_PKTLEN);
	assert_memory_equal(rte_pktmbuf_read(pkts[0], 0, VHF_MAX_RX_PKTLEN, got), frame,
			    VHF_MAX_RX_PKTLEN);
	free_all(pkts, n, pool, in_use);
	vhf_pmd_harness_fini(&h);
}

/* A chain of nsegs mbufs of seg_len bytes each, nb_segs and pkt_len as they should be. */
static struct rte_mbuf *
make_chain(uint16_t nsegs, uint16_t seg_len, uint32_t seed)
{
	struct rte_mbuf *head = NULL, *prev = NULL;
	uint16_t i;

	for (i = 0; i < nsegs; i++) {
		struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
		uint8_t *d;

		assert_non_null(m);
		d = (uint8_t *)rte_pktmbuf_append(m, seg_len);
		assert_non_null(d);
		fill(d, seg_len, seed + i);
		if (head == NULL)
			head = m;
		else
			prev->next = m;
		prev = m;
	}
	/* Linked by hand: rte_pktmbuf_chain() refuses to count past its limit. */
	head->nb_segs = nsegs;
	head->pkt_len = (uint32_t)nsegs * seg_len;
	return head;
}

/* Send one good frame; the guest must get it whole: the queue still works. */
static void
check_queue_still_works(struct vhf_pmd_harness *h)
{
	static uint8_t got[2048];
	struct rte_mbuf *m = make_chain(2, 100, 9);
	uint8_t want[200];
	uint32_t len;

	assert_true(rte_pktmbuf_read(m, 0, sizeof(want), want) == want);
	assert_int_equal(vhf_pmd_tx_burst(h->q, &m, 1), 1);
	assert_int_equal(vhf_guest_rx_get(h->guest, got, sizeof(got), &len, NULL), 1);
	assert_int_equal(len, sizeof(want));
	assert_memory_equal(got, want, sizeof(want));
	assert_int_equal(vhf_guest_rx_add(h->guest, 1), 1);
}

/* tx_burst takes (and frees) a chain it refuses; nothing reaches the guest, one count. */
static void
check_bad_chain_dropped(struct vhf_pmd_harness *h, struct rte_mbuf *m)
{
	static uint8_t got[2048];
	unsigned int in_use = rte_mempool_in_use_count(pool);
	uint64_t before = pmd_cnt(h, VHF_PMD_CNT_drop_bad_chain);
	uint16_t real = 0;
	struct rte_mbuf *s;
	uint32_t len;

	for (s = m; s != NULL; s = s->next)
		real++;
	assert_int_equal(vhf_pmd_tx_burst(h->q, &m, 1), 1);
	assert_int_equal(pmd_cnt(h, VHF_PMD_CNT_drop_bad_chain), before + 1);
	assert_int_equal(cnt(h, VHF_VQ_CNT_packets), 0);
	assert_int_equal(vhf_guest_rx_get(h->guest, got, sizeof(got), &len, NULL), 0);
	/* Every segment of the real chain went back to the pool. */
	assert_int_equal(rte_mempool_in_use_count(pool), in_use - real);
	assert_false(h->q->vq.broken);
}

/*
 * Chains whose nb_segs or pkt_len lie: the walk never goes past the
 * segment array (ASan: stack-buffer-overflow in vhf_pmd_tx_burst without
 * the bound), nothing reaches the guest, each is counted.
 */
static void
test_lying_chain_not_walked(void **state)
{
	struct vhf_guest_config g = { .size = 256, .mrg_rxbuf = true };
	struct rte_mbuf *m;
	struct vhf_pmd_harness h;

	(void)state;
	vhf_pmd_harness_init(&h, NAME, &g, false, NULL, 0, 0);
	assert_int_equal(vhf_guest_rx_add(h.guest, 256), 256);

	/* The chain: 65,538 segments whose nb_segs wrapped to 2; 300 cross the array. */
	m = make_chain(300, 10, 1);
	assert_true(300 > VHF_PMD_BATCH_SEGS);
	m->nb_segs = 2;
	check_bad_chain_dropped(&h, m);

	/* Fewer segments than nb_segs says. */
	m = make_chain(2, 100, 2);
	m->nb_segs = 5;
	check_bad_chain_dropped(&h, m);

	/* pkt_len beyond the data: the guest would get bytes nobody wrote. */
	m = make_chain(2, 100, 3);
	m->pkt_len = 1000;
	check_bad_chain_dropped(&h, m);

	/* pkt_len short of the data: the copy would run past the guest buffers reserved. */
	m = make_chain(2, 1000, 4);
	m->pkt_len = 100;
	check_bad_chain_dropped(&h, m);

	/* nb_segs 0. */
	m = make_chain(1, 100, 5);
	m->nb_segs = 0;
	check_bad_chain_dropped(&h, m);

	check_queue_still_works(&h);
	assert_int_equal(pmd_cnt(&h, VHF_PMD_CNT_drop_bad_chain), 5);
	vhf_pmd_harness_fini(&h);
}

/* ------------------------------------------------------------------------------------- */
/* A guest that rewrites its frame after each host read of it                              */

uint32_t __real_vhf_iov_copy_out(void *dst, const struct vhf_iov *iov, uint16_t niov,
				 uint32_t skip, uint32_t len);
uint32_t __wrap_vhf_iov_copy_out(void *dst, const struct vhf_iov *iov, uint16_t niov,
				 uint32_t skip, uint32_t len);

/* Armed: the frame's first byte in host memory, and what the guest writes there next. */
static uint8_t *rewrite_at;
static const uint8_t *rewrite_with;
static uint32_t rewrite_len;
static unsigned int rewrites;

uint32_t
__wrap_vhf_iov_copy_out(void *dst, const struct vhf_iov *iov, uint16_t niov, uint32_t skip,
			uint32_t len)
{
	uint32_t done = __real_vhf_iov_copy_out(dst, iov, niov, skip, len);

	/* A read of the armed frame: the guest's vCPU rewrites it right after. */
	if (rewrite_at != NULL && niov > 0 && iov[0].base == rewrite_at) {
		memcpy(rewrite_at, rewrite_with, rewrite_len);
		rewrites++;
	}
	return done;
}

/* Ethernet + IPv4 (20 bytes) + TCP (20 bytes) + payload; proto: the IP protocol byte. */
static void
make_tcp4(uint8_t *f, uint32_t len, uint8_t proto)
{
	memset(f, 0, len);
	fill(f + 54, len - 54, 7);
	memset(f, 0x02, 12);
	f[12] = 0x08; /* IPv4 */
	f[13] = 0x00;
	f[14] = 0x45;
	vhf_ofl_put16(f + 16, (uint16_t)(len - 14));
	f[22] = 64;
	f[23] = proto;
	f[14 + 20 + 12] = 5 << 4; /* TCP data offset: 20 bytes */
}

/*
 * The guest sends a TCP/IPv4 GSO frame (NEEDS_CSUM at the TCP checksum, gso
 * TCPV4), then, once the host has read it, turns it into UDP: the header no
 * longer fits the bytes (a UDP checksum is not at offset 16, and GSO must be
 * TCP). Whatever the host delivers, metadata and bytes must agree: the TCP
 * frame with RX_LRO, tso_segsz and RX_L4_CKSUM_NONE, or nothing (counted as
 * drop_bad_offload). Never the UDP bytes with TCP's offload flags.
 */
static void
test_rewritten_frame_metadata_matches_bytes(void **state)
{
	enum { LEN = 1000, MSS = 500 };
	struct vhf_guest_config g = { .size = 16 };
	const uint64_t features = VHF_FEATURE(VHF_F_NET_CSUM) | VHF_FEATURE(VHF_F_NET_HOST_TSO4);
	const struct vhf_net_hdr hdr = {
		.flags = VHF_NET_HDR_F_NEEDS_CSUM, .gso_type = VHF_NET_HDR_GSO_TCPV4,
		.gso_size = MSS, .csum_start = 34, .csum_offset = VHF_OFL_TCP_CSUM_OFF,
	};
	static uint8_t tcp[LEN], udp[LEN], got[LEN];
	struct vhf_vring_desc *desc;
	struct vhf_vring_avail *avail;
	unsigned int in_use = rte_mempool_in_use_count(pool);
	struct rte_mbuf *pkts[32];
	struct vhf_pmd_harness h;
	uint16_t n, head;

	(void)state;
	vhf_pmd_harness_init(&h, NAME, &g, true, pool, features, 0);
	make_tcp4(tcp, LEN, VHF_OFL_IPPROTO_TCP);
	make_tcp4(udp, LEN, VHF_OFL_IPPROTO_UDP);
	/*
	 * The frame in two segments: a frame of one goes into its mbuf by an
	 * inline copy (vhf_pkt_to_mbuf()), with no call to wrap; two take the
	 * general walk through vhf_iov_copy_out(). What is classified afterwards
	 * is the mbuf either way.
	 */
	assert_int_equal(vhf_guest_tx_send(h.guest, tcp, LEN, &hdr, 2), 0);

	/* Arm the rewrite on the first payload descriptor's host memory: the headers are there. */
	desc = vhf_guest_split_desc(h.guest);
	avail = vhf_guest_split_avail(h.guest);
	head = avail->ring[(uint16_t)(avail->idx - 1) & (g.size - 1)];
	rewrite_len = desc[desc[head].next].len;
	assert_true(rewrite_len >= 54 && rewrite_len < LEN);
	rewrite_at = vhf_guest_gpa_to_host(h.guest, desc[desc[head].next].addr, rewrite_len);
	assert_non_null(rewrite_at);
	rewrite_with = udp;
	rewrites = 0;

	n = vhf_pmd_rx_burst(h.q, pkts, 32);
	rewrite_at = NULL;
	/* The guest did rewrite its frame while the host was at it. */
	assert_true(rewrites >= 1);
	if (n == 0) {
		assert_int_equal(pmd_cnt(&h, VHF_PMD_CNT_drop_bad_offload), 1);
	} else {
		struct rte_mbuf *m = pkts[0];

		assert_int_equal(n, 1);
		assert_int_equal(m->pkt_len, LEN);
		assert_memory_equal(rte_pktmbuf_read(m, 0, LEN, got), tcp, LEN);
		assert_true(m->ol_flags & RTE_MBUF_F_RX_LRO);
		assert_int_equal(m->tso_segsz, MSS);
		assert_int_equal(m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK,
				 RTE_MBUF_F_RX_L4_CKSUM_NONE);
	}
	free_all(pkts, n, pool, in_use);
	vhf_pmd_harness_fini(&h);
}

/*
 * With no TX offload negotiated a header can ask for nothing: one that asks
 * for a checksum and TCP segmentation anyway is not read (a conforming
 * driver sends zeroes), and its frame is delivered as sent, with no offload
 * flag and nothing dropped. With CSUM and HOST_TSO4 the same header is taken
 * (the test above).
 */
static void
test_header_unread_without_offloads(void **state)
{
	enum { LEN = 1000 };
	struct vhf_guest_config g = { .size = 16 };
	const struct vhf_net_hdr hdr = {
		.flags = VHF_NET_HDR_F_NEEDS_CSUM, .gso_type = VHF_NET_HDR_GSO_TCPV4,
		.gso_size = 500, .csum_start = 34, .csum_offset = VHF_OFL_TCP_CSUM_OFF,
	};
	static uint8_t tcp[LEN], got[LEN];
	unsigned int in_use = rte_mempool_in_use_count(pool);
	struct rte_mbuf *pkts[32];
	struct vhf_pmd_harness h;
	uint16_t n;

	(void)state;
	vhf_pmd_harness_init(&h, NAME, &g, true, pool, 0, 0);
	make_tcp4(tcp, LEN, VHF_OFL_IPPROTO_TCP);
	assert_int_equal(vhf_guest_tx_send(h.guest, tcp, LEN, &hdr, 1), 0);
	n = vhf_pmd_rx_burst(h.q, pkts, 32);
	assert_int_equal(n, 1);
	assert_int_equal(pkts[0]->pkt_len, LEN);
	assert_memory_equal(rte_pktmbuf_read(pkts[0], 0, LEN, got), tcp, LEN);
	assert_int_equal(pkts[0]->ol_flags & (RTE_MBUF_F_RX_LRO | RTE_MBUF_F_RX_L4_CKSUM_MASK), 0);
	assert_int_equal(pmd_cnt(&h, VHF_PMD_CNT_drop_bad_offload), 0);
	free_all(pkts, n, pool, in_use);
	vhf_pmd_harness_fini(&h);
}

/* ------------------------------------------------------------------------------------- */
/* Sleeping while the start gate holds a fresh guest RX ring                               */

/*
 * A guest RX queue held by its start gate (vhf_pmd_wait.c), closed as the
 * control path closes it on a fresh ring, its deadline 50 ms away, with a
 * frame waiting that tx_burst holds back: the application is about to sleep.
 */
static struct rte_mbuf *
gate_closed(struct vhf_pmd_harness *h, struct vhf_guest_config *g)
{
	struct rte_mbuf *m;

	vhf_pmd_harness_init(h, NAME, g, false, pool, 0, 0);
	assert_int_equal(vhf_wait_init(h->q), 0);
	assert_int_equal(vhf_guest_rx_add(h->guest, 4), 4);
	h->q->start_gate.closed = true;
	h->q->start_gate.deadline_ns = vhf_monotonic_ns() + 50 * 1000000ull;
	m = make_chain(1, 100, 5);
	assert_int_equal(vhf_pmd_tx_burst(h->q, &m, 1), 0);
	return m;
}

/* After the wake-up: the frame goes, the guest has it, the gate opened as `how`. */
static void
gate_opened(struct vhf_pmd_harness *h, struct rte_mbuf *m, enum vhf_pmd_counter how)
{
	static uint8_t got[2048];
	uint32_t len;

	assert_int_equal(vhf_pmd_tx_burst(h->q, &m, 1), 1);
	assert_int_equal(vhf_guest_rx_get(h->guest, got, sizeof(got), &len, NULL), 1);
	assert_int_equal(len, 100);
	assert_int_equal(pmd_cnt(h, how), 1);
	assert_false(h->q->start_gate.closed);
	/* Open for good: the next arm finds room, and sleeps on nothing. */
	assert_int_equal(vhf_txq_wait_arm(h->q, 100), RTE_PMD_VHOSTFIX_TX_ROOM);
	vhf_wait_fini(h->q);
	vhf_pmd_harness_fini(h);
}

/*
 * A driver that never kicks its fresh ring (DPDK's virtio-user after a packed
 * ring reconnect): the gate opens at its deadline, and a sleep armed before
 * it ends then. tx_wait_arm used to say -EAGAIN ("poll") while the gate held,
 * and an application that sleeps when idle spun until the deadline (dpdk-vhostfix
 * in sleep mode: ~4,000 aborted sleeps in that second).
 */
static void
test_gate_sleep_ends_at_deadline(void **state)
{
	struct vhf_guest_config g = { .size = 16 };
	struct vhf_pmd_harness h;
	struct rte_mbuf *m;
	struct pollfd pfd;

	(void)state;
	m = gate_closed(&h, &g);
	assert_int_equal(vhf_txq_wait_arm(h.q, 100), RTE_PMD_VHOSTFIX_TX_WAIT);
	/* Counted with the ring's arms that said "sleep". */
	assert_int_equal(cnt(&h, VHF_VQ_CNT_kick_waits), 1);
	pfd = (struct pollfd){ .fd = h.q->wait_epfd, .events = POLLIN };
	/* Due in 50 ms; the minute is only a safety net: a sleep never woken fails here. */
	assert_int_equal(poll(&pfd, 1, 60000), 1);
	gate_opened(&h, m, VHF_PMD_CNT_start_gate_timeout);
}

/* A driver that kicks: the gate opens on the kick, and the sleep ends on it. */
static void
test_gate_sleep_ends_on_kick(void **state)
{
	struct vhf_guest_config g = { .size = 16 };
	struct vhf_pmd_harness h;
	struct rte_mbuf *m;
	struct pollfd pfd;
	int kickfd;

	(void)state;
	m = gate_closed(&h, &g);
	/* A whole minute to go: only the kick can end this sleep in time. */
	h.q->start_gate.deadline_ns = vhf_monotonic_ns() + 60 * 1000000000ull;
	kickfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	assert_true(kickfd >= 0);
	h.q->kickfd = kickfd;
	vhf_wait_attach(h.q); /* as at attach: the kickfd joins the set */
	assert_int_equal(vhf_txq_wait_arm(h.q, 100), RTE_PMD_VHOSTFIX_TX_WAIT);
	pfd = (struct pollfd){ .fd = h.q->wait_epfd, .events = POLLIN };
	assert_int_equal(poll(&pfd, 1, 0), 0); /* the attach's wake-up was consumed by the arm */
	assert_int_equal(eventfd_write(kickfd, 1), 0);
	assert_int_equal(poll(&pfd, 1, 60000), 1);
	vhf_wait_detach(h.q);
	gate_opened(&h, m, VHF_PMD_CNT_start_gate_kick);
	close(kickfd);
}

/* ------------------------------------------------------------------------------------- */
/* Queue set-up                                                                            */

/* A port of ours named name on a socket in a fresh directory dir, configured with 1+1 queues. */
static uint16_t
port_open(const char *name, char *dir)
{
	char args[128], sock[64];
	struct rte_eth_conf conf;
	uint16_t port;

	assert_non_null(mkdtemp(dir));
	snprintf(sock, sizeof(sock), "%s/s.sock", dir);
	snprintf(args, sizeof(args), "iface=%s", sock);
	assert_int_equal(rte_vdev_init(name, args), 0);
	assert_int_equal(rte_eth_dev_get_port_by_name(name, &port), 0);
	memset(&conf, 0, sizeof(conf));
	assert_int_equal(rte_eth_dev_configure(port, 1, 1, &conf), 0);
	return port;
}

static void
port_close(const char *name, uint16_t port, const char *dir)
{
	char sock[64];

	assert_int_equal(rte_eth_dev_close(port), 0);
	assert_int_equal(rte_vdev_uninit(name), 0);
	snprintf(sock, sizeof(sock), "%s/s.sock", dir);
	unlink(sock);
	rmdir(dir);
}

/*
 * rx_burst takes its mbufs from the pool in one go and gives back the ones no
 * frame filled: whatever the burst size and however many frames wait, the
 * pool's in-use count is the frames delivered, and each mbuf delivered is
 * freshly reset, whatever an application left in it before freeing it.
 */
static void
test_rx_burst_mbufs_taken_reset_returned(void **state)
{
	struct vhf_guest_config g = { .size = 256, .tx_max_len = 2048 };
	struct rte_mbuf *pkts[32];
	uint8_t frame[60], got[60];
	struct vhf_pmd_harness h;
	/* Just over a burst, no cache: every mbuf an application freed comes round again. */
	struct rte_mempool *small_pool = rte_pktmbuf_pool_create("hostile_40", 40, 0, 0,
								 RTE_MBUF_DEFAULT_BUF_SIZE,
								 SOCKET_ID_ANY);
	unsigned int in_use = 0;
	uint16_t n, i, round;

	(void)state;
	assert_non_null(small_pool);
	vhf_pmd_harness_init(&h, NAME, &g, true, small_pool, 0, 0);
	/* An idle guest: no mbuf moves. */
	assert_int_equal(vhf_pmd_rx_burst(h.q, pkts, 32), 0);
	assert_int_equal(rte_mempool_in_use_count(small_pool), in_use);
	for (round = 0; round < 4; round++) {
		uint16_t frames = round == 0 ? 5 : 70, left = frames;

		for (i = 0; i < frames; i++) {
			fill(frame, sizeof(frame), round * 100u + i);
			assert_int_equal(vhf_guest_tx_send(h.guest, frame, sizeof(frame), NULL, 1), 0);
		}
		while (left > 0) {
			n = vhf_pmd_rx_burst(h.q, pkts, 32);
			assert_int_equal(n, RTE_MIN(left, 32));
			assert_int_equal(rte_mempool_in_use_count(small_pool), in_use + n);
			for (i = 0; i < n; i++) {
				struct rte_mbuf *m = pkts[i];

				fill(frame, sizeof(frame), round * 100u + (frames - left) + i);
				assert_mbuf_fresh(m, h.q->port_id, sizeof(frame));
				assert_memory_equal(rte_pktmbuf_read(m, 0, sizeof(got), got), frame,
						    sizeof(frame));
				/* Left dirty: the next burst must not see it. */
				mbuf_dirty(m, RTE_MBUF_PORT_INVALID);
			}
			free_all(pkts, n, small_pool, in_use);
			left = (uint16_t)(left - n);
		}
		assert_int_equal(vhf_guest_tx_reclaim(h.guest), frames);
	}
	vhf_pmd_harness_fini(&h);
	rte_mempool_free(small_pool);
}

/*
 * A pool too low for the burst's bulk of mbufs but not empty: frames still
 * arrive, one mbuf at a time from the pool, each as reset as the bulk's (the
 * template's port, flags, offsets: the fields an application left in them
 * before freeing are gone); the frames behind them wait in the ring, not lost.
 */
static void
test_rx_burst_single_mbufs_when_bulk_fails(void **state)
{
	enum { POOL = 40, FREE = 3, FRAMES = 5 };
	struct vhf_guest_config g = { .size = 256, .tx_max_len = 2048 };
	struct rte_mbuf *held[POOL], *pkts[32];
	uint8_t frame[60], got[60];
	struct vhf_pmd_harness h;
	/* No cache: a bulk get is all or nothing, and singles come from the same ring. */
	struct rte_mempool *mp = rte_pktmbuf_pool_create("hostile_single", POOL, 0, 0,
							 RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	uint16_t n, i;

	(void)state;
	assert_non_null(mp);
	vhf_pmd_harness_init(&h, NAME, &g, true, mp, 0, 0);
	/* Every mbuf of the pool as an application may free it. */
	assert_int_equal(rte_pktmbuf_alloc_bulk(mp, held, POOL), 0);
	for (i = 0; i < POOL; i++)
		mbuf_dirty(held[i], (uint16_t)(h.q->port_id + 77));
	rte_pktmbuf_free_bulk(held, POOL);
	assert_int_equal(rte_pktmbuf_alloc_bulk(mp, held, POOL - FREE), 0);
	for (i = 0; i < FRAMES; i++) {
		fill(frame, sizeof(frame), 500u + i);
		assert_int_equal(vhf_guest_tx_send(h.guest, frame, sizeof(frame), NULL, 1), 0);
	}
	n = vhf_pmd_rx_burst(h.q, pkts, 32);
	assert_int_equal(n, FREE);
	assert_int_equal(pmd_cnt(&h, VHF_PMD_CNT_drop_no_mbuf), 1);
	for (i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];

		fill(frame, sizeof(frame), 500u + i);
		assert_mbuf_fresh(m, h.q->port_id, sizeof(frame));
		assert_memory_equal(rte_pktmbuf_read(m, 0, sizeof(got), got), frame, sizeof(frame));
	}
	free_all(pkts, n, mp, POOL - FREE);
	rte_pktmbuf_free_bulk(held, POOL - FREE);
	/* The two left behind arrive with the pool back. */
	n = vhf_pmd_rx_burst(h.q, pkts, 32);
	assert_int_equal(n, FRAMES - FREE);
	for (i = 0; i < n; i++) {
		fill(frame, sizeof(frame), 500u + FREE + i);
		assert_int_equal(pkts[i]->port, h.q->port_id);
		assert_memory_equal(rte_pktmbuf_read(pkts[i], 0, sizeof(got), got), frame,
				    sizeof(frame));
	}
	free_all(pkts, n, mp, 0);
	assert_int_equal(vhf_guest_tx_reclaim(h.guest), FRAMES);
	vhf_pmd_harness_fini(&h);
	rte_mempool_free(mp);
}

/*
 * A frame longer than an mbuf takes its other segments from the burst's bulk
 * of mbufs, as its first: each segment delivered freshly reset, every mbuf of
 * the bulk not filled back in the pool, and a frame dropped (drop_no_mbuf)
 * only once the pool itself is dry, not while the burst still holds mbufs
 * taken for frames behind it.
 */
static void
test_rx_burst_chains_from_burst_mbufs(void **state)
{
	enum { FRAME = 5000, SEGS = 3, POOL = 40, FRAMES = 20 };
	struct vhf_guest_config g = { .size = 256, .tx_max_len = FRAME };
	static uint8_t frame[FRAME], got[FRAME];
	struct rte_mbuf *pkts[32];
	struct vhf_pmd_harness h;
	/* No cache: the in-use count is exact, and the mbufs freed come round again. */
	struct rte_mempool *mp = rte_pktmbuf_pool_create("hostile_chain", POOL, 0, 0,
							 RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	uint16_t n, i, sent = 0, taken = 0;

	(void)state;
	assert_non_null(mp);
	vhf_pmd_harness_init(&h, NAME, &g, true, mp, 0, 0);
	for (i = 0; i < FRAMES; i++) {
		fill(frame, FRAME, 7000u + i);
		/* Two guest pieces, cut where no mbuf is. */
		assert_int_equal(vhf_guest_tx_send(h.guest, frame, FRAME, NULL, 2), 0);
	}
	/*
	 * The burst takes a head for every frame waiting (20 of the 40 mbufs):
	 * the frames' other segments come out of those first, so 13 frames
	 * (39 mbufs) arrive before one finds the pool empty mid-chain.
	 */
	n = vhf_pmd_rx_burst(h.q, pkts, 32);
	assert_int_equal(n, POOL / SEGS);
	assert_int_equal(pmd_cnt(&h, VHF_PMD_CNT_drop_no_mbuf), 1);
	assert_int_equal(rte_mempool_in_use_count(mp), n * SEGS);
	for (;;) {
		for (i = 0; i < n; i++) {
			struct rte_mbuf *m = pkts[i], *seg;
			uint16_t k = 0;

			/* The frame dropped mid-chain is the one after those delivered. */
			fill(frame, FRAME, 7000u + taken + (taken >= POOL / SEGS) + i);
			assert_int_equal(m->pkt_len, FRAME);
			assert_int_equal(m->nb_segs, SEGS);
			assert_int_equal(m->ol_flags, 0);
			for (seg = m; seg != NULL; seg = seg->next, k++) {
				assert_int_equal(seg->data_off, RTE_PKTMBUF_HEADROOM);
				assert_int_equal(seg->data_len,
						 k < SEGS - 1 ? 2048 : FRAME - 2048 * (SEGS - 1));
			}
			assert_int_equal(k, SEGS);
			assert_memory_equal(rte_pktmbuf_read(m, 0, FRAME, got), frame, FRAME);
			/* What an application may leave behind in every segment. */
			for (seg = m; seg != NULL; seg = seg->next) {
				seg->ol_flags = RTE_MBUF_F_RX_VLAN | RTE_MBUF_F_RX_L4_CKSUM_BAD;
				seg->data_off = 0;
			}
		}
		free_all(pkts, n, mp, 0);
		taken = (uint16_t)(taken + n);
		sent = (uint16_t)(sent + n);
		if (taken + 1 == FRAMES)
			break;
		/* The rest: 6 frames, 18 mbufs, none dropped. */
		n = vhf_pmd_rx_burst(h.q, pkts, 32);
		assert_int_equal(n, FRAMES - 1 - taken);
		assert_int_equal(rte_mempool_in_use_count(mp), n * SEGS);
	}
	assert_int_equal(sent, FRAMES - 1);
	assert_int_equal(pmd_cnt(&h, VHF_PMD_CNT_drop_no_mbuf), 1);
	assert_int_equal(vhf_guest_tx_reclaim(h.guest), FRAMES);
	assert_false(h.q->vq.broken);
	vhf_pmd_harness_fini(&h);
	rte_mempool_free(mp);
}

/*
 * An rx mempool whose mbufs have no byte after the headroom is refused:
 * copying a guest frame into it would take mbufs until the pool is dry.
 */
static void
test_rx_pool_without_room_refused(void **state)
{
	char dir[] = "/tmp/vhf-hostile.XXXXXX";
	struct rte_mempool *tiny;
	uint16_t port;

	(void)state;
	port = port_open("net_vhostfix_hostile", dir);
	tiny = rte_pktmbuf_pool_create("hostile_tiny", 63, 0, 0, RTE_PKTMBUF_HEADROOM,
				       SOCKET_ID_ANY);
	assert_non_null(tiny);
	assert_int_equal(rte_eth_rx_queue_setup(port, 0, 256, SOCKET_ID_ANY, NULL, tiny), -EINVAL);
	assert_int_equal(rte_eth_rx_queue_setup(port, 0, 256, SOCKET_ID_ANY, NULL, pool), 0);
	port_close("net_vhostfix_hostile", port, dir);
	rte_mempool_free(tiny);
}

/* ------------------------------------------------------------------------------------- */
/* MBUF_FAST_FREE                                                                          */

/* Send the n mbufs of pkts to h's guest; it must get every frame, each whole. */
static void
send_and_check(struct vhf_pmd_harness *h, struct rte_mbuf **pkts, uint16_t n)
{
	static uint8_t want[32][400], got[2048];
	uint32_t len, lens[32];
	uint16_t i;

	assert_true(n <= RTE_DIM(want));
	for (i = 0; i < n; i++) {
		const void *p = rte_pktmbuf_read(pkts[i], 0, pkts[i]->pkt_len, want[i]);

		/* Contiguous, it points into the mbuf, which the burst frees: keep a copy. */
		assert_non_null(p);
		assert_true(pkts[i]->pkt_len <= sizeof(want[i]));
		if (p != want[i])
			memcpy(want[i], p, pkts[i]->pkt_len);
		lens[i] = pkts[i]->pkt_len;
	}
	assert_int_equal(vhf_pmd_tx_burst(h->q, pkts, n), n);
	for (i = 0; i < n; i++) {
		assert_int_equal(vhf_guest_rx_get(h->guest, got, sizeof(got), &len, NULL), 1);
		assert_int_equal(len, lens[i]);
		assert_memory_equal(got, want[i], len);
	}
	assert_int_equal(vhf_guest_rx_add(h->guest, n), n);
}

/*
 * RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE is offered (testpmd asks for it whenever
 * a PMD does) and taken per tx queue. With it, a burst of one-segment mbufs
 * goes back to the pool in one put; a burst with a chain in it still goes
 * through the per-segment free, or the chain's other segments would leak.
 * Either way every mbuf is back, in the state the pool hands them out in.
 */
static void
test_fast_free_returns_every_mbuf(void **state)
{
	char dir[] = "/tmp/vhf-hostile.XXXXXX";
	struct vhf_guest_config g = { .size = 256, .mrg_rxbuf = true };
	/* No cache: what a burst takes or gives back shows in the pool's counts at once. */
	struct rte_mempool *mp = rte_pktmbuf_pool_create("hostile_ff", 127, 0, 0,
							 RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	struct rte_eth_dev_info info;
	struct rte_mbuf *pkts[32], *raw[127];
	struct rte_eth_conf conf;
	struct vhf_pmd_harness h;
	uint16_t port_id, i;
	char *dump;
	size_t dump_len;
	bool said[2];
	FILE *f;
	int fast;

	(void)state;
	assert_non_null(mp);
	/* The ethdev side: offered, and taken by the queue only when asked for. */
	port_id = port_open("net_vhostfix_ff", dir);
	assert_int_equal(rte_eth_dev_info_get(port_id, &info), 0);
	assert_true(info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE);
	for (fast = 0; fast < 2; fast++) {
		memset(&conf, 0, sizeof(conf));
		conf.txmode.offloads = fast ? RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE : 0;
		assert_int_equal(rte_eth_dev_configure(port_id, 1, 1, &conf), 0);
		assert_int_equal(rte_eth_tx_queue_setup(port_id, 0, 256, SOCKET_ID_ANY, NULL), 0);
		/* The queue says what it took in the port's dump. */
		f = open_memstream(&dump, &dump_len);
		assert_non_null(f);
		assert_int_equal(rte_eth_dev_priv_dump(port_id, f), 0);
		fclose(f);
		said[fast] = strstr(dump, "mbuf fast free") != NULL;
		free(dump);
	}
	/* Closed before the verdict: a failed check leaves no socket or directory behind. */
	port_close("net_vhostfix_ff", port_id, dir);
	assert_false(said[0]);
	assert_true(said[1]);

	/* The burst side, on a queue that took it. */
	vhf_pmd_harness_init(&h, NAME, &g, false, NULL, 0, 0);
	h.q->fast_free = true;
	assert_int_equal(vhf_guest_rx_add(h.guest, 256), 256);
	for (i = 0; i < 32; i++) {
		pkts[i] = rte_pktmbuf_alloc(mp);
		assert_non_null(pkts[i]);
		fill((uint8_t *)rte_pktmbuf_append(pkts[i], 60), 60, i);
	}
	send_and_check(&h, pkts, 32);
	assert_int_equal(rte_mempool_in_use_count(mp), 0);
	/* A chain among single segments: three segments back, not one. */
	for (i = 0; i < 4; i++) {
		struct rte_mbuf *m = rte_pktmbuf_alloc(mp);

		assert_non_null(m);
		fill((uint8_t *)rte_pktmbuf_append(m, 100), 100, 50u + i);
		pkts[i] = m;
	}
	pkts[2]->next = rte_pktmbuf_alloc(mp);
	assert_non_null(pkts[2]->next);
	pkts[2]->next->next = rte_pktmbuf_alloc(mp);
	assert_non_null(pkts[2]->next->next);
	fill((uint8_t *)rte_pktmbuf_append(pkts[2]->next, 100), 100, 60);
	fill((uint8_t *)rte_pktmbuf_append(pkts[2]->next->next, 100), 100, 61);
	pkts[2]->nb_segs = 3;
	pkts[2]->pkt_len = 300;
	assert_int_equal(rte_mempool_in_use_count(mp), 6);
	send_and_check(&h, pkts, 4);
	assert_int_equal(rte_mempool_in_use_count(mp), 0);
	/* Every mbuf as the pool keeps them: one segment, no next, one reference. */
	for (i = 0; i < RTE_DIM(raw); i++) {
		raw[i] = rte_mbuf_raw_alloc(mp);
		assert_non_null(raw[i]);
		assert_null(raw[i]->next);
		assert_int_equal(raw[i]->nb_segs, 1);
		assert_int_equal(rte_mbuf_refcnt_read(raw[i]), 1);
	}
	rte_mempool_put_bulk(mp, (void **)raw, RTE_DIM(raw));
	vhf_pmd_harness_fini(&h);
	rte_mempool_free(mp);
}

/* ------------------------------------------------------------------------------------- */
/* xstats                                                                                  */

/*
 * What users see of a queue's counters, in this order, since before the PMD
 * kept its own counters apart from lib/'s (issue 12): scripts and dashboards
 * read them by name, and the order is what dpdk-proc-info and the app print.
 */
static const char *const queue_xstat_names[] = {
	"packets", "bytes", "guest_buffers", "calls_needed", "calls_suppressed",
	"notify_enables", "kick_waits", "recheck_retries", "recheck_cap_hits", "drop_too_big",
	"drop_queue_broken", "drop_no_mbuf", "err_desc_index", "err_desc_flags", "err_desc_loop",
	"err_desc_len", "err_desc_addr", "err_desc_too_many_segments", "err_avail_idx",
	"err_net_hdr", "drop_runt_frame", "err_desc_chain_too_long", "err_rx_buffer_too_short",
	"budget_exhausted", "descriptors_read", "guest_kicks", "wakeups", "csum_offloaded",
	"gso_offloaded", "csum_sw_completed", "drop_bad_offload", "drop_tso_no_guest_tso",
	"start_gate_kick", "start_gate_timeouts", "drop_frame_too_long", "drop_bad_mbuf_chain",
	"announce_rarp",
};

/* A port with one queue pair: rx_q0_* then tx_q0_*, each queue's in the order above. */
static void
test_xstat_names_keep_their_order(void **state)
{
	const unsigned int per_queue = RTE_DIM(queue_xstat_names);
	char dir[] = "/tmp/vhf-hostile.XXXXXX", want[RTE_ETH_XSTATS_NAME_SIZE];
	/* ethdev's own basic stats come first (rx_good_packets, ...), ours after them. */
	struct rte_eth_xstat_name names[64 + 2 * RTE_DIM(queue_xstat_names)];
	unsigned int i, first;
	int n;
	uint16_t port;

	(void)state;
	port = port_open("net_vhostfix_xstats", dir);
	n = rte_eth_xstats_get_names(port, NULL, 0);
	assert_in_range(n, 2 * per_queue, RTE_DIM(names));
	assert_int_equal(rte_eth_xstats_get_names(port, names, RTE_DIM(names)), n);
	first = (unsigned int)n - 2 * per_queue;
	for (i = 0; i < 2 * per_queue; i++) {
		snprintf(want, sizeof(want), "%s_q0_%s", i < per_queue ? "rx" : "tx",
			 queue_xstat_names[i % per_queue]);
		assert_string_equal(names[first + i].name, want);
	}
	port_close("net_vhostfix_xstats", port, dir);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frame_over_max_dropped_with_one_mbuf),
		cmocka_unit_test(test_frame_at_max_delivered),
		cmocka_unit_test(test_lying_chain_not_walked),
		cmocka_unit_test(test_rewritten_frame_metadata_matches_bytes),
		cmocka_unit_test(test_header_unread_without_offloads),
		cmocka_unit_test(test_rx_burst_mbufs_taken_reset_returned),
		cmocka_unit_test(test_rx_burst_single_mbufs_when_bulk_fails),
		cmocka_unit_test(test_rx_burst_chains_from_burst_mbufs),
		cmocka_unit_test(test_rx_pool_without_room_refused),
		cmocka_unit_test(test_fast_free_returns_every_mbuf),
		cmocka_unit_test(test_xstat_names_keep_their_order),
		cmocka_unit_test(test_gate_sleep_ends_at_deadline),
		cmocka_unit_test(test_gate_sleep_ends_on_kick),
	};
	int ret;

	(void)argc;
	if (vhf_pmd_harness_eal_init(argv[0]) < 0) {
		printf("Bail out! EAL init failed\n");
		return 1;
	}
	pool_one = rte_pktmbuf_pool_create("hostile_one", 1, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
					   SOCKET_ID_ANY);
	pool = rte_pktmbuf_pool_create("hostile_pool", 2047, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				       SOCKET_ID_ANY);
	if (pool_one == NULL || pool == NULL) {
		printf("Bail out! no mempool\n");
		return 1;
	}
	ret = cmocka_run_group_tests(tests, NULL, NULL);
	rte_mempool_free(pool);
	rte_mempool_free(pool_one);
	rte_eal_cleanup();
	return ret;
}
