"""`asymap build` really runs a board's several commands per step, in order, stopping at the first
failure, with stand-in tools (scripts named v++, vitis-run and vivado on PATH that log their
arguments and write the outputs the real tools would)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import onnx
import pytest

from asymap.codegen.project import generate
from asymap.frontend.zoo import build_zoo_model

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.csim

FAKE = """#!/bin/sh
# stand-in for {tool}: log the call, fail when asked to, write what the real tool would
echo "{tool} $*" >> "$FAKE_LOG"
case " $* " in *" $FAKE_FAIL "*) echo "{tool}: failing as asked" >&2; exit 7;; esac
if [ "{tool}" = vitis-run ]; then
    cfg=""; wd=""
    while [ $# -gt 0 ]; do case "$1" in --config) cfg="$2"; shift;; --work_dir) wd="$2"; shift;; esac; shift; done
    top=$(sed -n 's/^syn.top=//p' "$cfg"); mkdir -p "$wd"; touch "$wd/$top.xo"
fi
exit 0
"""


@pytest.fixture
def tree(tmp_path, monkeypatch) -> Path:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for tool in ("v++", "vitis-run", "vivado"):
        p = bindir / tool
        p.write_text(FAKE.format(tool=tool))
        p.chmod(p.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_LOG", str(tmp_path / "calls.log"))
    model = tmp_path / "tiny.onnx"
    onnx.save(build_zoo_model("tiny", input_size=16, width_mult=1.0, seed=0), str(model))
    plan = {"schema": 1, "boards": [
        {"name": "big", "first_layer": 0, "last_layer": 3,
         "layers": [{"index": i, "factors": {"pe": 2, "simd": 2}, "weights": "onchip"} for i in range(4)]},
        {"name": "small", "first_layer": 4, "last_layer": 8,
         "layers": [{"index": i, "factors": {"pe": 2, "simd": 2}, "weights": "onchip"} for i in range(4, 9)]}]}
    (tmp_path / "plan.json").write_text(json.dumps(plan))
    generate(model, ROOT / "clusters" / "pair2.yaml", tmp_path / "out", plan=tmp_path / "plan.json", quiet=True)
    return tmp_path / "out"


def _calls(tree: Path) -> list[str]:
    return (tree.parent / "calls.log").read_text().splitlines()


def test_export_runs_every_command_of_every_board(tree, run_cli):
    p = run_cli("build", tree, "--step", "export", "--jobs", "1")
    assert p.returncode == 0, p.stdout + p.stderr
    calls = _calls(tree)
    # big: its kernel, the mm2s mover, its link transport kernel; small: kernel, s2mm, transport.
    assert calls == [
        "vitis-run --mode hls --package --config hls_config.cfg --work_dir hls_big",
        "vitis-run --mode hls --package --config hls_config_mm2s.cfg --work_dir hls_mm2s",
        "vivado -mode batch -nojournal -source transport/package_asymap_xport_aurora_tx_w64.tcl",
        "vitis-run --mode hls --package --config hls_config.cfg --work_dir hls_small",
        "vitis-run --mode hls --package --config hls_config_s2mm.cfg --work_dir hls_s2mm",
        "vivado -mode batch -nojournal -source transport/package_asymap_xport_aurora_rx_w64.tcl",
    ]
    assert (tree / "big" / "hls_mm2s" / "asymap_mm2s.xo").is_file() and (tree / "small" / "hls_small" / "top_small.xo").is_file()
    st = json.loads((tree / "build.json").read_text())["boards"]
    assert st["big"]["export"]["state"] == "done" and st["big"]["export"]["command"][:2] == ["sh", "-c"]


def test_a_failing_command_stops_its_board_only(tree, run_cli, monkeypatch):
    monkeypatch.setenv("FAKE_FAIL", "hls_config_mm2s.cfg")
    p = run_cli("build", tree, "--step", "export", "--jobs", "1")
    assert p.returncode == 1 and "failed: big" in p.stdout, p.stdout + p.stderr
    calls = _calls(tree)
    assert not any("package_asymap_xport_aurora_tx" in c for c in calls)  # big stopped at the mover
    assert any("package_asymap_xport_aurora_rx" in c for c in calls)  # small ran to the end
    log = (tree / "big" / "logs" / "export.log").read_text()
    assert "vitis-run: failing as asked" in log
    st = json.loads((tree / "build.json").read_text())["boards"]
    assert st["big"]["export"]["returncode"] == 7 and st["small"]["export"]["state"] == "done"


@pytest.mark.slurm
@pytest.mark.xdist_group("slurm")
def test_export_through_slurm_runs_the_same_commands(slurm_cluster, tree, run_cli):
    p = run_cli("build", tree, "--step", "export", "--executor", "slurm", "--cpus", "1")
    assert p.returncode == 0, p.stdout + p.stderr
    calls = _calls(tree)
    # One array task per board, each running its three commands in order (boards may interleave).
    for board, mover, xport in (("big", "mm2s", "aurora_tx"), ("small", "s2mm", "aurora_rx")):
        mine = [c for c in calls if f"hls_{board}" in c or f"hls_{mover}" in c or xport in c]
        assert [c.split()[0] for c in mine] == ["vitis-run", "vitis-run", "vivado"], mine
    st = json.loads((tree / "build.json").read_text())["boards"]
    assert {b: (r["export"]["state"], r["export"]["executor"]) for b, r in st.items()} == \
        {"big": ("done", "slurm"), "small": ("done", "slurm")}
