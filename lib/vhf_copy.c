/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 dpdk-vhostfix authors
 */

#include "vhf_copy.h"

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>

bool vhf_cpu_has_prefetchw;
bool vhf_copy_long_avx2_on;

/* What the CPU and the OS allow, kept for vhf_copy_set_max_simd_bits(). */
static bool vhf_cpu_has_avx2;

/* AVX2 in the CPU, and the OS saving the ymm registers' upper halves (XCR0 bits 1 and 2). */
static bool
vhf_cpu_probe_avx2(void)
{
	unsigned int eax, ebx, ecx, edx, xcr0_lo, xcr0_hi;

	if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx) || !(ecx & bit_OSXSAVE) || !(ecx & bit_AVX))
		return false;
	__asm__ volatile("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
	if ((xcr0_lo & 0x6) != 0x6)
		return false;
	return __get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx) && (ebx & bit_AVX2);
}

/* Before any queue runs: a load-time constructor, so that lib/ needs no init call. */
__attribute__((constructor)) static void
vhf_copy_cpu_probe(void)
{
	unsigned int eax, ebx, ecx, edx;

	if (__get_cpuid(0x80000001, &eax, &ebx, &ecx, &edx))
		vhf_cpu_has_prefetchw = (ecx & bit_PRFCHW) != 0;
	vhf_cpu_has_avx2 = vhf_cpu_probe_avx2();
	vhf_copy_long_avx2_on = vhf_cpu_has_avx2;
}

/*
 * A long copy front to back in 32-byte pieces, the stores aligned. glibc's
 * copy (its memmove's, whichever is called) loads a piece's last 256 bytes
 * before its loop; for a 2 KiB piece just written from another core, that
 * load and the first each wait on a miss of their own (in the 9000 B profiles
 * of doc/bench-2026-12-07d.md, each held a quarter to a third of the copy's
 * samples). Front to back, the first miss starts the stream the hardware
 * prefetcher follows. One unaligned piece first, the stores after it on
 * 32-byte boundaries (none splits a cache line), the last 32 bytes again
 * unaligned, over bytes already written: the buffers never overlap. 256-bit
 * and not 512: DPDK's default bound on vector width, and a 512-bit version
 * measured no better.
 *
 * tune=haswell: the PMD is built with DPDK's -march (Debian's: corei7), and
 * under that tuning GCC splits each unaligned 256-bit load and store in two
 * 128-bit halves, which cost 1.2-1.6x libc's cycles in the 9000 B cells.
 * Called for len > VHF_COPY_INLINE_MAX only.
 */
__attribute__((target("avx2,tune=haswell"))) void
vhf_copy_long_avx2(void *dst, const void *src, uint32_t len)
{
	uint8_t *d = dst;
	const uint8_t *s = src;
	uint32_t to_aligned = 32 - ((uintptr_t)d & 31);

	_mm256_storeu_si256((__m256i_u *)d, _mm256_loadu_si256((const __m256i_u *)s));
	d += to_aligned;
	s += to_aligned;
	len -= to_aligned;
	while (len > 128) {
		__m256i a = _mm256_loadu_si256((const __m256i_u *)s);
		__m256i b = _mm256_loadu_si256((const __m256i_u *)(s + 32));
		__m256i c = _mm256_loadu_si256((const __m256i_u *)(s + 64));
		__m256i e = _mm256_loadu_si256((const __m256i_u *)(s + 96));

		_mm256_storeu_si256((__m256i_u *)d, a);
		_mm256_storeu_si256((__m256i_u *)(d + 32), b);
		_mm256_storeu_si256((__m256i_u *)(d + 64), c);
		_mm256_storeu_si256((__m256i_u *)(d + 96), e);
		d += 128;
		s += 128;
		len -= 128;
	}
	while (len > 32) {
		_mm256_storeu_si256((__m256i_u *)d, _mm256_loadu_si256((const __m256i_u *)s));
		d += 32;
		s += 32;
		len -= 32;
	}
	_mm256_storeu_si256((__m256i_u *)(d + len - 32),
			    _mm256_loadu_si256((const __m256i_u *)(s + len - 32)));
}
#endif

void
vhf_copy_set_max_simd_bits(unsigned int bits)
{
#if defined(__x86_64__)
	vhf_copy_long_avx2_on = vhf_cpu_has_avx2 && bits >= 256;
#else
	(void)bits;
#endif
}

const char *
vhf_copy_long_path(void)
{
#if defined(__x86_64__)
	if (vhf_copy_long_avx2_on)
		return "avx2";
#endif
	return "libc";
}
