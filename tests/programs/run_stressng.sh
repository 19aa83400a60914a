#!/bin/bash
# SPDX-License-Identifier: MIT
# run_stressng.sh MODE BUILDDIR - stress-ng's file-system and I/O stressors,
# written by others who never saw UMFS, with their own verification on
# (--verify: data read back, offsets, sizes, lock ranges), run in a
# directory of the system under test and in one on a fresh tmpfs, and
# compared stressor by stressor.
#
#   MODE fuse   the temporary path in a umfs-fuse mount of a fresh pool
#   MODE shim   stress-ng and every process it forks under
#               LD_PRELOAD=libumfs.so, the path under /umfs-test-PID
#   MODE tmpfs  another tmpfs (tests the comparison itself)
#
# Each group below runs its stressors at once (each as one or two
# processes) for STRESSNG_SECONDS (default 2), with a fixed seed. A
# stressor's verdict is what stress-ng says of it: failed (its process
# ended with an error: a verification, a call that failed), no-resource,
# skipped (it found the file system without the feature), idle (passed
# with no work counted: no bogo operation) or passed; idle on tmpfs too
# counts as passed on both sides. A stressor idle on the side under test
# alone has its group run there once more, for twice the time, and takes
# its verdict from that run (the others keep their first): on a loaded
# machine a stressor can spend its 2 s setting up (readahead writing its
# file) and count nothing, as it can on tmpfs; the output says so. A
# verdict that differs from tmpfs's
# fails its line unless known-stressng.txt lists it for MODE. Then the pool
# is unmounted and fsck.umfs -n -f must find it clean. Last "stressng: N
# passed, M failed". Exits 1 when M > 0, 77 when stress-ng
# (Debian: stress-ng) is missing. About a minute on 2 cores.
#
# STRESSNG_ONLY=dir,hdd runs only the groups with those stressors;
# STRESSNG_KNOWN=FILE reads the known differences from FILE;
# STRESSNG_SABOTAGE=STRESSOR makes that stressor fail on the side under
# test (a wrapper run there in stress-ng's place says it failed), so that
# the comparison can be seen to catch it (STRESSOR:N: in its first N runs
# only); STRESSNG_IDLE=STRESSOR:N makes the wrapper report no work of that
# stressor in its first N runs.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/../posix/frontend.sh"
fe_require

# The groups: every stressor of stress-ng's filesystem and io classes that
# works on files in the temporary path, and the mapping ones that map such
# files. Left out: those that need devices or mounts (bind-mount, binderfs,
# rawdev, verity), ioprio (no files), procfs and getdent (not in the path:
# getdent walks /proc, /dev, /sys, /tmp and /run, and through /dev/shm
# other tests' FUSE mounts, whose unmount it makes fail with EBUSY and
# whose stopped daemon it waits on), and io-uring, whose statx of its own
# file fails on tmpfs too in this version.
GROUPS_=(
	"--hdd 2 --hdd-bytes 8M --hdd-opts wr-rnd,rd-rnd,fsync"
	"--hdd 1 --hdd-bytes 8M --hdd-opts direct,dsync,iovec"
	"--hdd 1 --hdd-bytes 8M --hdd-opts sync,utimes,fdatasync,syncfs"
	"--hdd 1 --hdd-bytes 8M --hdd-opts fadv-seq,fadv-dontneed,noatime,rd-seq,wr-seq"
	"--iomix 2 --iomix-bytes 16M --io 1 --readahead 1 --revio 1"
	"--dir 2 --dentry 1 --rename 2 --dirmany 1"
	"--link 1 --symlink 1 --filename 1 --mknod 1"
	"--open 1 --dup 1 --fstat 1 --chdir 1 --handle 1"
	"--seek 2 --seek-punch --fallocate 1 --fallocate-bytes 64M --fpunch 1 --fsize 1 --sync-file 1 --sync-file-bytes 64M"
	"--chmod 1 --chown 1 --utime 1 --touch 1 --access 1 --chattr 1 --inode-flags 1"
	"--lockf 2 --flock 2 --fcntl 1 --lockofd 1 --locka 1 --lease 1"
	"--copy-file 1 --sendfile 1 --splice 1 --file-ioctl 1 --fiemap 1 --xattr 1"
	"--mmap 1 --mmap-file --mmap-bytes 32M --msync 1 --aio 1 --aiol 1"
	"--dnotify 1 --inotify 1 --fanotify 1 --eventfd 1"
	# alone: this version's dirdeep subtracts the free inodes it sees from
	# those it saw first, unsigned, and stops when the difference is large;
	# another stressor that frees inodes in between stops it before its
	# first directory (no work counted), on tmpfs as on UMFS
	"--dirdeep 1"
)
secs=${STRESSNG_SECONDS:-2}
known=${STRESSNG_KNOWN:-$here/known-stressng.txt}
sng=$(command -v stress-ng) || fe_skip "stress-ng is not installed (Debian: stress-ng)"

