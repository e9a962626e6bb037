#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors
#
# After a live migration QEMU asks the back-end to announce a guest that cannot
# announce itself (no VIRTIO_NET_F_GUEST_ANNOUNCE): VHOST_USER_SEND_RARP with
# the guest's MAC. The port must then deliver, on rx queue 0, one broadcast
# RARP from that MAC (RFC 903, as QEMU and DPDK's vhost make it), so that the
# switch behind the port learns where the guest now is; count it
# (rx_q0_announce_rarp) and log it. A front-end that did not negotiate
# VHOST_USER_PROTOCOL_F_RARP gets nothing for the request.
#
# A guest that can announce itself is let do so: the port offers
# VIRTIO_NET_F_GUEST_ANNOUNCE (the front-end runs the exchange with the guest
# and then sends no SEND_RARP), and a front-end acking it is accepted.
#
# DPDK's virtio-user never sends SEND_RARP: the front-end is vhu_frontend.py
# (one ring pair, the guest idle), the host vhf_pmd_announce, which reports
# what rx queue 0 delivered when told to, after the front-end's requests
# have been answered: no verdict waits on time.
#
# Usage: test_announce.sh <vhf_pmd_announce>
# Prints TAP. Needs root.

set -u
prog=${1:-}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../tap.sh"
. "$here/../../usertools/vhf-wait.sh"
. "$here/announce_host.sh"

mac=52:54:00:12:34:56
mac_hex=525400123456
want_frame=$(announce_rarp_hex "$mac_hex")

tap_plan 6
if [ ! -x "$prog" ]; then
	echo "Bail out! usage: $0 <vhf_pmd_announce>"
	exit 1
fi
[ "$(id -u)" = 0 ] || tap_skip_rest 6 "needs root (EAL runtime directory, vhost-user sockets)"
command -v python3 >/dev/null || tap_skip_rest 6 "needs python3 (the test's vhost-user front-end)"
work=$(mktemp -d /tmp/vhf-announce.XXXXXX) || exit 1
prefix=vhfann$$
pids=()
cleanup() {
	vhf_stop_pids 5 "${pids[@]}"
	rm -rf "$work" "/var/run/dpdk/$prefix"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if ! announce_host_start "$prog" "$work/host.log" "$prefix" "$work/vhost.sock"; then
	pids+=("$announce_host_pid")
	not_ok "host port up"
	tap_skip_rest 6 "no host"
fi
host=$announce_host_pid
pids+=("$host")
ok "host port up, socket $work/vhost.sock"

# frontend LOG ARGS...: a front-end that stays connected once its requests are
# answered (DONE); sets fe.
frontend() {
	local log=$1
	shift
	: >"$log"
	python3 "$here/vhu_frontend.py" "$work/vhost.sock" "$@" >"$log" 2>&1 &
	fe=$!
	pids+=("$fe")
	vhf_wait_for "$log" "^DONE" 60 "$fe"
}

# round K: ask the host for its K-th report, wait for it; sets rep to it.
round() {
	kill -USR1 "$host"
	vhf_wait_for "$work/host.log" "^END $1\$" 60 "$host" || return 1
	rep=$(sed -n "/^ROUND $1 /,/^END $1\$/p" "$work/host.log")
}

xstat() {
	local v
	v=$(grep "^XSTAT $1 " <<<"$rep" | cut -d' ' -f3)
	echo "${v:-0}"
}

if ! frontend "$work/fe1.log" --rarp "$mac"; then
	not_ok "front-end with VHOST_USER_PROTOCOL_F_RARP connected and sent SEND_RARP"
	diag <"$work/fe1.log"
	diag <"$work/host.log"
	tap_skip_rest 6 "no front-end"
fi
pf=$(sed -n 's/.* protocol=\(0x[0-9a-f]*\).*/\1/p' "$work/fe1.log")
[ -n "$pf" ] && (((pf >> 2) & 1))
check $? "the port offers VHOST_USER_PROTOCOL_F_RARP and the front-end negotiated it ($pf)"

fail=
announced=
if ! round 1; then
	fail=" no report;"
else
	frames=$(grep -c "^FRAME " <<<"$rep")
	[ "$frames" = 1 ] || fail+=" $frames frames, not one;"
	frame=$(sed -n 's/^FRAME //p' <<<"$rep" | head -1)
	[ "$frame" = "$want_frame" ] || fail+=" frame $frame, want $want_frame;"
	announced=$(xstat rx_q0_announce_rarp)
	[ "$announced" = 1 ] || fail+=" rx_q0_announce_rarp $announced;"
fi
if [ -z "$fail" ]; then
	ok "SEND_RARP $mac: one RARP from $mac on rx queue 0, byte for byte, counted"
else
	not_ok "SEND_RARP $mac:$fail"
	diag <"$work/host.log"
fi
grep -q "front-end asks to announce the guest: RARP for $mac" "$work/host.log"
check $? "the request is logged with the MAC"

vhf_stop_pids 5 "$fe"
fail=
if ! frontend "$work/fe2.log" --no-rarp-feature --rarp 52:54:00:ab:cd:ef || ! round 2; then
	fail=" no front-end or no report;"
else
	frames=$(grep -c "^FRAME " <<<"$rep")
	[ "$frames" = 0 ] || fail+=" $frames frames;"
	[ "$(xstat rx_q0_announce_rarp)" = "${announced:-0}" ] || fail+=" rx_q0_announce_rarp moved;"
	grep -q "SEND_RARP without the RARP protocol feature: ignored" "$work/host.log" ||
		fail+=" not logged;"
fi
if [ -z "$fail" ]; then
	ok "SEND_RARP from a front-end without the RARP protocol feature: ignored, logged"
else
	not_ok "SEND_RARP without the protocol feature:$fail"
	diag <"$work/fe2.log"
	diag <"$work/host.log"
fi
vhf_stop_pids 5 "$fe"
fail=
if ! frontend "$work/fe3.log" --ack 21; then
	fail=" front-end did not get through;"
else
	offered=$(sed -n 's/.* offered=\(0x[0-9a-f]*\) .*/\1/p' "$work/fe3.log")
	features=$(sed -n 's/.* features=\(0x[0-9a-f]*\) .*/\1/p' "$work/fe3.log")
	(((offered >> 21) & 1)) || fail+=" not offered ($offered);"
	# The PMD logs the features of each guest that comes up: the last one is fe3's.
	up=$(grep -o "guest up (port 0, features 0x[0-9a-f]*" "$work/host.log" | tail -1)
	up=${up##* }
	[ -n "$features" ] && [ "$up" = "$features" ] && (((up >> 21) & 1)) ||
		fail+=" negotiated $features, device up with ${up:-none};"
fi
if [ -z "$fail" ]; then
	ok "VIRTIO_NET_F_GUEST_ANNOUNCE offered; a front-end acking it brings the device up ($up)"
else
	not_ok "GUEST_ANNOUNCE:$fail"
	diag <"$work/fe3.log"
	diag <"$work/host.log"
fi
[ "$tap_failed" -eq 0 ]
