#!/bin/sh
# install-bench-deps.sh - the Debian packages only the benchmarks need, on top
# of tools/install-deps.sh (which brings fio, e2fsprogs, fuse3, python3);
# git, tar, find and cp again for bench/fresh.sh, which runs them;
# rocksdb-tools for db_bench (bench/apps.sh).
# Installs only what is missing; safe to run again; never prompts.
set -eu

exec sh "$(dirname "$0")/../tools/install-deps.sh" \
	gnuplot-nox postmark dbench linux-perf valgrind e2fsprogs util-linux fio python3 \
	git tar findutils coreutils rocksdb-tools
