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

# vhf_pause SECONDS: wait that long without starting a process. Two wake-ups
# race to end each pause, so that losing one cannot stretch it:
# - a timed read (SECONDS plus a margin) on a pipe nobody writes to but the
#   pauser below, opened when this file is sourced so that subshells share it;
# - the pauser, a process started once per script, a child of no waiter: it
#   answers each request on that pipe after sleeping SECONDS.
# Either alone was seen to fail on this project's CI kernel: a shell blocked in
# wait4() for a foreground `sleep` missed that child's exit when a background
# child (a stopped DPDK process) ended at the same moment, and a `read -t 0.1`
# stayed blocked for ten minutes after the same kind of exit, until another
# child's exit woke it. (The first is bash 5.2's race described at vhf_spawn
# below, which peers started that way avoid; the second is not explained.)
# A late answer left in the pipe ends a later pause
# early, which every caller tolerates (they loop on a deadline of their own),
# as they tolerate a subshell's pause taking the answer meant for its parent.
# VHF_PAUSE_MARGIN (seconds) lets the wait suite make either wake-up the late one.
if [ -z "${vhf_pause_fd:-}" ]; then
	exec {vhf_pause_fd}<> <(:)
	# Opened read-write: the shell holds a reader of its own requests, so a
	# request written after the pauser died can never raise SIGPIPE here.
	# The pauser keeps only its request pipe and the answer pipe (not the
	# script's output, which meson waits on), and ends when the last writer
	# of requests (this script and its children) has gone.
	# It is a grandchild, so that a bare `wait` does not wait for it, and
	# tells its pid first.
	exec {vhf_pause_req}<> >(
		for vhf_pause_f in /proc/self/fd/*; do
			vhf_pause_f=${vhf_pause_f##*/}
			case $vhf_pause_f in
			0 | "$vhf_pause_fd") ;;
			*) eval "exec $vhf_pause_f>&-" 2>/dev/null ;;
			esac
		done
		exec >/dev/null 2>&1
		# The requests are read through an explicit redirection: a
		# background command's stdin is otherwise /dev/null.
		(
			echo "$BASHPID" >&"$vhf_pause_fd"
			while read -r vhf_pause_s; do
				sleep "$vhf_pause_s"
				echo >&"$vhf_pause_fd"
			done
		) <&0 &
	)
	vhf_pauser_pid=
	read -r -t 10 -u "$vhf_pause_fd" vhf_pauser_pid || vhf_pauser_pid=
fi
vhf_pause() {
	local t
	if [ -n "${vhf_pauser_pid:-}" ] && kill -0 "$vhf_pauser_pid" 2>/dev/null; then
		echo "$1" >&"$vhf_pause_req"
		vhf_pause_sum t "$1" "${VHF_PAUSE_MARGIN:-0.2}"
		read -r -t "$t" -u "$vhf_pause_fd" _ || :
	else
		read -r -t "$1" -u "$vhf_pause_fd" _ || :
	fi
}

