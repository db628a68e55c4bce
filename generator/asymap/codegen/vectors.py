"""Test vectors: the input image and, per board, the link frames it receives and the bytes it must send.

Everything comes from the bit-exact integer reference (:func:`asymap.quant.reference.run_int`), so a
board's C-simulation can be checked on its own (``make csim``) as well as in the chain
(``asymap verify``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from asymap import linkproto
from asymap.codegen import framefile
from asymap.codegen.chain import LinkSpec
from asymap.errors import UserError
from asymap.quant.qgraph import QGraph
from asymap.quant.reference import quantize_input


def tensor_payload(values: np.ndarray, signed: bool) -> bytes:
    """HWC bytes of a reference tensor (int16 array holding int8/uint8 values)."""
    a = np.asarray(values)
    if a.ndim == 1:
        a = a.reshape(-1, 1, 1)
    return linkproto.tensor_bytes_hwc(a.astype(np.int8 if signed else np.uint8))


def default_input(qg: QGraph, seed: int) -> np.ndarray:
    """A seeded unit-normal float image, quantized like a real input would be."""
    rng = np.random.default_rng(seed)
    return quantize_input(qg, rng.standard_normal(qg.input.shape))


def read_input(path: str | Path | np.ndarray, shape, signed: bool | None = None) -> tuple[np.ndarray, str]:
    """The input image of ``shape`` (C, H, W) from a .npy file or array, and where it came from:
    everything about it that can be refused before quantization (``generate`` reads it before its
    first progress line). ``signed``: the quantized input type (int8 / uint8), which an integer
    image must fit (None: not checked)."""
    if isinstance(path, np.ndarray):
        x, where = path, "input"
    else:
        p = Path(path)
        where = str(p)
        try:
            x = np.load(p, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise UserError(f"{p}: cannot read the input image ({exc}); give a .npy file of shape "
                            f"{tuple(shape)}") from None
    x = np.asarray(x)
    if x.ndim == 4 and x.shape[0] == 1:
        x = x[0]
    if tuple(x.shape) != tuple(shape):
        raise UserError(f"{where}: input has shape {tuple(x.shape)}, the model needs {tuple(shape)} (C, H, W)")
    if not np.issubdtype(x.dtype, np.floating) and not np.issubdtype(x.dtype, np.integer):
        raise UserError(f"{where}: input dtype {x.dtype} is neither float nor integer")
    lo, hi = (-128, 127) if signed else (0, 255)
    if signed is not None and np.issubdtype(x.dtype, np.integer) and (x.min() < lo or x.max() > hi):
        raise UserError(f"{where}: integer input values must lie in [{lo}, {hi}] "
                        "(quantized); pass a float image to have it quantized")
    return x, where


def load_input(qg: QGraph, path: str | Path | np.ndarray) -> np.ndarray:
    """The quantized graph input from a .npy file or array.

    Floating-point arrays are images and are quantized with the model's input scale; integer arrays
    are taken as already-quantized values and must lie in the input type's range.
    """
    x, _ = read_input(path, qg.input.shape, qg.input.signed)
    if np.issubdtype(x.dtype, np.floating):
        return quantize_input(qg, x)
    return x.astype(np.int16)


def link_frames(link: LinkSpec, ref: dict[str, np.ndarray]) -> bytes:
    """The frame file of ``link`` for one image, from the reference values of its tensors."""
    arrays = [np.asarray(ref[t.name]).reshape(t.shape).astype(np.int8 if t.signed else np.uint8)
              for t in link.tensors]
    return framefile.encode_tensors(arrays, src=link.src, dst=link.dst, width_bits=link.width_bits,
                                    max_payload_beats=link.max_payload_beats)
