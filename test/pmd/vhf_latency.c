/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 dpdk-vhostfix authors
 */

/*
 * vhf_latency: two guests in one process, for an end-to-end latency figure
 * through a forwarder between them (dpdk-vhostfix in sleep mode, say).
 *
 * EAL gives it two ports (two net_virtio_user vdevs whose sockets the
 * forwarder serves). It sends one frame at a time on port 0, stamped with the
 * TSC, at --rate-pps, and polls port 1 until that frame comes back, so the
 * forwarder is idle (asleep, in sleep mode) when each frame arrives; one clock
 * stamps both ends. Frames that do not come back within --timeout-ms are lost
 * (counted, and the run fails).
 *
 * Prints "LATENCY ok|FAIL samples N lost L p50 X p90 Y p99 Z max W" (microseconds)
 * after --warmup frames that are not counted.
 *
 * Usage: vhf_latency [EAL options] --vdev net_virtio_user0,path=A --vdev
 *        net_virtio_user1,path=B -- [--count N] [--rate-pps R] [--warmup N]
 *        [--timeout-ms T] [--size BYTES]
 */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_mbuf.h>

#define LAT_MAGIC UINT64_C(0x7668662d6c617431) /* "vhf-lat1" */

struct lat_frame {
	struct rte_ether_hdr eth;
	uint64_t magic;
	uint64_t seq;
	uint64_t tsc;
};

static struct {
	uint32_t count, rate_pps, warmup, timeout_ms, size;
} opt = { .count = 5000, .rate_pps = 1000, .warmup = 100, .timeout_ms = 1000, .size = 64 };

static int
lat_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int
lat_parse(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "count", required_argument, NULL, 'c' },
		{ "rate-pps", required_argument, NULL, 'r' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "timeout-ms", required_argument, NULL, 't' },
		{ "size", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	int c, idx = 0;

	while ((c = getopt_long(argc, argv, "", longopts, &idx)) != -1) {
		char *end;
		unsigned long v;

		if (c == '?')
			return -1;
		errno = 0;
		v = strtoul(optarg, &end, 10);
		if (errno != 0 || *end != '\0' || v == 0 || v > UINT32_MAX) {
			fprintf(stderr, "vhf_latency: --%s: not a positive count: '%s'\n",
				longopts[idx].name, optarg);
			return -1;
		}
		if (c == 'c')
			opt.count = (uint32_t)v;
		else if (c == 'r')
			opt.rate_pps = (uint32_t)v;
		else if (c == 'w')
			opt.warmup = (uint32_t)v;
		else if (c == 't')
			opt.timeout_ms = (uint32_t)v;
		else
			opt.size = (uint32_t)v;
	}
	if (opt.size < sizeof(struct lat_frame) || opt.size > 1514) {
		fprintf(stderr, "vhf_latency: --size must be %zu..1514\n", sizeof(struct lat_frame));
		return -1;
	}
	return 0;
}

static int
lat_port_init(uint16_t port, struct rte_mempool *pool)
{
	struct rte_eth_conf conf;
	int ret;

	memset(&conf, 0, sizeof(conf));
	ret = rte_eth_dev_configure(port, 1, 1, &conf);
	if (ret == 0)
		ret = rte_eth_rx_queue_setup(port, 0, 256, rte_eth_dev_socket_id(port), NULL, pool);
	if (ret == 0)
		ret = rte_eth_tx_queue_setup(port, 0, 256, rte_eth_dev_socket_id(port), NULL);
	if (ret == 0)
		ret = rte_eth_dev_start(port);
	return ret;
}

/* Wait until both ports' links are up: the forwarder attached both. */
static bool
lat_links_up(uint32_t timeout_ms)
{
	uint64_t end = rte_get_timer_cycles() + rte_get_timer_hz() / 1000 * timeout_ms;

	while (rte_get_timer_cycles() < end) {
		struct rte_eth_link l0, l1;

		if (rte_eth_link_get_nowait(0, &l0) == 0 && rte_eth_link_get_nowait(1, &l1) == 0 &&
		    l0.link_status && l1.link_status)
			return true;
		rte_delay_ms(10);
	}
	return false;
}

