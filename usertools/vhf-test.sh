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
# Order: the Debian package suite (deb: mostly dpkg and mmdebstrap, its one
# traffic check waits for a count, not a rate; it builds its own packages)
# starts first and runs beside the three builds and then beside the other
# suites that do not depend on timing, the CPU-bound ones (tools, unit, race,
# fuzz) of the gcc and ASan builds; then the integration suites (processes,
# guests, OVS) one at a time, alone on the machine. Ends with each suite's count and duration and one closing line
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
# The shell-only tools suite goes with the ASan build, whose CPU-bound suites
# take less time than the gcc build's, so that both sides end together.
declare -A build_suites=([gcc]="unit race fuzz pmd app install deb qemu ovs" [asan]="tools unit race fuzz" [race]="qemu")
cpu_suites="tools unit race fuzz"
side_suites="deb"

wanted() { # wanted WORD LIST...: is WORD among LIST (an empty LIST takes everything)?
	local w=$1; shift
	[ $# -eq 0 ] && return 0
	local x
	for x in "$@"; do [ "$x" = "$w" ] && return 0; done
	return 1
}

# suites_of BUILD KIND(cpu|side|integration): the suites of BUILD to run as
# that kind (side: beside the cpu suites, in the same phase).
suites_of() {
	local s k out=()
	for s in ${build_suites[$1]}; do
		wanted "$s" "${only_suites[@]}" || continue
		k=integration
		wanted "$s" $cpu_suites && k=cpu
		wanted "$s" $side_suites && k=side
		[ "$k" = "$2" ] && out+=("$s")
	done
	echo "${out[@]}"
}

builds=()
for b in gcc asan race; do
	wanted "$b" "${only_builds[@]}" || continue
	[ -n "$(suites_of "$b" cpu)$(suites_of "$b" side)$(suites_of "$b" integration)" ] && builds+=("$b")
done

status=0
logs=()        # LABEL=testlog.json, for the summary
phase_times=() # lines for the summary

# test_targets DIR SUITES...: the files ninja must build for the tests of
# SUITES in DIR (what meson test itself would rebuild for them).
test_targets() {
	python3 - "$@" <<'EOF'
import json, os, subprocess, sys
d, suites = sys.argv[1], set(sys.argv[2:])
intro = lambda what: json.loads(subprocess.check_output(['meson', 'introspect', d, what]))
files = {t['id']: t['filename'] for t in intro('--targets')}
out = set()
for t in intro('--tests'):
    if suites & {s.split(':')[-1] for s in t['suite']}:
        for dep in t['depends']:
            out.update(os.path.relpath(f, d) for f in files[dep])
print('\n'.join(sorted(out)))
EOF
}

# The gcc build is built whole (the install suites look at everything it
# installs); the others only as far as their suites need: the ASan build
# skips the loadable PMD and the app, the race build is one app.
configure() {
	local b=$1 dir=${build_dir[$1]}
	[ -f "$dir/build.ninja" ] && return 0
	# shellcheck disable=SC2086
	CC=${build_cc[$b]} meson setup "$dir" ${build_args[$b]}
}

configure_and_build() {
	local b=$1 dir=${build_dir[$1]} targets
	configure "$b" || return 1
	[ "$b" = gcc ] && { ninja -C "$dir"; return; }
	# shellcheck disable=SC2046,SC2086
	targets=$(test_targets "$dir" $(suites_of "$b" cpu) $(suites_of "$b" side) \
		$(suites_of "$b" integration)) || return 1
	[ -n "$targets" ] || return 0
	# shellcheck disable=SC2086
	ninja -C "$dir" $targets
}

# run_suites BUILD PHASE SUITES... [--no-rebuild]: meson test with its own log name.
run_suites() {
	local b=$1 phase=$2; shift 2
	local dir=${build_dir[$b]} args=() s
	for s in "$@"; do
		case "$s" in --*) args+=("$s") ;; *) args+=(--suite "$s") ;; esac
	done
	# A stale log from an earlier run must not stand in for this one.
	rm -f "$dir/meson-logs/testlog-$phase.json"
	meson test -C "$dir" --print-errorlogs --num-processes 1 --repeat "$repeat" \
		--logbase "testlog-$phase" "${args[@]}"
}

# start_job BUILD KIND SUITES... [--no-rebuild]: run_suites in the background,
# its output kept for later.
side_pids=() side_jobs=()
start_job() {
	local b=$1 kind=$2 out
	out=${build_dir[$b]}/meson-logs/vhf-test-$kind.out
	mkdir -p "${build_dir[$b]}/meson-logs"
	run_suites "$@" >"$out" 2>&1 &
	side_pids+=($!)
	side_jobs+=("$b:$kind")
	logs+=("$b=${build_dir[$b]}/meson-logs/testlog-$kind.json")
}
# Stop the side-by-side runs with us.
trap '[ ${#side_pids[@]} -gt 0 ] && kill "${side_pids[@]}" 2>/dev/null; exit 130' INT TERM

# The side suites build nothing of ours (deb makes its packages from the
# source tree, not from a build directory): they start before the builds,
# once their build directory is configured, and run beside everything up to
# the integration suites.
t_side=$SECONDS
for b in "${builds[@]}"; do
	suites=$(suites_of "$b" side)
	[ -n "$suites" ] && configure "$b" >/dev/null || continue
	# shellcheck disable=SC2086
	start_job "$b" side $suites --no-rebuild
done

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

# The suites that do not depend on timing, side by side (2 cores): the CPU-bound
# ones of each build, beside the side ones already running; outputs shown in turn.
t=$SECONDS
for b in ${builds[@]}; do
	suites=$(suites_of "$b" cpu)
	# shellcheck disable=SC2086
	[ -n "$suites" ] && start_job "$b" cpu $suites
done
for i in "${!side_pids[@]}"; do
	b=${side_jobs[$i]%:*} kind=${side_jobs[$i]#*:}
	wait "${side_pids[$i]}" || status=1
	echo "=== suites $(suites_of "$b" "$kind") of build $b ==="
	cat "${build_dir[$b]}/meson-logs/vhf-test-$kind.out"
done
trap - INT TERM
[ ${#side_pids[@]} -gt 0 ] &&
	phase_times+=("side by side, ${side_jobs[*]}: $((SECONDS - t)) s after the builds (the side ones started $((t - t_side)) s before)")

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
