/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 dpdk-vhostfix authors
 */

/* Stats: printed every --stats seconds and at exit, and served as /vhostfix/stats. */

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_telemetry.h>

#include "app.h"

/* One line of APP_STATS, from the stats struct st (a stream's or an lcore's). */
#define APP_STAT_PRINT(field, before, after, key)                                                  \
	fprintf(f, "%s%" PRIu64 "%s", before, APP_STAT_READ(st->field), after);
#define APP_STAT_TEL(field, before, after, key)                                                    \
	rte_tel_data_add_dict_u64(d, key, APP_STAT_READ(st->field));

uint64_t
app_wake_lat_bucket_us(unsigned int k)
{
	unsigned int p;

	if (k + 1 >= APP_WAKE_LAT_BUCKETS)
		return UINT64_MAX;
	if (k < 4)
		return k + 1;
	/* Bucket 4(p-1)+sub holds [(4+sub) << (p-2), (5+sub) << (p-2)). */
	p = k / 4 + 1;
	return (uint64_t)(5 + k % 4) << (p - 2);
}

/* The bucket bound at or below which fraction p of the total samples of counts lie. */
static uint64_t
app_wake_lat_percentile_us(const uint64_t *counts, uint64_t total, double p)
{
	uint64_t seen = 0;
	unsigned int k;

	for (k = 0; k < APP_WAKE_LAT_BUCKETS; k++) {
		seen += counts[k];
		if ((double)seen >= p * (double)total)
			return app_wake_lat_bucket_us(k);
	}
	return UINT64_MAX;
}

void
app_wake_lat_summarize(const uint64_t *hist, struct app_wake_lat_summary *sum)
{
	/* One reading of the lcore's histogram, for the count and both percentiles. */
	uint64_t counts[APP_WAKE_LAT_BUCKETS], total = 0;
	unsigned int k;

	for (k = 0; k < APP_WAKE_LAT_BUCKETS; k++) {
		counts[k] = APP_STAT_READ(hist[k]);
		total += counts[k];
	}
	sum->samples = total;
	sum->p50_us = total == 0 ? 0 : app_wake_lat_percentile_us(counts, total, 0.5);
	sum->p99_us = total == 0 ? 0 : app_wake_lat_percentile_us(counts, total, 0.99);
}

/* "<N" for a bucket's (exclusive) upper bound, ">=M" for the last, open one. */
static const char *
app_wake_lat_words(uint64_t us, char *buf, size_t len)
{
	if (us == UINT64_MAX)
		snprintf(buf, len, ">=%" PRIu64, app_wake_lat_bucket_us(APP_WAKE_LAT_BUCKETS - 2));
	else
		snprintf(buf, len, "<%" PRIu64, us);
	return buf;
}

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
		fprintf(f, " slept-ms %" PRIu64, APP_STAT_READ(st->sleep_ns) / 1000000);
		{
			uint64_t busy = APP_STAT_READ(st->busy_cycles);
			uint64_t polled = busy + APP_STAT_READ(st->idle_cycles);

			/* The lcore's load while awake, as OVS's pmd-stats-show gives it. */
			if (polled != 0)
				fprintf(f, " busy-pct %" PRIu64, busy * 100 / polled);
		}
		{
			struct app_wake_lat_summary w;
			char b50[24], b99[24];

			app_wake_lat_summarize(st->wake_lat, &w);
			if (w.samples > 0)
				fprintf(f, " wake-latency-us (samples %" PRIu64 " p50 %s p99 %s)",
					w.samples, app_wake_lat_words(w.p50_us, b50, sizeof(b50)),
					app_wake_lat_words(w.p99_us, b99, sizeof(b99)));
		}
		fputc('\n', f);
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
	{
		struct app_wake_lat_summary w;

		app_wake_lat_summarize(st->wake_lat, &w);
		/* Bucket upper bounds; UINT64_MAX: beyond the last bound (see /vhostfix/wake_latency). */
		rte_tel_data_add_dict_u64(d, "wake_latency_samples", w.samples);
		rte_tel_data_add_dict_u64(d, "wake_latency_p50_us", w.p50_us);
		rte_tel_data_add_dict_u64(d, "wake_latency_p99_us", w.p99_us);
	}
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
	/* The unit of the lcores' busy_cycles and idle_cycles. */
	rte_tel_data_add_dict_u64(d, "tsc_hz", rte_get_tsc_hz());
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

/*
 * The wake-latency histograms: "bucket_upper_us" (the last bucket has no
 * upper bound: 0 there), and one array of counts per worker lcore with streams.
 */
static int
app_tel_wake_latency(const char *cmd __rte_unused, const char *params __rte_unused,
		     struct rte_tel_data *d)
{
	struct rte_tel_data *bounds = rte_tel_data_alloc();
	unsigned int lcore_id, k;
	char key[32];

	rte_tel_data_start_dict(d);
	if (bounds == NULL)
		return -ENOMEM;
	rte_tel_data_start_array(bounds, RTE_TEL_U64_VAL);
	for (k = 0; k < APP_WAKE_LAT_BUCKETS; k++) {
		uint64_t us = app_wake_lat_bucket_us(k);

		rte_tel_data_add_array_u64(bounds, us == UINT64_MAX ? 0 : us);
	}
	if (rte_tel_data_add_dict_container(d, "bucket_upper_us", bounds, 0) != 0)
		rte_tel_data_free(bounds);
	RTE_LCORE_FOREACH_WORKER(lcore_id) {
		const struct app_lcore *lc = &app_lcores[lcore_id];
		struct rte_tel_data *h;

		if (lc->nb_streams == 0 || (h = rte_tel_data_alloc()) == NULL)
			continue;
		rte_tel_data_start_array(h, RTE_TEL_U64_VAL);
		for (k = 0; k < APP_WAKE_LAT_BUCKETS; k++)
			rte_tel_data_add_array_u64(h, APP_STAT_READ(lc->st.wake_lat[k]));
		snprintf(key, sizeof(key), "lcore%u", lcore_id);
		if (rte_tel_data_add_dict_container(d, key, h, 0) != 0)
			rte_tel_data_free(h);
	}
	return 0;
}

#define APP_TEL_STATS_HELP                                                                         \
	"dpdk-vhostfix stats: per stream packets, backlog, drops by reason; "                      \
	"per lcore busy/idle cycles, sleeps, wake-ups. No parameters"
#define APP_TEL_WAKE_LATENCY_HELP                                                                  \
	"dpdk-vhostfix sleep mode: per lcore, wake-up to first tx_burst, histogram in "            \
	"us (bucket_upper_us). No parameters"
/* Telemetry refuses to register a command whose help is longer. */
_Static_assert(sizeof(APP_TEL_STATS_HELP) <= RTE_TEL_MAX_STRING_LEN, "help too long");
_Static_assert(sizeof(APP_TEL_WAKE_LATENCY_HELP) <= RTE_TEL_MAX_STRING_LEN, "help too long");

int
app_telemetry_register(void)
{
	int ret = rte_telemetry_register_cmd("/vhostfix/stats", app_tel_stats, APP_TEL_STATS_HELP);

	if (ret != 0)
		return ret;
	return rte_telemetry_register_cmd("/vhostfix/wake_latency", app_tel_wake_latency,
					  APP_TEL_WAKE_LATENCY_HELP);
}
