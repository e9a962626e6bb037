/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 dpdk-vhostfix authors
 */

#ifndef VHF_PMD_H
#define VHF_PMD_H

/**
 * @file
 * Internals of the net_vhostfix PMD, shared by its control path
 * (vhf_pmd_ctrl.c: vhost-user events from librte_vhost), its ethdev ops
 * (vhf_pmd_ethdev.c) and its burst functions (vhf_pmd_rxtx.c).
 *
 * Ownership: librte_vhost owns the socket, guest memory mappings and ring
 * addresses; the datapath (lib/) only ever sees them through a vhf_vq that the
 * control path attaches while they are valid and detaches, waiting for the
 * lcore to leave, before librte_vhost may change or unmap them.
 */

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <rte_common.h>
#include <rte_ethdev.h>
#include <rte_log.h>
#include <rte_mempool.h>

#include "vhf_guard.h"
#include "vhf_net.h"

/** vhf_pmd_queue.announce: a RARP is pending; the MAC is in the low 48 bits. */
#define VHF_ANNOUNCE_PENDING (UINT64_C(1) << 48)

/** Queue pairs one port may have (vhost-user's VHOST_MAX_QUEUE_PAIRS is 128; keep it small). */
#define VHF_PMD_MAX_QUEUES 16
/** Packets handed to lib/ per enqueue call (the caller's burst is cut into these). */
#define VHF_PMD_BATCH 32
/** Packet segments one enqueue batch may carry. */
#define VHF_PMD_BATCH_SEGS 256
/**
 * Longest frame either way: dev_info's max_rx_pktlen, and lib/'s limit for a
 * packet to a guest. A frame from a guest that is longer is dropped before
 * any mbuf is filled for it (drop_frame_too_long).
 */
#define VHF_MAX_RX_PKTLEN VHF_NET_MAX_PKT_LEN

