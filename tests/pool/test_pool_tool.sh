#!/bin/bash
# SPDX-License-Identifier: MIT
# test_pool_tool.sh BUILDDIR - umfs-pool against independent references:
# mkfs.umfs's own report (label, UUID), fsck.umfs's counts (inodes and
# pages in use), the pids of the programs that hold the pool, and the
# superblock's bytes (a refused change writes none). Then the two states
# a crash of a change can leave (new primary and old backup; a torn
# primary), each repaired by fsck.umfs. Exit 0 passed, 1 failed.
set -u
B=$1
MKFS=$B/mkfs/mkfs.umfs FSCK=$B/fsck/fsck.umfs RUN=$B/tools/umfs-run POOLT=$B/pool/umfs-pool
export PMEM_IS_PMEM_FORCE=1
unset LD_PRELOAD UMFS_POOL UMFS_MOUNT
D=$(mktemp -d /dev/shm/umfs-pooltool.XXXXXX)
P=$D/p.pool
HOLDER=
cleanup() { [ -n "$HOLDER" ] && kill "$HOLDER" 2>/dev/null; wait 2>/dev/null; "$(dirname "$0")"/forget_rundirs.sh "$D"; rm -rf "$D"; }
trap cleanup EXIT
failed=0
fail() { echo "FAIL: $*"; failed=1; }
json() { python3 -c "import json,sys; v=json.load(sys.stdin)$1; print(str(v).lower() if isinstance(v,bool) else v)"; }
field() { "$POOLT" info "$P" | sed -n "s/^$1 *//p"; }
on_pool() { "$RUN" --pool "$P" --mount /umfs -- "$@"; }

# what mkfs made, as mkfs says and as info says
uuid=$("$MKFS" -s 32M -L first "$P" | sed -n 's/^ *UUID *//p')
[ "$(field label)" = first ] || fail "label: '$(field label)', mkfs made 'first'"
[ "$(field UUID)" = "$uuid" ] || fail "UUID: '$(field UUID)', mkfs made '$uuid'"
[ "$(field state)" = clean ] || fail "a new pool is '$(field state)'"
case "$(field format)" in *" inline_table "*) ;; *) fail "features do not name inline_table: '$(field format)'" ;; esac
case "$(field format)" in *" level4_table "*) ;; *) fail "features do not name level4_table: '$(field format)'" ;; esac
out=$("$POOLT" info --json "$P") || fail "info --json"
[ "$(json "['uuid']" <<<"$out")" = "$uuid" ] || fail "--json uuid"
[ "$(json "['in_use']" <<<"$out")" = false ] || fail "--json in_use of an unused pool"

# counts against fsck's, after files are made
on_pool sh -c 'for i in 1 2 3; do head -c 20000 /dev/urandom >/umfs/f$i; done; mkdir /umfs/d' ||
	fail "writing the files"
sum=$(on_pool sh -c 'cat /umfs/f1 /umfs/f2 /umfs/f3' | md5sum)
read -r inodes pages < <("$FSCK" -n -f "$P" | sed -n 's/.*: \([0-9]*\)\/[0-9]* inodes used.* \([0-9]*\)\/[0-9]* pages used$/\1 \2/p')
out=$("$POOLT" info --json "$P")
[ "$(json "['inodes_used']" <<<"$out")" = "$inodes" ] ||
	fail "inodes in use: $(json "['inodes_used']" <<<"$out"), fsck counts $inodes"
[ "$(json "['data_pages_used']" <<<"$out")" = "$pages" ] ||
	fail "pages in use: $(json "['data_pages_used']" <<<"$out"), fsck counts $pages"

# in use: the holder is named, a change is refused and writes nothing
# (umfs-run execs sh, which keeps this pid and exits cleanly at a line);
# its forked child shares the holder's lock (/proc/locks names only the
# holder) and is named through its descriptors
mkfifo "$D/go" "$D/go2"
"$RUN" --pool "$P" --mount /umfs -- sh -c 'exec 3</umfs/f1; (read -r y <"$3") & echo $! >"$2"
	read -r x <"$1"; wait' sh "$D/go" "$D/child" "$D/go2" &
HOLDER=$!
for _ in $(seq 100); do [ "$(field state)" = "in use" ] && [ -s "$D/child" ] && break; sleep 0.05; done
out=$("$POOLT" info --json "$P")
[ "$(json "['in_use']" <<<"$out")" = true ] || fail "a held pool is not in use"
json "['users']" <<<"$out" | grep -q "'pid': $HOLDER," || fail "users $(json "['users']" <<<"$out") lack pid $HOLDER"
json "['users']" <<<"$out" | grep -q "'pid': $(cat "$D/child")," ||
	fail "users $(json "['users']" <<<"$out") lack the forked child $(cat "$D/child")"
head -c 4096 "$P" >"$D/sb.before"
"$POOLT" label "$P" second 2>"$D/err"
rc=$?
[ $rc = 3 ] || fail "label of a pool in use: exit $rc, not 3"
grep -q "pid $HOLDER" "$D/err" || fail "the refusal does not name pid $HOLDER: $(cat "$D/err")"
cmp -s "$D/sb.before" <(head -c 4096 "$P") || fail "a refused label change wrote the superblock"
echo >"$D/go2"; echo >"$D/go"; wait "$HOLDER" || fail "the holder"; HOLDER=

