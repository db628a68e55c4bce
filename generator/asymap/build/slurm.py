"""Slurm executor: one job array, one array task per board.

The batch script (written to ``OUT/.build/<step>.sbatch``, kept for the user to read or resubmit)
maps ``SLURM_ARRAY_TASK_ID`` to a board directory, sends the step's output to that board's
``logs/<step>.log`` and records the exit code in ``<board>/.build/<step>.rc``. The submitting
process polls ``squeue`` and ``scontrol show job`` (``sacct`` needs an accounting plugin many lab
clusters lack), reports each task as it starts and ends, and on Ctrl-C cancels the array with
``scancel`` and waits until Slurm confirms the tasks are gone, so build.json stays true.

Per-task resources come from the ``build:`` section of the cluster YAML (``cpus``, ``mem``,
``time``, ``partition``, ``account``, ``setup``: a shell line such as ``source .../settings64.sh``
run before the step on the compute node; ``mem_gb`` is accepted for ``mem``; an integer ``time`` is
minutes, as in Slurm) or from the command line.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from asymap.build.executor import OnEnd, OnStart, Task, signals_ignored
from asymap.errors import UserError
from asymap.util.fileio import atomic_write_text

TERMINAL = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY", "PREEMPTED",
            "BOOT_FAIL", "DEADLINE", "REVOKED", "SPECIAL_EXIT"}
ACTIVE = {"PENDING", "RUNNING", "CONFIGURING", "COMPLETING", "SUSPENDED", "REQUEUED", "RESIZING", "STOPPED",
          "SIGNALING", "STAGE_OUT", "REQUEUE_HOLD", "REQUEUE_FED", "RESV_DEL_HOLD"}


@dataclass(frozen=True)
class SlurmOptions:
    cpus: int | None = None
    mem: str | None = None  # Slurm syntax: 8G, 16000M
    time: str | None = None  # Slurm syntax: 04:00:00, 1-00:00:00
    partition: str | None = None
    account: str | None = None
    setup: str | None = None

    @classmethod
    def from_build_section(cls, section: dict | None, where: str) -> "SlurmOptions":
        """Read the cluster YAML's ``build:`` section; unknown keys are a user error (typos would
        otherwise silently submit 4-hour jobs with the default 1 CPU)."""
        if not section:
            return cls()
        if not isinstance(section, dict):
            raise UserError(f"{where}: 'build' must be a mapping with keys cpus, mem, time, partition, account, setup")
        allowed = {"cpus", "mem", "mem_gb", "time", "partition", "account", "setup", "jobs"}
        unknown = sorted(set(section) - allowed)
        if unknown:
            raise UserError(f"{where}: build.{unknown[0]} is not a known key; use {', '.join(sorted(allowed))}")
        cpus = section.get("cpus")
        if cpus is not None and (not isinstance(cpus, int) or isinstance(cpus, bool) or cpus < 1):
            raise UserError(f"{where}: build.cpus must be a positive integer, got {cpus!r}")
        def _s(key):
            v = section.get(key)
            return None if v is None else str(v)
        mem = _s("mem")
        if mem is None and section.get("mem_gb") is not None:
            gb = section["mem_gb"]
            if isinstance(gb, bool) or not isinstance(gb, (int, float)) or gb <= 0:
                raise UserError(f"{where}: build.mem_gb must be a positive number, got {gb!r}")
            mem = f"{int(round(gb * 1024))}M"
        return cls(cpus=cpus, mem=mem, time=_s("time"), partition=_s("partition"), account=_s("account"),
                   setup=_s("setup"))

    def merged(self, **cli) -> "SlurmOptions":
        """Command-line values win over the YAML's."""
        vals = {k: getattr(self, k) for k in self.__dataclass_fields__}
        vals.update({k: v for k, v in cli.items() if v is not None})
        return SlurmOptions(**vals)

    def sbatch_args(self) -> list[str]:
        args = []
        if self.cpus:
            args.append(f"--cpus-per-task={self.cpus}")
        if self.mem:
            args.append(f"--mem={self.mem}")
        if self.time:
            args.append(f"--time={self.time}")
        if self.partition:
            args.append(f"--partition={self.partition}")
        if self.account:
            args.append(f"--account={self.account}")
        return args


