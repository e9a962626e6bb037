/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 dpdk-vhostfix authors
 */

/*
 * More exhaustive interleaving tests of the notification protocol, next to
 * test_race_rx.c (the seed's RX scenario): the device library (lib/, built
 * with VHF_SHM_HOOKS) against the guest model (test/guest, same), every
 * interleaving of their synchronising accesses under SC and x86-TSO, with
 * DPOR (see vhf_explore.h). What this adds: the TX direction, bigger RX
 * rings (three packets; a two-slot ring where every refill waits for a
 * receive), the consumed-index livelock against a guest that is still
 * racing when it runs out of buffers, and the missing-fence mutation in all
 * four layouts.
 *
 * RX (host -> guest): the device delivers P packets that need two guest
 * buffers each, sleeping on the guest's RX kick when short; the guest runs a
 * NAPI loop that receives, refills one batch per round from a bounded budget,
 * and sleeps on the interrupt. Classes of bad endings:
 *  - stall: the device sleeps for a kick while the guest posted enough for
 *    the next packet and sleeps too (the lost kick of the seed);
 *  - lost interrupt: the guest sleeps while used entries wait for it;
 *  - livelock: the step bound is hit (the device spins);
 *  - error: the guest model saw a protocol error, or the end state is wrong.
 * The fixed algorithm must have none, in every configuration and memory
 * model; the legacy one must stall with EVENT_IDX (split and packed) where
 * the ring leaves the guest room to publish in the device's window.
 *
 * TX (guest -> host): the guest sends P packets and reclaims; the device
 * drains and sleeps on the TX kick (vhf_vq_arm_kick()). Never a sleeping
 * device with an unconsumed packet, never a guest left without its interrupt.
 *
 * Output: TAP, one comment line per configuration, then
 *   explored N interleavings: fixed 0 stalls 0 livelocks; legacy S stalls
 * --quick keeps every configuration with smaller bounds (sanitizer builds).
 */

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vhf_explore.h"
#include "vhf_race_tap.h"
#include "vhf_guest.h"
#include "vhf_net.h"
#include "vhf_vq.h"

#define MAX_PKTS 4
#define PKT_MAX_LEN 512

enum cls {
	CLS_OK = 0,
	CLS_STALL = 1,
	CLS_LOST_IRQ = 2,
	CLS_LIVELOCK = 3,
	CLS_ERROR = 4,
};

static const char *const cls_names[] = {
	[CLS_OK] = "ok",
	[CLS_STALL] = "stall",
	[CLS_LOST_IRQ] = "lost interrupt",
	[CLS_LIVELOCK] = "livelock",
	[CLS_ERROR] = "error",
};

struct race_cfg {
	bool tx;                 /* TX scenario, else RX */
	bool packed;
	bool event_idx;
	enum vhf_notify_algo algo;
	uint16_t qsize;
	unsigned int npkts;      /* packets the device delivers (RX) / the guest sends (TX) */
	uint32_t pkt_len;        /* payload bytes (the virtio-net header comes on top) */
	uint32_t buf_len;        /* RX: bytes per guest buffer */
	unsigned int initial;    /* RX: buffers posted at set-up */
	unsigned int budget;     /* RX: buffers the guest posts in the run, at most */
	unsigned int batch;      /* RX: buffers per refill */
};

struct race_ctx {
	const struct race_cfg *cfg;
	struct vhf_guest *g;
	struct vhf_vq vq;
	bool kick_pending;       /* the guest's kick eventfd */
	bool irq_pending;        /* the device's call eventfd */
	unsigned int sent;       /* RX: packets the device delivered; TX: the guest sent */
	unsigned int received;   /* RX: packets the guest received; TX: the device took */
	unsigned int budget_left;
	unsigned int retries;    /* RX: VHF_TO_GUEST_RETRY results */
	int error;               /* first protocol error seen, 0 if none */
	uint64_t benign;         /* deadlocks where nobody could move legitimately */
	uint8_t payload[PKT_MAX_LEN];
	struct vhf_seg seg;
	struct vhf_to_guest_pkt pkts[MAX_PKTS];
	char name[40];
};

