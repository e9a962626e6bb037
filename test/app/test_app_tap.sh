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
# Usage: test_app_tap.sh <dpdk-vhostfix>

set -u
app=${1:-}
check=$app
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
	out=$(ip netns exec "$vhf_ns_nic" ping -c 20 -i 0.05 -w 20 "$vhf_guest_ip" 2>&1)
	grep -q " 0% packet loss" <<<"$out" || fail+=" ping: $(grep -o '[0-9.]*% packet loss' <<<"$out");"
	ip netns exec "$vhf_ns_guest" python3 "$top/test/app/tcp_check.py" serve \
		"$vhf_guest_ip" 5201 >"$dir/tcp-server.log" 2>&1 &
	local spid=$!
	out=$(ip netns exec "$vhf_ns_nic" timeout 120 python3 "$top/test/app/tcp_check.py" send \
		"$vhf_guest_ip" 5201 "$tcp_bytes" 2>&1)
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
	vhf_topo_wait_pid "$vhf_app_pid" 10
	wait "$vhf_app_pid"
	rc=$?
	vhf_topo_stop "$vhf_app_pid"
	[ "$rc" -eq 0 ] || fail+=" app exit status $rc;"
	grep -q "^port 1 net_vhost0 .* rx [1-9]" "$dir/app.log" || fail+=" no app stats at exit;"
	if [ -z "$fail" ]; then
		ok "$name: ping 0% loss; ${out#TCP ok: }"
	else
		not_ok "$name:$fail"
		diag <"$dir/app.log"
		diag <"$dir/guest.log"
	fi
}

# Processes of one case, so the next starts clean (the namespaces stay).
vhf_topo_cleanup_procs() {
	local p
	for p in "${vhf_topo_pids[@]}"; do
		vhf_topo_stop "$p"
	done
}

pair_init 4
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
for ((extra = 0; extra < ${VHF_APP_TEST_EXTRA_SLEEP:-0}; extra++)); do
	run_case "sleep-split-again$extra" sleep split
done
[ "$tap_failed" -eq 0 ]
