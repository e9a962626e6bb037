/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 dpdk-vhostfix authors
 */

/*
 * The interleaving explorer: coroutines, the x86-TSO store buffers, the
 * replaying depth-first search and the DPOR bookkeeping. See vhf_explore.h.
 *
 * Vocabulary. A "process" is what the scheduler can pick: thread T (ids 0..2)
 * or the flush agent of thread T's store buffer (ids 3..5). A "step" is one
 * pick; step number i (1-based "index") is taken at node i - 1, the state
 * after i - 1 steps. Nodes persist across executions: the prefix of the next
 * execution replays the recorded picks.
 */

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vhf_explore.h"
#include "vhf_shm.h"

#ifndef VHF_SHM_HOOKS
#error "build the explorer (and everything it explores) with -DVHF_SHM_HOOKS"
#endif

/*
 * glibc's swapcontext() makes a sigprocmask system call each way: ~0.9 us a
 * round trip here, more than everything else a step costs. On x86-64 a
 * six-register switch does the job in a few ns; ucontext stays the portable
 * path (and -DVHF_EXPLORE_UCONTEXT selects it for comparison).
 */
#if defined(__x86_64__) && !defined(VHF_EXPLORE_UCONTEXT)
#define VHF_EXPLORE_FAST_SWITCH 1
#else
#include <ucontext.h>
#endif

#if defined(__SANITIZE_ADDRESS__)
#define VHF_EXPLORE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define VHF_EXPLORE_ASAN 1
#endif
#endif
#ifdef VHF_EXPLORE_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

#define MAXT VHF_EXPLORE_MAX_THREADS
#define MAXP (2 * MAXT)
#define SB_SIZE VHF_EXPLORE_SB_SIZE
#define ATAB_SIZE 1024 /* power of 2; distinct hooked words + flags per execution */

#define FLUSHER(t) (MAXT + (t))
#define FAMILY(p) ((p) % MAXT)
#define IS_FLUSHER(p) ((p) >= MAXT)
#define BIT(p) (1u << (p))

enum op_kind {
	OP_NONE,
	OP_LOAD,
	OP_STORE,
	OP_FENCE,
	OP_YIELD,
	OP_WAIT,        /* predicate */
	OP_WAIT_FLAG,
	OP_SIGNAL,
	OP_FLUSH,       /* flush agents only */
};

/* How a step touches shared state, for the dependency relation. */
enum access {
	ACC_LOCAL,      /* nothing another process can see */
	ACC_READ,
	ACC_WRITE,
	ACC_RW,
	ACC_GLOBAL,     /* unknown: dependent with every other process */
};

/* Node flags, for the trace. */
#define NF_BUFFERED 0x01  /* store went to the store buffer */
#define NF_FORWARDED 0x02 /* load served by the own store buffer */
#define NF_IGNORED 0x04   /* fence skipped by ignore_fences_mask */
#define NF_RETURNED 0x08  /* the thread returned after this step */

typedef uint32_t vclock[MAXP];

struct pending {
	uint8_t kind;
	int8_t memorder;
	uint16_t val;
	void *addr;
	bool (*pred)(void *arg);
	void *arg;
};

struct sb_entry {
	uint16_t *addr;
	uint16_t val;
	int8_t memorder;
	vclock clock;   /* clock of the store step: the flush happens after it */
};

struct thr {
	void *sp;               /* saved stack pointer (fast switch) */
#ifndef VHF_EXPLORE_FAST_SWITCH
	ucontext_t uc;
#endif
	char *stack;
	void (*fn)(void *ctx);
	bool done;
	struct pending pend;
	uint16_t result;
	unsigned int sb_head;
	unsigned int sb_count;
	struct sb_entry sb[SB_SIZE];
#ifdef VHF_EXPLORE_ASAN
	void *fake_stack;
#endif
};

struct node {
	uint8_t proc;           /* process picked here */
	uint8_t kind;           /* what it did */
	uint8_t flags;          /* NF_* */
	int8_t memorder;
	uint8_t enabled;        /* processes enabled at this state */
	uint8_t backtrack;      /* processes to try from here */
	uint8_t done;           /* processes tried (or being tried) from here */
	uint8_t sleep;          /* DPOR: processes whose step here is redundant */
	uint8_t acc;            /* DPOR: enum access of the step */
	uint16_t val;
	uint32_t prev;          /* DPOR: previous step on the same word / previous global step */
	const void *addr;
	vclock clock;           /* DPOR: vector clock of the step */
};

struct addr_ent {
	const void *addr;
	uint32_t gen;
	uint32_t last;          /* last step that touched it */
	uint32_t last_read[MAXP];
	uint32_t last_write[MAXP];
};

struct engine {
	const struct vhf_explore_scenario *sc;
	struct vhf_explore_opts opts;
	int nthreads;
	int cur;                /* simulated thread running, -1 in the scheduler */
	struct thr thr[MAXT];
	void *sched_sp;
#ifndef VHF_EXPLORE_FAST_SWITCH
	ucontext_t sched_uc;
#endif
#ifdef VHF_EXPLORE_ASAN
	const void *sched_stack_bottom;
	size_t sched_stack_size;
#endif
	struct node *nodes;
	unsigned int max_steps;

	/* DPOR state of the current execution. */
	vclock clock[MAXP];     /* clock of each process' last step */
	uint32_t *pev[MAXP];    /* steps of each process, in order */
	uint32_t pev_n[MAXP];
	uint32_t last_global;   /* index of the last ACC_GLOBAL step */
	struct addr_ent *atab;
	uint32_t gen;
	unsigned int atab_used;

