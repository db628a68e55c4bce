"""An exclusive lock on an output tree, so two ``asymap build`` (or verify) runs never run
``make`` in the same board directories at once.

The lock is ``fcntl.flock`` on the tree's directory itself: the kernel drops it when the holder
exits, even on a crash or ``kill -9``, so nothing stale can block the next run, and no lock file
is left behind. While it holds the lock, a run describes itself (pid, host, command, start time)
in ``OUT/.asymap.lock``, which a second run reads to say who holds the tree; the holder removes
that file before it lets go.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import socket
import time
from pathlib import Path
from typing import Iterator

from asymap.errors import UserError

INFO_NAME = ".asymap.lock"


@contextlib.contextmanager
def tree_lock(tree: str | os.PathLike, what: str) -> Iterator[Path]:
    """Hold the lock of directory ``tree`` for the body; a UserError names the current holder."""
    root = Path(tree)
    if not root.is_dir():
        raise UserError(f"{root}: output tree not found; run 'asymap generate ... -o {root}' first")
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise
            try:
                holder = (root / INFO_NAME).read_text(encoding="utf-8").strip()
            except OSError:
                holder = ""
            raise UserError(f"{root}: in use by {holder or 'another asymap run'}; wait for it to finish "
                            "(or stop it) and run again") from None
        info = root / INFO_NAME
        stamp = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
        info.write_text(f"'asymap {what}' (pid {os.getpid()} on {socket.gethostname()}, started {stamp})\n",
                        encoding="utf-8")
        try:
            yield info
        finally:
            with contextlib.suppress(OSError):
                info.unlink()
    finally:
        os.close(fd)  # releases the flock
