#!/bin/sh
# Runs every test of onyx and ends with one line "N passed, M failed".
#   BUILD=build sh tests/run.sh
# Parts: unit tests; `onyx test` over the examples and tests/models; the ONNX conformance cases in
# tests/conformance.txt (read in place from $ONYX_ONNX_TESTS, default ../shared/onnx-tests,
# skipped with a notice when absent); command-line checks (tests/cli/*.sh); the Python binding
# (tests/python, with /usr/bin/python3 and numpy; skipped with a notice otherwise).
BUILD=${BUILD:-build}
ONYX=$(cd "$BUILD" && pwd)/onyx
ONNX_TESTS=${ONYX_ONNX_TESTS:-../shared/onnx-tests}
export BUILD ONYX ONNX_TESTS
passed=0
failed=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# add the counts from a "N passed, M failed" line in file $1
count() {
    line=$(grep -E '[0-9]+ passed, [0-9]+ failed' "$1" | tail -n 1)
    if [ -z "$line" ]; then
        echo "  (no summary line: counted as 1 failure)"
        failed=$((failed + 1))
        return
    fi
    p=$(echo "$line" | awk '{for (i = 2; i <= NF; i++) if ($i == "passed,") print $(i - 1)}')
    f=$(echo "$line" | awk '{for (i = 2; i <= NF; i++) if ($i ~ /^failed/) print $(i - 1)}')
    passed=$((passed + p))
    failed=$((failed + f))
}

echo "== unit tests"
"$BUILD/unit_tests" >"$tmp/unit" 2>&1
grep -E '^(FAIL|  )' "$tmp/unit"
tail -n 1 "$tmp/unit"
count "$tmp/unit"

echo "== onyx test examples"
cases=$(sed -e 's/#.*//' -e '/^ *$/d' tests/examples.txt)
# shellcheck disable=SC2086
(cd examples && "$ONYX" test $cases) >"$tmp/ex" 2>&1
grep -vE '^PASS' "$tmp/ex"
count "$tmp/ex"

echo "== onyx test tests/models (made by tools/make_test_models.py)"
"$ONYX" test tests/models >"$tmp/models" 2>&1
grep -vE '^PASS' "$tmp/models"
count "$tmp/models"

echo "== conformance ($ONNX_TESTS)"
if [ -d "$ONNX_TESTS" ]; then
    list=""
    for c in $(sed -e 's/#.*//' -e '/^ *$/d' tests/conformance.txt); do
        list="$list $ONNX_TESTS/$c"
    done
    if [ -n "$list" ]; then
        # shellcheck disable=SC2086
        "$ONYX" test $list >"$tmp/conf" 2>&1
        grep -vE '^PASS' "$tmp/conf"
        count "$tmp/conf"
    fi
else
    echo "notice: $ONNX_TESTS not found: conformance cases skipped"
fi

echo "== fuzz regressions (fuzz/regressions/<target>/, replayed without libFuzzer)"
for t in load run; do
    files=$(ls fuzz/regressions/$t/* 2>/dev/null)
    [ -n "$files" ] || continue
    # shellcheck disable=SC2086
    if "$BUILD/replay_$t" $files >"$tmp/replay" 2>&1; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAIL replay_$t"
        sed 's/^/  /' "$tmp/replay"
    fi
done

echo "== command-line checks"
for t in tests/cli/*.sh; do
    if sh "$t" >"$tmp/cli" 2>&1; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAIL $t"
        sed 's/^/  /' "$tmp/cli"
    fi
done

echo "== Python binding (tests/python)"
if ! [ -x /usr/bin/python3 ] || ! /usr/bin/python3 -c 'import numpy' 2>/dev/null; then
    echo "notice: /usr/bin/python3 with numpy not found (apt-get install python3-numpy): binding tests skipped"
elif grep -qa __asan_init "$BUILD/libonyx.so"; then
    echo "notice: $BUILD/libonyx.so is built with sanitizers and cannot be loaded by python: binding tests skipped"
else
    ONYX_LIB=$(cd "$BUILD" && pwd)/libonyx.so /usr/bin/python3 tests/python/test_binding.py >"$tmp/py" 2>&1
    grep -vE '^PASS' "$tmp/py"
    count "$tmp/py"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
