#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors
#
# Sleep mode under stress: two virtio-user guests (vhf_pmd_check) through the
# app, the receiving guest refilling its RX ring in bursts (it stops taking
# frames for a few ms every few hundred), a small backlog so the app keeps
# pausing its source, and the CPU oversubscribed (busy loops beside the three
# DPDK processes on two cores). A watchdog (usertools/vhf-stats.py) reads the
# app's telemetry: a stream with packets queued that sends nothing for 30 s,
# while the guest refills every few ms, is a stall (a lost kick never ends; an
# oversubscribed CPU delays one by far less). Zero stalls, every frame
# delivered in order and checked, nothing dropped. Whatever the watchdog says,
# a stall that lasts fails the run: the guests never complete.
#
# The receiving guest also holds once (--hold-after) until the app has paused
# its source, so that backpressure happens whatever the scheduling. The
# watchdog itself: the receiving guest holds until the watchdog has reported
# the stall that this makes, then goes on.
#
# Usage: test_app_stress.sh <dpdk-vhostfix> <vhf_pmd_check>

set -u
app=${1:-}
check=${2:-}
. "$(dirname "$0")/app_env.sh"

count=${VHF_APP_TEST_STRESS_COUNT:-300000}
burners=${VHF_APP_TEST_BURNERS:-2}

# run_case NAME RING [EXPECT_STALL COUNT GUEST_OPTIONS]
run_case() {
	local name=$1 ring=$2 expect_stall=${3:-0} n=${4:-$count}
	local gopts=${5:-"--pause-every 300 --pause-ms 3 --hold-after 1000"} stall_s=30
	local dir=$pair_work/$1 v0 v1 p0 p1 i hres gres stats rc fail= wpid
	mkdir -p "$dir"
	app_vdevs "$dir" "$ring"
	app_prefix=${pair_prefix}S$name
	app_start "$dir/app.log" --vdev "$v0" --vdev "$v1" -- --mode sleep --backlog 64 \
		--idle-us 50
	if ! app_up "$dir/app.log"; then
		not_ok "$name: the app did not come up"
		diag <"$dir/app.log"
		app_stop
		return
	fi
	for ((i = 0; i < burners; i++)); do
		# Bounded as the guests are (--seconds 240), in case nobody stops it.
		vhf_spawn /dev/null timeout 300 bash -c 'while :; do :; done'
		pair_pids+=("$vhf_spawn_pid")
		burner_pids+=("$vhf_spawn_pid")
	done
	# Stopping the guest is what the watchdog must see: a short window will do.
	[ "$expect_stall" = 1 ] && stall_s=5
	vhf_spawn "$dir/watchdog.log" "$top/usertools/vhf-stats.py" --file-prefix "$app_prefix" \
		--watch 300 --stall-s "$stall_s" --interval 0.5
	wpid=$vhf_spawn_pid
	pair_pids+=("$wpid")
	pair_start "$dir/host.log" 0 H "$p0" --role host --mode verify --count "$n" \
		--seconds 240
	local hpid=$pair_pid
	# shellcheck disable=SC2086
	pair_start "$dir/guest.log" 1 G "$p1" --role guest --mode verify --count "$n" \
		--seconds 240 $gopts
	local gpid=$pair_pid
	# The guest on hold: what it is waiting for, then on.
	if vhf_wait_for "$dir/guest.log" "^HOLD 1 " 60 "$gpid"; then
		if [ "$expect_stall" = 1 ]; then
			vhf_wait_for "$dir/watchdog.log" "^STALL" 60 "$wpid"
		else
			vhf_wait_until 60 "$app_pid" app_stream_stat_ge net_vhost0 paused 1
		fi
	fi
	kill -USR1 "$gpid"
	vhf_wait_for "$dir/host.log" "^RESULT" 250 "$hpid"
	vhf_wait_for "$dir/guest.log" "^RESULT" 30 "$gpid"
	pair_stop "$hpid"; pair_forget "$hpid"
	pair_stop "$gpid"; pair_forget "$gpid"
	pair_stop "$wpid"; pair_forget "$wpid"
	for i in "${burner_pids[@]}"; do
		pair_stop "$i"; pair_forget "$i"
	done
	burner_pids=()
	app_stop
	rc=$?
	hres=$(grep "^RESULT" "$dir/host.log")
	gres=$(grep "^RESULT" "$dir/guest.log")
	stats=$(grep "^stream" "$dir/app.log" | tail -2)
	[[ "$hres" == "RESULT ok"* ]] || fail+=" host: ${hres:-no result};"
	[[ "$gres" == "RESULT ok"* ]] || fail+=" guest: ${gres:-no result};"
	[ "$rc" -eq 0 ] || fail+=" app exit status $rc;"
	grep -q "^sample" "$dir/watchdog.log" || fail+=" the watchdog read nothing;"
	if [ "$expect_stall" = 1 ]; then
		grep -q "^STALL" "$dir/watchdog.log" ||
			fail+=" the watchdog missed a guest on hold;"
	else
		grep -q "^STALL" "$dir/watchdog.log" &&
			fail+=" $(grep -c '^STALL' "$dir/watchdog.log") stall(s);"
	fi
	grep -q "drop-backlog-full [1-9]\|drop-broken [1-9]" <<<"$stats" && fail+=" app dropped;"
	grep -q "paused [1-9]" <<<"$stats" || fail+=" the source never paused;"
	if [ -z "$fail" ] && [ "$expect_stall" = 1 ]; then
		ok "$name: the watchdog reports a guest that stops refilling: $(grep -m1 \
			'^STALL' "$dir/watchdog.log")"
	elif [ -z "$fail" ]; then
		ok "$name: $n frames each way, in order, checked; 0 stalls in $(grep -c '^sample' \
			"$dir/watchdog.log") watchdog samples; $(grep '^lcore' "$dir/app.log" | tail -1)"
	else
		not_ok "$name:$fail"
		diag <"$dir/app.log"
		diag <"$dir/watchdog.log"
		pair_diag "$dir/guest.log"
	fi
}

burner_pids=()
pair_init 3
run_case stress-split split
run_case stress-packed packed
# The watchdog itself: a guest that stops refilling (until the watchdog says so).
run_case watchdog-sees-stopped-guest split 1 5000 "--hold-after 2000"
[ "$tap_failed" -eq 0 ]
