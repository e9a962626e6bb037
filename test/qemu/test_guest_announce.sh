#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors
#
# A real Linux guest under QEMU announced at its location on QEMU's
# `announce_self` (what QEMU does after a live migration), both ways, as seen
# on the host side of the net_vhostfix port (vhf_pmd_announce: rx queue 0's
# frames, dumped on request):
#
#  1. a guest offered VIRTIO_NET_F_GUEST_ANNOUNCE (the PMD offers it, QEMU
#     passes it on) negotiates it; on announce_self QEMU sets
#     VIRTIO_NET_S_ANNOUNCE and the guest sends its own gratuitous ARP for
#     10.0.0.11 through the port; QEMU sends the back-end no SEND_RARP.
#  2. a guest without it (virtio-net-pci guest_announce=off): QEMU sends
#     VHOST_USER_SEND_RARP and the port delivers the RARP for the guest's MAC.
#
# Usage: test_guest_announce.sh <vhf_pmd_announce> <usertools/vhf-guests.sh>
# Prints TAP. Needs root and QEMU (skips without), a guest image (see
# test_guest_testpmd.sh). About a minute under TCG.

set -u
host_prog=${1:-}
guests=${2:-}
if [ ! -x "$host_prog" ] || [ ! -x "$guests" ]; then
	echo "1..0 # SKIP usage: $0 <vhf_pmd_announce> <vhf-guests.sh>"
	exit 1
fi
. "$(dirname "$0")/qemu_lib.sh"
. "$(dirname "$0")/../pmd/announce_host.sh"

ncases=6
boot_s=${VHF_QEMU_TEST_BOOT_TIMEOUT:-150}
q_init $ncases

mac=52:54:00:00:01:11
mac_hex=525400000111
# Linux's gratuitous ARP: broadcast, ARP request (or reply) from the guest's
# MAC, sender and target protocol address both 10.0.0.11.
garp_re="ffffffffffff${mac_hex}0806000108000604000[12]${mac_hex}0a00000b[0-9a-f]{12}0a00000b"
# The RARP the port sends for it (as test/pmd/test_announce.sh spells it out).
rarp_hex=$(announce_rarp_hex "$mac_hex")

prefix=vhfqann$$
q_prefixes+=("$prefix")
host_log=$q_work/host.log
if ! announce_host_start "$host_prog" "$host_log" "$prefix" "$q_work/vhost0.sock"; then
	q_pids+=("$announce_host_pid")
	not_ok "host port up"
	tap_skip_rest $ncases "no host"
fi
host=$announce_host_pid
q_pids+=("$host")

rounds=0
# round: the host's report of what rx queue 0 delivered since the last one; sets rep.
round() {
	rounds=$((rounds + 1))
	kill -USR1 "$host"
	vhf_wait_for "$host_log" "^END $rounds\$" 30 "$host" || return 1
	rep=$(sed -n "/^ROUND $rounds /,/^END $rounds\$/p" "$host_log")
}

# until_frame REGEX SECONDS: reports until one holds a frame matching REGEX.
# The timeout is for an announcement that will never come.
until_frame() {
	local t_end=$((SECONDS + $2))
	while [ $SECONDS -lt $t_end ]; do
		round || return 1
		grep -Eq "^FRAME $1" <<<"$rep" && return 0
		vhf_pause 0.5
	done
	return 1
}

# guest_up_features: the features of the last guest the PMD saw come up.
guest_up_features() {
	grep -o "guest up (port 0, features 0x[0-9a-f]*" "$host_log" | tail -1 | sed 's/.* //'
}

ups_above() {
	[ "$(grep -c "guest up (port 0" "$host_log")" -gt "$1" ]
}

# boot NAME SPEC: one guest on the port; true once READY and attached.
boot() {
	local ups
	ups=$(grep -c "guest up (port 0" "$host_log")
	q_guests "$1" --guest "sock=$q_work/vhost0.sock,$2" --timeout "$boot_s" &&
		vhf_wait_until 20 "$host" ups_above "$ups"
}

# boot_failed NAME: the guest did not come up: its case and the 2 after it fail.
boot_failed() {
	not_ok "$1: the guest did not come up"
	diag <"$gdir.start.log"
	q_guest_logs "$gdir" 0
	diag <"$host_log"
	not_ok "$1: no guest"
	not_ok "$1: no guest"
}

# ---- 1. the guest announces itself ------------------------------------------

if boot self "announce=1"; then
	f=$(guest_up_features)
	(((f >> 21) & 1))
	check $? "guest_announce=on: the guest negotiated VIRTIO_NET_F_GUEST_ANNOUNCE ($f)"
	rarps_before=$(grep -c "front-end asks to announce" "$host_log")
	round # what came before the announcement
	out=$("$guests" hmp --dir "$gdir" -g 0 --timeout 30 -- announce_self 2>&1)
	if until_frame "$garp_re" 60; then
		ok "announce_self: the guest's own gratuitous ARP for 10.0.0.11 came through the port"
	else
		not_ok "announce_self: no gratuitous ARP from the guest (hmp: ${out:-nothing})"
		diag <"$host_log"
		q_guest_logs "$gdir" 0
	fi
	[ "$(grep -c "front-end asks to announce" "$host_log")" = "$rarps_before" ]
	check $? "QEMU sent no SEND_RARP for a guest that announces itself"
else
	boot_failed self
fi
"$guests" stop --dir "$gdir"

# ---- 2. the port announces the guest ----------------------------------------

if boot rarp "announce=0"; then
	f=$(guest_up_features)
	! (((f >> 21) & 1))
	check $? "guest_announce=off: no VIRTIO_NET_F_GUEST_ANNOUNCE ($f)"
	round
	out=$("$guests" hmp --dir "$gdir" -g 0 --timeout 30 -- announce_self 2>&1)
	if until_frame "$rarp_hex\$" 60; then
		ok "announce_self: SEND_RARP, and the port delivered the RARP for $mac"
	else
		not_ok "announce_self: no RARP for $mac (hmp: ${out:-nothing})"
		diag <"$host_log"
	fi
	grep -q "front-end asks to announce the guest: RARP for $mac" "$host_log"
	check $? "the request is logged at INFO"
else
	boot_failed rarp
fi
"$guests" stop --dir "$gdir"

[ "$tap_failed" -eq 0 ]
