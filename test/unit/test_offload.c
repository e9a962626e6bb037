/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 dpdk-vhostfix authors
 */

/*
 * Offload translation (lib/vhf_net_offload.h): the header parser, partial
 * checksums completed to the value a reference checksum gives, virtio-net
 * headers from an honest and from a hostile guest, and mbuf-style offload
 * requests turned into headers or software work. Every packet buffer is an
 * allocation of the exact packet size, so that the sanitizers catch a read
 * or write one byte past it.
 */

#include <stdio.h>

#include "vhf_net_probe.h"
#include "vhf_test_env.h"
#include "vhf_net_offload.h"

#define F_CSUM VHF_FEATURE(VHF_F_NET_CSUM)
#define F_GUEST_CSUM VHF_FEATURE(VHF_F_NET_GUEST_CSUM)
#define F_HOST_TSO (VHF_FEATURE(VHF_F_NET_HOST_TSO4) | VHF_FEATURE(VHF_F_NET_HOST_TSO6))
#define F_GUEST_TSO (VHF_FEATURE(VHF_F_NET_GUEST_TSO4) | VHF_FEATURE(VHF_F_NET_GUEST_TSO6))
#define F_ALL (F_CSUM | F_GUEST_CSUM | F_HOST_TSO | F_GUEST_TSO)

/* A packet built by pkt_build(): where things are. */
struct pkt {
	uint8_t *buf;
	uint32_t len;
	uint16_t l2_len, l3_len, l4_len;
	uint8_t l3;    /* 4 or 6 */
	uint8_t proto; /* VHF_OFL_IPPROTO_* */
};

