#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors
#
# Sourced by the test/ovs scripts, after test/tap.sh and
# usertools/vhf-ovs-private.sh: OVS-DPDK present, installed, or the test
# skipped with the reason.

ovs_lib_top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# ovs_install LOG: Debian's OVS with DPDK from usertools/packages/ovs.txt, apt's
# output in LOG (shown as diag when it fails).
# Package scripts must not start the system's OVS services: when the machine
# has no policy-rc.d, one that denies starts is in place for the install.
ovs_install() {
	local log=$1 pkgs=() p _ policy=/usr/sbin/policy-rc.d ours=0 rc apt
	while read -r p _; do
		case "$p" in '' | '#'*) continue ;; esac
		pkgs+=("$p")
	done <"$ovs_lib_top/usertools/packages/ovs.txt"
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 0755 "$policy" && ours=1
	fi
	echo "# installing ${pkgs[*]}"
	# Others may be running apt: wait for dpkg's lock rather than fail.
	apt=(apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=120)
	DEBIAN_FRONTEND=noninteractive "${apt[@]}" "${pkgs[@]}" >"$log" 2>&1 ||
		{ apt-get update -q >>"$log" 2>&1 &&
			DEBIAN_FRONTEND=noninteractive "${apt[@]}" "${pkgs[@]}" >>"$log" 2>&1; }
	rc=$?
	[ "$ours" = 1 ] && rm -f "$policy"
	[ $rc -eq 0 ] || diag <"$log"
	return $rc
}

# ovs_need NCASES LOG: return with OVS-DPDK installed (ovs_install when it is
# missing, apt's output in LOG), or skip every case with the reason.
ovs_need() {
	ovs_priv_find_vswitchd >/dev/null && command -v ovsdb-server >/dev/null && return 0
	ovs_install "$2" ||
		tap_skip_rest "$1" "OVS with DPDK missing and usertools/packages/ovs.txt did not install"
	ovs_priv_find_vswitchd >/dev/null ||
		tap_skip_rest "$1" "no DPDK build of ovs-vswitchd after install"
}
