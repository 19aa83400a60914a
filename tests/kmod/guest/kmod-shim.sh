#!/bin/bash
# kmod-shim.sh (guest) - libumfs in module mode: unmodified
# programs under umfs-run on /dev/pmemN with the module loaded (files
# attached, read and written by loads and stores) and again with
# --kmod off (the software walk); outputs and checksums must agree, data
# written in each mode must read back in the other, umfs-run must name the
# mode, the module's counters must show attaches and end at 0 live, fsck
# must be clean. Measures 4 KiB random reads and writes in both modes
# (kmod-shim-io, a plain program under the shim) as UMFS-MEASURE lines.
set -eu
. "$(dirname "$0")/common.sh"

dev=${UMFS_POOL_DEV:-/dev/pmem0}
# 5,000 of each: under TCG the figures show the shape, not the speed, and
# the checks need no more (each extra 1,000 costs about 1.2 s under PTI)
ops=${UMFS_OPT_SHIM_OPS:-5000}
label=${UMFS_SHIM_LABEL:-kmod-shim} # the measurements' name (kmod-devdax runs this too)
T=/tmp/kint
fail() { echo "kmod-shim: $*" >&2; exit 1; }
kt_module kmod-shim
command -v kmod-shim-io >/dev/null || fail "kmod-shim-io not built (tests/kmod/guest/build.sh)"

# the module may hold the pool from an earlier test; mkfs wants it free
kmod-shim-io unmount || fail "UNMOUNT of an earlier pool failed"
mkfs.umfs -q -f "$dev" || fail "mkfs.umfs failed"
rm -rf "$T" && mkdir -p "$T"

km() { umfs-run --pool "$dev" "$@"; }              # module mode (umfs-run's default)
sw() { umfs-run --pool "$dev" --kmod off "$@"; }  # the software walk

# umfs-run says which mode it uses; the first one MOUNTs the pool in the module
m=$(km --mode -- true 2>&1) || fail "umfs-run --mode: $m"
echo "kmod-shim: module: $m"
case "$m" in *"kernel module (attach)"*) ;; *) fail "expected module mode, got '$m'" ;; esac
m=$(sw --mode -- true 2>&1) || fail "umfs-run --kmod off --mode: $m"
case "$m" in *"user space (software walk)"*) ;; *) fail "expected software mode, got '$m'" ;; esac
kmod-shim-io stats | grep -q "^mounted 1 " || fail "the module did not mount the pool"

# reference data on the guest's tmpfs
dd if=/dev/urandom of=$T/data bs=1M count=12 status=none
dd if=/dev/urandom of=$T/patch bs=4k count=3 status=none
dd if=/dev/urandom of=$T/big bs=1M count=3 status=none
cp $T/data $T/ref
# overwrite 3 pages in the middle and 100 bytes at an odd offset; then
# 3 MiB in one write from 2.5 MiB on (copy-on-write: EXCHANGE in module
# mode), cutting two 2 MiB regions and covering one
dd if=$T/patch of=$T/ref bs=4k seek=700 conv=notrunc status=none
dd if=$T/patch of=$T/ref bs=1 count=100 seek=123457 conv=notrunc status=none
dd if=$T/big of=$T/ref bs=3M count=1 seek=2621440 oflag=seek_bytes conv=notrunc status=none
ref_sum=$(sha256sum < $T/ref | cut -d' ' -f1)
head -c 1000000 $T/ref > $T/ref-trunc
trunc_sum=$(sha256sum < $T/ref-trunc | cut -d' ' -f1)