	/* Recorded failures: formatted when found, while the state is alive. */
	char *trace[VHF_EXPLORE_MAX_CLASSES];
	int first_fail_class;
};

static struct engine E = { .cur = -1, .first_fail_class = -1 };

/*
 * Coroutines.
 */

#ifdef VHF_EXPLORE_FAST_SWITCH
/*
 * void vhf_explore_ctx_switch(void **save_sp, void *load_sp): push the
 * callee-saved registers, save the stack pointer, load the other one, pop and
 * return into the other context. A fresh context is a stack prepared to
 * "return" into thread_main (see ctx_prepare()).
 */
void vhf_explore_ctx_switch(void **save_sp, void *load_sp);
__asm__(
	"	.text\n"
	"	.p2align 4\n"
	"	.globl vhf_explore_ctx_switch\n"
	"	.hidden vhf_explore_ctx_switch\n"
	"	.type vhf_explore_ctx_switch, @function\n"
	"vhf_explore_ctx_switch:\n"
	"	pushq %rbp\n"
	"	pushq %rbx\n"
	"	pushq %r12\n"
	"	pushq %r13\n"
	"	pushq %r14\n"
	"	pushq %r15\n"
	"	movq %rsp, (%rdi)\n"
	"	movq %rsi, %rsp\n"
	"	popq %r15\n"
	"	popq %r14\n"
	"	popq %r13\n"
	"	popq %r12\n"
	"	popq %rbx\n"
	"	popq %rbp\n"
	"	ret\n"
	"	.size vhf_explore_ctx_switch, .-vhf_explore_ctx_switch\n");
#endif

static void
asan_enter_thread(struct thr *t)
{
#ifdef VHF_EXPLORE_ASAN
	__sanitizer_finish_switch_fiber(t->fake_stack, &E.sched_stack_bottom, &E.sched_stack_size);
#else
	(void)t;
#endif
}

/* Runs on the simulated thread's own stack; never returns. */
static __attribute__((noreturn, used)) void
thread_main(void)
{
	struct thr *t = &E.thr[E.cur];

#ifdef VHF_EXPLORE_ASAN
	t->fake_stack = NULL;
#endif
	asan_enter_thread(t);
	t->fn(E.sc->ctx);
	t->done = true;
	t->pend.kind = OP_NONE;
#ifdef VHF_EXPLORE_ASAN
	/* NULL: this fiber's frames are gone for good. */
	__sanitizer_start_switch_fiber(NULL, E.sched_stack_bottom, E.sched_stack_size);
#endif
#ifdef VHF_EXPLORE_FAST_SWITCH
	vhf_explore_ctx_switch(&t->sp, E.sched_sp);
#else
	swapcontext(&t->uc, &E.sched_uc);
#endif
	abort(); /* a finished thread is never resumed */
}

/* Give thread t a fresh context that starts in thread_main. */
static void
ctx_prepare(struct thr *t)
{
#ifdef VHF_EXPLORE_ASAN
	/* Frames of an abandoned run (deadlock, step bound) left their poison. */
	ASAN_UNPOISON_MEMORY_REGION(t->stack, VHF_EXPLORE_STACK_SIZE);
#endif
#ifdef VHF_EXPLORE_FAST_SWITCH
	uintptr_t top = ((uintptr_t)t->stack + VHF_EXPLORE_STACK_SIZE) & ~(uintptr_t)15;
	void **sp = (void **)(top - 64);

	/*
	 * Six zeroed registers, then the address ret jumps to, then a null
	 * return address for thread_main: at its entry rsp = top - 8, aligned as
	 * after a call.
	 */
	memset(sp, 0, 64);
	sp[6] = (void *)(uintptr_t)thread_main;
	t->sp = sp;
#else
	getcontext(&t->uc);
	t->uc.uc_stack.ss_sp = t->stack;
	t->uc.uc_stack.ss_size = VHF_EXPLORE_STACK_SIZE;
	t->uc.uc_link = NULL;
	makecontext(&t->uc, thread_main, 0);
#endif
}

/* Scheduler side: run thread t until its next scheduling point or its end. */
static void
resume_thread(int id)
{
	struct thr *t = &E.thr[id];

	E.cur = id;
#ifdef VHF_EXPLORE_ASAN
	void *fake = NULL;

	__sanitizer_start_switch_fiber(&fake, t->stack, VHF_EXPLORE_STACK_SIZE);
#endif
#ifdef VHF_EXPLORE_FAST_SWITCH
	vhf_explore_ctx_switch(&E.sched_sp, t->sp);
#else
	swapcontext(&E.sched_uc, &t->uc);
#endif
#ifdef VHF_EXPLORE_ASAN
	__sanitizer_finish_switch_fiber(fake, NULL, NULL);
#endif
	E.cur = -1;
}

/* Thread side: hand the pending operation to the scheduler and wait. */
static void
to_scheduler(struct thr *t)
{
#ifdef VHF_EXPLORE_ASAN
	__sanitizer_start_switch_fiber(&t->fake_stack, E.sched_stack_bottom, E.sched_stack_size);
#endif
#ifdef VHF_EXPLORE_FAST_SWITCH
	vhf_explore_ctx_switch(&t->sp, E.sched_sp);
#else
	swapcontext(&t->uc, &E.sched_uc);
#endif
	asan_enter_thread(t);
}

/*
 * Hooks and thread-side API.
 */

