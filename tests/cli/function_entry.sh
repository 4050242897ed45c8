#!/bin/sh
# Calling a model-local function by itself gives the value the full graph computes
# for that call: Dense (nested call to ScaledTanh, attributes by reference) and
# ScaledTanh, against the intermediate values h1 and y of examples/functions.
set -u
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
m=examples/functions/model.onnx
x=examples/functions/test_data_set_0/input_0.pb
"$ONYX" run $m -i x=$x -o w1 -o b1 -o h1 -o h2 -o y --outdir "$tmp/full" >/dev/null || exit 1
"$ONYX" run $m --function onyx.examples:Dense --attr scale=2.0 --attr slope=0.1 \
    -i X=$x -i W="$tmp/full/w1.npy" -i B="$tmp/full/b1.npy" --outdir "$tmp/dense" >"$tmp/dense.txt" || exit 1
grep -q '^Y: float32\[2,6\]' "$tmp/dense.txt" || { echo "unexpected:"; cat "$tmp/dense.txt"; exit 1; }
cmp "$tmp/dense/Y.npy" "$tmp/full/h1.npy" || { echo "Dense differs from the graph's h1"; exit 1; }
"$ONYX" run $m --function onyx.examples:ScaledTanh --attr alpha=3.0 -i X="$tmp/full/h2.npy" \
    --outdir "$tmp/st" >/dev/null || exit 1
cmp "$tmp/st/Y.npy" "$tmp/full/y.npy" || { echo "ScaledTanh differs from the graph's y"; exit 1; }
# values inside inlined calls are addressable by scoped names: <call>/<name>, nested
# unnamed calls as <call>/<function>/<name>; Dense's own h equals the graph's dense1/h
"$ONYX" run $m -i x=$x -o dense1/h -o dense2/ScaledTanh/t --outdir "$tmp/scoped" >/dev/null || exit 1
"$ONYX" run $m --function onyx.examples:Dense --attr scale=2.0 --attr slope=0.1 \
    -i X=$x -i W="$tmp/full/w1.npy" -i B="$tmp/full/b1.npy" -o h --outdir "$tmp/dense_h" >/dev/null || exit 1
cmp "$tmp/dense_h/h.npy" "$tmp/scoped/dense1_h.npy" || { echo "dense1/h differs"; exit 1; }
[ -s "$tmp/scoped/dense2_ScaledTanh_t.npy" ] || { echo "missing dense2/ScaledTanh/t"; exit 1; }
# a wrong attribute name and a missing function are errors with a message
"$ONYX" run $m --function onyx.examples:ScaledTanh --attr beta=1 -i X=$x 2>"$tmp/err" && exit 1
grep -q "no attribute 'beta'" "$tmp/err" || { cat "$tmp/err"; exit 1; }
"$ONYX" run $m --function nope -i X=$x 2>"$tmp/err" && exit 1
grep -q "no function 'nope'" "$tmp/err" || { cat "$tmp/err"; exit 1; }
exit 0
