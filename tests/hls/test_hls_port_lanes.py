"""Ports wider than 8 channels per beat (plan.json ``boards[].port_lanes`` = 16 or 32): every
engine kind C-simulated bit-exact against the integer reference on a board of that width, with the
C-sim cycle counters (csim_count.h) equal to the cost model's ``engine_cycles`` at that width.

Channel counts are chosen so that some ports take the full width (32, 64 channels), some only part
of it (48 channels: 16 per beat on a 32-lane board) and some stay narrow (a 3- or 12-channel tensor),
and gearboxes convert between port beats and SIMD/PE words that are not multiples of each other.
"""

from __future__ import annotations

import pytest
from segsim_harness import GraphBuilder, assert_matches, csim_segment
from test_engine_cycles import _effective

from asymap import lanes
from asymap.frontend import ir
from asymap.partition.costmodel import engine_cycles


def _convs(b):  # 3x3, 1x1 (48 channels: 16 per beat at most), stride-2 3x3 with padded PE, depthwise
    a = b.conv("x", 32, k=3)
    p = b.conv(a, 48, k=1, p=0)
    s = b.conv(p, 36, k=3, s=2)
    return {0: (8, 8), 1: (16, 12), 2: (5, 16), 3: (4, 1)}, b.conv(s, 36, k=3, groups=36)


def _pools_gap_fc(b):  # max and avg pool at pe below and above the port width, GAP, fc
    x = b.conv("x", 64, k=1, p=0)
    x = b.pool(x, ir.MAXPOOL, k=3, s=2, p=1)
    y = b.pool(x, ir.AVGPOOL, k=2, s=1, p=0)
    y = b.gap(y)
    return {0: (16, 8), 1: (8, 1), 2: (64, 1), 4: (5, 16)}, b.fc(y, 10)


def _add_concat(b):  # residual add (wide beats held per lane) and a concat of 32 + 16 channels
    x = b.conv("x", 32, k=1, p=0)
    y = b.conv(x, 32, k=3)
    z = b.add(x, y)
    w = b.conv(z, 16, k=1, p=0)
    return {0: (32, 4), 1: (8, 8), 3: (16, 32)}, b.concat([z, w])


def _new_kinds(b):  # lut, squeeze-excite chmul, affine and a channel shuffle at the board's width
    f = b.lut(b.conv("x", 32, k=3, act=None), ir.LUT_SILU)
    s = b.conv(b.conv(b.gap(f), 8, k=1, p=0), 32, k=1, p=0, act=None)
    m = b.chmul(f, b.lut(s, ir.LUT_SIGMOID))
    a = b.affine(m)
    shuffle = [(k % 2) * 16 + k // 2 for k in range(32)]
    return {0: (8, 16), 3: (8, 4), 4: (16, 8)}, b.channels(a, shuffle)


CASES = [_convs, _pools_gap_fc, _add_concat, _new_kinds]


@pytest.mark.csim
@pytest.mark.parametrize("width", [16, 32])
@pytest.mark.parametrize("case", CASES, ids=[c.__name__.strip("_") for c in CASES])
def test_wide_lane_engines_bit_exact_and_cycles_match(case, width, tmp_path):
    b = GraphBuilder((32, 7, 6), seed=13)
    factors, _ = case(b)
    qg, vals = b.build()
    code, outs = csim_segment(tmp_path, qg, vals, 0, len(qg.layers) - 1, factors=factors, port_lanes=width)
    assert_matches(outs, vals)
    assert code.in_ports[0]["lanes"] == width  # the 32-channel input takes the whole width
    want = 0
    for ql in qg.layers:
        pe, simd, kpar = _effective(ql.layer, *(tuple(factors.get(ql.index, (1, 1))) + (1,))[:3])
        want += engine_cycles(ql.layer, pe, simd, kpar, max_lanes=width)
    assert int((tmp_path / "csim_cycles.txt").read_text()) == want
    # the width changed the schedule: at 8 channels per beat the same engines take longer
    narrow = sum(engine_cycles(ql.layer, *_effective(ql.layer, *(tuple(factors.get(ql.index, (1, 1))) + (1,))[:3]))
                 for ql in qg.layers)
    assert want < narrow


def test_port_lanes_rule():
    assert [lanes.port_lanes(c, 32) for c in (64, 48, 36, 12, 3)] == [32, 16, 4, 4, 1]
    assert [lanes.port_lanes(c, 16) for c in (64, 48, 36)] == [16, 16, 4]
    assert [lanes.port_lanes(c) for c in (64, 48, 36)] == [8, 8, 4]
    assert lanes.port_bytes((3, 10, 8), 32) == 24  # a wide stem port does not depend on the width
    assert lanes.tensor_port_beats((256, 56, 56), 32) == 56 * 56 * 8
    # one beat of each operand in, three 16-channel beats of the 48-channel output out
    assert lanes.concat_slot_steps([(32, 4, 4), (16, 4, 4)], (48, 4, 4), 32) == 3


@pytest.mark.csim
@pytest.mark.parametrize("width", [16, 32])
def test_wide_lane_offchip_engines(width, tmp_path):
    """conv_offchip and fc_offchip (weights streamed from wmem) on ports of the board's width."""
    b = GraphBuilder((32, 6, 5), seed=17)
    x = b.conv("x", 48, k=3)
    x = b.conv(x, 32, k=1, p=0)
    b.fc(b.gap(x), 12)
    factors = {0: (16, 8), 1: (8, 16), 3: (4, 8)}
    qg, vals = b.build()
    code, outs = csim_segment(tmp_path, qg, vals, 0, len(qg.layers) - 1, factors=factors, offchip={0, 1, 3},
                              port_lanes=width)
    assert_matches(outs, vals)
    want = sum(engine_cycles(ql.layer, *_effective(ql.layer, *(tuple(factors.get(ql.index, (1, 1))) + (1,))[:3]),
                             offchip=ql.index in (0, 1, 3), max_lanes=width) for ql in qg.layers)
    assert int((tmp_path / "csim_cycles.txt").read_text()) == want
