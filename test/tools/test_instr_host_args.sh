#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors
#
# usertools/vhf-instr-host.sh's arguments: a value outside an option's set,
# an unknown argument or a build without the driver is refused with exit 2
# and a message that names it, before any process is started or any file
# left under /tmp. (Its measurement takes both CPUs for half a minute: it is
# a tool, run by hand under the benchmark lock, not a test.)

here=$(cd "$(dirname "$0")" && pwd)
. "$here/../tap.sh"
tool=$here/../../usertools/vhf-instr-host.sh

work=$(mktemp -d /tmp/vhf-instr-host-test.XXXXXX)
trap 'rm -rf "$work"' EXIT

# refused NAME EXPECTED-MESSAGE-PART ARGS...: exit 2, the message on stderr, no temp dir.
refused() {
	local name=$1 want=$2 status
	shift 2
	"$tool" "$@" > "$work/out" 2> "$work/err"
	status=$?
	if [ "$status" = 2 ] && grep -qF -- "$want" "$work/err" &&
		! compgen -G "/tmp/vhf-instr-host.*" > /dev/null; then
		ok "$name: exit 2, '$(head -1 "$work/err")'"
	else
		not_ok "$name: exit $status"
		diag < "$work/err"
	fi
}

tap_plan 5
refused "--ring" "--ring: 'ring' is not one of: split, packed" --ring ring
refused "--dir" "--dir: 'rx' is not one of: guest-tx, guest-rx" --dir rx
refused "--size" "--size: '59' is not a whole number from 60 to 1518" --size 59
refused "unknown argument" "unknown argument '--rounds'" --rounds 3
refused "a build without the driver" "$work/nobuild/drivers/net/vhostfix/librte_net_vhostfix.so is not built" \
	--build "$work/nobuild"
[ "$tap_failed" -eq 0 ]
