#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors
#
# Model-check vhf_notify.pml with spin: the fixed algorithm must verify, the
# legacy one must fail (a lost kick). TAP output.
set -u
model=$(cd "$(dirname "$0")" && pwd)/vhf_notify.pml
if ! command -v spin >/dev/null; then
	echo "1..0 # SKIP spin is not installed (Debian package spin)"
	exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1

check() { # name, expect (0 = no error, 1 = error), spin defines...
	local name=$1 expect=$2; shift 2
	rm -f pan* ./*.trail
	if ! spin -a "$@" "$model" >spin.log 2>&1 || ! cc -O2 -w -DSAFETY -o pan pan.c 2>>spin.log; then
		echo "not ok - $name: spin/cc failed"; cat spin.log; return 1
	fi
	# -E: blocked processes alone are not errors; the monitor's asserts say what is.
	./pan -E -m100000 >pan.log 2>&1
	local errors states
	errors=$(sed -n 's/.*errors: \([0-9]*\).*/\1/p' pan.log)
	states=$(sed -n 's/^ *\([0-9.e+]*\) states, stored.*/\1/p' pan.log)
	if [ -z "$errors" ]; then
		echo "not ok - $name: pan did not finish"; cat pan.log; return 1
	fi
	# An expected error must be the lost kick, not some other assertion.
	if [ "$expect" = 1 ] && ! grep -q "assertion violated.*dev_waiting" pan.log; then
		errors="$errors (not the lost-kick assertion)"; expect=x
	fi
	if { [ "$expect" = 0 ] && [ "$errors" = 0 ]; } || { [ "$expect" = 1 ] && [ "$errors" != 0 ]; }; then
		echo "ok - $name: $states states, errors $errors"
	else
		echo "not ok - $name: $states states, errors $errors"
		[ -f vhf_notify.pml.trail ] && spin -t -p "$@" "$model" | head -80
		return 1
	fi
}

echo "1..5"
fail=0
check "fixed algorithm, no lost wake-up" 0 || fail=1
check "legacy algorithm reaches the stall" 1 -DLEGACY || fail=1
check "fixed, 3 packets of 3 buffers" 0 -DPKTS=3 -DNEED=3 -DBUDGET=10 -DRING=8 || fail=1
check "legacy, 3 packets of 3 buffers, stalls" 1 -DLEGACY -DPKTS=3 -DNEED=3 -DBUDGET=10 -DRING=8 || fail=1
check "fixed without its recheck stalls (mutation)" 1 -DNO_RECHECK || fail=1
exit $fail