/* Reference checksum, written plainly and independently of the library's. */
static uint16_t
ref_csum(const uint8_t *p, uint32_t len, uint32_t sum)
{
	uint32_t i;

	for (i = 0; i < len; i++)
		sum += (i & 1) ? p[i] : (uint32_t)p[i] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* Is the L4 checksum of pkt correct (over the pseudo-header and the L4 bytes)? */
static bool
ref_l4_ok(const struct pkt *k)
{
	const uint8_t *ip = k->buf + k->l2_len;
	uint32_t l4_off = k->l2_len + k->l3_len, l4_len = k->len - l4_off;
	uint8_t ph[40];
	uint32_t phlen;

	if (k->l3 == 4) {
		memcpy(ph, ip + 12, 8);
		ph[8] = 0;
		ph[9] = k->proto;
		ph[10] = (uint8_t)(l4_len >> 8);
		ph[11] = (uint8_t)l4_len;
		phlen = 12;
	} else {
		memcpy(ph, ip + 8, 32);
		ph[32] = (uint8_t)(l4_len >> 24);
		ph[33] = (uint8_t)(l4_len >> 16);
		ph[34] = (uint8_t)(l4_len >> 8);
		ph[35] = (uint8_t)l4_len;
		ph[36] = ph[37] = ph[38] = 0;
		ph[39] = k->proto;
		phlen = 40;
	}
	return ref_csum(k->buf + l4_off, l4_len, ref_csum(ph, phlen, 0)) == 0xffff;
}

static void
pkt_free(struct pkt *k)
{
	free(k->buf);
	k->buf = NULL;
}

/* Ethernet [VLAN] IPv4|IPv6 TCP|UDP with payload bytes; checksum fields left zero. */
static void
pkt_build(struct pkt *k, uint8_t l3, uint8_t proto, bool vlan, uint32_t payload, uint32_t seed)
{
	uint32_t off = 12, i;
	uint8_t *b;

	memset(k, 0, sizeof(*k));
	k->l3 = l3;
	k->proto = proto;
	k->l2_len = vlan ? 18 : 14;
	k->l3_len = l3 == 4 ? 20 : 40;
	k->l4_len = proto == VHF_OFL_IPPROTO_TCP ? 20 : 8;
	k->len = k->l2_len + k->l3_len + k->l4_len + payload;
	k->buf = b = calloc(1, k->len);
	assert_non_null(b);
	for (i = 0; i < 12; i++)
		b[i] = (uint8_t)(0x10 + i);
	if (vlan) {
		vhf_ofl_put16(b + off, VHF_OFL_ETHER_VLAN);
		vhf_ofl_put16(b + off + 2, 42);
		off += 4;
	}
	vhf_ofl_put16(b + off, l3 == 4 ? VHF_OFL_ETHER_IPV4 : VHF_OFL_ETHER_IPV6);
	off += 2;
	if (l3 == 4) {
		b[off] = 0x45;
		vhf_ofl_put16(b + off + 2, (uint16_t)(k->len - k->l2_len));
		b[off + 6] = 0x40; /* DF */
		b[off + 8] = 64;
		b[off + 9] = proto;
		for (i = 12; i < 20; i++)
			b[off + i] = (uint8_t)(seed * 7 + i);
	} else {
		b[off] = 0x60;
		vhf_ofl_put16(b + off + 4, (uint16_t)(k->len - k->l2_len - 40));
		b[off + 6] = proto;
		b[off + 7] = 64;
		for (i = 8; i < 40; i++)
			b[off + i] = (uint8_t)(seed * 13 + i);
	}
	off += k->l3_len;
	vhf_ofl_put16(b + off, 1000);
	vhf_ofl_put16(b + off + 2, 2000);
	if (proto == VHF_OFL_IPPROTO_TCP)
		b[off + 12] = 5 << 4;
	else
		vhf_ofl_put16(b + off + 4, (uint16_t)(k->len - off));
	for (i = off + k->l4_len; i < k->len; i++)
		b[i] = (uint8_t)(i * 31 + seed);
}

static uint16_t
pkt_csum_field(const struct pkt *k)
{
	return (uint16_t)(k->l2_len + k->l3_len +
			  (k->proto == VHF_OFL_IPPROTO_TCP ? VHF_OFL_TCP_CSUM_OFF :
							     VHF_OFL_UDP_CSUM_OFF));
}

/* What a guest driver does for NEEDS_CSUM: pseudo-header sum in the field. */
static void
pkt_make_partial(struct pkt *k, struct vhf_net_hdr *hdr)
{
	uint16_t ph = vhf_ofl_phdr(k->buf + k->l2_len, k->l3 == 4 ? VHF_OFL_L3_IPV4 :
				   VHF_OFL_L3_IPV6, k->proto, k->len - k->l2_len - k->l3_len);

	vhf_ofl_put16(k->buf + pkt_csum_field(k), ph);
	memset(hdr, 0, sizeof(*hdr));
	hdr->flags = VHF_NET_HDR_F_NEEDS_CSUM;
	hdr->csum_start = k->l2_len + k->l3_len;
	hdr->csum_offset = k->proto == VHF_OFL_IPPROTO_TCP ? VHF_OFL_TCP_CSUM_OFF :
							      VHF_OFL_UDP_CSUM_OFF;
}

static uint32_t rng_state = 12345;

static uint32_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

/* ---------------------------------------------------------------------------------------- */

static void
test_checksum_primitives(void **state)
{
	/* RFC 1071's example: 0001 f203 f4f5 f6f7 sums to ddf2 (folded). */
	static const uint8_t rfc[] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };
	uint8_t odd[3] = { 0xab, 0xcd, 0xef };
	uint8_t ip[20] = { 0x45, 0, 0, 0x73, 0, 0, 0x40, 0, 0x40, 0x11, 0xb8, 0x61,
			   0xc0, 0xa8, 0, 1, 0xc0, 0xa8, 0, 0xc7 };

	(void)state;
	assert_int_equal(vhf_ofl_fold(vhf_ofl_sum(rfc, sizeof(rfc), 0)), 0xddf2);
	/* An odd length pads the last byte with a zero low byte. */
	assert_int_equal(vhf_ofl_fold(vhf_ofl_sum(odd, 3, 0)), ref_csum(odd, 3, 0));
	/* A well-known IPv4 header whose checksum is b861. */
	assert_int_equal(vhf_ofl_ipv4_csum(ip, 20), 0xb861);
	assert_int_equal(vhf_ofl_csum_final(0xffff), 0xffff); /* never 0 */
	assert_int_equal(vhf_ofl_csum_final(0x1234), 0xedcb);
}

static void
test_parse(void **state)
{
	static const struct {
		uint8_t l3, proto;
		bool vlan;
	} c[] = {
		{ 4, VHF_OFL_IPPROTO_TCP, false }, { 4, VHF_OFL_IPPROTO_UDP, true },
		{ 6, VHF_OFL_IPPROTO_TCP, true },  { 6, VHF_OFL_IPPROTO_UDP, false },
	};
	unsigned int i;

	(void)state;
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct vhf_ofl_hdrs h;
		struct pkt k;
		uint32_t cut;

		pkt_build(&k, c[i].l3, c[i].proto, c[i].vlan, 100, i);
		assert_int_equal(vhf_ofl_parse(k.buf, k.len, &h), 0);
		assert_int_equal(h.l2_len, k.l2_len);
		assert_int_equal(h.l3_len, k.l3_len);
		assert_int_equal(h.l3, c[i].l3 == 4 ? VHF_OFL_L3_IPV4 : VHF_OFL_L3_IPV6);
		assert_int_equal(h.l4_proto, c[i].proto);
		/* Every truncation: in bounds (exact-size copies), and never more than it saw. */
		for (cut = 0; cut <= k.len; cut++) {
			uint8_t *t = malloc(cut ? cut : 1);

			memcpy(t, k.buf, cut);
			vhf_ofl_parse(t, cut, &h);
			assert_true((uint32_t)h.l2_len + h.l3_len <= cut || h.l3 == VHF_OFL_L3_NONE);
			free(t);
		}
		pkt_free(&k);
	}
}

