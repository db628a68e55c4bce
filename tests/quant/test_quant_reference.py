"""Float and integer reference executors.

- float executor == onnxruntime on every zoo model (max relative error <= 1e-4);
- integer executor == an independent, loop-based implementation of docs/quantization.md, tensor
  by tensor (this is the oracle the HLS kernels are compared with, so it must be the spec);
- the int path is exact (BLAS chunking proven against int64 matmul) and bit-stable;
- int8 SQNR vs float >= 20 dB on every zoo model (see docs/quantization.md, "Accuracy").
"""

from __future__ import annotations

import numpy as np
import pytest

from asymap.frontend import ir
from asymap.frontend.onnx_import import graph_from_model
from asymap.frontend.zoo import ZOO_NAMES, build_zoo_model
from asymap.quant import kernels
from asymap.quant.arith import requant
from asymap.quant.quantize import quantize
from asymap.quant.reference import dequantize, quantize_input, run_float, run_int, sqnr_db

SQNR_MIN_DB = 20.0


def _ort(model, x):
    import onnxruntime as ort

    s = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return s.run(None, {"input": x[None]})[0]


@pytest.fixture(scope="module")
def small_models():
    """Every zoo model at 32x32, width 0.25 (ResNet-152's structure is kept, just narrow)."""
    out = {}
    for name in ZOO_NAMES:
        m = build_zoo_model(name, 32, 0.25, num_classes=16)
        out[name] = (m, graph_from_model(m, name))
    return out


@pytest.mark.parametrize("name", ZOO_NAMES)
def test_float_matches_onnxruntime(small_models, name):
    m, g = small_models[name]
    x = np.random.default_rng(7).standard_normal((3, 32, 32)).astype(np.float32)
    ref = _ort(m, x).ravel().astype(np.float64)
    y = run_float(g, x).ravel()
    assert np.abs(y - ref).max() <= 1e-4 * np.abs(ref).max()


@pytest.mark.parametrize("name", ZOO_NAMES)
def test_int_sqnr_and_bit_stability(small_models, name):
    _, g = small_models[name]
    q = quantize(g, seed=0)
    x = np.random.default_rng(11).standard_normal((3, 32, 32)).astype(np.float32)
    xq = quantize_input(q, x)
    y1 = run_int(q, xq)
    y2 = run_int(q, xq.copy())
    assert y1.dtype == np.int16 and y1.shape == (16, 1, 1)
    assert np.array_equal(y1, y2)
    assert sqnr_db(run_float(g, x), dequantize(q, g.output, y1)) >= SQNR_MIN_DB


# --- an independent implementation of the integer semantics ------------------------------------
def _rq(acc, m, s, lo, hi):
    """requant written as floor division (the spec's '>>' on negative numbers is floor)."""
    acc, m, s = (np.asarray(v, dtype=object) for v in (acc, m, s))
    y = (acc * m + 2 ** (s - 1)) // 2**s
    return np.clip(y, lo, hi).astype(np.int64)


