"""``OUT/build.json``: what every board's build is doing, true at every moment.

The file is rewritten atomically after every change (a board starts, a board ends, the user hits
Ctrl-C), so a crash or a kill never leaves a half-written file and a reader (a person, ``--resume``,
``asymap compare``) always sees the last true state. One record per board and step, because a board
can be C-simulated long before it is synthesized.

States: ``pending`` (not started), ``running``, ``done`` (exit code 0), ``failed`` (non-zero exit,
killed, or interrupted: ``reason`` says which). A board ``--resume`` finds up to date stays ``done``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from asymap import __version__
from asymap.errors import UserError
from asymap.util.fileio import atomic_write_text

BUILD_FILE = "build.json"
SCHEMA = 1
STATES = ("pending", "running", "done", "failed")


def now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class StepRecord:
    """One board's one step."""

    state: str = "pending"
    command: list[str] = field(default_factory=list)
    returncode: int | None = None
    start: str | None = None
    end: str | None = None
    log: str | None = None  # relative to OUT/
    executor: str | None = None
    job_id: str | None = None
    reason: str | None = None


@dataclass
class BuildState:
    path: Path
    boards: dict[str, dict[str, StepRecord]] = field(default_factory=dict)

    def record(self, board: str, step: str) -> StepRecord:
        return self.boards.setdefault(board, {}).setdefault(step, StepRecord())

    def to_json(self) -> str:
        doc = {
            "schema": SCHEMA,
            "asymap_version": __version__,
            "boards": {
                b: {s: asdict(r) for s, r in sorted(steps.items())} for b, steps in self.boards.items()
            },
        }
        return json.dumps(doc, indent=2, sort_keys=True) + "\n"

    def save(self) -> None:
        atomic_write_text(self.path, self.to_json())

    def summary(self, step: str) -> dict[str, int]:
        counts = {s: 0 for s in STATES}
        for steps in self.boards.values():
            if step in steps:
                counts[steps[step].state] += 1
        return counts


def load_state(out_dir: Path) -> BuildState:
    """Read ``OUT/build.json`` (empty state when absent); a corrupt file is a user error, never
    silently replaced, because it is the only record of what hours of builds did."""
    path = Path(out_dir) / BUILD_FILE
    state = BuildState(path=path)
    if not path.exists():
        return state
    fix = f"move it away (e.g. mv {path} {path}.bad) to start a fresh record; built outputs are kept"
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"{path}: corrupted ({type(exc).__name__}); {fix}") from None
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA or not isinstance(doc.get("boards"), dict):
        raise UserError(f"{path}: not an asymap build record (schema {SCHEMA}); {fix}")
    known = set(StepRecord.__dataclass_fields__)
    for board, steps in doc["boards"].items():
        if not isinstance(steps, dict):
            raise UserError(f"{path}: boards.{board} is not an object; {fix}")
        for step, rec in steps.items():
            if not isinstance(rec, dict) or rec.get("state") not in STATES or not set(rec) <= known:
                raise UserError(f"{path}: boards.{board}.{step} is not a valid step record; {fix}")
            state.boards.setdefault(board, {})[step] = StepRecord(**rec)
    return state
