#!/bin/sh
# `onyx info --json` prints one JSON object with what `onyx info` prints: checked with
# Python's json module against the text form for every shipped model (inputs, outputs,
# dims with symbolic names as strings, op counts, parameters, functions, arena), and for
# a model with names that need escaping. Skipped with a notice without /usr/bin/python3.
set -u
py=/usr/bin/python3
[ -x "$py" ] || { echo "notice: /usr/bin/python3 not found: onyx info --json checks skipped"; exit 0; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0
for m in examples/*/model.onnx tests/models/*/model.onnx; do
    "$ONYX" info "$m" >"$tmp/text" || { echo "onyx info $m failed"; status=1; continue; }
    "$ONYX" info --json "$m" >"$tmp/json" || { echo "onyx info --json $m failed"; status=1; continue; }
    # the JSON, printed back in the text form, must equal the text form
    "$py" - "$tmp/json" "$tmp/text" <<'PYEOF' || { echo "$m: JSON and text differ"; status=1; }
import json, sys
d = json.load(open(sys.argv[1], encoding="utf-8"))
want = open(sys.argv[2], encoding="utf-8", errors="replace").read()

def typ(v):
    k = v.get("kind")
    if k in ("tensor", "sparse_tensor"):
        dims = v["dims"]
        shape = "[?]" if dims is None else "[" + ",".join("?" if x is None else str(x) for x in dims) + "]"
        return ("sparse " if k == "sparse_tensor" else "") + v["dtype"] + shape
    if k in ("sequence", "optional"):
        return "%s(%s)" % (k, typ(v["elem"]) if v["elem"] else "?")
    if k == "map":
        return "map(%s, %s)" % (v["key"], typ(v["value"]) if v["value"] else "?")
    return "?"

out = ["model: " + d["model"], "ir_version: %d" % d["ir_version"]]
out.append("opsets:" + ",".join(" %s %d" % (o["domain"], o["version"]) for o in d["opsets"]))
out.append("producer: %s %s" % (d["producer"]["name"], d["producer"]["version"]))
assert d["graph"] is True
out.append("inputs:")
out += ["  %s: %s" % (v["name"], typ(v)) for v in d["inputs"]]
out.append("outputs:")
out += ["  %s: %s" % (v["name"], typ(v)) for v in d["outputs"]]
out.append("nodes: %d" % d["nodes"])
out += ["  %s: %d" % kv for kv in d["op_counts"].items()]
p = d["parameters"]
out.append("parameters: %d in %d initializers (%d bytes)" % (p["count"], p["initializers"], p["bytes"]))
out.append("functions: %d" % len(d["functions"]))
for f in d["functions"]:
    line = "  %s%s%s(%s) -> (%s)" % (f["domain"], ":" if f["domain"] else "", f["name"],
                                     ", ".join(f["inputs"]), ", ".join(f["outputs"]))
    for a in f["attributes"]:
        assert a["has_default"] or a["default"] is None
    if f["attributes"]:
        line += " attributes: " + " ".join(a["name"] for a in f["attributes"])
    out.append(line + " nodes: %d" % f["nodes"])
if d["arena_bytes"] is not None:
    assert d["arena_note"] is None and d["arena_bytes"] > 0
    out.append("arena: %d bytes (planned peak of a run)" % d["arena_bytes"])
elif d["arena_note"] == "unknown until input shapes are bound":
    out.append("arena: " + d["arena_note"])
else:
    out.append("arena: unknown (%s)" % d["arena_note"])
got = "\n".join(out) + "\n"
if got != want:
    sys.stdout.write("from JSON:\n" + got + "text:\n" + want)
    sys.exit(1)
PYEOF
done
# a fixed model: exact values
"$ONYX" info --json examples/small_cnn/model.onnx >"$tmp/cnn.json" || status=1
"$py" - "$tmp/cnn.json" <<'PYEOF' || { echo "small_cnn JSON values"; status=1; }
import json, sys
d = json.load(open(sys.argv[1]))
assert d["inputs"] == [{"name": "x", "kind": "tensor", "dtype": "float32", "dims": ["batch", 3, 16, 16]}], d["inputs"]
assert d["outputs"][0]["dims"] == ["batch", 10]
assert d["nodes"] == sum(d["op_counts"].values()) == 10
assert d["op_counts"]["Conv"] == 2, d["op_counts"]
assert d["arena_bytes"] is None and d["functions"] == []
assert isinstance(d["ir_version"], int) and d["opsets"][0]["domain"] == "ai.onnx"
PYEOF
# names with quotes, backslashes, control characters and bytes that are not UTF-8
"$py" tests/cli/odd_names_model.py "$tmp/odd.onnx" || exit 1
"$ONYX" info --json "$tmp/odd.onnx" >"$tmp/odd.json" || { echo "onyx info --json odd names failed"; exit 1; }
"$py" - "$tmp/odd.json" <<'PYEOF' || { echo "odd names JSON:"; cat "$tmp/odd.json"; status=1; }
import json, sys
d = json.load(open(sys.argv[1], encoding="utf-8"))
assert d["inputs"][0]["name"] == 'x "quoted" \\back\\ \ufffd', repr(d["inputs"][0]["name"])
assert d["inputs"][0]["dims"] == ['batch "n"', 2]
assert d["outputs"][0]["name"] == "y</b>&"
assert d["producer"]["name"] == 'prod\\"ucer'
f = d["functions"][0]
assert (f["domain"], f["name"], f["inputs"], f["outputs"]) == ("odd.domain", 'Odd"Fn', ["X"], ["Y"]), f
assert f["attributes"] == [
    {"name": "beta", "has_default": False, "default": None},
    {"name": "alpha", "has_default": True, "default": 0.5},
    {"name": "axes", "has_default": True, "default": [1, 3]},
    {"name": 'mode"', "has_default": True, "default": 'a\\"b\n\ufffd'},
], f["attributes"]
PYEOF
"$ONYX" info --json 2>/dev/null && status=1
"$ONYX" info --jsn examples/linear_tanh/model.onnx 2>/dev/null && status=1
exit $status
