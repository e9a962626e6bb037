/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 dpdk-vhostfix authors
 */

#ifndef RTE_PMD_VHOSTFIX_H
#define RTE_PMD_VHOSTFIX_H

/**
 * @file
 * net_vhostfix: sleeping until the guest refills its RX queue.
 *
 * rte_eth_tx_burst() on a net_vhostfix port never blocks: when the guest has
 * posted too few receive buffers it returns a short count. An application that
 * would rather sleep than poll until the guest refills uses this API:
 *
 * @code
 *	sent = rte_eth_tx_burst(port, q, pkts, n);
 *	while (sent < n) {
 *		int r = rte_pmd_vhostfix_tx_wait_arm(port, q, rte_pktmbuf_pkt_len(pkts[sent]));
 *
 *		if (r == RTE_PMD_VHOSTFIX_TX_WAIT || r == -ENOTCONN)
 *			poll(&(struct pollfd){ .fd = rte_pmd_vhostfix_tx_wait_fd(port, q),
 *					       .events = POLLIN }, 1, timeout_ms);
 *		else if (r < 0 && r != -EAGAIN)
 *			break; // -EIO: the guest broke the queue; drop or wait for a reset
 *		sent += rte_eth_tx_burst(port, q, pkts + sent, n - sent);
 *	}
 * @endcode
 *
 * The contract:
 *  - rte_pmd_vhostfix_tx_wait_arm() checks the guest's RX buffers for a packet
 *    of need_bytes; when they are short, it asks the guest for a kick naming
 *    the ring position its decision was based on, issues a full barrier, and
 *    looks again (the never-stall rule). It returns RTE_PMD_VHOSTFIX_TX_WAIT
 *    only when that second look found nothing new: the guest's next refill is
 *    then guaranteed to make the wait fd readable. Any other return value
 *    means: do not sleep.
 *  - The wait fd is owned by the PMD and stable for the port's life, across
 *    guest reconnects: add it to a poll or epoll set once. Never read or close
 *    it. It becomes readable when the guest kicks the queue, when a guest
 *    attaches, when arming found work pending, or when a fresh guest RX ring
 *    held back until the driver's first kick stops being held (the driver
 *    kicked, or, for a driver that never does, the hold's deadline of 1 s
 *    passed); the next arm consumes that.
 *    A readable fd may be spurious (an old kick): arm again after each wake-up.
 *  - Call both functions from the thread that calls rte_eth_tx_burst() on that
 *    queue, between bursts, never concurrently with a burst on the same queue.
 *  - A timeout on the sleep is only a safety net: with a live guest, a sleep
 *    after RTE_PMD_VHOSTFIX_TX_WAIT that never ends is a bug (count it as one).
 *
 * The rx direction (guest TX) uses the standard ethdev rx interrupt API:
 * rte_eth_dev_rx_intr_ctl_q() or rte_eth_dev_rx_intr_ctl_q_get_fd(), then
 * rte_eth_dev_rx_intr_enable() before each sleep, with the same never-stall
 * rule inside; when the enable finds packets already pending it makes the fd
 * readable itself, so the sleep ends at once.
 *
 * Two more calls serve an application that hands its users' vdevs to this
 * driver: rte_pmd_vhostfix_claim_net_vhost() makes it serve DPDK's vhost PMD's
 * names (net_vhost<N>) with defaults for what their devargs leave out, and
 * rte_pmd_vhostfix_iface() tells which ports are net_vhostfix's and where their
 * sockets are.
 *
 * @warning
 * @b EXPERIMENTAL: this API may change without prior notice.
 */

#include <stdint.h>

#include <rte_compat.h>

