#!/usr/bin/env bash
# test_mkfs.sh - behaviour of mkfs.umfs, reported as TAP.
#
#   test_mkfs.sh MKFS_UMFS [FSCK_UMFS]
#
# Every case runs mkfs.umfs on files in a scratch directory on /dev/shm (or
# $TMPDIR) and checks its exit status, its message and what it left behind.
set -uo pipefail

mkfs_bin=${1:?usage: test_mkfs.sh MKFS_UMFS [FSCK_UMFS]}
fsck_bin=${2:-}
export PMEM_IS_PMEM_FORCE=1

base=/dev/shm
[ -d "$base" ] && [ -w "$base" ] || base=${TMPDIR:-/tmp}
dir=$(mktemp -d "$base/umfs-mkfs-test.XXXXXX") || exit 1
trap 'rm -rf "$dir"' EXIT

n=0
failed=0
out=$dir/out
err=$dir/err

ok() {
	n=$((n + 1))
	echo "ok $n - $1"
}

not_ok() {
	n=$((n + 1))
	failed=$((failed + 1))
	echo "not ok $n - $1"
	shift
	for line in "$@"; do
		echo "# $line"
	done
	echo "# stdout:"; sed 's/^/#   /' "$out"
	echo "# stderr:"; sed 's/^/#   /' "$err"
}

skip() {
	n=$((n + 1))
	echo "ok $n - $1 # SKIP $2"
}

# run ARGS...: runs mkfs.umfs, keeps stdout/stderr in $out/$err, status in $rc
run() {
	"$mkfs_bin" "$@" >"$out" 2>"$err" </dev/null
	rc=$?
}

# expect_ok NAME: the last run succeeded and said nothing on stderr
expect_ok() {
	if [ "$rc" -eq 0 ] && [ ! -s "$err" ]; then
		ok "$1"
	else
		not_ok "$1" "exit status $rc, expected 0 and a quiet stderr"
	fi
}

# expect_fail NAME PATTERN: the last run exited 1 with PATTERN (grep -E) on stderr
expect_fail() {
	if [ "$rc" -eq 1 ] && grep -qE -- "$2" "$err"; then
		ok "$1"
	else
		not_ok "$1" "exit status $rc, expected 1 with stderr matching: $2"
	fi
}

# check NAME CMD...: a plain assertion
check() {
	local name=$1
	shift
	if "$@"; then
		ok "$name"
	else
		not_ok "$name" "failed: $*"
	fi
}

size_of() {
	stat -c %s "$1" 2>/dev/null || echo -1
}

uuid_of() {
	sed -n 's/^ *UUID *//p' "$1"
}

# --- creating a pool -------------------------------------------------------

pool=$dir/pool
run -s 16M -L tests "$pool"
expect_ok "creates a 16 MiB pool with -s"
check "the pool file is 16 MiB" test "$(size_of "$pool")" -eq $((16 << 20))
check "the summary names size, inodes, data pages, journal, UUID and label" \
	grep -q "16 MiB" "$out"
for field in inodes "data pages" journal UUID "label *'tests'"; do
	check "the summary has '$field'" grep -qE "^ *$field" "$out"
done
uuid1=$(uuid_of "$out")
check "the UUID looks like one" \
	bash -c "[[ '$uuid1' =~ ^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$ ]]"
check "the superblock magic is at offset 0" \
	bash -c "[ \"\$(head -c 8 '$pool' 2>/dev/null)\" = UMFSPOOL ]"
check "the backup superblock is in the last page" \
	bash -c "[ \"\$(tail -c 4096 '$pool' | head -c 8)\" = UMFSPOOL ]"

# --- refusing to overwrite -----------------------------------------------------

run "$pool"
expect_fail "refuses a second mkfs without -f" \
	"$pool already contains a UMFS pool \(label 'tests'\); use -f to overwrite"
run -s 32M "$pool"
expect_fail "refuses with -s too, and leaves the size alone" "use -f to overwrite"
check "the refused pool kept its size" test "$(size_of "$pool")" -eq $((16 << 20))

