"""Tests of the Python binding (python/onyx) against the onyx tool.

For every case folder of examples/ and tests/models/, `onyx run ... --outdir` writes the
inputs (decoded from the .pb files) and the outputs as .npy; the binding, fed those
inputs, must give the same arrays bit for bit (one thread; two threads within 1e-5).
Also: intermediate values, a function run by itself, value info, loading from bytes,
string / bfloat16 / empty-optional values, concurrent runs, and errors (onyx.Error with
the library's message).

    ONYX_LIB=build/libonyx.so ONYX=build/onyx /usr/bin/python3 tests/python/test_binding.py
Ends with "N passed, M failed"; exit status 1 when any failed.
"""

import glob
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import traceback

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "python"))
os.environ.setdefault("ONYX_LIB", os.path.join(ROOT, "build", "libonyx.so"))
import onyx  # noqa: E402

ONYX = os.environ.get("ONYX") or os.path.join(ROOT, "build", "onyx")
TMP = tempfile.mkdtemp(prefix="onyx-py-")
TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


def cli(*args):
    r = subprocess.run([ONYX] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    if r.returncode != 0:
        raise AssertionError("onyx %s failed: %s" % (" ".join(args), r.stderr.decode()))
    return r.stdout.decode()


def safe_name(name):
    """The file name onyx run --outdir uses for a value."""
    out = "".join(c if (c.isascii() and c.isalnum()) or c in "._-" else "_" for c in name)
    return "_" if out in ("", ".", "..") else out


def cli_values(model, inputs, names, extra=()):
    """Run the tool; {name: array} for each requested value, read from --outdir."""
    outdir = tempfile.mkdtemp(dir=TMP)
    args = ["run", model, "--outdir", outdir] + list(extra)
    for name, path in inputs:
        args += ["-i", "%s=%s" % (name, path)]
    for n in names:
        args += ["-o", n]
    cli(*args)

    def load(n):  # a sequence is written as NAME_0.npy, NAME_1.npy, ...
        path = os.path.join(outdir, safe_name(n))
        if os.path.exists(path + ".npy"):
            return np.load(path + ".npy")
        items = []
        while os.path.exists("%s_%d.npy" % (path, len(items))):
            items.append(np.load("%s_%d.npy" % (path, len(items))))
        return items

    return {n: load(n) for n in names}


def same(got, want, what):
    if isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), "%s: not a sequence of %d" % (what, len(want))
        for i, (g, w) in enumerate(zip(got, want)):
            same(g, w, "%s[%d]" % (what, i))
        return
    assert isinstance(got, np.ndarray), "%s: not an array: %r" % (what, type(got))
    assert got.dtype == want.dtype, "%s: dtype %s, want %s" % (what, got.dtype, want.dtype)
    assert got.shape == want.shape, "%s: shape %s, want %s" % (what, got.shape, want.shape)
    ok = np.array_equal(got, want, equal_nan=got.dtype.kind in "fc")
    assert ok, "%s: values differ (max abs diff %g)" % (what, np.max(np.abs(got.astype(np.float64) - want)))


def cases():
    out = []
    for pattern in ("examples/*/model.onnx", "tests/models/*/model.onnx"):
        for model in sorted(glob.glob(os.path.join(ROOT, pattern))):
            for ds in sorted(glob.glob(os.path.join(os.path.dirname(model), "test_data_set_*"))):
                out.append((model, ds))
    return out


def check_case(model, ds):
    s = onyx.Session(model)
    files = sorted(glob.glob(os.path.join(ds, "input_*.pb")), key=lambda p: int(p.rsplit("_", 1)[1][:-3]))
    assert len(files) <= len(s.inputs), "more input files than inputs"
    given = [(s.inputs[k].name, f) for k, f in enumerate(files)]
    in_names = [n for n, _ in given]
    out_names = s.outputs_names()
    want = cli_values(model, given, in_names + out_names)
    feeds = {n: want[n] for n in in_names}
    got = s.run(feeds)
    assert list(got) == out_names, "output names %s, want %s" % (list(got), out_names)
    for n in out_names:
        same(got[n], want[n], "%s %s" % (os.path.relpath(ds, ROOT), n))
    with onyx.Session(model, threads=2) as s2:
        got2 = s2.run(feeds)
        for n in out_names:
            pairs = zip(got2[n], want[n]) if isinstance(want[n], list) else [(got2[n], want[n])]
            for g, w in pairs:
                assert np.allclose(g, w, rtol=1e-5, atol=1e-6), "threads=2: %s differs" % n
    s.close()


