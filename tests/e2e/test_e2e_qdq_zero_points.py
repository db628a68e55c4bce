"""End to end with onnxruntime's QDQ models: asymmetric activations (uint8, onnxruntime's default,
and int8 with non-zero zero points) generate and verify bit-exact on two boards.

The float model is built with onnx.helper and quantized by onnxruntime.quantization.quantize_static
on a seeded calibration reader; it has every op where zero points matter: a padded conv on the
asymmetric input, a ReLU onnxruntime drops (its clamp is the QuantizeLinear range, asymap keeps it
as an activation clamping at the zero point), a padded max pool, a residual add without ReLU
(asymmetric output), a padded average pool, a concat of two 3x3 convs and a max pool, a
1x1 conv (the pointwise engine), a global average pool and a Gemm. The plan cuts inside the
residual block, so the skip tensor and the main path cross the link with their zero points. The verifier compares every board's link output
with the integer reference (run_int), which itself matches onnxruntime's QDQ run
(tests/quant/test_quant_qdq_ort.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from asymap.codegen.fifodepth import FIFO_SLACK
from asymap.codegen.project import generate
from asymap.frontend import ir
from asymap.frontend.onnx_import import load_model
from asymap.quant.quantize import quantize
from asymap.verify.runner import verify

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.csim
SHAPE = (3, 14, 14)


def _float_model(path: Path) -> None:
    rng = np.random.default_rng(5)
    w = lambda *s: (rng.standard_normal(s) * np.sqrt(2.0 / np.prod(s[1:]))).astype(np.float32)  # noqa: E731
    b = lambda n: (rng.standard_normal(n) * 0.1).astype(np.float32)  # noqa: E731
    inits = {"w1": w(8, 3, 3, 3), "b1": b(8), "w2": w(8, 8, 3, 3), "b2": b(8), "w3": w(8, 8, 3, 3), "b3": b(8),
             "w4": w(6, 8, 3, 3), "b4": b(6), "w5": w(4, 8, 3, 3), "b5": b(4), "w6": w(12, 18, 1, 1), "b6": b(12), "wf": w(10, 12), "bf": b(10)}
    node = helper.make_node
    k3 = {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1]}
    nodes = [
        node("Conv", ["input", "w1", "b1"], ["c1"], name="stem", **k3),
        node("Relu", ["c1"], ["r1"], name="stem_relu"),  # dropped by onnxruntime
        node("MaxPool", ["r1"], ["m1"], name="pool", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
        node("Conv", ["m1", "w2", "b2"], ["c2"], name="res_a", **k3),
        node("Relu", ["c2"], ["r2"], name="res_a_relu"),
        node("Conv", ["r2", "w3", "b3"], ["c3"], name="res_b", **k3),
        node("Add", ["c3", "m1"], ["a"], name="res_add"),  # no ReLU: an asymmetric tensor
        node("AveragePool", ["a"], ["ap"], name="avg", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        node("Conv", ["ap", "w4", "b4"], ["c4"], name="br_a", **k3),
        node("Relu", ["c4"], ["r4"], name="br_a_relu"),
        node("Conv", ["ap", "w5", "b5"], ["c5"], name="br_b", **k3),
        node("MaxPool", ["ap"], ["m2"], name="br_pool", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        node("Concat", ["r4", "c5", "m2"], ["cat"], name="cat", axis=1),
        node("Conv", ["cat", "w6", "b6"], ["c6"], name="mix_1x1", kernel_shape=[1, 1]),
        node("Relu", ["c6"], ["r6"], name="mix_relu"),
        node("GlobalAveragePool", ["r6"], ["p"], name="gap"),
        node("Flatten", ["p"], ["f"], name="flat"),
        node("Gemm", ["f", "wf", "bf"], ["output"], name="fc", transB=1),
    ]
    graph = helper.make_graph(nodes, "qdq_zp", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, *SHAPE])],
                              [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 10])],
                              initializer=[numpy_helper.from_array(v, k) for k, v in inits.items()])
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    onnx.save(m, str(path))


def _quantize_static(src: Path, dst: Path, shape, act: str, per_channel: bool) -> Path:
    """onnxruntime's quantize_static (QDQ) on 8 seeded standard-normal calibration images."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    class Reader(CalibrationDataReader):
        def __init__(self):
            rng = np.random.default_rng(1)
            self.it = iter([{"input": rng.standard_normal((1, *shape)).astype(np.float32)} for _ in range(8)])

        def get_next(self):
            return next(self.it, None)

    quantize_static(str(src), str(dst), Reader(), quant_format=QuantFormat.QDQ, per_channel=per_channel,
                    activation_type=getattr(QuantType, act), weight_type=QuantType.QInt8)
    return dst


def _quantized(d: Path, act: str, per_channel: bool) -> Path:
    _float_model(d / "float.onnx")
    return _quantize_static(d / "float.onnx", d / f"qdq_{act}.onnx", SHAPE, act, per_channel)


def _plan(n_layers: int, cut: int, names=("big", "small"), cut2=None, offchip=()) -> dict:
    """A hand-written plan: boards ``names`` in pipeline order, cut after layer ``cut`` (and
    ``cut2`` for a third board); layers in ``offchip`` stream their weights."""
    bounds = [-1, cut] + ([cut2] if cut2 is not None else []) + [n_layers - 1]
    plan = {"schema": 1, "boards": [], "links": [{"from": a, "to": b, "width_bits": 64} for a, b in zip(names, names[1:])]}
    for name, first, last in zip(names, [b + 1 for b in bounds[:-1]], bounds[1:]):
        plan["boards"].append({"name": name, "first_layer": first, "last_layer": last, "layers": [
            {"index": i, "factors": {"pe": 2 if i % 2 else 1, "simd": 4 if i % 3 else 2},
             "weights": "offchip" if i in offchip else "onchip"} for i in range(first, last + 1)]})
    return plan


