/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 dpdk-vhostfix authors
 */

/*
 * vhf_pmd_check: one side of a net_vhostfix <-> net_virtio_user pair, each
 * side its own process running this program on port 0 (whatever --vdev EAL
 * was given), so the PMD under test talks to DPDK's own virtio driver over a
 * real vhost-user socket.
 *
 * Every frame carries its sender's role, its queue, a sequence number and its
 * length, and a payload derived from those; the receiver rebuilds each frame
 * and compares every byte, across mbuf segments. Modes:
 *
 *  verify  --count N frames per queue each way; in order, none lost, none
 *          altered; ends when both directions are complete.
 *  soak    frames both ways until --seconds or SIGTERM; no ordering (the peer
 *          restarts), every byte still checked; prints progress lines.
 *  rxintr  the host only receives, and sleeps on ethdev rx interrupts
 *          (rte_eth_dev_rx_intr_ctl_q) whenever a poll finds nothing; the
 *          guest sends paced bursts (--pace-ms).
 *  txwait  the host only sends, and when tx_burst comes back short sleeps on
 *          rte_pmd_vhostfix_tx_wait_arm()/_fd(); the guest receives but stops
 *          refilling for --pause-ms every --pause-every frames.
 *
 * In the wait modes a sleep that reaches --stall-ms (30 s: a lost kick is a
 * sleep that never ends, a busy machine delays a kick by far less) is a stall:
 * the run fails. A sleep begun with no guest (the link down) ends when one
 * comes, which may take longer: its timeout is no stall.
 * At the end each side prints "RESULT ok|FAIL ..." and the mbufs its pool
 * still has in use once its own pending frames are freed; with --xstats, the
 * port's non-zero xstats as "XSTAT name value" lines before it; with --dump, and
 * after any timeout, the driver's view of its rings (rte_eth_dev_priv_dump)
 * after "DUMP port N".
 * --dump-hold-ms MS (host, with --dump) holds the dump where it has said that
 * a queue is attached and is about to read that ring in guest memory: it
 * prints "HOLD dump" and waits up to MS for the guest's memory to be unmapped
 * (the test kills the guest on that line), then prints "DUMP HOLD ended:
 * guest memory unmapped|still mapped" and lets the dump go on. A driver that
 * lets a guest's memory go while its dump reads it crashes there.
 *
 * So that a test can wait for an event rather than for time to pass:
 * --hold-after N[,N...] stops using the port once N frames have been received
 * (sent, on a side that only sends), prints "HOLD k" and goes on at the k-th
 * SIGUSR1 (the run's --seconds do not count the hold); --stay keeps receiving
 * after its own work is done until SIGTERM (instead of --linger-ms), for a
 * peer that must stay until the other side is done; and the telemetry command
 * /vhf_pmd_check/stats tells how many sleeps began with a guest there
 * ("guest_sleeps": in txwait after an arm that said TX_WAIT, in rxintr with the
 * link up) and whether one is under way ("in_guest_sleep"): with the guest on
 * hold since before its first frame, only the guest can end that sleep.
 *
 * Offloads (any mode): --l4 udp4,tcp4,udp6,tcp6 makes every frame a real
 * Ethernet/IP/UDP|TCP packet (protocol by sequence number), the numbered
 * payload after its headers. The L4 checksum is then part of the check: a
 * receiver completes a partial checksum flagged RTE_MBUF_F_RX_L4_CKSUM_NONE
 * and verifies every checksum against the pseudo-header; a frame flagged BAD
 * or with a wrong checksum is bad. --tx-csum leaves the L4 (and IPv4 header,
 * when offered) checksum to the port (RTE_MBUF_F_TX_*_CKSUM, pseudo-header
 * sum in the field as DPDK asks), otherwise the sender computes it; --tso MSS
 * also asks for TCP segmentation offload. --rx-csum and --lro enable the
 * matching rx offloads. Frames received flagged L4_CKSUM_NONE, GOOD, or
 * checked in the data, and LRO frames, are counted in the RESULT line.
 * --rx-count N expects N frames per queue instead of --count (0: none).
 * --tx-after-rx sends only once the peer's first frame arrived: a virtio-user
 * peer comes up twice, first with no offload negotiated, and what reaches it
 * then is lost to the test.
 * --slow-start-us U makes every mbuf allocation take U microseconds while
 * rte_eth_dev_start() runs (a pool without cache, over ops that sleep), so a
 * virtio-user guest posts its receive buffers slowly, and the host has time to
 * fill them before the driver's start is over: it widens the window in which
 * DPDK's virtio start discards what a device already delivered (the
 * guest_start_race test).
 */

#define _GNU_SOURCE /* fopencookie(), memmem() */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_epoll.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_interrupts.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_telemetry.h>
#include <rte_vhost.h>

#include "rte_pmd_vhostfix.h"

#define CHK_MAX_QUEUES 4
#define CHK_BURST 32
#define CHK_MAX_LENS 8
#define CHK_HDR_LEN 28 /* ethernet 14, magic 3, role 1, queue 2, seq 4, length 4 */
#define CHK_ETHER_TYPE 0x88b5 /* IEEE local experimental */
#define CHK_MAX_HOLDS 4

enum chk_mode { MODE_VERIFY, MODE_SOAK, MODE_RXINTR, MODE_TXWAIT };

static struct {
	bool host;
	enum chk_mode mode;
	uint64_t count;
	uint32_t lens[CHK_MAX_LENS];
	unsigned int nlens;
	uint16_t queues;
	uint16_t mbuf_size;
	unsigned int nb_mbufs;
	double seconds;
	unsigned int pace_ms;
	unsigned int pause_every;
	unsigned int pause_ms;
	unsigned int stall_ms;
	unsigned int linger_ms;
	/* Offloads. */
	uint8_t l4[CHK_MAX_LENS]; /* CHK_L4_*; nl4 == 0: plain frames */
	unsigned int nl4;
	bool tx_csum;
	bool rx_csum;
	bool lro;
	uint16_t tso_mss;
	bool xstats;
	bool dump;
	unsigned int dump_hold_ms;
	bool tx_after_rx;
	int64_t rx_count; /* -1: --count */
	unsigned int slow_start_us;
	uint64_t hold_after[CHK_MAX_HOLDS];
	unsigned int nholds;
	bool stay;
} opt = {
	.mode = MODE_VERIFY,
	.count = 10000,
	.lens = { 64 },
	.nlens = 1,
	.queues = 1,
	.mbuf_size = RTE_MBUF_DEFAULT_BUF_SIZE,
	.nb_mbufs = 16384,
	.seconds = 30,
	.stall_ms = 30000,
	.linger_ms = 500,
	.rx_count = -1,
};

enum { CHK_L4_UDP4, CHK_L4_TCP4, CHK_L4_UDP6, CHK_L4_TCP6 };

