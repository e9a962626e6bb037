/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 dpdk-vhostfix authors
 */

/*
 * Sleeping without missing a kick: ethdev rx interrupts (guest TX queues) and
 * the tx-wait API of rte_pmd_vhostfix.h (guest RX queues), and that header's port
 * query, which shares the tx-wait API's test of what is a net_vhostfix port.
 * Also the start gate of guest RX queues, which waits for the driver's first kick.
 *
 * Every queue has one fd an application may sleep on for the port's whole life,
 * wait_epfd: an epoll instance holding the guest's kick eventfd of the moment
 * and wake_fd, an eventfd of ours. The guest's kickfd changes at every
 * reconnect (and at SET_VRING_KICK); wrapping it keeps the application's
 * registration (rte_eth_dev_rx_intr_ctl_q, a poll set) valid across those
 * changes. wake_fd is written
 *  - when arming finds work pending (lib's recheck says the guest published
 *    past what we saw): its kick may have been decided against our old state,
 *    so it may never come, and the sleep that follows must end at once;
 *  - when a guest attaches, so that a sleep begun with no guest ends then.
 * A third fd in the set, gate_timer_fd, expires at the start gate's deadline
 * when a sleep was armed on a closed gate (see vhf_txq_wait_arm()).
 *
 * Arming runs on the lcore that polls the queue, inside the same
 * vhf_queue_enter()/leave() handshake as a burst: the vq is the lcore's.
 */

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <ethdev_driver.h>
#include <rte_cycles.h>
#include <rte_interrupts.h>

#include "rte_pmd_vhostfix.h"
#include "vhf_pmd.h"

/* epoll data tags: which of the fds became readable. */
#define VHF_WAIT_TAG_KICK 1
#define VHF_WAIT_TAG_WAKE 2
#define VHF_WAIT_TAG_GATE 3

int
vhf_wait_init(struct vhf_pmd_queue *q)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = VHF_WAIT_TAG_WAKE };
	struct epoll_event gate_ev = { .events = EPOLLIN, .data.u64 = VHF_WAIT_TAG_GATE };

	q->wait_epfd = epoll_create1(EPOLL_CLOEXEC);
	q->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	q->gate_timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (q->wait_epfd < 0 || q->wake_fd < 0 || q->gate_timer_fd < 0 ||
	    epoll_ctl(q->wait_epfd, EPOLL_CTL_ADD, q->wake_fd, &ev) != 0 ||
	    epoll_ctl(q->wait_epfd, EPOLL_CTL_ADD, q->gate_timer_fd, &gate_ev) != 0) {
		int ret = -errno;

		vhf_wait_fini(q);
		return ret;
	}
	return 0;
}

void
vhf_wait_fini(struct vhf_pmd_queue *q)
{
	if (q->wait_epfd >= 0)
		close(q->wait_epfd);
	if (q->wake_fd >= 0)
		close(q->wake_fd);
	if (q->gate_timer_fd >= 0)
		close(q->gate_timer_fd);
	q->wait_epfd = -1;
	q->wake_fd = -1;
	q->gate_timer_fd = -1;
}

static void
vhf_wait_wake(struct vhf_pmd_queue *q)
{
	(void)eventfd_write(q->wake_fd, 1);
}

/* Control path, queue just attached: watch the new kickfd, end sleeps begun without a guest. */
void
vhf_wait_attach(struct vhf_pmd_queue *q)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = VHF_WAIT_TAG_KICK };

	if (q->wait_epfd < 0)
		return;
	if (q->kickfd >= 0 && epoll_ctl(q->wait_epfd, EPOLL_CTL_ADD, q->kickfd, &ev) != 0 &&
	    errno != EEXIST)
		VHF_LOG_T(ctrl, ERR, "%s: vring %u: cannot watch the guest's kick fd: %s",
			  q->port->args.iface, q->vring, strerror(errno));
	vhf_wait_wake(q);
}

/* Control path, queue detached (the kickfd is still open: librte_vhost closes it later). */
void
vhf_wait_detach(struct vhf_pmd_queue *q)
{
	if (q->wait_epfd >= 0 && q->kickfd >= 0)
		(void)epoll_ctl(q->wait_epfd, EPOLL_CTL_DEL, q->kickfd, NULL);
}

/*
 * Consume what made wait_epfd readable, before arming: a kick or wake-up that
 * arrives after this is a new one and ends the coming sleep. wake_fd first,
 * outside the queue; the guest's kickfd only while the queue is entered, when
 * the control path cannot close it under us (and only if readable: the guest
 * may have made it blocking).
 */
