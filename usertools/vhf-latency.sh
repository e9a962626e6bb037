#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors
#
# Wake-up latency of dpdk-vhostfix, two figures from one run:
#  - end to end, between two virtio-user guests: one process (build's
#    test/pmd/vhf_latency) holds both, sends one 64-byte frame at a time from
#    the first at --rate-pps and waits for it on the second; the app forwards
#    between them (its default pairing, net_vhost0 <-> net_vhost1). At a low
#    rate the app's worker is asleep when each frame arrives, so each frame
#    is a wake-up: the guest's kick, the kernel waking the worker, our
#    dequeue and enqueue, the guest seeing it.
#  - our part of it: the app's own histogram, from epoll_wait() returning to
#    the first packet handed to tx_burst (telemetry /vhostfix/stats).
# The app's worker runs on CPU 1, the guests' process on CPU 0.
#
# Usage (root): usertools/vhf-latency.sh [--build DIR] [--mode sleep|poll]
#               [--ring split|packed] [--rate-pps R] [--count N]
# (defaults: the checkout's build/, sleep, split, 1000 pps, 5000 frames)
# Never beside a benchmark:  flock /run/vhf-bench.lock usertools/vhf-latency.sh
set -uo pipefail

top=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
build=$top/build mode=sleep ring=split rate=1000 count=5000
usage() { sed -n 's/^# \{0,1\}//; /^Usage/,/^(defaults/p' "$0"; }
while [ $# -gt 0 ]; do
	case $1 in
	--build) build=${2:-}; shift 2 ;;
	--mode) mode=${2:-}; shift 2 ;;
	--ring) ring=${2:-}; shift 2 ;;
	--rate-pps) rate=${2:-}; shift 2 ;;
	--count) count=${2:-}; shift 2 ;;
	-h|--help) usage; exit 0 ;;
	*) echo "vhf-latency: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
	esac
done
case $mode in sleep|poll) ;; *) echo "vhf-latency: --mode sleep|poll, not '$mode'" >&2; exit 2 ;; esac
case $ring in split|packed) ;; *) echo "vhf-latency: --ring split|packed, not '$ring'" >&2; exit 2 ;; esac
[[ "$rate" =~ ^[1-9][0-9]*$ ]] || { echo "vhf-latency: --rate-pps: not a count: '$rate'" >&2; exit 2; }
[[ "$count" =~ ^[1-9][0-9]*$ ]] || { echo "vhf-latency: --count: not a count: '$count'" >&2; exit 2; }
app=$build/app/dpdk-vhostfix/dpdk-vhostfix
lat=$build/test/pmd/vhf_latency
for f in "$app" "$lat"; do
	[ -x "$f" ] || { echo "vhf-latency: $f not found (build first, or --build)" >&2; exit 2; }
done
[ "$(id -u)" = 0 ] || { echo "vhf-latency: needs root (vhost-user sockets)" >&2; exit 2; }
. "$top/usertools/vhf-wait.sh"

work=$(mktemp -d /tmp/vhf-latency.XXXXXX)
prefix=vhflat$$
app_pid=
cleanup() {
	[ -n "$app_pid" ] && vhf_stop_pids 10 "$app_pid"
	rm -rf "$work" "/var/run/dpdk/${prefix}a" "/var/run/dpdk/${prefix}g"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

packed=
[ "$ring" = packed ] && packed=,packed=1
"$app" -l 0-1 --no-huge -m 512 --no-pci --file-prefix="${prefix}a" \
	--vdev "net_vhost0,iface=$work/a.sock$packed" --vdev "net_vhost1,iface=$work/b.sock$packed" \
	-- --mode "$mode" >"$work/app.log" 2>&1 &
app_pid=$!
if ! vhf_wait_for "$work/app.log" "dpdk-vhostfix: forwarding" 30 "$app_pid"; then
	echo "vhf-latency: the app did not start:" >&2
	cat "$work/app.log" >&2
	exit 1
fi
pv=0
[ "$ring" = packed ] && pv=1
"$lat" --lcores 0@0 --no-huge -m 512 --no-pci --file-prefix="${prefix}g" \
	--vdev "net_virtio_user0,path=$work/a.sock,packed_vq=$pv" \
	--vdev "net_virtio_user1,path=$work/b.sock,packed_vq=$pv" \
	-- --count "$count" --rate-pps "$rate" >"$work/lat.log" 2>&1
rc=$?
e2e=$(grep '^LATENCY' "$work/lat.log")
if [ -z "$e2e" ]; then
	echo "vhf-latency: no result from vhf_latency:" >&2
	cat "$work/lat.log" >&2
	exit 1
fi
stat() {
	"$top/usertools/vhf-stats.py" --file-prefix "${prefix}a" --query /vhostfix/stats \
		--field "lcore1.$1" 2>/dev/null
}
echo "vhf-latency: dpdk-vhostfix --mode $mode, $ring ring, $rate frames/s of 64 B, $count frames"
echo "end to end (guest to guest):      $e2e"
echo "our part (epoll return to tx_burst): samples $(stat wake_latency_samples)," \
	"p50 < $(stat wake_latency_p50_us) us, p99 < $(stat wake_latency_p99_us) us;" \
	"sleeps $(stat sleeps), wakeups $(stat wakeups)"
exit "$rc"
