/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 dpdk-vhostfix authors
 */

/*
 * Burst functions: mbufs <-> lib/ packets. Every guest-visible step (ring
 * walking, notification arming, used publication, the interrupt decision) is
 * lib/'s; this file only copies, counts and writes the call eventfd.
 *
 * Lengths and counts are bounded before use, wherever they come from:
 *  - from the guest: a frame longer than VHF_MAX_RX_PKTLEN is taken from the
 *    ring and dropped before any mbuf is filled (drop_frame_too_long);
 *  - to the guest: an mbuf chain is walked at most nb_segs segments, nb_segs
 *    bounded by the segment array, and a chain that does not end there or
 *    whose data_len do not add up to pkt_len is dropped (drop_bad_mbuf_chain).
 * These two counters are the PMD's (VHF_PMD_COUNTERS), as are the offload ones.
 *
 * Offloads (devargs csum=1, tso=1): the virtio-net header is checked and
 * translated by lib/vhf_net_offload.h; this file maps it to and from mbuf
 * flags and does the software work on the mbufs:
 *  - from the guest: a partial TCP/UDP checksum is handed on as
 *    RTE_MBUF_F_RX_L4_CKSUM_NONE when the application enabled the matching rx
 *    offload, and completed here otherwise (or when it is not at the L4
 *    header); DATA_VALID is ignored (a driver must not set it); a GSO packet gives RX_LRO
 *    and tso_segsz. A header the guest could not have sent honestly is
 *    counted (drop_bad_offload) and its packet dropped. The packet is
 *    judged by the bytes copied into the mbuf, never by a second read of
 *    guest memory, which the guest may rewrite between the two.
 *  - to the guest: RTE_MBUF_F_TX_{TCP,UDP}_CKSUM and TX_TCP_SEG become
 *    NEEDS_CSUM and GSO_TCPV4/6 when the guest negotiated GUEST_CSUM and
 *    GUEST_TSO4/6; without GUEST_CSUM the checksum is computed here; TSO to a
 *    guest without GUEST_TSO is dropped and counted (drop_tso_no_guest_tso):
 *    we do not segment. TX_IP_CKSUM is always done here (virtio has none).
 *    These software steps write the packet's checksum fields in the mbuf, as
 *    DPDK drivers' tx_prepare does; what they write does not depend on what
 *    was there, so a packet sent twice (a short burst, a clone) comes out the
 *    same.
 */

#include <sys/eventfd.h>

#include <rte_cycles.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include "vhf_announce.h"
#include "vhf_copy.h"
#include "vhf_net_offload.h"
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
static VHF_CLOCK_DRIVEN void
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
	rte_log(RTE_LOG_ERR, q->from_guest ? vhf_logtype_rx : vhf_logtype_tx,
		"net_vhostfix: %s: port %u %s queue %u (vring %u): guest misbehaved (%s); queue "
		"stopped until the guest resets it\n", port->args.iface, q->port_id,
		q->from_guest ? "rx" : "tx", q->qid, q->vring,
		reason >= 0 && reason < VHF_VQ_CNT_MAX ? vhf_vq_counter_names[reason] : "unknown");
}

/* Write len bytes at offset off of an mbuf chain (the caller checked off + len <= pkt_len). */
static void
vhf_mbuf_write(struct rte_mbuf *m, uint32_t off, const void *src, uint32_t len)
{
	const uint8_t *s = src;

	while (m != NULL && off >= m->data_len) {
		off -= m->data_len;
		m = m->next;
	}
	while (m != NULL && len > 0) {
		uint32_t chunk = RTE_MIN(len, (uint32_t)m->data_len - off);

		rte_memcpy(rte_pktmbuf_mtod_offset(m, uint8_t *, off), s, chunk);
		s += chunk;
		len -= chunk;
		off = 0;
		m = m->next;
	}
}

static void
vhf_mbuf_put16(struct rte_mbuf *m, uint32_t off, uint16_t v)
{
	uint8_t b[2];

	vhf_ofl_put16(b, v);
	vhf_mbuf_write(m, off, b, sizeof(b));
}

/*
 * Complete a partial checksum: fold [start, pkt_len) and store the result at
 * start + offset (lib/ checked that both lie inside the packet).
 */
