/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 dpdk-vhostfix authors
 */

/*
 * Dirty logging for live migration: every byte the device changes in guest
 * memory during a call lies in a range it reported to the log, for every
 * layout and feature, both directions, the notification paths included; and
 * with logging off nothing is reported. The check is per byte, not per page,
 * so that one write site that forgets to log fails even when another one
 * logs the same page in the same call; and each byte is reported after its
 * last write, never before.
 */

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "vhf_test_env.h"

struct variant {
	bool packed;
	bool event_idx;
	bool feature; /* RX: MRG_RXBUF; TX: INDIRECT */
	char name[48];
};

static struct variant variants[8];

#define MAX_RANGES 4096
#define MAX_LOGGED_BYTES (1u << 20)

/*
 * What the device reported during one call, with the bytes each range held
 * when it was reported: a byte written after the report that covers it (a
 * mark made before the write) would be missed by a migration that copied
 * the page in between.
 */
struct log_record {
	const struct vhf_mem *mem;
	unsigned int n;
	unsigned int calls;
	uint32_t used;
	struct {
		uint64_t gpa;
		uint64_t len;
		uint32_t at; /* its bytes, in seen[] */
	} r[MAX_RANGES];
	uint8_t seen[MAX_LOGGED_BYTES];
};

static struct log_record rec;

static const uint8_t *
host_of(const struct vhf_mem *mem, uint64_t gpa, uint64_t len)
{
	uint32_t i;

	for (i = 0; i < mem->nregions; i++) {
		const struct vhf_mem_region *reg = &mem->regions[i];

		if (gpa - reg->guest_phys_addr < reg->size &&
		    len <= reg->size - (gpa - reg->guest_phys_addr))
			return (const uint8_t *)(uintptr_t)(reg->host_addr +
							    (gpa - reg->guest_phys_addr));
	}
	return NULL;
}

static void
record_log(void *ctx, uint64_t gpa, uint64_t len)
{
	struct log_record *l = ctx;
	const uint8_t *host;

	l->calls++;
	if (l->mem == NULL)
		return; /* counting only */
	assert_true(len > 0);
	assert_true(l->n < MAX_RANGES);
	assert_true(len <= MAX_LOGGED_BYTES - l->used);
	/* A range is reported inside one region of guest memory. */
	host = host_of(l->mem, gpa, len);
	assert_non_null(host);
	l->r[l->n].gpa = gpa;
	l->r[l->n].len = len;
	l->r[l->n].at = l->used;
	memcpy(&l->seen[l->used], host, len);
	l->used += (uint32_t)len;
	l->n++;
}

/* A copy of the guest's memory, region by region, taken before a device call. */
struct snapshot {
	uint32_t n;
	uint8_t *copy[VHF_MEM_MAX_REGIONS];
};

static void
snap_take(struct snapshot *s, const struct vhf_mem *mem)
{
	uint32_t i;

	s->n = mem->nregions;
	for (i = 0; i < mem->nregions; i++) {
		if (s->copy[i] == NULL)
			s->copy[i] = malloc(mem->regions[i].size);
		assert_non_null(s->copy[i]);
		memcpy(s->copy[i], (void *)(uintptr_t)mem->regions[i].host_addr,
		       mem->regions[i].size);
	}
	rec.n = 0;
	rec.used = 0;
}

static void
snap_free(struct snapshot *s)
{
	uint32_t i;

	for (i = 0; i < VHF_MEM_MAX_REGIONS; i++) {
		free(s->copy[i]);
		s->copy[i] = NULL;
	}
}

/* Was gpa reported, and did it hold value then (the last report that covers it)? */
static int
logged(uint64_t gpa, uint8_t value)
{
	unsigned int i = rec.n;

	while (i-- > 0)
		if (gpa - rec.r[i].gpa < rec.r[i].len)
			return rec.seen[rec.r[i].at + (gpa - rec.r[i].gpa)] == value ? 1 : -1;
	return 0;
}