static struct race_ctx C;

static void
set_error(struct race_ctx *c, int err)
{
	if (c->error == 0)
		c->error = err;
}

/*
 * Set-up: no scheduling points here (the explorer is not running a thread,
 * hooked accesses go straight to memory).
 */
static void
race_setup(void *arg)
{
	struct race_ctx *c = arg;
	const struct race_cfg *cfg = c->cfg;
	struct vhf_guest_config gc = {
		.size = cfg->qsize,
		.packed = cfg->packed,
		.event_idx = cfg->event_idx,
		.mrg_rxbuf = true,
		.hdr_len = VHF_NET_HDR_LEN_MRG,
		.buf_len = cfg->buf_len,
	};
	struct vhf_vq_config vc;

	c->g = vhf_guest_create(&gc);
	if (c->g == NULL) {
		fprintf(stderr, "vhf_guest_create failed\n");
		abort();
	}
	memset(&vc, 0, sizeof(vc));
	vhf_guest_vq_config(c->g, &vc);
	vc.notify_algo = cfg->algo;
	memset(&c->vq, 0, sizeof(c->vq));
	if (vhf_vq_init(&c->vq, &vc) != 0) {
		fprintf(stderr, "vhf_vq_init failed\n");
		abort();
	}
	c->kick_pending = false;
	c->irq_pending = false;
	c->sent = 0;
	c->received = 0;
	c->retries = 0;
	c->error = 0;
	c->budget_left = cfg->budget;
	if (!cfg->tx && cfg->initial > 0) {
		c->budget_left -= vhf_guest_rx_add(c->g, cfg->initial);
		/* The initial kick is consumed: the device starts by looking anyway. */
		vhf_guest_kick_prepare(c->g);
	}
	for (uint32_t i = 0; i < cfg->pkt_len; i++)
		c->payload[i] = (uint8_t)(i * 7 + 1);
	c->seg.data = c->payload;
	c->seg.len = cfg->pkt_len;
	for (unsigned int i = 0; i < MAX_PKTS; i++) {
		c->pkts[i].segs = &c->seg;
		c->pkts[i].nsegs = 1;
		c->pkts[i].len = cfg->pkt_len;
		c->pkts[i].hdr = NULL;
	}
}

static void
race_teardown(void *arg)
{
	struct race_ctx *c = arg;

	vhf_guest_destroy(c->g);
	c->g = NULL;
}

/*
 * RX: the device, using the library as the PMD does.
 */
static void
rx_device(void *arg)
{
	struct race_ctx *c = arg;
	unsigned int n_pkts = c->cfg->npkts;

	while (c->sent < n_pkts) {
		struct vhf_burst_result res;
		uint16_t n = vhf_net_to_guest_enqueue(&c->vq, &c->pkts[c->sent],
						(uint16_t)(n_pkts - c->sent), &res);

		c->sent += n;
		if (res.call)
			vhf_explore_signal(&c->irq_pending);
		if (c->sent == n_pkts)
			break;
		if (res.status == VHF_TO_GUEST_WAIT_KICK) {
			vhf_explore_wait_flag(&c->kick_pending);
		} else if (res.status == VHF_TO_GUEST_RETRY) {
			c->retries++;
			vhf_explore_yield();
		} else if (res.status == VHF_TO_GUEST_BROKEN) {
			set_error(c, -1);
			return;
		}
	}
}

