/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 dpdk-vhostfix authors
 */

#ifndef VHF_GUEST_H
#define VHF_GUEST_H

/**
 * @file
 * The guest model: a userspace virtio driver for one virtqueue, split or
 * packed, with the ring semantics of Linux (drivers/virtio/virtio_ring.c and
 * the RX/TX paths of drivers/net/virtio_net.c), on plain heap memory that it
 * describes as a guest physical address space.
 *
 * Every access to a synchronising word (avail/used idx and flags, used_event,
 * avail_event, packed descriptor flags, packed event suppression areas) goes
 * through vhf_shm.h, so that the race explorer, building this file with
 * VHF_SHM_HOOKS, sees each one as a scheduling point. Set-up
 * (vhf_guest_create, vhf_guest_set_start_index) happens before the rings are
 * shared and uses plain stores: it has no scheduling points.
 *
 * One guest is one queue in one role: the first vhf_guest_rx_add() makes it an
 * RX queue (device writes our buffers), the first vhf_guest_tx_send() a TX
 * queue. Two guests coexist freely; there is no global state.
 *
 * Interrupt suppression follows a NAPI driver: callbacks start enabled,
 * vhf_guest_enable_cb_and_check() arms them naming the next used entry, and
 * the interrupt handler (the caller) calls vhf_guest_disable_cb() before
 * polling. Unlike Linux's virtqueue_get_buf(), receiving or reclaiming does not
 * move used_event / the driver event offset while callbacks are enabled: a
 * caller that keeps them enabled while polling gets no further interrupt until
 * it re-arms.
 */

#include <stdbool.h>
#include <stdint.h>

#include "vhf_mem.h"
#include "vhf_virtio.h"
#include "vhf_vq.h"

/** Default first guest physical address of the model's memory. */
#define VHF_GUEST_GPA_BASE 0x100000
/** Default bytes per posted RX buffer (what Linux mergeable RX posts). */
#define VHF_GUEST_BUF_LEN 1536
/** Default largest TX packet (payload bytes, header excluded). */
#define VHF_GUEST_TX_MAX_LEN 65536
/** Most payload segments one TX packet may be cut into. */
#define VHF_GUEST_MAX_SEGS 64
/** Bytes of guest memory vhf_guest_alloc() can hand out. */
#define VHF_GUEST_EXTRA_LEN (256 * 1024)

struct vhf_guest_config {
	uint16_t size;          /**< queue size; power of 2 for split, <= 32768 */
	bool packed;            /**< VIRTIO_F_RING_PACKED */
	bool event_idx;         /**< VIRTIO_RING_F_EVENT_IDX negotiated */
	bool indirect;          /**< TX: post multi-descriptor packets through an indirect table */
	bool mrg_rxbuf;         /**< RX: mergeable buffers, hdr has num_buffers (hdr_len 12) */
	uint8_t hdr_len;        /**< 10 or 12; 0 -> 12 */
	/**
	 * RX: bytes per posted buffer; 0 -> VHF_GUEST_BUF_LEN. Linux mergeable posts
	 * ~1536; small values force multi-buffer packets.
	 */
	uint32_t buf_len;
	/** RX: descriptors per posted buffer chain (0 -> 1; >1 makes chained RX buffers). */
	uint16_t descs_per_buf;
	/**
	 * Two host allocations, adjacent in GPA but not in host memory. The
	 * boundary lies inside the second RX buffer's first piece and inside a TX
	 * slot (with default sizes the first, ~2.2 KiB into the payload area), the
	 * buffers the free lists hand out first.
	 */
	bool two_regions;
	uint64_t gpa_base;      /**< 0 -> VHF_GUEST_GPA_BASE; must be 64-byte aligned */
	uint32_t tx_max_len;    /**< TX: largest packet payload; 0 -> VHF_GUEST_TX_MAX_LEN */
	/**
	 * VIRTIO_F_IN_ORDER negotiated. Packed: a used descriptor frees every
	 * buffer posted up to the one it names (the device may publish a batch
	 * as one); split rings read one used element per buffer as without it.
	 */
	bool in_order;
	/**
	 * TX: a one-segment packet goes as one descriptor, its header just
	 * before the frame, as Linux and DPDK's virtio driver send when the
	 * packet's headroom takes the header (the common case).
	 */
	bool tx_push_hdr;
	/**
	 * RX: where in a 64-byte line each posted buffer starts (< 64; 0: at a
	 * line's start). 64 - hdr_len lays buffers out as DPDK's virtio driver
	 * does in an mbuf: the header alone at a line's end, the frame from the
	 * next line's start.
	 */
	uint8_t rx_buf_offset;
};