uint16_t
vhf_shm_hook_load16(const uint16_t *addr, int memorder)
{
	if (E.cur < 0)
		return __atomic_load_n(addr, __ATOMIC_SEQ_CST);

	struct thr *t = &E.thr[E.cur];

	t->pend.kind = OP_LOAD;
	t->pend.addr = (void *)(uintptr_t)addr;
	t->pend.memorder = (int8_t)memorder;
	to_scheduler(t);
	return t->result;
}

void
vhf_shm_hook_store16(uint16_t *addr, uint16_t val, int memorder)
{
	if (E.cur < 0) {
		__atomic_store_n(addr, val, __ATOMIC_SEQ_CST);
		return;
	}

	struct thr *t = &E.thr[E.cur];

	t->pend.kind = OP_STORE;
	t->pend.addr = addr;
	t->pend.val = val;
	t->pend.memorder = (int8_t)memorder;
	to_scheduler(t);
}

void
vhf_shm_hook_fence(void)
{
	if (E.cur < 0) {
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		return;
	}

	struct thr *t = &E.thr[E.cur];

	t->pend.kind = OP_FENCE;
	t->pend.memorder = __ATOMIC_SEQ_CST;
	to_scheduler(t);
}

/*
 * Descriptor bodies are plain data published by a hooked word (avail->idx, a
 * packed slot's flags): not a scheduling point, as the model above says.
 */
void
vhf_shm_hook_read_desc(void *dst, const void *src, size_t len)
{
	memcpy(dst, src, len);
}

static void
thread_point(uint8_t kind, void *addr, bool (*pred)(void *), void *arg)
{
	if (E.cur < 0) {
		fprintf(stderr, "vhf_explore: scheduling point outside a simulated thread\n");
		abort();
	}

	struct thr *t = &E.thr[E.cur];

	t->pend.kind = kind;
	t->pend.addr = addr;
	t->pend.pred = pred;
	t->pend.arg = arg;
	to_scheduler(t);
}

void
vhf_explore_wait(bool (*pred)(void *arg), void *arg)
{
	thread_point(OP_WAIT, arg, pred, arg);
}

void
vhf_explore_wait_flag(bool *flag)
{
	thread_point(OP_WAIT_FLAG, flag, NULL, NULL);
}

void
vhf_explore_signal(bool *flag)
{
	if (E.cur < 0) {
		*flag = true;
		return;
	}
	thread_point(OP_SIGNAL, flag, NULL, NULL);
}

void
vhf_explore_yield(void)
{
	if (E.cur < 0)
		return;
	thread_point(OP_YIELD, NULL, NULL, NULL);
}

int
vhf_explore_self(void)
{
	return E.cur;
}

/*
 * Memory model.
 */

static bool
fence_ignored(int t)
{
	return (E.opts.ignore_fences_mask & BIT(t)) != 0;
}

/* Does this store go to memory at once (SC model, or xchg-like seq_cst store)? */
static bool
store_is_direct(const struct pending *pd)
{
	return !E.opts.tso || pd->memorder == __ATOMIC_SEQ_CST;
}

static bool
thread_enabled(int id)
{
	const struct thr *t = &E.thr[id];

	if (t->done)
		return false;
	switch (t->pend.kind) {
	case OP_LOAD:
	case OP_YIELD:
	case OP_SIGNAL:
		return true;
	case OP_STORE:
		if (!E.opts.tso)
			return true;
		if (t->pend.memorder == __ATOMIC_SEQ_CST)
			return t->sb_count == 0;
		return t->sb_count < SB_SIZE;
	case OP_FENCE:
		return !E.opts.tso || t->sb_count == 0 || fence_ignored(id);
	case OP_WAIT:
		return t->pend.pred(t->pend.arg);
	case OP_WAIT_FLAG:
		return *(const bool *)t->pend.addr;
	default:
		return false;
	}
}

static unsigned int
enabled_mask(void)
{
	unsigned int m = 0;

	for (int t = 0; t < E.nthreads; t++) {
		if (thread_enabled(t))
			m |= BIT(t);
		if (E.thr[t].sb_count != 0)
			m |= BIT(FLUSHER(t));
	}
	return m;
}

/* The access the next step of process p would make, and on which word. */
static enum access
next_access(int p, const void **addr)
{
	const struct thr *t = &E.thr[FAMILY(p)];

	*addr = NULL;
	if (IS_FLUSHER(p)) {
		if (t->sb_count == 0)
			return ACC_LOCAL;
		*addr = t->sb[t->sb_head].addr;
		return ACC_WRITE;
	}
	if (t->done)
		return ACC_LOCAL;
	switch (t->pend.kind) {
	case OP_LOAD:
		*addr = t->pend.addr;
		return ACC_READ;
	case OP_STORE:
		if (!store_is_direct(&t->pend))
			return ACC_LOCAL;
		*addr = t->pend.addr;
		return ACC_WRITE;
	case OP_WAIT_FLAG:
		*addr = t->pend.addr;
		return ACC_RW;
	case OP_SIGNAL:
		*addr = t->pend.addr;
		return ACC_WRITE;
	case OP_WAIT:
		return ACC_GLOBAL;
	default:
		return ACC_LOCAL;
	}
}

/*
 * Dependency between the next steps of two processes. A thread and its own
 * flush agent commute: a load served by forwarding returns the same value
 * before and after the flush of its own entries, and a store appends where
 * the flush takes from the other end; what one enables in the other (a flush
 * after its store, a fence after the last flush) is an ordering the clocks
 * carry instead.
 */
