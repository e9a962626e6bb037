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
 * In the wait modes a sleep that reaches --stall-ms is a stall: the run fails.
 * At the end each side prints "RESULT ok|FAIL ..." and the mbufs its pool
 * still has in use once its own pending frames are freed.
 */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_epoll.h>
#include <rte_ethdev.h>
#include <rte_interrupts.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "rte_pmd_vhostfix.h"

#define CHK_MAX_QUEUES 4
#define CHK_BURST 32
#define CHK_MAX_LENS 8
#define CHK_HDR_LEN 28 /* ethernet 14, magic 3, role 1, queue 2, seq 4, length 4 */
#define CHK_ETHER_TYPE 0x88b5 /* IEEE local experimental */

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
} opt = {
	.mode = MODE_VERIFY,
	.count = 10000,
	.lens = { 64 },
	.nlens = 1,
	.queues = 1,
	.mbuf_size = RTE_MBUF_DEFAULT_BUF_SIZE,
	.nb_mbufs = 16384,
	.seconds = 30,
	.stall_ms = 5000,
	.linger_ms = 500,
};

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
static volatile sig_atomic_t stop_req;
static uint64_t sleeps, wakes, stalls, shorts, self_wakes;
static uint64_t first_bad_report;

static void
on_signal(int sig __rte_unused)
{
	stop_req = 1;
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

/* The whole frame, byte by byte: header fields then the pattern. */
static void
chk_fill(uint8_t *buf, uint32_t from, uint32_t n, uint64_t seq, uint32_t len, uint8_t role,
	 uint16_t q)
{
	uint8_t hdr[CHK_HDR_LEN] = {
		0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02,
		CHK_ETHER_TYPE >> 8, CHK_ETHER_TYPE & 0xff, 'V', 'H', 'F', role,
		(uint8_t)(q >> 8), (uint8_t)q,
		(uint8_t)(seq >> 24), (uint8_t)(seq >> 16), (uint8_t)(seq >> 8), (uint8_t)seq,
		(uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len,
	};
	uint32_t i;

	for (i = 0; i < n; i++) {
		uint32_t off = from + i;

		buf[i] = off < CHK_HDR_LEN ? hdr[off] : chk_pattern(seq, off, role, q);
	}
}

static struct rte_mbuf *
chk_build(uint64_t seq, uint16_t q)
{
	uint32_t len = chk_len_of(seq), off = 0;
	struct rte_mbuf *head = NULL, *last = NULL;

	while (off < len) {
		struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
		uint32_t chunk;

		if (m == NULL) {
			rte_pktmbuf_free(head);
			return NULL;
		}
		chunk = RTE_MIN(len - off, (uint32_t)rte_pktmbuf_tailroom(m));
		chk_fill(rte_pktmbuf_mtod(m, uint8_t *), off, chunk, seq, len, chk_role(opt.host),
			 q);
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
	return head;
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
		if (chk_rx_enabled() && queues[q].rcvd < opt.count)
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

/* rxintr, host: sleep on the rx interrupts of every queue until one fires. */
static void
chk_rx_sleep(uint16_t port)
{
	struct rte_epoll_event ev[CHK_MAX_QUEUES];
	uint16_t q;
	int n;

	for (q = 0; q < opt.queues; q++)
		rte_eth_dev_rx_intr_enable(port, q);
	sleeps++;
	n = rte_epoll_wait(RTE_EPOLL_PER_THREAD, ev, CHK_MAX_QUEUES, (int)opt.stall_ms);
	for (q = 0; q < opt.queues; q++)
		rte_eth_dev_rx_intr_disable(port, q);
	if (n > 0) {
		wakes++;
	} else if (n == 0) {
		stalls++;
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
			stalls++;
			return;
		}
		pfd[npfd].fd = rte_pmd_vhostfix_tx_wait_fd(port, q);
		pfd[npfd].events = POLLIN;
		npfd++;
	}
	if (npfd == 0)
		return;
	sleeps++;
	n = poll(pfd, npfd, (int)opt.stall_ms);
	if (n > 0) {
		wakes++;
	} else if (n == 0) {
		stalls++;
		printf("STALL: no guest refill kick in %u ms (sent %" PRIu64 ")\n", opt.stall_ms,
		       queues[0].sent);
	}
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
	ret = rte_eth_dev_start(port);
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
		default:
			return -1;
		}
	}
	return 0;
}

int
main(int argc, char **argv)
{
	uint64_t hz, start, deadline, next_progress, next_pace = 0, pause_until = 0;
	uint64_t rx_total = 0, next_pause;
	uint64_t bad = 0, ooo = 0, rcvd = 0, sent = 0;
	unsigned int in_use_base, in_use_end;
	uint16_t port = 0, q;
	bool ok, timed_out = false;
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
			"[--pause-every N --pause-ms P] [--stall-ms T] [--linger-ms T]\n");
		return 2;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	if (rte_eth_dev_count_avail() < 1) {
		fprintf(stderr, "no port\n");
		return 1;
	}
	pool = rte_pktmbuf_pool_create("chk_pool", opt.nb_mbufs, 256, 0, opt.mbuf_size,
				       rte_socket_id());
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

		if (now >= deadline) {
			timed_out = opt.mode != MODE_SOAK;
			break;
		}
		if (now >= next_progress) {
			chk_progress();
			next_progress = now + hz / 4;
		}
		for (q = 0; q < opt.queues; q++) {
			if (chk_tx_enabled() && (opt.pace_ms == 0 || now >= next_pace)) {
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
	/* Let the peer take what is in flight, and take what it still sends. */
	if (!stop_req) {
		uint64_t end = rte_get_timer_cycles() + opt.linger_ms * hz / 1000;

		while (!stop_req && rte_get_timer_cycles() < end)
			for (q = 0; q < opt.queues; q++)
				if (chk_rx_enabled())
					chk_rx(port, q);
	}
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
	in_use_end = rte_mempool_in_use_count(pool);
	ok = bad == 0 && ooo == 0 && stalls == 0 && !timed_out;
	if (opt.mode == MODE_SOAK)
		ok = ok && rcvd > 0 && sent > 0;
	printf("RESULT %s role %s sent %" PRIu64 " received %" PRIu64 " bad %" PRIu64
	       " out_of_order %" PRIu64 " sleeps %" PRIu64 " wakes %" PRIu64 " no_sleep %" PRIu64
	       " stalls %" PRIu64 " short_tx %" PRIu64 "%s in_use_base %u in_use_end %u\n",
	       ok ? "ok" : "FAIL", opt.host ? "host" : "guest", sent, rcvd, bad, ooo, sleeps,
	       wakes, self_wakes, stalls, shorts, timed_out ? " TIMEOUT" : "", in_use_base,
	       in_use_end);
	fflush(stdout);
	rte_eth_dev_stop(port);
	rte_eth_dev_close(port);
	rte_eal_cleanup();
	return ok ? 0 : 1;
}
