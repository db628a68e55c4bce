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
