/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 dpdk-vhostfix authors
 */

/*
 * Self-test of the interleaving explorer with classic litmus tests written
 * with the vhf_shm_* helpers the datapath uses: if the explorer could not
 * find the store-buffering outcome on TSO, or found it where a fence forbids
 * it, its verdicts on the datapath would be worthless. Also checks that the
 * DPOR mode reaches exactly the results of the full search, on the litmus
 * tests and on random small programs. TAP output; --quick runs fewer random
 * programs (sanitizer builds).
 */

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vhf_explore.h"
#include "vhf_race_tap.h"
#include "vhf_shm.h"

/*
 * Set of outcome codes seen across the executions of one exploration, so that
 * two explorations (full and DPOR) can be compared.
 */
struct outcome_set {
	uint64_t *v;
	size_t n;
	size_t cap;
};

static void
set_add(struct outcome_set *s, uint64_t code)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i] == code)
			return;
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 64;
		s->v = realloc(s->v, s->cap * sizeof(*s->v));
		if (s->v == NULL)
			abort();
	}
	s->v[s->n++] = code;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static bool
set_equal(struct outcome_set *a, struct outcome_set *b)
{
	if (a->n != b->n)
		return false;
	qsort(a->v, a->n, sizeof(*a->v), cmp_u64);
	qsort(b->v, b->n, sizeof(*b->v), cmp_u64);
	return memcmp(a->v, b->v, a->n * sizeof(*a->v)) == 0;
}

