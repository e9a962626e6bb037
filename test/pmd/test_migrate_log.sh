#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors
#
# Dirty logging end to end (issue 14): dpdk-testpmd sends frames to the guest
# through net_vhostfix (-d the driver, txonly) while vhu_migrate_log.py, in
# QEMU's place, turns VHOST_F_LOG_ALL on and off as a migration does and
# checks the shared log: the pages written while logging are marked, the
# used ring's too, nothing before or after. Each line of the script is a case.
#
# Usage: test_migrate_log.sh <librte_net_vhostfix.so>
# Prints TAP. Needs root.

set -u
so=${1:-}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../tap.sh"
. "$here/../../usertools/vhf-wait.sh"

ncases=11
tap_plan "$ncases"
if [ ! -r "$so" ]; then
	echo "Bail out! usage: $0 <librte_net_vhostfix.so>"
	exit 1
fi
[ "$(id -u)" = 0 ] || tap_skip_rest "$ncases" "needs root (EAL runtime directory, vhost-user sockets)"
command -v dpdk-testpmd >/dev/null || tap_skip_rest "$ncases" "needs dpdk-testpmd (dpdk package)"
command -v python3 >/dev/null || tap_skip_rest "$ncases" "needs python3 (the test's front-end)"
work=$(mktemp -d /tmp/vhf-migrate-log.XXXXXX) || exit 1
prefix=vhfmlog$$
pids=()
cleanup() {
	vhf_stop_pids 5 "${pids[@]}"
	rm -rf "$work" "/var/run/dpdk/$prefix"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

: >"$work/host.log"
stdbuf -oL dpdk-testpmd -l 0,1 --no-huge -m 512 --no-pci --file-prefix="$prefix" -d "$so" \
	--log-level='pmd.net.vhostfix*:info' --vdev "net_vhostfix0,iface=$work/vhost.sock" -- \
	--forward-mode=txonly --txpkts=64 --nb-cores=1 --total-num-mbufs=4096 --auto-start \
	--stats-period 3600 \
	>"$work/host.log" 2>&1 &
host=$!
pids+=("$host")
if ! vhf_wait_until 60 "$host" test -S "$work/vhost.sock"; then
	diag <"$work/host.log"
	tap_skip_rest "$ncases" "testpmd did not open $work/vhost.sock"
fi

python3 "$here/vhu_migrate_log.py" "$work/vhost.sock" >"$work/fe.log" 2>&1 &
fe=$!
pids+=("$fe")
vhf_wait_pid "$fe" 300 || kill -KILL "$fe"
n=0
while read -r verdict what; do
	case $verdict in
	ok) ok "$what" ;;
	FAIL) not_ok "$what" ;;
	*) continue ;;
	esac
	n=$((n + 1))
done <"$work/fe.log"
if [ "$n" -lt $((ncases - 1)) ] || [ "$vhf_wait_status" != 0 ]; then
	while [ "$n" -lt $((ncases - 1)) ]; do
		not_ok "front-end ended early (status $vhf_wait_status)"
		n=$((n + 1))
	done
	diag <"$work/fe.log"
	diag <"$work/host.log"
fi
grep -q "dirty logging on: migrating" "$work/host.log" &&
	grep -q "dirty logging off" "$work/host.log"
check $? "the port logged the switch on and off (INFO)"
[ "$tap_failed" -eq 0 ]
