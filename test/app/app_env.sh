#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors
#
# Sourced by the test/app scripts: the TAP helpers and process bookkeeping of
# test/pmd/pmd_pair.sh (every process is stopped by PID at exit, the work
# directory and the EAL runtime directories removed), plus starting the app.
# Expects $app (dpdk-vhostfix) and $check (vhf_pmd_check) to be set.

. "$(dirname "${BASH_SOURCE[0]}")/../pmd/pmd_pair.sh"

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
app_prefix=${pair_prefix}A

# app_start LOG EAL_AND_APP_ARGS...: start dpdk-vhostfix (EAL lcore option
# $app_lcores: the main lcore on CPU 0, a worker on CPU 1 by default); sets app_pid.
app_lcores=(-l 0-1)
app_start() {
	local log=$1
	shift
	vhf_spawn "$log" stdbuf -oL "$app" "${app_lcores[@]}" --no-huge -m 512 --no-pci \
		--file-prefix="$app_prefix" "$@"
	app_pid=$vhf_spawn_pid
	pair_pids+=("$app_pid")
}

# app_vdevs DIR RING [DEVARGS]: sets v0 and v1, the app's two net_vhost ports
# on DIR/v0.sock and DIR/v1.sock, and p0 and p1, the virtio-user guests on
# them, all with DEVARGS (",queues=2") and the ring layout RING (split or packed).
app_vdevs() {
	v0="net_vhost0,iface=$1/v0.sock${3:-}"
	v1="net_vhost1,iface=$1/v1.sock${3:-}"
	p0="net_virtio_user0,path=$1/v0.sock${3:-}"
	p1="net_virtio_user1,path=$1/v1.sock${3:-}"
	if [ "$2" = packed ]; then
		v0+=",packed=1"; v1+=",packed=1"
		p0+=",packed_vq=1"; p1+=",packed_vq=1"
	fi
}

# app_up LOG: wait until the app forwards (or died).
app_up() {
	vhf_wait_for "$1" "dpdk-vhostfix: forwarding" 60 "$app_pid"
}

# app_stop: SIGTERM, and the exit status it ended with (0 expected).
app_stop() {
	local rc=124
	vhf_stop_pids 10 "$app_pid" && rc=$vhf_wait_status
	pair_forget "$app_pid"
	return "$rc"
}

# app_stat FIELD: a field of the app's telemetry /vhostfix/stats (a.b: b of a),
# for the app started with --file-prefix $app_tel_prefix (default $app_prefix).
app_stat() {
	"$top/usertools/vhf-stats.py" --file-prefix "${app_tel_prefix:-$app_prefix}" \
		--query /vhostfix/stats \
		--field "$1" 2>/dev/null
}

# app_stream_stat_ge PORT FIELD MIN: FIELD of the app's stream from PORT is at
# least MIN (paused, drop_backlog_full, tx...).
app_stream_stat_ge() {
	local i n v
	n=$(app_stat streams) || return 1
	for ((i = 0; i < n; i++)); do
		[ "$(app_stat "stream$i.from")" = "$1" ] || continue
		v=$(app_stat "stream$i.$2") && [ "$v" -ge "$3" ]
		return
	done
	return 1
}
