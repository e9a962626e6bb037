#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors
"""Benchmark net_vhostfix against DPDK's own net_vhost: a matrix, in one run.

Every cell of the matrix runs both backends back to back, the order flipping
every round, so that whatever else the machine does hits both alike. A cell is
a direction, a ring layout, mergeable RX on/off, in-order on/off and a frame
size:

  guest-rx  host testpmd txonly -> guest testpmd rxonly   (the backend's enqueue)
  guest-tx  guest testpmd txonly -> host testpmd rxonly   (the backend's dequeue)
  app-loop  dpdk-vhostfix between two virtio-user ports of one guest testpmd,
            against testpmd io between two net_vhost ports (the same guest);
            the guest loops the frames (io, primed with tx_first)

The host side is net_vhostfix (loaded with -d, or our app's own) or DPDK's
net_vhost; the guest side is always DPDK's net_virtio_user in dpdk-testpmd, whose
devargs choose the features (packed_vq, mrg_rxbuf, in_order): both backends
offer them all, so the guest's request decides and both negotiate the same
bits. Each run prints the bits librte_vhost logs as negotiated (the same
control plane code serves both backends); a cell whose bits differ between the
backends is not compared, and the table says why.

Both runs of a pair serve one guest process: its virtio-user ports are the
sockets' servers (server=1), each host connects as a client (client=1), and
the second host reconnects to the guest the first one left. Every line the two
sides share is guest memory, and how long a line takes between the vCPUs
depends on its physical address (vhf-linetrip --lines), so a guest of its own
per run put the backends of a pair on different memory (doc/bench-2026-12-04f.md).

The guest's memory is on 2 MB pages (--guest-pages 2M, the default), as a QEMU
guest's memory on a vhost-user host is (a hugetlbfs memory backend shared with
the backend), which the backend then maps on 2 MB pages too. The benchmark
reserves those pages, on a hugetlbfs mount of its own, and gives both back at
exit. --guest-pages 4K puts it on 4 KB pages (--no-huge) instead, as the runs
before 2026-12-06 did: the two page sizes rank some cells differently
(doc/bench-2026-12-05g.md), so compare runs of one page size.

Figures per run: Mpps counted by the receiving side (the guest's RX counters in
app-loop) over --seconds after --warmup, and the host backend's CPU cycles per
packet: the busy cycles of the forwarding lcore (TSC cycles of the stream
calls that received something, empty polls left out), testpmd's
--record-core-cycles figure, and in app-loop for dpdk-vhostfix its worker's
busy_cycles (telemetry, counted the same way) over the packets its streams
received in the window. On a 2-core
machine the guest is sometimes the bottleneck and the Mpps ratio swings with it;
cycles per packet show the backend's own cost even then. One exception: testpmd
22.11's txonly counts every pass of its loop, full guest ring or not, so guest-rx
cycles per packet are the host's whole core per frame delivered, the backend's own
cost only while the host is the bottleneck (rxonly, in guest-tx, counts only the
bursts that received something).

--guest-cycles measures the guest the same way, in the same window: where the guest
sets the rate, whether it costs more behind one backend than behind the other
(doc/bench-2026-12-06g.md: a DPDK guest's mempool cache spilling behind a host that
keeps up). Its testpmd runs rxonly in guest-rx and io in app-loop, which count only
bursts that received something; in guest-tx it runs txonly, whose figure is its whole
core per frame sent.

Before and after each run, with nothing of the benchmark running, vhf-linetrip
(built beside the .so, not installed) measures a cache line's round trip between
CPUs 0 and 1: on a VM the hypervisor places the two vCPUs now close, now apart,
and the guest-bound cells' rates move with it (doc/bench-2026-12-03.md). Each
run records both readings (line_rtt_ns, line_rtt_after_ns) and its placement:
close, apart, or mixed when it changed during the run. A round's pair of runs
that did not see one placement throughout is measured again (--retries), and
the summary compares the backends on the pairs that did, saying how many of
each placement; a cell where none did falls back to all its pairs, marked
"unmatched".

The same probe first times 1000 independent adds on each CPU alone (alu_ns,
alu_after_ns: ns on CPUs 0 and 1). On a VM the physical core under a vCPU is
at times shared with another busy hardware thread (an SMT sibling the hypervisor
gives to someone else); the adds then take 1.3-1.6x as long, and the side whose
forwarding lcore runs there (the guest's on CPU 0, the host's on CPU 1) moves at
about 0.7 of its rate with either backend: the "two rates" of the 64 B cells
(doc/bench-2026-12-06e.md). Against the quietest reading so far on either CPU
(one core model: a core shared throughout still reads slow), each run gets
a core state (quiet, host-shared, guest-shared, both-shared, or changed during
the run); a pair counts as matched only in one placement and one core state,
and one that is not is measured again like a placement that moved.

With --app-mode poll,sleep, each app-loop pair is a triple: dpdk-vhostfix in
poll mode, in sleep mode and testpmd io over net_vhost, in turn under one guest
(the order rotating every round: each run first, second and third once in
three). The table's line under such a cell compares sleep mode with poll mode
(and with net_vhost), and gives the worker's sleeps within the measurement window (the
app's telemetry, before and after it) and over the whole run (its exit stats,
which include the idle seconds before the guest starts and after it stops).
It also gives sleep/poll over every triple, matched or not, with a 95%
confidence interval of its median from six triples on: a cell's runs scatter by
10-30% on a shared machine, and the matched ones may be one or two of fifteen
(doc/bench-2026-12-07g.md).
At full load the worker sleeps only when the guest sends nothing for
--idle-us (the guest's thread off its CPU), and the guest's kick wakes it.

The summary gives per cell the median Mpps of each backend, the median of the
per-pair ratios vhostfix / vhost with their min-max, and the same for cycles
per packet (vhostfix / vhost: below 1 means net_vhostfix is cheaper), and each
backend's cheapest run in cycles per packet with their ratio (best cyc: other load
only adds cycles, so on a busy machine, where the medians move with it, the least
disturbed runs compare best); the JSON also has the ratio per placement. Under a cell
that left pairs out, or has six or more, a line gives fix/vhost over every pair with a
95% confidence interval of its median (a matched figure may rest on one pair). A wide
spread means the machine was busy: run again. Never run it beside another benchmark:
flock /run/vhf-bench.lock usertools/vhf-bench.py ...

SIGINT or SIGTERM stops it early: the table, JSON and chart then hold the pairs
measured until then (meta.interrupted says which signal, in which round), and it
exits with 128 + the signal's number.

Usage (root): usertools/vhf-bench.py [--quick] [--cells ...] [--json F] [--chart F]
"""

