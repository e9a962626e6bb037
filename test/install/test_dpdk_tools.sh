#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors
#
# DPDK's own operator tools on a net_vhostfix port, as on any DPDK port: a
# primary dpdk-testpmd with the plugin (-d) and hugepages (EAL's multi-process
# shares hugepage memory only), DPDK's virtio-user in a second testpmd as the
# guest (--no-huge), traffic both ways; then, while it forwards,
# dpdk-dumpcap captures frames both ways (a secondary process; the primary
# copies them through librte_pdump); then, forwarding stopped so that nothing
# moves, dpdk-proc-info --stats and --xstats (secondary processes) and
# dpdk-telemetry.py (answered by the primary) agree with the primary's own
# counters; and the primary still forwards after the secondaries are gone:
# they touched neither the rings nor the socket.
#
# Then the same capture with our app, dpdk-vhostfix, as the primary (it
# initialises pdump as testpmd does): its net_vhostfix0 port paired with a
# net_ring0 that loops back, the guest bouncing frames through both.
#
# Usage: test_dpdk_tools.sh <librte_net_vhostfix.so> <dpdk-vhostfix>
# Prints TAP. Needs root: it reserves 2 MB hugepages through /sys, mounts a
# hugetlbfs of its own, and gives both back at exit (SKIP when it cannot).

set -u
. "$(dirname "$0")/../tap.sh"
. "$(dirname "$0")/../testpmd.sh"
. "$(dirname "$0")/../../usertools/vhf-wait.sh"
. "$(dirname "$0")/../../usertools/vhf-hugepages.sh"

so=${1:-}
app=${2:-}
testpmd=${DPDK_TESTPMD:-dpdk-testpmd}
min_pkts=${VHF_PMD_TEST_MIN_PKTS:-1000}
wait_s=${VHF_PMD_TEST_WAIT_S:-60}
# Frames dumpcap captures before it stops on its own.
cap_frames=64
# 2 MB pages the primary may use: its mbufs (16384), dumpcap's ring and pool.
huge_pages=256

ncases=8
tap_plan $ncases
if [ -z "$so" ] || [ ! -f "$so" ] || [ ! -x "$app" ]; then
	echo "Bail out! usage: $0 <librte_net_vhostfix.so> <dpdk-vhostfix>"
	exit 1
fi
for t in "$testpmd" dpdk-proc-info dpdk-dumpcap dpdk-telemetry.py; do
	command -v "$t" >/dev/null || { echo "Bail out! $t not found (Debian package dpdk)"; exit 1; }
done
[ "$(id -u)" = 0 ] || tap_skip_rest $ncases "needs root (hugepages)"

# As in test_testpmd_virtio_user.sh: EAL refuses -d below a world-writable
# directory; the plugin goes to a root-owned one under /run.
plugdir=/run/vhostfix-tools.$$
hugedir=/run/vhostfix-huge.$$
rundir=/var/run/dpdk
host_prefix=vhfT$$
guest_prefix=vhfG$$
app_prefix=vhfP$$
tap_diag_lines=${VHF_PMD_TEST_DIAG_LINES:-$tap_diag_lines}
work=$(mktemp -d /tmp/vhf-tools-test.XXXXXX) || exit 1
pids=()

