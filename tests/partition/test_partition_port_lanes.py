"""The planner's port width per board (plan.json ``boards[].port_lanes``; asymap.lanes).

A board's ports carry up to 8, 16 or 32 channels per beat; the planner evaluates every board type
at each width that widens some tensor of the model and keeps, per segment, the best. These tests
check the width rule, the cost model at a width, that a plan records its widths and is never worse
than with 8-channel ports only, and that the contract check reads the board's width.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest

from asymap.cluster.load import load_cluster
from asymap.errors import UserError
from asymap.frontend import ir
from asymap.frontend.onnx_import import load_model
from asymap.frontend.zoo import build_zoo_model
from asymap.lanes import PORT_LANE_CHOICES, port_lanes
from asymap.partition import planner
from asymap.partition.contract import check_contract
from asymap.partition.costmodel import (
    engine_cycles, layer_infos, option_resources, port_beats, requant_dsps, wide_port_luts,
)
from asymap.partition.planfile import Plan

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def tiny4(tmp_path_factory):
    """The tiny CNN at width x4 (32/64 channels) on 64x64 images: port-bound early layers."""
    p = tmp_path_factory.mktemp("m") / "tiny4.onnx"
    onnx.save(build_zoo_model("tiny", input_size=64, width_mult=4.0, seed=0), str(p))
    return p


def test_port_widths_only_where_a_tensor_widens(tmp_path):
    p = tmp_path / "t.onnx"
    onnx.save(build_zoo_model("tiny", input_size=32, width_mult=1.0, seed=0), str(p))
    assert planner.port_widths(load_model(p)) == [8, 16]  # 8/16 channels and 1000: nothing divisible by 32
    onnx.save(build_zoo_model("tiny", input_size=32, width_mult=4.0, seed=0), str(p))
    assert planner.port_widths(load_model(p)) == [8, 16, 32]


def test_cost_model_at_a_width(tiny4):
    g = load_model(tiny4)
    add = next(ly for ly in g.layers if ly.op == ir.ADD)  # 64 x 32 x 32
    c, h, w = add.out_shape
    for m in PORT_LANE_CHOICES:
        assert engine_cycles(add, 1, max_lanes=m) == h * w * c // port_lanes(c, m) + 6
        assert port_beats(add, m) == engine_cycles(add, 1, max_lanes=m)
        assert int(requant_dsps(add, 1, m)) == 4 * port_lanes(c, m)  # two 2-DSP products per lane
        assert wide_port_luts(add, m) == (4 * 2 + 12) * (port_lanes(c, m) - 8)
    # the skip FIFO of the add costs the same capacity at any width (deep: BRAM36/URAM blocks side by side)
    from asymap.cluster.boards import load_board_type

    spec = load_board_type("u280")
    res = {m: option_resources(next(i for i in layer_infos(g, max_lanes=m) if i.layer is add), spec, 0)[0]
           for m in PORT_LANE_CHOICES}
    assert res[8][1] == res[16][1] == res[32][1] and res[8][2] <= res[32][2]
    assert res[8][0] < res[16][0] < res[32][0] and res[8][3] < res[16][3] < res[32][3]


def test_plan_records_widths_and_is_never_worse_than_narrow(tiny4, monkeypatch):
    g = load_model(tiny4)
    cl = load_cluster(ROOT / "clusters" / "pair2.yaml")
    p = planner.plan(g, cl)
    assert all(b.port_lanes in PORT_LANE_CHOICES for b in p.boards)
    assert max(b.port_lanes for b in p.boards) > 8  # the port-bound stem gains from wider ports
    d = json.loads(p.to_json())
    assert [b["port_lanes"] for b in d["boards"]] == [b.port_lanes for b in p.boards]
    assert [b.port_lanes for b in Plan.from_dict(d).boards] == [b.port_lanes for b in p.boards]
    # every board's layers' cycles are those of its width
    infos = {m: layer_infos(g, max_lanes=m) for m in PORT_LANE_CHOICES}
    for b in p.boards:
        for lp in b.layers:
            o = infos[b.port_lanes][lp.index].options
            row = np.flatnonzero((o.pe == lp.factors["pe"]) & (o.simd == lp.factors["simd"])
                                 & (o.kpar == lp.factors.get("kpar", 1)))
            assert lp.cycles in o.cycles[row].tolist() + o.cycles_off[row].tolist()
    check_contract(d, g, cl, "plan.json")  # the contract recomputes at each board's width
    monkeypatch.setattr(planner, "port_widths", lambda graph: [8])
    narrow = planner.plan(g, cl)
    assert [b.port_lanes for b in narrow.boards] == [8] * len(narrow.boards)
    assert p.interval_s < narrow.interval_s


def test_contract_refuses_a_width_outside_the_menu(tiny4):
    g = load_model(tiny4)
    cl = load_cluster(ROOT / "clusters" / "pair2.yaml")
    d = json.loads(planner.plan(g, cl).to_json())
    d["boards"][0]["port_lanes"] = 64
    with pytest.raises(UserError, match="port_lanes' is 64, not one of 8, 16, 32"):
        check_contract(d, g, cl, "plan.json")
