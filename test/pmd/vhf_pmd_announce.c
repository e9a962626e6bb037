/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 dpdk-vhostfix authors
 */

/*
 * vhf_pmd_announce: the host side of a net_vhostfix port whose front-end is a
 * test's (vhu_frontend.py), for what the front-end asks outside the rings. It
 * starts port 0 with one queue pair, prints "READY", and polls rx queue 0
 * without pause, keeping what arrives. At each SIGUSR1 it prints a report of
 * what arrived since the previous one:
 *
 *   ROUND k frames N
 *   FRAME <hex of the frame's bytes>      (one line per frame)
 *   XSTAT <name> <value>                  (the port's non-zero xstats)
 *   END k
 *
 * The test sends SIGUSR1 once the front-end has had its requests handled
 * (their replies came back), and the port's rx_burst, which runs right after
 * the signal, must then deliver whatever they asked for: the report never
 * depends on how long anything took. SIGTERM ends the program.
 *
 * Usage: vhf_pmd_announce [EAL args, one net_vhostfix vdev]
 * (Also the host of test/qemu/test_guest_announce.sh, before real guests.)
 */

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#define ANN_BURST 32
#define ANN_MAX_FRAMES 256
#define ANN_MAX_XSTATS 256

static volatile sig_atomic_t rounds_asked;
static volatile sig_atomic_t stop;

static void
on_usr1(int sig)
{
	(void)sig;
	rounds_asked++;
}

static void
on_term(int sig)
{
	(void)sig;
	stop = 1;
}

/* Frames received since the last report. */
static struct rte_mbuf *kept[ANN_MAX_FRAMES];
static unsigned int nkept, nframes;

static void
poll_rx(uint16_t port)
{
	struct rte_mbuf *pkts[ANN_BURST];
	uint16_t n, i;

	do {
		n = rte_eth_rx_burst(port, 0, pkts, ANN_BURST);
		for (i = 0; i < n; i++) {
			nframes++;
			if (nkept < ANN_MAX_FRAMES)
				kept[nkept++] = pkts[i];
			else
				rte_pktmbuf_free(pkts[i]);
		}
	} while (n == ANN_BURST);
}

static void
report(uint16_t port, unsigned int round)
{
	static struct rte_eth_xstat_name names[ANN_MAX_XSTATS];
	static struct rte_eth_xstat xstats[ANN_MAX_XSTATS];
	uint8_t bytes[RTE_ETHER_MAX_LEN];
	unsigned int i, j;
	int n;

	printf("ROUND %u frames %u\n", round, nframes);
	for (i = 0; i < nkept; i++) {
		struct rte_mbuf *m = kept[i];
		uint32_t len = RTE_MIN(rte_pktmbuf_pkt_len(m), (uint32_t)sizeof(bytes));
		const uint8_t *p = rte_pktmbuf_read(m, 0, len, bytes);

		printf("FRAME ");
		for (j = 0; p != NULL && j < len; j++)
			printf("%02x", p[j]);
		printf("\n");
		rte_pktmbuf_free(m);
	}
	nkept = 0;
	nframes = 0;
	n = rte_eth_xstats_get_names(port, names, ANN_MAX_XSTATS);
	if (n > 0 && n <= ANN_MAX_XSTATS && rte_eth_xstats_get(port, xstats, n) == n) {
		for (i = 0; i < (unsigned int)n; i++)
			if (xstats[i].value != 0)
				printf("XSTAT %s %" PRIu64 "\n", names[xstats[i].id].name,
				       xstats[i].value);
	}
	printf("END %u\n", round);
	fflush(stdout);
}

int
main(int argc, char **argv)
{
	struct rte_eth_conf conf;
	struct rte_mempool *pool;
	unsigned int done = 0;
	uint16_t port = 0;
	int ret;

	ret = rte_eal_init(argc, argv);
	if (ret < 0) {
		fprintf(stderr, "EAL init failed\n");
		return 1;
	}
	if (!rte_eth_dev_is_valid_port(port)) {
		fprintf(stderr, "no port 0\n");
		return 1;
	}
	pool = rte_pktmbuf_pool_create("ann_pool", 1024, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				       rte_socket_id());
	memset(&conf, 0, sizeof(conf));
	if (pool == NULL || rte_eth_dev_configure(port, 1, 1, &conf) != 0 ||
	    rte_eth_rx_queue_setup(port, 0, 256, rte_socket_id(), NULL, pool) != 0 ||
	    rte_eth_tx_queue_setup(port, 0, 256, rte_socket_id(), NULL) != 0 ||
	    rte_eth_dev_start(port) != 0) {
		fprintf(stderr, "port set-up failed\n");
		return 1;
	}
	signal(SIGUSR1, on_usr1);
	signal(SIGTERM, on_term);
	printf("READY\n");
	fflush(stdout);
	while (!stop) {
		unsigned int asked = rounds_asked;

		poll_rx(port);
		/* The burst above ran after the signal: what was asked before it is in. */
		while (done < asked)
			report(port, ++done);
		usleep(100); /* a second core is not ours to take: the verdict needs no speed */
	}
	rte_eth_dev_stop(port);
	rte_eth_dev_close(port);
	rte_eal_cleanup();
	return 0;
}