static void
set_clear(struct outcome_set *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/*
 * The litmus context: two shared words, registers, signal flags.
 */
struct lit {
	uint16_t x;
	uint16_t y;
	uint16_t r0;
	uint16_t r1;
	bool fence;          /* variant: fences in */
	bool fence0;         /* variant: fence in thread 0 only (lost wake-up) */
	bool fence1;         /* variant: fence in thread 1 only (lost wake-up) */
	bool kick;           /* signal flags */
	bool flag_a;
	bool flag_b;
	unsigned int spins;
	struct outcome_set seen;
};

static struct lit L;

static void
lit_setup(void *ctx)
{
	struct lit *l = ctx;

	l->x = 0;
	l->y = 0;
	l->r0 = 0xffff;
	l->r1 = 0xffff;
	l->kick = false;
	l->flag_a = false;
	l->flag_b = false;
	l->spins = 0;
}

static const char *
lit_name(void *ctx, const void *addr)
{
	struct lit *l = ctx;

	if (addr == &l->x)
		return "x";
	if (addr == &l->y)
		return "y";
	if (addr == &l->kick)
		return "kick";
	if (addr == &l->flag_a)
		return "flag_a";
	if (addr == &l->flag_b)
		return "flag_b";
	return NULL;
}

static uint64_t
lit_code(const struct lit *l, const struct vhf_explore_outcome *o)
{
	return (uint64_t)l->r0 | (uint64_t)l->r1 << 16 | (uint64_t)l->x << 32 |
	       (uint64_t)l->y << 40 | (uint64_t)o->end << 48 | (uint64_t)o->done_mask << 52 |
	       (uint64_t)o->waiting_mask << 56;
}

/* Store buffering: T0: x = 1; [mb]; r0 = y.  T1: y = 1; [mb]; r1 = x. */
static void
sb_t0(void *ctx)
{
	struct lit *l = ctx;

	vhf_shm_store_relaxed16(&l->x, 1);
	if (l->fence)
		vhf_shm_mb();
	l->r0 = vhf_shm_load_relaxed16(&l->y);
}

static void
sb_t1(void *ctx)
{
	struct lit *l = ctx;

	vhf_shm_store_relaxed16(&l->y, 1);
	if (l->fence)
		vhf_shm_mb();
	l->r1 = vhf_shm_load_relaxed16(&l->x);
}

static int
sb_check(void *ctx, const struct vhf_explore_outcome *o)
{
	struct lit *l = ctx;

	set_add(&l->seen, lit_code(l, o));
	return o->end == VHF_EXPLORE_END_DONE && l->r0 == 0 && l->r1 == 0 ? 1 : 0;
}

/*
 * Message passing: T0: x = 42; y = 1 (release).  T1: r0 = y (acquire); r1 = x.
 * r0 == 1 && r1 != 42 is the stale read.
 */
static void
mp_t0(void *ctx)
{
	struct lit *l = ctx;

	vhf_shm_store_relaxed16(&l->x, 42);
	vhf_shm_store_release16(&l->y, 1);
}

static void
mp_t1(void *ctx)
{
	struct lit *l = ctx;

	l->r0 = vhf_shm_load_acquire16(&l->y);
	l->r1 = vhf_shm_load_relaxed16(&l->x);
}

static int
mp_check(void *ctx, const struct vhf_explore_outcome *o)
{
	struct lit *l = ctx;

	set_add(&l->seen, lit_code(l, o));
	return l->r0 == 1 && l->r1 != 42 ? 1 : 0;
}

/* Deadlock: each thread waits for the other's signal before giving its own. */
static void
dl_t0(void *ctx)
{
	struct lit *l = ctx;

	vhf_shm_store_relaxed16(&l->x, 1);
	vhf_explore_wait_flag(&l->flag_a);
	vhf_explore_signal(&l->flag_b);
}

static void
dl_t1(void *ctx)
{
	struct lit *l = ctx;

	l->r1 = vhf_shm_load_relaxed16(&l->x);
	vhf_explore_wait_flag(&l->flag_b);
	vhf_explore_signal(&l->flag_a);
}

static int
dl_check(void *ctx, const struct vhf_explore_outcome *o)
{
	struct lit *l = ctx;

	set_add(&l->seen, lit_code(l, o));
	if (o->end != VHF_EXPLORE_END_DEADLOCK || o->waiting_mask != 3 ||
	    o->wait_on[0] != &l->flag_a || o->wait_on[1] != &l->flag_b)
		return 2; /* not the expected deadlock */
	return 1;
}

/* Livelock: T0 polls x, which nobody sets. */
static void
ll_t0(void *ctx)
{
	struct lit *l = ctx;

	while (vhf_shm_load_acquire16(&l->x) == 0) {
		l->spins++;
		vhf_explore_yield();
	}
}

static void
ll_t1(void *ctx)
{
	struct lit *l = ctx;

	vhf_shm_store_relaxed16(&l->y, 1);
}

static int
ll_check(void *ctx, const struct vhf_explore_outcome *o)
{
	(void)ctx;
	return o->end == VHF_EXPLORE_END_STEP_BOUND ? 1 : 0;
}

/*
 * Lost wake-up, the shape of the RX stall. x is the producer's index (avail
 * idx), y the consumer's "I am going to sleep" word (notification enable).
 * Producer: publish x, [mb], look at y, kick if set. Consumer: x not there
 * yet: set y, [mb], look at x again, sleep on the kick if still nothing.
 * Lost wake-up: the consumer sleeps while x was published.
 */
static void
lw_producer(void *ctx)
{
	struct lit *l = ctx;

	vhf_shm_store_release16(&l->x, 1);
	if (l->fence0)
		vhf_shm_mb();
	if (vhf_shm_load_acquire16(&l->y) != 0)
		vhf_explore_signal(&l->kick);
}

static void
lw_consumer(void *ctx)
{
	struct lit *l = ctx;

	for (;;) {
		if (vhf_shm_load_acquire16(&l->x) != 0)
			break;
		vhf_shm_store_relaxed16(&l->y, 1);
		if (l->fence1)
			vhf_shm_mb();
		if (vhf_shm_load_acquire16(&l->x) != 0)
			break;
		vhf_explore_wait_flag(&l->kick);
		vhf_shm_store_relaxed16(&l->y, 0);
	}
	l->r1 = 1; /* consumed */
}

static int
lw_check(void *ctx, const struct vhf_explore_outcome *o)
{
	struct lit *l = ctx;

	set_add(&l->seen, lit_code(l, o));
	if (o->end == VHF_EXPLORE_END_DEADLOCK && (o->waiting_mask & 2) && l->x != 0)
		return 1; /* lost wake-up */
	if (o->end != VHF_EXPLORE_END_DONE)
		return 2;
	return 0;
}

/*
 * Same lost wake-up with a predicate wait on a plain flag set in the
 * producer's trailing code, the form DPOR must treat as dependent with all.
 */
static bool
pred_kick(void *arg)
{
	return *(bool *)arg;
}

static void
lwp_producer(void *ctx)
{
	struct lit *l = ctx;

	vhf_shm_store_release16(&l->x, 1);
	if (l->fence0)
		vhf_shm_mb();
	if (vhf_shm_load_acquire16(&l->y) != 0)
		l->kick = true; /* plain store, seen by the predicate */
}

static void
lwp_consumer(void *ctx)
{
	struct lit *l = ctx;

	for (;;) {
		if (vhf_shm_load_acquire16(&l->x) != 0)
			break;
		vhf_shm_store_relaxed16(&l->y, 1);
		if (l->fence1)
			vhf_shm_mb();
		if (vhf_shm_load_acquire16(&l->x) != 0)
			break;
		vhf_explore_wait(pred_kick, &l->kick);
		l->kick = false;
		vhf_shm_store_relaxed16(&l->y, 0);
	}
	l->r1 = 1;
}

struct scen_def {
	const char *name;
	void (*t0)(void *);
	void (*t1)(void *);
	int (*check)(void *, const struct vhf_explore_outcome *);
};

static const struct scen_def SB = { "SB", sb_t0, sb_t1, sb_check };
static const struct scen_def MP = { "MP", mp_t0, mp_t1, mp_check };
static const struct scen_def DL = { "deadlock", dl_t0, dl_t1, dl_check };
static const struct scen_def LL = { "livelock", ll_t0, ll_t1, ll_check };
static const struct scen_def LW = { "lost-wakeup", lw_producer, lw_consumer, lw_check };
static const struct scen_def LWP = { "lost-wakeup-pred", lwp_producer, lwp_consumer, lw_check };

static struct vhf_explore_result
explore(const struct scen_def *def, bool tso, bool dpor, unsigned int max_steps,
	unsigned int ignore_fences)
{
	struct vhf_explore_scenario sc = {
		.ctx = &L,
		.nthreads = 2,
		.setup = lit_setup,
		.thread_fn = { def->t0, def->t1 },
		.check = def->check,
		.name_addr = lit_name,
	};
	struct vhf_explore_opts opts = {
		.tso = tso,
		.dpor = dpor,
		.max_steps = max_steps,
		.ignore_fences_mask = ignore_fences,
	};
	struct vhf_explore_result res;

	if (vhf_explore_run(&sc, &opts, &res) != 0) {
		ok(false, "%s: vhf_explore_run failed", def->name);
		memset(&res, 0, sizeof(res));
	}
	printf("# %-17s %-3s %-4s%s: %" PRIu64 " executions (%" PRIu64 " done, %" PRIu64
	       " deadlock, %" PRIu64 " step bound, %" PRIu64 " sleep-blocked), %" PRIu64
	       " failing, %.3f s\n", def->name, tso ? "TSO" : "SC", dpor ? "DPOR" : "full",
	       ignore_fences ? " (fences ignored)" : "", res.executions, res.completed,
	       res.deadlocks, res.step_bound, res.sleep_blocked, res.failures, res.seconds);
	return res;
}

/* Print the recorded counterexample as TAP comments; return whether it contains needle. */
static bool
trace_has(const char *needle)
{
	char *text = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);
	bool found;

	if (m == NULL)
		return false;
	vhf_explore_print_trace(m);
	fclose(m);
	found = strstr(text, needle) != NULL;
	for (char *line = strtok(text, "\n"); line != NULL; line = strtok(NULL, "\n"))
		printf("#   %s\n", line);
	free(text);
	return found;
}

