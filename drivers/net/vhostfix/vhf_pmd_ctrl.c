/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 dpdk-vhostfix authors
 */

/*
 * Control path: librte_vhost runs the vhost-user socket and tells us, from its
 * event thread, when a guest's rings become usable or stop being so. We turn
 * that into attach/detach of our queues. librte_vhost's own datapath is off
 * (rte_vhost_driver_set_features), and so are its queue locks as far as we are
 * concerned: nothing but our attach/detach handshake keeps an lcore away from
 * rings and memory the library is about to change.
 */

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <ethdev_driver.h>
#include <rte_pause.h>
#include <rte_vhost.h>

#include "vhf_net_offload.h"
#include "vhf_pmd.h"

/* Everything said here concerns the vhost-user control path: pmd.net.vhostfix.ctrl. */
#undef VHF_LOG
#define VHF_LOG(level, fmt, ...) VHF_LOG_T(ctrl, level, fmt, ##__VA_ARGS__)

/* vhost-user protocol feature bit "protocol features supported" (not a virtio bit). */
#define VHF_VHOST_USER_F_PROTOCOL_FEATURES 30
/* vhost's feature bit: the front-end wants every write into guest memory logged (migration). */
#define VHF_VHOST_F_LOG_ALL 26

/* vhost-user front-end requests (vhost-user specification, "Front-end message types"). */
enum vhf_vhost_user_req {
	VHF_VU_SET_FEATURES = 2,
	VHF_VU_RESET_OWNER = 4,
	VHF_VU_SET_MEM_TABLE = 5,
	VHF_VU_SET_LOG_BASE = 6,
	VHF_VU_SET_LOG_FD = 7,
	VHF_VU_SET_VRING_NUM = 8,
	VHF_VU_SET_VRING_ADDR = 9,
	VHF_VU_SET_VRING_BASE = 10,
	VHF_VU_GET_VRING_BASE = 11,
	VHF_VU_SET_VRING_KICK = 12,
	VHF_VU_SET_VRING_CALL = 13,
	VHF_VU_SET_VRING_ENABLE = 18,
	VHF_VU_SEND_RARP = 19,
	VHF_VU_IOTLB_MSG = 22,
};

/*
 * The head of every vhost-user message, and the payloads we read: a vring
 * state, or SEND_RARP's MAC (the first 6 bytes of a u64). The payload starts
 * at byte 12: no member here is wider than 4 bytes, so none is padded.
 */
struct vhf_vu_msg {
	uint32_t request;
	uint32_t flags;
	uint32_t size; /**< payload bytes */
	union {
		struct {
			uint32_t index;
			uint32_t num;
		} state;
		uint8_t u64[8];
	};
};

/* Ports by socket path: librte_vhost callbacks only give a vid. */
static TAILQ_HEAD(, vhf_port_entry) vhf_ports = TAILQ_HEAD_INITIALIZER(vhf_ports);
static pthread_mutex_t vhf_ports_lock = PTHREAD_MUTEX_INITIALIZER;

struct vhf_port_entry {
	TAILQ_ENTRY(vhf_port_entry) next;
	struct vhf_port *port;
};

static struct vhf_port *
vhf_port_by_vid(int vid)
{
	struct vhf_port_entry *e;
	struct vhf_port *port = NULL;
	char ifname[PATH_MAX];

	if (rte_vhost_get_ifname(vid, ifname, sizeof(ifname)) != 0)
		return NULL;
	pthread_mutex_lock(&vhf_ports_lock);
	TAILQ_FOREACH(e, &vhf_ports, next) {
		if (strcmp(e->port->args.iface, ifname) == 0) {
			port = e->port;
			break;
		}
	}
	pthread_mutex_unlock(&vhf_ports_lock);
	return port;
}

/* The port a vhost-user callback is about, its lock taken; NULL if the vid is none of ours. */
static struct vhf_port *
vhf_port_lock_by_vid(int vid)
{
	struct vhf_port *port = vhf_port_by_vid(vid);

	if (port != NULL)
		pthread_mutex_lock(&port->lock);
	return port;
}

