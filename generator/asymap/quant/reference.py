"""Reference executors: float (checked against onnxruntime) and integer (the bit-exact oracle).

``run_float`` executes the IR (BN already folded, activations fused) in float64 by default, so it
is *more* accurate than onnxruntime's float32 and agrees with it to ~1e-6 relative.

``run_int`` executes a :class:`~asymap.quant.qgraph.QGraph` with exactly the integer semantics of
docs/quantization.md (and of the HLS kernels): int8/uint8 activations, int8 weights, int32 bias,
exact integer accumulation, :func:`asymap.quant.arith.requant`. Nothing on the integer path rounds
through floating point: the matrix products run in float32 BLAS only where every partial sum is an
integer below 2**24 (see :func:`asymap.quant.kernels.chunk_bounds`), which float32 represents
exactly; everything else is int64 numpy. Activations are returned as int16 arrays holding the
int8/uint8 values, shaped (C, H, W) (fc outputs (C, 1, 1)).
"""

from __future__ import annotations

import numpy as np

from asymap.errors import UserError
from asymap.frontend import ir
from asymap.frontend.ir import Graph, Layer
from asymap.quant import kernels
from asymap.quant.arith import requant, rshift_round
from asymap.quant.qgraph import QGraph, QLayer

ACT_DTYPE = np.int16  # holds int8 and uint8 values


# --- float ------------------------------------------------------------------------------------
def _batch(x: np.ndarray, shape, what: str) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim == 3:
        x = x[None]
    if x.ndim != 4 or tuple(x.shape[1:]) != tuple(shape):
        raise UserError(f"{what}: input has shape {tuple(np.shape(x))}, the model needs {tuple(shape)} (C, H, W) or (N, C, H, W)")
    return x


def _float_act(y: np.ndarray, layer: Layer) -> np.ndarray:
    if layer.act == ir.ACT_RELU:
        return np.maximum(y, 0)
    if layer.act == ir.ACT_CLIP:
        lo = -np.inf if layer.act_min is None else layer.act_min
        hi = np.inf if layer.act_max is None else layer.act_max
        return np.clip(y, lo, hi)
    return y


def lut_function(layer: Layer, x: np.ndarray) -> np.ndarray:
    """The real function of a LUT layer (before its fused activation, if any), in float64: the
    float executor runs it and quantization tabulates it (asymap.quant.quantize.lut_table)."""
    x = np.asarray(x, np.float64)
    fn = layer.lut_fn
    if fn == ir.LUT_HARDSIGMOID:
        alpha, beta = layer.lut_args
        return np.clip(alpha * x + beta, 0.0, 1.0)
    if fn == ir.LUT_SIGMOID:
        return lut_gate(ir.LUT_SILU, x)
    if fn in (ir.LUT_SILU, ir.LUT_HARDSWISH):
        return x * lut_gate(fn, x)
    raise ValueError(f"unknown LUT function {fn!r}")  # pragma: no cover - the importer emits LUT_FNS only


def lut_gate(fn: str, x: np.ndarray) -> np.ndarray:
    """The gate g of a self-gated function x * g(x): sigmoid for SiLU, hardsigmoid(x/6 + 1/2)
    for HardSwish."""
    if fn == ir.LUT_SILU:
        return 0.5 * (1.0 + np.tanh(0.5 * x))  # = 1 / (1 + exp(-x)), without overflow for large |x|
    return np.clip(x / 6.0 + 0.5, 0.0, 1.0)


