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

SYSTEMS = ["umfs-strict", "umfs-relaxed", "umfs-fuse", "tmpfs", "ext4"]
REF = "tmpfs"
BEGIN = "<!-- ANALYSIS:BEGIN (hand-written; report.py keeps this section) -->"
END = "<!-- ANALYSIS:END -->"
FIO_WORKLOADS = [
    ("read", "4 KiB sequential read"),
    ("randread", "4 KiB random read"),
    ("append", "4 KiB append (new file)"),
    ("randwrite", "4 KiB random overwrite"),
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

    def all_csv(self):
        rows = []
        for sub in ("overhead/pread.csv", "meta/meta.csv", "smallfile/smallfile.csv"):
            rows += read_csv(os.path.join(self.res, sub))
        return rows

    def meta_ns(self, s, op):
        for r in self.meta:
            if r["system"] == s and r["op"] == op:
                return float(r["ns_per_op"])
        return None

    def small_val(self, s, tool):
        for r in self.small:
            if r["system"] == s and r["tool"] == tool:
                return float(r["value"])
        return None

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

    def row(label, vals, unit="", lower=False):
        ref = vals.get(REF)
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
    for op in ("create", "stat", "readdir", "unlink"):
        row("%s, per file" % op, {s: R.meta_ns(s, op) for s in syss
                                   if R.meta_ns(s, op) is not None}, " ns", True)
    row("postmark, whole run", {s: R.small_val(s, "postmark") for s in syss
                                 if R.small_val(s, "postmark") is not None}, " s", True)
    row("dbench, 1 client, MB/s", {s: R.small_val(s, "dbench") for s in syss
                                    if R.small_val(s, "dbench") is not None})
    return table(["measurement"] + syss, rows)


def targets(R):
    """(target, measured, ratio or figure, required, met) rows."""
    rows = []

    def add(name, value, need, ok, how):
        if value is None:
            rows.append([name, "not measured", need, "–"])
        else:
            rows.append([name, how, need, "**met**" if ok else "**missed**"])

    def fio_ratio(s, wl, ref, key="iops"):
        if (s, wl) in R.fio and (ref, wl) in R.fio:
            return R.fio[(s, wl)][key] / R.fio[(ref, wl)][key]
        return None

    for name, s, wl, ref, need in (
            ("4 KiB sequential read vs tmpfs", "umfs-strict", "read", "tmpfs", 1.8),
            ("4 KiB random read vs tmpfs", "umfs-strict", "randread", "tmpfs", 2.0),
            ("4 KiB append vs tmpfs", "umfs-strict", "append", "tmpfs", 2.5),
            ("4 KiB append vs ext4 on ramdisk", "umfs-strict", "append", "ext4", 7.0),
            ("4 KiB random overwrite vs tmpfs, strict", "umfs-strict", "randwrite", "tmpfs", 1.5),
            ("4 KiB random overwrite vs tmpfs, relaxed", "umfs-relaxed", "randwrite", "tmpfs", 2.5)):
        r = fio_ratio(s, wl, ref)
        best = fio_ratio(s, wl, ref, "max")
        how = rtxt(r)
        if best is not None and R.fio[(s, wl)]["reps"] > 1:
            how += " (best runs: %s)" % rtxt(best)
        add(name, r, "≥ %.1f×" % need, r is not None and r >= need, how)
    for pat, what in (("hot", "data in cache"), ("seq", "data from DRAM")):
        v = R.pread_ns("umfs-strict", "shim", pat)
        add("4 KiB pread minus 4 KiB memcpy, shim, %s" % what, v, "≤ 100 ns",
            v is not None and v <= 100, num(v, " ns"))
    uo, mm = R.open_rows("umfs-strict", "open"), R.open_rows("tmpfs", "mmap")
    if uo:
        flat = float(uo[-1]["median_ns"]) / float(uo[0]["median_ns"])
        add("open time, %s vs %s file" % (size_txt(uo[-1]["size"]), size_txt(uo[0]["size"])),
            flat, "≤ 2×", flat <= 2, "%.2f×" % flat)
    else:
        add("open time flat", None, "≤ 2×", False, "")
    if mm:
        grow = float(mm[-1]["median_ns"]) / float(mm[0]["median_ns"])
        add("mmap MAP_POPULATE on tmpfs grows with size (contrast)", grow, "> 2×",
            grow > 2, "%.0f×" % grow)
    for wl in ("randread", "randwrite"):
        a, b = R.jobs.get(("umfs-strict", wl, 1)), R.jobs.get(("umfs-strict", wl, 2))
        r = b["iops"] / a["iops"] if a and b else None
        add("2 jobs vs 1 job, 4 KiB %s" % wl, r, "≥ 1.8×", r is not None and r >= 1.8, rtxt(r))
    for op in ("create", "stat", "unlink"):
        r = ratio(R.meta_ns("umfs-strict", op), R.meta_ns("tmpfs", op), True)
        add("%s vs tmpfs" % op, r, "≥ 2.0×", r is not None and r >= 2.0, rtxt(r))
    met = sum(1 for r in rows if r[3] == "**met**")
    missed = sum(1 for r in rows if r[3] == "**missed**")
    return table(["target (UMFS through LD_PRELOAD, strict unless said)", "measured",
                  "required", "verdict"], rows), met, missed


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
    for op in ("create", "stat", "readdir", "unlink"):
        ref = R.meta_ns(REF, op)
        rows.append([op] + [cell(R.meta_ns(s, op), ref, " ns", True)
                            if R.meta_ns(s, op) is not None else "–" for s in R.systems])
    n = R.meta[0]["n"] if R.meta else "?"
    return table(["per file (× tmpfs speed)"] + R.systems, rows) + (
        "\n%s files in one directory; `create` is open(O_CREAT|O_EXCL) + close, "
        "`readdir` is per entry over whole-directory scans repeated for 0.2 s.\n" % n)


PROFILE_FOR = [
    ("append", "4 KiB append (targets: ≥ 2.5× tmpfs, ≥ 7× ext4)"),
    ("randwrite", "4 KiB random overwrite, strict (target ≥ 1.5× tmpfs)"),
    ("randwrite-relaxed", "4 KiB random overwrite, relaxed (target ≥ 2.5× tmpfs)"),
    ("jobs-randwrite", "2 fio processes overwriting their own files (target ≥ 1.8× one)"),
    ("meta", "create, stat, readdir, unlink of the metadata run (targets ≥ 2× tmpfs)"),
    ("open", "open + read of the last 4 KiB + close of a 4 KiB file"),
    ("pread-seq", "pread_overhead through the shim (target ≤ 100 ns over memcpy)"),
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
    tgt, met, missed = targets(R)
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
        "(`mkfs.umfs -O relaxed`), UMFS through `umfs-fuse`, tmpfs, and ext4 on a loop "
        "device backed by a file in /dev/shm (the paper's \"EXT4 on ramdisk\"). "
        "`make bench` (quick) or `make bench MODE=full` reproduces it; the scripts "
        "are in [bench/](../bench/).\n")
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
    lines.append("\n## Summary\n")
    lines.append("Each cell: the figure, then in brackets its speed relative to tmpfs "
                 "in this run. Medians over repetitions where the mode repeats.\n")
    lines.append(summary(R))
    lines.append("\n## Targets\n")
    lines.append("The bench's targets: %d met, %d missed in this run. The verdict goes by "
                 "the ratio of medians; for the fio rows the ratio of each system's best "
                 "run follows in brackets, as noise on a shared machine only ever slows a "
                 "run down.\n" % (met, missed))
    lines.append(tgt)
    lines.append("\n## Analysis\n")
    lines.append(BEGIN)
    lines.append(old_analysis(doc))
    lines.append(END + "\n")
    lines.append("\n## 1. fio, psync, one job, 4 KiB\n")
    lines.append("Sequential and random read of a laid-out file and random overwrite of "
                 "it are time-based; append writes a new file from empty (fio "
                 "`--fallocate=none`, capped at the runtime) and removes it. Latency is "
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
                 "default NetBench load.\n")
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
    if not R.systems:
        die("no results in %s" % a.results)
    pngs = gnuplot(R, os.path.join(a.results, "plots"), a.plots)
    write_doc(R, a.doc, pngs, a.plots)
    print("report.py: wrote %s and %d plots in %s" % (a.doc, len(pngs), a.plots))


if __name__ == "__main__":
    main()