# The groups asked for, numbered as above.
sel=()
for i in "${!GROUPS_[@]}"; do
	if [ -n "${STRESSNG_ONLY:-}" ]; then
		hit=0
		for s in ${STRESSNG_ONLY//,/ }; do
			[[ " ${GROUPS_[$i]} " == *" --$s "* ]] && hit=1
		done
		[ "$hit" = 1 ] || continue
	fi
	sel+=("$i")
done
[ "${#sel[@]}" -gt 0 ] || fe_skip "no group has the stressors asked for ($STRESSNG_ONLY)"

base_env=(env -i "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	"HOME=${HOME:-/root}" LC_ALL=C PMEM_IS_PMEM_FORCE=1 UMFS_KMOD=0)

# run_group BIN SIDE DIR I [prefix...]: group I run by stress-ng BIN in
# DIR/gI for $run_secs seconds (default secs), its output in
# $FE_TMP/SIDE.I.log, its exit status last there.
run_group() {
	local bin=$1 side=$2 dir=$3 i=$4 rc=0 t=${run_secs:-$secs}
	shift 4
	# shellcheck disable=SC2086 # a group is its words
	timeout -k 5 $((t * 10 + 60)) "${base_env[@]}" "$@" sh -c \
		'mkdir -p "$1" && cd "$1" && shift && exec "$@"' _ "$dir/g$i" \
		"$bin" ${GROUPS_[$i]} -t "$t" --verify --seed 1 --temp-path "$dir/g$i" \
		--metrics-brief >"$FE_TMP/$side.$i.log" 2>&1 </dev/null || rc=$?
	echo "== exit $rc" >>"$FE_TMP/$side.$i.log"
}

# verdicts SIDE I: "STRESSOR VERDICT OPS" per stressor of group I
verdicts() {
	local i=$2 s words k
	read -r -a words <<<"${GROUPS_[$i]}"
	for k in "${!words[@]}"; do
		# a stressor is --NAME and its count (--hdd 2); --hdd-bytes 8M,
		# --seek-punch are its options
		s=${words[$k]}
		[[ $s == --* && ${words[$((k + 1))]:-} =~ ^[0-9]+$ ]] || continue
		s=${s#--}
		awk -v s="$s" '
			index($0, "(" s ") terminated with an error") { failed = 1 }
			index($0, "(" s ") aborted early") { nores = 1 }
			$0 ~ ("\\] " s "[: ]") && /skipping stressor|will be skipped/ { skipped = 1 }
			/metrc: \[[0-9]+\] / && $4 == s && $5 ~ /^[0-9]+$/ { ops = $5 }
			/^== exit / { rc = $3 }
			END {
				v = failed ? "failed" : skipped ? "skipped" : nores ? "no-resource" : "passed"
				if (v == "passed" && rc != 0 && rc != 2 && rc != 3) v = "exit-" rc
				if (v == "passed" && ops + 0 == 0) v = "idle"
				print s, v, ops + 0
			}' "$FE_TMP/$1.$i.log"
	done
}

fe_tmpfs "$FE_TMP/ref"
FE_POOL_SIZE=1G fe_start
sut_sng=$sng
if [ -n "${STRESSNG_SABOTAGE:-}${STRESSNG_IDLE:-}" ]; then
	# a stress-ng that says the stressor's verification failed, or that
	# reports no work of the idle one ("--/" is no stressor)
	sut_sng=$FE_TMP/sabotage/stress-ng
	sabotage=${STRESSNG_SABOTAGE:-/} idle=${STRESSNG_IDLE:-/}
	[[ $sabotage == *:* ]] || sabotage=$sabotage:999999
	mkdir -p "$FE_TMP/sabotage"
	cat >"$sut_sng" <<EOF
#!/bin/sh
# the N-th run of the stressor NAME of NAME:COUNT, or none past COUNT
nth() {
	n=\$(cat "$FE_TMP/sabotage/\$1" 2>/dev/null || echo 0)
	[ "\$n" -lt "\$2" ] && echo \$((n + 1)) >"$FE_TMP/sabotage/\$1"
}
case " \$* " in *" --${sabotage%%:*} "*)
	if nth sabotage "${sabotage#*:}"; then
		echo "stress-ng: fail:  [0] ${sabotage%%:*}: verification failed (sabotaged)"
		echo "stress-ng: error: [0] process [0] (${sabotage%%:*}) terminated with an error, exit status=2 (stressor failed)"
	fi ;;
esac
case " \$* " in *" --${idle%%:*} "*)
	if nth idle "${idle#*:}"; then
		$sng "\$@" 2>&1 | sed -E 's/^(stress-ng: metrc: \[[0-9]+\] ${idle%%:*} +)[0-9]+/\10/'
		exit
	fi ;;
esac
exec $sng "\$@"
EOF
	chmod 755 "$sut_sng"
fi
t0=$(date +%s)
for i in "${sel[@]}"; do
	run_group "$sng" ref "$FE_TMP/ref" "$i"
done
t1=$(date +%s)
for i in "${sel[@]}"; do
	run_group "$sut_sng" sut "$FE_ROOT" "$i" "${FE_RUN[@]}"
done
echo "# stress-ng $("$sng" --version | awk '{print $3}'), ${secs} s a group: tmpfs $((t1 - t0)) s, $FE_MODE $(($(date +%s) - t1)) s"

# known VERDICT lines for this mode: "STRESSOR VERDICT"
known_for_mode() {
	[ -f "$known" ] || return 0
	awk -v m="$FE_MODE" '!/^#/ && NF >= 3 && ("," $2 ",") ~ ("," m ",") { print $1, $3 }' "$known"
}
mapfile -t knowns < <(known_for_mode)
seen_known=()

# A group with a stressor idle on the side under test alone, and not known
# to be, runs there once more for twice the time (again[I]: those
# stressors); its first output moves to sut.first.I.log.
declare -A again=()
for i in "${sel[@]}"; do
	mapfile -t ref < <(verdicts ref "$i")
	mapfile -t sut < <(verdicts sut "$i")
	for k in "${!ref[@]}"; do
		read -r s rv _ <<<"${ref[$k]}"
		read -r _ sv _ <<<"${sut[$k]}"
		[ "$rv" = passed ] && [ "$sv" = idle ] &&
			[[ " ${knowns[*]/%/,} " != *" $s idle, "* ]] && again[$i]+=" $s"
	done
	[ -n "${again[$i]:-}" ] || continue
	echo "# group $i:${again[$i]} counted no work on $FE_MODE in $secs s: the group runs again for $((secs * 2)) s"
	mv "$FE_TMP/sut.$i.log" "$FE_TMP/sut.first.$i.log"
	run_secs=$((secs * 2)) run_group "$sut_sng" sut "$FE_ROOT" "$i" "${FE_RUN[@]}"
done

for i in "${sel[@]}"; do
	mapfile -t ref < <(verdicts ref "$i")
	mapfile -t sut < <(verdicts sut "$i")
	first=()
	[ -z "${again[$i]:-}" ] || mapfile -t first < <(verdicts sut.first "$i")
	for k in "${!ref[@]}"; do
		read -r s rv rops <<<"${ref[$k]}"
		read -r _ sv sops <<<"${sut[$k]}"
		log=$FE_TMP/sut.$i.log
		# a stressor not idle at first keeps its first verdict
		if [ -n "${first[$k]:-}" ] && [[ "${again[$i]} " != *" $s "* ]]; then
			read -r _ sv sops <<<"${first[$k]}"
			log=$FE_TMP/sut.first.$i.log
		fi
		# idle on tmpfs too (nothing it counts in the time) is passed
		if [ "$rv" = idle ]; then
			rv=passed
			[ "$sv" != idle ] || sv=passed
		fi
		want=$rv
		why=
		for kn in "${knowns[@]}"; do
			if [ "$kn" = "$s $sv" ]; then
				want=$sv
				why=" (known: $(awk -v s="$s" -v v="$sv" '$1 == s && $3 == v { $1 = $2 = $3 = ""; sub(/^ +/, ""); print; exit }' "$known"))"
				seen_known+=("$s")
			fi
		done
		if [ "$sv" = "$want" ]; then
			fe_result 0 "$s (group $i): tmpfs $rv, $FE_MODE $sv$why; bogo ops $rops / $sops"
		else
			fe_result 1 "$s (group $i): tmpfs $rv, $FE_MODE $sv; bogo ops $rops / $sops"
			grep -E "\b$s\b|\($s\)" "$log" | head -n 8 | sed 's/^/#   /'
		fi
	done
done
for kn in "${knowns[@]}"; do
	s=${kn%% *}
	ran=0
	for i in "${sel[@]}"; do
		[[ " ${GROUPS_[$i]} " == *" --$s "* ]] && ran=1
	done
	if [ "$ran" = 1 ] && [[ " ${seen_known[*]:-} " != *" $s "* ]]; then
		echo "# known difference no longer seen: $kn"
	fi
done

fe_finish stressng
