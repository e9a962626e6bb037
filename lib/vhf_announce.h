/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 dpdk-vhostfix authors
 */

#ifndef VHF_ANNOUNCE_H
#define VHF_ANNOUNCE_H

/**
 * @file
 * Announcing a guest at its new location after live migration, for guests
 * that cannot do it themselves (no VIRTIO_NET_F_GUEST_ANNOUNCE): the
 * front-end then sends VHOST_USER_SEND_RARP with the guest's MAC and the
 * device emits, on the guest's behalf, the frame QEMU and DPDK's vhost emit:
 * a broadcast RARP "request reverse" (RFC 903) whose sender and target
 * hardware addresses are the guest's MAC, so that switches learn the MAC on
 * the port it now arrives from. No EAL: the caller owns the buffer.
 */

#include <stdint.h>

/** EtherType of RARP (RFC 903). */
#define VHF_ETHER_TYPE_RARP 0x8035
/** Length of the frame vhf_announce_rarp() writes: Ethernet's minimum, FCS excluded. */
#define VHF_ANNOUNCE_RARP_LEN 60

/**
 * Write the RARP announcing mac into buf.
 *
 * @param buf where the frame goes
 * @param len bytes available at buf
 * @param mac the guest's MAC (6 bytes)
 * @return VHF_ANNOUNCE_RARP_LEN, or 0 (nothing written) if len is shorter.
 */
uint32_t vhf_announce_rarp(void *buf, uint32_t len, const uint8_t mac[6]);

#endif /* VHF_ANNOUNCE_H */
