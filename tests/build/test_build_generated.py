"""asymap build on a real 'asymap generate' tree (tiny CNN on two boards): the csim step (g++),
a real build step of the same projects Vitis would synthesize, locally and through Slurm."""

from __future__ import annotations

import json
import re
from pathlib import Path

import onnx
import pytest

from asymap.codegen.project import generate
from asymap.frontend.zoo import build_zoo_model

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.csim


def _generated(d: Path, name: str) -> Path:
    model = d / "tiny.onnx"
    if not model.exists():
        onnx.save(build_zoo_model("tiny", input_size=32, width_mult=1.0, seed=0), str(model))
    plan = {"schema": 1, "boards": [
        {"name": "big", "first_layer": 0, "last_layer": 3,
         "layers": [{"index": i, "factors": {"pe": 2, "simd": 2}, "weights": "onchip"} for i in range(0, 4)]},
        {"name": "small", "first_layer": 4, "last_layer": 8,
         "layers": [{"index": i, "factors": {"pe": 2, "simd": 2}, "weights": "onchip"} for i in range(4, 9)]}],
        "links": [{"from": "big", "to": "small", "width_bits": 64}]}
    (d / "plan.json").write_text(json.dumps(plan))
    out = d / name
    generate(model, ROOT / "clusters" / "pair2.yaml", out, plan=d / "plan.json", quiet=True)
    return out


def _outcome(out: Path) -> dict:
    st = json.loads((out / "build.json").read_text())["boards"]
    return {b: (r["csim"]["state"], r["csim"]["returncode"]) for b, r in st.items()}


def _sim_lines(log: Path) -> list[str]:
    """What the testbench printed (its KEYWORD lines; compiler output is not compared)."""
    return [ln for ln in log.read_text().splitlines() if re.match(r"(RX_STATUS|LINK_OUT|TENSOR|TX_CHECK|RESULT) ", ln)]


def test_generated_tree_csim_locally_catches_a_bad_vector(tmp_path, run_cli):
    out = _generated(tmp_path, "out")
    p = run_cli("build", out, "--step", "csim", "--jobs", "2")
    assert p.returncode == 0, p.stdout + p.stderr
    assert _outcome(out) == {"big": ("done", 0), "small": ("done", 0)}
    exp = next((out / "small" / "vectors").glob("expected_*.bin"))
    data = bytearray(exp.read_bytes())
    data[0] ^= 0x55
    exp.write_bytes(data)
    p = run_cli("build", out, "--step", "csim", "--resume")
    assert p.returncode == 1 and "failed: small" in p.stdout
    assert "1 skipped" in p.stdout  # 'big' unchanged since its success
    assert _outcome(out)["small"][0] == "failed"


@pytest.mark.slurm
@pytest.mark.xdist_group("slurm")
def test_generated_tree_csim_through_slurm_matches_local(slurm_cluster, tmp_path, run_cli):
    local = _generated(tmp_path, "local")
    remote = _generated(tmp_path, "remote")
    assert run_cli("build", local, "--step", "csim").returncode == 0
    p = run_cli("build", remote, "--step", "csim", "--executor", "slurm", "--cpus", "1")
    assert p.returncode == 0, p.stdout + p.stderr
    assert _outcome(local) == _outcome(remote) == {"big": ("done", 0), "small": ("done", 0)}
    for b in ("big", "small"):
        lines = _sim_lines(local / b / "logs/csim.log")
        assert "RESULT PASS" in lines and lines == _sim_lines(remote / b / "logs/csim.log")
