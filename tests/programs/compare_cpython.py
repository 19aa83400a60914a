#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""compare_cpython.py MODE KNOWN REF_XML REF_LOG SUT_XML SUT_LOG MODULE...

For run_cpython.sh: compares two runs of CPython's regrtest, the reference
on tmpfs and the one on MODE, module by module and, inside a module, test
case by test case (regrtest's --junit-xml: each case's result is ok,
failure, error, skipped, expected-failure, unexpected-success, or missing
when the run did not report it). A module also compares its verdict from
regrtest's log ("passed", "failed (2 failures)", "crashed"...), which sees
what the cases cannot: a failed subtest leaves its case unnamed in the XML,
a crashed worker reports none of its cases.

KNOWN lists the cases that may differ, one a line: CASE MODES RESULT WHY
(MODES: the modes it differs in, comma-separated; RESULT: its result
there). A listed case that differs as listed passes; one listed for MODE
that no longer differs is reported (so that the list does not rot) but
does not fail.

Prints "ok - MODULE ..." or "not ok - MODULE: ..." per module with the
differing cases under it, then "known: ..." notes; exits 1 when a module
differs.
"""
import re
import sys
import xml.etree.ElementTree as ET

# child element of <testcase> -> result (testresult.py's _add_result)
KINDS = {"error": "error", "failure": "failure", "skipped": "skipped",
         "output": "expected-failure", "outcome": "unexpected-success"}
SHOW = 20  # differing cases shown per module
# "[ 3/22/1] test_x failed (2 failures) (31.2 sec) -- running: test_y"
LINE_RE = re.compile(r"\[\s*\d+/\d+(?:/\d+)?\] (test_\w+) (.*)$")
CHAIN_RE = re.compile(r"\n(?:During handling of the above exception, another exception occurred"
                      r"|The above exception was the direct cause of the following exception):\n")
DURATION_RE = re.compile(r" \((?:\d+(?:\.\d+)? (?:ms|sec)|\d+ (?:hour|min)[^)]*)\)$")


def cases(path):
    """{case: (result, message)} of a junit file; {} when it is missing."""
    out = {}
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        return out
    for c in root.iter("testcase"):
        name = c.get("name")
        if not name:
            continue  # a case whose subtests failed: the verdict sees it
        result, msg = "ok", ""
        for child in c:
            if child.tag in KINDS:
                result = KINDS[child.tag]
                # the last exception of a chain, its "Type: message" line
                text = CHAIN_RE.split(child.get("message") or child.text or "")[-1]
                lines = [ln for ln in text.splitlines()
                         if ln.strip() and not ln.startswith(("Traceback", " "))]
                msg = lines[0].strip()[:160] if lines else ""
                break
        out[name] = (result, msg)
    return out


def verdicts(path):
    """{module: verdict} from a regrtest log, durations taken off."""
    out = {}
    try:
        with open(path, errors="replace") as f:
            for line in f:
                m = LINE_RE.search(line.rstrip("\n"))
                if m:
                    v = m.group(2).split(" -- running: ")[0]
                    while DURATION_RE.search(v):
                        v = DURATION_RE.sub("", v)
                    out[m.group(1)] = v
    except OSError:
        pass
    return out


def load_known(path, mode):
    """{case: (result, why)} of the entries for mode; errors on bad lines."""
    known, bad = {}, []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split(None, 3)
            if len(parts) < 4 or parts[2] not in set(KINDS.values()) | {"ok", "missing"}:
                bad.append(f"{path}:{n}: want CASE MODES RESULT WHY: {line}")
                continue
            case, modes, result, why = parts
            if mode in modes.split(","):
                known[case] = (result, why)
    return known, bad


def module_of(case):
    # test.test_os.Class.method, test.test_importlib.source.test_x.Class.method
    parts = case.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "test" else parts[0]


def main():
    mode, known_path, ref_xml, ref_log, sut_xml, sut_log = sys.argv[1:7]
    modules = sys.argv[7:]
    known, bad = load_known(known_path, mode)
    for b in bad:
        print(f"not ok - {b}")
    ref, sut = cases(ref_xml), cases(sut_xml)
    ref_v, sut_v = verdicts(ref_log), verdicts(sut_log)
    by_module = {}
    for case in set(ref) | set(sut) | set(known):
        by_module.setdefault(module_of(case), set()).add(case)
    passed = failed = seen_known = stale = 0
    for mod in modules:
        names = sorted(by_module.get(mod, ()))
        rv, sv = ref_v.get(mod, "did not report"), sut_v.get(mod, "did not report")
        n_ref = sum(1 for c in names if c in ref)
        if n_ref == 0:
            failed += 1
            print(f"not ok - {mod}: no test case ran on tmpfs (regrtest: {rv}): "
                  "the reference is broken")
            continue
        diffs, knowns, gone = [], [], []
        for c in names:
            r = ref.get(c, ("missing", ""))
            s = sut.get(c, ("missing", ""))
            k = known.get(c)
            if r[0] == s[0]:
                if k:
                    gone.append(c)
            elif k and k[0] == s[0]:
                knowns.append((c, r[0], s[0], k[1]))
            else:
                diffs.append((c, r[0], s[0], s[1]))
        # a known failure or error changes the verdict's counts: then only
        # the cases are compared
        explained = any(k[2] in ("failure", "error") for k in knowns)
        verdict_differs = rv != sv and not explained
        if sum(1 for c in names if c in sut) == 0:
            failed += 1
            print(f"not ok - {mod}: none of its {n_ref} cases reported on {mode} "
                  f"(regrtest: {sv}; on tmpfs: {rv})")
        elif diffs or verdict_differs:
            failed += 1
            what = [f"{len(diffs)} of {n_ref} cases differ"] if diffs else []
            if verdict_differs:
                what.append(f"regrtest says \"{sv}\", on tmpfs \"{rv}\"")
            print(f"not ok - {mod}: {'; '.join(what)}")
            for c, r, s, msg in diffs[:SHOW]:
                print(f"#   {c}: tmpfs {r}, {mode} {s}" + (f": {msg}" if msg else ""))
            if len(diffs) > SHOW:
                print(f"#   ... and {len(diffs) - SHOW} more")
        else:
            passed += 1
            extra = f", {len(knowns)} known differences" if knowns else ""
            print(f"ok - {mod} ({n_ref} cases as on tmpfs{extra})")
        for c, r, s, why in knowns:
            print(f"#   known: {c}: tmpfs {r}, {mode} {s}: {why}")
        for c in gone:
            print(f"#   known difference no longer seen: {c} "
                  f"(both {ref.get(c, ('missing',))[0]}): take it out of {known_path}")
        seen_known += len(knowns)
        stale += len(gone)
    # entries for modules not run (CPYTHON_ONLY) are not judged
    print(f"# {seen_known} known differences seen, {stale} listed no longer seen")
    print(f"@counts {passed} {failed + len(bad)}")
    return 1 if failed or bad else 0


if __name__ == "__main__":
    sys.exit(main())
