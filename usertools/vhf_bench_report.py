# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors
"""usertools/vhf-bench.py's summary: feature comparison, ratios, table and chart."""

import math
import statistics
import sys

DIRECTIONS = ("guest-rx", "guest-tx", "app-loop")
BACKENDS = ("vhostfix", "vhost")
# app-loop with --app-mode poll,sleep: dpdk-vhostfix in sleep mode, a third run
# under the pair's guest beside the poll-mode one ("vhostfix") and net_vhost's.
SLEEP = "vhostfix_sleep"
# vhf-bench.py --loop-prime's default: the app loop's guest sends 32 bursts per port.
LOOP_PRIME_DEFAULT = 32
# What app-loop's cycles per packet are, in the table's footnote and the JSON's meta.
APP_LOOP_CYCLES = ("busy cycles as well: testpmd io's, and dpdk-vhostfix's worker's "
                   "(telemetry busy_cycles over its streams' packets received)")

# Virtio feature bits, for the messages (virtio 1.2, 5.1.3 and 6).
FEATURE_NAMES = {
    0: "CSUM", 1: "GUEST_CSUM", 2: "CTRL_GUEST_OFFLOADS", 3: "MTU", 5: "MAC", 6: "GSO",
    7: "GUEST_TSO4", 8: "GUEST_TSO6", 9: "GUEST_ECN", 10: "GUEST_UFO", 11: "HOST_TSO4",
    12: "HOST_TSO6", 13: "HOST_ECN", 14: "HOST_UFO", 15: "MRG_RXBUF", 16: "STATUS",
    17: "CTRL_VQ", 18: "CTRL_RX", 19: "CTRL_VLAN", 21: "GUEST_ANNOUNCE", 22: "MQ",
    23: "CTRL_MAC_ADDR", 26: "LOG_ALL", 27: "ANY_LAYOUT", 28: "INDIRECT_DESC",
    29: "EVENT_IDX", 30: "PROTOCOL_FEATURES", 32: "VERSION_1", 33: "ACCESS_PLATFORM",
    34: "RING_PACKED", 35: "IN_ORDER", 36: "ORDER_PLATFORM", 37: "SR_IOV",
    38: "NOTIFICATION_DATA", 63: "SPEED_DUPLEX",
}
# Bits that only describe the device's config space (a MAC, an MTU, a link
# status, a speed to read): they never change how a ring is walked or a packet
# is laid out. A difference there is printed, not a reason to refuse a cell.
CONFIG_ONLY_BITS = (3, 5, 16, 21, 63)
CONFIG_ONLY_MASK = sum(1 << b for b in CONFIG_ONLY_BITS)
# vhf-linetrip's round trip at or above which the vCPUs count as placed apart
# (readings here: 70-190 ns close, 350-490 ns apart).
APART_NS = 250
PLACEMENTS = ("close", "apart")
# vhf-linetrip's other probe, ns per 1000 independent adds on each CPU: higher
# by this factor than the quietest reading of the benchmark run, a CPU's
# physical core counts as shared with another busy hardware thread (here
# 57-67 ns quiet, 80-100 shared; the side on a shared core runs at about 0.7 of
# its rate, either backend: doc/bench-2026-12-06e.md).
CORE_SHARED_FACTOR = 1.2
# Whose forwarding lcore each probed CPU runs: the guest's on CPU 0, the host's
# on CPU 1 (vhf-bench.py's --lcores and -l).
CORE_SIDES = ("guest", "host")
CORE_STATES = ("quiet", "host-shared", "guest-shared", "both-shared")
# The chart's range of ratios.
RATIO_CLIP = (0.1, 10.0)


def bit_names(mask):
    return ",".join(FEATURE_NAMES.get(b, f"bit{b}") for b in range(64) if mask >> b & 1) or "-"


def cell_name(c):
    return (f"{c['dir']} {c['ring']} mrg={'on' if c['mrg'] else 'off'} "
            f"in-order={'on' if c['in_order'] else 'off'} {c['size']} B")


