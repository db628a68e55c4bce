"""Array kernels shared by the float and the integer reference executors.

Every function works on a batch of images ``(B, C, H, W)`` and is generic in the number type: the
float executor passes float arrays, the integer executor passes integer values (held in float32 for
the matrix products, see :func:`int_matmul`) and exact integer arithmetic elsewhere. Keeping one
copy of the window/padding logic means the two executors cannot disagree about geometry.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from asymap.frontend.ir import Layer

# Exactness of the integer matrix products in float32 BLAS.
# Every product w*x is an integer with |w*x| <= 128 * 255 = 32640 (weights int8, inputs int8 or
# uint8), exactly representable in float32. float32 represents every integer of magnitude
# <= 2**24 exactly, so if every *partial* sum the BLAS library may form -- in whatever order and
# blocking it chooses -- stays within 2**24, every addition is exact and so is the result. For
# output row c and column n, any partial sum over a subset of a chunk of K is bounded by
#     sum_{k in chunk} |w[c,k]| * |x[k,n]|  <=  xmax * sum_{k in chunk} |w[c,k]|,
# with xmax = 128 (int8 input) or 255 (uint8). :func:`chunk_bounds` cuts K into chunks where
# xmax * max_c sum_{k in chunk} |w[c,k]| <= 2**24, a property of the weights and the input type
# alone (computed once per layer). Any 512 products satisfy it (512 * 32640 = 16,711,680 <
# 2**24 = 16,777,216), so chunks are never shorter than that; with real weights (mostly far below
# 127 in magnitude) a chunk typically spans several times more. The chunk
# results are exact integers, summed in float64 (exact below 2**53: K would have to exceed
# 2**53 / 32640 ~ 2.8e11) and converted to int64.
F32_EXACT = 2**24
SAFE_CHUNK_K = 512  # a chunk length that is exact for any weights (see above)


def chunk_bounds(w: np.ndarray, xmax: int, block: int = 512) -> list[tuple[int, int]]:
    """Cut the K axis of integer-valued weights ``w`` (M, K) into chunks whose float32 products
    are exact for any input with ``|x| <= xmax``: greedy, each chunk as long as
    ``max_c sum_{k in chunk} |w[c,k]| <= 2**24 // xmax`` allows. Works through K in column
    blocks so memory stays O(M * block) even for VGG-16's 4096 x 25088 fc weights."""
    m, k = w.shape
    limit = F32_EXACT // max(int(xmax), 1)
    bounds: list[tuple[int, int]] = []
    k0 = kk = 0
    run = np.zeros(m, np.int64)  # per-row sum of |w| over [k0, kk)
    while kk < k:
        c = run[:, None] + np.cumsum(np.abs(w[:, kk : kk + block]).astype(np.int64), axis=1)
        j = int(np.searchsorted(c.max(axis=0), limit, side="right"))  # columns that still fit
        if j == c.shape[1]:
            run, kk = c[:, -1], kk + j
            continue
        bounds.append((k0, kk + j))  # j >= 1 unless kk > k0: one column sums to <= 128 <= limit
        k0 = kk = kk + j
        run = np.zeros(m, np.int64)
    if k0 < k:
        bounds.append((k0, k))
    return bounds


def int_matmul(w: np.ndarray, x: np.ndarray, bounds: list[tuple[int, int]] | None = None) -> np.ndarray:
    """Exact ``w @ x`` of int8 weights (M, K) and int8/uint8 values (K, N), both held in float32.

    Returns int64 (M, N). ``bounds``: K chunks from :func:`chunk_bounds` (default: chunks of
    :data:`SAFE_CHUNK_K`, exact for any weights). Each chunk is one float32 BLAS product whose
    partial sums are all integers below 2**24 (see above), so the result equals the integer
    product bit for bit, at float32 BLAS speed (far above numpy's integer matmul).
    """
    k = w.shape[1]
    if bounds is None:
        bounds = [(k0, min(k, k0 + SAFE_CHUNK_K)) for k0 in range(0, k, SAFE_CHUNK_K)]
    if len(bounds) <= 1:
        return (w @ x).astype(np.int64)
    acc = np.zeros((w.shape[0], x.shape[1]), np.float64)
    for k0, k1 in bounds:
        acc += w[:, k0:k1] @ x[k0:k1]
    return acc.astype(np.int64)