/*
 * Run a scenario full and with DPOR, and demand the same set of outcomes
 * (final registers, memory, how it ended): DPOR must lose nothing.
 */
static void
compare_modes(const struct scen_def *def, bool tso, unsigned int max_steps)
{
	struct outcome_set full;
	struct vhf_explore_result rf, rd;

	set_clear(&L.seen);
	rf = explore(def, tso, false, max_steps, 0);
	full = L.seen;
	memset(&L.seen, 0, sizeof(L.seen));
	rd = explore(def, tso, true, max_steps, 0);
	ok(set_equal(&full, &L.seen) && rd.executions <= rf.executions &&
	   (rf.failures != 0) == (rd.failures != 0),
	   "%s %s: DPOR reaches the same %zu outcomes as the full search (%" PRIu64
	   " vs %" PRIu64 " executions)", def->name, tso ? "TSO" : "SC", full.n,
	   rd.executions, rf.executions);
	set_clear(&full);
	set_clear(&L.seen);
}

/*
 * Random small programs: a little interpreter over loads, stores (relaxed,
 * release, seq_cst), fences, signals and waits, plain flags with predicate
 * waits, and loads that branch or loop on the value read (the datapath's
 * control flow depends on what it reads). Full search and DPOR must agree on
 * the set of final states.
 */
