#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors
#
# Sourced by every shell test: TAP output. A test prints its plan with
# tap_plan, one line per case with ok/not_ok (or check after a command's
# status), the logs that explain a failure through diag, and ends with
# `[ "$tap_failed" -eq 0 ]` so that its exit status agrees with its lines.
# Each case line ends with the seconds since the previous one (or the plan):
# a case that passes after a long wait shows where the time went.

tap_n=0
tap_failed=0
tap_t0=${EPOCHREALTIME//[!0-9]/}
# Lines of a log that diag shows (its end: where a failure usually is).
tap_diag_lines=${VHF_TEST_DIAG_LINES:-60}

# tap_plan N: the plan line.
tap_plan() {
	echo "1..$1"
	tap_t0=${EPOCHREALTIME//[!0-9]/}
}

# tap_took: sets tap_took_s to " (S.s s)", the time since the previous case
# line, and restarts the clock.
tap_took() {
	local now=${EPOCHREALTIME//[!0-9]/} ds
	ds=$(((now - tap_t0) / 100000))
	tap_t0=$now
	tap_took_s=" ($((ds / 10)).$((ds % 10)) s)"
}

ok() {
	tap_n=$((tap_n + 1))
	tap_took
	echo "ok $tap_n - $*$tap_took_s"
}

not_ok() {
	tap_n=$((tap_n + 1))
	tap_failed=$((tap_failed + 1))
	tap_took
	echo "not ok $tap_n - $*$tap_took_s"
}

# check STATUS MESSAGE...: ok when STATUS is 0, else not ok.
check() {
	local rc=$1
	shift
	if [ "$rc" = 0 ]; then ok "$@"; else not_ok "$@"; fi
}

# tap_skip_rest N REASON: every case from the next one to N skipped; exits 0.
tap_skip_rest() {
	local i
	for ((i = tap_n + 1; i <= $1; i++)); do
		echo "ok $i # SKIP $2"
	done
	exit 0
}

# diag <LOG: the end of stdin as TAP comments (carriage returns of serial
# consoles dropped). A last line without its newline (a prompt) gets one, or
# the next TAP line would continue it.
diag() {
	tr -d '\r' | sed -e 's/^/# /' -e '$a\' | tail -n "$tap_diag_lines"
}
