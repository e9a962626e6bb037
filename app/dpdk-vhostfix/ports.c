/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 dpdk-vhostfix authors
 */

/*
 * Ports: which driver serves each, their set-up, the pairing and the
 * assignment of streams to worker lcores.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>

#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>

#include "app.h"
#include "rte_pmd_vhostfix.h"

/* ---------------------------------------------------------------------------------------- */
/* net_vhost<N> is ours                                                                     */

/*
 * Users type DPDK's vhost PMD's name: net_vhost<N> (and net_vhostfix<N>) vdevs
 * are served by the net_vhostfix datapath, with --notify for every vdev whose
 * devargs do not say otherwise. Before rte_eal_init(), which probes them.
 */
int
app_claim_net_vhost(void)
{
	char defaults[32];
	int ret;

	snprintf(defaults, sizeof(defaults), "notify=%s", app_notify_words[app_opts.notify_legacy]);
	ret = rte_pmd_vhostfix_claim_net_vhost(defaults);
	if (ret != 0)
		APP_LOG(ERR, "cannot claim the net_vhost<N> vdevs: %s", rte_strerror(-ret));
	return ret;
}

/* ---------------------------------------------------------------------------------------- */
/* ports                                                                                    */

static int
app_lsc_event(uint16_t port_id, enum rte_eth_event_type type __rte_unused,
	      void *param __rte_unused, void *ret_param __rte_unused)
{
	struct rte_eth_link link;

	if (rte_eth_link_get_nowait(port_id, &link) == 0)
		APP_LOG(INFO, "port %u (%s): link %s", port_id,
			port_id < APP_MAX_PORTS ? app_ports[port_id].name : "?",
			link.link_status ? "up" : "down");
	return 0;
}

static int
app_resolve_port(const char *spec, uint16_t *port_id)
{
	char *end;
	unsigned long v = strtoul(spec, &end, 10);

	if (end != spec && *end == '\0') {
		if (v >= APP_MAX_PORTS || !rte_eth_dev_is_valid_port((uint16_t)v))
			goto bad;
		*port_id = (uint16_t)v;
		return 0;
	}
	if (rte_eth_dev_get_port_by_name(spec, port_id) == 0 && *port_id < APP_MAX_PORTS)
		return 0;
bad:
	APP_ERR("--pairs: no port '%s'", spec);
	return -ENODEV;
}

static int
app_pair(uint16_t a, uint16_t b)
{
	if (a == b || app_ports[a].used || app_ports[b].used) {
		APP_ERR("--pairs: port %u or %u is paired twice or with itself", a, b);
		return -EINVAL;
	}
	app_ports[a].used = app_ports[b].used = true;
	app_ports[a].peer = b;
	app_ports[b].peer = a;
	return 0;
}

static int
app_make_pairs(void)
{
	uint16_t ids[APP_MAX_PORTS], n = 0, p;
	int i, ret;

	RTE_ETH_FOREACH_DEV(p) {
		if (p >= APP_MAX_PORTS) {
			APP_ERR("more than %d ports", APP_MAX_PORTS);
			return -E2BIG;
		}
		ids[n++] = p;
	}
	if (n == 0) {
		APP_ERR("no ports: give at least --vdev net_vhost0 and a NIC");
		return -ENODEV;
	}
	if (app_opts.npairs == 0) {
		if (n % 2 != 0) {
			APP_ERR("%u ports cannot be paired 0:1, 2:3, ...: give --pairs", n);
			return -EINVAL;
		}
		for (i = 0; i + 1 < n; i += 2)
			if ((ret = app_pair(ids[i], ids[i + 1])) != 0)
				return ret;
		return 0;
	}
	for (i = 0; i < app_opts.npairs; i++) {
		uint16_t a, b;

		if ((ret = app_resolve_port(app_opts.pairs[i][0], &a)) != 0 ||
		    (ret = app_resolve_port(app_opts.pairs[i][1], &b)) != 0 ||
		    (ret = app_pair(a, b)) != 0)
			return ret;
	}
	return 0;
}

static uint16_t
app_port_max_queues(const struct rte_eth_dev_info *info)
{
	return RTE_MIN(RTE_MIN(info->max_rx_queues, info->max_tx_queues), APP_MAX_QUEUES);
}

/* --mtu on a port that is not ours: the frame size the port is configured for, or why not. */
static int
app_port_conf_mtu(uint16_t port_id, const struct app_port *ap, const struct rte_eth_dev_info *info,
		  struct rte_eth_conf *conf)
{
	uint32_t frame = (uint32_t)app_opts.mtu + RTE_ETHER_HDR_LEN + RTE_ETHER_CRC_LEN;