enum {
	I_LD, I_ST, I_ST_SC, I_MB, I_SIG, I_WAIT, I_PSET, I_PWAIT, I_YIELD,
	I_LD_SKIP,  /* load; if non-zero skip the next instruction */
	I_LD_RETRY, /* load; if zero go back to the start (at most twice) */
};

struct insn {
	uint8_t op;
	uint8_t a;   /* word or flag */
	uint8_t v;   /* value stored */
};

#define RP_WORDS 3
#define RP_MAXLEN 6

struct rprog {
	int nthreads;
	int len[VHF_EXPLORE_MAX_THREADS];
	struct insn code[VHF_EXPLORE_MAX_THREADS][RP_MAXLEN];
	uint16_t mem[RP_WORDS];
	bool flag[2];
	bool plain[2];
	uint16_t reg[VHF_EXPLORE_MAX_THREADS][RP_MAXLEN];
	struct outcome_set seen;
};

static struct rprog R;

static void
rp_setup(void *ctx)
{
	struct rprog *r = ctx;

	memset(r->mem, 0, sizeof(r->mem));
	memset(r->flag, 0, sizeof(r->flag));
	memset(r->plain, 0, sizeof(r->plain));
	memset(r->reg, 0xff, sizeof(r->reg));
}

static bool
rp_pred(void *arg)
{
	return *(bool *)arg;
}

static void
rp_run(struct rprog *r, int t)
{
	int retries = 0;

	for (int i = 0; i < r->len[t]; i++) {
		const struct insn *in = &r->code[t][i];

		switch (in->op) {
		case I_LD:
			r->reg[t][i] = vhf_shm_load_acquire16(&r->mem[in->a]);
			break;
		case I_LD_SKIP:
			r->reg[t][i] = vhf_shm_load_acquire16(&r->mem[in->a]);
			if (r->reg[t][i] != 0)
				i++;
			break;
		case I_LD_RETRY:
			r->reg[t][i] = vhf_shm_load_acquire16(&r->mem[in->a]);
			if (r->reg[t][i] == 0 && retries++ < 2)
				i = -1;
			break;
		case I_ST:
			vhf_shm_store_release16(&r->mem[in->a], in->v);
			break;
		case I_ST_SC:
			vhf_shm_store16(&r->mem[in->a], in->v, __ATOMIC_SEQ_CST);
			break;
		case I_MB:
			vhf_shm_mb();
			break;
		case I_SIG:
			vhf_explore_signal(&r->flag[in->a]);
			break;
		case I_WAIT:
			vhf_explore_wait_flag(&r->flag[in->a]);
			break;
		case I_PSET:
			r->plain[in->a] = true;
			break;
		case I_PWAIT:
			vhf_explore_wait(rp_pred, &r->plain[in->a]);
			break;
		case I_YIELD:
			vhf_explore_yield();
			break;
		}
	}
}