/* Every byte that differs from the snapshot was reported. @return bytes changed. */
static uint64_t
snap_check(const struct snapshot *s, const struct vhf_mem *mem, const char *what)
{
	uint64_t changed = 0, off;
	uint32_t i;

	for (i = 0; i < s->n; i++) {
		const uint8_t *now = (const uint8_t *)(uintptr_t)mem->regions[i].host_addr;

		for (off = 0; off < mem->regions[i].size; off++) {
			uint64_t gpa = mem->regions[i].guest_phys_addr + off;

			if (now[off] == s->copy[i][off])
				continue;
			changed++;
			switch (logged(gpa, now[off])) {
			case 0:
				print_error("%s: byte at gpa 0x%" PRIx64 " changed, not logged "
					    "(%u ranges)\n", what, gpa, rec.n);
				fail();
				break;
			case -1:
				print_error("%s: byte at gpa 0x%" PRIx64 " written after it was "
					    "logged\n", what, gpa);
				fail();
				break;
			default:
				break;
			}
		}
	}
	return changed;
}

static void
env_for(struct vhf_test_env *env, const struct variant *v, bool rx)
{
	struct vhf_guest_config g;

	memset(&g, 0, sizeof(g));
	g.size = 32;
	g.packed = v->packed;
	g.event_idx = v->event_idx;
	g.hdr_len = VHF_NET_HDR_LEN_MRG;
	g.two_regions = true;
	if (rx) {
		g.mrg_rxbuf = v->feature;
		g.buf_len = 700; /* frames of several buffers with MRG_RXBUF */
	} else {
		g.indirect = v->feature;
	}
	/* Not polling: a short enqueue arms the kick, which writes guest memory too. */
	vhf_test_env_init(env, &g, VHF_NOTIFY_FIXED);
}

/* Guest RX: the device writes frames, headers, used entries, notification fields. */
static uint64_t
rx_scenario(struct vhf_test_env *env, bool check)
{
	static const uint32_t lens[] = { 60, 650, 1400, 64, 2000, 100 };
	static uint8_t data[4096], out[8192];
	const struct vhf_mem *mem = vhf_guest_mem(env->guest);
	struct snapshot s = { 0 };
	uint64_t changed = 0;
	unsigned int round, i;
	uint32_t seq = 0;

	for (round = 0; round < 120; round++) {
		struct vhf_to_guest_pkt pkts[4];
		struct vhf_seg segs[4];
		struct vhf_burst_result res;
		uint16_t n = (uint16_t)(1 + round % 4);
		uint32_t len;

		/* The guest refills unevenly: some calls find too few buffers and arm. */
		vhf_guest_rx_add(env->guest, round % 3 == 0 ? 1 : 3);
		for (i = 0; i < n; i++) {
			uint32_t l = lens[(round + i) % 6];

			/* Without MRG_RXBUF a frame must fit one 700-byte buffer. */
			if (!env->vq.mrg_rxbuf && l > 600)
				l = 600;
			vhf_test_fill(data, l, seq + i);
			segs[i].data = data;
			segs[i].len = l;
			memset(&pkts[i], 0, sizeof(pkts[i]));
			pkts[i].segs = &segs[i];
			pkts[i].nsegs = 1;
			pkts[i].len = l;
		}
		snap_take(&s, mem);
		seq += vhf_net_to_guest_enqueue(&env->vq, pkts, n, &res);
		if (check)
			changed += snap_check(&s, mem, "to-guest enqueue");
		if (round % 5 == 0) {
			snap_take(&s, mem);
			vhf_net_to_guest_has_room(&env->vq, 3000);
			if (check)
				changed += snap_check(&s, mem, "has_room (arm)");
		}
		/* The guest's own writes (taking frames, reposting) are outside the window. */
		while (vhf_guest_rx_get(env->guest, out, sizeof(out), &len, NULL) == 1)
			;
	}
	assert_true(seq > 100);
	snap_free(&s);
	return changed;
}

