# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors

"""What the sources declare, for the tests that check the docs and the built
objects against them: read from the source itself (through the compiler's
preprocessor where macros build it), so that a devarg or an option added later
is checked without the tests being told."""

import json
import os
import re
import shlex
import subprocess

# A C string literal, and a run of them (adjacent literals are one string).
_LIT = r'"(?:[^"\\\n]|\\.)*"'
_LITS = rf"((?:{_LIT}\s*)+)"


def _join_literals(text):
    """The value of adjacent C string literals (the escapes our strings use)."""
    out = ""
    for lit in re.findall(_LIT, text):
        out += re.sub(r"\\(.)", r"\1", lit[1:-1])
    return out


def preprocess(build_dir, source, output_dir):
    """source as the compiler sees it when building the object in output_dir (a path
    relative to build_dir, e.g. drivers/net/vhostfix/librte_net_vhostfix.a.p): the
    command of compile_commands.json, with -E -P (no line markers) instead of an object."""
    with open(os.path.join(build_dir, "compile_commands.json"), encoding="utf-8") as f:
        entries = json.load(f)
    source = os.path.realpath(source)
    for e in entries:
        path = os.path.realpath(os.path.join(e["directory"], e["file"]))
        if path == source and os.path.dirname(e["output"]) == output_dir:
            break
    else:
        raise LookupError(f"no command compiles {source} into {output_dir}")
    argv, skip = [], False
    for arg in shlex.split(e["command"]):
        if skip:
            skip = False
        elif arg in ("-o", "-MQ", "-MF", "-MT"):
            skip = True
        elif arg not in ("-c", "-MD", "-MMD"):
            argv.append(arg)
    return subprocess.run(argv + ["-E", "-P"], cwd=e["directory"], check=True,
                          capture_output=True, text=True).stdout


def pmd_registrations(preprocessed):
    """{driver name: its devargs string} of what RTE_PMD_REGISTER_VDEV and
    RTE_PMD_REGISTER_PARAM_STRING expanded to in a preprocessed source."""
    names = [_join_literals(m) for m in
             re.findall(rf"\bthis_pmd_name\d+\s*\[\s*\][^=;]*=\s*{_LITS};", preprocessed)]
    params = {drv: _join_literals(lits) for drv, lits in
              re.findall(rf"\b__(\w+?)_param_string_export\s*\[\s*\][^=;]*=\s*{_LITS};",
                         preprocessed)}
    return {name: params.get(name, "") for name in names}


def devarg_keys(params):
    """The keys of a devargs string "key=<value> key=<value> ..."."""
    return [word.split("=", 1)[0] for word in params.split()]


def app_options(options_c):
    """The long options of dpdk-vhostfix's parser: the names in app_opt_table."""
    with open(options_c, encoding="utf-8") as f:
        text = f.read()
    m = re.search(r"app_opt_table\[\]\s*=\s*\{(.*?)\n\};", text, re.S)
    if m is None:
        raise LookupError(f"{options_c}: no app_opt_table")
    return re.findall(r'^\s*\{\s*"([^"]+)"', m.group(1), re.M)


class Tap:
    """TAP lines, as test/tap.sh prints them."""

    def __init__(self, plan):
        self.n = 0
        self.failed = 0
        print(f"1..{plan}", flush=True)

    def check(self, good, what, detail=""):
        self.n += 1
        if good:
            print(f"ok {self.n} - {what}", flush=True)
        else:
            self.failed += 1
            print(f"not ok {self.n} - {what}", flush=True)
            for line in str(detail).splitlines()[-60:]:
                print(f"# {line}", flush=True)
