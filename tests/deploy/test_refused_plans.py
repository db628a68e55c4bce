"""Plans that deployment refuses stop where they are made, and a refused ``generate`` is one line.

``asymap generate`` refuses (docs/deploy.md, "One xclbin per FPGA") two links on lanes of one
Alveo cage, a host-path hop over a pipeline link in the same direction, two kernel clocks on one
transport or block design, and a link whose latency its credit bridge cannot cover. The planner's search does not know about cages, so ``asymap plan``
runs the same checks (``codegen.deploy.check_deployable``) on the plan it found and refuses it in
generate's own words. ``generate`` runs them from the plan alone before its first progress line
and its first file, with the other refusals a user can cause (calibration set, input image).
"""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest

from asymap.cluster.load import load_cluster
from asymap.frontend.zoo import build_zoo_model

# Three U50s on 10G: a plan over all three puts the middle card's two links on lanes 0 and 1 of its
# one QSFP28 (a breakout), which its platform exposes as one GT interface.
U50_LINE = """
boards:
  - {name: ua, type: u50}
  - {name: mid, type: u50}
  - {name: ub, type: u50}
links:
  - {a: ua, b: mid, gbps: 10, latency_ns: 500}
  - {a: mid, b: ub, gbps: 10, latency_ns: 500}
"""
# A ring with the host on sb: for a pipeline sa -> sb -> sc the result's fastest route back is
# sc -> sa -> sb, over the pipeline link sa -> sb the same way.
RING = """
boards:
  - {name: sa, type: u280}
  - {name: sb, type: u250}
  - {name: sc, type: u55c}
links:
  - {a: sa, b: sb, gbps: 100, latency_ns: 500}
  - {a: sb, b: sc, gbps: 10, latency_ns: 500}
  - {a: sc, b: sa, gbps: 100, latency_ns: 500}
host: {name: pc, attach: sb, gbps: 64}
"""
LONG_LINK = """
boards:
  - {name: a, type: u250}
  - {name: b, type: u250}
links:
  - {a: a, b: b, gbps: 10, latency_ns: 1000000}
"""
CAGE = ("board 'mid' (u50)", "link 1 (10 Gb/s from ua, lane 0)", "link 2 (10 Gb/s to ub, lane 1)", "cage qsfp0",
        "io_gt_qsfp0_00", "end of the chain")


def _files(tmp_path, yaml_text: str, model: str = "tiny", size: int = 32, width: float = 1.0):
    (tmp_path / "c.yaml").write_text(yaml_text)
    onnx.save(build_zoo_model(model, input_size=size, width_mult=width, seed=0), str(tmp_path / "m.onnx"))
    return tmp_path / "m.onnx", tmp_path / "c.yaml"


def _message(proc) -> str:
    """The one stderr line without its 'asymap <command>: error: ' prefix."""
    return proc.stderr.strip().split(": error: ", 1)[1]


def test_plan_refuses_a_chain_through_a_one_cage_alveo_card(tmp_path, run_cli, assert_user_error):
    """At 4 % utilization the fastest plan needs all three cards (at 5 % two are as fast); plan refuses it (no plan.json),
    naming board, cage and links, in the same line generate gives for that plan."""
    m, c = _files(tmp_path, U50_LINE)
    p = run_cli("plan", m, c, "--util", "0.04", "-o", tmp_path / "p.json")
    assert_user_error(p, *CAGE)
    assert not (tmp_path / "p.json").exists() and p.stdout == ""
    from asymap.frontend.onnx_import import load_model
    from asymap.partition.planner import plan

    d = plan(load_model(m, weights=False), load_cluster(c), util=0.04).to_dict()
    assert [b["name"] for b in d["boards"]] == ["ua", "mid", "ub"]
    (tmp_path / "q.json").write_text(json.dumps(d))
    g = run_cli("generate", m, c, "--plan", tmp_path / "q.json", "-o", tmp_path / "out")
    assert_user_error(g, *CAGE)
    assert _message(g) == _message(p)
    # Two of the cards are deployable: with --boards 2 the same cluster plans (deploy checks passed).
    ok = run_cli("plan", m, c, "--util", "0.04", "--boards", "2", "-o", tmp_path / "p2.json", check=True)
    assert ok.stderr == "" and len(json.loads((tmp_path / "p2.json").read_text())["boards"]) <= 2


def test_plan_refuses_a_result_route_over_a_pipeline_link_the_same_way(tmp_path, run_cli, assert_user_error):
    m, c = _files(tmp_path, RING, "resnet18", 32, 0.5)
    p = run_cli("plan", m, c, "--util", "0.06", "--json")  # the fastest plan: sa -> sb -> sc
    assert_user_error(p, "board 'sb'", "would both receive from sa on cage qsfp0", "'shared'", "host: attach",
                      "re-run 'asymap plan'")
    assert p.stdout == ""


