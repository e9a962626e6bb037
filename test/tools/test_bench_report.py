#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors
"""usertools/vhf_bench_report.py's summary on runs made up here (no DPDK): a
ratio compares the two backends on pairs of runs that saw one vCPU placement
throughout, a pair whose placement differed or changed is left out while
others remain, and a cell with none falls back to every pair, marked so. The
same for the core state (a vCPU's physical core shared with another busy
hardware thread, from vhf-linetrip's adds on CPUs 0 and 1): a pair whose two
runs saw the cores in different states is left out. The guest's own cycles per
packet (--guest-cycles) come from those same pairs. The backends, and sleep
mode against poll mode, also over every pair or triple, with a distribution-free
interval of the median. vhf-ovs-bench.sh's rounds go through the same rules. TAP."""

import contextlib
import io
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "../../usertools"))
from vhf_bench_report import (SLEEP, core_state, core_text, matched, median_ci,  # noqa: E402
                              ovs_core_lines, pairs_text, parse_ovs_runs, placement,
                              placement_text, print_guest_cycles, quiet_alu_ns, sleep_text,
                              summarize)

CELL = {"dir": "guest-tx", "ring": "packed", "mrg": 1, "in_order": 1, "size": 64}
FEATS = {"host_features": [0xd50008000], "guest_features": [0xd50008000]}
checks = []


def check(ok, what):
    checks.append((bool(ok), what))


def r3(spread):
    """A (median, min, max) rounded, for comparing quotients."""
    return tuple(round(v, 6) for v in spread)


def run(mpps, cycles, before, after, pair=None):
    r = dict(FEATS, mpps=mpps, cycles_per_pkt=cycles, line_rtt_ns=before,
             line_rtt_after_ns=after)
    r["placement"] = placement(r, 250)
    if pair is not None:
        r["pair"] = pair
    return r


# placement(): both probes decide, a change during the run is "mixed".
check(placement({"line_rtt_ns": 90, "line_rtt_after_ns": 120}, 250) == "close",
      "both probes short: close")
check(placement({"line_rtt_ns": 400, "line_rtt_after_ns": 450}, 250) == "apart",
      "both probes long: apart")
check(placement({"line_rtt_ns": 90, "line_rtt_after_ns": 450}, 250) == "mixed",
      "placement changed during the run: mixed")
check(placement({"line_rtt_ns": None}, 250) is None, "no probe: no placement")

# Round 0: close/close (ratio 1.2); its retry history: 1.0 apart/close left out;
# round 1: apart/apart (ratio 0.8); round 2: mixed on one side, no retry left.
runs = {"vhostfix": [run(10.0, 80, 400, 90, "0.0"), run(12.0, 80, 100, 90, "0.1"),
                     run(8.0, 90, 420, 430, "1.0"), run(50.0, 70, 90, 90, "2.0")],
        "vhost": [run(10.0, 100, 90, 100, "0.0"), run(10.0, 100, 100, 110, "0.1"),
                  run(10.0, 100, 400, 410, "1.0"), run(10.0, 100, 90, 500, "2.0")]}
s = summarize(CELL, runs)
check(s["features_match"], "same features: compared")
check(s["pairs"] == {"measured": 4, "matched": 2}, f"4 pairs, 2 matched: {s['pairs']}")
check(r3(s["ratio"]) == (1.0, 0.8, 1.2), f"ratios from the matched pairs only: {s['ratio']}")
check(r3(s["cycles_ratio"]) == (0.85, 0.8, 0.9),
      f"cycles ratios from the matched pairs only: {s['cycles_ratio']}")
check({k: r3(v) for k, v in s["ratio_by_placement"].items()} ==
      {"close": (1.2, 1.2, 1.2), "apart": (0.8, 0.8, 0.8)},
      f"ratio per placement: {s['ratio_by_placement']}")
check(placement_text(s) == "close 1 apart 1", f"pairs column: {placement_text(s)}")
check(s["cycles_best"] == {"vhostfix": 80, "vhost": 100} and
      round(s["cycles_best_ratio"], 6) == 0.8,
      f"cheapest run of each backend, from the matched pairs: {s['cycles_best']}")