static void
test_parse_fragment_and_ipv6_ext(void **state)
{
	struct vhf_ofl_hdrs h;
	struct pkt k;

	(void)state;
	/* An IPv4 fragment has no L4 header to checksum. */
	pkt_build(&k, 4, VHF_OFL_IPPROTO_UDP, false, 50, 1);
	k.buf[14 + 6] = 0x20; /* MF */
	vhf_ofl_parse(k.buf, k.len, &h);
	assert_int_equal(h.l3, VHF_OFL_L3_IPV4);
	assert_int_equal(h.l4_proto, 0);
	pkt_free(&k);

	/* IPv6 with a hop-by-hop header (8 bytes) in front of UDP. */
	pkt_build(&k, 6, VHF_OFL_IPPROTO_UDP, false, 50, 2);
	k.buf[14 + 6] = 0; /* next: hop-by-hop */
	k.buf[14 + 40] = VHF_OFL_IPPROTO_UDP;
	k.buf[14 + 41] = 0; /* (0 + 1) * 8 bytes */
	vhf_ofl_parse(k.buf, k.len, &h);
	assert_int_equal(h.l3_len, 48);
	assert_int_equal(h.l4_proto, VHF_OFL_IPPROTO_UDP);
	/* ...whose length runs past the packet: no L3 found, nothing read beyond. */
	k.buf[14 + 41] = 0xff;
	vhf_ofl_parse(k.buf, k.len, &h);
	assert_int_equal(h.l3, VHF_OFL_L3_NONE);
	pkt_free(&k);
}

/* An honest guest's partial checksums: offloadable, and completed to the right value. */
static void
test_from_guest_partial(void **state)
{
	static const uint8_t l3s[] = { 4, 6 };
	static const uint8_t protos[] = { VHF_OFL_IPPROTO_TCP, VHF_OFL_IPPROTO_UDP };
	static const uint32_t payloads[] = { 0, 1, 2, 3, 1400, 8999 };
	unsigned int a, b, c;

	(void)state;
	for (a = 0; a < 2; a++)
		for (b = 0; b < 2; b++)
			for (c = 0; c < sizeof(payloads) / sizeof(payloads[0]); c++) {
				struct vhf_net_hdr hdr;
				struct vhf_ofl_from_guest_info ofl;
				struct pkt k;

				pkt_build(&k, l3s[a], protos[b], c & 1, payloads[c], c);
				pkt_make_partial(&k, &hdr);
				assert_int_equal(vhf_ofl_from_guest(&hdr, k.buf, k.len, k.len,
								    F_CSUM, &ofl), VHF_OFL_OK);
				assert_int_equal(ofl.csum, VHF_OFL_CSUM_PARTIAL_L4);
				assert_int_equal(ofl.l4_proto, protos[b]);
				assert_int_equal(ofl.gso_size, 0);
				vhf_test_csum_complete(k.buf, k.len, ofl.csum_start, ofl.csum_offset);
				assert_true(ref_l4_ok(&k));
				pkt_free(&k);
			}
}

