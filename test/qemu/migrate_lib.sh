#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors
#
# Sourced, after qemu_lib.sh, by the live-migration tests: the scenario they
# share whatever the two back-ends are (test/qemu/test_migrate.sh: two
# dpdk-vhostfix processes; test/ovs/test_ovs_migrate.sh: two net_vhostfix ports
# of one ovs-vswitchd). A guest starts on back-end A; a second QEMU with the
# same configuration and -incoming waits on B; QMP's migrate moves the guest
# over a unix socket, then back, then over again, while two streams run
# between the guest (10.0.0.11) and 10.0.0.1, the traffic's host end in the
# network namespace $ns:
#  - host -> guest: TCP (migrate_feed.py) into `nc -l | sha256sum` in the
#    guest, compared with the sender's sha256 at the end;
#  - guest -> host: iperf3 UDP from the guest to an iperf3 server at
#    10.0.0.1, whose per-datagram sequence numbers count gaps (lost) and
#    duplicates or reordering (out of order): both must be 0.
# After each migration: QEMU says completed, the source back-end switched
# dirty logging on, the destination runs the guest (query-status), the host ->
# guest stream goes on through the new back-end (no stall), and the switch
# between them has learned the guest's MAC on the new back-end's port. QEMU's
# downtime is printed, never judged. One TAP case per migration and one for
# both streams, per ring: ${#mig_rings[@]} * (mig_count + 1) cases.
#
# Its stream helpers (mig_gexec, mig_last_sent, mig_sent_above,
# mig_udp_result) also serve test_backend_restart.sh, the same streams
# across a back-end restart instead of a migration.
#
# The caller sets `guests` and `ns`, makes the namespace (mig_ns_make) and in
# it the device that carries 10.0.0.1 (mig_endpoint), and defines, for
# back-end NAME (A or B):
#   mig_back_ends            start A and B, fresh for each ring (one that served
#                            a guest holds what came for it after it left, and
#                            would deliver that to the next guest it serves);
#                            false, with what went wrong as diag, if one did not
#   mig_back_ends_stop RING  stop both, keep their logs under RING's name
#   mig_sock NAME            NAME's vhost-user socket
#   mig_logging_ons NAME     how often NAME switched dirty logging on
#   mig_fdb_port             the switch port the guest's MAC is learned on now
#   mig_port NAME            NAME's switch port, as mig_fdb_port prints it
#   mig_where NAME           NAME's switch port in words, for the TAP lines
#   mig_diag NAME            NAME's log as TAP diag

mig_feed=$(dirname "${BASH_SOURCE[0]}")/migrate_feed.py

mig_rings=(${VHF_MIGRATE_RINGS:-split packed})
mig_count=${VHF_MIGRATE_COUNT:-3}
mig_boot_s=${VHF_QEMU_TEST_BOOT_TIMEOUT:-150}
# Timeouts, each for an event that will never come.
mig_timeout=${VHF_MIGRATE_TIMEOUT:-120}
mig_stream_timeout=60
# The guest -> host stream: datagrams of 500 bytes at 100 a second, 25 s, meant
# to cover the migrations of one ring (whether it did is printed); the host ->
# guest stream runs until told to stop.
mig_udp_pkts=${VHF_MIGRATE_UDP_PKTS:-2500}
mig_tcp_kbps=1024

mig_guest_mac=52:54:00:00:01:11
mig_host_mac=02:00:00:00:0e:01
mig_made_ns=0

