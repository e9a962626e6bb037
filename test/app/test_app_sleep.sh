#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors
#
# dpdk-vhostfix in sleep mode, with a net_tap NIC and a testpmd guest (see
# usertools/vhf-topo.sh):
#  - idle, its worker lcore uses under 5% of a CPU over 4 s (read from /proc),
#    measured from the moment it is asleep;
#  - sparse UDP datagrams each way (test/app/udp_wake.py), each sent while the
#    worker lcore is asleep (blocked in epoll_wait), the next only once the
#    previous one arrived: a forwarder that missed a wake-up would hold a
#    datagram until something else woke it, and nothing else comes (no IPv6
#    in the namespaces), so it never arrives. Latencies are printed, not judged.
#  - the app's own wake-up latency histogram (telemetry): every datagram woke
#    the worker and was handed to a tx_burst, so it holds at least one sample
#    per datagram; its percentiles are printed, not judged.
# Split and packed rings.
#
# Usage: test_app_sleep.sh <dpdk-vhostfix>

set -u
app=${1:-}
check=$app
. "$(dirname "$0")/app_env.sh"
. "$top/usertools/vhf-topo.sh"

idle_s=${VHF_APP_TEST_IDLE_S:-4}
probes=${VHF_APP_TEST_PROBES:-50}

# worker_cpu_percent PID TID SECONDS: CPU use of the app's worker lcore thread.
worker_cpu_percent() {
	local pid=$1 tid=$2 secs=$3 a b hz
	hz=$(getconf CLK_TCK)
	a=$(awk '{print $14 + $15}' "/proc/$pid/task/$tid/stat")
	sleep "$secs"
	b=$(awk '{print $14 + $15}' "/proc/$pid/task/$tid/stat")
	awk -v a="$a" -v b="$b" -v hz="$hz" -v s="$secs" 'BEGIN { printf "%.2f", (b - a) * 100 / hz / s }'
}

# probe NAME FROM_NS TO_NS TO_IP STATFILE: sparse datagrams one way, each to a
# sleeping worker, none left behind.
probe() {
	local name=$1 from=$2 to=$3 ip=$4 stat=$5 port=$((5300 + tap_n)) out
	out=$(ip netns exec "$from" python3 "$top/test/app/udp_wake.py" send "$ip" "$port" \
		"$probes" --asleep "$stat" -- \
		ip netns exec "$to" python3 "$top/test/app/udp_wake.py" recv "$ip" "$port" 2>&1)
	if [[ "$out" == "WAKE ok"* ]]; then
		ok "$name: ${out#WAKE ok: }"
	else
		not_ok "$name: $out"
		diag <"$pair_work/$name.app.log"
	fi
}

run_ring() {
	local ring=$1 dir=$pair_work/$1 vh pct tid what
	mkdir -p "$dir"
	vh="net_vhost0,iface=$dir/v0.sock"
	[ "$ring" = packed ] && vh+=",packed=1"
	if ! vhf_app_start "$dir/app.log" "${app_prefix}$ring" "$app" --vdev "$vh" -- \
		--mode sleep --pairs net_tap0:net_vhost0 ||
		! vhf_guest_start "$dir/guest.log" "${pair_prefix}G$ring" "$dir/v0.sock" "$ring"; then
		for i in 1 2 3 4; do not_ok "$ring: the app or the guest did not come up"; done
		diag <"$dir/app.log"
		vhf_topo_cleanup_procs
		return
	fi
	# Traffic first (ARP, the guest's queues armed), then quiet: the worker asleep.
	ip netns exec "$vhf_ns_nic" ping -c 3 -i 0.2 -w 30 "$vhf_guest_ip" >/dev/null 2>&1
	tid=$(vhf_thread_named "$vhf_app_pid" rte-worker-1)
	if [ -z "$tid" ] || ! vhf_wait_asleep "$vhf_app_pid" "$tid" 60; then
		not_ok "$ring: the worker lcore ${tid:+(thread $tid) }never fell asleep"
		diag <"$dir/app.log"
	else
		pct=$(worker_cpu_percent "$vhf_app_pid" "$tid" "$idle_s")
		what="idle worker lcore used $pct% of a CPU over ${idle_s} s (limit 5%)"
		if [[ "$pct" =~ ^[0-9.]+$ ]] && awk -v p="$pct" 'BEGIN { exit !(p + 0 < 5) }'; then
			ok "$ring: $what"
		else
			not_ok "$ring: $what"
			diag <"$dir/app.log"
		fi
	fi
	ln -sf "$dir/app.log" "$pair_work/$ring-nic-to-guest.app.log"
	ln -sf "$dir/app.log" "$pair_work/$ring-guest-to-nic.app.log"
	probe "$ring-nic-to-guest" "$vhf_ns_nic" "$vhf_ns_guest" "$vhf_guest_ip" \
		"/proc/$vhf_app_pid/task/${tid:-0}/stat"
	probe "$ring-guest-to-nic" "$vhf_ns_guest" "$vhf_ns_nic" "$vhf_nic_ip" \
		"/proc/$vhf_app_pid/task/${tid:-0}/stat"
	wake_latency "$ring"
	vhf_topo_cleanup_procs
}

# wake_latency RING: the worker's histogram has a sample for each datagram.
wake_latency() {
	local n n_after p50 p99 sum what
	app_tel_prefix=${app_prefix}$1
	n=$(app_stat lcore1.wake_latency_samples)
	p50=$(app_stat lcore1.wake_latency_p50_us)
	p99=$(app_stat lcore1.wake_latency_p99_us)
	# The histogram itself (/vhostfix/wake_latency) adds up to the same count:
	# read between two reads of the count, since a wake-up for anything else
	# (a neighbour solicitation) may add a sample meanwhile.
	sum=$("$top/usertools/vhf-stats.py" --file-prefix "$app_tel_prefix" \
		--query /vhostfix/wake_latency --field lcore1 2>/dev/null |
		python3 -c 'import json, sys; print(sum(json.load(sys.stdin)))' 2>/dev/null)
	n_after=$(app_stat lcore1.wake_latency_samples)
	unset app_tel_prefix
	what="wake-up to tx_burst (our part): samples ${n:-?}, p50 < ${p50:-?} us, p99 < ${p99:-?} us"
	if [[ "$n" =~ ^[0-9]+$ ]] && [[ "$sum" =~ ^[0-9]+$ ]] && [[ "$n_after" =~ ^[0-9]+$ ]] &&
		[ "$n" -ge $((2 * probes)) ] && [ "$n" -le "$sum" ] && [ "$sum" -le "$n_after" ]; then
		ok "$1: $what"
	else
		not_ok "$1: $what (want at least $((2 * probes)) samples; histogram sum ${sum:-?}" \
			"between the counts ${n:-?} and ${n_after:-?})"
	fi
}

vhf_topo_cleanup_procs() {
	local p
	for p in "${vhf_topo_pids[@]}"; do
		vhf_topo_stop "$p"
	done
}

pair_init 8
trap 'vhf_topo_cleanup; pair_cleanup' EXIT
if ! vhf_topo_init "$$"; then
	echo "Bail out! cannot create network namespaces"
	exit 1
fi
run_ring split
run_ring packed
[ "$tap_failed" -eq 0 ]
