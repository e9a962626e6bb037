#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors
#
# Short libFuzzer run of a fuzz target over its seed corpora, reported as TAP.
#
#   run_smoke.sh FUZZER ARTIFACT_DIR RUNS CORPUS_DIR...
#
# New inputs go to a scratch directory (the corpora in the source tree are
# only read). A crash, leak, timeout or violated invariant leaves its input in
# ARTIFACT_DIR and fails the test.
#
# Every run tries the same inputs, so that the verdict does not depend on
# which ones chance picked (longer runs with other seeds are for finding new
# bugs). A fixed seed (VHF_FUZZ_SEED, default 1) is not enough for that:
# libFuzzer learns values from the compares it sees, and some are addresses on
# the stack or in the heap, which move with address-space randomisation, with
# the size of the environment and of the command line (they sit at the top of
# the stack), and with MALLOC_PERTURB_, which meson sets to a random value. So
# the fuzzer runs with randomisation off (setarch -R), a fixed environment, and
# a command line of fixed length: the fuzzer and the seeds reached through a
# scratch directory of mktemp's fixed-length name. The seeds are copied into
# one directory, so that libFuzzer's order (size, then path) does not depend
# on where the checkout is. libFuzzer's re-reading of its corpus directory
# every second (-reload) is off: it made the inputs depend on when a second
# passed. No time limit either: a run on a slower machine tries the same RUNS
# inputs (meson's timeout catches a hang). fuzz_pmd.c does its part for the
# EAL and the driver (a pid of fixed length, the log's rate limit per input).
#
# Where randomisation cannot be turned off (personality(2) refused), the run
# goes on without it and says so: its inputs may then differ from run to run.

fuzzer=$1
artifacts=$2
runs=$3
shift 3

echo "1..1"
work=$(mktemp -d /tmp/vhf-smoke.XXXXXX) || { echo "not ok 1 - mktemp"; exit 1; }
trap 'rm -rf "$work"' EXIT
trap 'exit 1' HUP INT TERM
mkdir -p "$artifacts" "$work/new" "$work/seeds" "$work/artifacts"
for dir in "$@"; do
	[ -d "$dir" ] || continue
	# Same content, same name (libFuzzer's files are named by their SHA-1): -n keeps one.
	find "$dir" -maxdepth 1 -type f -exec cp -n {} "$work/seeds/" \;
done
ln -s "$(readlink -f "$fuzzer")" "$work/fuzzer"

norand="setarch $(uname -m) -R"
if ! $norand true 2>/dev/null; then
	echo "# address-space randomisation cannot be turned off here: the inputs tried may differ between runs"
	norand=
fi
cd "$work" || exit 1
# shellcheck disable=SC2086 # $norand: a command and its arguments, or nothing
env -i PATH=/usr/bin:/bin \
	ASAN_OPTIONS=abort_on_error=1:halt_on_error=1:print_summary=1 \
	UBSAN_OPTIONS=abort_on_error=1:halt_on_error=1:print_summary=1:print_stacktrace=1 \
	$norand ./fuzzer -seed="${VHF_FUZZ_SEED:-1}" -runs="$runs" -timeout=10 -reload=0 \
	-print_final_stats=1 -artifact_prefix=artifacts/ new seeds >log 2>&1
rc=$?
cd - >/dev/null || exit 1
# An input that failed, kept where the caller looks for it.
find "$work/artifacts" -type f -exec cp {} "$artifacts/" \;
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -n 1)
cov=$(grep -o 'cov: [0-9]*' "$work/log" | tail -n 1)
found=$(find "$work/new" -type f | wc -l)
# What was violated comes before the stack trace: show it even when the trace is long.
grep -E '^(fuzz|SUMMARY|==[0-9]+==ERROR)' "$work/log" | head -n 5 | sed 's/^/# /'
sed 's/^/# /' "$work/log" | tail -n 40
# The same inputs tried, run after run: the new ones libFuzzer kept, by name (their SHA-1).
echo "# new inputs: $found, digest $(find "$work/new" -type f -printf '%f\n' | sort | sha1sum | cut -c1-12)"
if [ "$rc" -eq 0 ] && [ -n "$execs" ]; then
	echo "ok 1 - libFuzzer ${execs} execs, ${cov:-cov: ?}"
	exit 0
fi
echo "not ok 1 - libFuzzer exit status $rc after ${execs:-?} execs (inputs in $artifacts)"
exit 1
