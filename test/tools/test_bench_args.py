#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors
"""usertools/vhf-bench.py's guest options, without DPDK. --guest-args: the words
given reach the guest testpmd's command line after the benchmark's own arguments
(so that they override them), under every backend of a pair alike (one guest
serves both), and the table says they were used. --guest-cycles has the guest
record its busy cycles, ahead of --guest-args. --guest-queue-size reaches every
virtio-user port's devargs, --loop-prime is checked, and the table names both.
--guest-pages: 2M (the default; --guest-hugepages, the older spelling, the same)
puts the guest's EAL on hugepages of our own, 4K on --no-huge, and a reservation
the machine cannot give is refused with nothing left reserved. And
app-loop's cycles per packet for dpdk-vhostfix: its worker's busy cycles over the
packets its streams received, from its telemetry. TAP."""

import contextlib
import io
import os
import sys
import tempfile

import vhf_bench_module

bench_mod = vhf_bench_module.load()
from vhf_bench_report import print_table  # noqa: E402

CELL = {"dir": "guest-tx", "ring": "split", "mrg": 1, "in_order": 0, "size": 9000}
checks = []


def check(ok, what):
    checks.append((bool(ok), what))


def table_header(args):
    """What print_table() prints above the cells for these arguments."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        print_table([], args)
    return out.getvalue()


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

check("--record-core-cycles" not in argv, "the guest's cycles not recorded by default")
gargs = parser.parse_args(["--guest-cycles", "--guest-args=--mbcache=512"])
gargv = bench_mod.Bench(gargs, "/nonexistent/plugin.so", "/nonexistent").guest_argv(
    CELL, ["/nonexistent/s.0.sock"], "txonly")
check("--record-core-cycles" in gargv and gargv[-1] == "--mbcache=512",
      f"--guest-cycles: recorded in the guest, --guest-args still last: {gargv[-3:]}")
check("guest testpmd with: --txfreet=224 --txd=512" in table_header(args),
      "the table says which guest arguments were used")
check("guest testpmd with" not in table_header(parser.parse_args([])),
      "and says nothing without them")


def parse_fails(argv):
    """argparse's own error (exit 2), naming the option, and nothing parsed."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            parser.parse_args(argv)
        except SystemExit as e:
            return e.code == 2 and argv[0].split("=")[0] in err.getvalue()
    return False


args = parser.parse_args([])
check(args.loop_prime == 32 and args.guest_queue_size is None,
      f"prime 32 bursts, virtio-user's ring size by default: {args.loop_prime} "
      f"{args.guest_queue_size}")
socks = ["/nonexistent/s.0.sock", "/nonexistent/s.1.sock"]
argv = bench_mod.Bench(args, "/nonexistent/plugin.so", "/nonexistent").guest_argv(
    CELL, socks, "io")
check(not any("queue_size" in a for a in argv), "no queue_size devarg unless given")
args = parser.parse_args(["--guest-queue-size=1024", "--loop-prime", "4",
                          "--cells", "app-loop"])
argv = bench_mod.Bench(args, "/nonexistent/plugin.so", "/nonexistent").guest_argv(
    CELL, socks, "io")
vdevs = [a for a in argv if a.startswith("net_virtio_user")]
check(len(vdevs) == 2 and all(v.endswith(",queue_size=1024") for v in vdevs),
      f"--guest-queue-size on every guest port: {vdevs}")
header = table_header(args)
check("guest rings of 1024 descriptors" in header
      and "app-loop primed with 4 bursts per port" in header,
      "the table says which ring size and prime were used")
for bad in (["--guest-queue-size=100"], ["--guest-queue-size=32"],
            ["--guest-queue-size=65536"], ["--loop-prime=0"], ["--loop-prime=1025"],
            ["--loop-prime=x"]):
    check(parse_fails(bad), f"{bad[0]}: refused, naming the option")



def guest_eal(argv_bench):
    """The guest testpmd's command line under these vhf-bench arguments, and the
    hugepages the benchmark would reserve for it (None: none)."""
    args = parser.parse_args(argv_bench)
    huge = bench_mod.guest_memory(args, "/nonexistent/huge")
    return bench_mod.Bench(args, "/nonexistent/plugin.so", "/nonexistent", huge).guest_argv(
        CELL, socks, "io"), huge, args


