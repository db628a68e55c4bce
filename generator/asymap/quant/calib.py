"""Calibration data: real images for the activation scales, and the record that reproduces them.

A calibration set is a ``.npy`` batch (N, C, H, W) (or one (C, H, W) image), or a folder of
``.npy`` files, each one image or a batch, read in file-name order. Its identity is recorded
(path, sha256, method) in plan.json and chain.json so that ``generate`` from a plan and
``verify --input`` re-quantize with exactly the same scales; a changed or missing file is a
one-line error, never a silently different reference.

Methods (docs/quantization.md, "Calibration"):

- ``maxabs``: the largest |value| of each tensor over the whole set (never clips a seen value);
- ``percentile``: per image, the ``percentile``-th percentile of |value| of each tensor; the scale
  covers the largest of those over the set. Outliers beyond the percentile are clipped, which
  buys resolution for heavy-tailed activations at the price of saturating rare peaks.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from asymap.errors import UserError

METHODS = ("maxabs", "percentile")
DEFAULT_PERCENTILE = 99.99


@dataclass
class Calibration:
    images: np.ndarray  # float32 (N, C, H, W)
    path: str | None = None  # where the images came from (None: an in-memory array)
    sha256: str | None = None
    method: str = "maxabs"
    percentile: float = DEFAULT_PERCENTILE

    def record(self) -> dict:
        """What plan.json / chain.json keep under ``calib``."""
        r = {"path": self.path, "sha256": self.sha256, "images": int(self.images.shape[0]), "method": self.method}
        if self.method == "percentile":
            r["percentile"] = self.percentile
        return r


def _check_method(method: str, percentile: float) -> None:
    if method not in METHODS:
        raise UserError(f"calibration method {method!r} is unknown; choose one of: {', '.join(METHODS)}")
    if not (50.0 < float(percentile) <= 100.0):
        raise UserError(f"calibration percentile {percentile} out of range; use 50 < P <= 100 (e.g. 99.99)")


def _read_npy(f: Path) -> np.ndarray:
    try:
        with open(f, "rb") as fh:
            a = np.load(fh, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise UserError(f"{f}: cannot read calibration data ({type(exc).__name__}: {exc}); give a .npy of float images") from None
    if not isinstance(a, np.ndarray) or not np.issubdtype(a.dtype, np.number) or a.ndim not in (3, 4):
        raise UserError(f"{f}: calibration data must be a numeric (N, C, H, W) or (C, H, W) array, got {getattr(a, 'shape', '?')}")
    return a.astype(np.float32)[None] if a.ndim == 3 else a.astype(np.float32)


def _files(p: Path) -> list[Path]:
    if p.is_dir():
        files = sorted(f for f in p.iterdir() if f.suffix == ".npy" and f.is_file())
        if not files:
            raise UserError(f"{p}: calibration folder holds no .npy files; put one image (C, H, W) or a batch per file")
        return files
    if not p.is_file():
        raise UserError(f"{p}: calibration file or folder not found; give a .npy batch (N, C, H, W) or a folder of .npy")
    return [p]


def _digest(files: list[Path], root: Path) -> str:
    """sha256 of the file (one file) or of each file's name and sha256 in order (a folder)."""
    if len(files) == 1 and files[0] == root:
        return hashlib.sha256(files[0].read_bytes()).hexdigest()
    h = hashlib.sha256()
    for f in files:
        h.update(f"{f.name}\0{hashlib.sha256(f.read_bytes()).hexdigest()}\n".encode())
    return h.hexdigest()


def load_calibration(path: str | os.PathLike, method: str = "maxabs", percentile: float = DEFAULT_PERCENTILE,
                     shape=None) -> Calibration:  # fmt: skip
    """Read a calibration set (file or folder); ``shape`` (C, H, W) checks the images' shape."""
    _check_method(method, percentile)
    p = Path(path)
    files = _files(p)
    images = np.concatenate([_read_npy(f) for f in files], axis=0)
    if shape is not None and tuple(images.shape[1:]) != tuple(shape):
        raise UserError(f"{p}: calibration images have shape {tuple(images.shape[1:])}, the model needs {tuple(shape)} (C, H, W)")
    if images.shape[0] == 0:
        raise UserError(f"{p}: calibration set is empty")
    if not np.all(np.isfinite(images)):
        raise UserError(f"{p}: calibration data contains NaN or infinity")
    return Calibration(images, str(p.resolve()), _digest(files, p), method, float(percentile))


def as_calibration(calib, method: str = "maxabs", percentile: float = DEFAULT_PERCENTILE, shape=None) -> Calibration | None:
    """None, a path, an array or a :class:`Calibration` -> Calibration (None stays None)."""
    if calib is None or isinstance(calib, Calibration):
        return calib
    if isinstance(calib, (str, os.PathLike)):
        return load_calibration(calib, method, percentile, shape)
    _check_method(method, percentile)
    a = np.asarray(calib, np.float32)
    return Calibration(a[None] if a.ndim == 3 else a, None, None, method, float(percentile))


def from_record(record: dict | None, where: str, shape=None) -> Calibration | None:
    """Re-read the calibration set a plan.json / chain.json recorded; its sha256 must match."""
    if not record or "synthetic_seed" in record:
        return None  # seeded synthetic images: quantize(seed=...) makes them again
    path, sha = record.get("path"), record.get("sha256")
    if not path:
        raise UserError(f"{where}: was calibrated on in-memory images (no calib path recorded); re-run with --calib FILE")
    cal = load_calibration(path, record.get("method", "maxabs"), record.get("percentile", DEFAULT_PERCENTILE), shape)
    if sha and cal.sha256 != sha:
        raise UserError(f"{where}: calibration data {path} changed since it was recorded (sha256 differs); "
                        "restore it or re-run with --calib")  # fmt: skip
    return cal
