#!/bin/bash
# fresh.sh - measurement 7: what a NEW process pays, the way programs meet a
# file system: each command below is one fresh process (under the shim for
# UMFS), run by bench/fresh_run, which records its wall time, its CPU time
# and the page faults it took (wait4: user + system time, ru_minflt +
# ru_majflt, its waited-for children included). Workloads, FRESH_MB of data (1 GiB in both modes: the targets are stated for 1 GiB):
#   write    dd bs=1M from /dev/zero into a new file (no conv=fsync)
#   read     dd bs=1M of that file to /dev/null
#   start    dd of that file moving nothing (count=0): the fixed cost of a
#            new process that opens a file there (the report scales the rest
#            to 1 GiB: start + (faults - start) * GiB / bytes)
#   cp-in    cp of a file from a kernel tmpfs (4 KiB) into the system
#   cp-out   cp of that copy back out to the kernel tmpfs, over a copy
#            made there just before, untimed (memory already touched)
#   tar      tar -x of an archive of /usr/include
#   find     find -type f -exec stat ... + over the extracted tree
#   git      git status --porcelain in a checkout of /usr/include: the tree
#            tar -x made, plus the .git of a repository made once on the
#            host with that tree committed; one untimed status refreshes
#            the index first
# Systems: UMFS strict and relaxed with the pool in /dev/shm and on 2 MiB
# pages, tmpfs, tmpfs huge=always, ext4. One system up at a time (memory).
# tmpfs huge=always runs the dd and cp workloads only, the ones it is the
# reference of: it gives every small file a 2 MiB page of its own, so
# /usr/include would take 16 GiB and minutes of page clearing there.
# Every result is checked: sizes, the copy's bytes against the source, the
# file count of the extracted tree, a clean git status.
# Output: $BENCH_OUT/fresh/fresh.csv
#   system,workload,rep,bytes,seconds,minflt,majflt,cpu_seconds
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

out=$BENCH_OUT/fresh
mkdir -p "$out"
run=$BENCH_BUILD/bench/fresh_run
[ -x "$run" ] || die "missing $run"
command -v git >/dev/null || die "git is not installed (bench/install-bench-deps.sh)"
[ -d /usr/include ] || die "no /usr/include to archive"
csv=$out/fresh.csv
echo "system,workload,rep,bytes,seconds,minflt,majflt,cpu_seconds" >"$csv"
bytes=$((FRESH_MB << 20))

# The host side: a kernel tmpfs with the source of the copies, the
# archives, and the reference tree the checks compare against.
stage=$(bench_tmpfs stage "$((FRESH_MB * 2 + 1024))M")
# not zeros: no layer may take the data for a hole (yes ends on SIGPIPE)
{ yes 'UMFS fresh-process bench: a line of data that is not zeros.' || true; } |
	head -c "$bytes" >"$stage/src"
tar -cf "$stage/include.tar" -C /usr include
mkdir "$stage/ref"
tar -xf "$stage/include.tar" -C "$stage/ref"
nfiles=$(find "$stage/ref/include" -type f | wc -l)
tar_bytes=$(find "$stage/ref/include" -type f -printf '%s\n' | awk '{ n += $1 } END { print n }')
git -C "$stage/ref" init -q
# set up once per run, not measured: cheap compression
git -C "$stage/ref" -c core.loosecompression=1 add -A
git -C "$stage/ref" -c user.name=bench -c user.email=bench@localhost commit -q -m include
tar -cf "$stage/git.tar" -C "$stage/ref" .git
rm -rf "$stage/ref"
log "fresh: stage ready ($nfiles files, $tar_bytes bytes in /usr/include)"