def features_verdict(runs):
    """Compare the negotiated bits of both backends: (same, message)."""
    seen = {}
    for b in BACKENDS:
        host = {tuple(r["host_features"]) for r in runs[b]}
        guest = {tuple(r["guest_features"]) for r in runs[b]}
        if any(None in h for h in host):
            return False, f"net_{b}: negotiated features not found in the host log"
        if len(host) != 1 or len(guest) != 1:
            return False, f"net_{b}: different features negotiated in different rounds"
        seen[b] = (next(iter(host)), next(iter(guest)))
    ignore = CONFIG_ONLY_MASK
    fix, ref = seen["vhostfix"], seen["vhost"]
    notes = []
    for side, a, b in (("host", fix[0], ref[0]), ("guest", fix[1], ref[1])):
        for x, y in zip(a, b):
            diff = x ^ y
            if diff & ~ignore:
                return False, (f"features differ ({side} side): net_vhostfix {x:#x} vs net_vhost "
                               f"{y:#x}, bits {bit_names(diff & ~ignore)}")
            if diff:
                notes.append(f"config-only bits differ: {bit_names(diff)}")
    return True, "; ".join(sorted(set(notes)))


def spread(values):
    if not values:
        return None, None, None
    return statistics.median(values), min(values), max(values)


def median_ci(values, conf=0.95):
    """A distribution-free confidence interval of the median: (low, high), the
    k-th smallest and k-th largest value for the largest k such that fewer than
    k values fall below the median with probability at most (1 - conf) / 2
    (a binomial count with p = 1/2), or None when there are too few values for
    conf (fewer than 6 at 0.95). It assumes only that the values are independent
    draws of one distribution, as rounds with a rotating order are."""
    xs = sorted(values)
    n = len(xs)
    tail, below, k = (1 - conf) / 2, 0, 0
    # below: how many of the 2**n sign patterns put at most k values under the median.
    while k < n:
        below += math.comb(n, k)
        if below > tail * 2 ** n:
            break
        k += 1
    if k == 0:
        return None
    return xs[k - 1], xs[n - k]


def placement(run, apart_ns):
    """A run's vCPU placement from its probes before and after it: close, apart,
    mixed (it changed meanwhile) or None (not probed)."""
    probes = [run[k] for k in ("line_rtt_ns", "line_rtt_after_ns") if run.get(k)]
    if not probes:
        return None
    if max(probes) < apart_ns:
        return "close"
    if min(probes) >= apart_ns:
        return "apart"
    return "mixed"


def quiet_alu_ns(runs):
    """The quietest ALU probe of these runs on either CPU (the baseline
    core_state() compares with), or None if none was probed. One figure for
    both: they are the same core model, so a CPU whose core was shared
    throughout the run still reads slow against the other's quiet readings
    (only both shared throughout would pass for quiet)."""
    probes = [r[k] for r in runs for k in ("alu_ns", "alu_after_ns") if r.get(k)]
    if not probes:
        return None
    return min(min(p) for p in probes)


def core_state(run, quiet_ns):
    """Whether our vCPUs' physical cores were shared with another busy hardware
    thread, from the run's ALU probes before and after it against quiet_ns:
    quiet, host-shared, guest-shared, both-shared, changed (a CPU's state
    changed during the run) or None (not probed)."""
    probes = [run[k] for k in ("alu_ns", "alu_after_ns") if run.get(k)]
    if len(probes) < 2 or not quiet_ns:
        return None
    shared = []
    for cpu, side in enumerate(CORE_SIDES):
        seen = {p[cpu] > quiet_ns * CORE_SHARED_FACTOR for p in probes}
        if len(seen) != 1:
            return "changed"
        if seen.pop():
            shared.append(side)
    if not shared:
        return "quiet"
    return "both-shared" if len(shared) == 2 else f"{shared[0]}-shared"


def pairs_of(runs):
    """The (vhostfix, vhost) runs measured back to back, by the attempt each run
    names (JSON written before attempts existed: by position)."""
    if all("pair" in r for b in BACKENDS for r in runs[b]):
        ref = {r["pair"]: r for r in runs["vhost"]}
        return [(r, ref[r["pair"]]) for r in runs["vhostfix"] if r["pair"] in ref]
    return list(zip(runs["vhostfix"], runs["vhost"]))


def matched(pair):
    """Every run of a pair (or triple) in one known placement, unchanged
    throughout, and (when probed: runs from 2026-12-06 on) in one core state."""
    seen = {r.get("placement") for r in pair}
    if len(seen) != 1 or seen.pop() not in PLACEMENTS:
        return False
    cores = {r.get("core") for r in pair}
    return cores == {None} or (len(cores) == 1 and cores.pop() in CORE_STATES)


