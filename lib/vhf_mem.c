/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 dpdk-vhostfix authors
 */

#include <string.h>

#include "vhf_mem.h"

int
vhf_mem_set(struct vhf_mem *mem, const struct vhf_mem_region *regions, uint32_t nregions)
{
	uint32_t i, j;

	memset(mem, 0, sizeof(*mem));
	if (nregions > VHF_MEM_MAX_REGIONS)
		return -E2BIG;
	for (i = 0; i < nregions; i++) {
		const struct vhf_mem_region *a = &regions[i];

		if (a->size == 0 || a->guest_phys_addr + a->size < a->guest_phys_addr ||
		    a->host_addr + a->size < a->host_addr)
			return -EINVAL;
		for (j = 0; j < i; j++) {
			const struct vhf_mem_region *b = &regions[j];

			if (a->guest_phys_addr < b->guest_phys_addr + b->size &&
			    b->guest_phys_addr < a->guest_phys_addr + a->size)
				return -EINVAL;
		}
	}
	memcpy(mem->regions, regions, nregions * sizeof(*regions));
	mem->nregions = nregions;
	return 0;
}
