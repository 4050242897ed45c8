"""Writes a small ONNX model whose names need escaping in DOT and JSON: quotes,
backslashes, a newline, braces, a tab and bytes that are not UTF-8. Plain protobuf
encoding, so it needs no onnx package.  python3 odd_names_model.py OUT.onnx"""
import struct
import sys


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field(num, payload):
    """A length-delimited field (wire type 2)."""
    if isinstance(payload, str):
        payload = payload.encode()
    return varint(num << 3 | 2) + varint(len(payload)) + payload


def int_field(num, value):
    return varint(num << 3) + varint(value)


def tensor_type(elem, dims):
    shape = b"".join(field(1, field(2, d) if isinstance(d, str) else int_field(1, d)) for d in dims)
    return field(1, int_field(1, elem) + field(2, shape))  # TypeProto.tensor_type


def value_info(name, elem, dims):
    return field(1, name) + field(2, tensor_type(elem, dims))


x = b'x "quoted" \\back\\ \xc3'  # a lone UTF-8 lead byte
w = b"w{\xff\xfe}"  # not UTF-8
h = "h\nnext\tline"
y = "y</b>&"
nodes = [
    field(1, x) + field(1, w) + field(2, h) + field(3, 'mat"mul\\') + field(4, "MatMul"),
    field(1, h) + field(2, y) + field(3, "relu\x01") + field(4, "Relu"),
]
weight = int_field(1, 2) + int_field(1, 3) + int_field(2, 1) + field(8, w) + field(9, struct.pack("<6f", *range(6)))
graph = b"".join(field(1, n) for n in nodes) + field(2, 'g "odd"') + field(5, weight)
graph += field(11, value_info(x, 1, ["batch \"n\"", 2])) + field(12, value_info(y, 1, ["batch \"n\"", 3]))
graph += field(13, value_info(h, 1, ["batch \"n\"", 3]))


def float_field(num, value):
    return varint(num << 3 | 5) + struct.pack("<f", value)


# a function with attribute defaults of several kinds (AttributeProto.type: 1 float,
# 7 ints, 3 string) and one without a default
defaults = [
    field(1, "alpha") + float_field(2, 0.5) + int_field(20, 1),
    field(1, "axes") + field(8, varint(1) + varint(3)) + int_field(20, 7),
    field(1, 'mode"') + field(4, b'a\\"b\n\xff') + int_field(20, 3),
]
body = field(1, "X") + field(2, "Y") + field(4, "Identity")
function = field(1, 'Odd"Fn') + field(4, "X") + field(5, "Y") + field(6, "beta") + field(7, body)
function += field(10, "odd.domain") + b"".join(field(11, a) for a in defaults) + field(9, int_field(2, 17))
model = int_field(1, 8) + field(2, 'prod\\"ucer') + field(7, graph) + field(8, int_field(2, 17))
model += field(8, field(1, "odd.domain") + int_field(2, 1)) + field(25, function)
with open(sys.argv[1], "wb") as f:
    f.write(model)
