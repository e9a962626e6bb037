#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors

"""DPDK's own dpdk-pmdinfo.py on the built librte_net_vhostfix.so lists every
driver the source registers, by name, with every devarg of its parameter string.

Usage: test_pmdinfo.py <librte_net_vhostfix.so> <build dir> <vhf_pmd_ethdev.c>

What is expected comes from the source: vhf_pmd_ethdev.c run through the
preprocessor with the command that compiles it into the driver
(compile_commands.json), and what RTE_PMD_REGISTER_VDEV and
RTE_PMD_REGISTER_PARAM_STRING expand to read there. Prints TAP.
"""

import json
import shutil
import subprocess
import sys

from vhf_source import Tap, devarg_keys, pmd_registrations, preprocess

PMD_OBJ_DIR = "drivers/net/vhostfix/librte_net_vhostfix.a.p"


def main():
    so, build_dir, source = sys.argv[1:4]
    expected = pmd_registrations(preprocess(build_dir, source, PMD_OBJ_DIR))
    if not expected:
        print(f"Bail out! no RTE_PMD_REGISTER_VDEV found in {source}")
        return 1
    pmdinfo = shutil.which("dpdk-pmdinfo.py")
    if pmdinfo is None:
        print("Bail out! dpdk-pmdinfo.py not found (Debian package dpdk-dev)")
        return 1
    # One line per driver and per devarg: a plan of their number.
    tap = Tap(sum(1 + len(devarg_keys(p)) for p in expected.values()))
    run = subprocess.run([pmdinfo, so], capture_output=True, text=True, check=False)
    try:
        listed = {d["name"]: d for d in json.loads(run.stdout)}
    except (ValueError, KeyError, TypeError):
        listed = {}
    for name, params in sorted(expected.items()):
        info = listed.get(name)
        tap.check(info is not None, f"dpdk-pmdinfo.py lists {name}",
                  f"dpdk-pmdinfo.py {so}: exit {run.returncode}\n{run.stdout}{run.stderr}")
        words = (info or {}).get("params", "").split()
        for word in params.split():
            tap.check(word in words, f"{name}: devarg {word}",
                      f"the PMD info's params: {' '.join(words) or '(none)'}")
    return 1 if tap.failed else 0


if __name__ == "__main__":
    sys.exit(main())
