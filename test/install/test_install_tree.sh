#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors
#
# `meson install --destdir` of the build, and what it installed: exactly the
# expected files and links (none dangling), the installed app and every
# installed tool answering --help (a tool that sources or imports a sibling
# finds it), an application built against the installed header and library
# through libdpdk-vhostfix.pc, and dpdk-testpmd finding net_vhostfix in the
# installed plugin directory given to -d as a directory, as EAL reads its own
# (every driver in it).
#
# Usage: test_install_tree.sh <meson> <build dir>, with the install layout in
# VHF_INST_* (test/install/meson.build). Prints TAP. The testpmd case needs
# root: EAL refuses plugins below a world-writable directory, so the tree goes
# under /run (else under the build directory, and that case is skipped).

set -u
. "$(dirname "$0")/../tap.sh"

meson=${1:-}
build=${2:-}
testpmd=${DPDK_TESTPMD:-dpdk-testpmd}
prefix=$VHF_INST_PREFIX
pmddir=$VHF_INST_PMDDIR
abi=$VHF_INST_ABI
major=${abi%%.*}

ncases=8
tap_plan $ncases
if [ ! -x "$meson" ] || [ ! -f "$build/build.ninja" ]; then
	echo "Bail out! usage: $0 <meson> <build dir>"
	exit 1
fi

if [ "$(id -u)" = 0 ]; then
	dest=/run/vhf-install-test.$$
	mkdir -m 0755 "$dest" || { echo "Bail out! cannot create $dest"; exit 1; }
else
	dest=$(mktemp -d "$build/install-test.XXXXXX") || exit 1
