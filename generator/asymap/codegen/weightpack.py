"""Weight images of the folded engines: how a plan's (PE, SIMD, KPAR) turns int8 weights into rows.

A *row* is the PE*KPAR*SIMD weights one engine cycle uses (``hls/include/asymap/conv.h``); on chip rows
are padded to whole 64-bit ROM words, off chip to a *slot* inside 512-bit memory words
(``weights_offchip.h``). Keeping these layouts in one module keeps the C++ readers and the Python
writers in step.
"""

from __future__ import annotations

import numpy as np

from asymap.lanes import fit_factor  # noqa: F401  (re-exported: the engines' factor fitting)

WMEM_WORD_BYTES = 64  # 512-bit off-chip words


def slot_bytes(row_bytes: int) -> int:
    """Off-chip row slot: next power of two up to 64 bytes, else a multiple of 64 bytes."""
    if row_bytes > WMEM_WORD_BYTES:
        return -(-row_bytes // WMEM_WORD_BYTES) * WMEM_WORD_BYTES
    s = 1
    while s < row_bytes:
        s *= 2
    return s


def weight_rows(w: np.ndarray, pe: int, simd: int, kpar: int = 1) -> np.ndarray:
    """Reorder int8 weights (C_out, CinG, kh, kw) into rows of PE*KPAR*SIMD bytes, in (nf, kq, sf)
    order; byte ``(p*KPAR + j)*SIMD + s`` of a row is ``w[nf*PE + p, sf*SIMD + s, ky, kx]`` with
    window position ``q = kq*KPAR + j = ky*kw + kx`` (conv.h). KPAR = 1 gives (nf, ky, kx, sf)."""
    co, cig, kh, kw = w.shape
    nf, sf, kf = co // pe, cig // simd, kh * kw // kpar
    r = w.astype(np.int8).reshape(nf, pe, sf, simd, kf, kpar).transpose(0, 4, 2, 1, 5, 3)
    return np.ascontiguousarray(r.reshape(nf * kf * sf, pe * kpar * simd))


def pack_rom(rows: np.ndarray) -> tuple[np.ndarray, int]:
    """Pad rows to whole 64-bit words; returns (uint64 words, words per row)."""
    n, rb = rows.shape
    wpr = -(-rb // 8)
    buf = np.zeros((n, wpr * 8), np.uint8)
    buf[:, :rb] = rows.view(np.uint8)
    return buf.reshape(-1).view("<u8"), wpr


def pack_offchip(rows: np.ndarray) -> bytes:
    """Rows padded to their slot, region padded to whole 512-bit words (weights_offchip.h)."""
    n, rb = rows.shape
    sb = slot_bytes(rb)
    buf = np.zeros((n, sb), np.uint8)
    buf[:, :rb] = rows.view(np.uint8)
    data = buf.tobytes()
    pad = -len(data) % WMEM_WORD_BYTES
    return data + bytes(pad)


def pad_channels(a: np.ndarray, n: int, fill) -> np.ndarray:
    """``a`` extended along axis 0 to length ``n`` with ``fill`` (padding channels)."""
    a = np.asarray(a)
    if a.shape[0] == n:
        return a
    pad = np.full((n - a.shape[0],) + a.shape[1:], fill, a.dtype)
    return np.concatenate([a, pad])
