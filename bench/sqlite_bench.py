#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""sqlite_bench.py - SQLite through python3's sqlite3 module, the way an
application commits: WAL, synchronous=FULL, one row per transaction.

    sqlite_bench.py DB N

Makes DB (which must not exist), commits N single-row inserts, each its own
transaction, then runs N point selects by key (random keys, one query each),
and prints, one per line, "commits,PER_SECOND" and "selects,PER_SECOND".
Both phases are timed inside the process (start-up is not counted) and
checked: the row count, and every select finding its row.
"""
import os
import random
import sqlite3
import sys
import time


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: sqlite_bench.py DB N")
    path, n = sys.argv[1], int(sys.argv[2])
    if os.path.exists(path):
        sys.exit("sqlite_bench.py: %s exists" % path)
    db = sqlite3.connect(path, isolation_level=None)
    if db.execute("PRAGMA journal_mode=WAL").fetchone()[0].lower() != "wal":
        sys.exit("sqlite_bench.py: WAL refused")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE kv (k INTEGER PRIMARY KEY, v TEXT NOT NULL)")
    value = "v" * 100
    t0 = time.perf_counter()
    for k in range(n):
        db.execute("BEGIN")
        db.execute("INSERT INTO kv VALUES (?, ?)", (k, value))
        db.execute("COMMIT")
    t1 = time.perf_counter()
    if db.execute("SELECT count(*) FROM kv").fetchone()[0] != n:
        sys.exit("sqlite_bench.py: wrong row count")
    keys = [random.randrange(n) for _ in range(n)]
    t2 = time.perf_counter()
    for k in keys:
        row = db.execute("SELECT v FROM kv WHERE k = ?", (k,)).fetchone()
        if row is None or row[0] != value:
            sys.exit("sqlite_bench.py: key %d not found" % k)
    t3 = time.perf_counter()
    db.close()
    print("commits,%.1f" % (n / (t1 - t0)))
    print("selects,%.1f" % (n / (t3 - t2)))


if __name__ == "__main__":
    main()
