/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 dpdk-vhostfix authors
 */

/*
 * The worker lcores: run-to-completion forwarding over the lcore's streams,
 * and in sleep mode, sleeping without missing a wake-up.
 *
 * Sleeping is safe only if every event that could give us work after we last
 * looked is certain to end the sleep. For each stream:
 *  - backlog not empty, destination a guest (net_vhostfix): the tx-wait API
 *    arms the guest's RX kick naming the ring position our "no room" was
 *    decided on, fences and rechecks; it says sleep only when the guest's next
 *    refill is certain to make the wait fd readable;
 *  - source queue open (the backlog has room, and the stream is not waiting for
 *    its guest to make room: QEMU's backpressure, which stops reading the tap
 *    while the guest has no buffers; the guest's refill wakes us, and reading
 *    more meanwhile would only fill the backlog): its rx interrupt, enabled; for
 *    a guest (net_vhostfix) the enable itself rechecks and makes the fd
 *    readable if the guest transmitted meanwhile; for a NIC we poll once more
 *    after enabling, so a packet that arrived before the enable is seen;
 *  - anything that cannot wake us (a NIC without rx interrupts, a NIC whose
 *    tx ring is full) shortens the sleep to --poll-ms.
 * The fds are edge-triggered in the lcore's epoll set: an event that happens
 * between arming and epoll_wait() is still reported to it. The exception is a
 * NIC whose interrupt fd is its data fd (net_tap): level-triggered, because
 * its PMD may not deliver a packet at the moment the fd says it is there (see
 * ports.c), and a spent edge would then leave the packet waiting for the next.
 */

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_epoll.h>
#include <rte_ethdev.h>
#include <rte_interrupts.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include "app.h"
#include "rte_pmd_vhostfix.h"

/* ---------------------------------------------------------------------------------------- */
/* backlog                                                                                  */

/* The lcore this thread runs (set once in app_lcore_main()). */
static __thread struct app_lcore *app_self;

/*
 * Before a tx_burst with packets: if the lcore just woke on an event, count
 * how long it took to get here. One thread-local load when not.
 */
static inline void
app_wake_latency_note(void)
{
	struct app_lcore *lc = app_self;
	uint64_t us;
	unsigned int k;

	if (likely(lc == NULL || lc->woke_tsc == 0))
		return;
	us = (rte_get_timer_cycles() - lc->woke_tsc) / (rte_get_timer_hz() / 1000000);
	lc->woke_tsc = 0;
	k = app_wake_lat_bucket(us);
	APP_STAT_ADD(lc->st.wake_lat[k], 1);
}

static inline void
app_backlog_push(struct app_stream *s, struct rte_mbuf **pkts, uint16_t n)
{
	uint16_t i;

	for (i = 0; i < n; i++)
		s->backlog[(s->head + s->count + i) & s->mask] = pkts[i];
	s->count += n;
}

/* Send from the backlog, oldest first; returns what the destination took. */
static inline uint32_t
app_backlog_flush(struct app_stream *s)
{
	uint32_t total = 0;

	while (s->count > 0) {
		/* One contiguous run of the ring per burst. */
		uint16_t chunk = (uint16_t)RTE_MIN(RTE_MIN(s->count, s->cap - s->head),
						   (uint32_t)APP_BURST);
		uint16_t sent;

		app_wake_latency_note();
		/* ethdev tx: on a net_vhostfix port, the guest's RX virtqueue. */
		sent = rte_eth_tx_burst(s->tx_port, s->tx_queue, &s->backlog[s->head], chunk);

		s->head = (s->head + sent) & s->mask;
		s->count -= sent;
		total += sent;
		if (sent < chunk)
			break;
	}
	return total;
}

static void
app_backlog_drop(struct app_stream *s, uint64_t *counter)
{
	uint32_t n = s->count;

	while (s->count > 0) {
		rte_pktmbuf_free(s->backlog[s->head]);
		s->head = (s->head + 1) & s->mask;
		s->count--;
	}
	APP_STAT_ADD(*counter, n);
}

