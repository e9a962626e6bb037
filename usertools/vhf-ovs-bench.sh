#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors
#
# Throughput of net_vhostfix against DPDK's own net_vhost as ports of the same
# OVS-DPDK bridge, in one run: the matrix of usertools/vhf-bench.py reduced to
# what OVS adds. A private ovs-vswitchd (usertools/vhf-ovs-private.sh, one PMD
# thread on CPU 1) gets, per ring layout, four type=dpdk ports, both PMDs
# loaded the same way (dpdk-devargs):
#
#   fx0 net_vhostfix0 (ofport 1)   fx1 net_vhostfix1 (ofport 2)
#   vh0 net_vhost0    (ofport 3)   vh1 net_vhost1    (ofport 4)
#
# and one dpdk-testpmd (forwarding lcore on CPU 0) holds a net_virtio_user
# port per socket (packed_vq as the ring layout says, mergeable RX and
# in-order on). Only one backend's pair is on the bridge at a time: OVS's PMD
# thread polls every port it has, and an idle port costs what its driver
# makes an empty poll cost (DPDK 22.11's net_vhost takes and frees a burst of
# mbufs on each empty poll of a packed ring), which would be charged to the
# other backend's figure. Cells, each with both backends:
#
#   guest-rx  a net_null port (ofport 9, frames of the cell's size made by
#             OVS's own PMD thread) -> fx0 or vh0 -> testpmd rxonly: OVS's
#             enqueue into the guest through the backend, counted as the
#             port's tx packets
#   guest-tx  testpmd txonly -> fx0 or vh0 -> OpenFlow drop: the backend's
#             dequeue, counted as the port's rx packets
#   loop      io forwarding through a pair (fx0<->fx1 or vh0<->vh1, OpenFlow
#             in_port 1<->2, 3<->4), primed with tx_first bursts, so each frame
#             goes testpmd -> PMD dequeue -> OVS -> PMD enqueue -> testpmd and
#             round again; the figure is the frames OVS forwarded (rx of both)
#
# Figures are taken after a warm-up. The backends alternate within every
# round (each round sets up one pair, runs every cell on it, removes it, then
# the other) and the order flips each round; the summary gives each backend's
# median and the median of the per-round ratios, with their min-max. The
# features librte_vhost logs as negotiated (the same control plane serves both
# PMDs) are printed per ring layout; a layout whose bits differ between the
# backends (beyond config-space-only bits: MTU, MAC, STATUS, GUEST_ANNOUNCE,
# SPEED_DUPLEX) is measured but not compared.
#
# The guest's memory is on 2 MB hugepages (--guest-pages 2M, the default), as a
# QEMU guest's on a vhost-user host, which the backends then map on 2 MB pages
# too: the run reserves them, on a hugetlbfs mount of its own, and gives both
# back at exit (usertools/vhf-hugepages.sh). --guest-pages 4K puts it on 4 KB
# pages (--no-huge), as the runs before 2026-12-06 did.
#
# Before and after each measurement, with testpmd's forwarding stopped and
# ovs-vswitchd paused (SIGSTOP, for the probe's tenth of a second), vhf-linetrip
# probes the VM as vhf-bench.py does: a cache line's round trip between CPUs 0
# and 1 (the vCPUs' placement) and each CPU's ALU throughput (its physical core
# shared with another busy hardware thread or not). A second summary compares
# each cell's rounds whose two measurements saw one placement and one core
# state (usertools/vhf_bench_report.py: the guest's testpmd on CPU 0, OVS's PMD
# thread on CPU 1). Without vhf-linetrip (--linetrip; by default beside the build
# the --so comes from) nothing is probed, and the run says so.
#
# With 2 CPUs, OVS's PMD thread and testpmd each poll one: the figures compare
# the backends inside OVS, they are not absolute. Never run it beside another
# benchmark:  flock /run/vhf-bench.lock usertools/vhf-ovs-bench.sh
#
# Usage (root): usertools/vhf-ovs-bench.sh [--so PATH] [--rounds N] [--seconds S]
#               [--warmup S] [--cells guest-rx,guest-tx,loop] [--sizes 64,1518]
#               [--rings split,packed] [--guest-pages 2M|4K] [--perf-record DIR]
#               [--linetrip PATH]
#               (defaults: all cells, sizes and rings; 6 rounds of 2 s; 2M)
# --perf-record DIR: also perf record OVS's PMD thread over each measurement, into
# DIR/<cell>-<ring>-<size>-<backend>-r<round>.data (perf report -i FILE --no-children
# --sort dso,symbol); the sampling costs OVS some of its rate.
set -uo pipefail

