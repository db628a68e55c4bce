"""Lane-split engines end to end: a plan whose conv, 1x1 and fc engines split their PE lanes over
two SLRs (plan.json ``layers[].slr_lanes``, hls/include/asymap/lanesplit.h, docs/deploy.md).

The model (built here with onnx.helper): a 3x3 stem 3 -> 16 on the wide RGB port, a 1x1 conv
16 -> 24, a 3x3 stride-2 conv 24 -> 32, global average pooling and a 10-way fc. On a U250 (4 SLRs)
the stem's lanes split over SLR0/SLR1, the 1x1's over SLR1/SLR2 and the fc's over SLR2/SLR3, with
k != P/2 each time. `asymap generate` makes one kernel per SLR with half A (window generator, dup,
lanes 0..k-1) in SLR s and half B (the other lanes, the zip) in SLR s+1; `asymap verify` runs the
kernels as threads over bounded FIFOs (slack 32) bit-exact against the integer reference; the
sequential C-sim's engine cycle counters equal the unsplit board's; the planner's SLL count
(partition/slrcross.py) equals the generated crossing streams wire for wire; the VCU118 (Vivado
flow) gets one IP per SLR with the same sources.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from asymap.codegen.fifodepth import FIFO_SLACK
from asymap.codegen.project import generate
from asymap.errors import UserError
from asymap.frontend.onnx_import import load_model
from asymap.partition import slrcross
from asymap.verify.runner import verify

from test_e2e_slr_split import _csim_cycles, _width  # noqa: E402  (same directory: the split-board helpers)

pytestmark = pytest.mark.csim
SHAPE = (3, 10, 10)
CLUSTER = """
boards:
  - {name: big, type: %s}
