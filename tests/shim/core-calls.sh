#!/usr/bin/env bash
# core-calls.sh - the core's own kernel calls do not pass through the shim's
# interposers (they go through the core's table, libumfs/core/os.c). With
# UMFS_LOG=trace every call the shim intercepts is logged, so a run of
# file system work, mount to unmount, must log only calls the programs
# made: none on the pool's runtime directory or its entries, none on
# /proc/thread-self (the core's lock owner check), none on a descriptor in
# the library's own range (from the soft RLIMIT_NOFILE up, or just under
# 4096 when that limit is high: shim_high_fd in libumfs/shim/sys.c).
. "$(dirname "$0")/lib.sh"

log=$work/trace
UMFS_LOG=trace UMFS_LOG_FILE=$log shim bash -c '
	mkdir /umfs/d && echo hi >/umfs/d/f && sync /umfs/d/f &&
	mv /umfs/d/f /umfs/d/g && cat /umfs/d/g >/dev/null && ln -s g /umfs/d/l &&
	ls -l /umfs/d >/dev/null && rm /umfs/d/g /umfs/d/l && rmdir /umfs/d'
check "the run was traced (served calls logged)" "yes" \
	"$(grep -q 'mkdir("/umfs/d", 0777) = 0' "$log" && echo yes || echo no)"
calls=$(grep -E '^umfs\[[0-9]+\]: [a-z_0-9]+\(.*\)( -> kernel| = .*)$' "$log" | sed 's/^umfs\[[0-9]*\]: //')
limit=$(ulimit -Sn)
[ "$limit" = unlimited ] || [ "$limit" -gt 4096 ] && limit=4096
limit=$((limit - 64))
core=$(printf '%s\n' "$calls" | grep -E '/dev/shm/umfs-|/proc/thread-self|"(lock|shared|sock|ofd|arena|shim)"' || true)
high=$(printf '%s\n' "$calls" | awk -F'[(,)]' -v lim="$limit" '$2 ~ /^[0-9]+$/ && $2 + 0 >= lim' || true)
check "no call of the core on its runtime directory or /proc went through the shim" "" "$core"
check "no call on the library's own descriptors went through the shim" "" "$high"
finish
