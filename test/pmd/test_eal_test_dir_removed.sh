#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors
#
# A test process that starts the EAL (vhf_pmd_harness_eal_init(), fuzz_pmd)
# takes a runtime directory of its own, vhftest<pid> (not the default "rte",
# which any DPDK application of the machine shares), and removes it at exit:
# a test run leaves nothing under /var/run/dpdk. Runs the test binary given
# (one that prints the directory as a TAP comment) and looks.
#
#   test_eal_test_dir_removed.sh TEST-BINARY

top=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=test/tap.sh
. "$top/test/tap.sh"

bin=$1
tap_plan 3
out=$("$bin" 2>&1)
rc=$?
check "$rc" "$(basename "$bin") passes"
dir=$(sed -n 's/^# EAL runtime directory \(.*\), removed at exit$/\1/p' <<< "$out" | head -1)
case "$(basename "${dir:-none}")" in
vhftest[0-9]*) ok "its runtime directory is its own: $dir" ;;
*)
	not_ok "its runtime directory is its own: '${dir:-none printed}'"
	diag <<< "$out"
	;;
esac
if [ -n "$dir" ] && [ ! -e "$dir" ]; then
	ok "and is gone once it exited"
else
	not_ok "and is gone once it exited: '${dir:-none printed}' $(ls -la "$dir" 2>&1)"
fi
[ "$tap_failed" -eq 0 ]
