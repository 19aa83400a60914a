#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""check-layers.py SRCDIR - the layer boundaries of docs/architecture.md.

Reads the layer table of SRCDIR/docs/architecture.md (the rows between the
"layer table" markers), puts every C source and header of the tree (in
every folder, whether the table names it or not) in the layer whose path
prefix is the longest match, resolves every #include of it to a file of
the tree (or to a system header) and fails on an include of a layer the
table does not allow, and on a file in no layer. Every file must be drawn
in the page's picture (the first block under "## The layers"): by its
name, or by a folder that holds it, except the core's, whose files the
picture names one by one. It also checks the rules of calls the table's
notes state, by name: only the persistence layer flushes or fences, only
the media layer reaches the pool's bytes, and the core calls nothing of a
front end or of fsck.

check-layers.py --self-test runs the checker on a small tree with
deliberately bad includes and calls, and fails unless it finds each.
"""
import os
import fnmatch
import re
import sys
import tempfile

DOC = os.path.join("docs", "architecture.md")
PICTURE = "## The layers"
BEGIN = "<!-- layer table begin"
END = "<!-- layer table end"
SOURCE_EXT = (".c", ".h", ".def")
INCLUDE_RE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)
IDENT_RE = re.compile(r"`([^`]+)`")

# Calls only the persistence layer makes: libpmem's flushes, fences and
# flushing copies, and the CPU's flush and fence instructions.
FLUSH_RE = re.compile(r"\b(pmem_(?:flush|drain|persist|msync|deep_\w+|mem(?:cpy|move|set)\w*)"
                      r"|_mm_(?:clflush|clflushopt|clwb|sfence|mfence)"
                      r"|__builtin_ia32_(?:clflush|clflushopt|clwb|sfence))\s*\(")
FLUSH_ASM_RE = re.compile(r"\basm\b[^;]*\b(clflush|clflushopt|clwb|sfence)\b", re.S)
# A function a file defines for other files: at the start of a line, not
# static, not an interposer of the shim (SHIM_API: those are libc's names).
DEFINE_RE = re.compile(r"^(?!static\b|SHIM_API\b|typedef\b|extern\b)[A-Za-z_][\w \t\*]*?"
                       r"\b([A-Za-z_]\w*)\s*\([^;{]*\)\s*\{", re.M)
# The core's ways to the pool's bytes besides the mapping: calls that move
# or map file bytes, and any OS call given the pool's descriptor or base.
POOL_CALL_RE = re.compile(r"\bOS\((pread|pwrite|preadv|pwritev|madvise|msync|"
                          r"copy_file_range|sendfile|splice)\)")
POOL_ARG_RE = re.compile(r"\bOS\((\w+)\)\s*\(([^;]*?\bpm(?:\.|->)(?:fd|base)\b)")
# Folders the picture draws file by file: a mention of the folder is not
# a drawing of its files.
BY_FILE = ("libumfs/core/",)
# Not sources: bench and test output.
NOT_SOURCE = ("results",)
# Layers whose functions the core must not call: it is below them.
ABOVE_CORE = ("shim", "fuse", "fsck", "mkfs", "tools", "cli")


class Table:
    def __init__(self, rows):
        self.rows = rows  # layer -> (paths, allowed)
        self.errors = []
        for layer, (_, allowed) in rows.items():
            for other in allowed:
                if other not in rows:
                    self.errors.append(f"{DOC}: layer {layer} may include '{other}', "
                                       "which the table does not define")

    def layer_of(self, rel):
        best, best_len = None, -1
        for layer, (paths, _) in self.rows.items():
            for p in paths:
                hit = rel.startswith(p) if p.endswith("/") else rel == p
                if hit and len(p) > best_len:
                    best, best_len = layer, len(p)
        return best


def parse_table(text):
    if BEGIN not in text or END not in text:
        sys.exit(f"{DOC}: no layer table (the lines between '{BEGIN}' and '{END}')")
    body = text.split(BEGIN, 1)[1].split(END, 1)[0]
    rows = {}
    for line in body.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3 or not cells[0].startswith("`"):
            continue  # the header, the rule under it, prose
        layer = IDENT_RE.findall(cells[0])[0]
        paths = IDENT_RE.findall(cells[1])
        allowed = IDENT_RE.findall(cells[2])
        if layer in rows:
            sys.exit(f"{DOC}: layer {layer} appears twice")
        rows[layer] = (paths, allowed)
    if not rows:
        sys.exit(f"{DOC}: the layer table has no rows")
    return Table(rows)


def parse_picture(text):
    """The file and folder names the picture draws."""
    if PICTURE not in text:
        sys.exit(f"{DOC}: no '{PICTURE}' section")
    block = text.split(PICTURE, 1)[1].split("```", 2)
    if len(block) < 3:
        sys.exit(f"{DOC}: no picture (a ``` block) under '{PICTURE}'")
    words = re.findall(r"[\w./*+-]+", block[1])
    names = {w.rstrip(".") for w in words if w.rstrip(".").endswith(SOURCE_EXT)}
    folders = {w for w in words if w.endswith("/")}
    return names, folders


def drawn(rel, names, folders):
    base = os.path.basename(rel)
    if any(fnmatch.fnmatchcase(rel, n) or ("/" not in n and fnmatch.fnmatchcase(base, n))
           for n in names):
        return True
    if rel.startswith(BY_FILE):
        return False
    return any(rel.startswith(f) for f in folders)


def source_files(src):
    """Every source file of the tree, as relative paths."""
    for d, dirs, files in os.walk(src):
        # build trees and the kernel's in-tree build products are not sources
        dirs[:] = [x for x in dirs if not x.startswith(".") and x != "__pycache__" and
                   not (d == src and x in NOT_SOURCE) and
                   not os.path.exists(os.path.join(d, x, "meson-private"))]
        for f in files:
            if f.endswith(SOURCE_EXT) and not f.endswith(".mod.c"):
                yield os.path.relpath(os.path.join(d, f), src)


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def check(src):
    with open(os.path.join(src, DOC), encoding="utf-8") as f:
        text = f.read()
    table = parse_table(text)
    names, folders = parse_picture(text)
    errors = list(table.errors)
    files = sorted(set(source_files(src)))
    by_name = {}
    for rel in files:
        by_name.setdefault(os.path.basename(rel), []).append(rel)
    known = set(files)

    def resolve(rel, kind, name):
        """The tree's file an include names, or None for a system header.
        <name> is the tree's only when include/ (every target's include
        directory) has it; "name" is looked for beside the including file,
        in include/, then by its file name anywhere in the tree (the
        target's own include directories)."""
        public = os.path.normpath(os.path.join("include", name))
        if kind == "<":
            return public if public in known else None
        here = os.path.normpath(os.path.join(os.path.dirname(rel), name))
        if here in known:
            return here
        if public in known:
            return public
        cands = by_name.get(os.path.basename(name), [])
        cands = [c for c in cands if c.endswith(name.lstrip("./"))] or cands
        if len(cands) > 1:
            errors.append(f"{rel}: #include {name} is ambiguous: {', '.join(cands)}")
            return None
        if cands:
            return cands[0]
        errors.append(f"{rel}: #include \"{name}\" names no file of the tree")
        return None

    above = {}  # function name -> the file above the core that defines it
    for rel in files:
        if table.layer_of(rel) in ABOVE_CORE:
            with open(os.path.join(src, rel), encoding="utf-8", errors="replace") as f:
                for m in DEFINE_RE.finditer(strip_comments(f.read())):
                    if m.group(1) != "main":
                        above.setdefault(m.group(1), rel)
    call_re = re.compile(r"\b(" + "|".join(map(re.escape, sorted(above))) + r")\s*\(") \
        if above else None

    nfiles = nincludes = 0
    for rel in files:
        layer = table.layer_of(rel)
        if layer is None:
            errors.append(f"{rel}: in no layer of the table in {DOC}")
            continue
        nfiles += 1
        if not drawn(rel, names, folders):
            errors.append(f"{rel}: not in the picture of {DOC} (by name"
                          f"{'' if rel.startswith(BY_FILE) else ', or by its folder'})")
        with open(os.path.join(src, rel), encoding="utf-8", errors="replace") as f:
            text = strip_comments(f.read())
        allowed = set(table.rows[layer][1]) | {layer}
        for m in INCLUDE_RE.finditer(text):
            target = resolve(rel, m.group(1), m.group(2))
            if target is None:
                continue
            nincludes += 1
            tl = table.layer_of(target)
            if tl not in allowed:
                errors.append(f"{rel} ({layer}): #include {m.group(2)} ({target}, layer {tl}): "
                              f"{layer} may include only {', '.join(sorted(allowed))}")
        # the module persists in the kernel; tests and benchmarks may
        # flush to set up what they measure
        if layer != "persist" and not rel.startswith(("kmod/", "tests/", "bench/")):
            for m in list(FLUSH_RE.finditer(text)) + list(FLUSH_ASM_RE.finditer(text)):
                errors.append(f"{rel} ({layer}): {m.group(1)}: only the persistence layer "
                              "flushes or fences")
        if layer == "core":
            for m in POOL_CALL_RE.finditer(text):
                errors.append(f"{rel} ({layer}): OS({m.group(1)}): only the media layer "
                              "reaches the pool's bytes")
            for m in POOL_ARG_RE.finditer(text):
                errors.append(f"{rel} ({layer}): OS({m.group(1)}) on the pool's descriptor or "
                              "mapping: only the media layer reaches the pool's bytes")
        if layer in ("core", "media", "persist") and call_re:
            for m in call_re.finditer(text):
                errors.append(f"{rel}: calls {m.group(1)} ({above[m.group(1)]}): the core "
                              "calls nothing of the layers above it")
    return errors, nfiles, nincludes


def self_test():
    """The checker on a tree with one deliberate fault of each kind."""
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "..", "..", DOC), encoding="utf-8") as f:
        doc = f.read()
    tree = {
        DOC: doc,
        "include/umfs.h": "#include <stdint.h>\n",
        "include/umfs_frontend.h": '#include "umfs.h"\n',
        "libumfs/core/fs.h": '#include "umfs_frontend.h"\n',
        "libumfs/core/core.h": '#include "fs.h"\n',
        "libumfs/core/persist.c": '#include "fs.h"\nvoid f(void) { pmem_drain(); }\n',
        "libumfs/shim/shim.h": '#include "umfs_frontend.h"\n',
        "libumfs/shim/ofd.c": '#include "shim.h"\nint shim_ofd_get(int fd)\n{\n\treturn fd;\n}\n',
        "libumfs/core/dir.c": '#include "fs.h"\nstatic int check_by_type(int t) { return t; }\n',
        # the media layer may reach the pool's bytes
        "libumfs/core/coldio.c": '#include "fs.h"\nvoid r(void) { OS(pread)(fs->pm.fd, 0, 1, 0); }\n',
        # a build tree and bench output are not sources
        "build-x/meson-private/keep": "",
        "build-x/gen.c": '#include "no_such_header.h"\n',
        "results/run.c": '#include "no_such_header.h"\n',
        "libumfs/core/umfs_tools.h": '#include "umfs.h"\n',
        "fsck/check.h": '#include "umfs_tools.h"\n',
        # the faults
        "libumfs/core/bad_up.c": '#include "fs.h"\n#include "shim.h"\n',
        "libumfs/core/bad_call.c": '#include "fs.h"\nvoid g(void) { shim_ofd_get(1); }\n',
        "libumfs/core/bad_flush.c": '#include "fs.h"\nvoid h(void) { pmem_flush(0, 0); }\n',
        "libumfs/shim/bad_core.c": '#include "shim.h"\n#include "../core/core.h"\n',
        "fuse/bad_fsck.c": '#include "umfs_frontend.h"\n#include "check.h"\n',
        "libumfs/shim/bad_name.c": '#include "no_such_header.h"\n',
        "libumfs/core/bad_undrawn.c": '#include "fs.h"\n',
        "mkfs/bad_tool.c": '#include "core.h"\n',
        # the tests' umbrella is not for the core's own files
        "libumfs/core/bad_umbrella.c": '#include "core.h"\n',
        "stray/bad_stray.c": "",
        "libumfs/core/bad_pread.c": '#include "fs.h"\nvoid p(void) { OS(pwrite)(3, 0, 1, 0); }\n',
        "libumfs/core/bad_poolfd.c": '#include "fs.h"\nvoid q(void) { OS(fstat)(fs->pm.fd, 0); }\n',
        # a stub of a system header in tests/ is not what <string.h> names
        "tests/unit/kstub/linux/string.h": "",
        "libumfs/shim/sys.c": '#include <string.h>\n#include "shim.h"\n',
        # the comment is not an include
        "libumfs/shim/fine.c": '/* #include "core.h" */\n#include "shim.h"\n',
    }
    # each faulty file, and what must be said of it (the core's faulty
    # files are not in the picture either: that alone is not the fault)
    want = {"bad_up.c": "#include shim.h", "bad_call.c": "calls shim_ofd_get",
            "bad_flush.c": "only the persistence layer", "bad_core.c": "#include ../core/core.h",
            "bad_fsck.c": "#include check.h", "bad_name.c": "names no file",
            "bad_undrawn.c": "not in the picture", "bad_tool.c": "#include core.h", "bad_stray.c": "in no layer",
            "bad_umbrella.c": "#include core.h",
            "bad_pread.c": "OS(pwrite): only the media layer",
            "bad_poolfd.c": "OS(fstat) on the pool's descriptor"}
    with tempfile.TemporaryDirectory() as d:
        for rel, text in tree.items():
            os.makedirs(os.path.join(d, os.path.dirname(rel)), exist_ok=True)
            with open(os.path.join(d, rel), "w", encoding="utf-8") as f:
                f.write(text)
        errors, _, _ = check(d)
    fail = False
    for name, what in want.items():
        if not any(name in e and what in e for e in errors):
            print(f"FAIL: self-test: the fault in {name} ({what}) was not found")
            fail = True
    for e in errors:
        if not any(name in e for name in want):
            print(f"FAIL: self-test: reported a file without a fault: {e}")
            fail = True
    if not fail:
        print(f"ok: self-test: each of {len(want)} faults found, nothing else")
    return 1 if fail else 0


def main():
    if len(sys.argv) == 2 and sys.argv[1] == "--self-test":
        return self_test()
    if len(sys.argv) != 2:
        sys.exit("usage: check-layers.py SRCDIR | --self-test")
    errors, nfiles, nincludes = check(sys.argv[1])
    for e in errors:
        print("FAIL:", e)
    if errors:
        print(f"{len(errors)} layer violations; the table is in {DOC}")
        return 1
    print(f"ok: {nfiles} files, {nincludes} includes of the tree, all as {DOC} allows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