# No pair in one placement: every pair counts, and the column says so.
runs = {"vhostfix": [run(11.0, 90, 90, 90, "0.0"), run(9.0, 90, 90, 90, "1.0")],
        "vhost": [run(10.0, 100, 400, 400, "0.0"), run(10.0, 100, 90, 400, "1.0")]}
s = summarize(CELL, runs)
check(s["pairs"]["matched"] == 0 and r3(s["ratio"]) == (1.0, 0.9, 1.1),
      f"nothing matched: all pairs used: {s['ratio']}")
check(placement_text(s) == "unmatched 2", f"pairs column: {placement_text(s)}")

# JSON from before pairs were named: runs paired by position, as then.
runs = {"vhostfix": [{**FEATS, "mpps": 12.0, "cycles_per_pkt": 80, "line_rtt_ns": 90}],
        "vhost": [{**FEATS, "mpps": 10.0, "cycles_per_pkt": 100, "line_rtt_ns": 95}]}
s = summarize(CELL, runs)
check(r3(s["ratio"]) == (1.2, 1.2, 1.2) and s["pairs"]["measured"] == 1,
      f"older JSON: paired by position: {s['ratio']}")

# core_state(): CPU 0 runs the guest's forwarding lcore, CPU 1 the host's; a CPU
# whose adds take more than 1.2x the quietest reading of either CPU is on a
# shared core.
QUIET = 60.0


def alu(before, after):
    return {"alu_ns": before, "alu_after_ns": after}


check(quiet_alu_ns([alu([62.0, 70.0], [60.0, 80.0]), alu([65.0, 61.0], [90.0, 64.0]), {}]) ==
      QUIET, "quietest reading of either CPU, runs without probes ignored")
# CPU 1's core shared throughout (the 15:14 smoke of 2026-12-06): its own
# quietest reading would call it quiet; against CPU 0's it reads shared.
shared_throughout = [alu([58.9, 83.8], [59.2, 85.0]), alu([59.0, 84.1], [58.9, 86.3])]
check([core_state(r, quiet_alu_ns(shared_throughout)) for r in shared_throughout] ==
      ["host-shared", "host-shared"], "one CPU shared throughout the run: still seen shared")
check(quiet_alu_ns([{}, {"alu_ns": None}]) is None, "nothing probed: no baseline")
check(core_state(alu([61.0, 62.0], [70.0, 71.0]), QUIET) == "quiet",
      "both CPUs within 1.2x before and after: quiet")
check(core_state(alu([61.0, 85.0], [62.0, 90.0]), QUIET) == "host-shared",
      "CPU 1 slow before and after: the host's core shared")
check(core_state(alu([82.0, 62.0], [95.0, 60.0]), QUIET) == "guest-shared",
      "CPU 0 slow before and after: the guest's core shared")
check(core_state(alu([82.0, 85.0], [95.0, 90.0]), QUIET) == "both-shared",
      "both slow: both-shared")
check(core_state(alu([61.0, 62.0], [61.0, 90.0]), QUIET) == "changed",
      "CPU 1 became shared during the run: changed")
check(core_state({"alu_ns": [61.0, 62.0]}, QUIET) is None and
      core_state(alu([61.0, 62.0], [61.0, 62.0]), None) is None,
      "one probe, or no baseline: not known")


def crun(mpps, core, pair):
    r = run(mpps, 100, 400, 400, pair)
    r["core"] = core
    return r


# One placement throughout, three core states: the pair whose runs differ (the
# host's core shared for net_vhost's run only, ratio 1.5) is left out; the two
# others each compare the backends in one state.
runs = {"vhostfix": [crun(22.0, "quiet", "0.0"), crun(21.0, "quiet", "1.0"),
                     crun(15.0, "host-shared", "2.0")],
        "vhost": [crun(20.0, "quiet", "0.0"), crun(14.0, "host-shared", "1.0"),
                  crun(10.0, "host-shared", "2.0")]}
