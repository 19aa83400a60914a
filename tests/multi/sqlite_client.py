# SPDX-License-Identifier: MIT
# sqlite_client.py - one client of multi-sqlite, run under the library:
#   sqlite_client.py write DB CLIENT TXNS ROWS ACKFILE BARRIER_DIR NCLIENTS
#       waits until every client is ready, then TXNS transactions of ROWS
#       inserts each; after each COMMIT returned, appends its number to
#       ACKFILE (outside UMFS); between transactions it checks that its own
#       rows and every transaction the others acknowledged are visible
#   sqlite_client.py check DB ACKDIR
#       integrity_check, then the rows against the acknowledged transactions
import hashlib, os, random, sqlite3, sys, time

def payload(client, txn, row):
    return hashlib.sha256(f"{client}/{txn}/{row}".encode()).hexdigest()

def write(db, client, txns, rows, ackfile, barrier, nclients):
    client, txns, rows, nclients = int(client), int(txns), int(rows), int(nclients)
    open(os.path.join(barrier, f"ready.{client}"), "w").close()
    deadline = time.time() + 60
    while len(os.listdir(barrier)) < nclients:
        if time.time() > deadline:
            sys.exit("barrier: the other clients never came")
        time.sleep(0.01)
    con = sqlite3.connect(db, timeout=60, isolation_level=None)
    con.execute("PRAGMA busy_timeout = 60000")
    ack = os.open(ackfile, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    acks = os.path.dirname(ackfile)
    rnd = random.Random(client)
    bad = 0
    for t in range(txns):
        con.execute("BEGIN IMMEDIATE")
        for r in range(rows):
            con.execute("INSERT INTO t(client, txn, row, payload) VALUES (?, ?, ?, ?)",
                        (client, t, r, payload(client, t, r)))
        con.execute("COMMIT")
        os.write(ack, f"{t}\n".encode())
        # what the others acknowledged before this read began must be there
        seen = {}
        for name in os.listdir(acks):
            with open(os.path.join(acks, name)) as f:
                seen[int(name.split(".")[1])] = sum(1 for _ in f)
        for c, n in seen.items():
            have = con.execute("SELECT count(*) FROM t WHERE client = ?", (c,)).fetchone()[0]
            if have < n * rows and bad < 5:
                print(f"FAIL client {client}: client {c} acknowledged {n} transactions, "
                      f"{have // rows} visible")
                bad += 1
        time.sleep(rnd.random() * 0.003)  # let the other client in
    con.close()
    sys.exit(1 if bad else 0)

def check(db, ackdir):
    con = sqlite3.connect(db, timeout=60)
    ok = con.execute("PRAGMA integrity_check").fetchall()
    bad = 0
    if ok != [("ok",)]:
        print(f"FAIL integrity_check: {ok[:5]}")
        bad += 1
    got = {}
    for client, txn, row, pl in con.execute("SELECT client, txn, row, payload FROM t"):
        got[(client, txn, row)] = pl
    rows = con.execute("SELECT value FROM meta WHERE key = 'rows'").fetchone()[0]
    want = set()
    for name in sorted(os.listdir(ackdir)):
        client = int(name.split(".")[1])
        with open(os.path.join(ackdir, name)) as f:
            for line in f:
                for r in range(rows):
                    want.add((client, int(line), r))
    missing = sorted(want - got.keys())
    extra = sorted(got.keys() - want)
    wrong = [k for k in want & got.keys() if got[k] != payload(*k)]
    for what, keys in (("committed rows missing", missing), ("rows never acknowledged", extra),
                       ("rows with a wrong payload", wrong)):
        if keys:
            print(f"FAIL {len(keys)} {what}, e.g. {keys[:5]}")
            bad += 1
    order = [c for (c,) in con.execute("SELECT client FROM t ORDER BY rowid")]
    switches = sum(1 for a, b in zip(order, order[1:]) if a != b)
    digest = hashlib.sha256(repr(sorted(got.items())).encode()).hexdigest()[:16]
    print(f"rows {len(got)} (acknowledged {len(want)}), client switches {switches}, sha {digest}")
    if switches < 2:
        print("FAIL the clients did not interleave: not a concurrent run")
        bad += 1
    sys.exit(1 if bad else 0)

if __name__ == "__main__":
    {"write": write, "check": check}[sys.argv[1]](*sys.argv[2:])