run -f -q "$pool"
expect_ok "-f overwrites an existing pool"
check "-q prints nothing" test ! -s "$out"
run -f "$pool"
uuid2=$(uuid_of "$out")
check "the new pool has a new UUID" test -n "$uuid2" -a "$uuid2" != "$uuid1"

# primary superblock gone: the backup in the last page still counts
dd if=/dev/zero of="$pool" bs=4096 count=1 conv=notrunc status=none
run "$pool"
expect_fail "refuses a pool whose only superblock left is the backup" \
	"UMFS backup superblock.*use -f to overwrite"
run -f -q "$pool"
expect_ok "-f formats over a pool with a damaged primary superblock"

# --- other file systems and partition tables ---------------------------------

if command -v mkfs.ext4 >/dev/null 2>&1; then
	ext=$dir/ext4.img
	truncate -s 16M "$ext"
	mkfs.ext4 -F -q -L extlabel "$ext" >/dev/null 2>&1
	run "$ext"
	expect_fail "refuses a file holding ext4 and names it" \
		"$ext contains an ext4 file system \(label 'extlabel'\); use -f to overwrite"
	run -f -q "$ext"
	expect_ok "-f formats over ext4"
	if command -v blkid >/dev/null 2>&1; then
		blkid -p "$ext" >/dev/null 2>&1
		check "no ext4 signature is left after -f" test $? -eq 2
	fi
	run "$ext"
	expect_fail "the former ext4 image is now a UMFS pool" "already contains a UMFS pool"
else
	skip "refuses a file holding ext4" "mkfs.ext4 not installed"
fi

# an MBR partition table: boot signature and one partition entry of type 0x83
mbr=$dir/mbr.img
truncate -s 16M "$mbr"
printf '\x80\x00\x02\x00\x83\x00\x00\x00\x01\x00\x00\x00\xff\x7f\x00\x00' |
	dd of="$mbr" bs=1 seek=446 conv=notrunc status=none
printf '\x55\xaa' | dd of="$mbr" bs=1 seek=510 conv=notrunc status=none
run "$mbr"
expect_fail "refuses a file holding a partition table" "partition table; use -f to overwrite"

# a swap area made over an old pool: what is there now is named, not the old backup
if command -v mkswap >/dev/null 2>&1; then
	swp=$dir/swap.img
	"$mkfs_bin" -q -s 16M "$swp" >/dev/null 2>&1
	mkswap -q "$swp" >/dev/null 2>&1
	run "$swp"
	expect_fail "names a swap area made over an old pool" "$swp contains a swap area; use -f"
else
	skip "names a swap area made over an old pool" "mkswap not installed"
fi

# --- files that hold data -------------------------------------------------------

# refuse_data NAME FILE KIND: mkfs without -f refuses FILE, naming it, its
# size and KIND, and leaves every byte of it alone
refuse_data() {
	local name=$1 file=$2 kind=$3 sum
	sum=$(sha256sum <"$file")
	run -s 16M "$file"
	expect_fail "refuses $name" \
		"^mkfs.umfs: $file is a file of .* that holds data \($kind\).*use -f to overwrite"
	check "$name kept its bytes" test "$(sha256sum <"$file")" = "$sum"
}

printf 'notes\nmore notes\n' >"$dir/notes.txt"
refuse_data "a text file" "$dir/notes.txt" "text"
check "the text file's size is named" grep -q "a file of 17 bytes" "$err"
if command -v sqlite3 >/dev/null 2>&1; then
	sqlite3 "$dir/data.db" 'create table t(x); insert into t values (1);'
elif command -v python3 >/dev/null 2>&1; then
	python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('create table t(x)'); c.commit()" "$dir/data.db"
fi
if [ -s "$dir/data.db" ]; then
	refuse_data "a SQLite database" "$dir/data.db" "a SQLite database"
else
	skip "refuses a SQLite database" "neither sqlite3 nor python3's sqlite3"
