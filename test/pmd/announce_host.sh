#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors
#
# Sourced by the announce tests (test/pmd/test_announce.sh, and
# test/qemu/test_guest_announce.sh with a real guest): the host side, a
# net_vhostfix port in vhf_pmd_announce, and the RARP it must deliver.
# Needs tap.sh and usertools/vhf-wait.sh sourced first.

# announce_rarp_hex MAC_HEX: the RARP announcing MAC_HEX (12 hex digits) as hex,
# written out here rather than by the code under test: Ethernet broadcast from
# the MAC, EtherType 0x8035; hardware type 1, protocol 0x0800, lengths 6 and 4,
# operation 3 (request reverse); sender MAC, 0.0.0.0, target MAC, 0.0.0.0;
# zeros up to 60 bytes.
announce_rarp_hex() {
	local m=$1 frame

	frame=ffffffffffff${m}80350001080006040003${m}00000000${m}00000000
	frame+=000000000000000000000000000000000000
	echo "$frame"
}

# announce_host_start PROG LOG PREFIX SOCK: vhf_pmd_announce on a net_vhostfix
# port at SOCK (EAL file prefix PREFIX), its output in LOG; its pid in
# announce_host_pid (the caller stops it). False, with LOG shown, if it never
# says READY.
announce_host_start() {
	: >"$2"
	stdbuf -oL "$1" --lcores 0@0 --no-huge -m 256 --no-pci --file-prefix="$3" \
		--log-level='pmd.net.vhostfix*:info' --vdev "net_vhostfix0,iface=$4" \
		>"$2" 2>&1 &
	announce_host_pid=$!
	vhf_wait_for "$2" "^READY" 60 "$announce_host_pid" && return 0
	diag <"$2"
	return 1
}