/* At exit, after the lcores stopped: one last chance for the backlog, then count the rest. */
void
app_stream_drain(struct app_stream *s)
{
	APP_STAT_ADD(s->st.tx, app_backlog_flush(s));
	app_backlog_drop(s, &s->st.drop_shutdown);
	__atomic_store_n(&s->st.backlog, 0, __ATOMIC_RELAXED);
}

/* ---------------------------------------------------------------------------------------- */
/* forwarding                                                                               */

/* Drop (and count) what the destination NIC would never send; returns what is left. */
static inline uint16_t
app_drop_too_big(struct app_stream *s, struct rte_mbuf **pkts, uint16_t n)
{
	uint16_t i, kept = 0;

	for (i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];

		/* A TSO packet is cut to the MTU by the NIC. */
		if (unlikely(m->pkt_len > s->dst_max_frame &&
			     !(m->ol_flags & RTE_MBUF_F_TX_TCP_SEG))) {
			rte_pktmbuf_free(m);
			continue;
		}
		pkts[kept++] = m;
	}
	if (kept != n)
		APP_STAT_ADD(s->st.drop_too_big, n - kept);
	return kept;
}

/* One pass over a stream; returns packets moved (taken from the source or sent). */
static inline uint32_t
app_stream_step(struct app_stream *s)
{
	struct rte_mbuf *pkts[APP_BURST];
	uint32_t moved = 0, room;
	uint16_t nb_rx, sent = 0, max_rx = APP_BURST;

	if (s->count > 0 && !s->guest_blocked) {
		uint32_t n = app_backlog_flush(s);

		moved += n;
		APP_STAT_ADD(s->st.tx, n);
	}
	room = s->cap - s->count;
	if (app_opts.full_policy == APP_FULL_PAUSE) {
		/* Full: leave the packets in the source's ring, as QEMU stops reading its tap. */
		if (room == 0) {
			if (!s->paused) {
				s->paused = true;
				APP_STAT_ADD(s->st.paused, 1);
			}
			goto out;
		}
		s->paused = false;
		max_rx = (uint16_t)RTE_MIN(room, (uint32_t)APP_BURST);
	}
	/* ethdev rx: on a net_vhostfix port, the guest's TX virtqueue. */
	nb_rx = rte_eth_rx_burst(s->rx_port, s->rx_queue, pkts, max_rx);
	if (nb_rx == 0)
		goto out;
	moved += nb_rx;
	APP_STAT_ADD(s->st.rx, nb_rx);
	if (s->dst_max_frame != 0) {
		nb_rx = app_drop_too_big(s, pkts, nb_rx);
		if (nb_rx == 0)
			goto out;
	}
	/* Nothing older waiting: straight out. Otherwise behind the backlog, in order. */
	if (s->count == 0) {
		app_wake_latency_note();
		/* ethdev tx: on a net_vhostfix port, the guest's RX virtqueue. */
		sent = rte_eth_tx_burst(s->tx_port, s->tx_queue, pkts, nb_rx);
		APP_STAT_ADD(s->st.tx, sent);
	}
	if (sent < nb_rx) {
		uint16_t rest = nb_rx - sent;
		uint16_t fit = (uint16_t)RTE_MIN((uint32_t)rest, s->cap - s->count);

		app_backlog_push(s, &pkts[sent], fit);
		if (fit < rest) {
			/* APP_FULL_DROP only: pause mode took no more than there was room for. */
			rte_pktmbuf_free_bulk(&pkts[sent + fit], rest - fit);
			APP_STAT_ADD(s->st.drop_backlog_full, rest - fit);
		}
	}
out:
	if (s->count != s->st.backlog) {
		__atomic_store_n(&s->st.backlog, s->count, __ATOMIC_RELAXED);
		if (s->count > s->st.backlog_max)
			APP_STAT_ADD(s->st.backlog_max, s->count - s->st.backlog_max);
	}
	return moved;
}