	if (app_opts.mtu == 0 || ap->is_vhostfix)
		return 0;
	if (app_opts.mtu > info->max_mtu) {
		APP_ERR("--mtu %u: port %u (%s) takes at most %u",
			app_opts.mtu, port_id, ap->name, info->max_mtu);
		return -EINVAL;
	}
	/*
	 * Some drivers (net_tap) report a maximum frame they do not enforce: their
	 * MTU is the kernel's. Leave theirs alone and receive with scatter.
	 */
	if (frame <= info->max_rx_pktlen)
		conf->rxmode.mtu = app_opts.mtu;
	else
		printf("port %u: %s: the driver says frames up to %u bytes: MTU left to the "
		       "driver, frames up to --mtu %u received with scatter\n", port_id,
		       ap->name, info->max_rx_pktlen, app_opts.mtu);
	if (frame > RTE_MBUF_DEFAULT_DATAROOM) {
		if (!(info->rx_offload_capa & RTE_ETH_RX_OFFLOAD_SCATTER)) {
			APP_ERR("--mtu %u: port %u (%s) cannot receive frames larger than "
				"one mbuf (no rx scatter)", app_opts.mtu,
				port_id, ap->name);
			return -EINVAL;
		}
		conf->rxmode.offloads |= RTE_ETH_RX_OFFLOAD_SCATTER;
	}
	return 0;
}

/* Configure the port (without rx interrupts if it has none), its MTU, and its queues. */
static int
app_port_setup_queues(uint16_t port_id, const struct app_port *ap, struct rte_eth_conf *conf,
		      struct rte_mempool *pool)
{
	uint16_t q, nb_rxd = app_opts.nb_rxd, nb_txd = app_opts.nb_txd;
	int ret;

	ret = rte_eth_dev_configure(port_id, ap->queues, ap->queues, conf);
	if (ret != 0 && conf->intr_conf.rxq) {
		conf->intr_conf.rxq = 0;
		ret = rte_eth_dev_configure(port_id, ap->queues, ap->queues, conf);
	}
	if (ret != 0) {
		APP_LOG(ERR, "port %u (%s): configure with %u queues: %s", port_id, ap->name,
			ap->queues, rte_strerror(-ret));
		return ret;
	}
	/* Most drivers take the MTU from the configuration; tap also sets its kernel side. */
	if (conf->rxmode.mtu != 0) {
		ret = rte_eth_dev_set_mtu(port_id, conf->rxmode.mtu);
		if (ret != 0 && ret != -ENOTSUP) {
			APP_LOG(ERR, "port %u (%s): MTU %u: %s", port_id, ap->name, conf->rxmode.mtu,
				rte_strerror(-ret));
			return ret;
		}
	}
	(void)rte_eth_dev_adjust_nb_rx_tx_desc(port_id, &nb_rxd, &nb_txd);
	for (q = 0; q < ap->queues; q++) {
		ret = rte_eth_rx_queue_setup(port_id, q, nb_rxd, rte_eth_dev_socket_id(port_id),
					     NULL, pool);
		if (ret == 0)
			ret = rte_eth_tx_queue_setup(port_id, q, nb_txd,
						     rte_eth_dev_socket_id(port_id), NULL);
		if (ret != 0) {
			APP_LOG(ERR, "port %u (%s): queue %u set-up: %s", port_id, ap->name, q,
				rte_strerror(-ret));
			return ret;
		}
	}
	return 0;
}