static void
vhf_mbuf_csum_complete(struct rte_mbuf *m, uint32_t start, uint32_t offset)
{
	uint16_t sum = 0;
	uint16_t v;

	/* rte_raw_cksum works on words in memory order: store its result the same way. */
	if (rte_raw_cksum_mbuf(m, start, rte_pktmbuf_pkt_len(m) - start, &sum) != 0)
		return;
	v = vhf_ofl_csum_final(sum);
	vhf_mbuf_write(m, start + offset, &v, sizeof(v));
}

/* Turn what the guest's header said into mbuf metadata (or checksums done here). */
static void
vhf_from_guest_offload_apply(struct vhf_pmd_queue *q, struct rte_mbuf *m,
			     const struct vhf_ofl_from_guest_info *ofl)
{
	switch (ofl->csum) {
	case VHF_OFL_CSUM_GOOD:
		m->ol_flags |= RTE_MBUF_F_RX_L4_CKSUM_GOOD;
		break;
	case VHF_OFL_CSUM_PARTIAL_L4:
		if (q->rx_csum_offload) {
			/* "Not correct in the data, but the integrity is verified." */
			m->ol_flags |= RTE_MBUF_F_RX_L4_CKSUM_NONE;
			vhf_pmd_count(q, VHF_PMD_CNT_csum_offloaded);
			break;
		}
		vhf_mbuf_csum_complete(m, ofl->csum_start, ofl->csum_offset);
		m->ol_flags |= RTE_MBUF_F_RX_L4_CKSUM_GOOD;
		vhf_pmd_count(q, VHF_PMD_CNT_csum_sw);
		break;
	case VHF_OFL_CSUM_PARTIAL_OTHER:
		/* Not a checksum the application could recognise: ours to finish. */
		vhf_mbuf_csum_complete(m, ofl->csum_start, ofl->csum_offset);
		vhf_pmd_count(q, VHF_PMD_CNT_csum_sw);
		break;
	default:
		break;
	}
	if (ofl->gso_size != 0) {
		m->ol_flags |= RTE_MBUF_F_RX_LRO;
		m->tso_segsz = ofl->gso_size;
		vhf_pmd_count(q, VHF_PMD_CNT_gso_offloaded);
	}
}

/*
 * Check a guest's offload header against the packet as delivered and apply
 * it: the bytes looked at are the mbuf's, not guest memory the guest may have
 * rewritten since they were copied.
 * @return false if the header must not be trusted (drop the packet).
 */
static bool
vhf_from_guest_offload(struct vhf_pmd_queue *q, struct rte_mbuf *m, const struct vhf_net_hdr *hdr)
{
	uint8_t buf[VHF_OFL_HDR_MAX];
	uint32_t head_len = RTE_MIN(rte_pktmbuf_pkt_len(m), (uint32_t)VHF_OFL_HDR_MAX);
	/* In place when the first segment holds it; never NULL: head_len <= pkt_len. */
	const uint8_t *head = rte_pktmbuf_read(m, 0, head_len, buf);
	struct vhf_ofl_from_guest_info ofl;

	if (vhf_ofl_from_guest(hdr, head, head_len, rte_pktmbuf_pkt_len(m), q->features,
			       &ofl) != VHF_OFL_OK)
		return false;
	vhf_from_guest_offload_apply(q, m, &ofl);
	return true;
}

/*
 * mbufs for one rx burst, taken from the pool as raw pointers, as many at once
 * as the ring says it holds: an mbuf is reset only when a packet fills it, and
 * the unused ones go back untouched. A packed ring does not say how many
 * (vhf_vq_published_max()): its mbufs come VHF_RX_MBUF_CHUNK at a time, so a
 * poll that finds one packet does not take a burst's worth from the pool's
 * cache and put all but one back. A pool that cannot give a chunk at once
 * gives them one by one.
 */
#define VHF_RX_MBUF_CHUNK 8

struct vhf_rx_mbufs {
	struct rte_mempool *pool;
	uint64_t rearm;
	uint64_t ol_flags;
	uint16_t next;
	uint16_t count;
	struct rte_mbuf *raw[VHF_PMD_BATCH];
};