struct vhf_guest;

/** Create a queue and its memory. NULL on bad config or out of memory. */
struct vhf_guest *vhf_guest_create(const struct vhf_guest_config *cfg);
void vhf_guest_destroy(struct vhf_guest *g);

/** The guest's memory table (host_addr is the host pointer as an integer). */
const struct vhf_mem *vhf_guest_mem(const struct vhf_guest *g);

/**
 * Fill the device side's queue configuration: layout, features, net header
 * length, ring host pointers, mem, and the start indexes (split: the start
 * index; packed: position | wrap << 15, 0 | 1 << 15 by default). notify_algo is
 * left as it was.
 */
void vhf_guest_vq_config(const struct vhf_guest *g, struct vhf_vq_config *cfg);

/*
 * RX role: the device writes into our buffers.
 */

/**
 * Post up to n free buffers and publish them with one store (split: avail->idx,
 * release; packed: every slot's flags but the batch's first, then the first's
 * with release). They count in num_added (split: buffers, packed: ring slots)
 * for the next kick decision; no kick.
 *
 * @return buffers posted (0 if the queue is a TX queue or broken).
 */
unsigned int vhf_guest_rx_add(struct vhf_guest *g, unsigned int n);
/** Buffers not posted. */
unsigned int vhf_guest_rx_free(const struct vhf_guest *g);
/** Buffers posted and not yet returned used. */
unsigned int vhf_guest_rx_posted(const struct vhf_guest *g);

/**
 * Take one received packet if the device published one. Copies the payload
 * (after the virtio-net header) into out, at most cap bytes; *len is the full
 * payload length; *hdr (if not NULL) the header, zero-extended to 12 bytes.
 * With mrg_rxbuf it gathers hdr.num_buffers used buffers. Every buffer taken
 * goes back to the free pool, also on errors.
 *
 * @return 1 got one; 0 none pending; -EPROTO bad packet (num_buffers 0 or more
 *   than were used, used length out of bounds): dropped, counted in errors;
 *   -EMSGSIZE payload longer than cap (truncated copy, *len full length);
 *   -EIO the device returned an id we did not post: the queue is broken;
 *   -EINVAL the queue is a TX queue.
 */
int vhf_guest_rx_get(struct vhf_guest *g, void *out, uint32_t cap, uint32_t *len,
		     struct vhf_net_hdr *hdr);

/*
 * TX role: the device reads our buffers.
 */

/**
 * Send one packet: the header (hdr_len bytes of *hdr, zeros if NULL) in one
 * descriptor, the payload in nsegs more, at non-contiguous guest addresses;
 * with cfg.indirect, a packet of more than one descriptor goes through one
 * indirect descriptor (as Linux). nsegs is clamped to [1, len] (a zero-length
 * payload is a header-only packet). Published at once; counts in num_added.
 *
 * @return 0; -ENOSPC not enough free descriptors or TX slots (reclaim first);
 *   -EMSGSIZE len > tx_max_len; -EINVAL nsegs > VHF_GUEST_MAX_SEGS, or an RX
 *   queue; -EIO broken.
 */
int vhf_guest_tx_send(struct vhf_guest *g, const void *pkt, uint32_t len,
		      const struct vhf_net_hdr *hdr, unsigned int nsegs);
