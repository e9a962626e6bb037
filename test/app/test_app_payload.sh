#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors
#
# dpdk-vhostfix between two guests: DPDK's virtio-user in two vhf_pmd_check
# processes, one on each of the app's net_vhost ports. Frames cross the app
# both ways and every byte is checked, in order, none lost: in poll and sleep
# modes, split and packed rings, 64 B and jumbo frames, and with a guest that
# stops refilling now and then, so that the app's backlog fills and it stops
# taking from the other guest (QEMU-style backpressure) instead of dropping.
# That guest also holds once (--hold-after) until the app has paused (or, with
# --backlog-full drop, dropped): the behaviour under test happens whatever the
# scheduling, not only if a refill pause finds the sender running.
#
# Usage: test_app_payload.sh <dpdk-vhostfix> <vhf_pmd_check>

set -u
app=${1:-}
check=${2:-}
. "$(dirname "$0")/app_env.sh"

count=${VHF_APP_TEST_COUNT:-20000}
count_jumbo=${VHF_APP_TEST_COUNT_JUMBO:-3000}

# run_case NAME MODE RING LENS "APP OPTIONS" "GUEST OPTIONS" EXPECT_PAUSE [QUEUES]
run_case() {
	local name=$1 mode=$2 ring=$3 lens=$4 appopts=$5 gopts=$6 expect_pause=$7 nq=${8:-1}
	local dir=$pair_work/$name n=$count v0 v1 p0 p1 hres gres rc stats
	mkdir -p "$dir"
	[ "$lens" != 64 ] && n=$count_jumbo
	app_vdevs "$dir" "$ring" ",queues=$nq"
	# shellcheck disable=SC2086
	app_start "$dir/app.log" --vdev "$v0" --vdev "$v1" -- --mode "$mode" $appopts
	if ! app_up "$dir/app.log"; then
		not_ok "$name: the app did not come up"
		diag <"$dir/app.log"
		app_stop
		return
	fi
	pair_start "$dir/host.log" 0 H "$p0" --role host --mode verify --count "$n" \
		--lens "$lens" --seconds 90 --queues "$nq"
	local hpid=$pair_pid
	# shellcheck disable=SC2086
	pair_start "$dir/guest.log" 1 G "$p1" --role guest --mode verify --count "$n" \
		--lens "$lens" --seconds 90 --queues "$nq" $gopts
	local gpid=$pair_pid
	if [ "$expect_pause" = 1 ]; then
		vhf_wait_for "$dir/guest.log" "^HOLD 1 " 60 "$gpid" &&
			vhf_wait_until 60 "$app_pid" app_stream_stat_ge net_vhost0 paused 1
		kill -USR1 "$gpid"
	fi
	vhf_wait_for "$dir/host.log" "^RESULT" 100 "$hpid"
	vhf_wait_for "$dir/guest.log" "^RESULT" 30 "$gpid"
	pair_stop "$hpid"
	pair_stop "$gpid"
	pair_forget "$hpid"
	pair_forget "$gpid"
	app_stop
	rc=$?
	hres=$(grep "^RESULT" "$dir/host.log")
	gres=$(grep "^RESULT" "$dir/guest.log")
	stats=$(grep "^stream" "$dir/app.log" | tail -$((2 * nq)))
	local fail=
	[[ "$hres" == "RESULT ok"* ]] || fail+=" host: ${hres:-no result};"
	[[ "$gres" == "RESULT ok"* ]] || fail+=" guest: ${gres:-no result};"
	[ "$rc" -eq 0 ] || fail+=" app exit status $rc;"
	grep -q "drop-backlog-full 0 drop-broken 0" <<<"$stats" && \
		! grep -q "drop-backlog-full [1-9]\|drop-broken [1-9]" <<<"$stats" ||
		fail+=" app dropped;"
	if [ "$nq" -gt 1 ] && ! { grep -q "lcore 1: net_vhost0:0 <-> net_vhost1:0" "$dir/app.log" &&
		grep -q "lcore 2: net_vhost0:1 <-> net_vhost1:1" "$dir/app.log"; }; then
		fail+=" queues not spread over lcores 1 and 2;"
	fi
	# Every worker's exit line: cycles of steps that moved frames (busy) and of
	# empty polls (idle; at least those before the guests came) both counted.
	if [ "$(grep "^lcore [0-9]* sleeps" "$dir/app.log" | tail -"$nq" |
		grep -c "busy-cycles [1-9][0-9]* idle-cycles [1-9][0-9]* .*busy-pct [0-9]")" -ne "$nq" ]; then
		fail+=" a worker counted no busy or no idle cycles;"
	fi
	if [ "$expect_pause" = 1 ] && ! grep -q "paused [1-9]" <<<"$stats"; then
		fail+=" the backlog never filled (no backpressure exercised);"
	fi
	if [ -z "$fail" ]; then
		ok "$name: $n frames each way through the app, every byte checked$(
			[ "$expect_pause" = 1 ] && echo ", backlog filled and the source paused")"
		[ -n "${VHF_APP_TEST_VERBOSE:-}" ] && diag <"$dir/app.log"
	else
		not_ok "$name:$fail"
		diag <"$dir/app.log"
		pair_diag "$dir/host.log"
		pair_diag "$dir/guest.log"
	fi
}

