#!/usr/bin/python3
"""Write the benchmark models of `make bench` into bench/models/ (not committed).

Every model is randomly initialised (fixed seed), put in eval mode and exported
with opset 17 and fixed shapes.  Next to each model.onnx the script writes its
input(s) as .npy, so onyx and the comparison runtime are fed the same numbers:

    bench/models/<name>.onnx
    bench/models/<name>.<input name>.npy      (one per graph input)

plus bench/models/_identity.onnx, a one-node model the comparison runtime opens
first so that its one-off environment set-up is not counted as the load time of
the first real model.

Models that already exist are skipped (delete a file to rebuild it).  A model
that fails to export is reported and skipped; the others are still written.

Needs Debian's python3-torch (1.13), python3-torchvision (0.14), python3-onnx:
    /usr/bin/python3 tools/make_bench_models.py [output_dir] [name...]
"""

import io
import os
import sys
import traceback
import warnings

import numpy as np
import onnx
from onnx import helper, TensorProto
import torch
from torch import nn

OPSET = 17
SEED = 1234
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# --------------------------------------------------------------------------
# models that are not in torchvision

D_MODEL, HEADS, FF, SEQ, LAYERS = 256, 4, 1024, 128, 4


def encoder(activation):
    layer = nn.TransformerEncoderLayer(D_MODEL, HEADS, dim_feedforward=FF, dropout=0.0,
                                       activation=activation, batch_first=True)
    # enable_nested_tensor=False keeps the exported graph free of the padded fast path
    enc = nn.TransformerEncoder(layer, LAYERS, enable_nested_tensor=False)
    # the layers are deep copies of one layer: give each its own weights, or the exporter
    # stores one shared set and the benchmark runs from a quarter of the real working set
    for p in enc.parameters():
        if p.dim() > 1:
            nn.init.xavier_uniform_(p)
        else:
            nn.init.uniform_(p, -0.05, 0.05)
    for layer in enc.layers:
        for norm in (layer.norm1, layer.norm2):
            nn.init.ones_(norm.weight)
    return enc


class Transformer(nn.Module):
    """4 encoder layers on a [1, 128, 256] float input."""

    def __init__(self):
        super().__init__()
        self.encoder = encoder("relu")

    def forward(self, x):
        return self.encoder(x)


class BertLike(nn.Module):
    """Token + position embeddings, LayerNorm, 4 GELU encoder layers, a pooled head."""

    VOCAB = 30522

    def __init__(self):
        super().__init__()
        self.tok = nn.Embedding(self.VOCAB, D_MODEL)
        self.pos = nn.Parameter(torch.randn(1, SEQ, D_MODEL) * 0.02)
        self.norm = nn.LayerNorm(D_MODEL)
        self.encoder = encoder("gelu")
        self.pool = nn.Linear(D_MODEL, D_MODEL)

    def forward(self, ids):
        h = self.encoder(self.norm(self.tok(ids) + self.pos))
        return h, torch.tanh(self.pool(h[:, 0]))


class Lstm(nn.Module):
    """2-layer LSTM, input 64, hidden 128, 50 steps, batch 1 (sequence-first input)."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(64, 128, num_layers=2)

    def forward(self, x):
        y, (h, c) = self.lstm(x)
        return y, h, c


class Mlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(784, 1024), nn.ReLU(), nn.Linear(1024, 1024), nn.ReLU(),
                                 nn.Linear(1024, 10))

    def forward(self, x):
        return self.net(x)


def vision(name):
    def make():
        import torchvision.models as tvm
        return getattr(tvm, name)(weights=None)
    return make


def image():
    return {"input": torch.rand(1, 3, 224, 224)}


# name -> (constructor, inputs): inputs maps graph input names to example tensors
MODELS = {
    "resnet18": (vision("resnet18"), image),
    "mobilenet_v2": (vision("mobilenet_v2"), image),
    "squeezenet1_1": (vision("squeezenet1_1"), image),
    "efficientnet_b0": (vision("efficientnet_b0"), image),
    "transformer": (Transformer, lambda: {"x": torch.randn(1, SEQ, D_MODEL)}),
    "bert_like": (BertLike, lambda: {"ids": torch.randint(0, BertLike.VOCAB, (1, SEQ), dtype=torch.int64)}),
    "lstm": (Lstm, lambda: {"x": torch.randn(50, 1, 64)}),
    "mlp": (Mlp, lambda: {"x": torch.randn(64, 784)}),
}


def export(name, out_dir):
    make, make_inputs = MODELS[name]
    torch.manual_seed(SEED)
    model = make().eval()
    inputs = make_inputs()
    names = list(inputs)
    args = tuple(inputs[k] for k in names)
    with torch.no_grad():
        outs = model(*args)
    n_out = len(outs) if isinstance(outs, tuple) else 1
    buf = io.BytesIO()
    # export with autograd on: under no_grad, torch 1.13's encoder layers take a fused
    # fast path (aten::_transformer_encoder_layer_fwd) that has no ONNX export
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, args, buf, opset_version=OPSET, input_names=names,
                          output_names=[f"output_{i}" for i in range(n_out)], do_constant_folding=True)
    proto = onnx.load_from_string(buf.getvalue())
    onnx.checker.check_model(proto)
    for k in names:
        np.save(os.path.join(out_dir, f"{name}.{k}.npy"), inputs[k].numpy())
    # the model last: its presence means the whole set is complete
    tmp = os.path.join(out_dir, f".{name}.onnx.tmp")
    onnx.save(proto, tmp)
    os.replace(tmp, os.path.join(out_dir, f"{name}.onnx"))
    return os.path.getsize(os.path.join(out_dir, f"{name}.onnx"))


def identity_model(path):
    vi = [helper.make_tensor_value_info(n, TensorProto.FLOAT, [1]) for n in ("x", "y")]
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "identity", [vi[0]], [vi[1]])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)]), path)


def main():
    args = sys.argv[1:]
    out_dir = args.pop(0) if args and not args[0] in MODELS else os.path.join(ROOT, "bench", "models")
    wanted = args or list(MODELS)
    for n in wanted:
        if n not in MODELS:
            sys.exit(f"make_bench_models: unknown model '{n}' (known: {', '.join(MODELS)})")
    os.makedirs(out_dir, exist_ok=True)
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    ident = os.path.join(out_dir, "_identity.onnx")
    if not os.path.exists(ident):
        identity_model(ident)
    failed = 0
    for n in wanted:
        if os.path.exists(os.path.join(out_dir, f"{n}.onnx")):
            continue
        try:
            size = export(n, out_dir)
            print(f"make_bench_models: {n}.onnx ({size / 1e6:.1f} MB)")
        except Exception:  # keep going: one model that does not export must not stop the others
            failed += 1
            print(f"make_bench_models: {n} failed to export:", file=sys.stderr)
            traceback.print_exc()
    return 1 if failed == len(wanted) else 0


if __name__ == "__main__":
    sys.exit(main())
