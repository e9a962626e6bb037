#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors
#
# rte_eth_dev_priv_dump() while the guest goes away. The driver's dump reads
# each attached ring's state in guest memory; librte_vhost unmaps that memory
# as soon as the driver's destroy_device returns. A dump that does not keep
# the guest's memory mapped until it is done reads unmapped memory and takes
# the vswitch down with it (payload_both_ways once crashed the host that way,
# its guest ending while the host dumped). Here the dump is held on purpose
# (vhf_pmd_check --dump-hold-ms) just before it reads the first ring, the guest
# is killed on the host's "HOLD dump" line, and the hold ends once the guest's
# memory is unmapped or 3 s have passed: with the fix it stays mapped (the
# detach waits for the dump) and the host lives on; without it, the memory
# goes and the host dies of SIGSEGV in the dump.
#
# Usage: test_dump_under_disconnect.sh <vhf_pmd_check>
# Prints TAP. Needs root.

set -u
check=${1:-}
. "$(dirname "$0")/pmd_pair.sh"

# run_case RING
run_case() {
	local ring=$1 dir=$pair_work/$1 sock hargs gargs hpid gpid hres gres fail=
	mkdir -p "$dir"
	sock=$dir/vhost.sock
	pair_vdevs "$sock" "$ring"
	pair_start "$dir/host.log" 0 H "$hargs" --role host --mode verify --count 2000 \
		--seconds 60 --dump --dump-hold-ms 3000
	hpid=$pair_pid
	if ! vhf_wait_for "$dir/host.log" "READY" 60 "$hpid"; then
		not_ok "$ring: host did not come up"
		pair_diag "$dir/host.log"
		pair_stop "$hpid"
		return
	fi
	# --stay: the guest is still there when the host, done, dumps its rings.
	pair_start "$dir/guest.log" 1 G "$gargs" --role guest --mode verify --count 2000 \
		--seconds 60 --stay
	gpid=$pair_pid
	if vhf_wait_for "$dir/host.log" "^HOLD dump" 60 "$hpid"; then
		kill -KILL "$gpid"
	else
		fail+=" the dump never held on an attached ring;"
	fi
	# The killed guest prints no RESULT: no wait for it.
	pair_finish "$dir" "$hpid" "$gpid" 30 0
	[[ "$hres" == "RESULT ok"* ]] || fail+=" host: ${hres:-no result (crashed in the dump?)};"
	grep -q "^DUMP HOLD ended: guest memory still mapped" "$dir/host.log" ||
		fail+=" the guest's memory did not stay mapped through the dump;"
	grep -q "^  rx 0 (vring 1): " "$dir/host.log" ||
		fail+=" the dump did not reach the last ring;"
	if [ -z "$fail" ]; then
		ok "$ring: guest killed during the dump; its memory stayed mapped until the dump was done"
	else
		not_ok "$ring:$fail"
		pair_diag "$dir/host.log"
	fi
	rm -f "$sock"
}

pair_init 2
run_case split
run_case packed
[ "$tap_failed" -eq 0 ]
