/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 dpdk-vhostfix authors
 */

/*
 * A main() for builds without libFuzzer: runs every file (or every file in a
 * directory) named on the command line through the fuzz target, then N
 * deterministic pseudo-random inputs. Most of those are structured (a sane
 * memory map and rings, a guest publishing well-formed chains, device bursts,
 * now and then a guest acting inside a call, a region of gigabytes, 32-bit
 * lengths or a long indirect table) with a few random corruptions, so the
 * target gets real coverage without a coverage-guided engine; the rest are
 * plain random bytes. Both targets (fuzz_vq, fuzz_pmd) read the same format.
 *
 *   fuzz_vq|fuzz_pmd [--random N] [--seed S] [file|dir ...]
 *
 * With neither files nor --random, runs 20000 random inputs. Prints TAP.
 * A violated invariant abort()s, which fails the test; the input that did it
 * is left in crash-replay.bin in the working directory.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define REPLAY_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(undefined_behavior_sanitizer)
#define REPLAY_SANITIZER 1
#endif
#endif
#ifdef REPLAY_SANITIZER
#include <sanitizer/common_interface_defs.h>
#endif

#include "fuzz_guest.h"

#define REPLAY_MAX_INPUT (1u << 20)
#define REPLAY_GEN_MAX 8192
#define REPLAY_DEFAULT_RUNS 20000

/* fuzz_pmd starts the EAL there; fuzz_vq has none. */
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static uint64_t replay_state;

/* The input being run, written to crash-replay.bin if it kills us (async-signal-safe). */
static const uint8_t *replay_cur;
static size_t replay_cur_len;

static void
replay_dump(void)
{
	int fd;

	if (replay_cur == NULL)
		return;
	fd = open("crash-replay.bin", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd >= 0) {
		if (write(fd, replay_cur, replay_cur_len) < 0)
			replay_cur_len = 0;
		close(fd);
	}
	replay_cur = NULL;
}

