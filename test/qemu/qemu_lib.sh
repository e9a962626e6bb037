#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors
#
# Sourced by the test/qemu scripts: TAP helpers (test/tap.sh), the checks that
# decide between running and skipping, and bookkeeping so that every process a
# test starts (dpdk-testpmd, the app, QEMU guests) is stopped by PID and every
# socket and temporary file removed, whatever way the test ends.
#
# The caller sets `guests` (usertools/vhf-guests.sh) before sourcing.

. "$(dirname "${BASH_SOURCE[0]}")/../tap.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../testpmd.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../../usertools/vhf-wait.sh"

tap_diag_lines=${VHF_QEMU_TEST_DIAG_LINES:-${VHF_TEST_DIAG_LINES:-40}}

q_work=
q_plugdir=
q_pids=()
q_guest_dirs=()
q_prefixes=()
q_fds=()

q_cleanup() {
	local d fd
	for d in "${q_guest_dirs[@]}"; do
		"$guests" stop --dir "$d" 2>/dev/null
	done
	for fd in "${q_fds[@]}"; do
		eval "exec $fd>&-" 2>/dev/null
	done
	vhf_stop_pids 10 "${q_pids[@]}"
	for d in "${q_prefixes[@]}"; do
		rm -rf "/var/run/dpdk/$d"
	done
	[ -n "$q_plugdir" ] && rm -rf "$q_plugdir"
	if [ -n "$q_work" ]; then
		if [ "${VHF_QEMU_TEST_KEEP:-0}" = 1 ]; then
			echo "# kept $q_work" >&2
		else
			rm -rf "$q_work"
		fi
	fi
}

# q_init NCASES: TAP plan, the checks that may skip the whole test, work
# directory and traps. A missing package is a skip only where it cannot be
# installed (not root); QEMU is in usertools/packages/qemu.txt.
q_init() {
	local n=$1 tool
	tap_plan "$n"
	[ "$(id -u)" = 0 ] || tap_skip_rest "$n" "needs root (vhost-user sockets, /run plugin copy)"
	for tool in qemu-system-x86_64 dpdk-testpmd iperf3 busybox python3; do
		command -v "$tool" >/dev/null ||
			tap_skip_rest "$n" "$tool not found (usertools/vhf-setup.sh installs it)"
	done
	q_work=$(mktemp -d /tmp/vhf-qemu-test.XXXXXX) || exit 1
	trap q_cleanup EXIT
	trap 'exit 130' INT TERM
	# The first run fetches the Debian cloud kernel: without the network and
	# without a cached image there is no guest to boot.
	if ! "$(dirname "$guests")/vhf-guest-image.sh" >"$q_work/image.out" 2>"$q_work/image.err"; then
		diag <"$q_work/image.err"
		# The script's own last word, or the fact that it gave none.
		why=$(tail -n 1 "$q_work/image.err")
		tap_skip_rest "$n" "no guest image (${why:-vhf-guest-image.sh failed without a message})"
	fi
}

# q_plugin SO: sets `plugin` to a copy of the PMD in a root-owned 0755
# directory, which EAL accepts for -d (it refuses anything under a
# world-writable one like /tmp). Not in a $(...): the cleanup needs q_plugdir.
q_plugin() {
	q_plugdir=/run/vhostfix-qemu-test.$$
	mkdir -m 0755 "$q_plugdir" || return 1
	cp "$1" "$q_plugdir/librte_net_vhostfix.so" || return 1
	plugin=$q_plugdir/librte_net_vhostfix.so
}

# q_testpmd NAME FD PLUGIN EAL_AND_APP_ARGS...: start an interactive
# dpdk-testpmd fed from a FIFO on file descriptor FD (3..9); sets tp_pid and
# tp_log. True once it shows its prompt.
q_testpmd() {
	local name=$1 fd=$2 plugin=$3 prefix=vhfq$$$1
	shift 3
	tp_log=$q_work/$name.log
	mkfifo "$q_work/$name.in"
	: >"$tp_log" # now, not when the job starts (see pair_start)
	q_prefixes+=("$prefix")
	stdbuf -oL dpdk-testpmd --no-huge -m 512 --no-pci --file-prefix="$prefix" \
		--log-level='pmd.net.vhostfix*:info' -d "$plugin" "$@" \
		<"$q_work/$name.in" >"$tp_log" 2>&1 &
	tp_pid=$!
	q_pids+=("$tp_pid")
	eval "exec $fd>\"\$q_work/\$name.in\""
	q_fds+=("$fd")
	vhf_wait_for "$tp_log" "testpmd>" 30 "$tp_pid"
}

# q_guests NAME LAUNCHER_START_ARGS...: start guests in $q_work/NAME; sets gdir.
q_guests() {
	gdir=$q_work/$1
	shift
	q_guest_dirs+=("$gdir")
	"$guests" start --dir "$gdir" "$@" 2>"$gdir.start.log"
}

# q_guest_logs DIR I: the end of guest I's QEMU and console logs, as TAP diag.
q_guest_logs() {
	echo "guest $2 qemu log:" | diag
	diag <"$1/guest$2.qemu.log"
	echo "guest $2 console:" | diag
	diag <"$1/guest$2.console.log"
}

# q_guests_failed NAME N: the guests in $gdir did not come up: a failed case
# NAME, the start, QEMU and console logs of guests 0 and 1 and testpmd's log
# as diag, then the N cases that needed them failed too.
q_guests_failed() {
	local i
	not_ok "$1: guests did not come up"
	diag <"$gdir.start.log"
	q_guest_logs "$gdir" 0
	q_guest_logs "$gdir" 1
	diag <"$tp_log"
	for ((i = 0; i < $2; i++)); do not_ok "$1: no guests"; done
}

# q_ping_loss OUTPUT: the packet loss percentage busybox ping printed, or 100.
q_ping_loss() {
	local loss
	loss=$(sed -n 's/.* \([0-9.]*\)% packet loss.*/\1/p' <<<"$1" | tail -n 1)
	echo "${loss:-100}"
}
