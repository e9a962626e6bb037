/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 dpdk-vhostfix authors
 */

#ifndef VHF_SHM_H
#define VHF_SHM_H

/**
 * @file
 * Access to the words of guest memory that the device and the driver use to
 * synchronise: split avail->idx/flags, used->idx/flags, avail_event and
 * used_event; packed descriptor flags and the two event suppression areas.
 *
 * Everything else the two sides share (descriptor bodies, avail ring entries,
 * used ring elements) is data published by one of these words and is accessed
 * with plain loads and stores; descriptor bodies go through
 * vhf_shm_read_desc(), a plain copy.
 *
 * Keeping the synchronising accesses behind these helpers has two uses: the
 * memory order of each one is visible at the call site, and the race explorer
 * (test/race) can build the very same datapath with VHF_SHM_HOOKS defined, so
 * that every synchronising load, store and fence becomes a scheduling point of
 * an exhaustive interleaving search, with store buffers as on x86-TSO. The
 * fuzzer (test/fuzz) builds it the same way to count the descriptors each call
 * reads and to let its hostile guest rewrite memory at every read the device
 * makes.
 */

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "dpdk-vhostfix supports little-endian hosts only (virtio 1.x rings are little-endian)"
#endif

#ifdef VHF_SHM_HOOKS

/* Provided by the race explorer; each call is one step of the calling thread. */
uint16_t vhf_shm_hook_load16(const uint16_t *addr, int memorder);
void vhf_shm_hook_store16(uint16_t *addr, uint16_t val, int memorder);
void vhf_shm_hook_fence(void);
/* Not a synchronising access: the race explorer copies; the fuzzer counts and acts. */
void vhf_shm_hook_read_desc(void *dst, const void *src, size_t len);

#define vhf_shm_load16(p, mo) vhf_shm_hook_load16((p), (mo))
#define vhf_shm_store16(p, v, mo) vhf_shm_hook_store16((p), (v), (mo))
#define vhf_shm_fence_seq_cst() vhf_shm_hook_fence()
#define vhf_shm_copy_desc(d, s, n) vhf_shm_hook_read_desc((d), (s), (n))

#else

#define vhf_shm_load16(p, mo) __atomic_load_n((p), (mo))
#define vhf_shm_store16(p, v, mo) __atomic_store_n((p), (uint16_t)(v), (mo))
#define vhf_shm_fence_seq_cst() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define vhf_shm_copy_desc(d, s, n) memcpy((d), (s), (n))

#endif

/** Load a synchronising word; acquire: later loads of the data it publishes stay after it. */
static inline uint16_t
vhf_shm_load_acquire16(const uint16_t *p)
{
	return vhf_shm_load16(p, __ATOMIC_ACQUIRE);
}

/** Load a synchronising word with no ordering of its own (ordered by an explicit fence). */
static inline uint16_t
vhf_shm_load_relaxed16(const uint16_t *p)
{
	return vhf_shm_load16(p, __ATOMIC_RELAXED);
}

/** Store a synchronising word; release: the data it publishes is visible before it. */
static inline void
vhf_shm_store_release16(uint16_t *p, uint16_t v)
{
	vhf_shm_store16(p, v, __ATOMIC_RELEASE);
}

/** Store a synchronising word with no ordering of its own. */
static inline void
vhf_shm_store_relaxed16(uint16_t *p, uint16_t v)
{
	vhf_shm_store16(p, v, __ATOMIC_RELAXED);
}

/**
 * Full store-load barrier. Orders a store that announces "I am about to sleep"
 * (notification enable, used index publication) against the load that checks
 * whether the other side moved meanwhile. Release/acquire cannot do this: on
 * every real CPU a store may still sit in a store buffer when a later load
 * executes.
 */
static inline void
vhf_shm_mb(void)
{
	vhf_shm_fence_seq_cst();
}

/**
 * Copy one descriptor (a ring slot or an indirect table entry) out of guest
 * memory. The device checks and uses only this copy: the guest may rewrite the
 * original at any time. Ordered by the synchronising load that published it.
 */
static inline void
vhf_shm_read_desc(void *dst, const void *src, size_t len)
{
	vhf_shm_copy_desc(dst, src, len);
}

#endif /* VHF_SHM_H */
