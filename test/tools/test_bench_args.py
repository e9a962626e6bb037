#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors
"""usertools/vhf-bench.py's --guest-args, without DPDK: the words given reach the
guest testpmd's command line after the benchmark's own arguments (so that they
override them), under every backend of a pair alike (one guest serves both), and
the table says they were used. TAP."""

import contextlib
import importlib.util
import io
import os
import sys

USERTOOLS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../usertools")
sys.path.insert(0, USERTOOLS)
spec = importlib.util.spec_from_file_location("vhf_bench",
                                              os.path.join(USERTOOLS, "vhf-bench.py"))
bench_mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench_mod)
from vhf_bench_report import print_table  # noqa: E402

CELL = {"dir": "guest-tx", "ring": "split", "mrg": 1, "in_order": 0, "size": 9000}
checks = []


def check(ok, what):
    checks.append((bool(ok), what))


parser = bench_mod.arg_parser()
args = parser.parse_args([])
check(args.guest_args == [], f"none by default: {args.guest_args}")
args = parser.parse_args(["--guest-args=--txfreet=224 --txd='512'"])
check(args.guest_args == ["--txfreet=224", "--txd=512"],
      f"split as a shell would: {args.guest_args}")

b = bench_mod.Bench(args, "/nonexistent/plugin.so", "/nonexistent")
argv = b.guest_argv(CELL, ["/nonexistent/s.0.sock"], "txonly")
check(argv[-2:] == ["--txfreet=224", "--txd=512"], f"given last: {argv[-4:]}")
check("--forward-mode=txonly" in argv and argv.index("--forward-mode=txonly") < len(argv) - 2,
      "after the benchmark's own testpmd arguments")
check("--txpkts=2048,2048,2048,2048,808" in argv, "the frame's segments still given")
check(b.guest_argv(CELL, ["/nonexistent/s.0.sock"], "txonly") == argv,
      "the same command line every time (one guest serves both backends)")

out = io.StringIO()
with contextlib.redirect_stdout(out):
    print_table([], args, "none")
check("guest testpmd with: --txfreet=224 --txd=512" in out.getvalue(),
      "the table says which guest arguments were used")
out = io.StringIO()
with contextlib.redirect_stdout(out):
    print_table([], parser.parse_args([]), "none")
check("guest testpmd with" not in out.getvalue(), "and says nothing without them")

print(f"1..{len(checks)}")
for i, (ok, what) in enumerate(checks, 1):
    print(f"{'ok' if ok else 'not ok'} {i} - {what}")
sys.exit(0 if all(ok for ok, _ in checks) else 1)
