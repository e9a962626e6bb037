#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors
#
# Prepare a bootable Linux guest for the QEMU tests from Debian's packages only,
# and cache it. Prints the directory holding `vmlinuz` and `initrd.img`.
#
#   usertools/vhf-guest-image.sh [--cache DIR] [--force]
#
# The kernel is Debian's cloud kernel (small, LZ4, virtio as modules): its .deb
# is fetched with `apt-get download` and unpacked with `dpkg-deb -x`, never
# installed. The initramfs holds busybox-static, iperf3 with the shared
# libraries ldd names, the virtio-net modules with their dependencies, and an
# init script driven by the kernel command line:
#
#   vhf.ip=10.0.0.11/24     static address of eth0 (lo and eth0 are brought up)
#   vhf.gw=10.0.0.1         default route (optional)
#   vhf.srv=5201,5202       one `iperf3 -s -D` per port
#   vhf.run64=<base64>      a shell command run after READY; its output is framed
#                           by VHF-RUN-BEGIN / VHF-RUN-END rc=N on the console
#   virtio_net.napi_weight=2  (any <module>.<param>=<value>) given to insmod
#
# A second serial port (ttyS1), when present, takes commands from the host one
# a line, "<id> <base64 command>", and answers with the output framed by
# VHF-EXEC-BEGIN-<id> / VHF-EXEC-END-<id> rc=N.
#
# The console (ttyS0) prints VHF-READY once the network is up and the servers
# run, then offers a shell. The cache directory is keyed by the versions of the
# packages used and by this script's own content, so a re-run is instant and a
# change of either builds a new image.
set -euo pipefail

cache=${VHF_GUEST_CACHE:-}
force=0
while [ $# -gt 0 ]; do
	case "$1" in
	--cache) cache=$2; shift 2 ;;
	--force) force=1; shift ;;
	-h|--help) sed -n '4,30p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "vhf-guest-image: unknown option '$1'" >&2; exit 2 ;;
	esac
done
if [ -z "$cache" ]; then
	if [ "$(id -u)" = 0 ]; then
		cache=/var/cache/dpdk-vhostfix/guest
	else
		cache=${XDG_CACHE_HOME:-$HOME/.cache}/dpdk-vhostfix/guest
	fi
fi

die() {
	echo "vhf-guest-image: $*" >&2
	exit 1
}

for tool in apt-get apt-cache dpkg-deb dpkg-query cpio gzip ldd sha256sum; do
	command -v "$tool" >/dev/null || die "'$tool' not found (see usertools/packages/qemu.txt)"
done
busybox=/bin/busybox
iperf3=$(command -v iperf3) || die "iperf3 not found (Debian package iperf3)"
pkg_version() {
	dpkg-query -W -f='${Status} ${Version}' "$1" 2>/dev/null |
		awk '$3 == "installed" { print $4 }'
}
bb_ver=$(pkg_version busybox-static)
[ -n "$bb_ver" ] || die "busybox-static is not installed (it provides a static $busybox)"
ip_ver=$(pkg_version iperf3)

