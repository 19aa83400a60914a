#!/bin/bash
# SPDX-License-Identifier: MIT
# test_parallel.sh BUILD_ROOT - the daemon serves many requests at once:
# four workers copy, archive, compare, move and remove trees side by side
# (moving results into each other's directories), a fifth keeps hard links
# and appends going, while a lister walks the whole mount. Every worker must
# finish without an error, and fsck.umfs must find the pool clean.
set -u
. "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)

uf_require_fuse
pool=$UF_TMP/pool
mnt=$UF_TMP/mnt
src=$(cd "$here/../.." && pwd)/libumfs
uf_mkfs "$pool" 1G
uf_mount "$pool" "$mnt"
pid=$UF_PID
mkdir "$mnt"/w{1,2,3,4}

worker() {
	local j=$1 k
	cd "$mnt/w$j" || return 1
	for k in 1 2 3 4 5; do
		cp -a "$src" "c$k" &&
		tar cf - "c$k" | tar xf - --transform "s/^c$k/t$k/" &&
		diff -r "c$k" "t$k" &&
		mv "t$k" "m$k" &&
		rm -r "c$k" &&
		mv "m$k" "$mnt/w$((j % 4 + 1))/from$j-$k" || return 1
	done
}

linker() {
	local i
	cd "$mnt" || return 1
	mkdir links
	for i in $(seq 300); do
		echo "$i" >>links/a &&
		ln links/a "links/b$i" &&
		[ "$(stat -c %h links/a)" = 2 ] &&
		[ "$(stat -c %s "links/b$i")" = "$(stat -c %s links/a)" ] &&
		rm "links/b$i" || { echo "linker: step $i"; return 1; }
	done
	[ "$(wc -l <links/a)" = 300 ]
}

pids=()
for j in 1 2 3 4; do
	worker "$j" >"$UF_TMP/w$j.out" 2>&1 &
	pids+=($!)
done
linker >"$UF_TMP/linker.out" 2>&1 &
pids+=($!)
(while ! [ -e "$UF_TMP/stop" ]; do ls -lR "$mnt" >/dev/null 2>&1; done) &
lister=$!
failed=0
for p in "${pids[@]}"; do
	wait "$p" || failed=1
done
touch "$UF_TMP/stop"
wait "$lister"
if [ "$failed" = 1 ]; then
	for f in "$UF_TMP"/w?.out "$UF_TMP/linker.out"; do sed "s|^|# $(basename "$f"): |" "$f"; done
	uf_fail "a worker failed"
fi
files=$(find "$mnt" -type f | wc -l)
want=$((4 * 5 * $(find "$src" -type f | wc -l) + 1))
[ "$files" = "$want" ] || uf_fail "$files files on the mount, want $want"
uf_log "$files files after the parallel run"
uf_umount "$mnt" "$pid"
uf_fsck_clean "$pool"
echo "PASS"
