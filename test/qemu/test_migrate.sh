#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors
#
# Live migration of a real Linux guest between two back-ends under traffic.
#
# Two dpdk-vhostfix processes, A and B, each forward between a net_vhost port
# (its own vhost-user socket) and a net_tap "NIC"; both taps are ports of one
# bridge in a network namespace made here, whose own address 10.0.0.1 is the
# traffic's host end. A guest (QEMU, TCG, memfd shared memory) starts on A; a
# second QEMU with the same configuration and -incoming waits on B; QMP's
# migrate moves the guest over a unix socket, then back, then over again,
# while two streams run:
#  - host -> guest: TCP (test/qemu/migrate_feed.py) into `nc -l | sha256sum`
#    in the guest, compared with the sender's sha256 at the end;
#  - guest -> host: iperf3 UDP from the guest to an iperf3 server on the
#    bridge, whose per-datagram sequence numbers count gaps (lost) and
#    duplicates or reordering (out of order): both must be 0.
# After each migration: QEMU says completed, the destination runs the guest
# (query-status), the host -> guest stream goes on through the new back-end
# (no stall), and the bridge has learned the guest's MAC on the new back-end's
# tap. QEMU's downtime is printed, never judged. Split rings, then packed.
#
# Usage: test_migrate.sh <dpdk-vhostfix> <usertools/vhf-guests.sh> [teeth]
# With "teeth" the app is a -Dtest_skip_rx_log build (the device does not log
# what it writes into the guest's RX buffers): the run must then detect it, a
# checksum mismatch or a stream that stalls.
# Prints TAP. Needs root and QEMU (skips without). About 2-3 minutes under TCG.

set -u
app=${1:-}
guests=${2:-}
teeth=${3:-}
if [ ! -x "$app" ] || [ ! -x "$guests" ]; then
	echo "1..0 # SKIP usage: $0 <dpdk-vhostfix> <vhf-guests.sh> [teeth]"
	exit 1
fi
. "$(dirname "$0")/qemu_lib.sh"
feed=$(dirname "$0")/migrate_feed.py

rings=(${VHF_MIGRATE_RINGS:-split packed})
nmig=${VHF_MIGRATE_COUNT:-3}
boot_s=${VHF_QEMU_TEST_BOOT_TIMEOUT:-150}
# Timeouts, each for an event that will never come.
mig_timeout=${VHF_MIGRATE_TIMEOUT:-120}
stream_timeout=60
# The guest -> host stream: datagrams of 500 bytes at 100 a second, 25 s, meant
# to cover the migrations of one ring (whether it did is printed); the host ->
# guest stream runs until told to stop.
udp_pkts=${VHF_MIGRATE_UDP_PKTS:-2500}
tcp_kbps=1024

if [ "$teeth" = teeth ]; then
	ncases=1