def _spec_layer(q, ins):
    lay = q.layer
    x = ins[0].astype(np.int64)
    c_out, oh, ow = lay.out_shape
    if lay.op == ir.FC:
        acc = q.weight.astype(np.int64) @ x.reshape(-1) + q.bias
        return _rq(acc, q.mult, q.shift, q.lo, q.hi).reshape(c_out, 1, 1)
    if lay.op == ir.ADD:
        acc = ins[0].astype(np.int64) * int(q.mult[0]) + ins[1].astype(np.int64) * int(q.mult[1])
        return _rq(acc, 1, q.shift[0], q.lo, q.hi)
    if lay.op == ir.CONCAT:
        return np.concatenate([_rq(t.astype(np.int64), q.mult[i], q.shift[i], q.lo, q.hi) for i, t in enumerate(ins)])
    if lay.op == ir.GAP:
        return _rq(x.sum(axis=(1, 2), keepdims=True), q.mult[0], q.shift[0], q.lo, q.hi)
    pt, pl, _, _ = lay.pads
    (kh, kw), (sh, sw), (dh, dw) = lay.kernel, lay.stride, lay.dilation
    c_in, h, w = x.shape
    out = np.zeros((c_out, oh, ow), np.int64)
    for i in range(oh):
        for j in range(ow):
            rows = [i * sh - pt + u * dh for u in range(kh)]
            cols = [j * sw - pl + v * dw for v in range(kw)]
            inside = [(u, v) for u in range(kh) for v in range(kw) if 0 <= rows[u] < h and 0 <= cols[v] < w]
            if lay.op == ir.CONV:
                cg_in, cg_out = c_in // lay.groups, c_out // lay.groups
                for c in range(c_out):
                    g0 = (c // cg_out) * cg_in
                    acc = int(q.bias[c])
                    for u, v in inside:  # padding contributes 0: only in-image taps
                        acc += int(np.dot(q.weight[c, :, u, v].astype(np.int64), x[g0 : g0 + cg_in, rows[u], cols[v]]))
                    out[c, i, j] = _rq(acc, q.mult[c], q.shift[c], q.lo, q.hi)
            elif lay.op == ir.MAXPOOL:
                vals = np.stack([x[:, rows[u], cols[v]] for u, v in inside])
                out[:, i, j] = np.clip(vals.max(axis=0), q.lo, q.hi)
            elif lay.op == ir.AVGPOOL:
                n = kh * kw if lay.count_include_pad else len(inside)
                s = sum(x[:, rows[u], cols[v]] for u, v in inside)
                out[:, i, j] = _rq(s, q.mult[n], q.shift[n], q.lo, q.hi)
    return out


@pytest.mark.parametrize("name, size, wm", [("tiny", 12, 0.5), ("inception", 16, 0.25), ("mobilenetv2", 16, 0.25), ("resnet18", 16, 0.125)])
def test_int_matches_spec_tensor_by_tensor(name, size, wm):
    g = graph_from_model(build_zoo_model(name, size, wm, num_classes=8), name)
    q = quantize(g)
    x = np.random.default_rng(3).standard_normal((3, size, size)).astype(np.float32)
    vals = run_int(q, quantize_input(q, x), return_all=True)
    assert set(vals) == {g.input} | {lay.output for lay in g.layers}
    for ql in q.layers:
        want = _spec_layer(ql, [vals[t] for t in ql.layer.inputs])
        got = vals[ql.layer.output]
        t = q.tensors[ql.layer.output]
        assert got.dtype == np.int16 and got.shape == t.shape
        assert t.lo <= got.min() and got.max() <= t.hi
        assert np.array_equal(got, want), f"{name}: layer {ql.layer.name} ({ql.op}) differs from the spec"


@pytest.mark.parametrize("xmax, lo", [(255, 0), (128, -128)])
def test_int_matmul_is_exact_at_the_extremes(xmax, lo):
    rng = np.random.default_rng(0)
    k = 5000  # many chunks; extreme values push every chunk's partial sums up to the 2**24 bound
    w = rng.choice(np.array([-128, 127], np.int64), size=(8, k))
    w[0] = -128  # one row at the extreme everywhere: it sets the chunk length
    x = np.full((k, 3), xmax if lo == 0 else -128, np.int64)
    x[:, 1] = rng.integers(lo, xmax, k)
    exact = w @ x
    bounds = kernels.chunk_bounds(w.astype(np.float32), xmax)
    assert bounds[0][0] == 0 and bounds[-1][1] == k and all(a[1] == b[0] for a, b in zip(bounds, bounds[1:]))
    for k0, k1 in bounds:  # the proven condition: every partial sum stays within 2**24
        assert xmax * np.abs(w[:, k0:k1]).sum(axis=1).max() <= 2**24
        assert k1 - k0 >= 512 or k1 == k
    for b in (bounds, None):
        got = kernels.int_matmul(w.astype(np.float32), x.astype(np.float32), b)
        assert got.dtype == np.int64 and np.array_equal(got, exact)
    # One chunk too long would not be exact: the bound is what makes the result right.
    assert np.abs(w[0]).sum() * xmax > 2**24


def test_chunks_are_long_for_real_weights():
    w = np.clip(np.round(np.random.default_rng(1).standard_normal((64, 4608)) * 30), -127, 127)
    bounds = kernels.chunk_bounds(w.astype(np.float32), 255)
    assert len(bounds) < 4608 // 512  # real weights need fewer chunks than the worst case


def test_requant_rounds_half_up_and_clamps():
    # 2**30 / 2**31 = 0.5: -1.5 -> -1, -0.5 -> 0, 0.5 -> 1, 1.5 -> 2 (half toward +infinity)
    acc = np.array([-3, -1, 1, 3, 1000, -1000])
    y = requant(acc, 2**30, 31, -128, 127)
    assert y.tolist() == [-1, 0, 1, 2, 127, -128]
    assert np.array_equal(y, _rq(acc, 2**30, 31, -128, 127))


def test_quantize_is_deterministic_and_uses_calib(small_models):
    _, g = small_models["tiny"]
    a, b = quantize(g, seed=5), quantize(g, seed=5)
    for la, lb in zip(a.layers, b.layers):
        assert np.array_equal(la.mult, lb.mult) and np.array_equal(la.shift, lb.shift)
        assert (la.weight is None) or np.array_equal(la.weight, lb.weight)
    calib = 4 * np.random.default_rng(0).standard_normal((2, 3, 32, 32)).astype(np.float32)
    c = quantize(g, calib=calib)
    assert c.input.scale > 3 * a.input.scale  # calibrated on 4x larger images
    types = {(ql.op, ql.layer.act, a.tensors[ql.layer.output].signed) for ql in a.layers}
    assert (ir.CONV, ir.ACT_RELU, False) in types and (ir.FC, None, True) in types
    assert a.input.signed and a.input.lo == -128


def test_snapped_scales_absorb_float_noise():
    from asymap.quant.quantize import snap_scale

    rng = np.random.default_rng(4)
    for s in rng.uniform(1e-4, 10, 200):
        t = snap_scale(s)
        assert s <= t < s * (1 + 2**-19)
        mant, _ = np.frexp(t)
        assert float(mant * 2**20).is_integer()
        assert snap_scale(s * (1 + 1e-13)) == t or snap_scale(s * (1 - 1e-13)) == t


_DIGEST = """
import hashlib, sys, numpy as np
from asymap.frontend.onnx_import import graph_from_model
from asymap.frontend.zoo import build_zoo_model
from asymap.quant.quantize import quantize
from asymap.quant.reference import quantize_input, run_int
g = graph_from_model(build_zoo_model("resnet18", 32, 0.25, num_classes=8), "r")
q = quantize(g)
h = hashlib.sha256()
for ql in q.layers:
    h.update(ql.mult.tobytes() + ql.shift.tobytes())
x = quantize_input(q, np.random.default_rng(1).standard_normal((3, 32, 32)))
for name, v in sorted(run_int(q, x, return_all=True).items()):
    h.update(name.encode() + v.tobytes())
print(h.hexdigest())
"""


def test_integers_do_not_depend_on_blas_threads():
    """Same model, seed and input -> the same multipliers and integer tensors, whatever the BLAS
    threading (a different split of the float work must not move a single scale)."""
    import os
    import subprocess
    import sys

    digests = set()
    for threads in ("1", "2"):
        env = {**os.environ, "OPENBLAS_NUM_THREADS": threads, "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads}
        out = subprocess.run([sys.executable, "-c", _DIGEST], env=env, capture_output=True, text=True, check=True)
        digests.add(out.stdout.strip())
    assert len(digests) == 1
