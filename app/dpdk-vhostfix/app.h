/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 dpdk-vhostfix authors
 */

#ifndef VHF_APP_H
#define VHF_APP_H

/**
 * @file
 * dpdk-vhostfix: forwards between NIC queues and guest virtqueues.
 *
 * The unit of work is a stream: rx queue q of one port -> tx queue q of its
 * pair. Both streams of a queue index of a pair run on one worker lcore, so
 * every ethdev queue is polled by exactly one thread and the hot path takes
 * no lock. Each stream owns a bounded backlog: packets its destination could
 * not take yet (a guest short of RX buffers), sent before anything newer.
 */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <rte_common.h>
#include <rte_epoll.h>
#include <rte_ethdev.h>
#include <rte_log.h>
#include <rte_mbuf.h>

/*
 * What the app says, and where:
 *  - its output, on stdout with printf: the --help text, the start-up report (which driver
 *    serves each port and its socket, how an idle port is waited on, the lcore map), the
 *    start and stop lines, the stats (every --stats seconds and at exit). What users and
 *    scripts read: plain lines, stable wording.
 *  - refusals, on stderr with APP_ERR(): why the app will not run what it was asked to: a
 *    wrong option, value or config key, or a request the ports, lcores or memory found do
 *    not allow (--pairs, --queues, --mtu, -l, -m). One line naming the option to change,
 *    then exit 1. Not rte_log: options are read before EAL's logging is set up, and a
 *    refusal must show whatever --log-level says.
 *  - logs, with APP_LOG() on the log type app.vhostfix: what happens to the app that its
 *    user did not word: a DPDK call that fails, a port that lacks a feature, link changes.
 *    Levelled and filtered as any DPDK log (--log-level=app.vhostfix:debug).
 */
