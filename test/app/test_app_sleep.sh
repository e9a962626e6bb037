#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors
#
# dpdk-vhostfix in sleep mode, with a net_tap NIC and a testpmd guest (see
# usertools/vhf-topo.sh):
#  - idle, its worker lcore uses under 5% of a CPU over 10 s (read from /proc);
#  - sparse UDP datagrams, 100 ms apart, each way: a forwarder that missed a
#    wake-up would hold a datagram until the next one wakes it, 100 ms late.
#    None may arrive later than 80 ms (the median latency is printed).
# Split and packed rings.
#
# Usage: test_app_sleep.sh <dpdk-vhostfix>

set -u
app=${1:-}
check=$app
. "$(dirname "$0")/app_env.sh"
. "$top/usertools/vhf-topo.sh"

idle_s=${VHF_APP_TEST_IDLE_S:-10}
probes=${VHF_APP_TEST_PROBES:-50}

# worker_cpu_percent PID SECONDS: CPU use of the app's worker lcore thread.
worker_cpu_percent() {
	local pid=$1 secs=$2 t tid= a b hz
	hz=$(getconf CLK_TCK)
	for t in /proc/"$pid"/task/*; do
		if [ "$(cat "$t/comm" 2>/dev/null)" = rte-worker-1 ]; then
			tid=${t##*/}
			break
		fi
	done
	[ -n "$tid" ] || { echo "no-worker-thread"; return 1; }
	a=$(awk '{print $14 + $15}' "/proc/$pid/task/$tid/stat")
	sleep "$secs"
	b=$(awk '{print $14 + $15}' "/proc/$pid/task/$tid/stat")
	awk -v a="$a" -v b="$b" -v hz="$hz" -v s="$secs" 'BEGIN { printf "%.2f", (b - a) * 100 / hz / s }'
}

# probe NAME FROM_NS TO_NS TO_IP: sparse datagrams one way, none late.
probe() {
	local name=$1 from=$2 to=$3 ip=$4 port=$((5300 + tap_n)) out
	ip netns exec "$to" env LATE_MS=80 python3 "$top/test/app/udp_latency.py" recv \
		"$ip" "$port" "$probes" >"$pair_work/$name.lat" 2>&1 &
	local rpid=$!
	sleep 0.5
	ip netns exec "$from" python3 "$top/test/app/udp_latency.py" send "$ip" "$port" \
		"$probes" 0.1
	wait "$rpid"
	out=$(cat "$pair_work/$name.lat")
	if [[ "$out" == "LATENCY ok"* ]]; then
		ok "$name: ${out#LATENCY ok: }"
	else
		not_ok "$name: $out"
		diag <"$pair_work/$name.app.log"
	fi
}

run_ring() {
	local ring=$1 dir=$pair_work/$1 vh pct
	mkdir -p "$dir"
	vh="net_vhost0,iface=$dir/v0.sock"
	[ "$ring" = packed ] && vh+=",packed=1"
	if ! vhf_app_start "$dir/app.log" "${app_prefix}$ring" "$app" --vdev "$vh" -- \
		--mode sleep --pairs net_tap0:net_vhost0 ||
		! vhf_guest_start "$dir/guest.log" "${pair_prefix}G$ring" "$dir/v0.sock" "$ring"; then
		for i in 1 2 3; do not_ok "$ring: the app or the guest did not come up"; done
		diag <"$dir/app.log"
		vhf_topo_cleanup_procs
		return
	fi
	# Traffic first (ARP, the guest's queues armed), then quiet.
	ip netns exec "$vhf_ns_nic" ping -c 3 -i 0.2 -w 10 "$vhf_guest_ip" >/dev/null 2>&1
	sleep 1
	pct=$(worker_cpu_percent "$vhf_app_pid" "$idle_s")
	if awk -v p="$pct" 'BEGIN { exit !(p != "" && p + 0 < 5) }' 2>/dev/null &&
		[[ "$pct" =~ ^[0-9.]+$ ]]; then
		ok "$ring: idle worker lcore used $pct% of a CPU over ${idle_s} s (limit 5%)"
	else
		not_ok "$ring: idle worker lcore used $pct% of a CPU over ${idle_s} s (limit 5%)"
		diag <"$dir/app.log"
	fi
	ln -sf "$dir/app.log" "$pair_work/$ring-nic-to-guest.app.log"
	ln -sf "$dir/app.log" "$pair_work/$ring-guest-to-nic.app.log"
	probe "$ring-nic-to-guest" "$vhf_ns_nic" "$vhf_ns_guest" "$vhf_guest_ip"
	probe "$ring-guest-to-nic" "$vhf_ns_guest" "$vhf_ns_nic" "$vhf_nic_ip"
	vhf_topo_cleanup_procs
}

vhf_topo_cleanup_procs() {
	local p
	for p in "${vhf_topo_pids[@]}"; do
		vhf_topo_stop "$p"
	done
}

pair_init 6
trap 'vhf_topo_cleanup; pair_cleanup' EXIT
if ! vhf_topo_init "$$"; then
	echo "Bail out! cannot create network namespaces"
	exit 1
fi
run_ring split
run_ring packed
[ "$tap_failed" -eq 0 ]
