"""The planner's own plan, with window parallelism (kpar), generates projects that are bit-exact.

The tiny CNN's first two 3x3 convs have 3 and 8 input channels, so the planner reaches its
fastest interval only with kpar > 1; the plan goes through plan.json -> generate -> C-sim verify,
and the generated config structs carry the plan's kpar.
"""

from __future__ import annotations

import re
from pathlib import Path

import onnx
import pytest

from asymap.cluster.load import load_cluster
from asymap.codegen.fifodepth import FIFO_SLACK
from asymap.codegen.project import generate
from asymap.frontend.onnx_import import load_model
from asymap.frontend.zoo import build_zoo_model
from asymap.partition.planner import plan
from asymap.verify.runner import verify

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.csim


def test_planned_kpar_is_generated_and_bit_exact(tmp_path):
    model = tmp_path / "tiny.onnx"
    onnx.save(build_zoo_model("tiny", input_size=32, width_mult=1.0, seed=0), str(model))
    cluster = ROOT / "clusters" / "pair2.yaml"
    p = plan(load_model(model), load_cluster(cluster))
    kpars = {lp.index: lp.factors["kpar"] for b in p.boards for lp in b.layers if "kpar" in lp.factors}
    assert kpars and all(k > 1 for k in kpars.values()), "the narrow 3x3 convs should use kpar"
    (tmp_path / "plan.json").write_text(p.to_json())
    out = tmp_path / "out"
    generate(model, cluster, out, plan=tmp_path / "plan.json", quiet=True)
    headers = "".join(f.read_text() for f in sorted(out.rglob("params.h")))
    found = [int(k) for k in re.findall(r"static const unsigned kpar = (\d+);", headers)]
    assert sorted(k for k in found if k > 1) == sorted(kpars.values())
    res = verify(out, jobs=2, quiet=True, fifo_slack=FIFO_SLACK)
    assert res.ok, [(b.name, b.status, b.problems[:3]) for b in res.boards]
    assert all(b.tensors_checked >= 1 for b in res.boards)
