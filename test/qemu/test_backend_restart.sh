#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors
#
# A back-end restart under a running Linux guest (issue 14's index handover,
# its client-mode half). QEMU owns the vhost-user socket (chardev server=on);
# dpdk-vhostfix connects to it with client=1 and forwards to a net_tap "NIC",
# a port of a bridge in a network namespace made here whose address 10.0.0.1
# is the host end of two streams (as test_migrate.sh):
#  - host -> guest: TCP (migrate_feed.py) into `nc -l | sha256sum` in the
#    guest, compared with the sender's sha256 at the end;
#  - guest -> host: iperf3 UDP to a server on the bridge, whose per-datagram
#    sequence numbers count gaps (lost) and duplicates or reordering (out of
#    order).
# The back-end is restarted under traffic, split rings then packed:
#  - SIGTERM (a clean stop: every used entry published), VHF_RESTART_TERM
#    times (2), inside one UDP stream. The new back-end must take each ring up
#    where the old one left it (both logs say where: the PMD's ctrl debug
#    lines), except that the guest's TX ring may be ahead by what QEMU itself
#    took from it with no back-end connected: it drops what the guest sends
#    while the link is down. UDP: 0 datagrams out of order or duplicated; the
#    datagrams lost are printed beside what QEMU dropped so and what the app
#    dropped at its stops (drop-shutdown), and judged against their sum when
#    the guest did not see its carrier change (a guest that did may drop in
#    its own qdisc, which nothing here counts);
#  - SIGKILL, VHF_RESTART_KILL times (2): no UDP check (what the dead back-end
#    took from the guest's TX ring but never marked used is sent again, by
#    design: its position is lost with it).
# After each restart: the new back-end attached both vrings, the guest runs
# (query-status) and the TCP stream moves 1 MiB on (no stall). At the end the
# TCP stream's sha256 matches in the guest: nothing lost for good, corrupted
# or delivered twice to the guest's socket.
#
# Where the next back-end starts is QEMU's choice: on a disconnect it cannot
# ask the dead back-end where it stopped (GET_VRING_BASE fails), so it
# resumes a split ring at the used index it reads from guest memory
# (hw/virtio/virtio.c, virtio_queue_restore_last_avail_idx) and a packed ring
# at the position it last knew, for a guest that has run since its start the
# ring's start: a packed ring has no index in guest memory to learn it from.
# So with packed rings the first restart is a TODO (QEMU's limitation, not
# ours to fix: our back-end is told a wrong position and cannot tell), and the
# rest of the packed cases are skipped, not waited for.
#
# About 30-40 s under TCG on 2 shared cores.
# Usage: test_backend_restart.sh <dpdk-vhostfix> <usertools/vhf-guests.sh>
# Prints TAP. Needs root and QEMU (skips without).

set -u
app=${1:-}
guests=${2:-}
if [ ! -x "$app" ] || [ ! -x "$guests" ]; then
	echo "1..0 # SKIP usage: $0 <dpdk-vhostfix> <vhf-guests.sh>"
	exit 1
fi
. "$(dirname "$0")/qemu_lib.sh"
# The streams' helpers (mig_gexec, mig_last_sent, mig_sent_above, mig_udp_result).
. "$(dirname "$0")/migrate_lib.sh"
feed=$mig_feed

rings=(${VHF_RESTART_RINGS:-split packed})
n_term=${VHF_RESTART_TERM:-2}
n_kill=${VHF_RESTART_KILL:-2}
boot_s=${VHF_QEMU_TEST_BOOT_TIMEOUT:-150}
# Timeouts, each for an event that will never come.
stream_timeout=60
up_timeout=60
# The UDP stream: 500-byte datagrams at 200 a second, ended by its count.
udp_rate=200
udp_pkts=${VHF_RESTART_UDP_PKTS:-2000}
tcp_kbps=1024

