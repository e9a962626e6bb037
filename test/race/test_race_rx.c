/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 dpdk-vhostfix authors
 */

/*
 * Every interleaving of the device (the library's RX enqueue, as the PMD runs
 * it) and the guest (the guest model's NAPI receive-and-refill loop), for
 * small rings: split and packed, EVENT_IDX on and off, under sequential
 * consistency and x86-TSO. At every end state it asks:
 *  - stall: the device waits for a kick while the guest has published enough
 *    buffers for the pending packet and no kick is pending;
 *  - lost interrupt: the guest waits for an interrupt while the device has
 *    published used buffers it has not seen and no interrupt is pending;
 *  - livelock: the execution hit the step bound.
 * The fixed algorithm must show none; the legacy one must stall wherever
 * EVENT_IDX makes the lost wake-up possible; the consumed-index variant must
 * livelock; and the fixed algorithm without the device's barriers must fail
 * under TSO (and only there), which shows the explorer sees a missing fence.
 *
 * Usage: test_race [--trace]   (--trace prints one legacy stall step by step)
 */

#include <stdlib.h>
#include <string.h>

#include "vhf_explore.h"
#include "vhf_guest.h"
#include "vhf_net.h"

enum { FAIL_STALL = 1, FAIL_LOST_IRQ, FAIL_LIVELOCK, FAIL_GUEST };

#define T_DEVICE 0
#define T_DRIVER 1
#define PKT_LEN 150 /* with the 12-byte header: three 64-byte buffers */
#define BUF_LEN 64
#define MAX_PKTS 3

struct race_cfg {
	const char *name;
	bool packed;
	bool event_idx;
	enum vhf_notify_algo algo;
	bool tso;
	unsigned int ignore_fences_mask;
	uint16_t qsize;
	unsigned int npkts;
	unsigned int initial; /* buffers posted before the threads start */
	unsigned int budget;  /* buffers the guest posts in all, initial ones included */
	unsigned int batch;   /* most buffers per refill */
};

struct race_ctx {
	const struct race_cfg *cfg;
	struct vhf_guest *guest;
	struct vhf_vq vq;
	struct vhf_to_guest_pkt pkts[MAX_PKTS];
	struct vhf_seg segs[MAX_PKTS];
	uint8_t data[PKT_LEN];
	unsigned int sent;
	unsigned int received;
	unsigned int posted;
	bool kick; /* the guest's kick eventfd */
	bool irq;  /* the device's call eventfd */
	bool guest_error;
};

static void
race_setup(void *arg)
{
	struct race_ctx *c = arg;
	const struct race_cfg *cfg = c->cfg;
	struct vhf_guest_config g;
	struct vhf_vq_config vcfg;
	unsigned int i;

	memset(&g, 0, sizeof(g));
	g.size = cfg->qsize;
	g.packed = cfg->packed;
	g.event_idx = cfg->event_idx;
	g.mrg_rxbuf = true;
	g.hdr_len = VHF_NET_HDR_LEN_MRG;
	g.buf_len = BUF_LEN;
	g.descs_per_buf = 1;
	c->guest = vhf_guest_create(&g);
	if (c->guest == NULL)
		abort();
	memset(&vcfg, 0, sizeof(vcfg));
	vhf_guest_vq_config(c->guest, &vcfg);
	vcfg.notify_algo = cfg->algo;
	if (vhf_vq_init(&c->vq, &vcfg) != 0)
		abort();
	for (i = 0; i < MAX_PKTS; i++) {
		c->segs[i] = (struct vhf_seg){ .data = c->data, .len = PKT_LEN };
		c->pkts[i] = (struct vhf_to_guest_pkt){ .segs = &c->segs[i], .nsegs = 1,
							.len = PKT_LEN };
	}
	c->sent = c->received = 0;
	c->kick = c->irq = c->guest_error = false;
	/* Before the race: a few buffers posted, and the kick they earned consumed. */
	c->posted = vhf_guest_rx_add(c->guest, cfg->initial);
	vhf_guest_kick_prepare(c->guest);
}

