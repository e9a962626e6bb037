#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors
#
# Set everything up, build, and forward real traffic through dpdk-vhostfix:
#
#   netns "NIC"                                    netns "guest"
#   10.231.0.1 -- tap -- dpdk-vhostfix -- vhost-user -- virtio-user (testpmd) -- tap -- 10.231.0.2
#                        (net_tap0)      (net_vhost0)
#
# The app runs in sleep mode (it sleeps on guest kicks and the tap between
# bursts). The demo pings both ways, streams TCP both ways with every byte
# checked, shows the app's stats over DPDK telemetry, then stops everything
# (SIGTERM: the app prints its final stats and exits 0) and removes the
# namespaces. Run as root on Debian 12. Options: --mode poll|sleep,
# --ring split|packed, --bytes N (TCP bytes each way, default 20000000).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
mode=sleep
ring=split
bytes=20000000
while [ $# -gt 0 ]; do
	case "$1" in
	--mode) mode=$2; shift 2 ;;
	--ring) ring=$2; shift 2 ;;
	--bytes) bytes=$2; shift 2 ;;
	*) echo "vhf-demo: unknown option '$1' (--mode poll|sleep, --ring split|packed, --bytes N)" >&2
	   exit 2 ;;
	esac
done
case "$mode" in poll|sleep) ;; *) echo "vhf-demo: --mode: poll or sleep" >&2; exit 2 ;; esac
case "$ring" in split|packed) ;; *) echo "vhf-demo: --ring: split or packed" >&2; exit 2 ;; esac
[ "$(id -u)" -eq 0 ] || { echo "vhf-demo: run as root (network namespaces, DPDK)" >&2; exit 1; }

"$top/usertools/vhf-setup.sh"
if [ ! -f build/build.ninja ]; then
	meson setup build -Dpmd=enabled
fi
ninja -C build

app=$top/build/app/dpdk-vhostfix/dpdk-vhostfix
. "$top/usertools/vhf-topo.sh"
work=$(mktemp -d /tmp/vhf-demo.XXXXXX)
demo_cleanup() {
	set +e # clean up everything, whatever fails
	vhf_topo_cleanup
	rm -rf "$work"
}
trap demo_cleanup EXIT
trap 'exit 130' INT TERM

step() { printf '\n=== %s ===\n' "$*"; }

vhf_topo_init "d$$"
vh="net_vhost0,iface=$work/vhost0.sock"
[ "$ring" = packed ] && vh+=",packed=1"
step "dpdk-vhostfix ($mode mode, $ring ring) in namespace $vhf_ns_nic"
echo "$app -l 0-1 --no-huge -m 512 --no-pci --file-prefix=vhfdemo$$ \\"
echo "    --vdev net_tap0,iface=$vhf_nic_if --vdev $vh -- --mode $mode --stats 0"
vhf_app_start "$work/app.log" "vhfdemo$$" "$app" --vdev "$vh" -- --mode "$mode" ||
	{ cat "$work/app.log"; exit 1; }
grep -E "^(port|forwarding|  lcore)" "$work/app.log"

step "the guest: dpdk-testpmd with virtio-user on $work/vhost0.sock, in namespace $vhf_ns_guest"
vhf_guest_start "$work/guest.log" "vhfdemog$$" "$work/vhost0.sock" "$ring" ||
	{ tail -20 "$work/guest.log"; exit 1; }
grep -m1 "link up" "$work/app.log" || true

step "ping $vhf_guest_ip from the NIC side"
ip netns exec "$vhf_ns_nic" ping -c 5 -i 0.2 -w 10 "$vhf_guest_ip"
step "ping $vhf_nic_ip from the guest side"
ip netns exec "$vhf_ns_guest" ping -c 5 -i 0.2 -w 10 "$vhf_nic_ip"

step "TCP: $bytes bytes each way through the app, every byte checked"
ip netns exec "$vhf_ns_guest" python3 "$top/usertools/vhf-tcp-check.py" serve "$vhf_guest_ip" 5201 &
server=$!
ip netns exec "$vhf_ns_nic" python3 "$top/usertools/vhf-tcp-check.py" send "$vhf_guest_ip" 5201 "$bytes"
wait "$server"

step "the app's stats over DPDK telemetry (usertools/vhf-stats.py --file-prefix vhfdemo$$)"
"$top/usertools/vhf-stats.py" --file-prefix "vhfdemo$$"

step "stopping: SIGTERM to the guest, then to the app"
vhf_topo_stop "$vhf_guest_pid"
kill -TERM "$vhf_app_pid"
rc=124
vhf_wait_pid "$vhf_app_pid" 15 && rc=$vhf_wait_status
sed -n '/dpdk-vhostfix: .*stopping/,$p' "$work/app.log" | grep -v "^VHOST_CONFIG"
echo "dpdk-vhostfix exited with status $rc"
exit "$rc"
