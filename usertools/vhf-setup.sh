#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors
#
# Install what dpdk-vhostfix needs on Debian 12 (run as root). Idempotent: asks
# apt only for packages that are missing.
#
#   usertools/vhf-setup.sh [--bench]
#
# --bench: also what the benchmarks use (usertools/packages/bench.list: the
# chart, perf, net_null); the build, the tests and the demo do not need them.
set -euo pipefail

lists=("$(dirname "$0")"/packages/*.txt)
case "${1:-}" in
'') ;;
--bench) lists+=("$(dirname "$0")/packages/bench.list") ;;
*) echo "vhf-setup: unknown argument '$1' (usage: vhf-setup.sh [--bench])" >&2; exit 2 ;;
esac

packages=(
	build-essential pkg-config meson ninja-build python3 python3-pyelftools
	libdpdk-dev dpdk dpdk-dev libnuma-dev libcmocka-dev dpkg-dev
	clang llvm libclang-rt-14-dev spin
	iproute2 procps
	# Priority required but not Essential: a minimal root (mmdebstrap
	# --variant=apt) has no mount(8), which the deb, install and qemu suites use.
	mount
)
# Packages of the integration suites (QEMU guests, OVS...): one list per suite,
# a package per line, '#' comments.
for list in "${lists[@]}"; do
	[ -f "$list" ] || continue
	while read -r p _; do
		case "$p" in ''|'#'*) continue ;; esac
		packages+=("$p")
	done <"$list"
done

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "vhf-setup: missing packages (${missing[*]}); run as root to install them" >&2
		exit 1
	fi
	echo "vhf-setup: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	# Packages with services (openvswitch-switch) must not start them: the tests run
	# their own private instances. A policy-rc.d of ours only while we install.
	policy=/usr/sbin/policy-rc.d
	own_policy=
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 0755 "$policy" && own_policy=1
	fi
	rc=0
	apt-get update -q && apt-get install -y -q --no-install-recommends "${missing[@]}" || rc=$?
	[ -n "$own_policy" ] && rm -f "$policy"
	[ "$rc" -eq 0 ] || { echo "vhf-setup: apt-get failed ($rc)" >&2; exit 1; }
fi

pkg-config --exists libdpdk || { echo "vhf-setup: pkg-config cannot find libdpdk" >&2; exit 1; }
echo "vhf-setup: DPDK $(pkg-config --modversion libdpdk), $(meson --version | sed 's/^/meson /')"
