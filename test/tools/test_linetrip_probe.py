#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors
"""usertools/vhf-linetrip (argv[1]) as vhf-bench.py reads it: a line's round
trip between CPUs 0 and 1 and the ns of 1000 adds on each, both found and
positive (their size is the machine's, not checked); its usage errors; and
the output of a build from before the ALU probe read as no ALU figures. On a
machine with one CPU there is no CPU 1 to probe: SKIP. TAP."""

import os
import subprocess
import sys

import vhf_bench_module

bench_mod = vhf_bench_module.load()

linetrip = sys.argv[1]
checks = []


def check(ok, what):
    checks.append((bool(ok), what))


if not {0, 1} <= os.sched_getaffinity(0):
    print("1..0 # SKIP vhf-linetrip probes CPUs 0 and 1; this process may not run on both")
    sys.exit(0)

rtt, alu = bench_mod.cpu_probe(linetrip)
check(isinstance(rtt, int) and rtt > 0, f"round trip found: {rtt}")
check(alu is not None and len(alu) == 2 and all(v > 0 for v in alu),
      f"ns per 1000 adds on CPUs 0 and 1 found: {alu}")

bad = subprocess.run([linetrip, "0"], capture_output=True, text=True)
check(bad.returncode == 2 and "usage" in bad.stderr, f"one CPU named: usage, exit 2 ({bad.returncode})")
bad = subprocess.run([linetrip, "0", "4095"], capture_output=True, text=True)
check(bad.returncode == 1 and "cannot run on CPU 4095" in bad.stderr,
      f"a CPU not there is named: {bad.stderr.strip()}")

check(bench_mod.parse_probe("line_round_trip_ns 412\n") == (412, None),
      "an older vhf-linetrip's output: round trip, no ALU figures")
check(bench_mod.cpu_probe("/nonexistent/vhf-linetrip") == (None, None),
      "no vhf-linetrip: nothing probed")

print(f"1..{len(checks)}")
for i, (ok, what) in enumerate(checks, 1):
    print(f"{'ok' if ok else 'not ok'} {i} - {what}")
sys.exit(0 if all(ok for ok, _ in checks) else 1)