fi
work=$dest.work
mkdir -m 0700 "$work" || exit 1
prefix_eal=vhfinst$$
# meson install rewrites the build's install log, which `ninja uninstall` reads: the
# log of a real install must survive this one (else uninstall would remove our
# destdir, long gone, and leave the real files).
install_log=$build/meson-logs/install-log.txt
had_log=
[ -f "$install_log" ] && cp -p "$install_log" "$work/install-log.txt" && had_log=1
cleanup() {
	if [ -n "$had_log" ]; then
		cp -p "$work/install-log.txt" "$install_log"
	else
		rm -f "$install_log"
	fi
	rm -rf "$dest" "$work" "/var/run/dpdk/$prefix_eal"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# 1. The install itself (the build is up to date: meson test built it).
if "$meson" install -C "$build" --no-rebuild --destdir "$dest" --quiet >"$work/install.log" 2>&1
then
	ok "meson install --destdir"
else
	not_ok "meson install --destdir"
	diag <"$work/install.log"
	tap_skip_rest $ncases "nothing installed"
fi

# 2. The tree: files and links, each with where it points.
bin=$prefix/$VHF_INST_BINDIR
tools=$prefix/$VHF_INST_DATADIR/dpdk-vhostfix/usertools
pmd=librte_net_vhostfix.so
{
	echo "$pmddir/$pmd.$abi"
	echo "$pmddir/$pmd.$major -> $pmd.$abi"
	echo "$pmddir/$pmd -> $pmd.$major"
	# DPDK's libdir holds links into the plugin directory, as for DPDK's own drivers.
	rel=${pmddir#"$VHF_INST_DPDK_LIBDIR"/}
	echo "$VHF_INST_DPDK_LIBDIR/$pmd.$major -> $rel/$pmd.$major"
	echo "$VHF_INST_DPDK_LIBDIR/$pmd -> $rel/$pmd"
	echo "$bin/dpdk-vhostfix"
	for t in stats:vhf-stats.py ovs-add-port:vhf-ovs-add-port.sh guests:vhf-guests.sh \
		bench:vhf-bench.py ovs-bench:vhf-ovs-bench.sh; do
		echo "$bin/dpdk-vhostfix-${t%%:*} -> ../${tools#"$prefix/"}/${t#*:}"
	done
	for f in vhf-stats.py vhf-ovs-add-port.sh vhf-guests.sh vhf-guest-image.sh vhf-bench.py \
		vhf_bench_report.py vhf-ovs-bench.sh vhf-ovs-private.sh vhf-hugepages.sh vhf-wait.sh; do
		echo "$tools/$f"
	done
	echo "$prefix/$VHF_INST_INCLUDEDIR/dpdk-vhostfix/rte_pmd_vhostfix.h"
	echo "$prefix/$VHF_INST_LIBDIR/pkgconfig/libdpdk-vhostfix.pc"
	echo "$prefix/$VHF_INST_DATADIR/doc/dpdk-vhostfix/examples/dpdk-vhostfix.ini"
	echo "$prefix/$VHF_INST_MANDIR/man1/dpdk-vhostfix.1"
} | sort >"$work/want"
(cd "$dest" && find . \( -type f -o -type l \) -printf '/%P\n' | sort | while read -r f; do
	if [ -L ".$f" ]; then echo "$f -> $(readlink ".$f")"; else echo "$f"; fi
done) >"$work/have"
if diff -u "$work/want" "$work/have" >"$work/tree.diff"; then
	ok "the installed tree: $(wc -l <"$work/have") files and links, as expected"
else
	not_ok "the installed tree differs from the expected one (- expected, + installed)"
	diag <"$work/tree.diff"
fi

# 3. No link leads outside the tree or nowhere.
dangling=$(cd "$dest" && find . -type l ! -exec test -e {} \; -print)
if [ -z "$dangling" ]; then
	ok "every installed link resolves inside the tree"
else
	not_ok "dangling links: $dangling"
fi

# 4. The installed app.
out=$("$dest$bin/dpdk-vhostfix" -- --help 2>&1)
rc=$?
if [ "$rc" -eq 0 ] && grep -q -- "--mode" <<<"$out"; then
	ok "installed dpdk-vhostfix --help: exit 0, lists its options"
else
	not_ok "installed dpdk-vhostfix --help: exit $rc"
	diag <<<"$out"
fi

# 5. Every installed tool, through its link in bin/ (from another directory, so
# that nothing is found relative to the working directory).
fail=
for t in "$dest$bin"/dpdk-vhostfix-*; do
	if ! out=$(cd / && "$t" --help 2>&1) || [ "$(wc -l <<<"$out")" -lt 3 ]; then
		fail+=" $(basename "$t")"
		diag <<<"$out"
	fi
done
if [ -z "$fail" ]; then
	ok "every installed tool answers --help: exit 0, its usage"
else
	not_ok "installed tools that fail --help:$fail"
fi

# 6. An application of the tx-wait API, built with the installed pkg-config file
# (a copy whose own paths lead into the destdir; --define-variable would move
# libdpdk's too), linked against the installed library and run with it.
pcdir=$work/pkgconfig
mkdir -p "$pcdir"
sed "s|^prefix=|prefix=$dest|; s|^libdir=|libdir=$dest|" \
	"$dest$prefix/$VHF_INST_LIBDIR/pkgconfig/libdpdk-vhostfix.pc" >"$pcdir/libdpdk-vhostfix.pc"
cat >"$work/app.c" <<'EOF'
#include <stdio.h>
#include <rte_pmd_vhostfix.h>

int
main(void)
{
	/* No EAL, no port: the call must refuse, not crash. */
	printf("%d\n", rte_pmd_vhostfix_tx_wait_fd(0, 0) < 0);
	return 0;
}
EOF
if cflags=$(PKG_CONFIG_PATH=$pcdir pkg-config --cflags libdpdk-vhostfix) &&
	libs=$(PKG_CONFIG_PATH=$pcdir pkg-config --libs libdpdk-vhostfix) &&
	# shellcheck disable=SC2086
	cc -DALLOW_EXPERIMENTAL_API $cflags -o "$work/app" "$work/app.c" $libs \
		>"$work/cc.log" 2>&1 &&
	out=$(LD_LIBRARY_PATH=$dest$VHF_INST_DPDK_LIBDIR "$work/app" 2>&1) && [ "$out" = 1 ]; then
	ok "an application built with libdpdk-vhostfix.pc links and runs the installed library"
else
	not_ok "an application built with libdpdk-vhostfix.pc"
	diag <"$work/cc.log"
	diag <<<"${out:-}"
fi

# 7. dpdk-testpmd -d <installed plugin directory>: EAL opens our driver from
# there (its own log says which files) and the vdev is net_vhostfix's.
if [ "$(id -u)" != 0 ]; then
	echo "ok 7 # SKIP needs root (EAL refuses plugins below world-writable directories)"
	tap_n=7
else
	log=$work/testpmd.log
	printf 'show port info 0\nquit\n' | timeout 60 stdbuf -oL "$testpmd" -l 0,1 --no-huge \
		-m 256 --no-pci --file-prefix="$prefix_eal" --log-level=lib.eal:debug \
		-d "$dest$pmddir" --vdev "net_vhostfix0,iface=$work/vhost.sock" \
		-- -i --total-num-mbufs=2048 >"$log" 2>&1
	if grep -q "open shared lib $dest$pmddir/$pmd" "$log" &&
		grep -q "Driver name: *net_vhostfix$" "$log"; then
		ok "dpdk-testpmd -d $pmddir (installed): port 0 is net_vhostfix"
	else
		not_ok "dpdk-testpmd -d $pmddir (installed) did not give a net_vhostfix port"
		grep -v "open shared lib\|log level changed" "$log" | diag
	fi
fi

# 8. The installed man page renders without a warning.
page=$dest$prefix/$VHF_INST_MANDIR/man1/dpdk-vhostfix.1
if [ -f "$page" ] && out=$(MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null) &&
	[ -z "$out" ]; then
	ok "man -l of the installed dpdk-vhostfix.1: no warning"
else
	not_ok "man -l of the installed dpdk-vhostfix.1"
	diag <<<"${out:-no page}"
fi

[ "$tap_failed" -eq 0 ]