static bool
dependent(int p1, enum access a1, const void *addr1, int p2, enum access a2, const void *addr2)
{
	if (p1 == p2 || a1 == ACC_GLOBAL || a2 == ACC_GLOBAL)
		return true;
	if (FAMILY(p1) == FAMILY(p2) || a1 == ACC_LOCAL || a2 == ACC_LOCAL)
		return false;
	if (addr1 != addr2)
		return false;
	return a1 != ACC_READ || a2 != ACC_READ;
}

/*
 * DPOR bookkeeping. Per address: the last read and write step of each
 * process (for clocks) and the chain of every step that touched it (for
 * races); the chain of ACC_GLOBAL steps; per process the list of its steps;
 * vector clocks of processes and of steps. Step indexes are 1-based, 0 is
 * "none".
 */

static struct addr_ent *
atab_get(const void *addr, bool create)
{
	uint64_t h = (uint64_t)(uintptr_t)addr * 0x9E3779B97F4A7C15ull;
	unsigned int i = (unsigned int)(h >> 54) & (ATAB_SIZE - 1);

	for (;;) {
		struct addr_ent *e = &E.atab[i];

		if (e->gen != E.gen) {
			if (!create)
				return NULL;
			if (E.atab_used >= ATAB_SIZE * 3 / 4) {
				fprintf(stderr, "vhf_explore: more than %d shared words\n",
					ATAB_SIZE * 3 / 4);
				abort();
			}
			E.atab_used++;
			memset(e, 0, sizeof(*e));
			e->addr = addr;
			e->gen = E.gen;
			return e;
		}
		if (e->addr == addr)
			return e;
		i = (i + 1) & (ATAB_SIZE - 1);
	}
}

static inline void
vc_join(uint32_t *dst, const uint32_t *src)
{
	for (int q = 0; q < MAXP; q++)
		if (src[q] > dst[q])
			dst[q] = src[q];
}

static inline void
vc_join_step(uint32_t *dst, uint32_t idx)
{
	if (idx != 0)
		vc_join(dst, E.nodes[idx - 1].clock);
}

/*
 * What process p's next step already depends on through its own process:
 * its clock, plus the store step a flush empties, plus the flushes a fence
 * (or an xchg-like store) waits for.
 */
static void
effective_clock(int p, uint32_t *c)
{
	memcpy(c, E.clock[p], sizeof(vclock));
	if (IS_FLUSHER(p)) {
		const struct thr *t = &E.thr[FAMILY(p)];

		if (t->sb_count != 0)
			vc_join(c, t->sb[t->sb_head].clock);
	} else if (E.thr[p].pend.kind == OP_FENCE ||
		   (E.thr[p].pend.kind == OP_STORE && E.opts.tso &&
		    E.thr[p].pend.memorder == __ATOMIC_SEQ_CST)) {
		vc_join(c, E.clock[FLUSHER(p)]);
	}
}

/* Account step idx of process p, making access acc on addr: clocks, chains. */
static void
dpor_step(int p, enum access acc, const void *addr, uint32_t idx)
{
	struct node *n = &E.nodes[idx - 1];
	struct addr_ent *e = NULL;
	vclock c;

	effective_clock(p, c);
	if (E.last_global != 0 && E.nodes[E.last_global - 1].proc != p)
		vc_join_step(c, E.last_global);
	n->acc = (uint8_t)acc;
	n->prev = 0;
	switch (acc) {
	case ACC_READ:
	case ACC_WRITE:
	case ACC_RW:
		e = atab_get(addr, true);
		for (int q = 0; q < MAXP; q++) {
			if (FAMILY(q) == FAMILY(p))
				continue;
			vc_join_step(c, e->last_write[q]);
			if (acc != ACC_READ)
				vc_join_step(c, e->last_read[q]);
		}
		n->prev = e->last;
		e->last = idx;
		if (acc != ACC_WRITE)
			e->last_read[p] = idx;
		if (acc != ACC_READ)
			e->last_write[p] = idx;
		break;
	case ACC_GLOBAL:
		for (int q = 0; q < MAXP; q++)
			if (q != p)
				vc_join(c, E.clock[q]);
		n->prev = E.last_global;
		E.last_global = idx;
		break;
	default:
		break;
	}
	c[p] = idx;
	memcpy(E.clock[p], c, sizeof(vclock));
	memcpy(n->clock, c, sizeof(vclock));
	E.pev[p][E.pev_n[p]++] = idx;
}

static int
lowest_bit(unsigned int m)
{
	return __builtin_ctz(m);
}

/* First step of process q after step e, 0 if none. */
static uint32_t
first_after(int q, uint32_t e)
{
	const uint32_t *v = E.pev[q];
	uint32_t lo = 0, hi = E.pev_n[q];

	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;

		if (v[mid] <= e)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < E.pev_n[q] ? v[lo] : 0;
}

/*
 * Step e races with the next step of process p, whose causal past apart from
 * e is acc. Source-DPOR: from the state before e, some process must start
 * v = notdep(e).next(p), the steps after e that do not depend on e, then p's
 * step; the processes that can start v are its initials, those whose first
 * step in v has no predecessor in v. If none of them is scheduled there yet,
 * schedule one.
 */