static void
rp_t0(void *ctx)
{
	rp_run(ctx, 0);
}

static void
rp_t1(void *ctx)
{
	rp_run(ctx, 1);
}

static void
rp_t2(void *ctx)
{
	rp_run(ctx, 2);
}

static int
rp_check(void *ctx, const struct vhf_explore_outcome *o)
{
	struct rprog *r = ctx;
	uint64_t h = 1469598103934665603ull;
	const uint8_t *parts[] = { (const uint8_t *)r->mem, (const uint8_t *)r->flag,
				   (const uint8_t *)r->plain, (const uint8_t *)r->reg };
	const size_t sizes[] = { sizeof(r->mem), sizeof(r->flag), sizeof(r->plain),
				 sizeof(r->reg) };

	for (size_t k = 0; k < 4; k++)
		for (size_t i = 0; i < sizes[k]; i++)
			h = (h ^ parts[k][i]) * 1099511628211ull;
	h = (h ^ (uint64_t)o->end) * 1099511628211ull;
	h = (h ^ (uint64_t)o->done_mask) * 1099511628211ull;
	set_add(&r->seen, h);
	return 0;
}

static uint64_t rng_state = 0x2545F4914F6CDD1Dull;

static unsigned int
rng(unsigned int n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (unsigned int)((rng_state >> 11) % n);
}

static void
rp_generate(struct rprog *r, int nthreads, int len)
{
	r->nthreads = nthreads;
	for (int t = 0; t < nthreads; t++) {
		r->len[t] = len;
		for (int i = 0; i < len; i++) {
			struct insn *in = &r->code[t][i];
			unsigned int k = rng(100);

			/* Mostly memory accesses; the rest keeps waits satisfiable often. */
			if (k < 25)
				in->op = I_LD;
			else if (k < 30)
				in->op = I_LD_SKIP;
			else if (k < 35)
				in->op = I_LD_RETRY;
			else if (k < 65)
				in->op = I_ST;
			else if (k < 70)
				in->op = I_ST_SC;
			else if (k < 80)
				in->op = I_MB;
			else if (k < 85)
				in->op = I_SIG;
			else if (k < 90)
				in->op = I_WAIT;
			else if (k < 94)
				in->op = I_PSET;
			else if (k < 97)
				in->op = I_PWAIT;
			else
				in->op = I_YIELD;
			in->a = (uint8_t)(in->op == I_LD || in->op == I_ST || in->op == I_ST_SC ||
					  in->op == I_LD_SKIP || in->op == I_LD_RETRY ?
					  rng(RP_WORDS) : rng(2));
			in->v = (uint8_t)(1 + rng(3));
		}
	}
}

/* Full search and DPOR of the program in R; false on a mismatch. Big programs are skipped. */
static bool
rp_compare(bool tso, uint64_t *full_total, uint64_t *dpor_total, int *skipped)
{
	struct vhf_explore_scenario sc = {
		.ctx = &R,
		.nthreads = R.nthreads,
		.setup = rp_setup,
		.thread_fn = { rp_t0, rp_t1, rp_t2 },
		.check = rp_check,
	};
	struct vhf_explore_opts opts = { .tso = tso, .max_steps = 200, .max_executions = 300000 };
	struct vhf_explore_result rf, rd;
	struct outcome_set full;
	bool same;

	set_clear(&R.seen);
	if (vhf_explore_run(&sc, &opts, &rf) != 0)
		return false;
	if (rf.truncated) {
		(*skipped)++;
		return true;
	}
	full = R.seen;
	memset(&R.seen, 0, sizeof(R.seen));
	opts.dpor = true;
	opts.max_executions = 0;
	if (vhf_explore_run(&sc, &opts, &rd) != 0)
		return false;
	same = set_equal(&full, &R.seen) && rf.step_bound == 0 && rd.executions <= rf.executions;
	*full_total += rf.executions;
	*dpor_total += rd.executions;
	set_clear(&full);
	set_clear(&R.seen);
	return same;
}

