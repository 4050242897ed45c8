#!/usr/bin/python3
"""Small hand-built models for the control-flow and function paths that the ONNX
conformance data leaves out (Scan axes/directions, Scan opset 8, Loop stopping on its
condition, nested captures, If inside a function). Expected outputs are computed here
with numpy, independently of onyx. Writes tests/models/<case>/ in the ONNX backend-test
layout; `make test` runs them with `onyx test`. Re-running gives the same files.

    /usr/bin/python3 tools/make_test_models.py
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "models")
F = TensorProto.FLOAT
I64 = TensorProto.INT64
B = TensorProto.BOOL


def save_value(path, name, v):
    """A tensor, or a list of arrays written as a SequenceProto."""
    if isinstance(v, list):
        from onnx import SequenceProto
        seq = SequenceProto(name=name, elem_type=SequenceProto.TENSOR)
        seq.tensor_values.extend([numpy_helper.from_array(a) for a in v])
        data = seq.SerializeToString()
    else:
        data = numpy_helper.from_array(v, name).SerializeToString()
    with open(path, "wb") as f:
        f.write(data)


def save(name, model, inputs, outputs):
    d = os.path.join(OUT, name)
    ds = os.path.join(d, "test_data_set_0")
    os.makedirs(ds, exist_ok=True)
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(d, "model.onnx"))
    for i, (n, v) in enumerate(inputs):
        save_value(os.path.join(ds, "input_%d.pb" % i), n, v)
    for i, (n, v) in enumerate(outputs):
        save_value(os.path.join(ds, "output_%d.pb" % i), n, v)
    print("wrote", d)


def vi(name, t, shape):
    return helper.make_tensor_value_info(name, t, shape)


def scan_axes_directions(rng):
    # state s (3,), scan input a along axis 1 forward, b along axis 0 reversed;
    # s' = s + a_t * b_t; scan output o_t = s' stacked along axis 1, reversed.
    body = helper.make_graph(
        [helper.make_node("Mul", ["a_t", "b_t"], ["ab"]),
         helper.make_node("Add", ["s", "ab"], ["s_out"]),
         helper.make_node("Identity", ["s_out"], ["o_t"])],
        "body", [vi("s", F, [3]), vi("a_t", F, [3]), vi("b_t", F, [3])],
        [vi("s_out", F, [3]), vi("o_t", F, [3])])
    node = helper.make_node("Scan", ["s0", "a", "b"], ["s_final", "o"], body=body, num_scan_inputs=2,
                            scan_input_axes=[1, 0], scan_input_directions=[0, 1],
                            scan_output_axes=[1], scan_output_directions=[1])
    g = helper.make_graph([node], "scan_axes", [vi("s0", F, [3]), vi("a", F, [3, 4]), vi("b", F, [4, 3])],
                          [vi("s_final", F, [3]), vi("o", F, [3, 4])])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 16)])
    s0 = rng.standard_normal(3).astype(np.float32)
    a = rng.standard_normal((3, 4)).astype(np.float32)
    b = rng.standard_normal((4, 3)).astype(np.float32)
    s = s0.copy()
    outs = []
    for t in range(4):
        s = s + a[:, t] * b[3 - t, :]
        outs.append(s.copy())
    o = np.stack(outs[::-1], axis=1)
    save("scan_axes_directions", m, [("s0", s0), ("a", a), ("b", b)], [("s_final", s), ("o", o)])


def scan8_batch(rng):
    # opset 8: batch axis first; running sum over the sequence axis
    body = helper.make_graph(
        [helper.make_node("Add", ["s", "x_t"], ["s_out"]), helper.make_node("Identity", ["s_out"], ["y_t"])],
        "body", [vi("s", F, [2]), vi("x_t", F, [2])], [vi("s_out", F, [2]), vi("y_t", F, [2])])
    node = helper.make_node("Scan", ["", "s0", "x"], ["s_final", "y"], body=body, num_scan_inputs=1)
    g = helper.make_graph([node], "scan8", [vi("s0", F, [3, 2]), vi("x", F, [3, 5, 2])],
                          [vi("s_final", F, [3, 2]), vi("y", F, [3, 5, 2])])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 8)])
    m.ir_version = 3
    s0 = rng.standard_normal((3, 2)).astype(np.float32)
    x = rng.standard_normal((3, 5, 2)).astype(np.float32)
    y = s0[:, None, :] + np.cumsum(x, axis=1)
    save("scan8_batch", m, [("s0", s0), ("x", x)], [("s_final", y[:, -1, :]), ("y", y)])


def loop_condition(rng):
    # M = 10 but the body's condition turns false once i reaches 2: 3 iterations.
    # carried v' = v * 2; scan output v' + i.
    two = helper.make_tensor("two", F, [], [2.0])
    lim = helper.make_tensor("lim", I64, [], [2])
    body = helper.make_graph(
        [helper.make_node("Constant", [], ["c2"], value=two),
         helper.make_node("Constant", [], ["cl"], value=lim),
         helper.make_node("Mul", ["v", "c2"], ["v_out"]),
         helper.make_node("Cast", ["i"], ["i_f"], to=F),
         helper.make_node("Add", ["v_out", "i_f"], ["scan"]),
         helper.make_node("Less", ["i", "cl"], ["cond_out"])],
        "body", [vi("i", I64, []), vi("cond", B, []), vi("v", F, [2])],
        [vi("cond_out", B, []), vi("v_out", F, [2]), vi("scan", F, [2])])
    node = helper.make_node("Loop", ["M", "c", "v0"], ["v_final", "scans"], body=body)
    g = helper.make_graph([node], "loop_cond", [vi("M", I64, []), vi("c", B, []), vi("v0", F, [2])],
                          [vi("v_final", F, [2]), vi("scans", F, [None, 2])])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 16)])
    v0 = rng.standard_normal(2).astype(np.float32)
    v = v0.copy()
    scans = []
    i = 0
    cond = True
    while i < 10 and cond:
        v = v * 2
        scans.append(v + i)
        cond = i < 2
        i += 1
    save("loop_condition", m, [("M", np.array(10, np.int64)), ("c", np.array(True)), ("v0", v0)],
         [("v_final", v), ("scans", np.stack(scans))])


def nested_capture(rng):
    # A Loop whose body holds an If; the If's branches read the main graph's input w
    # (two levels up) and the loop's carried value.
    then_g = helper.make_graph([helper.make_node("Add", ["acc", "w"], ["r"])], "then", [], [vi("r", F, [3])])
    else_g = helper.make_graph([helper.make_node("Sub", ["acc", "w"], ["r2"])], "else", [], [vi("r2", F, [3])])
    body = helper.make_graph(
        [helper.make_node("Cast", ["i"], ["i_f"], to=F),
         helper.make_node("ReduceSum", ["acc"], ["tot"], keepdims=0),
         helper.make_node("Greater", ["tot", "i_f"], ["gt"]),
         helper.make_node("If", ["gt"], ["acc_out"], then_branch=then_g, else_branch=else_g),
         helper.make_node("Identity", ["cond"], ["cond_out"])],
        "body", [vi("i", I64, []), vi("cond", B, []), vi("acc", F, [3])],
        [vi("cond_out", B, []), vi("acc_out", F, [3])])
    node = helper.make_node("Loop", ["M", "", "a0"], ["a_final"], body=body)
    g = helper.make_graph([node], "nested", [vi("M", I64, []), vi("a0", F, [3]), vi("w", F, [3])],
                          [vi("a_final", F, [3])])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 11)])
    a0 = rng.standard_normal(3).astype(np.float32)
    w = rng.standard_normal(3).astype(np.float32)
    acc = a0.copy()
    for i in range(5):
        acc = acc + w if np.float32(acc.sum()) > np.float32(i) else acc - w
    save("nested_capture", m, [("M", np.array(5, np.int64)), ("a0", a0), ("w", w)], [("a_final", acc)])


def function_with_if(rng):
    # A model-local function whose body holds an If that reads the function's own
    # intermediate value: inlining must rename the branch's reference too.
    then_g = helper.make_graph([helper.make_node("Neg", ["t"], ["o1"])], "then", [], [vi("o1", F, None)])
    else_g = helper.make_graph([helper.make_node("Identity", ["t"], ["o2"])], "else", [], [vi("o2", F, None)])
    f = helper.make_function(
        "local", "AbsViaIf", ["X"], ["Y"],
        [helper.make_node("Mul", ["X", "X"], ["sq"]),
         helper.make_node("Sqrt", ["sq"], ["t"]),
         helper.make_node("ReduceMin", ["X"], ["mn"], keepdims=0),
         helper.make_node("Constant", [], ["z"], value=helper.make_tensor("z", F, [], [0.0])),
         helper.make_node("Less", ["mn", "z"], ["neg"]),
         helper.make_node("If", ["neg"], ["Y"], then_branch=then_g, else_branch=else_g)],
        [helper.make_opsetid("", 16)])
    g = helper.make_graph([helper.make_node("AbsViaIf", ["x"], ["t"], domain="local"),
                           helper.make_node("Add", ["t", "x"], ["y"])],
                          "fn_if", [vi("x", F, [4])], [vi("y", F, [4])])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 16), helper.make_opsetid("local", 1)],
                          functions=[f])
    x = rng.standard_normal(4).astype(np.float32)
    t = np.sqrt(x * x)
    t = -t if x.min() < 0 else t
    save("function_with_if", m, [("x", x)], [("y", t + x)])


def sparse_initializer(rng):
    # Two sparse initializers (indices as [NNZ, rank] and linear), added to x.
    dense_a = np.zeros((3, 4), np.float32)
    idx_a = np.array([[0, 1], [1, 0], [2, 3]], np.int64)
    val_a = rng.standard_normal(3).astype(np.float32)
    for (r, c), v in zip(idx_a, val_a):
        dense_a[r, c] = v
    dense_b = np.zeros((3, 4), np.float32)
    idx_b = np.array([5, 11], np.int64)
    val_b = rng.standard_normal(2).astype(np.float32)
    dense_b.flat[idx_b] = val_b
    sa = helper.make_sparse_tensor(numpy_helper.from_array(val_a, "sa"), numpy_helper.from_array(idx_a, "sa_i"), [3, 4])
    sb = helper.make_sparse_tensor(numpy_helper.from_array(val_b, "sb"), numpy_helper.from_array(idx_b, "sb_i"), [3, 4])
    g = helper.make_graph([helper.make_node("Add", ["x", "sa"], ["t"]), helper.make_node("Add", ["t", "sb"], ["y"])],
                          "sparse", [vi("x", F, [3, 4])], [vi("y", F, [3, 4])], sparse_initializer=[sa, sb])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    x = rng.standard_normal((3, 4)).astype(np.float32)
    save("sparse_initializer", m, [("x", x)], [("y", x + dense_a + dense_b)])


def sequence_output(rng):
    # A graph whose output is a sequence: x split into rows, each doubled by SequenceMap.
    body = helper.make_graph([helper.make_node("Add", ["t", "t"], ["u"])], "double",
                             [vi("t", F, [1, 3])], [vi("u", F, [1, 3])])
    g = helper.make_graph(
        [helper.make_node("SplitToSequence", ["x"], ["rows"], axis=0),
         helper.make_node("SequenceMap", ["rows"], ["doubled"], body=body)],
        "seq_out", [vi("x", F, [4, 3])],
        [helper.make_tensor_sequence_value_info("doubled", F, [1, 3])])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    x = rng.standard_normal((4, 3)).astype(np.float32)
    save("sequence_output", m, [("x", x)], [("doubled", [2 * x[i:i + 1] for i in range(4)])])


def main():
    rng = np.random.default_rng(2026)
    scan_axes_directions(rng)
    scan8_batch(rng)
    loop_condition(rng)
    nested_capture(rng)
    function_with_if(rng)
    sparse_initializer(rng)
    sequence_output(rng)


if __name__ == "__main__":
    sys.exit(main())
