/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 dpdk-vhostfix authors
 */

/*
 * The hostile guest of fuzz_guest.c against net_vhostfix's burst functions,
 * the conversions between guest buffers and mbufs that lib/ does not see:
 *
 *   guest TX queue --vhf_pmd_rx_burst--> mbufs --vhf_pmd_tx_burst--> guest RX queue
 *
 * as a forwarding application would run them, in a plain process with the EAL
 * (--no-huge, started once in LLVMFuzzerInitialize). The two vhf_pmd_queue
 * objects are built here around the input's lib queues, where the control
 * path would attach them; nothing else of ethdev or librte_vhost is involved.
 * The input format is fuzz_guest.h's, so fuzz_vq's seeds serve here too; the
 * device operations mean:
 *
 *   rx_burst  (packets for the guest): mbuf chains of the given lengths and
 *             shapes (bit 7: TCP checksum / TSO request), to vhf_pmd_tx_burst
 *   tx_burst  u8 max (1 + v % 64): vhf_pmd_rx_burst, then what it returned
 *             forwarded to the guest RX queue with vhf_pmd_tx_burst
 *   tx_next   the same with max 1
 *   reinit    u8 queue: the queue re-initialised from its resume point
 *   has_room, avail_space, arm_kick: read and ignored (they need an ethdev)
 *
 * Bits 5-7 of queue 1's placement byte set the port up: FUZZ_PMD_SMALL_MBUFS
 * (64-byte mbufs, so that long frames make long chains), FUZZ_PMD_OFFLOADS
 * (checksum and TSO features negotiated) and FUZZ_PMD_RX_CSUM (the application
 * takes partial checksums).
 *
 * On top of fuzz_guest.c's checks (budget, bounds, used lengths, short
 * queues), after every burst:
 *  - an mbuf from the guest is a sound chain: nb_segs segments, pkt_len the
 *    sum of their data_len, and no longer than the largest packet
 *    (VHF_NET_MAX_PKT_LEN); a violation is reported after the frame was
 *    forwarded, so that what the other port makes of it shows first;
 *  - every mbuf goes back to its pool by the end of the input.
 * FUZZ_NO_FRAME_BOUND=1 in the environment leaves the length bound out, to
 * see what longer frames do further on (as FUZZ_NO_BUDGET does for the budget).
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* sched_getaffinity */
#endif
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_log.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "fuzz_guest.h"
#include "vhf_eal_test_dir.h"
#include "vhf_pmd.h"

#define FUZZ_PMD_SMALL_MBUFS 0x20
#define FUZZ_PMD_OFFLOADS 0x40
#define FUZZ_PMD_RX_CSUM 0x80

#define FUZZ_PMD_BURST 64
/* 64-byte mbufs: enough of them that a chain can pass 65535 segments. */
#define FUZZ_SMALL_ROOM 64
#define FUZZ_SMALL_COUNT 70000
#define FUZZ_BIG_COUNT 8192
/* Frame bytes taken from the guest per input, past which TX operations are skipped. */
#define FUZZ_PMD_COPY_BUDGET (64u << 20)
/* A chain longer than this is not walked further (nb_segs cannot say more than 65535). */
#define FUZZ_PMD_MAX_CHAIN (1u << 20)
#define FUZZ_SRC_LEN (256u << 10)

static struct rte_mempool *fuzz_pool_big, *fuzz_pool_small;
static struct vhf_port fuzz_port;
/* ethdev tx queue 0 serves the guest's RX virtqueue (queue 0), rx queue 0 its TX one. */
static struct vhf_pmd_queue fuzz_txq, fuzz_rxq;
static uint8_t fuzz_src[FUZZ_SRC_LEN];
static bool fuzz_no_frame_bound;