# One workload, run once per mode in its own directory. Its output (sums,
# sqlite results) must be the same in both modes.
workload() {
	local d=/umfs/$1
	"${@:2}" /usr/bin/bash -c "
		set -e
		mkdir -p $d
		cp $T/data $d/data
		dd if=$T/patch of=$d/data bs=4k seek=700 conv=notrunc status=none
		dd if=$T/patch of=$d/data bs=1 count=100 seek=123457 conv=notrunc status=none
		dd if=$T/big of=$d/data bs=3M count=1 seek=2621440 oflag=seek_bytes conv=notrunc status=none
		sha256sum < $d/data | cut -d' ' -f1
		cat $d/data | sha256sum | cut -d' ' -f1
		dd if=$d/data bs=64k status=none | sha256sum | cut -d' ' -f1
		cp $d/data $d/t && truncate -s 1000000 $d/t
		sha256sum < $d/t | cut -d' ' -f1
		seq 1 50000 > $d/seq && sed -i 's/7/seven/' $d/seq && sha256sum < $d/seq | cut -d' ' -f1
		# a directory big enough to index, split buckets and double its map
		# (module mode: every page through EXTEND), renames out of it, and an
		# rmdir of a full one (its pages through FREE)
		mkdir $d/many
		for i in \$(seq 1 3000); do : > $d/many/name-\$i; done
		rm $d/many/name-*[05]
		mkdir $d/many2 && mv $d/many/name-*7 $d/many2/
		ls $d/many | sha256sum | cut -d' ' -f1
		ls $d/many2 | sha256sum | cut -d' ' -f1
		ls $d/many | wc -l
		rm -r $d/many2
		ls $d
	" || return 1
	if command -v sqlite3 >/dev/null; then
		"${@:2}" sqlite3 $d/db "
			CREATE TABLE t(k INTEGER PRIMARY KEY, v TEXT);
			BEGIN; WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x<5000)
			INSERT INTO t SELECT x, hex(x*7919) FROM c; COMMIT;
			UPDATE t SET v = v || 'x' WHERE k % 3 = 0;
			DELETE FROM t WHERE k % 11 = 0;
			SELECT count(*), sum(k), sum(length(v)) FROM t;
			PRAGMA integrity_check;" || return 1
	fi
}

workload k km -- > $T/out-k 2>$T/err-k || { cat $T/err-k; fail "workload in module mode failed"; }
workload s sw -- > $T/out-s 2>$T/err-s || { cat $T/err-s; fail "workload in software mode failed"; }
cat $T/out-k
diff $T/out-k $T/out-s || fail "module and software modes disagree (above)"
[ "$(sed -n 1p $T/out-k)" = "$ref_sum" ] || fail "module mode: checksum is not the reference's"
[ "$(sed -n 4p $T/out-k)" = "$trunc_sum" ] || fail "module mode: truncated file is wrong"
# the big directory's steps on the guest's tmpfs give the reference names
ref_names=$(cd $T && mkdir many && for i in $(seq 1 3000); do : > many/name-$i; done &&
	rm many/name-*[05] && mkdir many2 && mv many/name-*7 many2/ &&
	ls many | sha256sum | cut -d' ' -f1 && ls many2 | sha256sum | cut -d' ' -f1 && ls many | wc -l)
[ "$(sed -n 6,8p $T/out-k)" = "$ref_names" ] || fail "module mode: the big directory differs from tmpfs's"
[ "$(sed -n 8p $T/out-k)" = 2100 ] || fail "module mode: $(sed -n 8p $T/out-k) names left, want 2100"

# data written in one mode, read back in the other
got=$(sw -- sha256sum /umfs/k/data | cut -d' ' -f1)
[ "$got" = "$ref_sum" ] || fail "module-mode file read in software mode: $got"
got=$(km -- sha256sum /umfs/s/data | cut -d' ' -f1)
[ "$got" = "$ref_sum" ] || fail "software-mode file read in module mode: $got"
# an overwrite in software mode of a file module mode reads, and back
sw -- dd if=$T/patch of=/umfs/k/data bs=4k seek=9 conv=notrunc status=none
dd if=$T/patch of=$T/ref bs=4k seek=9 conv=notrunc status=none
got=$(km -- sha256sum /umfs/k/data | cut -d' ' -f1)
[ "$got" = "$(sha256sum < $T/ref | cut -d' ' -f1)" ] || fail "software overwrite not seen in module mode"