static void
dpor_race(int p, uint32_t e, const uint32_t *acc)
{
	struct node *pre = &E.nodes[e - 1];
	int pe = pre->proc;
	unsigned int init = 0;

	for (int q = 0; q < MAXP; q++) {
		const uint32_t *c;
		uint32_t f;
		int self;

		if (FAMILY(q) >= E.nthreads)
			continue;
		f = first_after(q, e);
		if (f != 0) {
			c = E.nodes[f - 1].clock;
			if (c[pe] >= e)
				continue; /* q's steps after e all depend on e: not in v */
			self = q;
		} else if (q == p) {
			c = acc;
			self = p;
		} else {
			continue;
		}

		bool initial = true;

		for (int r = 0; r < MAXP; r++)
			if (r != self && c[r] > e)
				initial = false;
		if (initial)
			init |= BIT(q);
	}
	/*
	 * An initial that is not enabled before e needs e (or what follows from
	 * it) to be enabled: a flag signalled by e, a flush of the store e
	 * buffered. Such a race cannot be reversed; nothing to schedule.
	 */
	init &= pre->enabled;
	if (init == 0)
		return;
	if (init & pre->backtrack)
		return;

	unsigned int awake = init & ~pre->sleep;

	if (awake & BIT(p))
		pre->backtrack |= BIT(p);
	else if (awake)
		pre->backtrack |= BIT(lowest_bit(awake));
	else
		pre->backtrack |= BIT(lowest_bit(init));
}

/*
 * Every race of process p's next step with the steps so far: steps e of
 * other processes, dependent with it, not ordered before it through another
 * step. Walk the candidates latest first, growing the causal past as we go.
 */
static void
dpor_races_of(int p, uint32_t d)
{
	const void *addr;
	enum access acc = next_access(p, &addr);
	const struct addr_ent *ent = NULL;
	uint32_t a = 0, g = E.last_global, all = 0;
	vclock past;

	if (acc == ACC_GLOBAL) {
		all = d;
		g = 0;
	} else if (acc != ACC_LOCAL) {
		ent = atab_get(addr, false);
		a = ent != NULL ? ent->last : 0;
	}
	effective_clock(p, past);
	for (;;) {
		uint32_t e;
		const struct node *n;
		bool dep;

		/* Next candidate, latest first: the address chain merged with the global chain. */
		if (all != 0) {
			e = all--;
		} else if (a > g) {
			e = a;
			a = E.nodes[a - 1].prev;
		} else if (g != 0) {
			e = g;
			g = E.nodes[g - 1].prev;
		} else {
			break;
		}
		n = &E.nodes[e - 1];
		if (n->proc == p)
			continue;
		if (acc == ACC_GLOBAL || n->acc == ACC_GLOBAL)
			dep = true;
		else
			dep = FAMILY(n->proc) != FAMILY(p) &&
			      (acc != ACC_READ || n->acc != ACC_READ);
		if (!dep || e <= past[n->proc])
			continue;
		dpor_race(p, e, past);
		vc_join(past, n->clock);

		/* Everything older is in the causal past already: stop. */
		uint32_t lo = UINT32_MAX;

		for (int q = 0; q < MAXP; q++)
			if (q != p && FAMILY(q) < E.nthreads && past[q] < lo)
				lo = past[q];
		if (e <= lo + 1)
			break;
	}
}

/*
 * Race detection at node d (the state after d steps), for every process with
 * a next step, enabled or not (a step that was disabled by a racing step must
 * be reversed too). Only processes whose next step changed or that depend on
 * the last step can have new races.
 */
static void
dpor_races(uint32_t d)
{
	const struct node *last = d != 0 ? &E.nodes[d - 1] : NULL;

	if (last == NULL)
		return;
	for (int p = 0; p < MAXP; p++) {
		int fam = FAMILY(p);

		if (fam >= E.nthreads)
			continue;
		if (IS_FLUSHER(p) ? E.thr[fam].sb_count == 0 : E.thr[fam].done)
			continue;
		if (FAMILY(last->proc) != fam) {
			const void *addr;
			enum access acc = next_access(p, &addr);

			if (!dependent(last->proc, (enum access)last->acc, last->addr, p, acc,
				       addr))
				continue;
		}
		dpor_races_of(p, d);
	}
}

/* Sleep set of the child of node n reached by process p. */
static unsigned int
child_sleep(const struct node *n, int p)
{
	unsigned int s = (n->sleep | n->done) & ~BIT(p);
	unsigned int out = 0;
	const void *pa;
	enum access pacc;

	if (s == 0)
		return 0;
	pacc = next_access(p, &pa);
	for (unsigned int m = s; m != 0; m &= m - 1) {
		int q = lowest_bit(m);
		const void *qa;
		enum access qacc = next_access(q, &qa);

		if (!dependent(p, pacc, pa, q, qacc, qa))
			out |= BIT(q);
	}
	return out;
}

/*
 * Steps.
 */