fi
tar -cf "$dir/files.tar" -C "$dir" notes.txt
refuse_data "a tar archive" "$dir/files.tar" "a tar archive"
head -c $((1 << 20)) /dev/urandom >"$dir/random.bin"
refuse_data "a file of random bytes" "$dir/random.bin" "data of an unknown kind"
# a large sparse file is sampled: data in its last MiB is found
truncate -s 100M "$dir/sparse-data"
printf 'x' | dd of="$dir/sparse-data" bs=1 seek=$(((99 << 20) + 5)) conv=notrunc status=none
refuse_data "a 100 MiB sparse file with one byte of data near its end" "$dir/sparse-data" \
	"data of an unknown kind, from offset $(((99 << 20) + 5))"
run -f -q -s 16M "$dir/notes.txt"
expect_ok "-f formats over a text file"
truncate -s 100M "$dir/sparse-zero"
run -q "$dir/sparse-zero"
expect_ok "formats a 100 MiB all-zero sparse file"
: >"$dir/empty-s"
run -q -s 16M "$dir/empty-s"
expect_ok "formats an empty file given -s"

# --- what POOL is --------------------------------------------------------------

run "$dir/missing"
expect_fail "a missing POOL needs -s" "$dir/missing does not exist; give -s SIZE to create it"
check "nothing was created" test ! -e "$dir/missing"

grow=$dir/grow
truncate -s 8M "$grow"
run -s 20M "$grow"
expect_ok "formats an existing zero-filled file, growing it to -s"
check "the file grew to 20 MiB" test "$(size_of "$grow")" -eq $((20 << 20))

shrink=$dir/shrink
truncate -s 40M "$shrink"
run -s 24M "$shrink"
expect_ok "formats an existing file, shrinking it to -s"
check "the file shrank to 24 MiB" test "$(size_of "$shrink")" -eq $((24 << 20))

keep=$dir/keep
truncate -s 12M "$keep"
run "$keep"
expect_ok "formats an existing file at its own size without -s"
check "the file kept its size" test "$(size_of "$keep")" -eq $((12 << 20))

small=$dir/small
truncate -s 1M "$small"
run "$small"
expect_fail "an existing file below the minimum is refused with a hint" \
	"$small: size 1 MiB is below the minimum pool size of 8 MiB; give -s SIZE to grow it"

empty=$dir/empty
: >"$empty"
run "$empty"
expect_fail "an empty file needs -s" "$empty is empty; give -s SIZE"

run -s 16M "$dir"
expect_fail "a directory is refused" "is not a regular file or a persistent-memory device"

run -s 16M "$dir/no/such/dir/pool"
expect_fail "an impossible path names the cause" "No such file or directory"

# --- argument checks -------------------------------------------------------------

run -s 1M "$dir/tiny"
expect_fail "a size below 8 MiB is refused" "below the minimum pool size of 8 MiB"
check "the refused pool was not created" test ! -e "$dir/tiny"
for bad in abc 16X 16MB -5 "" 0 1.5G; do
	run -s "$bad" "$dir/bad"
	expect_fail "size '$bad' is refused" "invalid size '$bad'"
done
run -s 99999999T "$dir/bad"
expect_fail "an overflowing size is refused" "size '99999999T' is too large"
run -s 8388609 "$dir/bad"
expect_fail "a size that is not a page multiple is refused" "not a multiple of the 4096-byte page size"
check "no file was left by the refused sizes" test ! -e "$dir/bad"

run -s 16384K "$dir/kib"
expect_ok "K suffix: 16384K"
check "16384K is 16 MiB" test "$(size_of "$dir/kib")" -eq $((16 << 20))
run -s 16777216 "$dir/bytes"
expect_ok "plain bytes: 16777216"
run -s 1g "$dir/gib"
expect_ok "lower-case g suffix: 1g"
check "1g is 1 GiB" test "$(size_of "$dir/gib")" -eq $((1 << 30))
rm -f "$dir/gib"

