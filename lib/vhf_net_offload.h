/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 dpdk-vhostfix authors
 */

#ifndef VHF_NET_OFFLOAD_H
#define VHF_NET_OFFLOAD_H

/**
 * @file
 * Checksum and segmentation offloads: the virtio-net header <-> offload
 * metadata, both ways, with every offset the guest (or the application)
 * gives checked against the packet before anything is read or written.
 *
 * No EAL and no mbufs here: the PMD maps its mbuf flags onto struct
 * vhf_ofl_to_guest_req and back from struct vhf_ofl_from_guest_info, and does the packet writes
 * itself; unit tests and fuzzers run these functions on plain buffers.
 *
 * Naming follows the device: "from guest" is the guest's TX queue (what the
 * PMD's rx_burst returns), "to guest" its RX queue (what tx_burst sends).
 *
 * Semantics of a partial checksum (VIRTIO_NET_HDR_F_NEEDS_CSUM, Linux's
 * CHECKSUM_PARTIAL): the 16-bit field at csum_start + csum_offset holds the
 * folded, not inverted, pseudo-header sum; completing it means summing
 * everything from csum_start to the end of the packet (that field included),
 * and storing the inverted fold there (0 written as 0xffff, which is the same
 * value in one's complement and keeps UDP's "no checksum" meaning away).
 */

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "vhf_virtio.h"

/** Bytes of a packet's start the header parser looks at (L2 + L3 + L4 headers). */
#define VHF_OFL_HDR_MAX 256

#define VHF_OFL_ETHER_HDR_LEN 14
#define VHF_OFL_ETHER_IPV4 0x0800
#define VHF_OFL_ETHER_IPV6 0x86dd
#define VHF_OFL_ETHER_VLAN 0x8100
#define VHF_OFL_ETHER_QINQ 0x88a8
#define VHF_OFL_IPPROTO_TCP 6
#define VHF_OFL_IPPROTO_UDP 17
/** Offset of the checksum inside a TCP / UDP header. */
#define VHF_OFL_TCP_CSUM_OFF 16
#define VHF_OFL_UDP_CSUM_OFF 6
#define VHF_OFL_TCP_MIN_LEN 20
#define VHF_OFL_UDP_LEN 8

/** L3 protocol found by vhf_ofl_parse(). */
enum vhf_ofl_l3 {
	VHF_OFL_L3_NONE = 0,
	VHF_OFL_L3_IPV4,
	VHF_OFL_L3_IPV6,
};

/** What vhf_ofl_parse() found at the start of a packet. */
struct vhf_ofl_hdrs {
	uint16_t l2_len;   /**< Ethernet + VLAN tags */
	uint16_t l3_len;   /**< IP header with IPv6 extension headers; 0 if no IP */
	uint8_t l3;        /**< enum vhf_ofl_l3 */
	uint8_t l4_proto;  /**< IP protocol of the L4 header; 0 if unknown (or a fragment) */
};

/* ---------------------------------------------------------------------------------------- */
/* Internet checksum                                                                        */

/** Add len bytes at buf to a 32-bit one's complement accumulator (big-endian words). */
static inline uint32_t
vhf_ofl_sum(const void *buf, uint32_t len, uint32_t sum)
{
	const uint8_t *p = buf;
	uint64_t acc = sum;
	uint32_t i;

	for (i = 0; i + 1 < len; i += 2)
		acc += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		acc += (uint32_t)p[len - 1] << 8;
	while (acc >> 32)
		acc = (acc & 0xffffffff) + (acc >> 32);
	return (uint32_t)acc;
}

