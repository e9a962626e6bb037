#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors
"""Write the seed corpus of fuzz_vq (test/fuzz/corpus/*.bin) and its regression
inputs (test/fuzz/regress/*.bin).

Each seed is a small, mostly well-formed scenario in the input format that
fuzz_guest.h documents at its top: a memory map, two queues, a guest publishing
chains and the device serving them. libFuzzer mutates from there; the replay
build runs them as they are.

    python3 test/fuzz/gen_corpus.py [root]   (default: this script's directory)
"""

import os
import struct
import sys

# Must match fuzz_guest.h.
Q_ENABLED, Q_PACKED, Q_EVENT_IDX, Q_INDIRECT, Q_MRG, Q_HDR12 = 1, 2, 4, 8, 16, 32
ALGO_FIXED, ALGO_LEGACY, ALGO_CONSUMED = 0, 1, 2
ALGO_IN_ORDER = 3  # the fixed algorithm, and VIRTIO_F_IN_ORDER negotiated
P_DEDICATED, P_RAW_INDEX, P_AT_END = 4, 8, 16
(OP_PUBLISH, OP_RX_BURST, OP_TX_BURST, OP_HAS_ROOM, OP_AVAIL_SPACE, OP_ARM_KICK, OP_POKE,
 OP_POKE_FIELD, OP_REINIT, OP_TX_NEXT, OP_DURING, OP_DESC) = range(12)
ACT_PUBLISH, ACT_POKE, ACT_POKE_FIELD, ACT_DESC = range(4)
PUB_WIDE, PUB_FILL = 0x20, 0x40
SCALE_64K, SCALE_4G, SCALE_4K = 1, 2, 3
SHAPE_LEN16, SHAPE_PAST64K, SHAPE_OFFLOAD = 0x20, 0x40, 0x80
# fuzz_pmd.c: bits of queue 1's placement byte.
PMD_SMALL_MBUFS, PMD_OFFLOADS, PMD_RX_CSUM = 0x20, 0x40, 0x80
SIZES = [1, 2, 4, 8, 16, 256]
MAX_SEED = 4096

# Rings of both queues sit in region 0's first 16 KiB; buffers after them.
RING_OFF = [(0, 4096, 5120), (8192, 12288, 13312)]
BUF_BASE = 16384


