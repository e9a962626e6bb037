#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors
#
# net_vhostfix as a port of a real Open vSwitch: Debian's DPDK build of
# ovs-vswitchd, private (usertools/vhf-ovs-private.sh: its own database, run
# directory and logs, no systemd, stopped by PID), with our plugin loaded
# through other_config:dpdk-extra. One netdev bridge, two ports, each with a
# DPDK virtio-user peer running vhf_pmd_check (test/pmd/):
#
#   peer A (virtio-user, server=1) <-> vu0: OVS's own dpdkvhostuserclient
#   peer B (virtio-user, client)   <-> vf0: type=dpdk, net_vhostfix0, added by
#                                       usertools/vhf-ovs-add-port.sh
#   OpenFlow: in_port=vu0 -> vf0 and in_port=vf0 -> vu0
#
# Both peers send numbered frames (64, 777 and 1514 bytes) and check every byte
# of every frame they receive (--mode soak: OVS may drop when a ring is full,
# so losses are allowed, alterations are not). Checked: DPDK initialised with
# the plugin loaded; the script's refusals; no Interface error and
# driver_name=net_vhostfix; traffic both ways; B killed under traffic and
# restarted; vf0 deleted under traffic and re-added several times; no
# growth of ovs-vswitchd's fds, threads, DPDK heap allocations or RSS over
# those re-adds; both peers' totals with no bad frame; ovs-vswitchd alive and
# answering at the end, then exiting cleanly (ovs-appctl exit --cleanup, which
# closes and removes the net_vhostfix device); nothing left behind.
#
# Usage: test_ovs_port.sh <librte_net_vhostfix.so> <vhf_pmd_check>
# Prints TAP. Needs root; installs usertools/packages/ovs.txt if OVS-DPDK is
# missing.

set -u
so=${1:-}
check=${2:-}
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
addport=$top/usertools/vhf-ovs-add-port.sh
. "$top/test/pmd/pmd_pair.sh"
. "$top/usertools/vhf-ovs-private.sh"
. "$here/ovs_lib.sh"

# Re-add cycles: the first one settles OVS's one-time allocations, the leak
# check compares after it with after the last.
cycles=${VHF_OVS_TEST_CYCLES:-10}
# Frames each direction must make after a (re)connect for traffic to count.
resume_min=${VHF_OVS_TEST_RESUME_MIN:-300}
# Bounds for the leak check, over cycles - 1 re-adds.
rss_slack_kb=${VHF_OVS_TEST_RSS_SLACK_KB:-8192}

ncases=10
# The peers live the whole test, which meson stops at 300 s: no longer.
peer=(--mode soak --seconds 300 --stall-ms 0 --pace-ms 1 --lens 64,777,1514)

cleanup() {
	pair_cleanup
	ovs_priv_stop
}

bail() {
	echo "Bail out! $*"
	exit 1
}

# wait_rx LOG PID FROM SECONDS: the peer's rx counter reaches FROM + resume_min.
wait_rx() {
	vhf_wait_until "$4" "$2" rx_past "$1" $(($3 + resume_min))
}

# rx_past LOG N: the last progress line of LOG counts at least N received.
rx_past() {
	[ "$(pair_progress "$1" rx)" -ge "$2" ]
}

# iface COLUMN[:KEY]: one column of Interface vf0 (quotes removed).
iface() {
	ovs-vsctl --timeout=10 --if-exists get Interface "${2:-vf0}" "$1" 2>/dev/null | tr -d '"'
}

# wait_link PORT STATE SECONDS
wait_link() {
	vhf_wait_until "$3" "" link_is "$1" "$2"
}

link_is() {
	[ "$(iface link_state "$1")" = "$2" ]
}