static void
race_teardown(void *arg)
{
	struct race_ctx *c = arg;

	vhf_guest_destroy(c->guest);
	c->guest = NULL;
}

/* The device: deliver every packet, sleeping on the kick only when the library says so. */
static void
race_device(void *arg)
{
	struct race_ctx *c = arg;

	while (c->sent < c->cfg->npkts) {
		struct vhf_burst_result res;
		uint16_t n;

		n = vhf_net_to_guest_enqueue(&c->vq, &c->pkts[c->sent],
					     (uint16_t)(c->cfg->npkts - c->sent), &res);
		c->sent += n;
		if (res.call)
			vhf_explore_signal(&c->irq);
		if (c->sent == c->cfg->npkts)
			break;
		if (res.status == VHF_TO_GUEST_WAIT_KICK)
			vhf_explore_wait_flag(&c->kick);
		else if (res.status == VHF_TO_GUEST_RETRY)
			vhf_explore_yield();
		else if (res.status == VHF_TO_GUEST_BROKEN)
			return;
	}
}

/* The guest: Linux virtio-net's NAPI poll, refilling in batches, then napi_complete. */
static void
race_driver(void *arg)
{
	struct race_ctx *c = arg;
	const struct race_cfg *cfg = c->cfg;
	uint8_t buf[PKT_LEN];

	for (;;) {
		unsigned int got = 0, n;
		uint32_t len;
		int r;

		while ((r = vhf_guest_rx_get(c->guest, buf, sizeof(buf), &len, NULL)) == 1) {
			got++;
			c->received++;
		}
		if (r < 0) {
			c->guest_error = true;
			return;
		}
		n = vhf_guest_rx_free(c->guest);
		if (n > cfg->batch)
			n = cfg->batch;
		if (n > cfg->budget - c->posted)
			n = cfg->budget - c->posted;
		if (n > 0) {
			c->posted += vhf_guest_rx_add(c->guest, n);
			if (vhf_guest_kick_prepare(c->guest))
				vhf_explore_signal(&c->kick);
		}
		if (c->received == cfg->npkts)
			return;
		if (got == 0 && n == 0) {
			if (vhf_guest_enable_cb_and_check(c->guest)) {
				vhf_guest_disable_cb(c->guest);
				continue;
			}
			vhf_explore_wait_flag(&c->irq);
			vhf_guest_disable_cb(c->guest);
		}
	}
}

static int
race_check(void *arg, const struct vhf_explore_outcome *o)
{
	struct race_ctx *c = arg;
	struct vhf_guest_stats st;
	uint64_t published_used = c->vq.cnt[VHF_VQ_CNT_bufs];
	uint64_t available;

	if (c->guest_error || vhf_guest_broken(c->guest) || c->vq.broken)
		return FAIL_GUEST;
	if (o->end == VHF_EXPLORE_END_STEP_BOUND)
		return FAIL_LIVELOCK;
	if (o->end == VHF_EXPLORE_END_DONE)
		return 0;
	/* Deadlock: every store buffer is drained, memory is final. */
	vhf_guest_stats(c->guest, &st);
	available = st.posted - published_used;
	if ((o->waiting_mask & (1u << T_DEVICE)) && !c->kick &&
	    available * BUF_LEN >= PKT_LEN + VHF_NET_HDR_LEN_MRG)
		return FAIL_STALL;
	if ((o->waiting_mask & (1u << T_DRIVER)) && !c->irq && published_used > st.bufs_used)
		return FAIL_LOST_IRQ;
	/* The guest's budget ran out before the packets did: nobody lost anything. */
	return 0;
}

