"""onnxruntime QDQ versions of the squeeze-excite families agree with onnxruntime bit for bit.

``quant_pre_process`` + ``quantize_static`` (QUInt8 activations, per-channel QInt8 weights) of the
small EfficientNet, MobileNetV3 and RegNetY variants: every Sigmoid / HardSigmoid and every Mul gets
its own Q/DQ pair, and quant_pre_process rewrites HardSwish as ``x * HardSigmoid(x)``. asymap fuses
``x * gate(x)`` into one table but rounds the gate to the grid onnxruntime rounds it to (the QDQ
pair between gate and Mul), so the table reproduces onnxruntime's two roundings; the
channel-wise Mul keeps the model's scales. On images outside the calibration set the integer
reference must equal onnxruntime's run of the same file at the output.
"""

from __future__ import annotations

import numpy as np
import onnx
import pytest

from asymap.frontend import ir
from asymap.frontend.onnx_import import load_model
from asymap.frontend.zoo import SE_NAMES, build_se_model
from asymap.quant.ortcompare import compare_with_onnxruntime
from asymap.quant.quantize import quantize


def _reader(n=8, seed=1):
    from onnxruntime.quantization import CalibrationDataReader

    class Reader(CalibrationDataReader):
        def __init__(self):
            rng = np.random.default_rng(seed)
            self.it = iter([{"input": rng.standard_normal((1, 3, 32, 32)).astype(np.float32)} for _ in range(n)])

        def get_next(self):
            return next(self.it, None)

    return Reader()


@pytest.mark.parametrize("name", SE_NAMES)
def test_qdq_squeeze_excite_models_match_onnxruntime(name, tmp_path):
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    raw, src, dst = tmp_path / "raw.onnx", tmp_path / "pre.onnx", tmp_path / "qdq.onnx"
    onnx.save(build_se_model(name), str(raw))
    quant_pre_process(str(raw), str(src), skip_symbolic_shape=True)
    quantize_static(str(src), str(dst), _reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)  # fmt: skip
    g = load_model(dst)
    luts = [lay for lay in g.layers if lay.op == ir.LUT]
    assert any(lay.op == ir.CHMUL for lay in g.layers) and luts
    gated = [lay for lay in luts if lay.lut_fn in (ir.LUT_SILU, ir.LUT_HARDSWISH)]
    assert all(len(lay.lut_args) == 4 for lay in gated)  # the gate's QDQ grid was kept
    q = quantize(g)
    assert q.has_zero_points
    test = np.random.default_rng(7).standard_normal((3, 3, 32, 32)).astype(np.float32)
    a = compare_with_onnxruntime(q, dst, test)
    assert a.fraction_differ == 0.0 and a.max_lsb == 0, (a.fraction_differ, a.max_lsb, a.sqnr_db)