# --backlog-full drop: the same refill-stopping guest, the app drops (and
# counts) what does not fit instead of pausing; every frame that arrives is
# still intact. Soak mode: losses are expected here, corruption is not. The
# guest holds until the app has dropped, then both sides run until each has
# sent and received again.
drop_case() {
	local name=drop-policy dir=$pair_work/drop-policy hres gres stats fail= hrx htx grx gtx
	mkdir -p "$dir"
	app_start "$dir/app.log" --vdev "net_vhost0,iface=$dir/v0.sock" \
		--vdev "net_vhost1,iface=$dir/v1.sock" -- --mode sleep --backlog 64 \
		--backlog-full drop
	if ! app_up "$dir/app.log"; then
		not_ok "$name: the app did not come up"
		diag <"$dir/app.log"
		app_stop
		return
	fi
	# Both peers are stopped once the checks below are done (about 5 s). Their
	# own end is also a bound: twice in this test a wait blocked for about 600 s
	# until the peers, then children of this shell, ended at their 600 s (see
	# vhf_spawn in usertools/vhf-wait.sh); 120 s leaves every wait below its
	# time.
	pair_start "$dir/host.log" 0 H "net_virtio_user0,path=$dir/v0.sock" --role host \
		--mode soak --seconds 120
	local hpid=$pair_pid
	pair_start "$dir/guest.log" 1 G "net_virtio_user1,path=$dir/v1.sock" --role guest \
		--mode soak --seconds 120 --pause-every 2000 --pause-ms 30 --hold-after 2000
	local gpid=$pair_pid
	if vhf_wait_for "$dir/guest.log" "^HOLD 1 " 60 "$gpid" &&
		vhf_wait_until 60 "$app_pid" app_stream_stat_ge net_vhost0 drop_backlog_full 1; then
		kill -USR1 "$gpid"
		# Traffic again both ways after the hold, counted from then.
		# No baseline (no progress line within 60 s) is a failure, not a zero.
		if ! read -r hrx htx < <(pair_baseline "$dir/host.log" "$hpid") ||
			! read -r grx gtx < <(pair_baseline "$dir/guest.log" "$gpid"); then
			fail+=" no progress lines after the hold;"
		elif ! vhf_wait_until 60 "$hpid" pair_moved "$dir/host.log" "$hrx" "$htx" 1 ||
			! vhf_wait_until 60 "$gpid" pair_moved "$dir/guest.log" "$grx" "$gtx" 1; then
			fail+=" traffic did not go on after the hold;"
		fi
	else
		kill -USR1 "$gpid"
		fail+=" the guest did not hold, or the app did not drop;"
	fi
	pair_stop "$hpid"; pair_forget "$hpid"
	pair_stop "$gpid"; pair_forget "$gpid"
	app_stop || fail+=" app exit status $?;"
	hres=$(grep "^RESULT" "$dir/host.log")
	gres=$(grep "^RESULT" "$dir/guest.log")
	stats=$(grep "^stream net_vhost0:0->net_vhost1:0" "$dir/app.log" | tail -1)
	[[ "$hres" == "RESULT ok"* ]] || fail+=" host: ${hres:-no result};"
	[[ "$gres" == "RESULT ok"* ]] || fail+=" guest: ${gres:-no result};"
	grep -q "drop-backlog-full [1-9]" <<<"$stats" || fail+=" nothing dropped: $stats;"
	grep -q "paused 0 " <<<"$stats" || fail+=" the source paused in drop mode;"
	if [ -z "$fail" ]; then
		ok "$name: backlog full, dropped and counted ($(grep -o 'drop-backlog-full [0-9]*' \
			<<<"$stats")), never paused, every frame that arrived intact"
	else
		not_ok "$name:$fail"
		diag <"$dir/app.log"
		pair_diag "$dir/guest.log"
	fi
}

pair_init 10
run_case poll-split-64 poll split 64 "" "" 0
run_case poll-packed-64 poll packed 64 "" "" 0
run_case sleep-split-64 sleep split 64 "" "" 0
run_case sleep-packed-64 sleep packed 64 "" "" 0
run_case sleep-split-jumbo sleep split 64,1500,9000 "" "" 0
run_case poll-packed-jumbo poll packed 64,1500,9000 "" "" 0
# The receiving guest stops refilling for 30 ms every 2000 frames: its ring and
# then the app's 64-packet backlog fill, and the app must pause, not drop.
run_case sleep-split-backpressure sleep split 64 "--backlog 64" \
	"--pause-every 2000 --pause-ms 30 --hold-after 1000" 1
run_case sleep-packed-backpressure sleep packed 64 "--backlog 64" \
	"--pause-every 2000 --pause-ms 30 --hold-after 1000" 1
drop_case
# Two queue pairs, one per worker lcore (three lcores on two CPUs).
app_lcores=(--lcores 0@0,1@1,2@0)
run_case sleep-split-2queues-2lcores sleep split 64 "" "" 0 2
app_lcores=(-l 0-1)
[ "$tap_failed" -eq 0 ]
