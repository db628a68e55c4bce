"""asymap as users get it: build the wheel, install it into a fresh venv, and run the demo's small
case (ResNet-18 32x32 x0.5 on the edge4 preset, C-simulated bit-exact) from another directory.

No network beyond PyPI: the wheel is built by pip (its build backend, setuptools, from PyPI or
pip's cache) and installed with --no-deps --no-index; the fresh venv sees the test venv's dependencies through a .pth line
naming its site-packages. A plain path line does not run the .pth files found there, so the
checkout's editable install stays invisible: asymap, its templates, headers, boards and cluster
presets must all come from the wheel.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

pytestmark = [pytest.mark.wheel, pytest.mark.csim]


def _run(cmd, cwd, env=None, timeout=900):
    p = subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)
    assert p.returncode == 0, f"{' '.join(map(str, cmd))}\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}"
    return p


def test_wheel_in_fresh_venv_runs_the_small_demo(repo_root, tmp_path):
    if shutil.which("g++") is None:
        pytest.fail("g++ is needed for the C-simulation (./scripts/test installs it)")
    dist = tmp_path / "dist"
    src = tmp_path / "src"  # a clean copy: the build must not write into the checkout
    top = {".venv", ".git", "out", "build", "dist", "tests", "bench", ".pytest_cache"}

    def skip(d, names):  # top-level clutter only: generator/asymap/build is a package
        return [n for n in names if (Path(d) == repo_root and n in top) or n == "__pycache__"
                or n.endswith(".egg-info")]
    shutil.copytree(repo_root, src, ignore=skip)
    # The build backend (setuptools>=77, pyproject.toml) comes from PyPI or pip's cache: the
    # only network this test may use. asymap's own dependencies are not downloaded.
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", dist, src], cwd=tmp_path)
    wheel = next(dist.glob("asymap-*.whl"))
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv], cwd=tmp_path)
    py = venv / "bin" / "python"
    site = Path(_run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=tmp_path)
                .stdout.strip())
    (site / "_asymap_test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run([sys.executable, "-m", "pip", "--python", py, "install", "--no-deps", "--no-index", "-q", wheel],
         cwd=tmp_path)

    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "ASYMAP_BOARDS")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    where = _run([py, "-c", "import asymap, asymap.resources as r; print(asymap.__file__); "
                  "print(r.resource_dir('clusters'))"], cwd=work, env=env).stdout.split()
    assert all(str(venv) in w for w in where), where  # the package and its data come from the wheel

    asymap = venv / "bin" / "asymap"
    _run([asymap, "zoo", "resnet18", "--input-size", "32", "--width-mult", "0.5", "-o", "r18.onnx", "-q"], work, env)
    clusters = _run([asymap, "clusters"], work, env).stdout
    assert "edge4" in clusters and "example16" in clusters
    _run([asymap, "plan", "r18.onnx", "edge4", "-o", "plan.json", "-q"], work, env)
    _run([asymap, "generate", "r18.onnx", "edge4", "--plan", "plan.json", "-o", "out", "-q"], work, env)
    v = _run([asymap, "verify", "out", "--jobs", "2", "-q"], work, env, timeout=1500)
    assert "PASS" in v.stdout.splitlines()[-1], v.stdout
