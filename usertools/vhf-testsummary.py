#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors
"""Sum meson testlog.json files: a line per build and suite with its counts and
the time its tests took, then one closing line 'N passed, N failed, N skipped'.

Arguments are [LABEL=]PATH. A missing log counts as one failure: a build that
did not get as far as its tests must not read as green. A test run several
times (meson test --repeat) counts once per run.

A failed test also gets a few lines of why, between its FAIL line and the table:
its "not ok" lines and the diagnostics that follow the first of them (TAP "#"
lines), or the end of its output when it printed no TAP. CI often shows only the
end of the output, and a flaky failure that cannot be reproduced is fixed from
those lines or not at all.
"""
import json
import sys
from collections import OrderedDict

# Lines of why per failed test, and in all (the end of the output stays short).
WHY_LINES_PER_TEST = 12
WHY_LINES_TOTAL = 30


def why_failed(t):
    """The lines that say why test record t failed, most telling first."""
    out = (t.get("stdout") or "").splitlines()
    not_ok = [l for l in out if l.startswith("not ok")]
    if not not_ok:
        tail = [l for l in out if l.strip()][-WHY_LINES_PER_TEST // 2:]
        err = [l for l in (t.get("stderr") or "").splitlines() if l.strip()]
        return tail + err[-WHY_LINES_PER_TEST // 2:]
    first = out.index(not_ok[0])
    diag = [l for l in out[first + 1:] if l.startswith("#")]
    why = not_ok[:4] + diag
    return why[:WHY_LINES_PER_TEST]


def main(args):
    passed = failed = skipped = 0
    why_budget = WHY_LINES_TOTAL
    rows = OrderedDict()  # (label, suite) -> [passed, failed, skipped, seconds]
    for arg in args:
        label, _, path = arg.rpartition("=")
        label = label or path
        try:
            with open(path, encoding="utf-8") as f:
                lines = [l for l in f if l.strip()]
        except OSError:
            print(f"{label}: {path} missing (build or test run failed)")
            failed += 1
            continue
        for line in lines:
            t = json.loads(line)
            # "project:suite / test"
            name = t.get("name", "")
            suite = name.split(" / ", 1)[0].rpartition(":")[2] if " / " in name else "-"
            row = rows.setdefault((label, suite), [0, 0, 0, 0.0])
            row[3] += float(t.get("duration") or 0.0)
            res = t.get("result")
            if res in ("OK", "EXPECTEDFAIL"):
                passed += 1
                row[0] += 1
            elif res == "SKIP":
                skipped += 1
                row[2] += 1
                print(f"SKIP {label} {t.get('name')}")
            else:
                failed += 1
                row[1] += 1
                print(f"FAIL {label} {t.get('name')} ({res})")
                for l in why_failed(t)[:why_budget]:
                    print(f"  {l[:200]}")
                    why_budget -= 1
    if rows:
        print(f"{'build':6} {'suite':6} {'passed':>6} {'failed':>6} {'skipped':>7} {'time':>8}")
        for (label, suite), (p, f, s, secs) in rows.items():
            print(f"{label:6} {suite:6} {p:6d} {f:6d} {s:7d} {secs:7.0f}s")
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