/** Fold a 32-bit accumulator into 16 bits (not inverted). */
static inline uint16_t
vhf_ofl_fold(uint32_t sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/** The value to store in a completed checksum field, from the folded sum over its span. */
static inline uint16_t
vhf_ofl_csum_final(uint16_t folded)
{
	uint16_t c = (uint16_t)~folded;

	return c == 0 ? 0xffff : c;
}

/**
 * The pseudo-header sum, folded and not inverted, as a partial checksum field
 * holds it (host byte order of the big-endian value).
 *
 * @param l3 the IP header (at least 20 bytes for IPv4, 40 for IPv6)
 * @param l3_type VHF_OFL_L3_IPV4 or VHF_OFL_L3_IPV6
 * @param proto the L4 protocol
 * @param l4_len bytes from the L4 header to the end of the packet
 */
static inline uint16_t
vhf_ofl_phdr(const uint8_t *l3, uint8_t l3_type, uint8_t proto, uint32_t l4_len)
{
	uint32_t sum;

	if (l3_type == VHF_OFL_L3_IPV4) {
		sum = vhf_ofl_sum(l3 + 12, 8, 0); /* source and destination addresses */
		sum += proto + (l4_len & 0xffff) + (l4_len >> 16);
	} else {
		sum = vhf_ofl_sum(l3 + 8, 32, 0);
		sum += proto + (l4_len & 0xffff) + (l4_len >> 16);
	}
	return vhf_ofl_fold(sum);
}

static inline uint16_t
vhf_ofl_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline void
vhf_ofl_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/** IPv4 header checksum of l3 (ihl_len bytes), computed with its checksum field as zero. */
static inline uint16_t
vhf_ofl_ipv4_csum(const uint8_t *l3, uint32_t ihl_len)
{
	uint32_t sum = vhf_ofl_sum(l3, 10, 0);

	sum = vhf_ofl_sum(l3 + 12, ihl_len - 12, sum);
	return (uint16_t)~vhf_ofl_fold(sum);
}

/* ---------------------------------------------------------------------------------------- */
/* Header parser                                                                            */

/**
 * Find L2, L3 and L4 in the first len bytes of a packet: Ethernet with up to
 * two VLAN tags, IPv4 (options included; fragments have no usable L4), IPv6
 * with hop-by-hop, routing and destination options headers. Never reads past
 * buf + len.
 *
 * @return 0 with h filled as far as it got (l3 NONE and l4_proto 0 for what it
 *   did not recognise or what did not fit).
 */
static inline int
vhf_ofl_parse(const uint8_t *buf, uint32_t len, struct vhf_ofl_hdrs *h)
{
	uint32_t off = VHF_OFL_ETHER_HDR_LEN;
	uint16_t type;
	unsigned int tags = 0;

	memset(h, 0, sizeof(*h));
	if (len < VHF_OFL_ETHER_HDR_LEN)
		return 0;
	type = vhf_ofl_get16(buf + 12);
	while ((type == VHF_OFL_ETHER_VLAN || type == VHF_OFL_ETHER_QINQ) && tags < 2) {
		if (off + 4 > len)
			return 0;
		type = vhf_ofl_get16(buf + off + 2);
		off += 4;
		tags++;
	}
	h->l2_len = (uint16_t)off;
	if (type == VHF_OFL_ETHER_IPV4) {
		const uint8_t *ip = buf + off;
		uint32_t ihl;

		if (off + 20 > len || (ip[0] >> 4) != 4)
			return 0;
		ihl = (uint32_t)(ip[0] & 0xf) * 4;
		if (ihl < 20 || off + ihl > len)
			return 0;
		h->l3 = VHF_OFL_L3_IPV4;
		h->l3_len = (uint16_t)ihl;
		/* More fragments, or a fragment offset: the L4 header is not all here. */
		if ((vhf_ofl_get16(ip + 6) & 0x3fff) == 0)
			h->l4_proto = ip[9];
	} else if (type == VHF_OFL_ETHER_IPV6) {
		const uint8_t *ip = buf + off;
		uint32_t l3 = 40;
		uint8_t next;
		unsigned int ext;

		if (off + 40 > len || (ip[0] >> 4) != 6)
			return 0;
		next = ip[6];
		/* A few extension headers, as Linux's and DPDK's parsers accept. */
		for (ext = 0; ext < 8 && (next == 0 || next == 43 || next == 60); ext++) {
			const uint8_t *e = buf + off + l3;

			if (off + l3 + 8 > len)
				return 0;
			next = e[0];
			l3 += ((uint32_t)e[1] + 1) * 8;
			if (off + l3 > len || l3 > UINT16_MAX)
				return 0;
		}
		h->l3 = VHF_OFL_L3_IPV6;
		h->l3_len = (uint16_t)l3;
		if (next != 0 && next != 43 && next != 60 && next != 44)
			h->l4_proto = next;
	}
	return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* From the guest: virtio-net header -> offload metadata                                    */

/** What the receive side must do with a packet's L4 checksum. */
enum vhf_ofl_csum {
	/** Nothing claimed: the checksum is as the guest wrote it, unchecked. */
	VHF_OFL_CSUM_UNKNOWN = 0,
	/**
	 * Verified good. Never the answer for a guest's transmit: DATA_VALID is
	 * the device's flag, which a driver must not set (virtio 1.x, "Packet
	 * Transmission", driver requirements), so a guest's claim is ignored.
	 */
	VHF_OFL_CSUM_GOOD,
	/** Partial TCP/UDP checksum at the L4 header: an offload the app may take. */
	VHF_OFL_CSUM_PARTIAL_L4,
	/** Partial checksum somewhere else in the packet: complete it in software. */
	VHF_OFL_CSUM_PARTIAL_OTHER,
};

/** Why a guest's virtio-net header was refused (the packet is dropped). */
enum vhf_ofl_err {
	VHF_OFL_OK = 0,
	VHF_OFL_ERR_CSUM_FEATURE = -1, /**< NEEDS_CSUM without VIRTIO_NET_F_CSUM */
	VHF_OFL_ERR_CSUM_RANGE = -2,   /**< csum_start/offset beyond the packet */
	VHF_OFL_ERR_GSO_FEATURE = -3,  /**< a GSO type not negotiated (or ECN, UDP) */
	VHF_OFL_ERR_GSO_TYPE = -4,     /**< unknown GSO type */
	VHF_OFL_ERR_GSO_HDR = -5,      /**< GSO without NEEDS_CSUM, gso_size 0, not TCP */
};

/** Offload metadata of a packet from the guest. */
struct vhf_ofl_from_guest_info {
	uint8_t csum;          /**< enum vhf_ofl_csum */
	uint8_t l4_proto;      /**< with PARTIAL_L4: VHF_OFL_IPPROTO_TCP or _UDP */
	uint16_t csum_start;   /**< with PARTIAL_*: where the checksummed span starts */
	uint16_t csum_offset;  /**< with PARTIAL_*: the field, from csum_start */
	uint16_t gso_size;     /**< non-zero: a TCP segmentation-offloaded packet (LRO) */
	uint8_t gso_type;      /**< VHF_NET_HDR_GSO_TCPV4 / _TCPV6 when gso_size != 0 */
	struct vhf_ofl_hdrs hdrs;
};

/**
 * Does a header ask for anything? (Most packets: no, and need no parsing.)
 * DATA_VALID asks nothing: on transmit it is not the guest's to set, and ignored.
 */
static inline bool
vhf_ofl_hdr_is_plain(const struct vhf_net_hdr *hdr)
{
	return (hdr->flags & VHF_NET_HDR_F_NEEDS_CSUM) == 0 &&
	       hdr->gso_type == VHF_NET_HDR_GSO_NONE;
}

/**
 * Whether a guest's TX headers can ask anything of us under these negotiated
 * features: a checksum (VIRTIO_NET_F_CSUM) or a segmentation (HOST_TSO4/6,
 * which need CSUM; HOST_UFO, HOST_USO and HOST_ECN are never offered). If not,
 * the driver must send zeroes, and a TX queue skips the header unread
 * (struct vhf_vq_config.tx_hdr_unread).
 */
static inline bool
vhf_ofl_tx_hdr_meaningful(uint64_t features)
{
	return (features & (VHF_FEATURE(VHF_F_NET_CSUM) | VHF_FEATURE(VHF_F_NET_HOST_TSO4) |
			    VHF_FEATURE(VHF_F_NET_HOST_TSO6))) != 0;
}

/**
 * Check the virtio-net header of a packet from the guest against the
 * negotiated features and the packet, and translate it.
 *
 * @param hdr the header, already copied out of guest memory
 * @param head the packet's first head_len bytes (head_len = min(len, VHF_OFL_HDR_MAX))
 * @param pkt_len the packet's length, header excluded
 * @param features negotiated virtio features
 * @return VHF_OFL_OK with *out filled, or an enum vhf_ofl_err (drop and count).
 */
static inline int
vhf_ofl_from_guest(const struct vhf_net_hdr *hdr, const uint8_t *head, uint32_t head_len,
		   uint32_t pkt_len, uint64_t features, struct vhf_ofl_from_guest_info *out)
{
	uint8_t gso = hdr->gso_type;

	memset(out, 0, sizeof(*out));
	if (vhf_ofl_hdr_is_plain(hdr))
		return VHF_OFL_OK;
	if (head_len > pkt_len)
		head_len = pkt_len;
	vhf_ofl_parse(head, head_len, &out->hdrs);

	if (hdr->flags & VHF_NET_HDR_F_NEEDS_CSUM) {
		uint32_t field = (uint32_t)hdr->csum_start + hdr->csum_offset;
		const struct vhf_ofl_hdrs *h = &out->hdrs;

		if (!(features & VHF_FEATURE(VHF_F_NET_CSUM)))
			return VHF_OFL_ERR_CSUM_FEATURE;
		if (field + 2 > pkt_len)
			return VHF_OFL_ERR_CSUM_RANGE;
		out->csum_start = hdr->csum_start;
		out->csum_offset = hdr->csum_offset;
		out->csum = VHF_OFL_CSUM_PARTIAL_OTHER;
		if (h->l3 != VHF_OFL_L3_NONE && hdr->csum_start == h->l2_len + h->l3_len &&
		    ((h->l4_proto == VHF_OFL_IPPROTO_TCP &&
		      hdr->csum_offset == VHF_OFL_TCP_CSUM_OFF) ||
		     (h->l4_proto == VHF_OFL_IPPROTO_UDP &&
		      hdr->csum_offset == VHF_OFL_UDP_CSUM_OFF))) {
			out->csum = VHF_OFL_CSUM_PARTIAL_L4;
			out->l4_proto = h->l4_proto;
		}
	}
	/*
	 * DATA_VALID is not looked at: a guest that sets it on transmit vouches
	 * for a checksum nobody checked, and the device must not rely on it.
	 */

	if (gso != VHF_NET_HDR_GSO_NONE) {
		uint64_t need;

		if (gso & VHF_NET_HDR_GSO_ECN)
			return VHF_OFL_ERR_GSO_FEATURE; /* HOST_ECN is never offered */
		switch (gso) {
		case VHF_NET_HDR_GSO_TCPV4:
			need = VHF_FEATURE(VHF_F_NET_HOST_TSO4);
			break;
		case VHF_NET_HDR_GSO_TCPV6:
			need = VHF_FEATURE(VHF_F_NET_HOST_TSO6);
			break;
		case VHF_NET_HDR_GSO_UDP:
			return VHF_OFL_ERR_GSO_FEATURE; /* HOST_UFO is never offered */
		default:
			return VHF_OFL_ERR_GSO_TYPE;
		}
		if (!(features & need))
			return VHF_OFL_ERR_GSO_FEATURE;
		/*
		 * The spec makes a GSO packet carry NEEDS_CSUM; we also want it
		 * to be the TCP it claims to be, over the IP version it claims,
		 * so that whoever segments it later finds what it expects.
		 */
		if (out->csum != VHF_OFL_CSUM_PARTIAL_L4 || out->l4_proto != VHF_OFL_IPPROTO_TCP ||
		    hdr->gso_size == 0 ||
		    out->hdrs.l3 != (gso == VHF_NET_HDR_GSO_TCPV4 ? VHF_OFL_L3_IPV4 :
								     VHF_OFL_L3_IPV6))
			return VHF_OFL_ERR_GSO_HDR;
		out->gso_type = gso;
		out->gso_size = hdr->gso_size;
	}
	return VHF_OFL_OK;
}

/* ---------------------------------------------------------------------------------------- */
/* To the guest: offload metadata -> virtio-net header                                      */

/* What the application asks for (the PMD maps RTE_MBUF_F_TX_* onto these). */
#define VHF_OFL_TX_TCP_CKSUM (1u << 0)
#define VHF_OFL_TX_UDP_CKSUM (1u << 1)
#define VHF_OFL_TX_TCP_SEG (1u << 2)
#define VHF_OFL_TX_IPV4 (1u << 3)
#define VHF_OFL_TX_IPV6 (1u << 4)
#define VHF_OFL_TX_IP_CKSUM (1u << 5)

/** Offload request of a packet for the guest, as the application described it. */
struct vhf_ofl_to_guest_req {
	uint32_t flags;     /**< VHF_OFL_TX_* */
	uint32_t pkt_len;
	uint16_t l2_len;
	uint16_t l3_len;
	uint16_t l4_len;    /**< TCP header length; needed for TCP_SEG */
	uint16_t tso_segsz; /**< MSS for TCP_SEG */
};

/* What the PMD must do to the packet before it is copied (vhf_ofl_to_guest()). */
/** Compute the IPv4 header checksum in software. */
#define VHF_OFL_DO_IP_CSUM (1u << 0)
/** Store the pseudo-header sum (with the L4 length) in the L4 checksum field. */
#define VHF_OFL_DO_PHDR (1u << 1)
/** Then complete the L4 checksum in software: the guest cannot. */
#define VHF_OFL_DO_L4_CSUM (1u << 2)

/** Why a packet for the guest is refused (dropped). */
enum vhf_ofl_to_guest_err {
	VHF_OFL_TO_GUEST_ERR_LENS = -1,   /**< l2/l3/l4 lengths do not fit the packet, or no IP */
	VHF_OFL_TO_GUEST_ERR_NO_TSO = -2, /**< TSO asked, the guest did not negotiate GUEST_TSO */
};

/** The plan for one packet to the guest. */
struct vhf_ofl_to_guest_plan {
	uint32_t todo;          /**< VHF_OFL_DO_* */
	uint16_t csum_start;    /**< L4 header offset (with DO_PHDR / DO_L4_CSUM) */
	uint16_t csum_offset;   /**< L4 checksum field, from csum_start */
	uint8_t l4_proto;
	uint8_t l3;             /**< enum vhf_ofl_l3 */
	struct vhf_net_hdr hdr; /**< what the guest gets; all zero: no offload */
};

/**
 * Translate an application's offload request into a virtio-net header for a
 * guest that negotiated features, or into software work where the guest
 * cannot take it. Lengths are checked against the packet, so that the
 * software steps stay inside it.
 *
 * The L4 field always gets our own pseudo-header sum (DO_PHDR), computed from
 * the IP header with the L4 length included: DPDK leaves that length out for
 * TSO, virtio wants it in, and a value we write ourselves does not depend on
 * what the application left there (so redoing it is harmless).
 *
 * @return 0 with *plan filled, or an enum vhf_ofl_to_guest_err.
 */
static inline int
vhf_ofl_to_guest(const struct vhf_ofl_to_guest_req *req, uint64_t features,
		 struct vhf_ofl_to_guest_plan *plan)
{
	uint32_t l4 = req->flags & (VHF_OFL_TX_TCP_CKSUM | VHF_OFL_TX_UDP_CKSUM);
	bool tso = req->flags & VHF_OFL_TX_TCP_SEG;
	uint32_t l4_off = (uint32_t)req->l2_len + req->l3_len;

	memset(plan, 0, sizeof(*plan));
	if (tso)
		l4 = VHF_OFL_TX_TCP_CKSUM; /* TSO implies the TCP checksum */
	if (l4 == (VHF_OFL_TX_TCP_CKSUM | VHF_OFL_TX_UDP_CKSUM))
		return VHF_OFL_TO_GUEST_ERR_LENS; /* a 2-bit mbuf field: not a valid pair */
	if (l4 == 0 && !(req->flags & VHF_OFL_TX_IP_CKSUM))
		return 0;

	plan->l3 = (req->flags & VHF_OFL_TX_IPV6) ? VHF_OFL_L3_IPV6 :
		   (req->flags & VHF_OFL_TX_IPV4) ? VHF_OFL_L3_IPV4 : VHF_OFL_L3_NONE;
	if (plan->l3 == VHF_OFL_L3_NONE ||
	    req->l3_len < (plan->l3 == VHF_OFL_L3_IPV4 ? 20 : 40) || l4_off > req->pkt_len ||
	    l4_off > UINT16_MAX)
		return VHF_OFL_TO_GUEST_ERR_LENS;
	if (req->flags & VHF_OFL_TX_IP_CKSUM) {
		if (plan->l3 != VHF_OFL_L3_IPV4 || req->l3_len > 60)
			return VHF_OFL_TO_GUEST_ERR_LENS;
		/* virtio has no IP checksum offload: always ours. */
		plan->todo |= VHF_OFL_DO_IP_CSUM;
	}
	if (l4 == 0)
		return 0;

	if (l4 == VHF_OFL_TX_TCP_CKSUM) {
		if (l4_off + VHF_OFL_TCP_MIN_LEN > req->pkt_len)
			return VHF_OFL_TO_GUEST_ERR_LENS;
		plan->l4_proto = VHF_OFL_IPPROTO_TCP;
		plan->csum_offset = VHF_OFL_TCP_CSUM_OFF;
	} else {
		if (l4_off + VHF_OFL_UDP_LEN > req->pkt_len)
			return VHF_OFL_TO_GUEST_ERR_LENS;
		plan->l4_proto = VHF_OFL_IPPROTO_UDP;
		plan->csum_offset = VHF_OFL_UDP_CSUM_OFF;
	}
	plan->csum_start = (uint16_t)l4_off;
	plan->todo |= VHF_OFL_DO_PHDR;

	if (tso) {
		uint64_t need = plan->l3 == VHF_OFL_L3_IPV4 ? VHF_FEATURE(VHF_F_NET_GUEST_TSO4) :
							      VHF_FEATURE(VHF_F_NET_GUEST_TSO6);

		if (req->l4_len < VHF_OFL_TCP_MIN_LEN || l4_off + req->l4_len > req->pkt_len ||
		    req->tso_segsz == 0)
			return VHF_OFL_TO_GUEST_ERR_LENS;
		/*
		 * A guest without GUEST_TSO cannot take a frame larger than its
		 * MTU, and we do not segment: the packet is dropped (counted).
		 * GUEST_TSO implies GUEST_CSUM (spec 5.1.3.1).
		 */
		if (!(features & need) || !(features & VHF_FEATURE(VHF_F_NET_GUEST_CSUM)))
			return VHF_OFL_TO_GUEST_ERR_NO_TSO;
		plan->hdr.gso_type = plan->l3 == VHF_OFL_L3_IPV4 ? VHF_NET_HDR_GSO_TCPV4 :
								  VHF_NET_HDR_GSO_TCPV6;
		plan->hdr.gso_size = req->tso_segsz;
		plan->hdr.hdr_len = (uint16_t)(l4_off + req->l4_len);
	}
	if (features & VHF_FEATURE(VHF_F_NET_GUEST_CSUM)) {
		plan->hdr.flags = VHF_NET_HDR_F_NEEDS_CSUM;
		plan->hdr.csum_start = plan->csum_start;
		plan->hdr.csum_offset = plan->csum_offset;
	} else {
		plan->todo |= VHF_OFL_DO_L4_CSUM;
	}
	return 0;
}

#endif /* VHF_NET_OFFLOAD_H */