# vhf_pause_sum VAR A B: VAR=A+B, for decimal seconds (up to 6 places), with
# no command substitution: that would be a child to wait for.
vhf_pause_sum() {
	local -n vhf_pause_out=$1
	local a=$2 b=$3 ai af bi bf
	ai=${a%%.*} bi=${b%%.*}
	af=${a#"$ai"} bf=${b#"$bi"}
	af=${af#.}000000 bf=${bf#.}000000
	a=$((10#${ai:-0} * 1000000 + 10#${af:0:6} + 10#${bi:-0} * 1000000 + 10#${bf:0:6}))
	printf -v vhf_pause_out '%d.%06d' $((a / 1000000)) $((a % 1000000))
}

# vhf_spawn LOG COMMAND...: start COMMAND in the background, LOG emptied and
# then its output and errors, as a process that is NO child of this shell;
# sets vhf_spawn_pid. vhf_wait_pid and vhf_stop_pids wait for it and give its
# exit status as for a child. Every long-lived process of a test (a peer
# that lives until it is stopped) is started this way, never with `&`:
# bash 5.2 waits for a foreground child (a command substitution, a `grep`)
# in a blocking waitpid(-1), which ends when ANY child changes state
# (jobs.c: wait_for -> waitchld). When bash's table missed that child's exit
# (it searches its process substitutions before its jobs: one listed too
# late, or inherited by a subshell, keeps a pid that a new child then gets;
# test/tools/test_vhf_wait.sh provokes it), only another child's exit ends
# that wait: a peer started with `&` holds the script for the rest of its
# life. Without long-lived children the same wait fails at once (ECHILD).
# COMMAND is the child of a small wrapper orphaned at start (its parent, a
# command substitution, ends at once), which keeps none of the script's
# output nor the pause pipes, waits for COMMAND and writes its exit status
# to a file; the script signals COMMAND itself by its pid.
declare -gA vhf_spawned
vhf_spawn() {
	local out
	out=$(vhf_spawn_wrapper "$@" &)
	vhf_spawn_pid=${out%% *}
	[ -n "$vhf_spawn_pid" ] || return 1
	vhf_spawned[$vhf_spawn_pid]=${out#* }
}

# vhf_spawn_wrapper LOG COMMAND...: prints "PID WRAPPER_PID" and, once PID
# has ended, writes its exit status to vhf_spawn_file's file in one write.
# The wrapper is a fresh sh, not a bash subshell: a subshell would inherit
# this shell's table of process substitutions, stale entries included, and
# its own wait for PID could then be the very wait it is meant to avoid.
vhf_spawn_wrapper() {
	local log=$1
	shift
	exec {vhf_pause_fd}<&- {vhf_pause_req}>&-
	# shellcheck disable=SC2016 # expanded by the wrapper, not here
	exec sh -c '
		log=$1 prefix=$2
		shift 2
		: >"$log"
		"$@" >>"$log" 2>&1 &
		pid=$!
		echo "$pid $$"
		exec >/dev/null 2>&1 </dev/null
		wait "$pid"
		echo "$?" >"$prefix$pid.$$"
	' vhf-spawn "$log" "$vhf_spawn_prefix" "$@"
}

# vhf_spawn_file VAR PID WRAPPER_PID: VAR=the exit status file of spawned
# PID: vhf_spawn_prefix, then PID.WRAPPER_PID (the wrapper writes the same
# name). $$ is the script's in all its subshells.
vhf_spawn_prefix=${TMPDIR:-/tmp}/vhf-spawn.$$.
vhf_spawn_file() {
	local -n vhf_spawn_out=$1
	vhf_spawn_out=$vhf_spawn_prefix$2.$3
}

# vhf_spawn_done PID: spawned PID's exit status is written, or it never will
# be (PID and its wrapper are both gone: the wrapper was killed).
vhf_spawn_done() {
	local f w=${vhf_spawned[$1]}
	vhf_spawn_file f "$1" "$w"
	[ -s "$f" ] || { vhf_pid_gone "$1" && vhf_pid_gone "$w"; }
}

# vhf_spawn_forget PID: give up on spawned PID (it outlived SIGKILL by a wait):
# its wrapper is killed before it can write a status file that nobody would
# read, and any file already written is removed.
vhf_spawn_forget() {
	local f w=${vhf_spawned[$1]}
	kill -KILL "$w" 2>/dev/null
	vhf_wait_until 10 "" vhf_pid_gone "$w"
	vhf_spawn_file f "$1" "$w"
	rm -f "$f"
	unset "vhf_spawned[$1]"
}

# vhf_wait_pid PID SECONDS: true once PID has exited. A child of ours is
# reaped, and a spawned process's status file read and removed: the exit
# status is left in vhf_wait_status (127 when it cannot be known).
vhf_wait_status=
vhf_wait_pid() {
	local f
	if [ -n "${vhf_spawned[$1]:-}" ]; then
		vhf_wait_until "$2" "" vhf_spawn_done "$1" || return 1
		vhf_spawn_file f "$1" "${vhf_spawned[$1]}"
		read -r vhf_wait_status 2>/dev/null <"$f" || vhf_wait_status=127
		rm -f "$f"
		unset "vhf_spawned[$1]"
		return 0
	fi
	if vhf_wait_until "$2" "" vhf_pid_gone "$1"; then
		# In an `if`-less form `set -e` would end the script here when
		# PID is not our child (wait's status 127).
		vhf_wait_status=0
		wait "$1" 2>/dev/null || vhf_wait_status=$?
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
		if [ -n "${vhf_spawned[$pid]:-}" ]; then
			vhf_wait_pid "$pid" "$secs" || vhf_spawn_forget "$pid"
		else
			wait "$pid" 2>/dev/null
		fi
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
