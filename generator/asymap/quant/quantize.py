"""Float IR -> integer-only :class:`~asymap.quant.qgraph.QGraph` (docs/quantization.md).

Scales:

- weights: symmetric per output channel, ``s_w[c] = max|w[c]| / 127``, ``q = round(w / s_w)``
  in [-127, 127] (a QDQ model's own weight scales are kept);
- activations: symmetric per tensor, zero point 0. A tensor is uint8 when it is the output of a
  ReLU (or of a Clip with min >= 0), or of a maxpool/avgpool/gap/concat whose inputs are all
  uint8; int8 otherwise; the graph input is int8. ``s = max|t| / 255`` (uint8) or ``/ 127`` (int8)
  over the calibration batch (a QDQ model's own activation scales are kept);
- bias: int32 in accumulator units ``round(b / (s_w[c] * s_x))``;
- each layer's real rescale factor becomes an integer multiplier and shift
  (:func:`asymap.quant.arith.quantize_multiplier`).

Calibration uses max-abs over the calibration batch by default, the simplest rule that never
clips a value seen in calibration, or a percentile of |value| (asymap.quant.calib). With the
default calibration data -- seeded standard-normal images, which is exactly the input distribution
the zoo's weights are scaled for -- the range of every tensor is what inference on such images
produces; real models should be calibrated on real images (``--calib X.npy`` or a folder), where
the percentile rule can do better on heavy-tailed activations.
"""

from __future__ import annotations

import math

import numpy as np

from asymap.errors import UserError
from asymap.frontend import ir
from asymap.frontend.ir import Graph, Layer
from asymap.quant.arith import quantize_multiplier
from asymap.quant.qgraph import QGraph, QLayer, QTensor
from asymap.quant.reference import run_float

DEFAULT_CALIB_IMAGES = 4
_TINY = 1e-12  # scale of an all-zero tensor or channel (any positive value works)


def synthetic_calibration(graph: Graph, n: int = DEFAULT_CALIB_IMAGES, seed: int = 0) -> np.ndarray:
    """``n`` seeded standard-normal images shaped like the graph input (float32)."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n,) + tuple(graph.input_shape), dtype=np.float32)


def calibrate(graph: Graph, calib: np.ndarray, method: str = "maxabs", percentile: float = 99.99) -> dict[str, float]:
    """The range of every tensor over the calibration batch (float64 executor, in chunks):
    max |value| (``maxabs``), or per image the ``percentile``-th percentile of |value|, the
    largest over the images (``percentile``; see asymap.quant.calib).

    float64 (not the twice as fast float32) so that the statistics are reproducible across
    machines and BLAS builds to ~1e-15 relative, far below the 2**-20 grid the scales are snapped
    to (:func:`snap_scale`): the same model gives the same integers everywhere.
    """
    maxabs: dict[str, float] = {}

    def observe(name: str, v: np.ndarray) -> None:
        if not v.size:
            m = 0.0
        elif method == "percentile":
            a = np.abs(v.reshape(v.shape[0], -1))
            m = float(np.percentile(a, percentile, axis=1, method="higher").max())
        else:
            m = float(max(v.max(), -v.min()))
        maxabs[name] = max(maxabs.get(name, 0.0), m)

    for k in range(0, calib.shape[0], 4):  # batches of 4 bound the memory of big models
        run_float(graph, calib[k : k + 4], dtype=np.float64, observe=observe)
    return maxabs


SCALE_MANTISSA_BITS = 20


def snap_scale(s: float) -> float:
    """Round a calibrated scale *up* to 20 significant bits.

    Calibration statistics come from floating-point convolutions whose last bits depend on the
    BLAS kernel; snapping to a 2**-20 relative grid makes the scale (and so every multiplier and
    shift derived from it) identical on every machine, while changing the scale by < 1e-6.
    """
    mant, exp = math.frexp(s)
    return math.ldexp(math.ceil(mant * 2**SCALE_MANTISSA_BITS), exp - SCALE_MANTISSA_BITS)


def _mults(reals) -> tuple[np.ndarray, np.ndarray]:
    pairs = [quantize_multiplier(float(r)) for r in reals]
    return np.array([p[0] for p in pairs], np.int64), np.array([p[1] for p in pairs], np.int64)


def _unsigned_out(layer: Layer, ins: list[QTensor]) -> bool:
    if layer.act == ir.ACT_RELU:
        return True
    if layer.act == ir.ACT_CLIP and layer.act_min is not None and layer.act_min >= 0:
        return True
    if layer.op in (ir.MAXPOOL, ir.AVGPOOL, ir.GAP, ir.CONCAT, ir.CHMUL):
        return all(not t.signed for t in ins)
    if layer.op == ir.LUT:  # (hard) sigmoid is in [0, 1]; SiLU and HardSwish dip below 0
        return layer.lut_fn in (ir.LUT_SIGMOID, ir.LUT_HARDSIGMOID)
    return False


def _clamp(layer: Layer, out: QTensor) -> tuple[int, int]:
    """The output clamp: the type's range narrowed by the activation (real 0 is ``zero_point``)."""
    lo, hi, z = out.lo, out.hi, out.zero_point
    if layer.act == ir.ACT_RELU:
        lo = max(lo, z)
    if layer.act == ir.ACT_CLIP:
        if layer.act_min is not None and np.isfinite(layer.act_min):
            lo = max(lo, int(np.round(layer.act_min / out.scale)) + z)
        if layer.act_max is not None and np.isfinite(layer.act_max):
            hi = min(hi, int(np.round(layer.act_max / out.scale)) + z)
    return lo, min(max(lo, hi), out.hi)


