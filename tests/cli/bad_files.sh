#!/bin/sh
# A truncated model and a file of random bytes each give a message and exit status 1;
# bit-flipped and spliced models end with 0 or 1 (with a message), never a crash.
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
# bit flips and splices: the file may still be a valid model (then it runs), but the
# tool must end with 0, or 1 and a message — never a signal or a sanitizer report
flip() { # file, offset, xor byte (octal)
    cp "$1" "$tmp/flip.onnx"
    printf "\\$3" | dd of="$tmp/flip.onnx" bs=1 seek="$2" conv=notrunc 2>/dev/null
}
n=0
for off in 3 17 40 97 150 400 1000 2500 5000 7000; do
    [ "$off" -lt "$size" ] || continue
    for x in 001 200 377; do
        flip "$model" "$off" "$x"
        "$ONYX" run "$tmp/flip.onnx" >"$tmp/out" 2>"$tmp/err"
        rc=$?
        n=$((n + 1))
        if [ $rc -ne 0 ] && { [ $rc -ne 1 ] || [ ! -s "$tmp/err" ]; }; then
            echo "onyx run on a byte set to \\$x at $off: exit $rc"
            cat "$tmp/err"
            status=1
        fi
    done
done
for a in examples/linear_tanh examples/functions examples/loop_scripted; do
    for b in examples/small_cnn examples/if_scripted; do
        sa=$(wc -c <"$a/model.onnx")
        sb=$(wc -c <"$b/model.onnx")
        { head -c $((sa / 2)) "$a/model.onnx"; tail -c $((sb / 2)) "$b/model.onnx"; } >"$tmp/splice.onnx"
        "$ONYX" run "$tmp/splice.onnx" >"$tmp/out" 2>"$tmp/err"
        rc=$?
        if [ $rc -ne 0 ] && { [ $rc -ne 1 ] || [ ! -s "$tmp/err" ]; }; then
            echo "onyx run on $a spliced with $b: exit $rc"
            cat "$tmp/err"
            status=1
        fi
    done
done
"$ONYX" run /nonexistent/model.onnx 2>"$tmp/err"
[ $? -eq 1 ] && grep -q "nonexistent" "$tmp/err" || { echo "missing file: bad exit or message"; status=1; }
exit $status
