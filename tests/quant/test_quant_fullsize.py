"""Full-size checks (marked slow: run with ASYMAP_SLOW=1 ./scripts/test or -m slow)."""

from __future__ import annotations

import numpy as np
import pytest

from asymap.frontend.onnx_import import graph_from_model
from asymap.frontend.zoo import build_zoo_model
from asymap.quant.quantize import quantize
from asymap.quant.reference import dequantize, quantize_input, run_float, run_int, sqnr_db


@pytest.mark.slow
@pytest.mark.parametrize("name", ["resnet152", "mobilenetv2", "inception"])
def test_full_size_float_and_int(name):
    import onnxruntime as ort

    m = build_zoo_model(name, 224)
    g = graph_from_model(m, name)
    x = np.random.default_rng(9).standard_normal((3, 224, 224)).astype(np.float32)
    sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    ref = sess.run(None, {"input": x[None]})[0].ravel().astype(np.float64)
    y = run_float(g, x).ravel()
    assert np.abs(y - ref).max() <= 1e-4 * np.abs(ref).max()
    q = quantize(g)
    xq = quantize_input(q, x)
    yi = run_int(q, xq)
    assert np.array_equal(yi, run_int(q, xq))
    assert sqnr_db(y, dequantize(q, g.output, yi)) >= 20.0
