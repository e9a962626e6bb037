#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors
#
# Sourced by the scripts that start processes (tests, the demo): waiting for
# an event itself rather than sleeping a while and hoping it happened: a
# process's exit, a line in its log, any condition a command can test, a
# thread asleep in the kernel. Every wait has a timeout, meant to be reached
# only when the event will never come; a process whose death means the event
# cannot come any more ends the wait early.

# vhf_wait_until SECONDS PID COMMAND...: true once COMMAND succeeds; false
# after SECONDS, or once PID (unless empty) has exited and COMMAND still fails.
# SECONDS is wall-clock time: a slow COMMAND (a telemetry query on a loaded
# machine takes a second) does not stretch it.
vhf_wait_until() {
	local deadline=$((${EPOCHREALTIME//[!0-9]/} + $1 * 1000000)) pid=$2
	shift 2
	while :; do
		"$@" && return 0
		if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
			"$@"
			return
		fi
		[ "${EPOCHREALTIME//[!0-9]/}" -lt "$deadline" ] || return 1
		vhf_pause 0.1
	done
}

# vhf_pause SECONDS: wait that long without starting a process (a timed read
# on a pipe we hold both ends of, opened when this file is sourced, so that
# subshells share it). Not `sleep`: on this project's CI kernel, a shell
# blocked in wait4() for a foreground `sleep` was seen to miss that child's
# exit when a background child (a stopped DPDK process) ended at the same
# moment, and stay blocked, the `sleep` a zombie, until another child ended
# ten minutes later. With no child in the pause, a wait on a
# process's exit (vhf_wait_pid) starts no process at all.
[ -n "${vhf_pause_fd:-}" ] || exec {vhf_pause_fd}<> <(:)
vhf_pause() {
	read -r -t "$1" -u "$vhf_pause_fd" _ || :
}

# vhf_wait_pid PID SECONDS: true once PID has exited. A child of ours is
# reaped and its exit status left in vhf_wait_status.
vhf_wait_status=
vhf_wait_pid() {
	if vhf_wait_until "$2" "" vhf_pid_gone "$1"; then
		wait "$1" 2>/dev/null
		vhf_wait_status=$?
		return 0
	fi
	return 1
}

# vhf_stop_pids SECONDS PID...: SIGTERM to every PID at once, then SIGKILL to
# any still there SECONDS later (each waited for in turn); children of ours are
# reaped. False when one needed SIGKILL; stopping one PID that ended on
# SIGTERM, its exit status is in vhf_wait_status.
vhf_stop_pids() {
	local secs=$1 pid rc=0
	shift
	for pid in "$@"; do
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in "$@"; do
		vhf_wait_pid "$pid" "$secs" && continue
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		rc=1
	done
	return "$rc"
}

vhf_pid_gone() {
	! kill -0 "$1" 2>/dev/null
}

# vhf_wait_for FILE PATTERN SECONDS PID: true once PATTERN shows up in FILE;
# false after SECONDS, or once PID has exited without printing it.
vhf_wait_for() {
	vhf_wait_until "$3" "$4" vhf_has_line "$1" "$2"
}

# vhf_has_line FILE PATTERN: a line of FILE matches PATTERN (grep's basic regex).
vhf_has_line() {
	grep -q -- "$2" "$1" 2>/dev/null
}

# vhf_wait_count FILE PATTERN N SECONDS PID: true once at least N lines of
# FILE match PATTERN (for output a process prints again and again, such as
# an answer to a command: count the matches before asking, wait for one more).
vhf_wait_count() {
	vhf_wait_until "$4" "$5" vhf_has_lines "$1" "$2" "$3"
}

# vhf_has_lines FILE PATTERN N
vhf_has_lines() {
	[ "$(vhf_count_lines "$1" "$2")" -ge "$3" ]
}

# vhf_count_lines FILE PATTERN: how many lines of FILE match PATTERN (0 if none).
vhf_count_lines() {
	local n
	n=$(grep -c -- "$2" "$1" 2>/dev/null)
	echo "${n:-0}"
}

# vhf_thread_asleep PID TID: thread TID of PID is blocked in the kernel
# (state S, interruptible sleep: epoll_wait, poll, a read) rather than
# running or waiting for a CPU. A polling thread never is.
vhf_thread_asleep() {
	local stat
	stat=$(cat "/proc/$1/task/$2/stat" 2>/dev/null) || return 1
	# The command name, in parentheses, may hold spaces: the state follows it.
	stat=${stat##*) }
	[ "${stat%% *}" = S ]
}

# vhf_wait_asleep PID TID SECONDS: true once thread TID of PID is asleep
# (vhf_thread_asleep); false after SECONDS or once PID has exited.
vhf_wait_asleep() {
	vhf_wait_until "$3" "$1" vhf_thread_asleep "$1" "$2"
}

# vhf_thread_named PID NAME: the id of PID's thread called NAME (as
# pthread_setname_np set it: EAL names its lcores rte-worker-<id>), or nothing.
vhf_thread_named() {
	local t
	for t in /proc/"$1"/task/*; do
		if [ "$(cat "$t/comm" 2>/dev/null)" = "$2" ]; then
			echo "${t##*/}"
			return 0
		fi
	done
	return 1
}
