/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 dpdk-vhostfix authors
 */

#ifndef FUZZ_GUEST_H
#define FUZZ_GUEST_H

/*
 * The hostile guest shared by the fuzz targets: fuzz_vq (lib/'s enqueue and
 * dequeue calls) and fuzz_pmd (net_vhostfix's burst functions). Both read the
 * same input format, so one corpus (gen_corpus.py) seeds both:
 *
 *   u8  nregions (1 + v % 3)
 *   3 x { u16 size, u8 mode, u32 gpa_param }
 *       mode bits 0-1: where (FUZZ_GPA_*); bits 2-3: how big (FUZZ_SCALE_*)
 *   2 x { u8 flags (FUZZ_Q_*), u8 size_sel, u16 last_avail, u16 last_used,
 *         u8 placement (FUZZ_P_*), u16 desc_off, u16 driver_off, u16 device_off }
 *   u16 image_len, then image_len bytes copied over guest memory in order
 *       (regions, then dedicated ring areas)
 *   operations until the input ends (enum fuzz_op; the guest's are read by
 *   fuzz_guest_op(), the device's by each target)
 *
 * Little-endian; reads past the end yield zeros. Queue 0 is the guest's RX
 * queue, queue 1 its TX queue.
 *
 * The library is built with VHF_SHM_HOOKS: every descriptor the device copies
 * out of guest memory and every synchronising word it loads passes through
 * this module, which checks the access lies in guest memory, counts the
 * descriptors against the call's budget (FUZZ_DESC_BUDGET), and runs the
 * guest's armed actions (FUZZ_OP_DURING) right before the access: the guest
 * publishes, rewrites descriptors and pokes headers while the device works.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "vhf_net.h"

/*
 * The harness's own code: its input readers, its memory checks, its reference
 * walk of the rings and the hooks (every one runs on each guest-memory read, and
 * the snapshot walks every page of a sparse region, 65,536 for the largest) is
 * not the device's coverage. Traced by libFuzzer, its compares were a third of
 * each execution's time. noinline, because the attribute does not follow a body
 * inlined into an instrumented caller.
 */
#if defined(__clang__) && __clang_major__ >= 13
#define FUZZ_NO_COVERAGE __attribute__((noinline, no_sanitize("coverage")))
#else
#define FUZZ_NO_COVERAGE
#endif

#define FUZZ_NREGIONS_MAX 3
#define FUZZ_MAX_CHUNKS (FUZZ_NREGIONS_MAX + 2 * 3)

/* Region mode byte. */
#define FUZZ_GPA_MASK 0x03      /* 0 adjacent, 1 small gap, 2 anywhere, 3 top of the space */
#define FUZZ_SCALE_SHIFT 2
#define FUZZ_SCALE_BYTES 0      /* size bytes (0: 64 KiB), an exact-size allocation */
#define FUZZ_SCALE_64K 1        /* size x 64 KiB (0: 4 GiB), sparse */
#define FUZZ_SCALE_4G 2         /* 4 GiB + size x 64 KiB, sparse */
#define FUZZ_SCALE_4K 3         /* size x 4 KiB (0: 256 MiB), sparse */

/* Queue flags byte. */
#define FUZZ_Q_ENABLED 0x01
#define FUZZ_Q_PACKED 0x02
#define FUZZ_Q_EVENT_IDX 0x04
#define FUZZ_Q_INDIRECT 0x08
#define FUZZ_Q_MRG 0x10 /* RX: mergeable buffers; TX: no offload (header unread) */
#define FUZZ_Q_HDR12 0x20
#define FUZZ_Q_ALGO_SHIFT 6
/* Bits 6-7 all set: the notify algorithm (3 wraps round) plus VIRTIO_F_IN_ORDER. */
#define FUZZ_Q_ALGO_IN_ORDER 3

/* Queue placement byte. */
#define FUZZ_P_REGION_MASK 0x03
#define FUZZ_P_DEDICATED 0x04 /* rings in their own exact-size allocations */
#define FUZZ_P_RAW_INDEX 0x08 /* resume indexes as given, init may refuse them */
#define FUZZ_P_AT_END 0x10    /* descriptor area at the very end of its region */
/* Bits 5-7 of queue 1's placement: fuzz_pmd's port set-up (FUZZ_PMD_*), ignored by fuzz_vq. */