def _slurm_tool(name: str) -> str:
    path = shutil.which(name)
    if not path:
        raise UserError(f"'{name}' not found on PATH; install the Slurm client (apt-get install slurm-client) or use --executor local")
    return path


def _run(argv: list[str], timeout: float = 60) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise UserError(f"'{' '.join(argv[:3])}' did not answer within {timeout:.0f} s; is the Slurm controller reachable? (check 'scontrol ping', SLURM_CONF)") from None


def check_controller() -> None:
    """Fail early, with one line, when the controller cannot be reached (nothing submitted yet)."""
    proc = _run([_slurm_tool("scontrol"), "ping"], timeout=60)
    if proc.returncode != 0 or " is UP" not in proc.stdout:
        detail = (proc.stdout.strip().splitlines() or proc.stderr.strip().splitlines() or ["no answer"])[-1]
        raise UserError(f"Slurm controller unreachable ({detail.strip()}); check that slurmctld runs and SLURM_CONF points at its slurm.conf, or use --executor local")


def batch_script(tasks: list[Task], step: str, setup: str | None) -> str:
    """The array job's script. Board paths are quoted, never interpolated raw into the shell."""
    lines = [
        "#!/bin/bash",
        f"# asymap build --step {step}: one array task per board (generated; safe to resubmit).",
        "BOARD_DIRS=(",
        *[f"  {shlex.quote(str(t.dir))}" for t in tasks],
        ")",
        "LOGS=(",
        *[f"  {shlex.quote(str(t.log))}" for t in tasks],
        ")",
        'i="${SLURM_ARRAY_TASK_ID:?not an array task}"',
        'cd "${BOARD_DIRS[$i]}" || exit 97',
        'mkdir -p "$(dirname "${LOGS[$i]}")" .build',
        f"rm -f .build/{step}.rc",
        'exec >"${LOGS[$i]}" 2>&1',
        'echo "asymap: $(hostname) job ${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID} in $PWD"',
    ]
    if setup:
        lines.append(setup)
    argv_lines = []
    for t in tasks:
        argv_lines.append(f"  {shlex.quote(shlex.join(t.argv))}")
    lines += ["CMDS=(", *argv_lines, ")", 'eval "${CMDS[$i]}"', "rc=$?",
              f'echo "$rc" > .build/{step}.rc', 'exit "$rc"', ""]
    return "\n".join(lines)


def submit(script_path: Path, n: int, opts: SlurmOptions, job_name: str) -> str:
    sbatch = _slurm_tool("sbatch")
    out_pattern = str(script_path.parent / "slurm-%A_%a.out")
    argv = [sbatch, "--parsable", f"--array=0-{n - 1}", f"--job-name={job_name}", f"--output={out_pattern}",
            f"--chdir={script_path.parent}", *opts.sbatch_args(), str(script_path)]
    proc = _run(argv, timeout=120)
    if proc.returncode != 0:
        msg = (proc.stderr.strip().splitlines() or ["sbatch failed"])[-1]
        raise UserError(f"sbatch refused the job ({msg.strip()}); check the build: section of the cluster YAML and 'scontrol ping'")
    job = proc.stdout.strip().split(";")[0]
    if not job.isdigit():
        raise UserError(f"sbatch returned an unexpected job id {proc.stdout.strip()!r}")
    return job


_KV = re.compile(r"(\w[\w/:]*)=(\S*)")


def _expand(ids: str) -> list[int]:
    """'0-3,5%2' -> [0, 1, 2, 3, 5] (Slurm's compressed array-task list)."""
    ids = ids.split("%")[0]
    out = []
    for part in ids.split(","):
        if "-" in part:
            a, b = part.split("-", 1)
            out.extend(range(int(a), int(b) + 1))
        elif part.isdigit():
            out.append(int(part))
    return out


def query_tasks(job: str) -> dict[int, dict[str, str]] | None:
    """Array task index -> scontrol fields (JobState, ExitCode, ...); None when Slurm has forgotten
    the job (purged after MinJobAge) so the caller falls back to squeue and the .rc files."""
    proc = _run([_slurm_tool("scontrol"), "show", "job", "-o", job])
    if proc.returncode != 0:
        if "Invalid job id" in proc.stderr:
            return None
        raise UserError(f"scontrol show job {job} failed ({proc.stderr.strip()}); is the Slurm controller reachable?")
    tasks: dict[int, dict[str, str]] = {}
    for line in proc.stdout.splitlines():
        fields = dict(_KV.findall(line))
        if fields.get("ArrayJobId") != job or "ArrayTaskId" not in fields:
            continue
        for idx in _expand(fields["ArrayTaskId"]):
            tasks[idx] = fields
    return tasks