/*
 * An mbuf from the pool as rte_pktmbuf_reset() leaves it, in fewer steps:
 * data_off, refcnt, nb_segs and port in one store from the queue's template
 * (vhf_rx_queue_set_rearm(), the vector PMDs' mbuf initializer), ol_flags
 * from it as well. next is already NULL: a pool's free mbufs have next NULL,
 * nb_segs 1 and refcnt 1 (rte_mbuf_raw_free()'s contract).
 */
static __rte_always_inline void
vhf_rx_mbuf_rearm(struct rte_mbuf *m, uint64_t rearm, uint64_t ol_flags)
{
	memcpy(&m->rearm_data, &rearm, sizeof(rearm));
	m->ol_flags = ol_flags;
	m->packet_type = 0;
	m->pkt_len = 0;
	m->data_len = 0;
	m->vlan_tci = 0;
	m->vlan_tci_outer = 0;
	m->tx_offload = 0;
}

/*
 * What every mbuf of the pool holds after rte_pktmbuf_reset(), as
 * vhf_rx_mbuf_rearm() writes it: data_off at the headroom (the data room is
 * larger, checked by the caller), refcnt and nb_segs 1, the port; ol_flags
 * empty but for a pinned external buffer's flag, which such a pool's mbufs
 * always carry.
 */
void
vhf_rx_queue_set_rearm(struct vhf_pmd_queue *q, struct rte_mempool *mb_pool)
{
	struct rte_mbuf tmpl = { .data_off = RTE_PKTMBUF_HEADROOM, .nb_segs = 1,
				 .port = q->port_id };

	rte_mbuf_refcnt_set(&tmpl, 1);
	memcpy(&q->rx_rearm, &tmpl.rearm_data, sizeof(q->rx_rearm));
	q->rx_ol_flags = (rte_pktmbuf_priv_flags(mb_pool) & RTE_PKTMBUF_POOL_F_PINNED_EXT_BUF) ?
				 RTE_MBUF_F_EXTERNAL : 0;
	q->rx_room = rte_pktmbuf_data_room_size(mb_pool) - RTE_PKTMBUF_HEADROOM;
}

static __rte_always_inline void
vhf_rx_mbufs_init(struct vhf_rx_mbufs *b, const struct vhf_pmd_queue *q)
{
	b->pool = q->mb_pool;
	b->rearm = q->rx_rearm;
	b->ol_flags = q->rx_ol_flags;
}

static __rte_always_inline void
vhf_rx_mbufs_get(struct vhf_rx_mbufs *b, uint16_t n)
{
	struct rte_mempool *pool = b->pool;

	b->next = 0;
	b->count = RTE_MIN(n, (uint16_t)VHF_PMD_BATCH);
	if (rte_mempool_get_bulk(pool, (void **)b->raw, b->count) != 0)
		b->count = 0;
}

/* One mbuf, reset; want: how many the burst may still take, this one included. */
static __rte_always_inline struct rte_mbuf *
vhf_rx_mbufs_take(struct vhf_rx_mbufs *b, uint16_t want)
{
	struct rte_mbuf *m;

	if (unlikely(b->next == b->count)) {
		vhf_rx_mbufs_get(b, RTE_MIN(want, (uint16_t)VHF_RX_MBUF_CHUNK));
		if (unlikely(b->count == 0)) {
			/* Too few left for a bulk get: one at a time, rearmed as the others. */
			if (rte_mempool_get(b->pool, (void **)&m) != 0)
				return NULL;
			vhf_rx_mbuf_rearm(m, b->rearm, b->ol_flags);
			return m;
		}
	}
	m = b->raw[b->next++];
	vhf_rx_mbuf_rearm(m, b->rearm, b->ol_flags);
	return m;
}

static __rte_always_inline void
vhf_rx_mbufs_put(struct vhf_rx_mbufs *b)
{
	/* As they came from the pool: rte_mbuf_raw_free() state, never reset or written. */
	if (b->next < b->count)
		rte_mempool_put_bulk(b->pool, (void **)&b->raw[b->next], b->count - b->next);
}