/* The port's tx offload capabilities, for what --tx-csum may ask. */
static uint64_t tx_capa;
/* Received frames by checksum state, and LRO frames. */
static uint64_t rx_csum_none, rx_csum_good, rx_csum_data, rx_lro;

struct chk_queue {
	/* tx */
	uint64_t sent;
	struct rte_mbuf *pend[CHK_BURST];
	uint16_t pend_n, pend_off;
	/* rx */
	uint64_t rcvd;
	uint64_t next_seq;
	uint64_t bad;
	uint64_t out_of_order;
};

static struct chk_queue queues[CHK_MAX_QUEUES];
static struct rte_mempool *pool;
static volatile sig_atomic_t stop_req, resumes;
/* Written by the main lcore only; read by the telemetry thread too (relaxed). */
static uint64_t sleeps, guest_sleeps, wakes, stalls, shorts, self_wakes;
static uint64_t in_guest_sleep; /* 1 from a guest sleep's start to its end */
static uint64_t first_bad_report;

static void
on_signal(int sig __rte_unused)
{
	stop_req = 1;
}

static void
on_resume(int sig __rte_unused)
{
	resumes++;
}

static inline void
chk_inc(uint64_t *c)
{
	__atomic_store_n(c, *c + 1, __ATOMIC_RELAXED);
}

static uint8_t
chk_role(bool host)
{
	return host ? 0x48 : 0x47; /* 'H', 'G' */
}

static uint32_t
chk_len_of(uint64_t seq)
{
	return opt.lens[seq % opt.nlens];
}

static inline uint8_t
chk_pattern(uint64_t seq, uint32_t off, uint8_t role, uint16_t q)
{
	return (uint8_t)(seq * 131 + off * 7 + role * 17 + q * 29 + (off >> 8));
}

static bool
chk_l4_v6(uint8_t l4)
{
	return l4 == CHK_L4_UDP6 || l4 == CHK_L4_TCP6;
}

static bool
chk_l4_tcp(uint8_t l4)
{
	return l4 == CHK_L4_TCP4 || l4 == CHK_L4_TCP6;
}

/* Bytes of network headers in front of the numbered header (0: plain frames). */
static uint32_t
chk_net_len(uint64_t seq, uint8_t *l4_out)
{
	uint8_t l4;

	if (opt.nl4 == 0)
		return 0;
	l4 = opt.l4[seq % opt.nl4];
	if (l4_out != NULL)
		*l4_out = l4;
	return 14 + (chk_l4_v6(l4) ? 40 : 20) + (chk_l4_tcp(l4) ? 20 : 8);
}

/* Ethernet/IP/L4 headers of frame seq, checksum fields zero. */
static void
chk_net_hdr(uint8_t *h, uint64_t seq, uint32_t len, uint8_t role, uint16_t q)
{
	uint8_t l4 = 0;
	uint32_t hl = chk_net_len(seq, &l4), l3 = chk_l4_v6(l4) ? 40 : 20, i;
	uint8_t *ip = h + 14, *t = h + 14 + l3;
	uint8_t proto = chk_l4_tcp(l4) ? IPPROTO_TCP : IPPROTO_UDP;

	memset(h, 0, hl);
	h[0] = 0x02;
	h[5] = 0x01;
	h[6] = 0x02;
	h[11] = 0x02;
	h[12] = chk_l4_v6(l4) ? 0x86 : 0x08;
	h[13] = chk_l4_v6(l4) ? 0xdd : 0x00;
	if (!chk_l4_v6(l4)) {
		ip[0] = 0x45;
		ip[2] = (uint8_t)((len - 14) >> 8);
		ip[3] = (uint8_t)(len - 14);
		ip[4] = (uint8_t)(seq >> 8);
		ip[5] = (uint8_t)seq;
		ip[6] = 0x40; /* DF */
		ip[8] = 64;
		ip[9] = proto;
		ip[12] = 10;
		ip[14] = role;
		ip[15] = (uint8_t)q;
		ip[16] = 10;
		ip[17] = 1;
		ip[18] = (uint8_t)(seq >> 16);
		ip[19] = (uint8_t)(seq >> 24);
	} else {
		ip[0] = 0x60;
		ip[4] = (uint8_t)((len - 54) >> 8);
		ip[5] = (uint8_t)(len - 54);
		ip[6] = proto;
		ip[7] = 64;
		for (i = 8; i < 40; i++)
			ip[i] = (uint8_t)(i * 3 + role + q + (i > 30 ? seq : 0));
	}
	t[0] = 0x10;
	t[1] = (uint8_t)q;
	t[2] = 0x20;
	t[3] = role;
	if (chk_l4_tcp(l4)) {
		t[4] = (uint8_t)(seq >> 24);
		t[5] = (uint8_t)(seq >> 16);
		t[6] = (uint8_t)(seq >> 8);
		t[7] = (uint8_t)seq;
		t[12] = 5 << 4;
		t[13] = 0x18; /* PSH ACK */
		t[14] = 0xff;
		t[15] = 0xff;
	} else {
		t[4] = (uint8_t)((len - 14 - l3) >> 8);
		t[5] = (uint8_t)(len - 14 - l3);
	}
}

