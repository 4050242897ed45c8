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

if [ ! -x /usr/bin/time ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "== installing GNU time (Debian package 'time')" >&2
        apt-get install -y -qq time >/dev/null
    else
        echo "bench: needs /usr/bin/time (Debian package 'time')" >&2
        exit 1
    fi
fi

echo "== models (tools/make_bench_models.py; existing ones are kept)" >&2
$PY tools/make_bench_models.py

exec $PY bench/bench.py --onyx "$BUILD/onyx" --build "$BUILD" --out docs/performance.md "$@"
