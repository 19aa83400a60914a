#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""report.py - turn one bench/run.sh results folder into docs/performance.md.

    report.py RESULTS [--doc docs/performance.md] [--plots docs/perf]

Reads the raw results (fio JSON, CSV) that the bench/*.sh scripts wrote,
takes medians over repetitions, and writes a Markdown report: a summary
table (every figure with its ratio to tmpfs from the same run), the targets
of the bench (met or missed), one table per measurement, and gnuplot PNG plots
(in --plots; the .dat and .gp files stay in RESULTS/plots). The hand-written
Analysis section of an existing report, between the ANALYSIS markers, is
kept. Standard library only.
"""
import argparse
import csv
import glob
import json
import os
import re
import shutil
import statistics
import subprocess
import sys

SYSTEMS = ["umfs-strict", "umfs-relaxed", "umfs-strict-huge", "umfs-relaxed-huge",
           "umfs-fuse", "tmpfs", "tmpfs-huge", "ext4"]
REF = "tmpfs"
HUGE_REF = "tmpfs-huge"
GIB = 1 << 30
# A step ran under load when other processes kept this many cores busy.
LOAD_OTHERS = 0.5
# ... or, when that was not recorded, above this 1-minute load average.
LOAD_AVG = 1.5
FRESH_WORKLOADS = [
    ("write", "dd of a new file from /dev/zero, bs=1M"),
    ("read", "dd of the file to /dev/null, bs=1M"),
    ("start", "dd of the file moving nothing (count=0)"),
    ("cp-in", "cp from a kernel tmpfs into the system"),
    ("cp-out", "cp from the system out to a kernel tmpfs"),
    ("tar", "tar -x of /usr/include"),
    ("find", "find -type f -exec stat over /usr/include"),
    ("git", "git status --porcelain, /usr/include checkout"),
]
BEGIN = "<!-- ANALYSIS:BEGIN (hand-written; report.py keeps this section) -->"
END = "<!-- ANALYSIS:END -->"
FIO_WORKLOADS = [
    ("read", "4 KiB sequential read"),
    ("randread", "4 KiB random read"),
    ("append", "4 KiB append (new file)"),
    ("randwrite", "4 KiB random overwrite"),
    ("reread", "4 KiB sequential read after the random overwrites"),
]


def die(msg):
    print("report.py: " + msg, file=sys.stderr)
    sys.exit(1)


# ---------------------------------------------------------------- loading

def fio_load(path):
    """{jobname: stats} of one fio JSON file: IOPS, MiB/s, mean and p99
    completion latency (ns). Under group_reporting a group is one entry,
    named after its first job, its figures the group's aggregate."""
    with open(path) as f:
        text = f.read()
    # fio may print notes before the JSON object
    data = json.loads(text[text.index("{"):])
    out = {}
    for job in data["jobs"]:
        if job.get("error"):
            die("%s: fio job %s: error %s" % (path, job["jobname"], job["error"]))
        iops = bw = 0.0
        lat, p99 = [], []
        for d in ("read", "write"):
            s = job[d]
            if s["io_bytes"] == 0:
                continue
            iops += s["iops"]
            bw += s["bw"] / 1024.0
            lat.append(s["clat_ns"]["mean"])
            p99.append(s["clat_ns"].get("percentile", {}).get("99.000000", float("nan")))
        if iops == 0:
            die("%s: fio job %s did no I/O" % (path, job["jobname"]))
        out[job["jobname"]] = {"iops": iops, "mibs": bw, "lat": statistics.mean(lat),
                               "p99": max(p99)}
    return out


def fio_by_system(res, sub):
    """{system: {jobname: stats}} of RESULTS/SUB/SYSTEM[.REP].json."""
    out = {}
    for p in sorted(glob.glob(os.path.join(res, sub, "*.json"))):
        name = os.path.basename(p)[:-5]
        sys_ = next((s for s in SYSTEMS if name == s or name.startswith(s + ".")), None)
        if sys_ is None:
            die("%s: not named after a system" % p)
        out.setdefault(sys_, {}).update(fio_load(p))
    return out


def fio_median(runs):
    """Per-metric medians over repetitions, with the IOPS range."""
    if not runs:
        return None
    out = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    out["min"] = min(r["iops"] for r in runs)
    out["max"] = max(r["iops"] for r in runs)
    out["reps"] = len(runs)
    return out


def read_csv(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return list(csv.DictReader(f))


def read_info(res):
    info = {}
    path = os.path.join(res, "run.txt")
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                if "=" in line:
                    k, v = line.rstrip("\n").split("=", 1)
                    info[k] = v
    return info


# ---------------------------------------------------------------- formatting

def num(v, unit=""):
    """A figure with 3 significant digits and a thousands separator."""
    if v is None or v != v:
        return "–"
    if abs(v) >= 1000:
        s = "{:,.0f}".format(v)
    elif abs(v) >= 100:
        s = "%.0f" % v
    elif abs(v) >= 10:
        s = "%.1f" % v
    else:
        s = "%.2f" % v
    return s + unit


def ratio(v, ref, lower_is_better=False):
    """Speed relative to the reference: > 1 is faster, for times as well."""
    if v is None or ref is None or v != v or ref != ref or v == 0 or ref == 0:
        return None
    return ref / v if lower_is_better else v / ref


def rtxt(r):
    return "–" if r is None else "%.2f×" % r


def cell(v, ref, unit="", lower=False):
    r = ratio(v, ref, lower)
    if v is None:
        return "–"
    return "%s (%s)" % (num(v, unit), rtxt(r))


def table(head, rows):
    out = ["| " + " | ".join(head) + " |",
           "|" + "|".join(" --- " for _ in head) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out) + "\n"


def size_txt(n):
    n = int(n)
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift and n % (1 << shift) == 0:
            return "%d %s" % (n >> shift, unit)
    return "%d B" % n


def bs_bytes(bs):
    m = re.fullmatch(r"(\d+)([kmg]?)", bs.lower())
    return int(m.group(1)) << {"": 0, "k": 10, "m": 20, "g": 30}[m.group(2)]


# ---------------------------------------------------------------- the results

class Results:
    def __init__(self, res):
        self.res = res
        self.info = read_info(res)
        fio = fio_by_system(res, "fio")
        sweep = fio_by_system(res, "sweep")
        jobs = fio_by_system(res, "jobs")
        self.systems = [s for s in SYSTEMS
                        if s in fio or s in sweep or s in jobs
                        or any(r.get("system") == s for r in self.all_csv())]
        self.fio = {}
        for s, byjob in fio.items():
            for wl, _ in FIO_WORKLOADS:
                runs = [v for k, v in byjob.items() if k.split(".")[0] == wl]
                if runs:
                    self.fio[(s, wl)] = fio_median(runs)
        self.sweep = {}
        for s, byjob in sweep.items():
            for name, v in byjob.items():
                rw, bs = name.split("-", 1)
                self.sweep[(s, rw, bs_bytes(bs))] = v
        self.jobs = {}
        for s, byjob in jobs.items():
            for name, v in byjob.items():
                wl, nj = name.rsplit("-", 1)
                self.jobs[(s, wl, int(nj[:-1]))] = v
        self.null = fio_median([v for p in sorted(glob.glob(os.path.join(
            res, "overhead", "null*.json"))) for v in fio_load(p).values()])
        self.pread = read_csv(os.path.join(res, "overhead", "pread.csv"))
        self.open = read_csv(os.path.join(res, "opentime", "opentime.csv"))
        self.meta = read_csv(os.path.join(res, "meta", "meta.csv"))
        self.small = read_csv(os.path.join(res, "smallfile", "smallfile.csv"))
        self.fresh = {}
        for r in read_csv(os.path.join(res, "fresh", "fresh.csv")):
            self.fresh.setdefault((r["system"], r["workload"]), []).append(r)
        self.floor = {}
        for r in read_csv(os.path.join(res, "floor", "floor.csv")):
            self.floor[(r["placement"], r["op"], r["pattern"])] = float(r["ns"])
        self.overwrite = {}  # (placement, mode): ns of the core's 4 KiB overwrite
        for r in read_csv(os.path.join(res, "floor", "overwrite.csv")):
            self.overwrite[(r["placement"], r["mode"])] = float(r["ns"])
        self.join = read_csv(os.path.join(res, "process", "join.csv"))
        self.catloop = read_csv(os.path.join(res, "process", "catloop.csv"))
        self.apps = {}
        for r in read_csv(os.path.join(res, "apps", "apps.csv")):
            self.apps.setdefault((r["system"], r["app"], r["metric"]), []).append(
                float(r["value"]))
        self.fallback = {}
        for p in sorted(glob.glob(os.path.join(res, "fallback", "*.json"))):
            sys_ = os.path.basename(p).split(".")[0]
            for job, v in fio_load(p).items():
                self.fallback.setdefault((sys_, job.split(".")[0]), []).append(v)
        self.pages = {}
        for p in glob.glob(os.path.join(res, "pages", "*.txt")):
            with open(p) as f:
                # "4 KiB: a new process takes..." -> "4 KiB"
                self.pages[os.path.basename(p)[:-4]] = f.read().strip().split(":")[0]

    def all_csv(self):
        rows = []
        for sub in ("overhead/pread.csv", "meta/meta.csv", "smallfile/smallfile.csv",
                    "fresh/fresh.csv", "process/catloop.csv", "apps/apps.csv"):
            rows += read_csv(os.path.join(self.res, sub))
        return rows

    def fresh_stat(self, s, wl):
        """Medians over repetitions of one fresh-process workload: seconds,
        faults (minor + major), bytes moved, faults scaled to 1 GiB (the
        fixed cost of a new process, the `start` run, plus the rest scaled)."""
        rows = self.fresh.get((s, wl))
        if not rows:
            return None
        out = {"seconds": statistics.median(float(r["seconds"]) for r in rows),
               "faults": statistics.median(int(r["minflt"]) + int(r["majflt"]) for r in rows),
               "bytes": int(rows[0]["bytes"]), "reps": len(rows)}
        out["best"] = min(float(r["seconds"]) for r in rows)
        # CPU time (user + system) of the process and its waited-for children,
        # recorded by fresh_run since it reports it
        cpu = [float(r["cpu_seconds"]) for r in rows if r.get("cpu_seconds")]
        out["cpu"] = statistics.median(cpu) if cpu else None
        out["per_gib"] = None
        start = self.fresh.get((s, "start"))
        if out["bytes"] > 0:
            base = statistics.median(int(r["minflt"]) + int(r["majflt"])
                                     for r in start) if start else 0
            out["per_gib"] = base + (out["faults"] - base) * GIB / out["bytes"]
        return out

    def step_load(self, step):
        """(load at start, load at end, others' cores, under load?) of a step."""
        i = self.info
        ls, le = i.get("load_start_" + step), i.get("load_end_" + step)
        oc = i.get("others_cores_" + step)
        if oc is not None:
            under = float(oc) >= LOAD_OTHERS
        elif ls or le:
            under = max(float((x or "0").split()[0]) for x in (ls, le)) > LOAD_AVG
        else:
            under = None
        return ls, le, oc, under

    def floor_iops(self, placement, op, pattern):
        """4 KiB operations per second of a floor (floor.sh), or None."""
        ns = self.floor.get((placement, op, pattern))
        return 1e9 / ns if ns else None

    def overwrite_over_floor(self, placement, mode):
        """The core's 4 KiB random overwrite in one mode (overwrite_bench)
        over the durable-copy floor of its placement (memcpy, clwb of each
        line, sfence; random blocks), both from the floor step; or None."""
        ns = self.overwrite.get((placement, mode))
        fl = self.floor.get((placement, "clwb", "rand"))
        return ns / fl if ns and fl else None

    def join_rounds(self, placement):
        """{round: {state: (CPU ms, faults)}} of one placement's join
        (process.sh): per-run medians of states run in turn. The bare state is the
        placement's own, or else a shared one (placement "tmpfs")."""
        out = {}
        for r in self.join:
            if r["placement"] == placement or (r["placement"] == REF and
                                               r["state"] == "bare"):
                st = out.setdefault(r["round"], {})
                if r["state"] == "bare" and r["placement"] == REF and "bare" in st:
                    continue
                st[r["state"]] = (float(r["task_ms"]), float(r["faults"]))
        return out

    def join_stat(self, placement, state):
        """(CPU ms, page faults) of one state: medians over rounds; or None."""
        vals = [st[state] for st in self.join_rounds(placement).values() if state in st]
        if not vals:
            return None
        return (statistics.median(v[0] for v in vals), statistics.median(v[1] for v in vals))

    def join_diff(self, placement, state, prev):
        """(CPU ms, faults) of STATE over PREV: medians over rounds of each
        round's difference (a round's states run back to back); or None."""
        d = [(st[state][0] - st[prev][0], st[state][1] - st[prev][1])
             for st in self.join_rounds(placement).values() if state in st and prev in st]
        if not d:
            return None
        return (statistics.median(x[0] for x in d), statistics.median(x[1] for x in d))

    def join_ratio(self, placement, state, i):
        """STATE's CPU time (i 0) or faults (i 1) over bare's: the median over
        rounds of each round's ratio; or None."""
        r = [st[state][i] / st["bare"][i] for st in self.join_rounds(placement).values()
             if state in st and "bare" in st and st["bare"][i]]
        return statistics.median(r) if r else None

    def catloop_stat(self, s):
        """Medians of the cat loop's runs on S: seconds, CPU seconds, faults."""
        rows = [r for r in self.catloop if r["system"] == s]
        if not rows:
            return None
        return {"seconds": statistics.median(float(r["seconds"]) for r in rows),
                "best": min(float(r["seconds"]) for r in rows),
                "cpu": statistics.median(float(r["cpu_seconds"]) for r in rows),
                "faults": statistics.median(int(r["minflt"]) + int(r["majflt"])
                                            for r in rows),
                "reps": len(rows)}

    def app_val(self, s, app, metric):
        """The median of the runs of one application figure, or None."""
        v = self.apps.get((s, app, metric))
        return statistics.median(v) if v else None

    def app_best(self, s, app, metric, lower):
        v = self.apps.get((s, app, metric))
        return (min(v) if lower else max(v)) if v else None

    def meta_vals(self, s, op):
        return [float(r["ns_per_op"]) for r in self.meta if r["system"] == s and r["op"] == op]

    def meta_ns(self, s, op):
        v = self.meta_vals(s, op)
        return statistics.median(v) if v else None

    def small_vals(self, s, tool):
        return [float(r["value"]) for r in self.small if r["system"] == s and r["tool"] == tool]

    def small_val(self, s, tool):
        """The median of the system's runs of the tool, or None."""
        v = self.small_vals(s, tool)
        return statistics.median(v) if v else None

    def pread_ns(self, s, iface, pattern, col="overhead_ns"):
        for r in self.pread:
            if r["system"] == s and r["interface"] == iface and r["pattern"] == pattern:
                return float(r[col])
        return None

    def open_rows(self, s, method):
        rows = [r for r in self.open if r["system"] == s and r["method"] == method]
        return sorted(rows, key=lambda r: int(r["size"]))


# ---------------------------------------------------------------- sections

def summary(R):
    syss = R.systems
    rows = []

    def row(label, vals, unit="", lower=False, plain=False):
        ref = vals.get(REF)
        if plain:
            rows.append([label] + [num(vals.get(s), unit) for s in syss])
        else:
            rows.append([label] + [cell(vals.get(s), ref, unit, lower) for s in syss])

    for wl, name in FIO_WORKLOADS:
        row(name + ", IOPS", {s: R.fio[(s, wl)]["iops"] for s in syss if (s, wl) in R.fio})
        row(name + ", mean latency", {s: R.fio[(s, wl)]["lat"] / 1000 for s in syss
                                      if (s, wl) in R.fio}, " µs", True)
        row(name + ", p99 latency", {s: R.fio[(s, wl)]["p99"] / 1000 for s in syss
                                     if (s, wl) in R.fio}, " µs", True)
    sizes = sorted({k[2] for k in R.sweep})
    for rw in ("read", "write"):
        for bs in (sizes[:1] + sizes[-1:]) if sizes else []:
            row("sequential %s %s, MiB/s" % (rw, size_txt(bs)),
                {s: R.sweep[(s, rw, bs)]["mibs"] for s in syss if (s, rw, bs) in R.sweep})
    for wl in ("randread", "randwrite"):
        row("4 KiB %s, 2 jobs, IOPS" % wl,
            {s: R.jobs[(s, wl, 2)]["iops"] for s in syss if (s, wl, 2) in R.jobs})
    for pat, what in (("hot", "in cache"), ("seq", "from DRAM")):
        vals = {}
        for s in syss:
            v = R.pread_ns(s, "shim" if s.startswith("umfs") else "kernel", pat)
            if v is not None:
                vals[s] = v
        row("4 KiB read minus memcpy (%s)" % what, vals, " ns", True)
    for method, s_ in (("open", "umfs-strict"), ("open", "tmpfs")):
        pass
    ot = {}
    for s in syss:
        rs = R.open_rows(s, "open")
        if rs:
            ot[s] = float(rs[-1]["median_ns"]) / 1000
    if ot:
        big = size_txt(max(int(r["size"]) for r in R.open))
        row("open + read + close, %s file" % big, ot, " µs", True)
    for op, per in (("create", "per file"), ("stat", "per file"), ("readdir", "per file"),
                    ("unlink", "per file"), ("lock", "per fcntl F_SETLK")):
        row("%s, %s" % (op, per), {s: R.meta_ns(s, op) for s in syss
                                   if R.meta_ns(s, op) is not None}, " ns", True)
    row("postmark, whole run", {s: R.small_val(s, "postmark") for s in syss
                                 if R.small_val(s, "postmark") is not None}, " s", True)
    row("dbench, 1 client, MB/s", {s: R.small_val(s, "dbench") for s in syss
                                    if R.small_val(s, "dbench") is not None})
    for wl, name in FRESH_WORKLOADS:
        if wl == "start":
            continue
        vals = {s: R.fresh_stat(s, wl)["seconds"] for s in syss if R.fresh_stat(s, wl)}
        if vals:
            row("new process: %s%s, s" % (name, fresh_size(R, wl)), vals, " s", True)
    for wl in ("read", "write"):
        vals = {s: R.fresh_stat(s, wl)["per_gib"] for s in syss if R.fresh_stat(s, wl)}
        if vals:
            row("new process: page faults per GiB, dd %s" % wl, vals, plain=True)
    vals = {s: R.catloop_stat(s)["seconds"] for s in syss if R.catloop_stat(s)}
    if vals:
        row("shell loop of 100 cats, s", vals, " s", True)
    for app, metric, what, lower in APPS:
        vals = {s: R.app_val(s, app, metric) for s in syss
                if R.app_val(s, app, metric) is not None}
        if vals:
            row(what, vals, " s" if lower else "", lower)
    return table(["measurement"] + syss, rows)


def fresh_size(R, wl):
    """ ", 256 MiB" after a workload that moved data."""
    for s in R.systems:
        st = R.fresh_stat(s, wl)
        if st and st["bytes"] and wl != "tar":
            return ", " + size_txt(st["bytes"])
    return ""


def targets(R):
    """(target, measured, required, verdict, on 2 MiB pages, conditions) rows,
    met, missed, loaded, and (met, judged) on 2 MiB pages. Ratios are speed
    relative to a kernel tmpfs of the same run (4 KiB pages unless said),
    UMFS strict through LD_PRELOAD unless said. The verdict is the pool's in
    /dev/shm; where a target leaves the placement open, the same ratio with
    the pool on 2 MiB pages (the -huge systems, as device DAX maps persistent
    memory) follows with its own verdict."""
    rows = []
    huge_met = huge_judged = 0

    def verdict(ok):
        return "**met**" if ok else "**missed**"

    floors = {}  # target name -> floor text, filled before add() is called
    floor_step = {}  # target name -> the step that measured its floor, if not "floor"

    def add(name, step, value, need, ok, how, huge=None):
        nonlocal huge_met, huge_judged
        ls, le, oc, under = R.step_load(step)
        cond = "–"
        if under is not None:
            cond = "%s: %s" % (step, "**under load**" if under else "quiet")
        fstep = floor_step.get(name, "floor")
        if name in floors and fstep != step and R.step_load(fstep)[3] is not None:
            fl = R.step_load(fstep)[3]
            cond += "; %s: %s" % (fstep, "**under load**" if fl else "quiet")
        on_huge = "–"
        if huge is not None and huge[0] is not None:
            on_huge = "%s, %s" % (huge[1], verdict(huge[2]))
            huge_met += int(huge[2])
            huge_judged += 1
        fl = floors.get(name, "–")
        if value is None:
            rows.append([name, "not measured", need, "–", on_huge, fl, cond])
        else:
            rows.append([name, how, need, verdict(ok), on_huge, fl, cond])

    def floor_txt(pattern, ref_rate, unit_per_op=1.0):
        """The floors of a write as the same ratio to tmpfs the target
        measures: memcpy / durable / undo, pool in /dev/shm, then on 2 MiB
        pages. ref_rate: tmpfs's 4 KiB operations per second."""
        if not R.floor or not ref_rate:
            return "–"
        parts = []
        for placement, where in (("shm", ""), ("huge", "2 MiB: ")):
            rs = [R.floor_iops(placement, op, pattern) for op in ("memcpy", "durable", "undo")]
            if all(rs):
                parts.append(where + " / ".join("%.1f×" % (r / unit_per_op / ref_rate)
                                                for r in rs))
        return "; ".join(parts) if parts else "–"

    def read_floor_txt(pattern, ref_rate):
        """The floor of a 4 KiB read as the same ratio to tmpfs: the copy out
        alone, then with fio's own cost per request (its null engine) added;
        pool in /dev/shm, then on 2 MiB pages. ref_rate: tmpfs's reads per
        second."""
        if not R.floor or not ref_rate:
            return "–"
        own = 1e9 / R.null["iops"] if R.null and R.null.get("iops") else None
        parts = []
        for placement, where in (("shm", ""), ("huge", "2 MiB: ")):
            ns = R.floor.get((placement, "read", pattern))
            if not ns:
                continue
            txt = "copy %.1f×" % (1e9 / ns / ref_rate)
            if own:
                txt += ", with fio's own %.1f×" % (1e9 / (ns + own) / ref_rate)
            parts.append(where + txt)
        return "; ".join(parts) if parts else "–"

    def shown(r, how, need):
        """how, whose text starts with rtxt(r), with a third decimal where two
        would show a missed ratio as reaching its need (2.497 as 2.50×)."""
        how = how or rtxt(r)
        if r is not None and r < need <= round(r, 2):
            how = "%.3f×" % r + how[len(rtxt(r)):]
        return how

    def at_least(name, step, r, need, how=None, huge=None):
        """huge: (ratio, text) on 2 MiB pages, judged against the same need."""
        if huge is not None:
            huge = (huge[0], shown(huge[0], huge[1], need),
                    huge[0] is not None and huge[0] >= need)
        add(name, step, r, "≥ %.1f×" % need, r is not None and r >= need,
            shown(r, how, need), huge)

    def at_most(name, step, v, need, fmt, huge=None):
        """A cost that must stay at or under need; fmt renders a value.
        huge: the value on 2 MiB pages, judged alike."""
        if huge is not None:
            huge = (huge, fmt(huge) if huge is not None else None,
                    huge is not None and huge <= need)
        add(name, step, v, "≤ " + fmt(need), v is not None and v <= need,
            fmt(v) if v is not None else None, huge)

    def fresh_ratio(s, wl, ref):
        a, b = R.fresh_stat(s, wl), R.fresh_stat(ref, wl)
        if not a or not b:
            return None, ""
        how = rtxt(ratio(a["seconds"], b["seconds"], True))
        if a["reps"] > 1:
            how += " (best runs: %s)" % rtxt(ratio(a["best"], b["best"], True))
        if a["bytes"] and a["bytes"] != GIB and wl != "tar":
            how += ", %s" % size_txt(a["bytes"])
        return ratio(a["seconds"], b["seconds"], True), how

    ref_w = R.fresh_stat(REF, "write")
    if ref_w and ref_w["bytes"]:
        # 1 GiB of durable sequential 4 KiB copies against tmpfs's whole dd
        rate = ref_w["bytes"] / 4096 / ref_w["seconds"]
        floors["new process, dd write of 1 GiB, pool in /dev/shm, vs tmpfs"] = \
            floor_txt("seq", rate)
    ref_c = R.fresh_stat(REF, "cp-in")
    if ref_c and ref_c["bytes"]:
        floors["cp of a 1 GiB file into UMFS"] = floor_txt(
            "seq", ref_c["bytes"] / 4096 / ref_c["seconds"])
    for wl, what in (("read", "read"), ("write", "write")):
        for s, ref, where in (("umfs-strict", REF, "pool in /dev/shm, vs tmpfs"),
                              ("umfs-strict-huge", HUGE_REF,
                               "pool on 2 MiB pages, vs tmpfs huge=always")):
            r, how = fresh_ratio(s, wl, ref)
            at_least("new process, dd %s of 1 GiB, %s" % (what, where), "fresh", r, 1.0, how)
    for wl, what, need in (("cp-in", "cp of a 1 GiB file into UMFS", 1.0),
                           ("cp-out", "cp of a 1 GiB file out of UMFS", 1.0),
                           ("tar", "tar -x of /usr/include", 1.2),
                           ("git", "git status of a /usr/include checkout", 1.2),
                           ("find", "find + stat over /usr/include", 1.2)):
        r, how = fresh_ratio("umfs-strict", wl, REF)
        at_least(what, "fresh", r, need, how, fresh_ratio("umfs-strict-huge", wl, REF))

    def fio_ratio(s, wl, ref, key="iops"):
        if (s, wl) in R.fio and (ref, wl) in R.fio:
            return R.fio[(s, wl)][key] / R.fio[(ref, wl)][key]
        return None

    def fio_how(s, wl):
        r, best = fio_ratio(s, wl, REF), fio_ratio(s, wl, REF, "max")
        how = rtxt(r)
        if best is not None and R.fio[(s, wl)]["reps"] > 1:
            how += " (best runs: %s)" % rtxt(best)
        return r, how

    for name, wl, pattern in (("4 KiB append", "append", "seq"),
                              ("4 KiB random overwrite, strict", "randwrite", "rand"),
                              ("4 KiB random overwrite, relaxed", "randwrite", "rand")):
        if (REF, wl) in R.fio:
            floors[name] = floor_txt(pattern, R.fio[(REF, wl)]["iops"])
    for name, wl, pattern in (("4 KiB sequential read", "read", "seq"),
                              ("4 KiB random read", "randread", "rand")):
        if (REF, wl) in R.fio:
            floors[name] = read_floor_txt(pattern, R.fio[(REF, wl)]["iops"])
    for name, s, wl, need in (
            ("4 KiB append", "umfs-strict", "append", 2.5),
            ("4 KiB random overwrite, strict", "umfs-strict", "randwrite", 1.5),
            ("4 KiB random overwrite, relaxed", "umfs-relaxed", "randwrite", 2.5),
            ("4 KiB sequential read", "umfs-strict", "read", 3.0),
            ("4 KiB random read", "umfs-strict", "randread", 3.0)):
        r, how = fio_how(s, wl)
        at_least(name, "fio", r, need, how, fio_how(s + "-huge", wl))
    name = OVERWRITE_TARGET
    parts = []
    for placement, where in (("shm", ""), ("huge", "2 MiB: ")):
        u, rl = (R.overwrite_over_floor(placement, m) for m in ("undo", "relaxed"))
        if u is not None and rl is not None:
            parts.append(where + "undo path %.2f×, relaxed %.2f×" % (u, rl))
    if parts:
        floors[name] = "; ".join(parts)
    at_most(name, "floor", R.overwrite_over_floor("shm", "strict"), 1.3,
            lambda v: "%.2f×" % v, R.overwrite_over_floor("huge", "strict"))
    def runs_ratio(mine, ref, lower):
        """The ratio of the medians of two systems' runs, and its text, with
        the ratio of the best runs when there were several."""
        def median(v):
            return statistics.median(v) if v else None

        def best(v):
            return (min(v) if lower else max(v)) if v else None

        r = ratio(median(mine), median(ref), lower)
        how = rtxt(r)
        if len(mine) > 1:
            how += " (best runs: %s)" % rtxt(ratio(best(mine), best(ref), lower))
        return r, how

    for op, what, need in (("create", "create (open O_CREAT and O_EXCL, close), per file", 1.5),
                           ("unlink", "unlink, per file", 2.0),
                           ("stat", "stat, per file", 5.0)):
        r, how = runs_ratio(R.meta_vals("umfs-strict", op), R.meta_vals(REF, op), True)
        at_least(what, "meta", r, need, how)
    for tool, what, lower in (("postmark", "postmark, time of the whole run", True),
                              ("dbench", "dbench, 1 client, MB/s", False)):
        r, how = runs_ratio(R.small_vals("umfs-strict", tool), R.small_vals(REF, tool), lower)
        at_least(what, "smallfile", r, 1.5, how)
    # the process section (process.sh): one join of a short process
    def over_bare(placement):
        d = R.join_diff(placement, "carried", "bare")
        return d[0] if d else None

    def preload_floor_txt(fmt, value):
        """The floor of a process target: what an empty preloaded library
        costs (process.sh's preloaded state), value(placement) rendered by
        fmt; pool in /dev/shm, then on 2 MiB pages."""
        parts = [where + fmt(v) for placement, where in (("shm", ""), ("huge", "2 MiB: "))
                 for v in [value(placement)] if v is not None]
        return "an empty preload: " + "; ".join(parts) if parts else "–"

    for name, fmt, value in (
            ("a process that opens and reads a 3-byte file (cat): CPU time, × tmpfs",
             lambda v: "%.2f×" % v, lambda p: R.join_ratio(p, "preloaded", 0)),
            ("the same: page faults, × tmpfs",
             lambda v: "%.2f×" % v, lambda p: R.join_ratio(p, "preloaded", 1)),
            ("a preloaded process touching no UMFS path (cat of a tmpfs file): CPU over "
             "a bare one", lambda v: "%+.3f ms" % v,
             lambda p: (R.join_diff(p, "preloaded", "bare") or [None])[0])):
        floors[name] = preload_floor_txt(fmt, value)
        floor_step[name] = "process"
    at_most("a process that opens and reads a 3-byte file (cat): CPU time, × tmpfs",
            "process", R.join_ratio("shm", "joined", 0), 1.5, lambda v: "%.2f×" % v,
            R.join_ratio("huge", "joined", 0))
    at_most("the same: page faults, × tmpfs", "process", R.join_ratio("shm", "joined", 1),
            1.5, lambda v: "%.2f×" % v, R.join_ratio("huge", "joined", 1))
    at_most("a preloaded process touching no UMFS path (cat of a tmpfs file): CPU over "
            "a bare one", "process", over_bare("shm"), 0.1, lambda v: "%.3f ms" % v,
            over_bare("huge"))

    def loop_ratio(s):
        a, b = R.catloop_stat(s), R.catloop_stat(REF)
        if not a or not b:
            return None, ""
        r = ratio(a["seconds"], b["seconds"], True)
        how = rtxt(r)
        if a["reps"] > 1:
            how += " (best runs: %s)" % rtxt(ratio(a["best"], b["best"], True))
        return r, how

    r, how = loop_ratio("umfs-strict")
    loop_floor = loop_ratio("tmpfs-preloaded")[0]
    if loop_floor is not None:
        floors["a shell loop of 100 cats of small files"] = "an empty preload: " + rtxt(loop_floor)
        floor_step["a shell loop of 100 cats of small files"] = "process"
    at_least("a shell loop of 100 cats of small files", "process", r, 1.0, how,
             loop_ratio("umfs-strict-huge"))

    # the applications section (apps.sh)
    def app_ratio(s, app, metric, lower):
        a, b = R.app_val(s, app, metric), R.app_val(REF, app, metric)
        r = ratio(a, b, lower)
        how = rtxt(r)
        if r is not None and len(R.apps.get((s, app, metric), [])) > 1:
            how += " (best runs: %s)" % rtxt(ratio(R.app_best(s, app, metric, lower),
                                                   R.app_best(REF, app, metric, lower),
                                                   lower))
        return r, how

    ref_commit = R.app_val(REF, "sqlite", "commits/s")
    if ref_commit:
        # a commit writes at least one 4 KiB page durably (its WAL frame)
        floors["SQLite, WAL, synchronous=FULL, single-row commits/s"] = floor_txt(
            "seq", ref_commit)
    make_floor = ratio(R.app_val("tmpfs-preloaded", "make", "seconds"),
                       R.app_val(REF, "make", "seconds"), True)
    if make_floor is not None:
        floors["make -j2 of a C project of 60 sources"] = "an empty preload: " + rtxt(make_floor)
        floor_step["make -j2 of a C project of 60 sources"] = "apps"
    for metric, what, how in (
            ("fillrandom ops/s", "RocksDB db_bench fillrandom, 300k keys, ops/s", "no WAL"),
            ("readrandom ops/s", "RocksDB db_bench readrandom, 300k keys, ops/s",
             "the table in the block cache")):
        bound = ratio(R.app_val("tmpfs-bound", "db_bench", metric),
                      R.app_val(REF, "db_bench", metric))
        if bound is not None:
            floors[what] = "bound, file calls taken out (%s): %s" % (how, rtxt(bound))
            floor_step[what] = "apps"
    for what, app, metric, need, lower in (
            ("make -j2 of a C project of 60 sources", "make", "seconds", 1.1, True),
            ("SQLite, WAL, synchronous=FULL, single-row commits/s", "sqlite",
             "commits/s", 1.5, False),
            ("SQLite, point selects/s", "sqlite", "selects/s", 1.0, False),
            ("RocksDB db_bench fillrandom, 300k keys, ops/s", "db_bench",
             "fillrandom ops/s", 1.3, False),
            ("RocksDB db_bench readrandom, 300k keys, ops/s", "db_bench",
             "readrandom ops/s", 1.3, False)):
        r, how = app_ratio("umfs-strict", app, metric, lower)
        if r is None and app == "db_bench" and R.apps and not any(
                k[1] == "db_bench" for k in R.apps):
            add(what, "apps", None, "≥ %.1f×" % need, False, None)
            rows[-1][1] = "not run: db_bench missing (rocksdb-tools)"
            continue
        at_least(what, "apps", r, need, how, app_ratio("umfs-strict-huge", app, metric, lower))
    for wl, what in (("read", "reading"), ("write", "writing")):
        for s, where in (("umfs-strict", "pool in /dev/shm"),
                         ("umfs-strict-huge", "pool on 2 MiB pages")):
            st = R.fresh_stat(s, wl)
            v = st["per_gib"] if st else None
            how = num(v)
            if st and st["bytes"] != GIB:
                how += " (%s measured: %s)" % (size_txt(st["bytes"]), num(st["faults"]))
            add("page faults of a new process %s 1 GiB, %s" % (what, where), "fresh", v,
                "≤ 1,000", v is not None and v <= 1000, how)
    met = sum(1 for r in rows if r[3] == "**met**")
    missed = sum(1 for r in rows if r[3] == "**missed**")
    loaded = sum(1 for r in rows if r[3] != "–" and "under load" in r[-1])
    return (table(["target (UMFS strict through LD_PRELOAD unless said; ratio to tmpfs)",
                   "measured", "required", "verdict",
                   "the same, pool on 2 MiB pages",
                   "floor, same run: memcpy / durable / undo (a write), copy out (a read)",
                   "step: conditions"], rows),
            met, missed, loaded, (huge_met, huge_judged))


def section_fio(R):
    out = []
    for wl, name in FIO_WORKLOADS:
        ref = R.fio.get((REF, wl))
        rows = []
        for s in R.systems:
            m = R.fio.get((s, wl))
            if not m:
                continue
            rows.append([s, num(m["iops"]), "%s – %s" % (num(m["min"]), num(m["max"])),
                         num(m["mibs"]), num(m["lat"] / 1000, " µs"),
                         num(m["p99"] / 1000, " µs"),
                         rtxt(ratio(m["iops"], ref["iops"] if ref else None)), m["reps"]])
        out.append("**%s**\n\n" % name + table(
            ["system", "IOPS (median)", "IOPS range", "MiB/s", "mean latency",
             "p99 latency", "× tmpfs", "runs"], rows))
    return "\n".join(out)


def section_sweep(R):
    out = []
    sizes = sorted({k[2] for k in R.sweep})
    for rw in ("read", "write"):
        rows = []
        for bs in sizes:
            ref = R.sweep.get((REF, rw, bs))
            rows.append([size_txt(bs)] + [
                cell(R.sweep[(s, rw, bs)]["mibs"], ref["mibs"] if ref else None)
                if (s, rw, bs) in R.sweep else "–" for s in R.systems])
        out.append("**sequential %s, MiB/s (× tmpfs)**\n\n" % rw +
                   table(["request size"] + R.systems, rows))
    return "\n".join(out)


def section_jobs(R):
    rows = []
    for wl in ("randread", "randwrite"):
        ref2 = R.jobs.get((REF, wl, 2))
        for s in R.systems:
            a, b = R.jobs.get((s, wl, 1)), R.jobs.get((s, wl, 2))
            if not a or not b:
                continue
            rows.append(["4 KiB " + wl, s, num(a["iops"]), num(b["iops"]),
                         "%.2f×" % (b["iops"] / a["iops"]),
                         rtxt(ratio(b["iops"], ref2["iops"] if ref2 else None))])
    return table(["workload", "system", "1 job IOPS", "2 jobs IOPS (aggregate)",
                  "2 jobs / 1 job", "2 jobs × tmpfs"], rows)


def section_overhead(R):
    out = ""
    if R.null:
        out += ("fio's null engine (no I/O; fio's own cost per 4 KiB request): "
                "%s IOPS, mean completion latency %s (median of %d runs). Every fio "
                "latency above includes this floor.\n\n"
                % (num(R.null["iops"]), num(R.null["lat"], " ns"), R.null["reps"]))
    rows = []
    for r in R.pread:
        rows.append([r["system"], r["interface"], {"hot": "same 4 KiB (cache)",
                     "seq": "64 MiB walk (DRAM)"}.get(r["pattern"], r["pattern"]),
                     num(float(r["read_ns"]), " ns"), num(float(r["memcpy_ns"]), " ns"),
                     num(float(r["overhead_ns"]), " ns")])
    out += table(["system", "interface", "pattern", "4 KiB read", "4 KiB memcpy",
                  "read − memcpy"], rows)
    out += ("\n`api` is `umfs_pread()` of the C API, `shim` is `pread()` under "
            "`LD_PRELOAD` (what programs get), `kernel` is `pread()` on a kernel "
            "file system; the memcpy copies from a `MAP_POPULATE` mapping of the pool "
            "(UMFS) or of the file itself (kernel), same walk. Medians of 7 rounds; "
            "the last column is the median of per-round differences.\n")
    return out


def section_open(R):
    series = [("umfs-strict", "open"), ("tmpfs", "open"), ("tmpfs", "mmap")]
    sizes = sorted({int(r["size"]) for r in R.open})
    data = {(s, m): {int(r["size"]): r for r in R.open_rows(s, m)} for s, m in series}
    rows = []
    for n in sizes:
        row = [size_txt(n)]
        for key in series:
            r = data[key].get(n)
            row.append("%s (first %s)" % (num(float(r["median_ns"]) / 1000, " µs"),
                                          num(float(r["first_ns"]) / 1000, " µs"))
                       if r else "–")
        rows.append(row)
    return table(["file size", "UMFS open + read + close", "tmpfs open + read + close",
                  "tmpfs open + mmap MAP_POPULATE + munmap + close"], rows) + (
        "\nMedian of repeated opens (about 0.3 s worth, at most 1000); "
        "\"first\" is the first open right after the file was written. The read is of "
        "the file's last 4 KiB.\n")


def section_meta(R):
    rows = []
    for op in ("create", "stat", "readdir", "unlink", "lock"):
        ref = R.meta_ns(REF, op)
        rows.append([op] + [cell(R.meta_ns(s, op), ref, " ns", True)
                            if R.meta_ns(s, op) is not None else "–" for s in R.systems])
    n = R.meta[0]["n"] if R.meta else "?"
    reps = len(R.meta_vals(REF, "stat")) or "?"
    return table(["per file or call (× tmpfs speed)"] + R.systems, rows) + (
        "\n%s files in one directory; `create` is open(O_CREAT|O_EXCL) + close, "
        "`readdir` is per entry over whole-directory scans repeated for 0.2 s; "
        "`create`, `unlink` and `stat` are the fastest of passes repeated for 0.2 s "
        "(at least 3). `lock` is per fcntl(F_SETLK) call, in as many rounds of the "
        "cycle SQLite's WAL makes for each transaction (read-lock a byte, write-lock "
        "another, unlock both) on one file, the fastest of passes repeated for "
        "0.2 s. Each figure is the median of %s processes, the systems taken in "
        "turn (umfs-fuse's of one).\n" % (n, reps))


PROFILE_FOR = [
    ("append", "4 KiB append (target ≥ 2.5× tmpfs)"),
    ("randwrite", "4 KiB random overwrite, strict (target ≥ 1.5× tmpfs)"),
    ("randwrite-relaxed", "4 KiB random overwrite, relaxed (target ≥ 2.5× tmpfs)"),
    ("jobs-randwrite", "2 fio processes overwriting their own files"),
    ("meta", "create, stat, readdir, unlink of the metadata run (targets: create ≥ 1.5×, "
     "unlink ≥ 2×, stat ≥ 5× tmpfs)"),
    ("open", "open + read of the last 4 KiB + close of a 4 KiB file"),
    ("pread-seq", "pread_overhead through the shim"),
]


def section_profiles(R):
    out = []
    for name, what in PROFILE_FOR:
        path = os.path.join(R.res, "profile", name + ".txt")
        if not os.path.exists(path):
            continue
        with open(path) as f:
            lines = [l.rstrip("\n") for l in f]
        cmd = lines[0].split(" of: ", 1)[-1] if lines else ""
        body = [l for l in lines[1:] if not l.startswith("# self")]
        out.append("**%s** (`%s`)\n\n```\n%s\n```\n" % (what, cmd, "\n".join(body)))
    return "\n".join(out)


def section_fresh(R):
    syss = [s for s in R.systems if any(R.fresh_stat(s, wl) for wl, _ in FRESH_WORKLOADS)]
    if not syss:
        return "_Not run (`bench/run.sh --only fresh`)._\n"
    rows, frows = [], []
    for wl, name in FRESH_WORKLOADS:
        ref = R.fresh_stat(REF, wl)
        cells, fcells, n = [], [], None
        for s in syss:
            st = R.fresh_stat(s, wl)
            if not st:
                cells.append("–")
                fcells.append("–")
                continue
            n = st
            cells.append(cell(st["seconds"], ref["seconds"] if ref else None, " s", True))
            fcells.append(num(st["per_gib"] if st["per_gib"] is not None else st["faults"]))
        what = name
        if n and n["bytes"]:
            what += " (%s)" % (size_txt(n["bytes"]) if wl != "tar" else
                               "%s MiB of files" % num(n["bytes"] / (1 << 20)))
        rows.append([what] + cells)
        frows.append([wl + (", per GiB" if n and n["bytes"] else ", per run")] + fcells)
    reps = sorted({st["reps"] for st in (R.fresh_stat(s, wl) for s in syss
                                         for wl, _ in FRESH_WORKLOADS) if st})
    out = ("**wall time of the new process, median (× tmpfs speed)**\n\n" +
           table(["workload"] + syss, rows) +
           "\n**page faults taken (minor + major)**\n\n" +
           table(["workload"] + syss, frows))
    out += ("\nEach figure is one new process started by `bench/fresh_run` (fork, exec, "
            "wait4), UMFS under `LD_PRELOAD`; its faults count the process and the "
            "children it waited for (find's `stat`). Medians of %s runs. Faults \"per "
            "GiB\" are the fixed cost of a new process that opens a file on the system "
            "(`start`) plus the rest scaled to 1 GiB: exact when 1 GiB moved. Pages "
            "of each UMFS pool as `mkfs.umfs` reported them:\n\n" %
            " or ".join(str(r) for r in reps))
    out += table(["system", "pool pages (mkfs.umfs)"],
                 [[s, R.pages.get(s, "–")] for s in R.systems if s.startswith("umfs-")
                  and s in R.pages])
    return out


JOIN_STATES = [
    ("bare", "cat of a 3-byte tmpfs file, no library", None),
    ("preloaded", "the same, an empty library preloaded (bench/preload_floor.c)",
     "any preload"),
    ("carried", "the same, libumfs.so preloaded, no UMFS path touched",
     "libumfs.so's loading"),
    ("mounted", "cat of a missing name in the pool (mounts it)", "mount"),
    ("joined", "cat of a 3-byte file in the pool", "first open"),
]
APPS = [
    ("sqlite", "commits/s", "SQLite: single-row commits/s (WAL, synchronous=FULL)", False),
    ("sqlite", "selects/s", "SQLite: point selects/s", False),
    ("db_bench", "fillrandom ops/s", "db_bench fillrandom, ops/s", False),
    ("db_bench", "readrandom ops/s", "db_bench readrandom, ops/s", False),
    ("make", "seconds", "make -j2, 60 sources: wall time", True),
    ("make", "cpu_seconds", "make -j2: CPU time (user + system)", True),
]
APP_SYSTEMS = ["tmpfs", "umfs-strict", "umfs-strict-huge", "tmpfs-preloaded", "tmpfs-bound"]


def section_process(R):
    out = []
    if R.join:
        reps = R.join[0]["reps"]
        rounds = len({r["round"] for r in R.join})
        rows = []
        for state, what, part in JOIN_STATES:
            row = [state, what]
            i = [x[0] for x in JOIN_STATES].index(state)
            for placement in ("shm", "huge"):
                st = R.join_stat(placement, state)
                d = R.join_diff(placement, state, JOIN_STATES[i - 1][0]) if i > 0 else None
                if not st:
                    row += ["–", "–", "–"]
                    continue
                row += [num(st[0], " ms"), "%.0f" % st[1],
                        "%s: %+.3f ms, %+.0f faults" % (part, d[0], d[1]) if d else "–"]
            rows.append(row)
        out.append("**One join, broken down** (CPU time and faults are the task-clock and "
                   "page-faults that perf stat counts, from the exec on; a round runs the "
                   "states in turn, process by process, %s times each (`bench/alternate`), "
                   "and takes each state's median; medians over %d rounds; a part is the "
                   "median of each round's difference between successive states)\n\n"
                   % (reps, rounds) + table(
                       ["state", "process", "pool in /dev/shm: CPU", "faults", "part",
                        "pool on 2 MiB pages: CPU", "faults", "part"], rows))
    syss = [s for s in R.systems if any(R.fresh_stat(s, wl) for wl, _ in FRESH_WORKLOADS)]
    if syss and any(R.fresh_stat(s, wl) and R.fresh_stat(s, wl)["cpu"] is not None
                    for s in syss for wl, _ in FRESH_WORKLOADS):
        rows = []
        for wl, name in FRESH_WORKLOADS:
            cells = []
            for s in syss:
                st = R.fresh_stat(s, wl)
                cells.append("–" if not st or st["cpu"] is None else "%s / %s / %s" % (
                    num(st["seconds"], " s"), num(st["cpu"], " s"), num(st["faults"])))
            rows.append([name] + cells)
        out.append("\n**New processes (section 7's rows): wall time / CPU time / page faults "
                   "(medians; faults as measured, not scaled)**\n\n" +
                   table(["workload"] + syss, rows))
    loop = [s for s in R.systems + ["shell-carried", "tmpfs-preloaded"] if R.catloop_stat(s)]
    if loop:
        ref = R.catloop_stat(REF)
        rows = []
        for s in loop:
            st = R.catloop_stat(s)
            rows.append([s, cell(st["seconds"], ref["seconds"] if ref else None, " s", True),
                         num(st["cpu"], " s"), num(st["faults"]), st["reps"]])
        out.append("\n**A shell loop of 100 cats of small files** (`sh -c 'for i in ...; do "
                   "cat DIR/fN; done'`: 101 new processes, each joining the pool under the "
                   "shim; shell-carried: the shell preloaded with the pool named, its cats "
                   "bare on tmpfs's files, so that its cost over tmpfs is the carried "
                   "shell's alone, whose vforks the library keeps real; tmpfs-preloaded: "
                   "the loop on tmpfs's files with an empty library preloaded in the shell "
                   "and every cat, what carrying any `LD_PRELOAD` library costs it)\n\n" + table(["system", "wall time (× tmpfs speed)", "CPU time",
                                        "page faults", "runs"], rows))
    if not out:
        return "_Not run (`bench/run.sh --only process`)._\n"
    return "\n".join(out)


def section_apps(R):
    rows = []
    # tmpfs-preloaded (make alone) and tmpfs-bound (db_bench alone) only
    # where a run measured them
    syss = [s for s in APP_SYSTEMS
            if s not in ("tmpfs-preloaded", "tmpfs-bound") or any(k[0] == s for k in R.apps)]
    for app, metric, what, lower in APPS:
        ref = R.app_val(REF, app, metric)
        vals = [R.app_val(s, app, metric) for s in syss]
        if all(v is None for v in vals):
            continue
        rows.append([what] + [cell(v, ref, " s" if lower else "", lower)
                              if v is not None else "–" for v in vals])
    for wl, name in FRESH_WORKLOADS:
        if wl not in ("git", "tar", "find"):
            continue
        ref = R.fresh_stat(REF, wl)
        vals = [R.fresh_stat(s, wl) for s in syss]
        if all(v is None for v in vals):
            continue
        rows.append([name + ", s (section 7)"] + [
            cell(v["seconds"], ref["seconds"] if ref else None, " s", True) if v else "–"
            for v in vals])
    if not rows:
        return "_Not run (`bench/run.sh --only apps`)._\n"
    out = table(["application (× tmpfs speed)"] + syss, rows)
    if R.apps and not any(k[1] == "db_bench" for k in R.apps):
        out += ("\ndb_bench was not run: it was not installed (Debian's `rocksdb-tools`, "
                "`bench/install-bench-deps.sh`).\n")
    reps = sorted({len(v) for v in R.apps.values()})
    out += ("\nUnmodified programs, under the shim for UMFS, all systems up at once "
            "(medians of %s runs). SQLite: python3's "
            "sqlite3 module (`bench/sqlite_bench.py`), WAL, `synchronous=FULL`, one row "
            "per transaction, then as many point selects by random key. db_bench: "
            "RocksDB's, fillrandom of 300,000 keys, 100-byte values, no compression, one "
            "thread, then the memtable flushed and the table compacted, and readrandom: "
            "reads that miss the 8 MiB block cache are preads of the table (without the "
            "flush every key would be read from the memtable, no file at all). make: `make -j2` of 60 generated sources and a "
            "header, `gcc -O0`, objects and program in the file system, after an untimed "
            "build and clean; tmpfs-preloaded: the same on tmpfs with an empty library "
            "(bench/preload_floor.c) preloaded in every process, what carrying any "
            "`LD_PRELOAD` library costs the build. tmpfs-bound: db_bench on tmpfs with "
            "the file calls of its timed phases taken out, fillrandom without its WAL "
            "(`--disable_wal`, no write per key) and readrandom with a block cache that "
            "holds the whole table (a block is read from the file once at most): what a "
            "file system whose calls cost nothing could reach at most. Every application "
            "runs on every system back to back in each repetition.\n"
            % " or ".join(str(r) for r in reps))
    return out


OVERWRITE_TARGET = ("strict 4 KiB random overwrite in the core (bench/overwrite_bench), "
                    "time × the durable-copy floor (memcpy + clwb + sfence)")

OVERWRITE_MODES = [
    ("strict", "strict: the new 4 KiB in a spare page, swapped in by a U-Log record"),
    ("undo", "strict by the undo path: the old 4 KiB saved in the U-Log, then written over"),
    ("relaxed", "relaxed: written over in place, durable, not failure-atomic"),
]

FLOOR_OPS = [
    ("memcpy", "memcpy into a mapped file (the copy of a kernel tmpfs write)"),
    ("durable", "durable copy: the core's non-temporal copy + sfence"),
    ("clwb", "memcpy + write-back of each line (clwb) + sfence"),
    ("undo", "undo copy of the old 4 KiB + fence, then the durable write + fence"),
    ("read", "read: memcpy out of a mapped file (the copy of any 4 KiB read)"),
]


FALLBACK_WAYS = [
    ("tmpfs", "tmpfs"),
    ("umfs-strict", "UMFS, the library (fast path)"),
    ("umfs-fallback", "UMFS through the kernel fallback"),
]


def section_fallback(R):
    if not R.fallback:
        return "_Not run (`bench/run.sh --only fallback`)._\n"
    rows = []
    for wl, name in FIO_WORKLOADS:
        ref = fio_median(R.fallback.get((REF, wl), []))
        fast = fio_median(R.fallback.get(("umfs-strict", wl), []))
        for sys_, label in FALLBACK_WAYS:
            m = fio_median(R.fallback.get((sys_, wl), []))
            if not m:
                continue
            rows.append([name, label, num(m["iops"]),
                         "%s – %s" % (num(m["min"]), num(m["max"])),
                         num(m["lat"] / 1000, " µs"),
                         rtxt(ratio(m["iops"], ref["iops"] if ref else None)),
                         rtxt(ratio(m["iops"], fast["iops"] if fast else None)),
                         m["reps"]])
    return table(["workload", "reached through", "IOPS (median)", "IOPS range",
                  "mean latency", "× tmpfs", "× fast path", "runs"], rows)


def section_floor(R):
    if not R.floor:
        return "_Not run (`bench/run.sh --only floor`)._\n"
    rows = []
    for op, what in FLOOR_OPS:
        row = [what]
        for placement in ("shm", "huge"):
            for pattern in ("rand", "seq"):
                ns = R.floor.get((placement, op, pattern))
                row.append("%s (%s IOPS)" % (num(ns, " ns"), num(1e9 / ns)) if ns else "–")
        rows.append(row)
    out = table(["4 KiB floor", "/dev/shm, random", "/dev/shm, sequential",
                 "2 MiB pages, random", "2 MiB pages, sequential"], rows)
    frows = []
    for wl, name, pattern in (("append", "4 KiB append", "seq"),
                              ("randwrite", "4 KiB random overwrite", "rand")):
        for s in R.systems:
            m = R.fio.get((s, wl))
            if not m:
                continue
            placement = "huge" if s.endswith("-huge") else "shm"
            fl = [R.floor_iops(placement, op, pattern) for op in ("memcpy", "durable", "undo")]
            frows.append([name, s, num(m["iops"])] + [
                "%s (%.0f%%)" % (num(f), 100.0 * m["iops"] / f) if f else "–" for f in fl])
    orows = []
    for mode, what in OVERWRITE_MODES:
        row = [what]
        for placement in ("shm", "huge"):
            ns, r = R.overwrite.get((placement, mode)), R.overwrite_over_floor(placement, mode)
            row.append("%s (%.2f×)" % (num(ns, " ns"), r) if ns and r else "–")
        orows.append(row)
    if R.overwrite:
        out += ("\n**The core's 4 KiB random overwrite beside the durable-copy floor** "
                "(time per write; in brackets, × the memcpy + clwb + sfence floor of the "
                "same placement, random blocks, above)\n\n" +
                table(["overwrite", "/dev/shm", "2 MiB pages"], orows) +
                "\n`bench/overwrite_bench -c` in the same step: a pool at the floor's "
                "placement holding one file of the floor's size, random page-aligned 4 KiB "
                "writes through the core's C API (no shim, no fio), 200,000 timed in each "
                "mode after 20,000 untimed. The pool stays mapped across the modes and "
                "each mode first stores to every page of it, as the floor's file is "
                "touched: a page's first store in a process costs microseconds here, and "
                "200,000 writes over a file of 256 MiB meet 95% of its pages for the first "
                "time.\n")
    if frows:
        out += ("\n**fio's 4 KiB writes beside their floors** (IOPS; in brackets the share "
                "of the floor the system reached; the floor of the system's placement)\n\n" +
                table(["workload", "system", "IOPS", "memcpy floor", "durable floor",
                       "undo floor"], frows))
    out += ("\n`bench/floor` on a file of fio's size, allocated (`posix_fallocate`, as "
            "`mkfs.umfs` allocates a pool) and touched before it is timed; random 4 KiB "
            "offsets over the file (as fio's overwrite) or consecutive blocks (as an "
            "append); the source is one 4 KiB buffer in cache; medians of rounds of about "
            "0.1 s. The flush routines are the ones `libumfs.so` runs "
            "(`libumfs/core/cpuflush_isa.c`). The read floor copies 4 KiB out of the same "
            "file into one buffer in cache, at random blocks (as fio's random read) or "
            "consecutive ones (as its sequential read); section 4's memcpy walks 64 MiB "
            "in order.\n\n"
            "**Touched memory.** `mkfs.umfs` allocates a pool file's blocks up front "
            "(`posix_fallocate`), but tmpfs clears a page only when it is first touched, "
            "and this VM returns freed memory to its host (free-page reporting), so a first "
            "touch costs a varying amount. Every pool the bench makes is write-touched page "
            "by page (`floor touch`, each byte written back unchanged) right after "
            "`mkfs.umfs`, before any process mounts it, as persistent memory is all there "
            "from the start. fio's reads and overwrites run on a laid-out file (touched) "
            "and are measured after as long untimed (`--ramp_time`), on every system, so "
            "that a process's first touch of each page is left out; each measured append "
            "follows an untimed one of the same size, removed, so that it writes on "
            "pages just touched and freed; `dd` and the applications create files, "
            "which allocates tmpfs pages by nature. The host's side of `cp` out of a "
            "system is not the system measured: an untimed "
            "copy makes the destination first, so that the measured one, which truncates "
            "it, writes on the pages it just freed.\n")
    return out


def section_steps(R):
    rows = []
    for k, v in R.info.items():
        if not k.startswith("load_start_"):
            continue
        step = k[len("load_start_"):]
        ls, le, oc, under = R.step_load(step)
        rows.append([step, "%s s" % R.info.get("seconds_" + step, "?"), ls or "–",
                     le or "–", oc or "–",
                     "–" if under is None else ("**under load**" if under else "quiet")])
    if not rows:
        return ""
    return (table(["step", "duration", "load average at start", "at end",
                   "cores kept busy by other processes", "conditions"], rows) +
            "\nA step ran **under load** when other processes kept %.1f of the %s cores "
            "busy or more while it ran (the machine's busy time, VM steal included, "
            "minus the bench's own CPU time). The load average counts the bench's own "
            "processes too (one, two in `jobs`), so it is shown, not judged; runs older "
            "than this record go by a 1-minute load above %.1f.\n"
            % (LOAD_OTHERS, R.info.get("cores", "?"), LOAD_AVG))


def section_small(R):
    rows = []
    for tool, label, lower in (("postmark", "postmark, seconds for the whole run", True),
                               ("dbench", "dbench, 1 client, MB/s", False)):
        ref = R.small_val(REF, tool)
        rows.append([label] + [cell(R.small_val(s, tool), ref, "", lower)
                               if R.small_val(s, tool) is not None else "–"
                               for s in R.systems])
    return table(["workload (× tmpfs speed)"] + R.systems, rows)


# ---------------------------------------------------------------- plots

def gnuplot(R, plotdir, pngdir):
    if not shutil.which("gnuplot"):
        print("report.py: gnuplot not found; no plots (bench/install-bench-deps.sh)",
              file=sys.stderr)
        return []
    os.makedirs(plotdir, exist_ok=True)
    os.makedirs(pngdir, exist_ok=True)
    made = []
    common = ('set terminal pngcairo size 900,540 noenhanced font ",10"\n'
              'set grid\nset key outside right top\n')

    def xtics(sizes):
        """Tick labels in powers of 1024, which gnuplot's %c does not do."""
        return "set xtics (%s)\n" % ", ".join(
            '"%s" %d' % (size_txt(n).replace(" ", "").replace("iB", ""), n) for n in sizes)

    def run(name, script):
        gp = os.path.join(plotdir, name + ".gp")
        png = os.path.join(pngdir, name + ".png")
        with open(gp, "w") as f:
            f.write(common + 'set output "%s"\n' % png + script)
        subprocess.run(["gnuplot", gp], check=True)
        made.append(name + ".png")

    sizes = sorted({k[2] for k in R.sweep})
    for rw in ("read", "write"):
        if not sizes:
            break
        dat = os.path.join(plotdir, "sweep-%s.dat" % rw)
        with open(dat, "w") as f:
            f.write("# size " + " ".join(R.systems) + "\n")
            for bs in sizes:
                f.write("%d %s\n" % (bs, " ".join(
                    "%.1f" % R.sweep[(s, rw, bs)]["mibs"] if (s, rw, bs) in R.sweep
                    else "NaN" for s in R.systems)))
        plots = ", ".join('"%s" using 1:%d with linespoints lw 2 title "%s"' % (dat, i + 2, s)
                          for i, s in enumerate(R.systems))
        run("sweep-" + rw,
            'set title "Sequential %s, psync, 1 job: bandwidth against request size"\n'
            'set logscale x 2\nset logscale y\nset xlabel "request size"\n'
            'set ylabel "MiB/s"\n%splot %s\n' % (rw, xtics(sizes), plots))

    series = [("umfs-strict", "open", "UMFS open+read+close"),
              ("tmpfs", "open", "tmpfs open+read+close"),
              ("tmpfs", "mmap", "tmpfs mmap MAP_POPULATE")]
    if R.open:
        dat = os.path.join(plotdir, "opentime.dat")
        sizes = sorted({int(r["size"]) for r in R.open})
        data = {(s, m): {int(r["size"]): float(r["median_ns"]) / 1000
                         for r in R.open_rows(s, m)} for s, m, _ in series}
        with open(dat, "w") as f:
            for n in sizes:
                f.write("%d %s\n" % (n, " ".join("%.2f" % data[(s, m)][n]
                                                  if n in data[(s, m)] else "NaN"
                                                  for s, m, _ in series)))
        plots = ", ".join('"%s" using 1:%d with linespoints lw 2 title "%s"' % (dat, i + 2, t)
                          for i, (_, _, t) in enumerate(series))
        run("opentime",
            'set title "Reaching a file'"'"'s data: time against file size"\n'
            'set logscale x 2\nset logscale y\nset xlabel "file size"\n'
            'set ylabel "microseconds (median)"\n%splot %s\n' % (xtics(sizes), plots))

    if R.jobs:
        dat = os.path.join(plotdir, "jobs.dat")
        syss = [s for s in R.systems if (s, "randread", 1) in R.jobs]
        with open(dat, "w") as f:
            f.write("# system rr1 rr2 rw1 rw2\n")
            for s in syss:
                f.write("%s %s\n" % (s, " ".join(
                    "%.0f" % (R.jobs[(s, wl, j)]["iops"] / 1000) if (s, wl, j) in R.jobs
                    else "NaN" for wl in ("randread", "randwrite") for j in (1, 2))))
        run("jobs",
            'set title "4 KiB random I/O, 1 and 2 jobs on separate files: aggregate IOPS"\n'
            'set style data histograms\nset style histogram clustered gap 1\n'
            'set style fill solid 0.8 border -1\nset ylabel "thousand IOPS"\n'
            'set yrange [0:*]\nset xtics nomirror\n'
            'plot "%s" using 2:xtic(1) title "randread 1 job", '
            '"" using 3 title "randread 2 jobs", "" using 4 title "randwrite 1 job", '
            '"" using 5 title "randwrite 2 jobs"\n' % dat)
    return made


# ---------------------------------------------------------------- the document

def old_analysis(doc):
    if os.path.exists(doc):
        with open(doc) as f:
            text = f.read()
        if BEGIN in text and END in text:
            return text[text.index(BEGIN) + len(BEGIN):text.index(END)].strip("\n")
    return ("_Nothing yet. Put here, by hand, what limits each missed target: the "
            "profile of the UMFS run (`perf record`, `valgrind --tool=callgrind`) and "
            "its top functions._")


def full_duration(res):
    """seconds_total of the newest full-mode run beside this one, if any."""
    best = None
    for p in glob.glob(os.path.join(os.path.dirname(os.path.abspath(res)), "*", "run.txt")):
        info = read_info(os.path.dirname(p))
        if info.get("mode") == "full" and "seconds_total" in info:
            if best is None or info["date"] > best["date"]:
                best = info
    return best


def write_doc(R, doc, pngs, pngdir):
    i = R.info
    tgt, met, missed, loaded, (huge_met, huge_judged) = targets(R)
    rel = os.path.relpath(pngdir, os.path.dirname(os.path.abspath(doc)))
    full = full_duration(R.res)
    total = i.get("seconds_total")
    lines = []
    lines.append("# Performance\n")
    lines.append("<!-- Generated by bench/report.py from one bench/run.sh run; do not edit "
                 "by hand except the Analysis section. -->\n")
    lines.append(
        "UMFS against the kernel's file systems on this machine, all in DRAM: UMFS "
        "through `LD_PRELOAD` (`libumfs.so`) on a strict pool and on a relaxed pool "
        "(`mkfs.umfs -O relaxed`), each with the pool in /dev/shm (4 KiB pages) and "
        "on a tmpfs mounted `huge=always` (`-huge`: 2 MiB pages, as device DAX maps "
        "real persistent memory), UMFS through `umfs-fuse`, tmpfs, tmpfs mounted "
        "`huge=always` (`tmpfs-huge`), and ext4 on a loop device backed by a file in "
        "/dev/shm (the paper's \"EXT4 on ramdisk\"). `make bench` (quick) or "
        "`make bench MODE=full` reproduces it; the scripts are in "
        "[bench/](../bench/).\n")
    lines.append(
        "**Ratios only mean something within one run.** The machine is shared "
        "(2 cores, other jobs running: see the load below) and its speed drifts from "
        "run to run, so every ratio here compares figures from this run only. A ratio "
        "is always *speed relative to tmpfs*: above 1 is faster than tmpfs, for times "
        "and latencies too (tmpfs time / system time).\n")
    dur = "%s s" % total if total else "?"
    lines.append(table(["run", ""], [
        ["mode", i.get("mode", "?")], ["date", i.get("date", "?")],
        ["source", i.get("git", "?")], ["machine", "%s, %s cores, %s" % (
            i.get("cpu", "?"), i.get("cores", "?"), i.get("mem", "?"))],
        ["kernel, fio", "%s, %s" % (i.get("kernel", "?"), i.get("fio", "?"))],
        ["load average before / after", "%s / %s" % (i.get("load_before", "?"),
                                                     i.get("load_after", "?"))],
        ["duration", dur + " (" + ", ".join(
            "%s %s s" % (k[8:], v) for k, v in i.items()
            if k.startswith("seconds_") and k != "seconds_total") + ")"],
        ["full mode duration", "%s s (run of %s)" % (full["seconds_total"], full["date"])
         if full else "not measured yet"],
        ["raw results", "`results/%s` (not committed)" % os.path.basename(
            os.path.abspath(R.res))]]))
    steps = section_steps(R)
    if steps:
        lines.append("\nLoad during each step:\n")
        lines.append(steps)
    lines.append("\n## Summary\n")
    lines.append("Each cell: the figure, then in brackets its speed relative to tmpfs "
                 "in this run. Medians over repetitions where the mode repeats.\n")
    lines.append(summary(R))
    lines.append("\n## Targets\n")
    lines.append("The bench's targets: %d met, %d missed in this run, %d of these verdicts "
                 "from steps that ran under load. The verdict goes by "
                 "the ratio of medians; where a workload repeats, the ratio of each "
                 "system's best run follows in brackets, as noise on a shared machine only "
                 "ever slows a run down. The last column says whether the step that "
                 "measured the figure ran under load (see the run table above): a "
                 "verdict taken under load is not one to trust.\n" % (met, missed, loaded))
    lines.append("The verdicts count UMFS with the pool in /dev/shm (4 KiB pages). "
                 "Where a target leaves the pool's placement open and the bench "
                 "measures both, the column \"the same, pool on 2 MiB pages\" gives "
                 "the same ratio (still against tmpfs on 4 KiB pages) with the pool on "
                 "a tmpfs mounted `huge=always`: the DRAM stand-in README.md describes, "
                 "mapped with 2 MiB pages as device DAX maps real persistent memory. "
                 "%d of those %d met there. Rows required \"≤\" are costs, not speeds: "
                 "UMFS's CPU time or faults over tmpfs's, or CPU time over a bare "
                 "process. The floor column gives, for a write target, the ratio to "
                 "tmpfs that the floor itself would reach (section 10), with the pool "
                 "in /dev/shm, then on 2 MiB pages; for a 4 KiB read target, the ratio "
                 "the copy out alone would reach, and the copy with fio's own cost per "
                 "request added (its null engine, section 4): no file system that "
                 "copies the data can pass the latter under fio; for a process target, "
                 "what the same process pays with an empty library preloaded in "
                 "libumfs.so's place (section 8): the part of the cost any LD_PRELOAD "
                 "library brings; for db_bench, the ratio tmpfs itself reaches with the "
                 "file calls of the timed phase taken out (section 9, tmpfs-bound): no "
                 "file system passes it.\n" % (huge_met, huge_judged))
    lines.append(tgt)
    lines.append("\n## Analysis\n")
    lines.append(BEGIN)
    lines.append(old_analysis(doc))
    lines.append(END + "\n")
    lines.append("\n## 1. fio, psync, one job, 4 KiB\n")
    lines.append("Sequential and random read of a file laid out afresh for each "
                 "repetition, random overwrite of it and a sequential read after the "
                 "overwrites (a strict UMFS overwrite swaps a new page in for the old "
                 "one: the file's pages end up out of order in the pool) are "
                 "time-based and measure the steady state: each runs as long untimed "
                 "first (fio `--ramp_time`), so that a process's first touch of each "
                 "page is left out; append writes a new file from empty (fio "
                 "`--fallocate=none`, capped at the runtime) and removes it, right after "
                 "an untimed append of the same size (section 10 says why). Latency is "
                 "fio's completion latency.\n")
    lines.append(section_fio(R))
    lines.append("\n## 2. Request size sweep (paper, figure 5)\n")
    lines.append(section_sweep(R))
    for p in ("sweep-read.png", "sweep-write.png"):
        if p in pngs:
            lines.append("\n![%s](%s/%s)\n" % (p[:-4], rel, p))
    lines.append("\n## 3. One and two jobs (paper, figure 6)\n")
    lines.append("fio processes, each on its own file. Under the shim, processes that "
                 "write one pool serialise on its pool lock (docs/shim.md, Limits).\n\n")
    lines.append(section_jobs(R))
    if "jobs.png" in pngs:
        lines.append("\n![jobs](%s/jobs.png)\n" % rel)
    lines.append("\n## 4. Per-call overhead\n")
    lines.append(section_overhead(R))
    lines.append("\n## 5. Open time against file size\n")
    lines.append(section_open(R))
    if "opentime.png" in pngs:
        lines.append("\n![opentime](%s/opentime.png)\n" % rel)
    lines.append("\n## 6. Metadata and small files\n")
    lines.append(section_meta(R))
    lines.append("\n")
    lines.append(section_small(R))
    lines.append("\npostmark: files of 500 B to 10 KB, `buffering false`, timed from "
                 "outside (its own clock counts whole seconds); dbench: one client, its "
                 "default NetBench load. Medians of the runs (umfs-fuse: one run).\n")
    lines.append("\n## 7. New processes: dd, cp, tar, find, git\n")
    lines.append("What a program pays that starts, moves its data and exits, as `dd`, "
                 "`cp`, `tar`, `find` and `git` do: the page faults of mapping a pool "
                 "in a new process are part of it. One system up at a time; the "
                 "host side of `cp` is a kernel tmpfs.\n")
    lines.append(section_fresh(R))
    lines.append("\n## 8. Process: what a new process pays\n")
    lines.append("`bench/process.sh`: the cost of carrying and joining UMFS in a short "
                 "process, pool in /dev/shm and on 2 MiB pages, against a bare process on "
                 "tmpfs; the new processes of section 7 with their CPU time; a shell loop "
                 "of small-file cats.\n")
    lines.append(section_process(R))
    lines.append("\n## 9. Applications\n")
    lines.append("`bench/apps.sh`: SQLite, RocksDB's db_bench and make on UMFS (pool in "
                 "/dev/shm and on 2 MiB pages) and tmpfs; git status, tar -x and find + "
                 "stat are section 7's.\n")
    lines.append(section_apps(R))
    lines.append("\n## 10. The floors of a write and a read\n")
    lines.append(section_floor(R))
    lines.append("\n## 11. The kernel fallback\n")
    lines.append("`bench/fallback.sh`: one file of one /dev/shm pool read and overwritten "
                 "by fio through the library and through the kernel fallback (umfs-run "
                 "`--fallback=on`, the library dropped from fio's environment, so every "
                 "call goes to the umfs-fuse mount at the prefix), against tmpfs, in "
                 "turn. This is what a program the library cannot serve gets.\n\n")
    lines.append(section_fallback(R))
    prof = section_profiles(R)
    if prof:
        lines.append("\n## Profiles of the UMFS runs\n")
        lines.append("`bench/profile.sh`: `perf record -F 2999` of the UMFS (strict, shim) "
                     "run of each workload that has a target, top 10 functions by self "
                     "time, then the top objects. perf slows the run; these say where the "
                     "time goes, not how much there is. `[vdso] __vdso_clock_gettime` is "
                     "mostly fio timing each request: it takes the same share on tmpfs. "
                     "libpmem's symbols are stripped (its flush and copy loops).\n")
        lines.append(prof)
    with open(doc, "w") as f:
        f.write("\n".join(lines))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("results")
    ap.add_argument("--doc", default="docs/performance.md")
    ap.add_argument("--plots", default="docs/perf")
    a = ap.parse_args()
    if not os.path.isdir(a.results):
        die("no results folder %s" % a.results)
    R = Results(a.results)
    if not R.systems and not R.fallback:
        die("no results in %s" % a.results)
    pngs = gnuplot(R, os.path.join(a.results, "plots"), a.plots)
    write_doc(R, a.doc, pngs, a.plots)
    print("report.py: wrote %s and %d plots in %s" % (a.doc, len(pngs), a.plots))


if __name__ == "__main__":
    main()