cleanup() {
	exec 3>&- 4>&- 2>/dev/null
	vhf_stop_pids 5 "${pids[@]}"
	pids=()
	vhf_huge_release
	rm -rf "$plugdir" "$work" "$rundir/$host_prefix" "$rundir/$guest_prefix" \
		"$rundir/$app_prefix"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

vhf_huge_reserve "$huge_pages" "$hugedir" || tap_skip_rest $ncases "$vhf_huge_error"

mkdir -m 0755 "$plugdir" || { echo "Bail out! cannot create $plugdir"; exit 1; }
cp "$so" "$plugdir/librte_net_vhostfix.so" || exit 1
plugin=$plugdir/librte_net_vhostfix.so
sock=$work/vhost.sock
hlog=$work/host.log
glog=$work/guest.log

# 1. Primary (hugepages) and guest, traffic both ways.
mkfifo "$work/host.in" "$work/guest.in"
stdbuf -oL "$testpmd" -l 0,1 --huge-dir "$hugedir" --no-pci --file-prefix="$host_prefix" \
	--log-level='pmd.net.vhostfix*:info' -d "$plugin" --vdev "net_vhostfix0,iface=$sock" \
	-- -i --port-topology=loop --total-num-mbufs=16384 \
	<"$work/host.in" >"$hlog" 2>&1 &
hpid=$!
pids+=("$hpid")
exec 3>"$work/host.in"
if ! vhf_wait_for "$hlog" "testpmd>" 60 "$hpid" || [ ! -S "$sock" ]; then
	not_ok "primary testpmd (hugepages, net_vhostfix) came up"
	diag <"$hlog"
	tap_skip_rest $ncases "no primary"
fi
stdbuf -oL "$testpmd" --lcores 0@1,1@0 --no-huge -m 512 --no-pci --file-prefix="$guest_prefix" \
	--vdev "net_virtio_user0,path=$sock,queues=1" \
	-- -i --port-topology=loop --total-num-mbufs=16384 \
	<"$work/guest.in" >"$glog" 2>&1 &
gpid=$!
pids+=("$gpid")
exec 4>"$work/guest.in"

hrx=0 htx=0 grx=0 gtx=0
if ! vhf_wait_for "$glog" "testpmd>" 60 "$gpid" || ! vhf_wait_for "$hlog" "guest up" 60 "$hpid"
then
	not_ok "the virtio-user guest attached to the primary"
	diag <"$hlog"
	diag <"$glog"
	tap_skip_rest $ncases "no primary"
fi
echo "start tx_first" >&3
echo "start tx_first" >&4
if vhf_wait_until "$wait_s" "$hpid" tp_pair_counted "$hlog" "$hpid" "$glog" "$gpid" \
	"$min_pkts"; then
	ok "primary with hugepages forwards: rx $hrx tx $htx, guest rx $grx tx $gtx"
else
	not_ok "primary: rx $hrx tx $htx, guest rx $grx tx $gtx (want >= $min_pkts each)"
	diag <"$hlog"
	diag <"$glog"
	tap_skip_rest $ncases "no traffic"
fi

# 2. dpdk-dumpcap takes no EAL options (no -d): the driver is preloaded, which
# registers it from its constructor as -d would. The primary fills dumpcap's
# mempool through its own table of mempool drivers, indexed in the order they
# registered: Debian's testpmd links some (librte_mempool_dpaa) where dumpcap
# loads them later from the driver directory, and the two tables differ.
# Preloading those first gives dumpcap testpmd's order (any primary and its
# secondaries need the same drivers in the same order; nothing of ours).
preload=$(ldd "$(command -v "$testpmd")" | awk '$1 ~ /^librte_mempool_/ { printf "%s ", $3 }')
cap=$work/capture.pcapng
LD_PRELOAD="$preload$plugin" timeout 60 dpdk-dumpcap --file-prefix "$host_prefix" -i net_vhostfix0 \
	-c "$cap_frames" -w "$cap" >"$work/dumpcap.log" 2>&1
rc=$?
# pcap_counts FILE: "FRAMES INBOUND OUTBOUND" of a pcapng. Every Enhanced
# Packet Block (type 6) is a frame; its epb_flags option (code 2) says inbound
# (1) or outbound (2).
pcap_counts() {
	python3 - "$1" <<'EOF' 2>&1
import os, struct, sys
data = open(sys.argv[1], 'rb').read() if os.path.exists(sys.argv[1]) else b''
off, n, dirs = 0, 0, {1: 0, 2: 0}
while off + 12 <= len(data):
    btype, blen = struct.unpack_from('<II', data, off)
    if blen < 12 or off + blen > len(data):
        sys.exit('truncated block at %d' % off)
    if btype == 6:
        n += 1
        caplen = struct.unpack_from('<I', data, off + 20)[0]
        opt = off + 28 + (caplen + 3) // 4 * 4
        while opt + 4 <= off + blen - 4:
            code, olen = struct.unpack_from('<HH', data, opt)
            if code == 0:
                break
            if code == 2 and olen == 4:
                d = struct.unpack_from('<I', data, opt + 4)[0] & 3
                dirs[d] = dirs.get(d, 0) + 1
            opt += 4 + (olen + 3) // 4 * 4
    off += blen
print(n, dirs[1], dirs[2])
EOF
}
counts=$(pcap_counts "$cap")
read -r nframes nin nout <<<"$counts"
if [ "$rc" -eq 0 ] && [ "${nframes:-0}" -eq "$cap_frames" ] && [ "${nin:-0}" -gt 0 ] &&
	[ "${nout:-0}" -gt 0 ]; then
	ok "dpdk-dumpcap -c $cap_frames: $nframes frames in the pcapng, $nin received, $nout sent"
else
	not_ok "dpdk-dumpcap: exit $rc, pcapng: ${counts:-nothing} (want $cap_frames frames, both ways)"
	diag <"$work/dumpcap.log"
	diag <"$hlog"
fi

# Stop forwarding on both sides: from here nothing moves, so every reader must
# see exactly the primary's numbers.
echo "stop" >&4
echo "stop" >&3
tp_show_stats 4 "$glog" "$gpid" 0 && tp_show_stats 3 "$hlog" "$hpid" 0 ||
	{ echo "Bail out! testpmd does not answer"; exit 1; }
read -r hrx htx < <(tp_port_stats "$hlog" 0)

# 3. proc-info --stats, a secondary process.
dpdk-proc-info --file-prefix="$host_prefix" --no-pci -d "$plugin" -- --stats \
	>"$work/stats.log" 2>&1
rc=$?
# Its port totals (not the "Stats reg N" lines below them).
read -r prx ptx < <(awk '$1 == "RX-packets:" { rx = $2 } $1 == "TX-packets:" { tx = $2 }
	END { print rx + 0, tx + 0 }' "$work/stats.log")
if [ "$rc" -eq 0 ] && [ "$prx" -gt 0 ] && [ "$prx" = "$hrx" ] && [ "$ptx" = "$htx" ]; then
	ok "dpdk-proc-info --stats: RX-packets $prx TX-packets $ptx, as the primary's"
else
	not_ok "dpdk-proc-info --stats: exit $rc, RX-packets $prx TX-packets $ptx;" \
		"the primary: $hrx $htx"
	diag <"$work/stats.log"
fi

# The primary's own view over telemetry: stats and xstats as JSON.
printf '%s\n' /ethdev/list /ethdev/stats,0 /ethdev/xstats,0 |
	timeout 30 dpdk-telemetry.py -f "$host_prefix" >"$work/telemetry.log" 2>&1
trc=$?

# 4. proc-info --xstats: every xstat as the primary gives it over telemetry.
dpdk-proc-info --file-prefix="$host_prefix" --no-pci -d "$plugin" -- --xstats \
	>"$work/xstats.log" 2>&1
rc=$?
xcmp=$(python3 - "$work/xstats.log" "$work/telemetry.log" <<'EOF' 2>&1
import json, re, sys
mine = {}
for line in open(sys.argv[1]):
    m = re.match(r'^([A-Za-z0-9_]+): ([0-9]+)$', line.strip())
    if m:
        mine[m.group(1)] = int(m.group(2))
prim = {}
for line in open(sys.argv[2]):
    try:
        j = json.loads(line)
    except ValueError:
        continue
    prim.update(j.get('/ethdev/xstats', {}))
diff = sorted(k for k in set(mine) | set(prim) if mine.get(k) != prim.get(k))
queue = [k for k in mine if re.match(r'^(rx|tx)_q0_packets$', k) and mine[k] > 0]
print(len(mine), len(queue), ' '.join('%s=%s/%s' % (k, mine.get(k), prim.get(k))
                                       for k in diff[:8]) or 'same')
EOF
)
read -r nx nq xdiff <<<"$xcmp"
if [ "$rc" -eq 0 ] && [ "${nx:-0}" -gt 0 ] && [ "${nq:-0}" -eq 2 ] && [ "$xdiff" = same ]; then
	ok "dpdk-proc-info --xstats: $nx xstats, rx_q0_packets and tx_q0_packets non-zero," \
		"each as the primary's"
else
	not_ok "dpdk-proc-info --xstats: exit $rc; $xcmp (count, queue packet counters" \
		"non-zero, differences secondary/primary)"
	diag <"$work/xstats.log"
	diag <"$work/telemetry.log"
fi

# 5. dpdk-telemetry.py: the port listed, its stats as testpmd's.
tcmp=$(python3 - "$work/telemetry.log" <<'EOF' 2>&1
import json, sys
got = {}
for line in open(sys.argv[1]):
    try:
        got.update(json.loads(line))
    except ValueError:
        pass
s = got.get('/ethdev/stats', {})
print(got.get('/ethdev/list'), s.get('ipackets'), s.get('opackets'),
      len(got.get('/ethdev/xstats', {})))
EOF
)
read -r tlist tin tout tnx <<<"$tcmp"
if [ "$trc" -eq 0 ] && [ "$tlist" = "[0]" ] && [ "$tin" = "$hrx" ] && [ "$tout" = "$htx" ] &&
	[ "${tnx:-0}" -gt 0 ]; then
	ok "dpdk-telemetry.py: /ethdev/list $tlist, stats ipackets $tin opackets $tout" \
		"as testpmd's, $tnx xstats"
else
	not_ok "dpdk-telemetry.py: exit $trc; list, ipackets, opackets, xstats: $tcmp;" \
		"testpmd: $hrx $htx"
	diag <"$work/telemetry.log"
fi

# 6. The secondaries left the primary's port as it was: it forwards again
# (new frames: testpmd's stop dropped those in flight).
echo "start tx_first" >&4
echo "start tx_first" >&3
base=$((hrx < htx ? hrx : htx))
if vhf_wait_until "$wait_s" "$hpid" tp_pair_counted "$hlog" "$hpid" "$glog" "$gpid" \
	$((base + min_pkts)); then
	ok "the primary forwards on after the secondaries: rx $hrx tx $htx"
else
	not_ok "the primary stopped forwarding after the secondaries: rx $hrx tx $htx"
	diag <"$hlog"
	diag <"$glog"
fi
echo "stop" >&4
echo "stop" >&3

# 7. Nothing went wrong on the primary's side (a secondary that reached for
# the rings or the socket would have left its mark there or crashed itself).
tp_stop "$gpid" 4
tp_stop "$hpid" 3
pids=()
bad=$(grep -iE "error|fail|broken" "$hlog" "$work/stats.log" "$work/xstats.log" \
	"$work/dumpcap.log" | grep -v "RX-errors\|TX-errors\|_errors\|err_\|drop_\|FAILED: 0" | head -n 5)
if [ -z "$bad" ]; then
	ok "no error in the logs of the primary, proc-info and dumpcap"
else
	not_ok "errors logged: $bad"
fi

# 8. Our app as the primary, with hugepages; dumpcap on its net_vhostfix0.
# The guest's frames go to net_ring0, which hands them back, and return to
# the guest: both directions on net_vhostfix0.
rm -f "$sock"
: >"$glog"
stdbuf -oL "$app" -l 0,1 --huge-dir "$hugedir" --no-pci --file-prefix="$app_prefix" \
	--log-level='pmd.net.vhostfix*:info' --vdev "net_vhostfix0,iface=$sock" --vdev net_ring0 \
	-- --pairs 0:1 >"$work/app.log" 2>&1 &
apid=$!
pids+=("$apid")
cap=$work/app-capture.pcapng
if vhf_wait_for "$work/app.log" "forwarding" 60 "$apid" && [ -S "$sock" ]; then
	mkfifo "$work/guest2.in"
	stdbuf -oL "$testpmd" --lcores 0@1,1@0 --no-huge -m 512 --no-pci \
		--file-prefix="$guest_prefix" --vdev "net_virtio_user0,path=$sock,queues=1" \
		-- -i --port-topology=loop --total-num-mbufs=16384 \
		<"$work/guest2.in" >"$glog" 2>&1 &
	gpid=$!
	pids+=("$gpid")
	exec 4>"$work/guest2.in"
	if vhf_wait_for "$glog" "testpmd>" 60 "$gpid" &&
		vhf_wait_for "$work/app.log" "guest up" 60 "$apid"; then
		echo "start tx_first" >&4
		LD_PRELOAD="$plugin" timeout 60 dpdk-dumpcap --file-prefix "$app_prefix" \
			-i net_vhostfix0 -c "$cap_frames" -w "$cap" >"$work/app-dumpcap.log" 2>&1
		rc=$?
		counts=$(pcap_counts "$cap")
		read -r nframes nin nout <<<"$counts"
		if [ "$rc" -eq 0 ] && [ "${nframes:-0}" -eq "$cap_frames" ] &&
			[ "${nin:-0}" -gt 0 ] && [ "${nout:-0}" -gt 0 ]; then
			ok "dpdk-vhostfix primary: dpdk-dumpcap -c $cap_frames: $nframes frames," \
				"$nin received, $nout sent"
		else
			not_ok "dpdk-vhostfix primary: dumpcap exit $rc, pcapng: ${counts:-nothing}" \
				"(want $cap_frames frames, both ways)"
			diag <"$work/app-dumpcap.log"
			diag <"$work/app.log"
		fi
		echo "stop" >&4
	else
		not_ok "dpdk-vhostfix primary: the virtio-user guest did not attach"
		diag <"$work/app.log"
		diag <"$glog"
	fi
	tp_stop "$gpid" 4
else
	not_ok "dpdk-vhostfix did not start with hugepages"
	diag <"$work/app.log"
fi
vhf_stop_pids 10 "$apid"
pids=()

[ "$tap_failed" -eq 0 ]