/* Operations (first byte of each, modulo FUZZ_OP_MAX). */
enum fuzz_op {
	FUZZ_OP_PUBLISH = 0, /* guest publishes a descriptor chain */
	FUZZ_OP_RX_BURST,    /* device delivers packets into the guest RX queue */
	FUZZ_OP_TX_BURST,    /* device takes packets from the guest TX queue */
	FUZZ_OP_HAS_ROOM,    /* the never-stall room check alone */
	FUZZ_OP_AVAIL_SPACE, /* the avail-space step alone, then enable-and-check */
	FUZZ_OP_ARM_KICK,    /* device goes idle on a queue */
	FUZZ_OP_POKE,        /* guest scribbles over its memory */
	FUZZ_OP_POKE_FIELD,  /* guest rewrites a ring field */
	FUZZ_OP_REINIT,      /* reconnect: GET_VRING_BASE then init again */
	FUZZ_OP_TX_NEXT,     /* one TX chain, used entry left pending */
	FUZZ_OP_DURING,      /* arm a guest action to run inside the next device call */
	FUZZ_OP_DESC,        /* guest rewrites one descriptor (ring slot or table entry) */
	FUZZ_OP_MAX
};

/* FUZZ_OP_PUBLISH sel byte. */
#define FUZZ_PUB_QUEUE 0x01
#define FUZZ_PUB_WRONG_DIR 0x02
#define FUZZ_PUB_INDIRECT 0x04
#define FUZZ_PUB_HOLD 0x08      /* written, not published */
#define FUZZ_PUB_BAD_NEXT 0x10
#define FUZZ_PUB_WIDE 0x20      /* u32 offsets (bit 31: from the region's end) and lengths */
#define FUZZ_PUB_FILL 0x40      /* u16 count: the chain or table repeats the descriptors */

/* Guest actions FUZZ_OP_DURING can arm (its kind byte, modulo FUZZ_ACT_MAX). */
enum fuzz_act {
	FUZZ_ACT_PUBLISH = 0,
	FUZZ_ACT_POKE,
	FUZZ_ACT_POKE_FIELD,
	FUZZ_ACT_DESC,
	FUZZ_ACT_MAX
};

/* Queue sizes selectable by a size byte (packed: also 1 to 64). */
#define FUZZ_SIZES { 1, 2, 4, 8, 16, 256 }
#define FUZZ_MAX_SIZE 256

/* rx_burst operands: u8 npkts (1 + v % FUZZ_MAX_PKTS), npkts x { u16 len, u8 shape }. */
#define FUZZ_MAX_PKTS 32
#define FUZZ_SHAPE_SEGS_MASK 0x03 /* segments - 1 */
#define FUZZ_SHAPE_LEN16 0x20     /* the whole u16 is the length (else v & 0x3fff) */
#define FUZZ_SHAPE_PAST64K 0x40   /* plus 64 KiB: past the largest packet */
#define FUZZ_SHAPE_OFFLOAD 0x80   /* with an offload request */
#define FUZZ_PKT_MAX_LEN 0x1ffffu

/* Armed actions at a time, and how often one call lets them run. */
#define FUZZ_DURING_SLOTS 4
#define FUZZ_MAX_FIRINGS (1u << 16)

/*
 * Descriptors the device may read (ring slots and indirect entries alike)
 * across calls making lib_calls of lib's budget periods, whatever the guest
 * publishes meanwhile: lib's own limit, VHF_BURST_MAX_DESC per period, not a
 * guess from the ring size. A period is one vhf_net_to_guest_enqueue(),
 * vhf_net_to_guest_has_room() or vhf_test_to_guest_avail_space() call, or one TX burst
 * (the vhf_net_from_guest_next() calls since init or the last vhf_net_from_guest_finish()).
 * vhf_pmd_rx_burst() is one TX burst (it always finishes it);
 * vhf_pmd_tx_burst() of n packets calls vhf_net_to_guest_enqueue() at most n times
 * (each call but the last moves at least one packet): FUZZ_PMD_TX_CALLS(n).
 */
#define FUZZ_DESC_BUDGET(lib_calls) ((uint32_t)(lib_calls) * (uint32_t)VHF_BURST_MAX_DESC)
#define FUZZ_PMD_TX_CALLS(n) (n)