def _weights(layer: Layer) -> tuple[np.ndarray, np.ndarray]:
    """int8 weights and their per-output-channel scales."""
    w = layer.weight.astype(np.float64)
    flat = w.reshape(w.shape[0], -1)
    if layer.qdq_weight_scale is not None:
        s = np.broadcast_to(np.asarray(layer.qdq_weight_scale, np.float64).reshape(-1), (w.shape[0],)).copy()
        lo = -128
    else:
        s = np.abs(flat).max(axis=1) / 127.0
        lo = -127
    s = np.where(s > 0, s, 1.0)
    q = np.clip(np.round(flat / s[:, None]), lo, 127).astype(np.int8)
    return q.reshape(w.shape), s


def lut_table(layer: Layer, x: QTensor, lo: int, hi: int, out: QTensor) -> np.ndarray:
    """The 256 output values of a LUT layer, indexed by the input's raw byte: every input code
    q is dequantized (``sx * (q - zx)``), the function applied in float64, and the result
    quantized onto the output grid (round half to even, as QuantizeLinear) and clamped to
    [lo, hi] (output type and fused activation). Computed once here; the integer reference and
    the HLS ROM both read this table, so they agree by construction."""
    from asymap.quant.reference import lut_function, lut_gate

    raw = np.arange(256, dtype=np.int64)
    q = np.where(raw >= 128, raw - 256, raw) if x.signed else raw
    v = x.scale * (q - x.zero_point).astype(np.float64)
    if layer.lut_fn in (ir.LUT_SILU, ir.LUT_HARDSWISH) and layer.lut_args:
        # a QDQ model's x * gate(x) with the gate quantized in between (as onnxruntime runs it):
        # the product of two functions of the same input code is still one table
        gs, gz, glo, ghi = layer.lut_args
        y = v * gs * (np.clip(np.round(lut_gate(layer.lut_fn, v) / gs) + gz, glo, ghi) - gz)
    else:
        y = lut_function(layer, v)
    return np.clip(np.round(y / out.scale) + out.zero_point, lo, hi).astype(np.int64)


def quantize_layer(layer: Layer, ins: list[QTensor], out: QTensor) -> QLayer:
    """The integers of one layer, given its input and output tensors' scales."""
    q = QLayer(layer=layer)
    q.lo, q.hi = _clamp(layer, out)
    if any(t.zero_point for t in ins):
        q.in_zp = tuple(int(t.zero_point) for t in ins)
    q.out_zp = int(out.zero_point)
    sx = ins[0].scale
    if layer.op in (ir.CONV, ir.FC, ir.AFFINE):  # affine: one int8 weight per channel
        q.weight, q.weight_scale = _weights(layer)
        b = np.zeros(layer.c_out) if layer.bias is None else layer.bias.astype(np.float64)
        bq = np.round(b / (q.weight_scale * sx))
        if q.zp(0):  # sum w * (x - zx) = sum w * x - zx * sum w: the input zero point joins the bias
            bq = bq - q.zp(0) * q.weight.reshape(layer.c_out, -1).astype(np.int64).sum(axis=1)
        big = np.abs(bq) > 2**31 - 1
        if np.any(big):  # clipping it would silently change the layer; say why instead
            c = int(np.argmax(np.abs(bq)))
            raise ValueError(f"bias of output channel {c} is {bq[c]:.3g} in accumulator units, beyond int32 (input scale "
                             f"{sx:.3g} is tiny: the activations vanish)")
        q.bias = bq.astype(np.int32)
        q.mult, q.shift = _mults(q.weight_scale * sx / out.scale)
    elif layer.op == ir.AVGPOOL:
        kh, kw = layer.kernel
        m, s = _mults([sx / (n * out.scale) for n in range(1, kh * kw + 1)])
        q.mult, q.shift = np.concatenate([[0], m]), np.concatenate([[1], s])
    elif layer.op == ir.GAP:
        h, w = layer.in_shapes[0][1:]
        q.mult, q.shift = _mults([sx / (h * w * out.scale)])
    elif layer.op == ir.ADD:
        ra, rb = ins[0].scale / out.scale, ins[1].scale / out.scale
        _, s = quantize_multiplier(max(ra, rb))  # the larger ratio gets a full 31-bit multiplier
        q.mult = np.array([int(round(ra * 2.0**s)), int(round(rb * 2.0**s))], np.int64)
        q.shift = np.array([s], np.int64)
    elif layer.op == ir.CONCAT:
        q.mult, q.shift = _mults([t.scale / out.scale for t in ins])
    elif layer.op == ir.LUT:
        q.table = lut_table(layer, ins[0], q.lo, q.hi, out)
    elif layer.op == ir.CHMUL:  # (x - zx) * (s - zs) is in units of sx * ss
        q.mult, q.shift = _mults([ins[0].scale * ins[1].scale / out.scale])
    return q


