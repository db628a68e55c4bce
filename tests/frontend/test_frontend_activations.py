"""Lookup-table activations and squeeze-excite as the exporters write them (onnx.helper graphs).

Sigmoid, HardSigmoid and HardSwish become LUT layers; ``x * Sigmoid(x)`` (PyTorch's SiLU) and
``x * HardSigmoid(x)`` with alpha 1/6 (hardswish in opsets before 14) fuse into one LUT layer;
``x (C, H, W) * s (C, 1, 1)`` is a channel-wise Mul. Each graph's float reference must match
onnxruntime, and its integer reference keep a sane SQNR; what cannot be expressed is one line.
"""

from __future__ import annotations

import numpy as np
import pytest
from onnx import helper

from asymap.errors import UserError
from asymap.frontend import ir
from asymap.frontend.onnx_import import graph_from_model
from asymap.quant.quantize import lut_table, quantize
from asymap.quant.qgraph import QTensor
from asymap.quant.reference import dequantize, quantize_input, run_float, run_int, sqnr_db


def _check(kit, nodes, inits, in_shape=(3, 6, 6), opset=14, min_sqnr=20.0):
    m = kit.model(nodes, inits, in_shape, opset=opset)
    g = graph_from_model(m, "m.onnx")
    x = np.random.default_rng(3).standard_normal(in_shape).astype(np.float32)
    y, ref = np.asarray(run_float(g, x)), kit.ort(m, x)
    assert np.abs(y - ref).max() <= 1e-5 * max(1.0, np.abs(ref).max())
    q = quantize(g)
    assert sqnr_db(y, dequantize(q, g.output, run_int(q, quantize_input(q, x)))) >= min_sqnr
    return g


def _conv(name, x, w, out):
    return helper.make_node("Conv", [x, w], [out], name=name, kernel_shape=[1, 1])


@pytest.mark.parametrize("op,attrs,fn", [("Sigmoid", {}, ir.LUT_SIGMOID), ("HardSwish", {}, ir.LUT_HARDSWISH),
                                         ("HardSigmoid", {"alpha": 0.25, "beta": 0.4}, ir.LUT_HARDSIGMOID)])
def test_single_activations_are_lut_layers(kit, op, attrs, fn):
    nodes = [_conv("conv0", "x", "w0", "c0"), helper.make_node(op, ["c0"], ["y"], name="act", **attrs)]
    g = _check(kit, nodes, {"w0": kit.w(4, 3, 1, 1, scale=1.0)})
    assert [(lay.op, lay.lut_fn) for lay in g.layers] == [(ir.CONV, None), (ir.LUT, fn)]
    if op == "HardSigmoid":
        assert g.layers[1].lut_args == pytest.approx((0.25, 0.4))


@pytest.mark.parametrize("gate,attrs,fn", [("Sigmoid", {}, ir.LUT_SILU),
                                           ("HardSigmoid", {"alpha": 1 / 6, "beta": 0.5}, ir.LUT_HARDSWISH)])
@pytest.mark.parametrize("order", ["x_first", "gate_first"])
def test_self_gated_mul_fuses_into_one_lut(kit, gate, attrs, fn, order):
    """SiLU as both exporters write it (Sigmoid + Mul); hardswish as x * HardSigmoid(x)."""
    ins = ["c0", "g"] if order == "x_first" else ["g", "c0"]
    nodes = [_conv("conv0", "x", "w0", "c0"), helper.make_node(gate, ["c0"], ["g"], name="gate", **attrs),
             helper.make_node("Mul", ins, ["y"], name="mul")]  # fmt: skip
    g = _check(kit, nodes, {"w0": kit.w(4, 3, 1, 1, scale=1.0)})
    assert [(lay.op, lay.lut_fn) for lay in g.layers] == [(ir.CONV, None), (ir.LUT, fn)]
    assert g.layers[1].output == "y" and g.output == "y"


def test_gate_with_another_consumer_stays_separate(kit):
    """Sigmoid(x) also read elsewhere cannot be fused: LUT then an element-wise Mul, refused."""
    nodes = [_conv("conv0", "x", "w0", "c0"), helper.make_node("Sigmoid", ["c0"], ["g"], name="gate"),
             helper.make_node("Mul", ["c0", "g"], ["m"], name="mul3"), helper.make_node("Add", ["m", "g"], ["y"], name="add")]
    with pytest.raises(UserError) as e:
        graph_from_model(kit.model(nodes, {"w0": kit.w(4, 3, 1, 1)}, (3, 4, 4), opset=14), "m.onnx")
    assert "mul3" in str(e.value) and "squeeze-excite" in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize("reduce", ["GlobalAveragePool", "ReduceMean"])
