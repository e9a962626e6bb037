#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors
#
# dpdk-vhostfix's command line: every wrong option or key names itself and
# exits non-zero; --help; the config file and the command line over it; the
# bare "--vdev net_vhost0" with its default socket, printed; SIGINT and
# SIGTERM end it with status 0 and the final stats.
#
# Usage: test_app_options.sh <dpdk-vhostfix> <config/dpdk-vhostfix.ini>

set -u
app=${1:-}
ini=${2:-}
check=$app
. "$(dirname "$0")/app_env.sh"

eal=(-l 0-1 --no-huge -m 256 --no-pci --log-level=lib.eal:error)
n=0

# refuse NAME PATTERN ARGS...: the app exits non-zero, saying PATTERN.
refuse() {
	local name=$1 pattern=$2 out rc
	shift 2
	n=$((n + 1))
	out=$(timeout 60 "$app" "${eal[@]}" --file-prefix="${app_prefix}o$n" "$@" 2>&1 </dev/null)
	rc=$?
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && grep -q -- "$pattern" <<<"$out"; then
		ok "$name: exit $rc, says: $(grep -m1 -- "$pattern" <<<"$out")"
	else
		not_ok "$name: exit $rc, expected a message matching '$pattern'"
		diag <<<"$out"
	fi
	rm -rf "/var/run/dpdk/${app_prefix}o$n"
}

# runs NAME SIGNAL PATTERN... ARGS: starts, forwards, prints each PATTERN, and
# ends with status 0 on SIGNAL (sent once it prints $run_until, if set).
runs() {
	local name=$1 sig=$2 patterns=$3 log p rc fail=
	shift 3
	n=$((n + 1))
	log=$pair_work/run$n.log
	vhf_spawn "$log" "$app" "${eal[@]}" --file-prefix="${app_prefix}o$n" "$@"
	app_pid=$vhf_spawn_pid
	pair_pids+=("$app_pid")
	if ! vhf_wait_for "$log" "dpdk-vhostfix: forwarding" 60 "$app_pid"; then
		fail+=" did not start;"
	elif [ -n "${run_until:-}" ] && ! vhf_wait_for "$log" "$run_until" 60 "$app_pid"; then
		fail+=" no '$run_until' while running;"
	fi
	kill "-$sig" "$app_pid"
	rc=124
	vhf_wait_pid "$app_pid" 15 && rc=$vhf_wait_status
	pair_forget "$app_pid"
	[ "$rc" -eq 0 ] || fail+=" exit status $rc after SIG$sig;"
	IFS='|' read -ra plist <<<"$patterns"
	for p in "${plist[@]}"; do
		grep -q -- "$p" "$log" || fail+=" no '$p';"
	done
	grep -q -- "---- dpdk-vhostfix stats ----" "$log" || fail+=" no final stats;"
	if [ -z "$fail" ]; then
		ok "$name"
	else
		not_ok "$name:$fail"
		diag <"$log"
	fi
	rm -rf "/var/run/dpdk/${app_prefix}o$n"
}

pair_init 17
null=(--vdev net_null0,no-rx=1)

refuse "--mode with a wrong value" "--mode: unexpected value 'fast'" \
	--vdev net_vhost0 "${null[@]}" -- --mode fast
refuse "--backlog out of range" "--backlog: expected an integer" \
	--vdev net_vhost0 "${null[@]}" -- --backlog 0
refuse "an unknown option" "unknown option '--frobnicate'" \
	--vdev net_vhost0 "${null[@]}" -- --frobnicate
refuse "an option without its value" "option '--stats' needs a value" \
	--vdev net_vhost0 "${null[@]}" -- --stats
refuse "--pairs malformed" "--pairs: expected A:B" \
	--vdev net_vhost0 "${null[@]}" -- --pairs 0
refuse "--pairs naming no port" "--pairs: no port 'eth9'" \
	--vdev net_vhost0 "${null[@]}" -- --pairs net_vhost0:eth9
refuse "a wrong devarg" "unknown devarg 'bogus'" \
	--vdev net_vhost0,bogus=1 "${null[@]}" --
refuse "--config that does not exist" "--config: cannot read" \
	--vdev net_vhost0 "${null[@]}" -- --config "$pair_work/none.ini"
printf '[dpdk-vhostfix]\nmode = sleep\nspeed = 11\n' >"$pair_work/bad.ini"
refuse "a config file with an unknown key" "unknown key 'speed'" \
	--vdev net_vhost0 "${null[@]}" -- --config "$pair_work/bad.ini"
eal[1]=0
refuse "one lcore only" "no worker lcore" \
	--vdev net_vhost0 "${null[@]}" --
eal[1]=0-1
refuse "an odd number of ports" "give --pairs" \
	--vdev net_vhost0 --
refuse "a stray EAL argument" "unexpected argument 'stray'" \
	--vdev net_vhost0 "${null[@]}" stray --

out=$("$app" -- --help 2>&1)
rc=$?
if [ "$rc" -eq 0 ] && grep -q -- "--mode poll|sleep" <<<"$out" && grep -q -- "--backlog-full" <<<"$out"; then
	ok "--help: exit 0, lists the options"
else
	not_ok "--help: exit $rc"
	diag <<<"$out"
fi

runs "the bare --vdev net_vhost0: default socket under the runtime directory, printed" INT \
	"served by net_vhostfix|vhost-user socket /var/run/dpdk/${app_prefix}o$((n + 1))/net_vhost0.sock" \
	--vdev net_vhost0 "${null[@]}" --
runs "config/dpdk-vhostfix.ini read (sleep mode)" TERM "forwarding (sleep mode" \
	--vdev net_vhost0 "${null[@]}" -- --config "$ini"
runs "the command line wins over the config file" TERM "forwarding (poll mode" \
	--vdev net_vhost0 "${null[@]}" -- --config "$ini" --mode poll
# The periodic stats are printed before the signal; the final ones after it.
run_until="---- dpdk-vhostfix stats ----"
runs "--pairs by name, net_vhostfix<N> also served, stats every second" INT \
	"lcore 1: net_vhostfix3:0 <-> net_null0:0|dpdk-vhostfix: Interrupt, stopping" \
	--vdev net_vhostfix3,iface="$pair_work/v3.sock" "${null[@]}" -- \
	--pairs net_null0:net_vhostfix3 --stats 1
run_until=
[ "$tap_failed" -eq 0 ]