/*
 * One pass over the lcore's streams. *now is the TSC when the pass begins, and
 * when it ends on return: one TSC read per stream step, each step's cycles
 * counted busy if it moved packets, idle if it found nothing. An operator reads
 * the lcore's load from them (busy / (busy + idle)), and busy cycles per packet
 * are the forwarding's own cost, whatever the time spent polling empty queues:
 * what testpmd's --record-core-cycles counts for its forwarding engines.
 */
static inline uint32_t
app_lcore_pass(struct app_lcore *lc, uint64_t *now)
{
	uint64_t start = *now, t = start, busy = 0;
	uint32_t moved = 0;
	uint16_t i;

	for (i = 0; i < lc->nb_streams; i++) {
		uint32_t n = app_stream_step(lc->streams[i]);
		uint64_t t1 = rte_rdtsc();

		if (n != 0)
			busy += t1 - t;
		moved += n;
		t = t1;
	}
	if (busy != 0)
		APP_STAT_ADD(lc->st.busy_cycles, busy);
	if (t - start != busy)
		APP_STAT_ADD(lc->st.idle_cycles, t - start - busy);
	*now = t;
	return moved;
}

/* ---------------------------------------------------------------------------------------- */
/* sleeping                                                                                 */

static inline bool
app_stream_takes_rx(const struct app_stream *s)
{
	return app_opts.full_policy == APP_FULL_DROP || s->count < s->cap;
}

/*
 * Start or stop watching a stream's level-triggered source fd. The event is
 * filled on every add: rte_epoll_ctl() clears it on delete, and an fd added
 * back with no events would never wake us again.
 */
static int
app_stream_watch_src(struct app_lcore *lc, struct app_stream *s, bool watch)
{
	if (watch) {
		s->src_fd_ev.epdata.event = EPOLLIN;
		s->src_fd_ev.epdata.data = s;
	}
	return rte_epoll_ctl(lc->epfd, watch ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, s->src_fd,
			     &s->src_fd_ev);
}

/* Register every wake source of the lcore in its epoll set, once. */
static int
app_lcore_sleep_init(struct app_lcore *lc)
{
	uint16_t i;

	lc->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (lc->epfd < 0)
		return -errno;
	lc->quit_ev.epdata.event = EPOLLIN;
	if (rte_epoll_ctl(lc->epfd, EPOLL_CTL_ADD, lc->quit_fd, &lc->quit_ev) != 0)
		return -EIO;
	for (i = 0; i < lc->nb_streams; i++) {
		struct app_stream *s = lc->streams[i];

		if (s->src_has_intr && s->src_level_fd) {
			/* Added to the set only while the stream takes from it: app_lcore_arm(). */
			s->src_fd = rte_eth_dev_rx_intr_ctl_q_get_fd(s->rx_port, s->rx_queue);
			if (s->src_fd < 0)
				s->src_has_intr = false;
		} else if (s->src_has_intr &&
			   rte_eth_dev_rx_intr_ctl_q(s->rx_port, s->rx_queue, lc->epfd,
						     RTE_INTR_EVENT_ADD, s) != 0) {
			APP_LOG(WARNING, "port %u queue %u: no rx interrupt, polled every %u ms "
				"when idle", s->rx_port, s->rx_queue, app_opts.poll_ms);
			s->src_has_intr = false;
		}
		if (s->dst_is_vhostfix) {
			int fd = rte_pmd_vhostfix_tx_wait_fd(s->tx_port, s->tx_queue);

			s->txwait_ev.epdata.event = EPOLLIN | EPOLLET;
			s->txwait_ev.epdata.data = &s->txwait_ev;
			if (fd < 0 || rte_epoll_ctl(lc->epfd, EPOLL_CTL_ADD, fd, &s->txwait_ev) != 0) {
				APP_LOG(ERR, "port %u queue %u: cannot watch the guest's refills",
					s->tx_port, s->tx_queue);
				return -EIO;
			}
		}
	}
	return 0;
}

