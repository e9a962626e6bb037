#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors
"""Sparse UDP datagrams, each sent to a sleeping forwarder: none may be left behind.

  udp_wake.py send ADDR PORT COUNT [--asleep STATFILE] -- RECEIVER_COMMAND...
  udp_wake.py recv ADDR PORT

send starts the receiver (typically `ip netns exec NS udp_wake.py recv ADDR
PORT`, the other side of the forwarder), waits until it listens, then sends
COUNT datagrams one at a time: each only once the forwarder's thread is asleep
(its /proc/PID/task/TID/stat says S: blocked in the kernel), the next only
once the receiver has it. A forwarder that missed the wake-up for a datagram
would hold it until something else woke it, and nothing else comes: the
datagram is then lost to this test, which waits LOST_S seconds (default 30,
far beyond any delay a busy machine adds) before it says so. Nothing here
depends on timing: latencies are printed, never judged.

send prints "WAKE ok: ..." and exits 0, or "WAKE FAIL: ..." and exits 1.
recv prints READY once bound, then "GOT SEQ" per datagram, in order.
"""

import os
import select
import socket
import struct
import subprocess
import sys
import time

LOST_S = float(os.environ.get("LOST_S", "30"))
# How long the forwarder may take to fall asleep after a datagram (it polls for
# --idle-us first); only a forwarder that never sleeps reaches it.
ASLEEP_S = float(os.environ.get("ASLEEP_S", "30"))


def recv(addr, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, port))
    print("READY", flush=True)
    while True:
        data, _ = s.recvfrom(2048)
        seq, = struct.unpack("!I", data[:4])
        print("GOT %d" % seq, flush=True)


class Lines:
    """Lines of a pipe, with a deadline."""

    def __init__(self, f):
        self.fd = f.fileno()
        self.buf = b""

    def next(self, timeout):
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            r, _, _ = select.select([self.fd], [], [], left)
            if r:
                chunk = os.read(self.fd, 4096)
                if not chunk:
                    return None
                self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode(errors="replace").strip()


def asleep(statfile):
    try:
        with open(statfile) as f:
            stat = f.read()
    except OSError:
        return False
    # The command name, in parentheses, may hold spaces: the state follows it.
    return stat[stat.rindex(")") + 2] == "S"


def wait_asleep(statfile):
    deadline = time.monotonic() + ASLEEP_S
    while not asleep(statfile):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.001)
    return True


def send(addr, port, count, statfile, receiver):
    rx = subprocess.Popen(receiver, stdout=subprocess.PIPE)
    try:
        return send_to(addr, port, count, statfile, Lines(rx.stdout))
    finally:
        rx.kill()
        rx.wait()


def send_to(addr, port, count, statfile, lines):
    if lines.next(LOST_S) != "READY":
        print("WAKE FAIL: the receiver did not start")
        return 1
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    lat = []
    for seq in range(count):
        if statfile and not wait_asleep(statfile):
            print("WAKE FAIL: the forwarder did not fall asleep within %.0f s (datagram %d)"
                  % (ASLEEP_S, seq))
            return 1
        t0 = time.monotonic()
        s.sendto(struct.pack("!I", seq) + bytes(60), (addr, port))
        line = lines.next(LOST_S)
        if line != "GOT %d" % seq:
            print("WAKE FAIL: datagram %d of %d %s" % (
                seq, count, "not delivered within %.0f s: a missed wake-up" % LOST_S
                if line is None else "answered by %r" % line))
            return 1
        lat.append((time.monotonic() - t0) * 1000.0)
    slow = sorted(range(count), key=lambda i: -lat[i])[:3]
    med = sorted(lat)[count // 2]
    print("WAKE ok: %d datagrams, each sent to a forwarder %s, each delivered; round trip "
          "to the receiver's report: median %.3f ms, slowest %s"
          % (count, "asleep" if statfile else "(not watched)", med,
             ", ".join("#%d %.1f ms" % (i, lat[i]) for i in slow)))
    return 0


def main():
    a = sys.argv
    if len(a) == 4 and a[1] == "recv":
        return recv(a[2], int(a[3]))
    if len(a) >= 6 and a[1] == "send" and "--" in a:
        cut = a.index("--")
        opts, receiver = a[5:cut], a[cut + 1:]
        statfile = None
        if opts[:1] == ["--asleep"] and len(opts) == 2:
            statfile = opts[1]
        elif opts:
            opts = None
        if opts is not None and receiver:
            return send(a[2], int(a[3]), int(a[4]), statfile, receiver)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
