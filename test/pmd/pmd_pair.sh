#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors
#
# Sourced by the test/pmd scripts that run vhf_pmd_check pairs: TAP helpers
# (test/tap.sh), process bookkeeping (every process started is stopped by PID
# at exit), and start/wait helpers for one host (net_vhostfix) and one guest
# (net_virtio_user) process.

. "$(dirname "${BASH_SOURCE[0]}")/../tap.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../../usertools/vhf-wait.sh"

tap_diag_lines=${VHF_PMD_TEST_DIAG_LINES:-$tap_diag_lines}
pair_stats_py=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../usertools" && pwd)/vhf-stats.py

pair_pids=()
pair_work=
pair_rundir=/var/run/dpdk
pair_prefix=vhfchk$$

pair_cleanup() {
	vhf_stop_pids 5 "${pair_pids[@]}"
	pair_pids=()
	[ -n "$pair_work" ] && rm -rf "$pair_work"
	rm -rf "$pair_rundir/${pair_prefix}"*
}

# pair_init NCASES: TAP plan, root check, work directory, traps.
pair_init() {
	tap_plan "$1"
	if [ ! -x "$check" ]; then
		echo "Bail out! usage: $0 <vhf_pmd_check>"
		exit 1
	fi
	[ "$(id -u)" = 0 ] || tap_skip_rest "$1" "needs root"
	pair_work=$(mktemp -d /tmp/vhf-pmd-check.XXXXXX) || exit 1
	trap pair_cleanup EXIT
	trap 'exit 130' INT TERM
}

# pair_stop PID: SIGTERM (the app prints its RESULT), then insist.
pair_stop() {
	vhf_stop_pids 10 "$1"
}

# pair_forget PID: no longer ours to stop.
pair_forget() {
	local p keep=()
	for p in "${pair_pids[@]}"; do
		[ "$p" != "$1" ] && keep+=("$p")
	done
	pair_pids=("${keep[@]}")
}

# pair_vdevs SOCK RING [DEVARGS]: sets hargs and gargs, the --vdev of our side
# (net_vhostfix0) and of its peer (net_virtio_user0) on SOCK, both with DEVARGS
# (",queues=2") and the ring layout RING (split or packed).
pair_vdevs() {
	hargs="net_vhostfix0,iface=$1${3:-}"
	gargs="net_virtio_user0,path=$1${3:-}"
	if [ "$2" = packed ]; then
		hargs+=",packed=1"
		gargs+=",packed_vq=1"
	fi
}

# pair_start LOG CPU PREFIX VDEV APPARGS...: start one side; sets pair_pid.
# pair_eal_more, if set: more EAL arguments for it (split on spaces).
# Host and guest poll on different CPUs: sharing one, the pair advances
# once per scheduler time slice.
pair_start() {
	local log=$1 cpu=$2 prefix=$3 vdev=$4
	shift 4
	# Not a child of ours (vhf_spawn): a peer outlives many waits of this shell.
	vhf_spawn "$log" stdbuf -oL "$check" --lcores "0@$cpu" --no-huge -m 512 --no-pci \
		--file-prefix="$pair_prefix$prefix" --log-level='pmd.net.vhostfix*:info' \
		${pair_eal_more:-} --vdev "$vdev" -- "$@"
	pair_pid=$vhf_spawn_pid
	pair_pids+=("$pair_pid")
}

# pair_finish DIR HPID GPID HOST_SECONDS [GUEST_SECONDS]: wait for the RESULT
# lines of the host (HPID, DIR/host.log) and then of the guest (GPID,
# DIR/guest.log; GUEST_SECONDS, default 30, 0 for a guest that prints it only
# when stopped), stop both and set hres and gres to those lines.
pair_finish() {
	local dir=$1 hpid=$2 gpid=$3
	vhf_wait_for "$dir/host.log" "^RESULT" "$4" "$hpid"
	vhf_wait_for "$dir/guest.log" "^RESULT" "${5:-30}" "$gpid"
	pair_stop "$gpid"
	pair_stop "$hpid"
	pair_forget "$gpid"
	pair_forget "$hpid"
	hres=$(grep "^RESULT" "$dir/host.log")
	gres=$(grep "^RESULT" "$dir/guest.log")
}

# pair_field RESULT_LINE NAME: the number after NAME.
pair_field() {
	awk -v f="$2" '{ for (i = 1; i < NF; i++) if ($i == f) print $(i + 1) }' <<<"$1"
}

# pair_xstat LOG NAME: its value in LOG's XSTAT lines (vhf_pmd_check --xstats);
# 0 when absent: only non-zero ones are printed.
pair_xstat() {
	local v
	v=$(awk -v n="$2" '$1 == "XSTAT" && $2 == n { print $3 }' "$1")
	echo "${v:-0}"
}

# pair_progress LOG FIELD [N]: FIELD (rx|tx) of the last "progress rx R tx T ..."
# line of LOG (0 if none), or of the N-th (nothing if not printed yet).
pair_progress() {
	if [ ! -r "$1" ]; then
		[ -n "${3:-}" ] || echo 0
		return
	fi
	awk -v f="$2" -v n="${3:-0}" '/^progress/ {
			c++
			for (i = 2; i < NF; i += 2) if ($i == f) v = $(i + 1)
			if (c == n) { print v + 0; exit }
		}
		END { if (n == 0) print v + 0 }' "$1"
}

# pair_baseline LOG PID: "RX TX" of a progress line of LOG counted after now
# (two lines on: the next one may have been counted before and printed
# after); waits until it is printed.
pair_baseline() {
	local n
	n=$(($(vhf_count_lines "$1" "^progress") + 2))
	vhf_wait_count "$1" "^progress" "$n" 60 "$2" || return 1
	echo "$(pair_progress "$1" rx "$n") $(pair_progress "$1" tx "$n")"
}

# pair_moved LOG RX0 TX0 MIN: LOG's last counters are at least MIN past RX0/TX0.
pair_moved() {
	[ "$(pair_progress "$1" rx)" -ge $(($2 + $4)) ] &&
		[ "$(pair_progress "$1" tx)" -ge $(($3 + $4)) ]
}

# pair_stat PREFIX NAME: field NAME of the telemetry /vhf_pmd_check/stats of the
# side started with PREFIX (sleeps, guest_sleeps, in_guest_sleep, wakes, stalls).
pair_stat() {
	"$pair_stats_py" --file-prefix "$pair_prefix$1" --query /vhf_pmd_check/stats \
		--field "$2" 2>/dev/null
}

# pair_stat_ge PREFIX NAME MIN: that field is at least MIN.
pair_stat_ge() {
	local v
	v=$(pair_stat "$1" "$2") && [ "${v:-0}" -ge "$3" ]
}

# pair_diag LOG: a vhf_pmd_check log as TAP diag: its verdict lines first
# (RESULT, STALL, BAD, OUT OF ORDER, XSTAT, HOLD), then its end without the
# progress lines, which would fill it.
pair_diag() {
	grep -E "^(RESULT|STALL|BAD|OUT OF ORDER|XSTAT|HOLD|RESUME)" "$1" 2>/dev/null |
		head -n 40 | diag
	grep -v "^progress" "$1" 2>/dev/null | diag
}