static void
app_lcore_sleep_fini(struct app_lcore *lc)
{
	uint16_t i;

	for (i = 0; i < lc->nb_streams; i++) {
		struct app_stream *s = lc->streams[i];

		if (s->src_fd_watched)
			(void)app_stream_watch_src(lc, s, false);
		else if (s->src_has_intr && !s->src_level_fd)
			(void)rte_eth_dev_rx_intr_ctl_q(s->rx_port, s->rx_queue, lc->epfd,
							RTE_INTR_EVENT_DEL, s);
		s->src_fd_watched = false;
		if (s->dst_is_vhostfix)
			(void)rte_epoll_ctl(lc->epfd, EPOLL_CTL_DEL,
					    rte_pmd_vhostfix_tx_wait_fd(s->tx_port, s->tx_queue),
					    &s->txwait_ev);
	}
	if (lc->epfd >= 0)
		close(lc->epfd);
	lc->epfd = -1;
}

static void
app_lcore_disarm(struct app_lcore *lc)
{
	uint16_t i;

	for (i = 0; i < lc->nb_streams; i++) {
		struct app_stream *s = lc->streams[i];

		s->guest_blocked = false;
		if (s->intr_armed) {
			(void)rte_eth_dev_rx_intr_disable(s->rx_port, s->rx_queue);
			s->intr_armed = false;
		}
	}
}

/*
 * Arm every wake source of the lcore. Returns false if one of them says there
 * is work already (do not sleep); *timeout_ms is -1 if every source can wake
 * us, --poll-ms otherwise.
 */
static bool
app_lcore_arm(struct app_lcore *lc, int *timeout_ms)
{
	bool poll_needed = false;
	uint16_t i;
	int r;

	for (i = 0; i < lc->nb_streams; i++) {
		struct app_stream *s = lc->streams[i];

		if (s->count > 0) {
			if (s->dst_is_vhostfix) {
				struct rte_mbuf *next = s->backlog[s->head];

				r = rte_pmd_vhostfix_tx_wait_arm(s->tx_port, s->tx_queue,
								 rte_pktmbuf_pkt_len(next));

				if (r == RTE_PMD_VHOSTFIX_TX_ROOM || r == -EAGAIN)
					return false;
				if (r == -EIO) {
					/* The guest broke this queue: nothing reaches it until it resets. */
					app_backlog_drop(s, &s->st.drop_broken);
					__atomic_store_n(&s->st.backlog, 0, __ATOMIC_RELAXED);
					return false;
				}
				/* TX_WAIT, or -ENOTCONN: the wait fd ends the sleep either way. */
				s->guest_blocked = r == RTE_PMD_VHOSTFIX_TX_WAIT;
			} else {
				poll_needed = true; /* a NIC's tx ring has no "room again" event */
			}
		}
		if (s->src_level_fd) {
			/* Watched while we take from it; while paused it would wake us for nothing. */
			bool watch = app_stream_takes_rx(s) && !s->guest_blocked;

			if (watch != s->src_fd_watched && app_stream_watch_src(lc, s, watch) == 0)
				s->src_fd_watched = watch;
			if (watch != s->src_fd_watched)
				poll_needed = true;
			continue;
		}
		if (!app_stream_takes_rx(s) || s->guest_blocked)
			continue;
		if (!s->src_has_intr) {
			poll_needed = true;
			continue;
		}
		r = rte_eth_dev_rx_intr_enable(s->rx_port, s->rx_queue);
		if (r == 0)
			s->intr_armed = true;
		else if (r != -ENOTSUP)
			poll_needed = true;
		/*
		 * -ENOTSUP: nothing to enable, the queue's fd signals every arrival by
		 * itself (net_tap's is the tap fd); the pass after arming sees what came
		 * before.
		 */
	}
	*timeout_ms = poll_needed ? (int)app_opts.poll_ms : -1;
	return true;
}

/* What ended a sleep: each event's data names its source (see app_lcore_sleep_init()). */
static void
app_lcore_count_wake_sources(struct app_lcore *lc, const struct rte_epoll_event *evs, int n)
{
	bool room = false, source = false;
	int k;
	uint16_t i;

	for (k = 0; k < n; k++) {
		const void *data = evs[k].epdata.data;

		for (i = 0; i < lc->nb_streams; i++) {
			const struct app_stream *s = lc->streams[i];

			if (data == &s->txwait_ev)
				room = true;
			else if (data == s)
				source = true;
		}
	}
	if (room)
		APP_STAT_ADD(lc->st.wake_guest_room, 1);
	if (source)
		APP_STAT_ADD(lc->st.wake_source, 1);
}

