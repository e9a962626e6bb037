#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 dpdk-vhostfix authors

"""An application's --help text and its man page, from one source.

Usage: gen-manual.py --man OUT.1 --help-header OUT.h --name NAME --section N
                     --version VERSION [--set KEY=VALUE]... SOURCE

SOURCE (app/dpdk-vhostfix/manual.txt):
  - lines starting with '#' are comments;
  - "= TITLE" starts a section, "= TITLE [help]" one that --help shows too (its
    title is not printed there, except "options:" for OPTIONS), "= TITLE
    [help-only]" one only --help shows; a title may come back (with another
    flag), its blocks added to the same section;
  - blocks are separated by blank lines: a paragraph is lines at column 0;
    verbatim text is lines indented by two spaces (the first by only two), kept as
    they are; otherwise a
    block is definitions, each a term at column 0 followed by its text indented
    by four spaces;
  - @KEY@ is replaced by the value of --set KEY=VALUE (paths of the install).

--help: SYNOPSIS as "usage: %s ...", the program's name replaced by argv[0]; the
other [help] sections wrapped to 79 columns, each definition's text beside its
term. It is written as a C header defining APP_USAGE_FMT, a string literal to
printf with the program's name.
The man page: man(7) macros, every '-' a \\- (not a hyphen groff may break a line
at or turn into a dash), no hyphenation, left-adjusted.
"""

import argparse
import re
import sys
import textwrap

WIDTH = 79
TERM_COL = 27


class Section:
    """A title and its blocks, (kind, data, flag): each block keeps the flag of the
    "= TITLE [flag]" line it came under ("", "help" or "help-only")."""

    def __init__(self, title):
        self.title, self.blocks = title, []


def fail(msg):
    sys.exit(f"gen-manual: {msg}")


def parse(path, values):
    """[Section] in the order of first appearance; blocks are (kind, data)."""
    sections, current, flag, block = {}, None, "", []
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")

    def flush(lineno):
        if not block:
            return
        if current is None:
            fail(f"{path}:{lineno}: text before the first section")
        if not block[0].startswith("    ") and all(l.startswith("  ") for l in block):
            current.blocks.append(("verbatim", [l[2:] for l in block], flag))
        elif not any(l.startswith(" ") for l in block):
            current.blocks.append(("para", " ".join(block), flag))
        else:
            # Definitions, one after the other: each term followed by its text.
            for i, line in enumerate(block):
                if not line.startswith(" "):
                    current.blocks.append(("def", (line, []), flag))
                elif line.startswith("    ") and current.blocks[-1:] and \
                        current.blocks[-1][0] == "def" and i > 0:
                    current.blocks[-1][1][1].append(line.strip())
                else:
                    fail(f"{path}:{lineno}: a block that is neither definitions, a"
                         " paragraph nor verbatim text")
            for kind, data, _ in current.blocks:
                if kind == "def" and not data[1]:
                    fail(f"{path}:{lineno}: term '{data[0]}' without its text")
        block.clear()

    for lineno, line in enumerate(lines, 1):
        if line.startswith("#"):
            continue
        line = re.sub(r"@(\w+)@", lambda m: values[m[1]] if m[1] in values else
                      fail(f"{path}:{lineno}: @{m[1]}@ has no --set"), line.rstrip())
        m = re.fullmatch(r"= ([A-Z][A-Z ]*?)(?: \[(help|help-only)\])?", line)
        if m:
            flush(lineno)
            flag = m[2] or ""
            current = sections.setdefault(m[1], Section(m[1]))
        elif line == "":
            flush(lineno)
        else:
            block.append(line)
    flush(len(lines))
    return list(sections.values())


# ---- --help ---------------------------------------------------------------------------

def help_text(sections, name):
    out = []
    for sec in sections:
        blocks = [(kind, data) for kind, data, flag in sec.blocks if flag]
        if not blocks:
            continue
        if out:
            out.append("")
        if sec.title == "OPTIONS":
            out.append("options:")
        for kind, data in blocks:
            if sec.title == "SYNOPSIS":
                if kind != "para" or not data.startswith(name + " "):
                    fail(f"SYNOPSIS: expected a paragraph starting with '{name} '")
                out.append("usage: \x00" + data[len(name):])
            elif kind == "para":
                out.extend(textwrap.wrap(data, WIDTH))
            elif kind == "verbatim":
                out.extend("  " + l for l in data)
            else:
                term, text = data[0], " ".join(data[1])
                lead = "  " + term
                wrapped = textwrap.wrap(text, WIDTH - TERM_COL)
                if len(lead) <= TERM_COL - 2:
                    out.append(lead.ljust(TERM_COL) + wrapped[0])
                    wrapped = wrapped[1:]
                else:
                    out.append(lead)
                out.extend(" " * TERM_COL + l for l in wrapped)
    return out


def c_literal(line):
    """A line of the usage as a printf format literal; \\0 marks the program name."""
    s = line.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%")
    return '"' + s.replace("\x00", "%s") + '\\n"'


def write_header(path, lines, source):
    body = "\n".join("\t" + c_literal(l) for l in lines)
    with open(path, "w", encoding="utf-8") as f:
        f.write(f"/* Generated by buildtools/gen-manual.py from {source}: edit that. */\n\n"
                "/* printf format: one %s, the program's name. */\n"
                f"#define APP_USAGE_FMT \\\n{body.replace(chr(10), ' ' + chr(92) + chr(10))}\n")


# ---- man page -------------------------------------------------------------------------

def roff(text):
    """Text for a man page line: backslashes and dashes escaped."""
    return text.replace("\\", "\\e").replace("-", "\\-")


def roff_line(text):
    """A whole line: one that would start with a control character is protected."""
    text = roff(text)
    return "\\&" + text if text[:1] in (".", "'") else text


def man_page(sections, name, section, version):
    out = [f'.TH {roff(name.upper())} {section} "" "{roff(name)} {roff(version)}"'
           ' "User Commands"', ".nh", ".ad l"]
    for sec in sections:
        blocks = [(kind, data) for kind, data, flag in sec.blocks if flag != "help-only"]
        if not blocks:
            continue
        out.append(f'.SH "{sec.title}"')
        for kind, data in blocks:
            if sec.title == "NAME":
                out.append(roff_line(data))
            elif kind == "para":
                out += [".PP", roff_line(data)]
            elif kind == "verbatim":
                out += [".PP", ".RS 4", ".nf"] + [roff_line(l) for l in data] + [".fi", ".RE"]
            else:
                term, text = data[0], " ".join(data[1])
                out += [".TP", "\\fB" + roff(term) + "\\fR", roff_line(text)]
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--man", required=True)
    ap.add_argument("--help-header", required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--section", required=True)
    ap.add_argument("--version", required=True)
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("source")
    args = ap.parse_args()
    values = dict(kv.split("=", 1) for kv in args.set)
    sections = parse(args.source, values)
    if not any(s.title == "SYNOPSIS" and any(b[2] for b in s.blocks) for s in sections):
        fail("no SYNOPSIS [help] section")
    write_header(args.help_header, help_text(sections, args.name), args.source)
    with open(args.man, "w", encoding="utf-8") as f:
        f.write("\n".join(man_page(sections, args.name, args.section, args.version)) + "\n")


if __name__ == "__main__":
    main()