/* The whole frame, byte by byte: header fields then the pattern. */
static void
chk_fill(uint8_t *buf, uint32_t from, uint32_t n, uint64_t seq, uint32_t len, uint8_t role,
	 uint16_t q)
{
	uint8_t net[128];
	uint32_t nl = chk_net_len(seq, NULL);
	uint8_t hdr[CHK_HDR_LEN] = {
		0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02,
		CHK_ETHER_TYPE >> 8, CHK_ETHER_TYPE & 0xff, 'V', 'H', 'F', role,
		(uint8_t)(q >> 8), (uint8_t)q,
		(uint8_t)(seq >> 24), (uint8_t)(seq >> 16), (uint8_t)(seq >> 8), (uint8_t)seq,
		(uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len,
	};
	uint32_t i;

	if (nl != 0 && from < nl)
		chk_net_hdr(net, seq, len, role, q);
	for (i = 0; i < n; i++) {
		uint32_t off = from + i;

		if (off < nl)
			buf[i] = net[off];
		else
			buf[i] = off - nl < CHK_HDR_LEN ? hdr[off - nl] :
							    chk_pattern(seq, off, role, q);
	}
}

/*
 * Offload frames: checksums, in the linear frame, and the mbuf's offload
 * request. Done by the sender itself for what the port is not asked to do.
 */
static void
chk_csum_prepare(uint8_t *f, struct rte_mbuf *m, uint64_t seq, uint32_t len)
{
	uint8_t l4 = 0;
	uint32_t hl = chk_net_len(seq, &l4);
	bool v6 = chk_l4_v6(l4), tcp = chk_l4_tcp(l4);
	uint32_t l3 = v6 ? 40 : 20, l4_off = 14 + l3;
	uint16_t *field = (uint16_t *)(void *)(f + l4_off + (tcp ? 16 : 6));
	void *ip = f + 14;
	uint64_t ol = 0;

	RTE_SET_USED(hl);
	if (!v6) {
		if (opt.tx_csum && (tx_capa & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM))
			ol |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM;
		else
			((struct rte_ipv4_hdr *)ip)->hdr_checksum = rte_ipv4_cksum(ip);
	}
	if (!opt.tx_csum) {
		*field = v6 ? rte_ipv6_udptcp_cksum(ip, f + l4_off) :
			      rte_ipv4_udptcp_cksum(ip, f + l4_off);
	} else {
		ol |= (v6 ? RTE_MBUF_F_TX_IPV6 : RTE_MBUF_F_TX_IPV4) |
		      (tcp ? RTE_MBUF_F_TX_TCP_CKSUM : RTE_MBUF_F_TX_UDP_CKSUM);
		if (tcp && opt.tso_mss != 0) {
			ol |= RTE_MBUF_F_TX_TCP_SEG;
			m->tso_segsz = opt.tso_mss;
		}
		/* DPDK's convention: the pseudo-header sum (without the length for TSO). */
		*field = v6 ? rte_ipv6_phdr_cksum(ip, ol) : rte_ipv4_phdr_cksum(ip, ol);
		m->l2_len = 14;
		m->l3_len = l3;
		m->l4_len = tcp ? 20 : 8;
	}
	(void)len;
	m->ol_flags |= ol;
}

/* Offload frames, received: the checksum state, then the checksums themselves. */
static bool
chk_csum_verify(struct rte_mbuf *m, uint8_t *f, uint32_t len)
{
	uint64_t st = m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK;
	bool v6 = f[12] == 0x86, tcp;
	uint32_t l3 = v6 ? 40 : 20, l4_off = 14 + l3;
	uint32_t field;
	void *ip = f + 14;

	if (len < l4_off + 8)
		return false;
	tcp = (v6 ? f[14 + 6] : f[14 + 9]) == IPPROTO_TCP;
	field = l4_off + (tcp ? 16 : 6);
	if (m->ol_flags & RTE_MBUF_F_RX_LRO) {
		rx_lro++;
		if (!tcp || (opt.tso_mss != 0 && m->tso_segsz != opt.tso_mss))
			return false;
	}
	if (st == RTE_MBUF_F_RX_L4_CKSUM_BAD)
		return false;
	if (st == RTE_MBUF_F_RX_L4_CKSUM_NONE) {
		uint16_t sum = rte_raw_cksum(f + l4_off, len - l4_off);
		uint16_t v = (uint16_t)~sum;

		/* Partial: the pseudo-header sum is in the field; finish as a NIC would. */
		rx_csum_none++;
		if (v == 0)
			v = 0xffff;
		memcpy(f + field, &v, sizeof(v));
	} else if (st == RTE_MBUF_F_RX_L4_CKSUM_GOOD) {
		rx_csum_good++;
	} else {
		rx_csum_data++;
	}
	if (!v6 && rte_ipv4_cksum(ip) != 0 && rte_raw_cksum(ip, 20) != 0xffff)
		return false;
	return v6 ? rte_ipv6_udptcp_cksum_verify(ip, f + l4_off) == 0 :
		    rte_ipv4_udptcp_cksum_verify(ip, f + l4_off) == 0;
}

static uint8_t chk_frame[65536];

static struct rte_mbuf *
chk_build(uint64_t seq, uint16_t q)
{
	uint32_t len = chk_len_of(seq), off = 0;
	struct rte_mbuf *head = NULL, *last = NULL;
	struct rte_mbuf meta;

	/* Offload frames: built whole first, so that checksums can be computed on them. */
	memset(&meta, 0, sizeof(meta));
	if (opt.nl4 != 0) {
		chk_fill(chk_frame, 0, len, seq, len, chk_role(opt.host), q);
		chk_csum_prepare(chk_frame, &meta, seq, len);
	}

	while (off < len) {
		struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
		uint32_t chunk;

		if (m == NULL) {
			rte_pktmbuf_free(head);
			return NULL;
		}
		chunk = RTE_MIN(len - off, (uint32_t)rte_pktmbuf_tailroom(m));
		if (opt.nl4 != 0)
			memcpy(rte_pktmbuf_mtod(m, uint8_t *), chk_frame + off, chunk);
		else
			chk_fill(rte_pktmbuf_mtod(m, uint8_t *), off, chunk, seq, len,
				 chk_role(opt.host), q);
		m->data_len = (uint16_t)chunk;
		if (head == NULL) {
			head = m;
		} else {
			last->next = m;
			head->nb_segs++;
		}
		last = m;
		off += chunk;
	}
	head->pkt_len = len;
	if (opt.nl4 != 0) {
		head->ol_flags |= meta.ol_flags;
		head->l2_len = meta.l2_len;
		head->l3_len = meta.l3_len;
		head->l4_len = meta.l4_len;
		head->tso_segsz = meta.tso_segsz;
	}
	return head;
}

/*
 * Offload frames: the whole frame against what its sender built, but for the
 * checksum fields, which chk_csum_verify() checks on their own.
 */
static bool
chk_verify_net(struct rte_mbuf *m, uint16_t q, uint64_t *seq_out)
{
	static uint8_t want[65536];
	uint8_t *f = chk_frame;
	uint8_t role = chk_role(!opt.host);
	uint32_t len = m->pkt_len, hl, wlen, seq, l3, field;
	bool v6, tcp;

	const uint8_t *p;

	if (len < 14 + 20 + 8 || len > sizeof(chk_frame))
		return false;
	/* A one-segment mbuf is not copied by rte_pktmbuf_read: we write to the copy. */
	p = rte_pktmbuf_read(m, 0, len, f);
	if (p == NULL)
		return false;
	if (p != f)
		memcpy(f, p, len);
	v6 = f[12] == 0x86;
	l3 = v6 ? 40 : 20;
	tcp = (v6 ? f[14 + 6] : f[14 + 9]) == IPPROTO_TCP;
	hl = 14 + l3 + (tcp ? 20 : 8);
	if (len < hl + CHK_HDR_LEN)
		return false;
	seq = (uint32_t)f[hl + 20] << 24 | (uint32_t)f[hl + 21] << 16 |
	      (uint32_t)f[hl + 22] << 8 | f[hl + 23];
	wlen = (uint32_t)f[hl + 24] << 24 | (uint32_t)f[hl + 25] << 16 |
	       (uint32_t)f[hl + 26] << 8 | f[hl + 27];
	*seq_out = seq;
	if (wlen != len || chk_net_len(seq, NULL) != hl)
		return false;
	chk_fill(want, 0, len, seq, len, role, q);
	field = 14 + l3 + (tcp ? 16 : 6);
	/* Checksum fields as received: judged by chk_csum_verify(). */
	want[field] = f[field];
	want[field + 1] = f[field + 1];
	if (!v6) {
		want[14 + 10] = f[14 + 10];
		want[14 + 11] = f[14 + 11];
	}
	if (memcmp(want, f, len) != 0)
		return false;
	return chk_csum_verify(m, f, len);
}

/* Check one received frame against what its sender must have built. */
static bool
chk_verify(struct rte_mbuf *m, uint16_t q, uint64_t *seq_out)
{
	uint8_t want[512];
	const uint8_t *h;
	uint8_t hb[CHK_HDR_LEN];
	uint8_t role = chk_role(!opt.host);
	uint32_t len, seq, off = 0;
	const struct rte_mbuf *s;

	if (opt.nl4 != 0)
		return chk_verify_net(m, q, seq_out);
	if (m->pkt_len < CHK_HDR_LEN)
		return false;
	h = rte_pktmbuf_read(m, 0, CHK_HDR_LEN, hb);
	seq = (uint32_t)h[20] << 24 | (uint32_t)h[21] << 16 | (uint32_t)h[22] << 8 | h[23];
	len = (uint32_t)h[24] << 24 | (uint32_t)h[25] << 16 | (uint32_t)h[26] << 8 | h[27];
	*seq_out = seq;
	if (len != m->pkt_len || h[17] != role || ((uint16_t)h[18] << 8 | h[19]) != q)
		return false;
	for (s = m; s != NULL; s = s->next) {
		const uint8_t *d = rte_pktmbuf_mtod(s, const uint8_t *);
		uint32_t done = 0;

		while (done < s->data_len) {
			uint32_t n = RTE_MIN((uint32_t)sizeof(want), s->data_len - done);

			chk_fill(want, off + done, n, seq, len, role, q);
			if (memcmp(want, d + done, n) != 0)
				return false;
			done += n;
		}
		off += s->data_len;
	}
	return off == len;
}

static bool
chk_tx_enabled(void)
{
	if (opt.mode == MODE_RXINTR)
		return !opt.host;
	if (opt.mode == MODE_TXWAIT)
		return opt.host;
	return true;
}

static bool
chk_rx_enabled(void)
{
	if (opt.mode == MODE_RXINTR)
		return opt.host;
	if (opt.mode == MODE_TXWAIT)
		return !opt.host;
	return true;
}

/* Finite modes: everything sent and (for the receiver) received. */
static bool
chk_complete(void)
{
	uint16_t q;

	if (opt.mode == MODE_SOAK)
		return false;
	for (q = 0; q < opt.queues; q++) {
		if (chk_tx_enabled() && (queues[q].sent < opt.count || queues[q].pend_n))
			return false;
		if (chk_rx_enabled() &&
		    queues[q].rcvd < (opt.rx_count >= 0 ? (uint64_t)opt.rx_count : opt.count))
			return false;
	}
	return true;
}

/* Send what is pending on q, topping the burst up first. @return frames sent now. */
static uint16_t
chk_tx(uint16_t port, uint16_t q, uint64_t limit)
{
	struct chk_queue *cq = &queues[q];
	uint16_t n;

	if (cq->pend_n == 0) {
		uint64_t left = limit - cq->sent;

		cq->pend_off = 0;
		while (cq->pend_n < CHK_BURST && cq->pend_n < left) {
			struct rte_mbuf *m = chk_build(cq->sent + cq->pend_n, q);

			if (m == NULL)
				break;
			cq->pend[cq->pend_n++] = m;
		}
		if (cq->pend_n == 0)
			return 0;
		/*
		 * Offloads: the port may need to adjust the frames (virtio adds the
		 * length to a TSO pseudo-header sum here). Once per frame: it is not
		 * idempotent.
		 */
		if (opt.tx_csum && rte_eth_tx_prepare(port, q, cq->pend, cq->pend_n) != cq->pend_n)
			printf("tx_prepare refused a frame: %s\n", strerror(rte_errno));
	}
	n = rte_eth_tx_burst(port, q, &cq->pend[cq->pend_off], cq->pend_n);
	if (n < cq->pend_n)
		shorts++;
	cq->pend_off += n;
	cq->pend_n -= n;
	cq->sent += n;
	return n;
}

static uint16_t
chk_rx(uint16_t port, uint16_t q)
{
	struct chk_queue *cq = &queues[q];
	struct rte_mbuf *pkts[CHK_BURST];
	uint16_t i, n;

	n = rte_eth_rx_burst(port, q, pkts, CHK_BURST);
	for (i = 0; i < n; i++) {
		uint64_t seq = 0;

		if (!chk_verify(pkts[i], q, &seq)) {
			cq->bad++;
			if (first_bad_report++ < 5)
				printf("BAD frame on queue %u: seq %" PRIu64 " len %u segs %u\n", q,
				       seq, pkts[i]->pkt_len, pkts[i]->nb_segs);
		} else if (opt.mode != MODE_SOAK && seq != (cq->next_seq & 0xffffffff)) {
			cq->out_of_order++;
			if (first_bad_report++ < 5)
				printf("OUT OF ORDER on queue %u: seq %" PRIu64
				       " want %" PRIu64 "\n", q, seq, cq->next_seq);
			cq->next_seq = seq + 1;
		} else {
			cq->next_seq = seq + 1;
		}
		cq->rcvd++;
		rte_pktmbuf_free(pkts[i]);
	}
	return n;
}

/* The port's link: a net_vhostfix port is up while a guest is attached. */
static bool
chk_link_up(uint16_t port)
{
	struct rte_eth_link link;

	return rte_eth_link_get_nowait(port, &link) == 0 && link.link_status == RTE_ETH_LINK_UP;
}

/* rxintr, host: sleep on the rx interrupts of every queue until one fires. */
static void
chk_rx_sleep(uint16_t port)
{
	struct rte_epoll_event ev[CHK_MAX_QUEUES];
	/* The PMD sets the link up after attaching the queues: then enable arms them. */
	bool guest = chk_link_up(port);
	uint16_t q;
	int n;

	for (q = 0; q < opt.queues; q++)
		rte_eth_dev_rx_intr_enable(port, q);
	chk_inc(&sleeps);
	if (guest) {
		chk_inc(&guest_sleeps);
		__atomic_store_n(&in_guest_sleep, 1, __ATOMIC_RELAXED);
	}
	n = rte_epoll_wait(RTE_EPOLL_PER_THREAD, ev, CHK_MAX_QUEUES, (int)opt.stall_ms);
	__atomic_store_n(&in_guest_sleep, 0, __ATOMIC_RELAXED);
	for (q = 0; q < opt.queues; q++)
		rte_eth_dev_rx_intr_disable(port, q);
	if (n > 0) {
		chk_inc(&wakes);
	} else if (n == 0 && chk_link_up(port)) {
		/*
		 * A guest that attached during the sleep would have ended it (its
		 * attach wakes sleepers): it was there all along and did not kick.
		 * With the link still down, no guest came yet: a slow start, no stall.
		 */
		chk_inc(&stalls);
		printf("STALL: no rx interrupt in %u ms (received %" PRIu64 ")\n", opt.stall_ms,
		       queues[0].rcvd);
	}
}

/* txwait, host: arm every queue with frames pending; sleep only if all say so. */
static void
chk_tx_sleep(uint16_t port)
{
	struct pollfd pfd[CHK_MAX_QUEUES];
	unsigned int npfd = 0;
	bool armed = false;
	uint16_t q;
	int n;

	for (q = 0; q < opt.queues; q++) {
		struct chk_queue *cq = &queues[q];
		int r;

		if (cq->pend_n == 0)
			continue;
		r = rte_pmd_vhostfix_tx_wait_arm(port, q,
						 rte_pktmbuf_pkt_len(cq->pend[cq->pend_off]));
		if (r == RTE_PMD_VHOSTFIX_TX_ROOM || r == -EAGAIN) {
			self_wakes++;
			return; /* do not sleep: send again */
		}
		if (r != RTE_PMD_VHOSTFIX_TX_WAIT && r != -ENOTCONN) {
			printf("tx_wait_arm(queue %u): %s\n", q, strerror(-r));
			chk_inc(&stalls);
			return;
		}
		armed |= r == RTE_PMD_VHOSTFIX_TX_WAIT;
		pfd[npfd].fd = rte_pmd_vhostfix_tx_wait_fd(port, q);
		pfd[npfd].events = POLLIN;
		npfd++;
	}
	if (npfd == 0)
		return;
	chk_inc(&sleeps);
	if (armed) {
		chk_inc(&guest_sleeps);
		__atomic_store_n(&in_guest_sleep, 1, __ATOMIC_RELAXED);
	}
	n = poll(pfd, npfd, (int)opt.stall_ms);
	__atomic_store_n(&in_guest_sleep, 0, __ATOMIC_RELAXED);
	if (n > 0) {
		chk_inc(&wakes);
	} else if (n == 0 && armed) {
		/*
		 * Only a sleep the PMD said was safe (TX_WAIT, a live guest) must
		 * end; one begun with no guest (-ENOTCONN) lasts until a guest comes,
		 * which on a loaded machine may take longer than --stall-ms.
		 */
		chk_inc(&stalls);
		printf("STALL: no guest refill kick in %u ms (sent %" PRIu64 ")\n", opt.stall_ms,
		       queues[0].sent);
	}
}

/* Frames done so far, as --hold-after counts them. */
static uint64_t
chk_frames_done(void)
{
	uint64_t n = 0;
	uint16_t q;

	for (q = 0; q < opt.queues; q++)
		n += chk_rx_enabled() ? queues[q].rcvd : queues[q].sent;
	return n;
}

/*
 * --hold-after: hold number k (from 1) has come; leave the port alone until
 * the k-th SIGUSR1 (or SIGTERM). The wait is for a signal, not for time: the
 * nap only bounds how late the flag is seen. @return cycles spent holding.
 */
static uint64_t
chk_hold(unsigned int k)
{
	uint64_t t0 = rte_get_timer_cycles();

	printf("HOLD %u after %" PRIu64 " frames: waiting for SIGUSR1\n", k, chk_frames_done());
	fflush(stdout);
	while (resumes < (sig_atomic_t)k && !stop_req)
		rte_delay_us_sleep(1000);
	printf("RESUME %u\n", k);
	fflush(stdout);
	return rte_get_timer_cycles() - t0;
}

/* Telemetry /vhf_pmd_check/stats: where the run is, for tests that wait on it. */
static int
chk_tel_stats(const char *cmd __rte_unused, const char *params __rte_unused,
	      struct rte_tel_data *d)
{
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "role", opt.host ? "host" : "guest");
	rte_tel_data_add_dict_u64(d, "sleeps", __atomic_load_n(&sleeps, __ATOMIC_RELAXED));
	rte_tel_data_add_dict_u64(d, "guest_sleeps",
				  __atomic_load_n(&guest_sleeps, __ATOMIC_RELAXED));
	rte_tel_data_add_dict_u64(d, "in_guest_sleep",
				  __atomic_load_n(&in_guest_sleep, __ATOMIC_RELAXED));
	rte_tel_data_add_dict_u64(d, "wakes", __atomic_load_n(&wakes, __ATOMIC_RELAXED));
	rte_tel_data_add_dict_u64(d, "stalls", __atomic_load_n(&stalls, __ATOMIC_RELAXED));
	return 0;
}