label63=$(printf 'L%.0s' $(seq 63))
label64=${label63}L
run -s 16M -L "$label63" "$dir/label63"
expect_ok "a 63-byte label is accepted"
run -s 16M -L "$label64" "$dir/label64"
expect_fail "a 64-byte label is refused" "label '$label64' is 64 bytes long; the limit is 63 bytes"

run -s 16M -N 1000 "$dir/inodes"
expect_ok "-N 1000 is accepted"
check "the pool has at least 1000 inodes" \
	bash -c "[ \"\$(sed -n 's/^ *inodes *\([0-9]*\).*/\1/p' '$out')\" -ge 1000 ]"
run -s 100T "$dir/huge"
expect_fail "a size past the default inode limit names -N" \
	"cannot lay out a pool of 100 TiB with the default of one inode per 16 KiB: more than 2\\^32 inodes; give -N COUNT"
check "the refused pool was not created" test ! -e "$dir/huge"
run -s 16M -N 10000000 "$dir/toomany"
expect_fail "too many inodes for the size is refused" "too many inodes"
check "the refused pool was not created" test ! -e "$dir/toomany"
for bad in 0 abc -3 12x; do
	run -s 16M -N "$bad" "$dir/bad"
	expect_fail "inode count '$bad' is refused" "invalid inode count '$bad'"
done

run -x "$dir/bad"
expect_fail "an unknown option is refused" "unknown option '-x'"
run -s
expect_fail "an option without its argument is refused" "option '-s' needs an argument"
run
expect_fail "no POOL is refused" "no POOL given"
run -s 16M "$dir/a" "$dir/b"
expect_fail "a second POOL is refused" "unexpected argument '$dir/b'"
check "no file was made by the refused arguments" test ! -e "$dir/a" -a ! -e "$dir/bad"

# --- mkfs -t umfs -------------------------------------------------------------

if command -v mkfs >/dev/null 2>&1; then
	# mkfs(8) runs "mkfs.umfs" from PATH: offer the binary under that name
	mkdir -p "$dir/bin"
	ln -sf "$(realpath "$mkfs_bin")" "$dir/bin/mkfs.umfs"
	PATH=$dir/bin:$PATH mkfs -t umfs -s 16M -L viamkfs "$dir/viamkfs" \
		>"$out" 2>"$err" </dev/null
	rc=$?
	expect_ok "mkfs -t umfs finds mkfs.umfs in PATH"
	check "mkfs -t umfs made a pool" \
		bash -c "[ \"\$(head -c 8 '$dir/viamkfs' 2>/dev/null)\" = UMFSPOOL ]"
else
	skip "mkfs -t umfs" "mkfs(8) not installed"
fi

# --- which pages the pool gets ---------------------------------------------------

# a tmpfs of 4 KiB pages and one mounted huge=always, side by side
small=$(mktemp -d /tmp/umfs-mkfs-small.XXXXXX)
huge=$(mktemp -d /tmp/umfs-mkfs-huge.XXXXXX)
if mount -t tmpfs -o size=64M none "$small" 2>/dev/null &&
   mount -t tmpfs -o size=64M,huge=always none "$huge" 2>/dev/null; then
	run -s 16M "$small/p"
	if [ "$rc" -eq 0 ] && grep -q "pages       4 KiB: a new process takes a page fault" "$out"; then
		ok "a pool on 4 KiB tmpfs pages is said to cost a fault per 4 KiB"
	else
		not_ok "a pool on 4 KiB tmpfs pages is said to cost a fault per 4 KiB"
	fi
	run -s 16M "$huge/p"
	if [ "$rc" -eq 0 ] && grep -qx "  pages       2 MiB" "$out"; then
		ok "a pool on a huge=always tmpfs is said to have 2 MiB pages"
	else
		not_ok "a pool on a huge=always tmpfs is said to have 2 MiB pages"
	fi
else
	skip "4 KiB pages are named" "cannot mount a tmpfs (not root?)"
	skip "2 MiB pages are named" "cannot mount a tmpfs (not root?)"