import argparse
import importlib.util
import itertools
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from vhf_bench_report import (APART_NS, APP_LOOP_CYCLES, BACKENDS, DIRECTIONS,
                              CORE_SHARED_FACTOR, LOOP_PRIME_DEFAULT, SLEEP, cell_name,
                              core_state, fmt, matched, placement, print_table, quiet_alu_ns,
                              summarize, write_chart)

# realpath: installed, bin/dpdk-vhostfix-bench is a link to this file.
TOP = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
# vhf-stats.py's telemetry client (beside this file, installed or not).
_spec = importlib.util.spec_from_file_location(
    "vhf_stats", os.path.join(os.path.dirname(os.path.realpath(__file__)), "vhf-stats.py"))
vhf_stats = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(vhf_stats)
RINGS = ("split", "packed")
SIZES = (64, 1518, 9000)
# An mbuf of testpmd's default size holds 2048 bytes of data: bigger frames go
# as chains of such segments (9000 B: 4 x 2048 + 808).
SEG_MAX = 2048
RTE_ETH_TX_OFFLOAD_MULTI_SEGS = 0x8000
# The guest's EAL memory (-m), in MB: its mbuf pools and rings.
GUEST_MEM_MB = 1024
HUGE_SYS = "/sys/kernel/mm/hugepages/hugepages-2048kB"
GUEST_PAGES = ("2M", "4K")

# testpmd's prompt has no newline: under stdbuf -oL it reaches the log only with the
# next line printed, which may never come. The last line of its start-up does: the
# "Done" after "Checking link statuses...", which a vhost port's log lines (a guest
# connecting meanwhile) may separate from it.
TESTPMD_READY = r"(?m)testpmd>|^Checking link statuses\.\.\.\s*$[\s\S]*?^Done$"
# librte_vhost, for either backend: a guest port connected and its rings set up.
VHOST_READY = r"virtio is now ready for processing"
HOST_FEATURES = re.compile(r"\(([^)]*)\) negotiated Virtio features: (0x[0-9a-fA-F]+)")
GUEST_FEATURES = re.compile(r"features after negotiate = (?:0x)?([0-9a-fA-F]+)")
FWD_STATS_END = re.compile(r"Accumulated forward statistics[^\n]*\n(?:[^\n]*\n)*?\s*\+{20,}\n")
# testpmd's start, once its RX queues are drained: "io packet forwarding - ports=2 ...".
FWD_STARTED = r"packet forwarding - ports="
PORT_XSTATS = re.compile(r"NIC extended statistics for port (\d+)")
PORT_RX = re.compile(r"NIC statistics for port (\d+)\s+#+\s+RX-packets:\s+(\d+)")
# dpdk-vhostfix's exit stats, its worker's line: "lcore 1 sleeps N wakeups N ... slept-ms N".
APP_LCORE = re.compile(r"^lcore \d+ (sleeps \d+.*)$", re.M)
# testpmd 22.11 says "total cycles" (later versions "busy cycles") for the same sum.
BUSY_CYCLES = re.compile(r"\((?:busy|total) cycles=(\d+) / total \S+ packets=(\d+)\) at (\d+) MHz")


