#!/bin/sh
# make fuzz FUZZ_SECONDS=N: build the libFuzzer targets (clang, ASan + UBSan) and run
# each for N seconds. Seeds: the example and test models, and the ONNX conformance
# models (copied into the build folder, read from $ONYX_ONNX_TESTS). New corpus
# entries stay in build-fuzz/corpus/<target>; a crash leaves its input in
# build-fuzz/ — keep it as fuzz/regressions/<target>/<name> once fixed (make test
# replays those). FUZZ_BUILD picks another build folder. The last lines of each log
# give the executions (stat::number_of_executed_units) for docs/robustness.md.
set -eu
SECONDS_EACH=${FUZZ_SECONDS:-60}
B=${FUZZ_BUILD:-build-fuzz}
DATA=${ONYX_ONNX_TESTS:-../shared/onnx-tests}
make -s -j2 BUILD="$B" CC=clang FUZZ=1 fuzz-targets
mkdir -p "$B/seeds"
i=0
for f in examples/*/model.onnx tests/models/*/model.onnx; do
    cp "$f" "$B/seeds/local_$i.onnx"; i=$((i + 1))
done
if [ -d "$DATA" ]; then
    for f in "$DATA"/*/*/model.onnx; do
        cp "$f" "$B/seeds/conf_$i.onnx"; i=$((i + 1))
    done
fi
status=0
for t in load run; do
    mkdir -p "$B/corpus/$t"
    echo "== fuzz_$t for $SECONDS_EACH s"
    # -rss_limit_mb bounds memory; the targets' allocator refuses blocks over 64 MiB
    if ! (cd "$B" && ./fuzz_$t -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 -timeout=10 \
        -print_final_stats=1 corpus/$t seeds >fuzz_$t.log 2>&1); then
        status=1
    fi
    tail -n 12 "$B/fuzz_$t.log"
    for f in "$B"/crash-* "$B"/leak-* "$B"/timeout-* "$B"/oom-*; do
        if [ -e "$f" ]; then
            echo "finding: $f"
            status=1
        fi
    done
done
exit $status
