"""The SLR crossing is checked (issue 12 item 2): each multi-SLR board's streams crossing each SLR
boundary (partition/slrcross.py) are recorded in plan.json ``boards[].slr_crossing_bits`` and a plan
needing more super long lines than 80 % of a boundary's is refused."""

from __future__ import annotations

import copy
from types import SimpleNamespace

import pytest

import asymap
from clusters_yaml import cluster_yaml
from asymap.errors import UserError
from asymap.lanes import PORT_LANE_CHOICES, port_bytes
from asymap.partition import slrcross


def _graph(tmp_path, name="resnet18", size=64):
    import onnx

    p = tmp_path / f"{name}{size}.onnx"
    if not p.exists():
        onnx.save(asymap.build_zoo_model(name, input_size=size, seed=0), str(p))
    return asymap.load_model(p)


def _one_board_plan(tmp_path, g):
    c = tmp_path / "one.yaml"
    c.write_text(cluster_yaml([("a", "u280"), ("b", "u280")], [("a", "b", 100, 500)]))
    return asymap.plan(g, asymap.load_cluster(c), boards=1)


def _brute(g, bp):
    """Per boundary, straight from the module's list of streams: each (consumer, input) pair from
    the tensor's producer SLR (the first SLR if received), each sent tensor to the last engine's
    SLR, each off-chip (512-bit) or preload (64-bit) weight stream from the first SLR, and the
    one-bit verdict from the first SLR to the last."""
    shapes = g.tensor_shapes
    slr = {ly.index: ly.slr for ly in bp.layers}
    mode = {ly.index: ly.weights for ly in bp.layers}
    made = {g.layers[i].output: s for i, s in slr.items()}
    first, last = min(slr.values()), max(slr.values())
    out = []
    for k in range(bp.slrs - 1):
        bits = 3 if first <= k < last else 0
        for i in slr:
            for t in g.layers[i].inputs:
                if made.get(t, first) <= k < slr[i]:
                    bits += 8 * port_bytes(shapes[t], bp.port_lanes) + 2
            if mode[i] != "onchip" and first <= k < slr[i]:
                bits += {"offchip": 514, "preload": 66}[mode[i]]
        for t in g.live_across(bp.last_layer):
            if made.get(t, first) <= k < last:
                bits += 8 * port_bytes(shapes[t], bp.port_lanes) + 2
        out.append(bits)
    return out


@pytest.mark.parametrize("split", [(1, 3), (5, 9), (2, 2), (0, 15)])
def test_crossing_bits_equal_a_direct_count(tmp_path, split):
    g = _graph(tmp_path)
    bp = copy.deepcopy(_one_board_plan(tmp_path, g).boards[0])
    n = len(bp.layers)
    a, b = split
    for i, ly in enumerate(bp.layers):
        ly.slr = 0 if i < a else 1 if i < b else 2
        ly.weights = ("onchip", "offchip", "preload")[i % 3]
    bp.slrs = 3
    assert n > b
    for lanes in PORT_LANE_CHOICES:
        bp.port_lanes = lanes
        got = slrcross.crossing_bits(g, bp)
        assert got == _brute(g, bp), (split, lanes)
    # a residual block cut in the middle: the skip and the main path both cross
    assert max(slrcross.crossing_bits(g, bp)) > 0


def test_single_slr_boards_record_nothing(tmp_path):
    g = _graph(tmp_path)
    c = tmp_path / "z.yaml"
    c.write_text(cluster_yaml([("a", "zcu104"), ("b", "zcu104")], [("a", "b", 10, 500)]))
    d = asymap.plan(g, asymap.load_cluster(c)).to_dict()
    assert all(b["slr_crossing_bits"] == [] for b in d["boards"])