s = summarize(CELL, runs)
check(s["pairs"] == {"measured": 3, "matched": 2}, f"3 pairs, 2 in one core state: {s['pairs']}")
check(r3(s["ratio"]) == (1.3, 1.1, 1.5), f"ratios from those two: {s['ratio']}")
check(s["core"]["quiet"] == 1 and s["core"]["host-shared"] == 1 and
      r3(s["ratio_by_core"]["quiet"]) == (1.1, 1.1, 1.1),
      f"pairs and ratios by core state: {s['core']} {s['ratio_by_core']['quiet']}")
check(core_text(s) == "quiet 1 host-shared 1", f"pairs column: {core_text(s)}")
check(not matched([crun(1, "changed", "0.0"), crun(1, "changed", "0.0")]),
      "a core state that changed during both runs: not matched")
check(matched([run(1, 1, 400, 400), run(1, 1, 400, 400)]) and
      core_text(summarize(CELL, {"vhostfix": [run(11.0, 90, 400, 400, "0.0")],
                                 "vhost": [run(10.0, 100, 400, 400, "0.0")]})) == "",
      "runs from before the core probe: matched by placement alone, no core column")

# A triple (poll, sleep, net_vhost) counts as matched only if all three runs are.
check(matched([run(1, 1, 90, 90), run(1, 1, 90, 90), run(1, 1, 90, 90)]), "triple all close")
check(not matched([run(1, 1, 90, 90), run(1, 1, 90, 90), run(1, 1, 400, 400)]),
      "triple with one run apart: not matched")

# --app-mode poll,sleep: sleep mode against poll mode from the triples that saw one
# placement; round 1's triple (one run apart) is left out while round 0's is there.
LOOP = dict(CELL, dir="app-loop")
runs = {"vhostfix": [run(20.0, 200, 90, 90, "0.0"), run(20.0, 200, 400, 400, "1.0")],
        SLEEP: [run(19.0, 220, 90, 90, "0.0"), run(10.0, 400, 90, 90, "1.0")],
        "vhost": [run(10.0, 300, 90, 90, "0.0"), run(10.0, 300, 90, 90, "1.0")]}
runs[SLEEP][0]["app_lcore"] = {"sleeps": 3, "sleep_aborted": 1, "slept_ms": 2}
runs[SLEEP][0]["app_window"] = {"sleeps": 0, "sleep_aborted": 0, "slept_ms": 0}
sl = summarize(LOOP, runs)["sleep"]
check(sl["features_match"] and sl["triples"] == {"measured": 2, "matched": 1},
      f"2 triples, 1 matched: {sl.get('triples')}")
check(r3(sl["ratio_poll"]) == (0.95, 0.95, 0.95) and r3(sl["ratio_vhost"]) == (1.9, 1.9, 1.9),
      f"sleep/poll and sleep/vhost from the matched triple: {sl['ratio_poll']} {sl['ratio_vhost']}")
check(round(sl["cycles_ratio_poll"][0], 6) == 1.1, f"cycles sleep/poll: {sl['cycles_ratio_poll']}")
check(sl["app_lcore"] == {"sleeps": 3, "sleep_aborted": 1, "slept_ms": 2},
      f"worker's sleeps carried: {sl.get('app_lcore')}")
check("sleep/poll 0.95" in sleep_text(sl) and "1 of 2 triples" in sleep_text(sl)
      and "worker in the window: sleeps 0, aborted 0" in sleep_text(sl),
      f"table line: {sleep_text(sl)}")
check("all 2 triples: sleep/poll" in sleep_text(sl) and "(fewer than 6)" in sleep_text(sl),
      f"every triple's median, too few for an interval: {sleep_text(sl)}")

# A sleep-mode run that negotiated other ring bits is not compared.
runs[SLEEP][0] = dict(runs[SLEEP][0], host_features=[0xd50008000 | 1 << 29])
sl = summarize(LOOP, runs)["sleep"]
check(not sl["features_match"] and "EVENT_IDX" in sl["note"],
      f"different features: not compared: {sl['note']}")
