#!/usr/bin/python3
"""Regenerate the example models under examples/<name>/.

Each example is a folder in the ONNX backend-test layout:
    examples/<name>/model.onnx
    examples/<name>/test_data_set_<k>/input_<i>.pb   (onnx.TensorProto, graph input i)
    examples/<name>/test_data_set_<k>/output_<i>.pb  (onnx.TensorProto, graph output i)

The expected outputs of the PyTorch examples are PyTorch's own outputs.  The
"functions" example is built with onnx.helper and its expected outputs come
from a direct numpy formula.  As a self-check every expected output is also
recomputed by a small float64 numpy interpreter of the exported graph (reading
the weights from the exported initializers); any mismatch aborts the script.

Needs Debian's python3-torch (1.13), python3-onnx (1.12) and python3-numpy:
    /usr/bin/python3 tools/export_examples.py [output_dir]
Seeds are fixed, so re-running writes byte-identical files.
"""

import io
import os
import shutil
import sys
import warnings

import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto
import torch
from torch import nn

OPSET = 17
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "examples")
RTOL, ATOL = 1e-4, 1e-5


# --------------------------------------------------------------------------
# PyTorch models (cases 1-7)

class LinearTanh(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(10, 5)

    def act(self, x):
        return torch.tanh(x) + 0.5 * x

    def forward(self, x):
        return self.act(self.linear(x))


class Half(nn.Module):
    def forward(self, x):
        return x + 0.5 * x


class SequentialAct(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(10, 5)
        self.act = nn.Sequential(nn.Tanh(), Half())

    def forward(self, x):
        return self.act(self.linear(x))


class WhereBranch(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear1 = nn.Linear(10, 10)
        self.linear2 = nn.Linear(10, 10)

    def forward(self, x):
        return torch.where(torch.mean(x) > 0, self.linear1(x), self.linear2(x))


class Linear3(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(10, 10)

    def forward(self, x):
        for _ in range(3):
            x = self.linear(x)
        return x


class SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
            nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        return self.fc(self.features(x))


class IfScripted(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear1 = nn.Linear(10, 10)
        self.linear2 = nn.Linear(10, 10)

    def forward(self, x):
        if torch.mean(x) > 0:
            y = self.linear1(x)
        else:
            y = self.linear2(x)
        return y


class LoopScripted(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(10, 10)

    def forward(self, x, n):
        for _ in range(int(n)):
            x = self.linear(x)
        return x


def randomize_batchnorm(model, gen):
    # Fresh BatchNorm layers are the identity; give them real statistics so the
    # exported (folded) weights differ from the plain conv weights.
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            c = m.num_features
            with torch.no_grad():
                m.weight.copy_(torch.rand(c, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(c, generator=gen) * 0.1)
                m.running_mean.copy_(torch.randn(c, generator=gen) * 0.1)
                m.running_var.copy_(torch.rand(c, generator=gen) + 0.5)


# --------------------------------------------------------------------------
# A small float64 numpy interpreter, used only to check the exported graphs.

class Interp:
    def __init__(self, model):
        self.functions = {(f.domain, f.name): f for f in model.functions}

    def run_graph(self, graph, feeds, outer=None):
        env = dict(outer or {})
        for init in graph.initializer:
            env[init.name] = numpy_helper.to_array(init)
        env.update(feeds)
        for node in graph.node:
            self.run_node(node, env)
        return [env[o.name] for o in graph.output]

    def run_node(self, node, env, attr_scope=None):
        ins = [env[n] if n else None for n in node.input]
        attrs = {}
        for a in node.attribute:
            if a.ref_attr_name:
                if attr_scope is None or a.ref_attr_name not in attr_scope:
                    raise RuntimeError("unbound ref_attr_name " + a.ref_attr_name)
                attrs[a.name] = attr_scope[a.ref_attr_name]
            else:
                attrs[a.name] = helper.get_attribute_value(a)
        key = (node.domain, node.op_type)
        if key in self.functions:
            outs = self.call_function(self.functions[key], ins, attrs)
        elif node.domain not in ("", "ai.onnx"):
            raise RuntimeError("unknown op %s:%s" % key)
        else:
            outs = self.run_op(node.op_type, ins, attrs, env)
        for name, val in zip(node.output, outs):
            if name:
                env[name] = val

    def call_function(self, fn, ins, attrs):
        env = {}
        for formal, actual in zip(fn.input, ins):
            env[formal] = actual
        for node in fn.node:
            self.run_node(node, env, attr_scope=attrs)
        return [env[o] for o in fn.output]

    def run_op(self, op, ins, a, env):
        f64 = lambda t: t.astype(np.float64) if t.dtype == np.float32 else t
        ins = [f64(t) if t is not None else None for t in ins]
        if op == "Constant":
            if "value" in a:
                return [f64(numpy_helper.to_array(a["value"]))]
            if "value_float" in a:
                return [np.array(a["value_float"], dtype=np.float64)]
            raise RuntimeError("Constant form not supported")
        if op == "Identity":
            return [ins[0]]
        if op == "Gemm":
            A, B = ins[0], ins[1]
            if a.get("transA", 0):
                A = A.T
            if a.get("transB", 0):
                B = B.T
            y = a.get("alpha", 1.0) * (A @ B)
            if len(ins) > 2 and ins[2] is not None:
                y = y + a.get("beta", 1.0) * ins[2]
            return [y]
        if op == "MatMul":
            return [ins[0] @ ins[1]]
        if op == "Add":
            return [ins[0] + ins[1]]
        if op == "Mul":
            return [ins[0] * ins[1]]
        if op == "Tanh":
            return [np.tanh(ins[0])]
        if op == "Relu":
            return [np.maximum(ins[0], 0)]
        if op == "LeakyRelu":
            x = ins[0]
            return [np.where(x >= 0, x, a.get("alpha", 0.01) * x)]
        if op == "ReduceMean":
            axes = a.get("axes")
            axes = tuple(axes) if axes is not None else None
            return [np.mean(ins[0], axis=axes, keepdims=bool(a.get("keepdims", 1)))]
        if op == "Greater":
            return [ins[0] > ins[1]]
        if op == "Cast":
            to = onnx.mapping.TENSOR_TYPE_TO_NP_TYPE[a["to"]]
            return [ins[0].astype(to)]
        if op == "Where":
            return [np.where(ins[0], ins[1], ins[2])]
        if op == "Flatten":
            x, ax = ins[0], a.get("axis", 1)
            return [x.reshape(int(np.prod(x.shape[:ax])), -1)]
        if op == "GlobalAveragePool":
            x = ins[0]
            return [x.mean(axis=tuple(range(2, x.ndim)), keepdims=True)]
        if op == "Conv":
            return [conv2d(ins[0], ins[1], ins[2] if len(ins) > 2 else None, a)]
        if op == "MaxPool":
            return [maxpool2d(ins[0], a)]
        if op == "BatchNormalization":
            x, s, b, m, v = ins
            sh = (1, -1) + (1,) * (x.ndim - 2)
            eps = a.get("epsilon", 1e-5)
            return [(x - m.reshape(sh)) / np.sqrt(v.reshape(sh) + eps) * s.reshape(sh) + b.reshape(sh)]
        if op == "If":
            branch = a["then_branch"] if bool(np.asarray(ins[0]).reshape(-1)[0]) else a["else_branch"]
            return self.run_graph(branch, {}, outer=env)
        if op == "Loop":
            return self.loop(ins, a["body"], env)
        raise RuntimeError("interpreter lacks op " + op)

    def loop(self, ins, body, env):
        trip, cond, carried = ins[0], ins[1], list(ins[2:])
        n_carried = len(carried)
        scans = None
        i = 0
        while True:
            if trip is not None and i >= int(np.asarray(trip).reshape(-1)[0]):
                break
            if cond is not None and not bool(np.asarray(cond).reshape(-1)[0]):
                break
            feeds = {body.input[0].name: np.array(i, dtype=np.int64),
                     body.input[1].name: np.array(True if cond is None else cond)}
            for inp, val in zip(body.input[2:], carried):
                feeds[inp.name] = val
            outs = self.run_graph(body, feeds, outer=env)
            cond = outs[0]
            carried = outs[1:1 + n_carried]
            step_scans = outs[1 + n_carried:]
            if scans is None:
                scans = [[] for _ in step_scans]
            for lst, v in zip(scans, step_scans):
                lst.append(v)
            i += 1
        if scans and any(len(s) for s in scans):
            return carried + [np.stack(s) for s in scans]
        return carried


def conv2d(x, w, b, a):
    if a.get("group", 1) != 1 or any(d != 1 for d in a.get("dilations", [1, 1])):
        raise RuntimeError("conv2d check supports group=1, dilation=1 only")
    pt, pl, pb, pr = a.get("pads", [0, 0, 0, 0])
    sh, sw = a.get("strides", [1, 1])
    x = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    n, _, h, wd = x.shape
    m, c, kh, kw = w.shape
    oh, ow = (h - kh) // sh + 1, (wd - kw) // sw + 1
    y = np.zeros((n, m, oh, ow))
    for i in range(kh):
        for j in range(kw):
            patch = x[:, :, i:i + sh * oh:sh, j:j + sw * ow:sw]
            y += np.einsum("nchw,mc->nmhw", patch, w[:, :, i, j])
    if b is not None:
        y += b.reshape(1, -1, 1, 1)
    return y


def maxpool2d(x, a):
    kh, kw = a["kernel_shape"]
    sh, sw = a.get("strides", [1, 1])
    if any(a.get("pads", [0, 0, 0, 0])) or a.get("ceil_mode", 0):
        raise RuntimeError("maxpool check supports no padding, floor mode only")
    n, c, h, w = x.shape
    oh, ow = (h - kh) // sh + 1, (w - kw) // sw + 1
    y = np.full((n, c, oh, ow), -np.inf)
    for i in range(kh):
        for j in range(kw):
            y = np.maximum(y, x[:, :, i:i + sh * oh:sh, j:j + sw * ow:sw])
    return y


# --------------------------------------------------------------------------
# Writing and checking

def check_against_graph(name, model, data_sets):
    interp = Interp(model)
    for k, (inputs, outputs) in enumerate(data_sets):
        feeds = {gi.name: v for gi, v in zip(model.graph.input, inputs)}
        got = interp.run_graph(model.graph, feeds)
        if len(got) != len(outputs):
            raise SystemExit("%s: graph has %d outputs, expected %d" % (name, len(got), len(outputs)))
        for i, (g, e) in enumerate(zip(got, outputs)):
            if g.shape != e.shape or not np.allclose(g, e, rtol=RTOL, atol=ATOL):
                raise SystemExit("SELF-CHECK FAILED: %s data set %d output %d: "
                                 "numpy recomputation from the graph disagrees (max |diff| %s)"
                                 % (name, k, i, np.max(np.abs(g - e)) if g.shape == e.shape
                                    else "shape %s vs %s" % (g.shape, e.shape)))


# Hand-written formulas for the simple cases, reading the weights from the
# exported initializers: a second check that does not depend on the graph.
def _dense(w, x, p):
    return x.astype(np.float64) @ w[p + ".weight"].T + w[p + ".bias"]


FORMULAS = {
    "linear_tanh": lambda w, x: np.tanh(_dense(w, x, "linear")) + 0.5 * _dense(w, x, "linear"),
    "sequential_act": lambda w, x: 1.5 * np.tanh(_dense(w, x, "linear")),
    "where_branch": lambda w, x: (_dense(w, x, "linear1") if x.astype(np.float64).mean() > 0
                                  else _dense(w, x, "linear2")),
    "linear3_unrolled": lambda w, x: _dense(w, _dense(w, _dense(w, x, "linear"), "linear"), "linear"),
}


def check_formula(name, model, data_sets):
    weights = {i.name: numpy_helper.to_array(i).astype(np.float64) for i in model.graph.initializer}
    for k, (inputs, outputs) in enumerate(data_sets):
        want = FORMULAS[name](weights, inputs[0])
        if want.shape != outputs[0].shape or not np.allclose(want, outputs[0], rtol=RTOL, atol=ATOL):
            raise SystemExit("SELF-CHECK FAILED: %s data set %d: numpy formula on the exported "
                             "initializers disagrees with PyTorch's output" % (name, k))


def write_example(out_dir, name, model_bytes, data_sets):
    model = onnx.load_from_string(model_bytes)
    onnx.checker.check_model(model, full_check=True)
    if len(model.graph.input) != len(data_sets[0][0]):
        raise SystemExit("%s: graph has %d inputs, data has %d"
                         % (name, len(model.graph.input), len(data_sets[0][0])))
    check_against_graph(name, model, data_sets)
    if name in FORMULAS:
        check_formula(name, model, data_sets)

    d = os.path.join(out_dir, name)
    if os.path.isdir(d):
        shutil.rmtree(d)
    os.makedirs(d)
    path = os.path.join(d, "model.onnx")
    with open(path, "wb") as f:
        f.write(model_bytes)
    written = [path]
    for k, (inputs, outputs) in enumerate(data_sets):
        ds = os.path.join(d, "test_data_set_%d" % k)
        os.makedirs(ds)
        for kind, arrays, infos in (("input", inputs, model.graph.input),
                                    ("output", outputs, model.graph.output)):
            for i, (arr, info) in enumerate(zip(arrays, infos)):
                p = os.path.join(ds, "%s_%d.pb" % (kind, i))
                with open(p, "wb") as f:
                    f.write(numpy_helper.from_array(arr, info.name).SerializeToString())
                written.append(p)
    total = 0
    for p in written:
        size = os.path.getsize(p)
        total += size
        print("  wrote %-60s %7d bytes" % (os.path.relpath(p, ROOT), size))
    ops = sorted({n.op_type for n in model.graph.node})
    print("  %s: opset %d, ops %s, %d data set(s), %d bytes in all, self-check ok"
          % (name, model.opset_import[0].version, " ".join(ops), len(data_sets), total))


def export_torch(module, example_args, input_names, dynamic_axes=None, keep_batchnorm=False):
    # EVAL mode with constant folding folds BatchNorm into the Conv before it;
    # keep_batchnorm exports the (eval-mode) module as it is, so the graph keeps its
    # BatchNormalization nodes (inference form, one output).
    f = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, example_args, f, opset_version=OPSET,
                          input_names=input_names, output_names=["y"],
                          dynamic_axes=dynamic_axes,
                          training=torch.onnx.TrainingMode.PRESERVE if keep_batchnorm
                          else torch.onnx.TrainingMode.EVAL,
                          do_constant_folding=not keep_batchnorm)
    return f.getvalue()


def torch_run(module, inputs):
    with torch.no_grad():
        y = module(*[torch.from_numpy(a) for a in inputs])
    return [y.detach().numpy().astype(np.float32)]


def f32(rng, shape, shift=0.0):
    return (rng.standard_normal(shape) + shift).astype(np.float32)


def torch_case(out_dir, name, seed, make, input_sets, script=False, dynamic_axes=None,
               input_names=("x",)):
    torch.manual_seed(seed)
    module = make().eval()
    if name == "small_cnn":
        randomize_batchnorm(module, torch.Generator().manual_seed(seed + 1))
    exported = torch.jit.script(module) if script else module
    example = tuple(torch.from_numpy(a) for a in input_sets[0])
    model_bytes = export_torch(exported, example, list(input_names), dynamic_axes,
                               keep_batchnorm=name == "small_cnn")
    data_sets = [(ins, torch_run(module, ins)) for ins in input_sets]
    write_example(out_dir, name, model_bytes, data_sets)
    return module


# --------------------------------------------------------------------------
# Case 8: model-local functions built with onnx.helper

FN_DOMAIN = "onyx.examples"


def ref_node(op, inputs, outputs, domain="", **refs):
    """A node whose float attributes are all bound to the caller's attributes
    (AttributeProto with ref_attr_name and a type but no value)."""
    node = helper.make_node(op, inputs, outputs, domain=domain)
    for name, ref in sorted(refs.items()):
        attr = node.attribute.add()
        attr.name = name
        attr.type = onnx.AttributeProto.FLOAT
        attr.ref_attr_name = ref
    return node


def build_functions_model():
    # ScaledTanh(X) = alpha * tanh(X); alpha is bound by the caller through
    # ref_attr_name on a Constant node.  It imports only the default domain.
    scaled_tanh = helper.make_function(
        FN_DOMAIN, "ScaledTanh", ["X"], ["Y"],
        [ref_node("Constant", [], ["alpha_t"], value_float="alpha"),
         helper.make_node("Tanh", ["X"], ["t"]),
         helper.make_node("Mul", ["t", "alpha_t"], ["Y"])],
        opset_imports=[helper.make_opsetid("", OPSET)],
        attributes=["alpha"])

    # Dense(X, W, B) = ScaledTanh(XW+B; alpha=scale) + LeakyRelu(XW+B; alpha=slope):
    # calls another function, forwards one attribute under a different name,
    # and imports both its domains.
    dense = helper.make_function(
        FN_DOMAIN, "Dense", ["X", "W", "B"], ["Y"],
        [helper.make_node("MatMul", ["X", "W"], ["xw"]),
         helper.make_node("Add", ["xw", "B"], ["h"]),
         ref_node("ScaledTanh", ["h"], ["s"], domain=FN_DOMAIN, alpha="scale"),
         ref_node("LeakyRelu", ["h"], ["r"], alpha="slope"),
         helper.make_node("Add", ["s", "r"], ["Y"])],
        opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid(FN_DOMAIN, 1)],
        attributes=["scale", "slope"])

    rng = np.random.default_rng(8)
    w1 = f32(rng, (4, 6)) * np.float32(0.5)
    b1 = f32(rng, (6,)) * np.float32(0.1)
    w2 = f32(rng, (6, 3)) * np.float32(0.5)
    b2 = f32(rng, (3,)) * np.float32(0.1)
    graph = helper.make_graph(
        [helper.make_node("Dense", ["x", "w1", "b1"], ["h1"], domain=FN_DOMAIN,
                          name="dense1", scale=2.0, slope=0.1),
         helper.make_node("Dense", ["h1", "w2", "b2"], ["h2"], domain=FN_DOMAIN,
                          name="dense2", scale=0.5, slope=0.2),
         helper.make_node("ScaledTanh", ["h2"], ["y"], domain=FN_DOMAIN,
                          name="head", alpha=3.0)],
        "functions",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 3])],
        initializer=[numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(b1, "b1"),
                     numpy_helper.from_array(w2, "w2"), numpy_helper.from_array(b2, "b2")])
    model = helper.make_model(
        graph, producer_name="onyx tools/export_examples.py",
        opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid(FN_DOMAIN, 1)],
        functions=[scaled_tanh, dense])
    model.ir_version = 8

    def expected(x):
        def dense_np(v, w, b, scale, slope):
            h = v.astype(np.float64) @ w + b
            return scale * np.tanh(h) + np.where(h >= 0, h, np.float32(slope) * h)
        h1 = dense_np(x, w1, b1, np.float32(2.0), 0.1)
        h2 = dense_np(h1, w2, b2, np.float32(0.5), 0.2)
        return (3.0 * np.tanh(h2)).astype(np.float32)

    inputs = [[f32(rng, (2, 4))], [f32(rng, (5, 4))]]
    data_sets = [(ins, [expected(ins[0])]) for ins in inputs]
    return model.SerializeToString(), data_sets


# --------------------------------------------------------------------------

def main():
    out_dir = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else OUT_DIR
    os.makedirs(out_dir, exist_ok=True)
    torch.set_num_threads(1)  # same float results whatever the machine
    print("torch %s, onnx %s, numpy %s, opset %d -> %s"
          % (torch.__version__, onnx.__version__, np.__version__, OPSET, out_dir))

    rng = np.random.default_rng(1)
    x_lin = [[f32(rng, (2, 10))]]
    torch_case(out_dir, "linear_tanh", 1, LinearTanh, x_lin)
    # Same seed, so the Linear weights equal those of linear_tanh.
    torch_case(out_dir, "sequential_act", 1, SequentialAct, x_lin)

    rng = np.random.default_rng(3)
    x_branch = [[f32(rng, (2, 10), +1.0)], [f32(rng, (2, 10), -1.0)]]
    for ins, sign in zip(x_branch, (1, -1)):
        assert np.sign(ins[0].mean()) == sign
    torch_case(out_dir, "where_branch", 3, WhereBranch, x_branch)

    rng = np.random.default_rng(4)
    torch_case(out_dir, "linear3_unrolled", 4, Linear3, [[f32(rng, (2, 10))]])

    rng = np.random.default_rng(5)
    torch_case(out_dir, "small_cnn", 5, SmallCNN,
               [[f32(rng, (1, 3, 16, 16))], [f32(rng, (2, 3, 16, 16))]],
               dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}})

    rng = np.random.default_rng(6)
    x_if = [[f32(rng, (2, 10), +1.0)], [f32(rng, (2, 10), -1.0)]]
    for ins, sign in zip(x_if, (1, -1)):
        assert np.sign(ins[0].mean()) == sign
    torch_case(out_dir, "if_scripted", 6, IfScripted, x_if, script=True)

    rng = np.random.default_rng(7)
    x_loop = f32(rng, (2, 10))
    # The example input (first set) has n=3 so the trace-free scripted export
    # sees a real trip count; the second set runs zero iterations.
    torch_case(out_dir, "loop_scripted", 7, LoopScripted,
               [[x_loop, np.array(3, dtype=np.int64)], [x_loop, np.array(0, dtype=np.int64)]],
               script=True, input_names=("x", "n"))

    model_bytes, data_sets = build_functions_model()
    write_example(out_dir, "functions", model_bytes, data_sets)


if __name__ == "__main__":
    main()