class Seed:
    def __init__(self, regions, queues, image=b''):
        """regions: [(size, gpa_mode, gpa_param)], gpa_mode with SCALE_* << 2 for a sparse
        region; queues: 2 x dict or None."""
        b = bytearray()
        b += struct.pack('<B', len(regions) - 1)
        for i in range(3):
            size, mode, param = regions[i] if i < len(regions) else (0, 0, 0)
            b += struct.pack('<HBI', size & 0xffff, mode, param)
        for qi in range(2):
            q = queues[qi]
            if q is None:
                b += bytes(13)
                continue
            flags = Q_ENABLED | q.get('flags', 0) | (q.get('algo', ALGO_FIXED) << 6)
            size_sel = q['size_sel']
            offs = q.get('offs', RING_OFF[qi])
            b += struct.pack('<BBHHBHHH', flags, size_sel, q.get('la', 0), q.get('lu', 0),
                             q.get('place', 0), *offs)
        b += struct.pack('<H', len(image)) + image
        self.b = b

    @staticmethod
    def publish_ops(q, descs, indirect=None, wrong_dir=False, hold=False, bad_next=False,
                    wide=False, fill=None):
        """descs: [(region, offset, len)], 1..8; indirect: (region, offset) of the table;
        wide: 32-bit offsets and lengths; fill: entries of the chain or table, repeating
        descs."""
        assert 1 <= len(descs) <= 8, len(descs)
        sel = q | (2 if wrong_dir else 0) | (4 if indirect else 0) | (8 if hold else 0) | \
            (16 if bad_next else 0) | (PUB_WIDE if wide else 0) | (PUB_FILL if fill else 0)
        b = struct.pack('<BB', sel, len(descs) - 1)
        for r, off, ln in descs:
            b += struct.pack('<BII' if wide else '<BHH', r, off, ln)
        if indirect:
            b += struct.pack('<BI' if wide else '<BH', *indirect)
        if fill:
            b += struct.pack('<H', fill)
        return b

    def publish(self, q, descs, **kw):
        self.b += struct.pack('<B', OP_PUBLISH) + self.publish_ops(q, descs, **kw)
        return self

    def during(self, slot, first, period, times, action):
        """action: ACT_* kind byte and operands, e.g. from publish_ops()."""
        self.b += struct.pack('<BBHBB', OP_DURING, slot, first, period, times) + action
        return self

    @staticmethod
    def desc_ops(q, index, region, off, ln, flags, nxt=0, table=False):
        return struct.pack('<BHBIIHH', q | (2 if table else 0), index, region, off, ln, flags,
                           nxt)

    def desc(self, *args, **kw):
        self.b += struct.pack('<B', OP_DESC) + self.desc_ops(*args, **kw)
        return self

    def rx(self, pkts):
        """pkts: [(len, nsegs, with_hdr)]; len up to 0x1ffff (SHAPE_LEN16/PAST64K)."""
        self.b += struct.pack('<BB', OP_RX_BURST, len(pkts) - 1)
        for ln, nsegs, hdr in pkts:
            shape = (nsegs - 1) | (SHAPE_OFFLOAD if hdr else 0)
            if ln >= 0x10000:
                shape |= SHAPE_PAST64K
            if ln & 0xffff >= 0x4000:
                shape |= SHAPE_LEN16
            self.b += struct.pack('<HB', ln & 0xffff, shape)
        return self

    def tx(self, max_pkts=64):
        self.b += struct.pack('<BB', OP_TX_BURST, max_pkts - 1)
        return self

    def tx_next(self):
        self.b += struct.pack('<B', OP_TX_NEXT)
        return self

    def has_room(self, need):
        self.b += struct.pack('<BI', OP_HAS_ROOM, need)
        return self

    def avail_space(self, need):
        self.b += struct.pack('<BI', OP_AVAIL_SPACE, need)
        return self

    def arm(self, q):
        self.b += struct.pack('<BB', OP_ARM_KICK, q)
        return self

    def poke(self, chunk, off, data):
        """chunk | 0x80: a 32-bit offset (bit 31: back from the chunk's end)."""
        fmt = '<BBIB' if chunk & 0x80 else '<BBHB'
        self.b += struct.pack(fmt, OP_POKE, chunk, off, len(data) - 1) + data
        return self

    def poke_field(self, q, field, a, b=0):
        self.b += struct.pack('<BBHH', OP_POKE_FIELD, q | (field << 1), a, b)
        return self

    def reinit(self, q):
        self.b += struct.pack('<BB', OP_REINIT, q)
        return self

    def bytes(self):
        assert len(self.b) < MAX_SEED, len(self.b)
        return bytes(self.b)


def rx_bufs(seed, n, ln, region=0, base=BUF_BASE, step=None):
    for i in range(n):
        seed.publish(0, [(region, base + i * (step or ln), ln)])


def tx_pkts(seed, n, ln, region=0, base=BUF_BASE + 32768, hdr=12):
    for i in range(n):
        off = base + i * 2 * ln
        seed.publish(1, [(region, off, hdr), (region, off + 64, ln)])