def float_layer(layer: Layer, ins: list[np.ndarray], dtype=np.float64) -> np.ndarray:
    """One IR layer in floating point on a batch (B, C, H, W)."""
    x = ins[0]
    if layer.op == ir.CONV:
        w = layer.weight.astype(dtype)
        y = kernels.conv(x, layer, w, np.matmul)
        if layer.bias is not None:
            y = y + layer.bias.astype(dtype)[None, :, None, None]
    elif layer.op == ir.FC:
        y = x.reshape(x.shape[0], -1) @ layer.weight.astype(dtype).T
        if layer.bias is not None:
            y = y + layer.bias.astype(dtype)
        y = y[:, :, None, None]
    elif layer.op == ir.MAXPOOL:
        y = kernels.maxpool(x, layer, -np.inf)
    elif layer.op == ir.AVGPOOL:
        y = kernels.window_sum(x, layer) / kernels.window_count(layer)
    elif layer.op == ir.GAP:
        y = x.mean(axis=(2, 3), keepdims=True)
    elif layer.op == ir.ADD:
        y = ins[0] + ins[1]
    elif layer.op == ir.CONCAT:
        y = np.concatenate(ins, axis=1)
    elif layer.op == ir.LUT:
        y = lut_function(layer, x)
    elif layer.op == ir.CHMUL:
        y = ins[0] * ins[1]  # (B, C, H, W) * (B, C, 1, 1)
    elif layer.op == ir.AFFINE:
        y = x * layer.weight.astype(dtype)[None, :, None, None] + layer.bias.astype(dtype)[None, :, None, None]
    elif layer.op == ir.CHANNELS:
        y = x[:, list(layer.channel_map)]
    else:  # pragma: no cover - the importer only emits the ops above
        raise ValueError(f"unknown op {layer.op}")
    return _float_act(y, layer).astype(dtype, copy=False)


def run_float(graph: Graph, x: np.ndarray, return_all: bool = False, dtype=np.float64, observe=None):
    """Execute ``graph`` in floating point on ``x`` (C, H, W) or a batch (B, C, H, W).

    Returns the output with the batch axis only if ``x`` had one; with ``return_all`` a dict
    tensor name -> array (the graph input included). ``dtype=np.float32`` is about twice as fast
    (used for calibration). ``observe(name, batch_array)`` is called for every tensor as it is
    produced, so statistics can be gathered without keeping all tensors alive.
    """
    batched = np.ndim(x) == 4
    xb = _batch(x, graph.input_shape, graph.name).astype(dtype)
    vals = {graph.input: xb}
    if observe is not None:
        observe(graph.input, xb)
    last = graph.last_use
    for layer in graph.layers:
        vals[layer.output] = float_layer(layer, [vals[t] for t in layer.inputs], dtype)
        if observe is not None:
            observe(layer.output, vals[layer.output])
        if not return_all:
            for t in set(layer.inputs):
                if last.get(t, -1) <= layer.index and t != graph.output:
                    del vals[t]
    if return_all:
        return vals if batched else {k: v[0] for k, v in vals.items()}
    out = vals[graph.output]
    return out if batched else out[0]


# --- integer ----------------------------------------------------------------------------------
def _col(a: np.ndarray) -> np.ndarray:
    return np.asarray(a, np.int64).reshape(-1, 1, 1)


