#!/usr/bin/env bash
# smallfiles.sh - the space a tree of small files takes: a tree with the
# page-size distribution of a /usr/include (a quarter of Debian 12's: 2000
# files, half of them 2 to 17 pages; 210 directories, a few of them large),
# generated from a fixed seed on tmpfs, is copied into the pool with cp -r
# under the shim. Its du must be within 5% of tmpfs's, and the copy must
# hold the same bytes (diff -r). The same copy into a pool made with
# -O noinline (every file of 2 to 17 pages pays a table page) must be more
# than 10% over: the check can tell the layouts apart.
POOL_SIZE=96M
. "$(dirname "$0")/lib.sh"

src=$work/src
python3 - "$src" <<'EOF'
import os, random, sys

root = sys.argv[1]
rnd = random.Random(35)
# file sizes in pages -> count, a quarter of /usr/include's histogram
hist = {1: 925, 2: 310, 3: 175, 4: 113, 5: 75, 6: 91, 7: 39, 8: 51, 9: 28, 10: 41,
        11: 11, 12: 25, 13: 7, 14: 5, 15: 20, 16: 7, 17: 18}
sizes = [p for p, n in hist.items() for _ in range(n)]
sizes += [rnd.randint(18, 30) for _ in range(54)] + [rnd.randint(31, 150) for _ in range(12)]
rnd.shuffle(sizes)
dirs = [root]
for i in range(209):
    d = os.path.join(rnd.choice(dirs[:40] if i > 40 else dirs), "dir%03d" % i)
    dirs.append(d)
for d in dirs:
    os.makedirs(d, exist_ok=True)
big = dirs[1:4]  # three directories of 150 to 250 entries, as linux/ or bits/
for i, p in enumerate(sizes):
    d = big[i % 3] if i < 600 else rnd.choice(dirs)
    n = rnd.randint((p - 1) * 4096 + 1, p * 4096)
    with open(os.path.join(d, "header_%04d.h" % i), "wb") as f:
        f.write(rnd.randbytes(n))
open(os.path.join(root, "empty.h"), "wb").close()
EOF

if [ "$(stat -f -c %T "$work")" != tmpfs ]; then
	echo "skip: $work is not on tmpfs"
	exit 77
fi
tmpfs_pages=$(du -s -B4096 "$src" | cut -f1)

# pages of a cp -r of the tree into the pool $1; diff -r of the copy
copy_du() {
	UMFS_POOL=$1 shim cp -r "$src" /umfs/src
	UMFS_POOL=$1 shim diff -r "$src" /umfs/src >"$work/diff.out" 2>&1 &&
		echo same || { head -5 "$work/diff.out" >&2; echo differ; }
	UMFS_POOL=$1 shim du -s -B4096 /umfs/src | cut -f1
}

out=$(copy_du "$pool")
check "copy holds the same bytes" same "$(echo "$out" | head -1)"
pages=$(echo "$out" | tail -1)
echo "tmpfs $tmpfs_pages pages, UMFS $pages pages"
check "du within 5% of tmpfs" yes "$([ $((pages * 100)) -le $((tmpfs_pages * 105)) ] && echo yes ||
	echo "no: $pages pages against $tmpfs_pages")"

"$MKFS" -q -f -O noinline -s "$POOL_SIZE" "$work/pool2"
out=$(copy_du "$work/pool2")
pages2=$(echo "$out" | tail -1)
echo "without inline tables: $pages2 pages"
check "without inline tables: more than 10% over tmpfs" yes \
	"$([ $((pages2 * 100)) -gt $((tmpfs_pages * 110)) ] && echo yes || echo "no: $pages2 pages")"
"$FSCK" -n -f "$work/pool2" >/dev/null 2>&1 || { echo "FAIL fsck of the noinline pool"; failures=$((failures + 1)); }
finish
