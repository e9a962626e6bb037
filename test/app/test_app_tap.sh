#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors
#
# Real traffic through dpdk-vhostfix: the kernel's ping and a TCP stream
# between two network namespaces, one behind the app's net_tap "NIC", the other
# behind a guest (DPDK's virtio-user in dpdk-testpmd, forwarding to a tap):
#   ns NIC: tap <-> dpdk-vhostfix <-> vhost-user <-> virtio-user <-> tap: ns guest
# Poll and sleep modes, split and packed rings; the app's stats over
# telemetry; SIGTERM ends it with status 0.
#
# And a guest sending frames larger than the NIC's MTU: dropped and counted,
# never left at the head of the backlog to block what follows.
#
# Usage: test_app_tap.sh <dpdk-vhostfix> <vhf_pmd_check>

set -u
app=${1:-}
check=${2:-}
. "$(dirname "$0")/app_env.sh"
. "$top/usertools/vhf-topo.sh"

tcp_bytes=${VHF_APP_TEST_TCP_BYTES:-4000000}

run_case() {
	local name=$1 mode=$2 ring=$3 dir=$pair_work/$1 vh rc fail= out
	mkdir -p "$dir"
	vh="net_vhost0,iface=$dir/v0.sock"
	[ "$ring" = packed ] && vh+=",packed=1"
	if ! vhf_app_start "$dir/app.log" "${app_prefix}$name" "$app" --vdev "$vh" -- \
		--mode "$mode" --pairs net_tap0:net_vhost0; then
		not_ok "$name: the app did not come up"
		diag <"$dir/app.log"
		vhf_topo_cleanup_procs
		return
	fi
	if ! vhf_guest_start "$dir/guest.log" "${pair_prefix}G$name" "$dir/v0.sock" "$ring"; then
		not_ok "$name: the testpmd guest did not come up"
		diag <"$dir/guest.log"
		vhf_topo_cleanup_procs
		return
	fi
	# -w: wait for every reply (not just two round trips after the last request).
	# Requests 1 to 20 must all be answered; ping's loss figure is no verdict:
	# while a reply is late it sends more requests, which it then counts as lost.
	out=$(ip netns exec "$vhf_ns_nic" ping -c 20 -i 0.05 -w 60 "$vhf_guest_ip" 2>&1)
	local q unanswered=
	for q in $(seq 1 20); do
		grep -q "icmp_seq=$q " <<<"$out" || unanswered+=" $q"
	done
	[ -z "$unanswered" ] || fail+=" ping: requests$unanswered not answered;"
	ip netns exec "$vhf_ns_guest" python3 "$top/usertools/vhf-tcp-check.py" serve \
		"$vhf_guest_ip" 5201 >"$dir/tcp-server.log" 2>&1 &
	local spid=$!
	if vhf_wait_for "$dir/tcp-server.log" "^LISTENING" 60 "$spid"; then
		out=$(ip netns exec "$vhf_ns_nic" timeout 120 python3 "$top/usertools/vhf-tcp-check.py" \
			send "$vhf_guest_ip" 5201 "$tcp_bytes" 2>&1)
	else
		out="TCP FAIL: the server did not start: $(cat "$dir/tcp-server.log")"
		kill "$spid" 2>/dev/null
	fi
	wait "$spid"
	[[ "$out" == "TCP ok"* ]] || fail+=" $out;"
	if [ "$name" = sleep-split ]; then
		# The same counters as the stats lines, over DPDK telemetry.
		local tel
		tel=$("$top/usertools/vhf-stats.py" --file-prefix "${app_prefix}$name" 2>&1)
		grep -q '"mode": "sleep"' <<<"$tel" && grep -q '"wakeups"' <<<"$tel" ||
			fail+=" telemetry /vhostfix/stats: $tel;"
	fi
	vhf_topo_stop "$vhf_guest_pid"
	kill -TERM "$vhf_app_pid"
	rc=124
	vhf_wait_pid "$vhf_app_pid" 10 && rc=$vhf_wait_status
	vhf_topo_stop "$vhf_app_pid"
	[ "$rc" -eq 0 ] || fail+=" app exit status $rc;"
	grep -q "^port 1 net_vhost0 .* rx [1-9]" "$dir/app.log" || fail+=" no app stats at exit;"
	if [ -z "$fail" ]; then
		ok "$name: 20 pings answered; ${out#TCP ok: }"
	else
		not_ok "$name:$fail"
		diag <"$dir/app.log"
		diag <"$dir/guest.log"
	fi
}

# A virtio-user guest (vhf_pmd_check) sends 64 B and 9000 B frames to the tap,
# whose MTU is 1500: the jumbo ones are dropped and counted, the small ones
# keep flowing: it sends until the app's telemetry shows both.
oversize_case() {
	local name=oversize-to-nic dir=$pair_work/oversize rc fail= line
	local app_tel_prefix=${app_prefix}big
	mkdir -p "$dir"
	if ! vhf_app_start "$dir/app.log" "${app_prefix}big" "$app" \
		--vdev "net_vhost0,iface=$dir/v0.sock" -- --mode sleep --pairs net_tap0:net_vhost0; then
		not_ok "$name: the app did not come up"
		diag <"$dir/app.log"
		vhf_topo_cleanup_procs
		return
	fi
	# Stopped after the two waits below (at most 120 s, a few seconds here).
	pair_start "$dir/guest.log" 0 B "net_virtio_user0,path=$dir/v0.sock" --role host \
		--mode soak --seconds 240 --lens 64,9000 --pace-ms 1
	local gpid=$pair_pid
	vhf_wait_until 60 "$gpid" app_stream_stat_ge net_vhost0 drop_too_big 1 &&
		vhf_wait_until 60 "$gpid" app_stream_stat_ge net_vhost0 tx 100
	pair_stop "$gpid"; pair_forget "$gpid"
	kill -TERM "$vhf_app_pid"
	rc=124
	vhf_wait_pid "$vhf_app_pid" 10 && rc=$vhf_wait_status
	vhf_topo_stop "$vhf_app_pid"
	line=$(grep "^stream net_vhost0:0->net_tap0:0" "$dir/app.log" | tail -1)
	[ "$rc" -eq 0 ] || fail+=" app exit status $rc;"
	grep -q "drop-too-big [1-9]" <<<"$line" || fail+=" no drop-too-big;"
	grep -q " tx [0-9][0-9][0-9]" <<<"$line" || fail+=" the small frames did not flow;"
	if [ -z "$fail" ]; then
		ok "$name: $(grep -o 'rx [0-9]* tx [0-9]*' <<<"$line"), $(grep -o 'drop-too-big [0-9]*' \
			<<<"$line"): jumbo frames dropped and counted, the rest forwarded"
	else
		not_ok "$name:$fail $line"
		diag <"$dir/app.log"
	fi
}

# Processes of one case, so the next starts clean (the namespaces stay).
vhf_topo_cleanup_procs() {
	local p
	for p in "${vhf_topo_pids[@]}"; do
		vhf_topo_stop "$p"
	done
}

pair_init 5
trap 'vhf_topo_cleanup; pair_cleanup' EXIT
if ! vhf_topo_init "$$"; then
	echo "Bail out! cannot create network namespaces"
	exit 1
fi
for mode in poll sleep; do
	for ring in split packed; do
		run_case "$mode-$ring" "$mode" "$ring"
	done
done
oversize_case
for ((extra = 0; extra < ${VHF_APP_TEST_EXTRA_SLEEP:-0}; extra++)); do
	run_case "sleep-split-again$extra" sleep split
done
[ "$tap_failed" -eq 0 ]