/* Frames on port 1: the one with seq gives its latency in TSC cycles; others are freed. */
static bool
lat_receive(uint64_t seq, uint64_t deadline, uint64_t *cycles)
{
	struct rte_mbuf *pkts[32];

	while (rte_get_timer_cycles() < deadline) {
		uint16_t n = rte_eth_rx_burst(1, 0, pkts, RTE_DIM(pkts)), i;
		uint64_t now = rte_get_timer_cycles();
		bool got = false;

		for (i = 0; i < n; i++) {
			const struct lat_frame *f = rte_pktmbuf_mtod(pkts[i], const struct lat_frame *);

			if (pkts[i]->data_len >= sizeof(*f) && f->magic == LAT_MAGIC && f->seq == seq) {
				*cycles = now - f->tsc;
				got = true;
			}
		}
		rte_pktmbuf_free_bulk(pkts, n);
		if (got)
			return true;
	}
	return false;
}

int
main(int argc, char **argv)
{
	struct rte_mempool *pool;
	uint64_t *lat, hz, gap, next;
	uint32_t i, got = 0, lost = 0, total;
	int ret = rte_eal_init(argc, argv);

	if (ret < 0) {
		fprintf(stderr, "vhf_latency: EAL init failed\n");
		return 2;
	}
	argc -= ret;
	argv += ret;
	if (lat_parse(argc, argv) != 0)
		return 2;
	if (rte_eth_dev_count_avail() != 2) {
		fprintf(stderr, "vhf_latency: need exactly two ports (two --vdev), got %u\n",
			rte_eth_dev_count_avail());
		return 2;
	}
	pool = rte_pktmbuf_pool_create("lat_pool", 2047, 64, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				       rte_socket_id());
	if (pool == NULL || lat_port_init(0, pool) != 0 || lat_port_init(1, pool) != 0) {
		fprintf(stderr, "vhf_latency: port set-up failed\n");
		return 2;
	}
	if (!lat_links_up(30000)) {
		fprintf(stderr, "vhf_latency: links not up in 30 s (is the forwarder there?)\n");
		return 2;
	}
	total = opt.warmup + opt.count;
	lat = calloc(opt.count, sizeof(*lat));
	if (lat == NULL)
		return 2;
	hz = rte_get_timer_hz();
	gap = hz / opt.rate_pps;
	next = rte_get_timer_cycles();
	for (i = 0; i < total; i++) {
		struct rte_mbuf *m;
		struct lat_frame *f;
		uint64_t cycles;

		while (rte_get_timer_cycles() < next)
			rte_pause();
		next += gap;
		m = rte_pktmbuf_alloc(pool);
		if (m == NULL || rte_pktmbuf_append(m, (uint16_t)opt.size) == NULL) {
			fprintf(stderr, "vhf_latency: no mbuf\n");
			return 2;
		}
		f = rte_pktmbuf_mtod(m, struct lat_frame *);
		memset(f, 0, opt.size);
		memset(&f->eth.dst_addr, 0xff, sizeof(f->eth.dst_addr));
		f->eth.src_addr.addr_bytes[0] = 0x02;
		f->eth.ether_type = rte_cpu_to_be_16(0x88b5); /* local experimental */
		f->magic = LAT_MAGIC;
		f->seq = i;
		f->tsc = rte_get_timer_cycles();
		if (rte_eth_tx_burst(0, 0, &m, 1) != 1) {
			rte_pktmbuf_free(m);
			lost++;
			continue;
		}
		if (!lat_receive(i, rte_get_timer_cycles() + hz / 1000 * opt.timeout_ms, &cycles)) {
			lost++;
			continue;
		}
		if (i >= opt.warmup)
			lat[got++] = cycles * 1000000000 / hz; /* ns */
	}
	qsort(lat, got, sizeof(*lat), lat_cmp);
#define LAT_PCT(p) (got ? lat[(uint32_t)((got - 1) * (p))] / 1000.0 : 0.0)
	printf("LATENCY %s samples %u lost %u p50 %.1f p90 %.1f p99 %.1f max %.1f (us, %u pps, "
	       "%u B)\n", lost == 0 && got > 0 ? "ok" : "FAIL", got, lost, LAT_PCT(0.5),
	       LAT_PCT(0.9), LAT_PCT(0.99), LAT_PCT(1.0), opt.rate_pps, opt.size);
	free(lat);
	rte_eth_dev_stop(0);
	rte_eth_dev_stop(1);
	rte_eal_cleanup();
	return lost == 0 && got > 0 ? 0 : 1;
}