# snapshot_once: what a leak would grow in ovs-vswitchd, one "KEY COUNT" line
# each: threads by name, open fds by what they point to (socket, pipe, eventfd,
# a file's path: inode numbers dropped), the DPDK heap's allocation count.
snapshot_once() {
	local pid=$ovs_priv_vs_pid f
	{
		sed 's/^/thread:/' /proc/"$pid"/task/*/comm 2>/dev/null
		for f in /proc/"$pid"/fd/*; do
			readlink "$f" 2>/dev/null
		done | sed -e 's/^\([a-z_]*\):\[[0-9]*\]$/\1/' -e 's/^/fd:/'
	} | tr ' ' '_' | sort | uniq -c | awk '{ print $2, $1 }'
	ovs-appctl --timeout=10 -t ovs-vswitchd dpdk/get-malloc-stats |
		awk -F: '/Alloc_count/ { c += $2 } END { print "heap_allocations", c + 0 }'
}

# snapshot FILE: once ovs-vswitchd has settled (two looks a second apart agree:
# a thread or fd being created or torn down is not counted), into FILE, with
# "rss_kb N" last.
snapshot() {
	local k prev= cur
	for ((k = 0; k < 30; k++)); do
		cur=$(snapshot_once)
		[ -n "$prev" ] && [ "$cur" = "$prev" ] && break
		prev=$cur
		sleep 1
	done
	{
		echo "$cur"
		echo "rss_kb $(awk '/^VmRSS/ { print $2 }' /proc/"$ovs_priv_vs_pid"/status)"
	} >"$1"
}

# grown BEFORE AFTER: every key that counts more after than before, "key a->b";
# RSS only past rss_slack_kb.
grown() {
	awk -v slack="$rss_slack_kb" '
		NR == FNR { before[$1] = $2; next }
		$1 == "rss_kb" { if ($2 - before[$1] > slack) printf "%s %d->%d; ", $1, before[$1], $2; next }
		$2 > before[$1] + 0 { printf "%s %d->%d; ", $1, before[$1], $2 }' "$1" "$2"
}

# start_a / start_b: the peers. A is virtio-user in server mode (OVS's
# vhostuserclient connects to it), B a virtio-user client of net_vhostfix.
a_pid= b_pid= b_n=0 b_log=
start_a() {
	pair_start "$pair_work/a.log" 0 A "net_virtio_user0,path=$pair_work/vu0.sock,server=1" \
		--role host "${peer[@]}"
	a_pid=$pair_pid
}
start_b() {
	b_n=$((b_n + 1))
	b_log=$pair_work/b.$b_n.log
	pair_start "$b_log" 1 "B$b_n" "net_virtio_user0,path=$OVS_RUNDIR/vf0.sock" --role guest \
		"${peer[@]}"
	b_pid=$pair_pid
}
# stop_b: SIGTERM; B must end with RESULT ok (no bad frame in what it got).
stop_b() {
	pair_stop "$b_pid"
	pair_forget "$b_pid"
	b_res=$(grep '^RESULT' "$b_log")
	[[ "$b_res" == "RESULT ok"* ]]
}
b_res=
b_total_rx=0

# traffic_resumed WHAT A_RX0: B receives (A -> OVS -> net_vhostfix -> B) and
# A receives B's frames again (B -> net_vhostfix -> OVS -> A).
traffic_resumed() {
	if ! wait_rx "$b_log" "$b_pid" 0 20; then
		echo "# $1: peer B received $(pair_progress "$b_log" rx) frames"
		return 1
	fi
	if ! wait_rx "$pair_work/a.log" "$a_pid" "$2" 20; then
		echo "# $1: peer A received" \
			"$(($(pair_progress "$pair_work/a.log" rx) - $2)) of B's frames"
		return 1
	fi
	return 0
}

add_vf0() {
	"$addport" --ofport 2 br0 vf0 "$OVS_RUNDIR/vf0.sock" >"$pair_work/addport.log" 2>&1
}

# --------------------------------------------------------------------------

echo "1..$ncases"
[ -f "$so" ] && [ -x "$check" ] || bail "usage: $0 <librte_net_vhostfix.so> <vhf_pmd_check>"
[ "$(id -u)" = 0 ] || tap_skip_rest "$ncases" "needs root"
pair_work=$(mktemp -d /tmp/vhf-ovs-test.XXXXXX) || exit 1
trap cleanup EXIT
trap 'exit 130' INT TERM

ovs_need "$ncases" "$pair_work/apt.log"

# 1. DPDK up, with our plugin.
if ! ovs_priv_start "/run/vhf-ovs-test.$$" "$so"; then
	not_ok "private ovs-vswitchd with DPDK did not start"
	diag <"/run/vhf-ovs-test.$$/ovs-vswitchd.log"
	exit 1
fi
dpdk_version=$(ovs-vsctl get Open_vSwitch . dpdk_version | tr -d '"')
if grep -q "$ovs_priv_plugin" "/proc/$ovs_priv_vs_pid/maps"; then
	ok "private $(basename "$(ovs_priv_find_vswitchd)") (pid $ovs_priv_vs_pid):" \
		"dpdk_initialized, $dpdk_version, librte_net_vhostfix.so loaded through dpdk-extra"
else
	not_ok "ovs-vswitchd initialised DPDK but did not load $ovs_priv_plugin"
	diag <"$OVS_RUNDIR/ovs-vswitchd.log"
	exit 1
fi

ovs-vsctl --timeout=10 add-br br0 -- set Bridge br0 datapath_type=netdev ||
	bail "cannot add the netdev bridge"

# 2. The script's refusals: nothing may be added by any of them.
fails=()
expect_rc() {
	local want=$1 out rc
	shift
	out=$("$addport" "$@" 2>&1)
	rc=$?
	if [ "$rc" != "$want" ]; then
		fails+=("'$*' exited $rc, not $want: $out")
	elif [ -z "$out" ]; then
		fails+=("'$*' exited $rc without a word")
	fi
}
expect_rc 2
expect_rc 2 br0 vf0
expect_rc 2 --bogus br0 vf0 "$OVS_RUNDIR/vf0.sock"
expect_rc 2 br0 vf0 vf0.sock
expect_rc 2 nosuchbr vf0 "$OVS_RUNDIR/vf0.sock"
expect_rc 2 --devname net_vhost0 br0 vf0 "$OVS_RUNDIR/vf0.sock"
expect_rc 2 --devargs iface=/x br0 vf0 "$OVS_RUNDIR/vf0.sock"
expect_rc 2 br0 vf0 /nonexistent/dir/vf0.sock
# A bad devarg value gets as far as OVS: the port fails and is taken out again.
expect_rc 3 --devargs queues=99 br0 vf0 "$OVS_RUNDIR/vf0.sock"
# dpdk-extra without the plugin: says what to set, adds nothing.
saved_extra=$(ovs-vsctl get Open_vSwitch . other_config:dpdk-extra)
ovs-vsctl set Open_vSwitch . other_config:dpdk-extra="--no-huge --legacy-mem -m 1024 --no-pci"
expect_rc 1 br0 vf0 "$OVS_RUNDIR/vf0.sock"
grep -q 'other_config:dpdk-extra=.*-d .*librte_net_vhostfix.so' <<<"$("$addport" br0 vf0 \
	"$OVS_RUNDIR/vf0.sock" 2>&1)" || fails+=("no dpdk-extra to set was suggested")
ovs-vsctl set Open_vSwitch . other_config:dpdk-extra="$saved_extra"
leftover=$(ovs-vsctl list-ports br0)
[ -z "$leftover" ] || fails+=("ports left on br0: $leftover")
if [ ${#fails[@]} -eq 0 ]; then
	ok "vhf-ovs-add-port.sh: bad arguments exit 2, a failing port 3 (removed again)," \
		"dpdk-extra without the plugin 1 with the setting to make; br0 still empty"
else
	not_ok "vhf-ovs-add-port.sh refusals"
	printf '%s\n' "${fails[@]}" | diag
fi
# The failing port above logged its errors; from here on the log must have none.
log_mark=$(wc -l <"$OVS_RUNDIR/ovs-vswitchd.log")

# 3. The two ports.
start_a
ovs-vsctl --timeout=10 add-port br0 vu0 -- set Interface vu0 type=dpdkvhostuserclient \
	"options:vhost-server-path=$pair_work/vu0.sock" ofport_request=1
if add_vf0 && [ "$(iface error vu0)" = "[]" ] && [ "$(iface error)" = "[]" ] &&
	[ "$(iface status:driver_name)" = net_vhostfix ]; then
	ok "vu0 (dpdkvhostuserclient) and vf0 ($(iface options:dpdk-devargs)) on br0: no" \
		"Interface error, vf0 status:driver_name=net_vhostfix"
else
	not_ok "ports: vu0 error '$(iface error vu0)', vf0 error '$(iface error)'" \
		"driver_name '$(iface status:driver_name)'"
	diag <"$pair_work/addport.log"
	diag <"$OVS_RUNDIR/ovs-vswitchd.log"
fi
ovs-ofctl del-flows br0 &&
	ovs-ofctl add-flow br0 in_port=1,actions=output:2 &&
	ovs-ofctl add-flow br0 in_port=2,actions=output:1 || bail "cannot set the flows"

# 4. Traffic both ways.
start_b
if traffic_resumed "first connection" 0 && wait_link vf0 up 5; then
	# OVS's own counters for vf0 (the Interface statistics column lags by seconds).
	stats=$(ovs-ofctl dump-ports br0 2 | tr -s ' ,' ' ' | grep -o '[rt]x pkts=[0-9]*' |
		tr '\n' ' ')
	ok "traffic both ways through OVS, every byte checked: B got" \
		"$(pair_progress "$b_log" rx), A got $(pair_progress "$pair_work/a.log" rx)" \
		"frames, bad 0; vf0 link up, OpenFlow port 2: ${stats% }"
else
	not_ok "traffic through OVS: vf0 link $(iface link_state)"
	diag <"$b_log"
	diag <"$pair_work/a.log"
	diag <"$OVS_RUNDIR/ovs-vswitchd.log"
fi

# 5. B killed under traffic (no goodbye on the socket), restarted.
kill -KILL "$b_pid" 2>/dev/null
vhf_wait_pid "$b_pid" 10
pair_forget "$b_pid"
b_total_rx=$((b_total_rx + $(pair_progress "$b_log" rx)))
if wait_link vf0 down 5; then
	link_went=down
else
	link_went="still $(iface link_state)"
fi
a_rx0=$(pair_progress "$pair_work/a.log" rx)
start_b
if [ "$link_went" = down ] && traffic_resumed "after the kill" "$a_rx0" && wait_link vf0 up 5 &&
	[ "$(pair_progress "$b_log" bad)" = 0 ]; then
	ok "B killed (SIGKILL) under traffic: vf0 link went down; B restarted: link up, traffic" \
		"resumed both ways"
else
	not_ok "B killed and restarted: link after the kill $link_went, now $(iface link_state)"
	diag <"$b_log"
	diag <"$OVS_RUNDIR/ovs-vswitchd.log"
fi

# 6. vf0 deleted while B is connected and sending, re-added, B restarted.
fails=()
snap0=
for ((c = 1; c <= cycles; c++)); do
	ovs-vsctl --timeout=20 del-port br0 vf0 || { fails+=("cycle $c: del-port failed"); break; }
	vhf_wait_until 5 "" test ! -e "$OVS_RUNDIR/vf0.sock"
	[ -e "$OVS_RUNDIR/vf0.sock" ] && fails+=("cycle $c: vf0.sock still there after del-port")
	ovs_priv_alive || { fails+=("cycle $c: ovs-vswitchd died on del-port"); break; }
	b_total_rx=$((b_total_rx + $(pair_progress "$b_log" rx)))
	stop_b || fails+=("cycle $c: B ended with ${b_res:-no result}")
	if ! add_vf0; then
		fails+=("cycle $c: re-add failed: $(cat "$pair_work/addport.log")")
		break
	fi
	a_rx0=$(pair_progress "$pair_work/a.log" rx)
	start_b
	if ! traffic_resumed "cycle $c" "$a_rx0"; then
		fails+=("cycle $c: traffic did not resume")
		break
	fi
	[ "$c" = 1 ] && snapshot "$pair_work/snap0.txt" && snap0=$pair_work/snap0.txt
done
snap1=$pair_work/snap1.txt
snapshot "$snap1"
if [ ${#fails[@]} -eq 0 ]; then
	ok "vf0 deleted under traffic and re-added $cycles times with vhf-ovs-add-port.sh: socket" \
		"gone on delete, driver_name verified on add, traffic resumed both ways each time"
else
	not_ok "delete/re-add cycles"
	printf '%s\n' "${fails[@]}" | diag
	diag <"$b_log"
	diag <"$OVS_RUNDIR/ovs-vswitchd.log"
fi

# 7. Leak check, after the first re-add vs after the last (both with B
# connected and sending, each once ovs-vswitchd has settled): threads by name,
# fds by target, the DPDK heap's allocation count no more than before, RSS
# within rss_slack_kb. "No more", not "equal": a leak only ever adds.
if [ -n "$snap0" ]; then
	grew=$(grown "$snap0" "$snap1")
	totals() {
		awk '/^thread:/ { t += $2 } /^fd:/ { f += $2 } /^heap_allocations/ { h = $2 }
			/^rss_kb/ { r = $2 } END { printf "threads %d, fds %d, heap allocations %d, RSS %d kB", t, f, h, r }' "$1"
	}
	what="$(totals "$snap0") -> $(totals "$snap1")"
fi
if [ -n "$snap0" ] && [ -z "$grew" ]; then
	ok "no growth in ovs-vswitchd over $((cycles - 1)) re-adds (threads by name, fds by" \
		"target, heap allocations; settled): $what"
else
	not_ok "ovs-vswitchd grew over $((cycles - 1)) re-adds: ${grew:-no first snapshot}" \
		"(RSS slack $rss_slack_kb kB)"
	[ -n "$snap0" ] && diff "$snap0" "$snap1" | diag
fi

# 8. Both peers' totals: every frame either got was intact.
b_total_rx=$((b_total_rx + $(pair_progress "$b_log" rx)))
stop_b
pair_stop "$a_pid"
pair_forget "$a_pid"
a_res=$(grep '^RESULT' "$pair_work/a.log")
if [[ "$a_res" == "RESULT ok"* ]] && [[ "$b_res" == "RESULT ok"* ]]; then
	ok "peer A over the whole run: ${a_res#RESULT ok role host }; the B peers received" \
		"$b_total_rx frames, none bad"
else
	not_ok "peers: A ${a_res:-no result}; last B ${b_res:-no result}"
	diag <"$pair_work/a.log"
	diag <"$b_log"
fi

# 9. ovs-vswitchd alive and answering, no error in its log, then a clean exit
# that closes and removes the net_vhostfix device.
errs=$(tail -n +$((log_mark + 1)) "$OVS_RUNDIR/ovs-vswitchd.log" | grep -E '\|(ERR|EMER)\|')
alive=no
ovs_priv_alive && alive=yes
vs_pid=$ovs_priv_vs_pid
ovs-appctl --timeout=10 -t ovs-vswitchd exit --cleanup >/dev/null 2>&1
if vhf_wait_pid "$vs_pid" 20; then
	how="exit $vhf_wait_status"
else
	how="still running 20 s after 'exit --cleanup'"
fi
if [ "$alive" = yes ] && [ -z "$errs" ] && [ "$how" = "exit 0" ]; then
	ok "ovs-vswitchd alive and answering at the end, no ERR in its log since case 2;" \
		"'ovs-appctl exit --cleanup' ended it with status 0"
	ovs_priv_vs_pid=
else
	not_ok "ovs-vswitchd at the end: alive $alive, $how"
	[ -n "$errs" ] && diag <<<"$errs"
	diag <"$OVS_RUNDIR/ovs-vswitchd.log"
fi

# 10. Nothing left: every process of ours gone, sockets and EAL runtime
# directories removed.
pids=("$vs_pid" "$ovs_priv_db_pid" "$a_pid" "$b_pid")
rundir=$OVS_RUNDIR
cleanup
trap - EXIT
left=()
for p in "${pids[@]}"; do
	[ -n "$p" ] && kill -0 "$p" 2>/dev/null && left+=("pid $p")
done
for d in "$rundir" "$pair_work" /var/run/dpdk/"$ovs_priv_prefix" /var/run/dpdk/"$pair_prefix"*; do
	[ -e "$d" ] && left+=("$d")
done
if [ ${#left[@]} -eq 0 ]; then
	ok "teardown: ovs-vswitchd, ovsdb-server and the peers gone; run directory, sockets and" \
		"EAL runtime directories removed"
else
	not_ok "left behind: ${left[*]}"
fi
[ "$tap_failed" -eq 0 ]
