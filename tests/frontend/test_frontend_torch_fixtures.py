"""Real PyTorch exports (committed fixtures, see tests/fixtures/make_torch_fixtures.py).

Narrow 32x32 networks built from torchvision's blocks, each written by both exporters
(``*_ts.onnx``: TorchScript, ``*_dynamo.onnx``: dynamo). Every supported one imports, its float
reference matches onnxruntime, both exporters give the same layer chain and the same numbers, and
the integer reference keeps a sane SQNR; four of them run through generate + C-sim on two boards
bit-exactly (DenseNet's pre-activation BatchNorm and ShuffleNetV2's split + shuffle among them).
The families asymap cannot express yet fail with their one-line errors.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from asymap.errors import UserError
from asymap.frontend import ir
from asymap.frontend.onnx_import import load_model
from asymap.quant.quantize import quantize
from asymap.quant.reference import dequantize, quantize_input, run_float, run_int, sqnr_db

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "torchvision"
ROOT = Path(__file__).resolve().parents[2]
SUPPORTED = ("resnet", "squeezenet", "googlenet", "inception_v3", "mobilenet_v2", "mnasnet", "efficientnet", "densenet",
             "shufflenet_v2")


def _ort(path: Path, x: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    s = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return s.run(None, {s.get_inputs()[0].name: x[None].astype(np.float32)})[0][0]


@pytest.mark.parametrize("name", SUPPORTED)
@pytest.mark.parametrize("exporter", ["ts", "dynamo"])
def test_export_imports_and_matches_onnxruntime(name, exporter):
    path = FIX / f"{name}_{exporter}.onnx"
    g = load_model(path)
    x = np.random.default_rng(1).standard_normal(g.input_shape).astype(np.float32)
    y, ref = np.asarray(run_float(g, x)).ravel(), _ort(path, x).ravel()
    assert np.abs(y - ref).max() <= 1e-4 * np.abs(ref).max()
    q = quantize(g)
    assert sqnr_db(y, dequantize(q, g.output, run_int(q, quantize_input(q, x)))) >= 20.0


@pytest.mark.parametrize("name", SUPPORTED)
def test_both_exporters_give_the_same_chain(name):
    a, b = load_model(FIX / f"{name}_ts.onnx"), load_model(FIX / f"{name}_dynamo.onnx")
    assert [(lay.op, lay.act, lay.out_shape, lay.kernel, lay.stride, lay.pads) for lay in a.layers] == \
        [(lay.op, lay.act, lay.out_shape, lay.kernel, lay.stride, lay.pads) for lay in b.layers]  # fmt: skip
    assert a.params == b.params
    x = np.random.default_rng(2).standard_normal(a.input_shape).astype(np.float32)
    ya, yb = np.asarray(run_float(a, x)), np.asarray(run_float(b, x))
    assert np.abs(ya - yb).max() <= 1e-5 * np.abs(ya).max()


def test_exporter_specific_patterns_are_read():
    """What the fixtures must contain for this file to test what it says."""
    import onnx

    ops = lambda f: {n.op_type for n in onnx.load(str(FIX / f)).graph.node}  # noqa: E731
    assert "ReduceMean" in ops("resnet_dynamo.onnx") and "GlobalAveragePool" in ops("resnet_ts.onnx")
    assert "ReduceMean" in ops("mnasnet_ts.onnx")
    for f in ("googlenet_ts.onnx", "googlenet_dynamo.onnx"):
        pools = [lay for lay in load_model(FIX / f).layers if lay.op == ir.MAXPOOL]
        assert pools[0].in_shapes[0][1:] == (16, 16) and pools[0].out_shape[1:] == (8, 8)  # ceil_mode: 8, not 7
        assert pools[0].pads[2] > 0  # the extra window hangs over the bottom/right border
    avg = [lay for lay in load_model(FIX / "inception_v3_ts.onnx").layers if lay.op == ir.AVGPOOL]
    assert avg and avg[0].count_include_pad and avg[0].pads == (1, 1, 1, 1)


@pytest.mark.csim
@pytest.mark.parametrize("name", ["resnet_dynamo", "inception_v3_ts", "efficientnet_ts", "densenet_dynamo",
                                  "shufflenet_v2_ts"])
def test_export_verifies_bit_exact_on_two_boards(name, tmp_path):
    from asymap.codegen.project import generate
    from asymap.verify.runner import verify

    path = FIX / f"{name}.onnx"
    n = len(load_model(path))
    cut = n // 2
    plan = {"schema": 1, "boards": [
        {"name": "big", "first_layer": 0, "last_layer": cut, "layers": [{"index": i, "factors": {"pe": 2, "simd": 2}, "weights": "onchip"} for i in range(cut + 1)]},
        {"name": "small", "first_layer": cut + 1, "last_layer": n - 1, "layers": [{"index": i, "factors": {"pe": 1, "simd": 2}, "weights": "onchip"} for i in range(cut + 1, n)]}],
        "links": [{"from": "big", "to": "small", "width_bits": 64}]}  # fmt: skip
    out = tmp_path / "out"
    generate(path, ROOT / "clusters" / "pair2.yaml", out, plan=plan, quiet=True)
    res = verify(out, jobs=2, quiet=True)
    assert res.ok, [(b.name, b.status, b.problems[:3]) for b in res.boards]
    assert len(json.loads((out / "chain.json").read_text())["boards"]) == 2
