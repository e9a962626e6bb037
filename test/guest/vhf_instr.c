/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 dpdk-vhostfix authors
 */

/*
 * vhf-instr: the datapath's instruction count without the VM's noise. lib/'s
 * enqueue (guest RX) or dequeue (guest TX) runs in bursts of 32 against the
 * guest model, no EAL, nothing else on the path; under
 * valgrind --tool=callgrind with --toggle-collect on the lib/ calls
 * (test/guest/vhf-instr.sh does it), the instructions they execute divided by
 * the packets printed are the host's instructions per packet. Checks that
 * every packet arrived (exit 1 if not), so a count is never of a path that
 * dropped them.
 *
 *   vhf-instr split|packed rx|tx [frame bytes] [bursts]
 *   env VHF_INSTR_PUSH_HDR=1: TX headers pushed in front of the frame (Linux and
 *       DPDK guests) instead of in a descriptor of their own;
 *   env VHF_INSTR_RX_OFFSET=N: RX buffers start N bytes into a cache line
 *       (64 - header length: where a DPDK guest's mbuf puts the header);
 *   env VHF_INSTR_HDR_UNREAD=1: TX with no offload negotiated, the header
 *       skipped unread (struct vhf_vq_config.tx_hdr_unread).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vhf_guest.h"
#include "vhf_net.h"

#define BURST 32
#define RING 256

static int
usage(void)
{
	fprintf(stderr, "usage: vhf-instr split|packed rx|tx [frame bytes 14-9000] [bursts]\n");
	return 2;
}

int
main(int argc, char **argv)
{
	static uint8_t frame[9000], out[9100];
	struct vhf_guest_config gc;
	struct vhf_to_guest_pkt pkts[BURST];
	struct vhf_seg segs[BURST];
	struct vhf_vq_config cfg;
	struct vhf_guest *g;
	struct vhf_vq vq;
	unsigned long sent = 0, arrived = 0, bursts = 4000, b;
	uint32_t len = 64;
	bool packed, tx;
	unsigned int k;
	const char *env;

	if (argc < 3 || argc > 5)
		return usage();
	if (strcmp(argv[1], "split") != 0 && strcmp(argv[1], "packed") != 0)
		return usage();
	if (strcmp(argv[2], "rx") != 0 && strcmp(argv[2], "tx") != 0)
		return usage();
	packed = strcmp(argv[1], "packed") == 0;
	tx = strcmp(argv[2], "tx") == 0;
	if (argc > 3)
		len = (uint32_t)strtoul(argv[3], NULL, 10);
	if (argc > 4)
		bursts = strtoul(argv[4], NULL, 10);
	if (len < VHF_NET_MIN_FRAME_LEN || len > sizeof(frame) || bursts == 0)
		return usage();

	memset(&gc, 0, sizeof(gc));
	gc.size = RING;
	gc.packed = packed;
	gc.mrg_rxbuf = true;
	gc.hdr_len = VHF_NET_HDR_LEN_MRG;
	env = getenv("VHF_INSTR_PUSH_HDR");
	gc.tx_push_hdr = env != NULL && strcmp(env, "0") != 0;
	env = getenv("VHF_INSTR_RX_OFFSET");
	gc.rx_buf_offset = env != NULL ? (uint8_t)strtoul(env, NULL, 10) : 0;
	g = vhf_guest_create(&gc);
	if (g == NULL) {
		fprintf(stderr, "vhf-instr: guest model set-up failed\n");
		return 1;
	}
	memset(&cfg, 0, sizeof(cfg));
	vhf_guest_vq_config(g, &cfg);
	cfg.notify_algo = VHF_NOTIFY_FIXED;
	cfg.caller_polls = true; /* a poll-mode driver's queue, as the PMD runs it */
	/* TX without an offload negotiated, as the PMD sets it then: the header skipped unread. */
	env = getenv("VHF_INSTR_HDR_UNREAD");
	cfg.tx_hdr_unread = tx && env != NULL && strcmp(env, "0") != 0;
	if (vhf_vq_init(&vq, &cfg) != 0) {
		fprintf(stderr, "vhf-instr: queue set-up failed\n");
		return 1;
	}
	memset(frame, 0x5a, sizeof(frame));
	for (k = 0; k < BURST; k++) {
		segs[k] = (struct vhf_seg){ .data = frame, .len = len };
		pkts[k] = (struct vhf_to_guest_pkt){ .segs = &segs[k], .nsegs = 1, .len = len };
	}
	for (b = 0; b < bursts; b++) {
		if (!tx) {
			struct vhf_burst_result res;
			uint32_t got;

			vhf_guest_rx_add(g, RING);
			sent += BURST;
			vhf_net_to_guest_enqueue(&vq, pkts, BURST, &res);
			while (vhf_guest_rx_get(g, out, sizeof(out), &got, NULL) == 1)
				arrived += got == len;
		} else {
			static struct vhf_from_guest_pkt pkt;

			for (k = 0; k < BURST; k++) {
				if (vhf_guest_tx_send(g, frame, len, NULL, 1) != 0)
					break;
				sent++;
			}
			while (vhf_net_from_guest_next(&vq, &pkt) == 1) {
				arrived += pkt.len == len;
				vhf_net_from_guest_release(&vq);
			}
			vhf_net_from_guest_finish(&vq);
			vhf_guest_tx_reclaim(g);
		}
	}
	printf("packets %lu\n", arrived);
	vhf_guest_destroy(g);
	if (arrived != sent || vq.broken) {
		fprintf(stderr, "vhf-instr: %lu of %lu packets arrived%s\n", arrived, sent,
			vq.broken ? ", queue broken" : "");
		return 1;
	}
	return 0;
}
