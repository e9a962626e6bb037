/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 dpdk-vhostfix authors
 */

#include <stdio.h>

#include "vhf_test_env.h"

static vhf_test_window_fn window_fn;
static void *window_arg;

void
vhf_test_set_window(vhf_test_window_fn fn, void *arg)
{
	window_fn = fn;
	window_arg = arg;
}

void
vhf_test_race_window(void)
{
	vhf_test_window_fn fn = window_fn;

	/* One shot: the guest's step runs in the first window only. */
	window_fn = NULL;
	if (fn != NULL)
		fn(window_arg);
}

static vhf_test_window_fn step_fn;
static void *step_arg;

void
vhf_test_set_guest_step(vhf_test_window_fn fn, void *arg)
{
	step_fn = fn;
	step_arg = arg;
}

void
vhf_test_guest_step(void)
{
	if (step_fn != NULL)
		step_fn(step_arg);
}

void
vhf_test_env_init(struct vhf_test_env *env, const struct vhf_guest_config *gcfg,
		  enum vhf_notify_algo algo)
{
	vhf_test_env_init_polling(env, gcfg, algo, false);
}

void
vhf_test_env_init_polling(struct vhf_test_env *env, const struct vhf_guest_config *gcfg,
			  enum vhf_notify_algo algo, bool caller_polls)
{
	struct vhf_vq_config cfg;

	memset(env, 0, sizeof(*env));
	env->guest = vhf_guest_create(gcfg);
	assert_non_null(env->guest);
	memset(&cfg, 0, sizeof(cfg));
	vhf_guest_vq_config(env->guest, &cfg);
	cfg.notify_algo = algo;
	cfg.caller_polls = caller_polls;
	assert_int_equal(vhf_vq_init(&env->vq, &cfg), 0);
	vhf_test_set_window(NULL, NULL);
	vhf_test_set_guest_step(NULL, NULL);
}

void
vhf_test_env_resume(struct vhf_test_env *env)
{
	struct vhf_vq_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	vhf_guest_vq_config(env->guest, &cfg);
	cfg.notify_algo = env->vq.notify_algo;
	cfg.caller_polls = env->vq.caller_polls;
	vhf_vq_get_base(&env->vq, &cfg.last_avail, &cfg.last_used);
	assert_int_equal(vhf_vq_init(&env->vq, &cfg), 0);
}

void
vhf_test_env_fini(struct vhf_test_env *env)
{
	vhf_guest_destroy(env->guest);
	env->guest = NULL;
}

void
vhf_test_fill(uint8_t *buf, uint32_t len, uint32_t seq)
{
	uint32_t i;

	for (i = 0; i < len; i++)
		buf[i] = (uint8_t)(i * 7 + seq * 13 + (i >> 8));
}

int
vhf_test_check(const uint8_t *buf, uint32_t len, uint32_t seq)
{
	uint32_t i;

	for (i = 0; i < len; i++)
		if (buf[i] != (uint8_t)(i * 7 + seq * 13 + (i >> 8)))
			return -1;
	return 0;
}

uint16_t
vhf_test_rx_one(struct vhf_test_env *env, uint32_t len, uint32_t seq, uint16_t nsegs,
		struct vhf_burst_result *res)
{
	static uint8_t data[70000];
	struct vhf_seg segs[16];
	struct vhf_to_guest_pkt pkt;
	uint32_t off = 0;
	uint16_t i;

	assert_true(len <= sizeof(data) && nsegs >= 1 && nsegs <= 16);
	vhf_test_fill(data, len, seq);
	for (i = 0; i < nsegs; i++) {
		uint32_t chunk = i + 1 == nsegs ? len - off : len / nsegs;

		segs[i].data = data + off;
		segs[i].len = chunk;
		off += chunk;
	}
	pkt.segs = segs;
	pkt.nsegs = nsegs;
	pkt.len = len;
	pkt.hdr = NULL;
	return vhf_net_to_guest_enqueue(&env->vq, &pkt, 1, res);
}

int
vhf_test_run_matrix(const char *group, const struct vhf_test_case *cases, unsigned int ncases,
		    void *const *states, const char *const *vnames, unsigned int nvariants)
{
	struct CMUnitTest *tests = calloc(ncases * nvariants, sizeof(*tests));
	char (*names)[96] = calloc(ncases * nvariants, sizeof(*names));
	unsigned int i, c, n = 0;
	int ret;

	if (tests == NULL || names == NULL)
		abort();
	for (i = 0; i < nvariants; i++)
		for (c = 0; c < ncases; c++) {
			if ((i & cases[c].need_bits) != cases[c].need_bits)
				continue;
			snprintf(names[n], sizeof(names[n]), "%s/%s", cases[c].name, vnames[i]);
			tests[n] = (struct CMUnitTest){ .name = names[n], .test_func = cases[c].fn,
							.initial_state = states[i] };
			n++;
		}
	ret = _cmocka_run_group_tests(group, tests, n, NULL, NULL);
	free(names);
	free(tests);
	return ret;
}

void
vhf_test_raw_init(struct vhf_test_raw *r, struct vhf_test_env *env)
{
	memset(r, 0, sizeof(*r));
	r->env = env;
	r->wrap = true; /* a fresh packed ring starts in lap 1 */
}

