"""A second core for the exact inner solve (planner._tighten): a forked helper settles the second
half of each witness's segments while the planner settles the first half, and sends back the
knapsack answers it found.

Why answers and not results: a settle's outcome depends on everything settled before it (the
tables, each knapsack's memos), which the helper does not share, so it cannot stand in for the
planner's own settle. A knapsack question's answer does not: ``_Knapsack._fits`` is a function of
the layers' options, T, the budget and whether work is counted, and ``_Knapsack.shared`` keeps
each answer with the work it spent, which a repeat spends again. The planner merges the helper's
answers into ``shared`` (keys that match exactly) and then asks its own questions as always: an
answer found there is the one it would have computed, at the same cost, so every plan, bound and
give-up is the serial one whatever the helper managed to do, and whenever (the tests compare).
Without fork, with no CPU to spare (util.forked._can_fork) or if the helper dies, the planner
just computes everything itself.
"""

from __future__ import annotations

import gc
import os
import pickle
import select
import signal
import warnings
from itertools import islice
from typing import Callable

from asymap.partition.segments import Work


def _send(fd: int, obj) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    view = memoryview(len(data).to_bytes(4, "little") + data)
    while view:
        view = view[os.write(fd, view):]


def _read_exact(fd: int, n: int) -> bytes | None:
    out = b""
    while len(out) < n:
        b = os.read(fd, n - len(out))
        if not b:
            return None
        out += b
    return out


def _recv(fd: int):
    """The next message (blocking), or None at end of file."""
    head = _read_exact(fd, 4)
    if head is None:
        return None
    body = _read_exact(fd, int.from_bytes(head, "little"))
    return None if body is None else pickle.loads(body)


class SettleHelper:
    """The planner's end of the helper process: ``ask`` hands it segments to settle, ``drain``
    merges what it has sent back so far (never waits), ``close`` ends it."""

    def __init__(self, pid: int, cmd: int, res: int, knapsack: Callable):
        self.pid, self.cmd, self.res, self.knapsack = pid, cmd, res, knapsack
        self.buf = b""
        self.alive = True

    @classmethod
    def start(cls, pb, settle: Callable, knapsacks: Callable, knapsack: Callable,
              can_fork: Callable[[], bool] | None = None) -> "SettleHelper | None":
        """Fork the helper over ``pb`` as it stands, or None (no fork, or no CPU to spare).
        ``settle(pb, t, j, v, work, upto)`` is planner._settle; ``knapsacks(pb)`` lists
        ((type, width, mode), _Knapsack) of the knapsacks built so far; ``knapsack(t, w, md)``
        the planner's knapsack (built if need be)."""
        from asymap.util.forked import _can_fork

        if not hasattr(os, "fork") or not (can_fork or _can_fork)():
            return None
        cmd_r, cmd_w = os.pipe()
        res_r, res_w = os.pipe()
        gc.freeze()  # (as util.forked.map_two: a collection would copy every page it touches)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                pid = os.fork()
        except OSError:
            gc.unfreeze()
            for fd in (cmd_r, cmd_w, res_r, res_w):
                os.close(fd)
            return None
        if pid == 0:
            code = 1
            try:
                os.close(cmd_w)
                os.close(res_r)
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                _serve(pb, settle, knapsacks, cmd_r, res_w)
                code = 0
            except BaseException:  # noqa: BLE001 - the planner computes what is missing itself
                pass
            finally:
                os._exit(code)
        os.close(cmd_r)
        os.close(res_w)
        os.set_blocking(res_r, False)
        return cls(pid, cmd_w, res_r, knapsack)

    def ask(self, items: list, per: int) -> None:
        """Settle ``items`` [(type, start, target, end)] with ``per`` work each, in this order,
        dropping whatever the helper had not reached yet of the last request."""
        if not self.alive or not items:
            return
        try:
            _send(self.cmd, (items, per))
        except OSError:
            self.alive = False

    def drain(self) -> None:
        """Merge every complete message the helper has sent into the planner's knapsacks."""
        while self.alive:
            try:
                b = os.read(self.res, 1 << 20)
            except BlockingIOError:
                break
            except OSError:
                b = b""
            if not b:
                self.alive = False
                break
            self.buf += b
        buf = self.buf
        while len(buf) >= 4:
            n = int.from_bytes(buf[:4], "little")
            if len(buf) < 4 + n:
                break
            for (t, w, md), entries in pickle.loads(buf[4 : 4 + n]):
                shared = self.knapsack(t, w, md).shared
                for key, got in entries:
                    shared.setdefault(key, got)
            buf = buf[4 + n :]
        self.buf = buf

    def close(self) -> None:
        for fd in (self.cmd, self.res):
            try:
                os.close(fd)
            except OSError:
                pass
        try:
            os.kill(self.pid, signal.SIGKILL)
        except OSError:
            pass
        try:
            os.waitpid(self.pid, 0)
        except OSError:
            pass
        gc.unfreeze()
        self.alive = False


def _serve(pb, settle: Callable, knapsacks: Callable, cmd: int, res: int) -> None:
    """The helper: settle what it is asked (a newer request replaces what is left of the last),
    and after each settle send the knapsack answers it added."""
    sent = {key3: len(ks.shared) for key3, ks in knapsacks(pb)}  # (what the planner has already)
    todo: list = []
    per = 0
    while True:
        if not todo or select.select([cmd], [], [], 0)[0]:
            msg = _recv(cmd)
            if msg is None:
                return
            todo, per = list(msg[0]), msg[1]
            continue
        t, j, v, k = todo.pop(0)
        settle(pb, t, j, v, Work(per), k)
        out = []
        for key3, ks in knapsacks(pb):
            n0 = sent.get(key3, 0)
            if len(ks.shared) > n0:
                out.append((key3, list(islice(ks.shared.items(), n0, None))))
                sent[key3] = len(ks.shared)
        if out:
            _send(res, out)
