"""Reading user-supplied .npy arrays with one-line errors instead of numpy tracebacks; small array
helpers."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from asymap.errors import UserError


def load_npy(path: str | os.PathLike, what: str = "array") -> np.ndarray:
    """Load a .npy file (no pickles); UserError naming the file when it is missing or unreadable."""
    p = Path(path)
    if not p.is_file():
        raise UserError(f"{p}: no such file; give an existing .npy {what}")
    try:
        arr = np.load(p, allow_pickle=False)
    except Exception as exc:
        raise UserError(f"{p}: cannot read the {what} as .npy ({type(exc).__name__}); save it with numpy.save") from None
    if not isinstance(arr, np.ndarray):
        raise UserError(f"{p}: holds several arrays (.npz); give a single-array .npy {what}")
    return arr


def parse_shape(text: str | None, what: str = "--input-shape") -> tuple[int, ...] | None:
    """'3,224,224' or '1x3x224x224' -> (3, 224, 224) / (1, 3, 224, 224); None stays None."""
    if text is None:
        return None
    parts = str(text).replace("x", ",").split(",")
    try:
        dims = tuple(int(p) for p in parts if p.strip())
    except ValueError:
        dims = ()
    if len(dims) not in (3, 4) or min(dims) < 1:
        raise UserError(f"{what} {text!r}: give C,H,W (e.g. 3,224,224)")
    return dims


def sorted_unique(a: np.ndarray) -> np.ndarray:
    """``np.unique(a)`` of a 1-D array (sorted distinct values), without ``np.unique``'s first-call
    import of ``numpy.ma`` (~15 ms of an ``asymap plan``, which needs no masked arrays)."""
    a = np.sort(np.asarray(a).ravel())
    if len(a) < 2:
        return a
    keep = np.empty(len(a), bool)
    keep[0] = True
    np.not_equal(a[1:], a[:-1], out=keep[1:])
    return a[keep]