static bool
vhf_wait_drain_wake(struct vhf_pmd_queue *q)
{
	eventfd_t v = 0;
	uint64_t expirations = 0;
	bool woken;

	/* Non-blocking: EAGAIN when already clear. */
	woken = eventfd_read(q->wake_fd, &v) == 0 && v != 0;
	/* The gate's timer, if set, and expired (it never repeats): EAGAIN if not yet. */
	if (q->gate_timer_set &&
	    read(q->gate_timer_fd, &expirations, sizeof(expirations)) == sizeof(expirations) &&
	    expirations != 0) {
		q->gate_timer_set = false;
		woken = true;
	}
	return woken;
}

static void vhf_start_gate_pass(struct vhf_pmd_queue *q, enum vhf_pmd_counter how);

/*
 * With the queue entered. The eventfd's value is the number of kicks the
 * guest sent since the last drain: that is what guest_kicks counts (a queue
 * that is only ever polled is never drained, and its kicks are not counted;
 * the guest sends few then anyway, notifications being disabled while we poll).
 * A drain that finds anything after an arm that said "sleep" ends that sleep:
 * it counts as a wake-up (whether the application slept or not, the arm's
 * promise was kept).
 */
static void
vhf_wait_drain_kick(struct vhf_pmd_queue *q, bool woken)
{
	struct pollfd pfd = { .fd = q->kickfd, .events = POLLIN };
	eventfd_t v = 0;

	if (q->kickfd >= 0 && poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN) &&
	    eventfd_read(q->kickfd, &v) == 0 && v != 0) {
		q->pmd_cnt[VHF_PMD_CNT_guest_kicks] += v;
		woken = true;
		/* The kick the start gate waits for: consumed here, so it opens here. */
		if (q->start_gate.closed)
			vhf_start_gate_pass(q, VHF_PMD_CNT_start_gate_kick);
	}
	if (q->armed && woken)
		vhf_pmd_count(q, VHF_PMD_CNT_wakeups);
	q->armed = false;
}

/* ---------------------------------------------------------------------------------------- */
/* The start gate of guest RX queues                                                        */

/*
 * DPDK's virtio driver posts its receive buffers in rte_eth_dev_start(), then,
 * still inside it, frees whatever the device has already used ("flush the old
 * packets", meant for a restart), and only then kicks the queue. Frames we
 * deliver in between are lost to the guest application, up to a whole ring.
 * So a ring that nothing was ever delivered to is left alone until the driver
 * kicks it once: drivers kick after their first refill, with notifications
 * enabled on a fresh ring (DPDK's virtio at the end of virtio_dev_start(),
 * Linux's virtio-net after filling in open). A driver that does not (DPDK's
 * virtio-user refills without a kick on a packed-ring reconnect) waits
 * VHF_START_GATE_MS at most, then is served as before. Once per device life:
 * a reattach after the gate opened does not close it again, as the kick it
 * waits for was consumed.
 *
 * The control path resets it at new_device and arms it at every attach; the
 * lcore opens it, in vhf_wait_drain_kick() when it drains the kick, or in
 * vhf_start_gate_open() at the deadline.
 */

/* Longest a fresh guest RX queue waits for the driver's first kick. */
#define VHF_START_GATE_MS 1000

/* Control path, new_device: a new device life, whose fresh ring waits for a first kick again. */
void
vhf_start_gate_reset(struct vhf_pmd_queue *q)
{
	q->start_gate.opened = false;
}

/* Control path, queue detached, just before it is attached: close the gate on a fresh ring. */
void
vhf_start_gate_arm(struct vhf_pmd_queue *q)
{
	struct vhf_start_gate *gate = &q->start_gate;
	uint16_t last_avail, last_used, fresh = 0;

	gate->closed = false;
	if (q->from_guest || gate->opened || q->kickfd < 0)
		return;
	vhf_vq_get_base(&q->vq, &last_avail, &last_used);
	/* Packed rings start with both wrap counters at 1. */
	if (q->vq.packed)
		fresh = (uint16_t)(1u << VHF_EVENT_WRAP_SHIFT);
	if (last_avail != fresh || last_used != fresh) {
		gate->opened = true; /* a ring in use: the driver is running */
		return;
	}
	gate->closed = true;
	gate->deadline_ns = vhf_monotonic_ns() + (uint64_t)VHF_START_GATE_MS * 1000000;
}

/* Lcore: open the gate for the rest of the device life, counting how (kick or timeout). */
static void
vhf_start_gate_pass(struct vhf_pmd_queue *q, enum vhf_pmd_counter how)
{
	static const struct itimerspec disarm;

	q->start_gate.closed = false;
	q->start_gate.opened = true;
	vhf_pmd_count(q, how);
	/* Opened by a kick: a sleep armed on the gate has nothing left to wait for. */
	if (q->gate_timer_set && timerfd_settime(q->gate_timer_fd, 0, &disarm, NULL) == 0)
		q->gate_timer_set = false;
}