/* RX: the guest, a Linux virtio-net NAPI loop, simplified. */
static void
rx_driver(void *arg)
{
	struct race_ctx *c = arg;
	const struct race_cfg *cfg = c->cfg;
	uint8_t buf[PKT_MAX_LEN];

	for (;;) {
		unsigned int got = 0;
		uint32_t len;
		int r;

		while ((r = vhf_guest_rx_get(c->g, buf, sizeof(buf), &len, NULL)) == 1) {
			if (len != cfg->pkt_len || memcmp(buf, c->payload, len) != 0)
				set_error(c, -2);
			got++;
			c->received++;
		}
		if (r < 0) {
			set_error(c, r);
			return;
		}
		/* Refill what we can, in batches, while the budget lasts. */
		if (c->budget_left > 0 && vhf_guest_rx_free(c->g) > 0) {
			unsigned int n = cfg->batch;

			if (n > vhf_guest_rx_free(c->g))
				n = vhf_guest_rx_free(c->g);
			if (n > c->budget_left)
				n = c->budget_left;
			c->budget_left -= vhf_guest_rx_add(c->g, n);
			if (vhf_guest_kick_prepare(c->g))
				vhf_explore_signal(&c->kick_pending);
		}
		if (c->received == cfg->npkts)
			return;
		if (got == 0) {
			/* napi_complete: re-arm the interrupt, look once more, sleep. */
			if (vhf_guest_enable_cb_and_check(c->g)) {
				vhf_guest_disable_cb(c->g);
				continue;
			}
			vhf_explore_wait_flag(&c->irq_pending);
			vhf_guest_disable_cb(c->g);
		}
	}
}

static int
rx_check(void *arg, const struct vhf_explore_outcome *o)
{
	struct race_ctx *c = arg;
	const struct race_cfg *cfg = c->cfg;
	uint64_t need = (uint64_t)cfg->pkt_len + VHF_NET_HDR_LEN_MRG;
	uint64_t posted_bytes = (uint64_t)vhf_guest_rx_posted(c->g) * cfg->buf_len;

	if (c->error != 0 || vhf_guest_broken(c->g))
		return CLS_ERROR;
	if (o->end == VHF_EXPLORE_END_STEP_BOUND)
		return CLS_LIVELOCK;
	if (o->end == VHF_EXPLORE_END_DONE)
		return c->sent == cfg->npkts && c->received == cfg->npkts ? CLS_OK : CLS_ERROR;
	/* Deadlock. */
	if ((o->waiting_mask & 1) && posted_bytes >= need)
		return CLS_STALL;
	if ((o->waiting_mask & 2) && c->sent > c->received)
		return CLS_LOST_IRQ;
	c->benign++;
	return CLS_OK;
}

/*
 * TX: the guest sends, the device drains.
 */
static void
tx_device(void *arg)
{
	struct race_ctx *c = arg;

	for (;;) {
		struct vhf_from_guest_pkt pkt;
		int r;

		while ((r = vhf_net_from_guest_next(&c->vq, &pkt)) == 1) {
			if (pkt.len != c->cfg->pkt_len)
				set_error(c, -3);
			c->received++;
		}
		if (r < 0) {
			set_error(c, r);
			return;
		}
		if (vhf_net_from_guest_finish(&c->vq))
			vhf_explore_signal(&c->irq_pending);
		if (c->received == c->cfg->npkts)
			return;
		if (vhf_vq_arm_kick(&c->vq))
			vhf_explore_wait_flag(&c->kick_pending);
	}
}

static void
tx_driver(void *arg)
{
	struct race_ctx *c = arg;
	const struct race_cfg *cfg = c->cfg;

	while (c->sent < cfg->npkts) {
		int r = vhf_guest_tx_send(c->g, c->payload, cfg->pkt_len, NULL, 1);

		if (r == -ENOSPC) {
			/* Ring full: reclaim, or wait for the device's interrupt. */
			if (vhf_guest_tx_reclaim(c->g) > 0)
				continue;
			if (vhf_guest_enable_cb_and_check(c->g)) {
				vhf_guest_disable_cb(c->g);
				continue;
			}
			vhf_explore_wait_flag(&c->irq_pending);
			vhf_guest_disable_cb(c->g);
			continue;
		}
		if (r != 0) {
			set_error(c, r);
			return;
		}
		c->sent++;
		if (vhf_guest_kick_prepare(c->g))
			vhf_explore_signal(&c->kick_pending);
	}
}