prog=$(basename "$0")
# Installed, bin/dpdk-vhostfix-* is a link to this file: its siblings are beside the target.
top=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
so=$top/build/drivers/net/vhostfix/librte_net_vhostfix.so
rounds=6 seconds=2 warmup=1
cells=guest-rx,guest-tx,loop sizes=64,1518 rings=split,packed
perf_dir=
linetrip=
guest_pages=2M
# The guest testpmd's EAL memory (-m), in MB, and the 2 MB pages reserved for it.
guest_mem_mb=1024
guest_huge_pages=$((guest_mem_mb / 2 + 32))
testpmd=${DPDK_TESTPMD:-dpdk-testpmd}

usage() {
	sed -n '/^# Usage/,/^set -uo/{/^set -uo/d; s/^# \{0,1\}//; p}' "$0"
}
while [ $# -gt 0 ]; do
	case $1 in
	--so) so=$2; shift 2 ;;
	--rounds) rounds=$2; shift 2 ;;
	--seconds) seconds=$2; shift 2 ;;
	--warmup) warmup=$2; shift 2 ;;
	--cells) cells=$2; shift 2 ;;
	--sizes) sizes=$2; shift 2 ;;
	--rings) rings=$2; shift 2 ;;
	--perf-record) perf_dir=$2; shift 2 ;;
	--linetrip) linetrip=$2; shift 2 ;;
	--guest-pages) guest_pages=${2^^}; shift 2 ;;
	-h|--help) usage; exit 0 ;;
	*) echo "$prog: unknown argument $1" >&2; usage >&2; exit 2 ;;
	esac
done
if [ -n "$perf_dir" ]; then
	command -v perf >/dev/null || { echo "$prog: --perf-record needs perf (linux-perf)" >&2; exit 2; }
	mkdir -p "$perf_dir" || exit 2
fi
for v in rounds seconds warmup; do
	[[ "${!v}" =~ ^[0-9]+$ ]] || { echo "$prog: --$v '${!v}': expected a number" >&2; exit 2; }
done
[ "$rounds" -ge 1 ] && [ "$seconds" -ge 1 ] ||
	{ echo "$prog: need --rounds >= 1, --seconds >= 1" >&2; exit 2; }
# subset LIST ALLOWED...: LIST is a non-empty comma-separated subset of ALLOWED.
subset() {
	local item list=$1
	shift
	[ -n "$list" ] || return 1
	for item in ${list//,/ }; do
		[[ " $* " == *" $item "* ]] || return 1
	done
}
subset "$cells" guest-rx guest-tx loop ||
	{ echo "$prog: --cells: a subset of guest-rx,guest-tx,loop" >&2; exit 2; }
subset "$sizes" 64 1518 || { echo "$prog: --sizes: a subset of 64,1518" >&2; exit 2; }
subset "$rings" split packed || { echo "$prog: --rings: a subset of split,packed" >&2; exit 2; }
case $guest_pages in
2M|4K) ;;
*) echo "$prog: --guest-pages '$guest_pages': 2M or 4K" >&2; exit 2 ;;
esac
die() {
	echo "$prog: $*" >&2
	exit 1
}
[ "$(id -u)" = 0 ] || die "run as root"
[ -f "$so" ] || die "$so not found (build first, or --so)"
# The build's own probe, beside drivers/net/vhostfix/ of the --so's build.
[ -n "$linetrip" ] || linetrip=$(dirname "$so")/../../../usertools/vhf-linetrip
[ -x "$linetrip" ] ||
	{ echo "$prog: no vhf-linetrip at $linetrip: placement and core states not probed"; linetrip=; }
