"""onnxruntime QDQ models run exactly as onnxruntime runs them (asymmetric activations included).

Models come from ``onnxruntime.quantization.quantize_static`` on small onnx.helper graphs with a
seeded calibration reader. onnxruntime fuses the Q/DQ pairs into integer kernels that round through
float32; asymap's fixed-point requantization computes the same accumulators and may differ only at
rounding ties, which onnxruntime breaks by its own float32 rounding noise (docs/quantization.md,
"Agreement with onnxruntime"). The checks, on images outside the calibration set: every tensor up
to the first average pool (input, conv, maxpool, residual add, depthwise conv: no ties) equals
onnxruntime's bit for bit; an average pool whose output scale equals its input's divides by 4 or 6
at the borders and meets exact ties, after which outputs may differ by a few steps (at most 3
here), and the end-to-end SQNR against onnxruntime stays >= 30 dB.
"""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from asymap.errors import UserError
from asymap.frontend import ir
from asymap.frontend.onnx_import import load_model
from asymap.quant.ortcompare import compare_with_onnxruntime, onnxruntime_tensors
from asymap.quant.quantize import quantize
from asymap.quant.reference import dequantize, quantize_input, run_float, run_int

SHAPE = (3, 12, 12)
MAX_LSB = 3
MIN_SQNR = 30.0
EXACT = ("input", "r1", "m1", "c2", "a", "dw")  # tensors without rounding ties (see above)


def _float_model(path):
    """Every op kind with padding where zero points matter: padded conv on the (asymmetric)
    input, a ReLU onnxruntime drops, padded max and average pools, a residual add without ReLU
    (asymmetric), concat, global pool, Gemm."""
    rng = np.random.default_rng(0)
    w = lambda *s: (rng.standard_normal(s) * np.sqrt(2.0 / np.prod(s[1:]))).astype(np.float32)  # noqa: E731
    inits = {
        "w1": w(8, 3, 3, 3), "b1": (rng.standard_normal(8) * 0.1).astype(np.float32),
        "w2": w(8, 8, 3, 3), "b2": (rng.standard_normal(8) * 0.1).astype(np.float32),
        "w3": w(4, 8, 1, 1), "w4": w(4, 8, 3, 3), "wd": w(8, 1, 3, 3),
        "wf": w(10, 8), "bf": np.full(10, 0.05, np.float32),
    }  # fmt: skip
    nodes = [
        helper.make_node("Conv", ["input", "w1", "b1"], ["c1"], name="conv1", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
        helper.make_node("MaxPool", ["r1"], ["m1"], name="pool1", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
        helper.make_node("Conv", ["m1", "w2", "b2"], ["c2"], name="conv2", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Add", ["c2", "m1"], ["a"], name="add"),  # no ReLU: asymmetric output
        helper.make_node("Conv", ["a", "wd"], ["dw"], name="dwconv", kernel_shape=[3, 3], pads=[1, 1, 1, 1], group=8),
        helper.make_node("AveragePool", ["dw"], ["ap"], name="avg", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Conv", ["ap", "w3"], ["c3"], name="conv3", kernel_shape=[1, 1]),
        helper.make_node("Conv", ["ap", "w4"], ["c4"], name="conv4", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Concat", ["c3", "c4"], ["cat"], name="cat", axis=1),
        helper.make_node("Relu", ["cat"], ["r2"], name="relu2"),
        helper.make_node("GlobalAveragePool", ["r2"], ["p"], name="gap"),
        helper.make_node("Flatten", ["p"], ["f"], name="flat"),
        helper.make_node("Gemm", ["f", "wf", "bf"], ["output"], name="fc", transB=1),
    ]
    graph = helper.make_graph(
        nodes, "qdq_ort", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, *SHAPE])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 10])],
        initializer=[numpy_helper.from_array(v, k) for k, v in inits.items()],
    )  # fmt: skip
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    onnx.save(m, str(path))


def _reader(n=16, seed=1):
    from onnxruntime.quantization import CalibrationDataReader

    class Reader(CalibrationDataReader):
        def __init__(self):
            rng = np.random.default_rng(seed)
            self.it = iter([{"input": rng.standard_normal((1, *SHAPE)).astype(np.float32)} for _ in range(n)])

        def get_next(self):
            return next(self.it, None)

    return Reader()