static void
chk_progress(void)
{
	uint64_t rx = 0, tx = 0, bad = 0;
	uint16_t q;

	for (q = 0; q < opt.queues; q++) {
		rx += queues[q].rcvd;
		tx += queues[q].sent;
		bad += queues[q].bad + queues[q].out_of_order;
	}
	printf("progress rx %" PRIu64 " tx %" PRIu64 " bad %" PRIu64 " in_use %u\n", rx, tx,
	       bad, rte_mempool_in_use_count(pool));
	fflush(stdout);
}

/* --slow-start-us: ring_mp_mc's ops, with a dequeue that sleeps while slow_alloc is set. */
static bool slow_alloc;
static rte_mempool_dequeue_t slow_ring_dequeue;

static int
chk_slow_dequeue(struct rte_mempool *mp, void **objs, unsigned int n)
{
	if (__atomic_load_n(&slow_alloc, __ATOMIC_RELAXED))
		rte_delay_us_sleep(opt.slow_start_us);
	return slow_ring_dequeue(mp, objs, n);
}

static struct rte_mempool *
chk_pool_create(void)
{
	struct rte_mempool_ops ops;
	unsigned int i;

	if (opt.slow_start_us == 0)
		return rte_pktmbuf_pool_create("chk_pool", opt.nb_mbufs, 256, 0, opt.mbuf_size,
					       rte_socket_id());
	for (i = 0; i < rte_mempool_ops_table.num_ops; i++)
		if (strcmp(rte_mempool_ops_table.ops[i].name, "ring_mp_mc") == 0)
			break;
	if (i == rte_mempool_ops_table.num_ops)
		return NULL;
	ops = rte_mempool_ops_table.ops[i];
	slow_ring_dequeue = ops.dequeue;
	snprintf(ops.name, sizeof(ops.name), "chk_slow");
	ops.dequeue = chk_slow_dequeue;
	if (rte_mempool_register_ops(&ops) < 0)
		return NULL;
	/* No per-lcore cache: every allocation goes through the ops. */
	return rte_pktmbuf_pool_create_by_ops("chk_pool", opt.nb_mbufs, 0, 0, opt.mbuf_size,
					      rte_socket_id(), "chk_slow");
}