# label and UUID changes: shown, fsck clean, the files as they were; the
# old UUID's runtime directory, which the users left idle, goes with it
"$POOLT" label "$P" second >/dev/null || fail "label"
[ "$(field label)" = second ] || fail "label after the change: '$(field label)'"
old_hex=$(tr -d - <<<"$uuid")
old_dirs() { ls -d /dev/shm/umfs-"$old_hex"-* /tmp/umfs-"$old_hex"-* 2>/dev/null; }
[ -n "$(old_dirs)" ] || fail "no runtime directory of the first UUID after its users left"
"$POOLT" uuid "$P" >"$D/out" || fail "uuid random"
[ -z "$(old_dirs)" ] || fail "the old UUID's runtime directory outlived it: $(old_dirs)"
grep -q "removed /dev/shm/umfs-$old_hex-" "$D/out" ||
	fail "uuid did not say it removed the old runtime directory: $(cat "$D/out")"
new=$(field UUID)
[ "$new" != "$uuid" ] || fail "uuid random kept the UUID"
[[ $new =~ ^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$ ]] ||
	fail "random UUID $new is not a version 4 UUID"
"$POOLT" uuid "$P" 0123456789ABCDEF0123456789abcdef >/dev/null || fail "uuid given without dashes"
[ "$(field UUID)" = 01234567-89ab-cdef-0123-456789abcdef ] || fail "given UUID: $(field UUID)"
"$FSCK" -n -f "$P" >"$D/fsck" || { cat "$D/fsck"; fail "fsck after the changes"; }
[ "$(on_pool sh -c 'cat /umfs/f1 /umfs/f2 /umfs/f3' | md5sum)" = "$sum" ] ||
	fail "the files changed with the label and UUID"
"$POOLT" label "$P" "" >/dev/null && [ "$(field label)" = "(none)" ] || fail "clearing the label"

# refusals: bad input, a dirty pool, a damaged superblock, another user
"$POOLT" label "$P" "$(printf 'x%.0s' $(seq 64))" 2>/dev/null; [ $? = 2 ] || fail "a 64-byte label"
"$POOLT" uuid "$P" 0123 2>/dev/null; [ $? = 2 ] || fail "a short UUID"
head -c 65536 /dev/urandom >"$D/random"
"$POOLT" info "$D/random" 2>"$D/err"; [ $? = 1 ] && grep -q "not a UMFS pool" "$D/err" ||
	fail "info of random bytes: $(cat "$D/err")"
on_pool sh -c 'echo x >/umfs/g; kill -9 $$' 2>/dev/null
"$POOLT" label "$P" third 2>"$D/err"; [ $? = 1 ] && grep -q fsck.umfs "$D/err" ||
	fail "label of a pool left dirty: $(cat "$D/err")"
"$FSCK" -y "$P" >/dev/null; [ $? -le 1 ] || fail "fsck -y of the dirty pool"
[ "$(field state)" = clean ] || fail "after fsck -y: $(field state)"
chmod 600 "$P"
if [ "$(id -u)" = 0 ]; then
	setpriv --reuid=65534 --regid=65534 --clear-groups "$POOLT" info "$P" 2>"$D/err"
	[ $? = 1 ] && grep -q "Permission denied" "$D/err" || fail "another user's info: $(cat "$D/err")"
fi

# the states an interrupted change leaves: fsck.umfs restores both copies
sb_backup=$(( $(stat -c %s "$P") - 4096 ))
dd if="$P" of="$D/backup.old" bs=4096 skip=$((sb_backup / 4096)) count=1 status=none
"$POOLT" label "$P" fourth >/dev/null || fail "label fourth"
dd if="$D/backup.old" of="$P" bs=4096 seek=$((sb_backup / 4096)) conv=notrunc status=none
[ "$(field backup)" != "matches the superblock" ] || fail "an old backup reads as matching"
"$FSCK" -y "$P" >/dev/null; [ $? -le 1 ] || fail "fsck -y: new primary, old backup"
[ "$(field label)" = fourth ] && [ "$(field backup)" = "matches the superblock" ] ||
	fail "after fsck -y: label '$(field label)', backup '$(field backup)'"
printf 'torn' | dd of="$P" bs=1 seek=40 conv=notrunc status=none # inside the label
"$POOLT" info "$P" 2>"$D/err"; [ $? = 1 ] && grep -q "checksum" "$D/err" ||
	fail "info of a torn superblock: $(cat "$D/err")"
"$FSCK" -y "$P" >/dev/null; [ $? -le 1 ] || fail "fsck -y: torn primary"
[ "$(field label)" = fourth ] || fail "after a torn primary: label '$(field label)'"
[ "$(on_pool sh -c 'cat /umfs/f1 /umfs/f2 /umfs/f3' | md5sum)" = "$sum" ] || fail "the files after the repairs"

[ $failed = 0 ] && echo PASS
exit $failed
