#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors
#
# Throughput of net_vhostfix against DPDK's own net_vhost as ports of the same
# OVS-DPDK bridge, in one run. A private ovs-vswitchd (usertools/vhf-ovs-private.sh,
# one PMD thread on CPU 1) gets four type=dpdk ports, both PMDs loaded the
# same way (dpdk-devargs):
#
#   fx0 net_vhostfix0 <-> fx1 net_vhostfix1     (OpenFlow: in_port 1<->2)
#   vh0 net_vhost0    <-> vh1 net_vhost1        (OpenFlow: in_port 3<->4)
#
# One dpdk-testpmd (forwarding lcore on CPU 0) holds four net_virtio_user
# ports, one per socket, and loops frames through one pair at a time: io
# forwarding between its two ports of the pair, primed with tx_first bursts,
# so each frame goes testpmd -> PMD dequeue -> OVS -> PMD enqueue -> testpmd
# and round again. The figure is the frames per second OVS forwarded through
# the pair (OpenFlow rx counters of both ports), after a warm-up. The pairs
# alternate within every round and the order flips each round; the summary
# gives each backend's median and the median of the per-round ratios.
#
# With 2 CPUs, OVS's PMD thread and testpmd each poll one: the figures compare
# the backends inside OVS, they are not absolute. Never run it beside another
# benchmark:  flock /run/vhf-bench.lock usertools/vhf-ovs-bench.sh
#
# Usage (root): usertools/vhf-ovs-bench.sh [--so PATH] [--rounds N] [--seconds S]
#               [--warmup S] [--len BYTES]   (defaults: 6 rounds of 2 s, 1 s warm-up, 64 B)
set -uo pipefail

prog=$(basename "$0")
top=$(cd "$(dirname "$0")/.." && pwd)
so=$top/build/drivers/net/vhostfix/librte_net_vhostfix.so
rounds=6 seconds=2 warmup=1 len=64
testpmd=${DPDK_TESTPMD:-dpdk-testpmd}

usage() {
	sed -n 's/^# \{0,1\}//; /^Usage/,$p' "$0" | sed -n '1,2p'
}
while [ $# -gt 0 ]; do
	case $1 in
	--so) so=$2; shift 2 ;;
	--rounds) rounds=$2; shift 2 ;;
	--seconds) seconds=$2; shift 2 ;;
	--warmup) warmup=$2; shift 2 ;;
	--len) len=$2; shift 2 ;;
	-h|--help) usage; exit 0 ;;
	*) echo "$prog: unknown argument $1" >&2; usage >&2; exit 2 ;;
	esac
done
for v in rounds seconds warmup len; do
	[[ "${!v}" =~ ^[0-9]+$ ]] || { echo "$prog: --$v '${!v}': expected a number" >&2; exit 2; }
done
[ "$rounds" -ge 1 ] && [ "$seconds" -ge 1 ] && [ "$len" -ge 64 ] && [ "$len" -le 1514 ] ||
	{ echo "$prog: need --rounds >= 1, --seconds >= 1, 64 <= --len <= 1514" >&2; exit 2; }
die() {
	echo "$prog: $*" >&2
	exit 1
}
[ "$(id -u)" = 0 ] || die "run as root"
[ -f "$so" ] || die "$so not found (build first, or --so)"
command -v "$testpmd" >/dev/null || die "$testpmd not found (Debian: dpdk)"

. "$top/usertools/vhf-ovs-private.sh"
ovs_priv_find_vswitchd >/dev/null ||
	die "no DPDK build of ovs-vswitchd (Debian: openvswitch-switch-dpdk)"