/*
 * Idle: arm, look once more, sleep. Everything that arrived before an arm is
 * caught by the arm's own recheck (guests) or by the pass after it (NICs);
 * everything after, by the fds.
 */
static void
app_lcore_sleep(struct app_lcore *lc)
{
	struct rte_epoll_event evs[APP_MAX_STREAMS + 1];
	uint64_t now;
	int timeout_ms, n;

	/* A wake-up that led to no packet for the guests or NICs is not a latency. */
	lc->woke_tsc = 0;
	if (!app_lcore_arm(lc, &timeout_ms)) {
		APP_STAT_ADD(lc->st.sleep_aborted, 1);
		app_lcore_disarm(lc);
		return;
	}
	now = rte_rdtsc();
	if (app_lcore_pass(lc, &now) != 0) {
		APP_STAT_ADD(lc->st.sleep_aborted, 1);
		app_lcore_disarm(lc);
		return;
	}
	APP_STAT_ADD(lc->st.sleeps, 1);
	{
		uint64_t t0 = rte_get_timer_cycles();

		n = rte_epoll_wait_interruptible(lc->epfd, evs, RTE_DIM(evs), timeout_ms);
		APP_STAT_ADD(lc->st.sleep_ns,
			     (rte_get_timer_cycles() - t0) * 1000000000ull / rte_get_timer_hz());
	}
	if (n > 0) {
		lc->woke_tsc = rte_get_timer_cycles();
		APP_STAT_ADD(lc->st.wakeups, 1);
		app_lcore_count_wake_sources(lc, evs, n);
	} else if (n == 0) {
		APP_STAT_ADD(lc->st.wake_timeouts, 1);
	} else {
		APP_STAT_ADD(lc->st.wake_signal, 1);
	}
	app_lcore_disarm(lc);
}

int
app_lcore_main(void *arg __rte_unused)
{
	struct app_lcore *lc = &app_lcores[rte_lcore_id()];
	uint64_t idle_before_sleep = rte_get_tsc_hz() / 1000000 * app_opts.idle_us;
	uint64_t now = rte_rdtsc(), last_work = now;
	bool sleeping = app_opts.mode == APP_MODE_SLEEP;
	int ret = 0;

	lc->epfd = -1;
	if (lc->nb_streams == 0)
		return 0;
	app_self = lc;
	/*
	 * Signals are the main lcore's: SIGINT/SIGTERM set its quit flag, and a
	 * tap PMD's SIGIO handler (one per arrival on any tap) only counts. A
	 * worker's sleep then ends on the events it armed for, not on a signal
	 * that has nothing to do with its streams.
	 */
	{
		sigset_t async;

		sigfillset(&async);
		sigdelset(&async, SIGSEGV);
		sigdelset(&async, SIGBUS);
		sigdelset(&async, SIGFPE);
		sigdelset(&async, SIGILL);
		pthread_sigmask(SIG_BLOCK, &async, NULL);
	}
	if (sleeping && (ret = app_lcore_sleep_init(lc)) != 0) {
		APP_LOG(ERR, "lcore %u: cannot set up sleeping: %s", lc->lcore_id,
			rte_strerror(-ret));
		app_lcore_sleep_fini(lc);
		__atomic_store_n(&app_quit, true, __ATOMIC_RELAXED);
		return ret;
	}
	while (!__atomic_load_n(&app_quit, __ATOMIC_RELAXED)) {
		uint64_t pass_start = now;

		if (app_lcore_pass(lc, &now) != 0) {
			last_work = now;
			continue;
		}
		if (sleeping && pass_start - last_work >= idle_before_sleep) {
			app_lcore_sleep(lc);
			now = rte_rdtsc();
			last_work = now;
		}
	}
	if (sleeping)
		app_lcore_sleep_fini(lc);
	return 0;
}
