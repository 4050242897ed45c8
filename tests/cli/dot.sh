#!/bin/sh
# `onyx dot` writes Graphviz DOT for every shipped model: If/Loop/Scan bodies as clusters
# holding their nodes, values captured from the outer graph as dashed edges into them,
# initializers as grey boxes, graph inputs and outputs as ellipses, --function draws one
# function. Names that need escaping (quotes, backslashes, newlines, bytes that are not
# UTF-8) still give valid DOT. With Graphviz installed each picture is rendered to SVG;
# without it (apt-get install graphviz) that part is skipped with a notice.
set -u
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
have_dot=0
if command -v dot >/dev/null 2>&1; then have_dot=1; else echo "notice: Graphviz 'dot' not found: rendering skipped"; fi
render() { # $1: .dot file
    [ $have_dot -eq 1 ] || return 0
    dot -Tsvg "$1" >"$1.svg" 2>"$1.err" && [ ! -s "$1.err" ] && grep -q '<svg' "$1.svg" || {
        echo "dot -Tsvg failed on $1:"; cat "$1.err"; return 1; }
}
# "ID DEPTH" for every node declared in the DOT file $1 (DEPTH = clusters around it)
depths() {
    awk '/subgraph cluster_[0-9]+ \{$/ { d++; next } /^ *}$/ { d--; next }
         /^ *n[0-9]+ \[/ { sub(/^ */, ""); sub(/ .*/, ""); print $0, d + 0 }' "$1"
}
status=0
for m in examples/*/model.onnx tests/models/*/model.onnx; do
    f="$tmp/$(echo "$m" | tr / _).dot"
    "$ONYX" dot "$m" >"$f" 2>"$tmp/err" || { echo "onyx dot $m failed"; cat "$tmp/err"; status=1; continue; }
    head -n 1 "$f" | grep -q '^digraph onyx {$' || { echo "$m: no digraph header"; status=1; }
    [ "$(tail -n 1 "$f")" = "}" ] || { echo "$m: not closed"; status=1; }
    render "$f" || status=1
done

# If: two clusters (then/else), each holding one Gemm; x and the weights come in dashed from outside
f="$tmp/examples_if_scripted_model.onnx.dot"
[ "$(grep -c 'subgraph cluster_' "$f")" -eq 2 ] || { echo "if_scripted: want 2 clusters"; status=1; }
depths "$f" >"$tmp/depths"
for id in $(grep 'label="Gemm' "$f" | sed 's/^ *\(n[0-9]*\) .*/\1/'); do
    grep -qx "$id 1" "$tmp/depths" || { echo "if_scripted: Gemm $id is not inside a cluster"; status=1; }
done
x=$(grep 'shape=ellipse.*label="x\\nfloat32\[2,10\]"' "$f" | sed 's/^ *\(n[0-9]*\) .*/\1/')
[ -n "$x" ] && grep -qx "$x 0" "$tmp/depths" || { echo "if_scripted: input x not an ellipse at the top"; status=1; }
captured=$(grep -c "^  $x -> n[0-9]* \[label=\"x\\\\nfloat32\[2,10\]\", style=dashed" "$f")
[ "$captured" -eq 2 ] || { echo "if_scripted: want 2 captured edges from x, got $captured"; status=1; }
grep -q 'shape=box, style=filled, fillcolor="#e0e0e0".*label="linear1.weight\\nfloat32\[10,10\]"' "$f" || {
    echo "if_scripted: initializer linear1.weight is not a grey box with its shape"; status=1; }
grep -q 'label="then_branch"' "$f" && grep -q 'label="else_branch"' "$f" || {
    echo "if_scripted: branch outputs do not lead to the If node"; status=1; }
grep -q 'shape=ellipse, style=filled, fillcolor="#d1e7dd", label="y\\nfloat32\[2,10\]"' "$f" || {
    echo "if_scripted: output y"; status=1; }

# Loop: one cluster with the body's Gemm; nested captures: a cluster inside a cluster
f="$tmp/examples_loop_scripted_model.onnx.dot"
[ "$(grep -c 'subgraph cluster_' "$f")" -eq 1 ] || { echo "loop_scripted: want 1 cluster"; status=1; }
f="$tmp/tests_models_nested_capture_model.onnx.dot"
depths "$f" | awk '$2 >= 2 { found = 1 } END { exit !found }' || { echo "nested_capture: no nested cluster"; status=1; }

# one function by itself; a missing one is an error
"$ONYX" dot examples/functions/model.onnx --function onyx.examples:Dense >"$tmp/fn.dot" || status=1
grep -q 'label="onyx.examples:Dense"' "$tmp/fn.dot" && grep -q 'label="onyx.examples:ScaledTanh"' "$tmp/fn.dot" || {
    echo "--function Dense: unexpected output"; cat "$tmp/fn.dot"; status=1; }
render "$tmp/fn.dot" || status=1
"$ONYX" dot examples/functions/model.onnx --function nope >/dev/null 2>"$tmp/err" && status=1
grep -q "no function 'nope'" "$tmp/err" || { echo "--function nope:"; cat "$tmp/err"; status=1; }
"$ONYX" dot /nonexistent.onnx 2>/dev/null && status=1

# names that need escaping
if command -v python3 >/dev/null 2>&1; then
    python3 tests/cli/odd_names_model.py "$tmp/odd.onnx" || exit 1
    "$ONYX" dot "$tmp/odd.onnx" >"$tmp/odd.dot" || { echo "onyx dot odd names failed"; status=1; }
    grep -qF 'label="MatMul\nmat\"mul\\"' "$tmp/odd.dot" || { echo "odd names: node label"; cat "$tmp/odd.dot"; status=1; }
    grep -qF 'label="h\nnext?line\nfloat32[batch \"n\",3]"' "$tmp/odd.dot" || {
        echo "odd names: edge label"; cat "$tmp/odd.dot"; status=1; }
    render "$tmp/odd.dot" || status=1
else
    echo "notice: python3 not found: escaping check skipped"
fi
exit $status
