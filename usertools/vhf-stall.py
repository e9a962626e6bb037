#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors
"""Stall detector and report for the seed's scenario (usertools/vhf-seed-scenario.sh).

  vhf-stall.py watch --file-prefix P --guest 0:net_vhost0[:LOG...] ...
                     --seconds S [--parallel 20] [--stall-s 2] [--csv FILE]
                     [--stop-on-stall]
  vhf-stall.py chart --run LABEL:CSV [--run LABEL:CSV ...] --out FILE.png
  vhf-stall.py receiver IPERF3_CLIENT_LOG

watch samples dpdk-vhostfix's stats over telemetry (the stream into each
guest's port: packets sent, backlog) and each guest's iperf3 client logs (run
with -i 1 --forceflush: the [SUM] interval lines). A guest is stalled when,
for --stall-s seconds, the app sent it nothing while packets sat in the
stream's backlog for it, and iperf3's latest intervals to it read 0 bits/s.
Each stall episode prints a "STALL" line; one line per guest per second goes
to the CSV (t, guest, delivered packets/s, backlog, iperf3 Mbit/s, stalled,
delivered Mbit/s: the bytes the datapath put into the guest's RX queue, from
the port's xstats, whatever the traffic). A guest given no iperf3 log (UDP
traffic: the client's intervals say what it sent, not what arrived) is judged
on the app's stats alone.
Exit status: 0 no stall, 1 at least one, 2 stats unreadable.

chart draws each run's per-guest host -> guest throughput over time in one
PNG (delivered Mbit/s, or iperf3's where the CSV has no delivered column), one
panel per run (Debian's python3-matplotlib; /usr/bin/python3 is used when the
current interpreter lacks it).

receiver prints the receiver's mean rate over one iperf3 client's test, in
Mbit/s whatever unit iperf3 chose ("81.2 Mbit/s over 0.00-1800.00 s"), or
"none (why)" when the client's text output holds no such figure (the client
was interrupted, failed, or has not finished); exit status 0 or 1 to match.
The text output, not -J: the detector reads the clients' interval lines while
they run, and Debian 12's iperf3 (3.12) writes JSON only at the end.
"""