static void
random_programs(int count, int nthreads, int len)
{
	uint64_t full_total = 0, dpor_total = 0;
	int bad = 0, first_bad = -1, skipped = 0;

	for (int i = 0; i < count; i++) {
		rp_generate(&R, nthreads, len);
		for (int tso = 0; tso < 2; tso++) {
			if (!rp_compare(tso, &full_total, &dpor_total, &skipped)) {
				bad++;
				if (first_bad < 0)
					first_bad = i;
			}
		}
	}
	ok(bad == 0, "random programs (%d x %d threads x %d ops, SC and TSO, %d too big skipped): "
	   "DPOR reaches every final state of the full search (%" PRIu64 " vs %" PRIu64
	   " executions)", count, nthreads, len, skipped, dpor_total, full_total);
	if (bad)
		printf("# %d mismatches, first program %d\n", bad, first_bad);
}

/* A bigger program for the speed figure: two threads of five accesses each (four: quick). */
static void
speed_test(bool quick)
{
	struct vhf_explore_scenario sc = {
		.ctx = &R,
		.nthreads = 2,
		.setup = rp_setup,
		.thread_fn = { rp_t0, rp_t1 },
		.check = NULL,
	};
	struct vhf_explore_opts opts = { .tso = true, .max_steps = 200 };
	struct vhf_explore_result res;
	static const struct insn prog[2][5] = {
		{ { I_ST, 0, 1 }, { I_LD, 1, 0 }, { I_ST, 2, 1 }, { I_LD, 0, 0 }, { I_ST, 1, 2 } },
		{ { I_ST, 1, 1 }, { I_LD, 0, 0 }, { I_ST, 2, 2 }, { I_LD, 1, 0 }, { I_ST, 0, 3 } },
	};

	R.nthreads = 2;
	R.len[0] = R.len[1] = quick ? 4 : 5;
	for (int t = 0; t < 2; t++)
		memcpy(R.code[t], prog[t], sizeof(prog[t]));
	vhf_explore_run(&sc, &opts, &res);
	printf("# speed: 2 x %d accesses, TSO, full search: %" PRIu64 " executions, %" PRIu64
	       " steps in %.2f s: %.0f executions/s, %.1f ns/step\n", R.len[0], res.executions,
	       res.steps, res.seconds, res.executions / res.seconds,
	       res.seconds * 1e9 / res.steps);
	ok(res.executions > (quick ? 1000u : 100000u) && !res.truncated && res.failures == 0,
	   "speed: %" PRIu64 " executions in %.2f s", res.executions, res.seconds);
	opts.dpor = true;
	vhf_explore_run(&sc, &opts, &res);
	printf("# speed: same with DPOR: %" PRIu64 " executions in %.3f s\n", res.executions,
	       res.seconds);
}