def features_differ(a, b):
    """The ring-relevant bits two runs negotiated differently (0: none), either side."""
    diff = 0
    for side in ("host_features", "guest_features"):
        for x, y in zip(a[side], b[side]):
            if x is None or y is None:
                return -1
            diff |= (x ^ y) & ~CONFIG_ONLY_MASK
    return diff


def sleep_summary(runs):
    """Sleep mode against poll mode (and net_vhost) under the same guests: the
    runs of a triple were measured back to back, like a pair's."""
    poll = {r["pair"]: r for r in runs["vhostfix"] if "pair" in r}
    ref = {r["pair"]: r for r in runs["vhost"] if "pair" in r}
    triples = [(poll[r["pair"]], r, ref[r["pair"]]) for r in runs[SLEEP]
               if r.get("pair") in poll and r["pair"] in ref]
    if not triples:
        return None
    for p, sl, _ in triples:
        diff = features_differ(p, sl)
        if diff:
            why = ("features not found in a host log" if diff < 0 else
                   f"features differ between poll and sleep mode: {bit_names(diff)}")
            return {"features_match": False, "note": why}
    good = [t for t in triples if matched(t)]
    use = good or triples
    out = {"features_match": True, "note": "",
           "triples": {"measured": len(triples), "matched": len(good)},
           "mpps": statistics.median(t[1]["mpps"] for t in use),
           "ratio_poll": spread([t[1]["mpps"] / t[0]["mpps"] for t in use if t[0]["mpps"] > 0]),
           "ratio_vhost": spread([t[1]["mpps"] / t[2]["mpps"] for t in use if t[2]["mpps"] > 0]),
           "cycles_per_pkt": spread([t[1]["cycles_per_pkt"] for t in use
                                     if t[1]["cycles_per_pkt"]])[0],
           "cycles_ratio_poll": spread([t[1]["cycles_per_pkt"] / t[0]["cycles_per_pkt"]
                                        for t in use
                                        if t[0]["cycles_per_pkt"] and t[1]["cycles_per_pkt"]])}
    # Every triple, matched or not: the rotation spreads whatever else the
    # machine did over both modes alike, so it widens their spread without
    # favouring either, and the interval says whether the rounds settle 0.95.
    every = [t[1]["mpps"] / t[0]["mpps"] for t in triples if t[0]["mpps"] > 0]
    out["ratio_poll_all"] = spread(every)
    out["ratio_poll_all_ci"] = median_ci(every)
    # What the app's worker did in the sleep-mode runs: over the whole run (its exit
    # stats) and within the measurement window (telemetry), when known.
    for key in ("app_lcore", "app_window"):
        stats = [t[1][key] for t in use if t[1].get(key)]
        if stats:
            out[key] = {k: statistics.median(s.get(k, 0) for s in stats)
                        for k in sorted({k for s in stats for k in s})}
    return out


def by_state(good, key, states):
    """The matched pairs by the state (placement or core) their runs saw: how many
    in each, and the spread of their Mpps ratios in each."""
    groups = {st: [p for p in good if p[0].get(key) == st] for st in states}
    return ({st: len(g) for st, g in groups.items()},
            {st: spread([p[0]["mpps"] / p[1]["mpps"] for p in g if p[1]["mpps"] > 0])
             for st, g in groups.items()})


def backend_spreads(pairs, key):
    """A per-run figure over pairs: each backend's spread of it (the runs that have
    it), and the spread of the pairs' fix/vhost ratios of it."""
    fix = [p[0].get(key) for p in pairs]
    ref = [p[1].get(key) for p in pairs]
    return ({"vhostfix": spread([v for v in fix if v]), "vhost": spread([v for v in ref if v])},
            spread([f / r for f, r in zip(fix, ref) if f and r]))