# Only the two backends (no sleep runs): no sleep summary.
check("sleep" not in summarize(LOOP, {k: v for k, v in runs.items() if k != SLEEP}),
      "no sleep-mode runs: no sleep summary")

# median_ci(): the k-th smallest and k-th largest, k from the binomial tail.
check(median_ci([5, 1, 4, 2, 3]) is None, "5 values: no 95% interval")
check(median_ci([6, 2, 5, 1, 4, 3]) == (1, 6), "6 values: min to max (P = 1/32)")
check(median_ci(range(1, 9)) == (1, 8), "8 values: still min to max (P(<= 1 below) > 2.5%)")
check(median_ci(range(1, 10)) == (2, 8), "9 values: the 2nd to the 8th")
check(median_ci(range(15, 0, -1)) == (4, 12), "15 values, given descending: the 4th to the 12th")

# Every triple, matched or not, with its interval: nine rounds whose placement
# moved in all but one, sleep/poll 0.90 in the matched one and 0.96-1.04 elsewhere.
ratios = [0.90, 0.96, 0.97, 0.98, 0.99, 1.00, 1.01, 1.02, 1.04]
runs = {"vhostfix": [], SLEEP: [], "vhost": []}
for i, q in enumerate(ratios):
    far = 90 if i == 0 else 400
    runs["vhostfix"].append(run(20.0, 200, 90, 90, f"{i}.0"))
    runs[SLEEP].append(run(20.0 * q, 200, 90, far, f"{i}.0"))
    runs["vhost"].append(run(10.0, 300, 90, 90, f"{i}.0"))
sl = summarize(LOOP, runs)["sleep"]
check(sl["triples"] == {"measured": 9, "matched": 1} and r3(sl["ratio_poll"])[0] == 0.9,
      f"the matched triple alone: {sl['triples']} {sl['ratio_poll']}")
check(r3(sl["ratio_poll_all"]) == (0.99, 0.9, 1.04)
      and tuple(round(v, 6) for v in sl["ratio_poll_all_ci"]) == (0.96, 1.02),
      f"all nine: median and interval: {sl['ratio_poll_all']} {sl['ratio_poll_all_ci']}")
check("all 9 triples: sleep/poll 0.99, 95% CI of the median 0.96-1.02" in sleep_text(sl),
      f"table line with the interval: {sleep_text(sl)}")

# fix/vhost over every pair too: six pairs, the first alone matched (1.2), the
# others' net_vhost run placed apart at its end (1.0-1.5).
runs = {"vhostfix": [], "vhost": []}
for i, q in enumerate([1.2, 1.0, 1.1, 1.3, 1.4, 1.5]):
    runs["vhostfix"].append(run(10.0 * q, 100, 90, 90, f"{i}.0"))
    runs["vhost"].append(run(10.0, 120, 90, 90 if i == 0 else 400, f"{i}.0"))
s = summarize(CELL, runs)
check(s["pairs"] == {"measured": 6, "matched": 1} and r3(s["ratio"])[0] == 1.2
      and r3(s["ratio_all"]) == (1.25, 1.0, 1.5) and r3(s["ratio_all_ci"]) == (1.0, 1.5),
      f"matched pair alone, every pair beside it: {s['ratio']} {s['ratio_all']} "
      f"{s['ratio_all_ci']}")
check(pairs_text(s).endswith("fix/vhost 1.25 (1.00-1.50) over 6 pairs, 95% CI of the "
                             "median 1.00-1.50"), f"its line: {pairs_text(s)!r}")
runs = {b: v[:3] for b, v in runs.items()}
check(pairs_text(summarize(CELL, runs)).endswith("- (fewer than 6)"),
      f"three pairs, one matched: no interval: {pairs_text(summarize(CELL, runs))!r}")
runs = {b: v[:1] for b, v in runs.items()}
check(pairs_text(summarize(CELL, runs)) == "", "every pair matched, too few: no line")

# vhf-bench.py --guest-cycles: the guest's own cost behind each backend, from the
# pairs the ratios come from (the one whose core state changed is left out here too).
def grun(core, pair, guest_cycles):
    r = crun(10.0, core, pair)
    r["guest_cycles_per_pkt"] = guest_cycles
    return r


