"""The bounded dataflow simulation (hls/include/asymap/bounded_stream.h + dataflow.h) on a small
fork/join region: enough skip depth passes, one beat less deadlocks and is reported naming the
full and the empty streams, ASYMAP_FIFO_SLACK shrinks the depths, a starved reader is a deadlock
too, and the same source compiles as the ordinary sequential C-sim (macros empty)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from asymap.codegen.hlsinc import ap_types_dir, library_include_dir

pytestmark = pytest.mark.csim
SRC = Path(__file__).parent / "bounded" / "fork_join.cpp"
N = 100
SUM = sum(5 * i for i in range(N))  # join adds x and 4x (two doubling lag processes)


def _build(tmp_path: Path, bounded: bool) -> Path:
    inc = library_include_dir()
    exe = tmp_path / ("bounded" if bounded else "sequential")
    flags = ["-DASYMAP_BOUNDED_SIM", f"-I{inc / 'asymap' / 'bounded'}", "-pthread"] if bounded else []
    cmd = ["g++", "-std=c++14", "-O1", "-Wno-unknown-pragmas", *flags, f"-I{inc}", "-isystem", str(ap_types_dir()),
           str(SRC), "-o", str(exe)]
    p = subprocess.run(cmd, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr[-3000:]
    return exe


@pytest.fixture(scope="module")
def exe(tmp_path_factory):
    return _build(tmp_path_factory.mktemp("bsim"), True)


def _run(exe: Path, *args, slack: int = 0):
    env = {**os.environ, "ASYMAP_FIFO_SLACK": str(slack)}
    return subprocess.run([str(exe), *map(str, args)], capture_output=True, text=True, timeout=60, env=env)


def test_deep_enough_skip_passes_and_computes(exe):
    p = _run(exe, 64)
    assert p.returncode == 0 and f"SUM {SUM}" in p.stdout, p.stdout


def test_minimal_skip_depth_is_exact(exe):
    """Two lag-10 processes: the skip must hold 20 beats; 19 deadlocks. The report is one line
    naming the full skip FIFO and every stream a blocked reader waits on."""
    assert _run(exe, 20).returncode == 0
    p = _run(exe, 19)
    assert p.returncode == 3
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("DEADLOCK")]
    assert len(lines) == 1
    assert "full: skip (depth 19)" in lines[0]
    assert "empty: a, m, mid" in lines[0]
    assert "4 of 4 dataflow processes blocked" in lines[0]  # fork, lag, lag, join (nested region)


def test_slack_shrinks_every_depth(exe):
    assert _run(exe, 22, slack=2).returncode == 0
    p = _run(exe, 22, slack=3)
    assert p.returncode == 3 and "full: skip (depth 19 = 22 - 3)" in p.stdout


def test_starved_reader_is_a_deadlock(exe):
    p = _run(exe, 64, N - 1)  # the testbench provides one beat too few
    assert p.returncode == 3
    assert "full: none; empty: a, m, mid, x" in p.stdout


def test_sequential_build_ignores_depths(tmp_path):
    """Without ASYMAP_BOUNDED_SIM the macros are empty: the plain C-sim runs the processes in
    order over unbounded streams, so even a 1-deep skip 'works' -- which is why verify uses the
    bounded build."""
    seq = _build(tmp_path, False)
    p = subprocess.run([str(seq), "1"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and f"SUM {SUM}" in p.stdout