dir=/run/vhf-ovs-bench.$$
tp_pid=
tp_prefix=vhfovsbench$$
cleanup() {
	if [ -n "$tp_pid" ]; then
		echo quit >&3
		exec 3>&-
		vhf_wait_pid "$tp_pid" 10 || vhf_stop_pids 5 "$tp_pid"
	fi 2>/dev/null
	rm -rf "/var/run/dpdk/$tp_prefix"
	ovs_priv_stop "${VHF_OVS_BENCH_KEEP:-}"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ovs_priv_start "$dir" "$so" || die "OVS did not start (see $dir/ovs-vswitchd.log)"
ovs-vsctl --timeout=20 add-br br0 -- set Bridge br0 datapath_type=netdev || die "add-br"
ports=(fx0 fx1 vh0 vh1)
drivers=
devargs=("net_vhostfix0,iface=$dir/fx0.sock" "net_vhostfix1,iface=$dir/fx1.sock"
	"net_vhost0,iface=$dir/vh0.sock" "net_vhost1,iface=$dir/vh1.sock")
for i in 0 1 2 3; do
	p=${ports[i]}
	ovs-vsctl --timeout=20 add-port br0 "$p" -- set Interface "$p" type=dpdk \
		"options:dpdk-devargs=${devargs[i]}" "ofport_request=$((i + 1))" ||
		die "add-port $p"
	err=$(ovs-vsctl get Interface "$p" error | tr -d '"')
	[ "$err" = "[]" ] || die "$p: $err"
	drivers+="$p=$(ovs-vsctl get Interface "$p" status:driver_name | tr -d '"') "
done
ovs-ofctl del-flows br0
for f in in_port=1,actions=output:2 in_port=2,actions=output:1 \
	in_port=3,actions=output:4 in_port=4,actions=output:3; do
	ovs-ofctl add-flow br0 "$f" || die "add-flow $f"
done
echo "$prog: OVS $(ovs-vsctl get Open_vSwitch . dpdk_version | tr -d '"'), ports: $drivers"

# testpmd: ports 0..3 are the four sockets, in --vdev order.
mkfifo "$dir/testpmd.in"
vdevs=()
for i in 0 1 2 3; do
	vdevs+=(--vdev "net_virtio_user$i,path=$dir/${ports[i]}.sock,queues=1")
done
stdbuf -oL "$testpmd" --lcores 0@0,1@0 --no-huge -m 1024 --no-pci --file-prefix="$tp_prefix" \
	"${vdevs[@]}" -- -i --nb-cores=1 --forward-mode=io --port-topology=paired \
	--burst=32 --txpkts="$len" --total-num-mbufs=65536 \
	<"$dir/testpmd.in" >"$dir/testpmd.log" 2>&1 &
tp_pid=$!
exec 3>"$dir/testpmd.in"
if ! vhf_wait_for "$dir/testpmd.log" 'testpmd>' 30 "$tp_pid"; then
	tail -n 20 "$dir/testpmd.log" >&2
	die "testpmd did not come up"
fi
link_up() {
	[ "$(ovs-vsctl get Interface "$1" link_state)" = up ]
}
for p in "${ports[@]}"; do
	vhf_wait_until 10 "" link_up "$p" || die "port $p: no guest attached"
done

# ofport_rx PORT: OpenFlow rx packets of one port.
ofport_rx() {
	ovs-ofctl dump-ports br0 "$1" | grep -o 'rx pkts=[0-9]*' | head -n 1 | cut -d= -f2
}
# measure A B: Mpps OVS forwarded through ofports A and B over --seconds.
measure() {
	local t0 t1 a0 b0 a1 b1
	t0=$(date +%s%N); a0=$(ofport_rx "$1"); b0=$(ofport_rx "$2")
	sleep "$seconds"
	t1=$(date +%s%N); a1=$(ofport_rx "$1"); b1=$(ofport_rx "$2")
	awk -v n=$((a1 - a0 + b1 - b0)) -v ns=$((t1 - t0)) 'BEGIN { printf "%.3f", n / ns * 1000 }'
}
# run_pair NAME TESTPMD_PORTS OFPORT_A OFPORT_B: one measurement; prints Mpps.
run_pair() {
	echo "stop" >&3
	sleep 0.3
	echo "set portlist $2" >&3
	# 32 bursts of 32 frames on each port: enough in flight to keep every
	# ring of the loop busy; what does not fit is dropped once and the loop
	# settles at what the rings hold.
	echo "start tx_first 32" >&3
	sleep "$warmup"
	measure "$3" "$4"
}

median() {
	sort -g | awk '{ v[NR] = $1 }
		END { h = int((NR + 1) / 2)
			printf "%.3f\n", NR % 2 ? v[h] : (v[h] + v[h + 1]) / 2 }'
}

fix_all=() vh_all=() ratios=()
for ((r = 1; r <= rounds; r++)); do
	if ((r % 2)); then order="fix vhost"; else order="vhost fix"; fi
	for b in $order; do
		if [ "$b" = fix ]; then
			fix=$(run_pair fix 0,1 1 2)
			printf 'round %d  net_vhostfix %7.3f Mpps\n' "$r" "$fix"
		else
			vh=$(run_pair vhost 2,3 3 4)
			printf 'round %d  net_vhost    %7.3f Mpps\n' "$r" "$vh"
		fi
	done
	kill -0 "$tp_pid" 2>/dev/null && ovs_priv_alive || die "testpmd or ovs-vswitchd died"
	fix_all+=("$fix")
	vh_all+=("$vh")
	ratios+=("$(awk -v a="$fix" -v b="$vh" \
		'BEGIN { if (b > 0) printf "%.3f", a / b; else print 0 }')")
done
echo "stop" >&3

fm=$(printf '%s\n' "${fix_all[@]}" | median)
vm=$(printf '%s\n' "${vh_all[@]}" | median)
rm_=$(printf '%s\n' "${ratios[@]}" | median)
spread=$(printf '%s\n' "${ratios[@]}" | sort -g |
	awk 'NR == 1 { lo = $1 } { hi = $1 } END { print lo "-" hi }')
echo "OVS-DPDK bridge, $len B frames, io loop through both ports of a pair," \
	"$rounds rounds of ${seconds}s:"
printf '  net_vhostfix %7.3f Mpps   net_vhost %7.3f Mpps   ratio vhostfix/vhost %s (rounds %s)\n' \
	"$fm" "$vm" "$rm_" "$spread"
