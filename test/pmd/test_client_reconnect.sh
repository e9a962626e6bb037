#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors
#
# Client mode (client=1 on net_vhostfix, server=1 on net_virtio_user), traffic
# both ways with every byte checked (vhf_pmd_check --mode soak):
#  1. the virtio-user side is killed (SIGKILL, under traffic) and restarted
#     VHF_PMD_TEST_RESTARTS times (default 10) while our side runs on: each time
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

restarts=${VHF_PMD_TEST_RESTARTS:-10}
# Frames each direction must make after a (re)connect for traffic to count as
# resumed: more than a ring holds, which a survivor may still take from (or,
# sending, put into) its own ring once its peer is gone.
resume_min=${VHF_PMD_TEST_RESUME_MIN:-300}

# wait_resumed LOG PID RX0 TX0: LOG's counters get resume_min past RX0/TX0.
wait_resumed() {
	vhf_wait_until 60 "$2" pair_moved "$1" "$3" "$4" "$resume_min"
}

# The soak peers live the whole test (70 s here; meson stops it at 600 s):
# 300 s outlives it on a machine four times slower, and ends a leftover peer.
soak=(--mode soak --seconds 300 --stall-ms 0)

guest_restarts() {
	local dir=$pair_work/guest-restarts sock hpid gpid i fail=0 hrx=0 htx=0 res
	mkdir -p "$dir"
	sock=$dir/vhost.sock
	pair_start "$dir/host.log" 0 H "net_vhostfix0,iface=$sock,client=1" --role host "${soak[@]}"
	hpid=$pair_pid
	if ! vhf_wait_for "$dir/host.log" "READY" 60 "$hpid"; then
		not_ok "virtio-user restarts: our side did not come up"
		pair_diag "$dir/host.log"
		return
	fi
	for ((i = 1; i <= restarts; i++)); do
		rm -f "$sock"
		pair_start "$dir/guest.log" 1 G "net_virtio_user0,path=$sock,server=1" \
			--role guest "${soak[@]}"
		gpid=$pair_pid
		if ! wait_resumed "$dir/guest.log" "$gpid" 0 0 ||
			! wait_resumed "$dir/host.log" "$hpid" "$hrx" "$htx"; then
			echo "# restart $i: traffic did not resume"
			fail=1
		fi
		kill -KILL "$gpid" 2>/dev/null
		vhf_wait_pid "$gpid" 10
		pair_forget "$gpid"
		# The next restart's baseline: counted once our side saw the guest go
		# (detached, its counters cannot move).
		if [ "$fail" = 0 ] && ! { vhf_wait_count "$dir/host.log" "guest down" "$i" 60 \
			"$hpid" && read -r hrx htx < <(pair_baseline "$dir/host.log" "$hpid"); }
		then
			echo "# restart $i: our side did not see the guest go"
			fail=1
		fi
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
		pair_diag "$dir/host.log"
		pair_diag "$dir/guest.log"
	fi
}

host_restarts() {
	local dir=$pair_work/host-restarts sock hpid gpid i fail=0 grx=0 gtx=0 res how
	mkdir -p "$dir"
	sock=$dir/vhost.sock
	# The virtio-user server waits for its first client inside EAL init.
	pair_start "$dir/guest.log" 1 G "net_virtio_user0,path=$sock,server=1" --role guest \
		"${soak[@]}"
	gpid=$pair_pid
	for ((i = 1; i <= restarts; i++)); do
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
			vhf_wait_pid "$hpid" 10
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
		# The next restart's baseline: counted once our side is gone (the guest
		# may still take up to a ring's worth from its ring: below resume_min).
		if [ "$fail" = 0 ] &&
			! read -r grx gtx < <(pair_baseline "$dir/guest.log" "$gpid"); then
			echo "# restart $i: no progress from the virtio-user side"
			fail=1
		fi
		if ! kill -0 "$gpid" 2>/dev/null; then
			echo "# restart $i (SIG$how): the virtio-user side died"
			fail=1
		fi
		if [ "$fail" = 1 ]; then
			pair_diag "$dir/host.$i.log"
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
		pair_diag "$dir/guest.log"
	fi
}

pair_init 2
guest_restarts
host_restarts
[ "$tap_failed" -eq 0 ]
