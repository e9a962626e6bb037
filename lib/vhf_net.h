/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 dpdk-vhostfix authors
 */

#ifndef VHF_NET_H
#define VHF_NET_H

/**
 * @file
 * virtio-net over a vhf_vq: host -> guest (guest RX queue, "enqueue") and
 * guest -> host (guest TX queue, "dequeue"). Packets are plain segment lists so
 * the core needs no mbufs; the PMD turns mbuf chains into segments.
 */

#include "vhf_vq.h"

/**
 * Largest packet (header excluded) either direction carries, and the
 * max_rx_pktlen the PMD advertises: one limit both ways, so that a frame taken
 * from one guest can always be offered to another. A guest's GSO frame fits
 * (Linux keeps a GSO packet, headers included, under 64 KiB).
 */
#define VHF_NET_MAX_PKT_LEN 65535
/** Shortest frame taken from the guest: an Ethernet header. */
#define VHF_NET_MIN_FRAME_LEN 14

/** One contiguous piece of a packet in host memory. */
struct vhf_seg {
	const void *data;
	uint32_t len;
};

/** A packet to deliver to the guest. */
struct vhf_to_guest_pkt {
	const struct vhf_seg *segs;
	uint16_t nsegs;
	uint32_t len;                /**< sum of segs[].len */
	const struct vhf_net_hdr *hdr; /**< offload fields to give the guest; NULL: none */
};

/** How an RX burst ended. */
enum vhf_to_guest_status {
	/** Every packet was taken. */
	VHF_TO_GUEST_DONE = 0,
	/**
	 * The guest's buffers are short for the next packet and the guest RX kick
	 * is armed against what we saw: it is safe to sleep until the kick.
	 */
	VHF_TO_GUEST_WAIT_KICK,
	/**
	 * Short, but the guest kept publishing, or the call's descriptor budget
	 * (VHF_BURST_MAX_DESC) ran out, or the queue's caller polls
	 * (vhf_vq_config.caller_polls) and the kick was left unarmed: poll
	 * again, do not sleep.
	 */
	VHF_TO_GUEST_RETRY,
	/** The queue is broken (guest misbehaved); packets were taken and dropped. */
	VHF_TO_GUEST_BROKEN,
};

/** Result of a burst. */
struct vhf_burst_result {
	enum vhf_to_guest_status status;
	bool call; /**< the guest wants an interrupt: write its call eventfd once */
};

/**
 * Deliver up to n packets into the guest's RX buffers.
 *
 * Packets that can never fit (larger than the whole ring, or than one buffer
 * without MRG_RXBUF, or than the buffers a packet may walk) are taken and
 * counted as drop_too_big. Used entries are published once, at the end, and
 * the interrupt decision is taken after a full barrier. When the guest's
 * buffers are short, the kick is armed (the never-stall rule) unless the queue's
 * caller polls (vhf_vq_config.caller_polls). The call reads at most
 * VHF_BURST_MAX_DESC descriptors; if that ends it, res->status is
 * VHF_TO_GUEST_RETRY (counted in budget_exhausted).
 *
 * @return packets taken (delivered or dropped); the rest stay with the caller,
 *   and res->status says whether it may sleep on the guest's RX kick.
 */
uint16_t vhf_net_to_guest_enqueue(struct vhf_vq *vq, const struct vhf_to_guest_pkt *pkts,
				  uint16_t n, struct vhf_burst_result *res);

/**
 * The never-stall room check on its own: are there guest buffers for
 * need_bytes of packet (header excluded)? If not, the kick is armed and the
 * answer is VHF_TO_GUEST_WAIT_KICK (sleep) or VHF_TO_GUEST_RETRY (poll again): RETRY as
 * well when the call's VHF_BURST_MAX_DESC descriptor reads are spent.
 */
enum vhf_to_guest_status vhf_net_to_guest_has_room(struct vhf_vq *vq, uint32_t need_bytes);

/** A guest TX packet: header and payload segments in guest memory (read them before finish). */
struct vhf_from_guest_pkt {
	struct vhf_net_hdr hdr;
	uint32_t len;   /**< payload bytes, header excluded: what iov[0..niov) hold together */
	uint16_t niov;
	struct vhf_iov iov[VHF_CHAIN_MAX_IOV];
};

/**
 * Take the next packet the guest sent. The chain is consumed: its used entry
 * is staged and published by vhf_net_from_guest_finish() (or, once copied,
 * vhf_net_from_guest_release()), so copy the payload first.
 * Malformed chains break the queue (counted) and end the burst. Chains too
 * short to hold the virtio-net header (err_net_hdr) or, after it, a frame of
 * VHF_NET_MIN_FRAME_LEN bytes (drop_runt_frame) are consumed unread and
 * counted; the search goes on to the next chain.
 *
 * A burst, the calls up to vhf_net_from_guest_finish(), reads at most
 * VHF_BURST_MAX_DESC descriptors and takes at most a ring's worth of chains,
 * whatever the guest publishes meanwhile.
 *
 * @return 1 with *pkt filled; 0 if the guest published nothing more; -EAGAIN
 *   if this burst's budget is spent (counted in budget_exhausted): finish the
 *   burst and poll again; -EIO if the queue is broken.
 */
int vhf_net_from_guest_next(struct vhf_vq *vq, struct vhf_from_guest_pkt *pkt);

/**
 * Between two packets of a TX burst, once the payloads of those taken so far
 * are copied: if their chains hold a quarter of the ring's descriptors or
 * more, publish them used now, without the interrupt decision (the burst's
 * finish takes it for all). A guest whose ring is full of long chains (a
 * 9000-byte frame is six descriptors of a split ring in-order) cannot post
 * the next frame until we give some back, and a burst of such frames takes
 * tens of microseconds to copy: held to the end of the burst, they leave the
 * guest waiting all that time. Chains of one descriptor reach the threshold
 * only after a quarter of a ring's worth of packets (64 on a 256-entry ring:
 * more than the PMD's burst of 32).
 */
void vhf_net_from_guest_release(struct vhf_vq *vq);

/**
 * End a TX burst: publish used entries and decide whether to interrupt (for
 * everything published in the burst, vhf_net_from_guest_release() included).
 * The next burst gets a whole descriptor budget.
 * @return true if the guest's call eventfd must be written.
 */
bool vhf_net_from_guest_finish(struct vhf_vq *vq);

/**
 * Copy len bytes starting skip bytes into an iov list to dst.
 * @return bytes copied (less than len only if the list is shorter).
 */
uint32_t vhf_iov_copy_out(void *dst, const struct vhf_iov *iov, uint16_t niov, uint32_t skip,
			  uint32_t len);

#endif /* VHF_NET_H */
