/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 dpdk-vhostfix authors
 */

/* Stats: printed every --stats seconds and at exit, and served as /vhostfix/stats. */

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_telemetry.h>

#include "app.h"

/* One line of APP_STATS, from the stats struct st (a stream's or an lcore's). */
#define APP_STAT_PRINT(field, before, after, key)                                                  \
	fprintf(f, "%s%" PRIu64 "%s", before, APP_STAT_READ(st->field), after);
#define APP_STAT_TEL(field, before, after, key)                                                    \
	rte_tel_data_add_dict_u64(d, key, APP_STAT_READ(st->field));

static const char *
app_stream_name(const struct app_stream *s, char *buf, size_t len)
{
	snprintf(buf, len, "%s:%u->%s:%u", app_ports[s->rx_port].name, s->rx_queue,
		 app_ports[s->tx_port].name, s->tx_queue);
	return buf;
}

/* The driver's own counters that are not zero: drops by reason, kicks, bad descriptors... */
static void
app_xstats_print(FILE *f, uint16_t port_id)
{
	struct rte_eth_xstat_name *names = NULL;
	struct rte_eth_xstat *vals = NULL;
	int n, i, col = 0;

	n = rte_eth_xstats_get_names(port_id, NULL, 0);
	if (n <= 0)
		return;
	names = calloc(n, sizeof(*names));
	vals = calloc(n, sizeof(*vals));
	if (names == NULL || vals == NULL || rte_eth_xstats_get_names(port_id, names, n) != n ||
	    rte_eth_xstats_get(port_id, vals, n) != n)
		goto out;
	for (i = 0; i < n; i++) {
		if (vals[i].value == 0 || vals[i].id >= (uint64_t)n)
			continue;
		fprintf(f, "%s%s=%" PRIu64, col == 0 ? "  xstats " : " ", names[vals[i].id].name,
			vals[i].value);
		if (++col == 6) {
			fputc('\n', f);
			col = 0;
		}
	}
	if (col != 0)
		fputc('\n', f);
out:
	free(names);
	free(vals);
}

void
app_stats_print(FILE *f)
{
	unsigned int lcore_id;
	uint16_t p, i;
	char name[2 * RTE_ETH_NAME_MAX_LEN + 16];

	fprintf(f, "---- dpdk-vhostfix stats ----\n");
	for (p = 0; p < APP_MAX_PORTS; p++) {
		struct rte_eth_stats st;

		if (!app_ports[p].used || rte_eth_stats_get(p, &st) != 0)
			continue;
		fprintf(f, "port %u %-16s rx %" PRIu64 " tx %" PRIu64 " rx-missed %" PRIu64
			" rx-errors %" PRIu64 " tx-errors %" PRIu64 " rx-nombuf %" PRIu64 "\n",
			p, app_ports[p].name, st.ipackets, st.opackets, st.imissed, st.ierrors,
			st.oerrors, st.rx_nombuf);
	}
	for (p = 0; p < APP_MAX_PORTS; p++) {
		if (app_ports[p].used)
			app_xstats_print(f, p);
	}
	for (i = 0; i < app_nb_streams; i++) {
		const struct app_stream_stats *st = &app_streams[i].st;

		fprintf(f, "stream %-36s", app_stream_name(&app_streams[i], name, sizeof(name)));
		APP_STATS(APP_STAT_PRINT, APP_STAT_NONE)
		fputc('\n', f);
	}
	RTE_LCORE_FOREACH_WORKER(lcore_id) {
		const struct app_lcore_stats *st = &app_lcores[lcore_id].st;

		if (app_lcores[lcore_id].nb_streams == 0)
			continue;
		fprintf(f, "lcore %u", lcore_id);
		APP_STATS(APP_STAT_NONE, APP_STAT_PRINT)
		fprintf(f, " slept-ms %" PRIu64 "\n", APP_STAT_READ(st->sleep_ns) / 1000000);
	}
	fflush(f);
}

/* ---------------------------------------------------------------------------------------- */
/* telemetry                                                                                */

static struct rte_tel_data *
app_tel_stream(const struct app_stream *s)
{
	const struct app_stream_stats *st = &s->st;
	struct rte_tel_data *d = rte_tel_data_alloc();

	if (d == NULL)
		return NULL;
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "from", app_ports[s->rx_port].name);
	rte_tel_data_add_dict_u64(d, "from_queue", s->rx_queue);
	rte_tel_data_add_dict_string(d, "to", app_ports[s->tx_port].name);
	rte_tel_data_add_dict_u64(d, "to_queue", s->tx_queue);
	APP_STATS(APP_STAT_TEL, APP_STAT_NONE)
	return d;
}

static struct rte_tel_data *
app_tel_lcore(unsigned int lcore_id)
{
	const struct app_lcore *lc = &app_lcores[lcore_id];
	const struct app_lcore_stats *st = &lc->st;
	struct rte_tel_data *d = rte_tel_data_alloc();

	if (d == NULL)
		return NULL;
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "lcore", lcore_id);
	rte_tel_data_add_dict_u64(d, "streams", lc->nb_streams);
	APP_STATS(APP_STAT_NONE, APP_STAT_TEL)
	rte_tel_data_add_dict_u64(d, "slept_ms", APP_STAT_READ(st->sleep_ns) / 1000000);
	return d;
}

/*
 * Telemetry nests containers one level deep: a dict of dicts, "stream<i>" and
 * "lcore<id>" beside the scalars.
 */
static int
app_tel_stats(const char *cmd __rte_unused, const char *params __rte_unused,
	      struct rte_tel_data *d)
{
	unsigned int lcore_id;
	char key[32];
	uint16_t i;

	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "mode", app_mode_words[app_opts.mode]);
	rte_tel_data_add_dict_string(d, "notify", app_notify_words[app_opts.notify_legacy]);
	rte_tel_data_add_dict_u64(d, "streams", app_nb_streams);
	for (i = 0; i < app_nb_streams; i++) {
		struct rte_tel_data *s = app_tel_stream(&app_streams[i]);

		snprintf(key, sizeof(key), "stream%u", i);
		if (s != NULL && rte_tel_data_add_dict_container(d, key, s, 0) != 0)
			rte_tel_data_free(s);
	}
	RTE_LCORE_FOREACH_WORKER(lcore_id) {
		struct rte_tel_data *l;

		if (app_lcores[lcore_id].nb_streams == 0)
			continue;
		l = app_tel_lcore(lcore_id);
		snprintf(key, sizeof(key), "lcore%u", lcore_id);
		if (l != NULL && rte_tel_data_add_dict_container(d, key, l, 0) != 0)
			rte_tel_data_free(l);
	}
	return 0;
}

int
app_telemetry_register(void)
{
	return rte_telemetry_register_cmd("/vhostfix/stats", app_tel_stats,
		"dpdk-vhostfix forwarding stats: per stream packets, backlog, drops by reason; "
		"per lcore sleeps and wake-ups. No parameters");
}
