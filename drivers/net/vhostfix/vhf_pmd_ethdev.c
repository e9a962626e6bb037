/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 dpdk-vhostfix authors
 */

/*
 * net_vhostfix: the ethdev side. Devargs, probe/remove, and the ethdev ops;
 * the vhost-user events are in vhf_pmd_ctrl.c, the bursts in vhf_pmd_rxtx.c.
 */

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <bus_vdev_driver.h>
#include <ethdev_driver.h>
#include <ethdev_vdev.h>
#include <rte_bus_vdev.h>
#include <rte_common.h>
#include <rte_eal.h>
#include <rte_kvargs.h>
#include <rte_malloc.h>
#include <rte_vect.h>

#include "rte_pmd_vhostfix.h"
#include "vhf_pmd.h"

RTE_LOG_REGISTER_DEFAULT(vhf_logtype, NOTICE);
RTE_LOG_REGISTER_SUFFIX(vhf_logtype_ctrl, ctrl, NOTICE);
RTE_LOG_REGISTER_SUFFIX(vhf_logtype_rx, rx, NOTICE);
RTE_LOG_REGISTER_SUFFIX(vhf_logtype_tx, tx, NOTICE);

/*
 * The devargs: X(key, "<value>", parser). The parser fills the field of
 * struct vhf_port_args named after the key. The accepted keys, the parse, the
 * list in the unknown-key error and the PMD's parameter string all come from
 * here. VHF_DEVARGS_SEP() gives the first row its own macro, for the lists
 * whose items a separator joins.
 */
#define VHF_DEVARGS_SEP(FIRST, X)                                                                  \
	FIRST(iface, "<path>", vhf_arg_iface)                                                      \
	X(queues, "<int>", vhf_arg_queues)                                                         \
	X(client, "<0|1>", vhf_arg_bool)                                                           \
	X(notify, "<fixed|legacy>", vhf_arg_notify)                                                \
	X(packed, "<0|1>", vhf_arg_bool)                                                           \
	X(mrg_rxbuf, "<0|1>", vhf_arg_bool)                                                        \
	X(event_idx, "<0|1>", vhf_arg_bool)                                                        \
	X(in_order, "<0|1>", vhf_arg_bool)                                                         \
	X(csum, "<0|1>", vhf_arg_bool)                                                             \
	X(tso, "<0|1>", vhf_arg_bool)                                                              \
	X(mac, "<xx:xx:xx:xx:xx:xx>", vhf_arg_mac)
#define VHF_DEVARGS(X) VHF_DEVARGS_SEP(X, X)

#define VHF_X_KEY(key, value, parser) #key,
static const char *const vhf_valid_args[] = { VHF_DEVARGS(VHF_X_KEY) NULL };
#undef VHF_X_KEY

/* "iface, queues, ...", for the unknown-key error. */
#define VHF_X_KEY_FIRST(key, value, parser) #key
#define VHF_X_KEY_NEXT(key, value, parser) ", " #key
#define VHF_DEVARG_KEYS VHF_DEVARGS_SEP(VHF_X_KEY_FIRST, VHF_X_KEY_NEXT)

/*
 * What a frame carries besides its MTU's worth: the Ethernet header and one
 * VLAN tag (no CRC crosses a virtqueue). ethdev derives the same overhead from
 * max_rx_pktlen - max_mtu when it checks an MTU.
 */
#define VHF_MTU_OVERHEAD (RTE_ETHER_HDR_LEN + RTE_VLAN_HLEN)

/* ---------------------------------------------------------------------------------------- */
/* Devargs                                                                                  */

/* Which of two words value is: 0 or 1, or -EINVAL (logged, naming both). */
static int
vhf_arg_pick(const char *key, const char *value, const char *word0, const char *word1)
{
	if (strcmp(value, word0) == 0)
		return 0;
	if (strcmp(value, word1) == 0)
		return 1;
	VHF_LOG(ERR, "devarg %s=%s: expected %s or %s", key, value, word0, word1);
	return -EINVAL;
}

static int
vhf_arg_bool(const char *key, const char *value, void *opaque)
{
	bool *out = opaque;
	int v = vhf_arg_pick(key, value, "0", "1");

	if (v < 0)
		return v;
	*out = v == 1;
	return 0;
}

static int
vhf_arg_queues(const char *key, const char *value, void *opaque)
{
	uint16_t *out = opaque;
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(value, &end, 10);
	if (errno != 0 || *value == '\0' || *end != '\0' || v < 1 || v > VHF_PMD_MAX_QUEUES) {
		VHF_LOG(ERR, "devarg %s=%s: expected 1 to %u", key, value, VHF_PMD_MAX_QUEUES);
		return -EINVAL;
	}
	*out = (uint16_t)v;
	return 0;
}

static int
vhf_arg_notify(const char *key, const char *value, void *opaque)
{
	enum vhf_notify_algo *out = opaque;
	int v = vhf_arg_pick(key, value, "fixed", "legacy");

	if (v < 0)
		return v;
	*out = v == 0 ? VHF_NOTIFY_FIXED : VHF_NOTIFY_LEGACY;
	return 0;
}

static int
vhf_arg_mac(const char *key, const char *value, void *opaque)
{
	struct rte_ether_addr *out = opaque;

	/* A port's own address: unicast, and not all zeros. */
	if (rte_ether_unformat_addr(value, out) != 0 || !rte_is_valid_assigned_ether_addr(out)) {
		VHF_LOG(ERR, "devarg %s=%s: expected a unicast, non-zero MAC address such as "
			"02:00:00:00:00:01", key, value);
		return -EINVAL;
	}
	return 0;
}