def test_plan_refuses_a_link_longer_than_its_credit_bridge_covers(tmp_path, run_cli, assert_user_error):
    """60 us one way on 10G: the credit bridge's receive buffer would need 32,768 entries, beyond its
    counters; the plan over both boards stops with deploy's line instead of at generate."""
    m, c = _files(tmp_path, "boards:\n  - {name: a, type: zcu102}\n  - {name: b, type: zcu102}\n"
                            "links:\n  - {a: a, b: b, gbps: 10, latency_ns: 60000}\n", "resnet18", 64)
    p = run_cli("plan", m, c, "-o", tmp_path / "p.json")
    assert_user_error(p, "link a.sfp0->b", "32768 entries", "latency is too long")
    assert not (tmp_path / "p.json").exists()


@pytest.mark.parametrize("quiet", [True, False])
@pytest.mark.parametrize("case", ["cage", "latency", "input", "int_input", "calib"])
def test_a_refused_generate_prints_one_line_and_writes_nothing(tmp_path, run_cli, assert_user_error, quiet, case):
    """Every refusal comes before the first progress line: stderr is the one error line with or
    without -q, and neither OUT nor generate's staging directory beside it exists afterwards."""
    from asymap.frontend.onnx_import import load_model
    from asymap.partition.planner import plan

    if case == "latency":  # a hand-written plan over a 1 ms link (the planner would not use it: its
        m, c = _files(tmp_path, LONG_LINK)  # credit buffer takes a whole board's LUTs)
        d = {"schema": 1, "boards": [
            {"name": n, "first_layer": a, "last_layer": b,
             "layers": [{"index": i, "factors": {"pe": 2, "simd": 2}} for i in range(a, b + 1)]}
            for n, a, b in (("a", 0, 3), ("b", 4, 8))]}
    else:
        m, c = _files(tmp_path, U50_LINE)
        d = plan(load_model(m, weights=False), load_cluster(c), util=0.04 if case == "cage" else 0.8).to_dict()
    (tmp_path / "p.json").write_text(json.dumps(d))
    extra, want = {"cage": ([], CAGE), "latency": ([], ("link a.qsfp0->b", "latency is too long")),
                   "input": (["--input", tmp_path / "img.npy"], ("img.npy", "(3, 8, 8)", "(3, 32, 32)")),
                   "int_input": (["--input", tmp_path / "int.npy"], ("int.npy", "[-128, 127]")),
                   "calib": (["--calib", tmp_path / "nosuch"], ("nosuch",))}[case]
    np.save(tmp_path / "img.npy", np.zeros((3, 8, 8), np.float32))
    np.save(tmp_path / "int.npy", np.full((3, 32, 32), 200, np.int32))  # outside int8: refused before quantizing
    (tmp_path / "o").mkdir()
    out = tmp_path / "o" / "out"
    g = run_cli("generate", m, c, "--plan", tmp_path / "p.json", "-o", out, *extra, *(["-q"] if quiet else []))
    assert_user_error(g, *want)
    assert list((tmp_path / "o").iterdir()) == []
    if case == "cage" and not quiet:  # the same plan without the refusal does print progress
        ok = run_cli("generate", m, c, "-o", out, check=True)
        assert len(ok.stderr.splitlines()) > 1


@pytest.mark.slow
@pytest.mark.parametrize("preset", ["example16", "u280x16"])
def test_headline_plans_pass_every_deploy_check(tmp_path, preset):
    """ResNet-152 (224x224) on the headline clusters: the plan passes the checks generate runs
    first (example16's host path forwards through zc706_1 and shares no link the same way)."""
    from asymap.codegen.deploy import check_deployable
    from asymap.frontend.onnx_import import load_model
    from asymap.partition.planner import plan

    path = tmp_path / "r152.onnx"
    onnx.save(build_zoo_model("resnet152", 224), str(path))
    g = load_model(path, weights=False)
    cl = load_cluster(preset)
    d = plan(g, cl).to_dict()
    check_deployable(g, d, cl)
    assert not any(h.get("shared") for h in (d.get("host_path") or {}).get("out", []) + (d.get("host_path") or {}).get("in", []))


@pytest.mark.parametrize("preset", ["example16", "u280x16", "edge4", "mixed4", "ring8"])
def test_preset_plans_of_a_small_model_pass_every_deploy_check(preset, run_cli, tmp_path):
    """Every preset's plan of a small ResNet passes the deploy checks (asymap plan runs them)."""
    m = tmp_path / "m.onnx"
    onnx.save(build_zoo_model("resnet18", input_size=64, width_mult=0.5, seed=0), str(m))
    p = run_cli("plan", m, preset, "-o", tmp_path / "p.json")
    assert p.returncode == 0 and p.stderr == "", p.stderr
