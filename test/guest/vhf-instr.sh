#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors
#
# Instructions per packet of lib/'s enqueue (guest RX) and dequeue (guest TX):
# callgrind over vhf-instr (test/guest/vhf_instr.c), the lib/ calls alone
# collected, bursts of 32 against the guest model, ring of 256, mergeable RX.
# Deterministic, so a change's effect on the path shows without the VM's noise;
# what it costs in cycles is the benchmark's to say (usertools/vhf-bench.py).
#
#   test/guest/vhf-instr.sh [BUILD_DIR (build)] [FRAME_BYTES (64)]
set -eu

build=${1:-build}
len=${2:-64}
bin=$build/test/guest/vhf-instr
bursts=4000

if ! command -v valgrind > /dev/null; then
	echo "vhf-instr.sh: valgrind is not installed (apt-get install valgrind)" >&2
	exit 2
fi
if [ ! -x "$bin" ]; then
	echo "vhf-instr.sh: $bin is not built (meson setup $build && ninja -C $build)" >&2
	exit 2
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# count RING rx|tx [VAR=value...]: instructions per packet, one decimal.
count() {
	ring=$1
	dir=$2
	shift 2
	if [ "$dir" = rx ]; then
		set -- "$@" valgrind --tool=callgrind --callgrind-out-file=/dev/null \
			--toggle-collect=vhf_net_to_guest_enqueue
	else
		set -- "$@" valgrind --tool=callgrind --callgrind-out-file=/dev/null \
			--toggle-collect=vhf_net_from_guest_next \
			--toggle-collect=vhf_net_from_guest_release \
			--toggle-collect=vhf_net_from_guest_finish
	fi
	if ! env "$@" "$bin" "$ring" "$dir" "$len" "$bursts" > "$tmp/out" 2> "$tmp/err"; then
		echo "vhf-instr.sh: $ring $dir failed:" >&2
		cat "$tmp/err" >&2
		exit 1
	fi
	awk -v pk="$(sed -n 's/^packets //p' "$tmp/out")" \
		'/Collected :/ { ir = $NF } END { printf "%.1f", ir / pk }' "$tmp/err"
}

printf '%-7s %-46s %s\n' ring "path ($len B frames)" "instructions/packet"
for ring in split packed; do
	printf '%-7s %-46s %s\n' "$ring" "guest RX, header on the frame's first line" \
		"$(count "$ring" rx VHF_INSTR_RX_OFFSET=0)"
	printf '%-7s %-46s %s\n' "$ring" "guest RX, header alone on its line (DPDK mbuf)" \
		"$(count "$ring" rx VHF_INSTR_RX_OFFSET=52)"
	printf '%-7s %-46s %s\n' "$ring" "guest TX, header pushed in front of the frame" \
		"$(count "$ring" tx VHF_INSTR_PUSH_HDR=1)"
	printf '%-7s %-46s %s\n' "$ring" "guest TX, header in a descriptor of its own" \
		"$(count "$ring" tx VHF_INSTR_PUSH_HDR=0)"
	printf '%-7s %-46s %s\n' "$ring" "guest TX, header pushed, no offload (unread)" \
		"$(count "$ring" tx VHF_INSTR_PUSH_HDR=1 VHF_INSTR_HDR_UNREAD=1)"
done