command -v "$testpmd" >/dev/null || die "$testpmd not found (Debian: dpdk)"

. "$top/usertools/vhf-ovs-private.sh"
. "$top/usertools/vhf-hugepages.sh"
ovs_priv_find_vswitchd >/dev/null ||
	die "no DPDK build of ovs-vswitchd (Debian: openvswitch-switch-dpdk)"

dir=/run/vhf-ovs-bench.$$
tp_pid=
tp_prefix=vhfovsbench$$
stop_testpmd() {
	if [ -n "$tp_pid" ]; then
		echo quit >&3
		exec 3>&-
		vhf_wait_pid "$tp_pid" 10 || vhf_stop_pids 5 "$tp_pid"
	fi 2>/dev/null
	tp_pid=
	rm -rf "/var/run/dpdk/$tp_prefix"
}
cleanup() {
	# Never leave ovs-vswitchd paused by a probe the exit interrupted.
	[ -n "${ovs_priv_vs_pid:-}" ] && kill -CONT "$ovs_priv_vs_pid" 2>/dev/null
	stop_testpmd
	ovs_priv_stop "${VHF_OVS_BENCH_KEEP:-}"
	vhf_huge_release
}
trap cleanup EXIT
trap 'exit 130' INT TERM

guest_mem=(--no-huge)
if [ "$guest_pages" = 2M ]; then
	vhf_huge_reserve "$guest_huge_pages" "$dir.huge" ||
		die "--guest-pages 2M: $vhf_huge_error; --guest-pages 4K runs the guest without them"
	# Memfds shared over the socket, nothing left on the mount; one region per
	# memseg list (vhost-user takes at most 8).
	guest_mem=(--in-memory --single-file-segments --huge-dir="$dir.huge")
fi

ovs_priv_start "$dir" "$so" || die "OVS did not start (see $dir/ovs-vswitchd.log)"
ovs-vsctl --timeout=20 add-br br0 -- set Bridge br0 datapath_type=netdev || die "add-br"
echo "$prog: OVS $(ovs-vsctl get Open_vSwitch . dpdk_version | tr -d '"')"
ports=()

# add_port NAME OFPORT DEVARGS: a type=dpdk port, or die with OVS's error.
add_port() {
	ovs-vsctl --timeout=20 add-port br0 "$1" -- set Interface "$1" type=dpdk \
		"options:dpdk-devargs=$3" "ofport_request=$2" || die "add-port $1"
	local err
	err=$(ovs-vsctl get Interface "$1" error | tr -d '"')
	[ "$err" = "[]" ] || die "$1: $err"
}
del_port() {
	ovs-vsctl --timeout=20 --if-exists del-port br0 "$1" || die "del-port $1"
}
# flows FLOW...: the bridge's flow table becomes exactly these, in one step (a
# moment without flows would send every frame to OVS's slow path).
flows() {
	printf '%s\n' "$@" | ovs-ofctl replace-flows br0 - || die "flows $*"
}

