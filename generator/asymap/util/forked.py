"""Run pure numpy work on two cores: the items shared out between this process and a forked child.

Why not threads: the planner's table building (asymap.partition.planner.build_problem) is many
small numpy calls, and the GIL lets two threads overlap little of it; a forked child shares the
parent's memory (the model, the layer options) without pickling inputs, and sends back only its
results. Answers never depend on the split: the child computes exactly what the parent would, and
if the child fails for any reason the parent computes those items itself.

Why a shared queue, not a fixed half each: the planner's jobs differ in size (a four-SLR U250
board type costs about twice a one-SLR ZC706), so fixed halves left one process idle for a third
of the time. Both processes take the next item number from one pipe, written whole before the
fork (a read of one item number is atomic: every read takes exactly ``_WORD`` bytes of a pipe
holding a whole number of them); the caller lists the largest items first.

Why the child's arrays come back through shared memory: the planner's results are tens of MB of
numpy tables. Sent whole through the results pipe they crossed only once the parent had finished
its own share (a copy into the pipe, one out of it, one more to unpickle: ~0.08 s of the parent's
wall time for ResNet-152 on example16). Instead the child pickles each result out of band
(pickle protocol 5), copies the arrays' bytes into an anonymous shared mapping made before the
fork as soon as each result is ready, and sends only the small pickle stream with the arrays'
places; the parent's arrays are views of that mapping (no copy; the mapping lives while they do).
Only the pages written are ever backed by memory; what does not fit goes in band as before.
"""

from __future__ import annotations

import gc
import io
import mmap
import os
import pickle
import signal
import sys
import warnings
from typing import Callable, Sequence, TypeVar

T = TypeVar("T")
R = TypeVar("R")

_WORD = 2  # bytes per item number in the queue pipe
MAX_ITEMS = 16_384  # item numbers that fit one pipe buffer (64 KiB on Linux) written before the fork
SHARED_BYTES = 1 << 30  # address space of the shared mapping for the child's arrays (pages used: only those written)
_ALIGN = 64  # each array's bytes start at a multiple of this in the mapping (cache lines, numpy alignment)


_LOADAVG = "/proc/loadavg"


def _can_fork() -> bool:
    """Linux, at least two CPUs for this process, and one of them to spare: a 1-minute load
    average below the CPU count minus a half, or, right now, fewer runnable threads than CPUs
    (this one included: /proc/loadavg's fourth field). On a busy machine a second process only
    adds its overhead. Why both: the average lags by a minute, so on an idle machine the plans
    or benchmarks that just ran keep it above the mark (at 2.2 on two CPUs no plan forked), while
    the count says what runs now; it is only a snapshot, so the queue (a child that gets no CPU
    delays at most the one item it took) keeps a wrong guess cheap."""
    if not (sys.platform.startswith("linux") and hasattr(os, "fork") and hasattr(os, "sched_getaffinity")):
        return False
    cpus = len(os.sched_getaffinity(0))
    return cpus >= 2 and (os.getloadavg()[0] < cpus - 0.5 or _runnable() < cpus)


def _runnable() -> int:
    """Threads runnable on the machine right now, this one included (a large number if unknown)."""
    try:
        with open(_LOADAVG) as f:
            return int(f.read().split()[3].split("/")[0])
    except (OSError, ValueError, IndexError):
        return 1 << 30


def _widen(fd: int) -> None:
    """Let the results pipe hold 1 MiB (Linux's default limit; 64 KiB otherwise): the child's
    megabytes of tables then cross in a few dozen writes, not hundreds of wake-ups of the two
    processes in turn (each one a wait for a time slice on a busy machine)."""
    try:
        import fcntl

        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, 1 << 20)
    except (ImportError, AttributeError, OSError):
        pass  # a smaller pipe only costs time


def _take(fd: int) -> int | None:
    """The next item number from the queue pipe, None when it is empty (closed for writing)."""
    b = os.read(fd, _WORD)
    return int.from_bytes(b, "little") if b else None


