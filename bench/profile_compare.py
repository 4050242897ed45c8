#!/usr/bin/env python3
"""Set onyx's per-node times beside ONNX Runtime's, node by node.

    /usr/bin/python3 bench/profile_compare.py ONYX_PROFILE.txt ORT_TRACE.json [--op Conv]

ONYX_PROFILE.txt: the output of `onyx bench MODEL --profile-all ...`.
ORT_TRACE.json:   the trace of `node bench/ort_bench.js MODEL --profile PREFIX ...`.

Both runtimes run the nodes of one op type (Conv by default, fused or not) in the model's
topological order, so the k-th Conv of one is the k-th Conv of the other; the comparison
runtime's layout-change nodes are summed apart. Times are means per run (the trace's first
run plans and is left out)."""
import json
import re
import sys
from collections import defaultdict


def onyx_nodes(path):
    out, on = [], False
    for line in open(path):
        if line.startswith("nodes in run order:"):
            on = True
            continue
        if on:
            m = re.match(r"\s+(\S+)\s+(\S+)\s+([0-9.]+) ms", line)
            if not m:
                break
            out.append((m.group(1), m.group(2), float(m.group(3))))
    if not on:
        sys.exit(f"{path}: no 'nodes in run order' (run onyx bench with --profile-all)")
    return out


def ort_nodes(path):
    ev = json.load(open(path))
    runs = [e for e in ev if e.get("cat") == "Session" and e.get("name") == "model_run"]
    runs.sort(key=lambda e: e["ts"])
    if len(runs) < 2:
        sys.exit(f"{path}: fewer than two runs in the trace")
    first_end = runs[0]["ts"] + runs[0]["dur"]
    per = defaultdict(list)  # node name -> times over runs
    order, shapes, ops = [], {}, {}
    for e in sorted((e for e in ev if e.get("cat") == "Node" and e["name"].endswith("_kernel_time")),
                    key=lambda e: e["ts"]):
        if e["ts"] < first_end:
            continue
        n = e["name"][: -len("_kernel_time")]
        if n not in per:
            order.append(n)
            a = e.get("args", {})
            ops[n] = a.get("op_name", "?")
            shapes[n] = [list(d.values())[0] for d in a.get("input_type_shape", [])]
        per[n].append(e["dur"] / 1e3)
    nruns = len(runs) - 1
    return [(n, ops[n], sum(per[n]) / nruns, shapes[n]) for n in order]


def main():
    args = sys.argv[1:]
    op = "Conv"
    if "--op" in args:
        i = args.index("--op")
        op = args[i + 1]
        del args[i : i + 2]
    if len(args) != 2:
        sys.exit(__doc__)
    a = [n for n in onyx_nodes(args[0]) if n[1].split("+")[0] == op]
    b_all = ort_nodes(args[1])
    b = [n for n in b_all if n[1] in (op, "Fused" + op)]
    layout = sum(n[2] for n in b_all if n[1] in ("ReorderInput", "ReorderOutput"))
    if len(a) != len(b):
        print(f"note: {len(a)} {op} nodes in onyx, {len(b)} in the trace; lining up the first ones")
    print(f"{'#':>3} {'onyx ms':>8} {'ort ms':>8} {'ratio':>6}  ort inputs (X, W)  / onyx node")
    ta = tb = 0.0
    for k, (x, y) in enumerate(zip(a, b)):
        ta += x[2]
        tb += y[2]
        r = x[2] / y[2] if y[2] > 0 else float("inf")
        sh = " ".join("x".join(map(str, s)) for s in y[3][:2])
        print(f"{k:3d} {x[2]:8.3f} {y[2]:8.3f} {r:6.2f}  {sh}  / {x[0]} {x[1]}")
    print(f"sum {ta:8.3f} {tb:8.3f} {ta / tb if tb else 0:6.2f}")
    print(f"whole run: onyx {sum(n[2] for n in onyx_nodes(args[0])):.3f} ms, "
          f"trace {sum(n[2] for n in b_all):.3f} ms (of which layout changes {layout:.3f} ms)")


if __name__ == "__main__":
    main()
