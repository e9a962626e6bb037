/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 dpdk-vhostfix authors
 */

/*
 * Burst functions: mbufs <-> lib/ packets. Every guest-visible step (ring
 * walking, notification arming, used publication, the interrupt decision) is
 * lib/'s; this file only copies, counts and writes the call eventfd.
 */

#include <sys/eventfd.h>

#include <rte_cycles.h>
#include <rte_mbuf.h>

#include "vhf_pmd.h"

/* Guest misbehaviour is logged at most this often per port, whatever the number of queues. */
#define VHF_BROKEN_LOG_INTERVAL_S 1

static __rte_always_inline void
vhf_queue_call(struct vhf_pmd_queue *q)
{
	/* An eventfd write never blocks short of 2^64 - 1 pending events. */
	if (q->callfd >= 0)
		(void)eventfd_write(q->callfd, 1);
}

/* Say once per queue life why the guest's queue stopped working. */
static __rte_noinline void
vhf_queue_log_broken(struct vhf_pmd_queue *q)
{
	struct vhf_port *port = q->port;
	uint64_t now = rte_get_timer_cycles();
	uint64_t last = __atomic_load_n(&port->broken_log_tsc, __ATOMIC_RELAXED);
	int reason = q->vq.broken_reason;

	q->broken_logged = true;
	if (last != 0 && now - last < VHF_BROKEN_LOG_INTERVAL_S * rte_get_timer_hz())
		return; /* the counters still tell */
	__atomic_store_n(&port->broken_log_tsc, now, __ATOMIC_RELAXED);
	rte_log(RTE_LOG_ERR, q->is_rx ? vhf_logtype_rx : vhf_logtype_tx,
		"net_vhostfix: %s: port %u %s queue %u (vring %u): guest misbehaved (%s); queue "
		"stopped until the guest resets it\n", port->args.iface, q->port_id,
		q->is_rx ? "rx" : "tx", q->qid, q->vring,
		reason >= 0 && reason < VHF_VQ_CNT_MAX ? vhf_vq_counter_names[reason] : "unknown");
}

/* Copy a guest TX packet into a chain of mbufs from pool; NULL if the pool ran dry. */
static inline struct rte_mbuf *
vhf_pkt_to_mbuf(struct vhf_pmd_queue *q, struct rte_mbuf *head, const struct vhf_tx_pkt *pkt)
{
	struct rte_mbuf *m = head;
	uint32_t off = 0;

	for (;;) {
		uint32_t room = rte_pktmbuf_tailroom(m);
		uint32_t chunk = RTE_MIN(room, pkt->len - off);

		vhf_iov_copy_out(rte_pktmbuf_mtod(m, void *), pkt->iov, pkt->niov, off, chunk);
		m->data_len = (uint16_t)chunk;
		off += chunk;
		if (off == pkt->len)
			break;
		m->next = rte_pktmbuf_alloc(q->mb_pool);
		if (unlikely(m->next == NULL)) {
			rte_pktmbuf_free(head);
			return NULL;
		}
		m = m->next;
		head->nb_segs++;
	}
	head->pkt_len = pkt->len;
	head->port = q->port_id;
	return head;
}

/* ethdev rx: packets the guest transmitted. */
uint16_t
vhf_pmd_rx_burst(void *rxq, struct rte_mbuf **pkts, uint16_t n)
{
	struct vhf_pmd_queue *q = rxq;
	struct vhf_vq *vq = &q->vq;
	uint16_t i = 0;

	if (!vhf_queue_enter(q))
		return 0;
	while (i < n) {
		struct rte_mbuf *m;
		int ret;

		/* Allocate before taking a packet: a dry pool then leaves it in the ring. */
		m = rte_pktmbuf_alloc(q->mb_pool);
		if (unlikely(m == NULL)) {
			vhf_vq_count(vq, VHF_VQ_CNT_drop_no_mbuf);
			break;
		}
		ret = vhf_net_tx_next(vq, &q->tx_pkt);
		if (ret <= 0) {
			rte_pktmbuf_free(m);
			break;
		}
		m = vhf_pkt_to_mbuf(q, m, &q->tx_pkt);
		if (unlikely(m == NULL)) {
			/* Taken from the ring already: it is lost, and counted. */
			vhf_vq_count(vq, VHF_VQ_CNT_drop_no_mbuf);
			break;
		}
		pkts[i++] = m;
	}
	/* Once per burst: publish what we consumed, interrupt the guest if it asked. */
	if (vhf_net_tx_finish(vq))
		vhf_queue_call(q);
	if (unlikely(vq->broken) && !q->broken_logged)
		vhf_queue_log_broken(q);
	vhf_queue_leave(q);
	return i;
}

/*
 * Describe up to n mbuf chains as lib/ packets, as long as their segments fit
 * in segs[VHF_PMD_BATCH_SEGS].
 * @return packets described; 0 if the first alone has too many segments.
 */
static inline uint16_t
vhf_mbufs_to_pkts(struct rte_mbuf **mbufs, uint16_t n, struct vhf_rx_pkt *pkts,
		  struct vhf_seg *segs)
{
	uint16_t i, nsegs = 0;

	for (i = 0; i < n; i++) {
		struct rte_mbuf *m = mbufs[i];

		if (m->nb_segs > VHF_PMD_BATCH_SEGS - nsegs)
			break;
		pkts[i].segs = &segs[nsegs];
		pkts[i].nsegs = m->nb_segs;
		pkts[i].len = m->pkt_len;
		pkts[i].hdr = NULL;
		for (; m != NULL; m = m->next) {
			segs[nsegs].data = rte_pktmbuf_mtod(m, const void *);
			segs[nsegs].len = m->data_len;
			nsegs++;
		}
	}
	return i;
}

/* ethdev tx: packets for the guest. Never blocks: a short guest ring is a short count. */
uint16_t
vhf_pmd_tx_burst(void *txq, struct rte_mbuf **pkts, uint16_t n)
{
	struct vhf_pmd_queue *q = txq;
	struct vhf_vq *vq = &q->vq;
	struct vhf_rx_pkt batch[VHF_PMD_BATCH];
	struct vhf_seg segs[VHF_PMD_BATCH_SEGS];
	struct vhf_burst_result res;
	bool call = false;
	uint16_t done = 0;

	if (!vhf_queue_enter(q))
		return 0;
	while (done < n) {
		uint16_t cnt = vhf_mbufs_to_pkts(&pkts[done], RTE_MIN(n - done, VHF_PMD_BATCH),
						 batch, segs);
		uint16_t taken;

		if (unlikely(cnt == 0)) {
			/* More segments than we describe at once: no guest could want it. */
			vhf_vq_count(vq, VHF_VQ_CNT_drop_too_big);
			rte_pktmbuf_free(pkts[done++]);
			continue;
		}
		taken = vhf_net_rx_enqueue(vq, batch, cnt, &res);
		call |= res.call;
		/* Copied into the guest (or dropped and counted): the mbufs are ours to free. */
		rte_pktmbuf_free_bulk(&pkts[done], taken);
		done += taken;
		/* Short: the kick is armed (or must be polled for); the caller keeps the rest. */
		if (taken < cnt || res.status != VHF_RX_DONE)
			break;
	}
	/* One interrupt for the whole burst, however many batches it took. */
	if (call)
		vhf_queue_call(q);
	if (unlikely(vq->broken) && !q->broken_logged)
		vhf_queue_log_broken(q);
	vhf_queue_leave(q);
	return done;
}
