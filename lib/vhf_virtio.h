/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 dpdk-vhostfix authors
 */

#ifndef VHF_VIRTIO_H
#define VHF_VIRTIO_H

/**
 * @file
 * Virtio 1.x ring layouts and feature bits, as the specification defines them
 * (sections 2.7 "Split Virtqueues" and 2.8 "Packed Virtqueues", 5.1 "Network
 * Device"). Little-endian on the wire; the library supports little-endian
 * hosts only, so fields are used as they are.
 */

#include <stdbool.h>
#include <stdint.h>

/* Feature bits (bit numbers). */
#define VHF_F_NET_CSUM 0
#define VHF_F_NET_GUEST_CSUM 1
#define VHF_F_NET_MAC 5
#define VHF_F_NET_GUEST_TSO4 7
#define VHF_F_NET_GUEST_TSO6 8
#define VHF_F_NET_HOST_TSO4 11
#define VHF_F_NET_HOST_TSO6 12
#define VHF_F_NET_MRG_RXBUF 15
#define VHF_F_NET_STATUS 16
#define VHF_F_NET_CTRL_VQ 17
#define VHF_F_NET_GUEST_ANNOUNCE 21
#define VHF_F_NET_MQ 22
#define VHF_F_NOTIFY_ON_EMPTY 24
#define VHF_F_ANY_LAYOUT 27
#define VHF_F_RING_INDIRECT_DESC 28
#define VHF_F_RING_EVENT_IDX 29
#define VHF_F_VERSION_1 32
#define VHF_F_ACCESS_PLATFORM 33
#define VHF_F_RING_PACKED 34
#define VHF_F_IN_ORDER 35

#define VHF_FEATURE(bit) (UINT64_C(1) << (bit))

/* Descriptor flags, shared by both layouts. */
#define VHF_DESC_F_NEXT 1
#define VHF_DESC_F_WRITE 2
#define VHF_DESC_F_INDIRECT 4
/* Packed only. */
#define VHF_DESC_F_AVAIL (1 << 7)
#define VHF_DESC_F_USED (1 << 15)

/* Split: driver -> device "do not interrupt me" (no EVENT_IDX). */
#define VHF_AVAIL_F_NO_INTERRUPT 1
/* Split: device -> driver "do not kick me" (no EVENT_IDX). */
#define VHF_USED_F_NO_NOTIFY 1

/* Packed event suppression flags. */
#define VHF_EVENT_F_ENABLE 0x0
#define VHF_EVENT_F_DISABLE 0x1
#define VHF_EVENT_F_DESC 0x2
/* Packed off_wrap: bit 15 is the wrap counter, bits 0-14 the offset. */
#define VHF_EVENT_WRAP_SHIFT 15

/** Largest queue the specification allows for either layout. */
#define VHF_VQ_MAX_SIZE 32768

/** Split descriptor (16 bytes). */
struct vhf_vring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

/** Split avail ring; ring[size] is used_event when EVENT_IDX is negotiated. */
struct vhf_vring_avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[];
};

struct vhf_vring_used_elem {
	uint32_t id;
	uint32_t len;
};

/** Split used ring; after ring[size] comes avail_event (a le16) with EVENT_IDX. */
struct vhf_vring_used {
	uint16_t flags;
	uint16_t idx;
	struct vhf_vring_used_elem ring[];
};

/** Packed descriptor (16 bytes). */
struct vhf_vring_packed_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t id;
	uint16_t flags;
};

/** Packed event suppression area (driver's or device's). */
struct vhf_vring_packed_event {
	uint16_t off_wrap;
	uint16_t flags;
};

/** Split: where the driver asks "interrupt me after this used index". */
static inline uint16_t *
vhf_split_used_event(struct vhf_vring_avail *avail, uint16_t size)
{
	return &avail->ring[size];
}

/** Split: where the device asks "kick me after this avail index". */
static inline uint16_t *
vhf_split_avail_event(struct vhf_vring_used *used, uint16_t size)
{
	return (uint16_t *)(void *)&used->ring[size];
}

/**
 * The EVENT_IDX rule (virtio 1.x, 2.7.10): the side that moved its index from
 * old_idx to new_idx must notify iff event_idx lies in [old_idx, new_idx),
 * all in modulo-2^16 arithmetic.
 */
static inline bool
vhf_need_event(uint16_t event_idx, uint16_t new_idx, uint16_t old_idx)
{
	return (uint16_t)(new_idx - event_idx - 1) < (uint16_t)(new_idx - old_idx);
}

/* virtio-net header. */
#define VHF_NET_HDR_F_NEEDS_CSUM 1
#define VHF_NET_HDR_F_DATA_VALID 2
#define VHF_NET_HDR_GSO_NONE 0
#define VHF_NET_HDR_GSO_TCPV4 1
#define VHF_NET_HDR_GSO_UDP 3
#define VHF_NET_HDR_GSO_TCPV6 4
#define VHF_NET_HDR_GSO_ECN 0x80

/** virtio-net header; num_buffers exists (12 bytes) with MRG_RXBUF or VERSION_1. */
struct vhf_net_hdr {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
	uint16_t num_buffers;
};

#define VHF_NET_HDR_LEN_LEGACY 10
#define VHF_NET_HDR_LEN_MRG 12

_Static_assert(sizeof(struct vhf_vring_desc) == 16, "split descriptor layout");
_Static_assert(sizeof(struct vhf_vring_packed_desc) == 16, "packed descriptor layout");
_Static_assert(sizeof(struct vhf_vring_used_elem) == 8, "used element layout");
_Static_assert(sizeof(struct vhf_net_hdr) == 12, "virtio-net header layout");

#endif /* VHF_VIRTIO_H */
