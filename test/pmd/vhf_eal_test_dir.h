/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 dpdk-vhostfix authors
 */

/*
 * A runtime directory of the test process's own, removed at exit. Every
 * rte_eal_init() creates one (/var/run/dpdk/<file prefix> as root), even with
 * --no-shconf, and nothing in DPDK removes it; with the default prefix a test
 * run left /var/run/dpdk/rte behind, shared with any DPDK application of the
 * machine's. A prefix named after the process keeps tests run side by side
 * apart as well.
 */

#ifndef VHF_EAL_TEST_DIR_H
#define VHF_EAL_TEST_DIR_H

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <rte_eal.h>

static char vhf_eal_test_dir_path[PATH_MAX];

/**
 * The --file-prefix argument to give rte_eal_init(): vhftest<pid>, the pid in
 * seven digits (pid_max is at most 2^22): one length whatever the pid, so
 * that EAL's allocations, and where later ones land, are the same from run to
 * run (fuzz_pmd's smoke tries the same inputs every time, run_smoke.sh).
 */
static inline char *
vhf_eal_test_dir_prefix_arg(void)
{
	static char arg[48];

	snprintf(arg, sizeof(arg), "--file-prefix=vhftest%07ld", (long)getpid());
	return arg;
}

/* atexit: what EAL left in the directory (a telemetry socket without rte_eal_cleanup()), then it. */
static inline void
vhf_eal_test_dir_remove(void)
{
	DIR *d = opendir(vhf_eal_test_dir_path);
	struct dirent *e;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		char path[PATH_MAX + 256];

		if (e->d_name[0] == '.' &&
		    (e->d_name[1] == '\0' || (e->d_name[1] == '.' && e->d_name[2] == '\0')))
			continue;
		snprintf(path, sizeof(path), "%s/%s", vhf_eal_test_dir_path, e->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(vhf_eal_test_dir_path);
}

/** After a successful rte_eal_init() with that prefix: remove its directory at exit. */
static inline void
vhf_eal_test_dir_remove_at_exit(void)
{
	snprintf(vhf_eal_test_dir_path, sizeof(vhf_eal_test_dir_path), "%s",
		 rte_eal_get_runtime_dir());
	atexit(vhf_eal_test_dir_remove);
}

#endif /* VHF_EAL_TEST_DIR_H */
