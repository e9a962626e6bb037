#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors
#
# The seed's stall scenario with real Linux guests: dpdk-vhostfix forwards
# between host tap devices (the "NIC", in a network namespace made here) and N
# QEMU guests; each guest runs two iperf3 servers; the host runs
# `iperf3 -c <guest> -P 20 -w 256k` to each; the app sleeps when idle and
# stops reading a tap whose guest has no room (QEMU's backpressure).
# usertools/vhf-stall.py watches for guests whose traffic stops.
#
#   vhf-seed-scenario.sh --app BUILD/app/dpdk-vhostfix/dpdk-vhostfix --out DIR
#       [--guests N] [--seconds S] [--notify fixed|legacy] [--ring split|packed|mixed]
#       [--reverse] [--stop-on-stall] [--streams P] [--window W] [--mode sleep|poll]
#       [--mtu N] [--napi-weight N] [--mss2 N] [--backlog N] [--udp BW] [--mem SIZE]
#
#   --ring mixed (default): even guests split, odd guests packed.
#   --reverse: the second iperf3 of each guest runs -R (guest -> host), so
#       traffic flows both ways; by default both send host -> guest, as the seed.
#   --stop-on-stall: end at the first stall (for showing that one happens).
#   --mtu N: MTU of the taps, the app's NIC ports (--mtu) and the guests' eth0,
#       for frames that take several guest buffers. Host -> guest only: DPDK
#       22.11's net_tap sends no frame over 1522 bytes (its MTU stays 1500),
#       so the guests send at most 1500-byte packets to the host (route MTU)
#       while advertising the MSS of N.
#   --napi-weight N: the guests' virtio_net.napi_weight (default 64). Linux
#       refills its RX ring only once more than min(weight, ring size)/2
#       buffers are free, so a frame can find the ring short after a refill
#       (the lost kick's precondition) only if it needs more buffers than
#       that: a small weight makes small refills.
#   --mss2 N: the second iperf3 client of each guest sets its MSS to N (-M),
#       so that small frames (one guest buffer, small refills) come between
#       the first client's jumbo frames (several buffers).
#   --backlog N: packets the app holds for a guest that has no room before it
#       stops reading the tap (default 32, the app's least). QEMU stops at the
#       first: with a deep backlog every TCP retransmission wakes the worker,
#       which then finds the guest's buffers and hides a lost kick.
#   --udp BW: the clients send UDP at BW per stream (iperf3 -u -b BW), the
#       first one datagrams that fill the MTU, the second --mss2 bytes (500).
#       A guest receiving UDP sends nothing back: a TCP receiver's ACKs wake
#       the app's worker (one per guest, both directions), which retries its
#       backlog then and so rescues a lost RX kick, unlike the seed's QEMU.
#       The detector then judges on the app's stats alone.
#   --mem SIZE: guest RAM (default 256M).
#
# Guest i: tap vs<pid>t<i> with 10.0.<i+1>.1/24 in the namespace, guest IP
# 10.0.<i+1>.11, one worker lcore per guest (floating over all CPUs), as each
# QEMU virtqueue has its own handler: a stalled guest is not rescued by the
# traffic of another. DIR receives every log, samples.csv and summary.txt.
# Exit status: 0 no stall, 1 a stall, 2 the scenario could not run.
# Needs root; every process is stopped by PID and the namespace removed at exit.

set -u
top=$(cd "$(dirname "$0")/.." && pwd)
guests_sh=$top/usertools/vhf-guests.sh
stall_py=$top/usertools/vhf-stall.py
. "$top/usertools/vhf-wait.sh"

app= out= nguests=2 seconds=30 notify=fixed ring=mixed reverse=0 stop_on_stall=0
streams=20 window=256k mode=sleep mtu= napi_weight= mss2= backlog=32 udp= mem=256M
while [ $# -gt 0 ]; do
	case "$1" in
	--app) app=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--guests) nguests=$2; shift 2 ;;
	--seconds) seconds=$2; shift 2 ;;
	--notify) notify=$2; shift 2 ;;
	--ring) ring=$2; shift 2 ;;
	--reverse) reverse=1; shift ;;
	--stop-on-stall) stop_on_stall=1; shift ;;
	--streams) streams=$2; shift 2 ;;
	--window) window=$2; shift 2 ;;
	--mode) mode=$2; shift 2 ;;
	--mtu) mtu=$2; shift 2 ;;
	--napi-weight) napi_weight=$2; shift 2 ;;
	--mss2) mss2=$2; shift 2 ;;
	--backlog) backlog=$2; shift 2 ;;
	--udp) udp=$2; shift 2 ;;
	--mem) mem=$2; shift 2 ;;
	-h|--help) sed -n '4,48p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "vhf-seed-scenario: unknown option '$1'" >&2; exit 2 ;;
	esac
