#!/bin/bash
# SPDX-License-Identifier: MIT
# test_fsck_cli.sh - fsck.umfs's command line (TAP): usage and operational
# errors, exit codes, -n leaving the pool untouched, -y then -n clean, -p.
# Crash state from killed processes: test_fsck_crash.sh.
#   test_fsck_cli.sh FSCK MKFS
set -u

fsck=$1
mkfs=$2
dir=${UMFS_TEST_DIR:-/dev/shm}
pool=$dir/umfs-fsck-cli-$$.pool
out=$(mktemp)
n=0
failed=0
trap 'rm -f "$pool" "$pool.copy" "$out"' EXIT

ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=1; echo "not ok $n - $1"; sed 's/^/# /' "$out"; }

# expect CODE DESCRIPTION [GREP] -- ARGS...
expect() {
	local code=$1 desc=$2 pattern=$3
	shift 4
	"$fsck" "$@" >"$out" 2>&1
	local got=$?
	if [ "$got" -ne "$code" ]; then
		echo "# exit $got, want $code" >>"$out"
		not_ok "$desc"
	elif [ -n "$pattern" ] && ! grep -q -- "$pattern" "$out"; then
		echo "# no \"$pattern\" in the output" >>"$out"
		not_ok "$desc"
	else
		ok "$desc"
	fi
}

echo "1..25"
expect 16 "no pool: usage error" "no POOL given" --
expect 16 "unknown option: usage error" "unknown option '-x'" -- -x "$pool"
expect 16 "-n with -y: usage error" "only one of" -- -n -y "$pool"
expect 8 "missing pool: operational error" "cannot map" -- -n "$dir/no-such-pool-$$"
expect 0 "-h prints usage" "Usage:" -- -h
# not a pool at all: an operational error naming what it is, never "damage"
expect 8 "a directory is no pool" "is a directory, not a UMFS pool" -- -n "$dir"
: >"$pool"
expect 8 "an empty file is no pool" "is an empty file, not a UMFS pool" -- -n "$pool"
head -c 1048576 /dev/urandom >"$pool"
cp "$pool" "$pool.copy"
expect 8 "random bytes are no pool" "not a UMFS pool" -- -n "$pool"
expect 8 "-y refuses to repair what is no pool" "not a UMFS pool" -- -y "$pool"
if cmp -s "$pool" "$pool.copy"; then ok "-y left the non-pool as it was"; else not_ok "-y left the non-pool as it was"; fi
rm -f "$pool" "$pool.copy"

"$mkfs" -q -s 8M "$pool" >/dev/null 2>&1 || "$mkfs" -s 8M "$pool" >/dev/null
expect 0 "fresh pool is clean" "clean" -- -n "$pool"
expect 0 "no mode option: checks only and says so" "checking only" -- "$pool"
expect 0 "-f -v: a line per step" "step 12: mark clean: ok" -- -n -f -v "$pool"

# -C FD: progress lines on FD that parse, rise and reach 100%; stdout as
# without -C; a descriptor not open for writing is a usage error
progress=$(mktemp)
"$fsck" -n -f "$pool" >"$out.plain" 2>&1
"$fsck" -n -f -C 3 "$pool" 3>"$progress" >"$out" 2>&1
if awk 'BEGIN { last = -1 }
	!/^[0-9]+\/[0-9]+ [0-9.]+% ./ { exit 1 }
	{ split($1, f, "/"); p = $2 + 0; if (p < last || f[1] > f[2]) exit 1; last = p }
	END { exit !(NR >= 2 && last == 100) }' "$progress"; then
	ok "-C 3: progress lines parse, rise and reach 100%"
else
	cat "$progress" >>"$out"; not_ok "-C 3: progress lines parse, rise and reach 100%"
fi
if cmp -s "$out" "$out.plain"; then ok "-C 3: nothing more on stdout"; else not_ok "-C 3: nothing more on stdout"; fi
"$fsck" -n -C 3 "$pool" 3>"$progress" >/dev/null 2>&1
if [ "$(tail -n 1 "$progress")" = "12/12 100.0% done" ]; then
	ok "-C 3 on a clean pool: ends at 100% without a full check"
else
	cat "$progress" >"$out"; not_ok "-C 3 on a clean pool: ends at 100% without a full check"
fi
rm -f "$progress" "$out.plain"
expect 16 "-C on a descriptor not open for writing" "not open for writing" -- -n -C 9 "$pool"

# Damage the primary superblock's checksum: a byte of it inverted (a set
# value would be no damage where the byte already holds it).
flip_byte() { # FILE OFFSET
	local b
	b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
	printf "\\$(printf '%03o' $((b ^ 255)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
flip_byte "$pool" 380
cp "$pool" "$pool.copy"
expect 4 "-n reports the damaged superblock" "^damage: primary superblock: .*would be restored from the backup" -- -n "$pool"
if cmp -s "$pool" "$pool.copy"; then ok "-n did not write the pool"; else not_ok "-n did not write the pool"; fi
expect 1 "-y repairs it" "restored from the backup" -- -y "$pool"
expect 0 "-n -f afterwards is clean" "clean" -- -n -f "$pool"

flip_byte "$pool" 380
expect 1 "-p repairs with a one-line summary" "errors corrected, " -- -p "$pool"
expect 0 "-p on a clean pool" "clean, " -- -p "$pool"

# A pool in use (another process holds its lock) is not repaired.
flock -F -s "$pool" sleep 3 &
locker=$!
sleep 0.5
expect 8 "-y refuses a pool in use" "in use" -- -y "$pool"
kill "$locker" 2>/dev/null
wait "$locker" 2>/dev/null

# Neither superblock valid: errors left uncorrected.
printf 'XXXXXXXX' | dd of="$pool" bs=1 seek=0 conv=notrunc status=none
size=$(stat -c %s "$pool")
printf 'XXXXXXXX' | dd of="$pool" bs=1 seek=$((size - 4096)) conv=notrunc status=none
expect 4 "no valid superblock: exit 4" "no valid superblock" -- -y "$pool"
exit $failed
