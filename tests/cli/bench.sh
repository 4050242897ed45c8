#!/bin/sh
# onyx bench: the --json line has the documented keys with numbers in order
# min <= median <= max, and --profile lists the op types and nodes that ran.
set -u
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
m=examples/small_cnn/model.onnx
"$ONYX" bench $m --iters 5 --warmup 1 --json >"$tmp/j" 2>/dev/null || { echo "bench --json failed"; exit 1; }
line=$(cat "$tmp/j")
for key in model threads median_ms min_ms max_ms; do
    echo "$line" | grep -q "\"$key\": " || { echo "missing $key in: $line"; exit 1; }
done
echo "$line" | awk -F'[:,}]' '{ for (i = 1; i < NF; i++) v[$i] = $(i + 1) }
    END { if (!(v[" \"min_ms\""] <= v[" \"median_ms\""] && v[" \"median_ms\""] <= v[" \"max_ms\""])) exit 1 }' ||
    { echo "min/median/max out of order: $line"; exit 1; }
"$ONYX" bench $m --iters 3 --warmup 1 --profile >"$tmp/p" 2>/dev/null || { echo "bench --profile failed"; exit 1; }
grep -q '^time per op type' "$tmp/p" && grep -q '^slowest nodes:' "$tmp/p" || { cat "$tmp/p"; exit 1; }
for op in Conv BatchNormalization MaxPool Gemm; do
    grep -q "^  $op " "$tmp/p" || { echo "$op missing from the profile"; cat "$tmp/p"; exit 1; }
done
"$ONYX" bench $m --iters 0 2>/dev/null && { echo "--iters 0 accepted"; exit 1; }
exit 0
