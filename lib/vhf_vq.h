/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 dpdk-vhostfix authors
 */

#ifndef VHF_VQ_H
#define VHF_VQ_H

/**
 * @file
 * Device side of one virtqueue, split or packed: reading what the driver
 * published, walking descriptor chains with every bound checked, publishing
 * used buffers, and the notification protocol that lets a device sleep without
 * losing a wake-up.
 *
 * The protocol, for a device that wants "enough" of something (bytes of guest
 * RX buffers, or any TX chain):
 *
 *  1. look at what the driver published; remember the index the decision was
 *     based on (the opaque "avail mark": split avail->idx, or packed position
 *     and wrap counter of the first slot found not available);
 *  2. enough: disable driver->device notifications and go on;
 *  3. not enough: enable notifications naming that mark, full barrier, and look
 *     whether the driver published past the mark. If it did, go back to 1: its
 *     kick decision may have been taken against our old notification state, so
 *     no kick is coming. If it did not, any later publication will kick.
 *
 * The hot-path helpers are static inline; nothing here calls the EAL.
 */

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "vhf_copy.h"
#include "vhf_mem.h"
#include "vhf_shm.h"
#include "vhf_virtio.h"

#ifndef likely
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#endif

/*
 * Off the hot path's instruction stream: the uncommon cases' long code, called.
 * For a header's static function (not inline: the two attributes conflict),
 * which some files never call.
 */
#define VHF_NOINLINE __attribute__((noinline, unused))

/*
 * Into the caller even where the compiler would not: a hot path's small step
 * called from more than one place, whose call and register saves would cost
 * as much as its body.
 */
#define VHF_ALWAYS_INLINE inline __attribute__((always_inline))

/** Host segments one descriptor chain (or one packet's worth of chains) may map to. */
#define VHF_CHAIN_MAX_IOV 256
/**
 * Descriptors one chain may hold, indirect table entries and zero-length ones
 * included: as many as its segments. The spec bounds a chain by the queue
 * size too, and an indirect table is never longer than the ring (as DPDK's
 * vhost refuses): a guest cannot make us walk more than either for a buffer.
 */
#define VHF_CHAIN_MAX_DESC VHF_CHAIN_MAX_IOV
/**
 * Descriptors (ring and indirect entries) one device call may read: an RX call
 * (enqueue, room check, avail space), or a TX burst, the vhf_net_from_guest_next()
 * calls up to vhf_net_from_guest_finish(). Past it the call stops and tells its
 * caller to poll again. 32 packets of 64 KiB in 1536-byte buffers read ~1400.
 */
#define VHF_BURST_MAX_DESC 4096
/** Rechecks the has-room loop makes before telling the caller to poll again. */
#define VHF_MAX_RECHECKS 64

/*
 * Test builds: the unit tests (VHF_TEST_HOOKS), the race explorer and the
 * fuzzers (VHF_SHM_HOOKS). Only they carry the mutations of the protocol that
 * the tests must catch; a production build has none of their code.
 */
#if defined(VHF_TEST_HOOKS) || defined(VHF_SHM_HOOKS)
#define VHF_TEST_BUILD 1
#endif

/** How the device decides it may sleep on a short RX queue. */
enum vhf_notify_algo {
	/** Enable naming the decision's avail mark, full barrier, recheck against the mark. */
	VHF_NOTIFY_FIXED = 0,
	/** QEMU before the fix: enable, check room once more, give up. Stalls. */
	VHF_NOTIFY_LEGACY,
#ifdef VHF_TEST_BUILD
	/**
	 * Test builds only: the recheck compares avail with the consumed index
	 * instead of the mark (Linux vhost's livelock). Livelocks.
	 */
	VHF_NOTIFY_CONSUMED_IDX,
	VHF_NOTIFY_ALGO_LAST = VHF_NOTIFY_CONSUMED_IDX, /**< the last one this build knows */
#else
	VHF_NOTIFY_ALGO_LAST = VHF_NOTIFY_LEGACY, /**< the last one this build knows */
#endif
};

/**
 * Per-queue counters, by reason. X(name, "xstat-name").
 * Errors that break the queue are counted once, when they happen.
 * Only what lib/ sees of the rings is counted here: a caller keeps its own
 * counters for the rest (the PMD: mbufs, offload mapping, kicks it drained,
 * sleeps that ended on an event). drop_too_big is also the caller's to bump
 * for a packet it cannot hand to vhf_net_to_guest_enqueue() at all.
 */
