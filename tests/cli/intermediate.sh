#!/bin/sh
# `onyx run -o <intermediate> --outdir D` writes that value and runs only the nodes it
# needs: the trace shows Conv, BatchNormalization, Relu, MaxPool ran, and nothing after
# them did.
set -u
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ex=examples/small_cnn
"$ONYX" run $ex/model.onnx -i x=$ex/test_data_set_0/input_0.pb \
    -o /features/features.3/MaxPool_output_0 --outdir "$tmp/out" --trace >"$tmp/stdout" 2>"$tmp/trace" || {
    echo "onyx run failed"; cat "$tmp/trace"; exit 1; }
f="$tmp/out/_features_features.3_MaxPool_output_0.npy"
[ -s "$f" ] || { echo "missing $f"; ls "$tmp/out"; exit 1; }
grep -q "^/features/features.3/MaxPool_output_0: float32\[1,8,8,8\]" "$tmp/stdout" || {
    echo "unexpected output line:"; cat "$tmp/stdout"; exit 1; }
ran=$(grep -c '^trace: ran node' "$tmp/trace")
[ "$ran" -eq 4 ] || { echo "expected 4 nodes to run, got $ran"; cat "$tmp/trace"; exit 1; }
for op in Conv BatchNormalization Relu MaxPool; do
    grep -q "($op)" "$tmp/trace" || { echo "$op did not run"; exit 1; }
done
for op in GlobalAveragePool Flatten Gemm; do
    if grep -q "($op)" "$tmp/trace"; then echo "$op ran but is not needed"; exit 1; fi
done
# the full run, for contrast, runs all 10 nodes
"$ONYX" run $ex/model.onnx -i x=$ex/test_data_set_0/input_0.pb --trace >/dev/null 2>"$tmp/trace2"
all=$(grep -c '^trace: ran node' "$tmp/trace2")
[ "$all" -eq 10 ] || { echo "expected 10 nodes in the full run, got $all"; exit 1; }