ncases=$((${#rings[@]} * (n_term + n_kill + 2)))
qemu_version=$(qemu-system-x86_64 --version 2>/dev/null | awk 'NR == 1 { print $4 }')
q_init $ncases
command -v bridge >/dev/null || tap_skip_rest $ncases "no bridge command (iproute2)"

ns=vhfr$$
made_ns=0
br_mac=02:00:00:00:0e:01
cleanup_ns() {
	q_cleanup
	[ "$made_ns" = 1 ] && ip netns delete "$ns" 2>/dev/null
}
trap cleanup_ns EXIT

ip netns add "$ns" || tap_skip_rest $ncases "cannot create a network namespace"
made_ns=1
ip -n "$ns" link set lo up
ip -n "$ns" link add br0 address "$br_mac" type bridge &&
	ip -n "$ns" addr add 10.0.0.1/24 dev br0 && ip -n "$ns" link set br0 up ||
	tap_skip_rest $ncases "cannot make the bridge"

tap=vr$$
app_pid=
app_log=
n_start=0
# back_end SOCK PACKED: start dpdk-vhostfix as the socket's client, its tap in
# the bridge; sets app_pid and app_log. True once it forwards.
back_end() {
	local prefix=vhfr$$-$n_start
	n_start=$((n_start + 1))
	app_log=$q_work/app.$n_start.log
	q_prefixes+=("$prefix")
	: >"$app_log"
	ip netns exec "$ns" stdbuf -oL "$app" --lcores "0@0,1@(0-1)" --no-huge -m 512 --no-pci \
		--file-prefix="$prefix" --log-level='pmd.net.vhostfix*:info' \
		--log-level='pmd.net.vhostfix.ctrl:debug' \
		--vdev "net_tap0,iface=$tap" \
		--vdev "net_vhost0,iface=$1,client=1,packed=$2" -- \
		--mode sleep --pairs net_tap0:net_vhost0 >"$app_log" 2>&1 &
	app_pid=$!
	q_pids+=($!)
	vhf_wait_for "$app_log" "dpdk-vhostfix: forwarding" 60 "$app_pid" &&
		ip -n "$ns" link set "$tap" master br0 up
}

# attached: the back-end's log shows both vrings of queue pair 0 attached.
attached() {
	grep -q "vring 0 attached" "$app_log" && grep -q "vring 1 attached" "$app_log"
}

gexec() {
	mig_gexec "$gdir" "$@"
}

# drops LOG: frames the app dropped at its stop, guest -> host stream.
drops() {
	awk '$1 == "stream" && $2 ~ /^net_vhost0/ {
		for (i = 3; i < NF; i++) if ($i == "drop-shutdown") n = $(i + 1) }
		END { print n + 0 }' "$1"
}

# base LOG WHAT VRING: the ring base, as "avail/used", of VRING on the line of
# LOG that says WHAT: the last "detached" (where a back-end left the ring), the
# first "attached" (where the next one took it up).
base() {
	local pick="tail -n 1"
	[ "$2" = attached ] && pick="head -n 1"
	sed -n "s/.*: vring $3 $2 (.*base \([0-9]*\/[0-9]*\)).*/\1/p" "$1" | $pick
}

# restart HOW WHAT: stop the back-end with SIG$HOW, start a new one; a case
# WHAT. True once the new one attached both vrings, at the base the old one
# left them at (SIGTERM; a SIGKILLed one says nothing), the guest runs and the
# TCP stream moved on. Returns 2 when the position was not handed over.
restart() {
	local how=$1 what=$2 old_pid=$app_pid old_log=$app_log sent t0 run v was now moved=
	sent=$(mig_last_sent "$feed_log")
	t0=$SECONDS
	if [ "$how" = TERM ]; then
		if ! vhf_stop_pids 20 "$old_pid"; then
			not_ok "$what: SIGTERM: the back-end did not stop within 20 s"
			diag <"$old_log"
			return 1
		fi
	else
		kill -KILL "$old_pid"
		wait "$old_pid" 2>/dev/null
	fi
	back_end "$sock" "$p"
	if ! vhf_wait_until "$up_timeout" "$app_pid" attached; then
		not_ok "$what: SIG$how: the new back-end did not attach both vrings"
		diag <"$app_log"
		return 1
	fi
	resumed=
	for v in 0 1; do
		was=$(base "$old_log" detached $v)
		now=$(base "$app_log" attached $v)
		resumed+=" vring $v ${was:-?} -> $now;"
		[ "$how" = KILL ] && continue
		if [ "$v" = 1 ] && [ "$p" = 0 ] && [ -n "$was" ] && [ -n "$now" ]; then
			# The guest's TX ring (split): with no back-end QEMU takes
			# what the guest sends and drops it (link down), marking
			# it used, so the new base may be ahead: by at most a ring.
			dropped=$(((${now%/*} - ${was%/*}) & 0xffff))
			[ "${now%/*}" = "${now#*/}" ] && [ "$dropped" -le 256 ] || moved=no
			qemu_dropped=$((qemu_dropped + dropped))
		else
			[ "$was" = "$now" ] || moved=no
		fi
	done
	if [ "$moved" = no ]; then
		return 2
	fi
	if run=$("$guests" qmp --dir "$gdir" -g 0 --timeout 30 -- query-status 2>&1) &&
		grep -q '"status": "running"' <<<"$run" &&
		vhf_wait_until "$stream_timeout" "$feed_pid" mig_sent_above "$feed_log" \
			$((sent + 1024 * 1024)); then
		ok "$what: SIG$how, restarted:$resumed the guest runs," \
			"host -> guest moved 1 MiB on ($((SECONDS - t0)) s)"
		[ "$how" = TERM ] && term_drops=$((term_drops + $(drops "$old_log")))
		return 0
	fi
	not_ok "$what: SIG$how: after the restart:$resumed guest ${run:0:100}," \
		"feed at $(mig_last_sent "$feed_log") bytes (was $sent)"
	diag <"$old_log"
	diag <"$app_log"
	q_guest_logs "$gdir" 0
	return 1
}

# rest_failed N WHY: the N cases left of this ring fail, as WHY.
rest_failed() {
	local k
	for ((k = 0; k < $1; k++)); do not_ok "$ring: $2"; done
}

# carrier_changes: how often the guest's eth0 saw its carrier come or go.
carrier_changes() {
	gexec "cat /sys/class/net/eth0/carrier_changes" 2>/dev/null | tr -dc 0-9
}

udp_flowing() {
	gexec "grep -q ' sec ' /tmp/udp.out" >/dev/null 2>&1
}

one_ring() {
	local ring=$1 k rc want sum left=$((n_term + n_kill + 2)) udp pk lost ooo udp_through=no
	local udp_json=$q_work/$ring.udp.json stop=$q_work/$ring.stop srv_pid
	feed_log=$q_work/$ring.feed.log
	sock=$q_work/$ring.sock
	p=0
	[ "$ring" = packed ] && p=1
	term_drops=0
	qemu_dropped=0

	# QEMU waits for its back-end before it boots the guest.
	if ! q_guests "$ring" --guest "sock=$sock,server=1,packed=$p,mem=256M" --no-wait ||
		! back_end "$sock" "$p" ||
		! "$guests" wait --dir "$gdir" --timeout "$boot_s" 2>>"$gdir.start.log"; then
		not_ok "$ring: the guest did not boot on the back-end"
		diag <"$gdir.start.log"
		diag <"$app_log"
		q_guest_logs "$gdir" 0
		rest_failed $((left - 1)) "no guest"
		"$guests" stop --dir "$gdir"
		vhf_stop_pids 10 "$app_pid"
		return
	fi
	gexec "echo 4 >/proc/sys/kernel/printk;" \
		"ip neigh replace 10.0.0.1 lladdr $br_mac dev eth0 nud permanent" >/dev/null
	ip -n "$ns" neigh replace 10.0.0.11 lladdr 52:54:00:00:01:11 dev br0 nud permanent
	gexec "(nc -l -p 5000 | sha256sum >/tmp/tcp.sum) </dev/null >/dev/null 2>&1 &" >/dev/null
	: >"$feed_log"
	ip netns exec "$ns" python3 "$feed" 10.0.0.11 5000 "$stop" "$tcp_kbps" >"$feed_log" 2>&1 &
	feed_pid=$!
	q_pids+=("$feed_pid")
	ip netns exec "$ns" iperf3 -s -1 -J -B 10.0.0.1 -p 5201 >"$udp_json" 2>&1 &
	srv_pid=$!
	q_pids+=("$srv_pid")
	gexec "(iperf3 -c 10.0.0.1 -p 5201 -u -b $((udp_rate * 500 * 8)) -l 500 -k $udp_pkts --forceflush" \
		"--connect-timeout 30000 >/tmp/udp.out 2>&1 &) </dev/null >/dev/null 2>&1" >/dev/null
	# Both streams flowing (iperf3 prints its first second) before the first stop.
	if ! vhf_wait_until "$stream_timeout" "$feed_pid" mig_sent_above "$feed_log" $((512 * 1024)) ||
		! vhf_wait_until "$stream_timeout" "$srv_pid" udp_flowing; then
		not_ok "$ring: the streams did not start"
		diag <"$feed_log"
		gexec "cat /tmp/udp.out" 2>&1 | diag
		rest_failed $((left - 1)) "no streams"
		"$guests" stop --dir "$gdir"
		vhf_stop_pids 10 "$app_pid" "$feed_pid" "$srv_pid"
		return
	fi

	carrier0=$(carrier_changes)
	rc=0
	for ((k = 1; k <= n_term && rc == 0; k++)); do
		restart TERM "$ring: restart $k"
		rc=$?
		left=$((left - 1))
	done
	if [ "$rc" = 2 ] && [ "$ring" = packed ]; then
		# QEMU keeps no packed ring position of its own (virtio.c:
		# virtio_queue_packed_restore_last_avail_idx is empty) and sends
		# the new back-end the one it last set: the ring's start.
		tap_n=$((tap_n + 1))
		tap_took
		echo "not ok $tap_n - $ring: restart $((k - 1)): SIGTERM: the new back-end resumes" \
			"where the old one stopped:$resumed # TODO QEMU $qemu_version restores no" \
			"packed ring position after a back-end disconnect$tap_took_s"
		for ((k = 1; k <= left; k++)); do
			echo "ok $((tap_n + k)) # SKIP $ring: the guest's rings were not resumed"
		done
		tap_n=$((tap_n + left))
		"$guests" stop --dir "$gdir"
		vhf_stop_pids 10 "$app_pid" "$feed_pid" "$srv_pid"
		return
	elif [ "$rc" = 2 ]; then
		not_ok "$ring: restart $((k - 1)): SIGTERM: the new back-end did not resume where" \
			"the old one stopped:$resumed"
		diag <"$app_log"
	fi
	if [ "$rc" != 0 ]; then
		rest_failed "$left" "not checked after a failed restart"
		"$guests" stop --dir "$gdir"
		vhf_stop_pids 10 "$app_pid" "$feed_pid" "$srv_pid"
		return
	fi
	gexec "pidof iperf3" >/dev/null 2>&1 && udp_through=yes
	carrier1=$(carrier_changes)
	vhf_wait_pid "$srv_pid" $((stream_timeout + udp_pkts / udp_rate))
	udp=$(mig_udp_result "$udp_json")
	read -r pk lost ooo _ <<<"$udp"
	# What may be lost: what QEMU dropped with no back-end there and what the
	# app dropped at its stops. A guest that saw its carrier go down (QEMU
	# sets the link down on a disconnect; Linux acts on it after up to a
	# second) drops in its own qdisc too, which nothing here counts.
	may_lose=$((qemu_dropped + term_drops))
	[ "$carrier0" = "$carrier1" ] || may_lose=$udp_pkts
	if [ "$ooo" = 0 ] && [ "$pk" -gt 0 ] 2>/dev/null && [ "$lost" -le "$may_lose" ]; then
		ok "$ring: guest -> host UDP across the SIGTERM restarts: $pk datagrams, 0 out of" \
			"order or duplicated, $lost lost (of $udp_pkts sent); with no back-end QEMU" \
			"dropped $qemu_dropped frames of the guest's TX ring, the app $term_drops at" \
			"its stops; the guest's carrier changed $((carrier1 - carrier0)) times;" \
			"still sending after the last restart: $udp_through"
	else
		not_ok "$ring: guest -> host UDP datagrams/lost/out of order: $udp; QEMU dropped" \
			"$qemu_dropped, the app $term_drops; carrier changes ${carrier0:-?} -> ${carrier1:-?}"
		gexec "cat /tmp/udp.out" 2>&1 | diag
	fi
	left=$((left - 1))
	for ((k = n_term + 1; k <= n_term + n_kill && rc == 0; k++)); do
		restart KILL "$ring: restart $k"
		rc=$?
		left=$((left - 1))
	done
	if [ "$rc" != 0 ]; then
		rest_failed "$left" "not checked after a failed restart"
		"$guests" stop --dir "$gdir"
		vhf_stop_pids 10 "$app_pid" "$feed_pid" "$srv_pid"
		return
	fi

	touch "$stop"
	vhf_wait_pid "$feed_pid" "$stream_timeout"
	want=$(awk '$1 == "DONE" { print $3 }' "$feed_log")
	sum_ready() {
		sum=$(gexec "cat /tmp/tcp.sum" 2>/dev/null | awk '{ print $1 }')
		[ -n "$sum" ]
	}
	sum=
	vhf_wait_until "$stream_timeout" "" sum_ready
	if [ -n "$want" ] && [ "$sum" = "$want" ]; then
		ok "$ring: host -> guest TCP $(awk '$1 == "DONE" { print $2 }' "$feed_log") bytes" \
			"through $((n_term + n_kill)) restarts, sha256 matches in the guest"
	else
		not_ok "$ring: host -> guest sha256 ${sum:-none} (sent ${want:-not finished})"
		diag <"$feed_log"
		gexec "cat /sys/class/net/eth0/statistics/rx_*errors" 2>&1 | diag
		diag <"$app_log"
	fi
	"$guests" stop --dir "$gdir"
	vhf_stop_pids 10 "$app_pid" "$feed_pid" "$srv_pid"
}

t0=$SECONDS
for ring in "${rings[@]}"; do
	one_ring "$ring"
done
echo "# $((SECONDS - t0)) s"
[ "$tap_failed" -eq 0 ]
