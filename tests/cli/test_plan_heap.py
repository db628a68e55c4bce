"""``asymap plan`` keeps freed heap memory for reuse (asymap.util.heap: glibc's mallopt), and its
plan is the same with it (the command sets it; a plan in this process, without it, must agree)."""

from __future__ import annotations

import json
import platform
import subprocess
import sys

import onnx

from asymap.frontend.zoo import build_zoo_model


def test_keep_freed_memory_takes_on_glibc():
    code = "from asymap.util.heap import keep_freed_memory; print(keep_freed_memory())"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    glibc = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"
    assert r.stdout.strip() == str(glibc)


def test_plan_command_equals_the_plan_without_it(tmp_path):
    from asymap.cluster.load import load_cluster
    from asymap.frontend.onnx_import import load_model
    from asymap.partition.planner import plan

    model = tmp_path / "r18s.onnx"
    onnx.save(build_zoo_model("resnet18", 32, width_mult=0.5), str(model))
    out = tmp_path / "plan.json"
    r = subprocess.run([sys.executable, "-m", "asymap.cli", "plan", str(model), "edge4", "-q", "-o", str(out)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    got = json.loads(out.read_text())
    from asymap.codegen.deploy import plan_checks

    g, cl = load_model(model, weights=False), load_cluster("edge4")
    want = plan(g, cl, deployable=plan_checks(g, cl))  # as the command: the plan deployment accepts
    want = json.loads(want.to_json())
    for key in ("boards", "links", "interval_s", "baselines", "host_path"):
        assert got.get(key) == want.get(key), key
    assert got["boards"] and got["baselines"]