done
log() {
	echo "vhf-seed-scenario: $*" >&2
}
fail() {
	log "$*"
	exit 2
}
[ -x "$app" ] || fail "--app: no dpdk-vhostfix at '$app'"
[ -n "$out" ] || fail "--out DIR is required"
[ "$(id -u)" = 0 ] || fail "needs root"
mkdir -p "$out" || exit 2
out=$(cd "$out" && pwd)

ns=vhfs$$
prefix=vhfs$$
gdir=$out/guests
pids=()
made_ns=0

cleanup() {
	"$guests_sh" stop --dir "$gdir" 2>/dev/null
	vhf_stop_pids 10 "${pids[@]}"
	[ "$made_ns" = 1 ] && ip netns delete "$ns" 2>/dev/null
	rm -rf "/var/run/dpdk/$prefix" "$out"/vhost*.sock
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ip netns add "$ns" || fail "cannot create network namespace $ns"
made_ns=1
ip -n "$ns" link set lo up

# ---- the app: tap i <-> net_vhost i, one worker lcore per guest ------------
vdevs=() pairs= lcores="0@0"
ncpu=$(nproc)
for ((i = 0; i < nguests; i++)); do
	vdevs+=(--vdev "net_tap$i,iface=vs$$t$i")
done
for ((i = 0; i < nguests; i++)); do
	vh="net_vhost$i,iface=$out/vhost$i.sock"
	case "$ring" in
	packed) vh+=",packed=1" ;;
	mixed) [ $((i % 2)) = 1 ] && vh+=",packed=1" ;;
	esac
	vdevs+=(--vdev "$vh")
	pairs+="${pairs:+,}net_tap$i:net_vhost$i"
	lcores+=",$((i + 1))@(0-$((ncpu - 1)))"
done
app_mtu=()
# The app must accept frames of that size from the taps (RX scatter).
[ -n "$mtu" ] && app_mtu=(--mtu "$mtu")
ip netns exec "$ns" stdbuf -oL "$app" --lcores "$lcores" --no-huge -m 1024 --no-pci \
	--file-prefix="$prefix" "${vdevs[@]}" -- --mode "$mode" --notify "$notify" \
	--pairs "$pairs" --stats 5 --backlog "$backlog" "${app_mtu[@]}" >"$out/app.log" 2>&1 &
app_pid=$!
pids+=("$app_pid")
vhf_wait_for "$out/app.log" "dpdk-vhostfix: forwarding" 30 "$app_pid" || {
	tail -n 30 "$out/app.log" >&2
	fail "the app did not start"
}
for ((i = 0; i < nguests; i++)); do
	ip -n "$ns" addr add "10.0.$((i + 1)).1/24" dev "vs$$t$i" &&
		ip -n "$ns" link set "vs$$t$i" up || fail "cannot set up tap vs$$t$i"
done
log "app pid $app_pid: $mode mode, notify $notify, $nguests guest(s), ring $ring"

# ---- the guests --------------------------------------------------------------
gargs=()
for ((i = 0; i < nguests; i++)); do
	p=0
	[ "$ring" = packed ] && p=1
	[ "$ring" = mixed ] && p=$((i % 2))
	gargs+=(--guest "sock=$out/vhost$i.sock,ip=10.0.$((i + 1)).11/24,packed=$p,srv=5201:5202")
done
t0=$SECONDS
append=()
[ -n "$napi_weight" ] && append=(--append "virtio_net.napi_weight=$napi_weight")
"$guests_sh" start --dir "$gdir" "${gargs[@]}" --mem "$mem" --timeout $((120 + 30 * nguests)) "${append[@]}" ||
	fail "guests did not come up (logs in $gdir)"
