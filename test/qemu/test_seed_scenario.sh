#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors
#
# The seed's stall scenario (usertools/vhf-seed-scenario.sh) as a test: dpdk-vhostfix in
# sleep mode with QEMU-style backpressure between host taps in a network
# namespace and two Linux guests, one split and one packed.
#
# A build without the race window (race_window_us 0):
#  1. fixed: iperf3 -P 20 -w 256k from the host to each guest and, on the
#     second server, back: ping 0% loss, TCP both ways, zero stalls.
#
# A build with -Drace_window_us=N holds the window between reading the avail
# index and writing the notification request open until the guest has published
# past the index about to be named (at most N us), so that every short ring that
# meets a refill is the race. The same scenario is made to reach that short ring:
# MTU 9000 (frames that take several guest buffers), the guests'
# virtio_net.napi_weight=1 (Linux then refills after every packet: refills of one
# buffer, fewer than a jumbo frame needs), and UDP from the host (a guest that
# sends nothing back: TCP ACKs would wake the app's worker, which retries its
# backlog and so hides a lost kick):
#  1. legacy reaches a stall within seconds, confirmed: the guest answers on its
#     console and receives nothing while the app holds packets for it, and a
#     ping from the guest (which wakes the worker) ends it, so its buffers were
#     there and only the kick was lost;
#  2. fixed, same build and scenario: zero stalls, and the datapath counted
#     rechecks that found a refill racing with its notification request
#     (each one a kick the legacy algorithm would have lost).
#
# Usage: test_seed_scenario.sh <dpdk-vhostfix> <race_window_us>
# Prints TAP. Needs root and QEMU.

set -u
app=${1:-}
window_us=${2:-0}
guests=$(cd "$(dirname "$0")/../.." && pwd)/usertools/vhf-guests.sh
if [ ! -x "$app" ]; then
	echo "1..0 # SKIP usage: $0 <dpdk-vhostfix> <race_window_us>"
	exit 1
fi
. "$(dirname "$0")/qemu_lib.sh"
scenario=$(dirname "$0")/../../usertools/vhf-seed-scenario.sh
fixed_s=${VHF_QEMU_TEST_SEED_SECONDS:-20}
# Legacy stalls within seconds once the window is held: the budget is for a slow machine.
legacy_s=${VHF_QEMU_TEST_LEGACY_SECONDS:-120}
race_fixed_s=${VHF_QEMU_TEST_RACE_FIXED_SECONDS:-20}
# The race scenario: see above.
race=(--guests 2 --ring mixed --mtu 9000 --napi-weight 1 --udp 25M --streams 4)

if [ "$window_us" = 0 ]; then
	q_init 1
	"$scenario" --app "$app" --out "$q_work/fixed" --guests 2 --ring mixed --reverse \
		--seconds "$fixed_s" >"$q_work/fixed.out" 2>&1
	rc=$?
	sum=$q_work/fixed/summary.txt
	# Each of the 4 iperf3 lines (guest, port) reads "receiver R Mbit/s over A-B s" or
	# "receiver none (why)"; without a stall every R must be a number above 0.
	iperf_lines=$(grep '^iperf3 guest' "$sum" 2>/dev/null)
	rates=$(awk '{ r = "none"; for (k = 1; k < NF; k++) if ($k == "receiver") r = $(k + 1)
		print r }' <<<"$iperf_lines" | paste -sd/)
	positive=$(awk '{ for (k = 1; k + 2 <= NF; k++)
			if ($k == "receiver" && $(k + 2) == "Mbit/s" && $(k + 1) ~ /^[0-9.]+$/ &&
			    $(k + 1) + 0 > 0) { n++; break } }
		END { print n + 0 }' <<<"$iperf_lines")
	if [ "$rc" = 0 ] && [ "$positive" = 4 ] && grep -q "stall detector: 0 stall" "$sum"; then
		ok "fixed: 2 guests (split, packed), ping 0% loss, 0 stalls in ${fixed_s} s," \
			"iperf3 receiver Mbit/s g0 in/out, g1 in/out: $rates"
	else
		not_ok "fixed: scenario status $rc (0 no stall, 1 stall, 2 error), $positive of 4" \
			"iperf3 receiver rates above 0: $rates"
		diag <<<"$iperf_lines"
		diag <"$q_work/fixed.out"
		diag <"$q_work/fixed/app.log"
	fi
	[ "$tap_failed" -eq 0 ]
	exit
fi

q_init 2

# 1. legacy: a stall, and the proof that it is the lost kick. Some stalls end
# by themselves before the proof (something else woke the worker): then the
# scenario starts again, as long as the time allows.
t0=$SECONDS attempt=0 lost= rc=
while [ -z "$lost" ] && [ $((SECONDS - t0)) -lt "$legacy_s" ]; do
	attempt=$((attempt + 1))
	run=$q_work/legacy$attempt
	"$scenario" --app "$app" --out "$run" "${race[@]}" --notify legacy \
		--seconds $((legacy_s - (SECONDS - t0))) --stop-on-stall >"$run.out" 2>&1
	rc=$?
	[ "$rc" = 2 ] && break
	stall=$(grep -m1 '^STALL' "$run/detector.log" 2>/dev/null)
	lost=$(grep -m1 '^LOST-KICK' "$run/detector.log" 2>/dev/null)
done
if [ -n "$lost" ]; then
	ok "legacy, race window held up to ${window_us} us, run $attempt: $stall; $lost"
else
	not_ok "legacy, race window held up to ${window_us} us: scenario status $rc (1: a stall) after" \
		"$attempt run(s) in $legacy_s s, no stall proven to be a lost kick"
	diag <"$run.out"
fi

# 2. fixed, the same scenario and build: no stall, and the window was hit.
"$scenario" --app "$app" --out "$q_work/race-fixed" "${race[@]}" --notify fixed \
	--seconds "$race_fixed_s" >"$q_work/race-fixed.out" 2>&1
rc=$?
sum=$q_work/race-fixed/summary.txt
retries=$(awk '/RX virtqueue/ { for (k = 1; k < NF; k++) if ($k == "recheck_retries") n += $(k + 1) }
	END { print n + 0 }' "$sum" 2>/dev/null)
rates=$(grep -o 'delivered [0-9.?]* Mbit/s' "$sum" 2>/dev/null | awk '{ print $2 }' | paste -sd/)
if [ "$rc" = 0 ] && grep -q "stall detector: 0 stall" "$sum" && [ "${retries:-0}" -gt 0 ]; then
	ok "fixed, race window held up to ${window_us} us: 0 stalls in ${race_fixed_s} s, $retries rechecks" \
		"caught a refill racing with the notification request, delivered Mbit/s g0/g1: $rates"
else
	not_ok "fixed, race window held up to ${window_us} us: scenario status $rc, rechecks ${retries:-?}"
	diag <"$q_work/race-fixed.out"
	diag <"$q_work/race-fixed/app.log"
fi
[ "$tap_failed" -eq 0 ]
