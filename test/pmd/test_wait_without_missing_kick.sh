#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors
#
# Sleeping on net_vhostfix without missing a kick, against DPDK's virtio-user,
# split and packed, EVENT_IDX on and off:
#  - rx interrupts: our side only receives and, whenever a poll finds nothing,
#    sleeps on rte_eth_dev_rx_intr_ctl_q/rte_epoll_wait after
#    rte_eth_dev_rx_intr_enable; the guest sends paced bursts. Every frame must
#    arrive (bytes checked), our side must have slept, and no sleep may reach
#    the safety timeout (that is a stall: failure).
#  - tx wait: our side only sends; the guest stops refilling its RX queue for
#    a while now and then, so tx_burst comes back short; our side then arms with
#    rte_pmd_vhostfix_tx_wait_arm and sleeps on rte_pmd_vhostfix_tx_wait_fd.
#    The guest's refill kick must end every sleep before the safety timeout;
#    every frame must arrive, bytes checked. Jumbo frames with mergeable
#    buffers wait for several guest buffers at once. Only the arms ask the
#    guest for kicks, never a short tx_burst (it polls): one queue's
#    kick_waits equal our side's sleeps after TX_WAIT (guest_sleeps).
# In both, the queue's xstats must show the PMD's side of it: guest kicks
# drained from the kick eventfd (<dir>_q0_guest_kicks) and sleeps that ended
# on an event (<dir>_q0_wakeups), next to the arms that said "sleep"
# (kick_waits).
#
# Nothing here depends on how the two processes are scheduled. The guest
# holds (--hold-after 0) before its first frame until our side is asleep with
# it attached (telemetry in_guest_sleep): a sleep only the guest can end, so
# at least one wake-up on a kick is certain. The tx-wait PMD counts that
# wake-up at its next arm: the guest holds a second time after more frames than
# its ring takes, so that there is one (guest_sleeps grows past what it was).
# The stall window is 30 s (a lost kick is a sleep that never ends; a loaded
# machine delays a kick by far less), and a side stopped before its count is
# not a pass.
#
# Usage: test_wait_without_missing_kick.sh <vhf_pmd_check>
# Prints TAP. Needs root.

set -u
check=${1:-}
. "$(dirname "$0")/pmd_pair.sh"

stall_ms=${VHF_PMD_TEST_STALL_MS:-30000}
run_s=60

# run_case NAME MODE HOSTDEV GUESTDEV HOSTARGS GUESTARGS
run_case() {
	local name=$1 mode=$2 dir=$pair_work/$1 sock hpid gpid hres gres rx why= qn kicks wakeups
	local slept
	mkdir -p "$dir"
	sock=$dir/vhost.sock
	pair_start "$dir/host.log" 0 H "net_vhostfix0,iface=$sock$3" --role host --mode "$mode" \
		--stall-ms "$stall_ms" --seconds "$run_s" --xstats $5
	hpid=$pair_pid
	if ! vhf_wait_for "$dir/host.log" "READY" 60 "$hpid"; then
		not_ok "$name: our side did not come up"
		pair_diag "$dir/host.log"
		pair_stop "$hpid"
		return
	fi
	# shellcheck disable=SC2086
	pair_start "$dir/guest.log" 1 G "net_virtio_user0,path=$sock$4" --role guest \
		--mode "$mode" --seconds "$run_s" $6
	gpid=$pair_pid
	if vhf_wait_for "$dir/guest.log" "^HOLD 1 " 60 "$gpid" &&
		vhf_wait_until 60 "$hpid" pair_stat_ge H in_guest_sleep 1; then
		slept=$(pair_stat H guest_sleeps)
		kill -USR1 "$gpid"
		# Another sleep began (its arm counted the wake-up); then the second resume.
		if [ "$mode" = txwait ] &&
			! vhf_wait_until 60 "$hpid" pair_stat_ge H guest_sleeps $((slept + 1)); then
			why+=" no sleep after the guest's first hold;"
		fi
	else
		why+=" not asleep with the guest on hold;"
	fi
	# Resumes to spare are harmless; a guest left on hold would hide the failure.
	kill -USR1 "$gpid" 2>/dev/null
	kill -USR1 "$gpid" 2>/dev/null
	pair_finish "$dir" "$hpid" "$gpid" $((run_s + stall_ms / 1000 + 30))
	[[ "$hres" == "RESULT ok"* ]] || why+=" our side failed;"
	[[ "$gres" == "RESULT ok"* ]] || why+=" guest failed;"
	[ "$(pair_field "$hres" sleeps)" -gt 0 ] 2>/dev/null || why+=" never slept;"
	[ "$(pair_field "$hres" stalls)" = 0 ] || why+=" stalled;"
	if [ "$mode" = txwait ]; then
		[ "$(pair_field "$hres" short_tx)" -gt 0 ] 2>/dev/null || why+=" tx_burst never short;"
		[ "$(pair_xstat "$dir/host.log" tx_q0_kick_waits)" = \
			"$(pair_field "$hres" guest_sleeps)" ] ||
			why+=" kicks armed outside tx_wait_arm (kick_waits $(pair_xstat \
			"$dir/host.log" tx_q0_kick_waits), guest_sleeps $(pair_field "$hres" \
			guest_sleeps));"
	fi
	if [ "$mode" = txwait ]; then rx=$(pair_field "$gres" received); else rx=$(pair_field "$hres" received); fi
	if [ "$mode" = txwait ]; then qn=tx_q0; else qn=rx_q0; fi
	kicks=$(pair_xstat "$dir/host.log" ${qn}_guest_kicks)
	wakeups=$(pair_xstat "$dir/host.log" ${qn}_wakeups)
	[ "$kicks" -gt 0 ] || why+=" xstat ${qn}_guest_kicks 0;"
	[ "$wakeups" -gt 0 ] || why+=" xstat ${qn}_wakeups 0;"
	if [ -z "$why" ]; then
		ok "$name: sleeps $(pair_field "$hres" sleeps), woken $(pair_field "$hres" wakes)," \
			"not slept (work pending) $(pair_field "$hres" no_sleep), stalls 0;" \
			"xstats ${qn}: kick_waits $(pair_xstat "$dir/host.log" ${qn}_kick_waits)," \
			"guest_kicks $kicks, wakeups $wakeups;" \
			"$rx frames received, bytes checked"
	else
		not_ok "$name:$why host: ${hres:-no result}; guest: ${gres:-no result}"
		pair_diag "$dir/host.log"
		pair_diag "$dir/guest.log"
	fi
	rm -f "$sock"
}

pair_init 10
for ring in split packed; do
	if [ "$ring" = packed ]; then h=",packed=1" g=",packed_vq=1"; else h= g=; fi
	for ev in 1 0; do
		run_case "rx-intr-$ring-event_idx$ev" rxintr "$h,event_idx=$ev" "$g" \
			"--count 3000" "--count 3000 --pace-ms 10 --hold-after 0"
		run_case "tx-wait-$ring-event_idx$ev" txwait "$h,event_idx=$ev" "$g" \
			"--count 20000" \
			"--count 20000 --pause-every 1000 --pause-ms 50 --hold-after 0,1000"
	done
	run_case "tx-wait-$ring-jumbo-mergeable" txwait "$h" "$g" \
		"--count 3000 --lens 64,9000" \
		"--count 3000 --lens 64,9000 --pause-every 300 --pause-ms 50 --hold-after 0,1000"
done
[ "$tap_failed" -eq 0 ]