extern int vhf_app_logtype;
#define APP_LOG(level, fmt, ...)                                                                   \
	rte_log(RTE_LOG_##level, vhf_app_logtype, "dpdk-vhostfix: " fmt "\n", ##__VA_ARGS__)
#define APP_ERR(fmt, ...) fprintf(stderr, "dpdk-vhostfix: " fmt "\n", ##__VA_ARGS__)

#define APP_MAX_PORTS 32
#define APP_MAX_QUEUES 16
#define APP_MAX_STREAMS (APP_MAX_PORTS * APP_MAX_QUEUES)
#define APP_BURST 32

enum app_mode { APP_MODE_POLL, APP_MODE_SLEEP };

/** What a stream does when its backlog is full. */
enum app_full_policy {
	APP_FULL_PAUSE, /**< stop taking from the source queue, as QEMU does */
	APP_FULL_DROP,  /**< keep taking, drop what does not fit */
};

struct app_options {
	enum app_mode mode;
	bool notify_legacy;
	enum app_full_policy full_policy;
	uint32_t backlog;         /**< packets per stream */
	uint32_t stats_interval;  /**< seconds; 0: only at exit */
	uint32_t idle_us;         /**< sleep mode: idle time before sleeping */
	uint32_t poll_ms;         /**< sleep mode: re-poll interval of sources without interrupts */
	uint16_t nb_rxd;
	uint16_t nb_txd;
	uint32_t nb_mbufs;
	uint16_t queues;          /**< queues per port; 0: as many as both ports of a pair have */
	uint16_t mtu;             /**< NIC ports' MTU; 0: the driver's default */
	const char *config_file;
	int npairs;               /**< 0: pair ports 0-1, 2-3, ... */
	/** Port ids or ethdev names, resolved once the ports exist. */
	char pairs[APP_MAX_PORTS][2][RTE_ETH_NAME_MAX_LEN];
};

/*
 * The app's stats, one line each. STREAM(...): a stream's, in struct app_stream_stats,
 * written by its lcore only, read by the main lcore: packets in and out, the backlog's
 * depth now (stored, not added to) and its maximum, times the source was paused because
 * the backlog was full, drops by reason (backlog full under APP_FULL_DROP, destination
 * queue broken by its guest, left in the backlog at exit, longer than the destination
 * NIC's MTU). LCORE(...): a worker lcore's sleeps (sleep mode), in struct app_lcore_stats:
 * sleeps, wake-ups and what ended them (a guest refill a blocked stream waited for, a
 * source's arrival: rx interrupt or tap fd, a signal, the poll interval), sleeps aborted
 * because arming found work pending; and in either mode, the TSC cycles of its streams'
 * steps that moved packets (busy) and of those that found nothing to do (idle), asleep
 * in neither: testpmd's --record-core-cycles busy cycles, OVS's processing and idle
 * cycles.
 *
 * The arguments: field, the words before and after its value in the stats line, its
 * telemetry key. The stats line (app_stats_print()) and the telemetry dicts
 * (/vhostfix/stats) list them in this order. Expand with APP_STAT_NONE for the kind a use
 * does not want.
 */
#define APP_STATS(STREAM, LCORE)                                                                   \
	STREAM(rx, " rx ", "", "rx")                                                               \
	STREAM(tx, " tx ", "", "tx")                                                               \
	STREAM(backlog, " backlog ", "", "backlog")                                                \
	STREAM(backlog_max, " (max ", ")", "backlog_max")                                          \
	STREAM(paused, " paused ", "", "paused")                                                   \
	STREAM(drop_backlog_full, " drop-backlog-full ", "", "drop_backlog_full")                  \
	STREAM(drop_broken, " drop-broken ", "", "drop_broken")                                    \
	STREAM(drop_shutdown, " drop-shutdown ", "", "drop_shutdown")                              \
	STREAM(drop_too_big, " drop-too-big ", "", "drop_too_big")                                 \
	LCORE(sleeps, " sleeps ", "", "sleeps")                                                    \
	LCORE(wakeups, " wakeups ", "", "wakeups")                                                 \
	LCORE(wake_guest_room, " (guest-room ", "", "wake_guest_room")                             \
	LCORE(wake_source, " source ", ")", "wake_source")                                         \
	LCORE(wake_signal, " wake-signals ", "", "wake_signals")                                   \
	LCORE(wake_timeouts, " wake-timeouts ", "", "wake_timeouts")                               \
	LCORE(sleep_aborted, " sleep-aborted ", "", "sleep_aborted")                               \
	LCORE(busy_cycles, " busy-cycles ", "", "busy_cycles")                                     \
	LCORE(idle_cycles, " idle-cycles ", "", "idle_cycles")

#define APP_STAT_NONE(field, before, after, key)
#define APP_STAT_FIELD(field, before, after, key) uint64_t field;

struct app_stream_stats {
	APP_STATS(APP_STAT_FIELD, APP_STAT_NONE)
};

struct app_stream {
	uint16_t rx_port, rx_queue;
	uint16_t tx_port, tx_queue;
	bool dst_is_vhostfix;       /**< the tx-wait API serves the destination */
	/** Longest frame the destination NIC sends (its MTU); 0: no limit (a guest). */
	uint32_t dst_max_frame;
	bool src_has_intr;          /**< rx interrupts work on the source queue */
	/**
	 * The source's interrupt fd is its data fd (net_tap), watched
	 * level-triggered while the stream takes from it; see fwd.c.
	 */
	bool src_level_fd;
	bool src_fd_watched;
	int src_fd;
	struct rte_epoll_event src_fd_ev;
	bool paused;
	bool intr_armed;            /**< rx interrupt enabled for the coming sleep */
	/**
	 * The coming sleep waits for this stream's guest to make room: its arm
	 * already looked at the ring after asking for the kick, so the pass
	 * before the sleep does not offer it the backlog again.
	 */
	bool guest_blocked;
	/* Backlog: a ring of mbufs, cap a power of two. */
	struct rte_mbuf **backlog;
	uint32_t cap, mask, head, count;
	struct rte_epoll_event txwait_ev; /**< the destination's tx-wait fd, in the lcore's set */
	struct app_stream_stats st;
} __rte_cache_aligned;

/*
 * Wake-up latency, sleep mode: from the moment epoll_wait() returns with an
 * event to the first packet the lcore hands to a tx_burst after it, a
 * histogram of microseconds with four buckets per power of two (each bucket
 * at most 25% wide): [0,1) [1,2) [2,3) [3,4) [4,5) .. [7,8) [8,10) [10,12)
 * [12,14) [14,16) [16,20) ..., the last one everything from about 1.8 s up.
 * What the kernel takes to run us once the fd is readable is not in it
 * (nothing stamps that moment).
 */
#define APP_WAKE_LAT_BUCKETS 80

struct app_lcore_stats {
	APP_STATS(APP_STAT_NONE, APP_STAT_FIELD)
	uint64_t sleep_ns;          /**< time asleep, out of the table: shown in ms */
	uint64_t wake_lat[APP_WAKE_LAT_BUCKETS];
};

struct app_lcore {
	unsigned int lcore_id;
	uint16_t nb_streams;
	struct app_stream *streams[APP_MAX_STREAMS];
	int epfd;                     /**< what the lcore sleeps on */
	int quit_fd;                  /**< eventfd the main lcore writes at shutdown */
	struct rte_epoll_event quit_ev;
	/** Timer cycles when the last sleep ended on an event; 0 once its latency is counted. */
	uint64_t woke_tsc;
	struct app_lcore_stats st;
} __rte_cache_aligned;

struct app_port {
	bool used;
	bool is_vhostfix;
	bool has_rx_intr;
	bool rx_intr_level;  /**< the rx interrupt fd is the data fd: watch it level-triggered */
	uint16_t queues;
	uint16_t peer;
	char name[RTE_ETH_NAME_MAX_LEN];
	char driver[64];
};

extern struct app_options app_opts;
extern struct app_port app_ports[APP_MAX_PORTS];
extern struct app_stream app_streams[APP_MAX_STREAMS];
extern uint16_t app_nb_streams;
extern struct app_lcore app_lcores[RTE_MAX_LCORE];
extern bool app_quit; /**< atomic accesses only */

/* options.c */
/** The words of --mode and --notify, by app_opts.mode and app_opts.notify_legacy. */
extern const char *const app_mode_words[];
extern const char *const app_notify_words[];
int app_parse_options(int argc, char **argv, struct app_options *opts);
int app_parse_config_file(const char *path, struct app_options *opts);
void app_usage(const char *prog);

/* ports.c */
int app_claim_net_vhost(void);
int app_discover_ports(void);
uint32_t app_mbufs_needed(void);
int app_setup_ports(struct rte_mempool *pool);
int app_map_streams(void);
void app_close_ports(void);

/* fwd.c */
int app_lcore_main(void *arg);
void app_stream_drain(struct app_stream *s);

/* stats.c */
/** The wake-latency bucket of a latency of us microseconds. */
static inline unsigned int
app_wake_lat_bucket(uint64_t us)
{
	unsigned int p, k;

	if (us < 4)
		return (unsigned int)us;
	p = 63 - (unsigned int)__builtin_clzll(us); /* us in [2^p, 2^(p+1)), p >= 2 */
	k = 4 * (p - 1) + (unsigned int)((us >> (p - 2)) & 3);
	return k < APP_WAKE_LAT_BUCKETS ? k : APP_WAKE_LAT_BUCKETS - 1;
}
/** Upper bound in us of wake-latency bucket k, exclusive (UINT64_MAX for the last). */
uint64_t app_wake_lat_bucket_us(unsigned int k);
/** A wake-latency histogram in three figures: percentiles as bucket upper bounds, 0 if empty. */
struct app_wake_lat_summary {
	uint64_t samples;
	uint64_t p50_us;
	uint64_t p99_us;
};
void app_wake_lat_summarize(const uint64_t *hist, struct app_wake_lat_summary *sum);
void app_stats_print(FILE *f);
int app_telemetry_register(void);

/** Store from the owning lcore, for a relaxed reader on another lcore. */
#define APP_STAT_ADD(field, n) __atomic_store_n(&(field), (field) + (n), __ATOMIC_RELAXED)
#define APP_STAT_READ(field) __atomic_load_n(&(field), __ATOMIC_RELAXED)

#endif /* VHF_APP_H */