def squeue_active(job: str) -> set[int]:
    proc = _run([_slurm_tool("squeue"), "-h", "-r", "-j", job, "-o", "%K"])
    if proc.returncode != 0:
        return set()
    return {int(x) for x in proc.stdout.split() if x.isdigit()}


def _exit_code(fields: dict[str, str]) -> int | None:
    code = fields.get("ExitCode", "")
    m = re.match(r"(\d+):(\d+)", code)
    if not m:
        return None
    rc, sig = int(m.group(1)), int(m.group(2))
    return -sig if sig else rc


def _read_rc(t: Task) -> int | None:
    try:
        return int((t.dir / ".build" / f"{t.step}.rc").read_text().strip())
    except (OSError, ValueError):
        return None


def poll_interval(elapsed_s: float, max_s: float = 30.0) -> float:
    """1 s at first (short test builds stay snappy), growing to ``max_s`` after ~10 minutes so a
    12-hour synthesis does not hammer slurmctld with one query per second."""
    return min(max_s, 1.0 + elapsed_s / 20.0)


def run_slurm(tasks: list[Task], step: str, build_dir: Path, opts: SlurmOptions, on_start: OnStart, on_end: OnEnd) -> str:
    """Submit the array, follow it to the end; returns the job id."""
    check_controller()
    build_dir.mkdir(parents=True, exist_ok=True)
    script = build_dir / f"{step}.sbatch"
    atomic_write_text(script, batch_script(tasks, step, opts.setup))
    script.chmod(0o755)
    for t in tasks:
        (t.dir / ".build" / f"{step}.rc").unlink(missing_ok=True)
    job = submit(script, len(tasks), opts, f"asymap-{step}")
    t0 = time.monotonic()
    started: set[int] = set()
    ended: set[int] = set()

    def _finish(i: int, fields: dict[str, str] | None, reason: str | None = None) -> None:
        t = tasks[i]
        if i not in started:
            on_start(t, f"{job}_{i}")
            started.add(i)
        rc = _read_rc(t)
        if rc is None and fields is not None:
            rc = _exit_code(fields)
        state = fields.get("JobState") if fields else None
        if reason is None and (rc != 0 or state not in (None, "COMPLETED")):
            reason = f"slurm {state.lower()}" if state and state != "COMPLETED" else "non-zero exit"
        on_end(t, rc, reason)
        ended.add(i)

    try:
        while len(ended) < len(tasks):
            info = query_tasks(job)
            if info is None:  # purged: whatever squeue no longer lists has ended
                active = squeue_active(job)
                for i in range(len(tasks)):
                    if i not in ended and i not in active:
                        _finish(i, None)
            else:
                for i, fields in sorted(info.items()):
                    if i >= len(tasks) or i in ended:
                        continue
                    st = fields.get("JobState", "")
                    if st in TERMINAL:
                        _finish(i, fields)
                    elif st != "PENDING" and i not in started:
                        on_start(tasks[i], f"{job}_{i}")
                        started.add(i)
            if len(ended) < len(tasks):
                time.sleep(poll_interval(time.monotonic() - t0))
    except KeyboardInterrupt:
        with signals_ignored():
            subprocess.run([_slurm_tool("scancel"), job], capture_output=True, timeout=60)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                info = query_tasks(job)
                if info is None or all(f.get("JobState") in TERMINAL for i, f in info.items() if i not in ended):
                    break
                time.sleep(0.5)
            for i in range(len(tasks)):
                if i not in ended:
                    fields = (info or {}).get(i)
                    if fields and fields.get("JobState") == "COMPLETED" and _read_rc(tasks[i]) == 0:
                        _finish(i, fields)  # finished just before the cancel reached it
                    else:
                        if i not in started:
                            # never ran: leave it pending by reporting nothing
                            continue
                        on_end(tasks[i], _read_rc(tasks[i]), "interrupted")
                        ended.add(i)
        raise
    return job
