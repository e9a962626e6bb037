#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors
#
# Client mode (client=1 on net_vhostfix, server=1 on net_virtio_user), traffic
# both ways with every byte checked (vhf_pmd_check --mode soak):
#  1. the virtio-user side is killed (SIGKILL, under traffic) and restarted
#     VHF_PMD_TEST_RESTARTS times (default 20) while our side runs on: each time
#     our side reconnects and traffic resumes both ways; at the end our side
#     stops cleanly with no altered frame and its mbufs in use back to baseline;
#  2. our side is restarted as many times while the virtio-user server runs on,
#     alternately killed (SIGKILL) and stopped cleanly (SIGTERM, then its pool
#     must be back to baseline); traffic resumes each time.
#
# Usage: test_client_reconnect.sh <vhf_pmd_check>
# Prints TAP. Needs root.

set -u
check=${1:-}
. "$(dirname "$0")/pmd_pair.sh"

restarts=${VHF_PMD_TEST_RESTARTS:-20}
# Frames each direction must make after a (re)connect for traffic to count as resumed.
resume_min=${VHF_PMD_TEST_RESUME_MIN:-100}

# last_progress LOG FIELD: last value of "progress rx R tx T ..." (FIELD rx|tx).
last_progress() {
	awk -v f="$2" '/^progress/ { for (i = 2; i < NF; i += 2) if ($i == f) v = $(i + 1) }
		END { print v + 0 }' "$1" 2>/dev/null || echo 0
}

# wait_resumed LOG PID RX0 TX0: both counters at least resume_min past RX0/TX0.
wait_resumed() {
	local i rx tx
	for ((i = 0; i < 150; i++)); do
		rx=$(last_progress "$1" rx)
		tx=$(last_progress "$1" tx)
		[ "$rx" -ge $(($3 + resume_min)) ] && [ "$tx" -ge $(($4 + resume_min)) ] && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

soak=(--mode soak --seconds 3600 --stall-ms 0)

guest_restarts() {
	local dir=$pair_work/guest-restarts sock hpid gpid i fail=0 hrx htx res
	mkdir -p "$dir"
	sock=$dir/vhost.sock
	pair_start "$dir/host.log" 0 H "net_vhostfix0,iface=$sock,client=1" --role host "${soak[@]}"
	hpid=$pair_pid
	if ! vhf_wait_for "$dir/host.log" "READY" 60 "$hpid"; then
		not_ok "virtio-user restarts: our side did not come up"
		diag <"$dir/host.log"
		return
	fi
	for ((i = 1; i <= restarts; i++)); do
		rm -f "$sock"
		hrx=$(last_progress "$dir/host.log" rx)
		htx=$(last_progress "$dir/host.log" tx)
		pair_start "$dir/guest.log" 1 G "net_virtio_user0,path=$sock,server=1" \
			--role guest "${soak[@]}"
		gpid=$pair_pid
		if ! wait_resumed "$dir/guest.log" "$gpid" 0 0 ||
			! wait_resumed "$dir/host.log" "$hpid" "$hrx" "$htx"; then
			echo "# restart $i: traffic did not resume"
			fail=1
		fi
		kill -KILL "$gpid" 2>/dev/null
		wait "$gpid" 2>/dev/null
		pair_forget "$gpid"
		if ! kill -0 "$hpid" 2>/dev/null; then
			echo "# restart $i: our side died"
			fail=1
		fi
		[ "$fail" = 1 ] && break
	done
	pair_stop "$hpid"
	pair_forget "$hpid"
	res=$(grep "^RESULT" "$dir/host.log")
	if [ "$fail" = 0 ] && [[ "$res" == "RESULT ok"* ]] &&
		[[ "$res" == *"in_use_base 0 in_use_end 0" ]]; then
		ok "virtio-user killed and restarted $restarts times under traffic: our side" \
			"reconnected each time, ${res#RESULT ok role host }"
	else
		not_ok "virtio-user restarts (done $((i - 1)) of $restarts): ${res:-no result}"
		diag <"$dir/host.log"
		diag <"$dir/guest.log"
	fi
}

host_restarts() {
	local dir=$pair_work/host-restarts sock hpid gpid i fail=0 grx gtx res how
	mkdir -p "$dir"
	sock=$dir/vhost.sock
	# The virtio-user server waits for its first client inside EAL init.
	pair_start "$dir/guest.log" 1 G "net_virtio_user0,path=$sock,server=1" --role guest \
		"${soak[@]}"
	gpid=$pair_pid
	for ((i = 1; i <= restarts; i++)); do
		grx=$(last_progress "$dir/guest.log" rx)
		gtx=$(last_progress "$dir/guest.log" tx)
		pair_start "$dir/host.$i.log" 0 H "net_vhostfix0,iface=$sock,client=1" --role host \
			"${soak[@]}"
		hpid=$pair_pid
		if ! wait_resumed "$dir/host.$i.log" "$hpid" 0 0 ||
			! wait_resumed "$dir/guest.log" "$gpid" "$grx" "$gtx"; then
			echo "# restart $i: traffic did not resume"
			fail=1
		fi
		if ((i % 2)); then
			how=KILL
			kill -KILL "$hpid" 2>/dev/null
			wait "$hpid" 2>/dev/null
		else
			how=TERM
			pair_stop "$hpid"
			res=$(grep "^RESULT" "$dir/host.$i.log")
			if [[ "$res" != "RESULT ok"* ]] || [[ "$res" != *"in_use_base 0 in_use_end 0" ]]
			then
				echo "# restart $i: our side stopped with: ${res:-no result}"
				fail=1
			fi
		fi
		pair_forget "$hpid"
		if ! kill -0 "$gpid" 2>/dev/null; then
			echo "# restart $i (SIG$how): the virtio-user side died"
			fail=1
		fi
		if [ "$fail" = 1 ]; then
			diag <"$dir/host.$i.log"
			break
		fi
		rm -f "$dir/host.$i.log"
	done
	pair_stop "$gpid"
	pair_forget "$gpid"
	res=$(grep "^RESULT" "$dir/guest.log")
	if [ "$fail" = 0 ] && [[ "$res" == "RESULT ok"* ]]; then
		ok "our side restarted $restarts times (SIGKILL and SIGTERM alternately) under" \
			"traffic: resumed each time, clean stops back to 0 mbufs in use; virtio-user:" \
			"${res#RESULT ok role guest }"
	else
		not_ok "our side restarts (done $((i - 1)) of $restarts): virtio-user:" \
			"${res:-no result}"
		diag <"$dir/guest.log"
	fi
}

pair_init 2
guest_restarts
host_restarts
[ "$tap_failed" -eq 0 ]