/** Take every published used entry back. @return how many (stops at a bad id: broken). */
unsigned int vhf_guest_tx_reclaim(struct vhf_guest *g);
/** Packets sent and not yet reclaimed. */
unsigned int vhf_guest_tx_inflight(const struct vhf_guest *g);

/*
 * Both roles.
 */

/**
 * Linux virtqueue_kick_prepare(): full barrier, then split + EVENT_IDX:
 * vhf_need_event(avail_event, new, new - num_added); split: !(used->flags &
 * NO_NOTIFY); packed: the device event area (DISABLE: no, ENABLE: yes, DESC:
 * the event offset, moved into our lap, against [old, new)). Resets num_added.
 *
 * @return true if the device must be kicked (counted in kicks).
 */
bool vhf_guest_kick_prepare(struct vhf_guest *g);

/** Is there a used entry we have not consumed? One acquire load. */
bool vhf_guest_used_pending(struct vhf_guest *g);

/**
 * Linux virtqueue_enable_cb_prepare() + virtqueue_poll(): split + EVENT_IDX:
 * used_event = next used index; split: clear NO_INTERRUPT; packed: driver
 * event off_wrap = next used position | wrap << 15 (EVENT_IDX) and flags DESC
 * (EVENT_IDX) or ENABLE, flags written last with release. Then a full barrier
 * and one look at the used ring.
 *
 * @return true if a used entry is already pending: the caller must call
 *   vhf_guest_disable_cb() and poll again instead of sleeping.
 */
bool vhf_guest_enable_cb_and_check(struct vhf_guest *g);

/** Split: set NO_INTERRUPT; split + EVENT_IDX: nothing to write; packed: DISABLE (as Linux). */
void vhf_guest_disable_cb(struct vhf_guest *g);

struct vhf_guest_stats {
	uint64_t kicks;       /**< kick_prepare returned true */
	uint64_t kick_checks; /**< kick_prepare calls */
	uint64_t posted;      /**< RX buffers posted / TX packets sent */
	uint64_t received;    /**< RX packets received / TX packets reclaimed */
	uint64_t bufs_used;   /**< used entries consumed */
	uint64_t errors;      /**< protocol errors seen (bad packets, bad ids) */
};
void vhf_guest_stats(const struct vhf_guest *g, struct vhf_guest_stats *st);

/** True once the device returned something we never posted. */
bool vhf_guest_broken(const struct vhf_guest *g);

/*
 * Raw access, for tests that play a hostile guest or a hand-made device.
 */

struct vhf_vring_desc *vhf_guest_split_desc(struct vhf_guest *g);
struct vhf_vring_avail *vhf_guest_split_avail(struct vhf_guest *g);
struct vhf_vring_used *vhf_guest_split_used(struct vhf_guest *g);
struct vhf_vring_packed_desc *vhf_guest_packed_desc(struct vhf_guest *g);
struct vhf_vring_packed_event *vhf_guest_packed_driver_event(struct vhf_guest *g);
struct vhf_vring_packed_event *vhf_guest_packed_device_event(struct vhf_guest *g);

/** Host pointer of [gpa, gpa + len); NULL if not wholly inside one region. */
void *vhf_guest_gpa_to_host(struct vhf_guest *g, uint64_t gpa, uint64_t len);
/** Carve len bytes (zeroed, inside one region) aligned to align (a power of 2). 0 on failure. */
uint64_t vhf_guest_alloc(struct vhf_guest *g, uint64_t len, uint64_t align);

/**
 * Start the ring at an index, before anything is posted, to exercise 16-bit
 * index wrap (split) or the ring end (packed). Split: avail->idx = used->idx =
 * start, and used_event = avail_event = start as on a fresh ring. Packed:
 * start is position | wrap << 15 (position < size); slots before the position
 * look used in the current lap and the rest in the previous one, as a ring
 * that really went round. vhf_guest_vq_config then reports start.
 *
 * @return 0; -EINVAL bad position; -EBUSY something was already posted.
 */
int vhf_guest_set_start_index(struct vhf_guest *g, uint16_t start);

#endif /* VHF_GUEST_H */
