#!/bin/bash
# SPDX-License-Identifier: MIT
# run_cpython.sh MODE BUILDDIR - CPython's own regression tests of the OS
# and file layer (the modules below), written by others who never saw UMFS,
# run by regrtest on the system under test and on a fresh tmpfs, and
# compared test case by test case.
#
#   MODE fuse   TMPDIR in a umfs-fuse mount of a fresh pool
#   MODE shim   regrtest and its workers under LD_PRELOAD=libumfs.so, TMPDIR
#               under the mount prefix /umfs-test-PID
#   MODE tmpfs  TMPDIR in a second tmpfs (tests the comparison itself)
#
# regrtest makes its work directory in TMPDIR and runs each module there,
# in a worker process of its own (-j1) whose output goes to a temporary
# file: the files the tests make, their working directory and the workers'
# stdout are all on the side's file system. Both sides run Debian's
# /usr/bin/python3 (not whatever python3 comes first on PATH) with the same
# environment but for TMPDIR and, for shim, the library's variables;
# LC_ALL=C on both, since the locale changes what some cases expect. The
# two sides run at the same time.
#
# Each module prints "ok - MODULE" or "not ok - MODULE: why" with the cases
# that differ (compare_cpython.py); a case listed in known-cpython.txt for
# MODE may differ as listed, and one listed that no longer differs is
# reported without failing. On UMFS the pool is then unmounted and
# fsck.umfs -n -f must find it clean. Last "cpython: N passed, M failed, K
# skipped". Exits 1 when M > 0, 77 when MODE or the Python test package
# (Debian: libpython3.11-testsuite) is missing here. On 2 cores beside
# other tests, the sides at once: about 2.5 minutes for shim (tmpfs's
# side 1.8, the shim's 2.2), more for fuse.
#
# CPYTHON_ONLY=test_os,test_glob runs only those modules (BY_HAND's too).
# CPYTHON_SABOTAGE=CASE (test.test_x.Class.test_y) makes that case fail on
# the side under test, so that the comparison can be seen to catch it;
# CPYTHON_KNOWN=FILE reads the known differences from FILE.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/../posix/frontend.sh"
fe_require

# The modules: the os, posix, io and file layers, paths, temporary files,
# locking and mapping, and the formats and caches that live in files;
# processes (subprocess, readiness, scripts run from files), whose
# children inherit descriptors and directories in the file system.
# test_sqlite3 is not in Debian's test package (run_programs.sh drives
# sqlite3); test_logging and test_signal are left out for their time (half
# a minute and more each on tmpfs, mostly sleeps), test_socketserver as
# regrtest runs it without its network resource. BY_HAND are left out
# for CI's time, each with a module above that makes the same calls, and
# run when CPYTHON_ONLY names them:
# - test_subprocess (91 s under the shim, 45 on tmpfs: hundreds of Python
#   processes): its descriptors and working directories are test_os's and
#   test_popen's calls; shim-processes, shim-vfork and shim-ofd test
#   posix_spawn, vfork and close_range in the children;
# - test_compileall (35 s: py_compile's and import's files, in many
#   processes);
# - test_bz2 and test_lzma: whole-file reads and writes, as gzip, zipfile
#   and tarfile make;
# - test_poll: pipes and sockets, as select and epoll; 12 s of sleeps.
MODULES=(
	test_os test_posix test_shutil test_tempfile test_fileio test_io test_file
	test_largefile test_fcntl test_mmap test_pty test_stat
	test_glob test_pathlib test_genericpath test_posixpath test_filecmp test_fileinput
	test_dbm test_dbm_dumb test_dbm_ndbm test_shelve test_mailbox
	test_py_compile test_import test_importlib test_zipimport
	test_pkgutil test_linecache
	test_zipfile test_tarfile test_gzip test_zipapp test_sqlite3
	test_select test_epoll test_popen test_cmd_line_script
	test_runpy test_unicode_file test_unicode_file_functions
)
BY_HAND=(test_subprocess test_compileall test_bz2 test_lzma test_poll)
py=/usr/bin/python3
known=${CPYTHON_KNOWN:-$here/known-cpython.txt}