def summarize(cell, runs):
    same, note = features_verdict(runs)
    s = {"features_match": same, "note": note, "features": {
        b: {side: [f"{f:#x}" if f is not None else None for f in runs[b][0][side]]
            for side in ("host_features", "guest_features")} for b in BACKENDS}}
    pairs = pairs_of(runs)
    # Pairs whose two runs saw the vCPUs placed alike compare the backends; the
    # others only when no pair did (the table says so).
    good = [p for p in pairs if matched(p)]
    use = good or pairs
    s["pairs"] = {"measured": len(pairs), "matched": len(good)}
    s["placement"], ratio_by_placement = by_state(good, "placement", PLACEMENTS)
    s["core"], ratio_by_core = by_state(good, "core", CORE_STATES)
    fix = [p[0]["mpps"] for p in use]
    ref = [p[1]["mpps"] for p in use]
    s["mpps"] = {"vhostfix": statistics.median(fix), "vhost": statistics.median(ref)}
    cycles, cycles_ratio = backend_spreads(use, "cycles_per_pkt")
    s["cycles_per_pkt"] = {b: v[0] for b, v in cycles.items()}
    # Each backend's cheapest run: whatever else the machine does only adds
    # cycles, so on a busy machine the least disturbed runs compare best.
    s["cycles_best"] = {b: v[1] for b, v in cycles.items()}
    # The vCPU placement each run was measured in (vhf-linetrip), when known.
    s["line_rtt_ns"] = spread([r[k] for p in use for r in p
                               for k in ("line_rtt_ns", "line_rtt_after_ns") if r.get(k)])
    if same:
        # Each pair measured both backends back to back: the ratio of a pair
        # is the least disturbed by whatever else the machine did.
        s["ratio"] = spread([f / r for f, r in zip(fix, ref) if r > 0])
        s["cycles_ratio"] = cycles_ratio
        # Every pair as well, matched or not, with an interval of the median: a
        # matched figure may rest on one pair of six (doc/bench-2026-12-07g.md).
        every = [p[0]["mpps"] / p[1]["mpps"] for p in pairs if p[1]["mpps"] > 0]
        s["ratio_all"] = spread(every)
        s["ratio_all_ci"] = median_ci(every)
        best = s["cycles_best"]
        s["cycles_best_ratio"] = (best["vhostfix"] / best["vhost"]
                                  if best["vhostfix"] and best["vhost"] else None)
        s["ratio_by_placement"] = ratio_by_placement
        s["ratio_by_core"] = ratio_by_core
        # The guest's own cost behind each backend (vhf-bench.py --guest-cycles), when
        # kept: a comparison like the others, so only where the features match.
        guest, guest_ratio = backend_spreads(use, "guest_cycles_per_pkt")
        if any(v[0] is not None for v in guest.values()):
            s["guest_cycles_per_pkt"] = {b: v[0] for b, v in guest.items()}
            s["guest_cycles_ratio"] = guest_ratio
    if runs.get(SLEEP):
        s["sleep"] = sleep_summary(runs)
    return s


def counts_text(counts):
    """apart 2 close 1: the states that have pairs, with how many."""
    return " ".join(f"{st} {n}" for st, n in counts.items() if n)


def placement_text(s):
    """close 3 / apart 2 close 1 / unmatched 3: the pairs the ratios come from."""
    if s["pairs"]["matched"] == 0:
        return f"unmatched {s['pairs']['measured']}"
    return counts_text(s["placement"])


def core_text(s):
    """quiet 2 host-shared 1: the matched pairs by core state ('' if not probed)."""
    return counts_text(s.get("core", {}))


def minmax(sp):
    return f"({sp[1]:.2f}-{sp[2]:.2f})" if sp[0] is not None else "-"


def ci_text(ci):
    """A median_ci() interval as the table prints it."""
    return f"{ci[0]:.2f}-{ci[1]:.2f}" if ci else "- (fewer than 6)"


def pairs_text(s):
    """The line under a cell that left some of its pairs out, or has enough for
    an interval: fix/vhost over every pair, with a 95% interval of its median
    from six pairs on ('' when the row already counts every pair and there are
    too few for an interval)."""
    every, ci = s.get("ratio_all"), s.get("ratio_all_ci")
    if not every or every[0] is None or (s["pairs"]["matched"] in (0, s["pairs"]["measured"])
                                         and not ci):
        return ""
    return (f"{'  every pair':44} fix/vhost {every[0]:.2f} {minmax(every)} over "
            f"{s['pairs']['measured']} pairs, 95% CI of the median {ci_text(ci)}")


