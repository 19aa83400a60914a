#!/bin/bash
# run.sh - every benchmark in one run, then the report.
#
#   bench/run.sh [--quick|--full] [--build DIR] [--out DIR] [--only "fio sweep ..."]
#                [--no-report]
#
# Runs the measurement scripts beside it one after the other (each sets up
# and tears down the systems it compares, see lib.sh), writes raw results
# (fio JSON, CSV) under --out (default results/DATE-MODE, also linked as
# results/latest), then bench/report.py turns them into docs/performance.md
# and docs/perf/*.png. Ratios between systems only mean something within one
# run: the machine is shared and its speed drifts between runs. Each step
# records its duration, the load average at its start and end, and how many
# cores other processes kept busy meanwhile (the machine's busy time, steal
# included, minus the step's own CPU time), so the report can say which
# figures were taken under load.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
mode=quick build=$src/build out="" report=1
steps="fio floor fresh process sweep jobs overhead opentime meta smallfile apps fallback profile"

while [ $# -gt 0 ]; do
	case $1 in
	--quick) mode=quick ;;
	--full) mode=full ;;
	--build) build=$2; shift ;;
	--out) out=$2; shift ;;
	--only) steps=$2; shift ;;
	--no-report) report=0 ;;
	-h | --help) sed -n '2,16p' "$0"; exit 0 ;;
	*) echo "run.sh: unknown argument '$1'" >&2; exit 2 ;;
	esac
	shift
done

build=$(cd "$build" 2>/dev/null && pwd) || { echo "run.sh: no build directory (build first)" >&2; exit 1; }
[ -n "$out" ] || out=$src/results/$(date +%Y-%m-%d-%H%M%S)-$mode
mkdir -p "$out"
out=$(cd "$out" && pwd)
export BENCH_BUILD=$build BENCH_OUT=$out BENCH_MODE=$mode

info=$out/run.txt
{
	echo "mode=$mode"
	echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "git=${BENCH_GIT:-$(git -C "$src" describe --always --dirty 2>/dev/null || echo unknown)}"
	echo "kernel=$(uname -r)"
	echo "cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
	echo "cores=$(nproc)"
	echo "mem=$(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
	echo "fio=$(fio --version)"
	echo "load_before=$(cut -d' ' -f1-3 /proc/loadavg)"
} >"$info"

# CPU time the whole machine spent busy (user, nice, system, irq, softirq,
# steal), in clock ticks.
machine_busy() {
	awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat
}
# CPU time (user + system) of this shell's waited-for descendants, in ticks,
# into OWN. `times` must run in this shell: in a command substitution it
# would be a new process, without them.
own_busy() {
	times >"$out/.times"
	OWN=$(awk -v hz="$(getconf CLK_TCK)" 'NR == 2 {
		t = 0
		for (i = 1; i <= 2; i++) { split($i, p, /[ms]/); t += p[1] * 60 + p[2] }
		printf "%d\n", t * hz }' "$out/.times")
	rm -f "$out/.times"
}

start=$(date +%s)
for step in $steps; do
	[ -x "$here/$step.sh" ] || { echo "run.sh: no step '$step'" >&2; exit 2; }
	t0=$(date +%s.%N)
	echo "== $step ($mode) ==" >&2
	echo "load_start_$step=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$info"
	own_busy
	busy0=$(machine_busy) own0=$OWN
	if ! "$here/$step.sh"; then
		echo "run.sh: step '$step' failed; raw results so far are in $out" >&2
		exit 1
	fi
	own_busy
	busy1=$(machine_busy) own1=$OWN t1=$(date +%s.%N)
	{
		echo "load_end_$step=$(cut -d' ' -f1-3 /proc/loadavg)"
		awk -v b="$((busy1 - busy0))" -v o="$((own1 - own0))" -v t0="$t0" -v t1="$t1" \
			-v hz="$(getconf CLK_TCK)" -v s="$step" 'BEGIN {
			c = (b - o) / hz / (t1 - t0)
			printf "seconds_%s=%.0f\nothers_cores_%s=%.2f\n", s, t1 - t0, s, c < 0 ? 0 : c }'
	} >>"$info"
done
{
	echo "seconds_total=$(($(date +%s) - start))"
	echo "load_after=$(cut -d' ' -f1-3 /proc/loadavg)"
} >>"$info"

if [ "$(dirname "$out")" = "$src/results" ]; then
	ln -sfn "$(basename "$out")" "$src/results/latest"
fi
echo "run.sh: raw results in $out ($(($(date +%s) - start)) s)" >&2
if [ $report -eq 1 ]; then
	python3 "$here/report.py" "$out" --doc "$src/docs/performance.md" --plots "$src/docs/perf"
fi
