/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 dpdk-vhostfix authors
 */

/*
 * Guest memory table: validation and translation, across region boundaries;
 * and the inline copy that moves packet bytes in and out of guest buffers.
 */

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vhf_copy.h"
#include "vhf_mem.h"

static uint8_t host_a[4096], host_b[8192];

/* Two regions adjacent in guest physical space, apart in host space. */
static void
two_regions(struct vhf_mem *mem)
{
	struct vhf_mem_region r[2] = {
		{ .guest_phys_addr = 0x10000, .size = sizeof(host_a),
		  .host_addr = (uintptr_t)host_a },
		{ .guest_phys_addr = 0x10000 + sizeof(host_a), .size = sizeof(host_b),
		  .host_addr = (uintptr_t)host_b },
	};

	assert_int_equal(vhf_mem_set(mem, r, 2), 0);
}

static void
test_set_rejects_bad_tables(void **state)
{
	struct vhf_mem mem;
	struct vhf_mem_region r[VHF_MEM_MAX_REGIONS + 1];
	unsigned int i;

	(void)state;
	memset(r, 0, sizeof(r));
	for (i = 0; i <= VHF_MEM_MAX_REGIONS; i++) {
		r[i].guest_phys_addr = 0x1000 * (i + 1);
		r[i].size = 0x1000;
		r[i].host_addr = 0x100000 + 0x1000 * i;
	}
	assert_int_equal(vhf_mem_set(&mem, r, VHF_MEM_MAX_REGIONS + 1), -E2BIG);
	assert_int_equal(mem.nregions, 0);
	assert_int_equal(vhf_mem_set(&mem, r, VHF_MEM_MAX_REGIONS), 0);

	r[1].guest_phys_addr = 0x1800; /* overlaps region 0 */
	assert_int_equal(vhf_mem_set(&mem, r, 2), -EINVAL);
	r[1].guest_phys_addr = 0x2000;
	r[1].size = 0;
	assert_int_equal(vhf_mem_set(&mem, r, 2), -EINVAL);
	r[1].size = 0x1000;
	r[1].guest_phys_addr = UINT64_MAX - 0x10; /* wraps the address space */
	assert_int_equal(vhf_mem_set(&mem, r, 2), -EINVAL);
}

static void
test_map_inside_and_across(void **state)
{
	struct vhf_mem mem;
	struct vhf_iov iov[4];
	uint16_t n = 0;
	uint32_t hint = 0;

	(void)state;
	two_regions(&mem);
	assert_int_equal(vhf_mem_map(&mem, 0x10010, 100, iov, &n, 4, &hint), 0);
	assert_int_equal(n, 1);
	assert_ptr_equal(iov[0].base, host_a + 0x10);
	assert_int_equal(iov[0].len, 100);

	/* 16 bytes before the boundary, 84 after: two host segments. */
	n = 0;
	assert_int_equal(vhf_mem_map(&mem, 0x10000 + sizeof(host_a) - 16, 100, iov, &n, 4, &hint),
			 0);
	assert_int_equal(n, 2);
	assert_ptr_equal(iov[0].base, host_a + sizeof(host_a) - 16);
	assert_int_equal(iov[0].len, 16);
	assert_ptr_equal(iov[1].base, host_b);
	assert_int_equal(iov[1].len, 84);
	assert_int_equal(hint, 1);

	/* The same range must not translate as one contiguous area. */
	assert_null(vhf_mem_map_contig(&mem, 0x10000 + sizeof(host_a) - 16, 100, &hint));
	assert_ptr_equal(vhf_mem_map_contig(&mem, 0x10000, sizeof(host_a), &hint), host_a);
}

static void
test_map_rejects_unmapped(void **state)
{
	struct vhf_mem mem;
	struct vhf_iov iov[4];
	uint16_t n = 0;
	uint32_t hint = 7; /* stale hints are harmless */

	(void)state;
	two_regions(&mem);
	/* Last byte one past the end of region b. */
	assert_int_equal(vhf_mem_map(&mem, 0x10000 + sizeof(host_a) + sizeof(host_b) - 10, 11, iov,
				     &n, 4, &hint),
			 -EFAULT);
	assert_int_equal(n, 0);
	assert_int_equal(vhf_mem_map(&mem, 0xfff0, 0x20, iov, &n, 4, &hint), -EFAULT);
	assert_int_equal(vhf_mem_map(&mem, UINT64_MAX - 4, 16, iov, &n, 4, &hint), -EFAULT);
	assert_int_equal(vhf_mem_map(&mem, 0, 1, iov, &n, 4, &hint), -EFAULT);
	/* A range needing more segments than allowed. */
	assert_int_equal(vhf_mem_map(&mem, 0x10000 + sizeof(host_a) - 16, 100, iov, &n, 1, &hint),
			 -ENOBUFS);
	assert_int_equal(n, 0);
	assert_null(vhf_mem_map_contig(&mem, 0x10000 + sizeof(host_a) + sizeof(host_b) - 1, 2,
				       &hint));
}

