#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors
"""A TCP stream both ways, every byte checked by digest.

  vhf-tcp-check.py serve ADDR PORT          accept one connection: read BYTES of
                                            data, reply with its SHA-256, then send
                                            BYTES of our own; prints LISTENING
                                            once it accepts connections
  vhf-tcp-check.py send ADDR PORT BYTES     connect, send BYTES of pseudo-random
                                            data, check the digest that comes
                                            back, receive and check the server's BYTES
Prints "TCP ok ..." and exits 0, or says what differed and exits 1.
"""

import hashlib
import os
import socket
import struct
import sys
import time

CHUNK = 65536


def pattern(nbytes, seed):
    """Deterministic bytes, cheap to make: SHA-256 counter stream."""
    out = bytearray()
    block = 0
    while len(out) < nbytes:
        out += hashlib.sha256(b"%d:%d" % (seed, block)).digest() * 64
        block += 1
    return bytes(out[:nbytes])


def recv_exact(sock, n):
    buf = bytearray()
    while len(buf) < n:
        part = sock.recv(min(CHUNK, n - len(buf)))
        if not part:
            raise ConnectionError("peer closed after %d of %d bytes" % (len(buf), n))
        buf += part
    return bytes(buf)


def serve(addr, port):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((addr, port))
    ls.listen(1)
    print("LISTENING %s:%d" % (addr, port), flush=True)
    ls.settimeout(120)
    conn, _ = ls.accept()
    conn.settimeout(120)
    nbytes = struct.unpack("!Q", recv_exact(conn, 8))[0]
    digest = hashlib.sha256()
    left = nbytes
    while left:
        part = conn.recv(min(CHUNK, left))
        if not part:
            raise ConnectionError("client closed early")
        digest.update(part)
        left -= len(part)
    conn.sendall(digest.digest())
    conn.sendall(pattern(nbytes, 2))
    conn.close()
    return 0


def send(addr, port, nbytes):
    s = None
    # A server started at the same time may not listen yet: try for a while.
    deadline = time.monotonic() + 60
    while s is None and time.monotonic() < deadline:
        try:
            s = socket.create_connection((addr, port), timeout=5)
        except OSError:
            time.sleep(0.1)
    if s is None:
        print("TCP FAIL: cannot connect to %s:%d" % (addr, port))
        return 1
    s.settimeout(120)
    data = pattern(nbytes, 1)
    t0 = time.monotonic()
    s.sendall(struct.pack("!Q", nbytes))
    s.sendall(data)
    theirs = recv_exact(s, 32)
    if theirs != hashlib.sha256(data).digest():
        print("TCP FAIL: the server's digest of our %d bytes differs" % nbytes)
        return 1
    back = recv_exact(s, nbytes)
    secs = time.monotonic() - t0
    s.close()
    if back != pattern(nbytes, 2):
        print("TCP FAIL: the %d bytes from the server differ" % nbytes)
        return 1
    print("TCP ok: %d bytes each way, checked, in %.2f s (%.1f Mbit/s)"
          % (nbytes, secs, 2 * nbytes * 8 / secs / 1e6))
    return 0


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "serve":
        return serve(sys.argv[2], int(sys.argv[3]))
    if len(sys.argv) == 5 and sys.argv[1] == "send":
        return send(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (OSError, ConnectionError) as e:
        print("TCP FAIL: %s" % e)
        sys.exit(1)
