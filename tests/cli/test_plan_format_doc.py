"""docs/plan-format.md documents every key plan.json can contain: each field of the plan dataclasses
(asymap.partition.planfile) and every key of real plans made with every optional part switched on
(sweep, calibration with a percentile, a host path, published references, a throughput target).
A key added to the planner without its line in the format's jsonc example fails here."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
import onnx
import pytest

import asymap
from asymap.partition import planfile

ROOT = Path(__file__).resolve().parents[2]
#: maps whose keys are data, not format (board type -> published measurement)
DATA_KEYED = {"references"}
#: dataclass fields stored under another name (LinkPlan.to_dict)
RENAMED = {"src": "from", "dst": "to"}


def documented_keys() -> set[str]:
    text = (ROOT / "docs" / "plan-format.md").read_text()
    blocks = re.findall(r"```jsonc\n(.*?)```", text, re.S)
    assert len(blocks) == 1, "docs/plan-format.md: expected one jsonc example of plan.json"
    return set(re.findall(r'"([A-Za-z_][A-Za-z0-9_]*)"\s*:', blocks[0]))


def plan_keys(obj, path: str = "") -> set[tuple[str, str]]:
    """(key, where) of every dict key in a plan dict, not descending into data-keyed maps' keys."""
    out: set[tuple[str, str]] = set()
    if isinstance(obj, dict):
        for k, v in obj.items():
            if path.rsplit(".", 1)[-1] in DATA_KEYED:
                out |= plan_keys(v, f"{path}.<{k}>")
                continue
            out.add((k, path or "."))
            out |= plan_keys(v, f"{path}.{k}")
    elif isinstance(obj, list):
        for v in obj:
            out |= plan_keys(v, f"{path}[]")
    return out


def test_every_dataclass_field_is_documented():
    doc = documented_keys()
    missing = []
    for cls in (planfile.Plan, planfile.BoardPlan, planfile.LayerPlan, planfile.LinkPlan):
        for f in dataclasses.fields(cls):
            if RENAMED.get(f.name, f.name) not in doc:
                missing.append(f"{cls.__name__}.{f.name}")
    assert not missing, f"plan.json keys missing from docs/plan-format.md: {missing}"


@pytest.fixture(scope="module")
def plans(tmp_path_factory):
    d = tmp_path_factory.mktemp("planfmt")
    onnx.save(asymap.build_zoo_model("tiny", input_size=32, width_mult=0.5, seed=0), str(d / "tiny.onnx"))
    g = asymap.load_model(d / "tiny.onnx")
    np.save(d / "cal.npy", np.random.default_rng(0).standard_normal((2, *g.input_shape)).astype(np.float32))
    calib = asymap.load_calibration(d / "cal.npy", method="percentile", percentile=99.9)
    g.name = "resnet50"  # a model with published measurements on example16's board types (references)
    out = []
    for cluster in ("example16", "edge4"):  # example16: a host attach point
        c = asymap.load_cluster(ROOT / "clusters" / f"{cluster}.yaml")
        out.append(asymap.plan(g, c, sweep=True, calib=calib, model_path=str(d / "tiny.onnx")).to_dict())
        out.append(asymap.plan(g, c, target_ips=1000.0).to_dict())
    return out


def test_every_key_of_real_plans_is_documented(plans):
    # the optional parts are really there, so their keys are checked
    seen = {k for p in plans for k in p}
    assert {"sweep", "host_path", "references", "target", "options"} <= seen
    assert any("percentile" in p["model"].get("calib", {}) for p in plans)
    doc = documented_keys()
    missing = sorted({f"{where}: {k}" for p in plans for k, where in plan_keys(p) if k not in doc})
    assert not missing, f"plan.json keys missing from docs/plan-format.md: {missing}"
