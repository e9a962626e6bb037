#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors
#
# Sourced by the scripts that start processes (tests, the demo): waiting for
# them by PID, and for a line in their logs.

# vhf_wait_pid PID SECONDS: true once PID has exited. A child of ours is
# reaped and its exit status left in vhf_wait_status.
vhf_wait_status=
vhf_wait_pid() {
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		if ! kill -0 "$1" 2>/dev/null; then
			wait "$1" 2>/dev/null
			vhf_wait_status=$?
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# vhf_wait_for FILE PATTERN SECONDS PID: true once PATTERN shows up in FILE;
# false after SECONDS, or once PID has exited without printing it.
vhf_wait_for() {
	local i
	for ((i = 0; i < $3 * 10; i++)); do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		kill -0 "$4" 2>/dev/null || { grep -q -- "$2" "$1" 2>/dev/null; return; }
		sleep 0.1
	done
	return 1
}