def sleep_text(sl):
    """The table's line under an app-loop cell measured in both app modes."""
    head = f"{'  sleep mode':44} "
    if not sl["features_match"]:
        return head + f"not compared: {sl['note']}"
    rp, rv, cp = sl["ratio_poll"], sl["ratio_vhost"], sl["cycles_ratio_poll"]
    t = sl["triples"]
    text = (head + f"{sl['mpps']:9.3f} Mpps, sleep/poll {fmt(rp[0], '.2f', 4)} "
            f"{minmax(rp)}, sleep/vhost {fmt(rv[0], '.2f', 4)}, cyc/pkt "
            f"{fmt(sl['cycles_per_pkt'], '.0f', 4)} (sleep/poll {fmt(cp[0], '.2f', 4)}), "
            + (f"{t['matched']} of {t['measured']} triples matched" if t["matched"]
               else f"unmatched {t['measured']}"))
    every, ci = sl.get("ratio_poll_all"), sl.get("ratio_poll_all_ci")
    if every and every[0] is not None:
        text += (f"; all {t['measured']} triples: sleep/poll {every[0]:.2f}, 95% CI of "
                 f"the median {ci_text(ci)}")
    for key, what in (("app_window", "in the window"), ("app_lcore", "per run")):
        lc = sl.get(key)
        if lc:
            text += (f"; worker {what}: sleeps {lc.get('sleeps', 0):.0f}, aborted "
                     f"{lc.get('sleep_aborted', 0):.0f}, slept {lc.get('slept_ms', 0):.0f} ms")
    return text


def fmt(v, spec, width):
    return f"{v:{width}{spec}}" if v is not None else f"{'-':>{width}}"


def print_table(results, args):
    print()
    print(f"{args.rounds} round(s) of {args.seconds:g} s after {args.warmup:g} s; ratios: "
          "median of the ratios of the pairs (min-max); cycles/packet fix/vhost < 1: net_vhostfix "
          "cheaper")
    if args.guest_args:
        print("guest testpmd with: " + " ".join(args.guest_args))
    print("guest memory on 2 MB hugepages" if args.guest_pages == "2M"
          else "guest memory on 4 KB pages (--no-huge)")
    if args.guest_queue_size:
        print(f"guest rings of {args.guest_queue_size} descriptors")
    if args.loop_prime != LOOP_PRIME_DEFAULT and "app-loop" in args.cells:
        print(f"app-loop primed with {args.loop_prime} bursts per port")
    print(f"{'cell':44} {'vhostfix':>9} {'vhost':>9} {'ratio':>5} {'(min-max)':11} "
          f"{'cyc/pkt fix':>11} {'vhost':>7} {'ratio':>5} {'(min-max)':11} {'best cyc':>13} "
          f"{'line ns':>9} pairs")
    for r in results:
        name = cell_name(r["cell"])
        if r.get("error"):
            print(f"{name:44} failed: {r['error']}")
            continue
        s = r["summary"]
        mp, cy = s["mpps"], s["cycles_per_pkt"]
        line = (f"{name:44} {mp['vhostfix']:9.3f} {mp['vhost']:9.3f} ")
        if not s["features_match"]:
            print(line + f"not compared: {s['note']}")
            continue
        rt, cr = s["ratio"], s["cycles_ratio"]
        mm = f"({rt[1]:.2f}-{rt[2]:.2f})" if rt[0] is not None else "-"
        cmm = f"({cr[1]:.2f}-{cr[2]:.2f})" if cr[0] is not None else "-"
        lr = s.get("line_rtt_ns") or (None, None, None)
        lmm = f"{lr[1]:.0f}-{lr[2]:.0f}" if lr[0] is not None else "-"
        best, bq = s.get("cycles_best") or {}, s.get("cycles_best_ratio")
        bc = (f"{best['vhostfix']:.0f}/{best['vhost']:.0f} {bq:.2f}" if bq is not None
              else "-")
        print(line + f"{fmt(rt[0], '.2f', 5)} {mm:11} {fmt(cy['vhostfix'], '.0f', 11)} "
              f"{fmt(cy['vhost'], '.0f', 7)} {fmt(cr[0], '.2f', 5)} {cmm:11} {bc:>13} {lmm:>9} "
              f"{placement_text(s)}" + (f", {core_text(s)}" if core_text(s) else "") +
              (f"  [{s['note']}]" if s["note"] else ""))
        every_pair = pairs_text(s)
        if every_pair:
            print(every_pair)
        if s.get("sleep"):
            print(sleep_text(s["sleep"]))
    print("Mpps: frames/s the receiving side counted (app-loop: both guest ports); cycles: "
          "testpmd busy cycles of the host's forwarding lcore (guest-rx/tx)"
          f", app-loop: {APP_LOOP_CYCLES}; best cyc: each backend's "
          "cheapest run (fix/vhost, their ratio): the least disturbed on a busy machine, "
          "where the medians move with the load; line ns: a cache line's round "
          "trip between CPUs 0 and 1 before and after each run (vhf-linetrip, min-max), the "
          "VM's vCPU placement: guest-bound cells run faster when it is short; pairs: the "
          "back-to-back pairs of runs the figures come from, by placement (close: every "
          f"probe of both runs under {APART_NS} ns, apart: every one at or above) "
          "and by core state (vhf-linetrip's adds on CPUs 0 and 1 before and after each "
          f"run, against the quietest: more than {CORE_SHARED_FACTOR}x, that vCPU's core "
          "shared with another busy hardware thread, the guest's forwarding lcore on CPU 0, "
          "the host's on CPU 1; the side on a shared core runs slower with either backend); "
          "'unmatched': no pair of the cell saw one placement and one core state "
          "throughout, all are used; 'every pair' (under a cell that left pairs out, or "
          "has six or more): fix/vhost over all its pairs, with a 95% confidence interval "
          "of their median")
    if any(r.get("summary", {}).get("sleep") for r in results):
        print("sleep mode: from the matched triples as above; 'all N triples': the median "
              "sleep/poll of every triple and a 95% confidence interval of that median "
              "(order statistics, none under 6 triples), which the rotating order makes "
              "fair to both modes: an interval above 0.95 settles sleep mode's goal, one "
              "that straddles it needs more rounds")
    print_guest_cycles(results)