log "$nguests guest(s) READY in $((SECONDS - t0)) s"
# The largest IP packet net_tap (DPDK 22.11) sends: its max_rx_pktlen is 1522,
# rte_eth_dev_set_mtu refuses above, and its tx drops frames over MTU + 22.
tap_tx_mtu=1500
if [ -n "$mtu" ]; then
	# Frames bigger than one guest RX buffer: the seed's "needs 5, has 3".
	for ((i = 0; i < nguests; i++)); do
		ip -n "$ns" link set "vs$$t$i" mtu "$mtu" || fail "tap MTU $mtu refused"
		"$guests_sh" exec --dir "$gdir" -g "$i" -- "ip link set eth0 mtu $mtu" >/dev/null ||
			fail "guest $i refused MTU $mtu"
		# The app counts a bigger frame to net_tap as drop-too-big: without this
		# route, -R data and the servers' closing results (2.7 kB for -P 20)
		# never reach the host, and the clients wait for them until stopped.
		[ "$mtu" -gt "$tap_tx_mtu" ] || continue
		"$guests_sh" exec --dir "$gdir" -g "$i" -- "ip route replace 10.0.$((i + 1)).0/24" \
			"dev eth0 mtu lock $tap_tx_mtu advmss $((mtu - 40))" >/dev/null ||
			fail "guest $i refused its route MTU $tap_tx_mtu"
	done
fi

# ---- ping, then iperf3 from the namespace --------------------------------------
ping_ok=1
for ((i = 0; i < nguests; i++)); do
	res=$(ip netns exec "$ns" ping -c 10 -i 0.2 -W 2 "10.0.$((i + 1)).11" 2>&1 |
		grep -o '[0-9.]*% packet loss')
	echo "ping guest $i: ${res:-no answer}" >>"$out/summary.txt"
	[ "$res" = "0% packet loss" ] || ping_ok=0
done

watch_args=()
for ((i = 0; i < nguests; i++)); do
	logs=
	for port in 5201 5202; do
		dir_flag= mss=
		[ "$reverse" = 1 ] && [ "$port" = 5202 ] && dir_flag=-R
		if [ -n "$udp" ]; then
			len=$(( ${mtu:-1500} - 28 ))
			[ "$port" = 5202 ] && len=${mss2:-500}
			mss="-u -b $udp -l $len"
		elif [ -n "$mss2" ] && [ "$port" = 5202 ]; then
			mss="-M $mss2"
		fi
		ip netns exec "$ns" iperf3 -c "10.0.$((i + 1)).11" -p "$port" -P "$streams" \
			-w "$window" -t "$seconds" -i 1 --forceflush -f m --connect-timeout 10000 \
			$dir_flag $mss >"$out/iperf-g$i-$port.log" 2>&1 &
		pids+=($!)
		# The detector reads the host -> guest TCP clients only.
		[ -z "$dir_flag" ] && [ -z "$udp" ] && logs+=":$out/iperf-g$i-$port.log"
	done
	watch_args+=(--guest "$i:net_vhost$i$logs")
done
stop_flag=
[ "$stop_on_stall" = 1 ] && stop_flag=--stop-on-stall
python3 "$stall_py" watch --file-prefix "$prefix" "${watch_args[@]}" --seconds $((seconds + 2)) \
	--parallel "$streams" --stall-s 2 --csv "$out/samples.csv" $stop_flag | tee "$out/detector.log"
det=${PIPESTATUS[0]}
# A stalled guest may only be slow (a busy host can stop a TCG vCPU for a
# while). A lost kick is a guest that is alive and idle while the app holds
# packets for it: it answers on its console and receives nothing.
if [ "$det" = 1 ]; then
	for g in $(awk '/^STALL guest/ { print $3 }' "$out/detector.log" | sort -u); do
		q="cat /sys/class/net/eth0/statistics/rx_packets"
		a=$("$guests_sh" exec --dir "$gdir" -g "$g" --timeout 20 -- "$q" 2>/dev/null)
		sleep 2
		b=$("$guests_sh" exec --dir "$gdir" -g "$g" --timeout 20 -- "$q" 2>/dev/null)
		if [ -n "$a" ] && [ "$a" = "$b" ]; then
			echo "CONFIRMED guest $g: answers on its console, rx_packets stays at $a over 2 s," \
				"while the app holds packets for it;" \
				$("$guests_sh" exec --dir "$gdir" -g "$g" --timeout 20 -- \
					"grep MemFree /proc/meminfo" 2>/dev/null)
			# One packet from the guest wakes the app's worker, which retries its
			# backlog: if that ends the stall, the guest's buffers were there all
			# along and only the kick was missing (not a guest out of buffers, nor
			# an interrupt the guest never got: it would still not take them).
			c=$("$guests_sh" exec --dir "$gdir" -g "$g" --timeout 20 -- \
				"ping -c 1 -W 2 10.0.$((g + 1)).1 >/dev/null; sleep 1; $q" 2>/dev/null)
			if [ -n "$c" ] && [ "$c" -gt "$b" ]; then
				echo "LOST-KICK guest $g: a ping from the guest woke the app, which then" \
					"found the guest's buffers: rx_packets $b -> $c"
			else
				echo "NOT-RESCUED guest $g: rx_packets '$b' -> '$c' after a ping from the guest"
			fi
		else
			echo "UNCONFIRMED guest $g: rx_packets '$a' then '$b' (busy or unreachable guest)"
		fi
	done | tee -a "$out/detector.log"
