"""The console script's entry (cli.entry: main, then exit with the heap frozen): exit codes and
output are main's."""

from __future__ import annotations

import subprocess
import sys


def _run(*args):
    return subprocess.run([sys.executable, "-m", "asymap.cli", *args], capture_output=True, text=True, timeout=300)


def test_entry_passes_on_a_user_error_exit_code(tmp_path):
    r = _run("plan", str(tmp_path / "missing.onnx"), "example16", "--quiet")
    assert r.returncode == 2
    assert r.stderr.startswith("asymap plan: error:") and len(r.stderr.strip().splitlines()) == 1


def test_entry_prints_the_whole_result(tmp_path):
    import onnx

    from asymap.frontend.zoo import build_zoo_model

    model = tmp_path / "r18.onnx"
    onnx.save(build_zoo_model("resnet18", 32, 0.5), str(model))
    r = _run("plan", str(model), "mixed4", "--quiet", "-o", str(tmp_path / "plan.json"))
    assert r.returncode == 0, r.stderr
    assert "throughput" in r.stdout and r.stdout.endswith("\n")
    assert (tmp_path / "plan.json").read_text().rstrip().endswith("}")