static const char *
race_name_addr(void *arg, const void *addr)
{
	struct race_ctx *c = arg;
	static char name[48];
	uint16_t i;

	if (addr == &c->kick)
		return "kick eventfd";
	if (addr == &c->irq)
		return "call eventfd";
	if (c->vq.packed) {
		if (addr == &c->vq.device_event->flags)
			return "device_event.flags";
		if (addr == &c->vq.device_event->off_wrap)
			return "device_event.off_wrap";
		if (addr == &c->vq.driver_event->flags)
			return "driver_event.flags";
		if (addr == &c->vq.driver_event->off_wrap)
			return "driver_event.off_wrap";
		for (i = 0; i < c->vq.size; i++)
			if (addr == &c->vq.desc_packed[i].flags) {
				snprintf(name, sizeof(name), "desc[%u].flags", i);
				return name;
			}
		return NULL;
	}
	if (addr == &c->vq.avail->idx)
		return "avail->idx";
	if (addr == &c->vq.avail->flags)
		return "avail->flags";
	if (addr == &c->vq.used->idx)
		return "used->idx";
	if (addr == &c->vq.used->flags)
		return "used->flags";
	if (addr == vhf_split_used_event(c->vq.avail, c->vq.size))
		return "used_event";
	if (addr == vhf_split_avail_event(c->vq.used, c->vq.size))
		return "avail_event";
	return NULL;
}

struct race_total {
	uint64_t executions;
	uint64_t fixed_stalls;
	uint64_t fixed_livelocks;
	uint64_t legacy_stalls;
	uint64_t consumed_livelocks;
	int failed;
	int test_no;
};

/* expect_class: 0 no failure at all; -1 some failure; else at least one of that class. */
static void
race_run(const struct race_cfg *cfg, int expect_class, bool trace, struct race_total *tot)
{
	struct race_ctx ctx = { .cfg = cfg };
	struct vhf_explore_scenario sc = {
		.ctx = &ctx,
		.nthreads = 2,
		.setup = race_setup,
		.thread_fn = { race_device, race_driver },
		.check = race_check,
		.teardown = race_teardown,
		.name_addr = race_name_addr,
	};
	struct vhf_explore_opts opts = {
		.tso = cfg->tso,
		.dpor = true,
		.max_steps = 3000,
		.ignore_fences_mask = cfg->ignore_fences_mask,
	};
	struct vhf_explore_result res;
	bool ok;

	memset(&res, 0, sizeof(res));
	if (vhf_explore_run(&sc, &opts, &res) != 0) {
		printf("not ok %d - %s: explorer error\n", ++tot->test_no, cfg->name);
		tot->failed = 1;
		return;
	}
	tot->executions += res.executions;
	if (expect_class == 0)
		ok = res.failures == 0;
	else if (expect_class < 0)
		ok = res.failures > 0;
	else
		ok = res.failures_by_class[expect_class] > 0;
	if (cfg->algo == VHF_NOTIFY_FIXED && cfg->ignore_fences_mask == 0) {
		tot->fixed_livelocks += res.failures_by_class[FAIL_LIVELOCK];
		tot->fixed_stalls += res.failures - res.failures_by_class[FAIL_LIVELOCK];
	}
	if (cfg->algo == VHF_NOTIFY_LEGACY)
		tot->legacy_stalls += res.failures_by_class[FAIL_STALL];
	if (cfg->algo == VHF_NOTIFY_CONSUMED_IDX)
		tot->consumed_livelocks += res.failures_by_class[FAIL_LIVELOCK];
	printf("%s %d - %s: %llu executions (%llu done, %llu deadlocked), stalls %llu, "
	       "lost irqs %llu, livelocks %llu, %.2f s\n",
	       ok ? "ok" : "not ok", ++tot->test_no, cfg->name,
	       (unsigned long long)res.executions, (unsigned long long)res.completed,
	       (unsigned long long)res.deadlocks,
	       (unsigned long long)res.failures_by_class[FAIL_STALL],
	       (unsigned long long)res.failures_by_class[FAIL_LOST_IRQ],
	       (unsigned long long)res.failures_by_class[FAIL_LIVELOCK], res.seconds);
	if (!ok) {
		tot->failed = 1;
		vhf_explore_print_trace(stdout);
	} else if (trace && expect_class > 0) {
		printf("# the first %s execution, step by step:\n", cfg->name);
		vhf_explore_print_trace_class(stdout, expect_class);
	}
	fflush(stdout);
}