# setup RING BACKEND(vhostfix|vhost): that backend's two vhost-user ports for the
# ring layout (fx0 fx1 at ofports 1 2, or vh0 vh1 at 3 4) and testpmd's
# virtio-user ports 0 and 1 on them.
setup() {
	local ring=$1 packed=0 i p devargs vdevs=() drivers= base=1
	[ "$ring" = packed ] && packed=1
	if [ "$2" = vhostfix ]; then
		ports=(fx0 fx1)
		devargs=("net_vhostfix0,iface=$dir/fx0-$ring.sock"
			"net_vhostfix1,iface=$dir/fx1-$ring.sock")
		[ "$packed" = 1 ] && devargs[0]+=",packed=1" devargs[1]+=",packed=1"
	else
		ports=(vh0 vh1) base=3
		devargs=("net_vhost0,iface=$dir/vh0-$ring.sock" "net_vhost1,iface=$dir/vh1-$ring.sock")
	fi
	for i in 0 1; do
		p=${ports[i]}
		add_port "$p" $((base + i)) "${devargs[i]}"
		drivers+="$p=$(ovs-vsctl get Interface "$p" status:driver_name | tr -d '"') "
		vdevs+=(--vdev "net_virtio_user$i,path=$dir/$p-$ring.sock,queues=1,packed_vq=$packed")
	done
	[ "$r" = 1 ] && echo "$prog: $ring ring, ports: $drivers"
	rm -f "$dir/testpmd.in"
	mkfifo "$dir/testpmd.in"
	stdbuf -oL "$testpmd" --lcores 0@0,1@0 "${guest_mem[@]}" -m "$guest_mem_mb" --no-pci \
		--file-prefix="$tp_prefix" "${vdevs[@]}" -- -i --nb-cores=1 --forward-mode=io \
		--port-topology=loop --burst=32 --total-num-mbufs=65536 \
		<"$dir/testpmd.in" >"$dir/testpmd-$ring.log" 2>&1 &
	tp_pid=$!
	exec 3>"$dir/testpmd.in"
	# The prompt has no newline: it reaches the log with the next line printed,
	# which may never come; the last line of testpmd's start-up does.
	if ! vhf_wait_for "$dir/testpmd-$ring.log" '^testpmd>\|^Done$' 30 "$tp_pid"; then
		tail -n 20 "$dir/testpmd-$ring.log" >&2
		die "testpmd did not come up"
	fi
	for p in "${ports[@]}"; do
		vhf_wait_until 10 "" link_up "$p" || die "port $p: no guest attached"
	done
}
teardown() {
	local p
	stop_testpmd
	for p in "${ports[@]}"; do
		del_port "$p"
	done
}
link_up() {
	[ "$(ovs-vsctl get Interface "$1" link_state)" = up ]
}

# features PORT RING: the last Virtio features librte_vhost logged as negotiated
# on that port's socket (OVS logs DPDK's lines in ovs-vswitchd.log).
features() {
	grep -o "($dir/$1-$2.sock) negotiated Virtio features: 0x[0-9a-fA-F]*" \
		"$dir/ovs-vswitchd.log" | tail -n 1 | grep -o '0x[0-9a-fA-F]*$'
}
# Bits of the config space only (MTU 3, MAC 5, STATUS 16, GUEST_ANNOUNCE 21,
# SPEED_DUPLEX 63): they change no ring and no packet layout.
config_only=$(((1 << 3) | (1 << 5) | (1 << 16) | (1 << 21) | (1 << 63)))
# same_features RING: print each backend's bits; true when they match.
same_features() {
	local fx vh
	fx=$(features fx0 "$1") vh=$(features vh0 "$1")
	echo "$prog: $1 ring, negotiated features: net_vhostfix ${fx:-?}, net_vhost ${vh:-?}"
	[ -n "$fx" ] && [ -n "$vh" ] || { echo "$prog: $1 ring: features not logged"; return 1; }
	(((fx ^ vh) & ~config_only)) && {
		printf '%s: %s ring: features differ (xor %#x): not compared\n' "$prog" "$1" \
			$(((fx ^ vh) & ~config_only))
		return 1
	}
	return 0
}