int LLVMFuzzerInitialize(int *argc, char ***argv);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static char a0[] = "fuzz_pmd", a1[] = "--no-huge", a2[] = "--no-pci",
		    a3[] = "--no-shconf", a4[] = "-m", a5[] = "512", a6[] = "--no-telemetry",
		    a7[] = "--log-level=*:error", a8[] = "-l";
	static char lcore[16];
	char *args[] = { a0, a1, a2, a3, a4, a5, a6, a7, a8, lcore, vhf_eal_test_dir_prefix_arg(),
			 NULL };
	cpu_set_t set;
	int cpu = 0, i;

	(void)argc;
	(void)argv;
	/* The one CPU this process may run on first: EAL's lcore 0 must be allowed. */
	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		while (cpu < CPU_SETSIZE - 1 && !CPU_ISSET(cpu, &set))
			cpu++;
	snprintf(lcore, sizeof(lcore), "%d", cpu);
	if (rte_eal_init((int)(sizeof(args) / sizeof(args[0])) - 1, args) < 0) {
		fprintf(stderr, "fuzz_pmd: rte_eal_init failed\n");
		abort();
	}
	vhf_eal_test_dir_remove_at_exit();
	/* A hostile guest's broken queues would be logged all the time. */
	rte_log_set_level_pattern("pmd.net.vhostfix*", RTE_LOG_CRIT);
	fuzz_pool_big = rte_pktmbuf_pool_create("fuzz_big", FUZZ_BIG_COUNT, 0, 0,
						RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	fuzz_pool_small = rte_pktmbuf_pool_create("fuzz_small", FUZZ_SMALL_COUNT, 0, 0,
						  RTE_PKTMBUF_HEADROOM + FUZZ_SMALL_ROOM,
						  SOCKET_ID_ANY);
	if (fuzz_pool_big == NULL || fuzz_pool_small == NULL) {
		fprintf(stderr, "fuzz_pmd: cannot create the mbuf pools\n");
		abort();
	}
	fuzz_no_frame_bound = getenv("FUZZ_NO_FRAME_BOUND") != NULL;
	fuzz_port.args.iface = a0;
	fuzz_port.rxq = &fuzz_rxq;
	fuzz_port.txq = &fuzz_txq;
	for (i = 0; i < (int)FUZZ_SRC_LEN; i++)
		fuzz_src[i] = (uint8_t)(i * 7 + (i >> 8) + 1);
	return 0;
}

/* What the control path does at attach, for a queue the input set up (or not). */
static void
fuzz_pmd_attach(struct fuzz_ctx *ctx, struct vhf_pmd_queue *pq, unsigned int qi)
{
	const struct fuzz_queue *q = &ctx->q[qi];
	uint8_t port_bits = ctx->q[1].place;

	pq->callfd = -1;
	pq->kickfd = -1;
	pq->wait_epfd = -1;
	pq->wake_fd = -1;
	pq->broken_logged = false;
	pq->armed = false;
	pq->start_gate.closed = false;
	pq->start_gate.opened = true;
	pq->features = 0;
	if (port_bits & FUZZ_PMD_OFFLOADS)
		pq->features = VHF_FEATURE(VHF_F_NET_CSUM) | VHF_FEATURE(VHF_F_NET_GUEST_CSUM) |
			       VHF_FEATURE(VHF_F_NET_HOST_TSO4) | VHF_FEATURE(VHF_F_NET_HOST_TSO6) |
			       VHF_FEATURE(VHF_F_NET_GUEST_TSO4) | VHF_FEATURE(VHF_F_NET_GUEST_TSO6);
	pq->rx_csum_offload = !!(port_bits & FUZZ_PMD_RX_CSUM);
	pq->from_guest = qi == 1;
	pq->qid = 0;
	pq->vring = (uint16_t)(qi == 0 ? 0 : 1);
	pq->port_id = 0;
	pq->port = &fuzz_port;
	pq->mb_pool = port_bits & FUZZ_PMD_SMALL_MBUFS ? fuzz_pool_small : fuzz_pool_big;
	/* As vhf_rx_queue_setup() does (a tx queue has no pool in ethdev; unused there). */
	vhf_rx_queue_set_rearm(pq, pq->mb_pool);
	pq->guard.in_use = 0;
	pq->guard.open = q->enabled;
}

/* A chain as the burst function left it: NULL if sound, else what is wrong. */
static FUZZ_NO_COVERAGE const char *
fuzz_mbuf_bad(const struct rte_mbuf *m)
{
	const struct rte_mbuf *s;
	uint64_t sum = 0;
	uint32_t segs = 0;

	for (s = m; s != NULL; s = s->next) {
		if (++segs > FUZZ_PMD_MAX_CHAIN)
			return "a chain without end";
		sum += s->data_len;
	}
	if (segs != m->nb_segs)
		return "nb_segs is not the number of segments";
	if (sum != m->pkt_len)
		return "pkt_len is not the sum of the segments' data_len";
	if (m->pkt_len > VHF_NET_MAX_PKT_LEN && !fuzz_no_frame_bound)
		return "a frame longer than the largest packet (VHF_NET_MAX_PKT_LEN)";
	return NULL;
}