def int_layer(q: QLayer, ins: list[np.ndarray], x_signed: bool = True) -> np.ndarray:
    """One quantized layer on int arrays (C, H, W); returns ACT_DTYPE (C, H, W).

    ``x_signed``: the type of the first input (int8: |x| <= 128, uint8: x <= 255), which bounds
    the exact float32 chunking of the matrix products.
    """
    layer = q.layer
    x = ins[0]
    # Zero points (docs/quantization.md): the output's is added after the rounding, so the
    # clamp [lo, hi] is applied as [lo - zo, hi - zo] before it; an input's is the pad value
    # (real 0) and is subtracted where the op needs x - zx (folded into the bias for conv/fc).
    zx, zo = q.zp(0), q.out_zp
    lo, hi = q.lo - zo, q.hi - zo
    if layer.op == ir.CONV:
        if layer.groups > 1 and layer.groups == layer.c_in == layer.c_out:
            acc = kernels.depthwise(x[None].astype(np.int64), layer, q.weight, fill=zx)[0]
        else:
            wf32, bounds = _weights_f32(q, 128 if x_signed else 255)
            mm = lambda w2, cols: kernels.int_matmul(w2, cols, bounds)  # noqa: E731
            acc = kernels.conv(x[None].astype(np.float32), layer, wf32, mm, fill=zx)[0]
        acc = acc + _col(q.bias)
        y = requant(acc, _col(q.mult), _col(q.shift), lo, hi)
    elif layer.op == ir.FC:
        wf32, bounds = _weights_f32(q, 128 if x_signed else 255)
        acc = kernels.int_matmul(wf32, x.reshape(-1, 1).astype(np.float32), bounds)[:, 0] + q.bias.astype(np.int64)
        y = requant(acc, q.mult, q.shift, lo, hi).reshape(layer.out_shape)
    elif layer.op == ir.MAXPOOL:
        y = np.clip(kernels.maxpool(x[None], layer, np.iinfo(x.dtype).min)[0], q.lo, q.hi) - zo
    elif layer.op == ir.AVGPOOL:
        kh, kw = layer.kernel
        s = kernels.window_sum(x[None].astype(np.int64), layer, fill=zx)[0] - kh * kw * zx
        n = kernels.window_count(layer)
        y = requant(s, q.mult[n][None], q.shift[n][None], lo, hi)
    elif layer.op == ir.GAP:
        s = x.astype(np.int64).sum(axis=(1, 2), keepdims=True) - x.shape[1] * x.shape[2] * zx
        y = requant(s, q.mult[0], q.shift[0], lo, hi)
    elif layer.op == ir.ADD:
        acc = (ins[0].astype(np.int64) - zx) * q.mult[0] + (ins[1].astype(np.int64) - q.zp(1)) * q.mult[1]
        y = rshift_round(acc, q.shift[0], lo, hi)
    elif layer.op == ir.CONCAT:
        y = np.concatenate([requant(xi.astype(np.int64) - q.zp(i), q.mult[i], q.shift[i], lo, hi) for i, xi in enumerate(ins)], axis=0)
    elif layer.op == ir.LUT:  # the table is indexed by the input's raw byte and holds the output values
        y = q.table.astype(np.int64)[x.astype(np.int64) & 0xFF] - zo
    elif layer.op == ir.CHMUL:  # per-channel scale s (C, 1, 1) broadcast over H x W
        prod = (x.astype(np.int64) - zx) * (ins[1].astype(np.int64) - q.zp(1))
        y = requant(prod, q.mult[0], q.shift[0], lo, hi)
    elif layer.op == ir.AFFINE:  # x * w[c] + bias[c] (bias holds -zx * w[c]), requantized per channel
        acc = x.astype(np.int64) * _col(q.weight) + _col(q.bias)
        y = requant(acc, _col(q.mult), _col(q.shift), lo, hi)
    elif layer.op == ir.CHANNELS:  # a selection of the input's channels: same scale and zero point
        y = np.clip(x[list(layer.channel_map)], q.lo, q.hi) - zo
    else:  # pragma: no cover
        raise ValueError(f"unknown op {layer.op}")
    return (y + zo).astype(ACT_DTYPE)


