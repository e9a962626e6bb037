#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors
#
# Live migration of a real Linux guest between two back-ends under traffic.
#
# Two dpdk-vhostfix processes, A and B, each forward between a net_vhost port
# (its own vhost-user socket) and a net_tap "NIC"; both taps are ports of one
# bridge in a network namespace made here, whose own address 10.0.0.1 is the
# traffic's host end. The scenario (a guest migrated back and forth under
# traffic both ways, what is checked after each migration and at the end) is
# test/qemu/migrate_lib.sh's, shared with test/ovs/test_ovs_migrate.sh; here
# the switch is the bridge, which must learn the guest's MAC on the new
# back-end's tap. Split rings, then packed.
#
# Usage: test_migrate.sh <dpdk-vhostfix> <usertools/vhf-guests.sh> [teeth]
# With "teeth" the app is a -Dtest_skip_rx_log build (the device does not log
# what it writes into the guest's RX buffers): the run must then detect it, a
# checksum mismatch or a stream that stalls.
# Prints TAP. Needs root and QEMU (skips without). About 2-3 minutes under TCG.

set -u
app=${1:-}
guests=${2:-}
teeth=${3:-}
if [ ! -x "$app" ] || [ ! -x "$guests" ]; then
	echo "1..0 # SKIP usage: $0 <dpdk-vhostfix> <vhf-guests.sh> [teeth]"
	exit 1
fi
. "$(dirname "$0")/qemu_lib.sh"
. "$(dirname "$0")/migrate_lib.sh"

if [ "$teeth" = teeth ]; then
	ncases=1
else
	ncases=$(mig_ncases)
fi
q_init $ncases
command -v bridge >/dev/null || tap_skip_rest $ncases "no bridge command (iproute2)"

ns=vhfm$$
cleanup_ns() {
	q_cleanup
	mig_ns_delete
}
trap cleanup_ns EXIT

mig_ns_make $ncases
ip -n "$ns" link add br0 address "$mig_host_mac" type bridge && mig_endpoint br0 ||
	tap_skip_rest $ncases "cannot make the bridge"

# back_end NAME: dpdk-vhostfix NAME (A or B) on $q_work/NAME.sock, tap vm<pid>NAME
# in the bridge; packed=1 only offers packed rings (a split guest keeps split).
back_end() {
	local name=$1 prefix=vhfm$$$1 log=$q_work/app$1.log
	q_prefixes+=("$prefix")
	: >"$log"
	ip netns exec "$ns" stdbuf -oL "$app" --lcores "0@0,1@(0-1)" --no-huge -m 512 --no-pci \
		--file-prefix="$prefix" --log-level='pmd.net.vhostfix*:info' \
		--vdev "net_tap0,iface=vm$$$name" \
		--vdev "net_vhost0,iface=$q_work/$name.sock,packed=1" -- \
		--mode sleep --pairs net_tap0:net_vhost0 >"$log" 2>&1 &
	app_pid[$name]=$!
	q_pids+=($!)
	vhf_wait_for "$log" "dpdk-vhostfix: forwarding" 60 $! &&
		ip -n "$ns" link set "vm$$$name" master br0 up
}
declare -A app_pid=()

# The back-ends as migrate_lib.sh wants them.
mig_back_ends() {
	local b
	for b in A B; do
		back_end $b && continue
		diag <"$q_work/app$b.log"
		return 1
	done
}
mig_back_ends_stop() {
	vhf_stop_pids 10 "${app_pid[A]}" "${app_pid[B]}"
	mv "$q_work/appA.log" "$q_work/appA.$1.log"
	mv "$q_work/appB.log" "$q_work/appB.$1.log"
}
mig_sock() {
	echo "$q_work/$1.sock"
}
mig_logging_ons() {
	grep -c "dirty logging on" "$q_work/app$1.log"
}
# The bridge port the guest's MAC is learned on.
mig_fdb_port() {
	bridge -n "$ns" fdb show br br0 |
		awk -v m="$mig_guest_mac" '$1 == m && $2 == "dev" { print $3; exit }'
}
mig_port() {
	echo "vm$$$1"
}
mig_where() {
	echo "$1's tap"
}
mig_diag() {
	diag <"$q_work/app$1.log"
}

mig_run_rings "$teeth"
[ "$tap_failed" -eq 0 ]