static void
test_from_guest_flags(void **state)
{
	struct vhf_net_hdr hdr;
	struct vhf_ofl_from_guest_info ofl;
	struct pkt k;

	(void)state;
	pkt_build(&k, 4, VHF_OFL_IPPROTO_TCP, false, 64, 3);
	/* Nothing asked: nothing done, whatever the features. */
	memset(&hdr, 0, sizeof(hdr));
	hdr.csum_start = 0xffff; /* meaningless without NEEDS_CSUM */
	assert_int_equal(vhf_ofl_from_guest(&hdr, k.buf, k.len, k.len, 0, &ofl), VHF_OFL_OK);
	assert_int_equal(ofl.csum, VHF_OFL_CSUM_UNKNOWN);
	/* DATA_VALID: not the guest's to set on transmit, so it vouches for nothing. */
	hdr.flags = VHF_NET_HDR_F_DATA_VALID;
	assert_true(vhf_ofl_hdr_is_plain(&hdr));
	assert_int_equal(vhf_ofl_from_guest(&hdr, k.buf, k.len, k.len, F_CSUM, &ofl), VHF_OFL_OK);
	assert_int_equal(ofl.csum, VHF_OFL_CSUM_UNKNOWN);
	/* A partial checksum not at the L4 header: ours to complete, never handed on. */
	pkt_make_partial(&k, &hdr);
	hdr.csum_start = 14;
	hdr.csum_offset = 10;
	assert_int_equal(vhf_ofl_from_guest(&hdr, k.buf, k.len, k.len, F_CSUM, &ofl), VHF_OFL_OK);
	assert_int_equal(ofl.csum, VHF_OFL_CSUM_PARTIAL_OTHER);
	/* UDP's offset on a TCP packet: the same. */
	pkt_make_partial(&k, &hdr);
	hdr.csum_offset = VHF_OFL_UDP_CSUM_OFF;
	assert_int_equal(vhf_ofl_from_guest(&hdr, k.buf, k.len, k.len, F_CSUM, &ofl), VHF_OFL_OK);
	assert_int_equal(ofl.csum, VHF_OFL_CSUM_PARTIAL_OTHER);
	pkt_free(&k);
}

/*
 * DATA_VALID on a guest's transmit is ignored: with or without it, every
 * header gets the same answer, and a packet whose checksum is wrong is never
 * reported good.
 */
static void
test_from_guest_data_valid_ignored(void **state)
{
	static const uint64_t features[] = { 0, F_CSUM, F_ALL };
	struct vhf_net_hdr hdrs[4], with;
	struct vhf_ofl_from_guest_info a, b;
	unsigned int f, i;
	struct pkt k;

	(void)state;
	pkt_build(&k, 4, VHF_OFL_IPPROTO_TCP, false, 1400, 7);
	memset(hdrs, 0, sizeof(hdrs));
	pkt_make_partial(&k, &hdrs[1]);
	/* Its checksum field holds a partial sum: wrong, whatever DATA_VALID claims. */
	assert_false(ref_l4_ok(&k));
	hdrs[2] = hdrs[1];
	hdrs[2].gso_type = VHF_NET_HDR_GSO_TCPV4;
	hdrs[2].gso_size = 1448;
	hdrs[3].gso_type = VHF_NET_HDR_GSO_TCPV4; /* GSO without NEEDS_CSUM: refused */
	hdrs[3].gso_size = 1448;
	for (f = 0; f < sizeof(features) / sizeof(features[0]); f++)
		for (i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++) {
			int ra, rb;

			with = hdrs[i];
			with.flags |= VHF_NET_HDR_F_DATA_VALID;
			assert_int_equal(vhf_ofl_hdr_is_plain(&with),
					 vhf_ofl_hdr_is_plain(&hdrs[i]));
			ra = vhf_ofl_from_guest(&hdrs[i], k.buf, VHF_OFL_HDR_MAX, k.len,
						features[f], &a);
			rb = vhf_ofl_from_guest(&with, k.buf, VHF_OFL_HDR_MAX, k.len,
						features[f], &b);
			assert_int_equal(ra, rb);
			assert_memory_equal(&a, &b, sizeof(a));
			assert_int_not_equal(b.csum, VHF_OFL_CSUM_GOOD);
		}
	pkt_free(&k);
}

