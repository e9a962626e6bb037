#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors
#
# Short libFuzzer run of a fuzz target over its seed corpora, reported as TAP.
#
#   run_smoke.sh FUZZER ARTIFACT_DIR RUNS MAX_SECONDS CORPUS_DIR...
#
# New inputs go to a scratch directory (the corpora in the source tree are
# only read). A crash, leak, timeout or violated invariant leaves its input in
# ARTIFACT_DIR and fails the test. The seed is fixed (VHF_FUZZ_SEED, default
# 1): every run tries the same inputs, so the verdict does not depend on which
# ones chance picked; longer runs with other seeds are for finding new bugs.

fuzzer=$1
artifacts=$2
runs=$3
max_time=$4
shift 4

echo "1..1"
scratch=$(mktemp -d) && log=$(mktemp) || { echo "not ok 1 - mktemp"; exit 1; }
trap 'rm -rf "$scratch" "$log"' EXIT
mkdir -p "$artifacts"

"$fuzzer" -seed="${VHF_FUZZ_SEED:-1}" -runs="$runs" -max_total_time="$max_time" -timeout=10 \
	-print_final_stats=1 \
	-artifact_prefix="$artifacts/" "$scratch" "$@" >"$log" 2>&1
rc=$?
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
# What was violated comes before the stack trace: show it even when the trace is long.
grep -E '^(fuzz|SUMMARY|==[0-9]+==ERROR)' "$log" | head -n 5 | sed 's/^/# /'
sed 's/^/# /' "$log" | tail -n 40
if [ "$rc" -eq 0 ] && [ -n "$execs" ]; then
	echo "ok 1 - libFuzzer ${execs} execs, ${cov:-cov: ?}"
	exit 0
fi
echo "not ok 1 - libFuzzer exit status $rc after ${execs:-?} execs (inputs in $artifacts)"
exit 1
