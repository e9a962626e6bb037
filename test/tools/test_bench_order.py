#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors
"""usertools/vhf-bench.py's order of a cell's runs under one guest, without
DPDK. A pair of backends flips every round. A triple (app-loop with
--app-mode poll,sleep) rotates: over any three consecutive rounds each of its
runs goes first, second and third once, so that no run keeps one place
(sleep mode, always second until 2026-12-07, read below poll mode where the
two, measured alone against net_vhost, were equal). TAP."""

import sys

import vhf_bench_module

bench_mod = vhf_bench_module.load()
SLEEP = bench_mod.SLEEP
checks = []


def check(ok, what):
    checks.append((bool(ok), what))


LOOP = {"dir": "app-loop", "ring": "packed", "mrg": 1, "in_order": 1, "size": 64}
GUEST_TX = dict(LOOP, dir="guest-tx")

pairs = [tuple(bench_mod.run_order(GUEST_TX, True, r)) for r in range(4)]
check(sorted(pairs[0]) == ["vhost", "vhostfix"], f"a pair is the two backends: {pairs[0]}")
check(pairs[1] == pairs[0][::-1] and pairs[2] == pairs[0] and pairs[3] == pairs[1],
      f"a pair flips every round: {pairs}")
loop_pairs = [tuple(bench_mod.run_order(LOOP, False, r)) for r in range(2)]
check(len(loop_pairs[0]) == 2 and loop_pairs[1] == loop_pairs[0][::-1],
      f"app-loop with one app mode: a pair, flipped: {loop_pairs}")

triples = [tuple(bench_mod.run_order(LOOP, True, r)) for r in range(7)]
check(all(sorted(t, key=str) == sorted(("vhostfix", SLEEP, "vhost"), key=str) for t in triples),
      f"a triple is both app modes and net_vhost: {triples[0]}")
for start in range(5):
    window = triples[start:start + 3]
    places = {run: sorted(t.index(run) for t in window) for run in window[0]}
    check(all(p == [0, 1, 2] for p in places.values()),
          f"rounds {start + 1}-{start + 3}: every run in every place once: {places}")
check(triples[0][0] == "vhostfix", f"the first round as before: poll mode first: {triples[0]}")

print(f"1..{len(checks)}")
for i, (ok, what) in enumerate(checks, 1):
    print(f"{'ok' if ok else 'not ok'} {i} - {what}")
sys.exit(0 if all(ok for ok, _ in checks) else 1)