static int
tx_check(void *arg, const struct vhf_explore_outcome *o)
{
	struct race_ctx *c = arg;

	if (c->error != 0 || vhf_guest_broken(c->g))
		return CLS_ERROR;
	if (o->end == VHF_EXPLORE_END_STEP_BOUND)
		return CLS_LIVELOCK;
	if (o->end == VHF_EXPLORE_END_DONE)
		return c->received == c->cfg->npkts ? CLS_OK : CLS_ERROR;
	/* The device sleeps while the guest published a packet it has not taken. */
	if ((o->waiting_mask & 1) && c->sent > c->received)
		return CLS_STALL;
	if (o->waiting_mask & 2)
		return CLS_LOST_IRQ;
	c->benign++;
	return CLS_OK;
}

/* Names of the synchronising words, for counterexample traces. */
static const char *
race_name(void *arg, const void *addr)
{
	struct race_ctx *c = arg;
	uint16_t size = c->cfg->qsize;

	if (addr == &c->kick_pending)
		return "kick";
	if (addr == &c->irq_pending)
		return "call";
	if (c->cfg->packed) {
		struct vhf_vring_packed_desc *d = vhf_guest_packed_desc(c->g);
		struct vhf_vring_packed_event *drv = vhf_guest_packed_driver_event(c->g);
		struct vhf_vring_packed_event *dev = vhf_guest_packed_device_event(c->g);

		for (uint16_t i = 0; i < size; i++) {
			if (addr == &d[i].flags) {
				snprintf(c->name, sizeof(c->name), "desc[%u].flags", i);
				return c->name;
			}
		}
		if (addr == &drv->flags)
			return "driver_event.flags";
		if (addr == &drv->off_wrap)
			return "driver_event.off_wrap";
		if (addr == &dev->flags)
			return "device_event.flags";
		if (addr == &dev->off_wrap)
			return "device_event.off_wrap";
		return NULL;
	}

	struct vhf_vring_avail *avail = vhf_guest_split_avail(c->g);
	struct vhf_vring_used *used = vhf_guest_split_used(c->g);

	if (addr == &avail->idx)
		return "avail->idx";
	if (addr == &avail->flags)
		return "avail->flags";
	if (addr == vhf_split_used_event(avail, size))
		return "used_event";
	if (addr == &used->idx)
		return "used->idx";
	if (addr == &used->flags)
		return "used->flags";
	if (addr == vhf_split_avail_event(used, size))
		return "avail_event";
	return NULL;
}

/*
 * Running configurations.
 */

struct run_stats {
	uint64_t executions;
	uint64_t by_cls[VHF_EXPLORE_MAX_CLASSES];
	uint64_t benign;
	uint64_t completed;
	bool truncated;
	bool error;
};

static bool quick;

static const char *
algo_name(enum vhf_notify_algo a)
{
	switch (a) {
	case VHF_NOTIFY_FIXED:
		return "fixed";
	case VHF_NOTIFY_LEGACY:
		return "legacy";
	case VHF_NOTIFY_CONSUMED_IDX:
		return "consumed-idx";
	}
	return "?";
}

static void
cfg_label(const struct race_cfg *cfg, bool tso, unsigned int ignore_fences, char *buf,
	  size_t len)
{
	snprintf(buf, len, "%s %s %s %s %s q%u P%u%s%s", cfg->tx ? "TX" : "RX",
		 cfg->packed ? "packed" : "split", cfg->event_idx ? "event_idx" : "flags",
		 algo_name(cfg->algo), tso ? "TSO" : "SC", cfg->qsize, cfg->npkts,
		 cfg->tx ? "" : "", ignore_fences ? " device-fences-ignored" : "");
}