# ofport_count PORT rx|tx: OpenFlow packet counter of one port.
ofport_count() {
	ovs-ofctl dump-ports br0 "$1" | grep -o "$2 pkts=[0-9]*" | head -n 1 | cut -d= -f2
}
# pmd_tid: the thread id of OVS's PMD thread (pmd-c01/id:...), or nothing.
pmd_tid() {
	local t c
	for t in /proc/"$ovs_priv_vs_pid"/task/*; do
		read -r c <"$t/comm" 2>/dev/null || continue
		[[ "$c" == pmd* ]] && { echo "${t##*/}"; return 0; }
	done
	return 1
}
# measure DIR OFPORT...: Mpps of DIR (rx or tx) packets summed over the ofports;
# with --perf-record, OVS's PMD thread sampled meanwhile into $perf_name.data.
measure() {
	local d=$1 t0 t1 n0=0 n1=0 p tid perf_pid=
	shift
	if [ -n "$perf_dir" ] && tid=$(pmd_tid); then
		perf record -q -t "$tid" -o "$perf_dir/$perf_name.data" -- sleep "$seconds" \
			>/dev/null 2>&1 &
		perf_pid=$!
	fi
	t0=$(date +%s%N)
	for p in "$@"; do n0=$((n0 + $(ofport_count "$p" "$d"))); done
	sleep "$seconds"
	t1=$(date +%s%N)
	for p in "$@"; do n1=$((n1 + $(ofport_count "$p" "$d"))); done
	[ -n "$perf_pid" ] && wait "$perf_pid"
	awk -v n=$((n1 - n0)) -v ns=$((t1 - t0)) 'BEGIN { printf "%.3f", n / ns * 1000 }'
}
# probe: vhf-linetrip's figures as "LINE_NS ALU0 ALU1" ("- - -" unprobed), with
# ovs-vswitchd paused: its PMD thread polls CPU 1 without end. testpmd's
# forwarding is stopped by then, its lcores asleep.
probe() {
	local out line alu
	if [ -z "$linetrip" ]; then
		echo "- - -"
		return
	fi
	kill -STOP "$ovs_priv_vs_pid"
	out=$("$linetrip" 2>/dev/null)
	kill -CONT "$ovs_priv_vs_pid"
	line=$(sed -n 's/^line_round_trip_ns \([0-9]*\)$/\1/p' <<<"$out")
	alu=$(sed -n 's/^alu_ns_per_1000_adds \([0-9.]*\) \([0-9.]*\)$/\1 \2/p' <<<"$out")
	echo "${line:--} ${alu:-"- -"}"
}
# stop_and_probe: testpmd's forwarding stopped (given the time to stop), then probe.
stop_and_probe() {
	echo "stop" >&3
	sleep 0.3
	probe
}

# run_cell CELL SIZE BACKEND: one measurement; sets mpps, and probed_before.
mpps=
probed_before=
run_cell() {
	local a=1 b=2 tp=0 tps=0,1
	[ "$3" = vhost ] && a=3 b=4
	perf_name=$1-$ring-$2-$3-r$r
	probed_before=$(stop_and_probe)
	echo "set txpkts $2" >&3
	case $1 in
	guest-rx)
		flows "in_port=9,actions=output:$a"
		echo "set fwd rxonly" >&3
		echo "set portlist $tp" >&3
		echo "start" >&3
		sleep "$warmup"
		mpps=$(measure tx "$a")
		;;
	guest-tx)
		flows "in_port=$a,actions=drop"
		echo "set fwd txonly" >&3
		echo "set portlist $tp" >&3
		echo "start" >&3
		sleep "$warmup"
		mpps=$(measure rx "$a")
		;;
	loop)
		flows "in_port=$a,actions=output:$b" "in_port=$b,actions=output:$a"
		echo "set fwd io" >&3
		echo "set portlist $tps" >&3
		# 32 bursts of 32 frames on each port: enough in flight to keep every
		# ring of the loop busy; what does not fit is dropped once and the loop
		# settles at what the rings hold.
		echo "start tx_first 32" >&3
		sleep "$warmup"
		mpps=$(measure rx "$a" "$b")
		;;
	esac
}

median() {
	sort -g | awk '{ v[NR] = $1 }
		END { h = int((NR + 1) / 2)
			printf "%.3f\n", NR % 2 ? v[h] : (v[h] + v[h + 1]) / 2 }'
}
minmax() {
	sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { print lo "-" hi }'
}

