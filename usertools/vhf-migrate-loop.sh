#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors
#
# Live-migrate one guest back and forth many times under traffic, cheaply, and
# count what its kernel says: for hunting a rare fault of a migrated guest, with
# a control run that leaves our back-end out.
#
#   vhf-migrate-loop.sh --dir DIR --count N (--app DPDK_VHOSTFIX | --tap) [options]
#
#   --app PATH     guest NIC: vhost-user on two dpdk-vhostfix back-ends, A and B
#                  (as test/qemu/test_migrate.sh runs them)
#   --tap          guest NIC: QEMU's own virtio-net on a tap (no vhost-user);
#                  the same guest, traffic and migrations otherwise: the control
#   --ring R       split (default) or packed
#   --count N      migrations to make in all
#   --per-boot M   boot a fresh guest every M migrations (default 0: only when
#                  the guest died or its stream stalled)
#   --stress       the guest also rewrites 1 MiB of a file with random data in a
#                  loop: more pages stored to while migrating, more chances
#                  for a lost write to show
#   --mem SIZE     guest RAM (default 256M, as test_migrate.sh)
#   --append ARGS  extra kernel command line (default "ignore_loglevel": the
#                  guest image keeps its console quiet, a WARN would not show)
#   --seconds S    start no migration after S seconds (default: no limit)
#   --verify       the destination waits paused (-S) once the guest arrived,
#                  and its RAM is compared with the stopped source's, page by
#                  page (both are memfds, read through /proc/PID/fd): a page
#                  that differs is a write the migration lost, whoever made it
#                  (the guest's CPU, QEMU, the back-end); then it runs (cont)
#   --dwell KIB    after each migration, wait until the host -> guest stream
#                  took that much more (default 256): the guest runs, its NIC
#                  works, then the next migration starts
#
# The set-up is test_migrate.sh's: a bridge in a network namespace made here
# (10.0.0.1), a TCP stream into the guest read slowly (nc | dd, usleep) and
# iperf3 UDP out of it, the guest under TCG with memfd RAM. Each guest's console
# runs at full log level; after each QEMU ends, its console is scanned for
# kernel faults ("WARNING:", "BUG:", "Oops", "general protection", "Kernel
# panic") and kept in DIR/events/ when it has one. Prints one line per
# migration, and at the end:
#   SUMMARY net=... ring=... migrations=N boots=B warn=W bug=X panic=P stalls=S failed=F
#           [lost=L pages=G] (--verify: migrations with a differing page, and pages)
# Needs root, QEMU, iperf3, bridge (iproute2). The whole run is one process
# group: stop it with SIGTERM to its PID, it cleans up.

set -u
top=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
. "$top/usertools/vhf-wait.sh"
# The migration tests' stream helpers (mig_gexec, mig_last_sent, mig_sent_above).
. "$top/test/qemu/migrate_lib.sh"
guests=$top/usertools/vhf-guests.sh
feed=$mig_feed

dir= count= app= net= ring=split per_boot=0 append=ignore_loglevel dwell=256 seconds=0
verify=0 mem=256M stress=0
while [ $# -gt 0 ]; do
	case "$1" in
	--dir) dir=$2; shift 2 ;;
	--count) count=$2; shift 2 ;;
	--app) app=$2; net=vhost-user; shift 2 ;;
	--tap) net=tap; shift ;;
	--ring) ring=$2; shift 2 ;;
	--per-boot) per_boot=$2; shift 2 ;;
	--append) append=$2; shift 2 ;;
	--dwell) dwell=$2; shift 2 ;;
	--seconds) seconds=$2; shift 2 ;;
	--verify) verify=1; shift ;;
	--mem) mem=$2; shift 2 ;;
	--stress) stress=1; shift ;;
	-h|--help) sed -n '4,46p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "vhf-migrate-loop: unknown option '$1'" >&2; exit 2 ;;
	esac
