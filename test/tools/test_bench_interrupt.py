#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors
"""usertools/vhf-bench.py cut short by SIGTERM or SIGINT (without DPDK: a
stand-in for the pairs of runs). What was measured before the signal is
reported: the table and the JSON hold every whole pair, the cells not reached
are left out and named by count, the JSON says which signal in which round, and
the exit status is 128 + the signal's number. A pair caught half-added (one
backend's run recorded, not the other's) is left out. TAP."""

import contextlib
import io
import json
import os
import signal
import sys
import tempfile

import vhf_bench_module

bench_mod = vhf_bench_module.load()

FEATS = [0xd50008000]
checks = []


def check(ok, what):
    checks.append((bool(ok), what))


def fake_run(mpps):
    """One run as Bench.run_pair() returns it: probed close and quiet."""
    return {"host_features": FEATS, "guest_features": FEATS, "mpps": mpps,
            "cycles_per_pkt": 100.0 / mpps, "line_rtt_ns": 100, "line_rtt_after_ns": 110,
            "alu_ns": [1.0, 1.0], "alu_after_ns": [1.0, 1.0]}


class StandIn:
    """Bench's run_pair(): whole pairs, then the signal on call number stop_at
    (KeyboardInterrupt with the signal's number, as main()'s SIGTERM handler
    raises it; Python's own for SIGINT has none)."""

    def __init__(self, args, stop_at, exc):
        self.args = args
        self.calls = 0
        self.stop_at = stop_at
        self.exc = exc

    def run_pair(self, cell, order, tag, probe):
        self.calls += 1
        if self.calls == self.stop_at:
            raise self.exc
        return [fake_run(12.0 if b == "vhostfix" else 10.0) for b in order]


def interrupted_run(exc, stop_at, rounds):
    """measure() then report() on four cells; (exit status, stdout, JSON)."""
    with tempfile.TemporaryDirectory() as tmp:
        out_json = os.path.join(tmp, "bench.json")
        args = bench_mod.arg_parser().parse_args(
            ["--cells", "guest-rx", "--rings", "split,packed", "--mrg", "on",
             "--in-order", "on,off", "--sizes", "64", "--rounds", str(rounds),
             "--retries", "0", "--json", out_json])
        cells = bench_mod.matrix(args)
        results = [{"cell": c, "runs": {b: [] for b in bench_mod.runners_of(c, False)}}
                   for c in cells]
        probed = []
        old_int = signal.getsignal(signal.SIGINT)
        old_term = signal.getsignal(signal.SIGTERM)
        stand_in = StandIn(args, stop_at, exc)
        out = io.StringIO()
        status = None
        try:
            with contextlib.redirect_stdout(out):
                interrupted = bench_mod.measure(stand_in, results, probed, False)
                try:
                    bench_mod.report(results, probed, args, interrupted)
                except SystemExit as e:
                    status = e.code
        finally:
            signal.signal(signal.SIGINT, old_int)
            signal.signal(signal.SIGTERM, old_term)
        data = json.load(open(out_json)) if os.path.exists(out_json) else None
        return len(cells), status, out.getvalue(), data


# SIGTERM during the third pair of one round over four cells: two cells measured.
ncells, status, out, data = interrupted_run(KeyboardInterrupt(signal.SIGTERM), 3, 1)
check(ncells == 4, f"four cells asked for: {ncells}")
check(status == 128 + signal.SIGTERM, f"exit status 128 + SIGTERM: {status}")
check("interrupted by SIGTERM in round 1 of 1" in out and "in 2 of 4 cell(s)" in out,
      f"says what cut it short and how much was measured: {out.splitlines()[:1]}")
check(data is not None, "the JSON written")
if data:
    check(data["meta"]["interrupted"] == {"signal": 15, "signal_name": "SIGTERM", "round": 1,
                                          "cells": 4, "cells_measured": 2},
          f"the JSON says so too: {data['meta']['interrupted']}")
    check(len(data["cells"]) == 2 and all(
        len(c["runs"]["vhostfix"]) == 1 and len(c["runs"]["vhost"]) == 1 for c in data["cells"]),
        "the two cells measured, one whole pair each")
    check(all(abs(c["summary"]["ratio"][0] - 1.2) < 1e-9 for c in data["cells"]),
          "each summarized as usual (ratio 1.2)")
check(sum(1 for line in out.splitlines() if line.startswith("guest-rx ")) == 2,
      "the table has a row for each measured cell")

# SIGINT (Python's KeyboardInterrupt, no number) in round 2: every cell has round 1.
ncells, status, out, data = interrupted_run(KeyboardInterrupt(), 6, 2)
check(status == 128 + signal.SIGINT, f"SIGINT: exit status 130: {status}")
check(data is not None and data["meta"]["interrupted"]["round"] == 2 and
      data["meta"]["interrupted"]["signal_name"] == "SIGINT" and len(data["cells"]) == 4,
      "SIGINT in round 2: all four cells, with round 1's pairs")

# A signal before any pair: nothing measured, said so, still no traceback.
ncells, status, out, data = interrupted_run(KeyboardInterrupt(signal.SIGTERM), 1, 1)
check(status == 143 and "in 0 of 4 cell(s)" in out and data is not None and data["cells"] == [],
      f"interrupted before the first pair: an empty report, exit 143: {status}")

# Not interrupted: measure() says None, and report() exits 0.
ncells, status, out, data = interrupted_run(KeyboardInterrupt(), 0, 1)
check(status == 0 and data is not None and data["meta"]["interrupted"] is None and
      len(data["cells"]) == 4 and "interrupted" not in out,
      f"a whole run: every cell, exit 0: {status}")

# keep_whole_pairs(): a pair with only one backend's run recorded is left out,
# the whole pairs of that cell kept; a failed cell stays, to be shown as failed.
runs = {"vhostfix": [dict(fake_run(12.0), pair="0.0"), dict(fake_run(12.0), pair="1.0")],
        "vhost": [dict(fake_run(10.0), pair="0.0")]}
kept = bench_mod.keep_whole_pairs([
    {"cell": {"dir": "guest-rx"}, "runs": runs},
    {"cell": {"dir": "guest-tx"}, "runs": {"vhostfix": [], "vhost": []}, "error": "no guest"},
    {"cell": {"dir": "app-loop"}, "runs": {"vhostfix": [dict(fake_run(1.0), pair="0.0")],
                                           "vhost": []}}])
check(len(kept) == 2 and [r["pair"] for r in kept[0]["runs"]["vhostfix"]] == ["0.0"] and
      kept[1].get("error") == "no guest",
      "half-added pairs left out, whole ones kept, a failed cell kept")

print(f"1..{len(checks)}")
for i, (ok, what) in enumerate(checks, 1):
    print(f"{'ok' if ok else 'not ok'} {i} - {what}")
sys.exit(0 if all(ok for ok, _ in checks) else 1)
