#!/bin/bash
# SPDX-License-Identifier: MIT
# fuse.sh - multi-fuse: a umfs-fuse mount and processes under the library
# on the same pool at the same time, each seeing the other's changes at
# once: create, read, overwrite, interleaved and concurrent appends,
# rename, unlink, mkdir/rmdir, in both directions; a mount while a library
# process holds the pool. Then unmount and fsck. Every command has a
# timeout: a refusal or a deadlock fails with a message, never hangs.
. "$(dirname "$0")/lib.sh"

fuse_usable || exit 77
make_pool 128M
T="timeout -s KILL 20"

# 1. a library process holds the pool; then umfs-fuse mounts it
mkfifo "$work/release"
shim bash -c 'echo hold >/umfs/hold; exec 3</umfs/hold; read -r _ <"$1"; cat <&3' holder \
	"$work/release" >"$work/holder.out" 2>&1 &
holder=$!
bg_pids+=($holder)
for _ in $(seq 100); do [ -s "$work/holder.out" ] || [ -n "$(lock_region)" ] && break; sleep 0.05; done
sleep 0.2
if ! mount_fuse; then
	fail "umfs-fuse refused to mount a pool a library process is using:"
	sed 's/^/  daemon: /' "$work/daemon.log" | head -5
	echo x >"$work/release"
	wait "$holder" 2>/dev/null || true
	unmount_fuse
	mount_fuse || { fail "umfs-fuse does not mount the idle pool either"; finish; }
else
	pass "umfs-fuse mounted a pool a library process holds"
	check "the holder's file through FUSE" "hold" "$($T cat "$mnt/hold" 2>&1)"
	echo x >"$work/release"
	wait "$holder" 2>/dev/null || true
	check "the holder read its file while FUSE served the pool" "hold" "$(cat "$work/holder.out")"
fi

# 2. the library beside a live mount
out=$($T env LD_PRELOAD="$SHIM_LIB" stat -c %F /umfs 2>&1) || true
if [ "$out" != directory ]; then
	fail "a library process cannot use the pool umfs-fuse serves (stat /umfs: $out)"
	unmount_fuse
	check_fsck
	finish
fi
pass "a library process uses the pool while umfs-fuse serves it"

# FUSE -> library
printf 'fuse-1\n' >"$mnt/a"
check "create through FUSE, read by the library" "fuse-1" "$($T env LD_PRELOAD="$SHIM_LIB" cat /umfs/a 2>&1)"
check "its size through the library" "7" "$($T env LD_PRELOAD="$SHIM_LIB" stat -c %s /umfs/a 2>&1)"
# library -> FUSE
$T env LD_PRELOAD="$SHIM_LIB" bash -c 'printf "shim-22\n" >/umfs/b' || fail "library create"
check "create by the library, read through FUSE" "shim-22" "$($T cat "$mnt/b" 2>&1)"
check "its size through FUSE" "8" "$($T stat -c %s "$mnt/b" 2>&1)"
# an overwrite of a file FUSE has read (the kernel's page cache)
$T cat "$mnt/b" >/dev/null
$T env LD_PRELOAD="$SHIM_LIB" bash -c 'printf "SHIM-33\n" 1<>/umfs/b' || fail "library overwrite"
check "overwrite by the library seen through FUSE" "SHIM-33" "$($T cat "$mnt/b" 2>&1)"
printf 'FUSE-1\n' 1<>"$mnt/a"
check "overwrite through FUSE seen by the library" "FUSE-1" "$($T env LD_PRELOAD="$SHIM_LIB" cat /umfs/a 2>&1)"
# interleaved appends, one at a time from each side
want=
for i in $(seq 1 20); do
	if [ $((i % 2)) = 1 ]; then
		echo "F$i" >>"$mnt/log"
	else
		$T env LD_PRELOAD="$SHIM_LIB" bash -c "echo S$i >>/umfs/log"
	fi
	want+="$([ $((i % 2)) = 1 ] && echo F || echo S)$i "
