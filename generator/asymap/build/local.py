"""Local executor: a bounded pool of subprocesses, one per board.

Each board's command runs in its own session (process group) so that Ctrl-C can stop the whole
tree a tool spawns (make -> g++ -> cc1plus, or vitis_hls -> its Java and C children) and nothing is
left running behind the user's back. The pool is driven by polling from the calling thread, which
keeps every build.json update on one thread.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections import deque

from asymap.build.executor import OnEnd, OnStart, Task, signals_ignored

TERM_GRACE_S = 5.0


def _stop(procs: dict[Task, subprocess.Popen]) -> dict[Task, int | None]:
    """SIGTERM every child's process group, then SIGKILL what is still alive after a grace period."""
    for p in procs.values():
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + TERM_GRACE_S
    codes: dict[Task, int | None] = {}
    for t, p in procs.items():
        try:
            codes[t] = p.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            codes[t] = p.wait()
        # The leader may be gone while grandchildren linger in the group: make sure of them too.
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return codes


def run_local(tasks: list[Task], jobs: int, on_start: OnStart, on_end: OnEnd, poll_s: float = 0.05) -> None:
    pending = deque(tasks)
    running: dict[Task, subprocess.Popen] = {}
    try:
        while pending or running:
            while pending and len(running) < max(1, jobs):
                t = pending.popleft()
                t.log.parent.mkdir(parents=True, exist_ok=True)
                with open(t.log, "wb") as logf:
                    try:
                        p = subprocess.Popen(
                            t.argv, cwd=t.dir, stdout=logf, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True,
                        )
                    except OSError as exc:
                        logf.write(f"asymap: cannot start {t.argv[0]}: {exc}\n".encode())
                        on_start(t, None)
                        on_end(t, 127, f"cannot start: {exc.strerror or exc}")
                        continue
                running[t] = p
                on_start(t, str(p.pid))
            for t, p in list(running.items()):
                rc = p.poll()
                if rc is not None:
                    del running[t]
                    on_end(t, rc, None if rc == 0 else ("killed by signal" if rc < 0 else "non-zero exit"))
            if running:
                time.sleep(poll_s)
    except KeyboardInterrupt:
        with signals_ignored():
            codes = _stop(running)
            for t, rc in codes.items():
                on_end(t, rc, "interrupted")
        raise
