"""QDQ models from onnxruntime.quantization.quantize_static keep their own scales."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from asymap.frontend import ir
from asymap.frontend.onnx_import import load_model
from asymap.quant.quantize import quantize
from asymap.quant.reference import dequantize, quantize_input, run_int, sqnr_db

SHAPE = (3, 12, 12)


def _float_model(path):
    """conv+relu -> conv -> add (residual) + relu -> gap -> flatten -> gemm (no BN: QDQ scales
    then map one-to-one onto asymap layers)."""
    rng = np.random.default_rng(0)
    w = lambda *s: (rng.standard_normal(s) * np.sqrt(2.0 / np.prod(s[1:]))).astype(np.float32)  # noqa: E731
    inits = {"w1": w(8, 3, 3, 3), "b1": np.zeros(8, np.float32) + 0.1, "w2": w(8, 8, 3, 3), "b2": np.zeros(8, np.float32),
             "wf": w(10, 8), "bf": np.full(10, 0.05, np.float32)}  # fmt: skip
    nodes = [
        helper.make_node("Conv", ["input", "w1", "b1"], ["c1"], name="conv1", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
        helper.make_node("Conv", ["r1", "w2", "b2"], ["c2"], name="conv2", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Add", ["c2", "r1"], ["a"], name="add"),
        helper.make_node("Relu", ["a"], ["r2"], name="relu2"),
        helper.make_node("GlobalAveragePool", ["r2"], ["p"], name="gap"),
        helper.make_node("Flatten", ["p"], ["f"], name="flat"),
        helper.make_node("Gemm", ["f", "wf", "bf"], ["output"], name="fc", transB=1),
    ]
    graph = helper.make_graph(
        nodes, "qdq_net", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, *SHAPE])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 10])],
        initializer=[numpy_helper.from_array(v, k) for k, v in inits.items()],
    )  # fmt: skip
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    onnx.save(m, str(path))


def _qdq(tmp_path, symmetric: bool):
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    class Reader(CalibrationDataReader):
        def __init__(self):
            rng = np.random.default_rng(1)
            self.it = iter([{"input": rng.standard_normal((1, *SHAPE)).astype(np.float32)} for _ in range(8)])

        def get_next(self):
            return next(self.it, None)

    src, dst = tmp_path / "f.onnx", tmp_path / f"q{int(symmetric)}.onnx"
    _float_model(src)
    quantize_static(
        str(src), str(dst), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
        activation_type=QuantType.QInt8 if symmetric else QuantType.QUInt8, weight_type=QuantType.QInt8,
        extra_options={"ActivationSymmetric": symmetric, "WeightSymmetric": True},
    )  # fmt: skip
    return dst


def _scales(model: onnx.ModelProto) -> dict[str, float]:
    """QuantizeLinear input tensor -> its scale, read straight from the file."""
    inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    return {n.input[0]: float(inits[n.input[1]]) for n in model.graph.node if n.op_type == "QuantizeLinear" and n.input[0] not in inits}


def test_symmetric_qdq_keeps_scales_and_weights(tmp_path):
    path = _qdq(tmp_path, symmetric=True)
    model = onnx.load(str(path))
    file_scales = _scales(model)
    g = load_model(path)
    assert [lay.op for lay in g.layers] == [ir.CONV, ir.CONV, ir.ADD, ir.GAP, ir.FC]
    q = quantize(g)
    assert q.input.scale == file_scales["input"]
    assert q.tensors[g.layers[0].output].scale == file_scales["r1"]
    assert q.tensors[g.layers[2].output].scale == file_scales["r2"]
    # Per-channel int8 weights are exactly the file's.
    inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    w_q = next(v for k, v in inits.items() if k.startswith("w1") and v.dtype == np.int8 and v.ndim == 4)
    assert np.array_equal(q.layers[0].weight, w_q)
    assert g.layers[0].qdq_weight_scale is not None and g.layers[0].qdq_weight_scale.shape == (8,)
    # The integer reference agrees closely with onnxruntime executing the QDQ model itself, on
    # the calibration images (elsewhere onnxruntime saturates int8 tensors after a ReLU at 127
    # where asymap's uint8 goes on to 255, so the two legitimately differ).
    import onnxruntime as ort

    # Optimizations off: onnxruntime then executes the Q/DQ nodes literally (its fused integer
    # kernels round differently, e.g. a per-channel QGemm, which is not what the file specifies).
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    calib = np.random.default_rng(1).standard_normal((8, 1, *SHAPE)).astype(np.float32)
    for x in calib[:, 0]:
        y_ort = sess.run(None, {"input": x[None]})[0].ravel()
        y = dequantize(q, g.output, run_int(q, quantize_input(q, x))).ravel()
        assert sqnr_db(y_ort, y) >= 30.0


def test_asymmetric_qdq_keeps_its_zero_points(tmp_path):
    path = _qdq(tmp_path, symmetric=False)
    g = load_model(path)
    q = quantize(g)
    assert all(lay.qdq_out_scale is not None for lay in g.layers)
    assert q.input.zero_point != 0 and not q.input.signed  # QUInt8 input with the file's zero point
    assert all(q.tensors[lay.output].zero_point == lay.qdq_out_zero_point for lay in g.layers if lay.op != ir.MAXPOOL)
    x = np.random.default_rng(5).standard_normal(SHAPE).astype(np.float32)
    y = run_int(q, quantize_input(q, x))
    assert y.shape == (10, 1, 1) and np.abs(y).max() > 0


def test_qdq_reference_cli(run_cli, tmp_path):
    path = _qdq(tmp_path, symmetric=True)
    proc = run_cli("reference", path, "-o", tmp_path / "y.npy", check=True)
    assert "SQNR" in proc.stdout
    assert np.load(tmp_path / "y.npy").shape == (10, 1, 1)


@pytest.mark.parametrize("bad", ["zp"])
def test_per_channel_activation_scale_is_rejected(tmp_path, run_cli, assert_user_error, bad):
    nodes = [
        helper.make_node("QuantizeLinear", ["input", "s", "z"], ["q"], name="qin"),
        helper.make_node("DequantizeLinear", ["q", "s", "z"], ["d"], name="dqin"),
        helper.make_node("Conv", ["d", "w"], ["output"], name="conv", kernel_shape=[1, 1]),
    ]
    inits = {"s": np.array([0.1, 0.2, 0.3], np.float32), "z": np.zeros(3, np.int8), "w": np.ones((2, 3, 1, 1), np.float32)}
    graph = helper.make_graph(
        nodes, "pc", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, *SHAPE])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 2, 12, 12])],
        initializer=[numpy_helper.from_array(v, k) for k, v in inits.items()],
    )  # fmt: skip
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    onnx.save(m, str(tmp_path / "pc.onnx"))
    assert_user_error(run_cli("inspect", tmp_path / "pc.onnx"), "qin", "per-channel")
