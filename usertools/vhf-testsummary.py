#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors
"""Sum meson testlog.json files into one line: 'N passed, N failed, N skipped'.

A missing log counts as one failure: a build that did not get as far as its
tests must not read as green.
"""
import json
import sys


def main(paths):
    passed = failed = skipped = 0
    for path in paths:
        try:
            with open(path, encoding="utf-8") as f:
                lines = [l for l in f if l.strip()]
        except OSError:
            print(f"{path}: missing (build or test run failed)")
            failed += 1
            continue
        for line in lines:
            t = json.loads(line)
            res = t.get("result")
            if res in ("OK", "EXPECTEDFAIL"):
                passed += 1
            elif res == "SKIP":
                skipped += 1
                print(f"SKIP {t.get('name')}")
            else:
                failed += 1
                print(f"FAIL {t.get('name')} ({res})")
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
