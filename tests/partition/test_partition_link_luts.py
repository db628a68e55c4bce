"""The link kernels' (un)packers are charged (issue 12 item 2): each board's ``link_lut`` (one
stream_utils.h ``repack`` per tensor it receives or sends, costmodel.link_kernel_luts) is in its
``lut``, and the search keeps room for them (transport.link_kernel_reserve)."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

import asymap
from clusters_yaml import cluster_yaml
from asymap.lanes import PORT_LANE_CHOICES, port_bytes
from asymap.linkproto import link_width_bits
from asymap.partition import costmodel as cm
from asymap.partition import transport

ROOT = Path(__file__).resolve().parents[2]


def _load_offsets(pi: int, po: int, n_in: int, n_out: int) -> set[int]:
    """``fill`` at every read of stream_utils.h ``repack<PI, PO>`` (the same loop, in Python)."""
    fill = nr = nw = 0
    seen = set()
    while nr < n_in or nw < n_out:
        if fill < po and nr < n_in:
            seen.add(fill)
            nr += 1
            fill += pi
        if nw < n_out and (fill >= po or (nr == n_in and fill > 0)):
            nw += 1
            fill = fill - po if fill > po else 0
        elif nw == n_out and nr == n_in:
            fill = 0
    return seen


def test_repack_loop_is_the_one_modelled():
    text = (ROOT / "hls" / "include" / "asymap" / "stream_utils.h").read_text()
    body = text[text.index("void repack("):]
    body = body[:body.index("\n}\n")]
    assert "if (fill < PO && nr < n_in)" in body and "fill += PI" in body
    assert re.search(r"fill = fill > PO \? fill - PO : 0", body)


@pytest.mark.parametrize("pi,po", [(32, 64), (64, 32), (8, 64), (64, 8), (24, 64), (64, 24), (16, 128), (3, 64),
                                   (64, 3), (8, 8), (12, 8)])
def test_load_offsets_are_the_barrel_shifters_positions(pi, po):
    """A read lands at PO / gcd(PI, PO) offsets at most, multiples of the gcd below PO: the barrel
    shifter costmodel.repack_luts charges (ceil(log2) stages)."""
    nbytes = 3 * 224 * pi  # a few rows' worth
    seen = _load_offsets(pi, po, nbytes // pi, -(-nbytes // po))
    g = math.gcd(pi, po)
    assert all(f % g == 0 and f < po for f in seen)
    assert len(seen) <= po // g
    stages = math.ceil(math.log2(po // g)) if po // g > 1 else 0
    assert cm.repack_luts(pi, po) == cm.LUT_REPACK_CTRL + 8 * (pi + po) * (1 + math.ceil(stages / 2))


def test_repack_figures():
    assert cm.repack_luts(8, 8) == 100 + 8 * 16  # equal widths: the load/shift/hold choice only
    assert cm.repack_luts(32, 64) == 100 + 8 * 96 * 2  # a 16-channel port into a 512-bit link beat
    assert cm.repack_luts(64, 32) == 100 + 8 * 96  # the other way: always loads at offset 0
    shapes = [(256, 56, 56), (64, 56, 56)]
    assert cm.link_kernel_luts(shapes, 512, 32, send=True) == 2 * cm.repack_luts(32, 64)
    assert cm.link_kernel_luts(shapes, 512, 16, send=False) == 2 * cm.repack_luts(64, 16)
    assert cm.link_kernel_luts([(3, 224, 224)], 512, 8, send=False) == cm.repack_luts(64, port_bytes((3, 224, 224), 8))


def test_host_width_is_codegens():
    from asymap.codegen.chain import DEFAULT_WIDTH_BITS

    assert transport.HOST_WIDTH_BITS == DEFAULT_WIDTH_BITS


def _model(tmp_path):
    import onnx

    p = tmp_path / "r18.onnx"
    if not p.exists():
        onnx.save(asymap.build_zoo_model("resnet18", input_size=64, seed=0), str(p))
    return asymap.load_model(p)


@pytest.mark.parametrize("host", [True, False])
def test_plan_charges_each_boards_packers(tmp_path, host):
    g = _model(tmp_path)
    c = tmp_path / f"c{host}.yaml"
    c.write_text("boards:\n  - {name: a, type: zcu102}\n  - {name: b, type: u50}\n  - {name: h, type: zcu102}\n"
                 "links:\n  - {a: a, b: b, gbps: 10, latency_ns: 500}\n  - {a: h, b: a, gbps: 10, latency_ns: 700}\n"
                 + ("host: {attach: h, gbps: 10, latency_ns: 2000}\n" if host else ""))
    cl = asymap.load_cluster(c)
    d = asymap.plan(g, cl, boards=2).to_dict()
    shapes = g.tensor_shapes
    clock = {b.name: b.spec.clock_mhz for b in cl.boards}
    hops = (d["host_path"] or {"in": [], "out": []}) if host else {"in": [], "out": []}
    for i, b in enumerate(d["boards"]):
        if i > 0:
            w_in = d["links"][i - 1]["width_bits"]
        else:
            w_in = next((link_width_bits(h["gbps"], min(clock[h["from"]], clock[h["to"]])) for h in hops["in"]
                         if h["to"] == b["name"] and h["from"] in clock), 64)
        if i < len(d["links"]):
            w_out = d["links"][i]["width_bits"]
        else:
            w_out = next((link_width_bits(h["gbps"], min(clock[h["from"]], clock[h["to"]])) for h in hops["out"]
                          if h["from"] == b["name"] and h["to"] in clock), 64)
        rx = [tuple(shapes[t]) for t in g.live_across(b["first_layer"] - 1)]
        tx = [tuple(shapes[t]) for t in g.live_across(b["last_layer"])]
        want = (cm.link_kernel_luts(rx, w_in, b["port_lanes"], send=False)
                + cm.link_kernel_luts(tx, w_out, b["port_lanes"], send=True))
        assert b["link_lut"] == want > 0, b["name"]
        # the search kept at least that much free: the board stays within util
        assert b["resources"]["lut"][0] <= 0.8 * b["resources"]["lut"][1]
        t = 0 if b["type"] == "zcu102" else 1
        types = [0 if bb.spec.type == "zcu102" else 1 for bb in cl.boards]
        res = transport.link_kernel_reserve(g, cl, types, t, b["slrs"])
        assert res[3] * b["slrs"] >= want


def test_reserve_covers_every_lane_choice(tmp_path):
    g = _model(tmp_path)
    c = tmp_path / "c.yaml"
    c.write_text(cluster_yaml([("a", "u280"), ("b", "u280")], [("a", "b", 100, 500)]))
    cl = asymap.load_cluster(c)
    res = transport.link_kernel_reserve(g, cl, [0, 0], 0, 3)
    cuts = range(-1, len(g.layers))
    for lanes in PORT_LANE_CHOICES:
        for w in (64, 512):
            rx = max(cm.link_kernel_luts([tuple(g.tensor_shapes[t]) for t in g.live_across(a)], w, lanes, False)
                     for a in cuts)
            tx = max(cm.link_kernel_luts([tuple(g.tensor_shapes[t]) for t in g.live_across(a)], w, lanes, True)
                     for a in cuts)
            assert res[3] * 3 >= rx + tx
    assert res[:3].tolist() == [0, 0, 0]
