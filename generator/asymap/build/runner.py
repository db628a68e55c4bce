"""``asymap build``: run one build step for every board of an output tree.

The runner decides *what* runs (which boards, which command, skipping up-to-date boards on
``--resume``), keeps ``OUT/build.json`` true after every event, and leaves *how* to an executor
(``local`` pool or ``slurm`` array). A failing board never stops the others; the result says whether
all succeeded. Nothing already built is ever deleted: logs of a re-run board are overwritten, its
Vitis work directory is left to Vitis.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from asymap.build.executor import Task, sigterm_as_interrupt
from asymap.build.state import BuildState, load_state, now_iso
from asymap.build.steps import STEPS, StepCommand, is_up_to_date, stamp_path, step_commands
from asymap.build.tools import require_tools
from asymap.build.tree import load_tree
from asymap.errors import UserError
from asymap.util.progress import status


@dataclass
class BuildResult:
    step: str
    state: BuildState
    ran: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    commands: dict[str, list[str]] = field(default_factory=dict)
    job_id: str | None = None

    @property
    def ok(self) -> bool:
        return not self.failed

    def as_dict(self) -> dict:
        boards = {}
        for b, steps in self.state.boards.items():
            r = steps.get(self.step)
            if r is not None:
                boards[b] = {"state": r.state, "returncode": r.returncode, "start": r.start, "end": r.end,
                             "log": r.log, "reason": r.reason}
        return {"step": self.step, "ok": self.ok, "ran": self.ran, "skipped": self.skipped,
                "failed": self.failed, "job_id": self.job_id, "boards": boards}


def _elapsed(start: str | None, end: str | None) -> str:
    if not start or not end:
        return ""
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    s = (datetime.strptime(end, fmt) - datetime.strptime(start, fmt)).total_seconds()
    return f" in {s:.0f} s"


def _one_argv(cmds: list[StepCommand], resolved: dict[str, str] | None = None) -> list[str]:
    """The argv a task runs: the command itself, or ``sh -c 'A && B ...'`` for a step of several
    commands (a board's kernel, its data movers and its transport kernels), stopping at the first
    failure so the step's log ends with the failing tool's output."""
    resolved = resolved or {}
    argvs = [c.full_argv(resolved.get(c.argv[0])) for c in cmds]
    if len(argvs) == 1:
        return argvs[0]
    return ["sh", "-c", " && ".join(shlex.join(a) for a in argvs)]


def build(
    out_dir: str | Path,
    step: str = "csynth",
    executor: str = "local",
    jobs: int | None = None,
    platform: str | dict[str, str] | None = None,
    tcl: bool = False,
    dry_run: bool = False,
    resume: bool = False,
    boards: list[str] | None = None,
    slurm_options=None,
    quiet: bool = False,
    print_fn=print,
) -> BuildResult:
    """Run ``step`` for every board of ``out_dir`` (or ``boards``); see the module docstring.

    ``platform``: one Vitis platform for every Vitis-flow board, or ``{board: platform, "*": default}``
    for a mixed cluster; boards not named use their deploy.json platform."""
    if step not in STEPS:
        raise UserError(f"unknown step {step!r}; choose one of {', '.join(STEPS)}")
    if executor not in ("local", "slurm"):
        raise UserError(f"unknown executor {executor!r}; choose local or slurm")
    tree = load_tree(out_dir)
    state = load_state(tree.root)
    selected = tree.boards if not boards else [tree.board(b) for b in boards]
    result = BuildResult(step=step, state=state)

    platforms = platform if isinstance(platform, dict) else ({"*": platform} if platform else {})
    for name in platforms:
        if name != "*":
            tree.board(name)  # a misspelt board in --platform NAME=P is an error, not silently ignored
    todo = []
    for b in selected:
        cmds = step_commands(step, b.top, b.dir, tcl=tcl, platforms=platforms, board=b.name)
        if not cmds:  # linked by another station of the same FPGA (deploy.json linked_by)
            status(f"{b.name}: {step} runs in the station that links its FPGA", quiet)
            continue
        if resume and is_up_to_date(b.dir, step):
            result.skipped.append(b.name)
            continue
        todo.append((b, cmds))

    tools_needed = sorted({t for _, cs in todo for c in cs for t in c.tools})
    if dry_run:
        for b, cmds in todo:
            for cmd in cmds:
                print_fn(f"cd {shlex.quote(str(b.dir))} && {shlex.join(cmd.full_argv())}")
            result.commands[b.name] = _one_argv(cmds)
        for name in result.skipped:
            print_fn(f"# {name}: up to date, skipped (--resume)")
        return result

    # Tool check on the submitting host: a Slurm build with a 'setup' line gets its tools on the node.
    remote_setup = executor == "slurm" and slurm_options is not None and getattr(slurm_options, "setup", None)
    resolved = {} if remote_setup else require_tools(tools_needed, step)
    if executor == "slurm" and todo:
        from asymap.build.slurm import check_controller

        check_controller()  # before build.json is touched: an unreachable cluster changes nothing

    tasks: list[Task] = []
    for b, cmds in todo:
        argv = _one_argv(cmds, resolved)
        log = b.dir / "logs" / f"{step}.log"
        tasks.append(Task(board=b.name, step=step, dir=b.dir, argv=argv, log=log))
        rec = state.record(b.name, step)
        rec.state, rec.command, rec.returncode, rec.start, rec.end = "pending", argv, None, None, None
        rec.log, rec.executor, rec.job_id, rec.reason = os.path.relpath(log, tree.root), executor, None, None
    for name in result.skipped:
        rec = state.record(name, step)
        if rec.state != "done":  # e.g. build.json was moved away: the stamp still proves success
            rec.state, rec.reason = "done", "up to date (--resume)"
    if tasks or result.skipped:
        state.save()

    def on_start(t: Task, job_id: str | None) -> None:
        rec = state.record(t.board, step)
        rec.state, rec.start, rec.job_id = "running", now_iso(), job_id
        # The old success no longer describes the outputs once the step rewrites them; a board that
        # never started keeps its stamp, so --resume still trusts its earlier, unchanged outputs.
        stamp_path(t.dir, step).unlink(missing_ok=True)
        state.save()
        status(f"{t.board}: {step} running" + (f" (job {job_id})" if executor == "slurm" and job_id else ""), quiet)

    def on_end(t: Task, rc: int | None, reason: str | None) -> None:
        rec = state.record(t.board, step)
        rec.returncode, rec.end = rc, now_iso()
        if rec.start is None:
            rec.start = rec.end
        if rc == 0 and reason is None:
            rec.state, rec.reason = "done", None
            stamp = stamp_path(t.dir, step)
            stamp.parent.mkdir(parents=True, exist_ok=True)
            stamp.write_text(f"{rec.end}\n")
            result.ran.append(t.board)
        else:
            rec.state, rec.reason = "failed", reason or "non-zero exit"
            result.failed.append(t.board)
        state.save()
        done = len(result.ran) + len(result.failed)
        status(f"[{done}/{len(tasks)}] {t.board}: {step} {rec.state}{_elapsed(rec.start, rec.end)}"
               + ("" if rec.state == "done" else f" ({rec.reason}, rc={rc}; see {t.log})"), quiet)

    if result.skipped:
        status(f"{len(result.skipped)} board(s) up to date, skipped: {', '.join(result.skipped)}", quiet)
    if not tasks:
        return result
    with sigterm_as_interrupt():
        if executor == "local":
            from asymap.build.local import run_local

            run_local(tasks, jobs or os.cpu_count() or 1, on_start, on_end)
        else:
            from asymap.build.slurm import SlurmOptions, run_slurm

            result.job_id = run_slurm(tasks, step, tree.root / ".build", slurm_options or SlurmOptions(),
                                      on_start, on_end)
    return result
