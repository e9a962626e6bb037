#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors
"""The host side of test_migrate.sh's host -> guest TCP stream.

  migrate_feed.py ADDR PORT STOPFILE KBYTES_PER_S

Connects to ADDR:PORT (retrying while the guest's listener is not up yet),
sends pseudo-random data at about KBYTES_PER_S until STOPFILE exists, then
closes the connection and prints "DONE <bytes> <sha256>". While sending it
prints "SENT <bytes>" after each 256 KiB: with a small send buffer, what was
sent is what the guest took, give or take the buffer, so a growing count
after a migration shows the guest receiving on its new back-end. The rate only
keeps a TCG guest from spending its CPU on this stream; nothing depends on it.
"""

import hashlib
import os
import random
import socket
import sys
import time

CHUNK = 16384
SNDBUF = 65536


def main():
    addr, port, stopfile, rate = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    deadline = time.monotonic() + 60
    while True:
        try:
            sock = socket.create_connection((addr, port), timeout=5)
            break
        except OSError:
            if time.monotonic() > deadline:
                sys.exit("migrate_feed: cannot connect to %s:%d" % (addr, port))
            time.sleep(0.2)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SNDBUF)
    # A send that blocks for ever (a stalled guest) is the test's to notice:
    # it waits for DONE with a timeout.
    sock.settimeout(None)
    print("CONNECTED", flush=True)
    rng = random.Random(14)
    digest = hashlib.sha256()
    sent = 0
    reported = 0
    t0 = time.monotonic()
    while not os.path.exists(stopfile):
        data = rng.randbytes(CHUNK)
        sock.sendall(data)
        digest.update(data)
        sent += len(data)
        if sent - reported >= 256 * 1024:
            reported = sent
            print("SENT %d" % sent, flush=True)
        ahead = sent / (rate * 1024.0) - (time.monotonic() - t0)
        if ahead > 0:
            time.sleep(ahead)
    sock.shutdown(socket.SHUT_WR)
    # The guest closes once it has read everything.
    sock.settimeout(120)
    while sock.recv(4096):
        pass
    sock.close()
    print("DONE %d %s" % (sent, digest.hexdigest()), flush=True)


if __name__ == "__main__":
    main()
