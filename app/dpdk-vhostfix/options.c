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
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cfgfile.h>

#include "app.h"
/* APP_USAGE_FMT: --help, generated from manual.txt as the man page is. */
#include "app_usage.h"

/* How an option's value is read. */
enum app_arg {
	APP_ARG_UINT,   /**< an unsigned integer in [min, max] */
	APP_ARG_WORD,   /**< one of words[]: word i sets the field to i */
	APP_ARG_PAIRS,  /**< --pairs A:B[,C:D...] */
	APP_ARG_CONFIG, /**< --config FILE: not a key of the file itself */
	APP_ARG_HELP,   /**< --help, without a value */
};

/* The words of the word options, at the index of the value they set. */
const char *const app_mode_words[] = {
	[APP_MODE_POLL] = "poll", [APP_MODE_SLEEP] = "sleep", NULL,
};
const char *const app_notify_words[] = { [false] = "fixed", [true] = "legacy", NULL };
static const char *const app_full_words[] = {
	[APP_FULL_PAUSE] = "pause", [APP_FULL_DROP] = "drop", NULL,
};

/*
 * The options, one line each, the same on the command line and as keys of the config
 * file: the name, how the value is read, the field of struct app_options it sets, its
 * default (when not 0) and, for integers, its range.
 */
struct app_opt {
	const char *name;
	enum app_arg arg;
	size_t off, size;            /**< the field */
	uint64_t def;
	uint64_t min, max;           /**< APP_ARG_UINT */
	const char *const *words;    /**< APP_ARG_WORD, NULL-terminated */
};

#define APP_FIELD(f) offsetof(struct app_options, f), sizeof(((struct app_options *)0)->f)

static const struct app_opt app_opt_table[] = {
	{ "mode", APP_ARG_WORD, APP_FIELD(mode), .words = app_mode_words },
	{ "notify", APP_ARG_WORD, APP_FIELD(notify_legacy), .words = app_notify_words },
	{ "backlog", APP_ARG_UINT, APP_FIELD(backlog), 1024, APP_BURST, 1u << 20 },
	{ "backlog-full", APP_ARG_WORD, APP_FIELD(full_policy), .words = app_full_words },
	{ "stats", APP_ARG_UINT, APP_FIELD(stats_interval), 0, 0, 86400 },
	{ "idle-us", APP_ARG_UINT, APP_FIELD(idle_us), 200, 0, 10 * 1000 * 1000 },
	{ "poll-ms", APP_ARG_UINT, APP_FIELD(poll_ms), 1, 1, 10000 },
	{ "rxd", APP_ARG_UINT, APP_FIELD(nb_rxd), 1024, 64, 32768 },
	{ "txd", APP_ARG_UINT, APP_FIELD(nb_txd), 1024, 64, 32768 },
	{ "mbufs", APP_ARG_UINT, APP_FIELD(nb_mbufs), 0, 1024, 1u << 24 },
	{ "queues", APP_ARG_UINT, APP_FIELD(queues), 0, 1, APP_MAX_QUEUES },
	{ "mtu", APP_ARG_UINT, APP_FIELD(mtu), 0, 68, 65535 - 18 },
	{ "pairs", APP_ARG_PAIRS },
	{ "config", APP_ARG_CONFIG },
	{ "help", APP_ARG_HELP },
};

/* getopt_long() returns APP_OPT_VAL + the option's index in app_opt_table. */
#define APP_OPT_VAL 256

void
app_usage(const char *prog)
{
	printf(APP_USAGE_FMT, prog);
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

/* Set the field of o to v, which its range or words keep within the field's type. */
static void
app_opt_store(const struct app_opt *o, struct app_options *opts, uint64_t v)
{
	/* The fields are bools (the only 1-byte ones), enums and unsigned integers. */
	union {
		bool b;
		uint16_t u16;
		uint32_t u32;
		uint64_t u64;
	} x;

	switch (o->size) {
	case sizeof(x.b):
		x.b = v != 0;
		break;
	case sizeof(x.u16):
		x.u16 = (uint16_t)v;
		break;
	case sizeof(x.u32):
		x.u32 = (uint32_t)v;
		break;
	default:
		x.u64 = v;
		break;
	}
	memcpy(RTE_PTR_ADD(opts, o->off), &x, o->size);
}

static const struct app_opt *
app_opt_by_name(const char *name)
{
	unsigned int i;

	for (i = 0; i < RTE_DIM(app_opt_table); i++)
		if (strcmp(app_opt_table[i].name, name) == 0)
			return &app_opt_table[i];
	return NULL;
}

/* One option, from the command line or the config file. */
static int
app_set_option(const struct app_opt *o, const char *value, struct app_options *opts)
{
	uint64_t v;
	int ret;

	switch (o->arg) {
	case APP_ARG_UINT:
		ret = app_parse_uint(o->name, value, o->min, o->max, &v);
		if (ret == 0)
			app_opt_store(o, opts, v);
		return ret;
	case APP_ARG_WORD:
		for (v = 0; o->words[v] != NULL; v++) {
			if (strcmp(value, o->words[v]) == 0) {
				app_opt_store(o, opts, v);
				return 0;
			}
		}
		APP_ERR("--%s: unexpected value '%s' (see --help)", o->name, value);
		return -EINVAL;
	case APP_ARG_PAIRS:
		return app_parse_pairs(value, opts);
	default:
		return 0; /* --config and --help: app_parse_options() deals with them */
	}
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
		const struct app_opt *o = app_opt_by_name(entries[i].name);

		if (o == NULL || o->arg == APP_ARG_CONFIG || o->arg == APP_ARG_HELP) {
			APP_ERR("--config %s: unknown key '%s'", path, entries[i].name);
			goto out;
		}
		if (app_set_option(o, entries[i].value, opts) != 0) {
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
	struct option longopts[RTE_DIM(app_opt_table) + 1];
	unsigned int i;
	int c, ret;

	memset(longopts, 0, sizeof(longopts));
	for (i = 0; i < RTE_DIM(app_opt_table); i++) {
		const struct app_opt *o = &app_opt_table[i];

		longopts[i].name = o->name;
		longopts[i].has_arg = o->arg == APP_ARG_HELP ? no_argument : required_argument;
		longopts[i].val = APP_OPT_VAL + (int)i;
		if (o->def != 0)
			app_opt_store(o, opts, o->def);
	}

	/* The config file first, whatever its place: the command line overrides it. */
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
		if (c >= APP_OPT_VAL && app_opt_table[c - APP_OPT_VAL].arg == APP_ARG_CONFIG) {
			opts->config_file = optarg;
			ret = app_parse_config_file(optarg, opts);
			if (ret != 0)
				return ret;
		}
	}
	optind = 1;
	while ((c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
		const struct app_opt *o;

		if (c == ':') {
			APP_ERR("option '%s' needs a value", argv[optind - 1]);
			return -EINVAL;
		}
		if (c < APP_OPT_VAL) {
			APP_ERR("unknown option '%s' (see --help)", argv[optind - 1]);
			return -EINVAL;
		}
		o = &app_opt_table[c - APP_OPT_VAL];
		if (o->arg == APP_ARG_HELP) {
			app_usage(argv[0]);
			return 1;
		}
		if (o->arg != APP_ARG_CONFIG && (ret = app_set_option(o, optarg, opts)) != 0)
			return ret;
	}
	if (optind < argc) {
		APP_ERR("unexpected argument '%s' (see --help)", argv[optind]);
		return -EINVAL;
	}
	return 0;
}
