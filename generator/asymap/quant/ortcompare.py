"""Agreement of the integer reference with onnxruntime's own run of a QDQ model.

onnxruntime executes a QDQ file with fused integer kernels (QLinearConv, QLinearAdd, ...) that
requantize through a float32 multiply rounded half to even; asymap requantizes with a 31-bit
fixed-point multiplier rounded half up (docs/quantization.md). Both compute the same integer
accumulators, so they differ only where ``acc * scale`` lies within float32 error of a rounding tie:
then one output value differs by one step, and the difference can propagate to later layers. This
module measures that, in output quantization steps (LSB), so tests and bench/ can report it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from asymap.errors import UserError
from asymap.quant.qgraph import QGraph
from asymap.quant.reference import dequantize, quantize_input, run_int, sqnr_db


@dataclass
class OrtAgreement:
    outputs: int  # output values compared (images x output size)
    differ: int  # how many differ by at least one quantization step
    max_lsb: int  # the largest difference, in output quantization steps
    sqnr_db: float  # of asymap's dequantized output against onnxruntime's (worst image)

    @property
    def fraction_differ(self) -> float:
        return self.differ / self.outputs if self.outputs else 0.0

    def to_json(self) -> dict:
        return {"outputs": self.outputs, "differ": self.differ, "fraction_differ": self.fraction_differ,
                "max_lsb": self.max_lsb, "sqnr_db": self.sqnr_db}  # fmt: skip


def ort_session(model: str | os.PathLike | bytes, optimized: bool = True):
    """An onnxruntime CPU session; ``optimized=False`` runs the Q/DQ nodes literally in float."""
    try:
        import onnxruntime as ort
    except ImportError:
        raise UserError("onnxruntime is not installed; install asymap's test extra (pip install -e .[test])") from None
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL if optimized else ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    src = model if isinstance(model, bytes) else str(model)
    return ort.InferenceSession(src, opts, providers=["CPUExecutionProvider"])


def compare_with_onnxruntime(qgraph: QGraph, model, images: np.ndarray, optimized: bool = True) -> OrtAgreement:
    """Run ``images`` (N, C, H, W) float through onnxruntime (the QDQ file ``model``) and through
    the integer reference, and count the output values that differ (in output LSB)."""
    sess = ort_session(model, optimized)
    name = sess.get_inputs()[0].name
    out = qgraph.output
    differ = total = max_lsb = 0
    worst = float("inf")
    for x in np.asarray(images, np.float32):
        y_ort = np.asarray(sess.run(None, {name: x[None]})[0], np.float64).ravel()
        y = dequantize(qgraph, qgraph.graph.output, run_int(qgraph, quantize_input(qgraph, x))).ravel()
        if y.size != y_ort.size:
            raise UserError(f"{qgraph.graph.name}: onnxruntime's output has {y_ort.size} values, asymap's {y.size}")
        lsb = np.rint((y_ort - y) / out.scale).astype(np.int64)
        differ += int(np.count_nonzero(lsb))
        total += lsb.size
        max_lsb = max(max_lsb, int(np.abs(lsb).max()))
        worst = min(worst, sqnr_db(y_ort, y))
    return OrtAgreement(total, differ, max_lsb, worst)


def onnxruntime_tensors(model: str | os.PathLike, x: np.ndarray) -> dict[str, np.ndarray]:
    """Every activation QuantizeLinear's integer output of onnxruntime's literal (unoptimized) run
    of a QDQ model on one image (C, H, W), keyed by the *quantized* tensor's name (the
    QuantizeLinear's input), for tensor-by-tensor comparison with :func:`run_int`."""
    import onnx

    m = onnx.load(str(model))
    consts = {i.name for i in m.graph.initializer}
    wanted = {}
    for n in m.graph.node:
        if n.op_type == "QuantizeLinear" and n.input[0] not in consts:
            zp = next((i for i in m.graph.initializer if len(n.input) > 2 and i.name == n.input[2]), None)
            dt = zp.data_type if zp is not None else onnx.TensorProto.UINT8
            wanted[n.output[0]] = n.input[0]
            m.graph.output.append(onnx.helper.make_tensor_value_info(n.output[0], dt, None))
    sess = ort_session(m.SerializeToString(), optimized=False)
    names = [o.name for o in sess.get_outputs()]
    vals = sess.run(None, {sess.get_inputs()[0].name: np.asarray(x, np.float32)[None]})
    return {wanted[k]: np.asarray(v)[0] for k, v in zip(names, vals) if k in wanted}
