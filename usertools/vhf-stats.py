#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors
"""Read dpdk-vhostfix's stats over DPDK telemetry, once or as a stall watchdog.

  vhf-stats.py [--file-prefix P]               print /vhostfix/stats as JSON
  vhf-stats.py --watch 30 [--stall-s 2]        watch for 30 s; a stream that has
                                               packets in its backlog and sends
                                               nothing for --stall-s is a stall
  vhf-stats.py --query CMD [--field NAME]      any telemetry command of any DPDK
                                               process (its JSON, or one field;
                                               a.b for field b of dict a)
The watchdog prints one line per sample with the streams' tx counters and
backlogs, "STALL ..." for each stall, and exits 1 if it saw one, 0 if none,
2 if it could not read the stats. Works with the app's --file-prefix (the
telemetry socket is <runtime dir>/dpdk_telemetry.v2).
"""

import argparse
import json
import os
import socket
import sys
import time


def runtime_dir(prefix):
    base = os.environ.get("RUNTIME_DIRECTORY")
    if not base:
        base = "/var/run/dpdk" if os.geteuid() == 0 else os.path.join(
            os.environ.get("XDG_RUNTIME_DIR", "/tmp"), "dpdk")
    return os.path.join(base, prefix)


class Telemetry:
    # A process that stopped answering (stopped, or its telemetry thread stuck)
    # must not hang the caller: a watchdog or a test's bounded wait.
    TIMEOUT_S = 10

    def __init__(self, prefix):
        path = os.path.join(runtime_dir(prefix), "dpdk_telemetry.v2")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.sock.settimeout(self.TIMEOUT_S)
        self.sock.connect(path)
        hello = json.loads(self.sock.recv(65536).decode())
        self.max_len = hello.get("max_output_len", 16384)

    def query(self, cmd):
        self.sock.send(cmd.encode())
        reply = json.loads(self.sock.recv(self.max_len).decode())
        return reply.get(cmd.split(",")[0])

    def close(self):
        self.sock.close()


def stream_name(s):
    return "%s:%d->%s:%d" % (s["from"], s["from_queue"], s["to"], s["to_queue"])


def watch(tel, seconds, stall_s, interval):
    """Sample until seconds pass; return the number of stalls seen."""
    last_move = {}
    last_tx = {}
    stalled = set()
    stalls = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        now = time.monotonic()
        st = tel.query("/vhostfix/stats")
        if st is None:
            raise RuntimeError("no /vhostfix/stats: is this dpdk-vhostfix?")
        parts = []
        streams = [st["stream%d" % i] for i in range(st["streams"])]
        for s in streams:
            name = stream_name(s)
            if last_tx.get(name) != s["tx"] or s["backlog"] == 0:
                last_move[name] = now
                stalled.discard(name)
            last_tx[name] = s["tx"]
            parts.append("%s tx %d backlog %d" % (name, s["tx"], s["backlog"]))
            if (s["backlog"] > 0 and now - last_move[name] >= stall_s
                    and name not in stalled):
                stalled.add(name)
                stalls += 1
                print("STALL %s: %d packets queued, nothing sent for %.1f s"
                      % (name, s["backlog"], now - last_move[name]), flush=True)
        print("sample %.1f: %s" % (seconds - (end - now), "; ".join(parts)),
              flush=True)
        time.sleep(interval)
    return stalls


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--file-prefix", default="rte",
                    help="the app's EAL --file-prefix (default rte)")
    ap.add_argument("--watch", type=float, metavar="SECONDS",
                    help="run as a stall watchdog for this long")
    ap.add_argument("--stall-s", type=float, default=2.0,
                    help="backlog not moving this long is a stall (default 2)")
    ap.add_argument("--interval", type=float, default=0.25,
                    help="watchdog sampling interval in seconds (default 0.25)")
    ap.add_argument("--query", metavar="CMD",
                    help="print the reply to this telemetry command instead")
    ap.add_argument("--field", metavar="NAME",
                    help="with --query: print only this field of the reply (a.b: "
                    "field b of dict a)")
    args = ap.parse_args()
    try:
        tel = Telemetry(args.file_prefix)
    except OSError as e:
        print("vhf-stats: cannot reach the telemetry socket of --file-prefix %s: %s"
              % (args.file_prefix, e), file=sys.stderr)
        return 2
    try:
        if args.query is not None:
            reply = tel.query(args.query)
            if reply is None:
                print("vhf-stats: no reply to %s" % args.query, file=sys.stderr)
                return 2
            if args.field:
                for key in args.field.split("."):
                    reply = reply[key]
            print(reply if args.field else json.dumps(reply, indent=1))
            return 0
        if args.watch is None:
            print(json.dumps(tel.query("/vhostfix/stats"), indent=1))
            return 0
        stalls = watch(tel, args.watch, args.stall_s, args.interval)
        print("watchdog: %d stall(s) in %.0f s" % (stalls, args.watch))
        return 1 if stalls else 0
    except (OSError, ValueError, RuntimeError, KeyError) as e:
        print("vhf-stats: %s" % e, file=sys.stderr)
        return 2
    finally:
        tel.close()


if __name__ == "__main__":
    sys.exit(main())