def make_case_test(model, ds):
    def fn():
        check_case(model, ds)

    fn.__name__ = "same_as_cli:" + os.path.relpath(ds, ROOT)
    return fn


for _m, _d in cases():
    TESTS.append(make_case_test(_m, _d))


@test
def every_example_is_covered():
    folders = {os.path.dirname(m) for m, _ in cases()}
    for m in glob.glob(os.path.join(ROOT, "examples/*/model.onnx")):
        assert os.path.dirname(m) in folders, m
    assert len(folders) >= 8


@test
def intermediate_values():
    m = os.path.join(ROOT, "examples/small_cnn/model.onnx")
    x = os.path.join(ROOT, "examples/small_cnn/test_data_set_0/input_0.pb")
    names = ["/features/features.3/MaxPool_output_0", "x", "y"]
    want = cli_values(m, [("x", x)], names)
    s = onyx.Session(m)
    got = s.run({"x": want["x"]}, outputs=names)
    assert list(got) == names
    for n in names:
        same(got[n], want[n], n)
    # only the nodes the request needs run
    ran = []
    s2 = onyx.Session(m, node_callback=lambda name, op, sec: ran.append(op))
    s2.run({"x": want["x"]}, outputs=["/features/features.3/MaxPool_output_0"])
    # a fused step reports its ops joined by "+" ("Conv+BatchNormalization+Relu")
    ops = [op for step in ran for op in step.split("+")]
    assert ops == ["Conv", "BatchNormalization", "Relu", "MaxPool"], ran
    ran.clear()
    s2.run({"x": want["x"]})
    ops = [op for step in ran for op in step.split("+")]
    assert len(ops) == 10 and ops[-1] == "Gemm", ran


@test
def function_by_itself():
    m = os.path.join(ROOT, "examples/functions/model.onnx")
    x = os.path.join(ROOT, "examples/functions/test_data_set_0/input_0.pb")
    full = cli_values(m, [("x", x)], ["x", "w1", "b1", "h1", "dense1/h"])
    f = onyx.Session(m, function="onyx.examples:Dense", attributes={"scale": 2.0, "slope": 0.1})
    assert [v.name for v in f.inputs] == ["X", "W", "B"] and f.outputs_names() == ["Y"]
    got = f.run({"X": full["x"], "W": full["w1"], "B": full["b1"]}, outputs=["Y", "h"])
    same(got["Y"], full["h1"], "Dense Y")
    same(got["h"], full["dense1/h"], "Dense h")
    # the same as the tool's --function --attr
    np.save(os.path.join(TMP, "w1.npy"), full["w1"])
    np.save(os.path.join(TMP, "b1.npy"), full["b1"])
    fn_args = ["--function", "onyx.examples:Dense", "--attr", "scale=2.0", "--attr", "slope=0.1"]
    want = cli_values(m, [("X", x), ("W", os.path.join(TMP, "w1.npy")), ("B", os.path.join(TMP, "b1.npy"))],
                      ["Y"], fn_args)
    same(got["Y"], want["Y"], "Dense Y vs onyx run --function")
    # attribute values as numpy numbers, lists and bools are turned into "name=value" texts
    g = onyx.Session(m, function="onyx.examples:ScaledTanh", attributes={"alpha": np.float32(3.0)})
    h2 = cli_values(m, [("x", x)], ["h2", "y"])
    same(g.run({"X": h2["h2"]})["Y"], h2["y"], "ScaledTanh")


@test
def value_info():
    s = onyx.Session(os.path.join(ROOT, "examples/small_cnn/model.onnx"))
    (x,) = s.inputs
    assert x.name == "x" and x.dtype == np.float32 and x.onnx_type == "float32", x
    assert x.shape == ("batch", 3, 16, 16), x.shape
    assert s.outputs[0].shape == ("batch", 10)
    assert s.arena_bytes is None  # symbolic batch: no plan yet
    s = onyx.Session(os.path.join(ROOT, "examples/loop_scripted/model.onnx"))
    assert [(v.name, v.shape) for v in s.inputs] == [("x", (2, 10)), ("n", ())], s.inputs
    assert s.inputs[1].dtype == np.int64
    s = onyx.Session(os.path.join(ROOT, "examples/linear_tanh/model.onnx"))
    assert s.arena_bytes is not None and s.arena_bytes > 0
    assert s.ir_version > 0 and s.opset() > 0 and s.opset("no.such.domain") == 0
    assert isinstance(s.producer, str)


