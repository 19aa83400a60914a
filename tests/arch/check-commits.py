#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""check-commits.py SRCDIR - the commit conventions of CONTRIBUTING.md.

Checks every commit after the cut-off (CUTOFF below; older history is
left as it is) up to HEAD of the git checkout SRCDIR:
  - the subject is at most 72 characters (merge commits too);
  - a commit other than a merge has a blank second line and a body;
  - no line the commits add to the tree tags an issue by number: code and
    docs state rules, not history.
Exits 77 (meson's "skipped") with the reason when SRCDIR is not a git
checkout or the cut-off is not an ancestor of HEAD (a shallow or foreign
clone): nothing was checked, so it does not pass.

check-commits.py --self-test runs the checker on a temporary repository
with a commit of each fault, and fails unless it finds each.
"""
import os
import re
import subprocess
import sys
import tempfile

# main's head when the convention was written down
CUTOFF = "cf9c26b93fc39f4878acfc6b6dc3da065c968241"
SUBJECT_MAX = 72
SKIP = 77
# the word issue followed by a number (with or without "#"): a tag of
# history, not a rule
ISSUE_RE = re.compile(r"\bissue\s*#?\d+", re.I)


def git(src, *args, check=True):
    r = subprocess.run(["git", "-C", src, *args], capture_output=True, text=True)
    if check and r.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)}: {r.stderr.strip()}")
    return r


def skip_reason(src, cutoff):
    """Why the range cannot be checked, or None."""
    if git(src, "rev-parse", "--is-inside-work-tree", check=False).stdout.strip() != "true":
        return f"{src} is not a git checkout"
    if git(src, "cat-file", "-e", cutoff + "^{commit}", check=False).returncode != 0:
        return f"the cut-off {cutoff[:12]} is not in this clone"
    if git(src, "merge-base", "--is-ancestor", cutoff, "HEAD", check=False).returncode != 0:
        return f"the cut-off {cutoff[:12]} is not an ancestor of HEAD"
    return None


def message_errors(sha, parents, msg):
    lines = msg.rstrip("\n").split("\n")
    subject = lines[0]
    where = f"{sha[:12]} \"{subject[:40]}\""
    errors = []
    if not subject.strip():
        errors.append(f"{where}: empty subject")
    if len(subject) > SUBJECT_MAX:
        errors.append(f"{where}: subject of {len(subject)} characters "
                      f"(at most {SUBJECT_MAX})")
    if parents > 1:
        return errors  # a merge: its subject is all it must get right
    if len(lines) > 1 and lines[1].strip():
        errors.append(f"{where}: the second line is not blank")
    if not any(l.strip() for l in lines[2:]):
        errors.append(f"{where}: no body (the why, and figures where there are any)")
    return errors


def check(src, cutoff):
    """The list of faults of the commits cutoff..HEAD, and how many."""
    out = git(src, "log", "--format=%H %P%x00%B%x01", f"{cutoff}..HEAD").stdout
    errors, n = [], 0
    for entry in out.split("\x01"):
        entry = entry.lstrip("\n")
        if not entry:
            continue
        head, msg = entry.split("\x00", 1)
        sha, *parents = head.split()
        n += 1
        errors += message_errors(sha, len(parents), msg)
    # what the range adds to the tree, by file
    diff = git(src, "diff", "--no-color", "--unified=0", f"{cutoff}..HEAD").stdout
    path = None
    for line in diff.splitlines():
        if line.startswith("+++ "):
            path = line[6:] if line.startswith("+++ b/") else None
        elif line.startswith("+") and path and ISSUE_RE.search(line):
            errors.append(f"{path}: adds an issue tag: {line[1:].strip()[:60]}")
    return errors, n


def main_check(src, cutoff):
    reason = skip_reason(src, cutoff)
    if reason:
        print(f"SKIP: {reason}: no commit checked")
        return SKIP
    errors, n = check(src, cutoff)
    for e in errors:
        print("FAIL:", e)
    if errors:
        print(f"{len(errors)} faults in {n} commits after {cutoff[:12]}; "
              "the convention is in CONTRIBUTING.md")
        return 1
    print(f"ok: {n} commits after {cutoff[:12]}, as CONTRIBUTING.md says")
    return 0


def self_test():
    """The checker on a repository with one fault of each kind."""
    body = "\n\nWhy: the self-test.\n"
    tag = "is" + "sue 7"  # split, so that this file adds no tag itself
    with tempfile.TemporaryDirectory() as d:
        env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t",
                   GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@t")

        def run(*args):
            subprocess.run(["git", "-C", d, *args], check=True, env=env,
                           capture_output=True)

        def commit(msg, name=None, text=""):
            with open(os.path.join(d, name or "f.c"), "a", encoding="utf-8") as f:
                f.write(text + "\n")
            run("add", "-A")
            run("commit", "-q", "-m", msg)
            return git(d, "rev-parse", "HEAD").stdout.strip()

        fail = False
        if main_check(d, CUTOFF) != SKIP:
            print("FAIL: self-test: a directory that is not a checkout was not skipped")
            fail = True
        run("init", "-q", "-b", "main")
        base = commit("base, before the cut-off: anything goes " + "x" * 80)
        commit("a good subject" + body)
        run("checkout", "-q", "-b", "side")
        commit("a good commit on the side" + body, "g.c")
        run("checkout", "-q", "main")
        commit("also good" + body, "h.c")
        run("merge", "-q", "--no-ff", "-m", "Merge " + "m" * 80, "side")
        commit("s" * 73 + body)
        commit("no blank line\nWhy: none.")
        commit("no body")
        commit("an added tag" + body, "i.c", "/* see " + tag + " */")
        errors, n = check(d, base)
        want = ["Merge mmm", "subject of 73", "second line is not blank", "no body",
                "i.c: adds an issue tag"]
        for w in want:
            if not any(w in e for e in errors):
                print(f"FAIL: self-test: the fault '{w}' was not found")
                fail = True
        for e in errors:  # the cut-off's own long subject among them
            if not any(w in e for w in want):
                print(f"FAIL: self-test: reported what is no fault: {e}")
                fail = True
        if n != 8:
            print(f"FAIL: self-test: checked {n} commits, not the 8 after the cut-off")
            fail = True
        run("checkout", "-q", "--orphan", "other")
        commit("another history" + body, "o.c")
        if main_check(d, base) != SKIP:
            print("FAIL: self-test: a cut-off that is not an ancestor was not skipped")
            fail = True
    if not fail:
        print(f"ok: self-test: each of {len(want)} faults found, nothing else; "
              "both reasons to skip skipped")
    return 1 if fail else 0


def main():
    if len(sys.argv) == 2 and sys.argv[1] == "--self-test":
        return self_test()
    if len(sys.argv) != 2:
        sys.exit("usage: check-commits.py SRCDIR | --self-test")
    return main_check(sys.argv[1], CUTOFF)


if __name__ == "__main__":
    sys.exit(main())
