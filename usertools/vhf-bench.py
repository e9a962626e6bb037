#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors
"""Benchmark net_vhostfix against DPDK's own net_vhost, in one run.

Each measurement runs two dpdk-testpmd processes over a vhost-user socket: the
host with the backend under test (net_vhostfix loaded with -d, or DPDK's
net_vhost), the guest with DPDK's net_virtio_user, both --no-huge. Two
directions, 64-byte frames:

  guest-rx  host txonly -> guest rxonly   (the backend's enqueue into guest RX)
  guest-tx  guest txonly -> host rxonly   (the backend's dequeue from guest TX)

The rate is what the receiving side counted over --seconds, after a warm-up.
Backends alternate within every round (and the order flips every round), so
drift on a busy machine hits both alike; the summary gives the median rate of
each backend and the median of the per-round ratios vhostfix / vhost, with
their spread: a wide spread means the machine was busy, run again. On a 2-core machine host and guest each
get one polling core: figures compare backends, they are not absolute.

Usage (root): usertools/vhf-bench.py --so build/drivers/net/vhostfix/librte_net_vhostfix.so
"""

import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

RX_PACKETS = re.compile(r"RX-packets:\s+(\d+)")


class Testpmd:
    """One interactive dpdk-testpmd, fed through a pipe, logging to a file."""

    def __init__(self, argv, log_path):
        self.log_path = log_path
        self.log = open(log_path, "w")
        # Line-buffered: the port stats must reach the log as soon as testpmd prints them.
        self.proc = subprocess.Popen(["stdbuf", "-oL", *argv], stdin=subprocess.PIPE, stdout=self.log,
                                     stderr=subprocess.STDOUT, text=True)

    def text(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def wait_for(self, pattern, timeout):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if re.search(pattern, self.text()):
                return True
            if self.proc.poll() is not None:
                return bool(re.search(pattern, self.text()))
            time.sleep(0.1)
        return False

    def cmd(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def rx_packets(self, port=0):
        """Ask for port stats and return RX-packets of that report."""
        before = len(RX_PACKETS.findall(self.text()))
        self.cmd(f"show port stats {port}")
        end = time.monotonic() + 5
        while time.monotonic() < end:
            found = RX_PACKETS.findall(self.text())
            if len(found) > before:
                return int(found[-1]), time.monotonic()
            time.sleep(0.02)
        raise RuntimeError(f"no port stats from {self.log_path}")

    def stop(self):
        if self.proc.poll() is None:
            try:
                self.cmd("quit")
                self.proc.wait(timeout=10)
            except (BrokenPipeError, subprocess.TimeoutExpired, OSError):
                pass
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def run_one(args, work, plugin, backend, direction, tag):
    """One host/guest pair; returns Mpps seen by the receiving side."""
    sock = os.path.join(work, f"{tag}.sock")
    prefix = f"vhfbench{os.getpid()}"
    if backend == "vhostfix":
        host_vdev = ["-d", plugin, "--vdev", f"net_vhostfix0,iface={sock},queues=1"]
    else:
        host_vdev = ["--vdev", f"net_vhost0,iface={sock},queues=1"]
    host_mode, guest_mode = ("txonly", "rxonly") if direction == "guest-rx" else \
        ("rxonly", "txonly")
    common = ["--no-huge", "-m", "1024", "--no-pci"]
    pmd_args = ["--", "-i", "--nb-cores=1", "--txpkts=64", "--burst=32",
                "--total-num-mbufs=32768"]
    host_argv = [args.testpmd, "-l", "0,1", *common, f"--file-prefix={prefix}h", *host_vdev,
                 *pmd_args, f"--forward-mode={host_mode}"]
    # The guest's forwarding lcore on the other CPU than the host's.
    guest_argv = [args.testpmd, "--lcores", "0@1,1@0", *common, f"--file-prefix={prefix}g",
                  "--vdev", f"net_virtio_user0,path={sock},queues=1", *pmd_args,
                  f"--forward-mode={guest_mode}"]
    host = Testpmd(host_argv, os.path.join(work, f"{tag}.host.log"))
    guest = None
    try:
        if not host.wait_for(r"testpmd>", 30) or not os.path.exists(sock):
            raise RuntimeError(f"host testpmd did not come up, see {host.log_path}")
        guest = Testpmd(guest_argv, os.path.join(work, f"{tag}.guest.log"))
        if not guest.wait_for(r"testpmd>", 30):
            raise RuntimeError(f"guest testpmd did not come up, see {guest.log_path}")
        receiver, sender = (guest, host) if direction == "guest-rx" else (host, guest)
        receiver.cmd("start")
        time.sleep(0.3)
        sender.cmd("start")
        time.sleep(args.warmup)
        p0, t0 = receiver.rx_packets()
        time.sleep(args.seconds)
        p1, t1 = receiver.rx_packets()
        return (p1 - p0) / (t1 - t0) / 1e6
    finally:
        if guest is not None:
            guest.stop()
        host.stop()
        for side in ("h", "g"):
            shutil.rmtree(f"/var/run/dpdk/{prefix}{side}", ignore_errors=True)
        if os.path.exists(sock):
            os.unlink(sock)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--so", required=True, help="librte_net_vhostfix.so from the build")
    ap.add_argument("--testpmd", default="dpdk-testpmd")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=5.0, help="measurement per run")
    ap.add_argument("--warmup", type=float, default=1.5)
    ap.add_argument("--keep", action="store_true", help="keep the logs (printed path)")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("vhf-bench: needs root (vhost-user sockets, the plugin copy under /run)")
    if shutil.which(args.testpmd) is None:
        sys.exit(f"vhf-bench: {args.testpmd} not found (Debian package dpdk)")

    # EAL refuses -d from under a world-writable directory such as /tmp: load a copy
    # from a root-owned 0755 directory.
    plugdir = f"/run/vhf-bench.{os.getpid()}"
    os.mkdir(plugdir, 0o755)
    plugin = os.path.join(plugdir, "librte_net_vhostfix.so")
    shutil.copy(args.so, plugin)
    work = tempfile.mkdtemp(prefix="vhf-bench.")

    def on_signal(signum, _frame):
        raise KeyboardInterrupt(signum)

    signal.signal(signal.SIGTERM, on_signal)
    results = {(b, d): [] for b in ("vhostfix", "vhost") for d in ("guest-rx", "guest-tx")}
    try:
        for rnd in range(args.rounds):
            order = ("vhostfix", "vhost") if rnd % 2 == 0 else ("vhost", "vhostfix")
            for direction in ("guest-rx", "guest-tx"):
                for backend in order:
                    tag = f"r{rnd}-{direction}-{backend}"
                    mpps = run_one(args, work, plugin, backend, direction, tag)
                    results[(backend, direction)].append(mpps)
                    print(f"round {rnd + 1}  {direction:8}  net_{backend:9} {mpps:7.3f} Mpps",
                          flush=True)
    finally:
        shutil.rmtree(plugdir, ignore_errors=True)
        if args.keep:
            print(f"logs in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    # Each round measured both backends back to back: the ratio of a round is the
    # least disturbed by whatever else the machine did; report the median of those.
    print()
    print(f"64 B, {args.rounds} round(s)         net_vhostfix    net_vhost    ratio "
          "(median of per-round ratios, min-max)")
    labels = {"guest-rx": "guest RX enqueue (host txonly -> guest rxonly)",
              "guest-tx": "guest TX dequeue (guest txonly -> host rxonly)"}
    for direction in ("guest-rx", "guest-tx"):
        fix = results[("vhostfix", direction)]
        ref = results[("vhost", direction)]
        ratios = [f / r for f, r in zip(fix, ref) if r > 0]
        ratio = statistics.median(ratios) if ratios else float("nan")
        spread = f"{min(ratios):.2f}-{max(ratios):.2f}" if ratios else "-"
        print(f"{labels[direction]:48} {statistics.median(fix):7.3f} Mpps "
              f"{statistics.median(ref):7.3f} Mpps  {ratio:5.2f} ({spread})")

if __name__ == "__main__":
    main()
