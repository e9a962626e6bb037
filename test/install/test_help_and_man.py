#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors

"""dpdk-vhostfix's --help and its man page (both generated from
app/dpdk-vhostfix/manual.txt) against what the code accepts: every option of the
parser's table (options.c's app_opt_table) in both, every option --help lists
accepted by the parser, every devarg the driver registers in the man page, and
the page rendering without a warning.

Usage: test_help_and_man.py <dpdk-vhostfix> <dpdk-vhostfix.1> <options.c>
                            <build dir> <vhf_pmd_ethdev.c>
Prints TAP.
"""

import os
import re
import subprocess
import sys

from vhf_source import Tap, app_options, devarg_keys, pmd_registrations, preprocess

PMD_OBJ_DIR = "drivers/net/vhostfix/librte_net_vhostfix.a.p"


def has_option(text, name):
    return re.search(rf"(?<![\w-])--{re.escape(name)}(?![\w-])", text) is not None


def main():
    app, page, options_c, build_dir, pmd_source = sys.argv[1:6]
    options = app_options(options_c)
    drivers = pmd_registrations(preprocess(build_dir, pmd_source, PMD_OBJ_DIR))
    devargs = [k for params in drivers.values() for k in devarg_keys(params)]
    if not options or not devargs:
        print(f"Bail out! no options in {options_c} or no devargs in {pmd_source}")
        return 1

    run = subprocess.run([app, "--", "--help"], capture_output=True, text=True, check=False)
    helptext = run.stdout
    # ASCII rendering: a \- is then a plain '-'.
    env = dict(os.environ, LC_ALL="C", MANWIDTH="80")
    man = subprocess.run(["man", "--warnings", "-l", page], capture_output=True, text=True,
                         env=env, check=False)
    groff = subprocess.run(["groff", "-man", "-ww", "-z", page], capture_output=True,
                           text=True, check=False)
    # The options --help lists: the words starting with -- at the head of its lines.
    listed = re.findall(r"^  (--[\w-]+)(?:[^\n]*?, (--[\w-]+))?", helptext, re.M)
    listed = [o[2:] for pair in listed for o in pair if o]

    tap = Tap(2 + len(options) + 1 + len(devargs))
    tap.check(run.returncode == 0 and helptext, "dpdk-vhostfix -- --help: exit 0",
              f"exit {run.returncode}\n{run.stdout}{run.stderr}")
    tap.check(man.returncode == 0 and not man.stderr and not groff.stdout + groff.stderr,
              "man --warnings -l and groff -ww: the page renders without a warning",
              f"man: exit {man.returncode}\n{man.stderr}groff:\n{groff.stdout}{groff.stderr}")
    for name in options:
        where = [w for w, text in (("--help", helptext), ("the man page", man.stdout))
                 if not has_option(text, name)]
        tap.check(not where, f"option --{name} in --help and the man page",
                  f"missing in {' and '.join(where)}")
    unknown = [o for o in listed if o not in options]
    tap.check(listed and not unknown, f"the {len(listed)} options --help lists are the"
              " parser's", f"not in app_opt_table: {unknown}")
    for key in devargs:
        tap.check(re.search(rf"^ +{re.escape(key)}=", man.stdout, re.M) is not None,
                  f"devarg {key}= in the man page")
    return 1 if tap.failed else 0


if __name__ == "__main__":
    sys.exit(main())
