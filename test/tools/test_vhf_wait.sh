#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors
#
# usertools/vhf-wait.sh's pause: each pause has two wake-ups (its own timed
# read, the pauser's answer) so that one lost wake-up cannot stretch it; a
# dead pauser costs nothing but the second wake-up; the pauser never outlives
# the script nor holds its output open. Each verdict is an event (which
# wake-up ended a pause, an end of file), never a duration compared to a
# guess: a late timer is made late on purpose, by seconds beyond any answer.
# Then vhf_spawn's reason to be: a shell whose table missed a child's exit
# waits for it until its other children end; a spawned peer is no child.

here=$(cd "$(dirname "$0")" && pwd)
. "$here/../tap.sh"
wait_sh=$here/../../usertools/vhf-wait.sh
. "$wait_sh"

work=$(mktemp -d /tmp/vhf-wait-test.XXXXXX)
kids=()
cleanup() {
	local p
	for p in "${kids[@]}"; do
		kill -KILL "$p" 2>/dev/null
	done
	rm -rf "$work"
}
trap cleanup EXIT

tap_plan 9
now_us() { echo "${EPOCHREALTIME//[!0-9]/}"; }

# 1. The pauser ends a pause whose own timer is 60 s late.
if [ -n "${vhf_pauser_pid:-}" ] && kill -0 "$vhf_pauser_pid" 2>/dev/null; then
	t0=$(now_us)
	VHF_PAUSE_MARGIN=60 vhf_pause 0.1
	el=$(($(now_us) - t0))
	[ "$el" -lt 60000000 ]
	check $? "the pauser's answer ends a pause before its own timer (${el} us < 60 s)"
else
	not_ok "sourcing vhf-wait.sh started a pauser"
fi

# 2. The timer ends a pause the pauser cannot answer (stopped); the answer
# it sends once continued ends one later pause early, as documented.
kill -STOP "$vhf_pauser_pid"
VHF_PAUSE_MARGIN=0.1 vhf_pause 0.1
kill -CONT "$vhf_pauser_pid"
ok "a pause ends on its timer while the pauser is stopped"

# 3. Pauses while background children exit at the same moments (the case that
# lost wake-ups): 100 pauses, each with children ending during it. With
# the timer 60 s late, one pause lasting that long is a lost answer.
worst=0
for i in $(seq 1 100); do
	sleep 0.0$((i % 9 + 1)) &
	sleep 0.1 &
	t0=$(now_us)
	VHF_PAUSE_MARGIN=60 vhf_pause 0.1
	el=$(($(now_us) - t0))
	[ "$el" -le "$worst" ] || worst=$el
	wait
done
[ "$worst" -lt 60000000 ]
check $? "100 pauses with children exiting in them: each ended by an answer (worst ${worst} us < 60 s)"

# 4. A dead pauser: pauses still end (timer), and writing the request cannot
# kill a `set -e` shell with SIGPIPE.
cat >"$work/dead.sh" <<EOS
set -euo pipefail
. "$wait_sh"
kill -KILL "\$vhf_pauser_pid"
vhf_wait_pid "\$vhf_pauser_pid" 30
vhf_pause 0.05
vhf_pause 0.05
echo survived
EOS
out=$(bash "$work/dead.sh" 2>&1)
[ "$out" = survived ]
check $? "with its pauser killed a set -e script still pauses and runs on (got: $out)"

# 5. A bare `wait` does not wait for the pauser, the pauser does not hold the
# script's output open (a reader of that output sees end of file when the
# script exits), and 6. it ends when the script does.
cat >"$work/ends.sh" <<EOS
. "$wait_sh"
echo "\$vhf_pauser_pid" >"$work/pauser.pid"
vhf_pause 0.05
sleep 0.01 &
wait
echo done
EOS
exec {out_fd}< <(bash "$work/ends.sh")
kids+=($!)
line=
read -r -t 60 -u "$out_fd" line
read -r -t 60 -u "$out_fd" extra
rc=$?
exec {out_fd}<&-
# rc 1 is end of file; above 128 the 60 s ran out with the pipe still open.
[ "$line" = done ] && [ "$rc" -eq 1 ]
check $? "a bare wait returns, the script's output reaches end of file when it exits (read status $rc, line '$line')"
pauser=$(cat "$work/pauser.pid" 2>/dev/null)
if [ -n "$pauser" ]; then
	vhf_wait_until 60 "" vhf_pid_gone "$pauser"
	vhf_pid_gone "$pauser"
	check $? "the script's pauser ($pauser) is gone after the script"
else
	not_ok "the script wrote its pauser's pid"
fi

# 7, 8. bash 5.2 lists a process substitution among its procsubs, which it
# searches for a pid before its jobs, and a subshell keeps its parent's list.
# A subshell forked while one runs holds it as running for ever; a foreground
# job of the subshell given that pid once it is free (pid recycled, here on
# purpose through ns_last_pid in a pid namespace of our own) has its exit
# recorded in the stale entry, and its own entry waits in waitpid(-1) for
# another child to end. 7: a peer started with `&` holds that wait for its
# life (the provocation works); 8: a peer from vhf_spawn does not.
cat >"$work/stale.sh" <<EOS
. "$wait_sh"
mkfifo "$work/go"
exec {p}< <(read -r _ <"$work/go")
P=\$!
for how in amp spawn; do
	(
		echo >"$work/go"
		# No pause: the pauser's sleep could take the pid wanted below.
		while ! vhf_pid_gone "\$P"; do :; done
		if [ "\$how" = amp ]; then
			sleep "\$1" &
			peer=\$!
		else
			vhf_spawn /dev/null sleep "\$1"
			peer=\$vhf_spawn_pid
		fi
		echo \$((P - 1)) >/proc/sys/kernel/ns_last_pid
		bash -c 'echo \$\$ >"\$0"' "$work/fg.pid"
		read -r fg <"$work/fg.pid"
		vhf_pid_gone "\$peer" && echo "\$how \$P \$fg gone" || echo "\$how \$P \$fg alive"
		kill "\$peer" 2>/dev/null
		vhf_wait_pid "\$peer" 10
	)
	exec {p}< <(read -r _ <"$work/go")
	P=\$!
done
echo >"$work/go"
EOS
if [ "$(id -u)" != 0 ] || ! unshare --pid --fork --mount-proc true 2>/dev/null; then
	echo "ok 7 # SKIP needs root and a pid namespace of its own"
	echo "ok 8 # SKIP needs root and a pid namespace of its own"
else
	# The peer lives 3 s: 7 is expected to wait for it, 8 must not.
	timeout 60 unshare --pid --fork --mount-proc bash "$work/stale.sh" 3 >"$work/stale.out" 2>&1
	read -r how p fg peer < <(grep "^amp " "$work/stale.out")
	if [ "${fg:-}" != "${p:-x}" ]; then
		not_ok "a foreground job got the recycled pid of a stale procsub ($(tr '\n' ' ' \
			<"$work/stale.out"))"
	elif [ "$peer" = gone ]; then
		ok "provoked: its wait lasted until the shell's peer (started with &) ended"
	else
		ok "# SKIP this bash did not lose the recycled pid's exit"
	fi
	read -r how p fg peer < <(grep "^spawn " "$work/stale.out")
	[ "${fg:-}" = "${p:-x}" ] && [ "$peer" = alive ]
	check $? "the same wait with the peer from vhf_spawn ends while the peer runs (pid $p, got ${fg:-none}, peer ${peer:-?})"
fi

# 9. A spawned process that outlives its SIGKILL (here a zombie: its wrapper is
# stopped, so nobody reaps it) is given up on: vhf_stop_pids says so, and
# leaves neither its wrapper nor a status file behind.
vhf_spawn /dev/null sleep 100
peer=$vhf_spawn_pid wrapper=${vhf_spawned[$peer]}
kids+=("$peer" "$wrapper")
vhf_spawn_file status_file "$peer" "$wrapper"
kill -STOP "$wrapper"
vhf_stop_pids 1 "$peer"
rc=$?
[ "$rc" = 1 ] && vhf_pid_gone "$wrapper" && [ ! -e "$status_file" ] &&
	vhf_wait_until 10 "" vhf_pid_gone "$peer"
check $? "a spawned process outliving SIGKILL: given up (rc $rc), no wrapper, no status file left"

[ "$tap_failed" -eq 0 ]
