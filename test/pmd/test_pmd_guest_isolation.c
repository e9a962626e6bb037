/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 dpdk-vhostfix authors
 */

/*
 * Issue 11: a guest doing any of three hostile things leaves a second guest
 * served by the same lcore forwarding at its normal rate.
 *
 * Two guests, A (hostile) and B (well-behaved), each a TX and an RX ring of
 * the guest model, are served by one loop on one thread, as an app lcore
 * serves them: every iteration calls vhf_pmd_rx_burst() on A's and B's guest
 * TX queues and forwards what it got back to the same guest with
 * vhf_pmd_tx_burst(), through one shared mempool. Every iteration guest B
 * sends a burst of frames, then reads back what was forwarded and checks it
 * byte for byte. What A does:
 *  1. sends frames the port cannot take: 128 MiB + 4 KiB in one descriptor,
 *     or 100,000 bytes;
 *  2. keeps publishing chains shorter than the virtio-net header while the
 *     device reads them: at each device read of its avail index, one more;
 *  3. posts, on an RX ring of 256, 128 mergeable buffers that are each an
 *     indirect table of 32,768 zero-length entries, and sends 32 frames of
 *     1500 bytes per iteration for the device to put there.
 * Each case runs a fixed number of iterations, after the same run with A idle
 * (the baseline), and checks, without a clock:
 *  - B: the same packets and bytes forwarded every iteration as in the
 *    baseline, payload intact, every counter of its queues equal to the
 *    baseline's (none of A's damage lands there);
 *  - A: each call returns having done bounded work, and its damage is
 *    counted in its own queues' counters;
 *  - the shared pool: it holds only what B's burst needs and a few spare
 *    mbufs, fewer than one 100,000-byte frame takes: A cannot allocate a
 *    chain for a frame it should drop without failing (drop_no_mbuf), and
 *    every mbuf is back after every iteration.
 * CPU time per iteration, with A idle and hostile, is printed for
 * information only.
 *
 * Bounded work is observed through lib/vhf_shm.h's hooks: the PMD and lib/
 * are built here with VHF_SHM_HOOKS, so that every synchronising access of
 * guest memory calls this file (case 2's guest publishes there), and so that
 * vhf_shm_hook_read_desc() counts the descriptors each call reads, once lib/
 * copies its descriptors through vhf_shm_read_desc(). A lib without that
 * seam reads descriptors uncounted: the descriptor bound then holds
 * trivially (the test says so), case 3 is judged by whether the hostile
 * buffers go away.
 *
 * A call that never returns is reported by a watchdog (alarm()), as
 * "not ok" for the running case; case 2's guest also stops publishing after
 * SHORT_GIVE_UP chains in one call, so that a device without a budget fails
 * the bound instead of hanging.
 */

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <rte_eal.h>
#include <rte_mbuf.h>

#include "vhf_pmd_harness.h"

#ifndef VHF_SHM_HOOKS
#error "build with VHF_SHM_HOOKS: the guest acts, and calls are measured, inside lib/vhf_shm.h"
#endif

/* Packets per burst call, as an app's. */
#define BURST 32
/* Iterations of the lcore loop per run. */
#define ITERATIONS 64
/* Ring sizes of every queue but case 1's guest TX ring. */
#define RING 256
/* Longest frame B sends: one RX buffer of the guest model, one mbuf. */
#define B_MAX_LEN 1500
/*
 * The shared pool: what one rx_burst holds at most (a burst and the mbuf
 * taken before the packet that would follow it), and a few spare. The whole
 * pool is fewer than the 49 mbufs a 100,000-byte frame fills: A cannot copy
 * such a frame without an allocation failing.
 */
#define POOL_SPARE 8
#define POOL_MBUFS (BURST + 1 + POOL_SPARE)
/* Case 1: frames A sends per iteration, as long as its TX ring of 16 (8 frames) has room. */
#define A_BIG_FRAMES 4
#define A_BIG_RING 16
#define A_LONG_LEN 100000
#define A_HUGE_LEN ((128u << 20) + 4096u)
/* Case 3: the ring, tables and traffic. */
#define A_IND_BUFS 128
#define A_IND_ENTRIES 32768
#define A_FRAME_LEN 1500
/*
 * Most descriptors one burst call may read: the per-call budget of lib/
 * (FUZZ_DESC_BUDGET in test/fuzz: 4 x ring size + 2 per packet), for each
 * packet of the burst. Case 2's chains are one descriptor each.
 */