/* A hostile guest: every inconsistent header is refused with its reason. */
static void
test_from_guest_hostile(void **state)
{
	struct vhf_net_hdr hdr, good;
	struct vhf_ofl_from_guest_info ofl;
	struct pkt k, k6, u;

	(void)state;
	pkt_build(&k, 4, VHF_OFL_IPPROTO_TCP, false, 3000, 4);
	pkt_build(&k6, 6, VHF_OFL_IPPROTO_TCP, false, 3000, 5);
	pkt_build(&u, 4, VHF_OFL_IPPROTO_UDP, false, 3000, 6);
	pkt_make_partial(&k, &good);

	/* NEEDS_CSUM without VIRTIO_NET_F_CSUM. */
	assert_int_equal(vhf_ofl_from_guest(&good, k.buf, k.len, k.len, F_GUEST_CSUM, &ofl),
			 VHF_OFL_ERR_CSUM_FEATURE);
	/* The field just past the end, far past it, 16-bit sums that would wrap. */
	hdr = good;
	hdr.csum_start = (uint16_t)(k.len - 2);
	hdr.csum_offset = 1;
	assert_int_equal(vhf_ofl_from_guest(&hdr, k.buf, k.len, k.len, F_CSUM, &ofl),
			 VHF_OFL_ERR_CSUM_RANGE);
	hdr.csum_offset = 0; /* exactly the last two bytes: allowed */
	assert_int_equal(vhf_ofl_from_guest(&hdr, k.buf, k.len, k.len, F_CSUM, &ofl), VHF_OFL_OK);
	hdr.csum_start = 0xffff;
	hdr.csum_offset = 0xffff;
	assert_int_equal(vhf_ofl_from_guest(&hdr, k.buf, k.len, k.len, F_CSUM, &ofl),
			 VHF_OFL_ERR_CSUM_RANGE);
	hdr.csum_start = 0;
	hdr.csum_offset = 0xfffe;
	assert_int_equal(vhf_ofl_from_guest(&hdr, k.buf, k.len, k.len, F_CSUM, &ofl),
			 VHF_OFL_ERR_CSUM_RANGE);
	/* A 1-byte packet, NEEDS_CSUM at 0: nothing fits. */
	hdr.csum_offset = 0;
	assert_int_equal(vhf_ofl_from_guest(&hdr, k.buf, 1, 1, F_CSUM, &ofl),
			 VHF_OFL_ERR_CSUM_RANGE);

	/* GSO: right, then each way of being wrong. */
	hdr = good;
	hdr.gso_type = VHF_NET_HDR_GSO_TCPV4;
	hdr.gso_size = 1448;
	assert_int_equal(vhf_ofl_from_guest(&hdr, k.buf, k.len, k.len, F_CSUM | F_HOST_TSO, &ofl),
			 VHF_OFL_OK);
	assert_int_equal(ofl.gso_size, 1448);
	assert_int_equal(ofl.gso_type, VHF_NET_HDR_GSO_TCPV4);
	assert_int_equal(vhf_ofl_from_guest(&hdr, k.buf, k.len, k.len, F_CSUM, &ofl),
			 VHF_OFL_ERR_GSO_FEATURE);
	hdr.gso_type = VHF_NET_HDR_GSO_TCPV4 | VHF_NET_HDR_GSO_ECN;
	assert_int_equal(vhf_ofl_from_guest(&hdr, k.buf, k.len, k.len, F_ALL, &ofl),
			 VHF_OFL_ERR_GSO_FEATURE);
	hdr.gso_type = VHF_NET_HDR_GSO_UDP;
	assert_int_equal(vhf_ofl_from_guest(&hdr, k.buf, k.len, k.len, F_ALL, &ofl),
			 VHF_OFL_ERR_GSO_FEATURE);
	hdr.gso_type = 2;
	assert_int_equal(vhf_ofl_from_guest(&hdr, k.buf, k.len, k.len, F_ALL, &ofl),
			 VHF_OFL_ERR_GSO_TYPE);
	hdr.gso_type = 0x7f;
	assert_int_equal(vhf_ofl_from_guest(&hdr, k.buf, k.len, k.len, F_ALL, &ofl),
			 VHF_OFL_ERR_GSO_TYPE);
	hdr.gso_type = VHF_NET_HDR_GSO_TCPV6; /* v6 GSO on a v4 packet */
	assert_int_equal(vhf_ofl_from_guest(&hdr, k.buf, k.len, k.len, F_ALL, &ofl),
			 VHF_OFL_ERR_GSO_HDR);
	assert_int_equal(vhf_ofl_from_guest(&hdr, k6.buf, k6.len, k6.len, F_ALL, &ofl),
			 VHF_OFL_ERR_GSO_HDR); /* k6 carries no partial checksum at its L4 */
	hdr.gso_type = VHF_NET_HDR_GSO_TCPV4;
	hdr.gso_size = 0;
	assert_int_equal(vhf_ofl_from_guest(&hdr, k.buf, k.len, k.len, F_ALL, &ofl),
			 VHF_OFL_ERR_GSO_HDR);
	hdr.gso_size = 1448;
	hdr.flags = 0; /* GSO without NEEDS_CSUM */
	assert_int_equal(vhf_ofl_from_guest(&hdr, k.buf, k.len, k.len, F_ALL, &ofl),
			 VHF_OFL_ERR_GSO_HDR);
	/* TCP GSO on a UDP packet. */
	pkt_make_partial(&u, &hdr);
	hdr.gso_type = VHF_NET_HDR_GSO_TCPV4;
	hdr.gso_size = 1448;
	assert_int_equal(vhf_ofl_from_guest(&hdr, u.buf, u.len, u.len, F_ALL, &ofl),
			 VHF_OFL_ERR_GSO_HDR);
	/* The right v6 one. */
	pkt_make_partial(&k6, &hdr);
	hdr.gso_type = VHF_NET_HDR_GSO_TCPV6;
	hdr.gso_size = 1440;
	assert_int_equal(vhf_ofl_from_guest(&hdr, k6.buf, k6.len, k6.len, F_ALL, &ofl),
			 VHF_OFL_OK);
	assert_int_equal(ofl.gso_type, VHF_NET_HDR_GSO_TCPV6);
	pkt_free(&k);
	pkt_free(&k6);
	pkt_free(&u);
}

