/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 dpdk-vhostfix authors
 */

#ifndef FUZZ_VQ_H
#define FUZZ_VQ_H

/*
 * The hostile-guest fuzz target over the RX enqueue and TX dequeue paths.
 * Built with libFuzzer, or with fuzz_replay_main.c for compilers without it.
 * The input format is described at the top of fuzz_vq.c and mirrored by
 * gen_corpus.py and by the structured generator of fuzz_replay_main.c.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Input layout: fixed header, then image_len bytes of guest memory, then operations. */
#define FUZZ_NREGIONS_MAX 3
#define FUZZ_REGION_BYTES 7
#define FUZZ_QUEUE_BYTES 13
#define FUZZ_HDR_LEN (1 + FUZZ_NREGIONS_MAX * FUZZ_REGION_BYTES + 2 * FUZZ_QUEUE_BYTES + 2)

/* Queue flags byte. */
#define FUZZ_Q_ENABLED 0x01
#define FUZZ_Q_PACKED 0x02
#define FUZZ_Q_EVENT_IDX 0x04
#define FUZZ_Q_INDIRECT 0x08
#define FUZZ_Q_MRG 0x10
#define FUZZ_Q_HDR12 0x20
#define FUZZ_Q_ALGO_SHIFT 6

/* Queue placement byte. */
#define FUZZ_P_REGION_MASK 0x03
#define FUZZ_P_DEDICATED 0x04 /* rings in their own exact-size allocations */
#define FUZZ_P_RAW_INDEX 0x08 /* resume indexes as given, init may refuse them */
#define FUZZ_P_AT_END 0x10    /* descriptor area at the very end of its region */

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
	FUZZ_OP_MAX
};

/* Queue sizes selectable by a size byte. */
#define FUZZ_SIZES { 1, 2, 4, 8, 16, 256 }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Print what the inputs run so far reached (TAP comment lines). */
void fuzz_vq_print_stats(FILE *f);

#endif /* FUZZ_VQ_H */
