#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors
#
# Sourced by the demo and the app tests: a "NIC" and a "guest" for
# dpdk-vhostfix on one machine, each in a network namespace of its own.
#
#   namespace $vhf_ns_nic:   dpdk-vhostfix runs here; its net_tap port's kernel
#                            side, $vhf_nic_if, has $vhf_nic_ip
#   namespace $vhf_ns_guest: the guest, a dpdk-testpmd with DPDK's virtio-user
#                            (the app's vhost-user peer) forwarding to a net_tap
#                            port whose kernel side, $vhf_guest_if, has
#                            $vhf_guest_ip
#
# So kernel sockets in one namespace talk to kernel sockets in the other
# through: tap -> dpdk-vhostfix -> vhost-user -> virtio-user -> tap.
# Every process started here is stopped by PID and both namespaces removed by
# vhf_topo_cleanup (call it from an EXIT trap).

. "$(dirname "${BASH_SOURCE[0]}")/vhf-wait.sh"

vhf_topo_pids=()
vhf_topo_made_ns=()
vhf_nic_ip=10.231.0.1
vhf_guest_ip=10.231.0.2
vhf_topo_prefixes=()

# vhf_topo_init TAG: names derived from TAG (keep it short), namespaces made.
# IPv4 only: the kernel's IPv6 router solicitations, neighbour discovery and
# MLD reports would otherwise cross the app now and then on their own, waking
# a sleeping forwarder (and hiding a wake-up it missed) in the middle of a test.
vhf_topo_init() {
	local tag=$1 ns
	vhf_ns_nic=vhfn$tag
	vhf_ns_guest=vhfg$tag
	vhf_nic_if=vhfn$tag
	vhf_guest_if=vhfg$tag
	for ns in "$vhf_ns_nic" "$vhf_ns_guest"; do
		ip netns add "$ns" || return 1
		vhf_topo_made_ns+=("$ns")
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
			net.ipv6.conf.default.disable_ipv6=1 || return 1
		ip -n "$ns" link set lo up || return 1
	done
}

# vhf_topo_stop PID: SIGTERM, then SIGKILL after 10 s.
vhf_topo_stop() {
	local keep=() p
	vhf_stop_pids 10 "$1"
	for p in "${vhf_topo_pids[@]}"; do
		[ "$p" != "$1" ] && keep+=("$p")
	done
	vhf_topo_pids=("${keep[@]}")
}

vhf_topo_cleanup() {
	local p ns
	for p in "${vhf_topo_pids[@]}"; do
		vhf_topo_stop "$p"
	done
	[ -n "${vhf_guest_stdin:-}" ] && exec {vhf_guest_stdin}<&-
	for ns in "${vhf_topo_made_ns[@]}"; do
		ip netns delete "$ns" 2>/dev/null
	done
	vhf_topo_made_ns=()
	for p in "${vhf_topo_prefixes[@]}"; do
		rm -rf "/var/run/dpdk/$p"
	done
}

# vhf_app_start LOG PREFIX APP EAL/APP ARGS...: dpdk-vhostfix in the NIC
# namespace with a net_tap port (port name net_tap0, kernel side $vhf_nic_if)
# before the caller's --vdev arguments; sets vhf_app_pid. The caller's
# arguments must include the "--" and the app options.
vhf_app_start() {
	local log=$1 prefix=$2 app=$3
	shift 3
	vhf_topo_prefixes+=("$prefix")
	# No child of ours (see vhf_spawn): it outlives many waits of this shell.
	vhf_spawn "$log" ip netns exec "$vhf_ns_nic" stdbuf -oL "$app" -l 0-1 --no-huge -m 512 \
		--no-pci --file-prefix="$prefix" --vdev "net_tap0,iface=$vhf_nic_if" "$@"
	vhf_app_pid=$vhf_spawn_pid
	vhf_topo_pids+=("$vhf_app_pid")
	vhf_wait_for "$log" "dpdk-vhostfix: forwarding" 60 "$vhf_app_pid" || return 1
	ip -n "$vhf_ns_nic" addr add "$vhf_nic_ip/24" dev "$vhf_nic_if" &&
		ip -n "$vhf_ns_nic" link set "$vhf_nic_if" up
}

# vhf_guest_start LOG PREFIX SOCKET split|packed: the testpmd guest; sets
# vhf_guest_pid. Its forwarding lcore runs on CPU 0, the app's worker on CPU 1.
vhf_guest_start() {
	local log=$1 prefix=$2 sock=$3 ring=$4 vu
	vu="net_virtio_user0,path=$sock"
	[ "$ring" = packed ] && vu+=",packed_vq=1"
	vhf_topo_prefixes+=("$prefix")
	# testpmd without -i waits for a key press on stdin: a fifo we hold open, never written.
	rm -f "$log.in"
	mkfifo "$log.in" || return 1
	exec {vhf_guest_stdin}<>"$log.in"
	# shellcheck disable=SC2016 # expanded by that sh
	vhf_spawn "$log" sh -c 'f=$1; shift; exec "$@" <"$f"' vhf-stdin "$log.in" \
		ip netns exec "$vhf_ns_guest" stdbuf -oL \
		"${DPDK_TESTPMD:-dpdk-testpmd}" --lcores 0@1,1@0 --no-huge -m 512 --no-pci \
		--file-prefix="$prefix" --vdev "$vu" --vdev "net_tap0,iface=$vhf_guest_if" -- \
		--forward-mode=io --auto-start --nb-cores=1 --total-num-mbufs=8192
	vhf_guest_pid=$vhf_spawn_pid
	vhf_topo_pids+=("$vhf_guest_pid")
	vhf_wait_for "$log" "Press enter to exit" 60 "$vhf_guest_pid" || return 1
	ip -n "$vhf_ns_guest" addr add "$vhf_guest_ip/24" dev "$vhf_guest_if" &&
		ip -n "$vhf_ns_guest" link set "$vhf_guest_if" up
}