declare -A fix_all vh_all ratios compared
keys=()
declare -A round_mpps
for ring in ${rings//,/ }; do
	for ((r = 1; r <= rounds; r++)); do
		if ((r % 2)); then order="vhostfix vhost"; else order="vhost vhostfix"; fi
		for b in $order; do
			setup "$ring" "$b"
			for cell in ${cells//,/ }; do
				for len in ${sizes//,/ }; do
					k="$cell $ring $len"
					((r == 1)) && [ "$b" = vhostfix ] && keys+=("$k")
					# The frame source of guest-rx runs only while measured:
					# OVS polls it, and it never stops sending.
					if [ "$cell" = guest-rx ]; then
						flows "in_port=9,actions=drop"
						add_port null0 9 "net_null$len,size=$len"
					fi
					run_cell "$cell" "$len" "$b"
					round_mpps[$k $b]=$mpps
					probed_after=$(stop_and_probe)
					printf 'round %d  %-24s %-12s %7.3f Mpps  probe before %s after %s\n' \
						"$r" "$k" "net_$b" "$mpps" "$probed_before" "$probed_after"
					echo "$ring $cell $len $b $r $mpps $probed_before $probed_after" \
						>>"$dir/runs.tsv"
					[ "$cell" = guest-rx ] && del_port null0
					kill -0 "$tp_pid" 2>/dev/null && ovs_priv_alive ||
						die "testpmd or ovs-vswitchd died"
				done
			done
			teardown
		done
		# Both backends have negotiated by now: the same bits, or no comparison.
		if ((r == 1)); then
			compared[$ring]=1
			same_features "$ring" || compared[$ring]=0
		fi
		for cell in ${cells//,/ }; do
			for len in ${sizes//,/ }; do
				k="$cell $ring $len"
				fix=${round_mpps[$k vhostfix]} vh=${round_mpps[$k vhost]}
				fix_all[$k]+="$fix " vh_all[$k]+="$vh "
				ratios[$k]+="$(awk -v a="$fix" -v b="$vh" \
					'BEGIN { if (b > 0) printf "%.3f", a / b; else print 0 }') "
			done
		done
	done
done

echo "OVS-DPDK bridge, $rounds rounds of ${seconds}s after ${warmup}s; ratio vhostfix/vhost:" \
	"median of the rounds (min-max)"
if [ "$guest_pages" = 2M ]; then
	echo "guest memory on 2 MB hugepages"
else
	echo "guest memory on 4 KB pages (--no-huge)"
fi
printf '  %-24s %12s %12s  %s\n' cell net_vhostfix net_vhost ratio
# The lists are words on purpose: one figure per round.
# shellcheck disable=SC2086
for k in "${keys[@]}"; do
	fm=$(printf '%s\n' ${fix_all[$k]} | median)
	vm=$(printf '%s\n' ${vh_all[$k]} | median)
	ring=$(cut -d' ' -f2 <<<"$k")
	if [ "${compared[$ring]}" = 1 ]; then
		printf '  %-24s %7.3f Mpps %7.3f Mpps  %s (%s)\n' "$k" "$fm" "$vm" \
			"$(printf '%s\n' ${ratios[$k]} | median)" "$(printf '%s\n' ${ratios[$k]} | minmax)"
	else
		printf '  %-24s %7.3f Mpps %7.3f Mpps  not compared: features differ\n' "$k" "$fm" "$vm"
	fi
done
# The same rounds by vCPU placement and core state (rings whose features differ left out).
if [ -n "$linetrip" ] && ! command -v python3 >/dev/null; then
	echo "$prog: no python3: the rounds by placement and core state are not summarized"
elif [ -n "$linetrip" ]; then
	for ring in ${rings//,/ }; do
		[ "${compared[$ring]}" = 1 ] && grep "^$ring " "$dir/runs.tsv"
	done >"$dir/runs-compared.tsv"
	python3 "$top/usertools/vhf_bench_report.py" ovs-cores "$dir/runs-compared.tsv"
fi
