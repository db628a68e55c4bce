"""The conv/fc engines with every MAC kind (plan.json "mac") and with URAM-preloaded weights
(plan.json "weights": "preload"), compiled with g++ and compared bit for bit with the integer
reference. The packed kind runs on int8 inputs (the network input) and uint8 inputs (after ReLU),
with even and odd PE counts; preloaded engines run two images, so the second call must reuse the
weights loaded by the first."""

from __future__ import annotations

import pytest
from segsim_harness import GraphBuilder, assert_matches, csim_segment

pytestmark = pytest.mark.csim


def _chain(b):
    """3x3 conv on the int8 input, then 3x3 (uint8 input), 1x1, gap and fc."""
    x = b.conv("x", 6, k=3)            # L0: int8 input
    x = b.conv(x, 8, k=3, s=2)         # L1: uint8 input (ReLU before)
    x = b.conv(x, 7, k=1, p=0)         # L2: 1x1 fast path
    x = b.gap(x)                       # L3
    return b.fc(x, 5)                  # L4


FACTORS = {0: (3, 5), 1: (4, 3), 2: (7, 4), 4: (2, 7)}  # odd pe on L0 and L2: one unpaired PE


@pytest.mark.parametrize("kind", ["packed", "dsp", "lut"])
def test_mac_kind_matches_reference(kind, tmp_path):
    b = GraphBuilder((5, 9, 11), seed=11)
    _chain(b)
    qg, vals = b.build()
    macs = {i: kind for i in (0, 1, 2, 4)}
    code, outs = csim_segment(tmp_path, qg, vals, 0, len(qg.layers) - 1, factors=FACTORS, macs=macs)
    assert_matches(outs, vals)
    code_of = {"packed": 0, "dsp": 1, "lut": 2}[kind]
    assert code.header.count(f"static const unsigned mac = {code_of};") == 4


def test_packed_falls_back_for_grouped_conv(tmp_path):
    b = GraphBuilder((6, 7, 7), seed=5)
    b.conv("x", 6, k=3, groups=3)
    qg, vals = b.build()
    code, outs = csim_segment(tmp_path, qg, vals, 0, 0, factors={0: (2, 2)}, macs={0: "packed"})
    assert_matches(outs, vals)
    assert any("mac=packed needs" in n for n in code.notes)
    assert "static const unsigned mac = 1;" in code.header


def test_preloaded_weights_load_once_and_match(tmp_path):
    """URAM weights: no ROM table in weights.h, a start-up image instead, loaded on the first call."""
    b = GraphBuilder((5, 9, 11), seed=13)
    _chain(b)
    qg, vals = b.build()
    pre = {0, 2, 4}
    code, outs = csim_segment(tmp_path, qg, vals, 0, len(qg.layers) - 1, factors=FACTORS,
                              macs={0: "packed", 1: "packed", 2: "lut", 4: "packed"}, preload=pre, repeat=2)
    assert_matches(outs, vals)
    weights_h = code.weights["weights.h"]
    assert weights_h.count("static const uint64_t") == 1  # only layer 1 keeps a ROM
    assert code.source.count("_preload<") == 3 and "bind_storage" not in weights_h.lower()
    assert "_preload(const ap_uint<64>* wpre" in weights_h
    assert "const ap_uint<64>* wpre" in code.source
    assert code.wpre is not None and code.wpre_words * 8 == len(code.wpre)
    assert code.source.index("_preload(wpre") < code.source.index("asymap::conv2d")


def test_preload_image_is_the_rom_words(tmp_path):
    """The start-up image holds exactly the words the ROM would have held, in layer order."""
    from asymap.codegen.segment import render_segment

    b = GraphBuilder((5, 9, 11), seed=13)
    _chain(b)
    qg, _ = b.build()
    g = qg.graph
    args = (qg, 0, len(qg.layers) - 1, FACTORS, set(), g.live_across(-1), g.live_across(len(qg.layers) - 1), "s")
    rom = render_segment(*args)
    pre = render_segment(*args, preload={0, 1, 2, 4})
    words = []
    for line in rom.weights["weights.h"].splitlines():
        words += [int(v.strip().rstrip("ULL"), 16) for v in line.split(",") if v.strip().startswith("0x")]
    import numpy as np

    assert np.frombuffer(pre.wpre, "<u8").tolist() == words
    assert "static const uint64_t" not in pre.weights["weights.h"]


def test_offchip_engine_with_packed_macs(tmp_path):
    """conv_offchip shares mac_row: packed MACs on streamed weights."""
    b = GraphBuilder((5, 9, 11), seed=17)
    _chain(b)
    qg, vals = b.build()
    code, outs = csim_segment(tmp_path, qg, vals, 0, len(qg.layers) - 1, factors=FACTORS, offchip={1, 4},
                              macs={0: "lut", 1: "packed", 2: "packed", 4: "packed"})
    assert_matches(outs, vals)
    assert code.wmem is not None and "conv_offchip" in code.source


def test_plan_mac_and_weights_values_are_checked():
    from asymap.codegen.planio import check_plan
    from asymap.errors import UserError

    b = GraphBuilder((5, 9, 11), seed=17)
    b.conv("x", 6, k=3)
    qg, _ = b.build()
    good = {"boards": [{"name": "a", "first_layer": 0, "last_layer": 0,
                        "layers": [{"index": 0, "factors": {"pe": 2, "simd": 5}, "mac": "packed", "weights": "preload"}]}]}
    assert check_plan(good, qg.graph, "p") is good
    for key, bad in (("mac", "fast"), ("weights", "uram")):
        plan = {"boards": [{**good["boards"][0], "layers": [{**good["boards"][0]["layers"][0], key: bad}]}]}
        with pytest.raises(UserError, match=f"layer 0: {key} must be"):
            check_plan(plan, qg.graph, "p")