static struct run_stats
run(const struct race_cfg *cfg, bool tso, unsigned int ignore_fences, unsigned int max_steps,
    bool print_trace)
{
	struct vhf_explore_scenario sc = {
		.ctx = &C,
		.nthreads = 2,
		.setup = race_setup,
		.thread_fn = { cfg->tx ? tx_device : rx_device, cfg->tx ? tx_driver : rx_driver },
		.check = cfg->tx ? tx_check : rx_check,
		.teardown = race_teardown,
		.name_addr = race_name,
	};
	struct vhf_explore_opts opts = {
		.tso = tso,
		.dpor = true,
		.max_steps = max_steps,
		.ignore_fences_mask = ignore_fences,
	};
	struct vhf_explore_result res;
	struct run_stats st;
	char label[96];

	memset(&st, 0, sizeof(st));
	C.cfg = cfg;
	C.benign = 0;
	cfg_label(cfg, tso, ignore_fences, label, sizeof(label));
	if (vhf_explore_run(&sc, &opts, &res) != 0) {
		st.error = true;
		printf("# %s: explorer error\n", label);
		return st;
	}
	st.executions = res.executions;
	st.completed = res.completed;
	memcpy(st.by_cls, res.failures_by_class, sizeof(st.by_cls));
	st.benign = C.benign;
	st.truncated = res.truncated;
	printf("# %-58s %8" PRIu64 " executions: %" PRIu64 " completed, %" PRIu64
	       " benign deadlocks, %" PRIu64 " stalls, %" PRIu64 " lost interrupts, %" PRIu64
	       " livelocks, %" PRIu64 " errors; longest %u steps, %.2f s\n", label,
	       res.executions, res.completed, st.benign, st.by_cls[CLS_STALL],
	       st.by_cls[CLS_LOST_IRQ], st.by_cls[CLS_LIVELOCK], st.by_cls[CLS_ERROR],
	       res.max_depth, res.seconds);
	if (print_trace && res.failures > 0) {
		printf("# first counterexample of %s:\n", label);
		fflush(stdout);
		/* Through a memory stream, so that every line is a TAP comment. */
		char *text = NULL;
		size_t tlen = 0;
		FILE *m = open_memstream(&text, &tlen);

		if (m != NULL) {
			vhf_explore_print_trace(m);
			fclose(m);
			for (char *line = strtok(text, "\n"); line != NULL; line = strtok(NULL, "\n"))
				printf("#   %s\n", line);
			free(text);
		}
	}
	return st;
}

/* Totals for the final line. */
static uint64_t total_executions;
static uint64_t fixed_stalls;     /* stalls + lost interrupts, fixed algorithm, no mutation */
static uint64_t fixed_livelocks;
static uint64_t legacy_stalls;
static bool legacy_trace_printed;

static void
account(const struct race_cfg *cfg, const struct run_stats *st, bool mutation)
{
	total_executions += st->executions;
	if (mutation)
		return;
	if (cfg->algo == VHF_NOTIFY_FIXED) {
		fixed_stalls += st->by_cls[CLS_STALL] + st->by_cls[CLS_LOST_IRQ];
		fixed_livelocks += st->by_cls[CLS_LIVELOCK];
	} else if (cfg->algo == VHF_NOTIFY_LEGACY) {
		legacy_stalls += st->by_cls[CLS_STALL];
	}
}

/* The fixed algorithm: every execution ends well (or in a benign deadlock). */
static void
expect_clean(const struct race_cfg *cfg, bool tso, const struct run_stats *st, bool need_done)
{
	char label[96];

	cfg_label(cfg, tso, 0, label, sizeof(label));
	ok(!st->error && !st->truncated && st->by_cls[CLS_STALL] == 0 &&
	   st->by_cls[CLS_LOST_IRQ] == 0 && st->by_cls[CLS_LIVELOCK] == 0 &&
	   st->by_cls[CLS_ERROR] == 0 && (!need_done || st->completed > 0),
	   "%s: no stall, lost interrupt or livelock in %" PRIu64 " interleavings", label,
	   st->executions);
}