# The metapackage names the current cloud kernel. Asking apt costs a second
# or two, so the answer is remembered for as long as apt's package lists stay
# the same: a re-run with the image cached is instant.
# Nothing printed when apt does not know the metapackage (apt-cache then exits
# 100: not a reason to stop here, the caller updates and asks again).
resolve_kernel() {
	{ apt-cache show --no-all-versions linux-image-cloud-amd64 2>/dev/null || :; } | awk '
		$1 == "Version:" { v = $2 }
		$1 == "Depends:" { for (i = 2; i <= NF; i++) if ($i ~ /^linux-image-/) { d = $i; break } }
		END { if (d != "") print d, v }'
}
# Which package lists apt has. A machine may have none (a container image's
# are removed to save space): that is a stamp too, and the kernel is then
# resolved after an update, below.
apt_lists_stamp() {
	{ stat -c '%n %Y %s' /var/lib/apt/lists/*Packages* 2>/dev/null || :; } |
		sha256sum | cut -c1-16
}
lists_stamp=$(apt_lists_stamp)
resolved=$cache/.kernel-$lists_stamp
if [ -s "$resolved" ]; then
	read -r kpkg kver <"$resolved"
else
	kernel=$(resolve_kernel)
	if [ -z "$kernel" ]; then
		[ "$(id -u)" = 0 ] || die "apt knows no linux-image-cloud-amd64; run 'apt-get update' as root"
		apt-get update -q >&2
		kernel=$(resolve_kernel)
		[ -n "$kernel" ] || die "cannot resolve linux-image-cloud-amd64"
	fi
	read -r kpkg kver <<<"$kernel"
	lists_stamp=$(apt_lists_stamp)
	mkdir -p "$cache"
	rm -f "$cache"/.kernel-*
	echo "$kpkg $kver" >"$cache/.kernel-$lists_stamp"
fi

self_sum=$(sha256sum "$0" | cut -c1-12)
key=$(printf '%s\n' "$kpkg=$kver" "busybox-static=$bb_ver" "iperf3=$ip_ver" "script=$self_sum" |
	sha256sum | cut -c1-16)
out=$cache/$key

if [ "$force" = 0 ] && [ -s "$out/vmlinuz" ] && [ -s "$out/initrd.img" ]; then
	echo "$out"
	exit 0
fi

mkdir -p "$cache"
# Two tests preparing the image at once must not interleave.
exec 9>"$cache/.lock"
flock 9
if [ "$force" = 0 ] && [ -s "$out/vmlinuz" ] && [ -s "$out/initrd.img" ]; then
	echo "$out"
	exit 0
fi

work=$(mktemp -d "$cache/.build.XXXXXX")
trap 'rm -rf "$work"' EXIT

echo "vhf-guest-image: building $out ($kpkg $kver, busybox-static $bb_ver, iperf3 $ip_ver)" >&2
(
	cd "$work"
	# apt drops privileges to _apt for downloads, which cannot write here.
	apt-get -q -o APT::Sandbox::User=root download "$kpkg=$kver" >&2 ||
		{ apt-get update -q >&2 && apt-get -q -o APT::Sandbox::User=root download "$kpkg" >&2; }
) || die "cannot download $kpkg"
deb=$(ls "$work"/"$kpkg"_*.deb | head -n 1)
dpkg-deb -x "$deb" "$work/kernel"
kdir=$(ls -d "$work"/kernel/lib/modules/* | head -n 1)
krel=$(basename "$kdir")
vmlinuz=$work/kernel/boot/vmlinuz-$krel
[ -f "$vmlinuz" ] || die "no vmlinuz in $deb"

root=$work/root
mkdir -p "$root"/{bin,sbin,etc,proc,sys,dev,tmp,run,root,lib/modules}
chmod 1777 "$root/tmp"
cp "$busybox" "$root/bin/busybox"
cp "$iperf3" "$root/bin/iperf3"
# The dynamic loader and every library ldd resolves, at the same paths as on
# the host (Debian's loader searches its multiarch directories by default).
ldd "$iperf3" | awk '/=> \// { print $3 } /^\t\// { print $1 }' | while read -r lib; do
	mkdir -p "$root$(dirname "$lib")"
	cp -L "$lib" "$root$lib"
done

# virtio_net and virtio_pci with what they depend on, in load order. The
# unpacked tree has no modules.dep (depmod runs at install): follow modinfo.
declare -A mod_path=() mod_done=()
while read -r ko; do
	m=$(basename "$ko" .ko)
	mod_path[${m//-/_}]=$ko
done < <(find "$kdir/kernel" -name '*.ko')
order=()
add_mod() {
	local m=${1//-/_} dep
	[ -n "${mod_done[$m]:-}" ] && return
	if [ -z "${mod_path[$m]:-}" ]; then
		# Built into the kernel: nothing to load.
		grep -q "/$m.ko\$" "$kdir/modules.builtin" 2>/dev/null ||
			die "module $m is neither built in nor shipped by $kpkg"
		mod_done[$m]=1
		return
	fi
	mod_done[$m]=1
	for dep in $(/sbin/modinfo -F depends "${mod_path[$m]}" | tr ',' ' '); do
		add_mod "$dep"
	done
	order+=("$m")
}
for m in virtio_pci virtio_net; do
	add_mod "$m"
done
: >"$root/etc/modules"
for m in "${order[@]}"; do
	cp "${mod_path[$m]}" "$root/lib/modules/$m.ko"
	echo "$m" >>"$root/etc/modules"
done

cat >"$root/init" <<'EOF'
#!/bin/busybox sh
# dpdk-vhostfix test guest: set up by usertools/vhf-guest-image.sh.
/bin/busybox --install -s /bin
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs -o mode=1777 tmpfs /tmp
mkdir -p /dev/pts && mount -t devpts devpts /dev/pts
# Kernel messages would interleave with the framed command output.
echo 1 >/proc/sys/kernel/printk

# modprobe would give a module the "<module>.<param>=<value>" words of the
# kernel command line (e.g. virtio_net.napi_weight=2); busybox insmod does
# not, so pass them here.
while read -r m; do
	params=$(tr ' ' '\n' </proc/cmdline | sed -n "s/^$m\.\([a-z_0-9]*=\)/\1/p")
	insmod "/lib/modules/$m.ko" $params || echo "VHF-ERROR: insmod $m $params failed"
done </etc/modules

ip= gw= srv= run64=
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	vhf.ip=*) ip=${arg#vhf.ip=} ;;
	vhf.gw=*) gw=${arg#vhf.gw=} ;;
	vhf.srv=*) srv=${arg#vhf.srv=} ;;
	vhf.run64=*) run64=${arg#vhf.run64=} ;;
	esac
done

hostname vhf-guest
ip link set lo up
# The NIC appears once virtio_pci has bound the device.
i=0
while [ ! -d /sys/class/net/eth0 ] && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
if [ -d /sys/class/net/eth0 ]; then
	[ -n "$ip" ] && ip addr add "$ip" dev eth0
	ip link set eth0 up
	[ -n "$gw" ] && ip route add default via "$gw"
else
	echo "VHF-ERROR: no eth0"
fi
for port in $(echo "$srv" | tr ',' ' '); do
	iperf3 -s -D -p "$port" --logfile "/tmp/iperf3-$port.log" ||
		echo "VHF-ERROR: iperf3 -s -p $port failed"
done

# Commands from the host (vhf-guests.sh exec) arrive on the second serial
# port, one a line: "<id> <base64 command>". A raw line, no echo and no
# line editing, so the host reads back exactly the framed output.
if [ -e /dev/ttyS1 ]; then
	(
		stty -F /dev/ttyS1 raw -echo
		exec 3<>/dev/ttyS1
		while read -r id b64 <&3; do
			cmd=$(echo "$b64" | base64 -d)
			echo "VHF-EXEC-BEGIN-$id" >&3
			sh -c "$cmd" </dev/null >&3 2>&1
			echo "VHF-EXEC-END-$id rc=$?" >&3
		done
	) &
fi
echo "VHF-READY ip=$ip mac=$(cat /sys/class/net/eth0/address 2>/dev/null)"
if [ -n "$run64" ]; then
	cmd=$(echo "$run64" | base64 -d)
	echo "VHF-RUN-BEGIN"
	sh -c "$cmd" 2>&1
	echo "VHF-RUN-END rc=$?"
fi
# A shell on the console for whoever attaches to it, again after each exit.
while true; do
	setsid cttyhack sh -l
	sleep 1
done
EOF
chmod 0755 "$root/init"

mkdir -p "$work/out"
(cd "$root" && find . -print0 | sort -z | cpio --null -o -H newc --quiet) |
	gzip -6 >"$work/out/initrd.img"
cp "$vmlinuz" "$work/out/vmlinuz"
printf '%s\n' "kernel $kpkg $kver ($krel)" "busybox-static $bb_ver" "iperf3 $ip_ver" \
	"modules ${order[*]}" >"$work/out/VERSIONS"
rm -rf "$out"
mv "$work/out" "$out"
# Images of older package versions (or of an older script) are stale now.
for old in "$cache"/*/; do
	[ "${old%/}" = "$out" ] || rm -rf "${old%/}"
done
echo "vhf-guest-image: ready, $(du -sh "$out" | cut -f1)" >&2
echo "$out"