def print_guest_cycles(results):
    """The guest's own cost behind each backend (vhf-bench.py --guest-cycles), from
    the same pairs as the table's ratios; nothing when no run kept it."""
    cells = [r for r in results
             if not r.get("error") and r["summary"].get("guest_cycles_per_pkt")]
    if not cells:
        return
    print("guest cycles/packet: the guest testpmd's busy cycles per packet behind each "
          "backend, from the same pairs (ratio > 1: the guest costs more behind net_vhostfix)")
    print(f"{'cell':44} {'behind fix':>10} {'vhost':>7} {'ratio':>5} {'(min-max)':11}")
    for r in cells:
        s = r["summary"]
        gc, gq = s["guest_cycles_per_pkt"], s["guest_cycles_ratio"]
        print(f"{cell_name(r['cell']):44} {fmt(gc['vhostfix'], '.0f', 10)} "
              f"{fmt(gc['vhost'], '.0f', 7)} {fmt(gq[0], '.2f', 5)} {minmax(gq):11}")


def write_chart(path, results):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("vhf-bench: no chart: python3-matplotlib is not installed "
              "(usertools/vhf-setup.sh --bench installs it)", file=sys.stderr)
        return False
    done = [r for r in results if not r.get("error") and r["summary"]["features_match"]]
    if not done:
        print("vhf-bench: no chart: no cell was compared", file=sys.stderr)
        return False
    names = [cell_name(r["cell"]) for r in done]
    colors = {"guest-rx": "tab:blue", "guest-tx": "tab:orange", "app-loop": "tab:green"}
    fig, axes = plt.subplots(2, 1, figsize=(max(8, 0.3 * len(done) + 3), 9), sharex=True)
    for ax, key, title in ((axes[0], "ratio", "Mpps net_vhostfix / net_vhost (higher is better)"),
                           (axes[1], "cycles_ratio",
                            "cycles/packet net_vhostfix / net_vhost (lower is better)")):
        for d in DIRECTIONS:
            xs, ys, lo, hi = [], [], [], []
            for i, r in enumerate(done):
                med, mn, mx = r["summary"][key]
                if med is None or r["cell"]["dir"] != d:
                    continue
                # A log scale keeps 2x and 0.5x the same distance from 1; a run that
                # moved nothing (ratio 0 or huge) is pinned to the edge, not dropped.
                med, mn, mx = (min(max(v, RATIO_CLIP[0]), RATIO_CLIP[1]) for v in (med, mn, mx))
                xs.append(i)
                ys.append(med)
                lo.append(med - mn)
                hi.append(mx - med)
            if xs:
                # Bars grow from 1.0, up or down.
                ax.bar(xs, [y - 1 for y in ys], bottom=1, yerr=[lo, hi], capsize=2,
                       color=colors[d], label=d)
        ax.set_yscale("log")
        ax.set_ylim(RATIO_CLIP[0] * 0.9, RATIO_CLIP[1] * 1.1)
        ax.axhline(1.0, color="black", linewidth=0.8)
        ax.set_title(title)
        ax.set_ylabel("ratio (median, min-max of rounds)")
        ax.legend(loc="upper right", fontsize=8)
    axes[1].set_xticks(range(len(done)))
    axes[1].set_xticklabels(names, rotation=70, ha="right", fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return True


# vhf-ovs-bench.sh's probed measurements, one line each: ring cell size backend
# round mpps line_before alu0_before alu1_before line_after alu0_after alu1_after
# ('-': not probed).
OVS_FIELDS = ("ring", "cell", "size", "backend", "round", "mpps", "line_rtt_ns", "alu0",
              "alu1", "line_rtt_after_ns", "alu0_after", "alu1_after")


def parse_ovs_runs(text):
    """vhf-ovs-bench.sh's measurement lines as runs placement(), core_state() and
    pairs_of() read (a round's two measurements are a pair)."""
    runs = []
    for line in text.splitlines():
        f = dict(zip(OVS_FIELDS, line.split()))
        if len(f) != len(OVS_FIELDS):
            continue
        num = {k: (None if v == "-" else float(v)) for k, v in f.items()
               if k not in ("ring", "cell", "backend")}
        alu = [num["alu0"], num["alu1"]]
        alu_after = [num["alu0_after"], num["alu1_after"]]
        runs.append({"ring": f["ring"], "cell": f["cell"], "size": int(num["size"]),
                     "backend": f["backend"], "pair": int(num["round"]), "mpps": num["mpps"],
                     "line_rtt_ns": num["line_rtt_ns"],
                     "line_rtt_after_ns": num["line_rtt_after_ns"],
                     "alu_ns": alu if None not in alu else None,
                     "alu_after_ns": alu_after if None not in alu_after else None})
    return runs


def ovs_core_lines(runs):
    """vhf-ovs-bench.sh's cells by vCPU placement and core state, as text lines:
    per cell, the net_vhostfix / net_vhost ratios of the rounds whose two
    measurements saw one placement and one core state (matched()), by state.
    In OVS the testpmd guest runs on CPU 0 and OVS's PMD thread on CPU 1: the
    sides CORE_SIDES names."""
    quiet = quiet_alu_ns(runs)
    for r in runs:
        r["placement"] = placement(r, APART_NS)
        r["core"] = core_state(r, quiet)
    cells = {}
    for r in runs:
        cells.setdefault((r["cell"], r["ring"], r["size"]),
                         {b: [] for b in BACKENDS})[r["backend"]].append(r)
    baseline = "no ALU reading" if quiet is None else f"quietest ALU reading {quiet:.1f} ns"
    lines = [f"by vCPU placement and core state (vhf-linetrip before and after each "
             f"measurement, OVS paused; {baseline}): ratio of the rounds whose two "
             f"measurements saw one placement and one core state, median (min-max)"]
    for (cell, ring, size), cell_runs in cells.items():
        pairs = pairs_of(cell_runs)
        good = [p for p in pairs if matched(p) and p[1]["mpps"]]
        name = f"{cell} {ring} {size}"
        if not good:
            lines.append(f"  {name:24} no matched round of {len(pairs)}")
            continue
        counts, ratios = by_state(good, "core", CORE_STATES)
        states = ", ".join(f"{st} {n}: {ratios[st][0]:.2f} {minmax(ratios[st])}"
                           for st, n in counts.items() if n)
        place = counts_text(by_state(good, "placement", PLACEMENTS)[0])
        ratio = spread([f["mpps"] / v["mpps"] for f, v in good])
        lines.append(f"  {name:24} {ratio[0]:.2f} {minmax(ratio)}, {len(good)} of {len(pairs)} "
                     f"rounds matched ({place}); {states}")
    return lines


if __name__ == "__main__":
    # vhf-ovs-bench.sh's summary by placement and core state: ovs-cores FILE.
    if len(sys.argv) != 3 or sys.argv[1] != "ovs-cores":
        sys.exit("usage: vhf_bench_report.py ovs-cores FILE")
    with open(sys.argv[2]) as f:
        print("\n".join(ovs_core_lines(parse_ovs_runs(f.read()))))