#define CALL_DESC_BOUND(size, burst) ((uint64_t)(burst) * (4u * (uint64_t)(size) + 2u))
/* Case 2: the guest gives up within one call after this many chains (far past the bound). */
#define SHORT_GIVE_UP (1u << 18)
/* Seconds a case may take before it is declared hung; a loaded ASan build needs a few. */
#define WATCHDOG_S 120

enum hostile {
	A_IDLE,
	A_HUGE_FRAMES,  /* 1: 128 MiB + 4 KiB in one descriptor */
	A_LONG_FRAMES,  /* 1: 100,000 bytes */
	A_SHORT_CHAINS, /* 2 */
	A_IND_TABLES,   /* 3 */
};

static const char *const hostile_names[] = {
	[A_IDLE] = "A idle",
	[A_HUGE_FRAMES] = "A sends 128 MiB + 4 KiB frames",
	[A_LONG_FRAMES] = "A sends 100,000-byte frames",
	[A_SHORT_CHAINS] = "A keeps publishing chains shorter than the header",
	[A_IND_TABLES] = "A posts RX buffers of 32,768 zero-length indirect entries",
};

static struct rte_mempool *pool;

/* Two guests, each a TX ring (ethdev rx queue) and an RX ring (ethdev tx queue). */
struct guest {
	struct vhf_pmd_harness from_guest; /* the guest transmits: vhf_pmd_rx_burst() */
	struct vhf_pmd_harness to_guest;  /* the guest receives: vhf_pmd_tx_burst() */
};

/* The guests of the running case; the teardown frees them, also after a failure. */
static struct {
	struct guest a, b;
	bool live;
} world;

/* The names of a queue's counters, as vhf_queue_xstats() lists them. */
static const char *xstat_names[VHF_QUEUE_XSTATS];

/* What one run observed. */
struct run {
	uint32_t b_pkts[ITERATIONS];  /* packets guest B received, per iteration */
	uint64_t b_bytes[ITERATIONS];
	/* Each queue's counters as its xstats give them (names in xstat_names). */
	uint64_t b_from_guest_cnt[VHF_QUEUE_XSTATS];
	uint64_t b_to_guest_cnt[VHF_QUEUE_XSTATS];
	uint64_t a_from_guest_cnt[VHF_QUEUE_XSTATS];
	uint64_t a_to_guest_cnt[VHF_QUEUE_XSTATS];
	uint64_t a_max_call_reads;    /* descriptors read by A's costliest call */
	uint64_t a_max_call_chains;   /* case 2: chains taken by A's costliest call */
	uint64_t b_reads;             /* descriptors read by B's calls: 0 if not counted */
	uint64_t a_frames_sent;       /* case 1 */
	uint64_t cpu_ns;              /* lcore loop only */
};

/* The call being made, as the hooks see it. */
static struct {
	bool in_a;              /* inside one of A's burst calls */
	uint64_t desc_reads;    /* descriptors read by this A call */
	uint64_t chains;        /* case 2: chains published during this A call */
	uint64_t b_desc_reads;  /* descriptors read by B's calls, all runs */
} call;

/* Case 2's guest: one short chain, published again at each device read of avail->idx. */
static struct {
	const uint16_t *avail_idx;  /* NULL: not armed */
	struct vhf_vring_avail *avail;
	const struct vhf_vq *vq;    /* the device's view, to stay one chain ahead */
	uint16_t mask;
	uint16_t head;
} shortc;

/* ------------------------------------------------------------------------------------- */
/* lib/vhf_shm.h hooks: guest A's vCPU, and the meter                                      */

/*
 * A guest that keeps publishing: whenever the device looks at its avail
 * index, one more chain is there, as if the guest's vCPU published it just
 * before. One ahead of what the device consumed, never more: the index stays
 * valid however the device paces itself, only the stream never ends.
 */