static int
chk_port_setup(uint16_t port)
{
	struct rte_eth_conf conf;
	struct rte_eth_dev_info info;
	uint32_t maxlen = 0;
	unsigned int i;
	uint16_t q;
	int ret;

	memset(&conf, 0, sizeof(conf));
	ret = rte_eth_dev_info_get(port, &info);
	if (ret != 0)
		return ret;
	for (i = 0; i < opt.nlens; i++)
		maxlen = RTE_MAX(maxlen, opt.lens[i]);
	if (maxlen > RTE_ETHER_MAX_LEN)
		conf.rxmode.mtu = maxlen - RTE_ETHER_HDR_LEN;
	/* Frames larger than one mbuf: chains on receive (virtio: with mergeable buffers). */
	if (maxlen > (uint32_t)opt.mbuf_size - RTE_PKTMBUF_HEADROOM &&
	    (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_SCATTER))
		conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_SCATTER;
	if (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS)
		conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
	tx_capa = info.tx_offload_capa;
	/* Offloads asked for must be offered: the test is about them. */
	{
		uint64_t rx = 0, tx = 0;

		if (opt.rx_csum)
			rx |= RTE_ETH_RX_OFFLOAD_TCP_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM;
		if (opt.lro)
			rx |= RTE_ETH_RX_OFFLOAD_TCP_LRO;
		if (opt.tx_csum)
			tx |= RTE_ETH_TX_OFFLOAD_TCP_CKSUM | RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
		if (opt.tso_mss != 0)
			tx |= RTE_ETH_TX_OFFLOAD_TCP_TSO;
		if ((info.rx_offload_capa & rx) != rx || (info.tx_offload_capa & tx) != tx) {
			printf("offloads not offered: rx 0x%" PRIx64 " of 0x%" PRIx64
			       ", tx 0x%" PRIx64 " of 0x%" PRIx64 "\n", rx,
			       info.rx_offload_capa, tx, info.tx_offload_capa);
			return -ENOTSUP;
		}
		conf.rxmode.offloads |= rx;
		conf.txmode.offloads |= tx;
		if (opt.tx_csum && (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM))
			conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_IPV4_CKSUM;
		/* 0: ethdev takes the largest frame the port receives. */
		if (opt.lro)
			conf.rxmode.max_lro_pkt_size = info.max_lro_pkt_size;
	}
	if (*info.dev_flags & RTE_ETH_DEV_INTR_LSC)
		conf.intr_conf.lsc = 1;
	if (opt.mode == MODE_RXINTR && opt.host)
		conf.intr_conf.rxq = 1;
	ret = rte_eth_dev_configure(port, opt.queues, opt.queues, &conf);
	if (ret != 0) {
		printf("configure: %s\n", strerror(-ret));
		return ret;
	}
	for (q = 0; q < opt.queues; q++) {
		ret = rte_eth_rx_queue_setup(port, q, 256, rte_socket_id(), NULL, pool);
		if (ret == 0)
			ret = rte_eth_tx_queue_setup(port, q, 256, rte_socket_id(), NULL);
		if (ret != 0) {
			printf("queue %u setup: %s\n", q, strerror(-ret));
			return ret;
		}
	}
	__atomic_store_n(&slow_alloc, true, __ATOMIC_RELAXED);
	ret = rte_eth_dev_start(port);
	__atomic_store_n(&slow_alloc, false, __ATOMIC_RELAXED);
	if (ret != 0) {
		printf("start: %s\n", strerror(-ret));
		return ret;
	}
	if (opt.mode == MODE_RXINTR && opt.host) {
		for (q = 0; q < opt.queues; q++) {
			ret = rte_eth_dev_rx_intr_ctl_q(port, q, RTE_EPOLL_PER_THREAD,
							RTE_INTR_EVENT_ADD, NULL);
			if (ret != 0) {
				printf("rx_intr_ctl_q(%u): %s\n", q, strerror(-ret));
				return ret;
			}
		}
	}
	return 0;
}

