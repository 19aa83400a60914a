#!/bin/bash
# SPDX-License-Identifier: MIT
# stale.sh - multi-stale: what is left beside a pool when its users die.
#  1. writers under the library (appending numbered lines, acknowledging
#     each in a log outside UMFS) are all killed with -9 at once, often
#     while one holds a lock; the next process must neither hang nor lose
#     an acknowledged line;
#  2. the lock region is replaced by a copy taken while the writers ran (a
#     region from a "previous boot", its locks owned by threads that no
#     longer exist), then by garbage: the next process detects it is
#     stale and rebuilds it, the data intact;
#  3. while a library process holds the pool open, mkfs.umfs refuses to
#     format it and fsck.umfs refuses to repair it (or only checks,
#     read-only), with a clear message and the pool's bytes unchanged;
#  4. a region rebuilt after its last user was killed, while the slots of
#     descriptions closed before keep the lock ids they had: a new
#     description's flock and OFD lock still shut out another's.
. "$(dirname "$0")/lib.sh"

if [ "$FULL" = 1 ]; then rounds=60; else rounds=8; fi
make_pool 64M
T="timeout -s KILL 30"
nw=4
shim_sh 'mkdir /umfs/s' || fail "mkdir /umfs/s"

writers() { # starts nw appenders
	wpids=()
	for k in $(seq 0 $((nw - 1))); do
		LD_PRELOAD=$SHIM_LIB bash -c '
			# resume from the file: the append in flight at a kill may be there
			i=$(tail -n1 /umfs/s/f$1 2>/dev/null || true); i=${i:-0}
			exec 4>>"$2"
			while :; do i=$((i + 1)); echo "$i" >>/umfs/s/f$1; echo "$i" >&4; done' \
			writer "$k" "$work/ack$k" 2>>"$work/writers.err" &
		wpids+=($!)
		bg_pids+=($!)
	done
}

kill_writers() {
	kill -9 "${wpids[@]}" 2>/dev/null || true
	for p in "${wpids[@]}"; do wait "$p" 2>/dev/null || true; done
	bg_pids=()
}

# verify WHAT: a new library process reads every file (within 30 s); each
# must hold 1..n in order, with n the acknowledged count or one more
verify() {
	local k out rc=0 ack n
	out=$($T env LD_PRELOAD="$SHIM_LIB" bash -c \
		'for k in $(seq 0 $(($1 - 1))); do
			echo "== $k"
			# a writer killed before its first line made no file
			if [ -e /umfs/s/f$k ]; then cat /umfs/s/f$k || exit 1; fi
		done' v $nw \
		2>"$work/verify.err") || rc=$?
	if [ "$rc" != 0 ]; then
		fail "$1: the next process failed (exit $rc$([ "$rc" = 137 ] && echo ': hung for 30 s'))"
		sed 's/^/  /' "$work/verify.err" | head -5
		return 1
	fi
	grep -qiE "died|dead" "$work/verify.err" && dead_holders=$((dead_holders + 1))
	for k in $(seq 0 $((nw - 1))); do
		ack=$(tail -n1 "$work/ack$k" 2>/dev/null || true)
		ack=${ack:-0}
		lines=$(printf '%s\n' "$out" | sed -n "/^== $k\$/,/^== /p" | grep -v '^==' || true)
		n=$(printf '%s' "$lines" | grep -c . || true)
		if [ "$lines" != "$(seq 1 "$n")" ] || [ "$n" -lt "$ack" ] || [ "$n" -gt $((ack + 1)) ]; then
			fail "$1: file f$k: $n lines (acknowledged $ack), $(printf '%s\n' "$lines" | awk 'NR != $0 {print "line " NR " is \"" $0 "\""; exit}')"
			return 1
		fi
	done
	return 0
}

