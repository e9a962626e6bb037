#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors

"""Where the installed DPDK autoloads its drivers from, and its ABI version.

Usage: dpdk-plugin-dir.py <DPDK libdir>   (pkg-config --variable=libdir libdpdk)

Prints two lines, "abi=<ABI>" (23.0 for DPDK 22.11) and "pmddir=<dir>".

EAL loads every driver of one directory at start, the path it was built with
(RTE_EAL_PMD_PATH). librte_eal carries that path as the string
"DPDK_PLUGIN_PATH=<dir>" (dpdk-pmdinfo.py reads the same string), so it is taken
from there: whatever the distribution chose, that is where EAL looks. The ABI
version is the one librte_eal.so's file name ends with; the directory must be
DPDK's "pmds-<ABI>", or something is inconsistent and we say so rather than
install where EAL does not look.
"""

import os
import re
import sys

from elftools.elf.elffile import ELFFile

PREFIX = b"DPDK_PLUGIN_PATH="


def fail(msg):
    sys.exit(f"dpdk-plugin-dir: {msg}")


def plugin_path(eal):
    """The DPDK_PLUGIN_PATH string of librte_eal's read-only data, or None."""
    with open(eal, "rb") as f:
        sec = ELFFile(f).get_section_by_name(".rodata")
        data = sec.data() if sec is not None else b""
    at = data.find(PREFIX)
    if at < 0:
        return None
    end = data.find(b"\0", at)
    return data[at + len(PREFIX):end].decode("ascii")


def main():
    if len(sys.argv) != 2:
        fail("usage: dpdk-plugin-dir.py <DPDK libdir>")
    link = os.path.join(sys.argv[1], "librte_eal.so")
    if not os.path.exists(link):
        fail(f"{link} not found (libdpdk-dev)")
    eal = os.path.realpath(link)
    m = re.fullmatch(r"librte_eal\.so\.(\d+\.\d+)", os.path.basename(eal))
    if m is None:
        fail(f"{eal}: expected a file named librte_eal.so.<major>.<minor>")
    abi = m.group(1)
    pmddir = plugin_path(eal)
    if not pmddir:
        fail(f"{eal} has no DPDK_PLUGIN_PATH: this DPDK autoloads no drivers")
    if os.path.basename(pmddir) != "pmds-" + abi:
        fail(f"{eal} autoloads from {pmddir}, expected a directory pmds-{abi}")
    print(f"abi={abi}")
    print(f"pmddir={pmddir}")


if __name__ == "__main__":
    main()