static int
app_port_start(uint16_t port_id, struct rte_mempool *pool)
{
	struct app_port *ap = &app_ports[port_id];
	struct rte_eth_conf conf = { 0 };
	struct rte_eth_dev_info info;
	int ret;

	ret = rte_eth_dev_info_get(port_id, &info);
	if (ret != 0)
		return ret;
	/* Sleep mode wakes on rx interrupts; a port that has none is polled instead. */
	conf.intr_conf.rxq = app_opts.mode == APP_MODE_SLEEP;
	if (*info.dev_flags & RTE_ETH_DEV_INTR_LSC)
		conf.intr_conf.lsc = 1;
	/* Chains for frames bigger than one mbuf, both ways. */
	if (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS)
		conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
	/*
	 * Every mbuf we send comes from our one pool (every rx queue's) with a
	 * reference count of 1: we never clone, copy or attach. So a sent
	 * burst can go back to the pool without each mbuf being checked.
	 */
	if (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE)
		conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE;
	ret = app_port_conf_mtu(port_id, ap, &info, &conf);
	if (ret != 0)
		return ret;
	ret = app_port_setup_queues(port_id, ap, &conf, pool);
	if (ret != 0)
		return ret;
	rte_eth_dev_callback_register(port_id, RTE_ETH_EVENT_INTR_LSC, app_lsc_event, NULL);
	ret = rte_eth_dev_start(port_id);
	if (ret != 0) {
		APP_LOG(ERR, "port %u (%s): start: %s", port_id, ap->name, rte_strerror(-ret));
		return ret;
	}
	/* A NIC must take every frame: the guests behind it have their own MACs. */
	if (!ap->is_vhostfix)
		(void)rte_eth_promiscuous_enable(port_id);
	ap->has_rx_intr = conf.intr_conf.rxq && rte_eth_dev_rx_intr_ctl_q_get_fd(port_id, 0) >= 0;
	/*
	 * net_tap's "interrupt" is the tap fd itself, and its rx_burst returns
	 * nothing until the PMD's SIGIO handler has counted the arrival: a
	 * wake-up can come before the packet is readable through the PMD. An
	 * edge-triggered watch (what rte_eth_dev_rx_intr_ctl_q sets up) would
	 * spend that wake-up; fwd.c watches such fds level-triggered instead.
	 */
	ap->rx_intr_level = ap->has_rx_intr && strcmp(ap->driver, "net_tap") == 0;
	if (app_opts.mode == APP_MODE_SLEEP)
		printf("port %u: %s: %s\n", port_id, ap->name,
		       !ap->has_rx_intr ? "no rx interrupts: polled every --poll-ms when idle" :
		       ap->rx_intr_level ? "rx fd watched level-triggered when idle" :
		       "rx interrupts when idle");
	return 0;
}

uint32_t
app_mbufs_needed(void)
{
	uint32_t n = 0;
	uint16_t p;

	for (p = 0; p < APP_MAX_PORTS; p++)
		if (app_ports[p].used)
			n += app_ports[p].queues * (uint32_t)(app_opts.nb_rxd + app_opts.nb_txd +
							      app_opts.backlog + 2 * APP_BURST);
	return n + 512 * rte_lcore_count() + 1024;
}

/* Find the ports, their drivers and pairs; say what serves each. */
int
app_discover_ports(void)
{
	uint16_t p;
	int ret;

	ret = app_make_pairs();
	if (ret != 0)
		return ret;
	for (p = 0; p < APP_MAX_PORTS; p++) {
		struct app_port *ap = &app_ports[p];
		struct rte_eth_dev_info info;
		const char *iface;

		if (!rte_eth_dev_is_valid_port(p))
			continue;
		if (rte_eth_dev_info_get(p, &info) != 0)
			return -ENODEV;
		rte_eth_dev_get_name_by_port(p, ap->name);
		snprintf(ap->driver, sizeof(ap->driver), "%s", info.driver_name);
		iface = rte_pmd_vhostfix_iface(p);
		ap->is_vhostfix = iface != NULL;
		if (!ap->used) {
			printf("port %u: %s (driver %s): not paired, left alone\n", p, ap->name,
			       ap->driver);
			continue;
		}
		if (ap->is_vhostfix) {
			printf("port %u: %s served by %s (the never-stall datapath), vhost-user socket %s\n",
			       p, ap->name, ap->driver, iface);
		} else if (strncmp(ap->name, "net_vhost", 9) == 0) {
			/* Only if something registered net_vhost before us: say so loudly. */
			APP_ERR("port %u: %s is served by %s, not net_vhostfix",
				p, ap->name, ap->driver);
			return -ENOTSUP;
		} else {
			printf("port %u: %s (driver %s): NIC\n", p, ap->name, ap->driver);
		}
		ap->queues = app_port_max_queues(&info);
	}
	/* Both ports of a pair get the same queue count: queue q forwards to queue q. */
	for (p = 0; p < APP_MAX_PORTS; p++) {
		struct app_port *ap = &app_ports[p];
		uint16_t nq;

		if (!ap->used || p > ap->peer)
			continue;
		nq = RTE_MIN(ap->queues, app_ports[ap->peer].queues);
		if (app_opts.queues != 0) {
			if (app_opts.queues > nq) {
				APP_ERR("--queues %u: ports %u and %u have at most %u",
					app_opts.queues, p, ap->peer, nq);
				return -EINVAL;
			}
			nq = app_opts.queues;
		}
		ap->queues = app_ports[ap->peer].queues = nq;
	}
	return 0;
}

