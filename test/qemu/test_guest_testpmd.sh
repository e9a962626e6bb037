#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors
#
# Real Linux guests (Debian's cloud kernel, its virtio-net driver: NAPI,
# EVENT_IDX, mergeable RX buffers) under QEMU, on net_vhostfix loaded into
# Debian's dpdk-testpmd. Two guests, one on a split ring and one on a packed
# ring, each connecting as vhost-user client to its own net_vhostfix port.
#
#  1. testpmd in icmpecho mode, each port looped to itself: each guest pings
#     an address testpmd answers for (ARP and ICMP), small and full-size
#     frames, 0% loss; testpmd's counters agree.
#  2. testpmd in io mode, port 0 <-> port 1: the two guests talk to each other
#     through the PMD: ping 0% loss, then iperf3 TCP both ways.
#
# Usage: test_guest_testpmd.sh <librte_net_vhostfix.so> <usertools/vhf-guests.sh>
# Prints TAP. Needs root, QEMU (usertools/packages/qemu.txt), and the network
# the first time (the guest kernel is fetched from Debian's archive, then
# cached). About a minute and a half under TCG.

set -u
so=${1:-}
guests=${2:-}
if [ ! -f "$so" ] || [ ! -x "$guests" ]; then
	echo "1..0 # SKIP usage: $0 <librte_net_vhostfix.so> <vhf-guests.sh>"
	exit 1
fi
. "$(dirname "$0")/qemu_lib.sh"

ncases=12
boot_s=${VHF_QEMU_TEST_BOOT_TIMEOUT:-150}
iperf_s=${VHF_QEMU_TEST_IPERF_SECONDS:-5}
q_init $ncases
q_plugin "$so" || { echo "Bail out! cannot copy the plugin under /run"; exit 1; }

# Guest 0 split, guest 1 packed; the PMD must offer packed to port 1 too.
vdevs=(--vdev "net_vhostfix0,iface=$q_work/vhost0.sock"
	--vdev "net_vhostfix1,iface=$q_work/vhost1.sock,packed=1")
gspecs=(--guest "sock=$q_work/vhost0.sock,packed=0"
	--guest "sock=$q_work/vhost1.sock,packed=1")

# both_attached LOG: the PMD saw both guests come up, each on its ring layout.
both_attached() {
	vhf_wait_for "$1" "vhost0.sock: guest up (port 0, .*split ring" 20 "$tp_pid" &&
		vhf_wait_for "$1" "vhost1.sock: guest up (port 1, .*packed ring" 20 "$tp_pid"
}

# ---- 1. icmpecho: pings answered by testpmd --------------------------------

if ! q_testpmd echo 3 "$plugin" -l 0,1 "${vdevs[@]}" -- -i --port-topology=loop \
	--forward-mode=icmpecho --total-num-mbufs=16384; then
	not_ok "icmpecho: testpmd with two net_vhostfix ports did not come up"
	diag <"$tp_log"
	tap_skip_rest $ncases "testpmd did not start"
fi
echo start >&3
ok "icmpecho: testpmd up, ports 0 (split) and 1 (packed)"

