#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors
#
# Set everything up and run every test:
#   build/       gcc, -Werror: every suite
#   build-asan/  clang, ASan+UBSan, libFuzzer: the unit, race and fuzz suites again
#   build-race/  gcc with the race window held open (-Drace_window_us=20000): the qemu
#                suite's stall reproducer (legacy must stall, fixed must not)
#
#   usertools/vhf-test.sh [--repeat N] [--suite S]... [--build gcc|asan|race]...
#
#   --repeat N   run the chosen tests N times in a row (meson test --repeat); every
#                run counts in the summary
#   --suite S    only suite S (repeatable): tools unit race fuzz pmd app install deb qemu ovs
#   --build B    only build B (repeatable)
#
# Order: the three builds; then the CPU-bound suites that do not depend on timing
# (unit, race, fuzz) of the gcc and ASan builds side by side, one on each core;
# then the integration suites (processes, guests, OVS) one at a time, alone on
# the machine. Ends with each suite's count and duration and one closing line
# "N passed, N failed, N skipped" over everything.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

usage() {
	sed -n '11,17p' "$0" | sed 's/^# \{0,1\}//'
	exit "$1"
}
repeat=1
only_suites=()
only_builds=()
while [ $# -gt 0 ]; do
	case "$1" in
	--repeat)
		[[ "${2:-}" =~ ^[1-9][0-9]*$ ]] || { echo "vhf-test: --repeat takes a count ≥ 1, not '${2:-}'" >&2; exit 2; }
		repeat=$2; shift 2 ;;
	--suite)
		case "${2:-}" in tools|unit|race|fuzz|pmd|app|install|deb|qemu|ovs) only_suites+=("$2") ;;
		*) echo "vhf-test: --suite: unknown suite '${2:-}' (unit race fuzz pmd app install deb qemu ovs)" >&2; exit 2 ;;
		esac
		shift 2 ;;
	--build)
		case "${2:-}" in gcc|asan|race) only_builds+=("$2") ;;
		*) echo "vhf-test: --build: unknown build '${2:-}' (gcc asan race)" >&2; exit 2 ;;
		esac
		shift 2 ;;
	-h|--help) usage 0 ;;
	*) echo "vhf-test: unknown option '$1'" >&2; usage 2 >&2 ;;
	esac
done

t_start=$SECONDS
"$top/usertools/vhf-setup.sh" || exit 1

declare -A build_dir=([gcc]=build [asan]=build-asan [race]=build-race)
declare -A build_cc=([gcc]=gcc [asan]=clang [race]=gcc)
declare -A build_args=(
	[gcc]="-Dpmd=enabled"
	[asan]="-Db_sanitize=address,undefined -Db_lundef=false -Dfuzz_libfuzzer=true"
	[race]="-Dpmd=enabled -Drace_window_us=20000"
)
declare -A build_suites=([gcc]="tools unit race fuzz pmd app install deb qemu ovs" [asan]="unit race fuzz" [race]="qemu")
cpu_suites="tools unit race fuzz"

wanted() { # wanted WORD LIST...: is WORD among LIST (an empty LIST takes everything)?
	local w=$1; shift
	[ $# -eq 0 ] && return 0
	local x
	for x in "$@"; do [ "$x" = "$w" ] && return 0; done
	return 1
}

# suites_of BUILD KIND(cpu|integration): the suites of BUILD to run in that phase.
suites_of() {
	local s out=()
	for s in ${build_suites[$1]}; do
		wanted "$s" "${only_suites[@]}" || continue
		if [ "$2" = cpu ]; then wanted "$s" $cpu_suites || continue
		else wanted "$s" $cpu_suites && continue
		fi
		out+=("$s")
	done
	echo "${out[@]}"
}

builds=()
for b in gcc asan race; do
	wanted "$b" "${only_builds[@]}" || continue
	[ -n "$(suites_of "$b" cpu)$(suites_of "$b" integration)" ] && builds+=("$b")
done

status=0
logs=()        # LABEL=testlog.json, for the summary
phase_times=() # lines for the summary

configure_and_build() {
	local b=$1 dir=${build_dir[$1]}
	if [ ! -f "$dir/build.ninja" ]; then
		# shellcheck disable=SC2086
		CC=${build_cc[$b]} meson setup "$dir" ${build_args[$b]} || return 1
	fi
	ninja -C "$dir"
}

# run_suites BUILD PHASE SUITES...: meson test with its own log name.
run_suites() {
	local b=$1 phase=$2; shift 2
	local dir=${build_dir[$b]} args=() s
	for s in "$@"; do args+=(--suite "$s"); done
	# A stale log from an earlier run must not stand in for this one.
	rm -f "$dir/meson-logs/testlog-$phase.json"
	meson test -C "$dir" --print-errorlogs --num-processes 1 --repeat "$repeat" \
		--logbase "testlog-$phase" "${args[@]}"
}

for b in "${builds[@]}"; do
	echo "=== build: $b (${build_dir[$b]}: ${build_cc[$b]} ${build_args[$b]}) ==="
	t=$SECONDS
	if ! configure_and_build "$b"; then
		echo "vhf-test: build $b failed"
		status=1
		# No log: the summary counts the build as a failure.
		logs+=("$b=${build_dir[$b]}/meson-logs/testlog-build-failed.json")
		builds=("${builds[@]/$b/}")
	fi
	phase_times+=("build $b: $((SECONDS - t)) s")
done

# CPU-bound suites: two builds side by side (2 cores), outputs shown in turn.
cpu_pids=() cpu_builds=()
t=$SECONDS
for b in ${builds[@]}; do
	suites=$(suites_of "$b" cpu)
	[ -n "$suites" ] || continue
	out=${build_dir[$b]}/meson-logs/vhf-test-cpu.out
	mkdir -p "${build_dir[$b]}/meson-logs"
	# shellcheck disable=SC2086
	run_suites "$b" cpu $suites >"$out" 2>&1 &
	cpu_pids+=($!)
	cpu_builds+=("$b")
	logs+=("$b=${build_dir[$b]}/meson-logs/testlog-cpu.json")
done
# Stop the side-by-side runs with us.
trap '[ ${#cpu_pids[@]} -gt 0 ] && kill "${cpu_pids[@]}" 2>/dev/null; exit 130' INT TERM
for i in "${!cpu_pids[@]}"; do
	b=${cpu_builds[$i]}
	wait "${cpu_pids[$i]}" || status=1
	echo "=== suites $(suites_of "$b" cpu) of build $b ==="
	cat "${build_dir[$b]}/meson-logs/vhf-test-cpu.out"
done
trap - INT TERM
[ ${#cpu_pids[@]} -gt 0 ] && phase_times+=("unit/race/fuzz, builds side by side: $((SECONDS - t)) s")

# Integration suites: one at a time, alone.
for b in ${builds[@]}; do
	suites=$(suites_of "$b" integration)
	[ -n "$suites" ] || continue
	echo "=== suites $suites of build $b ==="
	t=$SECONDS
	# shellcheck disable=SC2086
	run_suites "$b" integration $suites || status=1
	logs+=("$b=${build_dir[$b]}/meson-logs/testlog-integration.json")
	phase_times+=("$suites ($b): $((SECONDS - t)) s")
done

echo "=== summary ==="
printf '%s\n' "${phase_times[@]}"
echo "total: $((SECONDS - t_start)) s (packages and builds included)"
# CI reads one closing line; meson's own summary is per build.
python3 "$top/usertools/vhf-testsummary.py" "${logs[@]}" || status=1
exit $status