static void
short_chain_publish(void)
{
	struct vhf_vring_avail *avail = shortc.avail;
	uint16_t idx = avail->idx;

	if (idx != shortc.vq->last_avail || call.chains >= SHORT_GIVE_UP)
		return;
	avail->ring[idx & shortc.mask] = shortc.head;
	/* Pairs with the device's acquire load of avail->idx (the hooked load below). */
	__atomic_store_n(&avail->idx, (uint16_t)(idx + 1), __ATOMIC_RELEASE);
	call.chains++;
}

/* One thread: each access as the strongest order, whatever the call site asked for. */
uint16_t
vhf_shm_hook_load16(const uint16_t *addr, int memorder)
{
	(void)memorder;
	if (addr == shortc.avail_idx)
		short_chain_publish();
	return __atomic_load_n(addr, __ATOMIC_SEQ_CST);
}

void
vhf_shm_hook_store16(uint16_t *addr, uint16_t val, int memorder)
{
	(void)memorder;
	__atomic_store_n(addr, val, __ATOMIC_SEQ_CST);
}

void
vhf_shm_hook_fence(void)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/*
 * Every descriptor lib/ copies out of guest memory, once it does so through
 * vhf_shm_read_desc(); never called by a lib/ that copies them itself.
 */
void vhf_shm_hook_read_desc(void *dst, const void *src, size_t len);

void
vhf_shm_hook_read_desc(void *dst, const void *src, size_t len)
{
	memcpy(dst, src, len);
	if (call.in_a)
		call.desc_reads++;
	else
		call.b_desc_reads++;
}

/* ------------------------------------------------------------------------------------- */
/* Watchdog                                                                                */

static unsigned int test_no;
static char watchdog_msg[256];
static size_t watchdog_len;

static void
watchdog_fired(int sig)
{
	(void)sig;
	/* write() and _exit() only: async-signal-safe; stdout is line-buffered, nothing waits. */
	if (write(STDOUT_FILENO, watchdog_msg, watchdog_len) < 0)
		_exit(2);
	_exit(1);
}

/* The running test is number ++test_no (cmocka runs them in order, each once). */
static void
watchdog_arm(const char *name)
{
	int n = snprintf(watchdog_msg, sizeof(watchdog_msg),
			 "not ok %u - %s: did not return within %u s\n"
			 "Bail out! %s: a burst call did not return\n",
			 ++test_no, name, WATCHDOG_S, name);

	watchdog_len = n > 0 && (size_t)n < sizeof(watchdog_msg) ? (size_t)n : 0;
	alarm(WATCHDOG_S);
}

/* ------------------------------------------------------------------------------------- */
/* Guest B: frames of known length and bytes, checked on the way back                      */

static uint32_t
b_len(uint32_t seq)
{
	return 60 + (seq * 97u) % (B_MAX_LEN - 60 + 1);
}

static void
b_fill(uint8_t *buf, uint32_t len, uint32_t seq)
{
	uint32_t i;

	for (i = 0; i < len; i++)
		buf[i] = (uint8_t)(i * 31u + seq * 7u + (i >> 8));
}

/* B's vCPU before the lcore's turn: take back sent buffers, post RX buffers, send a burst. */
static void
b_send(struct guest *b, uint32_t *seq)
{
	static uint8_t frame[B_MAX_LEN];
	unsigned int i;

	vhf_guest_tx_reclaim(b->from_guest.guest);
	vhf_guest_rx_add(b->to_guest.guest, vhf_guest_rx_free(b->to_guest.guest));
	for (i = 0; i < BURST; i++) {
		uint32_t len = b_len(*seq);

		b_fill(frame, len, *seq);
		assert_int_equal(vhf_guest_tx_send(b->from_guest.guest, frame, len, NULL, 1), 0);
		(*seq)++;
	}
}

/* B's vCPU after the lcore's turn: every frame forwarded, in order, byte for byte. */
static void
b_receive(struct guest *b, uint32_t *seq, uint32_t *pkts, uint64_t *bytes)
{
	static uint8_t got[B_MAX_LEN], want[B_MAX_LEN];
	uint32_t len;
	int ret;

	*pkts = 0;
	*bytes = 0;
	while ((ret = vhf_guest_rx_get(b->to_guest.guest, got, sizeof(got), &len, NULL)) == 1) {
		assert_int_equal(len, b_len(*seq));
		b_fill(want, len, *seq);
		assert_memory_equal(got, want, len);
		(*seq)++;
		(*pkts)++;
		*bytes += len;
	}
	assert_int_equal(ret, 0);
}