#define VHF_VQ_COUNTERS(X)                                                                         \
	X(packets, "packets")                                                                      \
	X(bytes, "bytes")                                                                          \
	X(bufs, "guest_buffers")                                                                   \
	X(calls, "calls_needed")                                                                   \
	X(call_suppressed, "calls_suppressed")                                                     \
	X(notify_enable, "notify_enables")                                                         \
	X(kick_waits, "kick_waits")                                                                \
	X(recheck_retry, "recheck_retries")                                                        \
	X(recheck_cap, "recheck_cap_hits")                                                         \
	X(drop_too_big, "drop_too_big")                                                            \
	X(drop_broken, "drop_queue_broken")                                                        \
	X(err_desc_index, "err_desc_index")                                                        \
	X(err_desc_flags, "err_desc_flags")                                                        \
	X(err_desc_loop, "err_desc_loop")                                                          \
	X(err_desc_len, "err_desc_len")                                                            \
	X(err_desc_addr, "err_desc_addr")                                                          \
	X(err_desc_iov, "err_desc_too_many_segments")                                              \
	X(err_avail_idx, "err_avail_idx")                                                          \
	X(err_hdr, "err_net_hdr")                                                                  \
	X(drop_runt, "drop_runt_frame")                                                            \
	X(err_desc_chain, "err_desc_chain_too_long")                                               \
	X(err_to_guest_buf_short, "err_rx_buffer_too_short")                                       \
	X(budget_exhausted, "budget_exhausted")                                                    \
	X(descs_read, "descriptors_read")

enum vhf_vq_counter {
#define VHF_X_ENUM(name, str) VHF_VQ_CNT_##name,
	VHF_VQ_COUNTERS(VHF_X_ENUM)
#undef VHF_X_ENUM
	VHF_VQ_CNT_MAX
};

/** xstat-style names of the counters, indexed by enum vhf_vq_counter. */
extern const char *const vhf_vq_counter_names[VHF_VQ_CNT_MAX];

/**
 * Dirty logging for live migration: called with each guest-physical range the
 * device has just written (see struct vhf_vq_config.log).
 */
typedef void (*vhf_vq_log_fn)(void *ctx, uint64_t gpa, uint64_t len);

/** Everything the device needs to know about one virtqueue. */
struct vhf_vq_config {
	uint16_t size;       /**< entries; power of two for split */
	bool packed;         /**< VIRTIO_F_RING_PACKED */
	bool event_idx;      /**< VIRTIO_RING_F_EVENT_IDX */
	bool indirect;       /**< VIRTIO_RING_F_INDIRECT_DESC */
	bool mrg_rxbuf;      /**< VIRTIO_NET_F_MRG_RXBUF (RX queues) */
	uint8_t net_hdr_len; /**< 10 or 12 (12 with MRG_RXBUF or VERSION_1) */
	/**
	 * TX queues: no offload negotiated that a packet's virtio-net header
	 * could ask for (vhf_ofl_tx_hdr_meaningful() false). The driver must then
	 * send zeroes, and nothing in the header is ours to act on: it is skipped
	 * unread and handed out as zeroes. A DPDK guest pushes it into the mbuf's
	 * headroom, alone on the line before the frame's: that line is then no
	 * longer pulled from the guest's core to ours for every packet.
	 */
	bool tx_hdr_unread;
	enum vhf_notify_algo notify_algo;
	/**
	 * RX queues: the caller of vhf_net_to_guest_enqueue() never sleeps on its
	 * result (a poll-mode driver). A short enqueue then answers
	 * VHF_TO_GUEST_RETRY and leaves the guest's kicks as they are instead of
	 * arming them: an armed kick nobody waits for costs the guest a
	 * notification (a system call for a userspace driver) on its next refill.
	 * Such a caller arms with vhf_net_to_guest_has_room() before it sleeps.
	 */
	bool caller_polls;
	/**
	 * VIRTIO_F_IN_ORDER negotiated. On a packed ring, the buffers the device
	 * only reads (a TX queue's, used with length 0) are then published one
	 * used descriptor per burst, naming the burst's last buffer: the spec
	 * lets an in-order device write a batch that way, and the driver frees
	 * every buffer up to the one named. It reads one descriptor per burst
	 * instead of one per packet, and we write one. Buffers the device writes
	 * keep a used descriptor each (the driver needs every length), as does
	 * a split ring.
	 */
	bool in_order;
	/**
	 * Dirty logging, NULL for none: every write the device makes into guest
	 * memory (packet bytes and headers, used entries and the used index or
	 * used descriptors, the notification fields) is reported through log
	 * once it is made, as guest-physical ranges, so that a migration's last
	 * copy of a page comes after our last write to it. No cost but a test
	 * of this pointer when NULL. Change it between bursts (vhf_vq_set_log()).
	 */
	vhf_vq_log_fn log;
	void *log_ctx;

