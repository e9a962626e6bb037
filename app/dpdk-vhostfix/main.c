/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 dpdk-vhostfix authors
 */

/*
 * dpdk-vhostfix -l 2-5 --vdev net_vhost0[,iface=...] [--vdev ...] -- [options]
 *
 * The main lcore sets up, prints stats and waits for SIGINT/SIGTERM; the
 * worker lcores forward (fwd.c).
 */

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_pdump.h>

#include "app.h"

RTE_LOG_REGISTER(vhf_app_logtype, app.vhostfix, INFO);

struct app_options app_opts;
struct app_port app_ports[APP_MAX_PORTS];
struct app_stream app_streams[APP_MAX_STREAMS];
uint16_t app_nb_streams;
struct app_lcore app_lcores[RTE_MAX_LCORE];
bool app_quit;

static volatile sig_atomic_t app_signal;

static void
app_on_signal(int sig)
{
	app_signal = sig;
	__atomic_store_n(&app_quit, true, __ATOMIC_RELAXED);
}

/* Sleep up to ms, in steps short enough to notice a signal quickly. */
static void
app_nap_ms(unsigned int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

	(void)nanosleep(&ts, NULL);
}

static void
app_stop_lcores(void)
{
	unsigned int lcore_id;

	__atomic_store_n(&app_quit, true, __ATOMIC_RELAXED);
	/* Ends the sleep of a sleep-mode lcore; a polling one sees app_quit. */
	RTE_LCORE_FOREACH_WORKER(lcore_id)
		if (app_lcores[lcore_id].quit_fd >= 0)
			(void)eventfd_write(app_lcores[lcore_id].quit_fd, 1);
}

/* Split argv at "--": EAL's words stay in argv, the app's go to app_argv. Returns EAL's count. */
static int
app_split_args(int argc, char **argv, char **app_argv, int *app_argc)
{
	int eal_argc = argc, i;

	*app_argc = 1;
	app_argv[0] = argv[0];
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			eal_argc = i;
			for (i++; i < argc; i++)
				app_argv[(*app_argc)++] = argv[i];
			break;
		}
	}
	app_argv[*app_argc] = NULL;
	return eal_argc;
}

/*
 * Run the workers until SIGINT/SIGTERM, printing the stats every interval,
 * then stop them and drain what the streams still hold. 0, or -1 if a worker
 * could not be launched or failed.
 */
static int
app_forward(void)
{
	unsigned int lcore_id;
	uint64_t next_stats;
	uint32_t i;
	int ret;

	ret = rte_eal_mp_remote_launch(app_lcore_main, NULL, SKIP_MAIN);
	if (ret != 0) {
		APP_LOG(ERR, "cannot launch the workers: %s", rte_strerror(-ret));
		app_stop_lcores();
		rte_eal_mp_wait_lcore();
		return -1;
	}
	next_stats = rte_get_timer_cycles() + app_opts.stats_interval * rte_get_timer_hz();
	while (!__atomic_load_n(&app_quit, __ATOMIC_RELAXED)) {
		app_nap_ms(100);
		if (app_opts.stats_interval != 0 && rte_get_timer_cycles() >= next_stats) {
			app_stats_print(stdout);
			next_stats += app_opts.stats_interval * rte_get_timer_hz();
		}
	}
	if (app_signal != 0)
		printf("dpdk-vhostfix: %s, stopping\n", strsignal(app_signal));
	app_stop_lcores();
	RTE_LCORE_FOREACH_WORKER(lcore_id)
		if (rte_eal_wait_lcore(lcore_id) != 0)
			ret = -1;
	for (i = 0; i < app_nb_streams; i++)
		app_stream_drain(&app_streams[i]);
	app_stats_print(stdout);
	return ret;
}

int
main(int argc, char **argv)
{
	char *app_argv[argc + 1];
	int eal_argc, app_argc, i, ret, status = EXIT_SUCCESS;
	struct rte_mempool *pool = NULL;
	unsigned int lcore_id;
	uint32_t nb_mbufs;

	/* App options first: --notify decides how the vdevs EAL probes are set up. */
	eal_argc = app_split_args(argc, argv, app_argv, &app_argc);
	ret = app_parse_options(app_argc, app_argv, &app_opts);
	if (ret == 1)
		return EXIT_SUCCESS;
	if (ret < 0 || app_claim_net_vhost() != 0)
		return EXIT_FAILURE;

	for (lcore_id = 0; lcore_id < RTE_MAX_LCORE; lcore_id++) {
		app_lcores[lcore_id].lcore_id = lcore_id;
		app_lcores[lcore_id].quit_fd = -1;
		app_lcores[lcore_id].epfd = -1;
	}
	ret = rte_eal_init(eal_argc, argv);
	if (ret < 0) {
		APP_ERR("EAL initialisation failed: %s", rte_strerror(rte_errno));
		return EXIT_FAILURE;
	}
	/* EAL consumed all but the program name, or left a stray word. */
	if (ret < eal_argc - 1) {
		APP_ERR("unexpected argument '%s' before '--' (app options go after it)",
			argv[ret + 1]);
		status = EXIT_FAILURE;
		goto out_eal;
	}

	/*
	 * dpdk-dumpcap (a secondary process) asks the primary to copy what its ports
	 * receive and send; without this, it finds no one to ask. (With --no-shconf
	 * or --in-memory there is no multi-process: it registers nothing, and is no error.)
	 */
	if (rte_pdump_init() != 0)
		APP_LOG(WARNING, "packet capture (dpdk-dumpcap) unavailable: %s",
			rte_strerror(rte_errno));

	if (app_discover_ports() != 0) {
		status = EXIT_FAILURE;
		goto out_eal;
	}
	nb_mbufs = app_opts.nb_mbufs != 0 ? app_opts.nb_mbufs : app_mbufs_needed();
	pool = rte_pktmbuf_pool_create("vhostfix_mbufs", nb_mbufs, 256, 0,
				       RTE_MBUF_DEFAULT_BUF_SIZE, rte_socket_id());
	if (pool == NULL) {
		APP_ERR("cannot allocate %u mbufs: %s (give EAL more memory with -m, or fewer "
			"with --mbufs)", nb_mbufs, rte_strerror(rte_errno));
		status = EXIT_FAILURE;
		goto out_eal;
	}
	if (app_setup_ports(pool) != 0 || app_map_streams() != 0) {
		status = EXIT_FAILURE;
		goto out_ports;
	}
	if (app_telemetry_register() != 0)
		APP_LOG(WARNING, "cannot register /vhostfix/stats and /vhostfix/wake_latency with telemetry");

	signal(SIGINT, app_on_signal);
	signal(SIGTERM, app_on_signal);
	printf("dpdk-vhostfix: forwarding (%s mode); SIGINT or SIGTERM stops it\n",
	       app_mode_words[app_opts.mode]);
	fflush(stdout);

	if (app_forward() != 0)
		status = EXIT_FAILURE;

out_ports:
	app_close_ports();
	for (i = 0; i < app_nb_streams; i++)
		rte_free(app_streams[i].backlog);
	rte_mempool_free(pool);
	RTE_LCORE_FOREACH_WORKER(lcore_id)
		if (app_lcores[lcore_id].quit_fd >= 0)
			close(app_lcores[lcore_id].quit_fd);
out_eal:
	rte_pdump_uninit();
	rte_eal_cleanup();
	return status;
}
