/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 dpdk-vhostfix authors
 */

#ifndef VHF_RACE_TAP_H
#define VHF_RACE_TAP_H

/*
 * TAP output of the race tests: ok() prints one numbered result line;
 * main() ends with printf("1..%d\n", test_num) and returns test_failed != 0.
 * One program per test file, so the counters are the file's own.
 */

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

static int test_num;
static int test_failed;

static void ok(bool cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
ok(bool cond, const char *fmt, ...)
{
	va_list ap;

	test_num++;
	printf("%s %d - ", cond ? "ok" : "not ok", test_num);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	if (!cond)
		test_failed++;
}

#endif /* VHF_RACE_TAP_H */
