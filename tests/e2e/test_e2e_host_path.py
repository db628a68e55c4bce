"""End to end through the planner's host path: the cluster's host attaches to a board too small
for any layer, so the planner routes the image through it (plan.json ``host_path.forwarding``);
``generate`` turns that path into forwarding stations and the C-simulation of the whole chain
(host -> attach board -> stages -> attach board -> host) equals the integer reference bit for bit."""

from __future__ import annotations

import json

import onnx
import pytest

from asymap.codegen.fifodepth import FIFO_SLACK
from asymap.codegen.project import generate
from asymap.frontend.zoo import build_zoo_model
from asymap.verify.runner import verify

pytestmark = pytest.mark.csim
CLUSTER = """
boards:
  - {name: gate, resources: {dsp: 1, bram36: 60, uram: 0, lut: 60000, clock_mhz: 100, mem_gbps: 1}}
  - {name: big0, type: u280}
  - {name: big1, type: u55c}
links:
  - {a: gate, b: big0, gbps: 10, latency_ns: 1000}
  - {a: big0, b: big1, gbps: 100, latency_ns: 500}
host: {name: pc, attach: gate, gbps: 8, latency_ns: 2000}
"""


def test_planned_host_path_runs_through_the_attach_board_bit_exactly(tmp_path):
    model = tmp_path / "tiny.onnx"
    onnx.save(build_zoo_model("tiny", input_size=16, width_mult=1.0, seed=0), str(model))
    (tmp_path / "cluster.yaml").write_text(CLUSTER)
    generate(model, tmp_path / "cluster.yaml", tmp_path / "out", quiet=True)
    plan = json.loads((tmp_path / "out" / "plan.json").read_text())
    assert plan["host_path"]["forwarding"] == ["gate"]
    assert "gate" not in [b["name"] for b in plan["boards"]]
    chain = json.loads((tmp_path / "out" / "chain.json").read_text())
    names = [(b.get("board", b["name"]), b.get("forward")) for b in chain["boards"]]
    assert names[0] == ("gate", "in") and names[-1] == ("gate", "out")
    assert [n for n, f in names if not f] == [b["name"] for b in plan["boards"]]
    # The hops to and from the gate carry 10 Gb/s: 128-bit beats at the gate's 100 MHz clock (64 bits
    # would carry 6.4); the host's own link is the movers' 64 bits.
    assert chain["links"][1]["width_bits"] == 128 and chain["links"][-2]["width_bits"] == 128
    assert chain["links"][0]["width_bits"] == 64 and chain["links"][-1]["width_bits"] == 64
    res = verify(tmp_path / "out", jobs=1, quiet=True, fifo_slack=FIFO_SLACK)  # the margin every FIFO has
    assert res.ok, [(b.name, b.status, b.problems[:2]) for b in res.boards]
    assert [b.layers for b in res.boards if b.layers.startswith("forward")] == ["forward (in)", "forward (out)"]