/*
 * One RX configuration in both memory models, with the checks its algorithm
 * calls for. must_stall: legacy + EVENT_IDX must stall here (the ring must
 * leave the guest room to publish in the device's window and again after).
 * must_complete: some execution delivers everything (not so when the guest's
 * budget stops short on purpose). tso_only: every SC execution is also a TSO
 * execution (flushed at once), so for the biggest configuration TSO alone
 * covers both.
 */
static void
rx_config(const struct race_cfg *cfg, unsigned int max_steps, bool must_stall, bool must_complete,
	  bool tso_only)
{
	for (int tso = tso_only ? 1 : 0; tso < 2; tso++) {
		bool trace = cfg->algo == VHF_NOTIFY_LEGACY && cfg->event_idx && !legacy_trace_printed;
		struct run_stats st = run(cfg, tso, 0, max_steps, trace);
		char label[96];

		if (trace && st.by_cls[CLS_STALL] > 0)
			legacy_trace_printed = true;
		account(cfg, &st, false);
		cfg_label(cfg, tso, 0, label, sizeof(label));
		switch (cfg->algo) {
		case VHF_NOTIFY_FIXED:
			expect_clean(cfg, tso, &st, must_complete);
			break;
		case VHF_NOTIFY_LEGACY:
			if (cfg->event_idx && must_stall)
				ok(!st.error && st.by_cls[CLS_STALL] > 0 && st.by_cls[CLS_ERROR] == 0,
				   "%s: stalls, as the seed says (%" PRIu64 " of %" PRIu64 ")", label,
				   st.by_cls[CLS_STALL], st.executions);
			else
				ok(!st.error && st.by_cls[CLS_ERROR] == 0,
				   "%s: %" PRIu64 " stalls (%s)", label, st.by_cls[CLS_STALL],
				   cfg->event_idx ? "no room for the seed's window here" :
						    "flag notification stays on");
			break;
		case VHF_NOTIFY_CONSUMED_IDX:
			ok(!st.error && st.by_cls[CLS_LIVELOCK] > 0 && st.by_cls[CLS_ERROR] == 0,
			   "%s: livelocks when the guest stops short (%" PRIu64 " of %" PRIu64 ")",
			   label, st.by_cls[CLS_LIVELOCK], st.executions);
			break;
		}
	}
}