for given in ([], ["--guest-pages", "2M"], ["--guest-pages=2m"], ["--guest-hugepages"]):
    argv, huge, args = guest_eal(given)
    check(huge is not None and "--no-huge" not in argv
          and "--huge-dir=/nonexistent/huge" in argv
          and "--single-file-segments" in argv and "--in-memory" in argv,
          f"{' '.join(given) or 'by default'}: the guest's EAL on our hugetlbfs mount: "
          f"{argv[3:8]}")
check("guest memory on 2 MB hugepages" in table_header(args), "the table says so")
argv, huge, args = guest_eal(["--guest-pages", "4K"])
check(huge is None and "--no-huge" in argv
      and not any(a.startswith("--huge-dir") for a in argv),
      "--guest-pages 4K: the guest on --no-huge, nothing reserved")
check("guest memory on 4 KB pages (--no-huge)" in table_header(args), "the table says so")
check(parse_fails(["--guest-pages=1G"]), "--guest-pages 1G: refused, naming the option")

# A machine that gives fewer pages than asked (a sysfs stand-in whose free count
# does not move): refused, naming the shortfall, and nr_hugepages put back.
with tempfile.TemporaryDirectory() as sysdir:
    for name, value in (("nr_hugepages", "3"), ("free_hugepages", "3")):
        with open(os.path.join(sysdir, name), "w") as f:
            f.write(value)
    mount = os.path.join(sysdir, "mnt")
    huge = bench_mod.GuestHugepages(mount, sysdir=sysdir, pages=10)
    try:
        huge.open()
        refused = ""
    except RuntimeError as e:
        refused = str(e)
    with open(os.path.join(sysdir, "nr_hugepages")) as f:
        nr = f.read().strip()
    check("could reserve only 0 of 10" in refused and "--guest-pages 4K" in refused,
          f"a short reservation refused: {refused!r}")
    check(nr == "3" and not os.path.exists(mount),
          f"and given back: nr_hugepages {nr}, no mount point left")



class FakeTelemetry:
    """/vhostfix/stats as dpdk-vhostfix answers it: one worker, two streams."""
    answer = {"mode": "poll", "streams": 2, "tsc_hz": 2000000000,
              "stream0": {"from": "net_vhost0", "rx": 1000, "tx": 1000, "backlog": 0},
              "stream1": {"from": "net_vhost1", "rx": 3000, "tx": 2990, "backlog": 10},
              "lcore1": {"lcore": 1, "streams": 2, "sleeps": 0, "busy_cycles": 200000,
                         "idle_cycles": 50000, "wake_latency_p99_us": 0}}

    def __init__(self, prefix):
        self.prefix = prefix

    def query(self, cmd):
        return self.answer if cmd == "/vhostfix/stats" else None

    def close(self):
        pass


bench_mod.vhf_stats.Telemetry = FakeTelemetry
c = bench_mod.app_lcore_counters("p")
check(c == {"sleeps": 0, "busy_cycles": 200000, "idle_cycles": 50000, "streams_rx": 4000},
      f"the app's counters: the worker's summed, its streams' packets received: {c}")
check(bench_mod.app_busy_cycles_per_pkt(c) == 50.0,
      "app-loop cycles per packet: busy cycles over packets received")
check(bench_mod.app_busy_cycles_per_pkt({"busy_cycles": 10, "streams_rx": 0}) is None
      and bench_mod.app_busy_cycles_per_pkt({"streams_rx": 5}) is None,
      "none without packets or without the counter (an app that does not count)")

check(bench_mod.busy_cycles_per_pkt((1000, 10), (5000, 30)) == 200.0,
      "testpmd's busy cycles per packet between two readings")
check(bench_mod.busy_cycles_per_pkt(None, (5000, 30)) is None
      and bench_mod.busy_cycles_per_pkt((1000, 10), None) is None
      and bench_mod.busy_cycles_per_pkt((1000, 10), (1000, 10)) is None,
      "none without both readings or without a packet in between")

print(f"1..{len(checks)}")
for i, (ok, what) in enumerate(checks, 1):
    print(f"{'ok' if ok else 'not ok'} {i} - {what}")
sys.exit(0 if all(ok for ok, _ in checks) else 1)
