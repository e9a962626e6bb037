#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors
"""A minimal vhost-user front-end, for what DPDK's virtio-user never sends.

It plays QEMU's part in front of a net_vhostfix socket (the port is the
server): negotiates features and protocol features, gives a memory table of
one memfd, sets up the first ring pair (split, empty: the guest publishes
nothing) and enables it, so that the device is running, then sends the
requests it was asked for. The messages are the vhost-user specification's
("Front-end message types"). Every request is followed by GET_FEATURES, whose
reply proves that the back-end has handled what came before it: a test can
then look at the back-end's side without waiting for time to pass.

Prints one line "NEGOTIATED offered=0x.. features=0x.. protocol_offered=0x..
protocol=0x.." and, once every request is handled, "DONE", then stays
connected until it is killed (SIGTERM), as a front-end whose guest runs on.

Usage: vhu_frontend.py SOCKET [--no-rarp-feature] [--ack BIT]... [--rarp MAC]...
"""

import argparse
import array
import os
import signal
import socket
import struct
import sys

# Requests (vhost-user specification).
GET_FEATURES = 1
SET_FEATURES = 2
SET_OWNER = 3
SET_MEM_TABLE = 5
SET_VRING_NUM = 8
SET_VRING_ADDR = 9
SET_VRING_BASE = 10
SET_VRING_KICK = 12
SET_VRING_CALL = 13
GET_PROTOCOL_FEATURES = 15
SET_PROTOCOL_FEATURES = 16
SET_VRING_ENABLE = 18
SEND_RARP = 19

VERSION = 0x1
REPLY = 0x4

F_PROTOCOL_FEATURES = 30  # vhost-user, not virtio
F_VERSION_1 = 32
PROTOCOL_F_RARP = 2

MEM_SIZE = 1 << 20
# Where the "front-end process" has guest memory: any value, the back-end only
# translates ring addresses through it.
USER_ADDR = 0x7F0000000000
RING_SIZE = 256
# Vring i: descriptors, avail and used rings at RING_BASE + i * RING_STRIDE.
RING_BASE = 0x10000
RING_STRIDE = 0x10000


class Frontend:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.keep = []  # fds the back-end holds a copy of: kept open while we run

    def send(self, req, payload=b"", fds=()):
        msg = struct.pack("<III", req, VERSION, len(payload)) + payload
        anc = []
        if fds:
            anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))]
        self.sock.sendmsg([msg], anc)

    def recv_exact(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                sys.exit("vhu_frontend: the back-end closed the connection")
            buf += chunk
        return buf

    def get_u64(self, req):
        self.send(req)
        rreq, flags, size = struct.unpack("<III", self.recv_exact(12))
        payload = self.recv_exact(size)
        if rreq != req or not flags & REPLY or size != 8:
            sys.exit(f"vhu_frontend: bad reply to {req}: {rreq} flags {flags:#x} size {size}")
        return struct.unpack("<Q", payload)[0]

    def sync(self):
        """The back-end handled every request sent so far."""
        return self.get_u64(GET_FEATURES)

    def vring(self, index, mem_fd):
        base = RING_BASE + index * RING_STRIDE
        desc, avail, used = base, base + 0x1000, base + 0x2000
        self.send(SET_VRING_NUM, struct.pack("<II", index, RING_SIZE))
        self.send(SET_VRING_BASE, struct.pack("<II", index, 0))
        self.send(SET_VRING_ADDR, struct.pack("<IIQQQQ", index, 0, USER_ADDR + desc,
                                              USER_ADDR + used, USER_ADDR + avail, 0))
        for req in (SET_VRING_KICK, SET_VRING_CALL):
            efd = os.eventfd(0, os.EFD_NONBLOCK)
            self.keep.append(efd)
            self.send(req, struct.pack("<Q", index), [efd])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("socket")
    ap.add_argument("--no-rarp-feature", action="store_true",
                    help="do not negotiate VHOST_USER_PROTOCOL_F_RARP")
    ap.add_argument("--ack", action="append", default=[], type=int, metavar="BIT",
                    help="also acknowledge virtio feature BIT if offered (may repeat)")
    ap.add_argument("--rarp", action="append", default=[], metavar="MAC",
                    help="send VHOST_USER_SEND_RARP for MAC (may repeat)")
    args = ap.parse_args()

    fe = Frontend(args.socket)
    offered = fe.get_u64(GET_FEATURES)
    if not offered & (1 << F_PROTOCOL_FEATURES):
        sys.exit("vhu_frontend: no protocol features offered")
    pf_offered = fe.get_u64(GET_PROTOCOL_FEATURES)
    pf = pf_offered & (0 if args.no_rarp_feature else 1 << PROTOCOL_F_RARP)
    fe.send(SET_PROTOCOL_FEATURES, struct.pack("<Q", pf))
    fe.send(SET_OWNER)
    want = (1 << F_VERSION_1) | (1 << F_PROTOCOL_FEATURES)
    for bit in args.ack:
        want |= 1 << bit
    features = offered & want
    fe.send(SET_FEATURES, struct.pack("<Q", features))

    mem_fd = os.memfd_create("vhu_frontend_mem", 0)
    os.ftruncate(mem_fd, MEM_SIZE)
    fe.keep.append(mem_fd)
    fe.send(SET_MEM_TABLE, struct.pack("<II", 1, 0) +
            struct.pack("<QQQQ", 0, MEM_SIZE, USER_ADDR, 0), [mem_fd])
    for index in (0, 1):
        fe.vring(index, mem_fd)
    for index in (0, 1):
        fe.send(SET_VRING_ENABLE, struct.pack("<II", index, 1))
    fe.sync()
    print(f"NEGOTIATED offered={offered:#x} features={features:#x} "
          f"protocol_offered={pf_offered:#x} protocol={pf:#x}", flush=True)

    for mac in args.rarp:
        raw = bytes(int(b, 16) for b in mac.split(":"))
        if len(raw) != 6:
            sys.exit(f"vhu_frontend: bad MAC {mac}")
        fe.send(SEND_RARP, raw + b"\0\0")
        fe.sync()
    print("DONE", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while True:
        signal.pause()


if __name__ == "__main__":
    main()