extern int vhf_logtype;
extern int vhf_logtype_ctrl;
extern int vhf_logtype_rx;
extern int vhf_logtype_tx;
#define VHF_LOG(level, fmt, ...)                                                                   \
	rte_log(RTE_LOG_##level, vhf_logtype, "net_vhostfix: " fmt "\n", ##__VA_ARGS__)
/*
 * A cold function whose branches follow the clock, not the guest (a log's rate
 * limit): kept out of line, and out of a fuzzer's coverage and compare tracing
 * (clang's sanitizer coverage; production builds have none), where its
 * timestamps would teach the fuzzer the time and make runs with one seed try
 * different inputs (test/fuzz/run_smoke.sh).
 */
#if defined(__clang__) && __clang_major__ >= 13
#define VHF_CLOCK_DRIVEN __attribute__((noinline, cold, no_sanitize("coverage")))
#else
#define VHF_CLOCK_DRIVEN __attribute__((noinline, cold))
#endif

/** Log on one of the sub-types pmd.net.vhostfix.{ctrl,rx,tx}; never from a burst. */
#define VHF_LOG_T(type, level, fmt, ...)                                                           \
	rte_log(RTE_LOG_##level, vhf_logtype_##type, "net_vhostfix: " fmt "\n", ##__VA_ARGS__)

/*
 * The PMD's own per-queue counters, by reason: X(name, "xstat-name", after).
 * lib/ counts what it sees of the rings (enum vhf_vq_counter); these count what
 * only the PMD sees: mbufs, offload mapping, sleeps on the kick fd, the start
 * gate. after: the lib/ counter this one follows in a queue's xstats, which
 * keep the order they had when these sat at the end of lib/'s table (all but
 * drop_no_mbuf, which sat after drop_queue_broken).
 *  - drop_no_mbuf: the mempool ran dry (also ethdev's rx_nombuf);
 *  - guest_kicks, wakeups: kicks drained from the kick eventfd, sleeps that
 *    ended on an event (vhf_pmd_wait.c);
 *  - csum_*, gso_*, drop_bad_offload, drop_tso_no_guest_tso: the offload
 *    mapping of vhf_pmd_rxtx.c;
 *  - start_gate_*: how the start gate of a fresh guest RX ring opened;
 *  - drop_frame_too_long, drop_bad_mbuf_chain: bounds of vhf_pmd_rxtx.c;
 *  - announce_rarp: RARP frames delivered on rx queue 0 on the guest's behalf
 *    (VHOST_USER_SEND_RARP, after a live migration).
 */
#define VHF_PMD_COUNTERS(X)                                                                        \
	X(drop_no_mbuf, "drop_no_mbuf", drop_broken)                                               \
	X(guest_kicks, "guest_kicks", descs_read)                                                  \
	X(wakeups, "wakeups", descs_read)                                                          \
	X(csum_offloaded, "csum_offloaded", descs_read)                                            \
	X(gso_offloaded, "gso_offloaded", descs_read)                                              \
	X(csum_sw, "csum_sw_completed", descs_read)                                                \
	X(drop_bad_offload, "drop_bad_offload", descs_read)                                        \
	X(drop_no_guest_tso, "drop_tso_no_guest_tso", descs_read)                                  \
	X(start_gate_kick, "start_gate_kick", descs_read)                                          \
	X(start_gate_timeout, "start_gate_timeouts", descs_read)                                   \
	X(drop_too_long, "drop_frame_too_long", descs_read)                                        \
	X(drop_bad_chain, "drop_bad_mbuf_chain", descs_read)                                       \
	X(announce_rarp, "announce_rarp", descs_read)

enum vhf_pmd_counter {
#define VHF_X_ENUM(name, str, after) VHF_PMD_CNT_##name,
	VHF_PMD_COUNTERS(VHF_X_ENUM)
#undef VHF_X_ENUM
	VHF_PMD_CNT_MAX
};

/** xstat names of the PMD's counters, indexed by enum vhf_pmd_counter. */
extern const char *const vhf_pmd_counter_names[VHF_PMD_CNT_MAX];

/** Counters of one queue in its xstats: lib/'s and the PMD's. */
#define VHF_QUEUE_XSTATS (VHF_VQ_CNT_MAX + VHF_PMD_CNT_MAX)

struct vhf_port;

/* CLOCK_MONOTONIC in ns: the start gate's clock, the one its timer runs on. */
static inline uint64_t
vhf_monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/*
 * The start gate of a guest RX queue (vhf_pmd_wait.c): a fresh ring is held
 * back until the driver's first kick on it. Written by the control path while
 * the queue is detached, then the lcore's while attached.
 */
struct vhf_start_gate {
	bool closed;       /**< nothing is delivered until the first kick, or deadline */
	bool opened;       /**< it opened in this device life: never closes again in it */
	uint64_t deadline_ns; /**< CLOCK_MONOTONIC */
};

/**
 * One direction of one queue pair: an ethdev rx queue serves the guest's TX
 * virtqueue (vring 2q+1), an ethdev tx queue the guest's RX virtqueue (vring 2q).
 */
struct vhf_pmd_queue {
	/*
	 * The lcore/control handshake (lib/vhf_guard.h): open while the vq,
	 * callfd and guest memory are valid ("attached"); the control path closes
	 * it, then waits for the lcore's burst inside, if any, to leave.
	 */
	struct vhf_guard guard;
	/*
	 * rx queue 0: a RARP announcing the guest to deliver, asked for by the
	 * front-end (VHOST_USER_SEND_RARP, vhf_pmd_ctrl.c), 0 if none. One word
	 * holds VHF_ANNOUNCE_PENDING and the MAC, so that the lcore never reads
	 * the MAC of one request with the flag of another. Written by the
	 * control path, taken (exchanged to 0) by the lcore in rx_burst; beside
	 * the guard, which every burst reads anyway.
	 */
	uint64_t announce;

	struct vhf_vq vq;
	int callfd;                /**< guest interrupt eventfd, -1 if none */
	int kickfd;                /**< guest notification eventfd, -1 if none */
	/*
	 * What an application sleeps on, stable for the port's life whatever the
	 * guest's kick fd of the moment: an epoll instance holding the current
	 * kickfd (added at attach, removed at detach) and wake_fd, an eventfd of
	 * ours that the arming code writes when it finds work pending, so that a
	 * sleep about to start ends at once instead of missing that work.
	 */
	int wait_epfd;
	int wake_fd;
	/*
	 * Also in wait_epfd: a timer that expires at the start gate's deadline
	 * once a sleep is armed on a gate still closed, so that the sleep ends
	 * when the gate opens whichever way it does (the driver's kick, or the
	 * deadline for a driver that never kicks).
	 */
	int gate_timer_fd;
	bool gate_timer_set;       /**< armed and not yet drained; lcore only */
	bool broken_logged;        /**< the guest's misbehaviour was logged in this queue life */
	bool armed;                /**< the last arm said "safe to sleep"; lcore only */
	struct vhf_start_gate start_gate; /**< guest RX queues */
	/*
	 * Offloads. features: negotiated, written at attach before attached is
	 * published. rx queues: whether the application takes partial L4
	 * checksums (RX_L4_CKSUM_NONE) or wants them completed here.
	 */
	uint64_t features;
	bool rx_csum_offload;
	/*
	 * rx queues, set at setup from the mempool: what a fresh mbuf gets in
	 * place of rte_pktmbuf_reset() (vhf_rx_mbuf_rearm()): the word of
	 * data_off, refcnt, nb_segs and port, and ol_flags; and the data room
	 * after the headroom, the same in every mbuf of the pool.
	 */
	uint64_t rx_rearm;
	uint64_t rx_ol_flags;
	uint32_t rx_room;
	/*
	 * tx queues: RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE asked for: the application
	 * vouches that every mbuf it sends here comes from one mempool with a
	 * reference count of 1, so a burst of one-segment mbufs goes back to the
	 * pool in one put, without rte_pktmbuf_free_bulk()'s checks of each.
	 */
	bool fast_free;
	bool from_guest;                /**< guest TX virtqueue (an ethdev rx queue) */
	uint16_t qid;              /**< ethdev queue index */
	uint16_t vring;            /**< vhost-user vring index */
	uint16_t port_id;
	struct vhf_port *port;
	struct rte_mempool *mb_pool; /**< rx queues: where packets from the guest go */

	/*
	 * lib/'s counters, across queue lives: vq->cnt[] restarts at every attach,
	 * so a detach folds it into cnt_saved; stats are saved + live - reset.
	 */
	uint64_t cnt_saved[VHF_VQ_CNT_MAX];
	uint64_t cnt_reset[VHF_VQ_CNT_MAX];
	/*
	 * Odd while a detach moves vq->cnt into cnt_saved: between its
	 * attached = 0 and the fold, saved + live would read as the saved part
	 * alone (a counter going back, even to 0). Readers retry across it.
	 */
	uint32_t cnt_gen;
	/*
	 * The PMD's counters: in the queue, not in the vq, so they live as long
	 * as the port and need no fold at detach. Written by the lcore inside
	 * vhf_queue_enter()/leave(); stats are pmd_cnt - pmd_cnt_reset.
	 */
	uint64_t pmd_cnt[VHF_PMD_CNT_MAX];
	uint64_t pmd_cnt_reset[VHF_PMD_CNT_MAX];

	/** Scratch for one guest TX packet (large: kept off the lcore's stack). */
	struct vhf_from_guest_pkt tx_pkt;
} __rte_cache_aligned;

/** Devargs, as parsed at probe. */
struct vhf_port_args {
	char *iface;
	uint16_t queues;
	bool client;
	bool packed;
	bool mrg_rxbuf;
	bool event_idx;
	bool in_order;
	bool csum;  /**< offer VIRTIO_NET_F_CSUM + GUEST_CSUM */
	bool tso;   /**< offer HOST_TSO4/6 + GUEST_TSO4/6 (needs csum) */
	bool mac_set;                /**< mac= given: mac, else a random one */
	struct rte_ether_addr mac;
	enum vhf_notify_algo notify;
};

/** dev_private of a net_vhostfix port. */
struct vhf_port {
	struct vhf_port_args args;
	uint16_t port_id;
	struct rte_eth_dev *eth_dev;
	bool vhost_registered;

	/* Control state; lock held by the vhost-user callbacks and by close. */
	pthread_mutex_t lock;
	int vid;                   /**< connected vhost device, -1 if none */
	bool running;              /**< between new_device and destroy_device */
	bool reattach;             /**< queues were detached for a message; reattach after it */
	uint64_t features;         /**< negotiated */
	bool vring_enabled[2 * VHF_PMD_MAX_QUEUES];
	struct vhf_mem mem;        /**< guest memory, as librte_vhost mapped it */
	uint64_t broken_log_tsc;   /**< last "guest misbehaved" log, for rate limiting */

	/** rx interrupts: efds[q] = rxq[q].wait_epfd, for rte_eth_dev_rx_intr_ctl_q() */
	struct rte_intr_handle *intr_handle;

	struct vhf_pmd_queue *rxq; /**< args.queues entries */
	struct vhf_pmd_queue *txq;
};

/* vhf_pmd_ctrl.c */
int vhf_ctrl_register(struct vhf_port *port);
void vhf_ctrl_unregister(struct vhf_port *port);

/* vhf_pmd_wait.c */
int vhf_wait_init(struct vhf_pmd_queue *q);
void vhf_wait_fini(struct vhf_pmd_queue *q);
void vhf_wait_attach(struct vhf_pmd_queue *q);
void vhf_wait_detach(struct vhf_pmd_queue *q);
int vhf_intr_setup(struct vhf_port *port);
void vhf_intr_free(struct vhf_port *port);
int vhf_rx_queue_intr_enable(struct rte_eth_dev *dev, uint16_t qid);
int vhf_rx_queue_intr_disable(struct rte_eth_dev *dev, uint16_t qid);
void vhf_start_gate_reset(struct vhf_pmd_queue *q);
void vhf_start_gate_arm(struct vhf_pmd_queue *q);
bool vhf_start_gate_open(struct vhf_pmd_queue *q);
int vhf_txq_wait_arm(struct vhf_pmd_queue *q, uint32_t need_bytes);

/* vhf_pmd_ethdev.c: a queue's counters in xstats order (names and/or values may be NULL). */
void vhf_queue_xstats(const struct vhf_pmd_queue *q, const char **names, uint64_t *values);

/* vhf_pmd_rxtx.c */
/** At rx queue setup: the template of the queue's fresh mbufs, from its pool. */
void vhf_rx_queue_set_rearm(struct vhf_pmd_queue *q, struct rte_mempool *mb_pool);
uint16_t vhf_pmd_rx_burst(void *rxq, struct rte_mbuf **pkts, uint16_t n);
uint16_t vhf_pmd_tx_burst(void *txq, struct rte_mbuf **pkts, uint16_t n);

/** Current lib/ counter c of a queue, across queue lives, since the last reset. */
static inline uint64_t
vhf_queue_counter(const struct vhf_pmd_queue *q, enum vhf_vq_counter c)
{
	uint64_t v;
	uint32_t gen;

	do {
		/* Pairs with the release stores of cnt_gen around the fold in vhf_queue_detach(). */
		gen = __atomic_load_n(&q->cnt_gen, __ATOMIC_ACQUIRE);
		/* The lcore may be updating the live counter: a torn view is one burst old at most. */
		v = q->cnt_saved[c] - q->cnt_reset[c] +
		    (vhf_guard_is_open(&q->guard) ? q->vq.cnt[c] : 0);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
	} while ((gen & 1) || gen != __atomic_load_n(&q->cnt_gen, __ATOMIC_RELAXED));
	return v;
}

/** Current PMD counter c of a queue, since the last reset. */
static inline uint64_t
vhf_queue_pmd_counter(const struct vhf_pmd_queue *q, enum vhf_pmd_counter c)
{
	/* The lcore may be updating it: a torn view is one burst old at most. */
	return q->pmd_cnt[c] - q->pmd_cnt_reset[c];
}

/** Count one event of the PMD's on a queue the lcore has entered. */
static __rte_always_inline void
vhf_pmd_count(struct vhf_pmd_queue *q, enum vhf_pmd_counter c)
{
	q->pmd_cnt[c]++;
}

/*
 * Enter a burst on q, or return false if the queue is not (or no longer)
 * attached. See lib/vhf_guard.h for the handshake with vhf_queue_detach().
 */
static __rte_always_inline bool
vhf_queue_enter(struct vhf_pmd_queue *q)
{
	return vhf_guard_enter(&q->guard);
}

static __rte_always_inline void
vhf_queue_leave(struct vhf_pmd_queue *q)
{
	/* Our ring and counter updates are visible to the control path once it sees us gone. */
	vhf_guard_leave(&q->guard);
}

/** Is q attached (acquire: its vq and fds are visible if so)? */
static __rte_always_inline bool
vhf_queue_attached(const struct vhf_pmd_queue *q)
{
	return vhf_guard_is_open(&q->guard);
}

/*
 * With q entered: true while the start gate holds a fresh guest RX ring back,
 * nothing to be delivered to it yet. One load per burst once it is open.
 */
static __rte_always_inline bool
vhf_start_gate_holds(struct vhf_pmd_queue *q)
{
	return unlikely(q->start_gate.closed) && !vhf_start_gate_open(q);
}

#endif /* VHF_PMD_H */
