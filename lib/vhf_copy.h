/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 dpdk-vhostfix authors
 */

#ifndef VHF_COPY_H
#define VHF_COPY_H

/**
 * @file
 * Copies of packet bytes between host memory and guest buffers. Most of them
 * are short: a 10- or 12-byte virtio-net header, a 64-byte frame, the tail of
 * a segment. Those are done inline, as a few unaligned loads and stores that
 * may overlap each other, instead of a call into libc for each piece. Longer
 * ones (the pieces of a jumbo frame) are one call: a front-to-back AVX2 copy
 * where the CPU has it (vhf_copy.c says why), libc's memcpy elsewhere.
 *
 * The two buffers never overlap (one is the host's, the other the guest's). The
 * guest may rewrite its side during the copy: then the copy holds some mix of
 * old and new bytes, which is all a guest can expect, and nothing depends on
 * the copied bytes being the ones checked before.
 */

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/** Longest copy done inline. */
#define VHF_COPY_INLINE_MAX 256

/*
 * Fixed-size pieces through a local: the compiler makes each one a single
 * unaligned load and a single store (16 bytes: one SSE register).
 */
#define VHF_COPY_PIECE(type, d, s)                                                                 \
	do {                                                                                       \
		type v_;                                                                           \
		memcpy(&v_, (s), sizeof(v_));                                                      \
		memcpy((d), &v_, sizeof(v_));                                                      \
	} while (0)

struct vhf_copy_16 {
	uint64_t q[2];
};

#if defined(__x86_64__)
/* Set once at load time where the CPU and OS allow AVX2, and by vhf_copy_set_max_simd_bits(). */
extern bool vhf_copy_long_avx2_on __attribute__((visibility("hidden")));
void vhf_copy_long_avx2(void *dst, const void *src, uint32_t len)
	__attribute__((visibility("hidden")));
#endif

/**
 * Bound the vector width of long copies, as EAL's --force-max-simd-bitwidth
 * bounds DPDK's own vector paths (the PMD passes rte_vect_get_max_simd_bitwidth()):
 * under 256, libc's memcpy only. Process-wide; call before queues run.
 */
void vhf_copy_set_max_simd_bits(unsigned int bits);

/** "avx2" or "libc": what copies longer than VHF_COPY_INLINE_MAX go through now. */
const char *vhf_copy_long_path(void);

/* A copy over VHF_COPY_INLINE_MAX bytes. */
static inline void
vhf_copy_long(void *dst, const void *src, uint32_t len)
{
#if defined(__x86_64__)
	if (__builtin_expect(vhf_copy_long_avx2_on, 1)) {
		vhf_copy_long_avx2(dst, src, len);
		return;
	}
#endif
	memcpy(dst, src, len);
}

/** Copy len bytes; dst and src do not overlap. */
static inline void
vhf_copy(void *dst, const void *src, uint32_t len)
{
	uint8_t *d = dst;
	const uint8_t *s = src;

	if (len > VHF_COPY_INLINE_MAX) {
		vhf_copy_long(d, s, len);
		return;
	}
	if (len >= 16) {
		uint32_t tail = len - 16;
		uint32_t off;

		/*
		 * Up to 64 bytes (a short frame, most packets of a small-packet
		 * load): a fixed set of pieces, the later ones overlapping the
		 * earlier, and no loop.
		 */
		if (len <= 32) {
			VHF_COPY_PIECE(struct vhf_copy_16, d, s);
			VHF_COPY_PIECE(struct vhf_copy_16, d + tail, s + tail);
			return;
		}
		if (len <= 64) {
			VHF_COPY_PIECE(struct vhf_copy_16, d, s);
			VHF_COPY_PIECE(struct vhf_copy_16, d + 16, s + 16);
			VHF_COPY_PIECE(struct vhf_copy_16, d + len - 32, s + len - 32);
			VHF_COPY_PIECE(struct vhf_copy_16, d + tail, s + tail);
			return;
		}
		/* Whole 16-byte pieces, then the last 16 bytes again, overlapping the last piece. */

		for (off = 0; off < tail; off += 16)
			VHF_COPY_PIECE(struct vhf_copy_16, d + off, s + off);
		VHF_COPY_PIECE(struct vhf_copy_16, d + tail, s + tail);
		return;
	}
	/* 1-15 bytes: two pieces of the largest size that fits, overlapping in the middle. */
	if (len >= 8) {
		VHF_COPY_PIECE(uint64_t, d, s);
		VHF_COPY_PIECE(uint64_t, d + len - 8, s + len - 8);
	} else if (len >= 4) {
		VHF_COPY_PIECE(uint32_t, d, s);
		VHF_COPY_PIECE(uint32_t, d + len - 4, s + len - 4);
	} else if (len >= 2) {
		VHF_COPY_PIECE(uint16_t, d, s);
		VHF_COPY_PIECE(uint16_t, d + len - 2, s + len - 2);
	} else if (len == 1) {
		*d = *s;
	}
}