/* ------------------------------------------------------------------------------------- */
/* Guest A                                                                                 */

static void
a_init(struct guest *a, enum hostile what)
{
	struct vhf_guest_config from = { .size = RING, .tx_max_len = A_FRAME_LEN };
	struct vhf_guest_config to = { .size = RING, .mrg_rxbuf = true };
	size_t from_extra = 0, to_extra = 0;

	switch (what) {
	case A_HUGE_FRAMES:
		from = (struct vhf_guest_config){ .size = A_BIG_RING };
		from_extra = A_HUGE_LEN;
		break;
	case A_LONG_FRAMES:
		from = (struct vhf_guest_config){ .size = A_BIG_RING, .tx_max_len = A_LONG_LEN };
		break;
	case A_IND_TABLES:
		to.indirect = true;
		to_extra = (size_t)A_IND_ENTRIES * sizeof(struct vhf_vring_desc);
		break;
	default:
		break;
	}
	vhf_pmd_harness_init(&a->from_guest, "guest A", &from, true, pool, 0, from_extra);
	vhf_pmd_harness_init(&a->to_guest, "guest A", &to, false, NULL, 0, to_extra);

	if (what == A_SHORT_CHAINS) {
		/* A chain of one descriptor, 4 bytes: shorter than the 12-byte header. */
		uint64_t gpa = vhf_guest_alloc(a->from_guest.guest, 64, 16);
		struct vhf_vring_desc *desc = vhf_guest_split_desc(a->from_guest.guest);

		assert_true(gpa != 0);
		desc[0] = (struct vhf_vring_desc){ .addr = gpa, .len = 4 };
		shortc.avail = vhf_guest_split_avail(a->from_guest.guest);
		shortc.avail_idx = &shortc.avail->idx;
		shortc.vq = &a->from_guest.q->vq;
		shortc.mask = RING - 1;
		shortc.head = 0;
	}
	if (what == A_IND_TABLES) {
		/*
		 * One table for all: 32,768 device-writable entries of 0 bytes chained
		 * in order. Each of the 128 buffers is an indirect descriptor on it.
		 */
		struct vhf_vring_desc *table = a->to_guest.extra;
		struct vhf_vring_desc *desc = vhf_guest_split_desc(a->to_guest.guest);
		struct vhf_vring_avail *avail = vhf_guest_split_avail(a->to_guest.guest);
		uint32_t i;

		for (i = 0; i < A_IND_ENTRIES; i++)
			table[i] = (struct vhf_vring_desc){
				.addr = VHF_PMD_HARNESS_EXTRA_GPA, .len = 0,
				.flags = VHF_DESC_F_WRITE |
					 (i + 1 < A_IND_ENTRIES ? VHF_DESC_F_NEXT : 0),
				.next = (uint16_t)(i + 1) };
		for (i = 0; i < A_IND_BUFS; i++) {
			desc[i] = (struct vhf_vring_desc){
				.addr = VHF_PMD_HARNESS_EXTRA_GPA,
				.len = A_IND_ENTRIES * sizeof(struct vhf_vring_desc),
				.flags = VHF_DESC_F_INDIRECT };
			avail->ring[i] = (uint16_t)i;
		}
		/* Pairs with the device's acquire load of avail->idx. */
		__atomic_store_n(&avail->idx, A_IND_BUFS, __ATOMIC_RELEASE);
	}
}

static void
a_fini(struct guest *a)
{
	memset(&shortc, 0, sizeof(shortc));
	vhf_pmd_harness_fini(&a->from_guest);
	vhf_pmd_harness_fini(&a->to_guest);
}