fi
umount "$small" "$huge" 2>/dev/null
rmdir "$small" "$huge"

# --- the name, and a pool in use ------------------------------------------------

# A symlink is followed only where no other user can have made or changed
# it: ours, in a directory of ours that others cannot write.
: >"$dir/linked"
ln -s "$dir/linked" "$dir/link"
run -q -s 16M "$dir/link"
check "a symlink of ours in our directory is followed" \
	bash -c "[ -L '$dir/link' ] && [ \"\$(head -c 8 '$dir/linked' 2>/dev/null)\" = UMFSPOOL ]"
open_dir=$dir/open
mkdir "$open_dir"
chmod 0777 "$open_dir"
ln -s "$dir/linked" "$open_dir/link"
run -f -q "$open_dir/link"
expect_fail "a symlink in a directory others may write is refused" \
	"is a symlink in a directory other users may write: refusing to follow it"
chmod 0755 "$open_dir"

# The lock comes before anything is read, wiped or resized.
if command -v flock >/dev/null 2>&1; then
	busy=$dir/busy
	"$mkfs_bin" -q -s 32M "$busy" >/dev/null 2>&1
	sum=$(sha256sum <"$busy")
	flock -s "$busy" sleep 5 &
	holder=$!
	sleep 0.3
	run -f -q -s 16M "$busy"
	expect_fail "a pool a program holds is refused, even with -f" \
		"pool is in use by a running process"
	check "the pool in use kept its size and bytes" \
		test "$(size_of "$busy")" -eq $((32 << 20)) -a "$(sha256sum <"$busy")" = "$sum"
	kill "$holder" 2>/dev/null
	wait "$holder" 2>/dev/null
else
	skip "a pool in use is refused" "flock(1) is missing"
	skip "the pool in use kept its size and bytes" "flock(1) is missing"
fi

# --- the pool is sound ----------------------------------------------------------

# -n (dry run): creates nothing, changes nothing, and says what a real
# run then makes, figure for figure (the geometry lines both print)
geometry() { grep -E '^  (size|max size|inodes|data pages|journal|layout|label) ' "$1"; }
run -n -s 24M -N 3000 -L dry "$dir/dry"
check "mkfs -n of a missing pool: exit 0, no file made" test "$rc" -eq 0 -a ! -e "$dir/dry"
cp "$out" "$dir/dry.plan"
run -s 24M -N 3000 -L dry "$dir/dry"
check "mkfs -n said what mkfs then made" cmp -s <(geometry "$dir/dry.plan") <(geometry "$out")
check "mkfs -n printed every figure" test "$(geometry "$dir/dry.plan" | wc -l)" -eq 7
cp "$dir/dry" "$dir/dry.before"
run -n "$dir/dry"
check "mkfs -n on a pool: refused as mkfs would be (exit 1)" \
	test "$rc" -eq 1 -a -n "$(grep 'already contains a UMFS pool' "$err")"
run -n -f -s 32M "$dir/dry"
check "mkfs -n -f: exit 0, says it would erase" \
	test "$rc" -eq 0 -a -n "$(grep 'erasing what it holds' "$out")"
check "mkfs -n left the pool byte for byte" cmp -s "$dir/dry" "$dir/dry.before"
rm -f "$dir/dry" "$dir/dry.before" "$dir/dry.plan"