def input_signed(graph: Graph) -> bool:
    """The quantized graph input's type: int8, unless a QDQ model gives its scale and type."""
    return bool(graph.input_signed) if graph.input_scale is not None and graph.input_scale > 0 else True


def quantize(graph: Graph, calib=None, seed: int = 0, method: str = "maxabs", percentile: float = 99.99) -> QGraph:
    """Quantize ``graph`` to int8 with integer-only arithmetic.

    ``calib``: float images (N, C, H, W) or one (C, H, W), a .npy file or folder of .npy files,
    or an :class:`asymap.quant.calib.Calibration`; default: 4 seeded standard-normal images
    (``seed``). ``method``: ``maxabs`` or ``percentile`` (``percentile``-th of |value|), for a
    path or array. Scales a QDQ model carries are used instead of calibrated ones. The returned
    QGraph's ``calib`` records what was used (plan.json / chain.json keep it).
    """
    from asymap.quant.calib import as_calibration

    cal = as_calibration(calib, method, percentile, graph.input_shape)
    if cal is None:
        record = {"path": None, "sha256": None, "images": DEFAULT_CALIB_IMAGES, "method": "maxabs", "synthetic_seed": int(seed)}
        calib, method = synthetic_calibration(graph, seed=seed), "maxabs"
    else:
        record, calib, method, percentile = cal.record(), cal.images, cal.method, cal.percentile
    calib = np.asarray(calib, np.float32)
    if calib.ndim == 3:
        calib = calib[None]
    if calib.ndim != 4 or tuple(calib.shape[1:]) != tuple(graph.input_shape) or calib.shape[0] == 0:
        raise UserError(
            f"{graph.name}: calibration data has shape {tuple(calib.shape)}; need (N, {', '.join(map(str, graph.input_shape))})"
        )
    if not np.all(np.isfinite(calib)):
        raise UserError(f"{graph.name}: calibration data contains NaN or infinity")
    needs_calib = graph.input_scale is None or any(lay.qdq_out_scale is None for lay in graph.layers
                                                   if lay.op not in (ir.MAXPOOL, ir.CHANNELS))
    maxabs = calibrate(graph, calib, method, percentile) if needs_calib else {}

    def scale_for(name: str, unsigned: bool, given: float | None) -> float:
        if given is not None and given > 0:
            return float(given)
        m = maxabs.get(name, 0.0)
        return snap_scale(m / (255.0 if unsigned else 127.0)) if m > 0 else _TINY

    in_given = graph.input_scale is not None and graph.input_scale > 0
    tensors = {graph.input: QTensor(graph.input, graph.input_shape, scale_for(graph.input, False, graph.input_scale),
                                    input_signed(graph), graph.input_zero_point if in_given else 0)}
    layers = []
    for layer in graph.layers:
        ins = [tensors[t] for t in layer.inputs]
        unsigned = _unsigned_out(layer, ins)
        zp = 0
        if layer.op in (ir.MAXPOOL, ir.CHANNELS):
            # max commutes with a positive scale and a shift (and a channel selection with
            # anything): no requantization
            scale, unsigned, zp = ins[0].scale, not ins[0].signed, ins[0].zero_point
        else:
            scale = scale_for(layer.output, unsigned, layer.qdq_out_scale)
            if layer.qdq_out_scale is not None and layer.qdq_out_scale > 0 and layer.qdq_out_signed is not None:
                unsigned, zp = not layer.qdq_out_signed, int(layer.qdq_out_zero_point or 0)
        out = QTensor(layer.output, layer.out_shape, scale, not unsigned, zp)
        tensors[layer.output] = out
        try:
            layers.append(quantize_layer(layer, ins, out))
        except ValueError as exc:  # a rescale factor >= 2**30: degenerate scales
            raise UserError(f"{graph.name}: node {layer.name!r}: cannot quantize ({exc}); calibrate with representative data") from None
    return QGraph(graph=graph, tensors=tensors, layers=layers, calib=record)