/*
 * Copy a guest TX packet into a chain of mbufs, head and the rest from fresh
 * (the burst's bulk: a 9000-byte frame in 2 KiB mbufs takes four more, and one
 * rte_pktmbuf_alloc() each was a pool call apiece); NULL if the pool ran dry.
 * pkt->len is at most VHF_MAX_RX_PKTLEN (the caller's check) and every mbuf
 * holds at least a byte (vhf_rx_queue_setup()): the loop ends, nb_segs cannot
 * wrap, and one frame takes a bounded share of the pool.
 */
static inline struct rte_mbuf *
vhf_pkt_to_mbuf(struct vhf_pmd_queue *q, struct rte_mbuf *head, struct vhf_rx_mbufs *fresh,
		const struct vhf_from_guest_pkt *pkt)
{
	struct rte_mbuf *m = head;
	uint32_t off = 0;

	/*
	 * Most frames: one guest buffer into the head's room, one inline copy.
	 * The general walk below (vhf_iov_copy_out() per mbuf, a skip at every
	 * step) cost a 64-byte frame some 50 instructions more.
	 */
	if (likely(pkt->niov == 1) && pkt->len <= q->rx_room) {
		vhf_copy(rte_pktmbuf_mtod(head, void *), pkt->iov[0].base, pkt->len);
		head->data_len = (uint16_t)pkt->len;
		head->pkt_len = pkt->len;
		return head;
	}
	for (;;) {
		uint32_t room = rte_pktmbuf_tailroom(m);
		uint32_t chunk = RTE_MIN(room, pkt->len - off);

		vhf_iov_copy_out(rte_pktmbuf_mtod(m, void *), pkt->iov, pkt->niov, off, chunk);
		m->data_len = (uint16_t)chunk;
		off += chunk;
		if (off == pkt->len)
			break;
		/* The segments still to fill, each the room of this one (all alike, fresh). */
		m->next = vhf_rx_mbufs_take(fresh, (uint16_t)RTE_MIN((pkt->len - off + room - 1) / room,
								  (uint32_t)VHF_RX_MBUF_CHUNK));
		if (unlikely(m->next == NULL)) {
			rte_pktmbuf_free(head);
			return NULL;
		}
		m = m->next;
		head->nb_segs++;
	}
	head->pkt_len = pkt->len;
	return head;
}

/*
 * rx queue 0: the RARP the front-end asked for (vhf_pmd_ctrl.c), as the first
 * packet of this burst. It needs nothing of the guest's rings, so it goes out
 * whether or not they are attached at this moment. A dry pool leaves it
 * pending for the next burst.
 */
static __rte_noinline uint16_t
vhf_rx_announce(struct vhf_pmd_queue *q, struct rte_mbuf **pkts)
{
	uint8_t mac[RTE_ETHER_ADDR_LEN];
	struct rte_mbuf *m;
	uint64_t req;
	char *frame;
	unsigned int i;

	m = rte_pktmbuf_alloc(q->mb_pool);
	if (unlikely(m == NULL)) {
		vhf_pmd_count(q, VHF_PMD_CNT_drop_no_mbuf);
		return 0;
	}
	/*
	 * Relaxed: the MAC travels in the word itself, nothing else is read on
	 * the strength of it. Only this lcore clears it, so it is still set; a
	 * request that lands meanwhile (a newer MAC) is the one taken.
	 */
	req = __atomic_exchange_n(&q->announce, 0, __ATOMIC_RELAXED);
	for (i = 0; i < RTE_ETHER_ADDR_LEN; i++)
		mac[i] = (uint8_t)(req >> (8 * i));
	frame = rte_pktmbuf_append(m, VHF_ANNOUNCE_RARP_LEN);
	/* A data room under 60 bytes: no pool an ethdev rx queue accepts is that small. */
	if (unlikely(frame == NULL || req == 0)) {
		rte_pktmbuf_free(m);
		return 0;
	}
	vhf_announce_rarp(frame, VHF_ANNOUNCE_RARP_LEN, mac);
	m->port = q->port_id;
	m->packet_type = RTE_PTYPE_L2_ETHER;
	vhf_pmd_count(q, VHF_PMD_CNT_announce_rarp);
	pkts[0] = m;
	return 1;
}

