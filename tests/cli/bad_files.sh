#!/bin/sh
# A truncated model and a file of random bytes each give a message and exit status 1.
set -u
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
model=examples/small_cnn/model.onnx
size=$(wc -c <"$model")
head -c $((size / 2)) "$model" >"$tmp/truncated.onnx"
head -c 100 "$model" >"$tmp/short.onnx"
# fixed pseudo-random bytes, so a failure reproduces
awk 'BEGIN { srand(7); for (i = 0; i < 4096; i++) printf "%c", int(rand() * 256) }' >"$tmp/random.onnx"
: >"$tmp/empty.onnx"
status=0
for f in truncated short random empty; do
    for verb in info run; do
        "$ONYX" $verb "$tmp/$f.onnx" >"$tmp/out" 2>"$tmp/err"
        rc=$?
        if [ $rc -ne 1 ] || [ ! -s "$tmp/err" ]; then
            echo "onyx $verb $f.onnx: exit $rc (want 1 with a message)"
            cat "$tmp/err"
            status=1
        fi
    done
done
"$ONYX" run /nonexistent/model.onnx 2>"$tmp/err"
[ $? -eq 1 ] && grep -q "nonexistent" "$tmp/err" || { echo "missing file: bad exit or message"; status=1; }
exit $status
