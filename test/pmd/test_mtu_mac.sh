#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors
#
# net_vhostfix MTU and MAC, as OVS-DPDK and testpmd use them: runs vhf_pmd_mtu
# (TAP) on a port with no guest, sockets in a temporary directory. The logs
# must name the malformed mac= devarg.
#
# Usage: test_mtu_mac.sh <vhf_pmd_mtu>

set -u
. "$(dirname "$0")/../tap.sh"
prog=${1:-}
if [ ! -x "$prog" ]; then
	echo "Bail out! usage: $0 <vhf_pmd_mtu>"
	exit 1
fi
if [ "$(id -u)" != 0 ]; then
	tap_plan 1
	tap_skip_rest 1 "needs root (EAL runtime directory, vhost-user sockets)"
fi
work=$(mktemp -d /tmp/vhf-pmd-mtu.XXXXXX) || exit 1
prefix=vhfmtu$$
trap 'rm -rf "$work" "/var/run/dpdk/$prefix"' EXIT
trap 'exit 130' INT TERM

"$prog" --no-huge -m 256 --no-pci --file-prefix="$prefix" --log-level='pmd.net.vhostfix*:info' \
	--vdev "net_vhostfix0,iface=$work/mtu0.sock,mac=02:00:00:00:00:01" -- "$work" \
	>"$work/out.log" 2>&1
rc=$?
grep -E "^(1\.\.|ok |not ok |Bail out)" "$work/out.log"
# The program plans 12 and prints 11; the 12th is ours.
tap_n=$(grep -cE "^(ok|not ok) " "$work/out.log")
grep -q "devarg mac=02:00:00:00:01: expected a unicast" "$work/out.log"
check $? "the malformed mac= is named in the log"
[ "$rc" -eq 0 ] && [ "$tap_failed" -eq 0 ] && exit 0
diag <"$work/out.log"
exit 1