/* The guest's TX virtqueue into mbufs: up to n packets. */
static __rte_always_inline uint16_t
vhf_rx_from_guest(struct vhf_pmd_queue *q, struct rte_mbuf **pkts, uint16_t n)
{
	struct vhf_vq *vq = &q->vq;
	struct vhf_rx_mbufs fresh;
	struct rte_mbuf *m = NULL;
	uint16_t i = 0, dropped = 0, published;

	if (!vhf_queue_enter(q))
		return 0;
	/* An idle guest costs one load: no mbuf is taken from the pool for nothing. */
	published = vhf_vq_published_max(vq);
	if (published == 0) {
		vhf_queue_leave(q);
		return 0;
	}
	/*
	 * As many mbufs as chains at most, a chunk for a packed ring; a frame
	 * longer than an mbuf takes its others from the same bulk, refilled as
	 * it runs out (vhf_pkt_to_mbuf()).
	 */
	if (vq->packed)
		published = RTE_MIN(published, (uint16_t)VHF_RX_MBUF_CHUNK);
	vhf_rx_mbufs_init(&fresh, q);
	vhf_rx_mbufs_get(&fresh, RTE_MIN(n, published));
	while (i < n) {
		const struct vhf_from_guest_pkt *pkt = &q->tx_pkt;
		int ret;

		/* Allocate before taking a packet: a dry pool then leaves it in the ring. */
		if (m == NULL) {
			m = vhf_rx_mbufs_take(&fresh, (uint16_t)(n - i));
			if (unlikely(m == NULL)) {
				vhf_pmd_count(q, VHF_PMD_CNT_drop_no_mbuf);
				break;
			}
		}
		ret = vhf_net_from_guest_next(vq, &q->tx_pkt);
		if (ret <= 0)
			break;
		/*
		 * The guest picks the length (up to 4 GiB of its memory): bound it
		 * before a single byte is copied, or one frame drains the pool that
		 * every port shares. Consumed (its used entry is staged), never
		 * delivered; m stays ours for the next one.
		 */
		if (unlikely(pkt->len > VHF_MAX_RX_PKTLEN)) {
			vhf_pmd_count(q, VHF_PMD_CNT_drop_too_long);
			/* A guest sending only drops must not keep us here: a budget. */
			if (++dropped >= n)
				break;
			continue;
		}
		m = vhf_pkt_to_mbuf(q, m, &fresh, pkt);
		if (unlikely(m == NULL)) {
			/* Taken from the ring already: it is lost, and counted. */
			vhf_pmd_count(q, VHF_PMD_CNT_drop_no_mbuf);
			break;
		}
		/* Classified from the copy we deliver: see vhf_from_guest_offload(). */
		if (unlikely(!vhf_ofl_hdr_is_plain(&pkt->hdr)) &&
		    unlikely(!vhf_from_guest_offload(q, m, &pkt->hdr))) {
			vhf_pmd_count(q, VHF_PMD_CNT_drop_bad_offload);
			rte_pktmbuf_free(m);
			m = NULL;
			if (++dropped >= n)
				break;
			continue;
		}
		pkts[i++] = m;
		m = NULL;
		/* Copied: long chains go back to the guest before the burst ends. */
		vhf_net_from_guest_release(vq);
	}
	if (m != NULL)
		rte_pktmbuf_free(m);
	vhf_rx_mbufs_put(&fresh);
	/* Once per burst: publish what we consumed, interrupt the guest if it asked. */
	if (vhf_net_from_guest_finish(vq))
		vhf_queue_call(q);
	if (unlikely(vq->broken) && !q->broken_logged)
		vhf_queue_log_broken(q);
	vhf_queue_leave(q);
	return i;
}

/* ethdev rx: packets the guest transmitted, after any RARP sent on its behalf. */
uint16_t
vhf_pmd_rx_burst(void *rxq, struct rte_mbuf **pkts, uint16_t n)
{
	struct vhf_pmd_queue *q = rxq;
	uint16_t k = 0;

	/* Set on rx queue 0 only, and rarely: one load per burst, of a line attached shares. */
	if (unlikely(__atomic_load_n(&q->announce, __ATOMIC_RELAXED) != 0) && n > 0) {
		k = vhf_rx_announce(q, pkts);
		if (k == n)
			return k;
	}
	return k + vhf_rx_from_guest(q, pkts + k, n - k);
}

