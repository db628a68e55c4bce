"""Fixtures of the CLI tests: a tiny seeded model and a planned copy of the pair2 cluster."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def tiny(tmp_path, run_cli):
    """tmp_path with tiny.onnx, pair2.yaml (a copy) and plan.json made by 'asymap plan'."""
    run_cli("zoo", "tiny", "--input-size", "32", "--width-mult", "0.5", "-o", "tiny.onnx", "-q", check=True)
    shutil.copy(ROOT / "clusters" / "pair2.yaml", tmp_path / "pair2.yaml")
    run_cli("plan", "tiny.onnx", "pair2.yaml", "-o", "plan.json", "-q", check=True)
    return tmp_path
