"""File output that never leaves a partial file behind.

A crash or an error half-way through writing must not leave a truncated plan.json or .npy that a
later stage would trust, so every output goes to a temporary file in the same directory and is
renamed over the target only when complete (rename is atomic on POSIX within one filesystem).
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from pathlib import Path
from typing import IO, Iterator

from asymap.errors import UserError


def check_output_dir(path: str | os.PathLike) -> Path:
    """Fail with a user error when the directory that should hold ``path`` does not exist, or
    when ``path`` itself is a directory (a file cannot be renamed over it)."""
    p = Path(path)
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise UserError(f"{p}: output directory {parent} does not exist; create it first or choose another path")
    if p.is_dir():
        raise UserError(f"{p}: is a directory; give a file name for the output (e.g. {p / 'out'})")
    if p.exists() and not p.is_file():  # a device or FIFO (/dev/full): never rename a file over it
        raise UserError(f"{p}: exists and is not a regular file; choose another output path")
    return p


def check_not_input(output: str | os.PathLike | None, *inputs, option: str = "-o") -> None:
    """Refuse an output path that names one of the command's input files (``plan m.onnx c.yaml
    -o m.onnx`` would otherwise replace the model it just read)."""
    if output is None:
        return
    out = Path(output)
    for inp in inputs:
        if inp is None or not isinstance(inp, (str, os.PathLike)):
            continue
        i = Path(inp)
        try:
            same = out.exists() and i.exists() and os.path.samefile(out, i)
        except OSError:
            same = False
        if same or out.resolve() == i.resolve():
            raise UserError(f"{out}: {option} names an input file ({inp}); it would be overwritten, "
                            "choose another output path")


_HINTS = {
    errno.ENOSPC: "free some space or write elsewhere",
    errno.EDQUOT: "free some space or write elsewhere",
    errno.EROFS: "write to a writable file system",
    errno.EACCES: "choose a writable location or fix the permissions",
    errno.EPERM: "choose a writable location or fix the permissions",
    errno.EISDIR: "a directory is in the way; give a file path",
    errno.ENOTDIR: "a file is in the way where a directory is expected; check the path",
    errno.ENOENT: "check the path (or re-run the step that writes it)",
    errno.EEXIST: "remove it or choose another path",
    errno.EMFILE: "raise 'ulimit -n'",
    errno.EIO: "check the disk",
}


def describe_os_error(exc: OSError) -> str:
    """One line for a file-system fault: the file, what went wrong, and what to do."""
    name = exc.filename if exc.filename is not None else "file system"
    other = f" -> {exc.filename2}" if getattr(exc, "filename2", None) else ""
    what = exc.strerror or type(exc).__name__
    hint = _HINTS.get(exc.errno, "check the path and the disk")
    return f"{name}{other}: {what}; {hint}"


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", **kwargs) -> Iterator[IO]:
    """Open a temp file beside ``path``; on success rename it over ``path``, on error delete it."""
    target = check_output_dir(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent or ".")
    except OSError as exc:  # name the file the user asked for, not the temp file
        raise OSError(exc.errno, exc.strerror, str(target)) from None
    os.close(fd)
    try:
        with open(tmp, mode, **kwargs) as fh:
            yield fh
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(exc, OSError) and exc.filename in (None, tmp):
            raise OSError(exc.errno, exc.strerror, str(target)) from None
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
        data = json.loads(p.read_text(encoding="utf-8"), parse_constant=_no_constant)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise UserError(f"{p}: unreadable ({exc}); {fix}") from None
    if not isinstance(data, dict):
        raise UserError(f"{p}: expected a JSON object at the top level; {fix}")
    return data


def _no_constant(name: str):
    """json.loads accepts NaN/Infinity, which are not JSON; no asymap file may contain them."""
    raise ValueError(f"{name} is not a JSON number")