/* mbuf tx flags that need a look before the packet goes to the guest. */
#define VHF_TX_OFL_MASK (RTE_MBUF_F_TX_L4_MASK | RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_IP_CKSUM)

/*
 * The drop reason of a packet with more segments than a batch describes: not
 * one of the PMD's counters but lib/'s drop_too_big, which lib/ bumps for a
 * packet too big for any guest buffer.
 */
#define VHF_TX_DROP_TOO_BIG VHF_PMD_CNT_MAX

/* Per packet of a batch: which offload counters it adds once delivered. */
#define VHF_TX_DID_CSUM 1
#define VHF_TX_DID_GSO 2
#define VHF_TX_DID_SW 4

/*
 * Prepare an mbuf's offloads for the guest: the software part now, the
 * virtio-net header into *hdr.
 * @return 0 (no header needed), 1 (*hdr filled), or -1 with *drop set to the
 *   counter to charge when the packet is dropped.
 */
static int
vhf_to_guest_offload(const struct vhf_pmd_queue *q, struct rte_mbuf *m, struct vhf_net_hdr *hdr,
		     uint8_t *did, enum vhf_pmd_counter *drop)
{
	uint64_t ol = m->ol_flags;
	struct vhf_ofl_to_guest_req req = {
		.pkt_len = rte_pktmbuf_pkt_len(m),
		.l2_len = m->l2_len,
		.l3_len = m->l3_len,
		.l4_len = m->l4_len,
		.tso_segsz = m->tso_segsz,
	};
	struct vhf_ofl_to_guest_plan plan;
	int ret;

	*drop = VHF_PMD_CNT_drop_bad_offload;
	switch (ol & RTE_MBUF_F_TX_L4_MASK) {
	case RTE_MBUF_F_TX_L4_NO_CKSUM:
		break;
	case RTE_MBUF_F_TX_TCP_CKSUM:
		req.flags |= VHF_OFL_TX_TCP_CKSUM;
		break;
	case RTE_MBUF_F_TX_UDP_CKSUM:
		req.flags |= VHF_OFL_TX_UDP_CKSUM;
		break;
	default:
		return -1; /* SCTP: not offered */
	}
	if (ol & RTE_MBUF_F_TX_TCP_SEG)
		req.flags |= VHF_OFL_TX_TCP_SEG;
	if (ol & RTE_MBUF_F_TX_IPV4)
		req.flags |= VHF_OFL_TX_IPV4;
	if (ol & RTE_MBUF_F_TX_IPV6)
		req.flags |= VHF_OFL_TX_IPV6;
	if (ol & RTE_MBUF_F_TX_IP_CKSUM)
		req.flags |= VHF_OFL_TX_IP_CKSUM;
	ret = vhf_ofl_to_guest(&req, q->features, &plan);
	if (ret == VHF_OFL_TO_GUEST_ERR_NO_TSO)
		*drop = VHF_PMD_CNT_drop_no_guest_tso;
	if (ret != 0)
		return -1;

	*did = 0;
	if (plan.todo & (VHF_OFL_DO_IP_CSUM | VHF_OFL_DO_PHDR)) {
		uint8_t l3buf[60];
		uint32_t l3_copy = plan.todo & VHF_OFL_DO_IP_CSUM ? req.l3_len : 40;
		const uint8_t *l3;

		/* IPv4: the addresses are in the first 20 bytes; lib/ checked l3_len. */
		if (plan.l3 == VHF_OFL_L3_IPV4 && !(plan.todo & VHF_OFL_DO_IP_CSUM))
			l3_copy = 20;
		l3 = rte_pktmbuf_read(m, req.l2_len, l3_copy, l3buf);
		if (l3 == NULL)
			return -1;
		if (plan.todo & VHF_OFL_DO_IP_CSUM)
			vhf_mbuf_put16(m, req.l2_len + 10, vhf_ofl_ipv4_csum(l3, req.l3_len));
		if (plan.todo & VHF_OFL_DO_PHDR)
			vhf_mbuf_put16(m, (uint32_t)plan.csum_start + plan.csum_offset,
				       vhf_ofl_phdr(l3, plan.l3, plan.l4_proto,
						    req.pkt_len - plan.csum_start));
	}
	if (plan.todo & VHF_OFL_DO_L4_CSUM) {
		vhf_mbuf_csum_complete(m, plan.csum_start, plan.csum_offset);
		*did |= VHF_TX_DID_SW;
	}
	if (plan.hdr.flags == 0 && plan.hdr.gso_type == VHF_NET_HDR_GSO_NONE)
		return 0;
	*hdr = plan.hdr;
	*did |= VHF_TX_DID_CSUM;
	if (plan.hdr.gso_type != VHF_NET_HDR_GSO_NONE)
		*did |= VHF_TX_DID_GSO;
	return 1;
}

