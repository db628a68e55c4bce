"""asymap run PROJECT.yaml: the whole flow from one file, resuming where it stopped."""

from __future__ import annotations

import json

import pytest

FAST = """\
zoo: {name: tiny, input_size: 32, width_mult: 0.5, seed: 1}
model: models/tiny.onnx
cluster: pair2
plan: {util: UTIL}
output: out/tiny
verify: false
report: out/report.html
"""


def _run(run_cli, cwd, *extra):
    return run_cli("run", "proj/p.yaml", *extra, cwd=cwd)


def test_runs_then_resumes_and_reruns_only_what_changed(tmp_path, run_cli):
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "p.yaml").write_text(FAST.replace("UTIL", "0.8"))
    r = _run(run_cli, tmp_path, "--json", "-q")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["ran"] == ["zoo", "plan", "generate", "report"]
    proj = tmp_path / "proj"  # paths are relative to the project file, not the working directory
    for f in ("models/tiny.onnx", "out/tiny.plan.json", "out/tiny/chain.json", "out/tiny/plan.json",
              "out/report.html", "out/tiny.run.json"):
        assert (proj / f).exists(), f
    assert json.loads((proj / "out/tiny.plan.json").read_text())["options"]["util"] == 0.8

    again = json.loads(_run(run_cli, tmp_path, "--json", "-q").stdout)
    assert again["ran"] == [] and again["skipped"] == ["zoo", "plan", "generate", "report"]

    (proj / "p.yaml").write_text(FAST.replace("UTIL", "0.5"))  # a plan option: plan and what follows
    changed = json.loads(_run(run_cli, tmp_path, "--json", "-q").stdout)
    assert changed["skipped"] == ["zoo"] and changed["ran"] == ["plan", "generate", "report"]
    assert json.loads((proj / "out/tiny/plan.json").read_text())["options"]["util"] == 0.5

    (proj / "out/report.html").unlink()  # a missing output re-runs its step only
    assert json.loads(_run(run_cli, tmp_path, "--json", "-q").stdout)["ran"] == ["report"]
    assert json.loads(_run(run_cli, tmp_path, "--json", "-q", "--force").stdout)["ran"][0] == "zoo"


@pytest.mark.csim
def test_verify_and_build_steps_and_resume_after_interruption(tmp_path, run_cli):
    (tmp_path / "p.yaml").write_text(FAST.replace("UTIL", "0.8").replace("verify: false", "verify: {jobs: 2}")
                                     + "build: {steps: [csim]}\n")
    r = run_cli("run", "p.yaml")
    assert r.returncode == 0, r.stderr
    assert "verify: PASS" in r.stdout and "build csim: 1 done" in r.stdout
    assert "[3/6] generate: running" in r.stderr
    state = tmp_path / "out" / "tiny.run.json"
    doc = json.loads(state.read_text())
    for k in ("verify", "build:csim", "report"):  # as if the run had been stopped after generate
        doc["steps"].pop(k)
    state.write_text(json.dumps(doc))
    again = run_cli("run", "p.yaml", "--json", "-q")
    assert json.loads(again.stdout)["ran"] == ["verify", "build:csim", "report"], again.stderr


@pytest.mark.parametrize("text, fragment", [
    ("model: m.onnx\ncluster: pair2\n", "'output' is required"),
    ("model: m.onnx\ncluster: pair2\noutput: o\nplans: {}\n", "did you mean 'plan'"),
    ("model: m.onnx\ncluster: pair2\noutput: o\nplan: {util: high}\n", "'plan.util' has the wrong type"),
    ("model: m.onnx\ncluster: pair2\noutput: o\nbuild: {steps: [synth]}\n", "unknown step 'synth'"),
    ("model: nope.onnx\ncluster: pair2\noutput: o\n", "nope.onnx not found"),
    ("model: [\n", "not valid YAML"),
])
def test_bad_project_files_are_one_line(tmp_path, run_cli, assert_user_error, text, fragment):
    (tmp_path / "p.yaml").write_text(text)
    assert_user_error(run_cli("run", "p.yaml"), fragment)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.yaml"]


def test_the_demo_project_file_is_valid_and_used_by_the_demo(repo_root):
    from asymap.pipeline import load_project

    pr = load_project(repo_root / "examples" / "demo18.yaml")
    assert pr.zoo["name"] == "resnet18" and pr.cluster == "edge4" and pr.build["steps"] == ["csim"]
    assert pr.output == (repo_root / "out" / "demo18" / "resnet18s").resolve()
    assert "asymap run examples/demo18.yaml" in (repo_root / "scripts" / "demo").read_text()


def test_calibration_reaches_the_plan_and_reruns_it_when_changed(tmp_path, run_cli):
    """The project's calibration is recorded in plan.json (model.calib), as `plan --calib` does,
    and a new calibration file re-plans."""
    import hashlib

    import numpy as np

    proj = tmp_path / "proj"
    proj.mkdir()
    calib = proj / "calib.npy"
    np.save(calib, np.random.default_rng(0).standard_normal((2, 3, 32, 32)).astype(np.float32))
    (proj / "p.yaml").write_text(FAST.replace("UTIL", "0.8") + "calibration: calib.npy\n")
    r = _run(run_cli, tmp_path, "--json", "-q")
    assert r.returncode == 0, r.stderr
    rec = json.loads((proj / "out/tiny.plan.json").read_text())["model"]["calib"]
    assert rec["sha256"] == hashlib.sha256(calib.read_bytes()).hexdigest()
    np.save(calib, np.random.default_rng(1).standard_normal((2, 3, 32, 32)).astype(np.float32))
    again = json.loads(_run(run_cli, tmp_path, "--json", "-q").stdout)
    assert again["ran"][0] == "plan"