static int
chk_parse_lens(const char *s)
{
	char *end;

	opt.nlens = 0;
	while (*s != '\0' && opt.nlens < CHK_MAX_LENS) {
		unsigned long v = strtoul(s, &end, 10);

		if (end == s || v < 64 || v > 65000)
			return -1;
		opt.lens[opt.nlens++] = (uint32_t)v;
		s = *end == ',' ? end + 1 : end;
	}
	return opt.nlens > 0 ? 0 : -1;
}

static int
chk_parse_l4(const char *s)
{
	static const char *const names[] = { "udp4", "tcp4", "udp6", "tcp6" };

	opt.nl4 = 0;
	while (*s != '\0' && opt.nl4 < CHK_MAX_LENS) {
		size_t n = strcspn(s, ",");
		unsigned int i;

		for (i = 0; i < 4; i++)
			if (strlen(names[i]) == n && strncmp(s, names[i], n) == 0)
				break;
		if (i == 4)
			return -1;
		opt.l4[opt.nl4++] = (uint8_t)i;
		s += n;
		if (*s == ',')
			s++;
	}
	return opt.nl4 > 0 ? 0 : -1;
}

/* --hold-after N[,N...]: increasing frame counts. */
static int
chk_parse_holds(const char *s)
{
	char *end;

	opt.nholds = 0;
	while (*s != '\0') {
		unsigned long long v = strtoull(s, &end, 10);

		if (end == s || opt.nholds == CHK_MAX_HOLDS ||
		    (opt.nholds > 0 && v <= opt.hold_after[opt.nholds - 1]))
			return -1;
		opt.hold_after[opt.nholds++] = v;
		s = *end == ',' ? end + 1 : end;
	}
	return opt.nholds > 0 ? 0 : -1;
}

/* Every non-zero xstat of the port, before it is stopped. */
static void
chk_print_xstats(uint16_t port)
{
	struct rte_eth_xstat_name *names;
	struct rte_eth_xstat *xs;
	int n = rte_eth_xstats_get_names(port, NULL, 0), i;

	if (n <= 0)
		return;
	names = calloc(n, sizeof(*names));
	xs = calloc(n, sizeof(*xs));
	if (names != NULL && xs != NULL && rte_eth_xstats_get_names(port, names, n) == n &&
	    rte_eth_xstats_get(port, xs, n) == n) {
		for (i = 0; i < n; i++)
			if (xs[i].value != 0)
				printf("XSTAT %s %" PRIu64 "\n", names[xs[i].id].name, xs[i].value);
	}
	free(names);
	free(xs);
}

