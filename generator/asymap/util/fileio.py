"""File output that never leaves a partial file behind.

A crash or an error half-way through writing must not leave a truncated plan.json or .npy that a
later stage would trust, so every output goes to a temporary file in the same directory and is
renamed over the target only when complete (rename is atomic on POSIX within one filesystem).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import IO, Iterator

from asymap.errors import UserError


def check_output_dir(path: str | os.PathLike) -> Path:
    """Fail with a user error when the directory that should hold ``path`` does not exist."""
    p = Path(path)
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise UserError(f"{p}: output directory {parent} does not exist; create it first or choose another path")
    return p


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", **kwargs) -> Iterator[IO]:
    """Open a temp file beside ``path``; on success rename it over ``path``, on error delete it."""
    target = check_output_dir(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent or ".")
    os.close(fd)
    try:
        with open(tmp, mode, **kwargs) as fh:
            yield fh
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    with atomic_open(path, "wb") as fh:
        fh.write(data)


def atomic_save_npy(path: str | os.PathLike, array) -> None:
    """np.save through a temp file (np.save on a path would append '.npy' to the temp name)."""
    import numpy as np

    with atomic_open(path, "wb") as fh:
        np.save(fh, array, allow_pickle=False)


def read_json_object(path: str | os.PathLike, fix: str) -> dict:
    """A JSON file whose top level is an object; any other content is a one-line UserError
    naming the file and ending with ``fix`` (what the user should do)."""
    import json

    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"{p}: unreadable ({exc}); {fix}") from None
    if not isinstance(data, dict):
        raise UserError(f"{p}: expected a JSON object at the top level; {fix}")
    return data
