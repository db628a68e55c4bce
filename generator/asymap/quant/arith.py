"""The one integer arithmetic every implementation must copy bit for bit.

The numpy reference, the HLS kernels (``hls/include/asymap/requant.h``) and any future backend
compute exactly these functions; docs/quantization.md states them in words.

Real multipliers ``r`` (e.g. ``s_w * s_x / s_y``) are represented as ``m * 2**-shift`` with
``m`` a non-negative integer below 2**31 and ``1 <= shift <= 62``. Requantization of an accumulator
``acc`` (at most 2**31 in magnitude) is

    requant(acc, m, shift) = (acc * m + 2**(shift-1)) >> shift      (arithmetic shift = floor)

i.e. rounding half toward +infinity. ``acc * m`` stays below 2**62, so the whole computation fits
a signed 64-bit integer in C++ and in numpy int64, with no floating point anywhere.
The result is then clamped to ``[lo, hi]``, which folds the activation (ReLU: lo = 0; Clip: both)
and the output type (uint8: [0, 255]; int8: [-128, 127]) into one clamp.
"""

from __future__ import annotations

import math

import numpy as np

MULT_BITS = 31  # m < 2**31
MAX_SHIFT = 62


def quantize_multiplier(real: float) -> tuple[int, int]:
    """Represent ``real >= 0`` as ``(m, shift)`` with ``m / 2**shift`` as close as possible.

    ``m`` is normalized into [2**30, 2**31) when the shift range allows, which keeps 30+ bits of
    precision. Multipliers too small for shift 62 lose precision (and become 0 below 2**-63);
    multipliers >= 2**30 cannot be represented and are a quantization bug.
    """
    if not math.isfinite(real) or real < 0:
        raise ValueError(f"requantization multiplier must be finite and >= 0, got {real}")
    if real == 0.0:
        return 0, 1
    mant, exp = math.frexp(real)  # real = mant * 2**exp, mant in [0.5, 1)
    shift = MULT_BITS - exp  # so m = mant * 2**31 in [2**30, 2**31)
    if shift < 1:
        raise ValueError(f"requantization multiplier {real} too large (>= 2**30)")
    if shift > MAX_SHIFT:
        m = int(round(real * 2.0**MAX_SHIFT))
        return m, MAX_SHIFT
    m = int(round(mant * 2.0**MULT_BITS))
    if m == 2**MULT_BITS:  # mant rounded up to 1.0
        m //= 2
        shift -= 1
        if shift < 1:
            raise ValueError(f"requantization multiplier {real} too large (>= 2**30)")
    return m, shift


def requant(acc: np.ndarray, m, shift, lo: int, hi: int) -> np.ndarray:
    """Requantize int accumulators: round-half-up fixed-point multiply, then clamp to [lo, hi].

    ``m`` and ``shift`` broadcast against ``acc`` (scalars, or per-channel arrays shaped to
    broadcast, e.g. (C, 1, 1) for a (C, H, W) tensor).
    """
    a = np.asarray(acc, dtype=np.int64)
    m = np.asarray(m, dtype=np.int64)
    s = np.asarray(shift, dtype=np.int64)
    y = (a * m + (np.int64(1) << (s - 1))) >> s
    return np.clip(y, lo, hi)


def rshift_round(acc: np.ndarray, shift, lo: int, hi: int) -> np.ndarray:
    """``(acc + 2**(shift-1)) >> shift`` then clamp: requant of an already-scaled int64 sum.

    Used where several operands are each multiplied by their own ``m`` and summed before one
    shared shift (residual add: ``xa*ma + xb*mb``).
    """
    a = np.asarray(acc, dtype=np.int64)
    s = np.asarray(shift, dtype=np.int64)
    return np.clip((a + (np.int64(1) << (s - 1))) >> s, lo, hi)


def dtype_range(signed: bool) -> tuple[int, int]:
    return (-128, 127) if signed else (0, 255)