/*
 * Random headers over random bytes and lengths: whatever is accepted may be
 * completed without leaving the packet (exact-size buffers: ASan watches).
 */
static void
test_from_guest_random(void **state)
{
	unsigned int iter;

	(void)state;
	for (iter = 0; iter < 200000; iter++) {
		uint32_t len = rng() % 300;
		uint8_t *b = malloc(len ? len : 1);
		struct vhf_net_hdr hdr;
		struct vhf_ofl_from_guest_info ofl;
		uint32_t i, head_len;
		int ret;

		for (i = 0; i < len; i++)
			b[i] = (uint8_t)rng();
		/* Often a plausible Ethernet/IP start, so that the parser goes deep. */
		if (len >= 14 && (iter & 1)) {
			vhf_ofl_put16(b + 12, (iter & 2) ? VHF_OFL_ETHER_IPV4 : VHF_OFL_ETHER_IPV6);
			if (len > 14)
				b[14] = (iter & 2) ? 0x45 : 0x60;
		}
		hdr.flags = (uint8_t)(rng() & 3);
		hdr.gso_type = (uint8_t)((iter & 4) ? rng() : rng() % 5);
		hdr.hdr_len = (uint16_t)rng();
		hdr.gso_size = (uint16_t)rng();
		hdr.csum_start = (uint16_t)((iter & 8) ? rng() : rng() % 320);
		hdr.csum_offset = (uint16_t)((iter & 16) ? rng() : rng() % 40);
		hdr.num_buffers = 0;
		head_len = len < VHF_OFL_HDR_MAX ? len : VHF_OFL_HDR_MAX;
		ret = vhf_ofl_from_guest(&hdr, b, head_len, len, (iter & 32) ? F_ALL : rng(),
					 &ofl);
		if (ret == VHF_OFL_OK) {
			assert_int_not_equal(ofl.csum, VHF_OFL_CSUM_GOOD); /* DATA_VALID ignored */
			if (ofl.csum == VHF_OFL_CSUM_PARTIAL_L4 ||
			    ofl.csum == VHF_OFL_CSUM_PARTIAL_OTHER) {
				assert_true((uint32_t)ofl.csum_start + ofl.csum_offset + 2 <= len);
				vhf_test_csum_complete(b, len, ofl.csum_start, ofl.csum_offset);
			}
			if (ofl.gso_size != 0)
				assert_int_equal(ofl.l4_proto, VHF_OFL_IPPROTO_TCP);
		} else {
			assert_true(ret >= VHF_OFL_ERR_GSO_HDR && ret <= VHF_OFL_ERR_CSUM_FEATURE);
		}
		free(b);
	}
}

/* To the guest: a request, its plan, the plan carried out on the bytes. */
static int
to_guest(struct pkt *k, uint32_t flags, uint64_t features, struct vhf_ofl_to_guest_plan *plan)
{
	struct vhf_ofl_to_guest_req req = {
		.flags = flags | (k->l3 == 4 ? VHF_OFL_TX_IPV4 : VHF_OFL_TX_IPV6),
		.pkt_len = k->len,
		.l2_len = k->l2_len,
		.l3_len = k->l3_len,
		.l4_len = k->l4_len,
		.tso_segsz = 1448,
	};
	const uint8_t *l3 = k->buf + k->l2_len;
	int ret = vhf_ofl_to_guest(&req, features, plan);

	if (ret != 0)
		return ret;
	/* As the PMD does it on mbufs. */
	if (plan->todo & VHF_OFL_DO_IP_CSUM)
		vhf_ofl_put16(k->buf + k->l2_len + 10, vhf_ofl_ipv4_csum(l3, k->l3_len));
	if (plan->todo & VHF_OFL_DO_PHDR)
		vhf_ofl_put16(k->buf + plan->csum_start + plan->csum_offset,
			      vhf_ofl_phdr(l3, plan->l3, plan->l4_proto, k->len - plan->csum_start));
	if (plan->todo & VHF_OFL_DO_L4_CSUM)
		vhf_test_csum_complete(k->buf, k->len, plan->csum_start, plan->csum_offset);
	return 0;
}

