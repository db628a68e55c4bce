"""What an executor is given and how it reports back.

An executor runs a list of :class:`Task` (one per board) and calls ``on_start``/``on_end`` from the
calling thread as boards start and finish, so the runner can rewrite build.json after each event
without locks. On KeyboardInterrupt an executor stops its children, reports each of them through
``on_end`` with reason ``interrupted`` and re-raises, so build.json stays true.
"""

from __future__ import annotations

import contextlib
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator


@dataclass(frozen=True, eq=False)  # identity-hashed: used as a dict key by executors
class Task:
    board: str
    step: str
    dir: Path  # working directory (the board project)
    argv: list[str]  # resolved command
    log: Path  # combined stdout+stderr


OnStart = Callable[[Task, str | None], None]  # (task, job id)
OnEnd = Callable[[Task, int | None, str | None], None]  # (task, return code, failure reason)


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Treat SIGTERM like Ctrl-C while builds run, so ``kill PID`` also stops children cleanly."""

    def _raise(signum, frame):
        raise KeyboardInterrupt

    try:
        old = signal.signal(signal.SIGTERM, _raise)
    except ValueError:  # not the main thread (e.g. a notebook worker): leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


@contextlib.contextmanager
def signals_ignored() -> Iterator[None]:
    """Keep a second Ctrl-C from aborting the clean-up of the first one."""
    try:
        old_int = signal.signal(signal.SIGINT, signal.SIG_IGN)
        old_term = signal.signal(signal.SIGTERM, signal.SIG_IGN)
    except ValueError:
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old_int)
        signal.signal(signal.SIGTERM, old_term)
