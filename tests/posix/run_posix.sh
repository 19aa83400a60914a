#!/bin/bash
# SPDX-License-Identifier: MIT
# run_posix.sh MODE BUILDDIR - the POSIX conformance program (posix_test)
# on a fresh tmpfs (the reference) and on the system under test, compared
# check by check.
#
#   MODE fuse   inside a umfs-fuse mount of a fresh pool
#   MODE shim   under the LD_PRELOAD library, UMFS_MOUNT=/umfs-test-PID
#   MODE tmpfs  in a second tmpfs (tests the comparison itself)
#
# A check whose lines differ fails, unless tests/posix/known-MODE.txt names
# it, with the reason, as a known difference: those are listed and counted
# apart. The unmount (fuse) and fsck.umfs -n -f of the pool count as checks
# too. The last line is "posix: N passed, M failed"; the exit status is 1
# when M > 0, 77 when MODE cannot run here (the reason is printed).
#
# POSIX_SOFT_NOFILE=N runs both sides under a soft RLIMIT_NOFILE of N (the
# hard one unchanged), and POSIX_FAMILIES="F ..." runs only those families.
#
# POSIX_SABOTAGE=CHECK alters that check's line in the output under test,
# so that the comparison can be seen to catch it, and POSIX_KNOWN=FILE
# replaces the list of known differences (tests/posix/selftest.sh).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/frontend.sh"

posix_test=$FE_BUILD/tests/posix/posix_test
known=${POSIX_KNOWN:-$here/known-$FE_MODE.txt}
[ -x "$posix_test" ] || { echo "FAIL: $posix_test was not built"; exit 1; }
fe_require
if [ -n "${POSIX_SOFT_NOFILE:-}" ]; then
	ulimit -Sn "$POSIX_SOFT_NOFILE"
	fe_log "soft RLIMIT_NOFILE $(ulimit -Sn), hard $(ulimit -Hn)"
fi
read -r -a families <<<"${POSIX_FAMILIES:-}"

ref=$FE_TMP/ref
fe_tmpfs "$ref"
mkdir "$ref/posix"
chmod 755 "$ref/posix"
fe_log "reference: tmpfs"
# a directory on another file system, for the calls across file systems
outside=$(mktemp -d "${TMPDIR_OUTSIDE:-/var/tmp}/umfs-posix-outside.XXXXXX")
trap 'rm -rf "$outside"; fe_cleanup' EXIT
POSIX_OUTSIDE=$outside timeout 600 "$posix_test" "$ref/posix" "${families[@]}" >"$FE_TMP/ref.out" 2>"$FE_TMP/ref.err" || {
	echo "FAIL: posix_test on tmpfs exited with $?"
	sed 's/^/# /' "$FE_TMP/ref.err"
	exit 1
}

fe_start
extra_fail=0
extra_pass=0
fe_log "system under test: $FE_MODE"
if ! "${FE_RUN[@]}" mkdir -m 755 "$FE_ROOT/posix"; then
	echo "not ok - mkdir $FE_ROOT/posix on $FE_MODE"
	echo "posix: 0 passed, 1 failed"
	exit 1
fi
t0=$(date +%s.%N)
rc=0
POSIX_OUTSIDE=$outside timeout 600 "${FE_RUN[@]}" "$posix_test" "$FE_ROOT/posix" "${families[@]}" >"$FE_TMP/sut.out" 2>"$FE_TMP/sut.err" || rc=$?
t1=$(date +%s.%N)
fe_log "posix_test on $FE_MODE: $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s"
if [ "$rc" != 0 ]; then
	echo "not ok - posix_test on $FE_MODE exited with $rc"
	sed -n '1,40s/^/# stderr: /p' "$FE_TMP/sut.err"
	extra_fail=$((extra_fail + 1))
fi
if [ -n "${POSIX_SABOTAGE:-}" ]; then
	awk -v n="$POSIX_SABOTAGE: " 'index($0, n) == 1 { $0 = $0 " (sabotaged)" } { print }' \
		"$FE_TMP/sut.out" >"$FE_TMP/sut.tmp"
	mv "$FE_TMP/sut.tmp" "$FE_TMP/sut.out"
fi

# What must survive: the tree as left, through an unmount and a mount.
fe_snapshot "$FE_ROOT/posix" >"$FE_TMP/before" 2>&1 || true
if fe_stop; then
	extra_pass=$((extra_pass + 1))
	echo "ok - unmount"
else
	echo "not ok - unmount"
	extra_fail=$((extra_fail + 1))
fi
if [ "$FE_MODE" != tmpfs ]; then
	if fe_fsck; then
		extra_pass=$((extra_pass + 1))
		echo "ok - fsck.umfs -n -f: clean"
	else
		echo "not ok - fsck.umfs -n -f: the pool is not clean"
		extra_fail=$((extra_fail + 1))
	fi
	fe_remount
	fe_snapshot "$FE_ROOT/posix" >"$FE_TMP/after" 2>&1 || true
	fe_stop || true
	if cmp -s "$FE_TMP/before" "$FE_TMP/after"; then
		extra_pass=$((extra_pass + 1))
		echo "ok - the tree survived unmount and mount ($(wc -l <"$FE_TMP/after") lines)"
	else
		echo "not ok - the tree changed across unmount and mount"
		{ diff -u --label before --label after "$FE_TMP/before" "$FE_TMP/after" || :; } |
			sed -n '3,22s/^/#   /p'
		extra_fail=$((extra_fail + 1))
	fi
fi

# The comparison, by check name (the text before the first ": "). Lines of
# one name are taken together; "setup" lines are one such group.
[ -f "$known" ] || known=/dev/null
awk -v known="$known" -v mode="$FE_MODE" -v xpass="$extra_pass" -v xfail="$extra_fail" '
	function name_of(l,   i) { i = index(l, ": "); return i ? substr(l, 1, i - 1) : l }
	BEGIN {
		while ((getline l < known) > 0) {
			if (l ~ /^[ \t]*(#|$)/)
				continue
			n = l; sub(/[ \t].*/, "", n)
			why = l; sub(/^[^ \t]+[ \t]+/, "", why)
			reason[n] = why
		}
	}
	FNR == 1 { file++ }
	{
		n = name_of($0)
		if (!(n in seen)) { seen[n] = 1; order[++count] = n }
		if (file == 1) ref[n] = ref[n] $0 "\n"; else sut[n] = sut[n] $0 "\n"
	}
	END {
		for (i = 1; i <= count; i++) {
			n = order[i]
			if (ref[n] == sut[n]) {
				pass++
				if (n in reason)
					printf "# known-%s.txt: %s no longer differs: remove it\n", mode, n
				continue
			}
			if (n in reason) {
				nknown++
				printf "known - %s: %s\n", n, reason[n]
				continue
			}
			fail++
			printf "not ok - %s\n", n
			a = ref[n]; b = sut[n]
			gsub(/\n$/, "", a); gsub(/\n$/, "", b)
			gsub(/\n/, "\n#   tmpfs: ", a); gsub(/\n/, "\n#   " mode ": ", b)
			printf "#   tmpfs: %s\n#   %s: %s\n", a == "" ? "(no such line)" : a, mode, b == "" ? "(no such line)" : b
		}
		for (n in reason)
			if (!(n in seen))
				printf "# known-%s.txt: %s is not a check: remove it\n", mode, n
		printf "posix: %d known differences (known-%s.txt), not counted\n", nknown, mode
		printf "posix: %d passed, %d failed\n", pass + xpass, fail + xfail
		exit (fail + xfail) > 0
	}' "$FE_TMP/ref.out" "$FE_TMP/sut.out"