def test_plan_records_and_refuses_beyond_the_slls(tmp_path):
    g = _graph(tmp_path)
    bp = copy.deepcopy(_one_board_plan(tmp_path, g).boards[0])
    for i, ly in enumerate(bp.layers):
        ly.slr = 0 if i < 4 else 1
    bp.slrs = 2
    need = slrcross.crossing_bits(g, bp)[0]
    ok = SimpleNamespace(slls=-(-need * 5 // 4))
    slrcross.check_crossings(g, [bp], {bp.name: ok})
    assert bp.slr_crossing_bits == [need]
    with pytest.raises(UserError, match=r"board a: the streams crossing SLR0/SLR1 need .* super long lines"):
        slrcross.check_crossings(g, [bp], {bp.name: SimpleNamespace(slls=need * 5 // 4 - 2)})
    # no figure in the board file: recorded, nothing to check against; --util does not scale the wires
    assert slrcross.sll_limit(SimpleNamespace(slls=0)) is None
    slrcross.check_crossings(g, [bp], {bp.name: SimpleNamespace(slls=0)})
    assert bp.slr_crossing_bits == [need]


def test_board_file_slls_key(tmp_path):
    c = tmp_path / "c.yaml"
    c.write_text("boards:\n  - name: a\n    resources: {dsp: 100, bram36: 100, uram: 0, lut: 100000, clock_mhz: 200,"
                 " mem_gbps: 10, slrs: 2, slls: 5000, slls_source: 'read with NUM_TOP_SLLS'}\n")
    spec = asymap.load_cluster(c).boards[0].spec
    assert spec.slls == 5000 and spec.slls_source == "read with NUM_TOP_SLLS"
    c.write_text("boards:\n  - name: a\n    resources: {dsp: 100, bram36: 100, uram: 0, lut: 100000, clock_mhz: 200,"
                 " mem_gbps: 10, slrs: 2, slls: -1}\n")
    with pytest.raises(UserError, match="slls"):
        asymap.load_cluster(c)


def _slrs(bp, slrs: list[int]):
    bp = copy.deepcopy(bp)
    for ly, s in zip(bp.layers, slrs + [slrs[-1]] * (len(bp.layers) - len(slrs))):
        ly.slr = s
    return bp


def test_crossing_cycles_follow_the_kernel_chain(tmp_path):
    """Each kernel-to-kernel hop: two HLS port register slices and the stream_connect FIFO; each SLR
    boundary passed: the register-slice pair; one SLR: nothing. A lane-split layer's second SLR
    counts as a kernel of the board even when no whole layer sits there."""
    bp = _one_board_plan(tmp_path, _graph(tmp_path)).boards[0]
    hop = slrcross.PORT_REGSLICE_CYCLES + slrcross.CONNECT_FIFO_CYCLES
    cross = slrcross.SLR_SLICE_CYCLES
    assert (hop, cross) == (5, 3)
    assert slrcross.crossing_cycles(_slrs(bp, [0])) == 0
    assert slrcross.crossing_cycles(_slrs(bp, [1])) == 0  # one kernel, wherever it sits
    assert slrcross.crossing_cycles(_slrs(bp, [0, 1])) == hop + cross == 8
    assert slrcross.crossing_cycles(_slrs(bp, [0, 0, 1, 2])) == 2 * hop + 2 * cross == 16
    assert slrcross.crossing_cycles(_slrs(bp, [0, 2])) == hop + 2 * cross == 11  # one hop over two boundaries
    split = _slrs(bp, [0])
    split.layers[-1].slr_lanes = [[0, 3], [1, 5]]  # the last layer's lanes 3.. in SLR1, its zip there
    assert slrcross.crossing_cycles(split) == hop + cross
    assert slrcross.board_slrs(split) == [0, 1]


def test_plan_adds_the_crossing_latency(tmp_path):
    """plan.json boards[].slr_crossing_s is each board's crossing cycles at its clock and latency_s
    holds their sum (on top of every stage's interval and the store-and-forward); the intervals do
    not change. A one-SLR board records 0."""
    g = _graph(tmp_path)
    c = tmp_path / "two.yaml"
    c.write_text(cluster_yaml([("a", "u280"), ("b", "zcu104")], [("a", "b", 10, 500)]))
    plan = asymap.plan(g, asymap.load_cluster(c), boards=2)
    d = plan.to_dict()
    boards = {b["name"]: b for b in d["boards"]}
    assert set(boards) == {"a", "b"}
    a = plan.boards[[b.name for b in plan.boards].index("a")]
    assert len({ly.slr for ly in a.layers}) > 1  # the plan spreads u280's layers over its SLRs
    assert boards["a"]["slr_crossing_s"] == pytest.approx(slrcross.crossing_cycles(a) / (a.clock_mhz * 1e6))
    assert boards["a"]["slr_crossing_s"] > 0 and boards["b"]["slr_crossing_s"] == 0.0
    hops = d["host_path"]["in"] + d["host_path"]["out"] if d.get("host_path") else []
    stages = ([b["interval_s"] for b in d["boards"]] + [ln["interval_s"] for ln in d["links"]]
              + [h["interval_s"] for h in hops if h["interval_s"]])
    sf = sum(ln["store_forward_s"] for ln in d["links"]) + sum(h.get("store_forward_s", 0.0) for h in hops)
    cross = sum(b["slr_crossing_s"] for b in d["boards"])
    assert d["latency_s"] == pytest.approx(sum(stages) + sf + cross, rel=1e-12)
    assert d["interval_s"] == max(stages)
    # plan.json round trip keeps it; a plan written before the key existed loads with 0
    from asymap.partition.planfile import Plan

    assert Plan.from_dict(d).boards[0].slr_crossing_s == d["boards"][0]["slr_crossing_s"]
    old = copy.deepcopy(d)
    for b in old["boards"]:
        del b["slr_crossing_s"]
    assert all(b.slr_crossing_s == 0.0 for b in Plan.from_dict(old).boards)