/* Guest TX: the device writes used entries and notification fields only. */
static uint64_t
tx_scenario(struct vhf_test_env *env, bool check)
{
	static uint8_t data[4096];
	const struct vhf_mem *mem = vhf_guest_mem(env->guest);
	struct snapshot s = { 0 };
	struct vhf_from_guest_pkt pkt;
	uint64_t changed = 0;
	unsigned int round, i, got = 0;

	for (round = 0; round < 120; round++) {
		for (i = 0; i < 1 + round % 4; i++) {
			uint32_t len = 60 + 97 * ((round + i) % 20);

			vhf_test_fill(data, len, round);
			if (vhf_guest_tx_send(env->guest, data, len, NULL, 1 + i % 3) != 0)
				break;
		}
		snap_take(&s, mem);
		while (vhf_net_from_guest_next(&env->vq, &pkt) == 1)
			got++;
		vhf_net_from_guest_finish(&env->vq);
		if (check)
			changed += snap_check(&s, mem, "from-guest dequeue");
		vhf_guest_tx_reclaim(env->guest);
		/* Idle: the device arms the kick before it would sleep. */
		snap_take(&s, mem);
		vhf_vq_arm_kick(&env->vq);
		if (check)
			changed += snap_check(&s, mem, "arm_kick");
	}
	assert_true(got > 100);
	snap_free(&s);
	return changed;
}

static void
test_rx_logged(void **state)
{
	const struct variant *v = *state;
	struct vhf_test_env env;

	env_for(&env, v, true);
	rec.mem = vhf_guest_mem(env.guest);
	vhf_vq_set_log(&env.vq, record_log, &rec);
	/* Something was written, and checked: the test checks what it claims. */
	assert_true(rx_scenario(&env, true) > 0);
	vhf_test_env_fini(&env);
}

static void
test_tx_logged(void **state)
{
	const struct variant *v = *state;
	struct vhf_test_env env;

	env_for(&env, v, false);
	rec.mem = vhf_guest_mem(env.guest);
	vhf_vq_set_log(&env.vq, record_log, &rec);
	assert_true(tx_scenario(&env, true) > 0);
	vhf_test_env_fini(&env);
}

/* Logging switched off between calls: nothing reported, whatever is written. */
static void
test_off_logs_nothing(void **state)
{
	const struct variant *v = *state;
	struct vhf_test_env env;

	env_for(&env, v, true);
	rec.mem = NULL;
	vhf_vq_set_log(&env.vq, record_log, &rec);
	vhf_vq_set_log(&env.vq, NULL, NULL);
	rec.calls = 0;
	rx_scenario(&env, false);
	assert_int_equal(rec.calls, 0);
	vhf_test_env_fini(&env);

	env_for(&env, v, false);
	tx_scenario(&env, false);
	assert_int_equal(rec.calls, 0);
	vhf_test_env_fini(&env);
}

int
main(void)
{
	static const struct vhf_test_case cases[] = {
		{ "rx_logged", test_rx_logged, 0 },
		{ "tx_logged", test_tx_logged, 0 },
		{ "off_logs_nothing", test_off_logs_nothing, 0 },
	};
	void *states[8];
	const char *vnames[8];
	unsigned int i;

	for (i = 0; i < 8; i++) {
		struct variant *v = &variants[i];

		v->packed = i & 1;
		v->event_idx = i & 2;
		v->feature = i & 4;
		snprintf(v->name, sizeof(v->name), "%s%s%s", v->packed ? "packed" : "split",
			 v->event_idx ? "+event_idx" : "", v->feature ? "+mrg_rxbuf/indirect" : "");
		states[i] = v;
		vnames[i] = v->name;
	}
	return vhf_test_run_matrix("dirty_log", cases, sizeof(cases) / sizeof(cases[0]), states,
				   vnames, 8);
}