# 1. every writer killed at once, again and again; in even rounds an idle
# library process survives them (the next process is then not alone: it
# must take over the dead holders' locks rather than rebuild the region)
dead_holders=0
ok=0
mkfifo "$work/survivor"
for r in $(seq "$rounds"); do
	surv=
	if [ $((r % 2)) = 0 ]; then
		LD_PRELOAD=$SHIM_LIB bash -c 'exec 3</umfs/s; read -r _ <"$1"' s "$work/survivor" &
		surv=$!
		sleep 0.1
	fi
	writers
	sleep "0.$((RANDOM % 3 + 1))$((RANDOM % 10))"
	kill_writers
	verify "kill-all round $r$([ -n "$surv" ] && echo ', a survivor')" && ok=$((ok + 1))
	if [ -n "$surv" ]; then echo x >"$work/survivor"; wait "$surv" || true; fi
	[ "$ok" = "$r" ] || break
done
[ "$ok" = "$rounds" ] && pass "all writers killed at once, $rounds rounds (half with a survivor): no hang, no acknowledged line lost ($dead_holders times the next process reported a dead holder)"

# 2. a region from a previous boot, then a garbage region
writers
sleep 0.3
region=$(lock_region)
if [ -z "$region" ]; then
	fail "no lock region beside the pool (/dev/shm/umfs-$(pool_uuid_hex)*) while processes use it"