/* Perform process p's step at node n (already filled with proc). */
static void
do_step(int p, struct node *n)
{
	struct thr *t = &E.thr[FAMILY(p)];

	n->flags = 0;
	n->memorder = -1;
	if (IS_FLUSHER(p)) {
		struct sb_entry *e = &t->sb[t->sb_head];

		n->kind = OP_FLUSH;
		n->addr = e->addr;
		n->val = e->val;
		n->memorder = e->memorder;
		__atomic_store_n(e->addr, e->val, __ATOMIC_RELAXED);
		t->sb_head = (t->sb_head + 1) % SB_SIZE;
		t->sb_count--;
		return;
	}

	struct pending *pd = &t->pend;

	n->kind = pd->kind;
	n->addr = pd->addr;
	n->memorder = pd->memorder;
	n->val = 0;
	switch (pd->kind) {
	case OP_LOAD: {
		const uint16_t *a = pd->addr;
		bool fwd = false;
		uint16_t v = 0;

		/* Store forwarding: the newest own buffered store to this word. */
		for (unsigned int k = t->sb_count; k-- > 0;) {
			const struct sb_entry *e = &t->sb[(t->sb_head + k) % SB_SIZE];

			if (e->addr == a) {
				v = e->val;
				fwd = true;
				break;
			}
		}
		if (!fwd)
			v = __atomic_load_n(a, __ATOMIC_RELAXED);
		else
			n->flags |= NF_FORWARDED;
		t->result = v;
		n->val = v;
		break;
	}
	case OP_STORE:
		n->val = pd->val;
		if (store_is_direct(pd)) {
			__atomic_store_n((uint16_t *)pd->addr, pd->val, __ATOMIC_RELAXED);
		} else {
			struct sb_entry *e = &t->sb[(t->sb_head + t->sb_count) % SB_SIZE];

			e->addr = pd->addr;
			e->val = pd->val;
			e->memorder = pd->memorder;
			/* The clock is filled in by the caller once the step's is known. */
			t->sb_count++;
			n->flags |= NF_BUFFERED;
		}
		break;
	case OP_FENCE:
		if (fence_ignored(p))
			n->flags |= NF_IGNORED;
		break;
	case OP_WAIT_FLAG:
		*(bool *)pd->addr = false;
		break;
	case OP_SIGNAL:
		*(bool *)pd->addr = true;
		break;
	default:
		break;
	}
	resume_thread(p);
	if (t->done)
		n->flags |= NF_RETURNED;
}

/*
 * Traces.
 */

static const char *
addr_name(const void *addr, char *buf, size_t len)
{
	const char *s = NULL;

	if (E.sc->name_addr != NULL)
		s = E.sc->name_addr(E.sc->ctx, addr);
	if (s != NULL)
		return s;
	snprintf(buf, len, "%p", addr);
	return buf;
}

static const char *
memorder_name(int mo)
{
	switch (mo) {
	case __ATOMIC_RELAXED:
		return "relaxed";
	case __ATOMIC_ACQUIRE:
		return "acquire";
	case __ATOMIC_RELEASE:
		return "release";
	case __ATOMIC_SEQ_CST:
		return "seq_cst";
	default:
		return "?";
	}
}

static void
format_step(FILE *f, unsigned int i, const struct node *n)
{
	char buf[32];
	int t = FAMILY(n->proc);
	const char *name = n->addr != NULL ? addr_name(n->addr, buf, sizeof(buf)) : "";

	fprintf(f, "%5u  ", i);
	switch (n->kind) {
	case OP_LOAD:
		fprintf(f, "T%d load16   %s (%s) -> %u%s", t, name, memorder_name(n->memorder),
			n->val, n->flags & NF_FORWARDED ? " (from own store buffer)" : "");
		break;
	case OP_STORE:
		fprintf(f, "T%d store16  %s = %u (%s)%s", t, name, n->val,
			memorder_name(n->memorder),
			n->flags & NF_BUFFERED ? " (buffered)" : " (to memory)");
		break;
	case OP_FLUSH:
		fprintf(f, "flush T%d    %s = %u", t, name, n->val);
		break;
	case OP_FENCE:
		fprintf(f, "T%d fence%s", t, n->flags & NF_IGNORED ? " (IGNORED: mutation)" : "");
		break;
	case OP_YIELD:
		fprintf(f, "T%d yield", t);
		break;
	case OP_WAIT:
		fprintf(f, "T%d wait     until %s holds: woken", t, name);
		break;
	case OP_WAIT_FLAG:
		fprintf(f, "T%d wait     %s: woken, consumed", t, name);
		break;
	case OP_SIGNAL:
		fprintf(f, "T%d signal   %s", t, name);
		break;
	default:
		fprintf(f, "T%d ?", t);
		break;
	}
	if (n->flags & NF_RETURNED)
		fprintf(f, "; T%d returns", t);
	fputc('\n', f);
}

static void
format_outcome(FILE *f, const struct vhf_explore_outcome *o)
{
	char buf[32];
	static const char *const ends[] = {
		[VHF_EXPLORE_END_DONE] = "all threads returned",
		[VHF_EXPLORE_END_DEADLOCK] = "DEADLOCK",
		[VHF_EXPLORE_END_STEP_BOUND] = "STEP BOUND hit (possible livelock)",
	};

	fprintf(f, "  end after %u steps: %s", o->steps, ends[o->end]);
	for (int t = 0; t < o->nthreads; t++) {
		if (o->done_mask & BIT(t))
			fprintf(f, "; T%d returned", t);
		else if (o->waiting_mask & BIT(t))
			fprintf(f, "; T%d sleeps waiting for %s", t,
				addr_name(o->wait_on[t], buf, sizeof(buf)));
		else
			fprintf(f, "; T%d running", t);
	}
	fputc('\n', f);
}

static void
record_failure(int cls, const struct vhf_explore_outcome *o)
{
	char *text = NULL;
	size_t len = 0;
	FILE *m;

	if (E.trace[cls] != NULL)
		return;
	m = open_memstream(&text, &len);
	if (m == NULL)
		return;
	fprintf(m, "counterexample (class %d, execution %llu, %s, %s):\n", cls,
		(unsigned long long)o->execution, E.opts.tso ? "TSO" : "SC",
		E.opts.dpor ? "DPOR" : "full");
	for (unsigned int i = 0; i < o->steps; i++)
		format_step(m, i + 1, &E.nodes[i]);
	format_outcome(m, o);
	fclose(m);
	E.trace[cls] = text;
	if (E.first_fail_class < 0)
		E.first_fail_class = cls;
	if (E.opts.verbose)
		fputs(text, stderr);
}