def seeds():
    out = {}
    big = [(0, 0, 0)]  # one 64 KiB region at GPA 0

    # Split, EVENT_IDX, mergeable RX; a burst that runs out of buffers and waits.
    s = Seed(big, [dict(flags=Q_EVENT_IDX | Q_MRG, size_sel=4, la=7, lu=5),
                   dict(flags=Q_EVENT_IDX | Q_HDR12, size_sel=4, la=3, lu=3)])
    rx_bufs(s, 6, 1024)
    s.rx([(1500, 1, True), (60, 2, False), (3000, 3, False), (1500, 4, False)])
    s.arm(0).has_room(1000)
    rx_bufs(s, 4, 2048, base=BUF_BASE + 8192)
    s.rx([(1500, 1, False)])
    tx_pkts(s, 5, 700)
    s.tx(3).tx().arm(1).arm(0)
    out['split_evidx_mrg'] = s

    # Packed, odd size 5, EVENT_IDX: wraps the ring several times.
    s = Seed(big, [dict(flags=Q_PACKED | Q_EVENT_IDX | Q_MRG, size_sel=0xc4, la=3, lu=3),
                   dict(flags=Q_PACKED | Q_EVENT_IDX, size_sel=0xc2, la=0x8001, lu=0x8001)])
    for rnd in range(4):
        rx_bufs(s, 3, 800, base=BUF_BASE + rnd * 4096)
        s.rx([(1000, 2, False), (500, 1, True)])
        s.arm(0)
        tx_pkts(s, 1, 300, base=BUF_BASE + 32768 + rnd * 2048, hdr=10)
        s.tx().arm(1)
    s.poke_field(0, 1, 2).poke_field(0, 2, 0x8002)
    out['packed_size5_evidx'] = s

    # Packed TX in order, odd size 5: bursts of one to three chains published as one used
    # descriptor each, across the ring's end several times.
    s = Seed(big, [None, dict(flags=Q_PACKED | Q_EVENT_IDX, size_sel=0xc4, algo=ALGO_IN_ORDER,
                              la=0x8003, lu=0x8003)])
    for rnd in range(5):
        tx_pkts(s, 1 + rnd % 3, 200, base=BUF_BASE + 32768 + rnd * 2048)
        s.tx().arm(1)
    out['packed_in_order_tx'] = s

    # Indirect tables on both queues, split and packed.
    s = Seed(big, [dict(flags=Q_INDIRECT | Q_MRG, size_sel=3),
                   dict(flags=Q_INDIRECT | Q_PACKED, size_sel=3)])
    for i in range(3):
        s.publish(0, [(0, BUF_BASE + i * 4096, 512), (0, BUF_BASE + i * 4096 + 1024, 1024)],
                  indirect=(0, 40000 + i * 256))
        s.publish(1, [(0, 50000 + i * 2048, 10), (0, 50016 + i * 2048, 600),
                      (0, 51000 + i * 2048, 100)], indirect=(0, 48000 + i * 256))
    s.rx([(1400, 1, False), (2000, 2, True)]).tx().arm(0).arm(1)
    out['indirect_both'] = s

    # Three adjacent regions: buffers straddle region boundaries.
    three = [(4096, 0, 0), (4096, 0, 0), (8192, 0, 0)]
    offs = [(0, 512, 1024), (2048, 2560, 3072)]
    s = Seed(three, [dict(flags=Q_MRG, size_sel=3, offs=offs[0]),
                     dict(flags=Q_HDR12, size_sel=3, offs=offs[1])])
    s.publish(0, [(0, 3600, 1000)]).publish(0, [(1, 3000, 6000)])
    s.rx([(6000, 4, False)])
    s.publish(1, [(0, 4000, 200), (1, 4000, 5000)]).tx()
    out['regions_straddle'] = s

    # Dedicated exact-size rings, size 256, no EVENT_IDX, legacy notify; room checks.
    s = Seed(big, [dict(size_sel=5, place=P_DEDICATED, algo=ALGO_LEGACY, la=100, lu=90),
                   dict(size_sel=5, place=P_DEDICATED, la=65530, lu=65530)])
    rx_bufs(s, 2, 1600, base=0)
    s.has_room(1500).avail_space(1500).avail_space(5000).has_room(9000)
    s.rx([(1500, 1, False), (1500, 1, False), (1500, 1, False)])
    tx_pkts(s, 8, 100, base=8192, hdr=10)
    s.tx_next().tx_next().tx(4).reinit(1).tx().arm(1).reinit(0).arm(0)
    out['dedicated_legacy_256'] = s

    # Packed size 1, no mergeable, consumed-index algorithm (the livelock variant).
    s = Seed(big, [dict(flags=Q_PACKED, size_sel=0, algo=ALGO_CONSUMED),
                   dict(flags=Q_PACKED, size_sel=0, la=0x8000, lu=0x8000)])
    for i in range(3):
        s.publish(0, [(0, BUF_BASE, 2048)]).rx([(100, 1, False), (100, 1, False)])
        s.has_room(100)
        s.publish(1, [(0, BUF_BASE + 4096, 200)]).tx().arm(1)
    out['packed_size1_consumed'] = s

    # Mergeable jumbo frame over many small buffers, descriptor table at the region's end.
    s = Seed([(20000, 1, 0x100), (0, 0, 0)],
             [dict(flags=Q_MRG | Q_EVENT_IDX, size_sel=4, place=P_AT_END,
                   offs=(0, 0, 1024)),
              dict(flags=Q_EVENT_IDX, size_sel=1, offs=(2048, 3072, 3584))])
    for i in range(14):
        s.publish(0, [(1, i * 1024, 700)])
    s.rx([(9000, 4, True)]).arm(0)
    out['mrg_jumbo_at_end'] = s

    # Hostile: a looping chain, wrong direction, avail index jumping around.
    s = Seed(big, [dict(flags=Q_MRG, size_sel=2), dict(flags=Q_EVENT_IDX, size_sel=2)])
    s.publish(0, [(0, BUF_BASE, 512), (0, BUF_BASE + 512, 512)], bad_next=True)
    s.rx([(100, 1, False)]).rx([(100, 1, False)]).reinit(0)
    s.publish(1, [(0, BUF_BASE, 64)], wrong_dir=True).tx().reinit(1)
    s.poke_field(1, 0, 77).tx().arm(1).reinit(1)
    s.publish(0, [(0, BUF_BASE, 64)]).poke_field(0, 7, 0).rx([(10, 1, False)])
    s.poke(0, 4096 + 2, b'\xff\xff').arm(0).has_room(10)
    out['hostile_mix'] = s

    # The seeds below reach what the harness learned in issue 11 (sparse regions, 32-bit
    # lengths, long indirect tables, a guest acting inside device calls, the PMD's
    # conversions) while staying within every invariant: a few mutations away from the bugs.

    # One sparse region of 4 GiB + 1 MiB: RX buffers of almost 4 GiB, a small one before a
    # huge one (their sum fits 32 bits; a small one 256 bytes longer would not), a
    # 60000-byte TX frame 1 GiB in.
    s = Seed([(16, SCALE_4G << 2, 0)],
             [dict(flags=Q_MRG | Q_EVENT_IDX, size_sel=4),
              dict(flags=Q_HDR12 | Q_EVENT_IDX, size_sel=4)])
    s.publish(0, [(0, BUF_BASE, 0xffff0000)], wide=True)
    s.rx([(1500, 1, False), (9000, 2, True)])
    s.publish(0, [(0, BUF_BASE + 0x10000, 100)], wide=True)
    s.publish(0, [(0, BUF_BASE + 0x20000, 0xfffffe9c)], wide=True)
    s.rx([(9000, 3, False), (0x10000, 1, False)]).has_room(20000).avail_space(1 << 31)
    s.publish(1, [(0, 0x40000000, 12), (0, 0x40001000, 60000)], wide=True).tx().arm(1)
    out['sparse_4g_wide'] = s

    # Indirect tables as long as the queue, mostly zero-length entries, both layouts.
    s = Seed(big, [dict(flags=Q_INDIRECT | Q_MRG, size_sel=4),
                   dict(flags=Q_INDIRECT | Q_PACKED, size_sel=3)])
    s.publish(0, [(0, BUF_BASE, 0), (0, BUF_BASE + 1024, 1024)], indirect=(0, 44000), fill=16)
    s.publish(0, [(0, BUF_BASE + 20000, 0)] * 3 + [(0, BUF_BASE + 21000, 3000)],
              indirect=(0, 44512), fill=16)
    s.rx([(3000, 1, False), (2000, 2, True)])
    s.publish(1, [(0, 50000, 12), (0, 50100, 0), (0, 50200, 700)], indirect=(0, 48000), fill=8)
    s.tx().arm(0).arm(1)
    out['indirect_fill_queue_size'] = s

    # The guest sends chains shorter than a header, and publishes more of them while the
    # device is taking them (four times, then a real packet).
    s = Seed(big, [None, dict(flags=Q_EVENT_IDX | Q_HDR12, size_sel=3)])
    s.publish(1, [(0, BUF_BASE, 4)])
    s.during(0, 2, 2, 4, struct.pack('<B', ACT_PUBLISH) +
             Seed.publish_ops(1, [(0, BUF_BASE + 64, 6)]))
    s.tx(4)
    tx_pkts(s, 2, 300)
    s.during(1, 0, 1, 1, struct.pack('<B', ACT_POKE) + struct.pack('<BHB', 0, BUF_BASE + 32768 + 1, 0) +
             b'\x00')
    s.tx().arm(1)
    out['during_tx_republish'] = s

    # The guest rewrites a descriptor and publishes more while an RX burst walks its ring.
    s = Seed(big, [dict(flags=Q_MRG, size_sel=4), None])
    rx_bufs(s, 4, 1024)
    s.during(0, 1, 0, 1, struct.pack('<B', ACT_DESC) +
             Seed.desc_ops(0, 2, 0, BUF_BASE + 8192, 64, 2))
    s.during(1, 3, 2, 3, struct.pack('<B', ACT_PUBLISH) +
             Seed.publish_ops(0, [(0, BUF_BASE + 12288, 512)]))
    s.rx([(3000, 2, False), (1000, 1, True)])
    s.desc(0, 3, 0, BUF_BASE, 2048, 2).arm(0)
    out['during_rx_rewrite'] = s

    # Packed: the guest publishes buffers while the device finds the ring short of a
    # jumbo frame and rechecks.
    s = Seed(big, [dict(flags=Q_PACKED | Q_EVENT_IDX | Q_MRG, size_sel=0xc7), None])
    rx_bufs(s, 2, 1500)
    s.during(0, 4, 2, 2, struct.pack('<B', ACT_PUBLISH) +
             Seed.publish_ops(0, [(0, BUF_BASE + 8192, 2048)]))
    s.rx([(6000, 4, False)]).has_room(6000)
    rx_bufs(s, 3, 2048, base=BUF_BASE + 16384)
    s.rx([(6000, 4, False)]).arm(0)
    out['packed_during_publish'] = s

    # fuzz_pmd: 64-byte mbufs, a 9000-byte frame from the guest (141 segments) forwarded
    # to its RX queue; fuzz_vq sees the same guest.
    s = Seed(big, [dict(flags=Q_MRG | Q_EVENT_IDX, size_sel=5, place=P_DEDICATED),
                   dict(flags=Q_HDR12 | Q_EVENT_IDX, size_sel=4, place=PMD_SMALL_MBUFS)])
    rx_bufs(s, 8, 2048)
    s.publish(1, [(0, 40000, 12), (0, 40064, 9000)]).tx().arm(1).arm(0)
    out['pmd_small_mbufs_forward'] = s

    # fuzz_pmd: checksum and TSO negotiated, the application takes partial checksums: a
    # guest frame asking for its TCP checksum, and host packets asking for checksum and TSO.
    s = Seed(big, [dict(flags=Q_MRG, size_sel=4),
                   dict(flags=Q_HDR12, size_sel=4, place=PMD_OFFLOADS | PMD_RX_CSUM)])
    rx_bufs(s, 12, 2048)
    hdr = struct.pack('<BBHHHHH', 1, 0, 0, 0, 34, 16, 0)
    s.poke(0, 40000, hdr)
    s.publish(1, [(0, 40000, 12), (0, 40100, 1000)]).tx()
    s.rx([(1000, 1, True), (9000, 3, True), (100, 1, False)]).arm(0)
    out['pmd_offloads'] = s

    # Frames at and past 64 KiB both ways, on a 256-entry ring.
    s = Seed(big, [dict(flags=Q_MRG, size_sel=5, place=P_DEDICATED),
                   dict(flags=Q_HDR12, size_sel=5, place=P_DEDICATED)])
    for i in range(36):
        s.publish(0, [(0, (i % 31) * 2048, 2048)])
    s.rx([(65535, 4, False), (0x10001, 2, False), (65536, 1, False)])
    s.publish(1, [(0, 63500, 12)] + [(0, 4096, 9362)] * 6 + [(0, 4096, 9364)]).tx().arm(1)
    out['frames_around_64k'] = s

    # Three regions, two of them sparse and adjacent: buffers straddle their boundary.
    s = Seed([(0, 0, 0), (0, SCALE_4K << 2, 0), (16, SCALE_64K << 2, 0)],
             [dict(flags=Q_MRG, size_sel=3), dict(flags=Q_HDR12, size_sel=3)])
    s.publish(0, [(1, 0x80000000 | 100, 300)], wide=True)
    s.publish(0, [(1, 0x80000000 | 4096, 8192)], wide=True)
    s.rx([(4000, 2, False)])
    s.publish(1, [(1, 0x80000000 | 12, 12), (1, 0x80000000 | 0, 1500)], wide=True).tx()
    s.poke(0x81, 0x80000000 | 10, b'\x01\x02').arm(0)
    out['sparse_straddle'] = s

    # One vhf_net_from_guest_next() on an 8-entry ring skips a ring's worth of header-less chains,
    # each an indirect table of 8 zero-length entries: 72 descriptor reads, all within lib's
    # budget (VHF_BURST_MAX_DESC per TX burst). A harness bound guessed from the ring size
    # (4 x 8 + 2 = 34) called that a violation.
    s = Seed([(0, 0, 0)], [None, dict(flags=Q_INDIRECT, size_sel=3)])
    for i in range(8):
        s.publish(1, [(0, BUF_BASE + 64 * i, 0)] * 8, indirect=(0, BUF_BASE + 4096 + 128 * i))
    s.tx_next()
    out['tx_skip_chains_budget'] = s
    return out