static int
chk_parse(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "role", required_argument, NULL, 'r' },
		{ "mode", required_argument, NULL, 'm' },
		{ "count", required_argument, NULL, 'c' },
		{ "lens", required_argument, NULL, 'l' },
		{ "queues", required_argument, NULL, 'q' },
		{ "mbuf-size", required_argument, NULL, 'b' },
		{ "mbufs", required_argument, NULL, 'n' },
		{ "seconds", required_argument, NULL, 's' },
		{ "pace-ms", required_argument, NULL, 'p' },
		{ "pause-every", required_argument, NULL, 'e' },
		{ "pause-ms", required_argument, NULL, 'w' },
		{ "stall-ms", required_argument, NULL, 't' },
		{ "linger-ms", required_argument, NULL, 'g' },
		{ "l4", required_argument, NULL, 'L' },
		{ "tx-csum", no_argument, NULL, 'T' },
		{ "rx-csum", no_argument, NULL, 'R' },
		{ "lro", no_argument, NULL, 'O' },
		{ "tso", required_argument, NULL, 'S' },
		{ "xstats", no_argument, NULL, 'X' },
		{ "dump", no_argument, NULL, 'D' },
		{ "dump-hold-ms", required_argument, NULL, 'K' },
		{ "rx-count", required_argument, NULL, 'C' },
		{ "tx-after-rx", no_argument, NULL, 'A' },
		{ "slow-start-us", required_argument, NULL, 'U' },
		{ "hold-after", required_argument, NULL, 'H' },
		{ "stay", no_argument, NULL, 'Y' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'r':
			opt.host = strcmp(optarg, "host") == 0;
			break;
		case 'm':
			if (strcmp(optarg, "verify") == 0)
				opt.mode = MODE_VERIFY;
			else if (strcmp(optarg, "soak") == 0)
				opt.mode = MODE_SOAK;
			else if (strcmp(optarg, "rxintr") == 0)
				opt.mode = MODE_RXINTR;
			else if (strcmp(optarg, "txwait") == 0)
				opt.mode = MODE_TXWAIT;
			else
				return -1;
			break;
		case 'c':
			opt.count = strtoull(optarg, NULL, 10);
			break;
		case 'l':
			if (chk_parse_lens(optarg) != 0)
				return -1;
			break;
		case 'q':
			opt.queues = (uint16_t)atoi(optarg);
			if (opt.queues < 1 || opt.queues > CHK_MAX_QUEUES)
				return -1;
			break;
		case 'b':
			opt.mbuf_size = (uint16_t)atoi(optarg);
			break;
		case 'n':
			opt.nb_mbufs = (unsigned int)atoi(optarg);
			break;
		case 's':
			opt.seconds = atof(optarg);
			break;
		case 'p':
			opt.pace_ms = (unsigned int)atoi(optarg);
			break;
		case 'e':
			opt.pause_every = (unsigned int)atoi(optarg);
			break;
		case 'w':
			opt.pause_ms = (unsigned int)atoi(optarg);
			break;
		case 't':
			opt.stall_ms = (unsigned int)atoi(optarg);
			break;
		case 'g':
			opt.linger_ms = (unsigned int)atoi(optarg);
			break;
		case 'L':
			if (chk_parse_l4(optarg) != 0)
				return -1;
			break;
		case 'T':
			opt.tx_csum = true;
			break;
		case 'R':
			opt.rx_csum = true;
			break;
		case 'O':
			opt.lro = true;
			break;
		case 'S':
			opt.tso_mss = (uint16_t)atoi(optarg);
			break;
		case 'X':
			opt.xstats = true;
			break;
		case 'D':
			opt.dump = true;
			break;
		case 'K':
			opt.dump_hold_ms = (unsigned int)atoi(optarg);
			break;
		case 'C':
			opt.rx_count = atoll(optarg);
			break;
		case 'A':
			opt.tx_after_rx = true;
			break;
		case 'U':
			opt.slow_start_us = (unsigned int)atoi(optarg);
			break;
		case 'H':
			if (chk_parse_holds(optarg) != 0)
				return -1;
			break;
		case 'Y':
			opt.stay = true;
			break;
		default:
			return -1;
		}
	}
	return 0;
}

/*
 * --dump-hold-ms: the dump's output stream. Each write goes on to stdout; the
 * first queue line that says "attached" (printed before that ring is read in
 * guest memory) holds the dump until the page at the start of the guest's
 * first memory region is unmapped, or dump_hold_ms.
 */
struct chk_dump_hold {
	const void *guest_page; /* NULL: no guest memory known, no hold */
	bool done;
};

static bool
chk_page_mapped(const void *page)
{
	unsigned char vec;

	/* ENOMEM: not mapped; the page need not be resident to be mapped. */
	return mincore((void *)(uintptr_t)page, 1, &vec) == 0 || errno != ENOMEM;
}

static ssize_t
chk_dump_write(void *cookie, const char *buf, size_t len)
{
	struct chk_dump_hold *hold = cookie;
	uint64_t hz = rte_get_timer_hz(), end;
	bool mapped;

	fwrite(buf, 1, len, stdout);
	if (hold->done || hold->guest_page == NULL || memmem(buf, len, "attached", 8) == NULL ||
	    memmem(buf, len, "detached", 8) != NULL)
		return (ssize_t)len;
	hold->done = true;
	printf("%sHOLD dump\n", len > 0 && buf[len - 1] == '\n' ? "" : "\n");
	fflush(stdout);
	end = rte_get_timer_cycles() + hz * opt.dump_hold_ms / 1000;
	while ((mapped = chk_page_mapped(hold->guest_page)) && rte_get_timer_cycles() < end)
		rte_delay_us_sleep(1000);
	printf("DUMP HOLD ended: guest memory %s\n", mapped ? "still mapped" : "unmapped");
	fflush(stdout);
	return (ssize_t)len;
}

/* The driver's dump of port, to stdout, held as --dump-hold-ms asks. */
static int
chk_dump(uint16_t port)
{
	struct chk_dump_hold hold = { 0 };
	cookie_io_functions_t io = { .write = chk_dump_write };
	struct rte_vhost_memory *mem = NULL;
	FILE *f;
	int ret;

	if (opt.dump_hold_ms == 0 || !opt.host)
		return rte_eth_dev_priv_dump(port, stdout);
	/* This process serves one guest: vhost device 0. */
	if (rte_vhost_get_mem_table(0, &mem) == 0 && mem->nregions > 0)
		hold.guest_page = (const void *)(uintptr_t)(mem->regions[0].host_user_addr &
							    ~(uint64_t)(getpagesize() - 1));
	free(mem);
	if (hold.guest_page == NULL)
		printf("DUMP HOLD none: no guest memory\n");
	f = fopencookie(&hold, "w", io);
	if (f == NULL)
		return rte_eth_dev_priv_dump(port, stdout);
	setvbuf(f, NULL, _IONBF, 0);
	fflush(stdout);
	ret = rte_eth_dev_priv_dump(port, f);
	fclose(f);
	return ret;
}

