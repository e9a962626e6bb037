/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 dpdk-vhostfix authors
 */

/*
 * App options (after "--"), and the same keys in an INI file (--config).
 * Every error names the option or key at fault; the caller exits non-zero.
 */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cfgfile.h>

#include "app.h"

enum {
	OPT_MODE = 256,
	OPT_NOTIFY,
	OPT_BACKLOG,
	OPT_BACKLOG_FULL,
	OPT_STATS,
	OPT_IDLE_US,
	OPT_POLL_MS,
	OPT_RXD,
	OPT_TXD,
	OPT_MBUFS,
	OPT_QUEUES,
	OPT_MTU,
	OPT_PAIRS,
	OPT_CONFIG,
	OPT_HELP,
};

static const struct option app_longopts[] = {
	{ "mode", required_argument, NULL, OPT_MODE },
	{ "notify", required_argument, NULL, OPT_NOTIFY },
	{ "backlog", required_argument, NULL, OPT_BACKLOG },
	{ "backlog-full", required_argument, NULL, OPT_BACKLOG_FULL },
	{ "stats", required_argument, NULL, OPT_STATS },
	{ "idle-us", required_argument, NULL, OPT_IDLE_US },
	{ "poll-ms", required_argument, NULL, OPT_POLL_MS },
	{ "rxd", required_argument, NULL, OPT_RXD },
	{ "txd", required_argument, NULL, OPT_TXD },
	{ "mbufs", required_argument, NULL, OPT_MBUFS },
	{ "queues", required_argument, NULL, OPT_QUEUES },
	{ "mtu", required_argument, NULL, OPT_MTU },
	{ "pairs", required_argument, NULL, OPT_PAIRS },
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

void
app_usage(const char *prog)
{
	printf("usage: %s [EAL options] --vdev net_vhost0[,iface=<socket>] [--vdev ...] -- [options]\n"
	       "\n"
	       "A net_vhost<N> (or net_vhostfix<N>) vdev is served by the net_vhostfix datapath;\n"
	       "without iface= its socket is <runtime dir>/<name>.sock. Any other ethdev is a NIC.\n"
	       "\n"
	       "  --mode poll|sleep        busy-poll, or sleep on kicks and interrupts when idle (poll)\n"
	       "  --notify fixed|legacy    guest notification algorithm; legacy only reproduces\n"
	       "                           the lost-kick stall (fixed)\n"
	       "  --backlog N              packets a stream holds for a busy destination (1024)\n"
	       "  --backlog-full pause|drop  when the backlog is full: stop taking from the source\n"
	       "                           queue, as QEMU does, or drop (pause)\n"
	       "  --stats N                print stats every N seconds, 0: only at exit (0)\n"
	       "  --idle-us N              sleep mode: idle time before sleeping (200)\n"
	       "  --poll-ms N              sleep mode: how often to look at sources that cannot\n"
	       "                           wake us (1)\n"
	       "  --rxd N, --txd N         NIC descriptors per queue (1024)\n"
	       "  --mbufs N                mbufs in the pool (sized from ports and queues)\n"
	       "  --queues N               queues per port (as many as both ports of a pair have)\n"
	       "  --mtu N                  MTU of the NIC ports, for jumbo frames (driver default);\n"
	       "                           guest ports take any size the guest negotiated\n"
	       "  --pairs A:B[,C:D...]     forward between these ports (ids or names);\n"
	       "                           default 0:1,2:3,...\n"
	       "  --config FILE            INI file: section [dpdk-vhostfix] with the keys above,\n"
	       "                           command-line options win\n"
	       "  --help\n",
	       prog);
}

static int
app_parse_uint(const char *name, const char *value, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(value, &end, 0);
	if (errno != 0 || end == value || *end != '\0' || value[0] == '-' || v < min || v > max) {
		APP_ERR("--%s: expected an integer in [%" PRIu64 ", %" PRIu64 "], got '%s'", name,
			min, max, value);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

static int
app_parse_pairs(const char *value, struct app_options *opts)
{
	char buf[1024];
	char *save = NULL, *tok;
	int n = 0;

	if (strlen(value) >= sizeof(buf))
		goto bad;
	snprintf(buf, sizeof(buf), "%s", value);
	for (tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		char *colon = strchr(tok, ':');

		if (colon == NULL || colon == tok || colon[1] == '\0' || n >= APP_MAX_PORTS ||
		    (size_t)(colon - tok) >= RTE_ETH_NAME_MAX_LEN ||
		    strlen(colon + 1) >= RTE_ETH_NAME_MAX_LEN)
			goto bad;
		*colon = '\0';
		snprintf(opts->pairs[n][0], RTE_ETH_NAME_MAX_LEN, "%s", tok);
		snprintf(opts->pairs[n][1], RTE_ETH_NAME_MAX_LEN, "%s", colon + 1);
		n++;
	}
	if (n == 0)
		goto bad;
	opts->npairs = n;
	return 0;
bad:
	APP_ERR("--pairs: expected A:B[,C:D...] with port ids or names, got '%s'", value);
	return -EINVAL;
}

/* One option, from the command line or the config file (name without "--"). */
static int
app_set_option(int opt, const char *name, const char *value, struct app_options *opts)
{
	uint64_t v;
	int ret = 0;

	switch (opt) {
	case OPT_MODE:
		if (strcmp(value, "poll") == 0)
			opts->mode = APP_MODE_POLL;
		else if (strcmp(value, "sleep") == 0)
			opts->mode = APP_MODE_SLEEP;
		else
			goto bad_word;
		break;
	case OPT_NOTIFY:
		if (strcmp(value, "fixed") == 0)
			opts->notify_legacy = false;
		else if (strcmp(value, "legacy") == 0)
			opts->notify_legacy = true;
		else
			goto bad_word;
		break;
	case OPT_BACKLOG_FULL:
		if (strcmp(value, "pause") == 0)
			opts->full_policy = APP_FULL_PAUSE;
		else if (strcmp(value, "drop") == 0)
			opts->full_policy = APP_FULL_DROP;
		else
			goto bad_word;
		break;
	case OPT_BACKLOG:
		ret = app_parse_uint(name, value, APP_BURST, 1u << 20, &v);
		opts->backlog = (uint32_t)v;
		break;
	case OPT_STATS:
		ret = app_parse_uint(name, value, 0, 86400, &v);
		opts->stats_interval = (uint32_t)v;
		break;
	case OPT_IDLE_US:
		ret = app_parse_uint(name, value, 0, 10 * 1000 * 1000, &v);
		opts->idle_us = (uint32_t)v;
		break;
	case OPT_POLL_MS:
		ret = app_parse_uint(name, value, 1, 10000, &v);
		opts->poll_ms = (uint32_t)v;
		break;
	case OPT_RXD:
		ret = app_parse_uint(name, value, 64, 32768, &v);
		opts->nb_rxd = (uint16_t)v;
		break;
	case OPT_TXD:
		ret = app_parse_uint(name, value, 64, 32768, &v);
		opts->nb_txd = (uint16_t)v;
		break;
	case OPT_MBUFS:
		ret = app_parse_uint(name, value, 1024, 1u << 24, &v);
		opts->nb_mbufs = (uint32_t)v;
		break;
	case OPT_QUEUES:
		ret = app_parse_uint(name, value, 1, APP_MAX_QUEUES, &v);
		opts->queues = (uint16_t)v;
		break;
	case OPT_MTU:
		ret = app_parse_uint(name, value, 68, 65535 - 18, &v);
		opts->mtu = (uint16_t)v;
		break;
	case OPT_PAIRS:
		ret = app_parse_pairs(value, opts);
		break;
	default:
		APP_ERR("unknown option '%s'", name);
		return -EINVAL;
	}
	return ret;
bad_word:
	APP_ERR("--%s: unexpected value '%s' (see --help)", name, value);
	return -EINVAL;
}

int
app_parse_config_file(const char *path, struct app_options *opts)
{
	static const char section[] = "dpdk-vhostfix";
	struct rte_cfgfile *cfg;
	struct rte_cfgfile_entry *entries = NULL;
	int n, i, ret = -EINVAL;

	cfg = rte_cfgfile_load(path, 0);
	if (cfg == NULL) {
		APP_ERR("--config: cannot read '%s' as an INI file", path);
		return -EINVAL;
	}
	if (rte_cfgfile_num_sections(cfg, NULL, 0) != 1 || !rte_cfgfile_has_section(cfg, section)) {
		APP_ERR("--config %s: expected one section [%s]", path, section);
		goto out;
	}
	n = rte_cfgfile_section_num_entries(cfg, section);
	entries = calloc(n > 0 ? n : 1, sizeof(*entries));
	if (entries == NULL || rte_cfgfile_section_entries(cfg, section, entries, n) != n)
		goto out;
	for (i = 0; i < n; i++) {
		const struct option *o;

		for (o = app_longopts; o->name != NULL; o++)
			if (strcmp(o->name, entries[i].name) == 0)
				break;
		if (o->name == NULL || o->val == OPT_CONFIG || o->val == OPT_HELP) {
			APP_ERR("--config %s: unknown key '%s'", path, entries[i].name);
			goto out;
		}
		if (app_set_option(o->val, o->name, entries[i].value, opts) != 0) {
			APP_ERR("--config %s: in key '%s'", path, entries[i].name);
			goto out;
		}
	}
	ret = 0;
out:
	free(entries);
	rte_cfgfile_close(cfg);
	return ret;
}

/*
 * argv[0] is the program, the rest are app options. Returns 0, 1 for --help,
 * or a negative errno after saying what is wrong.
 */
int
app_parse_options(int argc, char **argv, struct app_options *opts)
{
	int c, ret;

	opts->mode = APP_MODE_POLL;
	opts->full_policy = APP_FULL_PAUSE;
	opts->backlog = 1024;
	opts->idle_us = 200;
	opts->poll_ms = 1;
	opts->nb_rxd = 1024;
	opts->nb_txd = 1024;

	/* The config file first, whatever its place: the command line overrides it. */
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", app_longopts, NULL)) != -1) {
		if (c == OPT_CONFIG) {
			opts->config_file = optarg;
			ret = app_parse_config_file(optarg, opts);
			if (ret != 0)
				return ret;
		}
	}
	optind = 1;
	while ((c = getopt_long(argc, argv, ":", app_longopts, NULL)) != -1) {
		switch (c) {
		case OPT_HELP:
			app_usage(argv[0]);
			return 1;
		case OPT_CONFIG:
			break;
		case ':':
			APP_ERR("option '%s' needs a value", argv[optind - 1]);
			return -EINVAL;
		case '?':
			APP_ERR("unknown option '%s' (see --help)", argv[optind - 1]);
			return -EINVAL;
		default: {
			const struct option *o;

			for (o = app_longopts; o->name != NULL && o->val != c; o++)
				;
			ret = app_set_option(c, o->name, optarg, opts);
			if (ret != 0)
				return ret;
		}
		}
	}
	if (optind < argc) {
		APP_ERR("unexpected argument '%s' (see --help)", argv[optind]);
		return -EINVAL;
	}
	return 0;
}
