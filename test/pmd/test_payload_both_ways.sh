#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors
#
# Payload verified byte for byte in both directions between net_vhostfix and
# DPDK's virtio-user, for split and packed rings, mergeable RX buffers on and
# off (both sides' devargs), 64-byte and jumbo (64/1500/9000-byte) frames, one
# and two queue pairs; VIRTIO_F_IN_ORDER (offered by default) turned off; and the
# host's long copies through libc (EAL's --force-max-simd-bitwidth=128) instead
# of its AVX2 copy, the probe's log line saying which. Each
# case runs vhf_pmd_check as host and as guest: each
# sends --count numbered frames per queue, receives the other's, and fails on a
# frame lost, reordered or with any byte different from what its sender built.
# The host's pool must be back to its baseline at the end (the PMD keeps no
# mbufs), and it prints the driver's view of its rings (--dump): a run that
# stalls shows there whether the guest had published what we did not take.
#
# Usage: test_payload_both_ways.sh <vhf_pmd_check>
# Prints TAP. Needs root.

set -u
check=${1:-}
. "$(dirname "$0")/pmd_pair.sh"

count64=${VHF_PMD_TEST_COUNT:-20000}
count_jumbo=${VHF_PMD_TEST_COUNT_JUMBO:-3000}

# run_case NAME RING MRG LENS QUEUES [MORE_HOST_DEVARGS [HOST_COPY [MORE_HOST_EAL_ARGS]]]
# HOST_COPY: the long copy (copy= in the host's probe line) the case expects,
# "avx2" or "libc"; by default whichever the CPU allows.
run_case() {
	local name=$1 ring=$2 mrg=$3 lens=$4 nq=$5 more=${6:-} copy=${7:-$default_copy}
	local dir=$pair_work/$name sock hargs gargs count gmbuf hpid gpid hres gres
	mkdir -p "$dir"
	sock=$dir/vhost.sock
	pair_vdevs "$sock" "$ring" ",queues=$nq,mrg_rxbuf=$mrg"
	hargs+=$more
	count=$count64
	gmbuf=2176
	if [ "$lens" != 64 ]; then
		count=$count_jumbo
		# Without mergeable buffers, one guest buffer (mbuf) must hold a whole frame.
		[ "$mrg" = 0 ] && gmbuf=10240
	fi

	pair_eal_more=${8:-} pair_start "$dir/host.log" 0 H "$hargs" --role host --mode verify \
		--count "$count" --lens "$lens" --queues "$nq" --seconds 60 --xstats --dump
	hpid=$pair_pid
	if ! vhf_wait_for "$dir/host.log" "READY" 60 "$hpid"; then
		not_ok "$name: host did not come up"
		pair_diag "$dir/host.log"
		pair_stop "$hpid"
		return
	fi
	pair_start "$dir/guest.log" 1 G "$gargs" --role guest --mode verify --count "$count" \
		--lens "$lens" --queues "$nq" --mbuf-size "$gmbuf" --seconds 60
	gpid=$pair_pid
	pair_finish "$dir" "$hpid" "$gpid" 70
	if [[ "$hres" == "RESULT ok"* ]] && [[ "$gres" == "RESULT ok"* ]] &&
		[[ "$hres" == *"in_use_base 0 in_use_end 0" ]] &&
		grep -q "^  tx 0 (vring 0): " "$dir/host.log" &&
		grep -q "net_vhostfix0: port .*, copy=$copy)" "$dir/host.log"; then
		ok "$name: $count frames/queue each way, every byte checked (copy=$copy)"
	else
		not_ok "$name: host: ${hres:-no result}; guest: ${gres:-no result}"
		pair_diag "$dir/host.log"
		pair_diag "$dir/guest.log"
	fi
	rm -f "$sock"
}

# Copies over 256 bytes: AVX2 where the CPU has it (the kernel lists avx2 only
# when it saves the registers), libc's under EAL's --force-max-simd-bitwidth=128.
default_copy=libc
if grep -qw avx2 /proc/cpuinfo; then
	default_copy=avx2
fi
pair_init 19
for ring in split packed; do
	for mrg in 1 0; do
		for lens in 64 64,1500,9000; do
			for nq in 1 2; do
				run_case "$ring-mrg$mrg-len${lens//,/_}-q$nq" "$ring" "$mrg" "$lens" "$nq"
			done
		done
	done
done
# VIRTIO_F_IN_ORDER is offered by default; the drivers' other paths without it.
run_case split-in_order0-len64_1500_9000-q2 split 1 64,1500,9000 2 ,in_order=0
run_case packed-in_order0-len64_1500_9000-q2 packed 1 64,1500,9000 2 ,in_order=0
run_case split-simd128-len64_1500_9000-q1 split 1 64,1500,9000 1 "" libc \
	--force-max-simd-bitwidth=128
[ "$tap_failed" -eq 0 ]