def pad(x: np.ndarray, pads: tuple[int, int, int, int], fill=0) -> np.ndarray:
    t, l, b, r = pads
    if not any(pads):
        return x
    return np.pad(x, ((0, 0), (0, 0), (t, b), (l, r)), constant_values=fill)


def windows(x: np.ndarray, layer: Layer, fill=0) -> np.ndarray:
    """View (B, C, OH, OW, kh, kw) of the padded input's sliding windows (no copy until used)."""
    kh, kw = layer.kernel
    sh, sw = layer.stride
    dh, dw = layer.dilation
    oh, ow = layer.out_shape[1:]
    xp = pad(x, layer.pads, fill)
    v = sliding_window_view(xp, ((kh - 1) * dh + 1, (kw - 1) * dw + 1), axis=(2, 3))
    return v[:, :, : (oh - 1) * sh + 1 : sh, : (ow - 1) * sw + 1 : sw, ::dh, ::dw]


def conv(x: np.ndarray, layer: Layer, w: np.ndarray, matmul, fill=0) -> np.ndarray:
    """Convolution without bias: ``x`` (B, C, H, W), ``w`` (C_out, C_in/g, kh, kw) of the same
    dtype as ``x``; ``matmul(w2d, cols)`` does the products (exact for the integer path).

    Depthwise convolutions are a sum over the kh*kw taps (no matrix product to speak of); every
    other case is im2col + one matrix product per group, with a 1x1 fast path without copies.
    """
    b = x.shape[0]
    c_out, oh, ow = layer.out_shape
    g = layer.groups
    cg_in = x.shape[1] // g
    cg_out = c_out // g
    kh, kw = layer.kernel
    if g > 1 and cg_in == 1 and cg_out == 1:
        return depthwise(x, layer, w, fill)
    if (kh, kw) == (1, 1) and not any(layer.pads):
        xs = x[:, :, :: layer.stride[0], :: layer.stride[1]][:, :, :oh, :ow]
        cols_all = xs.transpose(1, 0, 2, 3).reshape(x.shape[1], b * oh * ow)
        outs = [matmul(w[j * cg_out : (j + 1) * cg_out].reshape(cg_out, cg_in), cols_all[j * cg_in : (j + 1) * cg_in]) for j in range(g)]
    else:
        win = windows(x, layer, fill)  # (B, C, OH, OW, kh, kw)
        outs = []
        for j in range(g):
            wj = win[:, j * cg_in : (j + 1) * cg_in]
            cols = wj.transpose(1, 4, 5, 0, 2, 3).reshape(cg_in * kh * kw, b * oh * ow)
            outs.append(matmul(w[j * cg_out : (j + 1) * cg_out].reshape(cg_out, -1), cols))
    y = outs[0] if g == 1 else np.concatenate(outs, axis=0)
    return y.reshape(c_out, b, oh, ow).transpose(1, 0, 2, 3)


def depthwise(x: np.ndarray, layer: Layer, w: np.ndarray, fill=0) -> np.ndarray:
    """Depthwise conv as a sum of kh*kw shifted, per-channel scaled copies (exact for ints)."""
    win = windows(x, layer, fill)
    kh, kw = layer.kernel
    acc_dtype = np.int64 if np.issubdtype(w.dtype, np.integer) else w.dtype
    acc = np.zeros((x.shape[0],) + layer.out_shape, acc_dtype)
    for i in range(kh):
        for j in range(kw):
            acc += w[:, 0, i, j].astype(acc_dtype)[None, :, None, None] * win[..., i, j]
    return acc


def window_sum(x: np.ndarray, layer: Layer, fill=0) -> np.ndarray:
    """Sum over each pooling window, padded elements adding ``fill`` (0, or a zero point)."""
    win = windows(x, layer, fill)
    return win.sum(axis=(4, 5))


def window_count(layer: Layer) -> np.ndarray:
    """(OH, OW) number of elements each window divides by: kh*kw when count_include_pad, else
    the number of in-image elements (the ONNX AveragePool rule)."""
    kh, kw = layer.kernel
    _, oh, ow = layer.out_shape
    if layer.count_include_pad:
        return np.full((oh, ow), kh * kw, np.int64)
    h, w = layer.in_shapes[0][1:]
    ones = np.ones((1, 1, h, w), np.int64)
    return window_sum(ones, layer)[0, 0]


def maxpool(x: np.ndarray, layer: Layer, fill) -> np.ndarray:
    """Max over each window; ``fill`` (below every value) makes padded elements never win."""
    return windows(x, layer, fill).max(axis=(4, 5))
