/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 dpdk-vhostfix authors
 */

#include "vhf_copy.h"

#if defined(__x86_64__)
#include <cpuid.h>

bool vhf_cpu_has_prefetchw;

/* Before any queue runs: a load-time constructor, so that lib/ needs no init call. */
__attribute__((constructor)) static void
vhf_copy_cpu_probe(void)
{
	unsigned int eax, ebx, ecx, edx;

	if (__get_cpuid(0x80000001, &eax, &ebx, &ecx, &edx))
		vhf_cpu_has_prefetchw = (ecx & bit_PRFCHW) != 0;
}
#endif
