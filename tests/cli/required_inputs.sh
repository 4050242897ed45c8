#!/bin/sh
# A node that omits a required input, or has more inputs than its schema allows, is
# refused when the session is built (src/ops/arity.c): exit 1 with a message naming the
# node and the input. The two models (ONNX opset 13, x: float[1,1,3,3] -> y) are written
# byte by byte: Conv(x, "") and Relu(x, x).
set -u
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '\010\010\022\000\072\101\012\024\012\001\170\012\000\022\001\171\032\004\143\157\156\166\042\004\103\157\156\166\022\001\147\132\033\012\001\170\022\026\012\024\010\001\022\020\012\002\010\001\012\002\010\001\012\002\010\003\012\002\010\003\142\011\012\001\171\022\004\012\002\010\001\102\004\012\000\020\015' >"$tmp/conv.onnx"
printf '\010\010\022\000\072\102\012\025\012\001\170\012\001\170\022\001\171\032\004\162\145\154\165\042\004\122\145\154\165\022\001\147\132\033\012\001\170\022\026\012\024\010\001\022\020\012\002\010\001\012\002\010\001\012\002\010\003\012\002\010\003\142\011\012\001\171\022\004\012\002\010\001\102\004\012\000\020\015' >"$tmp/relu.onnx"
status=0
check() { # model, expected message part
    "$ONYX" run "$tmp/$1" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    if [ $rc -ne 1 ] || ! grep -qF "$2" "$tmp/err"; then
        echo "onyx run $1: exit $rc, wanted 1 and a message with: $2"
        cat "$tmp/err"
        status=1
    fi
}
check conv.onnx "node 'conv' (Conv): input 1 'W' is required"
check relu.onnx "node 'relu' (Relu): has 2 inputs, at most 1 (X)"
exit $status
