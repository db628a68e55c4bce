"""Progress display for long work, silenced by ``--quiet``.

Progress goes to stderr (stdout stays clean for ``--json`` and tables) and is shown only on a
terminal, so logs and CI output are not filled with redraws.
"""

from __future__ import annotations

import contextlib
import sys
from typing import Iterable, Iterator, TypeVar

T = TypeVar("T")


def track(items: Iterable[T], description: str, total: int | None = None, quiet: bool = False) -> Iterator[T]:
    """Yield ``items`` while showing a rich progress bar on stderr (unless quiet or not a TTY)."""
    if quiet or not sys.stderr.isatty():
        yield from items
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as prog:
        task = prog.add_task(description, total=total)
        for item in items:
            yield item
            prog.advance(task)


def status(message: str, quiet: bool = False) -> None:
    """One line of progress text on stderr."""
    if not quiet:
        print(message, file=sys.stderr, flush=True)


@contextlib.contextmanager
def step(description: str, quiet: bool = False) -> Iterator[None]:
    """A transient status line (a spinner and the description) on stderr while the body runs.

    Shown only on a terminal, like :func:`track`, and erased when the body ends -- also when it
    raises, so an error message that follows starts on a clean line and stays the only line a user
    sees (logs, pipes and the one-line-error tests get nothing at all)."""
    if quiet or not sys.stderr.isatty():
        yield
        return
    from rich.console import Console

    with Console(stderr=True).status(description, spinner="line"):
        yield


def stepper(quiet: bool = False):
    """``step`` with ``quiet`` bound: what a library function takes to announce its own steps."""
    return lambda description: step(description, quiet)