int
main(int argc, char **argv)
{
	struct vhf_explore_result r, r2;
	bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;

	/* 1-2: store buffering, no fence. */
	L.fence = false;
	r = explore(&SB, true, false, 0, 0);
	ok(r.failures_by_class[1] > 0 && r.completed == r.executions,
	   "SB without fence: r0 == r1 == 0 reachable on TSO (%" PRIu64 " of %" PRIu64
	   " executions)", r.failures, r.executions);
	ok(trace_has("(buffered)"), "SB counterexample trace shows the buffered stores");
	r = explore(&SB, false, false, 0, 0);
	ok(r.failures == 0 && r.executions == 6,
	   "SB without fence: r0 == r1 == 0 not reachable on SC (%" PRIu64 " executions)",
	   r.executions);

	/* 4-5: store buffering with a full barrier. */
	L.fence = true;
	r = explore(&SB, true, false, 0, 0);
	ok(r.failures == 0 && r.executions > 0,
	   "SB with vhf_shm_mb(): r0 == r1 == 0 not reachable on TSO (%" PRIu64 " executions)",
	   r.executions);
	r = explore(&SB, true, false, 0, 1);
	ok(r.failures > 0, "SB with T0's fence ignored (mutation): reachable again on TSO");

	/* 6: message passing. */
	r = explore(&MP, true, false, 0, 0);
	ok(r.failures == 0 && r.executions > 0,
	   "MP release/acquire: stale data never seen on TSO (%" PRIu64 " executions)",
	   r.executions);

	/* 7-8: deadlock, livelock. */
	r = explore(&DL, true, false, 0, 0);
	ok(r.executions > 0 && r.deadlocks == r.executions &&
	   r.failures_by_class[1] == r.executions,
	   "deadlock detected with both threads waiting (%" PRIu64 " executions)",
	   r.executions);
	r = explore(&LL, true, false, 50, 0);
	ok(r.executions > 0 && r.step_bound == r.executions && r.failures == r.executions,
	   "polling for a word nobody writes hits the step bound (%" PRIu64 " executions)",
	   r.executions);

	/* 9: determinism. */
	L.fence = false;
	r = explore(&SB, true, false, 0, 0);
	r2 = explore(&SB, true, false, 0, 0);
	ok(r.executions == r2.executions && r.failures == r2.failures && r.steps == r2.steps,
	   "two runs give the same counts (%" PRIu64 " executions, %" PRIu64 " steps)",
	   r.executions, r.steps);

	/* 10-13: lost wake-up. */
	L.fence0 = L.fence1 = false;
	r = explore(&LW, true, false, 0, 0);
	ok(r.failures_by_class[1] > 0 && r.failures_by_class[2] == 0,
	   "lost wake-up without fences reachable on TSO (%" PRIu64 " of %" PRIu64 ")",
	   r.failures, r.executions);
	ok(trace_has("T1 sleeps waiting for kick"), "lost wake-up counterexample printed");
	r = explore(&LW, false, false, 0, 0);
	ok(r.failures == 0, "lost wake-up without fences not reachable on SC (%" PRIu64
	   " executions)", r.executions);
	L.fence0 = true;
	L.fence1 = false;
	r = explore(&LW, true, false, 0, 0);
	r2 = r;
	L.fence0 = false;
	L.fence1 = true;
	r = explore(&LW, true, false, 0, 0);
	ok(r.failures_by_class[1] > 0 && r2.failures_by_class[1] > 0,
	   "lost wake-up with a fence on one side only still reachable on TSO");
	L.fence0 = L.fence1 = true;
	r = explore(&LW, true, false, 0, 0);
	ok(r.failures == 0 && r.completed == r.executions,
	   "lost wake-up with fences on both sides not reachable on TSO (%" PRIu64
	   " executions)", r.executions);

	/* 14-15: the predicate form of the wait. */
	L.fence0 = L.fence1 = false;
	r = explore(&LWP, true, false, 0, 0);
	ok(r.failures_by_class[1] > 0, "predicate wait: lost wake-up without fences on TSO");
	L.fence0 = L.fence1 = true;
	r = explore(&LWP, true, false, 0, 0);
	ok(r.failures == 0, "predicate wait: none with fences on TSO");

	/* 16-27: DPOR against the full search. */
	L.fence = false;
	compare_modes(&SB, true, 0);
	compare_modes(&SB, false, 0);
	L.fence = true;
	compare_modes(&SB, true, 0);
	compare_modes(&MP, true, 0);
	compare_modes(&DL, true, 0);
	for (int v = 0; v < 4; v++) {
		L.fence0 = v & 1;
		L.fence1 = (v >> 1) & 1;
		compare_modes(&LW, true, 0);
	}
	L.fence0 = L.fence1 = false;
	compare_modes(&LWP, true, 0);
	L.fence0 = L.fence1 = true;
	compare_modes(&LWP, true, 0);
	compare_modes(&LW, false, 0);

	/* 28-29: random programs, then speed. */
	/* --quick (sanitizer builds): the same checks on fewer random programs. */
	random_programs(quick ? 40 : 300, 2, 4);
	random_programs(quick ? 10 : 60, 3, 3);
	speed_test(quick);

	printf("1..%d\n", test_num);
	return test_failed ? 1 : 0;
}