@test
def load_from_bytes_and_python_values():
    path = os.path.join(ROOT, "examples/linear_tanh/model.onnx")
    with open(path, "rb") as f:
        data = f.read()
    a = onyx.Session(path)
    b = onyx.Session(data)
    x = np.random.default_rng(1).standard_normal((2, 10)).astype(np.float32)
    same(b.run({"x": x})["y"], a.run({"x": x})["y"], "from bytes")
    # a nested list is converted to the declared dtype; a strided view is made contiguous
    same(a.run({"x": x.tolist()})["y"], a.run({"x": x})["y"], "from a list")
    wide = np.zeros((2, 20), np.float32)
    wide[:, ::2] = x
    same(a.run({"x": wide[:, ::2]})["y"], a.run({"x": x})["y"], "from a strided view")


@test
def concurrent_runs():
    s = onyx.Session(os.path.join(ROOT, "examples/small_cnn/model.onnx"), threads=2)
    xs = [np.random.default_rng(i).standard_normal((i + 1, 3, 16, 16)).astype(np.float32) for i in range(4)]
    want = [s.run({"x": x})["y"] for x in xs]
    got = [None] * len(xs)
    errors = []

    def work(i):
        try:
            for _ in range(5):
                got[i] = s.run({"x": xs[i]})["y"]
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(xs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    for i in range(len(xs)):
        same(got[i], want[i], "thread %d" % i)


# ---- hand-made models (protobuf written here, no onnx package needed) ---------------


def varint(n):
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def fld(num, payload):
    payload = payload.encode() if isinstance(payload, str) else payload
    return varint(num << 3 | 2) + varint(len(payload)) + payload


def ifld(num, value):
    return varint(num << 3) + varint(value)


def tensor_type(elem, dims):
    shape = b"".join(fld(1, ifld(1, d)) for d in dims)
    return fld(1, ifld(1, elem) + fld(2, shape))


def vinfo(name, elem, dims):
    return fld(1, name) + fld(2, tensor_type(elem, dims))


def node(op, inputs, outputs, attrs=b""):
    return b"".join(fld(1, i) for i in inputs) + b"".join(fld(2, o) for o in outputs) + fld(4, op) + attrs


def model(nodes, inputs, outputs, opset=17):
    g = b"".join(fld(1, n) for n in nodes) + fld(2, "g")
    g += b"".join(fld(11, i) for i in inputs) + b"".join(fld(12, o) for o in outputs)
    return ifld(1, 8) + fld(7, g) + fld(8, ifld(2, opset))


@test
def strings_bfloat16_and_empty_optional():
    # Constant string tensor ["héllo", "", "a\x00b"] -> Identity -> out
    t = ifld(1, 3) + ifld(2, 8) + fld(6, "héllo") + fld(6, "") + fld(6, b"a\x00b")
    const = node("Constant", [], ["c"], fld(5, fld(1, "value") + fld(5, t) + ifld(20, 4)))
    m = model([const, node("Identity", ["c"], ["out"])], [], [vinfo("out", 8, [3])])
    out = onyx.Session(m).run()["out"]
    assert out.dtype == object and out.tolist() == ["héllo", "", "a\x00b"], out
    # bfloat16 comes back as its raw bits; and goes in as raw bits when declared so
    vals = np.array([1.0, -2.5, 0.15625, 0.0], np.float32)
    bits = (vals.view(np.uint32) >> 16).astype(np.uint16)
    to_bf = node("Cast", ["x"], ["y"], fld(5, fld(1, "to") + ifld(3, 16) + ifld(20, 2)))
    s = onyx.Session(model([to_bf], [vinfo("x", 1, [4])], [vinfo("y", 16, [4])]))
    assert s.outputs[0].onnx_type == "bfloat16" and s.outputs[0].dtype == np.uint16
    y = s.run({"x": vals})["y"]
    assert y.dtype == np.uint16 and y.tolist() == bits.tolist(), (y, bits)
    from_bf = node("Cast", ["x"], ["y"], fld(5, fld(1, "to") + ifld(3, 1) + ifld(20, 2)))
    s = onyx.Session(model([from_bf], [vinfo("x", 16, [4])], [vinfo("y", 1, [4])]))
    same(s.run({"x": bits})["y"], vals, "from bfloat16 bits")
    # an Optional with no input is empty: None
    opt_type = fld(9, fld(1, tensor_type(1, [2])))  # TypeProto.optional_type.elem_type: a tensor
    opt = node("Optional", [], ["o"], fld(5, fld(1, "type") + fld(14, tensor_type(1, [2])) + ifld(20, 13)))
    out_type = fld(1, "o") + fld(2, opt_type)
    s = onyx.Session(model([opt], [], [out_type], opset=18))
    assert s.run()["o"] is None


@test
def errors_raise_onyx_error():
    ex = os.path.join(ROOT, "examples")
    lin = os.path.join(ex, "linear_tanh/model.onnx")
    x = np.zeros((2, 10), np.float32)

    def expect(fn, status, text):
        try:
            fn()
        except onyx.Error as e:
            assert e.status_name == status, "%s: %s (%s)" % (text, e.status_name, e)
            assert text in str(e) and e.message == str(e), "message %r lacks %r" % (str(e), text)
            return
        raise AssertionError("no onyx.Error for " + text)

    expect(lambda: onyx.Session("/nonexistent/model.onnx"), "ONYX_ERR_IO", "nonexistent")
    with open(lin, "rb") as f:
        data = f.read()
    expect(lambda: onyx.Session(data[: len(data) // 2]), "ONYX_ERR_PARSE", "")
    s = onyx.Session(lin)
    expect(lambda: s.run({"x": x.astype(np.float64)}), "ONYX_ERR_INVALID_ARGUMENT", "float64")
    expect(lambda: s.run({"nope": x}), "ONYX_ERR_INVALID_ARGUMENT", "nope")
    expect(lambda: s.run({}), "ONYX_ERR_INVALID_ARGUMENT", "x")
    expect(lambda: s.run({"x": x}, outputs=["no_such_value"]), "ONYX_ERR_INVALID_ARGUMENT", "no_such_value")
    expect(lambda: s.run({"x": np.zeros((3, 10), np.float32)}), "ONYX_ERR_INVALID_ARGUMENT", "x")
    expect(lambda: s.run({"x": np.array(["a"] * 20).reshape(2, 10)}), "ONYX_ERR_UNSUPPORTED", "string")
    fn = os.path.join(ex, "functions/model.onnx")
    expect(lambda: onyx.Session(fn, function="onyx.examples:ScaledTanh", attributes={"beta": 1}),
           "ONYX_ERR_INVALID_ARGUMENT", "no attribute 'beta'")
    expect(lambda: onyx.Session(fn, function="nope"), "ONYX_ERR_INVALID_ARGUMENT", "no function 'nope'")
    # the loop limit reaches the library through the options struct
    loop = os.path.join(ex, "loop_scripted/model.onnx")
    feeds = {"x": x, "n": np.array(3, np.int64)}
    assert onyx.Session(loop, max_loop_iterations=3).run(feeds)["y"].shape == (2, 10)
    expect(lambda: onyx.Session(loop, max_loop_iterations=2).run(feeds), "ONYX_ERR_LIMIT", "")
    s.close()
    s.close()
    expect(lambda: s.run({"x": x}), "ONYX_ERR_INVALID_ARGUMENT", "closed")
    # a sequence output comes back as a list of arrays
    seq = model([node("SequenceConstruct", ["x", "x"], ["s"])], [vinfo("x", 1, [2])],
                [fld(1, "s") + fld(2, fld(4, fld(1, tensor_type(1, [2]))))])
    got = onyx.Session(seq).run({"x": np.array([1.5, -2], np.float32)})["s"]
    assert isinstance(got, list) and len(got) == 2, got
    for item in got:
        same(item, np.array([1.5, -2], np.float32), "sequence item")


@test
def version_matches_header():
    with open(os.path.join(ROOT, "include/onyx.h")) as f:
        assert '#define ONYX_VERSION_STRING "%s"' % onyx.__version__ in f.read()


def main():
    passed = failed = 0
    for fn in TESTS:
        try:
            fn()
            print("PASS", fn.__name__)
            passed += 1
        except Exception:
            print("FAIL", fn.__name__)
            print("  " + traceback.format_exc().strip().replace("\n", "\n  "))
            failed += 1
    shutil.rmtree(TMP, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