import argparse
import csv
import importlib.util
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def load_telemetry():
    """The Telemetry client of vhf-stats.py (one reader of the app's stats)."""
    spec = importlib.util.spec_from_file_location("vhf_stats", os.path.join(HERE, "vhf-stats.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.Telemetry


# "[SUM]   3.00-4.00   sec  1.25 MBytes  10.5 Mbits/sec ..." (interval lines
# only: the closing summary lines end with "sender" or "receiver").
SUM_RE = re.compile(r"^\[SUM\]\s+([\d.]+)-([\d.]+)\s+sec\s+[\d.]+\s+\S+\s+([\d.]+)\s+(\S)?bits/sec")
ONE_RE = re.compile(r"^\[\s*\d+\]\s+([\d.]+)-([\d.]+)\s+sec\s+[\d.]+\s+\S+\s+([\d.]+)\s+(\S)?bits/sec")
SCALE = {None: 1e-6, "K": 1e-3, "M": 1.0, "G": 1e3}


# The closing lines (text output, any -f): one per stream, then a [SUM] pair
# when -P is above 1, each ending with the side whose figures it gives:
# "[SUM]   0.00-20.00  sec  29.8 MBytes  11.0 Mbits/sec  ...  receiver".
END_RE = re.compile(r"^\[\s*(SUM|\d+)\]\s+([\d.]+)-([\d.]+)\s+sec\s+([\d.]+ \S*Bytes)"
                    r"\s+([\d.]+)\s+([KMGT])?bits/sec\b.*\s(sender|receiver)\s*$")
SCALE_END = dict(SCALE, T=1e6)
INTERRUPTED = "iperf3: interrupt - the client has terminated"


def receiver_rate(text):
    """The receiver's mean rate over one iperf3 client's test, from its text output.

    Returns (mbps, start, end) or (None, reason). Only a client that ended on
    its own has one. A client stopped by a signal still prints closing lines,
    but not of the test: as the sender it never got the receiver's figures
    from the server and prints zeros in their place; as the receiver (-R) its
    own count runs to the signal, which may come long after the test's end.
    """
    lines = text.splitlines()
    sums, streams = [], []
    for l in lines:
        m = END_RE.match(l)
        if m and m.group(7) == "receiver":
            (sums if m.group(1) == "SUM" else streams).append(m)
    # -P 1 prints no [SUM] pair: its one stream line is the total.
    m = sums[-1] if sums else (streams[-1] if len(streams) == 1 else None)
    errors = [l.strip() for l in lines if l.startswith("iperf3: error")]
    if m is None:
        if errors:
            return None, "client failed, no summary: %s" % errors[-1]
        if streams:
            return None, "%d stream summaries and no [SUM] line" % len(streams)
        return None, "no summary in the client's log: still running, or killed"
    if any(l.startswith(INTERRUPTED) for l in lines):
        if any(l.startswith("Reverse mode") for l in lines):
            return None, ("client interrupted at %s s, having received %s: no summary of "
                          "the test" % (m.group(3), m.group(4)))
        return None, ("client interrupted at %s s, before the server sent the receiver's "
                      "figures" % m.group(3))
    return float(m.group(5)) * SCALE_END[m.group(6)], float(m.group(2)), float(m.group(3))


def format_receiver(text):
    """One summary phrase: "81.2 Mbit/s over 0.00-1800.00 s" or "none (reason)"."""
    r = receiver_rate(text)
    if r[0] is None:
        return "none (%s)" % r[1]
    mbps, start, end = r
    # iperf3 prints 3 significant digits: keep them, in Mbit/s.
    digits = 3 if mbps < 1 else 2 if mbps < 10 else 1 if mbps < 100 else 0
    return "%.*f Mbit/s over %.2f-%.2f s" % (digits, mbps, start, end)


class IperfLog:
    """Follows one iperf3 client log: the latest 1-s interval rates in Mbit/s."""

    def __init__(self, path, parallel):
        self.path = path
        self.pos = 0
        self.partial = ""
        self.rates = []      # (end_s, mbps) per interval, in order
        self.parallel = parallel > 1  # then only the [SUM] lines count

    def poll(self):
        try:
            with open(self.path, "r", errors="replace") as f:
                f.seek(self.pos)
                data = f.read()
                self.pos = f.tell()
        except OSError:
            return
        data = self.partial + data
        lines = data.split("\n")
        self.partial = lines.pop()
        for line in lines:
            if line.rstrip().endswith(("sender", "receiver")):
                continue
            m = (SUM_RE if self.parallel else ONE_RE).match(line)
            if not m:
                continue
            start, end = float(m.group(1)), float(m.group(2))
            if end - start < 0.5 or end - start > 1.5:
                continue
            self.rates.append((end, float(m.group(3)) * SCALE[m.group(4)]))

    def last(self, n):
        return [r for _, r in self.rates[-n:]]


class Guest:
    def __init__(self, index, port, logs, parallel):
        self.index = index
        self.port = port
        self.logs = [IperfLog(p, parallel) for p in logs]
        self.last_tx = None
        self.last_tx_t = None
        self.moved_t = None      # last time the app delivered to it, or had nothing queued
        self.in_stall = False
        self.stalls = 0
        self.stall_t = []        # (start, end or None)
        self.bytes_first = None  # (t, bytes into its RX queue) at the first and latest row
        self.bytes_last = None

    def delivered_mbps(self):
        if self.bytes_first is None or self.bytes_last[0] <= self.bytes_first[0]:
            return None
        return ((self.bytes_last[1] - self.bytes_first[1]) * 8
                / (self.bytes_last[0] - self.bytes_first[0]) / 1e6)

    def iperf_rate(self):
        """Sum over its clients of the latest interval, None before any."""
        lasts = [l.last(1) for l in self.logs]
        if not any(lasts):
            return None
        return sum(x[0] for x in lasts if x)

    def iperf_zero_for(self, n):
        """True when every client's last n intervals read 0 (n of them seen)."""
        for l in self.logs:
            rs = l.last(n)
            if len(rs) < n or any(r > 0 for r in rs):
                return False
        return True


def streams_into(stats):
    out = {}
    for i in range(stats.get("streams", 0)):
        s = stats.get("stream%d" % i)
        if s is not None:
            out[s["to"]] = s
    return out


def port_ids(tel, names):
    """ethdev port id of each port name (for its xstats), None if not found."""
    ids = {}
    for pid in tel.query("/ethdev/list") or []:
        info = tel.query("/ethdev/info,%d" % pid) or {}
        if info.get("name") in names:
            ids[info["name"]] = pid
    return ids


def rx_vq_bytes(tel, pid):
    """Bytes the datapath wrote into the guest's RX queues (the PMD's tx queues)."""
    if pid is None:
        return None
    x = tel.query("/ethdev/xstats,%d" % pid) or {}
    vals = [v for k, v in x.items() if k.startswith("tx_q") and k.endswith("_bytes")]
    return sum(vals) if vals else None


def watch(args):
    Telemetry = load_telemetry()
    guests = []
    for spec in args.guest:
        parts = spec.split(":")
        if len(parts) < 2:
            print("vhf-stall: --guest wants INDEX:PORT_NAME[:LOG...], got %r" % spec,
                  file=sys.stderr)
            return 2  # 1 would read as a stall
        guests.append(Guest(int(parts[0]), parts[1], [p for p in parts[2:] if p],
                            args.parallel))
    tel = None
    deadline = time.monotonic() + 30
    while tel is None:
        try:
            tel = Telemetry(args.file_prefix)
        except OSError as e:
            if time.monotonic() > deadline:
                print("vhf-stall: no telemetry for --file-prefix %s: %s" % (args.file_prefix, e),
                      file=sys.stderr)
                return 2
            time.sleep(0.5)
    out = open(args.csv, "w", newline="") if args.csv else None
    w = csv.writer(out) if out else None
    if w:
        w.writerow(["t", "guest", "delivered_pps", "backlog", "iperf_mbps", "stalled",
                    "delivered_mbps"])
    try:
        pids = port_ids(tel, {g.port for g in guests})
    except (OSError, ValueError):
        pids = {}
    t0 = time.monotonic()
    next_row = t0 + 1.0
    prev_row = {}
    n_iv = max(1, int(round(args.stall_s)))
    try:
        while True:
            now = time.monotonic()
            if now - t0 >= args.seconds:
                break
            st = tel.query("/vhostfix/stats")
            if st is None:
                print("vhf-stall: no /vhostfix/stats: is this dpdk-vhostfix?", file=sys.stderr)
                return 2
            into = streams_into(st)
            for g in guests:
                for l in g.logs:
                    l.poll()
                s = into.get(g.port)
                if s is None:
                    continue
                if g.last_tx != s["tx"] or s["backlog"] == 0 or g.moved_t is None:
                    g.moved_t = now
                    if g.in_stall and g.last_tx != s["tx"]:
                        g.in_stall = False
                        g.stall_t[-1] = (g.stall_t[-1][0], now - t0)
                        print("RECOVERED guest %d (%s) at %.1f s" % (g.index, g.port, now - t0),
                              flush=True)
                g.last_tx = s["tx"]
                stuck = now - g.moved_t
                if (not g.in_stall and s["backlog"] > 0 and stuck >= args.stall_s
                        and (g.iperf_zero_for(n_iv) or not any(l.rates for l in g.logs))):
                    g.in_stall = True
                    g.stalls += 1
                    g.stall_t.append((now - t0 - stuck, None))
                    print("STALL guest %d (%s) at %.1f s: %d packets queued for it, none "
                          "delivered for %.1f s%s"
                          % (g.index, g.port, now - t0 - stuck, s["backlog"], stuck,
                             ", iperf3 0 bits/s over its last %d interval(s)" % n_iv
                             if g.logs else ""), flush=True)
            if now >= next_row:
                dt = now - prev_row.get("t", t0)
                for g in guests:
                    s = into.get(g.port, {"tx": 0, "backlog": 0})
                    pps = (s["tx"] - prev_row.get(g.index, 0)) / dt if dt > 0 else 0
                    prev_row[g.index] = s["tx"]
                    rate = g.iperf_rate()
                    nbytes = rx_vq_bytes(tel, pids.get(g.port))
                    prev_bytes = prev_row.get(("bytes", g.index))
                    mbps = ("" if nbytes is None or prev_bytes is None or dt <= 0 else
                            "%.2f" % ((nbytes - prev_bytes) * 8 / dt / 1e6))
                    prev_row[("bytes", g.index)] = nbytes
                    if nbytes is not None:
                        g.bytes_last = (now, nbytes)
                        if g.bytes_first is None:
                            g.bytes_first = g.bytes_last
                    if w:
                        w.writerow(["%.1f" % (now - t0), g.index, "%.0f" % pps, s["backlog"],
                                    "" if rate is None else "%.2f" % rate, int(g.in_stall),
                                    mbps])
                prev_row["t"] = now
                next_row += 1.0
                if out:
                    out.flush()
            if args.stop_on_stall and any(g.in_stall for g in guests):
                break
            time.sleep(args.interval)
    except (OSError, ValueError, KeyError) as e:
        print("vhf-stall: %s" % e, file=sys.stderr)
        return 2
    finally:
        tel.close()
        if out:
            out.close()
    total = 0
    for g in guests:
        for l in g.logs:
            l.poll()
        rates = [r for l in g.logs for _, r in l.rates]
        per_client = [sum(r for _, r in l.rates) / len(l.rates) if l.rates else 0 for l in g.logs]
        total += g.stalls
        dm = g.delivered_mbps()
        # delivered: wire bytes into its RX queue over the whole window, the
        # clients' connecting seconds included; iperf3: what its TCP clients
        # wrote per 1-s interval (the sender's side; the receiver's is in the
        # scenario's iperf3 lines).
        print("guest %d (%s): %d stall(s)%s, delivered %s Mbit/s%s%s"
              % (g.index, g.port, g.stalls,
                 "".join(" [%.1f-%s s]" % (a, "..." if b is None else "%.1f" % b)
                         for a, b in g.stall_t),
                 "?" if dm is None else "%.1f" % dm,
                 "" if dm is None else " over %.0f s" % (g.bytes_last[0] - g.bytes_first[0]),
                 ", iperf3 sent %.1f Mbit/s (mean of %d 1-s intervals)"
                 % (sum(per_client), len(rates) // len(g.logs)) if g.logs else ""), flush=True)
    print("stall detector: %d stall(s) in %.0f s" % (total, time.monotonic() - t0), flush=True)
    return 1 if total else 0


def chart(args):
    try:
        import matplotlib
    except ImportError:
        if sys.executable != "/usr/bin/python3" and os.path.exists("/usr/bin/python3"):
            return subprocess.call(["/usr/bin/python3", os.path.abspath(__file__)] + sys.argv[1:])
        print("vhf-stall: chart needs Debian's python3-matplotlib (apt-get install "
              "python3-matplotlib; not in the CI package list, only reports use it)",
              file=sys.stderr)
        return 2
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = []
    for spec in args.run:
        label, _, path = spec.rpartition(":")  # labels may hold colons, paths rarely
        series = {}
        stalls = {}
        with open(path, newline="") as f:
            for row in csv.DictReader(f):
                g = int(row["guest"])
                t = float(row["t"])
                col = "delivered_mbps" if row.get("delivered_mbps") is not None else "iperf_mbps"
                if col == "delivered_mbps" and row[col] == "":
                    continue  # the first row has no previous sample
                mbps = float(row[col]) if row[col] else 0.0
                series.setdefault(g, []).append((t, mbps))
                if row["stalled"] == "1":
                    stalls.setdefault(g, []).append(t)
        runs.append((label, series, stalls))
    fig, axes = plt.subplots(len(runs), 1, figsize=(10, 3.2 * len(runs)), sharex=True,
                             squeeze=False)
    for ax, (label, series, stalls) in zip(axes[:, 0], runs):
        for g in sorted(series):
            ts = [t for t, _ in series[g]]
            ys = [y for _, y in series[g]]
            line, = ax.plot(ts, ys, label="guest %d" % g, linewidth=1.2)
            if g in stalls:
                ax.plot(stalls[g], [0] * len(stalls[g]), "x", color=line.get_color(),
                        markersize=6)
        nst = sum(1 for g in stalls if stalls[g])
        ax.set_title("%s%s" % (label, " (x: guest stalled)" if nst else ""))
        ax.set_ylabel("host -> guest Mbit/s")
        ax.grid(True, alpha=0.3)
        ax.legend(loc="upper right", fontsize=8)
    axes[-1, 0].set_xlabel("seconds")
    fig.tight_layout()
    fig.savefig(args.out, dpi=90)
    print("vhf-stall: wrote %s" % args.out)
    return 0


def receiver(args):
    try:
        with open(args.log, errors="replace") as f:
            text = f.read()
    except OSError as e:
        print("none (no client log: %s)" % e.strerror)
        return 1
    phrase = format_receiver(text)
    print(phrase)
    return 1 if phrase.startswith("none") else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("watch")
    w.add_argument("--file-prefix", required=True, help="the app's EAL --file-prefix")
    w.add_argument("--guest", action="append", required=True,
                   metavar="INDEX:PORT[:LOG...]",
                   help="a guest: its index, the app's port name for it, its iperf3 TCP client logs")
    w.add_argument("--seconds", type=float, required=True)
    w.add_argument("--parallel", type=int, default=20,
                   help="the iperf3 clients' -P (default 20): above 1 only [SUM] lines count")
    w.add_argument("--stall-s", type=float, default=2.0)
    w.add_argument("--interval", type=float, default=0.25)
    w.add_argument("--csv")
    w.add_argument("--stop-on-stall", action="store_true")
    c = sub.add_parser("chart")
    c.add_argument("--run", action="append", required=True, metavar="LABEL:CSV")
    c.add_argument("--out", required=True)
    r = sub.add_parser("receiver")
    r.add_argument("log", help="an iperf3 client's text output")
    args = ap.parse_args()
    if args.cmd == "receiver":
        return receiver(args)
    return watch(args) if args.cmd == "watch" else chart(args)


if __name__ == "__main__":
    sys.exit(main())