else
	ncases=$((${#rings[@]} * (nmig + 1)))
fi
q_init $ncases
command -v bridge >/dev/null || tap_skip_rest $ncases "no bridge command (iproute2)"

ns=vhfm$$
made_ns=0
guest_mac=52:54:00:00:01:11
br_mac=02:00:00:00:0e:01
mig_sock=$q_work/migrate.sock
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
# No ARP on the way: a guest whose neighbour entry expires mid-migration would
# lose datagrams to its own resolution, not to the back-ends.
ip -n "$ns" neigh replace 10.0.0.11 lladdr "$guest_mac" dev br0 nud permanent

# back_end NAME: dpdk-vhostfix NAME (A or B) on $q_work/NAME.sock, tap vm<pid>NAME
# in the bridge; packed=1 only offers packed rings (a split guest keeps split).
# Each ring gets fresh back-ends: one that served a guest holds what came for
# it after it left, and would deliver that to the next guest it serves.
back_end() {
	local name=$1 prefix=vhfm$$$1 log=$q_work/app$1.log
	q_prefixes+=("$prefix")
	: >"$log"
	ip netns exec "$ns" stdbuf -oL "$app" --lcores "0@0,1@(0-1)" --no-huge -m 512 --no-pci \
		--file-prefix="$prefix" --log-level='pmd.net.vhostfix*:info' \
		--vdev "net_tap0,iface=vm$$$name" \
		--vdev "net_vhost0,iface=$q_work/$name.sock,packed=1" -- \
		--mode sleep --pairs net_tap0:net_vhost0 >"$log" 2>&1 &
	app_pid[$name]=$!
	q_pids+=($!)
	vhf_wait_for "$log" "dpdk-vhostfix: forwarding" 60 $! &&
		ip -n "$ns" link set "vm$$$name" master br0 up
}
declare -A app_pid=()
back_ends() {
	local b
	for b in A B; do
		back_end $b && continue
		diag <"$q_work/app$b.log"
		return 1
	done
}
back_ends_stop() {
	vhf_stop_pids 10 "${app_pid[A]}" "${app_pid[B]}"
	mv "$q_work/appA.log" "$q_work/appA.$1.log"
	mv "$q_work/appB.log" "$q_work/appB.$1.log"
}

# logging_ons NAME: how often back-end NAME switched dirty logging on.
logging_ons() {
	grep -c "dirty logging on" "$q_work/app$1.log"
}

# gexec DIR CMD...: run CMD in the guest of DIR.
gexec() {
	local d=$1
	shift
	"$guests" exec --dir "$d" -g 0 --timeout 30 -- "$@"
}

# fdb_port: the bridge port the guest's MAC is learned on.
fdb_port() {
	bridge -n "$ns" fdb show br br0 | awk -v m="$guest_mac" '$1 == m && $2 == "dev" { print $3; exit }'
}
fdb_on() {
	[ "$(fdb_port)" = "$1" ]
}

# sent_above LOG N: the feed reported more than N bytes sent.
sent_above() {
	local n
	n=$(awk '$1 == "SENT" { n = $2 } END { print n + 0 }' "$1")
	[ "$n" -gt "$2" ]
}

last_sent() {
	awk '$1 == "SENT" { n = $2 } END { print n + 0 }' "$1"
}

teeth_bad=0 downtimes= teeth_what=
# one_ring RING: boot on A, migrate nmig times back and forth, check both streams.
one_ring() {
	local ring=$1 p=0 k src dst gsrc gdst out status downtime total sent rc
	local feed_log=$q_work/$ring.feed.log stop=$q_work/$ring.stop udp_json=$q_work/$ring.udp.json
	local feed_pid srv_pid sum want tcp_ok
	[ "$ring" = packed ] && p=1
	# 256 MiB + 8 KiB, not 256M: QEMU 7.2 under TCG loses guest CPU stores
	# during migration when the RAM block's size is a multiple of 64 pages
	# (its bitmap sync takes a 64-page fast path that leaves the vCPU's TLB
	# marked dirty, so later stores through it set no dirty bit; fixed
	# upstream in QEMU 9.0, commit 03bfc2188f "physmem: Fix migration dirty
	# bitmap coherency with TCG memory access"). The destination guest then
	# ran on stale kernel pages and panicked about once in 140 migrations
	# (usertools/vhf-migrate-loop.sh --verify counts such pages). Any other
	# size takes the per-page path, which keeps the TLB in step.
	local spec="packed=$p,mem=262152K" logs_on

	if ! back_ends; then
		for ((k = 0; k < nmig + 1; k++)); do not_ok "$ring: the back-ends did not start"; done
		return
	fi

	if ! q_guests "$ring-0" --guest "sock=$q_work/A.sock,$spec" --timeout "$boot_s"; then
		not_ok "$ring: the guest did not boot on A"
		diag <"$gdir.start.log"
		q_guest_logs "$gdir" 0
		for ((k = 0; k < nmig + 1; k++)); do not_ok "$ring: no guest"; done
		return
	fi
	gsrc=$gdir
	# Warnings on the console (the image shows only emergencies): a guest
	# that a migration damaged says so there, in the logs a failure shows.
	gexec "$gsrc" "echo 4 >/proc/sys/kernel/printk;" \
		"ip neigh replace 10.0.0.1 lladdr $br_mac dev eth0 nud permanent" >/dev/null
	# Both streams, then wait until each is seen flowing.
	# The guest reads the TCP stream more slowly than the host sends it, so
	# that whenever it stops on the source its socket holds data the device
	# wrote into its RX buffers moments before: pages that reach the
	# destination only if the back-end logged them (a full buffer would have
	# been copied anyway). dd reads at most 32 KiB a turn; "0+0 records in"
	# is the end of the stream.
	gexec "$gsrc" "(nc -l -p 5000 | while :; do dd bs=4k count=8 2>/tmp/dd.err;" \
		"grep -q '^0+0 records in' /tmp/dd.err && break; usleep 100000; done |" \
		"sha256sum >/tmp/tcp.sum) </dev/null >/dev/null 2>&1 &" >/dev/null
	: >"$feed_log"
	ip netns exec "$ns" python3 "$feed" 10.0.0.11 5000 "$stop" "$tcp_kbps" >"$feed_log" 2>&1 &
	feed_pid=$!
	q_pids+=("$feed_pid")
	ip netns exec "$ns" iperf3 -s -1 -J -B 10.0.0.1 -p 5201 >"$udp_json" 2>&1 &
	srv_pid=$!
	q_pids+=("$srv_pid")
	gexec "$gsrc" "(iperf3 -c 10.0.0.1 -p 5201 -u -b 400K -l 500 -k $udp_pkts --connect-timeout 30000" \
		">/tmp/udp.out 2>&1 &) </dev/null >/dev/null 2>&1" >/dev/null
	vhf_wait_until "$stream_timeout" "$feed_pid" sent_above "$feed_log" $((512 * 1024))
	src=A dst=B
	for ((k = 1; k <= nmig; k++)); do
		rm -f "$mig_sock"
		q_guests "$ring-$k" --guest "sock=$q_work/$dst.sock,$spec,incoming=unix:$mig_sock" \
			--no-wait
		gdst=$gdir
		sent=$(last_sent "$feed_log")
		logs_on=$(logging_ons $src)
		out=$("$guests" migrate --dir "$gsrc" -g 0 --to "unix:$mig_sock" --timeout "$mig_timeout" 2>&1)
		rc=$?
		status=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1]).get("status","?"))' \
			"$out" 2>/dev/null)
		downtime=$(python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print(r.get("downtime","?"), r.get("total-time","?"))' \
			"$out" 2>/dev/null)
		read -r downtime total <<<"${downtime:-? ?}"
		local run
		run=$("$guests" qmp --dir "$gdst" -g 0 --timeout 30 -- query-status 2>&1)
		"$guests" stop --dir "$gsrc"
		if [ "$rc" = 0 ] && [ "$status" = completed ] && grep -q '"status": "running"' <<<"$run" &&
			[ "$(logging_ons $src)" -gt "$logs_on" ] &&
			vhf_wait_until "$stream_timeout" "$feed_pid" sent_above "$feed_log" \
				$((sent + 1024 * 1024)) &&
			vhf_wait_until 30 "" fdb_on "vm$$$dst"; then
			ok "$ring: migration $k $src -> $dst completed (downtime $downtime ms, total $total ms)," \
				"$src logged dirty pages, the guest runs on $dst, host -> guest goes on," \
				"MAC learned on $dst's tap"
			downtimes+=" $downtime"
		else
			not_ok "$ring: migration $k $src -> $dst: status ${status:-?}," \
				"destination $(grep -o '"status": "[a-z-]*"' <<<"$run" || echo "${run:0:200}")," \
				"feed at $(last_sent "$feed_log") bytes (was $sent), MAC on $(fdb_port)," \
				"dirty logging on in $src: $logs_on -> $(logging_ons $src) times"
			teeth_bad=1
			diag <<<"$out"
			diag <"$q_work/app$src.log"
			diag <"$q_work/app$dst.log"
			q_guest_logs "$gdst" 0
			# The guest may be on either side now: no use going on.
			for ((; k < nmig; k++)); do not_ok "$ring: not migrated"; done
			not_ok "$ring: streams not checked"
			gsrc=$gdst
			break
		fi
		gsrc=$gdst
		if [ "$src" = A ]; then src=B dst=A; else src=A dst=B; fi
	done
	if [ "$k" -le "$nmig" ]; then
		"$guests" stop --dir "$gsrc"
		back_ends_stop "$ring"
		return
	fi

	# The end of both streams, wherever the guest is now.
	local udp_through=no
	gexec "$gsrc" "pidof iperf3" >/dev/null 2>&1 && udp_through=yes
	touch "$stop"
	vhf_wait_pid "$feed_pid" "$stream_timeout"
	want=$(awk '$1 == "DONE" { print $3 }' "$feed_log")
	sum_ready() {
		sum=$(gexec "$gsrc" "cat /tmp/tcp.sum" 2>/dev/null | awk '{ print $1 }')
		[ -n "$sum" ]
	}
	sum=
	vhf_wait_until "$stream_timeout" "" sum_ready
	vhf_wait_pid "$srv_pid" $((stream_timeout + udp_pkts / 100))
	local udp
	udp=$(python3 - "$udp_json" <<-'PY' 2>&1
		import json, sys
		try:
		    u = json.load(open(sys.argv[1]))["end"]["streams"][0]["udp"]
		    print(u["packets"], u["lost_packets"], u["out_of_order"])
		except Exception as e:
		    print("? ? ? (%s)" % e)
		PY
	)
	local pk lost ooo
	read -r pk lost ooo _ <<<"$udp"
	tcp_ok=0
	[ -n "$want" ] && [ "$sum" = "$want" ] && tcp_ok=1
	if [ "$tcp_ok" = 1 ] && [ "$lost" = 0 ] && [ "$ooo" = 0 ] && [ "$pk" -gt 0 ] 2>/dev/null; then
		ok "$ring: host -> guest TCP $(awk '$1 == "DONE" { print $2 }' "$feed_log") bytes," \
			"sha256 matches in the guest; guest -> host UDP $pk datagrams (of $udp_pkts)," \
			"0 lost, 0 duplicated or out of order (still sending at the last migration: $udp_through)"
	else
		not_ok "$ring: host -> guest sha256 ${sum:-none} (sent ${want:-not finished})," \
			"guest -> host UDP datagrams/lost/out of order: $udp"
		teeth_bad=1
		diag <"$feed_log"
		gexec "$gsrc" "cat /tmp/udp.out; cat /sys/class/net/eth0/statistics/rx_*errors" 2>&1 | diag
		diag <"$q_work/appA.log"
		diag <"$q_work/appB.log"
	fi
	"$guests" stop --dir "$gsrc"
	vhf_stop_pids 5 "$feed_pid" "$srv_pid"
	back_ends_stop "$ring"
}

t0=$SECONDS
for ring in "${rings[@]}"; do
	if [ "$teeth" = teeth ]; then
		# Its cases are what the teeth run expects to fail: shown as diag,
		# not counted; the first ring that detects something is enough.
		n0=$tap_n f0=$tap_failed
		one_ring "$ring" >"$q_work/teeth-$ring.tap" 2>&1
		grep -E '^(not )?ok ' "$q_work/teeth-$ring.tap" | diag
		tap_n=$n0 tap_failed=$f0
		[ -n "$teeth_what" ] || teeth_what=$(grep -m1 '^not ok' "$q_work/teeth-$ring.tap" |
			sed 's/^not ok [0-9]* - //' | cut -c1-160)
		[ "$teeth_bad" = 1 ] && break
	else
		one_ring "$ring"
	fi
done
echo "# measured downtime (ms, QEMU's query-migrate):${downtimes:- none}; $((SECONDS - t0)) s"
if [ "$teeth" = teeth ]; then
	# Without the RX buffers in the dirty log a migration must be caught.
	[ "$teeth_bad" = 1 ]
	check $? "teeth: with the RX buffers left out of the dirty log the run detected it" \
		"(a checksum mismatch, a gap or a stalled stream): ${teeth_what:-nothing}"
fi
[ "$tap_failed" -eq 0 ]