int
vhf_explore_print_trace_class(FILE *f, int cls)
{
	if (cls < 0 || cls >= VHF_EXPLORE_MAX_CLASSES || E.trace[cls] == NULL)
		return -1;
	fputs(E.trace[cls], f);
	return 0;
}

void
vhf_explore_print_trace(FILE *f)
{
	if (E.first_fail_class >= 0)
		vhf_explore_print_trace_class(f, E.first_fail_class);
}

/*
 * Search.
 */

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Start a new execution: fresh state, fresh coroutines, their first stretch run. */
static void
start_execution(void)
{
	E.sc->setup(E.sc->ctx);
	memset(E.clock, 0, sizeof(E.clock));
	memset(E.pev_n, 0, sizeof(E.pev_n));
	E.last_global = 0;
	E.gen++;
	E.atab_used = 0;
	if (E.gen == 0) {
		/* Wrapped: stale entries could look current. */
		memset(E.atab, 0, sizeof(*E.atab) * ATAB_SIZE);
		E.gen = 1;
	}
	for (int t = 0; t < E.nthreads; t++) {
		struct thr *th = &E.thr[t];

		th->done = false;
		th->sb_head = 0;
		th->sb_count = 0;
		th->pend.kind = OP_NONE;
		th->fn = E.sc->thread_fn[t];
		ctx_prepare(th);
	}
	for (int t = 0; t < E.nthreads; t++)
		resume_thread(t);
}

/* Pick the first process to run at a new node: stay on the last thread if it can. */
static int
first_choice(unsigned int cand, int last_thread)
{
	unsigned int threads = cand & ((1u << MAXT) - 1);

	if (last_thread >= 0 && (cand & BIT(last_thread)))
		return last_thread;
	if (threads)
		return lowest_bit(threads);
	return lowest_bit(cand);
}

static int
check_args(const struct vhf_explore_scenario *sc, const struct vhf_explore_opts *opts)
{
	if (sc == NULL || sc->setup == NULL || sc->nthreads < 1 || sc->nthreads > MAXT) {
		fprintf(stderr, "vhf_explore: bad scenario\n");
		return -1;
	}
	for (int t = 0; t < sc->nthreads; t++) {
		if (sc->thread_fn[t] == NULL) {
			fprintf(stderr, "vhf_explore: thread %d has no function\n", t);
			return -1;
		}
	}
	if (opts->dpor && opts->preemption_bound != 0) {
		fprintf(stderr, "vhf_explore: preemption_bound works in full mode only\n");
		return -1;
	}
	if (E.cur >= 0) {
		fprintf(stderr, "vhf_explore: vhf_explore_run() called from a simulated thread\n");
		return -1;
	}
	return 0;
}

static int
alloc_run(void)
{
	E.nodes = calloc(E.max_steps + 1, sizeof(*E.nodes));
	E.atab = calloc(ATAB_SIZE, sizeof(*E.atab));
	if (E.nodes == NULL || E.atab == NULL)
		return -1;
	E.gen = 0;
	for (int q = 0; q < MAXP; q++) {
		E.pev[q] = calloc(E.max_steps + 1, sizeof(uint32_t));
		if (E.pev[q] == NULL)
			return -1;
	}
	for (int t = 0; t < E.nthreads; t++) {
		E.thr[t].stack = malloc(VHF_EXPLORE_STACK_SIZE);
		if (E.thr[t].stack == NULL)
			return -1;
	}
	return 0;
}

static void
free_run(void)
{
	free(E.nodes);
	E.nodes = NULL;
	free(E.atab);
	E.atab = NULL;
	for (int q = 0; q < MAXP; q++) {
		free(E.pev[q]);
		E.pev[q] = NULL;
	}
	for (int t = 0; t < MAXT; t++) {
		free(E.thr[t].stack);
		E.thr[t].stack = NULL;
	}
}

/*
 * One execution. branch: the node where this execution leaves the recorded
 * path (its proc already set to the new choice), or UINT32_MAX on the first
 * one. @return the number of steps taken, with the end in *end and *blocked
 * if the execution was cut by sleep sets; -1 on non-determinism.
 */
static int
run_execution(uint32_t branch, enum vhf_explore_end *end, bool *blocked,
	      struct vhf_explore_result *res)
{
	unsigned int d = 0;
	unsigned int preempts = 0;
	unsigned int new_sleep = 0;
	int last_thread = -1;
	bool replay = branch != UINT32_MAX;