int
main(int argc, char **argv)
{
	struct race_total tot = { 0 };
	bool trace = false;
	static struct race_cfg cfgs[64];
	static char names[64][96];
	unsigned int n = 0, i;
	int layout, ei, tso;

	for (i = 1; i < (unsigned int)argc; i++) {
		if (strcmp(argv[i], "--trace") == 0)
			trace = true;
		else {
			fprintf(stderr, "test_race: unknown option '%s' (--trace)\n", argv[i]);
			return 2;
		}
	}

	for (tso = 0; tso < 2; tso++)
		for (layout = 0; layout < 2; layout++)
			for (ei = 0; ei < 2; ei++) {
				enum vhf_notify_algo algos[2] = { VHF_NOTIFY_FIXED, VHF_NOTIFY_LEGACY };
				int a;

				for (a = 0; a < 2; a++) {
					struct race_cfg *cfg = &cfgs[n];

					*cfg = (struct race_cfg){
						.packed = layout, .event_idx = ei, .algo = algos[a],
						.tso = tso, .qsize = 4, .npkts = 2,
						.initial = 1, .budget = 6, .batch = 2,
					};
					snprintf(names[n], sizeof(names[n]), "%s %s%s %s",
						 a ? "legacy" : "fixed", layout ? "packed" : "split",
						 ei ? "+event_idx" : "", tso ? "TSO" : "SC");
					cfg->name = names[n++];
				}
			}
	for (i = 0; i < n; i++) {
		/* Legacy loses the kick only when the request names a stale index. */
		int expect = cfgs[i].algo == VHF_NOTIFY_LEGACY && cfgs[i].event_idx ? FAIL_STALL : 0;

		race_run(&cfgs[i], expect, trace && i == 3, &tot);
	}

	/* Consumed-index recheck: buffers stay short, the guest posts nothing more. */
	for (layout = 0; layout < 2; layout++) {
		struct race_cfg *cfg = &cfgs[n];

		*cfg = (struct race_cfg){ .packed = layout, .event_idx = true,
					  .algo = VHF_NOTIFY_CONSUMED_IDX, .qsize = 4, .npkts = 1,
					  .initial = 1, .budget = 1, .batch = 1 };
		snprintf(names[n], sizeof(names[n]), "consumed-index %s+event_idx, guest idle",
			 layout ? "packed" : "split");
		cfg->name = names[n++];
		race_run(cfg, FAIL_LIVELOCK, false, &tot);
		cfgs[n] = *cfg;
		cfg = &cfgs[n];
		cfg->algo = VHF_NOTIFY_FIXED;
		snprintf(names[n], sizeof(names[n]), "fixed %s+event_idx, guest idle",
			 layout ? "packed" : "split");
		cfg->name = names[n++];
		race_run(cfg, 0, false, &tot);
	}

	/* Mutation: the device's barriers removed. TSO must catch it, SC cannot. */
	for (tso = 0; tso < 2; tso++) {
		struct race_cfg *cfg = &cfgs[n];

		*cfg = (struct race_cfg){ .packed = false, .event_idx = true,
					  .algo = VHF_NOTIFY_FIXED, .tso = tso,
					  .ignore_fences_mask = 1u << T_DEVICE, .qsize = 4,
					  .npkts = 2, .initial = 1, .budget = 6, .batch = 2 };
		snprintf(names[n], sizeof(names[n]), "fixed split+event_idx without device fences %s",
			 tso ? "TSO (must fail)" : "SC (cannot fail)");
		cfg->name = names[n++];
		race_run(cfg, tso ? -1 : 0, false, &tot);
	}

	printf("1..%d\n", tot.test_no);
	/* Stalls here count every failure class of the fixed runs: kicks and interrupts. */
	printf("# explored %llu interleavings: fixed %llu stalls %llu livelocks; legacy %llu stalls\n",
	       (unsigned long long)tot.executions, (unsigned long long)tot.fixed_stalls,
	       (unsigned long long)tot.fixed_livelocks,
	       (unsigned long long)tot.legacy_stalls);
	return tot.failed;
}