def _shared_area() -> mmap.mmap | None:
    """An anonymous shared mapping of ``SHARED_BYTES`` (MAP_SHARED: the child's writes are seen by
    the parent), or None if the system refuses one (then everything goes through the pipe)."""
    try:
        return mmap.mmap(-1, SHARED_BYTES)
    except (OSError, ValueError, OverflowError):
        return None


class _OutOfBand:
    """The child's side of the shared mapping: ``pack`` pickles a result with its contiguous
    buffers (numpy arrays' data) copied into the mapping, in band where the mapping is full."""

    def __init__(self, area: mmap.mmap | None):
        self.view = memoryview(area) if area is not None else None
        self.pos = 0

    def pack(self, obj) -> bytes:
        spans: list[tuple[int, int]] = []

        def place(buf: pickle.PickleBuffer) -> bool:  # False: out of band (in the mapping)
            raw = buf.raw()
            start = -(-self.pos // _ALIGN) * _ALIGN
            if self.view is None or start + raw.nbytes > len(self.view):
                return True
            self.view[start : start + raw.nbytes] = raw
            spans.append((start, raw.nbytes))
            self.pos = start + raw.nbytes
            return False

        data = pickle.dumps(obj, protocol=5, buffer_callback=place)
        return pickle.dumps((data, spans), protocol=pickle.HIGHEST_PROTOCOL)


def _unpack(stream: io.BytesIO, area: mmap.mmap | None):
    """The next result ``_OutOfBand.pack`` wrote: its arrays are views of ``area``."""
    data, spans = pickle.load(stream)
    if not spans:
        return pickle.loads(data)
    view = memoryview(area)
    return pickle.loads(data, buffers=[view[a : a + n] for a, n in spans])


def map_two(fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
    """``[fn(x) for x in items]``, shared out between this process and a forked child when the
    machine has a CPU to spare (``_can_fork``; else all here, in order). Each process takes the
    next item in list order when it is free, so list the largest first.

    ``fn`` must not print or write files (the child's output would interleave) and its results
    must pickle. The child exits with ``os._exit`` (no atexit handlers, no flushing of the
    parent's buffers). An exception in the parent's share (KeyboardInterrupt too) kills the child
    and propagates; the child's share is redone here if the child fails."""
    items = list(items)
    if len(items) < 2 or len(items) > MAX_ITEMS or not _can_fork():
        return [fn(x) for x in items]
    q_r, q_w = os.pipe()
    try:
        os.write(q_w, b"".join(i.to_bytes(_WORD, "little") for i in range(len(items))))
    finally:
        os.close(q_w)  # (the queue is complete: an empty read means no item is left)
    r, w = os.pipe()
    _widen(w)
    area = _shared_area()
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
        for fd in (q_r, r, w):
            os.close(fd)
        if area is not None:
            area.close()
        return [fn(x) for x in items]
    if pid == 0:  # the child: compute, send, exit without running the parent's cleanup
        code = 1
        try:
            os.close(r)
            signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C ends the child at once
            done = []  # each result pickled as soon as it is computed (the last one only is late)
            oob = _OutOfBand(area)
            while (i := _take(q_r)) is not None:
                done.append(oob.pack((i, fn(items[i]))))
            for data in done:
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
    have = [False] * len(items)
    try:
        while (i := _take(q_r)) is not None:
            out[i], have[i] = fn(items[i]), True
        chunks = []
        while b := os.read(r, 1 << 20):
            chunks.append(b)
    except BaseException:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        gc.unfreeze()
        raise
    finally:
        os.close(q_r)
        os.close(r)
    _, status = os.waitpid(pid, 0)
    gc.unfreeze()
    got: list = []
    if status == 0:
        try:
            stream = io.BytesIO(b"".join(chunks))
            while stream.tell() < len(stream.getbuffer()):
                got.append(_unpack(stream, area))
        except Exception:  # noqa: BLE001 - redone below
            got = []
    for i, v in got:
        if not have[i]:
            out[i], have[i] = v, True
    for i, ok in enumerate(have):  # a failed child's items (its last one, or all it sent)
        if not ok:
            out[i] = fn(items[i])
    return out