/* A's vCPU before the lcore's turn. */
static void
a_act(struct guest *a, enum hostile what, struct run *r)
{
	static uint8_t frame[A_LONG_LEN];
	unsigned int i;
	int ret = 0;

	switch (what) {
	case A_HUGE_FRAMES:
	case A_LONG_FRAMES:
		/* Whatever the device left in the ring stays there: a full ring sends less. */
		vhf_guest_tx_reclaim(a->from_guest.guest);
		for (i = 0; i < A_BIG_FRAMES && ret == 0; i++) {
			if (what == A_HUGE_FRAMES)
				ret = vhf_pmd_harness_send_rewritten(&a->from_guest,
								     VHF_PMD_HARNESS_EXTRA_GPA,
								     A_HUGE_LEN);
			else
				ret = vhf_guest_tx_send(a->from_guest.guest, frame, A_LONG_LEN,
							NULL, 1);
			if (ret == 0)
				r->a_frames_sent++;
			else
				assert_int_equal(ret, -ENOSPC);
		}
		break;
	case A_IND_TABLES:
		/* Well-formed frames, looped back to its hostile RX ring. */
		vhf_guest_tx_reclaim(a->from_guest.guest);
		for (i = 0; i < BURST; i++)
			assert_int_equal(vhf_guest_tx_send(a->from_guest.guest, frame, A_FRAME_LEN,
							   NULL, 1), 0);
		break;
	default:
		break; /* idle, or acting inside the device's calls (case 2) */
	}
}

/* ------------------------------------------------------------------------------------- */
/* The lcore                                                                               */

static void
check_bound(const char *what, uint64_t value, uint64_t bound)
{
	if (value <= bound)
		return;
	print_message("# %s: %llu, bound %llu\n", what, (unsigned long long)value,
		      (unsigned long long)bound);
	fail();
}

static void
a_call_begin(void)
{
	call.in_a = true;
	call.desc_reads = 0;
	call.chains = 0;
}

static void
a_call_end(struct run *r)
{
	call.in_a = false;
	r->a_max_call_reads = RTE_MAX(r->a_max_call_reads, call.desc_reads);
	r->a_max_call_chains = RTE_MAX(r->a_max_call_chains, call.chains);
}

/* Receive from a guest's TX queue, forward to its RX queue, drop what does not fit. */
static uint16_t
forward(struct guest *g, bool is_a, struct run *r)
{
	struct rte_mbuf *pkts[BURST];
	uint16_t n, sent = 0;

	if (is_a)
		a_call_begin();
	n = vhf_pmd_rx_burst(g->from_guest.q, pkts, BURST);
	if (is_a)
		a_call_end(r);
	if (n == 0)
		return 0;
	if (is_a)
		a_call_begin();
	sent = vhf_pmd_tx_burst(g->to_guest.q, pkts, n);
	if (is_a)
		a_call_end(r);
	rte_pktmbuf_free_bulk(&pkts[sent], n - sent);
	return n;
}

/*
 * Case 3: once A's device call is over, its hostile buffers are consumed or
 * its queue is broken, or at least one went: a burst that leaves them all
 * where they were would walk them again next time, and every time after.
 */
static void
check_a_rx_ring_moved(const struct guest *a, uint16_t last_avail_before)
{
	const struct vhf_vq *vq = &a->to_guest.q->vq;

	if (vq->broken || vq->last_avail != last_avail_before ||
	    vq->last_avail == A_IND_BUFS)
		return;
	print_message("# A's RX ring: %u hostile buffers left in place after a burst, queue not "
		      "broken: the next burst walks them again\n",
		      (unsigned int)(A_IND_BUFS - vq->last_avail));
	fail();
}

static uint64_t
cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void
world_fini(void)
{
	if (!world.live)
		return;
	world.live = false;
	a_fini(&world.a);
	vhf_pmd_harness_fini(&world.b.from_guest);
	vhf_pmd_harness_fini(&world.b.to_guest);
}

