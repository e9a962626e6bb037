/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 dpdk-vhostfix authors
 */

#ifndef VHF_MEM_H
#define VHF_MEM_H

/**
 * @file
 * Guest memory: the table of regions a vhost-user front-end hands over
 * (VHOST_USER_SET_MEM_TABLE) and translation of guest physical ranges into
 * host pointers. A range translates only if every byte of it lies in mapped
 * regions; a buffer may span adjacent regions, in which case it becomes
 * several host segments.
 */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** vhost-user allows at most this many regions (VHOST_MEMORY_BASELINE_NREGIONS is 8). */
#define VHF_MEM_MAX_REGIONS 8

/** One guest memory region as mapped in this process. */
struct vhf_mem_region {
	uint64_t guest_phys_addr; /**< first guest physical address */
	uint64_t size;            /**< bytes */
	uint64_t host_addr;       /**< where guest_phys_addr is mapped here */
	uint64_t mmap_offset;     /**< offset of the region in its fd (informational) */
};

/** A guest's memory table. Read-only for the datapath. */
struct vhf_mem {
	uint32_t nregions;
	struct vhf_mem_region regions[VHF_MEM_MAX_REGIONS];
};

/** A host segment of a guest buffer. */
struct vhf_iov {
	void *base;
	uint32_t len;
};

/**
 * Fill a memory table, rejecting regions that are empty, overflow the address
 * space or overlap each other.
 *
 * @return 0, or -EINVAL / -E2BIG with *mem left empty.
 */
int vhf_mem_set(struct vhf_mem *mem, const struct vhf_mem_region *regions, uint32_t nregions);

/** Find the region holding gpa, trying *hint first; updates *hint. NULL if unmapped. */
static inline const struct vhf_mem_region *
vhf_mem_find(const struct vhf_mem *mem, uint64_t gpa, uint32_t *hint)
{
	const struct vhf_mem_region *reg;
	uint32_t i;

	if (*hint < mem->nregions) {
		reg = &mem->regions[*hint];
		if (gpa - reg->guest_phys_addr < reg->size)
			return reg;
	}
	for (i = 0; i < mem->nregions; i++) {
		reg = &mem->regions[i];
		if (gpa - reg->guest_phys_addr < reg->size) {
			*hint = i;
			return reg;
		}
	}
	return NULL;
}

/** The region whose mapping here holds host address host: vhf_mem_find() backwards. */
static inline const struct vhf_mem_region *
vhf_mem_find_host(const struct vhf_mem *mem, uint64_t host)
{
	uint32_t i;

	for (i = 0; i < mem->nregions; i++)
		if (host - mem->regions[i].host_addr < mem->regions[i].size)
			return &mem->regions[i];
	return NULL;
}

/**
 * Translate [gpa, gpa + len) into host segments appended at iov[*niov].
 *
 * @return 0; -EFAULT if any byte is unmapped or the range wraps; -ENOBUFS if
 *   more than max_iov segments would be needed. On error *niov is unchanged.
 */
static inline int
vhf_mem_map(const struct vhf_mem *mem, uint64_t gpa, uint32_t len, struct vhf_iov *iov,
	    uint16_t *niov, uint16_t max_iov, uint32_t *hint)
{
	uint16_t n = *niov;

	if (gpa + len < gpa)
		return -EFAULT;
	while (len > 0) {
		const struct vhf_mem_region *reg = vhf_mem_find(mem, gpa, hint);
		uint64_t off, chunk;

		if (reg == NULL)
			return -EFAULT;
		if (n >= max_iov)
			return -ENOBUFS;
		off = gpa - reg->guest_phys_addr;
		chunk = reg->size - off;
		if (chunk > len)
			chunk = len;
		iov[n].base = (void *)(uintptr_t)(reg->host_addr + off);
		iov[n].len = (uint32_t)chunk;
		n++;
		gpa += chunk;
		len -= (uint32_t)chunk;
	}
	*niov = n;
	return 0;
}

/**
 * Translate a range that must be contiguous in one region (ring areas,
 * indirect descriptor tables). NULL if it is not wholly inside one region.
 */
static inline void *
vhf_mem_map_contig(const struct vhf_mem *mem, uint64_t gpa, uint64_t len, uint32_t *hint)
{
	const struct vhf_mem_region *reg = vhf_mem_find(mem, gpa, hint);
	uint64_t off;

	if (reg == NULL)
		return NULL;
	off = gpa - reg->guest_phys_addr;
	if (len > reg->size - off)
		return NULL;
	return (void *)(uintptr_t)(reg->host_addr + off);
}

#endif /* VHF_MEM_H */