static struct vhf_pmd_queue *
vhf_queue_of_vring(struct vhf_port *port, uint16_t vring)
{
	uint16_t qid = vring / 2;

	if (qid >= port->args.queues)
		return NULL;
	/* Even vrings are the guest's RX queues: what we transmit. */
	return (vring & 1) ? &port->rxq[qid] : &port->txq[qid];
}

/*
 * Take a queue away from the lcores: after this returns, no burst runs on it
 * until the next attach, and librte_vhost knows where the queue stands.
 */
static void
vhf_queue_detach(struct vhf_port *port, struct vhf_pmd_queue *q)
{
	uint16_t last_avail, last_used;
	unsigned int i;

	if (!vhf_queue_attached(q))
		return;
	/* Counter readers retry until the fold below is done (vhf_queue_counter()). */
	__atomic_store_n(&q->cnt_gen, q->cnt_gen + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	vhf_guard_close_begin(&q->guard);
	while (vhf_guard_busy(&q->guard))
		rte_pause();
	/* The lcore's last burst (its leave) is visible: read its state. */
	for (i = 0; i < VHF_VQ_CNT_MAX; i++)
		q->cnt_saved[i] += q->vq.cnt[i];
	__atomic_store_n(&q->cnt_gen, q->cnt_gen + 1, __ATOMIC_RELEASE);
	if (!q->vq.broken) {
		/*
		 * So that GET_VRING_BASE (answered by the library from its copy), a
		 * reconnect or a reattach resume where we stopped.
		 */
		vhf_vq_get_base(&q->vq, &last_avail, &last_used);
		if (rte_vhost_set_vring_base(port->vid, q->vring, last_avail, last_used) != 0)
			VHF_LOG(ERR, "%s: vring %u: cannot save ring base", port->args.iface,
				q->vring);
		/* Where a clean stop leaves the ring: the next back-end must resume there. */
		VHF_LOG(DEBUG, "%s: vring %u detached (base %u/%u)", port->args.iface, q->vring,
			last_avail, last_used);
	}
	vhf_wait_detach(q);
	q->callfd = -1;
	q->kickfd = -1;
}

static void
vhf_port_detach_all(struct vhf_port *port)
{
	uint16_t i;

	for (i = 0; i < port->args.queues; i++) {
		vhf_queue_detach(port, &port->rxq[i]);
		vhf_queue_detach(port, &port->txq[i]);
	}
}

/* Refresh our copy of the guest memory table; queues must all be detached. */
static int
vhf_port_load_mem(struct vhf_port *port)
{
	struct vhf_mem_region regions[VHF_MEM_MAX_REGIONS];
	struct rte_vhost_memory *vmem = NULL;
	uint32_t i;
	int ret;

	if (rte_vhost_get_mem_table(port->vid, &vmem) != 0 || vmem == NULL) {
		VHF_LOG(ERR, "%s: no guest memory table", port->args.iface);
		return -EINVAL;
	}
	if (vmem->nregions > VHF_MEM_MAX_REGIONS) {
		VHF_LOG(ERR, "%s: %u guest memory regions, at most %u supported",
			port->args.iface, vmem->nregions, VHF_MEM_MAX_REGIONS);
		free(vmem);
		return -E2BIG;
	}
	for (i = 0; i < vmem->nregions; i++) {
		regions[i].guest_phys_addr = vmem->regions[i].guest_phys_addr;
		regions[i].size = vmem->regions[i].size;
		regions[i].host_addr = vmem->regions[i].host_user_addr;
		regions[i].mmap_offset = 0;
	}
	ret = vhf_mem_set(&port->mem, regions, vmem->nregions);
	free(vmem);
	if (ret != 0)
		VHF_LOG(ERR, "%s: guest memory table rejected: %s", port->args.iface,
			strerror(-ret));
	return ret;
}

/*
 * lib/'s dirty log (struct vhf_vq_config.log) into librte_vhost's: it marks the
 * pages in the log the front-end shared (SET_LOG_BASE), and does nothing
 * without one. Runs on the lcore, inside a burst: the log cannot be replaced
 * meanwhile (SET_LOG_BASE detaches the queues first).
 */
static void
vhf_pmd_log_write(void *ctx, uint64_t gpa, uint64_t len)
{
	const struct vhf_port *port = ctx;

	rte_vhost_log_write(port->vid, gpa, len);
}

/* Give a queue to the lcores, from librte_vhost's current view of its vring. */
static int
vhf_queue_attach(struct vhf_port *port, struct vhf_pmd_queue *q)
{
	struct rte_vhost_vring vring;
	struct vhf_vq_config cfg;
	uint64_t f = port->features;
	int ret;

	if (vhf_queue_attached(q) || !port->vring_enabled[q->vring])
		return 0;
	if (rte_vhost_get_vhost_vring(port->vid, q->vring, &vring) != 0)
		return 0; /* the guest did not set this vring up (fewer queues than us) */

	memset(&cfg, 0, sizeof(cfg));
	cfg.size = vring.size;
	cfg.packed = f & VHF_FEATURE(VHF_F_RING_PACKED);
	cfg.event_idx = f & VHF_FEATURE(VHF_F_RING_EVENT_IDX);
	cfg.indirect = f & VHF_FEATURE(VHF_F_RING_INDIRECT_DESC);
	cfg.in_order = f & VHF_FEATURE(VHF_F_IN_ORDER);
	cfg.mrg_rxbuf = !q->from_guest && (f & VHF_FEATURE(VHF_F_NET_MRG_RXBUF));
	cfg.net_hdr_len = (f & (VHF_FEATURE(VHF_F_NET_MRG_RXBUF) | VHF_FEATURE(VHF_F_VERSION_1))) ?
			  VHF_NET_HDR_LEN_MRG : VHF_NET_HDR_LEN_LEGACY;
	cfg.tx_hdr_unread = q->from_guest && !vhf_ofl_tx_hdr_meaningful(f);
	cfg.notify_algo = port->args.notify;
	/*
	 * tx_burst never sleeps: it leaves the guest's RX kick unarmed, and
	 * rte_pmd_vhostfix_tx_wait_arm() arms it for an application about to sleep.
	 */
	cfg.caller_polls = !q->from_guest;
	if (cfg.packed) {
		cfg.desc_packed = (struct vhf_vring_packed_desc *)vring.desc_packed;
		cfg.driver_event = (struct vhf_vring_packed_event *)vring.driver_event;
		cfg.device_event = (struct vhf_vring_packed_event *)vring.device_event;
	} else {
		cfg.desc = (struct vhf_vring_desc *)vring.desc;
		cfg.avail = (struct vhf_vring_avail *)vring.avail;
		cfg.used = (struct vhf_vring_used *)vring.used;
	}
	if (rte_vhost_get_vring_base(port->vid, q->vring, &cfg.last_avail, &cfg.last_used) != 0) {
		VHF_LOG(ERR, "%s: vring %u: no ring base", port->args.iface, q->vring);
		return -EINVAL;
	}
	cfg.mem = &port->mem;
	/*
	 * Migrating: the front-end switches LOG_ALL with SET_FEATURES, a message
	 * that detaches every queue first (vhf_msg_disrupts()), so each burst runs
	 * wholly with or wholly without logging.
	 */
	if (f & VHF_FEATURE(VHF_VHOST_F_LOG_ALL)) {
		cfg.log = vhf_pmd_log_write;
		cfg.log_ctx = port;
	}
	ret = vhf_vq_init(&q->vq, &cfg);
	if (ret != 0) {
		VHF_LOG(ERR, "%s: vring %u: rejected (size %u, %s, base %u/%u)", port->args.iface,
			q->vring, cfg.size, cfg.packed ? "packed" : "split", cfg.last_avail,
			cfg.last_used);
		return ret;
	}
	q->callfd = vring.callfd;
	q->kickfd = vring.kickfd;
	q->features = f;
	q->broken_logged = false;
	vhf_start_gate_arm(q);
	/* Publishes the vq and fds above to the lcore's acquire in vhf_queue_enter(). */
	vhf_guard_open(&q->guard);
	/* After attached: a sleeper woken by this finds the queue usable. */
	vhf_wait_attach(q);
	VHF_LOG(DEBUG, "%s: vring %u attached (size %u, %s, base %u/%u)", port->args.iface,
		q->vring, cfg.size, cfg.packed ? "packed" : "split", cfg.last_avail, cfg.last_used);
	return 0;
}

static void
vhf_port_attach_all(struct vhf_port *port)
{
	uint64_t features;
	uint16_t i;

	if (vhf_port_load_mem(port) != 0)
		return; /* queues stay detached: no traffic rather than a wild pointer */
	/* The one change the library lets a running guest make is LOG_ALL: migration. */
	if (rte_vhost_get_negotiated_features(port->vid, &features) == 0 &&
	    features != port->features) {
		VHF_LOG(INFO, "%s: dirty logging %s (features 0x%" PRIx64 ")", port->args.iface,
			(features & VHF_FEATURE(VHF_VHOST_F_LOG_ALL)) ? "on: migrating" : "off",
			features);
		port->features = features;
	}
	for (i = 0; i < port->args.queues; i++) {
		vhf_queue_attach(port, &port->rxq[i]);
		vhf_queue_attach(port, &port->txq[i]);
	}
}

static void
vhf_port_set_link(struct vhf_port *port, bool up)
{
	struct rte_eth_dev *dev = port->eth_dev;
	struct rte_eth_link link = {
		.link_speed = RTE_ETH_SPEED_NUM_10G,
		.link_duplex = RTE_ETH_LINK_FULL_DUPLEX,
		.link_autoneg = RTE_ETH_LINK_FIXED,
		.link_status = up ? RTE_ETH_LINK_UP : RTE_ETH_LINK_DOWN,
	};

	rte_eth_linkstatus_set(dev, &link);
	rte_eth_dev_callback_process(dev, RTE_ETH_EVENT_INTR_LSC, NULL);
}

static int
vhf_new_device(int vid)
{
	struct vhf_port *port = vhf_port_lock_by_vid(vid);
	uint16_t i;

	if (port == NULL)
		return -1;
	port->vid = vid;
	if (rte_vhost_get_negotiated_features(vid, &port->features) != 0) {
		pthread_mutex_unlock(&port->lock);
		VHF_LOG(ERR, "%s: no negotiated features", port->args.iface);
		return -1;
	}
	port->running = true;
	/* A new device life: its fresh guest RX rings wait for their first kick again. */
	for (i = 0; i < port->args.queues; i++)
		vhf_start_gate_reset(&port->txq[i]);
	vhf_port_attach_all(port);
	pthread_mutex_unlock(&port->lock);
	VHF_LOG(INFO, "%s: guest up (port %u, features 0x%" PRIx64 ", %s ring)", port->args.iface,
		port->port_id, port->features,
		(port->features & VHF_FEATURE(VHF_F_RING_PACKED)) ? "packed" : "split");
	vhf_port_set_link(port, true);
	return 0;
}

static void
vhf_destroy_device(int vid)
{
	struct vhf_port *port = vhf_port_lock_by_vid(vid);

	if (port == NULL)
		return;
	/* Before returning: the library unmaps guest memory right after this. */
	vhf_port_detach_all(port);
	port->running = false;
	pthread_mutex_unlock(&port->lock);
	VHF_LOG(INFO, "%s: guest down (port %u)", port->args.iface, port->port_id);
	vhf_port_set_link(port, false);
}

static int
vhf_vring_state_changed(int vid, uint16_t vring, int enable)
{
	struct vhf_port *port;
	struct vhf_pmd_queue *q;

	if (vring >= 2 * VHF_PMD_MAX_QUEUES)
		return 0;
	port = vhf_port_lock_by_vid(vid);
	if (port == NULL)
		return 0;
	port->vring_enabled[vring] = enable != 0;
	q = vhf_queue_of_vring(port, vring);
	if (q != NULL && port->running) {
		if (enable)
			vhf_queue_attach(port, q);
		else
			vhf_queue_detach(port, q);
	}
	pthread_mutex_unlock(&port->lock);
	VHF_LOG(DEBUG, "%s: vring %u %s", port->args.iface, vring,
		enable ? "enabled" : "disabled");
	return 0;
}

/*
 * librte_vhost changes rings, fds and memory while handling these messages and
 * tells the application afterwards, if at all (a new memory table, for one, is
 * only announced to async-copy users). So every such message that arrives
 * while a guest is running detaches our queues first, and the post hook
 * attaches them again from the library's new state.
 */
static bool
vhf_msg_disrupts(uint32_t request)
{
	switch (request) {
	case VHF_VU_SET_FEATURES:
	case VHF_VU_RESET_OWNER:
	case VHF_VU_SET_MEM_TABLE:
	/* The library unmaps the old log, which our bursts write through rte_vhost_log_write(). */
	case VHF_VU_SET_LOG_BASE:
	case VHF_VU_SET_LOG_FD:
	case VHF_VU_SET_VRING_NUM:
	case VHF_VU_SET_VRING_ADDR:
	case VHF_VU_SET_VRING_BASE:
	case VHF_VU_GET_VRING_BASE:
	case VHF_VU_SET_VRING_KICK:
	case VHF_VU_SET_VRING_CALL:
	case VHF_VU_SET_VRING_ENABLE:
	case VHF_VU_IOTLB_MSG:
		return true;
	default:
		return false;
	}
}

/*
 * VHOST_USER_SEND_RARP: announce the guest at its new location. QEMU sends it
 * after a live migration, and on announce_self, for a guest that did not
 * negotiate VIRTIO_NET_F_GUEST_ANNOUNCE (one that did announces itself).
 * librte_vhost keeps the MAC for its own dequeue path, which we do not use: we
 * hand it to whichever lcore polls rx queue 0, through the one word that
 * rx_burst already checks, and that lcore delivers the RARP as a frame from the
 * guest. Nothing here touches a ring. Runs with nothing locked. A front-end
 * that asks although the guest negotiated GUEST_ANNOUNCE gets its RARP too,
 * as from DPDK's vhost: one more frame that teaches the switch the same port.
 */
static void
vhf_send_rarp(int vid, const struct vhf_vu_msg *m)
{
	struct rte_ether_addr mac;
	char mac_str[RTE_ETHER_ADDR_FMT_SIZE];
	struct vhf_port *port;
	uint64_t pf = 0, req = VHF_ANNOUNCE_PENDING;
	unsigned int i;

	port = vhf_port_lock_by_vid(vid);
	if (port == NULL)
		return;
	/* The front-end's word is not enough: the protocol feature must have been agreed. */
	if (rte_vhost_get_negotiated_protocol_features(vid, &pf) != 0 ||
	    !(pf & VHF_FEATURE(VHOST_USER_PROTOCOL_F_RARP))) {
		pthread_mutex_unlock(&port->lock);
		VHF_LOG(WARNING, "%s: SEND_RARP without the RARP protocol feature: ignored",
			port->args.iface);
		return;
	}
	/* Read only what the front-end sent: the rest of the buffer is stale. */
	if (m->size != sizeof(m->u64)) {
		pthread_mutex_unlock(&port->lock);
		VHF_LOG(ERR, "%s: SEND_RARP of %u bytes (8 expected): ignored", port->args.iface,
			m->size);
		return;
	}
	memcpy(mac.addr_bytes, m->u64, RTE_ETHER_ADDR_LEN);
	rte_ether_format_addr(mac_str, sizeof(mac_str), &mac);
	/* A multicast or zero source would teach a switch nothing, or something wrong. */
	if (!rte_is_valid_assigned_ether_addr(&mac)) {
		pthread_mutex_unlock(&port->lock);
		VHF_LOG(ERR, "%s: SEND_RARP for MAC %s, not a unicast address: ignored",
			port->args.iface, mac_str);
		return;
	}
	for (i = 0; i < RTE_ETHER_ADDR_LEN; i++)
		req |= (uint64_t)mac.addr_bytes[i] << (8 * i);
	/*
	 * Relaxed: the word carries the MAC itself, and rx_burst reads nothing else
	 * on its strength. A request not yet delivered is replaced: one frame, the
	 * latest MAC.
	 */
	__atomic_store_n(&port->rxq[0].announce, req, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&port->lock);
	VHF_LOG(INFO, "%s: front-end asks to announce the guest: RARP for %s, port %u rx queue 0",
		port->args.iface, mac_str, port->port_id);
}

static enum rte_vhost_msg_result
vhf_pre_msg(int vid, void *msg)
{
	const struct vhf_vu_msg *m = msg;
	struct vhf_port *port;

	/* librte_vhost then records the MAC for itself too, and answers a reply-ack. */
	if (m->request == VHF_VU_SEND_RARP) {
		vhf_send_rarp(vid, m);
		return RTE_VHOST_MSG_RESULT_NOT_HANDLED;
	}
	if (!vhf_msg_disrupts(m->request))
		return RTE_VHOST_MSG_RESULT_NOT_HANDLED;
	port = vhf_port_lock_by_vid(vid);
	if (port == NULL)
		return RTE_VHOST_MSG_RESULT_NOT_HANDLED;
	/* A disable must not be undone by the reattach below, before the library reports it. */
	if (m->request == VHF_VU_SET_VRING_ENABLE && m->state.num == 0 &&
	    m->state.index < 2 * VHF_PMD_MAX_QUEUES)
		port->vring_enabled[m->state.index] = false;
	if (port->running) {
		vhf_port_detach_all(port);
		port->reattach = true;
	}
	pthread_mutex_unlock(&port->lock);
	return RTE_VHOST_MSG_RESULT_NOT_HANDLED;
}

static enum rte_vhost_msg_result
vhf_post_msg(int vid, void *msg __rte_unused)
{
	struct vhf_port *port = vhf_port_lock_by_vid(vid);

	if (port == NULL)
		return RTE_VHOST_MSG_RESULT_NOT_HANDLED;
	if (port->reattach) {
		port->reattach = false;
		/* GET_VRING_BASE and RESET_OWNER stop the device: running is false then. */
		if (port->running)
			vhf_port_attach_all(port);
	}
	pthread_mutex_unlock(&port->lock);
	return RTE_VHOST_MSG_RESULT_NOT_HANDLED;
}

static const struct rte_vhost_user_extern_ops vhf_extern_ops = {
	.pre_msg_handle = vhf_pre_msg,
	.post_msg_handle = vhf_post_msg,
};

static int
vhf_new_connection(int vid)
{
	struct vhf_port *port = vhf_port_by_vid(vid);

	if (port == NULL)
		return -1;
	/* Per connection: the hooks guard every message of this guest from the first one. */
	if (rte_vhost_extern_callback_register(vid, &vhf_extern_ops, port) != 0) {
		VHF_LOG(ERR, "%s: cannot hook vhost-user messages", port->args.iface);
		return -1;
	}
	pthread_mutex_lock(&port->lock);
	port->vid = vid;
	memset(port->vring_enabled, 0, sizeof(port->vring_enabled));
	pthread_mutex_unlock(&port->lock);
	VHF_LOG(INFO, "%s: guest connected", port->args.iface);
	return 0;
}

static void
vhf_destroy_connection(int vid)
{
	struct vhf_port *port = vhf_port_lock_by_vid(vid);

	if (port == NULL)
		return;
	port->vid = -1;
	pthread_mutex_unlock(&port->lock);
	VHF_LOG(INFO, "%s: guest disconnected", port->args.iface);
}

static const struct rte_vhost_device_ops vhf_vhost_ops = {
	.new_device = vhf_new_device,
	.destroy_device = vhf_destroy_device,
	.vring_state_changed = vhf_vring_state_changed,
	.new_connection = vhf_new_connection,
	.destroy_connection = vhf_destroy_connection,
};

/* The virtio features we offer, from the devargs. */
static uint64_t
vhf_port_features(const struct vhf_port *port)
{
	uint64_t f = VHF_FEATURE(VHF_F_VERSION_1) | VHF_FEATURE(VHF_VHOST_USER_F_PROTOCOL_FEATURES);

	if (port->args.mrg_rxbuf)
		f |= VHF_FEATURE(VHF_F_NET_MRG_RXBUF);
	if (port->args.event_idx)
		f |= VHF_FEATURE(VHF_F_RING_EVENT_IDX);
	/*
	 * lib/ consumes guest buffers strictly in ring order and publishes their
	 * used entries in that same order, which is all VIRTIO_F_IN_ORDER asks of
	 * a device; it lets drivers use their in-order paths (DPDK's virtio: about
	 * twice the 64-byte rate both ways, usertools/vhf-bench.py), and lib/ then
	 * publishes a packed TX burst as one used descriptor (vhf_vq_config).
	 */
	if (port->args.in_order)
		f |= VHF_FEATURE(VHF_F_IN_ORDER);
	/*
	 * Indirect descriptors with both layouts. (Frames once lost towards the
	 * guest with packed + indirect were lost to the guest's own start, not to
	 * indirect: see the start gate in vhf_pmd_wait.c. The WRITE flag DPDK
	 * leaves on packed indirect TX entries is handled in lib/.)
	 */
	f |= VHF_FEATURE(VHF_F_RING_INDIRECT_DESC);
	if (port->args.packed)
		f |= VHF_FEATURE(VHF_F_RING_PACKED);
	/*
	 * Offloads, both directions at once: what the guest may leave to us
	 * (CSUM, HOST_TSO*) and what it may take from us (GUEST_*). Each is
	 * used only as far as the guest negotiates it; see vhf_pmd_rxtx.c.
	 */
	if (port->args.csum)
		f |= VHF_FEATURE(VHF_F_NET_CSUM) | VHF_FEATURE(VHF_F_NET_GUEST_CSUM);
	if (port->args.tso)
		f |= VHF_FEATURE(VHF_F_NET_HOST_TSO4) | VHF_FEATURE(VHF_F_NET_HOST_TSO6) |
		     VHF_FEATURE(VHF_F_NET_GUEST_TSO4) | VHF_FEATURE(VHF_F_NET_GUEST_TSO6);
	/* The front-end (QEMU, virtio-user) serves the control queue and steers queue pairs. */
	if (port->args.queues > 1)
		f |= VHF_FEATURE(VHF_F_NET_MQ) | VHF_FEATURE(VHF_F_NET_CTRL_VQ);
	/*
	 * A guest that negotiates GUEST_ANNOUNCE announces itself after a live
	 * migration (gratuitous ARP, IPv6 neighbour advertisements, for every
	 * address and VLAN it has), which a RARP from us cannot do. The whole
	 * exchange is the front-end's: with vhost-user, QEMU keeps the control
	 * virtqueue and the config space of a virtio-net device to itself (its
	 * back-end gets the data queue pairs only), sets VIRTIO_NET_S_ANNOUNCE,
	 * raises the config interrupt and takes the guest's
	 * VIRTIO_NET_CTRL_ANNOUNCE_ACK. All it asks of the back-end is this bit
	 * (QEMU offers the guest only the GUEST_ANNOUNCE its back-end offers;
	 * virtio-user, only with its own control queue), and then it sends no
	 * SEND_RARP for that guest. Offered whatever the queue count: it changes
	 * no ring and no packet.
	 */
	f |= VHF_FEATURE(VHF_F_NET_GUEST_ANNOUNCE);
	/*
	 * Live migration: the front-end may ask for every write into guest
	 * memory to be logged (lib/'s dirty logging, vhf_pmd_log_write()).
	 */
	f |= VHF_FEATURE(VHF_VHOST_F_LOG_ALL);
	return f;
}

/*
 * The protocol features we rely on, offered explicitly (librte_vhost offers
 * both by default; a default that changes must not take them away silently):
 * RARP, for vhf_send_rarp(): without it QEMU has no way to have a migrated
 * guest announced that cannot announce itself; LOG_SHMFD, the shared log a
 * migration's dirty logging writes into (vhf_pmd_log_write()).
 */
static int
vhf_offer_protocol_features(const char *iface)
{
	const uint64_t need = VHF_FEATURE(VHOST_USER_PROTOCOL_F_RARP) |
			      VHF_FEATURE(VHOST_USER_PROTOCOL_F_LOG_SHMFD);
	uint64_t pf;

	if (rte_vhost_driver_get_protocol_features(iface, &pf) != 0)
		return -1;
	if ((pf & need) == need)
		return 0;
	return rte_vhost_driver_set_protocol_features(iface, pf | need);
}

int
vhf_ctrl_register(struct vhf_port *port)
{
	struct vhf_port_entry *e;
	uint64_t flags = port->args.client ? RTE_VHOST_USER_CLIENT : 0;
	const char *iface = port->args.iface;
	int ret;

	e = calloc(1, sizeof(*e));
	if (e == NULL)
		return -ENOMEM;
	e->port = port;
	pthread_mutex_lock(&vhf_ports_lock);
	TAILQ_INSERT_TAIL(&vhf_ports, e, next);
	pthread_mutex_unlock(&vhf_ports_lock);

	if (rte_vhost_driver_register(iface, flags) != 0) {
		VHF_LOG(ERR, "%s: cannot register the vhost-user socket", iface);
		ret = -EIO;
		goto unlist;
	}
	port->vhost_registered = true;
	/* Setting the features also switches librte_vhost's own virtio-net datapath off. */
	if (rte_vhost_driver_set_features(iface, vhf_port_features(port)) != 0 ||
	    vhf_offer_protocol_features(iface) != 0 ||
	    rte_vhost_driver_callback_register(iface, &vhf_vhost_ops) != 0) {
		VHF_LOG(ERR, "%s: cannot configure the vhost-user socket", iface);
		ret = -EIO;
		goto unregister;
	}
	if (rte_vhost_driver_start(iface) != 0) {
		VHF_LOG(ERR, "%s: cannot start the vhost-user socket (%s)", iface,
			port->args.client ? "client" : "server");
		ret = -EIO;
		goto unregister;
	}
	return 0;

unregister:
	rte_vhost_driver_unregister(iface);
	port->vhost_registered = false;
unlist:
	pthread_mutex_lock(&vhf_ports_lock);
	TAILQ_REMOVE(&vhf_ports, e, next);
	pthread_mutex_unlock(&vhf_ports_lock);
	free(e);
	return ret;
}

void
vhf_ctrl_unregister(struct vhf_port *port)
{
	struct vhf_port_entry *e;

	if (port->vhost_registered) {
		/*
		 * A connected guest is destroyed from here, through our callbacks,
		 * which must still find the port in the list: unlist it afterwards.
		 */
		if (rte_vhost_driver_unregister(port->args.iface) != 0)
			VHF_LOG(ERR, "%s: cannot unregister the vhost-user socket",
				port->args.iface);
		port->vhost_registered = false;
	}
	pthread_mutex_lock(&vhf_ports_lock);
	TAILQ_FOREACH(e, &vhf_ports, next) {
		if (e->port == port) {
			TAILQ_REMOVE(&vhf_ports, e, next);
			free(e);
			break;
		}
	}
	pthread_mutex_unlock(&vhf_ports_lock);
}