# mig_ncases: the TAP cases mig_run_rings prints (without teeth).
mig_ncases() {
	echo $((${#mig_rings[@]} * (mig_count + 1)))
}

# mig_ns_make NCASES: the network namespace $ns with its loopback up, or skip.
mig_ns_make() {
	ip netns add "$ns" || tap_skip_rest "$1" "cannot create a network namespace"
	mig_made_ns=1
	ip -n "$ns" link set lo up
}

mig_ns_delete() {
	[ "$mig_made_ns" = 1 ] && ip netns delete "$ns" 2>/dev/null
	mig_made_ns=0
}

# mig_endpoint DEV: 10.0.0.1/24 on DEV (in $ns, its MAC mig_host_mac), up.
# No ARP on the way: a guest whose neighbour entry expires mid-migration would
# lose datagrams to its own resolution, not to the back-ends.
mig_endpoint() {
	ip -n "$ns" addr add 10.0.0.1/24 dev "$1" && ip -n "$ns" link set "$1" up &&
		ip -n "$ns" neigh replace 10.0.0.11 lladdr "$mig_guest_mac" dev "$1" nud permanent
}

# mig_gexec DIR CMD...: run CMD in the guest of DIR.
mig_gexec() {
	local d=$1
	shift
	"$guests" exec --dir "$d" -g 0 --timeout 30 -- "$@"
}

mig_fdb_on() {
	[ "$(mig_fdb_port)" = "$(mig_port "$1")" ]
}

# mig_sent_above LOG N: the feed reported more than N bytes sent.
mig_sent_above() {
	[ "$(mig_last_sent "$1")" -gt "$2" ]
}

mig_last_sent() {
	awk '$1 == "SENT" { n = $2 } END { print n + 0 }' "$1"
}

# mig_udp_result JSON: "packets lost out_of_order" from an iperf3 UDP server's
# JSON report, or "? ? ? (why)".
mig_udp_result() {
	python3 - "$1" <<-'PY' 2>&1
		import json, sys
		try:
		    u = json.load(open(sys.argv[1]))["end"]["streams"][0]["udp"]
		    print(u["packets"], u["lost_packets"], u["out_of_order"])
		except Exception as e:
		    print("? ? ? (%s)" % e)
		PY
}

mig_teeth_bad=0 mig_downtimes= mig_teeth_what=
# mig_one_ring RING: boot on A, migrate mig_count times back and forth, check
# both streams.
mig_one_ring() {
	local ring=$1 p=0 k src dst gsrc gdst out status downtime total sent rc
	local feed_log=$q_work/$ring.feed.log stop=$q_work/$ring.stop udp_json=$q_work/$ring.udp.json
	local feed_pid srv_pid sum want tcp_ok nmig=$mig_count
	local mig_sock=$q_work/migrate.sock
	[ "$ring" = packed ] && p=1
	# 256 MiB + 8 KiB, not 256M: QEMU 7.2 under TCG loses guest CPU stores
	# during migration when the RAM block's size is a multiple of 64 pages
	# (its bitmap sync clears 64 pages' dirty bits at once without resetting
	# the vCPU's TLB, so later stores through it set no dirty bit; fixed
	# upstream in QEMU 9.0, commit 03bfc2188f "physmem: Fix migration dirty
	# bitmap coherency with TCG memory access"). The destination guest then
	# ran on stale kernel pages and panicked about once in 140 migrations
	# (usertools/vhf-migrate-loop.sh --verify counts such pages). Any other
	# size takes the per-page path, which keeps the TLB in step.
	local spec="packed=$p,mem=262152K" logs_on

	if ! mig_back_ends; then
		for ((k = 0; k < nmig + 1; k++)); do not_ok "$ring: the back-ends did not start"; done
		return
	fi

	if ! q_guests "$ring-0" --guest "sock=$(mig_sock A),$spec" --timeout "$mig_boot_s"; then
		not_ok "$ring: the guest did not boot on A"
		diag <"$gdir.start.log"
		q_guest_logs "$gdir" 0
		for ((k = 0; k < nmig + 1; k++)); do not_ok "$ring: no guest"; done
		return
	fi
	gsrc=$gdir
	# Warnings on the console (the image shows only emergencies): a guest
	# that a migration damaged says so there, in the logs a failure shows.
	mig_gexec "$gsrc" "echo 4 >/proc/sys/kernel/printk;" \
		"ip neigh replace 10.0.0.1 lladdr $mig_host_mac dev eth0 nud permanent" >/dev/null
	# Both streams, then wait until each is seen flowing.
	# The guest reads the TCP stream more slowly than the host sends it, so
	# that whenever it stops on the source its socket holds data the device
	# wrote into its RX buffers moments before: pages that reach the
	# destination only if the back-end logged them (a full buffer would have
	# been copied anyway). dd reads at most 32 KiB a turn; "0+0 records in"
	# is the end of the stream.
	mig_gexec "$gsrc" "(nc -l -p 5000 | while :; do dd bs=4k count=8 2>/tmp/dd.err;" \
		"grep -q '^0+0 records in' /tmp/dd.err && break; usleep 100000; done |" \
		"sha256sum >/tmp/tcp.sum) </dev/null >/dev/null 2>&1 &" >/dev/null
	: >"$feed_log"
	ip netns exec "$ns" python3 "$mig_feed" 10.0.0.11 5000 "$stop" "$mig_tcp_kbps" \
		>"$feed_log" 2>&1 &
	feed_pid=$!
	q_pids+=("$feed_pid")
	ip netns exec "$ns" iperf3 -s -1 -J -B 10.0.0.1 -p 5201 >"$udp_json" 2>&1 &
	srv_pid=$!
	q_pids+=("$srv_pid")
	mig_gexec "$gsrc" "(iperf3 -c 10.0.0.1 -p 5201 -u -b 400K -l 500 -k $mig_udp_pkts" \
		"--connect-timeout 30000 >/tmp/udp.out 2>&1 &) </dev/null >/dev/null 2>&1" >/dev/null
	vhf_wait_until "$mig_stream_timeout" "$feed_pid" mig_sent_above "$feed_log" $((512 * 1024))
	src=A dst=B
	for ((k = 1; k <= nmig; k++)); do
		rm -f "$mig_sock"
		q_guests "$ring-$k" --guest "sock=$(mig_sock $dst),$spec,incoming=unix:$mig_sock" \
			--no-wait
		gdst=$gdir
		sent=$(mig_last_sent "$feed_log")
		logs_on=$(mig_logging_ons $src)
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
			[ "$(mig_logging_ons $src)" -gt "$logs_on" ] &&
			vhf_wait_until "$mig_stream_timeout" "$feed_pid" mig_sent_above "$feed_log" \
				$((sent + 1024 * 1024)) &&
			vhf_wait_until 30 "" mig_fdb_on "$dst"; then
			ok "$ring: migration $k $src -> $dst completed (downtime $downtime ms, total $total ms)," \
				"$src logged dirty pages, the guest runs on $dst, host -> guest goes on," \
				"MAC learned on $(mig_where $dst)"
			mig_downtimes+=" $downtime"
		else
			not_ok "$ring: migration $k $src -> $dst: status ${status:-?}," \
				"destination $(grep -o '"status": "[a-z-]*"' <<<"$run" || echo "${run:0:200}")," \
				"feed at $(mig_last_sent "$feed_log") bytes (was $sent), MAC on $(mig_fdb_port)," \
				"dirty logging on in $src: $logs_on -> $(mig_logging_ons $src) times"
			mig_teeth_bad=1
			diag <<<"$out"
			mig_diag $src
			mig_diag $dst
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
		mig_back_ends_stop "$ring"
		return
	fi

	# The end of both streams, wherever the guest is now.
	local udp_through=no
	mig_gexec "$gsrc" "pidof iperf3" >/dev/null 2>&1 && udp_through=yes
	touch "$stop"
	vhf_wait_pid "$feed_pid" "$mig_stream_timeout"
	want=$(awk '$1 == "DONE" { print $3 }' "$feed_log")
	sum_ready() {
		sum=$(mig_gexec "$gsrc" "cat /tmp/tcp.sum" 2>/dev/null | awk '{ print $1 }')
		[ -n "$sum" ]
	}
	sum=
	vhf_wait_until "$mig_stream_timeout" "" sum_ready
	vhf_wait_pid "$srv_pid" $((mig_stream_timeout + mig_udp_pkts / 100))
	local udp
	udp=$(mig_udp_result "$udp_json")
	local pk lost ooo
	read -r pk lost ooo _ <<<"$udp"
	tcp_ok=0
	[ -n "$want" ] && [ "$sum" = "$want" ] && tcp_ok=1
	if [ "$tcp_ok" = 1 ] && [ "$lost" = 0 ] && [ "$ooo" = 0 ] && [ "$pk" -gt 0 ] 2>/dev/null; then
		ok "$ring: host -> guest TCP $(awk '$1 == "DONE" { print $2 }' "$feed_log") bytes," \
			"sha256 matches in the guest; guest -> host UDP $pk datagrams (of $mig_udp_pkts)," \
			"0 lost, 0 duplicated or out of order (still sending at the last migration: $udp_through)"
	else
		not_ok "$ring: host -> guest sha256 ${sum:-none} (sent ${want:-not finished})," \
			"guest -> host UDP datagrams/lost/out of order: $udp"
		mig_teeth_bad=1
		diag <"$feed_log"
		mig_gexec "$gsrc" "cat /tmp/udp.out; cat /sys/class/net/eth0/statistics/rx_*errors" 2>&1 |
			diag
		mig_diag A
		mig_diag B
	fi
	"$guests" stop --dir "$gsrc"
	vhf_stop_pids 5 "$feed_pid" "$srv_pid"
	mig_back_ends_stop "$ring"
}

# mig_run_rings [teeth]: mig_one_ring for each ring, then the downtimes. With
# "teeth" the back-ends leave something out of the dirty log: each ring's
# cases are what that run expects to fail, shown as diag and not counted; the
# first ring that detects something is enough, and one case says whether one
# did.
mig_run_rings() {
	local teeth=${1:-} ring t0=$SECONDS n0 f0
	for ring in "${mig_rings[@]}"; do
		if [ "$teeth" = teeth ]; then
			n0=$tap_n f0=$tap_failed
			mig_one_ring "$ring" >"$q_work/teeth-$ring.tap" 2>&1
			grep -E '^(not )?ok ' "$q_work/teeth-$ring.tap" | diag
			tap_n=$n0 tap_failed=$f0
			[ -n "$mig_teeth_what" ] || mig_teeth_what=$(grep -m1 '^not ok' \
				"$q_work/teeth-$ring.tap" | sed 's/^not ok [0-9]* - //' | cut -c1-160)
			[ "$mig_teeth_bad" = 1 ] && break
		else
			mig_one_ring "$ring"
		fi
	done
	echo "# measured downtime (ms, QEMU's query-migrate):${mig_downtimes:- none};" \
		"$((SECONDS - t0)) s"
	if [ "$teeth" = teeth ]; then
		# Without the RX buffers in the dirty log a migration must be caught.
		[ "$mig_teeth_bad" = 1 ]
		check $? "teeth: with the RX buffers left out of the dirty log the run detected it" \
			"(a checksum mismatch, a gap or a stalled stream): ${mig_teeth_what:-nothing}"
	fi
}