# reads after fork, after truncates (REVOKE) by this and another process,
# and racing a child that truncates and regrows the file
revokes() { kmod-shim-io stats | awk '{print $12}'; }
for mode in km sw; do
	$mode -- kmod-shim-io fill /umfs/chk-$mode 4 || fail "fill ($mode) failed"
	r0=$(revokes)
	$mode -- kmod-shim-io check /umfs/chk-$mode || fail "revoke/fork checks ($mode) failed"
	r1=$(revokes)
	echo "kmod-shim: check ($mode): $((r1 - r0)) attachments revoked"
	# module mode: the reader's attachment was revoked under it, at least
	# by the truncates before the race
	[ $mode = sw ] || [ $((r1 - r0)) -ge 2 ] || fail "module mode: only $((r1 - r0)) revokes"
done

# reads into buffers that turn bad part way, in both modes, as on tmpfs
kmod-shim-io fill $T/bad-ref 4 || fail "fill (tmpfs) failed"
want=$(kmod-shim-io badread $T/bad-ref) || fail "badread on tmpfs failed"
for mode in km sw; do
	$mode -- kmod-shim-io fill /umfs/bad-$mode 4 || fail "fill ($mode) failed"
	got=$($mode -- kmod-shim-io badread /umfs/bad-$mode) || fail "badread ($mode) died: $got"
	[ "$got" = "$want" ] || fail "badread ($mode) differs from tmpfs: $(diff <(echo "$want") <(echo "$got"))"
done
echo "kmod-shim: reads into bad buffers: as on tmpfs in both modes"

# chmod and unlink revoke attachments: a shell holds both files open
# (attached at open), chmod and rm run as other processes, and the shell
# still reads both whole afterwards (it attaches again, or falls back)
km -- dd if=/dev/urandom of=/umfs/rv1 bs=64k count=4 2>/dev/null || fail "dd rv1 failed"
km -- cp /umfs/rv1 /umfs/rv2 || fail "cp rv2 failed"
want=$(km -- sha256sum /umfs/rv1 | cut -d' ' -f1)
r0=$(revokes)
rc=0
# (GNU programs by path: busybox's static applets would bypass the shim)
km -- /usr/bin/bash -c 'exec 3</umfs/rv1 4</umfs/rv2
	/usr/bin/chmod 600 /umfs/rv1 && /usr/bin/rm /umfs/rv2 &&
	/usr/bin/sha256sum <&3 && /usr/bin/sha256sum <&4' >$T/rv.out 2>&1 || rc=$?
[ $rc = 0 ] || { cat $T/rv.out; fail "chmod/rm while open failed ($rc)"; }
got=$(cut -d' ' -f1 $T/rv.out | sort -u)
r1=$(revokes)
echo "kmod-shim: chmod and unlink of open files: $((r1 - r0)) attachments revoked"
[ "$got" = "$want" ] || fail "open files read differently after chmod/unlink: $got"
# the module wrote the mode (SETATTR): the kernel's view through stat agrees
[ "$(km -- /usr/bin/stat -c %a /umfs/rv1)" = 600 ] || fail "chmod 600 not applied in module mode"
[ $((r1 - r0)) -ge 2 ] || fail "chmod and unlink revoked $((r1 - r0)) attachments, want 2"

# new names in a setgid directory: the module gives the group, and
# S_ISGID to a directory (CREATE decides the first owner)
km -- /usr/bin/mkdir -m 2775 /umfs/sg || fail "mkdir sg failed"
km -- /usr/bin/chgrp 100 /umfs/sg || fail "chgrp sg failed"
km -- /usr/bin/touch /umfs/sg/f || fail "touch sg/f failed"
km -- /usr/bin/mkdir /umfs/sg/d || fail "mkdir sg/d failed"
got=$(km -- /usr/bin/stat -c '%u:%g' /umfs/sg/f /umfs/sg/d | tr '\n' ' ')
[ "$got" = "0:100 0:100 " ] || fail "setgid directory: owners $got, want 0:100 twice"
[ "$(km -- /usr/bin/stat -c %a /umfs/sg/d)" = 2755 ] || fail "sg/d did not inherit S_ISGID"
[ "$(sw -- /usr/bin/stat -c '%u:%g %a' /umfs/sg/d)" = "0:100 2755" ] ||
	fail "the software path reads sg/d differently"