#ifdef __cplusplus
extern "C" {
#endif

/** rte_pmd_vhostfix_tx_wait_arm(): the guest has room; send, do not sleep. */
#define RTE_PMD_VHOSTFIX_TX_ROOM 0
/** rte_pmd_vhostfix_tx_wait_arm(): armed; sleep until the wait fd is readable. */
#define RTE_PMD_VHOSTFIX_TX_WAIT 1

/**
 * The fd to sleep on until the guest refills the RX queue that tx queue
 * queue_id of port_id serves (poll for POLLIN). Stable for the port's life.
 *
 * @param port_id
 *   A net_vhostfix port.
 * @param queue_id
 *   Its tx queue, below the devarg queues=.
 * @return
 *   The fd (>= 0), -ENODEV if port_id is not a net_vhostfix port, -EINVAL for
 *   a bad queue_id.
 */
__rte_experimental
int rte_pmd_vhostfix_tx_wait_fd(uint16_t port_id, uint16_t queue_id);

/**
 * Check whether the guest has posted receive buffers for need_bytes of
 * packet on tx queue queue_id, and if not, arm its kick so that sleeping on
 * rte_pmd_vhostfix_tx_wait_fd() is safe.
 *
 * @param port_id
 *   A net_vhostfix port.
 * @param queue_id
 *   Its tx queue; call from the thread that transmits on it.
 * @param need_bytes
 *   Length of the next packet to send (virtio-net header excluded).
 * @return
 *   - RTE_PMD_VHOSTFIX_TX_ROOM: there is room (or the packet can never fit and
 *     rte_eth_tx_burst() will drop it): do not sleep.
 *   - RTE_PMD_VHOSTFIX_TX_WAIT: armed; the guest's next refill makes the wait
 *     fd readable: sleeping on it cannot miss that refill. Also while a guest
 *     that just (re)started is not served yet (its ring is held until its
 *     driver's first kick, at most 1 s): the wait fd becomes readable when
 *     that ends.
 *   - -EAGAIN: the guest kept publishing while we rechecked: poll, do not sleep.
 *   - -ENOTCONN: no guest on this queue; the wait fd becomes readable when one
 *     attaches, so sleeping on it is safe.
 *   - -EIO: the guest broke the queue; nothing is delivered until it resets it.
 *   - -ENODEV, -EINVAL: as rte_pmd_vhostfix_tx_wait_fd().
 */
__rte_experimental
int rte_pmd_vhostfix_tx_wait_arm(uint16_t port_id, uint16_t queue_id, uint32_t need_bytes);

/**
 * Serve vdevs named net_vhost<N> (the name of DPDK's own vhost PMD) as well as
 * net_vhostfix<N>, and fill in what their devargs leave out: iface= becomes
 * <EAL runtime directory>/<vdev name>.sock, the other keys default_args.
 *
 * Call from main(), before rte_eal_init(): EAL gives each vdev to the first
 * registered driver whose name or alias prefixes the vdev's name. net_vhostfix
 * registers from a constructor; DPDK's net_vhost is a plugin that
 * rte_eal_init() loads afterwards, so the vdevs it probes are ours. A later
 * call replaces the defaults of the earlier one.
 *
 * @param default_args
 *   net_vhostfix devargs, "key=value[,key=value...]" ("notify=legacy"), for
 *   the keys a vdev's own devargs do not give; iface= is not one of them (each
 *   vdev has a socket of its own). NULL or "": none. Copied.
 * @return
 *   0, -EINVAL if default_args are not such devargs, -ENOMEM.
 */
__rte_experimental
int rte_pmd_vhostfix_claim_net_vhost(const char *default_args);

/**
 * The vhost-user socket of a net_vhostfix port: its iface= devarg, or the
 * default rte_pmd_vhostfix_claim_net_vhost() gave it.
 *
 * @param port_id
 *   Any ethdev port.
 * @return
 *   The socket path, valid until the port is closed; NULL if port_id is not a
 *   net_vhostfix port.
 */
__rte_experimental
const char *rte_pmd_vhostfix_iface(uint16_t port_id);

#ifdef __cplusplus
}
#endif

#endif /* RTE_PMD_VHOSTFIX_H */