void
vhf_test_raw_env_init(struct vhf_test_env *env, struct vhf_test_raw *raw, bool packed,
		      uint16_t size, bool mrg)
{
	struct vhf_guest_config g;

	memset(&g, 0, sizeof(g));
	g.size = size;
	g.packed = packed;
	g.event_idx = true;
	g.indirect = true;
	g.mrg_rxbuf = mrg;
	g.hdr_len = VHF_NET_HDR_LEN_MRG;
	g.buf_len = 2048;
	vhf_test_env_init(env, &g, VHF_NOTIFY_FIXED);
	vhf_test_raw_init(raw, env);
}

static void
raw_split(struct vhf_test_raw *r, const struct vhf_test_seg *segs, uint16_t n, uint64_t table_gpa,
	  uint16_t wflag, bool publish)
{
	uint16_t size = r->env->vq.size, mask = (uint16_t)(size - 1);
	struct vhf_vring_desc *desc = vhf_guest_split_desc(r->env->guest);
	struct vhf_vring_avail *avail = vhf_guest_split_avail(r->env->guest);
	uint16_t head = r->next_desc & mask, idx, i;

	if (table_gpa != 0) {
		struct vhf_vring_desc *t = vhf_guest_gpa_to_host(r->env->guest, table_gpa, n * 16u);

		assert_non_null(t);
		for (i = 0; i < n; i++)
			t[i] = (struct vhf_vring_desc){ .addr = segs[i].gpa, .len = segs[i].len,
				.flags = (uint16_t)(wflag | (i + 1 < n ? VHF_DESC_F_NEXT : 0)),
				.next = (uint16_t)(i + 1) };
		desc[head] = (struct vhf_vring_desc){ .addr = table_gpa, .len = n * 16u,
						      .flags = VHF_DESC_F_INDIRECT };
		r->next_desc++;
	} else {
		assert_true(n >= 1 && n <= size);
		for (i = 0; i < n; i++) {
			uint16_t d = (uint16_t)(head + i) & mask;

			desc[d] = (struct vhf_vring_desc){ .addr = segs[i].gpa, .len = segs[i].len,
				.flags = (uint16_t)(wflag | (i + 1 < n ? VHF_DESC_F_NEXT : 0)),
				.next = (uint16_t)(d + 1) & mask };
		}
		r->next_desc = (uint16_t)(r->next_desc + n);
	}
	/* Only this hand writes avail->idx. */
	idx = avail->idx;
	avail->ring[idx & mask] = head;
	if (publish)
		__atomic_store_n(&avail->idx, (uint16_t)(idx + 1), __ATOMIC_RELEASE);
}

static void
raw_packed(struct vhf_test_raw *r, const struct vhf_test_seg *segs, uint16_t n, uint64_t table_gpa,
	   uint16_t wflag, bool publish)
{
	uint16_t size = r->env->vq.size;
	struct vhf_vring_packed_desc *desc = vhf_guest_packed_desc(r->env->guest);
	uint16_t first = r->pos, first_flags = 0, nslots = table_gpa != 0 ? 1 : n, i;
	uint16_t id = r->id++;

	if (table_gpa != 0) {
		struct vhf_vring_packed_desc *t =
			vhf_guest_gpa_to_host(r->env->guest, table_gpa, n * 16u);

		assert_non_null(t);
		for (i = 0; i < n; i++)
			t[i] = (struct vhf_vring_packed_desc){ .addr = segs[i].gpa,
							       .len = segs[i].len, .flags = wflag };
	}
	assert_true(nslots >= 1 && nslots <= size);
	for (i = 0; i < nslots; i++) {
		uint16_t p = r->pos;
		uint16_t f = r->wrap ? VHF_DESC_F_AVAIL : VHF_DESC_F_USED;

		if (table_gpa != 0) {
			desc[p].addr = table_gpa;
			desc[p].len = n * 16u;
			f |= VHF_DESC_F_INDIRECT;
		} else {
			desc[p].addr = segs[i].gpa;
			desc[p].len = segs[i].len;
			f |= wflag | (i + 1 < nslots ? VHF_DESC_F_NEXT : 0);
		}
		desc[p].id = id;
		if (i == 0)
			first_flags = f;
		else
			__atomic_store_n(&desc[p].flags, f, __ATOMIC_RELEASE);
		if (++r->pos == size) {
			r->pos = 0;
			r->wrap = !r->wrap;
		}
	}
	/* The first descriptor's flags publish the chain: written last. */
	if (publish)
		__atomic_store_n(&desc[first].flags, first_flags, __ATOMIC_RELEASE);
}

void
vhf_test_raw_chain(struct vhf_test_raw *r, const struct vhf_test_seg *segs, uint16_t n,
		   uint64_t table_gpa, bool write, bool publish)
{
	uint16_t wflag = write ? VHF_DESC_F_WRITE : 0;

	if (r->env->vq.packed)
		raw_packed(r, segs, n, table_gpa, wflag, publish);
	else
		raw_split(r, segs, n, table_gpa, wflag, publish);
}
