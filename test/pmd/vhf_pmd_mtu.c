/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 dpdk-vhostfix authors
 */

/*
 * vhf_pmd_mtu: what OVS-DPDK and testpmd ask of a port before any guest
 * connects: the MTU range in dev_info and rte_eth_dev_set_mtu() within it
 * (jumbo included), and a stable MAC from the mac= devarg, a malformed one
 * refused at probe. Prints TAP.
 *
 * Usage: vhf_pmd_mtu [EAL args] -- <socket directory>
 * EAL args must create net_vhostfix0 with iface=<dir>/mtu0.sock and
 * mac=02:00:00:00:00:01; the program probes more ports of its own.
 */

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <rte_bus_vdev.h>
#include <rte_eal.h>
#include <rte_ethdev.h>

static unsigned int tap_n, tap_failed;

static void
tap(bool ok, const char *what)
{
	tap_n++;
	if (!ok)
		tap_failed++;
	printf("%s %u - %s\n", ok ? "ok" : "not ok", tap_n, what);
}

/* Probe a port from a devargs string; 0 or the (negative) error of the probe. */
static int
probe(const char *name, const char *dir, const char *extra)
{
	char args[512];

	snprintf(args, sizeof(args), "iface=%s/%s.sock%s", dir, name, extra);
	return rte_vdev_init(name, args);
}

int
main(int argc, char **argv)
{
	struct rte_eth_dev_info info;
	struct rte_eth_conf conf;
	struct rte_ether_addr mac, want = { .addr_bytes = { 0x02, 0, 0, 0, 0, 0x01 } };
	uint16_t port, mtu = 0, port2;
	const char *dir;
	char line[128];
	int ret;

	ret = rte_eal_init(argc, argv);
	if (ret < 0) {
		printf("Bail out! EAL init failed\n");
		return 1;
	}
	if (argc - ret < 2) {
		printf("Bail out! usage: vhf_pmd_mtu [EAL] -- <socket directory>\n");
		return 1;
	}
	dir = argv[ret + 1];
	if (rte_eth_dev_get_port_by_name("net_vhostfix0", &port) != 0) {
		printf("Bail out! no net_vhostfix0 port\n");
		return 1;
	}
	/* The 12th is the wrapper's: the malformed devarg is named in the log. */
	printf("1..12\n");

	ret = rte_eth_dev_info_get(port, &info);
	snprintf(line, sizeof(line), "dev_info: min_mtu %u max_mtu %u max_rx_pktlen %u",
		 info.min_mtu, info.max_mtu, info.max_rx_pktlen);
	tap(ret == 0 && info.min_mtu == RTE_ETHER_MIN_MTU && info.max_mtu >= 9000 &&
	    info.max_rx_pktlen > info.max_mtu && info.max_rx_pktlen >= 9018, line);

	/* OVS configures the port (rxmode.mtu), then sets the MTU it was asked for. */
	memset(&conf, 0, sizeof(conf));
	conf.rxmode.mtu = 9000;
	ret = rte_eth_dev_configure(port, 1, 1, &conf);
	tap(ret == 0 && rte_eth_dev_get_mtu(port, &mtu) == 0 && mtu == 9000,
	    "configure with rxmode.mtu 9000 (jumbo)");
	ret = rte_eth_dev_set_mtu(port, 1500);
	tap(ret == 0 && rte_eth_dev_get_mtu(port, &mtu) == 0 && mtu == 1500, "set_mtu 1500");
	ret = rte_eth_dev_set_mtu(port, 9000);
	tap(ret == 0 && rte_eth_dev_get_mtu(port, &mtu) == 0 && mtu == 9000, "set_mtu 9000");
	ret = rte_eth_dev_set_mtu(port, info.max_mtu);
	tap(ret == 0 && rte_eth_dev_get_mtu(port, &mtu) == 0 && mtu == info.max_mtu,
	    "set_mtu to max_mtu");
	ret = rte_eth_dev_set_mtu(port, (uint16_t)(info.max_mtu + 1));
	tap(ret == -EINVAL, "set_mtu above max_mtu refused with -EINVAL");
	ret = rte_eth_dev_set_mtu(port, (uint16_t)(info.min_mtu - 1));
	tap(ret == -EINVAL, "set_mtu below min_mtu refused with -EINVAL");

	ret = rte_eth_macaddr_get(port, &mac);
	tap(ret == 0 && rte_is_same_ether_addr(&mac, &want), "mac= devarg is the port's MAC");

	/* The same devarg on another port gives the same MAC: stable across re-adds. */
	ret = probe("net_vhostfix1", dir, ",mac=02:00:00:00:00:01");
	tap(ret == 0 && rte_eth_dev_get_port_by_name("net_vhostfix1", &port2) == 0 &&
	    rte_eth_macaddr_get(port2, &mac) == 0 && rte_is_same_ether_addr(&mac, &want),
	    "a re-added port with the same mac= has the same MAC");
	if (ret == 0)
		rte_vdev_uninit("net_vhostfix1");

	ret = probe("net_vhostfix2", dir, ",mac=02:00:00:00:01");
	tap(ret < 0 && rte_eth_dev_get_port_by_name("net_vhostfix2", &port2) != 0,
	    "malformed mac= (five bytes) refused at probe");
	ret = probe("net_vhostfix3", dir, ",mac=01:00:5e:00:00:01");
	tap(ret < 0 && rte_eth_dev_get_port_by_name("net_vhostfix3", &port2) != 0,
	    "multicast mac= refused at probe");

	rte_eth_dev_close(port);
	rte_eal_cleanup();
	return tap_failed == 0 ? 0 : 1;
}