/**
 * Copy 8 to 16 bytes (a virtio-net header): two 8-byte pieces, the second
 * ending at the last byte, overlapping the first when len < 16. No branch on
 * the length, and no read past src + len.
 */
static inline void
vhf_copy_8_16(void *dst, const void *src, uint32_t len)
{
	uint8_t *d = dst;
	const uint8_t *s = src;

	VHF_COPY_PIECE(uint64_t, d, s);
	VHF_COPY_PIECE(uint64_t, d + len - 8, s + len - 8);
}

/**
 * Do the 8 to 16 bytes at a and b match? vhf_copy_equal() for a length known to
 * be in that range (a virtio-net header): two overlapping 8-byte pieces each.
 */
static inline bool
vhf_copy_equal_8_16(const void *a, const void *b, uint32_t len)
{
	const uint8_t *x = a, *y = b;
	uint64_t x0, y0, x1, y1;

	memcpy(&x0, x, 8);
	memcpy(&y0, y, 8);
	memcpy(&x1, x + len - 8, 8);
	memcpy(&y1, y + len - 8, 8);
	return ((x0 ^ y0) | (x1 ^ y1)) == 0;
}

/**
 * Do the len bytes at a and b match? Short ranges (a virtio-net header, 8-16
 * bytes) as two overlapping 8-byte pieces each, like vhf_copy(). Either side
 * may be guest memory being rewritten: the answer then is one of the states
 * it passed through, which is all a caller may rely on.
 */
static inline bool
vhf_copy_equal(const void *a, const void *b, uint32_t len)
{
	if (len < 8 || len > 16)
		return memcmp(a, b, len) == 0;
	return vhf_copy_equal_8_16(a, b, len);
}

/*
 * Start bringing the line at p into the cache for a read soon. A hint: it never
 * faults and changes nothing, so any address may be given; ours are always
 * inside guest memory as mapped here.
 */
static inline void
vhf_prefetch(const void *p)
{
	__builtin_prefetch(p, 0, 3);
}

#if defined(__x86_64__)
/*
 * The CPU has PREFETCHW (CPUID PRFCHW), set once at load time (vhf_copy.c).
 * The build's -march may not say so (Debian's DPDK asks for corei7): then
 * __builtin_prefetch for a write is a plain read prefetch, and a line fetched
 * shared from the core that last wrote it costs a second trip to own it.
 */
extern bool vhf_cpu_has_prefetchw __attribute__((visibility("hidden")));
#endif

/*
 * The same for a line about to be written: asked for owned, not shared, so
 * that the store that follows finds it ours.
 */
static inline void
vhf_prefetch_write(const void *p)
{
#if defined(__x86_64__)
	if (__builtin_expect(vhf_cpu_has_prefetchw, 1)) {
		__asm__ volatile("prefetchw %0" : : "m"(*(const volatile char *)p));
		return;
	}
#endif
	__builtin_prefetch(p, 1, 3);
}

#endif /* VHF_COPY_H */