static void
run(enum hostile what, struct run *r)
{
	struct vhf_guest_config b_from = { .size = RING, .tx_max_len = B_MAX_LEN };
	struct vhf_guest_config b_to = { .size = RING, .mrg_rxbuf = true };
	struct guest *a = &world.a, *b = &world.b;
	uint32_t sent_seq = 0, recv_seq = 0;
	unsigned int it;

	memset(r, 0, sizeof(*r));
	/* Zeroed harnesses are safe to finish: a set-up that fails half-way is cleaned up too. */
	memset(&world, 0, sizeof(world));
	world.live = true;
	vhf_pmd_harness_init(&b->from_guest, "guest B", &b_from, true, pool, 0, 0);
	vhf_pmd_harness_init(&b->to_guest, "guest B", &b_to, false, NULL, 0, 0);
	a_init(a, what);
	call.b_desc_reads = 0;

	for (it = 0; it < ITERATIONS; it++) {
		uint16_t a_avail = a->to_guest.q->vq.last_avail;
		uint64_t t0;
		uint16_t n;

		b_send(b, &sent_seq);
		a_act(a, what, r);

		t0 = cpu_ns();
		n = forward(a, true, r);
		forward(b, false, r);
		r->cpu_ns += cpu_ns() - t0;

		/* Checked with every mbuf back: a failure leaves the pool whole for the next. */
		check_bound("descriptors read by one of A's calls", r->a_max_call_reads,
			    CALL_DESC_BOUND(RING, BURST));
		check_bound("chains A published and the device took in one call",
			    r->a_max_call_chains, CALL_DESC_BOUND(RING, BURST));
		if (what == A_HUGE_FRAMES || what == A_LONG_FRAMES || what == A_SHORT_CHAINS)
			assert_int_equal(n, 0); /* nothing of A's reaches the application */
		if (what == A_IND_TABLES)
			check_a_rx_ring_moved(a, a_avail);
		/* Every mbuf forwarded or dropped, back in the pool. */
		assert_int_equal(rte_mempool_in_use_count(pool), 0);
		b_receive(b, &recv_seq, &r->b_pkts[it], &r->b_bytes[it]);
	}

	vhf_queue_xstats(b->from_guest.q, xstat_names, r->b_from_guest_cnt);
	vhf_queue_xstats(b->to_guest.q, NULL, r->b_to_guest_cnt);
	vhf_queue_xstats(a->from_guest.q, NULL, r->a_from_guest_cnt);
	vhf_queue_xstats(a->to_guest.q, NULL, r->a_to_guest_cnt);
	r->b_reads = call.b_desc_reads;
	world_fini();
}

/* The counter called name, among a queue's counters as run() copied them. */
static uint64_t
named(const uint64_t *cnt, const char *name)
{
	int c;

	for (c = 0; c < VHF_QUEUE_XSTATS; c++)
		if (strcmp(xstat_names[c], name) == 0)
			return cnt[c];
	fail_msg("no counter %s", name);
	return 0;
}

/* Counters that say something went wrong: drops and guest errors. */
static uint64_t
damage(const uint64_t *cnt)
{
	uint64_t sum = 0;
	int c;

	for (c = 0; c < VHF_QUEUE_XSTATS; c++)
		if (strncmp(xstat_names[c], "drop_", 5) == 0 ||
		    strncmp(xstat_names[c], "err_", 4) == 0)
			sum += cnt[c];
	return sum;
}

static void
check_value(const char *what, uint64_t got, uint64_t want)
{
	if (got == want)
		return;
	print_message("# %s: %llu, expected %llu\n", what, (unsigned long long)got,
		      (unsigned long long)want);
	fail();
}

static void
check_counters_equal(const char *queue, const uint64_t *got, const uint64_t *want)
{
	int c;

	for (c = 0; c < VHF_QUEUE_XSTATS; c++) {
		if (got[c] == want[c])
			continue;
		print_message("# %s %s: %llu, with A idle %llu\n", queue, xstat_names[c],
			      (unsigned long long)got[c], (unsigned long long)want[c]);
		fail();
	}
}

/* Run with A idle, then with A hostile; B must not tell the difference. */
static void
isolation_case(enum hostile what, struct run *hostile)
{
	struct run base;
	unsigned int it;

	run(A_IDLE, &base);
	/* The baseline itself: B's every frame forwarded, nothing dropped anywhere. */
	for (it = 0; it < ITERATIONS; it++)
		assert_int_equal(base.b_pkts[it], BURST);
	assert_int_equal(damage(base.b_from_guest_cnt) + damage(base.b_to_guest_cnt), 0);
	assert_int_equal(damage(base.a_from_guest_cnt) + damage(base.a_to_guest_cnt), 0);

	run(what, hostile);
	for (it = 0; it < ITERATIONS; it++) {
		assert_int_equal(hostile->b_pkts[it], base.b_pkts[it]);
		assert_int_equal(hostile->b_bytes[it], base.b_bytes[it]);
	}
	check_counters_equal("B's TX queue", hostile->b_from_guest_cnt, base.b_from_guest_cnt);
	check_counters_equal("B's RX queue", hostile->b_to_guest_cnt, base.b_to_guest_cnt);
	/* A's damage is counted, and in A's own queues. */
	assert_true(damage(hostile->a_from_guest_cnt) + damage(hostile->a_to_guest_cnt) > 0);

	print_message("# %s: %u iterations, B forwarded %u packets each; lcore CPU %.1f us per "
		      "iteration (A idle: %.1f us); information only\n",
		      hostile_names[what], ITERATIONS, BURST,
		      (double)hostile->cpu_ns / ITERATIONS / 1000,
		      (double)base.cpu_ns / ITERATIONS / 1000);
	if (hostile->b_reads != 0)
		print_message("# descriptors read by A's costliest call: %llu (bound %llu)\n",
			      (unsigned long long)hostile->a_max_call_reads,
			      (unsigned long long)CALL_DESC_BOUND(RING, BURST));
	else
		print_message("# descriptor reads not counted: lib/ does not copy descriptors "
			      "through vhf_shm_read_desc()\n");
}