	/* Split layout, host addresses. */
	struct vhf_vring_desc *desc;
	struct vhf_vring_avail *avail;
	struct vhf_vring_used *used;

	/* Packed layout, host addresses. */
	struct vhf_vring_packed_desc *desc_packed;
	struct vhf_vring_packed_event *driver_event; /**< written by the driver */
	struct vhf_vring_packed_event *device_event; /**< written by us */

	/**
	 * Where to resume, as vhost-user's GET/SET_VRING_BASE express it: split,
	 * free-running indexes; packed, position | wrap counter << 15.
	 */
	uint16_t last_avail;
	uint16_t last_used;

	const struct vhf_mem *mem; /**< guest memory; must outlive the queue's use */
};

/** One guest buffer (descriptor chain) taken from the ring. */
struct vhf_buf {
	uint16_t id;      /**< split: head index; packed: buffer id */
	uint16_t ndesc;   /**< ring slots it took (packed); 1 for split */
	/**
	 * Descriptors of the ring's own table it holds until it is used: packed,
	 * ndesc; split, the chain's descriptors outside an indirect table.
	 */
	uint16_t ring_desc;
	uint32_t len;     /**< bytes the chain describes */
	uint16_t iov_first;
	uint16_t niov;
};

/** Used entries staged before they are written to the ring (vhf_vq_used_add()). */
#define VHF_USED_SHADOW 64

/**
 * Packed descriptors in one 64-byte cache line: the unit vhf_packed_fetch_line()
 * takes, and the number of split avail entries vhf_split_fetch_four() takes.
 */
#define VHF_PACKED_LINE 4

/*
 * Before a loop over the four chains of a line: unrolled whole. Left to
 * itself the compiler keeps these loops rolled, with a counter and the line's
 * arrays (lengths, buffer records, segments) indexed through it; unrolled,
 * the indexes are constants and the four bodies are scheduled together.
 * Packed guest RX 64 B went from 257 to 210 instructions a packet
 * (test/guest/vhf-instr.sh) and from 0.92 to 0.83 of net_vhost's host cycles
 * (doc/bench-2026-12-06c.md). The count is a literal: _Pragma takes no macro.
 * Left rolled: vhf_split_fetch_four(), where unrolled saves 13-19
 * instructions a packet but no cycles (doc/bench-2026-12-06d.md): what that
 * path waits on is not its instructions. And the TX line's lengths, which
 * gained nothing.
 */
#define VHF_FOR_EACH_IN_LINE _Pragma("GCC unroll 4")
_Static_assert(VHF_PACKED_LINE == 4, "VHF_FOR_EACH_IN_LINE unrolls four");

/**
 * TX: lines of four lone chains taken and not yet handed out, at most: the one
 * being handed out and the next (vhf_net.c, vhf_from_guest_line_next()).
 */
#define VHF_TX_LINES 2

/** One staged used entry. */
struct vhf_used_shadow {
	uint16_t id;
	uint16_t ndesc; /**< packed: slots the buffer took */
	uint32_t len;
};

/** Device-side state of one virtqueue. One thread at a time uses it. */
struct vhf_vq {
	/* Read-mostly. */
	uint16_t size;
	uint16_t mask; /**< size - 1, split only */
	bool packed;
	bool event_idx;
	bool indirect;
	bool mrg_rxbuf;
	uint8_t net_hdr_len;
	bool tx_hdr_unread; /**< see struct vhf_vq_config */
	enum vhf_notify_algo notify_algo;
	bool caller_polls; /**< see struct vhf_vq_config */
	bool used_in_order_batch; /**< packed + in_order: see vhf_vq_used_add_read() */
	vhf_vq_log_fn log; /**< see struct vhf_vq_config */
	void *log_ctx;
	const struct vhf_mem *mem;
	uint32_t mem_hint;

