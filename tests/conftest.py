"""Shared fixtures. Stage-specific fixtures live in the stage's own tests/<stage>/conftest.py."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture
def run_cli(tmp_path):
    """Run ``asymap ARGS`` in a subprocess, as a user would; returns CompletedProcess."""

    def _run(*args: str, cwd: Path | None = None, check: bool = False, timeout: float = 600):
        exe = shutil.which("asymap", path=str(Path(sys.executable).parent)) or "asymap"
        proc = subprocess.run(
            [exe, *map(str, args)],
            cwd=cwd or tmp_path,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, "PYTHONHASHSEED": "0"},
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"asymap {' '.join(map(str, args))} failed:\n{proc.stdout}\n{proc.stderr}")
        return proc

    return _run


def _assert_user_error(proc, *fragments: str) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    for frag in fragments:
        assert frag in lines[0], (frag, lines[0])


@pytest.fixture
def assert_user_error():
    """``assert_user_error(proc, *fragments)``: exit code 2, exactly one stderr line containing
    every fragment (the file/node/key at fault), and no traceback."""
    return _assert_user_error
