#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors
"""Dirty logging through a real net_vhostfix port, as a migration drives it.

Plays QEMU's part (vhu_frontend.Frontend) in front of a port whose host side
sends frames to the guest without pause (dpdk-testpmd txonly): the guest's RX
ring (vring 0, split) gets buffers in batches, one 4 KiB page each, and the
script waits for the used index to cover each batch (the event itself, read
in guest memory). Then, as a migration does:
  1. a batch with logging off;
  2. SET_LOG_BASE (a memfd log, one bit per 4 KiB page, LOG_SHMFD) and
     SET_FEATURES with VHOST_F_LOG_ALL while the device runs; a batch: each
     of its buffers' pages and the used ring's page must be marked, the
     first batch's pages must not (nothing was written there since);
  3. SET_FEATURES without LOG_ALL (migration cancelled), log cleared; a batch:
     nothing may be marked.
Prints "ok ..." / "FAIL ..." lines and exits 1 on any failure.

Usage: vhu_migrate_log.py SOCKET
"""

import mmap
import os
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vhu_frontend import (F_PROTOCOL_FEATURES, F_VERSION_1, GET_FEATURES,  # noqa: E402
                          GET_PROTOCOL_FEATURES, MEM_SIZE, REPLY, RING_BASE, SET_FEATURES,
                          SET_MEM_TABLE, SET_OWNER, SET_PROTOCOL_FEATURES, SET_VRING_ENABLE,
                          USER_ADDR, VERSION, Frontend)

SET_LOG_BASE = 6
F_LOG_ALL = 26
PROTOCOL_F_LOG_SHMFD = 1
DESC_F_WRITE = 2
PAGE = 4096
BUF_BASE = 0x40000  # buffer i at BUF_BASE + i * PAGE: one page each
BATCH = 16
# Vring 0's rings, where vhu_frontend puts them.
DESC, AVAIL, USED = RING_BASE, RING_BASE + 0x1000, RING_BASE + 0x2000
# Longest wait for the host to fill a batch: it sends without pause, so only
# a host that stopped (the failure this would show) ever reaches it.
FILL_TIMEOUT_S = 60

failures = 0


def check(cond, what):
    global failures
    print(("ok " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures += 1


class Guest:
    def __init__(self, mem):
        self.mem = mem
        self.posted = 0

    def post(self, n):
        """Publish n more one-page buffers on vring 0 (the device writes them)."""
        for k in range(n):
            i = self.posted + k
            slot = i % 256
            struct.pack_into("<QIHH", self.mem, DESC + 16 * slot, BUF_BASE + PAGE * i, 2048,
                             DESC_F_WRITE, 0)
            struct.pack_into("<H", self.mem, AVAIL + 4 + 2 * slot, slot)
        self.posted += n
        # The index after the entries (x86: stores stay in order).
        struct.pack_into("<H", self.mem, AVAIL + 2, self.posted & 0xFFFF)

    def used_idx(self):
        return struct.unpack_from("<H", self.mem, USED + 2)[0]

    def wait_filled(self):
        deadline = time.monotonic() + FILL_TIMEOUT_S
        while self.used_idx() != self.posted & 0xFFFF:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.001)
        return True


def marked(log, gpa):
    page = gpa // PAGE
    return bool(log[page // 8] >> (page % 8) & 1)


def main():
    fe = Frontend(sys.argv[1])
    offered = fe.get_u64(GET_FEATURES)
    check(offered >> F_LOG_ALL & 1 == 1, f"VHOST_F_LOG_ALL offered (features {offered:#x})")
    pf_offered = fe.get_u64(GET_PROTOCOL_FEATURES)
    check(pf_offered >> PROTOCOL_F_LOG_SHMFD & 1 == 1,
          f"LOG_SHMFD offered (protocol features {pf_offered:#x})")
    if failures:
        return 1
    fe.send(SET_PROTOCOL_FEATURES, struct.pack("<Q", 1 << PROTOCOL_F_LOG_SHMFD))
    fe.send(SET_OWNER)
    base_features = (1 << F_VERSION_1) | (1 << F_PROTOCOL_FEATURES)
    fe.send(SET_FEATURES, struct.pack("<Q", base_features))

    mem_fd = os.memfd_create("vhu_migrate_mem", 0)
    os.ftruncate(mem_fd, MEM_SIZE)
    fe.keep.append(mem_fd)
    mem = mmap.mmap(mem_fd, MEM_SIZE)
    fe.send(SET_MEM_TABLE, struct.pack("<II", 1, 0) +
            struct.pack("<QQQQ", 0, MEM_SIZE, USER_ADDR, 0), [mem_fd])
    for index in (0, 1):
        fe.vring(index, mem_fd)
    guest = Guest(mem)
    for index in (0, 1):
        fe.send(SET_VRING_ENABLE, struct.pack("<II", index, 1))
    fe.sync()

    # 1. No migration: the host fills a batch, nothing is logged anywhere.
    guest.post(BATCH)
    check(guest.wait_filled(), f"batch 1 filled without logging (used idx {guest.used_idx()})")

    # 2. Migration starts: the log, then LOG_ALL while the device runs.
    log_size = (MEM_SIZE // PAGE + 7) // 8
    log_fd = os.memfd_create("vhu_migrate_log", 0)
    os.ftruncate(log_fd, PAGE)
    fe.keep.append(log_fd)
    log = mmap.mmap(log_fd, PAGE)
    fe.send(SET_LOG_BASE, struct.pack("<QQ", PAGE, 0), [log_fd])
    rreq, flags, size = struct.unpack("<III", fe.recv_exact(12))
    fe.recv_exact(size)
    check(rreq == SET_LOG_BASE and flags & REPLY, "SET_LOG_BASE answered")
    fe.send(SET_FEATURES, struct.pack("<Q", base_features | 1 << F_LOG_ALL))
    fe.sync()
    first = guest.posted
    guest.post(BATCH)
    check(guest.wait_filled(), f"batch 2 filled while logging (used idx {guest.used_idx()})")
    missing = [i for i in range(first, guest.posted) if not marked(log, BUF_BASE + PAGE * i)]
    check(not missing, f"every page batch 2 was written into is logged (missing: {missing})")
    check(marked(log, USED), "the used ring's page is logged")
    stray = [i for i in range(first) if marked(log, BUF_BASE + PAGE * i)]
    check(not stray, f"no page of batch 1 is logged (marked: {stray})")

    # 3. Migration cancelled: LOG_ALL off; whatever is written, nothing is marked.
    fe.send(SET_FEATURES, struct.pack("<Q", base_features))
    fe.sync()
    log[0:log_size] = bytes(log_size)
    guest.post(BATCH)
    check(guest.wait_filled(), f"batch 3 filled after logging stopped (used idx {guest.used_idx()})")
    check(not any(log[0:log_size]), "nothing logged once LOG_ALL is off")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