@pytest.mark.parametrize("act, per_channel", [("QUInt8", False), ("QInt8", True)])
def test_asymmetric_qdq_model_two_boards_bit_exact(tmp_path, act, per_channel):
    path = _quantized(tmp_path, act, per_channel)
    assert not any(n.op_type == "Relu" for n in onnx.load(str(path)).graph.node), "onnxruntime dropped the ReLUs"
    g = load_model(path)
    q = quantize(g)
    names = {lay.name: lay for lay in g.layers}
    ops = {lay.op for lay in g.layers}
    assert {ir.CONV, ir.MAXPOOL, ir.ADD, ir.AVGPOOL, ir.CONCAT, ir.GAP, ir.FC} <= ops
    # the asymmetric tensors this test is about
    signed = act == "QInt8"
    assert q.input.signed == signed and q.input.zero_point != 0
    add = next(lay for lay in g.layers if lay.op == ir.ADD)
    assert q.tensors[add.output].zero_point != 0 and q.tensors[add.output].signed == signed
    assert names["stem"].act == ir.ACT_RELU  # the dropped ReLU is an activation again
    assert q.layers[names["stem"].index].lo == max(q.tensors[names["stem"].output].zero_point, -128)
    nz = [t for t in q.tensors.values() if t.zero_point]
    assert len(nz) >= 3, [(t.name, t.zero_point) for t in q.tensors.values()]
    plan = _plan(len(g.layers), add.index - 1)  # cut inside the residual block: the skip crosses too
    (tmp_path / "plan.json").write_text(json.dumps(plan))
    out = tmp_path / "out"
    generate(path, ROOT / "clusters" / "pair2.yaml", out, plan=tmp_path / "plan.json", quiet=True)
    chain = json.loads((out / "chain.json").read_text())
    assert len(chain["links"][1]["tensors"]) == 2  # main path and skip tensor
    params = (out / "big" / "params.h").read_text()  # the stem's config: pads with the input zero point
    assert f"static const int in_zp = {q.input.zero_point};" in params
    res = verify(out, jobs=2, quiet=True, fifo_slack=FIFO_SLACK)
    assert res.ok, [(b.name, b.status, b.problems[:3]) for b in res.boards]
    for b in res.boards:
        assert b.tensors_checked >= 1 and b.rx["frames_ok"] >= 1
    if act == "QUInt8":
        _predict_dequantizes_with_the_output_zero_point(path, out, q)


def _predict_dequantizes_with_the_output_zero_point(path: Path, out: Path, q) -> None:
    """asymap.compile(out).predict (the boards' C-sim in one shared library, every link tensor
    checked against run_int) returns real values (y_int - zero_point) * scale: onnxruntime's
    DequantizeLinear of the same integers, close to onnxruntime's own QDQ run."""
    import onnxruntime as ort

    import asymap

    x = np.random.default_rng(7).standard_normal((2, *SHAPE)).astype(np.float32)
    pred = asymap.compile(out, jobs=2).predict(x)
    t = q.tensors[q.graph.output]
    assert t.zero_point != 0 and pred.zero_point == t.zero_point and pred.scale == float(t.scale)
    assert np.array_equal(pred.y, (pred.y_int.astype(np.float64) - t.zero_point) * t.scale)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    theirs = np.concatenate([sess.run(None, {"input": x[n:n + 1]})[0] for n in range(len(x))])
    err = np.abs(pred.y.reshape(theirs.shape) - theirs)
    assert err.max() <= 3 * t.scale + 1e-6, (err.max() / t.scale)  # a few LSB at rounding ties at most


@pytest.mark.slow
@pytest.mark.parametrize("name, act", [("resnet18", "QUInt8"), ("resnet18", "QInt8")])
def test_zoo_qdq_three_boards_bit_exact(tmp_path, name, act):
    """A zoo ResNet-18 (32x32, width 0.25) pre-processed and quantized by onnxruntime: asymmetric
    residual adds, dropped ReLUs, off-chip weights on the middle board, bit-exact on three boards."""
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from asymap.frontend.zoo import build_zoo_model

    raw, pre = tmp_path / "raw.onnx", tmp_path / "pre.onnx"
    onnx.save(build_zoo_model(name, input_size=32, width_mult=0.25, num_classes=10), str(raw))
    quant_pre_process(str(raw), str(pre), skip_symbolic_shape=True)
    path = _quantize_static(pre, tmp_path / "q.onnx", (3, 32, 32), act, per_channel=act == "QInt8")
    g = load_model(path)
    q = quantize(g)
    assert q.has_zero_points
    n = len(g.layers)
    plan = _plan(n, n // 2 - 1, names=("zcu102", "zcu104", "pynq1"), cut2=n - 3,
                 offchip=range(n // 2, n - 2))
    (tmp_path / "plan.json").write_text(json.dumps(plan))
    out = tmp_path / "out"
    generate(path, ROOT / "clusters" / "edge4.yaml", out, plan=tmp_path / "plan.json", quiet=True)
    res = verify(out, jobs=2, quiet=True, fifo_slack=FIFO_SLACK)
    assert res.ok, [(b.name, b.status, b.problems[:3]) for b in res.boards]
    assert len(res.boards) == 3 and all(b.tensors_checked >= 1 for b in res.boards)