static void
replay_on_abort(int sig)
{
	replay_dump();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void
replay_run(const uint8_t *data, size_t len)
{
	replay_cur = data;
	replay_cur_len = len;
	LLVMFuzzerTestOneInput(data, len);
	replay_cur = NULL;
}

static uint64_t
replay_rand(void)
{
	/* xorshift64* */
	replay_state ^= replay_state >> 12;
	replay_state ^= replay_state << 25;
	replay_state ^= replay_state >> 27;
	return replay_state * UINT64_C(2685821657736338717);
}

static uint32_t
replay_below(uint32_t n)
{
	return (uint32_t)((replay_rand() >> 32) % n);
}

static bool
replay_chance(uint32_t one_in)
{
	return replay_below(one_in) == 0;
}

struct replay_buf {
	uint8_t b[REPLAY_GEN_MAX];
	size_t n;
};

static void
put8(struct replay_buf *o, uint32_t v)
{
	if (o->n < sizeof(o->b))
		o->b[o->n++] = (uint8_t)v;
}

static void
put16(struct replay_buf *o, uint32_t v)
{
	put8(o, v & 0xff);
	put8(o, (v >> 8) & 0xff);
}

static void
put32(struct replay_buf *o, uint32_t v)
{
	put16(o, v & 0xffff);
	put16(o, v >> 16);
}

/* A packet length: mostly Ethernet-sized, some jumbo, a few empty. */
static uint32_t
gen_pkt_len(void)
{
	switch (replay_below(8)) {
	case 0:
		return replay_below(9217);
	case 1:
		return replay_below(0x4000);
	case 2:
		return replay_below(4) == 0 ? 0 : 1 + replay_below(64);
	default:
		return 60 + replay_below(1455);
	}
}

/* A guest buffer length. */
static uint32_t
gen_buf_len(void)
{
	switch (replay_below(8)) {
	case 0:
		return replay_chance(4) ? replay_below(65536) : replay_below(16384);
	case 1:
		return replay_below(16);
	case 2:
		return 4096 + replay_below(5000);
	default:
		return 64 + replay_below(2048);
	}
}

/* A 32-bit guest buffer length: near 2^32, powers of two, or ordinary. */
static uint32_t
gen_wide_len(void)
{
	switch (replay_below(6)) {
	case 0: /* with an ordinary buffer before it, a sum past 2^32 */
		return UINT32_MAX - replay_below(replay_chance(2) ? 2048 : 70000);
	case 1:
		return (uint32_t)1 << (16 + replay_below(16));
	case 2:
		return ((uint32_t)1 << (16 + replay_below(16))) + replay_below(3) - 1;
	case 3:
		return 0;
	default:
		return gen_buf_len();
	}
}

/* What gen_structured() chose, for the operations it writes. */
struct gen_layout {
	uint32_t nreg;             /* regions - 1 */
	uint64_t rsize[FUZZ_NREGIONS_MAX];
	uint8_t qflags[2];
};

/* A publish operation's sel byte and operands (after the op byte). */
static void
gen_publish(struct replay_buf *o, const struct gen_layout *l)
{
	uint8_t sel = (uint8_t)replay_below(2);
	uint32_t n, k, cnt = 0;
	bool wide;

	/* Indirect tables mostly where negotiated. */
	if (replay_chance(4) && ((l->qflags[sel] & FUZZ_Q_INDIRECT) || replay_chance(8)))
		sel |= FUZZ_PUB_INDIRECT;
	if (replay_chance(24))
		sel |= FUZZ_PUB_WRONG_DIR;
	if (replay_chance(24))
		sel |= FUZZ_PUB_HOLD;
	if (replay_chance(24))
		sel |= FUZZ_PUB_BAD_NEXT;
	if (replay_chance(8))
		sel |= FUZZ_PUB_WIDE;
	if (replay_chance(12)) {
		static const uint32_t counts[] = { 32768, 32769, 65535, 1000, 300, 257, 17 };

		sel |= FUZZ_PUB_FILL;
		cnt = replay_chance(2) ? counts[replay_below(7)] : replay_below(65536);
	}
	wide = sel & FUZZ_PUB_WIDE;
	n = replay_chance(3) ? replay_below(8) : 0;
	put8(o, sel);
	put8(o, n);
	for (k = 0; k <= n; k++) {
		uint8_t reg = (uint8_t)replay_below(l->nreg + 1);
		uint64_t rs = l->rsize[reg], lo = reg == 0 ? 16384 : 0;
		uint32_t len = wide ? gen_wide_len() : gen_buf_len();

		/* Mostly inside a region, past the rings; sometimes anywhere. */
		put8(o, reg);
		if (!wide) {
			if (lo + len < rs && rs <= 65536 && !replay_chance(8))
				put16(o, (uint32_t)(lo + replay_below((uint32_t)(rs - lo - len))));
			else
				put16(o, replay_below(65536));
			put16(o, len);
			continue;
		}
		if (replay_chance(8))
			put32(o, 0x80000000u | replay_below(65536)); /* from the end */
		else if (lo + len < rs && rs - lo - len < 0x80000000u && !replay_chance(8))
			put32(o, (uint32_t)(lo + replay_below((uint32_t)(rs - lo - len) + 1)));
		else
			put32(o, (uint32_t)replay_rand() & 0x7fffffff);
		put32(o, len);
	}
	if (sel & FUZZ_PUB_INDIRECT) {
		put8(o, replay_below(l->nreg + 1));
		if (wide)
			put32(o, replay_chance(4) ? 0x80000000u | replay_below(1 << 20) :
						    (uint32_t)replay_rand() & 0x7fffffff);
		else
			put16(o, replay_below(65536));
	}
	if (sel & FUZZ_PUB_FILL)
		put16(o, cnt);
}

/* A poke's operands (operation or guest action): a region, an offset, 1 to 16 bytes. */
static void
gen_poke(struct replay_buf *o)
{
	uint32_t n, k;

	put8(o, (uint32_t)replay_rand());
	put16(o, replay_below(16384));
	n = replay_below(16);
	put8(o, n);
	for (k = 0; k <= n; k++)
		put8(o, (uint32_t)replay_rand());
}

/* A desc operation's operands: rewrite one ring slot or table entry. */
static void
gen_desc(struct replay_buf *o, const struct gen_layout *l)
{
	put8(o, replay_below(4));
	put16(o, replay_below(replay_chance(2) ? 8 : 65536));
	put8(o, replay_below(l->nreg + 1));
	put32(o, replay_chance(2) ? 16384 + replay_below(30000) : (uint32_t)replay_rand());
	put32(o, replay_chance(3) ? gen_wide_len() : gen_buf_len());
	put16(o, replay_chance(2) ? replay_below(8) : (uint32_t)replay_rand());
	put16(o, replay_below(replay_chance(2) ? 8 : 65536));
}

/* A guest action (FUZZ_OP_DURING's kind byte and operands). */
static void
gen_action(struct replay_buf *o, const struct gen_layout *l)
{
	switch (replay_below(6)) {
	case 0: case 1: case 2:
		put8(o, FUZZ_ACT_PUBLISH);
		gen_publish(o, l);
		break;
	case 3:
		put8(o, FUZZ_ACT_POKE_FIELD);
		put8(o, (uint32_t)replay_rand());
		put16(o, replay_chance(2) ? replay_below(8) : (uint32_t)replay_rand());
		put16(o, (uint32_t)replay_rand());
		break;
	case 4:
		put8(o, FUZZ_ACT_DESC);
		gen_desc(o, l);
		break;
	default:
		put8(o, FUZZ_ACT_POKE);
		gen_poke(o);
		break;
	}
}

/*
 * Region 0 is at least 16 KiB and holds both queues' rings in its first
 * 16 KiB (unless placed elsewhere on purpose); buffers go after them or in
 * the other regions, some straddling region boundaries. Now and then a region
 * is a sparse one of up to 8 GiB.
 */
static void
gen_structured(struct replay_buf *o)
{
	static const uint16_t ring_off[2][3] = { { 0, 4096, 5120 }, { 8192, 12288, 13312 } };
	struct gen_layout l;
	uint32_t r, q, nops, i, n;

	l.nreg = replay_below(3);
	put8(o, l.nreg);
	for (r = 0; r < FUZZ_NREGIONS_MAX; r++) {
		static const uint16_t sizes[] = { 0, 16384, 32768, 20000, 4096, 1000 };
		uint32_t size = sizes[replay_below(r == 0 ? 4 : 6)];
		/* Mostly at 0 / adjacent; sometimes a gap, anywhere or the top of the space. */
		uint8_t mode = replay_chance(4) ? (uint8_t)replay_below(4) : 0;

		if (replay_chance(6)) {
			static const uint16_t big[] = { 0, 16, 0x8000, 0xffff };
			uint8_t scale = (uint8_t)(FUZZ_SCALE_64K + replay_below(3));

			size = big[replay_below(4)];
			mode |= (uint8_t)(scale << FUZZ_SCALE_SHIFT);
			switch (scale) {
			case FUZZ_SCALE_64K:
				l.rsize[r] = size == 0 ? UINT64_C(1) << 32 : (uint64_t)size << 16;
				break;
			case FUZZ_SCALE_4G:
				l.rsize[r] = (UINT64_C(1) << 32) + ((uint64_t)size << 16);
				break;
			default:
				l.rsize[r] = size == 0 ? UINT64_C(256) << 20 : (uint64_t)size << 12;
				break;
			}
		} else {
			l.rsize[r] = size == 0 ? 65536 : size;
		}
		put16(o, size);
		put8(o, mode);
		put32(o, (uint32_t)replay_rand());
	}
	for (q = 0; q < 2; q++) {
		uint8_t flags = (uint8_t)(replay_rand() & ~(uint64_t)FUZZ_Q_ENABLED);
		uint8_t place = (uint8_t)(replay_rand() & 0xe0); /* fuzz_pmd's bits */

		l.qflags[q] = flags;
		if (!replay_chance(16))
			flags |= FUZZ_Q_ENABLED;
		if (replay_chance(4))
			place |= FUZZ_P_DEDICATED;
		if (replay_chance(16))
			place |= FUZZ_P_RAW_INDEX;
		put8(o, flags);
		put8(o, replay_chance(4) ? 0xc0 + replay_below(64) : replay_below(6));
		put16(o, (uint32_t)replay_rand());
		put16(o, (uint32_t)replay_rand());
		put8(o, place);
		for (i = 0; i < 3; i++)
			put16(o, replay_chance(32) ? (uint32_t)replay_rand() : ring_off[q][i]);
	}
	/* A little initial garbage over the start of guest memory, usually none. */
	if (replay_chance(4)) {
		n = replay_below(64);
		put16(o, n);
		for (i = 0; i < n; i++)
			put8(o, (uint32_t)replay_rand());
	} else {
		put16(o, 0);
	}

	nops = 4 + replay_below(80);
	for (i = 0; i < nops && o->n < sizeof(o->b) - 256; i++) {
		uint32_t op = replay_below(19), k;

		switch (op) {
		case 0: case 1: case 2: case 3: case 4:
			put8(o, FUZZ_OP_PUBLISH);
			gen_publish(o, &l);
			break;
		case 5: case 6: case 7:
			n = replay_below(8);
			put8(o, FUZZ_OP_RX_BURST);
			put8(o, n);
			for (k = 0; k <= n; k++) {
				put16(o, gen_pkt_len());
				/* Bits 5-6: lengths up to and past 64 KiB, now and then. */
				put8(o, (uint32_t)replay_rand() & (replay_chance(8) ? 0xff : 0x9f));
			}
			break;
		case 8: case 9:
			put8(o, FUZZ_OP_TX_BURST);
			put8(o, replay_below(64));
			break;
		case 10:
			put8(o, replay_chance(2) ? FUZZ_OP_HAS_ROOM : FUZZ_OP_AVAIL_SPACE);
			put32(o, replay_chance(16) ? (uint32_t)replay_rand() : gen_pkt_len());
			break;
		case 11:
			put8(o, FUZZ_OP_ARM_KICK);
			put8(o, replay_below(2));
			break;
		case 12:
			put8(o, FUZZ_OP_TX_NEXT);
			break;
		case 13:
			if (replay_chance(3)) {
				put8(o, FUZZ_OP_POKE);
				gen_poke(o);
			} else {
				put8(o, FUZZ_OP_POKE_FIELD);
				put8(o, (uint32_t)replay_rand());
				put16(o, replay_chance(2) ? replay_below(8) :
							    (uint32_t)replay_rand());
				put16(o, (uint32_t)replay_rand());
			}
			break;
		case 14:
			put8(o, FUZZ_OP_REINIT);
			put8(o, replay_below(2));
			break;
		case 15: case 16:
			/* The guest acts inside the next device call. */
			put8(o, FUZZ_OP_DURING);
			put8(o, replay_below(FUZZ_DURING_SLOTS));
			put16(o, replay_below(replay_chance(2) ? 4 : 64));
			put8(o, replay_below(replay_chance(2) ? 3 : 256));
			put8(o, replay_chance(4) ? 0 : replay_below(8));
			gen_action(o, &l);
			break;
		case 17:
			put8(o, FUZZ_OP_DESC);
			gen_desc(o, &l);
			break;
		default:
			put8(o, FUZZ_OP_ARM_KICK);
			put8(o, 0);
			break;
		}
	}
	/* A few random corruptions anywhere. */
	n = replay_chance(2) ? 0 : 1 + replay_below(3);
	for (i = 0; i < n && o->n > 0; i++)
		o->b[replay_below((uint32_t)o->n)] ^= (uint8_t)(1 + replay_below(255));
}

static void
gen_random(struct replay_buf *o)
{
	uint32_t n = replay_below(2048), i;

	for (i = 0; i < n; i++)
		put8(o, (uint32_t)replay_rand());
}

static int
run_file(const char *path, unsigned long *count)
{
	static uint8_t buf[REPLAY_MAX_INPUT];
	FILE *f = fopen(path, "rb");
	size_t n;

	if (f == NULL) {
		fprintf(stderr, "fuzz: %s: %s\n", path, strerror(errno));
		return -1;
	}
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	replay_run(buf, n);
	(*count)++;
	return 0;
}

static int
run_path(const char *path, unsigned long *count)
{
	struct dirent **names;
	struct stat st;
	int n, i, ret = 0;

	if (stat(path, &st) != 0) {
		fprintf(stderr, "fuzz: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return run_file(path, count);
	n = scandir(path, &names, NULL, alphasort);
	if (n < 0) {
		fprintf(stderr, "fuzz: %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (i = 0; i < n; i++) {
		char full[4096];

		if (names[i]->d_name[0] != '.' && ret == 0 &&
		    (size_t)snprintf(full, sizeof(full), "%s/%s", path, names[i]->d_name) <
			    sizeof(full) &&
		    stat(full, &st) == 0 && S_ISREG(st.st_mode))
			ret = run_file(full, count);
		free(names[i]);
	}
	free(names);
	return ret;
}

int
main(int argc, char **argv)
{
	static struct replay_buf gen;
	unsigned long runs = 0, count = 0, i;
	unsigned long long seed = 1;
	bool have_files = false, have_random = false;
	int a;

	for (a = 1; a < argc; a++) {
		if (strcmp(argv[a], "--random") == 0 && a + 1 < argc) {
			runs = strtoul(argv[++a], NULL, 0);
			have_random = true;
		} else if (strcmp(argv[a], "--seed") == 0 && a + 1 < argc) {
			seed = strtoull(argv[++a], NULL, 0);
		}
	}
	if (LLVMFuzzerInitialize != NULL)
		LLVMFuzzerInitialize(&argc, &argv);
	signal(SIGABRT, replay_on_abort);
	signal(SIGSEGV, replay_on_abort);
#ifdef REPLAY_SANITIZER
	__sanitizer_set_death_callback(replay_dump);
#endif
	printf("1..1\n");
	fflush(stdout);
	for (a = 1; a < argc; a++) {
		if (strcmp(argv[a], "--random") == 0 || strcmp(argv[a], "--seed") == 0) {
			a++;
			continue;
		}
		have_files = true;
		if (run_path(argv[a], &count) != 0) {
			printf("not ok 1 - cannot read %s\n", argv[a]);
			return 1;
		}
	}
	if (!have_files && !have_random)
		runs = REPLAY_DEFAULT_RUNS;

	replay_state = seed * UINT64_C(0x9e3779b97f4a7c15) + 1;
	for (i = 0; i < runs; i++) {
		gen.n = 0;
		if (replay_chance(5))
			gen_random(&gen);
		else
			gen_structured(&gen);
		replay_run(gen.b, gen.n);
		count++;
	}
	fuzz_print_stats(stdout);
	printf("ok 1 - %lu inputs\n", count);
	return 0;
}