fi
# The datapath's own counters for each guest's RX queue (telemetry, while the
# app still runs): how often it waited for a kick, and how often the fixed
# algorithm's recheck caught a refill that raced with its request.
python3 - "$prefix" "$nguests" "$top/usertools/vhf-stats.py" >"$out/xstats.txt" 2>&1 <<'PY'
import importlib.util, sys
prefix, n, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
spec = importlib.util.spec_from_file_location("vhf_stats", path)
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
tel = mod.Telemetry(prefix)
keys = ("packets", "guest_buffers", "notify_enables", "kick_waits", "recheck_retries",
        "recheck_cap_hits", "guest_kicks")
for g in range(n):
    x = tel.query("/ethdev/xstats,%d" % (n + g)) or {}
    x = next(iter(x.values()), {}) if len(x) == 1 and isinstance(next(iter(x.values())), dict) else x
    print("guest %d RX virtqueue (PMD tx_q0): %s" % (g, " ".join("%s %s" % (k, x.get("tx_q0_" + k, "?"))
                                                 for k in keys)))
# What the app forwarded from each guest to its tap, and what it dropped (a
# frame the tap cannot send is drop_too_big): where guest -> host traffic went.
st = tel.query("/vhostfix/stats") or {}
for i in range(st.get("streams", 0)):
    s = st.get("stream%d" % i) or {}
    if s.get("from", "").startswith("net_vhost"):
        print("stream %s -> %s: %s" % (s["from"], s.get("to", "?"), " ".join(
            "%s %s" % (k, s.get(k, "?")) for k in ("rx", "tx", "drop_too_big", "drop_backlog_full",
                                                   "drop_broken"))))
tel.close()
PY

# iperf3 clients end on their own (-t) when the detector ran its full time;
# after a stall they may hang on, and with --stop-on-stall they have most of
# their -t still to go: stop them now rather than wait for either.
if [ "$det" = 0 ]; then
	for p in "${pids[@]:1}"; do
		vhf_wait_pid "$p" 10 || kill -TERM "$p" 2>/dev/null
	done
else
	vhf_stop_pids 10 "${pids[@]:1}"
fi

{
	echo "scenario: $nguests guest(s), ring $ring, notify $notify, $mode mode, ${seconds}s," \
		"iperf3 -P $streams -w $window x2 per guest$([ "$reverse" = 1 ] && echo ", second one -R")" \
		", backlog $backlog${udp:+, UDP at $udp per stream}${mtu:+, MTU $mtu}${napi_weight:+, guest napi_weight $napi_weight}${mss2:+, MSS $mss2 on the second}"
	grep -E "^(guest|stall detector|CONFIRMED|UNCONFIRMED|LOST-KICK|NOT-RESCUED)" "$out/detector.log"
	cat "$out/xstats.txt"
	# The receiver's mean rate over each client's test, or why there is none
	# (vhf-stall.py receiver: a client stopped by a signal prints zeros).
	for ((i = 0; i < nguests; i++)); do
		for port in 5201 5202; do
			dir="host -> guest"
			[ "$reverse" = 1 ] && [ "$port" = 5202 ] && dir="guest -> host"
			echo "iperf3 guest $i port $port ($dir): receiver" \
				"$(python3 "$stall_py" receiver "$out/iperf-g$i-$port.log")"
		done
	done
} >>"$out/summary.txt"
cat "$out/summary.txt"
# The app prints its final stats when it ends.
kill -TERM "$app_pid" 2>/dev/null
vhf_wait_pid "$app_pid" 10
[ "$ping_ok" = 1 ] || { log "ping lost packets"; exit 2; }
[ "$det" = 2 ] && exit 2
exit "$det"
