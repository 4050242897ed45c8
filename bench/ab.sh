#!/bin/sh
# Compare two builds of onyx on one model on a noisy machine: short runs of A and B
# alternate (A B, B A, ...) so both see the same phases of the machine, and the figure
# is the median of the per-pair ratios B/A (with its quartiles).
#
#   sh bench/ab.sh A_BUILD B_BUILD MODEL.onnx [THREADS] [PAIRS] [-i NAME=FILE.npy]...
#
# e.g. build the old commit into /tmp/b-old (make BUILD=/tmp/b-old) and compare:
#   sh bench/ab.sh /tmp/b-old build bench/models/resnet18.onnx 2 10 \
#       -i input=bench/models/resnet18.input.npy
set -eu
[ $# -ge 3 ] || { sed -n '2,10p' "$0" >&2; exit 2; }
A=$1 B=$2 M=$3
shift 3
T=1 P=10
case "${1:-}" in [0-9]*) T=$1; shift ;; esac
case "${1:-}" in [0-9]*) P=$1; shift ;; esac
# with fewer threads than CPUs, both runs of a pair go on the same CPUs (taskset), the
# next ones each pair: this VM's CPUs can differ in speed for minutes at a time
NCPU=$(nproc 2>/dev/null || echo 1)
PIN=""
one() {
    d=$1
    shift
    $PIN "$d/onyx" bench "$M" "$@" --threads "$T" --iters 10 --warmup 3 --json 2>/dev/null |
        sed 's/.*"median_ms": *\([0-9.]*\).*/\1/'
}
i=0
while [ $i -lt "$P" ]; do
    if [ "$T" -lt "$NCPU" ] && command -v taskset >/dev/null 2>&1; then
        c0=$(( (i * T) % (NCPU - T + 1) ))
        PIN="taskset -c $c0-$((c0 + T - 1))"
    fi
    if [ $((i % 2)) = 0 ]; then a=$(one "$A" "$@"); b=$(one "$B" "$@")
    else b=$(one "$B" "$@"); a=$(one "$A" "$@"); fi
    echo "$a $b"
    i=$((i + 1))
done | /usr/bin/python3 -c '
import sys, statistics as st
p = [tuple(map(float, l.split())) for l in sys.stdin if len(l.split()) == 2]
r = sorted(b / a for a, b in p)
q = lambda f: r[min(len(r) - 1, int(f * len(r)))]
print("A median %.3f ms, B median %.3f ms; B/A per pair: median %.3f (quartiles %.3f, %.3f; %d pairs)"
      % (st.median(a for a, _ in p), st.median(b for _, b in p), st.median(r), q(.25), q(.75), len(r)))'
