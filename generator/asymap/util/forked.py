"""Run pure numpy work on two cores: half of the items in a forked child process.

Why not threads: the planner's table building (asymap.partition.planner.build_problem) is many
small numpy calls, and the GIL lets two threads overlap little of it; a forked child shares the
parent's memory (the model, the layer options) without pickling inputs, and sends back only its
results. Answers never depend on the split: the child computes exactly what the parent would, and
if the child fails for any reason the parent computes those items itself.
"""

from __future__ import annotations

import gc
import os
import pickle
import signal
import sys
import warnings
from typing import Callable, Sequence, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def _can_fork() -> bool:
    """Linux, at least two CPUs for this process, and about one of them to spare (a 1-minute load
    average below the CPU count minus a half, which a run of plans one after another stays under
    on an idle machine: on a busy machine a second process only adds its overhead)."""
    if not (sys.platform.startswith("linux") and hasattr(os, "fork") and hasattr(os, "sched_getaffinity")):
        return False
    cpus = len(os.sched_getaffinity(0))
    return cpus >= 2 and os.getloadavg()[0] < cpus - 0.5


def map_two(fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
    """``[fn(x) for x in items]``, the odd-numbered items computed in a forked child when the
    machine has a CPU to spare (``_can_fork``; else all here, in order).

    ``fn`` must not print or write files (the child's output would interleave) and its results
    must pickle. The child exits with ``os._exit`` (no atexit handlers, no flushing of the
    parent's buffers). An exception in the parent's share kills the child and propagates;
    a failed child is redone here."""
    items = list(items)
    if len(items) < 2 or not _can_fork():
        return [fn(x) for x in items]
    theirs = list(range(1, len(items), 2))
    mine = list(range(0, len(items), 2))
    r, w = os.pipe()
    # Objects that exist now are left out of garbage collection while the child lives: a
    # collection touches every object it tracks, and each page it touches is copied (both
    # processes then pay for it).
    gc.freeze()
    try:
        with warnings.catch_warnings():  # Python >= 3.12 warns about fork() with other threads alive
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
    except OSError:  # no process to spare (EAGAIN, ENOMEM): all here
        gc.unfreeze()
        os.close(r)
        os.close(w)
        return [fn(x) for x in items]
    if pid == 0:  # the child: compute, send, exit without running the parent's cleanup
        code = 1
        try:
            os.close(r)
            signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C ends the child at once
            data = pickle.dumps([fn(items[i]) for i in theirs], protocol=pickle.HIGHEST_PROTOCOL)
            view = memoryview(data)
            while view:
                view = view[os.write(w, view):]
            code = 0
        except BaseException:  # noqa: BLE001 - the parent redoes the work
            pass
        finally:
            os._exit(code)
    os.close(w)
    out: list = [None] * len(items)
    try:
        for i in mine:
            out[i] = fn(items[i])
        chunks = []
        while True:
            b = os.read(r, 1 << 20)
            if not b:
                break
            chunks.append(b)
    except BaseException:
        os.close(r)
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        gc.unfreeze()
        raise
    os.close(r)
    _, status = os.waitpid(pid, 0)
    gc.unfreeze()
    got = None
    if status == 0:
        try:
            got = pickle.loads(b"".join(chunks))
        except Exception:  # noqa: BLE001 - redo below
            got = None
    if got is None or len(got) != len(theirs):
        got = [fn(items[i]) for i in theirs]
    for i, g in zip(theirs, got):
        out[i] = g
    return out
