#!/bin/sh
# `onyx run` on sequence and optional outputs: a sequence prints one line per item
# and --outdir writes NAME_0.npy, NAME_1.npy...; an empty optional prints "NAME: none"
# and writes nothing. The model (162 bytes, written here) is
#   o = Optional(type=float32)  s = SequenceConstruct(x, x)  h = OptionalHasElement(o)
set -u
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '\010\010\102\004\012\000\020\022\072\227\001\012\036\022\001\157\042\010\117\160\164\151\157\156\141\154\052\017\012\004\164\171\160\145\240\001\015\162\004\012\002\010\001\012\034\012\001\170\012\001\170\022\001\163\042\021\123\145\161\165\145\156\143\145\103\157\156\163\164\162\165\143\164\012\032\012\001\157\022\001\150\042\022\117\160\164\151\157\156\141\154\110\141\163\105\154\145\155\145\156\164\022\001\147\132\017\012\001\170\022\012\012\010\010\001\022\004\012\002\010\002\142\015\012\001\157\022\010\112\006\012\004\012\002\010\001\142\015\012\001\163\022\010\042\006\012\004\012\002\010\001\142\011\012\001\150\022\004\012\002\010\011' >"$tmp/m.onnx"
"$ONYX" run "$tmp/m.onnx" --outdir "$tmp/out" >"$tmp/stdout" 2>"$tmp/stderr" || {
    echo "onyx run failed"; cat "$tmp/stderr"; exit 1; }
grep -qx "o: none" "$tmp/stdout" || { echo "no 'o: none' line:"; cat "$tmp/stdout"; exit 1; }
for i in 0 1; do
    grep -q "^s: sequence of 2: \[$i\] float32\[2\] " "$tmp/stdout" || {
        echo "no line for item $i:"; cat "$tmp/stdout"; exit 1; }
    [ -s "$tmp/out/s_$i.npy" ] || { echo "missing s_$i.npy"; ls "$tmp/out"; exit 1; }
done
grep -qx "h: bool\[\] 0" "$tmp/stdout" || { echo "unexpected h:"; cat "$tmp/stdout"; exit 1; }
[ ! -e "$tmp/out/o.npy" ] || { echo "o.npy written for an empty optional"; exit 1; }
# the two items hold x's values, as the item lines show
a=$(grep '^s: sequence of 2: \[0\]' "$tmp/stdout" | cut -d' ' -f7-)
b=$(grep '^s: sequence of 2: \[1\]' "$tmp/stdout" | cut -d' ' -f7-)
[ -n "$a" ] && [ "$a" = "$b" ] || { echo "items differ: '$a' vs '$b'"; exit 1; }
# sequences from .pb test data (SequenceProto) as inputs, when the conformance data is here
c=${ONNX_TESTS:-../shared/onnx-tests}/node/test_sequence_insert_at_back
if [ -d "$c" ]; then
    "$ONYX" run "$c/model.onnx" -i sequence=$c/test_data_set_0/input_0.pb \
        -i tensor=$c/test_data_set_0/input_1.pb >"$tmp/ins" 2>&1 || { cat "$tmp/ins"; exit 1; }
    [ "$(grep -c '^output_sequence: sequence of 4: ' "$tmp/ins")" -eq 4 ] || { cat "$tmp/ins"; exit 1; }
fi
exit 0