class Proc:
    """A DPDK process logging to a file; testpmd is driven through its stdin."""

    def __init__(self, argv, log_path, interactive=True):
        self.log_path = log_path
        self.log = open(log_path, "w")
        # Line-buffered: what testpmd prints must reach the log as soon as it prints it.
        self.proc = subprocess.Popen(["stdbuf", "-oL", *argv],
                                     stdin=subprocess.PIPE if interactive else subprocess.DEVNULL,
                                     stdout=self.log, stderr=subprocess.STDOUT, text=True)
        self.interactive = interactive

    def text(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def wait_for(self, pattern, timeout, since=0):
        """Wait until pattern shows in the log, from offset `since` on."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if re.search(pattern, self.text()[since:]):
                return True
            if self.proc.poll() is not None:
                return bool(re.search(pattern, self.text()[since:]))
            time.sleep(0.02)
        return False

    def wait_count(self, pattern, count, timeout):
        """Wait until pattern occurs count times in the log."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if len(re.findall(pattern, self.text())) >= count:
                return True
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        return False

    def cmd(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def ask(self, line, regex, count, timeout=5):
        """Send a command; return the last `count` matches of regex it added to the log."""
        before = len(regex.findall(self.text()))
        self.cmd(line)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            found = regex.findall(self.text())
            if len(found) >= before + count:
                return found[before:before + count]
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        return None

    def rx_packets(self, nb_ports):
        """RX-packets summed over ports 0..nb_ports-1, and when they were read."""
        found = self.ask("show port stats all", PORT_RX, nb_ports)
        if found is None:
            raise RuntimeError(f"no port stats from {self.log_path}")
        return sum(int(n) for _, n in found), time.monotonic()

    def busy_cycles(self):
        """testpmd --record-core-cycles: (busy cycles, packets) so far, or None."""
        start = len(self.text())
        self.cmd("show fwd stats all")
        end = time.monotonic() + 5
        block_seen = None
        while time.monotonic() < end and self.proc.poll() is None:
            out = self.text()[start:]
            found = BUSY_CYCLES.search(out)
            if found:
                return int(found.group(1)), int(found.group(2))
            # No packet counted yet: testpmd prints the stats without the cycles line,
            # right after the accumulated block (give the next line time to come).
            if FWD_STATS_END.search(out):
                block_seen = block_seen or time.monotonic()
                if time.monotonic() - block_seen > 0.3:
                    return 0, 0
            time.sleep(0.02)
        return None

    def worker_tid(self, lcore=1):
        """The thread of an EAL worker lcore (rte-worker-N in Debian's 22.11.11)."""
        pid = self.proc.pid
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{tid}/comm") as f:
                    name = f.read().strip()
            except OSError:
                continue
            if name in (f"rte-worker-{lcore}", f"lcore-worker-{lcore}", f"dpdk-worker{lcore}"):
                return int(tid)
        return None

    def stop(self):
        if self.proc.poll() is None and self.interactive:
            try:
                self.cmd("quit")
                self.proc.wait(timeout=10)
            except (BrokenPipeError, subprocess.TimeoutExpired, OSError):
                pass
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def txpkts(size):
    """testpmd --txpkts for a frame of `size` bytes: segments of at most one mbuf's data."""
    segs = [SEG_MAX] * (size // SEG_MAX) + ([size % SEG_MAX] if size % SEG_MAX else [])
    return ",".join(str(s) for s in segs), len(segs) > 1


class GuestHugepages:
    """--guest-pages 2M: 2 MB pages for the guest's memory, reserved on top of what
    the machine has (nr_hugepages up, as many really free) and a hugetlbfs mount of
    our own for the guest's EAL; close() gives both back. The guest runs --in-memory
    (its pages are memfds, shared with the host over the vhost-user socket, and no
    file is left behind) with --single-file-segments (one memory region per
    memseg list: vhost-user takes at most 8)."""

    def __init__(self, mount, sysdir=HUGE_SYS, pages=GUEST_MEM_MB // 2 + 32):
        self.mount, self.sysdir, self.pages = mount, sysdir, pages
        self.reserved = 0
        self.mounted = False

    def _read(self, name):
        with open(os.path.join(self.sysdir, name)) as f:
            return int(f.read())

    def _write_nr(self, n):
        with open(os.path.join(self.sysdir, "nr_hugepages"), "w") as f:
            f.write(str(n))

    def open(self):
        try:
            nr0, free0 = self._read("nr_hugepages"), self._read("free_hugepages")
        except OSError as e:
            raise RuntimeError(f"--guest-pages 2M: no 2 MB hugepages here ({e}); "
                               "--guest-pages 4K runs the guest without them") from e
        try:
            self._write_nr(nr0 + self.pages)
        except OSError:
            pass  # the kernel may give fewer: counted below
        self.reserved = self._read("nr_hugepages") - nr0
        got = self._read("free_hugepages") - free0
        if got < self.pages:
            self.close()
            raise RuntimeError(f"--guest-pages 2M: could reserve only {max(got, 0)} of "
                               f"{self.pages} 2 MB hugepages; --guest-pages 4K runs the "
                               "guest without them")
        os.mkdir(self.mount, 0o700)
        mnt = subprocess.run(["mount", "-t", "hugetlbfs", "-o", "pagesize=2M", "nodev",
                              self.mount], capture_output=True, text=True)
        if mnt.returncode != 0:
            self.close()
            raise RuntimeError(f"--guest-pages 2M: cannot mount a hugetlbfs on {self.mount}: "
                               f"{mnt.stderr.strip()}")
        self.mounted = True

    def eal_args(self):
        return ["--in-memory", "--single-file-segments", f"--huge-dir={self.mount}"]

    def close(self):
        if self.mounted:
            subprocess.run(["umount", self.mount], capture_output=True)
            self.mounted = False
        if os.path.isdir(self.mount):
            os.rmdir(self.mount)
        if self.reserved:
            self._write_nr(self._read("nr_hugepages") - self.reserved)
            self.reserved = 0


def guest_memory(args, mount):
    """The guest's hugepages for --guest-pages 2M, None for 4K (the guest on --no-huge)."""
    return GuestHugepages(mount) if args.guest_pages == "2M" else None


class Bench:
    def __init__(self, args, plugin, work, guest_huge=None):
        self.args = args
        self.plugin = plugin
        self.work = work
        self.guest_huge = guest_huge
        self.prefix = f"vhfbench{os.getpid()}"

    def pmd_args(self, cell, mode, nb_ports):
        pkts, multi = txpkts(cell["size"])
        a = ["--", "-i", "--nb-cores=1", f"--txpkts={pkts}", "--burst=32",
             f"--total-num-mbufs={32768 * nb_ports}", f"--forward-mode={mode}",
             "--port-topology=paired" if nb_ports == 2 else "--port-topology=loop"]
        if multi:
            a.append(f"--tx-offloads={RTE_ETH_TX_OFFLOAD_MULTI_SEGS:#x}")
        return a

    def guest_argv(self, cell, socks, mode):
        """The guest testpmd's command line: --guest-args last, so that they
        override the defaults above them, under both backends alike."""
        mem = self.guest_huge.eal_args() if self.guest_huge else ["--no-huge"]
        common = [*mem, "-m", str(GUEST_MEM_MB), "--no-pci", f"--file-prefix={self.prefix}g",
                  "--log-level=pmd.net.virtio.init:debug"]
        vdevs = []
        for i, sock in enumerate(socks):
            vdevs += ["--vdev", f"net_virtio_user{i},path={sock},server=1,queues=1,"
                      f"packed_vq={int(cell['ring'] == 'packed')},mrg_rxbuf={cell['mrg']},"
                      f"in_order={cell['in_order']}" +
                      (f",queue_size={self.args.guest_queue_size}"
                       if self.args.guest_queue_size else "")]
        cycles = ["--record-core-cycles"] if self.args.guest_cycles else []
        # The guest's forwarding lcore on the other CPU than the host's.
        return [self.args.testpmd, "--lcores", "0@1,1@0", *common, *vdevs,
                *self.pmd_args(cell, mode, len(socks)), *cycles, *self.args.guest_args]

    def guest(self, cell, socks, mode, tag):
        """The guest testpmd, its virtio-user ports the sockets' servers: it serves
        both runs of a pair (see run_pair). Its EAL waits for the first host to
        connect, so it is up only once a host is (run_one waits for it)."""
        argv = self.guest_argv(cell, socks, mode)
        g = Proc(argv, os.path.join(self.work, f"{tag}.guest.log"))
        # Listening on the first socket; the next ones open as the host connects
        # the ones before (virtio-user waits for its client port by port).
        end = time.monotonic() + 30
        while not os.path.exists(socks[0]):
            if time.monotonic() > end or g.proc.poll() is not None:
                g.stop()
                raise RuntimeError(f"guest testpmd did not listen, see {g.log_path}")
            time.sleep(0.05)
        return g

    def host(self, cell, backend, socks, mode, tag, app_mode):
        packed = cell["ring"] == "packed"
        common = ["--no-huge", "-m", "1024", "--no-pci", f"--file-prefix={self.prefix}h",
                  "--log-level=lib.vhost.config:info"]
        vdevs = []
        for i, sock in enumerate(socks):
            if backend == "vhost":
                vdevs += ["--vdev", f"net_vhost{i},iface={sock},client=1,queues=1"]
            else:
                # Our app serves net_vhost<N> with net_vhostfix; testpmd loads it by name.
                name = "net_vhost" if mode == "app" else "net_vhostfix"
                vdevs += ["--vdev", f"{name}{i},iface={sock},client=1,queues=1" +
                          (",packed=1" if packed else "")]
        if mode == "app":
            # Our forwarder: main lcore 0 (stats, signals), the worker on CPU 1.
            argv = [self.args.app, "-l", "0-1", *common, *vdevs, "--", "--mode", app_mode]
            h = Proc(argv, os.path.join(self.work, f"{tag}.host.log"), interactive=False)
            ready = r"dpdk-vhostfix: forwarding"
        else:
            plug = ["-d", self.plugin] if backend == "vhostfix" else []
            # io (app-loop): --no-flush-rx, as our app, which never drains its
            # queues at start either (see run_one).
            argv = [self.args.testpmd, "-l", "0,1", *common, *plug, *vdevs,
                    *self.pmd_args(cell, mode, len(socks)), "--record-core-cycles",
                    *(["--no-flush-rx"] if mode == "io" else [])]
            h = Proc(argv, os.path.join(self.work, f"{tag}.host.log"))
            ready = TESTPMD_READY
        # Up, and every guest port connected and its rings started (librte_vhost's
        # log, the same for both backends).
        if not h.wait_for(ready, 30) or not h.wait_count(VHOST_READY, len(socks), 30):
            h.stop()
            raise RuntimeError(f"host did not come up, see {h.log_path}")
        return h

    def perf_record(self, procs, name):
        """--perf-record DIR: sample each (side, process)'s forwarding thread over the
        window, into DIR/<name>-<side>.data; the perf processes started."""
        if not self.args.perf_record:
            return []
        recs = []
        for side, proc in procs:
            tid = proc.worker_tid()
            if tid is None:
                continue
            out = os.path.join(self.args.perf_record, f"{name}-{side}.data")
            # perf keeps the DSOs it saw (build-id cache): the report works after the
            # plugin copy is gone.
            recs.append(subprocess.Popen(["perf", "record", "-q", "-t", str(tid), "-o", out,
                                          "--", "sleep", str(self.args.seconds)],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        return recs

    def run_pair(self, cell, order, tag, probe):
        """One guest, the backends of `order` in turn under it (a runner name per
        run: a backend, or SLEEP for dpdk-vhostfix in sleep mode): a result per
        run, in order. The guest's ports are the sockets' servers and each host a client
        that connects to them, so that the guest process, and with it every line
        the two sides share (rings, frames: all guest memory), is the same for
        both runs of a pair. How long a line takes between the two vCPUs depends
        on its physical address (vhf-linetrip --lines: about 2x between the two
        kinds of line on this VM's host), and a new guest per run put the two
        backends on different memory: guest-tx 64 B runs fell in two rates,
        whichever the backend (doc/bench-2026-12-04b.md, doc/bench-2026-12-04f.md).
        probe() runs before and after each run, with both guest and host idle:
        (line round trip, ALU figures per CPU), as cpu_probe() returns them."""
        loop = cell["dir"] == "app-loop"
        socks = [os.path.join(self.work, f"{tag}.{i}.sock") for i in range(2 if loop else 1)]
        gmode = "io" if loop else ("rxonly" if cell["dir"] == "guest-rx" else "txonly")
        guest = None
        results = []
        try:
            guest = self.guest(cell, socks, gmode, tag)
            for runner in order:
                rtt, alu = probe()
                res = self.run_one(cell, runner, f"{tag}-{runner}", guest, socks)
                res["line_rtt_ns"], res["alu_ns"] = rtt, alu
                res["line_rtt_after_ns"], res["alu_after_ns"] = probe()
                results.append(res)
            return results
        finally:
            if guest is not None:
                guest.stop()
            shutil.rmtree(f"/var/run/dpdk/{self.prefix}g", ignore_errors=True)
            for s in socks:
                if os.path.exists(s):
                    os.unlink(s)

    def run_one(self, cell, runner, tag, guest, socks):
        """One host on the pair's guest: Mpps, cycles/packet and the negotiated
        features. Leaves the guest idle (forwarding stopped) and disconnected."""
        loop = cell["dir"] == "app-loop"
        res = {"mpps": None, "cycles_per_pkt": None}
        host = None
        backend = "vhostfix" if runner == SLEEP else runner
        # The app's mode: SLEEP's run is sleep mode, the other one --app-mode's first.
        app_mode = "sleep" if runner == SLEEP else self.args.app_mode[0]
        try:
            if loop:
                hmode = "app" if backend == "vhostfix" else "io"
            else:
                hmode = "txonly" if cell["dir"] == "guest-rx" else "rxonly"
            host = self.host(cell, backend, socks, hmode, tag, app_mode)
            # The first host of a pair lets the guest's EAL finish: up once connected.
            if not guest.wait_for(TESTPMD_READY, 30):
                raise RuntimeError(f"guest testpmd did not come up, see {guest.log_path}")
            if loop:
                if backend == "vhost":
                    # The guest is primed once the host forwards: testpmd's start
                    # drained its RX queues before (twice, 10 ms apart, without
                    # --no-flush-rx) and a guest primed meanwhile saw its frames
                    # drained and the loop run empty (net_vhost read 0 Mpps).
                    since = len(host.text())
                    host.cmd("start")
                    if not host.wait_for(FWD_STARTED, 10, since):
                        raise RuntimeError(f"host testpmd did not start, see {host.log_path}")
                # 32 bursts per port by default: at least what the guest's TX
                # rings hold (it drops the rest), so that every ring of the loop
                # is busy; --loop-prime sends fewer.
                guest.cmd(f"start tx_first {self.args.loop_prime}")
                receiver, nb_ports = guest, 2
            else:
                receiver, sender = (guest, host) if cell["dir"] == "guest-rx" else (host, guest)
                receiver.cmd("start")
                time.sleep(0.3)
                sender.cmd("start")
                nb_ports = 1
            time.sleep(self.args.warmup)
            if host.interactive:
                c0 = host.busy_cycles()
            else:
                app0 = app_lcore_counters(f"{self.prefix}h")
            g0 = guest.busy_cycles() if self.args.guest_cycles else None
            # The guest too: on 2 cores it is often the side that sets the rate.
            profs = self.perf_record([("host", host), ("guest", guest)],
                                     f"{cell_name(cell).replace(' ', '_')}-{tag}")
            p0, t0 = receiver.rx_packets(nb_ports)
            time.sleep(self.args.seconds)
            p1, t1 = receiver.rx_packets(nb_ports)
            for prof in profs:
                prof.wait()
            res["mpps"] = (p1 - p0) / (t1 - t0) / 1e6
            if host.interactive:
                res["cycles_per_pkt"] = busy_cycles_per_pkt(c0, host.busy_cycles())
            else:
                app1 = app_lcore_counters(f"{self.prefix}h")
                if app0 is not None and app1 is not None:
                    # Our worker within the window only: at full load, no sleep at all.
                    res["app_window"] = {k: app1[k] - app0.get(k, 0) for k in app1}
                    res["cycles_per_pkt"] = app_busy_cycles_per_pkt(res["app_window"])
            if g0 is not None:
                # Where the guest sets the rate, what it costs behind this host.
                gc = busy_cycles_per_pkt(g0, guest.busy_cycles())
                if gc is not None:
                    res["guest_cycles_per_pkt"] = gc
            # The guest stops before its host goes: a packed ring's reconnection
            # resets its queues, which a running lcore must not be using.
            guest.cmd("stop")
            if host.interactive:
                host.cmd("stop")
                # For the log: the PMD's own counters say why a run went wrong.
                host.ask("show port xstats all", PORT_XSTATS, len(socks))
            htext, gtext = host.text(), guest.text()
            feats = {}
            for sock, value in HOST_FEATURES.findall(htext):
                feats[sock] = int(value, 16)  # the last negotiation of a socket counts
            res["host_features"] = [feats.get(s) for s in socks]
            # The guest logs its negotiation once, with the pair's first host; a
            # reconnection keeps those bits where the new host offers them, and
            # the host's line above says what each run negotiated.
            guest_feats = GUEST_FEATURES.findall(gtext)[-len(socks):]
            res["guest_features"] = [int(v, 16) for v in guest_feats]
            return res
        finally:
            if host is not None:
                host.stop()
                if not host.interactive:
                    # Our app's worker over the whole run (warm-up included), from
                    # its exit stats: how often sleep mode slept at full load.
                    found = APP_LCORE.findall(host.text())
                    if found:
                        res["app_lcore"] = {k.replace("-", "_"): int(v) for k, v in
                                            re.findall(r"([a-z-]+) (\d+)", found[-1])}
            shutil.rmtree(f"/var/run/dpdk/{self.prefix}h", ignore_errors=True)


def app_lcore_counters(prefix):
    """dpdk-vhostfix's worker counters (sleeps, sleep_aborted, busy_cycles, ...)
    over telemetry, summed over its worker lcores, with streams_rx the packets its
    streams received; or None if it does not answer."""
    try:
        tel = vhf_stats.Telemetry(prefix)
        try:
            st = tel.query("/vhostfix/stats")
        finally:
            tel.close()
    except (OSError, ValueError):
        return None
    if not isinstance(st, dict):
        return None
    total = {}
    for key, val in st.items():
        if key.startswith("lcore") and isinstance(val, dict):
            for k, v in val.items():
                # Counters only: not the lcore's id, its streams, its latency percentiles.
                if (isinstance(v, int) and k not in ("lcore", "streams")
                        and not k.startswith("wake_latency")):
                    total[k] = total.get(k, 0) + v
        elif key.startswith("stream") and isinstance(val, dict):
            total["streams_rx"] = total.get("streams_rx", 0) + val.get("rx", 0)
    return total


def busy_cycles_per_pkt(before, after):
    """Busy cycles per packet between two testpmd busy_cycles() readings, or None
    (a reading missing, or no packet in between)."""
    if before is None or after is None or after[1] <= before[1]:
        return None
    return (after[0] - before[0]) / (after[1] - before[1])


def app_busy_cycles_per_pkt(window):
    """Busy cycles per packet received, from a window of app_lcore_counters(), or None."""
    if window.get("streams_rx", 0) <= 0 or "busy_cycles" not in window:
        return None
    return window["busy_cycles"] / window["streams_rx"]


def runners_of(cell, both_modes):
    """The runs a cell's pair makes under its guest: the two backends, and in
    app-loop with both app modes, dpdk-vhostfix's sleep mode between them."""
    if both_modes and cell["dir"] == "app-loop":
        return ("vhostfix", SLEEP, "vhost")
    return BACKENDS


def run_order(cell, both_modes, rnd):
    """The order of round rnd's runs under one guest. A pair flips every round.
    A triple rotates, so that every three rounds each of its runs goes first,
    second and third once: no run keeps a place. Until 2026-12-07 sleep mode
    was always second, and read below poll mode in cells where the two modes,
    each measured alone against net_vhost, were equal (doc/bench-2026-12-07f.md,
    which also has the cells the rotation did not settle)."""
    order = runners_of(cell, both_modes)
    if len(order) == 3:
        k = rnd % 3
        return order[k:] + order[:k]
    return order if rnd % 2 == 0 else order[::-1]


def cpu_probe(path):
    """vhf-linetrip's round trip in ns between CPUs 0 and 1 and its ns per 1000
    adds on each ([cpu0, cpu1]); None for what it did not say (or without it)."""
    if not path or not os.access(path, os.X_OK):
        return None, None
    try:
        out = subprocess.run([path], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None, None
    return parse_probe(out)


def parse_probe(out):
    """cpu_probe()'s figures from vhf-linetrip's output (a build from before
    2026-12-06 prints no ALU line: None there)."""
    m = re.search(r"line_round_trip_ns (\d+)", out)
    a = re.search(r"alu_ns_per_1000_adds ([\d.]+) ([\d.]+)", out)
    return (int(m.group(1)) if m else None,
            [float(a.group(1)), float(a.group(2))] if a else None)


def matrix(args):
    cells = []
    for d, ring, mrg, ino, size in itertools.product(args.cells, args.rings, args.mrg,
                                                     args.in_order, args.sizes):
        # 9000 B frames reach a virtio-net driver only through mergeable RX buffers.
        if size > 1518 and not mrg:
            continue
        cells.append({"dir": d, "ring": ring, "mrg": mrg, "in_order": ino, "size": size})
    return cells


def parse_list(text, allowed, conv=str):
    items = [conv(x) for x in text.split(",") if x]
    bad = [x for x in items if x not in allowed]
    if bad or not items:
        raise argparse.ArgumentTypeError(f"expected a comma-separated subset of "
                                         f"{','.join(str(a) for a in allowed)}, got '{text}'")
    return items


def onoff(text):
    return parse_list(text.replace("on", "1").replace("off", "0"), (0, 1), int)


def loop_prime(text):
    n = int(text)
    if not 1 <= n <= 1024:
        raise argparse.ArgumentTypeError("1 to 1024 bursts")
    return n


def queue_size(text):
    n = int(text)
    # A split ring's size is a power of 2 (the virtio spec, split virtqueues); packed
    # ones are held to it too, so that both layouts run with one size.
    if not 64 <= n <= 32768 or n & (n - 1):
        raise argparse.ArgumentTypeError("a power of 2 from 64 to 32768")
    return n


def arg_parser():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--so", default=os.path.join(TOP, "build/drivers/net/vhostfix/"
                                                      "librte_net_vhostfix.so"),
                    help="librte_net_vhostfix.so from the build (default: %(default)s)")
    ap.add_argument("--app", help="dpdk-vhostfix (default: app/dpdk-vhostfix/ of the "
                    "build the .so comes from)")
    ap.add_argument("--testpmd", default="dpdk-testpmd")
    ap.add_argument("--linetrip", help="vhf-linetrip, the vCPU placement probe (default: "
                    "usertools/ of the build the .so comes from; none there: not recorded)")
    ap.add_argument("--cells", type=lambda t: parse_list(t, DIRECTIONS), default=list(DIRECTIONS),
                    help="directions (default: all): " + ",".join(DIRECTIONS))
    ap.add_argument("--rings", type=lambda t: parse_list(t, RINGS), default=list(RINGS),
                    help="ring layouts (default: split,packed)")
    ap.add_argument("--mrg", type=onoff, default=[1, 0], help="mergeable RX (default: on,off)")
    ap.add_argument("--in-order", type=onoff, default=[1, 0], help="in-order (default: on,off)")
    ap.add_argument("--sizes", type=lambda t: parse_list(t, SIZES, int), default=list(SIZES),
                    help="frame sizes in bytes (default: 64,1518,9000; 9000 with mrg on only)")
    ap.add_argument("--quick", action="store_true",
                    help="smoke preset: guest-rx,guest-tx, split, 64 B, mrg and in-order on")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--retries", type=int, default=2,
                    help="a round's pair of runs whose vCPU placement differed or changed "
                    "(vhf-linetrip before and after each run) is measured again, up to this "
                    "many more times (default: %(default)s); the summary compares pairs "
                    "measured in one placement")
    ap.add_argument("--seconds", type=float, default=5.0, help="measurement per run")
    ap.add_argument("--warmup", type=float, default=1.5)
    ap.add_argument("--json", metavar="FILE", help="write every run and the summary as JSON")
    ap.add_argument("--chart", metavar="FILE", help="write a PNG chart (needs matplotlib)")
    ap.add_argument("--app-mode", type=lambda t: parse_list(t, ("poll", "sleep")),
                    default=["poll"], help="app-loop: dpdk-vhostfix's --mode (default: poll); "
                    "poll,sleep runs both under each pair's guest, with net_vhost's run: "
                    "sleep mode at full load against poll mode in one run")
    ap.add_argument("--guest-args", type=shlex.split, default=[], metavar="ARGS",
                    help="more testpmd arguments for the guest, the same under both backends "
                    "(recorded in the JSON); give them with =, as --guest-args='--txfreet=224'")
    ap.add_argument("--loop-prime", type=loop_prime, default=LOOP_PRIME_DEFAULT, metavar="BURSTS",
                    help="app-loop: the guest primes the loop with this many 32-frame "
                    "bursts per port (testpmd's start tx_first; default: %(default)s, "
                    "what rings of up to 1024 descriptors hold)")
    ap.add_argument("--guest-queue-size", type=queue_size, metavar="N",
                    help="the guest's virtio-user ring size (its queue_size devarg; "
                    "default: virtio-user's own, 256)")
    ap.add_argument("--guest-pages", choices=GUEST_PAGES, type=str.upper, default="2M",
                    help="the guest's memory pages: 2M (the default) as a QEMU guest's on "
                    "a vhost-user host, reserved for the run and given back at exit; 4K "
                    "(--no-huge) as the runs before 2026-12-06")
    # The option of the runs of 2026-12-04 to 2026-12-05, when 4K was the default:
    # their command lines still run the same benchmark.
    ap.add_argument("--guest-hugepages", dest="guest_pages", action="store_const",
                    const="2M", help=argparse.SUPPRESS)
    ap.add_argument("--guest-cycles", action="store_true",
                    help="also the guest's own cost: its testpmd's busy cycles per packet "
                    "(--record-core-cycles in the guest) in each run's window, and a table of "
                    "them under the cells: where the guest sets the rate, whether it costs "
                    "more behind one backend than behind the other")
    ap.add_argument("--keep", action="store_true", help="keep the logs (printed path)")
    ap.add_argument("--perf-record", metavar="DIR",
                    help="also perf record the forwarding threads of host and guest over "
                    "each window, into DIR/<cell>-<round>-<backend>-{host,guest}.data (perf "
                    "report -i FILE --no-children --sort symbol); the sampling costs both "
                    "some of their rate")
    return ap


def measure(bench, results, probed, both_modes):
    """Every round of every cell, each pair's runs into results[i]["runs"] and
    their probe readings into probed. Returns None when every round ran, or, when
    SIGINT or SIGTERM cut it short, what report() says about that: the pairs
    measured until then stay in results (the pair under way is given up, its
    processes stopped by run_pair(); a pair the signal caught while its runs were
    being added is left out by keep_whole_pairs())."""
    args = bench.args
    rnd = 0
    try:
        for rnd in range(args.rounds):
            for i, r in enumerate(results):
                order = run_order(r["cell"], both_modes, rnd)
                for attempt in range(args.retries + 1):
                    if r.get("error"):
                        break
                    tag = f"r{rnd}.{attempt}-c{i}"
                    try:
                        # Before and after each run: nothing of ours running on either CPU.
                        pair = bench.run_pair(r["cell"], order, tag,
                                              lambda: cpu_probe(args.linetrip))
                    except RuntimeError as e:
                        r["error"] = str(e)
                        print(f"round {rnd + 1}  {cell_name(r['cell']):44} {r['error']}",
                              flush=True)
                        break
                    probed += pair
                    quiet = quiet_alu_ns(probed)
                    for run in pair:
                        run["pair"] = f"{rnd}.{attempt}"
                        run["placement"] = placement(run, APART_NS)
                        run["core"] = core_state(run, quiet)
                    for runner, run in zip(order, pair):
                        r["runs"][runner].append(run)
                    for runner, run in zip(order, pair):
                        feats = ",".join(f"{f:#x}" if f is not None else "?"
                                         for f in run["host_features"])
                        label = "sleep" if runner == SLEEP else f"net_{runner}"
                        print(f"round {rnd + 1}  {cell_name(r['cell']):44} {label:13} "
                              f"{run['mpps']:7.3f} Mpps  "
                              f"{fmt(run['cycles_per_pkt'], '.0f', 6)} cyc/pkt  features {feats}"
                              f"  line {fmt(run['line_rtt_ns'], 'd', 4)}/"
                              f"{fmt(run['line_rtt_after_ns'], 'd', 4)} ns"
                              f"  core {run['core'] or '-'}", flush=True)
                    # A pair is measured again while the vCPUs moved under it, or a
                    # core under them was shared for one run and not the other, so
                    # that a ratio compares the backends, not two machine states.
                    if (matched(pair) or attempt == args.retries
                            or any(run["placement"] is None for run in pair)):
                        break
                    print(f"round {rnd + 1}  {cell_name(r['cell']):44} placement "
                          f"{'/'.join(str(run['placement']) for run in pair)}, core "
                          f"{'/'.join(str(run['core']) for run in pair)}: measured again",
                          flush=True)
    except KeyboardInterrupt as e:
        # The report takes a moment: a second signal must not cut it short too.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signum = e.args[0] if e.args else signal.SIGINT
        return {"signal": int(signum), "signal_name": signal.Signals(signum).name,
                "round": rnd + 1, "cells": len(results)}
    return None


def keep_whole_pairs(results):
    """The cells of an interrupted run with the runs of their whole pairs only
    (every runner of the cell measured in that pair); cells without one left out."""
    kept = []
    for r in results:
        runs = r["runs"]
        whole = set.intersection(*({run["pair"] for run in rs} for rs in runs.values()))
        if not whole and not r.get("error"):
            continue
        kept.append(dict(r, runs={b: [run for run in rs if run["pair"] in whole]
                                  for b, rs in runs.items()}))
    return kept


def main():
    ap = arg_parser()
    args = ap.parse_args()
    if args.quick:
        args.cells, args.rings, args.sizes = ["guest-rx", "guest-tx"], ["split"], [64]
        args.mrg, args.in_order = [1], [1]
    if len(set(args.app_mode)) != len(args.app_mode):
        ap.error("--app-mode: each mode once")
    both_modes = len(args.app_mode) == 2
    if both_modes and args.app_mode[0] != "poll":
        args.app_mode.reverse()
    if args.rounds < 1 or args.seconds <= 0 or args.warmup < 0 or args.retries < 0:
        ap.error("need --rounds >= 1, --seconds > 0, --warmup >= 0, --retries >= 0")
    # The build the .so comes from (<build>/drivers/net/vhostfix/<so>).
    build = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(args.so)))))
    if args.app is None:
        args.app = os.path.join(build, "app/dpdk-vhostfix/dpdk-vhostfix")
    if args.linetrip is None:
        args.linetrip = os.path.join(build, "usertools/vhf-linetrip")
    if os.geteuid() != 0:
        sys.exit("vhf-bench: needs root (vhost-user sockets, the plugin copy under /run)")
    if shutil.which(args.testpmd) is None:
        sys.exit(f"vhf-bench: {args.testpmd} not found (Debian package dpdk)")
    if args.perf_record:
        if shutil.which("perf") is None:
            sys.exit("vhf-bench: --perf-record needs perf (Debian package linux-perf)")
        os.makedirs(args.perf_record, exist_ok=True)
    if not os.path.isfile(args.so):
        sys.exit(f"vhf-bench: {args.so} not found (build first, or --so)")
    cells = matrix(args)
    if "app-loop" in args.cells and not os.access(args.app, os.X_OK):
        sys.exit(f"vhf-bench: {args.app} not found (build first, or --app)")
    if not cells:
        sys.exit("vhf-bench: no cell selected (9000 B needs --mrg on)")
    est = (sum(len(runners_of(c, both_modes)) for c in cells) * args.rounds
           * (args.seconds + args.warmup + 4))
    if "app-loop" in args.cells:
        print(f"vhf-bench: app-loop with dpdk-vhostfix --mode {' and '.join(args.app_mode)}",
              flush=True)
    print(f"vhf-bench: {len(cells)} cell(s) x 2 backends"
          f"{' (+ sleep mode)' if both_modes else ''} x {args.rounds} round(s), "
          f"about {est / 60:.0f} min (more for pairs measured again)", flush=True)

    # EAL refuses -d from under a world-writable directory such as /tmp: load a copy
    # from a root-owned 0755 directory.
    plugdir = f"/run/vhf-bench.{os.getpid()}"
    os.mkdir(plugdir, 0o755)
    plugin = os.path.join(plugdir, "librte_net_vhostfix.so")
    shutil.copy(args.so, plugin)
    work = tempfile.mkdtemp(prefix="vhf-bench.")
    guest_huge = guest_memory(args, f"{plugdir}.huge")
    bench = Bench(args, plugin, work, guest_huge)

    def on_signal(signum, _frame):
        raise KeyboardInterrupt(signum)

    signal.signal(signal.SIGTERM, on_signal)
    results = [{"cell": c, "runs": {b: [] for b in runners_of(c, both_modes)}} for c in cells]
    # Every ALU reading so far: core_state() compares a run with the quietest on
    # either CPU, from three readings before the first run on.
    probed = [{"alu_ns": cpu_probe(args.linetrip)[1]} for _ in range(3)]
    interrupted = None
    try:
        if guest_huge:
            try:
                guest_huge.open()
            except RuntimeError as e:
                sys.exit(f"vhf-bench: {e}")
        interrupted = measure(bench, results, probed, both_modes)
    finally:
        if guest_huge:
            guest_huge.close()
        shutil.rmtree(plugdir, ignore_errors=True)
        if args.keep or any(r.get("error") for r in results):
            print(f"vhf-bench: logs in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    report(results, probed, args, interrupted)


def report(results, probed, args, interrupted):
    """The table, the JSON (--json) and the chart (--chart) of the runs in
    results, and the exit: 0, 1 when a cell failed, 128 + the signal's number
    when one cut the run short (measure()), after reporting the pairs measured
    before it."""
    if interrupted:
        results = keep_whole_pairs(results)
        interrupted["cells_measured"] = len(results)
        print(f"vhf-bench: interrupted by {interrupted['signal_name']} in round "
              f"{interrupted['round']} of {args.rounds}: the table"
              f"{' and the JSON hold' if args.json else ' holds'} the pairs measured before "
              f"it, in {len(results)} of {interrupted['cells']} cell(s)", flush=True)
    # Every run's core state against the quietest reading of the whole benchmark.
    quiet = quiet_alu_ns(probed)
    for r in results:
        for runs in r["runs"].values():
            for run in runs:
                run["core"] = core_state(run, quiet)
        if not r.get("error"):
            r["summary"] = summarize(r["cell"], r["runs"])
    print_table(results, args)
    if args.json:
        meta = {"rounds": args.rounds, "seconds": args.seconds, "warmup": args.warmup,
                "app_mode": args.app_mode, "guest_args": args.guest_args,
                "loop_prime": args.loop_prime, "guest_queue_size": args.guest_queue_size,
                "guest_pages": args.guest_pages,
                "guest_hugepages": args.guest_pages == "2M",
                "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "interrupted": interrupted,
                "loadavg": os.getloadavg(), "app_loop_cycles": APP_LOOP_CYCLES,
                "core_quiet_alu_ns": quiet, "core_shared_factor": CORE_SHARED_FACTOR,
                "line_rtt_probe": args.linetrip if any(
                    run.get("line_rtt_ns") for r in results for runs in r["runs"].values()
                    for run in runs) else None}
        with open(args.json, "w") as f:
            json.dump({"meta": meta, "cells": results}, f, indent=1)
        print(f"vhf-bench: JSON in {args.json}")
    if args.chart and write_chart(args.chart, results):
        print(f"vhf-bench: chart in {args.chart}")
    if interrupted:
        sys.exit(128 + interrupted["signal"])
    sys.exit(1 if any(r.get("error") for r in results) else 0)


if __name__ == "__main__":
    main()