/*
 * Describe an mbuf chain as segs[0, nb_segs). The walk stops at nb_segs, which
 * the caller checked fits in segs[]: a chain that goes on (a nb_segs that
 * wrapped), ends early, or whose data_len do not add up to pkt_len would send
 * lib/ past the array or past the guest buffers reserved for pkt_len.
 * @return false if the chain disagrees with its nb_segs or pkt_len.
 */
static inline bool
vhf_mbuf_to_segs(const struct rte_mbuf *head, struct vhf_seg *segs)
{
	const struct rte_mbuf *m = head;
	uint16_t i, nb = head->nb_segs;
	uint32_t len = 0; /* at most VHF_PMD_BATCH_SEGS x UINT16_MAX: no wrap */

	for (i = 0; i < nb && m != NULL; i++, m = m->next) {
		segs[i].data = rte_pktmbuf_mtod(m, const void *);
		segs[i].len = m->data_len;
		len += m->data_len;
	}
	return i == nb && nb != 0 && m == NULL && len == head->pkt_len;
}

/*
 * Describe up to n mbuf chains as lib/ packets, as long as their segments fit
 * in segs[VHF_PMD_BATCH_SEGS], preparing their offloads. Stops before a
 * packet that cannot be sent: a malformed chain, or an offload request that
 * cannot be served. *nsegs_out: the segments described, equal to the packets
 * described when each is a single mbuf.
 * @return packets described; 0 if the first alone has too many segments, or
 *   cannot be sent (then *drop says why, else it is VHF_TX_DROP_TOO_BIG).
 */
static inline uint16_t
vhf_mbufs_to_pkts(const struct vhf_pmd_queue *q, struct rte_mbuf **mbufs, uint16_t n,
		  struct vhf_to_guest_pkt *pkts, struct vhf_seg *segs, struct vhf_net_hdr *hdrs,
		  uint8_t *did, enum vhf_pmd_counter *drop, uint16_t *nsegs_out)
{
	uint16_t i, nsegs = 0;

	*drop = VHF_TX_DROP_TOO_BIG;
	for (i = 0; i < n; i++) {
		struct rte_mbuf *m = mbufs[i];

		if (m->nb_segs > VHF_PMD_BATCH_SEGS - nsegs)
			break;
		/* First: the offload code below walks the chain by pkt_len. */
		if (unlikely(!vhf_mbuf_to_segs(m, &segs[nsegs]))) {
			*drop = VHF_PMD_CNT_drop_bad_chain;
			break;
		}
		pkts[i].hdr = NULL;
		did[i] = 0;
		if (unlikely(m->ol_flags & VHF_TX_OFL_MASK)) {
			int ret = vhf_to_guest_offload(q, m, &hdrs[i], &did[i], drop);

			if (ret < 0)
				break;
			if (ret > 0)
				pkts[i].hdr = &hdrs[i];
		}
		pkts[i].segs = &segs[nsegs];
		pkts[i].nsegs = m->nb_segs;
		pkts[i].len = m->pkt_len;
		nsegs += m->nb_segs;
	}
	*nsegs_out = nsegs;
	return i;
}