/* ------------------------------------------------------------------------------------- */
/* The cases                                                                               */

/* After each case, passed or failed: the watchdog off, the guests gone. */
static int
teardown(void **state)
{
	(void)state;
	alarm(0);
	call.in_a = false;
	world_fini();
	return 0;
}

/* Case 1: every frame dropped as too long, none after taking mbufs for it. */
static void
check_a_frames_dropped(const struct run *r)
{
	check_value("A's frames that took mbufs from the shared pool and found it dry "
		    "(drop_no_mbuf)", named(r->a_from_guest_cnt, "drop_no_mbuf"), 0);
	check_value("A's frames dropped as too long",
		    named(r->a_from_guest_cnt, "drop_frame_too_long"), r->a_frames_sent);
}

/* 1: dropped before a chain of mbufs is filled; counted as A's drop_frame_too_long. */
static void
test_frames_of_128_mib(void **state)
{
	struct run r;

	(void)state;
	watchdog_arm(__func__);
	isolation_case(A_HUGE_FRAMES, &r);
	check_a_frames_dropped(&r);
}

static void
test_frames_of_100000_bytes(void **state)
{
	struct run r;

	(void)state;
	watchdog_arm(__func__);
	isolation_case(A_LONG_FRAMES, &r);
	check_a_frames_dropped(&r);
}

/* 2: each of A's calls takes a bounded number of chains, however many the guest publishes. */
static void
test_short_chains_published_during_the_call(void **state)
{
	struct run r;

	(void)state;
	watchdog_arm(__func__);
	isolation_case(A_SHORT_CHAINS, &r);
	assert_true(named(r.a_from_guest_cnt, "err_net_hdr") > 0);
	print_message("# A's costliest call took %llu short chains (bound %llu)\n",
		      (unsigned long long)r.a_max_call_chains,
		      (unsigned long long)CALL_DESC_BOUND(RING, BURST));
}

/* 3: the buffers go away (consumed, or the queue broken), never walked again every burst. */
static void
test_rx_buffers_of_huge_indirect_tables(void **state)
{
	struct run r;

	(void)state;
	watchdog_arm(__func__);
	isolation_case(A_IND_TABLES, &r);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_frames_of_128_mib, teardown),
		cmocka_unit_test_teardown(test_frames_of_100000_bytes, teardown),
		cmocka_unit_test_teardown(test_short_chains_published_during_the_call, teardown),
		cmocka_unit_test_teardown(test_rx_buffers_of_huge_indirect_tables, teardown),
	};
	int ret;

	(void)argc;
	/* Line by line: what the watchdog writes must come after everything printed before. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGALRM, watchdog_fired);
	if (vhf_pmd_harness_eal_init(argv[0]) < 0) {
		printf("Bail out! EAL init failed\n");
		return 1;
	}
	/* No per-lcore cache: every mbuf taken is missing from the pool at once. */
	pool = rte_pktmbuf_pool_create("isolation_pool", POOL_MBUFS, 0, 0,
				       RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	if (pool == NULL) {
		printf("Bail out! no mempool\n");
		return 1;
	}
	ret = cmocka_run_group_tests(tests, NULL, NULL);
	rte_mempool_free(pool);
	rte_eal_cleanup();
	return ret;
}
