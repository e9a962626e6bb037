#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors
#
# The Debian packages as a user gets them: built from the tree with
# dpkg-buildpackage (once per run), checked by lintian, installed with apt into
# a clean Debian 12 root (mmdebstrap, from the machine's Debian sources), used
# there, and purged without a trace. In the root, with nothing of the build
# tree and no -d anywhere:
#   - dpdk-testpmd --vdev net_vhostfix0,... finds no driver before the install;
#   - after it, dpdk-testpmd --vdev net_vhostfix0,iface=... against DPDK's
#     virtio-user in a second testpmd (--no-huge both), traffic both ways;
#   - the installed dpdk-vhostfix -- --help and man dpdk-vhostfix;
#   - a private OVS-DPDK (the installed vhf-ovs-private.sh) with no -d in
#     dpdk-extra: ovs-vsctl add-port ... type=dpdk
#     options:dpdk-devargs=net_vhostfix0,iface=... gives a port of driver
#     net_vhostfix;
#   - apt-get purge: every path dpkg -L listed is gone, and the root's tree is
#     as it was before the install.
#
# The root is cached under the build directory, keyed by its package list and
# apt sources (VHF_DEB_CACHE overrides where): a first run makes it (minutes),
# later runs reuse it. Everything mounted in it (/proc, /sys, a /dev and /run
# of its own, never the host's) is unmounted on exit; every process started is
# stopped by PID.
#
# Usage: test_deb_chroot.sh <source dir> <build dir>
# Prints TAP. Needs root, mmdebstrap, debhelper, lintian (usertools/packages/
# deb.txt) and the network (SKIP with the reason otherwise).

set -u
src=${1:-}
build=${2:-}
. "$src/test/tap.sh"
. "$src/test/testpmd.sh"
. "$src/usertools/vhf-wait.sh"

ncases=9
tap_plan $ncases
if [ ! -f "$src/debian/control" ] || [ ! -d "$build" ]; then
	echo "Bail out! usage: $0 <source dir> <build dir>"
	exit 1
fi
[ "$(id -u)" = 0 ] || tap_skip_rest $ncases "needs root (chroot, mounts)"
for t in dpkg-buildpackage dh lintian mmdebstrap; do
	command -v "$t" >/dev/null ||
		tap_skip_rest $ncases "$t missing (usertools/vhf-setup.sh installs usertools/packages/deb.txt)"
done

cache=${VHF_DEB_CACHE:-$(cd "$build" && pwd)/deb-chroot}
min_pkts=${VHF_PMD_TEST_MIN_PKTS:-1000}
wait_s=${VHF_PMD_TEST_WAIT_S:-60}
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)
pkg=$cache/pkg
work=$(mktemp -d "$cache/run.XXXXXX") || exit 1
root=
mounts=()
pids=()
our_pkgs=(librte-net-vhostfix23 libdpdk-vhostfix-dev dpdk-vhostfix)

# Unmount everything under DIR (deepest first), whoever mounted it.
unmount_under() {
	local m
	awk -v d="$1/" 'index($2 "/", d) == 1 { print $2 }' /proc/self/mounts | sort -r |
		while read -r m; do umount "$m" 2>/dev/null || umount -l "$m"; done
}