int
main(int argc, char **argv)
{
	uint64_t hz, start, deadline, next_progress, next_pace = 0, pause_until = 0;
	uint64_t rx_total = 0, next_pause;
	uint64_t bad = 0, ooo = 0, rcvd = 0, sent = 0;
	unsigned int in_use_base, in_use_end, holds = 0;
	uint16_t port = 0, q;
	bool ok, timed_out = false, complete;
	int ret;

	ret = rte_eal_init(argc, argv);
	if (ret < 0) {
		fprintf(stderr, "EAL init failed\n");
		return 1;
	}
	if (chk_parse(argc - ret, argv + ret) != 0) {
		fprintf(stderr, "usage: vhf_pmd_check [EAL] -- --role host|guest --mode "
			"verify|soak|rxintr|txwait [--count N] [--lens 64,9000] [--queues Q] "
			"[--mbuf-size S] [--seconds T] [--pace-ms P] "
			"[--pause-every N --pause-ms P] [--stall-ms T] [--linger-ms T] "
			"[--l4 udp4,tcp4,udp6,tcp6 [--tx-csum] [--rx-csum] [--lro] [--tso MSS]] "
			"[--rx-count N] [--tx-after-rx] [--xstats] [--dump [--dump-hold-ms MS]] "
			"[--slow-start-us U] "
			"[--hold-after N[,N...]] [--stay]\n");
		return 2;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGUSR1, on_resume);
	if (rte_telemetry_register_cmd("/vhf_pmd_check/stats", chk_tel_stats,
				       "vhf_pmd_check: sleeps, guest_sleeps, in_guest_sleep, "
				       "wakes, stalls") != 0)
		fprintf(stderr, "cannot register /vhf_pmd_check/stats with telemetry\n");
	if (rte_eth_dev_count_avail() < 1) {
		fprintf(stderr, "no port\n");
		return 1;
	}
	pool = chk_pool_create();
	if (pool == NULL || chk_port_setup(port) != 0) {
		fprintf(stderr, "port setup failed\n");
		return 1;
	}
	in_use_base = rte_mempool_in_use_count(pool);
	printf("READY role %s in_use %u\n", opt.host ? "host" : "guest", in_use_base);
	fflush(stdout);

	hz = rte_get_timer_hz();
	start = rte_get_timer_cycles();
	deadline = start + (uint64_t)(opt.seconds * hz);
	next_progress = start + hz / 4;
	next_pause = opt.pause_every;
	while (!stop_req && !chk_complete()) {
		uint64_t now = rte_get_timer_cycles();
		unsigned int moved = 0;

		if (holds < opt.nholds && chk_frames_done() >= opt.hold_after[holds]) {
			deadline += chk_hold(++holds);
			continue;
		}
		if (now >= deadline) {
			timed_out = opt.mode != MODE_SOAK;
			break;
		}
		if (now >= next_progress) {
			chk_progress();
			next_progress = now + hz / 4;
		}
		for (q = 0; q < opt.queues; q++) {
			if (chk_tx_enabled() && (opt.pace_ms == 0 || now >= next_pace) &&
			    (!opt.tx_after_rx || queues[q].rcvd > 0)) {
				uint64_t limit = opt.mode == MODE_SOAK ? UINT64_MAX : opt.count;

				moved += chk_tx(port, q, limit);
				if (opt.pace_ms != 0 && q == opt.queues - 1)
					next_pace = now + opt.pace_ms * hz / 1000;
			}
			if (chk_rx_enabled() && now >= pause_until)
				moved += chk_rx(port, q);
		}
		/* txwait, guest: stop refilling the RX queue now and then. */
		if (opt.pause_every != 0 && chk_rx_enabled()) {
			rx_total = 0;
			for (q = 0; q < opt.queues; q++)
				rx_total += queues[q].rcvd;
			if (rx_total >= next_pause) {
				pause_until = now + opt.pause_ms * hz / 1000;
				next_pause = rx_total + opt.pause_every;
			}
		}
		if (moved != 0 || !opt.host)
			continue;
		if (opt.mode == MODE_RXINTR)
			chk_rx_sleep(port);
		else if (opt.mode == MODE_TXWAIT)
			chk_tx_sleep(port);
		if (stalls > 0)
			break;
	}
	/*
	 * Let the peer take what is in flight, and take what it still sends; with
	 * --stay, until told to stop.
	 */
	if (!stop_req) {
		uint64_t end = opt.stay ? UINT64_MAX :
					  rte_get_timer_cycles() + opt.linger_ms * hz / 1000;

		while (!stop_req && rte_get_timer_cycles() < end)
			for (q = 0; q < opt.queues; q++)
				if (chk_rx_enabled())
					chk_rx(port, q);
	}
	/* Stopped (SIGTERM) before the count was reached: not a pass. */
	complete = opt.mode == MODE_SOAK || chk_complete();
	for (q = 0; q < opt.queues; q++) {
		struct chk_queue *cq = &queues[q];

		rte_pktmbuf_free_bulk(&cq->pend[cq->pend_off], cq->pend_n);
		cq->pend_n = 0;
		bad += cq->bad;
		ooo += cq->out_of_order;
		rcvd += cq->rcvd;
		sent += cq->sent;
	}
	chk_progress();
	if (opt.xstats)
		chk_print_xstats(port);
	/* A timeout is a stall until shown otherwise: the driver's view of each ring. */
	if (opt.dump || timed_out) {
		printf("DUMP port %u\n", port);
		if (chk_dump(port) != 0)
			printf("DUMP none (the driver has no private dump)\n");
	}
	in_use_end = rte_mempool_in_use_count(pool);
	ok = bad == 0 && ooo == 0 && stalls == 0 && !timed_out && complete;
	if (opt.mode == MODE_SOAK)
		ok = ok && rcvd > 0 && sent > 0;
	printf("RESULT %s role %s sent %" PRIu64 " received %" PRIu64 " bad %" PRIu64
	       " out_of_order %" PRIu64 " sleeps %" PRIu64 " guest_sleeps %" PRIu64 " wakes %" PRIu64
	       " no_sleep %" PRIu64
	       " stalls %" PRIu64 " short_tx %" PRIu64 " csum_none %" PRIu64 " csum_good %" PRIu64
	       " csum_data %" PRIu64 " lro %" PRIu64 "%s%s in_use_base %u in_use_end %u\n",
	       ok ? "ok" : "FAIL", opt.host ? "host" : "guest", sent, rcvd, bad, ooo, sleeps,
	       guest_sleeps, wakes, self_wakes, stalls, shorts, rx_csum_none, rx_csum_good, rx_csum_data, rx_lro,
	       timed_out ? " TIMEOUT" : "", complete || timed_out ? "" : " INCOMPLETE",
	       in_use_base, in_use_end);
	fflush(stdout);
	rte_eth_dev_stop(port);
	rte_eth_dev_close(port);
	rte_eal_cleanup();
	return ok ? 0 : 1;
}