def run_int(qgraph: QGraph, x_q: np.ndarray, return_all: bool = False):
    """Execute the quantized graph on an integer input (C, H, W) (values in the input's int8 range).

    Returns the output tensor (int16 array of int8/uint8 values, (C, H, W)); with ``return_all``
    a dict tensor name -> int array for every tensor, the input included. Bit-exact and
    deterministic: the HLS kernels must reproduce every one of these arrays.
    """
    g = qgraph.graph
    x = np.asarray(x_q)
    if x.shape != tuple(g.input_shape):
        raise UserError(f"{g.name}: integer input has shape {x.shape}, the model needs {tuple(g.input_shape)}")
    if not np.issubdtype(x.dtype, np.integer):
        raise UserError(f"{g.name}: integer input has dtype {x.dtype}; quantize it first (quantize_input)")
    t = qgraph.input
    if x.size and (x.min() < t.lo or x.max() > t.hi):
        raise UserError(f"{g.name}: integer input values outside [{t.lo}, {t.hi}]")
    vals = {g.input: x.astype(ACT_DTYPE)}
    last = g.last_use
    for q in qgraph.layers:
        x_signed = qgraph.tensors[q.layer.inputs[0]].signed
        vals[q.layer.output] = int_layer(q, [vals[n] for n in q.layer.inputs], x_signed)
        if not return_all:
            for n in set(q.layer.inputs):
                if last.get(n, -1) <= q.index and n != g.output:
                    del vals[n]
    return vals if return_all else vals[g.output]


def _weights_f32(q: QLayer, xmax: int) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """float32 copy of the int8 weights (M, K) for the BLAS products and its exact K chunks for
    inputs bounded by ``xmax``; cached on the QLayer (weights never change after quantize)."""
    cache = q.__dict__.setdefault("_int_cache", {})
    if "wf32" not in cache or cache["wf32"].shape != q.weight.shape:
        cache.clear()
        cache["wf32"] = q.weight.astype(np.float32)
    wf32 = cache["wf32"]
    if xmax not in cache:
        cache[xmax] = kernels.chunk_bounds(wf32.reshape(wf32.shape[0], -1), xmax)
    return wf32, cache[xmax]


def quantize_input(qgraph: QGraph, x: np.ndarray) -> np.ndarray:
    """Float image (C, H, W) -> the integer graph input: round(x / scale) (half to even) plus the
    zero point, clamped (onnxruntime's QuantizeLinear)."""
    t = qgraph.input
    x = np.asarray(x, np.float64)
    if x.shape != tuple(t.shape):
        raise UserError(f"{qgraph.graph.name}: input has shape {x.shape}, the model needs {tuple(t.shape)} (C, H, W)")
    return np.clip(np.round(x / t.scale) + t.zero_point, t.lo, t.hi).astype(ACT_DTYPE)


def dequantize(qgraph: QGraph, name: str, y: np.ndarray) -> np.ndarray:
    """Integer tensor -> real values (scale * (q - zero_point))."""
    t = qgraph.tensors[name]
    return (np.asarray(y, np.float64) - t.zero_point) * t.scale


def sqnr_db(ref: np.ndarray, test: np.ndarray) -> float:
    """Signal-to-quantization-noise ratio of ``test`` against ``ref`` in dB (inf when equal)."""
    ref = np.asarray(ref, np.float64).ravel()
    noise = ref - np.asarray(test, np.float64).ravel()
    pn = float(np.sum(noise * noise))
    ps = float(np.sum(ref * ref))
    if pn == 0.0:
        return float("inf")
    return 10.0 * np.log10(ps / pn) if ps > 0 else float("-inf")


def layer_sqnr(qgraph: QGraph, x: np.ndarray) -> list[dict]:
    """Per layer, the SQNR (dB) of its dequantized integer output against the float64 output of
    the same layer, both from the whole network run on the float image ``x`` (C, H, W): where a
    network loses accuracy, layer by layer (``asymap reference --int`` prints it)."""
    g = qgraph.graph
    f = run_float(g, x, return_all=True)
    q = run_int(qgraph, quantize_input(qgraph, x), return_all=True)
    rows = []
    for layer in g.layers:
        t = qgraph.tensors[layer.output]
        ref = f[layer.output]
        rows.append({"index": layer.index, "name": layer.name, "op": layer.op, "tensor": layer.output,
                     "type": "int8" if t.signed else "uint8", "scale": t.scale, "zero_point": t.zero_point,
                     "sqnr_db": sqnr_db(ref, dequantize(qgraph, layer.output, q[layer.output]).reshape(ref.shape))})  # fmt: skip
    return rows