cleanup() {
	exec 3>&- 4>&- 2>/dev/null
	vhf_stop_pids 5 "${pids[@]}"
	pids=()
	[ -n "$root" ] && unmount_under "$root"
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# inroot CMD...: CMD in the root, with a clean environment (nothing of the
# build's, such as meson's LD_LIBRARY_PATH); chroot and env exec it, so $! of
# a backgrounded inroot is CMD's own PID.
inroot() {
	chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
		LANG=C.UTF-8 TERM=dumb "$@"
}

# 1. The packages, built from a copy of the tree (dpkg-buildpackage writes
# beside and inside the tree it builds).
t0=$SECONDS
rm -rf "$pkg"
mkdir -p "$pkg/src"
if git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	(cd "$src" && git ls-files -co --exclude-standard -z | xargs -0 cp --parents -t "$pkg/src")
else
	tar -C "$src" --exclude='./build*' --exclude='./obj-*' -cf - . | tar -C "$pkg/src" -xf -
fi
(cd "$pkg/src" && dpkg-buildpackage -us -uc -b) >"$work/build.log" 2>&1
rc=$?
debs=()
for p in "${our_pkgs[@]}"; do
	f=$(ls "$pkg/${p}_"*.deb 2>/dev/null | head -n 1)
	[ -n "$f" ] && debs+=("$f")
done
if [ "$rc" -eq 0 ] && [ ${#debs[@]} -eq ${#our_pkgs[@]} ]; then
	ok "dpkg-buildpackage -us -uc -b: ${our_pkgs[*]} ($((SECONDS - t0)) s)"
else
	if grep -q "is the network reachable" "$work/build.log"; then
		tap_skip_rest $ncases "no network: the build cannot fetch the DPDK SDK headers"
	fi
	not_ok "dpkg-buildpackage failed ($rc)"
	diag <"$work/build.log"
	tap_skip_rest $ncases "no packages"
fi

# 2. lintian: nothing but what debian/*.lintian-overrides explain.
lintian --fail-on error,warning "$pkg"/*.changes >"$work/lintian.log" 2>&1
rc=$?
if [ "$rc" -eq 0 ] && ! grep -q '^[EW]: ' "$work/lintian.log"; then
	ok "lintian: no error, no warning"
else
	not_ok "lintian ($rc)"
	diag <"$work/lintian.log"
fi

# 3. The clean root. Its packages: testpmd (dpdk-dev) and the drivers it needs
# (virtio-user for the guest, the ring mempool for mbufs), OVS-DPDK, man, and
# every package ours depend on, so that the install needs no download.
deps=$(for f in "${debs[@]}"; do dpkg-deb -f "$f" Depends; done | tr ',|' '\n\n' |
	sed 's/(.*//; s/[[:space:]]//g' | grep -v '^$' | grep -vxF -f <(printf '%s\n' "${our_pkgs[@]}"))
include=$(printf '%s\n' dpdk-dev librte-net-virtio23 librte-mempool-ring23 openvswitch-switch-dpdk \
	man-db $deps | sort -u | tr '\n' ',' | sed 's/,$//')
codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
# The machine's Debian entries for its release (and its -updates and
# -security), in one-line format; other vendors' repositories are left out.
python3 - "$codename" >"$work/sources" <<'EOF'
import glob, re, sys
code = sys.argv[1]
suites = {code, code + '-updates', code + '-security'}
out = []
for path in ['/etc/apt/sources.list'] + sorted(glob.glob('/etc/apt/sources.list.d/*.list')):
    try:
        lines = open(path).read().splitlines()
    except OSError:
        continue
    for line in lines:
        w = line.split('#')[0].split()
        if len(w) >= 4 and w[0] == 'deb':
            rest = w[1:]
            opts = ''
            if rest[0].startswith('['):
                while not rest[0].endswith(']'):
                    opts += rest.pop(0) + ' '
                opts += rest.pop(0) + ' '
            if rest[1] in suites:
                out.append('deb %s%s' % (opts, ' '.join(rest)))
for path in sorted(glob.glob('/etc/apt/sources.list.d/*.sources')):
    for stanza in re.split(r'\n\s*\n', open(path).read()):
        f = {}
        for line in stanza.splitlines():
            m = re.match(r'^([A-Za-z-]+):\s*(.*)$', line)
            if m:
                f[m.group(1).lower()] = m.group(2).split()
        if 'deb' not in f.get('types', []) or f.get('enabled', ['yes'])[0] == 'no':
            continue
        opts = ''
        if f.get('signed-by'):
            opts = '[signed-by=%s] ' % f['signed-by'][0]
        for uri in f.get('uris', []):
            for s in f.get('suites', []):
                if s in suites:
                    out.append('deb %s%s %s %s' % (opts, uri, s, ' '.join(f.get('components', []))))
print('\n'.join(out))
EOF
key=$( { echo "$codename $include"; cat "$work/sources"; } | sha256sum | cut -c1-16)
root=$cache/root-$key
t0=$SECONDS
if [ -z "$codename" ] || [ ! -s "$work/sources" ]; then
	tap_skip_rest $ncases "no Debian release or apt source of it on this machine"
fi
if [ -f "$root.ok" ] && [ -d "$root" ]; then
	ok "clean Debian $codename root reused ($root)"
else
	# A root left half-made by an interrupted run, or other keys': gone.
	for old in "$cache"/root-*; do
		[ -e "$old" ] || continue
		unmount_under "${old%.ok}"
		rm -rf "${old%.ok}" "${old%.ok}.ok"
	done
	mirrors=()
	while read -r line; do mirrors+=("$line"); done <"$work/sources"
	mmdebstrap --variant=apt --include="$include" --aptopt='Acquire::Languages "none"' \
		"$codename" "$root" "${mirrors[@]}" >"$work/mmdebstrap.log" 2>&1
	rc=$?
	if [ "$rc" -ne 0 ]; then
		unmount_under "$root"
		rm -rf "$root"
		diag <"$work/mmdebstrap.log"
		tap_skip_rest $ncases "mmdebstrap could not make a $codename root ($rc; no network?)"
	fi
	touch "$root.ok"
	ok "clean Debian $codename root made by mmdebstrap ($((SECONDS - t0)) s)"
fi

# What the root needs to run DPDK and OVS: /proc, /sys (read-only), and a
# /dev and /run of its own (tmpfs: removing the root can never reach the
# host's). Ours were purged at the end of the last run; a run killed before
# that left them: purge first.
mount -t proc proc "$root/proc" &&
	mount -t sysfs -o ro sysfs "$root/sys" &&
	mount -t tmpfs -o mode=0755,size=16m tmpfs "$root/dev" &&
	mount -t tmpfs -o mode=0755,size=256m tmpfs "$root/run" ||
	{ echo "Bail out! cannot mount /proc, /sys, /dev, /run in $root"; exit 1; }
for n in null:1:3 zero:1:5 full:1:7 random:1:8 urandom:1:9 tty:5:0; do
	IFS=: read -r name major minor <<<"$n"
	mknod -m 0666 "$root/dev/$name" c "$major" "$minor"
done
mkdir -m 1777 "$root/dev/shm"
# OVS's netdev bridge is a tap device (only ever made in a network namespace
# of its own, below).
mkdir -m 0755 "$root/dev/net"
mknod -m 0666 "$root/dev/net/tun" c 10 200
mkdir -m 0755 "$root/dev/pts"
ln -s /proc/self/fd "$root/dev/fd"
ln -s pts/ptmx "$root/dev/ptmx"
# apt and dpkg want a terminal of their own for their logs: a devpts instance
# of the root's own.
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts "$root/dev/pts" ||
	{ echo "Bail out! cannot mount a devpts in $root"; exit 1; }
inroot dpkg --purge "${our_pkgs[@]}" >/dev/null 2>&1

# The root's tree, bar what changes by itself (logs, caches, apt and dpkg state).
snapshot() {
	(cd "$root" && find . -xdev \( -path ./proc -o -path ./sys -o -path ./dev -o -path ./run \
		-o -path ./tmp -o -path ./var/log -o -path ./var/cache -o -path ./var/lib/apt \
		-o -path ./var/lib/dpkg -o -path ./var/lib/man-db \) -prune -o -print | sort)
}

# 4. Before the install, nothing in the root knows net_vhostfix: DPDK's
# net_vhost, whose name prefixes net_vhostfix0, takes that vdev (after it,
# net_vhostfix must, whatever order EAL loads the two in).
timeout 60 chroot "$root" /usr/bin/env -i PATH=/usr/bin:/bin dpdk-testpmd -l 0,1 --no-huge \
	-m 256 --no-pci --file-prefix=vhfdeb0 --log-level='pmd.net.vhost*:info' \
	--vdev net_vhostfix0,iface=/run/none.sock -- --total-num-mbufs=2048 \
	</dev/null >"$work/before.log" 2>&1
if grep -q "pmd_vhost for net_vhostfix0" "$work/before.log" &&
	! grep -q "net_vhostfix0: port" "$work/before.log"; then
	ok "before the install: no net_vhostfix in the root (net_vhost takes net_vhostfix0)"
else
	not_ok "before the install: testpmd's net_vhostfix0 was not DPDK's net_vhost's"
	diag <"$work/before.log"
fi

# 5. The install, with apt (dependencies resolved from the root's packages).
snapshot >"$work/tree.before"
mkdir -p "$root/tmp/vhf-debs"
cp "${debs[@]}" "$root/tmp/vhf-debs/"
in_root_debs=()
for f in "${debs[@]}"; do in_root_debs+=("/tmp/vhf-debs/${f##*/}"); done
inroot apt-get install -y "${in_root_debs[@]}" >"$work/install.log" 2>&1
rc=$?
rm -rf "$root/tmp/vhf-debs"
inroot dpkg -L "${our_pkgs[@]}" >"$work/dpkg-L" 2>&1
if [ "$rc" -eq 0 ] && inroot dpkg-query -W -f='${Status}\n' "${our_pkgs[@]}" 2>/dev/null |
	grep -c "install ok installed" | grep -qx ${#our_pkgs[@]}; then
	ok "apt-get install of the packages: $(grep -c . "$work/dpkg-L") paths"
else
	not_ok "apt-get install ./*.deb ($rc)"
	diag <"$work/install.log"
	tap_skip_rest $ncases "not installed"
fi

# 6. testpmd with net_vhostfix from DPDK's driver directory, no -d, against
# virtio-user in a second testpmd; io forwarding bounces frames both ways.
hlog=$work/host.log
glog=$work/guest.log
mkfifo "$work/host.in" "$work/guest.in"
inroot stdbuf -oL dpdk-testpmd -l 0,1 --no-huge -m 512 --no-pci --file-prefix=vhfdebA \
	--log-level='pmd.net.vhost*:info' --vdev net_vhostfix0,iface=/run/vhf0.sock \
	-- -i --port-topology=loop --total-num-mbufs=16384 <"$work/host.in" >"$hlog" 2>&1 &
hpid=$!
pids+=("$hpid")
exec 3>"$work/host.in"
hrx=0 htx=0 grx=0 gtx=0
if vhf_wait_for "$hlog" "testpmd>" 60 "$hpid" && [ -S "$root/run/vhf0.sock" ]; then
	inroot stdbuf -oL dpdk-testpmd --lcores 0@1,1@0 --no-huge -m 512 --no-pci \
		--file-prefix=vhfdebB --vdev net_virtio_user0,path=/run/vhf0.sock,queues=1 \
		-- -i --port-topology=loop --total-num-mbufs=16384 <"$work/guest.in" >"$glog" 2>&1 &
	gpid=$!
	pids+=("$gpid")
	exec 4>"$work/guest.in"
	if vhf_wait_for "$glog" "testpmd>" 60 "$gpid" && vhf_wait_for "$hlog" "guest up" 60 "$hpid"
	then
		echo "start tx_first" >&3
		echo "start tx_first" >&4
		if vhf_wait_until "$wait_s" "$hpid" tp_pair_counted "$hlog" "$hpid" "$glog" "$gpid" \
			"$min_pkts" &&
			grep -q "net_vhostfix0: port 0 on /run/vhf0.sock" "$hlog" &&
			! grep -q "pmd_vhost for net_vhostfix0" "$hlog"; then
			ok "testpmd --vdev net_vhostfix0 (installed, no -d) <-> virtio-user:" \
				"host rx $hrx tx $htx, guest rx $grx tx $gtx"
		else
			not_ok "installed net_vhostfix: host rx $hrx tx $htx, guest rx $grx tx $gtx" \
				"(want >= $min_pkts each)"
			diag <"$hlog"
			diag <"$glog"
		fi
	else
		not_ok "the virtio-user guest did not attach to the installed net_vhostfix"
		diag <"$hlog"
		diag <"$glog"
	fi
	tp_stop "$gpid" 4
else
	not_ok "testpmd with the installed net_vhostfix did not come up"
	diag <"$hlog"
fi
tp_stop "$hpid" 3
pids=()

# 7. The installed app's help and manual page.
inroot dpdk-vhostfix -- --help >"$work/help.log" 2>&1
hrc=$?
inroot env MANPAGER=cat MANWIDTH=100 man dpdk-vhostfix >"$work/man.log" 2>"$work/man.err"
mrc=$?
if [ "$hrc" -eq 0 ] && grep -q -- "--mode" "$work/help.log" && [ "$mrc" -eq 0 ] &&
	grep -q "^NAME" "$work/man.log" && grep -q -- "--mode" "$work/man.log" &&
	grep -q "net_vhostfix" "$work/man.log"; then
	ok "dpdk-vhostfix -- --help and man dpdk-vhostfix ($(wc -l <"$work/man.log") lines)"
else
	not_ok "dpdk-vhostfix -- --help ($hrc) or man dpdk-vhostfix ($mrc)"
	diag <"$work/help.log"
	diag <"$work/man.err"
fi

# 8. OVS-DPDK with no -d: a private ovs-vswitchd (the installed
# vhf-ovs-private.sh, plugin ""), a type=dpdk port on net_vhostfix0. One shell
# in the root runs it all and stops its daemons by PID (ovs_priv_stop), in a
# network namespace of its own: the bridge's tap device never reaches the
# host's, and goes with the namespace.
cat >"$root/run/ovs-test.sh" <<'EOF'
set -u
. /usr/share/dpdk-vhostfix/usertools/vhf-ovs-private.sh
trap 'ovs_priv_stop keep' EXIT
ovs_priv_start /run/vhf-ovs "" || exit 1
grep -o "dpdk-extra=[^,]*" <<<"$(ovs-vsctl get Open_vSwitch . other_config)"
ovs-vsctl --timeout=30 add-br br0 -- set Bridge br0 datapath_type=netdev || exit 1
ovs-vsctl --timeout=30 add-port br0 vf0 -- set Interface vf0 type=dpdk \
	options:dpdk-devargs=net_vhostfix0,iface=/run/vf0.sock || exit 1
echo "error=$(ovs-vsctl get Interface vf0 error 2>&1)"
echo "driver=$(ovs-vsctl get Interface vf0 status:driver_name 2>&1)"
ovs-vsctl --timeout=30 del-port br0 vf0
EOF
timeout 120 unshare --net chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
	bash /run/ovs-test.sh >"$work/ovs.log" 2>&1
rc=$?
if [ "$rc" -eq 0 ] && grep -q '^driver="\{0,1\}net_vhostfix"\{0,1\}$' "$work/ovs.log" &&
	grep -q '^error=\[\]$' "$work/ovs.log" && ! grep -q -- "-d " "$work/ovs.log"; then
	ok "OVS-DPDK, no -d in dpdk-extra: add-port type=dpdk net_vhostfix0, driver net_vhostfix"
else
	not_ok "OVS-DPDK add-port with the installed driver ($rc)"
	diag <"$work/ovs.log"
	diag <"$root/run/vhf-ovs/ovs-vswitchd.log"
fi
rm -rf "$root/run/vhf-ovs" "$root/run/ovs-test.sh"

# 9. Purge: nothing of ours left.
inroot apt-get purge -y "${our_pkgs[@]}" >"$work/purge.log" 2>&1
rc=$?
left=$(while read -r f; do
	[ -d "$root$f" ] && continue    # shared folders (/usr, /usr/share/doc) stay
	[ -e "$root$f" ] || [ -L "$root$f" ] && echo "$f"
done <"$work/dpkg-L" | head -n 5)
snapshot >"$work/tree.after"
if [ "$rc" -eq 0 ] && [ -z "$left" ] && diff -u "$work/tree.before" "$work/tree.after" \
	>"$work/tree.diff"; then
	ok "apt-get purge: no file of dpkg -L left, the root's tree as before the install"
else
	not_ok "apt-get purge ($rc): left ${left:-nothing of dpkg -L}; tree changes:"
	diag <"$work/tree.diff"
	diag <"$work/purge.log"
fi

[ "$tap_failed" -eq 0 ]