#define FUZZ_CHECK(cond)                                                                           \
	do {                                                                                       \
		if (unlikely(!(cond)))                                                             \
			fuzz_fail(__FILE__, __LINE__, #cond);                                      \
	} while (0)

struct fuzz_in {
	const uint8_t *p;
	size_t n;
	size_t off;
};

/* A piece of guest memory: a region or a dedicated ring area. */
struct fuzz_chunk {
	uint8_t *base;
	size_t len;
	size_t map_len; /* sparse: the whole mapping, guard pages included; 0: malloc'd */
};

/* The guest's own bookkeeping for publishing chains. */
struct fuzz_guest_q {
	uint16_t next_head; /* split: where the next chain's descriptors go */
	uint16_t pos;       /* packed: next slot to fill */
	bool wrap;          /* packed: driver wrap counter */
	uint16_t next_id;   /* packed: buffer ids */
	uint8_t *table;     /* the last indirect table written, for FUZZ_OP_DESC */
	uint32_t table_n;   /* its entries that fit in guest memory */
	uint16_t used_seen; /* split: used index the guest has read up to */
	bool pending_dirty; /* wrote its memory while the device had used entries staged */
};

struct fuzz_queue {
	bool enabled;
	bool rx;
	bool rings_disjoint; /* the three ring areas do not overlap one another */
	uint8_t place;       /* the placement byte as given */
	struct vhf_vq_config cfg;
	struct vhf_vq *vq;   /* the device's state (the target's storage) */
	void *area[3];       /* ring areas: desc, avail/driver event, used/device event */
	size_t area_len[3];
	uint32_t inflight;   /* consumed minus used, at init */
	uint32_t tx_reads;   /* descriptors read in the TX burst so far (lib's budget period) */
	bool was_broken;
	unsigned int broken_checks;
	struct fuzz_guest_q g;
};

/* A guest action armed by FUZZ_OP_DURING. */
struct fuzz_during {
	bool armed;
	size_t at;          /* where its operands start in the input */
	uint64_t next;      /* fires before the read with this number */
	uint32_t period;    /* 0: once */
	uint32_t left;      /* firings left; UINT32_MAX: until the call ends */
};

/* The device call in progress. */
struct fuzz_call {
	bool active;
	const char *what;
	struct fuzz_queue *q;
	uint32_t budget;
	uint32_t desc_reads; /* since the budget was last set */
	uint64_t exhausted;  /* q's budget_exhausted counter when the call began */
	uint32_t table_reads; /* of which indirect table entries */
	uint64_t reads;      /* descriptor copies and synchronising loads, numbered from 1 */
	uint32_t fired;      /* guest actions run inside the call */
	bool scribbled;      /* one of them was something other than a publish */
	uint64_t used_bytes; /* RX: lengths of the used entries the device published */
	uint32_t used_entries;
	bool used_bad_id;    /* split: an id no descriptor has */
	uint64_t used_slots[FUZZ_MAX_SIZE / 64]; /* packed: slots marked used in this call */
};

struct fuzz_ctx {
	struct fuzz_in in;
	uint32_t nregions;
	struct vhf_mem_region regions[FUZZ_NREGIONS_MAX];
	struct vhf_mem mem;
	unsigned int nchunks;
	struct fuzz_chunk chunks[FUZZ_MAX_CHUNKS];
	struct fuzz_queue q[2];
	struct fuzz_during during[FUZZ_DURING_SLOTS];
	struct fuzz_call call;
	uint64_t rx_bytes;
	uint64_t tx_copied;
	/* fuzz_pre_call()/fuzz_post_call(): guest memory before a broken queue's call. */
	uint8_t *snap;
	size_t snap_len;
	uint8_t *snap_resident;
};

/* What the inputs reached, printed by fuzz_print_stats(). */
struct fuzz_stats {
	unsigned long inputs, setup_ok, ops, rx_pkts, rx_wait, tx_pkts, armed, reinit;
	unsigned long fired, used_checked, short_checked, big_regions;
	unsigned long pmd_rx_mbufs, pmd_fwd, pmd_too_big;
	uint32_t max_desc_reads;
	unsigned long broken[VHF_VQ_CNT_MAX];
};
extern struct fuzz_stats fuzz_stats;

void fuzz_fail(const char *file, int line, const char *what) __attribute__((noreturn));

uint8_t fuzz_u8(struct fuzz_in *in);
uint16_t fuzz_u16(struct fuzz_in *in);
uint32_t fuzz_u32(struct fuzz_in *in);

/*
 * Read the header, map guest memory, set up both queues into vq0/vq1 (the
 * target's storage for the device state) and load the image.
 * @return 0, or -1 if the input sets up nothing worth running.
 */
int fuzz_setup(struct fuzz_ctx *ctx, const uint8_t *data, size_t size, struct vhf_vq *vq0,
	       struct vhf_vq *vq1);
/* Unmap and free everything fuzz_setup() made. */
void fuzz_teardown(struct fuzz_ctx *ctx);

/* Read rx_burst's operands: packet lengths and shape bytes; returns how many. */
unsigned int fuzz_rx_pkts(struct fuzz_in *in, uint32_t *len, uint8_t *shape);

/* Run op if it is the guest's (publish, poke, poke_field, during, desc); false if not. */
bool fuzz_guest_op(struct fuzz_ctx *ctx, unsigned int op);

/* Operations one input may run at the most. */
#define FUZZ_MAX_OPS 256

/* A target's device calls: run op, which is not the guest's, reading its operands. */
typedef void fuzz_device_op_t(struct fuzz_ctx *ctx, unsigned int op);

/*
 * Run the input's operations until it or FUZZ_MAX_OPS runs out: each one the
 * guest's (fuzz_guest_op) or else the target's (device_op), traced under
 * FUZZ_VQ_TRACE, with fuzz_check_queue() on both queues after every one.
 */
void fuzz_run_ops(struct fuzz_ctx *ctx, fuzz_device_op_t *device_op);

/*
 * Bracket a device call on q. The armed guest actions run inside it and are
 * disarmed at its end. fuzz_call_budget() (re)starts the descriptor count of
 * one entry into the device with budget reads allowed (FUZZ_DESC_BUDGET());
 * the call aborts the run as soon as it goes over. fuzz_call_begin() allows
 * one lib call's worth.
 */
void fuzz_call_begin(struct fuzz_ctx *ctx, struct fuzz_queue *q, const char *what);
void fuzz_call_budget(struct fuzz_ctx *ctx, const char *what, uint32_t budget);
void fuzz_call_end(struct fuzz_ctx *ctx);

/*
 * Guest RX queue, around a call that may deliver: what the used entries the
 * guest saw add up to must be what was delivered (bytes and packets counted
 * by the queue, each packet with its virtio-net header), whenever the guest
 * did nothing during the call that could make its own view differ.
 */
struct fuzz_rx_acct {
	bool clean;        /* no published RX buffer lies over a ring or a table */
	bool packed;       /* a guest action inside the call makes it unclean */
	uint64_t packets;
	uint64_t bytes;
};
void fuzz_rx_acct_begin(struct fuzz_ctx *ctx, struct fuzz_rx_acct *a);
void fuzz_rx_acct_end(struct fuzz_ctx *ctx, const struct fuzz_rx_acct *a);

/*
 * The device said the guest RX queue is short of need bytes (header
 * included) and did not break it. Whatever the guest published must indeed
 * add up to less (in 64 bits): else the device would sleep on a kick that is
 * not coming. Checked when nothing moved during the call.
 */
void fuzz_check_short(struct fuzz_ctx *ctx, uint64_t need);

/* After every step, for one queue: sticky broken state, indexes, buffers in flight. */
void fuzz_check_queue(struct fuzz_queue *q);
/* The device is about to sleep on q: the guest's next publication naming mark must kick. */
void fuzz_check_armed(struct fuzz_queue *q, int mark);
/* Reconnect: GET_VRING_BASE, then init again from it. */
void fuzz_reinit(struct fuzz_queue *q);

/* A host range lies wholly inside one guest region. */
bool fuzz_in_region(const struct fuzz_ctx *ctx, const void *p, uint64_t len);
/* A host range lies wholly inside one chunk of guest memory (regions or ring areas). */
bool fuzz_in_guest(const struct fuzz_ctx *ctx, const void *p, uint64_t len);

/* Around a call on a broken queue: it must write no guest memory. */
bool fuzz_pre_call(struct fuzz_ctx *ctx, struct fuzz_queue *q);
void fuzz_post_call(struct fuzz_ctx *ctx, bool snap);

/* FUZZ_VQ_TRACE=1 in the environment: print every operation and the queues after it. */
void fuzz_trace_op(const struct fuzz_ctx *ctx, unsigned int op, size_t at);

/* Buffers the driver handed over and the device has not returned, in ring slots. */
uint32_t fuzz_inflight(const struct vhf_vq *vq);

/* Print what the inputs run so far reached (TAP comment lines). */
void fuzz_print_stats(FILE *f);

/* The target's entry point (libFuzzer's name; the replay driver calls it too). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif /* FUZZ_GUEST_H */
