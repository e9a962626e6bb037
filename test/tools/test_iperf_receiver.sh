#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors
#
# The seed scenario's report of iperf3 (usertools/vhf-stall.py receiver, which
# usertools/vhf-seed-scenario.sh prints per guest and port): on captured client
# outputs, the receiver's rate in Mbit/s from whatever unit iperf3 used, with
# -P 1 (no [SUM] line) and -P N, TCP and UDP, either direction; and "none
# (why)" where the output holds no measurement: the zeros iperf3 prints for a
# client stopped by a signal, a failed client, a client not yet done.

here=$(cd "$(dirname "$0")" && pwd)
. "$here/../tap.sh"
stall_py=$here/../../usertools/vhf-stall.py
fixtures=$here/iperf3

cases=$(grep -v '^#' "$fixtures/expected.txt" | grep -c .)
tap_plan "$cases"
while IFS=$'\t' read -r log want; do
	case "$log" in '#'* | '') continue ;; esac
	got=$(python3 "$stall_py" receiver "$fixtures/$log" 2>&1)
	rc=$?
	# Status 0 exactly when a rate is printed.
	want_rc=0
	[ "${want#none}" != "$want" ] && want_rc=1
	if [ "$got" = "$want" ] && [ "$rc" = "$want_rc" ]; then
		ok "$log: $got"
	else
		not_ok "$log: printed '$got' (status $rc), expected '$want' (status $want_rc)"
	fi
done <"$fixtures/expected.txt"
[ "$tap_failed" -eq 0 ]
