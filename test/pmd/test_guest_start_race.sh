#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors
#
# Frames sent to a guest while it starts are not lost. The host (net_vhostfix)
# is sending before the guest (DPDK's virtio-user) exists; the guest's
# rte_eth_dev_start() posts its receive buffers and then, still inside start,
# frees whatever the device already used in them ("flush the old packets"),
# before it kicks the queue. A device that fills the ring in between loses a
# ring's worth of frames (the guest sees its first frame numbered 256, one
# out-of-order jump, and its pool 256 mbufs short at READY). The guest here
# posts its buffers slowly (--slow-start-us: every mbuf allocation sleeps
# during start), which makes that window wide enough to hit every time; the
# PMD must hold a fresh guest RX ring until the driver's first kick, and say
# so in its xstats (start_gate_kick, no start_gate_timeouts).
#
# Usage: test_guest_start_race.sh <vhf_pmd_check>
# Prints TAP. Needs root.

set -u
check=${1:-}
. "$(dirname "$0")/pmd_pair.sh"

count=${VHF_PMD_TEST_COUNT:-3000}

# run_case NAME RING QUEUES
run_case() {
	local name=$1 ring=$2 nq=$3
	local dir=$pair_work/$name sock hargs gargs hpid gpid hres gres fail= q kicks
	mkdir -p "$dir"
	sock=$dir/vhost.sock
	pair_vdevs "$sock" "$ring" ",queues=$nq"
	pair_start "$dir/host.log" 0 H "$hargs" --role host --mode verify --count "$count" \
		--queues "$nq" --seconds 30 --xstats
	hpid=$pair_pid
	if ! vhf_wait_for "$dir/host.log" "READY" 60 "$hpid"; then
		not_ok "$name: host did not come up"
		pair_diag "$dir/host.log"
		pair_stop "$hpid"
		pair_pids=()
		return
	fi
	pair_start "$dir/guest.log" 1 G "$gargs" --role guest --mode verify --count "$count" \
		--queues "$nq" --seconds 30 --slow-start-us 20
	gpid=$pair_pid
	pair_finish "$dir" "$hpid" "$gpid" 40
	[[ "$hres" == "RESULT ok"* ]] || fail+=" host: ${hres:-no result};"
	[[ "$gres" == "RESULT ok"* ]] || fail+=" guest: ${gres:-no result};"
	for ((q = 0; q < nq; q++)); do
		kicks=$(pair_xstat "$dir/host.log" "tx_q${q}_start_gate_kick")
		[ "$kicks" -ge 1 ] || fail+=" tx queue $q: the start gate did not open on a kick;"
	done
	grep -q "^XSTAT tx_q[0-9]*_start_gate_timeouts" "$dir/host.log" &&
		fail+=" a start gate opened on its deadline;"
	if [ -z "$fail" ]; then
		ok "$name: guest started under traffic, $count frames/queue each way, none lost"
	else
		not_ok "$name:$fail"
		grep "OUT OF ORDER" "$dir/guest.log" | head -4 | diag
		pair_diag "$dir/host.log"
		pair_diag "$dir/guest.log"
	fi
	rm -f "$sock"
}

pair_init 4
run_case packed-q1 packed 1
run_case packed-q2 packed 2
run_case split-q1 split 1
run_case split-q2 split 2
[ "$tap_failed" -eq 0 ]