/*
 * With the queue entered and the gate closed (vhf_start_gate_holds()): has
 * the driver kicked this fresh guest RX ring yet, or has it waited long
 * enough? Only during a guest's start, so the system call per burst does not
 * matter.
 * @return true once the gate is open: deliver.
 */
bool
vhf_start_gate_open(struct vhf_pmd_queue *q)
{
	vhf_wait_drain_kick(q, false);
	if (!q->start_gate.closed)
		return true;
	if (vhf_monotonic_ns() < q->start_gate.deadline_ns)
		return false;
	vhf_start_gate_pass(q, VHF_PMD_CNT_start_gate_timeout);
	return true;
}

/*
 * Lcore, queue entered, gate closed (its deadline ahead: vhf_start_gate_holds()
 * opens it otherwise): a sleep is about to begin on the wait fd. Its end is
 * certain already if the driver kicks (its kickfd is in the set); the timer
 * makes it certain for a driver that never does, at the deadline, when the
 * next tx_burst opens the gate itself.
 * @return 0, or -errno if the timer could not be set (then poll instead).
 */
static int
vhf_start_gate_timer_set(struct vhf_pmd_queue *q)
{
	/*
	 * Absolute, on the clock vhf_start_gate_open() reads: once the timer has
	 * expired, the next burst finds the deadline passed, never a few
	 * microseconds ahead (as a deadline converted between clocks may be).
	 */
	struct itimerspec when = { .it_value = {
		.tv_sec = (time_t)(q->start_gate.deadline_ns / 1000000000ull),
		.tv_nsec = (long)(q->start_gate.deadline_ns % 1000000000ull) } };

	if (timerfd_settime(q->gate_timer_fd, TFD_TIMER_ABSTIME, &when, NULL) != 0)
		return -errno;
	q->gate_timer_set = true;
	return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* ethdev rx interrupts                                                                     */

int
vhf_intr_setup(struct vhf_port *port)
{
	struct rte_intr_handle *h;
	uint16_t i;

	h = rte_intr_instance_alloc(RTE_INTR_INSTANCE_F_PRIVATE);
	if (h == NULL)
		return -ENOMEM;
	/*
	 * VDEV with a counter size of 0: EAL's epoll callback reads nothing from
	 * our epoll fds; rx_queue_intr_enable drains what woke the sleeper.
	 */
	if (rte_intr_type_set(h, RTE_INTR_HANDLE_VDEV) != 0 ||
	    rte_intr_efd_counter_size_set(h, 0) != 0 ||
	    rte_intr_nb_efd_set(h, port->args.queues) != 0 ||
	    rte_intr_max_intr_set(h, port->args.queues + 1) != 0 ||
	    rte_intr_vec_list_alloc(h, "vhf_intr_vec", port->args.queues) != 0)
		goto fail;
	for (i = 0; i < port->args.queues; i++) {
		if (rte_intr_efds_index_set(h, i, port->rxq[i].wait_epfd) != 0 ||
		    rte_intr_vec_list_index_set(h, i, RTE_INTR_VEC_RXTX_OFFSET + i) != 0)
			goto fail;
	}
	port->intr_handle = h;
	port->eth_dev->intr_handle = h;
	return 0;
fail:
	rte_intr_vec_list_free(h);
	rte_intr_instance_free(h);
	return -ENOMEM;
}

void
vhf_intr_free(struct vhf_port *port)
{
	if (port->intr_handle == NULL)
		return;
	rte_intr_vec_list_free(port->intr_handle);
	rte_intr_instance_free(port->intr_handle);
	port->intr_handle = NULL;
	port->eth_dev->intr_handle = NULL;
}

/*
 * Enter q to arm or disarm the sleep on it, having consumed what woke the last
 * one (wake_fd, then the guest's kick, see vhf_wait_drain_kick()).
 * @return false if no guest is attached: nothing to arm then.
 */
static bool
vhf_wait_enter(struct vhf_pmd_queue *q)
{
	bool woken = vhf_wait_drain_wake(q);

	if (!vhf_queue_enter(q))
		return false;
	vhf_wait_drain_kick(q, woken);
	return true;
}

/*
 * Arm (enable) or disarm (disable) the guest TX kick of rx queue qid.
 *
 * Arm: the application is about to sleep on the queue's interrupt. If lib's
 * recheck finds packets the guest published meanwhile, wake_fd is written, so
 * that the sleep ends at once: the standard API has no way to say "do not
 * sleep", and an application that sleeps anyway must not miss them.
 *
 * Disarm: polling again, guest kicks would only cost it system calls. What
 * woke the sleep is consumed (and counted) either way; the next arm rechecks
 * the ring whatever the fds say.
 */
static int
vhf_rx_queue_intr_set(struct rte_eth_dev *dev, uint16_t qid, bool arm)
{
	struct vhf_port *port = dev->data->dev_private;
	struct vhf_pmd_queue *q;

	if (qid >= port->args.queues)
		return -EINVAL;
	q = &port->rxq[qid];
	if (!vhf_wait_enter(q))
		return 0; /* no guest: its attach writes wake_fd */
	if (!arm)
		vhf_vq_disable_notify(&q->vq);
	else if (vhf_vq_arm_kick(&q->vq))
		q->armed = true;
	else
		vhf_wait_wake(q);
	vhf_queue_leave(q);
	return 0;
}

int
vhf_rx_queue_intr_enable(struct rte_eth_dev *dev, uint16_t qid)
{
	return vhf_rx_queue_intr_set(dev, qid, true);
}

int
vhf_rx_queue_intr_disable(struct rte_eth_dev *dev, uint16_t qid)
{
	return vhf_rx_queue_intr_set(dev, qid, false);
}

/* ---------------------------------------------------------------------------------------- */
/* rte_pmd_vhostfix.h                                                                       */

/* The net_vhostfix port port_id, or NULL. */
static struct vhf_port *
vhf_api_port(uint16_t port_id)
{
	struct rte_eth_dev *dev;

	if (!rte_eth_dev_is_valid_port(port_id))
		return NULL;
	dev = &rte_eth_devices[port_id];
	/* Ours if it has our ops: other PMDs' dev_private is nothing we can read. */
	if (dev->dev_ops == NULL ||
	    dev->dev_ops->rx_queue_intr_enable != vhf_rx_queue_intr_enable)
		return NULL;
	return dev->data->dev_private;
}

const char *
rte_pmd_vhostfix_iface(uint16_t port_id)
{
	const struct vhf_port *port = vhf_api_port(port_id);

	return port != NULL ? port->args.iface : NULL;
}

static struct vhf_pmd_queue *
vhf_api_txq(uint16_t port_id, uint16_t queue_id, int *err)
{
	struct vhf_port *port = vhf_api_port(port_id);

	if (port == NULL) {
		*err = -ENODEV;
		return NULL;
	}
	if (queue_id >= port->args.queues) {
		*err = -EINVAL;
		return NULL;
	}
	return &port->txq[queue_id];
}

int
rte_pmd_vhostfix_tx_wait_fd(uint16_t port_id, uint16_t queue_id)
{
	int err = 0;
	struct vhf_pmd_queue *q = vhf_api_txq(port_id, queue_id, &err);

	return q == NULL ? err : q->wait_epfd;
}

int
rte_pmd_vhostfix_tx_wait_arm(uint16_t port_id, uint16_t queue_id, uint32_t need_bytes)
{
	int err = 0;
	struct vhf_pmd_queue *q = vhf_api_txq(port_id, queue_id, &err);

	return q == NULL ? err : vhf_txq_wait_arm(q, need_bytes);
}

/* rte_pmd_vhostfix_tx_wait_arm() on the tx queue q (the harness tests call it directly). */
int
vhf_txq_wait_arm(struct vhf_pmd_queue *q, uint32_t need_bytes)
{
	enum vhf_to_guest_status st;
	int err;

	if (!vhf_wait_enter(q))
		return -ENOTCONN; /* the fd becomes readable when a guest attaches */
	if (vhf_start_gate_holds(q)) {
		/*
		 * Nothing is delivered until the gate opens, on the driver's kick or
		 * at the deadline: both make the wait fd readable (the timer for
		 * the deadline), so a sleep until then cannot miss the opening. A
		 * "poll" here would have the application spin until the deadline.
		 */
		err = vhf_start_gate_timer_set(q);
		q->armed = err == 0;
		/* An arm that says "sleep", as the ring's own (kick_waits counts those). */
		if (err == 0)
			vhf_vq_count(&q->vq, VHF_VQ_CNT_kick_waits);
		vhf_queue_leave(q);
		return err == 0 ? RTE_PMD_VHOSTFIX_TX_WAIT : -EAGAIN;
	}
	st = vhf_net_to_guest_has_room(&q->vq, need_bytes);
	q->armed = st == VHF_TO_GUEST_WAIT_KICK;
	vhf_queue_leave(q);
	switch (st) {
	case VHF_TO_GUEST_DONE:
		return RTE_PMD_VHOSTFIX_TX_ROOM;
	case VHF_TO_GUEST_WAIT_KICK:
		return RTE_PMD_VHOSTFIX_TX_WAIT;
	case VHF_TO_GUEST_RETRY:
		return -EAGAIN;
	case VHF_TO_GUEST_BROKEN:
	default:
		return -EIO;
	}
}
