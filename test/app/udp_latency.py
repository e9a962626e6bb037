#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors
"""One-way latency of sparse UDP datagrams, to catch a sleeper that missed a wake-up.

  udp_latency.py recv ADDR PORT COUNT     print a summary, exit 1 on a late or lost one
  udp_latency.py send ADDR PORT COUNT INTERVAL_S

Both ends run on one machine (in two network namespaces), so the sender's
timestamp and the receiver's clock agree. A forwarder that sleeps and misses
the wake-up for a datagram forwards it only when the next one wakes it: that
datagram is then late by about one INTERVAL. The receiver flags any datagram
later than --late (default 0.8 x INTERVAL, given on the recv side as
LATE_MS in the environment) and any that never came.
"""

import os
import socket
import struct
import sys
import time


def recv(addr, port, count):
    late_ms = float(os.environ.get("LATE_MS", "80"))
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, port))
    s.settimeout(float(os.environ.get("FIRST_TIMEOUT_S", "20")))
    lat = {}
    try:
        while len(lat) < count:
            data, _ = s.recvfrom(2048)
            now = time.time()
            seq, sent = struct.unpack("!Id", data[:12])
            lat[seq] = (now - sent) * 1000.0
            s.settimeout(5)
    except socket.timeout:
        pass
    if not lat:
        print("LATENCY FAIL: nothing received")
        return 1
    vals = sorted(lat.values())
    late = sorted((q, round(v, 1)) for q, v in lat.items() if v > late_ms)
    lost = count - len(lat)
    p50 = vals[len(vals) // 2]
    p99 = vals[min(len(vals) - 1, int(len(vals) * 0.99))]
    verdict = "ok" if not late and not lost else "FAIL"
    print("LATENCY %s: %d/%d received, median %.3f ms, p99 %.3f ms, max %.3f ms, "
          "late (> %.0f ms) %s"
          % (verdict, len(lat), count, p50, p99, vals[-1], late_ms, late[:10] or "none"))
    return 0 if verdict == "ok" else 1


def send(addr, port, count, interval):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for seq in range(count):
        s.sendto(struct.pack("!Id", seq, time.time()) + bytes(50), (addr, port))
        time.sleep(interval)
    return 0


def main():
    a = sys.argv
    if len(a) == 5 and a[1] == "recv":
        return recv(a[2], int(a[3]), int(a[4]))
    if len(a) == 6 and a[1] == "send":
        return send(a[2], int(a[3]), int(a[4]), float(a[5]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