	*blocked = false;
	start_execution();
	for (;; d++) {
		unsigned int en = enabled_mask();
		struct node *n = &E.nodes[d];
		bool fresh = !(replay && d <= branch);
		int p;

		/* Races first, also at the last node: a step that never runs can race. */
		if (fresh && E.opts.dpor) {
			n->sleep = (uint8_t)new_sleep;
			dpor_races(d);
		}
		if (en == 0) {
			*end = VHF_EXPLORE_END_DONE;
			for (int t = 0; t < E.nthreads; t++)
				if (!E.thr[t].done)
					*end = VHF_EXPLORE_END_DEADLOCK;
			break;
		}
		if (d == E.max_steps) {
			*end = VHF_EXPLORE_END_STEP_BOUND;
			break;
		}
		if (!fresh) {
			if (n->enabled != en) {
				fprintf(stderr, "vhf_explore: the scenario is not deterministic: at "
					"step %u enabled set 0x%x, recorded 0x%x\n", d + 1, en,
					n->enabled);
				return -1;
			}
			p = n->proc;
			if (E.opts.dpor && d == branch)
				new_sleep = child_sleep(n, p);
		} else {
			unsigned int cand = en;

			n->enabled = (uint8_t)en;
			if (E.opts.dpor) {
				cand &= ~n->sleep;
				if (cand == 0) {
					*blocked = true;
					break;
				}
			} else {
				n->sleep = 0;
			}
			if (!E.opts.dpor && E.opts.preemption_bound != 0 &&
			    preempts >= E.opts.preemption_bound && last_thread >= 0 &&
			    (en & BIT(last_thread)))
				cand &= BIT(last_thread) | ~((1u << MAXT) - 1);
			p = first_choice(cand, last_thread);
			n->proc = (uint8_t)p;
			n->done = (uint8_t)BIT(p);
			n->backtrack = (uint8_t)(E.opts.dpor ? BIT(p) : cand);
			if (E.opts.dpor)
				new_sleep = child_sleep(n, p);
		}

		if (!IS_FLUSHER(p)) {
			if (last_thread >= 0 && p != last_thread && (en & BIT(last_thread)))
				preempts++;
			last_thread = p;
		}

		const void *addr = NULL;
		enum access acc = E.opts.dpor ? next_access(p, &addr) : ACC_LOCAL;
		struct thr *t = &E.thr[FAMILY(p)];
		bool buffers = !IS_FLUSHER(p) && t->pend.kind == OP_STORE &&
			       !store_is_direct(&t->pend);

		if (E.opts.dpor) {
			dpor_step(p, acc, addr, d + 1);
			/* The buffered entry carries its store step's clock to the flush. */
			if (buffers)
				memcpy(t->sb[(t->sb_head + t->sb_count) % SB_SIZE].clock,
				       E.clock[p], sizeof(vclock));
		}
		do_step(p, n);
#ifdef VHF_EXPLORE_DEBUG
		fprintf(stderr, "step %u: P%d kind %d addr %p val %u sleep 0x%x done 0x%x\n", d + 1, p,
			n->kind, n->addr, n->val, n->sleep, n->done);
#endif
		res->steps++;
	}
	return (int)d;
}

int
vhf_explore_run(const struct vhf_explore_scenario *sc, const struct vhf_explore_opts *opts,
		struct vhf_explore_result *res)
{
	uint32_t branch = UINT32_MAX;
	double t0 = now();
	int rc = 0;

	memset(res, 0, sizeof(*res));
	if (check_args(sc, opts) != 0)
		return -1;
	E.sc = sc;
	E.opts = *opts;
	E.nthreads = sc->nthreads;
	E.max_steps = opts->max_steps ? opts->max_steps : VHF_EXPLORE_DEFAULT_MAX_STEPS;
	for (int c = 0; c < VHF_EXPLORE_MAX_CLASSES; c++) {
		free(E.trace[c]);
		E.trace[c] = NULL;
	}
	E.first_fail_class = -1;
	if (alloc_run() != 0) {
		fprintf(stderr, "vhf_explore: out of memory\n");
		free_run();
		return -1;
	}

	for (;;) {
		enum vhf_explore_end end = VHF_EXPLORE_END_DONE;
		bool blocked;
		int len = run_execution(branch, &end, &blocked, res);

		if (len < 0) {
			if (sc->teardown != NULL)
				sc->teardown(sc->ctx);
			rc = -1;
			break;
		}
		if ((unsigned int)len > res->max_depth)
			res->max_depth = (unsigned int)len;
		if (blocked) {
			res->sleep_blocked++;
		} else {
			struct vhf_explore_outcome o = {
				.end = end,
				.execution = res->executions,
				.steps = (unsigned int)len,
				.nthreads = E.nthreads,
			};
			int cls = 0;

			for (int t = 0; t < E.nthreads; t++) {
				const struct thr *th = &E.thr[t];

				if (th->done) {
					o.done_mask |= BIT(t);
				} else if (th->pend.kind == OP_WAIT || th->pend.kind == OP_WAIT_FLAG) {
					o.waiting_mask |= BIT(t);
					o.wait_on[t] = th->pend.addr;
				}
			}
			if (end == VHF_EXPLORE_END_DONE)
				res->completed++;
			else if (end == VHF_EXPLORE_END_DEADLOCK)
				res->deadlocks++;
			else
				res->step_bound++;
			if (sc->check != NULL)
				cls = sc->check(sc->ctx, &o);
			if (cls != 0) {
				if (cls < 0 || cls >= VHF_EXPLORE_MAX_CLASSES)
					cls = VHF_EXPLORE_MAX_CLASSES - 1;
				res->failures++;
				res->failures_by_class[cls]++;
				record_failure(cls, &o);
			}
			res->executions++;
			if (opts->verbose && (res->executions & ((1u << 20) - 1)) == 0)
				fprintf(stderr, "vhf_explore: %llu executions, %.1f s\n",
					(unsigned long long)res->executions, now() - t0);
		}
		if (sc->teardown != NULL)
			sc->teardown(sc->ctx);
		if (opts->max_executions != 0 && res->executions >= opts->max_executions) {
			res->truncated = true;
			break;
		}

		/* Odometer: the deepest node with an untried, non-redundant process. */
		branch = UINT32_MAX;
		for (int d = len - 1; d >= 0; d--) {
			struct node *n = &E.nodes[d];
			unsigned int todo = n->backtrack & ~n->done & ~n->sleep;

			if (todo != 0) {
				int p = lowest_bit(todo);

				n->proc = (uint8_t)p;
				n->done |= (uint8_t)BIT(p);
				branch = (uint32_t)d;
				break;
			}
		}
		if (branch == UINT32_MAX)
			break;
	}
	res->seconds = now() - t0;
	free_run();
	return rc;
}