else
	rm -rf "$work/snap"
	mkdir "$work/snap"
	cp -a $region "$work/snap/" 2>/dev/null || true
	sleep 0.1
	kill_writers
	for r in $region; do rm -rf "$r"; done
	# each directory into /dev/shm, not the snapshot's own: "cp -a
	# snap/. /dev/shm/" would give /dev/shm the snapshot's mode (0755),
	# and take the other users' place in it away
	for r in "$work/snap"/*; do cp -a "$r" /dev/shm/; done
	verify "a region copied from a previous boot" &&
		pass "a region left by a previous boot (locks of dead threads) is rebuilt; data intact"
	# garbage in every file of the region, nobody using it
	writers
	sleep 0.2
	kill_writers
	region=$(lock_region)
	nf=0
	for r in $region; do
		case $r in /dev/shm/umfs-*) ;; *) continue ;; esac # never anything else
		for f in $(find "$r" -type f 2>/dev/null); do
			head -c "$(stat -c %s "$f")" /dev/urandom >"$f"
			nf=$((nf + 1))
		done
	done
	if [ "$nf" = 0 ]; then
		echo "# no lock region left by the killed writers: garbage step not run"
	else
		if verify "a region full of garbage ($nf files)"; then
			pass "a garbage region ($nf files) is detected and rebuilt; data intact"
		else # so that what follows tests something else
			echo "# removing the garbage region by hand"
			for r in $(lock_region); do rm -rf "$r"; done
		fi
	fi
fi

# 3. mkfs and fsck against a pool in use
mkfifo "$work/release"
LD_PRELOAD=$SHIM_LIB bash -c 'exec 3</umfs/s/f0; read -r _ <"$1"; head -n1 <&3' holder \
	"$work/release" >"$work/holder.out" 2>&1 &
holder=$!
bg_pids+=($holder)
sleep 0.5
sum0=$(md5sum <"$pool")
rc=0
$T "$MKFS" -q -f -s 64M "$pool" >"$work/mkfs.out" 2>&1 || rc=$?
if [ "$rc" != 0 ] && grep -qi "in use" "$work/mkfs.out"; then
	pass "mkfs.umfs -f refuses a pool in use: $(head -1 "$work/mkfs.out")"
else
	fail "mkfs.umfs -f on a pool in use: exit $rc, \"$(head -1 "$work/mkfs.out")\""
fi
check "mkfs left the pool's bytes alone" "$sum0" "$(md5sum <"$pool")"
rc=0
$T "$FSCK" -y -f "$pool" >"$work/fsck-y.out" 2>&1 || rc=$?
if grep -qiE "in use|read-only|checking only" "$work/fsck-y.out"; then
	pass "fsck.umfs -y on a pool in use refuses or only checks (exit $rc): $(grep -iE -m1 'in use|read-only|checking only' "$work/fsck-y.out")"
else
	fail "fsck.umfs -y on a pool in use: exit $rc without saying the pool is in use"
	sed 's/^/  /' "$work/fsck-y.out" | head -5
fi
check "fsck -y left the pool's bytes alone" "$sum0" "$(md5sum <"$pool")"
rc=0
$T "$FSCK" -n -f "$pool" >"$work/fsck-n.out" 2>&1 || rc=$?
echo "# fsck.umfs -n on the pool in use: exit $rc: $(head -1 "$work/fsck-n.out")"
check "fsck -n left the pool's bytes alone" "$sum0" "$(md5sum <"$pool")"
echo x >"$work/release"
wait "$holder" || true
bg_pids=()
check "the holder still reads its file" "1" "$(cat "$work/holder.out")"
verify "after mkfs and fsck were refused" && pass "data intact after the refusals"

# 4. ids of a rebuilt region against ids left in description slots, each
# kind on a pool of its own, whose region starts afresh
lockpy='import fcntl, os, struct, sys, time
kind, what = sys.argv[1], sys.argv[2]
def lock(fd, op):
    if kind == "flock":
        fcntl.flock(fd, {"sh": fcntl.LOCK_SH, "ex": fcntl.LOCK_EX, "try": fcntl.LOCK_EX | fcntl.LOCK_NB}[op])
    else: # F_OFD_SETLK 37, F_OFD_SETLKW 38
        fcntl.fcntl(fd, 37 if op != "ex" else 38,
                    struct.pack("hhqqi", fcntl.F_RDLCK if op == "sh" else fcntl.F_WRLCK, 0, 0, 0, 0))
if what == "keep":   # keeps the pool in use until killed
    os.close(os.open("/umfs/g", os.O_RDWR | os.O_CREAT, 0o644)); time.sleep(60)
elif what == "leave":  # two descriptions, the second locked, closed at exit
    os.open("/umfs/g", os.O_RDWR); lock(os.open("/umfs/g", os.O_RDWR), "sh")
elif what == "hold":
    lock(os.open("/umfs/g", os.O_RDWR), "ex"); open(sys.argv[3], "w").close(); time.sleep(3)
else:
    try: lock(os.open("/umfs/g", os.O_RDWR), "try"); print("granted")
    except OSError as e: print("refused", e.errno)'
for kind in flock ofd; do
	kpool=$work/ids-$kind.pool
	"$MKFS" -q -s 64M "$kpool" || fail "mkfs.umfs $kpool"
	UMFS_POOL=$kpool LD_PRELOAD=$SHIM_LIB python3 -c "$lockpy" "$kind" keep &
	keeper=$!
	bg_pids=($keeper)
	sleep 0.5
	$T env UMFS_POOL="$kpool" LD_PRELOAD="$SHIM_LIB" python3 -c "$lockpy" "$kind" leave
	kill -9 "$keeper"
	wait "$keeper" 2>/dev/null || true
	rm -f "$work/held"
	UMFS_POOL=$kpool LD_PRELOAD=$SHIM_LIB python3 -c "$lockpy" "$kind" hold "$work/held" &
	holder=$!
	bg_pids=($holder)
	for _ in $(seq 100); do [ -e "$work/held" ] && break; sleep 0.05; done
	got=$($T env UMFS_POOL="$kpool" LD_PRELOAD="$SHIM_LIB" python3 -c "$lockpy" "$kind" try 2>&1)
	wait "$holder" || true
	bg_pids=()
	check "$kind: a rebuilt region's lock shuts out another description" "refused 11" "$got"
	rc=0
	$T "$FSCK" -n -f "$kpool" >"$work/fsck-ids.out" 2>&1 || rc=$?
	check "$kind: fsck.umfs -n -f of its pool" 0 "$rc"
done
check_fsck
finish
