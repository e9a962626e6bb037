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

void
vhf_test_env_init(struct vhf_test_env *env, const struct vhf_guest_config *gcfg,
		  enum vhf_notify_algo algo)
{
	struct vhf_vq_config cfg;

	memset(env, 0, sizeof(*env));
	env->guest = vhf_guest_create(gcfg);
	assert_non_null(env->guest);
	memset(&cfg, 0, sizeof(cfg));
	vhf_guest_vq_config(env->guest, &cfg);
	cfg.notify_algo = algo;
	assert_int_equal(vhf_vq_init(&env->vq, &cfg), 0);
	vhf_test_set_window(NULL, NULL);
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
	struct vhf_rx_pkt pkt;
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
	return vhf_net_rx_enqueue(&env->vq, &pkt, 1, res);
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
