/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 dpdk-vhostfix authors
 */

/*
 * The RARP a device emits for a guest that cannot announce itself after a
 * live migration (VHOST_USER_SEND_RARP): its bytes, field by field, and a
 * buffer too short for it left untouched.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vhf_announce.h"

static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

/* RFC 903 over Ethernet, written out: the frame QEMU's announce_self and DPDK's vhost send. */
static const uint8_t want[42] = {
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff,     /* destination: broadcast */
	0x52, 0x54, 0x00, 0x12, 0x34, 0x56,     /* source: the guest */
	0x80, 0x35,                             /* EtherType RARP */
	0x00, 0x01, 0x08, 0x00, 6, 4,           /* Ethernet hardware, IPv4, their lengths */
	0x00, 0x03,                             /* request reverse */
	0x52, 0x54, 0x00, 0x12, 0x34, 0x56,     /* sender hardware address */
	0, 0, 0, 0,                             /* sender protocol address */
	0x52, 0x54, 0x00, 0x12, 0x34, 0x56,     /* target hardware address */
	0, 0, 0, 0,                             /* target protocol address */
};

static void
test_rarp_bytes(void **state)
{
	uint8_t buf[128];
	unsigned int i;

	(void)state;
	memset(buf, 0xa5, sizeof(buf));
	assert_int_equal(vhf_announce_rarp(buf, sizeof(buf), mac), VHF_ANNOUNCE_RARP_LEN);
	assert_int_equal(VHF_ANNOUNCE_RARP_LEN, 60);
	assert_memory_equal(buf, want, sizeof(want));
	/* Padded with zeros to Ethernet's minimum, not a byte further. */
	for (i = sizeof(want); i < VHF_ANNOUNCE_RARP_LEN; i++)
		assert_int_equal(buf[i], 0);
	for (i = VHF_ANNOUNCE_RARP_LEN; i < sizeof(buf); i++)
		assert_int_equal(buf[i], 0xa5);
}

static void
test_rarp_short_buffer_untouched(void **state)
{
	uint8_t buf[VHF_ANNOUNCE_RARP_LEN];
	unsigned int i;

	(void)state;
	memset(buf, 0xa5, sizeof(buf));
	assert_int_equal(vhf_announce_rarp(buf, VHF_ANNOUNCE_RARP_LEN - 1, mac), 0);
	for (i = 0; i < sizeof(buf); i++)
		assert_int_equal(buf[i], 0xa5);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rarp_bytes),
		cmocka_unit_test(test_rarp_short_buffer_untouched),
	};

	return cmocka_run_group_tests_name("announce", tests, NULL, NULL);
}
