/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 dpdk-vhostfix authors
 */

#include <string.h>

#include "vhf_announce.h"

/* ARP-format fields of the RARP body (RFC 826, RFC 903), network byte order when written. */
#define VHF_ARP_HRD_ETHER 1
#define VHF_ARP_PRO_IPV4 0x0800
#define VHF_RARP_OP_REQUEST_REVERSE 3

static uint8_t *
vhf_put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return p + 2;
}

uint32_t
vhf_announce_rarp(void *buf, uint32_t len, const uint8_t mac[6])
{
	uint8_t *p = buf;

	if (len < VHF_ANNOUNCE_RARP_LEN)
		return 0;
	/* Zero first: the protocol addresses (unknown, 0.0.0.0) and the padding to 60 bytes. */
	memset(p, 0, VHF_ANNOUNCE_RARP_LEN);
	/* Ethernet: broadcast, from the guest, so every switch on the way learns its port. */
	memset(p, 0xff, 6);
	memcpy(p + 6, mac, 6);
	p = vhf_put_be16(p + 12, VHF_ETHER_TYPE_RARP);
	/* RARP: hardware Ethernet (6 bytes), protocol IPv4 (4 bytes), "request reverse". */
	p = vhf_put_be16(p, VHF_ARP_HRD_ETHER);
	p = vhf_put_be16(p, VHF_ARP_PRO_IPV4);
	*p++ = 6;
	*p++ = 4;
	p = vhf_put_be16(p, VHF_RARP_OP_REQUEST_REVERSE);
	/* Sender and target hardware address: the guest's; both protocol addresses stay 0. */
	memcpy(p, mac, 6);
	memcpy(p + 10, mac, 6);
	return VHF_ANNOUNCE_RARP_LEN;
}