	struct vhf_vring_desc *desc;
	struct vhf_vring_avail *avail;
	struct vhf_vring_used *used;
	struct vhf_vring_packed_desc *desc_packed;
	struct vhf_vring_packed_event *driver_event;
	struct vhf_vring_packed_event *device_event;

	/* Consumer side. Split: free-running; packed: slot position + wrap. */
	uint16_t last_avail;
	bool avail_wrap;
	uint16_t shadow_avail;    /**< split: last avail->idx read */
	uint16_t next_avail;      /**< reservation cursor inside a burst */
	bool next_avail_wrap;

	/* Producer side (used). */
	uint16_t last_used;       /**< split: free-running used idx; packed: position */
	bool used_wrap;
	uint16_t used_pending;    /**< entries staged (shadow or ring) but not yet published */
	uint16_t used_pending_desc; /**< TX: ring descriptors those entries hold (vhf_buf.ring_desc) */
	uint16_t shadow_used_n;   /**< of which still in shadow_used[] */
	uint16_t pending_first;   /**< packed: slot whose flags publish the batch */
	uint16_t pending_first_flags;
	uint16_t pending_first_id; /**< packed: what that slot gets at flush, flags last */
	uint32_t pending_first_len;
	uint16_t signalled_used;  /**< used position at the last call decision */
	bool call_undecided;      /**< used entries published since the last call decision */
	bool signalled_used_valid;

	uint32_t desc_budget;     /**< descriptor reads left: this RX call, or this TX burst */

	/*
	 * TX: lone chains taken four at once (a packed ring line, four split
	 * avail entries), handed out one per vhf_net_from_guest_next() of the
	 * same burst: the line being handed out and, taken as its first chain
	 * goes, the line after it (two lines' room, used in turn). last_avail
	 * passes each chain as it is handed out; the burst's end forgets the
	 * rest, which stay in the ring for the next burst to take again.
	 */
	uint8_t line_left; /**< chains taken, not handed out yet: from line_pos on */
	uint8_t line_pos;  /**< line_buf[] index of the next one */
	struct vhf_buf line_buf[VHF_TX_LINES * VHF_PACKED_LINE];
	struct vhf_iov line_iov[VHF_TX_LINES * VHF_PACKED_LINE];

	bool notify_enabled;      /**< driver->device kicks currently enabled by us */
	bool broken;              /**< sticky until re-initialised: the driver misbehaved */
	int16_t broken_reason;    /**< enum vhf_vq_counter that broke it */

	uint64_t cnt[VHF_VQ_CNT_MAX];

	struct vhf_used_shadow shadow_used[VHF_USED_SHADOW];
};

/**
 * Set up a queue from its configuration. Validates the layout (size, pointers,
 * header length) and the resume indexes.
 *
 * @return 0 or -EINVAL.
 */
int vhf_vq_init(struct vhf_vq *vq, const struct vhf_vq_config *cfg);

/**
 * Where the queue stands, in vhost-user's GET_VRING_BASE encoding; call it with
 * nothing pending (after a burst).
 */
void vhf_vq_get_base(const struct vhf_vq *vq, uint16_t *last_avail, uint16_t *last_used);

/** Switch dirty logging on (fn) or off (NULL), between bursts. */
static inline void
vhf_vq_set_log(struct vhf_vq *vq, vhf_vq_log_fn fn, void *ctx)
{
	vq->log = fn;
	vq->log_ctx = ctx;
}

/**
 * Report host range [p, p + len), which the device has just written, to the
 * log as guest-physical ranges (the memory table maps them back). Out of line:
 * only a migrating queue gets here.
 */
void vhf_vq_log_slow(const struct vhf_vq *vq, const void *p, uint64_t len);

/**
 * Print where the queue stands, our side and the driver's (its indexes and
 * flags as they read in guest memory now), one line, for a stall's post-mortem:
 * did the driver publish what we did not see? A broken queue's guest memory is
 * not read. Call it from the thread that runs the queue's bursts, or accept
 * a torn view of our side.
 */
void vhf_vq_dump(const struct vhf_vq *vq, FILE *f);

#include "vhf_vq_ring.h"

#endif /* VHF_VQ_H */