int
app_setup_ports(struct rte_mempool *pool)
{
	uint16_t p;
	int ret;

	for (p = 0; p < APP_MAX_PORTS; p++) {
		if (!app_ports[p].used)
			continue;
		ret = app_port_start(p, pool);
		if (ret != 0)
			return ret;
	}
	return 0;
}

void
app_close_ports(void)
{
	uint16_t p;

	for (p = 0; p < APP_MAX_PORTS; p++) {
		if (!app_ports[p].used)
			continue;
		rte_eth_dev_callback_unregister(p, RTE_ETH_EVENT_INTR_LSC, app_lsc_event, NULL);
		(void)rte_eth_dev_stop(p);
		(void)rte_eth_dev_close(p);
	}
}

/* ---------------------------------------------------------------------------------------- */
/* streams and lcores                                                                       */

static int
app_stream_init(struct app_stream *s, uint16_t from, uint16_t to, uint16_t q)
{
	s->rx_port = from;
	s->tx_port = to;
	s->rx_queue = s->tx_queue = q;
	s->dst_is_vhostfix = app_ports[to].is_vhostfix;
	if (!s->dst_is_vhostfix) {
		uint16_t mtu;

		/*
		 * A NIC refuses a frame over its MTU by leaving it unsent (net_tap counts
		 * a tx error each time): at the head of a backlog it would block the
		 * stream for good. Such frames are dropped and counted instead.
		 */
		if (rte_eth_dev_get_mtu(to, &mtu) == 0)
			s->dst_max_frame = (uint32_t)mtu + RTE_ETHER_HDR_LEN + RTE_VLAN_HLEN;
	}
	s->src_has_intr = app_ports[from].has_rx_intr;
	s->src_level_fd = app_ports[from].rx_intr_level;
	s->src_fd = -1;
	s->cap = rte_align32pow2(app_opts.backlog);
	s->mask = s->cap - 1;
	s->backlog = rte_zmalloc("backlog", s->cap * sizeof(*s->backlog), RTE_CACHE_LINE_SIZE);
	return s->backlog == NULL ? -ENOMEM : 0;
}

int
app_map_streams(void)
{
	unsigned int workers[RTE_MAX_LCORE], nb_workers = 0, next = 0, lcore_id;
	uint16_t p, q;
	int ret;

	RTE_LCORE_FOREACH_WORKER(lcore_id)
		workers[nb_workers++] = lcore_id;
	if (nb_workers == 0) {
		APP_ERR("no worker lcore: give -l with at least two lcores (the first one prints "
			"stats, the others forward)");
		return -EINVAL;
	}
	printf("forwarding (%s mode, backlog %u per stream, %s when full, notify=%s):\n",
	       app_mode_words[app_opts.mode], app_opts.backlog,
	       app_opts.full_policy == APP_FULL_PAUSE ? "pause the source" : "drop",
	       app_notify_words[app_opts.notify_legacy]);
	for (p = 0; p < APP_MAX_PORTS; p++) {
		uint16_t peer = app_ports[p].peer;

		if (!app_ports[p].used || p > peer)
			continue;
		for (q = 0; q < app_ports[p].queues; q++) {
			struct app_lcore *lc = &app_lcores[workers[next++ % nb_workers]];
			struct app_stream *s;

			if (app_nb_streams + 2 > APP_MAX_STREAMS)
				return -E2BIG;
			/* Both directions of a queue pair on one lcore: one poller per queue. */
			s = &app_streams[app_nb_streams++];
			if ((ret = app_stream_init(s, p, peer, q)) != 0)
				return ret;
			lc->streams[lc->nb_streams++] = s;
			s = &app_streams[app_nb_streams++];
			if ((ret = app_stream_init(s, peer, p, q)) != 0)
				return ret;
			lc->streams[lc->nb_streams++] = s;
			printf("  lcore %u: %s:%u <-> %s:%u\n", lc->lcore_id, app_ports[p].name, q,
			       app_ports[peer].name, q);
		}
	}
	for (next = 0; next < nb_workers; next++) {
		struct app_lcore *lc = &app_lcores[workers[next]];

		if (lc->nb_streams == 0)
			printf("  lcore %u: idle (more lcores than queue pairs)\n", lc->lcore_id);
		lc->quit_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (lc->quit_fd < 0)
			return -errno;
	}
	return 0;
}