int
main(int argc, char **argv)
{
	static const enum vhf_notify_algo algos[] = { VHF_NOTIFY_FIXED, VHF_NOTIFY_LEGACY };

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--quick") == 0) {
			quick = true;
		} else {
			fprintf(stderr, "usage: %s [--quick]\n", argv[0]);
			return 2;
		}
	}
	(void)cls_names;
	setvbuf(stdout, NULL, _IOLBF, 0);

	for (int layout = 0; layout < 4; layout++) {
		bool packed = layout & 2, event_idx = layout & 1;

		/*
		 * The seed's shape: the first packet fits the initial buffers, the
		 * guest refills one buffer per NAPI round, each packet needs two.
		 */
		for (size_t a = 0; a < 2; a++) {
			struct race_cfg cfg = {
				.packed = packed, .event_idx = event_idx, .algo = algos[a],
				.qsize = 4, .npkts = 2, .pkt_len = 100, .buf_len = 64,
				.initial = 2, .budget = 4, .batch = 1,
			};

			rx_config(&cfg, 1000, true, true, false);
		}
		/* Three packets through a two-slot ring: refills wait for receives. */
		for (size_t a = 0; a < 2; a++) {
			struct race_cfg cfg = {
				.packed = packed, .event_idx = event_idx, .algo = algos[a],
				.qsize = 2, .npkts = quick ? 2 : 3, .pkt_len = 100, .buf_len = 64,
				.initial = 2, .budget = quick ? 4 : 6, .batch = 1,
			};

			rx_config(&cfg, 1000, false, true, false);
		}
	}

	/* Split + EVENT_IDX, three packets, one buffer posted up front: the biggest. */
	if (!quick) {
		for (size_t a = 0; a < 2; a++) {
			struct race_cfg cfg = {
				.packed = false, .event_idx = true, .algo = algos[a],
				.qsize = 4, .npkts = 3, .pkt_len = 100, .buf_len = 64,
				.initial = 1, .budget = 6, .batch = 1,
			};

			rx_config(&cfg, 1000, true, true, true);
		}
	}

	/*
	 * Consumed-index recheck: the guest stops posting one buffer short of the
	 * second packet. Fixed waits (a benign deadlock: the guest has nothing
	 * more to give); consumed-index spins forever.
	 */
	for (int layout = 0; layout < 4; layout++) {
		static const enum vhf_notify_algo ca[] = { VHF_NOTIFY_FIXED, VHF_NOTIFY_CONSUMED_IDX };

		for (size_t a = 0; a < 2; a++) {
			struct race_cfg cfg = {
				.packed = layout & 2, .event_idx = layout & 1, .algo = ca[a],
				.qsize = 4, .npkts = 2, .pkt_len = 100, .buf_len = 64,
				.initial = 2, .budget = 3, .batch = 1,
			};

			rx_config(&cfg, quick ? 400 : 800, false, false, false);
		}
	}

	/*
	 * Missing-fence mutation: the fixed algorithm with the device's full
	 * barriers taken out. On TSO its notification enable (or used index) can
	 * sit in the store buffer while it re-reads the guest's index (or event):
	 * a lost wake-up must be found. On SC the barrier is redundant.
	 */
	for (int layout = 0; layout < 4; layout++) {
		struct race_cfg cfg = {
			.packed = layout & 2, .event_idx = layout & 1, .algo = VHF_NOTIFY_FIXED,
			.qsize = 4, .npkts = 2, .pkt_len = 100, .buf_len = 64,
			.initial = 2, .budget = 4, .batch = 1,
		};

		for (int tso = 0; tso < 2; tso++) {
			struct run_stats st = run(&cfg, tso, 1, 1000, tso && layout == 1);
			uint64_t bad = st.by_cls[CLS_STALL] + st.by_cls[CLS_LOST_IRQ];
			char label[96];

			account(&cfg, &st, true);
			cfg_label(&cfg, tso, 1, label, sizeof(label));
			if (tso)
				ok(!st.error && bad > 0, "%s: lost wake-up found (%" PRIu64 " stalls, %"
				   PRIu64 " lost interrupts)", label, st.by_cls[CLS_STALL],
				   st.by_cls[CLS_LOST_IRQ]);
			else
				ok(!st.error && bad == 0 && st.by_cls[CLS_ERROR] == 0,
				   "%s: none on SC (%" PRIu64 " interleavings)", label, st.executions);
		}
	}

	/* TX: the guest sends through a small ring, the device drains and sleeps. */
	for (int layout = 0; layout < 4; layout++) {
		for (int shape = 0; shape < 2; shape++) {
			struct race_cfg cfg = {
				.tx = true, .packed = layout & 2, .event_idx = layout & 1,
				.algo = VHF_NOTIFY_FIXED, .qsize = shape ? 2 : 4,
				.npkts = shape ? (quick ? 2 : 3) : 2, .pkt_len = 100,
			};

			for (int tso = 0; tso < 2; tso++) {
				struct run_stats st = run(&cfg, tso, 0, 1000, false);

				account(&cfg, &st, false);
				expect_clean(&cfg, tso, &st, true);
			}
		}
	}

	ok(legacy_stalls > 0 && fixed_stalls == 0 && fixed_livelocks == 0,
	   "fixed never stalls, legacy does");
	printf("1..%d\n", test_num);
	printf("# explored %" PRIu64 " interleavings: fixed %" PRIu64 " stalls %" PRIu64
	       " livelocks; legacy %" PRIu64 " stalls\n", total_executions, fixed_stalls,
	       fixed_livelocks, legacy_stalls);
	return test_failed ? 1 : 0;
}