# -G: the most umfs-pool grow may take the pool to; 8 times the size by
# default, and what the page bitmap is sized for (its zone's length)
maxsize() { sed -n 's/^  max size *[^(]*(\([0-9]*\) bytes).*/\1/p' "$1"; }
bitmap() { sed -n 's/.*page bitmap 0x\([0-9a-f]*\), bitmap sums 0x\([0-9a-f]*\),.*/\1 \2/p' "$1"; }
run -n -s 24M "$dir/grow-max"
check "mkfs -n: the maximum is 8 times the size by default" test "$(maxsize "$out")" = $((192 << 20))
run -n -s 64M -G 1T "$dir/grow-max"
check "mkfs -n -G 1T: shows the maximum" test "$(maxsize "$out")" = $((1 << 40))
read -r pb bs < <(bitmap "$out")
check "-G 1T: a page bitmap of 1 bit per 4 KiB of 1 TiB" test $((0x$bs - 0x$pb)) = $((32 << 20))
run -n -s 24M -G 16M "$dir/grow-max"
expect_fail "-G below the size: refused" "maximum size -G 16 MiB is below the pool size 24 MiB"
run -n -s 24M -G 40000000 "$dir/grow-max"
expect_fail "-G not a page multiple: refused" "maximum size 40000000 is not a multiple"
run -n -s 24M -G 1z "$dir/grow-max"
expect_fail "-G with a bad suffix: refused" "invalid maximum size '1z'"
run -n -s 8M -G 4T "$dir/grow-max"
expect_fail "-G too large for the size: names -G" "no room for data; give a smaller -G"
check "the refused -G made no file" test ! -e "$dir/grow-max"

# --- inline and level-4 tables (feature_incompat, superblock offset 0x18) ---
# INCOMPAT_INLINE_TABLE is 2, INCOMPAT_LEVEL4 is 4

incompat_of() {
	od -An -tu4 -j24 -N4 "$1" | tr -d ' '
}
check "a pool file has inline and level-4 tables by default" \
	test "$(incompat_of "$pool")" = 6
run -q -s 16M -O noinline "$dir/noinline"
expect_ok "-O noinline makes a pool"
check "-O noinline leaves INCOMPAT_INLINE_TABLE off" test "$(incompat_of "$dir/noinline")" = 4
run -q -f -s 16M -O inline "$dir/noinline"
check "-O inline sets it" test "$(incompat_of "$dir/noinline")" = 6
run -q -s 16M -O nolevel4 "$dir/nolevel4"
expect_ok "-O nolevel4 makes a pool"
check "-O nolevel4 leaves INCOMPAT_LEVEL4 off" test "$(incompat_of "$dir/nolevel4")" = 2
run -q -f -s 16M -O level4 -O noinline "$dir/nolevel4"
check "-O level4 -O noinline: only INCOMPAT_LEVEL4" test "$(incompat_of "$dir/nolevel4")" = 4
run -s 16M -O tiny "$dir/badopt"
expect_fail "an unknown -O names the options" \
	"unknown pool option 'tiny': expected relaxed, strict, inline, noinline, level4 or nolevel4"

if [ -n "$fsck_bin" ] && [ -x "$fsck_bin" ]; then
	for p in "$pool" "$grow" "$dir/inodes" "$dir/viamkfs" "$dir/noinline" "$dir/nolevel4"; do
		[ -e "$p" ] || continue
		"$fsck_bin" -n -f "$p" >"$out" 2>"$err" </dev/null
		rc=$?
		if [ "$rc" -eq 0 ]; then
			ok "fsck.umfs -n -f finds $(basename "$p") clean"
		else
			not_ok "fsck.umfs -n -f finds $(basename "$p") clean" "fsck exit status $rc"
		fi
	done
	# mkfs and fsck count the same inodes: 4096 asked for, rounded up to
	# fill the last inode page (4112), less inode 0, which is never used
	made=$("$mkfs_bin" -s 64M "$dir/count" 2>&1 | sed -n 's/^ *inodes *\([0-9]*\).*/\1/p')
	"$fsck_bin" -n -f "$dir/count" >"$out" 2>"$err" </dev/null
	counted=$(sed -n 's|.*: [0-9]*/\([0-9]*\) inodes used.*|\1|p' "$out")
	check "mkfs and fsck count the same inodes ($made, $counted)" \
		test -n "$made" -a "$made" = "$counted" -a "$made" = 4111
	rm -f "$dir/count"
else
	skip "fsck.umfs -n -f on the new pools" "fsck.umfs not built"
fi

echo "1..$n"
echo "# $((n - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