/*
 * Give back the mbufs of packets the guest took. With MBUF_FAST_FREE and
 * single-segment mbufs only, in one mempool put: the application vouched for
 * their pool and reference count, and a single segment is already as the
 * pool keeps it (no next, nb_segs 1).
 */
static inline void
vhf_tx_free_sent(const struct vhf_pmd_queue *q, struct rte_mbuf **mbufs, uint16_t n,
		 bool single_segs)
{
	if (n == 0)
		return;
	if (q->fast_free && single_segs)
		rte_mempool_put_bulk(mbufs[0]->pool, (void **)mbufs, n);
	else
		rte_pktmbuf_free_bulk(mbufs, n);
}

/* ethdev tx: packets for the guest. Never blocks: a short guest ring is a short count. */
uint16_t
vhf_pmd_tx_burst(void *txq, struct rte_mbuf **pkts, uint16_t n)
{
	struct vhf_pmd_queue *q = txq;
	struct vhf_vq *vq = &q->vq;
	struct vhf_to_guest_pkt batch[VHF_PMD_BATCH];
	struct vhf_seg segs[VHF_PMD_BATCH_SEGS];
	struct vhf_net_hdr hdrs[VHF_PMD_BATCH];
	uint8_t did[VHF_PMD_BATCH];
	struct vhf_burst_result res;
	bool call = false;
	uint16_t done = 0, room = 0;

	if (!vhf_queue_enter(q))
		return 0;
	/* A guest still starting would throw away what we deliver: see vhf_pmd_wait.c. */
	if (vhf_start_gate_holds(q)) {
		vhf_queue_leave(q);
		return 0;
	}
	while (done < n) {
		enum vhf_pmd_counter drop;
		uint16_t limit = RTE_MIN(n - done, VHF_PMD_BATCH);
		uint16_t cnt, taken, i, nsegs;

		/*
		 * No more packets prepared than the guest has buffers for (each
		 * takes one at least), as far as one load tells: a full guest ring
		 * costs that load, not the preparation of a burst that cannot go.
		 * Spent, the estimate is read again, so a guest refilling during
		 * the burst is served as before. Never armed here: tx_burst polls
		 * (caller_polls). A broken queue takes the normal path, which
		 * drops and counts (and reads no guest memory).
		 */
		if (likely(!vq->broken)) {
			if (room == 0) {
				room = vhf_vq_published_max(vq);
				if (room == 0)
					break;
			}
			limit = RTE_MIN(limit, room);
		}
		cnt = vhf_mbufs_to_pkts(q, &pkts[done], limit, batch, segs, hdrs, did, &drop,
					&nsegs);

		if (unlikely(cnt == 0)) {
			/*
			 * More segments than we describe at once (no guest could want
			 * it), a malformed chain, or an offload we cannot serve:
			 * dropped, counted.
			 */
			if (drop == VHF_TX_DROP_TOO_BIG)
				vhf_vq_count(vq, VHF_VQ_CNT_drop_too_big);
			else
				vhf_pmd_count(q, drop);
			rte_pktmbuf_free(pkts[done++]);
			continue;
		}
		taken = vhf_net_to_guest_enqueue(vq, batch, cnt, &res);
		room = taken < room ? room - taken : 0;
		call |= res.call;
		/* Counted once taken: a packet left to the caller is prepared again next time. */
		for (i = 0; i < taken; i++) {
			if (likely(did[i] == 0))
				continue;
			if (did[i] & VHF_TX_DID_CSUM)
				vhf_pmd_count(q, VHF_PMD_CNT_csum_offloaded);
			if (did[i] & VHF_TX_DID_GSO)
				vhf_pmd_count(q, VHF_PMD_CNT_gso_offloaded);
			if (did[i] & VHF_TX_DID_SW)
				vhf_pmd_count(q, VHF_PMD_CNT_csum_sw);
		}
		/* Copied into the guest (or dropped and counted): the mbufs are ours to free. */
		vhf_tx_free_sent(q, &pkts[done], taken, nsegs == cnt);
		done += taken;
		/* Short: the caller keeps the rest, and polls or arms (rte_pmd_vhostfix_tx_wait_arm). */
		if (taken < cnt || res.status != VHF_TO_GUEST_DONE)
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