/* Packets to the guest's RX queue, through the PMD's conversion. */
static uint16_t
fuzz_pmd_to_guest(struct fuzz_ctx *ctx, struct rte_mbuf **mbufs, uint16_t n)
{
	struct fuzz_queue *q = &ctx->q[0];
	struct vhf_vq *vq = q->vq;
	struct fuzz_rx_acct acct;
	uint16_t sent;
	bool snap;

	fuzz_call_begin(ctx, q, "vhf_pmd_tx_burst");
	fuzz_call_budget(ctx, "vhf_pmd_tx_burst", FUZZ_DESC_BUDGET(FUZZ_PMD_TX_CALLS(n)));
	fuzz_rx_acct_begin(ctx, &acct);
	snap = fuzz_pre_call(ctx, q);
	sent = vhf_pmd_tx_burst(&fuzz_txq, mbufs, n);
	fuzz_post_call(ctx, snap);
	fuzz_rx_acct_end(ctx, &acct);
	FUZZ_CHECK(sent <= n);
	/* Short: the guest's buffers did not cover the next packet (its header included). */
	if (sent < n && q->enabled && !vq->broken)
		fuzz_check_short(ctx, (uint64_t)rte_pktmbuf_pkt_len(mbufs[sent]) + vq->net_hdr_len);
	fuzz_call_end(ctx);
	FUZZ_CHECK(vq->used_pending == 0 || !q->enabled);
	return sent;
}

/*
 * One packet as an mbuf chain from the big pool: shape's segment count, each
 * segment cut at the mbuf's room. NULL if the pool ran dry.
 */
static FUZZ_NO_COVERAGE struct rte_mbuf *
fuzz_pmd_build(uint32_t len, uint8_t shape, unsigned int salt)
{
	unsigned int ns = 1 + (shape & FUZZ_SHAPE_SEGS_MASK), k;
	struct rte_mbuf *head = NULL, *tail = NULL;
	uint32_t left = len, src = (salt * 4099u) % (FUZZ_SRC_LEN - FUZZ_PKT_MAX_LEN);

	for (k = 0; k < ns; k++) {
		uint32_t piece = k + 1 == ns ? left : len / ns;

		left -= piece;
		do {
			struct rte_mbuf *m = rte_pktmbuf_alloc(fuzz_pool_big);
			uint32_t chunk;

			if (m == NULL) {
				rte_pktmbuf_free(head);
				return NULL;
			}
			chunk = RTE_MIN(piece, (uint32_t)rte_pktmbuf_tailroom(m));
			memcpy(rte_pktmbuf_mtod(m, void *), fuzz_src + src, chunk);
			src += chunk;
			m->data_len = (uint16_t)chunk;
			piece -= chunk;
			if (head == NULL) {
				head = m;
			} else {
				tail->next = m;
				head->nb_segs++;
			}
			tail = m;
		} while (piece > 0);
	}
	head->pkt_len = len;
	if (shape & FUZZ_SHAPE_OFFLOAD) {
		head->ol_flags = RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM |
				 RTE_MBUF_F_TX_TCP_CKSUM;
		head->l2_len = 14;
		head->l3_len = 20;
		head->l4_len = 20;
		if (len > 1514) {
			head->ol_flags |= RTE_MBUF_F_TX_TCP_SEG;
			head->tso_segsz = 1448;
		}
	}
	return head;
}

static void
fuzz_op_rx_burst(struct fuzz_ctx *ctx)
{
	struct rte_mbuf *mbufs[FUZZ_MAX_PKTS];
	uint32_t lens[FUZZ_MAX_PKTS];
	uint8_t shapes[FUZZ_MAX_PKTS];
	unsigned int np = fuzz_rx_pkts(&ctx->in, lens, shapes), i, n = 0;
	uint16_t sent;

	if (!ctx->q[0].enabled)
		return;
	for (i = 0; i < np; i++) {
		mbufs[n] = fuzz_pmd_build(lens[i], shapes[i], i);
		if (mbufs[n] == NULL)
			break;
		n++;
	}
	sent = fuzz_pmd_to_guest(ctx, mbufs, (uint16_t)n);
	rte_pktmbuf_free_bulk(&mbufs[sent], n - sent);
}