static void
test_to_guest(void **state)
{
	static const uint8_t l3s[] = { 4, 6 };
	static const uint8_t protos[] = { VHF_OFL_IPPROTO_TCP, VHF_OFL_IPPROTO_UDP };
	unsigned int a, b;

	(void)state;
	for (a = 0; a < 2; a++)
		for (b = 0; b < 2; b++) {
			uint32_t fl = protos[b] == VHF_OFL_IPPROTO_TCP ? VHF_OFL_TX_TCP_CKSUM :
									 VHF_OFL_TX_UDP_CKSUM;
			struct vhf_ofl_to_guest_plan plan;
			struct vhf_ofl_from_guest_info ofl;
			struct pkt k;

			/* Guest without GUEST_CSUM: completed here, no header. */
			pkt_build(&k, l3s[a], protos[b], b, 777, a + b);
			vhf_ofl_put16(k.buf + pkt_csum_field(&k), 0xdead); /* whatever the app left */
			assert_int_equal(to_guest(&k, fl, F_CSUM, &plan), 0);
			assert_int_equal(plan.hdr.flags, 0);
			assert_true(plan.todo & VHF_OFL_DO_L4_CSUM);
			assert_true(ref_l4_ok(&k));
			/* Done twice (a retried burst): the same bytes. */
			assert_int_equal(to_guest(&k, fl, F_CSUM, &plan), 0);
			assert_true(ref_l4_ok(&k));

			/* With GUEST_CSUM: a header that our own receive side takes back. */
			assert_int_equal(to_guest(&k, fl, F_CSUM | F_GUEST_CSUM, &plan), 0);
			assert_int_equal(plan.hdr.flags, VHF_NET_HDR_F_NEEDS_CSUM);
			assert_int_equal(plan.hdr.csum_start, k.l2_len + k.l3_len);
			assert_false(plan.todo & VHF_OFL_DO_L4_CSUM);
			assert_int_equal(vhf_ofl_from_guest(&plan.hdr, k.buf, k.len, k.len, F_CSUM,
							    &ofl), VHF_OFL_OK);
			assert_int_equal(ofl.csum, VHF_OFL_CSUM_PARTIAL_L4);
			vhf_test_csum_complete(k.buf, k.len, ofl.csum_start, ofl.csum_offset);
			assert_true(ref_l4_ok(&k));
			pkt_free(&k);
		}
}

static void
test_to_guest_ip_csum_and_tso(void **state)
{
	struct vhf_ofl_to_guest_plan plan;
	struct vhf_ofl_from_guest_info ofl;
	struct pkt k, k6;

	(void)state;
	pkt_build(&k, 4, VHF_OFL_IPPROTO_TCP, false, 9000, 9);
	pkt_build(&k6, 6, VHF_OFL_IPPROTO_TCP, false, 9000, 10);
	/* The IPv4 header checksum is always ours. */
	assert_int_equal(to_guest(&k, VHF_OFL_TX_IP_CKSUM, F_ALL, &plan), 0);
	assert_int_equal(plan.todo, VHF_OFL_DO_IP_CSUM);
	assert_int_equal(ref_csum(k.buf + 14, 20, 0), 0xffff);

	/* TSO to a guest with GUEST_TSO4: GSO header, pseudo-header with the length in. */
	assert_int_equal(to_guest(&k, VHF_OFL_TX_TCP_SEG | VHF_OFL_TX_IP_CKSUM, F_ALL, &plan), 0);
	assert_int_equal(plan.hdr.gso_type, VHF_NET_HDR_GSO_TCPV4);
	assert_int_equal(plan.hdr.gso_size, 1448);
	assert_int_equal(plan.hdr.hdr_len, 54);
	assert_int_equal(plan.hdr.flags, VHF_NET_HDR_F_NEEDS_CSUM);
	assert_int_equal(vhf_ofl_from_guest(&plan.hdr, k.buf, k.len, k.len, F_ALL, &ofl),
			 VHF_OFL_OK);
	assert_int_equal(ofl.gso_size, 1448);
	vhf_test_csum_complete(k.buf, k.len, ofl.csum_start, ofl.csum_offset);
	assert_true(ref_l4_ok(&k));
	/* Without GUEST_TSO4 (or without GUEST_CSUM): refused, we do not segment. */
	assert_int_equal(to_guest(&k, VHF_OFL_TX_TCP_SEG, F_CSUM | F_GUEST_CSUM, &plan),
			 VHF_OFL_TO_GUEST_ERR_NO_TSO);
	assert_int_equal(to_guest(&k, VHF_OFL_TX_TCP_SEG, F_GUEST_TSO, &plan),
			 VHF_OFL_TO_GUEST_ERR_NO_TSO);
	assert_int_equal(to_guest(&k6, VHF_OFL_TX_TCP_SEG, F_CSUM | F_GUEST_CSUM |
				  VHF_FEATURE(VHF_F_NET_GUEST_TSO4), &plan),
			 VHF_OFL_TO_GUEST_ERR_NO_TSO);
	assert_int_equal(to_guest(&k6, VHF_OFL_TX_TCP_SEG, F_ALL, &plan), 0);
	assert_int_equal(plan.hdr.gso_type, VHF_NET_HDR_GSO_TCPV6);
	pkt_free(&k);
	pkt_free(&k6);
}

