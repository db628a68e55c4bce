"""``asymap inspect``: the layer IR of an ONNX model as a table (or JSON)."""

from __future__ import annotations

HELP = "show a model's layer chain: shapes, MACs, params, weight/activation/cut bytes, totals"
EXAMPLE = "asymap inspect resnet152.onnx\n  asymap inspect model.onnx --input-shape 3,224,224 --json > layers.json"


def add_arguments(p):
    p.add_argument("model", metavar="MODEL.onnx", help="ONNX model to read")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--input-shape", metavar="C,H,W", help="input shape when the model's is dynamic")


def run(args) -> int:
    import sys

    from asymap.frontend.onnx_import import load_model
    from asymap.frontend.summary import summary_json, summary_table
    from asymap.util.arrays import parse_shape

    g = load_model(args.model, parse_shape(args.input_shape))
    sys.stdout.write(summary_json(g) if args.json else summary_table(g))
    return 0
