#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors
#
# Set everything up and run every test:
#   build/       gcc, -Werror: all suites
#   build-asan/  clang, ASan+UBSan, libFuzzer: unit, race and fuzz suites again
#   build-race/  gcc with the race window widened (-Drace_window_us=100): the qemu
#                suite's stall reproducer (legacy must stall, fixed must not)
# Ends with one line "N passed, N failed[, N skipped]" over both builds.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

"$top/usertools/vhf-setup.sh" || exit 1

status=0
run_build() {
	local dir=$1; shift
	local suites=$1; shift
	if [ ! -f "$dir/build.ninja" ]; then
		meson setup "$dir" "$@" || return 1
	fi
	# A stale log from an earlier run must not stand in for this one.
	rm -f "$dir/meson-logs/testlog.json"
	ninja -C "$dir" || return 1
	local args=()
	for s in $suites; do args+=(--suite "$s"); done
	meson test -C "$dir" --print-errorlogs --num-processes 1 "${args[@]}"
}

echo "=== build: gcc ==="
run_build build "" -Dpmd=enabled || status=1

echo "=== build: clang + ASan/UBSan + libFuzzer ==="
CC=clang run_build build-asan "unit race fuzz" \
	-Db_sanitize=address,undefined -Db_lundef=false -Dfuzz_libfuzzer=true || status=1

echo "=== build: gcc, race window widened (stall reproducer) ==="
run_build build-race "qemu" -Dpmd=enabled -Drace_window_us=100 || status=1

# CI reads one closing line; meson's own summary is per build.
python3 "$top/usertools/vhf-testsummary.py" build/meson-logs/testlog.json \
	build-asan/meson-logs/testlog.json build-race/meson-logs/testlog.json || status=1
exit $status