@pytest.mark.parametrize("gate", ["Sigmoid", "HardSigmoid"])
def test_squeeze_excite_is_gap_convs_lut_chmul(kit, reduce, gate):
    """torchvision's SqueezeExcitation: pool -> 1x1 conv -> ReLU -> 1x1 conv -> gate -> Mul."""
    inits = {"w0": kit.w(8, 3, 3, 3, scale=0.5), "w1": kit.w(2, 8, 1, 1), "b1": kit.w(2), "w2": kit.w(8, 2, 1, 1), "b2": kit.w(8),
             "ax": np.array([2, 3], np.int64)}  # fmt: skip
    pool = (helper.make_node("GlobalAveragePool", ["f"], ["p"], name="pool") if reduce == "GlobalAveragePool"
            else helper.make_node("ReduceMean", ["f", "ax"], ["p"], name="pool", keepdims=1))
    attrs = {"alpha": 1 / 6, "beta": 0.5} if gate == "HardSigmoid" else {}
    nodes = [helper.make_node("Conv", ["x", "w0"], ["f0"], name="conv0", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["f0"], ["f"], name="relu0"), pool,
             helper.make_node("Conv", ["p", "w1", "b1"], ["s1"], name="fc1", kernel_shape=[1, 1]),
             helper.make_node("Relu", ["s1"], ["s1r"], name="relu1"),
             helper.make_node("Conv", ["s1r", "w2", "b2"], ["s2"], name="fc2", kernel_shape=[1, 1]),
             helper.make_node(gate, ["s2"], ["s"], name="gate", **attrs),
             helper.make_node("Mul", ["s", "f"], ["y"], name="scale")]  # fmt: skip
    g = _check(kit, nodes, inits, opset=18)
    assert [lay.op for lay in g.layers] == [ir.CONV, ir.GAP, ir.CONV, ir.CONV, ir.LUT, ir.CHMUL]
    mul = g.layers[-1]
    assert mul.inputs == ["f", "s"] and mul.in_shapes == [(8, 6, 6), (8, 1, 1)]
    # the feature map crosses every cut inside the block (the partitioner sees the skip)
    assert g.live_across(3) == ["f", "s2"]


def test_elementwise_mul_and_constant_mul_fail_in_one_line(kit):
    inits = {"w0": kit.w(4, 3, 1, 1), "w1": kit.w(4, 3, 1, 1), "k": np.array(2.0, np.float32)}
    two = [_conv("conv0", "x", "w0", "a"), _conv("conv1", "x", "w1", "b"), helper.make_node("Mul", ["a", "b"], ["y"], name="mul5")]
    with pytest.raises(UserError) as e:
        graph_from_model(kit.model(two, inits, (3, 4, 4)), "m.onnx")
    assert "mul5" in str(e.value) and "(4, 4, 4)" in str(e.value)
    const = [_conv("conv0", "x", "w0", "a"), helper.make_node("Mul", ["a", "k"], ["y"], name="mul6")]
    with pytest.raises(UserError) as e:
        graph_from_model(kit.model(const, inits, (3, 4, 4)), "m.onnx")
    assert "mul6" in str(e.value) and "constant" in str(e.value)


@pytest.mark.parametrize("fn", ir.LUT_FNS)
@pytest.mark.parametrize("signed,zp", [(True, 0), (False, 0), (True, -5), (False, 128)])
def test_lut_table_is_the_function_on_every_input_code(fn, signed, zp):
    """Each of the 256 entries is round(f(sx * (q - zx)) / sy) + zy, clamped; indexed by raw byte."""
    lay = ir.Layer(0, "a", ir.LUT, ["x"], "y", [(1, 1, 1)], (1, 1, 1), lut_fn=fn,
                   lut_args=(0.2, 0.5) if fn == ir.LUT_HARDSIGMOID else ())
    xt = QTensor("x", (1, 1, 1), 0.05, signed, zp)
    out = QTensor("y", (1, 1, 1), 1 / 255 if fn in (ir.LUT_SIGMOID, ir.LUT_HARDSIGMOID) else 6.5 / 127,
                  fn in (ir.LUT_SILU, ir.LUT_HARDSWISH), 0)
    t = lut_table(lay, xt, out.lo, out.hi, out)
    for raw in (0, 1, 100, 127, 128, 200, 255):
        q = raw - 256 if signed and raw >= 128 else raw
        v = 0.05 * (q - zp)
        f = {ir.LUT_SIGMOID: 1 / (1 + np.exp(-v)), ir.LUT_SILU: v / (1 + np.exp(-v)),
             ir.LUT_HARDSIGMOID: min(1, max(0, 0.2 * v + 0.5)), ir.LUT_HARDSWISH: v * min(1, max(0, v / 6 + 0.5))}[fn]
        assert t[raw] == np.clip(np.round(f / out.scale), out.lo, out.hi)