ping_small="ping -c 10 -i 0.2 -W 30 10.0.0.1"
t0=$SECONDS
if q_guests echo "${gspecs[@]}" --run "$ping_small" --timeout "$boot_s" &&
	both_attached "$tp_log"; then
	ok "icmpecho: 2 guests READY in $((SECONDS - t0)) s, PMD attached split and packed"
	for g in 0 1; do
		out=$("$guests" run-output --dir "$gdir" -g "$g" --timeout 60)
		loss=$(q_ping_loss "$out")
		[ "$loss" = 0 ]
		check $? "icmpecho: guest $g ($([ $g = 0 ] && echo split || echo packed))" \
			"pings 10.0.0.1: $loss% loss"
		[ "$loss" = 0 ] || diag <<<"$out"
	done
	for g in 0 1; do
		# 1472 bytes of ICMP payload: full 1514-byte frames.
		out=$("$guests" exec --dir "$gdir" -g "$g" --timeout 60 -- \
			"ping -c 50 -i 0.02 -s 1472 -W 30 10.0.0.77")
		loss=$(q_ping_loss "$out")
		[ "$loss" = 0 ]
		check $? "icmpecho: guest $g full-size frames, 50 pings: $loss% loss"
		[ "$loss" = 0 ] || diag <<<"$out"
	done
	tp_show_stats 3 "$tp_log" "$tp_pid" all 2 || echo "# no stats from testpmd"
	bad= counts=
	for p in 0 1; do
		read -r rx tx < <(tp_port_stats "$tp_log" "$p")
		# 60 echo requests plus ARP each; every reply goes back.
		[ "$rx" -ge 60 ] && [ "$tx" -ge 60 ] || bad+=" port $p rx $rx tx $tx"
		counts+=" port $p rx $rx tx $tx;"
	done
	[ -z "$bad" ]
	check $? "icmpecho: testpmd counters:${counts%;}"
else
	q_guests_failed icmpecho 5
fi
"$guests" stop --dir "$gdir"
tp_stop "$tp_pid" 3

# ---- 2. io forwarding: guest <-> guest through the PMD ---------------------

rm -f "$q_work"/vhost*.sock
if ! q_testpmd io 4 "$plugin" -l 0,1 "${vdevs[@]}" -- -i --port-topology=paired \
	--forward-mode=io --total-num-mbufs=16384; then
	not_ok "io: testpmd did not come up"
	diag <"$tp_log"
	tap_skip_rest $ncases "testpmd did not start"
fi
echo start >&4
t0=$SECONDS
if q_guests io "${gspecs[@]}" --srv 5201 --timeout "$boot_s" && both_attached "$tp_log"; then
	ok "io: 2 guests READY in $((SECONDS - t0)) s, PMD attached split and packed"
	out=$("$guests" exec --dir "$gdir" -g 0 --timeout 60 -- "ping -c 20 -i 0.1 -W 30 10.0.0.12")
	loss=$(q_ping_loss "$out")
	[ "$loss" = 0 ]
	check $? "io: split guest pings packed guest: $loss% loss"
	[ "$loss" = 0 ] || diag <<<"$out"
	for dir in "" "-R"; do
		what="split -> packed"
		[ -n "$dir" ] && what="packed -> split"
		out=$("$guests" exec --dir "$gdir" -g 0 --timeout $((iperf_s + 60)) -- \
			"iperf3 -c 10.0.0.12 -p 5201 -t $iperf_s -f m --connect-timeout 30000 $dir")
		rc=$?
		rate=$(awk '/receiver$/ { for (i = 1; i < NF; i++) if ($(i + 1) == "Mbits/sec") r = $i }
			END { print r + 0 }' <<<"$out")
		[ "$rc" = 0 ] && awk -v r="$rate" 'BEGIN { exit !(r > 0) }'
		check $? "io: iperf3 TCP $what: $rate Mbit/s over $iperf_s s"
		[ "$rc" = 0 ] || diag <<<"$out"
	done
	tp_show_stats 4 "$tp_log" "$tp_pid" all 2 || echo "# no stats from testpmd"
	read -r rx0 tx0 < <(tp_port_stats "$tp_log" 0)
	read -r rx1 tx1 < <(tp_port_stats "$tp_log" 1)
	# io forwarding: what one port receives, the other sends (a guest short
	# of buffers shows as rx above its peer's tx).
	[ "$rx0" -gt 0 ] && [ "$tx0" -gt 0 ] && [ "$rx1" -gt 0 ] && [ "$tx1" -gt 0 ]
	check $? "io: testpmd port 0 rx $rx0 tx $tx0, port 1 rx $rx1 tx $tx1"
else
	q_guests_failed io 4
fi
"$guests" stop --dir "$gdir"
tp_stop "$tp_pid" 4

[ "$tap_failed" -eq 0 ]
