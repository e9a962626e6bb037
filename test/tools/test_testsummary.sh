#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors
#
# usertools/vhf-testsummary.py, on meson testlog.json records made up here: the
# closing line counts what passed, failed and was skipped, a missing log is a
# failure, and a failed test's "not ok" line and the diagnostics after it are
# printed with it (CI often shows only the end of the output), bounded in all.

here=$(cd "$(dirname "$0")" && pwd)
. "$here/../tap.sh"
summary=$here/../../usertools/vhf-testsummary.py

work=$(mktemp -d /tmp/vhf-testsummary-test.XXXXXX)
trap 'rm -rf "$work"' EXIT

tap_plan 5

# record NAME RESULT STDOUT: one testlog.json line.
record() {
	python3 -c 'import json, sys; print(json.dumps({"name": sys.argv[1], "result": sys.argv[2],
		"duration": 1.5, "stdout": sys.argv[3], "stderr": ""}))' "$@"
}

record "p:unit / a" OK $'1..1\nok 1 - fine\n' >"$work/a.json"
record "p:pmd / b" ERROR $'1..2\nok 1 - fine\nnot ok 2 - split-q1: host: RESULT FAIL\n# RESULT FAIL role host sent 3\n# STALL: nothing\n' >>"$work/a.json"
record "p:pmd / c" SKIP $'1..1\nok 1 # SKIP no kvm\n' >>"$work/a.json"
out=$(python3 "$summary" gcc="$work/a.json" gcc="$work/missing.json")
rc=$?

[ "$rc" = 1 ]
check $? "a failure makes the exit status 1 (got $rc)"
[ "$(tail -n 1 <<<"$out")" = "1 passed, 2 failed, 1 skipped" ]
check $? "the closing line counts the missing log as a failure: $(tail -n 1 <<<"$out")"
grep -A3 "^FAIL gcc p:pmd / b (ERROR)" <<<"$out" | grep -q "^  not ok 2 - split-q1: host: RESULT FAIL" &&
	grep -A3 "^FAIL gcc p:pmd / b (ERROR)" <<<"$out" | grep -q "^  # STALL: nothing"
check $? "a failed test's not ok line and its diagnostics follow its FAIL line"
! grep -q "ok 1 - fine" <<<"$out"
check $? "passed cases are not repeated"

# A test that fails with pages of diagnostics: the why stays bounded.
long=$'1..1\nnot ok 1 - x\n'
for i in $(seq 100); do long+="# line $i"$'\n'; done
: >"$work/b.json"
for t in 1 2 3 4; do record "p:pmd / t$t" FAIL "$long" >>"$work/b.json"; done
n=$(python3 "$summary" gcc="$work/b.json" | grep -c "^  ")
[ "$n" -le 30 ] && [ "$n" -ge 12 ]
check $? "four failed tests with 100 diagnostic lines each print $n lines of why (12 to 30)"

[ "$tap_failed" -eq 0 ]