/* Packets from the guest's TX queue, then forwarded to its RX queue. */
static void
fuzz_op_tx_burst(struct fuzz_ctx *ctx, unsigned int max)
{
	struct fuzz_queue *q = &ctx->q[1];
	struct rte_mbuf *mbufs[FUZZ_PMD_BURST];
	const char *bad = NULL;
	uint16_t got, sent = 0, i;
	bool snap;

	if (!q->enabled || ctx->tx_copied >= FUZZ_PMD_COPY_BUDGET)
		return;
	fuzz_call_begin(ctx, q, "vhf_pmd_rx_burst");
	/* One TX burst, finished before the PMD returns. */
	fuzz_call_budget(ctx, "vhf_pmd_rx_burst", FUZZ_DESC_BUDGET(1));
	snap = fuzz_pre_call(ctx, q);
	got = vhf_pmd_rx_burst(&fuzz_rxq, mbufs, (uint16_t)max);
	fuzz_post_call(ctx, snap);
	fuzz_call_end(ctx);
	FUZZ_CHECK(got <= max);
	FUZZ_CHECK(q->vq->used_pending == 0);
	for (i = 0; i < got && bad == NULL; i++) {
		bad = fuzz_mbuf_bad(mbufs[i]);
		ctx->tx_copied += mbufs[i]->pkt_len;
		fuzz_stats.pmd_too_big += mbufs[i]->pkt_len > VHF_NET_MAX_PKT_LEN;
	}
	fuzz_stats.pmd_rx_mbufs += got;
	if (ctx->q[0].enabled && got > 0) {
		sent = fuzz_pmd_to_guest(ctx, mbufs, got);
		fuzz_stats.pmd_fwd += sent;
	}
	rte_pktmbuf_free_bulk(&mbufs[sent], got - sent);
	if (bad != NULL) {
		fprintf(stderr, "fuzz_pmd: vhf_pmd_rx_burst returned %s\n", bad);
		FUZZ_CHECK(bad == NULL);
	}
}

/* The device's side of an operation (fuzz_run_ops). */
static void
fuzz_device_op(struct fuzz_ctx *ctx, unsigned int op)
{
	switch (op) {
	case FUZZ_OP_RX_BURST:
		fuzz_op_rx_burst(ctx);
		break;
	case FUZZ_OP_TX_BURST:
		fuzz_op_tx_burst(ctx, 1 + fuzz_u8(&ctx->in) % FUZZ_PMD_BURST);
		break;
	case FUZZ_OP_TX_NEXT:
		fuzz_op_tx_burst(ctx, 1);
		break;
	case FUZZ_OP_HAS_ROOM:
	case FUZZ_OP_AVAIL_SPACE:
		(void)fuzz_u32(&ctx->in);
		break;
	case FUZZ_OP_REINIT:
		fuzz_reinit(&ctx->q[fuzz_u8(&ctx->in) & 1]);
		break;
	default: /* arm_kick */
		(void)fuzz_u8(&ctx->in);
		break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_ctx ctx;

	if (fuzz_setup(&ctx, data, size, &fuzz_txq.vq, &fuzz_rxq.vq) < 0)
		goto out;
	fuzz_pmd_attach(&ctx, &fuzz_txq, 0);
	fuzz_pmd_attach(&ctx, &fuzz_rxq, 1);
	fuzz_run_ops(&ctx, fuzz_device_op);
out:
	/* Detached: the next input's memory is not this one's. */
	fuzz_txq.guard.open = 0;
	fuzz_rxq.guard.open = 0;
	fuzz_teardown(&ctx);
	/* Every mbuf the bursts took or made is back. */
	FUZZ_CHECK(rte_mempool_avail_count(fuzz_pool_big) == FUZZ_BIG_COUNT);
	FUZZ_CHECK(rte_mempool_avail_count(fuzz_pool_small) == FUZZ_SMALL_COUNT);
	return 0;
}