[ -x "$py" ] || fe_skip "$py is not installed (Debian: python3)"
pyver=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
"$py" -c 'import test.libregrtest, test.test_os' 2>/dev/null ||
	fe_skip "Python's test package is missing (Debian: libpython$pyver-testsuite)"

# Modules this Python's test package has; the others are reported skipped.
mods=()
for m in "${MODULES[@]}" ${CPYTHON_ONLY:+"${BY_HAND[@]}"}; do
	[ -n "${CPYTHON_ONLY:-}" ] && [[ ",$CPYTHON_ONLY," != *",$m,"* ]] && continue
	mods+=("$m")
done
mapfile -t present < <("$py" -c 'import importlib.util, sys
for m in sys.argv[1:]:
    if importlib.util.find_spec("test." + m):
        print(m)' "${mods[@]}")
skipped=0
for m in "${mods[@]}"; do
	if [[ " ${present[*]} " != *" $m "* ]]; then
		echo "ok - $m # SKIP not in this Python's test package"
		skipped=$((skipped + 1))
	fi
done
[ "${#present[@]}" -gt 0 ] || fe_skip "none of the modules asked for is in the test package"

# The same environment on both sides, whatever the caller's (meson's own
# variables, a pyenv's PYTHONPATH).
base_env=(env -i "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	"HOME=${HOME:-/root}" LC_ALL=C PMEM_IS_PMEM_FORCE=1 UMFS_KMOD=0)
# regrtest's own limit per module (it kills the worker), then ours per side:
# more than twice the 399 s the shim's side took beside the other lane of
# `make test`, within meson's 1,200 s for the test
regrtest=("$py" -m test -j1 --timeout 300 --junit-xml)

# run_side NAME TMPDIR [VAR=VALUE... env...]: one regrtest run, its log and
# XML in $FE_TMP/NAME.{log,xml}, the seconds it took in $FE_TMP/NAME.secs.
run_side() {
	local name=$1 tmp=$2 t0 rc=0
	shift 2
	t0=$(date +%s.%N)
	(cd "$FE_TMP" && timeout -k 10 900 "${base_env[@]}" "TMPDIR=$tmp" "$@" \
		"${regrtest[@]}" "$FE_TMP/$name.xml" "${present[@]}" >"$FE_TMP/$name.log" 2>&1 </dev/null) ||
		rc=$?
	# 2: a test failed; other than 0 and 2, regrtest or the timeout stopped
	[ "$rc" = 0 ] || [ "$rc" = 2 ] || echo "== regrtest exited with $rc" >>"$FE_TMP/$name.log"
	awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", b - a }' >"$FE_TMP/$name.secs"
}

# Short TMPDIRs, of one length on both sides: the deepest path a case
# makes is TMPDIR and some 70 bytes (regrtest's directory, its worker's
# and the case's, each named with a pid), and one case binds an AF_UNIX
# socket there, which takes at most 107 bytes and skips itself beyond:
# under $FE_TMP it would pass or skip by the number of digits in the pids.
shorts=()
ref_tmp=
sut_tmp=
# short_dir VAR: a new directory /dev/shm/umfs-cpy.XXXXXX in VAR
short_dir() {
	local d
	d=$(mktemp -d /dev/shm/umfs-cpy.XXXXXX)
	shorts+=("$d")
	printf -v "$1" %s "$d"
}
cleanup() {
	fe_cleanup
	# after fe_cleanup's unmounts
	[ "${#shorts[@]}" = 0 ] || rm -rf --one-file-system "${shorts[@]}"
}
trap cleanup EXIT

short_dir ref_tmp
fe_tmpfs "$ref_tmp"
chmod 1777 "$ref_tmp"
[ "$FE_MODE" != fuse ] || short_dir FE_MNT # where fe_start mounts
FE_POOL_SIZE=1G fe_start
case $FE_MODE in
fuse) sut_tmp=$FE_ROOT ;;
shim) sut_tmp=$FE_ROOT/tmp ;; # /umfs-test-PID/tmp: shorter, padded below
tmpfs) short_dir sut_tmp && fe_tmpfs "$sut_tmp" ;;
esac
while [ ${#sut_tmp} -lt ${#ref_tmp} ]; do sut_tmp+=_; done
if ! "${FE_RUN[@]}" mkdir -p "$sut_tmp" || ! "${FE_RUN[@]}" chmod 1777 "$sut_tmp"; then
	echo "not ok - a sticky TMPDIR $sut_tmp on $FE_MODE"
	echo "cpython: 0 passed, 1 failed, $skipped skipped"
	exit 1
fi
sut_vars=()
if [ -n "${CPYTHON_SABOTAGE:-}" ]; then
	# every Python of the side imports it, and fails that one case
	mkdir -p "$FE_TMP/sabotage"
	cat >"$FE_TMP/sabotage/sitecustomize.py" <<'EOF'
import os, unittest
_case, _run = os.environ["CPYTHON_SABOTAGE"], unittest.TestCase.run
def _sabotaged(self, result=None):
    if self.id() == _case:
        setattr(self, self._testMethodName, lambda: self.fail("sabotaged"))
    return _run(self, result)
unittest.TestCase.run = _sabotaged
EOF
	sut_vars=("PYTHONPATH=$FE_TMP/sabotage" "CPYTHON_SABOTAGE=$CPYTHON_SABOTAGE")
fi
# The two sides run at once, one worker each: the test has the machine to
# itself, so each has a core, and both see the same load (cases with
# timeouts see it alike). One after the other took twice as long.
run_side ref "$ref_tmp" &
ref_pid=$!
run_side sut "$sut_tmp" "${sut_vars[@]}" "${FE_RUN[@]}"
wait "$ref_pid"
echo "# regrtest: tmpfs $(cat "$FE_TMP/ref.secs") s, $FE_MODE $(cat "$FE_TMP/sut.secs") s"
for side in ref sut; do
	if grep -q "^== regrtest exited" "$FE_TMP/$side.log"; then
		echo "# $side: $(tail -n 1 "$FE_TMP/$side.log"); its log ends with:"
		tail -n 15 "$FE_TMP/$side.log" | sed 's/^/#   /'
	fi
done

rc=0
"$py" "$here/compare_cpython.py" "$FE_MODE" "$known" "$FE_TMP/ref.xml" "$FE_TMP/ref.log" \
	"$FE_TMP/sut.xml" "$FE_TMP/sut.log" "${present[@]}" >"$FE_TMP/compare" || rc=$?
grep -v '^@counts ' "$FE_TMP/compare" || :
read -r _ pass fail < <(grep '^@counts ' "$FE_TMP/compare" || echo "@counts 0 1")
[ "$rc" -le 1 ] || { echo "not ok - compare_cpython.py exited with $rc"; fail=$((fail + 1)); }

# No file the tests left may have damaged the pool, through an unmount.
if ! fe_stop; then
	echo "not ok - unmount"
	fail=$((fail + 1))
elif [ "$FE_MODE" != tmpfs ]; then
	if fe_fsck >"$FE_TMP/fsck.log" 2>&1; then
		echo "ok - fsck.umfs -n -f: clean after the tests"
		pass=$((pass + 1))
	else
		echo "not ok - fsck.umfs -n -f: the pool is not clean after the tests"
		cat "$FE_TMP/fsck.log"
		fail=$((fail + 1))
	fi
fi
echo "cpython: $pass passed, $fail failed, $skipped skipped"
[ "$fail" = 0 ]