# One measured fresh process: WORKLOAD REP BYTES CMD... on $sys.
measure() {
	local wl=$1 rep=$2 n=$3 res=$BENCH_TMP/fresh.res
	shift 3
	rm -f "$res"
	# shellcheck disable=SC2046 # the assignments split into words safely
	"$run" "$res" $(sys_env "$sys") "$@" || die "fresh $wl failed on $sys: $*"
	read -r secs minflt majflt cpu <"$res"
	echo "$sys,$wl,$rep,$n,$secs,$minflt,$majflt,$cpu" >>"$csv"
}

# Fails unless FILE on $sys has SIZE bytes.
check_size() { # FILE SIZE
	local got
	got=$(sys_run "$sys" stat -c %s "$1") || die "stat $1 failed on $sys"
	[ "$got" = "$2" ] || die "$1 on $sys has $got bytes, not $2"
}

for sys in $(bench_systems "$FRESH_SYSTEMS"); do
	[ "$sys" = umfs-fuse ] && die "fresh: umfs-fuse is not one of this step's systems"
	sys_up "$sys" "$((FRESH_MB * 2 + 768))M"
	dir=$(sys_dir "$sys")
	for rep in $(seq "$FRESH_REPS"); do
		sys_run "$sys" rm -f "$dir/big" "$dir/copy"
		rm -f "$stage/dst"
		measure write "$rep" "$bytes" dd if=/dev/zero of="$dir/big" bs=1M count="$FRESH_MB" status=none
		check_size "$dir/big" "$bytes"
		measure read "$rep" "$bytes" dd if="$dir/big" of=/dev/null bs=1M status=none
		measure start "$rep" 0 dd if="$dir/big" of=/dev/null bs=1M count=0 status=none
		measure cp-in "$rep" "$bytes" cp "$stage/src" "$dir/copy"
		# the host's side first, untimed: the measured copy's O_TRUNC
		# frees these pages and its writes take them back at once, not
		# pages the VM handed back to its host meanwhile (a fresh 1 GiB
		# tmpfs file here: 1.6-2.9 s, against 0.53 s on pages just freed)
		cp "$stage/src" "$stage/dst"
		measure cp-out "$rep" "$bytes" cp "$dir/copy" "$stage/dst"
		cmp -s "$stage/src" "$stage/dst" || die "cp in and out of $sys changed the data"
	done
	sys_run "$sys" rm -f "$dir/big" "$dir/copy"
	rm -f "$stage/dst"
	if [ "$sys" = tmpfs-huge ]; then
		sys_down "$sys"
		log "fresh: $sys done (dd and cp only)"
		continue
	fi
	for rep in $(seq "$FRESH_TREE_REPS"); do
		sys_run "$sys" mkdir "$dir/x$rep"
		measure tar "$rep" "$tar_bytes" tar -xf "$stage/include.tar" -C "$dir/x$rep"
		n=$(sys_run "$sys" find "$dir/x$rep/include" -type f | wc -l)
		[ "$n" -eq "$nfiles" ] || die "tar -x on $sys made $n files, not $nfiles"
	done
	for rep in $(seq "$FRESH_TREE_REPS"); do
		measure find "$rep" 0 find "$dir/x1/include" -type f -exec stat -c '%s %Y %n' {} + \
			>"$BENCH_TMP/find.out"
		n=$(wc -l <"$BENCH_TMP/find.out")
		[ "$n" -eq "$nfiles" ] || die "find + stat on $sys listed $n files, not $nfiles"
	done
	sys_run "$sys" tar -xf "$stage/git.tar" -C "$dir/x1" || die "git checkout on $sys failed"
	sys_run "$sys" git -C "$dir/x1" status --porcelain >/dev/null || die "git status failed on $sys"
	for rep in $(seq "$FRESH_TREE_REPS"); do
		measure git "$rep" 0 git -C "$dir/x1" status --porcelain >"$BENCH_TMP/git.out"
		[ ! -s "$BENCH_TMP/git.out" ] ||
			die "git status on $sys is not clean: $(head -n 3 "$BENCH_TMP/git.out")"
	done
	sys_down "$sys"
	log "fresh: $sys done"
done
log "fresh: done"