def regressions():
    """Inputs that once broke an invariant of the library (test/fuzz/regress/)."""
    out = {}

    # Split: the guest takes back part of its avail index while a mergeable packet is being
    # reserved. refresh_avail checked the new index only against last_avail, so the device
    # went on past it, consuming entries that were never published, and its shadow index ended
    # up 65531 behind: nothing re-read avail->idx for the next ~64K entries.
    s = Seed([(0, 0, 0)], [dict(flags=Q_MRG, size_sel=3), None])
    for i in range(8):
        s.publish(0, [(0, BUF_BASE + i * 256, 150)])
    s.poke_field(0, 0, 5).rx([(1000, 1, False)])  # 5 published: short, waits
    s.poke_field(0, 0, 2).rx([(1000, 1, False)])  # back to 2: must break, not take 7
    out['split_avail_idx_rollback'] = s

    # Mergeable RX: 36 buffers of 8 descriptors for a 9000-byte packet are 288 segments,
    # within VHF_RX_MAX_IOV, but the per-chain limit was applied to the packet's whole iov
    # array and broke the queue of a well-behaved guest (err_desc_too_many_segments).
    # The harness has no oracle for "well-behaved": run with FUZZ_VQ_TRACE=1 and look for
    # "broken" after the last rx_burst.
    s = Seed([(0, 0, 0)], [dict(flags=Q_MRG, size_sel=5, place=P_DEDICATED), None])
    for i in range(40):
        s.publish(0, [(0, i * 1024 + k * 64, 32) for k in range(8)])
    s.rx([(9000, 1, False)])
    out['mrg_many_segments'] = s
    return out


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    for sub, gen in (('corpus', seeds), ('regress', regressions)):
        outdir = os.path.join(root, sub)
        os.makedirs(outdir, exist_ok=True)
        for name, seed in sorted(gen().items()):
            with open(os.path.join(outdir, name + '.bin'), 'wb') as f:
                f.write(seed.bytes())


if __name__ == '__main__':
    main()