# a symlink's page comes from EXTEND and goes through FREE: both modes
# read the target the module-mode ln wrote
tgt=$(printf 'target-%0200d' 7)
km -- /usr/bin/ln -s "$tgt" /umfs/sg/l || fail "ln -s failed"
for mode in km sw; do
	[ "$($mode -- /usr/bin/stat -c %N /umfs/sg/l)" = "'/umfs/sg/l' -> '$tgt'" ] ||
		fail "symlink target ($mode): $($mode -- /usr/bin/stat -c %N /umfs/sg/l)"
done
km -- /usr/bin/rm -r /umfs/sg || fail "rm -r sg failed"

# attachments were made, appends went through EXTEND, and none is left
st=$(kmod-shim-io stats)
echo "kmod-shim: module counters: $st"
set -- $st
[ "$2" = 1 ] || fail "pool not mounted in the module"
[ "$4" = 0 ] || fail "$4 attachments still live"
[ "$8" -gt 10 ] || fail "only $8 attaches: module mode did not attach"
[ "${18}" -gt 10 ] || fail "only ${18} EXTEND calls: module mode did not allocate through the module"
# chmod went through SETATTR; truncates and the reclaim of unlinked files
# through FREE, which gave pages back
[ "${22}" -ge 1 ] || fail "no SETATTR call: chmod did not go through the module"
[ "${24}" -gt 10 ] && [ "${26}" -gt 0 ] || fail "FREE calls ${24}, pages ${26}: frees did not go through the module"
# the 3 MiB overwrite's copy-on-write went through EXCHANGE
[ "${28}" -ge 1 ] && [ "${30}" -ge 768 ] || fail "EXCHANGE calls ${28}, pages ${30}: copy-on-write did not go through the module"
# inodes came from CREATE (names and the shadows of copy-on-write) and went
# back through RELEASE (rm, and the shadows); U-Log pages from ULOG
[ "${32}" -gt 10 ] && [ "${34}" -gt 3 ] || fail "CREATE calls ${32}, RELEASE calls ${34}: inodes did not go through the module"
[ "${36}" -ge 1 ] || fail "no U-Log page from ULOG"

# 4 KiB random reads and writes: loads and stores against the software walk
km -- kmod-shim-io fill /umfs/bench 64 || fail "fill failed"
# (reads in both modes before the writes change the data)
for op in read write; do
	for mode in km sw; do
		r=$($mode -- kmod-shim-io rand /umfs/bench $op "$ops") || fail "rand $op ($mode) failed"
		echo "kmod-shim: $op $mode: $r"
		eval "${mode}_$op=\$(echo \"\$r\" | awk '{print \$2}')"
		[ "$op" = read ] && eval "${mode}_sum=\$(echo \"\$r\" | awk '{print \$4}')"
	done
done
[ "$km_sum" = "$sw_sum" ] || fail "random reads disagree: $km_sum vs $sw_sum"
# 4 KiB appends: EXTEND per page (module) against the core's own
# allocation transaction (software); two runs each, order alternated
app() {
	local r
	r=$($1 -- kmod-shim-io append /umfs/app-$1 "$ops") || fail "append ($1) failed"
	echo "kmod-shim: append $1: $r" >&2
	echo "$r" | awk '{print $2}'
}
km1=$(app km)
sw1=$(app sw)
sw2=$(app sw)
km2=$(app km)
mean() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (a + b) / 2 }'; }
km_app=$(mean "$km1" "$km2") sw_app=$(mean "$sw1" "$sw2")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo "UMFS-MEASURE $label append-4k module_us=$km_app software_us=$sw_app speedup=$(ratio "$sw_app" "$km_app")"
echo "UMFS-MEASURE $label randread-4k module_us=$km_read software_us=$sw_read speedup=$(ratio "$sw_read" "$km_read")"
echo "UMFS-MEASURE $label randwrite-4k module_us=$km_write software_us=$sw_write speedup=$(ratio "$sw_write" "$km_write")"

st=$(kmod-shim-io stats)
set -- $st
[ "$4" = 0 ] || fail "$4 attachments still live after the measurements"
kmod-shim-io unmount || fail "UNMOUNT failed"
kt_fsck_clean || fail "fsck.umfs is not clean"
kt_kernel_clean
rm -rf "$T"
echo "kmod-shim: ok"