links: []
"""
# layer -> (factors, slr, slr_lanes or None)
LAYERS = {
    0: ({"pe": 8, "simd": 3, "kpar": 3}, 0, [[0, 3], [1, 5]]),  # KxK stem, kpar window words
    1: ({"pe": 6, "simd": 8}, 1, [[1, 4], [2, 2]]),  # 1x1 engine
    2: ({"pe": 4, "simd": 8}, 2, None),
    3: ({"pe": 8, "simd": 1}, 2, None),
    4: ({"pe": 5, "simd": 8}, 2, [[2, 1], [3, 4]]),  # fc
}


def _model(path: Path) -> None:
    rng = np.random.default_rng(5)
    w = lambda *s: (rng.standard_normal(s) * np.sqrt(2.0 / np.prod(s[1:]))).astype(np.float32)  # noqa: E731
    b = lambda n: (rng.standard_normal(n) * 0.1).astype(np.float32)  # noqa: E731
    inits = {"w0": w(16, 3, 3, 3), "b0": b(16), "w1": w(24, 16, 1, 1), "b1": b(24), "w2": w(32, 24, 3, 3),
             "b2": b(32), "wf": w(10, 32), "bf": b(10)}
    node = helper.make_node
    nodes = [
        node("Conv", ["input", "w0", "b0"], ["c0"], name="stem", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        node("Relu", ["c0"], ["r0"], name="stem_relu"),
        node("Conv", ["r0", "w1", "b1"], ["c1"], name="expand", kernel_shape=[1, 1]),
        node("Relu", ["c1"], ["r1"], name="expand_relu"),
        node("Conv", ["r1", "w2", "b2"], ["c2"], name="down", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
        node("Relu", ["c2"], ["r2"], name="down_relu"),
        node("GlobalAveragePool", ["r2"], ["p"], name="gap"),
        node("Flatten", ["p"], ["f"], name="flat"),
        node("Gemm", ["f", "wf", "bf"], ["output"], name="fc", transB=1),
    ]
    graph = helper.make_graph(nodes, "lanes", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, *SHAPE])],
                              [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 10])],
                              initializer=[numpy_helper.from_array(v, k) for k, v in inits.items()])
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    onnx.save(m, str(path))


URAM = {1: "preload", 4: "preload"}  # the split 1x1 and fc with their weights in URAM, loaded at start-up
OFFCHIP = {0: "offchip", 4: "offchip"}  # the split stem and fc streaming their weights from DDR


def _plan(split: bool = True, layers=LAYERS, weights: dict | None = None) -> dict:
    out = []
    for i, (f, slr, lanes) in layers.items():
        ly = {"index": i, "factors": dict(f), "weights": (weights or {}).get(i, "onchip")}
        if split:
            ly["slr"] = slr
            if lanes:
                ly["slr_lanes"] = lanes
        out.append(ly)
    return {"schema": 1, "boards": [{"name": "big", "first_layer": 0, "last_layer": 4, "layers": out}], "links": []}


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    d = tmp_path_factory.mktemp("lanes")
    _model(d / "m.onnx")
    (d / "c.yaml").write_text(CLUSTER % "u250")
    (d / "v.yaml").write_text(CLUSTER % "vcu118")
    return d


def _gen(d: Path, name: str, plan: dict, cluster: str = "c.yaml") -> Path:
    (d / f"{name}.json").write_text(json.dumps(plan))
    generate(d / "m.onnx", d / cluster, d / name, plan=d / f"{name}.json", quiet=True)
    return d / name


def test_lane_split_layers_run_bit_exact_over_slr_kernels(setup):
    d = setup
    out = _gen(d, "split", _plan())
    chain = json.loads((out / "chain.json").read_text())
    (b,) = chain["boards"]
    assert [k["slr"] for k in b["slr"]["kernels"]] == [0, 1, 2, 3]
    top = (out / b["dir"] / "top.cpp").read_text()
    seg = (out / b["dir"] / "segment.cpp").read_text()
    # half A of each split layer in SLR s, half B in s+1; the dup'd words and half A's lanes cross
    for s, (ident, k, word) in enumerate((("L0_stem", 3, 9), ("L1_expand", 4, 8), ("L4_fc", 1, 8))):
        (part_a,) = re.findall(rf"^void segment_big_slr{s}\(.*?\n}}\n", seg, re.M | re.S)
        (part_b,) = re.findall(rf"^void segment_big_slr{s + 1}\(.*?\n}}\n", seg, re.M | re.S)
        assert f"_lanes_a<segment_big_seg::{ident}_cfg, segment_big_seg::{ident}_a_cfg>" in part_a
        assert f"mac_lanes_b<segment_big_seg::{ident}_cfg, segment_big_seg::{ident}_b_cfg" in part_b
        assert f"hls::stream<asymap::bytes<{word}> >& x_{ident}" in part_a
        assert f"hls::stream<asymap::bytes<{k}> >& r_{ident}" in part_b
        streams = {x["stream"]: x for x in b["slr"]["streams"]}
        for name in (f"x_{ident}", f"r_{ident}"):
            assert streams[name]["from"].startswith(b["slr"]["kernels"][s]["kernel"] + ".")
            assert streams[name]["to"].startswith(b["slr"]["kernels"][s + 1]["kernel"] + ".")
    conn = (out / b["dir"] / "connectivity.cfg").read_text()
    # one stream_connect per stream between the kernels: the six of the three split layers and the verdict
    assert len(re.findall(r"^stream_connect=top_big\w*_1\.c\d+_out:top_big\w*_1\.c\d+_in:\d+$", conn, re.M)) == \
        len(b["slr"]["streams"]) == 7
    assert "mac_lanes_b" not in top  # the halves live in the segment's parts, the kernels call the parts
    res = verify(out, jobs=2, quiet=True, fifo_slack=FIFO_SLACK)
    assert res.ok, [(x.name, x.status, x.problems[:3]) for x in res.boards]

    # the same engines unsplit: same output, and the split engines' cycle counters add up to the same
    flat = _gen(d, "flat", _plan(split=False))
    assert _csim_cycles(out / b["dir"], d) == _csim_cycles(flat / b["dir"], d) > 0

    # deterministic
    again = _gen(d, "split2", _plan())
    for p in sorted(out.rglob("*")):
        if p.is_file() and "build" not in p.relative_to(out).parts:
            assert p.read_bytes() == (again / p.relative_to(out)).read_bytes(), p.relative_to(out)


@pytest.mark.parametrize("weights", [URAM, OFFCHIP], ids=["uram", "offchip"])
def test_lane_split_layers_with_uram_or_offchip_weights(setup, weights):
    """URAM: each half owns its table and its start-up stream (the first kernel reads `wpre` and
    sends half B's words across to SLR s+1). Off-chip: the layer keeps one region of whole rows and
    one reader; its unpacker and split_rows sit in SLR s and half B's lanes of each row cross."""
    d = setup
    uram = weights is URAM
    out = _gen(d, "uram" if uram else "ddr", _plan(weights=weights))
    (b,) = json.loads((out / "chain.json").read_text())["boards"]
    streams = {x["stream"]: x for x in b["slr"]["streams"]}
    if uram:
        assert {"p_L1_expand_a", "p_L1_expand_b", "p_L4_fc_b"} <= set(streams)
        assert streams["p_L4_fc_b"]["to"].startswith("top_big_slr3.")
    else:
        assert {"q_L4_fc", "wb_L0_stem", "wb_L4_fc"} <= set(streams) and "wa_L0_stem" not in streams
        assert streams["wb_L4_fc"]["from"].startswith("top_big_slr2.") and streams["wb_L4_fc"]["to"].startswith(
            "top_big_slr3.")
    assert (out / b["dir"] / "weights" / ("wpre.bin" if uram else "wmem.bin")).is_file()
    res = verify(out, jobs=2, quiet=True, fifo_slack=FIFO_SLACK)
    assert res.ok, [(x.name, x.status, x.problems[:3]) for x in res.boards]


@pytest.mark.parametrize("weights", [{}, URAM, OFFCHIP], ids=["onchip", "uram", "offchip"])
def test_slr_crossing_charge_counts_the_lane_split_streams(setup, weights):
    d = setup
    plan = _plan(weights=weights)
    out = _gen(d, f"count_{'_'.join(sorted(set(weights.values())))}", plan)
    (b,) = json.loads((out / "chain.json").read_text())["boards"]
    top = (out / b["dir"] / "top.cpp").read_text()
    slr_of = {k["kernel"]: k["slr"] for k in b["slr"]["kernels"]}
    got = [0, 0, 0]
    for x in b["slr"]["streams"]:
        (ctype,) = set(re.findall(rf"hls::stream<(.+?) ?> {x['stream']}\(", top))
        for k in range(slr_of[x["from"].split(".")[0]], slr_of[x["to"].split(".")[0]]):
            got[k] += _width(ctype) + slrcross.HANDSHAKE_BITS
    pb = plan["boards"][0]
    bp = SimpleNamespace(slrs=4, last_layer=4, port_lanes=b["port_lanes"],
                         layers=[SimpleNamespace(**{k: ly.get(k) for k in ("index", "slr", "weights", "factors",
                                                                            "slr_lanes")}) for ly in pb["layers"]])
    assert slrcross.crossing_bits(load_model(d / "m.onnx"), bp) == got
    # each boundary carries the split layer's two streams: 9- and 8-byte words, 3, 4 and 1 lanes
    assert got[0] >= (72 + 2) + (24 + 2) and got[2] >= (64 + 2) + (8 + 2)


def test_vivado_flow_board_gets_lane_split_ips(setup):
    d = setup
    layers = {i: v for i, v in LAYERS.items()}
    layers[4] = (LAYERS[4][0], 2, None)  # VCU118: 3 SLRs
    out = _gen(d, "viv", _plan(layers=layers), "v.yaml")
    ref = _gen(d, "vit", _plan(layers=layers))
    (b,) = json.loads((out / "chain.json").read_text())["boards"]
    assert [k["slr"] for k in b["slr"]["kernels"]] == [0, 1, 2]
    for f in ("top.cpp", "segment.cpp", "params.h", "weights.h", "tb.cpp"):
        assert (out / "big" / f).read_bytes() == (ref / "big" / f).read_bytes(), f
    tcl = (out / "big" / "bd" / "block_design.tcl").read_text()
    fifos = re.findall(r"CONFIG.FIFO_DEPTH \{(\d+)\}\] \[get_bd_cells (fifo_\w+)\]", tcl)
    assert len(fifos) == len(b["slr"]["streams"]) and {"x_L0_stem", "r_L1_expand"} <= {x["stream"] for x in
                                                                                          b["slr"]["streams"]}
    res = verify(out, jobs=2, quiet=True, fifo_slack=FIFO_SLACK)
    assert res.ok, [(x.name, x.status, x.problems[:3]) for x in res.boards]


@pytest.mark.parametrize("change, match", [
    ({1: [[1, 6], [2, 0]]}, "slr_lanes must be"),  # k = P
    ({1: [[0, 4], [1, 2]]}, "slr_lanes must be"),  # not the layer's slr
    ({3: [[2, 4], [3, 4]]}, "conv \\(groups 1\\) or fc"),  # a pooling layer
])
def test_bad_slr_lanes_are_refused_in_one_line(setup, change, match):
    d = setup
    plan = _plan()
    for ly in plan["boards"][0]["layers"]:
        if ly["index"] in change:
            ly["slr_lanes"] = change[ly["index"]]
    with pytest.raises(UserError, match=match) as e:
        _gen(d, "bad", plan)
    assert "\n" not in str(e.value) and not (d / "bad").exists()


def test_layers_after_a_split_must_be_in_the_next_slr(setup):
    d = setup
    layers = dict(LAYERS)
    layers[1] = (LAYERS[1][0], 0, None)  # the 1x1 stays in SLR0 behind the stem's split
    layers[2] = (LAYERS[2][0], 1, [[1, 2], [2, 2]])
    with pytest.raises(UserError, match="layers after it must be in SLR1"):
        _gen(d, "bad2", _plan(layers=layers))


@pytest.mark.parametrize("pe, lanes", [(12, [[2, 11], [3, 1]]), (12, [[2, 3], [3, 9]])])
def test_a_split_layer_whose_pe_codegen_would_refit_is_refused_in_one_line(setup, pe, lanes):
    # the fc has C_out = 10: pe=12 is refit to 10, so the plan's k | pe - k halves are not what codegen would build
    d = setup
    layers = dict(LAYERS)
    layers[4] = ({"pe": pe, "simd": 8}, 2, lanes)
    with pytest.raises(UserError, match=r"layer 4 .*pe=12 does not fit this layer \(C_out=10\).*refit to pe=10") as e:
        _gen(d, "refit", _plan(layers=layers))
    assert "\n" not in str(e.value) and not (d / "refit").exists()
