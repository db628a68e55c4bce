"""Wide ports into the engines that move ``port_lanes(C)`` channels per beat (lut, chmul, affine,
channels): a few-channel tensor whose rows divide into whole-pixel beats (asymap.lanes.port_bytes)
reaches them through width_convert adapters (codegen/segment_blocks.narrow_adapt). C-simulated with
g++ and compared bit for bit with the integer reference."""

from __future__ import annotations

import pytest
from segsim_harness import GraphBuilder, assert_matches, csim_segment

from asymap.frontend import ir
from asymap.lanes import port_bytes

pytestmark = pytest.mark.csim


def test_new_kinds_on_wide_ports_bit_exact(tmp_path):
    b = GraphBuilder((3, 6, 8), seed=11)  # the 3-channel input is wide: 8 pixels per 24-byte beat
    f = b.conv("x", 4, k=3, act=None)  # 4 channels, 8 columns: a wide port (8 pixels per beat)
    f = b.lut(f, ir.LUT_SILU)
    f = b.affine(f)
    s = b.gap(f)
    s = b.conv(s, 2, k=1, p=0, act="relu")
    s = b.conv(s, 4, k=1, p=0, act=None)
    s = b.lut(s, ir.LUT_SIGMOID)
    y = b.chmul(f, s)
    y = b.conv(y, 8, k=1, p=0, act="relu")
    y = b.channels(y, [1, 3, 5, 7])  # an 8-channel (narrow) tensor sliced to 4 channels (wide)
    b.lut(y, ir.LUT_HARDSWISH)
    qg, vals = b.build()
    wide = [ql.layer for ql in qg.layers if port_bytes(ql.layer.out_shape) > ql.layer.out_shape[0]]
    assert {lay.op for lay in wide} >= {ir.LUT, ir.AFFINE, ir.CHMUL, ir.CHANNELS}
    code, outs = csim_segment(tmp_path, qg, vals, 0, len(qg.layers) - 1)
    assert_matches(outs, vals)