static int
vhf_arg_iface(const char *key, const char *value, void *opaque)
{
	char **out = opaque;

	if (*value == '\0' || strlen(value) >= PATH_MAX) {
		VHF_LOG(ERR, "devarg %s: expected a socket path", key);
		return -EINVAL;
	}
	free(*out);
	*out = strdup(value);
	return *out == NULL ? -ENOMEM : 0;
}

/* Each devarg given, through its parser into its field of args. */
static int
vhf_process_args(struct rte_kvargs *kvlist, struct vhf_port_args *args)
{
#define VHF_X_PROCESS(key, value, parser)                                                          \
	if (rte_kvargs_process(kvlist, #key, parser, &args->key) != 0)                             \
		return -EINVAL;
	VHF_DEVARGS(VHF_X_PROCESS)
#undef VHF_X_PROCESS
	/* The parser refuses an all-zero address: a zero one is "not given". */
	args->mac_set = !rte_is_zero_ether_addr(&args->mac);
	return 0;
}

/* Parse "key=value,..." into args, naming the devarg at fault when it fails. */
static int
vhf_parse_args(const char *name, const char *params, struct vhf_port_args *args)
{
	struct rte_kvargs *kvlist;
	unsigned int i, j;
	int ret = -EINVAL;

	memset(args, 0, sizeof(*args));
	args->queues = 1;
	args->mrg_rxbuf = true;
	args->event_idx = true;
	args->in_order = true;
	args->notify = VHF_NOTIFY_FIXED;

	/* No key filter here: an unknown key is reported by name below. */
	kvlist = rte_kvargs_parse(params != NULL ? params : "", NULL);
	if (kvlist == NULL) {
		VHF_LOG(ERR, "%s: cannot parse devargs '%s'", name, params);
		return -EINVAL;
	}
	for (i = 0; i < kvlist->count; i++) {
		const char *key = kvlist->pairs[i].key;

		for (j = 0; vhf_valid_args[j] != NULL; j++)
			if (strcmp(key, vhf_valid_args[j]) == 0)
				break;
		if (vhf_valid_args[j] == NULL) {
			VHF_LOG(ERR, "%s: unknown devarg '%s' (valid: %s)", name, key,
				VHF_DEVARG_KEYS);
			goto out;
		}
		if (kvlist->pairs[i].value == NULL) {
			VHF_LOG(ERR, "%s: devarg '%s' needs a value", name, key);
			goto out;
		}
		if (rte_kvargs_count(kvlist, key) > 1) {
			VHF_LOG(ERR, "%s: devarg '%s' given more than once", name, key);
			goto out;
		}
	}
	if (rte_kvargs_count(kvlist, "iface") != 1) {
		VHF_LOG(ERR, "%s: devarg 'iface=<socket path>' is required", name);
		goto out;
	}
	if (vhf_process_args(kvlist, args) != 0) {
		VHF_LOG(ERR, "%s: invalid devargs '%s'", name, params);
		goto out;
	}
	/* Segmentation offload without checksum offload is not a virtio combination (5.1.3.1). */
	if (args->tso && !args->csum) {
		VHF_LOG(ERR, "%s: devarg 'tso=1' needs 'csum=1'", name);
		goto out;
	}
	ret = 0;
out:
	rte_kvargs_free(kvlist);
	if (ret != 0) {
		free(args->iface);
		args->iface = NULL;
	}
	return ret;
}

/* ---------------------------------------------------------------------------------------- */
/* ethdev ops                                                                               */

static int
vhf_dev_configure(struct rte_eth_dev *dev)
{
	struct vhf_port *port = dev->data->dev_private;

	if (dev->data->nb_rx_queues > port->args.queues ||
	    dev->data->nb_tx_queues > port->args.queues) {
		VHF_LOG(ERR, "port %u: %u rx / %u tx queues asked, devarg queues=%u", port->port_id,
			dev->data->nb_rx_queues, dev->data->nb_tx_queues, port->args.queues);
		return -EINVAL;
	}
	return 0;
}

/* What ethdev reports of every configured queue: started or stopped, nothing else to do. */
static void
vhf_queue_states_set(struct rte_eth_dev *dev, uint8_t state)
{
	uint16_t i;

	for (i = 0; i < dev->data->nb_rx_queues; i++)
		dev->data->rx_queue_state[i] = state;
	for (i = 0; i < dev->data->nb_tx_queues; i++)
		dev->data->tx_queue_state[i] = state;
}

static int
vhf_dev_start(struct rte_eth_dev *dev)
{
	vhf_queue_states_set(dev, RTE_ETH_QUEUE_STATE_STARTED);
	return 0;
}

static int
vhf_dev_stop(struct rte_eth_dev *dev)
{
	/* The guest stays attached: the app simply stops calling the bursts. */
	vhf_queue_states_set(dev, RTE_ETH_QUEUE_STATE_STOPPED);
	return 0;
}

static void
vhf_port_free(struct vhf_port *port)
{
	uint16_t i;

	vhf_ctrl_unregister(port);
	/* No guest any more: nothing watches the wait fds but the application's epoll. */
	vhf_intr_free(port);
	for (i = 0; i < port->args.queues && port->rxq != NULL && port->txq != NULL; i++) {
		vhf_wait_fini(&port->rxq[i]);
		vhf_wait_fini(&port->txq[i]);
	}
	rte_free(port->rxq);
	rte_free(port->txq);
	port->rxq = NULL;
	port->txq = NULL;
	free(port->args.iface);
	port->args.iface = NULL;
	pthread_mutex_destroy(&port->lock);
}

static int
vhf_dev_close(struct rte_eth_dev *dev)
{
	struct vhf_port *port = dev->data->dev_private;

	if (rte_eal_process_type() != RTE_PROC_PRIMARY)
		return 0;
	/* Destroys a connected guest first, detaching the queues (our destroy_device). */
	vhf_port_free(port);
	/* ethdev frees its queue pointer arrays; our rx/tx_queue_release have nothing to do. */
	return 0;
}

static int
vhf_dev_info_get(struct rte_eth_dev *dev, struct rte_eth_dev_info *info)
{
	struct vhf_port *port = dev->data->dev_private;

	info->max_mac_addrs = 1;
	info->max_rx_pktlen = VHF_MAX_RX_PKTLEN;
	/* A guest takes any frame its buffers hold (mergeable, or big ones): jumbo is fine. */
	info->min_mtu = RTE_ETHER_MIN_MTU;
	info->max_mtu = VHF_MAX_RX_PKTLEN - VHF_MTU_OVERHEAD;
	info->max_rx_queues = port->args.queues;
	info->max_tx_queues = port->args.queues;
	info->min_rx_bufsize = 0;
	info->rx_offload_capa = RTE_ETH_RX_OFFLOAD_SCATTER;
	info->tx_offload_capa = RTE_ETH_TX_OFFLOAD_MULTI_SEGS | RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE;
	/*
	 * Only what the devargs offer. Whatever the guest negotiates, the
	 * capabilities hold: where it cannot take an offload, the PMD does the
	 * work in software (checksums) or drops and counts (TSO to a guest
	 * without GUEST_TSO: we do not segment).
	 */
	if (port->args.csum) {
		info->rx_offload_capa |= RTE_ETH_RX_OFFLOAD_TCP_CKSUM |
					 RTE_ETH_RX_OFFLOAD_UDP_CKSUM;
		info->tx_offload_capa |= RTE_ETH_TX_OFFLOAD_TCP_CKSUM |
					 RTE_ETH_TX_OFFLOAD_UDP_CKSUM |
					 RTE_ETH_TX_OFFLOAD_IPV4_CKSUM;
	}
	if (port->args.tso) {
		info->rx_offload_capa |= RTE_ETH_RX_OFFLOAD_TCP_LRO;
		info->tx_offload_capa |= RTE_ETH_TX_OFFLOAD_TCP_TSO;
		/* A GSO packet from the guest is at most a 64 KiB IP packet. */
		info->max_lro_pkt_size = VHF_MAX_RX_PKTLEN;
	}
	return 0;
}

static int
vhf_queue_setup_common(struct rte_eth_dev *dev, uint16_t qid, bool is_rx,
		       struct rte_mempool *mb_pool)
{
	struct vhf_port *port = dev->data->dev_private;
	struct vhf_pmd_queue *q;

	if (qid >= port->args.queues)
		return -EINVAL;
	q = is_rx ? &port->rxq[qid] : &port->txq[qid];
	/* The vq itself is attached by the control path whenever a guest is there. */
	q->mb_pool = mb_pool;
	q->port_id = port->port_id;
	if (is_rx)
		dev->data->rx_queues[qid] = q;
	else
		dev->data->tx_queues[qid] = q;
	return 0;
}

static int
vhf_rx_queue_setup(struct rte_eth_dev *dev, uint16_t qid, uint16_t nb_desc __rte_unused,
		   unsigned int socket_id __rte_unused, const struct rte_eth_rxconf *conf,
		   struct rte_mempool *mb_pool)
{
	struct vhf_port *port = dev->data->dev_private;
	uint64_t offloads = dev->data->dev_conf.rxmode.offloads;
	int ret;

	/*
	 * A frame from the guest is copied into as many mbufs as it takes: each
	 * must hold a byte after its headroom, or the copy never ends (ethdev
	 * only checks that the data room covers the headroom).
	 */
	if (rte_pktmbuf_data_room_size(mb_pool) <= RTE_PKTMBUF_HEADROOM) {
		VHF_LOG(ERR, "port %u rx queue %u: mempool %s: data room %u leaves no room after "
			"the %u-byte headroom", port->port_id, qid, mb_pool->name,
			rte_pktmbuf_data_room_size(mb_pool), RTE_PKTMBUF_HEADROOM);
		return -EINVAL;
	}
	ret = vhf_queue_setup_common(dev, qid, true, mb_pool);
	if (ret != 0)
		return ret;
	vhf_rx_queue_set_rearm(&port->rxq[qid], mb_pool);
	if (conf != NULL)
		offloads |= conf->offloads;
	/* Either one: a partial checksum left for the app is flagged, not completed. */
	port->rxq[qid].rx_csum_offload =
		(offloads & (RTE_ETH_RX_OFFLOAD_TCP_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM)) != 0;
	return 0;
}

static int
vhf_tx_queue_setup(struct rte_eth_dev *dev, uint16_t qid, uint16_t nb_desc __rte_unused,
		   unsigned int socket_id __rte_unused, const struct rte_eth_txconf *conf)
{
	struct vhf_port *port = dev->data->dev_private;
	uint64_t offloads = dev->data->dev_conf.txmode.offloads;
	int ret;

	ret = vhf_queue_setup_common(dev, qid, false, NULL);
	if (ret != 0)
		return ret;
	if (conf != NULL)
		offloads |= conf->offloads;
	port->txq[qid].fast_free = (offloads & RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE) != 0;
	return 0;
}

static void
vhf_queue_release(struct rte_eth_dev *dev __rte_unused, uint16_t qid __rte_unused)
{
	/* Queue structs live as long as the port. */
}

static int
vhf_link_update(struct rte_eth_dev *dev __rte_unused, int wait __rte_unused)
{
	/* Kept current by the vhost-user callbacks. */
	return 0;
}

static int
vhf_stats_get(struct rte_eth_dev *dev, struct rte_eth_stats *stats)
{
	struct vhf_port *port = dev->data->dev_private;
	uint16_t i;

	for (i = 0; i < dev->data->nb_rx_queues && i < port->args.queues; i++) {
		const struct vhf_pmd_queue *q = &port->rxq[i];
		uint64_t pkts = vhf_queue_counter(q, VHF_VQ_CNT_packets);
		uint64_t bytes = vhf_queue_counter(q, VHF_VQ_CNT_bytes);

		stats->ipackets += pkts;
		stats->ibytes += bytes;
		stats->rx_nombuf += vhf_queue_pmd_counter(q, VHF_PMD_CNT_drop_no_mbuf);
		stats->ierrors += vhf_queue_counter(q, VHF_VQ_CNT_err_hdr) +
				  vhf_queue_pmd_counter(q, VHF_PMD_CNT_drop_too_long);
		if (i < RTE_ETHDEV_QUEUE_STAT_CNTRS) {
			stats->q_ipackets[i] = pkts;
			stats->q_ibytes[i] = bytes;
		}
	}
	for (i = 0; i < dev->data->nb_tx_queues && i < port->args.queues; i++) {
		const struct vhf_pmd_queue *q = &port->txq[i];
		uint64_t pkts = vhf_queue_counter(q, VHF_VQ_CNT_packets);
		uint64_t bytes = vhf_queue_counter(q, VHF_VQ_CNT_bytes);
		uint64_t drops = vhf_queue_counter(q, VHF_VQ_CNT_drop_too_big) +
				 vhf_queue_counter(q, VHF_VQ_CNT_drop_broken) +
				 vhf_queue_pmd_counter(q, VHF_PMD_CNT_drop_bad_chain);

		stats->opackets += pkts;
		stats->obytes += bytes;
		stats->oerrors += drops;
		if (i < RTE_ETHDEV_QUEUE_STAT_CNTRS) {
			stats->q_opackets[i] = pkts;
			stats->q_obytes[i] = bytes;
			stats->q_errors[i] = drops;
		}
	}
	return 0;
}

static void
vhf_queue_stats_reset(struct vhf_pmd_queue *q)
{
	unsigned int c;

	for (c = 0; c < VHF_VQ_CNT_MAX; c++)
		q->cnt_reset[c] += vhf_queue_counter(q, c);
	for (c = 0; c < VHF_PMD_CNT_MAX; c++)
		q->pmd_cnt_reset[c] += vhf_queue_pmd_counter(q, c);
}

static int
vhf_stats_reset(struct rte_eth_dev *dev)
{
	struct vhf_port *port = dev->data->dev_private;
	uint16_t i;

	for (i = 0; i < port->args.queues; i++) {
		vhf_queue_stats_reset(&port->rxq[i]);
		vhf_queue_stats_reset(&port->txq[i]);
	}
	return 0;
}

/* xstats: every counter of every configured queue, rx queues first, "<rx|tx>_q<N>_<name>". */

const char *const vhf_pmd_counter_names[VHF_PMD_CNT_MAX] = {
#define VHF_X_NAME(name, str, after) [VHF_PMD_CNT_##name] = str,
	VHF_PMD_COUNTERS(VHF_X_NAME)
#undef VHF_X_NAME
};

/* Which lib/ counter each PMD counter follows in the xstats. */
static const enum vhf_vq_counter vhf_pmd_counter_after[VHF_PMD_CNT_MAX] = {
#define VHF_X_AFTER(name, str, after) [VHF_PMD_CNT_##name] = VHF_VQ_CNT_##after,
	VHF_PMD_COUNTERS(VHF_X_AFTER)
#undef VHF_X_AFTER
};

/* lib/'s counters in their order, each followed by the PMD's that name it as "after". */
void
vhf_queue_xstats(const struct vhf_pmd_queue *q, const char **names, uint64_t *values)
{
	unsigned int n = 0, c, p;

	for (c = 0; c < VHF_VQ_CNT_MAX; c++) {
		if (names != NULL)
			names[n] = vhf_vq_counter_names[c];
		if (values != NULL)
			values[n] = vhf_queue_counter(q, c);
		n++;
		for (p = 0; p < VHF_PMD_CNT_MAX; p++) {
			if (vhf_pmd_counter_after[p] != c)
				continue;
			if (names != NULL)
				names[n] = vhf_pmd_counter_names[p];
			if (values != NULL)
				values[n] = vhf_queue_pmd_counter(q, p);
			n++;
		}
	}
}

static unsigned int
vhf_xstats_count(const struct rte_eth_dev *dev)
{
	return (dev->data->nb_rx_queues + dev->data->nb_tx_queues) * VHF_QUEUE_XSTATS;
}

/* The i-th configured queue in xstats order: rx queues, then tx queues. */
static const struct vhf_pmd_queue *
vhf_xstat_queue(const struct rte_eth_dev *dev, unsigned int qi)
{
	const struct vhf_port *port = dev->data->dev_private;

	if (qi < dev->data->nb_rx_queues)
		return &port->rxq[qi];
	return &port->txq[qi - dev->data->nb_rx_queues];
}

static int
vhf_xstats_get_names(struct rte_eth_dev *dev, struct rte_eth_xstat_name *names,
		     unsigned int size)
{
	unsigned int n = vhf_xstats_count(dev);
	const char *qnames[VHF_QUEUE_XSTATS];
	unsigned int i, c;

	if (names == NULL || size < n)
		return (int)n;
	for (i = 0; i < n; i += VHF_QUEUE_XSTATS) {
		const struct vhf_pmd_queue *q = vhf_xstat_queue(dev, i / VHF_QUEUE_XSTATS);

		vhf_queue_xstats(q, qnames, NULL);
		for (c = 0; c < VHF_QUEUE_XSTATS; c++)
			snprintf(names[i + c].name, sizeof(names[i + c].name), "%s_q%u_%s",
				 q->from_guest ? "rx" : "tx", q->qid, qnames[c]);
	}
	return (int)n;
}

static int
vhf_xstats_get(struct rte_eth_dev *dev, struct rte_eth_xstat *xstats, unsigned int size)
{
	unsigned int n = vhf_xstats_count(dev);
	uint64_t values[VHF_QUEUE_XSTATS];
	unsigned int i, c;

	if (xstats == NULL || size < n)
		return (int)n;
	for (i = 0; i < n; i += VHF_QUEUE_XSTATS) {
		vhf_queue_xstats(vhf_xstat_queue(dev, i / VHF_QUEUE_XSTATS), NULL, values);
		for (c = 0; c < VHF_QUEUE_XSTATS; c++) {
			xstats[i + c].id = i + c;
			xstats[i + c].value = values[c];
		}
	}
	return (int)n;
}

static int
vhf_xstats_reset(struct rte_eth_dev *dev)
{
	return vhf_stats_reset(dev);
}

static int
vhf_promiscuous_noop(struct rte_eth_dev *dev __rte_unused)
{
	/* A guest sees every frame we send it: nothing to filter. */
	return 0;
}

/*
 * ethdev checked mtu against min_mtu/max_mtu and stores it once we accept.
 * Nothing to program: frames of any size up to VHF_MAX_RX_PKTLEN cross the
 * rings both ways, and the guest's own MTU is its business (no VIRTIO_NET_F_MTU
 * is offered).
 */
static int
vhf_mtu_set(struct rte_eth_dev *dev __rte_unused, uint16_t mtu __rte_unused)
{
	return 0;
}

/* The new address is stored by ethdev; the guest never sees ours. */
static int
vhf_mac_addr_set(struct rte_eth_dev *dev __rte_unused, struct rte_ether_addr *mac __rte_unused)
{
	return 0;
}

/*
 * rte_eth_dev_priv_dump(): where every queue stands, ours and the guest's view
 * of it, for the post-mortem of a stall (did the guest publish what we did not
 * take?). Plain reads of what the lcores write: exact from the lcore that runs
 * the bursts, a snapshot from any other thread. The guest's view is read in
 * guest memory, which librte_vhost unmaps as soon as our destroy_device (or a
 * disrupting message's detach) returns: the port's lock, held by every detach,
 * is held for the whole dump, so a queue seen attached stays mapped until the
 * dump is over (a guest leaving meanwhile waits for it in its detach).
 */
static void
vhf_dump_queue(FILE *f, const char *dir, const struct vhf_pmd_queue *q)
{
	bool attached = vhf_queue_attached(q);

	fprintf(f, "  %s %u (vring %u): %s, in burst %u, kickfd %d callfd %d, armed %d",
		dir, q->qid, q->vring, attached ? "attached" : "detached",
		vhf_guard_peek_in_use(&q->guard), q->kickfd, q->callfd, q->armed);
	if (!q->from_guest)
		fprintf(f, ", start gate %s%s", q->start_gate.closed ? "closed" : "open",
			q->fast_free ? ", mbuf fast free" : "");
	fputc('\n', f);
	if (attached) {
		fputs("    ", f);
		vhf_vq_dump(&q->vq, f);
	}
}

static int
vhf_priv_dump(struct rte_eth_dev *dev, FILE *f)
{
	struct vhf_port *port = dev->data->dev_private;
	uint16_t i;

	pthread_mutex_lock(&port->lock);
	fprintf(f, "net_vhostfix %s: vid %d, %s, features 0x%" PRIx64 "\n", port->args.iface,
		port->vid, port->running ? "guest up" : "no guest", port->features);
	for (i = 0; i < port->args.queues; i++) {
		if (dev->data->tx_queues != NULL && i < dev->data->nb_tx_queues)
			vhf_dump_queue(f, "tx", &port->txq[i]);
		if (dev->data->rx_queues != NULL && i < dev->data->nb_rx_queues)
			vhf_dump_queue(f, "rx", &port->rxq[i]);
	}
	pthread_mutex_unlock(&port->lock);
	return 0;
}

static const struct eth_dev_ops vhf_ops = {
	.dev_configure = vhf_dev_configure,
	.dev_start = vhf_dev_start,
	.dev_stop = vhf_dev_stop,
	.dev_close = vhf_dev_close,
	.dev_infos_get = vhf_dev_info_get,
	.rx_queue_setup = vhf_rx_queue_setup,
	.tx_queue_setup = vhf_tx_queue_setup,
	.rx_queue_release = vhf_queue_release,
	.tx_queue_release = vhf_queue_release,
	.link_update = vhf_link_update,
	.stats_get = vhf_stats_get,
	.stats_reset = vhf_stats_reset,
	.xstats_get = vhf_xstats_get,
	.xstats_get_names = vhf_xstats_get_names,
	.xstats_reset = vhf_xstats_reset,
	.rx_queue_intr_enable = vhf_rx_queue_intr_enable,
	.rx_queue_intr_disable = vhf_rx_queue_intr_disable,
	.promiscuous_enable = vhf_promiscuous_noop,
	.promiscuous_disable = vhf_promiscuous_noop,
	.allmulticast_enable = vhf_promiscuous_noop,
	.allmulticast_disable = vhf_promiscuous_noop,
	.mtu_set = vhf_mtu_set,
	.mac_addr_set = vhf_mac_addr_set,
	.eth_dev_priv_dump = vhf_priv_dump,
};

/*
 * A secondary process (dpdk-proc-info, dpdk-dumpcap) gets only what it can do
 * without the primary's private state: read the port's info, link, stats and
 * xstats, and reset the counters. All of those live in memory the primary
 * rte_malloc'ed (dev_private, the queue arrays), which EAL maps at the same
 * address in every process. Nothing reaches the rings, the guest's memory
 * (mapped by the primary only, at an address of its own) or the vhost-user
 * socket: no configure, start, queue set-up or rx interrupts here, and the
 * burst functions neither receive nor send. dpdk-dumpcap captures through
 * the primary's own burst callbacks (librte_pdump), not through these.
 */
static const struct eth_dev_ops vhf_secondary_ops = {
	.dev_close = vhf_dev_close,
	.dev_infos_get = vhf_dev_info_get,
	.link_update = vhf_link_update,
	.stats_get = vhf_stats_get,
	.stats_reset = vhf_stats_reset,
	.xstats_get = vhf_xstats_get,
	.xstats_get_names = vhf_xstats_get_names,
	.xstats_reset = vhf_xstats_reset,
	.promiscuous_enable = vhf_promiscuous_noop,
	.promiscuous_disable = vhf_promiscuous_noop,
	.allmulticast_enable = vhf_promiscuous_noop,
	.allmulticast_disable = vhf_promiscuous_noop,
};

/* ---------------------------------------------------------------------------------------- */
/* Probe / remove                                                                           */

/* A secondary process: attach to the port the primary made (see vhf_secondary_ops). */
static int
vhf_pmd_attach_secondary(struct rte_vdev_device *vdev)
{
	const char *name = rte_vdev_device_name(vdev);
	struct rte_eth_dev *dev = rte_eth_dev_attach_secondary(name);

	if (dev == NULL) {
		VHF_LOG(ERR, "%s: secondary process: no such port in the primary", name);
		return -ENODEV;
	}
	dev->dev_ops = &vhf_secondary_ops;
	dev->rx_pkt_burst = rte_eth_pkt_burst_dummy;
	dev->tx_pkt_burst = rte_eth_pkt_burst_dummy;
	dev->device = &vdev->device;
	rte_eth_dev_probing_finish(dev);
	return 0;
}

static int
vhf_port_init_queues(struct vhf_port *port, int socket)
{
	size_t sz = sizeof(struct vhf_pmd_queue) * port->args.queues;
	uint16_t i;

	port->rxq = rte_zmalloc_socket("vhf_rxq", sz, RTE_CACHE_LINE_SIZE, socket);
	port->txq = rte_zmalloc_socket("vhf_txq", sz, RTE_CACHE_LINE_SIZE, socket);
	if (port->rxq == NULL || port->txq == NULL)
		return -ENOMEM;
	for (i = 0; i < port->args.queues; i++) {
		struct vhf_pmd_queue *rq = &port->rxq[i], *tq = &port->txq[i];

		rq->from_guest = true;
		rq->qid = i;
		rq->vring = (uint16_t)(2 * i + 1); /* the guest's TX virtqueue */
		rq->port = port;
		rq->callfd = rq->kickfd = -1;
		tq->from_guest = false;
		tq->qid = i;
		tq->vring = (uint16_t)(2 * i); /* the guest's RX virtqueue */
		tq->port = port;
		tq->callfd = tq->kickfd = -1;
		rq->wait_epfd = rq->wake_fd = tq->wait_epfd = tq->wake_fd = -1;
		rq->gate_timer_fd = tq->gate_timer_fd = -1;
	}
	for (i = 0; i < port->args.queues; i++) {
		int ret = vhf_wait_init(&port->rxq[i]);

		if (ret == 0)
			ret = vhf_wait_init(&port->txq[i]);
		if (ret != 0) {
			VHF_LOG(ERR, "%s: queue %u: cannot create its wait fds: %s",
				port->args.iface, i, strerror(-ret));
			return ret;
		}
	}
	return vhf_intr_setup(port);
}

/*
 * params, then each "key=value" of defaults whose key params lacks: a
 * malloc'ed string, NULL when out of memory or defaults cannot be parsed.
 */
static char *
vhf_args_with_defaults(const char *params, const char *defaults)
{
	struct rte_kvargs *given = rte_kvargs_parse(params != NULL ? params : "", NULL);
	struct rte_kvargs *extra = rte_kvargs_parse(defaults, NULL);
	size_t len = (params != NULL ? strlen(params) : 0) + strlen(defaults) + 2;
	char *out = NULL;
	unsigned int i;

	/* An unparsable params is reported by vhf_parse_args(): pass it on as it is. */
	if (extra == NULL)
		goto done;
	out = malloc(len);
	if (out == NULL)
		goto done;
	snprintf(out, len, "%s", params != NULL ? params : "");
	for (i = 0; i < extra->count; i++) {
		const struct rte_kvargs_pair *p = &extra->pairs[i];

		if (given != NULL && rte_kvargs_count(given, p->key) != 0)
			continue;
		snprintf(out + strlen(out), len - strlen(out), "%s%s=%s",
			 out[0] != '\0' ? "," : "", p->key, p->value != NULL ? p->value : "");
	}
done:
	rte_kvargs_free(given);
	rte_kvargs_free(extra);
	return out;
}

/* Probe with default_args ("key=value,...", NULL: none) for the keys the vdev's devargs lack. */
static int
vhf_pmd_probe(struct rte_vdev_device *vdev, const char *default_args)
{
	const char *name = rte_vdev_device_name(vdev);
	struct rte_eth_dev *dev;
	struct vhf_port *port;
	struct vhf_port_args args;
	struct rte_ether_addr mac;
	int ret;

	if (default_args != NULL) {
		char *merged = vhf_args_with_defaults(rte_vdev_device_args(vdev), default_args);

		if (merged == NULL)
			return -ENOMEM;
		ret = vhf_parse_args(name, merged, &args);
		free(merged);
	} else {
		ret = vhf_parse_args(name, rte_vdev_device_args(vdev), &args);
	}
	if (ret != 0)
		return ret;

	dev = rte_eth_vdev_allocate(vdev, sizeof(*port));
	if (dev == NULL) {
		free(args.iface);
		return -ENOMEM;
	}
	port = dev->data->dev_private;
	port->args = args;
	port->eth_dev = dev;
	port->port_id = dev->data->port_id;
	port->vid = -1;
	pthread_mutex_init(&port->lock, NULL);

	ret = vhf_port_init_queues(port, vdev->device.numa_node);
	if (ret != 0)
		goto fail;
	dev->data->mac_addrs = rte_zmalloc_socket(name, sizeof(mac), 0,
						  vdev->device.numa_node);
	if (dev->data->mac_addrs == NULL) {
		ret = -ENOMEM;
		goto fail;
	}
	/* Random unless given: OVS and others key their configuration on a stable one. */
	if (port->args.mac_set)
		rte_ether_addr_copy(&port->args.mac, &mac);
	else
		rte_eth_random_addr(mac.addr_bytes);
	rte_ether_addr_copy(&mac, dev->data->mac_addrs);
	dev->data->dev_link.link_status = RTE_ETH_LINK_DOWN;
	dev->data->dev_link.link_speed = RTE_ETH_SPEED_NUM_10G;
	dev->data->dev_link.link_duplex = RTE_ETH_LINK_FULL_DUPLEX;
	/* No AUTOFILL_QUEUE_XSTATS: our own per-queue xstats say more. */
	dev->data->dev_flags = RTE_ETH_DEV_INTR_LSC;
	dev->dev_ops = &vhf_ops;
	dev->rx_pkt_burst = vhf_pmd_rx_burst;
	dev->tx_pkt_burst = vhf_pmd_tx_burst;

	ret = vhf_ctrl_register(port);
	if (ret != 0)
		goto fail;
	rte_eth_dev_probing_finish(dev);
	VHF_LOG(INFO, "%s: port %u on %s (%s, %u queue pair(s), notify=%s, packed=%d, "
		"mrg_rxbuf=%d, event_idx=%d, in_order=%d, csum=%d, tso=%d, copy=%s)", name,
		port->port_id,
		port->args.iface, port->args.client ? "client" : "server", port->args.queues,
		port->args.notify == VHF_NOTIFY_LEGACY ? "legacy" : "fixed", port->args.packed,
		port->args.mrg_rxbuf, port->args.event_idx, port->args.in_order, port->args.csum,
		port->args.tso, vhf_copy_long_path());
	return 0;

fail:
	vhf_port_free(port);
	rte_eth_dev_release_port(dev);
	return ret;
}

/*
 * Set by rte_pmd_vhostfix_claim_net_vhost() before EAL probes vdevs: the
 * application's defaults ("" for none), NULL when no application claimed
 * net_vhost<N>.
 */
static char *vhf_claim_defaults;

static int
vhf_probe(struct rte_vdev_device *vdev)
{
	const char *name = rte_vdev_device_name(vdev);
	const char *rundir = rte_eal_get_runtime_dir();
	char *defaults;
	size_t len;
	int ret;

	/*
	 * EAL's --force-max-simd-bitwidth bounds our copies as it does DPDK's
	 * vector paths, in a secondary process (which may run bursts) as well.
	 */
	vhf_copy_set_max_simd_bits(rte_vect_get_max_simd_bitwidth());
	/* The primary parsed the devargs and owns the port: nothing of that here. */
	if (rte_eal_process_type() == RTE_PROC_SECONDARY)
		return vhf_pmd_attach_secondary(vdev);
	if (vhf_claim_defaults == NULL)
		return vhf_pmd_probe(vdev, NULL);
	/* Claimed: iface= may be left out, each vdev then gets a socket of its own. */
	len = strlen(rundir) + strlen(name) + strlen(vhf_claim_defaults) + sizeof("iface=/.sock,");
	defaults = malloc(len);
	if (defaults == NULL)
		return -ENOMEM;
	snprintf(defaults, len, "iface=%s/%s.sock%s%s", rundir, name,
		 vhf_claim_defaults[0] != '\0' ? "," : "", vhf_claim_defaults);
	ret = vhf_pmd_probe(vdev, defaults);
	free(defaults);
	return ret;
}

static int
vhf_pmd_remove(struct rte_vdev_device *vdev)
{
	struct rte_eth_dev *dev = rte_eth_dev_allocated(rte_vdev_device_name(vdev));

	if (dev == NULL)
		return 0; /* already closed by the application */
	rte_eth_dev_close(dev->data->port_id);
	return 0;
}

static struct rte_vdev_driver vhf_vdev_driver = {
	.probe = vhf_probe,
	.remove = vhf_pmd_remove,
};

int
rte_pmd_vhostfix_claim_net_vhost(const char *default_args)
{
	const char *given = default_args != NULL ? default_args : "";
	struct rte_kvargs *kvlist = rte_kvargs_parse(given, vhf_valid_args);
	char *copy;

	/* Refused here, once, rather than at every probe; iface= is each vdev's own. */
	if (kvlist == NULL || rte_kvargs_count(kvlist, "iface") != 0) {
		VHF_LOG(ERR, "default devargs '%s' for net_vhost<N>: a key this driver does not "
			"take, or iface= (each vdev has a socket of its own)", given);
		rte_kvargs_free(kvlist);
		return -EINVAL;
	}
	rte_kvargs_free(kvlist);
	copy = strdup(given);
	if (copy == NULL)
		return -ENOMEM;
	free(vhf_claim_defaults);
	vhf_claim_defaults = copy;
	/*
	 * EAL gives a vdev to the first registered driver whose name or alias
	 * prefixes the vdev's name. This one registered from a constructor, before
	 * main(); DPDK's own net_vhost is a plugin that rte_eal_init() loads, later.
	 * (RTE_PMD_REGISTER_VDEV's constructor writes the alias: set it after that.)
	 */
	vhf_vdev_driver.driver.alias = "net_vhost";
	return 0;
}

RTE_PMD_REGISTER_VDEV(net_vhostfix, vhf_vdev_driver);

/*
 * First among the drivers whose names prefix ours. EAL gives a vdev to the
 * first driver of the vdev bus's list whose name or alias prefixes the vdev's
 * name, and DPDK's "net_vhost" prefixes "net_vhostfix0". Installed in DPDK's
 * driver directory, this driver registers when EAL loads it, in the order the
 * filesystem lists that directory: where librte_net_vhost comes first, it takes
 * every net_vhostfix<N> vdev (and accepts its iface=). So, before EAL probes
 * (a vdev scan runs after every plugin has registered, and again before each
 * hotplug), every driver listed before ours whose name or alias is a proper
 * prefix of ours goes back to the end of the list. Another copy of this
 * driver (same name) stays where it is: the first copy serves.
 *
 * The bus keeps its list head to itself, so the walk goes backwards from our
 * entry. A TAILQ head is laid out as an entry, {first, last}, and our entry's
 * "prev" points at the "next" field of the entry before it, or at the head's
 * "first": that is the head exactly when the field after it, the head's "last",
 * is the address of the last entry's "next" (no entry before ours has that).
 */
static bool
vhf_driver_prefixes_ours(const struct rte_vdev_driver *drv)
{
	const char *ours = vhf_vdev_driver.driver.name;
	const char *names[] = { drv->driver.name, drv->driver.alias };
	unsigned int i;

	if (drv->driver.name != NULL && strcmp(drv->driver.name, ours) == 0)
		return false;
	for (i = 0; i < RTE_DIM(names); i++) {
		size_t len = names[i] != NULL ? strlen(names[i]) : 0;

		if (len != 0 && len < strlen(ours) && strncmp(names[i], ours, len) == 0)
			return true;
	}
	return false;
}

/* The walk above reads the list head as an entry whose "next" comes first: so it must. */
_Static_assert(offsetof(struct rte_vdev_driver, next) == 0,
	       "struct rte_vdev_driver no longer starts with its list entry");

static void
vhf_vdev_first_among_prefixes(void *arg __rte_unused)
{
	struct rte_vdev_driver *last = &vhf_vdev_driver, *move[8];
	struct rte_vdev_driver **prev_next = vhf_vdev_driver.next.tqe_prev;
	unsigned int n = 0, i;

	if (prev_next == NULL)
		return; /* not registered */
	while (last->next.tqe_next != NULL)
		last = last->next.tqe_next;
	for (;;) {
		/* "next" is the entry's first field: the entry (or head) holding prev_next. */
		struct rte_vdev_driver *prev =
			container_of(prev_next, struct rte_vdev_driver, next.tqe_next);

		if (prev->next.tqe_prev == &last->next.tqe_next)
			break; /* the head: no entry before */
		if (vhf_driver_prefixes_ours(prev) && n < RTE_DIM(move))
			move[n++] = prev;
		prev_next = prev->next.tqe_prev;
	}
	for (i = 0; i < n; i++) {
		VHF_LOG(DEBUG, "driver %s was listed before %s, whose vdevs it would take: "
			"now after it", move[i]->driver.name, vhf_vdev_driver.driver.name);
		rte_vdev_unregister(move[i]);
		rte_vdev_register(move[i]);
	}
}

RTE_INIT(vhf_vdev_order_init)
{
	if (rte_vdev_add_custom_scan(vhf_vdev_first_among_prefixes, NULL) != 0)
		VHF_LOG(ERR, "cannot add a vdev scan callback: a driver named as a prefix of "
			"%s and loaded first would take its vdevs", vhf_vdev_driver.driver.name);
}
/* "iface=<path> queues=<int> ...": one string literal, as the pmdinfo section wants it. */
#define VHF_X_PARAM_FIRST(key, value, parser) #key "=" value
#define VHF_X_PARAM_NEXT(key, value, parser) " " #key "=" value
RTE_PMD_REGISTER_PARAM_STRING(net_vhostfix, VHF_DEVARGS_SEP(VHF_X_PARAM_FIRST, VHF_X_PARAM_NEXT));