done
check "interleaved appends, read through FUSE" "$want" "$(tr '\n' ' ' <"$mnt/log")"
check "interleaved appends, read by the library" "$want" "$($T env LD_PRELOAD="$SHIM_LIB" cat /umfs/log | tr '\n' ' ')"
# concurrent appends from both sides: every line once, each side in order
if [ "$FULL" = 1 ]; then n=3000; else n=300; fi
$T env LD_PRELOAD="$SHIM_LIB" bash -c "for i in \$(seq $n); do echo S\$i >>/umfs/clog; done" &
p=$!
for i in $(seq "$n"); do echo "F$i" >>"$mnt/clog"; done
wait $p || fail "concurrent library appender"
lines=$(wc -l <"$mnt/clog")
check "concurrent appends: line count" "$((2 * n))" "$lines"
check "concurrent appends: FUSE's lines in order" "$(seq -f 'F%g' "$n")" "$(grep '^F' "$mnt/clog")"
check "concurrent appends: the library's lines in order" "$(seq -f 'S%g' "$n")" "$(grep '^S' "$mnt/clog")"
check "concurrent appends: no torn line" "" "$(grep -vE '^[FS][0-9]+$' "$mnt/clog" | head -3)"
check "concurrent appends: both sides read the same" "$(md5sum <"$mnt/clog")" \
	"$($T env LD_PRELOAD="$SHIM_LIB" cat /umfs/clog | md5sum)"
# rename and unlink, both ways
mv "$mnt/a" "$mnt/a2"
check "rename through FUSE, seen by the library" "gone FUSE-1" \
	"$($T env LD_PRELOAD="$SHIM_LIB" bash -c 'echo "$([ -e /umfs/a ] && echo there || echo gone) $(cat /umfs/a2)"')"
$T env LD_PRELOAD="$SHIM_LIB" mv /umfs/b /umfs/b2
check "rename by the library, seen through FUSE" "gone SHIM-33" \
	"$([ -e "$mnt/b" ] && echo there || echo gone) $(cat "$mnt/b2" 2>&1)"
$T env LD_PRELOAD="$SHIM_LIB" rm /umfs/a2
check "unlink by the library, seen through FUSE" "gone" "$([ -e "$mnt/a2" ] && echo there || echo gone)"
rm "$mnt/b2"
check "unlink through FUSE, seen by the library" "gone" \
	"$($T env LD_PRELOAD="$SHIM_LIB" bash -c '[ -e /umfs/b2 ] && echo there || echo gone')"
$T env LD_PRELOAD="$SHIM_LIB" mkdir /umfs/dir
check "mkdir by the library, listed through FUSE" "clog dir hold log" "$(ls "$mnt" | tr '\n' ' ' | sed 's/ $//')"
rmdir "$mnt/dir"
check "rmdir through FUSE, listed by the library" "clog hold log" \
	"$($T env LD_PRELOAD="$SHIM_LIB" ls /umfs | tr '\n' ' ' | sed 's/ $//')"
# flock is one table for both sides: a library process and a FUSE client
# see each other's locks, and a holder killed with SIGKILL releases them.
# Each holder says when it holds (a file it makes under the lock), so that
# the checks meet a held lock on a loaded machine too.
held() { # held FILE: until the holder made FILE, at most 10 s
	for _ in $(seq 200); do [ -e "$1" ] && return 0; sleep 0.05; done
	return 1
}
: >"$mnt/lk"
$T env LD_PRELOAD="$SHIM_LIB" flock -x /umfs/lk sh -c ': >"$1"; sleep 3' sh "$work/held1" &
p=$!
held "$work/held1"
check "flock held by the library, seen through FUSE" "busy" \
	"$(flock -n -x "$mnt/lk" true && echo free || echo busy)"
check "flock through FUSE waits for the library's holder" "got it" \
	"$(timeout 10 flock -x "$mnt/lk" echo got it)"
wait $p || true
flock -x "$mnt/lk" sh -c ': >"$1"; sleep 3' sh "$work/held2" &
p=$!
held "$work/held2"
check "flock held through FUSE, seen by the library" "busy" \
	"$($T env LD_PRELOAD="$SHIM_LIB" bash -c 'flock -n -x /umfs/lk true && echo free || echo busy')"
check "the library waits for the FUSE client's flock" "got it" \
	"$($T env LD_PRELOAD="$SHIM_LIB" timeout 10 flock -x /umfs/lk echo got it)"
wait $p || true
# -o: the command holds nothing; the shell it runs says the lock is held
env LD_PRELOAD="$SHIM_LIB" flock -o -x /umfs/lk sh -c ': >"$1"; exec sleep 60' sh "$work/held3" &
p=$!
held "$work/held3"
pkill -9 -P "$p" 2>/dev/null || true
kill -9 "$p" 2>/dev/null || true # gone already when its child was
wait $p 2>/dev/null || true
check "a library holder killed with SIGKILL: FUSE's flock gets the lock" "got it" \
	"$(timeout 10 flock -x "$mnt/lk" echo got it)"

unmount_fuse
check_fsck
finish
