#!/bin/sh
# make bench: time onyx next to ONNX Runtime's CPU library and write docs/performance.md.
#   BUILD=build sh bench/run.sh [bench.py options] [model...]
# Needs node + npm (the comparison runtime comes from npm: onnxruntime-node, installed into
# bench/node_modules with --ignore-scripts, since its bundled CPU library is all we use),
# Debian's python3-torch/python3-torchvision/python3-onnx for the models, and GNU time.
# Knobs: BENCH_ROUNDS (6), BENCH_BUDGET_MS (1000 ms of timed runs per process), BENCH_THREADS (1,2).
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
PY=/usr/bin/python3

if [ ! -f bench/node_modules/onnxruntime-node/package.json ]; then
    command -v npm >/dev/null || { echo "bench: needs node and npm" >&2; exit 1; }
    echo "== installing onnxruntime-node into bench/node_modules" >&2
    (cd bench && npm install --ignore-scripts --no-audit --no-fund --no-package-lock)
fi

# Debian packages: GNU time for peak RSS, torch/torchvision/onnx to export the models,
# OpenBLAS for the SGEMM table. Installed when missing and we may; else named.
missing=""
[ -x /usr/bin/time ] || missing="$missing time"
$PY -c 'import numpy' >/dev/null 2>&1 || missing="$missing python3-numpy"
$PY -c 'import torch' >/dev/null 2>&1 || missing="$missing python3-torch"
$PY -c 'import torchvision' >/dev/null 2>&1 || missing="$missing python3-torchvision"
$PY -c 'import onnx' >/dev/null 2>&1 || missing="$missing python3-onnx"
pkg-config --exists openblas 2>/dev/null || missing="$missing libopenblas-dev pkg-config"
if [ -n "$missing" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "== installing$missing" >&2
        (apt-get update -qq && apt-get install -y -qq $missing) >/dev/null
    else
        echo "bench: needs the Debian packages$missing" >&2
        exit 1
    fi
fi

echo "== models (tools/make_bench_models.py; existing ones are kept)" >&2
$PY tools/make_bench_models.py

exec $PY bench/bench.py --onyx "$BUILD/onyx" --build "$BUILD" --out docs/performance.md "$@"