runs = {"vhostfix": [grun("quiet", "0.0", 240.0), grun("quiet", "1.0", 210.0),
                     grun("changed", "2.0", 500.0)],
        "vhost": [grun("quiet", "0.0", 200.0), grun("quiet", "1.0", 210.0),
                  grun("quiet", "2.0", 100.0)]}
s = summarize(CELL, runs)
check(s["guest_cycles_per_pkt"] == {"vhostfix": 225.0, "vhost": 205.0}
      and r3(s["guest_cycles_ratio"]) == (1.1, 1.0, 1.2),
      f"guest cycles behind each backend, matched pairs only: {s['guest_cycles_per_pkt']} "
      f"{s['guest_cycles_ratio']}")


def guest_table(results):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        print_guest_cycles(results)
    return out.getvalue()


text = guest_table([{"cell": CELL, "summary": s}])
check("guest-tx packed" in text and "225     205  1.10 (1.00-1.20)" in text,
      f"their table: {text!r}")
# A cell whose backends negotiated different features compares nothing: no guest
# figures either, so the guest table has no line the main table calls "not compared".
runs["vhost"] = [dict(r, host_features=[0xd50008000 | 1 << 29]) for r in runs["vhost"]]
odd = summarize(CELL, runs)
check(not odd["features_match"] and "guest_cycles_per_pkt" not in odd
      and "guest_cycles_ratio" not in odd
      and guest_table([{"cell": CELL, "summary": odd}]) == "",
      "different features: no guest cycles compared, no line in their table")
plain = summarize(CELL, {b: [crun(10.0, "quiet", "0.0")] for b in ("vhostfix", "vhost")})
check("guest_cycles_per_pkt" not in plain
      and guest_table([{"cell": CELL, "summary": plain}]) == "",
      "runs without them (no --guest-cycles, older JSON): no such figures, no table")

# vhf-ovs-bench.sh's measurement lines: ring cell size backend round mpps, then
# vhf-linetrip's line ns and ALU ns on CPUs 0 and 1, before and after.
OVS = """split guest-rx 64 vhostfix 1 12.0 430 57.0 58.0 440 57.5 58.1
split guest-rx 64 vhost 1 8.0 431 57.0 85.0 445 57.5 86.0
split guest-rx 64 vhostfix 2 11.0 430 57.0 58.0 440 57.5 58.1
split guest-rx 64 vhost 2 10.0 431 57.0 58.0 445 57.5 59.0
split guest-rx 64 vhostfix 3 9.0 430 57.0 84.0 440 57.5 86.1
split guest-rx 64 vhost 3 6.0 431 57.0 85.0 445 57.5 86.0
split loop 64 vhostfix 1 5.0 - - - - - -
split loop 64 vhost 1 4.0 - - - - - -
a line cut short
"""
ovs = parse_ovs_runs(OVS)
check(len(ovs) == 8 and ovs[0]["alu_ns"] == [57.0, 58.0] and ovs[0]["line_rtt_after_ns"] == 440
      and ovs[6]["alu_ns"] is None and ovs[6]["line_rtt_ns"] is None,
      "OVS lines parsed, '-' as not probed, a short line skipped")
lines = ovs_core_lines(ovs)
check("quietest ALU reading 57.0 ns" in lines[0], f"OVS baseline: {lines[0]}")
check("guest-rx split 64" in lines[1]
      and "1.30 (1.10-1.50), 2 of 3 rounds matched (apart 2)" in lines[1]
      and "quiet 1: 1.10" in lines[1] and "host-shared 1: 1.50" in lines[1],
      f"OVS rounds: the one whose host core changed state between backends left out: {lines[1]}")
check("loop split 64" in lines[2] and "no matched round of 1" in lines[2],
      f"OVS rounds not probed: none matched: {lines[2]}")

print(f"1..{len(checks)}")
for i, (ok, what) in enumerate(checks, 1):
    print(f"{'ok' if ok else 'not ok'} {i} - {what}")
sys.exit(0 if all(ok for ok, _ in checks) else 1)