def _quantize(tmp_path, act: str, per_channel: bool, fmt: str = "QDQ", symmetric: bool = False):
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static

    src = tmp_path / "f.onnx"
    if not src.exists():
        _float_model(src)
    dst = tmp_path / f"q_{act}_{int(per_channel)}_{fmt}_{int(symmetric)}.onnx"
    quantize_static(
        str(src), str(dst), _reader(), quant_format=getattr(QuantFormat, fmt), per_channel=per_channel,
        activation_type=getattr(QuantType, act), weight_type=QuantType.QInt8,
        extra_options={"ActivationSymmetric": symmetric},
    )  # fmt: skip
    return dst


def _images(n=6):
    return np.random.default_rng(7).standard_normal((n, *SHAPE)).astype(np.float32)


@pytest.mark.parametrize("act, per_channel", [("QUInt8", False), ("QUInt8", True), ("QInt8", True), ("QInt8", False)])
def test_asymmetric_qdq_matches_onnxruntime(tmp_path, act, per_channel):
    path = _quantize(tmp_path, act, per_channel)
    model = onnx.load(str(path))
    assert not any(n.op_type == "Relu" for n in model.graph.node), "onnxruntime dropped the ReLUs"
    g = load_model(path)
    q = quantize(g)
    # Asymmetric tensors exist (the input, the add without ReLU) and keep the file's zero points.
    inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    qin = next(n for n in model.graph.node if n.op_type == "QuantizeLinear" and n.input[0] == "input")
    assert q.input.zero_point == int(inits[qin.input[2]]) != 0
    assert q.input.signed == (act == "QInt8")
    add = next(lay for lay in g.layers if lay.op == ir.ADD)
    assert q.tensors[add.output].zero_point != 0 and add.act is None
    # The dropped ReLUs are activations again: the float model clamps, the integer clamp is at zp.
    conv1 = g.layers[0]
    assert conv1.act == ir.ACT_RELU and q.layers[0].lo == q.tensors[conv1.output].zero_point
    for x in _images(2):
        ours = run_int(q, quantize_input(q, x), return_all=True)
        theirs = onnxruntime_tensors(path, x)
        for t in EXACT:
            assert np.array_equal(ours[t].reshape(theirs[t].shape), theirs[t]), t
    for optimized in (True, False):
        agr = compare_with_onnxruntime(q, path, _images(), optimized=optimized)
        assert agr.max_lsb <= MAX_LSB and agr.sqnr_db >= MIN_SQNR, agr


def test_qdq_zero_points_matter(tmp_path):
    """Ignoring the zero points (the old symmetric approximation) breaks agreement: the test above
    can fail."""
    path = _quantize(tmp_path, "QUInt8", True)
    g = load_model(path)
    q = quantize(g)
    for t in q.tensors.values():
        t.zero_point = 0
    for lay in q.layers:
        lay.in_zp, lay.out_zp = (), 0
    agr = compare_with_onnxruntime(q, path, _images(2))
    assert agr.max_lsb > MAX_LSB and agr.sqnr_db < MIN_SQNR, agr


def test_float_reference_of_qdq_model_keeps_the_dropped_relu(tmp_path):
    path = _quantize(tmp_path, "QUInt8", False)
    g = load_model(path)
    x = _images(1)[0]
    vals = run_float(g, x, return_all=True)
    assert vals[g.layers[0].output].min() >= 0.0


def test_integer_reference_of_asymmetric_tensors_dequantizes_correctly(tmp_path):
    path = _quantize(tmp_path, "QInt8", True)
    g = load_model(path)
    q = quantize(g)
    x = _images(1)[0]
    xq = quantize_input(q, x)
    t = q.input
    assert np.array_equal(xq, np.clip(np.round(x / t.scale) + t.zero_point, -128, 127))
    y = run_int(q, xq)
    assert y.min() >= q.output.lo and y.max() <= q.output.hi
    assert np.allclose(dequantize(q, g.output, y), (y.astype(np.float64) - q.output.zero_point) * q.output.scale)


def test_symmetric_int8_qdq_still_exact(tmp_path):
    path = _quantize(tmp_path, "QInt8", True, symmetric=True)
    q = quantize(load_model(path))
    assert not q.has_zero_points
    agr = compare_with_onnxruntime(q, path, _images())
    assert agr.max_lsb <= MAX_LSB and agr.sqnr_db >= MIN_SQNR, agr


def test_qoperator_model_fails_with_use_qdq(tmp_path, run_cli, assert_user_error):
    path = _quantize(tmp_path, "QUInt8", False, fmt="QOperator")
    with pytest.raises(UserError, match="QDQ"):
        load_model(path)
    assert_user_error(run_cli("inspect", path), str(path), "QLinearConv", "QDQ")