done
if [ -z "$dir" ] || [ -z "$count" ] || [ -z "$net" ]; then
	echo "usage: $0 --dir DIR --count N (--app DPDK_VHOSTFIX | --tap) [options]" >&2
	exit 2
fi
[ "$net" = tap ] || [ -x "$app" ] || { echo "vhf-migrate-loop: no app '$app'" >&2; exit 2; }
p=0
[ "$ring" = packed ] && p=1
mkdir -p "$dir/events"
dir=$(cd "$dir" && pwd)
log() { echo "$(date +%T) $*"; }

ns=vhfl$$
guest_mac=52:54:00:00:01:11
br_mac=02:00:00:00:0e:01
mig_sock=$dir/migrate.sock
pids=() gdirs=() prefixes=()
cleanup() {
	local d
	for d in "${gdirs[@]}"; do
		"$guests" stop --dir "$d" 2>/dev/null
	done
	vhf_stop_pids 10 "${pids[@]}"
	for d in "${prefixes[@]}"; do rm -rf "/var/run/dpdk/$d"; done
	ip netns delete "$ns" 2>/dev/null
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ip netns add "$ns" || exit 1
ip -n "$ns" link set lo up
ip -n "$ns" link add br0 address "$br_mac" type bridge
ip -n "$ns" addr add 10.0.0.1/24 dev br0
ip -n "$ns" link set br0 up
ip -n "$ns" neigh replace 10.0.0.11 lladdr "$guest_mac" dev br0 nud permanent

# The back-ends, as test_migrate.sh starts them (vhost-user only).
if [ "$net" = vhost-user ]; then
	for b in A B; do
		prefix=vhfl$$$b
		prefixes+=("$prefix")
		ip netns exec "$ns" stdbuf -oL "$app" --lcores "0@0,1@(0-1)" --no-huge -m 512 \
			--no-pci --file-prefix="$prefix" --log-level='pmd.net.vhostfix*:info' \
			--vdev "net_tap0,iface=vl$$$b" \
			--vdev "net_vhost0,iface=$dir/$b.sock,packed=1" -- \
			--mode sleep --pairs net_tap0:net_vhost0 >"$dir/app$b.log" 2>&1 &
		pids+=("$!")
		vhf_wait_for "$dir/app$b.log" "dpdk-vhostfix: forwarding" 60 $! ||
			{ cat "$dir/app$b.log"; exit 1; }
		ip -n "$ns" link set "vl$$$b" master br0 up
	done
fi

# start_guest NAME SIDE [incoming=URI]: a guest QEMU on SIDE (A or B) in
# $dir/NAME; sets gdir. With the tap NIC QEMU runs in the namespace, which
# holds its tap, and the tap joins the bridge.
nguest=0
start_guest() {
	local name=$1 side=$2 extra=${3:+,$3} spec tap=vl$$g$nguest wrap=()
	nguest=$((nguest + 1))
	gdir=$dir/$name
	gdirs+=("$gdir")
	if [ "$net" = tap ]; then
		spec="tap=$tap,packed=$p,mem=$mem$extra"
		wrap=(ip netns exec "$ns")
	else
		spec="sock=$dir/$side.sock,packed=$p,mem=$mem$extra"
	fi
	"${wrap[@]}" "$guests" start --dir "$gdir" --guest "$spec" --append "$append" \
		${3:+--no-wait} --timeout 150 2>"$gdir.start.log" || return 1
	if [ "$net" = tap ]; then
		ip -n "$ns" link set "$tap" master br0 up || return 1
	fi
}

# stop_guest DIR: stop its QEMU, scan its console, keep it if it shows a fault.
nwarn=0 nbug=0 npanic=0
stop_guest() {
	local d=$1 c w b k
	"$guests" stop --dir "$d" 2>/dev/null
	c=$d/guest0.console.log
	w=$(grep -c 'WARNING:' "$c" 2>/dev/null)
	b=$(grep -cE 'BUG:|Oops|general protection' "$c" 2>/dev/null)
	k=$(grep -c 'Kernel panic' "$c" 2>/dev/null)
	nwarn=$((nwarn + ${w:-0})) nbug=$((nbug + ${b:-0})) npanic=$((npanic + ${k:-0}))
	if [ "${w:-0}${b:-0}${k:-0}" != 000 ]; then
		cp "$c" "$dir/events/${d##*/}.console.log"
		log "EVENT ${d##*/}: $w WARNING, $b BUG/Oops, $k panic:" \
			"$(grep -m1 -E 'WARNING:|BUG:|Oops|general protection' "$c" | tr -d '\r')"
	fi
	rm -rf "$d" "$d.start.log"
}

gexec() {
	mig_gexec "$gsrc" "$@"
}

# boot: a fresh guest on A with both streams flowing; sets gsrc, side.
nboot=0 feed_pid= srv_pid= feed_log=
boot() {
	local b=$nboot
	nboot=$((nboot + 1))
	[ -n "$feed_pid" ] && vhf_stop_pids 5 "$feed_pid"
	start_guest "boot$b" A || { cat "$gdir.start.log"; return 1; }
	gsrc=$gdir side=A
	gexec "ip neigh replace 10.0.0.1 lladdr $br_mac dev eth0 nud permanent" >/dev/null
	gexec "(nc -l -p 5000 | while :; do dd bs=4k count=8 2>/tmp/dd.err;" \
		"grep -q '^0+0 records in' /tmp/dd.err && break; usleep 100000; done |" \
		"sha256sum >/tmp/tcp.sum) </dev/null >/dev/null 2>&1 &" >/dev/null
	gexec "(iperf3 -c 10.0.0.1 -p 5201 -u -b 400K -l 500 -t 86400 --connect-timeout 30000" \
		">/tmp/udp.out 2>&1 &) </dev/null >/dev/null 2>&1" >/dev/null
	if [ "$stress" = 1 ]; then
		gexec "(while :; do dd if=/dev/urandom of=/tmp/stress bs=4k count=256;" \
			"done) </dev/null >/dev/null 2>&1 &" >/dev/null
	fi
	feed_log=$dir/feed$b.log
	: >"$feed_log"
	ip netns exec "$ns" python3 "$feed" 10.0.0.11 5000 "$dir/stop$b" 1024 >"$feed_log" 2>&1 &
	feed_pid=$!
	pids+=("$feed_pid")
	vhf_wait_until 60 "$feed_pid" mig_sent_above "$feed_log" $((dwell * 1024))
}

# The UDP sink: one server for the whole run, restarted per client.
ip netns exec "$ns" iperf3 -s -B 10.0.0.1 -p 5201 >"$dir/iperf3-server.log" 2>&1 &
srv_pid=$!
pids+=("$srv_pid")

# verify_ram SRC_DIR DST_DIR K: compare the stopped source's RAM with the
# paused destination's, then let the destination run.
nlost=0 nlostpages=0
verify_ram() {
	local out n
	out=$(python3 - "$(awk '{ print $2 }' "$1/pids")" "$(awk '{ print $2 }' "$2/pids")" <<-'PY'
		import os, sys
		def ram(pid):
		    d = "/proc/%s/fd" % pid
		    for fd in os.listdir(d):
		        path = os.path.join(d, fd)
		        if os.readlink(path).startswith("/memfd:memory-backend-memfd"):
		            return open(path, "rb")
		    sys.exit("no guest RAM memfd in QEMU %s" % pid)
		src, dst = ram(sys.argv[1]), ram(sys.argv[2])
		off, pages, CH, PG = 0, [], 1 << 20, 4096
		while True:
		    a, b = src.read(CH), dst.read(CH)
		    if not a and not b:
		        break
		    if a != b:
		        for p in range(0, max(len(a), len(b)), PG):
		            x, y = a[p:p + PG], b[p:p + PG]
		            if x != y:
		                i = next(k for k in range(len(x)) if k >= len(y) or x[k] != y[k])
		                nd = sum(1 for k in range(min(len(x), len(y))) if x[k] != y[k])
		                pages.append("gpa 0x%x: %d bytes differ, first at +0x%x: src %s dst %s" %
		                             (off + p, nd, i, x[i:i + 16].hex(), y[i:i + 16].hex()))
		    off += CH
		print(len(pages))
		for l in pages[:64]:
		    print(l)
		PY
	) || { log "verify: $out"; return; }
	n=${out%%$'\n'*}
	if [ "$n" != 0 ]; then
		nlost=$((nlost + 1)) nlostpages=$((nlostpages + n))
		echo "$out" >"$dir/events/mig$3.ramdiff"
		log "migration $3: $n pages of RAM differ between source and destination:"
		sed -n '2,6p' <<<"$out"
	fi
	"$guests" qmp --dir "$2" -g 0 --timeout 30 -- cont >/dev/null
}

nmig=0 nstall=0 nfail=0 since_boot=0
t0=$SECONDS
boot || { echo "vhf-migrate-loop: first boot failed" >&2; exit 1; }
while [ "$nmig" -lt "$count" ]; do
	[ "$seconds" -gt 0 ] && [ $((SECONDS - t0)) -ge "$seconds" ] && break
	if [ "$per_boot" -gt 0 ] && [ "$since_boot" -ge "$per_boot" ]; then
		stop_guest "$gsrc"
		boot || break
		since_boot=0
	fi
	[ "$side" = A ] && dst=B || dst=A
	rm -f "$mig_sock"
	extra=incoming=unix:$mig_sock
	[ "$verify" = 1 ] && extra+=,paused=1
	if ! start_guest "mig$nmig" "$dst" "$extra"; then
		cat "$gdir.start.log"
		break
	fi
	gdst=$gdir
	sent=$(mig_last_sent "$feed_log")
	out=$("$guests" migrate --dir "$gsrc" -g 0 --to "unix:$mig_sock" --timeout 120 2>&1)
	rc=$?
	[ "$rc" = 0 ] && [ "$verify" = 1 ] && verify_ram "$gsrc" "$gdst" $((nmig + 1))
	stop_guest "$gsrc"
	nmig=$((nmig + 1)) since_boot=$((since_boot + 1))
	gsrc=$gdst side=$dst
	dpid=$(awk '{ print $2 }' "$gsrc/pids")
	if [ "$rc" != 0 ]; then
		nfail=$((nfail + 1))
		log "migration $nmig -> $dst FAILED: ${out:0:300}"
		stop_guest "$gsrc"
		boot || break
		since_boot=0
		continue
	fi
	# The guest goes on, or its QEMU ends (a panic: -no-reboot), or its
	# stream stops.
	if vhf_wait_until 60 "$dpid" mig_sent_above "$feed_log" $((sent + dwell * 1024)); then
		log "migration $nmig -> $dst ok (downtime $(python3 -c \
			'import json, sys; print(json.loads(sys.argv[1]).get("downtime"))' "$out") ms)"
		continue
	fi
	nstall=$((nstall + 1))
	alive=GONE
	kill -0 "$dpid" 2>/dev/null && alive=alive
	log "migration $nmig -> $dst: guest $alive," \
		"stream at $(mig_last_sent "$feed_log") (was $sent)"
	stop_guest "$gsrc"
	boot || break
	since_boot=0
done
stop_guest "$gsrc"
echo "SUMMARY net=$net ring=$ring migrations=$nmig boots=$nboot warn=$nwarn bug=$nbug" \
	"panic=$npanic stalls=$nstall failed=$nfail seconds=$((SECONDS - t0))" \
	"$([ "$verify" = 1 ] && echo "lost=$nlost pages=$nlostpages")"
