#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors
#
# Fetch the DPDK driver SDK headers that Debian's libdpdk-dev does not ship
# (ethdev_driver.h, ethdev_vdev.h, bus_vdev_driver.h, dev_driver.h,
# bus_driver.h and whatever they include) from Debian's own source package of
# the installed DPDK, so they match the installed libraries exactly.
#
# Usage: fetch-dpdk-sdk-headers.sh <output dir>
#
# The headers land in <output dir>/include. The system's apt configuration is
# not touched: deb-src entries are derived from the machine's apt sources into
# a private apt configuration and state under <output dir>/apt. Nothing of
# DPDK's source is kept but the headers. A second run with a matching result in
# place does nothing. Set VHF_DPDK_SDK_SRC=<unpacked DPDK source tree> to take
# the headers from a tree you already have instead of downloading.

set -eu

die() {
	echo "fetch-dpdk-sdk-headers: error: $*" >&2
	exit 1
}

[ $# -eq 1 ] || die "usage: $0 <output dir>"
out=$1
inc=$out/include
stamp=$out/stamp

# Headers the PMD includes; their own includes are pulled in below.
wanted="ethdev_driver.h ethdev_vdev.h bus_vdev_driver.h dev_driver.h bus_driver.h"

modversion=$(pkg-config --modversion libdpdk 2>/dev/null) ||
	die "pkg-config does not know libdpdk: install libdpdk-dev"
sysinc=$(pkg-config --variable=includedir libdpdk)
srcpkg=$(dpkg-query -W -f='${source:Package}' libdpdk-dev 2>/dev/null) || srcpkg=dpdk
debversion=$(dpkg-query -W -f='${source:Version}' libdpdk-dev 2>/dev/null) || debversion=

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$modversion $debversion" ]; then
	exit 0
fi

mkdir -p "$out"
work=$(mktemp -d "$out/tmp.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM

fetch_source() {
	# Private apt: own config, lists, cache and sources; the system's keyrings.
	apt=$out/apt
	mkdir -p "$apt/sources.list.d" "$apt/lists/partial" "$apt/archives/partial" \
		"$apt/preferences.d"
	rm -f "$apt/sources.list.d/"*
	: >"$apt/sources.list"
	found=0
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		# One-line format: every "deb" line gets its "deb-src" twin.
		sed -n 's/^[[:space:]]*deb[[:space:]]/deb-src /p' "$f" >>"$apt/sources.list"
		found=1
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		# deb822 format: same stanzas, source type.
		sed 's/^Types:.*/Types: deb-src/' "$f" >"$apt/sources.list.d/$(basename "$f")"
		found=1
	done
	[ $found -eq 1 ] || die "no apt sources found under /etc/apt to derive deb-src entries from"

	cat >"$apt/apt.conf" <<CONF
Dir::Etc::sourcelist "$apt/sources.list";
Dir::Etc::sourceparts "$apt/sources.list.d";
Dir::Etc::preferences "$apt/preferences";
Dir::Etc::preferencesparts "$apt/preferences.d";
Dir::State "$apt";
Dir::State::lists "$apt/lists";
Dir::State::status "/var/lib/dpkg/status";
Dir::Cache "$apt";
Dir::Cache::archives "$apt/archives";
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
APT::Sandbox::User "$(id -un)";
Acquire::Languages "none";
CONF
	APT_CONFIG=$apt/apt.conf
	export APT_CONFIG

	echo "fetch-dpdk-sdk-headers: apt-get update (private state in $apt)" >&2
	apt-get -q -o Debug::NoLocking=1 update >"$work/update.log" 2>&1 ||
		echo "fetch-dpdk-sdk-headers: warning: apt-get update reported errors" \
			"(see below); trying anyway" >&2

	# The exact Debian version first; the same upstream version is good enough
	# for headers (checked against pkg-config below) if the archive moved on.
	cd "$work"
	if [ -n "$debversion" ] &&
		apt-get -q -o Debug::NoLocking=1 source --download-only "$srcpkg=$debversion" \
			>"$work/source.log" 2>&1; then
		:
	elif apt-get -q -o Debug::NoLocking=1 source --download-only "$srcpkg" \
			>"$work/source.log" 2>&1; then
		echo "fetch-dpdk-sdk-headers: warning: $srcpkg $debversion not in the archive," \
			"using the archive's version (upstream version is checked)" >&2
	else
		cat "$work/update.log" "$work/source.log" >&2
		die "apt-get source $srcpkg failed: is the network reachable and is there a" \
			"Debian archive among the apt sources? (or set VHF_DPDK_SDK_SRC)"
	fi
	dsc=$(find "$work" -maxdepth 1 -name '*.dsc' | head -n 1)
	[ -n "$dsc" ] || die "apt-get source left no .dsc in $work"
	# Unpacks and applies Debian's patches: the headers are those Debian built.
	dpkg-source --no-check -x "$dsc" "$work/src" >"$work/unpack.log" 2>&1 ||
		{ cat "$work/unpack.log" >&2; die "dpkg-source -x $dsc failed"; }
	cd - >/dev/null
	src=$work/src
}

if [ -n "${VHF_DPDK_SDK_SRC:-}" ]; then
	src=$VHF_DPDK_SDK_SRC
else
	fetch_source
fi

[ -f "$src/VERSION" ] || die "$src does not look like a DPDK source tree (no VERSION)"
srcversion=$(cat "$src/VERSION")
[ "$srcversion" = "$modversion" ] ||
	die "DPDK source is $srcversion but the installed libdpdk is $modversion"

# Copy the wanted headers and, transitively, every local header they include
# that the installed package lacks. Installed headers are never shadowed.
rm -rf "$inc.new"
mkdir -p "$inc.new"
find "$src/lib" "$src/drivers/bus" -name '*.h' >"$work/all"
queue=$wanted
while [ -n "$queue" ]; do
	next=
	for h in $queue; do
		[ -f "$inc.new/$h" ] && continue
		[ -f "$sysinc/$h" ] && continue
		path=$(grep "/$h\$" "$work/all" | head -n 1)
		[ -n "$path" ] || die "$h not found in the DPDK $srcversion source"
		cp "$path" "$inc.new/$h"
		inc_re='s/^#[[:space:]]*include[[:space:]]*[<"]\([^>"]*\)[>"].*/\1/p'
		next="$next $(sed -n "$inc_re" "$path" | grep -v / | tr '\n' ' ')"
	done
	# Keep only DPDK's own headers (system headers are found by the compiler).
	queue=
	for h in $next; do
		grep -q "/$h\$" "$work/all" && queue="$queue $h"
	done
done
for h in $wanted; do
	[ -f "$inc.new/$h" ] || [ -f "$sysinc/$h" ] || die "$h missing after copy"
done
rm -rf "$inc"
mv "$inc.new" "$inc"
echo "$modversion $debversion" >"$stamp"
# The package lists are only needed again if DPDK is upgraded: do not keep them.
rm -rf "$out/apt"
echo "fetch-dpdk-sdk-headers: DPDK $srcversion SDK headers in $inc:" \
	"$(cd "$inc" && echo *.h)" >&2