def _zoo_qdq(tmp_path, name: str, size: int, prefold: bool, act: str = "QInt8"):
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from asymap.frontend.zoo import build_zoo_model

    class Reader(CalibrationDataReader):
        def __init__(self):
            rng = np.random.default_rng(1)
            self.it = iter([{"input": rng.standard_normal((1, 3, size, size)).astype(np.float32)} for _ in range(8)])

        def get_next(self):
            return next(self.it, None)

    raw, src, dst = tmp_path / "raw.onnx", tmp_path / "pre.onnx", tmp_path / f"{name}_q.onnx"
    onnx.save(build_zoo_model(name, input_size=size, width_mult=0.25, num_classes=10), str(raw))
    if prefold:
        quant_pre_process(str(raw), str(src), skip_symbolic_shape=True)
    quantize_static(str(src if prefold else raw), str(dst), Reader(), quant_format=QuantFormat.QDQ,
                    activation_type=getattr(QuantType, act))  # fmt: skip
    return dst


def test_qdq_with_unfolded_batchnorm_is_refused(tmp_path, run_cli, assert_user_error):
    """onnxruntime rounds a conv's output before a BatchNormalization it did not fold: folding it
    here would silently change the numbers, so the importer says how to pre-process instead."""
    path = _zoo_qdq(tmp_path, "resnet18", 16, prefold=False)
    assert_user_error(run_cli("inspect", path), "BatchNormalization", "quant_pre_process")


@pytest.mark.parametrize("name, act", [("resnet18", "QInt8"), ("mobilenetv2", "QUInt8")])
def test_preprocessed_zoo_qdq_matches_onnxruntime_tensor_by_tensor(tmp_path, name, act):
    """ResNet-18 (int8, ReLUs dropped, asymmetric residual adds) and MobileNetV2 (uint8, ReLU6 as
    Clip, depthwise, asymmetric projections): every tensor equals onnxruntime's literal run."""
    path = _zoo_qdq(tmp_path, name, 32, prefold=True, act=act)
    g = load_model(path)
    q = quantize(g)
    assert q.has_zero_points
    x = np.random.default_rng(3).standard_normal((3, 32, 32)).astype(np.float32)
    ours = run_int(q, quantize_input(q, x), return_all=True)
    theirs = onnxruntime_tensors(path, x)
    compared = 0
    for lay in g.layers:
        if lay.output in theirs:
            assert np.array_equal(ours[lay.output].reshape(theirs[lay.output].shape), theirs[lay.output]), lay.name
            compared += 1
    assert compared >= len(g) - 1
    agr = compare_with_onnxruntime(q, path, np.random.default_rng(4).standard_normal((3, 3, 32, 32)).astype(np.float32))
    assert agr.max_lsb <= 1 and agr.sqnr_db >= 40.0, agr


def test_reference_cli_checks_against_onnxruntime(tmp_path, run_cli):
    path = _quantize(tmp_path, "QUInt8", True)
    proc = run_cli("reference", path, "--int", "--check-ort", "-o", tmp_path / "y.npy", check=True)
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("onnxruntime:"))
    assert "of 10 outputs differ" in line and "SQNR vs onnxruntime" in line
    y = np.load(tmp_path / "y.npy")
    assert y.dtype == np.uint8 and y.shape == (10, 1, 1)


@pytest.mark.csim
def test_symmetric_qdq_model_verifies_bit_exact_on_two_boards(tmp_path):
    """A symmetric QDQ model (zero points 0) reaches the hardware: the generated chain equals the
    integer reference, which itself agrees with onnxruntime (test above)."""
    from pathlib import Path

    from asymap.codegen.project import generate
    from asymap.verify.runner import verify

    path = _quantize(tmp_path, "QInt8", True, symmetric=True)
    g = load_model(path)
    n = len(g)
    lay = lambda i: {"index": i, "factors": {"pe": 2, "simd": 1}, "weights": "onchip"}  # noqa: E731
    plan = {"schema": 1, "boards": [{"name": "big", "first_layer": 0, "last_layer": 4, "layers": [lay(i) for i in range(5)]},
                                    {"name": "small", "first_layer": 5, "last_layer": n - 1, "layers": [lay(i) for i in range(5, n)]}],
            "links": [{"from": "big", "to": "small", "width_bits": 64}]}  # fmt: skip
    root = Path(__file__).resolve().parents[2]
    generate(path, root / "clusters" / "pair2.yaml", tmp_path / "out", plan=plan, quiet=True)
    res = verify(tmp_path / "out", jobs=1, quiet=True)
    assert res.ok, [(b.name, b.status, b.problems[:3]) for b in res.boards]
