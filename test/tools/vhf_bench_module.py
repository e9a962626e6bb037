# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors
"""usertools/vhf-bench.py loaded as a module for the tools tests (its file name
has a dash, so no plain import), with usertools/ on the path for the modules
it imports itself."""

import importlib.util
import os
import sys

USERTOOLS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../usertools")
sys.path.insert(0, USERTOOLS)


def load():
    spec = importlib.util.spec_from_file_location("vhf_bench",
                                                  os.path.join(USERTOOLS, "vhf-bench.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod
