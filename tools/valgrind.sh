#!/bin/sh
# valgrind memcheck over the command-line tool: `onyx info`, `onyx run` (seeded random
# inputs, one and two threads), `onyx test` and `onyx bench` over examples/ and
# tests/models/, and `onyx run` on truncated, bit-flipped and spliced models. Any
# memcheck error (invalid read/write, uninitialised value used, definite or indirect
# leak) fails the run.
#   BUILD=build sh tools/valgrind.sh          (a normal build: make BUILD=... all)
#   VALGRIND_CONFORMANCE=1 ...                 also the cases of tests/conformance.txt
#                                              (read from $ONYX_ONNX_TESTS; slow)
#   VALGRIND_FLAGS=--track-origins=yes ...     more memcheck options (where an
#                                              uninitialised value came from)
set -u
BUILD=${BUILD:-build}
ONYX=$BUILD/onyx
DATA=${ONYX_ONNX_TESTS:-../shared/onnx-tests}
if ! command -v valgrind >/dev/null 2>&1; then
    echo "notice: valgrind not found (apt-get install valgrind): skipped"
    exit 0
fi
if [ ! -x "$ONYX" ] || grep -qa __asan_init "$ONYX"; then
    echo "error: $ONYX missing or built with sanitizers: build it with make BUILD=$BUILD all"
    exit 2
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
VG="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect \
--show-leak-kinds=definite,indirect ${VALGRIND_FLAGS:-}"
runs=0
bad=0
# vg WANT CMD...: run under memcheck; WANT is the exit status allowed besides 0 ("1" for
# inputs that may be refused, "0" otherwise)
vg() {
    want=$1
    shift
    runs=$((runs + 1))
    $VG "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    if [ $rc -eq 0 ] || [ $rc -eq "$want" ]; then return; fi
    bad=$((bad + 1))
    echo "FAIL (exit $rc): $*"
    grep -v '^onyx: notice' "$tmp/err" | head -n 40 | sed 's/^/  /'
}

cases=""
for d in examples/*/ tests/models/*/; do
    [ -f "$d/model.onnx" ] && cases="$cases ${d%/}"
done
for c in $cases; do
    vg 0 "$ONYX" info "$c/model.onnx"
    vg 0 "$ONYX" run "$c/model.onnx"
    vg 0 "$ONYX" run "$c/model.onnx" --threads 2 --outdir "$tmp"
    vg 0 "$ONYX" test "$c"
    vg 0 "$ONYX" bench "$c/model.onnx" --iters 2 --warmup 1 --profile
done
vg 0 "$ONYX" test --threads 2 $cases

# damaged files: refused with status 1 (or still a valid model), never a memcheck error
model=examples/small_cnn/model.onnx
size=$(wc -c <"$model")
head -c $((size / 2)) "$model" >"$tmp/truncated.onnx"
head -c 100 "$model" >"$tmp/short.onnx"
awk 'BEGIN { srand(7); for (i = 0; i < 4096; i++) printf "%c", int(rand() * 256) }' >"$tmp/random.onnx"
for f in truncated short random; do vg 1 "$ONYX" run "$tmp/$f.onnx"; done
for off in 17 97 400 2500 7000; do
    [ "$off" -lt "$size" ] || continue
    for x in 001 377; do
        cp "$model" "$tmp/flip.onnx"
        printf "\\$x" | dd of="$tmp/flip.onnx" bs=1 seek="$off" conv=notrunc 2>/dev/null
        vg 1 "$ONYX" run "$tmp/flip.onnx"
    done
done
for a in examples/linear_tanh examples/loop_scripted; do
    for b in examples/small_cnn examples/if_scripted; do
        sa=$(wc -c <"$a/model.onnx")
        sb=$(wc -c <"$b/model.onnx")
        { head -c $((sa / 2)) "$a/model.onnx"; tail -c $((sb / 2)) "$b/model.onnx"; } >"$tmp/splice.onnx"
        vg 1 "$ONYX" run "$tmp/splice.onnx"
    done
done

if [ "${VALGRIND_CONFORMANCE:-0}" = 1 ]; then
    if [ -d "$DATA" ]; then
        # one process per 100 cases: memcheck reports per process
        sed -e 's/#.*//' -e '/^ *$/d' tests/conformance.txt | sed "s|^|$DATA/|" >"$tmp/conf"
        split -l 100 "$tmp/conf" "$tmp/part."
        for p in "$tmp"/part.*; do
            # shellcheck disable=SC2046
            vg 0 "$ONYX" test $(cat "$p")
        done
    else
        echo "notice: $DATA not found: conformance cases skipped"
    fi
fi
echo "valgrind: $runs runs, $bad with errors"
[ "$bad" -eq 0 ]