/* An application's lengths that do not fit: refused before anything is written. */
static void
test_to_guest_bad_lengths(void **state)
{
	struct vhf_ofl_to_guest_plan plan;
	struct vhf_ofl_to_guest_req req;

	(void)state;
	memset(&req, 0, sizeof(req));
	req.flags = VHF_OFL_TX_TCP_CKSUM | VHF_OFL_TX_IPV4;
	req.pkt_len = 60;
	req.l2_len = 14;
	req.l3_len = 20;
	req.l4_len = 20;
	req.tso_segsz = 1000;
	assert_int_equal(vhf_ofl_to_guest(&req, F_ALL, &plan), 0);
	req.pkt_len = 53; /* TCP header cut */
	assert_int_equal(vhf_ofl_to_guest(&req, F_ALL, &plan), VHF_OFL_TO_GUEST_ERR_LENS);
	req.pkt_len = 60;
	req.flags = VHF_OFL_TX_TCP_CKSUM; /* no IP version */
	assert_int_equal(vhf_ofl_to_guest(&req, F_ALL, &plan), VHF_OFL_TO_GUEST_ERR_LENS);
	req.flags = VHF_OFL_TX_TCP_CKSUM | VHF_OFL_TX_UDP_CKSUM | VHF_OFL_TX_IPV4;
	assert_int_equal(vhf_ofl_to_guest(&req, F_ALL, &plan), VHF_OFL_TO_GUEST_ERR_LENS);
	req.flags = VHF_OFL_TX_UDP_CKSUM | VHF_OFL_TX_IPV4;
	req.l3_len = 19;
	assert_int_equal(vhf_ofl_to_guest(&req, F_ALL, &plan), VHF_OFL_TO_GUEST_ERR_LENS);
	req.l3_len = 20;
	req.l2_len = 0xffff; /* huge lengths must not wrap */
	assert_int_equal(vhf_ofl_to_guest(&req, F_ALL, &plan), VHF_OFL_TO_GUEST_ERR_LENS);
	req.l2_len = 14;
	req.flags = VHF_OFL_TX_IP_CKSUM | VHF_OFL_TX_IPV6;
	req.l3_len = 40;
	assert_int_equal(vhf_ofl_to_guest(&req, F_ALL, &plan), VHF_OFL_TO_GUEST_ERR_LENS);
	req.flags = VHF_OFL_TX_IP_CKSUM | VHF_OFL_TX_IPV4;
	req.l3_len = 64;
	assert_int_equal(vhf_ofl_to_guest(&req, F_ALL, &plan), VHF_OFL_TO_GUEST_ERR_LENS);
	req.l3_len = 20;
	req.flags = VHF_OFL_TX_TCP_SEG | VHF_OFL_TX_IPV4;
	req.l4_len = 19;
	assert_int_equal(vhf_ofl_to_guest(&req, F_ALL, &plan), VHF_OFL_TO_GUEST_ERR_LENS);
	req.l4_len = 20;
	req.tso_segsz = 0;
	assert_int_equal(vhf_ofl_to_guest(&req, F_ALL, &plan), VHF_OFL_TO_GUEST_ERR_LENS);
	/* No flags: nothing to do, whatever the lengths say. */
	req.flags = 0;
	req.l2_len = 0xffff;
	assert_int_equal(vhf_ofl_to_guest(&req, 0, &plan), 0);
	assert_int_equal(plan.todo, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_checksum_primitives),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_parse_fragment_and_ipv6_ext),
		cmocka_unit_test(test_from_guest_partial),
		cmocka_unit_test(test_from_guest_flags),
		cmocka_unit_test(test_from_guest_data_valid_ignored),
		cmocka_unit_test(test_from_guest_hostile),
		cmocka_unit_test(test_from_guest_random),
		cmocka_unit_test(test_to_guest),
		cmocka_unit_test(test_to_guest_ip_csum_and_tso),
		cmocka_unit_test(test_to_guest_bad_lengths),
	};

	return cmocka_run_group_tests_name("offload", tests, NULL, NULL);
}