/*
 * Every length around the inline limit, at every alignment of either side:
 * each byte copied, none written before the destination. Both buffers end
 * exactly where the copy ends, on the heap, so a sanitizer build also catches
 * a read or write past either end (the overlapping pieces must stay inside).
 */
static void
test_copy_every_length(void **state)
{
	uint32_t len, align;

	(void)state;
	for (len = 0; len <= VHF_COPY_INLINE_MAX + 40; len++) {
		for (align = 0; align < 16; align += len < 64 ? 1 : 5) {
			/* The source one way, the destination the other way from a 16-byte boundary. */
			uint32_t dalign = 15 - align;
			uint8_t *src_block = malloc(align + len + 1);
			uint8_t *dst_block = malloc(dalign + len + 1);
			uint8_t *src, *dst;
			uint32_t i;

			assert_non_null(src_block);
			assert_non_null(dst_block);
			/* +1 above only for len 0; the data ends at the block's last byte. */
			src = src_block + align + 1;
			dst = dst_block + dalign + 1;
			memset(dst_block, 0xa5, dalign + len + 1);
			for (i = 0; i < len; i++)
				src[i] = (uint8_t)(i * 7 + len);
			vhf_copy(dst, src, len);
			assert_memory_equal(dst, src, len);
			for (i = 0; i < dalign + 1; i++)
				assert_int_equal(dst_block[i], 0xa5);
			free(src_block);
			free(dst_block);
		}
	}
}

/*
 * Copies past the inline limit, through whichever long copy this CPU gets
 * (vhf_copy_long_path()) and through libc's: every length up to 4 KiB and
 * some up to a jumbo frame; the destination at each of 64 offsets from the
 * heap's alignment up to 600 bytes, every 11th beyond (the AVX2 copy aligns
 * its stores from there), the source at another. Guard bytes on either side
 * of the destination; the source ends at its block's last byte, for the
 * sanitizer build.
 */
static void
copy_long_check(uint32_t len, uint32_t src_off, uint32_t dst_off)
{
	uint8_t *src_block = malloc(src_off + len);
	uint8_t *dst_block = malloc(dst_off + len + 64);
	uint32_t i;

	assert_non_null(src_block);
	assert_non_null(dst_block);
	memset(dst_block, 0x5a, dst_off + len + 64);
	for (i = 0; i < len; i++)
		src_block[src_off + i] = (uint8_t)(i * 13 + len);
	vhf_copy(dst_block + dst_off, src_block + src_off, len);
	assert_memory_equal(dst_block + dst_off, src_block + src_off, len);
	for (i = 0; i < dst_off; i++)
		assert_int_equal(dst_block[i], 0x5a);
	for (i = 0; i < 64; i++)
		assert_int_equal(dst_block[dst_off + len + i], 0x5a);
	free(src_block);
	free(dst_block);
}

static void
copy_long_all(void)
{
	uint32_t len, off;

	for (len = VHF_COPY_INLINE_MAX + 1; len <= 9100; len += len < 4200 ? 1 : 97)
		for (off = 0; off < 64; off += len < 600 ? 1 : 11)
			copy_long_check(len, (off * 7 + 3) % 64, off);
}

static void
test_copy_long(void **state)
{
	(void)state;
	print_message("# long copies: %s\n", vhf_copy_long_path());
	copy_long_all();
	vhf_copy_set_max_simd_bits(128);
	assert_string_equal(vhf_copy_long_path(), "libc");
	copy_long_all();
	vhf_copy_set_max_simd_bits(256);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_set_rejects_bad_tables),
		cmocka_unit_test(test_map_inside_and_across),
		cmocka_unit_test(test_map_rejects_unmapped),
		cmocka_unit_test(test_copy_every_length),
		cmocka_unit_test(test_copy_long),
	};

	return cmocka_run_group_tests_name("mem", tests, NULL, NULL);
}
