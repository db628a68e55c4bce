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

# Largest number of int8 x (u)int8 products summed in one float32 matrix product. Every product
# is an integer with |w * x| <= 127 * 255 = 32385 (weights are int8 in [-128, 127] but
# symmetric quantization keeps them in [-127, 127]; inputs are int8 or uint8), so every partial
# sum of up to 512 products -- in whatever order and blocking the BLAS library chooses -- is an
# integer of magnitude <= 512 * 32385 = 16,581,120 < 2**24 = 16,777,216, and float32 represents
# all integers below 2**24 exactly: each sgemm chunk is exact. The chunks are summed in float64,
# exact below 2**53 (K would have to exceed 2**53 / 32385 ~ 2.8e11 to break that). Even with a
# weight of -128 the bound is 512 * 128 * 255 = 16,711,680 < 2**24.
INT_CHUNK_K = 512


def int_matmul(w: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Exact ``w @ x`` of int8 weights (M, K) and int8/uint8 values (K, N), both held in float32.

    Returns int64 (M, N). Splitting K into chunks of :data:`INT_CHUNK_K` keeps every float32
    partial sum exact (see above), so the result equals the integer product bit for bit, at
    float32 BLAS speed (about twice float64 and far above numpy's integer matmul).
    """
    k = w.shape[1]
    if k <= INT_CHUNK_K:
        return (w @ x).astype(np.int64)
    acc = np.zeros((w.shape[0], x.shape[1]), np.float64)
    for k0 in range(0, k, INT_CHUNK_K):
        acc += w[:, k0 : k0 + INT_CHUNK_K] @ x[k0 : k0 + INT_CHUNK_K]
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


def conv(x: np.ndarray, layer: Layer, w: np.ndarray, matmul) -> np.ndarray:
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
        return depthwise(x, layer, w)
    if (kh, kw) == (1, 1) and not any(layer.pads):
        xs = x[:, :, :: layer.stride[0], :: layer.stride[1]][:, :, :oh, :ow]
        cols_all = xs.transpose(1, 0, 2, 3).reshape(x.shape[1], b * oh * ow)
        outs = [matmul(w[j * cg_out : (j + 1) * cg_out].reshape(cg_out, cg_in), cols_all[j * cg_in : (j + 1) * cg_in]) for j in range(g)]
    else:
        win = windows(x, layer)  # (B, C, OH, OW, kh, kw)
        outs = []
        for j in range(g):
            wj = win[:, j * cg_in : (j + 1) * cg_in]
            cols = wj.transpose(1, 4, 5, 0, 2, 3).reshape(cg_in * kh * kw, b * oh * ow)
            outs.append(matmul(w[j * cg_out : (j + 1) * cg_out].reshape(cg_out, -1), cols))
    y = outs[0] if g == 1 else np.concatenate(outs, axis=0)
    return y.reshape(c_out, b, oh, ow).transpose(1, 0, 2, 3)


def depthwise(x: np.ndarray, layer: Layer, w: np.ndarray) -> np.ndarray:
    """Depthwise conv as a sum of kh*kw shifted, per-channel scaled copies (exact for ints)."""
    win = windows(x, layer)
    kh, kw = layer.kernel
    acc_dtype = np.int64 if np.issubdtype(w.dtype, np.integer) else w.dtype
    acc = np.zeros((x.shape[0],) + layer.out_shape, acc_dtype)
    for i in range(kh):
        for j in range(kw):
            acc += w[:, 0, i, j].astype(acc_dtype)[None, :, None, None] * win[..., i, j]
    return acc


def window_sum(x: np.ndarray, layer: Layer) -> np.ndarray:
    """Sum over each pooling window, padded elements adding 0."""
    win = windows(x, layer)
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
